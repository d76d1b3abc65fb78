/* parquet.c — writer and mmap'd, bounds-checked reader of the aquacast Parquet subset (docs/formats.md). */
#include "parquet.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "thrift.h"

#if !defined(__BYTE_ORDER__) || __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "parquet.c assumes a little-endian host (PLAIN values are copied as they lie in memory)"
#endif

/* parquet.thrift enums */
enum { PT_INT32 = 1, PT_INT64 = 2, PT_DOUBLE = 5, PT_BYTE_ARRAY = 6 };
enum { CT_UTF8 = 0, CT_DATE = 6 };
enum { LT_STRING = 1, LT_DATE = 6 };
enum { REP_REQUIRED = 0, REP_OPTIONAL = 1, REP_REPEATED = 2 };
enum { ENC_PLAIN = 0, ENC_PLAIN_DICTIONARY = 2, ENC_RLE = 3, ENC_BIT_PACKED = 4, ENC_RLE_DICTIONARY = 8 };
enum { PAGE_DATA = 0, PAGE_INDEX = 1, PAGE_DICTIONARY = 2, PAGE_DATA_V2 = 3 };

#define PQ_MAGIC "PAR1"
#define CREATED_BY "aquacast version 0.1"
#define DEFAULT_PAGE_ROWS 65536
#define DEFAULT_RG_ROWS (1u << 20)
#define MAX_BYTES_STAT 256 /* longer BYTE_ARRAY min/max are not written */
#define OUTBUF_SIZE (1u << 20)
#define MAX_ROWS ((int64_t)1 << 40) /* more rows in one file is taken as a corrupt footer */

static const char *const enc_names[] = {
	"PLAIN", "GROUP_VAR_INT", "PLAIN_DICTIONARY", "RLE", "BIT_PACKED", "DELTA_BINARY_PACKED",
	"DELTA_LENGTH_BYTE_ARRAY", "DELTA_BYTE_ARRAY", "RLE_DICTIONARY", "BYTE_STREAM_SPLIT",
};
static const char *const codec_names[] = {
	"UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD", "LZ4_RAW",
};
static const char *const ptype_names[] = {
	"BOOLEAN", "INT32", "INT64", "INT96", "FLOAT", "DOUBLE", "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY",
};

static const char *enc_name(int e)
{
	return e >= 0 && e < (int)(sizeof(enc_names) / sizeof(*enc_names)) ? enc_names[e] : "unknown";
}

static const char *codec_name(int c)
{
	return c >= 0 && c < (int)(sizeof(codec_names) / sizeof(*codec_names)) ? codec_names[c] : "unknown";
}

const char *aq_pq_type_name(enum aq_pq_type t)
{
	switch (t) {
	case AQ_PQ_INT32: return "INT32";
	case AQ_PQ_INT64: return "INT64";
	case AQ_PQ_DOUBLE: return "DOUBLE";
	case AQ_PQ_BYTES: return "BYTE_ARRAY";
	}
	return "?";
}

static int phys_of(enum aq_pq_type t)
{
	switch (t) {
	case AQ_PQ_INT32: return PT_INT32;
	case AQ_PQ_INT64: return PT_INT64;
	case AQ_PQ_DOUBLE: return PT_DOUBLE;
	case AQ_PQ_BYTES: return PT_BYTE_ARRAY;
	}
	return -1;
}

