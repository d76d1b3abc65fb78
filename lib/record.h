/* record.h — the Kafka message encoding of readings: one account, a run of days (docs/formats.md). */
#ifndef AQ_RECORD_H
#define AQ_RECORD_H

/*
 * A message carries the readings of one account over a range of days; its
 * key is the AccountOID in decimal ASCII (so one account stays in one
 * partition, in order). Two value encodings, told apart by the first byte:
 *
 * Binary v1 (default), little-endian, 20 + 8n bytes (dense) or 20 + 10n:
 *   0  u8   version = 1
 *   1  u8   flags: bit 0 = dense (days date0 .. date0+n-1, no offsets)
 *   2  u16  n readings, 1 .. AQ_RECORD_MAX_READINGS
 *   4  i64  AccountOID, 1 .. 2^47-1
 *   12 i32  date0, days since 1970-01-01
 *   16      dense: n × f64 consumption;
 *           sparse: n × { u16 day offset from date0 (strictly increasing,
 *           the first 0), f64 consumption }
 *   end-4 u32 CRC-32 (ISO-HDLC, zlib's crc32) of every byte before it
 * NaN consumption is a missing reading; ±Inf is refused.
 *
 * JSON ('{' first): {"account":3216049,"readings":[["2022-04-01",1.127],
 *   ["2022-04-02",null],...]}; null = missing; members in any order, others
 *   ignored. Decoded with jansson (duplicate keys refused).
 *
 * Decoding validates everything (sizes, CRC, ranges, increasing dates, the
 * key equal to the account) and fails with AQ_EFORMAT and a reason; the
 * consumer counts such messages and skips them.
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define AQ_RECORD_VERSION 1
#define AQ_RECORD_FLAG_DENSE 0x01
#define AQ_RECORD_MAX_READINGS 4096
/* Larger values are refused before parsing (JSON of 4096 readings stays below). */
#define AQ_RECORD_MAX_BYTES (256 * 1024)
#define AQ_RECORD_ACCOUNT_MAX ((INT64_C(1) << 47) - 1)
#define AQ_RECORD_KEYLEN 24

enum aq_record_enc { AQ_REC_BINARY = 1, AQ_REC_JSON = 2 };

/* A decoded message (arrays reused across decodes). */
struct aq_record {
	int64_t account;
	size_t n, cap;
	int32_t *date;
	double *value;
};

/* A growable output buffer for encoding. */
struct aq_record_buf {
	uint8_t *data;
	size_t len, cap;
};

void aq_record_init(struct aq_record *r);
void aq_record_release(struct aq_record *r);
void aq_record_buf_init(struct aq_record_buf *b);
void aq_record_buf_release(struct aq_record_buf *b);

/* "binary" / "json" → enc; AQ_EINVAL otherwise. */
int aq_record_enc_parse(const char *s, enum aq_record_enc *enc, struct aq_err *e);
const char *aq_record_enc_name(enum aq_record_enc enc);

/* Writes the decimal key of account into buf (AQ_RECORD_KEYLEN bytes); returns its length. */
size_t aq_record_key(int64_t account, char *buf);
/* Parses a key: 1-19 decimal digits, no sign or leading zero, within the account range. */
int aq_record_parse_key(const void *key, size_t len, int64_t *account, struct aq_err *e);

/*
 * Encode n readings of one account (dates strictly increasing) into out
 * (replacing its contents). AQ_EINVAL on a bad argument.
 */
int aq_record_encode(enum aq_record_enc enc, int64_t account, const int32_t *date, const double *value,
		     size_t n, struct aq_record_buf *out, struct aq_err *e);

/*
 * Decode a message value into r. When key is not NULL it must parse and
 * equal the account in the value. AQ_EFORMAT with the reason otherwise.
 */
int aq_record_decode(struct aq_record *r, const void *key, size_t keylen, const void *val, size_t len,
		     struct aq_err *e);

#endif
