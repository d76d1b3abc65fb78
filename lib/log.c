/* log.c — leveled logging to stderr and rate-limited progress reporting. */
#include "log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

static int level = -1;
static const char *prog = "aquacast";
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int line_open; /* a progress line is on the TTY, without its newline (under lock) */

/* Under lock: erase the progress line so the next text starts on a clean line. */
static void clear_line_locked(void)
{
	if (line_open) {
		fputs("\r\033[K", stderr);
		line_open = 0;
	}
}

void aq_log_clear_progress(void)
{
	pthread_mutex_lock(&lock);
	clear_line_locked();
	pthread_mutex_unlock(&lock);
}

static enum aq_log_level level_from_env(void)
{
	const char *s = getenv("AQUACAST_LOG");

	if (!s)
		return AQ_LOG_INFO;
	if (!strcasecmp(s, "error"))
		return AQ_LOG_ERROR;
	if (!strcasecmp(s, "warn"))
		return AQ_LOG_WARN;
	if (!strcasecmp(s, "debug"))
		return AQ_LOG_DEBUG;
	return AQ_LOG_INFO;
}

void aq_log_set_level(enum aq_log_level lvl) { level = lvl; }

enum aq_log_level aq_log_get_level(void)
{
	if (level < 0)
		level = level_from_env();
	return level;
}

void aq_log_set_prog(const char *p) { prog = p; }

void aq_log(enum aq_log_level lvl, const char *fmt, ...)
{
	static const char *names[] = { "error", "warning", "info", "debug" };
	va_list ap;

	if ((int)lvl > (int)aq_log_get_level())
		return;
	pthread_mutex_lock(&lock);
	clear_line_locked(); /* a warning is never glued onto the progress line */
	fprintf(stderr, "%s: %s: ", prog, names[lvl]);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	pthread_mutex_unlock(&lock);
}

double aq_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

void aq_progress_init(struct aq_progress *p, const char *label, const char *unit, uint64_t total)
{
	p->label = label;
	p->unit = unit;
	p->total = total;
	atomic_store(&p->done, 0);
	p->t0 = aq_now();
	atomic_store(&p->t_last, p->t0);
	p->tty = isatty(STDERR_FILENO) && aq_log_get_level() >= AQ_LOG_INFO;
}

static void print_line(struct aq_progress *p, double now, uint64_t done, int final)
{
	double el = now - p->t0, rate = el > 0 ? done / el : 0;
	char eta[32] = "";

	if (p->total && rate > 0 && done < p->total)
		snprintf(eta, sizeof(eta), ", eta %.0fs", (p->total - done) / rate);
	pthread_mutex_lock(&lock);
	if (p->tty && !final) {
		if (p->total)
			fprintf(stderr, "\r%s: %llu / %llu %s (%.0f%%), %.0f/s%s\033[K", p->label,
				(unsigned long long)done, (unsigned long long)p->total, p->unit,
				100.0 * (double)done / (double)p->total, rate, eta);
		else
			fprintf(stderr, "\r%s: %llu %s, %.0f/s\033[K", p->label,
				(unsigned long long)done, p->unit, rate);
		fflush(stderr);
		line_open = 1;
	} else {
		clear_line_locked();
		if (p->total)
			fprintf(stderr, "%s: info: %s: %llu / %llu %s in %.2fs (%.0f/s)%s\n", prog, p->label,
				(unsigned long long)done, (unsigned long long)p->total, p->unit, el, rate,
				final ? "" : eta);
		else
			fprintf(stderr, "%s: info: %s: %llu %s in %.2fs (%.0f/s)\n", prog, p->label,
				(unsigned long long)done, p->unit, el, rate);
	}
	pthread_mutex_unlock(&lock);
}

void aq_progress_add(struct aq_progress *p, uint64_t n)
{
	uint64_t done = atomic_fetch_add(&p->done, n) + n;
	double now, last, period;

	if (aq_log_get_level() < AQ_LOG_INFO)
		return;
	period = p->tty ? 0.2 : 10.0;
	now = aq_now();
	last = atomic_load(&p->t_last);
	if (now - last < period)
		return;
	if (!atomic_compare_exchange_strong(&p->t_last, &last, now))
		return; /* another thread prints this tick */
	print_line(p, now, done, 0);
}

void aq_progress_finish(struct aq_progress *p)
{
	if (aq_log_get_level() < AQ_LOG_INFO)
		return;
	print_line(p, aq_now(), atomic_load(&p->done), 1);
}
