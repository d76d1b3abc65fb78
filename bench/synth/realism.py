"""realism.py — per-account statistics of daily readings CSVs, summarised across accounts.

Used by bench/synth/realism (see there for the definitions and usage). Each data set is a CSV
ConsumptionDate,AccountOID,Consumption; an account is kept when it has >= MIN_DAYS valid days
(as bench/accuracy). Per statistic the median and the IQR over the accounts are printed, one
column per data set, then one JSON line.
"""
import json
import sys
import warnings

import numpy as np
import pandas as pd

MIN_DAYS = 120
warnings.filterwarnings("ignore", category=RuntimeWarning)  # all-NaN weekdays of short accounts

# (key, label, how it is computed) — the order of the table.
STATS = [
    ("days", "valid days", "non-NaN, non-negative days with a row"),
    ("missing", "missing share of the span", "calendar days first..last without a valid value"),
    ("level", "median day (units/day)", "median of the valid days"),
    ("cv", "CV of daily values", "sd / mean of the valid days"),
    ("skew_log", "skewness of log1p(x)", "sample skewness of log1p of the valid days"),
    ("spike", "spike days > 3x median", "share of the valid days above 3x the median day"),
    ("p99_med", "p99 / median (non-zero)", "99th percentile over the median, non-zero days"),
    ("zero", "zero days", "share of the valid days that are exactly 0"),
    ("zero_run", "mean zero run (days)", "mean length of runs of consecutive zero days (accounts with zeros)"),
    ("zero_long", "zero days in runs >= 4", "share of the zero days that are in runs of 4+ days (accounts with zeros)"),
    ("week_r2", "weekly profile strength", "variance share of the day-of-week means of log1p(x) minus its centred 29-day median"),
    ("week_stab", "weekly profile stability", "correlation of the day-of-week means of the detrended log1p of the two halves of the span"),
    ("week_ratio", "weekday max/min mean", "ratio of the largest to the smallest day-of-week mean of x over its 29-day median"),
    ("ac1", "lag-1 autocorr, log1p", "autocorrelation of log1p(x), pairs of calendar days both valid"),
    ("ac7", "lag-7 autocorr, log1p", "the same at lag 7"),
    ("ac1_resid", "lag-1 autocorr, detrended", "lag-1 autocorrelation of log1p(x) minus its centred 29-day median"),
    ("shifts", "level shifts per year", "consecutive 28-day blocks (>= 14 valid) whose medians differ by > 30% of the larger"),
    ("season", "annual amplitude", "|b| / a of x ~ a + b cos(2 pi (doy - phase)/365.25), accounts spanning >= 300 days"),
]


def read(path):
    d = pd.read_csv(path, dtype={"AccountOID": "int64"}, na_values=["", "NaN", "nan", "NULL"])
    d["ConsumptionDate"] = pd.to_datetime(d["ConsumptionDate"])
    return d


def runs(mask):
    """Lengths of the runs of True in a boolean array."""
    if not mask.any():
        return np.array([], dtype=int)
    m = np.concatenate(([False], mask, [False])).astype(np.int8)
    dm = np.diff(m)
    return np.flatnonzero(dm == -1) - np.flatnonzero(dm == 1)


