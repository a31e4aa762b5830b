/*
 * pubsub.c: SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE and their UNSUBSCRIBEs
 * through the proxy.
 *
 * A subscribed client needs a connection that the node keeps in
 * subscriber mode and on which messages arrive at any time, so it cannot
 * share the worker's multiplexed links.  Each subscribing client gets
 * links of its own (pslink_t, over a pinned backend_t that always speaks
 * RESP3, so pushes are told from replies by their first byte):
 *
 *   main link     channels and patterns, to any master: Redis Cluster
 *                 broadcasts PUBLISH over its bus, so a subscriber on one
 *                 node hears what is published on every node
 *   shard links   one per node that owns a slot of one of the client's
 *                 shard channels (SSUBSCRIBE): SPUBLISH reaches only the
 *                 subscribers on the slot's owner
 *
 * The proxy keeps the client's channels, patterns and shard channels
 * itself (hash sets), so it words every confirmation itself, with the
 * counts Redis would give (channels + patterns for (P)SUBSCRIBE, shard
 * channels for SSUBSCRIBE), whichever links the subscriptions live on.
 *
 * Each batch written to a link is its commands followed by PING; a link
 * answers them with pushes (confirmations, dropped; messages, relayed)
 * and with non-push replies: errors of the batch's commands, then +PONG.
 * So a batch (psack_t) is over when a non-error non-push reply arrives,
 * in the order the batches were written.  A SUBSCRIBE's confirmations
 * (built when the request arrives, queued in the client's FIFO like any
 * reply) are released only then: once the client has read them, a
 * PUBLISH anywhere in the cluster reaches it, as with Redis.
 * UNSUBSCRIBEs are confirmed at once; messages for what the client no
 * longer holds are dropped.
 *
 * When a link is lost (node killed, failover), its subscriptions are made
 * again, silently, on another live master (main link) or on the current
 * owner of each shard channel's slot, retried with backoff (100 ms to
 * 500 ms) until it works.  A shard batch answered MOVED follows the
 * redirection; an unsolicited `sunsubscribe` push (Redis 7.0 sends it
 * when the slot leaves the node) re-homes that channel, and so does a new
 * topology map giving its slot to another node (pubsub_cron).  A node
 * that hangs instead of dying is found by backend-timeout: a link idle
 * for that long is sent a PING, and a link whose oldest batch has waited
 * longer than that with nothing read meanwhile is dropped and treated as
 * lost (pubsub_check_links, from the client cron, once a second).
 *
 * In RESP2, a client with any subscription may only send (P|S)SUBSCRIBE,
 * (P|S)UNSUBSCRIBE, PING (answered `*2 pong <msg>`), QUIT and RESET, with
 * Redis 7.0's error text for the rest; RESP3 clients may mix.  Messages
 * go to a RESP2 client in its reply order, to a RESP3 client at once
 * (between two replies, as Redis pushes them) unless confirmations are
 * held.  A subscribed client is in the pubsub class of
 * client-output-buffer-limit (client.c; default 32mb 8mb 60, as Redis),
 * and at most PUBSUB_MAX_HELD messages wait behind replies.  PUBSUB
 * CHANNELS / NUMSUB ... are asked of every master (route.c) and merged
 * here (pubsub_merge).
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "auth.h"
#include "hash.h"
#include "log.h"
#include "proxy.h"
#include "reply.h"

/* Arguments per re-subscribe command. */
#define RESUB_CHUNK 1024
#define RETRY_MIN_MS 100
#define RETRY_MAX_MS 500
/* Messages held behind a reply that does not come (a node that hangs
 * while a SUBSCRIBE waits for it) are bounded too. */
#define PUBSUB_MAX_HELD 100000

/* ---- a set of names ------------------------------------------------- */

typedef struct psname {
    struct psname *next;        /* hash chain */
    struct pslink *link;        /* shard channels: where subscribed (NULL:
                                 * waiting for a new home) */
    uint64_t h;
    int slot;                   /* shard channels */
    size_t len;
    char name[];
} psname_t;

typedef struct psset {
    psname_t **tab;
    size_t cap;                 /* 0 or a power of two */
    size_t n;
} psset_t;

static psname_t *set_find(const psset_t *s, const char *p, size_t n,
                          uint64_t h)
{
    if (!s->cap) return NULL;
    for (psname_t *e = s->tab[h & (s->cap - 1)]; e; e = e->next)
        if (e->h == h && e->len == n && memcmp(e->name, p, n) == 0) return e;
    return NULL;
}

static psname_t *set_get(const psset_t *s, const char *p, size_t n)
{
    return s->n ? set_find(s, p, n, hash_bytes(p, n)) : NULL;
}

static void set_grow(psset_t *s)
{
    size_t ncap = s->cap ? s->cap * 2 : 8;
    psname_t **nt = ts_calloc(ncap, sizeof(*nt));
    for (size_t i = 0; i < s->cap; i++) {
        psname_t *e = s->tab[i];
        while (e) {
            psname_t *next = e->next;
            e->next = nt[e->h & (ncap - 1)];
            nt[e->h & (ncap - 1)] = e;
            e = next;
        }
    }
    ts_free(s->tab);
    s->tab = nt;
    s->cap = ncap;
}

/* The entry for p, added if missing (*added says which). */
static psname_t *set_add(psset_t *s, const char *p, size_t n, int *added)
{
    uint64_t h = hash_bytes(p, n);
    psname_t *e = set_find(s, p, n, h);
    *added = e == NULL;
    if (e) return e;
    if (s->n >= s->cap) set_grow(s);
    e = ts_malloc(sizeof(*e) + n + 1);
    e->h = h;
    e->len = n;
    e->link = NULL;
    e->slot = -1;
    memcpy(e->name, p, n);
    e->name[n] = '\0';
    e->next = s->tab[h & (s->cap - 1)];
    s->tab[h & (s->cap - 1)] = e;
    s->n++;
    return e;
}

