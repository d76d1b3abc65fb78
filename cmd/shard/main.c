/* aquacast-shard — inspect and maintain Parquet shards and datasets: verify, stats, head, to-csv, compact. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
	"The last stdout line of verify, stats and compact is a JSON summary.\n"
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
	"each part merged (latest batch wins).\n";

static const char *help_to_csv =
	"usage: aquacast-shard to-csv PATH\n"
	"\n"
	"Every row as CSV with a header: readings as ConsumptionDate,AccountOID,Consumption\n"
	"(ISO dates; the shortest decimal that reads back to the same double; NaN as an\n"
	"empty field); other schemas with their own columns (DATE as ISO, STRING quoted,\n"
	"binary as 0x-hex). A dataset is written part by part, each part merged.\n";

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

static int usage_err(const char *help, const char *why)
{
	fprintf(stderr, "aquacast-shard: %s\n%s", why, help);
	return 2;
}

int main(int argc, char **argv)
{
	const char *cmd;

	aq_log_set_prog("aquacast-shard");
	if (argc < 2)
		return usage_err(top_usage, "missing command");
	cmd = argv[1];
	if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
		fputs(top_usage, stdout);
		return 0;
	}
	argc--;
	argv++;
	if (!strcmp(cmd, "verify")) {
		if (want_help(argc, argv))
			return fputs(help_verify, stdout), 0;
		if (argc < 2)
			return usage_err(help_verify, "verify needs at least one PATH");
		return tool_verify(argv + 1, argc - 1);
	}
	if (!strcmp(cmd, "stats")) {
		if (want_help(argc, argv))
			return fputs(help_stats, stdout), 0;
		if (argc != 2)
			return usage_err(help_stats, "stats needs one PATH");
		return tool_stats(argv[1]);
	}
	if (!strcmp(cmd, "to-csv")) {
		if (want_help(argc, argv))
			return fputs(help_to_csv, stdout), 0;
		if (argc != 2)
			return usage_err(help_to_csv, "to-csv needs one PATH");
		return tool_head(argv[1], -1);
	}
	if (!strcmp(cmd, "head")) {
		static const struct option lo[] = { { "lines", required_argument, NULL, 'n' }, { 0 } };
		long long n = 10;
		char *end;
		int c;

		if (want_help(argc, argv))
			return fputs(help_head, stdout), 0;
		while ((c = getopt_long(argc, argv, "n:", lo, NULL)) != -1) {
			if (c != 'n')
				return usage_err(help_head, "bad option");
			n = strtoll(optarg, &end, 10);
			if (!*optarg || *end || n < 0)
				return usage_err(help_head, "-n wants a count >= 0");
		}
		if (optind != argc - 1)
			return usage_err(help_head, "head needs one PATH");
		return tool_head(argv[optind], n);
	}
	if (!strcmp(cmd, "compact")) {
		static const struct option lo[] = { { "part", required_argument, NULL, 'p' }, { 0 } };
		long part = -1;
		char *end;
		int c;

		if (want_help(argc, argv))
			return fputs(help_compact, stdout), 0;
		while ((c = getopt_long(argc, argv, "p:", lo, NULL)) != -1) {
			if (c != 'p')
				return usage_err(help_compact, "bad option");
			part = strtol(optarg, &end, 10);
			if (!*optarg || *end || part < 0)
				return usage_err(help_compact, "--part wants a part number >= 0");
		}
		if (optind != argc - 1)
			return usage_err(help_compact, "compact needs one DATASET");
		return tool_compact(argv[optind], (int)part);
	}
	fprintf(stderr, "aquacast-shard: unknown command '%s'\n%s", cmd, top_usage);
	return 2;
}
