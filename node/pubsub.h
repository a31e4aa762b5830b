/*
 * pubsub.h: publish/subscribe (SUBSCRIBE, PSUBSCRIBE, SSUBSCRIBE, their
 * UNSUBSCRIBEs, PUBLISH, SPUBLISH, PUBSUB ...), as Redis 7.0.
 *
 * The node keeps a registry (channel -> subscribers, pattern ->
 * subscribers, shard channel -> subscribers); each subscribed client
 * keeps its own channels and patterns so that UNSUBSCRIBE without
 * arguments and client_free can undo them.  A client with at least one
 * subscription carries CLF_PUBSUB: in RESP2 it may then only run the
 * commands pubsub_check_context lets through, its output buffer is
 * limited by the "pubsub" class, and CLIENT LIST shows it with flag P.
 *
 * The handlers are in pubsub_cmds (bound in node/cmd.c).
 */
#ifndef TS_PUBSUB_H
#define TS_PUBSUB_H

#include <stddef.h>

#include "cmdtab.h"
#include "node.h"
#include "reply.h"

/* pubsub_t (node->pubsub) is declared in node.h */
typedef struct pubsub_client pubsub_client_t; /* client->pubsub */

/*
 * Drop every subscription of c without replying (client_free, RESET);
 * clears CLF_PUBSUB and frees c's pubsub state.  Safe on any client.
 */
void pubsub_client_reset(client_t *c);

/* c's channel, pattern and shard channel subscription counts (CLIENT
 * LIST sub= psub= ssub=). */
void pubsub_client_counts(const client_t *c, size_t *sub, size_t *psub,
                          size_t *ssub);

/* INFO stats: channels, unique patterns and shard channels with at least
 * one subscriber. */
void pubsub_node_counts(const node_t *n, size_t *channels, size_t *patterns,
                        size_t *shard_channels);

/*
 * RESP2 subscriber context: a subscribed RESP2 client may only run
 * (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PING, QUIT and RESET.  Returns 0 if
 * spec may run, else replies Redis's error and returns -1.
 */
int pubsub_check_context(const client_t *c, const cmd_spec_t *spec,
                         reply_t *r);

/*
 * Publish msg on a (non-shard) channel from inside the node, as PUBLISH
 * does but with no publishing client (keyspace notifications, notify.c).
 * Returns the number of receivers.  Costs nothing without subscribers.
 */
long long pubsub_publish(node_t *n, const char *ch, size_t chlen,
                         const char *msg, size_t mlen);

/*
 * Deliver a PUBLISH that arrived from another cluster node to this node's
 * subscribers (channels and patterns).  Returns the receivers.
 */
long long pubsub_publish_local(node_t *n, const resp_arg_t *channel,
                               const resp_arg_t *message);

#endif
