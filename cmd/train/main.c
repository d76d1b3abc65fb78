/* aquacast-train — fit one ARIMA model per account into a new model set; or print one account's forecast. */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "dataset.h"
#include "date.h"
#include "log.h"
#include "forecast.h"
#include "model.h"
#include "stop.h"
#include "train.h"
#include "trainparts.h"

static const char help[] =
	"usage: aquacast-train --readings DATASET --out MODELSET [--prev MODELSET] [options]\n"
	"       aquacast-train --readings DATASET --out MODELSET --parts A-B [options]\n"
	"       aquacast-train --seal MODELSET\n"
	"       aquacast-train --forecast MODELSET --account ID [--days 30]\n"
	"\n"
	"Fits every account of the readings dataset (one ARIMA per account, Hyndman-Khandakar\n"
	"stepwise search as R's auto.arima) and writes a complete new model set (a new\n"
	"directory per run; accounts without new data are carried over from --prev).\n"
	"The last stdout line is the JSON summary (also after the --forecast table: it carries the\n"
	"forecast's numbers); on failure it has \"ok\":false and \"error\".\n"
	"\n"
	"options:\n"
	"  --mode full|refit|update|auto  full: order search for every account (default);\n"
	"                        refit: previous orders re-estimated (warm start; a rejected refit\n"
	"                        keeps the previous coefficients, as update); update: previous\n"
	"                        coefficients, filter over the new days; auto: refit, search again\n"
	"                        where the previous model's one-step errors on the new days have\n"
	"                        mean z^2 > --auto-z2\n"
	"  --season 0|7          seasonal period of the search (default 7)\n"
	"  --lambda none|log1p|auto  search and fit each account's ARIMA on a transformed scale\n"
	"                        (default none): log1p = log(1 + x); auto = Box-Cox of x + mean/10\n"
	"                        with Guerrero's lambda in [0, 1] per account; forecasts are\n"
	"                        back-transformed (docs/accuracy.md); refit/update keep a model's own\n"
	"                        transform\n"
	"  --threads N           worker threads 0..1024 (default 0: all cores)\n"
	"  --unit auto|part|account  work unit of the threads (default auto: whole parts when\n"
	"                        there are at least 2 parts per thread, else accounts)\n"
	"  --accounts LIST       only these accounts (comma-separated, or @FILE one per line);\n"
	"                        others in --prev are carried over\n"
	"  --until DATE          use readings up to DATE (YYYY-MM-DD) only\n"
	"  --window DAYS         fit on the last DAYS days of each series (default 0 = all)\n"
	"  --min-obs N           fewer valid days -> mean fallback (default 14)\n"
	"  --auto-z2 X           auto-mode threshold (default 2.0)\n"
	"  --max-p/--max-q/--max-P/--max-Q N  search bounds, 0..10 / 0..10 / 0..5 / 0..5 (default 5/5/2/2)\n"
	"  --no-warm-start       start every candidate from zeros (as R)\n"
	"  --exact-missing       estimate with the exact likelihood over missing days (slow, as R);\n"
	"                        default: interior gaps imputed for estimation only\n"
	"  --hampel-t X          outlier threshold in robust sd, > 0 (default 5)\n"
	"  --parts A-B           train only the dataset's parts A..B (mapped training: one task per\n"
	"                        range, same --out); the range is sealed in the run's hidden staging\n"
	"                        area (a rerun replaces it), and no model set exists until --seal\n"
	"  --seal MODELSET       make the model set of a --parts run once every part is there (refused,\n"
	"                        naming the missing parts, before); sealing a sealed run is a no-op\n"
	"  --forecast MODELSET   print a forecast of --account for --days days (80/95% intervals,\n"
	"                        clipped at 0) and the period total\n"
	"  -h, --help            this help\n"
	"\n"
	"exit: 0 ok, 1 failure, 2 usage (a bad option value names the option and the value)\n";

