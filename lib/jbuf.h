/* jbuf.h — a growable byte buffer for writing JSON (and other text) responses without a DOM. */
#ifndef AQ_JBUF_H
#define AQ_JBUF_H

#include <stddef.h>
#include <stdint.h>

/*
 * Appends never fail loudly: an allocation failure sets oom and later
 * appends do nothing, so a builder checks once at the end (aq_jbuf_ok).
 * Numbers: doubles with 15 significant digits (relative error <= 5e-15;
 * %.17g outside 1e-7..1e15), NaN and infinities as null.
 */
struct aq_jbuf {
	char *p;
	size_t len, cap;
	int oom;
};

void aq_jbuf_init(struct aq_jbuf *b);
void aq_jbuf_release(struct aq_jbuf *b);
/* 0, or AQ_ENOMEM when an append failed. */
int aq_jbuf_ok(const struct aq_jbuf *b);
/* Hand the bytes over (NUL-terminated, caller frees); b is reset. */
char *aq_jbuf_take(struct aq_jbuf *b, size_t *len);

void aq_jbuf_raw(struct aq_jbuf *b, const char *s, size_t n);
void aq_jbuf_cstr(struct aq_jbuf *b, const char *s); /* raw, NUL-terminated */
void aq_jbuf_printf(struct aq_jbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void aq_jbuf_str(struct aq_jbuf *b, const char *s);  /* a JSON string, quoted and escaped; NULL: null */
void aq_jbuf_num(struct aq_jbuf *b, double v);
void aq_jbuf_int(struct aq_jbuf *b, long long v);
void aq_jbuf_date(struct aq_jbuf *b, int32_t day);  /* "YYYY-MM-DD" */
/* "key": — with a leading comma unless first. */
void aq_jbuf_key(struct aq_jbuf *b, const char *key, int first);

#endif
