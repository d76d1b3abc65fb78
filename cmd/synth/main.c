/* main.c — aquacast-synth: synthetic daily consumption of N accounts to CSV, shards and/or a database. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "date.h"
#include "err.h"
#include "fs.h"
#include "log.h"
#include "odbc.h"
#include "shard.h"
#include "synth.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: aquacast-synth [options] (--csv FILE|- | --out DATASET | --odbc CONNSTR)...\n"
		"Synthetic daily water consumption of a utility's accounts (see lib/synth.h for the model).\n"
		"\n"
		"  --accounts N        accounts (default 27000); AccountOIDs 7 digits from 3000000\n"
		"  --days D            calendar length in days (default 730)\n"
		"  --start DATE        first calendar day (default 2022-04-01)\n"
		"  --seed S            seed (default 1); the same seed gives the same data\n"
		"  --from-day X        first day to emit: an offset 0..D-1 or a date (default 0)\n"
		"  --to-day Y          day after the last to emit: an offset or a date (default D)\n"
		"  --csv FILE|-        write ConsumptionDate,AccountOID,Consumption rows, day by day\n"
		"  --out DATASET       write a readings shard dataset (created if missing)\n"
		"  --parts P           parts of a new dataset (default 64)\n"
		"  --odbc CONNSTR      bulk-insert the rows, day by day, over ODBC\n"
		"  --table NAME        target table (default PORTAL.ConsumptionDaily)\n"
		"  --schema DIR        first run DIR/<dialect>/*.sql (e.g. sql) to create the table\n"
		"  --batch N           rows per ODBC parameter array and transaction (default 5000)\n"
		"  --truth FILE        write the planted events (leaks, vacations, faults, ...) as CSV\n"
		"  --threads T         generator threads (default: online CPUs)\n"
		"  --account-range A:B only account indexes A..B-1 of the N (identical to the same\n"
		"                      accounts of a full run: split a big run over processes)\n"
		"  --from-csv FILE|-   no generation: read readings from a CSV (strict lib/csv reader,\n"
		"                      e.g. DAIAD's daily.csv) and write them to --out and/or --odbc\n"
		"  --max-bad N         with --from-csv: bad rows tolerated (reported by line; default 0)\n"
		"  -h, --help          this help\n"
		"\n"
		"The last stdout line is a JSON summary: {\"accounts\":..,\"rows\":..,\"seconds\":..,\"rows_per_s\":..}.\n"
		"With --csv - the rows go to stdout before it.\n");
}

struct cfg {
	struct aq_synth_opts so;
	const char *from_s, *to_s, *csv, *out, *odbc, *table, *schema, *truth, *from_csv;
	uint64_t max_bad;
	int parts, threads;
	size_t batch;
	int64_t a0, a1;     /* account indexes [a0, a1) of --account-range */
	int32_t from, to;   /* window [from, to) as offsets */
};

struct gen {
	const struct cfg *c;
	int32_t *mat;               /* accounts × W milli-m³ */
	int32_t W;
	_Atomic int64_t next;
	struct aq_progress prog;
	struct aq_synth_events *ev; /* one list per thread */
	int *rc;
	struct aq_err *err;
};

struct worker {
	struct gen *g;
	int id;
};

#define BLOCK 64

static void *gen_thread(void *arg)
{
	struct worker *w = arg;
	struct gen *g = w->g;
	const struct cfg *c = g->c;
	int32_t *series = malloc((size_t)c->so.days * sizeof(*series));
	struct aq_synth_events *ev = c->truth ? &g->ev[w->id] : NULL;

	if (!series) {
		g->rc[w->id] = aq_err_set(&g->err[w->id], AQ_ENOMEM, "cannot allocate a series");
		return NULL;
	}
	for (;;) {
		int64_t i0 = atomic_fetch_add(&g->next, BLOCK), i1 = i0 + BLOCK;

		if (i0 >= c->a1)
			break;
		if (i1 > c->a1)
			i1 = c->a1;
		for (int64_t i = i0; i < i1; i++) {
			int rc = aq_synth_account(&c->so, i, series, ev, &g->err[w->id]);

			if (rc) {
				g->rc[w->id] = rc;
				free(series);
				return NULL;
			}
			memcpy(g->mat + (size_t)(i - c->a0) * (size_t)g->W, series + c->from, (size_t)g->W * sizeof(*series));
		}
		aq_progress_add(&g->prog, (uint64_t)(i1 - i0));
	}
	free(series);
	return NULL;
}

