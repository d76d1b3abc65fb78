# demo-lib.sh — helpers shared by demo.sh and demo-stream.sh (sourced, not run).
# The caller sets DEMO (output folder, logs in $DEMO/logs), BIN and DEMO_PROG (message prefix),
# and declares the associative array T (stage name → wall seconds).

now() { date +%s.%N; }
secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
rate() { awk -v n="$1" -v s="$2" 'BEGIN { if (s > 0) printf "%.0f", n / s; else print "-" }'; }
# The value of a key in a one-line JSON object (the binaries' last stdout line).
jget() { python3 -c 'import json,sys; d=json.loads(sys.argv[1]); v=d.get(sys.argv[2], ""); print(v)' "$1" "$2" 2>/dev/null || true; }
need() { [ -x "$BIN/aquacast-$1" ] || { echo "$DEMO_PROG: $BIN/aquacast-$1 is missing (run make)" >&2; exit 1; }; }
stage() { echo; echo "== [$1] $2"; }

# run NAME CMD...: stdout to $DEMO/logs/NAME.out, stderr to $DEMO/logs/NAME.log;
# sets LAST (the last stdout line) and T[NAME] (wall seconds). A failure shows the log and
# stops; exit 3 counts as success for NAME=evaluate* (evaluated, not promoted) and sets RC.
run() {
    local name=$1 t0 rc=0
    shift
    t0=$(now)
    "$@" >"$DEMO/logs/$name.out" 2>"$DEMO/logs/$name.log" || rc=$?
    T[$name]=$(secs "$t0" "$(now)")
    RC=$rc
    if [ $rc -ne 0 ] && ! { [ $rc -eq 3 ] && [[ $name == evaluate* ]]; }; then
        echo "   FAILED (exit $rc): $*" >&2
        tail -n 20 "$DEMO/logs/$name.log" | sed 's/^/   | /' >&2
        exit 1
    fi
    LAST=$(tail -n 1 "$DEMO/logs/$name.out")
    echo "   done in ${T[$name]} s: $LAST"
}

# register_eval REGISTRY EVAL_DIR SUMMARY...: aquacast-register of evaluate's output into the local
# registry (file:REGISTRY) with the jobs' summary lines (NAME=FILE, the stages' logs), then the
# champion (--resolve champion: version, run, location), or the challenger when not promoted.
# Sets REG_VERSION, REG_ALIAS, REG_FILES, REG_BYTES, REG_LINE (one line for the summary block).
register_eval() {
    local registry=$1 eval_dir=$2 s args=()
    shift 2
    for s in "$@"; do args+=(--summary "$s"); done
    run register "$BIN/aquacast-register" --tracking-uri "file:$registry" --eval "$eval_dir" "${args[@]}"
    REG_VERSION=$(jget "$LAST" version)
    REG_ALIAS=$(jget "$LAST" alias)
    REG_FILES=$(jget "$LAST" files)
    REG_BYTES=$(jget "$LAST" bytes_uploaded)
    if [ "$REG_ALIAS" = champion ]; then
        run resolve "$BIN/aquacast-register" --tracking-uri "file:$registry" --resolve champion
        echo "   champion: $(head -n 1 "$DEMO/logs/resolve.out")"
        REG_LINE="version $REG_VERSION is the champion"
    else
        echo "   not promoted: the challenger was registered as version $REG_VERSION (alias challenger)"
        if "$BIN/aquacast-register" --tracking-uri "file:$registry" --resolve champion >"$DEMO/logs/resolve.out" \
            2>"$DEMO/logs/resolve.log"; then
            echo "   champion (unchanged): $(head -n 1 "$DEMO/logs/resolve.out")"
        else
            echo "   no champion in the registry yet"
        fi
        REG_LINE="version $REG_VERSION registered as the challenger"
    fi
}
