#!/usr/bin/env bash
# synth.sh — aquacast-synth end to end: determinism, day windows, thread independence,
# CSV and shards holding the same rows (read back by DuckDB, an independent Parquet and
# CSV reader), the strict CSV import of DAIAD's real daily.csv, and the ODBC load.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
S=bin/aquacast-synth
tmp=${AQ_TEST_TMP:-/tmp}/synth-it.$$
mkdir -p "$tmp"
PY=$(scripts/venv.sh requirements/test.txt)/bin/python

A=400
$S --accounts $A --seed 9 --csv "$tmp/a.csv" --truth "$tmp/truth.csv" --out "$tmp/ds" --parts 8 >"$tmp/a.json" 2>"$tmp/a.log"
check "synth writes csv, shards and truth" '[ $? -eq 0 ] && [ -s "$tmp/a.csv" ] && [ -s "$tmp/truth.csv" ]'
check "last stdout line is the JSON summary" \
    "$PY -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[-1]); assert d[\"accounts\"]==$A and d[\"rows\"]>0 and d[\"rows_per_s\"]>0' '$tmp/a.json'"
$S --accounts $A --seed 9 --csv "$tmp/b.csv" --threads 1 >/dev/null 2>&1
check "same seed, other thread count: identical bytes" 'cmp -s "$tmp/a.csv" "$tmp/b.csv"'
$S --accounts $A --seed 10 --csv "$tmp/c.csv" >/dev/null 2>&1
check "another seed: different data" '! cmp -s "$tmp/a.csv" "$tmp/c.csv"'
# A day window equals the same days of the full run (dates 2022-07-10 .. 2022-10-17).
$S --accounts $A --seed 9 --from-day 100 --to-day 2022-10-18 --csv "$tmp/w.csv" >/dev/null 2>&1
check "a day window is a slice of the full calendar" \
    'cmp -s "$tmp/w.csv" <(awk -F, "NR==1 || (\$1 >= \"2022-07-10\" && \$1 <= \"2022-10-17\")" "$tmp/a.csv")'
# Account subsets: two ranges together are the full run (rows and planted truth).
$S --accounts $A --seed 9 --account-range 0:150 --csv "$tmp/s1.csv" --truth "$tmp/t1.csv" >/dev/null 2>&1
$S --accounts $A --seed 9 --account-range 150:$A --csv "$tmp/s2.csv" --truth "$tmp/t2.csv" --threads 1 >/dev/null 2>&1
check "account ranges 0:150 + 150:$A equal the full run (csv)" \
    'cmp -s <(tail -q -n +2 "$tmp/s1.csv" "$tmp/s2.csv" | sort) <(tail -n +2 "$tmp/a.csv" | sort)'
check "account ranges 0:150 + 150:$A equal the full run (truth)" \
    'cmp -s <(cat "$tmp/t1.csv"; tail -n +2 "$tmp/t2.csv") "$tmp/truth.csv"'
check "bad options exit 2" '$S --accounts 0 --csv - >/dev/null 2>&1; [ $? -eq 2 ] && { $S >/dev/null 2>&1; [ $? -eq 2 ]; } && { $S --account-range 5:5 --csv - >/dev/null 2>&1; [ $? -eq 2 ]; }'

# CSV and shards: the same (date, account, value) rows, read by DuckDB.
$PY - "$tmp" <<'PYEOF' && ok "csv and shards agree (DuckDB)" || nok "csv and shards agree (DuckDB)"
import sys, duckdb, math
t = sys.argv[1]
con = duckdb.connect()
q = lambda s: con.execute(s).fetchall()
csv = q(f"""SELECT ConsumptionDate, AccountOID, Consumption FROM read_csv('{t}/a.csv', header=true,
        columns={{'ConsumptionDate':'DATE','AccountOID':'BIGINT','Consumption':'DOUBLE'}}) ORDER BY 2, 1""")
pq = q(f"""SELECT ConsumptionDate, AccountOID, Consumption FROM read_parquet('{t}/ds/readings/*/*.parquet') ORDER BY 2, 1""")
assert len(csv) == len(pq) > 10000, (len(csv), len(pq))
bad = [(a, b) for a, b in zip(csv, pq) if a[:2] != b[:2] or not (a[2] == b[2] or (a[2] is None and (b[2] is None or math.isnan(b[2]))))]
assert not bad, bad[:5]
# planted properties visible through an independent reader
n_spike = q(f"SELECT count(*) FROM read_csv_auto('{t}/a.csv') WHERE Consumption > 800")[0][0]
n_null = sum(1 for r in csv if r[2] is None)
assert n_spike > 0 and n_null > 0, (n_spike, n_null)
print(f"{len(csv)} rows, {n_spike} spikes > 800, {n_null} NaN rows")
PYEOF

# Re-import of the CSV through the strict reader gives the same dataset content.
$S --from-csv "$tmp/a.csv" --out "$tmp/re" --parts 8 >"$tmp/re.json" 2>"$tmp/re.log"
if [ -x bin/aquacast-shard ]; then
    check "csv re-import equals the direct shards (aquacast-shard to-csv)" \
        'cmp -s <(bin/aquacast-shard to-csv "$tmp/ds") <(bin/aquacast-shard to-csv "$tmp/re")'
