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

/* Load 1000 readings (some NaN) into SQLite, then check count, NULLs, sums and RowId order. */
static void test_sqlite_roundtrip(void)
{
	char db[] = "/tmp/aq_test_odbc_XXXXXX", *conn = NULL;
	struct aq_readings r;
	struct aq_odbc c;
	struct aq_err e = { 0 };
	int64_t v, p[1];
	int isnull, fd = mkstemp(db);
	double sum = 0;

	T_ASSERT(fd >= 0);
	close(fd);
	T_ASSERT(asprintf(&conn, "DRIVER=SQLite3;Database=%s;PWD=topsecret", db) > 0);
	if (aq_odbc_connect(&c, conn, NULL, &e)) {
		T_FAIL("connect: %s", e.msg);
		goto out;
	}
	T_EQ_INT(c.dialect, AQ_SQL_SQLITE);
	T_CHECK(!strstr(c.redacted, "topsecret"));
	T_OK(aq_odbc_exec(&c,
			  "CREATE TABLE PORTAL_ConsumptionDaily (RowId INTEGER PRIMARY KEY AUTOINCREMENT, "
			  "AccountOID BIGINT NOT NULL, ConsumptionDate DATE NOT NULL, Consumption FLOAT, "
			  "LoadedAt TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP)",
			  &e));
	/* Filled by hand: this test must not depend on lib/shard.c. */
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
	T_OK(aq_odbc_query_int64(&c, "SELECT COUNT(*) FROM PORTAL_ConsumptionDaily", NULL, 0, &v, &isnull, &e));
	T_EQ_INT(v, 1000);
	T_OK(aq_odbc_query_int64(&c, "SELECT COUNT(*) FROM PORTAL_ConsumptionDaily WHERE Consumption IS NULL",
				 NULL, 0, &v, &isnull, &e));
	T_EQ_INT(v, 11); /* i = 0, 97, ..., 970 */
	T_OK(aq_odbc_query_int64(&c, "SELECT CAST(ROUND(SUM(Consumption) * 4) AS INTEGER) FROM PORTAL_ConsumptionDaily",
				 NULL, 0, &v, &isnull, &e));
	T_EQ_INT(v, (int64_t)llround(sum * 4));
	/* RowId follows the input order: row 501 (i = 500) is account 3000010 on 2022-04-01. */
	p[0] = 501;
	T_OK(aq_odbc_query_int64(&c, "SELECT AccountOID FROM PORTAL_ConsumptionDaily WHERE RowId = ?", p, 1, &v,
				 &isnull, &e));
	T_EQ_INT(v, 3000010);
	T_OK(aq_odbc_query_int64(&c,
				 "SELECT COUNT(*) FROM PORTAL_ConsumptionDaily WHERE ConsumptionDate = '2022-04-01'",
				 NULL, 0, &v, &isnull, &e));
	T_EQ_INT(v, 20);
	/* Errors carry the SQLSTATE and the driver message. */
	T_CHECK(aq_odbc_exec(&c, "SELECT * FROM no_such_table", &e) == AQ_EODBC);
	T_CHECK(strstr(e.msg, "[HY000]") || strstr(e.msg, "[42S02]"));
	T_CHECK(strstr(e.msg, "no_such_table") != NULL);
	free(r.date);
	free(r.account);
	free(r.value);
	aq_odbc_release(&c);
out:
	/* A failing connect must not leak the password either. */
	{
		struct aq_odbc c2;
		struct aq_err e2 = { 0 };

		T_CHECK(aq_odbc_connect(&c2, "DRIVER=NoSuchDriver;PWD=topsecret", NULL, &e2) == AQ_EODBC);
		T_CHECK(!strstr(e2.msg, "topsecret"));
		fprintf(stderr, "# %s\n", e2.msg);
		if (!strstr(e2.msg, "[01000]") && !strstr(e2.msg, "[IM002]"))
			T_FAIL("no SQLSTATE in '%s'", e2.msg);
	}
	unlink(db);
	free(conn);
}

int main(void)
{
	T_RUN(test_redact);
	T_RUN(test_ident);
	T_RUN(test_sqlite_roundtrip);
	T_DONE();
}
