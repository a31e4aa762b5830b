/*
 * gossip.c: what the bus messages mean, and the cluster cron.
 *
 * Redis Cluster's protocol, carried in protobuf frames (bus.c):
 *
 *   - CLUSTER MEET starts a handshake: a node with a random name and the
 *     HANDSHAKE flag; the first PONG on its link tells the real name.
 *     Nodes named in gossip sections are met the same way.
 *   - Every 100 ms the cron connects missing links; once a second it
 *     pings the least recently heard of 5 random peers; any peer not heard
 *     for node-timeout/2 is pinged too.  A PING/MEET is answered by a PONG.
 *   - Each PING/PONG carries the sender's epochs, role, slots and a gossip
 *     section (a tenth of the known nodes, at least 3, plus every node we
 *     suspect).  A peer unanswered for cluster-node-timeout becomes PFAIL;
 *     masters' reports of PFAIL in gossip are failure reports, and when a
 *     majority of the masters (counting ourselves) report a node within
 *     2 x node-timeout it becomes FAIL and a FAIL message is broadcast.
 *   - Slot ownership: a master's claim wins over a lower config epoch; a
 *     sender with a stale view gets an UPDATE; two masters with the same
 *     config epoch resolve it (the smaller name takes a new epoch).
 *
 * Every timeout uses the monotonic clock (cl_now).  Failover (votes,
 * promotion, manual failover: AUTH_REQUEST/ACK, MFSTART, the MF_PAUSED
 * header flag) is failover.c's; this file routes those messages there.
 */
#include "cluster_int.h"

#include <arpa/inet.h>
#include <event2/bufferevent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "alloc.h"
#include "cluster_bus.pb-c.h"
#include "db.h"
#include "keyspace.h"
#include "log.h"
#include "pubsub.h"
#include "repl/repl.h"

static long long node_timeout(const cluster_t *cl)
{
    return cl->n->cluster_node_timeout > 0 ? cl->n->cluster_node_timeout : 1;
}

void gossip_drop(cluster_t *cl, const char *peer, const char *why)
{
    cl->dropped++;
    long long now = cl_now();
    if (now - cl->last_drop_log < 1000) return;
    cl->last_drop_log = now;
    log_msg(LL_WARNING, "Dropped a cluster bus message from %s: %s "
            "(%lld dropped so far)", peer[0] ? peer : "?", why ? why : "?",
            cl->dropped);
}

/* ---- building messages -------------------------------------------------- */

typedef struct msgbuf {
    Tessera__Bus__Message msg;
    Tessera__Bus__Header hdr;
    Tessera__Bus__SlotRange *ranges;
    Tessera__Bus__SlotRange **rptrs;
    size_t nranges;
    Tessera__Bus__Ping ping;
    Tessera__Bus__Gossip *gossip;
    Tessera__Bus__Gossip **gptrs;
} msgbuf_t;

/* Slot bitmap -> ranges (into mb). */
static void fill_ranges(const uint8_t *bits, Tessera__Bus__SlotRange **out_r,
                        Tessera__Bus__SlotRange ***out_p, size_t *out_n)
{
    size_t n = 0, cap = 16;
    Tessera__Bus__SlotRange *r = ts_malloc(cap * sizeof(*r));
    int start = -1;
    for (int s = 0; s <= SLOT_COUNT; s++) {
        if (s < SLOT_COUNT && (s & 7) == 0 && start < 0 && bits[s >> 3] == 0) {
            s += 7;
            continue;
        }
        int on = s < SLOT_COUNT && ((bits[s >> 3] >> (s & 7)) & 1);
        if (on && start < 0) start = s;
        if (!on && start >= 0) {
            if (n == cap) {
                cap *= 2;
                r = ts_realloc(r, cap * sizeof(*r));
            }
            tessera__bus__slot_range__init(&r[n]);
            r[n].start = (uint32_t)start;
            r[n].end = (uint32_t)(s - 1);
            n++;
            start = -1;
        }
    }
    Tessera__Bus__SlotRange **p = ts_malloc((n ? n : 1) * sizeof(*p));
    for (size_t i = 0; i < n; i++) p[i] = &r[i];
    *out_r = r;
    *out_p = p;
    *out_n = n;
}

static void msg_init(cluster_t *cl, msgbuf_t *mb, int type)
{
    memset(mb, 0, sizeof(*mb));
    tessera__bus__message__init(&mb->msg);
    tessera__bus__header__init(&mb->hdr);
    cnode_t *me = cl->myself;
    node_t *n = cl->n;
    Tessera__Bus__Header *h = &mb->hdr;
    h->version = BUS_VERSION;
    h->sender = me->name;
    h->current_epoch = cl->current_epoch;
    h->config_epoch = cl_node_epoch(me);
    h->flags = me->flags & (CN_MASTER | CN_SLAVE | CN_NOFAILOVER);
    h->master_id = (me->flags & CN_SLAVE) && me->master ? me->master->name
                                                        : (char *)"";
    me->repl_offset = repl_stream_offset(n);
    h->repl_offset = (uint64_t)me->repl_offset;
    const cnode_t *owner = (me->flags & CN_SLAVE) && me->master ? me->master
                                                                : me;
    fill_ranges(owner->slots, &mb->ranges, &mb->rptrs, &mb->nranges);
    h->n_slots = mb->nranges;
    h->slots = mb->rptrs;
    h->ip = n->cluster_announce_ip ? n->cluster_announce_ip : (char *)"";
    h->port = (uint32_t)cl_my_port(cl);
    h->bus_port = (uint32_t)cl_my_cport(cl);
    h->hostname = me->hostname;
    h->shard_id = me->shard_id;
    h->cluster_ok = cl->state == CLUSTER_OK;
    if (type == CLMSG_AUTH_REQUEST && cl->mf_end) h->mflags = MF_FORCEACK;
    if (cl->mf_replica && (me->flags & CN_MASTER)) h->mflags |= MF_PAUSED;
    mb->msg.header = h;
    mb->msg.type = (Tessera__Bus__Type)type;
}

