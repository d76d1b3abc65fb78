/* test_inspect.c — verify and summarize datasets: good files pass, damaged or misplaced ones fail with a reason. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "date.h"
#include "inspect.h"
#include "readings_writer.h"
#include "test.h"

static char root[512];

/* 40 accounts x 10 days, every 7th reading missing; written as one batch of 4 parts. */
static int write_batch(struct aq_dataset *ds, int days_from, struct aq_err *e)
{
	struct aq_readings_writer w;
	int rc = aq_readings_writer_open(&w, ds, aq_dataset_next_key(ds), "t", NULL, e);

	for (int a = 0; a < 40 && !rc; a++)
		for (int d = days_from; d < days_from + 10 && !rc; d++)
			rc = aq_readings_writer_add(&w, 19000 + d, 5000000 + a, (a + d) % 7 ? 0.1 * a + d : NAN, e);
	return rc ? (aq_readings_writer_abort(&w), rc) : aq_readings_writer_close(&w, e);
}

static void test_verify_and_summary(void)
{
	struct aq_dataset ds;
	struct aq_dataset_summary sm;
	struct aq_err e = { 0 };
	char **paths;
	int n;

	snprintf(root, sizeof(root), "/tmp/aq-test-inspect.%d", (int)getpid());
	T_OK(aq_dataset_create(&ds, root, "readings", 4, &e));
	T_OK(write_batch(&ds, 0, &e));
	T_OK(write_batch(&ds, 5, &e)); /* overlaps days 5..9: latest wins in the merge */
	T_OK(aq_dataset_summarize(&ds, &sm, &e));
	T_EQ_INT(sm.batches, 2);
	T_EQ_INT(sm.parts_with_data, 4);
	T_EQ_INT(sm.files, 8);
	T_EQ_INT(sm.rs.accounts, 40);
	T_EQ_INT(sm.rs.rows, 40 * 15);
	T_EQ_INT(sm.rs.date_min, 19000);
	T_EQ_INT(sm.rs.date_max, 19014);
	/* NaN where (a + d) % 7 == 0, over d = 0..14 after the merge */
	uint64_t nan = 0;
	for (int a = 0; a < 40; a++)
		for (int d = 0; d < 15; d++)
			nan += (a + d) % 7 == 0;
	T_EQ_INT(sm.rs.nan, nan);

	T_OK(aq_dataset_list_part(&ds, 1, &paths, &n, &e));
	T_ASSERT(n == 2);
	struct aq_verify_info in;
	T_OK(aq_verify_file(paths[0], &ds, 1, &in, &e));
	T_CHECK(in.readings && in.rows > 0 && in.pages_crc == in.pages);
	/* the same file claimed by another part: its accounts do not belong there */
	e.msg[0] = 0;
	T_EQ_INT(aq_verify_file(paths[0], &ds, 2, &in, &e), AQ_EFORMAT);
	T_CHECK(strstr(e.msg, "belongs to part 1") != NULL);
	/* one flipped byte in the middle of the data pages: the page CRC catches it */
	FILE *f = fopen(paths[0], "r+b");
	T_ASSERT(f);
	fseek(f, 0, SEEK_END);
	long len = ftell(f);
	fseek(f, len / 3, SEEK_SET);
	int c = fgetc(f);
	fseek(f, len / 3, SEEK_SET);
	fputc(c ^ 0x20, f);
	fclose(f);
	e.msg[0] = 0;
	T_CHECK(aq_verify_file(paths[0], &ds, 1, &in, &e) < 0);
	T_CHECK(e.msg[0] != 0);
	T_EQ_INT(aq_dataset_count_tmp(&ds, 1), 0);
	char tmp[1100];
	snprintf(tmp, sizeof(tmp), "%s/readings/part=001/.x.parquet.tmp.1", root);
	f = fopen(tmp, "w");
	T_ASSERT(f);
	fclose(f);
	T_EQ_INT(aq_dataset_count_tmp(&ds, 1), 1);
	aq_paths_free(paths, n);
	aq_dataset_release(&ds);
	char cmd[600];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
	T_CHECK(system(cmd) == 0);
}

int main(void)
{
	T_RUN(test_verify_and_summary);
	T_DONE();
}
