/* test_odbc.c — redaction, identifier checks, and a load/read round trip through SQLite over unixODBC. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "date.h"
#include "odbc.h"
#include "test.h"

static void test_redact(void)
{
	static const struct { const char *in, *want; } cases[] = {
		{ "DRIVER=x;UID=sa;PWD=s3cr3t;Database=d", "DRIVER=x;UID=sa;PWD=***;Database=d" },
		{ "Server=h;Password={a;b}}c};x=1", "Server=h;Password=***;x=1" },
		{ "pwd = hunter2", "pwd = ***" },
		{ "Server=h;SSLKeyPassword=k", "Server=h;SSLKeyPassword=***" },
		{ "login failed (PWD=abc)", "login failed (PWD=***" },
		{ "no secret here=1", "no secret here=1" },
		{ "PWD=", "PWD=***" },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *r = aq_odbc_redact(cases[i].in);

		T_ASSERT(r);
		if (strcmp(r, cases[i].want))
			T_FAIL("redact('%s') = '%s', want '%s'", cases[i].in, r, cases[i].want);
		T_CHECK(!strstr(r, "s3cr3t") && !strstr(r, "hunter2"));
		free(r);
	}
}

static void test_ident(void)
{
	static const char *good[] = { "PORTAL.ConsumptionDaily", "[PORTAL].[ConsumptionDaily]",
				      "\"PORTAL\".ConsumptionDaily", "t", "_x1.y_2" };
	static const char *bad[] = { "", "a.b.c", "a;DROP TABLE x", "1abc", "a b", "[a", "a.", "\"a].b",
				     "a.b--", "a'b" };
	struct aq_err e = { 0 };
	struct aq_odbc c = { 0 };
	char *q;

	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (aq_odbc_check_ident(good[i], &e))
			T_FAIL("'%s' refused: %s", good[i], e.msg);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!aq_odbc_check_ident(bad[i], &e))
			T_FAIL("'%s' accepted", bad[i]);
	c.dialect = AQ_SQL_MSSQL;
	T_OK(aq_odbc_table_name(&c, "\"PORTAL\".ConsumptionDaily", &q, &e));
	T_CHECK(!strcmp(q, "[PORTAL].[ConsumptionDaily]"));
	free(q);
	c.dialect = AQ_SQL_POSTGRES;
	T_OK(aq_odbc_table_name(&c, "[PORTAL].ConsumptionDaily", &q, &e));
	T_CHECK(!strcmp(q, "\"PORTAL\".ConsumptionDaily"));
	free(q);
	c.dialect = AQ_SQL_SQLITE;
	T_OK(aq_odbc_table_name(&c, "PORTAL.ConsumptionDaily", &q, &e));
	T_CHECK(!strcmp(q, "\"PORTAL_ConsumptionDaily\""));
	free(q);
}

/*
 * Create PORTAL.ConsumptionDaily from sql/<dialect>/, load 1000 readings
 * (some NaN) with the bulk loader, then check count, NULLs, sum and that
 * RowId follows the input order. The table name is written the logical way.
 */
