/* test_manifest.c — sealed directories: begin/commit/abort, the checks readers rely on, --force swaps. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fs.h"
#include "manifest.h"
#include "test.h"

static char root[64];

static void put(const char *dir, const char *rel, const char *text)
{
	char path[512];
	struct aq_err e = {0};
	snprintf(path, sizeof path, "%s/%s", dir, rel);
	char *slash = strrchr(path, '/');
	*slash = 0;
	aq_fs_mkdir_p(path, &e);
	*slash = '/';
	aq_fs_write_atomic(path, text, strlen(text), &e);
}

static int exists(const char *p)
{
	struct stat sb;
	return lstat(p, &sb) == 0;
}

/* A sealed directory "<root>/<name>" with two files in a sub-directory. */
static void make_sealed(const char *name, const char *content)
{
	char final[256];
	snprintf(final, sizeof final, "%s/%s", root, name);
	struct aq_seal s;
	struct aq_err e = {0};
	T_OK(aq_seal_begin(&s, final, 0, &e));
	T_CHECK(!exists(final) && exists(s.tmp));
	put(s.tmp, "a/one.txt", content);
	put(s.tmp, "b.txt", "two");
	put(s.tmp, ".hidden", "ignored");
	T_OK(aq_manifest_write(s.tmp, "test", 2, 3, NULL, &e));
	T_OK(aq_seal_commit(&s, &e));
	T_CHECK(exists(final));
}

static void test_seal_and_check(void)
{
	struct aq_err e = {0};
	struct aq_manifest m;
	char d[256], p[300];
	make_sealed("s1", "one");
	snprintf(d, sizeof d, "%s/s1", root);
	T_OK(aq_manifest_check(d, "test", AQ_MANIFEST_DEEP, &m, &e));
	T_EQ_INT(m.nfiles, 2);
	T_CHECK(m.nfiles == 2 && strcmp(m.files[0].path, "a/one.txt") == 0 && strcmp(m.files[1].path, "b.txt") == 0);
	T_EQ_INT(m.accounts, 2);
	T_EQ_INT(m.rows, 3);
	aq_manifest_release(&m);
	T_EQ_INT(aq_manifest_check(d, "models", 0, NULL, &e), AQ_EFORMAT);
	T_CHECK(strstr(e.msg, "sealed as 'test'") != NULL);

	/* same size, other bytes: only the deep check sees it */
	snprintf(p, sizeof p, "%s/a/one.txt", d);
	aq_fs_write_atomic(p, "ONE", 3, &e);
	T_OK(aq_manifest_check(d, NULL, 0, NULL, &e));
	T_EQ_INT(aq_manifest_check(d, NULL, AQ_MANIFEST_DEEP, NULL, &e), AQ_EFORMAT);
	T_CHECK(strstr(e.msg, "SHA-256") != NULL);
	aq_fs_write_atomic(p, "longer", 6, &e);
	T_EQ_INT(aq_manifest_check(d, NULL, 0, NULL, &e), AQ_EFORMAT);
	T_CHECK(strstr(e.msg, "manifest says") != NULL);
	unlink(p);
	T_EQ_INT(aq_manifest_check(d, NULL, 0, NULL, &e), AQ_EFORMAT);
	T_CHECK(strstr(e.msg, "missing") != NULL);
	aq_fs_write_atomic(p, "one", 3, &e);
	put(d, "a/extra.txt", "x");
	T_EQ_INT(aq_manifest_check(d, NULL, 0, NULL, &e), AQ_EFORMAT);
	T_CHECK(strstr(e.msg, "does not list") != NULL);
	snprintf(p, sizeof p, "%s/a/extra.txt", d);
	unlink(p);
	T_OK(aq_manifest_check(d, NULL, AQ_MANIFEST_DEEP, NULL, &e));
	snprintf(p, sizeof p, "%s/%s", d, AQ_MANIFEST_NAME);
	unlink(p);
	T_EQ_INT(aq_manifest_check(d, NULL, 0, NULL, &e), AQ_ESTATE);
	T_CHECK(strstr(e.msg, "not sealed") != NULL);
	aq_fs_write_atomic(p, "{\"format\":", 10, &e);
	T_EQ_INT(aq_manifest_check(d, NULL, 0, NULL, &e), AQ_EFORMAT);
	T_EQ_INT(aq_manifest_check("/nonexistent/x", NULL, 0, NULL, &e), AQ_ENOTFOUND);
}

static void test_refuse_abort_force(void)
{
	struct aq_err e = {0};
	struct aq_seal s;
	char d[256];
	make_sealed("s2", "first");
	snprintf(d, sizeof d, "%s/s2", root);
	T_EQ_INT(aq_seal_begin(&s, d, 0, &e), AQ_ESTATE);
	T_CHECK(strstr(e.msg, "exists already") != NULL);

	/* abort leaves nothing */
	T_OK(aq_seal_begin(&s, d, 1, &e));
	char tmp[300];
	snprintf(tmp, sizeof tmp, "%s", s.tmp);
	put(s.tmp, "half.txt", "half");
	aq_seal_abort(&s);
	T_CHECK(!exists(tmp));
	struct aq_manifest m;
	T_OK(aq_manifest_check(d, NULL, AQ_MANIFEST_DEEP, &m, &e));
	aq_manifest_release(&m);

	/* force swaps the new directory in and removes the old one */
	T_OK(aq_seal_begin(&s, d, 1, &e));
	put(s.tmp, "new.txt", "new");
	T_OK(aq_manifest_write(s.tmp, "test", 1, 1, NULL, &e));
	T_OK(aq_seal_commit(&s, &e));
	T_OK(aq_manifest_check(d, NULL, AQ_MANIFEST_DEEP, &m, &e));
	T_CHECK(m.nfiles == 1 && strcmp(m.files[0].path, "new.txt") == 0);
	aq_manifest_release(&m);
	T_CHECK(!exists(tmp));

	/* a dead run's temporary is swept by the next begin; a live one's is kept */
	char stale[300], live[300];
	snprintf(stale, sizeof stale, "%s/.s3.tmp.999999999", root);
	snprintf(live, sizeof live, "%s/.s3.tmp.%ld", root, (long)getppid());
	mkdir(stale, 0777);
	mkdir(live, 0777);
	snprintf(d, sizeof d, "%s/s3", root);
	T_OK(aq_seal_begin(&s, d, 0, &e));
	T_CHECK(!exists(stale));
	T_CHECK(exists(live));
	aq_seal_abort(&s);
	rmdir(live);
}

int main(void)
{
	snprintf(root, sizeof root, "/tmp/aq-manifest-XXXXXX");
	if (!mkdtemp(root))
		return 1;
	T_RUN(test_seal_and_check);
	T_RUN(test_refuse_abort_force);
	struct aq_err e = {0};
	aq_fs_remove_tree(root, &e);
	T_DONE();
}
