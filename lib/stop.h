/* stop.h — clean-stop requests: SIGINT/SIGTERM set one flag that long-running library loops poll. */
#ifndef AQ_STOP_H
#define AQ_STOP_H

#include <signal.h>

#include "err.h"

/*
 * Set to 1 by the handler aq_stop_install puts on SIGINT and SIGTERM. Loops
 * that take a `const volatile sig_atomic_t *stop` (extract, ingest, replay)
 * finish the batch in hand, make it durable, and return AQ_EINTR or report
 * `stopped`, so Ctrl-C or an Airflow task kill never leaves a half state.
 */
extern volatile sig_atomic_t aq_stop_requested;

/* Install the handler (no SA_RESTART: blocking calls return EINTR and the loop sees the flag). */
int aq_stop_install(struct aq_err *e);

#endif
