/* synth.c — synthetic utility consumption: per-account model, planted events, xoshiro256** streams. */
#include "synth.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "hash.h"

/* ---- random numbers ---- */

/* splitmix64 (Steele, Lea & Flood 2014): seeds the xoshiro state. A Weyl step, then the finaliser. */
static uint64_t splitmix64(uint64_t *x)
{
	return aq_mix64(*x += UINT64_C(0x9e3779b97f4a7c15));
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

void aq_rng_seed(struct aq_rng *r, uint64_t seed)
{
	uint64_t x = seed;

	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&x);
	r->has_spare = 0;
	r->spare = 0;
}

/* xoshiro256** 1.0 (Blackman & Vigna 2018). */
uint64_t aq_rng_next(struct aq_rng *r)
{
	uint64_t *s = r->s, res = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;

	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return res;
}

double aq_rng_uniform(struct aq_rng *r)
{
	return (double)(aq_rng_next(r) >> 11) * 0x1p-53;
}

double aq_rng_normal(struct aq_rng *r)
{
	double u, v, s, f;

	if (r->has_spare) {
		r->has_spare = 0;
		return r->spare;
	}
	/* Marsaglia & Bray (1964) polar method: two normals per accepted pair. */
	do {
		u = 2 * aq_rng_uniform(r) - 1;
		v = 2 * aq_rng_uniform(r) - 1;
		s = u * u + v * v;
	} while (s >= 1 || s == 0);
	f = sqrt(-2 * log(s) / s);
	r->spare = v * f;
	r->has_spare = 1;
	return u * f;
}

static double unif(struct aq_rng *r, double a, double b)
{
	return a + (b - a) * aq_rng_uniform(r);
}
/* Integer in [a, b]. */
static int32_t irange(struct aq_rng *r, int32_t a, int32_t b)
{
	return b <= a ? a : a + (int32_t)(aq_rng_uniform(r) * (double)(b - a + 1));
}

/* ---- options, events ---- */

void aq_synth_opts_default(struct aq_synth_opts *o)
{
	o->seed = 1;
	o->accounts = 27000;
	o->start = aq_date_from_ymd(2022, 4, 1);
	o->days = 730;
	o->initial_share = 0.7;
	o->leave_share = 0.02;
	o->event_rate = 1.0;
}

int aq_synth_opts_check(const struct aq_synth_opts *o, struct aq_err *e)
{
	if (o->accounts < 1 || o->accounts > 10000000)
		return aq_err_set(e, AQ_EINVAL, "bad account count %lld (want 1..10000000)", (long long)o->accounts);
	if (o->days < 1 || o->days > 36500)
		return aq_err_set(e, AQ_EINVAL, "bad day count %d (want 1..36500)", o->days);
	if (o->start < AQ_DATE_MIN || (int64_t)o->start + o->days - 1 > AQ_DATE_MAX)
		return aq_err_set(e, AQ_EINVAL, "calendar outside 1990-01-01..2100-12-31");
	if (!(o->initial_share > 0 && o->initial_share <= 1) || !(o->leave_share >= 0 && o->leave_share < 1))
		return aq_err_set(e, AQ_EINVAL, "bad initial or leave share");
	if (!(o->event_rate >= 0 && o->event_rate <= 100))
		return aq_err_set(e, AQ_EINVAL, "bad event rate %g (want 0..100)", o->event_rate);
	return 0;
}

void aq_synth_events_init(struct aq_synth_events *ev)
{
	memset(ev, 0, sizeof(*ev));
}

void aq_synth_events_release(struct aq_synth_events *ev)
{
	free(ev->ev);
	memset(ev, 0, sizeof(*ev));
}

const char *aq_synth_kind_name(enum aq_synth_kind k)
{
	static const char *names[AQ_SYNTH_NKINDS] = { "join",  "leave", "leak",     "vacation",
						      "stuck", "spike", "negative", "nan_value" };

	return (unsigned)k < AQ_SYNTH_NKINDS ? names[k] : "?";
}

static int ev_add(struct aq_synth_events *ev, int64_t acct, enum aq_synth_kind k, int32_t s, int32_t t, double size,
		  struct aq_err *e)
{
	if (!ev)
		return 0;
	if (ev->n == ev->cap) {
		size_t ncap = ev->cap ? 2 * ev->cap : 64;
		struct aq_synth_event *n = realloc(ev->ev, ncap * sizeof(*n));

		if (!n)
			return aq_err_set(e, AQ_ENOMEM, "cannot grow the synth event list");
		ev->ev = n;
		ev->cap = ncap;
	}
	ev->ev[ev->n++] = (struct aq_synth_event){ acct, k, s, t, size };
	return 0;
}

