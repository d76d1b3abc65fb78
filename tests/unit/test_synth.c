/* test_synth.c — the synthetic generator: PRNG vectors, determinism, subsets, planted properties, truth. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "date.h"
#include "synth.h"
#include "test.h"

#define N 2000
#define DAYS 730

static struct aq_synth_opts opts(uint64_t seed)
{
	struct aq_synth_opts o;

	aq_synth_opts_default(&o);
	o.seed = seed;
	o.accounts = N;
	o.days = DAYS;
	return o;
}

/* Published reference outputs: splitmix64 from 1234567, xoshiro256** from state {1,2,3,4}. */
static void test_rng_vectors(void)
{
	static const uint64_t sm[4] = { UINT64_C(6457827717110365317), UINT64_C(3203168211198807973),
					UINT64_C(9817491932198370423), UINT64_C(4593380528125082431) };
	static const uint64_t xo[6] = { 11520,
					0,
					1509978240,
					UINT64_C(1215971899390074240),
					UINT64_C(1216172134540287360),
					UINT64_C(607988272756665600) };
	struct aq_rng r;
	double sum = 0, sum2 = 0, below = 0;
	const int n = 400000;

	aq_rng_seed(&r, 1234567);
	for (int i = 0; i < 4; i++)
		T_CHECK(r.s[i] == sm[i]);
	r.s[0] = 1, r.s[1] = 2, r.s[2] = 3, r.s[3] = 4;
	for (int i = 0; i < 6; i++)
		T_CHECK(aq_rng_next(&r) == xo[i]);
	/* Normals: mean 0, variance 1, P(Z < 1) = Φ(1) = 0.841345 (4σ tolerances). */
	aq_rng_seed(&r, 42);
	for (int i = 0; i < n; i++) {
		double z = aq_rng_normal(&r);

		sum += z, sum2 += z * z, below += z < 1;
	}
	T_NEAR(sum / n, 0, 4 / sqrt(n));
	T_NEAR(sum2 / n, 1, 4 * sqrt(2.0 / n));
	T_NEAR(below / n, 0.5 * erfc(-1 / sqrt(2)), 4 * sqrt(0.16 / n));
}

static int same_events(const struct aq_synth_events *a, const struct aq_synth_events *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t k = 0; k < a->n; k++) {
		const struct aq_synth_event *x = &a->ev[k], *y = &b->ev[k];

		if (x->account != y->account || x->kind != y->kind || x->start != y->start || x->end != y->end ||
		    !(x->size == y->size || (isnan(x->size) && isnan(y->size))))
			return 0;
	}
	return 1;
}

static int same_series(const int32_t *a, const int32_t *b, int n)
{
	return !memcmp(a, b, (size_t)n * sizeof(*a));
}

static void test_determinism_and_subsets(void)
{
	struct aq_synth_opts o = opts(7), o2 = opts(8);
	static int32_t a[DAYS], b[DAYS];
	struct aq_synth_events ea, eb;
	struct aq_err e = { 0 };
	int differ = 0;

	/* The same account alone, after others, or in reverse order: identical series and events. */
	for (int64_t i = N - 1; i >= 0; i -= 97) {
		aq_synth_events_init(&ea);
		aq_synth_events_init(&eb);
		T_OK(aq_synth_account(&o, i, a, &ea, &e));
		for (int64_t k = 0; k < 3; k++) /* interleave other accounts */
			T_OK(aq_synth_account(&o, (i + 1 + k) % N, b, NULL, &e));
		T_OK(aq_synth_account(&o, i, b, &eb, &e));
		T_CHECK(same_series(a, b, DAYS));
		T_CHECK(same_events(&ea, &eb));
		T_OK(aq_synth_account(&o2, i, b, NULL, &e));
		differ += !same_series(a, b, DAYS);
		aq_synth_events_release(&ea);
		aq_synth_events_release(&eb);
	}
	T_EQ_INT(differ, (N - 1) / 97 + 1); /* another seed changes every account */
	/* A shorter calendar is a prefix? No: only slices of the same calendar are promised. */
	T_EQ_INT(aq_synth_account(&o, N, a, NULL, &e), AQ_EINVAL);
	/* OIDs: 7 digits, strictly increasing. */
	T_EQ_INT(aq_synth_oid(0) / 1000000, 3);
	for (int64_t i = 1; i < 699999; i += 1013)
		T_CHECK(aq_synth_oid(i) > aq_synth_oid(i - 1) && aq_synth_oid(i) <= 9999999);
}

