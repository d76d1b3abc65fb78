/* record.c — binary and JSON encodings of per-account reading messages for Kafka. */
#include "record.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <zlib.h>

#include "date.h"

#define HDR 16
#define TRAILER 4

void aq_record_init(struct aq_record *r)
{
	memset(r, 0, sizeof(*r));
}

void aq_record_release(struct aq_record *r)
{
	free(r->date);
	free(r->value);
	memset(r, 0, sizeof(*r));
}

void aq_record_buf_init(struct aq_record_buf *b)
{
	memset(b, 0, sizeof(*b));
}

void aq_record_buf_release(struct aq_record_buf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}

int aq_record_enc_parse(const char *s, enum aq_record_enc *enc, struct aq_err *e)
{
	if (!strcmp(s, "binary"))
		*enc = AQ_REC_BINARY;
	else if (!strcmp(s, "json"))
		*enc = AQ_REC_JSON;
	else
		return aq_err_set(e, AQ_EINVAL, "unknown encoding '%s' (binary or json)", s);
	return 0;
}

const char *aq_record_enc_name(enum aq_record_enc enc)
{
	return enc == AQ_REC_JSON ? "json" : "binary";
}

size_t aq_record_key(int64_t account, char *buf)
{
	return (size_t)snprintf(buf, AQ_RECORD_KEYLEN, "%" PRId64, account);
}

static int account_ok(int64_t a)
{
	return a >= 1 && a <= AQ_RECORD_ACCOUNT_MAX;
}

int aq_record_parse_key(const void *key, size_t len, int64_t *account, struct aq_err *e)
{
	const unsigned char *k = key;
	int64_t a = 0;
	size_t i;

	if (!k || len == 0)
		return aq_err_set(e, AQ_EFORMAT, "missing key");
	if (len > 19 || k[0] == '0')
		return aq_err_set(e, AQ_EFORMAT, "bad account key '%.*s'", (int)(len > 32 ? 32 : len), (const char *)k);
	for (i = 0; i < len; i++) {
		if (k[i] < '0' || k[i] > '9')
			return aq_err_set(e, AQ_EFORMAT, "bad account key '%.*s'", (int)(len > 32 ? 32 : len),
					  (const char *)k);
		if (a > AQ_RECORD_ACCOUNT_MAX / 10)
			return aq_err_set(e, AQ_EFORMAT, "account key out of range");
		a = a * 10 + (k[i] - '0');
	}
	if (!account_ok(a))
		return aq_err_set(e, AQ_EFORMAT, "account key %" PRId64 " out of range", a);
	*account = a;
	return 0;
}

static int buf_reserve(struct aq_record_buf *b, size_t cap, struct aq_err *e)
{
	uint8_t *p;

	if (cap <= b->cap)
		return 0;
	if (cap < 2 * b->cap)
		cap = 2 * b->cap;
	if (!(p = realloc(b->data, cap)))
		return aq_err_set(e, AQ_ENOMEM, "out of memory for a message of %zu bytes", cap);
	b->data = p;
	b->cap = cap;
	return 0;
}

