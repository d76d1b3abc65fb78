/* replay.c — streaming simulation: history split, date-ordered idempotent producing with an acknowledged-day checkpoint. */
#include "replay.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "date.h"
#include "fs.h"
#include "kafka.h"
#include "odbc.h"

#define STATE_FORMAT "aquacast.replay-state"
/* After a stop, seconds to wait for outstanding delivery reports (the unacknowledged windows are resent by the next run). */
#define STOP_GRACE 1.0

int32_t aq_replay_split_day(const struct aq_readings *r, double history)
{
	int32_t lo = INT32_MAX, hi = INT32_MIN;

	for (size_t i = 0; i < r->n; i++) {
		if (r->date[i] < lo)
			lo = r->date[i];
		if (r->date[i] > hi)
			hi = r->date[i];
	}
	if (r->n == 0)
		return 0;
	return lo + (int32_t)floor(history * (double)(hi - lo + 1));
}

int aq_replay_history(const struct aq_readings *r, int32_t split, struct aq_readings *out, struct aq_err *e)
{
	int rc;

	for (size_t i = 0; i < r->n; i++)
		if (r->date[i] < split && (rc = aq_readings_push(out, r->date[i], r->account[i], r->value[i], e)))
			return rc;
	return 0;
}

int aq_replay_seed(struct aq_odbc *c, const struct aq_readings *hist, const struct aq_seed_opts *o,
		   struct aq_seed_stats *st, struct aq_err *e)
{
	const char *table = o->table ? o->table : "PORTAL.ConsumptionDaily";
	char a[AQ_DATE_STRLEN], b[AQ_DATE_STRLEN];
	int rc;

	memset(st, 0, sizeof(*st));
	if (hist->n == 0)
		return aq_err_set(e, AQ_EINVAL, "no readings before the split day to seed into '%s'", table);
	st->first_day = INT32_MAX;
	st->last_day = INT32_MIN;
	for (size_t i = 0; i < hist->n; i++) {
		st->first_day = hist->date[i] < st->first_day ? hist->date[i] : st->first_day;
		st->last_day = hist->date[i] > st->last_day ? hist->date[i] : st->last_day;
	}
	aq_date_format(st->first_day, a);
	aq_date_format(st->last_day, b);
	if ((rc = aq_odbc_count_days(c, table, st->first_day, st->last_day, &st->found, e)))
		return aq_err_prefix(e, "cannot count the rows of '%s' in %s..%s", table, a, b);
	if (st->found && o->seed_mode == AQ_SEED_REFUSE)
		return aq_err_set(e, AQ_ESTATE, "table '%s' already holds %" PRId64 " readings in %s..%s; use --append or --replace",
				  table, st->found, a, b);
	if (st->found && o->seed_mode == AQ_SEED_APPEND)
		aq_warn("table '%s' already holds %" PRId64 " readings in %s..%s: appending (--append)", table, st->found,
			a, b);
	if (o->seed_mode == AQ_SEED_REPLACE) {
		rc = aq_odbc_replace_readings(c, table, hist, st->first_day, st->last_day, o->batch_rows, &st->deleted, e);
		if (!rc && st->deleted)
			aq_info("table '%s': replaced %" PRId64 " readings in %s..%s", table, st->deleted, a, b);
	} else {
		rc = aq_odbc_load_readings(c, table, hist, o->batch_rows, e);
	}
	if (!rc)
		st->loaded = hist->n;
	return rc;
}

struct window {
	int64_t out;      /* messages not yet acknowledged */
	int released;     /* every message of the window was handed to librdkafka */
	int failed;
};

struct ctx {
	struct window *win;
	rd_kafka_resp_err_t fail;
	char fail_msg[256];
};

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque)
{
	struct ctx *c = opaque;
	size_t w = (size_t)(uintptr_t)m->_private;

	c->win[w].out--;
	if (m->err) {
		c->win[w].failed = 1;
		if (!c->fail) {
			c->fail = m->err;
			snprintf(c->fail_msg, sizeof(c->fail_msg), "delivery to partition %d failed: %s",
				 (int)m->partition, rd_kafka_err2str(m->err));
		}
	}
}

