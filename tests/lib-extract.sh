# lib-extract.sh — what extract_sqlite.sh, extract_postgres.sh and extract_windows.sh share, sourced after tests/lib.sh.
# The caller sets $T (its workspace) and $ORACLE (tests/integration/extract_oracle.py), defines
# extract OUT-JSON ARGS... (aquacast-extract of its source), and has made $T/ds_before_month (the
# starting point), $T/reference.csv and $T/reference.files (the uninterrupted run).
#
#   dump_ds DIR                     the dataset as normalized, sorted CSV (aquacast-shard to-csv)
#   crash_case NAME FAILPOINT [S]   extract into a copy of ds_before_month killed at FAILPOINT
#                                   ($AQUACAST_TEST_CRASH), or with '' kill -9'ed after S seconds;
#                                   rerun: exit 0, the same rows and files as the reference, verify
dump_ds() {
    aquacast-shard to-csv "$1" >"$T/tocsv.raw" || return 1
    $ORACLE normalize "$T/tocsv.raw"
}
crash_case() {
    local name=$1 fp=$2 secs=${3:-0.05} d=$T/ds_crash_$1
    rm -rf "$d"; cp -a "$T/ds_before_month" "$d"
    if [ -n "$fp" ]; then
        AQUACAST_TEST_CRASH=$fp aquacast-extract --odbc "$CONN" --out "$d" >"$T/crash_$name.json" 2>"$T/crash_$name.json.err"
        check_run "crash at '$fp': the process was killed" [ $? -eq 137 ]
    else
        aquacast-extract --odbc "$CONN" --out "$d" --fetch-rows 500 >"$T/crash_$name.json" 2>"$T/crash_$name.json.err" &
        local pid=$!
        sleep "$secs"; kill -9 $pid 2>/dev/null; wait $pid 2>/dev/null
    fi
    extract "$T/rerun_$name.json" --out "$d"
    check_run "crash '$name': rerun exit 0" [ $? -eq 0 ]
    same_as_ref() { dump_ds "$d" >"$T/crash.csv" && [ -s "$T/crash.csv" ] && $ORACLE compare "$T/reference.csv" "$T/crash.csv"; }
    check_run "crash '$name': same rows as the uninterrupted run" same_as_ref
    check_run "crash '$name': aquacast-shard verify" bash -c "aquacast-shard verify '$d' >'$T/verify.out' 2>&1"
    ls "$d/readings/"part=*/ | grep parquet | sed 's/^[0-9]*-//' | sort >"$T/crash.files"
    check_run "crash '$name': same files as the uninterrupted run" cmp -s "$T/reference.files" "$T/crash.files"
}
