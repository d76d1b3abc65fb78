/* pool.h — a parallel-for over [0, n) on N pthreads with dynamic scheduling. */
#ifndef AQ_POOL_H
#define AQ_POOL_H

#include <stddef.h>

#include "err.h"

/*
 * fn(ctx, i, tid) is called once for every i in [0, n), from `threads`
 * threads (tid in [0, threads)); items are handed out one at a time from
 * an atomic counter, so uneven items (a seasonal search next to a
 * fallback) balance. threads <= 0 means all online cores. The calling
 * thread works as tid 0. fn must not fail the loop: it records its own errors.
 */
typedef void (*aq_pool_fn)(void *ctx, size_t i, int tid);

int aq_parallel_for(int threads, size_t n, aq_pool_fn fn, void *ctx, struct aq_err *e);
/* Number of online cores (>= 1). */
int aq_ncores(void);

#endif
