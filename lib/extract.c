/* extract.c — bulk, incremental extraction of readings from an ODBC table into a sharded dataset. */
#include "extract.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "date.h"
#include "fs.h"
#include "hash.h"
#include "odbc.h"
#include "readings_writer.h"

#define OK(rc) ((rc) == SQL_SUCCESS || (rc) == SQL_SUCCESS_WITH_INFO)

const char *const aq_extract_rej_names[AQ_REJ_KINDS] = {
	"null", "nan", "negative", "non_numeric", "bad_date", "bad_account", "duplicate", "row_error",
};

/*
 * Test failpoints: $AQUACAST_TEST_CRASH = "pending" (after the pending
 * state is durable), "rows:N" (after N rows were handed to the writers),
 * "closed" (after every batch file is durable, before the watermark moves).
 * The process kills itself with SIGKILL there, like a power cut would; the
 * integration tests use it to check that a rerun repairs every case.
 */
static void failpoint(const char *name, uint64_t rows)
{
	const char *v = getenv("AQUACAST_TEST_CRASH");
	size_t l = strlen(name);

	if (!v || strncmp(v, name, l))
		return;
	if (v[l] == ':' && rows < strtoull(v + l + 1, NULL, 10))
		return;
	if (v[l] != ':' && v[l])
		return;
	aq_warn("test failpoint '%s': killing myself", v);
	raise(SIGKILL);
}

/*
 * Test hook: $AQUACAST_TEST_WINDOW_PAUSE = PATH makes worker 0 stop after
 * its first window, create PATH.reached and wait (up to 120 s) until PATH
 * exists, so that a test can add rows to the table between two windows.
 */
