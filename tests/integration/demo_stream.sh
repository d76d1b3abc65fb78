#!/usr/bin/env bash
# demo_stream.sh — scripts/demo-stream.sh end to end, small (40 accounts × 240 days) against the
# broker it starts; checks the ingested readings equal the streamed ones (counted independently
# from the CSV), the dataset holds seed + stream, the update and the evaluation ran, the broker
# was stopped, run-2 is registered in the local registry, and the output ends with the
# three-timings block (then registering).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
tmp=${AQ_TEST_TMP:-/tmp}/demo-stream-it.$$
mkdir -p "$tmp"
N=40 D=240
d=$tmp/ds
out=$tmp/run.txt

if DEMO_ACCOUNTS=$N DEMO_DAYS=$D DEMO_DIR="$d" DEMO_PARTS=8 DEMO_IDLE_TIMEOUT=4 scripts/demo-stream.sh >"$out" 2>&1; then
    ok "demo-stream runs ($N accounts × $D days)"
else
    nok "demo-stream runs ($N accounts × $D days)"; tail -n 30 "$out"
fi
# The split: 2022-04-01 + floor(0.2 × 240) = 2022-05-19; the stream: 30 days to 2022-06-17.
csv=$d/synth/readings.csv
hist=$(awk -F, 'NR > 1 && $1 < "2022-05-19"' "$csv" 2>/dev/null | wc -l)
streamed=$(awk -F, 'NR > 1 && $1 >= "2022-05-19" && $1 <= "2022-06-17"' "$csv" 2>/dev/null | wc -l)
seeded=$(jget "$(last_json "$d/logs/seed.out")" readings)
produced=$(jget "$(last_json "$d/logs/stream.out")" readings)
ingested=$(jget "$(last_json "$d/logs/ingest.out")" readings)
check "seed loaded the first 20% ($seeded of $hist CSV rows before 2022-05-19)" '[ "$hist" -gt 0 ] && [ "$seeded" = "$hist" ]'
check "stream-replay produced the 30 days ($produced of $streamed CSV rows)" '[ "$streamed" -gt 0 ] && [ "$produced" = "$streamed" ]'
check "ingested readings = streamed readings ($ingested = $streamed)" '[ "$ingested" = "$streamed" ]'
shard_rows=$(jget "$(bin/aquacast-shard stats "$d/readings" 2>/dev/null | tail -n 1)" rows)
dmax=$(jget "$(bin/aquacast-shard stats "$d/readings" 2>/dev/null | tail -n 1)" date_max)
check "the dataset holds seed + stream ($shard_rows = $hist + $streamed, to $dmax)" '[ "$shard_rows" = $((hist + streamed)) ] && [ "$dmax" = 2022-06-17 ]'
check "the dataset verifies" 'bin/aquacast-shard verify "$d/readings" >/dev/null 2>&1'
upd=$(last_json "$d/logs/train_update.out")
check "train --mode update --prev ran (mode $(jget "$upd" mode), updated $(jget "$upd" updated))" \
    '[ "$(jget "$upd" mode)" = update ] && [ "$(jget "$upd" updated)" -gt 0 ] && [ -d "$d/models/run-2" ]'
if python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert d["format"] == "aquacast.decision" and d["champion"].endswith("models/run-1") and d["exit_code"] in (0, 3)
assert d["accounts"]["compared"] > 0' "$d/eval/run-2/decision.json" 2>/dev/null; then
    ok "evaluate gated run-2 against the champion (decision.json)"
else
    nok "evaluate gated run-2 against the champion (decision.json)"
fi
check "the broker was stopped on exit" '! AQ_KAFKA_DIR=$d/kafka tests/services/kafka.sh status >/dev/null 2>&1'
promoted=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["promoted"])' "$d/eval/run-2/decision.json" 2>/dev/null)
alias=challenger; [ "$promoted" = True ] && alias=champion
rj=$(last_json "$d/logs/register.out")
check "register: version 1 of run-2 in the local registry on alias '$alias'" \
    '[ "$(jget "$rj" version)" = 1 ] && [ "$(jget "$rj" alias)" = "$alias" ] && [ -f "$d/registry/aquacast-water-forecast/aliases/$alias" ]'
tail -n 7 "$out" | awk 'NR==1 && /^== timings/ {h=1} NR==2 && /^fetching +[0-9]+\.[0-9]+ s +[0-9]+ rows\/s/ {f=1}
    NR==4 && /^retraining +[0-9]+\.[0-9]+ s +[0-9]+ accounts\/s/ {r=1} NR==6 && /^evaluating +[0-9]+\.[0-9]+ s +[0-9]+ accounts\/s/ {e=1}
    NR==7 && /^registering +[0-9]+\.[0-9]+ s +[0-9]+ files\/s/ {g=1}
    END {exit !(h && f && r && e && g)}' \
    && ok "demo-stream ends with the timings block (+ registering)" || { nok "demo-stream ends with the timings block (+ registering)"; tail -n 7 "$out"; }
[ $fails -eq 0 ] && rm -rf "$tmp"
exit $((fails > 0))
