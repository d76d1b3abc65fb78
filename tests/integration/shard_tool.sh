#!/usr/bin/env bash
# shard_tool.sh — aquacast-shard on real datasets: verify, stats, head, to-csv, compact, and bad input
# (corrupt, truncated, foreign files; wrong part; empty dataset; not a dataset). TAP-style lines.
set -uo pipefail
cd "$(dirname "$0")/../.."
top=$PWD
SHARD=$top/bin/aquacast-shard
PQ=$top/build/dev/tools/pq_tool
work=$(mktemp -d "${AQ_TEST_TMP:-/tmp}/shard_tool.XXXXXX")
fails=0

ok() { echo "ok - $1"; }
no() { echo "not ok - $1"; fails=$((fails + 1)); }
check() { # name, command...
    local name=$1; shift
    if "$@"; then ok "$name"; else no "$name"; fi
}
json_get() { # key, json line
    python3 -c 'import json,sys; v=json.loads(sys.argv[2]).get(sys.argv[1]); print("null" if v is None else v)' "$1" "$2"
}

for b in "$SHARD" "$PQ"; do
    [ -x "$b" ] || { echo "not ok - missing $b (run make)"; exit 1; }
done

# rows "DAYS ACCOUNT BITS": accounts A0..A0+NA-1, days D0..D0+ND-1, value = account*1000 + day + ADD
gen() { # NA ND D0 ADD
    python3 - "$@" <<'PY'
import struct, sys
na, nd, d0, add = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
out = []
for d in range(nd):                      # date-major: the writer has to sort
    for a in range(na):
        v = float("nan") if (a + d) % 29 == 0 else (a * 1000 + d) / 1000 + add
        out.append("%d %d %016x\n" % (d0 + d, 3000000 + a, struct.unpack("<Q", struct.pack("<d", v))[0]))
sys.stdout.write("".join(out))
PY
}

ds=$work/ds
gen 300 40 19083 0 | "$PQ" batch "$ds" 8 first >/dev/null || no "write batch 1"
gen 300 20 19113 0.5 | "$PQ" batch "$ds" 8 second >/dev/null || no "write batch 2" # days 30..49, 30..39 overlap

# --- verify, stats
out=$("$SHARD" verify "$ds"); rc=$?
check "verify a good dataset" [ $rc -eq 0 ]
check "verify reports 16 files, 0 bad" [ "$(json_get files "$(tail -n1 <<<"$out")")" = 16 ] 
check "verify counts CRC'd pages" [ "$(json_get pages "$(tail -n1 <<<"$out")")" = "$(json_get pages_crc "$(tail -n1 <<<"$out")")" ]
st=$("$SHARD" stats "$ds" | tail -n1)
check "stats rows after latest-wins merge" [ "$(json_get rows "$st")" = $((300 * 50)) ]
check "stats accounts" [ "$(json_get accounts "$st")" = 300 ]
check "stats batches" [ "$(json_get batches "$st")" = 2 ]
check "stats date range" [ "$(json_get date_min "$st")/$(json_get date_max "$st")" = "2022-04-01/2022-05-20" ]
nan=$(python3 -c 'print(sum(1 for d in range(50) for a in range(300) if (a + (d if d < 30 else d - 30)) % 29 == 0))')
check "stats NaN count" [ "$(json_get nan "$st")" = "$nan" ]

# --- to-csv: latest batch wins on the overlap; CSV shape of the assignment
"$SHARD" to-csv "$ds" >"$work/a.csv"
check "to-csv header" [ "$(head -n1 "$work/a.csv")" = "ConsumptionDate,AccountOID,Consumption" ]
check "to-csv rows" [ "$(($(wc -l <"$work/a.csv") - 1))" = 15000 ]
python3 - "$work/a.csv" <<'PY' && ok "to-csv values: second batch wins on overlapping days" || no "to-csv values: second batch wins on overlapping days"
import csv, datetime, math, sys
e = datetime.date(1970, 1, 1)
for r in csv.DictReader(open(sys.argv[1])):
    d = (datetime.date.fromisoformat(r["ConsumptionDate"]) - e).days - 19083
    a = int(r["AccountOID"]) - 3000000
    if d >= 30:
        dd, add = d - 30, 0.5
    else:
        dd, add = d, 0.0
    want = math.nan if (a + dd) % 29 == 0 else (a * 1000 + dd) / 1000 + add
    got = float(r["Consumption"]) if r["Consumption"] else math.nan
    if not (got == want or (math.isnan(got) and math.isnan(want))):
        sys.exit("row %r: want %r" % (r, want))
PY
check "head -n 5" [ "$("$SHARD" head -n 5 "$ds" | wc -l)" = 6 ]
f1=$work/one.parquet
cp "$(ls "$ds"/readings/part=003/*.parquet | head -n1)" "$f1"
check "head of a file" [ "$("$SHARD" head -n 2 "$f1" | wc -l)" = 3 ]
check "stats of a file" bash -c "'$SHARD' stats '$f1' | tail -n1 | grep -q '\"schema\":\"aquacast.readings\"'"