static void test_pause(void)
{
	const char *v = getenv("AQUACAST_TEST_WINDOW_PAUSE");
	char *reached;
	int fd;

	if (!v || !*v || asprintf(&reached, "%s.reached", v) < 0)
		return;
	aq_warn("test hook: pausing after the first window until '%s' exists", v);
	if ((fd = open(reached, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) >= 0)
		close(fd);
	free(reached);
	for (int i = 0; i < 12000 && access(v, F_OK); i++)
		usleep(10000);
}

/* ---- state file ---- */

struct state {
	int64_t watermark;
	int pending;
	int64_t lo, hi;
	uint64_t key;
	char table[300];
};

static int state_read(const char *path, struct state *s, struct aq_err *e)
{
	json_error_t je;
	json_t *j, *p;
	const char *t;

	memset(s, 0, sizeof(*s));
	if (access(path, F_OK))
		return 0;
	if (!(j = json_load_file(path, 0, &je)))
		return aq_err_set(e, AQ_EFORMAT, "cannot parse '%s': %s (line %d)", path, je.text, je.line);
	s->watermark = json_integer_value(json_object_get(j, "watermark"));
	if ((t = json_string_value(json_object_get(j, "table"))))
		snprintf(s->table, sizeof(s->table), "%s", t);
	p = json_object_get(j, "pending");
	if (json_is_object(p)) {
		s->pending = 1;
		s->lo = json_integer_value(json_object_get(p, "lo"));
		s->hi = json_integer_value(json_object_get(p, "hi"));
		s->key = (uint64_t)json_integer_value(json_object_get(p, "key"));
		if (s->hi <= s->lo || !s->key) {
			json_decref(j);
			return aq_err_set(e, AQ_ESTATE, "bad pending slice in '%s'", path);
		}
	}
	json_decref(j);
	if (s->watermark < 0)
		return aq_err_set(e, AQ_ESTATE, "negative watermark in '%s'", path);
	return 0;
}

static int state_write(const char *path, const struct state *s, struct aq_err *e)
{
	json_t *j = json_pack("{s:s, s:i, s:s, s:I}", "format", "aquacast.extract-state", "version", 1, "table",
			      s->table, "watermark", (json_int_t)s->watermark);
	char *text;
	int r;

	if (!j)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (s->pending)
		json_object_set_new(j, "pending",
				    json_pack("{s:I, s:I, s:I}", "lo", (json_int_t)s->lo, "hi", (json_int_t)s->hi,
					      "key", (json_int_t)s->key));
	else
		json_object_set_new(j, "pending", json_null());
	text = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(j);
	if (!text)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	r = aq_fs_write_atomic(path, text, strlen(text), e);
	free(text);
	return r;
}

/* ---- a set of (account, date) keys: distinct accounts and duplicates in RowId order ---- */

/* One slot per key (one cache line touched per probe, not one per column). */
struct kslot {
	int64_t a;   /* INT64_MIN marks an empty slot */
	int32_t d;
};

struct keyset {
	struct kslot *s;
	size_t n, cap; /* cap a power of two */
};

static size_t key_hash(int64_t a, int32_t d, size_t mask)
{
	return (size_t)aq_mix64((uint64_t)a * 0x9e3779b97f4a7c15ULL + (uint32_t)d) & mask;
}

/* Room for n keys at load <= 1/2 (rehashing what is there). 0 or AQ_ENOMEM. */
static int keyset_reserve(struct keyset *s, size_t n)
{
	size_t nc = s->cap ? s->cap : 1024;
	struct kslot *ns;

	while (nc < 2 * n)
		nc *= 2;
	if (nc == s->cap)
		return 0;
	if (!(ns = malloc(nc * sizeof(*ns))))
		return AQ_ENOMEM;
	for (size_t i = 0; i < nc; i++)
		ns[i].a = INT64_MIN;
	for (size_t i = 0; i < s->cap; i++) {
		if (s->s[i].a == INT64_MIN)
			continue;
		size_t h = key_hash(s->s[i].a, s->s[i].d, nc - 1);
		while (ns[h].a != INT64_MIN)
			h = (h + 1) & (nc - 1);
		ns[h] = s->s[i];
	}
	free(s->s);
	s->s = ns;
	s->cap = nc;
	return 0;
}

/* Linear probing, load <= 1/2. Returns 1 if (a, d) was new, 0 if present, AQ_ENOMEM. */
static int keyset_add(struct keyset *s, int64_t a, int32_t d)
{
	if (2 * (s->n + 1) > s->cap && keyset_reserve(s, s->n + 1))
		return AQ_ENOMEM;
	size_t h = key_hash(a, d, s->cap - 1);
	while (s->s[h].a != INT64_MIN) {
		if (s->s[h].a == a && s->s[h].d == d)
			return 0;
		h = (h + 1) & (s->cap - 1);
	}
	s->s[h].a = a;
	s->s[h].d = d;
	s->n++;
	return 1;
}

static void keyset_free(struct keyset *s)
{
	free(s->s);
	memset(s, 0, sizeof(*s));
}

/*
 * In RowId order duplicates are counted with a set of the slice's keys, up
 * to this many per reader (32 MiB); past it they are no longer counted (the
 * writer still keeps the latest) and the summary says "duplicate": null.
 */
#define DUP_KEYS_MAX ((size_t)1 << 20)

/* ---- one slice, K workers ---- */

struct slice {
	const struct aq_extract_opts *o;
	const struct aq_dataset *ds;
	int64_t lo, hi;
	uint64_t key;
	int k;
	int64_t amin, amax;         /* AccountOID range (RANGE split) */
	enum aq_extract_split split;/* resolved: RANGE falls back to MODULO without a usable range */
	enum aq_extract_order order;/* resolved: AUTO is KEY for a slice from RowId 0, else ROWID */
	const char *qtable;
	enum aq_extract_bind bind;  /* resolved */
	const char *days_expr;      /* typed binding: the date as integer days (aq_odbc_days_expr), or NULL */
	const char *packed_expr;    /* packed binding: "account,days,value" (aq_odbc_packed_row_expr) */
	struct aq_odbc *conn0;      /* K = 1: the run's connection, borrowed by the one worker */
	int64_t window;             /* rows per statement at most (resolved); 0: the slice in one statement */
	enum aq_sql_dialect dialect;
	atomic_int probe_warned;
	/* shared writer mode */
	pthread_mutex_t lock;
	struct aq_readings_writer *shared;
	atomic_int failed;
	atomic_uint_fast64_t samples[AQ_REJ_KINDS];
};

struct worker {
	struct slice *sl;
	int i;
	struct aq_readings_writer w;
	int w_open;
	struct aq_err err;
	int rc;
	uint64_t rows_read, rows, accounts;
	uint64_t rejected[AQ_REJ_KINDS];
	int dups_uncounted;         /* RowId order and more keys than DUP_KEYS_MAX */
	uint64_t windows;           /* statements read */
	/* pending output (shared writer mode) */
	size_t on, ocap;
	int32_t *od;
	int64_t *oa;
	double *ov;
};

#define TXT_ACCT 32
#define TXT_DATE 40
#define TXT_VAL 64
#define TXT_ROW 128 /* packed: 20 + 11 + 25 digits and signs, 2 commas; longer = row_error */

/* The bound result arrays of one fetch (typed, text or packed). */
struct cols {
	int text, packed;
	size_t n;                   /* rows per fetch */
	SQLULEN fetched;            /* rows of the last fetch */
	SQLUSMALLINT *status;       /* per row: SQL_ROW_SUCCESS, SQL_ROW_ERROR, ... */
	SQLBIGINT *rowid;           /* text binding: RowId */
	SQLLEN *ind_r;
	char *trow;                 /* packed: TXT_ROW bytes a row, the two commas NUL'd once parsed */
	SQLBIGINT *acct;
	SQL_DATE_STRUCT *dates;
	SQLINTEGER *days;           /* instead of dates when the query converts them (days_expr) */
	double *vals;
	char *tacct, *tdate, *tval;
	SQLLEN *ind_a, *ind_d, *ind_v;
};

/* Printable account, date and value of row i: only for the logged samples, never per row. */
static void describe(const struct cols *c, size_t i, char *sa, char *sd, char *sv)
{
	if (c->trow) {
		/* The row as sent (NULs put back to commas), split at the first two commas. */
		char buf[TXT_ROW], *f[3] = { buf, NULL, NULL };
		size_t len = c->ind_a[i] >= 0 && c->ind_a[i] < TXT_ROW ? (size_t)c->ind_a[i] : TXT_ROW - 1;

		memcpy(buf, c->trow + i * TXT_ROW, len);
		buf[len] = '\0';
		for (size_t k = 0; k < len; k++)
			if (!buf[k])
				buf[k] = ',';
		for (int k = 1; k < 3 && f[k - 1] && (f[k] = strchr(f[k - 1], ',')); k++)
			*f[k]++ = '\0';
		snprintf(sa, TXT_ACCT, "%.*s", TXT_ACCT - 1, c->ind_a[i] == SQL_NULL_DATA || !*f[0] ? "NULL" : f[0]);
		if (f[1] && *f[1]) {
			long long dd = strtoll(f[1], NULL, 10);
			int y, m, d;

			if (dd >= INT32_MIN && dd <= INT32_MAX) {
				aq_date_to_ymd((int32_t)dd, &y, &m, &d);
				snprintf(sd, TXT_DATE, "%04d-%02d-%02d", y, m, d);
			} else {
				snprintf(sd, TXT_DATE, "day %.*s", TXT_DATE - 5, f[1]);
			}
		} else {
			snprintf(sd, TXT_DATE, "NULL");
		}
		snprintf(sv, TXT_VAL, "%.*s", TXT_VAL - 1, f[2] && *f[2] ? f[2] : "NULL");
		return;
	}
	if (c->text) {
		snprintf(sa, TXT_ACCT, "%s", c->ind_a[i] == SQL_NULL_DATA ? "NULL" : c->tacct + i * TXT_ACCT);
		snprintf(sd, TXT_DATE, "%s", c->ind_d[i] == SQL_NULL_DATA ? "NULL" : c->tdate + i * TXT_DATE);
		snprintf(sv, TXT_VAL, "%s", c->ind_v[i] == SQL_NULL_DATA ? "NULL" : c->tval + i * TXT_VAL);
		return;
	}
	if (c->ind_a[i] == SQL_NULL_DATA)
		snprintf(sa, TXT_ACCT, "NULL");
	else
		snprintf(sa, TXT_ACCT, "%lld", (long long)c->acct[i]);
	if (c->ind_d[i] == SQL_NULL_DATA) {
		snprintf(sd, TXT_DATE, "NULL");
	} else if (c->days) {
		int y, m, d;

		aq_date_to_ymd((int32_t)c->days[i], &y, &m, &d);
		snprintf(sd, TXT_DATE, "%04d-%02d-%02d", y, m, d);
	} else {
		snprintf(sd, TXT_DATE, "%04d-%02d-%02d", c->dates[i].year, c->dates[i].month, c->dates[i].day);
	}
	if (c->ind_v[i] == SQL_NULL_DATA)
		snprintf(sv, TXT_VAL, "NULL");
	else
		snprintf(sv, TXT_VAL, "%.17g", c->vals[i]);
}

/*
 * Count a flagged row; log the first few of each kind with account, date,
 * value and the RowId when it was read (rowid < 0: not read, see worker_sql).
 */
static void sample(struct worker *wk, int kind, int64_t rowid, const struct cols *c, size_t i)
{
	int lim = wk->sl->o->samples == 0 ? 3 : wk->sl->o->samples;
	char sa[TXT_ACCT] = "?", sd[TXT_DATE] = "?", sv[TXT_VAL] = "?", rid[64];

	wk->rejected[kind]++;
	if (lim <= 0 || atomic_fetch_add(&wk->sl->samples[kind], 1) >= (uint64_t)lim)
		return;
	if (c)
		describe(c, i, sa, sd, sv);
	if (rowid >= 0)
		snprintf(rid, sizeof(rid), "RowId %lld", (long long)rowid);
	else
		snprintf(rid, sizeof(rid), "RowId in (%lld, %lld]", (long long)wk->sl->lo, (long long)wk->sl->hi);
	if (kind == AQ_REJ_DUPLICATE)
		aq_warn("bad row (duplicate): %s (account '%s', date '%s', consumption '%s') "
			"supersedes an earlier row of that account and date",
			rid, sa, sd, sv);
	else
		aq_warn("bad row (%s): %s, account '%s', date '%s', consumption '%s'", aq_extract_rej_names[kind], rid,
			sa, sd, sv);
}

static int flush_out(struct worker *wk, struct aq_err *e)
{
	struct slice *sl = wk->sl;
	int r = 0;

	if (!wk->on)
		return 0;
	pthread_mutex_lock(&sl->lock);
	for (size_t i = 0; i < wk->on && !r; i++)
		r = aq_readings_writer_add(sl->shared, wk->od[i], wk->oa[i], wk->ov[i], e);
	pthread_mutex_unlock(&sl->lock);
	wk->on = 0;
	return r;
}

static int emit(struct worker *wk, int32_t date, int64_t acct, double v, struct aq_err *e)
{
	if ((++wk->rows & 1023) == 0)
		failpoint("rows", wk->rows);
	if (!wk->sl->shared)
		return aq_readings_writer_add(&wk->w, date, acct, v, e);
	wk->od[wk->on] = date;
	wk->oa[wk->on] = acct;
	wk->ov[wk->on] = v;
	if (++wk->on == wk->ocap)
		return flush_out(wk, e);
	return 0;
}

/* Parse a whole string as an integer / a double (surrounding blanks allowed). */
static int parse_i64(const char *s, int64_t *out)
{
	char *end;
	long long v;

	errno = 0;
	v = strtoll(s, &end, 10);
	if (end == s || errno)
		return -1;
	while (*end == ' ')
		end++;
	/* "123.0" from a REAL column holding an integer */
	if (*end == '.') {
		end++;
		while (*end == '0')
			end++;
	}
	if (*end)
		return -1;
	*out = v;
	return 0;
}

static int parse_f64(const char *s, double *out)
{
	char *end;

	*out = strtod(s, &end);
	if (end == s)
		return -1;
	while (*end == ' ')
		end++;
	return *end ? -1 : 0;
}

/* "YYYY-MM-DD", optionally followed by a time ("YYYY-MM-DD HH:MM:SS", 'T'). */
static int parse_date_text(const char *s, size_t n, int32_t *out)
{
	while (n && *s == ' ')
		s++, n--;
	if (n < 10 || (n > 10 && s[10] != ' ' && s[10] != 'T'))
		return -1;
	return aq_date_parse(s, 10, out, NULL) ? -1 : 0;
}

/*
 * The accounts one statement reads: the worker's share, narrowed to the
 * window (key order). Every bound is optional: AccountOID >= lo, < hi,
 * ABS(AccountOID) % k = i; NULL ids go with the first window of worker 0,
 * so they are counted as in a serial run. No bound at all reads every id.
 */
struct acond {
	int has_lo, has_hi, modulo, with_null;
	int64_t lo, hi;
};

/*
 * Worker i's share. RANGE: bounds b_j = amin + span * j / k; worker 0 reads
 * AccountOID < b_1 (and NULL ids), the last AccountOID >= b_{k-1} (and, in
 * SQLite, text ids, which sort after numbers), the others [b_i, b_{i+1}).
 * MODULO: ABS(AccountOID) % k = i (and NULL ids for worker 0).
 */
static void worker_share(const struct slice *sl, int i, struct acond *c)
{
	int k = sl->k;

	memset(c, 0, sizeof(*c));
	c->with_null = i == 0;
	if (k > 1 && sl->split == AQ_SPLIT_MODULO) {
		c->modulo = 1;
	} else if (k > 1) {
		double span = (double)sl->amax - (double)sl->amin + 1;

		c->has_lo = i > 0;
		c->lo = sl->amin + (int64_t)(span * i / k);
		c->has_hi = i < k - 1;
		c->hi = sl->amin + (int64_t)(span * (i + 1) / k);
	}
}

/* " AND ..." for c, its parameters appended to params[*np] (at most 4). */
static void acond_sql(const struct slice *sl, int i, const struct acond *c, char *buf, size_t n, int64_t *params,
		      int *np)
{
	char t[160] = "";
	size_t l = 0;
	int terms = 0;

	if (c->modulo) {
		l += (size_t)snprintf(t + l, sizeof(t) - l, "ABS(AccountOID) %% ? = ?");
		params[(*np)++] = sl->k;
		params[(*np)++] = i;
		terms++;
	}
	if (c->has_lo) {
		l += (size_t)snprintf(t + l, sizeof(t) - l, "%sAccountOID >= ?", terms++ ? " AND " : "");
		params[(*np)++] = c->lo;
	}
	if (c->has_hi) {
		l += (size_t)snprintf(t + l, sizeof(t) - l, "%sAccountOID < ?", terms++ ? " AND " : "");
		params[(*np)++] = c->hi;
	}
	if (!terms)
		snprintf(buf, n, "%s", c->with_null ? "" : " AND AccountOID IS NOT NULL");
	else if (c->with_null)
		snprintf(buf, n, terms > 1 ? " AND ((%s) OR AccountOID IS NULL)" : " AND (%s OR AccountOID IS NULL)",
			 t);
	else
		snprintf(buf, n, " AND %s", t);
}

/*
 * The statement of worker i for one window: RowId in (?, ?] (the slice, or
 * a window of it in RowId order) and the accounts of c.
 *
 * Columns: text binding reads RowId, AccountOID, ConsumptionDate,
 * Consumption; typed binding leaves RowId out (it only ORDERs, so a
 * duplicate's winner is the same) and reads the date as integer days where
 * the dialect has an expression for it. Every column costs psqlODBC about
 * 1,000 instructions a row whatever its type (a value malloc'd, copied,
 * converted, freed) and a date parsed from text 1,800 more: measured with
 * callgrind, 9,050 instructions a row for the four typed columns, 6,020
 * for the three (docs/sqlserver.md, "what a fetch costs").
 */
static int worker_sql(const struct slice *sl, int i, const struct acond *c, int64_t params[6], int *nparams, char **sql,
		      struct aq_err *e)
{
	char share[200];
	char *cols;
	int w;

	*nparams = 2;
	acond_sql(sl, i, c, share, sizeof(share), params, nparams);
	if (sl->packed_expr)
		w = asprintf(&cols, "%s", sl->packed_expr);
	else
		w = asprintf(&cols, "%s%s, Consumption",
			     sl->bind == AQ_BIND_TEXT ? "RowId, AccountOID, " : "AccountOID, ",
			     sl->days_expr ? sl->days_expr : "ConsumptionDate");
	if (w < 0 || asprintf(sql, "SELECT %s FROM %s WHERE RowId > ? AND RowId <= ?%s ORDER BY %s", cols, sl->qtable,
			      share, sl->order == AQ_ORDER_KEY ? "AccountOID, ConsumptionDate, RowId" : "RowId") < 0) {
		if (w >= 0)
			free(cols);
		*sql = NULL;
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	free(cols);
	return 0;
}

/*
 * The arrays bound to a statement: n rows of the slice's binding. 0, or
 * AQ_ENOMEM with some of them allocated (cols_free frees what there is).
 */
static int cols_alloc(struct cols *c, const struct slice *sl, size_t n)
{
	memset(c, 0, sizeof(*c));
	c->text = sl->bind == AQ_BIND_TEXT;
	c->packed = sl->packed_expr != NULL;
	c->n = n;
	c->status = malloc(n * sizeof(*c->status));
	c->rowid = malloc(n * sizeof(*c->rowid));
	c->ind_r = malloc(n * sizeof(*c->ind_r));
	c->ind_a = malloc(n * sizeof(*c->ind_a));
	c->ind_d = malloc(n * sizeof(*c->ind_d));
	c->ind_v = malloc(n * sizeof(*c->ind_v));
	if (c->packed) {
		c->trow = malloc(n * TXT_ROW);
	} else if (c->text) {
		c->tacct = malloc(n * TXT_ACCT);
		c->tdate = malloc(n * TXT_DATE);
		c->tval = malloc(n * TXT_VAL);
	} else {
		c->acct = malloc(n * sizeof(*c->acct));
		if (sl->days_expr)
			c->days = malloc(n * sizeof(*c->days));
		else
			c->dates = malloc(n * sizeof(*c->dates));
		c->vals = malloc(n * sizeof(*c->vals));
	}
	if (!c->status || !c->rowid || !c->ind_r || !c->ind_a || !c->ind_d || !c->ind_v || (c->packed && !c->trow) ||
	    (c->text && (!c->tacct || !c->tdate || !c->tval)) ||
	    (!c->text && !c->packed && (!c->acct || (!c->dates && !c->days) || !c->vals)))
		return AQ_ENOMEM;
	return 0;
}

static void cols_free(struct cols *c)
{
	free(c->status);
	free(c->rowid);
	free(c->ind_r);
	free(c->ind_a);
	free(c->ind_d);
	free(c->ind_v);
	free(c->tacct);
	free(c->tdate);
	free(c->tval);
	free(c->trow);
	free(c->acct);
	free(c->dates);
	free(c->days);
	free(c->vals);
	memset(c, 0, sizeof(*c));
}

/* Shared writer mode: room for n rows pending between two locked flushes (flush_out). */
static int pending_alloc(struct worker *wk, size_t n)
{
	wk->ocap = n;
	wk->od = malloc(n * sizeof(*wk->od));
	wk->oa = malloc(n * sizeof(*wk->oa));
	wk->ov = malloc(n * sizeof(*wk->ov));
	return wk->od && wk->oa && wk->ov ? 0 : AQ_ENOMEM;
}

static void pending_free(struct worker *wk)
{
	free(wk->od);
	free(wk->oa);
	free(wk->ov);
	wk->od = NULL;
	wk->oa = NULL;
	wk->ov = NULL;
}

/* Column numbers: RowId is column 1 with text binding only (worker_sql). */
static SQLRETURN bind_cols(SQLHSTMT st, struct cols *c)
{
	SQLRETURN rc;

	if (c->packed) {
		rc = SQLBindCol(st, 1, SQL_C_CHAR, c->trow, TXT_ROW, c->ind_a);
	} else if (c->text) {
		rc = SQLBindCol(st, 1, SQL_C_SBIGINT, c->rowid, 0, c->ind_r);
		if (OK(rc))
			rc = SQLBindCol(st, 2, SQL_C_CHAR, c->tacct, TXT_ACCT, c->ind_a);
		if (OK(rc))
			rc = SQLBindCol(st, 3, SQL_C_CHAR, c->tdate, TXT_DATE, c->ind_d);
		if (OK(rc))
			rc = SQLBindCol(st, 4, SQL_C_CHAR, c->tval, TXT_VAL, c->ind_v);
	} else {
		rc = SQLBindCol(st, 1, SQL_C_SBIGINT, c->acct, 0, c->ind_a);
		if (OK(rc))
			rc = c->days ? SQLBindCol(st, 2, SQL_C_SLONG, c->days, 0, c->ind_d)
				     : SQLBindCol(st, 2, SQL_C_TYPE_DATE, c->dates, sizeof(*c->dates), c->ind_d);
		if (OK(rc))
			rc = SQLBindCol(st, 3, SQL_C_DOUBLE, c->vals, 0, c->ind_v);
	}
	return rc;
}

/*
 * The worker's query on connection c, executed: a statement with
 * column-wise binding of the n-row arrays of cols (one SQLFetch moves n
 * rows) and the RowId range and account share bound as parameters. *stp is
 * the statement (NULL if none could be allocated) for the caller to free.
 */
static int start_query(struct worker *wk, struct aq_odbc *c, struct cols *cols, int64_t *params, int nparams,
		       char *sql, SQLHSTMT *stp, struct aq_err *e)
{
	SQLHSTMT st;
	SQLRETURN rc;

	*stp = NULL;
	rc = SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &st);
	if (!OK(rc))
		return aq_odbc_diag(e, SQL_HANDLE_DBC, c->dbc, "cannot allocate a statement");
	*stp = st;
	SQLSetStmtAttr(st, SQL_ATTR_ROW_BIND_TYPE, (SQLPOINTER)SQL_BIND_BY_COLUMN, 0);
	rc = SQLSetStmtAttr(st, SQL_ATTR_ROW_ARRAY_SIZE, (SQLPOINTER)(uintptr_t)cols->n, 0);
	if (!OK(rc))
		return aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot set the row array size %zu", cols->n);
	SQLSetStmtAttr(st, SQL_ATTR_ROW_STATUS_PTR, cols->status, 0);
	SQLSetStmtAttr(st, SQL_ATTR_ROWS_FETCHED_PTR, &cols->fetched, 0);
	for (int p = 0; p < nparams; p++) {
		rc = SQLBindParameter(st, (SQLUSMALLINT)(p + 1), SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0,
				      &params[p], 0, NULL);
		if (!OK(rc))
			return aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot bind parameter %d", p + 1);
	}
	if (!OK(bind_cols(st, cols)))
		return aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot bind the result columns");
	aq_debug("worker %d: %s", wk->i, sql);
	rc = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
	if (!OK(rc))
		return aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot read '%s'", wk->sl->o->table);
	return 0;
}

/*
 * Row i of a fetch, each binding its own way: 1 with its key and value
 * (*vkind: -1, or why the value is flagged), 0 when the row is rejected
 * (counted and sampled).
 */

/* Packed: "account,days,value", a part empty for NULL (aq_odbc_packed_row_expr). */
static int parse_packed(struct worker *wk, struct cols *c, size_t i, int64_t rid, int64_t *a, int32_t *d, double *v,
			int *vkind)
{
	char *ta = c->trow + i * TXT_ROW, *td, *tv;
	int64_t dd;

	if (c->ind_a[i] == SQL_NULL_DATA || c->ind_a[i] >= TXT_ROW || !(td = strchr(ta, ',')) ||
	    !(tv = strchr(td + 1, ','))) {
		sample(wk, AQ_REJ_ROW_ERROR, rid, c, i);
		return 0;
	}
	*td++ = '\0';
	*tv++ = '\0';
	if (!*ta || parse_i64(ta, a)) {
		sample(wk, AQ_REJ_BAD_ACCOUNT, rid, c, i);
		return 0;
	}
	if (!*td || parse_i64(td, &dd) || dd < AQ_DATE_MIN || dd > AQ_DATE_MAX) {
		sample(wk, AQ_REJ_BAD_DATE, rid, c, i);
		return 0;
	}
	*d = (int32_t)dd;
	if (!*tv)
		*vkind = AQ_REJ_NULL;
	else if (parse_f64(tv, v))
		*vkind = AQ_REJ_NON_NUMERIC;
	return 1;
}

static int parse_text(struct worker *wk, const struct cols *c, size_t i, int64_t rid, int64_t *a, int32_t *d,
		      double *v, int *vkind)
{
	const char *ta = c->tacct + i * TXT_ACCT, *td = c->tdate + i * TXT_DATE, *tv = c->tval + i * TXT_VAL;

	if (c->ind_a[i] == SQL_NULL_DATA || c->ind_a[i] >= TXT_ACCT || parse_i64(ta, a)) {
		sample(wk, AQ_REJ_BAD_ACCOUNT, rid, c, i);
		return 0;
	}
	if (c->ind_d[i] == SQL_NULL_DATA || c->ind_d[i] >= TXT_DATE || parse_date_text(td, strlen(td), d) ||
	    *d < AQ_DATE_MIN || *d > AQ_DATE_MAX) {
		sample(wk, AQ_REJ_BAD_DATE, rid, c, i);
		return 0;
	}
	if (c->ind_v[i] == SQL_NULL_DATA)
		*vkind = AQ_REJ_NULL;
	else if (c->ind_v[i] >= TXT_VAL || parse_f64(tv, v))
		*vkind = AQ_REJ_NON_NUMERIC;
	return 1;
}

static int parse_typed(struct worker *wk, const struct cols *c, size_t i, int64_t rid, int64_t *a, int32_t *d,
		       double *v, int *vkind)
{
	*a = (int64_t)c->acct[i];
	if (c->ind_a[i] == SQL_NULL_DATA) {
		sample(wk, AQ_REJ_BAD_ACCOUNT, rid, c, i);
		return 0;
	}
	if (c->ind_d[i] == SQL_NULL_DATA ||
	    (!c->days && (c->dates[i].month < 1 || c->dates[i].month > 12 || c->dates[i].day < 1 ||
			  c->dates[i].day > 31))) {
		sample(wk, AQ_REJ_BAD_DATE, rid, c, i);
		return 0;
	}
	*d = c->days ? (int32_t)c->days[i] : aq_date_from_ymd(c->dates[i].year, c->dates[i].month, c->dates[i].day);
	if (*d < AQ_DATE_MIN || *d > AQ_DATE_MAX) {
		sample(wk, AQ_REJ_BAD_DATE, rid, c, i);
		return 0;
	}
	if (c->ind_v[i] == SQL_NULL_DATA)
		*vkind = AQ_REJ_NULL;
	else
		*v = c->vals[i];
	return 1;
}

/* Row i's key and value, a flagged value (NULL, text, NaN, negative) counted and made NaN; 0: row rejected. */
static int parse_row(struct worker *wk, struct cols *c, size_t i, int64_t rid, int64_t *a, int32_t *d, double *v)
{
	int vkind = -1, ok;

	if (c->packed)
		ok = parse_packed(wk, c, i, rid, a, d, v, &vkind);
	else if (c->text)
		ok = parse_text(wk, c, i, rid, a, d, v, &vkind);
	else
		ok = parse_typed(wk, c, i, rid, a, d, v, &vkind);
	if (!ok)
		return 0;
	if (vkind < 0 && !isfinite(*v))
		vkind = AQ_REJ_NAN;
	else if (vkind < 0 && *v < 0)
		vkind = AQ_REJ_NEGATIVE;
	if (vkind >= 0) {
		sample(wk, vkind, rid, c, i);
		*v = NAN;
	}
	return 1;
}

/* What a worker carries from row to row: the pending row in key order, the key sets in RowId order. */
struct rowstate {
	int key_order;
	int have_prev;
	int64_t prev_acct, last_acct;
	int32_t prev_date;
	double prev_val;
	struct keyset ids, keys;
	int count_dups;
};

/* Sorted by (account, date, RowId): the last of a run of equal keys wins; a row goes out when its key is done. */
static int keep_key_order(struct worker *wk, struct rowstate *s, const struct cols *c, size_t i, int64_t rid,
			  int64_t a, int32_t d, double v, struct aq_err *e)
{
	int r;

	if (s->have_prev && s->prev_acct == a && s->prev_date == d) {
		sample(wk, AQ_REJ_DUPLICATE, rid, c, i);
	} else if (s->have_prev && (r = emit(wk, s->prev_date, s->prev_acct, s->prev_val, e))) {
		return r;
	}
	if (a != s->last_acct) {
		wk->accounts++;
		s->last_acct = a;
	}
	s->prev_acct = a;
	s->prev_date = d;
	s->prev_val = v;
	s->have_prev = 1;
	return 0;
}

/* RowId order: the writer keeps the last arrival, i.e. the larger RowId; accounts and duplicates counted in sets. */
static int keep_rowid_order(struct worker *wk, struct rowstate *s, const struct cols *c, size_t i, int64_t rid,
			    int64_t a, int32_t d, double v, struct aq_err *e)
{
	if (keyset_add(&s->ids, a, 0) < 0)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (s->count_dups) {
		int added = s->keys.n < DUP_KEYS_MAX ? keyset_add(&s->keys, a, d) : -1;

		if (added == 0) {
			sample(wk, AQ_REJ_DUPLICATE, rid, c, i);
		} else if (added < 0) {
			s->count_dups = 0;
			keyset_free(&s->keys);
		}
	}
	return emit(wk, d, a, v, e);
}

/* Fetch to the end (or the stop flag, or another worker's failure), every row checked and kept. */
static int fetch_all(struct worker *wk, SQLHSTMT st, struct cols *c, struct rowstate *s, struct aq_err *e)
{
	const struct aq_extract_opts *o = wk->sl->o;
	SQLRETURN rc;
	int r;

	for (;;) {
		if ((o->stop && *o->stop) || atomic_load(&wk->sl->failed))
			return aq_err_set(e, AQ_EINTR, "extraction interrupted");
		rc = SQLFetch(st);
		if (rc == SQL_NO_DATA)
			break;
		if (!OK(rc))
			return aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot fetch from '%s'", o->table);
		wk->rows_read += c->fetched;
		for (size_t i = 0; i < c->fetched; i++) {
			int64_t rid = !c->text || c->ind_r[i] == SQL_NULL_DATA ? -1 : (int64_t)c->rowid[i], a;
			int32_t d;
			double v;

			if (c->status[i] == SQL_ROW_ERROR || c->status[i] == SQL_ROW_NOROW) {
				if (c->status[i] == SQL_ROW_ERROR)
					sample(wk, AQ_REJ_ROW_ERROR, rid, NULL, i);
				continue;
			}
			if (!parse_row(wk, c, i, rid, &a, &d, &v))
				continue;
			r = s->key_order ? keep_key_order(wk, s, c, i, rid, a, d, v, e)
					 : keep_rowid_order(wk, s, c, i, rid, a, d, v, e);
			if (r)
				return r;
		}
		if (o->progress)
			aq_progress_add(o->progress, c->fetched);
	}
	return 0;
}

/* After the last fetch: the pending row out, the shared writer's rows flushed, the counts final. */
static int finish_rows(struct worker *wk, struct rowstate *s, struct aq_err *e)
{
	int r;

	if (s->have_prev && (r = emit(wk, s->prev_date, s->prev_acct, s->prev_val, e)))
		return r;
	if (wk->sl->shared && (r = flush_out(wk, e)))
		return r;
	if (!s->key_order)
		wk->accounts = s->ids.n;
	wk->dups_uncounted = !s->count_dups;
	return 0;
}

/* ---- windows: a slice read in statements of at most W rows ---- */

/*
 * Where a worker is in its windows (W = sl->window; 0: one statement).
 * RowId order: (next, next + W] within (lo, hi]; W RowIds hold at most W
 * rows, and an empty window jumps to the next RowId there is. Key order:
 * AccountOID ranges [a_j, a_{j+1}), a_{j+1} the id W rows past a_j in the
 * table's account index (a probe, window_end), so a window holds at most W
 * rows of the slice; an account with more than W rows is one window.
 */
struct wstate {
	int started, last;
	int64_t next;    /* RowId order: the next window starts above it; key order: at AccountOID >= next */
	uint64_t before; /* rows_read when the window started */
};

/*
 * The first column of a one-row query as an integer: 1, 0 when there is
 * no row or the value is NULL or no integer (a SQLite text id), < 0 on an
 * error. Read as text, since a driver may convert text to 0.
 */
static int query_id(struct aq_odbc *c, const char *sql, const int64_t *params, int np, int64_t *out, struct aq_err *e)
{
	SQLHSTMT st;
	SQLRETURN rc;
	char buf[64];
	SQLLEN ind = 0;
	int r = 0;

	if (!OK(SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &st)))
		return aq_odbc_diag(e, SQL_HANDLE_DBC, c->dbc, "cannot allocate a statement");
	for (int p = 0; p < np && !r; p++)
		if (!OK(SQLBindParameter(st, (SQLUSMALLINT)(p + 1), SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0,
					 (SQLPOINTER)&params[p], 0, NULL)))
			r = aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot bind parameter %d", p + 1);
	if (!r && !OK(SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS)))
		r = aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot execute '%.120s'", sql);
	if (!r && (rc = SQLFetch(st)) != SQL_NO_DATA) {
		if (!OK(rc))
			r = aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot fetch from '%.120s'", sql);
		else if (!OK(SQLGetData(st, 1, SQL_C_CHAR, buf, sizeof(buf), &ind)))
			r = aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot read the result of '%.120s'", sql);
		else if (ind != SQL_NULL_DATA && ind < (SQLLEN)sizeof(buf) && !parse_i64(buf, out))
			r = 1;
	}
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	return r;
}

