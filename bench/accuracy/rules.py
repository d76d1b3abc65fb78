# rules.py — offline evaluation of served-choice and combination rules on bench/accuracy's experiment dumps.
#
#   AQ_BENCH_DUMP=D.csv AQ_BENCH_DUMP_DAYS=P.csv build/bench/accuracy DATA R.csv 30 120 T
#   python bench/accuracy/rules.py D.csv P.csv        (the test venv: numpy, pandas, scipy)
#
# Every rule sees only the backtest windows (k >= 1 in P.csv, the per-window MAEs of D.csv) and is scored
# on the held-out days (k = 0): daily MASE, mean over the accounts of the dump (those scored by every method).
# The current rule (lib/evaluate.h: population default + 10 % hysteresis) is simulated first; it reproduces
# the bench's served MASE. The variants are those of docs/accuracy.md, "Round 3".
import sys
import warnings

import numpy as np
import pandas as pd
from scipy.optimize import linprog
from scipy.sparse import csr_matrix, hstack, identity, vstack

FC = ["arima", "snaive7", "mean28", "median28", "wmed4", "combo", "ensemble"]
CO, E = 5, 6
Z, MIN_N, MARGIN = 2.0, 30, 0.10   # AQ_DEFAULT_Z, AQ_DEFAULT_MIN, the challenge margin


def load_windows(path):
    d = pd.read_csv(path)
    K = max(int(c[1:c.index("_")]) for c in d.columns if c[0] == "w" and c[1].isdigit())
    W = np.stack([np.stack([d[f"w{k + 1}_{f}"].values for f in FC], axis=1) for k in range(K)], axis=1)
    M = np.stack([d[f"mase_{f}"].values for f in FC], axis=1)
    ok = np.isfinite(M).all(axis=1)
    with np.errstate(all="ignore"):
        P = np.nanmean(W[ok], axis=1)   # pooled MAE (windows of equal length up to missing days)
    return d[ok].reset_index(drop=True), W[ok], P, M[ok]


def mean_se(x):
    x = x[np.isfinite(x)]
    return (x.mean(), x.std(ddof=1) / np.sqrt(len(x))) if len(x) >= MIN_N else (np.nan, np.inf)


def default_current(P):
    """aq_default_choose: the largest mean gain over the ensemble that exceeds Z standard errors."""
    with np.errstate(all="ignore"):
        g = 1 - P / P[:, [E]]
    best, bg = E, 0.0
    for f in range(len(FC)):
        m, se = mean_se(g[:, f]) if f != E else (np.nan, np.inf)
        if m > Z * se and m > bg:
            best, bg = f, m
    return best, g


def default_prefer_combination(P):
    """A single forecaster is the default only when it beats the best combination by MARGIN."""
    best, g = default_current(P)
    if best in (CO, E):
        return best
    mc, se = mean_se(g[:, CO])
    C, gc = (CO, mc) if mc > Z * se and mc > 0 else (E, 0.0)
    return C if (1 - np.nanmean(g[:, best])) > (1 - gc) * (1 - MARGIN) else best


def shrunk_gains(P, W, D):
    """Empirical Bayes: each account's log(MAE_D / MAE_f) shrunk to the population mean by tau2 / (tau2 + s2_i)."""
    with np.errstate(all="ignore"):
        d = np.log(P[:, [D]] / P)
        lw = np.log(W[:, :, [D]] / W)
        s2 = np.nanvar(lw, axis=1, ddof=1) / np.isfinite(lw).sum(axis=1)
    post = np.full_like(d, np.nan)
    for f in range(len(FC)):
        ok = np.isfinite(d[:, f]) & np.isfinite(s2[:, f])
        if f == D or ok.sum() < MIN_N:
            continue
        x, s = d[ok, f], s2[ok, f]
        tau2 = max(0.0, x.var(ddof=1) - s.mean())
        post[ok, f] = x.mean() + tau2 / (tau2 + s) * (x - x.mean())
    return post


