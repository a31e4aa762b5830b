/*
 * bus.c: the cluster bus transport -- listener, links, frames, HMAC.
 *
 * A frame is
 *
 *   | length (4 bytes, big endian) | protobuf Message | HMAC-SHA256 (32) |
 *
 * with length counting the protobuf bytes only, at most BUS_MAX_FRAME,
 * and the HMAC computed over the length and the protobuf bytes, keyed
 * with SHA-256(cluster-secret).  Everything a frame carries is untrusted
 * until its HMAC checks; a frame that fails the HMAC, does not parse, or
 * has the wrong version or a malformed header is dropped and counted
 * (CLUSTER INFO cluster_stats_messages_dropped / _auth_failed) and never
 * reaches gossip.c.  A length over the limit makes the stream unusable:
 * the link is closed (the peer reconnects).
 *
 * Links are libevent bufferevents, nonblocking: one outbound link per
 * peer (node->link, the one we ping over) and the inbound links peers
 * opened to us (node->inbound_link once the sender is known).
 */
#include "cluster_int.h"

#include <arpa/inet.h>
#include <errno.h>
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
#include <unistd.h>

#include "alloc.h"
#include "cluster_bus.pb-c.h"
#include "log.h"

void bus_derive_key(cluster_t *cl, const char *secret)
{
    memset(cl->secret, 0, sizeof(cl->secret));
    SHA256((const unsigned char *)secret, strlen(secret), cl->secret);
}

void bus_hmac(const unsigned char key[64], const uint8_t *frame, size_t len,
              uint8_t out[BUS_HMAC_LEN])
{
    unsigned int olen = BUS_HMAC_LEN;
    HMAC(EVP_sha256(), key, SHA256_DIGEST_LENGTH, frame, len, out, &olen);
}

/* ---- decoding ------------------------------------------------------------ */