/*
 * Key order: the AccountOID W rows past `from` (or past the first id when
 * there is no lower bound) in the table's (AccountOID, ConsumptionDate)
 * index, all RowIds and shares counted, so the window [from, end) holds at
 * most W rows of the slice. 1 and *end, 0 when fewer rows are left, < 0 on
 * an error. OFFSET ... FETCH is SQL:2008 (SQL Server 2012+, PostgreSQL);
 * SQLite has LIMIT ... OFFSET. W is written into the statement: psqlODBC
 * without a server cursor inlines parameters as typed literals, which
 * PostgreSQL's grammar does not take after OFFSET ... ROWS.
 */
static int window_end(struct slice *sl, struct aq_odbc *c, int has_from, int64_t from, int64_t *end, struct aq_err *e)
{
	const char *from_cond = has_from ? "AccountOID >= ?" : "AccountOID IS NOT NULL";
	char *sql;
	int r, w;

	if (sl->dialect == AQ_SQL_SQLITE)
		w = asprintf(&sql, "SELECT AccountOID FROM %s WHERE %s ORDER BY AccountOID LIMIT 1 OFFSET %lld",
			     sl->qtable, from_cond, (long long)sl->window);
	else
		w = asprintf(
			&sql,
			"SELECT AccountOID FROM %s WHERE %s ORDER BY AccountOID OFFSET %lld ROWS FETCH NEXT 1 ROWS ONLY",
			sl->qtable, from_cond, (long long)sl->window);
	if (w < 0)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	r = query_id(c, sql, &from, has_from, end, e);
	free(sql);
	return r;
}

