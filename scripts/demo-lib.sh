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
