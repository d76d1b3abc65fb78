"""test_auto_vs_r.py — our stepwise order search against R's forecast::auto.arima on the same series.

16 series: 10 simulated (AR, MA, ARMA, weekly seasonal, random walk with drift, with gaps)
and 6 DAIAD water accounts (their last 300 calendar days, missing days as NA, no cleaning). For each
series and season (7, and 0 for the first 5) R's auto.arima (Debian r-cran-forecast,
run here with Rscript) and our search (build/dev/tools/train_tool) choose an order.
Our search runs with the exact likelihood over missing days (AQ_EXACT_MISSING=1, the
R-identical mode of aquacast-train --exact-missing); the default imputation of missing
days for estimation is checked against R in tests/unit/test_autoarima.c (test_gaps_against_r).
Pass: most orders equal on the series without missing days (share >= 0.6; on series
with gaps R's CSS propagates the missing residual through the MA recursion and ours
does not, so the search paths differ by design), and wherever orders differ our model's
AICc is no worse than the AICc R reports for its own choice (tolerance 0.5 + 1e-4 |AICc|
for optimiser differences), on every series. Shares are printed.
"""

import json
import os
import pathlib
import shutil
import subprocess

import numpy as np
import pytest

from daily_csv import calendar_series

ROOT = pathlib.Path(__file__).resolve().parents[2]
TOOL = ROOT / "build" / "dev" / "tools" / "train_tool"
DAIAD = pathlib.Path(os.environ.get("AQ_DAIAD", "/work/shared/data/daiad/daily.csv"))


def simulated(rng):
    out = []
    n = 300

    def arma(ar, ma, n, mean=0.0):
        e = rng.standard_normal(n + 100)
        y = np.zeros(n + 100)
        for t in range(n + 100):
            y[t] = e[t] + sum(a * y[t - i - 1] for i, a in enumerate(ar) if t - i - 1 >= 0) \
                + sum(b * e[t - i - 1] for i, b in enumerate(ma) if t - i - 1 >= 0)
        return mean + y[100:]

    out.append(arma([0.7], [], n, 3))
    out.append(arma([], [0.5], n, 1))
    out.append(arma([0.5], [0.3], n, 10))
    out.append(arma([0.6, -0.2], [], n))
    wk = np.array([1, 1.1, 0.9, 1, 1.2, 2.5, 2.8])
    out.append(10 * np.tile(wk, n // 7 + 1)[:n] + arma([0.4], [], n))
    out.append(np.cumsum(0.1 + rng.standard_normal(n)))
    out.append(np.cumsum(arma([0.5], [], n)))
    y = 5 * np.tile(wk, n // 7 + 1)[:n] + arma([0.3], [], n)
    y[rng.random(n) < 0.05] = np.nan
    out.append(y)
    out.append(np.exp(0.3 * arma([0.5], [], n)) * np.tile(wk, n // 7 + 1)[:n])
    y = arma([], [0.4], n, 2)
    y[200:210] = np.nan
    out.append(y)
    return out


def daiad(k=6):
    series = []
    for _, y in calendar_series(DAIAD, 350):
        series.append(y[-300:])   # the last 300 days: keeps R's share of the run short
        if len(series) == k:
            break
    return series


def write(path, y):
    with open(path, "w") as f:
        for v in y:
            f.write("NA\n" if np.isnan(v) else f"{v:.17g}\n")


R_SCRIPT = r"""
suppressMessages(library(forecast))
args <- commandArgs(TRUE)
files <- readLines(args[1])
for (line in files) {
  parts <- strsplit(line, " ")[[1]]
  y <- as.numeric(readLines(parts[1])); m <- as.integer(parts[2])
  f <- auto.arima(ts(y, frequency = max(m, 1)), seasonal = m > 1)
  o <- arimaorder(f); if (length(o) == 3) o <- c(o, 0, 0, 0)
  k <- length(f$coef); cst <- as.integer(k > sum(o[c(1, 3, 4, 6)]))
  cat(parts[1], m, o[1:6], cst, sprintf("%.6f", f$aicc), "\n")
}
"""


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    assert TOOL.exists(), "build/dev/tools/train_tool not built (make)"
    tmp = tmp_path_factory.mktemp("autoarima")
    tool = tmp / "train_tool"   # a private copy: a concurrent make may relink the original
    shutil.copy(TOOL, tool)
    rng = np.random.default_rng(20240601)
    series = simulated(rng) + daiad()
    jobs = []
    for i, y in enumerate(series):
        p = tmp / f"s{i:02d}.txt"
        write(p, y)
        jobs.append((str(p), 7))
        if i < 5:
            jobs.append((str(p), 0))
    (tmp / "jobs").write_text("".join(f"{p} {m}\n" for p, m in jobs))
    (tmp / "r.R").write_text(R_SCRIPT)
    r = subprocess.run(["Rscript", str(tmp / "r.R"), str(tmp / "jobs")], capture_output=True, text=True,
                       timeout=1100)
    assert r.returncode == 0, r.stderr[-2000:]
    rres = {}
    for line in r.stdout.splitlines():
        f = line.split()
        rres[(f[0], int(f[1]))] = ([int(x) for x in f[2:9]], float(f[9]))
    out = []
    for p, m in jobs:
        o = subprocess.run([str(tool), "fit", p, str(m)], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "AQ_EXACT_MISSING": "1"})
        assert o.returncode == 0, o.stderr
        j = json.loads(o.stdout.strip().splitlines()[-1])
        assert "error" not in j, (p, m, j)
        ours = [j["p"], j["d"], j["q"], j["P"], j["D"], j["Q"], j["constant"]]
        complete = "NA" not in pathlib.Path(p).read_text()
        out.append((p, m, ours, j["aicc"], *rres[(p, m)], complete))
    return out


def aicc_worse(aicc, raicc):
    return aicc > raicc + 0.5 + 1e-4 * abs(raicc)


def test_same_order_share_and_aicc(results):
    same = same_full = n_full = 0
    worse = []
    for p, m, ours, aicc, rord, raicc, complete in results:
        if m == 0:
            rord = rord[:3] + [0, 0, 0] + rord[6:]
        eq = ours == rord
        same += eq
        if complete:
            n_full += 1
            same_full += eq
        print(f"{os.path.basename(p)} s={m} {'complete' if complete else 'gaps    '}: ours {ours} {aicc:.3f}  "
              f"R {rord} {raicc:.3f}  {'same' if eq else 'diff'}")
        if not eq and aicc_worse(aicc, raicc):
            worse.append((os.path.basename(p), m, ours, round(aicc, 3), rord, round(raicc, 3)))
    print(f"same order as R: {same}/{len(results)} = {same / len(results):.2f}; "
          f"series without gaps: {same_full}/{n_full}; ours worse (AICc) where different: {worse}")
    # Series with missing days: R's CSS lets a missing value's NaN residual propagate
    # through the MA recursion (every later residual is NaN), ours skips it, so the
    # approximate scores and the search paths differ by design there.
    assert same_full >= 0.6 * n_full, f"only {same_full}/{n_full} orders equal to R's on complete series"
    assert not worse, f"our AICc worse than R's: {worse}"
