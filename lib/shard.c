/* shard.c — partitioned Parquet datasets: layout, readings buffers and sort, batch writer, latest-wins merge, compaction. */
#include "shard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"

static const struct aq_pq_column readings_cols[] = {
	{ "ConsumptionDate", AQ_PQ_INT32, AQ_PQ_DATE },
	{ "AccountOID", AQ_PQ_INT64, AQ_PQ_NONE },
	{ "Consumption", AQ_PQ_DOUBLE, AQ_PQ_NONE },
};

const struct aq_pq_schema aq_readings_schema = {
	.name = "aquacast.readings",
	.version = 1,
	.ncols = 3,
	.cols = readings_cols,
};

#define DATASET_JSON "_dataset.json"
#define KEY_DIGITS 20

/* ======================================================================
 * Hash and layout
 * ==================================================================== */

/* splitmix64's finaliser (Steele, Lea, Flood 2014; constants of Stafford's Mix13). */
static uint64_t mix64(uint64_t z)
{
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

int aq_part_of(int64_t account, int parts)
{
	if (parts <= 1)
		return 0;
	return (int)(mix64((uint64_t)account) % (uint64_t)parts);
}

static int name_ok(const char *s, int allow_dot)
{
	if (!s || !*s || *s == '.' || strlen(s) > 100)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-' || (allow_dot && *s == '.')))
			return 0;
	return 1;
}

void aq_dataset_release(struct aq_dataset *ds)
{
	free(ds->root);
	free(ds->kind);
	memset(ds, 0, sizeof(*ds));
}

static int dataset_load(struct aq_dataset *ds, const char *root, struct aq_err *e)
{
	char *path = aq_path_join(root, DATASET_JSON), *buf = NULL;
	json_error_t je;
	json_t *j = NULL, *v;
	size_t len;
	int rc;

	memset(ds, 0, sizeof(*ds));
	if (!path)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		rc = aq_err_set(e, AQ_ENOTFOUND, "'%s' is not a dataset (no %s)", root, DATASET_JSON);
		goto out;
	}
	if ((rc = aq_fs_read_all(path, &buf, &len, e)))
		goto out;
	j = json_loadb(buf, len, 0, &je);
	if (!j || !json_is_object(j)) {
		rc = aq_err_set(e, AQ_EFORMAT, "'%s': not a JSON object: %s", path, j ? "" : je.text);
		goto out;
	}
	v = json_object_get(j, "format");
	if (!json_is_string(v) || strcmp(json_string_value(v), "aquacast.dataset")) {
		rc = aq_err_set(e, AQ_EFORMAT, "'%s': \"format\" is not \"aquacast.dataset\"", path);
		goto out;
	}
	v = json_object_get(j, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		rc = aq_err_set(e, AQ_EUNSUPPORTED, "'%s': dataset version %lld is not supported (1 only)", path,
				json_is_integer(v) ? (long long)json_integer_value(v) : -1LL);
		goto out;
	}
	v = json_object_get(j, "kind");
	if (!json_is_string(v) || !name_ok(json_string_value(v), 0)) {
		rc = aq_err_set(e, AQ_EFORMAT, "'%s': bad \"kind\"", path);
		goto out;
	}
	ds->kind = strdup(json_string_value(v));
	v = json_object_get(j, "parts");
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > AQ_DATASET_MAX_PARTS) {
		rc = aq_err_set(e, AQ_EFORMAT, "'%s': \"parts\" must be 1..%d", path, AQ_DATASET_MAX_PARTS);
		goto out;
	}
	ds->parts = (int)json_integer_value(v);
	ds->root = strdup(root);
	if (!ds->root || !ds->kind)
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
out:
	json_decref(j);
	free(buf);
	free(path);
	if (rc)
		aq_dataset_release(ds);
	return rc;
}

int aq_dataset_open(struct aq_dataset *ds, const char *root, struct aq_err *e)
{
	return dataset_load(ds, root, e);
}

int aq_dataset_create(struct aq_dataset *ds, const char *root, const char *kind, int parts, struct aq_err *e)
{
	struct aq_err e2;
	json_t *j;
	char *txt = NULL, *path = NULL, *kdir = NULL, when[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	memset(ds, 0, sizeof(*ds));
	if (!name_ok(kind, 0))
		return aq_err_set(e, AQ_EINVAL, "bad dataset kind '%s' (letters, digits, '_', '-')", kind ? kind : "");
	if (parts < 1 || parts > AQ_DATASET_MAX_PARTS)
		return aq_err_set(e, AQ_EINVAL, "dataset parts must be 1..%d, not %d", AQ_DATASET_MAX_PARTS, parts);
	rc = dataset_load(ds, root, &e2);
	if (rc == 0) {
		if (strcmp(ds->kind, kind) || ds->parts != parts) {
			rc = aq_err_set(e, AQ_ESTATE, "'%s' exists as a dataset of kind '%s' with %d parts, not '%s' with %d",
					root, ds->kind, ds->parts, kind, parts);
			aq_dataset_release(ds);
			return rc;
		}
		return 0;
	}
	if (rc != AQ_ENOTFOUND) {
		if (e)
			*e = e2;
		return rc;
	}
	if ((rc = aq_fs_mkdir_p(root, e)))
		return rc;
	kdir = aq_path_join(root, kind);
	path = aq_path_join(root, DATASET_JSON);
	if (!kdir || !path) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = aq_fs_mkdir_p(kdir, e)))
		goto out;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	j = json_pack("{s:s, s:i, s:s, s:i, s:s, s:s, s:s, s:s}", "format", "aquacast.dataset", "version", 1,
		      "kind", kind, "parts", parts, "partition_key", "AccountOID",
		      "hash", "splitmix64 finaliser of the 64-bit id, mod parts",
		      "layout", "<kind>/part=NNN/<20-digit key>-<label>[.<seq>].parquet", "created", when);
	txt = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!txt) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto out;
	}
	{
		size_t l = strlen(txt);
		char *t2 = realloc(txt, l + 2);

		if (!t2) {
			rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
			goto out;
		}
		txt = t2;
		txt[l] = '\n';
		txt[l + 1] = '\0';
	}
	if ((rc = aq_fs_write_atomic(path, txt, strlen(txt), e)))
		goto out;
	rc = dataset_load(ds, root, e);
out:
	free(txt);
	free(path);
	free(kdir);
	return rc;
}

