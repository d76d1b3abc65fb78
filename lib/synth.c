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

static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

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

double aq_rng_uniform(struct aq_rng *r) { return (double)(aq_rng_next(r) >> 11) * 0x1p-53; }

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

static double unif(struct aq_rng *r, double a, double b) { return a + (b - a) * aq_rng_uniform(r); }
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

void aq_synth_events_init(struct aq_synth_events *ev) { memset(ev, 0, sizeof(*ev)); }

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

static int ev_add(struct aq_synth_events *ev, int64_t acct, enum aq_synth_kind k, int32_t s, int32_t t,
		  double size, struct aq_err *e)
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

enum { F_VAC = 1, F_STUCK = 2 };

int aq_synth_account(const struct aq_synth_opts *o, int64_t i, int32_t *out, struct aq_synth_events *ev,
		     struct aq_err *e)
{
	const int32_t D = o->days;
	const int64_t oid = aq_synth_oid(i);
	int64_t n0 = (int64_t)ceil(o->initial_share * (double)o->accounts);
	struct aq_rng r;
	uint8_t *flags = NULL;
	int32_t join = 0, leave = D - 1, first_ms, leak_s = -1, leak_t = -1, wd0, ynext;
	double level, w[7], wsum = 0, amp, peak, phi, sd, sig, x, p0, leak = 0, miss, q, cth, sth;
	const double crot = cos(2 * M_PI / 365.25), srot = sin(2 * M_PI / 365.25);
	int cls, nms, rc = 0;
	uint64_t seed = o->seed;

	if (i < 0 || i >= o->accounts)
		return aq_err_set(e, AQ_EINVAL, "account index %lld outside 0..%lld", (long long)i,
				  (long long)o->accounts - 1);
	/* Seed from (seed, AccountOID) so any subset of accounts reproduces. */
	seed = splitmix64(&seed) ^ (uint64_t)oid * UINT64_C(0xd1342543de82ef95);
	aq_rng_seed(&r, seed);
	if (!(flags = calloc((size_t)D, 1)))
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate %d days", D);

	/* Lifetime: index order is join order; joiners spread over the month starts. */
	nms = month_starts(o->start, D, &first_ms);
	if (i >= n0 && nms > 0) {
		int k = (int)((i - n0) * nms / (o->accounts - n0));
		int32_t ms = month_start_k(o->start, k), me = k + 1 < nms ? month_start_k(o->start, k + 1) : D;

		join = irange(&r, ms, me - 1);
	} else {
		(void)irange(&r, 0, 0);
	}
	if (aq_rng_uniform(&r) < o->leave_share && D - 1 - (join + 60) > 30)
		leave = irange(&r, join + 60, D - 2);

	/* Class and level (lognormal). */
	{
		double u = aq_rng_uniform(&r), z = aq_rng_normal(&r);

		if (u < 0.85) {
			cls = HOUSEHOLD;
			level = fmin(fmax(0.35 * exp(0.55 * z), 0.05), 4.0);
		} else if (u < 0.97) {
			cls = SMALL_BIZ;
			level = 3.0 * exp(0.7 * z);
		} else {
			cls = LARGE_BIZ;
			level = fmin(40.0 * exp(0.8 * z), 600.0);
		}
	}
	/* Weekday profile, Monday = 0. */
	{
		double weekend = cls == HOUSEHOLD ? unif(&r, 1.0, 1.35) : unif(&r, 0.15, 0.7);

		for (int d = 0; d < 7; d++) {
			w[d] = (d >= 5 ? weekend : 1.0) * (1 + 0.06 * aq_rng_normal(&r));
			if (w[d] < 0.05)
				w[d] = 0.05;
			wsum += w[d];
		}
		for (int d = 0; d < 7; d++)
			w[d] *= 7 / wsum;
	}
	amp = cls == HOUSEHOLD ? unif(&r, 0.05, 0.45) : unif(&r, 0.0, 0.25);
	peak = 196 + 10 * aq_rng_normal(&r);  /* day of year, ~15 July */
	phi = unif(&r, 0.3, 0.85);
	sd = unif(&r, 0.12, 0.35);             /* marginal sd of the log noise */
	sig = sd * sqrt(1 - phi * phi);
	p0 = cls == HOUSEHOLD ? unif(&r, 0.0, 0.01) : 0.0; /* isolated zero days */
	miss = unif(&r, 0.022, 0.048);         /* share of absent days */
	q = miss / (2.0 * (1 - miss));         /* gap starts per present day, mean gap length 2 */

	if ((rc = ev_add(ev, oid, AQ_SYNTH_JOIN, o->start + join, o->start + join, 0, e)))
		goto out;
	if (leave < D - 1 && (rc = ev_add(ev, oid, AQ_SYNTH_LEAVE, o->start + leave, o->start + leave, 0, e)))
		goto out;

