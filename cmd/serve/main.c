/* aquacast-serve — serve the champion: KServe V2 inference, the dashboard and its JSON API, Prometheus metrics, hot swaps. */
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "log.h"
#include "serve.h"
#include "stop.h"

static const char help[] =
	"usage: aquacast-serve [--set DIR] [--tracking-uri URI [--alias A] [--poll S]] [options]\n"
	"\n"
	"Loads the champion model set into memory (every account indexed) and answers over HTTP:\n"
	"the KServe V2 / Open Inference Protocol (/v2/health/live|ready, /v2/models/NAME[/infer]),\n"
	"the dashboard's JSON API (/api/accounts, /api/accounts/OID, /api/forecast, /api/bill),\n"
	"Prometheus metrics (/metrics) and the dashboard's files (--web). SIGHUP reloads the champion\n"
	"(and --poll checks the registry alias); requests in flight finish on the set they started\n"
	"with. SIGTERM/SIGINT stop cleanly. Access log on stderr; the last stdout line is a JSON summary.\n"
	"\n"
	"  --set DIR             a sealed model set, evaluate's output directory, or a version\n"
	"                        downloaded by aquacast-register --download (reloaded from DIR on SIGHUP)\n"
	"  --tracking-uri URI    or: the registry (file:DIR or http(s)://MLflow) whose alias is served;\n"
	"                        with --set too, DIR is served first and reloads come from the alias\n"
	"  --model-name NAME     registered model (default aquacast-water-forecast)\n"
	"  --alias A             alias to serve (default champion)\n"
	"  --poll SECONDS        check the alias every SECONDS (default 0: only on SIGHUP)\n"
	"  --work-dir DIR        where versions are downloaded (default $TMPDIR/aquacast-serve.PID)\n"
	"  --host ADDR           IPv4 address to listen on (default 127.0.0.1; 0.0.0.0 in a pod)\n"
	"  --port N              port (default 8080; 0: any free port, see --port-file)\n"
	"  --port-file FILE      write the bound port into FILE once ready\n"
	"  --threads N           HTTP worker threads (default 2)\n"
	"  --max-body BYTES      request body limit, 413 above (default 65536)\n"
	"  --max-batch N         accounts per V2 request (default 1000)\n"
	"  --max-horizon DAYS    forecast days after an account's last reading (default 366)\n"
	"  --timeout S           idle connection timeout (default 30)\n"
	"  --tariff FILE         block tariff for /api/bill (deploy/tariff.example.json)\n"
	"  --web DIR             the dashboard's built files (web/dist)\n"
	"  --model-v2-name NAME  the V2 model name (default aquacast)\n"
	"  --no-access-log       no line per request on stderr\n"
	"  -h, --help            this help\n"
	"\n"
	"exit: 0 stopped by a signal after serving, 1 failure (nothing to serve, port taken), 2 usage\n";

static volatile sig_atomic_t reload_requested;

static void on_hup(int sig)
{
	(void)sig;
	reload_requested = 1;
}

enum { O_SET = 256, O_URI, O_MODEL, O_ALIAS, O_POLL, O_WORK, O_HOST, O_PORT, O_PORTFILE, O_THREADS, O_BODY,
       O_BATCH, O_HORIZON, O_TIMEOUT, O_TARIFF, O_WEB, O_V2NAME, O_NOLOG };

int main(int argc, char **argv)
{
	cli_init(argv[0]);
	struct aq_serve_opts o;
	aq_serve_opts_default(&o);
	o.server_version = "0.1";
	static const struct option lo[] = {
		{"set", required_argument, 0, O_SET}, {"tracking-uri", required_argument, 0, O_URI},
		{"model-name", required_argument, 0, O_MODEL}, {"alias", required_argument, 0, O_ALIAS},
		{"poll", required_argument, 0, O_POLL}, {"work-dir", required_argument, 0, O_WORK},
		{"host", required_argument, 0, O_HOST}, {"port", required_argument, 0, O_PORT},
		{"port-file", required_argument, 0, O_PORTFILE}, {"threads", required_argument, 0, O_THREADS},
		{"max-body", required_argument, 0, O_BODY}, {"max-batch", required_argument, 0, O_BATCH},
		{"max-horizon", required_argument, 0, O_HORIZON}, {"timeout", required_argument, 0, O_TIMEOUT},
		{"tariff", required_argument, 0, O_TARIFF}, {"web", required_argument, 0, O_WEB},
		{"model-v2-name", required_argument, 0, O_V2NAME}, {"no-access-log", no_argument, 0, O_NOLOG},
		{"help", no_argument, 0, 'h'}, {0, 0, 0, 0}};
	int c;
	while ((c = cli_getopt(argc, argv, "h", lo)) != -1) {
		switch (c) {
		case O_SET: o.set = optarg; break;
		case O_URI: o.registry = optarg; break;
		case O_MODEL: o.model = optarg; break;
		case O_ALIAS: o.alias = optarg; break;
		case O_POLL: o.poll_seconds = cli_real("--poll", optarg, 0, 86400, 0); break;
		case O_WORK: o.work_dir = optarg; break;
		case O_HOST: o.http.host = optarg; break;
		case O_PORT: o.http.port = (int)cli_int("--port", optarg, 0, 65535); break;
		case O_PORTFILE: o.port_file = optarg; break;
		case O_THREADS: o.http.threads = (int)cli_int("--threads", optarg, 1, 64); break;
		case O_BODY: o.http.max_body = o.limits.max_body = (size_t)cli_int("--max-body", optarg, 256, 64 << 20); break;
		case O_BATCH: o.limits.max_batch = (int)cli_int("--max-batch", optarg, 1, 100000); break;
		case O_HORIZON: o.limits.max_horizon = (int)cli_int("--max-horizon", optarg, 1, 3660); break;
		case O_TIMEOUT: o.http.timeout_s = (unsigned)cli_int("--timeout", optarg, 1, 3600); break;
		case O_TARIFF: o.tariff = optarg; break;
		case O_WEB: o.web = optarg; break;
		case O_V2NAME: o.v2_name = optarg; break;
		case O_NOLOG: o.http.access_log = 0; break;
		case 'h': cli_help(help);
		}
	}
	if (optind < argc)
		cli_usage("unexpected argument '%s'", argv[optind]);
	if (!o.set && !o.registry)
		cli_usage("give --set DIR or --tracking-uri URI (or both: DIR first, then the alias)");
	if (o.poll_seconds > 0 && !o.registry)
		cli_usage("--poll needs --tracking-uri (a --set directory reloads on SIGHUP)");
	struct aq_err e = {0};
	if (aq_stop_install(&e))
		return cli_fail_err(&e);
	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_hup;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	o.stop = &aq_stop_requested;
	o.reload = &reload_requested;
	struct aq_serve_stats st = {0};
	int rc = aq_serve_run(&o, &st, &e);
	cli_set_int("port", st.port);
	cli_set_str("version", st.version[0] ? st.version : NULL);
	cli_set_int("accounts", (long long)st.accounts);
	cli_set_int("requests", (long long)st.requests);
	cli_set_int("reloads_ok", st.reloads_ok);
	cli_set_int("reloads_failed", st.reloads_failed);
	if (rc)
		return cli_fail_err(&e);
	aq_info("stopped after %llu requests", (unsigned long long)st.requests);
	return cli_finish(CLI_EXIT_OK, NULL);
}
