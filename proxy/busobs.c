/*
 * busobs.c: tessera-proxy as a non-voting observer on the cluster bus.
 *
 * With a Tessera cluster the proxy does not have to wait for its next
 * poll to learn a promotion: it opens a bus connection to every node it
 * knows (the masters of its map at bus port = port + 10000, then every
 * node named in what they send) and sends OBSERVE frames -- header flag
 * OBSERVER, a random 40-hex id of its own, no slots -- framed and
 * HMAC-SHA256-signed exactly like node frames, under SHA-256 of
 * cluster-secret (or of "" with cluster-bus-insecure yes).  A node
 * answers each OBSERVE with a TOPOLOGY frame (its header plus one gossip
 * entry per node it knows) and pushes a TOPOLOGY to its observers as soon
 * as its view of slot owners, roles, FAIL flags, epochs or addresses
 * changes (node/cluster/observer.c).  Nodes never count, gossip or list
 * an observer; docs/cluster-bus.md has the protocol.
 *
 * On a push (a TOPOLOGY we did not ask for, or one whose content differs
 * from the last one on that link) the main thread refreshes the map from
 * the node that sent it, first: one CLUSTER SHARDS round trip to the node
 * that changed, so a promoted replica's slots reach the workers within a
 * round trip of its promotion.  Frames that fail the HMAC, do not parse
 * or are not TOPOLOGY are dropped and counted, as nodes do.
 *
 * All of this runs on the main thread's event loop; the periodic
 * refresh (refresh-interval) keeps running, so a Redis cluster (no
 * bus to observe) or a bus link that is down falls back to polling.
 * Workers only read the counters (atomics) for PROXY.
 */
#include "busobs.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "alloc.h"
#include "hash.h"
#include "cluster_bus.pb-c.h"
#include "log.h"
#include "proc.h"
#include "proxy.h"

#define BO_VERSION 1            /* Header.version */
#define BO_REVISION 2           /* Header.revision: observers */
#define BO_TYPE_OBSERVE 10
#define BO_TYPE_TOPOLOGY 11
#define BO_FLAG_MASTER 1u
#define BO_FLAG_SLAVE 2u
#define BO_FLAG_FAIL 8u
#define BO_FLAG_NOADDR 64u
#define BO_FLAG_OBSERVER 1024u
#define BO_HMAC_LEN 32
#define BO_MAX_FRAME (8u * 1024 * 1024)
#define BO_MAX_LINKS 64
#define BO_TICK_MS 100
#define BO_KEEPALIVE_MS 1000    /* an OBSERVE per link this often */
#define BO_SILENCE_MS 3500      /* no TOPOLOGY this long: reconnect */
#define BO_RETRY_MS 1000        /* after a failed connect, times the
                                 * failures in a row (capped at 10) */
#define BO_FORGET_FAILS 100     /* failures before a link is dropped */

typedef struct obslink {
    struct obslink *next;
    struct busobs *bo;
    struct bufferevent *bev;
    char host[64];              /* bus address */
    int cport;
    int port;                   /* the node's client port (its header) */
    char name[41];              /* its node id, once known */
    int connected;
    int failures;               /* consecutive failed connects */
    int asked;                  /* OBSERVEs not answered yet */
    long long next_try_ms, last_tx_ms, last_rx_ms;
    uint64_t fp;                /* content of its last TOPOLOGY, 0: none */
} obslink_t;

typedef struct busobs {
    proxy_t *p;
    unsigned char key[SHA256_DIGEST_LENGTH];
    char id[41];
    struct event *tick;
    obslink_t *links;
    int nlinks;
    uint8_t *pack;
    size_t packcap;
    atomic_ullong frames, pushes, refreshes, dropped;
    atomic_int up;              /* links with a TOPOLOGY within silence */
} busobs_t;

/* When to try a link again that failed `failures` times in a row: a
 * node that never answers (a Redis bus, an old Tessera) costs one connect
 * per 10 s at most. */
static long long retry_at(const obslink_t *l, long long now)
{
    int k = l->failures < 1 ? 1 : l->failures > 10 ? 10 : l->failures;
    return now + (long long)BO_RETRY_MS * k;
}

static void link_close(obslink_t *l)
{
    if (l->bev) bufferevent_free(l->bev);
    l->bev = NULL;
    l->connected = 0;
    l->asked = 0;
    l->fp = 0;
}

static obslink_t *link_find(busobs_t *bo, const char *host, int cport)
{
    for (obslink_t *l = bo->links; l; l = l->next)
        if (l->cport == cport && strcmp(l->host, host) == 0) return l;
    return NULL;
}

