/* kafka.c — the --kafka source of aquacast-extract: options, signals and summary around lib/ingest.c. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "date.h"
#include "ingest.h"
#include "log.h"
#include "stop.h"

int extract_kafka_main(int argc, char **argv);

static void usage(FILE *f)
{
	fputs("usage: aquacast-extract --kafka BROKERS --topic T --group G --out DATASET [options]\n"
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
	      "  --max-messages N      stop after N messages\n"
	      "  --idle-timeout S      stop after S seconds without a message\n"
	      "  --until-date DATE     take messages whose first day is <= DATE, then stop\n"
	      "  --sink odbc           also insert the rows over ODBC (--odbc CONNSTR or $AQUACAST_ODBC,\n"
	      "                        --table T, default PORTAL.ConsumptionDaily); DB commit before offsets\n"
	      "  --timeline FILE       append \"<day> <readings> <unix time durable>\" per batch\n"
	      "  -X key=value          extra librdkafka consumer property (repeatable)\n"
	      "  -h, --help            this help\n"
	      "\n"
	      "The last stdout line is a JSON summary. exit: 0 ok, 1 failure, 2 usage\n",
	      f);
}

static void summary(const struct aq_ingest_stats *st, const char *err)
{
	json_t *j = json_object();
	char *s;
	double t = st->seconds;

	json_object_set_new(j, "source", json_string("kafka"));
	json_object_set_new(j, "messages", json_integer((json_int_t)st->messages));
	json_object_set_new(j, "readings", json_integer((json_int_t)st->readings));
	json_object_set_new(j, "rows", json_integer((json_int_t)st->readings));
	json_object_set_new(j, "bytes", json_integer((json_int_t)st->bytes));
	json_object_set_new(j, "malformed", json_integer((json_int_t)st->malformed));
	json_object_set_new(j, "batches", json_integer((json_int_t)st->batches));
	json_object_set_new(j, "files", json_integer((json_int_t)st->files));
	json_object_set_new(j, "db_rows", json_integer((json_int_t)st->db_rows));
	json_object_set_new(j, "seconds", json_real(t));
	json_object_set_new(j, "messages_per_s", json_real(t > 0 ? st->messages / t : 0));
	json_object_set_new(j, "readings_per_s", json_real(t > 0 ? st->readings / t : 0));
	json_object_set_new(j, "bytes_per_s", json_real(t > 0 ? st->bytes / t : 0));
	json_object_set_new(j, "active_seconds", json_real(st->active_seconds));
	json_object_set_new(j, "active_readings_per_s",
			    json_real(st->active_seconds > 0 ? st->readings / st->active_seconds : 0));
	json_object_set_new(j, "active_messages_per_s",
			    json_real(st->active_seconds > 0 ? st->messages / st->active_seconds : 0));
	json_object_set_new(j, "lag", st->lag >= 0 ? json_integer(st->lag) : json_null());
	json_object_set_new(j, "stopped", json_boolean(st->stopped));
	if (err)
		json_object_set_new(j, "error", json_string(err));
	if ((s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(6))))
		printf("%s\n", s);
	fflush(stdout);
	free(s);
	json_decref(j);
}

int extract_kafka_main(int argc, char **argv)
{
	enum { O_KAFKA = 256, O_TOPIC, O_GROUP, O_OUT, O_PARTS, O_BROWS, O_BSECS, O_MAXM, O_IDLE, O_UNTIL, O_SINK,
	       O_ODBC, O_TABLE, O_TIMELINE };
	static const struct option lo[] = {
		{"kafka", required_argument, NULL, O_KAFKA}, {"topic", required_argument, NULL, O_TOPIC},
		{"group", required_argument, NULL, O_GROUP}, {"out", required_argument, NULL, O_OUT},
		{"parts", required_argument, NULL, O_PARTS}, {"batch-rows", required_argument, NULL, O_BROWS},
		{"batch-seconds", required_argument, NULL, O_BSECS}, {"max-messages", required_argument, NULL, O_MAXM},
		{"idle-timeout", required_argument, NULL, O_IDLE}, {"until-date", required_argument, NULL, O_UNTIL},
		{"sink", required_argument, NULL, O_SINK}, {"odbc", required_argument, NULL, O_ODBC},
		{"table", required_argument, NULL, O_TABLE}, {"timeline", required_argument, NULL, O_TIMELINE},
		{"help", no_argument, NULL, 'h'}, {0},
	};
	struct aq_ingest_opts o = {.topic = "water.readings.daily"};
	struct aq_ingest_stats st = {0};
	struct aq_progress prog;
	struct aq_err e = {0};
	const char **props = calloc((size_t)argc + 1, sizeof(*props));
	const char *odbc = NULL, *timeline = NULL;
	int c, sink_odbc = 0, rc;
	FILE *tl = NULL;
	char *end;

	optind = 1;
	while ((c = getopt_long(argc, argv, "X:h", lo, NULL)) != -1) {
		switch (c) {
		case O_KAFKA: o.brokers = optarg; break;
		case O_TOPIC: o.topic = optarg; break;
		case O_GROUP: o.group = optarg; break;
		case O_OUT: o.out = optarg; break;
		case O_PARTS:
			o.parts = (int)strtol(optarg, &end, 10);
			if (*end || o.parts < 1 || o.parts > 4096)
				goto bad;
			break;
		case O_BROWS:
			o.batch_rows = strtoull(optarg, &end, 10);
			if (*end || !o.batch_rows)
				goto bad;
			break;
		case O_BSECS:
			o.batch_seconds = strtod(optarg, &end);
			if (*end || !(o.batch_seconds > 0))
				goto bad;
			break;
		case O_MAXM:
			o.max_messages = strtoull(optarg, &end, 10);
			if (*end)
				goto bad;
			break;
		case O_IDLE:
			o.idle_timeout = strtod(optarg, &end);
			if (*end || !(o.idle_timeout > 0))
				goto bad;
			break;
		case O_UNTIL:
			if (aq_date_parse(optarg, (int)strlen(optarg), &o.until_date, &e))
				goto bad;
			break;
		case O_SINK:
			if (strcmp(optarg, "odbc"))
				goto bad;
			sink_odbc = 1;
			break;
		case O_ODBC: odbc = optarg; break;
		case O_TABLE: o.odbc_table = optarg; break;
		case O_TIMELINE: timeline = optarg; break;
		case 'X': props[o.nprops++] = optarg; break;
		case 'h': usage(stdout); free(props); return 0;
		default: usage(stderr); free(props); return 2;
		}
		continue;
bad:
		fprintf(stderr, "aquacast-extract: bad value '%s'\n", optarg);
		free(props);
		return 2;
	}
	if (optind < argc || !o.brokers || !o.group || !o.out) {
		fprintf(stderr, "aquacast-extract: --kafka needs --group G and --out DATASET\n");
		usage(stderr);
		free(props);
		return 2;
	}
	if (sink_odbc && !odbc && !(odbc = getenv("AQUACAST_ODBC"))) {
		fprintf(stderr, "aquacast-extract: --sink odbc needs --odbc CONNSTR or $AQUACAST_ODBC\n");
		free(props);
		return 2;
	}
	if (odbc && !sink_odbc) {
		fprintf(stderr, "aquacast-extract: --odbc with --kafka only as the sink (--sink odbc)\n");
		free(props);
		return 2;
	}
	o.odbc_conn = sink_odbc ? odbc : NULL;
	o.props = props;
	if (timeline && !(tl = fopen(timeline, "a"))) {
		aq_err_sys(&e, "cannot open '%s'", timeline);
		aq_error("%s", e.msg);
		summary(&st, e.msg);
		free(props);
		return 1;
	}
	o.timeline = tl;
	if (aq_stop_install(&e)) {
		aq_error("%s", e.msg);
		return 1;
	}
	o.stop = &aq_stop_requested;
	aq_progress_init(&prog, "ingest", "readings", 0);
	o.progress = &prog;
	rc = aq_ingest_run(&o, &st, &e);
	aq_progress_finish(&prog);
	if (tl)
		fclose(tl);
	free(props);
	if (rc) {
		aq_error("%s", e.msg);
		summary(&st, e.msg);
		return 1;
	}
	aq_info("%llu messages, %llu readings, %llu malformed, %llu batches in %.2f s, lag %lld",
		(unsigned long long)st.messages, (unsigned long long)st.readings, (unsigned long long)st.malformed,
		(unsigned long long)st.batches, st.seconds, (long long)st.lag);
	summary(&st, NULL);
	return 0;
}
