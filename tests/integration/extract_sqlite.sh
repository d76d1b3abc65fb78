#!/usr/bin/env bash
# extract_sqlite.sh — aquacast-extract from SQLite over unixODBC (driver SQLite3): full,
# incremental with late corrections, parallel, bad rows, crash (kill -9) and rerun;
# every dataset compared row for row with the source (aquacast-shard to-csv vs an
# independent Python oracle reading the SQLite file directly).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-extract.sh"
cd "$top"
T=$(mktemp -d "${AQ_TEST_TMP:-/tmp}/extract_sqlite.XXXXXX")
trap '[ -n "${AQ_KEEP:-}" ] || rm -rf "$T"' EXIT
ORACLE="python3 $top/tests/integration/extract_oracle.py"
SECRET=sqlite-test-secret-42
DB=$T/src.db
CONN="DRIVER=SQLite3;Database=$DB;PWD=$SECRET"
TABLE=PORTAL_ConsumptionDaily


# pyarrow reads the reference dataset once more, independently (interop check).
VENV=$(scripts/venv.sh requirements/test.txt) || { echo "not ok - test venv"; exit 1; }
PYORACLE="$VENV/bin/python $top/tests/integration/extract_oracle.py"
same_as_source() { # dataset, label
    $ORACLE expect --sqlite "$DB" --table "$TABLE" --counts "$T/counts.json" >"$T/expected.csv" &&
        dump_ds "$1" >"$T/actual.csv" && $ORACLE compare "$T/expected.csv" "$T/actual.csv"
}
js() { $ORACLE summary "$1" "$2"; }
extract() { # out-json, args...
    local out=$1; shift
    aquacast-extract --odbc "$CONN" --table PORTAL.ConsumptionDaily "$@" >"$out" 2>"$out.err"
}
no_secret() { ! grep -rq "$SECRET" "$T"/*.json "$T"/*.err "$T"/ds*/_state 2>/dev/null; }

for b in aquacast-extract aquacast-shard sqlite3; do
    command -v $b >/dev/null || { echo "not ok - '$b' not found"; exit 1; }
done

# ---- source: 120 accounts x 240 days in date order, plus every kind of bad row ----
sqlite3 "$DB" <sql/sqlite/001_consumption_daily.sql || { echo "not ok - create the source table"; exit 1; }
gen_days() { # first-day-offset, ndays, naccounts
    sqlite3 "$DB" "WITH RECURSIVE d(j) AS (SELECT $1 UNION ALL SELECT j+1 FROM d WHERE j < $1 + $2 - 1),
        a(i) AS (SELECT 0 UNION ALL SELECT i+1 FROM a WHERE i < $3 - 1)
        INSERT INTO $TABLE (AccountOID, ConsumptionDate, Consumption)
        SELECT 3100000 + i * 7, date('2022-04-01', '+' || j || ' days'),
               CASE WHEN (i * 31 + j) % 97 = 0 THEN NULL ELSE round(abs(random() % 100000) / 1000.0, 3) END
        FROM d, a ORDER BY j, i;"
}
gen_days 0 240 120
sqlite3 "$DB" "INSERT INTO $TABLE (AccountOID, ConsumptionDate, Consumption) VALUES
    (3100007, '2022-04-10', -2.5),          -- negative: kept as NaN, and a duplicate of an old row
    (3100014, '1850-01-01', 1.0),           -- bad_date (too old)
    (3100014, '2150-01-01', 1.0),           -- bad_date (too late)
    (3100014, 'notadate', 1.0),             -- bad_date (text)
    (3100014, 20220401, 1.0),               -- bad_date (an integer in a DATE column)
    ('xx', '2022-04-05', 1.0),              -- bad_account
    (3100021, '2022-04-03', 'abc'),         -- non_numeric (dynamic typing)
    (3100021, '2022-04-04', '1.25'),        -- numeric text: fine
    (3100021, '2022-04-05', 'NaN'),         -- nan
    (3100028, '2022-05-01 00:00:00', 3.5),  -- date with a time part: that day
    (3999999, '2022-06-01', 2.0);           -- an account with a single reading"

