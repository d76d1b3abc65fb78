/* aquacast-extract — fetch readings from an ODBC source (SQL Server, PostgreSQL, SQLite) into a sharded dataset. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "extract.h"
#include "log.h"
#include "stop.h"

static const char help[] =
	"usage: aquacast-extract --odbc CONNSTR|DSN --out DATASET [options]\n"
	"\n"
	"Reads (RowId, AccountOID, ConsumptionDate, Consumption) from an ODBC table into the\n"
	"readings dataset DATASET (Parquet shards partitioned by account). The last stdout\n"
	"line is the JSON summary (\"ok\":false and \"error\" on a failure).\n"
	"\n"
	"source (one of):\n"
	"  --odbc CONNSTR        ODBC connection string (\"DRIVER=...;...\") or a DSN name;\n"
	"                        default $AQUACAST_ODBC. Passwords never appear in logs.\n"
	"  --kafka BROKERS       readings from Kafka instead (--topic T --group G ...;\n"
	"                        see aquacast-extract --kafka x --help)\n"
	"\n"
	"options:\n"
	"  --table NAME          source table, [schema.]table (default PORTAL.ConsumptionDaily)\n"
	"  --out DATASET         dataset root (created if missing)\n"
	"  --parts P             partitions when creating the dataset (default 32)\n"
	"  --mode full|incremental  full: every row; incremental (default): RowId above\n"
	"                        the watermark in DATASET/_state/extract.json\n"
	"  --overlap N           incremental: re-read the N RowIds below the watermark too, for\n"
	"                        rows whose transaction committed late (default 0; docs/sqlserver.md)\n"
	"  --parallel K          K connections over disjoint AccountOID shares (default: 2 for a\n"
	"                        database server on 2+ CPUs, 1 for SQLite)\n"
	"  --split range|modulo  shares: K equal id ranges of [MIN, MAX] (default), or AccountOID % K = i\n"
	"  --shared-writer       with K > 1: one shard writer behind a lock (default: one per thread)\n"
	"  --order auto|key|rowid  ORDER BY (AccountOID, ConsumptionDate, RowId) or RowId;\n"
	"                        auto (default): key for a full read, rowid for an incremental one\n"
	"  --bind auto|typed|text|packed  typed = SQL_C_SBIGINT/SQL_C_TYPE_DATE/SQL_C_DOUBLE;\n"
	"                        text = parse strings here; packed = one \"account,days,value\"\n"
	"                        string a row, built by the server (PostgreSQL)\n"
	"                        (auto: text for SQLite, typed otherwise)\n"
	"  --fetch-rows N        rows per SQLFetch (row array size; psqlODBC Fetch=) (default 10000)\n"
	"  --window-rows N       read in statements of at most N rows each (RowId ranges, or\n"
	"                        AccountOID ranges in key order), so that memory stays bounded\n"
	"                        when a driver holds a whole result; 0 = one statement (default:\n"
	"                        262144, one statement for drivers that stream: SQL Server's,\n"
	"                        psqlODBC with UseDeclareFetch=1, which extract sets by default)\n"
	"  --buffer-mb M         shard writer memory budget (default 96)\n"
	"  --samples N           bad-row samples logged per kind (default 3)\n"
	"  -h, --help            this help\n"
	"\n"
	"exit: 0 ok, 1 failure (driver errors carry the SQLSTATE), 2 usage\n";

/*
 * Second source, Kafka (cmd/extract/kafka.c, owned by the streaming
 * developer, around lib/ingest.c): when "--kafka" appears anywhere on the
 * command line, main() hands the whole argv to extract_kafka_main(), which
 * parses its own options (--topic, --group, --sink odbc, ...) and prints
 * its own JSON summary. A further source would add one more such line.
 */
int extract_kafka_main(int argc, char **argv);

static int wants_kafka(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "--kafka") || !strncmp(argv[i], "--kafka=", 8))
			return 1;
	}
	return 0;
}

static void set_summary(const struct aq_extract_opts *o, const struct aq_extract_stats *st)
{
	json_t *rej = json_object();

	for (int i = 0; i < AQ_REJ_KINDS; i++) {
		if (i == AQ_REJ_DUPLICATE && !st->dup_counted)
			json_object_set_new(rej, aq_extract_rej_names[i], json_null());
		else
			json_object_set_new(rej, aq_extract_rej_names[i], json_integer((json_int_t)st->rejected[i]));
	}
	cli_set_int("rows", (long long)st->rows);
	cli_set_int("accounts", (long long)st->accounts);
	cli_set_real("seconds", st->seconds);
	cli_set_rate("rows_per_s", st->rows_read, st->seconds);
	cli_set_int("watermark", st->watermark);
	cli_set_str("mode", o->mode == AQ_EXTRACT_FULL ? "full" : "incremental");
	cli_set("rejected", rej);
	cli_set_int("rows_read", (long long)st->rows_read);
	cli_set_int("watermark_from", st->watermark_from);
	cli_set_int("read_from", st->read_from);
	cli_set_int("files", (long long)st->files);
	cli_set_int("slices", st->slices);
	cli_set_bool("resumed", st->resumed);
	cli_set_int("parallel", st->parallel > 0 ? st->parallel : o->parallel > 0 ? o->parallel : 1);
	cli_set_str("dbms", st->dbms);
}

