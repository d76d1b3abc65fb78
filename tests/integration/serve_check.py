# serve_check.py — HTTP checks of a running aquacast-serve: every route, V2 shapes (Triton's V2 client and the
# venv: requirements/serve.txt
# protocol's response schema), values against train --forecast, every error path, metrics, a hot swap under load.
#   python serve_check.py api BASE EXPECTED.json TARIFF.json SUMMARY.json
#   python serve_check.py swap BASE PID LINK SET_A SET_B SECONDS
import http.client
import json
import math
import os
import signal
import sys
import threading
import time
import urllib.parse

fails = 0


def ok(name, cond, detail=""):
    global fails
    if cond:
        print("ok - " + name)
    else:
        fails += 1
        print("not ok - " + name + (" (" + str(detail)[:300] + ")" if detail != "" else ""))


class Client:
    def __init__(self, base):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.c = http.client.HTTPConnection(self.host, self.port, timeout=10)

    def req(self, method, path, body=None, headers=None, raw=False):
        h = dict(headers or {})
        if body is not None and not isinstance(body, (bytes, str)):
            body = json.dumps(body)
            h.setdefault("Content-Type", "application/json")
        for attempt in range(2):
            try:
                self.c.request(method, path, body=body, headers=h)
                r = self.c.getresponse()
                data = r.read()
                break
            except (http.client.HTTPException, OSError):
                self.c.close()
                self.c = http.client.HTTPConnection(self.host, self.port, timeout=10)
                if attempt:
                    raise
        if r.getheader("Connection", "").lower() == "close":
            self.c.close()
            self.c = http.client.HTTPConnection(self.host, self.port, timeout=10)
        if raw:
            return r.status, data, r
        try:
            return r.status, json.loads(data) if data else None, r
        except ValueError:
            return r.status, data, r


def is_err(status, body, want):
    return status == want and isinstance(body, dict) and isinstance(body.get("error"), str) and body["error"]


def infer_body(accounts, horizon=None, start=None, end=None, outputs=None, rid=None):
    inputs = [{"name": "account_oid", "shape": [len(accounts)], "datatype": "INT64", "data": accounts}]
    if horizon is not None:
        inputs.append({"name": "horizon_days", "shape": [1], "datatype": "INT32", "data": [horizon]})
    if start is not None:
        inputs.append({"name": "start_date", "shape": [1], "datatype": "BYTES", "data": [start]})
        inputs.append({"name": "end_date", "shape": [1], "datatype": "BYTES", "data": [end]})
    b = {"inputs": inputs}
    if outputs:
        b["outputs"] = [{"name": n} for n in outputs]
    if rid is not None:
        b["id"] = rid
    return b


DATATYPES = {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32",
             "FP64", "BYTES"}


def v2_response_valid(b):
    """The $inference_response schema of the OIP REST spec (inference_rest.md): model_name and outputs
    required; each output {name, shape [int], datatype, data}; data row-major, flat or nested."""
    if not isinstance(b, dict) or not isinstance(b.get("model_name"), str) or not isinstance(b.get("outputs"), list):
        return "model_name/outputs"
    for k in b:
        if k not in ("model_name", "model_version", "id", "parameters", "outputs"):
            return "unknown member " + k
    for o in b["outputs"]:
        if set(o) - {"name", "shape", "datatype", "parameters", "data"} or not isinstance(o.get("name"), str):
            return "output members"
        if o.get("datatype") not in DATATYPES or not isinstance(o.get("shape"), list):
            return "output datatype/shape"
        if not all(isinstance(d, int) and d >= 0 for d in o["shape"]):
            return "shape dims"
        n = math.prod(o["shape"])
        flat = o["data"]
        while flat and isinstance(flat[0], list):
            flat = [x for y in flat for x in y]
        if len(flat) != n:
            return "data count %d != shape %s" % (len(flat), o["shape"])
        if o["datatype"] == "FP64" and not all(isinstance(x, (int, float)) for x in flat):
            return "FP64 data"
        if o["datatype"] == "BYTES" and not all(isinstance(x, str) for x in flat):
            return "BYTES data"
    return None


def close(a, b, rel=1e-8):
    return abs(a - b) <= rel * max(1.0, abs(b))