/* Key order: the next window's accounts in *cond (the share narrowed); 0 when the share is done. */
static int next_key_window(struct worker *wk, struct aq_odbc *c, const struct acond *share, struct wstate *ws,
			   struct acond *cond, struct aq_err *e)
{
	int has_from = ws->started || share->has_lo, r;
	int64_t from = ws->started ? ws->next : share->lo, end = 0;
	struct aq_err e2 = { 0 };

	if (ws->last)
		return 0;
	*cond = *share;
	if (ws->started) {
		cond->has_lo = 1;
		cond->lo = ws->next;
		cond->with_null = 0;
	}
	ws->started = 1;
	r = window_end(wk->sl, c, has_from, from, &end, &e2);
	if (r < 0 && !atomic_exchange(&wk->sl->probe_warned, 1))
		aq_warn("cannot find where a window ends (%s): reading the rest in one statement", e2.msg);
	if (r <= 0 || (share->has_hi && end >= share->hi) || (has_from && end <= from && from == INT64_MAX)) {
		ws->last = 1; /* to the share's end (open: text ids in SQLite sort after every number) */
		return 1;
	}
	if (has_from && end <= from)
		end = from + 1; /* one account with more than W rows */
	cond->has_hi = 1;
	cond->hi = end;
	ws->next = end;
	return 1;
}

