/* kalman.c — Kalman filter and forecasts for ARIMA models in Harvey's state-space form. */
#include "kalman.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

void aq_kalman_arima_dims(struct aq_kalman_arima *m)
{
	m->r = m->np > m->nq + 1 ? m->np : m->nq + 1;
	m->rd = m->r + m->dd;
}

size_t aq_kalman_q0_work(int np, int nq, int r)
{
	(void)nq;
	return (size_t)(np + 1) * (np + 1) + (size_t)(np + 1) + 2 * (size_t)(r + 2) + 8;
}

/* R[i] of the disturbance vector: 1, theta_1..theta_nq, 0... */
static inline double rcoef(int i, int nq, const double *theta)
{
	return i == 0 ? 1.0 : (i - 1 < nq ? theta[i - 1] : 0.0);
}

int aq_kalman_q0(int np, const double *phi, int nq, const double *theta, int r, double *P, int ld, double *work)
{
	int n1 = np + 1;
	double *A = work;                /* (np+1)^2, row-major */
	double *g = A + (size_t)n1 * n1; /* gamma(0..r), rhs first */
	double *psi = g + (r + 2);       /* psi(0..r) */
	(void)0;

	/* psi-weights: psi_0 = 1, psi_j = theta_j + sum_i phi_i psi_{j-i}. */
	for (int j = 0; j <= r; j++) {
		double v = j == 0 ? 1.0 : (j <= nq ? theta[j - 1] : 0.0);
		for (int i = 1; i <= np && i <= j; i++)
			v += phi[i - 1] * psi[j - i];
		psi[j] = v;
	}
	/* c_k = sum_{j=k}^{nq} theta_j psi_{j-k} (theta_0 = 1): the MA side of
	 * gamma(k) - sum_i phi_i gamma(k-i) = c_k (Brockwell & Davis 3.3.8). */
	for (int k = 0; k <= r; k++) {
		double c = 0;
		for (int j = k; j <= nq; j++)
			c += rcoef(j, nq, theta) * psi[j - k];
		g[k] = c;
	}
	if (np > 0) {
		/* Solve for gamma(0..np): row k: gamma(k) - sum_i phi_i gamma(|k-i|) = c_k. */
		memset(A, 0, sizeof(double) * (size_t)n1 * n1);
		for (int k = 0; k <= np; k++) {
			A[k * n1 + k] += 1.0;
			for (int i = 1; i <= np; i++)
				A[k * n1 + abs(k - i)] -= phi[i - 1];
		}
		/* Gaussian elimination with partial pivoting on the rhs g[0..np]. */
		for (int c = 0; c < n1; c++) {
			int piv = c;
			for (int i = c + 1; i < n1; i++)
				if (fabs(A[i * n1 + c]) > fabs(A[piv * n1 + c]))
					piv = i;
			if (!(fabs(A[piv * n1 + c]) > 1e-13))
				return -1;
			if (piv != c) {
				for (int j = 0; j < n1; j++) {
					double t = A[c * n1 + j];
					A[c * n1 + j] = A[piv * n1 + j];
					A[piv * n1 + j] = t;
				}
				double t = g[c];
				g[c] = g[piv];
				g[piv] = t;
			}
			for (int i = c + 1; i < n1; i++) {
				double f = A[i * n1 + c] / A[c * n1 + c];
				if (f == 0.0)
					continue;
				for (int j = c; j < n1; j++)
					A[i * n1 + j] -= f * A[c * n1 + j];
				g[i] -= f * g[c];
			}
		}
		for (int i = n1 - 1; i >= 0; i--) {
			double v = g[i];
			for (int j = i + 1; j < n1; j++)
				v -= A[i * n1 + j] * g[j];
			g[i] = v / A[i * n1 + i];
		}
		/* Higher lags by the AR recursion (c_k as computed above). */
		for (int k = np + 1; k <= r; k++) {
			double c = 0;
			for (int j = k; j <= nq; j++)
				c += rcoef(j, nq, theta) * psi[j - k];
			double v = c;
			for (int i = 1; i <= np; i++)
				v += phi[i - 1] * g[k - i];
			g[k] = v;
		}
	}
	if (!(g[0] > 0) || !isfinite(g[0]))
		return -1;

#define PH(i) ((i) < np ? phi[i] : 0.0)
#define PE(i, j) (((i) < r && (j) < r) ? P[(i) + (size_t)ld * (j)] : 0.0)
	/* First row: P[0][k] = Cov(y_t, a_t[k]), a_t[k] = sum_{m>=k} phi_m y_{t-1-m+k} + R_m e_{t-m+k}. */
	for (int k = 0; k < r; k++) {
		double v = 0;
		for (int m = k; m < r; m++)
			v += PH(m) * g[m - k + 1] + rcoef(m, nq, theta) * psi[m - k];
		P[(size_t)ld * k] = v;
	}
	P[0] = g[0];
	/* The rest from the Lyapunov recursion, bottom-right to top-left. */
	for (int i = r - 1; i >= 1; i--)
		for (int j = r - 1; j >= i; j--) {
			double v = PH(i) * PH(j) * P[0] + PH(i) * PE(0, j + 1) + PH(j) * PE(0, i + 1) +
				   PE(i + 1, j + 1) + rcoef(i, nq, theta) * rcoef(j, nq, theta);
			P[i + (size_t)ld * j] = v;
		}
	for (int j = 0; j < r; j++)
		for (int i = j + 1; i < r; i++) {
			if (j == 0)
				P[i] = P[(size_t)ld * i];
			else
				P[i + (size_t)ld * j] = P[j + (size_t)ld * i];
		}
#undef PH
#undef PE
	for (int j = 0; j < r; j++)
		if (!isfinite(P[j + (size_t)ld * j]) || P[j + (size_t)ld * j] < 0)
			return -1;
	return 0;
}