def bill(t, m3, days):
    f = days / 30.4375
    s, lo = t["fixed_per_cycle"] * f, 0.0
    for b in t["blocks"]:
        hi = math.inf if b["up_to_m3"] is None else b["up_to_m3"]
        if m3 > lo * f:
            s += (min(m3, hi * f) - lo * f) * b["price_per_m3"]
        lo = hi
    return round(s * (1 + t["vat"]) * 100) / 100


def check_health(c):
    s, b, _ = c.req("GET", "/v2/health/live")
    ok("v2 live 200 {live:true}", s == 200 and b == {"live": True}, (s, b))
    s, b, _ = c.req("GET", "/v2/health/ready")
    ok("v2 ready 200 {ready:true}", s == 200 and b == {"ready": True}, (s, b))
    s, b, _ = c.req("GET", "/v2")
    ok("v2 server metadata: name, version, extensions", s == 200 and isinstance(b.get("name"), str)
       and isinstance(b.get("version"), str) and isinstance(b.get("extensions"), list), b)
    s, b, _ = c.req("GET", "/v2/models/aquacast")
    names_in = [i["name"] for i in b.get("inputs", [])]
    names_out = [o["name"] for o in b.get("outputs", [])]
    ok("v2 model metadata: name, platform, versions, inputs, outputs", s == 200 and b["name"] == "aquacast"
       and isinstance(b.get("platform"), str) and len(b.get("versions", [])) == 1
       and names_in == ["account_oid", "horizon_days", "start_date", "end_date"]
       and {"mean", "lo80", "hi80", "lo95", "hi95", "total", "total_lo95", "total_hi95"} <= set(names_out)
       and all({"name", "datatype", "shape"} <= set(t) for t in b["inputs"] + b["outputs"]), b)
    version = b["versions"][0]
    s, b, _ = c.req("GET", "/v2/models/aquacast/ready")
    ok("v2 model ready", s == 200 and b == {"name": "aquacast", "ready": True}, (s, b))
    s, b, _ = c.req("GET", "/v2/models/aquacast/versions/" + urllib.parse.quote(version))
    ok("v2 model metadata of the loaded version", s == 200 and b.get("versions") == [version], (s, b))
    s, b, _ = c.req("GET", "/v2/models/aquacast/versions/9999")
    ok("v2 unknown version 404 JSON", is_err(s, b, 404), (s, b))
    s, b, _ = c.req("GET", "/v2/models/other")
    ok("v2 unknown model 404 JSON", is_err(s, b, 404), (s, b))
    s, b, _ = c.req("GET", "/v2/nothing/here")
    ok("v2 unknown route 404 JSON", is_err(s, b, 404), (s, b))
    s, b, r = c.req("GET", "/v2/models/aquacast/infer")
    ok("v2 GET on infer 405 with Allow: POST", is_err(s, b, 405) and r.getheader("Allow") == "POST", (s, b))
    s, b, _ = c.req("POST", "/v2/health/live", body="")
    ok("v2 POST on live 405", is_err(s, b, 405), (s, b))
    return version