# ---- full extract ----
extract "$T/full.json" --out "$T/ds" --parts 8 --mode full
check_run "full: exit 0" [ $? -eq 0 ]
check_run "full: matches the source row for row" same_as_source "$T/ds"
check_run "full: aquacast-shard verify (CRC, schema, sort order, partition)" bash -c "aquacast-shard verify '$T/ds' >'$T/verify.out' 2>&1"
for k in null nan negative non_numeric bad_date bad_account duplicate; do
    want=$(python3 -c "import json;print(json.load(open('$T/counts.json'))['$k'])")
    got=$(js "$T/full.json" "rejected.$k")
    check_run "full: rejected.$k = $want (got $got)" [ "$want" = "$got" ]
done
want_rows=$(python3 -c "import json;print(json.load(open('$T/counts.json'))['rows'])")
check_run "full: rows ($want_rows) and accounts (121) in the summary" [ "$(js "$T/full.json" rows)" = "$want_rows" -a "$(js "$T/full.json" accounts)" = "121" ]
check_run "full: watermark = MAX(RowId)" [ "$(js "$T/full.json" watermark)" = "$(sqlite3 "$DB" "SELECT MAX(RowId) FROM $TABLE")" ]
check_run "full: bad-row samples logged with RowId" grep -q "bad row (non_numeric): RowId [0-9]*, account '3100021', date '2022-04-03'" "$T/full.json.err"
check_run "full: state file written" grep -q '"pending": null' "$T/ds/_state/extract.json"

# ---- nothing new: an incremental run adds nothing ----
extract "$T/noop.json" --out "$T/ds"
check_run "incremental with nothing new: 0 rows" [ $? -eq 0 -a "$(js "$T/noop.json" rows)" = "0" -a "$(js "$T/noop.json" slices)" = "0" ]

cp -a "$T/ds" "$T/ds_before_month" # the starting point of the crash tests

# ---- append a month + late corrections of old dates, then incremental ----
gen_days 240 30 120
sqlite3 "$DB" "INSERT INTO $TABLE (AccountOID, ConsumptionDate, Consumption)
    SELECT AccountOID, ConsumptionDate, 111.0 FROM $TABLE WHERE ConsumptionDate = '2022-04-02' AND AccountOID < 3100100;
    INSERT INTO $TABLE (AccountOID, ConsumptionDate, Consumption) VALUES (3100035, '2022-04-02', 5.0), (3100035, '2022-04-02', 6.0);"
new_rows=$(sqlite3 "$DB" "SELECT COUNT(*) FROM $TABLE WHERE RowId > $(js "$T/full.json" watermark)")
AQUACAST_LOG=debug extract "$T/inc.json" --out "$T/ds" --mode incremental
cp "$T/inc.json.err" "$T/incdbg.err"
check_run "incremental: exit 0" [ $? -eq 0 ]
check_run "incremental: read only the new rows ($new_rows)" [ "$(js "$T/inc.json" rows_read)" = "$new_rows" ]
check_run "incremental: matches the source (late corrections win)" same_as_source "$T/ds"
# (3100035, 2022-04-02) arrives three times in the slice: two duplicates
check_run "incremental: within-slice duplicates counted" [ "$(js "$T/inc.json" rejected.duplicate)" = "2" ]
dump_ds "$T/ds" >"$T/reference.csv" && [ -s "$T/reference.csv" ] || { echo "not ok - cannot dump the reference dataset"; exit 1; }
check_run "pyarrow reads the dataset like the oracle expects" bash -c "$PYORACLE dataset '$T/ds' | cmp -s - '$T/expected.csv'"
ls "$T/ds/readings/"part=*/ | grep parquet | sed 's/^[0-9]*-//' | sort >"$T/reference.files"

# ---- parallel, shared writer, RowId order, typed binding: same dataset ----
extract "$T/par.json" --out "$T/ds_par" --parts 8 --mode full --parallel 2
check_run "parallel 2 (writer per thread, range split): matches the source" same_as_source "$T/ds_par"
check_run "parallel 2: aquacast-shard verify" bash -c "aquacast-shard verify '$T/ds_par' >'$T/verify.out' 2>&1"
extract "$T/parsh.json" --out "$T/ds_parsh" --parts 4 --mode full --parallel 3 --shared-writer --split modulo
check_run "parallel 3 (shared writer, modulo split): matches the source" same_as_source "$T/ds_parsh"
extract "$T/rowid.json" --out "$T/ds_rowid" --parts 8 --mode full --order rowid --fetch-rows 777
check_run "order by RowId, odd fetch size: matches the source" same_as_source "$T/ds_rowid"
check_run "order by RowId: aquacast-shard verify" bash -c "aquacast-shard verify '$T/ds_rowid' >'$T/verify.out' 2>&1"
check_run "order by RowId: duplicates counted all the same" [ "$(js "$T/rowid.json" rejected.duplicate)" = "$(python3 -c "import json;print(json.load(open('$T/counts.json'))['duplicate'])")" ]
check_run "incremental slices read in RowId order (auto)" grep -q "ORDER BY RowId" "$T/incdbg.err"
check_run "parallel: same accounts as serial" [ "$(js "$T/par.json" accounts)" = "$(js "$T/parsh.json" accounts)" ]

