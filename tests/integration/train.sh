#!/usr/bin/env bash
# train.sh — aquacast-train end to end on a dataset full of degenerate accounts: full, update, refit, auto,
# carry-over, --until, --accounts, --forecast, --lambda, immutability, usage errors.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
T=${AQ_TEST_TMP:-/tmp}/train.$$
mkdir -p "$T"
trap 'rm -rf "$T"' EXIT
train=$top/bin/aquacast-train
tool=$top/build/dev/tools/train_tool
py=$(scripts/venv.sh requirements/test.txt)/bin/python
[ -x "$train" ] && [ -x "$tool" ] || { nok "binaries built"; exit 1; }

# Accounts (200 days from 2022-04-01): 1 normal weekly, 2 normal AR + gaps, 3 constant, 4 all zero,
# 5 all NaN, 6 three days, 7 huge spikes, 8 negative only, 9 joins in the last month.
awk 'BEGIN {
    srand(7); print "ConsumptionDate,AccountOID,Consumption"
    split("1 1.1 0.9 1 1.2 2.4 2.7", wk, " ")
    for (i = 0; i < 200; i++) {
        t = 19083 + i; cmd = ""  # 19083 = 2022-04-01
        d = strftime("%Y-%m-%d", t * 86400, 1)
        z = 0; for (k = 0; k < 12; k++) z += rand(); z -= 6
        printf "%s,1,%.4f\n", d, 0.4 * wk[i % 7 + 1] * exp(0.25 * z)
        a = 0.6 * a + z; if (i % 23 != 5) printf "%s,2,%.4f\n", d, 3 + 0.5 * a
        printf "%s,3,1.25\n", d
        printf "%s,4,0\n", d
        printf "%s,5,\n", d
        if (i < 3) printf "%s,6,%.3f\n", d, 0.5 + i
        printf "%s,7,%.4f\n", d, (i % 37 == 10) ? 1e6 : 0.3 + 0.1 * rand()
        printf "%s,8,-1\n", d
        if (i >= 170) printf "%s,9,%.4f\n", d, 0.2 + 0.1 * rand()
    } }' >"$T/r.csv"
"$tool" csv2readings "$T/r.csv" "$T/rd" 4 >/dev/null || { nok "csv2readings"; exit 1; }

# 1. full search on data up to day 169 (2022-09-17), weekly season
"$train" --readings "$T/rd" --out "$T/m1" --until 2022-09-17 --threads 2 --season 7 >"$T/m1.out" 2>"$T/m1.err"
rc=$?
check_run "full run exits 0" [ $rc -eq 0 ]
j=$(tail -n 1 "$T/m1.out")
field() { echo "$1" | "$py" -c "import json,sys; print(json.load(sys.stdin)['$2'])"; }
check_run "full: 8 accounts (9 joins later)" [ "$(field "$j" accounts)" = 8 ]
check_run "full: 3 ok (incl. spikes), 5 fallback, 0 failed" [ "$(field "$j" accounts_ok)/$(field "$j" fallback)/$(field "$j" failed)" = "3/5/0" ]
check_run "full: summary has timing keys" [ -n "$(field "$j" fit_ms_median)" ] && [ -n "$(field "$j" fit_ms_p99)" ]

# statuses and reasons through pyarrow (interop of the model-set schema)
"$py" - "$T/m1" >"$T/m1.rows" 2>&1 <<'EOF'
import glob, sys, struct, math
import pyarrow.parquet as pq, pyarrow as pa
t = pa.concat_tables([pq.read_table(f) for f in sorted(glob.glob(sys.argv[1] + "/models/part=*/*.parquet"))])
assert t.schema.field("Coef").type == pa.binary()
for r in sorted(t.to_pylist(), key=lambda r: r["AccountOID"]):
    recent = struct.unpack("<28d", r["Recent"])
    print(r["AccountOID"], r["Status"], r["Spec"].split(" ")[0], r["TrainedUntil"], "|" + r["Reason"] + "|", r["Served"],
          sum(1 for v in recent if not math.isnan(v)))
