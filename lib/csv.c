/* csv.c — strict streaming reader of readings CSV: header mapping, exact number parsing, bad-row accounting. */
#include "csv.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "date.h"

#define MAX_COLS 256
#define ACCOUNT_LIMIT (INT64_C(1) << 47)

struct field {
	const char *p;
	size_t len;
	int quoted;
};

struct priv {
	char *carry;           /* an incomplete line kept between feeds */
	size_t carry_len, carry_cap;
	int started;           /* first line processed */
	char delim;
	int ncols;             /* columns per row (from the first line) */
	int c_date, c_acct, c_val;
	struct field *f;       /* MAX_COLS fields of the current line */
	uint64_t *keys;        /* duplicate detection: (account << 16 | date) of every row */
	size_t kcap, kcount;
};

static const struct aq_csv_opts default_opts = {
	.delim = 0, .max_bad = 0, .count_dups = 1, .chunk_rows = 65536,
};

int aq_csv_reader_init(struct aq_csv_reader *r, const struct aq_csv_opts *opts, struct aq_err *e)
{
	struct priv *p;

	memset(r, 0, sizeof(*r));
	r->opts = opts ? *opts : default_opts;
	if (!r->opts.chunk_rows)
		r->opts.chunk_rows = default_opts.chunk_rows;
	if (r->opts.delim && r->opts.delim != ',' && r->opts.delim != '\t' && r->opts.delim != ';')
		return aq_err_set(e, AQ_EINVAL, "unsupported csv delimiter '%c'", r->opts.delim);
	p = calloc(1, sizeof(*p));
	if (!p || !(p->f = calloc(MAX_COLS, sizeof(*p->f)))) {
		free(p);
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate csv reader");
	}
	p->delim = r->opts.delim;
	r->priv = p;
	return 0;
}

void aq_csv_reader_release(struct aq_csv_reader *r)
{
	struct priv *p = r->priv;

	if (p) {
		free(p->carry);
		free(p->f);
		free(p->keys);
		free(p);
	}
	r->priv = NULL;
}

/* ---- numbers ---- */

static int is_digit(char c) { return c >= '0' && c <= '9'; }

int aq_csv_parse_double(const char *s, size_t len, double *out)
{
	/* Exact powers of ten: 10^k is representable for k ≤ 22. */
	static const double p10[] = { 1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
				      1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22 };
	size_t i = 0, nd = 0, nint = 0, nfrac = 0;
	uint64_t m = 0;
	int neg = 0, sig = 0;
	long e10 = 0, ex = 0;
	char buf[128], *end;
	double v;

	if (i < len && (s[i] == '+' || s[i] == '-'))
		neg = s[i++] == '-';
	for (; i < len && is_digit(s[i]); i++, nint++) {
		if (m || s[i] != '0') {
			if (nd < 19)
				m = m * 10 + (uint64_t)(s[i] - '0');
			else
				e10++; /* dropped digit: only the fallback path can be exact here */
			nd++;
		}
	}
	if (i < len && s[i] == '.') {
		for (i++; i < len && is_digit(s[i]); i++, nfrac++) {
			if (m || s[i] != '0') {
				if (nd < 19) {
					m = m * 10 + (uint64_t)(s[i] - '0');
					e10--;
				}
				nd++;
			} else {
				e10--;
			}
		}
	}
	if (nint + nfrac == 0)
		return AQ_EFORMAT;
	if (i < len && (s[i] == 'e' || s[i] == 'E')) {
		int eneg = 0, edig = 0;

		i++;
		if (i < len && (s[i] == '+' || s[i] == '-'))
			eneg = s[i++] == '-';
		for (; i < len && is_digit(s[i]); i++, edig++)
			if (ex < 100000)
				ex = ex * 10 + (s[i] - '0');
		if (!edig)
			return AQ_EFORMAT;
		e10 += eneg ? -ex : ex;
		sig = 1;
	}
	if (i != len)
		return AQ_EFORMAT;
	/*
	 * Clinger (1990) fast path: m and 10^|e10| are both exact doubles, so one
	 * IEEE multiplication or division gives the correctly rounded result.
	 */
	if (nd <= 15 && m < (UINT64_C(1) << 53) && e10 >= -22 && e10 <= 22) {
		v = e10 >= 0 ? (double)m * p10[e10] : (double)m / p10[-e10];
		*out = neg ? -v : v;
		return 0;
	}
	(void)sig;
	if (len >= sizeof(buf))
		return AQ_EFORMAT;
	memcpy(buf, s, len);
	buf[len] = 0;
	errno = 0;
	v = strtod(buf, &end);
	if (end != buf + len || !isfinite(v))
		return AQ_EFORMAT;
	*out = v;
	return 0;
}

