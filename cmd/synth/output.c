/* output.c — aquacast-synth writers: CSV (day by day), shard datasets (a writer per thread), ODBC, truth. */
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "fs.h"
#include "odbc.h"
#include "readings_writer.h"
#include "synth_cmd.h"

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

int synth_write_csv(const struct cfg *c, const struct gen *g, uint64_t *rows, struct aq_err *e)
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

int synth_write_shards(const struct cfg *c, const struct gen *g, int nthreads, uint64_t *rows, struct aq_err *e)
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
	if (rc)
		aq_dataset_discard_unused(&ds); /* a failed run leaves no empty dataset it made */
	aq_dataset_release(&ds);
	return rc;
}

int synth_write_odbc(const struct cfg *c, const struct gen *g, uint64_t *rows, struct aq_err *e)
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

int synth_write_truth(const struct cfg *c, struct gen *g, int nthreads, uint64_t *nev, struct aq_err *e)
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
