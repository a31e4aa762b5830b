/*
 * worker.c: worker threads, listeners, the per-loop flush, the cron.
 *
 * Each worker owns one libevent base (created without locks: nothing but
 * its own thread touches it), its own listening sockets (SO_REUSEPORT on
 * the same port, so the kernel spreads new connections over the workers
 * without an acceptor thread), its clients and its backend connections.
 * The only cross-thread traffic is the topology generation (an atomic),
 * a wake-up eventfd for shutdown, and relaxed atomic counters read by
 * INFO / PROXY.
 *
 * Request and reply objects are recycled through per-worker free lists so
 * the steady state allocates nothing per command.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "auth.h"
#include "log.h"
#include "proxy.h"

#define MAX_ACCEPTS_PER_CALL 256
#define CRON_MS 100
#define FREE_LIST_KEEP_BYTES 16384

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

long long proxy_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

long long proxy_unix_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- free lists ---------------------------------------------------- */

preq_t *preq_alloc(worker_t *w, pclient_t *c, int kind)
{
    preq_t *q = w->free_preqs;
    if (q) {
        w->free_preqs = q->next;
    } else {
        q = ts_calloc(1, sizeof(*q));
        buf_init(&q->reply);
    }
    q->next = NULL;
    q->c = c;
    q->kind = kind;
    q->done = 0;
    q->pending = 0;
    q->nsub = 0;
    q->proto = c ? c->proto : 2;
    q->subs = NULL;
    q->nkeys = 0;
    q->keymap = NULL;
    q->info_text = NULL;
    return q;
}

/* A recycled buffer keeps its allocation unless a large reply grew it
 * (tested here: a forwarded request frees two or three per reply). */
static inline void recycle_buf(buf_t *b)
{
    buf_clear(b);
    if (b->cap > FREE_LIST_KEEP_BYTES) buf_shrink(b, FREE_LIST_KEEP_BYTES);
}

void preq_free(worker_t *w, preq_t *q)
{
    if (q->subs) {      /* merged kinds only */
        for (int i = 0; i < q->nsub; i++)
            if (q->subs[i]) breq_free(w, q->subs[i]);
        ts_free(q->subs);
    }
    if (q->keymap) ts_free(q->keymap);
    if (q->info_text) ts_free(q->info_text);
    recycle_buf(&q->reply);
    q->next = w->free_preqs;
    w->free_preqs = q;
}

breq_t *breq_alloc(worker_t *w, preq_t *parent, int proto)
{
    breq_t *b = w->free_breqs;
    if (b) {
        w->free_breqs = b->next;
    } else {
        b = ts_calloc(1, sizeof(*b));
        buf_init(&b->cmd);
        buf_init(&b->reply);
    }
    b->next = NULL;
    b->parent = parent;
    b->proto = proto;
    b->redirects = 0;
    b->retries = 0;
    b->done = 0;
    b->sent_ms = 0;
    b->deadline_ms = 0;
    b->slot = -1;
    b->be = NULL;
    b->retry_ev = NULL;
    b->wait_until_ms = 0;
    b->parked = 0;
    b->failing = 0;
    b->read = 0;
    b->multislot = 0;
    b->probe = 0;
    b->wait_ms = 0;
    b->w = w;
    return b;
}

void breq_free(worker_t *w, breq_t *b)
{
    recycle_buf(&b->cmd);
    recycle_buf(&b->reply);
    b->next = w->free_breqs;
    w->free_breqs = b;
}

/* ---- flush ---------------------------------------------------------- */

/* Runs after every pass of the loop over the ready events (worker_main):
 * clients unpaused by replies parse what they hold, then each dirty
 * backend and each dirty client gets one write for the whole batch.
 * Doing it here rather than in an activated libevent event saves the
 * activation machinery, ~500 instructions per forwarded request. */
static void flush_all(worker_t *w)
{
    while (w->flush_pending) {
        w->flush_pending = 0;
        for (pclient_t *c = w->dirty_clients; c; c = c->dirty_next)
            if (c->resume) client_maybe_resume(c);
        while (w->dirty_backends) {
            backend_t *be = w->dirty_backends;
            w->dirty_backends = be->dirty_next;
            be->dirty = 0;
            be->dirty_next = NULL;
            backend_flush(be);
        }
        while (w->dirty_clients) {
            pclient_t *c = w->dirty_clients;
            w->dirty_clients = c->dirty_next;
            c->dirty = 0;
            c->dirty_next = NULL;
            client_flush(c);
        }
    }
}