def centred_median(x, w=29):
    return pd.Series(x).rolling(w, center=True, min_periods=w // 2).median().to_numpy()


def autocorr(y, lag):
    a, b = y[:-lag], y[lag:]
    ok = ~np.isnan(a) & ~np.isnan(b)
    if ok.sum() < 30:
        return np.nan
    a, b = a[ok], b[ok]
    sa, sb = a.std(), b.std()
    return np.nan if sa == 0 or sb == 0 else float(np.mean((a - a.mean()) * (b - b.mean())) / (sa * sb))


def account_stats(g):
    """Statistics of one account: g has ConsumptionDate, Consumption."""
    g = g.sort_values("ConsumptionDate")
    t0, t1 = g.ConsumptionDate.iloc[0], g.ConsumptionDate.iloc[-1]
    n = (t1 - t0).days + 1
    x = np.full(n, np.nan)
    idx = (g.ConsumptionDate - t0).dt.days.to_numpy()
    v = g.Consumption.to_numpy(dtype=float)
    v[v < 0] = np.nan  # a negative reading is a meter fault, not use
    x[idx] = v
    ok = ~np.isnan(x)
    # trim leading/trailing invalid days: the span is first..last valid day
    f, l = np.flatnonzero(ok)[[0, -1]] if ok.any() else (0, -1)
    x, ok = x[f:l + 1], ok[f:l + 1]
    t0 = t0 + pd.Timedelta(days=int(f))
    xv = x[ok]
    if len(xv) < MIN_DAYS:
        return None
    s = {"days": float(len(xv)), "missing": 1 - len(xv) / len(x)}
    mean = xv.mean()
    s["level"] = float(np.median(xv))
    s["cv"] = float(xv.std() / mean) if mean > 0 else np.nan
    lx = np.log1p(xv)
    sd = lx.std()
    s["skew_log"] = float(np.mean((lx - lx.mean()) ** 3) / sd ** 3) if sd > 0 else np.nan
    pos = xv[xv > 0]
    if len(pos) >= 30:
        mp = np.median(pos)
        s["spike"] = float(np.mean(xv > 3 * s["level"])) if s["level"] > 0 else np.nan
        s["p99_med"] = float(np.quantile(pos, 0.99) / mp)
    else:
        s["spike"] = s["p99_med"] = np.nan
    zero = ok & (np.nan_to_num(x, nan=1.0) == 0)
    s["zero"] = float(zero.sum() / ok.sum())
    zr = runs(zero)
    s["zero_run"] = float(zr.mean()) if len(zr) else np.nan
    s["zero_long"] = float(zr[zr >= 4].sum() / zr.sum()) if len(zr) else np.nan
    # weekly profile on the detrended log scale (season, level shifts and vacations removed)
    ly = np.log1p(x)
    med = centred_median(ly)
    r = ly - med
    dow = (np.arange(len(x)) + t0.dayofweek) % 7
    okr = ~np.isnan(r)
    rr, dd = r[okr], dow[okr]
    tot = np.sum((rr - rr.mean()) ** 2)
    if tot > 0 and len(rr) >= 60:
        means = np.array([rr[dd == k].mean() if (dd == k).any() else rr.mean() for k in range(7)])
        cnt = np.array([(dd == k).sum() for k in range(7)])
        s["week_r2"] = float(np.sum(cnt * (means - rr.mean()) ** 2) / tot)
    else:
        s["week_r2"] = np.nan
    h = len(x) // 2
    halves = []
    for lo, hi in ((0, h), (h, len(x))):
        rh, dh = r[lo:hi], dow[lo:hi]
        halves.append([np.nanmean(rh[dh == k]) if np.any(~np.isnan(rh[dh == k])) else np.nan for k in range(7)])
    m1, m2 = np.array(halves[0]), np.array(halves[1])
    s["week_stab"] = float(np.corrcoef(m1, m2)[0, 1]) if not (np.isnan(m1).any() or np.isnan(m2).any()
                                                              or m1.std() == 0 or m2.std() == 0) else np.nan
    mx = centred_median(x)
    q = np.where(mx > 0, x / np.where(mx > 0, mx, 1), np.nan)
    qm = np.array([np.nanmean(q[dow == k]) if np.any(~np.isnan(q[dow == k])) else np.nan for k in range(7)])
    s["week_ratio"] = float(np.nanmax(qm) / np.nanmin(qm)) if np.nanmin(qm) > 0 else np.nan
    s["ac1"] = autocorr(ly, 1)
    s["ac7"] = autocorr(ly, 7)
    s["ac1_resid"] = autocorr(r, 1)
    # level shifts: medians of consecutive 28-day blocks
    bm = []
    for b in range(0, len(x) - 27, 28):
        blk = x[b:b + 28]
        blk = blk[~np.isnan(blk)]
        bm.append(np.median(blk) if len(blk) >= 14 else np.nan)
    bm = np.array(bm)
    sh = 0
    for a, b in zip(bm[:-1], bm[1:]):
        if not np.isnan(a) and not np.isnan(b) and max(a, b) > 0 and abs(a - b) > 0.3 * max(a, b):
            sh += 1
    s["shifts"] = sh / (len(x) / 365.25) if len(bm) >= 3 else np.nan
    # annual cycle: one harmonic by least squares on the valid days
    if len(x) >= 300:
        doy = (pd.date_range(t0, periods=len(x)).dayofyear.to_numpy() - 1)[ok]
        th = 2 * np.pi * doy / 365.25
        A = np.column_stack([np.ones(len(xv)), np.cos(th), np.sin(th)])
        c, *_ = np.linalg.lstsq(A, xv, rcond=None)
        s["season"] = float(np.hypot(c[1], c[2]) / c[0]) if c[0] > 0 else np.nan
    else:
        s["season"] = np.nan
    return s


def summarise(path):
    d = read(path)
    rows = []
    for _, g in d.groupby("AccountOID", sort=True):
        s = account_stats(g)
        if s is not None:
            rows.append(s)
    t = pd.DataFrame(rows)
    out = {"accounts": int(len(t)), "accounts_with_zeros": float((t.zero > 0).mean())}
    for k, _, _ in STATS:
        c = t[k].dropna()
        out[k] = {"n": int(len(c)), "q1": float(c.quantile(0.25)), "median": float(c.median()),
                  "q3": float(c.quantile(0.75))} if len(c) else None
    return out


def fmt(v):
    if v is None:
        return "—"
    m, a, b = v["median"], v["q1"], v["q3"]
    f = (lambda z: f"{z:.3g}") if max(abs(m), abs(a), abs(b)) < 100 else (lambda z: f"{z:.0f}")
    return f"{f(m)} [{f(a)}, {f(b)}]"


def main():
    if len(sys.argv) < 2 or len(sys.argv[1:]) % 2:
        print("usage: realism.py NAME FILE [NAME FILE ...]", file=sys.stderr)
        return 2
    sets = list(zip(sys.argv[1::2], sys.argv[2::2]))
    res = {name: summarise(path) for name, path in sets}
    names = [n for n, _ in sets]
    w = 30
    print(f"{'statistic (median [q1, q3] over accounts)':<44}" + "".join(f"{n:>{w}}" for n in names))
    print(f"{'accounts (>= %d valid days)' % MIN_DAYS:<44}" + "".join(f"{res[n]['accounts']:>{w}}" for n in names))
    print(f"{'accounts with any zero day':<44}" + "".join(f"{res[n]['accounts_with_zeros']:>{w}.2f}" for n in names))
    for k, label, _ in STATS:
        print(f"{label:<44}" + "".join(f"{fmt(res[n][k]):>{w}}" for n in names))
    # where a set's median lies relative to the first set's IQR (the target)
    tgt = names[0]
    for n in names[1:]:
        inside = [k for k, _, _ in STATS if res[n][k] and res[tgt][k] and
                  res[tgt][k]["q1"] <= res[n][k]["median"] <= res[tgt][k]["q3"]]
        outside = [k for k, _, _ in STATS if k not in inside]
        print(f"{n}: median inside {tgt}'s IQR on {len(inside)}/{len(STATS)}; outside: {', '.join(outside) or '-'}")
        res[n]["inside_" + tgt + "_iqr"] = inside
    print(json.dumps({"bench": "synth_realism", "target": tgt, "sets": res}, separators=(",", ":")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
