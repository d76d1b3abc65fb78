/* kalman.h — Kalman filter and forecasts for ARIMA models in Harvey's state-space form. */
#ifndef AQ_KALMAN_H
#define AQ_KALMAN_H

#include <stddef.h>

/*
 * State space of an ARIMA model (Harvey 1989; the form of R's makeARIMA):
 *
 *   ARMA part (r = max(np, nq + 1) states), phi[0..np), theta[0..nq):
 *     a_{t+1}[i] = phi[i] a_t[0] + a_t[i+1] + R[i] e_{t+1},  R = (1, theta, 0...)
 *   differencing part (dd states), the previous undifferenced values:
 *     a_{t+1}[r] = y_t = a_t[0] + sum_k delta[k] a_t[r+k],  a_{t+1}[r+k] = a_t[r+k-1]
 *   observation: y_t = Z a_t, Z = (1, 0, ..., 0, delta[0..dd)).
 *
 * delta holds the coefficients of the differencing polynomial moved to the
 * right-hand side: (1-B)^d (1-B^s)^D = 1 - delta[0] B - ... - delta[dd-1] B^dd.
 * All matrices are rd x rd (rd = r + dd), column-major, both triangles stored
 * (symmetric). Innovation variance is 1: callers scale by sigma2.
 */
struct aq_kalman_arima {
	int np, nq;            /* lengths of phi, theta (seasonal parts expanded) */
	int r, dd, rd;         /* ARMA states, differencing states, total */
	const double *phi;
	const double *theta;
	const double *delta;
};

/* Fill r, rd from np, nq, dd. */
void aq_kalman_arima_dims(struct aq_kalman_arima *m);

/*
 * Stationary covariance Q0 (r x r, column-major, leading dimension ld) of the
 * ARMA part: the solution of P = T P T' + R R'. Computed from the exact
 * autocovariances of the ARMA process (Brockwell & Davis §3.3: a (np+1)
 * linear system, partial pivoting) and the recursion
 *   P[i][j] = phi_i phi_j P00 + phi_i P[0][j+1] + phi_j P[i+1][0] + P[i+1][j+1] + R_i R_j
 * filled backwards from the first row, which is
 *   P[0][k] = sum_{m>=k} phi_m gamma(m-k+1) + theta_m psi(m-k)   (theta_0 = 1).
 * Exact like Gardner et al. (1980, AS 154, R's getQ0) but O(r^2 + np^3) and
 * without AS 154's loss of accuracy near the unit circle (R PR#14682), in
 * the spirit of Rossignol (2011). Returns -1 when the AR part is (numerically)
 * non-stationary (singular system or non-finite/negative variance).
 * work: aq_kalman_q0_work(np, nq, r) doubles.
 */
size_t aq_kalman_q0_work(int np, int nq, int r);
int aq_kalman_q0(int np, const double *phi, int nq, const double *theta, int r, double *P, int ld,
		 double *work);

/* Result of a filter pass (R's ARIMA_Like: ssq, sumlog, nu). */
struct aq_kalman_stats {
	double ssq;     /* sum of squared innovations / their variance */
	double sumlog;  /* sum of log innovation variances */
	int nu;         /* observations counted (gain < 1e4: diffuse ones skipped) */
	int steady_at;  /* step at which the steady state was reached, -1 if never */
};

/*
 * Filter y[0..n) (NaN = missing: prediction only). a (rd) and P (rd x rd)
 * hold the filtered state at the start and are updated in place.
 * first_predicted = 1: a, P are already the predicted state of y[0] (R's
 * start: a = 0, P = Pn) and the first prediction step is skipped.
 * resid (n, or NULL): standardised innovations e_t / sqrt(F_t), NaN where missing.
 * steady_tol > 0 enables the steady-state shortcut: once the predicted
 * covariance changes by at most steady_tol * F_t (max abs over all entries)
 * between two observed steps, gain and covariance are frozen and each step
 * costs O(rd); a missing observation leaves the steady state (exact). 0
 * disables it. work: aq_kalman_filter_work(rd) doubles. Never allocates.
 */
