/* test_shard.c — the readings data plane: hash, layout, sort/dedup, writer with spills, latest-wins merge, compaction. */
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "merge.h"
#include "readings_writer.h"
#include "test.h"

static char tmpdir[512];

static char *tpath(const char *name)
{
	static char buf[8][1024];
	static int i;

	i = (i + 1) % 8;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", tmpdir, name);
	return buf[i];
}

static int key_lt_t(int64_t a1, int32_t d1, int64_t a2, int32_t d2)
{
	return a1 < a2 || (a1 == a2 && d1 < d2);
}

static uint64_t rng = 0x12345678;
static uint64_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void test_part_of(void)
{
	int cnt[16] = { 0 };

	/* fixed values: the hash must never change (stable across machines and versions) */
	T_EQ_INT(aq_part_of(0, 64), 0);
	T_EQ_INT(aq_part_of(3216049, 1), 0);
	for (int64_t a = 3000000; a < 3027000; a++)
		cnt[aq_part_of(a, 16)]++;
	for (int i = 0; i < 16; i++)
		T_CHECK(cnt[i] > 1500 && cnt[i] < 1900);
	for (int64_t a = -5; a < 5; a++)
		T_CHECK(aq_part_of(a, 7) >= 0 && aq_part_of(a, 7) < 7);
	T_CHECK(aq_part_of(INT64_MIN, 4096) >= 0);
}

static void test_part_of_golden(void)
{
	/* splitmix64 finaliser of 1: 0x5692161d100b05e5 → mod 1000 */
	uint64_t z = 1;

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	z ^= z >> 31;
	T_EQ_INT(aq_part_of(1, 1000), (long long)(z % 1000));
	T_EQ_INT(aq_part_of(3216049, 64), aq_part_of(3216049, 64));
}

static void test_sort_dedup(void)
{
	struct aq_readings r;
	struct aq_err e = { 0 };
	size_t n = 100000;

	aq_readings_init(&r);
	for (size_t i = 0; i < n; i++)
		T_OK(aq_readings_push(&r, (int32_t)(19000 + rnd() % 50), (int64_t)(3000000 + rnd() % 300), (double)i, &e));
	aq_readings_sort(&r);
	for (size_t i = 1; i < r.n; i++) {
		int ok = r.account[i - 1] < r.account[i] ||
			 (r.account[i - 1] == r.account[i] && r.date[i - 1] < r.date[i]) ||
			 (r.account[i - 1] == r.account[i] && r.date[i - 1] == r.date[i] && r.value[i - 1] < r.value[i]);
		if (!ok) {
			T_FAIL("not stably sorted at %zu", i);
			break;
		}
	}
	aq_readings_dedup_last(&r);
	T_CHECK(r.n <= 300 * 50);
	for (size_t i = 1; i < r.n; i++)
		if (!(r.account[i - 1] < r.account[i] || (r.account[i - 1] == r.account[i] && r.date[i - 1] < r.date[i]))) {
			T_FAIL("duplicate left at %zu", i);
			break;
		}
	aq_readings_release(&r);
}

static void test_sort_wide_keys(void)
{
	struct aq_readings r;
	struct aq_err e = { 0 };
	int64_t accs[] = { INT64_MAX, INT64_MIN, 0, -1, 1, INT64_MAX - 1, INT64_MIN + 1 };

	aq_readings_init(&r);
	for (int rep = 0; rep < 3; rep++)
		for (int i = 0; i < 7; i++)
			T_OK(aq_readings_push(&r, rep % 2 ? INT32_MIN + rep : INT32_MAX - rep, accs[i], rep, &e));
	aq_readings_sort(&r);
	for (size_t i = 1; i < r.n; i++)
		T_CHECK(r.account[i - 1] < r.account[i] ||
			(r.account[i - 1] == r.account[i] && r.date[i - 1] <= r.date[i]));
	T_EQ_INT(r.account[0], INT64_MIN);
	T_EQ_INT(r.account[r.n - 1], INT64_MAX);
	T_EQ_INT(aq_readings_dedup_last(&r), 21);
	aq_readings_release(&r);
}

