/* date.h — calendar dates as days since 1970-01-01 (Parquet DATE), parsing and formatting. */
#ifndef AQ_DATE_H
#define AQ_DATE_H

#include <stdint.h>

#include "err.h"

#define AQ_DATE_STRLEN 11 /* "YYYY-MM-DD" + NUL */
/* Sane range for meter readings: 1990-01-01 .. 2100-12-31. */
#define AQ_DATE_MIN 7305
#define AQ_DATE_MAX 47846

/* Days since 1970-01-01 of a proleptic Gregorian date (Hinnant's days_from_civil). */
int32_t aq_date_from_ymd(int y, int m, int d);
void aq_date_to_ymd(int32_t days, int *y, int *m, int *d);
/* Parse exactly "YYYY-MM-DD" (len chars, no NUL needed); validates month/day. */
int aq_date_parse(const char *s, int len, int32_t *out, struct aq_err *e);
/* Writes "YYYY-MM-DD\0" into buf (AQ_DATE_STRLEN bytes); returns buf. */
char *aq_date_format(int32_t days, char *buf);
/* 0 = Monday .. 6 = Sunday (1970-01-01 was a Thursday). */
int aq_date_weekday(int32_t days);

#endif
