/* synth_cmd.h — aquacast-synth internals shared by its files: options, the generated matrix, writers. */
#ifndef AQ_SYNTH_CMD_H
#define AQ_SYNTH_CMD_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "log.h"
#include "synth.h"

struct cfg {
	struct aq_synth_opts so;
	const char *from_s, *to_s, *csv, *out, *odbc, *table, *schema, *truth, *from_csv;
	uint64_t max_bad;
	int parts, threads;
	int parts_set;      /* --parts given (an existing dataset keeps its own count) */
	size_t batch;
	int64_t a0, a1;     /* account indexes [a0, a1) of --account-range */
	int32_t from, to;   /* window [from, to) as offsets */
};

/* The generated window: accounts [a0, a1) × days [from, to), milli-m³ with the synth sentinels. */
struct gen {
	const struct cfg *c;
	int32_t *mat;               /* accounts × W milli-m³ */
	int32_t W;
	_Atomic int64_t next;
	struct aq_progress prog;
	struct aq_synth_events *ev; /* one list per thread */
	int *rc;
	struct aq_err *err;
};

/* Fill g (allocated by the caller: mat, ev, rc, err for nthreads) on nthreads threads. */
int synth_generate(struct gen *g, int nthreads, struct aq_err *e);

/* Writers (output.c): each adds the rows it wrote to *rows. */
int synth_write_csv(const struct cfg *c, const struct gen *g, uint64_t *rows, struct aq_err *e);
int synth_write_shards(const struct cfg *c, const struct gen *g, int nthreads, uint64_t *rows, struct aq_err *e);
int synth_write_odbc(const struct cfg *c, const struct gen *g, uint64_t *rows, struct aq_err *e);
int synth_write_truth(const struct cfg *c, struct gen *g, int nthreads, uint64_t *nev, struct aq_err *e);

/* --from-csv (import.c): the whole job, its summary included; returns the exit code. */
int synth_import_csv(const struct cfg *c);

#endif
