/* servemetrics.h — request counters and latency histograms of aquacast-serve, in the Prometheus text format. */
#ifndef AQ_SERVEMETRICS_H
#define AQ_SERVEMETRICS_H

#include <stdatomic.h>
#include <stdint.h>

#include "jbuf.h"

/* Routes are a fixed set (labels never come from the request, so the series count is bounded). */
enum aq_sm_route {
	AQ_SM_V2_HEALTH, AQ_SM_V2_META, AQ_SM_V2_MODEL, AQ_SM_V2_INFER, AQ_SM_API_ACCOUNTS, AQ_SM_API_ACCOUNT,
	AQ_SM_API_FORECAST, AQ_SM_API_BILL, AQ_SM_METRICS, AQ_SM_STATIC, AQ_SM_OTHER, AQ_SM_NROUTES
};
#define AQ_SM_NCODES 10   /* 200 204 400 404 405 413 500 503, other 2xx-5xx */
#define AQ_SM_NBUCKETS 14 /* 0.1 ms … 1 s, +Inf */

struct aq_servemetrics {
	atomic_uint_fast64_t req[AQ_SM_NROUTES][AQ_SM_NCODES];
	atomic_uint_fast64_t hist[AQ_SM_NROUTES][AQ_SM_NBUCKETS];
	atomic_uint_fast64_t sum_ns[AQ_SM_NROUTES];
	atomic_uint_fast64_t reloads_ok, reloads_failed;
};

void aq_servemetrics_init(struct aq_servemetrics *m);
void aq_servemetrics_observe(struct aq_servemetrics *m, enum aq_sm_route r, int status, double seconds);
/* The exposition: the counters, then the model gauges given by the caller. */
void aq_servemetrics_write(struct aq_jbuf *b, struct aq_servemetrics *m, const char *version, double loaded_at,
			   double now, uint64_t accounts, int ready);

#endif
