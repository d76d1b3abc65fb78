#!/usr/bin/env bash
# tests/stack/run.sh — the DAGs on a real Airflow 3.3.2 deployment on loopback (make test-stack;
# not part of make test). Everything lives in one temp dir under $TMPDIR and is stopped after:
#   a. PostgreSQL (tests/services/postgres.sh) holds Airflow's metadata DB; scheduler,
#      dag-processor and api-server (simple auth manager, a JWT from POST /auth/token) run with the
#      LocalExecutor. bootstrap is triggered through the REST API; aquacast_stream replays a month
#      into Kafka (tests/services/kafka.sh) and its ingest rounds update the asset
#      aquacast_readings, which makes the scheduler start aquacast_retrain on its own (run_type
#      asset_triggered), observed through /api/v2.
#   b. The scheduler restarted with the CeleryExecutor (Redis as the broker) and two Celery
#      workers (--celery-hostname w1@…, w2@…, concurrency 1): a retrain run's mapped train tasks
#      run on both workers (their logs), and its model set equals one aquacast-train process on
#      the same readings (aquacast-shard to-csv without FitSeconds).
# TAP lines, then "N passed, N failed". AQ_KEEP=1 keeps the temp dir.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
export TMPDIR=${TMPDIR:-/tmp/stack-tmp}
mkdir -p "$TMPDIR"
tmp=$(mktemp -d "$TMPDIR/stack.XXXXXX")
chmod 755 "$tmp" # the postgres user (when we are root) must reach its data directory
pids=()
cleanup() {
    local p
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do p=${pids[i]}; kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$p" 2>/dev/null
    done
    AQ_KAFKA_DIR=$tmp/kafka tests/services/kafka.sh stop >/dev/null 2>&1
    AQ_PG_DIR=$tmp/pg tests/services/postgres.sh stop >/dev/null 2>&1
    if [ -n "${AQ_KEEP:-}" ]; then echo "# kept $tmp"; else rm -rf "$tmp"; fi
    echo
    echo "$passed passed, $fails failed"
}
passed=0
ok() { echo "ok - $1"; passed=$((passed + 1)); }
trap cleanup EXIT
trap "exit 143" TERM INT # so that the services are stopped on a kill too
now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 30000))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo $p; return 0; fi
    done
    return 1
}
die() { nok "$1"; exit 1; }

venv=$(scripts/venv.sh requirements/airflow.txt) || die "airflow venv (scripts/venv.sh requirements/airflow.txt)"
check "psycopg2 and the celery provider are in the Airflow venv (requirements/airflow.txt)" \
    '"$venv/bin/python" -c "import psycopg2, redis, airflow.providers.celery" 2>/dev/null'
command -v redis-server >/dev/null || die "redis-server missing (scripts/install-deps.sh)"
aq_snapshot_bins aquacast-synth aquacast-stream-replay aquacast-extract aquacast-train aquacast-evaluate \
    aquacast-shard aquacast-register
[ -x "$tmp/bin/aquacast-register" ] || die "bin/aquacast-register missing (make)"

# ---- services: PostgreSQL (metadata DB), Kafka -------------------------------------------------
t0=$(now)
export AQ_PG_DIR=$tmp/pg AQ_KAFKA_DIR=$tmp/kafka
tests/services/postgres.sh start >"$tmp/pg.out" 2>&1 || { cat "$tmp/pg.out"; die "postgres.sh start"; }
eval "$(tests/services/postgres.sh env)"
psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d postgres -qc "CREATE DATABASE airflow" >"$tmp/createdb.log" 2>&1
check "PostgreSQL up, database airflow created ($(secs "$t0") s)" '[ $? -eq 0 ]'
t0=$(now)
KB=$(tests/services/kafka.sh start 2>"$tmp/kafka.err") || { tail "$tmp/kafka.err"; die "kafka.sh start"; }
ok "Kafka up at $KB ($(secs "$t0") s)"

