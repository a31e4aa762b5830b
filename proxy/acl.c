/*
 * acl.c: the ACL command as a client of the proxy sees it.
 *
 * The proxy's users are its own (auth.c, `user` lines in its config
 * file), so ACL is answered here, never forwarded: WHOAMI, USERS, LIST,
 * CAT [category], GETUSER, DRYRUN, LOG (always empty: the proxy keeps no
 * log), GENPASS and HELP with Redis 7.0's replies and texts.  SETUSER,
 * DELUSER, SAVE and LOAD answer an error saying where users are
 * configured: the user table is read-only once the workers run, which is
 * what keeps the per-request check free of locks.
 */
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "auth.h"
#include "proxy.h"
#include "reply.h"

static const char *const acl_help[] = {
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command "
    "categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without "
    "executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` "
    "argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
    NULL,
};

static void reply_buf(reply_t *r, const buf_t *b)
{
    reply_bulk(r, buf_len(b) ? buf_rptr(b) : "", buf_len(b));
}

/* ACL LIST / ACL USERS */
static void list_users(pclient_t *c, reply_t *r, int names_only)
{
    int n;
    const acl_user_t *const *users = auth_users(c->w->p, &n);
    reply_array(r, n);
    for (int i = 0; i < n; i++) {
        if (names_only) {
            reply_bulk_str(r, users[i]->name);
            continue;
        }
        buf_t b;
        buf_init(&b);
        buf_printf(&b, "user %s ", users[i]->name);
        auth_describe_user(users[i], &b);
        reply_buf(r, &b);
        buf_deinit(&b);
    }
}

/* ACL CAT [category]: the categories, or a category's commands (table
 * order; Redis's order is its hash table's). */
static void cat(int argc, resp_arg_t *argv, reply_t *r)
{
    if (argc == 2) {
        int n = 0;
        while (auth_categories[n]) n++;
        reply_array(r, n);
        for (int i = 0; i < n; i++) reply_bulk_str(r, auth_categories[i]);
        return;
    }
    int i = auth_category_index(argv[2].ptr, argv[2].len);
    if (i < 0) {
        reply_errorf(r, "ERR Unknown category '%.*s'",
                     (int)(argv[2].len > 128 ? 128 : argv[2].len),
                     argv[2].ptr);
        return;
    }
    long long n = 0;
    for (size_t id = 0; id < cmdtab_count(); id++)
        n += auth_in_category(cmdtab_get((cmd_id_t)id), i);
    reply_array(r, n);
    for (size_t id = 0; id < cmdtab_count(); id++)
        if (auth_in_category(cmdtab_get((cmd_id_t)id), i))
            reply_bulk_str(r, cmdtab_get((cmd_id_t)id)->name);
}

/* ACL GETUSER username: a map (RESP3) or flat array, as Redis 7.0; a
 * null for an unknown user. */
static void getuser(pclient_t *c, const resp_arg_t *name, reply_t *r)
{
    const acl_user_t *u = auth_find(c->w->p, name->ptr, name->len);
    if (!u) {
        reply_null(r);
        return;
    }
    const char *flags[4];
    int nf = auth_user_flags(u, flags);
    reply_map(r, 6);
    reply_bulk_str(r, "flags");
    reply_set(r, nf);
    for (int i = 0; i < nf; i++) reply_bulk_str(r, flags[i]);
    reply_bulk_str(r, "passwords");
    reply_array(r, u->npass);
    for (int i = 0; i < u->npass; i++) reply_bulk(r, u->pass[i], 64);
    static const struct {
        const char *field;
        void (*describe)(const acl_user_t *, buf_t *);
    } parts[] = {{"commands", auth_describe_commands},
                 {"keys", auth_describe_keys},
                 {"channels", auth_describe_channels}};
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        buf_t b;
        buf_init(&b);
        parts[i].describe(u, &b);
        reply_bulk_str(r, parts[i].field);
        reply_buf(r, &b);
        buf_deinit(&b);
    }
    reply_bulk_str(r, "selectors");
    reply_array(r, 0);
}

