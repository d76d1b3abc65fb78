/* main.c — aquacast-synth: synthetic daily consumption of N accounts to CSV, shards and/or a database. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "dataset.h"
#include "date.h"
#include "err.h"
#include "log.h"
#include "odbc.h"
#include "synth.h"
#include "synth_cmd.h"

static const char help[] =
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
	"  --parts P           parts of a new dataset (default 64; an existing --out keeps its own)\n"
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
	"The last stdout line is the JSON summary ({\"accounts\":..,\"rows\":..,\"seconds\":..,\"rows_per_s\":..};\n"
	"\"ok\":false and \"error\" on a failure). With --csv - or --truth - stdout is the CSV and\n"
	"the summary is the last line of stderr, so `aquacast-synth --csv - | aquacast-synth\n"
	"--from-csv - --out DATASET` works.\n"
	"exit: 0 ok, 1 failure, 2 usage (a bad option value names the option and the value)\n";

/* "123" (an offset) or "YYYY-MM-DD" (a date) -> offset from the start. */
static int32_t parse_day(const char *opt, const char *s, const struct aq_synth_opts *o)
{
	long long v;

	if (strlen(s) == 10 && s[4] == '-')
		return cli_date(opt, s) - o->start;
	if (cli_parse_int(s, 0, 1000000, &v))
		cli_bad_value(opt, s, "a day offset 0..1000000 or a date YYYY-MM-DD");
	return (int32_t)v;
}

/* "A:B", account indexes A..B-1. */
static void parse_range(const char *s, struct cfg *c)
{
	const char *colon = strchr(s, ':');
	char a[32];
	long long x, y;

	if (!colon || (size_t)(colon - s) >= sizeof(a))
		cli_bad_value("--account-range", s, "A:B, account indexes A..B-1");
	memcpy(a, s, (size_t)(colon - s));
	a[colon - s] = 0;
	if (cli_parse_int(a, 0, 10000000, &x) || cli_parse_int(colon + 1, 1, 10000000, &y) || x >= y)
		cli_bad_value("--account-range", s, "A:B, account indexes A..B-1 with A < B");
	c->a0 = x;
	c->a1 = y;
}

static const struct option longopts[] = {
	{ "accounts", required_argument, 0, 'n' }, { "days", required_argument, 0, 'd' },
	{ "start", required_argument, 0, 's' },    { "seed", required_argument, 0, 'S' },
	{ "from-day", required_argument, 0, 'f' }, { "to-day", required_argument, 0, 't' },
	{ "csv", required_argument, 0, 'c' },      { "out", required_argument, 0, 'o' },
	{ "parts", required_argument, 0, 'p' },    { "odbc", required_argument, 0, 'b' },
	{ "table", required_argument, 0, 'T' },    { "schema", required_argument, 0, 'q' },
	{ "batch", required_argument, 0, 'B' },    { "truth", required_argument, 0, 'r' },
	{ "threads", required_argument, 0, 'j' },  { "from-csv", required_argument, 0, 'i' },
	{ "max-bad", required_argument, 0, 'm' },  { "account-range", required_argument, 0, 'R' },
	{ "event-rate", required_argument, 0, 'E' }, { "help", no_argument, 0, 'h' },
	{ 0, 0, 0, 0 },
};

static void parse_one(struct cfg *c, int opt, int *range)
{
	switch (opt) {
	case 'n': c->so.accounts = cli_int("--accounts", optarg, 1, 10000000); break;
	case 'd': c->so.days = (int32_t)cli_int("--days", optarg, 1, 36500); break;
	case 's': c->so.start = cli_date("--start", optarg); break;
	case 'S': c->so.seed = (uint64_t)cli_int("--seed", optarg, 0, LLONG_MAX); break;
	case 'f': c->from_s = optarg; break;
	case 't': c->to_s = optarg; break;
	case 'c': c->csv = optarg; break;
	case 'o': c->out = optarg; break;
	case 'p':
		c->parts = (int)cli_int("--parts", optarg, 1, AQ_DATASET_MAX_PARTS);
		c->parts_set = 1;
		break;
	case 'b': c->odbc = optarg; break;
	case 'T': c->table = optarg; break;
	case 'q': c->schema = optarg; break;
	case 'B': c->batch = (size_t)cli_int("--batch", optarg, 1, 10000000); break;
	case 'r': c->truth = optarg; break;
	case 'E': c->so.event_rate = cli_real("--event-rate", optarg, 0, 100, 0); break;
	case 'j': c->threads = (int)cli_int("--threads", optarg, 1, 1024); break;
	case 'i': c->from_csv = optarg; break;
	case 'R': parse_range(optarg, c), *range = 1; break;
	case 'm': c->max_bad = (uint64_t)cli_int("--max-bad", optarg, 0, LLONG_MAX); break;
	case 'h': cli_help(help);
	}
}

/* An existing --out keeps its part count: --parts only shapes a new dataset. */
static void adopt_parts(struct cfg *c)
{
	struct aq_dataset ds;
	struct aq_err e = { 0 };

	if (!c->out || aq_dataset_open(&ds, c->out, &e))
		return;
	if (c->parts_set && c->parts != ds.parts)
		aq_warn("'%s' exists with %d parts: --parts %d ignored", c->out, ds.parts, c->parts);
	c->parts = ds.parts;
	aq_dataset_release(&ds);
}