static int hex_id(const char *s)
{
    if (!s || strlen(s) != CN_NAMELEN) return 0;
    for (int i = 0; i < CN_NAMELEN; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

static int valid_ranges(Tessera__Bus__SlotRange *const *r, size_t n)
{
    if (n > SLOT_COUNT) return 0;
    for (size_t i = 0; i < n; i++)
        if (!r[i] || r[i]->start > r[i]->end || r[i]->end >= SLOT_COUNT)
            return 0;
    return 1;
}

/* Everything gossip.c relies on, checked once here. */
static const char *validate(const Tessera__Bus__Message *m)
{
    const Tessera__Bus__Header *h = m->header;
    if (!h) return "no header";
    if (h->version != BUS_VERSION) return "unknown version";
    if (!hex_id(h->sender)) return "bad sender id";
    if (h->master_id[0] && !hex_id(h->master_id)) return "bad master id";
    if (h->shard_id[0] && !hex_id(h->shard_id)) return "bad shard id";
    if (!valid_ranges(h->slots, h->n_slots)) return "bad slot range";
    if (h->port > 65535 || h->bus_port > 65535) return "bad port";
    if (strlen(h->ip) >= CN_IPLEN || strlen(h->hostname) >= CN_HOSTLEN)
        return "bad address";
    /* only an observer's OBSERVE carries the observer flag, and it must */
    if (!(h->flags & CN_OBSERVER) != ((int)m->type != CLMSG_OBSERVE))
        return "observer flag";
    switch ((int)m->type) {
    case CLMSG_PING:
    case CLMSG_PONG:
    case CLMSG_MEET:
        if (m->body_case != TESSERA__BUS__MESSAGE__BODY_PING) return "no body";
        for (size_t i = 0; i < m->ping->n_gossip; i++) {
            const Tessera__Bus__Gossip *g = m->ping->gossip[i];
            if (!g || !hex_id(g->node_id) || g->port > 65535 ||
                g->bus_port > 65535 || strlen(g->ip) >= CN_IPLEN ||
                strlen(g->hostname) >= CN_HOSTLEN)
                return "bad gossip";
        }
        return NULL;
    case CLMSG_FAIL:
        if (m->body_case != TESSERA__BUS__MESSAGE__BODY_FAIL ||
            !hex_id(m->fail->node_id))
            return "bad FAIL";
        return NULL;
    case CLMSG_UPDATE:
        if (m->body_case != TESSERA__BUS__MESSAGE__BODY_UPDATE ||
            !hex_id(m->update->node_id) ||
            !valid_ranges(m->update->slots, m->update->n_slots))
            return "bad UPDATE";
        return NULL;
    case CLMSG_PUBLISH:
        if (m->body_case != TESSERA__BUS__MESSAGE__BODY_PUBLISH)
            return "bad PUBLISH";
        return NULL;
    case CLMSG_AUTH_REQUEST:
    case CLMSG_AUTH_ACK:
    case CLMSG_MFSTART:
    case CLMSG_OBSERVE:
        return NULL;
    default:    /* TOPOLOGY too: nodes send it, only observers take it */
        return "unknown type";
    }
}

long bus_decode(const unsigned char key[64], const uint8_t *p, size_t avail,
                Tessera__Bus__Message **msg, const char **why)
{
    *msg = NULL;
    *why = NULL;
    if (avail < 4) return 0;
    uint32_t len = ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) |
                   ((uint32_t)p[2] << 8) | p[3];
    if (len > BUS_MAX_FRAME) {
        *why = "frame too long";
        return -1;
    }
    size_t total = 4 + (size_t)len + BUS_HMAC_LEN;
    if (avail < total) return 0;
    uint8_t mac[BUS_HMAC_LEN];
    bus_hmac(key, p, 4 + (size_t)len, mac);
    if (CRYPTO_memcmp(mac, p + 4 + len, BUS_HMAC_LEN) != 0) {
        *why = "auth";
        return (long)total;
    }
    Tessera__Bus__Message *m = tessera__bus__message__unpack(NULL, len, p + 4);
    if (!m) {
        *why = "unparsable";
        return (long)total;
    }
    const char *bad = validate(m);
    if (bad) {
        *why = bad;
        tessera__bus__message__free_unpacked(m, NULL);
        return (long)total;
    }
    *msg = m;
    return (long)total;
}

void bus_free_message(Tessera__Bus__Message *msg)
{
    if (msg) tessera__bus__message__free_unpacked(msg, NULL);
}

/* ---- encoding ------------------------------------------------------------- */

/* Frame m in cl's reusable buffer: length, protobuf bytes, HMAC. */
const uint8_t *bus_pack(cluster_t *cl, const Tessera__Bus__Message *m,
                        size_t *len)
{
    size_t pb = tessera__bus__message__get_packed_size(m);
    size_t need = 4 + pb + BUS_HMAC_LEN;
    if (need > cl->packcap) {
        cl->packcap = need + 1024;
        cl->pack = ts_realloc(cl->pack, cl->packcap);
    }
    uint8_t *f = cl->pack;
    pb = tessera__bus__message__pack(m, f + 4);
    f[0] = (uint8_t)(pb >> 24);
    f[1] = (uint8_t)(pb >> 16);
    f[2] = (uint8_t)(pb >> 8);
    f[3] = (uint8_t)pb;
    bus_hmac(cl->secret, f, 4 + pb, f + 4 + pb);
    *len = 4 + pb + BUS_HMAC_LEN;
    return f;
}

void bus_send_frame(clink_t *link, const uint8_t *frame, size_t len)
{
    if (!link || !link->bev || len > BUS_MAX_FRAME + 4 + BUS_HMAC_LEN) return;
    evbuffer_add(bufferevent_get_output(link->bev), frame, len);
}

size_t bus_link_queued(const clink_t *link)
{
    return link->bev ? evbuffer_get_length(bufferevent_get_output(link->bev))
                     : 0;
}

size_t bus_link_memory(const clink_t *link)
{
    size_t m = sizeof(*link);
    if (link->bev)
        m += evbuffer_get_length(bufferevent_get_input(link->bev)) +
             evbuffer_get_length(bufferevent_get_output(link->bev));
    return m;
}

/* ---- links ------------------------------------------------------------------ */

static clink_t *link_create(cluster_t *cl, struct bufferevent *bev,
                            int inbound)
{
    clink_t *l = ts_calloc(1, sizeof(*l));
    l->cl = cl;
    l->bev = bev;
    l->inbound = inbound;
    l->ctime = node_unix_ms();
    l->next = cl->links;
    if (cl->links) cl->links->prev = l;
    cl->links = l;
    return l;
}

void bus_link_free(clink_t *l)
{
    cluster_t *cl = l->cl;
    if (l->node) {
        if (l->node->link == l) l->node->link = NULL;
        if (l->node->inbound_link == l) l->node->inbound_link = NULL;
    }
    if (l->bev) bufferevent_free(l->bev);
    if (l->prev) l->prev->next = l->next;
    else cl->links = l->next;
    if (l->next) l->next->prev = l->prev;
    ts_free(l);
}

static void on_read(struct bufferevent *bev, void *arg)
{
    clink_t *l = arg;
    cluster_t *cl = l->cl;
    struct evbuffer *in = bufferevent_get_input(bev);
    for (;;) {
        size_t avail = evbuffer_get_length(in);
        if (avail < 4) return;
        uint8_t h[4];
        evbuffer_copyout(in, h, 4);
        uint32_t len = ((uint32_t)h[0] << 24) | ((uint32_t)h[1] << 16) |
                       ((uint32_t)h[2] << 8) | h[3];
        size_t total = len > BUS_MAX_FRAME ? 4
                                           : 4 + (size_t)len + BUS_HMAC_LEN;
        if (avail < total) return;
        const uint8_t *p = evbuffer_pullup(in, (ssize_t)total);
        Tessera__Bus__Message *m;
        const char *why;
        long used = bus_decode(cl->secret, p, total, &m, &why);
        if (used < 0) {
            gossip_drop(cl, l->peer, why);
            gossip_link_closed(l);
            bus_link_free(l);
            return;
        }
        if (!m) {
            if (why && strcmp(why, "auth") == 0) cl->auth_failed++;
            gossip_drop(cl, l->peer, why);
            evbuffer_drain(in, (size_t)used);
            continue;
        }
        evbuffer_drain(in, (size_t)used);
        /* gossip_process may free this link (e.g. a node renamed or
         * forgotten): it returns nothing, so check after via the list. */
        clink_t *self = l;
        if ((int)m->type == CLMSG_OBSERVE) observer_process(l, m);
        else if (l->observer) gossip_drop(cl, l->peer, "node message on "
                                          "an observer's link");
        else gossip_process(l, m);
        bus_free_message(m);
        int alive = 0;
        for (clink_t *x = cl->links; x; x = x->next)
            if (x == self) alive = 1;
        if (!alive) return;
    }
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
    (void)bev;
    clink_t *l = arg;
    if (what & BEV_EVENT_CONNECTED) {
        l->connected = 1;
        int one = 1;
        setsockopt(bufferevent_getfd(l->bev), IPPROTO_TCP, TCP_NODELAY, &one,
                   sizeof(one));
        return;
    }
    if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
        gossip_link_closed(l);
        bus_link_free(l);
    }
}

