/*
 * cmd_cluster.c: CLUSTER <subcommand>, ASKING, READONLY, READWRITE,
 * TESSERA MULTISLOT.
 *
 * Replies and error texts are Redis 7.0's (cluster.c clusterCommand),
 * byte for byte, so that redis-cli --cluster and cluster clients read
 * them unchanged.  In standalone mode every one of them answers "This
 * instance has cluster support disabled".
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "client.h"
#include "cluster_int.h"
#include "cmd.h"
#include "db.h"
#include "keyspace.h"
#include "log.h"
#include "repl/repl.h"

static cluster_t *need_cluster(cmdctx_t *ctx, reply_t *r)
{
    if (!ctx->node->cluster)
        reply_error(r, "ERR This instance has cluster support disabled");
    return ctx->node->cluster;
}

/* Redis's getSlotOrReply. */
static int slot_or_reply(const resp_arg_t *a, reply_t *r)
{
    long long v;
    if (!resp_str2ll(a->ptr, a->len, &v) || v < 0 || v >= SLOT_COUNT) {
        reply_error(r, "ERR Invalid or out of range slot");
        return -1;
    }
    return (int)v;
}

static cnode_t *lookup_arg(cluster_t *cl, const resp_arg_t *a)
{
    return cl_lookup(cl, a->ptr, a->len);
}

static void err_unknown_node(reply_t *r, const resp_arg_t *a)
{
    reply_errorf(r, "ERR Unknown node %.*s", (int)a->len, a->ptr);
}

static void changed(cluster_t *cl)
{
    cl_todo(cl, CL_TODO_SAVE_NOFSYNC | CL_TODO_UPDATE_STATE);
}

/* ---- information ------------------------------------------------------------ */

static const char *const msg_names[CLMSG_COUNT] = {
    NULL, "ping", "pong", "meet", "fail", "publish", "auth-req", "auth-ack",
    "update", "mfstart",
};

/* CLUSTER INFO */
static void cmd_cluster_info(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    int assigned = 0, ok = 0, pfail = 0, fail = 0;
    for (int s = 0; s < SLOT_COUNT; s++) {
        cnode_t *node = cl->slots[s];
        if (!node) continue;
        assigned++;
        if (node->flags & CN_FAIL) fail++;
        else if (node->flags & CN_PFAIL) pfail++;
        else ok++;
    }
    buf_t b;
    buf_init(&b);
    buf_printf(&b,
               "cluster_state:%s\r\n"
               "cluster_slots_assigned:%d\r\n"
               "cluster_slots_ok:%d\r\n"
               "cluster_slots_pfail:%d\r\n"
               "cluster_slots_fail:%d\r\n"
               "cluster_known_nodes:%d\r\n"
               "cluster_size:%d\r\n"
               "cluster_current_epoch:%llu\r\n"
               "cluster_my_epoch:%llu\r\n",
               cl->state == CLUSTER_OK ? "ok" : "fail", assigned, ok, pfail,
               fail, cl->nnodes, cl->size,
               (unsigned long long)cl->current_epoch,
               (unsigned long long)cl_node_epoch(cl->myself));
    long long tot = 0;
    for (int t = 1; t < CLMSG_COUNT; t++) {
        if (!cl->sent[t]) continue;
        tot += cl->sent[t];
        buf_printf(&b, "cluster_stats_messages_%s_sent:%lld\r\n",
                   msg_names[t], cl->sent[t]);
    }
    buf_printf(&b, "cluster_stats_messages_sent:%lld\r\n", tot);
    tot = 0;
    for (int t = 1; t < CLMSG_COUNT; t++) {
        if (!cl->received[t]) continue;
        tot += cl->received[t];
        buf_printf(&b, "cluster_stats_messages_%s_received:%lld\r\n",
                   msg_names[t], cl->received[t]);
    }
    buf_printf(&b, "cluster_stats_messages_received:%lld\r\n", tot);
    buf_printf(&b, "total_cluster_links_buffer_limit_exceeded:%lld\r\n",
               cl->links_limit_exceeded);
    buf_printf(&b, "cluster_stats_messages_dropped:%lld\r\n"
                   "cluster_stats_messages_auth_failed:%lld\r\n",
               cl->dropped, cl->auth_failed);
    reply_verbatim(r, buf_rptr(&b), buf_len(&b), "txt");
    buf_deinit(&b);
}

