/* http.c — libcurl at the edge: one reused easy handle, memory and file bodies, retries with backoff. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "fs.h"
#include "http.h"
#include "log.h"

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_global_rc;

static void curl_global(void) { curl_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT); }

void aq_http_opts_default(struct aq_http_opts *o)
{
	memset(o, 0, sizeof *o);
	o->connect_timeout_ms = 5000;
	o->timeout_ms = 60000;
	o->stall_s = 60;
	o->retries = 4;
	o->backoff_s = 0.25;
}

void aq_http_resp_init(struct aq_http_resp *r) { memset(r, 0, sizeof *r); }

void aq_http_resp_release(struct aq_http_resp *r)
{
	free(r->body);
	aq_http_resp_init(r);
}

/* "scheme://user:pw@host" would put a secret into every logged URL: refused. */
static int has_userinfo(const char *base)
{
	const char *p = strstr(base, "://");
	if (!p)
		return 0;
	p += 3;
	size_t n = strcspn(p, "/?#");
	return memchr(p, '@', n) != NULL;
}

int aq_http_init(struct aq_http *h, const char *base, const struct aq_http_opts *o, struct aq_err *e)
{
	memset(h, 0, sizeof *h);
	pthread_once(&curl_once, curl_global);
	if (curl_global_rc != CURLE_OK)
		return aq_err_set(e, AQ_EHTTP, "cannot initialise libcurl: %s", curl_easy_strerror(curl_global_rc));
	if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))
		return aq_err_set(e, AQ_EINVAL, "bad url '%s' (http:// or https://)", base);
	if (has_userinfo(base))
		return aq_err_set(e, AQ_EINVAL, "credentials in the url are refused: set MLFLOW_TRACKING_USERNAME and "
				  "MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN) instead");
	if (o)
		h->o = *o;
	else
		aq_http_opts_default(&h->o);
	h->base = strdup(base);
	if (!h->base)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	size_t n = strlen(h->base);
	while (n > 0 && h->base[n - 1] == '/')
		h->base[--n] = '\0';
	if (h->o.token && h->o.token[0]) {
		size_t len = strlen(h->o.token) + 32;
		h->auth = malloc(len);
		if (!h->auth) {
			aq_http_release(h);
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		}
		snprintf(h->auth, len, "Authorization: Bearer %s", h->o.token);
	}
	h->o.token = NULL; /* kept only inside h->auth */
	h->curl = curl_easy_init();
	if (!h->curl) {
		aq_http_release(h);
		return aq_err_set(e, AQ_EHTTP, "cannot create a curl handle");
	}
	return 0;
}

void aq_http_release(struct aq_http *h)
{
	if (h->curl)
		curl_easy_cleanup(h->curl);
	if (h->auth) {
		memset(h->auth, 0, strlen(h->auth));
		free(h->auth);
	}
	free(h->base);
	memset(h, 0, sizeof *h);
}

char *aq_http_escape(const char *s, int keep_slash)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = strlen(s);
	char *out = malloc(3 * n + 1), *o = out;
	if (!out)
		return NULL;
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		unsigned c = *p;
		if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' ||
		    c == '_' || c == '~' || c == '-' || (keep_slash && c == '/')) {
			*o++ = (char)c;
		} else {
			*o++ = '%';
			*o++ = hex[c >> 4];
			*o++ = hex[c & 15];
		}
	}
	*o = '\0';
	return out;
}

/* Where a response body goes: memory (grown) or an atomic file. */
struct sink {
	char *buf;
	size_t len, cap;
	struct aq_afile *file;     /* NULL: memory */
	struct aq_err *err;        /* a file write error */
	void *curl;                /* to see the status: an error body goes to memory, not the file */
	int failed, decided, to_mem;
	uint64_t bytes;
};

