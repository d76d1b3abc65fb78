/* aquacast-stream-replay — streaming simulation: seed the first 20% of the calendar over ODBC, replay the rest to Kafka. */
#define _XOPEN_SOURCE 700
#include <ftw.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "csv.h"
#include "date.h"
#include "extract.h"
#include "log.h"
#include "stop.h"
#include "odbc.h"
#include "replay.h"
#include "shard.h"

static void usage(FILE *f)
{
	fputs("usage: aquacast-stream-replay seed|run SOURCE [options]\n"
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
	      "  --append              seed: load even if the table holds readings of the seeded days\n"
	      "  --replace             seed: delete the table's readings of the seeded days first (one\n"
	      "                        transaction); without either, such a table is refused\n"
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
	      "The last stdout line is a JSON summary. exit: 0 ok, 1 failure, 2 usage\n",
	      f);
}

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

static void summary(const char *cmd, const struct aq_replay_stats *st, uint64_t seeded, double seconds,
		    const char *err)
{
	json_t *j = json_object();
	char d[AQ_DATE_STRLEN];
	char *s;

	json_object_set_new(j, "command", json_string(cmd));
	if (!strcmp(cmd, "seed")) {
		json_object_set_new(j, "readings", json_integer((json_int_t)seeded));
		json_object_set_new(j, "seconds", json_real(seconds));
		json_object_set_new(j, "readings_per_s", json_real(seconds > 0 ? seeded / seconds : 0));
	} else {
		json_object_set_new(j, "messages", json_integer((json_int_t)st->messages));
		json_object_set_new(j, "readings", json_integer((json_int_t)st->readings));
		json_object_set_new(j, "bytes", json_integer((json_int_t)st->bytes));
		json_object_set_new(j, "accounts", json_integer((json_int_t)st->accounts));
		json_object_set_new(j, "seconds", json_real(st->seconds));
		json_object_set_new(j, "messages_per_s", json_real(st->seconds > 0 ? st->messages / st->seconds : 0));
		json_object_set_new(j, "readings_per_s", json_real(st->seconds > 0 ? st->readings / st->seconds : 0));
		json_object_set_new(j, "bytes_per_s", json_real(st->seconds > 0 ? st->bytes / st->seconds : 0));
		json_object_set_new(j, "lag", json_integer(0)); /* every produced message acknowledged */
		json_object_set_new(j, "first_day", json_string(aq_date_format(st->first_day, d)));
		json_object_set_new(j, "last_acked_day", json_string(aq_date_format(st->last_day, d)));
		json_object_set_new(j, "resumed", json_boolean(st->resumed));
		json_object_set_new(j, "stopped", json_boolean(st->stopped));
	}
	json_object_set_new(j, "split_day", json_string(aq_date_format(st->split_day, d)));
	if (err)
		json_object_set_new(j, "error", json_string(err));
	if ((s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))))
		printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(j);
}