static int rec_reserve(struct aq_record *r, size_t n, struct aq_err *e)
{
	int32_t *d;
	double *v;

	if (n <= r->cap)
		return 0;
	if (!(d = realloc(r->date, n * sizeof(*d))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory for %zu readings", n);
	r->date = d;
	if (!(v = realloc(r->value, n * sizeof(*v))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory for %zu readings", n);
	r->value = v;
	r->cap = n;
	return 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void putf64(uint8_t *p, double d)
{
	uint64_t u;

	memcpy(&u, &d, 8);
	put64(p, u);
}

static double getf64(const uint8_t *p)
{
	uint64_t u = get64(p);
	double d;

	memcpy(&d, &u, 8);
	return d;
}

static int check_input(int64_t account, const int32_t *date, const double *value, size_t n, struct aq_err *e)
{
	if (!account_ok(account))
		return aq_err_set(e, AQ_EINVAL, "account %" PRId64 " out of range", account);
	if (n == 0 || n > AQ_RECORD_MAX_READINGS)
		return aq_err_set(e, AQ_EINVAL, "%zu readings in one message (1..%d)", n, AQ_RECORD_MAX_READINGS);
	for (size_t i = 0; i < n; i++) {
		if (date[i] < AQ_DATE_MIN || date[i] > AQ_DATE_MAX || (i && date[i] <= date[i - 1]))
			return aq_err_set(e, AQ_EINVAL, "account %" PRId64 ": dates not increasing or out of range",
					  account);
		if (isinf(value[i]))
			return aq_err_set(e, AQ_EINVAL, "account %" PRId64 ": infinite consumption", account);
	}
	if (date[n - 1] - date[0] > UINT16_MAX)
		return aq_err_set(e, AQ_EINVAL, "account %" PRId64 ": message spans more than 65535 days", account);
	return 0;
}

static int encode_binary(int64_t account, const int32_t *date, const double *value, size_t n,
			 struct aq_record_buf *out, struct aq_err *e)
{
	int dense = date[n - 1] - date[0] == (int32_t)(n - 1);
	size_t len = HDR + n * (dense ? 8 : 10) + TRAILER;
	uint8_t *p;
	int rc;

	if ((rc = buf_reserve(out, len, e)))
		return rc;
	p = out->data;
	p[0] = AQ_RECORD_VERSION;
	p[1] = dense ? AQ_RECORD_FLAG_DENSE : 0;
	put16(p + 2, (uint16_t)n);
	put64(p + 4, (uint64_t)account);
	put32(p + 12, (uint32_t)date[0]);
	p += HDR;
	for (size_t i = 0; i < n; i++) {
		if (!dense) {
			put16(p, (uint16_t)(date[i] - date[0]));
			p += 2;
		}
		putf64(p, value[i]);
		p += 8;
	}
	put32(p, (uint32_t)crc32(0L, out->data, (uInt)(len - TRAILER)));
	out->len = len;
	return 0;
}

/* Shortest of %.15g/%.16g/%.17g that reads back to the same double. */
static int fmt_double(char *buf, size_t cap, double v)
{
	int len = 0;

	for (int prec = 15; prec <= 17; prec++) {
		len = snprintf(buf, cap, "%.*g", prec, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	return len;
}

static int encode_json(int64_t account, const int32_t *date, const double *value, size_t n,
		       struct aq_record_buf *out, struct aq_err *e)
{
	/* per reading at most ["YYYY-MM-DD",<24 chars>], */
	size_t cap = 64 + n * 44;
	char *p;
	int rc;

	if ((rc = buf_reserve(out, cap, e)))
		return rc;
	p = (char *)out->data;
	p += sprintf(p, "{\"account\":%" PRId64 ",\"readings\":[", account);
	for (size_t i = 0; i < n; i++) {
		char d[AQ_DATE_STRLEN];

		p += sprintf(p, "%s[\"%s\",", i ? "," : "", aq_date_format(date[i], d));
		if (isnan(value[i])) {
			memcpy(p, "null", 4);
			p += 4;
		} else {
			p += fmt_double(p, 32, value[i]);
		}
		*p++ = ']';
	}
	*p++ = ']';
	*p++ = '}';
	out->len = (size_t)(p - (char *)out->data);
	return 0;
}

int aq_record_encode(enum aq_record_enc enc, int64_t account, const int32_t *date, const double *value,
		     size_t n, struct aq_record_buf *out, struct aq_err *e)
{
	int rc;

	if ((rc = check_input(account, date, value, n, e)))
		return rc;
	if (enc == AQ_REC_JSON)
		return encode_json(account, date, value, n, out, e);
	if (enc == AQ_REC_BINARY)
		return encode_binary(account, date, value, n, out, e);
	return aq_err_set(e, AQ_EINVAL, "unknown encoding %d", (int)enc);
}

static int decode_binary(struct aq_record *r, const uint8_t *p, size_t len, struct aq_err *e)
{
	size_t n, want;
	int dense, rc;
	int32_t d0;
	const uint8_t *q;

	if (len < HDR + TRAILER)
		return aq_err_set(e, AQ_EFORMAT, "truncated binary record (%zu bytes)", len);
	if (p[0] != AQ_RECORD_VERSION)
		return aq_err_set(e, AQ_EFORMAT, "unknown record version %u", p[0]);
	if (p[1] & ~AQ_RECORD_FLAG_DENSE)
		return aq_err_set(e, AQ_EFORMAT, "unknown record flags 0x%02x", p[1]);
	dense = p[1] & AQ_RECORD_FLAG_DENSE;
	n = get16(p + 2);
	if (n == 0 || n > AQ_RECORD_MAX_READINGS)
		return aq_err_set(e, AQ_EFORMAT, "%zu readings in a record (1..%d)", n, AQ_RECORD_MAX_READINGS);
	want = HDR + n * (dense ? 8 : 10) + TRAILER;
	if (len != want)
		return aq_err_set(e, AQ_EFORMAT, "binary record of %zu bytes, %zu expected for %zu readings", len,
				  want, n);
	if (get32(p + len - TRAILER) != (uint32_t)crc32(0L, p, (uInt)(len - TRAILER)))
		return aq_err_set(e, AQ_EFORMAT, "record checksum mismatch");
	r->account = (int64_t)get64(p + 4);
	if (!account_ok(r->account))
		return aq_err_set(e, AQ_EFORMAT, "account %" PRId64 " out of range", r->account);
	d0 = (int32_t)get32(p + 12);
	if ((rc = rec_reserve(r, n, e)))
		return rc;
	q = p + HDR;
	for (size_t i = 0; i < n; i++) {
		int32_t off = (int32_t)i;

		if (!dense) {
			off = get16(q);
			q += 2;
			if ((i == 0 && off != 0) || (i && off <= r->date[i - 1] - d0))
				return aq_err_set(e, AQ_EFORMAT, "record day offsets not increasing");
		}
		r->date[i] = d0 + off;
		r->value[i] = getf64(q);
		q += 8;
		if (isinf(r->value[i]))
			return aq_err_set(e, AQ_EFORMAT, "infinite consumption");
	}
	if (d0 < AQ_DATE_MIN || r->date[n - 1] > AQ_DATE_MAX)
		return aq_err_set(e, AQ_EFORMAT, "record dates out of range");
	r->n = n;
	return 0;
}

static int decode_json(struct aq_record *r, const char *p, size_t len, struct aq_err *e)
{
	json_error_t je;
	json_t *root, *acc, *rd;
	size_t n, i;
	int rc = 0;

	if (!(root = json_loadb(p, len, JSON_REJECT_DUPLICATES, &je)))
		return aq_err_set(e, AQ_EFORMAT, "bad JSON at %d: %s", je.position, je.text);
	if (!json_is_object(root)) {
		rc = aq_err_set(e, AQ_EFORMAT, "JSON record is not an object");
		goto out;
	}
	acc = json_object_get(root, "account");
	rd = json_object_get(root, "readings");
	if (!json_is_integer(acc)) {
		rc = aq_err_set(e, AQ_EFORMAT, "JSON record: 'account' is not an integer");
		goto out;
	}
	r->account = json_integer_value(acc);
	if (!account_ok(r->account)) {
		rc = aq_err_set(e, AQ_EFORMAT, "account %" PRId64 " out of range", r->account);
		goto out;
	}
	if (!json_is_array(rd) || (n = json_array_size(rd)) == 0 || n > AQ_RECORD_MAX_READINGS) {
		rc = aq_err_set(e, AQ_EFORMAT, "JSON record: 'readings' is not an array of 1..%d readings",
				AQ_RECORD_MAX_READINGS);
		goto out;
	}
	if ((rc = rec_reserve(r, n, e)))
		goto out;
	for (i = 0; i < n; i++) {
		json_t *it = json_array_get(rd, i), *d, *v;

		if (!json_is_array(it) || json_array_size(it) != 2 || !json_is_string(d = json_array_get(it, 0)) ||
		    json_string_length(d) != 10) {
			rc = aq_err_set(e, AQ_EFORMAT, "JSON record: reading %zu is not [\"YYYY-MM-DD\", number]", i);
			goto out;
		}
		if ((rc = aq_date_parse(json_string_value(d), 10, &r->date[i], e)))
			goto out;
		if (r->date[i] < AQ_DATE_MIN || r->date[i] > AQ_DATE_MAX || (i && r->date[i] <= r->date[i - 1])) {
			rc = aq_err_set(e, AQ_EFORMAT, "JSON record: dates not increasing or out of range");
			goto out;
		}
		v = json_array_get(it, 1);
		if (json_is_null(v))
			r->value[i] = NAN;
		else if (json_is_number(v))
			r->value[i] = json_number_value(v);
		else {
			rc = aq_err_set(e, AQ_EFORMAT, "JSON record: consumption of reading %zu is not a number", i);
			goto out;
		}
	}
	r->n = n;
out:
	json_decref(root);
	return rc;
}

int aq_record_decode(struct aq_record *r, const void *key, size_t keylen, const void *val, size_t len,
		     struct aq_err *e)
{
	const uint8_t *p = val;
	int64_t kacc = 0;
	int rc;

	r->n = 0;
	if (!p || len == 0)
		return aq_err_set(e, AQ_EFORMAT, "empty message");
	if (len > AQ_RECORD_MAX_BYTES)
		return aq_err_set(e, AQ_EFORMAT, "oversized message (%zu bytes, limit %d)", len, AQ_RECORD_MAX_BYTES);
	if (key && (rc = aq_record_parse_key(key, keylen, &kacc, e)))
		return rc;
	if (p[0] == '{' || p[0] == ' ' || p[0] == '\n')
		rc = decode_json(r, val, len, e);
	else
		rc = decode_binary(r, p, len, e);
	if (rc) {
		r->n = 0;
		return rc;
	}
	if (key && kacc != r->account) {
		r->n = 0;
		return aq_err_set(e, AQ_EFORMAT, "key %" PRId64 " differs from the record's account %" PRId64, kacc,
				  r->account);
	}
	return 0;
}