def check_infer(c, exp, version):
    accs = [int(a) for a in exp]
    s, b, _ = c.req("POST", "/v2/models/aquacast/infer", infer_body(accs, horizon=30, rid="req-42"))
    ok("v2 infer 200", s == 200, (s, b))
    if s != 200:
        return
    ok("v2 infer response matches the protocol's schema", v2_response_valid(b) is None, v2_response_valid(b))
    ok("v2 infer echoes id, names model and version", b.get("id") == "req-42" and b["model_name"] == "aquacast"
       and b.get("model_version") == version, b.get("id"))
    out = {o["name"]: o for o in b["outputs"]}
    ok("v2 infer: 12 outputs, mean [B,30] FP64, total [B]", len(out) == 12 and out["mean"]["shape"] == [len(accs), 30]
       and out["mean"]["datatype"] == "FP64" and out["total"]["shape"] == [len(accs)]
       and out["start_date"]["datatype"] == "BYTES", {k: v["shape"] for k, v in out.items()})
    good = True
    for i, a in enumerate(accs):
        e = exp[str(a)]
        m = out["mean"]["data"][i * 30:(i + 1) * 30]
        good &= all(close(x, y) for x, y in zip(m, e["mean"]))
        good &= close(out["total"]["data"][i], e["total"]) and close(out["total_lo80"]["data"][i], e["total80"][0])
        good &= close(out["total_hi95"]["data"][i], e["total95"][1])
        good &= out["start_date"]["data"][i] == e["first_date"]
    ok("v2 infer values = aquacast-train --forecast (daily means, totals, intervals)", good)
    e0 = exp[str(accs[0])]
    import datetime
    d0 = datetime.date.fromisoformat(e0["first_date"])
    st, en = (d0 + datetime.timedelta(days=5)).isoformat(), (d0 + datetime.timedelta(days=9)).isoformat()
    s, b, _ = c.req("POST", "/v2/models/aquacast/versions/" + version + "/infer",
                    infer_body([accs[0]], start=st, end=en, outputs=["mean", "total"]))
    outs = {o["name"]: o for o in b.get("outputs", [])} if s == 200 else {}
    ok("v2 infer by dates with an outputs subset (versioned path)", s == 200 and set(outs) == {"mean", "total"}
       and all(close(x, y) for x, y in zip(outs["mean"]["data"], e0["mean"][5:10])), (s, b))
    nested = infer_body(accs, horizon=30)
    nested["inputs"][0] = {"name": "account_oid", "shape": [len(accs), 1], "datatype": "INT64",
                           "data": [[a] for a in accs], "parameters": {"content_type": "np"}}
    s, b, _ = c.req("POST", "/v2/models/aquacast/infer", nested)
    ok("v2 infer accepts nested data [B,1] and parameters", s == 200, (s, b))


def check_triton(base, exp):
    try:
        import numpy as np
        import tritonclient.http as th
    except ImportError as e:
        ok("tritonclient importable (requirements/serve.txt)", False, e)
        return
    u = urllib.parse.urlparse(base)
    cl = th.InferenceServerClient(url="%s:%d" % (u.hostname, u.port))
    ok("tritonclient: server live, ready, model ready", cl.is_server_live() and cl.is_server_ready()
       and cl.is_model_ready("aquacast"))
    md = cl.get_model_metadata("aquacast")
    ok("tritonclient: model metadata", md["name"] == "aquacast" and len(md["inputs"]) == 4, md)
    sm = cl.get_server_metadata()
    ok("tritonclient: server metadata", sm["name"] == "aquacast-serve", sm)
    accs = [int(a) for a in exp]
    i0 = th.InferInput("account_oid", [len(accs)], "INT64")
    i0.set_data_from_numpy(np.array(accs, dtype=np.int64), binary_data=False)
    i1 = th.InferInput("horizon_days", [1], "INT32")
    i1.set_data_from_numpy(np.array([30], dtype=np.int32), binary_data=False)
    outs = [th.InferRequestedOutput(n, binary_data=False) for n in ("total", "mean", "start_date")]
    r = cl.infer("aquacast", [i0, i1], outputs=outs, request_id="t1")
    tot, mean = r.as_numpy("total"), r.as_numpy("mean")
    ok("tritonclient: infer total and mean [B,30] = train --forecast",
       tot.shape == (len(accs),) and mean.shape == (len(accs), 30)
       and all(close(float(tot[i]), exp[str(a)]["total"]) for i, a in enumerate(accs)), (tot, mean.shape))
    i2 = th.InferInput("start_date", [1], "BYTES")
    i2.set_data_from_numpy(np.array([exp[str(accs[0])]["first_date"].encode()], dtype=np.object_), binary_data=False)
    i3 = th.InferInput("end_date", [1], "BYTES")
    i3.set_data_from_numpy(np.array([exp[str(accs[0])]["first_date"].encode()], dtype=np.object_), binary_data=False)
    r = cl.infer("aquacast", [_one(th, np, accs[0]), i2, i3],
                 outputs=[th.InferRequestedOutput("total", binary_data=False)])
    ok("tritonclient: infer by BYTES dates (one day)", close(float(r.as_numpy("total")[0]), exp[str(accs[0])]["mean"][0]))
    try:
        cl.infer("aquacast", [_one(th, np, 1), i1])
        ok("tritonclient: unknown account raises", False)
    except Exception as e:  # InferenceServerException with the server's message
        ok("tritonclient: unknown account raises with the server's message", "unknown account" in str(e), e)


