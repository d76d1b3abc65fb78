/* extract.h — bulk, incremental extraction of readings from an ODBC table into a sharded dataset. */
#ifndef AQ_EXTRACT_H
#define AQ_EXTRACT_H

/*
 * Source: a table with (RowId, AccountOID, ConsumptionDate, Consumption,
 * LoadedAt), RowId increasing in ingestion order (IDENTITY / BIGSERIAL /
 * INTEGER PRIMARY KEY AUTOINCREMENT; DDL in sql/<dialect>/).
 *
 * A run reads one or two "slices" RowId in (lo, hi]: hi = MAX(RowId) read
 * at the start, lo = 0 (full) or the watermark of the previous run
 * (incremental), minus the overlap when one is asked for: a RowId is taken
 * at insert and becomes visible at commit, so a transaction that commits
 * after a run read larger RowIds leaves rows below the watermark; re-reading
 * the last N RowIds each run picks them up, and re-read rows are harmless
 * (the slice's batch is newer, and within it any later correction of a
 * re-read row has a larger RowId, so it is in the slice too and wins). Each slice becomes one batch of the dataset with key K
 * (aq_dataset_next_key, so it wins over every older batch) and label
 * "odbc-<lo>-<hi>". Protocol, in DATASET/_state/extract.json (atomic):
 *   1. {"watermark": W, "pending": {"lo", "hi", "key"}}   before any file
 *   2. the batch files of every part, each durable (the shard writer)
 *   3. {"watermark": hi, "pending": null}
 * A run that finds a pending slice (a crash between 1 and 3) first deletes
 * every file of that key and redoes the same slice with the same key and
 * label, so a crash at any point plus a rerun leaves the same files, with
 * the same rows, as an uninterrupted run. Then it goes on normally.
 *
 * Windows: a slice is read in statements of at most W rows (opts
 * window_rows), since some drivers hold a statement's whole result in
 * client memory (sqliteodbc at SQLExecDirect, ~160 bytes a row; psqlODBC
 * without a server cursor; MySQL's without NO_CACHE). In RowId order a
 * window is RowId in (a, a + W] (an empty one jumps to the next RowId
 * there is); in key order an AccountOID range [a, b), b the id W rows past
 * a in the table's (AccountOID, ConsumptionDate) index (OFFSET W ROWS FETCH
 * NEXT 1 ROWS ONLY; SQLite LIMIT 1 OFFSET W), so at most W rows of the
 * slice, save one account with more than W rows, which is a window of its
 * own (the probe counts every RowId, so on an incremental slice read in
 * key order a window holds fewer of the slice's rows). Windows are read
 * one after another, in the statement's order, so the writer sees the rows
 * of one statement in the same order and writes the same files. Consistency: every window is within the slice (lo, hi],
 * hi fixed before the first; the windows are disjoint and cover it, so no
 * row is read twice and rows that arrive meanwhile (RowId > hi) are the
 * next run's. A row below hi that commits late is read if its window is
 * still to come, else by a later run with --overlap, as with one statement.
 *
 * Text binding reads RowId too (samples name it); typed and packed binding
 * leave it out of the SELECT list (it only orders; one column less of
 * driver work) and samples name the slice instead.
 *
 * Within a slice the row with the larger RowId wins a duplicate
 * (AccountOID, ConsumptionDate): in key order the query sorts by
 * (AccountOID, ConsumptionDate, RowId) and duplicates are dropped here, and
 * counted; in RowId order the shard writer keeps the last arrival, which is
 * the larger RowId, and duplicates are counted with a set of the keys (up
 * to 1M keys per reader, else reported as not counted). By default a full
 * slice is read in key order and an incremental one in RowId order (see
 * enum aq_extract_order).
 *
 * Row rules (counted per kind in aq_extract_stats.rejected, a few samples
 * logged with account, date and RowId):
 *   null         Consumption NULL                    → kept, value NaN
 *   nan          Consumption NaN or ±Inf             → kept, value NaN
 *   negative     Consumption < 0 (a meter cannot run
 *                backwards; a reversal is a fault)   → kept, value NaN
 *   non_numeric  text that is no number (SQLite's
 *                dynamic typing)                     → kept, value NaN
 *   bad_date     NULL, unparsable, or outside
 *                AQ_DATE_MIN..AQ_DATE_MAX            → row dropped
 *   bad_account  NULL or non-integer AccountOID      → row dropped
 *   duplicate    an earlier RowId of the same
 *                (account, date) in the slice        → earlier row dropped
 *   row_error    the driver flagged the row          → row dropped
 */

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "log.h"

/* Rows per statement by default where a driver holds a whole result: ~40 MB of sqliteodbc (~160 bytes a row). */
#define AQ_EXTRACT_WINDOW_ROWS 262144

