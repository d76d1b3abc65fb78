#!/usr/bin/env bash
# postgres.sh — a private PostgreSQL 15 cluster on 127.0.0.1 for tests and benches.
#
#   tests/services/postgres.sh start   init (once) and start; prints the ODBC connection string
#   tests/services/postgres.sh env     prints shell exports (PGHOST PGPORT PGUSER PGPASSWORD PGDATABASE AQ_PG_CONN)
#   tests/services/postgres.sh status  exit 0 if running
#   tests/services/postgres.sh stop    stop (data kept)
#   tests/services/postgres.sh destroy stop and remove the data directory
#
# The cluster lives in $AQ_PG_DIR (default /var/tmp/aquacast-pg-$UID/test): its own
# initdb, its own free port (kept in $AQ_PG_DIR/port), its socket inside the
# directory, so it never collides with a system cluster or another run. Binaries
# from /usr/lib/postgresql/15/bin (override with $AQ_PG_BIN). When run as root,
# the server runs as user "postgres" (initdb refuses root), which is why the
# default lives under /var/tmp and not under a 0700 home directory.
# Starting twice is harmless; a second start prints the same connection string.
set -euo pipefail

BIN=${AQ_PG_BIN:-/usr/lib/postgresql/15/bin}
DIR=${AQ_PG_DIR:-/var/tmp/aquacast-pg-$(id -u)/test}
DB=aquacast
USER_NAME=aquacast
PASS=aquacast-test-pw # a test-only secret; the tests check that it never shows in logs
DATA=$DIR/data

as_pg() {
    if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

die() { echo "postgres.sh: $*" >&2; exit 1; }

free_port() {
    local p
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 30000))
        if ! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null; then echo $p; return 0; fi
    done
    return 1
}

conn() {
    echo "DRIVER={PostgreSQL Unicode};Server=127.0.0.1;Port=$(cat "$DIR/port");Database=$DB;UID=$USER_NAME;PWD=$PASS"
}

running() {
    [ -f "$DATA/postmaster.pid" ] && as_pg "$BIN/pg_ctl" -D "$DATA" status >/dev/null 2>&1
}

init() {
    [ -x "$BIN/initdb" ] || die "cannot find '$BIN/initdb' (Debian package postgresql-15)"
    mkdir -p "$DIR"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$DIR"; fi
    local pw
    pw=$(mktemp "$DIR/.pw.XXXXXX")
    echo "$PASS" >"$pw"
    if [ "$(id -u)" -eq 0 ]; then chown postgres: "$pw"; fi
    as_pg "$BIN/initdb" -D "$DATA" -U "$USER_NAME" --pwfile="$pw" -A scram-sha-256 --auth-local=trust \
        -E UTF8 --locale=C.UTF-8 >"$DIR/initdb.log" 2>&1 || { rm -f "$pw"; cat "$DIR/initdb.log" >&2; die "initdb failed"; }
    rm -f "$pw"
    cat >>"$DATA/postgresql.conf" <<EOF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$DIR'
fsync = on
shared_buffers = 256MB
max_connections = 40
logging_collector = off
EOF
}

start() {
    if running; then conn; return 0; fi
    [ -f "$DATA/PG_VERSION" ] || init
    local port
    port=$(free_port) || die "no free port found"
    echo "$port" >"$DIR/port"
    as_pg "$BIN/pg_ctl" -D "$DATA" -l "$DIR/server.log" -w -t 60 -o "-p $port" start >/dev/null \
        || { tail -n 20 "$DIR/server.log" >&2; die "cannot start the cluster in '$DATA'"; }
    if ! as_pg "$BIN/psql" -h "$DIR" -p "$port" -U "$USER_NAME" -d postgres -Atqc \
        "SELECT 1 FROM pg_database WHERE datname = '$DB'" | grep -q 1; then
        as_pg "$BIN/createdb" -h "$DIR" -p "$port" -U "$USER_NAME" "$DB" || die "cannot create database '$DB'"
    fi
    conn
}

stop() {
    if running; then as_pg "$BIN/pg_ctl" -D "$DATA" -m fast -w stop >/dev/null; fi
}

case ${1:-} in
    start) start ;;
    stop) stop ;;
    destroy) stop; rm -rf "$DIR" ;;
    status) running ;;
    env)
        running || die "not running (start it first)"
        echo "export PGHOST='$DIR' PGPORT='$(cat "$DIR/port")' PGUSER='$USER_NAME' PGPASSWORD='$PASS' PGDATABASE='$DB'"
        echo "export AQ_PG_CONN='$(conn)'"
        ;;
    *) echo "usage: $0 start|stop|destroy|status|env" >&2; exit 2 ;;
esac
