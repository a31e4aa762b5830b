/*
 * observer.c: observers on the cluster bus (bus revision 2).
 *
 * An observer is a tessera-proxy that wants topology changes pushed to it
 * instead of polling CLUSTER SHARDS.  It opens a bus connection to a node
 * and sends OBSERVE frames (header flag OBSERVER, its own random id, no
 * slots), authenticated with the cluster secret like any frame; bus.c has
 * already checked the HMAC, the version and the header by the time
 * observer_process sees one.  An observer is not a node:
 *
 *   - its frames never reach gossip.c: no cnode is created, it is never
 *     counted as a master or a voter, never gossiped to other nodes, never
 *     listed in CLUSTER NODES / LINKS, and only OBSERVE may carry the
 *     OBSERVER flag (bus.c drops anything else that does);
 *   - the link is marked link->observer and kept open while OBSERVE
 *     keep-alives arrive (one per second from the proxy); silence for
 *     OBS_TIMEOUT closes it;
 *   - every OBSERVE is answered with a TOPOLOGY frame, and whenever the
 *     topology this node knows changes (slot owners, a node's role, FAIL,
 *     epochs, addresses, cluster_state) a TOPOLOGY frame is pushed to every
 *     observer at once.  Changes are found by a fingerprint of that state,
 *     taken at the end of cl_update_state, which runs after every change
 *     (CL_TODO_UPDATE_STATE), right after a promotion, and in the 100 ms
 *     cron; with no observer connected nothing is computed.
 *
 * TOPOLOGY = this node's header (as in a PING) plus one Gossip entry per
 * known node (not handshakes), so an observer learns every node's bus
 * address from any one of them.
 */
#include "cluster_int.h"

#include <event2/bufferevent.h>
#include <string.h>

#include "alloc.h"
#include "hash.h"
#include "cluster_bus.pb-c.h"
#include "log.h"
#include "repl/repl.h"

/* An observer link silent this long (ms) is closed; proxies send a
 * keep-alive every second. */
#define OBS_TIMEOUT 5000
/* At most this many observer links at once (an open bus port must not
 * collect sockets; each proxy opens one per node). */
#define OBS_MAX_LINKS 256

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
    return hash_fnv1a(h, p, n);
}

static uint64_t fnv_u64(uint64_t h, uint64_t v)
{
    return fnv(h, &v, sizeof(v));
}

/* What an observer routes by: nodes (name, role, FAIL, epoch, master,
 * address) and slot owners, as runs.  PFAIL, ping times and offsets are
 * left out: they change all the time and move no slot. */
static uint64_t fingerprint(const cluster_t *cl)
{
    uint64_t h = HASH_FNV_INIT;
    h = fnv_u64(h, (uint64_t)cl->state);
    for (int i = 0; i < cl->nnodes; i++) {
        const cnode_t *node = cl->nodes[i];
        if (node->flags & CN_HANDSHAKE) continue;
        h = fnv(h, node->name, CN_NAMELEN);
        h = fnv_u64(h, node->flags & (CN_MASTER | CN_SLAVE | CN_FAIL |
                                      CN_NOADDR | CN_NOFAILOVER));
        h = fnv_u64(h, node->config_epoch);
        if (node->master) h = fnv(h, node->master->name, CN_NAMELEN);
        h = fnv(h, node->ip, strlen(node->ip));
        h = fnv_u64(h, ((uint64_t)node->port << 32) | (uint64_t)node->cport);
    }
    const cnode_t *prev = NULL;
    for (int s = 0; s < SLOT_COUNT; s++) {
        if (cl->slots[s] == prev && s) continue;
        prev = cl->slots[s];
        h = fnv_u64(h, (uint64_t)s);
        h = prev ? fnv(h, prev->name, CN_NAMELEN) : fnv_u64(h, 0);
    }
    return h;
}

/* Slot bitmap -> ranges; *r and *rp are the caller's to free. */
static size_t ranges_of(const uint8_t *bits, Tessera__Bus__SlotRange **r,
                        Tessera__Bus__SlotRange ***rp)
{
    size_t n = 0, cap = 8;
    *r = ts_malloc(cap * sizeof(**r));
    int start = -1;
    for (int s = 0; s <= SLOT_COUNT; s++) {
        int on = s < SLOT_COUNT && ((bits[s >> 3] >> (s & 7)) & 1);
        if (on && start < 0) start = s;
        if (on || start < 0) continue;
        if (n == cap) {
            cap *= 2;
            *r = ts_realloc(*r, cap * sizeof(**r));
        }
        tessera__bus__slot_range__init(&(*r)[n]);
        (*r)[n].start = (uint32_t)start;
        (*r)[n].end = (uint32_t)(s - 1);
        n++;
        start = -1;
    }
    *rp = ts_malloc((n ? n : 1) * sizeof(**rp));
    for (size_t i = 0; i < n; i++) (*rp)[i] = &(*r)[i];
    return n;
}

