#!/usr/bin/env bash
# demo.sh — the main job end to end on the embedded default (SQLite over unixODBC), in stages with timings.
#
#   make demo                         (builds first, installs missing Debian packages)
#   DEMO_ACCOUNTS=200 scripts/demo.sh (a smaller run)
#
# Stages: synth (the utility's full feed as CSV + planted truth) → db (SQLite from
# sql/sqlite/) → load (the first DEMO_HISTORY_PCT% of the calendar into
# PORTAL.ConsumptionDaily over ODBC, as the utility's "original data") → extract
# (SQL → Parquet shards: the FETCH timing) → shard stats → train (the RETRAIN
# timing) → evaluate (the EVALUATE timing) → summary. A stage whose binary is not
# built yet prints a visible notice and is skipped. Everything lives under demo/
# (gitignored); each stage rebuilds its own outputs, so re-runs are idempotent.
# The script ends with the block of the three timings the assignment asks for.
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
THREADS=${DEMO_THREADS:-$(nproc)}
TABLE=PORTAL.ConsumptionDaily
DB=$DEMO/portal.db
CONN="DRIVER=SQLite3;Database=$DB"
HIST_DAYS=$((DAYS * HISTORY_PCT / 100))

mkdir -p "$DEMO/logs" "$DEMO/synth"
declare -A T=() NOTE=()

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# The value of a key in a one-line JSON object (the binaries' last stdout line).
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); v=d.get(sys.argv[2], ""); print(v)' "$1" "$2" 2>/dev/null || true; }
have() { [ -x "$BIN/aquacast-$1" ]; }
stage() { echo; echo "== [$1] $2"; }
notice() { echo "   NOTICE: $*"; }

# run NAME CMD...: stdout to demo/logs/NAME.out, stderr to demo/logs/NAME.log;
# sets LAST (the last stdout line) and T[NAME] (wall seconds). A failure shows the log and stops.
run() {
    local name=$1 t0 t1
    shift
    t0=$(now)
    if ! "$@" >"$DEMO/logs/$name.out" 2>"$DEMO/logs/$name.log"; then
        echo "   FAILED: $*" >&2
        tail -n 20 "$DEMO/logs/$name.log" | sed 's/^/   | /' >&2
        exit 1
    fi
    t1=$(now)
    T[$name]=$(secs "$t0" "$t1")
    LAST=$(tail -n 1 "$DEMO/logs/$name.out")
    echo "   done in ${T[$name]} s: $LAST"
}

echo "aquacast demo: $ACCOUNTS accounts × $DAYS days (seed $SEED), the first $HISTORY_PCT% ($HIST_DAYS days) in SQLite, $PARTS parts, under ${DEMO#$top/}/"
have synth || { echo "demo: $BIN/aquacast-synth is missing (run make)" >&2; exit 1; }
command -v sqlite3 >/dev/null || { echo "demo: sqlite3 is missing (scripts/install-deps.sh)" >&2; exit 1; }

stage 1 "synth: the utility's whole feed ($ACCOUNTS accounts from 2022-04-01) as CSV, with the planted truth"
run synth "$BIN/aquacast-synth" --accounts "$ACCOUNTS" --days "$DAYS" --seed "$SEED" \
    --csv "$DEMO/synth/readings.csv" --truth "$DEMO/synth/truth.csv" --threads "$THREADS"
SYNTH_ROWS=$(jget "$LAST" rows)

