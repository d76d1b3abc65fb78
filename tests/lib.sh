# lib.sh — scaffolding sourced by tests/integration/*.sh: TAP lines, a workspace, private copies of the binaries.
#
#   . "$(dirname "$0")/../lib.sh"
#   aq_workspace NAME          tmp=<fresh dir under $AQ_TEST_TMP or /tmp>, named NAME.XXXXXX
#   aq_snapshot_bins B...      copy bin/B into $tmp/bin and put it first on PATH: in a shared
#                              checkout another build may relink bin/ while a test runs
#   ok / nok NAME, check NAME EXPR (EXPR is eval'ed, so && works inside it), check_run NAME CMD ARGS...
#   (CMD run as it is); $fails counts nok
#   last_json FILE, jget JSON KEY
#   aq_expected_forecasts MODELS FIRST LAST OUT
#                              train --forecast (30 days) of the first 3 accounts in FIRST..LAST that
#                              MODELS forecasts: OUT maps account -> its JSON line plus "first_date"
#                              (the day after "trained until"); sets $accs to those accounts
# The script ends with `[ "$fails" -eq 0 ]` (or `exit $((fails > 0))`).
top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PATH=$top/bin:$PATH
fails=0
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1"; fails=$((fails + 1)); }
check() { if eval "$2"; then ok "$1"; else nok "$1"; fi; }
check_run() { local name=$1; shift; if "$@"; then ok "$name"; else nok "$name"; fi; }
last_json() { tail -n 1 "$1" 2>/dev/null; }
jget() { python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get(sys.argv[2], ""))' "$1" "$2" 2>/dev/null; }
aq_workspace() { tmp=$(mktemp -d "${AQ_TEST_TMP:-/tmp}/$1.XXXXXX"); }
aq_snapshot_bins() {
    local b i
    mkdir -p "$tmp/bin"
    for b in "$@"; do
        for i in 1 2 3 4 5; do
            cp "$top/bin/$b" "$tmp/bin/$b.part" 2>/dev/null && mv "$tmp/bin/$b.part" "$tmp/bin/$b" && break
            sleep 1
        done
    done
    PATH=$tmp/bin:$PATH
}
aq_expected_forecasts() {
    local models=$1 first=$2 last=$3 out=$4 a
    accs=
    for a in $(seq "$first" "$last"); do
        aquacast-train --forecast "$models" --account "$a" --days 30 >"$tmp/fc.$a" 2>/dev/null && accs="$accs $a"
        [ "$(echo $accs | wc -w)" -ge 3 ] && break
    done
    python3 - "$tmp" "$out" $accs <<'PY'
import json, sys, datetime
tmp, path, accs = sys.argv[1], sys.argv[2], sys.argv[3:]
out = {}
for a in accs:
    lines = open(f"{tmp}/fc.{a}").read().splitlines()
    tu = lines[0].split("trained until ")[1].strip()
    j = json.loads(lines[-1])
    j["first_date"] = (datetime.date.fromisoformat(tu) + datetime.timedelta(days=1)).isoformat()
    out[a] = j
json.dump(out, open(path, "w"))
PY
}
