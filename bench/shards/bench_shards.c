/* bench_shards.c — write and full-scan N accounts x D days of readings through lib/readings_writer and lib/merge; one JSON line per run. */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <pthread.h>

#include "log.h"
#include "merge.h"
#include "readings_writer.h"
#include "synth.h"

static double cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double thread_cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

struct scan_job {
	const struct aq_dataset *ds;
	int t, nt, rc, check;
	size_t rows, nan;
	double sum, read_s, read_cpu_s; /* time inside aq_dataset_read_part only */
	struct aq_err e;
};

/* A consumer's pattern: part after part into one reused struct aq_readings. */
static void *scan_parts(void *arg)
{
	struct scan_job *j = arg;
	struct aq_readings r;

	aq_readings_init(&r);
	for (int p = j->t; p < j->ds->parts && !j->rc; p += j->nt) {
		double t0 = aq_now(), c0 = thread_cpu_now();

		if ((j->rc = aq_dataset_read_part(j->ds, p, &r, &j->e)))
			break;
		j->read_s += aq_now() - t0;
		j->read_cpu_s += thread_cpu_now() - c0;
		j->rows += r.n;
		for (size_t i = 0; j->check && i < r.n; i++) {
			double v = r.value[i];

			if (v != v)
				j->nan++;
			else
				j->sum += v;
		}
	}
	aq_readings_release(&r);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: bench_shards --root DIR [--accounts N] [--days D] [--parts P] [--order account|date]\n"
		   "                    [--codec zstd|none] [--level L] [--buffer-mib M] [--threads T]\n"
		   "Generates the readings with lib/synth (values milli-m3; an absent day becomes NaN so that every\n"
		   "account has every day), writes them as one batch into a new dataset at DIR, then reads every\n"
		   "part back (aq_dataset_read_part), once with one thread and once with T threads (default 2)\n"
		   "taking parts in turn, and checks the sums.\n"
		   "Prints one JSON line.\n");
}