int bus_connect(cluster_t *cl, cnode_t *node)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICHOST;
    char port[16];
    snprintf(port, sizeof(port), "%d", node->cport);
    if (!node->ip[0] || getaddrinfo(node->ip, port, &hints, &res) != 0)
        return -1;
    struct bufferevent *bev = bufferevent_socket_new(cl->n->base, -1,
                                                     BEV_OPT_CLOSE_ON_FREE);
    clink_t *l = link_create(cl, bev, 0);
    l->node = node;
    snprintf(l->peer, sizeof(l->peer), "%s", node->ip);
    node->link = l;
    bufferevent_setcb(bev, on_read, NULL, on_event, l);
    bufferevent_enable(bev, EV_READ | EV_WRITE);
    int rc = bufferevent_socket_connect(bev, res->ai_addr,
                                        (int)res->ai_addrlen);
    freeaddrinfo(res);
    if (rc != 0) {
        bus_link_free(l);
        return -1;
    }
    /* As Redis: queue a PING (or the MEET the operator asked for) right
     * away, so that a peer we cannot reach at all still has a ping
     * pending and is suspected after node-timeout; a ping already
     * pending keeps its time. */
    int type = (node->flags & CN_MEET) ? CLMSG_MEET : CLMSG_PING;
    long long saved = node->ping_sent;
    gossip_send_ping(cl, l, type);
    if (saved) node->ping_sent = saved;
    node->flags &= ~CN_MEET;
    return 0;
}