/*
 * The next statement of the worker: its RowId range in p[0..1] and accounts
 * in *cond. 1, or 0 when the slice is done for this worker, < 0 on an error.
 */
static int next_window(struct worker *wk, struct aq_odbc *c, const struct acond *share, struct wstate *ws, int64_t p[2],
		       struct acond *cond, struct aq_err *e)
{
	struct slice *sl = wk->sl;
	int64_t w = sl->window;

	p[0] = sl->lo;
	p[1] = sl->hi;
	ws->before = wk->rows_read;
	if (w <= 0 || sl->order == AQ_ORDER_KEY) {
		if (w > 0)
			return next_key_window(wk, c, share, ws, cond, e);
		*cond = *share;
		return ws->started++ ? 0 : 1;
	}
	*cond = *share;
	if (!ws->started) {
		ws->started = 1;
		ws->next = sl->lo;
	}
	if (ws->next >= sl->hi)
		return 0;
	p[0] = ws->next;
	p[1] = w >= sl->hi - ws->next ? sl->hi : ws->next + w;
	return 1;
}

/* After a window: counted; in RowId order the next starts above it, or at the next RowId there is if it was empty. */
static int window_done(struct worker *wk, struct aq_odbc *c, struct wstate *ws, const int64_t p[2], struct aq_err *e)
{
	struct slice *sl = wk->sl;
	int64_t q[2] = { p[1], sl->hi }, next;
	char *sql;
	int r;

	wk->windows++;
	aq_debug("worker %d: window %llu, RowId in (%lld, %lld], %llu rows", wk->i, (unsigned long long)wk->windows,
		 (long long)p[0], (long long)p[1], (unsigned long long)(wk->rows_read - ws->before));
	if (wk->i == 0 && wk->windows == 1)
		test_pause();
	if (sl->window <= 0 || sl->order == AQ_ORDER_KEY)
		return 0;
	ws->next = p[1];
	if (wk->rows_read > ws->before || p[1] >= sl->hi)
		return 0;
	if (asprintf(&sql, "SELECT MIN(RowId) FROM %s WHERE RowId > ? AND RowId <= ?", sl->qtable) < 0)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	r = query_id(c, sql, q, 2, &next, e);
	free(sql);
	if (r < 0)
		return r;
	ws->next = r ? next - 1 : sl->hi;
	return 0;
}