static void msg_free(msgbuf_t *mb)
{
    ts_free(mb->ranges);
    ts_free(mb->rptrs);
    ts_free(mb->gossip);
    ts_free(mb->gptrs);
}

static void send_msg(cluster_t *cl, clink_t *link, msgbuf_t *mb)
{
    size_t len;
    const uint8_t *f = bus_pack(cl, &mb->msg, &len);
    bus_send_frame(link, f, len);
    cl->sent[mb->msg.type]++;
}

/* Send to every node we have an outbound link with (not handshakes). */
static void broadcast(cluster_t *cl, msgbuf_t *mb)
{
    size_t len;
    const uint8_t *f = bus_pack(cl, &mb->msg, &len);
    for (int i = 0; i < cl->nnodes; i++) {
        cnode_t *node = cl->nodes[i];
        if (!node->link || !node->link->connected ||
            (node->flags & (CN_MYSELF | CN_HANDSHAKE)))
            continue;
        bus_send_frame(node->link, f, len);
        cl->sent[mb->msg.type]++;
    }
}

static void set_gossip(Tessera__Bus__Gossip *g, const cnode_t *node)
{
    tessera__bus__gossip__init(g);
    g->node_id = (char *)node->name;
    g->ping_sent = (uint64_t)(cl_to_unix(node->ping_sent) / 1000);
    g->pong_received = (uint64_t)(cl_to_unix(node->pong_received) / 1000);
    g->ip = (char *)node->ip;
    g->port = (uint32_t)node->port;
    g->bus_port = (uint32_t)node->cport;
    g->flags = node->flags & ~(unsigned)(CN_MYSELF | CN_MEET);
    g->hostname = (char *)node->hostname;
}

static int gossip_has(const msgbuf_t *mb, size_t n, const cnode_t *node)
{
    for (size_t i = 0; i < n; i++)
        if (mb->gossip[i].node_id == node->name) return 1;
    return 0;
}

/* Redis's clusterSendPing gossip selection. */
static void add_gossip(cluster_t *cl, msgbuf_t *mb, const cnode_t *target)
{
    int fresh = cl->nnodes - 2;
    int wanted = cl->nnodes / 10;
    if (wanted < 3) wanted = 3;
    if (wanted > fresh) wanted = fresh;
    if (wanted < 0) wanted = 0;
    int pfail = 0;
    for (int i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i]->flags & CN_PFAIL) pfail++;
    size_t cap = (size_t)(wanted + pfail + 1);
    mb->gossip = ts_malloc(cap * sizeof(*mb->gossip));
    mb->gptrs = ts_malloc(cap * sizeof(*mb->gptrs));
    size_t n = 0;
    int maxiter = wanted * 3;
    while (fresh > 0 && (int)n < wanted && maxiter-- > 0) {
        cnode_t *node = cl->nodes[rand() % cl->nnodes];
        if (node == cl->myself || node == target) continue;
        if (node->flags & CN_PFAIL) continue;   /* added below */
        if (node->flags & (CN_HANDSHAKE | CN_NOADDR)) continue;
        if (!node->link && node->numslots == 0) continue;
        if (gossip_has(mb, n, node)) continue;
        set_gossip(&mb->gossip[n++], node);
    }
    for (int i = 0; i < cl->nnodes && n < cap; i++) {
        cnode_t *node = cl->nodes[i];
        if (!(node->flags & CN_PFAIL) ||
            (node->flags & (CN_HANDSHAKE | CN_NOADDR)))
            continue;
        set_gossip(&mb->gossip[n++], node);
    }
    for (size_t i = 0; i < n; i++) mb->gptrs[i] = &mb->gossip[i];
    tessera__bus__ping__init(&mb->ping);
    mb->ping.n_gossip = n;
    mb->ping.gossip = mb->gptrs;
    mb->msg.body_case = TESSERA__BUS__MESSAGE__BODY_PING;
    mb->msg.ping = &mb->ping;
}

void gossip_send_ping(cluster_t *cl, clink_t *link, int type)
{
    if (!link) return;
    msgbuf_t mb;
    msg_init(cl, &mb, type);
    add_gossip(cl, &mb, link->node);
    if (type == CLMSG_PING && link->node && link->node->ping_sent == 0)
        link->node->ping_sent = cl_now();
    send_msg(cl, link, &mb);
    msg_free(&mb);
}