# ---- Airflow configuration (environment only; AIRFLOW_HOME is the temp dir) --------------------
API_PORT=$(free_port)
export AIRFLOW_HOME=$tmp/ah AIRFLOW__CORE__LOAD_EXAMPLES=False AIRFLOW__CORE__DAGS_FOLDER=$top/dags \
    AIRFLOW__CORE__UNIT_TEST_MODE=False AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True \
    AIRFLOW__CORE__EXECUTOR=LocalExecutor \
    AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://$PGUSER:$PGPASSWORD@127.0.0.1:$PGPORT/airflow" \
    AIRFLOW__API__HOST=127.0.0.1 AIRFLOW__API__PORT=$API_PORT AIRFLOW__API__BASE_URL=http://127.0.0.1:$API_PORT \
    AIRFLOW__CORE__EXECUTION_API_SERVER_URL=http://127.0.0.1:$API_PORT/execution/ \
    AIRFLOW__API_AUTH__JWT_SECRET=$(head -c 32 /dev/urandom | base64) \
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS=admin:admin \
    AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE=$tmp/ah/passwords.json \
    AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5 AIRFLOW__DAG_PROCESSOR__MIN_FILE_PROCESS_INTERVAL=10 \
    AIRFLOW__SCHEDULER__SCHEDULER_HEARTBEAT_SEC=2 AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$(free_port)
H=$tmp/home
export AIRFLOW_VAR_AQUACAST_HOME=$H AIRFLOW_VAR_AQUACAST_BIN=$tmp/bin AIRFLOW_VAR_AQUACAST_FEED=$tmp/feed.csv \
    AIRFLOW_VAR_AQUACAST_SQL=$top/sql AQUACAST_RETRY_DELAY=1 AQUACAST_RETRIES=1 \
    AIRFLOW_CONN_AQUACAST_KAFKA="{\"conn_type\":\"generic\",\"extra\":{\"brokers\":\"$KB\"}}"
mkdir -p "$AIRFLOW_HOME" "$H"
PW=pw-$RANDOM$RANDOM
echo "{\"admin\": \"$PW\"}" >"$AIRFLOW_HOME/passwords.json"
af() { "$venv/bin/airflow" "$@"; }
t0=$(now); af db migrate >"$tmp/migrate.log" 2>&1
check "airflow db migrate on PostgreSQL ($(secs "$t0") s)" '[ $? -eq 0 ]' || { tail -n 20 "$tmp/migrate.log"; exit 1; }

start() { # name, command...: run in the background, log in $tmp/<name>.log
    local name=$1; shift
    setsid "$@" >"$tmp/$name.log" 2>&1 &
    pids+=($!)
}
start api-server "$venv/bin/airflow" api-server --host 127.0.0.1 --port "$API_PORT" --workers 1
start dag-processor "$venv/bin/airflow" dag-processor
start scheduler "$venv/bin/airflow" scheduler
SCHED_PID=${pids[-1]}
API=http://127.0.0.1:$API_PORT
t0=$(now)
for _ in $(seq 1 120); do curl -fs "$API/api/v2/monitor/health" >/dev/null 2>&1 && break; sleep 1; done
check "api-server answers on 127.0.0.1:$API_PORT ($(secs "$t0") s)" 'curl -fs "$API/api/v2/monitor/health" >/dev/null'
TOKEN=$(curl -fs -X POST "$API/auth/token" -H 'Content-Type: application/json' \
    -d "{\"username\":\"admin\",\"password\":\"$PW\"}" | python3 -c 'import json,sys; print(json.load(sys.stdin)["access_token"])')
check "a JWT from POST /auth/token (simple auth manager, user admin)" '[ -n "$TOKEN" ]'
check "the REST API refuses a request without the token" \
    '[ "$(curl -s -o /dev/null -w "%{http_code}" "$API/api/v2/dags")" = 401 ]'
api() { # METHOD PATH [JSON]
    curl -fsS -X "$1" "$API/api/v2$2" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+-d "$3"}
}
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
t0=$(now)
for _ in $(seq 1 120); do
    n=$(api GET /dags 2>/dev/null | jq_py 'sum(1 for x in d["dags"] if x["dag_id"].startswith("aquacast_"))' 2>/dev/null)
    [ "${n:-0}" -ge 3 ] && break; sleep 1
done
check "the dag-processor parsed the three DAGs (GET /api/v2/dags: $n, $(secs "$t0") s)" '[ "${n:-0}" -ge 3 ]'
trigger() { # DAG CONF → run id
    api POST "/dags/$1/dagRuns" "{\"logical_date\":null,\"conf\":$2}" | jq_py 'd["dag_run_id"]'
}
wait_run() { # DAG RUN_ID TIMEOUT → final state on stdout
    local st
    for _ in $(seq 1 "$3"); do
        st=$(api GET "/dags/$1/dagRuns/$2" 2>/dev/null | jq_py 'd["state"]' 2>/dev/null)
        case $st in success|failed) break ;; esac
        sleep 1
    done
    echo "$st"
}

