/* test_base.c — err, date and fs helpers. */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "date.h"
#include "err.h"
#include "fs.h"
#include "test.h"

static void test_date_roundtrip(void)
{
	char buf[AQ_DATE_STRLEN];
	int32_t d;
	struct aq_err e = { 0 };

	T_EQ_INT(aq_date_from_ymd(1970, 1, 1), 0);
	T_EQ_INT(aq_date_from_ymd(2022, 4, 1), 19083);
	T_OK(aq_date_parse("2024-02-29", 10, &d, &e));
	T_CHECK(strcmp(aq_date_format(d, buf), "2024-02-29") == 0);
	for (int32_t x = -1000; x < 60000; x += 7) {
		int y, m, dd;

		aq_date_to_ymd(x, &y, &m, &dd);
		if (aq_date_from_ymd(y, m, dd) != x) {
			T_FAIL("roundtrip of day %d", x);
			break;
		}
	}
	T_EQ_INT(aq_date_weekday(aq_date_from_ymd(2022, 4, 1)), 4); /* Friday */
}

static void test_date_rejects(void)
{
	struct aq_err e = { 0 };
	int32_t d = 42;

	T_EQ_INT(aq_date_parse("2023-02-29", 10, &d, &e), AQ_EFORMAT);
	T_CHECK(strstr(e.msg, "2023-02-29") != NULL);
	T_EQ_INT(aq_date_parse("2023-13-01", 10, &d, &e), AQ_EFORMAT);
	T_EQ_INT(aq_date_parse("2023-1-01", 9, &d, &e), AQ_EFORMAT);
	T_EQ_INT(aq_date_parse("20x3-01-01", 10, &d, &e), AQ_EFORMAT);
	T_EQ_INT(d, 42);
}

static void test_atomic_write(void)
{
	struct aq_err e = { 0 };
	char dir[] = "/tmp/aq_test_fs.XXXXXX", *p, *buf = NULL;
	size_t len = 0;

	T_ASSERT(mkdtemp(dir));
	p = aq_path_join(dir, "a/b/c.txt");
	T_OK(aq_fs_mkdir_p(dir, &e));
	T_CHECK(aq_fs_write_atomic(p, "x", 1, &e) == AQ_EIO); /* a/b missing */
	free(p);
	p = aq_path_join(dir, "c.txt");
	T_OK(aq_fs_write_atomic(p, "hello", 5, &e));
	T_OK(aq_fs_read_all(p, &buf, &len, &e));
	T_EQ_INT(len, 5);
	T_CHECK(buf && memcmp(buf, "hello", 5) == 0);
	T_EQ_INT(aq_fs_sweep_tmp(dir, &e), 0);
	unlink(p);
	rmdir(dir);
	free(buf);
	free(p);
}

/* Writing "atomically" to a device must not replace the device node. */
static void test_atomic_special(void)
{
	struct aq_err e = { 0 };
	struct stat st;

	T_OK(aq_fs_write_atomic("/dev/null", "x", 1, &e));
	T_ASSERT(stat("/dev/null", &st) == 0);
	T_CHECK(S_ISCHR(st.st_mode));
}

static void test_err(void)
{
	struct aq_err e = { 0 };

	T_EQ_INT(aq_err_set(&e, AQ_EFORMAT, "bad '%s'", "x"), AQ_EFORMAT);
	aq_err_prefix(&e, "file '%s'", "f");
	T_CHECK(strcmp(e.msg, "file 'f': bad 'x'") == 0);
	T_CHECK(aq_err_set(NULL, AQ_EIO, "ignored") == AQ_EIO);
}

int main(void)
{
	T_RUN(test_date_roundtrip);
	T_RUN(test_date_rejects);
	T_RUN(test_atomic_write);
	T_RUN(test_atomic_special);
	T_RUN(test_err);
	T_DONE();
}
