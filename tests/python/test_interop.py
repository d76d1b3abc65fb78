"""Interop of aquacast's Parquet subset with pyarrow and DuckDB, both directions.

Ours -> theirs: build/dev/tools/pq_tool writes files with lib/parquet.c (readings and a mixed
schema with BYTE_ARRAY columns; uncompressed and zstd; several row groups and pages); pyarrow
and DuckDB must read exactly our values (doubles bit for bit, NaN positions included), see our
DATE/STRING annotations, statistics and key-value metadata, and accept our page CRCs
(pyarrow's page_checksum_verification).
Theirs -> ours: pyarrow writes the readings schema (use_dictionary=False, compression none and
zstd, with and without page checksums); `aquacast-shard to-csv` must give exactly pyarrow's
values and `aquacast-shard verify` must pass, checking pyarrow's CRCs when present. A
dictionary-encoded, nullable or snappy file is refused with a message naming the file and
what to change.
"""
import math
import os
import struct
import subprocess
import tempfile
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

TOP = Path(__file__).resolve().parents[2]
PQ_TOOL = TOP / "build" / "dev" / "tools" / "pq_tool"
SHARD = TOP / "bin" / "aquacast-shard"

READINGS = pa.schema([
    pa.field("ConsumptionDate", pa.date32(), nullable=False),
    pa.field("AccountOID", pa.int64(), nullable=False),
    pa.field("Consumption", pa.float64(), nullable=False),
])


@pytest.fixture(scope="module")
def tmp():
    with tempfile.TemporaryDirectory(prefix="aq-interop-", dir=os.environ.get("AQ_TEST_TMP")) as d:
        yield Path(d)