enum aq_extract_mode { AQ_EXTRACT_FULL = 0, AQ_EXTRACT_INCREMENTAL };
/* AUTO: KEY for a slice that starts at RowId 0 (a full read), ROWID for a later (incremental) slice. */
enum aq_extract_order { AQ_ORDER_AUTO = 0, AQ_ORDER_KEY, AQ_ORDER_ROWID };
/*
 * TYPED: SQL_C_SBIGINT, SQL_C_TYPE_DATE (or integer days, aq_odbc_days_expr),
 * SQL_C_DOUBLE. TEXT: every column as SQL_C_CHAR, parsed here (SQLite's
 * dynamic typing). PACKED: one SQL_C_CHAR column "account,days,value" built
 * by the server (aq_odbc_packed_row_expr; PostgreSQL), parsed here.
 */
enum aq_extract_bind { AQ_BIND_AUTO = 0, AQ_BIND_TYPED, AQ_BIND_TEXT, AQ_BIND_PACKED };
/*
 * How K connections share the accounts: RANGE splits [MIN, MAX] of
 * AccountOID into K equal id ranges (AccountOID >= ? AND AccountOID < ?: an
 * index range on every database); MODULO reads AccountOID % K = i (even
 * shares whatever the ids, but no index helps and PostgreSQL misestimates
 * it into a sort).
 */
enum aq_extract_split { AQ_SPLIT_RANGE = 0, AQ_SPLIT_MODULO };

enum {
	AQ_REJ_NULL = 0,
	AQ_REJ_NAN,
	AQ_REJ_NEGATIVE,
	AQ_REJ_NON_NUMERIC,
	AQ_REJ_BAD_DATE,
	AQ_REJ_BAD_ACCOUNT,
	AQ_REJ_DUPLICATE,
	AQ_REJ_ROW_ERROR,
	AQ_REJ_KINDS
};
/* "null", "nan", "negative", ... indexed by AQ_REJ_*. */
extern const char *const aq_extract_rej_names[AQ_REJ_KINDS];

struct aq_extract_opts {
	const char *conn;            /* ODBC connection string or DSN name */
	const char *table;           /* e.g. "PORTAL.ConsumptionDaily" */
	const char *out;             /* dataset root */
	int parts;                   /* partitions when creating; 0 = 32 (an existing dataset keeps its own) */
	enum aq_extract_mode mode;
	enum aq_extract_order order;
	/*
	 * AQ_BIND_AUTO: text for SQLite, typed otherwise. Packed moves work from
	 * the client to the server (19.7M rows: client -3 s, server +3 s CPU), a
	 * wash when both share the machine; it pays when the client is the
	 * bottleneck and the server has CPU to spare (docs/sqlserver.md).
	 */
	enum aq_extract_bind bind;
	int parallel;                /* K connections, each reading a disjoint AccountOID share; 0 = auto
					(2 for a database server on 2+ CPUs, 1 for SQLite) */
	enum aq_extract_split split; /* how they share (K > 1) */
	int shared_writer;           /* K > 1: one writer behind a lock instead of one per thread */
	size_t fetch_rows;           /* SQL_ATTR_ROW_ARRAY_SIZE (and psqlODBC Fetch=); 0 = 10000 */
	size_t max_buffer_bytes;     /* shard writer budget, split over the writers; 0 = 96 MiB */
	int samples;                 /* bad-row samples logged per kind; 0 = 3, < 0 = none */
	int64_t overlap;             /* incremental: also re-read RowId in (watermark - overlap, watermark] */
	int64_t window_rows;         /* rows per statement at most; < 0 = one statement; 0 = auto: one statement for
					drivers that stream (SQL Server's, psqlODBC with a server cursor), else
					AQ_EXTRACT_WINDOW_ROWS */
	const volatile sig_atomic_t *stop; /* set (by a signal handler) to stop cleanly with AQ_EINTR */
	struct aq_progress *progress;/* may be NULL */
};

struct aq_extract_stats {
	uint64_t rows_read;          /* rows fetched from the source */
	uint64_t rows;               /* rows handed to the shard writer(s) */
	uint64_t accounts;           /* distinct AccountOID written (summed over slices) */
	uint64_t rejected[AQ_REJ_KINDS];
	int dup_counted;             /* 0: duplicates not counted (RowId order past 1M keys) */
	int64_t watermark_from;      /* watermark before the run */
	int64_t watermark;           /* after the run */
	int64_t read_from;           /* lo of the last slice read: watermark_from - overlap (incremental) */
	int slices;                  /* slices done (2 when a crashed run was finished first) */
	int parallel;                /* K used */
	int resumed;                 /* a pending slice of a crashed run was redone */
	uint64_t windows;            /* statements read (every reader's, every slice's) */
	uint64_t files;              /* batch files written */
	double seconds;
	char dbms[64];
};

int aq_extract_run(const struct aq_extract_opts *o, struct aq_extract_stats *st, struct aq_err *e);

#endif