static void set_remove(psset_t *s, psname_t *e)
{
    psname_t **pp = &s->tab[e->h & (s->cap - 1)];
    while (*pp != e) pp = &(*pp)->next;
    *pp = e->next;
    s->n--;
    ts_free(e);
}

static void set_clear(psset_t *s)
{
    for (size_t i = 0; i < s->cap; i++) {
        psname_t *e = s->tab[i];
        while (e) {
            psname_t *next = e->next;
            ts_free(e);
            e = next;
        }
    }
    ts_free(s->tab);
    s->tab = NULL;
    s->cap = s->n = 0;
}

/* Every entry, in table order (fills out, which has room for s->n). */
static size_t set_list(const psset_t *s, psname_t **out)
{
    size_t k = 0;
    for (size_t i = 0; i < s->cap; i++)
        for (psname_t *e = s->tab[i]; e; e = e->next) out[k++] = e;
    return k;
}

/* ---- state ------------------------------------------------------------ */

/* One batch written to a link, over when its PING is answered. */
typedef struct psack {
    struct psack *next;
    preq_t *q;                  /* the client's request released by it */
    long long sent_ms;          /* written (backend-timeout runs from it) */
    int slot;                   /* SSUBSCRIBE batches: their slot, else -1 */
    int redirects;
    int failed;
    char err[200];              /* the first error of the batch */
} psack_t;

typedef struct pslink {
    struct pslink *next;        /* ps->shard_links / ps->dead */
    struct psclient *ps;
    backend_t *be;
    int shard;
    psack_t *head, *tail;
    long long last_ms;          /* created, or its last frame read */
} pslink_t;

typedef struct psclient {
    pclient_t *c;
    psset_t chans, pats, shards;
    pslink_t *main;             /* channels and patterns, or NULL */
    pslink_t *shard_links;
    pslink_t *dead;             /* lost links, freed at the next retry */
    psack_t *orphans;           /* batches of lost links, still owed */
    struct event *retry_ev;
    int retry_armed;
    int backoff_ms;
    int main_lost;              /* channels / patterns need a new link */
    int homeless;               /* shard channels without a link */
    unsigned attempt;           /* rotates the main link over the masters */
    int nacks;                  /* confirmations held for a link's reply */
    char avoid[PROXY_MAX_ADDR]; /* the node the main link last lost */
} psclient_t;

int pubsub_subscribed(const pclient_t *c)
{
    const psclient_t *ps = c->ps;
    return ps && ps->chans.n + ps->pats.n + ps->shards.n > 0;
}

static long long count_global(const psclient_t *ps)
{
    return (long long)(ps->chans.n + ps->pats.n);
}

static void retry_cb(evutil_socket_t fd, short what, void *arg);

static psclient_t *ps_get(pclient_t *c)
{
    if (c->ps) return c->ps;
    psclient_t *ps = ts_calloc(1, sizeof(*ps));
    ps->c = c;
    ps->backoff_ms = RETRY_MIN_MS;
    ps->retry_ev = evtimer_new(c->w->base, retry_cb, ps);
    c->ps = ps;
    return ps;
}

static void schedule_retry(psclient_t *ps, int ms)
{
    if (ps->retry_armed) return;
    struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
    if (evtimer_add(ps->retry_ev, &tv) == 0) ps->retry_armed = 1;
}

/* ---- the client's side ---------------------------------------------- */

/* A request whose reply is built now and released later (ack_done). */
static preq_t *ack_begin(pclient_t *c, reply_t *r)
{
    preq_t *q = route_enqueue(c, PK_LOCAL);
    q->pending = 1;             /* client_free leaves it to us */
    c->ps->nacks++;
    reply_init(r, &q->reply, c->proto);
    return q;
}

static void ack_done(preq_t *q)
{
    q->pending = 0;
    q->c->ps->nacks--;
    client_preq_done(q);
}

/*
 * A message for the client.  RESP2: after every reply it is owed (its
 * requests can only be pub/sub ones).  RESP3: a push goes out at once,
 * between two replies, as Redis sends it (a client blocked in BLPOP
 * still hears its channels), unless a SUBSCRIBE's confirmations are still
 * held: a message must not overtake them.
 */
static void deliver(psclient_t *ps, const char *p, size_t n)
{
    pclient_t *c = ps->c;
    if (c->close_asap) return;
    preq_t *q = preq_alloc(c->w, c, PK_LOCAL);
    buf_append(&q->reply, p, n);
    if (c->proto == 2) buf_rptr(&q->reply)[0] = '*';   /* >N -> *N */
    if (c->proto == 3 && ps->nacks == 0 && c->head) {
        /* at the head: moved to c->out at once (what is already queued
         * has written nothing there yet) */
        q->next = c->head;
        c->head = q;
    } else {
        if (c->tail) c->tail->next = q;
        else c->head = q;
        c->tail = q;
    }
    c->npending++;
    client_preq_done(q);    /* closes c past the pubsub class's limits */
    if (c->npending > PUBSUB_MAX_HELD && !c->close_asap) {
        log_msg(LL_WARNING, "Client id=%llu addr=%s scheduled to be closed "
                "ASAP for overcoming of output buffer limits.", c->id,
                c->addr);
        wstat_inc(&c->w->st.obuf_closes);
        buf_clear(&c->out);
        c->close_after_reply = c->close_asap = 1;
    }
}

/* ---- links -------------------------------------------------------------- */

static pslink_t *link_new(psclient_t *ps, const char *addr, int shard)
{
    pslink_t *l = ts_calloc(1, sizeof(*l));
    l->ps = ps;
    l->shard = shard;
    l->be = backend_create_pinned(ps->c->w, addr, 3);
    l->be->sub = l;
    l->last_ms = ps->c->w->now_ms;
    return l;
}