static void test_dataset_create_open(void)
{
	struct aq_dataset ds, ds2;
	struct aq_err e = { 0 };
	char *p;

	T_OK(aq_dataset_create(&ds, tpath("ds1"), "readings", 8, &e));
	T_EQ_INT(ds.parts, 8);
	T_OK(aq_dataset_open(&ds2, tpath("ds1"), &e));
	T_EQ_INT(ds2.parts, 8);
	T_CHECK(!strcmp(ds2.kind, "readings"));
	aq_dataset_release(&ds2);
	T_OK(aq_dataset_create(&ds2, tpath("ds1"), "readings", 8, &e)); /* same: opens */
	aq_dataset_release(&ds2);
	T_EQ_INT(aq_dataset_create(&ds2, tpath("ds1"), "readings", 16, &e), AQ_ESTATE);
	T_CHECK(strstr(e.msg, "8 parts") != NULL);
	T_EQ_INT(aq_dataset_open(&ds2, tpath("nope"), &e), AQ_ENOTFOUND);
	T_EQ_INT(aq_dataset_create(&ds2, tpath("x"), "bad/kind", 8, &e), AQ_EINVAL);
	T_EQ_INT(aq_dataset_create(&ds2, tpath("x"), "readings", 0, &e), AQ_EINVAL);
	T_EQ_INT(aq_dataset_create(&ds2, tpath("x"), "readings", AQ_DATASET_MAX_PARTS + 1, &e), AQ_EINVAL);
	p = aq_dataset_batch_path(&ds, 3, 42, "extract");
	T_CHECK(strstr(p, "/readings/part=003/00000000000000000042-extract.parquet") != NULL);
	free(p);
	p = aq_dataset_part_dir(&ds, 7);
	T_CHECK(strstr(p, "readings/part=007") != NULL);
	free(p);
	aq_dataset_release(&ds);
}

static void test_dataset_bad_json(void)
{
	struct aq_dataset ds;
	struct aq_err e = { 0 };
	const char *bad[] = {
		"not json", "{\"format\":\"other\",\"version\":1,\"kind\":\"readings\",\"parts\":4}",
		"{\"format\":\"aquacast.dataset\",\"version\":2,\"kind\":\"readings\",\"parts\":4}",
		"{\"format\":\"aquacast.dataset\",\"version\":1,\"kind\":\"../x\",\"parts\":4}",
		"{\"format\":\"aquacast.dataset\",\"version\":1,\"kind\":\"readings\",\"parts\":0}",
		"{\"format\":\"aquacast.dataset\",\"version\":1,\"kind\":\"readings\"}", "",
	};

	T_OK(aq_fs_mkdir_p(tpath("badjson"), &e));
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		T_OK(aq_fs_write_atomic(tpath("badjson/_dataset.json"), bad[i], strlen(bad[i]), &e));
		e.code = 0;
		if (aq_dataset_open(&ds, tpath("badjson"), &e) == 0) {
			T_FAIL("accepted %s", bad[i]);
			aq_dataset_release(&ds);
		}
		T_CHECK(e.code != 0 && strstr(e.msg, "badjson") != NULL);
	}
}

static void fill(struct aq_readings_writer *w, int naccounts, int ndays, int32_t d0, int64_t a0, double add,
		 int date_major)
{
	struct aq_err e = { 0 };

	if (date_major) {
		for (int d = 0; d < ndays; d++)
			for (int a = 0; a < naccounts; a++)
				T_OK(aq_readings_writer_add(w, d0 + d, a0 + a, a * 1000.0 + d + add, &e));
	} else {
		for (int a = 0; a < naccounts; a++)
			for (int d = 0; d < ndays; d++)
				T_OK(aq_readings_writer_add(w, d0 + d, a0 + a, a * 1000.0 + d + add, &e));
	}
}

/* Sorted strictly by (account, date), every account in its own part. */
static void check_part(const struct aq_dataset *ds, int part, const struct aq_readings *r)
{
	for (size_t i = 0; i < r->n; i++) {
		int64_t a = r->account[i];
		int32_t d = r->date[i];

		if (i && !(r->account[i - 1] < a || (r->account[i - 1] == a && r->date[i - 1] < d))) {
			T_FAIL("part %d not sorted at %zu", part, i);
			return;
		}
		if (aq_part_of(a, ds->parts) != part) {
			T_FAIL("account %lld in wrong part %d", (long long)a, part);
			return;
		}
	}
}

