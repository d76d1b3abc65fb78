#!/usr/bin/env bash
# sealed.sh — model sets and evaluations are sealed (manifest written last, atomic rename): a failed or
# stopped run leaves nothing that looks like output and can be rerun; readers refuse unsealed or
# tampered sets; the gate checks coverage; evaluate refuses an existing --out (or --force replaces it)
# and never writes inside an input. Issue #11, part 2 and 3.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
aq_workspace sealed
[ -n "${AQ_KEEP:-}" ] && echo "# kept $tmp" || trap 'rm -rf "$tmp"' EXIT
aq_snapshot_bins aquacast-synth aquacast-train aquacast-evaluate aquacast-shard
visible() { find "$1" -mindepth 1 -maxdepth 1 ! -name '.*' -printf '%f\n' | sort | tr '\n' ' '; }
jpath() { python3 -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2].split("."): d=d[k]
print(d)' "$1" "$2" 2>/dev/null; }

aquacast-synth --accounts 200 --days 300 --seed 5 --out "$tmp/r" --parts 4 >/dev/null 2>&1
aquacast-synth --accounts 20 --days 200 --seed 6 --out "$tmp/small" --parts 2 >/dev/null 2>&1

# -- a complete run is sealed
aquacast-train --readings "$tmp/small" --out "$tmp/sets/ok" --season 0 --threads 2 >/dev/null 2>"$tmp/t0.log"
check "train seals its model set (_manifest.json)" '[ -f "$tmp/sets/ok/_manifest.json" ]'
check "manifest counts 20 accounts" '[ "$(jpath "$tmp/sets/ok/_manifest.json" accounts)" = 20 ]'
check "manifest lists every parquet file with its sha256" \
    '[ "$(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(sum(1 for f in m[\"files\"] if f[\"path\"].endswith(\".parquet\") and len(f[\"sha256\"])==64))" "$tmp/sets/ok/_manifest.json")" = "$(find "$tmp/sets/ok" -name "*.parquet" | wc -l)" ]'
aquacast-shard verify "$tmp/sets/ok" >"$tmp/v0.out" 2>&1
check "shard verify passes a sealed set" '[ $? -eq 0 ] && grep -q "sealed" "$tmp/v0.out"'
check "sha256 in the manifest equals sha256sum" \
    'f=$(find "$tmp/sets/ok" -name "*.parquet" | head -n1); rel=${f#"$tmp/sets/ok/"}; grep -q "$(sha256sum "$f" | cut -c1-64)" "$tmp/sets/ok/_manifest.json"'

# -- a failing train (truncated shard) leaves nothing; the rerun is not refused
cp -r "$tmp/small" "$tmp/bad"
f=$(find "$tmp/bad" -name '*.parquet' | sort | tail -n1)
truncate -s 100 "$f"
aquacast-train --readings "$tmp/bad" --out "$tmp/sets/fail" --season 0 --threads 2 >"$tmp/t1.out" 2>"$tmp/t1.log"
rc=$?
check "train on a truncated shard fails (exit 1)" '[ $rc -eq 1 ]'
check "... and leaves no model set" '[ ! -e "$tmp/sets/fail" ] && [ "$(visible "$tmp/sets")" = "ok " ]'
aquacast-train --readings "$tmp/small" --out "$tmp/sets/fail" --season 0 --threads 2 >/dev/null 2>&1
check "... the rerun into the same --out works" '[ $? -eq 0 ] && [ -f "$tmp/sets/fail/_manifest.json" ]'

# -- SIGTERM mid-run: nothing visible; rerun works
aquacast-train --readings "$tmp/r" --out "$tmp/sets/killed" --season 7 --threads 2 >/dev/null 2>&1 &
pid=$!
sleep 1.5
t0=$(date +%s%N)
kill -TERM $pid 2>/dev/null
wait $pid
rc=$?
ms=$((($(date +%s%N) - t0) / 1000000))
check "train stopped by SIGTERM exits 1 within 2 s ($ms ms) and leaves no model set, not even a temporary" \
    '[ $rc -eq 1 ] && [ $ms -lt 2000 ] && [ ! -e "$tmp/sets/killed" ] && [ -z "$(find "$tmp/sets" -maxdepth 1 -name ".killed.tmp.*")" ]'