/* Close and free a link (not lost: nothing is re-subscribed). */
static void link_free(pslink_t *l)
{
    backend_t *be = l->be;
    worker_t *w = be->w;
    if (be->dirty) {            /* not on the flush list any more */
        backend_t **pp = &w->dirty_backends;
        while (*pp && *pp != be) pp = &(*pp)->dirty_next;
        if (*pp) *pp = be->dirty_next;
        be->dirty = 0;
    }
    be->sub = NULL;
    backend_free(be);           /* closes it; no topology refresh, unlike
                                 * backend_shutdown: nothing failed */
    ts_free(l);
}

static void link_queue_ack(pslink_t *l, psack_t *a)
{
    a->next = NULL;
    a->sent_ms = l->be->w->now_ms;
    if (l->tail) l->tail->next = a;
    else l->head = a;
    l->tail = a;
}

static void orphan(psclient_t *ps, psack_t *a)
{
    a->next = ps->orphans;
    ps->orphans = a;
}

/* Write a batch (cmds, PING appended) on l, answered through a. l may be
 * NULL (its link is being re-made): a then waits for the next retry. */
static void link_send(psclient_t *ps, pslink_t *l, buf_t *cmds, psack_t *a)
{
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    if (!l) {
        orphan(ps, a);
        schedule_retry(ps, 0);
        return;
    }
    buf_append(cmds, ping, sizeof(ping) - 1);
    link_queue_ack(l, a);
    /* refused at once: pubsub_link_lost takes a over */
    if (backend_send_raw(l->be, buf_rptr(cmds), buf_len(cmds)) != 0)
        pubsub_link_lost(l);
}

static psack_t *ack_new(preq_t *q, int slot)
{
    psack_t *a = ts_calloc(1, sizeof(*a));
    a->q = q;
    a->slot = slot;
    return a;
}

static pslink_t *shard_link_find(psclient_t *ps, const char *addr)
{
    for (pslink_t *l = ps->shard_links; l; l = l->next)
        if (strcmp(l->be->addr, addr) == 0) return l;
    return NULL;
}

static pslink_t *shard_link(psclient_t *ps, const char *addr)
{
    pslink_t *l = shard_link_find(ps, addr);
    if (l) return l;
    l = link_new(ps, addr, 1);
    l->next = ps->shard_links;
    ps->shard_links = l;
    return l;
}

/* A master for the main link: not the one it last lost, if there is
 * another; -1 if the map has none. */
static int pick_master(psclient_t *ps)
{
    topo_t *t = ps->c->w->topo;
    int n = t->nmasters;
    if (n == 0) return -1;
    for (int k = 0; k < n; k++) {
        int idx = (int)((ps->c->id + ps->attempt + (unsigned)k) % (unsigned)n);
        if (n == 1 || strcmp(t->masters[idx].addr, ps->avoid) != 0) {
            ps->attempt += (unsigned)k;
            return idx;
        }
    }
    return 0;
}

/* Append SUBSCRIBE-like commands for names (chunked). */
static void w_chunked(buf_t *b, const char *verb, psname_t **names, size_t n)
{
    resp_arg_t *av = ts_malloc(sizeof(*av) * (RESUB_CHUNK + 1));
    for (size_t i = 0; i < n; i += RESUB_CHUNK) {
        size_t k = n - i < RESUB_CHUNK ? n - i : RESUB_CHUNK;
        av[0] = (resp_arg_t){verb, strlen(verb)};
        for (size_t j = 0; j < k; j++)
            av[1 + j] = (resp_arg_t){names[i + j]->name, names[i + j]->len};
        resp_w_command(b, (int)k + 1, av);
    }
    ts_free(av);
}

/* ---- re-subscribing ------------------------------------------------------ */

static int main_resubscribe(psclient_t *ps)
{
    worker_t *w = ps->c->w;
    if (ps->chans.n + ps->pats.n == 0) return 1;    /* made on demand */
    int idx = pick_master(ps);
    if (idx < 0) return 0;
    pslink_t *l = link_new(ps, w->topo->masters[idx].addr, 0);
    ps->main = l;
    size_t n = ps->chans.n > ps->pats.n ? ps->chans.n : ps->pats.n;
    psname_t **names = ts_malloc(sizeof(*names) * n);
    buf_t b;
    buf_init(&b);
    n = set_list(&ps->chans, names);
    if (n) w_chunked(&b, "SUBSCRIBE", names, n);
    n = set_list(&ps->pats, names);
    if (n) w_chunked(&b, "PSUBSCRIBE", names, n);
    ts_free(names);
    link_send(ps, l, &b, ack_new(NULL, -1));
    buf_deinit(&b);
    return ps->main == l;       /* else refused at once: lost again */
}

static int cmp_slot(const void *a, const void *b)
{
    const psname_t *x = *(psname_t *const *)a, *y = *(psname_t *const *)b;
    return (x->slot > y->slot) - (x->slot < y->slot);
}

/* SSUBSCRIBE the channels names[0..n) (one slot) at the slot's owner. */
static void shard_subscribe(psclient_t *ps, psname_t **names, size_t n,
                            pslink_t *l, psack_t *a)
{
    for (size_t i = 0; i < n; i++) {
        if (!names[i]->link) ps->homeless--;
        names[i]->link = l;
    }
    buf_t b;
    buf_init(&b);
    w_chunked(&b, "SSUBSCRIBE", names, n);
    link_send(ps, l, &b, a);
    buf_deinit(&b);
}