/* Every window of the worker's share: one statement each, the rows checked and kept across them. */
static int read_windows(struct worker *wk, struct aq_odbc *c, struct cols *cols, struct rowstate *rs, struct aq_err *e)
{
	const struct aq_extract_opts *o = wk->sl->o;
	struct acond share, cond;
	struct wstate ws = { 0 };
	int64_t params[6], p[2];
	int nparams, r;

	worker_share(wk->sl, wk->i, &share);
	while ((r = next_window(wk, c, &share, &ws, p, &cond, e)) > 0) {
		SQLHSTMT st = NULL;
		char *sql = NULL;

		if ((o->stop && *o->stop) || atomic_load(&wk->sl->failed))
			return aq_err_set(e, AQ_EINTR, "extraction interrupted");
		if (!(r = worker_sql(wk->sl, wk->i, &cond, params, &nparams, &sql, e))) {
			params[0] = p[0];
			params[1] = p[1];
			if (!(r = start_query(wk, c, cols, params, nparams, sql, &st, e)))
				r = fetch_all(wk, st, cols, rs, e);
		}
		if (st)
			SQLFreeHandle(SQL_HANDLE_STMT, st);
		free(sql);
		if (r || (r = window_done(wk, c, &ws, p, e)))
			return r;
	}
	return r;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	struct slice *sl = wk->sl;
	const struct aq_extract_opts *o = sl->o;
	size_t n = o->fetch_rows ? o->fetch_rows : 10000;
	struct aq_odbc_opts co = { .fetch_rows = n };
	struct aq_err *e = &wk->err;
	struct aq_odbc own, *c = sl->conn0;
	int r;
	struct rowstate rs = { .key_order = sl->order == AQ_ORDER_KEY, .last_acct = INT64_MIN, .count_dups = 1 };
	struct cols cols;

	memset(&own, 0, sizeof(own));
	memset(&cols, 0, sizeof(cols));
	if (!c && (r = aq_odbc_connect(&own, o->conn, &co, e))) {
		wk->rc = r;
		atomic_store(&sl->failed, 1);
		return NULL;
	}
	if (!c)
		c = &own;
	if (cols_alloc(&cols, sl, n) || (sl->shared && pending_alloc(wk, n)))
		r = aq_err_set(e, AQ_ENOMEM, "out of memory");
	else if (!(r = read_windows(wk, c, &cols, &rs, e)))
		r = finish_rows(wk, &rs, e);
	if (c == &own)
		aq_odbc_release(&own);
	keyset_free(&rs.ids);
	keyset_free(&rs.keys);
	cols_free(&cols);
	pending_free(wk);
	wk->rc = r;
	if (r)
		atomic_store(&sl->failed, 1);
	return NULL;
}

/*
 * Delete (or only count, when del is 0) every file of batch key in every
 * part: the leftovers of a crashed run of that slice.
 */
static int delete_batch(const struct aq_dataset *ds, uint64_t key, int del, uint64_t *deleted, struct aq_err *e)
{
	char prefix[32];
	size_t pl = (size_t)snprintf(prefix, sizeof(prefix), "%020llu-", (unsigned long long)key);

	*deleted = 0;
	for (int p = 0; p < ds->parts; p++) {
		char **paths = NULL;
		int n = 0, r = aq_dataset_list_part(ds, p, &paths, &n, e);

		if (r)
			return r;
		for (int i = 0; i < n; i++) {
			const char *b = strrchr(paths[i], '/');

			b = b ? b + 1 : paths[i];
			if (!strncmp(b, prefix, pl)) {
				if (del && unlink(paths[i]) && errno != ENOENT) {
					r = aq_err_sys(e, "cannot remove '%s'", paths[i]);
					aq_paths_free(paths, n);
					return r;
				}
				(*deleted)++;
			}
		}
		aq_paths_free(paths, n);
		if (del && *deleted) {
			char *dir = aq_dataset_part_dir(ds, p);

			if (dir) {
				aq_fs_fsync_dir(dir, NULL);
				free(dir);
			}
		}
	}
	return 0;
}

/* The bound expressions of the resolved binding: packed falls back to typed where the dialect has none. */
static int slice_exprs(struct slice *sl, struct aq_odbc *c0, char **days_expr, char **packed_expr, struct aq_err *e)
{
	if (sl->bind == AQ_BIND_PACKED) {
		int oom;

		if (!(*packed_expr = aq_odbc_packed_row_expr(c0->dialect, &oom))) {
			if (oom)
				return aq_err_set(e, AQ_ENOMEM, "out of memory");
			aq_warn("no packed row expression for '%s': binding typed columns instead", c0->dbms);
			sl->bind = AQ_BIND_TYPED;
		}
		sl->packed_expr = *packed_expr;
	}
	if (sl->bind == AQ_BIND_TYPED) {
		int oom;

		if (!(*days_expr = aq_odbc_days_expr(c0->dialect, "ConsumptionDate", &oom)) && oom)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		sl->days_expr = *days_expr;
	}
	return 0;
}

/* RANGE split: the AccountOID range, both ends index lookups on (AccountOID, ...), cheap whatever the table size. */
static void slice_account_range(struct slice *sl, struct aq_odbc *c0)
{
	char q[400];
	int n1 = 1, n2 = 1;
	struct aq_err e2;

	snprintf(q, sizeof(q), "SELECT MIN(AccountOID) FROM %s", sl->qtable);
	if (!aq_odbc_query_int64(c0, q, NULL, 0, &sl->amin, &n1, &e2)) {
		snprintf(q, sizeof(q), "SELECT MAX(AccountOID) FROM %s", sl->qtable);
		if (aq_odbc_query_int64(c0, q, NULL, 0, &sl->amax, &n2, &e2))
			n2 = 1;
	}
	if (n1 || n2 || sl->amax < sl->amin) {
		aq_warn("no usable AccountOID range in '%s': splitting by AccountOID %% %d instead", sl->o->table,
			sl->k);
		sl->split = AQ_SPLIT_MODULO;
	}
}

/* The writers: one per reader, or one (moved into the only reader, or shared by the K readers). */
static int slice_writers(struct slice *sl, struct worker *wks, struct aq_readings_writer *shared, int nwriters,
			 const char *label, const struct aq_readings_writer_opts *wo, struct aq_err *e)
{
	int k = sl->k, r;

	if (nwriters == 1) {
		if ((r = aq_readings_writer_open(shared, sl->ds, sl->key, label, wo, e)))
			return r;
		if (k > 1)
			sl->shared = shared;
	}
	for (int i = 0; i < k; i++) {
		wks[i].sl = sl;
		wks[i].i = i;
		if (nwriters > 1) {
			char l2[96];

			snprintf(l2, sizeof(l2), "%s-t%dof%d", label, i, k);
			if ((r = aq_readings_writer_open(&wks[i].w, sl->ds, sl->key, l2, wo, e)))
				return r;
			wks[i].w_open = 1;
		} else if (k == 1) {
			wks[i].w = *shared; /* moved: the worker adds to it directly */
			wks[i].w_open = 1;
		}
	}
	return 0;
}

