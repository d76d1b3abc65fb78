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

int aq_replay_run(struct aq_readings *r, const struct aq_replay_opts *o, struct aq_replay_stats *st,
		  struct aq_err *e)
{
	const char *topic = o->topic ? o->topic : "water.readings.daily";
	int W = o->batch_days > 0 ? o->batch_days : (o->speed > 0 ? 1 : 7);
	const char *defaults[] = {"enable.idempotence=true", "compression.codec=lz4",
				  o->speed > 0 ? "linger.ms=5" : "linger.ms=50", "batch.size=1000000",
				  "queue.buffering.max.messages=1000000", "queue.buffering.max.kbytes=1048576",
				  "reconnect.backoff.max.ms=2000"};
	int ndef = (int)(sizeof(defaults) / sizeof(defaults[0]));
	const char **props = NULL;
	rd_kafka_conf_t *conf = NULL;
	rd_kafka_t *rk = NULL;
	struct ctx c = {0};
	struct aq_record_buf buf;
	size_t nacc = 0, *acc_lo = NULL, *acc_hi = NULL, *cur = NULL, nw, acked = 0, w;
	int32_t split, start, end, last_acked, lo = INT32_MAX, hi = INT32_MIN;
	char errstr[512];
	double t0, last_ckpt;
	int rc = 0;
	uint8_t *seen = NULL;

	memset(st, 0, sizeof(*st));
	aq_record_buf_init(&buf);
	t0 = aq_now();
	if (r->n == 0)
		return aq_err_set(e, AQ_EINVAL, "no readings to replay");
	aq_readings_sort(r);
	aq_readings_dedup_last(r);
	for (size_t i = 0; i < r->n; i++) {
		lo = r->date[i] < lo ? r->date[i] : lo;
		hi = r->date[i] > hi ? r->date[i] : hi;
		if (i == 0 || r->account[i] != r->account[i - 1])
			nacc++;
	}
	split = aq_replay_split_day(r, o->history);
	st->split_day = split;
	start = split;
	end = o->until && o->until < hi ? o->until : hi;
	last_acked = start - 1;
	if (o->state_path) {
		int32_t ck = 0;

		if ((rc = state_read(o->state_path, topic, &ck, e)))
			return rc;
		if (ck >= start) {
			start = ck + 1;
			last_acked = ck;
			st->resumed = 1;
		}
	}
	st->first_day = start;
	st->last_day = last_acked;
	nw = end >= start ? (size_t)((end - start) / W + 1) : 0;
	{
		char a[AQ_DATE_STRLEN], b[AQ_DATE_STRLEN], s[AQ_DATE_STRLEN];

		aq_info("replay: %zu readings of %zu accounts, %s..%s, stream from %s (%s), %zu windows of %d day(s)",
			r->n, nacc, aq_date_format(lo, a), aq_date_format(hi, b), aq_date_format(start, s),
			st->resumed ? "resumed after checkpoint" : "split day", nw, W);
	}
	/* account ranges of the (account, date)-sorted rows, cursors at the first streamed day */
	acc_lo = malloc((nacc + 1) * sizeof(*acc_lo));
	acc_hi = malloc((nacc + 1) * sizeof(*acc_hi));
	cur = malloc((nacc + 1) * sizeof(*cur));
	seen = calloc(nacc + 1, 1);
	c.win = calloc(nw + 1, sizeof(*c.win));
	props = malloc((size_t)(ndef + o->nprops + 1) * sizeof(*props));
	if (!acc_lo || !acc_hi || !cur || !seen || !c.win || !props) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory for %zu accounts", nacc);
		goto out;
	}
	for (size_t i = 0, k = 0; i < r->n; k++) {
		size_t j = i, a, b;

		while (j < r->n && r->account[j] == r->account[i])
			j++;
		acc_lo[k] = i;
		acc_hi[k] = j;
		for (a = i, b = j; a < b;) { /* first row with date ≥ start */
			size_t m = a + (b - a) / 2;
			if (r->date[m] < start)
				a = m + 1;
			else
				b = m;
		}
		cur[k] = a;
		i = j;
	}
	for (int i = 0; i < ndef; i++)
		props[i] = defaults[i];
	for (int i = 0; i < o->nprops; i++)
		props[ndef + i] = o->props[i];
	if ((rc = aq_kafka_conf_new(&conf, o->brokers, props, ndef + o->nprops, e)))
		goto out;
	rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
	rd_kafka_conf_set_opaque(conf, &c);
	if (!(rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf, errstr, sizeof(errstr)))) {
		rd_kafka_conf_destroy(conf);
		rc = aq_err_set(e, AQ_EKAFKA, "cannot create producer: %s", errstr);
		goto out;
	}
	rc = aq_kafka_ensure_topic(rk, topic, o->partitions > 0 ? o->partitions : 6, 30000, o->stop, &st->topic_created,
				   e);
	if (rc == AQ_EINTR) { /* stopped before the broker answered: nothing produced */
		aq_info("%s", e->msg);
		aq_err_clear(e);
		st->stopped = 1;
		rc = 0;
		goto out;
	}
	if (rc)
		goto out;
	t0 = aq_now();
	last_ckpt = t0;
	for (w = 0; w < nw && !c.fail; w++) {
		int32_t d0 = start + (int32_t)(w * (size_t)W), d1 = d0 + W - 1 < end ? d0 + W - 1 : end;
		uint64_t nread = 0;

		if (o->speed > 0) {
			double due = t0 + (double)(w * (size_t)W) / o->speed, now;

			while ((now = aq_now()) < due && !(o->stop && *o->stop)) {
				int ms = (int)((due - now) * 1000) + 1;
				rd_kafka_poll(rk, ms < 50 ? ms : 50);
			}
		}
		if (o->stop && *o->stop)
			break;
		if (o->timeline) {
			double tw = wall_now();
			char ds[AQ_DATE_STRLEN];

			for (int32_t d = d0; d <= d1; d++)
				fprintf(o->timeline, "%s %.6f\n", aq_date_format(d, ds), tw);
			fflush(o->timeline);
		}
		for (size_t k = 0; k < nacc; k++) {
			size_t i = cur[k], j = i;
			char key[AQ_RECORD_KEYLEN];
			size_t klen;

			while (j < acc_hi[k] && r->date[j] <= d1)
				j++;
			if (j == i)
				continue;
			for (size_t n0 = i; n0 < j; n0 += AQ_RECORD_MAX_READINGS) {
				size_t n = j - n0 < AQ_RECORD_MAX_READINGS ? j - n0 : AQ_RECORD_MAX_READINGS;

				if ((rc = aq_record_encode(o->enc ? o->enc : AQ_REC_BINARY, r->account[n0], r->date + n0,
							   r->value + n0, n, &buf, e)))
					goto out;
				klen = aq_record_key(r->account[n0], key);
				c.win[w].out++;
				if ((rc = produce(rk, topic, key, klen, &buf, w, o->stop, e))) {
					c.win[w].out--;
					if (rc == AQ_EINTR) {
						rc = 0;
						c.win[w].failed = 1; /* partly produced: not acknowledged */
						goto flush;
					}
					goto out;
				}
				st->messages++;
				st->bytes += buf.len;
			}
			nread += j - i;
			seen[k] = 1;
			cur[k] = j;
		}
		c.win[w].released = 1;
		st->readings += nread;
		if (o->progress)
			aq_progress_add(o->progress, nread);
		rd_kafka_poll(rk, 0);
		while (acked < nw && c.win[acked].released && !c.win[acked].failed && c.win[acked].out == 0)
			acked++;
		if (acked && o->state_path) {
			int32_t d = start + (int32_t)(acked * (size_t)W) - 1;

			d = d < end ? d : end;
			if (d > st->last_day && (o->speed > 0 || aq_now() - last_ckpt >= 1.0)) {
				if ((rc = state_write(o->state_path, topic, split, d, e)))
					goto out;
				st->last_day = d;
				last_ckpt = aq_now();
			}
		}
	}
