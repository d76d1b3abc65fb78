/* test_thrift.c — compact protocol: varints, zigzag, field deltas and long-form headers, lists, structs, skipping. */
#include <stdint.h>
#include <string.h>

#include "test.h"
#include "thrift.h"

static void test_varint_zigzag(void)
{
	struct aq_tw w;
	struct aq_tr r;
	uint64_t vals[] = { 0, 1, 127, 128, 300, 16383, 16384, UINT32_MAX, (uint64_t)1 << 63, UINT64_MAX };
	int64_t svals[] = { 0, -1, 1, -64, 63, -65, INT32_MIN, INT32_MAX, INT64_MIN, INT64_MAX };

	T_EQ_INT(aq_zigzag64(0), 0);
	T_EQ_INT(aq_zigzag64(-1), 1);
	T_EQ_INT(aq_zigzag64(1), 2);
	T_EQ_INT(aq_zigzag64(-2), 3);
	T_CHECK(aq_zigzag64(INT64_MIN) == UINT64_MAX);
	aq_tw_init(&w);
	aq_tw_varint(&w, 300);
	T_EQ_INT(w.len, 2);
	T_EQ_INT(w.buf[0], 0xAC);
	T_EQ_INT(w.buf[1], 0x02);
	aq_tw_reset(&w);
	for (size_t i = 0; i < sizeof(vals) / sizeof(*vals); i++)
		aq_tw_varint(&w, vals[i]);
	for (size_t i = 0; i < sizeof(svals) / sizeof(*svals); i++)
		aq_tw_i64(&w, svals[i]);
	aq_tr_init(&r, w.buf, w.len);
	for (size_t i = 0; i < sizeof(vals) / sizeof(*vals); i++)
		T_CHECK(aq_tr_varint(&r) == vals[i]);
	for (size_t i = 0; i < sizeof(svals) / sizeof(*svals); i++)
		T_CHECK(aq_tr_i64(&r, AQ_TC_I64) == svals[i]);
	T_EQ_INT(r.err, 0);
	T_CHECK(r.p == r.end);
	/* reading past the end: error, zeros, no overrun */
	T_CHECK(aq_tr_varint(&r) == 0);
	T_EQ_INT(r.err, 1);
	aq_tw_release(&w);
	{
		/* an 11-byte varint is malformed; so is a 10th byte > 1 */
		uint8_t bad[11], bad2[10];

		memset(bad, 0x80, sizeof(bad));
		aq_tr_init(&r, bad, sizeof(bad));
		aq_tr_varint(&r);
		T_EQ_INT(r.err, 1);
		memset(bad2, 0xFF, 9);
		bad2[9] = 0x02;
		aq_tr_init(&r, bad2, sizeof(bad2));
		aq_tr_varint(&r);
		T_EQ_INT(r.err, 1);
	}
	{
		/* i32 out of range */
		struct aq_tw w2;

		aq_tw_init(&w2);
		aq_tw_i64(&w2, (int64_t)INT32_MAX + 1);
		aq_tr_init(&r, w2.buf, w2.len);
		aq_tr_i32(&r, AQ_TC_I32);
		T_EQ_INT(r.err, 1);
		aq_tw_release(&w2);
	}
}

