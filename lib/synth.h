/* synth.h — synthetic daily water consumption of a utility's accounts, with planted ground truth. */
#ifndef AQ_SYNTH_H
#define AQ_SYNTH_H

/*
 * Each account's series depends only on (seed, account index, accounts,
 * start, days): accounts are independent, so any subset is reproducible and
 * the generator parallelises over accounts. The per-account stream is
 * xoshiro256** (Blackman & Vigna 2018) seeded through splitmix64 from
 * (seed, AccountOID). A series always covers the whole calendar
 * [start, start + days); callers slice it, so a window of days is identical
 * to the same days of a full run.
 *
 * Model of one account (draws in a fixed order, see synth.c; the ranges put
 * the per-account statistics of bench/synth/realism inside DAIAD's
 * interquartile range, docs/accuracy.md "Synthetic data"):
 *   class     household 85%, small commercial 12%, large commercial 3%;
 *   level     lognormal: household median 0.27 m³/day (≈0.1–1.5),
 *             small commercial median 3, large commercial median 40 (tens to hundreds);
 *   week      per-account weekday profile (households from a little less to
 *             much more at weekends, businesses far less), normalised to mean 1;
 *   season    1 + A·cos(2π(doy − peak)/365.25), peak around mid July, A ≤ 0.3;
 *   noise     multiplicative exp(s_t + f_t − var/2): a slow AR(1) s_t (φ 0.95–0.995,
 *             sd 0.06–0.22: the level drifts) plus a fast AR(1) f_t (φ 0–0.35,
 *             sd 0.25–0.5 for households: most of the day-to-day variation);
 *             high-use days (households up to 1% of days, × 1.5–5);
 *   events    short absences (1–3 days) and vacations (4–28 days; both runs of
 *             zeros, "vacation" in the truth), isolated zero days, stuck meter
 *             (runs of zeros, any class), leaks (a persistent additive level
 *             shift, sometimes repaired), meter faults (spikes above 800,
 *             negatives, NaN);
 *   gaps      1–4% of the account's days absent (short runs), and in 12% of
 *             accounts one outage of 7–60 days;
 *   lifetime  a share of accounts exists from day 0, the rest join month by
 *             month (account index order = join order, so AccountOIDs grow
 *             with the join date); a few leave before the end.
 * Values are metered to the litre: milli-m³ integers.
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/* Day values in milli-m³; two sentinels. */
#define AQ_SYNTH_ABSENT INT32_MIN        /* no row that day */
#define AQ_SYNTH_NAN (INT32_MIN + 1)     /* a row whose Consumption is NaN/NULL */

struct aq_synth_opts {
	uint64_t seed;
	int64_t accounts;       /* N, default 27000 */
	int32_t start;          /* first calendar day, default 2022-04-01 */
	int32_t days;           /* D, default 730 */
	double initial_share;   /* accounts present on day 0, default 0.7 */
	double leave_share;     /* accounts leaving before the end, default 0.02 */
	double event_rate;      /* multiplier of the leak and stuck-meter probabilities (capped
				   at 1), default 1; > 1 plants more events for detection tests
				   (a different stream from the default: more draws per account) */
};

void aq_synth_opts_default(struct aq_synth_opts *o);
int aq_synth_opts_check(const struct aq_synth_opts *o, struct aq_err *e);

enum aq_synth_kind {
	AQ_SYNTH_JOIN,      /* first day of the account (start = end) */
	AQ_SYNTH_LEAVE,     /* last day of the account */
	AQ_SYNTH_LEAK,      /* start .. end (end = last calendar day if never repaired), size m³/day */
	AQ_SYNTH_VACATION,  /* start .. end: zero use (a leak still shows) */
	AQ_SYNTH_STUCK,     /* start .. end: the meter reads 0 */
	AQ_SYNTH_SPIKE,     /* one day, size = the value (> 800) */
	AQ_SYNTH_NEGATIVE,  /* one day, size = the value (< 0) */
	AQ_SYNTH_NANDAY,    /* one day whose row carries NaN */
	AQ_SYNTH_NKINDS
};

struct aq_synth_event {
	int64_t account;    /* AccountOID */
	enum aq_synth_kind kind;
	int32_t start, end; /* calendar days, inclusive */
	double size;
};

struct aq_synth_events {
	size_t n, cap;
	struct aq_synth_event *ev;
};

void aq_synth_events_init(struct aq_synth_events *ev);
void aq_synth_events_release(struct aq_synth_events *ev);
const char *aq_synth_kind_name(enum aq_synth_kind k);

/* AccountOID of account index i: 7 digits from 3000000, increasing with i. */
int64_t aq_synth_oid(int64_t i);

/*
 * The series of account index i: out[d] for d in [0, days), milli-m³ or one
 * of the sentinels. Planted events are appended to ev when ev is not NULL.
 */
int aq_synth_account(const struct aq_synth_opts *o, int64_t i, int32_t *out, struct aq_synth_events *ev,
		     struct aq_err *e);

/* xoshiro256** seeded by splitmix64; exposed for tests and tools. */
struct aq_rng {
	uint64_t s[4];
	double spare;       /* cached second normal of the polar method */
	int has_spare;
};

void aq_rng_seed(struct aq_rng *r, uint64_t seed);
uint64_t aq_rng_next(struct aq_rng *r);
double aq_rng_uniform(struct aq_rng *r);   /* [0, 1) with 53 bits */
double aq_rng_normal(struct aq_rng *r);    /* N(0, 1), Marsaglia polar method */

#endif
