#!/usr/bin/env bash
# edges.sh — edges a user hits (issue 11, part 5): stream-replay seed into a table that already
# holds the seeded days, a SQLite path that does not exist, empty inputs (CSV, dataset, --until,
# --accounts, update without new days), SIGTERM and --idle-timeout while no broker answers.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
aq_workspace edges
export AQ_KAFKA_DIR=$tmp/kafka
aq_snapshot_bins aquacast-extract aquacast-stream-replay aquacast-synth aquacast-train aquacast-evaluate
cleanup() {
    [ -n "${kafka_up:-}" ] && "$top/tests/services/kafka.sh" stop >/dev/null 2>&1
    [ "$fails" -eq 0 ] && rm -rf "$tmp"
}
trap cleanup EXIT
command -v sqlite3 >/dev/null || { nok "sqlite3 is installed (scripts/install-deps.sh)"; exit 1; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
now() { date +%s.%N; }
elapsed() { python3 -c "import sys; print(f'{float(sys.argv[2]) - float(sys.argv[1]):.2f}')" "$1" "$2"; }
lt() { python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) < float(sys.argv[2]) else 1)" "$1" "$2"; }

aquacast-synth --accounts 30 --days 80 --seed 3 --csv "$tmp/src.csv" >/dev/null 2>&1 || { nok "synth makes the source"; exit 1; }

# ---- 1. seed into a table that already holds the seeded days ----
db=$tmp/portal.db
CONN="DRIVER=SQLite3;Database=$db"
T=PORTAL_ConsumptionDaily
seed() { aquacast-stream-replay seed --csv "$tmp/src.csv" --db "$CONN" "$@"; }
seed --schema "$top/sql" >"$tmp/seed1.json" 2>"$tmp/seed1.log"
check "seed: first load exits 0" "[ $? -eq 0 ]"
n1=$(sqlite3 "$db" "select count(*) from $T")
range=$(sqlite3 "$db" "select min(ConsumptionDate) || '..' || max(ConsumptionDate) from $T")
seed >"$tmp/seed2.json" 2>"$tmp/seed2.log"; rc=$?
check "seed: again into the same days is refused (exit $rc)" "[ $rc -eq 1 ]"
check "seed: the refusal names the table, the count and the days" \
    "grep -q \"table 'PORTAL.ConsumptionDaily' already holds $n1 readings in $range; use --append or --replace\" '$tmp/seed2.log'"
check "seed: the refusal is in the summary" "last_json '$tmp/seed2.json' | grep -q '\"error\":\"table'"
check "seed: a refused seed loads nothing ($n1 rows)" "[ \"\$(sqlite3 '$db' 'select count(*) from $T')\" = '$n1' ]"
seed --replace >"$tmp/seed3.json" 2>"$tmp/seed3.log"; rc=$?
check "seed --replace: exit 0, the table holds the seeded days once ($n1 rows)" \
    "[ $rc -eq 0 ] && [ \"\$(sqlite3 '$db' 'select count(*) from $T')\" = '$n1' ]"
sqlite3 "$db" "insert into $T (AccountOID, ConsumptionDate, Consumption) values (3999999, '2030-01-01', 1.0)"
seed --replace >/dev/null 2>&1
check "seed --replace: rows outside the seeded days are kept" \
    "[ \"\$(sqlite3 '$db' \"select count(*) from $T where ConsumptionDate = '2030-01-01'\")\" = 1 ]"
seed --append >"$tmp/seed4.json" 2>"$tmp/seed4.log"; rc=$?
check "seed --append: exit 0, the rows twice ($((2 * n1 + 1)))" \
    "[ $rc -eq 0 ] && [ \"\$(sqlite3 '$db' 'select count(*) from $T')\" = '$((2 * n1 + 1))' ]"
check "seed --append: a warning names what was there" "grep -q 'already holds $n1 readings in $range: appending' '$tmp/seed4.log'"
seed --append --replace >/dev/null 2>&1
check "seed: --append with --replace is a usage error" "[ $? -eq 2 ]"

# ---- 2. a SQLite path that does not exist ----
missing=$tmp/nodir/missing.db
aquacast-extract --odbc "DRIVER=SQLite3;Database=$missing" --table PORTAL.ConsumptionDaily --out "$tmp/xds" \
    >"$tmp/x.json" 2>"$tmp/x.log"; rc=$?
