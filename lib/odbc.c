/* odbc.c — unixODBC connections: connect, exec, diagnostics, identifier quoting, bulk load of readings. */
#include "odbc.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "date.h"
#include "fs.h"
#include "log.h"

#define OK(rc) ((rc) == SQL_SUCCESS || (rc) == SQL_SUCCESS_WITH_INFO)

/* ---- redaction ---- */

static int is_secret_key(const char *k, size_t n)
{
	static const char *const sfx[] = { "pwd", "password", "passwd", "secret", "token" };

	for (size_t i = 0; i < sizeof(sfx) / sizeof(sfx[0]); i++) {
		size_t l = strlen(sfx[i]);

		if (n >= l && !strncasecmp(k + n - l, sfx[i], l))
			return 1;
	}
	return 0;
}

char *aq_odbc_redact(const char *s)
{
	size_t n = strlen(s), o = 0;
	char *out = malloc(n + 4 * (n / 2 + 1) + 1); /* each "=" may grow to "=***" */

	if (!out)
		return NULL;
	for (size_t i = 0; i < n;) {
		out[o++] = s[i];
		if (s[i] != '=') {
			i++;
			continue;
		}
		/* Key: identifier characters before '=' (spaces allowed in between). */
		size_t k = i;
		while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t'))
			k--;
		size_t kend = k;
		while (k > 0 && (isalnum((unsigned char)s[k - 1]) || s[k - 1] == '_'))
			k--;
		i++;
		if (kend == k || !is_secret_key(s + k, kend - k))
			continue;
		while (i < n && (s[i] == ' ' || s[i] == '\t'))
			out[o++] = s[i++];
		if (i < n && s[i] == '{') {
			/* {value} with "}}" standing for '}' inside. */
			i++;
			while (i < n) {
				if (s[i] == '}' && i + 1 < n && s[i + 1] == '}') {
					i += 2;
					continue;
				}
				if (s[i] == '}') {
					i++;
					break;
				}
				i++;
			}
		} else {
			while (i < n && s[i] != ';')
				i++;
		}
		memcpy(out + o, "***", 3);
		o += 3;
	}
	out[o] = '\0';
	return out;
}

/* ---- diagnostics ---- */

