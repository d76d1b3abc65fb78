/* thrift.h — the Thrift compact protocol: a bounds-checked decoder and a growable-buffer encoder. */
#ifndef AQ_THRIFT_H
#define AQ_THRIFT_H

/*
 * Compact protocol (thrift/doc/specs/thrift-compact-protocol.md), the subset
 * Parquet metadata uses: structs, lists, binary, bool, byte, i16/i32/i64
 * (zigzag varints), double (8 bytes little-endian); maps and sets are only
 * skipped. Field headers carry the id as a 4-bit delta from the previous
 * field of the same struct when 1..15, else a long form: type byte then the
 * id as a zigzag varint.
 *
 * Decoder: every read checks the remaining bytes and the nesting depth; the
 * first error sticks in r->err (0 ok, 1 malformed) and later reads return
 * zeros, so callers can decode a whole struct and test r->err once.
 */

#include <stddef.h>
#include <stdint.h>

enum aq_tc_type {
	AQ_TC_STOP = 0,
	AQ_TC_TRUE = 1,   /* bool field with value true (in lists: element type bool) */
	AQ_TC_FALSE = 2,
	AQ_TC_BYTE = 3,
	AQ_TC_I16 = 4,
	AQ_TC_I32 = 5,
	AQ_TC_I64 = 6,
	AQ_TC_DOUBLE = 7,
	AQ_TC_BINARY = 8,
	AQ_TC_LIST = 9,
	AQ_TC_SET = 10,
	AQ_TC_MAP = 11,
	AQ_TC_STRUCT = 12,
};

#define AQ_TC_MAX_DEPTH 32

/* ---- encoder ---- */

struct aq_tw {
	uint8_t *buf;
	size_t len, cap;
	int oom;                          /* an allocation failed; buf holds a prefix */
	int depth;
	int16_t last[AQ_TC_MAX_DEPTH + 1]; /* last field id per open struct */
};

void aq_tw_init(struct aq_tw *w);
void aq_tw_release(struct aq_tw *w);
/* Drop the contents, keep the buffer. */
void aq_tw_reset(struct aq_tw *w);
void aq_tw_raw(struct aq_tw *w, const void *p, size_t n);
void aq_tw_varint(struct aq_tw *w, uint64_t v);
/* Field header (short form when the delta is 1..15). For bool fields use aq_tw_field_bool. */
void aq_tw_field(struct aq_tw *w, int type, int16_t id);
void aq_tw_field_bool(struct aq_tw *w, int16_t id, int v);
void aq_tw_i32(struct aq_tw *w, int32_t v);
void aq_tw_i64(struct aq_tw *w, int64_t v);
void aq_tw_double(struct aq_tw *w, double v);
void aq_tw_binary(struct aq_tw *w, const void *p, size_t n);
void aq_tw_string(struct aq_tw *w, const char *s);
void aq_tw_list(struct aq_tw *w, int elem_type, uint32_t n);
/* Open a struct (after its field header or as a list element); end writes the stop byte. */
void aq_tw_struct_begin(struct aq_tw *w);
void aq_tw_struct_end(struct aq_tw *w);
/* Convenience: a field header and its value. */
void aq_tw_field_i32(struct aq_tw *w, int16_t id, int32_t v);
void aq_tw_field_i64(struct aq_tw *w, int16_t id, int64_t v);
void aq_tw_field_binary(struct aq_tw *w, int16_t id, const void *p, size_t n);
void aq_tw_field_string(struct aq_tw *w, int16_t id, const char *s);

/* ---- decoder ---- */

struct aq_tr {
	const uint8_t *p, *end;
	int err;
	int depth;
	int16_t last[AQ_TC_MAX_DEPTH + 1];
	int bool_val;                     /* value of the last bool field header */
};

void aq_tr_init(struct aq_tr *r, const void *buf, size_t len);
size_t aq_tr_consumed(const struct aq_tr *r, const void *buf);
uint64_t aq_tr_varint(struct aq_tr *r);
/* Enter a struct; aq_tr_field then yields its fields until it returns 0 (stop), which leaves the struct. */
void aq_tr_struct_begin(struct aq_tr *r);
/* Next field of the current struct: 1 with *type and *id set, 0 at the stop byte or on error. */
int aq_tr_field(struct aq_tr *r, int *type, int16_t *id);
/* Value readers; each checks the wire type it is told (type of the field header or list). */
int aq_tr_bool(struct aq_tr *r, int type);
int32_t aq_tr_i32(struct aq_tr *r, int type);
int64_t aq_tr_i64(struct aq_tr *r, int type);
double aq_tr_double(struct aq_tr *r, int type);
/* Binary/string: a pointer into the buffer (not NUL-terminated) and its length. */
const uint8_t *aq_tr_binary(struct aq_tr *r, int type, size_t *len);
/* List/set header: element type and count (count bounded by the bytes left). */
uint32_t aq_tr_list(struct aq_tr *r, int type, int *elem_type);
/* Skip a value of any type, structs and containers included (depth-limited). */
void aq_tr_skip(struct aq_tr *r, int type);

static inline uint64_t aq_zigzag64(int64_t v) { return ((uint64_t)v << 1) ^ (uint64_t)(v >> 63); }
static inline int64_t aq_unzigzag64(uint64_t v) { return (int64_t)(v >> 1) ^ -(int64_t)(v & 1); }

#endif
