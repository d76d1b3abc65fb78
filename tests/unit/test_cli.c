/* test_cli.c — the CLI kit's value checks (cmd/common/cli.c): integers, reals, their ranges and descriptions. */
#include <limits.h>
#include <math.h>
#include <string.h>

#include "cli.h"
#include "test.h"

static void test_parse_int(void)
{
	long long v = 7;

	T_OK(cli_parse_int("0", 0, 10, &v));
	T_EQ_INT(v, 0);
	T_OK(cli_parse_int("-3", -5, 5, &v));
	T_EQ_INT(v, -3);
	T_OK(cli_parse_int("9223372036854775807", 0, LLONG_MAX, &v));
	T_EQ_INT(v, LLONG_MAX);
	v = 7;
	T_CHECK(cli_parse_int("abc", 0, 10, &v) == -1);
	T_CHECK(cli_parse_int("", 0, 10, &v) == -1);
	T_CHECK(cli_parse_int(" 1", 0, 10, &v) == -1);
	T_CHECK(cli_parse_int("1 ", 0, 10, &v) == -1);
	T_CHECK(cli_parse_int("5x", 0, 10, &v) == -1);
	T_CHECK(cli_parse_int("1.5", 0, 10, &v) == -1);
	T_CHECK(cli_parse_int("11", 0, 10, &v) == -1);
	T_CHECK(cli_parse_int("-1", 0, 10, &v) == -1);
	T_CHECK(cli_parse_int("99999999999999999999", 0, LLONG_MAX, &v) == -1);
	T_EQ_INT(v, 7); /* untouched on a bad value */
}

static void test_parse_real(void)
{
	double v = 7;

	T_OK(cli_parse_real("0.5", 0, 1, 0, &v));
	T_NEAR(v, 0.5, 0);
	T_OK(cli_parse_real("1e-3", 0, HUGE_VAL, CLI_OPEN_LO, &v));
	T_NEAR(v, 1e-3, 0);
	T_OK(cli_parse_real("1", 0, 1, 0, &v));
	v = 7;
	T_CHECK(cli_parse_real("0", 0, HUGE_VAL, CLI_OPEN_LO, &v) == -1);
	T_CHECK(cli_parse_real("1", 0, 1, CLI_OPEN_HI, &v) == -1);
	T_CHECK(cli_parse_real("-1", 0, HUGE_VAL, 0, &v) == -1);
	T_CHECK(cli_parse_real("nan", -HUGE_VAL, HUGE_VAL, 0, &v) == -1);
	T_CHECK(cli_parse_real("inf", -HUGE_VAL, HUGE_VAL, 0, &v) == -1);
	T_CHECK(cli_parse_real("abc", 0, 1, 0, &v) == -1);
	T_CHECK(cli_parse_real("0.5x", 0, 1, 0, &v) == -1);
	T_CHECK(cli_parse_real("", 0, 1, 0, &v) == -1);
	T_NEAR(v, 7, 0);
}

static void test_real_want(void)
{
	char b[96];

	T_CHECK(!strcmp(cli_real_want(0, 1, CLI_OPEN_LO, b, sizeof(b)), "a number in (0, 1]"));
	T_CHECK(!strcmp(cli_real_want(0, 1, 0, b, sizeof(b)), "a number in [0, 1]"));
	T_CHECK(!strcmp(cli_real_want(0, HUGE_VAL, CLI_OPEN_LO, b, sizeof(b)), "a number > 0"));
	T_CHECK(!strcmp(cli_real_want(0, HUGE_VAL, 0, b, sizeof(b)), "a number >= 0"));
	T_CHECK(!strcmp(cli_real_want(-HUGE_VAL, HUGE_VAL, 0, b, sizeof(b)), "a finite number"));
}

int main(void)
{
	T_RUN(test_parse_int);
	T_RUN(test_parse_real);
	T_RUN(test_real_want);
	T_DONE();
}