/* The link to the node whose client address is host:port, if known. */
static obslink_t *link_find_node(busobs_t *bo, const char *host, int port)
{
    for (obslink_t *l = bo->links; l; l = l->next)
        if (l->port == port && strcmp(l->host, host) == 0) return l;
    return NULL;
}

static obslink_t *link_add(busobs_t *bo, const char *host, int cport)
{
    obslink_t *l = link_find(bo, host, cport);
    if (l || bo->nlinks >= BO_MAX_LINKS || !host[0] || cport <= 0 ||
        cport > 65535 || strlen(host) >= sizeof(l->host))
        return l;
    l = ts_calloc(1, sizeof(*l));
    l->bo = bo;
    snprintf(l->host, sizeof(l->host), "%s", host);
    l->cport = cport;
    l->next = bo->links;
    bo->links = l;
    bo->nlinks++;
    return l;
}

/* ---- frames ---------------------------------------------------------- */

static void hmac(const busobs_t *bo, const uint8_t *p, size_t n,
                 uint8_t out[BO_HMAC_LEN])
{
    unsigned int olen = BO_HMAC_LEN;
    HMAC(EVP_sha256(), bo->key, sizeof(bo->key), p, n, out, &olen);
}

static void send_observe(obslink_t *l, long long now)
{
    busobs_t *bo = l->bo;
    Tessera__Bus__Message m = TESSERA__BUS__MESSAGE__INIT;
    Tessera__Bus__Header h = TESSERA__BUS__HEADER__INIT;
    h.version = BO_VERSION;
    h.revision = BO_REVISION;
    h.sender = bo->id;
    h.flags = BO_FLAG_OBSERVER;
    m.header = &h;
    m.type = (Tessera__Bus__Type)BO_TYPE_OBSERVE;
    size_t pb = tessera__bus__message__get_packed_size(&m);
    size_t need = 4 + pb + BO_HMAC_LEN;
    if (need > bo->packcap) {
        bo->packcap = need;
        bo->pack = ts_realloc(bo->pack, need);
    }
    uint8_t *f = bo->pack;
    pb = tessera__bus__message__pack(&m, f + 4);
    f[0] = (uint8_t)(pb >> 24);
    f[1] = (uint8_t)(pb >> 16);
    f[2] = (uint8_t)(pb >> 8);
    f[3] = (uint8_t)pb;
    hmac(bo, f, 4 + pb, f + 4 + pb);
    evbuffer_add(bufferevent_get_output(l->bev), f, 4 + pb + BO_HMAC_LEN);
    l->last_tx_ms = now;
    l->asked++;
}

