/* anomaly.c — leaks (persistent level shifts, tested against the account's own history) and flat runs (stuck meters). */
#include "anomaly.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "metrics.h"

#define MIN_WEEKS 4       /* weekly means needed for a baseline */
#define NULL_STEP 2      /* earlier origins every other day: neighbours overlap in all but 2 days */
#define MIN_NULL 20       /* earlier origins needed for the null distribution (40 days) */
#define NULL_SPAN 182    /* earlier origins: the last half year (drift of other seasons would only blur the scale) */
#define RECENT 14        /* the last RECENT earlier origins (28 days) estimate the current drift */

void aq_anomaly_opts_default(struct aq_anomaly_opts *o)
{
	o->days = 28;
	o->flat_days = 14;
	o->base_weeks = 8;
	o->z = 4.5;
	o->min_rel = 0.2;
	o->min_rel_down = 0.5;
	o->share = 0.7;
}

const char *aq_anomaly_kind_name(enum aq_anomaly_kind k)
{
	switch (k) {
	case AQ_ANOM_FLAT: return "flat";
	case AQ_ANOM_LEVEL_UP: return "level_up";
	case AQ_ANOM_LEVEL_DOWN: return "level_down";
	default: return "none";
	}
}

/* Mean of the present days of actual[a..b), NaN when fewer than `need` are present. */
static double block_mean(const double *x, size_t a, size_t b, size_t need)
{
	double s = 0;
	size_t k = 0;
	for (size_t i = a; i < b; i++)
		if (!isnan(x[i])) {
			s += x[i];
			k++;
		}
	return k >= need && k ? s / (double)k : NAN;
}

/* The same from prefix sums ps/pc (present values and counts of [0, i)). */
static double prefix_mean(const double *ps, const double *pc, size_t a, size_t b, size_t need)
{
	double k = pc[b] - pc[a];
	return k >= (double)need && k > 0 ? (ps[b] - ps[a]) / k : NAN;
}

/*
 * Baseline: median of the weekly means (>= 4 present days each) of the
 * latest K weeks [p - 7(j+1), p - 7j) before p. A week of zeros is a
 * vacation or a stuck meter, not typical use: skipped, looking back at most
 * 3K weeks (else the return from a long one would look like a leak). NaN
 * with fewer than MIN_WEEKS. With prefix sums of [h0, ..) when ps is given.
 * w: K scratch.
 */
static double baseline_at(const double *x, const double *ps, const double *pc, size_t h0, size_t p, int K,
			  double *w)
{
	size_t k = 0;
	for (int j = 0; j < 3 * K && (int)k < K && p >= 7 * (size_t)(j + 1); j++) {
		size_t a = p - 7 * (size_t)(j + 1), b = a + 7;
		if (ps && a < h0)
			break;
		double m = ps ? prefix_mean(ps, pc, a - h0, b - h0, 4) : block_mean(x, a, b, 4);
		if (!isnan(m) && m != 0)
			w[k++] = m;
	}
	return k >= MIN_WEEKS ? aq_median_inplace(w, k) : NAN;
}

/* A run of equal present readings covering the last F days (>= F/2 present), after a varied history. */
static int flat_run(const double *x, size_t n, int F, struct aq_anomaly *out)
{
	if (F < 2 || n < (size_t)F)
		return 0;
	double v = NAN;
	int present = 0;
	for (size_t i = n - (size_t)F; i < n; i++) {
		if (isnan(x[i]))
			continue;
		if (isnan(v))
			v = x[i];
		else if (x[i] != v)
			return 0;
		present++;
	}
	if (2 * present < F)
		return 0;
	/* extend back over equal or missing days; the run starts at its first equal reading */
	size_t start = n - (size_t)F, run = (size_t)present;
	while (start > 0 && (isnan(x[start - 1]) || x[start - 1] == v)) {
		start--;
		run += !isnan(x[start]);
	}
	while (isnan(x[start]))
		start++;
	/* the 28 days before the run held at least two different readings */
	size_t from = start > 28 ? start - 28 : 0;
	double first = NAN;
	int varied = 0;
	for (size_t i = from; i < start && !varied; i++) {
		if (isnan(x[i]))
			continue;
		if (isnan(first))
			first = x[i];
		else
			varied = x[i] != first;
	}
	if (!varied)
		return 0;
	out->kind = AQ_ANOM_FLAT;
	out->start = (int)start;
	out->examined = F;
	out->outside = (int)run;
	out->magnitude = v;
	return 1;
}