int aq_odbc_diag(struct aq_err *e, SQLSMALLINT type, SQLHANDLE h, const char *fmt, ...)
{
	char ctx[AQ_ERR_MSG], all[2048];
	size_t len = 0;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(ctx, sizeof(ctx), fmt, ap);
	va_end(ap);
	all[0] = '\0';
	for (SQLSMALLINT rec = 1; h && rec <= 8; rec++) {
		SQLCHAR state[6], msg[1024];
		SQLINTEGER native = 0;
		SQLSMALLINT mlen = 0;
		SQLRETURN rc = SQLGetDiagRec(type, h, rec, state, &native, msg, sizeof(msg), &mlen);

		if (!OK(rc))
			break;
		/* Drivers prefix "[unixODBC][Driver]..."; keep it, it names the layer. */
		int w = snprintf(all + len, sizeof(all) - len, "%s[%s] %s", len ? "; " : "", (char *)state,
				 (char *)msg);
		if (w < 0 || (size_t)w >= sizeof(all) - len) {
			len = sizeof(all) - 1;
			break;
		}
		len += (size_t)w;
	}
	if (!len)
		snprintf(all, sizeof(all), "[HY000] no diagnostic record");
	for (char *p = all; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	char *red = aq_odbc_redact(all);
	aq_err_set(e, AQ_EODBC, "%s: %s", ctx, red ? red : "(message withheld: out of memory)");
	free(red);
	return AQ_EODBC;
}

/* ---- connection ---- */

static int has_key(const char *conn, const char *key)
{
	size_t kl = strlen(key);

	for (const char *p = conn; *p; p++) {
		if ((p == conn || p[-1] == ';') && !strncasecmp(p, key, kl)) {
			const char *q = p + kl;
			while (*q == ' ')
				q++;
			if (*q == '=')
				return 1;
		}
	}
	return 0;
}

static enum aq_sql_dialect dialect_of(const char *dbms)
{
	if (strcasestr(dbms, "sql server"))
		return AQ_SQL_MSSQL;
	if (strcasestr(dbms, "postgres"))
		return AQ_SQL_POSTGRES;
	if (strcasestr(dbms, "sqlite"))
		return AQ_SQL_SQLITE;
	return AQ_SQL_GENERIC;
}

/*
 * The DRIVER= value of a connection string names psqlODBC ("PostgreSQL
 * Unicode", "PostgreSQL ANSI", a path to psqlodbcw.so): its options can go
 * into the first connect instead of a second one (a connect costs a SCRAM
 * handshake, ~25 ms on loopback). A DSN hides the driver: found out after.
 */
static int names_psqlodbc(const char *conn)
{
	for (const char *p = conn; *p; p++) {
		if ((p == conn || p[-1] == ';') && !strncasecmp(p, "driver", 6)) {
			const char *q = p + 6, *end;

			while (*q == ' ')
				q++;
			if (*q != '=')
				continue;
			end = strchr(q, ';');
			for (const char *v = q + 1; *v && (!end || v < end); v++)
				if (!strncasecmp(v, "postgres", 8) || !strncasecmp(v, "psqlodbc", 8))
					return 1;
			return 0;
		}
	}
	return 0;
}

/*
 * The value of key in a connection string ("k=v;k={v;;}}w}"), malloc'd;
 * NULL when absent or on ENOMEM (*oom set).
 */
static char *conn_value(const char *conn, const char *key, int *oom)
{
	size_t kl = strlen(key);
	char *v = NULL;

	*oom = 0;
	for (const char *p = conn; *p; p++) {
		const char *q = p + kl, *end;
		size_t n = 0;

		if (!((p == conn || p[-1] == ';') && !strncasecmp(p, key, kl)))
			continue;
		while (*q == ' ')
			q++;
		if (*q++ != '=')
			continue;
		while (*q == ' ')
			q++;
		if (*q != '{') {
			end = strchr(q, ';');
			v = strndup(q, end ? (size_t)(end - q) : strlen(q));
		} else if ((v = malloc(strlen(q)))) {
			for (q++; *q && !(*q == '}' && q[1] != '}'); q++) {
				v[n++] = *q;
				if (*q == '}') /* "}}" is one '}' */
					q++;
			}
			v[n] = '\0';
		}
		*oom = !v;
		return v;
	}
	return NULL;
}

/* The DRIVER= of conn names the SQLite ODBC driver ("SQLite3", "{SQLite3 ODBC Driver}", a path to libsqlite3odbc.so). */
static int names_sqlite(const char *conn)
{
	int oom, r;
	char *d = conn_value(conn, "driver", &oom);

	r = d && strcasestr(d, "sqlite") != NULL;
	free(d);
	return r;
}

int aq_odbc_check_exists(const char *conn, struct aq_err *e)
{
	char *db;
	int oom, r = 0;

	if (!conn || !names_sqlite(conn))
		return 0;
	if (!(db = conn_value(conn, "database", &oom)))
		return oom ? aq_err_set(e, AQ_ENOMEM, "out of memory") : 0;
	if (*db && strcmp(db, ":memory:") && access(db, F_OK))
		r = errno == ENOENT ? aq_err_set(e, AQ_ENOTFOUND, "cannot open SQLite database '%s': no such file", db)
				    : aq_err_sys(e, "cannot open SQLite database '%s'", db);
	free(db);
	return r;
}

/* conn + ";UseDeclareFetch=1;Fetch=N" (malloc'd; NULL on ENOMEM). */
static char *with_declare_fetch(const char *conn, size_t fetch)
{
	size_t l = strlen(conn);
	char *s;

	if (asprintf(&s, "%s%sUseDeclareFetch=1;Fetch=%zu", conn, l && conn[l - 1] != ';' ? ";" : "", fetch) < 0)
		return NULL;
	return s;
}

static int driver_connect(struct aq_odbc *c, const char *conn, struct aq_err *e)
{
	SQLRETURN rc;

	rc = SQLAllocHandle(SQL_HANDLE_DBC, c->env, &c->dbc);
	if (!OK(rc))
		return aq_odbc_diag(e, SQL_HANDLE_ENV, c->env, "cannot allocate an odbc connection");
	SQLSetConnectAttr(c->dbc, SQL_ATTR_LOGIN_TIMEOUT, (SQLPOINTER)(intptr_t)30, 0);
	rc = SQLDriverConnect(c->dbc, NULL, (SQLCHAR *)conn, SQL_NTS, NULL, 0, NULL, SQL_DRIVER_NOPROMPT);
	if (!OK(rc)) {
		aq_odbc_diag(e, SQL_HANDLE_DBC, c->dbc, "cannot connect to '%s'", c->redacted);
		SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
		c->dbc = NULL;
		return AQ_EODBC;
	}
	return 0;
}

int aq_odbc_connect(struct aq_odbc *c, const char *conn, const struct aq_odbc_opts *o, struct aq_err *e)
{
	size_t fetch = o && o->fetch_rows ? o->fetch_rows : 10000;
	char *cs = NULL;
	SQLSMALLINT len;
	SQLRETURN rc;
	int r;

	memset(c, 0, sizeof(*c));
	if (!conn || !*conn)
		return aq_err_set(e, AQ_EINVAL, "empty odbc connection string");
	if (!strchr(conn, '=')) {
		if (asprintf(&cs, "DSN=%s", conn) < 0)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
	} else if (!(cs = strdup(conn))) {
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	if (names_psqlodbc(cs) && !has_key(cs, "UseDeclareFetch")) {
		char *cs2 = with_declare_fetch(cs, fetch);

		free(cs);
		if (!(cs = cs2))
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	if (o && o->must_exist) {
		char *cs2 = NULL;

		if ((r = aq_odbc_check_exists(cs, e)))
			goto fail;
		/* the driver would create an empty file: NoCreat closes the gap between the check and the connect */
		if (names_sqlite(cs) && !has_key(cs, "NoCreat") &&
		    asprintf(&cs2, "%s%sNoCreat=1", cs, cs[strlen(cs) - 1] != ';' ? ";" : "") < 0) {
			r = aq_err_set(e, AQ_ENOMEM, "out of memory");
			goto fail;
		}
		if (cs2) {
			free(cs);
			cs = cs2;
		}
	}
	c->redacted = aq_odbc_redact(cs);
	if (!c->redacted) {
		r = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto fail;
	}
	rc = SQLAllocHandle(SQL_HANDLE_ENV, SQL_NULL_HANDLE, &c->env);
	if (!OK(rc)) {
		r = aq_err_set(e, AQ_EODBC, "cannot allocate an odbc environment");
		goto fail;
	}
	SQLSetEnvAttr(c->env, SQL_ATTR_ODBC_VERSION, (SQLPOINTER)SQL_OV_ODBC3, 0);
	if ((r = driver_connect(c, cs, e)))
		goto fail;
	SQLGetInfo(c->dbc, SQL_DBMS_NAME, c->dbms, sizeof(c->dbms), &len);
	SQLGetInfo(c->dbc, SQL_DRIVER_NAME, c->driver, sizeof(c->driver), &len);
	c->dialect = dialect_of(c->dbms);
	c->psqlodbc = strncasecmp(c->driver, "psqlodbc", 8) == 0;
	if (c->psqlodbc && !has_key(cs, "UseDeclareFetch")) {
		/*
		 * The driver is known only once connected (a DSN hides it):
		 * reconnect with a server-side cursor so results stream in
		 * Fetch-row chunks instead of being buffered whole.
		 */
		char *cs2 = with_declare_fetch(cs, fetch);

		if (!cs2) {
			r = aq_err_set(e, AQ_ENOMEM, "out of memory");
			goto fail;
		}
		SQLDisconnect(c->dbc);
		SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
		c->dbc = NULL;
		free(cs);
		cs = cs2;
		free(c->redacted);
		if (!(c->redacted = aq_odbc_redact(cs))) {
			r = aq_err_set(e, AQ_ENOMEM, "out of memory");
			goto fail;
		}
		if ((r = driver_connect(c, cs, e)))
			goto fail;
	}
	aq_debug("connected to '%s' (dbms %s, driver %s)", c->redacted, c->dbms, c->driver);
	free(cs);
	return 0;
fail:
	free(cs);
	aq_odbc_release(c);
	return r;
}

void aq_odbc_release(struct aq_odbc *c)
{
	if (c->dbc) {
		SQLDisconnect(c->dbc);
		SQLFreeHandle(SQL_HANDLE_DBC, c->dbc);
	}
	if (c->env)
		SQLFreeHandle(SQL_HANDLE_ENV, c->env);
	free(c->redacted);
	memset(c, 0, sizeof(*c));
}

/* ---- statements ---- */

int aq_odbc_exec(struct aq_odbc *c, const char *sql, struct aq_err *e)
{
	SQLHSTMT st;
	SQLRETURN rc;
	int r = 0;

	rc = SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &st);
	if (!OK(rc))
		return aq_odbc_diag(e, SQL_HANDLE_DBC, c->dbc, "cannot allocate a statement");
	rc = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
	/* SQL_NO_DATA: a searched UPDATE/DELETE that touched no row. */
	if (!OK(rc) && rc != SQL_NO_DATA)
		r = aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot execute '%.80s'", sql);
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	return r;
}

int aq_odbc_query_int64(struct aq_odbc *c, const char *sql, const int64_t *params, int nparams,
			int64_t *out, int *isnull, struct aq_err *e)
{
	SQLHSTMT st;
	SQLRETURN rc;
	SQLBIGINT v = 0;
	SQLLEN ind = 0;
	int r = 0;

	rc = SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &st);
	if (!OK(rc))
		return aq_odbc_diag(e, SQL_HANDLE_DBC, c->dbc, "cannot allocate a statement");
	for (int i = 0; i < nparams; i++) {
		rc = SQLBindParameter(st, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0,
				      (SQLPOINTER)&params[i], 0, NULL);
		if (!OK(rc)) {
			r = aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot bind parameter %d of '%.80s'", i + 1, sql);
			goto out;
		}
	}
	rc = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
	if (!OK(rc)) {
		r = aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot execute '%.80s'", sql);
		goto out;
	}
	rc = SQLFetch(st);
	if (rc == SQL_NO_DATA) {
		r = aq_err_set(e, AQ_ENOTFOUND, "no row from '%.80s'", sql);
		goto out;
	}
	if (!OK(rc)) {
		r = aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot fetch from '%.80s'", sql);
		goto out;
	}
	rc = SQLGetData(st, 1, SQL_C_SBIGINT, &v, sizeof(v), &ind);
	if (!OK(rc)) {
		r = aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot read the result of '%.80s'", sql);
		goto out;
	}
	*out = ind == SQL_NULL_DATA ? 0 : (int64_t)v;
	if (isnull)
		*isnull = ind == SQL_NULL_DATA;
out:
	SQLFreeHandle(SQL_HANDLE_STMT, st);
	return r;
}

int aq_odbc_autocommit(struct aq_odbc *c, int on, struct aq_err *e)
{
	SQLRETURN rc = SQLSetConnectAttr(c->dbc, SQL_ATTR_AUTOCOMMIT,
					 (SQLPOINTER)(intptr_t)(on ? SQL_AUTOCOMMIT_ON : SQL_AUTOCOMMIT_OFF), 0);

	return OK(rc) ? 0 : aq_odbc_diag(e, SQL_HANDLE_DBC, c->dbc, "cannot set autocommit %s", on ? "on" : "off");
}

int aq_odbc_commit(struct aq_odbc *c, struct aq_err *e)
{
	SQLRETURN rc = SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_COMMIT);

	return OK(rc) ? 0 : aq_odbc_diag(e, SQL_HANDLE_DBC, c->dbc, "cannot commit");
}