/* y = T x with x read at stride sx, y written at stride sy (no aliasing). */
static inline void apply_T(const struct aq_kalman_arima *m, const double *x, size_t sx, double *y, size_t sy)
{
	int r = m->r, np = m->np, dd = m->dd;
	double x0 = x[0];
	for (int i = 0; i < r - 1; i++)
		y[sy * i] = (i < np ? m->phi[i] * x0 : 0.0) + x[sx * (i + 1)];
	y[sy * (r - 1)] = r - 1 < np ? m->phi[r - 1] * x0 : 0.0;
	if (dd > 0) {
		double v = x0;
		for (int k = 0; k < dd; k++)
			v += m->delta[k] * x[sx * (r + k)];
		y[sy * r] = v;
		for (int k = 1; k < dd; k++)
			y[sy * (r + k)] = x[sx * (r + k - 1)];
	}
}

/*
 * Pnew = T P T' + R R' by contiguous column operations (column-major):
 *   C = P T':  C[:,j] = phi_j P[:,0] + P[:,j+1] (j < r; P[:,r] read as 0),
 *              C[:,r] = P[:,0] + sum_k delta_k P[:,r+k],  C[:,r+k] = P[:,r+k-1];
 *   Pnew[:,j] = T C[:,j] (the same rules applied down each column).
 * Zero delta_k are skipped (seasonal differencing is sparse). B: rd x rd scratch.
 */