# typed binding (SQL_C_TYPE_DATE / SQL_C_DOUBLE) on a copy without the dynamic-typing rows
cp "$DB" "$T/clean.db"
sqlite3 "$T/clean.db" "DELETE FROM $TABLE WHERE typeof(Consumption) = 'text' OR ConsumptionDate NOT LIKE '____-__-__' OR typeof(AccountOID) <> 'integer' OR NOT (ConsumptionDate BETWEEN '1990-01-01' AND '2100-12-31')"
aquacast-extract --odbc "DRIVER=SQLite3;Database=$T/clean.db" --out "$T/ds_typed" --mode full --bind typed >"$T/typed.json" 2>"$T/typed.json.err"
rc=$?
aquacast-extract --odbc "DRIVER=SQLite3;Database=$T/clean.db" --out "$T/ds_text" --mode full --bind text >"$T/text.json" 2>"$T/text.json.err"
check_run "typed binding: exit 0" [ $rc -eq 0 ]
typed_eq_text() { dump_ds "$T/ds_typed" >"$T/a.csv" && dump_ds "$T/ds_text" >"$T/b.csv" && [ -s "$T/a.csv" ] && $ORACLE compare "$T/a.csv" "$T/b.csv"; }
check_run "typed and text binding give the same dataset" typed_eq_text

# ---- a late commit: RowIds below the watermark that become visible after a run; --overlap ----
# A loader transaction takes RowIds M-3..M-1 at insert but commits after an extract has read
# M: simulated by deleting those rows before the run and putting them back (same RowIds)
# after it. Without an overlap they are never read; --overlap 10 re-reads them.
cp "$DB" "$T/late.db"
LCONN="DRIVER=SQLite3;Database=$T/late.db"
sqlite3 "$T/late.db" "INSERT INTO $TABLE (AccountOID, ConsumptionDate, Consumption)
    SELECT AccountOID, '2023-01-01', 7.0 FROM $TABLE WHERE ConsumptionDate = '2022-04-02' ORDER BY AccountOID;"
lmax=$(sqlite3 "$T/late.db" "SELECT MAX(RowId) FROM $TABLE")
sqlite3 "$T/late.db" "CREATE TABLE held AS SELECT * FROM $TABLE WHERE RowId BETWEEN $lmax - 3 AND $lmax - 1;
    DELETE FROM $TABLE WHERE RowId BETWEEN $lmax - 3 AND $lmax - 1;"
aquacast-extract --odbc "$LCONN" --out "$T/ds_late" --parts 4 --mode full >"$T/late0.json" 2>"$T/late0.json.err"
sqlite3 "$T/late.db" "INSERT INTO $TABLE SELECT * FROM held; DROP TABLE held;
    INSERT INTO $TABLE (AccountOID, ConsumptionDate, Consumption) VALUES (3100007, '2023-01-02', 8.0);"
