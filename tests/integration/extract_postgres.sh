#!/usr/bin/env bash
# extract_postgres.sh — aquacast-extract from PostgreSQL 15 through psqlODBC over TCP loopback:
# the bulk loader and DDL (test_odbc), full (typed SQL_C_TYPE_DATE binding, server-side
# cursor), incremental after a month with late corrections, parallel, bad rows, crash
# (kill -9) and rerun, wrong password; every dataset compared row for row with the source
# (psql dump + independent Python oracle). Starts a private cluster and stops it at the
# end; FAILS if it cannot start.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
. "$(dirname "$0")/../lib-extract.sh"
cd "$top"
T=$(mktemp -d "${AQ_TEST_TMP:-/tmp}/extract_pg.XXXXXX")
export AQ_PG_DIR=/var/tmp/aquacast-pg-$(id -u)/extract-test-$$
cleanup() {
    tests/services/postgres.sh destroy >/dev/null 2>&1
    [ -n "${AQ_KEEP:-}" ] || rm -rf "$T"
}
trap cleanup EXIT
ORACLE="python3 $top/tests/integration/extract_oracle.py"
VENV=$(scripts/venv.sh requirements/test.txt) || { echo "not ok - test venv"; exit 1; }
PYORACLE="$VENV/bin/python $top/tests/integration/extract_oracle.py"


CONN=$(tests/services/postgres.sh start) || { echo "not ok - cannot start PostgreSQL (tests/services/postgres.sh)"; exit 1; }
ok "postgres cluster started"
command -v aquacast-shard >/dev/null || { echo "not ok - aquacast-shard not built"; exit 1; }
eval "$(tests/services/postgres.sh env)"
SECRET=$PGPASSWORD
q() { psql -X -q -v ON_ERROR_STOP=1 "$@"; }

same_as_source() {
    psql -X -At -F, -c "SELECT RowId, AccountOID, ConsumptionDate, Consumption FROM PORTAL.ConsumptionDaily" >"$T/src.csv" &&
        $ORACLE expect --csv "$T/src.csv" --counts "$T/counts.json" >"$T/expected.csv" &&
        dump_ds "$1" >"$T/actual.csv" && [ -s "$T/actual.csv" ] && $ORACLE compare "$T/expected.csv" "$T/actual.csv"
}
js() { $ORACLE summary "$1" "$2"; }
cnt() { python3 -c "import json;print(json.load(open('$T/counts.json'))['$1'])"; }
extract() { local out=$1; shift; aquacast-extract --odbc "$CONN" "$@" >"$out" 2>"$out.err"; }
no_secret() { ! grep -rq "$SECRET" "$T"/*.json "$T"/*.err "$T"/ds*/_state 2>/dev/null; }

# ---- the loader and the DDL scripts, through the unit test binary ----
if [ -x build/dev/tests/test_odbc ]; then
    AQ_TEST_PG_CONN=$CONN build/dev/tests/test_odbc >"$T/unit.log" 2>&1
    check_run "bulk loader + sql/postgres DDL round trip (test_odbc)" grep -q "^ok - test_postgres_roundtrip" "$T/unit.log"
else
    nok "build/dev/tests/test_odbc not built"
fi

# ---- source: 150 accounts x 240 days (date order), plus bad rows ----
q -c "DROP SCHEMA IF EXISTS portal CASCADE" && q -f sql/postgres/001_consumption_daily.sql || { echo "not ok - create the source table"; exit 1; }
gen_days() { # first-day-offset, ndays, naccounts
    q -c "INSERT INTO PORTAL.ConsumptionDaily (AccountOID, ConsumptionDate, Consumption)
          SELECT 3200000 + a * 13, date '2022-04-01' + d,
                 CASE WHEN (a * 31 + d) % 89 = 0 THEN NULL ELSE round((random() * 100)::numeric, 3) END
          FROM generate_series($1, $1 + $2 - 1) d, generate_series(0, $3 - 1) a ORDER BY d, a"
}
gen_days 0 240 150
q -c "INSERT INTO PORTAL.ConsumptionDaily (AccountOID, ConsumptionDate, Consumption) VALUES
    (3200013, '2022-04-10', -2.5), (3200026, '1850-01-01', 1.0), (3200026, '2150-01-01', 1.0),
    (3200039, '2022-04-03', 'NaN'), (3200039, '2022-04-04', '-Infinity'), (3200052, '2022-05-01', 1e300),
    (3999999, '2022-06-01', 2.0), (3200065, 'infinity', 1.0), (3200065, '-infinity', 1.0)"