int aq_odbc_rollback(struct aq_odbc *c, struct aq_err *e)
{
	SQLRETURN rc = SQLEndTran(SQL_HANDLE_DBC, c->dbc, SQL_ROLLBACK);

	return OK(rc) ? 0 : aq_odbc_diag(e, SQL_HANDLE_DBC, c->dbc, "cannot roll back");
}

/* ---- identifiers ---- */

#define IDENT_MAX 128

/* Split "a.b" / "[a].[b]" / "\"a\".b" into up to two bare parts; quoted[i] tells if part i was quoted. */
static int split_ident(const char *table, char parts[2][IDENT_MAX + 1], int quoted[2], int *nparts,
		       struct aq_err *e)
{
	const char *p = table;
	int n = 0;

	if (!table || !*table)
		return aq_err_set(e, AQ_EINVAL, "empty table name");
	for (;;) {
		char close = 0;
		size_t l = 0;

		if (n == 2)
			return aq_err_set(e, AQ_EINVAL, "bad table name '%.140s': more than schema.table", table);
		if (*p == '[')
			close = ']';
		else if (*p == '"')
			close = '"';
		if (close)
			p++;
		quoted[n] = close != 0;
		if (!(isalpha((unsigned char)*p) || *p == '_'))
			return aq_err_set(e, AQ_EINVAL,
					  "bad table name '%.140s': a part must start with a letter or '_'", table);
		while (isalnum((unsigned char)*p) || *p == '_') {
			if (l == IDENT_MAX)
				return aq_err_set(e, AQ_EINVAL, "bad table name '%.140s': part longer than %d",
						  table, IDENT_MAX);
			parts[n][l++] = *p++;
		}
		parts[n][l] = '\0';
		if (close) {
			if (*p != close)
				return aq_err_set(e, AQ_EINVAL,
						  "bad table name '%.140s': only letters, digits and '_' allowed",
						  table);
			p++;
		}
		n++;
		if (*p == '.') {
			p++;
			continue;
		}
		if (*p)
			return aq_err_set(e, AQ_EINVAL, "bad table name '%.140s': only letters, digits and '_' allowed",
					  table);
		break;
	}
	*nparts = n;
	return 0;
}

