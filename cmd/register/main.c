/* aquacast-register — track an evaluated model set as an MLflow run and model version (or in a local registry). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "log.h"
#include "register.h"

#ifndef AQ_GIT_REV
#define AQ_GIT_REV ""
#endif

static void usage(FILE *f)
{
	fputs("usage: aquacast-register --tracking-uri URI --eval DIR [--summary NAME=FILE ...] [options]\n"
	      "       aquacast-register --tracking-uri URI --resolve ALIAS\n"
	      "       aquacast-register --tracking-uri URI --download ALIAS DIR\n"
	      "\n"
	      "Registers evaluate's output DIR (DIR/models, DIR/metrics, summary.json, decision.json):\n"
	      "a run with tags, params and metrics (the timings of the jobs whose summary lines are\n"
	      "given, MASE, accounts ok/fallback/failed, the gate's figures), the version's files as an\n"
	      "MLflow Model (pyfunc) with a manifest (bytes, sha256), a new version of the registered\n"
	      "model and the alias 'champion' when decision.json says promoted, else 'challenger'.\n"
	      "A rerun for the same files completes the same run and version. The last stdout line\n"
	      "is a JSON summary.\n"
	      "\n"
	      "  --tracking-uri URI    http(s)://host:port (MLflow 3) or file:DIR (a local registry);\n"
	      "                        default $MLFLOW_TRACKING_URI. Credentials: MLFLOW_TRACKING_TOKEN,\n"
	      "                        or MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD\n"
	      "  --eval DIR            evaluate --out DIR to register\n"
	      "  --summary NAME=FILE   a job's stdout (its last line is its JSON summary): extract, train,\n"
	      "                        evaluate (default: DIR/summary.json); repeatable\n"
	      "  --experiment NAME     MLflow experiment (default aquacast)\n"
	      "  --model-name NAME     registered model (default aquacast-water-forecast)\n"
	      "  --key KEY             idempotency key (default: from the files' sha256)\n"
	      "  --airflow-run-id ID   tag of the run (default $AIRFLOW_CTX_DAG_RUN_ID)\n"
	      "  --libso PATH          libaquacast.so shipped in the version for the pyfunc (default:\n"
	      "                        build/pic/libaquacast.so or lib/libaquacast.so next to bin/)\n"
	      "  --no-libso            do not ship it (the pyfunc then needs $AQUACAST_LIBSO)\n"
	      "  --resolve ALIAS       print the version, run and artifact location of ALIAS\n"
	      "  --download ALIAS DIR  fetch the version's files into DIR (new), checked against the manifest\n"
	      "  --retries N           retries on connection errors and 5xx (default 4, backoff from 0.25 s)\n"
	      "  --timeout S           per-request timeout of the JSON calls (default 60)\n"
	      "  --limit-rate BYTES    upload rate limit in bytes/s (default none)\n"
	      "  -h, --help            this help\n"
	      "\n"
	      "exit: 0 ok, 1 failure, 2 usage\n",
	      f);
}

static void print_json(json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(6));
	printf("%s\n", s ? s : "{}");
	free(s);
}

static int fail_json(const char *what, const struct aq_err *e)
{
	aq_error("%s", e->msg);
	json_t *j = json_pack("{s:s,s:s}", "mode", what, "error", e->msg);
	print_json(j);
	json_decref(j);
	return 1;
}

/* bin/aquacast-register → <top>/build/pic/libaquacast.so, or <prefix>/lib/libaquacast.so. */
static char *default_libso(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
	if (n <= 0)
		return NULL;
	exe[n] = '\0';
	char *slash = strrchr(exe, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	const char *cands[] = {"../build/pic/libaquacast.so", "../lib/libaquacast.so"};
	for (size_t i = 0; i < 2; i++) {
		char p[PATH_MAX + 64];
		snprintf(p, sizeof p, "%s/%s", exe, cands[i]);
		if (access(p, R_OK) == 0)
			return realpath(p, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	aq_log_set_prog("aquacast-register");
	struct aq_register_opts o;
	aq_register_opts_default(&o);
	o.git_revision = AQ_GIT_REV;
	o.uri = getenv("MLFLOW_TRACKING_URI");
	const char *resolve = NULL, *download = NULL;
	char *libso = NULL;
	int no_libso = 0;
	enum { O_URI = 256, O_EVAL, O_SUMMARY, O_EXP, O_MODEL, O_KEY, O_AIRFLOW, O_LIBSO, O_NOLIBSO, O_RESOLVE,
	       O_DOWNLOAD, O_RETRIES, O_TIMEOUT, O_RATE };
	static const struct option lo[] = {
		{"tracking-uri", required_argument, 0, O_URI}, {"eval", required_argument, 0, O_EVAL},
		{"summary", required_argument, 0, O_SUMMARY}, {"experiment", required_argument, 0, O_EXP},
		{"model-name", required_argument, 0, O_MODEL}, {"key", required_argument, 0, O_KEY},
		{"airflow-run-id", required_argument, 0, O_AIRFLOW}, {"libso", required_argument, 0, O_LIBSO},
		{"no-libso", no_argument, 0, O_NOLIBSO}, {"resolve", required_argument, 0, O_RESOLVE},
		{"download", required_argument, 0, O_DOWNLOAD}, {"retries", required_argument, 0, O_RETRIES},
		{"timeout", required_argument, 0, O_TIMEOUT}, {"limit-rate", required_argument, 0, O_RATE},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0},
	};
	int c;
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		char *end = NULL;
		switch (c) {
		case O_URI: o.uri = optarg; break;
		case O_EVAL: o.eval_dir = optarg; break;
		case O_SUMMARY: {
			char *eq = strchr(optarg, '=');
			if (!eq || eq == optarg || !eq[1] || o.nsummaries == 7) {
				aq_error("bad --summary '%s' (NAME=FILE, at most 7)", optarg);
				return 2;
			}
			*eq = '\0';
			o.summary_names[o.nsummaries] = optarg;
			o.summary_files[o.nsummaries++] = eq + 1;
			break;
		}
		case O_EXP: o.experiment = optarg; break;
		case O_MODEL: o.model = optarg; break;
		case O_KEY: o.key = optarg; break;
		case O_AIRFLOW: o.airflow_run_id = optarg; break;
		case O_LIBSO: o.libso = optarg; break;
		case O_NOLIBSO: no_libso = 1; break;
		case O_RESOLVE: resolve = optarg; break;
		case O_DOWNLOAD: download = optarg; break;
		case O_RETRIES:
			o.http.retries = (int)strtol(optarg, &end, 10);
			if (*end || o.http.retries < 0 || o.http.retries > 20) {
				aq_error("bad --retries '%s' (0..20)", optarg);
				return 2;
			}
			break;
		case O_TIMEOUT: {
			double s = strtod(optarg, &end);
			if (*end || s <= 0) {
				aq_error("bad --timeout '%s' (seconds > 0)", optarg);
				return 2;
			}
			o.http.timeout_ms = (long)(s * 1000);
			break;
		}
		case O_RATE:
			o.http.max_send_bps = strtoll(optarg, &end, 10);
			if (*end || o.http.max_send_bps <= 0) {
				aq_error("bad --limit-rate '%s' (bytes/s > 0)", optarg);
				return 2;
			}
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!o.uri) {
		aq_error("--tracking-uri (or MLFLOW_TRACKING_URI) is required");
		usage(stderr);
		return 2;
	}
	struct aq_err e = {0};
	json_t *out = NULL;
	if (download) {
		if (optind != argc - 1 || resolve || o.eval_dir) {
			aq_error("--download takes ALIAS DIR (and no --eval/--resolve)");
			return 2;
		}
		if (aq_register_download(o.uri, o.model, download, argv[optind], &o.http, &out, &e))
			return fail_json("download", &e);
		aq_info("version %s (alias %s) downloaded into '%s' and verified", json_string_value(json_object_get(out, "version")),
			download, argv[optind]);
		print_json(out);
		json_decref(out);
		return 0;
	}
	if (optind != argc) {
		aq_error("unexpected argument '%s'", argv[optind]);
		return 2;
	}
	if (resolve) {
		if (o.eval_dir) {
			aq_error("--resolve takes no --eval");
			return 2;
		}
		if (aq_register_resolve(o.uri, o.model, resolve, &o.http, &out, &e))
			return fail_json("resolve", &e);
		printf("%s %s: version %s, run %s, %s\n", o.model, resolve, json_string_value(json_object_get(out, "version")),
		       json_string_value(json_object_get(out, "run_id")) ? json_string_value(json_object_get(out, "run_id")) : "-",
		       json_string_value(json_object_get(out, "location")));
		print_json(out);
		json_decref(out);
		return 0;
	}
	if (!o.eval_dir) {
		aq_error("--eval DIR is required (or --resolve / --download)");
		usage(stderr);
		return 2;
	}
	if (!o.libso && !no_libso) {
		o.libso = libso = default_libso();
		if (!o.libso)
			aq_warn("no libaquacast.so found (make so): the version's pyfunc will need $AQUACAST_LIBSO");
	}
	struct aq_register_stats st;
	int rc = aq_register_run(&o, &st, &e);
	if (rc)
		aq_error("%s", e.msg);
	else
		aq_info("%s version %s (alias %s, %s) from run %s%s: %llu files, %llu bytes in %.2f s", o.model, st.version,
			st.alias, st.promoted ? "promoted" : "not promoted", st.run_id, st.resumed ? " (resumed)" : "",
			(unsigned long long)st.files, (unsigned long long)st.bytes, st.seconds);
	json_t *j = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:b,s:b,s:I,s:I,s:f}", "mode", "register", "model", o.model,
			      "run_id", st.run_id, "version", st.version, "alias", st.alias, "key", st.key, "promoted",
			      st.promoted, "resumed", st.resumed, "files", (json_int_t)st.files, "bytes_uploaded",
			      (json_int_t)st.bytes, "seconds", st.seconds);
	if (rc)
		json_object_set_new(j, "error", json_string(e.msg));
	print_json(j);
	json_decref(j);
	free(libso);
	return rc ? 1 : 0;
}
