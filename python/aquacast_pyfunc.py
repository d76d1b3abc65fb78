"""aquacast_pyfunc — the MLflow python_function flavor of an aquacast model version (ctypes on libaquacast.so).

Shipped by aquacast-register as code/aquacast_pyfunc.py of every model version;
MLflow imports it (MLmodel: loader_module) and calls _load_pyfunc(<version>/data).
No forecasting maths here: each request is one call of aq_forecaster_range()
(lib/forecast.h), the function behind aquacast-train --forecast.

predict(DataFrame(account_oid, start_date, end_date)) returns one row per
requested day (kind "day", date YYYY-MM-DD) and one row per request with the
period total (kind "total", date = end_date): mean, lo80, hi80, lo95, hi95.
The shared library is <data>/lib/libaquacast.so, or $AQUACAST_LIBSO.
"""
import ctypes
import datetime
import os

import pandas as pd

_EPOCH = datetime.date(1970, 1, 1)
_COLUMNS = ["account_oid", "start_date", "end_date", "kind", "date", "mean", "lo80", "hi80", "lo95", "hi95"]


class _Err(ctypes.Structure):
    _fields_ = [("code", ctypes.c_int), ("msg", ctypes.c_char * 512)]


def _day(v):
    if isinstance(v, str):
        d = datetime.date.fromisoformat(v[:10])
    elif hasattr(v, "date"):
        d = v.date()
    else:
        d = v
    return (d - _EPOCH).days


def _iso(day):
    return (_EPOCH + datetime.timedelta(days=int(day))).isoformat()


def _library(data_path):
    env = os.environ.get("AQUACAST_LIBSO")
    path = env or os.path.join(data_path, "lib", "libaquacast.so")
    if not os.path.exists(path):
        raise RuntimeError("libaquacast.so not found at '%s' (set AQUACAST_LIBSO)" % path)
    lib = ctypes.CDLL(path)
    lib.aq_forecaster_new.restype = ctypes.c_void_p
    lib.aq_forecaster_new.argtypes = [ctypes.c_char_p, ctypes.POINTER(_Err)]
    lib.aq_forecaster_free.restype = None
    lib.aq_forecaster_free.argtypes = [ctypes.c_void_p]
    dp = ctypes.POINTER(ctypes.c_double)
    lib.aq_forecaster_range.restype = ctypes.c_int
    lib.aq_forecaster_range.argtypes = [ctypes.c_void_p, ctypes.c_int64, ctypes.c_int32, ctypes.c_int32,
                                        dp, dp, dp, dp, dp, dp, ctypes.POINTER(_Err)]
    return lib


class AquacastModel:
    def __init__(self, data_path):
        self._lib = _library(data_path)
        err = _Err()
        models = os.path.join(data_path, "models")
        self._f = self._lib.aq_forecaster_new(models.encode(), ctypes.byref(err))
        if not self._f:
            raise RuntimeError("cannot open model set '%s': %s" % (models, err.msg.decode()))

    def __del__(self):
        f, self._f = getattr(self, "_f", None), None
        if f:
            self._lib.aq_forecaster_free(f)

    def _one(self, account, start, end):
        d0, d1 = _day(start), _day(end)
        n = d1 - d0 + 1
        if n <= 0:
            raise ValueError("account %d: end_date %s is before start_date %s" % (account, end, start))
        arrays = [(ctypes.c_double * n)() for _ in range(5)]
        total = (ctypes.c_double * 5)()
        err = _Err()
        rc = self._lib.aq_forecaster_range(self._f, int(account), d0, d1, *arrays, total, ctypes.byref(err))
        if rc != 0:
            raise ValueError(err.msg.decode())
        s0, s1 = _iso(d0), _iso(d1)
        rows = [[int(account), s0, s1, "day", _iso(d0 + i)] + [a[i] for a in arrays] for i in range(n)]
        rows.append([int(account), s0, s1, "total", s1] + list(total))
        return rows

    def predict(self, model_input, params=None):
        df = pd.DataFrame(model_input)
        rows = []
        for account, start, end in zip(df["account_oid"], df["start_date"], df["end_date"]):
            rows.extend(self._one(account, start, end))
        return pd.DataFrame(rows, columns=_COLUMNS)


def _load_pyfunc(data_path):
    return AquacastModel(data_path)