int aq_odbc_check_ident(const char *table, struct aq_err *e)
{
	char parts[2][IDENT_MAX + 1];
	int quoted[2], n;

	return split_ident(table, parts, quoted, &n, e);
}

int aq_odbc_table_name(const struct aq_odbc *c, const char *table, char **out, struct aq_err *e)
{
	char parts[2][IDENT_MAX + 1];
	int quoted[2], n, r, w = -1;

	if ((r = split_ident(table, parts, quoted, &n, e)))
		return r;
	switch (c->dialect) {
	case AQ_SQL_MSSQL:
		w = n == 2 ? asprintf(out, "[%s].[%s]", parts[0], parts[1]) : asprintf(out, "[%s]", parts[0]);
		break;
	case AQ_SQL_SQLITE:
		/* The one place where PORTAL.ConsumptionDaily becomes "PORTAL_ConsumptionDaily". */
		w = n == 2 ? asprintf(out, "\"%s_%s\"", parts[0], parts[1]) : asprintf(out, "\"%s\"", parts[0]);
		break;
	case AQ_SQL_POSTGRES:
	case AQ_SQL_GENERIC: {
		/* Unquoted parts fold like the unquoted DDL did; quoted ones keep their case. */
		const char *q0 = quoted[0] ? "\"" : "", *q1 = n == 2 && quoted[1] ? "\"" : "";

		w = n == 2 ? asprintf(out, "%s%s%s.%s%s%s", q0, parts[0], q0, q1, parts[1], q1)
			   : asprintf(out, "%s%s%s", q0, parts[0], q0);
		break;
	}
	}
	if (w < 0) {
		*out = NULL;
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	return 0;
}

char *aq_odbc_days_expr(enum aq_sql_dialect d, const char *col, int *oom)
{
	char *s = NULL;

	*oom = 0;
	if (d != AQ_SQL_POSTGRES)
		return NULL;
	/* date - date is an integer in PostgreSQL; 'infinity' would raise an error, so it becomes NULL. */
	if (asprintf(&s, "CASE WHEN isfinite(%s) THEN %s - DATE '1970-01-01' END", col, col) < 0) {
		*oom = 1;
		return NULL;
	}
	return s;
}

char *aq_odbc_packed_row_expr(enum aq_sql_dialect d, int *oom)
{
	char *days, *s = NULL;

	*oom = 0;
	if (d != AQ_SQL_POSTGRES)
		return NULL;
	if (!(days = aq_odbc_days_expr(d, "ConsumptionDate", oom)))
		return NULL;
	/* Standard || and CAST; COALESCE keeps three fields when a part is NULL. */
	if (asprintf(&s,
		     "COALESCE(CAST(AccountOID AS text), '') || ',' || COALESCE(CAST(%s AS text), '') || ',' || "
		     "COALESCE(CAST(Consumption AS text), '')",
		     days) < 0) {
		*oom = 1;
		s = NULL;
	}
	free(days);
	return s;
}

const char *aq_sql_dialect_dir(enum aq_sql_dialect d)
{
	switch (d) {
	case AQ_SQL_MSSQL: return "mssql";
	case AQ_SQL_POSTGRES: return "postgres";
	case AQ_SQL_SQLITE: return "sqlite";
	default: return NULL;
	}
}

/* ---- scripts ---- */

static int line_is(const char *l, size_t n, const char *word)
{
	while (n && isspace((unsigned char)*l))
		l++, n--;
	while (n && isspace((unsigned char)l[n - 1]))
		n--;
	return n == strlen(word) && !strncasecmp(l, word, n);
}

int aq_odbc_run_script(struct aq_odbc *c, const char *path, struct aq_err *e)
{
	char *text = NULL, *stmt = NULL;
	size_t len, sl = 0;
	int r;

	if ((r = aq_fs_read_all(path, &text, &len, e)))
		return r;
	if (!(stmt = malloc(len + 1))) {
		free(text);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	for (char *l = text; l < text + len;) {
		char *nl = memchr(l, '\n', (size_t)(text + len - l));
		size_t ll = nl ? (size_t)(nl - l) : (size_t)(text + len - l);
		const char *t = l;
		size_t tl = ll;
		int end = 0;

		while (tl && isspace((unsigned char)*t))
			t++, tl--;
		while (tl && isspace((unsigned char)t[tl - 1]))
			tl--;
		if (tl >= 2 && t[0] == '-' && t[1] == '-') {
			/* comment line */
		} else if (line_is(l, ll, "GO")) {
			end = 1;
		} else if (tl) {
			memcpy(stmt + sl, l, ll);
			sl += ll;
			stmt[sl++] = '\n';
			if (t[tl - 1] == ';') {
				end = 1;
				/* drop the ';' (some drivers refuse it) */
				char *semi = memrchr(stmt, ';', sl);
				sl = (size_t)(semi - stmt);
			}
		}
		if (end || !nl) {
			stmt[sl] = '\0';
			int blank = 1;
			for (size_t i = 0; i < sl; i++)
				blank &= isspace((unsigned char)stmt[i]) != 0;
			if (!blank && (r = aq_odbc_exec(c, stmt, e))) {
				aq_err_prefix(e, "in '%s'", path);
				break;
			}
			sl = 0;
		}
		l = nl ? nl + 1 : text + len;
	}
	free(stmt);
	free(text);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int aq_odbc_create_schema(struct aq_odbc *c, const char *sqldir, struct aq_err *e)
{
	const char *sub = aq_sql_dialect_dir(c->dialect);
	char *dir, **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int r = 0;

	if (!sub)
		return aq_err_set(e, AQ_EUNSUPPORTED, "no sql scripts for dbms '%s'", c->dbms);
	if (!(dir = aq_path_join(sqldir, sub)))
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (!(d = opendir(dir))) {
		r = aq_err_sys(e, "cannot open '%s'", dir);
		free(dir);
		return r;
	}
	while ((de = readdir(d))) {
		size_t l = strlen(de->d_name);

		if (de->d_name[0] == '.' || l < 5 || strcmp(de->d_name + l - 4, ".sql"))
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 8) * sizeof(*names));
			if (!nn) {
				r = aq_err_set(e, AQ_ENOMEM, "out of memory");
				goto out;
			}
			names = nn;
		}
		if (!(names[n] = aq_path_join(dir, de->d_name))) {
			r = aq_err_set(e, AQ_ENOMEM, "out of memory");
			goto out;
		}
		n++;
	}
	if (!n) {
		r = aq_err_set(e, AQ_ENOTFOUND, "no '*.sql' file in '%s'", dir);
		goto out;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && !r; i++)
		r = aq_odbc_run_script(c, names[i], e);
out:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(dir);
	return r;
}

