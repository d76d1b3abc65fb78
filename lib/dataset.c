/* dataset.c — the layout of a partitioned dataset: _dataset.json, parts, batch names and keys, listing a part. */
#include "dataset.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "hash.h"

#define DATASET_JSON "_dataset.json"
#define KEY_DIGITS 20

int aq_part_of(int64_t account, int parts)
{
	if (parts <= 1)
		return 0;
	return (int)(aq_mix64((uint64_t)account) % (uint64_t)parts);
}

/* A dataset kind or batch label: letters, digits, '_', '-' (and '.' in labels), not empty, no leading '.'. */
static int name_ok(const char *s, int allow_dot)
{
	if (!s || !*s || *s == '.' || strlen(s) > 100)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') || *s == '_' ||
		      *s == '-' || (allow_dot && *s == '.')))
			return 0;
	return 1;
}

void aq_dataset_release(struct aq_dataset *ds)
{
	free(ds->root);
	free(ds->kind);
	memset(ds, 0, sizeof(*ds));
}

static int dataset_load(struct aq_dataset *ds, const char *root, struct aq_err *e)
{
	char *path = aq_path_join(root, DATASET_JSON), *buf = NULL;
	json_error_t je;
	json_t *j = NULL, *v;
	size_t len;
	int rc;

	memset(ds, 0, sizeof(*ds));
	if (!path)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (access(path, F_OK) < 0 && errno == ENOENT) {
		rc = aq_err_set(e, AQ_ENOTFOUND, "'%s' is not a dataset (no %s)", root, DATASET_JSON);
		goto out;
	}
	if ((rc = aq_fs_read_all(path, &buf, &len, e)))
		goto out;
	j = json_loadb(buf, len, 0, &je);
	if (!j || !json_is_object(j)) {
		rc = aq_err_set(e, AQ_EFORMAT, "'%s': not a JSON object: %s", path, j ? "" : je.text);
		goto out;
	}
	v = json_object_get(j, "format");
	if (!json_is_string(v) || strcmp(json_string_value(v), "aquacast.dataset")) {
		rc = aq_err_set(e, AQ_EFORMAT, "'%s': \"format\" is not \"aquacast.dataset\"", path);
		goto out;
	}
	v = json_object_get(j, "version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		rc = aq_err_set(e, AQ_EUNSUPPORTED, "'%s': dataset version %lld is not supported (1 only)", path,
				json_is_integer(v) ? (long long)json_integer_value(v) : -1LL);
		goto out;
	}
	v = json_object_get(j, "kind");
	if (!json_is_string(v) || !name_ok(json_string_value(v), 0)) {
		rc = aq_err_set(e, AQ_EFORMAT, "'%s': bad \"kind\"", path);
		goto out;
	}
	ds->kind = strdup(json_string_value(v));
	v = json_object_get(j, "parts");
	if (!json_is_integer(v) || json_integer_value(v) < 1 || json_integer_value(v) > AQ_DATASET_MAX_PARTS) {
		rc = aq_err_set(e, AQ_EFORMAT, "'%s': \"parts\" must be 1..%d", path, AQ_DATASET_MAX_PARTS);
		goto out;
	}
	ds->parts = (int)json_integer_value(v);
	ds->root = strdup(root);
	if (!ds->root || !ds->kind)
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
out:
	json_decref(j);
	free(buf);
	free(path);
	if (rc)
		aq_dataset_release(ds);
	return rc;
}

int aq_dataset_open(struct aq_dataset *ds, const char *root, struct aq_err *e)
{
	return dataset_load(ds, root, e);
}

/* _dataset.json and the kind's directory inside dir. */
static int write_skeleton(const char *dir, const char *kind, int parts, struct aq_err *e)
{
	char *txt = NULL, *path = aq_path_join(dir, DATASET_JSON), *kdir = aq_path_join(dir, kind), when[32];
	time_t now = time(NULL);
	struct tm tm;
	int rc;

	if (!kdir || !path) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = aq_fs_mkdir_p(kdir, e)))
		goto out;
	gmtime_r(&now, &tm);
	strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
	/* one key and value a line */
	/* clang-format off */
	json_t *j = json_pack("{s:s, s:i, s:s, s:i, s:s, s:s, s:s, s:s}", "format", "aquacast.dataset", "version", 1,
		      "kind", kind, "parts", parts, "partition_key", "AccountOID",
		      "hash", "splitmix64 finaliser of the 64-bit id, mod parts",
		      "layout", "<kind>/part=NNN/<20-digit key>-<label>[.<seq>].parquet", "created", when);
	/* clang-format on */
	txt = j ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
	json_decref(j);
	if (!txt) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto out;
	}
	size_t l = strlen(txt);
	char *t2 = realloc(txt, l + 2);
	if (!t2) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto out;
	}
	txt = t2;
	txt[l] = '\n';
	txt[l + 1] = '\0';
	rc = aq_fs_write_atomic(path, txt, strlen(txt), e);
