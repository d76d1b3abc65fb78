"""bench.py — order search speed and accuracy: aquacast vs R forecast::auto.arima vs statsforecast AutoARIMA.

Same series for all three: 20 DAIAD accounts (the longest, ~440 days) and 20 synthetic
accounts (aquacast-synth, 730 days), as calendar series; missing days linearly
interpolated (statsforecast cannot take NaN; R and we could), no other cleaning.
The last 30 days are held out. Per series and season (7 = weekly search, 0 =
non-seasonal): wall time of the order search + fit (ours: median of REPS runs; R and
statsforecast: one run each, statsforecast after a JIT warm-up) — CPU time of the process (user + system; the
machine is shared, wall times there mean little) — and the 30-day
MASE scaled by the in-sample mean |y_t - y_{t-7}|. Ours is also run on the train
path's series (aquacast cleaning: invalid/outliers as NaN, gaps kept as NaN).
Readable table, then one JSON line.
"""
import csv
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TOOL = os.path.join(ROOT, "build", "dev", "tools", "train_tool")
SYNTH = os.path.join(ROOT, "bin", "aquacast-synth")
DAIAD = os.environ.get("AQ_DAIAD", "/work/shared/data/daiad/daily.csv")
H = 30
NS = int(os.environ.get("AQ_BENCH_SERIES", "20"))  # per source
REPS = int(os.environ.get("AQ_BENCH_REPS", "3"))


def calendar(rows):
    d = [np.datetime64(x) for x, _ in rows]
    n = int((d[-1] - d[0]).astype(int)) + 1
    y = np.full(n, np.nan)
    for (x, v), dd in zip(rows, d):
        try:
            y[int((dd - d[0]).astype(int))] = float(v)
        except ValueError:
            pass
    return y


def load_csv(path, skip=lambda acc: False):
    by = {}
    with open(path) as f:
        for r in csv.DictReader(f):
            by.setdefault(int(r["AccountOID"]), []).append((r["ConsumptionDate"], r["Consumption"]))
    return {a: calendar(v) for a, v in by.items() if not skip(a)}


def interp(y):
    y = y.copy()
    y[~np.isfinite(y) | (y < 0)] = np.nan
    i = np.arange(len(y))
    ok = np.isfinite(y)
    y[~ok] = np.interp(i[~ok], i[ok], y[ok])
    return y


def mase(train, test, fc):
    tr = np.asarray(train)
    d = np.abs(tr[7:] - tr[:-7])
    d = d[np.isfinite(d)]
    scale = d.mean() if len(d) and d.mean() > 0 else np.nan
    t = np.asarray(test)
    ok = np.isfinite(t)
    return float(np.mean(np.abs(t[ok] - np.maximum(np.asarray(fc)[ok], 0))) / scale)


def write(path, y):
    with open(path, "w") as f:
        for v in y:
            f.write("NA\n" if not np.isfinite(v) else f"{v:.10g}\n")


R_SCRIPT = r"""
suppressMessages(library(forecast))
args <- commandArgs(TRUE)
for (line in readLines(args[1])) {
  p <- strsplit(line, " ")[[1]]; y <- as.numeric(readLines(p[1])); m <- as.integer(p[2])
  t0 <- proc.time()
  f <- auto.arima(ts(y, frequency = max(m, 1)), seasonal = m > 1)
  t1 <- proc.time()
  el <- (t1[["user.self"]] + t1[["sys.self"]]) - (t0[["user.self"]] + t0[["sys.self"]])
  fc <- as.numeric(forecast(f, h = as.integer(p[3]))$mean)
  cat(p[1], m, sprintf("%.6f", el), paste(sprintf("%.10g", fc), collapse = ","), "\n")
}
"""


# Each series is a new train_tool process. OpenBLAS's worker threads spin for ~0.1 s after
# start-up, charging up to twice a short fit's CPU time to it (s08 of test_auto_vs_r: 67 ms CPU
# for 34 ms wall); they never help on our k x k matrices. aquacast-train pays that once per run.
OURS_ENV = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}


def run_ours(path, season):
    o = subprocess.run([TOOL, "fit", path, str(season), "1", str(REPS), str(H)], capture_output=True, text=True,
                       check=True, env=OURS_ENV)
    lines = o.stdout.strip().splitlines()
    j = json.loads(lines[0])
    fc = json.loads(lines[1])["fc"] if len(lines) > 1 else [np.nan] * H
    return j, fc


