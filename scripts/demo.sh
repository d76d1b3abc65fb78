#!/usr/bin/env bash
# demo.sh — the main job end to end on the embedded default (SQLite over unixODBC), in stages
# with timings, ending with the three timings the assignment cares about.
#
#   make demo                          (builds first, installs missing Debian packages)
#   DEMO_ACCOUNTS=60 scripts/demo.sh   (a smaller run; DEMO_ACCOUNTS=27000 is the utility's scale)
#
# Stages: synth (the utility's whole feed as CSV + planted truth) → db (SQLite from
# sql/sqlite/) → load (the first DEMO_HISTORY_PCT% of the calendar into
# PORTAL.ConsumptionDaily over ODBC: the "original data") → extract full → train full
# (weekly season) → append (the next DEMO_NEW_DAYS days into the table: the monthly
# feed) → extract incremental (the FETCH timing) → train auto with --prev (the RETRAIN
# timing) → evaluate the new set against the old one as champion (the EVALUATE timing;
# "not promoted" is a valid outcome) → register (aquacast-register into the local registry
# demo/registry with the three jobs' summary lines; prints the champion) → forecast (one
# account, 30 days, 80/95% intervals, period total) → summary and the timings block.
# Everything lives under demo/ (gitignored); each run starts clean, so re-runs are idempotent.
set -euo pipefail
cd "$(dirname "$0")/.."
top=$PWD
BIN=${AQ_BIN:-$top/bin}
DEMO=${DEMO_DIR:-$top/demo}
ACCOUNTS=${DEMO_ACCOUNTS:-2000}
DAYS=${DEMO_DAYS:-730}
SEED=${DEMO_SEED:-1}
PARTS=${DEMO_PARTS:-16}
HISTORY_PCT=${DEMO_HISTORY_PCT:-20}
NEW_DAYS=${DEMO_NEW_DAYS:-30}
RETRAIN_MODE=${DEMO_RETRAIN_MODE:-auto}
# The retrain stops HOLDOUT days before the end of the month, so that evaluate can gate the
# new set against the old one on days neither has seen (0: retrain on everything, then the
# gate has no common new days and only the backtest is computed).
HOLDOUT=${DEMO_HOLDOUT_DAYS:-14}
THREADS=${DEMO_THREADS:-$(nproc)}
TABLE=PORTAL.ConsumptionDaily
DB=$DEMO/portal.db
CONN="DRIVER=SQLite3;Database=$DB"
HIST_DAYS=$((DAYS * HISTORY_PCT / 100))
END_DAY=$((HIST_DAYS + NEW_DAYS))
[ "$END_DAY" -le "$DAYS" ] || { echo "demo: history + $NEW_DAYS new days exceed DEMO_DAYS=$DAYS" >&2; exit 2; }

declare -A T=()

DEMO_PROG=demo
# shellcheck source=scripts/demo-lib.sh
. "$top/scripts/demo-lib.sh"
sq() { sqlite3 "$DB" "$1"; }

for b in synth extract shard train evaluate register; do need "$b"; done
command -v sqlite3 >/dev/null || { echo "demo: sqlite3 is missing (scripts/install-deps.sh)" >&2; exit 1; }
rm -rf "$DEMO/logs" "$DEMO/synth" "$DEMO/readings" "$DEMO/models" "$DEMO/eval" "$DEMO/registry"
mkdir -p "$DEMO/logs" "$DEMO/synth" "$DEMO/models"
echo "aquacast demo: $ACCOUNTS accounts × $DAYS days (seed $SEED); the first $HISTORY_PCT% ($HIST_DAYS days) is the original data, then a monthly feed of $NEW_DAYS days; $PARTS parts, $THREADS threads, under ${DEMO#"$top"/}/"

stage 1 "synth: the utility's whole feed ($ACCOUNTS accounts from 2022-04-01) as CSV, with the planted truth"
run synth "$BIN/aquacast-synth" --accounts "$ACCOUNTS" --days "$DAYS" --seed "$SEED" \
    --csv "$DEMO/synth/readings.csv" --truth "$DEMO/synth/truth.csv" --threads "$THREADS"
SYNTH_ROWS=$(jget "$LAST" rows)