static double wall_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int state_read(const char *path, const char *topic, int32_t *last, struct aq_err *e)
{
	char *buf = NULL;
	size_t len = 0;
	json_t *j;
	json_error_t je;
	const char *t, *d, *fmt;
	int rc;

	*last = 0;
	if ((rc = aq_fs_read_all(path, &buf, &len, e))) {
		if (rc == AQ_ENOTFOUND) {
			aq_err_clear(e);
			return 0;
		}
		return rc;
	}
	j = json_loadb(buf, len, 0, &je);
	free(buf);
	if (!j || json_unpack(j, "{s:s, s:s, s:s}", "format", &fmt, "topic", &t, "last_acked_day", &d) ||
	    strcmp(fmt, STATE_FORMAT)) {
		json_decref(j);
		return aq_err_set(e, AQ_EFORMAT, "bad replay checkpoint '%s'", path);
	}
	if (strcmp(t, topic)) {
		json_decref(j);
		return aq_err_set(e, AQ_ESTATE, "checkpoint '%s' belongs to topic '%s', not '%s'", path, t, topic);
	}
	rc = aq_date_parse(d, (int)strlen(d), last, e);
	json_decref(j);
	if (rc)
		return aq_err_prefix(e, "checkpoint '%s'", path);
	return 0;
}

static int state_write(const char *path, const char *topic, int32_t split, int32_t last, struct aq_err *e)
{
	char ds[AQ_DATE_STRLEN], ss[AQ_DATE_STRLEN];
	json_t *j = json_pack("{s:s, s:i, s:s, s:s, s:s}", "format", STATE_FORMAT, "version", 1, "topic", topic,
			      "split_day", aq_date_format(split, ss), "last_acked_day", aq_date_format(last, ds));
	char *txt;
	int rc;

	if (!j || !(txt = json_dumps(j, JSON_COMPACT))) {
		json_decref(j);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	json_decref(j);
	rc = aq_fs_write_atomic(path, txt, strlen(txt), e);
	free(txt);
	return rc;
}

/* Produce one message, waiting while librdkafka's queue is full. */
static int produce(rd_kafka_t *rk, const char *topic, const char *key, size_t klen, const struct aq_record_buf *b,
		   size_t w, const volatile sig_atomic_t *stop, struct aq_err *e)
{
	for (;;) {
		rd_kafka_resp_err_t err = rd_kafka_producev(
			rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, klen), RD_KAFKA_V_VALUE(b->data, b->len),
			RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_OPAQUE((void *)(uintptr_t)w), RD_KAFKA_V_END);

		if (!err)
			return 0;
		if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL)
			return aq_kafka_err(e, err, "cannot produce to '%s'", topic);
		rd_kafka_poll(rk, 5);
		if (stop && *stop)
			return AQ_EINTR;
	}
}

/* One replay in progress: the plan (days, windows), the per-account cursors, the producer. */
struct run {
	const char *topic;
	int W;                    /* days per window */
	int32_t split, start, end, lo, hi;
	size_t nacc, nw, acked;   /* accounts; windows; windows acknowledged in order */
	size_t *acc_lo, *acc_hi, *cur;
	uint8_t *seen;
	struct ctx c;
	rd_kafka_t *rk;
	struct aq_record_buf buf;
	double t0, last_ckpt;
};

/* Sorted and deduplicated rows, the days to stream (from the split day, or after the checkpoint), the windows. */
static int run_plan(struct aq_readings *r, const struct aq_replay_opts *o, struct run *u, struct aq_replay_stats *st,
		    struct aq_err *e)
{
	int rc;

	aq_readings_sort(r);
	aq_readings_dedup_last(r);
	for (size_t i = 0; i < r->n; i++) {
		u->lo = r->date[i] < u->lo ? r->date[i] : u->lo;
		u->hi = r->date[i] > u->hi ? r->date[i] : u->hi;
		if (i == 0 || r->account[i] != r->account[i - 1])
			u->nacc++;
	}
	u->split = aq_replay_split_day(r, o->history);
	st->split_day = u->split;
	u->start = u->split;
	u->end = o->until && o->until < u->hi ? o->until : u->hi;
	int32_t last_acked = u->start - 1;
	if (o->state_path) {
		int32_t ck = 0;

		if ((rc = state_read(o->state_path, u->topic, &ck, e)))
			return rc;
		if (ck >= u->start) {
			u->start = ck + 1;
			last_acked = ck;
			st->resumed = 1;
		}
	}
	st->first_day = u->start;
	st->last_day = last_acked;
	u->nw = u->end >= u->start ? (size_t)((u->end - u->start) / u->W + 1) : 0;
	{
		char a[AQ_DATE_STRLEN], b[AQ_DATE_STRLEN], s[AQ_DATE_STRLEN];

		aq_info("replay: %zu readings of %zu accounts, %s..%s, stream from %s (%s), %zu windows of %d day(s)",
			r->n, u->nacc, aq_date_format(u->lo, a), aq_date_format(u->hi, b), aq_date_format(u->start, s),
			st->resumed ? "resumed after checkpoint" : "split day", u->nw, u->W);
	}
	return 0;
}

