/* servemetrics.c — lock-free request counters and latency histograms, written as Prometheus text (format 0.0.4). */
#include <string.h>

#include "servemetrics.h"

static const char *const route_names[AQ_SM_NROUTES] = {"v2_health", "v2_server_metadata", "v2_model", "v2_infer",
						      "api_accounts", "api_account", "api_forecast", "api_bill",
						      "metrics", "static", "other"};
static const int codes[AQ_SM_NCODES - 1] = {200, 204, 400, 404, 405, 413, 500, 503, 304};
static const double bounds[AQ_SM_NBUCKETS - 1] = {0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
						  0.025, 0.05, 0.1, 0.25, 0.5, 1};

void aq_servemetrics_init(struct aq_servemetrics *m)
{
	memset(m, 0, sizeof *m);
}

void aq_servemetrics_observe(struct aq_servemetrics *m, enum aq_sm_route r, int status, double seconds)
{
	int c = 0;
	while (c < AQ_SM_NCODES - 1 && codes[c] != status)
		c++;
	int b = 0;
	while (b < AQ_SM_NBUCKETS - 1 && seconds > bounds[b])
		b++;
	atomic_fetch_add_explicit(&m->req[r][c], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->hist[r][b], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&m->sum_ns[r], (uint_fast64_t)(seconds * 1e9), memory_order_relaxed);
}

void aq_servemetrics_write(struct aq_jbuf *b, struct aq_servemetrics *m, const char *version, double loaded_at,
			   double now, uint64_t accounts, int ready)
{
	aq_jbuf_cstr(b, "# HELP aquacast_serve_requests_total HTTP requests answered, by route and status code.\n"
			"# TYPE aquacast_serve_requests_total counter\n");
	for (int r = 0; r < AQ_SM_NROUTES; r++)
		for (int c = 0; c < AQ_SM_NCODES; c++) {
			uint64_t v = atomic_load(&m->req[r][c]);
			if (v)
				aq_jbuf_printf(b, "aquacast_serve_requests_total{route=\"%s\",code=\"%s%d\"} %llu\n",
					       route_names[r], c < AQ_SM_NCODES - 1 ? "" : "other", c < AQ_SM_NCODES - 1 ? codes[c] : 0,
					       (unsigned long long)v);
		}
	aq_jbuf_cstr(b, "# HELP aquacast_serve_request_duration_seconds Time from request headers to the response queued.\n"
			"# TYPE aquacast_serve_request_duration_seconds histogram\n");
	for (int r = 0; r < AQ_SM_NROUTES; r++) {
		uint64_t cum = 0;
		for (int k = 0; k < AQ_SM_NBUCKETS; k++) {
			cum += atomic_load(&m->hist[r][k]);
			if (k < AQ_SM_NBUCKETS - 1)
				aq_jbuf_printf(b, "aquacast_serve_request_duration_seconds_bucket{route=\"%s\",le=\"%g\"} %llu\n",
					       route_names[r], bounds[k], (unsigned long long)cum);
			else
				aq_jbuf_printf(b, "aquacast_serve_request_duration_seconds_bucket{route=\"%s\",le=\"+Inf\"} %llu\n",
					       route_names[r], (unsigned long long)cum);
		}
		aq_jbuf_printf(b, "aquacast_serve_request_duration_seconds_sum{route=\"%s\"} %.9f\n", route_names[r],
			       atomic_load(&m->sum_ns[r]) / 1e9);
		aq_jbuf_printf(b, "aquacast_serve_request_duration_seconds_count{route=\"%s\"} %llu\n", route_names[r],
			       (unsigned long long)cum);
	}
	aq_jbuf_cstr(b, "# HELP aquacast_serve_model_info The loaded champion (value 1).\n# TYPE aquacast_serve_model_info gauge\n");
	if (version) {
		aq_jbuf_cstr(b, "aquacast_serve_model_info{version=");
		aq_jbuf_str(b, version);
		aq_jbuf_cstr(b, "} 1\n");
	}
	aq_jbuf_printf(b, "# HELP aquacast_serve_model_loaded_timestamp_seconds When the champion was loaded (unix time).\n"
			  "# TYPE aquacast_serve_model_loaded_timestamp_seconds gauge\n"
			  "aquacast_serve_model_loaded_timestamp_seconds %.3f\n"
			  "# HELP aquacast_serve_model_age_seconds Seconds since the champion was loaded.\n"
			  "# TYPE aquacast_serve_model_age_seconds gauge\naquacast_serve_model_age_seconds %.3f\n"
			  "# HELP aquacast_serve_model_accounts Accounts in the loaded champion.\n"
			  "# TYPE aquacast_serve_model_accounts gauge\naquacast_serve_model_accounts %llu\n"
			  "# HELP aquacast_serve_ready 1 when a champion is loaded.\n"
			  "# TYPE aquacast_serve_ready gauge\naquacast_serve_ready %d\n"
			  "# HELP aquacast_serve_reloads_total Champion reloads (SIGHUP, alias polling), by result.\n"
			  "# TYPE aquacast_serve_reloads_total counter\n"
			  "aquacast_serve_reloads_total{result=\"ok\"} %llu\naquacast_serve_reloads_total{result=\"failed\"} %llu\n",
		       loaded_at, version ? now - loaded_at : 0.0, (unsigned long long)accounts, ready,
		       (unsigned long long)atomic_load(&m->reloads_ok), (unsigned long long)atomic_load(&m->reloads_failed));
}
