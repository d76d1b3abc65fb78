/* serve.c — the aquacast-serve job: listen, load the champion, hot-swap it on SIGHUP or when the registry alias moves, stop. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "fs.h"
#include "log.h"
#include "register.h"
#include "serveapi.h"

void aq_serve_opts_default(struct aq_serve_opts *o)
{
	memset(o, 0, sizeof *o);
	o->model = "aquacast-water-forecast";
	o->alias = "champion";
	o->v2_name = "aquacast";
	o->server_version = "0.1";
	aq_v2_limits_default(&o->limits);
	aq_httpd_opts_default(&o->http);
	aq_http_opts_default(&o->registry_http);
}

struct runner {
	struct aq_serve_state st;
	char work[PATH_MAX];
	char loaded_dir[PATH_MAX + 128];   /* the downloaded version in use ("" for --set) */
	unsigned seq;
};

/* From the registry: resolve the alias; when it names another version, download and load it. *set NULL: unchanged. */
static int from_registry(struct runner *r, const char *current, struct aq_serveset **set, struct aq_err *e)
{
	const struct aq_serve_opts *o = r->st.o;
	json_t *res = NULL;
	*set = NULL;
	int rc = aq_register_resolve(o->registry, o->model, o->alias, &o->registry_http, &res, e);
	if (rc)
		return rc;
	const char *v = json_string_value(json_object_get(res, "version"));
	char version[64];
	snprintf(version, sizeof version, "%s", v ? v : "");
	json_decref(res);
	if (!version[0])
		return aq_err_set(e, AQ_EFORMAT, "registry alias '%s' resolved without a version", o->alias);
	if (current && !strcmp(current, version))
		return 0;
	char dir[PATH_MAX + 128];
	snprintf(dir, sizeof dir, "%s/v%s.%u", r->work, version, r->seq++);
	if ((rc = aq_fs_mkdir_p(r->work, e)))
		return rc;
	aq_fs_remove_tree(dir, NULL);
	rc = aq_register_download(o->registry, o->model, o->alias, dir, &o->registry_http, &res, e);
	json_decref(res);
	if (!rc)
		rc = aq_serveset_load(dir, version, set, e);
	if (rc) {
		aq_fs_remove_tree(dir, NULL);
		return rc;
	}
	if (r->loaded_dir[0])
		aq_fs_remove_tree(r->loaded_dir, NULL); /* the old set lives in memory only */
	snprintf(r->loaded_dir, sizeof r->loaded_dir, "%s", dir);
	return 0;
}

/* Load (or reload) and swap; a failure keeps the set being served. */
static int reload(struct runner *r, const char *why, struct aq_err *e)
{
	const struct aq_serve_opts *o = r->st.o;
	struct aq_serveset *cur = aq_serveapi_acquire(&r->st), *next = NULL;
	char current[80] = "";
	if (cur)
		snprintf(current, sizeof current, "%s", cur->version);
	aq_serveset_unref(cur);
	/* --set alone: reload the directory; with a registry, the directory is only the first champion (an init
	 * container's download) and the alias is polled from then on. */
	int rc = o->set && (!o->registry || !cur) ? aq_serveset_load(o->set, NULL, &next, e)
						  : from_registry(r, cur ? current : NULL, &next, e);
	if (rc) {
		atomic_fetch_add(&r->st.m.reloads_failed, 1);
		aq_warn("%s: reload failed, still serving %s: %s", why, current[0] ? current : "nothing", e->msg);
		return rc;
	}
	if (!next || (cur && !strcmp(next->version, current))) {
		aq_serveset_unref(next);
		aq_debug("%s: champion unchanged (%s)", why, current);
		return 0;
	}
	aq_info("%s: serving version %s (%zu accounts, %zu anomalies, loaded in %.2f s)%s%s", why, next->version,
		next->n, next->nanomalies, next->load_seconds, current[0] ? ", replacing " : "", current);
	aq_serveapi_swap(&r->st, next);
	atomic_fetch_add(&r->st.m.reloads_ok, 1);
	return 0;
}

static int setup(struct runner *r, const struct aq_serve_opts *o, struct aq_err *e)
{
	int rc = 0;
	if (o->tariff) {
		if ((rc = aq_tariff_load(o->tariff, &r->st.tariff, e)))
			return rc;
		r->st.have_tariff = 1;
	}
	if (o->web && (rc = aq_webroot_load(&r->st.web, o->web, e)))
		return rc;
	if (o->work_dir)
		snprintf(r->work, sizeof r->work, "%s", o->work_dir);
	else
		snprintf(r->work, sizeof r->work, "%s/aquacast-serve.%d", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp",
			 (int)getpid());
	return 0;
}

static void sleep_slice(void)
{
	struct timespec ts = {0, 100 * 1000 * 1000};
	nanosleep(&ts, NULL); /* a signal ends it early */
}

int aq_serve_run(const struct aq_serve_opts *o, struct aq_serve_stats *stats, struct aq_err *e)
{
	if (!o->set && !o->registry)
		return aq_err_set(e, AQ_EINVAL, "give the champion as a directory, a registry alias, or both");
	struct runner *r = calloc(1, sizeof *r);
	if (!r)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	r->st.o = o;
	pthread_mutex_init(&r->st.mu, NULL);
	aq_servemetrics_init(&r->st.m);
	struct aq_httpd h = {0};
	int rc = setup(r, o, e);
	if (!rc)
		rc = aq_httpd_start(&h, &o->http, aq_serveapi_handle, &r->st, e);
	if (!rc) {
		stats->port = h.port;
		aq_info("listening on http://%s:%d/ (dashboard%s), V2 model '%s' at /v2/models/%s", o->http.host, h.port,
			o->web ? "" : " off", o->v2_name, o->v2_name);
		rc = reload(r, "start", e);
	}
	if (!rc && o->port_file) {
		char buf[16];
		int n = snprintf(buf, sizeof buf, "%d\n", h.port);
		rc = aq_fs_write_atomic(o->port_file, buf, (size_t)n, e);
	}
	double next_poll = aq_now() + o->poll_seconds;
	while (!rc && !*o->stop) {
		sleep_slice();
		if (*o->reload) {
			*o->reload = 0;
			reload(r, "SIGHUP", e);
		}
		if (o->registry && o->poll_seconds > 0 && aq_now() >= next_poll) {
			reload(r, "poll", e);
			next_poll = aq_now() + o->poll_seconds;
		}
	}
	aq_httpd_stop(&h); /* answers what is in flight, then the threads end */
	stats->requests = atomic_load(&r->st.requests);
	stats->reloads_ok = (int)atomic_load(&r->st.m.reloads_ok);
	stats->reloads_failed = (int)atomic_load(&r->st.m.reloads_failed);
	if (r->st.cur) {
		snprintf(stats->version, sizeof stats->version, "%s", r->st.cur->version);
		stats->accounts = r->st.cur->n;
	}
	aq_serveapi_swap(&r->st, NULL);
	if (r->loaded_dir[0])
		aq_fs_remove_tree(r->loaded_dir, NULL);
	if (!o->work_dir)
		rmdir(r->work);
	aq_webroot_release(&r->st.web);
	pthread_mutex_destroy(&r->st.mu);
	free(r);
	return rc;
}