static void on_cron(evutil_socket_t fd, short what, void *arg)
{
    worker_t *w = arg;
    uint64_t expirations;
    (void)what;
    ssize_t n = read(fd, &expirations, sizeof(expirations));
    (void)n;
    w->now_ms = proxy_mono_ms();
    topo_sync(w);
    if (w->parked_head) {
        /* requests wait for a failover: poll the topology */
        topo_request_refresh(w->p);
        route_unpark(w, 0);
    }
    backend_cron(w);
    client_cron(w);
    pubsub_cron(w);
    if (w->idx == 0 && w->p->busy_poll_us) spin_gate_sample(&w->p->spin_gate);
}

/* The wake eventfd adds up what is written: WAKE_STOP (shutdown) or 1
 * (worker_wake_all, a new map); a sum past WAKE_STOP means stop. */
#define WAKE_STOP (1ULL << 32)

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
    worker_t *w = arg;
    uint64_t v;
    (void)what;
    ssize_t n = read(fd, &v, sizeof(v));
    if (n != (ssize_t)sizeof(v) || v >= WAKE_STOP) {
        w->stopping = 1;
        return;
    }
    /* worker_wake_all: a pushed map may name the owner held requests
     * wait for; replay them now rather than at the next cron */
    topo_sync(w);
}

void worker_wake_all(proxy_t *p)
{
    if (!p->workers) return;
    for (int i = 0; i < p->nworkers; i++) {
        uint64_t one = 1;
        if (p->workers[i].tid) {
            ssize_t n = write(p->workers[i].wake_fd, &one, sizeof(one));
            (void)n;
        }
    }
}

/* ---- accepting ------------------------------------------------------ */

static void addr_str(const struct sockaddr_storage *ss, char *out, size_t sz)
{
    char ip[INET6_ADDRSTRLEN] = "?";
    int port = 0;
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        inet_ntop(AF_INET, &s->sin_addr, ip, sizeof(ip));
        port = ntohs(s->sin_port);
    } else if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        inet_ntop(AF_INET6, &s->sin6_addr, ip, sizeof(ip));
        port = ntohs(s->sin6_port);
    }
    snprintf(out, sz, "%s:%d", ip, port);
}

static int peer_is_local(const struct sockaddr_storage *ss)
{
    if (ss->ss_family == AF_INET) {
        const struct sockaddr_in *s = (const struct sockaddr_in *)ss;
        return ntohl(s->sin_addr.s_addr) == 0x7f000001u;
    }
    if (ss->ss_family == AF_INET6) {
        const struct sockaddr_in6 *s = (const struct sockaddr_in6 *)ss;
        return IN6_IS_ADDR_LOOPBACK(&s->sin6_addr);
    }
    return 1;
}

static void reject(int fd, const char *msg, size_t len)
{
    ssize_t n = write(fd, msg, len);    /* best effort on a fresh socket */
    (void)n;
    close(fd);
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    worker_t *w = arg;
    proxy_t *p = w->p;
    (void)what;
    topo_sync(w);
    for (int i = 0; i < MAX_ACCEPTS_PER_CALL; i++) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &sl,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
                log_ratelimited(LL_WARNING, 1, "Accepting client connection: %s",
                                strerror(errno));
            return;
        }
        wstat_inc(&w->st.connections);
        if (atomic_fetch_add(&p->nclients, 1) >= p->maxclients) {
            static const char err[] = "-ERR max number of clients reached\r\n";
            atomic_fetch_sub(&p->nclients, 1);
            reject(fd, err, sizeof(err) - 1);
            continue;
        }
        if (p->protected_mode && !peer_is_local(&ss) &&
            auth_default_nopass(p)) {
            atomic_fetch_sub(&p->nclients, 1);
            reject(fd, protected_mode_err, sizeof(protected_mode_err) - 1);
            continue;
        }
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        if (p->tcp_keepalive > 0) {
            int secs = (int)p->tcp_keepalive;
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
            setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &secs, sizeof(secs));
        }
        char addr[PROXY_MAX_ADDR], laddr[PROXY_MAX_ADDR];
        struct sockaddr_storage ls;
        socklen_t ll = sizeof(ls);
        addr_str(&ss, addr, sizeof(addr));
        if (getsockname(fd, (struct sockaddr *)&ls, &ll) == 0)
            addr_str(&ls, laddr, sizeof(laddr));
        else
            snprintf(laddr, sizeof(laddr), "?");
        client_create(w, fd, addr, laddr);
    }
}