static int shard_resubscribe(psclient_t *ps)
{
    worker_t *w = ps->c->w;
    if (ps->homeless <= 0) return 1;
    psname_t **all = ts_malloc(sizeof(*all) * ps->shards.n);
    size_t n = set_list(&ps->shards, all), k = 0;
    for (size_t i = 0; i < n; i++)
        if (!all[i]->link) all[k++] = all[i];
    qsort(all, k, sizeof(*all), cmp_slot);
    int ok = 1;
    for (size_t i = 0; i < k;) {
        size_t j = i;
        while (j < k && all[j]->slot == all[i]->slot) j++;
        int o = route_owner(w, (unsigned)all[i]->slot);
        if (o < 0) {
            ok = 0;
        } else {
            pslink_t *l = shard_link(ps, w->topo->masters[o].addr);
            shard_subscribe(ps, all + i, j - i, l, ack_new(NULL, all[i]->slot));
        }
        i = j;
    }
    ts_free(all);
    return ok && ps->homeless == 0;
}

/* Batches owed to clients from lost links: answered once the links they
 * now depend on answer a PING (or at once if none is left). */
static void reattach_orphans(psclient_t *ps)
{
    worker_t *w = ps->c->w;
    psack_t *a = ps->orphans;
    ps->orphans = NULL;
    while (a) {
        psack_t *next = a->next;
        pslink_t *l = NULL;
        int wait;
        if (a->slot < 0) {
            wait = ps->main_lost;
            l = ps->main;
        } else {
            wait = ps->homeless > 0;
            int o = route_owner(w, (unsigned)a->slot);
            if (o >= 0) l = shard_link_find(ps, w->topo->masters[o].addr);
        }
        a->failed = 0;
        a->redirects = 0;
        if (wait) {
            orphan(ps, a);
        } else if (l) {
            buf_t b;
            buf_init(&b);
            a->slot = -1;       /* a plain PING now */
            link_send(ps, l, &b, a);
            buf_deinit(&b);
        } else {                /* nothing left to wait for */
            if (a->q) ack_done(a->q);
            ts_free(a);
        }
        a = next;
    }
}

static void free_dead(psclient_t *ps)
{
    while (ps->dead) {
        pslink_t *l = ps->dead;
        ps->dead = l->next;
        link_free(l);
    }
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    psclient_t *ps = arg;
    (void)fd;
    (void)what;
    ps->retry_armed = 0;
    topo_sync(ps->c->w);
    free_dead(ps);
    int ok = 1;
    if (ps->main_lost) {
        ps->main_lost = 0;
        if (!main_resubscribe(ps)) {
            ps->main_lost = 1;
            ok = 0;
        }
    }
    if (!shard_resubscribe(ps)) ok = 0;
    reattach_orphans(ps);
    if (ok && !ps->orphans) {
        ps->backoff_ms = RETRY_MIN_MS;
        wstat_inc(&ps->c->w->st.pubsub_resubscribes);
        return;
    }
    topo_request_refresh(ps->c->w->p);
    schedule_retry(ps, ps->backoff_ms);
    ps->backoff_ms = ps->backoff_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS
                                                       : ps->backoff_ms * 2;
}

/* Unlink l from the client's live links. */
static void link_detach(psclient_t *ps, pslink_t *l)
{
    if (ps->main == l) {
        ps->main = NULL;
        return;
    }
    pslink_t **pp = &ps->shard_links;
    while (*pp && *pp != l) pp = &(*pp)->next;
    if (*pp) *pp = l->next;
}

void pubsub_link_lost(struct pslink *l)
{
    psclient_t *ps = l->ps;
    link_detach(ps, l);
    l->be->sub = NULL;          /* lost once; freed from ps->dead */
    if (!l->shard) {
        ps->main_lost = 1;
        snprintf(ps->avoid, sizeof(ps->avoid), "%s", l->be->addr);
        ps->attempt++;
    } else if (ps->shards.n) {
        psname_t **all = ts_malloc(sizeof(*all) * ps->shards.n);
        size_t n = set_list(&ps->shards, all);
        for (size_t i = 0; i < n; i++)
            if (all[i]->link == l) {
                all[i]->link = NULL;
                ps->homeless++;
            }
        ts_free(all);
    }
    while (l->head) {
        psack_t *a = l->head;
        l->head = a->next;
        if (a->q) orphan(ps, a);
        else ts_free(a);        /* re-made by the retry anyway */
    }
    l->tail = NULL;
    l->next = ps->dead;
    ps->dead = l;
    log_ratelimited(LL_NOTICE, 5, "Pub/sub link of client id=%llu to %s lost: "
                    "re-subscribing", ps->c->id, l->be->addr);
    schedule_retry(ps, ps->backoff_ms > RETRY_MIN_MS ? ps->backoff_ms : 0);
}

/* ---- what a link says --------------------------------------------------- */

/* The first bulk strings of a push (">N" then "$len"...): up to max in
 * out; returns how many, or -1 if it is not such a push. */
static int push_strings(const char *p, size_t n, resp_arg_t *out, int max)
{
    const char *end = p + n, *cr = memchr(p, '\r', n);
    if (!cr || cr + 2 > end) return -1;
    p = cr + 2;
    int k = 0;
    while (k < max && p < end && *p == '$') {
        cr = memchr(p, '\r', (size_t)(end - p));
        long long len;
        if (!cr || !resp_str2ll(p + 1, (size_t)(cr - p - 1), &len) || len < 0 ||
            len > end - (cr + 2) - 2)
            break;
        out[k++] = (resp_arg_t){cr + 2, (size_t)len};
        p = cr + 2 + len + 2;
    }
    return k;
}

static int arg_is(const resp_arg_t *a, const char *s)
{
    return a->len == strlen(s) && memcmp(a->ptr, s, a->len) == 0;
}

