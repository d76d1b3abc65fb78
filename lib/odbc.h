/* odbc.h — unixODBC connections: connect, exec, diagnostics, identifier quoting, bulk load of readings. */
#ifndef AQ_ODBC_H
#define AQ_ODBC_H

/*
 * One struct aq_odbc per connection (ODBC 3 environment + connection
 * handle). Every ODBC failure is translated once, here, into a struct
 * aq_err with code AQ_EODBC and the message "<context>: [SQLSTATE] driver
 * message" (all diagnostic records, joined by "; "). Connection strings and
 * driver messages pass through aq_odbc_redact() before they reach a log or
 * an error, so a password (PWD=, Password=, ...) never leaves this module.
 *
 * Dialects differ only in identifier quoting, the table name mapping of
 * SQLite (no schemas, see sql/README.md) and the driver options below;
 * every statement aquacast sends is portable SQL with bound parameters.
 */

#include <stddef.h>
#include <stdint.h>

#include <sql.h>
#include <sqlext.h>

#include "err.h"
#include "readings.h"

enum aq_sql_dialect {
	AQ_SQL_GENERIC = 0,
	AQ_SQL_MSSQL,      /* Microsoft SQL Server (FreeTDS or msodbcsql17/18) */
	AQ_SQL_POSTGRES,   /* PostgreSQL through psqlODBC */
	AQ_SQL_SQLITE,     /* SQLite through sqliteodbc (driver "SQLite3") */
};

struct aq_odbc_opts {
	/*
	 * psqlODBC keeps a whole result set in client memory unless it runs
	 * through a server-side cursor: "UseDeclareFetch=1;Fetch=<fetch_rows>"
	 * is appended when the driver turns out to be psqlODBC and the
	 * connection string does not set UseDeclareFetch. 0 = 10000.
	 */
	size_t fetch_rows;
	/*
	 * The database must exist (readers, and writers into an existing
	 * table): a SQLite file named by Database= is checked before
	 * connecting (aq_odbc_check_exists) and NoCreat=1 is passed, since
	 * the SQLite driver would otherwise create an empty file.
	 */
	int must_exist;
};

struct aq_odbc {
	SQLHENV env;
	SQLHDBC dbc;
	enum aq_sql_dialect dialect;
	int psqlodbc;          /* the driver is psqlODBC */
	char dbms[64];         /* SQL_DBMS_NAME, e.g. "PostgreSQL" */
	char driver[64];       /* SQL_DRIVER_NAME, e.g. "psqlodbcw.so" */
	char *redacted;        /* the connection string as it may be logged */
};

/*
 * A malloc'd copy of s where the value of every PWD/PASSWORD-like key
 * ("pwd", "password", "passwd", case-insensitive, also as a suffix such as
 * "SSLKeyPassword") is replaced by "***". Works on connection strings
 * ("k=v;k={v;;}}w}") and on free text (driver messages). NULL on ENOMEM.
 */
char *aq_odbc_redact(const char *s);

/*
 * Connect with a connection string ("DRIVER=...;..."), or a DSN name (no
 * '=' in conn: becomes "DSN=<conn>"). o may be NULL (defaults).
 */
int aq_odbc_connect(struct aq_odbc *c, const char *conn, const struct aq_odbc_opts *o, struct aq_err *e);
void aq_odbc_release(struct aq_odbc *c);
/*
 * A connection string naming the SQLite driver (DRIVER=...SQLite...) with
 * Database=PATH: AQ_ENOTFOUND "cannot open SQLite database 'PATH': no such
 * file" when PATH does not exist. 0 for any other string (other drivers; a
 * DSN hides its driver and file, it is not checked).
 */
int aq_odbc_check_exists(const char *conn, struct aq_err *e);

/*
 * Translate the diagnostic records of handle h (type SQL_HANDLE_STMT,
 * SQL_HANDLE_DBC, SQL_HANDLE_ENV) into e: "<fmt...>: [SQLSTATE] message".
 * Returns AQ_EODBC, for `return aq_odbc_diag(...)`.
 */