int64_t aq_synth_oid(int64_t i)
{
	uint64_t x = (uint64_t)i ^ UINT64_C(0x5851f42d4c957f2d);

	/* Stride 10 with a fixed jitter: distinct, increasing, 7 digits up to 699,999 accounts. */
	return 3000000 + 10 * i + (int64_t)(splitmix64(&x) % 10);
}

/* ---- one account ---- */

enum { HOUSEHOLD, SMALL_BIZ, LARGE_BIZ };

/* Day of the first month start strictly after day 0, and the number of month starts in (0, days). */
static int month_starts(int32_t start, int32_t days, int32_t *first)
{
	int y, m, d, n = 0;
	int32_t t;

	aq_date_to_ymd(start, &y, &m, &d);
	*first = -1;
	for (;;) {
		if (++m > 12)
			m = 1, y++;
		t = aq_date_from_ymd(y, m, 1) - start;
		if (t >= days)
			return n;
		if (*first < 0)
			*first = t;
		n++;
	}
}

/* Offset (from start) of the k-th (0-based) month start after day 0. */
static int32_t month_start_k(int32_t start, int k)
{
	int y, m, d;

	aq_date_to_ymd(start, &y, &m, &d);
	m += k + 1;
	y += (m - 1) / 12;
	m = (m - 1) % 12 + 1;
	return aq_date_from_ymd(y, m, 1) - start;
}

/* Mark [s, t] (clipped to the calendar) with flag bits. */
static void mark(uint8_t *flags, int32_t days, int32_t s, int32_t t, uint8_t bit)
{
	if (s < 0)
		s = 0;
	if (t >= days)
		t = days - 1;
	for (int32_t d = s; d <= t; d++)
		flags[d] |= bit;
}

enum { F_VAC = 1, F_STUCK = 2, F_OUTAGE = 4 };

/* One account's parameters and planted state, drawn in a fixed order from its own stream. */
struct acct {
	const struct aq_synth_opts *o;
	int64_t oid;
	struct aq_rng r;
	uint8_t *flags;      /* per day: F_* */
	int32_t join, leave; /* offsets from start, inclusive */
	int cls;
	double level, w[7];     /* m³/day; weekday factors with mean 1, Monday = 0 */
	double amp, peak;       /* season: 1 + amp·cos(2π(doy − peak)/365.25) */
	double phi_s, sig_s;    /* slow AR(1) of the log noise: coefficient, innovation sd */
	double phi_f, sig_f;    /* fast AR(1) of the log noise */
	double var;             /* marginal variance of the sum: the lognormal mean correction */
	double p0, p_hi;        /* per day: an isolated zero day; a high-use day (× 1.5–5) */
	int32_t leak_s, leak_t; /* -1 without a leak */
	double leak;
};

/* Lifetime: index order is join order; joiners spread over the month starts; a few leave. */
static void draw_lifetime(struct acct *a, int64_t i)
{
	const struct aq_synth_opts *o = a->o;
	const int32_t D = o->days;
	int64_t n0 = (int64_t)ceil(o->initial_share * (double)o->accounts);
	int32_t first_ms;
	int nms = month_starts(o->start, D, &first_ms);

	a->join = 0;
	a->leave = D - 1;
	if (i >= n0 && nms > 0) {
		int k = (int)((i - n0) * nms / (o->accounts - n0));
		int32_t ms = month_start_k(o->start, k), me = k + 1 < nms ? month_start_k(o->start, k + 1) : D;

		a->join = irange(&a->r, ms, me - 1);
	} else {
		(void)irange(&a->r, 0, 0);
	}
	if (aq_rng_uniform(&a->r) < o->leave_share && D - 1 - (a->join + 60) > 30)
		a->leave = irange(&a->r, a->join + 60, D - 2);
}

/*
 * Class, level, weekday profile, season and noise. The ranges are set so that
 * the per-account statistics of bench/synth/realism fall inside DAIAD's
 * interquartile range (docs/accuracy.md, "Synthetic data"): mostly
 * day-to-day noise (lag-1 autocorrelation of log use ~0.3), a slow drift of
 * the level, occasional high-use days, a moderate annual cycle.
 */