def _one(th, np, a):
    i = th.InferInput("account_oid", [1], "INT64")
    i.set_data_from_numpy(np.array([a], dtype=np.int64), binary_data=False)
    return i


def check_v2_errors(c, exp):
    a = int(next(iter(exp)))
    first = exp[str(a)]["first_date"]
    cases = [
        ("malformed JSON", "{\"inputs\": [", 400),
        ("not an object", "[1,2]", 400),
        ("duplicate keys", "{\"inputs\":[],\"inputs\":[]}", 400),
        ("unknown account", infer_body([1], horizon=3), 404),
        ("one unknown account in a batch", infer_body([a, 2], horizon=3), 404),
        ("horizon over the limit", infer_body([a], horizon=367), 400),
        ("horizon 0", infer_body([a], horizon=0), 400),
        ("period in the past", infer_body([a], start="2020-01-01", end="2020-01-05"), 400),
        ("end before start", infer_body([a], start=first, end="2020-01-05"), 400),
        ("bad date", infer_body([a], start="2024-02-30", end="2024-03-01"), 400),
        ("batch over --max-batch", infer_body(list(range(1, 52)), horizon=3), 400),
        ("both horizon and dates", infer_body([a], horizon=3, start=first, end=first), 400),
        ("no period", infer_body([a]), 400),
        ("unknown output", infer_body([a], horizon=3, outputs=["nope"]), 400),
    ]
    b = infer_body([a], horizon=3)
    b["inputs"][0]["datatype"] = "FP32"
    cases.append(("wrong datatype", b, 400))
    b = infer_body([a], horizon=3)
    b["inputs"][0]["shape"] = [3]
    cases.append(("shape does not match data", b, 400))
    b = infer_body([a], horizon=3)
    b["inputs"][0]["data"] = ["3000000"]
    cases.append(("string account", b, 400))
    for name, body, want in cases:
        s, r, _ = c.req("POST", "/v2/models/aquacast/infer", body)
        ok("v2 error: %s -> %d JSON" % (name, want), is_err(s, r, want), (s, r))
    big = json.dumps(infer_body([a] * 10, horizon=3)) + " " * 70000
    s, r, _ = c.req("POST", "/v2/models/aquacast/infer", big)
    ok("v2 error: body over --max-body (Content-Length) -> 413 JSON", is_err(s, r, 413), (s, r))
    # chunked: no Content-Length, the limit is found while reading
    conn = http.client.HTTPConnection(c.host, c.port, timeout=10)
    conn.putrequest("POST", "/v2/models/aquacast/infer")
    conn.putheader("Transfer-Encoding", "chunked")
    conn.putheader("Content-Type", "application/json")
    conn.endheaders()
    for _ in range(20):
        chunk = b" " * 8192
        conn.send(b"%x\r\n%s\r\n" % (len(chunk), chunk))
    conn.send(b"0\r\n\r\n")
    r = conn.getresponse()
    body = r.read()
    ok("v2 error: chunked body over --max-body -> 413", r.status == 413 and b"error" in body, (r.status, body))
    conn.close()
    s, r, _ = c.req("GET", "/v2/health/ready")
    ok("server still ready after the error paths", s == 200, s)