int main(int argc, char **argv)
{
	enum { O_CSV = 256, O_DATASET, O_ODBC, O_TABLE, O_HISTORY, O_DB, O_DBTABLE, O_BROKERS, O_TOPIC, O_PARTS,
	       O_SPEED, O_UNTIL, O_BDAYS, O_ENC, O_STATE, O_TIMELINE, O_RAW, O_SCHEMA, O_APPEND, O_REPLACE };
	static const struct option lo[] = {
		{"csv", required_argument, NULL, O_CSV}, {"dataset", required_argument, NULL, O_DATASET},
		{"odbc", required_argument, NULL, O_ODBC}, {"table", required_argument, NULL, O_TABLE},
		{"history", required_argument, NULL, O_HISTORY}, {"db", required_argument, NULL, O_DB},
		{"db-table", required_argument, NULL, O_DBTABLE}, {"brokers", required_argument, NULL, O_BROKERS},
		{"topic", required_argument, NULL, O_TOPIC}, {"partitions", required_argument, NULL, O_PARTS},
		{"speed", required_argument, NULL, O_SPEED}, {"until", required_argument, NULL, O_UNTIL},
		{"batch-days", required_argument, NULL, O_BDAYS}, {"encoding", required_argument, NULL, O_ENC},
		{"state", required_argument, NULL, O_STATE}, {"timeline", required_argument, NULL, O_TIMELINE},
		{"raw", required_argument, NULL, O_RAW}, {"schema", required_argument, NULL, O_SCHEMA},
		{"append", no_argument, NULL, O_APPEND}, {"replace", no_argument, NULL, O_REPLACE},
		{"help", no_argument, NULL, 'h'}, {0},
	};
	const char *csv = NULL, *dataset = NULL, *odbc = NULL, *table = "PORTAL.ConsumptionDaily", *db = NULL,
		   *dbtable = "PORTAL.ConsumptionDaily", *timeline = NULL, *raw = NULL, *schema = NULL, *cmd;
	struct aq_replay_opts o = {.history = 0.2, .enc = AQ_REC_BINARY};
	struct aq_replay_stats st = {0};
	struct aq_seed_opts so = {.seed_mode = AQ_SEED_REFUSE};
	struct aq_readings r, hist;
	struct aq_progress prog;
	struct aq_err e = {0};
	const char **props = NULL;
	int c, nprops = 0, rc = 0, nsrc;
	char *end;

	aq_log_set_prog("aquacast-stream-replay");
	props = calloc((size_t)argc + 1, sizeof(*props));
	while ((c = getopt_long(argc, argv, "X:h", lo, NULL)) != -1) {
		switch (c) {
		case O_CSV: csv = optarg; break;
		case O_DATASET: dataset = optarg; break;
		case O_ODBC: odbc = optarg; break;
		case O_TABLE: table = optarg; break;
		case O_HISTORY:
			o.history = strtod(optarg, &end);
			if (*end || !(o.history >= 0 && o.history < 1))
				goto bad;
			break;
		case O_DB: db = optarg; break;
		case O_DBTABLE: dbtable = optarg; break;
		case O_BROKERS: o.brokers = optarg; break;
		case O_TOPIC: o.topic = optarg; break;
		case O_PARTS:
			o.partitions = (int)strtol(optarg, &end, 10);
			if (*end || o.partitions < 1 || o.partitions > 1024)
				goto bad;
			break;
		case O_SPEED:
			if (!strcmp(optarg, "max"))
				o.speed = 0;
			else if (o.speed = strtod(optarg, &end), *end || !(o.speed > 0))
				goto bad;
			break;
		case O_UNTIL:
			if (aq_date_parse(optarg, (int)strlen(optarg), &o.until, &e))
				goto bad;
			break;
		case O_BDAYS:
			o.batch_days = (int)strtol(optarg, &end, 10);
			if (*end || o.batch_days < 1 || o.batch_days > 4096)
				goto bad;
			break;
		case O_ENC:
			if (aq_record_enc_parse(optarg, &o.enc, &e))
				goto bad;
			break;
		case O_STATE: o.state_path = optarg; break;
		case O_TIMELINE: timeline = optarg; break;
		case O_RAW: raw = optarg; break;
		case O_SCHEMA: schema = optarg; break;
		case O_APPEND:
		case O_REPLACE:
			if (so.seed_mode != AQ_SEED_REFUSE) {
				fprintf(stderr, "aquacast-stream-replay: --append and --replace exclude each other\n");
				free(props);
				return 2;
			}
			so.seed_mode = c == O_APPEND ? AQ_SEED_APPEND : AQ_SEED_REPLACE;
			break;
		case 'X': props[nprops++] = optarg; break;
		case 'h': usage(stdout); free(props); return 0;
		default: usage(stderr); free(props); return 2;
		}
		continue;
bad:
		fprintf(stderr, "aquacast-stream-replay: bad value '%s'\n", optarg);
		free(props);
		return 2;
	}
	if (optind + 1 == argc && !strcmp(argv[optind], "raw")) {
		uint64_t n = 0;

		if (!raw || (!o.brokers && !(o.brokers = getenv("KAFKA_BROKERS")))) {
			fprintf(stderr, "aquacast-stream-replay: raw needs --raw FILE and --brokers\n");
			free(props);
			return 2;
		}
		rc = aq_replay_produce_raw(o.brokers, o.topic ? o.topic : "water.readings.daily", raw, props, nprops, &n, &e);
		if (rc)
			aq_error("%s", e.msg);
		printf("{\"command\":\"raw\",\"messages\":%llu%s}\n", (unsigned long long)n, rc ? ",\"error\":true" : "");
		free(props);
		return rc ? 1 : 0;
	}
	if (optind + 1 != argc || (strcmp(argv[optind], "seed") && strcmp(argv[optind], "run"))) {
		fprintf(stderr, "aquacast-stream-replay: want one command, seed, run or raw\n");
		usage(stderr);
		free(props);
		return 2;
	}
	cmd = argv[optind];
	nsrc = !!csv + !!dataset + !!odbc;
	if (nsrc != 1) {
		fprintf(stderr, "aquacast-stream-replay: want exactly one source: --csv, --dataset or --odbc\n");
		free(props);
		return 2;
	}
	if (!strcmp(cmd, "run") && !o.brokers && !(o.brokers = getenv("KAFKA_BROKERS"))) {
		fprintf(stderr, "aquacast-stream-replay: run needs --brokers or $KAFKA_BROKERS\n");
		free(props);
		return 2;
	}
	if (!strcmp(cmd, "seed") && !db && !(db = getenv("AQUACAST_ODBC"))) {
		fprintf(stderr, "aquacast-stream-replay: seed needs --db or $AQUACAST_ODBC\n");
		free(props);
		return 2;
	}
	o.props = props;
	o.nprops = nprops;
	if (aq_stop_install(&e)) {
		aq_error("%s", e.msg);
		return 1;
	}
	o.stop = &aq_stop_requested;
	aq_readings_init(&r);
	aq_readings_init(&hist);
	{
		double t = aq_now();

		if (csv)
			rc = aq_csv_load(csv, NULL, &r, NULL, &e);
		else if (dataset)
			rc = load_dataset(dataset, &r, &e);
		else
			rc = load_odbc(odbc, table, &r, &e);
		if (rc)
			goto fail;
		aq_info("source: %zu readings in %.2f s", r.n, aq_now() - t);
	}
	if (r.n == 0) {
		rc = aq_err_set(&e, AQ_EINVAL, "the source holds no readings");
		goto fail;
	}
	if (!strcmp(cmd, "seed")) {
		struct aq_odbc conn;
		struct aq_odbc_opts co = {.must_exist = !schema}; /* --schema may create the database */
		struct aq_seed_stats ss;
		double t = aq_now();

		st.split_day = aq_replay_split_day(&r, o.history);
		if ((rc = aq_replay_history(&r, st.split_day, &hist, &e)))
			goto fail;
		if ((rc = aq_odbc_connect(&conn, db, &co, &e)))
			goto fail;
		rc = schema ? aq_odbc_create_schema(&conn, schema, &e) : 0;
		so.table = dbtable;
		if (!rc)
			rc = aq_replay_seed(&conn, &hist, &so, &ss, &e);
		aq_odbc_release(&conn);
		if (rc)
			goto fail;
		aq_info("seeded %zu readings before the split day in %.2f s", hist.n, aq_now() - t);
		summary(cmd, &st, hist.n, aq_now() - t, NULL);
	} else {
		FILE *tl = NULL;

		if (timeline && !(tl = fopen(timeline, "a"))) {
			rc = aq_err_sys(&e, "cannot open '%s'", timeline);
			goto fail;
		}
		o.timeline = tl;
		aq_progress_init(&prog, "replay", "readings", 0);
		o.progress = &prog;
		rc = aq_replay_run(&r, &o, &st, &e);
		aq_progress_finish(&prog);
		if (tl)
			fclose(tl);
		if (rc)
			goto fail;
		summary(cmd, &st, 0, 0, NULL);
	}
	aq_readings_release(&hist);
	aq_readings_release(&r);
	free(props);
	return 0;
fail:
	aq_error("%s", e.msg);
	summary(cmd, &st, hist.n, 0, e.msg);
	aq_readings_release(&hist);
	aq_readings_release(&r);
	free(props);
	return 1;
}