static int parse_account(const char *s, size_t len, int64_t *out)
{
	int64_t v = 0;

	if (!len || len > 15)
		return AQ_EFORMAT;
	for (size_t i = 0; i < len; i++) {
		if (!is_digit(s[i]))
			return AQ_EFORMAT;
		v = v * 10 + (s[i] - '0');
	}
	if (v <= 0 || v >= ACCOUNT_LIMIT)
		return AQ_EFORMAT;
	*out = v;
	return 0;
}

/* "YYYY-MM-DD" optionally followed by a midnight time part. */
static int parse_date(const char *s, size_t len, int32_t *out)
{
	if (len < 10 || aq_date_parse(s, 10, out, NULL))
		return AQ_EFORMAT;
	if (len > 10) {
		const char *t = s + 10;
		size_t tl = len - 10, i;

		if (tl < 9 || (t[0] != ' ' && t[0] != 'T') || memcmp(t + 1, "00:00:00", 8))
			return AQ_EFORMAT;
		i = 9;
		if (i < tl && t[i] == '.') {
			for (i++; i < tl && t[i] == '0'; i++)
				;
		}
		if (i != tl)
			return AQ_EFORMAT;
	}
	if (*out < AQ_DATE_MIN || *out > AQ_DATE_MAX)
		return AQ_EFORMAT;
	return 0;
}

static int is_missing_word(const char *s, size_t len)
{
	return len == 0 || (len == 3 && !strncasecmp(s, "nan", 3)) || (len == 4 && !strncasecmp(s, "null", 4)) ||
	       (len == 2 && !strncasecmp(s, "na", 2));
}

/* ---- lines ---- */

static int is_space(char c, char delim) { return c == ' ' || (c == '\t' && delim != '\t'); }

/* Split a line into fields; returns the count, or -1 with *why set. */
static int split(struct priv *p, const char *s, size_t len, const char **why)
{
	size_t i = 0;
	int n = 0;
	char d = p->delim;

	for (;;) {
		struct field *f;

		if (n == MAX_COLS) {
			*why = "too many columns";
			return -1;
		}
		f = &p->f[n++];
		while (i < len && is_space(s[i], d))
			i++;
		if (i < len && s[i] == '"') {
			size_t j = ++i;

			for (;;) {
				if (j >= len) {
					*why = "unterminated quote";
					return -1;
				}
				if (s[j] == '"') {
					if (j + 1 < len && s[j + 1] == '"') {
						j += 2;
						continue;
					}
					break;
				}
				j++;
			}
			f->p = s + i;
			f->len = j - i;
			f->quoted = 1;
			i = j + 1;
			while (i < len && is_space(s[i], d))
				i++;
			if (i < len && s[i] != d) {
				*why = "text after a closing quote";
				return -1;
			}
		} else {
			size_t j = i;

			while (j < len && s[j] != d)
				j++;
			f->p = s + i;
			f->len = j - i;
			f->quoted = 0;
			while (f->len && is_space(f->p[f->len - 1], d))
				f->len--;
			i = j;
		}
		if (i >= len)
			return n;
		i++; /* the delimiter */
	}
}

static char detect_delim(const char *s, size_t len)
{
	size_t c[3] = { 0, 0, 0 };
	int inq = 0;

	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"')
			inq = !inq;
		else if (!inq)
			c[0] += s[i] == ',', c[1] += s[i] == '\t', c[2] += s[i] == ';';
	}
	if (c[1] > c[0] && c[1] >= c[2])
		return '\t';
	if (c[2] > c[0] && c[2] > c[1])
		return ';';
	return ',';
}

static int field_is(const struct field *f, const char *name)
{
	return f->len == strlen(name) && !strncasecmp(f->p, name, f->len);
}

