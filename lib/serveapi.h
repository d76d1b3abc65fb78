/* serveapi.h — the request side of aquacast-serve: routing, V2 inference, the dashboard JSON API, static files. */
#ifndef AQ_SERVEAPI_H
#define AQ_SERVEAPI_H

#include <pthread.h>

#include "httpd.h"
#include "serve.h"
#include "servemetrics.h"
#include "serveset.h"
#include "tariff.h"
#include "webroot.h"

/* What the handler threads share; cur is swapped under mu (aq_serveapi_acquire / _swap). */
struct aq_serve_state {
	const struct aq_serve_opts *o;
	pthread_mutex_t mu;
	struct aq_serveset *cur;       /* NULL until the first load */
	struct aq_servemetrics m;
	struct aq_tariff tariff;
	int have_tariff;
	struct aq_webroot web;
	atomic_uint_fast64_t requests;
};

/* The current set with a reference taken (NULL when none yet); aq_serveset_unref when done. */
struct aq_serveset *aq_serveapi_acquire(struct aq_serve_state *st);
/* Install s (its reference moves in); the old set loses the state's reference. */
void aq_serveapi_swap(struct aq_serve_state *st, struct aq_serveset *s);
/* The aq_httpd_fn: cls is the state. */
void aq_serveapi_handle(void *cls, const struct aq_httpd_req *rq, struct aq_httpd_resp *rs);

#endif