void gossip_broadcast_pong(cluster_t *cl)
{
    for (int i = 0; i < cl->nnodes; i++) {
        cnode_t *node = cl->nodes[i];
        if (!node->link || !node->link->connected ||
            (node->flags & (CN_MYSELF | CN_HANDSHAKE)))
            continue;
        gossip_send_ping(cl, node->link, CLMSG_PONG);
    }
}

/* Messages whose header says all (FAILOVER_AUTH_REQUEST / ACK). */
void gossip_send_empty(cluster_t *cl, clink_t *link, int type)
{
    if (!link) return;
    msgbuf_t mb;
    msg_init(cl, &mb, type);
    send_msg(cl, link, &mb);
    msg_free(&mb);
}

void gossip_broadcast_empty(cluster_t *cl, int type)
{
    msgbuf_t mb;
    msg_init(cl, &mb, type);
    broadcast(cl, &mb);
    msg_free(&mb);
}

void gossip_spread_pfail(cluster_t *cl)
{
    for (int i = 0; i < cl->nnodes; i++) {
        cnode_t *node = cl->nodes[i];
        if (!cl_node_is_master(node) || !node->link ||
            !node->link->connected ||
            (node->flags & (CN_MYSELF | CN_HANDSHAKE | CN_PFAIL | CN_FAIL)))
            continue;
        gossip_send_ping(cl, node->link, CLMSG_PING);
    }
}

void gossip_send_fail(cluster_t *cl, const char *name)
{
    msgbuf_t mb;
    msg_init(cl, &mb, CLMSG_FAIL);
    Tessera__Bus__Fail f = TESSERA__BUS__FAIL__INIT;
    f.node_id = (char *)name;
    mb.msg.body_case = TESSERA__BUS__MESSAGE__BODY_FAIL;
    mb.msg.fail = &f;
    broadcast(cl, &mb);
    msg_free(&mb);
}

void gossip_send_update(cluster_t *cl, clink_t *link, cnode_t *node)
{
    if (!link) return;
    msgbuf_t mb;
    msg_init(cl, &mb, CLMSG_UPDATE);
    Tessera__Bus__Update u = TESSERA__BUS__UPDATE__INIT;
    u.node_id = node->name;
    u.config_epoch = node->config_epoch;
    Tessera__Bus__SlotRange *r;
    Tessera__Bus__SlotRange **rp;
    fill_ranges(node->slots, &r, &rp, &u.n_slots);
    u.slots = rp;
    mb.msg.body_case = TESSERA__BUS__MESSAGE__BODY_UPDATE;
    mb.msg.update = &u;
    send_msg(cl, link, &mb);
    ts_free(r);
    ts_free(rp);
    msg_free(&mb);
}

void gossip_send_publish(cluster_t *cl, const resp_arg_t *ch,
                         const resp_arg_t *message)
{
    msgbuf_t mb;
    msg_init(cl, &mb, CLMSG_PUBLISH);
    Tessera__Bus__Publish p = TESSERA__BUS__PUBLISH__INIT;
    p.channel.data = (uint8_t *)ch->ptr;
    p.channel.len = ch->len;
    p.message.data = (uint8_t *)message->ptr;
    p.message.len = message->len;
    mb.msg.body_case = TESSERA__BUS__MESSAGE__BODY_PUBLISH;
    mb.msg.publish = &p;
    broadcast(cl, &mb);
    msg_free(&mb);
}

/* ---- failure reports ------------------------------------------------------- */

static void clean_reports(cluster_t *cl, cnode_t *node)
{
    long long maxtime = node_timeout(cl) * CLUSTER_FAIL_REPORT_VALIDITY_MULT;
    long long now = cl_now();
    for (int i = 0; i < node->nreports; i++)
        if (now - node->reports[i].time > maxtime)
            node->reports[i--] = node->reports[--node->nreports];
}

int gossip_failure_reports(cluster_t *cl, cnode_t *node)
{
    clean_reports(cl, node);
    return node->nreports;
}

/* 1 if the report is new. */
static int add_report(cnode_t *failing, cnode_t *sender)
{
    for (int i = 0; i < failing->nreports; i++)
        if (failing->reports[i].node == sender) {
            failing->reports[i].time = cl_now();
            return 0;
        }
    failing->reports = ts_realloc(failing->reports,
                                  (size_t)(failing->nreports + 1) *
                                      sizeof(fail_report_t));
    failing->reports[failing->nreports].node = sender;
    failing->reports[failing->nreports].time = cl_now();
    failing->nreports++;
    return 1;
}

static void del_report(cnode_t *failing, cnode_t *sender)
{
    for (int i = 0; i < failing->nreports; i++)
        if (failing->reports[i].node == sender) {
            failing->reports[i] = failing->reports[--failing->nreports];
            return;
        }
}

