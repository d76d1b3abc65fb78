/* kafka.c — librdkafka helpers shared by stream-replay and the Kafka ingest. */
#include "kafka.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

int aq_kafka_err(struct aq_err *e, rd_kafka_resp_err_t err, const char *fmt, ...)
{
	char ctx[AQ_ERR_MSG];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	return aq_err_set(e, AQ_EKAFKA, "%s: %s", ctx, rd_kafka_err2str(err));
}

int aq_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, struct aq_err *e)
{
	char why[512];

	if (rd_kafka_conf_set(conf, key, value, why, sizeof(why)) != RD_KAFKA_CONF_OK)
		return aq_err_set(e, AQ_EINVAL, "bad Kafka property '%s': %s", key, why);
	return 0;
}

int aq_kafka_conf_setkv(rd_kafka_conf_t *conf, const char *kv, struct aq_err *e)
{
	const char *eq = strchr(kv, '=');
	char *key;
	int rc;

	if (!eq || eq == kv)
		return aq_err_set(e, AQ_EINVAL, "bad Kafka property '%s' (want key=value)", kv);
	if (!(key = strndup(kv, (size_t)(eq - kv))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	rc = aq_kafka_conf_set(conf, key, eq + 1, e);
	free(key);
	return rc;
}

void aq_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf)
{
	enum aq_log_level l = level <= 3 ? AQ_LOG_ERROR : level == 4 ? AQ_LOG_WARN : level <= 6 ? AQ_LOG_INFO
											: AQ_LOG_DEBUG;

	aq_log(l, "librdkafka %s: %s: %s", rk ? rd_kafka_name(rk) : "-", fac, buf);
}

int aq_kafka_conf_new(rd_kafka_conf_t **conf, const char *brokers, const char *const *props, int nprops,
		      struct aq_err *e)
{
	rd_kafka_conf_t *c = rd_kafka_conf_new();
	int rc;

	if (!c)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	rd_kafka_conf_set_log_cb(c, aq_kafka_log_cb);
	if ((rc = aq_kafka_conf_set(c, "bootstrap.servers", brokers, e)))
		goto fail;
	for (int i = 0; i < nprops; i++)
		if ((rc = aq_kafka_conf_setkv(c, props[i], e)))
			goto fail;
	*conf = c;
	return 0;
fail:
	rd_kafka_conf_destroy(c);
	return rc;
}

int aq_kafka_conf_new_defaults(rd_kafka_conf_t **conf, const char *brokers, const char *const *defaults, int ndef,
			       const char *const *props, int nprops, struct aq_err *e)
{
	rd_kafka_conf_t *c = NULL;
	int rc = aq_kafka_conf_new(&c, brokers, defaults, ndef, e);

	for (int i = 0; !rc && i < nprops; i++)
		if ((rc = aq_kafka_conf_setkv(c, props[i], e)))
			rd_kafka_conf_destroy(c);
	if (!rc)
		*conf = c;
	return rc;
}

static int stopped(const volatile sig_atomic_t *stop)
{
	return stop && *stop;
}

/* The next wait slice before deadline (aq_now() seconds) in ms; 0 when it has passed. */
static int slice_ms(double deadline)
{
	double left = (deadline - aq_now()) * 1000;

	if (left <= 0)
		return 0;
	return left < AQ_KAFKA_SLICE_MS ? (int)left + 1 : AQ_KAFKA_SLICE_MS;
}

/* Errors that mean "no broker answered yet": worth another slice until the deadline. */
static int transient(rd_kafka_resp_err_t err)
{
	return err == RD_KAFKA_RESP_ERR__TIMED_OUT || err == RD_KAFKA_RESP_ERR__TRANSPORT ||
	       err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__WAIT_COORD ||
	       err == RD_KAFKA_RESP_ERR_COORDINATOR_NOT_AVAILABLE || err == RD_KAFKA_RESP_ERR__TIMED_OUT_QUEUE;
}

/*
 * One slice of a sliced wait is over (its call returned err after starting
 * at t): 1 = try again, 0 = done (err is the answer), AQ_EINTR = stop seen.
 * A call that failed at once (no broker known yet) sleeps out half a slice,
 * so the loop never spins (a sleep, not rd_kafka_poll: a consumer's main
 * queue may be its message queue).
 */
static int again(rd_kafka_resp_err_t err, double t, double deadline, const volatile sig_atomic_t *stop)
{
	double spent;

	if (!err || !transient(err))
		return 0;
	if (stopped(stop))
		return AQ_EINTR;
	if (aq_now() >= deadline)
		return 0;
	spent = (aq_now() - t) * 1000;
	if (spent < AQ_KAFKA_SLICE_MS / 2) {
		long ns = (long)((AQ_KAFKA_SLICE_MS / 2 - spent) * 1e6);
		struct timespec ts = {ns / 1000000000L, ns % 1000000000L};

		nanosleep(&ts, NULL);
	}
	return stopped(stop) ? AQ_EINTR : 1;
}

/* -1 = not found; else the partition count. */
static int topic_partitions(rd_kafka_t *rk, const char *topic, int timeout_ms, const volatile sig_atomic_t *stop,
			    int *nbrokers, struct aq_err *e)
{
	const struct rd_kafka_metadata *md = NULL;
	rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
	double deadline = aq_now() + timeout_ms / 1e3, t;
	rd_kafka_resp_err_t err;
	int n = -1, a;

	if (!rkt)
		return aq_kafka_err(e, rd_kafka_last_error(), "cannot use topic '%s'", topic);
	do {
		int ms = slice_ms(deadline);

		t = aq_now();
		err = rd_kafka_metadata(rk, 0, rkt, &md, ms > 0 ? ms : 1);
	} while ((a = again(err, t, deadline, stop)) == 1);
	rd_kafka_topic_destroy(rkt);
	if (a == AQ_EINTR)
		return aq_err_set(e, AQ_EINTR, "stopped while waiting for the metadata of topic '%s'", topic);
	if (err)
		return aq_kafka_err(e, err, "cannot read metadata of topic '%s'", topic);
	*nbrokers = md->broker_cnt;
	if (md->topic_cnt == 1 && !md->topics[0].err)
		n = md->topics[0].partition_cnt;
	else if (md->topic_cnt == 1 && md->topics[0].err != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
		err = md->topics[0].err;
		rd_kafka_metadata_destroy(md);
		return aq_kafka_err(e, err, "cannot describe topic '%s'", topic);
	}
	rd_kafka_metadata_destroy(md);
	return n;
}

/* Wait in slices for the CreateTopics answer on q into *ev. */
static int create_answer(rd_kafka_queue_t *q, const char *topic, int timeout_ms, const volatile sig_atomic_t *stop,
			 rd_kafka_event_t **ev, struct aq_err *e)
{
	double deadline = aq_now() + timeout_ms / 1e3;
	int ms;

	while (!(*ev = rd_kafka_queue_poll(q, (ms = slice_ms(deadline)) > 0 ? ms : 1))) {
		if (stopped(stop))
			return aq_err_set(e, AQ_EINTR, "stopped while creating topic '%s'", topic);
		if (!ms)
			return aq_err_set(e, AQ_EKAFKA, "cannot create topic '%s': no answer in %d ms", topic, timeout_ms);
	}
	return 0;
}

int aq_kafka_ensure_topic(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms,
			  const volatile sig_atomic_t *stop, int *created, struct aq_err *e)
{
	rd_kafka_NewTopic_t *nt;
	rd_kafka_queue_t *q;
	rd_kafka_event_t *ev = NULL;
	const rd_kafka_CreateTopics_result_t *res;
	const rd_kafka_topic_result_t **tr;
	size_t ntr;
	char why[512];
	int nb = 0, n, rc = 0;

	if (created)
		*created = 0;
	n = topic_partitions(rk, topic, timeout_ms, stop, &nb, e);
	if (n < -1)
		return n;
	if (n > 0)
		return 0;
	if (!(nt = rd_kafka_NewTopic_new(topic, partitions, nb == 1 ? 1 : -1, why, sizeof(why))))
		return aq_err_set(e, AQ_EINVAL, "cannot create topic '%s': %s", topic, why);
	q = rd_kafka_queue_new(rk);
	rd_kafka_CreateTopics(rk, &nt, 1, NULL, q);
	if ((rc = create_answer(q, topic, timeout_ms + 1000, stop, &ev, e)))
		goto out;
	if (rd_kafka_event_error(ev)) {
		rc = aq_kafka_err(e, rd_kafka_event_error(ev), "cannot create topic '%s'", topic);
		goto out;
	}
	res = rd_kafka_event_CreateTopics_result(ev);
	tr = rd_kafka_CreateTopics_result_topics(res, &ntr);
	if (ntr == 1 && rd_kafka_topic_result_error(tr[0]) &&
	    rd_kafka_topic_result_error(tr[0]) != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
		rc = aq_err_set(e, AQ_EKAFKA, "cannot create topic '%s': %s", topic,
				rd_kafka_topic_result_error_string(tr[0]) ? rd_kafka_topic_result_error_string(tr[0])
									  : rd_kafka_err2str(rd_kafka_topic_result_error(tr[0])));
		goto out;
	}
	if (created && ntr == 1 && !rd_kafka_topic_result_error(tr[0]))
		*created = 1;
	aq_info("topic '%s': created with %d partitions", topic, partitions);
	/* wait until the new topic shows in this client's metadata (a consumer would
	   otherwise see "unknown topic" until its next periodic refresh) */
	for (int waited = 0; waited < timeout_ms && !stopped(stop); waited += 100) {
		struct aq_err me = {0};

		if (topic_partitions(rk, topic, AQ_KAFKA_SLICE_MS, stop, &nb, &me) > 0)
			break;
		rd_kafka_poll(rk, 100);
	}
	if (stopped(stop))
		rc = aq_err_set(e, AQ_EINTR, "stopped while waiting for the new topic '%s'", topic);
out:
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	rd_kafka_NewTopic_destroy(nt);
	return rc;
}

int aq_kafka_group_lag(rd_kafka_t *rk, const char *topic, int timeout_ms, const volatile sig_atomic_t *stop,
		       int64_t *lag, struct aq_err *e)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t err;
	double deadline = aq_now() + timeout_ms / 1e3, t;
	int nb = 0, n, rc = 0, a;
	int64_t sum = 0;

	n = topic_partitions(rk, topic, timeout_ms, stop, &nb, e);
	if (n < -1)
		return n;
	if (n < 0)
		return aq_err_set(e, AQ_ENOTFOUND, "topic '%s' not found", topic);
	l = rd_kafka_topic_partition_list_new(n);
	for (int p = 0; p < n; p++)
		rd_kafka_topic_partition_list_add(l, topic, p);
	do {
		int ms = slice_ms(deadline);

		t = aq_now();
		err = rd_kafka_committed(rk, l, ms > 0 ? ms : 1);
	} while ((a = again(err, t, deadline, stop)) == 1);
	if (a == AQ_EINTR || err) {
		rc = a == AQ_EINTR ? aq_err_set(e, AQ_EINTR, "stopped while reading the offsets of topic '%s'", topic)
				   : aq_kafka_err(e, err, "cannot read committed offsets of topic '%s'", topic);
		goto out;
	}
	for (int i = 0; i < l->cnt; i++) {
		int64_t lo = 0, hi = 0;

		do {
			int ms = slice_ms(deadline);

			t = aq_now();
			err = rd_kafka_query_watermark_offsets(rk, topic, l->elems[i].partition, &lo, &hi,
							       ms > 0 ? ms : 1);
		} while ((a = again(err, t, deadline, stop)) == 1);
		if (a == AQ_EINTR || err) {
			rc = a == AQ_EINTR ? aq_err_set(e, AQ_EINTR, "stopped while reading the watermarks of '%s'", topic)
					   : aq_kafka_err(e, err, "cannot read watermarks of '%s' [%d]", topic,
							  l->elems[i].partition);
			goto out;
		}
		sum += hi - (l->elems[i].offset >= 0 ? l->elems[i].offset : lo);
	}
	*lag = sum;
out:
	rd_kafka_topic_partition_list_destroy(l);
	return rc;
}
