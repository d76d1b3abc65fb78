/* ingest.c — consume reading messages into durable dataset batches; offsets committed only after the batch is durable. */
#include "ingest.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "date.h"
#include "kafka.h"
#include "odbc.h"
#include "readings_writer.h"
#include "record.h"

#define MAX_PARTS 1024

struct daycount {
	int32_t day;
	uint64_t n;
};

struct ing {
	const struct aq_ingest_opts *o;
	struct aq_ingest_stats *st;
	rd_kafka_t *rk;
	struct aq_dataset ds;
	struct aq_readings_writer w;
	int w_open;
	struct aq_readings dbrows;   /* the batch's rows for the ODBC sink */
	struct aq_odbc db;
	int db_open;
	int64_t next_off[MAX_PARTS]; /* next offset to commit per partition; -1 none in this batch */
	int assigned[MAX_PARTS], done[MAX_PARTS];
	int nassigned;
	uint64_t b_rows, b_msgs;
	double b_t0;
	struct daycount *days;
	size_t ndays, capdays;
	double assigned_at;
	double t_first, t_done;      /* first message taken, last batch committed */
	int rc;                      /* first error inside a callback */
	struct aq_err err;
};

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int count_day(struct ing *g, int32_t day, struct aq_err *e)
{
	for (size_t i = g->ndays; i-- > 0;)
		if (g->days[i].day == day) {
			g->days[i].n++;
			return 0;
		}
	if (g->ndays == g->capdays) {
		size_t cap = g->capdays ? 2 * g->capdays : 64;
		struct daycount *p = realloc(g->days, cap * sizeof(*p));

		if (!p)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		g->days = p;
		g->capdays = cap;
	}
	g->days[g->ndays++] = (struct daycount){day, 1};
	return 0;
}

/* After a stop, seconds a commit or the group leave may still take (no answer: the batch is redelivered, harmless). */
#define STOP_GRACE 1.0

/* A broker wait of at most limit seconds, or STOP_GRACE after a stop request: 1 while it may go on. */
static int may_wait(const struct ing *g, double t0, double limit, double *stop_at)
{
	double now = aq_now();

	if (g->o->stop && *g->o->stop && !*stop_at)
		*stop_at = now;
	return now - t0 < limit && !(*stop_at && now - *stop_at >= STOP_GRACE);
}

/* Commit the stored offsets, waiting for the answer in slices (a dead coordinator must not hold a stop). */
static rd_kafka_resp_err_t commit_stored(struct ing *g)
{
	rd_kafka_queue_t *q = rd_kafka_queue_new(g->rk);
	rd_kafka_event_t *ev = NULL;
	rd_kafka_resp_err_t err;
	double t0 = aq_now(), stop_at = 0;

	if (!(err = rd_kafka_commit_queue(g->rk, NULL, q, NULL, NULL))) {
		while (!(ev = rd_kafka_queue_poll(q, 100)) && may_wait(g, t0, 30.0, &stop_at))
			;
		err = ev ? rd_kafka_event_error(ev) : RD_KAFKA_RESP_ERR__TIMED_OUT;
	}
	if (ev)
		rd_kafka_event_destroy(ev);
	rd_kafka_queue_destroy(q);
	return err;
}

