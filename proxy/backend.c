/*
 * backend.c: multiplexed, pipelined connections from a worker to nodes.
 *
 * One connection per (worker, node, protocol): requests from all of the
 * worker's clients are appended to be->out and written with one write()
 * per loop iteration (worker.c's flush); replies come back in the order
 * the requests were written, so a FIFO of breq_t pairs them up.
 * resp_scan_reply only finds where each reply ends; the bytes are then
 * relayed (route.c) without being parsed into values.
 *
 * RESP3 clients get their own links that said HELLO 3, so their replies
 * need no conversion.  A connection that fails, closes, times out or
 * sends garbage fails exactly the requests waiting on it, with an error
 * naming the backend, and asks for a topology refresh; the next request
 * for that node reconnects.
 */
#include <errno.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "proxy.h"

#define READ_CHUNK (64 * 1024)
#define BUF_KEEP (64 * 1024)
/* A lost or refused node is not reconnected to more often than this. */
#define RECONNECT_GAP_MS 100

static void on_read(evutil_socket_t fd, short what, void *arg);
static void on_write(evutil_socket_t fd, short what, void *arg);

static backend_t *backend_new(worker_t *w, const char *addr, int proto)
{
    backend_t *be = ts_calloc(1, sizeof(*be));
    be->w = w;
    be->proto = proto;
    be->fd = -1;
    snprintf(be->addr, sizeof(be->addr), "%s", addr);
    const char *colon = strrchr(addr, ':');
    size_t hl = colon ? (size_t)(colon - addr) : 0;
    if (hl >= sizeof(be->host)) hl = sizeof(be->host) - 1;
    memcpy(be->host, addr, hl);
    be->host[hl] = '\0';
    if (hl >= 2 && be->host[0] == '[') {
        memmove(be->host, be->host + 1, hl - 2);
        be->host[hl - 2] = '\0';
    }
    be->port = colon ? atoi(colon + 1) : 0;
    buf_init(&be->in);
    buf_init(&be->out);
    resp_scan_init(&be->scan);
    return be;
}

backend_t *backend_for_addr(worker_t *w, const char *addr, int proto)
{
    for (backend_t *be = w->backends; be; be = be->next)
        if (be->proto == proto && strcmp(be->addr, addr) == 0) return be;
    backend_t *be = backend_new(w, addr, proto);
    be->next = w->backends;
    __atomic_store_n(&w->backends, be, __ATOMIC_RELEASE);
    return be;
}

static void queue(backend_t *be, breq_t *b);

static void send_readonly(backend_t *be)
{
    breq_t *b = breq_alloc(be->w, NULL, be->proto);
    resp_arg_t av = {"READONLY", 8};
    resp_w_command(&b->cmd, 1, &av);
    queue(be, b);
}

backend_t *backend_for_replica(worker_t *w, int r, int proto)
{
    backend_t **slot = &w->by_rep[proto - 2][r];
    if (!*slot) {
        backend_t *be = backend_for_addr(w, w->topo->reps[r].addr, proto);
        if (!be->readonly) {
            /* was a master's link (a failover turned it into a replica):
             * READONLY now if connected, else after the next connect */
            be->readonly = 1;
            if (be->fd >= 0) send_readonly(be);
        }
        *slot = be;
    }
    return *slot;
}

backend_t *backend_create_pinned(worker_t *w, const char *addr, int proto)
{
    backend_t *be = backend_new(w, addr, proto);
    be->pinned = 1;
    return be;
}

backend_t *backend_for_node(worker_t *w, int idx, int proto)
{
    backend_t **slot = &w->by_node[proto - 2][idx];
    if (!*slot)
        *slot = backend_for_addr(w, w->topo->masters[idx].addr, proto);
    return *slot;
}

static void mark_dirty(backend_t *be)
{
    if (be->dirty) return;
    be->dirty = 1;
    be->dirty_next = be->w->dirty_backends;
    be->w->dirty_backends = be;
    worker_schedule_flush(be->w);
}

/* Drop the connection.  `lost`: the node is gone or unreachable (closed,
 * reset, refused), so the requests waiting on it are parked for
 * failover-wait (route_park) and the link is not retried for
 * RECONNECT_GAP_MS; otherwise (timeout, garbage) they fail with `why`.
 * Requests written before a loss may have run on the node: resending
 * them is at-least-once, as a cluster client's retry would be. */
