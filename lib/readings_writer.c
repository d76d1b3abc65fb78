/* readings_writer.c — one batch of readings into a dataset: per-part buffers, writer threads, commit at close. */
#include "readings_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fs.h"

/*
 * Rows are routed to per-part buffers of bounded size; a full
 * buffer becomes a row group of the part's open file when it continues that
 * file's order, else (sorted) the first row group of a further file.
 *
 * With worker threads the caller's thread only routes rows: a full buffer is
 * handed to the worker owning its part (part mod workers), which sorts,
 * compresses and writes it, so each part's buffers are written in the order
 * they filled; a pool of spare buffers (two per worker) lets the caller go
 * on meanwhile. Without workers the caller's thread does it all.
 */

#define MAX_OPEN_FILES 256 /* open part files at once; the least recently used is finished beyond */
#define SYNC_THREADS 8
#define SPARE_PER_WORKER 2
#define MAX_WORKERS 16

struct rbuf {
	int32_t *d;
	int64_t *a;
	double *v;
	size_t n, cap;
	int sorted; /* rows ordered by (account, date) as added */
};

struct pstate {      /* a part's output; touched only by the worker owning the part */
	int touched; /* the part directory exists */
	int open;    /* pw holds an open file */
	int nfiles;
	struct aq_pq_writer pw;
	int64_t last_a; /* last key written to the open file */
	int32_t last_d;
	uint64_t stamp; /* last use, for the open-file limit */
};

struct pfile {
	struct aq_afile f;
	int part, idx; /* idx: creation order within the part */
};

struct job {
	int part, stop;
	struct rbuf b;
};

struct rwpriv;

struct worker {
	struct rwpriv *p;
	int id, started, nopen, max_open;
	pthread_t th;
	struct aq_pq_scratch *scratch;
	struct pfile *done; /* finished files awaiting fsync and rename */
	int ndone, capdone;
	uint64_t stamp, rows, files, bytes;
	struct job *q; /* ring of jobs, guarded by p->mu */
	int qhead, qlen, qcap;
	struct aq_err err;
};

struct rwpriv {
	const struct aq_dataset *ds;
	uint64_t key;
	const char *label;
	struct rbuf *fill; /* per part: the buffer being filled by the caller */
	struct pstate *ps; /* per part */
	size_t chunk;      /* rows per buffer (= rows per row group) */
	int64_t last_acc;
	int last_part;
	struct aq_pq_write_opts pq;
	int nw;           /* worker threads; 0: the caller's thread writes */
	struct worker *w; /* nw workers (1 context when nw == 0) */
	pthread_mutex_t mu;
	pthread_cond_t cv_work, cv_free;
	struct rbuf *spare; /* empty buffers */
	int nspare, nextra, maxextra;
	int failed, rc; /* a worker failed: rc and err are its */
	struct aq_err err;
};

#define ROW_BYTES (sizeof(int32_t) + sizeof(int64_t) + sizeof(double))

static void rbuf_free(struct rbuf *b)
{
	free(b->d);
	free(b->a);
	free(b->v);
	memset(b, 0, sizeof(*b));
	b->sorted = 1;
}

