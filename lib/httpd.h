/* httpd.h — the HTTP transport of aquacast-serve: a libmicrohttpd daemon (epoll thread pool), bounded bodies, access log. */
#ifndef AQ_HTTPD_H
#define AQ_HTTPD_H

#include <stddef.h>

#include "err.h"

/*
 * One handler answers every request once its body is complete (or known to
 * be too large: too_large set, the handler answers 413). The response body
 * is malloc'd (the transport frees it) unless body_static, in which case it
 * must outlive the daemon. Keep-alive is kept: the response is queued on the
 * handler's final call, never the first (libmicrohttpd closes the connection
 * of a response queued before the request was read).
 */
struct aq_httpd_req {
	const char *method, *path;     /* path without the query string */
	const char *body;              /* NUL-terminated; "" when none */
	size_t body_len;
	int too_large;                 /* the body exceeded max_body */
	double t0;                     /* aq_now() when the request's headers arrived */
	void *conn;                    /* for aq_httpd_arg */
};

struct aq_httpd_resp {
	int status;
	const char *type;              /* Content-Type; NULL: application/json */
	char *body;
	size_t len;
	int body_static;
	const char *hdr_name[2], *hdr_value[2]; /* extra headers (NULL: none) */
};

/* A query-string argument of the request ("account" of ?account=…), or NULL. */
const char *aq_httpd_arg(const struct aq_httpd_req *rq, const char *key);

typedef void (*aq_httpd_fn)(void *cls, const struct aq_httpd_req *rq, struct aq_httpd_resp *rs);

struct aq_httpd_opts {
	const char *host;              /* IPv4 address to bind; default 127.0.0.1 */
	int port;                      /* 0: any free port (aq_httpd.port tells) */
	int threads;                   /* epoll thread pool size; default 2 */
	size_t max_body;               /* bytes; default 64 KiB */
	unsigned timeout_s;            /* idle connection timeout; default 30 */
	unsigned max_conns;            /* default 1024 */
	int access_log;                /* one line per request on stderr (lib/log.h, info) */
};
void aq_httpd_opts_default(struct aq_httpd_opts *o);

struct aq_httpd {
	struct MHD_Daemon *d;
	struct aq_httpd_opts o;
	aq_httpd_fn fn;
	void *cls;
	int port;                      /* bound port */
};

int aq_httpd_start(struct aq_httpd *h, const struct aq_httpd_opts *o, aq_httpd_fn fn, void *cls, struct aq_err *e);
/* Stop accepting, finish the threads (requests in flight are answered first), free. */
void aq_httpd_stop(struct aq_httpd *h);

#endif
