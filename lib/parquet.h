/* parquet.h — the Apache Parquet subset aquacast writes and reads (see docs/formats.md). */
#ifndef AQ_PARQUET_H
#define AQ_PARQUET_H

/*
 * Subset: flat schema, every column REQUIRED; physical types INT32, INT64,
 * DOUBLE, BYTE_ARRAY (optionally annotated DATE on INT32, STRING on
 * BYTE_ARRAY); PLAIN encoding; data page v1 (one or more pages per column
 * chunk), CRC-32 of the page bytes in the page header, checked on read;
 * codec UNCOMPRESSED or ZSTD; min/max statistics per column chunk; file
 * key-value metadata "aquacast.schema" = "<name>" and
 * "aquacast.schema_version" = "<n>". Anything else (dictionary pages or
 * encodings, nested or OPTIONAL columns, other codecs, page v2) is refused
 * with AQ_EUNSUPPORTED naming the file and what was found.
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "fs.h"

enum aq_pq_type { AQ_PQ_INT32, AQ_PQ_INT64, AQ_PQ_DOUBLE, AQ_PQ_BYTES };
enum aq_pq_logical { AQ_PQ_NONE, AQ_PQ_DATE, AQ_PQ_STRING };
enum aq_pq_codec { AQ_PQ_UNCOMPRESSED = 0, AQ_PQ_ZSTD = 6 };

struct aq_pq_column {
	const char *name;
	enum aq_pq_type type;
	enum aq_pq_logical logical;
};

struct aq_pq_schema {
	const char *name;      /* "aquacast.readings", "aquacast.models", ... */
	int version;
	int ncols;
	const struct aq_pq_column *cols;
};

/* A BYTE_ARRAY column's values for one row group: value i is data[off[i] .. off[i+1]). */
struct aq_pq_bytes {
	const uint8_t *data;
	const uint64_t *off;   /* nrows + 1 offsets */
};

/*
 * Options. NULL, or a zeroed struct, means the defaults: ZSTD level 3,
 * 65536-row pages, 1M-row row groups; a 0 in any field means its default.
 * Because AQ_PQ_UNCOMPRESSED is 0, codec 0 with zstd_level 0 is read as
 * "default" (ZSTD): to write uncompressed pages ask for it explicitly with
 * codec = AQ_PQ_UNCOMPRESSED and zstd_level = AQ_PQ_LEVEL_NONE (-1).
 */
#define AQ_PQ_LEVEL_NONE (-1)
struct aq_pq_write_opts {
	enum aq_pq_codec codec;     /* default ZSTD (see above) */
	int zstd_level;             /* default 3; AQ_PQ_LEVEL_NONE with AQ_PQ_UNCOMPRESSED */
	size_t page_rows;           /* rows per data page, default 65536 */
	size_t row_group_rows;      /* aq_pq_writer_write splits larger calls; default 1M */
};

struct aq_pq_writer {
	struct aq_afile file;
	const struct aq_pq_schema *schema;
	struct aq_pq_write_opts opts;
	uint64_t offset, nrows;
	void *priv;                 /* row-group metadata, buffers */
};

/* s (and its column names) must outlive the writer. */
int aq_pq_writer_open(struct aq_pq_writer *w, const char *path, const struct aq_pq_schema *s,
		      const struct aq_pq_write_opts *o, struct aq_err *e);
/*
 * Append one row group of nrows rows; cols[i] points at nrows values of
 * column i's physical type (int32_t, int64_t, double) or at a struct
 * aq_pq_bytes for BYTE_ARRAY. Callers bound row groups (aquacast: ≤ 1M rows).
 */
int aq_pq_writer_write(struct aq_pq_writer *w, size_t nrows, const void *const *cols, struct aq_err *e);
/* Footer, fsync, rename into place, fsync dir. Releases w either way. */
int aq_pq_writer_close(struct aq_pq_writer *w, struct aq_err *e);
void aq_pq_writer_abort(struct aq_pq_writer *w);
/*
 * Footer like close, but neither fsync nor rename: the complete temp file is
 * handed over in *out (fd closed, -1; out->tmp and out->path owned by the
 * caller), who makes it durable (fsync it) and renames it later with
 * aq_pq_commit_renamed() — for batches of files that should appear
 * together and whose fsyncs can run in parallel. Releases w either way.
 */
