/* http.h — a small libcurl client: one reused handle (keep-alive), JSON and file bodies, timeouts, retries. */
#ifndef AQ_HTTP_H
#define AQ_HTTP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * One easy handle per client, reused for every request so the connection
 * stays open (keep-alive). A request that fails to connect, times out or
 * gets a 5xx is retried up to `retries` times with exponential backoff
 * (backoff_s, 2·backoff_s, … capped at 8 s); a file body is re-read from
 * the start on each attempt. Any other status is the caller's to judge.
 * curl's error buffer is translated once, here, into struct aq_err
 * (AQ_EHTTP, "cannot reach 'URL': reason").
 *
 * Credentials: a bearer token or basic-auth user/password, given in
 * the options; they are sent in headers only and never logged or put in
 * an error message.
 */
struct aq_http_opts {
	long connect_timeout_ms;   /* default 5000 */
	long timeout_ms;           /* whole request, JSON calls; default 60000 */
	long stall_s;              /* file transfers: abort below 1 byte/s for this long; default 60 */
	int retries;               /* default 4 (5 attempts) */
	double backoff_s;          /* first wait; default 0.25 */
	int64_t max_send_bps;      /* upload rate limit in bytes/s; 0 = none */
	const char *token;         /* "Authorization: Bearer …" */
	const char *user, *password;
};

void aq_http_opts_default(struct aq_http_opts *o);

struct aq_http {
	void *curl;                /* CURL * */
	char *base;                /* "http://host:port" or with a path prefix, no trailing '/' */
	struct aq_http_opts o;
	char *auth;                /* "Authorization: Bearer …" or NULL */
	uint64_t requests, retried, bytes_up, bytes_down;
};

struct aq_http_resp {
	long status;
	char *body;                /* NUL-terminated; NULL after a file download */
	size_t len;
};

void aq_http_resp_init(struct aq_http_resp *r);
void aq_http_resp_release(struct aq_http_resp *r);

int aq_http_init(struct aq_http *h, const char *base, const struct aq_http_opts *o, struct aq_err *e);
void aq_http_release(struct aq_http *h);

/*
 * method path (relative to base, starting with '/', already URL-escaped)
 * with an optional body of content type ctype; the response into r. Returns
 * 0 when a response arrived (any status, after retries on 5xx), AQ_EHTTP
 * when none did.
 */
int aq_http_request(struct aq_http *h, const char *method, const char *path, const char *ctype,
		    const void *body, size_t len, struct aq_http_resp *r, struct aq_err *e);
/* PUT the bytes of a local file (streamed). */
int aq_http_put_file(struct aq_http *h, const char *path, const char *file, struct aq_http_resp *r,
		     struct aq_err *e);
/*
 * GET into a local file, written atomically (lib/fs.h) only on a 2xx; on
 * another status r->body holds the (small) error body and no file is made.
 */
int aq_http_get_file(struct aq_http *h, const char *path, const char *file, struct aq_http_resp *r,
		     struct aq_err *e);

/* malloc'd URL-escape of s (every byte but [A-Za-z0-9._~-]; keep_slash leaves '/'). */
char *aq_http_escape(const char *s, int keep_slash);

#endif
