/* kafka.c — the --kafka source of aquacast-extract: options, signals and summary around lib/ingest.c. */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "date.h"
#include "ingest.h"
#include "log.h"
#include "stop.h"

int extract_kafka_main(int argc, char **argv);

static const char help[] =
	"usage: aquacast-extract --kafka BROKERS --topic T --group G --out DATASET [options]\n"
	"\n"
	"Consumes reading messages (docs/formats.md, streaming) into the readings dataset, one\n"
	"batch per poll cycle; offsets are committed only after the batch is durable (and, with\n"
	"--sink odbc, committed in the database). Malformed messages are counted and skipped.\n"
	"\n"
	"  --kafka BROKERS       bootstrap servers\n"
	"  --topic T             topic (default water.readings.daily)\n"
	"  --group G             consumer group (required)\n"
	"  --out DATASET         readings dataset (created if missing)\n"
	"  --parts P             partitions of a new dataset (default 32)\n"
	"  --batch-rows N        readings per batch at most (default 1000000)\n"
	"  --batch-seconds S     seconds per batch at most (default 1)\n"
	"  --max-messages N      stop after N messages (0: no limit)\n"
	"  --idle-timeout S      stop after S seconds without a message\n"
	"  --until-date DATE     take messages whose first day is <= DATE, then stop\n"
	"  --sink odbc           also insert the rows over ODBC (--odbc CONNSTR or $AQUACAST_ODBC,\n"
	"                        --table T, default PORTAL.ConsumptionDaily); DB commit before offsets\n"
	"  --timeline FILE       append \"<day> <readings> <unix time durable>\" per batch\n"
	"  -X key=value          extra librdkafka consumer property (repeatable)\n"
	"  -h, --help            this help\n"
	"\n"
	"The last stdout line is the JSON summary (\"ok\":false and \"error\" on a failure).\n"
	"exit: 0 ok, 1 failure, 2 usage\n";

static void set_summary(const struct aq_ingest_stats *st)
{
	double t = st->seconds, ta = st->active_seconds;

	cli_set_str("source", "kafka");
	cli_set_int("messages", (long long)st->messages);
	cli_set_int("readings", (long long)st->readings);
	cli_set_int("rows", (long long)st->readings);
	cli_set_int("bytes", (long long)st->bytes);
	cli_set_int("malformed", (long long)st->malformed);
	cli_set_int("batches", (long long)st->batches);
	cli_set_int("files", (long long)st->files);
	cli_set_int("db_rows", (long long)st->db_rows);
	cli_set_stream_rates(t, st->messages, st->readings, st->bytes);
	cli_set_real("active_seconds", ta);
	cli_set_rate("active_readings_per_s", st->readings, ta);
	cli_set_rate("active_messages_per_s", st->messages, ta);
	cli_set("lag", st->lag >= 0 ? json_integer(st->lag) : json_null());
	cli_set_bool("stopped", st->stopped);
}

enum { O_KAFKA = 256, O_TOPIC, O_GROUP, O_OUT, O_PARTS, O_BROWS, O_BSECS, O_MAXM, O_IDLE, O_UNTIL, O_SINK, O_ODBC,
       O_TABLE, O_TIMELINE };

static const struct option longopts[] = {
	{ "kafka", required_argument, NULL, O_KAFKA }, { "topic", required_argument, NULL, O_TOPIC },
	{ "group", required_argument, NULL, O_GROUP }, { "out", required_argument, NULL, O_OUT },
	{ "parts", required_argument, NULL, O_PARTS }, { "batch-rows", required_argument, NULL, O_BROWS },
	{ "batch-seconds", required_argument, NULL, O_BSECS }, { "max-messages", required_argument, NULL, O_MAXM },
	{ "idle-timeout", required_argument, NULL, O_IDLE }, { "until-date", required_argument, NULL, O_UNTIL },
	{ "sink", required_argument, NULL, O_SINK }, { "odbc", required_argument, NULL, O_ODBC },
	{ "table", required_argument, NULL, O_TABLE }, { "timeline", required_argument, NULL, O_TIMELINE },
	{ "help", no_argument, NULL, 'h' }, { 0 },
};