static void mark_failing_if_needed(cluster_t *cl, cnode_t *node)
{
    int quorum = cl->size / 2 + 1;
    if (!(node->flags & CN_PFAIL) || (node->flags & CN_FAIL)) return;
    int failures = gossip_failure_reports(cl, node);
    if (cl_node_is_master(cl->myself)) failures++;
    if (failures < quorum) return;
    log_msg(LL_NOTICE, "Marking node %.40s as failing (quorum reached).",
            node->name);
    node->flags = (node->flags & ~CN_PFAIL) | CN_FAIL;
    node->fail_time = cl_now();
    gossip_send_fail(cl, node->name);
    cl_todo(cl, CL_TODO_SAVE | CL_TODO_UPDATE_STATE);
}

static void clear_failure_if_needed(cluster_t *cl, cnode_t *node)
{
    long long now = cl_now();
    if ((node->flags & CN_SLAVE) || node->numslots == 0 ||
        now - node->fail_time >
            node_timeout(cl) * CLUSTER_FAIL_UNDO_TIME_MULT) {
        log_msg(LL_NOTICE, "Clear FAIL state for node %.40s: %s",
                node->name,
                (node->flags & CN_SLAVE) || !node->numslots
                    ? "is reachable again."
                    : "is reachable again and nobody is serving its slots "
                      "after some time.");
        node->flags &= ~CN_FAIL;
        cl_todo(cl, CL_TODO_SAVE | CL_TODO_UPDATE_STATE);
    }
}

/* ---- handshakes ------------------------------------------------------------ */

int gossip_start_handshake(cluster_t *cl, const char *ip, int port,
                           int cport)
{
    unsigned char addr[sizeof(struct in6_addr)];
    char norm[CN_IPLEN];
    if (inet_pton(AF_INET, ip, addr) == 1) {
        inet_ntop(AF_INET, addr, norm, sizeof(norm));
    } else if (inet_pton(AF_INET6, ip, addr) == 1) {
        inet_ntop(AF_INET6, addr, norm, sizeof(norm));
    } else {
        return -1;
    }
    if (port <= 0 || port > 65535 || cport <= 0 || cport > 65535) return -1;
    for (int i = 0; i < cl->nnodes; i++) {
        cnode_t *node = cl->nodes[i];
        if ((node->flags & CN_HANDSHAKE) && strcmp(node->ip, norm) == 0 &&
            node->port == port && node->cport == cport)
            return 0;   /* already in progress */
    }
    cnode_t *node = cl_node_create(cl, NULL, CN_HANDSHAKE | CN_MEET);
    snprintf(node->ip, sizeof(node->ip), "%s", norm);
    node->port = port;
    node->cport = cport;
    return 0;
}

/* ---- processing ------------------------------------------------------------- */

static void claimed_bitmap(Tessera__Bus__SlotRange *const *r, size_t n,
                           uint8_t bits[SLOT_COUNT / 8])
{
    memset(bits, 0, SLOT_COUNT / 8);
    for (size_t i = 0; i < n; i++)
        for (uint32_t s = r[i]->start; s <= r[i]->end; s++)
            bits[s >> 3] |= (uint8_t)(1u << (s & 7));
}

/* Redis's clusterUpdateSlotsConfigWith: sender's claim wins over slots
 * unassigned or owned under a lower config epoch. */
static void update_slots_with(cluster_t *cl, cnode_t *sender, uint64_t epoch,
                              const uint8_t *claimed)
{
    if (sender == cl->myself) return;
    cnode_t *me = cl->myself;
    cnode_t *curmaster = (me->flags & CN_SLAVE) ? me->master : me;
    uint16_t dirty[SLOT_COUNT];
    int ndirty = 0, changed = 0, ours_lost = 0, sender_slots = 0;
    for (int s = 0; s < SLOT_COUNT; s++) {
        if (!((claimed[s >> 3] >> (s & 7)) & 1)) continue;
        sender_slots++;
        cnode_t *owner = cl->slots[s];
        if (owner == sender || cl->importing[s]) continue;
        if (owner && owner->config_epoch >= epoch) continue;
        if (owner == cl->myself && ks_slot_size(cl->n->ks, (unsigned)s))
            dirty[ndirty++] = (uint16_t)s;
        if (owner == cl->myself && cl->migrating[s]) cl->migrating[s] = NULL;
        if (owner && owner == curmaster) ours_lost++;
        cl_del_slot(cl, s);
        cl_add_slot(cl, sender, s);
        changed = 1;
    }
    if (changed) cl_todo(cl, CL_TODO_SAVE | CL_TODO_UPDATE_STATE);
    /* Our master (or we) lost its last slot to sender: follow the new
     * owner (Redis 7.0's clusterUpdateSlotsConfigWith; a full sync
     * replaces our data).  A failover (sender took exactly our slots)
     * always; slots moved away by resharding only with
     * cluster-allow-replica-migration yes, else a master stays an empty
     * master and its replicas stay with it. */
    if (ours_lost && curmaster && curmaster->numslots == 0 &&
        (cl->n->cluster_allow_replica_migration ||
         sender_slots == ours_lost)) {
        log_msg(LL_NOTICE, "Configuration change detected. Reconfiguring "
                "myself as a replica of %.40s", sender->name);
        cl_set_my_master(cl, sender);
        return;
    }
    /* Redis 7.0's safeguard against sub-replicas: our master turned into a
     * replica (it lost its last slot) before we saw the slots move, so
     * nothing above fired; follow our master's master. */
    if ((me->flags & CN_SLAVE) && me->master &&
        (me->master->flags & CN_SLAVE) && me->master->master &&
        me->master->master != me) {
        log_msg(LL_NOTICE, "I'm a sub-replica! Reconfiguring myself as a "
                "replica of grandmaster %.40s", me->master->master->name);
        cl_set_my_master(cl, me->master->master);
        return;
    }
    /* Keys in slots we lost are not ours any more. */
    for (int i = 0; i < ndirty; i++)
        ks_clear_slot(cl->n->ks, (unsigned)dirty[i]);
}