static int bad_row(struct aq_csv_reader *r, const char *why, const struct field *f, struct aq_err *e)
{
	struct aq_csv_stats *st = &r->stats;
	char msg[160];

	if (f)
		snprintf(msg, sizeof(msg), "%s '%.*s'", why, (int)(f->len > 40 ? 40 : f->len), f->p);
	else
		snprintf(msg, sizeof(msg), "%s", why);
	st->bad++;
	if (st->bad == 1) {
		st->first_bad_line = st->lines;
		snprintf(st->first_bad, sizeof(st->first_bad), "line %llu: %s", (unsigned long long)st->lines,
			 msg);
	}
	if (r->opts.on_bad)
		r->opts.on_bad(r->opts.on_bad_ctx, st->lines, msg);
	if (st->bad > r->opts.max_bad)
		return aq_err_set(e, AQ_EFORMAT, "bad csv row at line %llu: %s%s",
				  (unsigned long long)st->lines, msg,
				  r->opts.max_bad ? " (too many bad rows)" : "");
	return 0;
}

/* Remember a row's key; duplicates are counted once, at the end, by sorting. */
static int key_push(struct priv *p, uint64_t key)
{
	if (p->kcount == p->kcap) {
		size_t ncap = p->kcap ? p->kcap + p->kcap / 2 : 4096;
		uint64_t *nk = realloc(p->keys, ncap * sizeof(*nk));

		if (!nk)
			return -1;
		p->keys = nk;
		p->kcap = ncap;
	}
	p->keys[p->kcount++] = key;
	return 0;
}

/*
 * LSD radix sort of the keys, one byte per pass, skipping the passes whose byte
 * is the same in every key (keys use ~40 of 64 bits), then count adjacent equals.
 * Much faster than a hash set on millions of rows: sequential passes, no misses.
 */
static int count_dups(struct priv *p, uint64_t *dups)
{
	size_t n = p->kcount, cnt[8][256];
	uint64_t *a = p->keys, *b, *t;

	*dups = 0;
	if (n < 2)
		return 0;
	if (!(b = malloc(n * sizeof(*b))))
		return -1;
	memset(cnt, 0, sizeof(cnt));
	for (size_t i = 0; i < n; i++)
		for (int k = 0; k < 8; k++)
			cnt[k][(a[i] >> (8 * k)) & 255]++;
	for (int k = 0; k < 8; k++) {
		size_t sum = 0;
		int trivial = 0;

		for (int v = 0; v < 256; v++)
			trivial |= cnt[k][v] == n;
		if (trivial)
			continue;
		for (int v = 0; v < 256; v++) {
			size_t c = cnt[k][v];

			cnt[k][v] = sum;
			sum += c;
		}
		for (size_t i = 0; i < n; i++)
			b[cnt[k][(a[i] >> (8 * k)) & 255]++] = a[i];
		t = a, a = b, b = t;
	}
	for (size_t i = 1; i < n; i++)
		*dups += a[i] == a[i - 1];
	/* keep the sorted array as p->keys, free the other */
	if (a != p->keys) {
		free(p->keys);
		p->keys = a;
	} else {
		free(b);
	}
	p->kcap = n;
	return 0;
}

static int header_line(struct aq_csv_reader *r, int n, struct aq_err *e)
{
	struct priv *p = r->priv;
	static const char *names[3] = { "ConsumptionDate", "AccountOID", "Consumption" };
	int *slots[3] = { &p->c_date, &p->c_acct, &p->c_val };

	p->c_date = p->c_acct = p->c_val = -1;
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < 3; k++) {
			if (!field_is(&p->f[i], names[k]))
				continue;
			if (*slots[k] >= 0)
				return aq_err_set(e, AQ_EFORMAT, "duplicate column '%s' in csv header", names[k]);
			*slots[k] = i;
		}
	}
	for (int k = 0; k < 3; k++)
		if (*slots[k] < 0)
			return aq_err_set(e, AQ_EFORMAT, "missing column '%s' in csv header", names[k]);
	p->ncols = n;
	r->stats.header = 1;
	return 0;
}