/* CLUSTER NODES */
static void cmd_cluster_nodes(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    buf_t b;
    buf_init(&b);
    cl_nodes_description(cl, &b, 0);
    reply_verbatim(r, buf_rptr(&b), buf_len(&b), "txt");
    buf_deinit(&b);
}

/* CLUSTER MYID */
static void cmd_cluster_myid(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    cluster_t *cl = need_cluster(ctx, r);
    if (cl) reply_bulk(r, cl->myself->name, CN_NAMELEN);
}

static void cmd_cluster_myshardid(cmdctx_t *ctx, const req_t *req,
                                  reply_t *r)
{
    (void)req;
    cluster_t *cl = need_cluster(ctx, r);
    if (cl) reply_bulk(r, cl->myself->shard_id, CN_NAMELEN);
}

/* Node as CLUSTER SLOTS shows it (Redis 7.0's addNodeToNodeReply): the
 * preferred endpoint (null for unknown-endpoint), port, id, then a map of
 * the networking details that are not the preferred endpoint. */
static void reply_slots_node(cluster_t *cl, reply_t *r, const cnode_t *node)
{
    int type = (int)cl->n->cluster_preferred_endpoint_type;
    reply_array(r, 4);
    if (type == CL_ENDPOINT_UNKNOWN) reply_null(r);
    else reply_bulk_str(r, cl_endpoint(cl, node));
    reply_int(r, node->port);
    reply_bulk(r, node->name, CN_NAMELEN);
    int ip = type != CL_ENDPOINT_IP;
    int host = type != CL_ENDPOINT_HOSTNAME && node->hostname[0];
    reply_map(r, ip + host);
    if (ip) {
        reply_bulk_str(r, "ip");
        reply_bulk_str(r, node->ip);
    }
    if (host) {
        reply_bulk_str(r, "hostname");
        reply_bulk_str(r, node->hostname);
    }
}

static void reply_slot_range(cluster_t *cl, reply_t *r, const cnode_t *node,
                             int start, int end)
{
    int nrep = 0;
    for (int i = 0; i < node->nreplicas; i++)
        if (!(node->replicas[i]->flags & CN_FAIL)) nrep++;
    reply_array(r, 3 + nrep);
    reply_int(r, start);
    reply_int(r, end);
    reply_slots_node(cl, r, node);
    for (int i = 0; i < node->nreplicas; i++)
        if (!(node->replicas[i]->flags & CN_FAIL))
            reply_slots_node(cl, r, node->replicas[i]);
}

/* CLUSTER SLOTS */
static void cmd_cluster_slots(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    size_t h = reply_defer(r);
    long long count = 0;
    cnode_t *cur = NULL;
    int start = 0;
    for (int s = 0; s <= SLOT_COUNT; s++) {
        cnode_t *owner = s < SLOT_COUNT ? cl->slots[s] : NULL;
        if (owner == cur && s < SLOT_COUNT) continue;
        if (cur) {
            reply_slot_range(cl, r, cur, start, s - 1);
            count++;
        }
        cur = owner;
        start = s;
    }
    reply_set_deferred(r, h, '*', count);
}

static void reply_shard_node(cluster_t *cl, reply_t *r, const cnode_t *node)
{
    int host = node->hostname[0] != 0;
    reply_map(r, 7 + host);
    reply_bulk_str(r, "id");
    reply_bulk(r, node->name, CN_NAMELEN);
    reply_bulk_str(r, "port");
    reply_int(r, node->port);
    reply_bulk_str(r, "ip");
    reply_bulk_str(r, node->ip);
    reply_bulk_str(r, "endpoint");
    reply_bulk_str(r, cl_endpoint(cl, node));
    if (host) {
        reply_bulk_str(r, "hostname");
        reply_bulk_str(r, node->hostname);
    }
    reply_bulk_str(r, "role");
    reply_bulk_str(r, cl_node_is_master(node) ? "master" : "replica");
    long long off = node == cl->myself ? repl_stream_offset(cl->n)
                                       : node->repl_offset;
    reply_bulk_str(r, "replication-offset");
    reply_int(r, off);
    reply_bulk_str(r, "health");
    reply_bulk_str(r, (node->flags & CN_FAIL)                      ? "fail"
                      : (!cl_node_is_master(node) && off == 0) ? "loading"
                                                               : "online");
}

