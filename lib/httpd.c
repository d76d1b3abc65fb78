/* httpd.c — libmicrohttpd daemon for aquacast-serve: request bodies up to a bound (413 past it), keep-alive, access log. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <microhttpd.h>

#include "httpd.h"
#include "log.h"

/* Per request, in *con_cls from the first call to the completion callback. */
struct conn {
	double t0;
	char *body;
	size_t len, cap, dropped;
	int too_large, status;
	size_t sent;
	char method[8];
	char path[200];
};

void aq_httpd_opts_default(struct aq_httpd_opts *o)
{
	memset(o, 0, sizeof *o);
	o->host = "127.0.0.1";
	o->port = 8080;
	o->threads = 2;
	o->max_body = 64 * 1024;
	o->timeout_s = 30;
	o->max_conns = 1024;
	o->access_log = 1;
}

const char *aq_httpd_arg(const struct aq_httpd_req *rq, const char *key)
{
	return MHD_lookup_connection_value(rq->conn, MHD_GET_ARGUMENT_KIND, key);
}

static int append(struct conn *c, const char *data, size_t n, size_t max)
{
	if (c->too_large || c->len + n > max) {
		c->too_large = 1;
		free(c->body);
		c->body = NULL;
		c->len = c->cap = 0;
		c->dropped += n;
		return c->dropped > 16 * max ? -1 : 0; /* a client that keeps sending: close */
	}
	if (c->len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 1024;
		while (cap < c->len + n + 1)
			cap *= 2;
		char *p = realloc(c->body, cap);
		if (!p)
			return -1;
		c->body = p;
		c->cap = cap;
	}
	memcpy(c->body + c->len, data, n);
	c->len += n;
	c->body[c->len] = 0;
	return 0;
}

static enum MHD_Result respond(struct aq_httpd *h, struct MHD_Connection *mc, struct conn *c, const char *url,
			       const char *method)
{
	struct aq_httpd_req rq = {.method = method, .path = url, .body = c->body ? c->body : "", .body_len = c->len,
				  .too_large = c->too_large, .t0 = c->t0, .conn = mc};
	struct aq_httpd_resp rs = {.status = 500};
	h->fn(h->cls, &rq, &rs);
	struct MHD_Response *r = MHD_create_response_from_buffer(
		rs.len, rs.body ? rs.body : (char *)"", rs.body && !rs.body_static ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
	if (!r) {
		if (!rs.body_static)
			free(rs.body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, rs.type ? rs.type : "application/json");
	for (int i = 0; i < 2; i++)
		if (rs.hdr_name[i])
			MHD_add_response_header(r, rs.hdr_name[i], rs.hdr_value[i]);
	c->status = rs.status;
	c->sent = rs.len;
	enum MHD_Result ok = MHD_queue_response(mc, (unsigned)rs.status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *mc, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **con_cls)
{
	struct aq_httpd *h = cls;
	struct conn *c = *con_cls;
	if (!c) {
		c = calloc(1, sizeof *c);
		if (!c)
			return MHD_NO;
		c->t0 = aq_now();
		snprintf(c->method, sizeof c->method, "%s", method);
		snprintf(c->path, sizeof c->path, "%s", url);
		*con_cls = c;
		const char *cl = MHD_lookup_connection_value(mc, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > h->o.max_body) {
			/* Known too large before reading it: answer now (the connection is then closed). */
			c->too_large = 1;
			return respond(h, mc, c, url, method);
		}
		return MHD_YES;
	}
	if (*upload_size) {
		if (c->status) { /* answered early: discard */
			*upload_size = 0;
			return MHD_YES;
		}
		int rc = append(c, upload, *upload_size, h->o.max_body);
		*upload_size = 0;
		return rc ? MHD_NO : MHD_YES;
	}
	if (c->status)
		return MHD_YES;
	return respond(h, mc, c, url, method);
}

static void on_completed(void *cls, struct MHD_Connection *mc, void **con_cls, enum MHD_RequestTerminationCode toe)
{
	struct aq_httpd *h = cls;
	struct conn *c = *con_cls;
	if (!c)
		return;
	if (h->o.access_log)
		aq_info("access: %s %s %d %zu %.3f ms%s", c->method, c->path, c->status, c->sent,
			(aq_now() - c->t0) * 1e3,
			toe == MHD_REQUEST_TERMINATED_COMPLETED_OK ? ""
			: toe == MHD_REQUEST_TERMINATED_TIMEOUT_REACHED ? " (timeout)"
									 : " (connection closed)");
	free(c->body);
	free(c);
	*con_cls = NULL;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	vsnprintf(msg, sizeof msg, fmt, ap);
	size_t n = strlen(msg);
	while (n && msg[n - 1] == '\n')
		msg[--n] = 0;
	aq_warn("httpd: %s", msg);
}

int aq_httpd_start(struct aq_httpd *h, const struct aq_httpd_opts *o, aq_httpd_fn fn, void *cls, struct aq_err *e)
{
	memset(h, 0, sizeof *h);
	h->o = *o;
	h->fn = fn;
	h->cls = cls;
	if (o->port < 0 || o->port > 65535 || o->threads < 1 || o->threads > 64)
		return aq_err_set(e, AQ_EINVAL, "bad listen port %d or thread count %d", o->port, o->threads);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)o->port)};
	if (inet_pton(AF_INET, o->host, &sa.sin_addr) != 1)
		return aq_err_set(e, AQ_EINVAL, "bad listen address '%s' (want an IPv4 address)", o->host);
	errno = 0;
	h->d = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG, (uint16_t)o->port,
				NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL, /* first, or MHD warns */
				MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa,
				MHD_OPTION_THREAD_POOL_SIZE, (unsigned)o->threads, MHD_OPTION_CONNECTION_TIMEOUT,
				o->timeout_s, MHD_OPTION_CONNECTION_LIMIT, o->max_conns, MHD_OPTION_NOTIFY_COMPLETED,
				on_completed, h, MHD_OPTION_END);
	if (!h->d)
		return aq_err_set(e, AQ_EIO, "cannot listen on '%s:%d': %s", o->host, o->port,
				  errno ? strerror(errno) : "libmicrohttpd refused to start");
	const union MHD_DaemonInfo *di = MHD_get_daemon_info(h->d, MHD_DAEMON_INFO_BIND_PORT);
	h->port = di ? di->port : o->port;
	return 0;
}

void aq_httpd_stop(struct aq_httpd *h)
{
	if (h->d)
		MHD_stop_daemon(h->d);
	h->d = NULL;
}
