/*
 * propagate.h: the single stream of write commands that feeds the AOF and
 * the replication backlog (Redis's also_propagate / propagatePendingCommands).
 *
 * What goes in the stream, as Redis 7.0:
 *
 *   - a command that changed the dataset (n->dirty moved while it ran),
 *     as its argv, unless its handler rewrote it (propagate_rewrite: SET EX
 *     -> SET .. PXAT, EXPIRE -> PEXPIREAT, SPOP -> SREM, BLPOP -> LPOP, ...)
 *     or prevented it (propagate_prevent); extra commands a handler adds
 *     (propagate_also) follow it;
 *   - deletions done by lazy expiry, active expiry and eviction
 *     (propagate_del: DEL), in the order they happened, a lazy one before
 *     the command that triggered it;
 *   - what one top-level command produced is one unit: more than one
 *     command in a unit (EXEC's commands, a write preceded by a lazy
 *     expiry DEL) is wrapped in MULTI ... EXEC.  Commands that changed
 *     nothing produce nothing.
 *
 * Sinks (AOF, replication) receive each unit as RESP bytes, all commands
 * of a unit in one call.  Nothing is emitted as SELECT: there is one
 * database; a sink that starts a new file or stream writes its own
 * "SELECT 0" first if its format wants one (Redis's AOF and replication
 * stream do).
 *
 * Cost: with no sink registered n->prop is NULL and every function here
 * returns after one test; with sinks, one reused buffer, no allocation per
 * command once it has grown.
 */
#ifndef TS_PROPAGATE_H
#define TS_PROPAGATE_H

#include <stddef.h>
#include <string.h>

#include "cmd.h"
#include "node.h"
#include "resp.h"

/* A consumer of the stream: called with one unit (one or more complete
 * RESP commands) per call; the bytes are valid only during the call. */
typedef void (*propagate_sink_fn)(void *arg, const char *resp, size_t len);

/* Register a sink (creates n->prop on first use).  Sinks are called in
 * registration order. */
void propagate_add_sink(node_t *n, propagate_sink_fn fn, void *arg);
/* Unregister (fn, arg); when no sink is left n->prop is freed. */
void propagate_remove_sink(node_t *n, propagate_sink_fn fn, void *arg);
/* Free everything (node teardown). */
void propagate_teardown(node_t *n);

/*
 * cmd_call (and the blocking re-run of a served client) brackets each
 * handler with these two.  propagate_begin returns the dirty counter to
 * hand back to propagate_end; propagate_end adds the command (argv, or
 * what the handler asked for) if the dataset changed, and delivers the
 * unit to the sinks when this was the outermost command (EXEC's queued
 * commands are nested in EXEC's call and go out with it).
 */
long long propagate_begin(node_t *n);
void propagate_end(node_t *n, long long dirty_before, const cmd_spec_t *c,
                   int argc, const resp_arg_t *argv);

/* Append a command to the pending unit as is (no dirty test), and
 * deliver at once if no command is running (cron, eviction). */
void propagate_command(node_t *n, int argc, const resp_arg_t *argv);

/* For handlers, all no-ops when nothing listens.  propagate_rewrite
 * replaces what this command propagates (may be called more than once:
 * the commands accumulate, e.g. SPOP count -> several SREM); it is
 * emitted only if the dataset changed.  propagate_also adds a command
 * after this one (always emitted).  propagate_prevent: propagate nothing
 * for this command (what it added with propagate_also still goes). */
void propagate_rewrite(cmdctx_t *ctx, int argc, const resp_arg_t *argv);
void propagate_also(cmdctx_t *ctx, int argc, const resp_arg_t *argv);
void propagate_prevent(cmdctx_t *ctx);
/* propagate_rewrite of argv with some arguments replaced: argument
 * idx[i] becomes val[i] (argc and the other arguments unchanged). */
void propagate_rewrite_edit(cmdctx_t *ctx, int argc, const resp_arg_t *argv,
                            int nedits, const int *idx,
                            const resp_arg_t *val);
/* propagate_rewrite_edit replacing argument idx by a decimal integer. */
void propagate_rewrite_ll(cmdctx_t *ctx, int argc, const resp_arg_t *argv,
                          int idx, long long v);

/* A key deleted by lazy/active expiry or eviction: DEL key.  Inside a
 * command it goes before that command; outside one it is delivered at
 * once. */
void propagate_del(node_t *n, const char *key, size_t klen);

/* Is anybody listening?  Handlers may skip building a rewrite if not. */
static inline int propagate_active(const node_t *n) { return n->prop != NULL; }

/* Build an argument from a C string / from bytes (for rewrites). */
static inline resp_arg_t propagate_arg(const char *s)
{
    resp_arg_t a = {s, strlen(s)};
    return a;
}

#endif
