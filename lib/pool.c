/* pool.c — parallel-for on pthreads with an atomic work counter. */
#include "pool.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct pool_job {
	aq_pool_fn fn;
	void *ctx;
	size_t n;
	_Atomic size_t next;
};

struct pool_arg {
	struct pool_job *job;
	int tid;
};

static void run(struct pool_job *j, int tid)
{
	for (;;) {
		size_t i = atomic_fetch_add(&j->next, 1);
		if (i >= j->n)
			break;
		j->fn(j->ctx, i, tid);
	}
}

static void *worker(void *arg)
{
	struct pool_arg *a = arg;
	run(a->job, a->tid);
	return NULL;
}

int aq_ncores(void)
{
	long c = sysconf(_SC_NPROCESSORS_ONLN);
	return c > 0 ? (int)c : 1;
}

int aq_parallel_for(int threads, size_t n, aq_pool_fn fn, void *ctx, struct aq_err *e)
{
	if (threads <= 0)
		threads = aq_ncores();
	if ((size_t)threads > n)
		threads = n > 0 ? (int)n : 1;
	struct pool_job job = {.fn = fn, .ctx = ctx, .n = n};
	atomic_init(&job.next, 0);
	if (threads == 1) {
		run(&job, 0);
		return 0;
	}
	pthread_t *th = calloc((size_t)threads, sizeof *th);
	struct pool_arg *args = calloc((size_t)threads, sizeof *args);
	if (!th || !args) {
		free(th);
		free(args);
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate %d threads", threads);
	}
	int started = 1;
	for (int t = 1; t < threads; t++) {
		args[t].job = &job;
		args[t].tid = t;
		if (pthread_create(&th[t], NULL, worker, &args[t]) != 0)
			break;   /* fewer threads: the rest of the work is shared by those started */
		started++;
	}
	run(&job, 0);
	for (int t = 1; t < started; t++)
		pthread_join(th[t], NULL);
	free(th);
	free(args);
	return 0;
}
