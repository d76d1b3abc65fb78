#!/usr/bin/env bash
# stack.sh — start/stop the local services for manual use (make stack-up / make stack-down).
#
#   scripts/stack.sh up      start PostgreSQL, Kafka, the MLflow server and Airflow (api-server with
#                            the UI, scheduler, dag-processor; LocalExecutor; metadata DB on the
#                            PostgreSQL); write .stack/env and .stack/airflow.env; print the UI's
#                            URL and login
#   scripts/stack.sh down    stop them, Airflow first (data under .stack/ is kept)
#   scripts/stack.sh status  show what runs
#
# Everything listens on 127.0.0.1 only, on free ports (kept across restarts). State lives in .stack/
# at the repository root (gitignored; $AQ_STACK_DIR elsewhere). `. .stack/env` gives
# KAFKA_BROKERS, AQUACAST_ODBC and MLFLOW_TRACKING_URI; `. .stack/airflow.env` gives the Airflow
# CLI the deployment's configuration. The DAGs run on this stack: data in PostgreSQL
# (database aquacast, through psqlODBC), readings from Kafka, the registry on the MLflow server,
# the binaries from bin/, files under .stack/aquacast (the Variables and Connections of
# docs/airflow.md, set in the processes' environment). A first `up` makes a feed of
# $AQ_STACK_ACCOUNTS (300) synthetic accounts × 365 days, .stack/aquacast/feed.csv, for bootstrap.
# $AQ_STACK_BIN: the binaries' directory instead of bin/ (tests run on a private copy).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
state=${AQ_STACK_DIR:-$top/.stack}
mkdir -p "$state"
state=$(cd "$state" && pwd)
# postgres runs as user "postgres" when we are root: its data stays under /var/tmp (postgres.sh)
export AQ_KAFKA_DIR=$state/kafka AQ_MLFLOW_DIR=$state/mlflow AQ_AIRFLOW_DIR=$state/airflow
export AQ_PG_DIR=${AQ_PG_DIR:-/var/tmp/aquacast-pg-$(id -u)/stack$([ "$state" = "$top/.stack" ] || echo "-$(echo "$state" | sha256sum | cut -c1-8)")}
services=(postgres kafka mlflow airflow)
svc() { "$top/tests/services/$1.sh" "${@:2}"; }

# The aquacast Variables and Connections of the DAGs (docs/airflow.md), as Airflow reads them from
# the environment; the ODBC password is a Connection password, so Airflow masks it in the logs.
dag_env() {
    local h=$state/aquacast
    eval "$(svc postgres env)"
    local odbc="{\"conn_type\":\"generic\",\"login\":\"$PGUSER\",\"password\":\"$PGPASSWORD\",\"extra\":{\"connstr\":\"DRIVER={PostgreSQL Unicode};Server=127.0.0.1;Port=$PGPORT;Database=$PGDATABASE\"}}"
    cat <<EOF
export AIRFLOW_VAR_AQUACAST_HOME='$h' AIRFLOW_VAR_AQUACAST_BIN='${AQ_STACK_BIN:-$top/bin}'
export AIRFLOW_VAR_AQUACAST_FEED='$h/feed.csv' AIRFLOW_VAR_AQUACAST_SQL='$top/sql'
export AIRFLOW_CONN_AQUACAST_ODBC='$odbc'
export AIRFLOW_CONN_AQUACAST_KAFKA='{"conn_type":"generic","extra":{"brokers":"$(svc kafka brokers)"}}'
export AIRFLOW_CONN_AQUACAST_MLFLOW='{"conn_type":"generic","extra":{"tracking_uri":"$(svc mlflow uri)"}}'
EOF
}

feed() {
    local h=$state/aquacast n=${AQ_STACK_ACCOUNTS:-300}
    [ -f "$h/feed.csv" ] && return 0
    local synth=${AQ_STACK_BIN:-$top/bin}/aquacast-synth
    [ -x "$synth" ] || { echo "stack: '$synth' missing (make)" >&2; exit 1; }
    mkdir -p "$h"
    "$synth" --accounts "$n" --days 365 --seed 5 --csv "$h/feed.csv.tmp" >/dev/null 2>"$state/synth.log" ||
        { cat "$state/synth.log" >&2; exit 1; }
    mv "$h/feed.csv.tmp" "$h/feed.csv"
    echo "stack: feed of $n synthetic accounts × 365 days in $h/feed.csv" >&2
}

up() {
    : >"$state/env.tmp"
    local s out
    for s in "${services[@]}"; do
        echo "stack: starting $s" >&2
        case $s in
            airflow)
                feed
                dag_env >"$state/dag.env"
                out=$(. "$state/dag.env" && svc airflow start) || { echo "stack: cannot start airflow" >&2; exit 1; }
                ;;
            *) out=$(svc "$s" start) || { echo "stack: cannot start $s" >&2; exit 1; } ;;
        esac
        case $s in
            kafka) echo "KAFKA_BROKERS=$out" >>"$state/env.tmp" ;;
            postgres) printf 'AQUACAST_ODBC=%q\n' "$(tail -n 1 <<<"$out")" >>"$state/env.tmp" ;;
            mlflow) echo "MLFLOW_TRACKING_URI=$out" >>"$state/env.tmp" ;;
            airflow) echo "AIRFLOW_UI=$out" >>"$state/env.tmp" ;;
        esac
        echo "stack: $s up" >&2
    done
    mv "$state/env.tmp" "$state/env"
    { svc airflow env; cat "$state/dag.env"; } >"$state/airflow.env.tmp"
    chmod 600 "$state/airflow.env.tmp" "$state/dag.env"
    mv "$state/airflow.env.tmp" "$state/airflow.env"
    cat "$state/env"
    local login; login=$(svc airflow login)
    cat >&2 <<EOF

Airflow UI:  $(svc airflow status)   login: ${login%% *} / ${login#* }
MLflow UI:   $(svc mlflow uri)
The DAGs are paused: unpause aquacast_bootstrap and trigger it (README, "Run it in Airflow").
The Airflow CLI on this deployment: . $state/airflow.env; \$(scripts/venv.sh requirements/airflow.txt)/bin/airflow …
EOF
}

down() {
    local rc=0 i
    for ((i = ${#services[@]} - 1; i >= 0; i--)); do
        if svc "${services[i]}" stop; then echo "stack: ${services[i]} down" >&2
        else rc=1; echo "stack: cannot stop ${services[i]} (tests/services/${services[i]}.sh stop failed)" >&2; fi
    done
    return $rc
}

status() {
    local s out
    for s in "${services[@]}"; do
        if out=$(svc "$s" status 2>/dev/null); then
            [ "$s" = postgres ] && out="on port $(cat "$AQ_PG_DIR/port")"
            echo "$s: running ${out//$'\n'/ }"
        else
            echo "$s: stopped"
        fi
    done
    if [ -f "$AQ_AIRFLOW_DIR/config.env" ]; then
        for s in api-server dag-processor scheduler; do
            if p=$(svc airflow pid "$s" 2>/dev/null); then echo "  airflow $s: pid $p"; else echo "  airflow $s: stopped"; fi
        done
    fi
}

case ${1:-} in
    up) up ;;
    down) down ;;
    status) status ;;
    *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