check "extract: missing SQLite file fails (exit $rc)" "[ $rc -eq 1 ]"
check "extract: says 'cannot open SQLite database ...: no such file'" \
    "grep -q \"cannot open SQLite database '$missing': no such file\" '$tmp/x.log'"
check "extract: creates neither the database nor the output dataset" "[ ! -e '$missing' ] && [ ! -e '$tmp/xds' ] && [ ! -e '$tmp/nodir' ]"
missing2=$tmp/missing2.db
aquacast-extract --odbc "DRIVER=SQLite3;Database=$missing2" --table PORTAL.ConsumptionDaily --out "$tmp/xds2" >/dev/null 2>&1
check "extract: no empty file beside an existing directory either" "[ ! -e '$missing2' ] && [ ! -e '$tmp/xds2' ]"
aquacast-stream-replay run --odbc "DRIVER=SQLite3;Database=$missing2" --brokers 127.0.0.1:1 >/dev/null 2>"$tmp/rr.log"
check "stream-replay --odbc: says so and creates no file" \
    "grep -q \"cannot open SQLite database '$missing2': no such file\" '$tmp/rr.log' && [ ! -e '$missing2' ]"
aquacast-stream-replay seed --csv "$tmp/src.csv" --db "DRIVER=SQLite3;Database=$missing2" >/dev/null 2>"$tmp/rs.log"
check "stream-replay seed without --schema: says so and creates no file" \
    "grep -q \"cannot open SQLite database '$missing2': no such file\" '$tmp/rs.log' && [ ! -e '$missing2' ]"
aquacast-stream-replay seed --csv "$tmp/src.csv" --db "DRIVER=SQLite3;Database=$missing2" --schema "$top/sql" >/dev/null 2>&1
check "stream-replay seed --schema still creates a new database" "[ \"\$(sqlite3 '$missing2' 'select count(*) from $T')\" = '$n1' ]"

# ---- 3. empty inputs ----
: >"$tmp/empty.csv"
echo "ConsumptionDate,AccountOID,Consumption" >"$tmp/header.csv"
for f in empty header; do
    aquacast-stream-replay seed --csv "$tmp/$f.csv" --db "$CONN" >/dev/null 2>"$tmp/$f.log"; rc=$?
    check "stream-replay: $f CSV fails 'no readings in' naming it (exit $rc)" \
        "[ $rc -eq 1 ] && grep -q \"no readings in '$tmp/$f.csv'\" '$tmp/$f.log'"
done
aquacast-synth --from-csv "$tmp/header.csv" --out "$tmp/fromcsv" >/dev/null 2>"$tmp/fc.log"; rc=$?
check "synth --from-csv: header-only CSV fails 'no readings in' (exit $rc)" \
    "[ $rc -eq 1 ] && grep -q \"no readings in '$tmp/header.csv'\" '$tmp/fc.log'"
edb=$tmp/emptytable.db
sqlite3 "$edb" <"$top/sql/sqlite/001_consumption_daily.sql"
aquacast-extract --odbc "DRIVER=SQLite3;Database=$edb" --table PORTAL.ConsumptionDaily --out "$tmp/eds" --parts 4 >/dev/null 2>&1
aquacast-synth --accounts 30 --days 80 --seed 3 --out "$tmp/ds" --parts 4 >/dev/null 2>&1
aquacast-train --readings "$tmp/eds" --out "$tmp/m0" >"$tmp/t0.json" 2>"$tmp/t0.log"; rc=$?
check "train: empty readings dataset fails naming it (exit $rc)" \
    "[ $rc -eq 1 ] && grep -q \"no readings in dataset '$tmp/eds'\" '$tmp/t0.log' && [ ! -e '$tmp/m0' ]"
aquacast-train --readings "$tmp/ds" --out "$tmp/m1" --until 2020-01-01 >/dev/null 2>"$tmp/t1.log"; rc=$?
check "train: --until before the first reading fails naming option and value (exit $rc)" \
    "[ $rc -eq 1 ] && grep -q \"\\-\\-until 2020-01-01 is before the first reading (2022-04-01)\" '$tmp/t1.log' && [ ! -e '$tmp/m1' ]"