int aq_odbc_diag(struct aq_err *e, SQLSMALLINT type, SQLHANDLE h, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Execute one statement without a result (DDL, DML). */
int aq_odbc_exec(struct aq_odbc *c, const char *sql, struct aq_err *e);
/* Run a query returning one BIGINT (NULL → *isnull = 1, *out = 0); params bound as SQL_C_SBIGINT. */
int aq_odbc_query_int64(struct aq_odbc *c, const char *sql, const int64_t *params, int nparams,
			int64_t *out, int *isnull, struct aq_err *e);
/* Transactions: autocommit off/on, commit, rollback. */
int aq_odbc_autocommit(struct aq_odbc *c, int on, struct aq_err *e);
int aq_odbc_commit(struct aq_odbc *c, struct aq_err *e);
int aq_odbc_rollback(struct aq_odbc *c, struct aq_err *e);

/*
 * Validate a (schema-qualified) table name and quote it for c's dialect.
 * Accepted: one or two parts separated by '.', each [A-Za-z_][A-Za-z0-9_]*
 * up to 128 characters, optionally written as [x] or "x" (stripped, then
 * re-quoted). Output: MSSQL [s].[t]; PostgreSQL s.t bare (folded to lower
 * case like the unquoted DDL) unless the user quoted a part; SQLite has no
 * schemas: "s.t" maps to the single table "s_t" (sql/README.md), quoted.
 * *out is malloc'd.
 */
int aq_odbc_table_name(const struct aq_odbc *c, const char *table, char **out, struct aq_err *e);
/* Only the validation of aq_odbc_table_name (no connection needed). */
int aq_odbc_check_ident(const char *table, struct aq_err *e);

/*
 * An SQL expression giving the date column col as integer days since
 * 1970-01-01 (NULL for a NULL or infinite date), for dialects whose driver
 * converts dates to SQL_C_TYPE_DATE expensively: PostgreSQL sends text that
 * psqlODBC parses with sscanf, about 1,800 instructions a value against
 * ~150 for an integer (docs/sqlserver.md, "what a fetch costs"). Malloc'd; NULL when the
 * dialect has none (bind SQL_C_TYPE_DATE there) or on ENOMEM (*oom set).
 */
char *aq_odbc_days_expr(enum aq_sql_dialect d, const char *col, int *oom);

/*
 * An SQL expression packing AccountOID, ConsumptionDate (as integer days,
 * aq_odbc_days_expr) and Consumption into one text value "a,d,v", each
 * part empty for NULL, for dialects where a driver's per-column cost
 * dominates: psqlODBC spends ~2,000 instructions a row plus ~1,000 a
 * column (single-row mode: a libpq result, then a malloc'd copy, per row
 * and per value), so one column instead of three nearly halves the client
 * CPU; a double is sent by float8out in its shortest exact form (PostgreSQL
 * 12+, or 17 digits with psqlODBC's extra_float_digits), so strtod gets the
 * stored value back bit for bit. Malloc'd; NULL when the dialect has none
 * or on ENOMEM (*oom set).
 */
char *aq_odbc_packed_row_expr(enum aq_sql_dialect d, int *oom);

/* Directory name under sql/ of a dialect: "mssql", "postgres", "sqlite", NULL for generic. */
const char *aq_sql_dialect_dir(enum aq_sql_dialect d);

/*
 * Run a SQL script: statements split at ';' ending a line (and at "GO"
 * lines for T-SQL), "--" comment lines skipped. Used for the DDL in
 * sql/<dialect>/ (the PORTAL.ConsumptionDaily table).
 */
int aq_odbc_run_script(struct aq_odbc *c, const char *path, struct aq_err *e);
/* Run every "*.sql" of <sqldir>/<dialect of c>/ in name order. */
int aq_odbc_create_schema(struct aq_odbc *c, const char *sqldir, struct aq_err *e);

/*
 * Bulk load: INSERT INTO table (AccountOID, ConsumptionDate, Consumption)
 * with column-wise parameter arrays of batch_rows rows (SQL_ATTR_PARAMSET_SIZE;
 * 0 = 5000), one transaction per array; RowId and LoadedAt come from the
 * table's defaults, so RowId follows the order of r. NaN → SQL NULL.
 * The table name goes through aq_odbc_table_name().
 */
int aq_odbc_load_readings(struct aq_odbc *c, const char *table, const struct aq_readings *r,
			  size_t batch_rows, struct aq_err *e);

/*
 * The same load, after deleting the table's rows of the days lo..hi (days
 * since 1970-01-01, inclusive), all in one transaction (a failure leaves
 * the table as it was) when the driver has transactions (SQL_TXN_CAPABLE;
 * else delete, then load, with a warning). *deleted (optional): rows deleted.
 */
int aq_odbc_replace_readings(struct aq_odbc *c, const char *table, const struct aq_readings *r, int32_t lo,
			     int32_t hi, size_t batch_rows, int64_t *deleted, struct aq_err *e);

/*
 * Rows of table whose ConsumptionDate is one of the days lo..hi (inclusive)
 * into *n: portable SQL, the bounds bound as SQL_TYPE_DATE parameters.
 */
int aq_odbc_count_days(struct aq_odbc *c, const char *table, int32_t lo, int32_t hi, int64_t *n, struct aq_err *e);

#endif