/* Everything that needs all the options; a usage error exits 2. */
static void check_args(struct cfg *c, int range)
{
	struct aq_err e = { 0 };

	if (aq_synth_opts_check(&c->so, &e))
		cli_usage("%s", e.msg);
	if (!range) {
		c->a0 = 0;
		c->a1 = c->so.accounts;
	} else if (c->a1 > c->so.accounts) {
		cli_usage("--account-range %lld:%lld beyond the %lld accounts", (long long)c->a0, (long long)c->a1,
			  (long long)c->so.accounts);
	}
	c->from = c->from_s ? parse_day("--from-day", c->from_s, &c->so) : 0;
	c->to = c->to_s ? parse_day("--to-day", c->to_s, &c->so) : c->so.days;
	if (c->from < 0 || c->to > c->so.days || c->from >= c->to)
		cli_usage("bad day window [%d, %d) for %d days", c->from, c->to, c->so.days);
	if (c->odbc && aq_odbc_check_ident(c->table, &e))
		cli_usage("%s", e.msg);
	if (c->csv && !strcmp(c->csv, "-") && c->truth && !strcmp(c->truth, "-"))
		cli_usage("--csv and --truth cannot both be stdout");
}

static void parse_args(int argc, char **argv, struct cfg *c)
{
	int opt, range = 0;

	while ((opt = cli_getopt(argc, argv, "h", longopts)) != -1)
		parse_one(c, opt, &range);
	if (optind < argc)
		cli_usage("unexpected argument '%s'", argv[optind]);
	if (!c->csv && !c->out && !c->odbc && !c->truth)
		cli_usage("nothing to write (give --csv, --out, --odbc or --truth)");
	if ((c->csv && !strcmp(c->csv, "-")) || (c->truth && !strcmp(c->truth, "-")))
		cli_summary_to_stderr(); /* stdout is the CSV */
	if (c->from_csv) {
		if (c->csv || c->truth || (!c->out && !c->odbc))
			cli_usage("--from-csv writes to --out and/or --odbc only");
		if (c->from_s || c->to_s || range)
			cli_usage("--from-csv takes no --from-day, --to-day or --account-range");
		if (c->odbc && aq_odbc_check_ident(c->table, &(struct aq_err){ 0 }))
			cli_usage("bad table name '%s'", c->table);
	} else {
		check_args(c, range);
	}
	adopt_parts(c);
}

/* Generate accounts x window in parallel, then each requested writer. */
static int run(struct cfg *c, uint64_t *rows, uint64_t *nev, struct aq_err *e)
{
	struct gen g = { 0 };
	double t0 = aq_now();
	int rc, nthreads = c->threads ? c->threads : (int)sysconf(_SC_NPROCESSORS_ONLN);

	nthreads = nthreads < 1 ? 1 : nthreads > 64 ? 64 : nthreads;
	g.c = c;
	g.W = c->to - c->from;
	g.mat = malloc((size_t)(c->a1 - c->a0) * (size_t)g.W * sizeof(*g.mat));
	g.ev = calloc((size_t)nthreads, sizeof(*g.ev)); /* zeroed = empty event lists */
	g.rc = calloc((size_t)nthreads, sizeof(*g.rc));
	g.err = calloc((size_t)nthreads, sizeof(*g.err));
	if (!g.mat || !g.ev || !g.rc || !g.err)
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate %lld × %d days", (long long)(c->a1 - c->a0), g.W);
	else if (!(rc = synth_generate(&g, nthreads, e)))
		aq_info("generated %lld accounts × %d days in %.2f s", (long long)(c->a1 - c->a0), g.W, aq_now() - t0);
	if (!rc && c->truth)
		rc = synth_write_truth(c, &g, nthreads, nev, e);
	if (!rc && c->csv)
		rc = synth_write_csv(c, &g, &rows[0], e);
	if (!rc && c->out)
		rc = synth_write_shards(c, &g, nthreads, &rows[1], e);
	if (!rc && c->odbc)
		rc = synth_write_odbc(c, &g, &rows[2], e);
	if (g.ev)
		for (int t = 0; t < nthreads; t++)
			aq_synth_events_release(&g.ev[t]);
	free(g.ev);
	free(g.rc);
	free(g.err);
	free(g.mat);
	return rc;
}

static void summary(const struct cfg *c, const uint64_t *rows, uint64_t nev, double secs)
{
	uint64_t n = rows[0] > rows[1] ? rows[0] : rows[1];
	char d[AQ_DATE_STRLEN];

	n = rows[2] > n ? rows[2] : n;
	cli_set_int("accounts", (long long)(c->a1 - c->a0));
	cli_set_int("rows", (long long)n);
	cli_set_real("seconds", round(secs * 1000) / 1000);
	cli_set_real("rows_per_s", secs > 0 ? round(n / secs) : 0.0);
	cli_set_int("days", c->to - c->from);
	cli_set_str("from", aq_date_format(c->so.start + c->from, d));
	cli_set_str("to", aq_date_format(c->so.start + c->to - 1, d));
	cli_set_int("seed", (long long)c->so.seed);
	cli_set_int("csv_rows", (long long)rows[0]);
	cli_set_int("shard_rows", (long long)rows[1]);
	cli_set_int("db_rows", (long long)rows[2]);
	cli_set_int("events", (long long)nev);
}

int main(int argc, char **argv)
{
	struct cfg c = { .parts = 64, .table = "PORTAL.ConsumptionDaily", .batch = 5000 };
	struct aq_err e = { 0 };
	uint64_t rows[3] = { 0 }, nev = 0; /* csv, shards, database */
	double t0 = aq_now();

	cli_init(argv[0]);
	aq_synth_opts_default(&c.so);
	parse_args(argc, argv, &c);
	if (c.from_csv)
		return synth_import_csv(&c);
	if (run(&c, rows, &nev, &e))
		return cli_fail_err(&e);
	summary(&c, rows, nev, aq_now() - t0);
	return cli_finish(CLI_EXIT_OK, NULL);
}
