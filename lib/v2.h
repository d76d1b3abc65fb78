/* v2.h — the KServe V2 / Open Inference Protocol over REST: routes, infer request parsing, response bodies (pure, no I/O). */
#ifndef AQ_V2_H
#define AQ_V2_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "jbuf.h"

/*
 * Routes (kserve/open-inference-protocol, specification/protocol/inference_rest.md):
 *   GET  /v2                                  server metadata {name, version, extensions}
 *   GET  /v2/health/live, /v2/health/ready    200 {"live":true} / {"ready":bool} (503 when not ready)
 *   GET  /v2/models/{m}[/versions/{v}]        model metadata {name, versions, platform, inputs, outputs}
 *   GET  /v2/models/{m}[/versions/{v}]/ready  {"name","ready"}
 *   POST /v2/models/{m}[/versions/{v}]/infer  inference
 * The model aquacast serves takes the inputs
 *   account_oid   INT64 [B] (or [B,1]), 1 <= B <= max_batch, each >= 1
 *   horizon_days  INT32|INT64 [1], 1..max_horizon: the days after each account's TrainedUntil
 *   start_date, end_date  BYTES [1] "YYYY-MM-DD" (instead of horizon_days), inclusive
 * and answers, for H days per account (the same H for all),
 *   start_date, end_date                   BYTES [B]
 *   mean, lo80, hi80, lo95, hi95           FP64  [B,H]  daily forecast and bounds (m³)
 *   total, total_lo80 … total_hi95         FP64  [B]    the period's total and its intervals
 * "outputs" in the request selects a subset; an "id" is echoed.
 * Errors are {"error":"message"} with a 4xx status (aq_v2_status maps AQ_E* codes).
 */
enum aq_v2_kind {
	AQ_V2_NONE = 0,     /* not a /v2 path */
	AQ_V2_SERVER_META,
	AQ_V2_LIVE,
	AQ_V2_READY,
	AQ_V2_MODEL_META,
	AQ_V2_MODEL_READY,
	AQ_V2_INFER,
	AQ_V2_UNKNOWN,      /* under /v2 but no such route: 404 */
};

#define AQ_V2_NAME_MAX 64

struct aq_v2_route {
	enum aq_v2_kind kind;
	int method_ok;                 /* 0: the route exists but not for this method (405) */
	char model[AQ_V2_NAME_MAX];    /* "" when the route has none */
	char version[AQ_V2_NAME_MAX];  /* "" when the path gives none */
};

/* Classify method + path (no query string). Never fails: kind NONE or UNKNOWN when nothing matches. */
void aq_v2_route(const char *method, const char *path, struct aq_v2_route *r);

struct aq_v2_limits {
	int max_batch;                 /* accounts per request */
	int max_horizon;               /* days per request */
	size_t max_body;               /* bytes */
};
void aq_v2_limits_default(struct aq_v2_limits *l); /* 1000, 366, 64 KiB */

enum {
	AQ_V2_OUT_START = 1 << 0, AQ_V2_OUT_END = 1 << 1, AQ_V2_OUT_MEAN = 1 << 2, AQ_V2_OUT_LO80 = 1 << 3,
	AQ_V2_OUT_HI80 = 1 << 4, AQ_V2_OUT_LO95 = 1 << 5, AQ_V2_OUT_HI95 = 1 << 6, AQ_V2_OUT_TOTAL = 1 << 7,
	AQ_V2_OUT_TLO80 = 1 << 8, AQ_V2_OUT_THI80 = 1 << 9, AQ_V2_OUT_TLO95 = 1 << 10, AQ_V2_OUT_THI95 = 1 << 11,
	AQ_V2_OUT_ALL = (1 << 12) - 1,
};
#define AQ_V2_ID_MAX 256

struct aq_v2_request {
	char id[AQ_V2_ID_MAX];
	int has_id;
	int64_t *accounts;             /* malloc'd, request order (duplicates allowed) */
	size_t n;
	int horizon;                   /* > 0: horizon_days given */
	int32_t from, to;              /* horizon 0: start_date..end_date */
	unsigned outputs;              /* AQ_V2_OUT_* */
};

void aq_v2_request_init(struct aq_v2_request *r);
void aq_v2_request_release(struct aq_v2_request *r);
/*
 * Parse an infer body strictly: a JSON object (duplicate keys refused) with
 * only id (string), parameters (object of string/number/bool), inputs,
 * outputs; each input {name, shape, datatype, data[, parameters]} with a
 * known name given once, the expected datatype, a shape whose product is the
 * number of (flat or nested) data elements. AQ_EFORMAT for bad JSON or
 * structure, AQ_EINVAL for values out of range; e says what and where.
 */
int aq_v2_parse_infer(const char *body, size_t len, const struct aq_v2_limits *lim, struct aq_v2_request *r,
		      struct aq_err *e);

/* One account's answer: n days from `from`, arrays owned by the caller. */
struct aq_v2_series {
	int32_t from, to;
	const double *mean, *lo80, *hi80, *lo95, *hi95;
	double total[5];               /* total, lo80, hi80, lo95, hi95 */
};

/* The infer response for r with s[0..r->n) (all of the same length). */
void aq_v2_infer_response(struct aq_jbuf *b, const char *model, const char *version, const struct aq_v2_request *r,
			  const struct aq_v2_series *s);
void aq_v2_model_metadata(struct aq_jbuf *b, const char *model, const char *version);
void aq_v2_server_metadata(struct aq_jbuf *b, const char *server_version);
void aq_v2_error(struct aq_jbuf *b, const char *msg);
/* HTTP status for a library error code: EINVAL/EFORMAT/EUNSUPPORTED 400, ENOTFOUND 404, else 500. */
int aq_v2_status(int code);

#endif
