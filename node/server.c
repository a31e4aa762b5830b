/*
 * server.c: listening sockets, accepting clients, the cron, signals and
 * shutdown.
 *
 * Accepting runs the checks Redis runs on a new connection, in order:
 * maxclients (reply "-ERR max number of clients reached" and close), then
 * protected mode (no password and a non-loopback peer: reply Redis's
 * DENIED explanation and close).  The cron runs `hz` times a second: the
 * active expiry cycle, idle client timeouts, the ops/sec samples,
 * incremental rehashing while idle, and CLIENT PAUSE expiry.
 */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "aof.h"
#include "blocking.h"
#include "client.h"
#include "cmd_conn.h"
#include "db.h"
#include "info.h"
#include "evict.h"
#include "log.h"
#include "rdb.h"
#include "repl/repl.h"

#define MAX_ACCEPTS_PER_CALL 1000

static const char protected_mode_err[] =
    "-DENIED Redis is running in protected mode because protected mode is "
    "enabled and no password is set for the default user. In this mode "
    "connections are only accepted from the loopback interface. If you want "
    "to connect from external computers to Redis you may adopt one of the "
    "following solutions: 1) Just disable protected mode sending the command "
    "'CONFIG SET protected-mode no' from the loopback interface by "
    "connecting to Redis from the same host the server is running, however "
    "MAKE SURE Redis is not publicly accessible from internet if you do so. "
    "Use CONFIG REWRITE to make this change permanent. 2) Alternatively you "
    "can just disable the protected mode by editing the Redis configuration "
    "file, and setting the protected mode option to 'no', and then "
    "restarting the server. 3) If you started the server manually just for "
    "testing, restart it with the '--protected-mode no' option. 4) Setup a "
    "an authentication password for the default user. NOTE: You only need "
    "to do one of the above things in order for the server to start "
    "accepting connections from the outside.\r\n";

long long node_unix_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

long long node_unix_ms(void)
{
    return node_unix_us() / 1000;
}

long long node_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* ---- accepting ----------------------------------------------------- */

/* Loopback as Redis's connIsLocal sees it. */
static int peer_is_local(const struct sockaddr_storage *ss)
{
    char ip[INET6_ADDRSTRLEN];
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        return strcmp(ip, "127.0.0.1") == 0;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        return strcmp(ip, "::1") == 0;
    }
    return 1; /* unix socket */
}

static void reject(int fd, const char *msg, size_t len)
{
    /* best effort: the socket is fresh, the message fits its buffer */
    ssize_t w = write(fd, msg, len);
    (void)w;
    close(fd);
}

static void tune_socket(node_t *n, int fd)
{
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    if (n->tcp_keepalive > 0) {
        int secs = (int)n->tcp_keepalive;
        int intvl = secs / 3 ? secs / 3 : 1, cnt = 3;
        setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof(secs));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl, sizeof(intvl));
        setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
    }
}

static void accept_one(node_t *n, int fd, const struct sockaddr_storage *ss)
{
    n->stats.conns_received++;
    if ((long long)n->nclients >= n->maxclients) {
        static const char err[] = "-ERR max number of clients reached\r\n";
        n->stats.rejected_conns++;
        reject(fd, err, sizeof(err) - 1);
        return;
    }
    int local = peer_is_local(ss);
    if (n->protected_mode && !local &&
        (n->requirepass == NULL || n->requirepass[0] == '\0')) {
        n->stats.rejected_conns++;
        reject(fd, protected_mode_err, sizeof(protected_mode_err) - 1);
        return;
    }
    tune_socket(n, fd);
    client_create(n, fd, local);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    node_t *n = arg;
    for (int i = 0; i < MAX_ACCEPTS_PER_CALL; i++) {
        struct sockaddr_storage ss;
        socklen_t len = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &len,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
                log_msg(LL_WARNING, "Accepting client connection: %s",
                        strerror(errno));
            return;
        }
        accept_one(n, fd, &ss);
    }
}

/* ---- listening ----------------------------------------------------- */

/* Open one listener for `addr` ("*", "::*", "1.2.3.4", "::1"; a leading
 * '-' makes failure to bind non-fatal, as in Redis).  Returns the fd, -1
 * on error, -2 on a tolerated error. */