/* Median and 1.4826 MAD of s[0..k) (reordered); t: k scratch. */
static void robust(double *s, size_t k, double *t, double *med, double *sc)
{
	*med = aq_median_inplace(s, k);
	for (size_t i = 0; i < k; i++)
		t[i] = fabs(s[i] - *med);
	*sc = 1.4826 * aq_median_inplace(t, k);
}

int aq_anomaly_detect(const double *x, size_t n, size_t origin, const double *fmean, const double *lo95,
		      const double *hi95, const struct aq_anomaly_opts *o, struct aq_anomaly *out)
{
	struct aq_anomaly_opts def;
	if (!o) {
		aq_anomaly_opts_default(&def);
		o = &def;
	}
	memset(out, 0, sizeof(*out));
	out->magnitude = out->relative = out->z = out->baseline = NAN;
	int K = o->base_weeks > 0 ? o->base_weeks : 8;
	if (origin > n || n == 0)
		return 0;
	double wk[64];
	if (K > 64)
		K = 64;
	double B = baseline_at(x, NULL, NULL, 0, origin, K, wk);
	out->baseline = B;
	if (flat_run(x, n, o->flat_days, out)) {
		out->relative = B > 0 ? out->magnitude / B : NAN;
		return 0;
	}
	size_t nw = n - origin;
	if (nw < 7)
		return 0;
	int nL = o->days / 7;
	if ((size_t)nL * 7 > nw)
		nL = (int)(nw / 7);
	if (nL > 8)
		nL = 8;
	if (nL < 1)
		return 0;
	/*
	 * Cheap checks first, per window [n-L, n) against the baseline just
	 * before it, B_L: a shift large against typical use, persistent (the
	 * last 7 days shifted by at least half of d, and not back by half of d
	 * from the week before: a repaired leak is not reported), most days on
	 * its side of the served point forecast (one spike cannot make a
	 * shift). The null is computed only for windows that pass.
	 */
	double d[8], bl[8], last7 = block_mean(x, n - 7, n, 4), prev7 = n >= 14 ? block_mean(x, n - 14, n - 7, 4) : NAN;
	int pass[8] = {0}, cand = 0;
	for (int l = 0; l < nL; l++) {
		size_t L = 7 * (size_t)(l + 1);
		bl[l] = baseline_at(x, NULL, NULL, 0, n - L, K, wk);
		d[l] = block_mean(x, n - L, n, L / 2 + 1) - bl[l];
		double ad = fabs(d[l]), sg = d[l] > 0 ? 1 : -1;
		if (!isfinite(d[l]) || ad == 0 || ad < (d[l] > 0 ? o->min_rel : o->min_rel_down) * bl[l])
			continue;
		if (!((last7 - bl[l]) * sg >= 0.5 * ad) || (!isnan(prev7) && (last7 - prev7) * sg < -0.5 * ad))
			continue;
		if (fmean) {
			int side = 0, m = 0;
			for (size_t i = n - L; i < n; i++) {
				if (i < origin || isnan(x[i]) || !isfinite(fmean[i - origin]))
					continue;
				m++;
				side += d[l] > 0 ? x[i] > fmean[i - origin] : x[i] < fmean[i - origin];
			}
			if (m && side < o->share * m)
				continue;
		}
		pass[l] = 1;
		cand = 1;
	}
	if (!cand)
		return 0;
	/* the null: S_L(p) = mean[p, p+L) - B(p) at earlier origins p whose windows end by origin */
	size_t pmin0 = 7 * (size_t)MIN_WEEKS;
	if (origin < pmin0 + 7 + NULL_STEP * MIN_NULL)
		return 0;
	size_t pmax = origin - 7, pmin = pmax > NULL_SPAN + 21 + pmin0 ? pmax - NULL_SPAN - 21 : pmin0;
	size_t np = pmax - pmin + 1, h0 = pmin > 21 * (size_t)K ? pmin - 21 * (size_t)K : 0;
	/* prefix sums over [h0, origin): the earliest baseline week starts 3K weeks before pmin */
	size_t nh = origin - h0;
	double *buf = malloc((2 * (nh + 1) + 3 * np) * sizeof(*buf));
	if (!buf)
		return AQ_ENOMEM;
	double *ps = buf, *pc = ps + nh + 1, *bp = pc + nh + 1, *s = bp + np, *t = s + np;
	ps[0] = pc[0] = 0;
	for (size_t i = 0; i < nh; i++) {
		int ok = !isnan(x[h0 + i]);
		ps[i + 1] = ps[i] + (ok ? x[h0 + i] : 0);
		pc[i + 1] = pc[i] + ok;
	}
	for (size_t p = pmin; p <= pmax; p++)
		bp[p - pmin] = -INFINITY;   /* computed when first needed */
	int best = -1;
	double bestz = 0, maxz = 0;
	for (int l = 0; l < nL; l++) {
		if (!pass[l])
			continue;
		size_t L = 7 * (size_t)(l + 1), k = 0, hi = origin - L, lo = hi > NULL_SPAN + pmin ? hi - NULL_SPAN : pmin;
		for (size_t p = lo + (hi - lo) % NULL_STEP; p <= hi; p += NULL_STEP) {
			if (bp[p - pmin] == -INFINITY)
				bp[p - pmin] = baseline_at(x, ps, pc, h0, p, K, wk);
			double c = prefix_mean(ps, pc, p - h0, p + L - h0, L / 2 + 1), b = bp[p - pmin];
			if (!isnan(c) && !isnan(b))
				s[k++] = c - b;
		}
		if (k < MIN_NULL)
			continue;
		/*
		 * Centre: the current drift, estimated by the median of the RECENT
		 * latest S_L(p) (seasonal rise or fall); it may explain a shift but
		 * never strengthens one (opposite sign: 0), and being an estimate of
		 * a moving drift it widens the scale. Scale: MAD over the span.
		 */
		double c, sc, m0;
		size_t nr = k < RECENT ? k : RECENT;
		memcpy(t, s + k - nr, nr * sizeof(*t));
		c = aq_median_inplace(t, nr);
		robust(s, k, t, &m0, &sc);
		if (c * d[l] < 0)
			c = 0;
		sc = fmax(sqrt(sc * sc + c * c), fmax(0.01 * bl[l], 1e-3));
		double z = (d[l] - c) / sc;
		if (fabs(z) > fabs(maxz))
			maxz = z;
		if (fabs(z) >= o->z && z * d[l] > 0 && fabs(z) > fabs(bestz)) {
			bestz = z;
			best = l;
		}
	}
	free(buf);
	out->z = maxz != 0 ? maxz : NAN;
	if (best < 0)
		return 0;
	size_t L = 7 * (size_t)(best + 1);
	out->kind = d[best] > 0 ? AQ_ANOM_LEVEL_UP : AQ_ANOM_LEVEL_DOWN;
	out->start = (int)(n - L);
	out->magnitude = d[best];
	out->baseline = bl[best];
	out->relative = bl[best] > 0 ? d[best] / bl[best] : NAN;
	out->z = bestz;
	for (size_t i = n - L; i < n; i++) {
		if (isnan(x[i]))
			continue;
		out->examined++;
		if (i >= origin && lo95 && hi95)
			out->outside += d[best] > 0 ? x[i] > hi95[i - origin] : x[i] < lo95[i - origin];
	}
	return 0;
}
