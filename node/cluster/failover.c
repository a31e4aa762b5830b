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
 * TAKEOVER takes a new epoch without any vote.  (The default mode, which
 * pauses the master until the replica has caught up, needs replication
 * offsets on the bus and is not implemented.)
 *
 * The old master, when it comes back, gets UPDATE messages for its slots
 * (higher epoch), loses them all and becomes a replica of the new master
 * (gossip.c, update_slots_with).
 */
#include <stdlib.h>
#include <string.h>

#include "cluster_bus.pb-c.h"
#include "cluster_int.h"
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
    cl->mf_end = 0;
    cl_update_state(cl);
    cl_save_config(cl);
    gossip_broadcast_pong(cl);
}

void failover_cron(cluster_t *cl)
{
    cnode_t *me = cl->myself, *m = me->master;
    long long now = cl_now(), timeout = auth_timeout(cl);
    int manual = cl->mf_end && now < cl->mf_end;
    if (cl->mf_end && !manual) {
        log_msg(LL_WARNING, "Manual failover timed out.");
        cl->mf_end = 0;
    }
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
        return;
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
    cl->mf_end = cl_now() + MF_TIMEOUT;
    cl->failover_auth_time = 0;
    failover_cron(cl);
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
