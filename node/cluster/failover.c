/*
 * failover.c: automatic failover -- a replica of a FAIL master asks the
 * masters for votes and, with a majority, takes its master's slots.
 *
 * Redis Cluster's election (clusterHandleSlaveFailover), with shorter
 * waits:
 *
 *   replica: master is FAIL, serves slots  ->  wait FAILOVER_DELAY +
 *     random(FAILOVER_JITTER) + rank * FAILOVER_RANK_STEP ms (rank 0: the
 *     replica with the highest replication offset, ties broken by id, so
 *     the best copy goes first and two replicas do not split the vote)
 *     ->  current_epoch + 1,
 *     FAILOVER_AUTH_REQUEST to every master  ->  with acks from a majority
 *     of the masters that serve slots: become master, config epoch = the
 *     election's epoch, take the old master's slots, stop replicating,
 *     PONG to everyone (the higher config epoch wins the slots everywhere).
 *   master: votes at most once per epoch, only for a replica whose master
 *     it also sees as FAIL, at most once per 2 x node-timeout per failed
 *     master, and never for a claim older than a slot's current owner.
 *
 * Redis waits 500-1000 ms before asking so that the FAIL message reaches
 * every master; here the FAIL broadcast goes out the moment the quorum is
 * reached and suspicion is spread eagerly (gossip_spread_pfail), so a
 * short delay is enough: the masters that vote have already seen FAIL.
 * An election that does not win within the auth timeout is retried.
 *
 * CLUSTER FAILOVER FORCE runs the same election at once, with MF_FORCEACK
 * in the request so that masters vote although the master is not FAIL;
 * TAKEOVER takes a new epoch without any vote.  The default mode loses no
 * acknowledged write (Redis's manual failover):
 *
 *   replica: MFSTART to its master, mf_end = now + MF_TIMEOUT
 *   master:  pauses writes (as CLIENT PAUSE WRITE, 2 x MF_TIMEOUT), then
 *            PINGs the replica every cron with MF_PAUSED and its offset
 *   replica: once it processed that offset, FORCE's election
 *   master:  loses its slots to the higher epoch, becomes a replica, lifts
 *            the pause; the held writes now get -MOVED to the new master.
 *
 * Either side gives up at mf_end (the master lifts its pause).
 *
 * The old master, when it comes back, gets UPDATE messages for its slots
 * (higher epoch), loses them all and becomes a replica of the new master
 * (gossip.c, update_slots_with).
 */
#include <stdlib.h>
#include <string.h>

#include "cluster_bus.pb-c.h"
#include "cluster_int.h"
#include "cmd_conn.h"
#include "log.h"
#include "repl/repl.h"

#define FAILOVER_DELAY 50
#define FAILOVER_JITTER 100
#define FAILOVER_RANK_STEP 500

static long long auth_timeout(const cluster_t *cl)
{
    long long t = cl->n->cluster_node_timeout;
    return t < 1000 ? 1000 : t;
}

/* Redis's rank: how many of the master's other replicas hold more of
 * its data (a higher replication offset, as their headers said); ties
 * are broken by id so that two replicas never share a rank. */
static int my_rank(cluster_t *cl)
{
    cnode_t *me = cl->myself, *m = me->master;
    me->repl_offset = repl_stream_offset(cl->n);
    int rank = 0;
    for (int i = 0; i < m->nreplicas; i++) {
        const cnode_t *r = m->replicas[i];
        if (r == me || (r->flags & (CN_FAIL | CN_NOFAILOVER))) continue;
        if (r->repl_offset > me->repl_offset ||
            (r->repl_offset == me->repl_offset &&
             memcmp(r->name, me->name, CN_NAMELEN) < 0))
            rank++;
    }
    return rank;
}

static void mf_reset(cluster_t *cl);

