/*
 * blocking.h: commands that wait for data (BLPOP, BRPOP, BLMOVE,
 * BRPOPLPUSH, BLMPOP, BZPOPMIN, BZPOPMAX, BZMPOP).
 *
 * A blocking handler first does its non-blocking work.  When every key is
 * empty it calls block_client(), which copies the command, queues the
 * client on each of its keys (first come, first served per key) and arms
 * the timeout.  Every write passes through db_modified(), which calls
 * block_signal_key() for a key somebody waits on (a single branch when
 * nobody is blocked).  After the command that signalled, block_serve()
 * re-executes, in arrival order, the commands of the clients waiting on
 * the ready keys: a client that gets data receives its reply and is
 * unblocked; one that would block again keeps waiting, keeping its place.
 * (Redis 7.2 serves blocked clients the same way, by re-running the
 * command.)  Commands a client pipelined behind a blocking command wait
 * until it is unblocked, then run in order.
 */
#ifndef TS_BLOCKING_H
#define TS_BLOCKING_H

#include "cmd.h"
#include "node.h"

/*
 * Parse a blocking timeout in seconds (a float, 0 = forever) into an
 * absolute deadline in ms (0 = none).  On error replies Redis's text
 * ("timeout is not a float or out of range", "timeout is negative") and
 * returns -1.
 */
int block_parse_timeout(const resp_arg_t *a, long long now_ms,
                        long long *deadline, reply_t *r);

/*
 * May this command block?  No inside MULTI/EXEC (CLF_DENY_BLOCKING) and
 * not without a real client: then the handler replies as on a timeout.
 */
int block_allowed(const cmdctx_t *ctx);

/*
 * Block ctx->client on the keys argv[keys[0..nkeys-1]] until one of them
 * is signalled (re-run the command) or the deadline passes (reply the
 * null array).  Writes no reply.
 */
void block_client(cmdctx_t *ctx, const req_t *req, const int *keys, int nkeys,
                  long long deadline_ms);

/* block_client on the n consecutive keys argv[first..first+n-1] (BLPOP,
 * BZPOPMIN, ...), or, when blocking is not allowed, reply the null array
 * as a timeout would. */
void block_on_range(cmdctx_t *ctx, const req_t *req, int first, int n,
                    long long deadline_ms, reply_t *r);

/* Somebody may be waiting for key: serve them after this command. */
void block_signal_key(node_t *n, const char *key, size_t klen);

/* Serve the clients waiting on keys signalled so far (cmd_execute calls
 * it after each command while keys are ready). */
void block_serve(node_t *n);

/* A blocked client goes away (client_free). */
void block_forget_client(client_t *c);

/* A client another module blocked (WAIT, node/repl) was released: run
 * what it pipelined with the others, at the end of this iteration. */
void block_resume_client(node_t *n, client_t *c);

/* Run the pending input of clients unblocked since the last call (once
 * per event-loop iteration, before replies are written). */
void block_resume_unblocked(node_t *n);

void block_setup(node_t *n);
void block_teardown(node_t *n);

#endif