static void log_done(const struct aq_extract_stats *st)
{
	char rej[512] = "";
	size_t l = 0;

	for (int i = 0; i < AQ_REJ_KINDS; i++)
		if (st->rejected[i] && l < sizeof(rej))
			l += (size_t)snprintf(rej + l, sizeof(rej) - l, " %s=%llu", aq_extract_rej_names[i],
					      (unsigned long long)st->rejected[i]);
	aq_info("%llu rows (%llu read, %llu window(s)) of %llu accounts in %.2fs, watermark %lld -> %lld%s%s",
		(unsigned long long)st->rows, (unsigned long long)st->rows_read, (unsigned long long)st->windows,
		(unsigned long long)st->accounts, st->seconds, (long long)st->watermark_from, (long long)st->watermark, l ? ", flagged:" : "", rej);
}

enum { O_TABLE = 256, O_PARTS, O_MODE, O_PAR, O_SHARED, O_ORDER, O_BIND, O_FETCH, O_BUF, O_SAMPLES, O_SPLIT,
       O_OVERLAP, O_WINDOW };

static const struct option longopts[] = {
	{ "odbc", required_argument, NULL, 'c' },	   { "out", required_argument, NULL, 'o' },
	{ "table", required_argument, NULL, O_TABLE },	   { "parts", required_argument, NULL, O_PARTS },
	{ "mode", required_argument, NULL, O_MODE },	   { "parallel", required_argument, NULL, O_PAR },
	{ "shared-writer", no_argument, NULL, O_SHARED },  { "split", required_argument, NULL, O_SPLIT },
	{ "order", required_argument, NULL, O_ORDER },	   { "bind", required_argument, NULL, O_BIND },
	{ "fetch-rows", required_argument, NULL, O_FETCH }, { "overlap", required_argument, NULL, O_OVERLAP },
	{ "buffer-mb", required_argument, NULL, O_BUF },   { "samples", required_argument, NULL, O_SAMPLES },
	{ "window-rows", required_argument, NULL, O_WINDOW }, { "help", no_argument, NULL, 'h' },
	{ 0 },
};

static void parse_one(struct aq_extract_opts *o, int c)
{
	static const struct cli_choice modes[] = { { "full", AQ_EXTRACT_FULL },
						   { "incremental", AQ_EXTRACT_INCREMENTAL }, { NULL, 0 } };
	static const struct cli_choice splits[] = { { "range", AQ_SPLIT_RANGE }, { "modulo", AQ_SPLIT_MODULO },
						    { NULL, 0 } };
	static const struct cli_choice orders[] = { { "auto", AQ_ORDER_AUTO }, { "key", AQ_ORDER_KEY },
						    { "rowid", AQ_ORDER_ROWID }, { NULL, 0 } };
	static const struct cli_choice binds[] = { { "auto", AQ_BIND_AUTO }, { "typed", AQ_BIND_TYPED },
						   { "text", AQ_BIND_TEXT }, { "packed", AQ_BIND_PACKED }, { NULL, 0 } };
	long long v;

	switch (c) {
	case 'c': o->conn = optarg; break;
	case 'o': o->out = optarg; break;
	case O_TABLE: o->table = optarg; break;
	case O_PARTS: o->parts = (int)cli_int("--parts", optarg, 1, 4096); break;
	case O_MODE: o->mode = cli_choice("--mode", optarg, modes); break;
	case O_PAR: o->parallel = (int)cli_int("--parallel", optarg, 1, 64); break;
	case O_SHARED: o->shared_writer = 1; break;
	case O_SPLIT: o->split = cli_choice("--split", optarg, splits); break;
	case O_ORDER: o->order = cli_choice("--order", optarg, orders); break;
	case O_BIND: o->bind = cli_choice("--bind", optarg, binds); break;
	case O_FETCH: o->fetch_rows = (size_t)cli_int("--fetch-rows", optarg, 1, 1000000); break;
	case O_BUF: o->max_buffer_bytes = (size_t)cli_int("--buffer-mb", optarg, 8, 1 << 20) << 20; break;
	case O_WINDOW:
		v = cli_int("--window-rows", optarg, 0, LLONG_MAX);
		o->window_rows = v ? (int64_t)v : -1;
		break;
	case O_OVERLAP: o->overlap = (int64_t)cli_int("--overlap", optarg, 0, LLONG_MAX); break;
	case O_SAMPLES:
		v = cli_int("--samples", optarg, 0, 1000000);
		o->samples = v ? (int)v : -1;
		break;
	case 'h': cli_help(help);
	}
}

int main(int argc, char **argv)
{
	struct aq_extract_opts o = { .table = "PORTAL.ConsumptionDaily", .mode = AQ_EXTRACT_INCREMENTAL };
	struct aq_extract_stats st = { 0 };
	struct aq_progress prog;
	struct aq_err e = { 0 };
	int c, rc;

	cli_init(argv[0]);
	if (wants_kafka(argc, argv))
		return extract_kafka_main(argc, argv);
	while ((c = cli_getopt(argc, argv, "c:o:h", longopts)) != -1)
		parse_one(&o, c);
	if (optind < argc)
		cli_usage("unexpected argument '%s'", argv[optind]);
	if (!o.out)
		cli_usage("--out DATASET is required");
	if (!o.conn)
		o.conn = getenv("AQUACAST_ODBC");
	if (!o.conn || !*o.conn)
		cli_usage("no source: --odbc CONNSTR or $AQUACAST_ODBC");
	if (aq_stop_install(&e))
		return cli_fail_err(&e);
	o.stop = &aq_stop_requested;
	aq_progress_init(&prog, "extract", "rows", 0);
	o.progress = &prog;
	rc = aq_extract_run(&o, &st, &e);
	if (!rc) {
		aq_progress_finish(&prog);
		log_done(&st);
	}
	set_summary(&o, &st);
	return rc ? cli_fail_err(&e) : cli_finish(CLI_EXIT_OK, NULL);
}
