/* inspect.c — integrity checks and summaries of shard files and datasets. */
#include "inspect.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "manifest.h"
#include "merge.h"
#include "parquet.h"

static int has_readings_schema(struct aq_pq_reader *r)
{
	return aq_pq_reader_expect(r, &aq_readings_schema, NULL) == 0;
}

static int check_readings(const char *path, const struct aq_dataset *ds, int part, struct aq_err *e)
{
	struct aq_readings rd;
	int rc;

	aq_readings_init(&rd);
	rc = aq_readings_read_file(path, &rd, e);
	for (size_t i = 0; !rc && i < rd.n; i++) {
		if (i && !(rd.account[i - 1] < rd.account[i] ||
			   (rd.account[i - 1] == rd.account[i] && rd.date[i - 1] < rd.date[i])))
			rc = aq_err_set(e, AQ_EFORMAT,
					"row %zu: (%" PRId64 ", %d) does not follow (%" PRId64 ", %d): not sorted by "
					"(AccountOID, ConsumptionDate) or a duplicate",
					i, rd.account[i], rd.date[i], rd.account[i - 1], rd.date[i - 1]);
		else if (ds && (i == 0 || rd.account[i] != rd.account[i - 1]) && aq_part_of(rd.account[i], ds->parts) != part)
			rc = aq_err_set(e, AQ_EFORMAT, "AccountOID %" PRId64 " belongs to part %d, found in part %d",
					rd.account[i], aq_part_of(rd.account[i], ds->parts), part);
	}
	aq_readings_release(&rd);
	return rc;
}

/* Files of other schemas in a dataset: an INT64 AccountOID column must respect the partitioning. */
static int check_partition(struct aq_pq_reader *r, const struct aq_dataset *ds, int part, struct aq_err *e)
{
	int col = aq_pq_reader_col(r, "AccountOID"), rc = 0;

	if (col < 0 || r->cols[col].type != AQ_PQ_INT64)
		return 0;
	for (int g = 0; g < r->nrow_groups && !rc; g++) {
		size_t n = (size_t)aq_pq_reader_rg_rows(r, g);
		int64_t *a = malloc(n * sizeof(*a) + 1);

		if (!a)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		rc = aq_pq_reader_read(r, g, col, a, e);
		for (size_t i = 0; !rc && i < n; i++)
			if (aq_part_of(a[i], ds->parts) != part)
				rc = aq_err_set(e, AQ_EFORMAT, "AccountOID %" PRId64 " belongs to part %d, found in part %d",
						a[i], aq_part_of(a[i], ds->parts), part);
		free(a);
	}
	return rc;
}

int aq_verify_file(const char *path, const struct aq_dataset *ds, int part, struct aq_verify_info *info,
		   struct aq_err *e)
{
	struct aq_pq_reader r;
	int rc, readings;

	if ((rc = aq_pq_reader_open(&r, path, e)))
		return rc;
	if ((rc = aq_pq_reader_verify(&r, e)))
		goto out;
	/* Foreign writers may omit page CRCs; ours never do, so a missing one means damage. */
	if (r.created_by && !strncmp(r.created_by, "aquacast", 8) && r.pages_crc < r.pages) {
		rc = aq_err_set(e, AQ_EFORMAT, "%" PRIu64 " of %" PRIu64 " pages without a CRC (aquacast writes one on every page)",
				r.pages - r.pages_crc, r.pages);
		goto out;
	}
	readings = has_readings_schema(&r);
	if (ds && !strcmp(ds->kind, "readings") && !readings) {
		rc = aq_pq_reader_expect(&r, &aq_readings_schema, e);
		goto out;
	}
	rc = readings ? check_readings(path, ds, part, e) : ds ? check_partition(&r, ds, part, e) : 0;
	if (!rc) {
		info->rows = r.nrows;
		info->pages = r.pages;
		info->pages_crc = r.pages_crc;
		info->row_groups = r.nrow_groups;
		info->readings = readings;
	}
out:
	aq_pq_reader_release(&r);
	return rc;
}