char *aq_dataset_part_dir(const struct aq_dataset *ds, int part)
{
	size_t n = strlen(ds->root) + strlen(ds->kind) + 32;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s%s%s/part=%03d", ds->root,
			 ds->root[0] && ds->root[strlen(ds->root) - 1] == '/' ? "" : "/", ds->kind, part);
	return p;
}

char *aq_dataset_batch_path(const struct aq_dataset *ds, int part, uint64_t key, const char *label)
{
	char *dir = aq_dataset_part_dir(ds, part), *p;
	size_t n;

	if (!dir)
		return NULL;
	n = strlen(dir) + strlen(label) + 48;
	p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%020" PRIu64 "-%s.parquet", dir, key, label);
	free(dir);
	return p;
}

/* A batch file name: 20 digits, '-', a label, ".parquet"; never a dot-file. */
static int batch_name(const char *s, uint64_t *key)
{
	size_t l = strlen(s);
	uint64_t k = 0;

	if (l < KEY_DIGITS + 1 + 1 + 8 || s[KEY_DIGITS] != '-' || strcmp(s + l - 8, ".parquet"))
		return 0;
	for (int i = 0; i < KEY_DIGITS; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (k > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return 0;
		k = k * 10 + (uint64_t)(s[i] - '0');
	}
	if (key)
		*key = k;
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void aq_paths_free(char **paths, int n)
{
	if (!paths)
		return;
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

int aq_dataset_list_part(const struct aq_dataset *ds, int part, char ***paths, int *n, struct aq_err *e)
{
	char *dir, **v = NULL;
	int cnt = 0, cap = 0, rc = 0;
	DIR *d;
	struct dirent *de;

	*paths = NULL;
	*n = 0;
	if (part < 0 || part >= ds->parts)
		return aq_err_set(e, AQ_EINVAL, "'%s': no part %d (parts 0..%d)", ds->root, part, ds->parts - 1);
	if (!(dir = aq_dataset_part_dir(ds, part)))
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			rc = aq_err_sys(e, "cannot list '%s'", dir);
		free(dir);
		return rc;
	}
	while ((de = readdir(d))) {
		char *p;

		if (de->d_name[0] == '.' || !batch_name(de->d_name, NULL))
			continue;
		if (cnt == cap) {
			int nc = cap ? cap * 2 : 16;
			char **nv = realloc(v, (size_t)nc * sizeof(*nv));

			if (!nv) {
				rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
				break;
			}
			v = nv;
			cap = nc;
		}
		if (!(p = aq_path_join(dir, de->d_name))) {
			rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
			break;
		}
		v[cnt++] = p;
	}
	closedir(d);
	free(dir);
	if (rc) {
		aq_paths_free(v, cnt);
		return rc;
	}
	if (cnt)
		qsort(v, (size_t)cnt, sizeof(*v), cmp_str);
	*paths = v;
	*n = cnt;
	return 0;
}

uint64_t aq_dataset_next_key(const struct aq_dataset *ds)
{
	static _Atomic uint64_t last_issued;
	struct timespec ts;
	uint64_t key, maxk = 0, prev;

	clock_gettime(CLOCK_REALTIME, &ts);
	key = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	for (int p = 0; p < ds->parts; p++) {
		char *dir = aq_dataset_part_dir(ds, p);
		DIR *d = dir ? opendir(dir) : NULL;
		struct dirent *de;

		free(dir);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			uint64_t k;

			if (de->d_name[0] != '.' && batch_name(de->d_name, &k) && k > maxk)
				maxk = k;
		}
		closedir(d);
	}
	if (maxk >= key)
		key = maxk + 1;
	/* also strictly after any key this process handed out */
	prev = atomic_load(&last_issued);
	do {
		if (key <= prev)
			key = prev + 1;
	} while (!atomic_compare_exchange_weak(&last_issued, &prev, key));
	return key;
}

/* ======================================================================
 * Readings in memory, sort and dedup
 * ==================================================================== */

void aq_readings_init(struct aq_readings *r)
{
	memset(r, 0, sizeof(*r));
}

void aq_readings_release(struct aq_readings *r)
{
	free(r->date);
	free(r->account);
	free(r->value);
	memset(r, 0, sizeof(*r));
}

int aq_readings_reserve(struct aq_readings *r, size_t cap, struct aq_err *e)
{
	int32_t *d;
	int64_t *a;
	double *v;

	if (cap <= r->cap)
		return 0;
	if (cap > SIZE_MAX / sizeof(int64_t))
		return aq_err_set(e, AQ_ENOMEM, "out of memory (%zu readings)", cap);
	if (!(d = realloc(r->date, cap * sizeof(*d))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory (%zu readings)", cap);
	r->date = d;
	if (!(a = realloc(r->account, cap * sizeof(*a))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory (%zu readings)", cap);
	r->account = a;
	if (!(v = realloc(r->value, cap * sizeof(*v))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory (%zu readings)", cap);
	r->value = v;
	r->cap = cap;
	return 0;
}

int aq_readings_push(struct aq_readings *r, int32_t date, int64_t account, double value, struct aq_err *e)
{
	if (r->n == r->cap) {
		int rc = aq_readings_reserve(r, r->cap ? r->cap + r->cap / 2 : 1024, e);

		if (rc)
			return rc;
	}
	r->date[r->n] = date;
	r->account[r->n] = account;
	r->value[r->n] = value;
	r->n++;
	return 0;
}

static inline int key_lt(int64_t a1, int32_t d1, int64_t a2, int32_t d2)
{
	return a1 < a2 || (a1 == a2 && d1 < d2);
}

/* O(n): already ordered by (account, date), ties allowed? */
static int readings_sorted(const int32_t *d, const int64_t *a, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (key_lt(a[i], d[i], a[i - 1], d[i - 1]))
			return 0;
	return 1;
}

static int bits_for(uint64_t range)
{
	int b = 0;

	while (b < 64 && (range >> b))
		b++;
	return b;
}

/*
 * LSD radix sort (stable) of 16-byte records by a 64-bit key, 11-bit digits,
 * passes whose digit is constant over all records skipped. tmp: n records.
 */
struct rrec {
	uint64_t key, val;
};

static void radix_sort(struct rrec *a, struct rrec *tmp, size_t n, int bits)
{
	enum { D = 11, B = 1 << D };
	size_t cnt[B];
	struct rrec *src = a, *dst = tmp;

	for (int shift = 0; shift < bits; shift += D) {
		size_t sum = 0;
		uint64_t first;

		memset(cnt, 0, sizeof(size_t) * B);
		for (size_t i = 0; i < n; i++)
			cnt[(src[i].key >> shift) & (B - 1)]++;
		first = (src[0].key >> shift) & (B - 1);
		if (cnt[first] == n)
			continue;
		for (size_t b = 0; b < B; b++) {
			size_t c = cnt[b];

			cnt[b] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			dst[cnt[(src[i].key >> shift) & (B - 1)]++] = src[i];
		{
			struct rrec *t = src;

			src = dst;
			dst = t;
		}
	}
	if (src != a)
		memcpy(a, src, n * sizeof(*a));
}

/*
 * Stable sort of columns by (account, date). When (account - min, date - min)
 * fit in 64 bits together (always, for real ids and dates) one radix sort of
 * (key, value) records does it; otherwise two stable passes (date, then
 * account) sort a permutation. Returns 0 or -1 (out of memory).
 */
static int sort_cols(int32_t *d, int64_t *a, double *v, size_t n)
{
	int64_t amin, amax;
	int32_t dmin, dmax;
	int abits, dbits;
	struct rrec *rec, *tmp;

	if (n < 2 || readings_sorted(d, a, n))
		return 0;
	amin = amax = a[0];
	dmin = dmax = d[0];
	for (size_t i = 1; i < n; i++) {
		amin = a[i] < amin ? a[i] : amin;
		amax = a[i] > amax ? a[i] : amax;
		dmin = d[i] < dmin ? d[i] : dmin;
		dmax = d[i] > dmax ? d[i] : dmax;
	}
	abits = bits_for((uint64_t)amax - (uint64_t)amin);
	dbits = bits_for((uint64_t)((int64_t)dmax - dmin));
	rec = malloc(n * sizeof(*rec));
	tmp = malloc(n * sizeof(*tmp));
	if (!rec || !tmp) {
		free(rec);
		free(tmp);
		return -1;
	}
	if (abits + dbits <= 64) {
		for (size_t i = 0; i < n; i++) {
			rec[i].key = ((uint64_t)a[i] - (uint64_t)amin) << dbits | (uint64_t)((int64_t)d[i] - dmin);
			memcpy(&rec[i].val, &v[i], 8);
		}
		radix_sort(rec, tmp, n, abits + dbits);
		for (size_t i = 0; i < n; i++) {
			uint64_t k = rec[i].key;

			a[i] = (int64_t)((k >> dbits) + (uint64_t)amin);
			d[i] = (int32_t)((int64_t)(k & ((dbits ? (UINT64_C(1) << dbits) : 1) - 1)) + dmin);
			memcpy(&v[i], &rec[i].val, 8);
		}
	} else {
		int32_t *d2 = malloc(n * sizeof(*d2));
		int64_t *a2 = malloc(n * sizeof(*a2));
		double *v2 = malloc(n * sizeof(*v2));

		if (!d2 || !a2 || !v2) {
			free(d2);
			free(a2);
			free(v2);
			free(rec);
			free(tmp);
			return -1;
		}
		for (size_t i = 0; i < n; i++) {
			rec[i].key = (uint64_t)((int64_t)d[i] - dmin);
			rec[i].val = i;
		}
		radix_sort(rec, tmp, n, dbits);
		for (size_t i = 0; i < n; i++) {
			size_t j = rec[i].val;

			rec[i].key = (uint64_t)a[j] - (uint64_t)amin;
		}
		radix_sort(rec, tmp, n, abits);
		for (size_t i = 0; i < n; i++) {
			size_t j = rec[i].val;

			d2[i] = d[j];
			a2[i] = a[j];
			v2[i] = v[j];
		}
		memcpy(d, d2, n * sizeof(*d));
		memcpy(a, a2, n * sizeof(*a));
		memcpy(v, v2, n * sizeof(*v));
		free(d2);
		free(a2);
		free(v2);
	}
	free(rec);
	free(tmp);
	return 0;
}

void aq_readings_sort(struct aq_readings *r)
{
	if (sort_cols(r->date, r->account, r->value, r->n))
		aq_warn("out of memory sorting %zu readings; left unsorted", r->n);
}

static size_t dedup_cols(int32_t *d, int64_t *a, double *v, size_t n)
{
	size_t w = 0;

	for (size_t i = 0; i < n; i++) {
		if (w > 0 && a[w - 1] == a[i] && d[w - 1] == d[i]) {
			v[w - 1] = v[i]; /* the later row wins */
			continue;
		}
		d[w] = d[i];
		a[w] = a[i];
		v[w] = v[i];
		w++;
	}
	return w;
}

size_t aq_readings_dedup_last(struct aq_readings *r)
{
	r->n = dedup_cols(r->date, r->account, r->value, r->n);
	return r->n;
}

/* ======================================================================
 * Reading: one file, one part (latest batch wins), compaction
 * ==================================================================== */

static int readings_sorted_strict(const struct aq_readings *r, size_t from)
{
	for (size_t i = from + 1; i < r->n; i++)
		if (!key_lt(r->account[i - 1], r->date[i - 1], r->account[i], r->date[i]))
			return 0;
	return 1;
}

/* Append a readings file's rows to out. */
static int read_file_append(const char *path, struct aq_readings *out, struct aq_err *e)
{
	struct aq_pq_reader rd;
	int rc;

	if ((rc = aq_pq_reader_open(&rd, path, e)))
		return rc;
	if ((rc = aq_pq_reader_expect(&rd, &aq_readings_schema, e)))
		goto out;
	if ((rc = aq_readings_reserve(out, out->n + (size_t)rd.nrows, e)))
		goto out;
	for (int g = 0; g < rd.nrow_groups; g++) {
		size_t m = (size_t)aq_pq_reader_rg_rows(&rd, g);

		if ((rc = aq_pq_reader_read(&rd, g, 0, out->date + out->n, e)) ||
		    (rc = aq_pq_reader_read(&rd, g, 1, out->account + out->n, e)) ||
		    (rc = aq_pq_reader_read(&rd, g, 2, out->value + out->n, e)))
			goto out;
		out->n += m;
	}
out:
	aq_pq_reader_release(&rd);
	return rc;
}

int aq_readings_read_file(const char *path, struct aq_readings *out, struct aq_err *e)
{
	out->n = 0;
	return read_file_append(path, out, e);
}

/* Sort and dedup rows [from, n) of out, later rows winning. */
static int merge_tail(struct aq_readings *out, size_t from, struct aq_err *e)
{
	size_t m = out->n - from;

	if (readings_sorted_strict(out, from))
		return 0;
	if (sort_cols(out->date + from, out->account + from, out->value + from, m))
		return aq_err_set(e, AQ_ENOMEM, "out of memory sorting %zu readings", m);
	out->n = from + dedup_cols(out->date + from, out->account + from, out->value + from, m);
	return 0;
}

#define MERGE_MAX_RUNS 16

/* Decode a readings file's row groups into out's columns from row at. */
static int read_rows_at(struct aq_pq_reader *rd, struct aq_readings *out, size_t at, struct aq_err *e)
{
	int rc;

	for (int g = 0; g < rd->nrow_groups; g++) {
		if ((rc = aq_pq_reader_read(rd, g, 0, out->date + at, e)) ||
		    (rc = aq_pq_reader_read(rd, g, 1, out->account + at, e)) ||
		    (rc = aq_pq_reader_read(rd, g, 2, out->value + at, e)))
			return rc;
		at += (size_t)aq_pq_reader_rg_rows(rd, g);
	}
	return 0;
}

static int run_strict(const int32_t *d, const int64_t *a, size_t lo, size_t hi)
{
	for (size_t i = lo + 1; i < hi; i++)
		if (!key_lt(a[i - 1], d[i - 1], a[i], d[i]))
			return 0;
	return 1;
}

/*
 * k-way merge of k strictly sorted runs of the input columns (run j is
 * [start[j], start[j+1])) into the output columns; on a key present in
 * several runs the last run's row wins. Returns the rows written. Output and
 * input must not overlap.
 */
static size_t merge_runs(int32_t *od, int64_t *oa, double *ov, const int32_t *d, const int64_t *a, const double *v,
			 const size_t *start, int k)
{
	size_t pos[MERGE_MAX_RUNS], w = 0;

	for (int j = 0; j < k; j++)
		pos[j] = start[j];
	for (;;) {
		int best = -1, win = -1;
		int64_t ka;
		int32_t kd;

		for (int j = 0; j < k; j++)
			if (pos[j] < start[j + 1] &&
			    (best < 0 || key_lt(a[pos[j]], d[pos[j]], a[pos[best]], d[pos[best]])))
				best = j;
		if (best < 0)
			return w;
		ka = a[pos[best]];
		kd = d[pos[best]];
		for (int j = best; j < k; j++)
			if (pos[j] < start[j + 1] && a[pos[j]] == ka && d[pos[j]] == kd)
				win = j, pos[j]++;
		od[w] = kd;
		oa[w] = ka;
		ov[w] = v[pos[win] - 1];
		w++;
	}
}

/*
 * Append a part's rows to out, merged. One file: decoded in place (sorted
 * and deduplicated only if it is not already strictly sorted). Several: each
 * file decoded into the upper half of out's room, then k-way merged down
 * (files each strictly sorted, the usual case), or sorted and deduplicated.
 */
static int read_part_append(const struct aq_dataset *ds, int part, struct aq_readings *out, int *nfiles,
			    struct aq_err *e)
{
	struct aq_pq_reader *rd = NULL;
	size_t from = out->n, total = 0, *start = NULL;
	char **paths;
	int n, rc, nopen = 0, sorted = 1;

	if ((rc = aq_dataset_list_part(ds, part, &paths, &n, e)))
		return rc;
	if (nfiles)
		*nfiles = n;
	if (n == 0) {
		aq_paths_free(paths, n);
		return 0;
	}
	rd = calloc((size_t)n, sizeof(*rd));
	start = calloc((size_t)n + 1, sizeof(*start));
	if (!rd || !start) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto out;
	}
	for (nopen = 0; nopen < n; nopen++) {
		if ((rc = aq_pq_reader_open(&rd[nopen], paths[nopen], e)))
			goto out;
		if ((rc = aq_pq_reader_expect(&rd[nopen], &aq_readings_schema, e))) {
			nopen++;
			goto out;
		}
		start[nopen] = total;
		total += rd[nopen].nrows;
	}
	start[n] = total;
	if (n == 1) {
		if ((rc = aq_readings_reserve(out, from + total, e)) || (rc = read_rows_at(&rd[0], out, from, e)))
			goto out;
		out->n = from + total;
		rc = merge_tail(out, from, e);
		goto out;
	}
	/* decode every file above the room the merged rows need */
	if ((rc = aq_readings_reserve(out, from + 2 * total, e)))
		goto out;
	for (int i = 0; i < n; i++)
		if ((rc = read_rows_at(&rd[i], out, from + total + start[i], e)))
			goto out;
	for (int i = 0; i < n && sorted; i++)
		sorted = run_strict(out->date + from + total, out->account + from + total, start[i], start[i + 1]);
	if (sorted && n <= MERGE_MAX_RUNS) {
		out->n = from + merge_runs(out->date + from, out->account + from, out->value + from,
					   out->date + from + total, out->account + from + total,
					   out->value + from + total, start, n);
	} else {
		memmove(out->date + from, out->date + from + total, total * sizeof(*out->date));
		memmove(out->account + from, out->account + from + total, total * sizeof(*out->account));
		memmove(out->value + from, out->value + from + total, total * sizeof(*out->value));
		out->n = from + total;
		rc = merge_tail(out, from, e);
	}
out:
	for (int i = 0; i < nopen; i++)
		aq_pq_reader_release(&rd[i]);
	free(rd);
	free(start);
	aq_paths_free(paths, n);
	if (rc)
		out->n = from;
	return rc;
}

int aq_dataset_read_part(const struct aq_dataset *ds, int part, struct aq_readings *out, struct aq_err *e)
{
	out->n = 0;
	return read_part_append(ds, part, out, NULL, e);
}

int aq_dataset_read_all(const struct aq_dataset *ds, struct aq_readings *out, struct aq_err *e)
{
	int rc = 0;

	out->n = 0;
	for (int p = 0; p < ds->parts && !rc; p++)
		rc = read_part_append(ds, p, out, NULL, e);
	return rc;
}

static int write_readings_file(const char *path, const struct aq_readings_writer_opts *o, const int32_t *d,
			       const int64_t *a, const double *v, size_t n, struct aq_afile *done, uint64_t *bytes,
			       struct aq_err *e)
{
	struct aq_pq_writer w;
	struct aq_pq_write_opts po = o->pq;
	const void *cols[3] = { d, a, v };
	int rc;

	po.row_group_rows = o->row_group_rows;
	if ((rc = aq_pq_writer_open(&w, path, &aq_readings_schema, &po, e)))
		return rc;
	if ((rc = aq_pq_writer_write(&w, n, cols, e))) {
		aq_pq_writer_abort(&w);
		return rc;
	}
	rc = done ? aq_pq_writer_finish(&w, done, e) : aq_pq_writer_close(&w, e);
	*bytes = w.offset; /* the footer included; close leaves offset as it was */
	return rc;
}

static void default_opts(struct aq_readings_writer_opts *o, const struct aq_readings_writer_opts *in)
{
	/* pq: zeroed means ZSTD level 3 (aq_pq_writer_open resolves it) */
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (!o->pq.page_rows)
		o->pq.page_rows = 65536;
	if (!o->max_buffer_bytes)
		o->max_buffer_bytes = (size_t)128 << 20;
	if (!o->row_group_rows)
		o->row_group_rows = (size_t)1 << 20;
}

int aq_dataset_compact_part(const struct aq_dataset *ds, int part, struct aq_err *e)
{
	struct aq_readings r;
	struct aq_readings_writer_opts o;
	char **paths, *out = NULL, *dir = NULL, *base;
	uint64_t key = 0, bytes;
	int n, rc;

	if ((rc = aq_dataset_list_part(ds, part, &paths, &n, e)))
		return rc;
	if (n <= 1) {
		aq_paths_free(paths, n);
		return 0;
	}
	aq_readings_init(&r);
	for (int i = 0; i < n && !rc; i++)
		rc = read_file_append(paths[i], &r, e);
	if (!rc)
		rc = merge_tail(&r, 0, e);
	if (rc)
		goto done;
	base = strrchr(paths[n - 1], '/');
	batch_name(base ? base + 1 : paths[n - 1], &key);
	out = aq_dataset_batch_path(ds, part, key, "compact");
	dir = aq_dataset_part_dir(ds, part);
	if (!out || !dir) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto done;
	}
	default_opts(&o, NULL);
	if ((rc = write_readings_file(out, &o, r.date, r.account, r.value, r.n, NULL, &bytes, e)))
		goto done;
	/* The compact file is durable: now drop what it replaces (a crash here leaves duplicates of equal value). */
	for (int i = 0; i < n; i++)
		if (strcmp(paths[i], out) && unlink(paths[i]) < 0 && errno != ENOENT) {
			rc = aq_err_sys(e, "cannot remove '%s'", paths[i]);
			goto done;
		}
	rc = aq_fs_fsync_dir(dir, e);
	aq_info("compacted '%s': %d files -> 1 (%zu readings)", dir, n, r.n);
done:
	free(out);
	free(dir);
	aq_readings_release(&r);
	aq_paths_free(paths, n);
	return rc;
}

/* ======================================================================
 * Readings writer: rows routed to per-part buffers of bounded size; a full
 * buffer becomes a row group of the part's open file when it continues that
 * file's order, else (sorted) the first row group of a further file.
 *
 * With worker threads the caller's thread only routes rows: a full buffer is
 * handed to the worker owning its part (part mod workers), which sorts,
 * compresses and writes it, so each part's buffers are written in the order
 * they filled; a pool of spare buffers (two per worker) lets the caller go
 * on meanwhile. Without workers the caller's thread does it all.
 * ==================================================================== */

#define MAX_OPEN_FILES 256  /* open part files at once; the least recently used is finished beyond */
#define SYNC_THREADS 8
#define SPARE_PER_WORKER 2
#define MAX_WORKERS 16

struct rbuf {
	int32_t *d;
	int64_t *a;
	double *v;
	size_t n, cap;
	int sorted;              /* rows ordered by (account, date) as added */
};

struct pstate {              /* a part's output; touched only by the worker owning the part */
	int touched;             /* the part directory exists */
	int open;                /* pw holds an open file */
	int nfiles;
	struct aq_pq_writer pw;
	int64_t last_a;          /* last key written to the open file */
	int32_t last_d;
	uint64_t stamp;          /* last use, for the open-file limit */
};

struct pfile {
	struct aq_afile f;
	int part, idx;           /* idx: creation order within the part */
};

struct job {
	int part, stop;
	struct rbuf b;
};

struct rwpriv;

struct worker {
	struct rwpriv *p;
	int id, started, nopen, max_open;
	pthread_t th;
	struct aq_pq_scratch *scratch;
	struct pfile *done;      /* finished files awaiting fsync and rename */
	int ndone, capdone;
	uint64_t stamp, rows, files, bytes;
	struct job *q;           /* ring of jobs, guarded by p->mu */
	int qhead, qlen, qcap;
	struct aq_err err;
};

struct rwpriv {
	const struct aq_dataset *ds;
	uint64_t key;
	const char *label;
	struct rbuf *fill;       /* per part: the buffer being filled by the caller */
	struct pstate *ps;       /* per part */
	size_t chunk;            /* rows per buffer (= rows per row group) */
	int64_t last_acc;
	int last_part;
	struct aq_pq_write_opts pq;
	int nw;                  /* worker threads; 0: the caller's thread writes */
	struct worker *w;        /* nw workers (1 context when nw == 0) */
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_free;
	struct rbuf *spare;      /* empty buffers */
	int nspare, nextra, maxextra;
	int failed, rc;          /* a worker failed: rc and err are its */
	struct aq_err err;
};

#define ROW_BYTES (sizeof(int32_t) + sizeof(int64_t) + sizeof(double))

static void rbuf_free(struct rbuf *b)
{
	free(b->d);
	free(b->a);
	free(b->v);
	memset(b, 0, sizeof(*b));
	b->sorted = 1;
}

static int grow_buf(struct rbuf *b, size_t chunk, struct aq_err *e)
{
	size_t ncap = b->cap ? b->cap * 2 : 4096;
	int32_t *d;
	int64_t *a;
	double *v;

	ncap = ncap > chunk ? chunk : ncap;
	if (!(d = realloc(b->d, ncap * sizeof(*d))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	b->d = d;
	if (!(a = realloc(b->a, ncap * sizeof(*a))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	b->a = a;
	if (!(v = realloc(b->v, ncap * sizeof(*v))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	b->v = v;
	b->cap = ncap;
	return 0;
}

/* Finish the part's open file (footer; no fsync yet) and queue it for commit. */
static int finish_file(struct rwpriv *p, struct worker *k, int part, struct aq_err *e)
{
	struct pstate *s = &p->ps[part];
	struct pfile *f;
	int rc;

	if (k->ndone == k->capdone) {
		int nc = k->capdone ? k->capdone * 2 : 64;
		struct pfile *nd = realloc(k->done, (size_t)nc * sizeof(*nd));

		if (!nd)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		k->done = nd;
		k->capdone = nc;
	}
	f = &k->done[k->ndone];
	s->open = 0;
	k->nopen--;
	rc = aq_pq_writer_finish(&s->pw, &f->f, e);
	k->bytes += s->pw.offset;
	if (rc)
		return rc;
	f->part = part;
	f->idx = s->nfiles - 1;
	k->ndone++;
	k->files++;
	return 0;
}

/* A buffer of a part (sorted, deduplicated, the later row winning) goes out as one row group. */
static int emit(struct rwpriv *p, struct worker *k, int part, struct rbuf *b, struct aq_err *e)
{
	struct pstate *s = &p->ps[part];
	const void *cols[3];
	size_t n;
	int rc;

	if (!b->n)
		return 0;
	if (!b->sorted && sort_cols(b->d, b->a, b->v, b->n))
		return aq_err_set(e, AQ_ENOMEM, "out of memory sorting %zu readings", b->n);
	n = dedup_cols(b->d, b->a, b->v, b->n);
	if (s->open && !key_lt(s->last_a, s->last_d, b->a[0], b->d[0]) && (rc = finish_file(p, k, part, e)))
		return rc;
	if (!s->open) {
		char *path;

		if (k->nopen >= k->max_open) {
			int lru = -1;

			for (int i = k->id; i < p->ds->parts; i += p->nw ? p->nw : 1)
				if (p->ps[i].open && (lru < 0 || p->ps[i].stamp < p->ps[lru].stamp))
					lru = i;
			if (lru >= 0 && (rc = finish_file(p, k, lru, e)))
				return rc;
		}
		if (!s->touched) {
			char *dir = aq_dataset_part_dir(p->ds, part);

			if (!dir)
				return aq_err_set(e, AQ_ENOMEM, "out of memory");
			rc = aq_fs_mkdir_p(dir, e);
			free(dir);
			if (rc)
				return rc;
			s->touched = 1;
		}
		/* the final name (a sequence suffix unless it is the part's last file) is given at commit */
		if (!(path = aq_dataset_batch_path(p->ds, part, p->key, p->label)))
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		rc = aq_pq_writer_open_shared(&s->pw, path, &aq_readings_schema, &p->pq, k->scratch, e);
		free(path);
		if (rc)
			return rc;
		s->open = 1;
		s->nfiles++;
		k->nopen++;
	}
	cols[0] = b->d;
	cols[1] = b->a;
	cols[2] = b->v;
	if ((rc = aq_pq_writer_write(&s->pw, n, cols, e))) {
		aq_pq_writer_abort(&s->pw);
		s->open = 0;
		k->nopen--;
		return rc;
	}
	s->last_a = b->a[n - 1];
	s->last_d = b->d[n - 1];
	s->stamp = ++k->stamp;
	k->rows += n;
	return 0;
}

/* Parts owned by worker k: k->id, k->id + nw, ... */
static int finish_parts(struct rwpriv *p, struct worker *k, struct aq_err *e)
{
	int rc = 0;

	for (int i = k->id; i < p->ds->parts && !rc; i += p->nw ? p->nw : 1)
		if (p->ps[i].open)
			rc = finish_file(p, k, i, e);
	return rc;
}

static void set_failed(struct rwpriv *p, int rc, const struct aq_err *e)
{
	/* under p->mu */
	if (!p->failed) {
		p->failed = 1;
		p->rc = rc;
		p->err = *e;
	}
	pthread_cond_broadcast(&p->cv_free);
}

static void *worker_main(void *arg)
{
	struct worker *k = arg;
	struct rwpriv *p = k->p;
	int rc, failed;

	for (;;) {
		struct job j;

		pthread_mutex_lock(&p->mu);
		while (!k->qlen)
			pthread_cond_wait(&p->cv_work, &p->mu);
		j = k->q[k->qhead];
		k->qhead = (k->qhead + 1) % k->qcap;
		k->qlen--;
		failed = p->failed;
		pthread_mutex_unlock(&p->mu);
		if (j.stop)
			break;
		rc = failed ? 0 : emit(p, k, j.part, &j.b, &k->err);
		j.b.n = 0;
		j.b.sorted = 1;
		pthread_mutex_lock(&p->mu);
		if (rc)
			set_failed(p, rc, &k->err);
		p->spare[p->nspare++] = j.b;
		pthread_cond_broadcast(&p->cv_free);
		pthread_mutex_unlock(&p->mu);
	}
	pthread_mutex_lock(&p->mu);
	failed = p->failed;
	pthread_mutex_unlock(&p->mu);
	if (!failed && (rc = finish_parts(p, k, &k->err))) {
		pthread_mutex_lock(&p->mu);
		set_failed(p, rc, &k->err);
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

/* under p->mu */
static void enqueue(struct rwpriv *p, int wk, const struct job *j)
{
	struct worker *k = &p->w[wk];

	k->q[(k->qhead + k->qlen) % k->qcap] = *j;
	k->qlen++;
	pthread_cond_broadcast(&p->cv_work);
}

/* The caller's full buffer of a part: to its worker, and an empty one in its place. */
static int handoff(struct rwpriv *p, int part, struct aq_err *e)
{
	struct job j = { .part = part };
	struct rbuf nb;
	int rc;

	pthread_mutex_lock(&p->mu);
	while (!p->failed && !p->nspare && p->nextra >= p->maxextra)
		pthread_cond_wait(&p->cv_free, &p->mu);
	if (p->failed) {
		rc = p->rc;
		if (e)
			*e = p->err;
		pthread_mutex_unlock(&p->mu);
		return rc;
	}
	if (p->nspare) {
		nb = p->spare[--p->nspare];
	} else {
		memset(&nb, 0, sizeof(nb));
		nb.sorted = 1;
		p->nextra++;
	}
	j.b = p->fill[part];
	enqueue(p, part % p->nw, &j);
	p->fill[part] = nb;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static int full_buffer(struct rwpriv *p, int part, struct aq_err *e)
{
	struct rbuf *b = &p->fill[part];
	int rc;

	if (b->cap < p->chunk)
		return grow_buf(b, p->chunk, e);
	if (!p->nw) {
		rc = emit(p, &p->w[0], part, b, e);
		b->n = 0;
		b->sorted = 1;
		return rc;
	}
	if ((rc = handoff(p, part, e)))
		return rc;
	b = &p->fill[part];
	return b->cap ? 0 : grow_buf(b, p->chunk, e);
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

/* Stop the workers (after the jobs queued so far) and wait for them. */
static void stop_workers(struct rwpriv *p)
{
	struct job stop = { .stop = 1 };

	if (!p->nw)
		return;
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->nw; i++)
		if (p->w[i].started)
			enqueue(p, i, &stop);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nw; i++)
		if (p->w[i].started) {
			pthread_join(p->w[i].th, NULL);
			p->w[i].started = 0;
		}
}

static void rw_free(struct aq_readings_writer *w)
{
	struct rwpriv *p = w->priv;

	if (p) {
		stop_workers(p);
		for (int i = 0; i < w->ds->parts; i++) {
			if (p->ps && p->ps[i].open)
				aq_pq_writer_abort(&p->ps[i].pw);
			if (p->fill)
				rbuf_free(&p->fill[i]);
		}
		for (int i = 0; i < p->nspare; i++)
			rbuf_free(&p->spare[i]);
		for (int i = 0; i < (p->nw ? p->nw : 1); i++) {
			struct worker *k = &p->w[i];

			for (int f = 0; f < k->ndone; f++)
				aq_afile_abort(&k->done[f].f); /* unlinks a temp not yet renamed */
			free(k->done);
			free(k->q);
			aq_pq_scratch_free(k->scratch);
		}
		if (p->nw) {
			pthread_mutex_destroy(&p->mu);
			pthread_cond_destroy(&p->cv_work);
			pthread_cond_destroy(&p->cv_free);
		}
		free(p->w);
		free(p->spare);
		free(p->fill);
		free(p->ps);
		free(p);
	}
	free(w->label);
	w->label = NULL;
	w->priv = NULL;
}

int aq_readings_writer_open(struct aq_readings_writer *w, const struct aq_dataset *ds, uint64_t key,
			    const char *label, const struct aq_readings_writer_opts *o, struct aq_err *e)
{
	struct rwpriv *p;
	int nw, nk;

	memset(w, 0, sizeof(*w));
	if (!name_ok(label, 1))
		return aq_err_set(e, AQ_EINVAL, "bad batch label '%s' (letters, digits, '_', '-', '.')",
				  label ? label : "");
	w->ds = ds;
	w->key = key;
	default_opts(&w->opts, o);
	nw = w->opts.threads < 0 ? 0 : w->opts.threads > 0 ? w->opts.threads : online_cpus() >= 2 ? 2 : 0;
	nw = nw > MAX_WORKERS ? MAX_WORKERS : nw;
	nk = nw ? nw : 1;
	w->label = strdup(label);
	p = calloc(1, sizeof(*p));
	if (!w->label || !p) {
		free(p);
		free(w->label);
		w->label = NULL;
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	w->priv = p;
	p->ds = ds;
	p->key = key;
	p->label = w->label;
	p->nw = nw;
	p->maxextra = SPARE_PER_WORKER * nw;
	p->fill = calloc((size_t)ds->parts, sizeof(*p->fill));
	p->ps = calloc((size_t)ds->parts, sizeof(*p->ps));
	p->w = calloc((size_t)nk, sizeof(*p->w));
	p->spare = calloc((size_t)p->maxextra + (size_t)ds->parts + 1, sizeof(*p->spare));
	if (!p->fill || !p->ps || !p->w || !p->spare) {
		rw_free(w);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	/* the budget covers the caller's buffers and the spares in flight */
	p->chunk = w->opts.max_buffer_bytes / ((size_t)ds->parts + (size_t)p->maxextra) / ROW_BYTES;
	p->chunk = p->chunk < 1024 ? 1024 : p->chunk > w->opts.row_group_rows ? w->opts.row_group_rows : p->chunk;
	p->pq = w->opts.pq;
	p->pq.row_group_rows = p->chunk;
	p->last_part = -1;
	for (int i = 0; i < ds->parts; i++)
		p->fill[i].sorted = 1;
	for (int i = 0; i < nk; i++) {
		struct worker *k = &p->w[i];

		k->p = p;
		k->id = i;
		k->max_open = MAX_OPEN_FILES / nk > 1 ? MAX_OPEN_FILES / nk : 1;
		k->qcap = ds->parts + p->maxextra + 2;
		if (!(k->scratch = aq_pq_scratch_new()) || !(k->q = calloc((size_t)k->qcap, sizeof(*k->q)))) {
			rw_free(w);
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		}
	}
	if (nw) {
		pthread_mutex_init(&p->mu, NULL);
		pthread_cond_init(&p->cv_work, NULL);
		pthread_cond_init(&p->cv_free, NULL);
		for (int i = 0; i < nw; i++) {
			if (pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i])) {
				rw_free(w);
				return aq_err_set(e, AQ_EIO, "cannot start a writer thread");
			}
			p->w[i].started = 1;
		}
	}
	return 0;
}

static inline int add_row(struct rwpriv *p, int32_t date, int64_t account, double value, struct aq_err *e)
{
	struct rbuf *b;
	int part, rc;

	if (account == p->last_acc && p->last_part >= 0) {
		part = p->last_part;
	} else {
		part = aq_part_of(account, p->ds->parts);
		p->last_acc = account;
		p->last_part = part;
	}
	b = &p->fill[part];
	if (b->n == b->cap) {
		if ((rc = full_buffer(p, part, e)))
			return rc;
		b = &p->fill[part];
	}
	if (b->n && b->sorted && key_lt(account, date, b->a[b->n - 1], b->d[b->n - 1]))
		b->sorted = 0;
	b->d[b->n] = date;
	b->a[b->n] = account;
	b->v[b->n] = value;
	b->n++;
	return 0;
}

int aq_readings_writer_add(struct aq_readings_writer *w, int32_t date, int64_t account, double value,
			   struct aq_err *e)
{
	if (!w->priv)
		return aq_err_set(e, AQ_ESTATE, "readings writer is not open");
	return add_row(w->priv, date, account, value, e);
}

int aq_readings_writer_add_many(struct aq_readings_writer *w, size_t n, const int32_t *date,
				const int64_t *account, const double *value, struct aq_err *e)
{
	struct rwpriv *p = w->priv;
	int rc;

	if (!p)
		return aq_err_set(e, AQ_ESTATE, "readings writer is not open");
	for (size_t i = 0; i < n; i++)
		if ((rc = add_row(p, date[i], account[i], value[i], e)))
			return rc;
	return 0;
}

/* fsync a list of paths (files or directories) from a few threads: the device overlaps them. */
struct sync_job {
	char **paths;
	int n, next, rc, err_errno;
	char *err_path;
	pthread_mutex_t mu;
};

static void *sync_worker(void *arg)
{
	struct sync_job *j = arg;

	for (;;) {
		int i, fd, bad = 0;

		pthread_mutex_lock(&j->mu);
		i = j->rc ? j->n : j->next++;
		pthread_mutex_unlock(&j->mu);
		if (i >= j->n)
			return NULL;
		fd = open(j->paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			bad = errno ? errno : EIO;
		if (fd >= 0)
			close(fd);
		if (bad) {
			pthread_mutex_lock(&j->mu);
			if (!j->rc) {
				j->rc = AQ_EIO;
				j->err_errno = bad;
				j->err_path = j->paths[i];
			}
			pthread_mutex_unlock(&j->mu);
		}
	}
}

static int sync_paths(char **paths, int n, struct aq_err *e)
{
	struct sync_job j = { .paths = paths, .n = n };
	pthread_t th[SYNC_THREADS];
	int nt = n < SYNC_THREADS ? n : SYNC_THREADS, started = 0;

	if (n <= 0)
		return 0;
	pthread_mutex_init(&j.mu, NULL);
	for (int i = 1; i < nt; i++)
		if (pthread_create(&th[started], NULL, sync_worker, &j) == 0)
			started++;
	sync_worker(&j); /* this thread works too (and alone if no thread could start) */
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j.mu);
	if (j.rc) {
		errno = j.err_errno;
		return aq_err_sys(e, "cannot fsync '%s'", j.err_path);
	}
	return 0;
}

static char *final_name(struct rwpriv *p, int part, int idx, int nfiles)
{
	char label[160];

	if (idx == nfiles - 1)
		return aq_dataset_batch_path(p->ds, part, p->key, p->label);
	snprintf(label, sizeof(label), "%s.%06d", p->label, idx + 1);
	return aq_dataset_batch_path(p->ds, part, p->key, label);
}

/* Write out what is buffered and finish every open file: synchronously, or through the workers. */
static int drain(struct rwpriv *p, struct aq_err *e)
{
	int rc = 0;

	if (!p->nw) {
		for (int i = 0; i < p->ds->parts && !rc; i++) {
			rc = emit(p, &p->w[0], i, &p->fill[i], e);
			p->fill[i].n = 0;
		}
		return rc ? rc : finish_parts(p, &p->w[0], e);
	}
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->ds->parts; i++) {
		struct job j = { .part = i };

		if (!p->fill[i].n)
			continue;
		j.b = p->fill[i];
		enqueue(p, i % p->nw, &j);
		memset(&p->fill[i], 0, sizeof(p->fill[i])); /* the worker returns it to the spares */
		p->fill[i].sorted = 1;
	}
	pthread_mutex_unlock(&p->mu);
	stop_workers(p); /* each worker writes its queue, then finishes its parts' files */
	if (p->failed) {
		if (e)
			*e = p->err;
		return p->rc;
	}
	return 0;
}

int aq_readings_writer_close(struct aq_readings_writer *w, struct aq_err *e)
{
	struct rwpriv *p = w->priv;
	char **list = NULL;
	int rc, nl = 0, nfiles = 0, nk;

	if (!p)
		return aq_err_set(e, AQ_ESTATE, "readings writer is not open");
	nk = p->nw ? p->nw : 1;
	rc = drain(p, e);
	for (int i = 0; i < nk; i++) {
		w->stats.rows += p->w[i].rows;
		w->stats.files += p->w[i].files;
		w->stats.bytes += p->w[i].bytes;
		nfiles += p->w[i].ndone;
	}
	if (rc)
		goto out;
	list = malloc(((size_t)nfiles + (size_t)w->ds->parts + 1) * sizeof(*list));
	if (!list) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto out;
	}
	/* 1. every file complete: make the contents durable */
	for (int i = 0; i < nk; i++)
		for (int f = 0; f < p->w[i].ndone; f++)
			list[nl++] = p->w[i].done[f].f.tmp;
	if ((rc = sync_paths(list, nl, e)))
		goto out;
	/* 2. give them their names (order of creation within a part = order of names) */
	for (int i = 0; i < nk && !rc; i++) {
		for (int f = 0; f < p->w[i].ndone && !rc; f++) {
			struct pfile *pf = &p->w[i].done[f];
			char *name = final_name(p, pf->part, pf->idx, p->ps[pf->part].nfiles);

			if (!name) {
				rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
				break;
			}
			free(pf->f.path);
			pf->f.path = name;
			rc = aq_pq_commit_renamed(&pf->f, e); /* leaves pf empty: rw_free skips it */
		}
	}
	/* 3. make the renames durable */
	nl = 0;
	for (int i = 0; i < w->ds->parts && !rc; i++)
		if (p->ps[i].touched && !(list[nl++] = aq_dataset_part_dir(w->ds, i)))
			rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (!rc)
		rc = sync_paths(list, nl, e);
	for (int i = 0; i < nl; i++)
		free(list[i]);
out:
	free(list);
	rw_free(w);
	return rc;
}

void aq_readings_writer_abort(struct aq_readings_writer *w)
{
	struct rwpriv *p = w->priv;

	if (p && p->nw) {
		pthread_mutex_lock(&p->mu);
		p->failed = 1; /* workers drop what is queued */
		p->rc = AQ_EINTR;
		pthread_mutex_unlock(&p->mu);
	}
	rw_free(w);
}