/* Two masters with the same config epoch: the one with the smaller name
 * takes a new epoch (Redis's clusterHandleConfigEpochCollision). */
static void epoch_collision(cluster_t *cl, cnode_t *sender)
{
    cnode_t *me = cl->myself;
    if (sender->config_epoch != me->config_epoch ||
        !cl_node_is_master(sender) || !cl_node_is_master(me))
        return;
    if (memcmp(sender->name, me->name, CN_NAMELEN) <= 0) return;
    cl->current_epoch++;
    me->config_epoch = cl->current_epoch;
    cl_todo(cl, CL_TODO_SAVE);
    log_msg(LL_VERBOSE, "WARNING: configEpoch collision with node %.40s. "
            "configEpoch set to %llu", sender->name,
            (unsigned long long)me->config_epoch);
}

static void update_address(cluster_t *cl, cnode_t *node, clink_t *link,
                           const Tessera__Bus__Header *h)
{
    const char *ip = h->ip[0] ? h->ip : link->peer;
    int changed = 0;
    if (ip[0] && strcmp(node->ip, ip) != 0 && (link->inbound || h->ip[0])) {
        snprintf(node->ip, sizeof(node->ip), "%s", ip);
        changed = 1;
    }
    if (h->port && (int)h->port != node->port) {
        node->port = (int)h->port;
        changed = 1;
    }
    if (h->bus_port && (int)h->bus_port != node->cport) {
        node->cport = (int)h->bus_port;
        changed = 1;
    }
    if (strcmp(node->hostname, h->hostname) != 0) {
        snprintf(node->hostname, sizeof(node->hostname), "%s", h->hostname);
        cl_todo(cl, CL_TODO_SAVE);
    }
    if (!changed) return;
    node->flags &= ~CN_NOADDR;
    if (node->link && node->link != link) bus_link_free(node->link);
    cl_todo(cl, CL_TODO_SAVE);
}

static void process_gossip(cluster_t *cl, cnode_t *sender,
                           const Tessera__Bus__Ping *p)
{
    for (size_t i = 0; i < p->n_gossip; i++) {
        const Tessera__Bus__Gossip *g = p->gossip[i];
        cnode_t *node = cl_lookup(cl, g->node_id, strlen(g->node_id));
        if (!node) {
            if (sender && !(g->flags & CN_NOADDR) &&
                !cl_blacklisted(cl, g->node_id) && g->port && g->bus_port)
                gossip_start_handshake(cl, g->ip, (int)g->port,
                                       (int)g->bus_port);
            continue;
        }
        if (sender && cl_node_is_master(sender) && node != cl->myself) {
            if (g->flags & (CN_FAIL | CN_PFAIL)) {
                if (add_report(node, sender))
                    log_msg(LL_VERBOSE, "Node %.40s reported node %.40s as "
                            "not reachable.", sender->name, node->name);
                mark_failing_if_needed(cl, node);
            } else {
                del_report(node, sender);
            }
        }
        if (!(g->flags & (CN_FAIL | CN_PFAIL)) && node->ping_sent == 0 &&
            node->nreports == 0) {
            long long pong_unix = (long long)g->pong_received * 1000;
            long long now_unix = node_unix_ms();
            long long as_mono = cl_now() - (now_unix - pong_unix);
            if (pong_unix <= now_unix + 500 && as_mono > node->pong_received)
                node->pong_received = as_mono;
        }
        if ((node->flags & (CN_FAIL | CN_PFAIL)) &&
            !(g->flags & (CN_NOADDR | CN_FAIL | CN_PFAIL)) &&
            (strcmp(node->ip, g->ip) != 0 || node->port != (int)g->port ||
             node->cport != (int)g->bus_port) &&
            g->port && g->bus_port) {
            if (node->link) bus_link_free(node->link);
            snprintf(node->ip, sizeof(node->ip), "%s", g->ip);
            node->port = (int)g->port;
            node->cport = (int)g->bus_port;
            node->flags &= ~CN_NOADDR;
        }
    }
}

/* Shard ids (Redis 7.2's CLUSTER MYSHARDID): a master's is its own, chosen
 * at random when the node is created; a replica takes its master's, so a
 * promoted replica goes on serving the same shard id. */
static void update_shard_id(cluster_t *cl, cnode_t *sender,
                            const Tessera__Bus__Header *h)
{
    if (!h->shard_id[0]) return;
    memcpy(sender->shard_id, h->shard_id, CN_NAMELEN + 1);
    cnode_t *me = cl->myself;
    if ((me->flags & CN_SLAVE) && me->master == sender &&
        strcmp(me->shard_id, sender->shard_id) != 0) {
        memcpy(me->shard_id, sender->shard_id, CN_NAMELEN + 1);
        cl_todo(cl, CL_TODO_SAVE_NOFSYNC);
    }
}