/* Account ranges of the (account, date)-sorted rows, cursors at the first streamed day; the window table. */
static int run_index(const struct aq_readings *r, struct run *u, struct aq_err *e)
{
	u->acc_lo = malloc((u->nacc + 1) * sizeof(*u->acc_lo));
	u->acc_hi = malloc((u->nacc + 1) * sizeof(*u->acc_hi));
	u->cur = malloc((u->nacc + 1) * sizeof(*u->cur));
	u->seen = calloc(u->nacc + 1, 1);
	u->c.win = calloc(u->nw + 1, sizeof(*u->c.win));
	if (!u->acc_lo || !u->acc_hi || !u->cur || !u->seen || !u->c.win)
		return aq_err_set(e, AQ_ENOMEM, "out of memory for %zu accounts", u->nacc);
	for (size_t i = 0, k = 0; i < r->n; k++) {
		size_t j = i, a, b;

		while (j < r->n && r->account[j] == r->account[i])
			j++;
		u->acc_lo[k] = i;
		u->acc_hi[k] = j;
		for (a = i, b = j; a < b;) { /* first row with date ≥ start */
			size_t m = a + (b - a) / 2;
			if (r->date[m] < u->start)
				a = m + 1;
			else
				b = m;
		}
		u->cur[k] = a;
		i = j;
	}
	return 0;
}

