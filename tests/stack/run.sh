#!/usr/bin/env bash
# tests/stack/run.sh — the DAGs on a real Airflow 3.3.2 deployment on loopback against the full stack
# (make test-stack; make test runs it too). Everything lives in one temp dir under $TMPDIR and is
# stopped after, on failure and on a kill too:
#   a. PostgreSQL (tests/services/postgres.sh) holds Airflow's metadata DB and the utility's table
#      (PORTAL.ConsumptionDaily, reached by the DAGs through psqlODBC); the MLflow server
#      (tests/services/mlflow.sh) is the registry; Kafka (tests/services/kafka.sh) the stream.
#      api-server, scheduler and dag-processor (tests/services/airflow.sh, simple auth manager, a
#      JWT from POST /auth/token) run with the LocalExecutor. bootstrap is triggered through the
#      REST API: it seeds PostgreSQL, extracts every row, registers the champion on the MLflow
#      server. aquacast_stream replays a month into Kafka and its ingest rounds update the asset
#      aquacast_readings, which makes the scheduler start aquacast_retrain on its own (run_type
#      asset_triggered, fetching from Kafka), observed through /api/v2. Checked: the readings
#      ingested from Kafka equal what stream-replay produced (count, checksum, no duplicate), and
#      through MLflow's REST API the retrain's run holds the three timing metrics and a champion
#      alias exists.
#   b. The scheduler restarted with the CeleryExecutor (Redis as the broker) and two Celery
#      workers (--celery-hostname w1@…, w2@…, concurrency 1): a retrain run on the database path
#      (30 new days appended to PostgreSQL, fetched incrementally over psqlODBC) whose mapped train
#      tasks run on both workers (their logs), whose model set equals one aquacast-train process on
#      the same readings (aquacast-shard to-csv without FitSeconds), and whose MLflow run holds the
#      timing metrics.
# TAP lines, then "N passed, N failed". AQ_KEEP=1 keeps the temp dir.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
export TMPDIR=${TMPDIR:-/tmp/stack-tmp}
mkdir -p "$TMPDIR"
tmp=$(mktemp -d "$TMPDIR/stack.XXXXXX")
chmod 755 "$tmp" # the postgres user (when we are root) must reach its data directory
pids=()
# the services are make stack-up's (scripts/stack.sh), in a private state directory
export AQ_STACK_DIR=$tmp/stack AQ_PG_DIR=$tmp/pg AQ_STACK_ACCOUNTS=300 AQ_STACK_BIN=$tmp/bin
export AQ_KAFKA_DIR=$AQ_STACK_DIR/kafka AQ_MLFLOW_DIR=$AQ_STACK_DIR/mlflow AQ_AIRFLOW_DIR=$AQ_STACK_DIR/airflow
export AQUACAST_RETRY_DELAY=1 AQUACAST_RETRIES=1 # read by the DAG files in the Airflow processes
stopped=0
stop_redis() {
    local p
    for ((i = ${#pids[@]} - 1; i >= 0; i--)); do p=${pids[i]}; kill "$p" 2>/dev/null; done
    for p in "${pids[@]}"; do
        for _ in $(seq 1 30); do kill -0 "$p" 2>/dev/null || break; sleep 0.5; done
        kill -9 "$p" 2>/dev/null
    done
    pids=()
}
cleanup() {
    stop_redis
    [ $stopped -eq 1 ] || scripts/stack.sh down >/dev/null 2>&1 # Airflow (workers, strays) first
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
. "$top/tests/services/ports.sh"
die() { nok "$1"; exit 1; }
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
run_key() { python3 -c 'import re,sys; print(re.sub(r"[^A-Za-z0-9._-]", "_", sys.argv[1]))' "$1"; }
# every process of this stack: the temp dir in its command line or environment (a task's binary
# inherits AIRFLOW_HOME)
stack_procs() {
    local me=$BASHPID p
    for p in $(grep -lzF "$tmp/" /proc/[0-9]*/cmdline /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | sort -u); do
        [ "$p" = $$ ] || [ "$p" = "$me" ] && continue # this script: its environment names $tmp
        [ -e "/proc/$p" ] && echo "$p"
    done
    return 0
}

venv=$(scripts/venv.sh requirements/airflow.txt) || die "airflow venv (scripts/venv.sh requirements/airflow.txt)"
check "psycopg2 and the celery provider are in the Airflow venv (requirements/airflow.txt)" \
    '"$venv/bin/python" -c "import psycopg2, redis, airflow.providers.celery" 2>/dev/null'
command -v redis-server >/dev/null || die "redis-server missing (scripts/install-deps.sh)"
aq_snapshot_bins aquacast-synth aquacast-stream-replay aquacast-extract aquacast-train aquacast-evaluate \
    aquacast-shard aquacast-register
[ -x "$tmp/bin/aquacast-register" ] || die "bin/aquacast-register missing (make)"

# ---- make stack-up: PostgreSQL, Kafka, MLflow, Airflow (api-server, scheduler, dag-processor) ----
t0=$(now)
scripts/stack.sh up >"$tmp/up.out" 2>"$tmp/up.err"; rc=$?
check "make stack-up (scripts/stack.sh up: PostgreSQL, Kafka, MLflow, Airflow) succeeds ($(secs "$t0") s)" '[ $rc -eq 0 ]'
[ $rc -eq 0 ] || { tail -n 30 "$tmp/up.err"; exit 1; }
API=$(sed -n 's/^Airflow UI: *\(http[^ ]*\) .*/\1/p' "$tmp/up.err")
LOGIN_USER=$(sed -n 's/^Airflow UI: .* login: \([^ ]*\) \/ .*/\1/p' "$tmp/up.err")
LOGIN_PW=$(sed -n 's/^Airflow UI: .* login: [^ ]* \/ \([^ ]*\)$/\1/p' "$tmp/up.err")
check "it prints the Airflow UI's URL on loopback and a login ($API, $LOGIN_USER)" \
    '[[ $API == http://127.0.0.1:* ]] && [ -n "$LOGIN_USER" ] && [ -n "$LOGIN_PW" ]'
check "GET /api/v2/version answers 3.3.2" 'curl -fsS -m 10 "$API/api/v2/version" | grep -q "\"version\":\"3.3.2\""'
check "GET /api/v2/monitor/health: metadatabase, scheduler and dag-processor healthy" \
    '[ "$(curl -fsS -m 10 "$API/api/v2/monitor/health" | jq_py "\" \".join(d[k][\"status\"] for k in (\"metadatabase\", \"scheduler\", \"dag_processor\"))")" = "healthy healthy healthy" ]'
check "the UI's page is served at /" 'curl -fsS -m 10 "$API/" | grep -qi "<html"'
scripts/stack.sh status >"$tmp/status1.out" 2>&1
check "scripts/stack.sh status shows the four services and Airflow's three processes running" \
    '[ "$(grep -cE "^(postgres|kafka|mlflow|airflow): running" "$tmp/status1.out")" = 4 ] && [ "$(grep -cE "^  airflow (api-server|dag-processor|scheduler): pid [0-9]+" "$tmp/status1.out")" = 3 ]'
eval "$(tests/services/postgres.sh env)"
. "$AQ_STACK_DIR/env"
MLF=$MLFLOW_TRACKING_URI KB=$KAFKA_BROKERS
PGODBC="DRIVER={PostgreSQL Unicode};Server=127.0.0.1;Port=$PGPORT;Database=$PGDATABASE"
H=$AQ_STACK_DIR/aquacast
eval "$(tests/services/airflow.sh env)"
TOKEN=$(curl -fsS -m 10 -X POST "$API/auth/token" -H 'Content-Type: application/json' \
    -d "{\"username\":\"$LOGIN_USER\",\"password\":\"$LOGIN_PW\"}" 2>/dev/null | jq_py 'd["access_token"]' 2>/dev/null)
check "the printed login works: a JWT from POST /auth/token (simple auth manager)" '[ -n "$TOKEN" ]'
check "the REST API refuses a request without the token" \
    '[ "$(curl -s -o /dev/null -w "%{http_code}" "$API/api/v2/dags")" = 401 ]'
api() { # METHOD PATH [JSON]
    curl -fsS -X "$1" "$API/api/v2$2" -H "Authorization: Bearer $TOKEN" -H 'Content-Type: application/json' ${3:+-d "$3"}
}
mlf() { curl -fsS -m 20 "$MLF/api/2.0/mlflow/$1" ${2:+-H 'Content-Type: application/json' -d "$2"}; }
t0=$(now)
for _ in $(seq 1 120); do
    n=$(api GET /dags 2>/dev/null | jq_py 'sum(1 for x in d["dags"] if x["dag_id"].startswith("aquacast_"))' 2>/dev/null)
    [ "${n:-0}" -ge 3 ] && break; sleep 1
done
check "the dag-processor parsed the three DAGs (GET /api/v2/dags: $n, $(secs "$t0") s), paused, no import error" \
    '[ "${n:-0}" = 3 ] && [ "$(api GET /dags | jq_py "all(x[\"is_paused\"] for x in d[\"dags\"])")" = True ] && [ "$(api GET /importErrors | jq_py "d[\"total_entries\"]")" = 0 ]'
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
# the registry run of an Airflow run (tag aquacast.airflow_run_id) → its metrics as JSON {key: value}
mlflow_metrics() {
    local exp
    exp=$(mlf "experiments/get-by-name?experiment_name=aquacast" | jq_py 'd["experiment"]["experiment_id"]') || return 1
    mlf runs/search "{\"experiment_ids\":[\"$exp\"],\"filter\":\"tags.\`aquacast.airflow_run_id\` = '$1'\"}" |
        jq_py 'json.dumps({m["key"]: m["value"] for r in d.get("runs", []) for m in r["data"].get("metrics", [])})'
}
has_timings() { # METRICS_JSON: fetch/train/evaluate seconds, each > 0
    python3 -c 'import json,sys; m=json.loads(sys.argv[1]); sys.exit(0 if all(m.get(k, 0) > 0 for k in ("fetch_seconds","train_seconds","evaluate_seconds")) else 1)' "$1"
}
champion_version() {
    mlf "registered-models/alias?name=aquacast-water-forecast&alias=champion" | jq_py 'd["model_version"]["version"]'
}
pg() { psql -h "$PGHOST" -p "$PGPORT" -U "$PGUSER" -d "$PGDATABASE" -Atqc "$1"; }

unpause() { api PATCH "/dags/$1" '{"is_paused":false}' >/dev/null; }
# retrain stays paused until bootstrap has made the data: unpaused, its daily schedule at once
# creates the latest 03:00 run (CronTriggerTimetable, catchup=False), which fails without the table
check "PATCH /api/v2/dags/…: bootstrap and stream unpaused" 'unpause aquacast_bootstrap && unpause aquacast_stream'
# ---- a. bootstrap, then stream → asset → retrain on its own ------------------------------------
t0=$(now)
BR=$(trigger aquacast_bootstrap '{"parts":8,"train_tasks":3,"threads":2}')
st=$(wait_run aquacast_bootstrap "$BR" 900)
check "bootstrap triggered through POST /api/v2/dags/…/dagRuns runs on the scheduler: $st ($(secs "$t0") s)" '[ "$st" = success ]'
B=$(ls -d "$H"/runs/aquacast_bootstrap/*/ 2>/dev/null | head -n 1)
PGROWS=$(pg "SELECT count(*) FROM PORTAL.ConsumptionDaily" 2>/dev/null)
DSROWS=$(jget "$(aquacast-shard stats "$H/readings" 2>/dev/null | tail -n 1)" rows)
check "... it seeded PostgreSQL over psqlODBC and extracted every row ($PGROWS in the table, $DSROWS in the readings)" \
    '[ "${PGROWS:-0}" -gt 0 ] && [ "$PGROWS" = "$DSROWS" ]'
check "... and registered version 1 as champion on the MLflow server (GET …/registered-models/alias)" '[ "$(champion_version)" = 1 ]'
check "... the ODBC password (a Connection password) is in no task log" '! grep -rqF "$PGPASSWORD" "$AIRFLOW_HOME/logs/"'
check "retrain unpaused" 'unpause aquacast_retrain'
# the stream replays 30 days after the 20% history (73 days from 2022-04-01) into Kafka
UNTIL=$(date -u -d "2022-04-01 + 102 days" +%F)
t0=$(now)
SR=$(trigger aquacast_stream "{\"rounds\":3,\"idle_timeout\":5,\"until\":\"$UNTIL\"}")
RR=
for _ in $(seq 1 900); do
    RR=$(api GET "/dags/aquacast_retrain/dagRuns?run_type=asset_triggered" 2>/dev/null | jq_py '" ".join(r["dag_run_id"] for r in d["dag_runs"])' 2>/dev/null)
    [ -n "$RR" ] && break; sleep 1
done
RR=${RR%% *}
check "an ingest round's asset event started aquacast_retrain (run_type asset_triggered: $RR, $(secs "$t0") s)" '[ -n "$RR" ]'
st=$(wait_run aquacast_stream "$SR" 900)
check "aquacast_stream (replay ∥ 3 ingest rounds) ends: $st" '[ "$st" = success ]'
api GET "/assets/events?source_dag_id=aquacast_stream" >"$tmp/events.json" 2>/dev/null
check "GET /api/v2/assets/events: the stream's ingest updated aquacast_readings, and the event created $RR" \
    'jq_py "any(e[\"name\"] == \"aquacast_readings\" and any(r[\"run_id\"] == \"$RR\" for r in e[\"created_dagruns\"]) for e in d[\"asset_events\"])" <"$tmp/events.json" | grep -q True'
st=$(wait_run aquacast_retrain "$RR" 900)
check "the asset-triggered retrain succeeds (GET /api/v2/…/dagRuns/$RR: $st, $(secs "$t0") s since the stream started)" '[ "$st" = success ]'
R1=$H/runs/aquacast_retrain/$(run_key "$RR")
check "... it fetched from Kafka (source auto → kafka) and sealed a model set" \
    'grep -q "aquacast-extract[^ ]* --kafka" "$AIRFLOW_HOME/logs/dag_id=aquacast_retrain/run_id=$RR/task_id=fetch/"*.log 2>/dev/null && [ -f "$R1/models/_manifest.json" ]'
api GET "/dags/aquacast_retrain/dagRuns/$RR/taskInstances?task_id=train" >"$tmp/ti1.json" 2>/dev/null
check "... its mapped train tasks, listed by /taskInstances, all succeeded" \
    '[ "$(jq_py "\",\".join(sorted(set(t[\"state\"] for t in d[\"task_instances\"])))" <"$tmp/ti1.json")" = success ]'
# let every other asset-triggered run finish before the executor changes
for r in $(api GET "/dags/aquacast_retrain/dagRuns" | jq_py '" ".join(r["dag_run_id"] for r in d["dag_runs"])'); do
    wait_run aquacast_retrain "$r" 900 >/dev/null
done
M1=$(mlflow_metrics "$RR")
check "MLflow REST (runs/search by tag aquacast.airflow_run_id): the retrain's run holds fetch/train/evaluate_seconds ($(python3 -c 'import json,sys; m=json.loads(sys.argv[1]); print(", ".join("%s=%.3g" % (k, m[k]) for k in ("fetch_seconds","train_seconds","evaluate_seconds") if k in m))' "${M1:-{\}}" 2>/dev/null))" \
    'has_timings "$M1"'
CV=$(champion_version)
check "... and the alias champion exists (version $CV)" '[ -n "$CV" ] && [ "$CV" -ge 1 ]'
# the Kafka path: what stream-replay produced (the feed's rows in the streamed days) is in the
# readings exactly once (the stream's ingest rounds and the retrains' fetches share one group)
PRODUCED=$(api GET "/dags/aquacast_stream/dagRuns/$SR/taskInstances/replay/xcomEntries/return_value" 2>/dev/null |
    jq_py 'd["value"]["readings"] if isinstance(d["value"], dict) else __import__("json").loads(d["value"])["readings"]' 2>/dev/null)
aquacast-shard to-csv "$H/readings" >"$tmp/readings.csv" 2>/dev/null
RAW=$(jget "$(aquacast-shard stats "$H/readings" 2>/dev/null | tail -n 1)" rows)
python3 - "$H/feed.csv" "$tmp/readings.csv" "$UNTIL" "$RAW" "$DSROWS" >"$tmp/kafka_check.txt" 2>&1 <<'PY'
import csv, datetime, hashlib, math, sys
feed, got, until, raw, seeded = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5])
def rows(path, lo, hi):
    out = []
    with open(path, newline="") as f:
        for r in csv.DictReader(f):
            d = r["ConsumptionDate"][:10]
            if lo <= d <= hi:
                v = float(r["Consumption"]) if r["Consumption"] not in ("", "NA") else math.nan
                out.append(f"{d},{int(r['AccountOID'])},{'nan' if math.isnan(v) else repr(v)}")
    return sorted(out)
with open(feed, newline="") as f:
    days = sorted({r["ConsumptionDate"][:10] for r in csv.DictReader(f)})
lo = datetime.date.fromisoformat(days[0])
split = (lo + datetime.timedelta(days=math.floor(0.2 * len(days)))).isoformat()  # the seeded 20%: before split
want, have = rows(feed, split, until), rows(got, split, until)
digest = lambda xs: hashlib.sha256("\n".join(xs).encode()).hexdigest()[:16]
total = sum(1 for _ in open(got)) - 1
print(len(want), digest(want), len(have), digest(have), len(set(have)), raw, total, seeded)
PY
read -r NW DW NH DH NU RAWN TOT SEEDED <"$tmp/kafka_check.txt" || true
echo "# stream window: the feed's $NW rows (sha $DW), ingested $NH (sha $DH); dataset rows raw $RAWN, merged $TOT; replay's summary: $PRODUCED readings"
check "the Kafka path ingested what stream-replay produced: $NH rows = $NW = the replay's $PRODUCED readings, checksum $DH = $DW" \
    '[ -n "$NW" ] && [ "$NW" -gt 0 ] && [ "$NH" = "$NW" ] && [ "$DH" = "$DW" ] && [ "$PRODUCED" = "$NW" ]'
check "... with no duplicate: every (account, day) once, raw rows ($RAWN) = merged rows ($TOT) = seeded ($SEEDED) + streamed ($NW)" \
    '[ "$NU" = "$NH" ] && [ "$RAWN" = "$TOT" ] && [ "$TOT" = $((SEEDED + NW)) ]'

# ---- make stack-down: everything stopped, workers and task processes too, nothing left ---------
stack_down_checks() {
    stop_redis
    local t0 rc left
    t0=$(now)
    scripts/stack.sh down >"$tmp/down.out" 2>&1; rc=$?; stopped=1
    check "make stack-down (scripts/stack.sh down) succeeds ($(secs "$t0") s)" '[ $rc -eq 0 ]'
    [ $rc -eq 0 ] || sed 's/^/# /' "$tmp/down.out"
    scripts/stack.sh status >"$tmp/status2.out" 2>&1
    check "status then shows everything stopped" \
        '[ "$(grep -cE "^(postgres|kafka|mlflow|airflow): stopped" "$tmp/status2.out")" = 4 ] && ! grep -q "pid [0-9]" "$tmp/status2.out"'
    left=$(stack_procs)
    check "no process of the stack is left${left:+ (left: $(ps -o pid=,args= -p "$(echo $left | tr ' ' ,)" | cut -c1-100 | tr '\n' ';'))}" '[ -z "$left" ]'
    check "the api-server no longer answers" '! curl -fsS -m 3 "$API/api/v2/version" >/dev/null 2>&1'
}
if [ -n "${AQ_STACK_ONLY_A:-}" ]; then stack_down_checks; exit $((fails > 0)); fi

# ---- b. CeleryExecutor: two Celery workers over Redis; the database path on PostgreSQL ---------
tests/services/airflow.sh halt scheduler
REDIS_PORT=$(free_port)
setsid redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no --dir "$tmp" >"$tmp/redis.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 50); do redis-cli -p "$REDIS_PORT" ping 2>/dev/null | grep -q PONG && break; sleep 0.2; done
check "Redis (Debian redis-server) up on 127.0.0.1:$REDIS_PORT" 'redis-cli -p "$REDIS_PORT" ping | grep -q PONG'
export AIRFLOW__CORE__EXECUTOR=CeleryExecutor AIRFLOW__CELERY__BROKER_URL=redis://127.0.0.1:$REDIS_PORT/0 \
    AIRFLOW__CELERY__RESULT_BACKEND="db+${AIRFLOW__DATABASE__SQL_ALCHEMY_CONN}"
tests/services/airflow.sh run scheduler-celery scheduler
for w in w1 w2; do # each worker serves its task logs on its own port
    AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$(free_port) tests/services/airflow.sh run "worker-$w" \
        celery worker --celery-hostname "$w@%h" --concurrency 1
done
WL=$AQ_AIRFLOW_DIR/logs
t0=$(now)
for _ in $(seq 1 180); do
    grep -q "w1@.* ready" "$WL/worker-w1.log" && grep -q "w2@.* ready" "$WL/worker-w2.log" && break; sleep 1
done
check "two Celery workers ready (w1@…, w2@…, concurrency 1; $(secs "$t0") s)" \
    'grep -q "w1@.* ready" "$WL/worker-w1.log" && grep -q "w2@.* ready" "$WL/worker-w2.log"'
# the next 30 days (after the stream's) arrive in the table: this retrain fetches them incrementally
aquacast-synth --accounts 300 --days 365 --seed 5 --from-day 103 --to-day 133 \
    --odbc "$PGODBC;UID=$PGUSER;PWD=$PGPASSWORD" >"$tmp/synth-pg.log" 2>&1
NEWROWS=$(pg "SELECT count(*) FROM PORTAL.ConsumptionDaily WHERE ConsumptionDate >= date '2022-04-01' + 103" 2>/dev/null)
check "30 new days appended to PostgreSQL over ODBC ($NEWROWS rows)" '[ "${NEWROWS:-0}" -gt 0 ]'
CH=$B/eval/models
t0=$(now)
CR=$(trigger aquacast_retrain "{\"source\":\"db\",\"mode\":\"update\",\"champion\":\"$CH\",\"train_tasks\":4,\"threads\":1}")
st=$(wait_run aquacast_retrain "$CR" 900)
CSECS=$(secs "$t0")
check "a retrain run on the CeleryExecutor succeeds: $st ($CSECS s)" '[ "$st" = success ]'
R2=$H/runs/aquacast_retrain/$(run_key "$CR")
FROWS=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["rows"])' "$R2/summaries/extract.json" 2>/dev/null)
check "... its fetch read the new days incrementally from PostgreSQL over psqlODBC ($FROWS rows = $NEWROWS)" \
    '[ -n "$FROWS" ] && [ "$FROWS" = "$NEWROWS" ]'
n1=$(grep "Executing workload" "$WL/worker-w1.log" | grep -c "task_id='train'")
n2=$(grep "Executing workload" "$WL/worker-w2.log" | grep -c "task_id='train'")
check "... its 4 mapped train tasks ran on both workers (w1: $n1, w2: $n2)" '[ "$n1" -ge 1 ] && [ "$n2" -ge 1 ] && [ $((n1 + n2)) -eq 4 ]'
api GET "/dags/aquacast_retrain/dagRuns/$CR/taskInstances?task_id=train" >"$tmp/ti2.json" 2>/dev/null
echo "# train task instances (map_index state hostname seconds): $(jq_py '"; ".join(" ".join(str(t[k]) for k in ("map_index", "state", "hostname", "duration")) for t in d["task_instances"])' <"$tmp/ti2.json" 2>/dev/null)"
M2=$(mlflow_metrics "$CR")
check "... its MLflow run holds fetch/train/evaluate_seconds (fetch_rows $(python3 -c 'import json,sys; print(json.loads(sys.argv[1]).get("fetch_rows"))' "${M2:-{\}}" 2>/dev/null))" \
    'has_timings "$M2"'
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
stack_down_checks
exit $((fails > 0))
