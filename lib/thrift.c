/* thrift.c — Thrift compact protocol encoder and bounds-checked decoder (the subset Parquet uses). */
#include "thrift.h"

#include <stdlib.h>
#include <string.h>

/* ---- encoder ---- */

void aq_tw_init(struct aq_tw *w)
{
	memset(w, 0, sizeof(*w));
}

void aq_tw_release(struct aq_tw *w)
{
	free(w->buf);
	memset(w, 0, sizeof(*w));
}

void aq_tw_reset(struct aq_tw *w)
{
	w->len = 0;
	w->oom = 0;
	w->depth = 0;
	w->last[0] = 0;
}

static int tw_room(struct aq_tw *w, size_t n)
{
	if (w->oom)
		return 0;
	if (w->len + n > w->cap) {
		size_t cap = w->cap ? w->cap : 256;
		uint8_t *b;

		while (cap < w->len + n)
			cap *= 2;
		b = realloc(w->buf, cap);
		if (!b) {
			w->oom = 1;
			return 0;
		}
		w->buf = b;
		w->cap = cap;
	}
	return 1;
}

void aq_tw_raw(struct aq_tw *w, const void *p, size_t n)
{
	if (n && tw_room(w, n)) {
		memcpy(w->buf + w->len, p, n);
		w->len += n;
	}
}

static void tw_byte(struct aq_tw *w, uint8_t b)
{
	if (tw_room(w, 1))
		w->buf[w->len++] = b;
}