flush:
	if (o->stop && *o->stop)
		st->stopped = 1;
	/* wait for every delivery report (librdkafka retries through broker restarts); after a stop, STOP_GRACE s */
	for (double stop_at = 0; rd_kafka_outq_len(rk) > 0 && !c.fail;) {
		rd_kafka_poll(rk, 100);
		if (rd_kafka_fatal_error(rk, errstr, sizeof(errstr)))
			break;
		if (o->stop && *o->stop && !stop_at)
			stop_at = aq_now();
		if (stop_at && aq_now() - stop_at >= STOP_GRACE) {
			st->stopped = 1;
			aq_warn("%d message(s) not acknowledged %.1f s after the stop: left for the next run",
				rd_kafka_outq_len(rk), STOP_GRACE);
			break;
		}
	}
	while (acked < nw && c.win[acked].released && !c.win[acked].failed && c.win[acked].out == 0)
		acked++;
	if (acked) {
		int32_t d = start + (int32_t)(acked * (size_t)W) - 1;

		d = d < end ? d : end;
		if (d > st->last_day) {
			if (o->state_path && (rc = state_write(o->state_path, topic, split, d, e)))
				goto out;
			st->last_day = d;
		}
	}
	if (c.fail) {
		rc = aq_err_set(e, AQ_EKAFKA, "topic '%s': %s", topic, c.fail_msg);
		goto out;
	}
	if (rd_kafka_fatal_error(rk, errstr, sizeof(errstr))) {
		rc = aq_err_set(e, AQ_EKAFKA, "producer fatal error: %s", errstr);
		goto out;
	}
	for (size_t k = 0; k < nacc; k++)
		st->accounts += seen[k];
out:
	st->seconds = aq_now() - t0;
	if (rk) {
		if (st->stopped) /* undelivered messages are not waited for: the checkpoint says where to resume */
			rd_kafka_purge(rk, RD_KAFKA_PURGE_F_QUEUE | RD_KAFKA_PURGE_F_INFLIGHT);
		rd_kafka_flush(rk, rc || st->stopped ? 1000 : 30000);
		rd_kafka_destroy(rk);
	}
	aq_record_buf_release(&buf);
	free(props);
	free(c.win);
	free(seen);
	free(cur);
	free(acc_hi);
	free(acc_lo);
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