static int listen_on(node_t *n, const char *addr)
{
    int optional = addr[0] == '-';
    if (optional) addr++;
    const char *host = addr;
    if (strcmp(addr, "*") == 0) host = "0.0.0.0";
    else if (strcmp(addr, "::*") == 0) host = "::";
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    char port[16];
    snprintf(port, sizeof(port), "%lld", n->port);
    int rc = getaddrinfo(host, port, &hints, &res);
    if (rc != 0) {
        log_msg(LL_WARNING, "Invalid bind address '%s': %s", addr,
                gai_strerror(rc));
        return optional ? -2 : -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    int one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (res->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
        listen(fd, (int)n->tcp_backlog) != 0) {
        int err = errno;
        if (fd >= 0) close(fd);
        freeaddrinfo(res);
        if (optional && (err == EADDRNOTAVAIL || err == EAFNOSUPPORT ||
                         err == EPROTONOSUPPORT))
            return -2;
        log_msg(LL_WARNING, "Warning: Could not create server TCP listening "
                "socket %s:%lld: %s", addr, n->port, strerror(err));
        return -1;
    }
    freeaddrinfo(res);
    return fd;
}

static void close_listeners(node_t *n)
{
    for (int i = 0; i < n->nlisten; i++) {
        event_free(n->listen_evs[i]);
        close(n->listen_fds[i]);
    }
    n->nlisten = 0;
}

static int open_listeners(node_t *n)
{
    if (n->port == 0) return 0;     /* port 0: no TCP, as Redis */
    char *copy = ts_strdup(n->bind_str ? n->bind_str : "* -::*");
    char *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        if (n->nlisten == NODE_MAX_BIND) break;
        int fd = listen_on(n, tok);
        if (fd == -2) continue;
        if (fd < 0) {
            rc = -1;
            break;
        }
        n->listen_fds[n->nlisten] = fd;
        n->listen_evs[n->nlisten] =
            event_new(n->base, fd, EV_READ | EV_PERSIST, on_accept, n);
        event_add(n->listen_evs[n->nlisten], NULL);
        n->nlisten++;
    }
    ts_free(copy);
    if (rc == 0 && n->nlisten == 0) {
        log_msg(LL_WARNING, "Failed listening on any bind address");
        rc = -1;
    }
    if (rc != 0) close_listeners(n);
    return rc;
}

const char *server_rebind(node_t *n)
{
    int saved_n = n->nlisten;
    int fds[NODE_MAX_BIND];
    struct event *evs[NODE_MAX_BIND];
    memcpy(fds, n->listen_fds, sizeof(fds));
    memcpy(evs, n->listen_evs, sizeof(evs));
    n->nlisten = 0;
    for (int i = 0; i < saved_n; i++) event_del(evs[i]);
    if (open_listeners(n) != 0) {
        /* restore the old listeners */
        memcpy(n->listen_fds, fds, sizeof(fds));
        memcpy(n->listen_evs, evs, sizeof(evs));
        n->nlisten = saved_n;
        for (int i = 0; i < saved_n; i++) event_add(evs[i], NULL);
        return "Failed to bind to specified addresses.";
    }
    for (int i = 0; i < saved_n; i++) {
        event_free(evs[i]);
        close(fds[i]);
    }
    return NULL;
}

/* ---- cron ------------------------------------------------------------ */

static void sample_ops(node_t *n, long long now_ms)
{
    node_stats_t *s = &n->stats;
    long long dt = now_ms - s->ops_last_ms;
    if (dt < 100) return;
    long long ops = s->commands - s->ops_last_count;
    s->ops_samples[s->ops_idx] = ops * 1000 / dt;
    s->ops_idx = (s->ops_idx + 1) % 16;
    s->ops_last_ms = now_ms;
    s->ops_last_count = s->commands;
}

long long server_ops_per_sec(const node_t *n)
{
    long long sum = 0;
    for (int i = 0; i < 16; i++) sum += n->stats.ops_samples[i];
    return sum / 16;
}

static void close_idle_clients(node_t *n, long long now_ms)
{
    if (n->timeout <= 0) return;
    client_t *next;
    for (client_t *c = n->clients; c; c = next) {
        next = c->next;
        if (c->flags & (CLF_MONITOR | CLF_PAUSED | CLF_MASTER | CLF_REPLICA |
                        CLF_REPL_WAIT))
            continue;
        if (now_ms - c->last_ms > n->timeout * 1000) {
            log_msg(LL_VERBOSE, "Closing idle client");
            client_free(c);
        }
    }
}

static void on_cron(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    node_t *n = arg;
    long long now_ms = node_unix_ms();
    n->cron_loops++;
    ks_set_lru_clock(n->ks, evict_new_clock(n, now_ms));
    /* replicas wait for the master's DELs (Redis 7.0) */
    if (n->active_expire_enabled && !n->replica_mode)
        db_active_expire(n, now_ms);
    ks_rehash_step(n->ks, 100);
    sample_ops(n, now_ms);
    close_idle_clients(n, now_ms);
    rdb_cron(n, now_ms);    /* reap BGSAVE, scheduled BGSAVE, save points */
    aof_cron(n, now_ms);    /* reap BGREWRITEAOF, retries, everysec fsync */
    repl_cron(n, now_ms);   /* sync children, pings, acks, the master link */
    if (n->pause_end_ms && now_ms >= n->pause_end_ms) {
        n->pause_end_ms = 0;
        conn_unpause_clients(n);
    }
    if (n->busy_poll_us && now_ms - n->spin_sample_ms >= 100) {
        n->spin_sample_ms = now_ms;
        spin_gate_sample(&n->spin_gate);
    }
    if (n->shutdown_asap) event_base_loopbreak(n->base);
}

