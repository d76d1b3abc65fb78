/* aquacast-evaluate — score a model set on new readings and a rolling backtest, choose the served forecaster, gate promotion. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "cli.h"
#include "evalset.h"
#include "log.h"

static const char help[] =
	"usage: aquacast-evaluate --models MODELSET --readings DATASET --out DIR [--champion MODELSET] [options]\n"
	"\n"
	"Scores every account's model on the days that arrived after its TrainedUntil (new data) and on\n"
	"a rolling-origin backtest of the last K windows of H days, next to four references\n"
	"(snaive7, mean28, median28, wmed4), the combination of ARIMA with the best reference and the\n"
	"ensemble (median of arima, snaive7, mean28, median28); chooses\n"
	"the served forecaster per account (docs/accuracy.md) and writes:\n"
	"  DIR/metrics/    Parquet dataset \"aquacast.metrics\" (one row per account, scope, forecaster)\n"
	"  DIR/models/     the model set with Served/ServedMargin set (a new copy)\n"
	"  DIR/summary.json, DIR/decision.json (champion/challenger gate, read by register)\n"
	"The last stdout line is the JSON summary (\"ok\":false and \"error\" on a failure).\n"
	"\n"
	"options:\n"
	"  --windows K             backtest windows (default 4, at most 16; 0 = none)\n"
	"  --horizon H             days per window (default 30)\n"
	"  --refit-origins         re-estimate the coefficients at every backtest origin (same\n"
	"                          orders, warm start; its time is reported) instead of filtering\n"
	"  --filter-warmup DAYS    a backtest origin's filter starts DAYS before the first origin\n"
	"                          (default 180; 0 = from the model's first day: exact, slower)\n"
	"  --fixed-default         serve the ensemble by default (no population default: the\n"
	"                          forecaster best over a sample of accounts' backtests)\n"
	"  --champion MODELSET     the current champion: gate the new set against it\n"
	"  --replace-margin X      an account's challenger replaces the champion when its new-data MAE\n"
	"                          is lower by at least X (relative, default 0.02)\n"
	"  --worse-margin X        an account is worse when its MAE is higher by more than X (0.05)\n"
	"  --agg-tolerance X       promote only if mean MASE <= champion's * (1 + X), X > -1 (default 0;\n"
	"                          negative: demand an improvement)\n"
	"  --max-worse-share X     ... and at most this share of compared accounts worse (0.35)\n"
	"  --anomaly-days W        longest recent window tested for a level shift (default 28,\n"
	"                          windows of 7, 14, .. W days; lib/anomaly.h)\n"
	"  --anomaly-z Z           |z| of the shift against the account's history (default 4.5)\n"
	"  --anomaly-min-rel X     and |shift| >= X times typical use (default 0.2)\n"
	"  --anomaly-share X       share of the window's days on the shift's side of the\n"
	"                          served forecast (default 0.7)\n"
	"  --flat-days F           equal readings (stuck meter, vacancy) flagged (default 14)\n"
	"  --threads N             worker threads 0..1024 (default 0: all cores)\n"
	"  --force                 replace an existing --out atomically (default: refuse it)\n"
	"  -h, --help              this help\n"
	"\n"
	"exit: 0 evaluated and promoted (or no champion), 3 evaluated but not promoted (\"ok\":true),\n"
	"      1 failure, 2 usage (a bad option value names the option and the value)\n";
enum { O_WIN = 256, O_H, O_REFIT, O_RM, O_WM, O_AT, O_MW, O_AD, O_AS, O_TH, O_WU, O_AZ, O_AR, O_FD, O_FORCE, O_FIXED };

static const struct option longopts[] = {
	{ "models", required_argument, 0, 'm' }, { "readings", required_argument, 0, 'r' },
	{ "champion", required_argument, 0, 'c' }, { "out", required_argument, 0, 'o' },
	{ "windows", required_argument, 0, O_WIN }, { "horizon", required_argument, 0, O_H },
	{ "refit-origins", no_argument, 0, O_REFIT }, { "replace-margin", required_argument, 0, O_RM },
	{ "worse-margin", required_argument, 0, O_WM }, { "agg-tolerance", required_argument, 0, O_AT },
	{ "max-worse-share", required_argument, 0, O_MW }, { "anomaly-days", required_argument, 0, O_AD },
	{ "anomaly-share", required_argument, 0, O_AS }, { "threads", required_argument, 0, O_TH },
	{ "filter-warmup", required_argument, 0, O_WU }, { "anomaly-z", required_argument, 0, O_AZ },
	{ "anomaly-min-rel", required_argument, 0, O_AR }, { "flat-days", required_argument, 0, O_FD },
	{ "force", no_argument, 0, O_FORCE }, { "fixed-default", no_argument, 0, O_FIXED }, { "help", no_argument, 0, 'h' }, { 0, 0, 0, 0 }
};

/* Every value checked here, with the range the help states. */
static void parse_one(struct aq_evalset_opts *j, int c)
{
	switch (c) {
	case 'm': j->models = optarg; break;
	case 'r': j->readings = optarg; break;
	case 'c': j->champion = optarg; break;
	case 'o': j->out = optarg; break;
	case O_WIN: j->eo.windows = (int)cli_int("--windows", optarg, 0, AQ_EVAL_MAXWIN); break;
	case O_H: j->eo.horizon = (int)cli_int("--horizon", optarg, 1, 366); break;
	case O_REFIT: j->refit = 1; break;
	case O_RM: j->go.replace_margin = cli_real("--replace-margin", optarg, 0, 1, 0); break;
	case O_WM: j->go.worse_margin = cli_real("--worse-margin", optarg, 0, HUGE_VAL, 0); break;
	case O_AT: j->go.agg_tolerance = cli_real("--agg-tolerance", optarg, -1, HUGE_VAL, CLI_OPEN_LO); break;
	case O_MW: j->go.max_worse_share = cli_real("--max-worse-share", optarg, 0, 1, 0); break;
	case O_AD: j->eo.anomaly.days = (int)cli_int("--anomaly-days", optarg, 7, 56); break;
	case O_AZ: j->eo.anomaly.z = cli_real("--anomaly-z", optarg, 0, HUGE_VAL, CLI_OPEN_LO); break;
	case O_AR: j->eo.anomaly.min_rel = cli_real("--anomaly-min-rel", optarg, 0, HUGE_VAL, 0); break;
	case O_FD: j->eo.anomaly.flat_days = (int)cli_int("--flat-days", optarg, 2, 100000); break;
	case O_AS: j->eo.anomaly.share = cli_real("--anomaly-share", optarg, 0, 1, CLI_OPEN_LO); break;
	case O_TH: j->threads = (int)cli_int("--threads", optarg, 0, 1024); break;
	case O_WU: j->warmup = (long)cli_int("--filter-warmup", optarg, 0, 100000); break;
	case O_FORCE: j->force = 1; break;
	case O_FIXED: j->fixed_default = 1; break;
	case 'h': cli_help(help);
	}
}

int main(int argc, char **argv)
{
	struct aq_evalset_opts j;
	struct aq_err e = { 0 };
	json_t *sum = NULL;
	int c, rc, promoted = 0;

	cli_init(argv[0]);
	aq_evalset_opts_default(&j);
	while ((c = cli_getopt(argc, argv, "m:r:c:o:h", longopts)) != -1)
		parse_one(&j, c);
	if (optind < argc)
		cli_usage("unexpected argument '%s'", argv[optind]);
	if (!j.models || !j.readings || !j.out)
		cli_usage("--models, --readings and --out are required");
	rc = aq_evalset_run(&j, &sum, &promoted, &e);
	if (rc)
		return cli_fail_err(&e);
	cli_merge(sum);
	json_decref(sum);
	return cli_finish(promoted ? CLI_EXIT_OK : AQ_EVALSET_NOT_PROMOTED, NULL);
}