/* One listening socket with SO_REUSEPORT; -1 with errno on failure. */
static int listen_on(proxy_t *p, const char *host)
{
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%lld", p->port);
    int v6 = strchr(host, ':') != NULL;
    const char *h = host;
    if (strcmp(host, "*") == 0) h = "0.0.0.0";
    else if (strcmp(host, "::*") == 0) h = "::";
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM,
                             .ai_flags = AI_PASSIVE | AI_NUMERICHOST,
                             .ai_family = v6 ? AF_INET6 : AF_INET};
    struct addrinfo *res;
    if (getaddrinfo(h, portstr, &hints, &res) != 0) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    int one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
        if (v6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
        if (bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
            listen(fd, (int)p->tcp_backlog) != 0) {
            int e = errno;
            close(fd);
            fd = -1;
            errno = e;
        }
    }
    freeaddrinfo(res);
    return fd;
}

static int worker_listen(worker_t *w)
{
    proxy_t *p = w->p;
    char *copy = ts_strdup(p->bind_str ? p->bind_str : "*");
    char *save = NULL;
    int rc = 0;
    for (char *tok = strtok_r(copy, " ", &save); tok;
         tok = strtok_r(NULL, " ", &save)) {
        int optional = tok[0] == '-';
        const char *host = tok + optional;
        int fd = listen_on(p, host);
        if (fd < 0) {
            if (optional) continue;
            log_msg(LL_WARNING, "Could not create server TCP listening socket "
                                "%s:%lld: %s", host, p->port, strerror(errno));
            rc = -1;
            break;
        }
        w->lfd[w->nlisten] = fd;
        w->lev[w->nlisten] = event_new(w->base, fd, EV_READ | EV_PERSIST,
                                       on_accept, w);
        event_add(w->lev[w->nlisten], NULL);
        w->nlisten++;
    }
    ts_free(copy);
    if (rc == 0 && w->nlisten == 0) {
        log_msg(LL_WARNING, "No listening socket could be created");
        rc = -1;
    }
    return rc;
}

/* ---- lifecycle ------------------------------------------------------ */

static long long mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* busy-poll-us (as the node's): after a pass that moved data, keep polling
 * without sleeping until nothing has moved for busy_poll_us, so the next
 * request or reply, usually microseconds away, finds the thread running
 * instead of paying a sleep and a cross-CPU wakeup.  Idle proxies never
 * spin: the spin only follows activity; nor do proxies on a machine with
 * no CPU to spare (the spin gate, spin.h). */
static void busy_poll(worker_t *w, long long us)
{
    long long deadline = mono_us() + us;
    while (!w->stopping) {
        /* ONCE as well: NONBLOCK alone keeps looping while any event is
         * active, and the flush below would wait for input to stop. */
        if (event_base_loop(w->base, EVLOOP_NONBLOCK | EVLOOP_ONCE) < 0)
            break;
        int active = w->flush_pending;
        flush_all(w);
        long long now = mono_us();
        if (active) deadline = now + us;
        else if (now >= deadline) break;
    }
}

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    long long spin = w->p->busy_poll_us;
    topo_sync(w);
    /* one pass over the ready events, then one flush for the batch */
    while (!w->stopping) {
        if (event_base_loop(w->base, EVLOOP_ONCE) < 0) break;
        int active = w->flush_pending;
        flush_all(w);
        if (spin && active && spin_gate_open(&w->p->spin_gate))
            busy_poll(w, spin);
    }
    return NULL;
}

