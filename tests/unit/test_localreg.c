/* test_localreg.c — the local registry (file:DIR): runs by key, versions renamed from staging, aliases, resolve, fetch. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "fs.h"
#include "registry.h"
#include "test.h"

static char root[64], uri[96], src[128];

static int exists(const char *fmt, const char *a)
{
	char p[512];
	struct stat sb;
	snprintf(p, sizeof p, fmt, root, a);
	return stat(p, &sb) == 0;
}

/* One register-like pass for key: begin, log, two files, commit, alias. */
static void pass(const char *key, const char *alias, char *version, size_t vlen, int *resumed)
{
	struct aq_registry r;
	struct aq_registry_run run;
	struct aq_err e = {0};
	aq_registry_run_init(&run);
	T_OK(aq_registry_open(&r, uri, "exp", "wf", NULL, &e));
	json_t *tags = json_pack("{s:s}", "aquacast.host", "h"), *params = json_pack("{s:s}", "train.max_p", "5"),
	       *metrics = json_pack("{s:f}", "fetch_seconds", 1.5);
	T_OK(aq_registry_begin(&r, key, "run", tags, 1000, &run, &e));
	*resumed = run.resumed;
	T_OK(aq_registry_log(&r, &run, metrics, params, tags, &e));
	if (!run.version) {
		T_OK(aq_registry_put(&r, &run, 1, "data/a.txt", src, &e));
		T_OK(aq_registry_put(&r, &run, 1, "MLmodel", src, &e));
		T_OK(aq_registry_put(&r, &run, 0, "summary.json", src, &e));
		/* before the commit the files sit in staging: no version directory yet */
		T_CHECK(exists("%s/wf/staging/%s/data/a.txt", key));
	}
	T_OK(aq_registry_commit(&r, &run, NULL, &e));
	T_ASSERT(run.version);
	snprintf(version, vlen, "%s", run.version);
	T_OK(aq_registry_alias_set(&r, alias, run.version, &e));
	T_OK(aq_registry_finish(&r, &run, 1, &e));
	json_decref(tags);
	json_decref(params);
	json_decref(metrics);
	aq_registry_run_release(&run);
	aq_registry_release(&r);
}

static void test_versions_aliases_idempotent(void)
{
	char v1[32], v1b[32], v2[32];
	int res;
	pass("key-one", "champion", v1, sizeof v1, &res);
	T_CHECK(!strcmp(v1, "1") && !res);
	T_CHECK(exists("%s/wf/versions/%s/data/a.txt", "1") && exists("%s/wf/versions/%s/version.json", "1"));
	T_CHECK(!exists("%s/wf/staging/%s", "key-one"));
	/* the same key again: the run resumed, no second version */
	pass("key-one", "champion", v1b, sizeof v1b, &res);
	T_CHECK(!strcmp(v1b, "1") && res && !exists("%s/wf/versions/%s", "2"));
	/* another key: version 2; the alias moves to it */
	pass("key-two", "champion", v2, sizeof v2, &res);
	T_CHECK(!strcmp(v2, "2") && !res);

	struct aq_registry r;
	struct aq_registry_version v;
	struct aq_err e = {0};
	aq_registry_version_init(&v);
	T_OK(aq_registry_open(&r, uri, NULL, "wf", NULL, &e));
	T_OK(aq_registry_resolve(&r, "champion", &v, &e));
	T_CHECK(v.version && !strcmp(v.version, "2") && v.run_id && !strcmp(v.run_id, "key-two"));
	char out[256];
	snprintf(out, sizeof out, "%s/fetched/a.txt", root);
	T_OK(aq_registry_fetch(&r, &v, "data/a.txt", out, &e));
	char *buf = NULL;
	size_t len = 0;
	T_OK(aq_fs_read_all(out, &buf, &len, &e));
	T_CHECK(buf && len == 6 && !memcmp(buf, "hello\n", 6));
	free(buf);
	T_EQ_INT(aq_registry_fetch(&r, &v, "data/nosuch", out, &e), AQ_ENOTFOUND);
	T_EQ_INT(aq_registry_fetch(&r, &v, "../../x", out, &e), AQ_EINVAL);
	aq_registry_version_release(&v);

	/* an unknown alias is AQ_ENOTFOUND naming it; an alias that is a path is refused */
	aq_registry_version_init(&v);
	memset(&e, 0, sizeof e);
	T_EQ_INT(aq_registry_resolve(&r, "nosuch", &v, &e), AQ_ENOTFOUND);
	T_CHECK(strstr(e.msg, "alias 'nosuch'") != NULL);
	aq_registry_version_release(&v);
	T_EQ_INT(aq_registry_alias_set(&r, "../evil", "1", &e), AQ_EINVAL);
	T_CHECK(!exists("%s/wf/%s", "evil"));
	aq_registry_release(&r);

	/* the run record: finished, params fixed once logged */
	char rec[256];
	snprintf(rec, sizeof rec, "%s/wf/runs/key-one.json", root);
	json_t *j = json_load_file(rec, 0, NULL);
	T_CHECK(j && !strcmp(json_string_value(json_object_get(j, "status")), "FINISHED"));
	T_CHECK(j && !strcmp(json_string_value(json_object_get(json_object_get(j, "params"), "train.max_p")), "5"));
	T_CHECK(j && !strcmp(json_string_value(json_object_get(j, "version")), "1"));
	json_decref(j);
}

static void test_param_change_refused(void)
{
	struct aq_registry r;
	struct aq_registry_run run;
	struct aq_err e = {0};
	aq_registry_run_init(&run);
	T_OK(aq_registry_open(&r, uri, "exp", "wf", NULL, &e));
	T_OK(aq_registry_begin(&r, "key-one", "run", NULL, 1, &run, &e));
	json_t *p = json_pack("{s:s}", "train.max_p", "3");
	T_EQ_INT(aq_registry_log(&r, &run, NULL, p, NULL, &e), AQ_ESTATE);
	T_CHECK(strstr(e.msg, "train.max_p") != NULL);
	json_decref(p);
	aq_registry_run_release(&run);
	aq_registry_release(&r);
}

static void test_bad_uri(void)
{
	struct aq_registry r;
	struct aq_err e = {0};
	T_EQ_INT(aq_registry_open(&r, "file:", NULL, "wf", NULL, &e), AQ_EINVAL);
	memset(&e, 0, sizeof e);
	T_EQ_INT(aq_registry_open(&r, "ftp://x", NULL, "wf", NULL, &e), AQ_EINVAL);
	T_CHECK(strstr(e.msg, "scheme") != NULL);
}

int main(void)
{
	struct aq_err e = {0};
	snprintf(root, sizeof root, "/tmp/aq-localreg-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	snprintf(uri, sizeof uri, "file:%s", root);
	snprintf(src, sizeof src, "%s/src.txt", root);
	if (aq_fs_write_atomic(src, "hello\n", 6, &e))
		return 1;
	T_RUN(test_versions_aliases_idempotent);
	T_RUN(test_param_change_refused);
	T_RUN(test_bad_uri);
	aq_fs_remove_tree(root, &e);
	T_DONE();
}