stage 2 "db: a fresh SQLite database from sql/sqlite/"
rm -f "$DB" "$DB-journal" "$DB-wal"
for f in sql/sqlite/*.sql; do sqlite3 "$DB" <"$f"; done
echo "   $(sq "SELECT 'table ' || name FROM sqlite_master WHERE type = 'table' AND name LIKE 'PORTAL%'") in ${DB#"$top"/}"

stage 3 "load: days 0..$((HIST_DAYS - 1)) into $TABLE over unixODBC (the original data)"
run load "$BIN/aquacast-synth" --accounts "$ACCOUNTS" --days "$DAYS" --seed "$SEED" --to-day "$HIST_DAYS" \
    --odbc "$CONN" --table "$TABLE" --batch 20000 --threads "$THREADS"
DB_ROWS1=$(sq "SELECT COUNT(*) FROM PORTAL_ConsumptionDaily")
echo "   $DB_ROWS1 rows, $(sq "SELECT MIN(ConsumptionDate) || ' .. ' || MAX(ConsumptionDate) || ', ' || COUNT(DISTINCT AccountOID) || ' accounts' FROM PORTAL_ConsumptionDaily")"
HIST_END=$(sq "SELECT MAX(ConsumptionDate) FROM PORTAL_ConsumptionDaily")

stage 4 "extract full: $TABLE → Parquet shards (demo/readings)"
run extract_full "$BIN/aquacast-extract" --odbc "$CONN" --table "$TABLE" --out "$DEMO/readings" \
    --parts "$PARTS" --mode full
FULL_ROWS=$(jget "$LAST" rows)
[ "$FULL_ROWS" = "$DB_ROWS1" ] || { echo "demo: extract read $FULL_ROWS rows but the table holds $DB_ROWS1" >&2; exit 1; }

stage 5 "train full: one ARIMA per account on the original data (weekly season)"
run train_full "$BIN/aquacast-train" --readings "$DEMO/readings" --out "$DEMO/models/run-1" \
    --mode full --season 7 --threads "$THREADS"
FULL_ACCOUNTS=$(jget "$LAST" accounts)

stage 6 "append: days $HIST_DAYS..$((END_DAY - 1)) into $TABLE (the monthly feed of $NEW_DAYS new days)"
run append "$BIN/aquacast-synth" --accounts "$ACCOUNTS" --days "$DAYS" --seed "$SEED" \
    --from-day "$HIST_DAYS" --to-day "$END_DAY" --odbc "$CONN" --table "$TABLE" --batch 20000 --threads "$THREADS"
DB_ROWS=$(sq "SELECT COUNT(*) FROM PORTAL_ConsumptionDaily")
echo "   $DB_ROWS rows now, up to $(sq "SELECT MAX(ConsumptionDate) FROM PORTAL_ConsumptionDaily")"

stage 7 "extract incremental: the new rows (RowId above the watermark) into demo/readings — the FETCH timing"
run extract_incr "$BIN/aquacast-extract" --odbc "$CONN" --table "$TABLE" --out "$DEMO/readings" --mode incremental
INCR_ROWS=$(jget "$LAST" rows)
run shard "$BIN/aquacast-shard" stats "$DEMO/readings"
head -n -1 "$DEMO/logs/shard.out" | sed 's/^/   /' | head -n 12
SHARD_ROWS=$(jget "$LAST" rows)
run verify "$BIN/aquacast-shard" verify "$DEMO/readings"
if [ -n "$SHARD_ROWS" ] && [ "$SHARD_ROWS" != "$DB_ROWS" ]; then
    echo "demo: the dataset holds $SHARD_ROWS rows but the table $DB_ROWS" >&2
    exit 1
fi

UNTIL=$(date -u -d "$(sq "SELECT MAX(ConsumptionDate) FROM PORTAL_ConsumptionDaily") - $HOLDOUT days" +%F)
stage 8 "retrain ($RETRAIN_MODE, --prev run-1, --until $UNTIL: the last $HOLDOUT days held out for the gate) — the RETRAIN timing"
run train_month "$BIN/aquacast-train" --readings "$DEMO/readings" --out "$DEMO/models/run-2" \
    --prev "$DEMO/models/run-1" --mode "$RETRAIN_MODE" --season 7 --until "$UNTIL" --threads "$THREADS"
MONTH_ACCOUNTS=$(jget "$LAST" accounts)

stage 9 "evaluate: run-2 against run-1 as champion, on the $HOLDOUT held-out days and a backtest — the EVALUATE timing"
run evaluate "$BIN/aquacast-evaluate" --models "$DEMO/models/run-2" --readings "$DEMO/readings" \
    --champion "$DEMO/models/run-1" --out "$DEMO/eval/run-2" --threads "$THREADS"
EVAL_RC=$RC
EVAL_ACCOUNTS=$(jget "$LAST" accounts)
EVAL_SCORED=$(jget "$LAST" scored)
if [ "$EVAL_RC" -eq 0 ]; then DECISION="promoted"; else DECISION="not promoted (exit 3)"; fi
echo "   decision: $DECISION; $(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(", ".join("%s=%s" % (k, d[k]) for k in list(d)[:6]))' "$DEMO/eval/run-2/decision.json" 2>/dev/null || true)"

stage 10 "register: the evaluated run-2 into the local registry (file:${DEMO#"$top"/}/registry), with the timings of extract, train and evaluate"
register_eval "$DEMO/registry" "$DEMO/eval/run-2" "extract=$DEMO/logs/extract_incr.out" \
    "train=$DEMO/logs/train_month.out" "evaluate=$DEMO/logs/evaluate.out"

ACCOUNT=$(sq "SELECT MIN(AccountOID) FROM PORTAL_ConsumptionDaily")
FSET=$DEMO/eval/run-2/models
[ -d "$FSET" ] || FSET=$DEMO/models/run-2
stage 11 "forecast: account $ACCOUNT, the next 30 days with 80/95% intervals and the period total"
run forecast "$BIN/aquacast-train" --forecast "$FSET" --account "$ACCOUNT" --days 30
head -n -1 "$DEMO/logs/forecast.out" | sed 's/^/   /'

stage 12 "summary"
printf '   %-36s %s\n' "accounts (synthetic)" "$ACCOUNTS" \
    "rows in the whole feed (CSV)" "$SYNTH_ROWS" \
    "original data (SQLite, days)" "$DB_ROWS1 rows ($HIST_DAYS days, to $HIST_END)" \
    "after the monthly feed (SQLite)" "$DB_ROWS rows (+$NEW_DAYS days)" \
    "rows in the shards" "${SHARD_ROWS:-?}" \
    "model sets" "run-1 (full, $FULL_ACCOUNTS accounts), run-2 ($RETRAIN_MODE, $MONTH_ACCOUNTS accounts)" \
    "evaluation" "$DECISION (${DEMO#"$top"/}/eval/run-2/decision.json)" \
    "registry (file:${DEMO#"$top"/}/registry)" "$REG_LINE" \
    "planted events (truth.csv)" "$(($(wc -l <"$DEMO/synth/truth.csv") - 1))"

line() { # label, stage, count, unit, detail
    printf '%-12s %10s s %12s %-10s %s\n' "$1" "${T[$2]}" "$(rate "$3" "${T[$2]}")" "$4/s" "$5"
}
echo
echo "== timings (the assignment's three concerns; $ACCOUNTS accounts, $THREADS threads) =="
line fetching extract_incr "$INCR_ROWS" rows "incremental: $INCR_ROWS new rows ($NEW_DAYS days) SQLite/ODBC → shards"
line "  (full)" extract_full "$FULL_ROWS" rows "full: $FULL_ROWS rows ($HIST_DAYS days of original data)"
line retraining train_month "$MONTH_ACCOUNTS" accounts "monthly: --mode $RETRAIN_MODE --prev run-1, $MONTH_ACCOUNTS accounts"
line "  (full)" train_full "$FULL_ACCOUNTS" accounts "full: order search (season 7), $FULL_ACCOUNTS accounts"
line evaluating evaluate "${EVAL_ACCOUNTS:-$MONTH_ACCOUNTS}" accounts "run-2 vs champion run-1 ($EVAL_SCORED scored on $HOLDOUT new days + backtest): $DECISION"
line registering register "$REG_FILES" files "run, params, metrics and version $REG_VERSION ($REG_BYTES bytes) into file:${DEMO#"$top"/}/registry, alias $REG_ALIAS"
echo
echo "dashboard: make serve  (aquacast-serve on this demo's champion, http://127.0.0.1:${SERVE_PORT:-8080}/)"