/* Pack one TOPOLOGY frame (valid until the next bus_pack). */
static const uint8_t *pack_topology(cluster_t *cl, size_t *len)
{
    cnode_t *me = cl->myself;
    node_t *n = cl->n;
    Tessera__Bus__Message m = TESSERA__BUS__MESSAGE__INIT;
    Tessera__Bus__Header h = TESSERA__BUS__HEADER__INIT;
    Tessera__Bus__Ping body = TESSERA__BUS__PING__INIT;
    h.version = BUS_VERSION;
    h.revision = BUS_REVISION;
    h.sender = me->name;
    h.current_epoch = cl->current_epoch;
    h.config_epoch = cl_node_epoch(me);
    h.flags = me->flags & (CN_MASTER | CN_SLAVE | CN_NOFAILOVER);
    h.master_id = (me->flags & CN_SLAVE) && me->master ? me->master->name
                                                       : (char *)"";
    h.repl_offset = (uint64_t)repl_stream_offset(n);
    const cnode_t *owner = (me->flags & CN_SLAVE) && me->master ? me->master
                                                                : me;
    Tessera__Bus__SlotRange *r, **rp;
    h.n_slots = ranges_of(owner->slots, &r, &rp);
    h.slots = rp;
    h.ip = n->cluster_announce_ip ? n->cluster_announce_ip : (char *)"";
    h.port = (uint32_t)cl_my_port(cl);
    h.bus_port = (uint32_t)cl_my_cport(cl);
    h.hostname = me->hostname;
    h.cluster_ok = cl->state == CLUSTER_OK;
    Tessera__Bus__Gossip *g = ts_malloc((size_t)(cl->nnodes + 1) * sizeof(*g));
    Tessera__Bus__Gossip **gp =
        ts_malloc((size_t)(cl->nnodes + 1) * sizeof(*gp));
    size_t ng = 0;
    for (int i = 0; i < cl->nnodes; i++) {
        cnode_t *node = cl->nodes[i];
        if (node->flags & (CN_HANDSHAKE | CN_MYSELF)) continue;
        tessera__bus__gossip__init(&g[ng]);
        g[ng].node_id = node->name;
        g[ng].ip = node->ip;
        g[ng].port = (uint32_t)node->port;
        g[ng].bus_port = (uint32_t)node->cport;
        g[ng].flags = node->flags & ~(unsigned)(CN_MYSELF | CN_MEET);
        g[ng].hostname = node->hostname;
        gp[ng] = &g[ng];
        ng++;
    }
    body.n_gossip = ng;
    body.gossip = gp;
    m.header = &h;
    m.type = (Tessera__Bus__Type)CLMSG_TOPOLOGY;
    m.body_case = TESSERA__BUS__MESSAGE__BODY_PING;
    m.ping = &body;
    const uint8_t *f = bus_pack(cl, &m, len);
    ts_free(g);
    ts_free(gp);
    ts_free(r);
    ts_free(rp);
    return f;
}

static int count_observers(const cluster_t *cl)
{
    int k = 0;
    for (const clink_t *l = cl->links; l; l = l->next) k += l->observer;
    return k;
}

void observer_process(clink_t *link, const Tessera__Bus__Message *m)
{
    cluster_t *cl = link->cl;
    if (link->node) {
        /* a node's own link never turns into an observer's */
        gossip_drop(cl, link->peer, "OBSERVE on a node's link");
        return;
    }
    if (!link->inbound) {
        gossip_drop(cl, link->peer, "OBSERVE on an outbound link");
        return;
    }
    if (!link->observer) {
        if (count_observers(cl) >= OBS_MAX_LINKS) {
            gossip_drop(cl, link->peer, "too many observers");
            return;
        }
        link->observer = 1;
        log_msg(LL_VERBOSE, "Observer %.40s connected from %s",
                m->header->sender, link->peer);
        /* what it gets now is what later pushes are compared with */
        cl->obs_fp = fingerprint(cl);
    }
    link->obs_seen = cl_now();
    size_t len;
    const uint8_t *f = pack_topology(cl, &len);
    bus_send_frame(link, f, len);
}

void observer_check(cluster_t *cl)
{
    clink_t *first = NULL;
    long long now = cl_now();
    for (clink_t *l = cl->links, *next; l; l = next) {
        next = l->next;
        if (!l->observer) continue;
        if (now - l->obs_seen > OBS_TIMEOUT) {
            log_msg(LL_VERBOSE, "Observer link from %s timed out", l->peer);
            bus_link_free(l);
            continue;
        }
        if (!first) first = l;
    }
    if (!first) return;
    uint64_t fp = fingerprint(cl);
    if (fp == cl->obs_fp) return;
    cl->obs_fp = fp;
    cl->obs_pushes++;
    size_t len;
    const uint8_t *f = pack_topology(cl, &len);
    for (clink_t *l = first; l; l = l->next)
        if (l->observer) bus_send_frame(l, f, len);
}
