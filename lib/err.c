/* err.c — error records: formatting and naming of AQ_E* codes. */
#include "err.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

int aq_err_vset(struct aq_err *e, int code, const char *fmt, va_list ap)
{
	if (e) {
		e->code = code;
		vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	}
	return code;
}

int aq_err_set(struct aq_err *e, int code, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	aq_err_vset(e, code, fmt, ap);
	va_end(ap);
	return code;
}

int aq_err_sys(struct aq_err *e, const char *fmt, ...)
{
	int saved = errno;
	va_list ap;
	size_t len;

	if (!e)
		return AQ_EIO;
	va_start(ap, fmt);
	aq_err_vset(e, AQ_EIO, fmt, ap);
	va_end(ap);
	len = strlen(e->msg);
	snprintf(e->msg + len, sizeof(e->msg) - len, ": %s", strerror(saved));
	return AQ_EIO;
}

int aq_err_prefix(struct aq_err *e, const char *fmt, ...)
{
	char old[AQ_ERR_MSG], pre[AQ_ERR_MSG];
	va_list ap;

	if (!e)
		return AQ_EINVAL;
	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	vsnprintf(pre, sizeof(pre), fmt, ap);
	va_end(ap);
	/* Truncation is acceptable: the prefix matters most. */
	{
		size_t lp = strnlen(pre, sizeof(e->msg) - 1), room;

		memcpy(e->msg, pre, lp);
		room = sizeof(e->msg) - lp;
		if (room > 3) {
			memcpy(e->msg + lp, ": ", 2);
			lp += 2;
			room -= 2;
			memcpy(e->msg + lp, old, strnlen(old, room - 1));
			lp += strnlen(old, room - 1);
		}
		e->msg[lp] = '\0';
	}
	return e->code;
}

void aq_err_clear(struct aq_err *e)
{
	if (e) {
		e->code = 0;
		e->msg[0] = '\0';
	}
}

const char *aq_err_name(int code)
{
	switch (code) {
	case AQ_OK: return "ok";
	case AQ_EINVAL: return "invalid argument";
	case AQ_ENOMEM: return "out of memory";
	case AQ_EIO: return "i/o error";
	case AQ_EFORMAT: return "bad format";
	case AQ_EUNSUPPORTED: return "unsupported";
	case AQ_ENOTFOUND: return "not found";
	case AQ_EODBC: return "odbc error";
	case AQ_EKAFKA: return "kafka error";
	case AQ_EHTTP: return "http error";
	case AQ_ENUMERIC: return "numerical failure";
	case AQ_EINTR: return "interrupted";
	case AQ_ESTATE: return "bad state";
	}
	return "unknown error";
}