aquacast-train --readings "$tmp/small" --out "$tmp/sets/killed" --season 0 --threads 2 >/dev/null 2>&1
check "... the rerun works" '[ $? -eq 0 ] && [ -f "$tmp/sets/killed/_manifest.json" ]'
# SIGKILL cannot be handled: the dot-named temporary stays, readers ignore it, the next run sweeps it
aquacast-train --readings "$tmp/r" --out "$tmp/sets/k9" --season 7 --threads 2 >/dev/null 2>&1 &
pid=$!
sleep 1
kill -KILL $pid 2>/dev/null
wait $pid 2>/dev/null
check "train killed by SIGKILL leaves only a dot-named temporary" '[ ! -e "$tmp/sets/k9" ] && [ -n "$(find "$tmp/sets" -maxdepth 1 -name ".k9.tmp.*")" ]'
aquacast-train --readings "$tmp/small" --out "$tmp/sets/k9" --season 0 --threads 2 >/dev/null 2>&1
check "... the rerun works and sweeps the dead run's temporary" \
    '[ $? -eq 0 ] && [ -f "$tmp/sets/k9/_manifest.json" ] && [ -z "$(find "$tmp/sets" -maxdepth 1 -name ".k9.tmp.*")" ]'
aquacast-train --readings "$tmp/small" --out "$tmp/sets/ok" --season 0 >"$tmp/t2.out" 2>"$tmp/t2.log"
check "train refuses an existing --out" '[ $? -eq 1 ] && grep -q "exists already" "$tmp/t2.log"'

# -- readers refuse unsealed and tampered sets
cp -r "$tmp/sets/ok" "$tmp/sets/unsealed"
rm "$tmp/sets/unsealed/_manifest.json"
aquacast-train --readings "$tmp/small" --prev "$tmp/sets/unsealed" --mode update --out "$tmp/sets/u1" >/dev/null 2>"$tmp/u1.log"
check "train --prev refuses an unsealed set" '[ $? -eq 1 ] && grep -q "not sealed" "$tmp/u1.log" && [ ! -e "$tmp/sets/u1" ]'
aquacast-evaluate --models "$tmp/sets/unsealed" --readings "$tmp/small" --out "$tmp/e-u" >/dev/null 2>"$tmp/u2.log"
check "evaluate refuses an unsealed model set" '[ $? -eq 1 ] && grep -q "not sealed" "$tmp/u2.log" && [ ! -e "$tmp/e-u" ]'
aquacast-evaluate --models "$tmp/sets/ok" --champion "$tmp/sets/unsealed" --readings "$tmp/small" --out "$tmp/e-u" >/dev/null 2>"$tmp/u3.log"
check "evaluate refuses an unsealed champion" '[ $? -eq 1 ] && grep -q "not sealed" "$tmp/u3.log"'
aquacast-shard verify "$tmp/sets/unsealed" >"$tmp/u4.out" 2>&1
check "shard verify fails an unsealed set" '[ $? -ne 0 ] && grep -q "not sealed" "$tmp/u4.out"'
acct=$(python3 -c 'import pyarrow.dataset as d,sys; print(d.dataset(sys.argv[1]+"/models",format="parquet").to_table(columns=["AccountOID"]).column(0)[0])' "$tmp/sets/ok" 2>/dev/null \
    || "$(scripts/venv.sh requirements/test.txt)/bin/python" -c 'import pyarrow.dataset as d,sys; print(d.dataset(sys.argv[1]+"/models",format="parquet").to_table(columns=["AccountOID"]).column(0)[0])' "$tmp/sets/ok")
aquacast-train --forecast "$tmp/sets/unsealed" --account "$acct" --days 7 >/dev/null 2>"$tmp/u5.log"
check "train --forecast refuses an unsealed set" '[ $? -ne 0 ] && grep -q "not sealed" "$tmp/u5.log"'
aquacast-train --forecast "$tmp/sets/ok" --account "$acct" --days 7 >/dev/null 2>&1
check "train --forecast reads a sealed set" '[ $? -eq 0 ]'
cp -r "$tmp/sets/ok" "$tmp/sets/tampered"
f=$(find "$tmp/sets/tampered" -name '*.parquet' | sort | head -n1)
printf 'x' >>"$f"
aquacast-evaluate --models "$tmp/sets/tampered" --readings "$tmp/small" --out "$tmp/e-t" >/dev/null 2>"$tmp/t3.log"
check "evaluate refuses a set whose file changed size" '[ $? -eq 1 ] && grep -q "manifest says" "$tmp/t3.log"'
cp -r "$tmp/sets/ok" "$tmp/sets/flipped"
f=$(find "$tmp/sets/flipped" -name '*.parquet' | sort | head -n1)
python3 -c 'import sys; p=sys.argv[1]; b=bytearray(open(p,"rb").read()); b[len(b)//2]^=1; open(p,"wb").write(b)' "$f"
aquacast-shard verify "$tmp/sets/flipped" >"$tmp/t4.out" 2>&1
check "shard verify finds a flipped byte through the sha256" '[ $? -ne 0 ] && grep -q "SHA-256" "$tmp/t4.out"'
cp -r "$tmp/sets/ok" "$tmp/sets/extra"
cp "$f" "$(dirname "$(find "$tmp/sets/extra" -name '*.parquet' | head -n1)")/99999999999999999999-extra.parquet"
aquacast-evaluate --models "$tmp/sets/extra" --readings "$tmp/small" --out "$tmp/e-x" >/dev/null 2>"$tmp/t5.log"
check "evaluate refuses a set with a file its manifest does not list" '[ $? -eq 1 ] && grep -q "does not list" "$tmp/t5.log"'

