/* trainparts.c — staging of part-range training runs and the seal that makes one model set of them. */
#include "trainparts.h"

#include <dirent.h>
#include <errno.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dataset.h"
#include "fs.h"
#include "manifest.h"

/* counters of the ranges' manifests summed into the model set's */
static const char *const count_keys[] = {"accounts", "ok",       "fallback", "failed",  "carried",
					 "searched", "refitted", "updated",  "readings"};
#define NCOUNT ((int)(sizeof count_keys / sizeof count_keys[0]))

static char *staging_root(const char *out_root)
{
	char *a = strdup(out_root), *b = strdup(out_root);
	char *out = NULL;
	if (a && b) {
		char name[512];
		snprintf(name, sizeof name, ".%s.parts", basename(b));
		out = aq_path_join(dirname(a), name);
	}
	free(a);
	free(b);
	return out;
}

char *aq_trainparts_dir(const char *out_root, int lo, int hi)
{
	char *root = staging_root(out_root);
	char name[32];
	snprintf(name, sizeof name, "p%04d-%04d", lo, hi);
	char *dir = root ? aq_path_join(root, name) : NULL;
	free(root);
	return dir;
}

struct range {
	int lo, hi;
	char *dir;
	struct aq_manifest m;
};

struct ranges {
	struct range *r;
	size_t n;
	int parts;
};

static void ranges_release(struct ranges *rs)
{
	for (size_t i = 0; i < rs->n; i++) {
		free(rs->r[i].dir);
		aq_manifest_release(&rs->r[i].m);
	}
	free(rs->r);
	memset(rs, 0, sizeof *rs);
}

/* One sealed range directory: its manifest, and the dataset's P. */
static int load_range(const char *dir, struct range *r, int *parts, struct aq_err *e)
{
	aq_manifest_init(&r->m);
	int rc = aq_manifest_check(dir, AQ_TRAINPARTS_KIND, 0, &r->m, e);
	if (rc)
		return rc;
	json_int_t lo = -1, hi = -1;
	if (json_unpack(r->m.meta, "{s:I,s:I}", "part_lo", &lo, "part_hi", &hi) || lo < 0 || hi < lo)
		return aq_err_set(e, AQ_EFORMAT, "'%s': its manifest does not say which parts it holds", dir);
	struct aq_dataset ds;
	if ((rc = aq_dataset_open(&ds, dir, e)))
		return rc;
	*parts = ds.parts;
	aq_dataset_release(&ds);
	r->lo = (int)lo;
	r->hi = (int)hi;
	r->dir = strdup(dir);
	return r->dir ? 0 : aq_err_set(e, AQ_ENOMEM, "out of memory");
}

static int cmp_range(const void *a, const void *b)
{
	const struct range *x = a, *y = b;
	return (x->lo > y->lo) - (x->lo < y->lo);
}

/* Every sealed range in the staging area (dot-named temporaries of running tasks are skipped). */
static int list_ranges(const char *staging, struct ranges *rs, struct aq_err *e)
{
	memset(rs, 0, sizeof *rs);
	DIR *d = opendir(staging);
	if (!d)
		return errno == ENOENT ? aq_err_set(e, AQ_ENOTFOUND, "no part of run '%s' has been trained", staging)
				       : aq_err_sys(e, "cannot open directory '%s'", staging);
	int rc = 0;
	struct dirent *de;
	while (!rc && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		struct range *nr = realloc(rs->r, (rs->n + 1) * sizeof *nr);
		char *dir = aq_path_join(staging, de->d_name);
		int parts = 0;
		if (!nr || !dir) {
			if (nr)
				rs->r = nr;
			free(dir);
			rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
			break;
		}
		rs->r = nr;
		memset(&rs->r[rs->n], 0, sizeof rs->r[rs->n]);
		rc = load_range(dir, &rs->r[rs->n], &parts, e);
		rs->n++;
		if (!rc && rs->parts && parts != rs->parts)
			rc = aq_err_set(e, AQ_EFORMAT, "'%s' has %d parts, other ranges %d", dir, parts, rs->parts);
		rs->parts = parts;
		free(dir);
	}
	closedir(d);
	if (!rc)
		qsort(rs->r, rs->n, sizeof *rs->r, cmp_range);
	return rc;
}

static const char *meta_str(const struct aq_manifest *m, const char *key)
{
	const char *s = json_string_value(json_object_get(m->meta, key));
	return s ? s : "";
}