static void backend_close(backend_t *be, const char *why, int lost)
{
    worker_t *w = be->w;
    if (be->fd >= 0) {
        event_free(be->rev);
        event_free(be->wev);
        be->rev = be->wev = NULL;
        close(be->fd);
        be->fd = -1;
    }
    be->connecting = 0;
    be->write_armed = 0;
    if (be->sub) pubsub_link_lost(be->sub);     /* re-subscribes elsewhere */
    buf_clear(&be->in);
    buf_clear(&be->out);
    buf_shrink(&be->in, BUF_KEEP);
    buf_shrink(&be->out, BUF_KEEP);
    resp_scan_init(&be->scan);
    breq_t *b = be->head;
    be->head = be->tail = NULL;
    be->npending = 0;
    if (b) {
        be->errors++;
        wstat_inc(&w->st.backend_failures);
        log_ratelimited(LL_WARNING, 5, "Backend %s: %s", be->addr, why);
    }
    if (be->pinned) {
        lost = 0;           /* a transaction's link: fail, never replay */
        if (be->owner) tx_pin_lost(be);
    }
    if (lost) {
        be->down_until_ms = proxy_mono_ms() + RECONNECT_GAP_MS;
        snprintf(be->down_why, sizeof(be->down_why), "%s", why);
    }
    char err[256];
    snprintf(err, sizeof(err), "ERR tessera-proxy: backend %s %s", be->addr,
             why);
    while (b) {
        breq_t *next = b->next;
        b->next = NULL;
        if (lost) route_park(b, be, err);
        else breq_fail(b, "%s", err);
        b = next;
    }
    topo_request_refresh(w->p);
}

static void queue(backend_t *be, breq_t *b)
{
    b->next = NULL;
    b->sent_ms = be->w->now_ms;
    if (be->tail) be->tail->next = b;
    else be->head = b;
    be->tail = b;
    be->npending++;
    buf_append(&be->out, buf_rptr(&b->cmd), buf_len(&b->cmd));
}

/* TESSERA MULTISLOT ON: a Tessera node says +OK and then takes MGET
 * MSET DEL UNLINK EXISTS TOUCH with keys of several of its slots (one
 * sub-request per node, route.c); Redis says -ERR unknown command, and
 * the link keeps the per-slot split.  Written ahead of every request on
 * the link, so requests split before the answer is known are still
 * read by the node after it. */
static void send_multislot(backend_t *be)
{
    be->multislot = 0;
    /* single-backend mode forwards multi-key commands whole: no need */
    if (be->pinned || !be->w->p->multislot ||
        (be->w->topo && be->w->topo->single))
        return;
    breq_t *b = breq_alloc(be->w, NULL, be->proto);
    resp_arg_t av[3] = {{"TESSERA", 7}, {"MULTISLOT", 9}, {"ON", 2}};
    resp_w_command(&b->cmd, 3, av);
    b->probe = 1;
    b->be = be;
    queue(be, b);
}

/* First requests on a new link: HELLO 3 and/or AUTH (replies dropped),
 * READONLY on a replica's link, TESSERA MULTISLOT ON. */
static void handshake(backend_t *be)
{
    proxy_t *p = be->w->p;
    const char *pass = p->backend_password;
    const char *user = p->backend_user && p->backend_user[0]
                           ? p->backend_user : NULL;
    int auth = pass && pass[0];
    if (be->proto == 2 && !auth) {
        if (be->readonly) send_readonly(be);
        send_multislot(be);
        return;
    }
    breq_t *b = breq_alloc(be->w, NULL, be->proto);
    resp_arg_t av[5];
    int ac = 0;
    if (be->proto == 3) {
        av[ac++] = (resp_arg_t){"HELLO", 5};
        av[ac++] = (resp_arg_t){"3", 1};
        if (auth) {
            if (!user) user = "default";
            av[ac++] = (resp_arg_t){"AUTH", 4};
            av[ac++] = (resp_arg_t){user, strlen(user)};
            av[ac++] = (resp_arg_t){pass, strlen(pass)};
        }
    } else {
        av[ac++] = (resp_arg_t){"AUTH", 4};
        if (user) av[ac++] = (resp_arg_t){user, strlen(user)};
        av[ac++] = (resp_arg_t){pass, strlen(pass)};
    }
    resp_w_command(&b->cmd, ac, av);
    queue(be, b);
    if (be->readonly) send_readonly(be);
    send_multislot(be);
}