# -- the gate checks coverage: a challenger with 10 of the champion's 200 accounts is not promoted
aquacast-train --readings "$tmp/r" --out "$tmp/sets/champ" --until 2022-12-26 --season 0 --threads 2 >/dev/null 2>&1
ids=$(aquacast-shard to-csv "$tmp/r" 2>/dev/null | cut -d, -f2 | grep -E '^[0-9]+$' | sort -u | head -n 10 | paste -sd,)
aquacast-train --readings "$tmp/r" --out "$tmp/sets/ten" --until 2022-12-26 --season 0 --accounts "$ids" --threads 2 >/dev/null 2>&1
check "a 10-account challenger set" '[ "$(jpath "$tmp/sets/ten/_manifest.json" accounts)" = 10 ]'
aquacast-evaluate --models "$tmp/sets/ten" --champion "$tmp/sets/champ" --readings "$tmp/r" --out "$tmp/e-cov" --threads 2 >"$tmp/c.out" 2>"$tmp/c.log"
rc=$?
check "challenger lacking most of the champion's accounts: not promoted (exit 3)" '[ $rc -eq 3 ]'
champ_n=$(jpath "$tmp/sets/champ/_manifest.json" accounts)
check "... decision records the coverage (champion $champ_n accounts, challenger 10)" \
    '[ "$champ_n" -gt 150 ] && [ "$(jpath "$tmp/e-cov/decision.json" coverage.champion_accounts)" = "$champ_n" ] && [ "$(jpath "$tmp/e-cov/decision.json" coverage.missing_vs_champion)" = $((champ_n - 10)) ] && grep -q "coverage: the challenger lacks $((champ_n - 10)) accounts" "$tmp/e-cov/decision.json"'
aquacast-evaluate --models "$tmp/sets/champ" --champion "$tmp/sets/champ" --readings "$tmp/r" --out "$tmp/e-self" --threads 2 --windows 1 >/dev/null 2>&1
rc=$?
check "the same set against itself: full coverage, exit 0 or 3 by the gate" \
    '[ "$(jpath "$tmp/e-self/decision.json" coverage.missing_vs_champion)" = 0 ] && { [ $rc -eq 0 ] || [ $rc -eq 3 ]; }'
# zero scored: a set trained on everything has no new days; against a champion nothing is compared
aquacast-train --readings "$tmp/r" --out "$tmp/sets/all" --season 0 --threads 2 >/dev/null 2>&1
aquacast-evaluate --models "$tmp/sets/all" --champion "$tmp/sets/champ" --readings "$tmp/r" --out "$tmp/e-zero" --threads 2 --windows 1 >/dev/null 2>&1
rc=$?
check "no new days against a champion: not promoted (exit 3)" '[ $rc -eq 3 ] && [ "$(jpath "$tmp/e-zero/decision.json" accounts.compared)" = 0 ]'
aquacast-evaluate --models "$tmp/sets/all" --readings "$tmp/r" --out "$tmp/e-none" --windows 0 --threads 2 >/dev/null 2>&1
rc=$?
check "no champion, no new days, no backtest: not promoted (exit 3)" '[ $rc -eq 3 ] && [ "$(jpath "$tmp/e-none/decision.json" promoted)" = False ]'

# -- evaluate outputs: sealed, refuses an existing --out, --force replaces atomically, never inside an input
aquacast-evaluate --models "$tmp/sets/champ" --readings "$tmp/r" --out "$tmp/e1" --threads 2 --windows 1 >/dev/null 2>&1
check "evaluate seals its directory, its models/ and metrics/" \
    '[ -f "$tmp/e1/_manifest.json" ] && [ -f "$tmp/e1/models/_manifest.json" ] && [ -f "$tmp/e1/metrics/_manifest.json" ]'