/* ---- day ranges ---- */

static void to_date_struct(int32_t day, SQL_DATE_STRUCT *d)
{
	int y, mo, dd;

	aq_date_to_ymd(day, &y, &mo, &dd);
	d->year = (SQLSMALLINT)y;
	d->month = (SQLUSMALLINT)mo;
	d->day = (SQLUSMALLINT)dd;
}

/*
 * Run "<verb> <table> WHERE ConsumptionDate >= ? AND ConsumptionDate < ?"
 * for the days lo..hi. The half-open bound is the portable way to take a
 * whole day whatever the column holds: a SQLite text date with a time part
 * ('2022-05-01 00:00:00') sorts after '2022-05-01' but before '2022-05-02'.
 * count (optional): the first column of the one result row; changed
 * (optional): SQLRowCount of a DELETE.
 */
static int exec_days(struct aq_odbc *c, const char *verb, const char *table, int32_t lo, int32_t hi, int64_t *count,
		     int64_t *changed, struct aq_err *e)
{
	SQL_DATE_STRUCT d[2];
	SQLHSTMT st = NULL;
	SQLBIGINT v = 0;
	SQLLEN ind = 0, nrows = 0;
	SQLRETURN rc;
	char *qt = NULL, *sql = NULL;
	int r;

	if ((r = aq_odbc_table_name(c, table, &qt, e)))
		return r;
	if (asprintf(&sql, "%s %s WHERE ConsumptionDate >= ? AND ConsumptionDate < ?", verb, qt) < 0) {
		free(qt);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	to_date_struct(lo, &d[0]);
	to_date_struct(hi + 1, &d[1]);
	rc = SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &st);
	if (!OK(rc)) {
		st = NULL;
		r = aq_odbc_diag(e, SQL_HANDLE_DBC, c->dbc, "cannot allocate a statement");
		goto out;
	}
	for (int i = 0; i < 2 && OK(rc); i++)
		rc = SQLBindParameter(st, (SQLUSMALLINT)(i + 1), SQL_PARAM_INPUT, SQL_C_TYPE_DATE, SQL_TYPE_DATE, 10, 0,
				      &d[i], 0, NULL);
	if (OK(rc))
		rc = SQLExecDirect(st, (SQLCHAR *)sql, SQL_NTS);
	if (!OK(rc) && rc != SQL_NO_DATA) {
		r = aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot execute '%.80s'", sql);
		goto out;
	}
	if (changed) {
		*changed = OK(SQLRowCount(st, &nrows)) && nrows > 0 ? (int64_t)nrows : 0;
	}
	if (count) {
		rc = SQLFetch(st);
		if (OK(rc))
			rc = SQLGetData(st, 1, SQL_C_SBIGINT, &v, sizeof(v), &ind);
		if (!OK(rc)) {
			r = aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot read the result of '%.80s'", sql);
			goto out;
		}
		*count = ind == SQL_NULL_DATA ? 0 : (int64_t)v;
	}
out:
	if (st)
		SQLFreeHandle(SQL_HANDLE_STMT, st);
	free(sql);
	free(qt);
	return r;
}

