#!/usr/bin/env bash
# demo.sh — scripts/demo.sh end to end with 200 accounts (twice: re-runs are idempotent);
# checks the stages ran and that the output ends with the three-timings block.
set -uo pipefail
cd "$(dirname "$0")/../.."
tmp=${AQ_TEST_TMP:-/tmp}/demo-it.$$
mkdir -p "$tmp"
fail=0
ok() { echo "ok - $1"; }
nok() { echo "not ok - $1"; fail=1; }

run_demo() { DEMO_ACCOUNTS=200 DEMO_DIR="$tmp/demo" DEMO_PARTS=8 scripts/demo.sh >"$1" 2>&1; }

if run_demo "$tmp/run1.txt"; then ok "demo runs (200 accounts)"; else nok "demo runs (200 accounts)"; tail -n 30 "$tmp/run1.txt"; fi
# The last four lines: the header and fetching / retraining / evaluating, in that order.
tail -n 4 "$tmp/run1.txt" | awk 'NR==1 && /^== timings/ {h=1} NR==2 && /^fetching / {f=1} NR==3 && /^retraining / {r=1} NR==4 && /^evaluating / {e=1} END {exit !(h && f && r && e)}' \
    && ok "demo ends with the timings block" || { nok "demo ends with the timings block"; tail -n 6 "$tmp/run1.txt"; }
# A stage whose binary exists reports seconds; one that does not says so.
if [ -x bin/aquacast-extract ]; then
    grep -Eq '^fetching +[0-9]+\.[0-9]+ s' "$tmp/run1.txt" && ok "fetch timing measured" || nok "fetch timing measured"
else
    grep -Eq '^fetching .*not yet built' "$tmp/run1.txt" && ok "fetch marked not yet built" || nok "fetch marked not yet built"
fi
db=$tmp/demo/portal.db
rows1=$(sqlite3 "$db" 'SELECT COUNT(*) FROM PORTAL_ConsumptionDaily' 2>/dev/null || echo 0)
days=$(sqlite3 "$db" "SELECT julianday(MAX(ConsumptionDate)) - julianday(MIN(ConsumptionDate)) + 1 FROM PORTAL_ConsumptionDaily" 2>/dev/null)
[ "$rows1" -gt 10000 ] && [ "${days%.*}" = 146 ] && ok "the first 20% of 730 days are in SQLite ($rows1 rows, $days days)" \
    || nok "the first 20% of 730 days are in SQLite ($rows1 rows, $days days)"
if run_demo "$tmp/run2.txt"; then ok "demo re-runs"; else nok "demo re-runs"; tail -n 30 "$tmp/run2.txt"; fi
rows2=$(sqlite3 "$db" 'SELECT COUNT(*) FROM PORTAL_ConsumptionDaily' 2>/dev/null || echo 0)
[ "$rows1" = "$rows2" ] && ok "re-run is idempotent (same $rows2 rows)" || nok "re-run is idempotent ($rows1 vs $rows2 rows)"
cmp -s "$tmp/demo/synth/truth.csv" <(bin/aquacast-synth --accounts 200 --truth - 2>/dev/null | head -n -1) \
    && ok "demo truth equals a direct synth run" || nok "demo truth equals a direct synth run"
rm -rf "$tmp"
exit $fail
