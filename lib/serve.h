/* serve.h — the aquacast-serve job: the champion in memory, V2 inference, the dashboard API, metrics, hot swaps. */
#ifndef AQ_SERVE_H
#define AQ_SERVE_H

#include <signal.h>
#include <stdint.h>

#include "err.h"
#include "http.h"
#include "httpd.h"
#include "v2.h"

/*
 * aq_serve_run listens first (live), then loads the champion (ready): from
 * o->set (a model set, an evaluation directory or a downloaded version), or
 * from the registry alias (aquacast-register's resolve/download into
 * o->work_dir). It then answers until *o->stop:
 *   /v2/...                              the KServe V2 protocol (lib/v2.h), model o->v2_name
 *   GET /api/accounts?q=PREFIX[&limit=N] accounts whose id starts with PREFIX
 *   GET /api/accounts/{oid}              model summary, the 28 recent days, anomaly, periods
 *   GET /api/forecast?account=&from=&to= (or &days=N) daily forecast with 80/95% bands and the total
 *   GET /api/bill?account=&from=&to=     the expected bill and its ranges (o->tariff)
 *   GET /metrics                         Prometheus text
 *   GET /…                               the dashboard's files (o->web)
 * With both o->set and o->registry, the directory is the first champion
 * (a Kubernetes init container's aquacast-register --download) and reloads
 * go to the registry (its version name then differs from the directory's
 * sha256 name, so the first poll downloads it once more and swaps).
 * A swap (on *o->reload, set by SIGHUP, and every o->poll_seconds when a
 * registry is given and the alias moved) loads the new set aside, then
 * exchanges one pointer under a mutex; each request holds a reference to
 * the set it started with, so requests in flight finish on the old set,
 * which is freed by its last request. A failed reload keeps the old set.
 */
struct aq_serve_opts {
	const char *set;
	const char *registry, *model, *alias;
	const char *work_dir;          /* downloads; default $TMPDIR/aquacast-serve.<pid> */
	double poll_seconds;           /* 0: no polling */
	const char *tariff;            /* NULL: /api/bill answers 404 */
	const char *web;               /* NULL: no dashboard */
	const char *v2_name;           /* default "aquacast" */
	const char *server_version;
	const char *port_file;         /* the bound port is written here once listening */
	struct aq_v2_limits limits;
	struct aq_httpd_opts http;
	struct aq_http_opts registry_http;
	volatile sig_atomic_t *stop, *reload;
};

struct aq_serve_stats {
	uint64_t requests;
	int reloads_ok, reloads_failed;
	char version[80];
	int port;
	uint64_t accounts;
};

void aq_serve_opts_default(struct aq_serve_opts *o);
int aq_serve_run(const struct aq_serve_opts *o, struct aq_serve_stats *st, struct aq_err *e);

#endif
