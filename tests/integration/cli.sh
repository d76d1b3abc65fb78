#!/usr/bin/env bash
# cli.sh — the CLI contract of every binary (cmd/common/cli.h): --help exits 0; unknown options and bad
# values exit 2 naming the option and the value; the JSON summary is the last line of stdout (of stderr
# where stdout is data), valid JSON, "ok":false with "error" on usage errors and failures.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
aq_workspace cli
bins=(train evaluate extract stream-replay synth shard register)
aq_snapshot_bins "${bins[@]/#/aquacast-}"

# run ARGS...: stdout to $tmp/out, stderr to $tmp/err, the exit code in $rc.
run() { "$@" >"$tmp/out" 2>"$tmp/err"; rc=$?; }
# jlast FILE EXPR [ARG]: the last line of FILE is a JSON object d for which the Python EXPR holds
# (ARG is sys.argv[3] in EXPR).
jlast() {
    python3 -c 'import json,sys
d = json.loads(open(sys.argv[1]).read().splitlines()[-1])
sys.exit(0 if isinstance(d, dict) and eval(sys.argv[2]) else 1)' "$@" 2>/dev/null
}
# failed_summary FILE CODE: "ok":false, the exit code and an "error" string.
failed_summary() { jlast "$1" "d['ok'] is False and d['exit_code'] == $2 and isinstance(d.get('error'), str) and d['error']"; }
# bad_value NAME OPT VALUE CMD...: exit 2, stderr and the summary's error name the option and the value.
bad_value() {
    local name=$1 opt=$2 val=$3; shift 3
    run "$@"
    local want="invalid value '$val' for $opt"
    check "$name: exit 2 naming $opt and '$val'" \
        '[ $rc -eq 2 ] && grep -qF -- "$want" "$tmp/err" && failed_summary "$tmp/out" 2 && jlast "$tmp/out" "sys.argv[3] in d[\"error\"]" "$want"'
}

# ---- every binary: --help, an unknown option, an unexpected argument
for b in "${bins[@]}"; do
    p=aquacast-$b
    run "$p" --help
    check "$b --help exits 0 with a usage text" '[ $rc -eq 0 ] && grep -q "^usage: $p" "$tmp/out"'
    run "$p" --no-such-option
    check "$b: an unknown option exits 2 with a summary (last stdout line)" \
        '[ $rc -eq 2 ] && failed_summary "$tmp/out" 2 && jlast "$tmp/out" "d[\"program\"] == \"$p\""'
    check "$b: the message names the option, the program without its path" \
        'grep -q "^$p: .*no-such-option" "$tmp/err" && ! grep -q "/$p" "$tmp/err"'
done
run aquacast-shard verify --help
check "shard verify --help exits 0" '[ $rc -eq 0 ] && grep -q "^usage: aquacast-shard verify" "$tmp/out"'
run aquacast-shard frobnicate x
check "shard: an unknown command exits 2 naming it" '[ $rc -eq 2 ] && grep -q "frobnicate" "$tmp/err" && failed_summary "$tmp/out" 2'
run aquacast-shard head --bogus x
check "shard head: an unknown option exits 2, summary on stderr (stdout is data)" \
    '[ $rc -eq 2 ] && [ ! -s "$tmp/out" ] && failed_summary "$tmp/err" 2'
run aquacast-train --readings a --out b stray
check "train: an unexpected argument exits 2" '[ $rc -eq 2 ] && grep -q "stray" "$tmp/err" && failed_summary "$tmp/out" 2'
run aquacast-train --threads
check "train: a missing value exits 2 naming the option" '[ $rc -eq 2 ] && grep -q -- "--threads" "$tmp/err" && failed_summary "$tmp/out" 2'

# ---- bad values: integer, real, date, choice, account
for o in --max-p --min-obs --threads --window --hampel-t; do
    bad_value "train $o abc" "$o" abc aquacast-train --readings r --out o "$o" abc