static void test_fields_and_structs(void)
{
	struct aq_tw w;
	struct aq_tr r;
	int ty;
	int16_t id;
	size_t len;
	const uint8_t *s;

	aq_tw_init(&w);
	aq_tw_struct_begin(&w);
	aq_tw_field_i32(&w, 1, 42);          /* short form, delta 1 */
	aq_tw_field_i64(&w, 16, -7);         /* delta 15: still short */
	aq_tw_field_string(&w, 40, "hello"); /* delta 24: long form */
	aq_tw_field_bool(&w, 3, 1);          /* backwards: long form */
	aq_tw_field_bool(&w, 4, 0);
	aq_tw_field(&w, AQ_TC_DOUBLE, 5);
	aq_tw_double(&w, -2.5);
	aq_tw_field(&w, AQ_TC_STRUCT, 6);
	aq_tw_struct_begin(&w);
	aq_tw_field_i32(&w, 1, 5); /* nested: deltas restart */
	aq_tw_struct_end(&w);
	aq_tw_field_i32(&w, 7, 8); /* delta from 6, the outer last id */
	aq_tw_field_i32(&w, -3, 9); /* negative id: long form */
	aq_tw_struct_end(&w);
	T_EQ_INT(w.oom, 0);
	/* bytes: 0x15 (delta 1, I32), zigzag 42 = 84 */
	T_EQ_INT(w.buf[0], 0x15);
	T_EQ_INT(w.buf[1], 84);
	T_EQ_INT(w.buf[2], 0xF6); /* delta 15, I64 */
	T_EQ_INT(w.buf[4], 0x08); /* long form: type BINARY, then zigzag(40)=80 */
	T_EQ_INT(w.buf[5], 80);

	aq_tr_init(&r, w.buf, w.len);
	aq_tr_struct_begin(&r);
	T_CHECK(aq_tr_field(&r, &ty, &id) && id == 1 && ty == AQ_TC_I32);
	T_EQ_INT(aq_tr_i32(&r, ty), 42);
	T_CHECK(aq_tr_field(&r, &ty, &id) && id == 16 && ty == AQ_TC_I64);
	T_EQ_INT(aq_tr_i64(&r, ty), -7);
	T_CHECK(aq_tr_field(&r, &ty, &id) && id == 40);
	s = aq_tr_binary(&r, ty, &len);
	T_CHECK(len == 5 && !memcmp(s, "hello", 5));
	T_CHECK(aq_tr_field(&r, &ty, &id) && id == 3);
	T_EQ_INT(aq_tr_bool(&r, ty), 1);
	T_CHECK(aq_tr_field(&r, &ty, &id) && id == 4);
	T_EQ_INT(aq_tr_bool(&r, ty), 0);
	T_CHECK(aq_tr_field(&r, &ty, &id) && id == 5);
	T_CHECK(aq_tr_double(&r, ty) == -2.5);
	T_CHECK(aq_tr_field(&r, &ty, &id) && id == 6 && ty == AQ_TC_STRUCT);
	aq_tr_struct_begin(&r);
	T_CHECK(aq_tr_field(&r, &ty, &id) && id == 1);
	T_EQ_INT(aq_tr_i32(&r, ty), 5);
	T_CHECK(!aq_tr_field(&r, &ty, &id));
	T_CHECK(aq_tr_field(&r, &ty, &id) && id == 7);
	T_EQ_INT(aq_tr_i32(&r, ty), 8);
	T_CHECK(aq_tr_field(&r, &ty, &id) && id == -3);
	T_EQ_INT(aq_tr_i32(&r, ty), 9);
	T_CHECK(!aq_tr_field(&r, &ty, &id));
	T_EQ_INT(r.err, 0);
	T_CHECK(r.p == r.end);
	/* wrong wire type is an error */
	aq_tr_init(&r, w.buf, w.len);
	aq_tr_struct_begin(&r);
	aq_tr_field(&r, &ty, &id);
	aq_tr_binary(&r, ty, &len);
	T_EQ_INT(r.err, 1);
	aq_tw_release(&w);
}

static void test_lists(void)
{
	struct aq_tw w;
	struct aq_tr r;
	int et;
	uint32_t n;

	aq_tw_init(&w);
	aq_tw_list(&w, AQ_TC_I32, 3);
	for (int i = 0; i < 3; i++)
		aq_tw_i32(&w, i - 1);
	aq_tw_list(&w, AQ_TC_BINARY, 20); /* >= 15: long form */
	for (int i = 0; i < 20; i++)
		aq_tw_string(&w, "ab");
	T_EQ_INT(w.buf[0], 0x35);
	aq_tr_init(&r, w.buf, w.len);
	n = aq_tr_list(&r, AQ_TC_LIST, &et);
	T_EQ_INT(n, 3);
	T_EQ_INT(et, AQ_TC_I32);
	for (int i = 0; i < 3; i++)
		T_EQ_INT(aq_tr_i32(&r, et), i - 1);
	n = aq_tr_list(&r, AQ_TC_LIST, &et);
	T_EQ_INT(n, 20);
	T_EQ_INT(et, AQ_TC_BINARY);
	aq_tr_skip(&r, AQ_TC_BINARY); /* skip one element */
	for (int i = 1; i < 20; i++) {
		size_t l;

		aq_tr_binary(&r, et, &l);
		T_EQ_INT(l, 2);
	}
	T_EQ_INT(r.err, 0);
	T_CHECK(r.p == r.end);
	aq_tw_release(&w);
	{
		/* a count larger than the bytes left is refused up front */
		uint8_t bad[] = { 0xF5, 0xFF, 0xFF, 0xFF, 0x0F, 0x00 };

		aq_tr_init(&r, bad, sizeof(bad));
		n = aq_tr_list(&r, AQ_TC_LIST, &et);
		T_EQ_INT(n, 0);
		T_EQ_INT(r.err, 1);
	}
}