static void on_push(pslink_t *l, const char *p, size_t n)
{
    psclient_t *ps = l->ps;
    resp_arg_t s[3];
    int k = push_strings(p, n, s, 3);
    if (k < 2) return;
    if (arg_is(&s[0], "message")) {
        if (!l->shard && set_get(&ps->chans, s[1].ptr, s[1].len))
            deliver(ps, p, n);
    } else if (arg_is(&s[0], "pmessage")) {
        if (!l->shard && set_get(&ps->pats, s[1].ptr, s[1].len))
            deliver(ps, p, n);
    } else if (arg_is(&s[0], "smessage")) {
        psname_t *e = set_get(&ps->shards, s[1].ptr, s[1].len);
        if (e && e->link == l) deliver(ps, p, n);
    } else if (arg_is(&s[0], "sunsubscribe")) {
        /* a channel the client still holds here: the slot left the node */
        psname_t *e = set_get(&ps->shards, s[1].ptr, s[1].len);
        if (e && e->link == l) {
            e->link = NULL;
            ps->homeless++;
            topo_request_refresh(ps->c->w->p);
            schedule_retry(ps, RETRY_MIN_MS);
        }
    }
    /* confirmations and other pushes: the proxy wrote its own */
}

/* "MOVED <slot> <host:port>": the address, or 0. */
static int moved_addr(const char *err, const char *via, char *addr,
                      size_t size)
{
    if (strncmp(err, "MOVED ", 6) != 0) return 0;
    const char *sp = strchr(err + 6, ' ');
    if (!sp || !sp[1]) return 0;
    if (sp[1] == ':') {     /* the node does not know its own ip */
        const char *colon = strrchr(via, ':');
        int hl = colon ? (int)(colon - via) : 0;
        snprintf(addr, size, "%.*s%s", hl, via, sp + 1);
    } else {
        snprintf(addr, size, "%s", sp + 1);
    }
    return strlen(addr) < size - 1;
}

/* The shard channels of slot on l (or everywhere if l is NULL). */
static size_t slot_channels(psclient_t *ps, int slot, pslink_t *l,
                            psname_t ***out)
{
    psname_t **all = ts_malloc(sizeof(*all) * (ps->shards.n + 1));
    size_t n = set_list(&ps->shards, all), k = 0;
    for (size_t i = 0; i < n; i++)
        if (all[i]->slot == slot && (all[i]->link == l || !l))
            all[k++] = all[i];
    *out = all;
    return k;
}

/* The batch's error becomes the reply of the request it releases (if
 * any, instead of the confirmations built for it); a is freed. */
static void ack_error(psack_t *a)
{
    if (a->q) {
        buf_clear(&a->q->reply);
        reply_t r;
        reply_init(&r, &a->q->reply, a->q->proto);
        reply_error(&r, a->err);
        ack_done(a->q);
    }
    ts_free(a);
}

/* A batch finished with an error. */
static void ack_failed(pslink_t *l, psack_t *a)
{
    psclient_t *ps = l->ps;
    char addr[PROXY_MAX_ADDR];
    if (a->slot < 0) {
        /* UNSUBSCRIBEs (an error is harmless) or a main-link SUBSCRIBE,
         * which a node does not refuse unless misconfigured */
        if (a->q)
            log_ratelimited(LL_WARNING, 5, "Backend %s refused a pub/sub "
                            "command: %s", l->be->addr, a->err);
        ack_error(a);
        return;
    }
    psname_t **names;
    size_t n = slot_channels(ps, a->slot, l, &names);
    if (n == 0) {           /* unsubscribed meanwhile */
        if (a->q) ack_done(a->q);
        ts_free(a);
    } else if (a->redirects < PROXY_MAX_REDIRECTS &&
               moved_addr(a->err, l->be->addr, addr, sizeof(addr))) {
        a->redirects++;
        a->failed = 0;
        topo_request_refresh(ps->c->w->p);
        shard_subscribe(ps, names, n, shard_link(ps, addr), a);
    } else if (a->q) {
        /* the client's own SSUBSCRIBE: it gets the error, not the
         * subscriptions (as from the node) */
        for (size_t i = 0; i < n; i++) set_remove(&ps->shards, names[i]);
        ack_error(a);
    } else {
        /* a re-subscription refused (CLUSTERDOWN while a failover runs,
         * TRYAGAIN ...): try again later */
        for (size_t i = 0; i < n; i++) {
            names[i]->link = NULL;
            ps->homeless++;
        }
        ts_free(a);
        topo_request_refresh(ps->c->w->p);
        schedule_retry(ps, ps->backoff_ms);
    }
    ts_free(names);
}

int pubsub_on_frame(struct pslink *l, const char *p, size_t n)
{
    l->last_ms = l->be->w->now_ms;
    if (p[0] == '>') {
        on_push(l, p, n);
        return 0;
    }
    psack_t *a = l->head;
    if (!a) return -1;
    if (p[0] == '-') {
        if (!a->failed) {
            size_t len = n >= 3 ? n - 3 : 0;
            if (len >= sizeof(a->err)) len = sizeof(a->err) - 1;
            memcpy(a->err, p + 1, len);
            a->err[len] = '\0';
            a->failed = 1;
        }
        return 0;
    }
    /* the batch's PING: every command before it has been run (+PONG on
     * these RESP3 links; a node that stayed in RESP2 would say
     * `*2 pong ""`, which ends the batch the same way) */
    l->head = a->next;
    if (!l->head) l->tail = NULL;
    if (a->failed) {
        ack_failed(l, a);
        return 0;
    }
    if (a->q) ack_done(a->q);
    ts_free(a);
    return 0;
}

/* ---- commands --------------------------------------------------------- */

static pslink_t *main_link(psclient_t *ps)
{
    if (ps->main || ps->main_lost) return ps->main;
    int idx = pick_master(ps);
    if (idx < 0) return NULL;
    ps->main = link_new(ps, ps->c->w->topo->masters[idx].addr, 0);
    return ps->main;
}