/* The idempotent producer (aquacast's defaults, then the caller's properties) and the topic. */
static int run_producer(const struct aq_replay_opts *o, struct run *u, struct aq_replay_stats *st, struct aq_err *e)
{
	const char *defaults[] = {"enable.idempotence=true", "compression.codec=lz4",
				  o->speed > 0 ? "linger.ms=5" : "linger.ms=50", "batch.size=1000000",
				  "queue.buffering.max.messages=1000000", "queue.buffering.max.kbytes=1048576",
				  "reconnect.backoff.max.ms=2000"};
	int ndef = (int)(sizeof(defaults) / sizeof(defaults[0]));
	rd_kafka_conf_t *conf = NULL;
	char errstr[512];
	int rc;

	if ((rc = aq_kafka_conf_new_defaults(&conf, o->brokers, defaults, ndef, o->props, o->nprops, e)))
		return rc;
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_conf_set_opaque(conf, &u->c);
	if (!(u->rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
		rd_kafka_conf_destroy(conf);
		return aq_err_set(e, AQ_EKAFKA, "cannot create producer: %s", errstr);
	}
	return aq_kafka_ensure_topic(u->rk, u->topic, o->partitions > 0 ? o->partitions : 6, 30000, o->stop,
				     &st->topic_created, e);
}

/* At a finite speed, wait (serving delivery reports) until window w is due. */
static void run_pace(const struct aq_replay_opts *o, struct run *u, size_t w)
{
	double due = u->t0 + (double)(w * (size_t)u->W) / o->speed, now;

	while ((now = aq_now()) < due && !(o->stop && *o->stop)) {
		int ms = (int)((due - now) * 1000) + 1;
		rd_kafka_poll(u->rk, ms < 50 ? ms : 50);
	}
}

/*
 * Window w (days d0..d1): every account's readings of those days, as messages of at most
 * AQ_RECORD_MAX_READINGS. *stopped when a stop cut it short (the window stays unacknowledged).
 */
static int run_window(const struct aq_readings *r, const struct aq_replay_opts *o, struct run *u, size_t w,
		      int32_t d1, struct aq_replay_stats *st, int *stopped, struct aq_err *e)
{
	uint64_t nread = 0;
	int rc;

	for (size_t k = 0; k < u->nacc; k++) {
		size_t i = u->cur[k], j = i;
		char key[AQ_RECORD_KEYLEN];
		size_t klen;

		while (j < u->acc_hi[k] && r->date[j] <= d1)
			j++;
		if (j == i)
			continue;
		for (size_t n0 = i; n0 < j; n0 += AQ_RECORD_MAX_READINGS) {
			size_t n = j - n0 < AQ_RECORD_MAX_READINGS ? j - n0 : AQ_RECORD_MAX_READINGS;

			if ((rc = aq_record_encode(o->enc ? o->enc : AQ_REC_BINARY, r->account[n0], r->date + n0,
						   r->value + n0, n, &u->buf, e)))
				return rc;
			klen = aq_record_key(r->account[n0], key);
			u->c.win[w].out++;
			if ((rc = produce(u->rk, u->topic, key, klen, &u->buf, w, o->stop, e))) {
				u->c.win[w].out--;
				if (rc == AQ_EINTR) {
					u->c.win[w].failed = 1; /* partly produced: not acknowledged */
					*stopped = 1;
					return 0;
				}
				return rc;
			}
			st->messages++;
			st->bytes += u->buf.len;
		}
		nread += j - i;
		u->seen[k] = 1;
		u->cur[k] = j;
	}
	u->c.win[w].released = 1;
	st->readings += nread;
	if (o->progress)
		aq_progress_add(o->progress, nread);
	return 0;
}

/*
 * Advance over the windows acknowledged in order; the day they end is the new last acknowledged day,
 * checkpointed at most once a second while streaming (every window at a finite speed), always when final.
 */
static int run_checkpoint(const struct aq_replay_opts *o, struct run *u, struct aq_replay_stats *st, int final,
			  struct aq_err *e)
{
	int rc;

	while (u->acked < u->nw && u->c.win[u->acked].released && !u->c.win[u->acked].failed &&
	       u->c.win[u->acked].out == 0)
		u->acked++;
	if (!u->acked || (!final && !o->state_path))
		return 0;
	int32_t d = u->start + (int32_t)(u->acked * (size_t)u->W) - 1;

	d = d < u->end ? d : u->end;
	if (d <= st->last_day || (!final && !(o->speed > 0 || aq_now() - u->last_ckpt >= 1.0)))
		return 0;
	if (o->state_path && (rc = state_write(o->state_path, u->topic, u->split, d, e)))
		return rc;
	st->last_day = d;
	u->last_ckpt = aq_now();
	return 0;
}

/* Every window in day order, paced, with the timeline and the checkpoint; a stop or a failed delivery ends it. */
static int run_stream(const struct aq_readings *r, const struct aq_replay_opts *o, struct run *u,
		      struct aq_replay_stats *st, struct aq_err *e)
{
	int rc = 0, stopped = 0;

	u->t0 = aq_now();
	u->last_ckpt = u->t0;
	for (size_t w = 0; w < u->nw && !u->c.fail; w++) {
		int32_t d0 = u->start + (int32_t)(w * (size_t)u->W), d1 = d0 + u->W - 1 < u->end ? d0 + u->W - 1 : u->end;

		if (o->speed > 0)
			run_pace(o, u, w);
		if (o->stop && *o->stop)
			break;
		if (o->timeline) {
			double tw = wall_now();
			char ds[AQ_DATE_STRLEN];

			for (int32_t d = d0; d <= d1; d++)
				fprintf(o->timeline, "%s %.6f\n", aq_date_format(d, ds), tw);
			fflush(o->timeline);
		}
		if ((rc = run_window(r, o, u, w, d1, st, &stopped, e)) || stopped)
			return rc;
		rd_kafka_poll(u->rk, 0);
		if ((rc = run_checkpoint(o, u, st, 0, e)))
			return rc;
	}
	return 0;
}

/* Wait for every delivery report (librdkafka retries through broker restarts); after a stop, STOP_GRACE s. */
static void run_drain(const struct aq_replay_opts *o, struct run *u, struct aq_replay_stats *st)
{
	char errstr[512];

	if (o->stop && *o->stop)
		st->stopped = 1;
	for (double stop_at = 0; rd_kafka_outq_len(u->rk) > 0 && !u->c.fail;) {
		rd_kafka_poll(u->rk, 100);
		if (rd_kafka_fatal_error(u->rk, errstr, sizeof(errstr)))
			break;
		if (o->stop && *o->stop && !stop_at)
			stop_at = aq_now();
		if (stop_at && aq_now() - stop_at >= STOP_GRACE) {
			st->stopped = 1;
			aq_warn("%d message(s) not acknowledged %.1f s after the stop: left for the next run",
				rd_kafka_outq_len(u->rk), STOP_GRACE);
			break;
		}
	}
}

/* Drained: the last checkpoint, then a failed delivery or a fatal producer error is the run's error. */
static int run_finish(const struct aq_replay_opts *o, struct run *u, struct aq_replay_stats *st, struct aq_err *e)
{
	char errstr[512];
	int rc;

	run_drain(o, u, st);
	if ((rc = run_checkpoint(o, u, st, 1, e)))
		return rc;
	if (u->c.fail)
		return aq_err_set(e, AQ_EKAFKA, "topic '%s': %s", u->topic, u->c.fail_msg);
	if (rd_kafka_fatal_error(u->rk, errstr, sizeof(errstr)))
		return aq_err_set(e, AQ_EKAFKA, "producer fatal error: %s", errstr);
	for (size_t k = 0; k < u->nacc; k++)
		st->accounts += u->seen[k];
	return 0;
}

static void run_release(struct run *u, struct aq_replay_stats *st, int rc)
{
	if (u->rk) {
		if (st->stopped) /* undelivered messages are not waited for: the checkpoint says where to resume */
			rd_kafka_purge(u->rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_flush(u->rk, rc || st->stopped ? 1000 : 30000);
		rd_kafka_destroy(u->rk);
	}
	aq_record_buf_release(&u->buf);
	free(u->c.win);
	free(u->seen);
	free(u->cur);
	free(u->acc_hi);
	free(u->acc_lo);
}

int aq_replay_run(struct aq_readings *r, const struct aq_replay_opts *o, struct aq_replay_stats *st,
		  struct aq_err *e)
{
	struct run u = {.topic = o->topic ? o->topic : "water.readings.daily",
			.W = o->batch_days > 0 ? o->batch_days : (o->speed > 0 ? 1 : 7),
			.lo = INT32_MAX,
			.hi = INT32_MIN};
	int rc;

	memset(st, 0, sizeof(*st));
	aq_record_buf_init(&u.buf);
	u.t0 = aq_now();
	if (r->n == 0)
		return aq_err_set(e, AQ_EINVAL, "no readings to replay");
	if ((rc = run_plan(r, o, &u, st, e)))
		return rc;
	if (!(rc = run_index(r, &u, e)))
		rc = run_producer(o, &u, st, e);
	if (rc == AQ_EINTR) { /* stopped before the broker answered: nothing produced */
		aq_info("%s", e->msg);
		aq_err_clear(e);
		st->stopped = 1;
		rc = 0;
	} else if (!rc && !(rc = run_stream(r, o, &u, st, e))) {
		rc = run_finish(o, &u, st, e);
	}
	st->seconds = aq_now() - u.t0;
	run_release(&u, st, rc);
	return rc;
}

static int hexval(int c)
{
	return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
}

int aq_replay_produce_raw(const char *brokers, const char *topic, const char *path, const char *const *props,
			  int nprops, uint64_t *count, struct aq_err *e)
{
	rd_kafka_conf_t *conf;
	rd_kafka_t *rk;
	char errstr[512], *line = NULL;
	size_t cap = 0;
	ssize_t len;
	FILE *f;
	uint8_t *val = NULL;
	int rc;

	*count = 0;
	if (!(f = fopen(path, "r")))
		return aq_err_sys(e, "cannot open '%s'", path);
	if ((rc = aq_kafka_conf_new(&conf, brokers, props, nprops, e))) {
		fclose(f);
		return rc;
	}
	if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
		rd_kafka_conf_destroy(conf);
		fclose(f);
		return aq_err_set(e, AQ_EKAFKA, "cannot create producer: %s", errstr);
	}
	if ((rc = aq_kafka_ensure_topic(rk, topic, 6, 30000, NULL, NULL, e)))
		goto out;
	while ((len = getline(&line, &cap, f)) > 0) {
		char *tab = strchr(line, '\t');
		size_t hl, n = 0;
		rd_kafka_resp_err_t err;

		while (len && (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = 0;
		if (!tab)
			continue;
		*tab = 0;
		hl = strlen(tab + 1);
		free(val);
		if (!(val = malloc(hl / 2 + 1))) {
			rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
			goto out;
		}
		for (size_t i = 0; i < hl; i += 2) {
			int a = hexval(tab[1 + i]), b = i + 1 < hl ? hexval(tab[2 + i]) : -1;

			if (a < 0 || b < 0) {
				rc = aq_err_set(e, AQ_EFORMAT, "'%s': bad hex value", path);
				goto out;
			}
			val[n++] = (uint8_t)(a << 4 | b);
		}
		err = rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic),
					RD_KAFKA_V_KEY(strcmp(line, "-") ? line : NULL, strcmp(line, "-") ? strlen(line) : 0),
					RD_KAFKA_V_VALUE(val, n), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
		if (err) {
			rc = aq_kafka_err(e, err, "cannot produce to '%s'", topic);
			goto out;
		}
		(*count)++;
		rd_kafka_poll(rk, 0);
	}
	if (rd_kafka_flush(rk, 30000))
		rc = aq_err_set(e, AQ_EKAFKA, "messages to '%s' not delivered in 30 s", topic);
out:
	free(val);
	free(line);
	fclose(f);
	rd_kafka_destroy(rk);
	return rc;
}
