/* aquacast-stream-replay — streaming simulation: seed the first 20% of the calendar over ODBC, replay the rest to Kafka. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "cli.h"
#include "csv.h"
#include "date.h"
#include "extract.h"
#include "log.h"
#include "merge.h"
#include "stop.h"
#include "odbc.h"
#include "replay.h"

static const char help[] =
	"usage: aquacast-stream-replay seed|run SOURCE [options]\n"
	"\n"
	"Streaming simulation of the meter feed. The calendar of the source (min..max date, all\n"
	"accounts) is split: the first --history fraction is the original data, the rest streams.\n"
	"  seed   bulk-load the history days into the database over ODBC (--db, --db-table)\n"
	"  run    produce the remaining days to Kafka in date order (key = AccountOID, value:\n"
	"         docs/formats.md, streaming section), resuming after the --state checkpoint\n"
	"\n"
	"source (one of):\n"
	"  --csv FILE            readings CSV (ConsumptionDate,AccountOID,Consumption)\n"
	"  --dataset DIR         readings shard dataset\n"
	"  --odbc CONNSTR        ODBC source, with --table T (default PORTAL.ConsumptionDaily)\n"
	"\n"
	"options:\n"
	"  --history F           fraction of the calendar seeded (default 0.2)\n"
	"  --db CONNSTR          seed: target database (default $AQUACAST_ODBC)\n"
	"  --db-table T          seed: target table (default PORTAL.ConsumptionDaily)\n"
	"  --schema DIR          seed: first run DIR/<dialect>/*.sql (e.g. sql) to create the table\n"
	"  --append | --replace  seed: when the table already holds rows in the seeded days, load\n"
	"                        anyway (the table's key decides duplicates) or delete those days'\n"
	"                        rows first; default: refuse, naming the table and the days\n"
	"  --brokers LIST        run: bootstrap servers (default $KAFKA_BROKERS)\n"
	"  --topic T             run: topic (default water.readings.daily)\n"
	"  --partitions N        run: partitions when creating the topic (default 6)\n"
	"  --speed S|max         run: simulated days per wall second (default max)\n"
	"  --until DATE          run: last day to produce (default: end of data)\n"
	"  --batch-days N        run: days per message per account (default 1 at a finite\n"
	"                        speed, 7 at max)\n"
	"  --encoding binary|json  run: message value encoding (default binary)\n"
	"  --state FILE          run: checkpoint of the last acknowledged day (resume point)\n"
	"  --timeline FILE       run: append \"<day> <unix time produced>\" lines\n"
	"  -X key=value          run: extra librdkafka producer property (repeatable)\n"
	"  raw --raw FILE        (testing) produce FILE's lines \"<key>\\t<hex value>\" as they are\n"
	"  -h, --help            this help\n"
	"\n"
	"SIGINT/SIGTERM stop cleanly: deliveries are flushed and the checkpoint written.\n"
	"The last stdout line is the JSON summary (\"command\": seed, run or raw; \"ok\":false and\n"
	"\"error\" on a failure). exit: 0 ok, 1 failure, 2 usage\n";

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(p);
}

static int load_dataset(const char *root, struct aq_readings *r, struct aq_err *e)
{
	struct aq_dataset ds;
	struct aq_readings part;
	int rc;

	if ((rc = aq_dataset_open(&ds, root, e)))
		return rc;
	aq_readings_init(&part);
	for (int p = 0; p < ds.parts && !rc; p++) {
		part.n = 0;
		if ((rc = aq_dataset_read_part(&ds, p, &part, e)))
			break;
		for (size_t i = 0; i < part.n && !rc; i++)
			rc = aq_readings_push(r, part.date[i], part.account[i], part.value[i], e);
	}
	aq_readings_release(&part);
	aq_dataset_release(&ds);
	return rc;
}

/* ODBC source: extract into a temporary dataset (lib/extract.h), then read it. */
static int load_odbc(const char *conn, const char *table, struct aq_readings *r, struct aq_err *e)
{
	char tmpl[] = "/tmp/aquacast-replay.XXXXXX";
	struct aq_extract_opts xo = {.conn = conn, .table = table, .mode = AQ_EXTRACT_FULL, .parts = 8};
	struct aq_extract_stats xs;
	char *dir;
	int rc;

	if (!mkdtemp(tmpl))
		return aq_err_sys(e, "cannot make a temporary directory");
	dir = aq_path_join(tmpl, "ds");
	xo.out = dir;
	rc = dir ? aq_extract_run(&xo, &xs, e) : aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (!rc)
		rc = load_dataset(dir, r, e);
	nftw(tmpl, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
	free(dir);
	return rc;
}

static void seed_summary(int32_t split_day, uint64_t seeded, double seconds)
{
	char d[AQ_DATE_STRLEN];

	cli_set_int("readings", (long long)seeded);
	cli_set_real("seconds", seconds);
	cli_set_rate("readings_per_s", seeded, seconds);
	cli_set_str("split_day", aq_date_format(split_day, d));
}

static void run_summary(const struct aq_replay_stats *st)
{
	char d[AQ_DATE_STRLEN];

	cli_set_int("messages", (long long)st->messages);
	cli_set_int("readings", (long long)st->readings);
	cli_set_int("bytes", (long long)st->bytes);
	cli_set_int("accounts", (long long)st->accounts);
	cli_set_stream_rates(st->seconds, st->messages, st->readings, st->bytes);
	cli_set_int("lag", 0); /* every produced message acknowledged */
	cli_set_str("first_day", aq_date_format(st->first_day, d));
	cli_set_str("last_acked_day", aq_date_format(st->last_day, d));
	cli_set_bool("resumed", st->resumed);
	cli_set_bool("stopped", st->stopped);
	cli_set_str("split_day", aq_date_format(st->split_day, d));
}

enum { O_CSV = 256, O_DATASET, O_ODBC, O_TABLE, O_HISTORY, O_DB, O_DBTABLE, O_BROKERS, O_TOPIC, O_PARTS, O_SPEED,
       O_UNTIL, O_BDAYS, O_ENC, O_STATE, O_TIMELINE, O_RAW, O_SCHEMA, O_APPEND, O_REPLACE };

static const struct option longopts[] = {
	{ "csv", required_argument, NULL, O_CSV }, { "dataset", required_argument, NULL, O_DATASET },
	{ "odbc", required_argument, NULL, O_ODBC }, { "table", required_argument, NULL, O_TABLE },
	{ "history", required_argument, NULL, O_HISTORY }, { "db", required_argument, NULL, O_DB },
	{ "db-table", required_argument, NULL, O_DBTABLE }, { "brokers", required_argument, NULL, O_BROKERS },
	{ "topic", required_argument, NULL, O_TOPIC }, { "partitions", required_argument, NULL, O_PARTS },
	{ "speed", required_argument, NULL, O_SPEED }, { "until", required_argument, NULL, O_UNTIL },
	{ "batch-days", required_argument, NULL, O_BDAYS }, { "encoding", required_argument, NULL, O_ENC },
	{ "state", required_argument, NULL, O_STATE }, { "timeline", required_argument, NULL, O_TIMELINE },
	{ "raw", required_argument, NULL, O_RAW }, { "schema", required_argument, NULL, O_SCHEMA },
	{ "append", no_argument, NULL, O_APPEND }, { "replace", no_argument, NULL, O_REPLACE },
	{ "help", no_argument, NULL, 'h' }, { 0 },
};

struct args {
	struct aq_replay_opts o;
	const char *csv, *dataset, *odbc, *table, *db, *dbtable, *timeline, *raw, *schema, *cmd;
	const char **props;
	int seed_flags;
};

static void parse_one(struct args *a, int c)
{
	static const struct cli_choice encs[] = { { "binary", AQ_REC_BINARY }, { "json", AQ_REC_JSON }, { NULL, 0 } };
	struct aq_replay_opts *o = &a->o;

	switch (c) {
	case O_CSV: a->csv = optarg; break;
	case O_DATASET: a->dataset = optarg; break;
	case O_ODBC: a->odbc = optarg; break;
	case O_TABLE: a->table = optarg; break;
	case O_HISTORY: o->history = cli_real("--history", optarg, 0, 1, CLI_OPEN_HI); break;
	case O_DB: a->db = optarg; break;
	case O_DBTABLE: a->dbtable = optarg; break;
	case O_BROKERS: o->brokers = optarg; break;
	case O_TOPIC: o->topic = optarg; break;
	case O_PARTS: o->partitions = (int)cli_int("--partitions", optarg, 1, 1024); break;
	case O_SPEED:
		o->speed = strcmp(optarg, "max") ? cli_real("--speed", optarg, 0, 1e9, CLI_OPEN_LO) : 0;
		break;
	case O_UNTIL: o->until = cli_date("--until", optarg); break;
	case O_BDAYS: o->batch_days = (int)cli_int("--batch-days", optarg, 1, 4096); break;
	case O_ENC: o->enc = (enum aq_record_enc)cli_choice("--encoding", optarg, encs); break;
	case O_STATE: o->state_path = optarg; break;
	case O_TIMELINE: a->timeline = optarg; break;
	case O_RAW: a->raw = optarg; break;
	case O_SCHEMA: a->schema = optarg; break;
	case O_APPEND: o->seed_mode = AQ_SEED_APPEND, a->seed_flags |= 1; break;
	case O_REPLACE: o->seed_mode = AQ_SEED_REPLACE, a->seed_flags |= 2; break;
	case 'X': a->props[o->nprops++] = optarg; break;
	case 'h': cli_help(help);
	}
}

/* Options, then the command word and the checks that need it. */
static void parse_args(int argc, char **argv, struct args *a)
{
	int c;

	while ((c = cli_getopt(argc, argv, "X:h", longopts)) != -1)
		parse_one(a, c);
	if (optind + 1 != argc || (strcmp(argv[optind], "seed") && strcmp(argv[optind], "run") &&
				   strcmp(argv[optind], "raw")))
		cli_usage("want one command: seed, run or raw");
	a->cmd = argv[optind];
	cli_set_command(a->cmd);
	if (a->seed_flags == 3)
		cli_usage("--append and --replace exclude each other");
	if (a->seed_flags && strcmp(a->cmd, "seed"))
		cli_usage("--append and --replace are options of seed");
	if (strcmp(a->cmd, "seed") && !a->o.brokers && !(a->o.brokers = getenv("KAFKA_BROKERS")))
		cli_usage("%s needs --brokers or $KAFKA_BROKERS", a->cmd);
	if (!strcmp(a->cmd, "raw")) {
		if (!a->raw)
			cli_usage("raw needs --raw FILE");
		return;
	}
	if (!!a->csv + !!a->dataset + !!a->odbc != 1)
		cli_usage("want exactly one source: --csv, --dataset or --odbc");
	if (!strcmp(a->cmd, "seed") && !a->db && !(a->db = getenv("AQUACAST_ODBC")))
		cli_usage("seed needs --db or $AQUACAST_ODBC");
}

static int load_source(const struct args *a, struct aq_readings *r, struct aq_err *e)
{
	double t = aq_now();
	int rc;

	if (a->csv)
		rc = aq_csv_load(a->csv, NULL, r, NULL, e);
	else if (a->dataset)
		rc = load_dataset(a->dataset, r, e);
	else
		rc = load_odbc(a->odbc, a->table, r, e);
	if (rc)
		return rc;
	aq_info("source: %zu readings in %.2f s", r->n, aq_now() - t);
	if (r->n == 0)
		return aq_err_set(e, AQ_EINVAL, "the source holds no readings");
	return 0;
}

/* seed: the history days into the database; a table that holds them already is refused (or --append/--replace). */
static int do_seed(const struct args *a, const struct aq_readings *r, struct aq_err *e)
{
	struct aq_readings hist;
	struct aq_odbc conn;
	struct aq_odbc_opts co = { .must_exist = !a->schema }; /* --schema may create the database */
	struct aq_seed_opts so = { .table = a->dbtable, .seed_mode = a->o.seed_mode };
	struct aq_seed_stats ss = { 0 };
	int32_t split = aq_replay_split_day(r, a->o.history);
	double t = aq_now();
	int rc;

	aq_readings_init(&hist);
	seed_summary(split, 0, 0);
	if ((rc = aq_replay_history(r, split, &hist, e)) == 0 && (rc = aq_odbc_connect(&conn, a->db, &co, e)) == 0) {
		rc = a->schema ? aq_odbc_create_schema(&conn, a->schema, e) : 0;
		if (!rc)
			rc = aq_replay_seed(&conn, &hist, &so, &ss, e);
		aq_odbc_release(&conn);
	}
	if (!rc) {
		aq_info("seeded %llu readings before the split day in %.2f s", (unsigned long long)ss.loaded,
			aq_now() - t);
		seed_summary(split, ss.loaded, aq_now() - t);
		cli_set_int("found", (long long)ss.found);
		cli_set_int("deleted", (long long)ss.deleted);
	}
	aq_readings_release(&hist);
	return rc;
}

static int do_run(const struct args *a, struct aq_readings *r, struct aq_err *e)
{
	struct aq_replay_opts o = a->o;
	struct aq_replay_stats st = { 0 };
	struct aq_progress prog;
	FILE *tl = NULL;
	int rc;

	if (a->timeline && !(tl = fopen(a->timeline, "a")))
		return aq_err_sys(e, "cannot open '%s'", a->timeline);
	o.timeline = tl;
	aq_progress_init(&prog, "replay", "readings", 0);
	o.progress = &prog;
	rc = aq_replay_run(r, &o, &st, e);
	aq_progress_finish(&prog);
	if (tl)
		fclose(tl);
	run_summary(&st);
	return rc;
}

static int do_raw(const struct args *a, struct aq_err *e)
{
	uint64_t n = 0;
	int rc = aq_replay_produce_raw(a->o.brokers, a->o.topic ? a->o.topic : "water.readings.daily", a->raw,
				       a->props, a->o.nprops, &n, e);

	cli_set_int("messages", (long long)n);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a = { .o = { .history = 0.2, .enc = AQ_REC_BINARY }, .table = "PORTAL.ConsumptionDaily",
			  .dbtable = "PORTAL.ConsumptionDaily" };
	struct aq_readings r;
	struct aq_err e = { 0 };
	int rc;

	cli_init(argv[0]);
	if (!(a.props = calloc((size_t)argc + 1, sizeof(*a.props))))
		return cli_fail("out of memory");
	parse_args(argc, argv, &a);
	a.o.props = a.props;
	aq_readings_init(&r);
	if (!strcmp(a.cmd, "raw"))
		rc = do_raw(&a, &e);
	else if ((rc = aq_stop_install(&e)) == 0) {
		a.o.stop = &aq_stop_requested;
		if ((rc = load_source(&a, &r, &e)) == 0)
			rc = !strcmp(a.cmd, "seed") ? do_seed(&a, &r, &e) : do_run(&a, &r, &e);
	}
	aq_readings_release(&r);
	free(a.props);
	return rc ? cli_fail_err(&e) : cli_finish(CLI_EXIT_OK, NULL);
}
