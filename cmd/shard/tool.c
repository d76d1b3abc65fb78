/* tool.c — aquacast-shard subcommands: verify, stats, head / to-csv, compact. */
#include "tool.h"

#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"
#include "date.h"
#include "fs.h"
#include "inspect.h"
#include "log.h"
#include "merge.h"
#include "parquet.h"

/* The command's keys into the summary (printed by cli_finish). */
static void print_json(json_t *j)
{
	cli_merge(j);
	json_decref(j);
}

static uint64_t rows_out;      /* head / to-csv: data rows written */
static struct aq_err head_err; /* head / to-csv: the first error, for the summary */

static void note_err(const char *msg)
{
	aq_error("%s", msg);
	if (!head_err.msg[0])
		aq_err_set(&head_err, AQ_EIO, "%s", msg);
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* Open PATH as a dataset when it is a directory; 1 = dataset, 0 = file, <0 error (in e). */
static int classify(const char *path, struct aq_dataset *ds, struct aq_err *e)
{
	if (!is_dir(path))
		return 0;
	if (aq_dataset_open(ds, path, e))
		return -1;
	return 1;
}

static int is_dataset_dir(const char *path)
{
	char *p = aq_path_join(path, "_dataset.json");
	struct stat st;
	int yes = p && stat(p, &st) == 0;

	free(p);
	return yes;
}

static int is_readings(struct aq_pq_reader *r)
{
	return aq_pq_reader_expect(r, &aq_readings_schema, NULL) == 0;
}

/* ---------------------------------------------------------------- verify */

struct vsum {
	uint64_t files, bad, rows, pages, pages_crc, tmp;
};

static void verify_one(const char *path, const struct aq_dataset *ds, int part, struct vsum *s)
{
	struct aq_verify_info in;
	struct aq_err e = { 0 };

	s->files++;
	if (aq_verify_file(path, ds, part, &in, &e)) {
		s->bad++;
		printf("BAD %s: %s\n", path, e.msg);
		return;
	}
	s->rows += in.rows;
	s->pages += in.pages;
	s->pages_crc += in.pages_crc;
	printf("ok %s: %" PRIu64 " rows, %d row groups, %" PRIu64 " pages (%" PRIu64 " with CRC)%s\n", path, in.rows,
	       in.row_groups, in.pages, in.pages_crc, in.readings ? ", readings sorted" : "");
}

int tool_verify(char **paths, int n)
{
	struct vsum s = { 0 };
	double t0 = aq_now();
	json_t *j;

	for (int i = 0; i < n; i++) {
		struct aq_dataset ds;
		if (is_dir(paths[i])) {
			struct aq_err es = { 0 };
			int sealed;
			uint64_t nf;
			if (aq_verify_seal(paths[i], &sealed, &nf, &es)) {
				s.bad++;
				printf("BAD %s: %s\n", paths[i], es.msg);
				continue;
			}
			if (sealed)
				printf("ok %s: sealed, %" PRIu64 " files match its manifest\n", paths[i], nf);
			if (sealed && !is_dataset_dir(paths[i]))
				continue; /* an evaluation directory: its datasets are checked through their own seals */
		}
		struct aq_err e = { 0 };
		int k = classify(paths[i], &ds, &e);

		if (k < 0) {
			s.files++;
			s.bad++;
			aq_error("%s", e.msg);
			printf("BAD %s: not a parquet file nor a dataset\n", paths[i]);
			continue;
		}
		if (k == 0) {
			verify_one(paths[i], NULL, -1, &s);
			continue;
		}
		for (int p = 0; p < ds.parts; p++) {
			struct aq_err e = { 0 };
			char **files;
			int nf;

			if (aq_dataset_list_part(&ds, p, &files, &nf, &e)) {
				s.bad++;
				printf("BAD %s: %s\n", paths[i], e.msg);
				continue;
			}
			for (int f = 0; f < nf; f++)
				verify_one(files[f], &ds, p, &s);
			aq_paths_free(files, nf);
			s.tmp += (uint64_t)aq_dataset_count_tmp(&ds, p);
		}
		aq_dataset_release(&ds);
	}
	if (s.tmp)
		printf("note: %" PRIu64 " temporary files of interrupted writes (ignored by readers)\n", s.tmp);
	j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:f}", "files", (json_int_t)s.files, "bad", (json_int_t)s.bad,
		      "rows", (json_int_t)s.rows, "pages", (json_int_t)s.pages, "pages_crc", (json_int_t)s.pages_crc,
		      "tmp_files", (json_int_t)s.tmp, "seconds", aq_now() - t0);
	print_json(j);
	if (s.bad)
		return cli_fail("%llu of %llu files bad", (unsigned long long)s.bad, (unsigned long long)s.files);
	return cli_finish(CLI_EXIT_OK, NULL);
}

