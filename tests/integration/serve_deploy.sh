#!/usr/bin/env bash
# serve_deploy.sh — deploy/serve manifests: yamllint (Debian), Kubernetes schemas offline (kubernetes-validate from
# PyPI, schemas bundled; requirements/deploy.txt), a broken manifest refused, the Dockerfile's and manifests' paths
# and options matching what aquacast-serve and aquacast-register accept. No cluster, no image build here.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
aq_workspace serve_deploy
trap 'rm -rf "$tmp"' EXIT
d=deploy/serve
yamllint -c "$d/.yamllint" "$d"/*.yaml >"$tmp/yl.log" 2>&1
check "yamllint: deploy/serve/*.yaml" '[ $? -eq 0 ] || { cat "$tmp/yl.log"; false; }'
kv=$(scripts/venv.sh requirements/deploy.txt) || { nok "venv requirements/deploy.txt"; exit 1; }
"$kv/bin/kubernetes-validate" --strict --kubernetes-version 1.33 "$d/deployment.yaml" >"$tmp/kv.log" 2>&1
check "kubernetes-validate --strict (k8s 1.33 schemas): ConfigMap, Deployment, Service" \
    '[ $? -eq 0 ] && [ "$(grep -c passed "$tmp/kv.log")" -eq 3 ] || { cat "$tmp/kv.log"; false; }'
# The InferenceService is a CRD: its schema is not bundled; kubernetes-validate must say so, not pass it silently.
"$kv/bin/kubernetes-validate" --strict --kubernetes-version 1.33 "$d/inferenceservice.yaml" >"$tmp/isvc.log" 2>&1
check "InferenceService: no bundled schema for the KServe CRD (reported, not passed)" '! grep -q passed "$tmp/isvc.log"'
sed 's/containerPort: 8080/containerPort: "eighty"/; s/replicas: 2/replicas: two/' "$d/deployment.yaml" >"$tmp/bad.yaml"
"$kv/bin/kubernetes-validate" --strict --kubernetes-version 1.33 "$tmp/bad.yaml" >"$tmp/bad.log" 2>&1
check "a broken Deployment is refused by the schema check" '[ $? -ne 0 ]'
# The KServe facts the InferenceService relies on (kserve/kserve pkg/constants: PROTOCOL in "v1"|"v2", port 8080).
"$kv/bin/python" - "$d/inferenceservice.yaml" <<'PY' >"$tmp/isvc.check" 2>&1
import sys, yaml
d = yaml.safe_load(open(sys.argv[1]))
c = d["spec"]["predictor"]["containers"][0]
env = {e["name"]: e["value"] for e in c.get("env", [])}
assert d["apiVersion"] == "serving.kserve.io/v1beta1" and d["kind"] == "InferenceService"
assert c["name"] == "kserve-container" and env.get("PROTOCOL") == "v2", env
assert c["ports"][0]["containerPort"] == 8080
assert c["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
assert d["spec"]["predictor"]["initContainers"][0]["args"][2] == "--download"
print("ok")
PY
check "InferenceService: custom predictor, PROTOCOL=v2, port 8080, V2 probes, init container downloads" \
    'grep -qx ok "$tmp/isvc.check" || { cat "$tmp/isvc.check"; false; }' 2>/dev/null
# Every aquacast-serve / aquacast-register option the manifests use exists (a typo would crash-loop the pod).
opts=$(grep -ohE -- '--[a-z][a-z-]+' "$d"/*.yaml "$d/Dockerfile" | sort -u)
bad=
for o in $opts; do
    case $o in --download|--tracking-uri) bin/aquacast-register --help | grep -q -- "$o" || bad="$bad $o" ;;
        --no-install-recommends|--system|--uid|--home-dir|--shell|--from) ;;
        *) bin/aquacast-serve --help | grep -q -- "$o" || bad="$bad $o" ;;
    esac
done
check "every option in the manifests exists in aquacast-serve/-register --help" '[ -z "$bad" ] || { echo "unknown:$bad"; false; }'
check "the Dockerfile copies what make builds" 'grep -q "bin/" "$d/Dockerfile" && grep -q "web/dist" "$d/Dockerfile" && grep -q "build/pic/libaquacast.so" "$d/Dockerfile"'
[ "$fails" -eq 0 ]