static int backend_connect(backend_t *be)
{
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", be->port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res;
    /* numeric addresses (what CLUSTER SHARDS gives) resolve without I/O */
    if (getaddrinfo(be->host, portstr, &hints, &res) != 0) return -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    if (fd < 0) {
        freeaddrinfo(res);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = connect(fd, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0 && errno != EINPROGRESS) {
        close(fd);
        return -1;
    }
    be->fd = fd;
    be->connecting = 1;
    be->connect_ms = be->w->now_ms;
    be->rev = event_new(be->w->base, fd, EV_READ | EV_PERSIST, on_read, be);
    be->wev = event_new(be->w->base, fd, EV_WRITE | EV_PERSIST, on_write, be);
    event_add(be->rev, NULL);
    event_add(be->wev, NULL);
    be->write_armed = 1;
    handshake(be);
    return 0;
}

void backend_send(backend_t *be, breq_t *b)
{
    worker_t *w = be->w;
    b->be = be;
    if (be->fd < 0 && be->pinned) {
        if (backend_connect(be) != 0) {
            int e = errno;
            breq_fail(b, "ERR tessera-proxy: can't connect to backend %s: %s",
                      be->addr, strerror(e));
            return;
        }
    } else if (be->fd < 0) {
        char err[256];
        if (be->down_until_ms && proxy_mono_ms() < be->down_until_ms) {
            snprintf(err, sizeof(err), "ERR tessera-proxy: backend %s %s",
                     be->addr, be->down_why);
            route_park(b, be, err);
            return;
        }
        if (backend_connect(be) != 0) {
            int e = errno;
            wstat_inc(&w->st.backend_failures);
            topo_request_refresh(w->p);
            be->down_until_ms = proxy_mono_ms() + RECONNECT_GAP_MS;
            snprintf(be->down_why, sizeof(be->down_why),
                     "can't be connected to: %s", strerror(e));
            snprintf(err, sizeof(err),
                     "ERR tessera-proxy: can't connect to backend %s: %s",
                     be->addr, strerror(e));
            route_park(b, be, err);
            return;
        }
    }
    be->requests++;
    queue(be, b);
    if (!be->connecting) mark_dirty(be);
}

int backend_send_raw(backend_t *be, const char *p, size_t n)
{
    if (be->fd < 0 && backend_connect(be) != 0) return -1;
    be->requests++;
    buf_append(&be->out, p, n);
    if (!be->connecting) mark_dirty(be);
    return 0;
}

void backend_flush(backend_t *be)
{
    if (be->fd < 0 || be->connecting || buf_len(&be->out) == 0) return;
    ssize_t n = proxy_write(be->fd, buf_rptr(&be->out), buf_len(&be->out));
    if (n < 0 && errno != EAGAIN && errno != EINTR) {
        char why[128];
        snprintf(why, sizeof(why), "write error: %s", strerror(errno));
        backend_close(be, why, 1);
        return;
    }
    if (n > 0) buf_consume(&be->out, (size_t)n);
    int want = buf_len(&be->out) > 0;
    if (want != be->write_armed) {
        if (want) event_add(be->wev, NULL);
        else event_del(be->wev);
        be->write_armed = want;
    }
}

static void on_write(evutil_socket_t fd, short what, void *arg)
{
    backend_t *be = arg;
    (void)what;
    if (be->connecting) {
        int err = 0;
        socklen_t el = sizeof(err);
        getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
        if (err) {
            char why[128];
            snprintf(why, sizeof(why), "connect failed: %s", strerror(err));
            backend_close(be, why, 1);
            return;
        }
        be->connecting = 0;
    }
    backend_flush(be);
}

static void on_read(evutil_socket_t fd, short what, void *arg)
{
    backend_t *be = arg;
    (void)what;
    topo_sync(be->w);
    if (buf_avail(&be->in) < READ_CHUNK) buf_reserve(&be->in, READ_CHUNK);
    ssize_t n = proxy_read(fd, buf_wptr(&be->in), buf_avail(&be->in));
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        backend_close(be, n == 0 ? "closed the connection"
                                 : "connection error", 1);
        return;
    }
    be->in.wpos += (size_t)n;
    while (buf_len(&be->in) > 0) {
        size_t used;
        const char *err = NULL;
        ts_status_t st = resp_scan_reply(&be->scan, buf_rptr(&be->in),
                                         buf_len(&be->in), &used, &err);
        if (st == TS_AGAIN) break;
        if (st != TS_OK) {
            backend_close(be, "sent a malformed reply", 0);
            return;
        }
        resp_scan_init(&be->scan);
        if (be->sub && !be->head) {     /* pub/sub link: pubsub.c reads it */
            int rc = pubsub_on_frame(be->sub, buf_rptr(&be->in), used);
            buf_consume(&be->in, used);
            if (rc != 0) {
                backend_close(be, "sent a reply nobody asked for", 0);
                return;
            }
            continue;
        }
        if (buf_rptr(&be->in)[0] == '>') {     /* out-of-band push: drop */
            buf_consume(&be->in, used);
            continue;
        }
        breq_t *b = be->head;
        if (!b) {
            backend_close(be, "sent a reply nobody asked for", 0);
            return;
        }
        be->head = b->next;
        if (!be->head) be->tail = NULL;
        be->npending--;
        b->next = NULL;
        /* route_on_reply copies what it keeps before we consume */
        route_on_reply(b, buf_rptr(&be->in), used);
        buf_consume(&be->in, used);
    }
    /* a client's own link (pub/sub, transaction) idles most of the time:
     * its read buffer is not kept between reads (thousands of them) */
    if (buf_len(&be->in) == 0 && (be->in.cap > BUF_KEEP || be->pinned))
        buf_shrink(&be->in, be->pinned ? 0 : BUF_KEEP);
}