static void draw_profile(struct acct *a)
{
	struct aq_rng *r = &a->r;
	double u = aq_rng_uniform(r), z = aq_rng_normal(r), weekend, jit, wsum = 0, sd_s, sd_f;
	int hh;

	if (u < 0.85) {
		a->cls = HOUSEHOLD;
		a->level = fmin(fmax(0.27 * exp(0.6 * z), 0.03), 4.0);
	} else if (u < 0.97) {
		a->cls = SMALL_BIZ;
		a->level = 3.0 * exp(0.7 * z);
	} else {
		a->cls = LARGE_BIZ;
		a->level = fmin(40.0 * exp(0.8 * z), 600.0);
	}
	hh = a->cls == HOUSEHOLD;
	/* Households: weekends anywhere from a little less (away) to much more; businesses far less. */
	weekend = hh ? unif(r, 0.85, 1.45) : unif(r, 0.15, 0.7);
	jit = hh ? 0.12 : 0.06;
	for (int d = 0; d < 7; d++) {
		a->w[d] = (d >= 5 ? weekend : 1.0) * (1 + jit * aq_rng_normal(r));
		if (a->w[d] < 0.05)
			a->w[d] = 0.05;
		wsum += a->w[d];
	}
	for (int d = 0; d < 7; d++)
		a->w[d] *= 7 / wsum;
	a->amp = hh ? unif(r, 0.02, 0.3) : unif(r, 0.0, 0.2);
	a->peak = 196 + 10 * aq_rng_normal(r); /* day of year, ~15 July */
	/* Log noise: a slow AR(1) (drifting level: occupancy, habits) plus a fast one (the day's use). */
	a->phi_s = unif(r, 0.95, 0.995);
	sd_s = unif(r, 0.06, 0.22);
	a->phi_f = unif(r, 0.0, 0.35);
	sd_f = hh ? unif(r, 0.25, 0.5) : unif(r, 0.12, 0.3);
	a->sig_s = sd_s * sqrt(1 - a->phi_s * a->phi_s);
	a->sig_f = sd_f * sqrt(1 - a->phi_f * a->phi_f);
	a->var = sd_s * sd_s + sd_f * sd_f;
	/* Isolated zero days for half of the households; high-use days (guests, garden, filling a pool). */
	a->p0 = hh && aq_rng_uniform(r) < 0.5 ? unif(r, 0.0, 0.01) : 0.0;
	a->p_hi = hh ? unif(r, 0.0, 0.01) : unif(r, 0.0, 0.004);
}

/* Leak: an additive level shift from its start, repaired or not. */
static int plant_leak(struct acct *a, struct aq_synth_events *ev, struct aq_err *e)
{
	struct aq_rng *r = &a->r;

	a->leak_s = a->leak_t = -1;
	a->leak = 0;
	if (!(aq_rng_uniform(r) < fmin((a->cls == HOUSEHOLD ? 0.06 : 0.04) * a->o->event_rate, 1.0) &&
	      a->leave - a->join > 60))
		return 0;
	a->leak_s = irange(r, a->join + 30, a->leave);
	a->leak = a->cls == HOUSEHOLD ? unif(r, 0.1, 1.0) : a->level * unif(r, 0.1, 0.5);
	a->leak = round(a->leak * 1000) / 1000;
	a->leak_t = aq_rng_uniform(r) < 0.5 ? a->leak_s + irange(r, 14, 180) : a->leave;
	if (a->leak_t > a->leave)
		a->leak_t = a->leave;
	return ev_add(ev, a->oid, AQ_SYNTH_LEAK, a->o->start + a->leak_s, a->o->start + a->leak_t, a->leak, e);
}

/* n absences of len0 + an exponential(mean) days, at most maxlen: zero use, a vacation event each. */
static int plant_absences(struct acct *a, int n, int32_t len0, double mean, int32_t maxlen, struct aq_synth_events *ev,
			  struct aq_err *e)
{
	for (int k = 0; k < n; k++) {
		int32_t s = irange(&a->r, a->join, a->leave),
			len = len0 + (int32_t)(-mean * log(1 - aq_rng_uniform(&a->r))), rc;

		if (len > maxlen)
			len = maxlen;
		if (s + len - 1 > a->leave)
			len = a->leave - s + 1;
		mark(a->flags, a->o->days, s, s + len - 1, F_VAC);
		if ((rc = ev_add(ev, a->oid, AQ_SYNTH_VACATION, a->o->start + s, a->o->start + s + len - 1, 0, e)))
			return rc;
	}
	return 0;
}