int aq_pq_writer_finish(struct aq_pq_writer *w, struct aq_afile *out, struct aq_err *e);
/* rename(out->tmp, out->path) (no fsync of file or dir: the caller's); frees out's strings. */
int aq_pq_commit_renamed(struct aq_afile *f, struct aq_err *e);

/*
 * Compression context and buffers, shareable by writers that are used one
 * at a time (a writer leaves the shared output buffer empty after each
 * call): many open writers then cost little memory each.
 */
struct aq_pq_scratch;
struct aq_pq_scratch *aq_pq_scratch_new(void);
void aq_pq_scratch_free(struct aq_pq_scratch *s);
/* aq_pq_writer_open with a caller-owned scratch (NULL: the writer makes its own). */
int aq_pq_writer_open_shared(struct aq_pq_writer *w, const char *path, const struct aq_pq_schema *s,
			     const struct aq_pq_write_opts *o, struct aq_pq_scratch *scratch, struct aq_err *e);

/* Reader: the whole file is mapped; every offset is bounds-checked. */
struct aq_pq_reader {
	char *path;
	const uint8_t *map;
	size_t size;
	uint64_t nrows;
	int nrow_groups;
	int ncols;
	struct aq_pq_column *cols;  /* names owned by the reader */
	char *schema_name;          /* from key-value metadata, NULL if absent */
	int schema_version;
	void *priv;                 /* parsed footer */
	char *created_by;           /* NULL if absent */
	uint64_t pages, pages_crc;  /* data pages decoded so far, and how many of them carried a CRC */
};

int aq_pq_reader_open(struct aq_pq_reader *r, const char *path, struct aq_err *e);
/* Check the file's columns are exactly s's (names, types, order) and its schema name matches. */
int aq_pq_reader_expect(struct aq_pq_reader *r, const struct aq_pq_schema *s, struct aq_err *e);
uint64_t aq_pq_reader_rg_rows(const struct aq_pq_reader *r, int rg);
/* Index of the column named name, or -1. */
int aq_pq_reader_col(const struct aq_pq_reader *r, const char *name);
/* Compressed bytes of a column chunk (page headers included). */
uint64_t aq_pq_reader_chunk_bytes(const struct aq_pq_reader *r, int rg, int col);
/* Codec of a column chunk (AQ_PQ_UNCOMPRESSED or AQ_PQ_ZSTD), -1 for a bad index. */
int aq_pq_reader_chunk_codec(const struct aq_pq_reader *r, int rg, int col);
/*
 * Decode column col of row group rg into out (room for aq_pq_reader_rg_rows
 * values; for BYTE_ARRAY out is a struct aq_pq_bytes whose arrays the
 * reader allocates and the caller frees with aq_pq_bytes_free()).
 */
int aq_pq_reader_read(struct aq_pq_reader *r, int rg, int col, void *out, struct aq_err *e);
/*
 * min/max statistics of a column chunk as doubles (INT32/INT64/DOUBLE only).
 * Returns 0, or AQ_ENOTFOUND when the chunk has none (e.g. a DOUBLE column
 * that is all NaN: NaN never enters min/max) or the column is BYTE_ARRAY.
 */
int aq_pq_reader_stats(const struct aq_pq_reader *r, int rg, int col, double *min, double *max);
/*
 * Full check: every page's CRC (when present; pyarrow omits them by default),
 * sizes, decompression, and that the statistics match the decoded values.
 */
int aq_pq_reader_verify(struct aq_pq_reader *r, struct aq_err *e);
void aq_pq_reader_release(struct aq_pq_reader *r);
void aq_pq_bytes_free(struct aq_pq_bytes *b);
const char *aq_pq_type_name(enum aq_pq_type t);

#endif