unpause() { api PATCH "/dags/$1" '{"is_paused":false}' >/dev/null; }
# retrain stays paused until bootstrap has made the data: unpaused, its daily schedule at once
# creates the latest 03:00 run (CronTriggerTimetable, catchup=False), which fails without portal.db
check "PATCH /api/v2/dags/…: bootstrap and stream unpaused" 'unpause aquacast_bootstrap && unpause aquacast_stream'
# ---- a. bootstrap, then stream → asset → retrain on its own ------------------------------------
aquacast-synth --accounts 300 --days 365 --seed 5 --csv "$tmp/feed.csv" >/dev/null 2>&1
t0=$(now)
BR=$(trigger aquacast_bootstrap '{"parts":8,"train_tasks":3,"threads":2}')
st=$(wait_run aquacast_bootstrap "$BR" 600)
check "bootstrap triggered through POST /api/v2/dags/…/dagRuns runs on the scheduler: $st ($(secs "$t0") s)" '[ "$st" = success ]'
B=$(ls -d "$H"/runs/aquacast_bootstrap/*/ 2>/dev/null | head -n 1)
check "retrain unpaused" 'unpause aquacast_retrain'
# the stream replays 30 days after the 20% history (73 days from 2022-04-01) into Kafka
UNTIL=$(date -u -d "2022-04-01 + 102 days" +%F)
t0=$(now)
SR=$(trigger aquacast_stream "{\"rounds\":3,\"idle_timeout\":5,\"until\":\"$UNTIL\"}")
RR=
for _ in $(seq 1 600); do
    RR=$(api GET "/dags/aquacast_retrain/dagRuns?run_type=asset_triggered" 2>/dev/null | jq_py '" ".join(r["dag_run_id"] for r in d["dag_runs"])' 2>/dev/null)
    [ -n "$RR" ] && break; sleep 1
done
RR=${RR%% *}
check "an ingest round's asset event started aquacast_retrain (run_type asset_triggered: $RR, $(secs "$t0") s)" '[ -n "$RR" ]'
st=$(wait_run aquacast_stream "$SR" 600)
check "aquacast_stream (replay ∥ 3 ingest rounds) ends: $st" '[ "$st" = success ]'
api GET "/assets/events?source_dag_id=aquacast_stream" >"$tmp/events.json" 2>/dev/null
check "GET /api/v2/assets/events: the stream's ingest updated aquacast_readings, and the event created $RR" \
    'jq_py "any(e[\"name\"] == \"aquacast_readings\" and any(r[\"run_id\"] == \"$RR\" for r in e[\"created_dagruns\"]) for e in d[\"asset_events\"])" <"$tmp/events.json" | grep -q True'
st=$(wait_run aquacast_retrain "$RR" 900)
check "the asset-triggered retrain succeeds (GET /api/v2/…/dagRuns/$RR: $st, $(secs "$t0") s since the stream started)" '[ "$st" = success ]'
R1=$H/runs/aquacast_retrain/$(python3 -c 'import re,sys; print(re.sub(r"[^A-Za-z0-9._-]", "_", sys.argv[1]))' "$RR")
check "... it fetched from Kafka (source auto → kafka) and sealed a model set" \
    'grep -q "aquacast-extract[^ ]* --kafka" "$tmp/ah/logs/dag_id=aquacast_retrain/run_id=$RR/task_id=fetch/"*.log 2>/dev/null && [ -f "$R1/models/_manifest.json" ]'
api GET "/dags/aquacast_retrain/dagRuns/$RR/taskInstances?task_id=train" >"$tmp/ti1.json" 2>/dev/null
check "... its mapped train tasks, listed by /taskInstances, all succeeded" \
    '[ "$(jq_py "\",\".join(sorted(set(t[\"state\"] for t in d[\"task_instances\"])))" <"$tmp/ti1.json")" = success ]'
# let every other asset-triggered run finish before the executor changes
for r in $(api GET "/dags/aquacast_retrain/dagRuns" | jq_py '" ".join(r["dag_run_id"] for r in d["dag_runs"])'); do
    wait_run aquacast_retrain "$r" 900 >/dev/null
done

[ -n "${AQ_STACK_ONLY_A:-}" ] && exit $((fails > 0))

# ---- b. CeleryExecutor: two Celery workers over Redis ------------------------------------------
kill "$SCHED_PID" 2>/dev/null
for _ in $(seq 1 60); do kill -0 "$SCHED_PID" 2>/dev/null || break; sleep 0.5; done
REDIS_PORT=$(free_port)
start redis redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp"
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.2; done
check "Redis (Debian redis-server) up on 127.0.0.1:$REDIS_PORT" 'redis-cli -p "$REDIS_PORT" ping | grep -q PONG'
export AIRFLOW__CORE__EXECUTOR=CeleryExecutor AIRFLOW__CELERY__BROKER_URL=redis://127.0.0.1:$REDIS_PORT/0 \
    AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql+psycopg2://$PGUSER:$PGPASSWORD@127.0.0.1:$PGPORT/airflow"
start scheduler-celery "$venv/bin/airflow" scheduler
for w in w1 w2; do # each worker serves its task logs on its own port
    AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$(free_port) start "worker-$w" \
        "$venv/bin/airflow" celery worker --celery-hostname "$w@%h" --concurrency 1
done
t0=$(now)
for _ in $(seq 1 120); do
    grep -q "w1@.* ready" "$tmp/worker-w1.log" && grep -q "w2@.* ready" "$tmp/worker-w2.log" && break; sleep 1
done
check "two Celery workers ready (w1@…, w2@…, concurrency 1; $(secs "$t0") s)" \
    'grep -q "w1@.* ready" "$tmp/worker-w1.log" && grep -q "w2@.* ready" "$tmp/worker-w2.log"'
CH=$B/eval/models
t0=$(now)
CR=$(trigger aquacast_retrain "{\"source\":\"db\",\"mode\":\"update\",\"champion\":\"$CH\",\"train_tasks\":4,\"threads\":1}")
st=$(wait_run aquacast_retrain "$CR" 900)
CSECS=$(secs "$t0")
check "a retrain run on the CeleryExecutor succeeds: $st ($CSECS s)" '[ "$st" = success ]'
R2=$H/runs/aquacast_retrain/$(python3 -c 'import re,sys; print(re.sub(r"[^A-Za-z0-9._-]", "_", sys.argv[1]))' "$CR")
n1=$(grep "Executing workload" "$tmp/worker-w1.log" | grep -c "task_id='train'")
n2=$(grep "Executing workload" "$tmp/worker-w2.log" | grep -c "task_id='train'")
check "... its 4 mapped train tasks ran on both workers (w1: $n1, w2: $n2)" '[ "$n1" -ge 1 ] && [ "$n2" -ge 1 ] && [ $((n1 + n2)) -eq 4 ]'
api GET "/dags/aquacast_retrain/dagRuns/$CR/taskInstances?task_id=train" >"$tmp/ti2.json" 2>/dev/null
echo "# train task instances (map_index state hostname seconds): $(jq_py '"; ".join(" ".join(str(t[k]) for k in ("map_index", "state", "hostname", "duration")) for t in d["task_instances"])' <"$tmp/ti2.json" 2>/dev/null)"
# the same training in one process, on the same readings, from the same champion
models_csv() { aquacast-shard to-csv "$1" 2>/dev/null | python3 -c '
import csv, sys
r = csv.reader(sys.stdin); h = next(r); i = h.index("FitSeconds")
for row in r: print(",".join(v for k, v in enumerate(row) if k != i))' | sort; }
t0=$(now)
aquacast-train --readings "$H/readings" --out "$tmp/single" --mode update --prev "$CH" --season 7 --threads 1 \
    >"$tmp/single.log" 2>&1
check "the single-process aquacast-train reference ($(secs "$t0") s)" '[ -f "$tmp/single/_manifest.json" ]'
models_csv "$R2/models" >"$tmp/celery.csv"; models_csv "$tmp/single" >"$tmp/single.csv"
check "... the Celery run's model set equals it ($(wc -l <"$tmp/single.csv") models, to-csv without FitSeconds)" \
    '[ -s "$tmp/single.csv" ] && cmp -s "$tmp/celery.csv" "$tmp/single.csv"'
exit $((fails > 0))