EOF
cat "$T/m1.rows"
grep -q '^1 ok ARIMA' "$T/m1.rows" && grep -q '^2 ok ARIMA' "$T/m1.rows"; check_run "normal accounts get ARIMA models" [ $? -eq 0 ]
grep -q '^3 fallback MEAN .*|constant series|' "$T/m1.rows"; check_run "constant -> fallback" [ $? -eq 0 ]
grep -q '^4 fallback MEAN .*|all zero|' "$T/m1.rows"; check_run "all zero -> fallback" [ $? -eq 0 ]
grep -q '^5 fallback MEAN .*|no valid readings|' "$T/m1.rows"; check_run "all NaN -> fallback" [ $? -eq 0 ]
grep -q '^6 fallback MEAN .*|too short' "$T/m1.rows"; check_run "3 days -> fallback" [ $? -eq 0 ]
grep -q '^8 fallback MEAN .*|no valid readings|' "$T/m1.rows"; check_run "negative only -> fallback" [ $? -eq 0 ]
grep -q '^7 fallback MEAN' "$T/m1.rows" || grep -q '^7 ok' "$T/m1.rows"; check_run "huge spikes -> a model" [ $? -eq 0 ]
grep -q 'arima 28$' "$T/m1.rows"; check_run "Recent holds 28 days, Served arima" [ $? -eq 0 ]

# 2. forecasts: every account, finite and never negative
allgood=1
for a in 1 2 3 4 5 6 7 8; do
    "$train" --forecast "$T/m1" --account $a --days 30 >"$T/f$a.out" 2>/dev/null || allgood=0
    awk 'NR > 2 && $1 != "" && $1 !~ /^\{/ { for (i = 2; i <= 6; i++) if ($i !~ /^[0-9.]+$/) bad = 1 } END { exit bad }' "$T/f$a.out" || allgood=0
done
check_run "forecast: 30 days + total, finite, >= 0 for every account" [ $allgood -eq 1 ]
check_run "forecast: 32 table lines" [ "$(grep -cE '^(20[0-9-]+|total) ' "$T/f1.out")" = 31 ]
"$train" --forecast "$T/m1" --account 424242 --days 30 >/dev/null 2>&1
check_run "forecast: unknown account exits 1" [ $? -eq 1 ]

# 3. update with the rest of the data: 1,2 updated, 9 new (searched or fallback), unchanged carried
"$train" --readings "$T/rd" --out "$T/m2" --prev "$T/m1" --mode update --threads 2 >"$T/m2.out" 2>"$T/m2.err"
check_run "update exits 0" [ $? -eq 0 ]
j=$(tail -n 1 "$T/m2.out")
check_run "update: 9 accounts, the 3 ARIMA accounts updated, 1 searched (new)" [ "$(field "$j" accounts)/$(field "$j" updated)/$(field "$j" searched)" = "9/3/1" ]
"$train" --forecast "$T/m2" --account 1 --days 7 >"$T/u1.out" 2>/dev/null
grep -q 'trained until 2022-10-17' "$T/u1.out"; check_run "update: state moved to the last day" [ $? -eq 0 ]

# 4. refit and auto from m1; an immediate second update carries everything
"$train" --readings "$T/rd" --out "$T/m3" --prev "$T/m1" --mode refit --threads 2 >"$T/m3.out" 2>"$T/m3.err"
j=$(tail -n 1 "$T/m3.out")
check_run "refit: the 3 ARIMA accounts refitted (a rejected refit keeps its coefficients: updated), the new one searched" [ $(( $(field "$j" refitted) + $(field "$j" updated) + $(field "$j" searched) )) -eq 4 ] && [ "$(field "$j" refitted)" -ge 2 ] && [ "$(field "$j" searched)" -ge 1 ]
"$train" --readings "$T/rd" --out "$T/m4" --prev "$T/m1" --mode auto --threads 2 >"$T/m4.out" 2>"$T/m4.err"
j=$(tail -n 1 "$T/m4.out")
check_run "auto: every ARIMA account refitted or re-searched" [ $(( $(field "$j" refitted) + $(field "$j" researched) )) -eq 3 ]
"$train" --readings "$T/rd" --out "$T/m5" --prev "$T/m2" --mode update >"$T/m5.out" 2>/dev/null
j=$(tail -n 1 "$T/m5.out")
check_run "no new data: all 9 carried" [ "$(field "$j" carried)" = 9 ]

