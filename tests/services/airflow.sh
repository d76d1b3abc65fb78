#!/usr/bin/env bash
# airflow.sh — a real Airflow 3 deployment on 127.0.0.1: api-server (UI + REST API), scheduler and
# dag-processor, metadata DB on PostgreSQL, the simple auth manager (one user, admin).
#
#   tests/services/airflow.sh start     configure (once), db migrate, start the three processes, wait
#                                       until /api/v2/monitor/health reports all of them healthy;
#                                       prints the UI's URL (http://127.0.0.1:PORT) on stdout
#   tests/services/airflow.sh stop      stop every process started here (SIGTERM to each process
#                                       group, SIGKILL after 30 s), then any process left that runs
#                                       in this deployment (its AIRFLOW_HOME): task runners, binaries
#   tests/services/airflow.sh status    exit 0 and print the URL when the api-server answers
#   tests/services/airflow.sh env       shell exports of the configuration (for the airflow CLI)
#   tests/services/airflow.sh login     print "admin PASSWORD" (the UI's login)
#   tests/services/airflow.sh token     print a JWT for the REST API (POST /auth/token)
#   tests/services/airflow.sh run NAME ARGS...   start `airflow ARGS` in the background in the same
#                                       deployment (log: DIR/logs/NAME.log), e.g. a Celery worker
#   tests/services/airflow.sh halt NAME... stop those processes (api-server, scheduler, a run NAME)
#   tests/services/airflow.sh pid NAME  print the pid of NAME when it runs
#   tests/services/airflow.sh destroy   stop and remove the state directory (not the database)
#
# State (the configuration, the admin's password, pids, logs, AIRFLOW_HOME) lives in
# $AQ_AIRFLOW_DIR, default a directory under ${TMPDIR:-/tmp}. The configuration is made once and
# kept, so a stopped deployment restarts on the same port with the same metadata. It is all
# environment (AIRFLOW__SECTION__KEY, docs/airflow.md); the processes also inherit the caller's
# environment, so the caller sets the aquacast Variables and Connections (AIRFLOW_VAR_*,
# AIRFLOW_CONN_*) and may override AIRFLOW__CORE__EXECUTOR (LocalExecutor by default) and the
# intervals. The metadata DB: $AQ_AIRFLOW_DB (a SQLAlchemy URL), default database "airflow" of
# the cluster of tests/services/postgres.sh ($AQ_PG_DIR; created when missing). The DAGs:
# $AQ_AIRFLOW_DAGS, default the repository's dags/. Airflow from requirements/airflow.txt
# (scripts/venv.sh).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${AQ_AIRFLOW_DIR:-${TMPDIR:-/tmp}/aquacast-airflow-$(id -u)}
PROCS=(api-server dag-processor scheduler)

log() { echo "airflow.sh: $*" >&2; }
die() { log "$*"; exit 1; }

venv() { "$top/scripts/venv.sh" "$top/requirements/airflow.txt"; }

. "$top/tests/services/ports.sh"

metadata_db() {
    if [ -n "${AQ_AIRFLOW_DB:-}" ]; then echo "$AQ_AIRFLOW_DB"; return 0; fi
    local pg=$top/tests/services/postgres.sh
    "$pg" status || die "PostgreSQL is not running (tests/services/postgres.sh start, AQ_PG_DIR=${AQ_PG_DIR:-default})"
    eval "$("$pg" env)"
    if ! psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -Atqc \
        "SELECT 1 FROM pg_database WHERE datname = 'airflow'" | grep -q 1; then
        psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -qc "CREATE DATABASE airflow" >&2 ||
            die "cannot create database 'airflow'"
    fi
    echo "postgresql+psycopg2://$PGUSER:$PGPASSWORD@127.0.0.1:$PGPORT/airflow"
}

