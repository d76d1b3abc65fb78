#!/usr/bin/env bash
# demo.sh — scripts/demo.sh end to end, small (60 accounts × 240 days), twice (re-runs start
# clean); checks every stage ran: the original data and the monthly feed in SQLite, shards
# holding every row of the table after the incremental fetch, both model sets with one row
# per account, evaluate's decision.json, the registered version in the local registry (champion when
# promoted; register rerun resumes it), a 30-day forecast, the three-timings block (+ registering), then
# the line pointing at make serve.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
tmp=${AQ_TEST_TMP:-/tmp}/demo-it.$$
mkdir -p "$tmp"
py=$(scripts/venv.sh requirements/test.txt 2>/dev/null)/bin/python
N=60 D=240
run_demo() { DEMO_ACCOUNTS=$N DEMO_DAYS=$D DEMO_DIR="$tmp/demo" DEMO_PARTS=8 scripts/demo.sh >"$1" 2>&1; }

if run_demo "$tmp/run1.txt"; then ok "demo runs ($N accounts × $D days)"; else nok "demo runs ($N accounts × $D days)"; tail -n 30 "$tmp/run1.txt"; fi
out=$tmp/run1.txt
db=$tmp/demo/portal.db
# SQLite: the first 20% (48 days) then +30 days.
days=$(sqlite3 "$db" "SELECT julianday(MAX(ConsumptionDate)) - julianday(MIN(ConsumptionDate)) + 1 FROM PORTAL_ConsumptionDaily" 2>/dev/null)
db_rows=$(sqlite3 "$db" 'SELECT COUNT(*) FROM PORTAL_ConsumptionDaily' 2>/dev/null || echo 0)
check "SQLite holds 48 + 30 days after the monthly feed ($days days, $db_rows rows)" '[ "${days%.*}" = 78 ]'
# Independent count of the rows a direct synth run emits for days 0..77.
want=$(bin/aquacast-synth --accounts $N --days $D --to-day 78 --csv - 2>/dev/null | tail -n +2 | wc -l)  # stdout is only the CSV (summary on stderr)
check "the table holds what synth emits for days 0..77 ($db_rows vs $want)" '[ "$db_rows" = "$want" ]'
# Incremental fetch: the shards hold every row of the table.
shard_rows=$(jget "$(bin/aquacast-shard stats "$tmp/demo/readings" 2>/dev/null | tail -n 1)" rows)
incr=$(jget "$(last_json "$tmp/demo/logs/extract_incr.out")" rows)
full=$(jget "$(last_json "$tmp/demo/logs/extract_full.out")" rows)
check "rows in shards = rows in DB after the incremental fetch ($shard_rows = $db_rows)" '[ -n "$shard_rows" ] && [ "$shard_rows" = "$db_rows" ]'
check "full + incremental = table ($full + $incr = $db_rows)" '[ -n "$full" ] && [ -n "$incr" ] && [ "$incr" -gt 0 ] && [ $((full + incr)) = "$db_rows" ]'
check "verify passes on the dataset" 'bin/aquacast-shard verify "$tmp/demo/readings" >/dev/null 2>&1'
# Model sets: one row per account (accounts counted independently from SQLite).
accts1=$(sqlite3 "$db" "SELECT COUNT(DISTINCT AccountOID) FROM PORTAL_ConsumptionDaily WHERE ConsumptionDate <= (SELECT date(MIN(ConsumptionDate), '+47 days') FROM PORTAL_ConsumptionDaily) AND Consumption IS NOT NULL AND Consumption >= 0")
accts2=$(sqlite3 "$db" "SELECT COUNT(DISTINCT AccountOID) FROM PORTAL_ConsumptionDaily WHERE Consumption IS NOT NULL AND Consumption >= 0")
for r in 1 2; do
    set_dir=$tmp/demo/models/run-$r
    # rows and distinct AccountOIDs read with pyarrow (an independent Parquet reader)
    read -r rows dist < <("$py" -c '
import sys, pyarrow.dataset as ds
t = ds.dataset(sys.argv[1], format="parquet").to_table(columns=["AccountOID"])
print(t.num_rows, len(set(t.column("AccountOID").to_pylist())))' "$set_dir" 2>/dev/null || echo "0 -1")
    want=$accts1; [ $r = 2 ] && want=$accts2
    # an account with too few valid days may get no model: allow a couple fewer
    check "model set run-$r exists with one row per account ($rows rows, $dist accounts, $want in SQLite)" \
        '[ "$rows" = "$dist" ] && [ "$rows" -gt 0 ] && [ "$rows" -ge $((want - 2)) ] && [ "$rows" -le "$want" ]'
done
mode=$(jget "$(last_json "$tmp/demo/logs/train_month.out")" mode)
check "the monthly retrain ran in auto mode with --prev (mode '$mode')" '[ "$mode" = auto ]'
if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "aquacast.decision" and d["champion"].endswith("models/run-1") and d["exit_code"] in (0, 3)
assert d["accounts"]["compared"] > 0' "$tmp/demo/eval/run-2/decision.json"; then
    ok "evaluate wrote decision.json against the champion"
else
    nok "evaluate wrote decision.json against the champion"
fi
# Forecast: 30 dated rows with mean <= hi80 <= hi95 and lo95 <= lo80 <= mean, and a total row.
awk '
    /^== \[11\]/ {f = 1; next} /^== \[12\]/ {f = 0}
    f && $1 ~ /^[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]$/ { n++; if (!($5 <= $3 && $3 <= $2 && $2 <= $4 && $4 <= $6)) bad++ }
    f && $1 == "total" { t = 1 }
    END { exit !(n == 30 && !bad && t) }' "$out" && ok "the forecast printed 30 days with 80/95% intervals and a total" \
    || nok "the forecast printed 30 days with 80/95% intervals and a total"
# The local registry: the version of run-2 with its MLmodel, the alias the decision calls for, the
# champion printed by the demo; register rerun on the same evaluation resumes it (no second version).
reg=$tmp/demo/registry/aquacast-water-forecast
promoted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["promoted"])' "$tmp/demo/eval/run-2/decision.json" 2>/dev/null)
alias=challenger; [ "$promoted" = True ] && alias=champion
rj=$(last_json "$tmp/demo/logs/register.out")
check "register: version 1 of run-2 in the local registry on alias '$alias' (promoted=$promoted)" \
    '[ "$(jget "$rj" version)" = 1 ] && [ "$(jget "$rj" alias)" = "$alias" ] && [ -f "$reg/versions/1/MLmodel" ] && [ -f "$reg/aliases/$alias" ] && [ ! -d "$reg/versions/2" ]'