struct all {
	int32_t *v; /* N × DAYS */
	struct aq_synth_events ev;
};

static int gen_all(struct all *x, uint64_t seed)
{
	struct aq_synth_opts o = opts(seed);
	struct aq_err e = { 0 };

	x->v = malloc((size_t)N * DAYS * sizeof(*x->v));
	aq_synth_events_init(&x->ev);
	if (!x->v)
		return -1;
	for (int64_t i = 0; i < N; i++)
		if (aq_synth_account(&o, i, x->v + i * DAYS, &x->ev, &e))
			return -1;
	return 0;
}

static void test_planted_properties(void)
{
	struct all x;
	struct aq_synth_opts o = opts(3);
	int64_t present = 0, span = 0, spikes = 0, negs = 0, nans = 0, zero_runs = 0, left = 0;
	int joins[40] = { 0 };
	int y0, m0, d0;

	T_ASSERT(gen_all(&x, 3) == 0);
	aq_date_to_ymd(o.start, &y0, &m0, &d0);
	for (int64_t i = 0; i < N; i++) {
		const int32_t *s = x.v + i * DAYS;
		int first = -1, last = -1, run = 0, has_run = 0, y, m, d;

		for (int t = 0; t < DAYS; t++) {
			if (s[t] == AQ_SYNTH_ABSENT)
				continue;
			if (first < 0)
				first = t;
			last = t;
			present++;
			spikes += s[t] > 800000 && s[t] != AQ_SYNTH_NAN;
			negs += s[t] < 0 && s[t] != AQ_SYNTH_NAN;
			nans += s[t] == AQ_SYNTH_NAN;
			run = s[t] == 0 ? run + 1 : 0;
			has_run |= run >= 4;
		}
		T_ASSERT(first >= 0);
		span += last - first + 1;
		zero_runs += has_run;
		left += last < DAYS - 15;
		aq_date_to_ymd(o.start + first, &y, &m, &d);
		joins[(y - y0) * 12 + (m - m0)]++;
	}
	/* Missing rows: 2–5% of each account's span. */
	T_CHECK((double)(span - present) / span >= 0.02 && (double)(span - present) / span <= 0.05);
	/* Vacations and stuck meters: runs of ≥ 4 zero days in a good share of accounts. */
	T_CHECK(zero_runs > N / 5);
	/* Meter faults present: spikes above 800, negatives, NaN rows. */
	T_CHECK(spikes > N / 20);
	T_CHECK(negs > N / 100);
	T_CHECK(nans > N / 50);
	/* Most accounts from the start, and new ones in every later month of the calendar. */
	T_CHECK(joins[0] >= N * 6 / 10);
	for (int k = 1; k < 24; k++)
		if (joins[k] < 5)
			T_FAIL("month %d: only %d new accounts", k, joins[k]);
	T_CHECK(left > 5);
	free(x.v);
	aq_synth_events_release(&x.ev);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* The truth file's events are visible in the data they describe. */
static void test_truth_matches_data(void)
{
	struct all x;
	struct aq_synth_opts o = opts(5);
	int64_t idx = -1, nleak = 0;
	double ratio[4096];
	int counts[AQ_SYNTH_NKINDS] = { 0 };

	T_ASSERT(gen_all(&x, 5) == 0);
	for (size_t k = 0; k < x.ev.n; k++) {
		const struct aq_synth_event *v = &x.ev.ev[k];
		const int32_t *s;
		int32_t a = v->start - o.start, b = v->end - o.start;

		if (idx < 0 || aq_synth_oid(idx) != v->account)
			for (idx = 0; idx < N && aq_synth_oid(idx) != v->account; idx++)
				;
		T_ASSERT(idx < N);
		T_ASSERT(a >= 0 && b >= a && b < DAYS);
		s = x.v + idx * DAYS;
		counts[v->kind]++;
		switch (v->kind) {
		case AQ_SYNTH_JOIN:
			for (int t = 0; t < a; t++)
				T_ASSERT(s[t] == AQ_SYNTH_ABSENT);
			break;
		case AQ_SYNTH_LEAVE:
			for (int t = a + 1; t < DAYS; t++)
				T_ASSERT(s[t] == AQ_SYNTH_ABSENT);
			break;
		case AQ_SYNTH_SPIKE:
			T_CHECK(s[a] > 800000 && s[a] == (int32_t)lround(v->size * 1000));
			break;
		case AQ_SYNTH_NEGATIVE:
			T_CHECK(s[a] < 0 && s[a] == (int32_t)lround(v->size * 1000));
			break;
		case AQ_SYNTH_NANDAY:
			T_CHECK(s[a] == AQ_SYNTH_NAN);
			break;
		case AQ_SYNTH_STUCK:
			for (int t = a; t <= b; t++)
				if (s[t] != AQ_SYNTH_ABSENT && s[t] != 0 && s[t] != AQ_SYNTH_NAN && s[t] < 800000 &&
				    s[t] >= 0) {
					T_FAIL("stuck meter of %lld reads %d on day %d", (long long)v->account, s[t],
					       t);
					break;
				}
			break;
		case AQ_SYNTH_LEAK: {
			/* Mean over 28 days after the start minus the 28 days before: the planted size, on average. */
			double before = 0, after = 0;
			int nb = 0, na = 0;

			if (a < 28 || a + 28 > b)
				break;
			for (int t = a - 28; t < a + 28; t++) {
				if (s[t] == AQ_SYNTH_ABSENT || s[t] == AQ_SYNTH_NAN || s[t] < 0 || s[t] > 800000)
					continue;
				if (t < a)
					before += s[t] / 1000.0, nb++;
				else
					after += s[t] / 1000.0, na++;
			}
			if (nb > 10 && na > 10 && nleak < 4096)
				ratio[nleak++] = (after / na - before / nb) / v->size;
			break;
		}
		default:
			break;
		}
	}
	T_EQ_INT(counts[AQ_SYNTH_JOIN], N);
	T_CHECK(counts[AQ_SYNTH_LEAK] > N / 50);
	T_CHECK(counts[AQ_SYNTH_VACATION] > N / 2);
	T_CHECK(counts[AQ_SYNTH_STUCK] > 0);
	T_CHECK(nleak > 20);
	/* Leaks shift the level by their size: the median of lift/size is about 1. */
	if (nleak > 0) {
		double med;

		qsort(ratio, (size_t)nleak, sizeof(*ratio), cmp_double);
		med = nleak % 2 ? ratio[nleak / 2] : (ratio[nleak / 2 - 1] + ratio[nleak / 2]) / 2;
		if (!(med > 0.75 && med < 1.25))
			T_FAIL("%lld leaks: median lift/size %.3f", (long long)nleak, med);
	}
	free(x.v);
	aq_synth_events_release(&x.ev);
}

static double median_of(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n == 0 ? NAN : n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/*
 * Behaves like real household water (bench/synth/realism, docs/accuracy.md):
 * the median over accounts of each statistic lies inside DAIAD's
 * interquartile range over its 84 meters — lag-1 autocorrelation of log1p
 * use [0.168, 0.477], CV [0.423, 0.686], share of days above 3x the account's
 * median (0, 0.0127], share of zero days in runs of 4+ days [0, 0.68]. The
 * generator before issue #15 had 0.65, 0.418, 0 and 0.85.
 */
static void test_realism(void)
{
	struct all x;
	static double ac1[N], cv[N], spike[N], zlong[N], v[DAYS];
	int na = 0, nz = 0;

	T_ASSERT(gen_all(&x, 2) == 0);
	for (int64_t i = 0; i < N; i++) {
		const int32_t *s = x.v + i * DAYS;
		double sum = 0, ss = 0, med, la[DAYS], sxy = 0, sx = 0, sy = 0, sxx = 0, syy = 0;
		int n = 0, np = 0, zeros = 0, inlong = 0, run = 0, hi = 0;

		for (int t = 0; t <= DAYS; t++) {
			int ok = t < DAYS && s[t] != AQ_SYNTH_ABSENT && s[t] != AQ_SYNTH_NAN && s[t] >= 0 &&
				 s[t] <= 800000;

			if (t < DAYS)
				la[t] = ok ? log1p(s[t] / 1000.0) : NAN;
			if (ok && s[t] == 0) {
				run++;
				zeros++;
			} else {
				inlong += run >= 4 ? run : 0;
				run = 0;
			}
			if (!ok)
				continue;
			v[n++] = s[t] / 1000.0;
			sum += s[t] / 1000.0;
			ss += (s[t] / 1000.0) * (s[t] / 1000.0);
		}
		if (n < 120)
			continue;
		for (int t = 1; t < DAYS; t++)
			if (!isnan(la[t]) && !isnan(la[t - 1])) {
				sx += la[t - 1], sy += la[t], sxx += la[t - 1] * la[t - 1], syy += la[t] * la[t];
				sxy += la[t - 1] * la[t], np++;
			}
		cv[na] = sqrt(fmax(ss / n - (sum / n) * (sum / n), 0)) / (sum / n);
		ac1[na] = (sxy / np - sx / np * sy / np) /
			  sqrt((sxx / np - sx / np * sx / np) * (syy / np - sy / np * sy / np));
		med = median_of(v, n);
		for (int t = 0; t < n; t++)
			hi += v[t] > 3 * med;
		spike[na++] = (double)hi / n;
		if (zeros)
			zlong[nz++] = (double)inlong / zeros;
	}
	T_ASSERT(na > N / 2 && nz > N / 4);
	{
		double a = median_of(ac1, na), c = median_of(cv, na), sp = median_of(spike, na),
		       z = median_of(zlong, nz);

		if (!(a >= 0.168 && a <= 0.477 && c >= 0.423 && c <= 0.686 && sp > 0 && sp <= 0.0127 && z <= 0.68))
			T_FAIL("medians over %d accounts: lag-1 ac %.3f, cv %.3f, spike share %.4f, zeros in long runs %.3f",
			       na, a, c, sp, z);
	}
	free(x.v);
	aq_synth_events_release(&x.ev);
}

/* Level classes: households ~0.1–1.5 m³/day, large commercial tens to hundreds. */
static void test_levels(void)
{
	struct all x;
	int hh = 0, big = 0;

	T_ASSERT(gen_all(&x, 11) == 0);
	for (int64_t i = 0; i < N; i++) {
		double v[DAYS];
		int n = 0;

		for (int t = 0; t < DAYS; t++) {
			int32_t s = x.v[i * DAYS + t];

			if (s != AQ_SYNTH_ABSENT && s != AQ_SYNTH_NAN && s >= 0 && s <= 800000)
				v[n++] = s / 1000.0;
		}
		if (n < 100)
			continue;
		{
			double m = 0;

			for (int t = 0; t < n; t++)
				m += v[t];
			m /= n;
			hh += m >= 0.05 && m <= 2.0;
			big += m >= 10;
		}
	}
	T_CHECK(hh > N * 7 / 10);
	T_CHECK(big > N / 100 && big < N / 5);
	free(x.v);
	aq_synth_events_release(&x.ev);
}

int main(void)
{
	T_RUN(test_rng_vectors);
	T_RUN(test_determinism_and_subsets);
	T_RUN(test_planted_properties);
	T_RUN(test_truth_matches_data);
	T_RUN(test_levels);
	T_RUN(test_realism);
	T_DONE();
}
