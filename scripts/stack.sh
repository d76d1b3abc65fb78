#!/usr/bin/env bash
# stack.sh — start/stop the local services for manual use (make stack-up / make stack-down).
#
#   scripts/stack.sh up      start postgres (tests/services/postgres.sh) and kafka; write .stack/env
#   scripts/stack.sh down    stop them (data under .stack/ is kept)
#   scripts/stack.sh status  show what runs
#
# State lives in .stack/ at the repository root (gitignored). `. .stack/env`
# gives KAFKA_BROKERS (and what the other services' scripts print as VAR=value).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
state=$top/.stack
mkdir -p "$state"
# postgres runs as user "postgres" when we are root: its data stays under /var/tmp (postgres.sh)
export AQ_KAFKA_DIR=$state/kafka AQ_PG_DIR=${AQ_PG_DIR:-/var/tmp/aquacast-pg-$(id -u)/stack} AQ_STACK_DIR=$state

services=()
[ -x "$top/tests/services/postgres.sh" ] && services+=(postgres)
services+=(kafka)

up() {
    : >"$state/env.tmp"
    for s in "${services[@]}"; do
        out=$("$top/tests/services/$s.sh" start) || { echo "stack: cannot start $s" >&2; exit 1; }
        case $s in
            kafka) echo "KAFKA_BROKERS=$out" >>"$state/env.tmp" ;;
            postgres) printf 'AQUACAST_ODBC=%q\n' "$(tail -n 1 <<<"$out")" >>"$state/env.tmp" ;;
            *) printf '%s\n' "$out" | grep -E '^[A-Z_][A-Z0-9_]*=' >>"$state/env.tmp" || true ;;
        esac
        echo "stack: $s up" >&2
    done
    mv "$state/env.tmp" "$state/env"
    cat "$state/env"
}

down() {
    local rc=0
    for ((i = ${#services[@]} - 1; i >= 0; i--)); do
        "$top/tests/services/${services[i]}.sh" stop || rc=1
        echo "stack: ${services[i]} down" >&2
    done
    return $rc
}

status() {
    for s in "${services[@]}"; do
        if out=$("$top/tests/services/$s.sh" status 2>/dev/null); then echo "$s: running ${out//$'\n'/ }"
        else echo "$s: stopped"; fi
    done
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
