"""daily_csv — a readings CSV (ConsumptionDate,AccountOID,Consumption) as one calendar series per account.

Shared by the R oracle tests: missing days (absent rows, "" or "NA") are NaN, values as written.
"""
import csv

import numpy as np


def calendar_series(path, min_rows):
    """(account, y) in account order for accounts with at least min_rows rows; y spans first..last day."""
    by = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            by.setdefault(int(r["AccountOID"]), []).append((r["ConsumptionDate"], r["Consumption"]))
    for acc in sorted(by):
        rows = by[acc]
        if len(rows) < min_rows:
            continue
        d = [np.datetime64(x) for x, _ in rows]
        y = np.full(int((d[-1] - d[0]).astype(int)) + 1, np.nan)
        for (_, v), dd in zip(rows, d):
            if v not in ("", "NA"):
                y[int((dd - d[0]).astype(int))] = float(v)
        yield acc, y
