/* test_record.c — Kafka message encoding: byte layout, round trips, and every malformed case refused. */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include <zlib.h>

#include "date.h"
#include "record.h"
#include "test.h"

static int32_t D(const char *s)
{
	int32_t d = 0;
	aq_date_parse(s, 10, &d, NULL);
	return d;
}

/* The documented layout, built byte by byte here (independent of the encoder). */
static void test_binary_layout_dense(void)
{
	int32_t date[3] = {D("2022-04-01"), D("2022-04-02"), D("2022-04-03")};
	double val[3] = {1.127, NAN, 0.0};
	struct aq_record_buf b;
	uint8_t want[20 + 24];
	uint32_t crc;

	memset(want, 0, sizeof(want));
	want[0] = 1;
	want[1] = 1;
	want[2] = 3;
	/* account 3216049 = 0x0031 12B1 */
	want[4] = 0xB1, want[5] = 0x12, want[6] = 0x31;
	/* 2022-04-01 = 19083 days = 0x4A8B */
	want[12] = 0x8B, want[13] = 0x4A;
	T_EQ_INT(date[0], 19083);
	for (int i = 0; i < 3; i++) {
		uint64_t u;
		memcpy(&u, &val[i], 8);
		for (int k = 0; k < 8; k++)
			want[16 + 8 * i + k] = (uint8_t)(u >> (8 * k));
	}
	crc = (uint32_t)crc32(0L, want, 40);
	for (int k = 0; k < 4; k++)
		want[40 + k] = (uint8_t)(crc >> (8 * k));
	aq_record_buf_init(&b);
	T_OK(aq_record_encode(AQ_REC_BINARY, 3216049, date, val, 3, &b, NULL));
	T_EQ_INT(b.len, 44);
	T_CHECK(b.len == 44 && memcmp(b.data, want, 44) == 0);
	aq_record_buf_release(&b);
}

static void roundtrip(enum aq_record_enc enc, const int32_t *date, const double *val, size_t n, size_t want_len)
{
	struct aq_record_buf b;
	struct aq_record r;
	struct aq_err e = {0};
	char key[AQ_RECORD_KEYLEN];
	size_t kl = aq_record_key(98765, key);

	aq_record_buf_init(&b);
	aq_record_init(&r);
	T_OK(aq_record_encode(enc, 98765, date, val, n, &b, &e));
	if (want_len)
		T_EQ_INT(b.len, want_len);
	if (aq_record_decode(&r, key, kl, b.data, b.len, &e))
		T_FAIL("decode: %s", e.msg);
	T_EQ_INT(r.account, 98765);
	T_EQ_INT(r.n, n);
	for (size_t i = 0; i < n && i < r.n; i++) {
		T_EQ_INT(r.date[i], date[i]);
		/* exact: both encodings keep every bit of a finite double */
		if (isnan(val[i]))
			T_CHECK(isnan(r.value[i]));
		else
			T_CHECK(r.value[i] == val[i]);
	}
	aq_record_release(&r);
	aq_record_buf_release(&b);
}

static void test_roundtrip_sparse_and_json(void)
{
	int32_t date[5] = {D("2022-04-01"), D("2022-04-03"), D("2022-04-04"), D("2022-05-01"), D("2023-01-01")};
	double val[5] = {0.1, 1.0 / 3.0, NAN, 123456.789, -0.0};

	roundtrip(AQ_REC_BINARY, date, val, 5, 20 + 50);
	roundtrip(AQ_REC_JSON, date, val, 5, 0);
	roundtrip(AQ_REC_BINARY, date, val, 1, 28);
}

static void test_json_text(void)
{
	int32_t date[2] = {D("2022-04-01"), D("2022-04-02")};
	double val[2] = {1.127, NAN};
	struct aq_record_buf b;
	const char *want = "{\"account\":3216049,\"readings\":[[\"2022-04-01\",1.127],[\"2022-04-02\",null]]}";

	aq_record_buf_init(&b);
	T_OK(aq_record_encode(AQ_REC_JSON, 3216049, date, val, 2, &b, NULL));
	T_CHECK(b.len == strlen(want) && memcmp(b.data, want, b.len) == 0);
	aq_record_buf_release(&b);
}

static int bad(const char *key, const void *val, size_t len)
{
	struct aq_record r;
	struct aq_err e = {0};
	int rc;

	aq_record_init(&r);
	rc = aq_record_decode(&r, key, key ? strlen(key) : 0, val, len, &e);
	aq_record_release(&r);
	if (rc != AQ_EFORMAT)
		fprintf(stderr, "  want AQ_EFORMAT, got %d (%s)\n", rc, e.msg);
	return rc == AQ_EFORMAT && e.msg[0] && r.n == 0;
}