static void predict_cov(const struct aq_kalman_arima *m, const double *P, double *Pnew, double *B)
{
	int rd = m->rd, r = m->r, np = m->np, nq = m->nq, dd = m->dd;
	size_t ld = (size_t)rd;
	const double *P0 = P;
	for (int j = 0; j < r; j++) {
		double *Cj = B + ld * j, ph = j < np ? m->phi[j] : 0.0;
		if (j + 1 < r) {
			const double *Pn = P + ld * (j + 1);
			for (int i = 0; i < rd; i++)
				Cj[i] = ph * P0[i] + Pn[i];
		} else {
			for (int i = 0; i < rd; i++)
				Cj[i] = ph * P0[i];
		}
	}
	if (dd > 0) {
		double *Cr = B + ld * r;
		memcpy(Cr, P0, sizeof(double) * rd);
		for (int k = 0; k < dd; k++) {
			double dk = m->delta[k];
			if (dk == 0.0)
				continue;
			const double *Pk = P + ld * (r + k);
			for (int i = 0; i < rd; i++)
				Cr[i] += dk * Pk[i];
		}
		for (int k = 1; k < dd; k++)
			memcpy(B + ld * (r + k), P + ld * (r + k - 1), sizeof(double) * rd);
	}
	/* Pnew[:,j] = T C[:,j] */
	for (int j = 0; j < rd; j++) {
		const double *Cj = B + ld * j;
		double *Pj = Pnew + ld * j, c0 = Cj[0];
		int lim = np < r - 1 ? np : r - 1;
		for (int i = 0; i < lim; i++)
			Pj[i] = m->phi[i] * c0 + Cj[i + 1];
		for (int i = lim; i < r - 1; i++)
			Pj[i] = Cj[i + 1];
		Pj[r - 1] = r - 1 < np ? m->phi[r - 1] * c0 : 0.0;
		if (dd > 0) {
			double v = c0;
			for (int k = 0; k < dd; k++)
				if (m->delta[k] != 0.0)
					v += m->delta[k] * Cj[r + k];
			Pj[r] = v;
			for (int k = 1; k < dd; k++)
				Pj[r + k] = Cj[r + k - 1];
		}
	}
	for (int jj = 0; jj <= nq; jj++) {
		double rj = rcoef(jj, nq, m->theta);
		double *Pj = Pnew + ld * jj;
		for (int i = 0; i <= nq; i++)
			Pj[i] += rcoef(i, nq, m->theta) * rj;
	}
}

/* Z x = x[0] + sum delta_k x[r+k] (x at stride s). */
static inline double zdot(const struct aq_kalman_arima *m, const double *x, size_t s)
{
	double v = x[0];
	for (int k = 0; k < m->dd; k++)
		v += m->delta[k] * x[s * (m->r + k)];
	return v;
}

size_t aq_kalman_filter_work(int rd)
{
	return 3 * (size_t)rd * rd + 3 * (size_t)rd;
}