static size_t sink_write(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct sink *s = userdata;
	size_t n = size * nmemb;
	s->bytes += n;
	if (s->file && !s->decided) {
		long status = 0;
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &status);
		s->to_mem = status < 200 || status >= 300;
		s->decided = 1;
	}
	if (s->file && !s->to_mem) {
		if (aq_afile_write(s->file, ptr, n, s->err)) {
			s->failed = 1;
			return 0;
		}
		return n;
	}
	if (s->len + n + 1 > s->cap) {
		size_t cap = s->cap ? s->cap : 4096;
		while (cap < s->len + n + 1)
			cap *= 2;
		char *b = realloc(s->buf, cap);
		if (!b) {
			s->failed = 1;
			aq_err_set(s->err, AQ_ENOMEM, "out of memory");
			return 0;
		}
		s->buf = b;
		s->cap = cap;
	}
	memcpy(s->buf + s->len, ptr, n);
	s->len += n;
	s->buf[s->len] = '\0';
	return n;
}

/* Where a request body comes from: memory or a file, re-read from its start on each attempt. */
struct source {
	const char *buf;
	size_t len;
	FILE *fp;
	curl_off_t size;
};

static size_t source_read(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct source *s = userdata;
	size_t n = fread(ptr, 1, size * nmemb, s->fp);
	if (n == 0 && ferror(s->fp))
		return CURL_READFUNC_ABORT;
	return n;
}

static int retryable(CURLcode c)
{
	switch (c) {
	case CURLE_COULDNT_CONNECT:
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_OPERATION_TIMEDOUT:
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
	case CURLE_SSL_CONNECT_ERROR:
		return 1;
	default:
		return 0;
	}
}

static void pause_s(double s)
{
	struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
	while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
		;
}

/* One attempt: options set afresh on the reused handle (curl_easy_reset keeps live connections). */
static CURLcode attempt(struct aq_http *h, const char *method, const char *url, const char *ctype,
			struct source *src, struct sink *snk, char *errbuf, long *status)
{
	CURL *c = h->curl;
	struct curl_slist *hdr = NULL;
	char ct[160];
	curl_easy_reset(c);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, h->o.connect_timeout_ms);
	curl_easy_setopt(c, CURLOPT_TCP_KEEPALIVE, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, snk);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "aquacast/0.1");
	if (src && src->fp) {
		/* A file transfer: no total timeout, but a stall limit. */
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->o.stall_s);
	} else if (snk->file) {
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
		curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, h->o.stall_s);
	} else {
		curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, h->o.timeout_ms);
	}
	if (h->auth)
		hdr = curl_slist_append(hdr, h->auth);
	else if (h->o.user && h->o.user[0]) {
		curl_easy_setopt(c, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
		curl_easy_setopt(c, CURLOPT_USERNAME, h->o.user);
		curl_easy_setopt(c, CURLOPT_PASSWORD, h->o.password ? h->o.password : "");
	}
	hdr = curl_slist_append(hdr, "Expect:");
	hdr = curl_slist_append(hdr, "Accept: application/json");
	if (ctype) {
		snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
		hdr = curl_slist_append(hdr, ct);
	}
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdr);
	if (src && src->fp) {
		rewind(src->fp);
		curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
		curl_easy_setopt(c, CURLOPT_READFUNCTION, source_read);
		curl_easy_setopt(c, CURLOPT_READDATA, src);
		curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, src->size);
		if (h->o.max_send_bps > 0)
			curl_easy_setopt(c, CURLOPT_MAX_SEND_SPEED_LARGE, (curl_off_t)h->o.max_send_bps);
	} else if (src) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, src->buf ? src->buf : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)src->len);
	}
	if (strcmp(method, "GET") != 0 && !(src && src->fp && strcmp(method, "PUT") == 0) &&
	    !(src && !src->fp && strcmp(method, "POST") == 0))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	errbuf[0] = '\0';
	CURLcode rc = curl_easy_perform(c);
	*status = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
	curl_slist_free_all(hdr);
	return rc;
}