static int grow_buf(struct rbuf *b, size_t chunk, struct aq_err *e)
{
	size_t ncap = b->cap ? b->cap * 2 : 4096;
	int32_t *d;
	int64_t *a;
	double *v;

	ncap = ncap > chunk ? chunk : ncap;
	if (!(d = realloc(b->d, ncap * sizeof(*d))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	b->d = d;
	if (!(a = realloc(b->a, ncap * sizeof(*a))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	b->a = a;
	if (!(v = realloc(b->v, ncap * sizeof(*v))))
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	b->v = v;
	b->cap = ncap;
	return 0;
}

/* Finish the part's open file (footer; no fsync yet) and queue it for commit. */
static int finish_file(struct rwpriv *p, struct worker *k, int part, struct aq_err *e)
{
	struct pstate *s = &p->ps[part];
	struct pfile *f;
	int rc;

	if (k->ndone == k->capdone) {
		int nc = k->capdone ? k->capdone * 2 : 64;
		struct pfile *nd = realloc(k->done, (size_t)nc * sizeof(*nd));

		if (!nd)
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		k->done = nd;
		k->capdone = nc;
	}
	f = &k->done[k->ndone];
	s->open = 0;
	k->nopen--;
	rc = aq_pq_writer_finish(&s->pw, &f->f, e);
	k->bytes += s->pw.offset;
	if (rc)
		return rc;
	f->part = part;
	f->idx = s->nfiles - 1;
	k->ndone++;
	k->files++;
	return 0;
}

/* A buffer of a part (sorted, deduplicated, the later row winning) goes out as one row group. */
static int emit(struct rwpriv *p, struct worker *k, int part, struct rbuf *b, struct aq_err *e)
{
	struct pstate *s = &p->ps[part];
	const void *cols[3];
	size_t n;
	int rc;

	if (!b->n)
		return 0;
	if (!b->sorted && aq_readings_sort_cols(b->d, b->a, b->v, b->n))
		return aq_err_set(e, AQ_ENOMEM, "out of memory sorting %zu readings", b->n);
	n = aq_readings_dedup_cols(b->d, b->a, b->v, b->n);
	if (s->open && !aq_readings_key_lt(s->last_a, s->last_d, b->a[0], b->d[0]) && (rc = finish_file(p, k, part, e)))
		return rc;
	if (!s->open) {
		char *path;

		if (k->nopen >= k->max_open) {
			int lru = -1;

			for (int i = k->id; i < p->ds->parts; i += p->nw ? p->nw : 1)
				if (p->ps[i].open && (lru < 0 || p->ps[i].stamp < p->ps[lru].stamp))
					lru = i;
			if (lru >= 0 && (rc = finish_file(p, k, lru, e)))
				return rc;
		}
		if (!s->touched) {
			char *dir = aq_dataset_part_dir(p->ds, part);

			if (!dir)
				return aq_err_set(e, AQ_ENOMEM, "out of memory");
			rc = aq_fs_mkdir_p(dir, e);
			free(dir);
			if (rc)
				return rc;
			s->touched = 1;
		}
		/* the final name (a sequence suffix unless it is the part's last file) is given at commit */
		if (!(path = aq_dataset_batch_path(p->ds, part, p->key, p->label)))
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		rc = aq_pq_writer_open_shared(&s->pw, path, &aq_readings_schema, &p->pq, k->scratch, e);
		free(path);
		if (rc)
			return rc;
		s->open = 1;
		s->nfiles++;
		k->nopen++;
	}
	cols[0] = b->d;
	cols[1] = b->a;
	cols[2] = b->v;
	if ((rc = aq_pq_writer_write(&s->pw, n, cols, e))) {
		aq_pq_writer_abort(&s->pw);
		s->open = 0;
		k->nopen--;
		return rc;
	}
	s->last_a = b->a[n - 1];
	s->last_d = b->d[n - 1];
	s->stamp = ++k->stamp;
	k->rows += n;
	return 0;
}

/* Parts owned by worker k: k->id, k->id + nw, ... */
static int finish_parts(struct rwpriv *p, struct worker *k, struct aq_err *e)
{
	int rc = 0;

	for (int i = k->id; i < p->ds->parts && !rc; i += p->nw ? p->nw : 1)
		if (p->ps[i].open)
			rc = finish_file(p, k, i, e);
	return rc;
}

static void set_failed(struct rwpriv *p, int rc, const struct aq_err *e)
{
	/* under p->mu */
	if (!p->failed) {
		p->failed = 1;
		p->rc = rc;
		p->err = *e;
	}
	pthread_cond_broadcast(&p->cv_free);
}

static void *worker_main(void *arg)
{
	struct worker *k = arg;
	struct rwpriv *p = k->p;
	int rc, failed;

	for (;;) {
		struct job j;

		pthread_mutex_lock(&p->mu);
		while (!k->qlen)
			pthread_cond_wait(&p->cv_work, &p->mu);
		j = k->q[k->qhead];
		k->qhead = (k->qhead + 1) % k->qcap;
		k->qlen--;
		failed = p->failed;
		pthread_mutex_unlock(&p->mu);
		if (j.stop)
			break;
		rc = failed ? 0 : emit(p, k, j.part, &j.b, &k->err);
		j.b.n = 0;
		j.b.sorted = 1;
		pthread_mutex_lock(&p->mu);
		if (rc)
			set_failed(p, rc, &k->err);
		p->spare[p->nspare++] = j.b;
		pthread_cond_broadcast(&p->cv_free);
		pthread_mutex_unlock(&p->mu);
	}
	pthread_mutex_lock(&p->mu);
	failed = p->failed;
	pthread_mutex_unlock(&p->mu);
	if (!failed && (rc = finish_parts(p, k, &k->err))) {
		pthread_mutex_lock(&p->mu);
		set_failed(p, rc, &k->err);
		pthread_mutex_unlock(&p->mu);
	}
	return NULL;
}

/* under p->mu */
static void enqueue(struct rwpriv *p, int wk, const struct job *j)
{
	struct worker *k = &p->w[wk];

	k->q[(k->qhead + k->qlen) % k->qcap] = *j;
	k->qlen++;
	pthread_cond_broadcast(&p->cv_work);
}

/* The caller's full buffer of a part: to its worker, and an empty one in its place. */
static int handoff(struct rwpriv *p, int part, struct aq_err *e)
{
	struct job j = { .part = part };
	struct rbuf nb;
	int rc;

	pthread_mutex_lock(&p->mu);
	while (!p->failed && !p->nspare && p->nextra >= p->maxextra)
		pthread_cond_wait(&p->cv_free, &p->mu);
	if (p->failed) {
		rc = p->rc;
		if (e)
			*e = p->err;
		pthread_mutex_unlock(&p->mu);
		return rc;
	}
	if (p->nspare) {
		nb = p->spare[--p->nspare];
	} else {
		memset(&nb, 0, sizeof(nb));
		nb.sorted = 1;
		p->nextra++;
	}
	j.b = p->fill[part];
	enqueue(p, part % p->nw, &j);
	p->fill[part] = nb;
	pthread_mutex_unlock(&p->mu);
	return 0;
}

static int full_buffer(struct rwpriv *p, int part, struct aq_err *e)
{
	struct rbuf *b = &p->fill[part];
	int rc;

	if (b->cap < p->chunk)
		return grow_buf(b, p->chunk, e);
	if (!p->nw) {
		rc = emit(p, &p->w[0], part, b, e);
		b->n = 0;
		b->sorted = 1;
		return rc;
	}
	if ((rc = handoff(p, part, e)))
		return rc;
	b = &p->fill[part];
	return b->cap ? 0 : grow_buf(b, p->chunk, e);
}

static int online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n > 0 ? (int)n : 1;
}

/* Stop the workers (after the jobs queued so far) and wait for them. */
static void stop_workers(struct rwpriv *p)
{
	struct job stop = { .stop = 1 };

	if (!p->nw)
		return;
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->nw; i++)
		if (p->w[i].started)
			enqueue(p, i, &stop);
	pthread_mutex_unlock(&p->mu);
	for (int i = 0; i < p->nw; i++)
		if (p->w[i].started) {
			pthread_join(p->w[i].th, NULL);
			p->w[i].started = 0;
		}
}

static void rw_free(struct aq_readings_writer *w)
{
	struct rwpriv *p = w->priv;

	if (p) {
		stop_workers(p);
		for (int i = 0; i < w->ds->parts; i++) {
			if (p->ps && p->ps[i].open)
				aq_pq_writer_abort(&p->ps[i].pw);
			if (p->fill)
				rbuf_free(&p->fill[i]);
		}
		for (int i = 0; i < p->nspare; i++)
			rbuf_free(&p->spare[i]);
		for (int i = 0; i < (p->nw ? p->nw : 1); i++) {
			struct worker *k = &p->w[i];

			for (int f = 0; f < k->ndone; f++)
				aq_afile_abort(&k->done[f].f); /* unlinks a temp not yet renamed */
			free(k->done);
			free(k->q);
			aq_pq_scratch_free(k->scratch);
		}
		if (p->nw) {
			pthread_mutex_destroy(&p->mu);
			pthread_cond_destroy(&p->cv_work);
			pthread_cond_destroy(&p->cv_free);
		}
		free(p->w);
		free(p->spare);
		free(p->fill);
		free(p->ps);
		free(p);
	}
	free(w->label);
	w->label = NULL;
	w->priv = NULL;
}

static void default_opts(struct aq_readings_writer_opts *o, const struct aq_readings_writer_opts *in)
{
	/* pq: zeroed means ZSTD level 3 (aq_pq_writer_open resolves it) */
	if (in)
		*o = *in;
	else
		memset(o, 0, sizeof(*o));
	if (!o->pq.page_rows)
		o->pq.page_rows = AQ_READINGS_PAGE_ROWS;
	if (!o->max_buffer_bytes)
		o->max_buffer_bytes = (size_t)128 << 20;
	if (!o->row_group_rows)
		o->row_group_rows = AQ_READINGS_ROW_GROUP_ROWS;
}

int aq_readings_writer_open(struct aq_readings_writer *w, const struct aq_dataset *ds, uint64_t key, const char *label,
			    const struct aq_readings_writer_opts *o, struct aq_err *e)
{
	struct rwpriv *p;
	int nw, nk;

	memset(w, 0, sizeof(*w));
	if (!aq_dataset_label_ok(label))
		return aq_err_set(e, AQ_EINVAL, "bad batch label '%s' (letters, digits, '_', '-', '.')",
				  label ? label : "");
	w->ds = ds;
	w->key = key;
	default_opts(&w->opts, o);
	nw = w->opts.threads < 0 ? 0 : w->opts.threads > 0 ? w->opts.threads : online_cpus() >= 2 ? 2 : 0;
	nw = nw > MAX_WORKERS ? MAX_WORKERS : nw;
	nk = nw ? nw : 1;
	w->label = strdup(label);
	p = calloc(1, sizeof(*p));
	if (!w->label || !p) {
		free(p);
		free(w->label);
		w->label = NULL;
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	w->priv = p;
	p->ds = ds;
	p->key = key;
	p->label = w->label;
	p->nw = nw;
	p->maxextra = SPARE_PER_WORKER * nw;
	p->fill = calloc((size_t)ds->parts, sizeof(*p->fill));
	p->ps = calloc((size_t)ds->parts, sizeof(*p->ps));
	p->w = calloc((size_t)nk, sizeof(*p->w));
	p->spare = calloc((size_t)p->maxextra + (size_t)ds->parts + 1, sizeof(*p->spare));
	if (!p->fill || !p->ps || !p->w || !p->spare) {
		rw_free(w);
		return aq_err_set(e, AQ_ENOMEM, "out of memory");
	}
	/* the budget covers the caller's buffers and the spares in flight */
	p->chunk = w->opts.max_buffer_bytes / ((size_t)ds->parts + (size_t)p->maxextra) / ROW_BYTES;
	p->chunk = p->chunk < 1024 ? 1024 : p->chunk > w->opts.row_group_rows ? w->opts.row_group_rows : p->chunk;
	p->pq = w->opts.pq;
	p->pq.row_group_rows = p->chunk;
	p->last_part = -1;
	for (int i = 0; i < ds->parts; i++)
		p->fill[i].sorted = 1;
	for (int i = 0; i < nk; i++) {
		struct worker *k = &p->w[i];

		k->p = p;
		k->id = i;
		k->max_open = MAX_OPEN_FILES / nk > 1 ? MAX_OPEN_FILES / nk : 1;
		k->qcap = ds->parts + p->maxextra + 2;
		if (!(k->scratch = aq_pq_scratch_new()) || !(k->q = calloc((size_t)k->qcap, sizeof(*k->q)))) {
			rw_free(w);
			return aq_err_set(e, AQ_ENOMEM, "out of memory");
		}
	}
	if (nw) {
		pthread_mutex_init(&p->mu, NULL);
		pthread_cond_init(&p->cv_work, NULL);
		pthread_cond_init(&p->cv_free, NULL);
		for (int i = 0; i < nw; i++) {
			if (pthread_create(&p->w[i].th, NULL, worker_main, &p->w[i])) {
				rw_free(w);
				return aq_err_set(e, AQ_EIO, "cannot start a writer thread");
			}
			p->w[i].started = 1;
		}
	}
	return 0;
}

static inline int add_row(struct rwpriv *p, int32_t date, int64_t account, double value, struct aq_err *e)
{
	struct rbuf *b;
	int part, rc;

	if (account == p->last_acc && p->last_part >= 0) {
		part = p->last_part;
	} else {
		part = aq_part_of(account, p->ds->parts);
		p->last_acc = account;
		p->last_part = part;
	}
	b = &p->fill[part];
	if (b->n == b->cap) {
		if ((rc = full_buffer(p, part, e)))
			return rc;
		b = &p->fill[part];
	}
	if (b->n && b->sorted && aq_readings_key_lt(account, date, b->a[b->n - 1], b->d[b->n - 1]))
		b->sorted = 0;
	b->d[b->n] = date;
	b->a[b->n] = account;
	b->v[b->n] = value;
	b->n++;
	return 0;
}

int aq_readings_writer_add(struct aq_readings_writer *w, int32_t date, int64_t account, double value, struct aq_err *e)
{
	if (!w->priv)
		return aq_err_set(e, AQ_ESTATE, "readings writer is not open");
	return add_row(w->priv, date, account, value, e);
}

int aq_readings_writer_add_many(struct aq_readings_writer *w, size_t n, const int32_t *date, const int64_t *account,
				const double *value, struct aq_err *e)
{
	struct rwpriv *p = w->priv;
	int rc;

	if (!p)
		return aq_err_set(e, AQ_ESTATE, "readings writer is not open");
	for (size_t i = 0; i < n; i++)
		if ((rc = add_row(p, date[i], account[i], value[i], e)))
			return rc;
	return 0;
}

/* fsync a list of paths (files or directories) from a few threads: the device overlaps them. */
struct sync_job {
	char **paths;
	int n, next, rc, err_errno;
	char *err_path;
	pthread_mutex_t mu;
};

static void *sync_worker(void *arg)
{
	struct sync_job *j = arg;

	for (;;) {
		int i, fd, bad = 0;

		pthread_mutex_lock(&j->mu);
		i = j->rc ? j->n : j->next++;
		pthread_mutex_unlock(&j->mu);
		if (i >= j->n)
			return NULL;
		fd = open(j->paths[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0 || fsync(fd) < 0)
			bad = errno ? errno : EIO;
		if (fd >= 0)
			close(fd);
		if (bad) {
			pthread_mutex_lock(&j->mu);
			if (!j->rc) {
				j->rc = AQ_EIO;
				j->err_errno = bad;
				j->err_path = j->paths[i];
			}
			pthread_mutex_unlock(&j->mu);
		}
	}
}

static int sync_paths(char **paths, int n, struct aq_err *e)
{
	struct sync_job j = { .paths = paths, .n = n };
	pthread_t th[SYNC_THREADS];
	int nt = n < SYNC_THREADS ? n : SYNC_THREADS, started = 0;

	if (n <= 0)
		return 0;
	pthread_mutex_init(&j.mu, NULL);
	for (int i = 1; i < nt; i++)
		if (pthread_create(&th[started], NULL, sync_worker, &j) == 0)
			started++;
	sync_worker(&j); /* this thread works too (and alone if no thread could start) */
	for (int i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	pthread_mutex_destroy(&j.mu);
	if (j.rc) {
		errno = j.err_errno;
		return aq_err_sys(e, "cannot fsync '%s'", j.err_path);
	}
	return 0;
}

static char *final_name(struct rwpriv *p, int part, int idx, int nfiles)
{
	char label[160];

	if (idx == nfiles - 1)
		return aq_dataset_batch_path(p->ds, part, p->key, p->label);
	snprintf(label, sizeof(label), "%s.%06d", p->label, idx + 1);
	return aq_dataset_batch_path(p->ds, part, p->key, label);
}

/* Write out what is buffered and finish every open file: synchronously, or through the workers. */
static int drain(struct rwpriv *p, struct aq_err *e)
{
	int rc = 0;

	if (!p->nw) {
		for (int i = 0; i < p->ds->parts && !rc; i++) {
			rc = emit(p, &p->w[0], i, &p->fill[i], e);
			p->fill[i].n = 0;
		}
		return rc ? rc : finish_parts(p, &p->w[0], e);
	}
	pthread_mutex_lock(&p->mu);
	for (int i = 0; i < p->ds->parts; i++) {
		struct job j = { .part = i };

		if (!p->fill[i].n)
			continue;
		j.b = p->fill[i];
		enqueue(p, i % p->nw, &j);
		memset(&p->fill[i], 0, sizeof(p->fill[i])); /* the worker returns it to the spares */
		p->fill[i].sorted = 1;
	}
	pthread_mutex_unlock(&p->mu);
	stop_workers(p); /* each worker writes its queue, then finishes its parts' files */
	if (p->failed) {
		if (e)
			*e = p->err;
		return p->rc;
	}
	return 0;
}

int aq_readings_writer_close(struct aq_readings_writer *w, struct aq_err *e)
{
	struct rwpriv *p = w->priv;
	char **list = NULL;
	int rc, nl = 0, nfiles = 0, nk;

	if (!p)
		return aq_err_set(e, AQ_ESTATE, "readings writer is not open");
	nk = p->nw ? p->nw : 1;
	rc = drain(p, e);
	for (int i = 0; i < nk; i++) {
		w->stats.rows += p->w[i].rows;
		w->stats.files += p->w[i].files;
		w->stats.bytes += p->w[i].bytes;
		nfiles += p->w[i].ndone;
	}
	if (rc)
		goto out;
	list = malloc(((size_t)nfiles + (size_t)w->ds->parts + 1) * sizeof(*list));
	if (!list) {
		rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
		goto out;
	}
	/* 1. every file complete: make the contents durable */
	for (int i = 0; i < nk; i++)
		for (int f = 0; f < p->w[i].ndone; f++)
			list[nl++] = p->w[i].done[f].f.tmp;
	if ((rc = sync_paths(list, nl, e)))
		goto out;
	/* 2. give them their names (order of creation within a part = order of names) */
	for (int i = 0; i < nk && !rc; i++) {
		for (int f = 0; f < p->w[i].ndone && !rc; f++) {
			struct pfile *pf = &p->w[i].done[f];
			char *name = final_name(p, pf->part, pf->idx, p->ps[pf->part].nfiles);

			if (!name) {
				rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
				break;
			}
			free(pf->f.path);
			pf->f.path = name;
			rc = aq_pq_commit_renamed(&pf->f, e); /* leaves pf empty: rw_free skips it */
		}
	}
	/* 3. make the renames durable */
	nl = 0;
	for (int i = 0; i < w->ds->parts && !rc; i++)
		if (p->ps[i].touched && !(list[nl++] = aq_dataset_part_dir(w->ds, i)))
			rc = aq_err_set(e, AQ_ENOMEM, "out of memory");
	if (!rc)
		rc = sync_paths(list, nl, e);
	for (int i = 0; i < nl; i++)
		free(list[i]);
out:
	free(list);
	rw_free(w);
	return rc;
}

void aq_readings_writer_abort(struct aq_readings_writer *w)
{
	struct rwpriv *p = w->priv;

	if (p && p->nw) {
		pthread_mutex_lock(&p->mu);
		p->failed = 1; /* workers drop what is queued */
		p->rc = AQ_EINTR;
		pthread_mutex_unlock(&p->mu);
	}
	rw_free(w);
}