/* CLUSTER SHARDS */
static void cmd_cluster_shards(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    long long shards = 0;
    for (int i = 0; i < cl->nnodes; i++)
        if (cl_node_is_master(cl->nodes[i])) shards++;
    reply_array(r, shards);
    for (int i = 0; i < cl->nnodes; i++) {
        cnode_t *m = cl->nodes[i];
        if (!cl_node_is_master(m)) continue;
        reply_map(r, 2);
        reply_bulk_str(r, "slots");
        size_t h = reply_defer(r);
        long long n = 0;
        int start = -1;
        for (int s = 0; s <= SLOT_COUNT && m->numslots; s++) {
            int on = s < SLOT_COUNT && cl->slots[s] == m;
            if (on && start < 0) start = s;
            if (!on && start >= 0) {
                reply_int(r, start);
                reply_int(r, s - 1);
                n += 2;
                start = -1;
            }
        }
        reply_set_deferred(r, h, '*', n);
        reply_bulk_str(r, "nodes");
        reply_array(r, 1 + m->nreplicas);
        reply_shard_node(cl, r, m);
        for (int j = 0; j < m->nreplicas; j++)
            reply_shard_node(cl, r, m->replicas[j]);
    }
}

static void reply_link(reply_t *r, const clink_t *l)
{
    reply_map(r, 6);
    reply_bulk_str(r, "direction");
    reply_bulk_str(r, l->inbound ? "from" : "to");
    reply_bulk_str(r, "node");
    reply_bulk(r, l->node->name, CN_NAMELEN);
    reply_bulk_str(r, "create-time");
    reply_int(r, l->ctime);
    reply_bulk_str(r, "events");
    reply_bulk_str(r, bus_link_queued(l) ? "rw" : "r");
    reply_bulk_str(r, "send-buffer-allocated");
    reply_int(r, (long long)bus_link_queued(l));
    reply_bulk_str(r, "send-buffer-used");
    reply_int(r, (long long)bus_link_queued(l));
}

/* CLUSTER LINKS */
static void cmd_cluster_links(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    long long n = 0;
    for (int i = 0; i < cl->nnodes; i++)
        n += (cl->nodes[i]->link != NULL) + (cl->nodes[i]->inbound_link != NULL);
    reply_array(r, n);
    for (int i = 0; i < cl->nnodes; i++) {
        if (cl->nodes[i]->link) reply_link(r, cl->nodes[i]->link);
        if (cl->nodes[i]->inbound_link)
            reply_link(r, cl->nodes[i]->inbound_link);
    }
}

/* CLUSTER KEYSLOT key */
static void cmd_cluster_keyslot(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    if (!need_cluster(ctx, r)) return;
    reply_int(r, slot_for_key(req->argv[2].ptr, req->argv[2].len));
}

/* CLUSTER COUNTKEYSINSLOT slot */
static void cmd_cluster_countkeysinslot(cmdctx_t *ctx, const req_t *req,
                                        reply_t *r)
{
    if (!need_cluster(ctx, r)) return;
    long long slot;
    if (arg_ll(&req->argv[2], &slot, r)) return;
    if (slot < 0 || slot >= SLOT_COUNT) {
        reply_error(r, "ERR Invalid slot");
        return;
    }
    reply_int(r, (long long)ks_slot_size(ctx->ks, (unsigned)slot));
}

typedef struct keylist {
    reply_t *r;
    long long left, n;
} keylist_t;

static void push_key(void *arg, kentry_t *e)
{
    keylist_t *kl = arg;
    if (kl->left <= 0) return;
    size_t len;
    const char *k = ke_key(e, &len);
    reply_bulk(kl->r, k, len);
    kl->left--;
    kl->n++;
}

/* CLUSTER GETKEYSINSLOT slot count */
static void cmd_cluster_getkeysinslot(cmdctx_t *ctx, const req_t *req,
                                      reply_t *r)
{
    if (!need_cluster(ctx, r)) return;
    long long slot, max;
    if (arg_ll(&req->argv[2], &slot, r) || arg_ll(&req->argv[3], &max, r))
        return;
    if (slot < 0 || slot >= SLOT_COUNT || max < 0) {
        reply_error(r, "ERR Invalid slot or number of keys");
        return;
    }
    size_t h = reply_defer(r);
    keylist_t kl = {.r = r, .left = max};
    uint64_t cursor = 0;
    do {
        cursor = ks_scan(ctx->ks, cursor, (int)slot, push_key, &kl);
    } while (cursor && kl.left > 0);
    reply_set_deferred(r, h, '*', kl.n);
}

/* ---- slots ------------------------------------------------------------------- */

/* Redis's checkSlotAssignmentsOrReply: busy / unassigned / repeated,
 * checked slot by slot in argument order. */
