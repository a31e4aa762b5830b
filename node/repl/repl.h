/*
 * repl.h: master/replica replication, Redis 7.0's protocol (PSYNC2).
 *
 * A node is a master (the default) or follows one master (REPLICAOF).
 *
 * Master side: every write command the node propagates (node/propagate.h)
 * is appended to a backlog ring (repl-backlog-size) and to the output
 * buffer of every attached replica; master_repl_offset counts the bytes.
 * A replica that sends PSYNC <replid> <offset> with an offset still in
 * the backlog gets +CONTINUE and the missing bytes; any other gets
 * +FULLRESYNC <replid> <offset> and an RDB image written by a forked
 * child straight to its socket (diskless, "$EOF:<mark>" framing), while
 * the parent keeps serving and holds the new writes in that replica's
 * output buffer until the child is done.
 *
 * Replica side: a nonblocking handshake (PING, AUTH, REPLCONF
 * listening-port, REPLCONF capa eof capa psync2, PSYNC), then either the
 * RDB payload (either framing), loaded into a fresh keyspace that replaces
 * the old one, or a partial resync; then the link becomes the "master
 * client": its commands run without replies, the processed bytes advance
 * the offset and are fed to our own backlog and sub-replicas, and
 * REPLCONF ACK <offset> goes back every second and on GETACK.
 */
#ifndef TS_REPL_H
#define TS_REPL_H

#include "cmd.h"
#include "node.h"

/* Module lifecycle (main.c): after the keyspace, before the listeners
 * start serving; teardown kills a running sync child. */
void repl_setup(node_t *n);
void repl_teardown(node_t *n);

/* Follow host:port (REPLICAOF host port).  Keeps our replid/offset so
 * that the new master can answer +CONTINUE.  0, or -1 on a bad address. */
int repl_set_master(node_t *n, const char *host, int port);
/* Become a master (REPLICAOF NO ONE): keeps the data, shifts the replid
 * (replid2/second_repl_offset) so former peers can still PSYNC. */
void repl_unset_master(node_t *n);

/* Is this node following a master? */
static inline int repl_is_replica(const node_t *n)
{
    return n->replica_mode;
}

/* The cron hook (server.c), every tick. */
void repl_cron(node_t *n, long long now_ms);

/*
 * cmd_execute's check for write commands (cmd.c), after OOM:
 * -NOREPLICAS when min-replicas-to-write is not met, -READONLY on a
 * read-only replica (the master client is exempt); for any command,
 * -MASTERDOWN on a replica with its link down and
 * replica-serve-stale-data no.  0, or -1 after replying.
 */
int repl_check_write(node_t *n, client_t *c, const cmd_spec_t *cmd,
                     reply_t *r);

/*
 * cmd_execute notes the stream offset (master_repl_offset) before a
 * command and calls repl_after_write when the command moved it: the
 * client's offset for WAIT, and durable writes (min-replicas-ack N): if
 * fewer than N replicas acknowledged it, the reply is held (not written)
 * and the client's next commands wait until N replicas ACK that offset.
 */
long long repl_stream_offset(const node_t *n);
void repl_after_write(node_t *n, client_t *c);
/* option hook: min-replicas-ack changed */
void repl_min_ack_changed(node_t *n);

/* client.c hooks.  repl_client_free: a master/replica/WAITing client goes
 * away.  repl_master_applied: the master client consumed len bytes
 * (one command) starting at p. */
void repl_client_free(client_t *c);
void repl_master_applied(client_t *c, const char *p, size_t len);

/* INFO replication section (info.c). */
void repl_info(node_t *n, buf_t *out);
/* Bytes held by the backlog (INFO memory). */
size_t repl_backlog_memory(const node_t *n);

/* option hooks (options.c): replicaof "host port" | "no one" */
const char *repl_opt_set_replicaof(node_t *n, int argc, char **argv);
void repl_opt_get_replicaof(node_t *n, char *out, size_t sz);
/* repl-backlog-size changed */
void repl_backlog_resize(node_t *n);

extern const cmd_bind_t repl_cmds[];

#endif
