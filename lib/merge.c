/* merge.c — a dataset part read as one sorted set, the later batch winning (k-way merge), and compaction of a part. */
#include "merge.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"

static int readings_sorted_strict(const struct aq_readings *r, size_t from)
{
	for (size_t i = from + 1; i < r->n; i++)
		if (!aq_readings_key_lt(r->account[i - 1], r->date[i - 1], r->account[i], r->date[i]))
			return 0;
	return 1;
}

/* Sort and dedup rows [from, n) of out, later rows winning. */
static int merge_tail(struct aq_readings *out, size_t from, struct aq_err *e)
{
	size_t m = out->n - from;

	if (readings_sorted_strict(out, from))
		return 0;
	if (aq_readings_sort_cols(out->date + from, out->account + from, out->value + from, m))
		return aq_err_set(e, AQ_ENOMEM, "out of memory sorting %zu readings", m);
	out->n = from + aq_readings_dedup_cols(out->date + from, out->account + from, out->value + from, m);
	return 0;
}

#define MERGE_MAX_RUNS 16

/* Decode a readings file's row groups into out's columns from row at. */
static int read_rows_at(struct aq_pq_reader *rd, struct aq_readings *out, size_t at, struct aq_err *e)
{
	int rc;

	for (int g = 0; g < rd->nrow_groups; g++) {
		if ((rc = aq_pq_reader_read(rd, g, 0, out->date + at, e)) ||
		    (rc = aq_pq_reader_read(rd, g, 1, out->account + at, e)) ||
		    (rc = aq_pq_reader_read(rd, g, 2, out->value + at, e)))
			return rc;
		at += (size_t)aq_pq_reader_rg_rows(rd, g);
	}
	return 0;
}

static int run_strict(const int32_t *d, const int64_t *a, size_t lo, size_t hi)
{
	for (size_t i = lo + 1; i < hi; i++)
		if (!aq_readings_key_lt(a[i - 1], d[i - 1], a[i], d[i]))
			return 0;
	return 1;
}

/*
 * k-way merge of k strictly sorted runs of the input columns (run j is
 * [start[j], start[j+1])) into the output columns; on a key present in
 * several runs the last run's row wins. Returns the rows written. Output and
 * input must not overlap.
 */
static size_t merge_runs(int32_t *od, int64_t *oa, double *ov, const int32_t *d, const int64_t *a, const double *v,
			 const size_t *start, int k)
{
	size_t pos[MERGE_MAX_RUNS], w = 0;

	for (int j = 0; j < k; j++)
		pos[j] = start[j];
	for (;;) {
		int best = -1, win = -1;
		int64_t ka;
		int32_t kd;

		for (int j = 0; j < k; j++)
			if (pos[j] < start[j + 1] &&
			    (best < 0 || aq_readings_key_lt(a[pos[j]], d[pos[j]], a[pos[best]], d[pos[best]])))
				best = j;
		if (best < 0)
			return w;
		ka = a[pos[best]];
		kd = d[pos[best]];
		for (int j = best; j < k; j++)
			if (pos[j] < start[j + 1] && a[pos[j]] == ka && d[pos[j]] == kd)
				win = j, pos[j]++;
		od[w] = kd;
		oa[w] = ka;
		ov[w] = v[pos[win] - 1];
		w++;
	}
}

/*
 * Append a part's rows to out, merged. One file: decoded in place (sorted
 * and deduplicated only if it is not already strictly sorted). Several: each
 * file decoded into the upper half of out's room, then k-way merged down
 * (files each strictly sorted, the usual case), or sorted and deduplicated.
 */
static int read_part_append(const struct aq_dataset *ds, int part, struct aq_readings *out, int *nfiles,
			    struct aq_err *e)
{
	struct aq_pq_reader *rd = NULL;
	size_t from = out->n, total = 0, *start = NULL;
	char **paths;
	int n, rc, nopen = 0, sorted = 1;