def readings_data(n=23456, seed=7):
    """Sorted (account, date) rows with awkward doubles: NaN, -0.0, subnormal, huge, 3-decimal values."""
    rng = np.random.default_rng(seed)
    days = 97
    acc = np.repeat(np.arange(3_000_000, 3_000_000 + (n + days - 1) // days, dtype=np.int64) * 7, days)[:n]
    date = np.tile(np.arange(19083, 19083 + days, dtype=np.int32), (n + days - 1) // days)[:n]
    val = np.round(rng.lognormal(-1.0, 1.0, n), 3)
    val[rng.random(n) < 0.05] = np.nan
    val[rng.random(n) < 0.05] = 0.0
    val[5] = -0.0
    val[6] = 5e-324
    val[7] = 1.7e308
    val[8] = -123.456
    val[9] = struct.unpack("<d", struct.pack("<Q", 0x7FF8_0000_DEAD_BEEF))[0]  # NaN with a payload
    return date, acc, val


def bits(a):
    return np.ascontiguousarray(a, dtype=np.float64).view(np.uint64)


def write_ours(path, schema, codec, rg_rows, page_rows, lines):
    r = subprocess.run([str(PQ_TOOL), "write", str(path), schema, codec, str(rg_rows), str(page_rows)],
                       input="".join(lines), text=True, capture_output=True)
    assert r.returncode == 0, r.stderr


def write_ours_readings(path, codec, date, acc, val, rg_rows=5000, page_rows=1234):
    lines = [f"{d} {a} {b:016x}\n" for d, a, b in zip(date.tolist(), acc.tolist(), bits(val).tolist())]
    write_ours(path, "readings", codec, rg_rows, page_rows, lines)


def shard(*args, check=True):
    r = subprocess.run([str(SHARD), *map(str, args)], text=True, capture_output=True)
    if check:
        assert r.returncode == 0, f"aquacast-shard {args}: {r.stderr}"
    return r


def parse_csv(text):
    lines = text.splitlines()
    assert lines[0] == "ConsumptionDate,AccountOID,Consumption"
    d, a, v = [], [], []
    epoch = np.datetime64("1970-01-01")
    for ln in lines[1:]:
        ds, as_, vs = ln.split(",")
        d.append(int((np.datetime64(ds) - epoch).astype(int)))
        a.append(int(as_))
        v.append(float(vs) if vs else math.nan)
    return np.array(d, dtype=np.int32), np.array(a, dtype=np.int64), np.array(v, dtype=np.float64)


def same_doubles(x, y):
    """Bitwise equal, except that NaN is compared as 'is NaN' (payloads survive only where stated)."""
    x, y = np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64)
    if x.shape != y.shape:
        return False
    nx, ny = np.isnan(x), np.isnan(y)
    return bool((nx == ny).all() and (bits(x)[~nx] == bits(y)[~ny]).all())


# ---------------------------------------------------------------- ours -> pyarrow, DuckDB

@pytest.mark.parametrize("codec", ["none", "zstd"])
def test_pyarrow_and_duckdb_read_our_readings(tmp, codec):
    date, acc, val = readings_data()
    f = tmp / f"ours-{codec}.parquet"
    write_ours_readings(f, codec, date, acc, val)

    pf = pq.ParquetFile(f)
    md = pf.metadata
    assert md.num_rows == len(date)
    assert md.num_row_groups == 5
    assert md.created_by == "aquacast version 0.1"
    kv = pf.schema_arrow.metadata
    assert kv[b"aquacast.schema"] == b"aquacast.readings" and kv[b"aquacast.schema_version"] == b"1"
    assert pf.schema_arrow == READINGS.with_metadata(kv)
    col = md.row_group(0).column(0)
    assert col.compression == ("UNCOMPRESSED" if codec == "none" else "ZSTD")
    assert "PLAIN" in col.encodings and not any("DICT" in e for e in col.encodings)
    assert str(md.schema.column(0).logical_type) == "Date"

    t = pq.read_table(f, page_checksum_verification=True)
    assert (t.column("ConsumptionDate").to_numpy().astype("datetime64[D]").astype(np.int32) == date).all()
    assert (t.column("AccountOID").to_numpy() == acc).all()
    got = t.column("Consumption").to_numpy()
    assert (bits(got) == bits(val)).all(), "pyarrow must see our doubles bit for bit, NaN payloads included"

    # statistics of every row group: min/max as pyarrow computes them (NaN ignored)
    for g in range(md.num_row_groups):
        lo, hi = g * 5000, min((g + 1) * 5000, len(val))
        st = md.row_group(g).column(2).statistics
        assert st.has_min_max and st.null_count == 0
        assert st.min == np.nanmin(val[lo:hi]) and st.max == np.nanmax(val[lo:hi])
        sa = md.row_group(g).column(1).statistics
        assert (sa.min, sa.max) == (acc[lo:hi].min(), acc[lo:hi].max())

    con = duckdb.connect()
    rows = con.execute(
        "SELECT CAST(ConsumptionDate - DATE '1970-01-01' AS INTEGER) AS d, AccountOID, Consumption "
        f"FROM read_parquet('{f}')").fetchnumpy()
    assert (rows["d"] == date).all()
    assert (rows["AccountOID"] == acc).all()
    assert same_doubles(rows["Consumption"], val)
    # DuckDB's row-group pruning trusts our statistics: a filter must still find every row
    k = int(acc[12345])
    n = con.execute(f"SELECT count(*) FROM read_parquet('{f}') WHERE AccountOID = {k}").fetchone()[0]
    assert n == int((acc == k).sum())


@pytest.mark.parametrize("codec", ["none", "zstd1"])
def test_pyarrow_and_duckdb_read_our_byte_arrays(tmp, codec):
    rng = np.random.default_rng(3)
    n = 3001
    names = [("acc-%d-é" % i) if i % 11 else "" for i in range(n)]
    blobs = [bytes(rng.integers(0, 256, size=int(rng.integers(0, 300)), dtype=np.uint8)) for _ in range(n)]
    blobs[0] = b"\x00" * 5
    x = rng.normal(size=n)
    x[::17] = np.nan
    ids = np.arange(n, dtype=np.int64) * -1_000_003
    days = (np.arange(n) % 1000 - 500).astype(np.int32)
    lines = []
    for i in range(n):
        nh = names[i].encode().hex() or "-"
        bh = blobs[i].hex() or "-"
        lines.append(f"{days[i]} {ids[i]} {bits(x[i:i + 1])[0]:016x} {nh} {bh}\n")
    f = tmp / f"mixed-{codec}.parquet"
    write_ours(f, "mixed", codec, 1000, 300, lines)

    t = pq.read_table(f, page_checksum_verification=True)
    assert t.schema.field("name").type == pa.string() and t.schema.field("blob").type == pa.binary()
    assert t.schema.field("day").type == pa.date32()
    assert t.column("name").to_pylist() == names
    assert t.column("blob").to_pylist() == blobs
    assert (t.column("id").to_numpy() == ids).all()
    assert same_doubles(t.column("x").to_numpy(), x)
    md = pq.ParquetFile(f).metadata
    assert md.num_row_groups == 4
    st = md.row_group(0).column(3).statistics
    assert st.has_min_max and st.min == min(names[:1000]) and st.max == max(names[:1000])

    con = duckdb.connect()
    got = con.execute(f"SELECT name, blob, id FROM read_parquet('{f}')").fetchall()
    assert [g[0] for g in got] == names
    assert [bytes(g[1]) for g in got] == blobs
    assert [g[2] for g in got] == ids.tolist()

    # and our own tool prints it (generic columns)
    out = shard("head", "-n", 3, f).stdout.splitlines()
    assert out[0] == "day,id,x,name,blob"
    assert out[2].split(",")[4] == "0x" + blobs[1].hex()


# ---------------------------------------------------------------- pyarrow -> ours

def pyarrow_table(date, acc, val):
    return pa.table([pa.array(date.astype("datetime64[D]")), pa.array(acc), pa.array(val)], schema=READINGS)


@pytest.mark.parametrize("compression", ["none", "zstd"])
@pytest.mark.parametrize("checksum", [False, True])
def test_we_read_pyarrow(tmp, compression, checksum):
    date, acc, val = readings_data(n=20000, seed=11)
    f = tmp / f"pa-{compression}-{checksum}.parquet"
    pq.write_table(pyarrow_table(date, acc, val), f, use_dictionary=False, compression=compression,
                   row_group_size=6000, data_page_size=8192, write_page_checksum=checksum)
    assert pq.ParquetFile(f).metadata.num_row_groups == 4

    d, a, v = parse_csv(shard("to-csv", f).stdout)
    assert (d == date).all() and (a == acc).all()
    assert same_doubles(v, val)

    out = shard("verify", f).stdout
    assert out.startswith("ok ")
    # pyarrow writes page CRCs only when asked; ours then checks them
    pages, with_crc = [int(x) for x in out.split(" pages (")[0].split()[-1:] + out.split(" pages (")[1].split()[:1]]
    assert pages > 4
    assert with_crc == (pages if checksum else 0)


def test_crc_of_pyarrow_checked(tmp):
    """A flipped byte in a page of a pyarrow file written with checksums: our CRC check catches it."""
    date, acc, val = readings_data(n=5000, seed=5)
    f = tmp / "pa-crc.parquet"
    pq.write_table(pyarrow_table(date, acc, val), f, use_dictionary=False, compression="none",
                   write_page_checksum=True)
    data = bytearray(f.read_bytes())
    off = pq.ParquetFile(f).metadata.row_group(0).column(2).data_page_offset
    data[off + 200] ^= 0x01  # inside the Consumption page's values (past its header)
    bad = tmp / "pa-crc-bad.parquet"
    bad.write_bytes(bytes(data))
    r = shard("verify", bad, check=False)
    assert r.returncode == 1
    assert "CRC mismatch" in r.stdout and "pa-crc-bad.parquet" in r.stdout


def test_refuses_dictionary(tmp):
    date, acc, val = readings_data(n=3000)
    f = tmp / "pa-dict.parquet"
    pq.write_table(pyarrow_table(date, acc, val), f, compression="zstd")  # pyarrow's default: dictionary
    r = shard("to-csv", f, check=False)
    assert r.returncode == 1
    assert f"'{f}': dictionary encoding is not supported (write with use_dictionary=False)" in r.stderr
    r = shard("verify", f, check=False)
    assert r.returncode == 1 and "BAD" in r.stdout and "use_dictionary=False" in r.stdout


def test_refuses_nullable_and_snappy(tmp):
    date, acc, val = readings_data(n=1000)
    nullable = pa.table({"ConsumptionDate": pa.array(date.astype("datetime64[D]")), "AccountOID": acc,
                         "Consumption": val})
    f = tmp / "pa-nullable.parquet"
    pq.write_table(nullable, f, use_dictionary=False, compression="none")
    r = shard("to-csv", f, check=False)
    assert r.returncode == 1 and "OPTIONAL" in r.stderr and "pa-nullable.parquet" in r.stderr

    f = tmp / "pa-snappy.parquet"
    pq.write_table(pyarrow_table(date, acc, val), f, use_dictionary=False, compression="snappy")
    r = shard("to-csv", f, check=False)
    assert r.returncode == 1 and "compression SNAPPY is not supported" in r.stderr

    f = tmp / "pa-v2.parquet"
    pq.write_table(pyarrow_table(date, acc, val), f, use_dictionary=False, compression="none",
                   data_page_version="2.0")
    r = shard("to-csv", f, check=False)
    assert r.returncode == 1 and "data page v2 is not supported" in r.stderr


def test_pyarrow_default_has_no_page_crc(tmp):
    """What pyarrow writes by default: no page CRC (so the reader must accept a missing one)."""
    date, acc, val = readings_data(n=2000)
    f = tmp / "pa-default.parquet"
    pq.write_table(pyarrow_table(date, acc, val), f, use_dictionary=False, compression="zstd")
    out = shard("verify", f).stdout
    assert "(0 with CRC)" in out
