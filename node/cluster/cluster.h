/*
 * cluster.h: cluster mode, as the rest of the node sees it.
 *
 * With `cluster-enabled yes` the node has a 40-hex identity and a view of
 * the cluster (peers, 16384 slot owners, epochs) kept in
 * `cluster-config-file` (Redis 7.0's nodes.conf format), talks to its
 * peers over the cluster bus (protobuf frames with an HMAC, bus.c),
 * detects failures by gossip (gossip.c), redirects clients whose keys live
 * elsewhere (cluster_check_command) and answers the CLUSTER commands
 * (cmd_cluster.c).
 *
 * node->cluster is NULL when cluster mode is off: every hook below is
 * called behind `if (n->cluster)`, one branch on the hot path.
 */
#ifndef TS_CLUSTER_H
#define TS_CLUSTER_H

#include "cmdtab.h"
#include "node.h"
#include "reply.h"
#include "resp.h"

typedef struct cluster cluster_t;

/* cluster-preferred-endpoint-type (node->cluster_preferred_endpoint_type):
 * what clients get as a node's address. */
enum { CL_ENDPOINT_IP, CL_ENDPOINT_HOSTNAME, CL_ENDPOINT_UNKNOWN };

/*
 * Start cluster mode (n->cluster_enabled): check the options (a secret or
 * cluster-bus-insecure), load or create the config file, open the bus
 * listener and start the cluster cron.  Returns 0, or -1 after logging
 * why the node cannot start.
 */
int cluster_setup(node_t *n);
/* Close links and listeners, free the state (safe if setup failed). */
void cluster_teardown(node_t *n);

/*
 * Redirection check for one command of client cl (Redis's getNodeByQuery):
 * 0 if this node serves it, else replies -MOVED, -ASK, -TRYAGAIN,
 * -CROSSSLOT or -CLUSTERDOWN exactly as Redis 7.0 and returns -1.  On a
 * TESSERA MULTISLOT connection, MGET MSET DEL UNLINK EXISTS TOUCH may also
 * span several slots that this node serves, none of them moving.
 */
int cluster_check_command(node_t *n, client_t *cl, const cmd_spec_t *c,
                          int argc, const resp_arg_t *argv, reply_t *r);

/* After each command: ASKING lasts for one command (outside MULTI). */
void cluster_after_command(client_t *cl, const cmd_spec_t *c);

/* CONFIG SET of a cluster-announce-* option: refresh what we announce
 * (no-op outside cluster mode). */
void cluster_announce_changed(node_t *n);

/* INFO clients cluster_connections: as Redis 7.0, (known nodes - 1) x 2;
 * 0 outside cluster mode. */
long long cluster_connections(const node_t *n);

/* INFO memory mem_cluster_links: bytes held by cluster bus links (their
 * structs and buffered bytes); 0 outside cluster mode. */
size_t cluster_links_memory(const node_t *n);

/* PUBLISH: send channel/message to every other node over the bus (the
 * local subscribers were served by pubsub.c). */
void cluster_propagate_publish(node_t *n, const resp_arg_t *channel,
                               const resp_arg_t *message);

#endif