done
bad_value "train --hampel-t -1" --hampel-t -1 aquacast-train --readings r --out o --hampel-t -1
bad_value "train --max-p 11 (range)" --max-p 11 aquacast-train --readings r --out o --max-p 11
bad_value "train --until (date)" --until 2022-02-30 aquacast-train --readings r --out o --until 2022-02-30
bad_value "train --mode (choice)" --mode sideways aquacast-train --readings r --out o --mode sideways
bad_value "train --season (choice)" --season 12 aquacast-train --readings r --out o --season 12
bad_value "train --forecast --account abc" --account abc aquacast-train --forecast m --account abc
bad_value "train --account 0" --account 0 aquacast-train --forecast m --account 0
bad_value "train --accounts 1,x" --accounts 1,x aquacast-train --readings r --out o --accounts 1,x
bad_value "train --days 1.5" --days 1.5 aquacast-train --forecast m --account 1 --days 1.5
bad_value "evaluate --windows (integer)" --windows abc aquacast-evaluate --models m --readings r --out o --windows abc
bad_value "evaluate --replace-margin (real)" --replace-margin nan aquacast-evaluate --models m --readings r --out o --replace-margin nan
bad_value "evaluate --anomaly-share 0 (range)" --anomaly-share 0 aquacast-evaluate --models m --readings r --out o --anomaly-share 0
bad_value "extract --parts (integer)" --parts 0x10 aquacast-extract --odbc x --out o --parts 0x10
bad_value "extract --mode (choice)" --mode fast aquacast-extract --odbc x --out o --mode fast
bad_value "extract --kafka --batch-seconds (real)" --batch-seconds -1 aquacast-extract --kafka b --group g --out o --batch-seconds -1
bad_value "extract --kafka --until-date (date)" --until-date 2022-1-1 aquacast-extract --kafka b --group g --out o --until-date 2022-1-1
bad_value "stream-replay --partitions (integer)" --partitions 9x aquacast-stream-replay run --csv c --brokers b --partitions 9x
bad_value "stream-replay --history (real)" --history 1 aquacast-stream-replay seed --csv c --db d --history 1
bad_value "stream-replay --until (date)" --until tomorrow aquacast-stream-replay run --csv c --brokers b --until tomorrow
bad_value "stream-replay --encoding (choice)" --encoding xml aquacast-stream-replay run --csv c --brokers b --encoding xml
bad_value "synth --accounts (integer)" --accounts 12abc aquacast-synth --csv - --accounts 12abc
bad_value "synth --event-rate (real)" --event-rate inf aquacast-synth --csv - --event-rate inf
bad_value "synth --start (date)" --start 2022-04-31 aquacast-synth --csv - --start 2022-04-31
bad_value "synth --account-range" --account-range 5:5 aquacast-synth --csv - --account-range 5:5
bad_value "register --retries (integer)" --retries many aquacast-register --tracking-uri file:x --eval e --retries many
bad_value "register --timeout (real)" --timeout 0 aquacast-register --tracking-uri file:x --eval e --timeout 0
bad_value "register --limit-rate (integer)" --limit-rate 1e6 aquacast-register --tracking-uri file:x --eval e --limit-rate 1e6
bad_value "register --summary (NAME=FILE)" --summary train aquacast-register --tracking-uri file:x --eval e --summary train
run env -u MLFLOW_TRACKING_URI aquacast-register --eval e
check "register without a tracking uri: exit 2 with a summary" '[ $rc -eq 2 ] && grep -q -- "--tracking-uri" "$tmp/err" && failed_summary "$tmp/out" 2'
run aquacast-register --tracking-uri file:x --download champion
check "register --download without DIR: exit 2" '[ $rc -eq 2 ] && failed_summary "$tmp/out" 2'
run aquacast-shard head -n many x
check "shard head -n many: exit 2 naming -n and 'many' (summary on stderr)" \
    '[ $rc -eq 2 ] && grep -qF "invalid value '"'"'many'"'"' for -n" "$tmp/err" && failed_summary "$tmp/err" 2'