/* End the batch: durable files, DB commit, then offsets. */
static int flush(struct ing *g, struct aq_err *e)
{
	rd_kafka_topic_partition_list_t *l;
	rd_kafka_resp_err_t err;
	int rc, n = 0;

	if (g->b_msgs == 0)
		return 0;
	if (g->w_open) {
		g->w_open = 0;
		if ((rc = aq_readings_writer_close(&g->w, e)))
			return aq_err_prefix(e, "cannot write batch");
		g->st->files += g->w.stats.files;
	}
	if (g->db_open && g->dbrows.n) {
		if ((rc = aq_odbc_load_readings(&g->db, g->o->odbc_table ? g->o->odbc_table : "PORTAL.ConsumptionDaily",
						&g->dbrows, 0, e)))
			return rc;
		g->st->db_rows += g->dbrows.n;
		g->dbrows.n = 0;
	}
	l = rd_kafka_topic_partition_list_new(8);
	for (int p = 0; p < MAX_PARTS; p++)
		if (g->next_off[p] >= 0) {
			rd_kafka_topic_partition_list_add(l, g->o->topic, p)->offset = g->next_off[p];
			n++;
		}
	if (n) {
		if ((err = rd_kafka_offsets_store(g->rk, l)))
			aq_warn("cannot store offsets (partitions revoked?): %s; the batch will be redelivered",
				rd_kafka_err2str(err));
		else if ((err = commit_stored(g)) && err != RD_KAFKA_RESP_ERR__NO_OFFSET)
			aq_warn("cannot commit offsets: %s; the batch may be redelivered (harmless: latest wins)",
				rd_kafka_err2str(err));
	}
	rd_kafka_topic_partition_list_destroy(l);
	if (g->o->timeline) {
		double t = wall_now();
		char ds[AQ_DATE_STRLEN];

		for (size_t i = 0; i < g->ndays; i++)
			fprintf(g->o->timeline, "%s %" PRIu64 " %.6f\n", aq_date_format(g->days[i].day, ds),
				g->days[i].n, t);
		fflush(g->o->timeline);
	}
	aq_debug("batch of %" PRIu64 " messages, %" PRIu64 " readings durable and committed", g->b_msgs, g->b_rows);
	g->t_done = aq_now();
	g->st->active_seconds = g->t_done - g->t_first;
	g->st->batches++;
	g->ndays = 0;
	g->b_rows = g->b_msgs = 0;
	for (int p = 0; p < MAX_PARTS; p++)
		g->next_off[p] = -1;
	return 0;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err, rd_kafka_topic_partition_list_t *parts,
			 void *opaque)
{
	struct ing *g = opaque;
	int coop = !strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE");

	if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
		for (int i = 0; i < parts->cnt; i++)
			if (parts->elems[i].partition < MAX_PARTS && !g->assigned[parts->elems[i].partition]) {
				g->assigned[parts->elems[i].partition] = 1;
				g->done[parts->elems[i].partition] = 0;
				g->nassigned++;
			}
		aq_info("assigned %d partition(s) of '%s'", parts->cnt, g->o->topic);
		g->assigned_at = aq_now(); /* the idle timeout restarts after a (re)join */
		if (coop)
			rd_kafka_incremental_assign(rk, parts);
		else
			rd_kafka_assign(rk, parts);
		return;
	}
	/* revoke (or lost): make the batch durable and commit while we still own the partitions */
	if (!g->rc && (g->rc = flush(g, &g->err)))
		aq_error("%s", g->err.msg);
	for (int i = 0; i < parts->cnt; i++)
		if (parts->elems[i].partition < MAX_PARTS && g->assigned[parts->elems[i].partition]) {
			g->assigned[parts->elems[i].partition] = 0;
			g->nassigned--;
		}
	aq_info("revoked %d partition(s) of '%s'", parts->cnt, g->o->topic);
	if (coop)
		rd_kafka_incremental_unassign(rk, parts);
	else
		rd_kafka_assign(rk, NULL);
}

/*
 * Leave the group (the revoke callback runs from here), serving the close
 * in slices: at most 10 s (the session timeout is 6 s), STOP_GRACE after a
 * stop. 1 = closed; 0 = given up (the broker forgets the member when its
 * session times out).
 */
static int close_consumer(struct ing *g)
{
	rd_kafka_queue_t *q = rd_kafka_queue_new(g->rk);
	rd_kafka_error_t *err = rd_kafka_consumer_close_queue(g->rk, q);
	double t0 = aq_now(), stop_at = 0;
	int closed = 0;

	if (err) {
		aq_warn("cannot close the consumer: %s", rd_kafka_error_string(err));
		rd_kafka_error_destroy(err);
	} else {
		while (!(closed = rd_kafka_consumer_closed(g->rk)) && may_wait(g, t0, 10.0, &stop_at))
			rd_kafka_queue_poll_callback(q, 100);
		if (!closed)
			aq_warn("consumer not closed after %.1f s: leaving without waiting for the group", aq_now() - t0);
	}
	rd_kafka_queue_destroy(q);
	return closed;
}

