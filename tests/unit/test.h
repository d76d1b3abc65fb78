/* test.h — a tiny unit-test harness: TAP-style "ok - name" / "not ok - name" lines. */
#ifndef AQ_TEST_H
#define AQ_TEST_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

static int t_failed_cases, t_cur_failed;
static const char *t_cur;

#define T_FAIL(...) do { \
	fprintf(stderr, "  %s:%d: ", __FILE__, __LINE__); \
	fprintf(stderr, __VA_ARGS__); fputc('\n', stderr); \
	t_cur_failed = 1; } while (0)

#define T_CHECK(cond) do { if (!(cond)) T_FAIL("check failed: %s", #cond); } while (0)
/* Fail and leave the current test function. */
#define T_ASSERT(cond) do { if (!(cond)) { T_FAIL("assertion failed: %s", #cond); return; } } while (0)
#define T_EQ_INT(a, b) do { long long _a = (a), _b = (b); \
	if (_a != _b) T_FAIL("%s == %lld, want %lld", #a, _a, _b); } while (0)
#define T_NEAR(a, b, tol) do { double _a = (a), _b = (b); \
	if (!(fabs(_a - _b) <= (tol)) && !(isnan(_a) && isnan(_b))) \
		T_FAIL("%s = %.10g, want %.10g (tol %g)", #a, _a, _b, (double)(tol)); } while (0)
/* Relative tolerance, with an absolute floor for values near 0. */
#define T_RNEAR(a, b, rtol) T_NEAR(a, b, (rtol) * fmax(1.0, fabs((double)(b))))
#define T_OK(expr) do { int _r = (expr); if (_r) T_FAIL("%s returned %d", #expr, _r); } while (0)

#define T_RUN(fn) do { \
	t_cur = #fn; t_cur_failed = 0; fn(); \
	printf("%s - %s\n", t_cur_failed ? "not ok" : "ok", t_cur); \
	fflush(stdout); t_failed_cases += t_cur_failed; } while (0)

#define T_DONE() return t_failed_cases ? 1 : 0

/* Test data: a xorshift64 stream, t_unif() in (0, 1), t_gauss() N(0, 1); define T_RNG_SEED before this header for another stream. */
#ifndef T_RNG_SEED
#define T_RNG_SEED 0x9E3779B97F4A7C15ULL
#endif
static unsigned long long t_rng_state = T_RNG_SEED;
static inline double t_unif(void)
{
	t_rng_state ^= t_rng_state << 13;
	t_rng_state ^= t_rng_state >> 7;
	t_rng_state ^= t_rng_state << 17;
	return ((t_rng_state >> 11) + 0.5) / 9007199254740992.0;
}
static inline double t_gauss(void)
{
	return sqrt(-2 * log(t_unif())) * cos(2 * M_PI * t_unif());
}

/* The test's scratch directory removed, unless a case failed (then it is left to look at). */
static inline void t_remove_if_passed(const char *dir)
{
	char cmd[600];

	if (t_failed_cases)
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", dir);
}

#endif