static int check_slots(cluster_t *cl, unsigned char *mark, int add,
                       int start, int end, reply_t *r)
{
    for (int s = start; s <= end; s++) {
        if (!add && !cl->slots[s]) {
            reply_errorf(r, "ERR Slot %d is already unassigned", s);
            return -1;
        }
        if (add && cl->slots[s]) {
            reply_errorf(r, "ERR Slot %d is already busy", s);
            return -1;
        }
        if (mark[s]++ == 1) {
            reply_errorf(r, "ERR Slot %d specified multiple times", s);
            return -1;
        }
    }
    return 0;
}

static void slots_cmd(cmdctx_t *ctx, const req_t *req, reply_t *r, int add,
                      int range)
{
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    if (range && req->argc % 2 == 1) {
        reply_err_arity(r, req->spec->name);
        return;
    }
    unsigned char *mark = ts_calloc(1, SLOT_COUNT);
    int step = range ? 2 : 1;
    for (int i = 2; i < req->argc; i += step) {
        int start = slot_or_reply(&req->argv[i], r);
        if (start < 0) goto out;
        int end = start;
        if (range) {
            end = slot_or_reply(&req->argv[i + 1], r);
            if (end < 0) goto out;
            if (start > end) {
                reply_errorf(r, "ERR start slot number %d is greater than "
                             "end slot number %d", start, end);
                goto out;
            }
        }
        if (check_slots(cl, mark, add, start, end, r)) goto out;
    }
    for (int s = 0; s < SLOT_COUNT; s++) {
        if (!mark[s]) continue;
        if (add) {
            cl->importing[s] = NULL;
            cl_add_slot(cl, cl->myself, s);
        } else {
            cl_del_slot(cl, s);
        }
    }
    changed(cl);
    reply_ok(r);
out:
    ts_free(mark);
}

/* CLUSTER ADDSLOTS slot [slot ...] */
static void cmd_cluster_addslots(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    slots_cmd(ctx, req, r, 1, 0);
}

/* CLUSTER DELSLOTS slot [slot ...] */
static void cmd_cluster_delslots(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    slots_cmd(ctx, req, r, 0, 0);
}

/* CLUSTER ADDSLOTSRANGE start end [start end ...] */
static void cmd_cluster_addslotsrange(cmdctx_t *ctx, const req_t *req,
                                      reply_t *r)
{
    slots_cmd(ctx, req, r, 1, 1);
}

/* CLUSTER DELSLOTSRANGE start end [start end ...] */
static void cmd_cluster_delslotsrange(cmdctx_t *ctx, const req_t *req,
                                      reply_t *r)
{
    slots_cmd(ctx, req, r, 0, 1);
}

/* CLUSTER FLUSHSLOTS */
static void cmd_cluster_flushslots(cmdctx_t *ctx, const req_t *req,
                                   reply_t *r)
{
    (void)req;
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    if (ks_size(ctx->ks) != 0) {
        reply_error(r, "ERR DB must be empty to perform CLUSTER FLUSHSLOTS.");
        return;
    }
    cl_del_node_slots(cl, cl->myself);
    changed(cl);
    reply_ok(r);
}

/* The node named by a SETSLOT argument; Redis 7.0 words the unknown
 * case differently for NODE ("Unknown node") and the others. */
static cnode_t *master_arg(cluster_t *cl, const resp_arg_t *a, reply_t *r,
                           int for_node)
{
    cnode_t *node = lookup_arg(cl, a);
    if (!node) {
        reply_errorf(r, for_node ? "ERR Unknown node %.*s"
                                 : "ERR I don't know about node %.*s",
                     (int)a->len, a->ptr);
        return NULL;
    }
    if (node->flags & CN_SLAVE) {
        reply_error(r, "ERR Target node is not a master");
        return NULL;
    }
    return node;
}

/* SETSLOT slot NODE id */
static int setslot_node(cluster_t *cl, int slot, cnode_t *to, reply_t *r)
{
    keyspace_t *ks = cl->n->ks;
    if (cl->slots[slot] == cl->myself && to != cl->myself &&
        ks_slot_size(ks, (unsigned)slot) != 0) {
        reply_errorf(r, "ERR Can't assign hashslot %d to a different node "
                     "while I still hold keys for this hash slot.", slot);
        return -1;
    }
    if (ks_slot_size(ks, (unsigned)slot) == 0 && cl->migrating[slot])
        cl->migrating[slot] = NULL;
    cl_del_slot(cl, slot);
    cl_add_slot(cl, to, slot);
    if (to == cl->myself && cl->importing[slot]) {
        if (cl_bump_epoch(cl)) {
            log_msg(LL_NOTICE, "configEpoch updated after importing slot");
            cl_todo(cl, CL_TODO_SAVE);      /* a new epoch: fsync */
        }
        cl->importing[slot] = NULL;
        gossip_broadcast_pong(cl);
    }
    return 0;
}

