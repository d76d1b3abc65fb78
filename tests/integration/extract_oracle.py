#!/usr/bin/env python3
"""extract_oracle.py — independent oracle for the extract integration tests (stdlib only).

  expect  --sqlite DB --table T | --csv DUMP   [--counts OUT.json]  > expected.csv
      Applies the documented row rules of lib/extract.h to the source rows
      (RowId, AccountOID, ConsumptionDate, Consumption), in plain Python:
      latest RowId wins per (account, date); bad dates/accounts dropped;
      NULL, NaN/Inf, negative and non-numeric values become NaN.
      --csv reads a psql -At -F, dump (empty field = NULL).
  normalize FILE                                > normalized.csv
      Turns `aquacast-shard to-csv` output (header names matched loosely,
      NaN as '', 'nan' or 'NaN') into the same normalized form.
  dataset DIR                                   > normalized.csv
      Reads a readings dataset with pyarrow (run it with the test venv's
      python): every DIR/readings/part=*/*.parquet in name order (batch
      order), later batch winning a duplicate (account, date); dot files
      ignored. An independent reader of what aquacast-shard to-csv prints.
  compare A B        exit 1 with the first differences if A and B differ.
  summary FILE KEY   print a field of the last JSON line of FILE (a.b for nested).
"""
import csv
import datetime
import json
import math
import sqlite3
import sys

DMIN = datetime.date(1990, 1, 1)
DMAX = datetime.date(2100, 12, 31)


def parse_account(v):
    if v is None:
        return None
    if isinstance(v, int):
        return v
    if isinstance(v, float):
        return int(v) if v.is_integer() else None
    s = str(v).strip()
    if s.endswith(".0"):
        s = s[:-2]
    try:
        return int(s, 10)
    except ValueError:
        return None


def parse_date(v):
    if v is None:
        return None
    s = str(v).strip()
    if len(s) < 10 or (len(s) > 10 and s[10] not in " T"):
        return None
    try:
        d = datetime.date.fromisoformat(s[:10])
    except ValueError:
        return None
    return d if DMIN <= d <= DMAX else None


def parse_value(v):
    """(value, kind) with kind None for a good value."""
    if v is None or v == "":
        return math.nan, "null"
    if isinstance(v, (int, float)):
        x = float(v)
    else:
        try:
            x = float(str(v).strip())
        except ValueError:
            return math.nan, "non_numeric"
    if not math.isfinite(x):
        return math.nan, "nan"
    if x < 0:
        return math.nan, "negative"
    return x, None


def expect(rows, counts_path):
    counts = {k: 0 for k in ("null", "nan", "negative", "non_numeric", "bad_date", "bad_account", "duplicate")}
    best = {}
    for rowid, acct, date, val in sorted(rows, key=lambda r: int(r[0])):
        a = parse_account(acct)
        if a is None:
            counts["bad_account"] += 1
            continue
        d = parse_date(date)
        if d is None:
            counts["bad_date"] += 1
            continue
        x, kind = parse_value(val)
        if kind:
            counts[kind] += 1
        if (a, d) in best:
            counts["duplicate"] += 1
        best[(a, d)] = x
    out = csv.writer(sys.stdout, lineterminator="\n")
    for (a, d) in sorted(best):
        x = best[(a, d)]
        out.writerow([a, d.isoformat(), "" if math.isnan(x) else repr(x)])
    counts["rows"] = len(best)
    counts["accounts"] = len({a for a, _ in best})
    if counts_path:
        with open(counts_path, "w") as f:
            json.dump(counts, f)


def source_rows(args):
    if args[0] == "--sqlite":
        db, table = args[1], args[3]
        con = sqlite3.connect(db)
        return list(con.execute(f"SELECT RowId, AccountOID, ConsumptionDate, Consumption FROM {table}"))
    if args[0] == "--csv":
        rows = []
        with open(args[1]) as f:
            for r in csv.reader(f):
                rows.append([None if c == "" else c for c in r])
        return rows
    raise SystemExit("expect: --sqlite DB --table T | --csv FILE")