/* ACL DRYRUN username command [arg ...] */
static void dryrun(pclient_t *c, int argc, resp_arg_t *argv, reply_t *r)
{
    const acl_user_t *u = auth_find(c->w->p, argv[2].ptr, argv[2].len);
    if (!u) {
        reply_errorf(r, "ERR User '%.*s' not found", (int)argv[2].len,
                     argv[2].ptr);
        return;
    }
    const cmd_spec_t *cmd = cmdtab_lookup(argv[3].ptr, argv[3].len);
    if (cmd && (cmd->flags & CF_CONTAINER) && argc > 4)
        cmd = cmdtab_lookup_sub(cmd, argv[4].ptr, argv[4].len);
    if (!cmd) {
        reply_errorf(r, "ERR Command '%.*s' not found", (int)argv[3].len,
                     argv[3].ptr);
        return;
    }
    if (!cmdtab_arity_ok(cmd, argc - 3)) {
        reply_err_arity(r, cmd->name);
        return;
    }
    int pos, rc = auth_user_may(u, cmd, argc - 3, argv + 3, &pos);
    buf_t b;
    buf_init(&b);
    switch (rc) {
    case ACL_DENIED_CMD:
        buf_printf(&b, "This user has no permissions to run the '%s' command",
                   cmd->name);
        break;
    case ACL_DENIED_KEY:
    case ACL_DENIED_CHANNEL:
        buf_append_str(&b, "This user has no permissions to access the '");
        buf_append(&b, argv[3 + pos].ptr, argv[3 + pos].len);
        buf_append_str(&b, rc == ACL_DENIED_KEY ? "' key" : "' channel");
        break;
    default:
        reply_ok(r);
        buf_deinit(&b);
        return;
    }
    reply_buf(r, &b);
    buf_deinit(&b);
}

/* ACL GENPASS [bits] */
static void genpass(int argc, resp_arg_t *argv, reply_t *r)
{
    long long bits = 256;
    if (argc == 3 && !resp_str2ll(argv[2].ptr, argv[2].len, &bits)) {
        reply_err_notint(r);
        return;
    }
    if (bits <= 0 || bits > 4096) {
        reply_error(r, "ERR ACL GENPASS argument must be the number of bits "
                       "for the output password, a positive number up to "
                       "4096");
        return;
    }
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[512];
    char out[1024];
    size_t chars = (size_t)(bits + 3) / 4;
    if (RAND_bytes(raw, (int)((chars + 1) / 2)) != 1) {
        reply_error(r, "ERR tessera-proxy: no random bytes available");
        return;
    }
    for (size_t i = 0; i < chars; i++)
        out[i] = hex[(raw[i / 2] >> (i % 2 ? 0 : 4)) & 15];
    reply_bulk(r, out, chars);
}

void acl_command(pclient_t *c, const cmd_spec_t *cmd, int argc,
                 resp_arg_t *argv, reply_t *r)
{
    /* CAT, LOG and GENPASS take one argument at most (Redis's text) */
    if (argc > 3 && (cmd->id == CMD_ACL_CAT || cmd->id == CMD_ACL_LOG ||
                     cmd->id == CMD_ACL_GENPASS)) {
        reply_err_subcommand(r, &argv[1], "ACL");
        return;
    }
    switch (cmd->id) {
    case CMD_ACL_WHOAMI:
        reply_bulk_str(r, c->user ? c->user->name : "default");
        break;
    case CMD_ACL_USERS:
        list_users(c, r, 1);
        break;
    case CMD_ACL_LIST:
        list_users(c, r, 0);
        break;
    case CMD_ACL_CAT:
        cat(argc, argv, r);
        break;
    case CMD_ACL_GETUSER:
        getuser(c, &argv[2], r);
        break;
    case CMD_ACL_DRYRUN:
        dryrun(c, argc, argv, r);
        break;
    case CMD_ACL_LOG: {     /* LOG [count | RESET]: no log is kept */
        long long n;
        if (argc == 3 && argv[2].len == 5 &&
            strncasecmp(argv[2].ptr, "reset", 5) == 0)
            reply_ok(r);
        else if (argc == 3 && !resp_str2ll(argv[2].ptr, argv[2].len, &n))
            reply_err_notint(r);
        else
            reply_array(r, 0);
        break;
    }
    case CMD_ACL_GENPASS:
        genpass(argc, argv, r);
        break;
    case CMD_ACL_HELP:
        reply_help(r, acl_help);
        break;
    default:    /* SETUSER DELUSER SAVE LOAD */
        reply_errorf(r, "ERR tessera-proxy: users are configured with `user` "
                        "lines in the proxy's config file; '%s' is not "
                        "supported", cmd->name);
        break;
    }
}
