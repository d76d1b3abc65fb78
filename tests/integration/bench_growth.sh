#!/usr/bin/env bash
# bench_growth.sh — bench/train/growth at two tiny sizes: a table and one JSON line last with every step
# at both sizes and the growth ratios; the preparation is cached and reused, an unsealed (interrupted)
# preparation is never reused, --prep-only measures nothing. Timings themselves are not judged here.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
aq_workspace bench_growth
[ -n "${AQ_KEEP:-}" ] && echo "# kept $tmp" || trap 'rm -rf "$tmp"' EXIT
export AQ_GROWTH_CACHE=$tmp/cache AQ_GROWTH_SIZES="60 120" AQ_GROWTH_DAYS=80 AQ_GROWTH_NEW=10 AQ_GROWTH_PARTS=4 \
    AQ_GROWTH_PREP_NICE=0 AQ_GROWTH_PRIOR_RANGES=2 TMPDIR=$tmp

bench/train/growth --prep-only >"$tmp/p.out" 2>"$tmp/p.err"
check "--prep-only exits 0 and names two sealed preparations" \
    '[ $? -eq 0 ] && [ "$(grep -c "\"ready\"" "$tmp/p.out")" -eq 2 ] && [ "$(ls -d "$tmp"/cache/growth-*/READY | wc -l)" -eq 2 ]'
check "... the prior sets are sealed model sets of every account with data" \
    '(for d in "$tmp"/cache/growth-*/; do [ -f "$d/prior/_manifest.json" ] || exit 1; done)'
check "... and no stage left half-made" '! ls -d "$tmp"/cache/growth-*/*.part "$tmp"/cache/growth-*/.prior.part.parts 2>/dev/null | grep -q .'
check "... the feed: a watermark in the dataset, new rows above it in the table" '(for d in "$tmp"/cache/growth-*/; do
    w=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))[\"watermark\"])" "$d/feed/readings/_state/extract.json") &&
    [ "$w" -gt 0 ] && [ "$(sqlite3 "$d/feed/portal.db" "SELECT count(*) FROM PORTAL_ConsumptionDaily WHERE RowId > $w")" -eq "$(cat "$d/feed/rows.txt")" ] || exit 1; done)'

bench/train/growth >"$tmp/r.out" 2>"$tmp/r.err"
check "a measured run exits 0" '[ $? -eq 0 ]'
check "... reuses the cache (prepares nothing)" '! grep -q "preparing" "$tmp/r.err"'
check "... prints the table" 'grep -q "^refit  *120 " "$tmp/r.out" && grep -q "^growth 120/60 per account" "$tmp/r.out"'
last_json "$tmp/r.out" >"$tmp/r.json"
check "... and one JSON line last: 4 steps at both sizes, growth ratios, sizes on disk" 'python3 - "$tmp/r.json" <<'"'"'PY'"'"'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["bench"] == "train_growth" and j["growth_of"] == [60, 120]
for s in ("extract", "update", "refit", "evaluate"):
    for n in ("60", "120"):
        m = j["steps"][s][n]
        assert m["wall"] >= 0 and m["rss_kb"] > 0 and m["exit"] in (0, 3), (s, n, m)
    g = j["growth"][s]
    assert g["wall"] > 0 and g["rss_kb"] > 0 and (g["cpu"] is None or g["cpu"] >= 0), (s, g)  # CPU may round to 0
assert j["steps"]["refit"]["120"]["refitted"] > 0 and j["steps"]["update"]["120"]["updated"] > 0
assert j["steps"]["extract"]["120"]["rows"] > 0
for n in ("60", "120"):
    z = j["sizes"][n]
    assert all(z[k] > 0 for k in ("readings_bytes", "db_bytes", "prior_bytes", "update_bytes", "refit_bytes"))
PY'

# an interrupted preparation (no READY marker, a stage missing) is prepared again, not used
d=$(ls -d "$tmp"/cache/growth-120-*/ | sed "s,/$,,")
rm -rf "$d/READY" "$d/prior" "$d/feed"
AQ_GROWTH_SIZES=120 bench/train/growth --prep-only >"$tmp/p2.out" 2>"$tmp/p2.err"
check "an unsealed preparation is completed (the missing stage only) and sealed" \
    '[ $? -eq 0 ] && grep -q "preparing 120" "$tmp/p2.err" && grep -q "prior model set" "$tmp/p2.err" &&
     ! grep -q "preparing 60" "$tmp/p2.err" && [ -f "$d/READY" ] && [ -f "$d/prior/_manifest.json" ]'
bench/train/growth --bogus >/dev/null 2>"$tmp/u.err"
check "an unknown argument is a usage error (exit 2) naming it" '[ $? -eq 2 ] && grep -q "bogus" "$tmp/u.err"'
[ "$fails" -eq 0 ]