static int hex_id(const char *s)
{
    if (!s || strlen(s) != 40) return 0;
    for (int i = 0; i < 40; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* Everything used below, checked once: NULL if m is a usable TOPOLOGY. */
static const char *validate(const Tessera__Bus__Message *m)
{
    const Tessera__Bus__Header *h = m->header;
    if (!h || h->version != BO_VERSION) return "version";
    if ((int)m->type != BO_TYPE_TOPOLOGY) return "not TOPOLOGY";
    if (!hex_id(h->sender) || (h->master_id[0] && !hex_id(h->master_id)))
        return "bad id";
    if (h->port > 65535 || h->bus_port > 65535 || strlen(h->ip) >= 64)
        return "bad address";
    for (size_t i = 0; i < h->n_slots; i++)
        if (!h->slots[i] || h->slots[i]->start > h->slots[i]->end ||
            h->slots[i]->end >= SLOT_COUNT)
            return "bad slots";
    if (m->body_case != TESSERA__BUS__MESSAGE__BODY_PING) return "no body";
    for (size_t i = 0; i < m->ping->n_gossip; i++) {
        const Tessera__Bus__Gossip *g = m->ping->gossip[i];
        if (!g || !hex_id(g->node_id) || g->port > 65535 ||
            g->bus_port > 65535 || strlen(g->ip) >= 64)
            return "bad gossip";
    }
    return NULL;
}

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    return hash_fnv1a(h, p, n);
}

/* What routing depends on in a TOPOLOGY (not offsets or PFAIL). */
static uint64_t content_fp(const Tessera__Bus__Message *m)
{
    const Tessera__Bus__Header *h = m->header;
    uint64_t x = HASH_FNV_INIT;
    uint64_t v[4] = {h->config_epoch, h->flags & (BO_FLAG_MASTER |
                                                  BO_FLAG_SLAVE),
                     h->cluster_ok, h->n_slots};
    x = fnv(x, v, sizeof(v));
    x = fnv(x, h->master_id, strlen(h->master_id));
    for (size_t i = 0; i < h->n_slots; i++) {
        uint32_t r[2] = {h->slots[i]->start, h->slots[i]->end};
        x = fnv(x, r, sizeof(r));
    }
    for (size_t i = 0; i < m->ping->n_gossip; i++) {
        const Tessera__Bus__Gossip *g = m->ping->gossip[i];
        uint32_t f[3] = {g->flags & (BO_FLAG_MASTER | BO_FLAG_SLAVE |
                                     BO_FLAG_FAIL), g->port, g->bus_port};
        x = fnv(x, g->node_id, strlen(g->node_id));
        x = fnv(x, g->ip, strlen(g->ip));
        x = fnv(x, f, sizeof(f));
    }
    return x | 1;       /* never 0, which means "none yet" */
}

static void on_topology(obslink_t *l, const Tessera__Bus__Message *m,
                        long long now)
{
    busobs_t *bo = l->bo;
    const Tessera__Bus__Header *h = m->header;
    int solicited = l->asked > 0;
    if (solicited) l->asked--;
    l->last_rx_ms = now;
    l->failures = 0;
    l->port = (int)h->port;
    snprintf(l->name, sizeof(l->name), "%s", h->sender);
    atomic_fetch_add(&bo->frames, 1);
    /* every node this one knows gets a link of its own */
    for (size_t i = 0; i < m->ping->n_gossip; i++) {
        const Tessera__Bus__Gossip *g = m->ping->gossip[i];
        if (g->ip[0] && g->bus_port && !(g->flags & BO_FLAG_NOADDR))
            link_add(bo, g->ip, (int)g->bus_port);
    }
    uint64_t fp = content_fp(m);
    int changed = l->fp && fp != l->fp;
    int first = !l->fp;
    l->fp = fp;
    if (first || (solicited && !changed)) return;
    /* a push: ask the node that changed, first */
    atomic_fetch_add(&bo->pushes, 1);
    const char *host = h->ip[0] ? h->ip : l->host;
    if (l->port <= 0) return;
    atomic_fetch_add(&bo->refreshes, 1);
    if (topo_refresh_from(bo->p, host, l->port) != 0)
        log_ratelimited(LL_WARNING, 1, "Topology refresh after a bus push "
                        "failed: %s", bo->p->topo_error);
    else
        worker_wake_all(bo->p);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    obslink_t *l = arg;
    busobs_t *bo = l->bo;
    struct evbuffer *in = bufferevent_get_input(bev);
    long long now = proxy_mono_ms();
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 4) return;
        uint8_t hd[4];
        evbuffer_copyout(in, hd, 4);
        uint32_t len = ((uint32_t)hd[0] << 24) | ((uint32_t)hd[1] << 16) |
                       ((uint32_t)hd[2] << 8) | hd[3];
        if (len > BO_MAX_FRAME) {           /* the stream is unusable */
            atomic_fetch_add(&bo->dropped, 1);
            link_close(l);
            l->next_try_ms = now + BO_RETRY_MS;
            return;
        }
        size_t total = 4 + (size_t)len + BO_HMAC_LEN;
        if (avail < total) return;
        const uint8_t *p = evbuffer_pullup(in, (ssize_t)total);
        uint8_t mac[BO_HMAC_LEN];
        hmac(bo, p, 4 + (size_t)len, mac);
        Tessera__Bus__Message *m = NULL;
        if (CRYPTO_memcmp(mac, p + 4 + len, BO_HMAC_LEN) == 0)
            m = tessera__bus__message__unpack(NULL, len, p + 4);
        const char *why = m ? validate(m) : "auth or unparsable";
        if (why) {
            atomic_fetch_add(&bo->dropped, 1);
            log_ratelimited(LL_WARNING, 1, "Dropped a cluster bus frame from "
                            "%s:%d: %s", l->host, l->cport, why);
        } else {
            on_topology(l, m, now);
        }
        if (m) tessera__bus__message__free_unpacked(m, NULL);
        evbuffer_drain(in, total);
        if (!l->bev) return;
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    obslink_t *l = arg;
    (void)bev;
    long long now = proxy_mono_ms();
    if (what & BEV_EVENT_CONNECTED) {
        int one = 1;
        setsockopt(bufferevent_getfd(l->bev), IPPROTO_TCP, TCP_NODELAY, &one,
                   sizeof(one));
        l->connected = 1;
        l->last_rx_ms = now;
        send_observe(l, now);
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        /* refused, or closed before it ever answered */
        if (!l->connected || !l->fp) l->failures++;
        link_close(l);
        l->next_try_ms = retry_at(l, now);
    }
}