static void on_accept(evutil_socket_t lfd, short what, void *arg)
{
    (void)what;
    cluster_t *cl = arg;
    for (int i = 0; i < 100; i++) {
        struct sockaddr_storage ss;
        socklen_t slen = sizeof(ss);
        int fd = accept4(lfd, (struct sockaddr *)&ss, &slen,
                         SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) return;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        struct bufferevent *bev = bufferevent_socket_new(
            cl->n->base, fd, BEV_OPT_CLOSE_ON_FREE);
        clink_t *l = link_create(cl, bev, 1);
        l->connected = 1;
        if (ss.ss_family == AF_INET)
            inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr,
                      l->peer, sizeof(l->peer));
        else if (ss.ss_family == AF_INET6)
            inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr,
                      l->peer, sizeof(l->peer));
        bufferevent_setcb(bev, on_read, NULL, on_event, l);
        bufferevent_enable(bev, EV_READ | EV_WRITE);
    }
}

static int listen_one(cluster_t *cl, const char *host, int port)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICHOST;
    char ps[16];
    snprintf(ps, sizeof(ps), "%d", port);
    if (getaddrinfo(host, ps, &hints, &res) != 0) return -1;
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    int one = 1;
    if (fd >= 0) {
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
        if (res->ai_family == AF_INET6)
            setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    }
    if (fd < 0 || bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
        listen(fd, 511) != 0) {
        int err = errno;
        if (fd >= 0) close(fd);
        freeaddrinfo(res);
        errno = err;
        return -1;
    }
    freeaddrinfo(res);
    cl->listen_fds[cl->nlisten] = fd;
    cl->listen_evs[cl->nlisten] =
        event_new(cl->n->base, fd, EV_READ | EV_PERSIST, on_accept, cl);
    event_add(cl->listen_evs[cl->nlisten], NULL);
    cl->nlisten++;
    return 0;
}

/* Listen on the bus port on the first bind address (as Redis binds the
 * bus on the same addresses as the clients; "*" by default). */
int bus_listen(cluster_t *cl)
{
    node_t *n = cl->n;
    int port = (int)(n->cluster_port ? n->cluster_port : n->port + 10000);
    char first[128] = "*";
    if (n->bind_str && n->bind_str[0]) {
        sscanf(n->bind_str, "%127s", first);
    }
    const char *host = first[0] == '-' ? first + 1 : first;
    if (strcmp(host, "*") == 0) host = "0.0.0.0";
    else if (strcmp(host, "::*") == 0) host = "::";
    if (listen_one(cl, host, port) != 0) {
        log_msg(LL_WARNING, "Could not open the cluster bus port %s:%d: %s",
                host, port, strerror(errno));
        return -1;
    }
    return 0;
}

void bus_close_all(cluster_t *cl)
{
    while (cl->links) bus_link_free(cl->links);
    for (int i = 0; i < cl->nlisten; i++) {
        event_free(cl->listen_evs[i]);
        close(cl->listen_fds[i]);
    }
    cl->nlisten = 0;
    ts_free(cl->pack);
    cl->pack = NULL;
    cl->packcap = 0;
}