run aquacast-stream-replay seed --csv c --db d --append --replace
check "stream-replay seed --append --replace: exit 2" '[ $rc -eq 2 ] && failed_summary "$tmp/out" 2'
run aquacast-stream-replay run --csv c --brokers b --append
check "stream-replay run --append: exit 2 (a seed option)" '[ $rc -eq 2 ] && failed_summary "$tmp/out" 2'
run aquacast-stream-replay seed --help
check "stream-replay --help documents --append | --replace" 'grep -q -- "--append | --replace" "$tmp/out"'
run aquacast-evaluate --help
check "evaluate --help documents --force and exit 3" 'grep -q -- "--force .*replace an existing --out atomically" "$tmp/out" && grep -q "3 evaluated but not promoted" "$tmp/out"'

# ---- failures: exit 1, "ok":false and "error" on the last stdout line
run aquacast-train --readings "$tmp/none" --out "$tmp/m"
check "train on a missing dataset: exit 1, summary with error" \
    '[ $rc -eq 1 ] && failed_summary "$tmp/out" 1 && jlast "$tmp/out" "\"accounts_ok\" in d and d[\"ok\"] is False"'
run aquacast-train --forecast "$tmp/none" --account 1
check "train --forecast of a missing set: exit 1, summary with error" '[ $rc -eq 1 ] && failed_summary "$tmp/out" 1'
run aquacast-evaluate --models "$tmp/none" --readings "$tmp/none" --out "$tmp/e"
check "evaluate on a missing set: exit 1, summary with error" '[ $rc -eq 1 ] && failed_summary "$tmp/out" 1'
run aquacast-extract --odbc "DRIVER=SQLite3;Database=$tmp/none.db" --out "$tmp/x"
check "extract from a missing table: exit 1, summary with error" '[ $rc -eq 1 ] && failed_summary "$tmp/out" 1'
run aquacast-stream-replay run --csv "$tmp/none.csv" --brokers 127.0.0.1:1
check "stream-replay on a missing csv: exit 1, summary with error and command" \
    '[ $rc -eq 1 ] && failed_summary "$tmp/out" 1 && jlast "$tmp/out" "d[\"command\"] == \"run\""'
run aquacast-synth --from-csv "$tmp/none.csv" --out "$tmp/s"
check "synth --from-csv of a missing file: exit 1, summary with error" '[ $rc -eq 1 ] && failed_summary "$tmp/out" 1'
run aquacast-shard stats "$tmp/none"
check "shard stats of a missing path: exit 1, summary with error" '[ $rc -eq 1 ] && failed_summary "$tmp/out" 1'
run aquacast-shard to-csv "$tmp"
check "shard to-csv of a non-dataset: exit 1, summary last on stderr" \
    '[ $rc -eq 1 ] && failed_summary "$tmp/err" 1 && ! grep -q "^{" "$tmp/out"'
run aquacast-register --tracking-uri "file:$tmp/reg" --eval "$tmp/none"
check "register of a missing evaluation: exit 1, summary with error and mode" \
    '[ $rc -eq 1 ] && failed_summary "$tmp/out" 1 && jlast "$tmp/out" "d[\"mode\"] == \"register\" and \"none/decision.json\" in d[\"error\"]"'
run aquacast-register --tracking-uri "file:$tmp/reg" --resolve champion
check "register --resolve of an unknown alias: exit 1, summary with error" \
    '[ $rc -eq 1 ] && failed_summary "$tmp/out" 1 && jlast "$tmp/out" "d[\"mode\"] == \"resolve\" and \"champion\" in d[\"error\"]"'