static void test_writer_roundtrip(void)
{
	struct aq_dataset ds;
	struct aq_readings_writer w;
	struct aq_readings r;
	struct aq_err e = { 0 };
	const int NA = 500, ND = 60;
	size_t total = 0;

	T_OK(aq_dataset_create(&ds, tpath("ds2"), "readings", 7, &e));
	T_OK(aq_readings_writer_open(&w, &ds, 100, "first", NULL, &e));
	fill(&w, NA, ND, 19000, 3000000, 0.5, 1);
	T_OK(aq_readings_writer_close(&w, &e));
	aq_readings_init(&r);
	for (int p = 0; p < ds.parts; p++) {
		T_OK(aq_dataset_read_part(&ds, p, &r, &e));
		check_part(&ds, p, &r);
		for (size_t i = 0; i < r.n; i++)
			if (r.value[i] != (r.account[i] - 3000000) * 1000.0 + (r.date[i] - 19000) + 0.5) {
				T_FAIL("value mismatch part %d row %zu", p, i);
				break;
			}
		total += r.n;
	}
	T_EQ_INT(total, NA * ND);
	T_OK(aq_dataset_read_all(&ds, &r, &e));
	T_EQ_INT(r.n, NA * ND);
	aq_readings_release(&r);
	aq_dataset_release(&ds);
}

/* A second batch overlapping the first: the later batch wins; compaction keeps the merged view. */
static void test_latest_wins_and_compact(void)
{
	struct aq_dataset ds;
	struct aq_readings_writer w;
	struct aq_readings r, r2;
	struct aq_err e = { 0 };
	char **paths;
	int n;
	const int NA = 300;

	T_OK(aq_dataset_create(&ds, tpath("ds3"), "readings", 4, &e));
	T_OK(aq_readings_writer_open(&w, &ds, aq_dataset_next_key(&ds), "a", NULL, &e));
	fill(&w, NA, 30, 19000, 1000, 0.0, 0); /* days 0..29 */
	T_OK(aq_readings_writer_close(&w, &e));
	T_OK(aq_readings_writer_open(&w, &ds, aq_dataset_next_key(&ds), "b", NULL, &e));
	fill(&w, NA, 30, 19020, 1000, 0.25, 0); /* days 20..49: 20..29 overlap, new values +0.25 */
	T_OK(aq_readings_writer_close(&w, &e));
	aq_readings_init(&r);
	aq_readings_init(&r2);
	for (int p = 0; p < ds.parts; p++) {
		T_OK(aq_dataset_list_part(&ds, p, &paths, &n, &e));
		T_EQ_INT(n, 2);
		aq_paths_free(paths, n);
		T_OK(aq_dataset_read_part(&ds, p, &r, &e));
		for (size_t i = 0; i < r.n; i++) {
			int d = r.date[i] - 19000, a = (int)(r.account[i] - 1000);
			double want = d >= 20 ? a * 1000.0 + (d - 20) + 0.25 : a * 1000.0 + d;

			if (r.value[i] != want) {
				T_FAIL("part %d row %zu: %g want %g", p, i, r.value[i], want);
				break;
			}
			if (i && !(r.account[i - 1] < r.account[i] ||
				   (r.account[i - 1] == r.account[i] && r.date[i - 1] < r.date[i]))) {
				T_FAIL("part %d not strictly sorted at %zu", p, i);
				break;
			}
		}
		T_OK(aq_dataset_compact_part(&ds, p, &e));
		T_OK(aq_dataset_list_part(&ds, p, &paths, &n, &e));
		T_EQ_INT(n, 1);
		if (n == 1)
			T_CHECK(strstr(paths[0], "-compact.parquet") != NULL);
		aq_paths_free(paths, n);
		T_OK(aq_dataset_read_part(&ds, p, &r2, &e));
		T_EQ_INT(r2.n, r.n);
		if (r2.n == r.n)
			T_CHECK(!memcmp(r2.value, r.value, r.n * 8) && !memcmp(r2.account, r.account, r.n * 8) &&
				!memcmp(r2.date, r.date, r.n * 4));
		T_OK(aq_dataset_compact_part(&ds, p, &e)); /* idempotent */
	}
	aq_readings_release(&r);
	aq_readings_release(&r2);
	aq_dataset_release(&ds);
}

