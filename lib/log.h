/* log.h — leveled logging to stderr and a rate-limited progress line for TTYs. */
#ifndef AQ_LOG_H
#define AQ_LOG_H

#include <stdint.h>

enum aq_log_level { AQ_LOG_ERROR = 0, AQ_LOG_WARN, AQ_LOG_INFO, AQ_LOG_DEBUG };

/* The level starts from $AQUACAST_LOG (error|warn|info|debug), default info. */
void aq_log_set_level(enum aq_log_level lvl);
enum aq_log_level aq_log_get_level(void);
/* Prefix of every line, e.g. the binary's name ("aquacast-train"). */
void aq_log_set_prog(const char *prog);
void aq_log(enum aq_log_level lvl, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Erase the TTY progress line, if one is shown (before writing to stderr directly). */
void aq_log_clear_progress(void);

#define aq_error(...) aq_log(AQ_LOG_ERROR, __VA_ARGS__)
#define aq_warn(...) aq_log(AQ_LOG_WARN, __VA_ARGS__)
#define aq_info(...) aq_log(AQ_LOG_INFO, __VA_ARGS__)
#define aq_debug(...) aq_log(AQ_LOG_DEBUG, __VA_ARGS__)

/*
 * Progress: on a TTY stderr, one self-overwriting line at most every 0.2 s
 * ("label: N / total unit (P%), rate/s, eta"), erased before any log line; elsewhere a log line every 10 s
 * at info level, so long runs under Airflow still show life. Thread-safe
 * through atomics: workers call aq_progress_add().
 */
struct aq_progress {
	const char *label, *unit;
	uint64_t total;            /* 0 when unknown */
	_Atomic uint64_t done;
	double t0;
	_Atomic double t_last;     /* last print */
	int tty;
};

void aq_progress_init(struct aq_progress *p, const char *label, const char *unit, uint64_t total);
void aq_progress_add(struct aq_progress *p, uint64_t n);
/* Clear the TTY line and log a final summary line at info level. */
void aq_progress_finish(struct aq_progress *p);

/* Monotonic seconds, for timings. */
double aq_now(void);

#endif