int aq_odbc_count_days(struct aq_odbc *c, const char *table, int32_t lo, int32_t hi, int64_t *n, struct aq_err *e)
{
	return exec_days(c, "SELECT COUNT(*) FROM", table, lo, hi, n, NULL, e);
}

/* ---- bulk load ---- */

struct load {
	const struct aq_readings *r;
	const char *table;
	size_t nb;
	SQL_DATE_STRUCT *dates;
	SQLLEN *vind;
	SQLUSMALLINT *status;
	SQLULEN processed;
};

/* Insert rows off..off+m-1 of l->r with the prepared statement st (one SQLExecute of a parameter array). */
static int insert_rows(SQLHSTMT st, struct load *l, size_t off, size_t m, struct aq_err *e)
{
	const struct aq_readings *r = l->r;
	SQLRETURN rc;

	for (size_t i = 0; i < m; i++) {
		to_date_struct(r->date[off + i], &l->dates[i]);
		l->vind[i] = isnan(r->value[off + i]) ? SQL_NULL_DATA : (SQLLEN)sizeof(double);
	}
	rc = SQLSetStmtAttr(st, SQL_ATTR_PARAMSET_SIZE, (SQLPOINTER)(uintptr_t)m, 0);
	if (!OK(rc))
		return aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot set the parameter array size %zu", m);
	/* Re-bind at each offset: the arrays are the caller's columns, shifted. */
	rc = SQLBindParameter(st, 1, SQL_PARAM_INPUT, SQL_C_SBIGINT, SQL_BIGINT, 0, 0, r->account + off, 0, NULL);
	if (OK(rc))
		rc = SQLBindParameter(st, 2, SQL_PARAM_INPUT, SQL_C_TYPE_DATE, SQL_TYPE_DATE, 10, 0, l->dates, 0, NULL);
	if (OK(rc))
		rc = SQLBindParameter(st, 3, SQL_PARAM_INPUT, SQL_C_DOUBLE, SQL_DOUBLE, 15, 0, r->value + off, 0,
				      l->vind);
	if (!OK(rc))
		return aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot bind the insert parameters");
	/* Some drivers (sqliteodbc) never write the status array: without this
	 * reset, stale heap bytes could read as SQL_PARAM_ERROR. */
	for (size_t i = 0; i < m; i++)
		l->status[i] = SQL_PARAM_UNUSED;
	l->processed = 0;
	rc = SQLExecute(st);
	if (!OK(rc))
		return aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot insert rows %zu..%zu into '%s'", off, off + m - 1,
				    l->table);
	for (size_t i = 0; i < m && i < l->processed; i++)
		if (l->status[i] == SQL_PARAM_ERROR)
			return aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot insert row %zu into '%s'", off + i, l->table);
	return 0;
}