/*
 * Households are away: short absences (1–3 days, 0–5 a year: weekends away)
 * and vacations (4–28 days, 0–1.5 a year). Any account: a stuck meter (1% ×
 * event rate, 20–120 days of zeros) and a long outage of the reading chain
 * (12%, 7–60 absent days in a row; no event: missing days are not use).
 */
static int plant_runs(struct acct *a, struct aq_synth_events *ev, struct aq_err *e)
{
	struct aq_rng *r = &a->r;
	const double years = (a->leave - a->join + 1) / 365.0;
	int rc;

	if (a->cls == HOUSEHOLD) {
		int ns = (int)(unif(r, 0, 5.0) * years), nv = (int)(unif(r, 0, 1.5) * years);

		if ((rc = plant_absences(a, ns, 1, 1.0, 3, ev, e)) || (rc = plant_absences(a, nv, 4, 7.0, 28, ev, e)))
			return rc;
	}
	if (aq_rng_uniform(r) < fmin(0.01 * a->o->event_rate, 1.0) && a->leave - a->join > 30) {
		int32_t s = irange(r, a->join, a->leave - 20), len = irange(r, 20, 120);

		if (s + len - 1 > a->leave)
			len = a->leave - s + 1;
		mark(a->flags, a->o->days, s, s + len - 1, F_STUCK);
		if ((rc = ev_add(ev, a->oid, AQ_SYNTH_STUCK, a->o->start + s, a->o->start + s + len - 1, 0, e)))
			return rc;
	}
	if (aq_rng_uniform(r) < 0.12 && a->leave - a->join > 120) {
		int32_t s = irange(r, a->join + 30, a->leave - 30), len = irange(r, 7, 60);

		mark(a->flags, a->o->days, s, s + len - 1, F_OUTAGE);
	}
	return 0;
}

/*
 * The daily loop: a fixed number of draws per day, whatever is emitted.
 * Season angle θ = 2π(doy − peak)/365.25, advanced by a rotation of
 * (cos θ, sin θ) each day and reset exactly on every 1 January. One uniform
 * decides the day's kind: below p0 an isolated zero, above 1 − p_hi a
 * high-use day whose factor 1.5–5 is the same uniform rescaled.
 */
static void daily_series(struct acct *a, int32_t *out)
{
	const struct aq_synth_opts *o = a->o;
	const int32_t D = o->days;
	const double crot = cos(2 * M_PI / 365.25), srot = sin(2 * M_PI / 365.25);
	const double miss = unif(&a->r, 0.012, 0.04); /* share of absent days, short runs */
	const double q = miss / (2.0 * (1 - miss));   /* gap starts per present day, mean gap length 2 */
	const double corr = a->var / 2;
	double xs = a->sig_s / sqrt(1 - a->phi_s * a->phi_s) * aq_rng_normal(&a->r),
	       xf = a->sig_f / sqrt(1 - a->phi_f * a->phi_f) * aq_rng_normal(&a->r), cth, sth;
	int32_t wd0 = aq_date_weekday(o->start), ynext;

	{
		int y, m, dd;
		double th;

		aq_date_to_ymd(o->start, &y, &m, &dd);
		ynext = aq_date_from_ymd(y + 1, 1, 1);
		th = 2 * M_PI * (o->start - aq_date_from_ymd(y, 1, 1) - a->peak) / 365.25;
		cth = cos(th);
		sth = sin(th);
	}
	for (int32_t d = 0; d < D; d++) {
		double zs = aq_rng_normal(&a->r), zf = aq_rng_normal(&a->r), uz = aq_rng_uniform(&a->r),
		       um = aq_rng_uniform(&a->r), v;

		if (d > 0) {
			if (o->start + d == ynext) {
				int y, m, dd;

				aq_date_to_ymd(ynext, &y, &m, &dd);
				ynext = aq_date_from_ymd(y + 1, 1, 1);
				cth = cos(-2 * M_PI * a->peak / 365.25);
				sth = sin(-2 * M_PI * a->peak / 365.25);
			} else {
				double c2 = cth * crot - sth * srot;

				sth = sth * crot + cth * srot;
				cth = c2;
			}
		}
		xs = a->phi_s * xs + a->sig_s * zs;
		xf = a->phi_f * xf + a->sig_f * zf;
		if (d < a->join || d > a->leave) {
			out[d] = AQ_SYNTH_ABSENT;
			continue;
		}
		v = a->level * a->w[(wd0 + d) % 7] * (1 + a->amp * cth) * exp(xs + xf - corr);
		if (uz > 1 - a->p_hi)
			v *= 1.5 + 3.5 * (uz - (1 - a->p_hi)) / a->p_hi;
		if ((a->flags[d] & F_VAC) || uz < a->p0)
			v = 0;
		if (d >= a->leak_s && d <= a->leak_t && a->leak_s >= 0)
			v += a->leak;
		if (a->flags[d] & F_STUCK)
			v = 0;
		out[d] = (int32_t)lround(v * 1000);
		/* Gaps: a run starts with probability q, continues with probability 1/2 (mean length 2). */
		if (um < q || (d > a->join && out[d - 1] == AQ_SYNTH_ABSENT && um < 0.5) || (a->flags[d] & F_OUTAGE))
			out[d] = AQ_SYNTH_ABSENT;
	}
}

