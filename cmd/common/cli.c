/* cli.c — the command-line kit of cmd/: option parsing with checked values, the JSON summary line, exit paths. */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "fs.h"
#include "log.h"

/* One process, one summary. */
static struct {
	char prog[64];
	json_t *sum;
	double t0;
	int to_stderr, printed;
} cli = { .prog = "aquacast" };

/* Every real in the summary with 10 significant digits (rows/s stays an integer-looking number). */
#define CLI_JSON_FLAGS (JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(10))

void cli_init(const char *argv0)
{
	const char *base = argv0 ? strrchr(argv0, '/') : NULL;

	snprintf(cli.prog, sizeof(cli.prog), "%s", base ? base + 1 : argv0 ? argv0 : "aquacast");
	aq_log_set_prog(cli.prog);
	cli.t0 = aq_now();
	cli.sum = json_object();
	json_object_set_new(cli.sum, "program", json_string(cli.prog));
}

const char *cli_prog(void) { return cli.prog; }

void cli_set_command(const char *cmd) { cli_set_str("command", cmd); }

void cli_summary_to_stderr(void) { cli.to_stderr = 1; }

void cli_set(const char *key, json_t *v)
{
	if (!cli.sum)
		cli.sum = json_object();
	json_object_set_new(cli.sum, key, v ? v : json_null());
}

void cli_set_int(const char *key, long long v) { cli_set(key, json_integer((json_int_t)v)); }

void cli_set_real(const char *key, double v) { cli_set(key, isfinite(v) ? json_real(v) : json_null()); }

void cli_set_str(const char *key, const char *v) { cli_set(key, v ? json_string(v) : json_null()); }

void cli_set_bool(const char *key, int v) { cli_set(key, json_boolean(v)); }

void cli_set_rate(const char *key, double n, double seconds) { cli_set_real(key, seconds > 0 ? n / seconds : 0); }

void cli_set_stream_rates(double seconds, double messages, double readings, double bytes)
{
	cli_set_real("seconds", seconds);
	cli_set_rate("messages_per_s", messages, seconds);
	cli_set_rate("readings_per_s", readings, seconds);
	cli_set_rate("bytes_per_s", bytes, seconds);
}

void cli_merge(const json_t *obj)
{
	const char *k;
	json_t *v;

	json_object_foreach((json_t *)obj, k, v)
		cli_set(k, json_deep_copy(v));
}

/* ---------------------------------------------------------------- the summary and the exits */

int cli_finish(int code, const char *err)
{
	int ok = !err && code != CLI_EXIT_FAIL && code != CLI_EXIT_USAGE;
	FILE *f = cli.to_stderr ? stderr : stdout;
	char *line;

	if (cli.printed)
		return code;
	cli.printed = 1;
	if (fflush(stdout) != 0 && ok) { /* the data did not get out: a failure */
		ok = 0, code = CLI_EXIT_FAIL, err = "cannot write to stdout";
		aq_error("%s", err);
	}
	if (!cli.sum)
		cli.sum = json_object();
	cli_set_bool("ok", ok);
	cli_set_int("exit_code", code);
	if (!json_object_get(cli.sum, "seconds"))
		cli_set_real("seconds", round((aq_now() - cli.t0) * 1000) / 1000);
	if (!ok)
		cli_set_str("error", err ? err : code == CLI_EXIT_USAGE ? "usage" : "failed");
	if (f == stderr)
		aq_log_clear_progress();
	if ((line = json_dumps(cli.sum, CLI_JSON_FLAGS))) {
		fprintf(f, "%s\n", line);
		free(line);
	}
	fflush(f);
	json_decref(cli.sum);
	cli.sum = NULL;
	return code;
}

