/* test_anomaly.c — lib/anomaly: level shifts against a direct re-computation of the documented statistic, flat runs, the guards. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "anomaly.h"
#include "test.h"

static double lcg(unsigned *s)
{
	*s = *s * 1103515245u + 12345u;
	return ((*s >> 8) & 0xffff) / 65536.0;
}

/* household-like: weekday pattern, AR(1) multiplicative noise */
static void series(double *x, size_t n, unsigned seed)
{
	static const double wk[7] = {0.9, 0.95, 0.9, 1.0, 0.95, 1.15, 1.15};
	double a = 0;
	for (size_t t = 0; t < n; t++) {
		a = 0.5 * a + 0.15 * (lcg(&seed) - 0.5);
		x[t] = 0.4 * wk[t % 7] * exp(a);
	}
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double med(double *v, size_t k)
{
	qsort(v, k, sizeof(*v), cmpd);
	return k % 2 ? v[k / 2] : 0.5 * (v[k / 2 - 1] + v[k / 2]);
}

/* mean of the present days of [a, b), NaN below `need` */
static double mean_of(const double *x, size_t a, size_t b, size_t need)
{
	double s = 0;
	size_t k = 0;
	for (size_t i = a; i < b; i++)
		if (!isnan(x[i]))
			s += x[i], k++;
	return k >= need && k ? s / k : NAN;
}

/* the baseline as lib/anomaly.h defines it, written out directly: the K latest non-zero weeks within 3K */
static double base(const double *x, size_t p, int K)
{
	double w[64];
	size_t k = 0;
	for (int j = 0; j < 3 * K && (int)k < K; j++) {
		if (p < 7 * (size_t)(j + 1))
			break;
		double m = mean_of(x, p - 7 * (size_t)(j + 1), p - 7 * (size_t)j, 4);
		if (!isnan(m) && m != 0)
			w[k++] = m;
	}
	return k >= 4 ? med(w, k) : NAN;
}

/* oracle: d_L, B and z_L of lib/anomaly.h for window L */
static double oracle_z(const double *x, size_t n, size_t o, size_t L, double *d_out, double *B_out)
{
	double B = base(x, n - L, 8), d = mean_of(x, n - L, n, L / 2 + 1) - B;
	/* windows [p, p+L) ending by the origin, every other day back from o - L over half a year, p >= 28 */
	size_t pmax = o - L, pmin = pmax > 182 + 28 ? pmax - 182 : 28, k = 0;
	double *s = malloc((pmax - pmin + 1) * sizeof(*s)), *u = malloc((pmax - pmin + 1) * sizeof(*u));
	for (size_t p = pmin + (pmax - pmin) % 2; p <= pmax; p += 2) {
		double c = mean_of(x, p, p + L, L / 2 + 1), b = base(x, p, 8);
		if (!isnan(c) && !isnan(b))
			s[k++] = c - b;
	}
	size_t nr = k < 14 ? k : 14;   /* the last 28 days of p */
	memcpy(u, s + k - nr, nr * sizeof(*u));
	double c = med(u, nr), m = med(memcpy(u, s, k * sizeof(*u)), k);
	for (size_t i = 0; i < k; i++)
		u[i] = fabs(s[i] - m);
	double sc = 1.4826 * med(u, k);
	if (c * d < 0)
		c = 0;
	sc = fmax(sqrt(sc * sc + c * c), fmax(0.01 * B, 1e-3));
	free(s);
	free(u);
	*d_out = d;
	*B_out = B;
	return (d - c) / sc;
}

static void test_leak_found_with_its_evidence(void)
{
	size_t n = 250, o = 220;
	double x[250], fm[30];
	series(x, n, 3);
	for (size_t t = 232; t < n; t++)
		x[t] += 0.3;   /* ~0.75x typical use, the last 18 days */
	for (int i = 0; i < 30; i++)
		fm[i] = 0.4;
	struct aq_anomaly a;
	T_OK(aq_anomaly_detect(x, n, o, fm, NULL, NULL, NULL, &a));
	T_EQ_INT(a.kind, AQ_ANOM_LEVEL_UP);
	size_t L = n - (size_t)a.start;
	T_CHECK(L % 7 == 0 && L >= 7 && L <= 28);
	double d, B, z = oracle_z(x, n, o, L, &d, &B);
	T_NEAR(a.z, z, 1e-9 * fabs(z));
	T_NEAR(a.magnitude, d, 1e-12);
	T_NEAR(a.baseline, B, 1e-12);
	T_NEAR(a.relative, d / B, 1e-12);
	T_CHECK(a.magnitude > 0.2 && a.magnitude < 0.4);
	T_CHECK(a.z >= 4.5);
	/* no window scores more: the reported one has the largest z among 7..28 that pass */
	for (size_t l = 7; l <= 28; l += 7) {
		double dl, bl, zl = oracle_z(x, n, o, l, &dl, &bl);
		T_CHECK(zl <= a.z + 1e-9 || dl < 0.5 * 0.3);
	}
	T_EQ_INT(a.examined, (int)L);
	/* a higher threshold than its z: not flagged */
	struct aq_anomaly_opts op;
	aq_anomaly_opts_default(&op);
	op.z = a.z + 0.01;
	T_OK(aq_anomaly_detect(x, n, o, fm, NULL, NULL, &op, &a));
	T_EQ_INT(a.kind, AQ_ANOM_NONE);
}

static void test_not_a_leak(void)
{
	size_t n = 250, o = 220;
	double x[250], y[250], fm[30];
	for (int i = 0; i < 30; i++)
		fm[i] = 0.4;
	struct aq_anomaly a;
	/* plain noise */
	series(x, n, 5);
	T_OK(aq_anomaly_detect(x, n, o, fm, NULL, NULL, NULL, &a));
	T_EQ_INT(a.kind, AQ_ANOM_NONE);
	/* a leak repaired 6 days before the end */
	memcpy(y, x, sizeof(x));
	for (size_t t = 215; t < 244; t++)
		y[t] += 0.4;
	T_OK(aq_anomaly_detect(y, n, o, fm, NULL, NULL, NULL, &a));
	T_EQ_INT(a.kind, AQ_ANOM_NONE);
	/* one burst day of 3 m3 in the last week: not a shift (most days below the forecast) */
	memcpy(y, x, sizeof(x));
	y[n - 3] = 3.0;
	T_OK(aq_anomaly_detect(y, n, o, fm, NULL, NULL, NULL, &a));
	T_EQ_INT(a.kind, AQ_ANOM_NONE);
	/* a drop by 30%: below min_rel_down (0.5) */
	memcpy(y, x, sizeof(x));
	for (size_t t = 225; t < n; t++)
		y[t] *= 0.7;
	T_OK(aq_anomaly_detect(y, n, o, fm, NULL, NULL, NULL, &a));
	T_EQ_INT(a.kind, AQ_ANOM_NONE);
	/* ... by 70%: level_down */
	for (size_t t = 225; t < n; t++)
		y[t] = x[t] * 0.3;
	T_OK(aq_anomaly_detect(y, n, o, fm, NULL, NULL, NULL, &a));
	T_EQ_INT(a.kind, AQ_ANOM_LEVEL_DOWN);
	T_CHECK(a.relative < -0.5 && a.z <= -4.5);
	/* too little history: origin 74 (windows of 7 days from 28 to 67: fewer than 20 earlier origins
	   every other day): not judged */
	memcpy(y, x, sizeof(x));
	for (size_t t = 84; t < 102; t++)
		y[t] += 1.0;
	T_OK(aq_anomaly_detect(y, 102, 74, NULL, NULL, NULL, NULL, &a));
	T_EQ_INT(a.kind, AQ_ANOM_NONE);
	T_CHECK(isnan(a.z));
	/* ... one more day of history and it is */
	T_OK(aq_anomaly_detect(y, 102, 75, NULL, NULL, NULL, NULL, &a));
	T_EQ_INT(a.kind, AQ_ANOM_LEVEL_UP);
}

static void test_zero_weeks_left_out_of_the_baseline(void)
{
	size_t n = 250, o = 220;
	double x[250];
	series(x, n, 9);
	for (size_t t = o - 21; t < o; t++)
		x[t] = 0;   /* three weeks of vacation just before the origin */
	struct aq_anomaly a;
	T_OK(aq_anomaly_detect(x, n, o, NULL, NULL, NULL, NULL, &a));
	double w[8];
	for (int j = 3; j < 11; j++)   /* the 8 latest weeks that are not zeros */
		w[j - 3] = mean_of(x, o - 7 * (size_t)(j + 1), o - 7 * (size_t)j, 4);
	T_NEAR(a.baseline, med(w, 8), 1e-12);
	T_EQ_INT(a.kind, AQ_ANOM_NONE);   /* back from vacation is not a leak */
	/* a stuck meter for 10 weeks, then a leak: typical use from the weeks before it was stuck */
	series(x, n, 9);
	for (size_t t = o - 70; t < o; t++)
		x[t] = 0;
	for (size_t t = o; t < n; t++)
		x[t] += 0.4;
	T_OK(aq_anomaly_detect(x, n, o, NULL, NULL, NULL, NULL, &a));
	T_EQ_INT(a.kind, AQ_ANOM_LEVEL_UP);
	T_CHECK(a.relative > 0.7);
}

static void test_flat(void)
{
	size_t n = 250, o = 220;
	double x[250];
	series(x, n, 11);
	struct aq_anomaly a;
	/* stuck at zero for the last 20 days, 3 of them missing */
	for (size_t t = 230; t < n; t++)
		x[t] = 0;
	x[233] = x[240] = x[249] = NAN;
	T_OK(aq_anomaly_detect(x, n, o, NULL, NULL, NULL, NULL, &a));
	T_EQ_INT(a.kind, AQ_ANOM_FLAT);
	T_EQ_INT(a.start, 230);
	T_EQ_INT(a.outside, 17);
	T_NEAR(a.magnitude, 0.0, 0);
	/* a leak during a vacation reads the leak, constant: flat at that value */
	for (size_t t = 230; t < n; t++)
		x[t] = 0.125;
	T_OK(aq_anomaly_detect(x, n, o, NULL, NULL, NULL, NULL, &a));
	T_EQ_INT(a.kind, AQ_ANOM_FLAT);
	T_NEAR(a.magnitude, 0.125, 0);
	/* more than half of the last 14 days missing: not judged flat */
	for (size_t t = n - 14; t < n - 6; t++)
		x[t] = NAN;
	T_OK(aq_anomaly_detect(x, n, o, NULL, NULL, NULL, NULL, &a));
	T_CHECK(a.kind != AQ_ANOM_FLAT);
	/* always the same reading (a vacant premise): not flagged */
	for (size_t t = 0; t < n; t++)
		x[t] = 0;
	T_OK(aq_anomaly_detect(x, n, o, NULL, NULL, NULL, NULL, &a));
	T_EQ_INT(a.kind, AQ_ANOM_NONE);
	T_CHECK(isnan(a.baseline));
}

int main(void)
{
	T_RUN(test_leak_found_with_its_evidence);
	T_RUN(test_not_a_leak);
	T_RUN(test_zero_weeks_left_out_of_the_baseline);
	T_RUN(test_flat);
	T_DONE();
}