/* A struct with unknown fields of every kind: skip them all and find the known one after. */
static void test_skip_unknown(void)
{
	struct aq_tw w;
	struct aq_tr r;
	int ty;
	int16_t id;
	int32_t found = -1;

	aq_tw_init(&w);
	aq_tw_struct_begin(&w);
	aq_tw_field_bool(&w, 1, 1);
	aq_tw_field(&w, AQ_TC_BYTE, 2);
	aq_tw_raw(&w, "\x7f", 1);
	aq_tw_field(&w, AQ_TC_I16, 3);
	aq_tw_i32(&w, -300);
	aq_tw_field(&w, AQ_TC_DOUBLE, 4);
	aq_tw_double(&w, 1.0);
	aq_tw_field_string(&w, 5, "skip me");
	aq_tw_field(&w, AQ_TC_LIST, 6); /* list of structs */
	aq_tw_list(&w, AQ_TC_STRUCT, 2);
	for (int i = 0; i < 2; i++) {
		aq_tw_struct_begin(&w);
		aq_tw_field_i64(&w, 1, i);
		aq_tw_field(&w, AQ_TC_LIST, 2);
		aq_tw_list(&w, AQ_TC_TRUE, 2); /* list of bools: one byte each */
		aq_tw_raw(&w, "\x01\x02", 2);
		aq_tw_struct_end(&w);
	}
	aq_tw_field(&w, AQ_TC_MAP, 7); /* map<binary,i32> of 2 */
	aq_tw_varint(&w, 2);
	aq_tw_raw(&w, "\x85", 1);
	aq_tw_string(&w, "k1");
	aq_tw_i32(&w, 1);
	aq_tw_string(&w, "k2");
	aq_tw_i32(&w, 2);
	aq_tw_field(&w, AQ_TC_MAP, 8); /* empty map */
	aq_tw_varint(&w, 0);
	aq_tw_field(&w, AQ_TC_SET, 9);
	aq_tw_list(&w, AQ_TC_I64, 1);
	aq_tw_i64(&w, 5);
	aq_tw_field(&w, AQ_TC_STRUCT, 200); /* nested unknown struct, long-form id */
	aq_tw_struct_begin(&w);
	aq_tw_field(&w, AQ_TC_STRUCT, 1);
	aq_tw_struct_begin(&w);
	aq_tw_field_string(&w, 1, "deep");
	aq_tw_struct_end(&w);
	aq_tw_struct_end(&w);
	aq_tw_field_i32(&w, 201, 77); /* the one we want */
	aq_tw_struct_end(&w);

	aq_tr_init(&r, w.buf, w.len);
	aq_tr_struct_begin(&r);
	while (aq_tr_field(&r, &ty, &id)) {
		if (id == 201)
			found = aq_tr_i32(&r, ty);
		else
			aq_tr_skip(&r, ty);
	}
	T_EQ_INT(r.err, 0);
	T_EQ_INT(found, 77);
	T_CHECK(r.p == r.end);

	/* every truncation of it fails cleanly */
	for (size_t cut = 0; cut < w.len; cut++) {
		aq_tr_init(&r, w.buf, cut);
		aq_tr_struct_begin(&r);
		while (aq_tr_field(&r, &ty, &id))
			aq_tr_skip(&r, ty);
		if (!r.err) {
			T_FAIL("truncation at %zu not detected", cut);
			break;
		}
	}
	aq_tw_release(&w);
}

static void test_depth_limit(void)
{
	uint8_t buf[4 * AQ_TC_MAX_DEPTH + 16];
	struct aq_tr r;
	int ty;
	int16_t id;
	size_t n = 0;

	/* struct in struct in struct ... deeper than the limit */
	for (int i = 0; i < AQ_TC_MAX_DEPTH + 4; i++)
		buf[n++] = 0x1C; /* field 1, STRUCT */
	memset(buf + n, 0, sizeof(buf) - n);
	aq_tr_init(&r, buf, sizeof(buf));
	aq_tr_struct_begin(&r);
	while (aq_tr_field(&r, &ty, &id))
		aq_tr_skip(&r, ty);
	T_EQ_INT(r.err, 1);
	/* an invalid type nibble */
	buf[0] = 0x1D;
	aq_tr_init(&r, buf, 4);
	aq_tr_struct_begin(&r);
	T_CHECK(!aq_tr_field(&r, &ty, &id));
	T_EQ_INT(r.err, 1);
}

int main(void)
{
	T_RUN(test_varint_zigzag);
	T_RUN(test_fields_and_structs);
	T_RUN(test_lists);
	T_RUN(test_skip_unknown);
	T_RUN(test_depth_limit);
	T_DONE();
}