static int data_line(struct aq_csv_reader *r, int n, struct aq_readings *out, struct aq_err *e)
{
	struct priv *p = r->priv;
	struct aq_csv_stats *st = &r->stats;
	const struct field *f = p->f;
	int32_t date;
	int64_t acct;
	double v;
	int rc;

	if (n != p->ncols) {
		char why[80];

		snprintf(why, sizeof(why), "wrong column count %d (want %d)", n, p->ncols);
		return bad_row(r, why, NULL, e);
	}
	if (parse_date(f[p->c_date].p, f[p->c_date].len, &date))
		return bad_row(r, "bad ConsumptionDate", &f[p->c_date], e);
	if (parse_account(f[p->c_acct].p, f[p->c_acct].len, &acct))
		return bad_row(r, "bad AccountOID", &f[p->c_acct], e);
	if (is_missing_word(f[p->c_val].p, f[p->c_val].len)) {
		v = NAN;
		st->missing++;
	} else if (aq_csv_parse_double(f[p->c_val].p, f[p->c_val].len, &v)) {
		return bad_row(r, "bad Consumption", &f[p->c_val], e);
	}
	if (r->opts.count_dups) {
		if (key_push(p, ((uint64_t)acct << 16) | (uint64_t)(date - AQ_DATE_MIN + 1)))
			return aq_err_set(e, AQ_ENOMEM, "cannot grow the csv duplicate keys");
	}
	if ((rc = aq_readings_push(out, date, acct, v, e)))
		return rc;
	if (!st->rows || date < st->min_date)
		st->min_date = date;
	if (!st->rows || date > st->max_date)
		st->max_date = date;
	st->rows++;
	return 0;
}

static int line(struct aq_csv_reader *r, const char *s, size_t len, struct aq_readings *out, struct aq_err *e)
{
	struct priv *p = r->priv;
	const char *why = NULL;
	int n, rc;

	r->stats.lines++;
	if (len && s[len - 1] == '\r')
		len--;
	if (!p->started && len >= 3 && !memcmp(s, "\xEF\xBB\xBF", 3))
		s += 3, len -= 3;
	{
		size_t i = 0;

		while (i < len && (s[i] == ' ' || s[i] == '\t'))
			i++;
		if (i == len) {
			r->stats.blank++;
			return 0;
		}
	}
	if (!p->started) {
		p->started = 1;
		if (!p->delim)
			p->delim = detect_delim(s, len);
		n = split(p, s, len, &why);
		if (n < 0)
			return aq_err_set(e, AQ_EFORMAT, "bad csv first line: %s", why);
		for (int i = 0; i < n; i++)
			if (field_is(&p->f[i], "ConsumptionDate"))
				return header_line(r, n, e);
		if (n == 3) {
			p->c_date = 0, p->c_acct = 1, p->c_val = 2;
		} else if (n == 4) {
			p->c_date = 1, p->c_acct = 2, p->c_val = 3;
		} else {
			return aq_err_set(e, AQ_EFORMAT,
					  "csv first line is neither a header nor a 3- or 4-column row (%d columns)", n);
		}
		p->ncols = n;
		return data_line(r, n, out, e);
	}
	n = split(p, s, len, &why);
	if (n < 0)
		return bad_row(r, why, NULL, e);
	rc = data_line(r, n, out, e);
	return rc;
}

static int carry_append(struct priv *p, const char *buf, size_t len, struct aq_err *e)
{
	if (p->carry_len + len > p->carry_cap) {
		size_t ncap = p->carry_cap ? p->carry_cap : 256;
		char *nb;

		while (ncap < p->carry_len + len)
			ncap *= 2;
		if (!(nb = realloc(p->carry, ncap)))
			return aq_err_set(e, AQ_ENOMEM, "cannot grow the csv line buffer");
		p->carry = nb;
		p->carry_cap = ncap;
	}
	memcpy(p->carry + p->carry_len, buf, len);
	p->carry_len += len;
	return 0;
}

int aq_csv_reader_feed(struct aq_csv_reader *r, const char *buf, size_t len, struct aq_readings *out,
		       struct aq_err *e)
{
	struct priv *p = r->priv;
	const char *end = buf + len, *nl;
	int rc;