/* Meter faults, on days that have a row: spikes above 800, negatives, NaN rows. */
static int plant_faults(struct acct *a, int32_t *out, struct aq_synth_events *ev, struct aq_err *e)
{
	static const struct {
		enum aq_synth_kind k;
		double p;
		int maxn;
	} fk[3] = {
		{ AQ_SYNTH_SPIKE, 0.15, 3 },
		{ AQ_SYNTH_NEGATIVE, 0.05, 2 },
		{ AQ_SYNTH_NANDAY, 0.10, 5 },
	};
	struct aq_rng *r = &a->r;
	int rc;

	for (int f = 0; f < 3; f++) {
		int nf;

		if (aq_rng_uniform(r) >= fk[f].p || a->leave - a->join < 30)
			continue;
		nf = irange(r, 1, fk[f].maxn);
		for (int k = 0; k < nf; k++) {
			int32_t d = irange(r, a->join, a->leave);
			double v;

			if (out[d] == AQ_SYNTH_ABSENT || out[d] == AQ_SYNTH_NAN || out[d] > 800000 || out[d] < 0)
				continue; /* keep one fault per day; the truth stays exact */
			if (fk[f].k == AQ_SYNTH_SPIKE)
				v = round(unif(r, 800.5, 5000.0) * 1000) / 1000;
			else if (fk[f].k == AQ_SYNTH_NEGATIVE)
				v = -round(unif(r, 0.1, 50.0) * 1000) / 1000;
			else
				v = NAN;
			out[d] = isnan(v) ? AQ_SYNTH_NAN : (int32_t)lround(v * 1000);
			if ((rc = ev_add(ev, a->oid, fk[f].k, a->o->start + d, a->o->start + d, v, e)))
				return rc;
		}
	}
	return 0;
}

int aq_synth_account(const struct aq_synth_opts *o, int64_t i, int32_t *out, struct aq_synth_events *ev,
		     struct aq_err *e)
{
	struct acct a = { .o = o, .oid = aq_synth_oid(i) };
	uint64_t seed = o->seed;
	int rc;

	if (i < 0 || i >= o->accounts)
		return aq_err_set(e, AQ_EINVAL, "account index %lld outside 0..%lld", (long long)i,
				  (long long)o->accounts - 1);
	/* Seed from (seed, AccountOID) so any subset of accounts reproduces. */
	seed = splitmix64(&seed) ^ (uint64_t)a.oid * UINT64_C(0xd1342543de82ef95);
	aq_rng_seed(&a.r, seed);
	if (!(a.flags = calloc((size_t)o->days, 1)))
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate %d days", o->days);
	draw_lifetime(&a, i);
	draw_profile(&a);
	if (!(rc = ev_add(ev, a.oid, AQ_SYNTH_JOIN, o->start + a.join, o->start + a.join, 0, e)) &&
	    !(a.leave < o->days - 1 &&
	      (rc = ev_add(ev, a.oid, AQ_SYNTH_LEAVE, o->start + a.leave, o->start + a.leave, 0, e))) &&
	    !(rc = plant_leak(&a, ev, e)) && !(rc = plant_runs(&a, ev, e))) {
		daily_series(&a, out);
		rc = plant_faults(&a, out, ev, e);
	}
	free(a.flags);
	return rc;
}