/* A tiny buffer budget forces several files per part, same content; with and without worker threads. */
static void spills(int threads)
{
	struct aq_dataset ds;
	struct aq_readings_writer w;
	struct aq_readings_writer_opts o = { .pq = { .codec = AQ_PQ_ZSTD, .zstd_level = 1, .page_rows = 1000 },
					     .max_buffer_bytes = 200000, .row_group_rows = 3000, .threads = threads };
	struct aq_readings r;
	struct aq_err e = { 0 };
	char **paths, name[64];
	int n, multi = 0;
	size_t total = 0;

	snprintf(name, sizeof(name), "ds4.%d", threads);
	T_OK(aq_dataset_create(&ds, tpath(name), "readings", 3, &e));
	T_OK(aq_readings_writer_open(&w, &ds, 7, "spill", &o, &e));
	fill(&w, 400, 100, 19000, 500, 0.0, 1);
	/* re-add some rows later in the same batch: the later add wins */
	for (int a = 0; a < 400; a += 10)
		T_OK(aq_readings_writer_add(&w, 19005, 500 + a, -1.0, &e));
	T_OK(aq_readings_writer_close(&w, &e));
	T_CHECK(w.stats.files > 3);
	T_EQ_INT(w.stats.rows, 40000 + 40);
	aq_readings_init(&r);
	for (int p = 0; p < 3; p++) {
		T_OK(aq_dataset_list_part(&ds, p, &paths, &n, &e));
		multi += n > 1;
		/* names: <key>-spill.000001.parquet, ..., and the last <key>-spill.parquet */
		if (n > 1) {
			T_CHECK(strstr(paths[0], "00000000000000000007-spill.000001.parquet") != NULL);
			T_CHECK(strstr(paths[n - 1], "00000000000000000007-spill.parquet") != NULL);
		}
		aq_paths_free(paths, n);
		T_OK(aq_dataset_read_part(&ds, p, &r, &e));
		total += r.n;
		for (size_t i = 0; i < r.n; i++) {
			int a = (int)(r.account[i] - 500), d = r.date[i] - 19000;
			double want = (d == 5 && a % 10 == 0) ? -1.0 : a * 1000.0 + d;

			if (r.value[i] != want) {
				T_FAIL("threads %d part %d row %zu: %g want %g", threads, p, i, r.value[i], want);
				break;
			}
		}
	}
	T_EQ_INT(total, 40000);
	T_CHECK(multi == 3);
	aq_readings_release(&r);
	aq_dataset_release(&ds);
}

static void test_writer_spills(void)
{
	spills(-1);
	spills(0);
	spills(3);
}

/* Sorted input with workers: one file per part, row groups appended in order; abort midway leaves nothing. */
static void test_writer_threads(void)
{
	struct aq_dataset ds;
	struct aq_readings_writer w;
	struct aq_readings_writer_opts o = { .max_buffer_bytes = 300000, .threads = 2 };
	struct aq_readings r;
	struct aq_err e = { 0 };
	char **paths;
	int n;
	size_t total = 0;

	T_OK(aq_dataset_create(&ds, tpath("ds8"), "readings", 5, &e));
	T_OK(aq_readings_writer_open(&w, &ds, 11, "sorted", &o, &e));
	fill(&w, 700, 90, 19000, 1000, 0.125, 0);
	T_OK(aq_readings_writer_close(&w, &e));
	T_EQ_INT(w.stats.files, 5);
	aq_readings_init(&r);
	for (int p = 0; p < 5; p++) {
		T_OK(aq_dataset_list_part(&ds, p, &paths, &n, &e));
		T_EQ_INT(n, 1);
		aq_paths_free(paths, n);
		T_OK(aq_dataset_read_part(&ds, p, &r, &e));
		check_part(&ds, p, &r);
		total += r.n;
	}
	T_EQ_INT(total, 700 * 90);
	/* abort with work queued: no file appears */
	T_OK(aq_readings_writer_open(&w, &ds, 12, "aborted", &o, &e));
	fill(&w, 700, 90, 19000, 1000, 0.5, 1);
	aq_readings_writer_abort(&w);
	for (int p = 0; p < 5; p++) {
		T_OK(aq_dataset_list_part(&ds, p, &paths, &n, &e));
		T_EQ_INT(n, 1);
		aq_paths_free(paths, n);
	}
	aq_readings_release(&r);
	aq_dataset_release(&ds);
}