int aq_dataset_count_tmp(const struct aq_dataset *ds, int part)
{
	char *dir = aq_dataset_part_dir(ds, part);
	DIR *d = dir ? opendir(dir) : NULL;
	struct dirent *de;
	int n = 0;

	while (d && (de = readdir(d)))
		n += de->d_name[0] == '.' && strstr(de->d_name, ".tmp.") != NULL;
	if (d)
		closedir(d);
	free(dir);
	return n;
}

void aq_readings_stats_add(struct aq_readings_stats *s, struct aq_readings *rd, int sorted)
{
	if (!sorted)
		aq_readings_sort(rd);
	for (size_t i = 0; i < rd->n; i++) {
		s->accounts += !i || rd->account[i] != rd->account[i - 1];
		s->nan += rd->value[i] != rd->value[i];
		if (!s->rows && !i) {
			s->date_min = s->date_max = rd->date[i];
		} else {
			s->date_min = rd->date[i] < s->date_min ? rd->date[i] : s->date_min;
			s->date_max = rd->date[i] > s->date_max ? rd->date[i] : s->date_max;
		}
	}
	s->rows += rd->n;
}

static uint64_t file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (uint64_t)st.st_size : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return (x > y) - (x < y);
}

/* Batch files are named "<key>-<label>.parquet": the key is the batch, shared by its parts. */
static int add_key(uint64_t **keys, size_t *n, size_t *cap, const char *path, struct aq_err *e)
{
	const char *base = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;

	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 256;
		uint64_t *nk = realloc(*keys, nc * sizeof(*nk));

		if (!nk)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		*keys = nk;
		*cap = nc;
	}
	(*keys)[(*n)++] = strtoull(base, NULL, 10);
	return 0;
}

int aq_dataset_summarize(const struct aq_dataset *ds, struct aq_dataset_summary *out, struct aq_err *e)
{
	struct aq_readings rd;
	uint64_t *keys = NULL;
	size_t nkeys = 0, capk = 0;
	int readings = !strcmp(ds->kind, "readings"), rc = 0;

	memset(out, 0, sizeof(*out));
	aq_readings_init(&rd);
	for (int p = 0; p < ds->parts && !rc; p++) {
		char **paths;
		int n;

		if ((rc = aq_dataset_list_part(ds, p, &paths, &n, e)))
			break;
		out->parts_with_data += n > 0;
		for (int i = 0; i < n && !rc; i++) {
			out->files++;
			out->bytes += file_size(paths[i]);
			rc = add_key(&keys, &nkeys, &capk, paths[i], e);
			if (!rc && !readings) {
				struct aq_pq_reader r;

				if (!(rc = aq_pq_reader_open(&r, paths[i], e))) {
					out->rows_files += r.nrows;
					aq_pq_reader_release(&r);
				}
			}
		}
		aq_paths_free(paths, n);
		if (!rc && readings && n && !(rc = aq_dataset_read_part(ds, p, &rd, e)))
			aq_readings_stats_add(&out->rs, &rd, 1);
	}
	aq_readings_release(&rd);
	if (!rc && nkeys) {
		qsort(keys, nkeys, sizeof(*keys), cmp_u64);
		for (size_t i = 0; i < nkeys; i++)
			out->batches += !i || keys[i] != keys[i - 1];
	}
	free(keys);
	return rc;
}

int aq_verify_seal(const char *dir, int *sealed, uint64_t *files, struct aq_err *e)
{
	*sealed = 0;
	*files = 0;
	char *mpath = aq_path_join(dir, AQ_MANIFEST_NAME);
	if (!mpath)
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	struct stat sb;
	int has_manifest = stat(mpath, &sb) == 0;
	free(mpath);
	if (!has_manifest) {
		struct aq_dataset ds;
		struct aq_err e2 = {0};
		int rc = aq_dataset_open(&ds, dir, &e2);
		int readings = rc == 0 && strcmp(ds.kind, "readings") == 0;
		if (rc == 0)
			aq_dataset_release(&ds);
		if (readings)
			return 0;
		return aq_err_set(e, AQ_ESTATE, "'%s' is not sealed (no %s): an unfinished or interrupted run", dir,
				  AQ_MANIFEST_NAME);
	}
	struct aq_manifest m;
	int rc = aq_manifest_check(dir, NULL, AQ_MANIFEST_DEEP, &m, e);
	if (rc)
		return rc;
	*sealed = 1;
	*files = m.nfiles;
	aq_manifest_release(&m);
	return 0;
}