size_t aq_kalman_filter_work(int rd);
void aq_kalman_filter(const struct aq_kalman_arima *m, const double *y, size_t n, double *a, double *P,
		      int first_predicted, double steady_tol, double *resid, struct aq_kalman_stats *st,
		      double *work);

/*
 * Exact likelihood of a stationary ARMA (m->dd must be 0) started from its
 * stationary distribution (a = 0, P = P0 = Q0, r x r column-major, ld r),
 * without missing values, by the Chandrasekhar recursions (Morf, Sidhu &
 * Kailath 1974; Harvey 1989 §3.3.4): from a stationary start
 * P_{t+1} - P_t = m_t Y_t Y_t' has rank one, so
 *   F_{t+1} = F_t + m_t (Z Y_t)^2,   K_{t+1} = K_t + m_t (Z Y_t) T Y_t,
 *   Y_{t+1} = T Y_t - K_{t+1} (Z Y_t) / F_{t+1},  m_{t+1} = m_t + m_t^2 (Z Y_t)^2 / F_t,
 * with K_t = T P_t Z', Y_1 = K_1, m_1 = -1 / F_1: O(r) per step instead of
 * O(r^2). Once |m_t| max|Y_t|^2 <= steady_tol F_t the gain is frozen.
 * Same ssq, sumlog, nu as aq_kalman_filter. work: aq_kalman_chandra_work(r).
 */
size_t aq_kalman_chandra_work(int r);
void aq_kalman_chandra(const struct aq_kalman_arima *m, const double *y, size_t n, const double *P0,
		       double steady_tol, struct aq_kalman_stats *st, double *work);

/*
 * As aq_kalman_chandra, with nreg regressors X (column-major, n x nreg,
 * ldx >= n) concentrated out by GLS (diffuse regression effects): the same
 * gains filter y and each column (O(r) per column and step), then
 *   ssq = v'F^-1 v - b'A^-1 b,  sumlog = sum log F_t + log det A,  nu = n - nreg,
 * A = U'F^-1 U, b = U'F^-1 v (u, v the innovations of X, y). With impulse
 * columns at missing days (y filled with 0) this is the exact likelihood
 * of the observed values (additive-outlier approach, Gómez & Maravall 1994).
 * Returns -1 if A is singular. work: aq_kalman_chandra_reg_work(r, nreg).
 */
size_t aq_kalman_chandra_reg_work(int r, int nreg);
int aq_kalman_chandra_reg(const struct aq_kalman_arima *m, const double *y, size_t n, const double *X, size_t ldx,
			  int nreg, const double *P0, double steady_tol, struct aq_kalman_stats *st, double *work);

/*
 * aq_kalman_chandra_reg with impulse-pattern regressors that are never
 * stored: column j is x_j[t] = pat[t - pos[j]] for 0 <= t - pos[j] < npat,
 * else 0 (pos sorted ascending, may be negative). For a gap at y_t of a
 * differenced series pat = (1, -delta_0, ..., -delta_{dd-1}). Columns are
 * filtered only from their first non-zero value on (before it their state
 * is exactly 0): O(r na + na^2) per step for na gaps so far. Same results
 * as aq_kalman_chandra_reg on the dense columns. Returns -1 if the
 * regressor cross-product matrix is singular or pos is unsorted.
 * work: aq_kalman_chandra_ao_work(r, nreg).
 */
size_t aq_kalman_chandra_ao_work(int r, int nreg);
int aq_kalman_chandra_ao(const struct aq_kalman_arima *m, const double *y, size_t n, const ptrdiff_t *pos,
			 int nreg, const double *pat, int npat, const double *P0, double steady_tol,
			 struct aq_kalman_stats *st, double *work);

/*
 * h-step forecasts from the filtered state (a, P) (R's KalmanForecast):
 * mean[i] = Z a_{n+i}, var[i] = Z P_{n+i} Z' (unit innovation variance).
 * If cov_sum is not NULL, *cov_sum = Var(sum_{i in [from, to)} y_{n+i})
 * exactly from the state space (see kalman.c). work: aq_kalman_fore_work(rd).
 */
size_t aq_kalman_fore_work(int rd);
void aq_kalman_forecast(const struct aq_kalman_arima *m, const double *a, const double *P, int h,
			double *mean, double *var, int from, int to, double *var_sum, double *work);

#endif