static void roundtrip(const char *conn, enum aq_sql_dialect want)
{
	struct aq_readings r = { 0 };
	struct aq_odbc c;
	struct aq_err e = { 0 };
	int64_t v, p[2];
	int isnull;
	double sum = 0;
	char *t = NULL, q[512];

	if (aq_odbc_connect(&c, conn, NULL, &e)) {
		T_FAIL("connect: %s", e.msg);
		return;
	}
	T_EQ_INT(c.dialect, want);
	T_CHECK(!strstr(c.redacted, "topsecret") && !strstr(c.redacted, "aquacast-test-pw"));
	if (aq_odbc_create_schema(&c, "sql", &e))
		T_FAIL("create schema: %s", e.msg);
	T_OK(aq_odbc_create_schema(&c, "sql", &e)); /* idempotent */
	T_OK(aq_odbc_table_name(&c, "PORTAL.ConsumptionDaily", &t, &e));
	snprintf(q, sizeof(q), "DELETE FROM %s", t);
	T_OK(aq_odbc_exec(&c, q, &e));
	/* Filled by hand: this test must not depend on lib/readings.c. */
	r.n = r.cap = 1000;
	r.date = calloc(r.n, sizeof(*r.date));
	r.account = calloc(r.n, sizeof(*r.account));
	r.value = calloc(r.n, sizeof(*r.value));
	T_ASSERT(r.date && r.account && r.value);
	for (int i = 0; i < 1000; i++) {
		double x = i % 97 == 0 ? NAN : i * 0.25;

		r.date[i] = aq_date_from_ymd(2022, 4, 1) + i % 50;
		r.account[i] = 3000000 + i / 50;
		r.value[i] = x;
		if (!isnan(x))
			sum += x;
	}
	T_OK(aq_odbc_load_readings(&c, "PORTAL.ConsumptionDaily", &r, 300, &e));
	snprintf(q, sizeof(q), "SELECT COUNT(*) FROM %s", t);
	T_OK(aq_odbc_query_int64(&c, q, NULL, 0, &v, &isnull, &e));
	T_EQ_INT(v, 1000);
	snprintf(q, sizeof(q), "SELECT COUNT(*) FROM %s WHERE Consumption IS NULL", t);
	T_OK(aq_odbc_query_int64(&c, q, NULL, 0, &v, &isnull, &e));
	T_EQ_INT(v, 11); /* i = 0, 97, ..., 970 */
	snprintf(q, sizeof(q), "SELECT CAST(ROUND(SUM(Consumption) * 4) AS BIGINT) FROM %s", t);
	T_OK(aq_odbc_query_int64(&c, q, NULL, 0, &v, &isnull, &e));
	T_EQ_INT(v, (int64_t)llround(sum * 4));
	/* RowId follows the input order: the 501st row (i = 500) is account 3000010 on 2022-04-01. */
	snprintf(q, sizeof(q), "SELECT AccountOID FROM %s WHERE RowId = (SELECT MIN(RowId) FROM %s) + ?", t, t);
	p[0] = 500;
	T_OK(aq_odbc_query_int64(&c, q, p, 1, &v, &isnull, &e));
	T_EQ_INT(v, 3000010);
	snprintf(q, sizeof(q), "SELECT COUNT(*) FROM %s WHERE ConsumptionDate = '2022-04-01' AND AccountOID >= ?", t);
	p[0] = 3000000;
	T_OK(aq_odbc_query_int64(&c, q, p, 1, &v, &isnull, &e));
	T_EQ_INT(v, 20);

	/* Day ranges (stream-replay seed): count, then replace days 1..10 by 5 rows in one transaction. */
	{
		int32_t d0 = aq_date_from_ymd(2022, 4, 1);
		struct aq_readings few = { 0 };
		int64_t n = -1, del = -1;

		T_OK(aq_odbc_count_days(&c, "PORTAL.ConsumptionDaily", d0, d0, &n, &e));
		T_EQ_INT(n, 20);
		T_OK(aq_odbc_count_days(&c, "PORTAL.ConsumptionDaily", d0 + 1, d0 + 10, &n, &e));
		T_EQ_INT(n, 200);
		T_OK(aq_odbc_count_days(&c, "PORTAL.ConsumptionDaily", d0 - 30, d0 - 1, &n, &e));
		T_EQ_INT(n, 0);
		few.n = few.cap = 5;
		few.date = r.date;     /* rows 0..4: day 0..4 of account 3000000 */
		few.account = r.account;
		few.value = r.value;
		T_OK(aq_odbc_replace_readings(&c, "PORTAL.ConsumptionDaily", &few, d0, d0 + 9, 2, &del, &e));
		T_EQ_INT(del, 200);
		snprintf(q, sizeof(q), "SELECT COUNT(*) FROM %s", t);
		T_OK(aq_odbc_query_int64(&c, q, NULL, 0, &v, &isnull, &e));
		T_EQ_INT(v, 1000 - 200 + 5);
		T_OK(aq_odbc_count_days(&c, "PORTAL.ConsumptionDaily", d0, d0 + 9, &n, &e));
		T_EQ_INT(n, 5);
		T_CHECK(aq_odbc_count_days(&c, "PORTAL.NoSuchTable", d0, d0, &n, &e) == AQ_EODBC);
	}
	/* Errors carry the SQLSTATE and the driver message. */
	T_CHECK(aq_odbc_exec(&c, "SELECT * FROM no_such_table", &e) == AQ_EODBC);
	if (!strstr(e.msg, "[HY000]") && !strstr(e.msg, "[42S02]") && !strstr(e.msg, "[42P01]"))
		T_FAIL("no SQLSTATE in '%s'", e.msg);
	T_CHECK(strstr(e.msg, "no_such_table") != NULL);
	free(r.date);
	free(r.account);
	free(r.value);
	free(t);
	aq_odbc_release(&c);
}