/* "123" (an offset) or "YYYY-MM-DD" (a date) → offset from the start. */
static int parse_day(const char *s, const struct aq_synth_opts *o, int32_t *out, struct aq_err *e)
{
	char *end;
	long v;

	if (strlen(s) == 10 && s[4] == '-') {
		int32_t d;
		int rc = aq_date_parse(s, 10, &d, e);

		if (rc)
			return rc;
		*out = d - o->start;
		return 0;
	}
	v = strtol(s, &end, 10);
	if (!*s || *end || v < 0 || v > 1000000)
		return aq_err_set(e, AQ_EINVAL, "bad day '%s' (want an offset or YYYY-MM-DD)", s);
	*out = (int32_t)v;
	return 0;
}

/* Milli-m³ → shortest decimal with at least one fractional digit ("0.0", "1.127", "0.35"). */
static size_t fmt_milli(char *p, int32_t k)
{
	char tmp[16];
	size_t n = 0, len = 0;
	int64_t v = k;
	int frac;

	if (v < 0) {
		p[len++] = '-';
		v = -v;
	}
	frac = (int)(v % 1000);
	v /= 1000;
	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		p[len++] = tmp[--n];
	p[len++] = '.';
	p[len++] = (char)('0' + frac / 100);
	if (frac % 100) {
		p[len++] = (char)('0' + frac / 10 % 10);
		if (frac % 10)
			p[len++] = (char)('0' + frac % 10);
	}
	return len;
}

static size_t fmt_int(char *p, int64_t v)
{
	char tmp[24];
	size_t n = 0, len = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		p[len++] = tmp[--n];
	return len;
}

struct sink {
	FILE *fp;               /* stdout */
	struct aq_afile af;     /* or an atomic file */
	int use_af;
	char *buf;
	size_t len, cap;
};

static int sink_flush(struct sink *s, struct aq_err *e)
{
	int rc = 0;

	if (!s->len)
		return 0;
	if (s->use_af)
		rc = aq_afile_write(&s->af, s->buf, s->len, e);
	else if (fwrite(s->buf, 1, s->len, s->fp) != s->len)
		rc = aq_err_sys(e, "cannot write to stdout");
	s->len = 0;
	return rc;
}

static int sink_open(struct sink *s, const char *path, struct aq_err *e)
{
	memset(s, 0, sizeof(*s));
	s->cap = 1 << 20;
	if (!(s->buf = malloc(s->cap)))
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate an output buffer");
	if (!strcmp(path, "-")) {
		s->fp = stdout;
		return 0;
	}
	s->use_af = 1;
	return aq_afile_open(&s->af, path, e);
}

static int sink_close(struct sink *s, int ok, struct aq_err *e)
{
	int rc = ok ? sink_flush(s, e) : 0;

	free(s->buf);
	if (s->use_af) {
		if (ok && !rc)
			return aq_afile_commit(&s->af, e);
		aq_afile_abort(&s->af);
		return rc;
	}
	if (ok && !rc && fflush(s->fp))
		rc = aq_err_sys(e, "cannot write to stdout");
	return rc;
}