/* Role and slots announced in the header of a PING/PONG/MEET. */
static void process_header(cluster_t *cl, cnode_t *sender, clink_t *link,
                           const Tessera__Bus__Header *h)
{
    update_address(cl, sender, link, h);
    update_shard_id(cl, sender, h);
    unsigned nofo = h->flags & CN_NOFAILOVER;
    sender->flags = (sender->flags & ~CN_NOFAILOVER) | nofo;
    if (!h->master_id[0]) {
        if (sender->flags & CN_SLAVE) {
            cl_node_become_master(cl, sender);
            cl_todo(cl, CL_TODO_SAVE | CL_TODO_UPDATE_STATE);
        }
        sender->flags |= CN_MASTER;
    } else {
        if (sender->flags & CN_MASTER) {
            cl_del_node_slots(cl, sender);
            sender->flags = (sender->flags & ~CN_MASTER) | CN_SLAVE;
            cl_todo(cl, CL_TODO_SAVE | CL_TODO_UPDATE_STATE);
        }
        sender->flags |= CN_SLAVE;
        cnode_t *m = cl_lookup(cl, h->master_id, strlen(h->master_id));
        if (m && sender->master != m && m != sender) {
            cl_set_master(cl, sender, m);
            cl_todo(cl, CL_TODO_SAVE);
        }
    }
    if (!(sender->flags & CN_MASTER)) return;
    uint8_t claimed[SLOT_COUNT / 8];
    claimed_bitmap(h->slots, h->n_slots, claimed);
    if (memcmp(claimed, sender->slots, sizeof(claimed)) != 0)
        update_slots_with(cl, sender, h->config_epoch, claimed);
    /* A stale claim: tell the sender who owns the slot now. */
    for (int s = 0; s < SLOT_COUNT; s++) {
        if (!((claimed[s >> 3] >> (s & 7)) & 1)) continue;
        cnode_t *owner = cl->slots[s];
        if (!owner || owner == sender) continue;
        if (owner->config_epoch > h->config_epoch) {
            gossip_send_update(cl, sender->link ? sender->link : link, owner);
            break;
        }
    }
    epoch_collision(cl, sender);
}

static void learn_my_ip(cluster_t *cl, clink_t *link, int type)
{
    node_t *n = cl->n;
    if (n->cluster_announce_ip && n->cluster_announce_ip[0]) return;
    if (type != CLMSG_MEET && cl->myself->ip[0]) return;
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    char ip[CN_IPLEN] = "";
    if (getsockname(bufferevent_getfd(link->bev), (struct sockaddr *)&ss,
                    &len) != 0)
        return;
    if (ss.ss_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)&ss)->sin_addr, ip,
                  sizeof(ip));
    else if (ss.ss_family == AF_INET6)
        inet_ntop(AF_INET6, &((struct sockaddr_in6 *)&ss)->sin6_addr, ip,
                  sizeof(ip));
    if (ip[0] && strcmp(ip, cl->myself->ip) != 0) {
        memcpy(cl->myself->ip, ip, sizeof(ip));
        log_msg(LL_NOTICE, "IP address for this node updated to %s", ip);
        cl_todo(cl, CL_TODO_SAVE);
    }
}

/* PING / PONG / MEET.  Returns 0, or -1 if link was freed. */
static int process_ping(cluster_t *cl, clink_t *link, cnode_t *sender,
                        const Tessera__Bus__Message *m)
{
    const Tessera__Bus__Header *h = m->header;
    int type = (int)m->type;
    long long now = cl_now();
    if (type == CLMSG_PING || type == CLMSG_MEET) {
        learn_my_ip(cl, link, type);
        if (!sender && type == CLMSG_MEET) {
            cnode_t *node = cl_node_create(cl, NULL, CN_HANDSHAKE);
            snprintf(node->ip, sizeof(node->ip), "%s",
                     h->ip[0] ? h->ip : link->peer);
            node->port = (int)h->port;
            node->cport = (int)h->bus_port;
            cl_todo(cl, CL_TODO_SAVE);
            process_gossip(cl, NULL, m->ping);
        }
        gossip_send_ping(cl, link, CLMSG_PONG);
    }
    if (!link->inbound && link->node) {
        cnode_t *ln = link->node;
        if (ln->flags & CN_HANDSHAKE) {
            if (sender) {
                /* we met a node we already know under its real name */
                update_address(cl, sender, link, h);
                cl_node_delete(cl, ln);
                return -1;
            }
            if (cl_node_rename(cl, ln, h->sender) != 0) {
                cl_node_delete(cl, ln);
                return -1;
            }
            ln->flags &= ~CN_HANDSHAKE;
            ln->flags |= h->master_id[0] ? CN_SLAVE : CN_MASTER;
            log_msg(LL_VERBOSE, "Handshake with node %.40s completed.",
                    ln->name);
            sender = ln;
            cl_todo(cl, CL_TODO_SAVE);
        } else if (strcmp(ln->name, h->sender) != 0) {
            /* the address now answers with another identity */
            log_msg(LL_VERBOSE, "PONG contains mismatching sender ID. "
                    "About node %.40s", ln->name);
            ln->flags |= CN_NOADDR;
            ln->ip[0] = '\0';
            /* a node with a hostname is looked up again (resolve.c) and
             * keeps its ports for that */
            if (!ln->hostname[0]) ln->port = ln->cport = 0;
            bus_link_free(link);
            cl_todo(cl, CL_TODO_SAVE);
            return -1;
        }
    }
    if (!link->inbound && type == CLMSG_PONG && link->node) {
        cnode_t *ln = link->node;
        ln->pong_received = now;
        ln->ping_sent = 0;
        if (ln->flags & CN_PFAIL) {
            ln->flags &= ~CN_PFAIL;
            cl_todo(cl, CL_TODO_SAVE | CL_TODO_UPDATE_STATE);
        } else if (ln->flags & CN_FAIL) {
            clear_failure_if_needed(cl, ln);
        }
    }
    if (!sender || (sender->flags & CN_HANDSHAKE)) return 0;
    process_header(cl, sender, link, h);
    process_gossip(cl, sender, m->ping);
    return 0;
}