# The configuration, written once (temp, then renamed): the port, the JWT secret and the admin's
# password stay the same across restarts. Values the caller may override are ${VAR:-default}.
configure() {
    [ -f "$dir/config.env" ] && return 0
    mkdir -p "$dir/home" "$dir/logs" "$dir/run"
    chmod 700 "$dir"
    local port lport pw secret
    port=$(free_port); lport=$(free_port)
    while [ "$lport" = "$port" ]; do lport=$(free_port); done
    pw=$(head -c 18 /dev/urandom | base64 | tr '+/' 'ab')
    secret=$(head -c 32 /dev/urandom | base64)
    printf '{"admin": "%s"}\n' "$pw" >"$dir/passwords.json"
    cat >"$dir/config.env.tmp" <<EOF
# the Airflow deployment of tests/services/airflow.sh (made $(date -u +%FT%TZ))
export AIRFLOW_HOME='$dir/home'
export AIRFLOW__CORE__DAGS_FOLDER='${AQ_AIRFLOW_DAGS:-$top/dags}'
export AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__CORE__UNIT_TEST_MODE=False
export AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=$port AIRFLOW__API__BASE_URL=http://127.0.0.1:$port
export AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$port/execution/
export AIRFLOW__API_AUTH__JWT_SECRET='$secret'
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin
export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE='$dir/passwords.json'
export AIRFLOW__CORE__EXECUTOR=\${AIRFLOW__CORE__EXECUTOR:-LocalExecutor}
# task slots (LocalExecutor: a worker process of ~135 MB each; the default 32 made 29 of them, 4 GB)
export AIRFLOW__CORE__PARALLELISM=\${AIRFLOW__CORE__PARALLELISM:-8}
export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=\${AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION:-True}
export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=\${AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL:-5}
export AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL=\${AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL:-10}
export AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=\${AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC:-2}
# the scheduler sleeps this long after a loop that did nothing (stock 1 s): the wait before each task
export AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME=\${AIRFLOW__SCHEDULER__SCHEDULER_IDLE_SLEEP_TIME:-0.2}
export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=\${AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT:-$lport}
EOF
    chmod 600 "$dir/config.env.tmp" "$dir/passwords.json"
    mv "$dir/config.env.tmp" "$dir/config.env"
}

config() { [ -f "$dir/config.env" ] || die "not configured (start it first)"; . "$dir/config.env"; }

# the configuration and the metadata DB's URL (not kept: the PostgreSQL port may change on a restart)
load() {
    config
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN=$(metadata_db) || exit 1
    export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN
}

url() { config; echo "$AIRFLOW__API__BASE_URL"; }

pidof_() { [ -f "$dir/run/$1.pid" ] && cat "$dir/run/$1.pid"; }

group_alive() { pgrep -g "$1" >/dev/null 2>&1; }

alive() { local p; p=$(pidof_ "$1") && kill -0 "$p" 2>/dev/null; }

spawn() { # NAME ARGS...: `airflow ARGS` as the leader of a new process group, its pid in run/NAME.pid
    local name=$1 v; shift
    v=$(venv) || die "cannot make the Airflow venv (requirements/airflow.txt)"
    alive "$name" && die "'$name' already runs (pid $(pidof_ "$name"))"
    rm -f "$dir/run/$name.pid"
    setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' "airflow-$name" "$dir/run/$name.pid" \
        "$v/bin/airflow" "$@" </dev/null >>"$dir/logs/$name.log" 2>&1 &
    local i
    for ((i = 0; i < 50; i++)); do [ -s "$dir/run/$name.pid" ] && return 0; sleep 0.1; done
    die "'$name' did not start (see $dir/logs/$name.log)"
}

halt() { # NAME...: SIGTERM to their process groups at once, SIGKILL to what is left after 30 s
    local n p i live
    local -a ps=()
    for n in "$@"; do
        p=$(pidof_ "$n") || continue
        group_alive "$p" && { kill -TERM -- "-$p" 2>/dev/null || true; ps+=("$p"); }
    done
    for ((i = 0; i < 300; i++)); do
        live=0
        for p in "${ps[@]}"; do group_alive "$p" && live=1; done
        [ $live -eq 0 ] && break
        sleep 0.1
    done
    for p in "${ps[@]}"; do
        if group_alive "$p"; then log "group $p did not stop in 30 s: SIGKILL"; kill -KILL -- "-$p" 2>/dev/null || true; fi
    done
    for n in "$@"; do rm -f "$dir/run/$n.pid"; done
}

