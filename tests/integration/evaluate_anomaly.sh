#!/usr/bin/env bash
# evaluate_anomaly.sh — anomaly detection of aquacast-evaluate against planted truth: 2,000 synthetic
# accounts with 8x the usual leaks and stuck meters (aquacast-synth --event-rate 8 --truth), three runs
# (seeds 11 and 29 ending in January, seed 5 ending in October, a season of falling use); recall,
# precision and false alarms per kind, pooled over the runs, against stated bars (lib/anomaly.h,
# docs/accuracy.md "Anomalies"). ~15 s.
#
# What counts (judged: accounts with >= 91 days of readings before TrainedUntil = end - 30 days;
# "the last 14 days" = the 14 days ending at the last calendar day):
#   leak      planted leak active on every one of the last 14 days, started at or after
#             TrainedUntil - 7 (earlier ones are in the history the account is judged against),
#             no stuck meter or vacation in the last 14 days (a vacation with a leak reads the leak,
#             a constant: it is a flat run). Its size relative to typical use = leak m³/day over the
#             mean of the valid readings of the 56 days before it started.
#   flat      stuck meter, or vacation without a leak, or vacation with a leak on every day (reads
#             the leak: a constant), covering all of the last 14 days. From daily totals a stuck meter
#             and a vacation are the same run of equal readings: one kind, "flat".
#   correct   a level_up on an account with a leak active on the last day; a flat on an account with
#             a stuck meter or vacation active on the last 7 days; a level_down on an account with any
#             leak/vacation/stuck event in the 56 days before TrainedUntil or after it.
#   clean     judged accounts without any leak/vacation/stuck event from TrainedUntil - 56 days on;
#             a flag on one of them is a false alarm.
# Bars (pooled): leak recall >= 0.8 for leaks >= 1x typical use and >= 0.7 for >= 0.5x;
# level_up precision >= 0.8; flat recall >= 0.9 and precision >= 0.9; level_down precision >= 0.7;
# false alarms <= 1% of clean accounts.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
cd "$top"
aq_workspace evaluate_anomaly
[ -n "${AQ_KEEP:-}" ] && echo "# kept $tmp" || trap 'rm -rf "$tmp"' EXIT
py=$(scripts/venv.sh requirements/test.txt)/bin/python