void gossip_process(clink_t *link, Tessera__Bus__Message *m)
{
    cluster_t *cl = link->cl;
    const Tessera__Bus__Header *h = m->header;
    int type = (int)m->type;
    if (type > 0 && type < CLMSG_COUNT) cl->received[type]++;
    cnode_t *sender = cl_lookup(cl, h->sender, strlen(h->sender));
    if (sender == cl->myself) {
        gossip_drop(cl, link->peer, "message claims to come from myself");
        return;
    }
    if (sender && (sender->flags & CN_HANDSHAKE)) sender = NULL;
    long long now = cl_now();
    if (sender) {
        sender->data_received = now;
        if (link->inbound && !link->node) {
            if (sender->inbound_link && sender->inbound_link != link) {
                clink_t *old = sender->inbound_link;
                old->node = NULL;
                sender->inbound_link = NULL;
                bus_link_free(old);
            }
            link->node = sender;
            sender->inbound_link = link;
        }
        if (h->current_epoch > cl->current_epoch) {
            cl->current_epoch = h->current_epoch;
            cl_todo(cl, CL_TODO_SAVE);
        }
        if (h->config_epoch > sender->config_epoch && !h->master_id[0]) {
            sender->config_epoch = h->config_epoch;
            cl_todo(cl, CL_TODO_SAVE);
        }
        sender->repl_offset = (long long)h->repl_offset;
        failover_note_header(cl, sender, h);
    }
    switch (type) {
    case CLMSG_PING:
    case CLMSG_PONG:
    case CLMSG_MEET:
        process_ping(cl, link, sender, m);
        return;
    case CLMSG_FAIL: {
        if (!sender) return;
        cnode_t *f = cl_lookup(cl, m->fail->node_id, CN_NAMELEN);
        if (f && !(f->flags & (CN_FAIL | CN_MYSELF))) {
            log_msg(LL_NOTICE, "FAIL message received from %.40s about "
                    "%.40s", sender->name, f->name);
            f->flags = (f->flags & ~CN_PFAIL) | CN_FAIL;
            f->fail_time = now;
            cl_todo(cl, CL_TODO_SAVE | CL_TODO_UPDATE_STATE);
        }
        return;
    }
    case CLMSG_PUBLISH: {
        if (!sender) return;
        resp_arg_t ch = {.ptr = (const char *)m->publish->channel.data,
                         .len = m->publish->channel.len};
        resp_arg_t msg = {.ptr = (const char *)m->publish->message.data,
                          .len = m->publish->message.len};
        if (!ch.ptr) ch.ptr = "";
        if (!msg.ptr) msg.ptr = "";
        pubsub_publish_local(cl->n, &ch, &msg);
        return;
    }
    case CLMSG_UPDATE: {
        if (!sender) return;
        cnode_t *un = cl_lookup(cl, m->update->node_id, CN_NAMELEN);
        if (!un || un->config_epoch >= m->update->config_epoch) return;
        if (un->flags & CN_SLAVE) cl_node_become_master(cl, un);
        un->config_epoch = m->update->config_epoch;
        uint8_t claimed[SLOT_COUNT / 8];
        claimed_bitmap(m->update->slots, m->update->n_slots, claimed);
        update_slots_with(cl, un, un->config_epoch, claimed);
        cl_todo(cl, CL_TODO_SAVE | CL_TODO_UPDATE_STATE);
        return;
    }
    case CLMSG_AUTH_REQUEST:
        if (sender) failover_handle_request(cl, sender, link, m);
        return;
    case CLMSG_AUTH_ACK:
        if (sender) failover_handle_ack(cl, sender, m);
        return;
    case CLMSG_MFSTART:
        if (sender) failover_handle_mfstart(cl, sender);
        return;
    default:
        return;
    }
}

void gossip_link_closed(clink_t *link)
{
    (void)link;
}

/* ---- cron ------------------------------------------------------------------- */

