/* jbuf.c — a growable byte buffer for writing JSON responses: escaping, round-trip doubles, dates. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "date.h"
#include "err.h"
#include "jbuf.h"

void aq_jbuf_init(struct aq_jbuf *b)
{
	memset(b, 0, sizeof *b);
}

void aq_jbuf_release(struct aq_jbuf *b)
{
	free(b->p);
	memset(b, 0, sizeof *b);
}

int aq_jbuf_ok(const struct aq_jbuf *b)
{
	return b->oom ? AQ_ENOMEM : 0;
}

char *aq_jbuf_take(struct aq_jbuf *b, size_t *len)
{
	if (b->oom || !b->p) {
		aq_jbuf_raw(b, "", 0);
		if (b->oom)
			return NULL;
	}
	char *p = b->p;
	if (len)
		*len = b->len;
	memset(b, 0, sizeof *b);
	return p;
}

static int grow(struct aq_jbuf *b, size_t more)
{
	if (b->oom)
		return -1;
	if (b->len + more + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 256;
	while (cap < b->len + more + 1)
		cap *= 2;
	char *p = realloc(b->p, cap);
	if (!p) {
		b->oom = 1;
		return -1;
	}
	b->p = p;
	b->cap = cap;
	return 0;
}

void aq_jbuf_raw(struct aq_jbuf *b, const char *s, size_t n)
{
	if (grow(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = 0;
}

void aq_jbuf_cstr(struct aq_jbuf *b, const char *s)
{
	aq_jbuf_raw(b, s, strlen(s));
}

void aq_jbuf_printf(struct aq_jbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char tmp[256];
	int n = vsnprintf(tmp, sizeof tmp, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof tmp) {
		aq_jbuf_raw(b, tmp, (size_t)n);
		return;
	}
	if (grow(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

void aq_jbuf_str(struct aq_jbuf *b, const char *s)
{
	if (!s) {
		aq_jbuf_raw(b, "null", 4);
		return;
	}
	aq_jbuf_raw(b, "\"", 1);
	const char *run = s;
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c >= 0x20 && c != '"' && c != '\\')
			continue;
		aq_jbuf_raw(b, run, (size_t)(s - run));
		char esc[8];
		if (c == '"' || c == '\\')
			snprintf(esc, sizeof esc, "\\%c", c);
		else if (c == '\n')
			snprintf(esc, sizeof esc, "\\n");
		else
			snprintf(esc, sizeof esc, "\\u%04x", c);
		aq_jbuf_cstr(b, esc);
		run = s + 1;
	}
	aq_jbuf_raw(b, run, (size_t)(s - run));
	aq_jbuf_raw(b, "\"", 1);
}

/*
 * 15 significant digits by integer arithmetic (snprintf("%.17g") and a strtod
 * check cost ~1 us a number, most of a 30-day forecast response): v scaled
 * by a power of ten (exact as a double up to 10^22) into 10^14 <= m < 10^15,
 * trailing zeros dropped, the point placed; outside 1e-7..1e15, %.17g.
 * Relative error at most 5e-15 (m < 2^53: the integer is exact).
 */
static const double pow10tab[23] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
				    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};

static long long scaled(double a, int e10)
{
	int k = 14 - e10;
	return llround(k >= 0 ? a * pow10tab[k] : a / pow10tab[-k]);
}

void aq_jbuf_num(struct aq_jbuf *b, double v)
{
	if (!isfinite(v)) {
		aq_jbuf_raw(b, "null", 4);
		return;
	}
	double a = fabs(v);
	char tmp[40];
	if (a == 0 || a < 1e-7 || a >= 1e15) { /* 14 - e10 <= 22 */
		int n = a == 0 ? snprintf(tmp, sizeof tmp, "0") : snprintf(tmp, sizeof tmp, "%.17g", v);
		aq_jbuf_raw(b, tmp, (size_t)n);
		return;
	}
	int e10 = (int)floor(log10(a));
	long long m = scaled(a, e10);
	if (m >= 1000000000000000LL)
		m = scaled(a, ++e10);
	else if (m < 100000000000000LL)
		m = scaled(a, --e10);
	if (m >= 1000000000000000LL) { /* rounded up to the next power of ten */
		m /= 10;
		e10++;
	}
	char dig[15];
	for (int i = 14; i >= 0; i--, m /= 10)
		dig[i] = (char)('0' + m % 10);
	int nd = 15;
	while (nd > 1 && dig[nd - 1] == '0')
		nd--;
	char *p = tmp;
	if (v < 0)
		*p++ = '-';
	if (e10 < 0) {
		*p++ = '0';
		*p++ = '.';
		for (int i = 0; i < -e10 - 1; i++)
			*p++ = '0';
		memcpy(p, dig, (size_t)nd);
		p += nd;
	} else {
		for (int i = 0; i <= e10; i++)
			*p++ = i < nd ? dig[i] : '0';
		if (nd > e10 + 1) {
			*p++ = '.';
			memcpy(p, dig + e10 + 1, (size_t)(nd - e10 - 1));
			p += nd - e10 - 1;
		}
	}
	aq_jbuf_raw(b, tmp, (size_t)(p - tmp));
}

void aq_jbuf_int(struct aq_jbuf *b, long long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%lld", v);
	aq_jbuf_raw(b, tmp, (size_t)n);
}

void aq_jbuf_date(struct aq_jbuf *b, int32_t day)
{
	int y, m, d;
	aq_date_to_ymd(day, &y, &m, &d);
	if (y < 0 || y > 9999) {
		char buf[AQ_DATE_STRLEN + 8];
		aq_jbuf_str(b, aq_date_format(day, buf));
		return;
	}
	/* "YYYY-MM-DD" without snprintf (a 30-day forecast has 30 of them) */
	char q[12] = {'"', (char)('0' + y / 1000), (char)('0' + y / 100 % 10), (char)('0' + y / 10 % 10),
		      (char)('0' + y % 10), '-', (char)('0' + m / 10), (char)('0' + m % 10), '-',
		      (char)('0' + d / 10), (char)('0' + d % 10), '"'};
	aq_jbuf_raw(b, q, sizeof q);
}

void aq_jbuf_key(struct aq_jbuf *b, const char *key, int first)
{
	if (!first)
		aq_jbuf_raw(b, ",", 1);
	aq_jbuf_str(b, key);
	aq_jbuf_raw(b, ":", 1);
}
