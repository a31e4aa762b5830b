/*
 * main.c: tessera-proxy start-up and shutdown.
 *
 *   tessera-proxy [config-file] [--option value ...]
 *
 * The main thread loads the options, learns the topology (and will not
 * start without one), starts the workers, and then runs a small event
 * loop of its own for signals and topology refreshes: periodic ones, and
 * those workers ask for (MOVED, lost backends) through a pipe, coalesced
 * to at most one per REFRESH_MIN_GAP_MS.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "auth.h"
#include "busobs.h"
#include "cmdtab.h"
#include "config.h"
#include "hash.h"
#include "log.h"
#include "proc.h"
#include "proxy.h"

#define REFRESH_MIN_GAP_MS 100
#define START_TOPO_ATTEMPTS 50      /* x 200 ms */

static void usage(void)
{
    fprintf(stderr,
            "Usage: ./tessera-proxy [/path/to/proxy.conf] [options] [-]\n"
            "       ./tessera-proxy - (read config from stdin)\n"
            "       ./tessera-proxy -v or --version\n"
            "       ./tessera-proxy -h or --help\n\n"
            "Examples:\n"
            "       ./tessera-proxy --cluster-nodes 10.0.0.1:7000,10.0.0.2:7000\n"
            "       ./tessera-proxy /etc/tessera/proxy.conf --threads 4\n");
}

static void do_refresh(proxy_t *p)
{
    if (topo_refresh(p) != 0)
        log_ratelimited(LL_WARNING, 1, "Topology refresh failed: %s",
                        p->topo_error);
}

static void on_refresh_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    do_refresh(arg);
}

static void on_refresh_request(evutil_socket_t fd, short what, void *arg)
{
    proxy_t *p = arg;
    char tmp[256];
    (void)what;
    while (read(fd, tmp, sizeof(tmp)) > 0) {}
    long long since = proxy_mono_ms() - p->last_refresh_ms;
    if (since >= REFRESH_MIN_GAP_MS) {
        do_refresh(p);
        return;
    }
    /* too soon: one refresh when the gap has passed (pending ones merge) */
    struct timeval tv = {0, (REFRESH_MIN_GAP_MS - since) * 1000};
    if (!evtimer_pending(p->refresh_timer, NULL))
        evtimer_add(p->refresh_timer, &tv);
}

static void on_periodic(evutil_socket_t fd, short what, void *arg)
{
    proxy_t *p = arg;
    (void)fd;
    (void)what;
    if (proxy_mono_ms() - p->last_refresh_ms >= p->refresh_interval_ms)
        do_refresh(p);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    proxy_t *p = arg;
    (void)what;
    log_msg(LL_WARNING, "Received %s, shutting down.",
            sig == SIGINT ? "SIGINT" : "SIGTERM");
    event_base_loopbreak(p->base);
}

static int default_threads(void)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n > 0 ? (int)n : 1;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "-v") == 0 ||
                      strcmp(argv[1], "--version") == 0)) {
        printf("tessera-proxy v=%s redis-compat=%s bits=64\n", PROXY_VERSION,
               PROXY_REDIS_VERSION);
        return 0;
    }
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 ||
                      strcmp(argv[1], "--help") == 0)) {
        usage();
        return 0;
    }
    signal(SIGPIPE, SIG_IGN);
    cmdtab_setup();
    hash_seed_random();     /* pubsub.c hashes client-chosen channel names */
    proxy_t *p = ts_calloc(1, sizeof(*p));
    pthread_mutex_init(&p->topo_lock, NULL);
    atomic_init(&p->next_client_id, 1);
    p->start_ms = proxy_unix_ms();
    p->refresh_pipe[0] = p->refresh_pipe[1] = -1;

    size_t nopts;
    config_opt_t *opts = options_for_proxy(p, &nopts);
    p->config = config_create(opts, nopts, p);
    const char *derr = config_load_defaults(p->config);
    if (derr) {
        fprintf(stderr, "Bad default configuration: %s\n", derr);
        return 1;
    }
    char *err = config_load_argv(p->config, argc - 1, argv + 1);
    if (err) {
        fputs(err, stderr);
        ts_free(err);
        return 1;
    }
    auth_setup(p);
    if (log_setup(p->logfile, p->loglevel) != 0) {
        fprintf(stderr, "Can't open the log file: %s\n", strerror(errno));
        return 1;
    }
    log_set_role('P');
    if (p->daemonize && ts_daemonize() != 0) {
        log_msg(LL_WARNING, "fork: %s", strerror(errno));
        return 1;
    }
    ts_write_pidfile(p->pidfile);
    ts_random_hex(p->runid, 40);
    p->nworkers = p->threads > 0 ? (int)p->threads : default_threads();
    log_msg(LL_NOTICE, "tessera-proxy %s starting, pid=%d, %d worker thread(s)",
            PROXY_VERSION, (int)getpid(), p->nworkers);

    int rc = 1;
    if (pipe2(p->refresh_pipe, O_NONBLOCK | O_CLOEXEC) != 0) goto out;
    /* the cluster may still be starting: keep asking for ~10 s */
    for (int i = 0; topo_refresh(p) != 0; i++) {
        if (i + 1 >= START_TOPO_ATTEMPTS) {
            log_msg(LL_WARNING, "Can't learn the cluster topology: %s",
                    p->topo_error);
            goto out;
        }
        usleep(200 * 1000);
    }
    struct event_config *ecfg = event_config_new();
    event_config_set_flag(ecfg, EVENT_BASE_FLAG_NOLOCK);
    p->base = event_base_new_with_config(ecfg);
    event_config_free(ecfg);
    /* before the workers: PROXY (on a worker) reads p->busobs */
    if (busobs_setup(p) != 0) goto out;
    if (worker_start_all(p) != 0) goto out;

    p->refresh_ev = event_new(p->base, p->refresh_pipe[0],
                              EV_READ | EV_PERSIST, on_refresh_request, p);
    event_add(p->refresh_ev, NULL);
    p->refresh_timer = evtimer_new(p->base, on_refresh_timer, p);
    struct event *periodic =
        event_new(p->base, -1, EV_PERSIST, on_periodic, p);
    struct timeval ptv = {0, 100 * 1000};
    event_add(periodic, &ptv);
    p->sig_ev[0] = evsignal_new(p->base, SIGTERM, on_signal, p);
    p->sig_ev[1] = evsignal_new(p->base, SIGINT, on_signal, p);
    event_add(p->sig_ev[0], NULL);
    event_add(p->sig_ev[1], NULL);
    log_msg(LL_NOTICE, "Ready to accept connections tcp (port %lld)", p->port);
    event_base_dispatch(p->base);
    rc = 0;
    event_free(periodic);

out:
    worker_stop_all(p);
    busobs_teardown(p);
    if (p->refresh_ev) event_free(p->refresh_ev);
    if (p->refresh_timer) event_free(p->refresh_timer);
    for (int i = 0; i < 2; i++)
        if (p->sig_ev[i]) event_free(p->sig_ev[i]);
    if (p->base) event_base_free(p->base);
    for (int i = 0; i < 2; i++)
        if (p->refresh_pipe[i] >= 0) close(p->refresh_pipe[i]);
    if (p->topo) topo_release(p->topo);
    if (p->pidfile && p->pidfile[0]) unlink(p->pidfile);
    config_destroy(p->config);
    auth_teardown(p);
    ts_free(opts);
    ts_free(p->bind_str);
    pthread_mutex_destroy(&p->topo_lock);
    log_teardown();
    ts_free(p);
    return rc;
}