# --- compact: one file per part, same content
cj=$("$SHARD" compact "$ds" 2>/dev/null | tail -n1)
check "compact: 16 files -> 8" [ "$(json_get files_before "$cj")/$(json_get files_after "$cj")" = "16/8" ]
"$SHARD" to-csv "$ds" >"$work/b.csv"
check "compact keeps the merged content" cmp -s "$work/a.csv" "$work/b.csv"
check "compacted files are named *-compact.parquet" [ "$(ls "$ds"/readings/part=*/*-compact.parquet | wc -l)" = 8 ]
check "verify after compact" "$SHARD" verify "$ds" >/dev/null
check "compact --part of a compacted part is a no-op" bash -c "'$SHARD' compact '$ds' --part 2 | tail -n1 | grep -q '\"files_after\":1'"

# --- bad input: a clear error naming the file, never a crash
cp -r "$ds" "$work/bad"
victim=$(ls "$work"/bad/readings/part=005/*.parquet | head -n1)
python3 - "$victim" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[200] ^= 0x40; open(p, "wb").write(b)
PY
out=$("$SHARD" verify "$work/bad"); rc=$?
check "verify: flipped byte -> exit 1" [ $rc -eq 1 ]
check "verify names the bad file" grep -q "BAD $victim" <<<"$out"
err=$("$SHARD" to-csv "$work/bad" 2>&1 >/dev/null); rc=$?
check "to-csv of a corrupt dataset fails naming the file" bash -c "[ $rc -eq 1 ] && grep -q '$(basename "$victim")' <<<'$err'"

head -c 1000 "$f1" >"$work/trunc.parquet"
out=$("$SHARD" verify "$work/trunc.parquet"); rc=$?
check "truncated file -> verify exit 1" bash -c "[ $rc -eq 1 ] && grep -q 'BAD .*trunc.parquet: .*truncated' <<<'$out'"
echo "this is not parquet" >"$work/foreign.parquet"
out=$("$SHARD" verify "$work/foreign.parquet"); rc=$?
check "foreign file -> exit 1, bad magic" bash -c "[ $rc -eq 1 ] && grep -q 'magic' <<<'$out'"
: >"$work/empty.parquet"
check "empty file -> exit 1" bash -c "! '$SHARD' stats '$work/empty.parquet' 2>/dev/null"
check "missing file -> exit 1" bash -c "! '$SHARD' stats '$work/nope.parquet' 2>/dev/null"
mkdir -p "$work/plain"
err=$("$SHARD" stats "$work/plain" 2>&1); rc=$?
check "a directory that is not a dataset -> exit 1 with the reason" bash -c "[ $rc -eq 1 ] && grep -q 'not a dataset' <<<'$err'"

# a file moved into the wrong part
cp -r "$ds" "$work/moved"
mv "$(ls "$work"/moved/readings/part=001/*.parquet | head -n1)" "$work/moved/readings/part=002/00000000000000000001-moved.parquet"
out=$("$SHARD" verify "$work/moved"); rc=$?
check "verify: rows in the wrong part -> exit 1" bash -c "[ $rc -eq 1 ] && grep -q 'belongs to part 1, found in part 2' <<<'$out'"

# a temp file of an interrupted write is ignored by readers, noted by verify
touch "$ds/readings/part=000/.00000000000000000009-x.parquet.tmp.123.0"
out=$("$SHARD" verify "$ds"); rc=$?
check "leftover temp file: ignored, noted" bash -c "[ $rc -eq 0 ] && grep -q 'temporary files' <<<'$out'"

# --- an empty dataset: empty results, never an error
printf '' | "$PQ" batch "$work/empty" 4 nothing >/dev/null
check "empty dataset: verify ok" bash -c "'$SHARD' verify '$work/empty' >/dev/null"
st=$("$SHARD" stats "$work/empty" | tail -n1)
check "empty dataset: stats rows 0" [ "$(json_get rows "$st")" = 0 ]
check "empty dataset: to-csv is a header" [ "$("$SHARD" to-csv "$work/empty")" = "ConsumptionDate,AccountOID,Consumption" ]
check "empty dataset: compact ok" bash -c "'$SHARD' compact '$work/empty' >/dev/null"

# --- usage
for c in verify stats head to-csv compact; do
    check "$c --help" bash -c "'$SHARD' $c --help >/dev/null"
done
"$SHARD" stats >/dev/null 2>&1; rc=$?
check "usage error -> exit 2" [ $rc -eq 2 ]
"$SHARD" bogus >/dev/null 2>&1; rc=$?
check "unknown command -> exit 2" [ $rc -eq 2 ]
"$SHARD" compact "$ds" --part 99 >/dev/null 2>&1; rc=$?
check "compact --part out of range -> exit 1" [ $rc -eq 1 ]

[ $fails -eq 0 ] && rm -rf "$work"
exit $((fails > 0))