def check_api(c, exp, tariff, summary):
    accs = [int(a) for a in exp]
    a = accs[0]
    s, b, _ = c.req("GET", "/api/accounts?q=%s&limit=5" % str(a)[:3])
    ok("api accounts search by prefix", s == 200 and 1 <= len(b["accounts"]) <= 5
       and all(str(x).startswith(str(a)[:3]) for x in b["accounts"]) and b["matches"] >= len(b["accounts"]), b)
    s, b, _ = c.req("GET", "/api/accounts/%d" % a)
    ok("api account: model, 28 recent days, periods, forecast_from", s == 200 and b["account"] == a
       and len(b["recent"]["m3"]) == 28 and b["forecast_from"] == exp[str(a)]["first_date"]
       and set(b["periods"]) == {"next_7", "next_30", "next_90", "next_cycle"} and "spec" in b["model"], b)
    ok("api account: next billing cycle starts on the tariff's day, on or after forecast_from",
       s == 200 and b["periods"]["next_cycle"]["from"] >= b["forecast_from"]
       and int(b["periods"]["next_cycle"]["from"][8:]) == tariff["cycle_start_day"], b.get("periods"))
    ok("api account: accuracy of the served forecaster (from E/metrics)", s == 200 and b.get("accuracy")
       and b["accuracy"]["forecaster"] == b["model"]["served_by_evaluate"], b.get("accuracy"))
    anomalies = summary.get("anomaly_list", [])
    if anomalies:
        x = anomalies[0]
        s, b, _ = c.req("GET", "/api/accounts/%d" % x["account"])
        ok("api account: anomaly flag with a plain-words notice", s == 200 and b["anomaly"]["kind"] == x["kind"]
           and b["anomaly"]["since"] == x["since"] and len(b["anomaly"]["notice"]) > 40, b.get("anomaly"))
    else:
        ok("api account: the test set has an anomaly to show", False, "no anomaly_list")
    s, b, _ = c.req("GET", "/api/forecast?account=%d&days=30" % a)
    e = exp[str(a)]
    ok("api forecast: 30 days, total and intervals = train --forecast", s == 200 and len(b["daily"]) == 30
       and close(b["total_m3"]["mean"], e["total"]) and close(b["total_m3"]["lo95"], e["total95"][0])
       and all(close(d["mean"], m) for d, m in zip(b["daily"], e["mean"])) and b["from"] == e["first_date"], b)
    ok("api forecast: bands ordered lo95 <= lo80 <= mean <= hi80 <= hi95, never negative",
       s == 200 and all(0 <= d["lo95"] <= d["lo80"] <= d["mean"] <= d["hi80"] <= d["hi95"] for d in b["daily"]))
    fc = b
    s, b, _ = c.req("GET", "/api/forecast?account=%d&from=%s&to=%s" % (a, fc["from"], fc["daily"][6]["date"]))
    ok("api forecast by from/to", s == 200 and b["days"] == 7, (s, b))
    s, b, _ = c.req("GET", "/api/bill?account=%d&days=30" % a)
    want = [bill(tariff, fc["total_m3"][k], 30) for k in ("mean", "lo80", "hi80", "lo95", "hi95")]
    ok("api bill: the block tariff applied to the total and its bounds", s == 200 and b["currency"] == tariff["currency"]
       and [b["bill"][k] for k in ("mean", "lo80", "hi80", "lo95", "hi95")] == want, (b, want))
    errs = [
        ("/api/forecast", 400), ("/api/forecast?account=abc&days=3", 400), ("/api/forecast?account=0&days=3", 400),
        ("/api/forecast?account=1&days=3", 404), ("/api/forecast?account=%d&days=0" % a, 400),
        ("/api/forecast?account=%d&days=367" % a, 400),
        ("/api/forecast?account=%d&from=2020-01-01&to=2020-01-02" % a, 400),
        ("/api/forecast?account=%d&from=%s&to=2099-01-01" % (a, fc["from"]), 400),
        ("/api/forecast?account=%d&from=%s&to=2024-02-30" % (a, fc["from"]), 400),
        ("/api/forecast?account=%d&from=%s" % (a, fc["from"]), 400),
        ("/api/bill?account=1&days=3", 404), ("/api/accounts/abc", 400), ("/api/accounts/1", 404),
        ("/api/accounts?q=12x", 400), ("/api/accounts?limit=0", 400), ("/api/nothing", 404),
        ("/no/such/file.js", 404), ("/../../etc/passwd", 404),
    ]
    for path, want in errs:
        s, b, _ = c.req("GET", path)
        ok("api error: GET %s -> %d JSON" % (path, want), is_err(s, b, want), (s, b))
    s, b, r = c.req("POST", "/api/forecast?account=%d&days=3" % a, body="{}")
    ok("api error: POST /api/forecast -> 405 JSON with Allow", is_err(s, b, 405) and "GET" in r.getheader("Allow", ""), (s, b))
    s, b, r = c.req("GET", "/", raw=True)
    ok("dashboard: / is index.html", s == 200 and b"<html" in b and "text/html" in r.getheader("Content-Type"), s)
    s, b, r = c.req("GET", "/app.js", raw=True)
    ok("dashboard: /app.js bundled (uPlot inside, no CDN)", s == 200 and b"u-legend" in b and b"https://cdn" not in b, s)
    s, b, r = c.req("GET", "/favicon.ico", raw=True)
    ok("dashboard: /favicon.ico 204", s == 204, s)