void aq_kalman_filter(const struct aq_kalman_arima *m, const double *y, size_t n, double *a, double *P,
		      int first_predicted, double steady_tol, double *resid, struct aq_kalman_stats *st, double *work)
{
	int rd = m->rd;
	size_t rr = (size_t)rd * rd;
	double *Pnew = work, *B = Pnew + rr, *Pprev = B + rr, *anew = Pprev + rr, *M = anew + rd, *Mprev = M + rd;
	double ssq = 0, sumlog = 0, gain = 1, gprev = -1;
	int nu = 0, steady = 0, prev_obs = 0, armed = 0;
	st->steady_at = -1;

	for (size_t l = 0; l < n; l++) {
		if (l == 0 && first_predicted) {
			memcpy(anew, a, sizeof(double) * rd);
			memcpy(Pnew, P, sizeof(double) * rr);
		} else {
			apply_T(m, a, 1, anew, 1);
			if (!steady) {
				/* full comparison only once the gain has settled ("armed") */
				if (prev_obs && armed)
					memcpy(Pprev, Pnew, sizeof(double) * rr);
				predict_cov(m, P, Pnew, B);
			}
		}
		double yl = y[l];
		if (isnan(yl)) {
			/* Prediction only; a steady state is left (the covariance grows). */
			memcpy(a, anew, sizeof(double) * rd);
			memcpy(P, Pnew, sizeof(double) * rr);
			steady = 0;
			prev_obs = 0;
			armed = 0;
			gprev = -1;
			if (resid)
				resid[l] = NAN;
			continue;
		}
		double res = yl - zdot(m, anew, 1);
		if (!steady) {
			/* M = Pnew Z', gain F = Z Pnew Z' (h = 0). */
			/* M = Pnew Z' = Pnew[:,0] + sum_k delta_k Pnew[:,r+k] (columns) */
			memcpy(M, Pnew, sizeof(double) * rd);
			for (int k = 0; k < m->dd; k++) {
				double dk = m->delta[k];
				if (dk == 0.0)
					continue;
				const double *Pk = Pnew + (size_t)rd * (m->r + k);
				for (int i = 0; i < rd; i++)
					M[i] += dk * Pk[i];
			}
			gain = zdot(m, M, 1);
		}
		if (gain < 1e4) {
			nu++;
			ssq += res * res / gain;
			sumlog += log(gain);
		}
		if (resid)
			resid[l] = res / sqrt(gain);
		double f = res / gain;
		for (int i = 0; i < rd; i++)
			a[i] = anew[i] + M[i] * f;
		if (steady)
			continue;
		for (int j = 0; j < rd; j++) {
			double mj = M[j] / gain;
			double *Pj = P + (size_t)rd * j;
			const double *Pnj = Pnew + (size_t)rd * j;
			for (int i = 0; i < rd; i++)
				Pj[i] = Pnj[i] - M[i] * mj;
		}
		if (steady_tol > 0 && prev_obs && armed && l > 0 && gain < 1e4) {
			/* Steady state: the predicted covariance stopped moving. */
			double dmax = 0, lim = steady_tol * gain;
			for (size_t k = 0; k < rr && dmax <= lim; k++) {
				double dv = fabs(Pnew[k] - Pprev[k]);
				if (dv > dmax)
					dmax = dv;
			}
			if (dmax <= lim) {
				steady = 1;
				if (st->steady_at < 0)
					st->steady_at = (int)l;
			}
		}
		if (steady_tol > 0 && !steady && gain < 1e4) {
			/* Cheap pre-check on F and M = Pnew Z' (O(rd)) arms the full one. */
			double dmax = fabs(gain - gprev);
			for (int i = 0; i < rd; i++) {
				double dv = fabs(M[i] - Mprev[i]);
				dmax = dv > dmax ? dv : dmax;
				Mprev[i] = M[i];
			}
			armed = gprev >= 0 && dmax <= steady_tol * gain;
			gprev = gain;
		}
		prev_obs = 1;
	}
	st->ssq = ssq;
	st->sumlog = sumlog;
	st->nu = nu;
}

/*
 * sum_t log F_t as the log of a running product, renormalised when it leaves
 * [1e-200, 1e200]: one log() per ~100 steps instead of one per step. Once the
 * filter is steady F no longer changes: the steps are counted and n log F
 * added at the end.
 */
struct logdet {
	double sum, prod;
	size_t nsteady;
};

static inline void logdet_add(struct logdet *d, double F)
{
	d->prod *= F;
	if (!(d->prod < 1e200 && d->prod > 1e-200)) {
		d->sum += log(d->prod);
		d->prod = 1.0;
	}
}

static inline double logdet_total(const struct logdet *d, double F)
{
	return d->sum + log(d->prod) + (double)d->nsteady * log(F);
}

/*
 * One fused Chandrasekhar step (Morf, Sidhu & Kailath 1974) for the scalar
 * observation y_t = a_t[0] of the ARMA block, in place:
 *   K += m (ZY) T Y,  Y = T Y - K_{t+1} (ZY) / F_{t+1},
 *   F_{t+1} = F + m (ZY)^2,  m += (m ZY)^2 / F.
 * Returns 1 when the covariance increment m |Y|^2 falls below steady_tol * F:
 * the gain has converged and callers freeze it.
 */
