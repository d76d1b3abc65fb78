/* test_parquet.c — writer/reader roundtrip of every column type and codec, stats, CRC, and corrupt-input fuzzing. */
#include <fcntl.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "parquet.h"
#include "test.h"
#include "thrift.h"

static char tmpdir[512];

static char *tpath(const char *name)
{
	static char buf[8][1024];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

static const struct aq_pq_column mcols[] = {
	{ "day", AQ_PQ_INT32, AQ_PQ_DATE },
	{ "id", AQ_PQ_INT64, AQ_PQ_NONE },
	{ "x", AQ_PQ_DOUBLE, AQ_PQ_NONE },
	{ "name", AQ_PQ_BYTES, AQ_PQ_STRING },
	{ "blob", AQ_PQ_BYTES, AQ_PQ_NONE },
};
static const struct aq_pq_schema mschema = { "aquacast.test", 3, 5, mcols };

struct data {
	size_t n;
	int32_t *day;
	int64_t *id;
	double *x;
	uint8_t *nd, *bd;
	uint64_t *noff, *boff;
};

static void make_data(struct data *d, size_t n)
{
	size_t nl = 0, bl = 0;

	d->n = n;
	d->day = malloc(n * 4);
	d->id = malloc(n * 8);
	d->x = malloc(n * 8);
	d->noff = malloc((n + 1) * 8);
	d->boff = malloc((n + 1) * 8);
	d->nd = malloc(n * 16 + 1);
	d->bd = malloc(n * 40 + 1);
	d->noff[0] = d->boff[0] = 0;
	for (size_t i = 0; i < n; i++) {
		d->day[i] = 19000 + (int32_t)(i % 731) - 300;
		d->id[i] = (int64_t)(i / 7) * 1000003 - 5000000000LL;
		d->x[i] = i % 13 == 0 ? NAN : i % 17 == 0 ? -0.0 : (double)i * 0.001 - 3.0;
		nl += (size_t)snprintf((char *)d->nd + nl, 16, "acc%zu", i % 1000);
		d->noff[i + 1] = nl;
		for (size_t k = 0; k < i % 37; k++)
			d->bd[bl++] = (uint8_t)(i * 31 + k);
		d->boff[i + 1] = bl;
	}
}

static void free_data(struct data *d)
{
	free(d->day);
	free(d->id);
	free(d->x);
	free(d->nd);
	free(d->bd);
	free(d->noff);
	free(d->boff);
}

static int write_file(const char *path, const struct data *d, const struct aq_pq_write_opts *o, size_t chunk,
		      struct aq_err *e)
{
	struct aq_pq_writer w;
	int rc;

	if ((rc = aq_pq_writer_open(&w, path, &mschema, o, e)))
		return rc;
	for (size_t s = 0; s < d->n; s += chunk) {
		size_t m = d->n - s < chunk ? d->n - s : chunk;
		struct aq_pq_bytes nb = { d->nd, d->noff + s }, bb = { d->bd, d->boff + s };
		const void *cols[5] = { d->day + s, d->id + s, d->x + s, &nb, &bb };

		if ((rc = aq_pq_writer_write(&w, m, cols, e))) {
			aq_pq_writer_abort(&w);
			return rc;
		}
	}
	return aq_pq_writer_close(&w, e);
}

/* Read the whole file back and compare with d bit for bit. */
static int check_file(const char *path, const struct data *d, struct aq_err *e)
{
	struct aq_pq_reader r;
	size_t at = 0;
	int rc, bad = 0;
	int32_t *day = malloc(d->n * 4 + 4);
	int64_t *id = malloc(d->n * 8 + 8);
	double *x = malloc(d->n * 8 + 8);

	if ((rc = aq_pq_reader_open(&r, path, e)))
		goto out;
	if ((rc = aq_pq_reader_expect(&r, &mschema, e)))
		goto out;
	if (r.nrows != d->n) {
		bad = 1;
		goto out;
	}
	for (int g = 0; g < r.nrow_groups && !rc; g++) {
		size_t m = (size_t)aq_pq_reader_rg_rows(&r, g);
		struct aq_pq_bytes nb = { 0 }, bb = { 0 };

		if ((rc = aq_pq_reader_read(&r, g, 0, day + at, e)) || (rc = aq_pq_reader_read(&r, g, 1, id + at, e)) ||
		    (rc = aq_pq_reader_read(&r, g, 2, x + at, e)) || (rc = aq_pq_reader_read(&r, g, 3, &nb, e)) ||
		    (rc = aq_pq_reader_read(&r, g, 4, &bb, e))) {
			aq_pq_bytes_free(&nb);
			break;
		}
		for (size_t i = 0; i < m; i++) {
			size_t j = at + i;

			if (nb.off[i + 1] - nb.off[i] != d->noff[j + 1] - d->noff[j] ||
			    memcmp(nb.data + nb.off[i], d->nd + d->noff[j], d->noff[j + 1] - d->noff[j]) ||
			    bb.off[i + 1] - bb.off[i] != d->boff[j + 1] - d->boff[j] ||
			    memcmp(bb.data + bb.off[i], d->bd + d->boff[j], d->boff[j + 1] - d->boff[j]))
				bad = 1;
		}
		aq_pq_bytes_free(&nb);
		aq_pq_bytes_free(&bb);
		at += m;
	}
	if (!rc && (at != d->n || memcmp(day, d->day, d->n * 4) || memcmp(id, d->id, d->n * 8) ||
		    memcmp(x, d->x, d->n * 8)))
		bad = 1;
	if (!rc)
		rc = aq_pq_reader_verify(&r, e);
out:
	aq_pq_reader_release(&r);
	free(day);
	free(id);
	free(x);
	return rc ? rc : bad ? 99 : 0;
}

static void test_roundtrip(void)
{
	struct data d;
	struct aq_err e = { 0 };
	struct aq_pq_write_opts zs = { .codec = AQ_PQ_ZSTD, .zstd_level = 1, .page_rows = 1000 };
	struct aq_pq_write_opts un = { .codec = AQ_PQ_UNCOMPRESSED, .zstd_level = AQ_PQ_LEVEL_NONE,
				       .page_rows = 333, .row_group_rows = 2500 };
	struct aq_pq_write_opts zero = { 0 };

	make_data(&d, 10007);
	T_OK(write_file(tpath("a.parquet"), &d, NULL, 4000, &e));
	T_OK(check_file(tpath("a.parquet"), &d, &e));
	T_OK(write_file(tpath("b.parquet"), &d, &zs, 10007, &e));
	T_OK(check_file(tpath("b.parquet"), &d, &e));
	T_OK(write_file(tpath("c.parquet"), &d, &un, 10007, &e)); /* split into row groups of 2500 */
	T_OK(check_file(tpath("c.parquet"), &d, &e));
	if (e.code)
		fprintf(stderr, "%s\n", e.msg);
	{
		struct aq_pq_reader r;

		T_OK(aq_pq_reader_open(&r, tpath("c.parquet"), &e));
		T_EQ_INT(r.nrow_groups, 5);
		T_EQ_INT(r.ncols, 5);
		T_CHECK(r.schema_name && !strcmp(r.schema_name, "aquacast.test"));
		T_EQ_INT(r.schema_version, 3);
		T_CHECK(r.created_by && !strcmp(r.created_by, "aquacast version 0.1"));
		T_EQ_INT(r.cols[0].logical, AQ_PQ_DATE);
		T_EQ_INT(r.cols[3].logical, AQ_PQ_STRING);
		T_EQ_INT(r.cols[4].logical, AQ_PQ_NONE);
		T_EQ_INT(aq_pq_reader_col(&r, "x"), 2);
		T_EQ_INT(aq_pq_reader_col(&r, "nope"), -1);
		T_OK(aq_pq_reader_verify(&r, &e));
		T_CHECK(r.pages > 0 && r.pages == r.pages_crc);
		T_EQ_INT(aq_pq_reader_chunk_codec(&r, 0, 0), AQ_PQ_UNCOMPRESSED);
		aq_pq_reader_release(&r);
	}
	{
		/* a zeroed options struct means the defaults: ZSTD */
		struct aq_pq_reader r;

		T_OK(write_file(tpath("z.parquet"), &d, &zero, 10007, &e));
		T_OK(aq_pq_reader_open(&r, tpath("z.parquet"), &e));
		T_EQ_INT(aq_pq_reader_chunk_codec(&r, 0, 2), AQ_PQ_ZSTD);
		T_EQ_INT(aq_pq_reader_chunk_codec(&r, 0, 9), -1);
		aq_pq_reader_release(&r);
	}
	free_data(&d);
}

static void test_empty_and_edge(void)
{
	struct data d;
	struct aq_err e = { 0 };
	struct aq_pq_reader r;

	make_data(&d, 0);
	T_OK(write_file(tpath("empty.parquet"), &d, NULL, 1, &e));
	T_OK(aq_pq_reader_open(&r, tpath("empty.parquet"), &e));
	T_EQ_INT(r.nrows, 0);
	T_EQ_INT(r.nrow_groups, 0);
	T_OK(aq_pq_reader_verify(&r, &e));
	aq_pq_reader_release(&r);
	free_data(&d);
	make_data(&d, 1);
	T_OK(write_file(tpath("one.parquet"), &d, NULL, 1, &e));
	T_OK(check_file(tpath("one.parquet"), &d, &e));
	free_data(&d);
}

static void test_stats(void)
{
	static const struct aq_pq_column c[] = { { "v", AQ_PQ_DOUBLE, AQ_PQ_NONE }, { "i", AQ_PQ_INT32, AQ_PQ_NONE } };
	static const struct aq_pq_schema s = { "aquacast.s", 1, 2, c };
	double v[] = { NAN, 2.5, -1.25, NAN, 0.0 }, nan3[] = { NAN, NAN, NAN };
	int32_t iv[] = { 5, -9, 7, 0, 3 };
	const void *cols[2] = { v, iv }, *cols2[2] = { nan3, iv };
	struct aq_pq_writer w;
	struct aq_pq_reader r;
	struct aq_err e = { 0 };
	double mn, mx;

	T_OK(aq_pq_writer_open(&w, tpath("s.parquet"), &s, NULL, &e));
	T_OK(aq_pq_writer_write(&w, 5, cols, &e));
	T_OK(aq_pq_writer_write(&w, 3, cols2, &e));
	T_OK(aq_pq_writer_close(&w, &e));
	T_OK(aq_pq_reader_open(&r, tpath("s.parquet"), &e));
	T_OK(aq_pq_reader_stats(&r, 0, 0, &mn, &mx));
	T_CHECK(mn == -1.25 && mx == 2.5);
	T_OK(aq_pq_reader_stats(&r, 0, 1, &mn, &mx));
	T_CHECK(mn == -9 && mx == 7);
	T_EQ_INT(aq_pq_reader_stats(&r, 1, 0, &mn, &mx), AQ_ENOTFOUND); /* all NaN: no min/max */
	T_OK(aq_pq_reader_verify(&r, &e));
	aq_pq_reader_release(&r);
}

static void test_schema_mismatch(void)
{
	static const struct aq_pq_column c2[] = { { "day", AQ_PQ_INT64, AQ_PQ_NONE } };
	static const struct aq_pq_schema s2 = { "aquacast.test", 3, 1, c2 };
	static const struct aq_pq_schema s3 = { "aquacast.other", 3, 5, mcols };
	static const struct aq_pq_schema s4 = { "aquacast.test", 2, 5, mcols };
	struct data d;
	struct aq_err e = { 0 };
	struct aq_pq_reader r;

	make_data(&d, 10);
	T_OK(write_file(tpath("m.parquet"), &d, NULL, 10, &e));
	T_OK(aq_pq_reader_open(&r, tpath("m.parquet"), &e));
	T_EQ_INT(aq_pq_reader_expect(&r, &s2, &e), AQ_EFORMAT);
	T_EQ_INT(aq_pq_reader_expect(&r, &s3, &e), AQ_EFORMAT);
	T_CHECK(strstr(e.msg, "aquacast.other") != NULL);
	T_EQ_INT(aq_pq_reader_expect(&r, &s4, &e), AQ_EUNSUPPORTED); /* file newer than the code */
	T_EQ_INT(aq_pq_reader_read(&r, 5, 0, NULL, &e), AQ_EINVAL);
	aq_pq_reader_release(&r);
	free_data(&d);
}

static void test_writer_rejects(void)
{
	static const struct aq_pq_column bad1[] = { { "d", AQ_PQ_INT64, AQ_PQ_DATE } };
	static const struct aq_pq_schema s1 = { "x", 1, 1, bad1 };
	static const struct aq_pq_schema s0 = { "x", 1, 0, NULL };
	struct aq_pq_writer w;
	struct aq_err e = { 0 };
	struct aq_pq_write_opts o = { .codec = (enum aq_pq_codec)1 };

	T_EQ_INT(aq_pq_writer_open(&w, tpath("bad.parquet"), &s1, NULL, &e), AQ_EINVAL);
	T_EQ_INT(aq_pq_writer_open(&w, tpath("bad.parquet"), &s0, NULL, &e), AQ_EINVAL);
	T_EQ_INT(aq_pq_writer_open(&w, tpath("bad.parquet"), &mschema, &o, &e), AQ_EINVAL);
	T_CHECK(access(tpath("bad.parquet"), F_OK) != 0);
	T_EQ_INT(aq_pq_writer_open(&w, "/nonexistent-dir/x.parquet", &mschema, NULL, &e), AQ_EIO);
	/* abort leaves no file */
	T_OK(aq_pq_writer_open(&w, tpath("ab.parquet"), &mschema, NULL, &e));
	aq_pq_writer_abort(&w);
	T_CHECK(access(tpath("ab.parquet"), F_OK) != 0);
}

static int read_all(const char *path, struct aq_err *e)
{
	struct aq_pq_reader r;
	int rc;

	if ((rc = aq_pq_reader_open(&r, path, e)))
		return rc;
	rc = aq_pq_reader_verify(&r, e);
	aq_pq_reader_release(&r);
	return rc;
}

static int load(const char *path, uint8_t **buf, size_t *len)
{
	struct aq_err e;

	return aq_fs_read_all(path, (char **)buf, len, &e);
}

static int store(const char *path, const uint8_t *buf, size_t len)
{
	FILE *f;

	unlink(path); /* a fresh file: ext4 flushes a file truncated and rewritten in place on close */
	f = fopen(path, "wb");
	if (!f)
		return -1;
	fwrite(buf, 1, len, f);
	return fclose(f);
}

/* Truncate and flip bytes everywhere: always an error, never a crash or a silent success. */
static void test_corrupt_fuzz(void)
{
	struct data d;
	struct aq_err e = { 0 };
	struct aq_pq_write_opts o[2] = { { .codec = AQ_PQ_ZSTD, .page_rows = 50 },
					 { .codec = AQ_PQ_UNCOMPRESSED, .zstd_level = AQ_PQ_LEVEL_NONE, .page_rows = 50 } };
	uint8_t *buf, *mut;
	size_t len;
	char *fz = tpath("fuzz.parquet");

	make_data(&d, 300);
	for (int k = 0; k < 2; k++) {
		int silent = 0;

		T_OK(write_file(tpath("orig.parquet"), &d, &o[k], 120, &e));
		T_OK(load(tpath("orig.parquet"), &buf, &len));
		mut = malloc(len);
		/* truncations */
		for (size_t cut = 0; cut < len; cut += (cut < 64 || len - cut < 600) ? 1 : 7) {
			store(fz, buf, cut);
			e.code = 0;
			if (read_all(fz, &e) == 0)
				silent++;
			else if (!strstr(e.msg, "fuzz.parquet"))
				T_FAIL("error without the file name: %s", e.msg);
		}
		T_EQ_INT(silent, 0);
		/* single-byte flips: the file must fail (CRC, footer checks) or read back exactly */
		for (size_t pos = 0; pos < len; pos += (pos < 64 || len - pos < 1200) ? 1 : 5) {
			int rc;

			memcpy(mut, buf, len);
			mut[pos] ^= (uint8_t)(1u << (pos % 8));
			store(fz, mut, len);
			rc = check_file(fz, &d, &e);
			if (rc == 99)
				silent++; /* read successfully but wrong values */
		}
		/* flips inside page payloads are caught by the CRC; flips in footer statistics by verify */
		T_EQ_INT(silent, 0);
		/* random multi-byte garbage */
		for (int it = 0; it < 200; it++) {
			memcpy(mut, buf, len);
			for (int j = 0; j < 4; j++)
				mut[(size_t)rand() % len] = (uint8_t)rand();
			store(fz, mut, len);
			check_file(fz, &d, &e);
		}
		free(mut);
		free(buf);
	}
	free_data(&d);
}

static void test_foreign_and_crc(void)
{
	struct aq_err e = { 0 };
	struct data d;
	uint8_t *buf;
	size_t len;

	T_OK(store(tpath("text.parquet"), (const uint8_t *)"hello world, not parquet at all", 31));
	T_EQ_INT(read_all(tpath("text.parquet"), &e), AQ_EFORMAT);
	T_CHECK(strstr(e.msg, "text.parquet") && strstr(e.msg, "magic"));
	T_OK(store(tpath("tiny.parquet"), (const uint8_t *)"PAR1", 4));
	T_EQ_INT(read_all(tpath("tiny.parquet"), &e), AQ_EFORMAT);
	T_EQ_INT(read_all(tpath("missing.parquet"), &e), AQ_ENOTFOUND);
	T_EQ_INT(read_all(tmpdir, &e), AQ_EINVAL);
	/* a payload byte flipped: CRC mismatch named */
	make_data(&d, 1000);
	T_OK(write_file(tpath("crc.parquet"), &d, NULL, 1000, &e));
	T_OK(load(tpath("crc.parquet"), &buf, &len));
	buf[60] ^= 0x10;
	T_OK(store(tpath("crc.parquet"), buf, len));
	T_CHECK(read_all(tpath("crc.parquet"), &e) != 0);
	T_CHECK(strstr(e.msg, "crc.parquet") != NULL);
	free(buf);
	free_data(&d);
}

/* A hand-made footer: one INT64 column, given row counts, unknown fields sprinkled in. */
static size_t craft(uint8_t *out, int64_t rg_rows, int64_t num_rows, int rep, int extra)
{
	struct aq_tw t;
	size_t n;

	aq_tw_init(&t);
	aq_tw_struct_begin(&t);
	aq_tw_field_i32(&t, 1, 2);
	aq_tw_field(&t, AQ_TC_LIST, 2);
	aq_tw_list(&t, AQ_TC_STRUCT, 2);
	aq_tw_struct_begin(&t);
	aq_tw_field_string(&t, 4, "schema");
	aq_tw_field_i32(&t, 5, 1);
	aq_tw_struct_end(&t);
	aq_tw_struct_begin(&t);
	aq_tw_field_i32(&t, 1, 2);
	aq_tw_field_i32(&t, 3, rep);
	aq_tw_field_string(&t, 4, "v");
	if (extra)
		aq_tw_field_string(&t, 99, "unknown string field");
	aq_tw_struct_end(&t);
	aq_tw_field_i64(&t, 3, num_rows);
	aq_tw_field(&t, AQ_TC_LIST, 4);
	aq_tw_list(&t, AQ_TC_STRUCT, 1);
	aq_tw_struct_begin(&t);
	aq_tw_field(&t, AQ_TC_LIST, 1);
	aq_tw_list(&t, AQ_TC_STRUCT, 1);
	aq_tw_struct_begin(&t);
	aq_tw_field_i64(&t, 2, 4);
	aq_tw_field(&t, AQ_TC_STRUCT, 3);
	aq_tw_struct_begin(&t);
	aq_tw_field_i32(&t, 1, 2);
	aq_tw_field(&t, AQ_TC_LIST, 2);
	aq_tw_list(&t, AQ_TC_I32, 1);
	aq_tw_i32(&t, 0);
	aq_tw_field_i32(&t, 4, 0);
	aq_tw_field_i64(&t, 5, rg_rows);
	aq_tw_field_i64(&t, 6, 0);
	aq_tw_field_i64(&t, 7, 0);
	aq_tw_field_i64(&t, 9, 4);
	if (extra) {
		aq_tw_field(&t, AQ_TC_MAP, 20);
		aq_tw_varint(&t, 0);
	}
	aq_tw_struct_end(&t);
	aq_tw_struct_end(&t);
	aq_tw_field_i64(&t, 2, 0);
	aq_tw_field_i64(&t, 3, rg_rows);
	aq_tw_struct_end(&t);
	aq_tw_struct_end(&t);
	memcpy(out, "PAR1", 4);
	memcpy(out + 4, t.buf, t.len);
	n = 4 + t.len;
	out[n++] = (uint8_t)t.len;
	out[n++] = (uint8_t)(t.len >> 8);
	out[n++] = 0;
	out[n++] = 0;
	memcpy(out + n, "PAR1", 4);
	n += 4;
	aq_tw_release(&t);
	return n;
}

static void test_crafted_footers(void)
{
	uint8_t buf[1024];
	struct aq_err e = { 0 };
	struct aq_pq_reader r;
	size_t n;

	/* zero rows, unknown fields: fine */
	n = craft(buf, 0, 0, 0, 1);
	T_OK(store(tpath("c0.parquet"), buf, n));
	T_OK(aq_pq_reader_open(&r, tpath("c0.parquet"), &e));
	T_EQ_INT(r.nrows, 0);
	T_OK(aq_pq_reader_verify(&r, &e));
	aq_pq_reader_release(&r);
	/* absurd row counts: refused before anyone sizes a buffer by them */
	n = craft(buf, (int64_t)1 << 50, (int64_t)1 << 50, 0, 0);
	T_OK(store(tpath("c1.parquet"), buf, n));
	T_EQ_INT(aq_pq_reader_open(&r, tpath("c1.parquet"), &e), AQ_EFORMAT);
	/* a row group claiming rows its (empty) chunk does not hold */
	n = craft(buf, 1000, 1000, 0, 0);
	T_OK(store(tpath("c2.parquet"), buf, n));
	T_OK(aq_pq_reader_open(&r, tpath("c2.parquet"), &e));
	{
		int64_t *big = malloc(1000 * sizeof(*big));

		T_EQ_INT(aq_pq_reader_read(&r, 0, 0, big, &e), AQ_EFORMAT);
		free(big);
	}
	aq_pq_reader_release(&r);
	/* num_rows disagreeing with the row groups */
	n = craft(buf, 5, 6, 0, 0);
	T_OK(store(tpath("c3.parquet"), buf, n));
	T_EQ_INT(aq_pq_reader_open(&r, tpath("c3.parquet"), &e), AQ_EFORMAT);
	/* OPTIONAL column: refused with the reason */
	n = craft(buf, 0, 0, 1, 0);
	T_OK(store(tpath("c4.parquet"), buf, n));
	T_EQ_INT(aq_pq_reader_open(&r, tpath("c4.parquet"), &e), AQ_EUNSUPPORTED);
	T_CHECK(strstr(e.msg, "OPTIONAL") && strstr(e.msg, "c4.parquet"));
}

int main(void)
{
	const char *base = getenv("AQ_TEST_TMP");

	srand(1234);
	snprintf(tmpdir, sizeof(tmpdir), "%s/test_parquet.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	T_RUN(test_roundtrip);
	T_RUN(test_empty_and_edge);
	T_RUN(test_stats);
	T_RUN(test_schema_mismatch);
	T_RUN(test_writer_rejects);
	T_RUN(test_foreign_and_crc);
	T_RUN(test_crafted_footers);
	T_RUN(test_corrupt_fuzz);
	t_remove_if_passed(tmpdir);
	T_DONE();
}
