/* aquacast-train — fit one ARIMA model per account into a new model set; or print one account's forecast. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "date.h"
#include "fs.h"
#include "log.h"
#include "model.h"
#include "shard.h"
#include "stop.h"
#include "train.h"

static void usage(FILE *f)
{
	fputs("usage: aquacast-train --readings DATASET --out MODELSET [--prev MODELSET] [options]\n"
	      "       aquacast-train --forecast MODELSET --account ID [--days 30]\n"
	      "\n"
	      "Fits every account of the readings dataset (one ARIMA per account, Hyndman-Khandakar\n"
	      "stepwise search as R's auto.arima) and writes a complete new model set (a new\n"
	      "directory per run; accounts without new data are carried over from --prev).\n"
	      "The last stdout line is a JSON summary.\n"
	      "\n"
	      "options:\n"
	      "  --mode full|refit|update|auto  full: order search for every account (default);\n"
	      "                        refit: previous orders re-estimated (warm start; a rejected refit\n"
	      "                        keeps the previous coefficients, as update); update: previous\n"
	      "                        coefficients, filter over the new days; auto: refit, search again\n"
	      "                        where the previous model's one-step errors on the new days have\n"
	      "                        mean z^2 > --auto-z2\n"
	      "  --season 0|7          seasonal period of the search (default 7)\n"
	      "  --threads N           worker threads (default: all cores)\n"
	      "  --unit auto|part|account  work unit of the threads (default auto: whole parts when\n"
	      "                        there are at least 2 parts per thread, else accounts)\n"
	      "  --accounts LIST       only these accounts (comma-separated, or @FILE one per line);\n"
	      "                        others in --prev are carried over\n"
	      "  --until DATE          use readings up to DATE (YYYY-MM-DD) only\n"
	      "  --window DAYS         fit on the last DAYS days of each series (default 0 = all)\n"
	      "  --min-obs N           fewer valid days -> mean fallback (default 14)\n"
	      "  --auto-z2 X           auto-mode threshold (default 2.0)\n"
	      "  --max-p/--max-q/--max-P/--max-Q N  search bounds (default 5/5/2/2)\n"
	      "  --no-warm-start       start every candidate from zeros (as R)\n"
	      "  --exact-missing       estimate with the exact likelihood over missing days (slow, as R);\n"
	      "                        default: interior gaps imputed for estimation only\n"
	      "  --hampel-t X          outlier threshold in robust sd (default 5)\n"
	      "  --forecast MODELSET   print a forecast of --account for --days days (80/95% intervals,\n"
	      "                        clipped at 0) and the period total\n"
	      "  -h, --help            this help\n"
	      "\n"
	      "exit: 0 ok, 1 failure, 2 usage\n",
	      f);
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* "1,2,3" or "@file" (one id per line) into a sorted array. */
static int parse_accounts(const char *arg, int64_t **out, size_t *n)
{
	char *buf = NULL;
	if (arg[0] == '@') {
		size_t len;
		struct aq_err e = {0};
		if (aq_fs_read_all(arg + 1, &buf, &len, &e)) {
			aq_error("%s", e.msg);
			return -1;
		}
	} else {
		buf = strdup(arg);
	}
	if (!buf)
		return -1;
	size_t cap = 16, k = 0;
	int64_t *v = malloc(cap * sizeof *v);
	char *save = NULL;
	for (char *t = strtok_r(buf, ", \n\r\t", &save); t && v; t = strtok_r(NULL, ", \n\r\t", &save)) {
		char *end;
		errno = 0;
		long long x = strtoll(t, &end, 10);
		if (errno || *end) {
			aq_error("bad account id '%s'", t);
			free(v);
			free(buf);
			return -1;
		}
		if (k == cap) {
			int64_t *nv = realloc(v, 2 * cap * sizeof *v);
			if (!nv) {
				free(v);
				v = NULL;
				break;
			}
			v = nv;
			cap *= 2;
		}
		v[k++] = x;
	}
	free(buf);
	if (!v)
		return -1;
	qsort(v, k, sizeof *v, cmp_i64);
	*out = v;
	*n = k;
	return 0;
}

