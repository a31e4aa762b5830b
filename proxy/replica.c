/*
 * replica.c: reads from replicas (`read-from`).
 *
 *   master          every command goes to the slot's master (default)
 *   replica         read-only commands (CF_READONLY in the command table)
 *                   go to a replica of the slot's master; none reachable:
 *                   the request fails with an error saying so
 *   prefer-replica  the same, but the master serves the read when no
 *                   replica is reachable
 *
 * Replicas come from the topology (CLUSTER SHARDS nodes whose health is
 * not "fail", CLUSTER SLOTS' extra entries), grouped by master; one that
 * answers -LOADING passes the read to the master.  A worker
 * spreads the reads for one master over its replicas round robin; replica
 * links are ordinary multiplexed links that say READONLY after connecting
 * (backend.c), so the replica serves reads for its master's slots instead
 * of redirecting.  Writes, transactions, blocking commands and cluster-wide
 * commands always go to masters.  A replica answers from its own copy, so
 * a read right after a write may not see it (no read-your-writes).
 */
#include "proxy.h"

const char *const read_from_names[] = {"master", "replica", "prefer-replica",
                                       NULL};

/* A replica whose link was lost is skipped this long (the topology
 * refresh that the loss asked for will usually drop it first). */
#define REPLICA_AVOID_MS 2000

static int avoid(const backend_t *be, long long now)
{
    return be->fd < 0 && be->down_until_ms &&
           now < be->down_until_ms + REPLICA_AVOID_MS;
}

backend_t *replica_route(worker_t *w, breq_t *b, int idx)
{
    proxy_t *p = w->p;
    const topo_t *t = w->topo;
    const topo_node_t *m = &t->masters[idx];
    int n = m->rep_count;
    long long now = proxy_mono_ms();
    for (int i = 0; i < n; i++) {
        int r = m->rep_first + (int)((w->rep_rr + (unsigned)i) % (unsigned)n);
        backend_t *be = backend_for_replica(w, r, b->proto);
        if (avoid(be, now)) continue;
        w->rep_rr++;
        return be;
    }
    if (p->read_from == READ_PREFER_REPLICA)
        return backend_for_node(w, idx, b->proto);
    breq_fail(b, "ERR tessera-proxy: no reachable replica of %s for slot %d "
                 "(read-from replica)", m->addr, b->slot);
    return NULL;
}