/* CLUSTER SETSLOT slot IMPORTING id | MIGRATING id | NODE id | STABLE */
static void cmd_cluster_setslot(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    if (cl->myself->flags & CN_SLAVE) {
        reply_error(r, "ERR Please use SETSLOT only with masters.");
        return;
    }
    int slot = slot_or_reply(&req->argv[2], r);
    if (slot < 0) return;
    const resp_arg_t *act = &req->argv[3];
    cnode_t *node;
    if (arg_eq(act, "migrating") && req->argc == 5) {
        if (cl->slots[slot] != cl->myself) {
            reply_errorf(r, "ERR I'm not the owner of hash slot %d", slot);
            return;
        }
        if (!(node = master_arg(cl, &req->argv[4], r, 0))) return;
        cl->migrating[slot] = node;
    } else if (arg_eq(act, "importing") && req->argc == 5) {
        if (cl->slots[slot] == cl->myself) {
            reply_errorf(r, "ERR I'm already the owner of hash slot %d",
                         slot);
            return;
        }
        if (!(node = master_arg(cl, &req->argv[4], r, 0))) return;
        cl->importing[slot] = node;
    } else if (arg_eq(act, "stable") && req->argc == 4) {
        cl->importing[slot] = cl->migrating[slot] = NULL;
    } else if (arg_eq(act, "node") && req->argc == 5) {
        if (!(node = master_arg(cl, &req->argv[4], r, 1))) return;
        if (setslot_node(cl, slot, node, r)) return;
    } else {
        reply_error(r, "ERR Invalid CLUSTER SETSLOT action or number of "
                       "arguments. Try CLUSTER HELP");
        return;
    }
    changed(cl);
    reply_ok(r);
}

/* ---- nodes ------------------------------------------------------------------- */

/* CLUSTER MEET ip port [cport] */
static void cmd_cluster_meet(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    if (req->argc > 5) {
        reply_err_subcommand(r, &req->argv[1], "CLUSTER");
        return;
    }
    long long port, cport;
    const resp_arg_t *ip = &req->argv[2], *pa = &req->argv[3];
    if (!resp_str2ll(pa->ptr, pa->len, &port)) {
        reply_errorf(r, "ERR Invalid TCP base port specified: %.*s",
                     (int)pa->len, pa->ptr);
        return;
    }
    if (req->argc == 5) {
        const resp_arg_t *ca = &req->argv[4];
        if (!resp_str2ll(ca->ptr, ca->len, &cport)) {
            reply_errorf(r, "ERR Invalid TCP bus port specified: %.*s",
                         (int)ca->len, ca->ptr);
            return;
        }
    } else {
        cport = port + 10000;
    }
    char host[CN_IPLEN];
    int bad = ip->len >= sizeof(host);
    if (!bad) {
        memcpy(host, ip->ptr, ip->len);
        host[ip->len] = '\0';
        bad = port < 0 || port > 65535 || cport < 0 || cport > 65535 ||
              gossip_start_handshake(cl, host, (int)port, (int)cport) != 0;
    }
    if (bad) {
        reply_errorf(r, "ERR Invalid node address specified: %.*s:%.*s",
                     (int)ip->len, ip->ptr, (int)pa->len, pa->ptr);
        return;
    }
    reply_ok(r);
}

/* CLUSTER FORGET node-id */
static void cmd_cluster_forget(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    cnode_t *node = lookup_arg(cl, &req->argv[2]);
    if (!node) {
        err_unknown_node(r, &req->argv[2]);
        return;
    }
    if (node == cl->myself) {
        reply_error(r, "ERR I tried hard but I can't forget myself...");
        return;
    }
    if ((cl->myself->flags & CN_SLAVE) && cl->myself->master == node) {
        reply_error(r, "ERR Can't forget my master!");
        return;
    }
    cl_blacklist_add(cl, node->name);
    cl_node_delete(cl, node);
    changed(cl);
    reply_ok(r);
}