	/* Leak: an additive level shift from its start, repaired or not. */
	if (aq_rng_uniform(&r) < fmin((cls == HOUSEHOLD ? 0.06 : 0.04) * o->event_rate, 1.0) && leave - join > 60) {
		leak_s = irange(&r, join + 30, leave);
		leak = cls == HOUSEHOLD ? unif(&r, 0.1, 1.0) : level * unif(&r, 0.1, 0.5);
		leak = round(leak * 1000) / 1000;
		leak_t = aq_rng_uniform(&r) < 0.5 ? leak_s + irange(&r, 14, 180) : leave;
		if (leak_t > leave)
			leak_t = leave;
		if ((rc = ev_add(ev, oid, AQ_SYNTH_LEAK, o->start + leak_s, o->start + leak_t, leak, e)))
			goto out;
	}
	/* Vacations (households): about 0–3 a year, 4–28 days each. */
	if (cls == HOUSEHOLD) {
		int nv = (int)(unif(&r, 0, 3.0) * (leave - join + 1) / 365.0);

		for (int k = 0; k < nv; k++) {
			int32_t s = irange(&r, join, leave), len = 4 + (int32_t)(-8 * log(1 - aq_rng_uniform(&r)));

			if (len > 28)
				len = 28;
			if (s + len - 1 > leave)
				len = leave - s + 1;
			mark(flags, D, s, s + len - 1, F_VAC);
			if ((rc = ev_add(ev, oid, AQ_SYNTH_VACATION, o->start + s, o->start + s + len - 1, 0, e)))
				goto out;
		}
	}
	/* Stuck meter: 1% of accounts, 20–120 days of zeros. */
	if (aq_rng_uniform(&r) < fmin(0.01 * o->event_rate, 1.0) && leave - join > 30) {
		int32_t s = irange(&r, join, leave - 20), len = irange(&r, 20, 120);

		if (s + len - 1 > leave)
			len = leave - s + 1;
		mark(flags, D, s, s + len - 1, F_STUCK);
		if ((rc = ev_add(ev, oid, AQ_SYNTH_STUCK, o->start + s, o->start + s + len - 1, 0, e)))
			goto out;
	}

	/* The daily loop: a fixed number of draws per day, whatever is emitted. */
	x = sd * aq_rng_normal(&r);
	wd0 = aq_date_weekday(o->start);
	/*
	 * Season angle θ = 2π(doy − peak)/365.25, advanced by a rotation of
	 * (cos θ, sin θ) each day and reset exactly on every 1 January.
	 */
	{
		int y, m, dd;
		double th;

		aq_date_to_ymd(o->start, &y, &m, &dd);
		ynext = aq_date_from_ymd(y + 1, 1, 1);
		th = 2 * M_PI * (o->start - aq_date_from_ymd(y, 1, 1) - peak) / 365.25;
		cth = cos(th);
		sth = sin(th);
	}
	for (int32_t d = 0; d < D; d++) {
		double z = aq_rng_normal(&r), uz = aq_rng_uniform(&r), um = aq_rng_uniform(&r), v;

		if (d > 0) {
			if (o->start + d == ynext) {
				int y, m, dd;

				aq_date_to_ymd(ynext, &y, &m, &dd);
				ynext = aq_date_from_ymd(y + 1, 1, 1);
				cth = cos(-2 * M_PI * peak / 365.25);
				sth = sin(-2 * M_PI * peak / 365.25);
			} else {
				double c2 = cth * crot - sth * srot;

				sth = sth * crot + cth * srot;
				cth = c2;
			}
		}
		x = phi * x + sig * z;
		if (d < join || d > leave) {
			out[d] = AQ_SYNTH_ABSENT;
			continue;
		}
		v = level * w[(wd0 + d) % 7] * (1 + amp * cth) * exp(x - sd * sd / 2);
		if ((flags[d] & F_VAC) || uz < p0)
			v = 0;
		if (d >= leak_s && d <= leak_t && leak_s >= 0)
			v += leak;
		if (flags[d] & F_STUCK)
			v = 0;
		out[d] = (int32_t)lround(v * 1000);
		/* Gaps: a run starts with probability q, continues with probability 1/2 (mean length 2). */
		if (um < q || (d > join && out[d - 1] == AQ_SYNTH_ABSENT && um < 0.5))
			out[d] = AQ_SYNTH_ABSENT;
	}
	/* Meter faults, on days that have a row. */
	{
		struct { enum aq_synth_kind k; double p; int maxn; } fk[3] = {
			{ AQ_SYNTH_SPIKE, 0.15, 3 }, { AQ_SYNTH_NEGATIVE, 0.05, 2 }, { AQ_SYNTH_NANDAY, 0.10, 5 },
		};

		for (int f = 0; f < 3; f++) {
			int nf;

			if (aq_rng_uniform(&r) >= fk[f].p || leave - join < 30)
				continue;
			nf = irange(&r, 1, fk[f].maxn);
			for (int k = 0; k < nf; k++) {
				int32_t d = irange(&r, join, leave);
				double v;

				if (out[d] == AQ_SYNTH_ABSENT || out[d] == AQ_SYNTH_NAN || out[d] > 800000 ||
				    out[d] < 0)
					continue; /* keep one fault per day; the truth stays exact */
				if (fk[f].k == AQ_SYNTH_SPIKE)
					v = round(unif(&r, 800.5, 5000.0) * 1000) / 1000;
				else if (fk[f].k == AQ_SYNTH_NEGATIVE)
					v = -round(unif(&r, 0.1, 50.0) * 1000) / 1000;
				else
					v = NAN;
				out[d] = isnan(v) ? AQ_SYNTH_NAN : (int32_t)lround(v * 1000);
				if ((rc = ev_add(ev, oid, fk[f].k, o->start + d, o->start + d, v, e)))
					goto out;
			}
		}
	}
out:
	free(flags);
	return rc;
}