cp -a "$T/ds_late" "$T/ds_late_ov"
aquacast-extract --odbc "$LCONN" --out "$T/ds_late" >"$T/late1.json" 2>"$T/late1.json.err"
aquacast-extract --odbc "$LCONN" --out "$T/ds_late_ov" --overlap 10 >"$T/late2.json" 2>"$T/late2.json.err"
late_same() { # dataset: matches late.db
    $ORACLE expect --sqlite "$T/late.db" --table "$TABLE" --counts "$T/late_counts.json" >"$T/late_expected.csv" &&
        dump_ds "$1" >"$T/late_actual.csv" && $ORACLE compare "$T/late_expected.csv" "$T/late_actual.csv"
}
late_missed() { ! late_same "$T/ds_late" >/dev/null 2>&1; }
check_run "late commit, no overlap: the 3 late rows are missed (the documented limit)" late_missed
check_run "late commit, --overlap 10: exit 0, read from watermark - 10" [ "$(js "$T/late2.json" read_from)" = "$(($(js "$T/late0.json" watermark) - 10))" ]
check_run "late commit, --overlap 10: matches the source" late_same "$T/ds_late_ov"
check_run "late commit, --overlap 10: aquacast-shard verify" bash -c "aquacast-shard verify '$T/ds_late_ov' >'$T/verify.out' 2>&1"
aquacast-extract --odbc "$LCONN" --out "$T/ds_late_ov" --overlap 10 >"$T/late3.json" 2>"$T/late3.json.err"
check_run "--overlap with nothing new above the watermark: no slice" [ "$(js "$T/late3.json" slices)" = "0" ]
sqlite3 "$T/late.db" "INSERT INTO $TABLE (AccountOID, ConsumptionDate, Consumption) VALUES (3100014, '2023-01-03', 9.0);"
aquacast-extract --odbc "$LCONN" --out "$T/ds_late_ov" --overlap 10 >"$T/late4.json" 2>"$T/late4.json.err"
check_run "--overlap: the late rows re-read a second time (11 rows read)" [ "$(js "$T/late4.json" rows_read)" = "11" ]
check_run "--overlap re-read twice: still matches the source" late_same "$T/ds_late_ov"

# ---- crash at several points (kill -9), rerun, same dataset as the uninterrupted run ----
crash_case_sqlite() { # name, env value ('' = a kill -9 after 10-90 ms): crash_case, then the watermark
    crash_case "$1" "$2" "0.0$((RANDOM % 9 + 1))"
    check_run "crash '$1': watermark at MAX(RowId)" grep -q "\"watermark\": $(sqlite3 "$DB" "SELECT MAX(RowId) FROM $TABLE")," "$T/ds_crash_$1/_state/extract.json"
}
crash_case_sqlite pending pending
crash_case_sqlite rows "rows:2048"
crash_case_sqlite closed closed
crash_case_sqlite random1 ''
crash_case_sqlite random2 ''
check_run "crash 'pending': the rerun redid the pending slice" grep -q '"resumed":true' "$T/rerun_pending.json"
check_run "crash 'closed': the rerun redid the pending slice" grep -q '"resumed":true' "$T/rerun_closed.json"

# ---- errors and safety ----
aquacast-extract --odbc "$CONN" --table 'PORTAL.x;DROP TABLE y' --out "$T/ds_bad" >"$T/badname.json" 2>"$T/badname.json.err"
check_run "bad table name refused (exit 1)" [ $? -eq 1 ] && check_run "bad table name: message" grep -q "bad table name" "$T/badname.json.err"
aquacast-extract --odbc "$CONN" --table PORTAL.NoSuchTable --out "$T/ds_bad2" >"$T/notable.json" 2>"$T/notable.json.err"
check_run "missing table: exit 1 with the driver message" [ $? -eq 1 ] && check_run "missing table: SQLSTATE shown" grep -qE '\[[0-9A-Z]{5}\].*no such table' "$T/notable.json.err"
aquacast-extract --odbc "DRIVER=NoSuchDriver;PWD=$SECRET" --out "$T/ds_bad3" >"$T/nodriver.json" 2>"$T/nodriver.json.err"
check_run "unknown driver: exit 1" [ $? -eq 1 ]
check_run "password never in logs, summaries or state" no_secret
AQUACAST_ODBC=$CONN aquacast-extract --out "$T/ds_env" --mode full >"$T/env.json" 2>"$T/env.json.err"
check_run "connection string from \$AQUACAST_ODBC" [ $? -eq 0 -a "$(js "$T/env.json" rows)" = "$(js "$T/par.json" rows)" ]
printf '[aq_extract_test]\nDriver = SQLite3\nDatabase = %s\n' "$DB" >"$T/odbc.ini"
ODBCINI=$T/odbc.ini aquacast-extract --odbc aq_extract_test --out "$T/ds_dsn" --mode full >"$T/dsn.json" 2>"$T/dsn.json.err"
check_run "a DSN name (no '=') connects through odbc.ini" [ $? -eq 0 -a "$(js "$T/dsn.json" rows)" = "$(js "$T/par.json" rows)" ]
aquacast-extract --out "$T/x" >/dev/null 2>&1
check_run "no source: usage exit 2" [ $? -eq 2 ]
check_run "--help exits 0" bash -c "aquacast-extract --help >/dev/null"

[ $fails -eq 0 ]
