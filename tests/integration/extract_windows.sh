#!/usr/bin/env bash
# extract_windows.sh — aquacast-extract reads a slice in windows of at most --window-rows rows, on
# SQLite (sqliteodbc, which holds a whole result in memory) and on PostgreSQL (psqlODBC): full reads
# (key order: AccountOID windows) and incremental ones (RowId windows), serial and parallel (range and
# modulo splits), windows of 1, 7 and 150 rows; each windowed dataset must be byte-identical to the
# one-statement read (--window-rows 0) of the same table: every shard file, the state file (watermark),
# the JSON summary but its timings. The source is shaped to hit every edge of a window: two clusters of
# account ids far apart, an account with more rows than a window, RowId gaps wider than a window (empty
# windows), duplicates across the slice, bad rows. Rows added between two windows (the test hook
# AQUACAST_TEST_WINDOW_PAUSE) must not be read by that run (its output equals the one-statement read made
# before they arrived) and must all be read by the next. The last windowed dataset is checked against the
# source by the independent oracle. Also psqlODBC without a server cursor (UseDeclareFetch=0). Starts a
# private PostgreSQL cluster; FAILS if it cannot.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-extract.sh"
cd "$top"
T=$(mktemp -d "${AQ_TEST_TMP:-/tmp}/extract_windows.XXXXXX")
export AQ_PG_DIR=/var/tmp/aquacast-pg-$(id -u)/extract-windows-$$
cleanup() {
    tests/services/postgres.sh destroy >/dev/null 2>&1
    [ -n "${AQ_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
ORACLE="python3 $top/tests/integration/extract_oracle.py"
for b in aquacast-extract aquacast-shard sqlite3 psql; do
    command -v $b >/dev/null || { echo "not ok - '$b' not found (make; scripts/install-deps.sh)"; exit 1; }
done
js() { $ORACLE summary "$1" "$2"; }

# same_ds A B: every file of dataset A byte-identical to B's (the batch key that starts a shard's name
# is a clock value, so names are matched without it), the same set of files; _dataset.json aside
# (its creation time)
same_ds() {
    local a=$1 b=$2 f rel base g n=0 m
    while IFS= read -r f; do
        rel=${f#"$a"/}
        base=$(basename "$rel")
        if [[ $base == *.parquet ]]; then
            g=$(ls "$b/$(dirname "$rel")"/*"-${base#*-}" 2>/dev/null | head -n 1)
        else
            g=$b/$rel
        fi
        [ -n "$g" ] && cmp -s "$f" "$g" || { echo "differs: $rel" >&2; return 1; }
        n=$((n + 1))
    done < <(find "$a" -type f ! -name '*.lock' ! -name _dataset.json | sort)
    m=$(find "$b" -type f ! -name '*.lock' ! -name _dataset.json | wc -l)
    [ "$n" -gt 2 ] && [ "$n" = "$m" ]
}
# same_summary A B: the last JSON lines of A and B equal but for seconds and rows_per_s
same_summary() {
    python3 - "$1" "$2" <<'PY'
import json, sys
a, b = (json.loads(open(p).read().strip().splitlines()[-1]) for p in sys.argv[1:3])
for d in (a, b):
    d.pop("seconds", None); d.pop("rows_per_s", None)
sys.exit(0 if a == b and a.get("ok") else 1)
PY
}
windows_of() { sed -n 's/.* \([0-9]*\) window(s).*/\1/p' "$1" | tail -n 1; }

# pair NAME BASE MINWIN WINDOW ARGS...: extract ARGS into a copy of dataset BASE (or a new one if BASE
# is -) with --window-rows 0 once per NAME, and with --window-rows WINDOW; the two must be identical,
# and the windowed run must have used at least MINWIN windows
pair() {
    local name=$1 base=$2 minw=$3 w=$4; shift 4
    local one=$T/$DBK-$name-one d=$T/$DBK-$name-w$w
    if [ ! -d "$one" ]; then
        rm -rf "$one"
        [ "$base" = - ] || cp -a "$base" "$one"
        extract "$one.json" --out "$one" --window-rows 0 "$@" || { nok "$DBK $name: one statement: exit 0"; return; }
    fi
    rm -rf "$d"
    [ "$base" = - ] || cp -a "$base" "$d"
    extract "$d.json" --out "$d" --window-rows "$w" "$@"
    check_run "$DBK $name, windows of $w: exit 0" [ $? -eq 0 ]
    local nw; nw=$(windows_of "$d.json.err")
    check_run "$DBK $name, windows of $w: $nw windows (>= $minw), the one-statement read one per reader" \
        [ "${nw:-0}" -ge "$minw" -a "$(windows_of "$one.json.err")" -le 3 ]
    check_run "$DBK $name, windows of $w: the same shard files, state and watermark as one statement" same_ds "$one" "$d"
    check_run "$DBK $name, windows of $w: the same summary as one statement" same_summary "$one.json" "$d.json"
}

# The whole suite on one database (DBK = sqlite | pg; sqlx runs SQL there; the gen_* write its rows)
suite() {
    gen_initial || { nok "$DBK: load the source"; return; }
    local full=$T/$DBK-full-one
    for w in 1 7 150; do
        pair full - $((w == 150 ? 3 : 20)) "$w" --mode full --parts 4
    done
    pair full-par2 - 20 7 --mode full --parts 4 --parallel 2
    pair full-par3-modulo - 20 7 --mode full --parts 4 --parallel 3 --split modulo
    pair full-rowid - 20 7 --mode full --parts 4 --order rowid --fetch-rows 3
    if [ "$DBK" = sqlite ]; then
        AQUACAST_LOG=debug extract "$T/sqlite-auto.json" --out "$T/sqlite-auto" --mode full
        check_run "sqlite: windows by default" grep -q "reader(s), windows of 262144 rows" "$T/sqlite-auto.json.err"
    fi
    check_run "$DBK full, windowed: matches the source (oracle)" same_as_source "$T/$DBK-full-w7"

    gen_month || { nok "$DBK: append the month"; return; }
    for w in 1 7 150; do
        pair inc "$full" $((w == 150 ? 2 : 10)) "$w" --mode incremental
    done
    pair inc-par2 "$full" 10 7 --mode incremental --parallel 2
    pair inc-key "$full" 10 7 --mode incremental --order key
    pair inc-overlap "$full" 10 7 --mode incremental --overlap 40
    check_run "$DBK incremental, windowed: matches the source (oracle)" same_as_source "$T/$DBK-inc-w7"

    # rows that arrive between two windows: this run stops at the MAX(RowId) it read first (the month
    # ends 50 RowIds after its last gap, so the last window of 7 would reach past it unless clamped)
    local d=$T/$DBK-pause hold=$T/$DBK-hold
    cp -a "$full" "$d"
    rm -f "$hold" "$hold.reached"
    AQUACAST_TEST_WINDOW_PAUSE=$hold extract "$d.json" --out "$d" --window-rows 7 --mode incremental &
    local pid=$! i
    for i in $(seq 1 600); do [ -e "$hold.reached" ] && break; sleep 0.05; done
    check_run "$DBK pause: the run stopped after its first window" [ -e "$hold.reached" ]
    local before; before=$(sqlx "SELECT MAX(RowId) FROM $TBL")
    gen_late || nok "$DBK pause: insert rows between two windows"
    local added; added=$(sqlx "SELECT COUNT(*) FROM $TBL WHERE RowId > $before")
    touch "$hold"
    wait $pid
    check_run "$DBK pause: exit 0" [ $? -eq 0 ]
    check_run "$DBK pause: $added rows arrived between two windows" [ "$added" -gt 0 ]
    check_run "$DBK pause: watermark = MAX(RowId) before they arrived ($before)" [ "$(js "$d.json" watermark)" = "$before" ]
    check_run "$DBK pause: the same files as one statement before they arrived" same_ds "$T/$DBK-inc-one" "$d"
    check_run "$DBK pause: the same summary as one statement before they arrived" same_summary "$T/$DBK-inc-one.json" "$d.json"
    extract "$d.next.json" --out "$d" --window-rows 7 --mode incremental
    check_run "$DBK pause: the next run reads exactly the $added rows" [ "$(js "$d.next.json" rows_read)" = "$added" ]
    check_run "$DBK pause: then the dataset matches the source (oracle)" same_as_source "$d"
}

# ---- SQLite ----
DBK=sqlite
DB=$T/src.db
TBL=PORTAL_ConsumptionDaily
CONN="DRIVER=SQLite3;Database=$DB"
sqlx() { sqlite3 -cmd ".timeout 10000" "$DB" "$@"; }
extract() { local out=$1; shift; aquacast-extract --odbc "$CONN" --table PORTAL.ConsumptionDaily "$@" >"$out" 2>"$out.err"; }
same_as_source() {
    $ORACLE expect --sqlite "$DB" --table "$TBL" --counts "$T/counts.json" >"$T/expected.csv" &&
        dump_ds "$1" >"$T/actual.csv" 2>"$T/dump.err" && [ -s "$T/actual.csv" ] && $ORACLE compare "$T/expected.csv" "$T/actual.csv"
}
# 24 accounts in two clusters (1..12, 5000000..5000011) x days, in date order as a feed writes them
days_sql() { # FIRST LAST
    echo "WITH RECURSIVE d(j) AS (SELECT $1 UNION ALL SELECT j+1 FROM d WHERE j < $2),
        a(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM a WHERE i < 23)
        INSERT INTO $TBL (AccountOID, ConsumptionDate, Consumption)
        SELECT CASE WHEN i < 12 THEN i + 1 ELSE 4999988 + i END, date('2022-04-01', '+' || j || ' days'),
               CASE WHEN (i * 7 + j) % 31 = 0 THEN NULL ELSE ((i * 13 + j * 7) % 97) / 4.0 END
        FROM d, a ORDER BY j, i;"
}
gen_initial() {
    sqlx <sql/sqlite/001_consumption_daily.sql &&
        sqlx "$(days_sql 0 39)" &&
        sqlx "WITH RECURSIVE d(j) AS (SELECT 0 UNION ALL SELECT j+1 FROM d WHERE j < 59),
                  k(v) AS (SELECT 0 UNION ALL SELECT v+1 FROM k WHERE v < 2)
              INSERT INTO $TBL (AccountOID, ConsumptionDate, Consumption)
              SELECT 777, date('2022-04-01', '+' || j || ' days'), v * 10 + j / 8.0 FROM k, d ORDER BY v, j;
              INSERT INTO $TBL (RowId, AccountOID, ConsumptionDate, Consumption) VALUES (20000, 3, '2022-04-05', 9.5);
              INSERT INTO $TBL (AccountOID, ConsumptionDate, Consumption) VALUES
                  (5000005, '2022-04-07', -1.0), ('xx', '2022-04-02', 1.0), (4, '2022-04-08', 'abc'),
                  (6, 'notadate', 1.0), (12, '2022-04-09', 2.0), (12, '2022-04-09', 3.0);"
}
gen_month() {
    sqlx "$(days_sql 40 49)" &&
        sqlx "INSERT INTO $TBL (AccountOID, ConsumptionDate, Consumption) VALUES
                  (2, '2022-04-03', 111.0), (2, '2022-04-03', 112.0), (777, '2022-04-02', 7.0);
              INSERT INTO $TBL (RowId, AccountOID, ConsumptionDate, Consumption)
                  VALUES ((SELECT MAX(RowId) FROM $TBL) + 3000, 5000011, '2022-05-20', 4.0);" &&
        sqlx "$(days_sql 50 51)" && sqlx "INSERT INTO $TBL (AccountOID, ConsumptionDate, Consumption) VALUES (777, '2022-04-03', 8.0)"
}
gen_late() { sqlx "$(days_sql 52 53)"; }
suite

# ---- PostgreSQL ----
DBK=pg
CONN=$(tests/services/postgres.sh start) || { echo "not ok - cannot start PostgreSQL (tests/services/postgres.sh)"; exit 1; }
ok "postgres cluster started"
eval "$(tests/services/postgres.sh env)"
TBL=PORTAL.ConsumptionDaily
sqlx() { psql -X -q -At -v ON_ERROR_STOP=1 -c "$1"; }
extract() { local out=$1; shift; aquacast-extract --odbc "$CONN" "$@" >"$out" 2>"$out.err"; }
same_as_source() {
    psql -X -At -F, -c "SELECT RowId, AccountOID, ConsumptionDate, Consumption FROM $TBL" >"$T/src.csv" &&
        $ORACLE expect --csv "$T/src.csv" --counts "$T/counts.json" >"$T/expected.csv" &&
        dump_ds "$1" >"$T/actual.csv" 2>"$T/dump.err" && [ -s "$T/actual.csv" ] && $ORACLE compare "$T/expected.csv" "$T/actual.csv"
}
days_sql() {
    echo "INSERT INTO $TBL (AccountOID, ConsumptionDate, Consumption)
        SELECT CASE WHEN i < 12 THEN i + 1 ELSE 4999988 + i END, date '2022-04-01' + j,
               CASE WHEN (i * 7 + j) % 31 = 0 THEN NULL ELSE ((i * 13 + j * 7) % 97) / 4.0 END
        FROM generate_series($1, $2) j, generate_series(0, 23) i ORDER BY j, i"
}
resync() { sqlx "SELECT setval(pg_get_serial_sequence('portal.consumptiondaily', 'rowid'), (SELECT MAX(RowId) FROM $TBL))" >/dev/null; }
gen_initial() {
    psql -X -q -v ON_ERROR_STOP=1 -c "DROP SCHEMA IF EXISTS portal CASCADE" -f sql/postgres/001_consumption_daily.sql &&
        sqlx "$(days_sql 0 39)" &&
        sqlx "INSERT INTO $TBL (AccountOID, ConsumptionDate, Consumption)
              SELECT 777, date '2022-04-01' + j, v * 10 + j / 8.0 FROM generate_series(0, 2) v, generate_series(0, 59) j ORDER BY v, j" &&
        sqlx "INSERT INTO $TBL (RowId, AccountOID, ConsumptionDate, Consumption) VALUES (20000, 3, '2022-04-05', 9.5)" && resync &&
        sqlx "INSERT INTO $TBL (AccountOID, ConsumptionDate, Consumption) VALUES
                  (5000005, '2022-04-07', -1.0), (4, '2022-04-08', 'NaN'), (12, '2022-04-09', 2.0), (12, '2022-04-09', 3.0)"
}
gen_month() {
    sqlx "$(days_sql 40 49)" &&
        sqlx "INSERT INTO $TBL (AccountOID, ConsumptionDate, Consumption) VALUES
                  (2, '2022-04-03', 111.0), (2, '2022-04-03', 112.0), (777, '2022-04-02', 7.0)" &&
        sqlx "INSERT INTO $TBL (RowId, AccountOID, ConsumptionDate, Consumption)
                  VALUES ((SELECT MAX(RowId) FROM $TBL) + 3000, 5000011, '2022-05-20', 4.0)" && resync &&
        sqlx "$(days_sql 50 51)" && sqlx "INSERT INTO $TBL (AccountOID, ConsumptionDate, Consumption) VALUES (777, '2022-04-03', 8.0)"
}
gen_late() { sqlx "$(days_sql 52 53)"; }
suite
AQUACAST_LOG=debug extract "$T/pg-auto.json" --out "$T/pg-auto" --mode full
check_run "pg: by default one statement per reader through psqlODBC's server cursor" \
    grep -q "reader(s), one statement each" "$T/pg-auto.json.err"
# psqlODBC without a server cursor holds a whole result, like sqliteodbc (and inlines parameters as
# typed literals: the window probe must not take its OFFSET as one)
DBK=pg-nocursor
CONN="$CONN;UseDeclareFetch=0"
pair full - 20 7 --mode full --parts 4
pair full-rowid - 20 7 --mode full --parts 4 --order rowid
AQUACAST_LOG=debug extract "$T/pg-nocursor-auto.json" --out "$T/pg-nocursor-auto" --mode full
check_run "pg without a server cursor: windows by default" grep -q "reader(s), windows of 262144 rows" "$T/pg-nocursor-auto.json.err"

check_run "no window probe failed (every windowed read stayed windowed)" \
    bash -c "! grep -l 'cannot find where a window ends' '$T'/*.err"
[ "$fails" -eq 0 ]