static inline __attribute__((always_inline)) int chandra_step(int r, const double *restrict ph, double *restrict K,
							      double *restrict Y, double *mm, double *F, double *iF,
							      double steady_tol)
{
	double zy = Y[0], m = *mm, Fn = *F + m * zy * zy, g = m * zy, iFn = 1.0 / Fn, h = zy * iFn, ymax = 0;

	int i = 0;
	double ymax1 = 0;
	for (; i + 1 < r; i += 2) { /* in pairs, as the state update (Y[r] = 0 pads) */
		double ty0 = ph[i] * zy + Y[i + 1], ty1 = ph[i + 1] * zy + Y[i + 2];
		double k0 = K[i] + g * ty0, k1 = K[i + 1] + g * ty1;
		double yn0 = ty0 - k0 * h, yn1 = ty1 - k1 * h;
		double ay0 = fabs(yn0), ay1 = fabs(yn1);

		K[i] = k0;
		K[i + 1] = k1;
		Y[i] = yn0;
		Y[i + 1] = yn1;
		ymax = ay0 > ymax ? ay0 : ymax;
		ymax1 = ay1 > ymax1 ? ay1 : ymax1;
	}
	for (; i < r; i++) {
		double ty = ph[i] * zy + Y[i + 1];
		double k = K[i] + g * ty;
		double yn = ty - k * h;
		double ay = fabs(yn);

		K[i] = k;
		Y[i] = yn;
		ymax = ay > ymax ? ay : ymax;
	}
	ymax = ymax1 > ymax ? ymax1 : ymax;
	*mm = m + g * g * *iF;
	*F = Fn;
	*iF = iFn;
	return steady_tol > 0 && fabs(*mm) * ymax * ymax <= steady_tol * Fn;
}

/*
 * The recursion's start at t = 1 (a = 0, P_1 = P0): F_1 = P0[0][0],
 * K_1 = T P0 e_0 = Y_1, m_1 = -1/F_1; ph is phi zero-padded to r + 1 so that
 * T x is one branch-free loop, (T x)[i] = ph[i] x[0] + x[i+1] with x[r] = 0.
 */
static void chandra_start(const struct aq_kalman_arima *m, const double *P0, double *ph, double *K, double *Y,
			  double *F, double *mm, double *iF)
{
	int r = m->r;
	for (int i = 0; i <= r; i++)
		ph[i] = i < m->np ? m->phi[i] : 0.0;
	*F = P0[0];
	for (int i = 0; i < r; i++) {
		K[i] = ph[i] * P0[0] + (i + 1 < r ? P0[i + 1] : 0.0);
		Y[i] = K[i];
	}
	Y[r] = 0.0;
	*mm = -1.0 / *F;
	*iF = 1.0 / *F;
}

/*
 * After the states of step t are updated: F_t into the log determinant and one
 * Chandrasekhar step, until the gain is steady (then F is frozen and counted).
 */
static inline __attribute__((always_inline)) void chandra_advance(int r, const double *restrict ph, double *restrict K,
								  double *restrict Y, double *mm, double *F, double *iF,
								  double steady_tol, struct logdet *ld, int *steady,
								  size_t t, struct aq_kalman_stats *st)
{
	if (*steady) {
		ld->nsteady++;
		return;
	}
	logdet_add(ld, *F);
	if (chandra_step(r, ph, K, Y, mm, F, iF, steady_tol)) {
		*steady = 1;
		st->steady_at = (int)t;
	}
}

size_t aq_kalman_chandra_work(int r)
{
	return 5 * (size_t)r + 8;
}

void aq_kalman_chandra(const struct aq_kalman_arima *m, const double *y, size_t n, const double *P0, double steady_tol,
		       struct aq_kalman_stats *st, double *work)
{
	int r = m->r;
	/* ph: phi zero-padded to r + 1 (chandra_start) */
	double *restrict a = work, *restrict K = a + (r + 1), *restrict Y = K + r, *restrict ph = Y + (r + 1);
	double ssq = 0;
	struct logdet ld = { 0.0, 1.0, 0 };
	int nu = 0, steady = 0;
	st->steady_at = -1;
	memset(a, 0, sizeof(double) * (r + 1));
	double F, mm, iF;
	chandra_start(m, P0, ph, K, Y, &F, &mm, &iF);
	for (size_t t = 0; t < n; t++) {
		double v = y[t] - a[0];
		nu++;
		ssq += v * v * iF;
		/* a_{t+1} = T a_t + K_t v_t / F_t, in place (a[i+1] is read before it is
		 * written); two at a time so the compiler can pair them (a[r] = 0 pads) */
		double f = v * iF, a0 = a[0];
		int i = 0;
		for (; i + 1 < r; i += 2) {
			double n0 = ph[i] * a0 + a[i + 1] + K[i] * f;
			double n1 = ph[i + 1] * a0 + a[i + 2] + K[i + 1] * f;
			a[i] = n0;
			a[i + 1] = n1;
		}
		for (; i < r; i++)
			a[i] = ph[i] * a0 + a[i + 1] + K[i] * f;
		chandra_advance(r, ph, K, Y, &mm, &F, &iF, steady_tol, &ld, &steady, t, st);
	}
	st->ssq = ssq;
	st->sumlog = logdet_total(&ld, F);
	st->nu = nu;
}

