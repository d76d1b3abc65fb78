/* pq_tool.c — test driver for tests/python/test_interop.py: write Parquet files with lib/parquet from exact text input. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "parquet.h"
#include "readings_writer.h"

/*
 * pq_tool write OUT SCHEMA CODEC RG_ROWS PAGE_ROWS  < rows
 *   SCHEMA readings: lines "DAYS ACCOUNT BITS" (BITS: the double's 64 bits in hex)
 *   SCHEMA mixed:    lines "DAYS ID BITS NAMEHEX BLOBHEX" ('-' for an empty value) into
 *                    day INT32 DATE, id INT64, x DOUBLE, name BYTE_ARRAY STRING, blob BYTE_ARRAY
 *   CODEC zstd | zstd1 (level 1) | none. Row groups of RG_ROWS rows (one write call each), pages
 *   of PAGE_ROWS rows.
 * Values pass as bits and hex so that the test compares exactly, NaN payloads included.
 *
 * pq_tool batch ROOT PARTS LABEL [BUFFER_BYTES]  < "DAYS ACCOUNT BITS" lines
 *   One batch (aq_readings_writer, key aq_dataset_next_key) into the readings dataset ROOT,
 *   created with PARTS parts if missing. Prints {"rows":..,"files":..,"key":..}.
 */

static const struct aq_pq_column mixed_cols[] = {
	{ "day", AQ_PQ_INT32, AQ_PQ_DATE },
	{ "id", AQ_PQ_INT64, AQ_PQ_NONE },
	{ "x", AQ_PQ_DOUBLE, AQ_PQ_NONE },
	{ "name", AQ_PQ_BYTES, AQ_PQ_STRING },
	{ "blob", AQ_PQ_BYTES, AQ_PQ_NONE },
};
static const struct aq_pq_schema mixed_schema = { "aquacast.interop", 1, 5, mixed_cols };

struct col {
	size_t n, cap;
	int32_t *i32;
	int64_t *i64;
	double *f64;
	uint8_t *b[2];
	size_t blen[2], bcap[2];
	uint64_t *off[2];
};

static int push_hex(struct col *c, int k, const char *hex)
{
	size_t l = strcmp(hex, "-") ? strlen(hex) / 2 : 0;

	if (c->blen[k] + l + 1 > c->bcap[k]) {
		c->bcap[k] = (c->blen[k] + l + 1) * 2;
		if (!(c->b[k] = realloc(c->b[k], c->bcap[k])))
			return -1;
	}
	for (size_t i = 0; i < l; i++) {
		unsigned v;

		if (sscanf(hex + 2 * i, "%2x", &v) != 1)
			return -1;
		c->b[k][c->blen[k]++] = (uint8_t)v;
	}
	return 0;
}

static int batch(int argc, char **argv)
{
	struct aq_dataset ds;
	struct aq_readings_writer w;
	struct aq_readings_writer_opts o = { 0 };
	struct aq_err e = { 0 };
	char line[256];
	uint64_t key;

	if (argc > 5)
		o.max_buffer_bytes = (size_t)atoll(argv[5]);
	if (aq_dataset_create(&ds, argv[2], "readings", atoi(argv[3]), &e))
		return fprintf(stderr, "%s\n", e.msg), 1;
	key = aq_dataset_next_key(&ds);
	if (aq_readings_writer_open(&w, &ds, key, argv[4], &o, &e))
		return fprintf(stderr, "%s\n", e.msg), 1;
	while (fgets(line, sizeof(line), stdin)) {
		long long day, acc;
		uint64_t bits;
		double v;

		if (sscanf(line, "%lld %lld %" SCNx64, &day, &acc, &bits) != 3) {
			aq_readings_writer_abort(&w);
			return fprintf(stderr, "bad line: %s", line), 1;
		}
		memcpy(&v, &bits, 8);
		if (aq_readings_writer_add(&w, (int32_t)day, acc, v, &e)) {
			aq_readings_writer_abort(&w);
			return fprintf(stderr, "%s\n", e.msg), 1;
		}
	}
	{
		uint64_t rows, files;

		if (aq_readings_writer_close(&w, &e))
			return fprintf(stderr, "%s\n", e.msg), 1;
		rows = w.stats.rows;
		files = w.stats.files;
		printf("{\"rows\":%" PRIu64 ",\"files\":%" PRIu64 ",\"key\":%" PRIu64 "}\n", rows, files, key);
	}
	aq_dataset_release(&ds);
	return 0;
}