static void test_sqlite_roundtrip(void)
{
	char db[] = "/tmp/aq_test_odbc_XXXXXX", *conn = NULL;
	int fd = mkstemp(db);

	T_ASSERT(fd >= 0);
	close(fd);
	T_ASSERT(asprintf(&conn, "DRIVER=SQLite3;Database=%s;PWD=topsecret", db) > 0);
	roundtrip(conn, AQ_SQL_SQLITE);
	unlink(db);
	free(conn);
}

/* Only when tests/integration/extract_postgres.sh runs this binary with a server. */
static void test_postgres_roundtrip(void)
{
	roundtrip(getenv("AQ_TEST_PG_CONN"), AQ_SQL_POSTGRES);
}

static void test_connect_errors(void)
{
	struct aq_odbc c2;
	struct aq_err e2 = { 0 };

	/* A failing connect must not leak the password either. */
	T_CHECK(aq_odbc_connect(&c2, "DRIVER=NoSuchDriver;PWD=topsecret", NULL, &e2) == AQ_EODBC);
	T_CHECK(!strstr(e2.msg, "topsecret"));
	if (!strstr(e2.msg, "[01000]") && !strstr(e2.msg, "[IM002]"))
		T_FAIL("no SQLSTATE in '%s'", e2.msg);
	T_CHECK(aq_odbc_connect(&c2, "", NULL, &e2) == AQ_EINVAL);
}

/* A SQLite path that does not exist is refused before connecting, and no file appears. */
static void test_sqlite_must_exist(void)
{
	char dir[] = "/tmp/aq_test_odbc_dir_XXXXXX", *conn = NULL, *path = NULL;
	struct aq_odbc_opts o = { .must_exist = 1 };
	struct aq_err e = { 0 };
	struct aq_odbc c;

	T_ASSERT(mkdtemp(dir));
	T_ASSERT(asprintf(&path, "%s/missing.db", dir) > 0);
	T_ASSERT(asprintf(&conn, "DRIVER=SQLite3;Database=%s", path) > 0);
	T_CHECK(aq_odbc_check_exists(conn, &e) == AQ_ENOTFOUND);
	T_CHECK(strstr(e.msg, "cannot open SQLite database '") && strstr(e.msg, "missing.db': no such file"));
	T_CHECK(aq_odbc_connect(&c, conn, &o, &e) == AQ_ENOTFOUND);
	T_CHECK(access(path, F_OK) != 0);
	T_CHECK(aq_odbc_check_exists("Driver={SQLite3 ODBC Driver};Database={/no/such;dir}}.db}", &e) == AQ_ENOTFOUND);
	T_CHECK(strstr(e.msg, "'/no/such;dir}.db'") != NULL);
	T_OK(aq_odbc_check_exists("DRIVER=PostgreSQL Unicode;Database=/no/such.db", &e));
	T_OK(aq_odbc_check_exists("DSN=portal", &e));
	T_OK(aq_odbc_check_exists("DRIVER=SQLite3;Database=:memory:", &e));
	/* an existing file connects (NoCreat=1 added), and without must_exist a new file is still created */
	T_OK(aq_odbc_connect(&c, conn, NULL, &e));
	aq_odbc_release(&c);
	T_CHECK(access(path, F_OK) == 0);
	T_OK(aq_odbc_check_exists(conn, &e));
	T_OK(aq_odbc_connect(&c, conn, &o, &e));
	T_CHECK(strstr(c.redacted, "NoCreat=1") != NULL);
	aq_odbc_release(&c);
	unlink(path);
	rmdir(dir);
	free(path);
	free(conn);
}

int main(void)
{
	T_RUN(test_redact);
	T_RUN(test_ident);
	T_RUN(test_sqlite_roundtrip);
	T_RUN(test_connect_errors);
	T_RUN(test_sqlite_must_exist);
	if (getenv("AQ_TEST_PG_CONN"))
		T_RUN(test_postgres_roundtrip);
	T_DONE();
}