/*
 * GLS concentration of nreg = q - 1 diffuse regression effects from the
 * accumulated cross products G (q x q, row-major, lower triangle; index 0 is
 * y): Cholesky A = L L' of the regressor block, z = L^-1 b,
 * ssq = G00 - z'z, sumlog += log det A, nu = n - nreg. G is overwritten.
 * Returns -1 if A is (numerically) singular.
 */
static int concentrate(double *G, int q, double *vv, double sumlog, size_t n, int nreg, struct aq_kalman_stats *st)
{
	double ssq = G[0], logdet = 0;
	double *L = G; /* in place on the lower triangle of the regressor block */
	for (int j = 1; j < q; j++) {
		double dsum = L[j * q + j];
		for (int k = 1; k < j; k++)
			dsum -= L[j * q + k] * L[j * q + k];
		if (!(dsum > 1e-12))
			return -1;
		double ljj = sqrt(dsum);
		L[j * q + j] = ljj;
		logdet += 2 * log(ljj);
		for (int i = j + 1; i < q; i++) {
			double v = L[i * q + j];
			for (int k = 1; k < j; k++)
				v -= L[i * q + k] * L[j * q + k];
			L[i * q + j] = v / ljj;
		}
	}
	/* forward solve L z = b, ssq -= z'z */
	for (int i = 1; i < q; i++) {
		double v = G[i * q + 0];
		for (int k = 1; k < i; k++)
			v -= L[i * q + k] * vv[k];
		vv[i] = v / L[i * q + i];
		ssq -= vv[i] * vv[i];
	}
	st->ssq = ssq;
	st->sumlog = sumlog + logdet;
	st->nu = (int)n - nreg;
	return 0;
}

size_t aq_kalman_chandra_reg_work(int r, int nreg)
{
	return (size_t)(r + 1) * (nreg + 1) + 4 * (size_t)(r + 1) + 3 * (size_t)(nreg + 1) * (nreg + 1) + 8;
}

int aq_kalman_chandra_reg(const struct aq_kalman_arima *m, const double *y, size_t n, const double *X, size_t ldx,
			  int nreg, const double *P0, double steady_tol, struct aq_kalman_stats *st, double *work)
{
	int r = m->r, q = nreg + 1; /* series 0 is y, 1..nreg the regressors */
	size_t r1 = (size_t)r + 1;
	double *restrict A = work; /* states, (r+1) x q */
	double *restrict K = A + r1 * q, *restrict Y = K + r1, *restrict ph = Y + r1;
	double *restrict G = ph + r1;            /* q x q cross products / F */
	double *restrict vv = G + (size_t)q * q; /* innovations of the q series */
	struct logdet ld = { 0.0, 1.0, 0 };
	int steady = 0;
	st->steady_at = -1;
	memset(A, 0, sizeof(double) * r1 * q);
	memset(G, 0, sizeof(double) * q * q);
	double F, mm, iF;
	chandra_start(m, P0, ph, K, Y, &F, &mm, &iF);
	for (size_t t = 0; t < n; t++) {
		for (int c = 0; c < q; c++) {
			double *a = A + r1 * c;
			double obs = c == 0 ? y[t] : X[ldx * (c - 1) + t];
			double v = obs - a[0], f = v * iF, a0 = a[0];
			vv[c] = v;
			for (int i = 0; i < r; i++)
				a[i] = ph[i] * a0 + a[i + 1] + K[i] * f;
		}
		for (int c = 0; c < q; c++)
			for (int d = 0; d <= c; d++)
				G[c * q + d] += vv[c] * vv[d] * iF;
		chandra_advance(r, ph, K, Y, &mm, &F, &iF, steady_tol, &ld, &steady, t, st);
	}
	return concentrate(G, q, vv, logdet_total(&ld, F), n, nreg, st);
}

