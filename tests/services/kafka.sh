#!/usr/bin/env bash
# kafka.sh — a real Apache Kafka broker (KRaft, one combined broker+controller node) on 127.0.0.1.
#
#   tests/services/kafka.sh start    fetch jars if needed, format storage once, start, wait until ready;
#                                    prints the bootstrap address (127.0.0.1:PORT) on stdout
#   tests/services/kafka.sh stop     graceful stop (SIGTERM, SIGKILL after 30 s); data is kept
#   tests/services/kafka.sh status   exit 0 and print the address when running
#   tests/services/kafka.sh brokers  print the address (running or not)
#   tests/services/kafka.sh destroy  stop and remove the state directory
#
# Idempotent: start on a running broker only prints its address; a stopped
# broker restarts on the same ports with the same data (a restart test relies
# on it). State (ports, pid, data, logs) lives in $AQ_KAFKA_DIR, default a
# directory under ${TMPDIR:-/tmp}. Jars come from Maven Central through
# deploy/kafka/pom.xml into ~/.cache/aquacast/kafka-<version>/libs (outside
# the clone); $AQ_KAFKA_VERSION overrides the version (4.1.1).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
version=${AQ_KAFKA_VERSION:-4.1.1}
cache=${AQ_CACHE:-$HOME/.cache/aquacast}/kafka-$version
libs=$cache/libs
dir=${AQ_KAFKA_DIR:-${TMPDIR:-/tmp}/aquacast-kafka-$(id -u)}
java=${JAVA:-java}

log() { echo "kafka.sh: $*" >&2; }
die() { log "$*"; exit 1; }

fetch_jars() {
    [ -f "$libs/.complete" ] && return 0
    mkdir -p "$cache"
    (
        flock 9
        [ -f "$libs/.complete" ] && exit 0
        log "fetching Kafka $version jars into $libs"
        rm -rf "$libs.tmp"
        mvn -B -q -f "$top/deploy/kafka/pom.xml" -Dkafka.version="$version" \
            dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs.tmp" \
            >"$cache/mvn.log" 2>&1 || { tail -n 30 "$cache/mvn.log" >&2; exit 1; }
        ls "$libs.tmp"/kafka_2.13-"$version".jar "$libs.tmp"/kafka-tools-"$version".jar >/dev/null
        rm -rf "$libs" && mv "$libs.tmp" "$libs" && touch "$libs/.complete"
    ) 9>"$cache/.lock" || die "cannot fetch Kafka $version jars (see $cache/mvn.log)"
}

. "$top/tests/services/ports.sh"

running() {
    [ -f "$dir/pid" ] || return 1
    local pid; pid=$(cat "$dir/pid")
    kill -0 "$pid" 2>/dev/null && grep -q kafka.Kafka "/proc/$pid/cmdline" 2>/dev/null
}

brokers() { [ -f "$dir/ports" ] && . "$dir/ports" && echo "127.0.0.1:$PORT"; }

classpath() { echo "$libs/*"; }

start() {
    fetch_jars
    mkdir -p "$dir/logs"
    if running; then brokers; return 0; fi
    if [ ! -f "$dir/ports" ]; then
        local p c; p=$(free_port); c=$(free_port)
        while [ "$c" = "$p" ]; do c=$(free_port); done
        printf 'PORT=%s\nCPORT=%s\n' "$p" "$c" >"$dir/ports"
    fi
    . "$dir/ports"
    port_open "$PORT" && die "port $PORT is taken by another process"
    sed -e "s#@PORT@#$PORT#g" -e "s#@CPORT@#$CPORT#g" -e "s#@DATA@#$dir/data#g" \
        "$top/deploy/kafka/server.properties.in" >"$dir/server.properties"
    local jopts=(-Xms256m -Xmx${AQ_KAFKA_HEAP:-1g} -XX:+UseG1GC -XX:MaxGCPauseMillis=20
                 -Djava.awt.headless=true -Dkafka.logs.dir="$dir/logs"
                 -Dlog4j2.configurationFile="$top/deploy/kafka/log4j2.properties")
    if [ ! -f "$dir/data/meta.properties" ]; then
        local uuid
        uuid=$("$java" "${jopts[@]}" -cp "$(classpath)" kafka.tools.StorageTool random-uuid 2>>"$dir/logs/format.log" | tail -n 1)
        [ -n "$uuid" ] || die "cannot make a cluster id (see $dir/logs/format.log)"
        "$java" "${jopts[@]}" -cp "$(classpath)" kafka.tools.StorageTool format -t "$uuid" \
            -c "$dir/server.properties" >>"$dir/logs/format.log" 2>&1 ||
            die "cannot format '$dir/data' (see $dir/logs/format.log)"
    fi
    : >"$dir/logs/server.log"
    rm -f "$dir/pid"
    # setsid may fork (when the caller leads its process group), so $! is not the
    # broker's pid: the shell that execs java writes its own pid first.
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' kafka-start "$dir/pid" \
        "$java" "${jopts[@]}" -cp "$(classpath)" kafka.Kafka "$dir/server.properties" \
        </dev/null >>"$dir/logs/stdout.log" 2>&1 &
    for ((i = 0; i < 50; i++)); do [ -s "$dir/pid" ] && break; sleep 0.1; done
    local i
    for ((i = 0; i < 600; i++)); do
        if ! running; then tail -n 30 "$dir/logs/stdout.log" "$dir/logs/server.log" >&2; die "broker exited during startup"; fi
        if grep -q 'Kafka Server started' "$dir/logs/server.log" 2>/dev/null && port_open "$PORT"; then
            log "ready at 127.0.0.1:$PORT after $((i / 10)).$((i % 10)) s (logs: $dir/logs)"
            brokers; return 0
        fi
        sleep 0.1
    done
    stop; die "broker not ready after 60 s (see $dir/logs)"
}

stop() {
    running || { rm -f "$dir/pid"; return 0; }
    local pid i; pid=$(cat "$dir/pid")
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 300; i++)); do
        kill -0 "$pid" 2>/dev/null || { rm -f "$dir/pid"; return 0; }
        sleep 0.1
    done
    log "broker $pid did not stop in 30 s: SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    rm -f "$dir/pid"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) running && brokers ;;
    brokers) brokers ;;
    destroy) stop; rm -rf "$dir" ;;
    classpath) fetch_jars; classpath ;;
    *) echo "usage: $0 start|stop|status|brokers|destroy|classpath" >&2; exit 2 ;;
esac