def check_metrics(c, version):
    s, b, r = c.req("GET", "/metrics", raw=True)
    text = b.decode()
    ok("metrics: 200 text/plain version=0.0.4", s == 200 and "version=0.0.4" in r.getheader("Content-Type"), s)
    series = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            k, v = line.rsplit(" ", 1)
            series[k] = float(v)
    ok("metrics: requests by route and code", series.get('aquacast_serve_requests_total{route="v2_infer",code="200"}', 0) >= 3
       and series.get('aquacast_serve_requests_total{route="api_forecast",code="400"}', 0) >= 5
       and series.get('aquacast_serve_requests_total{route="v2_infer",code="413"}', 0) >= 2, text[:400])
    buckets = [v for k, v in series.items() if k.startswith('aquacast_serve_request_duration_seconds_bucket{route="v2_infer"')]
    cnt = series.get('aquacast_serve_request_duration_seconds_count{route="v2_infer"}')
    ok("metrics: latency histogram cumulative, +Inf = count", buckets == sorted(buckets) and buckets[-1] == cnt, buckets)
    ok("metrics: model version and age", series.get('aquacast_serve_model_info{version="%s"}' % version) == 1
       and series.get("aquacast_serve_model_age_seconds", -1) >= 0 and series.get("aquacast_serve_ready") == 1, version)


def api(base, exp_path, tariff_path, summary_path):
    exp = json.load(open(exp_path))
    tariff = json.load(open(tariff_path))
    summary = json.load(open(summary_path))
    c = Client(base)
    version = check_health(c)
    check_infer(c, exp, version)
    check_triton(base, exp)
    check_v2_errors(c, exp)
    check_api(c, exp, tariff, summary)
    check_metrics(c, version)


def swap(base, pid, link, set_a, set_b, seconds):
    """Clients on keep-alive connections while the champion is swapped every 0.5 s: no request may fail."""
    stop = time.time() + seconds
    stats = {"n": 0, "fail": [], "versions": set()}
    lock = threading.Lock()
    c0 = Client(base)
    s, acc, _ = c0.req("GET", "/api/accounts?limit=3")
    accounts = acc["accounts"]

    def worker(k):
        c = Client(base)
        i = 0
        while time.time() < stop:
            a = accounts[i % len(accounts)]
            i += 1
            try:
                if (i + k) % 2:
                    s, b, _ = c.req("GET", "/api/forecast?account=%d&days=30" % a)
                    v = b.get("model_version") if s == 200 else None
                else:
                    s, b, _ = c.req("POST", "/v2/models/aquacast/infer", infer_body([a], horizon=30))
                    v = b.get("model_version") if s == 200 else None
            except Exception as e:  # a dropped connection counts as a failure
                s, v, b = -1, None, repr(e)
            with lock:
                stats["n"] += 1
                if s != 200:
                    stats["fail"].append((s, str(b)[:200]))
                else:
                    stats["versions"].add(v)

    th = [threading.Thread(target=worker, args=(k,)) for k in range(4)]
    for t in th:
        t.start()
    swaps = 0
    while time.time() < stop - 0.6:
        time.sleep(0.5)
        tmp = link + ".new"
        os.symlink(set_b if swaps % 2 == 0 else set_a, tmp)
        os.replace(tmp, link)
        os.kill(pid, signal.SIGHUP)
        swaps += 1
    for t in th:
        t.join()
    ok("hot swap under load: %d requests, %d swaps, no failed request" % (stats["n"], swaps),
       not stats["fail"] and stats["n"] > 200, stats["fail"][:3])
    ok("hot swap under load: responses came from both sets", len(stats["versions"]) == 2, stats["versions"])
    s, b, r = c0.req("GET", "/metrics", raw=True)
    reloads = [l for l in b.decode().splitlines() if l.startswith('aquacast_serve_reloads_total{result="ok"}')]
    ok("hot swap: metrics count the reloads", reloads and float(reloads[0].split()[-1]) >= swaps, reloads)


if __name__ == "__main__":
    if sys.argv[1] == "api":
        api(*sys.argv[2:6])
    else:
        swap(sys.argv[2], int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6], float(sys.argv[7]))
    sys.exit(1 if fails else 0)