/* k batches rewriting the same keys: the last batch wins, through the k-way merge (k <= 16) and the sort (k > 16). */
static void many_batches(int k)
{
	struct aq_dataset ds;
	struct aq_readings_writer w;
	struct aq_readings r;
	struct aq_err e = { 0 };
	char name[32];

	snprintf(name, sizeof(name), "dsk%d", k);
	T_OK(aq_dataset_create(&ds, tpath(name), "readings", 1, &e));
	for (int b = 0; b < k; b++) {
		T_OK(aq_readings_writer_open(&w, &ds, (uint64_t)b + 1, "b", NULL, &e));
		for (int a = 0; a < 50; a++)
			for (int d = 0; d < 10; d++)
				if ((a + d + b) % 3 == 0 || b == k - 1 || d == 0)
					T_OK(aq_readings_writer_add(&w, 19000 + d + (a % 2 ? b : 0), a, b * 100.0 + d, &e));
		T_OK(aq_readings_writer_close(&w, &e));
	}
	aq_readings_init(&r);
	T_OK(aq_dataset_read_part(&ds, 0, &r, &e));
	for (size_t i = 0; i < r.n; i++) {
		int last = -1;

		if (i && !key_lt_t(r.account[i - 1], r.date[i - 1], r.account[i], r.date[i])) {
			T_FAIL("k=%d: not strictly sorted at %zu", k, i);
			break;
		}
		/* the last batch b that wrote (account, date) */
		for (int b = 0; b < k; b++)
			for (int d = 0; d < 10; d++)
				if (((r.account[i] + d + b) % 3 == 0 || b == k - 1 || d == 0) &&
				    19000 + d + (r.account[i] % 2 ? b : 0) == r.date[i] && r.value[i] >= 0)
					if (r.value[i] == b * 100.0 + d)
						last = b;
		if (last < 0) {
			T_FAIL("k=%d row %zu: value %g from no batch", k, i, r.value[i]);
			break;
		}
		for (int b = last + 1; b < k; b++)
			for (int d = 0; d < 10; d++)
				if (((r.account[i] + d + b) % 3 == 0 || b == k - 1 || d == 0) &&
				    19000 + d + (r.account[i] % 2 ? b : 0) == r.date[i]) {
					T_FAIL("k=%d row %zu: batch %d wrote it after batch %d", k, i, b, last);
					i = r.n;
					b = k;
					break;
				}
	}
	aq_readings_release(&r);
	aq_dataset_release(&ds);
}

/* A foreign file out of order next to a batch: read by sorting (stable, later file wins). */
static void test_unsorted_foreign_file(void)
{
	struct aq_dataset ds;
	struct aq_readings_writer w;
	struct aq_pq_writer pw;
	struct aq_readings r;
	struct aq_err e = { 0 };
	int32_t d[4] = { 19002, 19000, 19001, 19000 };
	int64_t a[4] = { 5, 5, 5, 5 };
	double v[4] = { 2, 0, 1, 9 }; /* (5, 19000) twice in one file: the later row wins */
	const void *cols[3] = { d, a, v };
	char *path;

	T_OK(aq_dataset_create(&ds, tpath("dsf"), "readings", 1, &e));
	T_OK(aq_readings_writer_open(&w, &ds, 1, "first", NULL, &e));
	for (int i = 0; i < 5; i++)
		T_OK(aq_readings_writer_add(&w, 19000 + i, 5, -1, &e));
	T_OK(aq_readings_writer_close(&w, &e));
	path = aq_dataset_batch_path(&ds, 0, 2, "foreign");
	T_OK(aq_pq_writer_open(&pw, path, &aq_readings_schema, NULL, &e));
	T_OK(aq_pq_writer_write(&pw, 4, cols, &e));
	T_OK(aq_pq_writer_close(&pw, &e));
	free(path);
	aq_readings_init(&r);
	T_OK(aq_dataset_read_part(&ds, 0, &r, &e));
	T_EQ_INT(r.n, 5);
	if (r.n == 5) {
		T_CHECK(r.value[0] == 9 && r.value[1] == 1 && r.value[2] == 2 && r.value[3] == -1 && r.value[4] == -1);
		T_CHECK(r.date[0] == 19000 && r.date[4] == 19004);
	}
	aq_readings_release(&r);
	aq_dataset_release(&ds);
}