/* The table on stdout; the forecast's numbers into the summary. */
static void print_forecast(const struct aq_model_row *r, int64_t account, int days, const struct aq_path *p,
			   const double tot[5])
{
	char d0[AQ_DATE_STRLEN];
	json_t *arr = json_array();

	char bcs[64];
	printf("# account %lld  model %s%s%s  status %s%s%s  served %s%s  trained until %s\n", (long long)account,
	       r->spec_str, aq_bc_active(&r->bc) ? " on " : "", aq_bc_active(&r->bc) ? aq_bc_str(&r->bc, bcs, sizeof bcs) : "",
	       aq_model_status_name(r->status), r->reason && r->reason[0] ? " — " : "",
	       r->reason ? r->reason : "", r->served ? r->served : "arima", r->cal.ok ? " (calibrated intervals)" : "",
	       aq_date_format(r->trained_until, d0));
	printf("%-10s %9s %9s %9s %9s %9s\n", "date", "mean", "lo80", "hi80", "lo95", "hi95");
	for (int i = 0; i < days; i++) {
		char ds[AQ_DATE_STRLEN];
		printf("%-10s %9.3f %9.3f %9.3f %9.3f %9.3f\n", aq_date_format(r->trained_until + 1 + i, ds),
		       p->mean[i], p->lo80[i], p->hi80[i], p->lo95[i], p->hi95[i]);
		json_array_append_new(arr, json_real(p->mean[i]));
	}
	printf("%-10s %9.3f %9.3f %9.3f %9.3f %9.3f\n", "total", tot[0], tot[1], tot[2], tot[3], tot[4]);
	cli_set_str("model", r->spec_str);
	cli_set_str("status", aq_model_status_name(r->status));
	cli_set_str("transform", aq_bc_str(&r->bc, bcs, sizeof bcs));
	cli_set_str("served", r->served ? r->served : "arima");
	cli_set("calibrated", json_boolean(r->cal.ok));
	cli_set("mean", arr);
	cli_set_real("total", tot[0]);
	cli_set("total80", json_pack("[f,f]", tot[1], tot[2]));
	cli_set("total95", json_pack("[f,f]", tot[3], tot[4]));
}

static int do_forecast(const char *set, int64_t account, int days)
{
	struct aq_err e = { 0 };
	struct aq_dataset ds;
	struct aq_model_part part;
	struct aq_model_row *r;
	double *b = NULL, tot[5];
	int rc;

	cli_set_int("account", account);
	cli_set_int("days", days);
	if (aq_modelset_open(&ds, set, NULL, &e))
		return cli_fail_err(&e);
	aq_model_part_init(&part);
	rc = aq_model_read_part(&ds, aq_part_of(account, ds.parts), &part, &e);
	aq_dataset_release(&ds);
	if (rc) {
		aq_model_part_release(&part);
		return cli_fail_err(&e);
	}
	if (!(r = aq_model_part_find(&part, account))) {
		aq_model_part_release(&part);
		return cli_fail("account '%lld' not found in model set '%s'", (long long)account, set);
	}
	b = malloc(5 * (size_t)days * sizeof(*b));
	struct aq_path p = { b, b + days, b + 2 * days, b + 3 * days, b + 4 * days };
	if (!b)
		rc = cli_fail("out of memory");
	else if (aq_forecast_row(r, days, 0, days, &p, tot, &e))
		rc = cli_fail("cannot forecast account '%lld': %s", (long long)account, e.msg);
	else
		print_forecast(r, account, days, &p, tot);
	free(b);
	aq_model_part_release(&part);
	return rc ? rc : cli_finish(CLI_EXIT_OK, NULL);
}

/* --seal: one model set from the sealed part ranges of a mapped run (lib/trainparts.h). */
static int do_seal(const char *set)
{
	struct aq_err e = { 0 };
	json_t *sum = NULL;
	cli_set_command("seal");
	if (aq_trainparts_seal(set, &sum, &e))
		return cli_fail_err(&e);
	if (json_is_true(json_object_get(sum, "already_sealed")))
		aq_info("'%s' is sealed already: nothing to do", set);
	else
		aq_info("sealed '%s': %lld accounts from %zu part ranges", set,
			(long long)json_integer_value(json_object_get(sum, "accounts")),
			json_array_size(json_object_get(sum, "ranges")));
	cli_merge(sum);
	json_decref(sum);
	return cli_finish(CLI_EXIT_OK, NULL);
}

struct args {
	struct aq_train_opts o;
	const char *readings, *out, *prev, *fc, *seal;
	int64_t account;
	int days, have_account;
	int64_t *accounts;
};

enum { O_MODE = 256, O_SEASON, O_ACCOUNTS, O_UNTIL, O_WINDOW, O_MINOBS, O_AUTOZ2, O_MAXP, O_MAXQ, O_MAXSP, O_MAXSQ,
       O_NOWARM, O_EXACTMISS, O_HAMPEL, O_FORECAST, O_ACCOUNT, O_DAYS, O_UNIT, O_PARTS, O_SEAL, O_LAMBDA };