# 5. --accounts: only 1 is searched, the others carried from prev
"$train" --readings "$T/rd" --out "$T/m6" --prev "$T/m1" --accounts 1 --season 0 >"$T/m6.out" 2>/dev/null
j=$(tail -n 1 "$T/m6.out")
check_run "--accounts 1: one searched, 7 carried" [ "$(field "$j" searched)/$(field "$j" carried)" = "1/7" ]

# 6. --lambda: a transformed fit (model set v3 Lambda/LambdaShift), its forecast back-transformed; update
#    and refit keep the transform; fallbacks and the default carry none
"$train" --readings "$T/rd" --out "$T/b1" --until 2022-09-17 --threads 2 --lambda log1p >"$T/b1.out" 2>"$T/b1.err"
check_run "--lambda log1p exits 0" [ $? -eq 0 ]
check_run "--lambda log1p: summary says so" [ "$(field "$(tail -n 1 "$T/b1.out")" lambda)" = log1p ]
"$train" --readings "$T/rd" --out "$T/b2" --prev "$T/b1" --mode update >/dev/null 2>&1
"$train" --readings "$T/rd" --out "$T/b3" --prev "$T/b1" --mode refit >/dev/null 2>&1
"$py" - "$T" >"$T/b.rows" 2>&1 <<'EOF'
import glob, sys, math
import pyarrow.parquet as pq, pyarrow as pa
for s in ("m1", "b1", "b2", "b3"):
    t = pa.concat_tables([pq.read_table(f) for f in sorted(glob.glob(f"{sys.argv[1]}/{s}/models/part=*/*.parquet"))])
    assert pq.read_metadata(glob.glob(f"{sys.argv[1]}/{s}/models/part=*/*.parquet")[0]).metadata[b"aquacast.schema_version"] == b"3"
    for r in sorted(t.to_pylist(), key=lambda r: r["AccountOID"]):
        lam = "none" if math.isnan(r["Lambda"]) else f'{r["Lambda"]:g}/{r["LambdaShift"]:g}'
        print(s, r["AccountOID"], r["Status"], lam)
EOF
cat "$T/b.rows"
check_run "default: no account transformed" [ "$(grep -c '^m1 .* none$' "$T/b.rows")" = 8 ]
check_run "log1p: the 3 ARIMA accounts on lambda 0, shift 1; fallbacks none" [ "$(grep -c '^b1 [0-9]* ok 0/1$' "$T/b.rows")" = 3 ] && [ "$(grep -c '^b1 [0-9]* fallback none$' "$T/b.rows")" = 5 ]
check_run "update and refit keep the transform" [ "$(grep -c '^b[23] [127] ok 0/1$' "$T/b.rows")" = 6 ]
"$train" --forecast "$T/b2" --account 1 --days 7 >"$T/bf.out" 2>/dev/null
grep -q 'on log1p' "$T/bf.out" && "$py" - "$T/bf.out" <<'EOF'
import json, sys
lines = open(sys.argv[1]).read().splitlines()
rows = [l.split() for l in lines[2:9]]
for d in rows:
    m, lo80, hi80, lo95, hi95 = map(float, d[1:])
    assert 0 <= lo95 <= lo80 <= m <= hi80 <= hi95, d
    assert hi95 - m > m - lo95, d          # back-transformed quantiles: right-skewed
j = json.loads(lines[-1])
assert j["transform"] == "log1p" and j["total"] > 0, j
EOF
check_run "forecast of a transformed row: median inside skewed back-transformed bounds" [ $? -eq 0 ]
"$train" --readings "$T/rd" --out "$T/x" --lambda sqrt >/dev/null 2>&1
check_run "bad --lambda is a usage error (exit 2)" [ $? -eq 2 ]

# 7. immutability and usage
"$train" --readings "$T/rd" --out "$T/m1" >/dev/null 2>&1
check_run "existing model set refused (exit 1)" [ $? -eq 1 ]
"$train" --readings "$T/rd" --out "$T/x" --mode sideways >/dev/null 2>&1
check_run "bad mode is a usage error (exit 2)" [ $? -eq 2 ]
"$train" --help | grep -q -- '--mode full|refit|update|auto'; check_run "--help" [ $? -eq 0 ]

[ $fails -eq 0 ]