static int write_csv(const struct cfg *c, const struct gen *g, uint64_t *rows, struct aq_err *e)
{
	struct sink s;
	int rc;
	char date[AQ_DATE_STRLEN];
	static const char header[] = "ConsumptionDate,AccountOID,Consumption\n";

	if ((rc = sink_open(&s, c->csv, e))) {
		free(s.buf);
		return rc;
	}
	memcpy(s.buf, header, sizeof(header) - 1);
	s.len = sizeof(header) - 1;
	for (int32_t d = 0; d < g->W; d++) {
		aq_date_format(c->so.start + c->from + d, date);
		for (int64_t i = c->a0; i < c->a1; i++) {
			int32_t v = g->mat[(size_t)(i - c->a0) * (size_t)g->W + (size_t)d];
			char *p;

			if (v == AQ_SYNTH_ABSENT)
				continue;
			if (s.cap - s.len < 64 && (rc = sink_flush(&s, e)))
				goto out;
			p = s.buf + s.len;
			memcpy(p, date, 10);
			p[10] = ',';
			p += 11;
			p += fmt_int(p, aq_synth_oid(i));
			*p++ = ',';
			if (v != AQ_SYNTH_NAN)
				p += fmt_milli(p, v);
			*p++ = '\n';
			s.len = (size_t)(p - s.buf);
			(*rows)++;
		}
	}
out:
	{
		int rc2 = sink_close(&s, rc == 0, e);

		return rc ? rc : rc2;
	}
}

static double milli_value(int32_t v) { return v == AQ_SYNTH_NAN ? NAN : v / 1000.0; }

struct shard_job {
	const struct cfg *c;
	const struct gen *g;
	const struct aq_dataset *ds;
	const int64_t *order;    /* account indexes grouped by part */
	const int64_t *pstart;   /* parts + 1 offsets into order */
	uint64_t key;
	int first, step;         /* parts first, first + step, ... */
	uint64_t rows;
	int rc;
	struct aq_err err;
};

/* One writer per thread over a disjoint set of parts, fed part by part (rows arrive sorted). */
static void *shard_thread(void *arg)
{
	struct shard_job *j = arg;
	struct aq_readings_writer w;
	const int32_t W = j->g->W;

	if ((j->rc = aq_readings_writer_open(&w, j->ds, j->key, "synth", NULL, &j->err)))
		return NULL;
	for (int part = j->first; part < j->ds->parts && !j->rc; part += j->step) {
		for (int64_t k = j->pstart[part]; k < j->pstart[part + 1] && !j->rc; k++) {
			int64_t i = j->order[k], oid = aq_synth_oid(i);
			const int32_t *row = j->g->mat + (size_t)(i - j->c->a0) * (size_t)W;

			for (int32_t d = 0; d < W; d++) {
				if (row[d] == AQ_SYNTH_ABSENT)
					continue;
				if ((j->rc = aq_readings_writer_add(&w, j->c->so.start + j->c->from + d, oid,
								    milli_value(row[d]), &j->err)))
					break;
				j->rows++;
			}
		}
	}
	if (j->rc)
		aq_readings_writer_abort(&w);
	else
		j->rc = aq_readings_writer_close(&w, &j->err);
	return NULL;
}

static int write_shards(const struct cfg *c, const struct gen *g, int nthreads, uint64_t *rows, struct aq_err *e)
{
	struct aq_dataset ds;
	int64_t *order = NULL, *pstart = NULL, *fill = NULL;
	struct shard_job *jobs = NULL;
	pthread_t *th = NULL;
	uint64_t key;
	int rc, started = 0;

	if ((rc = aq_dataset_create(&ds, c->out, "readings", c->parts, e)))
		return rc;
	if (nthreads > ds.parts)
		nthreads = ds.parts;
	order = malloc((size_t)(c->a1 - c->a0) * sizeof(*order));
	pstart = calloc((size_t)ds.parts + 1, sizeof(*pstart));
	fill = calloc((size_t)ds.parts, sizeof(*fill));
	jobs = calloc((size_t)nthreads, sizeof(*jobs));
	th = calloc((size_t)nthreads, sizeof(*th));
	if (!order || !pstart || !fill || !jobs || !th) {
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate the part index");
		goto out;
	}
	/* Counting sort of account indexes by part. */
	for (int64_t i = c->a0; i < c->a1; i++)
		pstart[aq_part_of(aq_synth_oid(i), ds.parts) + 1]++;
	for (int p = 0; p < ds.parts; p++)
		pstart[p + 1] += pstart[p];
	for (int64_t i = c->a0; i < c->a1; i++) {
		int p = aq_part_of(aq_synth_oid(i), ds.parts);

		order[pstart[p] + fill[p]++] = i;
	}
	key = aq_dataset_next_key(&ds);
	for (int t = 0; t < nthreads; t++) {
		jobs[t] = (struct shard_job){ .c = c, .g = g, .ds = &ds, .order = order, .pstart = pstart,
					      .key = key, .first = t, .step = nthreads };
		if (pthread_create(&th[t], NULL, shard_thread, &jobs[t])) {
			rc = aq_err_set(e, AQ_EIO, "cannot start a writer thread");
			break;
		}
		started++;
	}
	for (int t = 0; t < started; t++) {
		pthread_join(th[t], NULL);
		*rows += jobs[t].rows;
		if (jobs[t].rc && !rc) {
			rc = jobs[t].rc;
			*e = jobs[t].err;
		}
	}
out:
	free(order);
	free(pstart);
	free(fill);
	free(jobs);
	free(th);
	aq_dataset_release(&ds);
	return rc;
}

