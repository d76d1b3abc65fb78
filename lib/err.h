/* err.h — error codes and the error record every library function fills. */
#ifndef AQ_ERR_H
#define AQ_ERR_H

#include <stdarg.h>

/* Library functions return 0 or one of these (negative). */
enum {
	AQ_OK = 0,
	AQ_EINVAL = -1,       /* bad argument or option */
	AQ_ENOMEM = -2,       /* allocation failed */
	AQ_EIO = -3,          /* system call failed (errno in the message) */
	AQ_EFORMAT = -4,      /* malformed or corrupt input (file, message, CSV) */
	AQ_EUNSUPPORTED = -5, /* valid but outside what aquacast reads */
	AQ_ENOTFOUND = -6,    /* file, table, account, model missing */
	AQ_EODBC = -7,        /* ODBC driver reported an error (SQLSTATE in message) */
	AQ_EKAFKA = -8,       /* librdkafka reported an error */
	AQ_EHTTP = -9,        /* HTTP / REST call failed */
	AQ_ENUMERIC = -10,    /* numerical failure (singular, non-finite, no convergence) */
	AQ_EINTR = -11,       /* interrupted by a signal (clean stop requested) */
	AQ_ESTATE = -12,      /* call out of order, or state on disk inconsistent */
};

#define AQ_ERR_MSG 512

/* Filled by the first function that fails; left untouched on success. */
struct aq_err {
	int code;
	char msg[AQ_ERR_MSG];
};

/* Set e (if not NULL) and return code, so callers can `return aq_err_set(...)`. */
int aq_err_set(struct aq_err *e, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int aq_err_vset(struct aq_err *e, int code, const char *fmt, va_list ap);
/* Like aq_err_set, with ": strerror(errno)" appended; code AQ_EIO. */
int aq_err_sys(struct aq_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Prefix an existing message: "ctx: old message". Returns e->code. */
int aq_err_prefix(struct aq_err *e, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void aq_err_clear(struct aq_err *e);
const char *aq_err_name(int code);

#endif