/* ---------------------------------------------------------------- stats */

static json_t *rstats_json(const struct aq_readings_stats *s, json_t *j)
{
	char a[AQ_DATE_STRLEN], b[AQ_DATE_STRLEN];

	json_object_set_new(j, "rows", json_integer((json_int_t)s->rows));
	json_object_set_new(j, "accounts", json_integer((json_int_t)s->accounts));
	json_object_set_new(j, "date_min", s->rows ? json_string(aq_date_format(s->date_min, a)) : json_null());
	json_object_set_new(j, "date_max", s->rows ? json_string(aq_date_format(s->date_max, b)) : json_null());
	json_object_set_new(j, "nan", json_integer((json_int_t)s->nan));
	printf("rows      %" PRIu64 "\naccounts  %" PRIu64 "\ndates     %s .. %s\nNaN       %" PRIu64 "\n", s->rows,
	       s->accounts, s->rows ? aq_date_format(s->date_min, a) : "-",
	       s->rows ? aq_date_format(s->date_max, b) : "-", s->nan);
	return j;
}

static int stats_file(const char *path)
{
	struct aq_pq_reader r;
	struct aq_err e = { 0 };
	json_t *j = json_object();
	uint64_t bytes;

	if (aq_pq_reader_open(&r, path, &e)) {
		json_decref(j);
		return cli_fail_err(&e);
	}
	bytes = r.size;   /* the reader maps the whole file */
	json_object_set_new(j, "path", json_string(path));
	json_object_set_new(j, "schema", r.schema_name ? json_string(r.schema_name) : json_null());
	if (is_readings(&r)) {
		struct aq_readings rd;
		struct aq_readings_stats s = { 0 };

		aq_readings_init(&rd);
		if (aq_readings_read_file(path, &rd, &e)) {
			aq_readings_release(&rd);
			aq_pq_reader_release(&r);
			json_decref(j);
			return cli_fail_err(&e);
		}
		aq_readings_stats_add(&s, &rd, 0);
		aq_readings_release(&rd);
		rstats_json(&s, j);
	} else {
		json_t *cols = json_array();

		printf("rows      %" PRIu64 "\ncolumns  ", r.nrows);
		for (int i = 0; i < r.ncols; i++) {
			printf(" %s:%s", r.cols[i].name, aq_pq_type_name(r.cols[i].type));
			json_array_append_new(cols, json_string(r.cols[i].name));
		}
		printf("\n");
		json_object_set_new(j, "rows", json_integer((json_int_t)r.nrows));
		json_object_set_new(j, "columns", cols);
	}
	printf("row groups %d\nbytes     %" PRIu64 "\ncreated by %s\n", r.nrow_groups, bytes,
	       r.created_by ? r.created_by : "-");
	json_object_set_new(j, "row_groups", json_integer(r.nrow_groups));
	json_object_set_new(j, "files", json_integer(1));
	json_object_set_new(j, "bytes", json_integer((json_int_t)bytes));
	json_object_set_new(j, "created_by", r.created_by ? json_string(r.created_by) : json_null());
	aq_pq_reader_release(&r);
	print_json(j);
	return cli_finish(CLI_EXIT_OK, NULL);
}

static int stats_dataset(const char *root, const struct aq_dataset *ds)
{
	struct aq_dataset_summary sm;
	struct aq_err e = { 0 };
	int readings = !strcmp(ds->kind, "readings");
	json_t *j;

	if (aq_dataset_summarize(ds, &sm, &e))
		return cli_fail_err(&e);
	j = json_object();
	json_object_set_new(j, "path", json_string(root));
	json_object_set_new(j, "kind", json_string(ds->kind));
	if (readings) {
		rstats_json(&sm.rs, j);
	} else {
		json_object_set_new(j, "rows", json_integer((json_int_t)sm.rows_files));
		printf("rows      %" PRIu64 " (sum over files, no merge)\n", sm.rows_files);
	}
	printf("parts     %d (%d with data)\nfiles     %" PRIu64 "\nbatches   %" PRIu64 "\nbytes     %" PRIu64 "\n",
	       ds->parts, sm.parts_with_data, sm.files, sm.batches, sm.bytes);
	if (readings && sm.rs.rows)
		printf("bytes/row %.3f\n", (double)sm.bytes / (double)sm.rs.rows);
	json_object_set_new(j, "parts", json_integer(ds->parts));
	json_object_set_new(j, "parts_with_data", json_integer(sm.parts_with_data));
	json_object_set_new(j, "files", json_integer((json_int_t)sm.files));
	json_object_set_new(j, "batches", json_integer((json_int_t)sm.batches));
	json_object_set_new(j, "bytes", json_integer((json_int_t)sm.bytes));
	print_json(j);
	return cli_finish(CLI_EXIT_OK, NULL);
}