static int write_odbc(const struct cfg *c, const struct gen *g, uint64_t *rows, struct aq_err *e)
{
	struct aq_odbc db;
	struct aq_readings r;
	int rc;

	aq_readings_init(&r);
	if ((rc = aq_odbc_connect(&db, c->odbc, NULL, e)))
		return rc;
	if (c->schema && (rc = aq_odbc_create_schema(&db, c->schema, e)))
		goto out;
	/* Day by day, as the utility's feed arrives: RowId grows with the date. */
	for (int32_t d = 0; d < g->W && !rc; d++) {
		for (int64_t i = c->a0; i < c->a1; i++) {
			int32_t v = g->mat[(size_t)(i - c->a0) * (size_t)g->W + (size_t)d];

			if (v == AQ_SYNTH_ABSENT)
				continue;
			if ((rc = aq_readings_push(&r, c->so.start + c->from + d, aq_synth_oid(i), milli_value(v), e)))
				break;
		}
	}
	if (!rc)
		rc = aq_odbc_load_readings(&db, c->table, &r, c->batch, e);
	if (!rc)
		*rows = r.n;
out:
	aq_readings_release(&r);
	aq_odbc_release(&db);
	return rc;
}

static int cmp_event(const void *a, const void *b)
{
	const struct aq_synth_event *x = a, *y = b;

	if (x->account != y->account)
		return x->account < y->account ? -1 : 1;
	if (x->start != y->start)
		return x->start < y->start ? -1 : 1;
	return (int)x->kind - (int)y->kind;
}

static int write_truth(const struct cfg *c, struct gen *g, int nthreads, uint64_t *nev, struct aq_err *e)
{
	struct aq_synth_events all;
	struct sink s;
	int rc;

	aq_synth_events_init(&all);
	for (int t = 0; t < nthreads; t++)
		all.n += g->ev[t].n;
	if (!(all.ev = malloc((all.n ? all.n : 1) * sizeof(*all.ev))))
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate the event list");
	all.n = 0;
	for (int t = 0; t < nthreads; t++) {
		memcpy(all.ev + all.n, g->ev[t].ev, g->ev[t].n * sizeof(*all.ev));
		all.n += g->ev[t].n;
	}
	qsort(all.ev, all.n, sizeof(*all.ev), cmp_event);
	if ((rc = sink_open(&s, c->truth, e))) {
		free(s.buf);
		goto out;
	}
	s.len = (size_t)snprintf(s.buf, s.cap, "AccountOID,Event,StartDate,EndDate,Size\n");
	for (size_t k = 0; k < all.n && !rc; k++) {
		const struct aq_synth_event *v = &all.ev[k];
		char d1[AQ_DATE_STRLEN], d2[AQ_DATE_STRLEN], size[32] = "";

		if (s.cap - s.len < 128 && (rc = sink_flush(&s, e)))
			break;
		if (v->kind == AQ_SYNTH_LEAK || v->kind == AQ_SYNTH_SPIKE || v->kind == AQ_SYNTH_NEGATIVE)
			snprintf(size, sizeof(size), "%.3f", v->size);
		s.len += (size_t)snprintf(s.buf + s.len, s.cap - s.len, "%lld,%s,%s,%s,%s\n", (long long)v->account,
					  aq_synth_kind_name(v->kind), aq_date_format(v->start, d1),
					  aq_date_format(v->end, d2), size);
	}
	*nev = all.n;
	{
		int rc2 = sink_close(&s, rc == 0, e);

		if (!rc)
			rc = rc2;
	}
out:
	aq_synth_events_release(&all);
	return rc;
}

