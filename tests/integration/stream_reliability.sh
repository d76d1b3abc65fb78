#!/usr/bin/env bash
# stream_reliability.sh — replay → real Kafka → ingest: kill -9 of the ingest, a broker restart, malformed messages.
# Every reading of the source's stream part must be in the dataset exactly once (latest-wins merge),
# checked against the source CSV with DuckDB (count, missing, extra, conflicting values).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
ingest=${AQ_INGEST_BIN:-aquacast-extract}
aq_workspace stream-rel
export AQ_KAFKA_DIR=$tmp/kafka
aq_snapshot_bins aquacast-extract aquacast-stream-replay aquacast-synth
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill -9 "$p" 2>/dev/null; done
    "$top/tests/services/kafka.sh" stop >/dev/null 2>&1
    [ "$fails" -eq 0 ] && rm -rf "$tmp"
}
trap cleanup EXIT

B=$("$top/tests/services/kafka.sh" start) || { echo "not ok - kafka starts"; exit 1; }
ok "kafka starts ($B)"
py=$("$top/scripts/venv.sh" "$top/requirements/test.txt")/bin/python

# verify SRC.csv DATASET SPLIT_DAY [UNTIL_DAY] → prints "source dataset_rows keys missing extra conflicts"
verify() {
    "$py" - "$@" <<'PY'
import sys, duckdb
src, ds, split = sys.argv[1:4]
until = sys.argv[4] if len(sys.argv) > 4 else '9999-12-31'
c = duckdb.connect()
c.execute(f"""create table s as select ConsumptionDate::date d, AccountOID::bigint a, Consumption::double v
  from read_csv('{src}', header=true, all_varchar=false)
  where ConsumptionDate >= date '{split}' and ConsumptionDate <= date '{until}'""")
c.execute(f"""create table raw as select ConsumptionDate d, AccountOID a,
  case when isnan(Consumption) then null else Consumption end v, filename f
  from read_parquet('{ds}/readings/*/*.parquet', filename=true)""")
c.execute("""create table t as select d, a, arg_max(v, f) v from raw group by d, a""")
n_s = c.execute("select count(*) from s").fetchone()[0]
n_raw = c.execute("select count(*) from raw").fetchone()[0]
n_t = c.execute("select count(*) from t").fetchone()[0]
missing = c.execute("select count(*) from (select d,a,v from s except select d,a,v from t)").fetchone()[0]
extra = c.execute("select count(*) from (select d,a,v from t except select d,a,v from s)").fetchone()[0]
conflicts = c.execute("select count(*) from (select d,a from raw group by d,a having count(distinct coalesce(v,-1)) > 1)").fetchone()[0]
print(n_s, n_raw, n_t, missing, extra, conflicts)
PY
}

aquacast-synth --accounts 300 --days 150 --seed 7 --csv "$tmp/src.csv" >/dev/null 2>&1 || { nok "synth makes the source"; exit 1; }
# the split day, computed independently: min + floor(0.2 × calendar length)
split=$("$py" - "$tmp/src.csv" <<'PY'
import datetime, math, sys, duckdb
lo, hi = duckdb.connect().execute(f"select min(ConsumptionDate::date), max(ConsumptionDate::date) from read_csv('{sys.argv[1]}', header=true)").fetchone()
print(lo + datetime.timedelta(days=math.floor(0.2 * ((hi - lo).days + 1))))
PY
)
echo "# split day $split"

# ---- 1. kill -9 the ingest mid-stream, restart: exactly once ----
T=rel.kill
aquacast-stream-replay run --csv "$tmp/src.csv" --brokers "$B" --topic $T --speed 15 --batch-days 1 \
    --state "$tmp/kill.state" >"$tmp/replay1.json" 2>"$tmp/replay1.log" &
rp=$!; pids+=($rp)
$ingest --kafka "$B" --topic $T --group gk --out "$tmp/dsk" --parts 8 --batch-seconds 0.3 \
    >"$tmp/ingest1.json" 2>"$tmp/ingest1.log" &
ip=$!; pids+=($ip)
for ((i = 0; i < 300; i++)); do   # kill once the first batches are durable
    ls "$tmp"/dsk/readings/*/*.parquet >/dev/null 2>&1 && break; sleep 0.1
done
sleep 0.5
kill -9 $ip; wait $ip 2>/dev/null
check "ingest killed while the replay still runs" "kill -0 $rp 2>/dev/null"
check "ingest killed mid-stream wrote some batches" "ls $tmp/dsk/readings/*/*.parquet >/dev/null 2>&1"
wait $rp; rrc=$?
check "replay finished (exit $rrc)" "[ $rrc -eq 0 ]"
check "replay's split day is $split" "tail -n 1 $tmp/replay1.json | grep -q '\"split_day\":\"$split\"'"
$ingest --kafka "$B" --topic $T --group gk --out "$tmp/dsk" --idle-timeout 3 >"$tmp/ingest2.json" 2>"$tmp/ingest2.log"
check "restarted ingest drains the topic (lag 0)" "tail -n 1 $tmp/ingest2.json | grep -q '\"lag\":0'"
read -r ns nraw nt miss extra conf < <(verify "$tmp/src.csv" "$tmp/dsk" "$split")
echo "# kill -9: source $ns, dataset rows $nraw, keys $nt, missing $miss, extra $extra, conflicts $conf"
check "kill -9 + restart: every reading exactly once ($ns)" "[ '$ns' -gt 0 ] && [ '$nt' = '$ns' ] && [ '$miss' = 0 ] && [ '$extra' = 0 ] && [ '$conf' = 0 ]"