/* SUBSCRIBE channel [channel ...] / PSUBSCRIBE pattern [pattern ...] */
static void cmd_subscribe(pclient_t *c, int pattern, int argc,
                          resp_arg_t *argv)
{
    psclient_t *ps = ps_get(c);
    if (!ps->main && !ps->main_lost && c->w->topo->nmasters == 0) {
        route_local_error(c, "CLUSTERDOWN The cluster is down");
        return;
    }
    psset_t *set = pattern ? &ps->pats : &ps->chans;
    const char *kind = pattern ? "psubscribe" : "subscribe";
    reply_t r;
    preq_t *q = ack_begin(c, &r);
    for (int i = 1; i < argc; i++) {
        int added;
        set_add(set, argv[i].ptr, argv[i].len, &added);
        reply_pubsub_confirm(&r, kind, argv[i].ptr, argv[i].len,
                             count_global(ps));
    }
    buf_t b;
    buf_init(&b);
    resp_w_command(&b, argc, argv);
    link_send(ps, main_link(ps), &b, ack_new(q, -1));
    buf_deinit(&b);
}

/* UNSUBSCRIBE [channel ...] / PUNSUBSCRIBE [pattern ...] */
static void cmd_unsubscribe(pclient_t *c, int pattern, int argc,
                            resp_arg_t *argv)
{
    psclient_t *ps = ps_get(c);
    psset_t *set = pattern ? &ps->pats : &ps->chans;
    const char *kind = pattern ? "punsubscribe" : "unsubscribe";
    reply_t r;
    preq_t *q = route_local_begin(c, &r);
    size_t before = set->n;
    if (argc == 1) {
        psname_t **all = ts_malloc(sizeof(*all) * (set->n + 1));
        size_t n = set_list(set, all);
        for (size_t i = 0; i < n; i++) {
            reply_pubsub_confirm(&r, kind, all[i]->name, all[i]->len,
                                 count_global(ps) - 1);
            set_remove(set, all[i]);
        }
        if (n == 0) reply_pubsub_confirm(&r, kind, NULL, 0, count_global(ps));
        ts_free(all);
    } else {
        for (int i = 1; i < argc; i++) {
            psname_t *e = set_get(set, argv[i].ptr, argv[i].len);
            if (e) set_remove(set, e);
            reply_pubsub_confirm(&r, kind, argv[i].ptr, argv[i].len,
                             count_global(ps));
        }
    }
    route_local_end(q);
    if (set->n != before && ps->main) {
        buf_t b;
        buf_init(&b);
        resp_w_command(&b, argc, argv);
        link_send(ps, ps->main, &b, ack_new(NULL, -1));
        buf_deinit(&b);
    }
}

/* All of argv[1..]'s slot, -1 without any, -2 if they differ (only in
 * cluster mode: a single plain node takes any mix). */
static int shard_slot(pclient_t *c, int argc, const resp_arg_t *argv)
{
    if (argc < 2) return -1;
    int slot = (int)slot_for_key(argv[1].ptr, argv[1].len);
    if (c->w->topo->single) return slot;
    for (int i = 2; i < argc; i++)
        if ((int)slot_for_key(argv[i].ptr, argv[i].len) != slot) return -2;
    return slot;
}

/* SSUBSCRIBE shardchannel [shardchannel ...] */
static void cmd_ssubscribe(pclient_t *c, int argc, resp_arg_t *argv)
{
    worker_t *w = c->w;
    int slot = shard_slot(c, argc, argv);
    if (slot == -2) {
        route_local_error(c, "CROSSSLOT Keys in request don't hash to the "
                             "same slot");
        return;
    }
    int o = route_owner(w, (unsigned)slot);
    if (o < 0) {
        topo_request_refresh(w->p);
        route_local_error(c, "CLUSTERDOWN Hash slot not served");
        return;
    }
    psclient_t *ps = ps_get(c);
    pslink_t *l = shard_link(ps, w->topo->masters[o].addr);
    reply_t r;
    preq_t *q = ack_begin(c, &r);
    psname_t **names = ts_malloc(sizeof(*names) * (size_t)argc);
    size_t k = 0;
    for (int i = 1; i < argc; i++) {
        int added;
        psname_t *e = set_add(&ps->shards, argv[i].ptr, argv[i].len, &added);
        if (added) {
            e->slot = (int)slot_for_key(argv[i].ptr, argv[i].len);
            ps->homeless++;     /* until shard_subscribe gives it l */
        }
        if (added || e->link != l) names[k++] = e;
        reply_pubsub_confirm(&r, "ssubscribe", argv[i].ptr, argv[i].len,
                             (long long)ps->shards.n);
    }
    /* every channel of the command, so that one reply releases them */
    for (size_t i = 0; i < k; i++)
        if (names[i]->link && names[i]->link != l) {
            names[i]->link = NULL;
            ps->homeless++;
        }
    if (k == 0) {
        buf_t b;
        buf_init(&b);
        link_send(ps, l, &b, ack_new(q, -1));
        buf_deinit(&b);
    } else {
        shard_subscribe(ps, names, k, l, ack_new(q, slot));
    }
    ts_free(names);
}

