/* test_http.c — lib/http.c against a stub HTTP server on 127.0.0.1: retries and backoff on 5xx and dropped connections, 4xx returned at once, file bodies, credentials. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "fs.h"
#include "http.h"
#include "log.h"
#include "test.h"

/*
 * The stub: one thread, one connection at a time, each answered with the
 * next scripted status ("Connection: close"); status 0 closes the
 * connection without an answer (curl: "empty reply"). Past the script: 200.
 */
#define MAXREQ 32
static struct {
	int fd, port;
	int script[MAXREQ], nscript;
	int served;                   /* requests seen */
	size_t body_len[MAXREQ];      /* request bodies' lengths */
	char method[MAXREQ][8];
	char auth[256];               /* the last Authorization header */
	volatile int stop;
	pthread_mutex_t mu;
} stub = { .mu = PTHREAD_MUTEX_INITIALIZER };

static char root[64];

/* Read the request head and its Content-Length body; 0 on success. */
static int read_request(int c, int k)
{
	char buf[65536];
	size_t len = 0;
	char *end = NULL;
	while (!end) {
		ssize_t n = recv(c, buf + len, sizeof buf - 1 - len, 0);
		if (n <= 0)
			return -1;
		len += (size_t)n;
		buf[len] = '\0';
		end = strstr(buf, "\r\n\r\n");
		if (!end && len == sizeof buf - 1)
			return -1;
	}
	size_t head = (size_t)(end + 4 - buf), want = 0;
	sscanf(buf, "%7s", stub.method[k]);
	for (char *line = strstr(buf, "\r\n"); line && line < end; line = strstr(line + 2, "\r\n")) {
		if (!strncasecmp(line + 2, "content-length:", 15))
			want = strtoul(line + 17, NULL, 10);
		if (!strncasecmp(line + 2, "authorization:", 14))
			snprintf(stub.auth, sizeof stub.auth, "%.*s", (int)strcspn(line + 2, "\r"), line + 2);
	}
	size_t got = len - head;
	while (got < want) {
		ssize_t n = recv(c, buf, sizeof buf, 0);
		if (n <= 0)
			return -1;
		got += (size_t)n;
	}
	stub.body_len[k] = got;
	return 0;
}

static void *stub_main(void *arg)
{
	(void)arg;
	while (!stub.stop) {
		struct pollfd p = { .fd = stub.fd, .events = POLLIN };
		if (poll(&p, 1, 20) <= 0)
			continue;
		int c = accept(stub.fd, NULL, NULL);
		if (c < 0)
			continue;
		pthread_mutex_lock(&stub.mu);
		int k = stub.served < MAXREQ ? stub.served : MAXREQ - 1;
		int status = stub.served < stub.nscript ? stub.script[stub.served] : 200;
		stub.served++;
		pthread_mutex_unlock(&stub.mu);
		if (read_request(c, k) == 0 && status > 0) {
			char resp[512];
			const char *body = status < 300 ? "{\"ok\":true}"
							: "{\"error_code\":\"RESOURCE_DOES_NOT_EXIST\",\"message\":\"no\"}";
			int n = snprintf(resp, sizeof resp,
					 "HTTP/1.1 %d X\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
					 "Connection: close\r\n\r\n%s",
					 status, strlen(body), body);
			ssize_t w = send(c, resp, (size_t)n, MSG_NOSIGNAL);
			(void)w;
		}
		close(c);
	}
	return NULL;
}

static pthread_t stub_thread;

static int stub_start(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	stub.fd = socket(AF_INET, SOCK_STREAM, 0);
	if (stub.fd < 0 || bind(stub.fd, (struct sockaddr *)&a, sizeof a) || listen(stub.fd, 16) ||
	    getsockname(stub.fd, (struct sockaddr *)&a, &al))
		return -1;
	stub.port = ntohs(a.sin_port);
	return pthread_create(&stub_thread, NULL, stub_main, NULL);
}

static void stub_script(const int *s, int n)
{
	pthread_mutex_lock(&stub.mu);
	memcpy(stub.script, s, (size_t)n * sizeof *s);
	stub.nscript = n;
	stub.served = 0;
	stub.auth[0] = '\0';
	memset(stub.body_len, 0, sizeof stub.body_len);
	pthread_mutex_unlock(&stub.mu);
}