rows1=$(jpath "$tmp/e1/metrics/_manifest.json" accounts)
aquacast-evaluate --models "$tmp/sets/champ" --readings "$tmp/r" --out "$tmp/e1" --threads 2 --windows 1 >"$tmp/e1b.out" 2>"$tmp/e1b.log"
rc=$?
check "evaluate refuses an existing --out (exit 1, summary with error)" '[ $rc -eq 1 ] && grep -q "exists already" "$tmp/e1b.log" && tail -n1 "$tmp/e1b.out" | grep -q "\"error\""'
aquacast-train --readings "$tmp/r" --out "$tmp/sets/eval-models-as-champ" --until 2022-12-26 --season 0 --threads 2 >/dev/null 2>&1
aquacast-evaluate --models "$tmp/sets/eval-models-as-champ" --champion "$tmp/e1/models" --readings "$tmp/r" --out "$tmp/e2" --threads 2 --windows 1 >/dev/null 2>&1
rc=$?
check "an evaluation's models/ is a sealed set a later evaluate reads as champion" '[ $rc -eq 0 ] || [ $rc -eq 3 ]'
aquacast-evaluate --models "$tmp/sets/champ" --readings "$tmp/r" --out "$tmp/e1" --force --threads 2 --windows 1 >/dev/null 2>&1
check "--force replaces it; metrics rows not doubled (at most 14 per account: 2 scopes x 7 forecasters)" \
    '[ $? -eq 0 ] && [ "$(python3 -c "import json,sys; m=json.load(open(sys.argv[1])); print(sum(f[\"rows\"] for f in m[\"files\"]))" "$tmp/e1/metrics/_manifest.json")" -le $((rows1 * 14)) ] && [ -z "$(find "$tmp" -maxdepth 1 -name ".e1.tmp.*")" ]'
sum_before=$(sha256sum "$tmp/e1/_manifest.json")
aquacast-evaluate --models "$tmp/sets/unsealed" --readings "$tmp/r" --out "$tmp/e1" --force >/dev/null 2>&1
check "a failed --force run leaves the previous sealed evaluation untouched" \
    '[ $? -eq 1 ] && [ "$(sha256sum "$tmp/e1/_manifest.json")" = "$sum_before" ]'
aquacast-evaluate --models "$tmp/sets/champ" --readings "$tmp/r" --out "$tmp/sets/champ/eval" >/dev/null 2>"$tmp/i1.log"
check "evaluate refuses an --out inside its model set" '[ $? -eq 1 ] && grep -q "inside" "$tmp/i1.log" && [ ! -e "$tmp/sets/champ/eval" ]'
aquacast-evaluate --models "$tmp/sets/champ" --readings "$tmp/r" --out "$tmp/r/eval" >/dev/null 2>"$tmp/i2.log"
check "evaluate refuses an --out inside the readings" '[ $? -eq 1 ] && grep -q "inside" "$tmp/i2.log"'
aquacast-evaluate --models "$tmp/e2/models" --readings "$tmp/r" --out "$tmp/e2" --force >/dev/null 2>"$tmp/i3.log"
check "evaluate --force refuses to replace a directory holding its input" '[ $? -eq 1 ] && grep -q "inside the output" "$tmp/i3.log" && [ -f "$tmp/e2/models/_manifest.json" ]'

# -- a readings dataset's skeleton appears whole, and a failed first run leaves none behind
printf 'ConsumptionDate,AccountOID,Consumption\n' >"$tmp/empty.csv"
aquacast-synth --from-csv "$tmp/empty.csv" --out "$tmp/rd-empty" >/dev/null 2>&1
check "synth --from-csv of an empty CSV fails and leaves no dataset" '[ $? -eq 1 ] && [ ! -e "$tmp/rd-empty" ]'
sqlite3 "$tmp/nt.db" 'CREATE TABLE other (x INTEGER);'
aquacast-extract --odbc "DRIVER=SQLite3;Database=$tmp/nt.db" --table PORTAL.ConsumptionDaily --out "$tmp/rd-x" --mode full >/dev/null 2>&1
check "extract from a missing table fails and leaves no dataset" '[ $? -eq 1 ] && [ ! -e "$tmp/rd-x" ] && [ -z "$(find "$tmp" -maxdepth 1 -name ".rd-x.tmp.*")" ]'
aquacast-synth --accounts 5 --days 30 --out "$tmp/rd-ok" --parts 2 >/dev/null 2>&1
aquacast-synth --from-csv "$tmp/empty.csv" --out "$tmp/rd-ok" >/dev/null 2>&1
check "a failed import into an existing dataset keeps it" '[ -f "$tmp/rd-ok/_dataset.json" ] && [ "$(find "$tmp/rd-ok" -name "*.parquet" | wc -l)" -gt 0 ]'

[ "$fails" -eq 0 ]
