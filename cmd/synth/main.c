/* main.c — aquacast-synth: synthetic daily consumption of N accounts to CSV, shards and/or a database. */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "date.h"
#include "err.h"
#include "log.h"
#include "odbc.h"
#include "shard.h"
#include "synth.h"
#include "synth_cmd.h"

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
		"  --event-rate X      leaks and stuck meters X times as often (default 1; detection tests)\n"
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
		{ "event-rate", required_argument, 0, 'E' },
		{ "help", no_argument, 0, 'h' },
		{ 0, 0, 0, 0 },
	};
	struct cfg c = { .parts = 64, .table = "PORTAL.ConsumptionDaily", .batch = 5000 };
	struct aq_err e = { 0 };
	struct gen g = { 0 };
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
		case 'E': c.so.event_rate = strtod(optarg, &end); if (*end) goto bad; break;
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
		return synth_import_csv(&c);
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
	g.ev = calloc((size_t)nthreads, sizeof(*g.ev)); /* zeroed = empty event lists */
	g.rc = calloc((size_t)nthreads, sizeof(*g.rc));
	g.err = calloc((size_t)nthreads, sizeof(*g.err));
	if (!g.mat || !g.ev || !g.rc || !g.err) {
		rc = aq_err_set(&e, AQ_ENOMEM, "cannot allocate %lld × %d days",
				(long long)(c.a1 - c.a0), g.W);
		goto out;
	}
	if ((rc = synth_generate(&g, nthreads, &e)))
		goto out;
	aq_info("generated %lld accounts × %d days in %.2f s", (long long)(c.a1 - c.a0), g.W, aq_now() - t0);

	if (c.truth && (rc = synth_write_truth(&c, &g, nthreads, &nev, &e)))
		goto out;
	if (c.csv && (rc = synth_write_csv(&c, &g, &rows_csv, &e)))
		goto out;
	if (c.out && (rc = synth_write_shards(&c, &g, nthreads, &rows_shard, &e)))
		goto out;
	if (c.odbc && (rc = synth_write_odbc(&c, &g, &rows_db, &e)))
		goto out;
out:
	if (g.ev)
		for (int t = 0; t < nthreads; t++)
			aq_synth_events_release(&g.ev[t]);
	free(g.ev);
	free(g.rc);
	free(g.err);
	free(g.mat);
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