# ---- 2. stop and restart the broker while replay and ingest run ----
T=rel.broker
aquacast-stream-replay run --csv "$tmp/src.csv" --brokers "$B" --topic $T --speed 30 --batch-days 1 \
    --state "$tmp/broker.state" >"$tmp/replay3.json" 2>"$tmp/replay3.log" &
rp=$!; pids+=($rp)
AQUACAST_LOG=debug $ingest --kafka "$B" --topic $T --group gb --out "$tmp/dsb" --parts 8 --batch-seconds 0.3 --idle-timeout 60 -X debug=cgrp \
    >"$tmp/ingest3.json" 2>"$tmp/ingest3.log" &
ip=$!; pids+=($ip)
sleep 1.5
"$top/tests/services/kafka.sh" stop
sleep 2
"$top/tests/services/kafka.sh" start >/dev/null || nok "broker restarts"
wait $rp; rrc=$?
check "replay survives a broker restart (exit $rrc)" "[ $rrc -eq 0 ]"
wait $ip; irc=$?
check "ingest survives a broker restart (exit $irc)" "[ $irc -eq 0 ]"
read -r ns nraw nt miss extra conf < <(verify "$tmp/src.csv" "$tmp/dsb" "$split")
echo "# broker restart: source $ns, dataset rows $nraw, keys $nt, missing $miss, extra $extra, conflicts $conf"
check "broker restart: nothing lost ($ns)" "[ '$ns' -gt 0 ] && [ '$nt' = '$ns' ] && [ '$miss' = 0 ] && [ '$extra' = 0 ] && [ '$conf' = 0 ]"

# ---- 3. malformed messages are counted, logged with partition/offset, skipped ----
T=rel.bad
aquacast-stream-replay run --csv "$tmp/src.csv" --brokers "$B" --topic $T --until "$(date -d "$split + 9 days" +%F)" \
    --state "$tmp/bad.state" >/dev/null 2>"$tmp/replay4.log" || nok "replay of the first days"
hex() { printf '%s' "$1" | od -An -v -tx1 | tr -d ' \n'; }
big=$(head -c 300000 /dev/zero | tr '\0' 'x')
{
    printf '3000001\t%s\n' "$(hex '{"account":3000001,"readings":[["2022-05-01",1.0]')"        # bad JSON
    printf '3000001\t%s\n' "$(hex '{"account":"3000001","readings":[["2022-05-01",1.0]]}')"    # wrong type
    printf '3000001\t%s\n' "$(hex '{"account":3000001,"readings":[["2022-05-01","x"]]}')"      # wrong type
    printf 'ACC-17\t%s\n' "$(hex '{"account":17,"readings":[["2022-05-01",1.0]]}')"            # account format
    printf '3000001\t%s\n' "$(hex "{\"pad\":\"$big\"}")"                                         # oversized
    printf '3000001\t0101010000\n'                                                              # truncated binary
    printf -- '-\t%s\n' "$(hex '{"account":3000001,"readings":[["2022-05-01",1.0]]}')"         # no key
} >"$tmp/bad.txt"
aquacast-stream-replay raw --raw "$tmp/bad.txt" --brokers "$B" --topic $T >"$tmp/raw.json" 2>"$tmp/raw.log"
check "7 malformed messages produced" "grep -q '\"messages\":7' $tmp/raw.json"
aquacast-stream-replay run --csv "$tmp/src.csv" --brokers "$B" --topic $T --state "$tmp/bad.state" \
    >"$tmp/replay5.json" 2>"$tmp/replay5.log" || nok "replay of the rest"
$ingest --kafka "$B" --topic $T --group gm --out "$tmp/dsm" --parts 8 --idle-timeout 3 >"$tmp/ingest5.json" 2>"$tmp/ingest5.log"
irc=$?
check "ingest with malformed messages exits 0" "[ $irc -eq 0 ]"
check "7 malformed counted" "tail -n 1 $tmp/ingest5.json | grep -q '\"malformed\":7'"
check "malformed logged with partition and offset" "[ \$(grep -c 'skipping malformed message at .* offset [0-9]' $tmp/ingest5.log) -eq 7 ]"
read -r ns nraw nt miss extra conf < <(verify "$tmp/src.csv" "$tmp/dsm" "$split")
echo "# malformed: source $ns, dataset rows $nraw, keys $nt, missing $miss, extra $extra, conflicts $conf"
check "malformed: the rest lands exactly once ($ns)" "[ '$ns' -gt 0 ] && [ '$nt' = '$ns' ] && [ '$miss' = 0 ] && [ '$extra' = 0 ] && [ '$conf' = 0 ]"
check "replay resumed after its checkpoint" "tail -n 1 $tmp/replay5.json | grep -q '\"resumed\":true'"

[ "$fails" -eq 0 ]