runs=""
for spec in 11:300 29:300 5:200; do
    seed=${spec%%:*} days=${spec##*:}
    d=$tmp/s$seed
    tu=$("$py" -c "import datetime as d; print(d.date(2022, 4, 1) + d.timedelta(days=$days - 31))")
    mkdir -p "$d"
    aquacast-synth --accounts 2000 --days "$days" --seed "$seed" --event-rate 8 --parts 8 --out "$d/r" \
        --truth "$d/truth.csv" >/dev/null 2>"$d/synth.log" &&
    aquacast-train --readings "$d/r" --out "$d/m" --until "$tu" --season 0 --max-p 1 --max-q 1 --threads 2 \
        >/dev/null 2>"$d/train.log" &&
    aquacast-evaluate --models "$d/m" --readings "$d/r" --out "$d/e" --threads 2 >"$d/out.txt" 2>"$d/err.txt"
    rc=$?
    if [ $rc -eq 0 ]; then
        ok "seed $seed ($days days, TrainedUntil $tu): synth, train, evaluate"
        runs="$runs $d:$tu"
    else
        nok "seed $seed: synth, train, evaluate (rc $rc)"
        tail -n 3 "$d"/*.log "$d/err.txt" 2>/dev/null | sed 's/^/# /'
    fi
done

[ -n "$runs" ] || exit 1
"$py" - $runs <<'PY'
import csv, datetime as dt, json, sys
import pyarrow.dataset as ds
D = dt.timedelta
fails = 0
def check(name, cond):
    global fails
    print(("ok - " if cond else "not ok - ") + name)
    fails += 0 if cond else 1
tot = {"leak05": [0, 0], "leak10": [0, 0], "flat": [0, 0], "fa": [0, 0]}
prec = {k: [0, 0] for k in ("level_up", "flat", "level_down")}
keys_ok = True
for spec in sys.argv[1:]:
    d, tu = spec.rsplit(":", 1)
    tu = dt.date.fromisoformat(tu)
    s = json.load(open(f"{d}/e/summary.json"))
    flag = {x["account"]: x for x in s["anomaly_list"]}
    keys_ok &= all({"account", "kind", "since", "days", "outside", "magnitude", "relative", "z", "baseline"} <= set(x)
                   for x in s["anomaly_list"])
    t = ds.dataset(f"{d}/r/readings", format="parquet").to_table().to_pandas()
    end = t.ConsumptionDate.max()
    first = t.groupby("AccountOID").ConsumptionDate.min()
    g = t.groupby("AccountOID")
    ev = {}
    for r in csv.DictReader(open(f"{d}/truth.csv")):
        if r["Event"] in ("leak", "vacation", "stuck"):
            ev.setdefault(int(r["AccountOID"]), []).append(
                (r["Event"], dt.date.fromisoformat(r["StartDate"]), dt.date.fromisoformat(r["EndDate"]), float(r["Size"] or 0)))
    def typical(a, start):
        x = g.get_group(a)
        v = x[(x.ConsumptionDate >= start - D(56)) & (x.ConsumptionDate < start)].Consumption
        v = v[(v >= 0) & (v < 800)]
        return v.mean() if len(v) and v.mean() > 0 else float("nan")
    def active(e, a, b):
        return e[1] <= a and e[2] >= b
    def overlaps(e, a, b):
        return e[1] <= b and e[2] >= a
    last14 = end - D(13)
    leaks, flats, clean = {}, set(), set()
    for a in first.index:
        if first[a] > tu - D(91):
            continue
        es = ev.get(a, [])
        if not any(overlaps(e, tu - D(56), end) for e in es):
            clean.add(a)
        blocked = any(e[0] in ("stuck", "vacation") and overlaps(e, last14, end) for e in es)
        for e in es:
            if e[0] == "leak" and active(e, last14, end) and e[1] >= tu - D(7) and not blocked:
                leaks[a] = e[3] / typical(a, e[1])
        leak_all = any(e[0] == "leak" and active(e, last14, end) for e in es)
        leak_any = any(e[0] == "leak" and overlaps(e, last14, end) for e in es)
        if any(e[0] == "stuck" and active(e, last14, end) for e in es) or (
                any(e[0] == "vacation" and active(e, last14, end) for e in es) and (leak_all or not leak_any)):
            flats.add(a)
    def correct(a, k):
        es = ev.get(a, [])
        if k == "level_up":
            return any(e[0] == "leak" and e[2] >= end for e in es)
        if k == "flat":
            return any(e[0] in ("vacation", "stuck") and active(e, end - D(6), end) for e in es)
        return any(overlaps(e, tu - D(56), end) for e in es)
    for k in prec:
        fl = [a for a, x in flag.items() if x["kind"] == k]
        prec[k][0] += sum(correct(a, k) for a in fl)
        prec[k][1] += len(fl)
    up = lambda a: a in flag and flag[a]["kind"] == "level_up"
    l05 = [a for a, r in leaks.items() if r >= 0.5]
    l10 = [a for a, r in leaks.items() if r >= 1.0]
    tot["leak05"][0] += sum(map(up, l05)); tot["leak05"][1] += len(l05)
    tot["leak10"][0] += sum(map(up, l10)); tot["leak10"][1] += len(l10)
    tot["flat"][0] += sum(1 for a in flats if a in flag and flag[a]["kind"] == "flat"); tot["flat"][1] += len(flats)
    tot["fa"][0] += sum(1 for a in clean if a in flag); tot["fa"][1] += len(clean)
    print(f"# {d.rsplit('/', 1)[1]}: leaks>=0.5x found {sum(map(up, l05))}/{len(l05)}, >=1x {sum(map(up, l10))}/{len(l10)}, "
          f"flat {sum(1 for a in flats if a in flag and flag[a]['kind'] == 'flat')}/{len(flats)}, "
          f"false alarms {sum(1 for a in clean if a in flag)}/{len(clean)}, flagged "
          + ", ".join(f"{k} {sum(1 for x in flag.values() if x['kind'] == k)}" for k in prec))
r = lambda p: p[0] / p[1] if p[1] else float("nan")
print("# pooled: " + json.dumps({"leak_recall_rel>=0.5": tot["leak05"], "leak_recall_rel>=1": tot["leak10"],
      "flat_recall": tot["flat"], "false_alarms": tot["fa"], "precision": prec}))
check("anomaly list carries the evidence (days, outside, magnitude, relative, since, z, baseline)", keys_ok)
check(f"enough planted events to judge (leaks >= 0.5x: {tot['leak05'][1]}, flat: {tot['flat'][1]}, clean: {tot['fa'][1]})",
      tot["leak05"][1] >= 100 and tot["flat"][1] >= 50 and tot["fa"][1] >= 1000)
check(f"leak recall >= 0.8 for leaks >= 1x typical use ({r(tot['leak10']):.3f})", r(tot["leak10"]) >= 0.8)
check(f"leak recall >= 0.7 for leaks >= 0.5x typical use ({r(tot['leak05']):.3f})", r(tot["leak05"]) >= 0.7)
check(f"level_up precision >= 0.8 ({r(prec['level_up']):.3f} of {prec['level_up'][1]})", r(prec["level_up"]) >= 0.8)
check(f"flat recall >= 0.9 ({r(tot['flat']):.3f})", r(tot["flat"]) >= 0.9)
check(f"flat precision >= 0.9 ({r(prec['flat']):.3f} of {prec['flat'][1]})", r(prec["flat"]) >= 0.9)
check(f"level_down precision >= 0.7 ({r(prec['level_down']):.3f} of {prec['level_down'][1]})", r(prec["level_down"]) >= 0.7)
check(f"false alarms <= 1% of accounts without events ({tot['fa'][0]}/{tot['fa'][1]})", r(tot["fa"]) <= 0.01)
sys.exit(1 if fails else 0)
PY
[ $? -eq 0 ] || fails=$((fails + 1))
exit $((fails > 0))