static void test_malformed(void)
{
	int32_t date[3] = {D("2022-04-01"), D("2022-04-02"), D("2022-04-03")};
	double val[3] = {1, 2, 3};
	struct aq_record_buf b;
	uint8_t big[AQ_RECORD_MAX_BYTES + 1];
	const char *j;

	aq_record_buf_init(&b);
	T_OK(aq_record_encode(AQ_REC_BINARY, 42, date, val, 3, &b, NULL));
	T_CHECK(bad("42", b.data, b.len - 1));               /* truncated */
	T_CHECK(bad("42", b.data, 10));                      /* truncated header */
	b.data[20] ^= 1;
	T_CHECK(bad("42", b.data, b.len));                   /* crc */
	b.data[20] ^= 1;
	T_CHECK(bad("43", b.data, b.len));                   /* key differs */
	T_CHECK(bad("042", b.data, b.len));                  /* key format */
	T_CHECK(bad("abc", b.data, b.len));
	T_CHECK(bad("", b.data, b.len));
	b.data[0] = 2;
	T_CHECK(bad("42", b.data, b.len));                   /* version */
	memset(big, '{', sizeof(big));
	T_CHECK(bad("42", big, sizeof(big)));                /* oversized */
	T_CHECK(bad("42", "", 0));
	j = "{\"account\":42,\"readings\":[[\"2022-04-01\",1.0]";
	T_CHECK(bad("42", j, strlen(j)));                    /* bad JSON */
	j = "{\"account\":\"42\",\"readings\":[[\"2022-04-01\",1.0]]}";
	T_CHECK(bad("42", j, strlen(j)));                    /* wrong type */
	j = "{\"account\":42,\"readings\":[[\"2022-04-01\",\"1.0\"]]}";
	T_CHECK(bad("42", j, strlen(j)));
	j = "{\"account\":42,\"readings\":[[\"2022-13-01\",1.0]]}";
	T_CHECK(bad("42", j, strlen(j)));                    /* bad date */
	j = "{\"account\":42,\"readings\":[[\"2022-04-02\",1.0],[\"2022-04-01\",1.0]]}";
	T_CHECK(bad("42", j, strlen(j)));                    /* not increasing */
	j = "{\"account\":-42,\"readings\":[[\"2022-04-01\",1.0]]}";
	T_CHECK(bad(NULL, j, strlen(j)));                    /* account range */
	j = "{\"account\":42,\"account\":42,\"readings\":[[\"2022-04-01\",1.0]]}";
	T_CHECK(bad("42", j, strlen(j)));                    /* duplicate member */
	j = "{\"account\":42,\"readings\":[]}";
	T_CHECK(bad("42", j, strlen(j)));
	j = "[1,2]";
	T_CHECK(bad(NULL, j, strlen(j)));
	/* encoder refuses what the decoder would */
	val[1] = INFINITY;
	T_CHECK(aq_record_encode(AQ_REC_BINARY, 42, date, val, 3, &b, NULL) == AQ_EINVAL);
	val[1] = 2;
	T_CHECK(aq_record_encode(AQ_REC_BINARY, 0, date, val, 3, &b, NULL) == AQ_EINVAL);
	date[2] = date[1];
	T_CHECK(aq_record_encode(AQ_REC_JSON, 42, date, val, 3, &b, NULL) == AQ_EINVAL);
	aq_record_buf_release(&b);
}

static void test_key(void)
{
	char k[AQ_RECORD_KEYLEN];
	int64_t a = 0;

	T_EQ_INT(aq_record_key(3216049, k), 7);
	T_CHECK(strcmp(k, "3216049") == 0);
	T_OK(aq_record_parse_key("140737488355327", 15, &a, NULL));
	T_EQ_INT(a, AQ_RECORD_ACCOUNT_MAX);
	T_CHECK(aq_record_parse_key("140737488355328", 15, &a, NULL) == AQ_EFORMAT);
	T_CHECK(aq_record_parse_key("99999999999999999999", 20, &a, NULL) == AQ_EFORMAT);
}

int main(void)
{
	T_RUN(test_binary_layout_dense);
	T_RUN(test_roundtrip_sparse_and_json);
	T_RUN(test_json_text);
	T_RUN(test_malformed);
	T_RUN(test_key);
	T_DONE();
}