static void log_bad(void *ctx, uint64_t line, const char *why)
{
	uint64_t *n = ctx;

	if ((*n)++ < 10)
		aq_warn("bad csv row at line %llu: %s", (unsigned long long)line, why);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return x < y ? -1 : x > y;
}

/* Distinct account ids seen so far: appended on change, sorted and made unique when the list doubles. */
struct acct_set {
	int64_t *v;
	size_t n, cap, uniq;
};

static void acct_compact(struct acct_set *a)
{
	size_t k = 0;

	if (!a->n)
		return;
	qsort(a->v, a->n, sizeof(*a->v), cmp_i64);
	for (size_t i = 0; i < a->n; i++)
		if (i == 0 || a->v[i] != a->v[i - 1])
			a->v[k++] = a->v[i];
	a->n = a->uniq = k;
}

static int acct_add_chunk(struct acct_set *a, const struct aq_readings *r, struct aq_err *e)
{
	for (size_t i = 0; i < r->n; i++) {
		if (i && r->account[i] == r->account[i - 1])
			continue;
		if (a->n == a->cap) {
			if (a->n >= 2 * a->uniq + 65536) {
				acct_compact(a);
				if (a->n < a->cap / 2)
					goto push;
			}
			{
				size_t ncap = a->cap ? 2 * a->cap : 65536;
				int64_t *nv = realloc(a->v, ncap * sizeof(*nv));

				if (!nv)
					return aq_err_set(e, AQ_ENOMEM, "cannot grow the account list");
				a->v = nv;
				a->cap = ncap;
			}
		}
push:
		a->v[a->n++] = r->account[i];
	}
	return 0;
}

struct import_ctx {
	struct aq_readings_writer *w;
	struct aq_readings *all;    /* for --odbc: every row, loaded after a clean read */
	struct acct_set accts;
	uint64_t rows;
};

static int import_chunk(void *ctx, const struct aq_readings *r, struct aq_err *e)
{
	struct import_ctx *x = ctx;
	int rc;

	if ((rc = acct_add_chunk(&x->accts, r, e)))
		return rc;
	for (size_t k = 0; k < r->n && x->w; k++)
		if ((rc = aq_readings_writer_add(x->w, r->date[k], r->account[k], r->value[k], e)))
			return rc;
	for (size_t k = 0; k < r->n && x->all; k++)
		if ((rc = aq_readings_push(x->all, r->date[k], r->account[k], r->value[k], e)))
			return rc;
	x->rows += r->n;
	return 0;
}

/*
 * --from-csv: real readings (e.g. DAIAD) through the strict reader. Shards are
 * written while reading (files appear only at close, so a bad row leaves none);
 * the database gets the rows only after the whole file read cleanly.
 */