/* cluster-link-sendbuf-limit (Redis 7.0's
 * freeClusterLinkOnBufferLimitReached): a link whose peer does not read
 * is closed before its send buffer eats the memory; an outbound link is
 * reopened by the cron, an inbound one by the peer. */
static void check_sendbuf_limit(cluster_t *cl, clink_t *l)
{
    long long limit = cl->n->cluster_link_sendbuf_limit;
    if (!l || limit <= 0) return;
    size_t used = bus_link_queued(l);
    if (used <= (size_t)limit) return;
    log_msg(LL_WARNING, "Freeing cluster link(%s node %.40s, used memory: "
            "%zu) due to exceeding send buffer memory limit.",
            l->inbound ? "from" : "to", l->node ? l->node->name : "", used);
    bus_link_free(l);
    cl->links_limit_exceeded++;
}

static void cron_node(cluster_t *cl, cnode_t *node, long long now)
{
    check_sendbuf_limit(cl, node->link);
    check_sendbuf_limit(cl, node->inbound_link);
    long long timeout = node_timeout(cl);
    clink_t *l = node->link;
    /* A link that stopped answering: reconnect (the peer may be back at
     * the same address). */
    if (l && node_unix_ms() - l->ctime > timeout && node->ping_sent &&
        now - node->ping_sent > timeout / 2 &&
        now - node->data_received > timeout / 2) {
        bus_link_free(l);
        l = NULL;
    }
    if (l && l->connected && node->ping_sent == 0 &&
        now - node->pong_received > timeout / 2) {
        gossip_send_ping(cl, l, CLMSG_PING);
        return;
    }
    if (!node->ping_sent) return;
    long long delay = now - node->ping_sent;
    long long data_delay = now - node->data_received;
    long long node_delay = delay < data_delay ? delay : data_delay;
    if (node_delay > timeout && !(node->flags & (CN_PFAIL | CN_FAIL))) {
        log_msg(LL_DEBUG, "*** NODE %.40s possibly failing", node->name);
        node->flags |= CN_PFAIL;
        cl_todo(cl, CL_TODO_UPDATE_STATE);
        /* alone (no other master to ask), PFAIL is FAIL at once */
        mark_failing_if_needed(cl, node);
        cl->spread_pfail = 1;
    }
}

void gossip_cron(cluster_t *cl)
{
    long long now = cl_now();
    long long timeout = node_timeout(cl);
    long long hs_timeout = timeout < 1000 ? 1000 : timeout;
    cl->cron_iter++;
    for (int i = 0; i < cl->nnodes; i++) {
        cnode_t *node = cl->nodes[i];
        if (node->flags & CN_MYSELF) continue;
        if (node->flags & CN_NOADDR) {
            /* an address taken by another node: its hostname may say
             * where it went */
            if (node->port) resolve_cron_node(cl, node, now);
            continue;
        }
        if ((node->flags & CN_HANDSHAKE) && now - node->ctime > hs_timeout) {
            cl_node_delete(cl, node);
            i--;
            continue;
        }
        resolve_cron_node(cl, node, now);
        if (!node->link) bus_connect(cl, node);
    }
    /* once a second: the least recently heard of 5 random peers */
    if (cl->cron_iter % 10 == 0 && cl->nnodes > 1) {
        cnode_t *min = NULL;
        for (int j = 0; j < 5; j++) {
            cnode_t *node = cl->nodes[rand() % cl->nnodes];
            if (!node->link || !node->link->connected || node->ping_sent ||
                (node->flags & (CN_MYSELF | CN_HANDSHAKE)))
                continue;
            if (!min || node->pong_received < min->pong_received) min = node;
        }
        if (min) gossip_send_ping(cl, min->link, CLMSG_PING);
    }
    /* Inbound links that never said who they are (or never passed the
     * HMAC) are closed after the handshake timeout: an open bus port must
     * not collect idle sockets. */
    long long unix_now = node_unix_ms();
    for (clink_t *l = cl->links, *next; l; l = next) {
        next = l->next;
        if (l->inbound && !l->node && !l->observer &&
            unix_now - l->ctime > hs_timeout)
            bus_link_free(l);
    }
    /* A replica (nodes.conf after a restart, or a master that moved)
     * follows its master's current address. */
    cnode_t *me = cl->myself;
    if ((me->flags & CN_SLAVE) && me->master && me->master->ip[0] &&
        me->master->port && !repl_is_replica(cl->n))
        repl_set_master(cl->n, me->master->ip, me->master->port);
    cl->pfail_nodes = 0;
    for (int i = 0; i < cl->nnodes; i++) {
        cnode_t *node = cl->nodes[i];
        if (node->flags & (CN_MYSELF | CN_NOADDR | CN_HANDSHAKE)) continue;
        if (node->flags & CN_PFAIL) cl->pfail_nodes++;
        cron_node(cl, node, now);
    }
    if (cl->spread_pfail) {
        cl->spread_pfail = 0;
        gossip_spread_pfail(cl);
    }
    failover_cron(cl);
    failover_migration_cron(cl);
    /* changes ask for an update themselves (cl_todo); every round, since
     * silence from a majority of masters (cl_update_state) is noticed
     * only here */
    cl_update_state(cl);
}
