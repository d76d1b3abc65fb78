/* import.c — aquacast-synth --from-csv: real readings through the strict CSV reader into shards and/or a table. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "csv.h"
#include "date.h"
#include "odbc.h"
#include "readings_writer.h"
#include "synth_cmd.h"

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
int synth_import_csv(const struct cfg *c)
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
	char d[AQ_DATE_STRLEN];

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
	if (ds_open && rc)
		aq_dataset_discard_unused(&ds); /* a failed import leaves no empty dataset it made */
	if (ds_open)
		aq_dataset_release(&ds);
	free(x.accts.v);
	aq_readings_release(&all);
	if (rc)
		return cli_fail_err(&e);
	secs = aq_now() - t0;
	cli_set_int("accounts", naccounts);
	cli_set_int("rows", (long long)st.rows);
	cli_set_real("seconds", round(secs * 1000) / 1000);
	cli_set_real("rows_per_s", secs > 0 ? round(st.rows / secs) : 0.0);
	cli_set_int("bad", (long long)st.bad);
	cli_set_int("missing", (long long)st.missing);
	cli_set_int("duplicates", (long long)st.dups);
	cli_set_int("shard_rows", (long long)rows_shard);
	cli_set_int("db_rows", (long long)rows_db);
	cli_set_str("from", st.rows ? aq_date_format(st.min_date, d) : NULL);
	cli_set_str("to", st.rows ? aq_date_format(st.max_date, d) : NULL);
	cli_set_int("parts", c->out ? c->parts : 0);
	return cli_finish(CLI_EXIT_OK, NULL);
}