struct kargs {
	struct aq_ingest_opts o;
	const char *odbc, *timeline;
	int sink_odbc;
};

static void parse_one(struct kargs *a, const char **props, int c)
{
	static const struct cli_choice sinks[] = { { "odbc", 1 }, { NULL, 0 } };
	struct aq_ingest_opts *o = &a->o;

	switch (c) {
	case O_KAFKA: o->brokers = optarg; break;
	case O_TOPIC: o->topic = optarg; break;
	case O_GROUP: o->group = optarg; break;
	case O_OUT: o->out = optarg; break;
	case O_PARTS: o->parts = (int)cli_int("--parts", optarg, 1, 4096); break;
	case O_BROWS: o->batch_rows = (uint64_t)cli_int("--batch-rows", optarg, 1, LLONG_MAX); break;
	case O_BSECS: o->batch_seconds = cli_real("--batch-seconds", optarg, 0, 86400, CLI_OPEN_LO); break;
	case O_MAXM: o->max_messages = (uint64_t)cli_int("--max-messages", optarg, 0, LLONG_MAX); break;
	case O_IDLE: o->idle_timeout = cli_real("--idle-timeout", optarg, 0, 1e9, CLI_OPEN_LO); break;
	case O_UNTIL: o->until_date = cli_date("--until-date", optarg); break;
	case O_SINK: a->sink_odbc = cli_choice("--sink", optarg, sinks); break;
	case O_ODBC: a->odbc = optarg; break;
	case O_TABLE: o->odbc_table = optarg; break;
	case O_TIMELINE: a->timeline = optarg; break;
	case 'X': props[o->nprops++] = optarg; break;
	case 'h': cli_help(help);
	}
}

static void parse_args(int argc, char **argv, struct kargs *a, const char **props)
{
	int c;

	optind = 1;
	while ((c = cli_getopt(argc, argv, "X:h", longopts)) != -1)
		parse_one(a, props, c);
	if (optind < argc)
		cli_usage("unexpected argument '%s'", argv[optind]);
	if (!a->o.brokers || !a->o.group || !a->o.out)
		cli_usage("--kafka needs --group G and --out DATASET");
	if (a->sink_odbc && !a->odbc && !(a->odbc = getenv("AQUACAST_ODBC")))
		cli_usage("--sink odbc needs --odbc CONNSTR or $AQUACAST_ODBC");
	if (a->odbc && !a->sink_odbc)
		cli_usage("--odbc with --kafka only as the sink (--sink odbc)");
	a->o.odbc_conn = a->sink_odbc ? a->odbc : NULL;
}

int extract_kafka_main(int argc, char **argv)
{
	struct kargs a = { .o = { .topic = "water.readings.daily" } };
	struct aq_ingest_stats st = { .lag = -1 };
	struct aq_progress prog;
	struct aq_err e = { 0 };
	const char **props = calloc((size_t)argc + 1, sizeof(*props));
	FILE *tl = NULL;
	int rc;

	if (!props)
		return cli_fail("out of memory");
	parse_args(argc, argv, &a, props);
	a.o.props = props;
	if (a.timeline && !(tl = fopen(a.timeline, "a"))) {
		aq_err_sys(&e, "cannot open '%s'", a.timeline);
		free(props);
		set_summary(&st);
		return cli_fail_err(&e);
	}
	a.o.timeline = tl;
	if ((rc = aq_stop_install(&e)) == 0) {
		a.o.stop = &aq_stop_requested;
		aq_progress_init(&prog, "ingest", "readings", 0);
		a.o.progress = &prog;
		rc = aq_ingest_run(&a.o, &st, &e);
		aq_progress_finish(&prog);
	}
	if (tl)
		fclose(tl);
	free(props);
	set_summary(&st);
	if (rc)
		return cli_fail_err(&e);
	aq_info("%llu messages, %llu readings, %llu malformed, %llu batches in %.2f s, lag %lld",
		(unsigned long long)st.messages, (unsigned long long)st.readings, (unsigned long long)st.malformed,
		(unsigned long long)st.batches, st.seconds, (long long)st.lag);
	return cli_finish(CLI_EXIT_OK, NULL);
}
