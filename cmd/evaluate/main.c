/* aquacast-evaluate — score a model set on new readings and a rolling backtest, choose the served forecaster, gate promotion. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <jansson.h>

#include "evalset.h"
#include "log.h"

static void usage(FILE *f)
{
	fputs("usage: aquacast-evaluate --models MODELSET --readings DATASET --out DIR [--champion MODELSET] [options]\n"
	      "\n"
	      "Scores every account's model on the days that arrived after its TrainedUntil (new data) and on\n"
	      "a rolling-origin backtest of the last K windows of H days, next to three references\n"
	      "(snaive7, mean28, median28) and the combination of ARIMA with the best reference; chooses\n"
	      "the served forecaster per account (docs/accuracy.md) and writes:\n"
	      "  DIR/metrics/    Parquet dataset \"aquacast.metrics\" (one row per account, scope, forecaster)\n"
	      "  DIR/models/     the model set with Served/ServedMargin set (a new copy)\n"
	      "  DIR/summary.json, DIR/decision.json (champion/challenger gate, read by register)\n"
	      "The last stdout line is a JSON summary.\n"
	      "\n"
	      "options:\n"
	      "  --windows K             backtest windows (default 4; 0 = none)\n"
	      "  --horizon H             days per window (default 30)\n"
	      "  --refit-origins         re-estimate the coefficients at every backtest origin (same\n"
	      "                          orders, warm start; its time is reported) instead of filtering\n"
	      "  --filter-warmup DAYS    a backtest origin's filter starts DAYS before the first origin\n"
	      "                          (default 180; 0 = from the model's first day: exact, slower)\n"
	      "  --champion MODELSET     the current champion: gate the new set against it\n"
	      "  --replace-margin X      an account's challenger replaces the champion when its new-data MAE\n"
	      "                          is lower by at least X (relative, default 0.02)\n"
	      "  --worse-margin X        an account is worse when its MAE is higher by more than X (0.05)\n"
	      "  --agg-tolerance X       promote only if mean MASE <= champion's * (1 + X) (default 0)\n"
	      "  --max-worse-share X     ... and at most this share of compared accounts worse (0.35)\n"
	      "  --anomaly-days W        longest recent window tested for a level shift (default 28,\n"
	      "                          windows of 7, 14, .. W days; lib/anomaly.h)\n"
	      "  --anomaly-z Z           |z| of the shift against the account's history (default 4.5)\n"
	      "  --anomaly-min-rel X     and |shift| >= X times typical use (default 0.2)\n"
	      "  --anomaly-share X       share of the window's days on the shift's side of the\n"
	      "                          served forecast (default 0.7)\n"
	      "  --flat-days F           equal readings (stuck meter, vacancy) flagged (default 14)\n"
	      "  --force                 replace an existing --out atomically (the old one stays whole\n"
	      "                          until the new one is sealed)\n"
	      "  --threads N             worker threads (default: all cores)\n"
	      "  -h, --help              this help\n"
	      "\n"
	      "exit: 0 evaluated and promoted (or no champion), 3 evaluated but not promoted,\n"
	      "      1 failure, 2 usage\n",
	      f);
}
static double num(const char *s, const char *opt, int *bad)
{
	char *end;
	double v = strtod(s, &end);
	if (*s == 0 || *end || !isfinite(v)) {
		fprintf(stderr, "aquacast-evaluate: invalid number '%s' for %s\n", s, opt);
		*bad = 1;
	}
	return v;
}

int main(int argc, char **argv)
{
	aq_log_set_prog("aquacast-evaluate");
	struct aq_evalset_opts j;
	aq_evalset_opts_default(&j);
	int bad = 0;
	enum { O_WIN = 256, O_H, O_REFIT, O_RM, O_WM, O_AT, O_MW, O_AD, O_AS, O_TH, O_WU, O_AZ, O_AR, O_FD, O_FORCE };
	static const struct option lo[] = {
		{"models", required_argument, 0, 'm'},     {"readings", required_argument, 0, 'r'},
		{"champion", required_argument, 0, 'c'},   {"out", required_argument, 0, 'o'},
		{"windows", required_argument, 0, O_WIN},  {"horizon", required_argument, 0, O_H},
		{"refit-origins", no_argument, 0, O_REFIT}, {"replace-margin", required_argument, 0, O_RM},
		{"worse-margin", required_argument, 0, O_WM}, {"agg-tolerance", required_argument, 0, O_AT},
		{"max-worse-share", required_argument, 0, O_MW}, {"anomaly-days", required_argument, 0, O_AD},
		{"anomaly-share", required_argument, 0, O_AS}, {"threads", required_argument, 0, O_TH}, {"filter-warmup", required_argument, 0, O_WU},
		{"anomaly-z", required_argument, 0, O_AZ}, {"anomaly-min-rel", required_argument, 0, O_AR},
		{"flat-days", required_argument, 0, O_FD}, {"force", no_argument, 0, O_FORCE},
		{"help", no_argument, 0, 'h'},             {0, 0, 0, 0}};
	int c;
	while ((c = getopt_long(argc, argv, "m:r:c:o:h", lo, NULL)) != -1) {
		switch (c) {
		case 'm': j.models = optarg; break;
		case 'r': j.readings = optarg; break;
		case 'c': j.champion = optarg; break;
		case 'o': j.out = optarg; break;
		case O_WIN: j.eo.windows = (int)num(optarg, "--windows", &bad); break;
		case O_H: j.eo.horizon = (int)num(optarg, "--horizon", &bad); break;
		case O_REFIT: j.refit = 1; break;
		case O_FORCE: j.force = 1; break;
		case O_RM: j.go.replace_margin = num(optarg, "--replace-margin", &bad); break;
		case O_WM: j.go.worse_margin = num(optarg, "--worse-margin", &bad); break;
		case O_AT: j.go.agg_tolerance = num(optarg, "--agg-tolerance", &bad); break;
		case O_MW: j.go.max_worse_share = num(optarg, "--max-worse-share", &bad); break;
		case O_AD: j.eo.anomaly.days = (int)num(optarg, "--anomaly-days", &bad); break;
		case O_AZ: j.eo.anomaly.z = num(optarg, "--anomaly-z", &bad); break;
		case O_AR: j.eo.anomaly.min_rel = num(optarg, "--anomaly-min-rel", &bad); break;
		case O_FD: j.eo.anomaly.flat_days = (int)num(optarg, "--flat-days", &bad); break;
		case O_AS: j.eo.anomaly.share = num(optarg, "--anomaly-share", &bad); break;
		case O_TH: j.threads = (int)num(optarg, "--threads", &bad); break;
		case O_WU: j.warmup = (long)num(optarg, "--filter-warmup", &bad); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (bad)
		return 2;
	if (optind < argc || !j.models || !j.readings || !j.out) {
		fprintf(stderr, "aquacast-evaluate: --models, --readings and --out are required\n");
		usage(stderr);
		return 2;
	}
	if (j.eo.windows < 0 || j.eo.windows > 64 || j.eo.horizon < 1 || j.eo.horizon > 366 || j.eo.anomaly.days < 7 || j.eo.anomaly.days > 56 ||
	    j.eo.anomaly.flat_days < 2 || j.eo.anomaly.z <= 0 || j.eo.anomaly.min_rel < 0 || j.warmup < 0 ||
	    j.eo.anomaly.share <= 0 || j.eo.anomaly.share > 1 || j.go.max_worse_share < 0 || j.go.max_worse_share > 1) {
		fprintf(stderr, "aquacast-evaluate: option out of range (windows 0..64, horizon 1..366, "
				"anomaly-days 7..56, flat-days >= 2, anomaly-z > 0, shares in (0, 1])\n");
		return 2;
	}
	double t0 = aq_now();
	struct aq_err e = {0};
	json_t *sum = NULL;
	int promoted = 0;
	int rc = aq_evalset_run(&j, &sum, &promoted, &e);
	if (rc) {
		aq_error("%s", e.msg[0] ? e.msg : aq_err_name(rc));
		sum = json_object();
		json_object_set_new(sum, "error", json_string(e.msg));
		json_object_set_new(sum, "seconds", json_real(aq_now() - t0));
	}
	char *line = json_dumps(sum, JSON_COMPACT | JSON_REAL_PRECISION(6));
	if (line)
		puts(line);
	free(line);
	json_decref(sum);
	return rc ? 1 : promoted ? 0 : AQ_EVALSET_NOT_PROMOTED;
}