int main(int argc, char **argv)
{
	struct aq_pq_write_opts o = { 0 };
	const struct aq_pq_schema *s;
	struct aq_pq_writer w;
	struct aq_err e = { 0 };
	struct col c = { 0 };
	char line[1 << 16];
	size_t rg, start = 0;
	int mixed;

	aq_log_set_prog("pq_tool");
	if (argc >= 5 && !strcmp(argv[1], "batch"))
		return batch(argc, argv);
	if (argc != 7 || strcmp(argv[1], "write")) {
		fprintf(stderr, "usage: pq_tool write OUT readings|mixed zstd|zstd1|none RG_ROWS PAGE_ROWS < rows\n");
		return 2;
	}
	mixed = !strcmp(argv[3], "mixed");
	s = mixed ? &mixed_schema : &aq_readings_schema;
	if (!strcmp(argv[4], "none")) {
		o.codec = AQ_PQ_UNCOMPRESSED;
		o.zstd_level = AQ_PQ_LEVEL_NONE;
	} else {
		o.codec = AQ_PQ_ZSTD;
		o.zstd_level = strcmp(argv[4], "zstd1") ? 3 : 1;
	}
	rg = (size_t)atol(argv[5]);
	o.page_rows = (size_t)atol(argv[6]);
	o.row_group_rows = rg;
	c.off[0] = malloc(sizeof(uint64_t));
	c.off[1] = malloc(sizeof(uint64_t));
	c.off[0][0] = c.off[1][0] = 0;
	while (fgets(line, sizeof(line), stdin)) {
		char name[32768], blob[32768];
		long long day, id;
		uint64_t bits;

		if (c.n == c.cap) {
			c.cap = c.cap ? c.cap * 2 : 1024;
			c.i32 = realloc(c.i32, c.cap * 4);
			c.i64 = realloc(c.i64, c.cap * 8);
			c.f64 = realloc(c.f64, c.cap * 8);
			c.off[0] = realloc(c.off[0], (c.cap + 1) * 8);
			c.off[1] = realloc(c.off[1], (c.cap + 1) * 8);
			if (!c.i32 || !c.i64 || !c.f64 || !c.off[0] || !c.off[1])
				return fprintf(stderr, "out of memory\n"), 1;
		}
		if (mixed ? sscanf(line, "%lld %lld %" SCNx64 " %32767s %32767s", &day, &id, &bits, name, blob) != 5
			  : sscanf(line, "%lld %lld %" SCNx64, &day, &id, &bits) != 3)
			return fprintf(stderr, "bad line %zu: %s", c.n + 1, line), 1;
		c.i32[c.n] = (int32_t)day;
		c.i64[c.n] = id;
		memcpy(&c.f64[c.n], &bits, 8);
		if (mixed && (push_hex(&c, 0, name) || push_hex(&c, 1, blob)))
			return fprintf(stderr, "bad hex on line %zu\n", c.n + 1), 1;
		c.off[0][c.n + 1] = c.blen[0];
		c.off[1][c.n + 1] = c.blen[1];
		c.n++;
	}
	if (aq_pq_writer_open(&w, argv[2], s, &o, &e))
		return fprintf(stderr, "%s\n", e.msg), 1;
	do {
		size_t m = c.n - start < rg ? c.n - start : rg;
		struct aq_pq_bytes nb = { c.b[0], c.off[0] + start }, bb = { c.b[1], c.off[1] + start };
		const void *cols[5];

		if (mixed) {
			cols[0] = c.i32 + start;
			cols[1] = c.i64 + start;
			cols[2] = c.f64 + start;
			cols[3] = &nb;
			cols[4] = &bb;
		} else {
			cols[0] = c.i32 + start;
			cols[1] = c.i64 + start;
			cols[2] = c.f64 + start;
		}
		if (aq_pq_writer_write(&w, m, cols, &e)) {
			aq_pq_writer_abort(&w);
			return fprintf(stderr, "%s\n", e.msg), 1;
		}
		start += m;
	} while (start < c.n);
	if (aq_pq_writer_close(&w, &e))
		return fprintf(stderr, "%s\n", e.msg), 1;
	printf("{\"rows\":%zu}\n", c.n);
	return 0;
}