aquacast-train --readings "$tmp/ds" --out "$tmp/m2" --accounts 17,42 >/dev/null 2>"$tmp/t2.log"; rc=$?
check "train: --accounts matching nothing fails naming option and value (exit $rc)" \
    "[ $rc -eq 1 ] && grep -q \"\\-\\-accounts 17,42 matches no account of '$tmp/ds'\" '$tmp/t2.log' && [ ! -e '$tmp/m2' ]"
acct=$(aquacast-shard head "$tmp/ds" 2>/dev/null | sed -n 2p | cut -d, -f2)
aquacast-train --readings "$tmp/ds" --out "$tmp/m3" --accounts "17,$acct" >"$tmp/t3.json" 2>/dev/null
check "train: --accounts with one match trains it" "[ $? -eq 0 ] && last_json '$tmp/t3.json' | grep -q '\"accounts\":1,'"
aquacast-train --readings "$tmp/ds" --out "$tmp/m4" >/dev/null 2>&1
aquacast-train --readings "$tmp/ds" --out "$tmp/m5" --prev "$tmp/m4" --mode update >"$tmp/t5.json" 2>"$tmp/t5.log"; rc=$?
check "train --mode update without new days: exit 0 ($rc)" "[ $rc -eq 0 ]"
check "train --mode update without new days: a warning" "grep -q 'warning: no new days after the previous model set' '$tmp/t5.log'"
check "train --mode update without new days: summary \"new_days\":0" "last_json '$tmp/t5.json' | grep -q '\"new_days\":0'"
aquacast-evaluate --models "$tmp/m4" --readings "$tmp/eds" --out "$tmp/ev" >"$tmp/ev.json" 2>"$tmp/ev.log"; rc=$?
check "evaluate: empty readings dataset fails naming it (exit $rc)" \
    "[ $rc -ne 0 ] && grep -q \"no readings in dataset '$tmp/eds'\" '$tmp/ev.log'"

# ---- 4. SIGTERM and --idle-timeout while no broker answers ----
dead=127.0.0.1:$(free_port)
term_within() { # name, limit seconds, json, command...
    local name=$1 limit=$2 json=$3 p t1 t2 rc; shift 3
    "$@" >"$json" 2>"$json.log" &
    p=$!
    sleep 1
    t1=$(now); kill -TERM $p; wait $p; rc=$?; t2=$(now)
    local dt; dt=$(elapsed "$t1" "$t2")
    echo "# $name: exit $rc ${dt} s after SIGTERM"
    check "$name: exits within ${limit} s of SIGTERM (${dt} s, exit $rc)" "lt $dt $limit"
    check "$name: summary line says stopped" "last_json '$json' | grep -q '\"stopped\":true'"
}
term_within "ingest, no broker" 3 "$tmp/ing.json" \
    aquacast-extract --kafka "$dead" --topic t --group g --out "$tmp/ids"
term_within "stream-replay run, no broker" 3 "$tmp/rep.json" \
    aquacast-stream-replay run --csv "$tmp/src.csv" --brokers "$dead"
t1=$(now)
aquacast-extract --kafka "$dead" --topic t --group g --out "$tmp/ids2" --idle-timeout 2 >"$tmp/idd.json" 2>"$tmp/idd.log"; rc=$?
dt=$(elapsed "$t1" "$(now)")
check "ingest --idle-timeout 2, no broker: gives up within 4 s (${dt} s, exit $rc) with the summary" \
    "lt $dt 4 && last_json '$tmp/idd.json' | grep -q '\"error\":\"cannot read metadata'"

B=$("$top/tests/services/kafka.sh" start) || { nok "kafka starts"; exit 1; }
kafka_up=1
ok "kafka starts ($B)"
t1=$(now)
aquacast-extract --kafka "$B" --topic edges.empty --group ge --out "$tmp/ids3" --idle-timeout 2 >"$tmp/idl.json" 2>"$tmp/idl.log"; rc=$?
dt=$(elapsed "$t1" "$(now)")
echo "# idle-timeout 2 on an empty topic: exit $rc after $dt s"
# the bound proves the idle timeout ends the run (no hang); it is loose because a broker started a
# moment ago on a loaded 2-core machine takes seconds to create the topic and join the group
check "ingest --idle-timeout 2, empty topic: exit 0 within 20 s (${dt} s; topic creation and group join included)" \
    "[ $rc -eq 0 ] && lt $dt 20 && last_json '$tmp/idl.json' | grep -q '\"lag\":0'"
[ "$fails" -eq 0 ]