out:
	free(txt);
	free(path);
	free(kdir);
	return rc;
}

/*
 * A new root appears whole: the skeleton is written into ".<name>.tmp.<pid>"
 * beside it and renamed into place (never over a root another process made
 * meanwhile: then that one is opened). *raced = 1 in that case.
 */
static int create_new_root(const char *root, const char *kind, int parts, int *raced, struct aq_err *e)
{
	char *a = strdup(root), *b = strdup(root), *parent = NULL, *tmp = NULL, name[512];
	int rc = 0;

	*raced = 0;
	if (!a || !b) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto out;
	}
	parent = strdup(dirname(a));
	snprintf(name, sizeof name, ".%s.tmp.%ld", basename(b), (long)getpid());
	tmp = parent ? aq_path_join(parent, name) : NULL;
	if (!tmp) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto out;
	}
	if ((rc = aq_fs_mkdir_p(parent, e)) || (rc = aq_fs_remove_tree(tmp, e)) ||
	    (rc = write_skeleton(tmp, kind, parts, e)) || (rc = aq_fs_fsync_dir(tmp, e)))
		goto out;
	if (renameat2(AT_FDCWD, tmp, AT_FDCWD, root, RENAME_NOREPLACE) < 0) {
		if (errno != EEXIST && errno != ENOTEMPTY) {
			rc = aq_err_sys(e, "cannot rename '%s' to '%s'", tmp, root);
			goto out;
		}
		*raced = 1;
	} else
		rc = aq_fs_fsync_dir(parent, e);
out:
	if (tmp)
		aq_fs_remove_tree(tmp, NULL);
	free(a);
	free(b);
	free(parent);
	free(tmp);
	return rc;
}

int aq_dataset_create(struct aq_dataset *ds, const char *root, const char *kind, int parts, struct aq_err *e)
{
	struct aq_err e2;
	struct stat sb;
	int rc, raced = 0;

	memset(ds, 0, sizeof(*ds));
	if (!name_ok(kind, 0))
		return aq_err_set(e, AQ_EINVAL, "bad dataset kind '%s' (letters, digits, '_', '-')", kind ? kind : "");
	if (parts < 1 || parts > AQ_DATASET_MAX_PARTS)
		return aq_err_set(e, AQ_EINVAL, "dataset parts must be 1..%d, not %d", AQ_DATASET_MAX_PARTS, parts);
	rc = dataset_load(ds, root, &e2);
	if (rc == 0) {
		if (strcmp(ds->kind, kind) || ds->parts != parts) {
			rc = aq_err_set(e, AQ_ESTATE,
					"'%s' exists as a dataset of kind '%s' with %d parts, not '%s' with %d", root,
					ds->kind, ds->parts, kind, parts);
			aq_dataset_release(ds);
			return rc;
		}
		return 0;
	}
	if (rc != AQ_ENOTFOUND) {
		if (e)
			*e = e2;
		return rc;
	}
	/* an existing directory without _dataset.json (e.g. a sealed run's temporary) is filled in place */
	if (stat(root, &sb) == 0)
		rc = write_skeleton(root, kind, parts, e);
	else
		rc = create_new_root(root, kind, parts, &raced, e);
	if (rc)
		return rc;
	if (raced)
		return aq_dataset_create(ds, root, kind, parts, e);
	if ((rc = dataset_load(ds, root, e)) == 0)
		ds->created = 1;
	return rc;
}

int aq_dataset_discard_unused(struct aq_dataset *ds)
{
	if (!ds->created || !ds->root)
		return 0;
	for (int p = 0; p < ds->parts; p++) {
		char **files;
		int n;
		if (aq_dataset_list_part(ds, p, &files, &n, NULL))
			return 0;
		aq_paths_free(files, n);
		if (n)
			return 0;
	}
	char *state = aq_path_join(ds->root, "_state");
	DIR *d = state ? opendir(state) : NULL;
	int used = 0;
	struct dirent *de;
	while (d && (de = readdir(d))) {
		size_t l = strlen(de->d_name);
		/* a writer's lock file is no state: only watermarks and checkpoints are */
		used |= de->d_name[0] != '.' && !(l > 5 && strcmp(de->d_name + l - 5, ".lock") == 0);
	}
	if (d)
		closedir(d);
	free(state);
	if (used)
		return 0;
	return aq_fs_remove_tree(ds->root, NULL) == 0;
}