static void test_many_batches(void)
{
	many_batches(3);
	many_batches(16);
	many_batches(20);
}

/* add_many is add in a loop: identical datasets */
static void test_add_many(void)
{
	struct aq_dataset d1, d2;
	struct aq_readings_writer w;
	struct aq_readings r1, r2;
	struct aq_err e = { 0 };
	struct aq_readings_writer_opts o = { .max_buffer_bytes = 100000 };
	enum { N = 20000 };
	static int32_t dd[N];
	static int64_t aa[N];
	static double vv[N];

	for (int i = 0; i < N; i++) {
		dd[i] = 19000 + (int32_t)(rnd() % 40);
		aa[i] = 100 + (int64_t)(rnd() % 200);
		vv[i] = i;
	}
	T_OK(aq_dataset_create(&d1, tpath("dsm1"), "readings", 3, &e));
	T_OK(aq_dataset_create(&d2, tpath("dsm2"), "readings", 3, &e));
	T_OK(aq_readings_writer_open(&w, &d1, 5, "one", &o, &e));
	for (int i = 0; i < N; i++)
		T_OK(aq_readings_writer_add(&w, dd[i], aa[i], vv[i], &e));
	T_OK(aq_readings_writer_close(&w, &e));
	T_OK(aq_readings_writer_open(&w, &d2, 5, "many", &o, &e));
	T_OK(aq_readings_writer_add_many(&w, N / 2, dd, aa, vv, &e));
	T_OK(aq_readings_writer_add_many(&w, N - N / 2, dd + N / 2, aa + N / 2, vv + N / 2, &e));
	T_OK(aq_readings_writer_close(&w, &e));
	aq_readings_init(&r1);
	aq_readings_init(&r2);
	T_OK(aq_dataset_read_all(&d1, &r1, &e));
	T_OK(aq_dataset_read_all(&d2, &r2, &e));
	T_EQ_INT(r1.n, r2.n);
	T_CHECK(r1.n > 0 && r1.n == r2.n && !memcmp(r1.value, r2.value, r1.n * 8) &&
		!memcmp(r1.account, r2.account, r1.n * 8) && !memcmp(r1.date, r2.date, r1.n * 4));
	/* the later add of a duplicate key won */
	for (size_t i = 0; i < r1.n; i++) {
		double last = -1;

		for (int k = 0; k < N; k++)
			if (aa[k] == r1.account[i] && dd[k] == r1.date[i])
				last = vv[k];
		if (r1.value[i] != last) {
			T_FAIL("row %zu: %g, want the last added %g", i, r1.value[i], last);
			break;
		}
		if (i > 300)
			break;
	}
	aq_readings_release(&r1);
	aq_readings_release(&r2);
	aq_dataset_release(&d1);
	aq_dataset_release(&d2);
}

static void test_empty(void)
{
	struct aq_dataset ds;
	struct aq_readings_writer w;
	struct aq_readings r;
	struct aq_err e = { 0 };
	char **paths;
	int n;

	T_OK(aq_dataset_create(&ds, tpath("ds5"), "readings", 5, &e));
	aq_readings_init(&r);
	T_OK(aq_dataset_read_part(&ds, 2, &r, &e));
	T_EQ_INT(r.n, 0);
	T_OK(aq_dataset_read_all(&ds, &r, &e));
	T_EQ_INT(r.n, 0);
	T_EQ_INT(aq_dataset_read_part(&ds, 5, &r, &e), AQ_EINVAL);
	T_EQ_INT(aq_dataset_read_part(&ds, -1, &r, &e), AQ_EINVAL);
	T_OK(aq_dataset_compact_part(&ds, 0, &e));
	/* an empty batch writes nothing */
	T_OK(aq_readings_writer_open(&w, &ds, 1, "empty", NULL, &e));
	T_OK(aq_readings_writer_close(&w, &e));
	T_OK(aq_dataset_list_part(&ds, 0, &paths, &n, &e));
	T_EQ_INT(n, 0);
	aq_paths_free(paths, n);
	/* abort leaves nothing */
	T_OK(aq_readings_writer_open(&w, &ds, 2, "aborted", NULL, &e));
	fill(&w, 10, 10, 19000, 1, 0, 0);
	aq_readings_writer_abort(&w);
	for (int p = 0; p < 5; p++) {
		T_OK(aq_dataset_list_part(&ds, p, &paths, &n, &e));
		T_EQ_INT(n, 0);
		aq_paths_free(paths, n);
	}
	T_EQ_INT(aq_readings_writer_open(&w, &ds, 3, "bad/label", NULL, &e), AQ_EINVAL);
	T_EQ_INT(aq_readings_writer_open(&w, &ds, 3, ".hidden", NULL, &e), AQ_EINVAL);
	aq_readings_release(&r);
	aq_dataset_release(&ds);
}

