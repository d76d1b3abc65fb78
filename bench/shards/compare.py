"""Driver of bench/shards/run: our writer and reader (bench_shards, C) against pyarrow on the same readings.

Per run: bench_shards writes the readings as one batch (input sorted by account, then again with the
input in date order, which the writer must sort) and scans every part back (1 thread, then 2);
pyarrow then reads our files (timed) and writes the same table with zstd at its defaults
(dictionary encoding on) and with use_dictionary=False, for the size comparison. Medians of the runs.
Wall times on a shared machine are inflated by other load: CPU seconds are shown next to them.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

BENCH = sys.argv[1]
ACCOUNTS = int(os.environ.get("AQ_BENCH_ACCOUNTS", 27000))
DAYS = int(os.environ.get("AQ_BENCH_DAYS", 730))
REPS = int(os.environ.get("AQ_BENCH_REPS", 3))
PARTS = int(os.environ.get("AQ_BENCH_PARTS", 32))
LEVEL = int(os.environ.get("AQ_BENCH_LEVEL", 3))
BASE = os.environ.get("AQ_BENCH_DIR") or None


def ours(root, order):
    r = subprocess.run([BENCH, "--root", root, "--order", order, "--accounts", str(ACCOUNTS), "--days", str(DAYS),
                        "--parts", str(PARTS), "--level", str(LEVEL), "--threads", "2"],
                       capture_output=True, text=True)
    if r.returncode:
        sys.exit(f"bench_shards failed: {r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def files_of(root):
    return sorted(str(p) for p in Path(root).glob("readings/part=*/*.parquet"))


def pyarrow_side(root, tmp):
    files = files_of(root)
    pq.read_table(files[0])  # warm-up: pyarrow's first read pays its lazy initialisation
    t0 = time.perf_counter()
    table = pads.dataset(files, format="parquet").to_table()  # pyarrow's threaded scan
    read_s = time.perf_counter() - t0
    out = {"pa_read_s": read_s, "rows": table.num_rows}
    for name, kw in (("pa_zstd_default", {}), ("pa_zstd_plain", {"use_dictionary": False})):
        f = os.path.join(tmp, name + ".parquet")
        t0 = time.perf_counter()
        pq.write_table(table, f, compression="zstd", **kw)
        out[name + "_write_s"] = time.perf_counter() - t0
        out[name + "_bytes"] = os.path.getsize(f)
        os.unlink(f)
    return out


def med(xs):
    return statistics.median(xs)


def main():
    runs = []
    for rep in range(REPS):
        with tempfile.TemporaryDirectory(prefix="aq-bench-shards-", dir=BASE) as tmp:
            a = ours(os.path.join(tmp, "acc"), "account")
            d = ours(os.path.join(tmp, "date"), "date")
            shutil.rmtree(os.path.join(tmp, "date"))
            p = pyarrow_side(os.path.join(tmp, "acc"), tmp)
            assert p["rows"] == a["readings"]
            runs.append({"account": a, "date": d, "pa": p, "load": os.getloadavg()[0]})
            print(f"run {rep + 1}/{REPS}: write {a['write_s']:.2f} s (date order {d['write_s']:.2f} s), "
                  f"scan {a['scan1_s']:.2f} s, load {runs[-1]['load']:.1f}", file=sys.stderr)

    n = runs[0]["account"]["readings"]
    m = lambda f: med([f(r) for r in runs])  # noqa: E731
    res = {
        "readings": n, "accounts": ACCOUNTS, "days": DAYS, "parts": PARTS, "zstd_level": LEVEL, "runs": REPS,
        "write_s": m(lambda r: r["account"]["write_s"]),
        "write_cpu_s": m(lambda r: r["account"]["write_cpu_s"]),
        "write_dateorder_s": m(lambda r: r["date"]["write_s"]),
        "write_dateorder_cpu_s": m(lambda r: r["date"]["write_cpu_s"]),
        "scan1_s": m(lambda r: r["account"]["scan1_s"]),
        "scan1_cpu_s": m(lambda r: r["account"]["scan1_cpu_s"]),
        "scan2_s": m(lambda r: r["account"]["scanT_s"]),
        "scan2_cpu_s": m(lambda r: r["account"]["scanT_cpu_s"]),
        "scan_dateorder_s": m(lambda r: r["date"]["scan1_s"]),
        "bytes": m(lambda r: r["account"]["bytes"]),
        "bytes_dateorder": m(lambda r: r["date"]["bytes"]),
        "pa_read_s": m(lambda r: r["pa"]["pa_read_s"]),
        "pa_zstd_default_bytes": m(lambda r: r["pa"]["pa_zstd_default_bytes"]),
        "pa_zstd_default_write_s": m(lambda r: r["pa"]["pa_zstd_default_write_s"]),
        "pa_zstd_plain_bytes": m(lambda r: r["pa"]["pa_zstd_plain_bytes"]),
        "load_avg": m(lambda r: r["load"]),
        "cpus": os.cpu_count(),
    }
    for k in ("write", "write_dateorder", "scan1", "scan2", "pa_read", "pa_zstd_default_write"):
        res[k + "_per_s"] = n / res[k + "_s"]
    for k in ("write", "write_dateorder", "scan1", "scan2"):
        res[k + "_per_cpu_s"] = n / res[k + "_cpu_s"]
    res["bytes_per_reading"] = res["bytes"] / n
    res["pa_zstd_default_bytes_per_reading"] = res["pa_zstd_default_bytes"] / n
    res["pa_zstd_plain_bytes_per_reading"] = res["pa_zstd_plain_bytes"] / n
    res["size_vs_pyarrow"] = res["bytes"] / res["pa_zstd_default_bytes"]

    print(f"shards: {ACCOUNTS:,} accounts x {DAYS} days = {n:,} readings, {PARTS} parts, zstd level {LEVEL}; "
          f"median of {REPS} runs; {res['cpus']} CPUs, load average {res['load_avg']:.1f}")
    print(f"{'':38} {'wall s':>8} {'readings/s':>12} {'CPU s':>8} {'readings/CPU-s':>15}")
    rows = [("write, input sorted by account", "write"), ("write, input in date order", "write_dateorder"),
            ("full scan, 1 thread", "scan1"), ("full scan, 2 threads", "scan2")]
    for label, k in rows:
        print(f"{label:38} {res[k + '_s']:8.3f} {res[k + '_per_s']:12,.0f} {res[k + '_cpu_s']:8.3f} "
              f"{res[k + '_per_cpu_s']:15,.0f}")
    print(f"{'pyarrow: read our files':38} {res['pa_read_s']:8.3f} {res['pa_read_per_s']:12,.0f}")
    print(f"{'pyarrow: write the table (zstd)':38} {res['pa_zstd_default_write_s']:8.3f} "
          f"{res['pa_zstd_default_write_per_s']:12,.0f}")
    print(f"size: ours {res['bytes_per_reading']:.3f} B/reading (PLAIN + zstd {LEVEL}); pyarrow zstd defaults "
          f"(dictionary) {res['pa_zstd_default_bytes_per_reading']:.3f} B/reading -> ours/pyarrow "
          f"{res['size_vs_pyarrow']:.2f}x; pyarrow zstd without dictionary "
          f"{res['pa_zstd_plain_bytes_per_reading']:.3f} B/reading")
    print(json.dumps(res, separators=(",", ":")))


main()