/* Take the old master's slots under the election's epoch. */
static void promote(cluster_t *cl)
{
    cnode_t *me = cl->myself, *old = me->master;
    log_msg(LL_NOTICE, "Failover election won: I'm the new master "
            "(configEpoch %llu).", (unsigned long long)cl->failover_auth_epoch);
    cl_set_master(cl, me, NULL);
    me->flags = (me->flags & ~CN_SLAVE) | CN_MASTER;
    repl_unset_master(cl->n);
    for (int s = 0; s < SLOT_COUNT; s++)
        if (cl->slots[s] == old) {
            cl_del_slot(cl, s);
            cl_add_slot(cl, me, s);
        }
    if (me->config_epoch < cl->failover_auth_epoch)
        me->config_epoch = cl->failover_auth_epoch;
    cl->failover_auth_time = 0;
    mf_reset(cl);
    cl_update_state(cl);
    cl_save_config(cl);
    gossip_broadcast_pong(cl);
}

/* End a manual failover on either side; a master lifts the write pause
 * it set (unless someone paused longer since: that pause stays). */
static void mf_reset(cluster_t *cl)
{
    node_t *n = cl->n;
    if (cl->mf_pause_end && n->pause_end_ms == cl->mf_pause_end) {
        n->pause_end_ms = 0;
        n->pause_writes_only = 0;
    }
    cl->mf_end = 0;
    cl->mf_can_start = 0;
    cl->mf_master_offset = -1;
    cl->mf_replica = NULL;
    cl->mf_pause_end = 0;
}

/* Master side of a running manual failover: keep telling the replica our
 * (frozen) offset; stop when it took over or time is up. */
static void mf_master_cron(cluster_t *cl, long long now)
{
    if (now >= cl->mf_end || !cl_node_is_master(cl->myself) ||
        !cl->mf_replica) {
        if (now >= cl->mf_end)
            log_msg(LL_WARNING, "Manual failover timed out.");
        mf_reset(cl);
        /* the held writes run now: as a replica they get -MOVED */
        conn_unpause_clients(cl->n);
        return;
    }
    if (cl->mf_replica->link && cl->mf_replica->link->connected)
        gossip_send_ping(cl, cl->mf_replica->link, CLMSG_PING);
}

/* Replica side: 1 once the election may start (FORCE at once; default
 * mode when we processed the paused master's whole stream). */
static int mf_replica_ready(cluster_t *cl)
{
    if (cl->mf_can_start) return 1;
    if (cl->mf_master_offset < 0 ||
        repl_stream_offset(cl->n) < cl->mf_master_offset)
        return 0;
    log_msg(LL_NOTICE, "All master replication stream processed, manual "
            "failover can start.");
    cl->mf_can_start = 1;
    return 1;
}

void failover_cron(cluster_t *cl)
{
    cnode_t *me = cl->myself, *m = me->master;
    long long now = cl_now(), timeout = auth_timeout(cl);
    if (cl->mf_pause_end) {     /* we are the paused master */
        mf_master_cron(cl, now);
        return;
    }
    int manual = cl->mf_end && now < cl->mf_end;
    if (cl->mf_end && !manual) {
        log_msg(LL_WARNING, "Manual failover timed out.");
        mf_reset(cl);
    }
    if (manual && !mf_replica_ready(cl)) return;
    if (!(me->flags & CN_SLAVE) || !m || !m->numslots ||
        (!(m->flags & CN_FAIL) && !manual) ||
        ((me->flags & CN_NOFAILOVER) && !manual)) {
        cl->failover_auth_time = 0;
        return;
    }
    if (cl->failover_auth_time == 0 ||
        now - cl->failover_auth_time > timeout * 2) {
        cl->failover_auth_time = manual ? now
                                 : now + FAILOVER_DELAY +
                                       rand() % FAILOVER_JITTER +
                                       (long long)my_rank(cl) *
                                           FAILOVER_RANK_STEP;
        cl->failover_auth_sent = 0;
        cl->failover_auth_count = 0;
        log_msg(LL_NOTICE, "Start of election delayed for %lld "
                "milliseconds (rank #%d).", cl->failover_auth_time - now,
                my_rank(cl));
        if (!manual) return;    /* a manual one asks at once */
    }
    if (now < cl->failover_auth_time) return;
    if (now - cl->failover_auth_time > timeout) return;  /* lost: retry */
    if (!cl->failover_auth_sent) {
        cl->current_epoch++;
        cl->failover_auth_epoch = cl->current_epoch;
        cl->failover_auth_sent = 1;
        log_msg(LL_NOTICE, "Starting a failover election for epoch %llu.",
                (unsigned long long)cl->current_epoch);
        cl_save_config(cl);
        gossip_broadcast_empty(cl, CLMSG_AUTH_REQUEST);
        return;
    }
    if (cl->failover_auth_count >= cl->size / 2 + 1) promote(cl);
}

