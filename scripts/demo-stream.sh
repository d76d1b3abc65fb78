#!/usr/bin/env bash
# demo-stream.sh — the streaming flow (issue #6) end to end against a real Kafka broker that
# this script starts (tests/services/kafka.sh, its own state under demo/stream/kafka) and
# stops on exit, in stages with timings, ending with the same three-timings block as demo.sh.
#
#   make demo-stream                         (builds first)
#   DEMO_ACCOUNTS=50 scripts/demo-stream.sh  (a smaller run)
#
# Stages: synth (the whole feed as CSV) → kafka (start a broker) → seed (stream-replay seed:
# the first 20% of the calendar into SQLite over ODBC) → extract full → train full (weekly
# season) → stream (stream-replay run: the next DEMO_NEW_DAYS days into the topic) → ingest
# (aquacast-extract --kafka into the same dataset: the FETCH timing) → update (train --mode
# update --prev, the last DEMO_HOLDOUT_DAYS days held out for the gate: the RETRAIN timing)
# → evaluate against the old set as champion (the EVALUATE timing) → register into the local
# registry demo/stream/registry (prints the champion) → summary, timings.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
BIN=${AQ_BIN:-$top/bin}
DEMO=${DEMO_DIR:-$top/demo/stream}
ACCOUNTS=${DEMO_ACCOUNTS:-200}
DAYS=${DEMO_DAYS:-730}
SEED=${DEMO_SEED:-1}
PARTS=${DEMO_PARTS:-16}
NEW_DAYS=${DEMO_NEW_DAYS:-30}
HOLDOUT=${DEMO_HOLDOUT_DAYS:-14}
IDLE=${DEMO_IDLE_TIMEOUT:-5}
THREADS=${DEMO_THREADS:-$(nproc)}
TOPIC=${DEMO_TOPIC:-water.readings.daily}
TABLE=PORTAL.ConsumptionDaily
KAFKA=$top/tests/services/kafka.sh
export AQ_KAFKA_DIR=$DEMO/kafka

declare -A T=()
DEMO_PROG=demo-stream
# shellcheck source=scripts/demo-lib.sh
. "$top/scripts/demo-lib.sh"

for b in synth extract shard train evaluate stream-replay register; do need "$b"; done
command -v sqlite3 >/dev/null || { echo "demo-stream: sqlite3 is missing (scripts/install-deps.sh)" >&2; exit 1; }
"$KAFKA" destroy >/dev/null 2>&1 || true
rm -rf "$DEMO"
mkdir -p "$DEMO/logs" "$DEMO/synth" "$DEMO/models"
# A short database path: lib/odbc bulk inserts into SQLite have failed with long paths
# (see tests/integration/stream_replay.sh).
DBDIR=$(mktemp -d /tmp/aqds.XXXX)
DB=$DBDIR/p.db
CONN="DRIVER=SQLite3;Database=$DB"
trap '"$KAFKA" stop >/dev/null 2>&1 || true; rm -rf "$DBDIR"' EXIT
echo "aquacast demo-stream: $ACCOUNTS accounts × $DAYS days (seed $SEED); the first 20% seeded into SQLite, then $NEW_DAYS days through Kafka topic $TOPIC; under ${DEMO#"$top"/}/"

stage 1 "synth: the whole feed as CSV"
run synth "$BIN/aquacast-synth" --accounts "$ACCOUNTS" --days "$DAYS" --seed "$SEED" \
    --csv "$DEMO/synth/readings.csv" --threads "$THREADS"

stage 2 "kafka: a real broker on 127.0.0.1 (stopped on exit)"
t0=$(now)
B=$("$KAFKA" start 2>"$DEMO/logs/kafka.log") || { echo "demo-stream: kafka did not start" >&2; tail -n 20 "$DEMO/logs/kafka.log" >&2; exit 1; }
T[kafka]=$(secs "$t0" "$(now)")
echo "   broker $B up in ${T[kafka]} s"

stage 3 "seed: the first 20% of the calendar into $TABLE (SQLite over ODBC)"
run seed "$BIN/aquacast-stream-replay" seed --csv "$DEMO/synth/readings.csv" --db "$CONN" --db-table "$TABLE" --schema sql
SPLIT=$(jget "$LAST" split_day)
DB_ROWS=$(sqlite3 "$DB" "SELECT COUNT(*) FROM PORTAL_ConsumptionDaily")
[ -n "$SPLIT" ] || SPLIT=$(date -u -d "$(sqlite3 "$DB" "SELECT MAX(ConsumptionDate) FROM PORTAL_ConsumptionDaily") + 1 day" +%F)
UNTIL=$(date -u -d "$SPLIT + $((NEW_DAYS - 1)) days" +%F)
echo "   $DB_ROWS rows before $SPLIT; the stream starts there"

stage 4 "extract full: $TABLE → Parquet shards (demo/stream/readings)"
run extract_full "$BIN/aquacast-extract" --odbc "$CONN" --table "$TABLE" --out "$DEMO/readings" --parts "$PARTS" --mode full
FULL_ROWS=$(jget "$LAST" rows)

stage 5 "train full: one ARIMA per account on the seeded history (weekly season)"
run train_full "$BIN/aquacast-train" --readings "$DEMO/readings" --out "$DEMO/models/run-1" \
    --mode full --season 7 --threads "$THREADS"