def choose(P, W, D, veto=None):
    """aq_eval_choose (robust): leave D for the lowest pooled MAE only by MARGIN and in most windows."""
    out = np.full(len(P), D)
    for i, p in enumerate(P):
        if not np.isfinite(p).any():
            continue
        Di = D if np.isfinite(p[D]) else E
        win = int(np.nanargmin(p))
        both = np.isfinite(W[i, :, win]) & np.isfinite(W[i, :, Di])
        wins = (W[i, both, win] < W[i, both, Di]).sum()
        if win != Di and p[win] <= p[Di] * (1 - MARGIN) and 2 * wins > both.sum():
            if veto is None or veto[i, win] > 0:
                out[i] = win
    return out


def mase_of(days, pred):
    g = pd.DataFrame({"a": days.account.values, "e": np.abs(days.actual.values - pred), "s": days.scale.values})
    g = g.dropna().groupby("a").agg(e=("e", "mean"), s=("s", "first"))
    return (g.e / g.s).mean()


def lad_simplex(X, y, w):
    """min sum_i w_i |y_i - X_i b| over b >= 0, sum b = 1 (a linear programme: b, u+, u-)."""
    n, p = X.shape
    A = vstack([hstack([csr_matrix(X), identity(n), -identity(n)]),
                csr_matrix(np.concatenate([np.ones(p), np.zeros(2 * n)]))])
    r = linprog(np.concatenate([np.zeros(p), w, w]), A_eq=A, b_eq=np.concatenate([y, [1.0]]),
                bounds=[(0, None)] * (p + 2 * n), method="highs")
    return r.x[:p]


def main(dump, days):
    d, W, P, M = load_windows(dump)
    rows = np.arange(len(M))
    served = M[rows, [FC.index(s) for s in d.served]].mean()
    D0, _ = default_current(P)
    ch = choose(P, W, D0)
    print(f"{dump}: {len(M)} accounts; " + " ".join(f"{f} {M[:, i].mean():.4f}" for i, f in enumerate(FC)))
    print(f"  bench served {served:.4f}; simulated current rule {M[rows, ch].mean():.4f} (default {FC[D0]}, "
          f"{(ch != D0).sum()} departing)")
    print(f"  empirical-Bayes departure {M[rows, choose(P, W, D0, shrunk_gains(P, W, D0))].mean():.4f}")
    D1 = default_prefer_combination(P)
    print(f"  default prefers a combination ({FC[D1]}): {M[rows, choose(P, W, D1)].mean():.4f}, "
          f"no departure {M[:, D1].mean():.4f}")
    p = pd.read_csv(days)
    p = p[p.account.isin(d.account)]
    p["ref"] = 2 * p.combo - p.arima   # combo = (arima + its reference) / 2
    bt, ho = p[p.k > 0], p[p.k == 0]
    grid = np.round(np.arange(0, 1.0001, 0.05), 2)
    w = min(grid, key=lambda w: mase_of(bt, w * bt.arima.values + (1 - w) * bt.ref.values))
    print(f"  combo weight on arima learnt ({w:.2f}): {mase_of(ho, w * ho.arima.values + (1 - w) * ho.ref.values):.4f}")
    fit = bt.dropna(subset=["actual"] + FC)
    wt = 1.0 / (fit.scale.values * fit.groupby("account").actual.transform("size").values)
    for name, cols in (("all 7", FC), ("5 singles", FC[:5])):
        b = lad_simplex(fit[cols].values, fit.actual.values, wt)
        ws = ",".join(f"{c} {x:.2f}" for c, x in zip(cols, b) if x > 0.005)
        print(f"  population LAD blend of {name} ({ws}): {mase_of(ho, ho[cols].values @ b):.4f}")
    fixed = {"mean(arima, ensemble)": ["arima", "ensemble"], "mean(arima, median28, wmed4)": ["arima", "median28", "wmed4"],
             "mean(arima, wmed4)": ["arima", "wmed4"], "mean of the 5 singles": FC[:5]}
    for name, cols in fixed.items():
        print(f"  {name}: {mase_of(ho, ho[cols].mean(axis=1).values):.4f}")
    print(f"  median(arima, combo, ensemble): {mase_of(ho, np.median(ho[['arima', 'combo', 'ensemble']].values, axis=1)):.4f}")


if __name__ == "__main__":
    warnings.simplefilter("ignore", RuntimeWarning)   # all-NaN windows of accounts with short histories
    if len(sys.argv) != 3:
        sys.exit("usage: rules.py DUMP.csv DUMP_DAYS.csv")
    main(sys.argv[1], sys.argv[2])