/* CLUSTER REPLICATE node-id */
static void cmd_cluster_replicate(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    cnode_t *node = lookup_arg(cl, &req->argv[2]);
    if (!node) {
        err_unknown_node(r, &req->argv[2]);
        return;
    }
    if (node == cl->myself) {
        reply_error(r, "ERR Can't replicate myself");
        return;
    }
    if (node->flags & CN_SLAVE) {
        reply_error(r, "ERR I can only replicate a master, not a replica.");
        return;
    }
    if (cl_node_is_master(cl->myself) &&
        (cl->myself->numslots != 0 || ks_size(ctx->ks) != 0)) {
        reply_error(r, "ERR To set a master the node must be empty and "
                       "without assigned slots.");
        return;
    }
    cl_set_my_master(cl, node);
    changed(cl);
    reply_ok(r);
}

/* CLUSTER REPLICAS node-id, CLUSTER SLAVES node-id */
static void cmd_cluster_replicas(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    cnode_t *node = lookup_arg(cl, &req->argv[2]);
    if (!node) {
        err_unknown_node(r, &req->argv[2]);
        return;
    }
    if (node->flags & CN_SLAVE) {
        reply_error(r, "ERR The specified node is not a master");
        return;
    }
    reply_array(r, node->nreplicas);
    buf_t b;
    buf_init(&b);
    for (int i = 0; i < node->nreplicas; i++) {
        buf_clear(&b);
        cl_node_description(cl, node->replicas[i], &b, 0);
        reply_bulk(r, buf_rptr(&b), buf_len(&b));
    }
    buf_deinit(&b);
}

/* CLUSTER FAILOVER [FORCE|TAKEOVER] */
static void cmd_cluster_failover(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    int force = 0, takeover = 0;
    if (req->argc == 3) {
        if (arg_eq(&req->argv[2], "force")) force = 1;
        else if (arg_eq(&req->argv[2], "takeover")) takeover = force = 1;
        else {
            reply_err_syntax(r);
            return;
        }
    } else if (req->argc > 3) {
        reply_err_subcommand(r, &req->argv[1], "CLUSTER");
        return;
    }
    cnode_t *me = cl->myself;
    if (cl_node_is_master(me)) {
        reply_error(r, "ERR You should send CLUSTER FAILOVER to a replica");
        return;
    }
    if (!me->master) {
        reply_error(r, "ERR I'm a replica but my master is unknown to me");
        return;
    }
    if (!force && ((me->master->flags & CN_FAIL) || !me->master->link)) {
        reply_error(r, "ERR Master is down or failed, please use CLUSTER "
                       "FAILOVER FORCE");
        return;
    }
    if (takeover) failover_takeover(cl);
    else if (force) failover_force(cl);
    else failover_manual(cl);
    reply_ok(r);
}

/* CLUSTER COUNT-FAILURE-REPORTS node-id */
static void cmd_cluster_count_failure_reports(cmdctx_t *ctx, const req_t *req,
                                              reply_t *r)
{
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    cnode_t *node = lookup_arg(cl, &req->argv[2]);
    if (!node) {
        err_unknown_node(r, &req->argv[2]);
        return;
    }
    reply_int(r, gossip_failure_reports(cl, node));
}

/* ---- epochs, reset, config ------------------------------------------------------ */

/* CLUSTER SET-CONFIG-EPOCH epoch */
static void cmd_cluster_set_config_epoch(cmdctx_t *ctx, const req_t *req,
                                         reply_t *r)
{
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    long long epoch;
    if (arg_ll(&req->argv[2], &epoch, r)) return;
    if (epoch < 0) {
        reply_errorf(r, "ERR Invalid config epoch specified: %lld", epoch);
    } else if (cl->nnodes > 1) {
        reply_error(r, "ERR The user can assign a config epoch only when the "
                       "node does not know any other node.");
    } else if (cl->myself->config_epoch != 0) {
        reply_error(r, "ERR Node config epoch is already non-zero");
    } else {
        cl->myself->config_epoch = (uint64_t)epoch;
        log_msg(LL_NOTICE, "configEpoch set to %lld via CLUSTER "
                "SET-CONFIG-EPOCH", epoch);
        if (cl->current_epoch < (uint64_t)epoch)
            cl->current_epoch = (uint64_t)epoch;
        changed(cl);
        cl_todo(cl, CL_TODO_SAVE);          /* an epoch: fsync */
        reply_ok(r);
    }
}

/* CLUSTER BUMPEPOCH */
static void cmd_cluster_bumpepoch(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    int bumped = cl_bump_epoch(cl);
    char s[64];
    snprintf(s, sizeof(s), "%s %llu", bumped ? "BUMPED" : "STILL",
             (unsigned long long)cl->myself->config_epoch);
    reply_simple(r, s);
}

