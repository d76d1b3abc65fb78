#!/usr/bin/env bash
# kafka_compression.sh — the broker service (start/status/idempotent start/stop/restart) and proof that
# librdkafka 2.0.2 really sends compressed batches to Kafka 4.x: no "does not support compression" notice
# with debug=feature,protocol, and the broker's own log segments report the codec (DumpLogSegments).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
aq_workspace kafka-comp
export AQ_KAFKA_DIR=$tmp/kafka
aq_snapshot_bins aquacast-extract aquacast-stream-replay aquacast-synth
ks=$top/tests/services/kafka.sh
trap '"$ks" stop >/dev/null 2>&1; [ "$fails" -eq 0 ] && [ -z "${AQ_KEEP_TMP:-}" ] && rm -rf "$tmp"' EXIT

B=$("$ks" start) || { echo "not ok - kafka starts"; exit 1; }
ok "kafka starts ($B)"
check "status reports the running broker" "[ \"\$('$ks' status)\" = '$B' ]"
check "start is idempotent" "[ \"\$('$ks' start 2>/dev/null)\" = '$B' ]"

# a small source: 40 accounts × 30 days
awk 'BEGIN { print "ConsumptionDate,AccountOID,Consumption";
    for (d = 0; d < 30; d++) for (a = 0; a < 40; a++)
        printf "2022-04-%02d,%d,%.3f\n", d + 1, 3100000 + a, (a * 7 + d * 13) % 97 / 10 }' >"$tmp/src.csv"

for codec in lz4 zstd; do
    AQUACAST_LOG=debug aquacast-stream-replay run --csv "$tmp/src.csv" --brokers "$B" --topic "comp.$codec" \
        --history 0 --batch-days 1 -X compression.codec=$codec -X debug=feature,protocol \
        >"$tmp/$codec.json" 2>"$tmp/$codec.log"
    rc=$?
    check "$codec: replay with debug=feature,protocol exits 0" "[ $rc -eq 0 ]"
    check "$codec: no 'does not support compression' notice" "! grep -qi 'does not support compression' $tmp/$codec.log"
    uc=$(echo $codec | tr a-z A-Z)
    check "$codec: librdkafka enabled the $uc feature against the broker" "grep -q 'Enabling feature '$uc $tmp/$codec.log"
    # what the broker stored: every batch of the partitions carries the codec
    java -cp "$("$ks" classpath)" -Dlog4j2.configurationFile="$top/deploy/kafka/log4j2.properties" \
        -Dkafka.logs.dir="$tmp" kafka.tools.DumpLogSegments --files "$(ls "$AQ_KAFKA_DIR"/data/comp.$codec-*/00000000000000000000.log | paste -sd,)" \
        >"$tmp/$codec.dump" 2>&1
    n=$(grep -c "compresscodec: $codec" "$tmp/$codec.dump")
    bad=$(grep "baseOffset" "$tmp/$codec.dump" | grep -vc "compresscodec: $codec")
    echo "# $codec: $n batches stored with compresscodec $codec, $bad without"
    check "$codec: the broker's log segments hold $codec-compressed batches only" "[ $n -gt 0 ] && [ $bad -eq 0 ]"
done

"$ks" stop
check "stop stops it" "! '$ks' status >/dev/null"
check "restart keeps the data (same address)" "[ \"\$('$ks' start 2>/dev/null)\" = '$B' ] && ls $AQ_KAFKA_DIR/data/comp.lz4-0 >/dev/null"
[ "$fails" -eq 0 ]