/* SUNSUBSCRIBE [shardchannel ...] */
static void cmd_sunsubscribe(pclient_t *c, int argc, resp_arg_t *argv)
{
    if (shard_slot(c, argc, argv) == -2) {
        route_local_error(c, "CROSSSLOT Keys in request don't hash to the "
                             "same slot");
        return;
    }
    psclient_t *ps = ps_get(c);
    reply_t r;
    preq_t *q = route_local_begin(c, &r);
    int any = 0;
    if (argc == 1) {
        psname_t **all = ts_malloc(sizeof(*all) * (ps->shards.n + 1));
        size_t n = set_list(&ps->shards, all);
        for (size_t i = 0; i < n; i++) {
            reply_pubsub_confirm(&r, "sunsubscribe", all[i]->name, all[i]->len,
                                 (long long)ps->shards.n - 1);
            if (!all[i]->link) ps->homeless--;
            set_remove(&ps->shards, all[i]);
        }
        if (n == 0) reply_pubsub_confirm(&r, "sunsubscribe", NULL, 0, 0);
        any = n > 0;
        ts_free(all);
    } else {
        for (int i = 1; i < argc; i++) {
            psname_t *e = set_get(&ps->shards, argv[i].ptr, argv[i].len);
            if (e) {
                if (!e->link) ps->homeless--;
                set_remove(&ps->shards, e);
                any = 1;
            }
            reply_pubsub_confirm(&r, "sunsubscribe", argv[i].ptr, argv[i].len,
                                 (long long)ps->shards.n);
        }
    }
    route_local_end(q);
    if (!any) return;
    /* a node that never had them answers the confirmations all the same */
    for (pslink_t *l = ps->shard_links; l; l = l->next) {
        buf_t b;
        buf_init(&b);
        resp_w_command(&b, argc, argv);
        link_send(ps, l, &b, ack_new(NULL, -1));
        buf_deinit(&b);
    }
}

static void free_state(psclient_t *ps, int answer)
{
    if (ps->retry_ev) event_free(ps->retry_ev);
    pslink_t *links[2] = {ps->main, ps->shard_links};
    for (int j = 0; j < 2; j++) {
        pslink_t *l = links[j];
        while (l) {
            pslink_t *next = j == 0 ? NULL : l->next;
            while (l->head) {
                psack_t *a = l->head;
                l->head = a->next;
                orphan(ps, a);
            }
            link_free(l);
            l = next;
        }
    }
    free_dead(ps);
    while (ps->orphans) {
        psack_t *a = ps->orphans;
        ps->orphans = a->next;
        if (a->q) {
            if (answer && a->q->c) {
                ack_done(a->q);
            } else {
                a->q->c = NULL;
                preq_free(ps->c->w, a->q);
            }
        }
        ts_free(a);
    }
    set_clear(&ps->chans);
    set_clear(&ps->pats);
    set_clear(&ps->shards);
    ts_free(ps);
}

/* RESET: what Redis resets that the proxy holds for the client. */
static void cmd_reset(pclient_t *c)
{
    proxy_t *p = c->w->p;
    if (c->ps) free_state(c->ps, 1);
    c->ps = NULL;
    if (c->in_multi || c->watching || c->pinned) tx_client_reset(c);
    c->proto = 2;
    ts_free(c->name);
    c->name = NULL;
    c->user = auth_default_user(p);
    c->authenticated = auth_default_open(p);
    reply_t r;
    preq_t *q = route_local_begin(c, &r);
    reply_simple(&r, "RESET");
    route_local_end(q);
}

int pubsub_command(pclient_t *c, const cmd_spec_t *cmd, int argc,
                   resp_arg_t *argv)
{
    const cmd_spec_t *top = cmd->parent ? cmd->parent : cmd;
    switch (top->id) {
    case CMD_SUBSCRIBE:
    case CMD_PSUBSCRIBE:
    case CMD_UNSUBSCRIBE:
    case CMD_PUNSUBSCRIBE:
    case CMD_SSUBSCRIBE:
    case CMD_SUNSUBSCRIBE:
        if (c->in_multi) return 0;      /* tx.c refuses it */
        break;
    case CMD_PING:
        if (!pubsub_subscribed(c) || c->proto != 2 || argc > 2) return 0;
        {   /* RESP2 subscriber: "*2 pong <message>" */
            reply_t r;
            preq_t *q = route_local_begin(c, &r);
            reply_array(&r, 2);
            reply_bulk_str(&r, "pong");
            if (argc == 2) reply_bulk(&r, argv[1].ptr, argv[1].len);
            else reply_bulk(&r, "", 0);
            route_local_end(q);
        }
        return 1;
    case CMD_QUIT:
        return 0;
    case CMD_RESET:
        cmd_reset(c);
        return 1;
    default:
        if (!pubsub_subscribed(c) || c->proto != 2) return 0;
        {
            char msg[256];
            snprintf(msg, sizeof(msg), "ERR Can't execute '%s': only "
                     "(P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET "
                     "are allowed in this context", cmd->name);
            route_local_error(c, msg);
        }
        return 1;
    }
    switch (top->id) {
    case CMD_SUBSCRIBE: cmd_subscribe(c, 0, argc, argv); break;
    case CMD_PSUBSCRIBE: cmd_subscribe(c, 1, argc, argv); break;
    case CMD_UNSUBSCRIBE: cmd_unsubscribe(c, 0, argc, argv); break;
    case CMD_PUNSUBSCRIBE: cmd_unsubscribe(c, 1, argc, argv); break;
    case CMD_SSUBSCRIBE: cmd_ssubscribe(c, argc, argv); break;
    default: cmd_sunsubscribe(c, argc, argv); break;
    }
    return 1;
}

void pubsub_client_free(pclient_t *c)
{
    if (!c->ps) return;
    free_state(c->ps, 0);
    c->ps = NULL;
}

void pubsub_describe(pclient_t *c, int *sub, int *psub, int *ssub)
{
    *sub = c->ps ? (int)c->ps->chans.n : 0;
    *psub = c->ps ? (int)c->ps->pats.n : 0;
    *ssub = c->ps ? (int)c->ps->shards.n : 0;
}

/* The shard channels of c whose slot the map gives to another node than
 * the one they are subscribed on: unsubscribed there, re-homed (a node
 * that does not send `sunsubscribe` when a slot leaves it is covered). */
