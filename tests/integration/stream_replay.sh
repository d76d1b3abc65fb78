#!/usr/bin/env bash
# stream_replay.sh — aquacast-stream-replay: seed of the first 20% over ODBC (SQLite), --until, a SIGTERM
# clean stop with its checkpoint and a gapless resume, the --dataset source, and --sink odbc of the ingest.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
aq_workspace stream-replay
export AQ_KAFKA_DIR=$tmp/kafka
aq_snapshot_bins aquacast-extract aquacast-stream-replay aquacast-synth
trap '"$top/tests/services/kafka.sh" stop >/dev/null 2>&1; [ "$fails" -eq 0 ] && rm -rf "$tmp" "$dbdir"' EXIT

# 50 accounts × 100 days (2022-04-01 .. 2022-07-09), one missing reading, new accounts joining on 05-01
awk 'BEGIN { print "ConsumptionDate,AccountOID,Consumption";
    for (d = 0; d < 100; d++) for (a = 0; a < 50; a++) {
        if (a >= 40 && d < 30) continue;                    # monthly arrival of new accounts
        t = 1648771200 + d * 86400; s = strftime("%Y-%m-%d", t, 1)
        if (a == 3 && d == 50) printf "%s,%d,\n", s, 3200000 + a
        else printf "%s,%d,%.3f\n", s, 3200000 + a, ((a * 31 + d * 17) % 89) / 10 } }' >"$tmp/src.csv"
rows=$(($(wc -l <"$tmp/src.csv") - 1))
# split: 2022-04-01 + floor(0.2 × 100) = 2022-04-21
hist=$(awk -F, 'NR > 1 && $1 < "2022-04-21"' "$tmp/src.csv" | wc -l)
# a long database path on purpose: sqliteodbc leaves the parameter status array unwritten, and
# stale heap bytes once read as errors ("cannot insert row 32", depending on the path length)
dbdir=$tmp/a-database-directory-with-a-long-name-$(head -c 120 /dev/zero | tr '\0' d)
mkdir -p "$dbdir"
db="DRIVER=SQLite3;Database=$dbdir/s.db"

aquacast-stream-replay seed --csv "$tmp/src.csv" --db "$db" --schema "$top/sql" >"$tmp/seed.json" 2>"$tmp/seed.log"
rc=$?
check "seed exits 0 with split day 2022-04-21" "[ $rc -eq 0 ] && grep -q '\"split_day\":\"2022-04-21\"' $tmp/seed.json"
n=$(sqlite3 "$dbdir/s.db" "select count(*) from PORTAL_ConsumptionDaily where ConsumptionDate < '2022-04-21'")
m=$(sqlite3 "$dbdir/s.db" "select count(*) from PORTAL_ConsumptionDaily")
check "seed loaded exactly the $hist history readings ($n of $m)" "[ '$n' = '$hist' ] && [ '$m' = '$hist' ]"

B=$("$top/tests/services/kafka.sh" start) || { echo "not ok - kafka starts"; exit 1; }
ok "kafka starts"

# --until, then a run stopped by SIGTERM, then a resume to the end
out=$(aquacast-stream-replay run --csv "$tmp/src.csv" --brokers "$B" --topic rp --state "$tmp/rp.state" --until 2022-04-30 2>"$tmp/r1.log" | tail -n 1)
check "--until stops at 2022-04-30" "grep -q '\"last_acked_day\":\"2022-04-30\"' <<<'$out' && grep -q '2022-04-30' $tmp/rp.state"
aquacast-stream-replay run --csv "$tmp/src.csv" --brokers "$B" --topic rp --state "$tmp/rp.state" --speed 10 \
    >"$tmp/r2.json" 2>"$tmp/r2.log" &
p=$!
sleep 3
kill -TERM $p; wait $p; rc=$?
check "SIGTERM: clean stop, exit 0, stopped:true" "[ $rc -eq 0 ] && tail -n 1 $tmp/r2.json | grep -q '\"stopped\":true'"
last=$(tail -n 1 "$tmp/r2.json" | sed -n 's/.*"last_acked_day":"\([0-9-]*\)".*/\1/p')
check "SIGTERM: checkpoint holds the last acknowledged day ($last)" "[ -n '$last' ] && grep -q '\"last_acked_day\":\"$last\"' $tmp/rp.state && [[ '$last' > '2022-04-30' ]] && [[ '$last' < '2022-07-09' ]]"
out=$(aquacast-stream-replay run --csv "$tmp/src.csv" --brokers "$B" --topic rp --state "$tmp/rp.state" 2>"$tmp/r3.log" | tail -n 1)
first=$(sed -n 's/.*"first_day":"\([0-9-]*\)".*/\1/p' <<<"$out")
check "resume starts the day after the checkpoint ($first)" "[ '$first' = '$(date -d "$last + 1 day" +%F)' ] && grep -q '\"resumed\":true' <<<'$out'"
check "resume ends at the last day" "grep -q '\"last_acked_day\":\"2022-07-09\"' <<<'$out'"

# ingest everything, also into the database (--sink odbc): history + stream = the whole source
out=$(aquacast-extract --kafka "$B" --topic rp --group g1 --out "$tmp/ds" --parts 4 --idle-timeout 3 \
    --sink odbc --odbc "$db" 2>"$tmp/i1.log" | tail -n 1)
stream=$((rows - hist))
check "ingest took every streamed reading at least once" "[ \$(sed -n 's/.*\"readings\":\([0-9]*\).*/\1/p' <<<'$out') -ge $stream ]"
n=$(sqlite3 "$dbdir/s.db" "select count(*) from (select distinct AccountOID, ConsumptionDate from PORTAL_ConsumptionDaily)")
check "database holds the whole source after seed + sink ($n of $rows distinct keys)" "[ '$n' = '$rows' ]"
nn=$(sqlite3 "$dbdir/s.db" "select count(*) from PORTAL_ConsumptionDaily where AccountOID = 3200003 and ConsumptionDate = '2022-05-21' and Consumption is null")
check "the missing reading arrives as NULL" "[ '$nn' -ge 1 ]"

# the dataset as a source: replaying it into another topic gives the same stream
out=$(aquacast-stream-replay run --dataset "$tmp/ds" --brokers "$B" --topic rp2 --history 0 2>"$tmp/r4.log" | tail -n 1)
check "--dataset source replays the $stream ingested readings" "grep -q '\"readings\":$stream,' <<<'$out'"
[ "$fails" -eq 0 ]
