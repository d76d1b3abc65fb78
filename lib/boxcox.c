/* boxcox.c — Box–Cox of x + shift, its inverse, bias adjustment, Guerrero's lambda, back-transformed paths and totals. */
#include "boxcox.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define Z80 1.2815515655446004
#define Z95 1.959963984540054

static const char *rule_names[] = { "none", "log1p", "auto" };

const char *aq_bc_rule_name(int rule)
{
	return rule >= 0 && rule < 3 ? rule_names[rule] : "none";
}

int aq_bc_rule_parse(const char *s, int *rule)
{
	for (int i = 0; i < 3; i++)
		if (s && strcmp(s, rule_names[i]) == 0) {
			*rule = i;
			return 0;
		}
	return AQ_EINVAL;
}

struct aq_bc aq_bc_none(void)
{
	return (struct aq_bc){ NAN, 0 };
}

int aq_bc_active(const struct aq_bc *b)
{
	return b && isfinite(b->lambda);
}

const char *aq_bc_str(const struct aq_bc *b, char *buf, size_t len)
{
	if (!aq_bc_active(b))
		snprintf(buf, len, "none");
	else if (b->lambda == 0 && b->shift == 1)
		snprintf(buf, len, "log1p");
	else
		snprintf(buf, len, "boxcox(lambda=%.4g,shift=%.4g)", b->lambda, b->shift);
	return buf;
}

double aq_bc_fwd(const struct aq_bc *b, double x)
{
	if (!aq_bc_active(b))
		return x;
	double w = x + b->shift;
	/* NaN (missing) stays NaN; no transform below 0 (R's takes sign(x) |x|^lambda), nor of 0 for lambda 0 */
	if (!(w > 0) && !(w == 0 && b->lambda > 0))
		return NAN;
	return b->lambda == 0 ? log(w) : (pow(w, b->lambda) - 1) / b->lambda;
}

void aq_bc_apply(const struct aq_bc *b, const double *x, size_t n, double *z)
{
	if (!aq_bc_active(b)) {
		if (z != x)
			memmove(z, x, n * sizeof *z);
		return;
	}
	for (size_t i = 0; i < n; i++)
		z[i] = aq_bc_fwd(b, x[i]);
}

/* g^-1(z) + shift = w, the shifted value (>= 0). */
static double inv_w(const struct aq_bc *b, double z)
{
	if (b->lambda == 0)
		return exp(z);
	double u = b->lambda * z + 1;
	return u > 0 ? pow(u, 1 / b->lambda) : 0; /* below the transform's range: the lowest value */
}

double aq_bc_inv(const struct aq_bc *b, double z)
{
	if (!aq_bc_active(b))
		return z;
	return inv_w(b, z) - b->shift;
}

double aq_bc_dinv(const struct aq_bc *b, double z)
{
	if (!aq_bc_active(b))
		return 1;
	if (b->lambda == 0)
		return exp(z);
	double u = b->lambda * z + 1;
	return u > 0 ? pow(u, 1 / b->lambda - 1) : 0;
}

double aq_bc_median(const struct aq_bc *b, double mu)
{
	return fmax(0, aq_bc_inv(b, mu));
}

double aq_bc_mean(const struct aq_bc *b, double mu, double var)
{
	if (!aq_bc_active(b))
		return fmax(0, mu);
	double w = inv_w(b, mu);
	if (w > 0 && isfinite(var)) /* FPP3 5.6, forecast::InvBoxCox(biasadj = TRUE) */
		w *= 1 + 0.5 * var * (1 - b->lambda) / pow(w, 2 * b->lambda);
	return fmax(0, w - b->shift);
}

/* R's guer.cv: CV of sd_k / mean_k^(1 - lam) over the blocks (precomputed means and sds). */
static double guer_cv(double lam, const double *m, const double *s, int k)
{
	double sum = 0, ss = 0;
	for (int i = 0; i < k; i++) {
		double r = s[i] / pow(m[i], 1 - lam);
		sum += r;
		ss += r * r;
	}
	double mean = sum / k, var = (ss - k * mean * mean) / (k - 1);
	return sqrt(fmax(0, var)) / mean;
}