/* A client of the stub: fast backoff so the test is quick, but measurable. */
static int client(struct aq_http *h, int retries, double backoff, const char *token)
{
	struct aq_http_opts o;
	struct aq_err e = { 0 };
	char base[64];
	aq_http_opts_default(&o);
	o.retries = retries;
	o.backoff_s = backoff;
	o.connect_timeout_ms = 1000;
	o.timeout_ms = 5000;
	o.token = token;
	snprintf(base, sizeof base, "http://127.0.0.1:%d/", stub.port);
	return aq_http_init(h, base, &o, &e);
}

static void test_5xx_retried_then_ok(void)
{
	struct aq_http h;
	struct aq_http_resp r;
	struct aq_err e = { 0 };
	const int s[] = { 503, 500, 200 };
	stub_script(s, 3);
	T_ASSERT(client(&h, 4, 0.01, NULL) == 0);
	aq_http_resp_init(&r);
	T_OK(aq_http_request(&h, "POST", "/api/x", "application/json", "{}", 2, &r, &e));
	T_EQ_INT(r.status, 200);
	T_CHECK(r.body && strstr(r.body, "\"ok\"") != NULL);
	T_EQ_INT(stub.served, 3);
	T_EQ_INT(h.retried, 2);
	T_EQ_INT(stub.body_len[2], 2); /* the body is sent again on every attempt */
	aq_http_resp_release(&r);
	aq_http_release(&h);
}

static void test_5xx_exhausted_returns_last(void)
{
	struct aq_http h;
	struct aq_http_resp r;
	struct aq_err e = { 0 };
	const int s[] = { 502, 502, 502, 502 };
	stub_script(s, 4);
	T_ASSERT(client(&h, 2, 0.01, NULL) == 0);
	aq_http_resp_init(&r);
	/* a response arrived: the caller judges the status (lib/mlflow.c turns it into an error) */
	T_OK(aq_http_request(&h, "GET", "/api/y", NULL, NULL, 0, &r, &e));
	T_EQ_INT(r.status, 502);
	T_EQ_INT(stub.served, 3); /* 1 + 2 retries */
	aq_http_resp_release(&r);
	aq_http_release(&h);
}

static void test_4xx_not_retried(void)
{
	struct aq_http h;
	struct aq_http_resp r;
	struct aq_err e = { 0 };
	const int s[] = { 404, 200 };
	stub_script(s, 2);
	T_ASSERT(client(&h, 4, 0.01, NULL) == 0);
	aq_http_resp_init(&r);
	T_OK(aq_http_request(&h, "GET", "/api/z", NULL, NULL, 0, &r, &e));
	T_EQ_INT(r.status, 404);
	T_CHECK(r.body && strstr(r.body, "RESOURCE_DOES_NOT_EXIST") != NULL);
	T_EQ_INT(stub.served, 1);
	T_EQ_INT(h.retried, 0);
	aq_http_resp_release(&r);
	aq_http_release(&h);
}

static void test_dropped_connection_retried(void)
{
	struct aq_http h;
	struct aq_http_resp r;
	struct aq_err e = { 0 };
	const int s[] = { 0, 0, 201 };
	stub_script(s, 3);
	T_ASSERT(client(&h, 3, 0.01, NULL) == 0);
	aq_http_resp_init(&r);
	T_OK(aq_http_request(&h, "POST", "/api/w", "application/json", "{\"a\":1}", 7, &r, &e));
	T_EQ_INT(r.status, 201);
	T_EQ_INT(stub.served, 3);
	aq_http_resp_release(&r);
	aq_http_release(&h);
}

/* Nothing listens: AQ_EHTTP "cannot reach" after 1 + retries attempts, waiting 0.05 + 0.1 + 0.2 s between them. */
static void test_unreachable_backoff(void)
{
	struct aq_http h;
	struct aq_http_resp r;
	struct aq_err e = { 0 };
	int s = socket(AF_INET, SOCK_STREAM, 0), port;
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t al = sizeof a;
	T_ASSERT(s >= 0 && bind(s, (struct sockaddr *)&a, sizeof a) == 0 &&
		 getsockname(s, (struct sockaddr *)&a, &al) == 0);
	port = ntohs(a.sin_port);
	close(s); /* bound then closed, never listening: connection refused */
	struct aq_http_opts o;
	char base[64];
	aq_http_opts_default(&o);
	o.retries = 3;
	o.backoff_s = 0.05;
	snprintf(base, sizeof base, "http://127.0.0.1:%d", port);
	T_ASSERT(aq_http_init(&h, base, &o, &e) == 0);
	aq_http_resp_init(&r);
	double t0 = aq_now();
	T_EQ_INT(aq_http_request(&h, "GET", "/api/v", NULL, NULL, 0, &r, &e), AQ_EHTTP);
	double dt = aq_now() - t0;
	T_CHECK(strstr(e.msg, "cannot reach") && strstr(e.msg, "after 4 attempts"));
	T_CHECK(dt >= 0.33 && dt < 3.0);
	T_EQ_INT(h.retried, 3);
	aq_http_resp_release(&r);
	aq_http_release(&h);
}

