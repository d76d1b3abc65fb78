/* date.c — civil-date arithmetic (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms"). */
#include "date.h"

#include <stdio.h>

int32_t aq_date_from_ymd(int y, int m, int d)
{
	int era, yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void aq_date_to_ymd(int32_t z, int *y, int *m, int *d)
{
	int era, doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = yoe + era * 400 + (*m <= 2);
}

static int days_in_month(int y, int m)
{
	static const int dm[] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 ? 28 + leap : dm[m - 1];
}

int aq_date_parse(const char *s, int len, int32_t *out, struct aq_err *e)
{
	int v[3] = { 0, 0, 0 }, widths[3] = { 4, 2, 2 }, pos = 0;

	if (len != 10 || s[4] != '-' || s[7] != '-')
		goto bad;
	for (int f = 0; f < 3; f++) {
		for (int i = 0; i < widths[f]; i++, pos++) {
			if (s[pos] < '0' || s[pos] > '9')
				goto bad;
			v[f] = v[f] * 10 + (s[pos] - '0');
		}
		pos++; /* skip '-' */
	}
	if (v[1] < 1 || v[1] > 12 || v[2] < 1 || v[2] > days_in_month(v[0], v[1]))
		goto bad;
	*out = aq_date_from_ymd(v[0], v[1], v[2]);
	return 0;
bad:
	return aq_err_set(e, AQ_EFORMAT, "bad date '%.*s' (want YYYY-MM-DD)", len > 32 ? 32 : len, s);
}

char *aq_date_format(int32_t days, char *buf)
{
	int y, m, d;

	aq_date_to_ymd(days, &y, &m, &d);
	snprintf(buf, AQ_DATE_STRLEN, "%04d-%02d-%02d", y, m, d);
	return buf;
}

int aq_date_weekday(int32_t days)
{
	/* 1970-01-01 = Thursday = 3 with Monday = 0. */
	int w = (days + 3) % 7;

	return w < 0 ? w + 7 : w;
}
