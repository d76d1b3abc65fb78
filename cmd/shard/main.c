/* aquacast-shard — inspect and maintain Parquet shards and datasets: verify, stats, head, to-csv, compact. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "tool.h"

static const char *top_usage =
	"usage: aquacast-shard COMMAND [options] PATH...\n"
	"\n"
	"Inspects the Parquet files aquacast writes (a single .parquet file, or a dataset\n"
	"directory with _dataset.json; see docs/formats.md).\n"
	"\n"
	"commands:\n"
	"  verify PATH...          every page CRC, sizes, decompression, schema, statistics,\n"
	"                          sort order and partition of each file; exit 1 naming any bad one\n"
	"  stats PATH              rows, accounts, date range, parts, batches, bytes, NaN count\n"
	"  head [-n N] PATH        the first N rows (default 10) as CSV\n"
	"  to-csv PATH             every row as CSV (readings: ConsumptionDate,AccountOID,Consumption;\n"
	"                          a dataset is merged per part, the latest batch winning)\n"
	"  compact DATASET [--part N]  merge each part's batches into one file (atomic per part)\n"
	"\n"
	"  COMMAND --help          help of a command\n"
	"\n"
	"Every command ends with a one-line JSON summary (\"ok\":false and \"error\" on a failure):\n"
	"the last stdout line of verify, stats and compact; the last stderr line of head and\n"
	"to-csv, whose stdout is the CSV.\n"
	"exit: 0 ok, 1 failure or bad file, 2 usage\n";

static const char *help_verify =
	"usage: aquacast-shard verify PATH...\n"
	"\n"
	"Checks each file (or every batch file of each dataset): magic and footer, schema\n"
	"within aquacast's Parquet subset, every page's CRC-32 (files written elsewhere may\n"
	"lack CRCs: counted, not an error), decompression and sizes, min/max statistics\n"
	"against the values; for readings, strict (AccountOID, ConsumptionDate) order; in a\n"
	"dataset, that every AccountOID lies in its part. Prints one line per file\n"
	"(\"ok PATH ...\" or \"BAD PATH: reason\") and a JSON summary; exit 1 if any file is bad.\n";

static const char *help_stats =
	"usage: aquacast-shard stats PATH\n"
	"\n"
	"Readings: rows (after the latest-wins merge, for a dataset), distinct accounts, date\n"
	"range, NaN consumption count; files, batches, parts holding data, bytes. Other\n"
	"schemas: rows, columns, files, bytes. Human lines, then one JSON line.\n";

static const char *help_head =
	"usage: aquacast-shard head [-n N] PATH\n"
	"\n"
	"The first N rows (default 10) as CSV with a header. A dataset is read part by part,\n"
	"each part merged (latest batch wins). The JSON summary is the last line of stderr.\n";

static const char *help_to_csv =
	"usage: aquacast-shard to-csv PATH\n"
	"\n"
	"Every row as CSV with a header: readings as ConsumptionDate,AccountOID,Consumption\n"
	"(ISO dates; the shortest decimal that reads back to the same double; NaN as an\n"
	"empty field); other schemas with their own columns (DATE as ISO, STRING quoted,\n"
	"binary as 0x-hex). A dataset is written part by part, each part merged.\n"
	"The JSON summary is the last line of stderr (stdout is only the CSV).\n";

static const char *help_compact =
	"usage: aquacast-shard compact DATASET [--part N]\n"
	"\n"
	"Merges the batches of each part (or of part N) into one file named after the newest\n"
	"batch key with label \"compact\": the new file is made durable first, then the merged\n"
	"files are removed (a crash in between leaves duplicates of equal value). Readings\n"
	"datasets only. JSON summary on the last line.\n";

static int want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			return 0;
		if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h"))
			return 1;
	}
	return 0;
}

static _Noreturn void usage_err(const char *why) { cli_usage("%s", why); }

static int cmd_head(int argc, char **argv)
{
	static const struct option lo[] = { { "lines", required_argument, NULL, 'n' }, { 0 } };
	long long n = 10;
	int c;

	while ((c = cli_getopt(argc, argv, "n:", lo)) != -1)
		n = cli_int("-n", optarg, 0, LLONG_MAX);
	if (optind != argc - 1)
		usage_err("head needs one PATH");
	return tool_head(argv[optind], n);
}

static int cmd_compact(int argc, char **argv)
{
	static const struct option lo[] = { { "part", required_argument, NULL, 'p' }, { 0 } };
	long long part = -1;
	int c;

	while ((c = cli_getopt(argc, argv, "p:", lo)) != -1)
		part = cli_int("--part", optarg, 0, INT_MAX);
	if (optind != argc - 1)
		usage_err("compact needs one DATASET");
	return tool_compact(argv[optind], (int)part);
}

static const struct {
	const char *name, **help;
} cmds[] = { { "verify", &help_verify }, { "stats", &help_stats }, { "head", &help_head },
	     { "to-csv", &help_to_csv }, { "compact", &help_compact } };

/* argv[0] is the command word. */
static int dispatch(const char *cmd, int argc, char **argv)
{
	if (!strcmp(cmd, "verify")) {
		if (argc < 2)
			usage_err("verify needs at least one PATH");
		return tool_verify(argv + 1, argc - 1);
	}
	if (!strcmp(cmd, "stats")) {
		if (argc != 2)
			usage_err("stats needs one PATH");
		return tool_stats(argv[1]);
	}
	if (!strcmp(cmd, "to-csv")) {
		if (argc != 2)
			usage_err("to-csv needs one PATH");
		return tool_head(argv[1], -1);
	}
	if (!strcmp(cmd, "head"))
		return cmd_head(argc, argv);
	return cmd_compact(argc, argv);
}

int main(int argc, char **argv)
{
	const char *cmd;
	size_t k;

	cli_init(argv[0]);
	if (argc < 2)
		usage_err("missing command (verify, stats, head, to-csv, compact)");
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help"))
		cli_help(top_usage);
	for (k = 0; k < sizeof(cmds) / sizeof(cmds[0]) && strcmp(cmd, cmds[k].name); k++)
		;
	if (k == sizeof(cmds) / sizeof(cmds[0]))
		cli_usage(cmd[0] == '-' ? "want a command before option '%s'" : "unknown command '%s'", cmd);
	cli_set_command(cmd);
	if (!strcmp(cmd, "head") || !strcmp(cmd, "to-csv"))
		cli_summary_to_stderr(); /* stdout is the CSV */
	if (want_help(argc - 1, argv + 1))
		cli_help(*cmds[k].help);
	return dispatch(cmd, argc - 1, argv + 1);
}
