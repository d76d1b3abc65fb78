#!/usr/bin/env bash
# run.sh — run every test of aquacast and print one closing line "N passed, N failed, N skipped".
#
# Kinds, each reporting TAP-style lines ("ok - name", "not ok - name", "skip - name"):
#   tests/unit/test_*.c        built by make into build/dev/tests/, run here
#   tests/integration/*.sh     scripts that run the binaries (against real services)
#   tests/python/test_*.py     pytest in the cached venv (interop, numerical oracles)
#   tests/stack/run.sh         the DAGs on the full stack of make stack-up (make test-stack), in the
#                              background beside the others, counted last; every service it starts
#                              is stopped when it ends, fails or is killed
# A test whose component could not be started fails; nothing is skipped silently.
# Options: --unit-only; --no-stack (everything but tests/stack); a pattern as first non-option
# argument filters test files (tests/run.sh stack runs the stack test alone).
set -uo pipefail
cd "$(dirname "$0")/.."
top=$PWD
unit_only=0; no_stack=0; filter=
for a in "$@"; do
    case $a in
        --unit-only) unit_only=1 ;;
        --no-stack) no_stack=1 ;;
        *) filter=$a ;;
    esac
done
unit_dir=${AQ_UNIT_DIR:-build/dev/tests}
pass=0 fail=0 skip=0
failed_names=()
logdir=$(mktemp -d /tmp/aquacast-tests.XXXXXX)
export AQ_TEST_TMP=$logdir PATH="$top/bin:$PATH"
# Real meter data (read-only): CI lays shared/ beside the clone; sessions have /work/shared.
if [ -z "${AQ_DAIAD:-}" ]; then
    for c in "$top/../shared/data/daiad/daily.csv" /work/shared/data/daiad/daily.csv; do
        [ -f "$c" ] && { AQ_DAIAD=$(cd "$(dirname "$c")" && pwd)/daily.csv; break; }
    done
fi
export AQ_DAIAD=${AQ_DAIAD:-/work/shared/data/daiad/daily.csv}

count() { # name, log file, exit code
    local name=$1 log=$2 rc=$3 p f s
    p=$(grep -c '^ok ' "$log"); f=$(grep -c '^not ok ' "$log"); s=$(grep -c '^skip ' "$log")
    if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then f=1; echo "not ok - $name (exit $rc)" >>"$log"; fi
    if [ "$rc" -eq 0 ] && [ $((p + f + s)) -eq 0 ]; then f=1; echo "not ok - $name (reported no test)" >>"$log"; fi
    pass=$((pass + p)); fail=$((fail + f)); skip=$((skip + s))
    if [ "$f" -gt 0 ]; then
        failed_names+=("$name")
        echo "FAIL $name ($p ok, $f failed) — log: $log"
        grep -E '^not ok ' "$log" | sed 's/^/    /'
        tail -n 30 "$log" | grep -vE '^(ok|not ok|skip) ' | sed 's/^/    | /'
    else
        if [ "$s" -gt 0 ]; then echo "ok   $name ($p ok, $s skipped)"; else echo "ok   $name ($p ok)"; fi
    fi
}

want() { [ -z "$filter" ] || [[ $1 == *"$filter"* ]]; }

# Fresh machine: every tool, library, ODBC driver, R package and Python module the tests use is
# there (scripts/install-deps.sh, the cached venv); a missing one fails here, by name.
venv=
if [ $unit_only -eq 0 ]; then
    venv=$(scripts/venv.sh requirements/test.txt) || venv=
    [ -n "$venv" ] || { echo "not ok - python venv could not be made (scripts/venv.sh requirements/test.txt)" >"$logdir/venv.log"; count deps/venv "$logdir/venv.log" 1; }
fi
if want deps/check; then
    scripts/check-deps.sh $venv >"$logdir/deps.log" 2>&1; count deps/check "$logdir/deps.log" $?
fi

# The full stack test (tests/stack/run.sh) waits on services most of its time (a scheduler's
# heartbeats, Kafka's idle timeouts, Celery): it runs in the background beside the other tests and
# is counted at the end. A kill of this script stops it, and it stops every service it started.
stack_pid=
if [ $unit_only -eq 0 ] && [ $no_stack -eq 0 ] && want stack/run; then
    timeout 2700 bash tests/stack/run.sh >"$logdir/stack.log" 2>&1 &
    stack_pid=$!
    trap '[ -n "$stack_pid" ] && kill "$stack_pid" 2>/dev/null && wait "$stack_pid"' EXIT
    trap 'exit 143' TERM INT
fi

for t in "$unit_dir"/test_*; do
    [ -x "$t" ] || continue
    name=unit/$(basename "$t"); want "$name" || continue
    log=$logdir/$(basename "$t").log
    (cd "$top" && timeout 600 "$t") >"$log" 2>&1; count "$name" "$log" $?
done

if [ $unit_only -eq 0 ]; then
    for t in tests/integration/*.sh; do
        [ -f "$t" ] || continue
        name=integration/$(basename "$t" .sh); want "$name" || continue
        log=$logdir/$(basename "$t" .sh).log
        timeout 1200 bash "$t" >"$log" 2>&1; count "$name" "$log" $?
    done
    py_wanted=0
    for t in tests/python/test_*.py; do [ -f "$t" ] && want "python/$(basename "$t" .py)" && py_wanted=1; done
    if [ $py_wanted -eq 1 ]; then
        if [ -z "$venv" ]; then
            echo "not ok - python venv could not be made" >"$logdir/pyvenv.log"; count python/venv "$logdir/pyvenv.log" 1
        else
            for t in tests/python/test_*.py; do
                name=python/$(basename "$t" .py); want "$name" || continue
                log=$logdir/$(basename "$t" .py).log
                # -rA prints one PASSED/FAILED line per test; turn them into TAP lines.
                timeout 1200 "$venv/bin/python" -m pytest -q -rA -p no:cacheprovider "$t" >"$log.raw" 2>&1
                rc=$?
                sed -nE 's/^PASSED (.*)$/ok - \1/p; s/^(FAILED|ERROR) (.*)$/not ok - \2/p; s/^SKIPPED (.*)$/skip - \1/p; s/^XFAIL (.*)$/skip - \1 (known failure, xfail)/p' "$log.raw" >"$log"
                cat "$log.raw" >>"$log"
                [ $rc -eq 5 ] && rc=0 # no test collected is caught by count()
                count "$name" "$log" $rc
            done
        fi
    fi
    # the full stack, counted last (its closing "N passed, N failed" line is not a TAP line)
    if [ -n "$stack_pid" ]; then
        wait "$stack_pid"; rc=$?; stack_pid=
        count stack/run "$logdir/stack.log" $rc
    fi
fi

echo
echo "$pass passed, $fail failed, $skip skipped"
[ "$fail" -eq 0 ]
