#!/usr/bin/env bash
# serve_browser.sh — the dashboard in headless Chromium (Debian's /usr/bin/chromium, playwright-core from npm):
# pick an account and periods, the total and bill shown = the API's, keyboard-only use, phone width, contrast;
# screenshots kept in build/test-artifacts/serve_browser/ (or $AQ_ARTIFACTS).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
aq_workspace serve_browser
export TMPDIR=$tmp
spid=
cleanup() { [ -n "$spid" ] && kill "$spid" 2>/dev/null; [ -n "${AQ_KEEP:-}" ] && echo "# kept $tmp" || rm -rf "$tmp"; }
trap cleanup EXIT
aq_snapshot_bins aquacast-synth aquacast-train aquacast-evaluate aquacast-serve
art=${AQ_ARTIFACTS:-$top/build/test-artifacts}/serve_browser
mkdir -p "$art"; rm -f "$art"/*.png
nm=$(scripts/node.sh 2>"$tmp/node.log") || { cat "$tmp/node.log"; nok "node modules (scripts/node.sh)"; exit 1; }
scripts/web.sh 2>"$tmp/web.log"; check "dashboard built" '[ -f web/dist/index.html ]'

aquacast-synth --accounts 60 --days 260 --seed 7 --out "$tmp/r" --parts 4 >/dev/null 2>&1
aquacast-train --readings "$tmp/r" --out "$tmp/m" --until 2022-11-17 --season 7 --threads 2 >/dev/null 2>&1
aquacast-evaluate --models "$tmp/m" --readings "$tmp/r" --out "$tmp/E" --threads 2 >/dev/null 2>&1
check "an evaluated set" '[ -f "$tmp/E/_manifest.json" ]'
anom=$(python3 -c 'import json,sys; l=json.load(open(sys.argv[1]))["anomaly_list"]; print(l[0]["account"] if l else "")' "$tmp/E/summary.json")
check "the set has an anomaly flag to show" '[ -n "$anom" ]'

aquacast-serve --set "$tmp/E" --port 0 --port-file "$tmp/port" --tariff deploy/tariff.example.json --web web/dist \
    --no-access-log >"$tmp/serve.out" 2>"$tmp/serve.err" &
spid=$!
for _ in $(seq 1 100); do [ -s "$tmp/port" ] && break; sleep 0.1; done
port=$(cat "$tmp/port" 2>/dev/null)
check "aquacast-serve up" '[ -n "$port" ]'
acct=$(curl -sf "http://127.0.0.1:$port/api/accounts?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["accounts"][0])')
NODE_PATH=$nm timeout 300 node tests/integration/serve_browser.js "http://127.0.0.1:$port" "$acct" "$anom" "$art"
check "screenshots kept (desktop, phone, keyboard)" '[ -s "$art/desktop.png" ] && [ -s "$art/phone.png" ] && [ -s "$art/keyboard.png" ]'
echo "# screenshots: $art"
[ "$fails" -eq 0 ]
