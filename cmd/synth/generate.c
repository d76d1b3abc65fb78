/* generate.c — aquacast-synth: the account × day matrix, generated in parallel over account blocks. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "synth_cmd.h"

struct worker {
	struct gen *g;
	int id;
};

#define BLOCK 64

static void *gen_thread(void *arg)
{
	struct worker *w = arg;
	struct gen *g = w->g;
	const struct cfg *c = g->c;
	int32_t *series = malloc((size_t)c->so.days * sizeof(*series));
	struct aq_synth_events *ev = c->truth ? &g->ev[w->id] : NULL;

	if (!series) {
		g->rc[w->id] = aq_err_set(&g->err[w->id], AQ_ENOMEM, "cannot allocate a series");
		return NULL;
	}
	for (;;) {
		int64_t i0 = atomic_fetch_add(&g->next, BLOCK), i1 = i0 + BLOCK;

		if (i0 >= c->a1)
			break;
		if (i1 > c->a1)
			i1 = c->a1;
		for (int64_t i = i0; i < i1; i++) {
			int rc = aq_synth_account(&c->so, i, series, ev, &g->err[w->id]);

			if (rc) {
				g->rc[w->id] = rc;
				free(series);
				return NULL;
			}
			memcpy(g->mat + (size_t)(i - c->a0) * (size_t)g->W, series + c->from, (size_t)g->W * sizeof(*series));
		}
		aq_progress_add(&g->prog, (uint64_t)(i1 - i0));
	}
	free(series);
	return NULL;
}

int synth_generate(struct gen *g, int nthreads, struct aq_err *e)
{
	const struct cfg *c = g->c;
	struct worker *wk = calloc((size_t)nthreads, sizeof(*wk));
	pthread_t *th = calloc((size_t)nthreads, sizeof(*th));
	int rc = 0, started = 0;

	if (!wk || !th) {
		free(wk);
		free(th);
		return aq_err_set(e, AQ_ENOMEM, "cannot allocate generator threads");
	}
	atomic_init(&g->next, c->a0);
	aq_progress_init(&g->prog, "generate", "accounts", (uint64_t)(c->a1 - c->a0));
	for (int t = 0; t < nthreads; t++) {
		wk[t] = (struct worker){ g, t };
		if (pthread_create(&th[t], NULL, gen_thread, &wk[t])) {
			rc = aq_err_set(e, AQ_EIO, "cannot start a generator thread");
			/* stop the others early */
			atomic_store(&g->next, c->a1);
			break;
		}
		started++;
	}
	for (int t = 0; t < started; t++)
		pthread_join(th[t], NULL);
	aq_progress_finish(&g->prog);
	for (int t = 0; t < started && !rc; t++)
		if (g->rc[t]) {
			rc = g->rc[t];
			*e = g->err[t];
		}
	free(wk);
	free(th);
	return rc;
}