/* CLUSTER RESET [HARD|SOFT] */
static void cmd_cluster_reset(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    if (req->argc > 3) {
        reply_err_subcommand(r, &req->argv[1], "CLUSTER");
        return;
    }
    int hard = 0;
    if (req->argc == 3) {
        if (arg_eq(&req->argv[2], "hard")) hard = 1;
        else if (!arg_eq(&req->argv[2], "soft")) {
            reply_err_syntax(r);
            return;
        }
    }
    if (cl_node_is_master(cl->myself) && ks_size(ctx->ks) != 0) {
        reply_error(r, "ERR CLUSTER RESET can't be called with master nodes "
                       "containing keys");
        return;
    }
    cl_reset(cl, hard);
    reply_ok(r);
}

/* CLUSTER SAVECONFIG */
static void cmd_cluster_saveconfig(cmdctx_t *ctx, const req_t *req,
                                   reply_t *r)
{
    (void)req;
    cluster_t *cl = need_cluster(ctx, r);
    if (!cl) return;
    if (cl_save_config(cl) == 0) reply_ok(r);
    else
        reply_errorf(r, "ERR error saving the cluster node config: %s",
                     strerror(errno));
}

static const char *const cluster_help[] = {
    "CLUSTER <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ADDSLOTS <slot> [<slot> ...]",
    "    Assign slots to current node.",
    "ADDSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Assign slots which are between <start-slot> and <end-slot> to "
    "current node.",
    "BUMPEPOCH",
    "    Advance the cluster config epoch.",
    "COUNT-FAILURE-REPORTS <node-id>",
    "    Return number of failure reports for <node-id>.",
    "COUNTKEYSINSLOT <slot>",
    "    Return the number of keys in <slot>.",
    "DELSLOTS <slot> [<slot> ...]",
    "    Delete slots information from current node.",
    "DELSLOTSRANGE <start slot> <end slot> [<start slot> <end slot> ...]",
    "    Delete slots information which are between <start-slot> and "
    "<end-slot> from current node.",
    "FAILOVER [FORCE|TAKEOVER]",
    "    Promote current replica node to being a master.",
    "FORGET <node-id>",
    "    Remove a node from the cluster.",
    "GETKEYSINSLOT <slot> <count>",
    "    Return key names stored by current node in a slot.",
    "FLUSHSLOTS",
    "    Delete current node own slots information.",
    "INFO",
    "    Return information about the cluster.",
    "KEYSLOT <key>",
    "    Return the hash slot for <key>.",
    "MEET <ip> <port> [<bus-port>]",
    "    Connect nodes into a working cluster.",
    "MYID",
    "    Return the node id.",
    "NODES",
    "    Return cluster configuration seen by node. Output format:",
    "    <id> <ip:port> <flags> <master> <pings> <pongs> <epoch> <link> "
    "<slot> ...",
    "REPLICATE <node-id>",
    "    Configure current node as replica to <node-id>.",
    "RESET [HARD|SOFT]",
    "    Reset current node (default: soft).",
    "SET-CONFIG-EPOCH <epoch>",
    "    Set config epoch of current node.",
    "SETSLOT <slot> (IMPORTING <node-id>|MIGRATING <node-id>|STABLE|NODE "
    "<node-id>)",
    "    Set slot state.",
    "REPLICAS <node-id>",
    "    Return <node-id> replicas.",
    "SAVECONFIG",
    "    Force saving cluster configuration on disk.",
    "SLOTS",
    "    Return information about slots range mappings. Each range is made "
    "of:",
    "    start, end, master and replicas IP addresses, ports and ids",
    "SHARDS",
    "    Return information about slot range mappings and the nodes "
    "associated with them.",
    "LINKS",
    "    Return information about all network links between this node and "
    "its peers.",
    "    Output format is an array where each array element is a map "
    "containing attributes of a link",
    "HELP",
    "    Prints this help.",
    NULL,
};

/* CLUSTER HELP */
static void cmd_cluster_help(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)ctx;
    (void)req;
    reply_help(r, cluster_help);
}

/* ---- connection flags ---------------------------------------------------------- */

/* ASKING */
static void cmd_asking(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    if (!need_cluster(ctx, r)) return;
    ctx->client->flags |= CLF_ASKING;
    reply_ok(r);
}