if [ "$promoted" = True ]; then
    bin/aquacast-register --tracking-uri "file:$tmp/demo/registry" --resolve champion >"$tmp/res.out" 2>/dev/null
    check "a registered champion exists after the demo, and the demo printed it" \
        '[ "$(jget "$(last_json "$tmp/res.out")" version)" = 1 ] && grep -q "^   champion: aquacast-water-forecast champion: version 1, run $(jget "$rj" run_id), " "$out"'
else
    check "not promoted: the demo says the challenger was registered" 'grep -q "the challenger was registered as version 1" "$out"'
fi
check "register logged the three timings and WAPE as metrics of the run" 'python3 -c "
import json, glob, sys
m = json.load(open(glob.glob(sys.argv[1] + \"/runs/*.json\")[0]))[\"metrics\"]
assert all(k in m for k in (\"fetch_seconds\", \"train_seconds\", \"evaluate_seconds\", \"wape_served_mean\"))
" "$reg"'
bin/aquacast-register --tracking-uri "file:$tmp/demo/registry" --eval "$tmp/demo/eval/run-2" \
    --summary "train=$tmp/demo/logs/train_month.out" >"$tmp/reg2.out" 2>/dev/null
r2=$(last_json "$tmp/reg2.out")
check "register rerun on the demo's evaluation resumes version 1 (no second version)" \
    '[ "$(jget "$r2" version)" = 1 ] && [ "$(jget "$r2" resumed)" = True ] && [ ! -d "$reg/versions/2" ]'
tail -n 9 "$out" | head -n 7 | awk 'NR==1 && /^== timings/ {h=1} NR==2 && /^fetching +[0-9]+\.[0-9]+ s +[0-9]+ rows\/s/ {f=1}
    NR==3 && /^  \(full\) +[0-9]+\.[0-9]+ s +[0-9]+ rows\/s/ {g=1} NR==4 && /^retraining +[0-9]+\.[0-9]+ s +[0-9]+ accounts\/s/ {r=1}
    NR==5 && /^  \(full\) +[0-9]+\.[0-9]+ s +[0-9]+ accounts\/s/ {s=1} NR==6 && /^evaluating +[0-9]+\.[0-9]+ s +[0-9]+ accounts\/s/ {e=1}
    NR==7 && /^registering +[0-9]+\.[0-9]+ s +[0-9]+ files\/s/ {g2=1}
    END {exit !(h && f && g && r && s && e && g2)}' \
    && ok "demo ends with the timings block (fetch, retrain, evaluate with numbers, then registering)" \
    || { nok "demo ends with the timings block (fetch, retrain, evaluate with numbers, then registering)"; tail -n 7 "$out"; }
check "demo ends by pointing at make serve (the dashboard on its champion)" 'tail -n 1 "$out" | grep -q "^dashboard: make serve"'
if run_demo "$tmp/run2.txt"; then ok "demo re-runs"; else nok "demo re-runs"; tail -n 30 "$tmp/run2.txt"; fi
rows2=$(sqlite3 "$db" 'SELECT COUNT(*) FROM PORTAL_ConsumptionDaily' 2>/dev/null || echo 0)
check "re-run is idempotent (same $rows2 rows)" '[ "$db_rows" = "$rows2" ]'
rj2=$(last_json "$tmp/demo/logs/register.out")
check "re-run: the registry starts clean, version 1 again on '$(jget "$rj2" alias)', one version only" \
    '[ "$(jget "$rj2" version)" = 1 ] && [ "$(jget "$rj2" alias)" = "$alias" ] && [ "$(ls "$reg/versions")" = 1 ] && [ "$(ls "$reg/runs" | grep -c "\.json$")" = 1 ]'
cmp -s "$tmp/demo/synth/truth.csv" <(bin/aquacast-synth --accounts $N --days $D --truth - 2>/dev/null) \
    && ok "demo truth equals a direct synth run" || nok "demo truth equals a direct synth run"
rm -rf "$tmp"
exit $((fails > 0))