stage 2 "db: a fresh SQLite database from sql/sqlite/"
rm -f "$DB" "$DB-journal" "$DB-wal"
t0=$(now)
for f in sql/sqlite/*.sql; do sqlite3 "$DB" <"$f"; done
T[db]=$(secs "$t0" "$(now)")
echo "   $(sqlite3 "$DB" "SELECT 'table ' || name FROM sqlite_master WHERE type = 'table' AND name LIKE 'PORTAL%'") in ${DB#$top/}"

stage 3 "load: days 0..$((HIST_DAYS - 1)) into $TABLE over unixODBC (the original ${HISTORY_PCT}%; the rest is the stream)"
run load "$BIN/aquacast-synth" --accounts "$ACCOUNTS" --days "$DAYS" --seed "$SEED" --to-day "$HIST_DAYS" \
    --odbc "$CONN" --table "$TABLE" --batch 20000 --threads "$THREADS"
DB_ROWS=$(sqlite3 "$DB" "SELECT COUNT(*) FROM PORTAL_ConsumptionDaily")
echo "   $DB_ROWS rows in PORTAL_ConsumptionDaily, $(sqlite3 "$DB" "SELECT MIN(ConsumptionDate) || ' .. ' || MAX(ConsumptionDate) || ', ' || COUNT(DISTINCT AccountOID) || ' accounts' FROM PORTAL_ConsumptionDaily")"

stage 4 "extract: $TABLE → Parquet shards (demo/readings) — the FETCH timing"
EXTRACT_ROWS= TRAIN_ACCOUNTS=
if have extract; then
    rm -rf "$DEMO/readings"
    run extract "$BIN/aquacast-extract" --odbc "$CONN" --table "$TABLE" --out "$DEMO/readings" \
        --parts "$PARTS" --mode full
    EXTRACT_ROWS=$(jget "$LAST" rows)
else
    notice "aquacast-extract is not built yet: skipping the fetch"
    NOTE[extract]="not yet built"
fi

stage 5 "shard stats: what landed in demo/readings"
if ! [ -d "$DEMO/readings" ]; then
    notice "no dataset (extract skipped)"
elif have shard; then
    run shard "$BIN/aquacast-shard" stats "$DEMO/readings"
    head -n -1 "$DEMO/logs/shard.out" | sed 's/^/   /' | head -n 40
    run verify "$BIN/aquacast-shard" verify "$DEMO/readings"
else
    notice "aquacast-shard is not built yet; files on disk:"
    echo "   $(find "$DEMO/readings" -name '*.parquet' | wc -l) parquet files, $(du -sh "$DEMO/readings" | cut -f1)"
fi

stage 6 "train: one ARIMA per account on the history — the RETRAIN timing"
if ! [ -d "$DEMO/readings" ]; then
    notice "no dataset (extract skipped): skipping training"
    NOTE[train]="skipped (no dataset)"
elif have train && [ "${DEMO_TRAIN:-0}" = 1 ]; then
    rm -rf "$DEMO/models"
    mkdir -p "$DEMO/models"
    run train "$BIN/aquacast-train" --readings "$DEMO/readings" --out "$DEMO/models/run-1" --threads "$THREADS"
    TRAIN_ACCOUNTS=$(jget "$LAST" accounts)
elif have train; then
    # Measured on 2 busy cores: ~2 s per account with the weekly seasonal search, too slow
    # for a default demo run yet; the train developer wires it in when it is faster.
    notice "aquacast-train exists but is off by default (DEMO_TRAIN=1 runs it; slow so far)"
    NOTE[train]="not run (DEMO_TRAIN=1 to run it)"
else
    notice "aquacast-train is not built yet: skipping training"
    NOTE[train]="not yet built"
fi

stage 7 "evaluate: score the models on the streamed new days — the EVALUATE timing"
if have evaluate && [ -d "$DEMO/models/run-1" ]; then
    rm -rf "$DEMO/eval"
    # exit 3 = evaluated but not promoted by the gate: still a successful evaluation
    run evaluate bash -c '"$@"; rc=$?; [ $rc -eq 3 ] && exit 0; exit $rc' evaluate \
        "$BIN/aquacast-evaluate" --models "$DEMO/models/run-1" --readings "$DEMO/readings" \
        --out "$DEMO/eval/run-1" --threads "$THREADS"
elif have evaluate; then
    notice "no model set (training skipped): skipping evaluation"
    NOTE[evaluate]="skipped (no models; DEMO_TRAIN=1)"
else
    notice "aquacast-evaluate is not built yet: skipping evaluation"
    NOTE[evaluate]="not yet built"
fi

stage 8 "summary"
printf '   %-34s %s\n' "accounts (synthetic)" "$ACCOUNTS" \
    "rows in the whole feed (CSV)" "$SYNTH_ROWS" \
    "rows loaded into SQLite" "$DB_ROWS" \
    "rows extracted into shards" "${EXTRACT_ROWS:-—}" \
    "planted events (truth.csv)" "$(($(wc -l <"$DEMO/synth/truth.csv") - 1))"
if [ -n "$EXTRACT_ROWS" ] && [ "$EXTRACT_ROWS" != "$DB_ROWS" ]; then
    echo "demo: extract read $EXTRACT_ROWS rows but the table holds $DB_ROWS" >&2
    exit 1
fi

timing() { # label, stage, detail
    if [ -n "${T[$2]:-}" ]; then
        printf '%-12s %10s s   %s\n' "$1" "${T[$2]}" "$3"
    else
        printf '%-12s %10s     %s\n' "$1" "--" "${NOTE[$2]:-not yet built}"
    fi
}
echo
echo "== timings (the assignment's three concerns) =="
timing fetching extract "aquacast-extract: $TABLE (SQLite/ODBC) → $PARTS shard parts, ${EXTRACT_ROWS:-0} rows"
timing retraining train "aquacast-train: one ARIMA per account, ${TRAIN_ACCOUNTS:-0} accounts"
timing evaluating evaluate "aquacast-evaluate: rolling-origin backtest + new days (none streamed in the demo yet)"