static const struct option longopts[] = {
	{ "readings", required_argument, 0, 'r' }, { "out", required_argument, 0, 'o' },
	{ "prev", required_argument, 0, 'p' }, { "mode", required_argument, 0, O_MODE },
	{ "season", required_argument, 0, O_SEASON }, { "threads", required_argument, 0, 't' },
	{ "accounts", required_argument, 0, O_ACCOUNTS }, { "until", required_argument, 0, O_UNTIL },
	{ "window", required_argument, 0, O_WINDOW }, { "min-obs", required_argument, 0, O_MINOBS },
	{ "auto-z2", required_argument, 0, O_AUTOZ2 }, { "max-p", required_argument, 0, O_MAXP },
	{ "max-q", required_argument, 0, O_MAXQ }, { "max-P", required_argument, 0, O_MAXSP },
	{ "max-Q", required_argument, 0, O_MAXSQ }, { "no-warm-start", no_argument, 0, O_NOWARM },
	{ "exact-missing", no_argument, 0, O_EXACTMISS }, { "hampel-t", required_argument, 0, O_HAMPEL },
	{ "forecast", required_argument, 0, O_FORECAST }, { "account", required_argument, 0, O_ACCOUNT },
	{ "days", required_argument, 0, O_DAYS }, { "unit", required_argument, 0, O_UNIT },
	{ "parts", required_argument, 0, O_PARTS }, { "seal", required_argument, 0, O_SEAL },
	{ "lambda", required_argument, 0, O_LAMBDA },
	{ "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 },
};

/* "A-B" (or "A"): a range of part numbers; checked against the dataset's P when it is opened. */
static void parse_parts(const char *s, struct aq_train_opts *o)
{
	char lo[32], *dash;
	snprintf(lo, sizeof lo, "%s", s);
	dash = strchr(lo, '-');
	if (dash)
		*dash = 0;
	o->part_lo = (int)cli_int("--parts", lo, 0, AQ_DATASET_MAX_PARTS - 1);
	o->part_hi = dash ? (int)cli_int("--parts", dash + 1, o->part_lo, AQ_DATASET_MAX_PARTS - 1) : o->part_lo;
}

static void parse_one(struct args *a, int c)
{
	static const struct cli_choice modes[] = { { "full", AQ_TRAIN_FULL }, { "refit", AQ_TRAIN_REFIT },
						   { "update", AQ_TRAIN_UPDATE }, { "auto", AQ_TRAIN_AUTO },
						   { NULL, 0 } };
	static const struct cli_choice seasons[] = { { "0", 0 }, { "7", 7 }, { NULL, 0 } };
	static const struct cli_choice units[] = { { "auto", 0 }, { "part", 1 }, { "account", 2 }, { NULL, 0 } };
	static const struct cli_choice lambdas[] = { { "none", AQ_BC_RULE_NONE }, { "log1p", AQ_BC_RULE_LOG1P },
						     { "auto", AQ_BC_RULE_AUTO }, { NULL, 0 } };
	struct aq_train_opts *o = &a->o;

	switch (c) {
	case 'r': a->readings = optarg; break;
	case 'o': a->out = optarg; break;
	case 'p': a->prev = optarg; break;
	case 't': o->threads = (int)cli_int("--threads", optarg, 0, 1024); break;
	case O_MODE: o->mode = (enum aq_train_mode)cli_choice("--mode", optarg, modes); break;
	case O_SEASON: o->search.season = cli_choice("--season", optarg, seasons); break;
	case O_ACCOUNTS:
		free(a->accounts);
		cli_accounts("--accounts", optarg, &a->accounts, &o->naccounts);
		o->accounts = a->accounts;
		break;
	case O_UNTIL: o->series.until = cli_date("--until", optarg); break;
	case O_WINDOW: o->series.window = (int)cli_int("--window", optarg, 0, 100000); break;
	case O_MINOBS: o->min_obs = (int)cli_int("--min-obs", optarg, 0, 100000); break;
	case O_AUTOZ2: o->auto_z2 = cli_real("--auto-z2", optarg, 0, HUGE_VAL, CLI_OPEN_LO); break;
	case O_MAXP: o->search.max_p = (int)cli_int("--max-p", optarg, 0, 10); break;
	case O_MAXQ: o->search.max_q = (int)cli_int("--max-q", optarg, 0, 10); break;
	case O_MAXSP: o->search.max_P = (int)cli_int("--max-P", optarg, 0, 5); break;
	case O_MAXSQ: o->search.max_Q = (int)cli_int("--max-Q", optarg, 0, 5); break;
	case O_NOWARM: o->search.warm_start = 0; break;
	case O_EXACTMISS: o->search.exact_missing = 1; break;
	case O_HAMPEL: o->series.t = cli_real("--hampel-t", optarg, 0, HUGE_VAL, CLI_OPEN_LO); break;
	case O_FORECAST: a->fc = optarg; break;
	case O_ACCOUNT:
		a->account = cli_account("--account", optarg);
		a->have_account = 1;
		break;
	case O_DAYS: a->days = (int)cli_int("--days", optarg, 1, 3660); break;
	case O_UNIT: o->unit = cli_choice("--unit", optarg, units); break;
	case O_PARTS: parse_parts(optarg, o); break;
	case O_SEAL: a->seal = optarg; break;
	case O_LAMBDA: o->lambda_rule = cli_choice("--lambda", optarg, lambdas); break;
	case 'h': cli_help(help);
	}
}

static void parse_args(int argc, char **argv, struct args *a)
{
	int c;

	while ((c = cli_getopt(argc, argv, "r:o:p:t:h", longopts)) != -1)
		parse_one(a, c);
	if (optind < argc)
		cli_usage("unexpected argument '%s'", argv[optind]);
	if (a->fc && !a->have_account)
		cli_usage("--forecast needs --account ID");
	if (a->seal && (a->fc || a->readings || a->out || a->o.part_lo >= 0))
		cli_usage("--seal MODELSET takes no other input or output");
	if (!a->fc && !a->seal && (!a->readings || !a->out))
		cli_usage("--readings and --out are required");
}

static void stats_summary(const struct aq_train_stats *st, const struct args *a)
{
	cli_set_int("accounts", (long long)st->accounts);
	cli_set_int("accounts_ok", (long long)st->ok);
	cli_set_int("fallback", (long long)st->fallback);
	cli_set_int("failed", (long long)st->failed);
	if (st->seconds > 0)
		cli_set_real("seconds", st->seconds);
	cli_set_real("fit_ms_median", st->fit_ms_median);
	cli_set_real("fit_ms_p99", st->fit_ms_p99);
	cli_set_int("threads", st->threads);
	cli_set_str("mode", aq_train_mode_name(a->o.mode));
	cli_set_int("readings", (long long)st->readings);
	cli_set_int("searched", (long long)st->searched);
	cli_set_int("refitted", (long long)st->refitted);
	cli_set_int("updated", (long long)st->updated);
	cli_set_int("researched", (long long)st->researched);
	cli_set_int("carried", (long long)st->carried);
	cli_set_int("season", a->o.search.season);
	cli_set_str("lambda", aq_bc_rule_name(a->o.lambda_rule));
	cli_set_int("max_p", a->o.search.max_p);
	cli_set_int("max_q", a->o.search.max_q);
	cli_set_int("max_P", a->o.search.max_P);
	cli_set_int("max_Q", a->o.search.max_Q);
	cli_set_int("min_obs", a->o.min_obs);
	cli_set_int("window", a->o.series.window);
	cli_set_real("hampel_t", a->o.series.t);
	cli_set_str("out", a->out);
	cli_set_str("unit", st->unit_parts ? "part" : "account");
	if (a->prev)
		cli_set_int("new_days", st->new_days);
	if (a->o.part_lo >= 0) {
		char range[32];
		snprintf(range, sizeof range, "%d-%d", a->o.part_lo, a->o.part_hi);
		cli_set_str("part_range", range);
		cli_set_bool("sealed", 0); /* the model set exists after --seal */
	}
}

int main(int argc, char **argv)
{
	struct args a = { .days = 30 };
	struct aq_train_stats st = { 0 };
	struct aq_err e = { 0 };
	int rc;

	cli_init(argv[0]);
	aq_train_opts_default(&a.o);
	parse_args(argc, argv, &a);
	if (a.fc)
		return do_forecast(a.fc, a.account, a.days);
	if (a.seal)
		return do_seal(a.seal);
	if (a.o.mode != AQ_TRAIN_FULL && !a.prev)
		aq_warn("mode '%s' without --prev: every account gets a full search", aq_train_mode_name(a.o.mode));
	a.o.progress = 1; /* a TTY line, or a log line every 10 s elsewhere (lib/log.h) */
	a.o.stop = &aq_stop_requested; /* SIGINT/SIGTERM: stop, seal nothing */
	rc = aq_stop_install(&e) ? AQ_EIO : aq_train_run(a.readings, a.out, a.prev, &a.o, &st, &e);
	if (!rc)
		aq_info("%llu accounts (%llu ok, %llu fallback, %llu failed; searched %llu, refitted %llu, updated %llu, "
			"re-searched %llu, carried %llu) in %.1f s",
			(unsigned long long)st.accounts, (unsigned long long)st.ok, (unsigned long long)st.fallback,
			(unsigned long long)st.failed, (unsigned long long)st.searched,
			(unsigned long long)st.refitted, (unsigned long long)st.updated,
			(unsigned long long)st.researched, (unsigned long long)st.carried, st.seconds);
	stats_summary(&st, &a);
	free(a.accounts);
	return rc ? cli_fail_err(&e) : cli_finish(CLI_EXIT_OK, NULL);
}
