/* csv.h — strict streaming reader of readings CSV (ConsumptionDate, AccountOID, Consumption). */
#ifndef AQ_CSV_H
#define AQ_CSV_H

/*
 * Accepted input (the assignment's shape and what pandas / SQL exports make of it):
 *  - an optional UTF-8 byte-order mark; LF or CRLF line ends; the last line may
 *    lack its newline; blank lines are skipped (and counted);
 *  - delimiter ',' (or '\t' / ';' when opts.delim is 0 and the header shows it);
 *  - a header naming ConsumptionDate, AccountOID and Consumption in any column
 *    order (case-insensitive); other columns (e.g. a leading unnamed index
 *    column, pandas' "Unnamed: 0") are ignored. Without a header the first line
 *    must be data with 3 columns (date, account, consumption) or 4 (index first);
 *  - fields may be double-quoted ("" is a quote); a quoted field cannot span lines;
 *    spaces around fields are trimmed;
 *  - ConsumptionDate "YYYY-MM-DD" (a midnight time part " 00:00:00[.000]" or
 *    "T00:00:00" is allowed) within AQ_DATE_MIN..AQ_DATE_MAX;
 *  - AccountOID a positive decimal integer below 2^47;
 *  - Consumption a finite decimal number (sign, fraction, exponent allowed), or
 *    empty / NaN / NULL / NA (any case) for a missing value, which becomes NaN.
 * Anything else makes the row bad: text in a numeric field, a bad date, a wrong
 * column count, an unterminated quote. A bad row is never turned into a value:
 * it is counted and reported (line number, reason) and the read fails once more
 * than opts.max_bad rows were bad (default 0: the first bad row fails the read).
 * Duplicate (account, date) keys are kept (downstream is latest-wins) and counted.
 */

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "readings.h"

struct aq_csv_opts {
	char delim;          /* 0 = detect from the first line (',', '\t' or ';') */
	uint64_t max_bad;    /* bad rows tolerated before the read fails (default 0) */
	int count_dups;      /* count duplicate keys at the end (8 bytes per row, 16 while sorting) */
	size_t chunk_rows;   /* rows per callback in aq_csv_read_file (default 65536) */
	/*
	 * aq_csv_read_file / aq_csv_load on a file without a single good row (0
	 * bytes, a header only, blank lines, only tolerated bad rows) fail with
	 * AQ_ENOTFOUND "no readings in 'x.csv'" (a source of readings that has
	 * none is a wrong file, not a result) unless allow_empty is set, for a
	 * caller where it is a normal outcome (a feed file of a quiet day).
	 */
	int allow_empty;
	/* Called for every bad row (optional): line number (1-based) and reason. */
	void (*on_bad)(void *ctx, uint64_t line, const char *why);
	void *on_bad_ctx;
};

struct aq_csv_stats {
	uint64_t lines;      /* physical lines seen, header included */
	uint64_t rows;       /* good data rows delivered */
	uint64_t bad;        /* rows rejected */
	uint64_t blank;      /* empty lines skipped */
	uint64_t missing;    /* rows whose consumption is NaN (empty/NaN/NULL) */
	uint64_t dups;       /* rows whose (account, date) was seen before (set by finish) */
	int header;          /* 1 when the first line was a header */
	int32_t min_date, max_date; /* over good rows (0 when none) */
	uint64_t first_bad_line;
	char first_bad[AQ_ERR_MSG]; /* "line N: reason" of the first bad row */
};

struct aq_csv_reader {
	struct aq_csv_opts opts;
	struct aq_csv_stats stats;
	void *priv;          /* carry-over buffer, column map, duplicate set */
};

/* opts may be NULL for the defaults. */
int aq_csv_reader_init(struct aq_csv_reader *r, const struct aq_csv_opts *opts, struct aq_err *e);
/*
 * Feed len bytes (split anywhere, even inside a line or the BOM). Complete rows
 * are appended to out. Fails (AQ_EFORMAT) when bad rows exceed max_bad.
 */
int aq_csv_reader_feed(struct aq_csv_reader *r, const char *buf, size_t len, struct aq_readings *out,
		       struct aq_err *e);
/* End of input: parses a last line without newline. */
int aq_csv_reader_finish(struct aq_csv_reader *r, struct aq_readings *out, struct aq_err *e);
void aq_csv_reader_release(struct aq_csv_reader *r);

/*
 * Read a file ("-" = stdin) and hand rows to fn in chunks of opts.chunk_rows
 * (the chunk is reused: copy what you keep). fn returning non-zero stops the
 * read with that code. stats (optional) receives the final counts.
 */
typedef int (*aq_csv_chunk_fn)(void *ctx, const struct aq_readings *chunk, struct aq_err *e);
int aq_csv_read_file(const char *path, const struct aq_csv_opts *opts, aq_csv_chunk_fn fn, void *ctx,
		     struct aq_csv_stats *stats, struct aq_err *e);
/* Read a whole file into out (appending). */
int aq_csv_load(const char *path, const struct aq_csv_opts *opts, struct aq_readings *out,
		struct aq_csv_stats *stats, struct aq_err *e);

/*
 * Parse a decimal number exactly (correctly rounded): Clinger's fast path for
 * ≤ 15 significant digits and |exponent| ≤ 22, strtod otherwise. Returns 0 or
 * AQ_EFORMAT (no message; the caller names the field). Exposed for tests.
 */
int aq_csv_parse_double(const char *s, size_t len, double *out);

#endif
