/*
 * cmd.h: command dispatch, and what a command handler sees.
 *
 * A handler is a function of (context, request, reply builder):
 *
 *     void cmd_get(cmdctx_t *ctx, const req_t *req, reply_t *r);
 *
 * It reads arguments from req, works on ctx->node (keyspace, config,
 * stats) and ctx->client (may be a test's stand-in client), and writes
 * exactly one reply with r.  No sockets: Check tests call handlers
 * directly.
 *
 * cmd_execute runs the checks that come before a command, in Redis's
 * order, as small named functions (unknown command, arity, auth, protected
 * commands, pause, OOM), then the handler, then the bookkeeping (stats,
 * slowlog, monitor feed).
 */
#ifndef TS_CMD_H
#define TS_CMD_H

#include "cmdtab.h"
#include "node.h"
#include "reply.h"
#include "resp.h"

typedef struct cmdctx {
    node_t *node;
    client_t *client;
    keyspace_t *ks;
    long long now_ms;       /* unix ms when the command started */
} cmdctx_t;

typedef struct req {
    int argc;
    const resp_arg_t *argv;
    const cmd_spec_t *spec;
} req_t;

typedef void cmd_handler_t(cmdctx_t *ctx, const req_t *req, reply_t *r);

/* Each command file exports a table binding ids to handlers, ending with
 * {CMD__COUNT, NULL}. */
typedef struct cmd_bind {
    cmd_id_t id;
    cmd_handler_t *fn;
} cmd_bind_t;

extern const cmd_bind_t t_string_cmds[];
extern const cmd_bind_t db_cmds[];
extern const cmd_bind_t expire_cmds[];
extern const cmd_bind_t conn_cmds[];
extern const cmd_bind_t server_cmds[];
extern const cmd_bind_t t_list_cmds[];
extern const cmd_bind_t t_hash_cmds[];
extern const cmd_bind_t t_set_cmds[];
extern const cmd_bind_t t_zset_cmds[];
extern const cmd_bind_t t_bitmap_cmds[];  /* types/t_bitmap.c */
extern const cmd_bind_t t_hll_cmds[];     /* types/t_hll.c */
extern const cmd_bind_t multi_cmds[];
extern const cmd_bind_t pubsub_cmds[];
extern const cmd_bind_t cluster_cmds[];   /* node/cluster/cmd_cluster.c */
extern const cmd_bind_t rdb_cmds[];   /* persist/rdb.c */
extern const cmd_bind_t migrate_cmds[];   /* node/cluster/migrate.c */

/* Type setup: each registers its db_type_ops (node/types/t_*.c). */
void t_list_setup(void);
void t_hash_setup(void);
void t_set_setup(void);
void t_zset_setup(void);

/* Bind handlers (call once). */
void cmd_setup(void);
/* Handler for an id, NULL if unbound. */
cmd_handler_t *cmd_handler(cmd_id_t id);
/* Does the node implement this command?  The table also lists commands
 * whose handlers are not written yet; those answer "unknown command" and
 * are left out of COMMAND and docs.  A container counts if any of its
 * subcommands is implemented. */
int cmd_implemented(const cmd_spec_t *c);

/*
 * Execute one parsed command for client c, appending the reply to r.
 * Returns 0, or -1 if the command was not run because the client must
 * wait (CLIENT PAUSE): the caller keeps the command and retries later.
 */
int cmd_execute(node_t *n, client_t *c, int argc, const resp_arg_t *argv,
                reply_t *r);

/*
 * Run a command that passed cmd_execute's checks: handler, then stats,
 * slowlog and MONITOR feed.  now_us is when it started.  EXEC calls it
 * for each queued command.
 */
void cmd_call(node_t *n, client_t *cl, const cmd_spec_t *c, int argc,
              const resp_arg_t *argv, reply_t *r, long long now_us);

/* Resolve a command name to its spec honouring rename-command (NULL if
 * unknown or disabled). */
const cmd_spec_t *cmd_lookup(node_t *n, const resp_arg_t *name);

/* Helpers for handlers. */
static inline int arg_eq(const resp_arg_t *a, const char *lit)
{
    size_t n = 0;
    while (lit[n]) n++;
    if (a->len != n) return 0;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = (unsigned char)a->ptr[i];
        if (x >= 'A' && x <= 'Z') x += 32;
        if (x != (unsigned char)lit[i]) return 0;
    }
    return 1;
}
/* Parse an integer argument; on failure replies the Redis error and
 * returns -1. */
int arg_ll(const resp_arg_t *a, long long *out, reply_t *r);
/* Same with a custom error text. */
int arg_ll_msg(const resp_arg_t *a, long long *out, reply_t *r,
               const char *err);
/* Parse a long double exactly as Redis's string2ld (numfmt.h).
 * 0 on success. */
int arg_double(const resp_arg_t *a, long double *out);

#endif