/* The readers: the only one on this thread, or K threads; the first worker's error is the slice's. */
static int slice_read(struct slice *sl, struct worker *wks, pthread_t *th, struct aq_err *e)
{
	int k = sl->k, r = 0;

	if (k == 1) {
		worker_main(&wks[0]);
	} else {
		int started = 0;

		for (; started < k; started++) {
			if (pthread_create(&th[started], NULL, worker_main, &wks[started])) {
				atomic_store(&sl->failed, 1);
				r = aq_err_sys(e, "cannot start a worker thread");
				break;
			}
		}
		for (int i = 0; i < started; i++)
			pthread_join(th[i], NULL);
		if (r)
			return r;
	}
	for (int i = 0; i < k; i++) {
		if (wks[i].rc && !r) {
			r = wks[i].rc;
			if (e)
				*e = wks[i].err;
		}
	}
	return r;
}

/* Commit: every part file of every writer made durable. */
static int slice_commit(struct slice *sl, struct worker *wks, struct aq_readings_writer *shared, struct aq_err *e)
{
	int r;

	for (int i = 0; i < sl->k; i++) {
		if (wks[i].w_open) {
			wks[i].w_open = 0;
			if ((r = aq_readings_writer_close(&wks[i].w, e)))
				return r;
		}
	}
	if (sl->shared) {
		sl->shared = NULL;
		if ((r = aq_readings_writer_close(shared, e)))
			return r;
	}
	return 0;
}

/* The committed slice's counts added to the run's. */
static void slice_count(const struct slice *sl, const struct worker *wks, struct aq_extract_stats *st)
{
	uint64_t nf = 0;

	for (int i = 0; i < sl->k; i++) {
		st->rows_read += wks[i].rows_read;
		st->rows += wks[i].rows;
		st->accounts += wks[i].accounts;
		for (int j = 0; j < AQ_REJ_KINDS; j++)
			st->rejected[j] += wks[i].rejected[j];
		if (wks[i].dups_uncounted)
			st->dup_counted = 0;
		st->windows += wks[i].windows;
	}
	st->slices++;
	if (!delete_batch(sl->ds, sl->key, 0, &nf, NULL))
		st->files += nf;
}

/*
 * Rows per statement: --window-rows, or by default AQ_EXTRACT_WINDOW_ROWS
 * unless the driver streams a result as it is fetched (one statement then,
 * no window probes: each costs the server about half the read of its
 * window in key order). Streaming: SQL Server's drivers (a default result
 * set comes off the TDS stream row by row) and psqlODBC through a server
 * cursor (UseDeclareFetch=1, which aq_odbc_connect adds unless the
 * connection string sets it). Every other driver may hold a whole result:
 * sqliteodbc does, psqlODBC with UseDeclareFetch=0 does, MySQL's without
 * NO_CACHE does.
 */
static int64_t window_rows(const struct aq_extract_opts *o, const struct aq_odbc *c)
{
	int streams = c->dialect == AQ_SQL_MSSQL ||
		      (c->psqlodbc && c->redacted && strcasestr(c->redacted, "UseDeclareFetch=1"));

	if (o->window_rows)
		return o->window_rows < 0 ? 0 : o->window_rows;
	return streams ? 0 : AQ_EXTRACT_WINDOW_ROWS;
}

static int run_slice(const struct aq_extract_opts *o, struct aq_odbc *c0, const struct aq_dataset *ds, const char *qtable,
		     enum aq_extract_bind bind, int64_t lo, int64_t hi, uint64_t key, struct aq_extract_stats *st,
		     struct aq_err *e)
{
	int k = o->parallel > 0 ? o->parallel : 1, r = 0, nwriters; /* resolved by aq_extract_run */
	size_t budget = o->max_buffer_bytes ? o->max_buffer_bytes : (size_t)96 << 20;
	struct aq_readings_writer_opts wo = { 0 };
	struct aq_readings_writer shared;
	struct worker *wks = NULL;
	pthread_t *th = NULL;
	struct slice sl = { .o = o, .ds = ds, .lo = lo, .hi = hi, .key = key, .k = k, .bind = bind };
	char label[64], *days_expr = NULL, *packed_expr = NULL;

	sl.qtable = qtable;
	sl.split = o->split;
	sl.conn0 = k == 1 ? c0 : NULL;
	sl.dialect = c0->dialect;
	sl.window = window_rows(o, c0);
	if ((r = slice_exprs(&sl, c0, &days_expr, &packed_expr, e))) {
		free(days_expr);
		free(packed_expr);
		return r;
	}
	pthread_mutex_init(&sl.lock, NULL);
	/*
	 * AUTO: a slice from the start is read in key order (the writer then
	 * streams without sorting); a later slice by RowId, a range seek on the
	 * primary key, where key order would scan the whole account index.
	 */
	sl.order = o->order != AQ_ORDER_AUTO ? o->order : lo == 0 ? AQ_ORDER_KEY : AQ_ORDER_ROWID;
	if (k > 1 && sl.split == AQ_SPLIT_RANGE)
		slice_account_range(&sl, c0);
	if (sl.window)
		aq_debug("slice (%lld, %lld], key %llu, %d reader(s), windows of %lld rows", (long long)lo,
			 (long long)hi, (unsigned long long)key, k, (long long)sl.window);
	else
		aq_debug("slice (%lld, %lld], key %llu, %d reader(s), one statement each", (long long)lo, (long long)hi,
			 (unsigned long long)key, k);
	wks = calloc((size_t)k, sizeof(*wks));
	th = calloc((size_t)k, sizeof(*th));
	if (!wks || !th) {
		r = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto out;
	}
	nwriters = k > 1 && !o->shared_writer ? k : 1;
	wo.max_buffer_bytes = budget / (size_t)nwriters;
	snprintf(label, sizeof(label), "odbc-%lld-%lld", (long long)lo, (long long)hi);
	if (!(r = slice_writers(&sl, wks, &shared, nwriters, label, &wo, e)) && !(r = slice_read(&sl, wks, th, e)) &&
	    !(r = slice_commit(&sl, wks, &shared, e)))
		slice_count(&sl, wks, st);
	if (r) {
		for (int i = 0; i < k; i++)
			if (wks[i].w_open)
				aq_readings_writer_abort(&wks[i].w);
		if (sl.shared)
			aq_readings_writer_abort(&shared);
	}
out:
	pthread_mutex_destroy(&sl.lock);
	free(days_expr);
	free(packed_expr);
	free(wks);
	free(th);
	return r;
}

/* What one extract run holds: the dataset, its state file and lock, the connection, the resolved options. */
struct xrun {
	const struct aq_extract_opts *o;
	struct aq_extract_opts oo; /* o with --parallel auto resolved */
	struct aq_dataset ds;
	struct aq_odbc c;
	struct state s;
	char *sdir, *spath, *lpath, *qtable;
	enum aq_extract_bind bind;
	int lockfd, connected;
};

static int extract_check_opts(const struct aq_extract_opts *o, struct aq_err *e)
{
	int r;

	if (!o->conn || !o->table || !o->out)
		return aq_err_set(e, AQ_EINVAL, "extract needs a connection, a table and an output dataset");
	if ((r = aq_odbc_check_ident(o->table, e)))
		return r;
	if (o->overlap < 0)
		return aq_err_set(e, AQ_EINVAL, "bad overlap %lld (0 or more RowIds)", (long long)o->overlap);
	if (o->parallel < 0 || o->parallel > 64)
		return aq_err_set(e, AQ_EINVAL, "bad parallelism %d (1..64)", o->parallel);
	/* before anything is created: a missing SQLite file is an error, not a new empty database */
	return aq_odbc_check_exists(o->conn, e);
}