FULL_ACCOUNTS=$(jget "$LAST" accounts)

stage 6 "stream: $SPLIT .. $UNTIL into topic $TOPIC (stream-replay run --until)"
run stream "$BIN/aquacast-stream-replay" run --csv "$DEMO/synth/readings.csv" --brokers "$B" --topic "$TOPIC" \
    --until "$UNTIL" --state "$DEMO/stream.state"
STREAMED=$(awk -F, -v a="$SPLIT" -v b="$UNTIL" 'NR > 1 && $1 >= a && $1 <= b' "$DEMO/synth/readings.csv" | wc -l)
echo "   $STREAMED readings in the CSV for those days"

stage 7 "ingest: Kafka → the same dataset (aquacast-extract --kafka, stops after ${IDLE} s idle) — the FETCH timing"
run ingest "$BIN/aquacast-extract" --kafka "$B" --topic "$TOPIC" --group aquacast-demo --out "$DEMO/readings" \
    --idle-timeout "$IDLE"
INGESTED=$(jget "$LAST" readings)
[ -n "$INGESTED" ] || INGESTED=$(jget "$LAST" rows)
# the ingest's own active time (first message to last batch durable), without the idle wait
T[ingest_net]=$(awk -v a="$(jget "$LAST" active_seconds)" -v t="${T[ingest]}" 'BEGIN { printf "%.2f", (a != "" ? a : t) }')
run shard "$BIN/aquacast-shard" stats "$DEMO/readings"
SHARD_ROWS=$(jget "$LAST" rows)
echo "   dataset: $SHARD_ROWS rows = $FULL_ROWS seeded + $INGESTED ingested"

UNTIL2=$(date -u -d "$UNTIL - $HOLDOUT days" +%F)
stage 8 "update: --mode update --prev run-1 --until $UNTIL2 (the last $HOLDOUT days held out for the gate) — the RETRAIN timing"
run train_update "$BIN/aquacast-train" --readings "$DEMO/readings" --out "$DEMO/models/run-2" \
    --prev "$DEMO/models/run-1" --mode update --season 7 --until "$UNTIL2" --threads "$THREADS"
UPD_ACCOUNTS=$(jget "$LAST" accounts)

stage 9 "evaluate: run-2 against run-1 as champion — the EVALUATE timing"
run evaluate "$BIN/aquacast-evaluate" --models "$DEMO/models/run-2" --readings "$DEMO/readings" \
    --champion "$DEMO/models/run-1" --out "$DEMO/eval/run-2" --threads "$THREADS"
EVAL_ACCOUNTS=$(jget "$LAST" accounts)
EVAL_SCORED=$(jget "$LAST" scored)
if [ "$RC" -eq 0 ]; then DECISION="promoted"; else DECISION="not promoted (exit 3)"; fi
echo "   decision: $DECISION"

stage 10 "register: the evaluated run-2 into the local registry (file:${DEMO#"$top"/}/registry)"
register_eval "$DEMO/registry" "$DEMO/eval/run-2" "extract=$DEMO/logs/ingest.out" \
    "train=$DEMO/logs/train_update.out" "evaluate=$DEMO/logs/evaluate.out"

stage 11 "summary"
printf '   %-44s %s\n' "accounts (synthetic)" "$ACCOUNTS" \
    "seeded into SQLite" "$DB_ROWS rows (before $SPLIT)" \
    "streamed (CSV rows $SPLIT..$UNTIL)" "$STREAMED" \
    "ingested from Kafka" "$INGESTED" \
    "rows in the shards" "$SHARD_ROWS" \
    "model sets" "run-1 (full, $FULL_ACCOUNTS accounts), run-2 (update, $UPD_ACCOUNTS accounts)" \
    "evaluation" "$DECISION (${DEMO#"$top"/}/eval/run-2/decision.json)" \
    "registry (file:${DEMO#"$top"/}/registry)" "$REG_LINE"

line() { printf '%-12s %10s s %12s %-10s %s\n' "$1" "${T[$2]}" "$(rate "$3" "${T[$2]}")" "$4/s" "$5"; }
echo
echo "== timings (the assignment's three concerns; $ACCOUNTS accounts, $THREADS threads) =="
line fetching ingest_net "$INGESTED" rows "Kafka ingest: $INGESTED readings ($NEW_DAYS days) → shards (active time; wall ${T[ingest]} s with the ${IDLE} s idle timeout)"
line "  (full)" extract_full "$FULL_ROWS" rows "full: $FULL_ROWS seeded rows SQLite/ODBC → shards"
line retraining train_update "$UPD_ACCOUNTS" accounts "update: --mode update --prev run-1, $UPD_ACCOUNTS accounts"
line "  (full)" train_full "$FULL_ACCOUNTS" accounts "full: order search (season 7), $FULL_ACCOUNTS accounts"
line evaluating evaluate "${EVAL_ACCOUNTS:-$UPD_ACCOUNTS}" accounts "run-2 vs champion run-1 ($EVAL_SCORED scored on $HOLDOUT new days + backtest): $DECISION"
line registering register "$REG_FILES" files "run, params, metrics and version $REG_VERSION ($REG_BYTES bytes) into file:${DEMO#"$top"/}/registry, alias $REG_ALIAS"