static void link_connect(busobs_t *bo, obslink_t *l, long long now)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", l->cport);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res = NULL;
    if (getaddrinfo(l->host, port, &hints, &res) != 0 || !res) {
        l->failures++;
        l->next_try_ms = retry_at(l, now);
        return;
    }
    l->next_try_ms = retry_at(l, now);
    l->last_tx_ms = now;                /* connect started */
    l->bev = bufferevent_socket_new(bo->p->base, -1, BEV_OPT_CLOSE_ON_FREE);
    bufferevent_setcb(l->bev, on_read, NULL, on_event, l);
    bufferevent_enable(l->bev, EV_READ | EV_WRITE);
    if (bufferevent_socket_connect(l->bev, res->ai_addr,
                                   (int)res->ai_addrlen) != 0) {
        l->failures++;
        link_close(l);
    }
    freeaddrinfo(res);
}

/* Every BO_TICK_MS: links to the map's masters, connects, keep-alives. */
static void on_tick(evutil_socket_t fd, short what, void *arg)
{
    busobs_t *bo = arg;
    proxy_t *p = bo->p;
    (void)fd;
    (void)what;
    long long now = proxy_mono_ms();
    pthread_mutex_lock(&p->topo_lock);
    topo_t *t = p->topo;
    if (t) atomic_fetch_add(&t->refs, 1);
    pthread_mutex_unlock(&p->topo_lock);
    if (t && !t->single)
        for (int i = 0; i < t->nmasters; i++)
            if (t->masters[i].port + 10000 <= 65535 &&
                !link_find_node(bo, t->masters[i].host, t->masters[i].port))
                link_add(bo, t->masters[i].host, t->masters[i].port + 10000);
    if (t) topo_release(t);
    int up = 0;
    for (obslink_t **pp = &bo->links, *l; (l = *pp);) {
        if (!l->bev && l->failures >= BO_FORGET_FAILS) {
            *pp = l->next;          /* gone for ~15 min: forget it */
            bo->nlinks--;
            ts_free(l);
            continue;
        }
        pp = &l->next;
        if (!l->bev) {
            if (now >= l->next_try_ms) link_connect(bo, l, now);
            continue;
        }
        if (!l->connected) {
            if (now - l->last_tx_ms > BO_SILENCE_MS) {   /* connect hangs */
                l->failures++;
                link_close(l);
                l->next_try_ms = retry_at(l, now);
            }
            continue;
        }
        if (now - l->last_rx_ms > BO_SILENCE_MS) {
            /* no answer to keep-alives (an old node drops OBSERVE, or a
             * hung one): reconnect later; polling covers the gap */
            if (!l->fp) l->failures++;
            link_close(l);
            l->next_try_ms = retry_at(l, now);
            continue;
        }
        if (l->fp) up++;
        if (now - l->last_tx_ms >= BO_KEEPALIVE_MS) send_observe(l, now);
    }
    atomic_store(&bo->up, up);
}

int busobs_setup(proxy_t *p)
{
    const char *secret = p->cluster_secret ? p->cluster_secret : "";
    if (!p->bus_observer || (!secret[0] && !p->cluster_bus_insecure))
        return 0;
    busobs_t *bo = ts_calloc(1, sizeof(*bo));
    bo->p = p;
    /* the nodes' key: SHA-256 of the secret (node/cluster/bus.c) */
    SHA256((const unsigned char *)secret, strlen(secret), bo->key);
    ts_random_hex(bo->id, 40);
    bo->tick = event_new(p->base, -1, EV_PERSIST, on_tick, bo);
    struct timeval tv = {0, BO_TICK_MS * 1000};
    event_add(bo->tick, &tv);
    p->busobs = bo;
    on_tick(-1, 0, bo);         /* connect now, not in 100 ms */
    log_msg(LL_NOTICE, "Observing the cluster bus as %s", bo->id);
    return 0;
}

void busobs_teardown(proxy_t *p)
{
    busobs_t *bo = p->busobs;
    if (!bo) return;
    while (bo->links) {
        obslink_t *l = bo->links;
        bo->links = l->next;
        link_close(l);
        ts_free(l);
    }
    if (bo->tick) event_free(bo->tick);
    ts_free(bo->pack);
    ts_free(bo);
    p->busobs = NULL;
}

void busobs_describe(proxy_t *p, buf_t *b)
{
    busobs_t *bo = p->busobs;
    if (!bo) {
        buf_append_str(b, "bus_observer:off\r\n");
        return;
    }
    buf_printf(b,
               "bus_observer:on\r\nbus_links_up:%d\r\n"
               "bus_topology_frames:%llu\r\nbus_pushes:%llu\r\n"
               "bus_push_refreshes:%llu\r\nbus_dropped:%llu\r\n",
               atomic_load(&bo->up), atomic_load(&bo->frames),
               atomic_load(&bo->pushes), atomic_load(&bo->refreshes),
               atomic_load(&bo->dropped));
}
