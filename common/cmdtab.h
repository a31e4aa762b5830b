/*
 * cmdtab.h: the one command table, read by the node and the proxy.
 *
 * Every command Tessera knows is declared once, in commands.def, with
 * Redis 7's name, arity, flags and legacy key positions (first, last,
 * step), its group and a one-line summary.  Subcommands of container
 * commands (CLIENT KILL, CONFIG GET) are full entries named "client|kill"
 * as in Redis 7, so arity errors and COMMAND INFO read the same.
 *
 * The node binds a handler to each id (node/cmd.c); the proxy uses the
 * key positions to route; COMMAND and docs/commands.md are produced from
 * this table, so they cannot drift from what is implemented.
 */
#ifndef TS_CMDTAB_H
#define TS_CMDTAB_H

#include <stddef.h>
#include <stdint.h>

#include "resp.h"

/* Flags, with Redis 7's names (see cmdtab_flag_names). */
#define CF_WRITE        (1u << 0)
#define CF_READONLY     (1u << 1)
#define CF_DENYOOM      (1u << 2)
#define CF_ADMIN        (1u << 3)
#define CF_PUBSUB       (1u << 4)
#define CF_NOSCRIPT     (1u << 5)
#define CF_BLOCKING     (1u << 6)
#define CF_LOADING      (1u << 7)
#define CF_STALE        (1u << 8)
#define CF_SKIP_MONITOR (1u << 9)
#define CF_SKIP_SLOWLOG (1u << 10)
#define CF_FAST         (1u << 11)
#define CF_NO_AUTH      (1u << 12)
#define CF_MAY_REPLICATE (1u << 13)
#define CF_NO_MULTI     (1u << 14)
#define CF_MOVABLEKEYS  (1u << 15)
#define CF_ALLOW_BUSY   (1u << 16)
#define CF_PROTECTED    (1u << 17)   /* DEBUG: enable-debug-command */
#define CF_NO_MANDATORY_KEYS (1u << 18)
#define CF_CONTAINER    (1u << 19)   /* has subcommands; Tessera-internal */
#define CF_ASKING       (1u << 20)   /* served for an IMPORTING slot */
#define CF_NO_ASYNC_LOADING (1u << 21)
#define CF_FLAG_COUNT   22

/* Where the proxy sends a command that has no key. */
enum cmd_route {
    ROUTE_KEYS = 0,     /* by the slot of its keys */
    ROUTE_LOCAL,        /* answered by whoever receives it */
    ROUTE_ALL_MASTERS,  /* fan out, merge */
    ROUTE_ANY,          /* any node */
    ROUTE_NONE,         /* not routable through a proxy */
};

/* Command ids: CMD_GET, CMD_CLIENT_KILL, ... */
typedef enum cmd_id {
#define CMD(id, name, arity, flags, first, last, step, route, group, since, \
            summary, acl, complexity)                                     \
    CMD_##id,
#include "commands.def"
#undef CMD
    CMD__COUNT
} cmd_id_t;

typedef struct cmd_spec {
    cmd_id_t id;
    const char *name;       /* lower case; "client|kill" for subcommands */
    int arity;              /* N: exactly N args; -N: at least N (name counts) */
    uint32_t flags;
    int first_key;          /* 0: no keys */
    int last_key;           /* negative: from the end (-1 = last arg) */
    int key_step;
    int route;              /* enum cmd_route */
    const char *group;      /* "string", "generic", "server", "connection" */
    const char *since;      /* Redis version that introduced it */
    const char *summary;
    const char *acl;        /* "@read @string @fast" */
    const char *complexity; /* "O(1)" */
    /* derived at setup */
    const struct cmd_spec *parent;  /* for subcommands */
    const char *subname;            /* "kill" for "client|kill" */
    size_t namelen;
    const char *acl_cats[12];
    size_t nacl;
    /* COMMAND DOCS "arguments" as RESP3 bytes (command_docs.def), or NULL */
    const char *args_resp3;
    size_t args_len;
    /* COMMAND INFO tips and key specs as RESP3 bytes (command_info.def),
     * or NULL (generated from the fields above) */
    const char *tips_resp3;
    size_t tips_len;
    const char *key_specs_resp3;
    size_t key_specs_len;
    /* COMMAND DOCS doc_flags, deprecated_since, replaced_by, history:
     * docs_pairs key-value pairs as RESP3 bytes (command_info.def) */
    const char *docs_resp3;
    size_t docs_len, docs_pairs;
} cmd_spec_t;

/* Build the lookup tables.  Call once at start-up (idempotent). */
void cmdtab_setup(void);

/* The table; cmdtab_count() entries indexed by id. */
const cmd_spec_t *cmdtab_get(cmd_id_t id);
size_t cmdtab_count(void);

/* Top-level command by name, case-insensitive, NULL if unknown. */
const cmd_spec_t *cmdtab_lookup(const char *name, size_t len);
/* Subcommand of a container ("kill" under "client"), NULL if unknown. */
const cmd_spec_t *cmdtab_lookup_sub(const cmd_spec_t *parent,
                                    const char *sub, size_t len);
/* Subcommands of a container, in table order: returns count, fills out. */
size_t cmdtab_subcommands(const cmd_spec_t *parent, const cmd_spec_t **out,
                          size_t max);

/* Does argc satisfy the spec's arity? */
static inline int cmdtab_arity_ok(const cmd_spec_t *c, int argc)
{
    return c->arity > 0 ? argc == c->arity : argc >= -c->arity;
}

/*
 * Key positions of a command instance: fills idx with up to max argv
 * indexes, returns how many keys there are (may exceed max; then only max
 * were written), or -1 if the arguments are malformed for key finding.
 */
int cmdtab_keys(const cmd_spec_t *c, int argc, const resp_arg_t *argv,
                int *idx, int max);

/* Redis's flag names, bit i -> name ("write", "readonly", ...). */
const char *cmdtab_flag_name(unsigned bit);
/* ACL categories, Redis's ("@write", "@string", ...) in its order:
 * fills out with up to max static strings, returns count. */
size_t cmdtab_acl_categories(const cmd_spec_t *c, const char **out,
                             size_t max);

#endif