static size_t width_of(enum aq_pq_type t)
{
	return t == AQ_PQ_INT32 ? 4 : t == AQ_PQ_BYTES ? 0 : 8;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* ======================================================================
 * Writer
 * ==================================================================== */

struct wchunk {
	int64_t data_off, comp, uncomp, nvals;
	int has_minmax;
	uint8_t min[8], max[8];       /* fixed-width: little-endian value */
	uint8_t *bmin, *bmax;         /* BYTE_ARRAY (malloc'd) */
	size_t bminlen, bmaxlen;
};

struct wrg {
	int64_t nrows, uncomp, comp, file_off;
	struct wchunk *c;
};

struct aq_pq_scratch {
	ZSTD_CCtx *cctx;
	int level;                    /* level set on cctx, 0 = none yet */
	uint8_t *cbuf, *pbuf, *obuf;
	size_t cbufcap, pbufcap, olen;
	struct aq_tw tw;
};

struct wpriv {
	struct wrg *rg;
	int nrg, caprg;
	struct aq_pq_scratch *s;
	int own_s;
};

struct aq_pq_scratch *aq_pq_scratch_new(void)
{
	struct aq_pq_scratch *s = calloc(1, sizeof(*s));

	if (s && !(s->obuf = malloc(OUTBUF_SIZE))) {
		free(s);
		return NULL;
	}
	if (s)
		aq_tw_init(&s->tw);
	return s;
}

void aq_pq_scratch_free(struct aq_pq_scratch *s)
{
	if (!s)
		return;
	ZSTD_freeCCtx(s->cctx);
	free(s->cbuf);
	free(s->pbuf);
	free(s->obuf);
	aq_tw_release(&s->tw);
	free(s);
}

static void wpriv_free(struct wpriv *p, int ncols)
{
	if (!p)
		return;
	for (int i = 0; i < p->nrg; i++) {
		for (int c = 0; c < ncols; c++) {
			free(p->rg[i].c[c].bmin);
			free(p->rg[i].c[c].bmax);
		}
		free(p->rg[i].c);
	}
	free(p->rg);
	if (p->own_s)
		aq_pq_scratch_free(p->s);
	free(p);
}

static int w_flush(struct aq_pq_writer *w, struct aq_err *e)
{
	struct aq_pq_scratch *s = ((struct wpriv *)w->priv)->s;
	int r = 0;

	if (s->olen)
		r = aq_afile_write(&w->file, s->obuf, s->olen, e);
	s->olen = 0;
	return r;
}

/* Buffered append to the file; large blocks bypass the buffer. */
static int w_out(struct aq_pq_writer *w, const void *buf, size_t len, struct aq_err *e)
{
	struct aq_pq_scratch *s = ((struct wpriv *)w->priv)->s;
	int r;

	w->offset += len;
	if (s->olen + len <= OUTBUF_SIZE) {
		memcpy(s->obuf + s->olen, buf, len);
		s->olen += len;
		return 0;
	}
	if ((r = w_flush(w, e)))
		return r;
	if (len >= OUTBUF_SIZE / 2)
		return aq_afile_write(&w->file, buf, len, e);
	memcpy(s->obuf, buf, len);
	s->olen = len;
	return 0;
}

static int grow(uint8_t **buf, size_t *cap, size_t need)
{
	uint8_t *b;
	size_t c = *cap ? *cap : 4096;

	if (need <= *cap)
		return 0;
	while (c < need)
		c *= 2;
	b = realloc(*buf, c);
	if (!b)
		return -1;
	*buf = b;
	*cap = c;
	return 0;
}

static int schema_valid(const struct aq_pq_schema *s, struct aq_err *e)
{
	if (!s || s->ncols <= 0 || !s->cols || !s->name)
		return aq_err_set(e, AQ_EINVAL, "parquet schema without columns");
	for (int i = 0; i < s->ncols; i++) {
		const struct aq_pq_column *c = &s->cols[i];

		if (!c->name || !*c->name)
			return aq_err_set(e, AQ_EINVAL, "parquet schema '%s': column %d has no name", s->name, i);
		if (phys_of(c->type) < 0)
			return aq_err_set(e, AQ_EINVAL, "parquet schema '%s': column '%s' has a bad type", s->name, c->name);
		if ((c->logical == AQ_PQ_DATE && c->type != AQ_PQ_INT32) ||
		    (c->logical == AQ_PQ_STRING && c->type != AQ_PQ_BYTES))
			return aq_err_set(e, AQ_EINVAL, "parquet schema '%s': column '%s': logical type does not fit %s",
					  s->name, c->name, aq_pq_type_name(c->type));
	}
	return 0;
}

int aq_pq_writer_open_shared(struct aq_pq_writer *w, const char *path, const struct aq_pq_schema *s,
			     const struct aq_pq_write_opts *o, struct aq_pq_scratch *scratch, struct aq_err *e)
{
	struct wpriv *p;
	int r;

	memset(w, 0, sizeof(*w));
	w->file.fd = -1;
	if ((r = schema_valid(s, e)))
		return r;
	w->schema = s;
	if (o)
		w->opts = *o;
	if (w->opts.codec != AQ_PQ_UNCOMPRESSED && w->opts.codec != AQ_PQ_ZSTD)
		return aq_err_set(e, AQ_EINVAL, "'%s': unsupported codec %d", path, (int)w->opts.codec);
	if (w->opts.codec == AQ_PQ_UNCOMPRESSED && w->opts.zstd_level == 0)
		w->opts.codec = AQ_PQ_ZSTD; /* a zeroed struct: the default codec */
	if (w->opts.codec == AQ_PQ_ZSTD && w->opts.zstd_level == 0)
		w->opts.zstd_level = 3;
	if (w->opts.codec == AQ_PQ_ZSTD && (w->opts.zstd_level < 0 || w->opts.zstd_level > ZSTD_maxCLevel()))
		return aq_err_set(e, AQ_EINVAL, "'%s': bad zstd level %d", path, w->opts.zstd_level);
	if (!w->opts.page_rows)
		w->opts.page_rows = DEFAULT_PAGE_ROWS;
	if (!w->opts.row_group_rows)
		w->opts.row_group_rows = DEFAULT_RG_ROWS;
	p = calloc(1, sizeof(*p));
	if (!p)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	p->s = scratch;
	if (!p->s) {
		p->s = aq_pq_scratch_new();
		p->own_s = 1;
		if (!p->s) {
			free(p);
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		}
	}
	w->priv = p;
	if ((r = aq_afile_open(&w->file, path, e))) {
		wpriv_free(p, s->ncols);
		w->priv = NULL;
		return r;
	}
	if ((r = w_out(w, PQ_MAGIC, 4, e)) || (r = w_flush(w, e))) {
		aq_pq_writer_abort(w);
		return r;
	}
	return 0;
}

int aq_pq_writer_open(struct aq_pq_writer *w, const char *path, const struct aq_pq_schema *s,
		      const struct aq_pq_write_opts *o, struct aq_err *e)
{
	return aq_pq_writer_open_shared(w, path, s, o, NULL, e);
}

void aq_pq_writer_abort(struct aq_pq_writer *w)
{
	if (w->priv)
		wpriv_free(w->priv, w->schema->ncols);
	w->priv = NULL;
	if (w->file.tmp || w->file.fd >= 0)
		aq_afile_abort(&w->file);
}

/* One data page v1: header (with CRC-32 of the stored bytes) then the PLAIN values, maybe compressed. */
static int write_page(struct aq_pq_writer *w, const uint8_t *plain, size_t plen, size_t nvals,
		      struct wchunk *c, struct aq_err *e)
{
	struct aq_pq_scratch *p = ((struct wpriv *)w->priv)->s;
	const uint8_t *data = plain;
	size_t dlen = plen;
	uint32_t crc;
	int r;

	if (w->opts.codec == AQ_PQ_ZSTD) {
		size_t bound = ZSTD_compressBound(plen), z;

		if (!p->cctx && !(p->cctx = ZSTD_createCCtx()))
			return aq_err_set(e, AQ_ENOMEM, "cannot create a zstd context");
		if (p->level != w->opts.zstd_level) {
			z = ZSTD_CCtx_setParameter(p->cctx, ZSTD_c_compressionLevel, w->opts.zstd_level);
			if (ZSTD_isError(z))
				return aq_err_set(e, AQ_EINVAL, "zstd level %d: %s", w->opts.zstd_level,
						  ZSTD_getErrorName(z));
			p->level = w->opts.zstd_level;
		}
		if (grow(&p->cbuf, &p->cbufcap, bound))
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		z = ZSTD_compress2(p->cctx, p->cbuf, p->cbufcap, plain, plen);
		if (ZSTD_isError(z))
			return aq_err_set(e, AQ_EIO, "'%s': zstd: %s", w->file.path, ZSTD_getErrorName(z));
		data = p->cbuf;
		dlen = z;
	}
	if (plen > INT32_MAX || dlen > INT32_MAX || nvals > INT32_MAX)
		return aq_err_set(e, AQ_EINVAL, "'%s': page too large (%zu bytes)", w->file.path, plen);
	crc = (uint32_t)crc32(0L, data, (uInt)dlen);
	aq_tw_reset(&p->tw);
	aq_tw_struct_begin(&p->tw);
	aq_tw_field_i32(&p->tw, 1, PAGE_DATA);
	aq_tw_field_i32(&p->tw, 2, (int32_t)plen);
	aq_tw_field_i32(&p->tw, 3, (int32_t)dlen);
	aq_tw_field_i32(&p->tw, 4, (int32_t)crc);
	aq_tw_field(&p->tw, AQ_TC_STRUCT, 5);
	aq_tw_struct_begin(&p->tw);
	aq_tw_field_i32(&p->tw, 1, (int32_t)nvals);
	aq_tw_field_i32(&p->tw, 2, ENC_PLAIN);
	aq_tw_field_i32(&p->tw, 3, ENC_RLE);
	aq_tw_field_i32(&p->tw, 4, ENC_RLE);
	aq_tw_struct_end(&p->tw);
	aq_tw_struct_end(&p->tw);
	if (p->tw.oom)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	c->comp += (int64_t)(p->tw.len + dlen);
	c->uncomp += (int64_t)(p->tw.len + plen);
	if ((r = w_out(w, p->tw.buf, p->tw.len, e)) || (r = w_out(w, data, dlen, e)))
		return r;
	return 0;
}

/* min/max of a fixed-width column chunk (NaN never enters; -0.0/+0.0 as the spec asks). */
static void fixed_stats(enum aq_pq_type t, const void *vals, size_t n, struct wchunk *c)
{
	c->has_minmax = 0;
	if (!n)
		return;
	if (t == AQ_PQ_INT32) {
		const int32_t *v = vals;
		int32_t mn = v[0], mx = v[0];

		for (size_t i = 1; i < n; i++) {
			mn = v[i] < mn ? v[i] : mn;
			mx = v[i] > mx ? v[i] : mx;
		}
		memcpy(c->min, &mn, 4);
		memcpy(c->max, &mx, 4);
		c->has_minmax = 1;
	} else if (t == AQ_PQ_INT64) {
		const int64_t *v = vals;
		int64_t mn = v[0], mx = v[0];

		for (size_t i = 1; i < n; i++) {
			mn = v[i] < mn ? v[i] : mn;
			mx = v[i] > mx ? v[i] : mx;
		}
		memcpy(c->min, &mn, 8);
		memcpy(c->max, &mx, 8);
		c->has_minmax = 1;
	} else {
		const double *v = vals;
		double mn = INFINITY, mx = -INFINITY;
		int any = 0;

		for (size_t i = 0; i < n; i++) {
			double x = v[i];

			if (x == x) {
				any = 1;
				mn = x < mn ? x : mn;
				mx = x > mx ? x : mx;
			}
		}
		if (!any)
			return;
		if (mn == 0)
			mn = -0.0;
		if (mx == 0)
			mx = 0.0;
		memcpy(c->min, &mn, 8);
		memcpy(c->max, &mx, 8);
		c->has_minmax = 1;
	}
}

static int bytes_cmp(const uint8_t *a, size_t la, const uint8_t *b, size_t lb)
{
	size_t l = la < lb ? la : lb;
	int r = l ? memcmp(a, b, l) : 0; /* data may be NULL when every value is empty */

	return r ? r : (la > lb) - (la < lb);
}

static int bytes_stats(const struct aq_pq_bytes *b, size_t n, struct wchunk *c)
{
	size_t imin = 0, imax = 0;

	c->has_minmax = 0;
	if (!n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		const uint8_t *v = b->data + b->off[i];
		size_t l = b->off[i + 1] - b->off[i];

		if (bytes_cmp(v, l, b->data + b->off[imin], b->off[imin + 1] - b->off[imin]) < 0)
			imin = i;
		if (bytes_cmp(v, l, b->data + b->off[imax], b->off[imax + 1] - b->off[imax]) > 0)
			imax = i;
	}
	c->bminlen = b->off[imin + 1] - b->off[imin];
	c->bmaxlen = b->off[imax + 1] - b->off[imax];
	if (c->bminlen > MAX_BYTES_STAT || c->bmaxlen > MAX_BYTES_STAT)
		return 0;
	c->bmin = malloc(c->bminlen + 1);
	c->bmax = malloc(c->bmaxlen + 1);
	if (!c->bmin || !c->bmax)
		return -1;
	if (c->bminlen)
		memcpy(c->bmin, b->data + b->off[imin], c->bminlen);
	if (c->bmaxlen)
		memcpy(c->bmax, b->data + b->off[imax], c->bmaxlen);
	c->has_minmax = 1;
	return 0;
}

static int write_column(struct aq_pq_writer *w, size_t nrows, int col, const void *vals, struct wchunk *c,
			struct aq_err *e)
{
	struct aq_pq_scratch *p = ((struct wpriv *)w->priv)->s;
	const struct aq_pq_column *cd = &w->schema->cols[col];
	size_t width = width_of(cd->type), pr = w->opts.page_rows;
	int r;

	c->data_off = (int64_t)w->offset;
	c->nvals = (int64_t)nrows;
	if (width) {
		fixed_stats(cd->type, vals, nrows, c);
		for (size_t s = 0; s < nrows; s += pr) {
			size_t m = nrows - s < pr ? nrows - s : pr;

			if ((r = write_page(w, (const uint8_t *)vals + s * width, m * width, m, c, e)))
				return r;
		}
		return 0;
	}
	{
		const struct aq_pq_bytes *b = vals;

		if (!b->off || (!b->data && b->off[nrows] != b->off[0]))
			return aq_err_set(e, AQ_EINVAL, "'%s': column '%s': no data", w->file.path, cd->name);
		for (size_t i = 0; i < nrows; i++)
			if (b->off[i + 1] < b->off[i] || b->off[i + 1] - b->off[i] > INT32_MAX)
				return aq_err_set(e, AQ_EINVAL, "'%s': column '%s': bad offsets at row %zu",
						  w->file.path, cd->name, i);
		if (bytes_stats(b, nrows, c))
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		for (size_t s = 0; s < nrows;) {
			size_t m = 0, len = 0;

			/* a page: up to page_rows values, cut early past ~1 MiB of data */
			while (s + m < nrows && m < pr && (m == 0 || len < (1u << 20))) {
				len += 4 + (size_t)(b->off[s + m + 1] - b->off[s + m]);
				m++;
			}
			if (grow(&p->pbuf, &p->pbufcap, len))
				return aq_err_set(e, AQ_ENOMEM, "out of memory");
			len = 0;
			for (size_t i = s; i < s + m; i++) {
				size_t l = (size_t)(b->off[i + 1] - b->off[i]);

				put_le32(p->pbuf + len, (uint32_t)l);
				if (l)
					memcpy(p->pbuf + len + 4, b->data + b->off[i], l);
				len += 4 + l;
			}
			if ((r = write_page(w, p->pbuf, len, m, c, e)))
				return r;
			s += m;
		}
	}
	return 0;
}

static int write_rg(struct aq_pq_writer *w, size_t nrows, const void *const *cols, size_t first,
		    struct aq_err *e)
{
	struct wpriv *p = w->priv;
	const struct aq_pq_schema *s = w->schema;
	struct wrg *g;
	int r;

	if (p->nrg == p->caprg) {
		int nc = p->caprg ? p->caprg * 2 : 8;
		struct wrg *n = realloc(p->rg, (size_t)nc * sizeof(*n));

		if (!n)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		p->rg = n;
		p->caprg = nc;
	}
	g = &p->rg[p->nrg];
	memset(g, 0, sizeof(*g));
	g->c = calloc((size_t)s->ncols, sizeof(*g->c));
	if (!g->c)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	p->nrg++;
	g->nrows = (int64_t)nrows;
	g->file_off = (int64_t)w->offset;
	for (int i = 0; i < s->ncols; i++) {
		size_t width = width_of(s->cols[i].type);
		struct aq_pq_bytes sub;
		const void *v;

		if (width) {
			v = (const uint8_t *)cols[i] + first * width;
		} else {
			sub = *(const struct aq_pq_bytes *)cols[i];
			sub.off += first;
			v = &sub;
		}
		if ((r = write_column(w, nrows, i, v, &g->c[i], e)))
			return r;
		g->uncomp += g->c[i].uncomp;
		g->comp += g->c[i].comp;
	}
	w->nrows += nrows;
	return 0;
}

int aq_pq_writer_write(struct aq_pq_writer *w, size_t nrows, const void *const *cols, struct aq_err *e)
{
	int r;

	if (!w->priv)
		return aq_err_set(e, AQ_ESTATE, "parquet writer is not open");
	for (int i = 0; i < w->schema->ncols; i++)
		if (!cols[i] && nrows)
			return aq_err_set(e, AQ_EINVAL, "'%s': column '%s' has no data", w->file.path,
					  w->schema->cols[i].name);
	for (size_t s = 0; s < nrows; s += w->opts.row_group_rows) {
		size_t m = nrows - s < w->opts.row_group_rows ? nrows - s : w->opts.row_group_rows;

		if ((r = write_rg(w, m, cols, s, e)))
			return r;
	}
	/* the output buffer may be shared: leave it empty between calls */
	return w_flush(w, e);
}

static void enc_stats(struct aq_tw *t, enum aq_pq_type ty, const struct wchunk *c)
{
	size_t wd = width_of(ty);

	aq_tw_field(t, AQ_TC_STRUCT, 12);
	aq_tw_struct_begin(t);
	if (c->has_minmax && wd) {
		/* deprecated max/min (1, 2): numeric types only — their legacy order is signed */
		aq_tw_field_binary(t, 1, c->max, wd);
		aq_tw_field_binary(t, 2, c->min, wd);
	}
	aq_tw_field_i64(t, 3, 0); /* null_count */
	if (c->has_minmax) {
		if (wd) {
			aq_tw_field_binary(t, 5, c->max, wd);
			aq_tw_field_binary(t, 6, c->min, wd);
		} else {
			aq_tw_field_binary(t, 5, c->bmax, c->bmaxlen);
			aq_tw_field_binary(t, 6, c->bmin, c->bminlen);
		}
	}
	aq_tw_struct_end(t);
}

static void enc_footer(struct aq_pq_writer *w, struct aq_tw *t)
{
	const struct aq_pq_schema *s = w->schema;
	struct wpriv *p = w->priv;
	char ver[16];

	aq_tw_reset(t);
	aq_tw_struct_begin(t);
	aq_tw_field_i32(t, 1, 2); /* version */
	aq_tw_field(t, AQ_TC_LIST, 2);
	aq_tw_list(t, AQ_TC_STRUCT, (uint32_t)s->ncols + 1);
	aq_tw_struct_begin(t);
	aq_tw_field_string(t, 4, "schema");
	aq_tw_field_i32(t, 5, s->ncols);
	aq_tw_struct_end(t);
	for (int i = 0; i < s->ncols; i++) {
		const struct aq_pq_column *c = &s->cols[i];

		aq_tw_struct_begin(t);
		aq_tw_field_i32(t, 1, phys_of(c->type));
		aq_tw_field_i32(t, 3, REP_REQUIRED);
		aq_tw_field_string(t, 4, c->name);
		if (c->logical != AQ_PQ_NONE) {
			aq_tw_field_i32(t, 6, c->logical == AQ_PQ_DATE ? CT_DATE : CT_UTF8);
			aq_tw_field(t, AQ_TC_STRUCT, 10);
			aq_tw_struct_begin(t);
			aq_tw_field(t, AQ_TC_STRUCT, c->logical == AQ_PQ_DATE ? LT_DATE : LT_STRING);
			aq_tw_struct_begin(t);
			aq_tw_struct_end(t);
			aq_tw_struct_end(t);
		}
		aq_tw_struct_end(t);
	}
	aq_tw_field_i64(t, 3, (int64_t)w->nrows);
	aq_tw_field(t, AQ_TC_LIST, 4);
	aq_tw_list(t, AQ_TC_STRUCT, (uint32_t)p->nrg);
	for (int g = 0; g < p->nrg; g++) {
		const struct wrg *rg = &p->rg[g];

		aq_tw_struct_begin(t);
		aq_tw_field(t, AQ_TC_LIST, 1);
		aq_tw_list(t, AQ_TC_STRUCT, (uint32_t)s->ncols);
		for (int i = 0; i < s->ncols; i++) {
			const struct wchunk *c = &rg->c[i];

			aq_tw_struct_begin(t);
			aq_tw_field_i64(t, 2, c->data_off); /* file_offset: start of the chunk */
			aq_tw_field(t, AQ_TC_STRUCT, 3);
			aq_tw_struct_begin(t);
			aq_tw_field_i32(t, 1, phys_of(s->cols[i].type));
			aq_tw_field(t, AQ_TC_LIST, 2);
			aq_tw_list(t, AQ_TC_I32, 2);
			aq_tw_i32(t, ENC_PLAIN);
			aq_tw_i32(t, ENC_RLE);
			aq_tw_field(t, AQ_TC_LIST, 3);
			aq_tw_list(t, AQ_TC_BINARY, 1);
			aq_tw_string(t, s->cols[i].name);
			aq_tw_field_i32(t, 4, (int32_t)w->opts.codec);
			aq_tw_field_i64(t, 5, c->nvals);
			aq_tw_field_i64(t, 6, c->uncomp);
			aq_tw_field_i64(t, 7, c->comp);
			aq_tw_field_i64(t, 9, c->data_off);
			enc_stats(t, s->cols[i].type, c);
			aq_tw_struct_end(t);
			aq_tw_struct_end(t);
		}
		aq_tw_field_i64(t, 2, rg->uncomp);
		aq_tw_field_i64(t, 3, rg->nrows);
		aq_tw_field_i64(t, 5, rg->file_off);
		aq_tw_field_i64(t, 6, rg->comp);
		aq_tw_field(t, AQ_TC_I16, 7);
		aq_tw_i32(t, g);
		aq_tw_struct_end(t);
	}
	snprintf(ver, sizeof(ver), "%d", s->version);
	aq_tw_field(t, AQ_TC_LIST, 5);
	aq_tw_list(t, AQ_TC_STRUCT, 2);
	aq_tw_struct_begin(t);
	aq_tw_field_string(t, 1, "aquacast.schema");
	aq_tw_field_string(t, 2, s->name);
	aq_tw_struct_end(t);
	aq_tw_struct_begin(t);
	aq_tw_field_string(t, 1, "aquacast.schema_version");
	aq_tw_field_string(t, 2, ver);
	aq_tw_struct_end(t);
	aq_tw_field_string(t, 6, CREATED_BY);
	aq_tw_field(t, AQ_TC_LIST, 7); /* column_orders: TYPE_ORDER for each column */
	aq_tw_list(t, AQ_TC_STRUCT, (uint32_t)s->ncols);
	for (int i = 0; i < s->ncols; i++) {
		aq_tw_struct_begin(t);
		aq_tw_field(t, AQ_TC_STRUCT, 1);
		aq_tw_struct_begin(t);
		aq_tw_struct_end(t);
		aq_tw_struct_end(t);
	}
	aq_tw_struct_end(t);
}

static int write_footer(struct aq_pq_writer *w, struct aq_err *e)
{
	struct aq_pq_scratch *p = ((struct wpriv *)w->priv)->s;
	uint8_t tail[8];
	int r;

	enc_footer(w, &p->tw);
	if (p->tw.oom)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (p->tw.len > UINT32_MAX)
		return aq_err_set(e, AQ_EINVAL, "'%s': footer too large", w->file.path);
	put_le32(tail, (uint32_t)p->tw.len);
	memcpy(tail + 4, PQ_MAGIC, 4);
	if ((r = w_out(w, p->tw.buf, p->tw.len, e)) || (r = w_out(w, tail, 8, e)) || (r = w_flush(w, e)))
		return r;
	return 0;
}

int aq_pq_writer_close(struct aq_pq_writer *w, struct aq_err *e)
{
	int r;

	if (!w->priv)
		return aq_err_set(e, AQ_ESTATE, "parquet writer is not open");
	if ((r = write_footer(w, e))) {
		aq_pq_writer_abort(w);
		return r;
	}
	wpriv_free(w->priv, w->schema->ncols);
	w->priv = NULL;
	return aq_afile_commit(&w->file, e);
}

int aq_pq_writer_finish(struct aq_pq_writer *w, struct aq_afile *out, struct aq_err *e)
{
	int r;

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (!w->priv)
		return aq_err_set(e, AQ_ESTATE, "parquet writer is not open");
	if ((r = write_footer(w, e))) {
		aq_pq_writer_abort(w);
		return r;
	}
	wpriv_free(w->priv, w->schema->ncols);
	w->priv = NULL;
	if (close(w->file.fd) < 0) {
		w->file.fd = -1;
		r = aq_err_sys(e, "cannot close '%s'", w->file.path);
		aq_afile_abort(&w->file);
		return r;
	}
	w->file.fd = -1;
	*out = w->file;
	memset(&w->file, 0, sizeof(w->file));
	w->file.fd = -1;
	return 0;
}

int aq_pq_commit_renamed(struct aq_afile *f, struct aq_err *e)
{
	int r = 0;

	if (rename(f->tmp, f->path) < 0)
		r = aq_err_sys(e, "cannot rename to '%s'", f->path);
	free(f->tmp);
	free(f->path);
	f->tmp = f->path = NULL;
	return r;
}

/* ======================================================================
 * Reader
 * ==================================================================== */

struct rchunk {
	int codec;
	int64_t nvals, start, len; /* start: first page (dictionary or data); len: compressed bytes */
	const uint8_t *min, *max;  /* into the map; NULL when absent */
	size_t minlen, maxlen;
};

struct rrg {
	int64_t nrows;
	struct rchunk *c;
};

struct rpriv {
	struct rrg *rg;
	ZSTD_DCtx *dctx;
	uint8_t *tmp;
	size_t tmpcap;
	int64_t footer_start;
};

static void rpriv_free(struct rpriv *p, int nrg)
{
	if (!p)
		return;
	for (int i = 0; i < nrg; i++)
		free(p->rg[i].c);
	free(p->rg);
	ZSTD_freeDCtx(p->dctx);
	free(p->tmp);
	free(p);
}

void aq_pq_reader_release(struct aq_pq_reader *r)
{
	rpriv_free(r->priv, r->nrow_groups);
	if (r->map && r->map != MAP_FAILED && r->size)
		munmap((void *)r->map, r->size);
	if (r->cols)
		for (int i = 0; i < r->ncols; i++)
			free((char *)r->cols[i].name);
	free(r->cols);
	free(r->schema_name);
	free(r->created_by);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

void aq_pq_bytes_free(struct aq_pq_bytes *b)
{
	free((void *)b->data);
	free((void *)b->off);
	b->data = NULL;
	b->off = NULL;
}

static char *dup_n(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);

	if (s) {
		memcpy(s, p, n);
		s[n] = '\0';
	}
	return s;
}

struct selem {
	int type, rep, nchildren, converted, logical;
	const uint8_t *name;
	size_t namelen;
};

#define FERR(...) aq_err_set(e, AQ_EFORMAT, __VA_ARGS__)

/* LogicalType union: returns the id of the member set (-1 none). */
static int parse_logical(struct aq_tr *t)
{
	int ty, lt = -1;
	int16_t id;

	aq_tr_struct_begin(t);
	while (aq_tr_field(t, &ty, &id)) {
		if (ty == AQ_TC_STRUCT && lt < 0)
			lt = id;
		aq_tr_skip(t, ty);
	}
	return lt;
}

static void parse_selem(struct aq_tr *t, struct selem *s)
{
	int ty;
	int16_t id;

	memset(s, 0, sizeof(*s));
	s->type = s->rep = s->nchildren = s->converted = s->logical = -1;
	aq_tr_struct_begin(t);
	while (aq_tr_field(t, &ty, &id)) {
		switch (id) {
		case 1: s->type = aq_tr_i32(t, ty); break;
		case 3: s->rep = aq_tr_i32(t, ty); break;
		case 4: s->name = aq_tr_binary(t, ty, &s->namelen); break;
		case 5: s->nchildren = aq_tr_i32(t, ty); break;
		case 6: s->converted = aq_tr_i32(t, ty); break;
		case 10:
			if (ty == AQ_TC_STRUCT)
				s->logical = parse_logical(t);
			else
				aq_tr_skip(t, ty);
			break;
		default: aq_tr_skip(t, ty);
		}
	}
}

static void parse_stats(struct aq_tr *t, struct rchunk *c)
{
	const uint8_t *omin = NULL, *omax = NULL;
	size_t ominl = 0, omaxl = 0;
	int ty;
	int16_t id;

	aq_tr_struct_begin(t);
	while (aq_tr_field(t, &ty, &id)) {
		switch (id) {
		case 1: omax = aq_tr_binary(t, ty, &omaxl); break;
		case 2: omin = aq_tr_binary(t, ty, &ominl); break;
		case 5: c->max = aq_tr_binary(t, ty, &c->maxlen); break;
		case 6: c->min = aq_tr_binary(t, ty, &c->minlen); break;
		default: aq_tr_skip(t, ty);
		}
	}
	if (!c->min && !c->max && omin && omax) {
		c->min = omin;
		c->minlen = ominl;
		c->max = omax;
		c->maxlen = omaxl;
	}
	if (!c->min || !c->max) {
		c->min = c->max = NULL;
		c->minlen = c->maxlen = 0;
	}
}

/* ColumnMetaData: fill c and check what can be checked without the pages. */
static int parse_colmeta(struct aq_pq_reader *r, struct aq_tr *t, int col, struct rchunk *c, int64_t fend,
			 struct aq_err *e)
{
	int ty, et, ptype = -1, codec = -1, dict = 0, bad_enc = -1;
	int16_t id;
	int64_t data_off = -1, dict_off = -1, comp = -1;
	uint32_t n;
	const char *cname = r->cols[col].name;

	c->nvals = -1;
	aq_tr_struct_begin(t);
	while (aq_tr_field(t, &ty, &id)) {
		switch (id) {
		case 1: ptype = aq_tr_i32(t, ty); break;
		case 2:
			n = aq_tr_list(t, ty, &et);
			for (uint32_t i = 0; i < n && !t->err; i++) {
				int en = aq_tr_i32(t, et);

				if (en == ENC_PLAIN_DICTIONARY || en == ENC_RLE_DICTIONARY)
					dict = 1;
				else if (en != ENC_PLAIN && en != ENC_RLE && en != ENC_BIT_PACKED && bad_enc < 0)
					bad_enc = en;
			}
			break;
		case 4: codec = aq_tr_i32(t, ty); break;
		case 5: c->nvals = aq_tr_i64(t, ty); break;
		case 7: comp = aq_tr_i64(t, ty); break;
		case 9: data_off = aq_tr_i64(t, ty); break;
		case 11: dict_off = aq_tr_i64(t, ty); break;
		case 12:
			if (ty == AQ_TC_STRUCT)
				parse_stats(t, c);
			else
				aq_tr_skip(t, ty);
			break;
		default: aq_tr_skip(t, ty);
		}
	}
	if (t->err)
		return FERR("'%s': corrupt footer (column metadata)", r->path);
	if (dict || dict_off > 0)
		return aq_err_set(e, AQ_EUNSUPPORTED,
				  "'%s': dictionary encoding is not supported (write with use_dictionary=False), column '%s'",
				  r->path, cname);
	if (bad_enc >= 0)
		return aq_err_set(e, AQ_EUNSUPPORTED, "'%s': encoding %s is not supported (only PLAIN), column '%s'",
				  r->path, enc_name(bad_enc), cname);
	if (codec != AQ_PQ_UNCOMPRESSED && codec != AQ_PQ_ZSTD)
		return aq_err_set(e, AQ_EUNSUPPORTED,
				  "'%s': compression %s is not supported (write with compression='zstd' or 'none'), column '%s'",
				  r->path, codec_name(codec), cname);
	if (ptype != phys_of(r->cols[col].type))
		return FERR("'%s': column '%s': chunk type %d differs from the schema's", r->path, cname, ptype);
	if (data_off < 4 || comp < 0 || c->nvals < 0 || comp > fend - data_off)
		return FERR("'%s': column '%s': chunk offsets outside the file", r->path, cname);
	c->start = data_off;
	c->len = comp;
	c->codec = codec;
	return 0;
}

static int parse_colchunk(struct aq_pq_reader *r, struct aq_tr *t, int col, struct rchunk *c, int64_t fend,
			  struct aq_err *e)
{
	int ty, rc, have = 0;
	int16_t id;

	aq_tr_struct_begin(t);
	while (aq_tr_field(t, &ty, &id)) {
		if (id == 1)
			return aq_err_set(e, AQ_EUNSUPPORTED, "'%s': column chunks in other files are not supported",
					  r->path);
		if (id == 8 || id == 9)
			return aq_err_set(e, AQ_EUNSUPPORTED, "'%s': encrypted columns are not supported", r->path);
		if (id == 3 && ty == AQ_TC_STRUCT) {
			if ((rc = parse_colmeta(r, t, col, c, fend, e)))
				return rc;
			have = 1;
		} else {
			aq_tr_skip(t, ty);
		}
	}
	if (t->err || !have)
		return FERR("'%s': corrupt footer (column chunk)", r->path);
	return 0;
}

static int parse_rowgroup(struct aq_pq_reader *r, struct aq_tr *t, struct rrg *g, int64_t fend, struct aq_err *e)
{
	int ty, et, rc, ncols = -1;
	int16_t id;

	g->nrows = -1;
	aq_tr_struct_begin(t);
	while (aq_tr_field(t, &ty, &id)) {
		if (id == 1 && ty == AQ_TC_LIST) {
			uint32_t n = aq_tr_list(t, ty, &et);

			if (t->err || et != AQ_TC_STRUCT || (int64_t)n != r->ncols || g->c)
				return FERR("'%s': corrupt footer (row group has %u columns, schema %d)", r->path, n,
					    r->ncols);
			g->c = calloc((size_t)r->ncols, sizeof(*g->c));
			if (!g->c)
				return aq_err_set(e, AQ_ENOMEM, "out of memory");
			for (int i = 0; i < r->ncols; i++)
				if ((rc = parse_colchunk(r, t, i, &g->c[i], fend, e)))
					return rc;
			ncols = (int)n;
		} else if (id == 3) {
			g->nrows = aq_tr_i64(t, ty);
		} else {
			aq_tr_skip(t, ty);
		}
	}
	if (t->err || ncols < 0 || g->nrows < 0 || g->nrows > MAX_ROWS)
		return FERR("'%s': corrupt footer (row group)", r->path);
	for (int i = 0; i < r->ncols; i++)
		if (g->c[i].nvals != g->nrows)
			return FERR("'%s': column '%s' has %lld values in a row group of %lld rows", r->path,
				    r->cols[i].name, (long long)g->c[i].nvals, (long long)g->nrows);
	return 0;
}

static int build_schema(struct aq_pq_reader *r, const struct selem *el, uint32_t n, struct aq_err *e)
{
	if (n < 2)
		return FERR("'%s': schema has no columns", r->path);
	if (el[0].nchildren != (int)n - 1) {
		if (el[0].nchildren > 0 && el[0].nchildren < (int)n - 1)
			return aq_err_set(e, AQ_EUNSUPPORTED, "'%s': nested schema is not supported (flat columns only)",
					  r->path);
		return FERR("'%s': corrupt schema (root has %d children, %u elements)", r->path, el[0].nchildren, n);
	}
	r->cols = calloc(n - 1, sizeof(*r->cols));
	if (!r->cols)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	r->ncols = (int)n - 1;
	for (uint32_t i = 1; i < n; i++) {
		const struct selem *s = &el[i];
		struct aq_pq_column *c = &r->cols[i - 1];

		if (!s->name)
			return FERR("'%s': corrupt schema (element %u has no name)", r->path, i);
		if (!(c->name = dup_n(s->name, s->namelen)))
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	for (uint32_t i = 1; i < n; i++) {
		const struct selem *s = &el[i];
		struct aq_pq_column *c = &r->cols[i - 1];

		if (s->nchildren > 0 || s->type < 0 || s->rep == REP_REPEATED)
			return aq_err_set(e, AQ_EUNSUPPORTED, "'%s': nested column '%s' is not supported (flat schemas only)",
					  r->path, c->name);
		if (s->rep == REP_OPTIONAL)
			return aq_err_set(e, AQ_EUNSUPPORTED,
					  "'%s': column '%s' is OPTIONAL (nullable); only REQUIRED columns are supported"
					  " (write with nullable=False fields)", r->path, c->name);
		if (s->rep != REP_REQUIRED)
			return FERR("'%s': column '%s' has no repetition type", r->path, c->name);
		switch (s->type) {
		case PT_INT32: c->type = AQ_PQ_INT32; break;
		case PT_INT64: c->type = AQ_PQ_INT64; break;
		case PT_DOUBLE: c->type = AQ_PQ_DOUBLE; break;
		case PT_BYTE_ARRAY: c->type = AQ_PQ_BYTES; break;
		default:
			return aq_err_set(e, AQ_EUNSUPPORTED,
					  "'%s': column '%s' has type %s, not supported (INT32, INT64, DOUBLE, BYTE_ARRAY only)",
					  r->path, c->name, s->type >= 0 && s->type < 8 ? ptype_names[s->type] : "unknown");
		}
		if (s->converted == 5 || s->logical == 5)
			return aq_err_set(e, AQ_EUNSUPPORTED, "'%s': column '%s' is DECIMAL, not supported", r->path,
					  c->name);
		c->logical = AQ_PQ_NONE;
		if (c->type == AQ_PQ_INT32 && (s->converted == CT_DATE || s->logical == LT_DATE))
			c->logical = AQ_PQ_DATE;
		if (c->type == AQ_PQ_BYTES && (s->converted == CT_UTF8 || s->logical == LT_STRING))
			c->logical = AQ_PQ_STRING;
	}
	return 0;
}

static int parse_footer(struct aq_pq_reader *r, const uint8_t *buf, size_t len, int64_t fend, struct aq_err *e)
{
	struct rpriv *p = r->priv;
	struct aq_tr t;
	struct selem *el = NULL;
	int ty, et, rc = 0, have_schema = 0, have_rgs = 0;
	int16_t id;
	int64_t num_rows = -1, sum = 0;
	uint32_t n;

	aq_tr_init(&t, buf, len);
	aq_tr_struct_begin(&t);
	while (!rc && aq_tr_field(&t, &ty, &id)) {
		switch (id) {
		case 2:
			n = aq_tr_list(&t, ty, &et);
			if (t.err || et != AQ_TC_STRUCT || have_schema)
				break;
			el = calloc(n ? n : 1, sizeof(*el));
			if (!el)
				return aq_err_set(e, AQ_ENOMEM, "out of memory");
			for (uint32_t i = 0; i < n && !t.err; i++)
				parse_selem(&t, &el[i]);
			if (!t.err)
				rc = build_schema(r, el, n, e);
			have_schema = 1;
			break;
		case 3:
			num_rows = aq_tr_i64(&t, ty);
			break;
		case 4:
			n = aq_tr_list(&t, ty, &et);
			if (t.err || et != AQ_TC_STRUCT || have_rgs)
				break;
			if (!have_schema) {
				rc = FERR("'%s': footer lists row groups before the schema", r->path);
				break;
			}
			have_rgs = 1;
			p->rg = calloc(n ? n : 1, sizeof(*p->rg));
			if (!p->rg) {
				rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
				break;
			}
			for (uint32_t i = 0; i < n && !rc; i++) {
				r->nrow_groups = (int)i + 1;
				rc = parse_rowgroup(r, &t, &p->rg[i], fend, e);
				sum += p->rg[i].nrows;
				if (!rc && sum > MAX_ROWS)
					rc = FERR("'%s': corrupt footer (%lld rows)", r->path, (long long)sum);
			}
			break;
		case 5:
			n = aq_tr_list(&t, ty, &et);
			if (et != AQ_TC_STRUCT)
				break;
			for (uint32_t i = 0; i < n && !t.err; i++) {
				const uint8_t *k = NULL, *v = NULL;
				size_t kl = 0, vl = 0;
				int ty2;
				int16_t id2;

				aq_tr_struct_begin(&t);
				while (aq_tr_field(&t, &ty2, &id2)) {
					if (id2 == 1)
						k = aq_tr_binary(&t, ty2, &kl);
					else if (id2 == 2)
						v = aq_tr_binary(&t, ty2, &vl);
					else
						aq_tr_skip(&t, ty2);
				}
				if (t.err || !k || !v)
					continue;
				if (kl == 15 && !memcmp(k, "aquacast.schema", 15) && !r->schema_name) {
					if (!(r->schema_name = dup_n(v, vl)))
						rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
				} else if (kl == 23 && !memcmp(k, "aquacast.schema_version", 23)) {
					char tmp[16];

					if (vl > 0 && vl < sizeof(tmp)) {
						memcpy(tmp, v, vl);
						tmp[vl] = '\0';
						r->schema_version = atoi(tmp);
					}
				}
			}
			break;
		case 6:
			if (ty == AQ_TC_BINARY && !r->created_by) {
				size_t l;
				const uint8_t *s = aq_tr_binary(&t, ty, &l);

				if (s && !(r->created_by = dup_n(s, l)))
					rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
			} else {
				aq_tr_skip(&t, ty);
			}
			break;
		case 8:
			rc = aq_err_set(e, AQ_EUNSUPPORTED, "'%s': encrypted files are not supported", r->path);
			break;
		default:
			aq_tr_skip(&t, ty);
		}
	}
	free(el);
	if (rc)
		return rc;
	if (t.err)
		return FERR("'%s': corrupt footer", r->path);
	if (!have_schema || num_rows < 0)
		return FERR("'%s': footer without %s", r->path, have_schema ? "num_rows" : "schema");
	if (sum != num_rows)
		return FERR("'%s': row groups hold %lld rows, footer says %lld", r->path, (long long)sum,
			    (long long)num_rows);
	r->nrows = (uint64_t)num_rows;
	return 0;
}

int aq_pq_reader_open(struct aq_pq_reader *r, const char *path, struct aq_err *e)
{
	struct stat st;
	struct rpriv *p;
	uint32_t flen;
	int fd, rc;

	memset(r, 0, sizeof(*r));
	if (!(r->path = strdup(path)) || !(p = calloc(1, sizeof(*p)))) {
		free(r->path);
		r->path = NULL;
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	r->priv = p;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		rc = errno == ENOENT ? aq_err_set(e, AQ_ENOTFOUND, "'%s': no such file", path)
				     : aq_err_sys(e, "cannot open '%s'", path);
		goto fail;
	}
	if (fstat(fd, &st) < 0) {
		rc = aq_err_sys(e, "cannot stat '%s'", path);
		close(fd);
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		close(fd);
		rc = aq_err_set(e, AQ_EINVAL, "'%s' is not a regular file", path);
		goto fail;
	}
	if (st.st_size < 12) {
		close(fd);
		rc = FERR("'%s': not a parquet file (%lld bytes, too short)", path, (long long)st.st_size);
		goto fail;
	}
	r->map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	close(fd);
	if (r->map == MAP_FAILED) {
		r->map = NULL;
		rc = aq_err_sys(e, "cannot map '%s'", path);
		goto fail;
	}
	r->size = (size_t)st.st_size;
	if (memcmp(r->map, PQ_MAGIC, 4)) {
		rc = FERR("'%s': not a parquet file (bad magic at the start)", path);
		goto fail;
	}
	if (!memcmp(r->map + r->size - 4, "PARE", 4)) {
		rc = aq_err_set(e, AQ_EUNSUPPORTED, "'%s': encrypted footer is not supported", path);
		goto fail;
	}
	if (memcmp(r->map + r->size - 4, PQ_MAGIC, 4)) {
		rc = FERR("'%s': not a parquet file or truncated (bad magic at the end)", path);
		goto fail;
	}
	flen = get_le32(r->map + r->size - 8);
	if (flen == 0 || flen > r->size - 12) {
		rc = FERR("'%s': truncated or corrupt footer (length %u, file %zu bytes)", path, flen, r->size);
		goto fail;
	}
	p->footer_start = (int64_t)(r->size - 8 - flen);
	if ((rc = parse_footer(r, r->map + p->footer_start, flen, p->footer_start, e)))
		goto fail;
	return 0;
fail:
	aq_pq_reader_release(r);
	return rc;
}

int aq_pq_reader_expect(struct aq_pq_reader *r, const struct aq_pq_schema *s, struct aq_err *e)
{
	if (r->schema_name && strcmp(r->schema_name, s->name))
		return aq_err_set(e, AQ_EFORMAT, "'%s': holds schema '%s', expected '%s'", r->path, r->schema_name,
				  s->name);
	if (r->schema_name && r->schema_version > s->version)
		return aq_err_set(e, AQ_EUNSUPPORTED, "'%s': schema '%s' version %d is newer than this build's %d",
				  r->path, s->name, r->schema_version, s->version);
	if (r->ncols != s->ncols)
		return aq_err_set(e, AQ_EFORMAT, "'%s': has %d columns, schema '%s' has %d", r->path, r->ncols,
				  s->name, s->ncols);
	for (int i = 0; i < s->ncols; i++) {
		const struct aq_pq_column *a = &r->cols[i], *b = &s->cols[i];

		if (strcmp(a->name, b->name))
			return aq_err_set(e, AQ_EFORMAT, "'%s': column %d is '%s', schema '%s' wants '%s'", r->path, i,
					  a->name, s->name, b->name);
		if (a->type != b->type || a->logical != b->logical)
			return aq_err_set(e, AQ_EFORMAT, "'%s': column '%s' is %s%s, schema '%s' wants %s%s", r->path,
					  a->name, aq_pq_type_name(a->type),
					  a->logical == AQ_PQ_DATE ? " (DATE)" : a->logical == AQ_PQ_STRING ? " (STRING)" : "",
					  s->name, aq_pq_type_name(b->type),
					  b->logical == AQ_PQ_DATE ? " (DATE)" : b->logical == AQ_PQ_STRING ? " (STRING)" : "");
	}
	return 0;
}

uint64_t aq_pq_reader_rg_rows(const struct aq_pq_reader *r, int rg)
{
	const struct rpriv *p = r->priv;

	if (!p || rg < 0 || rg >= r->nrow_groups)
		return 0;
	return (uint64_t)p->rg[rg].nrows;
}

int aq_pq_reader_col(const struct aq_pq_reader *r, const char *name)
{
	for (int i = 0; i < r->ncols; i++)
		if (!strcmp(r->cols[i].name, name))
			return i;
	return -1;
}

uint64_t aq_pq_reader_chunk_bytes(const struct aq_pq_reader *r, int rg, int col)
{
	const struct rpriv *p = r->priv;

	if (!p || rg < 0 || rg >= r->nrow_groups || col < 0 || col >= r->ncols)
		return 0;
	return (uint64_t)p->rg[rg].c[col].len;
}

int aq_pq_reader_chunk_codec(const struct aq_pq_reader *r, int rg, int col)
{
	const struct rpriv *p = r->priv;

	if (!p || rg < 0 || rg >= r->nrow_groups || col < 0 || col >= r->ncols)
		return -1;
	return p->rg[rg].c[col].codec;
}

/* Grow a BYTE_ARRAY output by one page's PLAIN values. */
static int bytes_append(struct aq_pq_reader *r, const char *cname, const uint8_t *v, size_t vlen, int64_t nv,
			uint8_t **data, size_t *dlen, size_t *dcap, uint64_t *off, size_t done, struct aq_err *e)
{
	const uint8_t *q = v, *qe = v + vlen;

	if (grow(data, dcap, *dlen + vlen + 1))
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	for (int64_t i = 0; i < nv; i++) {
		uint32_t l;

		if (qe - q < 4)
			return FERR("'%s': column '%s': truncated BYTE_ARRAY value", r->path, cname);
		l = get_le32(q);
		q += 4;
		if ((size_t)(qe - q) < l)
			return FERR("'%s': column '%s': BYTE_ARRAY value overruns its page", r->path, cname);
		memcpy(*data + *dlen, q, l);
		*dlen += l;
		q += l;
		off[done + (size_t)i + 1] = *dlen;
	}
	if (q != qe)
		return FERR("'%s': column '%s': page has %zu bytes after its values", r->path, cname, (size_t)(qe - q));
	return 0;
}

/* A zstd frame that declares its content size must declare the page's uncompressed size. */
static int frame_size_ok(const uint8_t *src, size_t len, size_t want)
{
	unsigned long long n = ZSTD_getFrameContentSize(src, len);

	return n == ZSTD_CONTENTSIZE_UNKNOWN || (n != ZSTD_CONTENTSIZE_ERROR && n == want);
}

/* One column chunk being decoded: where, what width, and (BYTE_ARRAY) the values and offsets so far. */
struct cread {
	struct aq_pq_reader *r;
	struct rpriv *p;
	const struct rchunk *c;
	const char *cname;
	int rg;
	size_t width, done; /* width 0: BYTE_ARRAY; done: values decoded */
	uint8_t *data;
	size_t dlen, dcap, offcap;
	uint64_t *off;
};

/* A data page's header (PageHeader, DataPageHeader). */
struct page_hdr {
	int ptype, has_crc, enc;
	int64_t uncomp, comp, nv;
	uint32_t crc;
};

/* The page header at *pos (Thrift compact), which must be a v1 data page; *pos moves past it. */
static int page_header(const struct cread *k, const uint8_t **pos, const uint8_t *end, struct page_hdr *h,
		       struct aq_err *e)
{
	struct aq_pq_reader *r = k->r;
	const char *cname = k->cname;
	struct aq_tr t;
	int ty;
	int16_t id;

	*h = (struct page_hdr){.ptype = -1, .enc = -1, .uncomp = -1, .comp = -1, .nv = -1};
	aq_tr_init(&t, *pos, (size_t)(end - *pos));
	aq_tr_struct_begin(&t);
	while (aq_tr_field(&t, &ty, &id)) {
		switch (id) {
		case 1: h->ptype = aq_tr_i32(&t, ty); break;
		case 2: h->uncomp = aq_tr_i32(&t, ty); break;
		case 3: h->comp = aq_tr_i32(&t, ty); break;
		case 4: h->crc = (uint32_t)aq_tr_i32(&t, ty); h->has_crc = 1; break;
		case 5:
			if (ty != AQ_TC_STRUCT) {
				aq_tr_skip(&t, ty);
				break;
			}
			aq_tr_struct_begin(&t);
			while (aq_tr_field(&t, &ty, &id)) {
				if (id == 1)
					h->nv = aq_tr_i32(&t, ty);
				else if (id == 2)
					h->enc = aq_tr_i32(&t, ty);
				else
					aq_tr_skip(&t, ty);
			}
			break;
		default: aq_tr_skip(&t, ty);
		}
	}
	if (t.err)
		return FERR("'%s': corrupt page header in column '%s' (row group %d, offset %lld)", r->path, cname,
			    k->rg, (long long)(*pos - r->map));
	if (h->ptype == PAGE_DICTIONARY)
		return aq_err_set(e, AQ_EUNSUPPORTED,
				  "'%s': dictionary encoding is not supported (write with use_dictionary=False), column '%s'",
				  r->path, cname);
	if (h->ptype == PAGE_DATA_V2)
		return aq_err_set(e, AQ_EUNSUPPORTED,
				  "'%s': data page v2 is not supported (write with data_page_version='1.0'), column '%s'",
				  r->path, cname);
	if (h->ptype != PAGE_DATA)
		return aq_err_set(e, AQ_EUNSUPPORTED, "'%s': page type %d is not supported, column '%s'", r->path,
				  h->ptype, cname);
	*pos += aq_tr_consumed(&t, *pos);
	return 0;
}

/* The page body at pos: inside the chunk, its CRC, PLAIN, no more values than are left, sizes that agree. */
static int page_check(const struct cread *k, const uint8_t *pos, const uint8_t *end, const struct page_hdr *h,
		      int64_t left, struct aq_err *e)
{
	struct aq_pq_reader *r = k->r;
	const char *cname = k->cname;
	int rg = k->rg;

	if (h->comp < 0 || h->uncomp < 0 || h->comp > end - pos)
		return FERR("'%s': column '%s' (row group %d): page of %lld bytes overruns its chunk", r->path, cname,
			    rg, (long long)h->comp);
	if (h->has_crc && (uint32_t)crc32(0L, pos, (uInt)h->comp) != h->crc)
		return FERR("'%s': CRC mismatch in column '%s' (row group %d, page at offset %lld)", r->path, cname,
			    rg, (long long)(pos - r->map));
	if (h->enc == ENC_PLAIN_DICTIONARY || h->enc == ENC_RLE_DICTIONARY)
		return aq_err_set(e, AQ_EUNSUPPORTED,
				  "'%s': dictionary encoding is not supported (write with use_dictionary=False), column '%s'",
				  r->path, cname);
	if (h->enc != ENC_PLAIN)
		return aq_err_set(e, AQ_EUNSUPPORTED, "'%s': encoding %s is not supported (only PLAIN), column '%s'",
				  r->path, enc_name(h->enc), cname);
	if (h->nv < 0 || h->nv > left)
		return FERR("'%s': column '%s' (row group %d): page claims %lld values, %lld left", r->path, cname, rg,
			    (long long)h->nv, (long long)left);
	if (k->c->codec == AQ_PQ_UNCOMPRESSED && h->uncomp != h->comp)
		return FERR("'%s': column '%s': uncompressed page sizes differ", r->path, cname);
	return 0;
}

/* A fixed-width page's values straight into out (zstd-decompressed there, or copied). */
static int page_fixed(struct cread *k, const uint8_t *pos, const struct page_hdr *h, void *out, struct aq_err *e)
{
	struct aq_pq_reader *r = k->r;
	struct rpriv *p = k->p;
	const char *cname = k->cname;
	int rg = k->rg;
	size_t need = (size_t)h->nv * k->width;
	uint8_t *dst = (uint8_t *)out + k->done * k->width;

	if ((size_t)h->uncomp != need)
		return FERR("'%s': column '%s': page of %lld values has %lld bytes, want %zu", r->path, cname,
			    (long long)h->nv, (long long)h->uncomp, need);
	if (k->c->codec == AQ_PQ_ZSTD) {
		size_t z;

		if (!p->dctx && !(p->dctx = ZSTD_createDCtx()))
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		if (!frame_size_ok(pos, (size_t)h->comp, need))
			return FERR("'%s': column '%s' (row group %d): zstd frame size differs from the page's", r->path,
				    cname, rg);
		z = ZSTD_decompressDCtx(p->dctx, dst, need, pos, (size_t)h->comp);
		if (ZSTD_isError(z) || z != need)
			return FERR("'%s': column '%s' (row group %d): zstd: %s", r->path, cname, rg,
				    ZSTD_isError(z) ? ZSTD_getErrorName(z) : "size mismatch");
	} else if (need) {
		memcpy(dst, pos, need);
	}
	return 0;
}

/* A BYTE_ARRAY page (zstd-decompressed into the reader's buffer): its values appended, offsets grown. */
static int page_bytes(struct cread *k, const uint8_t *pos, const struct page_hdr *h, struct aq_err *e)
{
	struct aq_pq_reader *r = k->r;
	struct rpriv *p = k->p;
	const char *cname = k->cname;
	int rg = k->rg;
	int64_t nv = h->nv;
	const uint8_t *v = pos;
	size_t vlen = (size_t)h->comp, done = k->done;

	if (h->uncomp < 4 * nv)
		return FERR("'%s': column '%s': page of %lld values has only %lld bytes", r->path, cname, (long long)nv,
			    (long long)h->uncomp);
	if (k->c->codec == AQ_PQ_ZSTD) {
		size_t z;

		if (!frame_size_ok(pos, (size_t)h->comp, (size_t)h->uncomp))
			return FERR("'%s': column '%s' (row group %d): zstd frame size differs from the page's", r->path,
				    cname, rg);
		if (grow(&p->tmp, &p->tmpcap, (size_t)h->uncomp + 1))
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		if (!p->dctx && !(p->dctx = ZSTD_createDCtx()))
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		z = ZSTD_decompressDCtx(p->dctx, p->tmp, (size_t)h->uncomp, pos, (size_t)h->comp);
		if (ZSTD_isError(z) || z != (size_t)h->uncomp)
			return FERR("'%s': column '%s' (row group %d): zstd: %s", r->path, cname, rg,
				    ZSTD_isError(z) ? ZSTD_getErrorName(z) : "size mismatch");
		v = p->tmp;
		vlen = z;
	}
	if ((size_t)nv > vlen / 4)
		return FERR("'%s': column '%s': page of %lld values has only %zu bytes", r->path, cname, (long long)nv,
			    vlen);
	if (done + (size_t)nv + 1 > k->offcap) {
		size_t nc = k->offcap * 2 > done + (size_t)nv + 1 ? k->offcap * 2 : done + (size_t)nv + 1;
		uint64_t *no = realloc(k->off, nc * sizeof(*no));

		if (!no)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		k->off = no;
		k->offcap = nc;
	}
	return bytes_append(r, cname, v, vlen, nv, &k->data, &k->dlen, &k->dcap, k->off, done, e);
}

/* Decode one column chunk, page by page. Fixed width into out; BYTE_ARRAY into *bout. */
static int read_chunk(struct aq_pq_reader *r, int rg, int col, void *out, struct aq_pq_bytes *bout,
		      struct aq_err *e)
{
	struct rpriv *p = r->priv;
	struct cread k = {.r = r, .p = p, .c = &p->rg[rg].c[col], .cname = r->cols[col].name, .rg = rg,
			  .width = width_of(r->cols[col].type), .offcap = 1};
	const uint8_t *pos = r->map + k.c->start, *end = pos + k.c->len;
	int64_t left = k.c->nvals;
	int rc = 0;

	if (!k.width) {
		/* offsets grow page by page, as values actually decode (footer counts are not trusted for sizes) */
		k.off = malloc(sizeof(*k.off));
		if (!k.off)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		k.off[0] = 0;
	}
	while (left > 0) {
		struct page_hdr h;

		if (pos >= end) {
			rc = FERR("'%s': column '%s' (row group %d) ends after %zu of %lld values", r->path, k.cname, rg,
				  k.done, (long long)k.c->nvals);
			break;
		}
		if ((rc = page_header(&k, &pos, end, &h, e)) || (rc = page_check(&k, pos, end, &h, left, e)))
			break;
		r->pages++;
		r->pages_crc += (uint64_t)h.has_crc;
		if ((rc = k.width ? page_fixed(&k, pos, &h, out, e) : page_bytes(&k, pos, &h, e)))
			break;
		pos += h.comp;
		left -= h.nv;
		k.done += (size_t)h.nv;
	}
	if (rc) {
		free(k.data);
		free(k.off);
		return rc;
	}
	if (!k.width) {
		if (!k.data && !(k.data = malloc(1))) {
			free(k.off);
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		}
		bout->data = k.data;
		bout->off = k.off;
	}
	return 0;
}

int aq_pq_reader_read(struct aq_pq_reader *r, int rg, int col, void *out, struct aq_err *e)
{
	if (!r->priv || rg < 0 || rg >= r->nrow_groups || col < 0 || col >= r->ncols)
		return aq_err_set(e, AQ_EINVAL, "'%s': no row group %d / column %d", r->path ? r->path : "?", rg, col);
	if (r->cols[col].type == AQ_PQ_BYTES)
		return read_chunk(r, rg, col, NULL, out, e);
	return read_chunk(r, rg, col, out, NULL, e);
}

static int stat_value(enum aq_pq_type t, const uint8_t *v, size_t len, double *out)
{
	int32_t i32;
	int64_t i64;

	if (t == AQ_PQ_INT32 && len == 4) {
		memcpy(&i32, v, 4);
		*out = i32;
	} else if (t == AQ_PQ_INT64 && len == 8) {
		memcpy(&i64, v, 8);
		*out = (double)i64;
	} else if (t == AQ_PQ_DOUBLE && len == 8) {
		memcpy(out, v, 8);
	} else {
		return -1;
	}
	return 0;
}

int aq_pq_reader_stats(const struct aq_pq_reader *r, int rg, int col, double *min, double *max)
{
	const struct rpriv *p = r->priv;
	const struct rchunk *c;

	if (!p || rg < 0 || rg >= r->nrow_groups || col < 0 || col >= r->ncols)
		return AQ_EINVAL;
	c = &p->rg[rg].c[col];
	if (!c->min || r->cols[col].type == AQ_PQ_BYTES)
		return AQ_ENOTFOUND;
	if (stat_value(r->cols[col].type, c->min, c->minlen, min) ||
	    stat_value(r->cols[col].type, c->max, c->maxlen, max))
		return AQ_EFORMAT;
	if (isnan(*min) || isnan(*max))
		return AQ_ENOTFOUND;
	return 0;
}

/* Statistics must bound the values; our own files must carry the exact min/max. */
static int verify_stats(struct aq_pq_reader *r, int rg, int col, const void *vals, const struct aq_pq_bytes *b,
			struct aq_err *e)
{
	const struct rpriv *p = r->priv;
	const struct rchunk *c = &p->rg[rg].c[col];
	const struct aq_pq_column *cd = &r->cols[col];
	int ours = r->created_by && !strncmp(r->created_by, "aquacast", 8);
	struct wchunk w;
	int rc = 0;

	memset(&w, 0, sizeof(w));
	if (cd->type == AQ_PQ_BYTES) {
		if (bytes_stats(b, (size_t)c->nvals, &w))
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		if (c->min && w.has_minmax &&
		    (bytes_cmp(c->min, c->minlen, w.bmin, w.bminlen) > 0 ||
		     bytes_cmp(c->max, c->maxlen, w.bmax, w.bmaxlen) < 0 ||
		     (ours && (bytes_cmp(c->min, c->minlen, w.bmin, w.bminlen) ||
			       bytes_cmp(c->max, c->maxlen, w.bmax, w.bmaxlen)))))
			rc = FERR("'%s': column '%s' (row group %d): min/max statistics do not match the values",
				  r->path, cd->name, rg);
		free(w.bmin);
		free(w.bmax);
		return rc;
	}
	fixed_stats(cd->type, vals, (size_t)c->nvals, &w);
	if (c->min) {
		double fmin, fmax, vmin, vmax;

		if (stat_value(cd->type, c->min, c->minlen, &fmin) || stat_value(cd->type, c->max, c->maxlen, &fmax))
			return FERR("'%s': column '%s' (row group %d): malformed statistics", r->path, cd->name, rg);
		if (!w.has_minmax) {
			if (ours || (!isnan(fmin) && c->nvals > 0 && cd->type != AQ_PQ_DOUBLE))
				return FERR("'%s': column '%s' (row group %d): statistics present for no comparable value",
					    r->path, cd->name, rg);
			return 0;
		}
		stat_value(cd->type, w.min, width_of(cd->type), &vmin);
		stat_value(cd->type, w.max, width_of(cd->type), &vmax);
		/* integers compare exactly in their own type, not through doubles */
		if (cd->type == AQ_PQ_INT64) {
			int64_t a, b2, x, y;

			memcpy(&a, c->min, 8);
			memcpy(&b2, c->max, 8);
			memcpy(&x, w.min, 8);
			memcpy(&y, w.max, 8);
			if (a > x || b2 < y || (ours && (a != x || b2 != y)))
				rc = 1;
		} else if (fmin > vmin || fmax < vmax || (ours && (fmin != vmin || fmax != vmax))) {
			rc = 1;
		}
		if (rc)
			return FERR("'%s': column '%s' (row group %d): min/max statistics do not match the values",
				    r->path, cd->name, rg);
	} else if (ours && w.has_minmax) {
		return FERR("'%s': column '%s' (row group %d): statistics missing", r->path, cd->name, rg);
	}
	return 0;
}

int aq_pq_reader_verify(struct aq_pq_reader *r, struct aq_err *e)
{
	const struct rpriv *p = r->priv;
	void *buf = NULL;
	size_t cap = 0;
	int rc = 0;

	if (!p)
		return aq_err_set(e, AQ_ESTATE, "parquet reader is not open");
	for (int g = 0; g < r->nrow_groups && !rc; g++) {
		for (int c = 0; c < r->ncols && !rc; c++) {
			size_t n = (size_t)p->rg[g].nrows, need = n * width_of(r->cols[c].type);

			if (r->cols[c].type == AQ_PQ_BYTES) {
				struct aq_pq_bytes b = { 0 };

				if (!(rc = aq_pq_reader_read(r, g, c, &b, e)))
					rc = verify_stats(r, g, c, NULL, &b, e);
				aq_pq_bytes_free(&b);
				continue;
			}
			if (need > cap) {
				void *nb = realloc(buf, need);

				if (!nb) {
					rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
					break;
				}
				buf = nb;
				cap = need;
			}
			if (!(rc = aq_pq_reader_read(r, g, c, buf, e)))
				rc = verify_stats(r, g, c, buf, NULL, e);
		}
	}
	free(buf);
	return rc;
}