void failover_force(cluster_t *cl)
{
    log_msg(LL_NOTICE, "Forced failover user request accepted.");
    mf_reset(cl);
    cl->mf_end = cl_now() + MF_TIMEOUT;
    cl->mf_can_start = 1;
    cl->failover_auth_time = 0;
    failover_cron(cl);
}

void failover_manual(cluster_t *cl)
{
    log_msg(LL_NOTICE, "Manual failover user request accepted.");
    mf_reset(cl);
    cl->mf_end = cl_now() + MF_TIMEOUT;
    cl->failover_auth_time = 0;
    gossip_send_empty(cl, cl->myself->master->link, CLMSG_MFSTART);
}

void failover_handle_mfstart(cluster_t *cl, cnode_t *sender)
{
    node_t *n = cl->n;
    if (!cl_node_is_master(cl->myself) || sender->master != cl->myself)
        return;
    mf_reset(cl);
    log_msg(LL_NOTICE, "Manual failover requested by replica %.40s.",
            sender->name);
    cl->mf_end = cl_now() + MF_TIMEOUT;
    cl->mf_replica = sender;
    /* hold writes for twice the failover's time, as Redis */
    long long now_ms = node_unix_ms(), end = now_ms + MF_TIMEOUT * 2;
    if (n->pause_end_ms && now_ms < n->pause_end_ms) {
        if (end > n->pause_end_ms) n->pause_end_ms = end;
    } else {
        n->pause_end_ms = end;
        n->pause_writes_only = 1;
    }
    cl->mf_pause_end = n->pause_end_ms;
    if (sender->link && sender->link->connected)
        gossip_send_ping(cl, sender->link, CLMSG_PING);
}

void failover_note_header(cluster_t *cl, cnode_t *sender,
                          const Tessera__Bus__Header *h)
{
    if (!cl->mf_end || cl->mf_replica || sender != cl->myself->master ||
        !(h->mflags & MF_PAUSED) || cl->mf_master_offset >= 0)
        return;
    cl->mf_master_offset = (long long)h->repl_offset;
    log_msg(LL_NOTICE, "Received replication offset for paused master "
            "manual failover: %lld", cl->mf_master_offset);
    failover_cron(cl);      /* already caught up: elect now, not next cron */
}

void failover_takeover(cluster_t *cl)
{
    log_msg(LL_NOTICE, "Taking over the master (user request).");
    cl_bump_epoch(cl);
    cl->failover_auth_epoch = cl->myself->config_epoch;
    promote(cl);
}

void failover_handle_request(cluster_t *cl, cnode_t *sender, clink_t *link,
                             const Tessera__Bus__Message *msg)
{
    const Tessera__Bus__Header *h = msg->header;
    cnode_t *me = cl->myself, *m = sender->master;
    long long now = cl_now();
    if (!cl_node_is_master(me) || me->numslots == 0) return;
    if (h->current_epoch < cl->current_epoch) return;
    if (cl->last_vote_epoch == cl->current_epoch) return;  /* voted */
    if (!(sender->flags & CN_SLAVE) || !m) return;
    if (!(m->flags & CN_FAIL) && !(h->mflags & MF_FORCEACK)) return;
    if (now - m->voted_time < cl->n->cluster_node_timeout * 2) return;
    for (size_t i = 0; i < h->n_slots; i++)
        for (uint32_t s = h->slots[i]->start; s <= h->slots[i]->end; s++)
            if (cl->slots[s] && cl->slots[s]->config_epoch > h->config_epoch)
                return;     /* the replica's view of its slots is stale */
    cl->last_vote_epoch = cl->current_epoch;
    m->voted_time = now;
    cl_save_config(cl);
    log_msg(LL_NOTICE, "Failover auth granted to %.40s for epoch %llu",
            sender->name, (unsigned long long)cl->current_epoch);
    gossip_send_empty(cl, sender->link ? sender->link : link,
                      CLMSG_AUTH_ACK);
}