def main():
    global TOOL
    tmp = tempfile.mkdtemp(prefix="bench-train.")
    # a private copy: a concurrent `make` relinking the tool must not break the run
    shutil.copy(TOOL, os.path.join(tmp, "train_tool"))
    TOOL = os.path.join(tmp, "train_tool")
    daiad = load_csv(DAIAD)
    longest = sorted(daiad, key=lambda a: -np.isfinite(daiad[a]).sum())[:NS]
    series = [("daiad-%d" % a, daiad[a]) for a in longest]
    syn_csv = os.path.join(tmp, "synth.csv")
    subprocess.run([SYNTH, "--accounts", str(4 * NS), "--days", "730", "--seed", "3", "--csv", syn_csv],
                   check=True, capture_output=True)
    syn = load_csv(syn_csv)
    full = [a for a in sorted(syn) if len(syn[a]) >= 700][:NS]
    series += [("synth-%d" % a, syn[a]) for a in full]

    jobs, meta = [], []
    for name, y in series:
        yi = interp(y)
        train, test = yi[:-H], yi[-H:]
        p = os.path.join(tmp, name + ".txt")
        write(p, train)
        # the train path's series: aquacast cleaning, NaN kept
        praw = os.path.join(tmp, name + ".raw.txt")
        write(praw, y[:-H])
        pc = os.path.join(tmp, name + ".clean.txt")
        with open(pc, "w") as f:
            subprocess.run([TOOL, "clean", praw], stdout=f, check=True)
        for s in (7, 0):
            jobs.append((p, s))
            meta.append((name, s, train, test, pc))
    with open(os.path.join(tmp, "jobs"), "w") as f:
        for p, s in jobs:
            f.write(f"{p} {s} {H}\n")
    with open(os.path.join(tmp, "r.R"), "w") as f:
        f.write(R_SCRIPT)
    t0 = time.time()
    r = subprocess.run(["Rscript", os.path.join(tmp, "r.R"), os.path.join(tmp, "jobs")], capture_output=True,
                       text=True, check=True)
    r_wall = time.time() - t0
    rres = {}
    for line in r.stdout.splitlines():
        f = line.split()
        rres[(f[0], int(f[1]))] = (float(f[2]), [float(x) for x in f[3].split(",")])

    # statsforecast (JIT warm-up first, not timed)
    from statsforecast.models import AutoARIMA
    for sl in (7, 1):
        AutoARIMA(season_length=sl).fit(np.asarray(meta[0][2], dtype=float)).predict(h=H)
    rows = []
    for (p, s), (name, _, train, test, pc) in zip(jobs, meta):
        j, fc = run_ours(p, s)
        jc, fcc = run_ours(pc, s)
        rt, rfc = rres[(p, s)]
        t1 = time.process_time()
        m = AutoARIMA(season_length=max(s, 1)).fit(np.asarray(train, dtype=float))
        st = time.process_time() - t1
        sfc = m.predict(h=H)["mean"]
        rows.append(dict(series=name, season=s, ours_ms=j["cpu_ms"], ours_clean_ms=jc["cpu_ms"], r_ms=rt * 1e3,
                         sf_ms=st * 1e3, mase_ours=mase(train, test, fc), mase_ours_clean=mase(train, test, fcc),
                         mase_r=mase(train, test, rfc), mase_sf=mase(train, test, sfc),
                         ours=[j["p"], j["d"], j["q"], j["P"], j["D"], j["Q"]]))
        print(f"{name:16s} s={s} ours {j['cpu_ms']:8.1f} ms (clean {jc['cpu_ms']:8.1f})  R {rt*1e3:8.1f} ms  "
              f"SF {st*1e3:8.1f} ms  MASE ours {rows[-1]['mase_ours']:.3f} R {rows[-1]['mase_r']:.3f} "
              f"SF {rows[-1]['mase_sf']:.3f}", file=sys.stderr)

    out = {"series": len(series), "h": H, "reps_ours": REPS, "r_wall_s": round(r_wall, 1)}
    print()
    print("CPU ms per series (median), speed-ups = median of per-series ratios, MASE = mean over series")
    print(f"{'season':>6} {'ours ms':>9} {'clean ms':>9} {'R ms':>9} {'SF ms':>9} {'R/ours':>7} {'SF/ours':>8} "
          f"{'MASE ours':>9} {'clean':>6} {'R':>6} {'SF':>6}")
    for s in (7, 0):
        rs = [x for x in rows if x["season"] == s]
        med = lambda k: statistics.median(x[k] for x in rs)
        ratio_r = statistics.median(x["r_ms"] / x["ours_ms"] for x in rs)
        ratio_sf = statistics.median(x["sf_ms"] / x["ours_ms"] for x in rs)
        mm = lambda k: float(np.nanmean([x[k] for x in rs]))
        print(f"{s:>6} {med('ours_ms'):9.1f} {med('ours_clean_ms'):9.1f} {med('r_ms'):9.1f} {med('sf_ms'):9.1f} "
              f"{ratio_r:7.1f} {ratio_sf:8.1f} {mm('mase_ours'):9.3f} {mm('mase_ours_clean'):6.3f} "
              f"{mm('mase_r'):6.3f} {mm('mase_sf'):6.3f}")
        key = "weekly" if s == 7 else "nonseasonal"
        out[key] = {"ours_ms_median": round(med("ours_ms"), 2), "ours_clean_ms_median": round(med("ours_clean_ms"), 2),
                    "r_ms_median": round(med("r_ms"), 2), "sf_ms_median": round(med("sf_ms"), 2),
                    "speedup_vs_r_median": round(ratio_r, 2), "speedup_vs_sf_median": round(ratio_sf, 2),
                    "mase_ours": round(mm("mase_ours"), 4), "mase_ours_clean": round(mm("mase_ours_clean"), 4),
                    "mase_r": round(mm("mase_r"), 4), "mase_sf": round(mm("mase_sf"), 4)}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