static void test_ignores_tmp_and_foreign(void)
{
	struct aq_dataset ds;
	struct aq_readings r;
	struct aq_err e = { 0 };
	char **paths, *dir, *f;
	int n;

	T_OK(aq_dataset_create(&ds, tpath("ds6"), "readings", 2, &e));
	dir = aq_dataset_part_dir(&ds, 0);
	T_OK(aq_fs_mkdir_p(dir, &e));
	f = aq_path_join(dir, ".00000000000000000001-x.parquet.tmp.1.0");
	T_OK(aq_fs_write_atomic(f, "junk", 4, &e));
	free(f);
	f = aq_path_join(dir, "README.txt");
	T_OK(aq_fs_write_atomic(f, "junk", 4, &e));
	free(f);
	T_OK(aq_dataset_list_part(&ds, 0, &paths, &n, &e));
	T_EQ_INT(n, 0);
	aq_paths_free(paths, n);
	/* a corrupt batch file: a clear error naming it, never a crash */
	f = aq_path_join(dir, "00000000000000000005-bad.parquet");
	T_OK(aq_fs_write_atomic(f, "PAR1 this is not parquet PAR1", 29, &e));
	aq_readings_init(&r);
	T_EQ_INT(aq_dataset_read_part(&ds, 0, &r, &e), AQ_EFORMAT);
	T_CHECK(strstr(e.msg, "00000000000000000005-bad.parquet") != NULL);
	T_EQ_INT(aq_readings_read_file(f, &r, &e), AQ_EFORMAT);
	free(f);
	free(dir);
	aq_readings_release(&r);
	aq_dataset_release(&ds);
}

static void test_next_key(void)
{
	struct aq_dataset ds;
	struct aq_readings_writer w;
	struct aq_err e = { 0 };
	uint64_t k1, k2, far = 90000000000000000ULL;

	T_OK(aq_dataset_create(&ds, tpath("ds7"), "readings", 2, &e));
	k1 = aq_dataset_next_key(&ds);
	k2 = aq_dataset_next_key(&ds);
	T_CHECK(k2 > k1);
	T_OK(aq_readings_writer_open(&w, &ds, far, "future", NULL, &e));
	T_OK(aq_readings_writer_add(&w, 19000, 1, 1.0, &e));
	T_OK(aq_readings_writer_close(&w, &e));
	T_CHECK(aq_dataset_next_key(&ds) > far);
	aq_dataset_release(&ds);
}

int main(void)
{
	const char *base = getenv("AQ_TEST_TMP");

	snprintf(tmpdir, sizeof(tmpdir), "%s/test_shard.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	T_RUN(test_part_of);
	T_RUN(test_part_of_golden);
	T_RUN(test_sort_dedup);
	T_RUN(test_sort_wide_keys);
	T_RUN(test_dataset_create_open);
	T_RUN(test_dataset_bad_json);
	T_RUN(test_writer_roundtrip);
	T_RUN(test_latest_wins_and_compact);
	T_RUN(test_writer_spills);
	T_RUN(test_writer_threads);
	T_RUN(test_many_batches);
	T_RUN(test_unsorted_foreign_file);
	T_RUN(test_add_many);
	T_RUN(test_empty);
	T_RUN(test_ignores_tmp_and_foreign);
	T_RUN(test_next_key);
	t_remove_if_passed(tmpdir);
	T_DONE();
}
