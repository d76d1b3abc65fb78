/* aquacast-extract — fetch readings from an ODBC source (SQL Server, PostgreSQL, SQLite) into a sharded dataset. */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "extract.h"
#include "log.h"
#include "stop.h"

static void usage(FILE *f)
{
	fputs("usage: aquacast-extract --odbc CONNSTR|DSN --out DATASET [options]\n"
	      "\n"
	      "Reads (RowId, AccountOID, ConsumptionDate, Consumption) from an ODBC table into the\n"
	      "readings dataset DATASET (Parquet shards partitioned by account). The last stdout\n"
	      "line is a JSON summary.\n"
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
	      "  --buffer-mb M         shard writer memory budget (default 96)\n"
	      "  --samples N           bad-row samples logged per kind (default 3)\n"
	      "  -h, --help            this help\n"
	      "\n"
	      "exit: 0 ok, 1 failure (driver errors carry the SQLSTATE), 2 usage\n",
	      f);
}

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

static void print_summary(const struct aq_extract_opts *o, const struct aq_extract_stats *st, const char *err)
{
	json_t *j = json_object(), *rej = json_object();
	char *s;

	for (int i = 0; i < AQ_REJ_KINDS; i++) {
		if (i == AQ_REJ_DUPLICATE && !st->dup_counted)
			json_object_set_new(rej, aq_extract_rej_names[i], json_null());
		else
			json_object_set_new(rej, aq_extract_rej_names[i], json_integer((json_int_t)st->rejected[i]));
	}
	json_object_set_new(j, "rows", json_integer((json_int_t)st->rows));
	json_object_set_new(j, "accounts", json_integer((json_int_t)st->accounts));
	json_object_set_new(j, "seconds", json_real(st->seconds));
	json_object_set_new(j, "rows_per_s", json_real(st->seconds > 0 ? st->rows_read / st->seconds : 0));
	json_object_set_new(j, "watermark", json_integer(st->watermark));
	json_object_set_new(j, "mode", json_string(o->mode == AQ_EXTRACT_FULL ? "full" : "incremental"));
	json_object_set_new(j, "rejected", rej);
	json_object_set_new(j, "rows_read", json_integer((json_int_t)st->rows_read));
	json_object_set_new(j, "watermark_from", json_integer(st->watermark_from));
	json_object_set_new(j, "read_from", json_integer(st->read_from));
	json_object_set_new(j, "files", json_integer((json_int_t)st->files));
	json_object_set_new(j, "slices", json_integer(st->slices));
	json_object_set_new(j, "resumed", json_boolean(st->resumed));
	json_object_set_new(j, "parallel", json_integer(st->parallel > 0 ? st->parallel : o->parallel > 0 ? o->parallel : 1));
	json_object_set_new(j, "dbms", json_string(st->dbms));
	if (err)
		json_object_set_new(j, "error", json_string(err));
	s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6));
	if (s)
		printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(j);
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

struct choice {
	const char *name;
	int value;
};

/* The value named s in tab (ended by a NULL name): 0, or -1 for an unknown name. */
static int parse_choice(const char *s, const struct choice *tab, int *out)
{
	for (; tab->name; tab++)
		if (!strcmp(s, tab->name)) {
			*out = tab->value;
			return 0;
		}
	return -1;
}