static void follow_map(psclient_t *ps)
{
    worker_t *w = ps->c->w;
    psname_t **all = ts_malloc(sizeof(*all) * ps->shards.n);
    size_t n = set_list(&ps->shards, all);
    int moved = 0;
    for (size_t i = 0; i < n; i++) {
        pslink_t *l = all[i]->link;
        int o = l ? route_owner(w, (unsigned)all[i]->slot) : -1;
        if (o < 0 || strcmp(w->topo->masters[o].addr, l->be->addr) == 0)
            continue;
        buf_t b;
        buf_init(&b);
        resp_arg_t av[2] = {{"SUNSUBSCRIBE", 12},
                            {all[i]->name, all[i]->len}};
        resp_w_command(&b, 2, av);
        all[i]->link = NULL;
        ps->homeless++;
        link_send(ps, l, &b, ack_new(NULL, -1));
        buf_deinit(&b);
        moved = 1;
    }
    ts_free(all);
    if (moved) schedule_retry(ps, 0);
}

/* One link's backend-timeout check (see pubsub_check_links). */
static void check_link(psclient_t *ps, pslink_t *l, long long now,
                       long long limit)
{
    if (l->head) {
        /* frames still coming (a long backlog of messages ahead of the
         * PONG) mean the node is alive */
        if (now - l->head->sent_ms <= limit || now - l->last_ms <= limit)
            return;
        log_ratelimited(LL_WARNING, 5, "Pub/sub link of client id=%llu to "
                        "%s timed out", ps->c->id, l->be->addr);
        backend_drop(l->be, "timed out");   /* -> pubsub_link_lost(l) */
    } else if (now - l->last_ms > limit) {
        buf_t b;                            /* an empty batch: PING */
        buf_init(&b);
        link_send(ps, l, &b, ack_new(NULL, -1));
        buf_deinit(&b);
    }
}

void pubsub_check_links(pclient_t *c, long long now_ms)
{
    psclient_t *ps = c->ps;
    long long limit = c->w->p->backend_timeout_ms;
    if (ps->main) check_link(ps, ps->main, now_ms, limit);
    pslink_t *l = ps->shard_links;
    while (l) {
        pslink_t *next = l->next;   /* l may move to ps->dead */
        check_link(ps, l, now_ms, limit);
        l = next;
    }
}

void pubsub_cron(worker_t *w)
{
    if (w->pubsub_gen == w->topo_gen) return;
    w->pubsub_gen = w->topo_gen;
    for (pclient_t *c = w->clients; c; c = c->next)
        if (c->ps && c->ps->shards.n) follow_map(c->ps);
}

/* ---- PUBSUB CHANNELS / NUMSUB ... over every master ---------------------- */

static int is_str(const resp_value_t *v)
{
    return v->type == RESP_BULK || v->type == RESP_SIMPLE;
}

/* CHANNELS / SHARDCHANNELS: each name once. */
static int merge_names(preq_t *q, resp_value_t **v, reply_t *r)
{
    psset_t seen = {0};
    size_t total = 0;
    for (int s = 0; s < q->nsub; s++) {
        if (v[s]->type != RESP_ARRAY && v[s]->type != RESP_SET) goto bad;
        for (size_t i = 0; i < v[s]->nelem; i++) {
            if (!is_str(&v[s]->elem[i])) goto bad;
            int added;
            set_add(&seen, v[s]->elem[i].str, v[s]->elem[i].len, &added);
            total += (size_t)added;
        }
    }
    reply_array(r, (long long)total);
    set_clear(&seen);
    for (int s = 0; s < q->nsub; s++)
        for (size_t i = 0; i < v[s]->nelem; i++) {
            int added;
            set_add(&seen, v[s]->elem[i].str, v[s]->elem[i].len, &added);
            if (added) reply_bulk(r, v[s]->elem[i].str, v[s]->elem[i].len);
        }
    set_clear(&seen);
    return 1;
bad:
    set_clear(&seen);
    return 0;
}

/* NUMSUB / SHARDNUMSUB: [name, count, ...], the counts added up. */
static int merge_counts(preq_t *q, resp_value_t **v, reply_t *r)
{
    size_t n = v[0]->nelem;
    for (int s = 0; s < q->nsub; s++) {
        if (v[s]->type != RESP_ARRAY || v[s]->nelem != n || n % 2) return 0;
        for (size_t i = 0; i < n; i += 2)
            if (!is_str(&v[s]->elem[i]) || v[s]->elem[i + 1].type != RESP_INT)
                return 0;
    }
    reply_array(r, (long long)n);
    for (size_t i = 0; i < n; i += 2) {
        long long sum = 0;
        for (int s = 0; s < q->nsub; s++) sum += v[s]->elem[i + 1].integer;
        reply_bulk(r, v[0]->elem[i].str, v[0]->elem[i].len);
        reply_int(r, sum);
    }
    return 1;
}

void pubsub_merge(preq_t *q)
{
    resp_value_t **v = ts_calloc((size_t)q->nsub, sizeof(*v));
    int ok = q->nsub > 0, counts = 0;
    for (int s = 0; s < q->nsub && ok; s++) {
        const buf_t *b = &q->subs[s]->reply;
        size_t used;
        const char *err;
        ok = resp_parse_value(buf_rptr(b), buf_len(b), &v[s], &used,
                              &err) == TS_OK;
        /* [name, integer, ...] or [] is NUMSUB's; names only CHANNELS' */
        if (ok && v[s]->nelem >= 2 && v[s]->elem[1].type == RESP_INT)
            counts = 1;
    }
    reply_t r;
    reply_init(&r, &q->reply, q->proto);
    if (ok) ok = counts ? merge_counts(q, v, &r) : merge_names(q, v, &r);
    if (!ok) {
        buf_clear(&q->reply);
        reply_error(&r, "ERR tessera-proxy: unexpected reply from a backend");
    }
    for (int s = 0; s < q->nsub; s++)
        if (v[s]) resp_value_free(v[s]);
    ts_free(v);
}