# Processes of this deployment outside the groups started here (a task's binary runs in its own
# session): every process whose environment holds this AIRFLOW_HOME.
strays() {
    local q p mine=" "
    # never this script or its callers (a test that exported the configuration has AIRFLOW_HOME too)
    q=$BASHPID
    while [ -n "$q" ] && [ "$q" -gt 1 ]; do
        mine+="$q "
        q=$(awk '/^PPid:/ { print $2 }' "/proc/$q/status" 2>/dev/null)
    done
    for p in $(grep -lzxF "AIRFLOW_HOME=$dir/home" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
        [[ $mine == *" $p "* ]] || { [ -e "/proc/$p" ] && echo "$p"; }
    done
    return 0
}

health() { # the health JSON → "metadatabase scheduler dag_processor" statuses
    curl -fsS -m 3 "$(url)/api/v2/monitor/health" 2>/dev/null | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(" ".join((d.get(k) or {}).get("status") or "none" for k in ("metadatabase", "scheduler", "dag_processor")))' 2>/dev/null
}

start() {
    configure
    load
    local v; v=$(venv) || die "cannot make the Airflow venv (requirements/airflow.txt)"
    if ! alive api-server && port_open "$AIRFLOW__API__PORT"; then
        die "port $AIRFLOW__API__PORT is taken by another process (remove $dir/config.env for a new one)"
    fi
    "$v/bin/airflow" db migrate >>"$dir/logs/migrate.log" 2>&1 || { tail -n 20 "$dir/logs/migrate.log" >&2; die "airflow db migrate failed"; }
    alive api-server || spawn api-server api-server --host 127.0.0.1 --port "$AIRFLOW__API__PORT" --workers 1
    alive dag-processor || spawn dag-processor dag-processor
    alive scheduler || spawn scheduler scheduler
    local i h=
    for ((i = 0; i < 240; i++)); do
        for n in "${PROCS[@]}"; do
            alive "$n" || { tail -n 30 "$dir/logs/$n.log" >&2; die "'$n' exited during startup (see $dir/logs/$n.log)"; }
        done
        h=$(health) || h=
        if [ "$h" = "healthy healthy healthy" ]; then
            log "ready at $AIRFLOW__API__BASE_URL after $((i / 2)) s ($AIRFLOW__CORE__EXECUTOR; state: $dir)"
            url; return 0
        fi
        sleep 0.5
    done
    die "not healthy after 120 s (health: ${h:-no answer}; logs in $dir/logs)"
}

stop() {
    [ -d "$dir/run" ] || return 0
    local f n left
    local -a others=()
    for f in "$dir"/run/*.pid; do
        [ -e "$f" ] || continue
        n=$(basename "$f" .pid)
        case " ${PROCS[*]} " in *" $n "*) ;; *) others+=("$n") ;; esac
    done
    # workers, extra schedulers, the scheduler and the dag-processor together; the api-server last
    # (a task runner that is stopping still reports its state through it)
    halt "${others[@]}" scheduler dag-processor
    halt api-server
    left=$(strays)
    if [ -n "$left" ]; then
        log "stopping processes left in $dir/home: $(echo $left)"
        kill -TERM $left 2>/dev/null || true
        for ((i = 0; i < 100; i++)); do left=$(strays); [ -z "$left" ] && break; sleep 0.1; done
        [ -z "$left" ] || kill -KILL $left 2>/dev/null || true
    fi
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    status) alive api-server && curl -fsS -m 3 "$(url)/api/v2/monitor/health" >/dev/null 2>&1 && url ;;
    env) load; grep "^export " "$dir/config.env"; echo "export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN='$AIRFLOW__DATABASE__SQL_ALCHEMY_CONN'" ;;
    login) config; echo "admin $(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$dir/passwords.json")" ;;
    token)
        config
        curl -fsS -m 10 -X POST "$(url)/auth/token" -H 'Content-Type: application/json' \
            -d "{\"username\":\"admin\",\"password\":\"$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["admin"])' "$dir/passwords.json")\"}" |
            python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])'
        ;;
    run) [ $# -ge 3 ] || { echo "usage: $0 run NAME ARGS..." >&2; exit 2; }; load; n=$2; shift 2; spawn "$n" "$@" ;;
    halt) [ $# -ge 2 ] || { echo "usage: $0 halt NAME..." >&2; exit 2; }; shift; halt "$@" ;;
    pid) [ $# -eq 2 ] || { echo "usage: $0 pid NAME" >&2; exit 2; }; alive "$2" && pidof_ "$2" ;;
    destroy) stop; rm -rf "$dir" ;;
    *) echo "usage: $0 start|stop|status|env|login|token|run NAME ARGS...|halt NAME|pid NAME|destroy" >&2; exit 2 ;;
esac
