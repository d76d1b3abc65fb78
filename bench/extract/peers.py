#!/usr/bin/env python3
"""peers.py — the Python peers of bench/extract/run, each printing one JSON line.

  arrow CONN QUERY OUT.parquet   arrow-odbc: Arrow batches (10,000 rows) → one Parquet file
  pandas CONN QUERY              pandas.read_sql over pyodbc, the whole result in one DataFrame
  notebook CONN TABLE N [ALL]    the original notebook: one pandas.read_sql_query per AccountOID
                                 (first N accounts; ALL=1: every account)
"""
import json
import sys
import time
import warnings

warnings.filterwarnings("ignore")  # pandas warns about DBAPI2 connections that are not SQLAlchemy


def arrow(conn, query, out):
    import pyarrow.parquet as pq
    from arrow_odbc import read_arrow_batches_from_odbc

    t0 = time.monotonic()
    reader = read_arrow_batches_from_odbc(query=query, connection_string=conn, batch_size=10000)
    rows = 0
    with pq.ParquetWriter(out, reader.schema, compression="zstd") as w:
        for batch in reader:
            w.write_batch(batch)
            rows += batch.num_rows
    print(json.dumps({"rows": rows, "seconds": time.monotonic() - t0}))


def pandas_all(conn, query):
    import pandas as pd
    import pyodbc

    t0 = time.monotonic()
    c = pyodbc.connect(conn)
    df = pd.read_sql(query, c)
    c.close()
    print(json.dumps({"rows": len(df), "seconds": time.monotonic() - t0}))


def notebook(conn, table, n, everything):
    import pandas as pd
    import pyodbc

    c = pyodbc.connect(conn)
    accounts = [r[0] for r in c.cursor().execute(f"SELECT DISTINCT AccountOID FROM {table} ORDER BY AccountOID")]
    total = len(accounts)
    if not everything:
        # an even sample over the id range, not just the smallest ids
        step = max(1, total // n)
        accounts = accounts[::step][:n]
    t0 = time.monotonic()
    rows = 0
    for a in accounts:
        # the notebook spliced the id into the text; here it is a bound parameter
        df = pd.read_sql_query(
            f"SELECT ConsumptionDate, Consumption FROM {table} WHERE AccountOID = ? ORDER BY ConsumptionDate",
            c, params=[a])
        rows += len(df)
    t = time.monotonic() - t0
    c.close()
    print(json.dumps({"accounts": len(accounts), "accounts_total": total, "rows": rows, "seconds": t,
                      "ms_per_account": 1000 * t / len(accounts),
                      "projected_seconds": t / len(accounts) * total, "sampled": not everything}))


if __name__ == "__main__":
    kind = sys.argv[1]
    if kind == "arrow":
        arrow(sys.argv[2], sys.argv[3], sys.argv[4])
    elif kind == "pandas":
        pandas_all(sys.argv[2], sys.argv[3])
    elif kind == "notebook":
        notebook(sys.argv[2], sys.argv[3], int(sys.argv[4]), len(sys.argv) > 5 and sys.argv[5] == "1")
    else:
        sys.exit(__doc__)