static int worker_init(proxy_t *p, worker_t *w, int idx)
{
    w->p = p;
    w->idx = idx;
    /* The cron ticks through a timerfd, not a libevent timer: with no
     * timer in the heap and no time cache, a loop pass reads no clock
     * (libevent otherwise reads it 2-3 times per pass to compute the
     * epoll timeout and refresh its cache, ~350 instructions per
     * forwarded GET).  Timers still work (TRYAGAIN retries use them);
     * while one is pending the passes just cost what they did before. */
    struct event_config *cfg = event_config_new();
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK);
    event_config_set_flag(cfg, EVENT_BASE_FLAG_NO_CACHE_TIME);
    w->base = event_base_new_with_config(cfg);
    event_config_free(cfg);
    if (!w->base) return -1;
    int tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
    if (tfd < 0) return -1;
    struct itimerspec its = {{0, CRON_MS * 1000000L}, {0, CRON_MS * 1000000L}};
    timerfd_settime(tfd, 0, &its, NULL);
    w->cron_ev = event_new(w->base, tfd, EV_READ | EV_PERSIST, on_cron, w);
    event_add(w->cron_ev, NULL);
    w->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    w->wake_ev = event_new(w->base, w->wake_fd, EV_READ | EV_PERSIST, on_wake,
                           w);
    event_add(w->wake_ev, NULL);
    w->now_ms = proxy_mono_ms();
    w->slot_group = ts_malloc(sizeof(int) * SLOT_COUNT);
    for (size_t s = 0; s < SLOT_COUNT; s++) w->slot_group[s] = -1;
    return worker_listen(w);
}

static void worker_deinit(worker_t *w)
{
    /* fail what is in flight first, so every request is freed once */
    route_cancel_retries(w);
    for (backend_t *be = w->backends; be; be = be->next) backend_shutdown(be);
    while (w->clients) client_free(w->clients);
    while (w->backends) {
        backend_t *be = w->backends;
        w->backends = be->next;
        backend_free(be);
    }
    while (w->free_preqs) {
        preq_t *q = w->free_preqs;
        w->free_preqs = q->next;
        buf_deinit(&q->reply);
        ts_free(q);
    }
    while (w->free_breqs) {
        breq_t *b = w->free_breqs;
        w->free_breqs = b->next;
        buf_deinit(&b->cmd);
        buf_deinit(&b->reply);
        ts_free(b);
    }
    for (int i = 0; i < w->nlisten; i++) {
        event_free(w->lev[i]);
        close(w->lfd[i]);
    }
    if (w->cron_ev) {
        int tfd = event_get_fd(w->cron_ev);
        event_free(w->cron_ev);
        close(tfd);
    }
    if (w->wake_ev) event_free(w->wake_ev);
    if (w->wake_fd > 0) close(w->wake_fd);
    for (int k = 0; k < 2; k++) ts_free(w->by_node[k]);
    for (int k = 0; k < 2; k++) ts_free(w->by_rep[k]);
    ts_free(w->slot_group);
    ts_free(w->node_group);
    if (w->topo) topo_release(w->topo);
    if (w->base) event_base_free(w->base);
}

int worker_start_all(proxy_t *p)
{
    spin_gate_init(&p->spin_gate);
    route_init();
    p->workers = ts_calloc((size_t)p->nworkers, sizeof(worker_t));
    for (int i = 0; i < p->nworkers; i++)
        if (worker_init(p, &p->workers[i], i) != 0) return -1;
    for (int i = 0; i < p->nworkers; i++)
        if (pthread_create(&p->workers[i].tid, NULL, worker_main,
                           &p->workers[i]) != 0)
            return -1;
    return 0;
}

void worker_stop_all(proxy_t *p)
{
    if (!p->workers) return;
    for (int i = 0; i < p->nworkers; i++) {
        uint64_t stop = WAKE_STOP;
        if (p->workers[i].tid) {
            ssize_t n = write(p->workers[i].wake_fd, &stop, sizeof(stop));
            (void)n;
        }
    }
    for (int i = 0; i < p->nworkers; i++)
        if (p->workers[i].tid) pthread_join(p->workers[i].tid, NULL);
    for (int i = 0; i < p->nworkers; i++) worker_deinit(&p->workers[i]);
    ts_free(p->workers);
    p->workers = NULL;
    spin_gate_deinit(&p->spin_gate);
}