static int all_done(const struct ing *g)
{
	if (!g->nassigned)
		return 0;
	for (int p = 0; p < MAX_PARTS; p++)
		if (g->assigned[p] && !g->done[p])
			return 0;
	return 1;
}

static int take(struct ing *g, const rd_kafka_message_t *m, struct aq_record *rec, struct aq_err *e)
{
	struct aq_err de = {0};
	int p = m->partition, rc;

	if (p < 0 || p >= MAX_PARTS)
		return aq_err_set(e, AQ_EUNSUPPORTED, "partition %d beyond %d", p, MAX_PARTS);
	if (g->done[p])
		return 0; /* past --until-date: left for the next run */
	/* the key is required: it places the account in its partition */
	if (aq_record_decode(rec, m->key ? m->key : "", m->key ? m->key_len : 0, m->payload, m->len, &de)) {
		g->st->malformed++;
		if (g->st->malformed <= 20 || g->st->malformed % 1000 == 0)
			aq_warn("skipping malformed message at '%s' [%d] offset %" PRId64 " (%zu bytes): %s%s",
				g->o->topic, p, m->offset, m->len, de.msg,
				g->st->malformed == 20 ? " (further ones logged every 1000th)" : "");
	} else if (g->o->until_date && rec->date[0] > g->o->until_date) {
		rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);

		rd_kafka_topic_partition_list_add(l, g->o->topic, p);
		rd_kafka_pause_partitions(g->rk, l);
		rd_kafka_topic_partition_list_destroy(l);
		g->done[p] = 1;
		aq_info("partition %d reached the day after --until-date at offset %" PRId64, p, m->offset);
		return 0;
	} else {
		if (!g->w_open) {
			if ((rc = aq_readings_writer_open(&g->w, &g->ds, aq_dataset_next_key(&g->ds), "kafka", NULL, e)))
				return rc;
			g->w_open = 1;
		}
		for (size_t i = 0; i < rec->n; i++) {
			if ((rc = aq_readings_writer_add(&g->w, rec->date[i], rec->account, rec->value[i], e)))
				return rc;
			if (g->db_open && (rc = aq_readings_push(&g->dbrows, rec->date[i], rec->account, rec->value[i], e)))
				return rc;
			if (g->o->timeline && (rc = count_day(g, rec->date[i], e)))
				return rc;
		}
		g->b_rows += rec->n;
		g->st->readings += rec->n;
		if (g->o->progress)
			aq_progress_add(g->o->progress, rec->n);
	}
	if (g->b_msgs == 0)
		g->b_t0 = aq_now();
	if (!g->t_first)
		g->t_first = g->b_t0;
	g->b_msgs++;
	g->next_off[p] = m->offset + 1;
	g->st->messages++;
	g->st->bytes += m->len;
	return 0;
}

/* The output dataset: an existing one keeps its own partitioning; it must hold readings. */
static int ingest_dataset(struct ing *g, const struct aq_ingest_opts *o, struct aq_err *e)
{
	struct aq_err oe = {0};
	int rc;

	if (aq_dataset_open(&g->ds, o->out, &oe) &&
	    (rc = aq_dataset_create(&g->ds, o->out, "readings", o->parts > 0 ? o->parts : 32, e)))
		return rc;
	if (strcmp(g->ds.kind, "readings")) {
		rc = aq_err_set(e, AQ_EINVAL, "'%s' is a dataset of kind '%s', not readings", o->out, g->ds.kind);
		aq_dataset_release(&g->ds);
		return rc;
	}
	return 0;
}