def normalize(path):
    with open(path) as f:
        lines = [l for l in f.read().splitlines() if l.strip()]
    rows = list(csv.reader(lines))
    if not rows:
        return
    head = [h.strip().lower() for h in rows[0]]
    ia = next((i for i, h in enumerate(head) if "account" in h), None)
    idt = next((i for i, h in enumerate(head) if "date" in h), None)
    iv = next((i for i, h in enumerate(head) if "consumption" in h and "date" not in h or h == "value"), None)
    if None in (ia, idt, iv):
        # no header: the readings schema order ConsumptionDate, AccountOID, Consumption
        idt, ia, iv = 0, 1, 2
    else:
        rows = rows[1:]
    out = []
    for r in rows:
        a = int(r[ia])
        d = r[idt].strip()
        if d.lstrip("-").isdigit():
            d = (datetime.date(1970, 1, 1) + datetime.timedelta(days=int(d))).isoformat()
        v = r[iv].strip()
        x = math.nan if v.lower() in ("", "nan", "null", "na") else float(v)
        out.append((a, d, x))
    w = csv.writer(sys.stdout, lineterminator="\n")
    for a, d, x in sorted(out, key=lambda t: (t[0], t[1])):
        w.writerow([a, d, "" if math.isnan(x) else repr(x)])


def compare(pa, pb):
    with open(pa) as f:
        A = f.read().splitlines()
    with open(pb) as f:
        B = f.read().splitlines()
    bad = []
    if len(A) != len(B):
        bad.append(f"row counts differ: {pa} {len(A)}, {pb} {len(B)}")
    sa, sb = set(A), set(B)
    if sa != sb:
        # values: exact as written (repr of the double), else within 1e-12 relative
        ka = {tuple(l.split(",")[:2]): l.split(",")[2] for l in A}
        kb = {tuple(l.split(",")[:2]): l.split(",")[2] for l in B}
        for k in sorted(set(ka) | set(kb)):
            va, vb = ka.get(k), kb.get(k)
            if va is None or vb is None:
                bad.append(f"{k}: only in {'B' if va is None else 'A'}")
            elif va != vb:
                if va == "" or vb == "" or abs(float(va) - float(vb)) > 1e-12 * max(1.0, abs(float(va))):
                    bad.append(f"{k}: {va!r} != {vb!r}")
            if len(bad) > 10:
                break
    if bad:
        print("\n".join(bad), file=sys.stderr)
        sys.exit(1)


def dataset(root):
    import glob
    import os
    import pyarrow.parquet as pq
    best = {}
    for part in sorted(glob.glob(os.path.join(root, "readings", "part=*"))):
        for name in sorted(os.listdir(part)):
            if name.startswith(".") or not name.endswith(".parquet"):
                continue
            t = pq.read_table(os.path.join(part, name))
            cols = {c.lower(): t.column(c).to_pylist() for c in t.column_names}
            for a, d, x in zip(cols["accountoid"], cols["consumptiondate"], cols["consumption"]):
                best[(a, d)] = x
    w = csv.writer(sys.stdout, lineterminator="\n")
    for (a, d) in sorted(best):
        x = best[(a, d)]
        w.writerow([a, d.isoformat(), "" if x is None or math.isnan(x) else repr(float(x))])


def summary(path, key):
    with open(path) as f:
        last = [l for l in f.read().splitlines() if l.strip()][-1]
    v = json.loads(last)
    for k in key.split("."):
        v = v[k]
    print(json.dumps(v) if not isinstance(v, str) else v)


if __name__ == "__main__":
    cmd = sys.argv[1] if len(sys.argv) > 1 else ""
    if cmd == "expect":
        a = sys.argv[2:]
        cp = None
        if "--counts" in a:
            i = a.index("--counts")
            cp = a[i + 1]
            del a[i:i + 2]
        expect(source_rows(a), cp)
    elif cmd == "normalize":
        normalize(sys.argv[2])
    elif cmd == "dataset":
        dataset(sys.argv[2])
    elif cmd == "compare":
        compare(sys.argv[2], sys.argv[3])
    elif cmd == "summary":
        summary(sys.argv[2], sys.argv[3])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