/*
 * Impulse regressors generated on the fly (see kalman.h): column j is
 * x_j[t] = pat[t - pos_j] for 0 <= t - pos_j < npat, else 0. Before its
 * first non-zero value a column's filtered state and innovations are exactly
 * zero (zero initial state, zero input, linear recursions), so it is
 * skipped until then: with pos sorted, the first na columns are "active" and
 * a step costs O(r na + na^2) instead of O(r nreg + nreg^2). The algebra is
 * that of aq_kalman_chandra_reg (same gains, same GLS concentration).
 */
#define AO_BLOCK 8

/* G[c][d] += sum_b W[c][b] W[d][b] (d <= c < nc), then W's first nc rows zeroed. */
static void ao_flush(double *restrict G, size_t q, double *restrict W, int nc)
{
	for (int c = 0; c < nc; c++) {
		const double *Wc = W + (size_t)c * AO_BLOCK;
		double *Gc = G + (size_t)c * q;
		for (int d = 0; d <= c; d++) {
			const double *Wd = W + (size_t)d * AO_BLOCK;
			double sum = 0;
			for (int b = 0; b < AO_BLOCK; b++)
				sum += Wc[b] * Wd[b];
			Gc[d] += sum;
		}
	}
	memset(W, 0, sizeof(double) * (size_t)nc * AO_BLOCK);
}

size_t aq_kalman_chandra_ao_work(int r, int nreg)
{
	size_t q = (size_t)nreg + 1;
	return (size_t)(r + 1) * q + 4 * (size_t)(r + 1) + q * q + (3 + AO_BLOCK) * q + 8;
}

int aq_kalman_chandra_ao(const struct aq_kalman_arima *m, const double *y, size_t n, const ptrdiff_t *pos, int nreg,
			 const double *pat, int npat, const double *P0, double steady_tol, struct aq_kalman_stats *st,
			 double *work)
{
	int r = m->r, q = nreg + 1;
	size_t r1 = (size_t)r + 1, qq = (size_t)q;
	/* States row-major by series, A[i q + c] = a_c[i] (c = 0 is y), so each
	 * step's updates run contiguously across the active series. Row r is 0. */
	double *restrict A = work;
	double *restrict K = A + r1 * qq, *restrict Y = K + r1, *restrict ph = Y + r1;
	double *restrict G = ph + r1;      /* q x q cross products / F, lower triangle */
	double *restrict vv = G + qq * qq; /* innovations of the q series */
	double *restrict a0 = vv + qq, *restrict fv = a0 + qq;
	double *restrict W = fv + qq; /* AO_BLOCK scaled innovations per series, W[c B + b] */
	struct logdet ld = { 0.0, 1.0, 0 };
	int steady = 0, na = 0; /* active regressor columns: 1..na */
	st->steady_at = -1;
	for (int j = 1; j < nreg; j++)
		if (pos[j] < pos[j - 1])
			return -1;
	memset(A, 0, sizeof(double) * r1 * qq);
	memset(G, 0, sizeof(double) * qq * qq);
	memset(W, 0, sizeof(double) * qq * AO_BLOCK);
	int nb = 0; /* steps held in W */
	double F, mm, iF;
	chandra_start(m, P0, ph, K, Y, &F, &mm, &iF);
	for (size_t t = 0; t < n; t++) {
		while (na < nreg && pos[na] <= (ptrdiff_t)t)
			na++;
		int nc = na + 1;
		vv[0] = y[t];
		for (int c = 1; c < nc; c++) {
			ptrdiff_t u = (ptrdiff_t)t - pos[c - 1];
			vv[c] = u >= 0 && u < npat ? pat[u] : 0.0;
		}
		for (int c = 0; c < nc; c++) {
			a0[c] = A[c];
			vv[c] -= a0[c];
			fv[c] = vv[c] * iF;
		}
		/* a_{t+1} = T a_t + K_t v_t / F_t for every active series */
		for (int i = 0; i < r; i++) {
			double *restrict Ai = A + qq * i;
			const double *restrict An = A + qq * (i + 1);
			double p = ph[i], k = K[i];
			for (int c = 0; c < nc; c++)
				Ai[c] = p * a0[c] + An[c] + k * fv[c];
		}
		/* G += w w' with w = v / sqrt(F), AO_BLOCK steps at a time */
		double sq = sqrt(iF);
		for (int c = 0; c < nc; c++)
			W[(size_t)c * AO_BLOCK + nb] = vv[c] * sq;
		if (++nb == AO_BLOCK || t + 1 == n) {
			ao_flush(G, qq, W, nc);
			nb = 0;
		}
		chandra_advance(r, ph, K, Y, &mm, &F, &iF, steady_tol, &ld, &steady, t, st);
	}
	return concentrate(G, q, vv, logdet_total(&ld, F), n, nreg, st);
}