/* The consumer: manual offset commits after each durable batch (aquacast's defaults, then the caller's). */
static int ingest_consumer(struct ing *g, const struct aq_ingest_opts *o, struct aq_err *e)
{
	static const char *defaults[] = {"enable.auto.commit=false", "enable.auto.offset.store=false",
					 "auto.offset.reset=earliest", "session.timeout.ms=6000",
					 "heartbeat.interval.ms=1500", "fetch.wait.max.ms=100",
					 "topic.metadata.refresh.interval.ms=10000", "reconnect.backoff.max.ms=2000",
					 /* also the rebalance timeout: bounds how long a rejoin waits for gone members */
					 "max.poll.interval.ms=30000"};
	int ndef = (int)(sizeof(defaults) / sizeof(defaults[0]));
	rd_kafka_conf_t *conf = NULL;
	char errstr[512];
	int rc;

	if ((rc = aq_kafka_conf_new_defaults(&conf, o->brokers, defaults, ndef, o->props, o->nprops, e)))
		return rc;
	if ((rc = aq_kafka_conf_set(conf, "group.id", o->group, e))) {
		rd_kafka_conf_destroy(conf);
		return rc;
	}
	rd_kafka_conf_set_rebalance_cb(conf, rebalance_cb);
	rd_kafka_conf_set_opaque(conf, g);
	if (!(g->rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf, errstr, sizeof(errstr)))) {
		rd_kafka_conf_destroy(conf);
		return aq_err_set(e, AQ_EKAFKA, "cannot create consumer: %s", errstr);
	}
	return 0;
}

/*
 * Idle time counts only while partitions are assigned: after a broker
 * restart the group coordinator may hold the rejoin for a while, and
 * that is not an empty topic. Unassigned for 5× the idle time: give up.
 * 1: stop consuming.
 */
static int ingest_idle(const struct ing *g, const struct aq_ingest_opts *o, double now, double last_msg,
		       double *unassigned_since)
{
	if (g->nassigned > 0) {
		*unassigned_since = 0;
		if (now - (last_msg > g->assigned_at ? last_msg : g->assigned_at) >= o->idle_timeout) {
			aq_info("no message for %.1f s: stopping", o->idle_timeout);
			return 1;
		}
	} else if (!*unassigned_since) {
		*unassigned_since = now;
	} else if (now - *unassigned_since >= 5 * o->idle_timeout) {
		aq_warn("no partition assigned for %.1f s: stopping", now - *unassigned_since);
		return 1;
	}
	return 0;
}

/* Poll until a stop, a limit or the idle time: messages taken, batches flushed by rows or seconds; the last flush. */
static int ingest_consume(struct ing *g, const struct aq_ingest_opts *o, struct aq_record *rec, struct aq_err *e)
{
	uint64_t batch_rows = o->batch_rows ? o->batch_rows : 1000000;
	double batch_s = o->batch_seconds > 0 ? o->batch_seconds : 1.0, last_msg = aq_now(), unassigned_since = 0;
	struct aq_ingest_stats *st = g->st;
	int rc = 0;

	for (;;) {
		rd_kafka_message_t *m;
		double now;

		if (o->stop && *o->stop) {
			st->stopped = 1;
			break;
		}
		if (g->rc) {
			*e = g->err;
			return g->rc;
		}
		m = rd_kafka_consumer_poll(g->rk, 100);
		now = aq_now();
		if (m) {
			if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
				/* not requested; ignore */
			} else if (m->err) {
				aq_warn("consumer: %s", rd_kafka_message_errstr(m));
			} else {
				last_msg = now;
				rc = take(g, m, rec, e);
			}
			rd_kafka_message_destroy(m);
			if (rc)
				return rc;
		}
		if (g->b_msgs && (g->b_rows >= batch_rows || now - g->b_t0 >= batch_s) && (rc = flush(g, e)))
			return rc;
		if (o->max_messages && st->messages >= o->max_messages)
			break;
		if (o->until_date && all_done(g))
			break;
		if (o->idle_timeout > 0 && ingest_idle(g, o, now, last_msg, &unassigned_since))
			break;
	}
	return flush(g, e);
}