/* READONLY */
static void cmd_readonly(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    if (!need_cluster(ctx, r)) return;
    ctx->client->flags |= CLF_READONLY;
    reply_ok(r);
}

/* READWRITE */
static void cmd_readwrite(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    if (!need_cluster(ctx, r)) return;
    ctx->client->flags &= ~CLF_READONLY;
    reply_ok(r);
}

/* TESSERA MULTISLOT ON|OFF: Tessera's own, sent by tessera-proxy on its
 * backend links.  ON lets MGET MSET DEL UNLINK EXISTS TOUCH of this
 * connection span several slots when this node serves all of them
 * (cluster_check_command); plain clients keep Redis's CROSSSLOT.  A
 * standalone node has no slots to check: +OK there too. */
static void cmd_tessera_multislot(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *a = &req->argv[2];
    if (a->len == 2 && strncasecmp(a->ptr, "on", 2) == 0) {
        ctx->client->flags |= CLF_MULTISLOT;
    } else if (a->len == 3 && strncasecmp(a->ptr, "off", 3) == 0) {
        ctx->client->flags &= ~CLF_MULTISLOT;
    } else {
        reply_err_syntax(r);
        return;
    }
    reply_ok(r);
}

static const char *const tessera_help[] = {
    "TESSERA <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "MULTISLOT (ON|OFF)",
    "    Let MGET, MSET, DEL, UNLINK, EXISTS and TOUCH on this connection span",
    "    several slots this node serves (sent by tessera-proxy).",
    "HELP",
    "    Prints this help.",
    NULL,
};

/* TESSERA HELP */
static void cmd_tessera_help(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)ctx;
    (void)req;
    reply_help(r, tessera_help);
}

const cmd_bind_t cluster_cmds[] = {
    {CMD_CLUSTER_INFO, cmd_cluster_info},
    {CMD_CLUSTER_NODES, cmd_cluster_nodes},
    {CMD_CLUSTER_MYID, cmd_cluster_myid},
    {CMD_CLUSTER_MYSHARDID, cmd_cluster_myshardid},
    {CMD_CLUSTER_SLOTS, cmd_cluster_slots},
    {CMD_CLUSTER_SHARDS, cmd_cluster_shards},
    {CMD_CLUSTER_LINKS, cmd_cluster_links},
    {CMD_CLUSTER_KEYSLOT, cmd_cluster_keyslot},
    {CMD_CLUSTER_COUNTKEYSINSLOT, cmd_cluster_countkeysinslot},
    {CMD_CLUSTER_GETKEYSINSLOT, cmd_cluster_getkeysinslot},
    {CMD_CLUSTER_ADDSLOTS, cmd_cluster_addslots},
    {CMD_CLUSTER_ADDSLOTSRANGE, cmd_cluster_addslotsrange},
    {CMD_CLUSTER_DELSLOTS, cmd_cluster_delslots},
    {CMD_CLUSTER_DELSLOTSRANGE, cmd_cluster_delslotsrange},
    {CMD_CLUSTER_FLUSHSLOTS, cmd_cluster_flushslots},
    {CMD_CLUSTER_SETSLOT, cmd_cluster_setslot},
    {CMD_CLUSTER_MEET, cmd_cluster_meet},
    {CMD_CLUSTER_FORGET, cmd_cluster_forget},
    {CMD_CLUSTER_REPLICATE, cmd_cluster_replicate},
    {CMD_CLUSTER_REPLICAS, cmd_cluster_replicas},
    {CMD_CLUSTER_SLAVES, cmd_cluster_replicas},
    {CMD_CLUSTER_COUNT_FAILURE_REPORTS, cmd_cluster_count_failure_reports},
    {CMD_CLUSTER_FAILOVER, cmd_cluster_failover},
    {CMD_CLUSTER_SET_CONFIG_EPOCH, cmd_cluster_set_config_epoch},
    {CMD_CLUSTER_BUMPEPOCH, cmd_cluster_bumpepoch},
    {CMD_CLUSTER_RESET, cmd_cluster_reset},
    {CMD_CLUSTER_SAVECONFIG, cmd_cluster_saveconfig},
    {CMD_CLUSTER_HELP, cmd_cluster_help},
    {CMD_ASKING, cmd_asking},
    {CMD_READONLY, cmd_readonly},
    {CMD_READWRITE, cmd_readwrite},
    {CMD_TESSERA_MULTISLOT, cmd_tessera_multislot},
    {CMD_TESSERA_HELP, cmd_tessera_help},
    {CMD__COUNT, NULL},
};