run aquacast-register --tracking-uri "ftp://x" --eval "$tmp/none"
check "register with a bad uri scheme: exit 1, summary with error" '[ $rc -eq 1 ] && failed_summary "$tmp/out" 1'
run aquacast-train --readings "$tmp/quote\"dir" --out "$tmp/m"
check "an error with quotes is escaped JSON" '[ $rc -eq 1 ] && failed_summary "$tmp/out" 1 && jlast "$tmp/out" "\"quote\\\"dir\" in d[\"error\"]"'

# ---- success: the pipe, the summary's place, the common keys
aquacast-synth --accounts 30 --days 40 --seed 3 --csv - 2>"$tmp/p1.err" |
    aquacast-synth --from-csv - --out "$tmp/ds" --parts 4 >"$tmp/p2.out" 2>"$tmp/p2.err"
st=("${PIPESTATUS[@]}")
check "synth --csv - | synth --from-csv - works" \
    '[ "${st[*]}" = "0 0" ] && jlast "$tmp/p2.out" "d[\"ok\"] is True and d[\"rows\"] > 0 and d[\"bad\"] == 0"'
check "synth --csv -: the summary is the last stderr line, with the rows written" \
    'jlast "$tmp/p1.err" "d[\"ok\"] is True and d[\"csv_rows\"] > 0 and d[\"exit_code\"] == 0"'
aquacast-synth --accounts 30 --days 40 --seed 3 --csv - 2>/dev/null | head -n 1 >"$tmp/h1"
check "synth --csv -: stdout starts with the CSV header" 'grep -qx "ConsumptionDate,AccountOID,Consumption" "$tmp/h1"'
run aquacast-synth --accounts 30 --days 40 --seed 4 --csv "$tmp/more.csv"
run aquacast-synth --from-csv "$tmp/more.csv" --out "$tmp/ds" --parts 8
check "synth --from-csv into an existing dataset keeps its 4 parts (warning for --parts 8)" \
    '[ $rc -eq 0 ] && jlast "$tmp/out" "d[\"parts\"] == 4" && grep -q "warning: .*4 parts" "$tmp/err"'
run aquacast-shard stats "$tmp/ds"
check "shard stats: ok summary last on stdout with the common keys" \
    'jlast "$tmp/out" "d[\"ok\"] is True and d[\"program\"] == \"aquacast-shard\" and d[\"command\"] == \"stats\" and \"seconds\" in d and d[\"parts\"] == 4"'
run aquacast-shard to-csv "$tmp/ds"
check "shard to-csv: stdout only CSV, summary last on stderr" \
    '[ $rc -eq 0 ] && head -n 1 "$tmp/out" | grep -qx "ConsumptionDate,AccountOID,Consumption" && ! grep -q "^{" "$tmp/out" && jlast "$tmp/err" "d[\"ok\"] is True and d[\"rows\"] > 0"'
run aquacast-train --readings "$tmp/ds" --out "$tmp/m1" --threads 1 --season 0 --max-p 2 --max-q 2
check "train: ok summary, \"ok\" a boolean and the count as accounts_ok" \
    '[ $rc -eq 0 ] && jlast "$tmp/out" "d[\"ok\"] is True and d[\"accounts\"] == 30 and d[\"accounts_ok\"] + d[\"fallback\"] == 30"'
acct=$(sed -n 2p "$tmp/more.csv" | cut -d, -f2)
run aquacast-train --forecast "$tmp/m1" --account "$acct" --days 5
check "train --forecast: the table, then the summary as the last stdout line" \
    '[ $rc -eq 0 ] && grep -q "^total " "$tmp/out" && jlast "$tmp/out" "d[\"ok\"] is True and d[\"account\"] == $acct and len(d[\"mean\"]) == 5"'
run aquacast-train --forecast "$tmp/m1" --account 999999999 --days 5
check "train --forecast of an unknown account: exit 1 naming it" \
    '[ $rc -eq 1 ] && grep -q "account .999999999. not found" "$tmp/err" && failed_summary "$tmp/out" 1'

rm -rf "$tmp"
[ "$fails" -eq 0 ]