static void test_files(void)
{
	struct aq_http h;
	struct aq_http_resp r;
	struct aq_err e = { 0 };
	char in[128], out[128], bad[128];
	snprintf(in, sizeof in, "%s/in.bin", root);
	snprintf(out, sizeof out, "%s/out.json", root);
	snprintf(bad, sizeof bad, "%s/bad.json", root);
	char *data = malloc(200000);
	T_ASSERT(data);
	memset(data, 'x', 200000);
	T_OK(aq_fs_write_atomic(in, data, 200000, &e));
	free(data);
	/* PUT a file: a 503 then a 200, the whole file sent both times */
	const int s1[] = { 503, 200 };
	stub_script(s1, 2);
	T_ASSERT(client(&h, 2, 0.01, NULL) == 0);
	aq_http_resp_init(&r);
	T_OK(aq_http_put_file(&h, "/up/in.bin", in, &r, &e));
	T_EQ_INT(r.status, 200);
	T_EQ_INT(stub.served, 2);
	T_EQ_INT(stub.body_len[0], 200000);
	T_EQ_INT(stub.body_len[1], 200000);
	T_CHECK(!strcmp(stub.method[1], "PUT"));
	aq_http_resp_release(&r);
	/* GET into a file: written on a 2xx; on a 404 no file, the error body in memory */
	const int s2[] = { 200, 404 };
	stub_script(s2, 2);
	T_OK(aq_http_get_file(&h, "/down/a", out, &r, &e));
	T_EQ_INT(r.status, 200);
	char *buf = NULL;
	size_t len = 0;
	T_OK(aq_fs_read_all(out, &buf, &len, &e));
	T_CHECK(buf && len == 11 && !memcmp(buf, "{\"ok\":true}", 11));
	free(buf);
	aq_http_resp_release(&r);
	T_OK(aq_http_get_file(&h, "/down/b", bad, &r, &e));
	T_EQ_INT(r.status, 404);
	T_CHECK(access(bad, F_OK) != 0);
	T_CHECK(r.body && strstr(r.body, "RESOURCE_DOES_NOT_EXIST") != NULL);
	aq_http_resp_release(&r);
	aq_http_release(&h);
}

static void test_credentials(void)
{
	struct aq_http h;
	struct aq_http_resp r;
	struct aq_err e = { 0 };
	const int s[] = { 200 };
	stub_script(s, 1);
	T_ASSERT(client(&h, 0, 0.01, "tok-123") == 0);
	aq_http_resp_init(&r);
	T_OK(aq_http_request(&h, "GET", "/api/a", NULL, NULL, 0, &r, &e));
	T_CHECK(!strcmp(stub.auth, "Authorization: Bearer tok-123"));
	T_CHECK(h.o.token == NULL); /* kept only in the header */
	aq_http_resp_release(&r);
	aq_http_release(&h);
	/* credentials in the url are refused without a request */
	T_EQ_INT(aq_http_init(&h, "http://u:pw@127.0.0.1:1", NULL, &e), AQ_EINVAL);
	T_CHECK(strstr(e.msg, "credentials") && !strstr(e.msg, "pw"));
	T_EQ_INT(aq_http_init(&h, "ftp://x", NULL, &e), AQ_EINVAL);
}

int main(void)
{
	struct aq_err e = { 0 };
	snprintf(root, sizeof root, "/tmp/aq-http-XXXXXX");
	if (!mkdtemp(root) || stub_start())
		return 1;
	aq_log_set_level(AQ_LOG_ERROR); /* the retries' warnings are expected */
	T_RUN(test_5xx_retried_then_ok);
	T_RUN(test_5xx_exhausted_returns_last);
	T_RUN(test_4xx_not_retried);
	T_RUN(test_dropped_connection_retried);
	T_RUN(test_unreachable_backoff);
	T_RUN(test_files);
	T_RUN(test_credentials);
	stub.stop = 1;
	pthread_join(stub_thread, NULL);
	close(stub.fd);
	aq_fs_remove_tree(root, &e);
	T_DONE();
}