static int do_forecast(const char *set, int64_t account, int days)
{
	struct aq_err e = {0};
	struct aq_dataset ds;
	if (aq_modelset_open(&ds, set, NULL, &e)) {
		aq_error("%s", e.msg);
		return 1;
	}
	struct aq_model_part part;
	aq_model_part_init(&part);
	int rc = aq_model_read_part(&ds, aq_part_of(account, ds.parts), &part, &e);
	aq_dataset_release(&ds);
	if (rc) {
		aq_error("%s", e.msg);
		return 1;
	}
	struct aq_model_row *r = aq_model_part_find(&part, account);
	if (!r) {
		aq_error("account '%lld' not found in model set '%s'", (long long)account, set);
		aq_model_part_release(&part);
		printf("{\"error\":\"account not found\"}\n");
		return 1;
	}
	double *mean = malloc((size_t)days * sizeof *mean), *sd = malloc((size_t)days * sizeof *sd);
	double tot, tsd;
	if (!mean || !sd || aq_model_forecast(r, days, mean, sd, &e) ||
	    aq_model_forecast_total(r, 0, days, &tot, &tsd, &e)) {
		aq_error("cannot forecast account '%lld': %s", (long long)account, e.msg);
		free(mean);
		free(sd);
		aq_model_part_release(&part);
		return 1;
	}
	char d0[AQ_DATE_STRLEN];
	printf("# account %lld  model %s  status %s%s%s  trained until %s\n", (long long)account,
	       r->spec_str, aq_model_status_name(r->status), r->reason && r->reason[0] ? " — " : "",
	       r->reason ? r->reason : "", aq_date_format(r->trained_until, d0));
	printf("%-10s %9s %9s %9s %9s %9s\n", "date", "mean", "lo80", "hi80", "lo95", "hi95");
	json_t *arr = json_array();
	for (int i = 0; i < days; i++) {
		double m80 = mean[i], m95 = mean[i], lo80, hi80, lo95, hi95;
		aq_model_clip(&m80, sd[i], 0.80, &lo80, &hi80);
		aq_model_clip(&m95, sd[i], 0.95, &lo95, &hi95);
		char ds_[AQ_DATE_STRLEN];
		aq_date_format(r->trained_until + 1 + i, ds_);
		printf("%-10s %9.3f %9.3f %9.3f %9.3f %9.3f\n", ds_, m80, lo80, hi80, lo95, hi95);
		json_array_append_new(arr, json_real(m80));
	}
	double t80 = tot, t95 = tot, tlo80, thi80, tlo95, thi95;
	aq_model_clip(&t80, tsd, 0.80, &tlo80, &thi80);
	aq_model_clip(&t95, tsd, 0.95, &tlo95, &thi95);
	printf("%-10s %9.3f %9.3f %9.3f %9.3f %9.3f\n", "total", t80, tlo80, thi80, tlo95, thi95);
	json_t *j = json_pack("{s:I,s:s,s:s,s:i,s:o,s:f,s:[f,f],s:[f,f]}", "account", (json_int_t)account,
			      "model", r->spec_str, "status", aq_model_status_name(r->status), "days", days,
			      "mean", arr, "total", t80, "total80", tlo80, thi80, "total95", tlo95, thi95);
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
	printf("%s\n", s);
	free(s);
	json_decref(j);
	free(mean);
	free(sd);
	aq_model_part_release(&part);
	return 0;
}

