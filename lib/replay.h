/* replay.h — streaming simulation: seed the first days into the database, produce the rest to Kafka in date order. */
#ifndef AQ_REPLAY_H
#define AQ_REPLAY_H

/*
 * The calendar of a readings set (min..max date, all accounts) is split at
 * day S = min + floor(history × (max − min + 1)): days < S are the
 * "original data" (seed, bulk-loaded over ODBC), days ≥ S are the stream.
 *
 * run: windows of batch_days days, in date order; within a window one
 * message per account (key = AccountOID, lib/record.h) with that account's
 * readings of the window. Window k is released at t0 + k·batch_days/speed
 * (speed 0 = as fast as possible). The producer is idempotent; a window is
 * "acknowledged" when every message of it and of all earlier windows got a
 * successful delivery report. The checkpoint file (atomic, lib/fs.h) holds
 * the last acknowledged day; a restart resumes at the day after it, so
 * nothing is skipped and at most the unacknowledged windows are sent twice
 * (at-least-once; the dataset is latest-wins per (account, date)).
 */

#include <signal.h>
#include <stdint.h>
#include <stdio.h>

#include "err.h"
#include "log.h"
#include "readings.h"
#include "record.h"

/* What seeding does when the table already holds rows in the seeded days. */
enum aq_seed_mode {
	AQ_SEED_REFUSE = 0, /* default: fail, naming the table and the days found */
	AQ_SEED_APPEND,     /* load anyway (the table's key decides duplicates) */
	AQ_SEED_REPLACE,    /* delete the seeded days' rows first, then load */
};

struct aq_odbc;

struct aq_seed_opts {
	const char *table;          /* default "PORTAL.ConsumptionDaily" */
	enum aq_seed_mode seed_mode;
	size_t batch_rows;          /* 0 = the bulk loader's default */
};

struct aq_seed_stats {
	uint64_t loaded;            /* readings inserted */
	int64_t found;              /* rows the table held in the seeded days before */
	int64_t deleted;            /* of them deleted (AQ_SEED_REPLACE) */
	int32_t first_day, last_day; /* the seeded days (min..max date of the history) */
};

struct aq_replay_opts {
	const char *brokers;
	const char *topic;          /* default "water.readings.daily" */
	int partitions;             /* when creating the topic; default 6 */
	double history;             /* fraction of the calendar seeded; default 0.2 */
	double speed;               /* simulated days per wall second; 0 = max */
	int32_t until;              /* last day to produce; 0 = the end of the data */
	int batch_days;             /* days per message; 0 = 1 at a finite speed, 7 at max */
	enum aq_record_enc enc;     /* default binary */
	const char *state_path;     /* checkpoint; NULL = none (always from the split day) */
	FILE *timeline;             /* optional: "<day> <unix time of its first produce>" lines */
	const char *const *props;   /* extra librdkafka "key=value" */
	int nprops;
	const volatile sig_atomic_t *stop; /* set by a signal handler: flush, checkpoint, return */
	struct aq_progress *progress;
	enum aq_seed_mode seed_mode; /* seed: rows already in the seeded days (default refuse) */
};

struct aq_replay_stats {
	uint64_t messages, readings, bytes; /* value bytes produced (uncompressed) */
	uint64_t accounts;
	int32_t split_day, first_day, last_day; /* produced range this run; last acknowledged day */
	int resumed;                /* started after a checkpoint */
	int stopped;                /* a signal stopped it */
	int topic_created;
	double seconds;
};

/* The split day S of r's calendar (r non-empty). */
int32_t aq_replay_split_day(const struct aq_readings *r, double history);
/* The rows of r with date < split (seed) into out. */
int aq_replay_history(const struct aq_readings *r, int32_t split, struct aq_readings *out, struct aq_err *e);
/*
 * Seed: bulk-load hist (the rows before the split day) into the table over
 * c. The table's rows of hist's days (min..max date) are counted first;
 * when there are some, AQ_SEED_REFUSE fails with AQ_ESTATE naming the table,
 * the count and the days; AQ_SEED_REPLACE deletes them in the load's
 * transaction; AQ_SEED_APPEND loads anyway.
 */
int aq_replay_seed(struct aq_odbc *c, const struct aq_readings *hist, const struct aq_seed_opts *o,
		   struct aq_seed_stats *st, struct aq_err *e);
/*
 * Produce the stream part of r. r is sorted by (account, date) and
 * deduplicated here (latest wins), so the caller's order does not matter.
 */
int aq_replay_run(struct aq_readings *r, const struct aq_replay_opts *o, struct aq_replay_stats *st,
		  struct aq_err *e);



/*
 * Produce arbitrary messages (testing the consumer's handling of malformed
 * input): each line of path is "<key>\t<value as hex>" (key "-" = none).
 */
int aq_replay_produce_raw(const char *brokers, const char *topic, const char *path, const char *const *props,
			  int nprops, uint64_t *count, struct aq_err *e);
#endif