/* The ranges cover 0..P-1 exactly once and come from one run (same mode, readings and previous set). */
static int check_cover(const char *out_root, const struct ranges *rs, struct aq_err *e)
{
	int next = 0;
	for (size_t i = 0; i < rs->n; i++) {
		const struct range *r = &rs->r[i];
		if (r->lo < next)
			return aq_err_set(e, AQ_EFORMAT, "run '%s': ranges %d-%d and %d-%d overlap", out_root,
					  rs->r[i - 1].lo, rs->r[i - 1].hi, r->lo, r->hi);
		if (r->lo > next)
			return aq_err_set(e, AQ_ESTATE, "run '%s' lacks parts %d-%d: not every range is trained yet",
					  out_root, next, r->lo - 1);
		next = r->hi + 1;
		static const char *const same[] = {"mode", "readings_dataset", "prev"};
		for (int k = 0; k < 3; k++)
			if (strcmp(meta_str(&r->m, same[k]), meta_str(&rs->r[0].m, same[k])) != 0)
				return aq_err_set(e, AQ_EFORMAT, "run '%s': range %d-%d has %s '%s', range %d-%d '%s'",
						  out_root, r->lo, r->hi, same[k], meta_str(&r->m, same[k]),
						  rs->r[0].lo, rs->r[0].hi, meta_str(&rs->r[0].m, same[k]));
	}
	if (next != rs->parts)
		return aq_err_set(e, AQ_ESTATE, "run '%s' lacks parts %d-%d: not every range is trained yet", out_root,
				  next, rs->parts - 1);
	return 0;
}

/* Hard-link a range's files of its parts into the new set (the staging area stays whole until the seal). */
static int link_range(const struct range *r, const char *tmp, struct aq_err *e)
{
	int rc = 0;
	for (size_t i = 0; !rc && i < r->m.nfiles; i++) {
		const char *rel = r->m.files[i].path;
		if (strncmp(rel, "models/", 7) != 0)
			continue;
		char *src = aq_path_join(r->dir, rel), *dst = aq_path_join(tmp, rel);
		char *ddir = dst ? strdup(dst) : NULL;
		if (!src || !dst || !ddir)
			rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		else if (!(rc = aq_fs_mkdir_p(dirname(ddir), e)) && link(src, dst) < 0)
			rc = aq_err_sys(e, "cannot link '%s' to '%s'", src, dst);
		free(src);
		free(dst);
		free(ddir);
	}
	return rc;
}

static json_t *merged_meta(const struct ranges *rs, json_int_t *accounts)
{
	json_t *meta = json_pack("{s:s,s:s,s:s,s:O?}", "job", "train", "mode", meta_str(&rs->r[0].m, "mode"),
				 "readings_dataset", meta_str(&rs->r[0].m, "readings_dataset"), "prev",
				 json_object_get(rs->r[0].m.meta, "prev"));
	json_t *list = json_array();
	for (int k = 0; k < NCOUNT; k++) {
		json_int_t sum = 0;
		for (size_t i = 0; i < rs->n; i++)
			sum += json_integer_value(json_object_get(rs->r[i].m.meta, count_keys[k]));
		json_object_set_new(meta, count_keys[k], json_integer(sum));
		if (k == 0)
			*accounts = sum;
	}
	for (size_t i = 0; i < rs->n; i++)
		json_array_append_new(list, json_pack("[i,i]", rs->r[i].lo, rs->r[i].hi));
	json_object_set_new(meta, "ranges", list);
	return meta;
}

static int assemble(const char *out_root, const struct ranges *rs, json_t *meta, json_int_t accounts,
		    struct aq_err *e)
{
	struct aq_seal seal;
	int rc = aq_seal_begin(&seal, out_root, 0, e);
	if (rc)
		return rc;
	struct aq_dataset ds;
	if (!(rc = aq_dataset_create(&ds, seal.tmp, "models", rs->parts, e)))
		aq_dataset_release(&ds);
	for (size_t i = 0; !rc && i < rs->n; i++)
		rc = link_range(&rs->r[i], seal.tmp, e);
	if (!rc)
		rc = aq_manifest_write(seal.tmp, "models", (uint64_t)accounts, (uint64_t)accounts, meta, e);
	if (rc) {
		aq_seal_abort(&seal);
		return rc;
	}
	return aq_seal_commit(&seal, e);
}

int aq_trainparts_seal(const char *out_root, json_t **summary, struct aq_err *e)
{
	*summary = NULL;
	char *staging = staging_root(out_root);
	if (!staging)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	struct stat sb;
	int rc = 0;
	if (stat(staging, &sb) < 0 && aq_manifest_check(out_root, "models", 0, NULL, NULL) == 0) {
		*summary = json_pack("{s:s,s:b}", "out", out_root, "already_sealed", 1);
		free(staging);
		return 0;
	}
	struct ranges rs;
	json_int_t accounts = 0;
	json_t *meta = NULL;
	if (!(rc = list_ranges(staging, &rs, e)) && !(rc = check_cover(out_root, &rs, e))) {
		meta = merged_meta(&rs, &accounts);
		rc = meta ? assemble(out_root, &rs, meta, accounts, e) : aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	if (!rc) {
		aq_fs_remove_tree(staging, NULL);
		json_object_set_new(meta, "out", json_string(out_root));
		json_object_set_new(meta, "parts", json_integer(rs.parts));
		json_object_set_new(meta, "already_sealed", json_false());
		*summary = json_incref(meta);
	}
	json_decref(meta);
	ranges_release(&rs);
	free(staging);
	return rc;
}
