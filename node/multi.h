/*
 * multi.h: transactions: MULTI, EXEC, DISCARD, WATCH, UNWATCH.
 *
 * A client in MULTI has its commands checked as usual by cmd_execute,
 * then copied into its queue (multi_queue) instead of run; EXEC runs the
 * queue through cmd_call, so each queued command gets its own stats,
 * slowlog entry and MONITOR line, as Redis 7.0 does.
 *
 * WATCH keeps a per-node map key -> clients watching it and a per-client
 * list of watched keys.  Writes (db_modified), deletions by expiry or
 * eviction and FLUSHALL/FLUSHDB mark the watching clients dirty; EXEC of a
 * dirty client replies a null array.
 */
#ifndef TS_MULTI_H
#define TS_MULTI_H

#include <stddef.h>

#include "node.h"
#include "reply.h"
#include "resp.h"

typedef struct multi_cmd multi_cmd_t;
typedef struct multi_watch multi_watch_t;

/* Embedded in client_t; zeroed means "no transaction, nothing watched". */
typedef struct multi_state {
    multi_cmd_t **cmds;     /* queued commands, one allocation each */
    int count, cap;
    unsigned cmd_flags;     /* OR of the queued commands' CF_* flags */
    size_t mem;             /* CLIENT LIST multi-mem (Redis's argv_len_sums) */
    multi_watch_t *watched; /* this client's watched keys */
} multi_state_t;

/*
 * Called by cmd_execute for a client in MULTI after the checks passed.
 * Returns 0 if the command must run now (EXEC, DISCARD, MULTI, WATCH,
 * QUIT), else 1 after replying: +QUEUED (the command was copied, unless
 * the transaction is already doomed, as Redis), or the no-multi error.
 */
int multi_queue(node_t *n, client_t *cl, const cmd_spec_t *c, int argc,
                const resp_arg_t *argv, reply_t *r);
/*
 * A command of a client in MULTI was rejected by a check (Redis's
 * flagTransaction): the transaction will answer EXECABORT.  For a
 * rejected EXEC the transaction is discarded at once and the error that
 * r holds from `mark` on becomes "EXECABORT Transaction discarded because
 * of: <error>", as Redis's execCommandAbort.
 */
void multi_rejected(client_t *cl, const cmd_spec_t *c, reply_t *r,
                    size_t mark);
/* OR of the CF_* flags of what EXEC would run (0 if nothing queued). */
unsigned multi_queued_flags(const client_t *cl);
/* Must the OOM check refuse c for this client even if c is not denyoom?
 * (Redis: in MULTI everything but EXEC/DISCARD/QUIT is refused when over
 * maxmemory; EXEC is refused if it queued a denyoom command.) */
int multi_oom_rejects(const client_t *cl, const cmd_spec_t *c);

/* key was written (db_modified): watchers become dirty.  Callers test
 * n->watched_keys first (NULL when nobody watches anything). */
void multi_touch_key(node_t *n, const char *key, size_t klen);
/* key is about to be deleted by expiry or eviction (call before the
 * deletion).  Cheap when nothing is watched. */
void multi_touch_deleted(node_t *n, const char *key, size_t klen);
/* The keyspace is about to be emptied (FLUSHALL/FLUSHDB): watchers of
 * keys that exist become dirty.  Cheap when nothing is watched. */
void multi_touch_flush(node_t *n);

/* Client teardown and RESET: discard the transaction, unwatch everything. */
void multi_client_free(client_t *cl);
/* Discard the transaction now (cluster mode: an EXEC whose queued keys
 * moved is answered with the redirection itself, as Redis 7.0). */
void multi_discard(client_t *cl);
/* The queued commands, for the cluster check of EXEC: i in
 * [0, multi_queued_count); argv is owned by the queue. */
int multi_queued_count(const client_t *cl);
const cmd_spec_t *multi_queued_cmd(const client_t *cl, int i, int *argc,
                                   const resp_arg_t **argv);

#endif