else
    check "csv re-import reads every row" "grep -q '\"rows\":$(($(wc -l <"$tmp/a.csv") - 1)),' '$tmp/re.json'"
fi

# The truth file: every planted spike is in the CSV with its value.
$PY - "$tmp" <<'PYEOF' && ok "truth spikes match the csv" || nok "truth spikes match the csv"
import sys, pandas as pd
t = sys.argv[1]
d = pd.read_csv(f"{t}/a.csv")
tr = pd.read_csv(f"{t}/truth.csv")
sp = tr[tr.Event == "spike"]
m = sp.merge(d, left_on=["AccountOID", "StartDate"], right_on=["AccountOID", "ConsumptionDate"])
assert len(sp) > 0 and len(m) == len(sp) and (abs(m.Consumption - m.Size) < 1e-9).all()
assert set(tr.Event) >= {"join", "leak", "vacation", "spike", "negative", "nan_value"}, set(tr.Event)
PYEOF

# DAIAD's real daily.csv through the strict reader into shards; DuckDB compares.
daiad=${AQ_DAIAD:-/work/shared/data/daiad/daily.csv}
if [ -r "$daiad" ]; then
    $S --from-csv "$daiad" --out "$tmp/daiad" --parts 4 >"$tmp/d.json" 2>"$tmp/d.log"
    check "DAIAD csv imports (0 bad rows, 91 accounts)" \
        "$PY -c 'import json,sys; d=json.loads(open(sys.argv[1]).read().splitlines()[-1]); assert d[\"bad\"]==0 and d[\"accounts\"]==91 and d[\"rows\"]==34292, d' '$tmp/d.json'"
    $PY - "$tmp" "$daiad" <<'PYEOF' && ok "DAIAD shards equal the csv (DuckDB)" || nok "DAIAD shards equal the csv (DuckDB)"
import sys, duckdb
t, src = sys.argv[1], sys.argv[2]
con = duckdb.connect()
a = con.execute(f"SELECT ConsumptionDate, AccountOID, Consumption FROM read_csv_auto('{src}') ORDER BY 2, 1").fetchall()
b = con.execute(f"SELECT ConsumptionDate, AccountOID, Consumption FROM read_parquet('{t}/daiad/readings/*/*.parquet') ORDER BY 2, 1").fetchall()
assert a == b, (len(a), len(b))
PYEOF
else
    nok "DAIAD csv not present at $daiad (set AQ_DAIAD)"
fi
# A damaged copy: a bad row is reported with its line number, never loaded silently.
{ head -n 100 "$daiad"; echo "2016-03-31,5,0.1O5"; tail -n +101 "$daiad" | head -n 50; } >"$tmp/bad.csv" 2>/dev/null
$S --from-csv "$tmp/bad.csv" --out "$tmp/bad" >/dev/null 2>"$tmp/bad.log"
check "a bad csv row fails the import and names line 101" '[ $? -eq 1 ] && grep -q "line 101" "$tmp/bad.log"'
$S --from-csv "$tmp/bad.csv" --out "$tmp/bad2" --max-bad 1 >"$tmp/bad2.json" 2>/dev/null
check "--max-bad 1 skips it and counts it" "grep -q '\"bad\":1' '$tmp/bad2.json' && grep -q '\"rows\":149' '$tmp/bad2.json'"

# ODBC: a day window into SQLite (schema from sql/sqlite), rows equal the same window of the CSV.
db=$tmp/portal.db
$S --accounts $A --seed 9 --to-day 73 --odbc "DRIVER=SQLite3;Database=$db" --schema sql >"$tmp/o.json" 2>"$tmp/o.log"
n_db=$(sqlite3 "$db" "SELECT COUNT(*) FROM PORTAL_ConsumptionDaily" 2>/dev/null || echo -1)
n_csv=$(awk -F, 'NR > 1 && $1 < "2022-06-13"' "$tmp/a.csv" | wc -l)
check "ODBC load of days 0..72 into SQLite ($n_db rows, csv $n_csv)" '[ "$n_db" = "$n_csv" ] && [ "$n_db" -gt 0 ]'
check "RowId follows the feed order (date-major)" \
    '[ "$(sqlite3 "$db" "SELECT COUNT(*) FROM PORTAL_ConsumptionDaily a JOIN PORTAL_ConsumptionDaily b ON b.RowId = a.RowId + 1 WHERE b.ConsumptionDate < a.ConsumptionDate")" = 0 ]'
sqlite3 -csv "$db" "SELECT ConsumptionDate, AccountOID, Consumption FROM PORTAL_ConsumptionDaily ORDER BY RowId" >"$tmp/db.csv"
check "database values equal the csv (NULL for NaN)" \
    'cmp -s <(awk -F, "NR > 1 && \$1 < \"2022-06-13\"" "$tmp/a.csv") "$tmp/db.csv"'
rm -rf "$tmp"
exit $((fails > 0))
