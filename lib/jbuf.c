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

void aq_jbuf_num(struct aq_jbuf *b, double v)
{
	if (!isfinite(v)) {
		aq_jbuf_raw(b, "null", 4);
		return;
	}
	char tmp[32];
	int n = snprintf(tmp, sizeof tmp, "%.15g", v);
	if (strtod(tmp, NULL) != v)
		n = snprintf(tmp, sizeof tmp, "%.17g", v);
	aq_jbuf_raw(b, tmp, (size_t)n);
}

void aq_jbuf_int(struct aq_jbuf *b, long long v)
{
	char tmp[24];
	int n = snprintf(tmp, sizeof tmp, "%lld", v);
	aq_jbuf_raw(b, tmp, (size_t)n);
}

void aq_jbuf_date(struct aq_jbuf *b, int32_t day)
{
	char d[AQ_DATE_STRLEN];
	aq_jbuf_str(b, aq_date_format(day, d));
}

void aq_jbuf_key(struct aq_jbuf *b, const char *key, int first)
{
	if (!first)
		aq_jbuf_raw(b, ",", 1);
	aq_jbuf_str(b, key);
	aq_jbuf_raw(b, ":", 1);
}