/*
 * Prepare the INSERT and run it over l->r in arrays of l->nb rows, autocommit
 * off; commit after each array, or once at the end when one_tx.
 */
static int insert_all(struct aq_odbc *c, struct load *l, int one_tx, struct aq_err *e)
{
	SQLHSTMT st = NULL;
	SQLRETURN rc;
	char *qt = NULL, *sql = NULL;
	int ret;

	if ((ret = aq_odbc_table_name(c, l->table, &qt, e)))
		return ret;
	if (asprintf(&sql, "INSERT INTO %s (AccountOID, ConsumptionDate, Consumption) VALUES (?, ?, ?)", qt) < 0) {
		free(qt);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	rc = SQLAllocHandle(SQL_HANDLE_STMT, c->dbc, &st);
	if (!OK(rc)) {
		st = NULL;
		ret = aq_odbc_diag(e, SQL_HANDLE_DBC, c->dbc, "cannot allocate a statement");
		goto out;
	}
	rc = SQLPrepare(st, (SQLCHAR *)sql, SQL_NTS);
	if (!OK(rc)) {
		ret = aq_odbc_diag(e, SQL_HANDLE_STMT, st, "cannot prepare the insert into '%s'", l->table);
		goto out;
	}
	SQLSetStmtAttr(st, SQL_ATTR_PARAM_BIND_TYPE, (SQLPOINTER)SQL_PARAM_BIND_BY_COLUMN, 0);
	SQLSetStmtAttr(st, SQL_ATTR_PARAM_STATUS_PTR, l->status, 0);
	SQLSetStmtAttr(st, SQL_ATTR_PARAMS_PROCESSED_PTR, &l->processed, 0);
	for (size_t off = 0; off < l->r->n && !ret; off += l->nb) {
		size_t m = l->r->n - off < l->nb ? l->r->n - off : l->nb;

		if (!(ret = insert_rows(st, l, off, m, e)) && !one_tx)
			ret = aq_odbc_commit(c, e);
	}
	if (!ret && one_tx)
		ret = aq_odbc_commit(c, e);
out:
	if (st)
		SQLFreeHandle(SQL_HANDLE_STMT, st);
	free(sql);
	free(qt);
	return ret;
}

/*
 * The bulk load; with del (days del[0]..del[1]) those days' rows are deleted
 * first, in the same transaction as the whole load when the driver has
 * transactions (*deleted: how many).
 */
static int load_rows(struct aq_odbc *c, const char *table, const struct aq_readings *r, size_t batch_rows,
		     const int32_t *del, int64_t *deleted, struct aq_err *e)
{
	struct load l = {.r = r, .table = table, .nb = batch_rows ? batch_rows : 5000};
	SQLUSMALLINT txn = SQL_TC_ALL;
	int ret;

	if (del && !OK(SQLGetInfo(c->dbc, SQL_TXN_CAPABLE, &txn, sizeof(txn), NULL)))
		txn = SQL_TC_NONE;
	if (!r->n && !del)
		return 0;
	if (l.nb > r->n)
		l.nb = r->n ? r->n : 1;
	l.dates = malloc(l.nb * sizeof(*l.dates));
	l.vind = malloc(l.nb * sizeof(*l.vind));
	l.status = malloc(l.nb * sizeof(*l.status));
	if (!l.dates || !l.vind || !l.status) {
		ret = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto out;
	}
	if (del && txn == SQL_TC_NONE) {
		aq_warn("the driver of '%s' has no transactions: the old rows are deleted before the load", c->dbms);
		if ((ret = exec_days(c, "DELETE FROM", table, del[0], del[1], NULL, deleted, e)))
			goto out;
		del = NULL;
	}
	if ((ret = aq_odbc_autocommit(c, 0, e)))
		goto out;
	if (del)
		ret = exec_days(c, "DELETE FROM", table, del[0], del[1], NULL, deleted, e);
	if (!ret && r->n)
		ret = insert_all(c, &l, del != NULL, e);
	else if (!ret)
		ret = aq_odbc_commit(c, e);
	if (ret)
		aq_odbc_rollback(c, NULL);
	if (ret)
		aq_odbc_autocommit(c, 1, NULL);
	else
		ret = aq_odbc_autocommit(c, 1, e);
out:
	free(l.status);
	free(l.vind);
	free(l.dates);
	return ret;
}

int aq_odbc_load_readings(struct aq_odbc *c, const char *table, const struct aq_readings *r,
			  size_t batch_rows, struct aq_err *e)
{
	return load_rows(c, table, r, batch_rows, NULL, NULL, e);
}

int aq_odbc_replace_readings(struct aq_odbc *c, const char *table, const struct aq_readings *r, int32_t lo,
			     int32_t hi, size_t batch_rows, int64_t *deleted, struct aq_err *e)
{
	int32_t del[2] = {lo, hi};
	int64_t n = 0;
	int rc = load_rows(c, table, r, batch_rows, del, &n, e);

	if (deleted)
		*deleted = n;
	return rc;
}
