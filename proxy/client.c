/*
 * client.c: client connections of the proxy.
 *
 * A client's requests form a FIFO of preq_t.  Each request is routed as
 * soon as it is parsed (route.c), so one client's pipeline fans out over
 * several backends at once; replies may come back in any order, but a
 * reply only moves to c->out when every request before it has moved, so
 * the client sees them in request order.
 *
 * Back-pressure instead of unbounded buffering: while a client has
 * `max-pipeline` requests in flight, or more than OUT_PAUSE bytes it has
 * not read yet, the proxy stops reading from it (the kernel's socket
 * buffers then push back on the client).  client-output-buffer-limit
 * closes a client whose unread replies pass the configured limits.
 */
#include <errno.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "auth.h"
#include "log.h"
#include "proxy.h"
#include "reply.h"

#define READ_CHUNK (16 * 1024)
#define OUT_PAUSE (256 * 1024)
#define QBUF_KEEP (32 * 1024)
#define OBUF_KEEP (32 * 1024)

static void client_on_read(evutil_socket_t fd, short what, void *arg);
static void client_on_write(evutil_socket_t fd, short what, void *arg);

void client_create(worker_t *w, int fd, const char *addr, const char *laddr)
{
    proxy_t *p = w->p;
    pclient_t *c = ts_calloc(1, sizeof(*c));
    c->w = w;
    c->fd = fd;
    c->id = atomic_fetch_add(&p->next_client_id, 1);
    buf_init(&c->in);
    buf_init(&c->out);
    resp_req_init(&c->req);
    c->proto = 2;
    c->user = auth_default_user(p);
    c->authenticated = auth_default_open(p);
    c->last_cmd = -1;
    c->pin_slot = -1;
    buf_init(&c->tx_hold);
    snprintf(c->addr, sizeof(c->addr), "%s", addr);
    snprintf(c->laddr, sizeof(c->laddr), "%s", laddr);
    c->created_ms = c->last_ms = proxy_mono_ms();
    c->rev = event_new(w->base, fd, EV_READ | EV_PERSIST, client_on_read, c);
    c->wev = event_new(w->base, fd, EV_WRITE | EV_PERSIST, client_on_write, c);
    event_add(c->rev, NULL);
    c->reading = 1;
    c->next = w->clients;
    if (w->clients) w->clients->prev = c;
    w->clients = c;
    w->nclients++;
}

void client_free(pclient_t *c)
{
    worker_t *w = c->w;
    if (c->prev) c->prev->next = c->next;
    else w->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    if (c->dirty) {
        pclient_t **pp = &w->dirty_clients;
        while (*pp && *pp != c) pp = &(*pp)->dirty_next;
        if (*pp) *pp = c->dirty_next;
    }
    /* requests still out are orphaned: freed when their replies arrive
     * (parked ones are failed now, they might wait for seconds) */
    int parked = c->nparked > 0;
    preq_t *q = c->head;
    while (q) {
        preq_t *next = q->next;
        q->c = NULL;
        q->next = NULL;
        if (q->pending == 0) preq_free(w, q);
        q = next;
    }
    if (parked) route_drop_orphans(w);
    tx_client_free(c);
    pubsub_client_free(c);
    event_free(c->rev);
    event_free(c->wev);
    close(c->fd);
    buf_deinit(&c->in);
    buf_deinit(&c->out);
    resp_req_deinit(&c->req);
    ts_free(c->name);
    w->nclients--;
    atomic_fetch_sub(&w->p->nclients, 1);
    ts_free(c);
}

static void mark_dirty(pclient_t *c)
{
    if (c->dirty) return;
    c->dirty = 1;
    c->dirty_next = c->w->dirty_clients;
    c->w->dirty_clients = c;
    worker_schedule_flush(c->w);
}

static int may_read(const pclient_t *c)
{
    return !c->close_after_reply && c->npending < c->w->p->max_pipeline &&
           buf_len(&c->out) < OUT_PAUSE;
}

static void set_reading(pclient_t *c, int on)
{
    if (c->reading == on) return;
    c->reading = on;
    if (on) event_add(c->rev, NULL);
    else event_del(c->rev);
}

/* 1 if c's unread replies are over client-output-buffer-limit: the hard
 * limit at once, the soft one once c has stayed over it for more than
 * its seconds without a break (Redis's checkClientOutputBufferLimits).
 * A client with any subscription is in the pubsub class, as in Redis. */
static int obuf_over_limit(pclient_t *c)
{
    proxy_t *p = c->w->p;
    const obuf_limit_t *lim =
        &p->obuf[c->ps && pubsub_subscribed(c) ? OBUF_PUBSUB : OBUF_NORMAL];
    size_t used = buf_len(&c->out);
    if (lim->hard && (long long)used >= lim->hard) return 1;
    if (lim->soft && (long long)used >= lim->soft) {
        long long now = proxy_mono_ms();
        if (!c->obuf_soft_since) c->obuf_soft_since = now;
        else if (now - c->obuf_soft_since > lim->soft_secs * 1000)
            return 1;
    } else {
        c->obuf_soft_since = 0;
    }
    return 0;
}

static void protocol_error(pclient_t *c, const char *err)
{
    preq_t *q = preq_alloc(c->w, c, PK_LOCAL);
    if (c->tail) c->tail->next = q;
    else c->head = q;
    c->tail = q;
    c->npending++;
    reply_t r;
    reply_init(&r, &q->reply, c->proto);
    reply_error(&r, err);
    wstat_inc(&c->w->st.protocol_errors);
    log_msg(LL_VERBOSE, "Protocol error (%s) from client: id=%llu addr=%s",
            err, c->id, c->addr);
    buf_clear(&c->in);
    resp_req_reset(&c->req);
    c->close_after_reply = 1;
    set_reading(c, 0);
    client_preq_done(q);
}

