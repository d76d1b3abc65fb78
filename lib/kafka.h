/* kafka.h — librdkafka at the edge: configuration, error translation, logging, topic creation, lag. */
#ifndef AQ_KAFKA_H
#define AQ_KAFKA_H

#include <signal.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "err.h"

/* Translate a librdkafka error into e: "<fmt...>: <rd_kafka_err2str>". Returns AQ_EKAFKA. */
int aq_kafka_err(struct aq_err *e, rd_kafka_resp_err_t err, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Set one property; AQ_EINVAL with librdkafka's reason. */
int aq_kafka_conf_set(rd_kafka_conf_t *conf, const char *key, const char *value, struct aq_err *e);
/* Set "key=value" (the -X option of the binaries). */
int aq_kafka_conf_setkv(rd_kafka_conf_t *conf, const char *kv, struct aq_err *e);

/*
 * A new configuration with bootstrap.servers, the log callback below, and
 * then the caller's "key=value" overrides (nprops of them) applied last.
 */
int aq_kafka_conf_new(rd_kafka_conf_t **conf, const char *brokers, const char *const *props, int nprops,
		      struct aq_err *e);
/* aq_kafka_conf_new of a job's defaults (ndef) followed by the user's -X overrides (nprops): a later one wins. */
int aq_kafka_conf_new_defaults(rd_kafka_conf_t **conf, const char *brokers, const char *const *defaults, int ndef,
			       const char *const *props, int nprops, struct aq_err *e);

/* librdkafka log lines into lib/log.h (syslog level ≤3 error, 4 warn, 5-6 info, 7 debug). */
void aq_kafka_log_cb(const rd_kafka_t *rk, int level, const char *fac, const char *buf);

/*
 * Blocking waits on the brokers (metadata, topic creation, offsets) run in
 * slices of at most AQ_KAFKA_SLICE_MS, so a stop flag (optional; set by a
 * signal handler) is seen within that even when no broker answers: a wait
 * that sees *stop returns AQ_EINTR ("stopped while ..."). timeout_ms bounds
 * the whole wait; on expiry the last librdkafka error is reported.
 */
#define AQ_KAFKA_SLICE_MS 200

/*
 * Create topic with `partitions` partitions (replication factor 1 on a
 * single broker, else -1 = broker default) through the Admin API
 * (CreateTopics) unless it exists. *created (optional) tells which.
 */
int aq_kafka_ensure_topic(rd_kafka_t *rk, const char *topic, int partitions, int timeout_ms,
			  const volatile sig_atomic_t *stop, int *created, struct aq_err *e);

/*
 * Lag of a consumer group on a topic: Σ over the topic's partitions of
 * (high watermark − committed offset; low watermark when nothing committed).
 */
int aq_kafka_group_lag(rd_kafka_t *rk, const char *topic, int timeout_ms, const volatile sig_atomic_t *stop,
		       int64_t *lag, struct aq_err *e);

#endif