	if (p->carry_len) {
		size_t total;

		nl = memchr(buf, '\n', len);
		if (!nl)
			return carry_append(p, buf, len, e);
		if ((rc = carry_append(p, buf, (size_t)(nl - buf), e)))
			return rc;
		total = p->carry_len;
		p->carry_len = 0;
		if ((rc = line(r, p->carry, total, out, e)))
			return rc;
		buf = nl + 1;
	}
	while (buf < end && (nl = memchr(buf, '\n', (size_t)(end - buf)))) {
		if ((rc = line(r, buf, (size_t)(nl - buf), out, e)))
			return rc;
		buf = nl + 1;
	}
	if (buf < end)
		return carry_append(p, buf, (size_t)(end - buf), e);
	return 0;
}

int aq_csv_reader_finish(struct aq_csv_reader *r, struct aq_readings *out, struct aq_err *e)
{
	struct priv *p = r->priv;
	size_t n = p->carry_len;
	int rc = 0;

	p->carry_len = 0;
	if (n && (rc = line(r, p->carry, n, out, e)))
		return rc;
	if (r->opts.count_dups && count_dups(p, &r->stats.dups))
		return aq_err_set(e, AQ_ENOMEM, "cannot sort the csv duplicate keys");
	return 0;
}

/* ---- files ---- */

int aq_csv_read_file(const char *path, const struct aq_csv_opts *opts, aq_csv_chunk_fn fn, void *ctx,
		     struct aq_csv_stats *stats, struct aq_err *e)
{
	struct aq_csv_reader r;
	struct aq_readings chunk;
	size_t bufsz = 1 << 20;
	char *buf = NULL;
	int fd, rc;

	if ((rc = aq_csv_reader_init(&r, opts, e)))
		return rc;
	aq_readings_init(&chunk);
	fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : 0;
	if (fd < 0) {
		rc = aq_err_sys(e, "cannot open '%s'", path);
		goto out;
	}
	if (!(buf = malloc(bufsz))) {
		rc = aq_err_set(e, AQ_ENOMEM, "cannot allocate read buffer");
		goto out;
	}
	for (;;) {
		ssize_t got = read(fd, buf, bufsz);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = aq_err_sys(e, "cannot read '%s'", path);
			goto out;
		}
		if (got == 0)
			rc = aq_csv_reader_finish(&r, &chunk, e);
		else
			rc = aq_csv_reader_feed(&r, buf, (size_t)got, &chunk, e);
		if (rc)
			goto out;
		if (chunk.n && (chunk.n >= r.opts.chunk_rows || got == 0)) {
			if ((rc = fn(ctx, &chunk, e)))
				goto out;
			chunk.n = 0;
		}
		if (got == 0)
			break;
	}
out:
	if (rc && rc != AQ_ENOMEM && strcmp(path, "-"))
		aq_err_prefix(e, "'%s'", path);
	if (!rc && !r.stats.rows && !r.opts.allow_empty)
		rc = strcmp(path, "-") ? aq_err_set(e, AQ_ENOTFOUND, "no readings in '%s'%s", path,
						    r.stats.bad ? " (every row was bad)" : "")
				       : aq_err_set(e, AQ_ENOTFOUND, "no readings on standard input%s",
						    r.stats.bad ? " (every row was bad)" : "");
	if (stats)
		*stats = r.stats;
	if (fd > 0)
		close(fd);
	free(buf);
	aq_readings_release(&chunk);
	aq_csv_reader_release(&r);
	return rc;
}

static int append_chunk(void *ctx, const struct aq_readings *c, struct aq_err *e)
{
	struct aq_readings *out = ctx;
	int rc;

	if ((rc = aq_readings_reserve(out, out->n + c->n, e)))
		return rc;
	memcpy(out->date + out->n, c->date, c->n * sizeof(*c->date));
	memcpy(out->account + out->n, c->account, c->n * sizeof(*c->account));
	memcpy(out->value + out->n, c->value, c->n * sizeof(*c->value));
	out->n += c->n;
	return 0;
}

int aq_csv_load(const char *path, const struct aq_csv_opts *opts, struct aq_readings *out,
		struct aq_csv_stats *stats, struct aq_err *e)
{
	return aq_csv_read_file(path, opts, append_chunk, out, stats, e);
}