static int import_csv(const struct cfg *c)
{
	struct aq_readings all;
	struct aq_csv_stats st = { 0 };
	struct aq_err e = { 0 };
	uint64_t nbad_logged = 0, rows_shard = 0, rows_db = 0;
	struct aq_csv_opts o = { .max_bad = c->max_bad, .count_dups = 1, .on_bad = log_bad,
				 .on_bad_ctx = &nbad_logged };
	double t0 = aq_now(), secs;
	int64_t naccounts = 0;
	int rc, ds_open = 0;
	struct aq_dataset ds;
	struct aq_readings_writer w;
	struct import_ctx x = { 0 };
	json_t *js;

	aq_readings_init(&all);
	if (c->out) {
		if ((rc = aq_dataset_create(&ds, c->out, "readings", c->parts, &e)))
			goto out;
		ds_open = 1;
		if ((rc = aq_readings_writer_open(&w, &ds, aq_dataset_next_key(&ds), "csv", NULL, &e)))
			goto out;
		x.w = &w;
	}
	x.all = c->odbc ? &all : NULL;
	rc = aq_csv_read_file(c->from_csv, &o, import_chunk, &x, &st, &e);
	if (x.w) {
		if (rc)
			aq_readings_writer_abort(&w);
		else if (!(rc = aq_readings_writer_close(&w, &e)))
			rows_shard = x.rows;
	}
	if (rc)
		goto out;
	acct_compact(&x.accts);
	naccounts = (int64_t)x.accts.n;
	aq_info("read %llu rows from '%s' (%llu bad, %llu missing values, %llu duplicate keys)",
		(unsigned long long)st.rows, c->from_csv, (unsigned long long)st.bad,
		(unsigned long long)st.missing, (unsigned long long)st.dups);
	if (c->odbc) {
		struct aq_odbc db;

		if ((rc = aq_odbc_connect(&db, c->odbc, NULL, &e)))
			goto out;
		if (c->schema)
			rc = aq_odbc_create_schema(&db, c->schema, &e);
		if (!rc)
			rc = aq_odbc_load_readings(&db, c->table, &all, c->batch, &e);
		aq_odbc_release(&db);
		if (rc)
			goto out;
		rows_db = all.n;
	}
out:
	if (ds_open)
		aq_dataset_release(&ds);
	free(x.accts.v);
	aq_readings_release(&all);
	if (rc) {
		aq_error("%s", e.msg);
		return 1;
	}
	secs = aq_now() - t0;
	js = json_pack("{s:I,s:I,s:f,s:f,s:I,s:I,s:I,s:I,s:I,s:s,s:s}", "accounts", (json_int_t)naccounts, "rows",
		       (json_int_t)st.rows, "seconds", round(secs * 1000) / 1000, "rows_per_s",
		       secs > 0 ? round(st.rows / secs) : 0.0, "bad", (json_int_t)st.bad, "missing",
		       (json_int_t)st.missing, "duplicates", (json_int_t)st.dups, "shard_rows", (json_int_t)rows_shard,
		       "db_rows", (json_int_t)rows_db, "from", aq_date_format(st.min_date, (char[AQ_DATE_STRLEN]){ 0 }),
		       "to", aq_date_format(st.max_date, (char[AQ_DATE_STRLEN]){ 0 }));
	if (js) {
		char *s = json_dumps(js, JSON_COMPACT | JSON_REAL_PRECISION(10));

		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(js);
	}
	return fflush(stdout) ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "accounts", required_argument, 0, 'n' }, { "days", required_argument, 0, 'd' },
		{ "start", required_argument, 0, 's' },    { "seed", required_argument, 0, 'S' },
		{ "from-day", required_argument, 0, 'f' }, { "to-day", required_argument, 0, 't' },
		{ "csv", required_argument, 0, 'c' },      { "out", required_argument, 0, 'o' },
		{ "parts", required_argument, 0, 'p' },    { "odbc", required_argument, 0, 'b' },
		{ "table", required_argument, 0, 'T' },    { "schema", required_argument, 0, 'q' },
		{ "batch", required_argument, 0, 'B' },    { "truth", required_argument, 0, 'r' },
		{ "threads", required_argument, 0, 'j' },  { "from-csv", required_argument, 0, 'i' },
		{ "max-bad", required_argument, 0, 'm' },  { "account-range", required_argument, 0, 'R' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct cfg c = { .parts = 64, .table = "PORTAL.ConsumptionDaily", .batch = 5000 };
	struct aq_err e = { 0 };
	struct gen g = { 0 };
	struct worker *wk = NULL;
	pthread_t *th = NULL;
	uint64_t rows_csv = 0, rows_shard = 0, rows_db = 0, nev = 0, rows;
	double t0 = aq_now(), secs;
	int opt, rc = 0, nthreads, range = 0;
	char *end;
	json_t *js;

	aq_log_set_prog("aquacast-synth");
	aq_synth_opts_default(&c.so);
	while ((opt = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (opt) {
		case 'n': c.so.accounts = strtoll(optarg, &end, 10); if (*end) goto bad; break;
		case 'd': c.so.days = (int32_t)strtol(optarg, &end, 10); if (*end) goto bad; break;
		case 's':
			if (aq_date_parse(optarg, (int)strlen(optarg), &c.so.start, &e)) {
				fprintf(stderr, "aquacast-synth: %s\n", e.msg);
				return 2;
			}
			break;
		case 'S': c.so.seed = strtoull(optarg, &end, 10); if (*end) goto bad; break;
		case 'f': c.from_s = optarg; break;
		case 't': c.to_s = optarg; break;
		case 'c': c.csv = optarg; break;
		case 'o': c.out = optarg; break;
		case 'p': c.parts = (int)strtol(optarg, &end, 10); if (*end) goto bad; break;
		case 'b': c.odbc = optarg; break;
		case 'T': c.table = optarg; break;
		case 'q': c.schema = optarg; break;
		case 'B': c.batch = strtoull(optarg, &end, 10); if (*end) goto bad; break;
		case 'r': c.truth = optarg; break;
		case 'j': c.threads = (int)strtol(optarg, &end, 10); if (*end || c.threads < 1) goto bad; break;
		case 'i': c.from_csv = optarg; break;
		case 'R':
			c.a0 = strtoll(optarg, &end, 10);
			if (*end != ':')
				goto bad;
			c.a1 = strtoll(end + 1, &end, 10);
			if (*end)
				goto bad;
			range = 1;
			break;
		case 'm': c.max_bad = strtoull(optarg, &end, 10); if (*end) goto bad; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		continue;
bad:
		for (const struct option *p = lo; p->name; p++)
			if (p->val == opt)
				fprintf(stderr, "aquacast-synth: bad value '%s' for --%s\n", optarg, p->name);
		return 2;
	}
	if (optind < argc || (!c.csv && !c.out && !c.odbc && !c.truth)) {
		fprintf(stderr, "aquacast-synth: %s\n",
			optind < argc ? "unexpected argument" : "nothing to write (give --csv, --out, --odbc or --truth)");
		usage(stderr);
		return 2;
	}
	if (c.from_csv) {
		if (c.csv || c.truth || (!c.out && !c.odbc)) {
			fprintf(stderr, "aquacast-synth: --from-csv writes to --out and/or --odbc only\n");
			return 2;
		}
		return import_csv(&c);
	}
	if (aq_synth_opts_check(&c.so, &e)) {
		fprintf(stderr, "aquacast-synth: %s\n", e.msg);
		return 2;
	}
	if (!range) {
		c.a0 = 0;
		c.a1 = c.so.accounts;
	} else if (c.a0 < 0 || c.a1 > c.so.accounts || c.a0 >= c.a1) {
		fprintf(stderr, "aquacast-synth: bad --account-range %lld:%lld for %lld accounts\n", (long long)c.a0,
			(long long)c.a1, (long long)c.so.accounts);
		return 2;
	}
	c.from = 0;
	c.to = c.so.days;
	if ((c.from_s && parse_day(c.from_s, &c.so, &c.from, &e)) || (c.to_s && parse_day(c.to_s, &c.so, &c.to, &e))) {
		fprintf(stderr, "aquacast-synth: %s\n", e.msg);
		return 2;
	}
	if (c.from < 0 || c.to > c.so.days || c.from >= c.to) {
		fprintf(stderr, "aquacast-synth: bad day window [%d, %d) for %d days\n", c.from, c.to, c.so.days);
		return 2;
	}
	if (c.parts < 1 || c.parts > AQ_DATASET_MAX_PARTS) {
		fprintf(stderr, "aquacast-synth: bad --parts %d (want 1..%d)\n", c.parts, AQ_DATASET_MAX_PARTS);
		return 2;
	}
	if (c.odbc && aq_odbc_check_ident(c.table, &e)) {
		fprintf(stderr, "aquacast-synth: %s\n", e.msg);
		return 2;
	}
	if (c.csv && !strcmp(c.csv, "-") && c.truth && !strcmp(c.truth, "-")) {
		fprintf(stderr, "aquacast-synth: --csv and --truth cannot both be stdout\n");
		return 2;
	}

	/* Generate: accounts × window, in parallel over account blocks. */
	nthreads = c.threads ? c.threads : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nthreads < 1)
		nthreads = 1;
	if (nthreads > 64)
		nthreads = 64;
	g.c = &c;
	g.W = c.to - c.from;
	g.mat = malloc((size_t)(c.a1 - c.a0) * (size_t)g.W * sizeof(*g.mat));
	g.ev = calloc((size_t)nthreads, sizeof(*g.ev));
	g.rc = calloc((size_t)nthreads, sizeof(*g.rc));
	g.err = calloc((size_t)nthreads, sizeof(*g.err));
	wk = calloc((size_t)nthreads, sizeof(*wk));
	th = calloc((size_t)nthreads, sizeof(*th));
	if (!g.mat || !g.ev || !g.rc || !g.err || !wk || !th) {
		rc = aq_err_set(&e, AQ_ENOMEM, "cannot allocate %lld × %d days",
				(long long)(c.a1 - c.a0), g.W);
		goto out;
	}
	atomic_init(&g.next, c.a0);
	aq_progress_init(&g.prog, "generate", "accounts", (uint64_t)(c.a1 - c.a0));
	for (int t = 0; t < nthreads; t++) {
		wk[t] = (struct worker){ &g, t };
		aq_synth_events_init(&g.ev[t]);
		if (pthread_create(&th[t], NULL, gen_thread, &wk[t])) {
			nthreads = t;
			rc = aq_err_set(&e, AQ_EIO, "cannot start a generator thread");
			break;
		}
	}
	for (int t = 0; t < nthreads; t++)
		pthread_join(th[t], NULL);
	aq_progress_finish(&g.prog);
	for (int t = 0; t < nthreads && !rc; t++)
		if (g.rc[t]) {
			rc = g.rc[t];
			e = g.err[t];
		}
	if (rc)
		goto out;
	aq_info("generated %lld accounts × %d days in %.2f s", (long long)(c.a1 - c.a0), g.W, aq_now() - t0);

	if (c.truth && (rc = write_truth(&c, &g, nthreads, &nev, &e)))
		goto out;
	if (c.csv && (rc = write_csv(&c, &g, &rows_csv, &e)))
		goto out;
	if (c.out && (rc = write_shards(&c, &g, nthreads, &rows_shard, &e)))
		goto out;
	if (c.odbc && (rc = write_odbc(&c, &g, &rows_db, &e)))
		goto out;
out:
	if (g.ev)
		for (int t = 0; t < nthreads; t++)
			aq_synth_events_release(&g.ev[t]);
	free(g.ev);
	free(g.rc);
	free(g.err);
	free(g.mat);
	free(wk);
	free(th);
	if (rc) {
		aq_error("%s", e.msg);
		return 1;
	}
	secs = aq_now() - t0;
	rows = rows_csv > rows_shard ? rows_csv : rows_shard;
	if (rows_db > rows)
		rows = rows_db;
	js = json_pack("{s:I,s:I,s:f,s:f,s:i,s:s,s:s,s:I,s:I,s:I,s:I,s:I}", "accounts", (json_int_t)(c.a1 - c.a0),
		       "rows", (json_int_t)rows, "seconds", round(secs * 1000) / 1000, "rows_per_s",
		       secs > 0 ? round(rows / secs) : 0.0, "days", (int)(c.to - c.from), "from",
		       aq_date_format(c.so.start + c.from, (char[AQ_DATE_STRLEN]){ 0 }), "to",
		       aq_date_format(c.so.start + c.to - 1, (char[AQ_DATE_STRLEN]){ 0 }), "seed",
		       (json_int_t)c.so.seed, "csv_rows", (json_int_t)rows_csv, "shard_rows", (json_int_t)rows_shard,
		       "db_rows", (json_int_t)rows_db, "events", (json_int_t)nev);
	if (js) {
		char *s = json_dumps(js, JSON_COMPACT | JSON_REAL_PRECISION(10));

		if (s)
			printf("%s\n", s);
		free(s);
		json_decref(js);
	}
	return fflush(stdout) ? 1 : 0;
}