size_t aq_kalman_fore_work(int rd)
{
	return 3 * (size_t)rd * rd + 3 * (size_t)rd;
}

/*
 * Forecast recursions a <- T a, P <- T P T' + V (R's KalmanForecast).
 * Variance of a sum of forecasts: the h-step errors are Z(a_{n+j} - E a_{n+j});
 * Cov(y_j, y_i) = Z T^{j-i} P_i Z' for j > i, so with
 *   c_j = sum_{i in W, i < j} T^{j-i} P_i Z',  c_{j+1} = T (c_j + [j in W] P_j Z'),
 * Var(sum_{j in W} y_j) = sum_{j in W} (Z P_j Z' + 2 Z c_j).
 * With P_n = 0 (a long, fully observed series) this is exactly the
 * psi-weight formula sigma2 * sum_m (sum_{h in W, h >= m} psi_{h-m})^2 of the
 * integrated model; P_n adds the uncertainty of the current state (missing
 * recent days, short series), consistently with the per-day variances.
 */
void aq_kalman_forecast(const struct aq_kalman_arima *m, const double *a0, const double *P0, int h, double *mean,
			double *var, int from, int to, double *var_sum, double *work)
{
	int rd = m->rd;
	size_t rr = (size_t)rd * rd;
	double *P = work, *Pn = P + rr, *B = Pn + rr, *a = B + rr, *an = a + rd, *c = an + rd;
	memcpy(a, a0, sizeof(double) * rd);
	memcpy(P, P0, sizeof(double) * rr);
	memset(c, 0, sizeof(double) * rd);
	double vs = 0;
	for (int j = 0; j < h; j++) {
		apply_T(m, a, 1, an, 1);
		memcpy(a, an, sizeof(double) * rd);
		predict_cov(m, P, Pn, B);
		memcpy(P, Pn, sizeof(double) * rr);
		if (var_sum) {
			apply_T(m, c, 1, an, 1);
			memcpy(c, an, sizeof(double) * rd);
		}
		double fc = zdot(m, a, 1);
		/* Z P Z' */
		double v = 0;
		for (int i = 0; i < rd; i++) {
			double zi = i == 0 ? 1.0 : (i >= m->r ? m->delta[i - m->r] : 0.0);
			if (zi != 0.0)
				v += zi * zdot(m, P + i, (size_t)rd);
		}
		if (mean)
			mean[j] = fc;
		if (var)
			var[j] = v;
		if (var_sum && j >= from && j < to) {
			vs += v + 2 * zdot(m, c, 1);
			for (int i = 0; i < rd; i++)
				c[i] += zdot(m, P + i, (size_t)rd);
		}
	}
	if (var_sum)
		*var_sum = vs;
}