# ---- full ----
AQUACAST_LOG=debug extract "$T/full.json" --out "$T/ds" --parts 8 --mode full
check_run "full: exit 0" [ $? -eq 0 ]
check_run "full: matches the source row for row" same_as_source "$T/ds"
check_run "full: aquacast-shard verify (CRC, schema, sort order, partition)" bash -c "aquacast-shard verify '$T/ds' >'$T/verify.out' 2>&1"
for k in null nan negative bad_date duplicate; do
    check_run "full: rejected.$k = $(cnt $k)" [ "$(js "$T/full.json" rejected.$k)" = "$(cnt $k)" ]
done
check_run "full: rows and accounts" [ "$(js "$T/full.json" rows)" = "$(cnt rows)" -a "$(js "$T/full.json" accounts)" = "$(cnt accounts)" ]
check_run "full: psqlODBC runs with a server-side cursor (UseDeclareFetch=1;Fetch=N appended)" \
    grep -q "UseDeclareFetch=1;Fetch=10000" "$T/full.json.err"
check_run "full: dbms PostgreSQL" [ "$(js "$T/full.json" dbms)" = "PostgreSQL" ]
check_run "full: --parallel auto is 2 for a server on 2+ CPUs: 3 connections (psqlODBC options in the first connect)" \
    [ "$(js "$T/full.json" parallel)" = "$( [ "$(nproc)" -ge 2 ] && echo 2 || echo 1)" -a "$(grep -c "connected to '" "$T/full.json.err")" = "$( [ "$(nproc)" -ge 2 ] && echo 3 || echo 1)" ]
check_run "full: typed binding (auto) reads the date as integer days, RowId not read" \
    grep -q "SELECT AccountOID, CASE WHEN isfinite(ConsumptionDate) THEN ConsumptionDate - DATE '1970-01-01' END, Consumption FROM" "$T/full.json.err"
check_run "full: bad-row samples name account, date, value and the slice's RowId range" \
    grep -q "bad row (negative): RowId in (0, [0-9]*\], account '3200013', date '2022-04-10', consumption '-2.5'" "$T/full.json.err"
cp -a "$T/ds" "$T/ds_before_month"

# ---- a month + late corrections, incremental ----
gen_days 240 30 150
q -c "INSERT INTO PORTAL.ConsumptionDaily (AccountOID, ConsumptionDate, Consumption)
      SELECT AccountOID, ConsumptionDate, Consumption + 1000 FROM PORTAL.ConsumptionDaily
      WHERE ConsumptionDate = '2022-04-05' AND AccountOID < 3200500 AND RowId <= $(js "$T/full.json" watermark)"
new_rows=$(psql -X -At -c "SELECT COUNT(*) FROM PORTAL.ConsumptionDaily WHERE RowId > $(js "$T/full.json" watermark)")
extract "$T/inc.json" --out "$T/ds" --mode incremental
check_run "incremental: exit 0, read $new_rows new rows" [ $? -eq 0 -a "$(js "$T/inc.json" rows_read)" = "$new_rows" ]
cp -a "$T/ds_before_month" "$T/ds_inc1"
AQUACAST_LOG=debug extract "$T/inc1.json" --out "$T/ds_inc1" --mode incremental --parallel 1
check_run "incremental --parallel 1: one connection, borrowed by the reader" [ "$(grep -c "connected to '" "$T/inc1.json.err")" = 1 ]
check_run "incremental --parallel 1: matches the source" same_as_source "$T/ds_inc1"
check_run "incremental: matches the source (late corrections win)" same_as_source "$T/ds"
dump_ds "$T/ds" >"$T/reference.csv" && [ -s "$T/reference.csv" ] || { echo "not ok - cannot dump the reference dataset"; exit 1; }
check_run "pyarrow reads the dataset like aquacast-shard" bash -c "$PYORACLE dataset '$T/ds' | cmp -s - '$T/reference.csv'"
ls "$T/ds/readings/"part=*/ | grep parquet | sed 's/^[0-9]*-//' | sort >"$T/reference.files"

# ---- parallel, shared writer, RowId order, text binding ----
extract "$T/par.json" --out "$T/ds_par" --parts 8 --mode full --parallel 2
check_run "parallel 2: matches the source" same_as_source "$T/ds_par"
check_run "parallel 2: aquacast-shard verify" bash -c "aquacast-shard verify '$T/ds_par' >'$T/verify.out' 2>&1"
extract "$T/parsh.json" --out "$T/ds_parsh" --parts 8 --mode full --parallel 2 --shared-writer --split modulo
check_run "parallel 2, shared writer, modulo split: matches the source" same_as_source "$T/ds_parsh"
extract "$T/rowid.json" --out "$T/ds_rowid" --parts 8 --mode full --order rowid --fetch-rows 1000
check_run "RowId order, fetch 1000: matches the source" same_as_source "$T/ds_rowid"
check_run "RowId order: aquacast-shard verify" bash -c "aquacast-shard verify '$T/ds_rowid' >'$T/verify.out' 2>&1"
extract "$T/text.json" --out "$T/ds_text" --parts 8 --mode full --bind text
check_run "text binding: matches the source" same_as_source "$T/ds_text"
AQUACAST_LOG=debug extract "$T/packed.json" --out "$T/ds_packed" --parts 8 --mode full --bind packed --parallel 2
check_run "packed binding, parallel 2: matches the source" same_as_source "$T/ds_packed"
check_run "packed binding: one 'account,days,value' column, RowId not read" \
    grep -q "SELECT COALESCE(CAST(AccountOID AS text), '') || ',' || COALESCE(CAST(CASE WHEN isfinite(ConsumptionDate) THEN ConsumptionDate - DATE '1970-01-01' END AS text), '') || ',' || COALESCE(CAST(Consumption AS text), '') FROM" "$T/packed.json.err"
for k in null nan negative bad_date duplicate; do
    check_run "packed binding: rejected.$k = $(cnt $k)" [ "$(js "$T/packed.json" rejected.$k)" = "$(cnt $k)" ]
done
check_run "packed binding: samples name account, date and value" \
    grep -q "bad row (negative): RowId in (0, [0-9]*\], account '3200013', date '2022-04-10', consumption '-2.5'" "$T/packed.json.err"
extract "$T/packed_rowid.json" --out "$T/ds_packed_rowid" --parts 8 --mode full --bind packed --order rowid --parallel 2 --shared-writer
check_run "packed binding, RowId order, parallel 2, shared writer: matches the source" same_as_source "$T/ds_packed_rowid"

# ---- crash (kill -9) and rerun ----
crash_case pending pending
crash_case rows rows:2048
crash_case closed closed
crash_case random '' "0.$((RANDOM % 3))$((RANDOM % 10))" # a kill -9 after 0-290 ms

# ---- errors ----
aquacast-extract --odbc "${CONN/PWD=$SECRET/PWD=wrong-pw-123}" --out "$T/ds_bad" >"$T/badpw.json" 2>"$T/badpw.json.err"
check_run "wrong password: exit 1" [ $? -eq 1 ]
check_run "wrong password: SQLSTATE and driver message" grep -qE '\[08001\].*password authentication failed' "$T/badpw.json.err"
check_run "wrong password: not echoed" bash -c "! grep -q wrong-pw-123 '$T/badpw.json' '$T/badpw.json.err'"
extract "$T/notable.json" --out "$T/ds_bad2" --table PORTAL.NoSuchTable
check_run "missing table: exit 1 with [42P01]" [ $? -eq 1 ] && check_run "missing table: message" grep -q '\[42P01\]' "$T/notable.json.err"
check_run "password never in logs, summaries or state" no_secret

[ $fails -eq 0 ]
