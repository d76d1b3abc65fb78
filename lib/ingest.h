/* ingest.h — Kafka → readings dataset (and optionally the database), exactly-once in effect. */
#ifndef AQ_INGEST_H
#define AQ_INGEST_H

/*
 * A consumer of the group reads messages (lib/record.h) and collects them
 * into one batch; a batch ends after batch_rows readings or batch_seconds
 * (whichever first), at a bound (max_messages, idle_timeout, until_date), on
 * a stop signal and when partitions are revoked. Ending a batch is, in
 * this order:
 *   1. the readings writer closes the batch: every part file temp → fsync →
 *      rename → fsync dir (lib/readings_writer.h), a new batch key, label "kafka";
 *   2. with an ODBC sink, the rows are inserted and committed;
 *   3. the next offset (last offset + 1) of every partition in the batch is
 *      stored (rd_kafka_offsets_store; enable.auto.offset.store=false) and
 *      committed synchronously (rd_kafka_commit; enable.auto.commit=false).
 * A crash before 3 redelivers the batch; the rows land again in a later
 * batch, which wins per (account, date) with identical values: the dataset
 * read back holds every reading exactly once. Auto-commit of the stored
 * offsets would be just as safe (only durable offsets are ever stored) but
 * commits on a timer; the explicit commit bounds redelivery to the batch
 * in flight and gives a known committed position at exit.
 *
 * Malformed messages (bad JSON, wrong types, bad key, oversized, truncated
 * or corrupt binary) are counted, logged with partition and offset, and
 * skipped; their offsets advance with the batch.
 */

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "log.h"

struct aq_ingest_opts {
	const char *brokers;
	const char *topic;          /* default "water.readings.daily" */
	const char *group;          /* consumer group id (required) */
	const char *out;            /* readings dataset root (created if missing) */
	int parts;                  /* partitions of a new dataset; 0 = 32 */
	uint64_t batch_rows;        /* 0 = 1,000,000 */
	double batch_seconds;       /* 0 = 1.0 */
	uint64_t max_messages;      /* stop after this many messages; 0 = no bound */
	double idle_timeout;        /* stop after this long without a message; 0 = never */
	int32_t until_date;         /* take messages whose first day ≤ this; 0 = all */
	const char *odbc_conn;      /* optional sink: also insert the rows over ODBC */
	const char *odbc_table;     /* default PORTAL.ConsumptionDaily */
	FILE *timeline;             /* optional: "<day> <readings> <unix time durable>" per batch */
	const char *const *props;   /* extra librdkafka "key=value" */
	int nprops;
	const volatile sig_atomic_t *stop; /* set by a signal handler: flush, commit, return */
	struct aq_progress *progress;
};

struct aq_ingest_stats {
	uint64_t messages;          /* messages taken (malformed included) */
	uint64_t readings;          /* readings written */
	uint64_t bytes;             /* message value bytes */
	uint64_t malformed;
	uint64_t batches, files;
	uint64_t db_rows;
	int64_t lag;                /* group lag on the topic at exit; -1 unknown */
	int stopped;
	double seconds;
	/* from the first message to the end of the last batch's commit: no group join, no idle wait */
	double active_seconds;
};

int aq_ingest_run(const struct aq_ingest_opts *o, struct aq_ingest_stats *st, struct aq_err *e);

#endif