double aq_bc_guerrero(const double *x, size_t n, int period, double lo, double hi)
{
	if (period < 2)
		period = 2;
	size_t nb = n / (size_t)period;
	if (nb < 3)
		return NAN;
	double *m = malloc(2 * nb * sizeof *m), *s = m ? m + nb : NULL;
	if (!m)
		return NAN;
	int k = 0;
	const double *x0 = x + (n - nb * (size_t)period); /* the last whole blocks, as R */
	for (size_t j = 0; j < nb; j++) {
		double sum = 0, ss = 0;
		int c = 0;
		for (int t = 0; t < period; t++) {
			double v = x0[j * (size_t)period + (size_t)t];
			if (isfinite(v)) {
				sum += v;
				ss += v * v;
				c++;
			}
		}
		if (c < 2 || !(sum > 0))
			continue;
		double mean = sum / c;
		m[k] = mean;
		s[k] = sqrt(fmax(0, (ss - c * mean * mean) / (c - 1)));
		k++;
	}
	double lam = NAN;
	if (k >= 3) {
		/* golden-section search as R's optimize() (Brent without the parabolic steps) */
		const double gr = 0.3819660112501051, tol = 1.220703e-4; /* R: .Machine$double.eps^0.25 */
		double a = lo, bb = hi, x1 = a + gr * (bb - a), x2 = bb - gr * (bb - a);
		double f1 = guer_cv(x1, m, s, k), f2 = guer_cv(x2, m, s, k);
		while (bb - a > tol) {
			if (f1 <= f2) {
				bb = x2;
				x2 = x1;
				f2 = f1;
				x1 = a + gr * (bb - a);
				f1 = guer_cv(x1, m, s, k);
			} else {
				a = x1;
				x1 = x2;
				f1 = f2;
				x2 = bb - gr * (bb - a);
				f2 = guer_cv(x2, m, s, k);
			}
		}
		lam = 0.5 * (a + bb);
		if (!isfinite(f1) && !isfinite(f2))
			lam = NAN;
	}
	free(m);
	return lam;
}

struct aq_bc aq_bc_auto(int rule, const double *x, size_t n, int period)
{
	if (rule == AQ_BC_RULE_LOG1P)
		return (struct aq_bc){ 0, 1 };
	if (rule != AQ_BC_RULE_AUTO)
		return aq_bc_none();
	double sum = 0;
	size_t c = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(x[i])) {
			sum += x[i];
			c++;
		}
	if (!c || !(sum > 0))
		return aq_bc_none();
	struct aq_bc b = { NAN, sum / (double)c / 10 };
	double *w = malloc((n ? n : 1) * sizeof *w);
	if (!w)
		return aq_bc_none();
	for (size_t i = 0; i < n; i++)
		w[i] = isfinite(x[i]) && x[i] + b.shift > 0 ? x[i] + b.shift : NAN;
	b.lambda = aq_bc_guerrero(w, n, period, 0, 1);
	free(w);
	if (!isfinite(b.lambda))
		return aq_bc_none();
	return b;
}

void aq_bc_path(const struct aq_bc *b, const double *mu, const double *sd, int h, int point_mean,
		const struct aq_path *out)
{
	for (int i = 0; i < h; i++) {
		double m = mu[i], s = sd ? sd[i] : NAN;
		out->mean[i] = point_mean ? aq_bc_mean(b, m, s * s) : aq_bc_median(b, m);
		if (!point_mean && !isfinite(s))
			out->mean[i] = aq_bc_median(b, m);
		int ok = isfinite(s);
		out->lo80[i] = ok ? aq_bc_median(b, m - Z80 * s) : NAN;
		out->hi80[i] = ok ? aq_bc_median(b, m + Z80 * s) : NAN;
		out->lo95[i] = ok ? aq_bc_median(b, m - Z95 * s) : NAN;
		out->hi95[i] = ok ? aq_bc_median(b, m + Z95 * s) : NAN;
	}
}