	if ((rc = aq_dataset_list_part(ds, part, &paths, &n, e)))
		return rc;
	if (nfiles)
		*nfiles = n;
	if (n == 0) {
		aq_paths_free(paths, n);
		return 0;
	}
	rd = calloc((size_t)n, sizeof(*rd));
	start = calloc((size_t)n + 1, sizeof(*start));
	if (!rd || !start) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto out;
	}
	for (nopen = 0; nopen < n; nopen++) {
		if ((rc = aq_pq_reader_open(&rd[nopen], paths[nopen], e)))
			goto out;
		if ((rc = aq_pq_reader_expect(&rd[nopen], &aq_readings_schema, e))) {
			nopen++;
			goto out;
		}
		start[nopen] = total;
		total += rd[nopen].nrows;
	}
	start[n] = total;
	if (n == 1) {
		if ((rc = aq_readings_reserve(out, from + total, e)) || (rc = read_rows_at(&rd[0], out, from, e)))
			goto out;
		out->n = from + total;
		rc = merge_tail(out, from, e);
		goto out;
	}
	/* decode every file above the room the merged rows need */
	if ((rc = aq_readings_reserve(out, from + 2 * total, e)))
		goto out;
	for (int i = 0; i < n; i++)
		if ((rc = read_rows_at(&rd[i], out, from + total + start[i], e)))
			goto out;
	for (int i = 0; i < n && sorted; i++)
		sorted = run_strict(out->date + from + total, out->account + from + total, start[i], start[i + 1]);
	if (sorted && n <= MERGE_MAX_RUNS) {
		out->n = from + merge_runs(out->date + from, out->account + from, out->value + from,
					   out->date + from + total, out->account + from + total,
					   out->value + from + total, start, n);
	} else {
		memmove(out->date + from, out->date + from + total, total * sizeof(*out->date));
		memmove(out->account + from, out->account + from + total, total * sizeof(*out->account));
		memmove(out->value + from, out->value + from + total, total * sizeof(*out->value));
		out->n = from + total;
		rc = merge_tail(out, from, e);
	}
out:
	for (int i = 0; i < nopen; i++)
		aq_pq_reader_release(&rd[i]);
	free(rd);
	free(start);
	aq_paths_free(paths, n);
	if (rc)
		out->n = from;
	return rc;
}

int aq_dataset_read_part(const struct aq_dataset *ds, int part, struct aq_readings *out, struct aq_err *e)
{
	out->n = 0;
	return read_part_append(ds, part, out, NULL, e);
}

int aq_dataset_read_all(const struct aq_dataset *ds, struct aq_readings *out, struct aq_err *e)
{
	int rc = 0;

	out->n = 0;
	for (int p = 0; p < ds->parts && !rc; p++)
		rc = read_part_append(ds, p, out, NULL, e);
	return rc;
}

/* One file of a part's merged rows, with the readings writer's default options. */
static int write_compact_file(const char *path, const struct aq_readings *r, struct aq_err *e)
{
	struct aq_pq_writer w;
	struct aq_pq_write_opts po = {
		.page_rows = AQ_READINGS_PAGE_ROWS,
		.row_group_rows = AQ_READINGS_ROW_GROUP_ROWS,
	};
	const void *cols[3] = { r->date, r->account, r->value };
	int rc;

	if ((rc = aq_pq_writer_open(&w, path, &aq_readings_schema, &po, e)))
		return rc;
	if ((rc = aq_pq_writer_write(&w, r->n, cols, e))) {
		aq_pq_writer_abort(&w);
		return rc;
	}
	return aq_pq_writer_close(&w, e);
}

int aq_dataset_compact_part(const struct aq_dataset *ds, int part, struct aq_err *e)
{
	struct aq_readings r;
	char **paths, *out = NULL, *dir = NULL, *base;
	uint64_t key = 0;
	int n, rc;

	if ((rc = aq_dataset_list_part(ds, part, &paths, &n, e)))
		return rc;
	if (n <= 1) {
		aq_paths_free(paths, n);
		return 0;
	}
	aq_readings_init(&r);
	for (int i = 0; i < n && !rc; i++)
		rc = aq_readings_append_file(paths[i], &r, e);
	if (!rc)
		rc = merge_tail(&r, 0, e);
	if (rc)
		goto done;
	base = strrchr(paths[n - 1], '/');
	aq_dataset_batch_key(base ? base + 1 : paths[n - 1], &key);
	out = aq_dataset_batch_path(ds, part, key, "compact");
	dir = aq_dataset_part_dir(ds, part);
	if (!out || !dir) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto done;
	}
	if ((rc = write_compact_file(out, &r, e)))
		goto done;
	/* The compact file is durable: now drop what it replaces (a crash here leaves duplicates of equal value). */
	for (int i = 0; i < n; i++)
		if (strcmp(paths[i], out) && unlink(paths[i]) < 0 && errno != ENOENT) {
			rc = aq_err_sys(e, "cannot remove '%s'", paths[i]);
			goto done;
		}
	rc = aq_fs_fsync_dir(dir, e);
	aq_info("compacted '%s': %d files -> 1 (%zu readings)", dir, n, r.n);
done:
	free(out);
	free(dir);
	aq_readings_release(&r);
	aq_paths_free(paths, n);
	return rc;
}