void aq_tw_varint(struct aq_tw *w, uint64_t v)
{
	uint8_t tmp[10];
	int n = 0;

	while (v >= 0x80) {
		tmp[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	tmp[n++] = (uint8_t)v;
	aq_tw_raw(w, tmp, (size_t)n);
}

void aq_tw_field(struct aq_tw *w, int type, int16_t id)
{
	int delta = (int)id - (int)w->last[w->depth];

	if (delta > 0 && delta <= 15) {
		tw_byte(w, (uint8_t)(delta << 4 | type));
	} else {
		tw_byte(w, (uint8_t)type);
		aq_tw_varint(w, aq_zigzag64(id));
	}
	w->last[w->depth] = id;
}

void aq_tw_field_bool(struct aq_tw *w, int16_t id, int v)
{
	aq_tw_field(w, v ? AQ_TC_TRUE : AQ_TC_FALSE, id);
}

void aq_tw_i32(struct aq_tw *w, int32_t v)
{
	aq_tw_varint(w, aq_zigzag64(v));
}

void aq_tw_i64(struct aq_tw *w, int64_t v)
{
	aq_tw_varint(w, aq_zigzag64(v));
}

void aq_tw_double(struct aq_tw *w, double v)
{
	uint64_t u;
	uint8_t b[8];

	memcpy(&u, &v, 8);
	for (int i = 0; i < 8; i++)
		b[i] = (uint8_t)(u >> (8 * i));
	aq_tw_raw(w, b, 8);
}

void aq_tw_binary(struct aq_tw *w, const void *p, size_t n)
{
	aq_tw_varint(w, n);
	aq_tw_raw(w, p, n);
}

void aq_tw_string(struct aq_tw *w, const char *s)
{
	aq_tw_binary(w, s, strlen(s));
}

void aq_tw_list(struct aq_tw *w, int elem_type, uint32_t n)
{
	if (n < 15) {
		tw_byte(w, (uint8_t)(n << 4 | (uint32_t)elem_type));
	} else {
		tw_byte(w, (uint8_t)(0xF0 | elem_type));
		aq_tw_varint(w, n);
	}
}

void aq_tw_struct_begin(struct aq_tw *w)
{
	if (w->depth >= AQ_TC_MAX_DEPTH) {
		w->oom = 1;
		return;
	}
	w->last[++w->depth] = 0;
}

void aq_tw_struct_end(struct aq_tw *w)
{
	tw_byte(w, AQ_TC_STOP);
	if (w->depth > 0)
		w->depth--;
}

void aq_tw_field_i32(struct aq_tw *w, int16_t id, int32_t v)
{
	aq_tw_field(w, AQ_TC_I32, id);
	aq_tw_i32(w, v);
}

void aq_tw_field_i64(struct aq_tw *w, int16_t id, int64_t v)
{
	aq_tw_field(w, AQ_TC_I64, id);
	aq_tw_i64(w, v);
}

void aq_tw_field_binary(struct aq_tw *w, int16_t id, const void *p, size_t n)
{
	aq_tw_field(w, AQ_TC_BINARY, id);
	aq_tw_binary(w, p, n);
}

void aq_tw_field_string(struct aq_tw *w, int16_t id, const char *s)
{
	aq_tw_field_binary(w, id, s, strlen(s));
}

/* ---- decoder ---- */

void aq_tr_init(struct aq_tr *r, const void *buf, size_t len)
{
	memset(r, 0, sizeof(*r));
	r->p = buf;
	r->end = r->p + len;
}

size_t aq_tr_consumed(const struct aq_tr *r, const void *buf)
{
	return (size_t)(r->p - (const uint8_t *)buf);
}

static int tr_fail(struct aq_tr *r)
{
	r->err = 1;
	r->p = r->end;
	return 0;
}

static uint8_t tr_byte(struct aq_tr *r)
{
	if (r->err || r->p >= r->end)
		return (uint8_t)tr_fail(r);
	return *r->p++;
}

uint64_t aq_tr_varint(struct aq_tr *r)
{
	uint64_t v = 0;

	for (int shift = 0; shift < 70; shift += 7) {
		uint8_t b;

		if (r->err || r->p >= r->end)
			return tr_fail(r);
		b = *r->p++;
		if (shift == 63 && b > 1)
			return tr_fail(r); /* more than 64 bits */
		v |= (uint64_t)(b & 0x7F) << shift;
		if (!(b & 0x80))
			return v;
	}
	return tr_fail(r);
}

void aq_tr_struct_begin(struct aq_tr *r)
{
	if (r->err)
		return;
	if (r->depth >= AQ_TC_MAX_DEPTH) {
		tr_fail(r);
		return;
	}
	r->last[++r->depth] = 0;
}

int aq_tr_field(struct aq_tr *r, int *type, int16_t *id)
{
	uint8_t b = tr_byte(r);
	int t, delta;

	if (r->err)
		return 0;
	if (b == AQ_TC_STOP) {
		if (r->depth > 0)
			r->depth--;
		return 0;
	}
	t = b & 0x0F;
	delta = b >> 4;
	if (t > AQ_TC_STRUCT)
		return tr_fail(r);
	if (delta) {
		int v = r->last[r->depth] + delta;

		if (v > INT16_MAX)
			return tr_fail(r);
		*id = (int16_t)v;
	} else {
		int64_t v = aq_unzigzag64(aq_tr_varint(r));

		if (r->err || v < INT16_MIN || v > INT16_MAX)
			return tr_fail(r);
		*id = (int16_t)v;
	}
	r->last[r->depth] = *id;
	*type = t;
	if (t == AQ_TC_TRUE || t == AQ_TC_FALSE)
		r->bool_val = t == AQ_TC_TRUE;
	return 1;
}

int aq_tr_bool(struct aq_tr *r, int type)
{
	if (type != AQ_TC_TRUE && type != AQ_TC_FALSE)
		return tr_fail(r);
	return type == AQ_TC_TRUE;
}

int32_t aq_tr_i32(struct aq_tr *r, int type)
{
	int64_t v;

	if (type == AQ_TC_BYTE)
		return (int8_t)tr_byte(r);
	if (type != AQ_TC_I32 && type != AQ_TC_I16)
		return tr_fail(r);
	v = aq_unzigzag64(aq_tr_varint(r));
	if (v < INT32_MIN || v > INT32_MAX)
		return tr_fail(r);
	return r->err ? 0 : (int32_t)v;
}

int64_t aq_tr_i64(struct aq_tr *r, int type)
{
	int64_t v;

	if (type == AQ_TC_BYTE)
		return (int8_t)tr_byte(r);
	if (type != AQ_TC_I64 && type != AQ_TC_I32 && type != AQ_TC_I16)
		return tr_fail(r);
	v = aq_unzigzag64(aq_tr_varint(r));
	return r->err ? 0 : v;
}

double aq_tr_double(struct aq_tr *r, int type)
{
	uint64_t u = 0;
	double d;

	if (type != AQ_TC_DOUBLE || r->err || r->end - r->p < 8)
		return tr_fail(r);
	for (int i = 0; i < 8; i++)
		u |= (uint64_t)r->p[i] << (8 * i);
	r->p += 8;
	memcpy(&d, &u, 8);
	return d;
}

const uint8_t *aq_tr_binary(struct aq_tr *r, int type, size_t *len)
{
	uint64_t n;
	const uint8_t *p;

	*len = 0;
	if (type != AQ_TC_BINARY) {
		tr_fail(r);
		return NULL;
	}
	n = aq_tr_varint(r);
	if (r->err || n > (uint64_t)(r->end - r->p)) {
		tr_fail(r);
		return NULL;
	}
	p = r->p;
	r->p += n;
	*len = (size_t)n;
	return p;
}

uint32_t aq_tr_list(struct aq_tr *r, int type, int *elem_type)
{
	uint8_t b;
	uint64_t n;

	*elem_type = 0;
	if (type != AQ_TC_LIST && type != AQ_TC_SET)
		return tr_fail(r);
	b = tr_byte(r);
	if (r->err)
		return 0;
	n = b >> 4;
	*elem_type = b & 0x0F;
	if (n == 15)
		n = aq_tr_varint(r);
	/* Every element takes at least one byte: a count beyond the bytes left is corrupt. */
	if (r->err || *elem_type == 0 || *elem_type > AQ_TC_STRUCT || n > (uint64_t)(r->end - r->p))
		return tr_fail(r);
	return (uint32_t)n;
}

static void tr_skip(struct aq_tr *r, int type, int in_container)
{
	size_t len;
	int et, kt, vt, t;
	int16_t id;
	uint32_t n;
	uint64_t m;

	if (r->err)
		return;
	switch (type) {
	case AQ_TC_TRUE:
	case AQ_TC_FALSE:
		if (in_container)
			tr_byte(r);
		break;
	case AQ_TC_BYTE:
		tr_byte(r);
		break;
	case AQ_TC_I16:
	case AQ_TC_I32:
	case AQ_TC_I64:
		aq_tr_varint(r);
		break;
	case AQ_TC_DOUBLE:
		aq_tr_double(r, AQ_TC_DOUBLE);
		break;
	case AQ_TC_BINARY:
		aq_tr_binary(r, AQ_TC_BINARY, &len);
		break;
	case AQ_TC_LIST:
	case AQ_TC_SET:
		n = aq_tr_list(r, type, &et);
		if (r->depth >= AQ_TC_MAX_DEPTH) {
			tr_fail(r);
			return;
		}
		r->depth++;
		for (uint32_t i = 0; i < n && !r->err; i++)
			tr_skip(r, et, 1);
		r->depth--;
		break;
	case AQ_TC_MAP:
		m = aq_tr_varint(r);
		if (r->err || m > (uint64_t)(r->end - r->p)) {
			tr_fail(r);
			return;
		}
		if (m == 0)
			break;
		kt = tr_byte(r);
		vt = kt & 0x0F;
		kt >>= 4;
		if (r->err || kt == 0 || kt > AQ_TC_STRUCT || vt == 0 || vt > AQ_TC_STRUCT ||
		    r->depth >= AQ_TC_MAX_DEPTH) {
			tr_fail(r);
			return;
		}
		r->depth++;
		for (uint64_t i = 0; i < m && !r->err; i++) {
			tr_skip(r, kt, 1);
			tr_skip(r, vt, 1);
		}
		r->depth--;
		break;
	case AQ_TC_STRUCT:
		aq_tr_struct_begin(r);
		while (aq_tr_field(r, &t, &id))
			tr_skip(r, t, 0);
		break;
	default:
		tr_fail(r);
	}
}

void aq_tr_skip(struct aq_tr *r, int type)
{
	tr_skip(r, type, 0);
}