char *aq_dataset_part_dir(const struct aq_dataset *ds, int part)
{
	size_t n = strlen(ds->root) + strlen(ds->kind) + 32;
	char *p = malloc(n);

	if (p)
		snprintf(p, n, "%s%s%s/part=%03d", ds->root,
			 ds->root[0] && ds->root[strlen(ds->root) - 1] == '/' ? "" : "/", ds->kind, part);
	return p;
}

char *aq_dataset_batch_path(const struct aq_dataset *ds, int part, uint64_t key, const char *label)
{
	char *dir = aq_dataset_part_dir(ds, part), *p;
	size_t n;

	if (!dir)
		return NULL;
	n = strlen(dir) + strlen(label) + 48;
	p = malloc(n);
	if (p)
		snprintf(p, n, "%s/%020" PRIu64 "-%s.parquet", dir, key, label);
	free(dir);
	return p;
}

int aq_dataset_label_ok(const char *label)
{
	return name_ok(label, 1);
}

/* A batch file name: 20 digits, '-', a label, ".parquet"; never a dot-file. */
int aq_dataset_batch_key(const char *s, uint64_t *key)
{
	size_t l = strlen(s);
	uint64_t k = 0;

	if (l < KEY_DIGITS + 1 + 1 + 8 || s[KEY_DIGITS] != '-' || strcmp(s + l - 8, ".parquet"))
		return 0;
	for (int i = 0; i < KEY_DIGITS; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
		if (k > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return 0;
		k = k * 10 + (uint64_t)(s[i] - '0');
	}
	if (key)
		*key = k;
	return 1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void aq_paths_free(char **paths, int n)
{
	if (!paths)
		return;
	for (int i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
}

int aq_dataset_list_part(const struct aq_dataset *ds, int part, char ***paths, int *n, struct aq_err *e)
{
	char *dir, **v = NULL;
	int cnt = 0, cap = 0, rc = 0;
	DIR *d;
	struct dirent *de;

	*paths = NULL;
	*n = 0;
	if (part < 0 || part >= ds->parts)
		return aq_err_set(e, AQ_EINVAL, "'%s': no part %d (parts 0..%d)", ds->root, part, ds->parts - 1);
	if (!(dir = aq_dataset_part_dir(ds, part)))
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	d = opendir(dir);
	if (!d) {
		if (errno != ENOENT)
			rc = aq_err_sys(e, "cannot list '%s'", dir);
		free(dir);
		return rc;
	}
	while ((de = readdir(d))) {
		char *p;

		if (de->d_name[0] == '.' || !aq_dataset_batch_key(de->d_name, NULL))
			continue;
		if (cnt == cap) {
			int nc = cap ? cap * 2 : 16;
			char **nv = realloc(v, (size_t)nc * sizeof(*nv));

			if (!nv) {
				rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
				break;
			}
			v = nv;
			cap = nc;
		}
		if (!(p = aq_path_join(dir, de->d_name))) {
			rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
			break;
		}
		v[cnt++] = p;
	}
	closedir(d);
	free(dir);
	if (rc) {
		aq_paths_free(v, cnt);
		return rc;
	}
	if (cnt)
		qsort(v, (size_t)cnt, sizeof(*v), cmp_str);
	*paths = v;
	*n = cnt;
	return 0;
}

uint64_t aq_dataset_next_key(const struct aq_dataset *ds)
{
	static _Atomic uint64_t last_issued;
	struct timespec ts;
	uint64_t key, maxk = 0, prev;

	clock_gettime(CLOCK_REALTIME, &ts);
	key = (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
	for (int p = 0; p < ds->parts; p++) {
		char *dir = aq_dataset_part_dir(ds, p);
		DIR *d = dir ? opendir(dir) : NULL;
		struct dirent *de;

		free(dir);
		if (!d)
			continue;
		while ((de = readdir(d))) {
			uint64_t k;

			if (de->d_name[0] != '.' && aq_dataset_batch_key(de->d_name, &k) && k > maxk)
				maxk = k;
		}
		closedir(d);
	}
	if (maxk >= key)
		key = maxk + 1;
	/* also strictly after any key this process handed out */
	prev = atomic_load(&last_issued);
	do {
		if (key <= prev)
			key = prev + 1;
	} while (!atomic_compare_exchange_weak(&last_issued, &prev, key));
	return key;
}