int main(int argc, char **argv)
{
	aq_log_set_prog("aquacast-train");
	struct aq_train_opts o;
	aq_train_opts_default(&o);
	const char *readings = NULL, *out = NULL, *prev = NULL, *fc = NULL;
	int64_t account = -1;
	int days = 30, have_account = 0;
	int64_t *accounts = NULL;
	enum { O_MODE = 256, O_SEASON, O_ACCOUNTS, O_UNTIL, O_WINDOW, O_MINOBS, O_AUTOZ2, O_MAXP, O_MAXQ,
	       O_MAXSP, O_MAXSQ, O_NOWARM, O_EXACTMISS, O_HAMPEL, O_FORECAST, O_ACCOUNT, O_DAYS, O_UNIT };
	static const struct option lo[] = {
		{"readings", required_argument, 0, 'r'}, {"out", required_argument, 0, 'o'},
		{"prev", required_argument, 0, 'p'}, {"mode", required_argument, 0, O_MODE},
		{"season", required_argument, 0, O_SEASON}, {"threads", required_argument, 0, 't'},
		{"accounts", required_argument, 0, O_ACCOUNTS}, {"until", required_argument, 0, O_UNTIL},
		{"window", required_argument, 0, O_WINDOW}, {"min-obs", required_argument, 0, O_MINOBS},
		{"auto-z2", required_argument, 0, O_AUTOZ2}, {"max-p", required_argument, 0, O_MAXP},
		{"max-q", required_argument, 0, O_MAXQ}, {"max-P", required_argument, 0, O_MAXSP},
		{"max-Q", required_argument, 0, O_MAXSQ}, {"no-warm-start", no_argument, 0, O_NOWARM},
		{"exact-missing", no_argument, 0, O_EXACTMISS},
		{"hampel-t", required_argument, 0, O_HAMPEL}, {"forecast", required_argument, 0, O_FORECAST},
		{"account", required_argument, 0, O_ACCOUNT}, {"days", required_argument, 0, O_DAYS},
		{"unit", required_argument, 0, O_UNIT},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	int c;
	struct aq_err e = {0};
	while ((c = getopt_long(argc, argv, "r:o:p:t:h", lo, NULL)) != -1) {
		char *end = NULL;
		switch (c) {
		case 'r': readings = optarg; break;
		case 'o': out = optarg; break;
		case 'p': prev = optarg; break;
		case 't': o.threads = atoi(optarg); break;
		case O_MODE:
			if (aq_train_mode_parse(optarg, &o.mode)) {
				aq_error("bad mode '%s' (full|refit|update|auto)", optarg);
				return 2;
			}
			break;
		case O_SEASON:
			o.search.season = atoi(optarg);
			if (o.search.season != 0 && o.search.season != 7) {
				aq_error("bad season '%s' (0 or 7)", optarg);
				return 2;
			}
			break;
		case O_ACCOUNTS:
			if (parse_accounts(optarg, &accounts, &o.naccounts))
				return 2;
			o.accounts = accounts;
			break;
		case O_UNTIL:
			if (aq_date_parse(optarg, (int)strlen(optarg), &o.series.until, &e)) {
				aq_error("bad --until: %s", e.msg);
				return 2;
			}
			break;
		case O_WINDOW: o.series.window = atoi(optarg); break;
		case O_MINOBS: o.min_obs = atoi(optarg); break;
		case O_AUTOZ2: o.auto_z2 = strtod(optarg, &end); break;
		case O_MAXP: o.search.max_p = atoi(optarg); break;
		case O_MAXQ: o.search.max_q = atoi(optarg); break;
		case O_MAXSP: o.search.max_P = atoi(optarg); break;
		case O_MAXSQ: o.search.max_Q = atoi(optarg); break;
		case O_NOWARM: o.search.warm_start = 0; break;
		case O_EXACTMISS: o.search.exact_missing = 1; break;
		case O_HAMPEL: o.series.t = strtod(optarg, &end); break;
		case O_FORECAST: fc = optarg; break;
		case O_ACCOUNT: account = strtoll(optarg, &end, 10); have_account = 1; break;
		case O_DAYS: days = atoi(optarg); break;
		case O_UNIT:
			if (strcmp(optarg, "auto") == 0)
				o.unit = 0;
			else if (strcmp(optarg, "part") == 0)
				o.unit = 1;
			else if (strcmp(optarg, "account") == 0)
				o.unit = 2;
			else {
				aq_error("bad unit '%s' (auto|part|account)", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc) {
		aq_error("unexpected argument '%s'", argv[optind]);
		usage(stderr);
		return 2;
	}
	if (fc) {
		if (!have_account || days <= 0 || days > 3660) {
			aq_error("--forecast needs --account ID and --days in 1..3660");
			return 2;
		}
		return do_forecast(fc, account, days);
	}
	if (!readings || !out) {
		aq_error("--readings and --out are required");
		usage(stderr);
		return 2;
	}
	if (o.mode != AQ_TRAIN_FULL && !prev)
		aq_warn("mode '%s' without --prev: every account gets a full search", aq_train_mode_name(o.mode));
	o.progress = 1;   /* a TTY line, or a log line every 10 s elsewhere (lib/log.h) */
	struct aq_train_stats st;
	o.stop = &aq_stop_requested; /* SIGINT/SIGTERM: stop, seal nothing */
	int rc = aq_stop_install(&e) ? 1 : aq_train_run(readings, out, prev, &o, &st, &e);
	if (rc)
		aq_error("%s", e.msg);
	else
		aq_info("%llu accounts (%llu ok, %llu fallback, %llu failed; searched %llu, refitted %llu, updated %llu, "
			"re-searched %llu, carried %llu) in %.1f s",
			(unsigned long long)st.accounts, (unsigned long long)st.ok, (unsigned long long)st.fallback,
			(unsigned long long)st.failed, (unsigned long long)st.searched,
			(unsigned long long)st.refitted, (unsigned long long)st.updated,
			(unsigned long long)st.researched, (unsigned long long)st.carried, st.seconds);
	json_t *j = json_pack("{s:I,s:I,s:I,s:I,s:f,s:f,s:f,s:i,s:s,s:I,s:I,s:I,s:I,s:I,s:I,s:i,s:s}",
			      "accounts", (json_int_t)st.accounts, "ok", (json_int_t)st.ok, "fallback",
			      (json_int_t)st.fallback, "failed", (json_int_t)st.failed, "seconds", st.seconds,
			      "fit_ms_median", st.fit_ms_median, "fit_ms_p99", st.fit_ms_p99, "threads", st.threads,
			      "mode", aq_train_mode_name(o.mode), "readings", (json_int_t)st.readings, "searched",
			      (json_int_t)st.searched, "refitted", (json_int_t)st.refitted, "updated",
			      (json_int_t)st.updated, "researched", (json_int_t)st.researched, "carried",
			      (json_int_t)st.carried, "season", o.search.season, "out", out);
	json_object_set_new(j, "unit", json_string(st.unit_parts ? "part" : "account"));
	if (prev)
		json_object_set_new(j, "new_days", json_integer(st.new_days));
	if (rc)
		json_object_set_new(j, "error", json_string(e.msg));
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
	printf("%s\n", s);
	free(s);
	json_decref(j);
	free(accounts);
	return rc ? 1 : 0;
}
