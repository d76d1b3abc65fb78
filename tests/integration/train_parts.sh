#!/usr/bin/env bash
# train_parts.sh — training mapped over part ranges (what Airflow's .expand() runs): each range is
# sealed in the run's hidden staging area, --seal makes the one model set once every part is there,
# and the result equals a single-process run (issue #14's contract, lib/trainparts.h).
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
aq_workspace train_parts
[ -n "${AQ_KEEP:-}" ] && echo "# kept $tmp" || trap 'rm -rf "$tmp"' EXIT
aq_snapshot_bins aquacast-synth aquacast-train aquacast-shard
# models as CSV without the run-dependent FitSeconds column
models_csv() { aquacast-shard to-csv "$1" 2>/dev/null | python3 -c '
import csv, sys
r = csv.reader(sys.stdin); h = next(r); i = h.index("FitSeconds")
for row in r: print(",".join(v for k, v in enumerate(row) if k != i))' | sort; }

aquacast-synth --accounts 120 --days 200 --seed 9 --out "$tmp/r" --parts 8 >/dev/null 2>&1
T="--readings $tmp/r --season 0 --threads 2 --unit part"
aquacast-train $T --out "$tmp/one" >/dev/null 2>&1
check "the single-process reference run" '[ -f "$tmp/one/_manifest.json" ]'

aquacast-train $T --out "$tmp/mapped" --parts 0-2 >"$tmp/p1.out" 2>/dev/null
check "a range run says part_range and not sealed" \
    'tail -n1 "$tmp/p1.out" | grep -q "\"part_range\":\"0-2\"" && tail -n1 "$tmp/p1.out" | grep -q "\"sealed\":false"'
check "... and leaves no model set (only the hidden staging area)" '[ ! -e "$tmp/mapped" ] && [ -d "$tmp/.mapped.parts" ]'
aquacast-train --seal "$tmp/mapped" >"$tmp/s0.out" 2>"$tmp/s0.log"
check "--seal before every part is there fails naming the missing parts" \
    '[ $? -eq 1 ] && grep -q "lacks parts 3-7" "$tmp/s0.log" && [ ! -e "$tmp/mapped" ]'
aquacast-train $T --out "$tmp/mapped" --parts 5-7 >/dev/null 2>&1
aquacast-train $T --out "$tmp/mapped" --parts 3-4 >/dev/null 2>&1
aquacast-train $T --out "$tmp/mapped" --parts 3-4 >/dev/null 2>&1
check "a rerun of a range replaces it" '[ "$(find "$tmp/.mapped.parts" -mindepth 1 -maxdepth 1 ! -name ".*" | wc -l)" = 3 ]'
aquacast-train --seal "$tmp/mapped" >"$tmp/s1.out" 2>"$tmp/s1.log"
check "--seal makes a sealed model set" '[ $? -eq 0 ] && [ -f "$tmp/mapped/_manifest.json" ] && [ ! -e "$tmp/.mapped.parts" ]'
aquacast-shard verify "$tmp/mapped" >/dev/null 2>&1
check "... that shard verify passes" '[ $? -eq 0 ]'
check "... with the same models as the single-process run" '[ -n "$(models_csv "$tmp/one")" ] && [ "$(models_csv "$tmp/one")" = "$(models_csv "$tmp/mapped")" ]'
check "... and the same account count in its manifest" \
    '[ "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"accounts\"])" "$tmp/mapped/_manifest.json")" = "$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"accounts\"])" "$tmp/one/_manifest.json")" ]'
aquacast-train --seal "$tmp/mapped" >"$tmp/s2.out" 2>&1
check "sealing a sealed run again is a no-op (a retried task succeeds)" '[ $? -eq 0 ] && grep -q "\"already_sealed\":true" "$tmp/s2.out"'
aquacast-train $T --out "$tmp/mapped" --parts 0-1 >/dev/null 2>"$tmp/p9.log"
check "a range of a sealed run is refused" '[ $? -eq 1 ] && grep -q "sealed already" "$tmp/p9.log"'

aquacast-train $T --out "$tmp/over" --parts 0-4 >/dev/null 2>&1
aquacast-train $T --out "$tmp/over" --parts 3-7 >/dev/null 2>&1
aquacast-train --seal "$tmp/over" >/dev/null 2>"$tmp/o.log"
check "overlapping ranges are refused" '[ $? -eq 1 ] && grep -q "overlap" "$tmp/o.log"'
aquacast-train $T --out "$tmp/mixed" --parts 0-3 >/dev/null 2>&1
aquacast-train $T --out "$tmp/mixed" --parts 4-7 --mode refit --prev "$tmp/one" >/dev/null 2>&1
aquacast-train --seal "$tmp/mixed" >/dev/null 2>"$tmp/m.log"
check "ranges of different runs (mode) are refused" '[ $? -eq 1 ] && grep -q "has mode" "$tmp/m.log"'
aquacast-train $T --out "$tmp/bad" --parts 6-9 >/dev/null 2>"$tmp/b.log"
check "a range outside the dataset's parts is refused" '[ $? -eq 1 ] && grep -q "outside" "$tmp/b.log"'
aquacast-train $T --out "$tmp/bad" --parts 5-2 >/dev/null 2>&1
check "--parts 5-2 is a usage error" '[ $? -eq 2 ]'
aquacast-train --seal "$tmp/bad" --readings "$tmp/r" >/dev/null 2>&1
check "--seal with other inputs is a usage error" '[ $? -eq 2 ]'
[ "$fails" -eq 0 ]
