/* stop.c — clean-stop requests from SIGINT/SIGTERM. */
#include "stop.h"

#include <string.h>

volatile sig_atomic_t aq_stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	aq_stop_requested = 1;
}

int aq_stop_install(struct aq_err *e)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGINT, &sa, NULL) || sigaction(SIGTERM, &sa, NULL))
		return aq_err_sys(e, "cannot install the SIGINT/SIGTERM handler");
	return 0;
}