int main(int argc, char **argv)
{
	static const struct choice modes[] = { { "full", AQ_EXTRACT_FULL }, { "incremental", AQ_EXTRACT_INCREMENTAL },
					       { NULL, 0 } };
	static const struct choice splits[] = { { "range", AQ_SPLIT_RANGE }, { "modulo", AQ_SPLIT_MODULO }, { NULL, 0 } };
	static const struct choice orders[] = { { "auto", AQ_ORDER_AUTO }, { "key", AQ_ORDER_KEY },
						{ "rowid", AQ_ORDER_ROWID }, { NULL, 0 } };
	static const struct choice binds[] = { { "auto", AQ_BIND_AUTO }, { "typed", AQ_BIND_TYPED },
					       { "text", AQ_BIND_TEXT }, { "packed", AQ_BIND_PACKED }, { NULL, 0 } };
	enum { O_TABLE = 256, O_PARTS, O_MODE, O_PAR, O_SHARED, O_ORDER, O_BIND, O_FETCH, O_BUF, O_SAMPLES, O_SPLIT,
	       O_OVERLAP };
	static const struct option lo[] = {
		{ "odbc", required_argument, NULL, 'c' },
		{ "out", required_argument, NULL, 'o' },
		{ "table", required_argument, NULL, O_TABLE },
		{ "parts", required_argument, NULL, O_PARTS },
		{ "mode", required_argument, NULL, O_MODE },
		{ "parallel", required_argument, NULL, O_PAR },
		{ "shared-writer", no_argument, NULL, O_SHARED },
		{ "split", required_argument, NULL, O_SPLIT },
		{ "order", required_argument, NULL, O_ORDER },
		{ "bind", required_argument, NULL, O_BIND },
		{ "fetch-rows", required_argument, NULL, O_FETCH },
		{ "overlap", required_argument, NULL, O_OVERLAP },
		{ "buffer-mb", required_argument, NULL, O_BUF },
		{ "samples", required_argument, NULL, O_SAMPLES },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct aq_extract_opts o = { .table = "PORTAL.ConsumptionDaily", .mode = AQ_EXTRACT_INCREMENTAL };
	struct aq_extract_stats st;
	struct aq_progress prog;
	struct aq_err e = { 0 };
	long v;
	int c, k, li = -1;

	aq_log_set_prog("aquacast-extract");
	if (wants_kafka(argc, argv))
		return extract_kafka_main(argc, argv);
	while ((c = getopt_long(argc, argv, "c:o:h", lo, &li)) != -1) {
		switch (c) {
		case 'c': o.conn = optarg; break;
		case 'o': o.out = optarg; break;
		case O_TABLE: o.table = optarg; break;
		case O_PARTS:
			if (parse_int(optarg, 1, 4096, &v))
				goto bad;
			o.parts = (int)v;
			break;
		case O_MODE:
			if (parse_choice(optarg, modes, &k))
				goto bad;
			o.mode = k;
			break;
		case O_PAR:
			if (parse_int(optarg, 1, 64, &v))
				goto bad;
			o.parallel = (int)v;
			break;
		case O_SHARED: o.shared_writer = 1; break;
		case O_SPLIT:
			if (parse_choice(optarg, splits, &k))
				goto bad;
			o.split = k;
			break;
		case O_ORDER:
			if (parse_choice(optarg, orders, &k))
				goto bad;
			o.order = k;
			break;
		case O_BIND:
			if (parse_choice(optarg, binds, &k))
				goto bad;
			o.bind = k;
			break;
		case O_FETCH:
			if (parse_int(optarg, 1, 1000000, &v))
				goto bad;
			o.fetch_rows = (size_t)v;
			break;
		case O_BUF:
			if (parse_int(optarg, 8, 1 << 20, &v))
				goto bad;
			o.max_buffer_bytes = (size_t)v << 20;
			break;
		case O_OVERLAP:
			if (parse_int(optarg, 0, LONG_MAX, &v))
				goto bad;
			o.overlap = (int64_t)v;
			break;
		case O_SAMPLES:
			if (parse_int(optarg, 0, 1000000, &v))
				goto bad;
			o.samples = v ? (int)v : -1;
			break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
		li = -1;
		continue;
bad:
		fprintf(stderr, "aquacast-extract: bad value '%s' for --%s\n", optarg, li >= 0 ? lo[li].name : "?");
		usage(stderr);
		return 2;
	}
	if (optind < argc) {
		fprintf(stderr, "aquacast-extract: unexpected argument '%s'\n", argv[optind]);
		return 2;
	}
	if (!o.out) {
		fprintf(stderr, "aquacast-extract: --out DATASET is required\n");
		return 2;
	}
	if (!o.conn)
		o.conn = getenv("AQUACAST_ODBC");
	if (!o.conn || !*o.conn) {
		fprintf(stderr, "aquacast-extract: no source: --odbc CONNSTR or $AQUACAST_ODBC\n");
		return 2;
	}
	if (aq_stop_install(&e)) {
		aq_error("%s", e.msg);
		return 1;
	}
	o.stop = &aq_stop_requested;
	aq_progress_init(&prog, "extract", "rows", 0);
	o.progress = &prog;
	if (aq_extract_run(&o, &st, &e)) {
		aq_error("%s", e.msg);
		print_summary(&o, &st, e.msg);
		return 1;
	}
	aq_progress_finish(&prog);
	{
		char rej[512] = "";
		size_t l = 0;

		for (int i = 0; i < AQ_REJ_KINDS; i++)
			if (st.rejected[i] && l < sizeof(rej))
				l += (size_t)snprintf(rej + l, sizeof(rej) - l, " %s=%llu", aq_extract_rej_names[i],
						      (unsigned long long)st.rejected[i]);
		aq_info("%llu rows (%llu read) of %llu accounts in %.2fs, watermark %lld -> %lld%s%s",
			(unsigned long long)st.rows, (unsigned long long)st.rows_read,
			(unsigned long long)st.accounts, st.seconds, (long long)st.watermark_from,
			(long long)st.watermark, l ? ", flagged:" : "", rej);
	}
	print_summary(&o, &st, NULL);
	return 0;
}