int aq_ingest_run(const struct aq_ingest_opts *o, struct aq_ingest_stats *st, struct aq_err *e)
{
	double t0 = aq_now();
	rd_kafka_topic_partition_list_t *sub = NULL;
	struct aq_record rec;
	struct ing *g;
	int rc = 0, closed = 1;

	memset(st, 0, sizeof(*st));
	st->lag = -1;
	if (!o->brokers || !o->topic || !o->group || !o->out)
		return aq_err_set(e, AQ_EINVAL, "ingest needs brokers, topic, group and an output dataset");
	if (o->odbc_conn && (rc = aq_odbc_check_exists(o->odbc_conn, e))) /* before the dataset is created */
		return rc;
	if (!(g = calloc(1, sizeof(*g))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	g->o = o;
	g->st = st;
	aq_record_init(&rec);
	aq_readings_init(&g->dbrows);
	for (int p = 0; p < MAX_PARTS; p++)
		g->next_off[p] = -1;
	if ((rc = ingest_dataset(g, o, e)))
		goto out_free;
	if (o->odbc_conn) {
		struct aq_odbc_opts co = {.must_exist = 1}; /* the sink inserts into an existing table */

		if ((rc = aq_odbc_connect(&g->db, o->odbc_conn, &co, e)))
			goto out_ds;
		g->db_open = 1;
	}
	if ((rc = ingest_consumer(g, o, e)))
		goto out_db;
	/*
	 * A subscription to a missing topic would wait for the next metadata
	 * refresh (minutes). No broker answering counts as idle time.
	 */
	rc = aq_kafka_ensure_topic(g->rk, o->topic, 6, o->idle_timeout > 0 && o->idle_timeout < 30 ? (int)(o->idle_timeout * 1000) : 30000,
				   o->stop, NULL, e);
	if (rc == AQ_EINTR) {
		aq_info("%s", e->msg);
		aq_err_clear(e);
		st->stopped = 1;
		rc = 0;
		goto out_rk;
	}
	if (rc)
		goto out_rk;
	rd_kafka_poll_set_consumer(g->rk);
	sub = rd_kafka_topic_partition_list_new(1);
	rd_kafka_topic_partition_list_add(sub, o->topic, RD_KAFKA_PARTITION_UA);
	if ((rc = rd_kafka_subscribe(g->rk, sub))) {
		rc = aq_kafka_err(e, (rd_kafka_resp_err_t)rc, "cannot subscribe to '%s'", o->topic);
		goto out_rk;
	}
	aq_info("consuming '%s' as group '%s' into '%s'", o->topic, o->group, o->out);
	if (!(rc = ingest_consume(g, o, &rec, e))) {
		struct aq_err le = {0};
		int64_t lag = 0;

		if (!aq_kafka_group_lag(g->rk, o->topic, st->stopped ? 1000 : 5000, NULL, &lag, &le))
			st->lag = lag;
		else
			aq_warn("cannot compute the lag: %s", le.msg);
	}
	/* revoke callback flushes again only if something is pending (an error path) */
	if (rc)
		g->b_msgs = 0;
	closed = close_consumer(g);
out_rk:
	if (sub)
		rd_kafka_topic_partition_list_destroy(sub);
	rd_kafka_destroy_flags(g->rk, closed ? 0 : RD_KAFKA_DESTROY_F_NO_CONSUMER_CLOSE);
out_db:
	if (g->db_open)
		aq_odbc_release(&g->db);
out_ds:
	if (g->w_open)
		aq_readings_writer_abort(&g->w);
	if (aq_dataset_discard_unused(&g->ds))
		aq_info("removed '%s': created by this run, which committed no batch", o->out);
	aq_dataset_release(&g->ds);
out_free:
	aq_readings_release(&g->dbrows);
	aq_record_release(&rec);
	free(g->days);
	free(g);
	st->seconds = aq_now() - t0;
	return rc;
}