void backend_cron(worker_t *w)
{
    proxy_t *p = w->p;
    for (backend_t *be = w->backends; be; be = be->next) {
        if (be->fd < 0) continue;
        if (be->connecting && w->now_ms - be->connect_ms > p->connect_timeout_ms)
            backend_close(be, "connect timed out", 1);
        else if (be->head &&
                 w->now_ms - be->head->sent_ms > p->backend_timeout_ms)
            backend_close(be, "timed out", 0);
    }
}

void backend_check_pinned(backend_t *be, long long now_ms)
{
    breq_t *h = be->head;
    if (be->fd < 0 || !h || h->wait_ms < 0) return;
    long long limit = h->wait_ms ? h->wait_ms : be->w->p->backend_timeout_ms;
    if (now_ms - h->sent_ms > limit) backend_close(be, "timed out", 0);
}

void backend_shutdown(backend_t *be)
{
    backend_close(be, "is being closed (proxy shutting down)", 0);
}

void backend_drop(backend_t *be, const char *why)
{
    backend_close(be, why, 0);
}

void backend_free(backend_t *be)
{
    if (be->fd >= 0) {
        event_free(be->rev);
        event_free(be->wev);
        close(be->fd);
    }
    /* requests still queued belong to clients being freed too */
    breq_t *b = be->head;
    while (b) {
        breq_t *next = b->next;
        if (!b->parent) breq_free(be->w, b);
        b = next;
    }
    buf_deinit(&be->in);
    buf_deinit(&be->out);
    ts_free(be);
}

void breq_fail(breq_t *b, const char *fmt, ...)
{
    char msg[512];
    msg[0] = '-';
    b->failing = 1;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg + 1, sizeof(msg) - 3, fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    size_t len = 1 + ((size_t)n < sizeof(msg) - 3 ? (size_t)n : sizeof(msg) - 4);
    for (size_t i = 1; i < len; i++)
        if (msg[i] == '\r' || msg[i] == '\n') msg[i] = ' ';
    msg[len++] = '\r';
    msg[len++] = '\n';
    route_on_reply(b, msg, len);
}