int tool_stats(const char *path)
{
	struct aq_dataset ds;
	struct aq_err e = { 0 };
	int k = classify(path, &ds, &e), rc;

	cli_set_str("path", path);
	if (k < 0)
		return cli_fail_err(&e);
	if (k == 0)
		return stats_file(path);
	rc = stats_dataset(path, &ds);
	aq_dataset_release(&ds);
	return rc;
}

/* ---------------------------------------------------------------- head / to-csv */

/* The shortest "%.*g" that reads back to the same double (most readings: 3 decimals). */
static void put_double(FILE *f, double v)
{
	char buf[40];

	if (v != v)
		return; /* NaN: an empty field (missing) */
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof(buf), "%.*g", prec, v);
		if (prec == 17 || strtod(buf, NULL) == v)
			break;
	}
	fputs(buf, f);
}

static void put_readings(FILE *f, const struct aq_readings *rd, size_t n)
{
	char d[AQ_DATE_STRLEN];

	for (size_t i = 0; i < n; i++) {
		fputs(aq_date_format(rd->date[i], d), f);
		fprintf(f, ",%" PRId64 ",", rd->account[i]);
		put_double(f, rd->value[i]);
		fputc('\n', f);
	}
	rows_out += n;
}

static void put_bytes(FILE *f, const uint8_t *p, size_t n, int string)
{
	if (string) {
		fputc('"', f);
		for (size_t i = 0; i < n; i++) {
			if (p[i] == '"')
				fputc('"', f);
			fputc(p[i], f);
		}
		fputc('"', f);
		return;
	}
	fputs("0x", f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%02x", p[i]);
}

/* Any file of the subset, row by row, its own columns. *left: rows still wanted (-1 all). */
static int csv_generic(const char *path, int header, int64_t *left)
{
	struct aq_pq_reader r;
	struct aq_err e = { 0 };
	void **cols = NULL;
	int rc = 0;

	if (aq_pq_reader_open(&r, path, &e)) {
		note_err(e.msg);
		return 1;
	}
	if (header) {
		for (int c = 0; c < r.ncols; c++)
			printf("%s%s", c ? "," : "", r.cols[c].name);
		printf("\n");
	}
	cols = calloc((size_t)r.ncols, sizeof(*cols));
	for (int g = 0; g < r.nrow_groups && *left && cols && !rc; g++) {
		size_t n = (size_t)aq_pq_reader_rg_rows(&r, g);

		for (int c = 0; c < r.ncols && !rc; c++) {
			size_t w = r.cols[c].type == AQ_PQ_INT32 ? 4 : r.cols[c].type == AQ_PQ_BYTES ? 0 : 8;

			cols[c] = w ? malloc(n * w + 1) : calloc(1, sizeof(struct aq_pq_bytes));
			if (!cols[c] || aq_pq_reader_read(&r, g, c, cols[c], &e)) {
				note_err(cols[c] ? e.msg : "out of memory");
				rc = 1;
			}
		}
		for (size_t i = 0; i < n && *left && !rc; i++) {
			for (int c = 0; c < r.ncols; c++) {
				const struct aq_pq_column *cd = &r.cols[c];
				char d[AQ_DATE_STRLEN];

				if (c)
					putchar(',');
				switch (cd->type) {
				case AQ_PQ_INT32:
					if (cd->logical == AQ_PQ_DATE)
						fputs(aq_date_format(((int32_t *)cols[c])[i], d), stdout);
					else
						printf("%" PRId32, ((int32_t *)cols[c])[i]);
					break;
				case AQ_PQ_INT64: printf("%" PRId64, ((int64_t *)cols[c])[i]); break;
				case AQ_PQ_DOUBLE: put_double(stdout, ((double *)cols[c])[i]); break;
				case AQ_PQ_BYTES: {
					struct aq_pq_bytes *b = cols[c];

					put_bytes(stdout, b->data + b->off[i], (size_t)(b->off[i + 1] - b->off[i]),
						  cd->logical == AQ_PQ_STRING);
					break;
				}
				}
			}
			putchar('\n');
			rows_out++;
			if (*left > 0)
				(*left)--;
		}
		for (int c = 0; c < r.ncols; c++) {
			if (cols[c] && r.cols[c].type == AQ_PQ_BYTES)
				aq_pq_bytes_free(cols[c]);
			free(cols[c]);
			cols[c] = NULL;
		}
	}
	free(cols);
	aq_pq_reader_release(&r);
	return rc;
}

static void emit_readings(const struct aq_readings *rd, int64_t *left)
{
	size_t n = *left < 0 || (uint64_t)*left > rd->n ? rd->n : (size_t)*left;

	put_readings(stdout, rd, n);
	if (*left > 0)
		*left -= (int64_t)n;
}

/* The end of head / to-csv: rows written, the summary on stderr (csv_generic logged its error). */
static int head_done(int rc)
{
	cli_set_int("rows", (long long)rows_out);
	if (fflush(stdout) != 0)
		return cli_fail("cannot write the output");
	return rc ? cli_finish(CLI_EXIT_FAIL, head_err.msg[0] ? head_err.msg : "failed") : cli_finish(CLI_EXIT_OK, NULL);
}

int tool_head(const char *path, int64_t nrows)
{
	static char obuf[1 << 20];
	struct aq_dataset ds;
	struct aq_readings rd;
	struct aq_err e = { 0 };
	int64_t left = nrows;
	int k = classify(path, &ds, &e), rc = 0, isds = k == 1;

	cli_set_str("path", path);
	if (k < 0)
		return cli_fail_err(&e);
	setvbuf(stdout, obuf, _IOFBF, sizeof(obuf));
	aq_readings_init(&rd);
	if (k == 0) {
		struct aq_pq_reader r;

		if (aq_pq_reader_open(&r, path, &e))
			return cli_fail_err(&e);
		k = is_readings(&r);
		aq_pq_reader_release(&r);
		if (!k)
			return head_done(csv_generic(path, 1, &left));
		printf("ConsumptionDate,AccountOID,Consumption\n");
		if (aq_readings_read_file(path, &rd, &e)) {
			note_err(e.msg);
			rc = 1;
		} else {
			emit_readings(&rd, &left);
		}
	} else if (!strcmp(ds.kind, "readings")) {
		printf("ConsumptionDate,AccountOID,Consumption\n");
		for (int p = 0; p < ds.parts && left && !rc; p++) {
			if (aq_dataset_read_part(&ds, p, &rd, &e)) {
				note_err(e.msg);
				rc = 1;
				break;
			}
			emit_readings(&rd, &left);
		}
	} else {
		int header = 1;

		for (int p = 0; p < ds.parts && left && !rc; p++) {
			char **paths;
			int n;

			if (aq_dataset_list_part(&ds, p, &paths, &n, &e)) {
				note_err(e.msg);
				rc = 1;
				break;
			}
			for (int i = 0; i < n && left && !rc; i++) {
				rc = csv_generic(paths[i], header, &left);
				header = 0;
			}
			aq_paths_free(paths, n);
		}
	}
	if (isds)
		aq_dataset_release(&ds);
	aq_readings_release(&rd);
	return head_done(rc);
}

/* ---------------------------------------------------------------- compact */

int tool_compact(const char *root, int part)
{
	struct aq_dataset ds;
	struct aq_err e = { 0 };
	int before = 0, after = 0, done = 0, rc = 0;
	double t0 = aq_now();

	cli_set_str("path", root);
	if (aq_dataset_open(&ds, root, &e))
		return cli_fail_err(&e);
	if (strcmp(ds.kind, "readings")) {
		aq_err_set(&e, AQ_EINVAL, "'%s': compaction merges readings datasets only (this one is '%s')", root,
			   ds.kind);
		aq_dataset_release(&ds);
		return cli_fail_err(&e);
	}
	if (part >= ds.parts) {
		aq_err_set(&e, AQ_EINVAL, "'%s': no part %d (parts 0..%d)", root, part, ds.parts - 1);
		aq_dataset_release(&ds);
		return cli_fail_err(&e);
	}
	for (int p = part < 0 ? 0 : part; p < (part < 0 ? ds.parts : part + 1) && !rc; p++) {
		char **paths;
		int n;

		if ((rc = aq_dataset_list_part(&ds, p, &paths, &n, &e)))
			break;
		aq_paths_free(paths, n);
		before += n;
		if ((rc = aq_dataset_compact_part(&ds, p, &e)))
			break;
		if ((rc = aq_dataset_list_part(&ds, p, &paths, &n, &e)))
			break;
		aq_paths_free(paths, n);
		after += n;
		done++;
	}
	print_json(json_pack("{s:s, s:i, s:i, s:i, s:f}", "path", root, "parts", done, "files_before", before,
			     "files_after", after, "seconds", aq_now() - t0));
	aq_dataset_release(&ds);
	return rc ? cli_fail_err(&e) : cli_finish(CLI_EXIT_OK, NULL);
}