int cli_fail(const char *fmt, ...)
{
	char msg[AQ_ERR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	aq_error("%s", msg);
	return cli_finish(CLI_EXIT_FAIL, msg);
}

int cli_fail_err(const struct aq_err *e)
{
	return cli_fail("%s", e->msg[0] ? e->msg : aq_err_name(e->code));
}

void cli_usage(const char *fmt, ...)
{
	char msg[AQ_ERR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	aq_error("%s (see %s --help)", msg, cli.prog);
	exit(cli_finish(CLI_EXIT_USAGE, msg));
}

void cli_help(const char *text)
{
	fputs(text, stdout);
	exit(fflush(stdout) ? CLI_EXIT_FAIL : CLI_EXIT_OK);
}

/* ---------------------------------------------------------------- getopt */

/* The option as the user wrote it, for messages: argv[optind - 1] is the last word getopt looked at. */
static const char *offending(int argc, char **argv, char *buf, size_t n)
{
	const char *w = optind - 1 < argc && optind > 0 ? argv[optind - 1] : "?";

	if (optopt > 0 && optopt < 256 && strncmp(w, "--", 2)) {
		snprintf(buf, n, "-%c", optopt);
		return buf;
	}
	snprintf(buf, n, "%.*s", (int)strcspn(w, "="), w);
	return buf;
}

int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *lo)
{
	char so[128], name[128];
	int c;

	snprintf(so, sizeof(so), ":%s", shortopts);
	opterr = 0;
	c = getopt_long(argc, argv, so, lo, NULL);
	if (c == ':')
		cli_usage("missing value for '%s'", offending(argc, argv, name, sizeof(name)));
	if (c == '?') {
		const char *w = offending(argc, argv, name, sizeof(name));

		if (optopt && optind > 0 && strchr(argv[optind - 1], '='))
			cli_usage("option '%s' takes no value", w);
		cli_usage("unknown option '%s'", w);
	}
	return c;
}

/* ---------------------------------------------------------------- values */

void cli_bad_value(const char *opt, const char *val, const char *want_fmt, ...)
{
	char want[256];
	va_list ap;

	va_start(ap, want_fmt);
	vsnprintf(want, sizeof(want), want_fmt, ap);
	va_end(ap);
	cli_usage("invalid value '%s' for %s (%s)", val, opt, want);
}

int cli_parse_int(const char *s, long long lo, long long hi, long long *out)
{
	char *end;
	long long v;

	if (!s || !*s || *s == ' ' || *s == '\t')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

long long cli_int(const char *opt, const char *s, long long lo, long long hi)
{
	long long v;

	if (!cli_parse_int(s, lo, hi, &v))
		return v;
	if (hi == LLONG_MAX)
		cli_bad_value(opt, s, "an integer >= %lld", lo);
	cli_bad_value(opt, s, "an integer %lld..%lld", lo, hi);
}

int cli_parse_real(const char *s, double lo, double hi, unsigned open, double *out)
{
	char *end;
	double v;

	if (!s || !*s || *s == ' ' || *s == '\t')
		return -1;
	errno = 0;
	v = strtod(s, &end);
	if (*end || !isfinite(v) || v < lo || v > hi)
		return -1;
	if (((open & CLI_OPEN_LO) && v == lo) || ((open & CLI_OPEN_HI) && v == hi))
		return -1;
	*out = v;
	return 0;
}

const char *cli_real_want(double lo, double hi, unsigned open, char *buf, size_t n)
{
	const char *ge = open & CLI_OPEN_LO ? ">" : ">=", *le = open & CLI_OPEN_HI ? "<" : "<=";

	if (isinf(lo) && isinf(hi))
		snprintf(buf, n, "a finite number");
	else if (isinf(hi))
		snprintf(buf, n, "a number %s %g", ge, lo);
	else if (isinf(lo))
		snprintf(buf, n, "a number %s %g", le, hi);
	else
		snprintf(buf, n, "a number in %c%g, %g%c", open & CLI_OPEN_LO ? '(' : '[', lo, hi,
			 open & CLI_OPEN_HI ? ')' : ']');
	return buf;
}

double cli_real(const char *opt, const char *s, double lo, double hi, unsigned open)
{
	char want[96];
	double v;

	if (!cli_parse_real(s, lo, hi, open, &v))
		return v;
	cli_bad_value(opt, s, "%s", cli_real_want(lo, hi, open, want, sizeof(want)));
}

int cli_choice(const char *opt, const char *s, const struct cli_choice *tab)
{
	char want[256] = "one of ";
	size_t len = strlen(want);

	for (const struct cli_choice *t = tab; t->name; t++)
		if (!strcmp(s, t->name))
			return t->value;
	for (const struct cli_choice *t = tab; t->name && len < sizeof(want); t++)
		len += (size_t)snprintf(want + len, sizeof(want) - len, "%s%s", t == tab ? "" : "|", t->name);
	cli_bad_value(opt, s, "%s", want);
}

int32_t cli_date(const char *opt, const char *s)
{
	struct aq_err e = { 0 };
	int32_t d;

	if (strlen(s) != 10 || aq_date_parse(s, 10, &d, &e))
		cli_bad_value(opt, s, "a date YYYY-MM-DD");
	return d;
}

int64_t cli_account(const char *opt, const char *s)
{
	long long v;

	if (cli_parse_int(s, 1, INT64_MAX, &v))
		cli_bad_value(opt, s, "an account id, an integer >= 1");
	return (int64_t)v;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

	return (x > y) - (x < y);
}

/* Split buf in place on commas and blanks; every word an account id. */
static size_t split_ids(const char *opt, const char *arg, char *buf, int64_t **ids)
{
	size_t cap = 16, k = 0;
	int64_t *v = malloc(cap * sizeof(*v));
	char *save = NULL;

	for (char *t = strtok_r(buf, ", \n\r\t", &save); t && v; t = strtok_r(NULL, ", \n\r\t", &save)) {
		long long x;

		if (cli_parse_int(t, 1, INT64_MAX, &x))
			cli_bad_value(opt, arg, "account ids >= 1 separated by commas, or @FILE; not '%s'", t);
		if (k == cap) {
			int64_t *nv = realloc(v, 2 * cap * sizeof(*v));

			if (!nv)
				free(v);
			v = nv;
			cap *= 2;
		}
		if (v)
			v[k++] = (int64_t)x;
	}
	if (!v)
		exit(cli_fail("out of memory reading %s", opt));
	*ids = v;
	return k;
}

void cli_accounts(const char *opt, const char *s, int64_t **ids, size_t *n)
{
	struct aq_err e = { 0 };
	char *buf = NULL;
	size_t len, k = 0;

	if (s[0] == '@') {
		if (aq_fs_read_all(s + 1, &buf, &len, &e))
			cli_bad_value(opt, s, "%s", e.msg);
	} else if (!(buf = strdup(s))) {
		exit(cli_fail("out of memory reading %s", opt));
	}
	*n = split_ids(opt, s, buf, ids);
	free(buf);
	if (!*n)
		cli_bad_value(opt, s, "at least one account id");
	qsort(*ids, *n, sizeof(**ids), cmp_i64);
	for (size_t i = 0; i < *n; i++)
		if (i == 0 || (*ids)[i] != (*ids)[i - 1])
			(*ids)[k++] = (*ids)[i];
	*n = k;
}
