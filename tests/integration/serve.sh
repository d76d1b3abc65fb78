#!/usr/bin/env bash
# serve.sh — aquacast-serve on a trained and evaluated set: every route and error path over HTTP (V2 checked
# with Triton's V2 client and the protocol's response schema, values = train --forecast), metrics, a hot swap
# under load with no failed request, the registry alias polled (file:), SIGTERM, usage errors.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
aq_workspace serve
export TMPDIR=$tmp
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done; [ -n "${AQ_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"; }
trap cleanup EXIT
aq_snapshot_bins aquacast-synth aquacast-train aquacast-evaluate aquacast-register aquacast-serve
py=$(scripts/venv.sh requirements/serve.txt) || { nok "venv requirements/serve.txt"; exit 1; }
py=$py/bin/python

# Two champions: A (trained to 2022-11-17, evaluated: anomalies, metrics) and B (to 2022-10-18).
aquacast-synth --accounts 60 --days 260 --seed 7 --out "$tmp/r" --parts 4 >/dev/null 2>&1
aquacast-train --readings "$tmp/r" --out "$tmp/m1" --until 2022-10-18 --season 7 --threads 2 >/dev/null 2>&1
aquacast-train --readings "$tmp/r" --out "$tmp/m2" --prev "$tmp/m1" --mode auto --until 2022-11-17 --threads 2 >/dev/null 2>&1
aquacast-evaluate --models "$tmp/m2" --readings "$tmp/r" --out "$tmp/A" --threads 2 >/dev/null 2>&1
aquacast-evaluate --models "$tmp/m1" --readings "$tmp/r" --out "$tmp/B" --threads 2 >/dev/null 2>&1
check "inputs: two sealed evaluations" '[ -f "$tmp/A/_manifest.json" ] && [ -f "$tmp/B/_manifest.json" ]'

# train --forecast of 3 accounts (30 days): the expected values.
aq_expected_forecasts "$tmp/A/models" 3000000 3000059 "$tmp/expected.json"
check "expected forecasts of 3 accounts" '[ "$(echo $accs | wc -w)" -eq 3 ]'

web=
[ -f web/dist/index.html ] || scripts/web.sh >/dev/null 2>&1
[ -f web/dist/index.html ] && web=$top/web/dist
check "dashboard built (web/dist)" '[ -n "$web" ]'

start_serve() { # name, args...: starts, waits for the port file, sets $port and $spid
    local name=$1; shift
    rm -f "$tmp/$name.port"
    aquacast-serve --port 0 --port-file "$tmp/$name.port" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" &
    spid=$!; pids+=("$spid")
    for _ in $(seq 1 100); do [ -s "$tmp/$name.port" ] && break; kill -0 "$spid" 2>/dev/null || break; sleep 0.1; done
    port=$(cat "$tmp/$name.port" 2>/dev/null)
}

ln -s "$tmp/A" "$tmp/current"
start_serve api --set "$tmp/current" --tariff deploy/tariff.example.json --web "$web" --max-batch 50 --max-body 65536
check "aquacast-serve starts and writes its port" '[ -n "$port" ]'
"$py" tests/integration/serve_check.py api "http://127.0.0.1:$port" "$tmp/expected.json" deploy/tariff.example.json "$tmp/A/summary.json"
check "access log: one line per request on stderr" 'grep -q "access: GET /api/forecast 400" "$tmp/api.err" && grep -q "access: POST /v2/models/aquacast/infer 200" "$tmp/api.err"'

# Hot swap under load: the link flips between A and B, SIGHUP each time.
"$py" tests/integration/serve_check.py swap "http://127.0.0.1:$port" "$spid" "$tmp/current" "$tmp/A" "$tmp/B" 5
rm "$tmp/current"; kill -HUP "$spid"; sleep 0.5
curl -sf "http://127.0.0.1:$port/v2/health/ready" >/dev/null
check "a failed reload keeps serving the old set" '[ $? -eq 0 ] && grep -q "reload failed, still serving" "$tmp/api.err"'
kill -TERM "$spid"; wait "$spid"; rc=$?
s=$(last_json "$tmp/api.out")
check "SIGTERM: exit 0, summary with requests and reloads" '[ $rc -eq 0 ] && [ "$(jget "$s" ok)" = True ] && [ "$(jget "$s" reloads_ok)" -ge 5 ] && [ "$(jget "$s" reloads_failed)" -ge 1 ]'

# The registry alias: file: registry, version 1 (A) served, then version 2 (B) promoted and picked up by polling.
L=file:$tmp/reg
aquacast-register --tracking-uri "$L" --eval "$tmp/A" --no-libso >/dev/null 2>&1
start_serve reg --tracking-uri "$L" --poll 0.3 --work-dir "$tmp/work"
v=$(curl -sf "http://127.0.0.1:$port/v2/models/aquacast" | python3 -c 'import json,sys; print(json.load(sys.stdin)["versions"][0])')
check "registry: serves the alias's version 1" '[ "$v" = 1 ]'
aquacast-register --tracking-uri "$L" --eval "$tmp/B" --no-libso >/dev/null 2>&1
for _ in $(seq 1 50); do
    v=$(curl -sf "http://127.0.0.1:$port/v2/models/aquacast" | python3 -c 'import json,sys; print(json.load(sys.stdin)["versions"][0])')
    [ "$v" = 2 ] && break; sleep 0.2
done
check "registry: polling picks up version 2 when the alias moves" '[ "$v" = 2 ]'
check "registry: the old download is removed, the new one kept" '[ "$(ls "$tmp/work" | wc -l)" -eq 1 ]'
kill -TERM "$spid"; wait "$spid"
check "registry: clean stop removes the download" '[ "$(ls "$tmp/work" 2>/dev/null | wc -l)" -eq 0 ]'

# Kubernetes style: an init container downloads the alias, serve starts on it and polls the alias.
aquacast-register --tracking-uri "$L" --download champion "$tmp/init" >/dev/null 2>&1
start_serve k8s --set "$tmp/init" --tracking-uri "$L" --poll 0.3 --work-dir "$tmp/work2"
v0=$(curl -sf "http://127.0.0.1:$port/v2/health/ready")
for _ in $(seq 1 50); do
    v=$(curl -sf "http://127.0.0.1:$port/v2/models/aquacast" | python3 -c 'import json,sys; print(json.load(sys.stdin)["versions"][0])')
    [ "$v" = 2 ] && break; sleep 0.2
done
check "init-container download served at once, then the alias's version by polling" '[ "$v0" = "{\"ready\":true}" ] && [ "$v" = 2 ]'
kill -TERM "$spid"; wait "$spid"

# Failures and usage.
aquacast-serve --set "$tmp/nothing" --port 0 >"$tmp/f1.out" 2>&1; rc=$?
check "a missing set: exit 1 with a summary naming it" '[ $rc -eq 1 ] && last_json "$tmp/f1.out" | grep -q "no model set in"'
aquacast-serve --set "$tmp/A" --port 99999 >"$tmp/f2.out" 2>&1; rc=$?
check "a bad --port: exit 2" '[ $rc -eq 2 ]'
aquacast-serve >"$tmp/f3.out" 2>&1; rc=$?
check "neither --set nor --tracking-uri: exit 2" '[ $rc -eq 2 ]'
aquacast-serve --help | grep -q -- "--max-horizon"
check "--help" '[ $? -eq 0 ]'
[ "$fails" -eq 0 ]