/* ---- probes ---- */

static void probe_file(const struct aq_pq_reader *r, struct aq_readings_probe *p)
{
	int col = aq_pq_reader_col(r, "ConsumptionDate");

	p->files++;
	for (int g = 0; g < r->nrow_groups; g++) {
		double lo, hi;
		uint64_t n = aq_pq_reader_rg_rows(r, g);

		if (!n)
			continue;
		if (col >= 0 && !aq_pq_reader_stats(r, g, col, &lo, &hi)) {
			if (!p->rows || (int32_t)lo < p->date_min)
				p->date_min = (int32_t)lo;
			if (!p->rows || (int32_t)hi > p->date_max)
				p->date_max = (int32_t)hi;
		}
		p->rows += n;
	}
}

int aq_readings_probe(const struct aq_dataset *ds, struct aq_readings_probe *p, struct aq_err *e)
{
	int rc = 0;

	memset(p, 0, sizeof(*p));
	for (int part = 0; part < ds->parts && !rc; part++) {
		char **paths = NULL;
		int n = 0;

		if ((rc = aq_dataset_list_part(ds, part, &paths, &n, e)))
			break;
		for (int i = 0; i < n && !rc; i++) {
			struct aq_pq_reader r;

			if (!(rc = aq_pq_reader_open(&r, paths[i], e))) {
				probe_file(&r, p);
				aq_pq_reader_release(&r);
			}
		}
		aq_paths_free(paths, n);
	}
	return rc;
}

/* Row group g of r holds account a (its statistics cover a, then a scan of the column: sorted is not assumed). */
static int rg_has_account(struct aq_pq_reader *r, int g, int col, int64_t a, int *found, struct aq_err *e)
{
	uint64_t n = aq_pq_reader_rg_rows(r, g);
	double lo, hi;
	int64_t *v;
	int rc;

	if (!n || (!aq_pq_reader_stats(r, g, col, &lo, &hi) && ((double)a < lo || (double)a > hi)))
		return 0;
	if (!(v = malloc(n * sizeof(*v))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (!(rc = aq_pq_reader_read(r, g, col, v, e)))
		for (uint64_t i = 0; i < n && !*found; i++)
			*found = v[i] == a;
	free(v);
	return rc;
}

static int file_has_account(const char *path, int64_t a, int *found, struct aq_err *e)
{
	struct aq_pq_reader r;
	int rc, col;

	if ((rc = aq_pq_reader_open(&r, path, e)))
		return rc;
	col = aq_pq_reader_col(&r, "AccountOID");
	if (col < 0)
		rc = aq_err_set(e, AQ_EFORMAT, "'%s' has no AccountOID column", path);
	for (int g = 0; !rc && !*found && g < r.nrow_groups; g++)
		rc = rg_has_account(&r, g, col, a, found, e);
	aq_pq_reader_release(&r);
	return rc;
}

int aq_readings_has_account(const struct aq_dataset *ds, const int64_t *acc, size_t n, int *found,
			    struct aq_err *e)
{
	int rc = 0;

	*found = 0;
	for (size_t k = 0; k < n && !rc && !*found; k++) {
		char **paths = NULL;
		int np = 0;

		if ((rc = aq_dataset_list_part(ds, aq_part_of(acc[k], ds->parts), &paths, &np, e)))
			break;
		for (int i = 0; i < np && !rc && !*found; i++)
			rc = file_has_account(paths[i], acc[k], found, e);
		aq_paths_free(paths, np);
	}
	return rc;
}