static void process_input(pclient_t *c)
{
    proxy_t *p = c->w->p;
    resp_limits_t lim;
    resp_limits_default(&lim);
    lim.max_bulk_len = p->proto_max_bulk_len;
    while (buf_len(&c->in) > 0 && !c->close_after_reply) {
        if (!may_read(c)) {
            c->paused = 1;
            set_reading(c, 0);
            break;
        }
        size_t used = 0;
        const char *err = NULL;
        lim.unauthenticated = !c->authenticated;
        ts_status_t st = resp_parse_request(&c->req, buf_rptr(&c->in),
                                            buf_len(&c->in), &lim, &used,
                                            &err);
        if (st == TS_AGAIN) break;
        if (st != TS_OK) {
            protocol_error(c, err ? err : "ERR Protocol error");
            return;
        }
        if (c->req.argc > 0)
            route_request(c, c->req.argc, c->req.argv,
                          c->req.inline_cmd ? NULL : buf_rptr(&c->in), used);
        buf_consume(&c->in, used);
    }
    if (buf_len(&c->in) == 0 && c->in.cap > QBUF_KEEP)
        buf_shrink(&c->in, QBUF_KEEP);
}

static void client_on_read(evutil_socket_t fd, short what, void *arg)
{
    pclient_t *c = arg;
    (void)what;
    topo_sync(c->w);
    if (buf_avail(&c->in) < READ_CHUNK) buf_reserve(&c->in, READ_CHUNK);
    ssize_t n = proxy_read(fd, buf_wptr(&c->in), buf_avail(&c->in));
    if (n <= 0) {
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
        client_free(c);
        return;
    }
    c->in.wpos += (size_t)n;
    c->last_ms = c->w->now_ms;     /* the cron keeps it within 100 ms */
    process_input(c);
}

void client_maybe_resume(pclient_t *c)
{
    c->resume = 0;
    if (!c->paused || !may_read(c)) return;
    c->paused = 0;
    set_reading(c, 1);
    process_input(c);
}

void client_preq_done(preq_t *q)
{
    pclient_t *c = q->c;
    worker_t *w;
    if (!c) {
        /* the client left while this was in flight */
        return;
    }
    w = c->w;
    q->done = 1;
    while (c->head && c->head->done) {
        preq_t *h = c->head;
        c->head = h->next;
        if (!c->head) c->tail = NULL;
        buf_append(&c->out, buf_rptr(&h->reply), buf_len(&h->reply));
        c->npending--;
        preq_free(w, h);
    }
    /* the usual client (no subscription, no normal-class limit, the
     * default) skips the check: one load and compare per reply */
    if ((c->ps || w->p->obuf_normal_limited) && obuf_over_limit(c)) {
        log_msg(LL_WARNING,
                "Client id=%llu addr=%s scheduled to be closed ASAP for "
                "overcoming of output buffer limits.",
                c->id, c->addr);
        wstat_inc(&w->st.obuf_closes);
        buf_clear(&c->out);
        c->close_after_reply = c->close_asap = 1;
        set_reading(c, 0);
    }
    if (c->paused && may_read(c)) c->resume = 1;
    mark_dirty(c);
}

void client_flush(pclient_t *c)
{
    if (c->close_asap) {    /* requests still out are orphaned */
        client_free(c);
        return;
    }
    if (c->resume) client_maybe_resume(c);
    if (buf_len(&c->out) > 0) {
        ssize_t n = proxy_write(c->fd, buf_rptr(&c->out), buf_len(&c->out));
        if (n < 0 && errno != EAGAIN && errno != EINTR) {
            client_free(c);
            return;
        }
        if (n > 0) buf_consume(&c->out, (size_t)n);
    }
    if (buf_len(&c->out) > 0) {
        if (!c->write_armed) {
            event_add(c->wev, NULL);
            c->write_armed = 1;
        }
        return;
    }
    if (c->write_armed) {
        event_del(c->wev);
        c->write_armed = 0;
    }
    if (c->out.cap > OBUF_KEEP) buf_shrink(&c->out, OBUF_KEEP);
    if (c->close_after_reply && !c->head) {
        client_free(c);
        return;
    }
    if (c->paused && may_read(c)) client_maybe_resume(c);
}

static void client_on_write(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    client_flush(arg);
}

/* Once a second: idle clients (`timeout`), soft output limits. */
void client_cron(worker_t *w)
{
    static __thread long long last;
    proxy_t *p = w->p;
    if (w->now_ms - last < 1000) return;
    last = w->now_ms;
    pclient_t *c = w->clients;
    while (c) {
        pclient_t *next = c->next;
        /* a node that hangs on a transaction or blocking command */
        if (c->pin || c->old_pins) tx_check_timeouts(c, w->now_ms);
        if (c->ps) pubsub_check_links(c, w->now_ms);
        if (p->timeout > 0 && !c->head && buf_len(&c->out) == 0 &&
            w->now_ms - c->last_ms > p->timeout * 1000) {
            log_msg(LL_VERBOSE, "Closing idle client id=%llu", c->id);
            client_free(c);
        } else if ((buf_len(&c->out) || c->obuf_soft_since) &&
                   obuf_over_limit(c)) {
            log_msg(LL_WARNING,
                    "Client id=%llu addr=%s closed for overcoming of output "
                    "buffer limits.", c->id, c->addr);
            client_free(c);
        }
        c = next;
    }
}