/* psi[0..h) of A(B)^-1 theta(B), A(B) = phi(B) Phi(B^s) (1-B)^d (1-B^s)^D (Box–Jenkins psi weights). */
static int psi_weights(const struct aq_arima_model *m, int h, double *psi, struct aq_err *e)
{
	const struct aq_arima_spec *sp = &m->spec;
	int s = sp->s > 0 ? sp->s : 0;
	int np = sp->p + s * sp->P, nq = sp->q + s * sp->Q, dd = sp->d + s * sp->D, na = np + dd;
	double *buf = calloc((size_t)(np + nq + 2 * (dd + 1) + na + 4), sizeof *buf);
	if (!buf)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate psi weights");
	double *phi = buf, *theta = phi + np + 1, *pl = theta + nq + 1, *a = pl + dd + 1;
	aq_arima_expand(sp->p, sp->q, sp->P, sp->Q, s, m->coef, phi, theta);
	aq_arima_diff_poly(sp->d, sp->D, s, pl);
	/* A(B) = (1 - sum phi_i B^i) * sum_k pl[k] B^k = 1 - sum a_k B^k, a[k-1] = a_k */
	for (int k = 1; k <= na; k++) {
		double c = k <= dd ? pl[k] : 0;
		for (int i = 1; i <= np && i <= k; i++)
			if (k - i <= dd)
				c -= phi[i - 1] * pl[k - i];
		a[k - 1] = -c;
	}
	for (int j = 0; j < h; j++) {
		double v = j == 0 ? 1 : (j <= nq ? theta[j - 1] : 0);
		for (int k = 1; k <= na && k <= j; k++)
			v += a[k - 1] * psi[j - k];
		psi[j] = v;
	}
	free(buf);
	return 0;
}

int aq_bc_total(const struct aq_bc *b, const struct aq_arima_model *m, const double *mu, const double *sd, int from,
		int to, double tot[5], double *sd_equiv, double *median, struct aq_err *e)
{
	if (from < 0 || to <= from)
		return aq_err_set(e, AQ_EINVAL, "bad forecast period [%d, %d)", from, to);
	int L = to - from;
	double *psi = malloc(((size_t)to + 3 * (size_t)L) * sizeof *psi);
	if (!psi)
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate a total of %d days", L);
	double *cv = psi + to, *g = cv + L, *ez = g + L;
	int rc = psi_weights(m, to, psi, e);
	if (rc) {
		free(psi);
		return rc;
	}
	/* cumulative psi^2: the steady-state z-variance of step i is sigma2 * cv[i]; scaled to sd_i^2 */
	double acc = 0;
	for (int i = 0; i < to; i++) {
		acc += psi[i] * psi[i];
		if (i >= from)
			cv[i - from] = acc;
	}
	double M = 0, V = 0;
	for (int i = 0; i < L; i++) {
		double mi = mu[from + i], si = sd[from + i];
		M += aq_bc_mean(b, mi, si * si);
		g[i] = b->lambda == 0 ? exp(mi + 0.5 * si * si) : aq_bc_dinv(b, mi); /* E_i (log) or g'_i */
		ez[i] = si / sqrt(cv[i]); /* per-step scale: sd_i / sqrt(sum psi^2) ~ sqrt(sigma2) */
	}
	for (int i = 0; i < L; i++)
		for (int j = i; j < L; j++) {
			/* C_ij = s_i s_j sum_{k <= from+i} psi_{from+i-k} psi_{from+j-k} */
			int ti = from + i, tj = from + j;
			double c = 0;
			for (int k = 0; k <= ti; k++)
				c += psi[ti - k] * psi[tj - k];
			c *= ez[i] * ez[j];
			double cov = b->lambda == 0 ? g[i] * g[j] * expm1(c) : g[i] * g[j] * c;
			V += i == j ? cov : 2 * cov;
		}
	free(psi);
	/* Fenton–Wilkinson: the shifted total W = M + L c as a lognormal with that mean and variance */
	double W = M + L * b->shift;
	tot[0] = M;
	*sd_equiv = sqrt(fmax(0, V));
	if (median)
		*median = M;
	if (!(W > 0) || !isfinite(V)) {
		for (int k = 1; k < 5; k++)
			tot[k] = NAN;
		return 0;
	}
	double s2 = log1p(fmax(0, V) / (W * W)), s = sqrt(s2), lm = log(W) - 0.5 * s2;
	if (median)
		*median = fmax(0, exp(lm) - L * b->shift);
	double z[4] = { -Z80, Z80, -Z95, Z95 };
	for (int k = 0; k < 4; k++)
		tot[1 + k] = fmax(0, exp(lm + z[k] * s) - L * b->shift);
	return 0;
}