static long long du(const char *root)
{
	char cmd[1200];
	long long b = -1;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "find '%s' -name '*.parquet' -printf '%%s\\n' | awk '{s+=$1} END {print s+0}'", root);
	if ((p = popen(cmd, "r"))) {
		if (fscanf(p, "%lld", &b) != 1)
			b = -1;
		pclose(p);
	}
	return b;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "root", 1, 0, 'r' }, { "accounts", 1, 0, 'n' }, { "days", 1, 0, 'd' }, { "parts", 1, 0, 'p' },
		{ "order", 1, 0, 'o' }, { "codec", 1, 0, 'c' }, { "level", 1, 0, 'l' }, { "buffer-mib", 1, 0, 'b' },
		{ "threads", 1, 0, 't' }, { "help", 0, 0, 'h' }, { 0, 0, 0, 0 },
	};
	const char *root = NULL, *order = "account", *codec = "zstd";
	long long n_acc = 27000, days = 730, parts = 32, level = 3, buf_mib = 128, threads = 2;
	struct aq_synth_opts so;
	struct aq_err e = { 0 };
	struct aq_dataset ds;
	struct aq_readings_writer w;
	struct aq_readings_writer_opts wo = { 0 };
	int32_t *day_v, *dates;
	int64_t *accs;
	double *vals, t0, c0, c_write, c_scan[2] = { 0 }, t_add, t_write, t_scan[2] = { 0 }, sum_in = 0, sum_out = 0;
	size_t n, k = 0, nscan = 0, nan_in = 0, nan_out = 0;
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'r': root = optarg; break;
		case 'n': n_acc = atoll(optarg); break;
		case 'd': days = atoll(optarg); break;
		case 'p': parts = atoll(optarg); break;
		case 'o': order = optarg; break;
		case 'c': codec = optarg; break;
		case 'l': level = atoll(optarg); break;
		case 'b': buf_mib = atoll(optarg); break;
		case 't': threads = atoll(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (!root || n_acc < 1 || days < 1 || parts < 1 || (strcmp(order, "account") && strcmp(order, "date"))) {
		usage(stderr);
		return 2;
	}
	aq_synth_opts_default(&so);
	so.initial_share = 1.0; /* every account on every day: N x D readings, absent days as NaN */
	so.leave_share = 0.0;
	so.accounts = n_acc;
	so.days = (int32_t)days;
	n = (size_t)n_acc * (size_t)days;
	day_v = malloc((size_t)days * sizeof(*day_v));
	dates = malloc(n * sizeof(*dates));
	accs = malloc(n * sizeof(*accs));
	vals = malloc(n * sizeof(*vals));
	if (!day_v || !dates || !accs || !vals) {
		fprintf(stderr, "out of memory\n");
		return 1;
	}
	/* input rows in the requested order, prepared before the clock starts */
	for (long long i = 0; i < n_acc; i++) {
		if (aq_synth_account(&so, i, day_v, NULL, &e)) {
			fprintf(stderr, "synth: %s\n", e.msg);
			return 1;
		}
		for (long long d = 0; d < days; d++) {
			size_t at = strcmp(order, "account") ? (size_t)d * (size_t)n_acc + (size_t)i : (size_t)i * (size_t)days + (size_t)d;
			int32_t v = day_v[d];

			dates[at] = so.start + (int32_t)d;
			accs[at] = aq_synth_oid(i);
			vals[at] = (v == AQ_SYNTH_ABSENT || v == AQ_SYNTH_NAN) ? NAN : v / 1000.0;
		}
	}
	for (size_t i = 0; i < n; i++) {
		if (isnan(vals[i]))
			nan_in++;
		else
			sum_in += vals[i];
	}
	if (aq_dataset_create(&ds, root, "readings", (int)parts, &e)) {
		fprintf(stderr, "%s\n", e.msg);
		return 1;
	}
	wo.pq.codec = strcmp(codec, "none") ? AQ_PQ_ZSTD : AQ_PQ_UNCOMPRESSED;
	wo.pq.zstd_level = strcmp(codec, "none") ? (int)level : AQ_PQ_LEVEL_NONE;
	wo.max_buffer_bytes = (size_t)buf_mib << 20;

	t0 = aq_now();
	c0 = cpu_now();
	if (getenv("AQ_BENCH_MARKS")) /* CLOCK_MONOTONIC marks, for perf record -k CLOCK_MONOTONIC --time */
		fprintf(stderr, "mark write %.6f\n", t0);
	if (aq_readings_writer_open(&w, &ds, aq_dataset_next_key(&ds), "bench", &wo, &e))
		goto fail;
	for (k = 0; k < n; k++)
		if (aq_readings_writer_add(&w, dates[k], accs[k], vals[k], &e))
			goto fail;
	t_add = aq_now() - t0;
	if (aq_readings_writer_close(&w, &e))
		goto fail;
	t_write = aq_now() - t0;
	c_write = cpu_now() - c0;
	if (getenv("AQ_BENCH_MARKS"))
		fprintf(stderr, "mark write_end %.6f\n", t0 + t_write);

	/* scan with one thread, then with T threads */
	for (int pass = 0; pass < 2; pass++) {
		struct scan_job jobs[64];
		pthread_t th[64];
		int nt = pass == 0 ? 1 : threads < 1 ? 1 : threads > 64 ? 64 : (int)threads;

		nscan = nan_out = 0;
		sum_out = 0;
		memset(jobs, 0, sizeof(jobs));
		t0 = aq_now();
		c0 = cpu_now();
		for (int t = 1; t < nt; t++) {
			jobs[t].ds = &ds;
			jobs[t].t = t;
			jobs[t].nt = nt;
			if (pthread_create(&th[t], NULL, scan_parts, &jobs[t]))
				return fprintf(stderr, "cannot start a thread\n"), 1;
		}
		jobs[0].ds = &ds;
		jobs[0].nt = nt;
		jobs[0].check = 1; /* sums checked on the single-thread pass, outside its read time */
		scan_parts(&jobs[0]);
		for (int t = 1; t < nt; t++)
			pthread_join(th[t], NULL);
		t_scan[pass] = pass == 0 ? jobs[0].read_s : aq_now() - t0;
		if (getenv("AQ_BENCH_MARKS"))
			fprintf(stderr, "mark scan%d %.6f %.6f\n", pass, t0, t0 + t_scan[pass]);
		c_scan[pass] = pass == 0 ? jobs[0].read_cpu_s : cpu_now() - c0;
		for (int t = 0; t < nt; t++) {
			if (jobs[t].rc) {
				e = jobs[t].e;
				goto fail;
			}
			nscan += jobs[t].rows;
			nan_out += jobs[t].nan;
			sum_out += jobs[t].sum;
		}
		if (pass == 0 && (nscan != n || nan_in != nan_out || fabs(sum_in - sum_out) > 1e-6 * fabs(sum_in))) {
			fprintf(stderr, "mismatch: %zu rows read of %zu, NaN %zu vs %zu, sum %.6f vs %.6f\n", nscan, n,
				nan_out, nan_in, sum_out, sum_in);
			return 1;
		}
		if (nscan != n)
			return fprintf(stderr, "mismatch: %zu rows read of %zu\n", nscan, n), 1;
	}
	{
		long long bytes = du(root);

		printf("{\"readings\":%zu,\"accounts\":%lld,\"days\":%lld,\"parts\":%lld,\"order\":\"%s\",\"codec\":\"%s\","
		       "\"level\":%lld,\"buffer_mib\":%lld,\"write_s\":%.4f,\"write_cpu_s\":%.4f,\"add_s\":%.4f,"
		       "\"scan1_s\":%.4f,\"scan1_cpu_s\":%.4f,\"scan_threads\":%lld,\"scanT_s\":%.4f,\"scanT_cpu_s\":%.4f,"
		       "\"bytes\":%lld,\"bytes_per_reading\":%.4f,\"nan\":%zu}\n",
		       n, n_acc, days, parts, order, codec, level, buf_mib, t_write, c_write, t_add, t_scan[0], c_scan[0],
		       threads, t_scan[1], c_scan[1], bytes, (double)bytes / (double)n, nan_in);
	}
	aq_dataset_release(&ds);
	free(day_v);
	free(dates);
	free(accs);
	free(vals);
	return 0;
fail:
	fprintf(stderr, "bench_shards: %s\n", e.msg);
	return 1;
}