/* The retry loop around attempt(); snk is reset before each attempt (a file sink reopened by the caller's hook). */
static int perform(struct aq_http *h, const char *method, const char *path, const char *ctype, struct source *src,
		   struct sink *snk, const char *file, struct aq_http_resp *r, struct aq_err *e)
{
	char errbuf[CURL_ERROR_SIZE];
	size_t ul = strlen(h->base) + strlen(path) + 1;
	char *url = malloc(ul);
	if (!url)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	snprintf(url, ul, "%s%s", h->base, path);
	double wait = h->o.backoff_s > 0 ? h->o.backoff_s : 0.25;
	int rc = 0;
	struct aq_afile af;
	for (int try = 0;; try++) {
		long status = 0;
		snk->len = 0;
		snk->failed = 0;
		snk->decided = 0;
		snk->to_mem = 0;
		snk->curl = h->curl;
		snk->file = NULL;
		if (file) {
			if ((rc = aq_afile_open(&af, file, e)))
				break;
			snk->file = &af;
		}
		CURLcode cc = attempt(h, method, url, ctype, src, snk, errbuf, &status);
		h->requests++;
		if (cc == CURLE_OK && status >= 200 && status < 300 && file) {
			snk->file = NULL;
			if ((rc = aq_afile_commit(&af, e)))
				break;
		} else if (file) {
			aq_afile_abort(&af);
			snk->file = NULL;
		}
		if (snk->failed) {
			rc = e ? e->code : AQ_EIO;
			break;
		}
		const char *why = NULL;
		char sbuf[32];
		if (cc != CURLE_OK) {
			why = errbuf[0] ? errbuf : curl_easy_strerror(cc);
			if (!retryable(cc) || try >= h->o.retries) {
				rc = aq_err_set(e, AQ_EHTTP, "cannot reach '%s' (%s %s) after %d attempt%s: %s", url,
						method, path, try + 1, try ? "s" : "", why);
				break;
			}
		} else if (status >= 500 && try < h->o.retries) {
			snprintf(sbuf, sizeof sbuf, "HTTP %ld", status);
			why = sbuf;
		} else {
			r->status = status;
			free(r->body);
			r->body = snk->buf;
			r->len = snk->len;
			snk->buf = NULL;
			snk->cap = 0;
			if (!r->body && !(file && status >= 200 && status < 300)) {
				r->body = strdup("");
				r->len = 0;
			}
			aq_debug("%s %s -> %ld", method, path, status);
			rc = 0;
			break;
		}
		h->retried++;
		aq_warn("%s %s failed (%s): retry %d of %d in %.2g s", method, path, why, try + 1, h->o.retries, wait);
		pause_s(wait);
		wait = wait * 2 > 8 ? 8 : wait * 2;
		if (src && src->fp)
			clearerr(src->fp);
	}
	if (src && src->fp && rc == 0)
		h->bytes_up += (uint64_t)src->size;
	else if (src && rc == 0)
		h->bytes_up += src->len;
	h->bytes_down += snk->bytes;
	free(snk->buf);
	free(url);
	return rc;
}

int aq_http_request(struct aq_http *h, const char *method, const char *path, const char *ctype,
		    const void *body, size_t len, struct aq_http_resp *r, struct aq_err *e)
{
	struct sink snk = {.err = e};
	struct source src = {.buf = body, .len = len};
	return perform(h, method, path, ctype, body || strcmp(method, "GET") ? &src : NULL, &snk, NULL, r, e);
}

int aq_http_put_file(struct aq_http *h, const char *path, const char *file, struct aq_http_resp *r,
		     struct aq_err *e)
{
	struct sink snk = {.err = e};
	struct source src = {0};
	src.fp = fopen(file, "rb");
	if (!src.fp)
		return aq_err_sys(e, "cannot open '%s'", file);
	if (fseeko(src.fp, 0, SEEK_END) || (src.size = ftello(src.fp)) < 0) {
		fclose(src.fp);
		return aq_err_sys(e, "cannot size '%s'", file);
	}
	int rc = perform(h, "PUT", path, "application/octet-stream", &src, &snk, NULL, r, e);
	fclose(src.fp);
	return rc;
}

int aq_http_get_file(struct aq_http *h, const char *path, const char *file, struct aq_http_resp *r,
		     struct aq_err *e)
{
	struct sink snk = {.err = e};
	return perform(h, "GET", path, NULL, NULL, &snk, file, r, e);
}