void server_rearm_cron(node_t *n)
{
    long long hz = n->hz < 1 ? 1 : (n->hz > 500 ? 500 : n->hz);
    struct timeval tv = {.tv_sec = 0, .tv_usec = (suseconds_t)(1000000 / hz)};
    if (hz == 1) {
        tv.tv_sec = 1;
        tv.tv_usec = 0;
    }
    event_add(n->cron_ev, &tv);
}

/* ---- signals and shutdown ---------------------------------------------- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
    (void)what;
    node_t *n = arg;
    const char *name = sig == SIGINT ? "SIGINT" : "SIGTERM";
    log_msg(LL_WARNING, "Received %s scheduling shutdown...", name);
    if (rdb_shutdown_save(n, 0, 0) != 0) {
        log_msg(LL_WARNING, "%s received but errors trying to shut down the "
                            "server, check the logs for more information",
                name);
        return;
    }
    server_request_shutdown(n, 0);
}

void server_request_shutdown(node_t *n, int exit_code)
{
    n->shutdown_asap = 1;
    n->exit_code = exit_code;
    event_base_loopbreak(n->base);
}

void server_reset_stats(node_t *n)
{
    memset(&n->stats, 0, sizeof(n->stats));
    memset(n->cmd_stats, 0, sizeof(n->cmd_stats));
    n->stats.ops_last_ms = node_unix_ms();
}

int server_setup(node_t *n)
{
    if (open_listeners(n) != 0) return -1;
    n->cron_ev = event_new(n->base, -1, EV_PERSIST, on_cron, n);
    server_rearm_cron(n);
    spin_gate_init(&n->spin_gate);
    n->sig_evs[0] = evsignal_new(n->base, SIGINT, on_signal, n);
    n->sig_evs[1] = evsignal_new(n->base, SIGTERM, on_signal, n);
    event_add(n->sig_evs[0], NULL);
    event_add(n->sig_evs[1], NULL);
    signal(SIGPIPE, SIG_IGN);
    n->stats.ops_last_ms = node_unix_ms();
    info_sample_memory(n);
    log_msg(LL_NOTICE, "Ready to accept connections tcp");
    return 0;
}

void server_teardown(node_t *n)
{
    while (n->clients) {
        n->clients->flags &= ~CLF_IN_COMMAND;
        client_free(n->clients);
    }
    close_listeners(n);
    for (int i = 0; i < 2; i++)
        if (n->sig_evs[i]) event_free(n->sig_evs[i]);
    if (n->cron_ev) event_free(n->cron_ev);
    n->cron_ev = NULL;
    spin_gate_deinit(&n->spin_gate);
}

/* busy-poll-us: after a round that read client input, keep polling without
 * sleeping until no input has arrived for busy_poll_us. A client waiting on
 * a reply sends its next request within a few microseconds; catching it
 * while still running spares both sides the sleep and the cross-CPU wakeup
 * (on loopback and in VMs the wakeup costs more than serving the command).
 * Idle servers never spin: the spin only follows input.  Nor do servers on
 * a machine with no CPU to spare (the spin gate, spin.h). */
static void busy_poll(node_t *n)
{
    long long seen = n->stats.io_reads;
    if (seen == n->busy_poll_last_reads) return;
    if (!spin_gate_open(&n->spin_gate)) {
        n->busy_poll_last_reads = seen;
        return;
    }
    long long deadline = node_mono_us() + n->busy_poll_us;
    while (!n->shutdown_asap) {
        /* ONCE as well: NONBLOCK alone keeps looping while any event is
         * active, so a client that never stops sending would starve the
         * writes and closes below (a flood was read to the end). */
        if (event_base_loop(n->base, EVLOOP_NONBLOCK | EVLOOP_ONCE) < 0)
            break;
        block_resume_unblocked(n);
        client_write_pending(n);
        long long now = node_mono_us();
        if (n->stats.io_reads != seen) {
            seen = n->stats.io_reads;
            deadline = now + n->busy_poll_us;
        } else if (now >= deadline) {
            break;
        }
    }
    n->busy_poll_last_reads = n->stats.io_reads;
}

int server_run(node_t *n)
{
    while (!n->shutdown_asap) {
        /* EVLOOP_ONCE: the loop returns after each round of events, so a
         * shutdown requested by a command takes effect right away. */
        if (event_base_loop(n->base, EVLOOP_ONCE) < 0) break;
        block_resume_unblocked(n);
        client_write_pending(n);
        if (n->busy_poll_us) busy_poll(n);
    }
    client_write_pending(n);
    /* Let the last replies (SHUTDOWN's error paths, QUIT) go out. */
    for (client_t *c = n->clients; c; c = c->next)
        if (buf_len(&c->obuf)) {
            ssize_t w = write(c->fd, buf_rptr(&c->obuf), buf_len(&c->obuf));
            (void)w;
        }
    log_msg(LL_WARNING, "Tessera is now ready to exit, bye bye...");
    return n->exit_code;
}
