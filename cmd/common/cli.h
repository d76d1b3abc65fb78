/* cli.h — the command-line kit of cmd/: checked option values, the one-line JSON summary, exit codes, messages. */
#ifndef AQ_CMD_CLI_H
#define AQ_CMD_CLI_H

/*
 * Every binary: cli_init(argv[0]) first; options through cli_getopt() and the
 * cli_* parsers (a bad value is a usage error: "PROG: error: invalid value 'V'
 * for --OPT (what is expected)", the summary line, exit 2); summary keys with
 * cli_set_*(); the end through cli_finish() (or cli_fail*, cli_usage).
 *
 * The summary is one JSON object on one line: "program" (the binary's name
 * without its path), "command" (the subcommand, where there is one), the
 * binary's own keys, then "ok" (true unless the exit code is 1 or 2),
 * "exit_code", "seconds" (wall time since cli_init, unless the binary set its
 * own) and, on failure, "error". It is the last line of stdout, or of stderr
 * after cli_summary_to_stderr() (when stdout carries data, e.g. a CSV stream).
 * --help prints the help to stdout and exits 0 without a summary.
 *
 * Exit codes: 0 ok, 1 failure, 2 usage; a binary may document more (evaluate's
 * 3, evaluated but not promoted: "ok" stays true).
 */

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "err.h"

enum { CLI_EXIT_OK = 0, CLI_EXIT_FAIL = 1, CLI_EXIT_USAGE = 2 };

/* Program name (path stripped) for messages and logs, the clock, an empty summary. */
void cli_init(const char *argv0);
const char *cli_prog(void);
/* The subcommand, as the summary's "command" (shard verify, stream-replay seed). */
void cli_set_command(const char *cmd);
/* From now on the summary goes to stderr: stdout carries data. */
void cli_summary_to_stderr(void);

/* Summary keys, in the order first set (a later set replaces the value). cli_set steals v. */
void cli_set(const char *key, json_t *v);
void cli_set_int(const char *key, long long v);
void cli_set_real(const char *key, double v); /* NaN or infinite: null */
void cli_set_str(const char *key, const char *v); /* NULL: null */
void cli_set_bool(const char *key, int v);
/* A throughput: n / seconds, 0 when no time was measured. */
void cli_set_rate(const char *key, double n, double seconds);
/* A stream's "seconds", then "messages_per_s", "readings_per_s", "bytes_per_s" (extract --kafka, stream-replay). */
void cli_set_stream_rates(double seconds, double messages, double readings, double bytes);
/* Copy every key of obj into the summary (obj is left as it is). */
void cli_merge(const json_t *obj);

/* Print the summary (err: its "error", or NULL) once and return code. */
int cli_finish(int code, const char *err);
/* Log the error, print the summary with it, return 1. */
int cli_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_fail_err(const struct aq_err *e);
/* A usage error: the message and a pointer to --help on stderr, the summary, exit 2. */
_Noreturn void cli_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* --help: text to stdout, exit 0. */
_Noreturn void cli_help(const char *text);

/*
 * getopt_long with the kit's messages: an unknown option, or a value missing
 * or given where none is taken, is a usage error (never returns '?' or ':').
 */
int cli_getopt(int argc, char **argv, const char *shortopts, const struct option *lo);

/* Checked values: on a bad value cli_bad_value (exit 2). opt is how the user wrote it ("--max-p"). */
_Noreturn void cli_bad_value(const char *opt, const char *val, const char *want_fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A decimal integer in [lo, hi]. */
long long cli_int(const char *opt, const char *s, long long lo, long long hi);
/* A finite number in the interval lo..hi, each end closed unless CLI_OPEN_LO / CLI_OPEN_HI. */
enum { CLI_OPEN_LO = 1, CLI_OPEN_HI = 2 };
double cli_real(const char *opt, const char *s, double lo, double hi, unsigned open);
/* One of the names of tab (ended by a NULL name): its value. */
struct cli_choice {
	const char *name;
	int value;
};
int cli_choice(const char *opt, const char *s, const struct cli_choice *tab);
/* A date YYYY-MM-DD (lib/date.h: days since 1970-01-01). */
int32_t cli_date(const char *opt, const char *s);
/* An account id: a decimal integer >= 1. */
int64_t cli_account(const char *opt, const char *s);
/* "1,2,3" or "@FILE" (ids separated by commas, blanks or lines): sorted, unique, malloc'ed. */
void cli_accounts(const char *opt, const char *s, int64_t **ids, size_t *n);

/* The parsers' checks without exiting (for tests and composite values): 0, or -1 on a bad value. */
int cli_parse_int(const char *s, long long lo, long long hi, long long *out);
int cli_parse_real(const char *s, double lo, double hi, unsigned open, double *out);
/* The expectation of cli_real in words, e.g. "a number in (0, 1]" (buf of n bytes). */
const char *cli_real_want(double lo, double hi, unsigned open, char *buf, size_t n);

#endif