void failover_handle_ack(cluster_t *cl, cnode_t *sender,
                         const Tessera__Bus__Message *msg)
{
    if (cl_node_is_master(sender) && sender->numslots > 0 &&
        msg->header->current_epoch >= cl->failover_auth_epoch &&
        cl->failover_auth_sent)
        cl->failover_auth_count++;
    /* count now: the cron would promote up to 100 ms later */
    failover_cron(cl);
}

/* ---- replica migration ----------------------------------------------------- */

/*
 * Redis 7.0's clusterHandleSlaveMigration: a master serving slots that
 * had replicas (CN_MIGRATE_TO) but has no working one left is orphaned.
 * Among the masters with the most working replicas (at least 2), the
 * replica with the smallest id moves to the orphaned master, provided its
 * own master keeps more than cluster-migration-barrier working replicas,
 * the cluster is ok and the master stayed orphaned for
 * REPLICA_MIGRATION_DELAY (time for a failed-over shard's own replicas
 * to announce their new master).
 */
static void migrate_if_candidate(cluster_t *cl, int max_replicas,
                                 long long now)
{
    cnode_t *me = cl->myself, *mymaster = me->master;
    if (cl->state != CLUSTER_OK || !mymaster) return;
    int ok = 0;
    for (int i = 0; i < mymaster->nreplicas; i++)
        if (!(mymaster->replicas[i]->flags & (CN_FAIL | CN_PFAIL))) ok++;
    if (ok <= cl->n->cluster_migration_barrier) return;
    cnode_t *target = NULL, *candidate = me;
    for (int i = 0; i < cl->nnodes; i++) {
        cnode_t *node = cl->nodes[i];
        int is_master = cl_node_is_master(node);
        int okr = is_master ? cl_ok_replicas(node) : 0;
        int orphaned = is_master && !(node->flags & CN_FAIL) &&
                       (node->flags & CN_MIGRATE_TO) && okr == 0;
        if (orphaned) {
            if (!target && node->numslots > 0) target = node;
            if (!node->orphaned_time) node->orphaned_time = now;
        } else {
            node->orphaned_time = 0;
        }
        if (okr == max_replicas)
            for (int j = 0; j < node->nreplicas; j++)
                if (memcmp(node->replicas[j]->name, candidate->name,
                           CN_NAMELEN) < 0)
                    candidate = node->replicas[j];
    }
    if (!target || candidate != me ||
        now - target->orphaned_time <= REPLICA_MIGRATION_DELAY)
        return;
    log_msg(LL_NOTICE, "Migrating to orphaned master %.40s", target->name);
    cl_set_my_master(cl, target);
}

void failover_migration_cron(cluster_t *cl)
{
    cnode_t *me = cl->myself;
    if (!(me->flags & CN_SLAVE) || !cl->n->cluster_allow_replica_migration)
        return;
    int orphaned = 0, max_replicas = 0, mine = 0;
    for (int i = 0; i < cl->nnodes; i++) {
        cnode_t *node = cl->nodes[i];
        if (node->flags & (CN_MYSELF | CN_NOADDR | CN_HANDSHAKE)) continue;
        if (!cl_node_is_master(node) || (node->flags & CN_FAIL)) continue;
        int okr = cl_ok_replicas(node);
        if (okr == 0 && node->numslots > 0 && (node->flags & CN_MIGRATE_TO))
            orphaned++;
        if (okr > max_replicas) max_replicas = okr;
        if (me->master == node) mine = okr;
    }
    if (orphaned && max_replicas >= 2 && mine == max_replicas)
        migrate_if_candidate(cl, max_replicas, cl_now());
}