/* Dataset: open it if it exists (it keeps its P), else create with P. */
static int extract_dataset(const struct aq_extract_opts *o, struct aq_dataset *ds, struct aq_err *e)
{
	char *dsjson = aq_path_join(o->out, "_dataset.json");
	int r;

	if (!dsjson)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (!access(dsjson, F_OK))
		r = aq_dataset_open(ds, o->out, e);
	else
		r = aq_dataset_create(ds, o->out, "readings", o->parts > 0 ? o->parts : 32, e);
	free(dsjson);
	return r;
}

/* A readings dataset, locked for this run (one extractor per dataset at a time), and its state (the watermark). */
static int extract_lock_state(struct xrun *x, struct aq_extract_stats *st, struct aq_err *e)
{
	const struct aq_extract_opts *o = x->o;
	int r;

	if (strcmp(x->ds.kind, "readings"))
		return aq_err_set(e, AQ_EINVAL, "dataset '%s' holds '%s', not readings", o->out, x->ds.kind);
	if (o->parts > 0 && o->parts != x->ds.parts)
		aq_warn("dataset '%s' exists with %d parts; --parts %d ignored", o->out, x->ds.parts, o->parts);
	x->sdir = aq_path_join(o->out, "_state");
	x->spath = x->sdir ? aq_path_join(x->sdir, "extract.json") : NULL;
	x->lpath = x->sdir ? aq_path_join(x->sdir, "extract.lock") : NULL;
	if (!x->spath || !x->lpath)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	if ((r = aq_fs_mkdir_p(x->sdir, e)))
		return r;
	x->lockfd = open(x->lpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (x->lockfd < 0)
		return aq_err_sys(e, "cannot open '%s'", x->lpath);
	if (flock(x->lockfd, LOCK_EX | LOCK_NB))
		return aq_err_set(e, AQ_ESTATE, "dataset '%s' is being extracted into by another process", o->out);
	if ((r = state_read(x->spath, &x->s, e)))
		return r;
	if (x->s.table[0] && strcmp(x->s.table, o->table))
		aq_warn("dataset '%s' was extracted from '%s', now from '%s'", o->out, x->s.table, o->table);
	snprintf(x->s.table, sizeof(x->s.table), "%s", o->table);
	st->watermark_from = st->watermark = x->s.watermark;
	return 0;
}

/* The connection; the binding and the parallelism resolved for its DBMS; the table's quoted name. */
static int extract_connect(struct xrun *x, struct aq_extract_stats *st, struct aq_err *e)
{
	struct aq_odbc_opts co = { .fetch_rows = x->o->fetch_rows, .must_exist = 1 };
	int r;

	if ((r = aq_odbc_connect(&x->c, x->o->conn, &co, e)))
		return r;
	x->connected = 1;
	snprintf(st->dbms, sizeof(st->dbms), "%s", x->c.dbms);
	if (x->bind == AQ_BIND_AUTO)
		x->bind = x->c.dialect == AQ_SQL_SQLITE ? AQ_BIND_TEXT : AQ_BIND_TYPED;
	if (x->o->parallel == 0) {
		/*
		 * Auto: two connections to a database server on 2+ CPUs. One
		 * connection alternates (server produces a batch, the driver
		 * converts it); two overlap the halves: 19.7M rows from
		 * PostgreSQL on loopback, 25-33 s instead of 35-40 s (load 3).
		 * SQLite runs in-process: nothing to overlap.
		 */
		x->oo = *x->o;
		x->oo.parallel = x->c.dialect != AQ_SQL_SQLITE && sysconf(_SC_NPROCESSORS_ONLN) >= 2 ? 2 : 1;
		x->o = &x->oo;
	}
	st->parallel = x->o->parallel;
	return aq_odbc_table_name(&x->c, x->o->table, &x->qtable, e);
}

/* The slice of an interrupted run, redone first: its files removed, read again, the watermark moved to its end. */
static int extract_resume(struct xrun *x, struct aq_extract_stats *st, struct aq_err *e)
{
	struct state *s = &x->s;
	uint64_t del = 0;
	int r;

	aq_info("redoing the slice (%lld, %lld] of an interrupted run (batch key %llu)", (long long)s->lo,
		(long long)s->hi, (unsigned long long)s->key);
	if ((r = delete_batch(&x->ds, s->key, 1, &del, e)))
		return r;
	if (del)
		aq_info("removed %llu file(s) of the interrupted batch", (unsigned long long)del);
	if ((r = run_slice(x->o, &x->c, &x->ds, x->qtable, x->bind, s->lo, s->hi, s->key, st, e)))
		return r;
	st->resumed = 1;
	s->pending = 0;
	s->watermark = s->hi;
	if ((r = state_write(x->spath, s, e)))
		return r;
	st->watermark = s->watermark;
	return 0;
}

/* The new rows (watermark, MAX(RowId)] as one slice (full: (0, MAX]): pending in the state, read, committed. */
static int extract_new_rows(struct xrun *x, struct aq_extract_stats *st, struct aq_err *e)
{
	const struct aq_extract_opts *o = x->o;
	struct state *s = &x->s;
	char q[400];
	int64_t hi;
	int r, isnull;

	snprintf(q, sizeof(q), "SELECT MAX(RowId) FROM %s", x->qtable);
	if ((r = aq_odbc_query_int64(&x->c, q, NULL, 0, &hi, &isnull, e)))
		return r;
	int64_t lo = o->mode == AQ_EXTRACT_FULL ? 0 : s->watermark;

	if (o->mode != AQ_EXTRACT_FULL && o->overlap > 0)
		lo = o->overlap < lo ? lo - o->overlap : 0;
	st->read_from = lo;

	/* A resumed full slice already covered (0, hi]. */
	if (st->resumed && o->mode == AQ_EXTRACT_FULL && s->lo == 0 && s->hi >= hi)
		lo = hi;
	if (hi < s->watermark)
		aq_warn("MAX(RowId) %lld is below the watermark %lld: rows deleted or table recreated?", (long long)hi,
			(long long)s->watermark);
	/*
	 * Only rows above the watermark start a slice: an overlap alone
	 * re-reads nothing (no batch per idle run, and a rerun after a
	 * crash ends with the same batches as an uninterrupted run).
	 */
	if (!(hi > lo && hi > (o->mode == AQ_EXTRACT_FULL ? lo : s->watermark))) {
		aq_info("nothing new: MAX(RowId) %lld, watermark %lld", (long long)hi, (long long)s->watermark);
		return 0;
	}
	s->pending = 1;
	s->lo = lo;
	s->hi = hi;
	s->key = aq_dataset_next_key(&x->ds);
	if ((r = state_write(x->spath, s, e)))
		return r;
	failpoint("pending", 0);
	if ((r = run_slice(o, &x->c, &x->ds, x->qtable, x->bind, lo, hi, s->key, st, e)))
		return r;
	failpoint("closed", 0);
	s->pending = 0;
	s->watermark = hi;
	if ((r = state_write(x->spath, s, e)))
		return r;
	st->watermark = hi;
	return 0;
}

int aq_extract_run(const struct aq_extract_opts *o, struct aq_extract_stats *st, struct aq_err *e)
{
	struct xrun x = { .o = o, .bind = o->bind, .lockfd = -1 };
	double t0 = aq_now();
	int r;

	memset(st, 0, sizeof(*st));
	st->dup_counted = 1;
	if ((r = extract_check_opts(o, e)) || (r = extract_dataset(o, &x.ds, e)))
		return r;
	if ((r = extract_lock_state(&x, st, e)) || (r = extract_connect(&x, st, e)))
		goto out;
	aq_info("extracting '%s' from %s (%s) into '%s' (%d parts), mode %s, watermark %lld", o->table, x.c.dbms,
		x.c.redacted, o->out, x.ds.parts, o->mode == AQ_EXTRACT_FULL ? "full" : "incremental",
		(long long)x.s.watermark);
	if (x.s.pending && (r = extract_resume(&x, st, e)))
		goto out;
	r = extract_new_rows(&x, st, e);
out:
	st->seconds = aq_now() - t0;
	if (x.connected)
		aq_odbc_release(&x.c);
	if (x.lockfd >= 0)
		close(x.lockfd);
	if (r && x.ds.root && aq_dataset_discard_unused(&x.ds))
		aq_info("removed '%s': created by this run, which failed before writing a batch", o->out);
	if (x.ds.root)
		aq_dataset_release(&x.ds);
	free(x.qtable);
	free(x.sdir);
	free(x.spath);
	free(x.lpath);
	return r;
}
