#!/usr/bin/env bash
# mlflow.sh — a real MLflow 3 tracking server (SQLite store, proxied artifacts) on 127.0.0.1.
#
#   tests/services/mlflow.sh start    make the venv if needed, start, wait for /health;
#                                     prints the tracking URI (http://127.0.0.1:PORT) on stdout
#   tests/services/mlflow.sh stop     SIGTERM to the server's process group (SIGKILL after 20 s); data kept
#   tests/services/mlflow.sh kill     SIGKILL the process group at once (crash tests); data kept
#   tests/services/mlflow.sh status   exit 0 and print the URI when running
#   tests/services/mlflow.sh uri      print the URI (running or not)
#   tests/services/mlflow.sh python   print the venv's python (the MLflow client for tests)
#   tests/services/mlflow.sh destroy  stop and remove the state directory
#
# Idempotent: start on a running server only prints its URI; a stopped server
# restarts on the same port with the same store and artifacts (the crash test
# relies on it). State (port, pid, mlflow.db, artifacts/, logs) lives in
# $AQ_MLFLOW_DIR, default a directory under ${TMPDIR:-/tmp}. The server comes
# from PyPI (requirements/mlflow.txt) through scripts/venv.sh, cached in
# ~/.cache/aquacast/. MLflow 3.5+ checks the Host header: 127.0.0.1 and
# localhost are in its default allowlist, so no --allowed-hosts is needed
# for loopback (and passing one replaces the defaults).
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
dir=${AQ_MLFLOW_DIR:-${TMPDIR:-/tmp}/aquacast-mlflow-$(id -u)}

log() { echo "mlflow.sh: $*" >&2; }
die() { log "$*"; exit 1; }

venv() { "$top/scripts/venv.sh" "$top/requirements/mlflow.txt"; }

. "$top/tests/services/ports.sh"

running() {
    [ -f "$dir/pid" ] || return 1
    local pid; pid=$(cat "$dir/pid")
    kill -0 "$pid" 2>/dev/null && grep -q mlflow "/proc/$pid/cmdline" 2>/dev/null
}

uri() { [ -f "$dir/port" ] && echo "http://127.0.0.1:$(cat "$dir/port")"; }

healthy() { curl -fsS -m 2 "$(uri)/health" 2>/dev/null | grep -q OK; }

start() {
    local v; v=$(venv) || die "cannot make the MLflow venv (requirements/mlflow.txt)"
    mkdir -p "$dir/logs" "$dir/artifacts"
    if running; then uri; return 0; fi
    [ -f "$dir/port" ] || free_port >"$dir/port"
    local port; port=$(cat "$dir/port")
    port_open "$port" && die "port $port is taken by another process"
    rm -f "$dir/pid"
    # The shell that execs mlflow writes its own pid; setsid makes it the leader of
    # a new process group, so stop/kill reach uvicorn and the job runner too.
    # MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false: no job runner and its seven huey
    # consumers (GenAI evaluation jobs, unused here), a lighter server on shared cores.
    MLFLOW_SERVER_ENABLE_JOB_EXECUTION=false setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' mlflow-start "$dir/pid" \
        "$v/bin/mlflow" server --host 127.0.0.1 --port "$port" --workers 1 \
        --backend-store-uri "sqlite:///$dir/mlflow.db" \
        --serve-artifacts --artifacts-destination "$dir/artifacts" \
        </dev/null >>"$dir/logs/server.log" 2>&1 &
    local i
    for ((i = 0; i < 50; i++)); do [ -s "$dir/pid" ] && break; sleep 0.1; done
    for ((i = 0; i < 1200; i++)); do
        if ! running; then tail -n 30 "$dir/logs/server.log" >&2; die "server exited during startup"; fi
        if healthy; then
            log "ready at $(uri) after $((i / 10)).$((i % 10)) s (state: $dir)"
            uri; return 0
        fi
        sleep 0.1
    done
    stop; die "server not ready after 120 s (see $dir/logs/server.log)"
}

signal_group() { # signal: the group led by the recorded pid
    local pid; pid=$(cat "$dir/pid")
    kill "-$1" -- "-$pid" 2>/dev/null || kill "-$1" "$pid" 2>/dev/null || true
}

group_alive() { local pid; pid=$(cat "$dir/pid"); pgrep -g "$pid" >/dev/null 2>&1; }

stop() {
    [ -f "$dir/pid" ] || return 0
    if ! group_alive; then rm -f "$dir/pid"; return 0; fi
    signal_group TERM
    local i
    for ((i = 0; i < 200; i++)); do
        group_alive || { rm -f "$dir/pid"; return 0; }
        sleep 0.1
    done
    log "server did not stop in 20 s: SIGKILL"
    signal_group KILL
    rm -f "$dir/pid"
}

crash() {
    [ -f "$dir/pid" ] || return 0
    signal_group KILL
    local i
    for ((i = 0; i < 100; i++)); do group_alive || break; sleep 0.1; done
    rm -f "$dir/pid"
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    kill) crash ;;
    status) running && uri ;;
    uri) uri ;;
    python) echo "$(venv)/bin/python" ;;
    destroy) stop; rm -rf "$dir" ;;
    *) echo "usage: $0 start|stop|kill|status|uri|python|destroy" >&2; exit 2 ;;
esac
