/*
 * cmd_conn.c: the connection commands: PING, ECHO, QUIT, AUTH, SELECT,
 * HELLO and the CLIENT family.
 *
 * Replies and error texts are Redis 7.0's, byte for byte, because client
 * libraries parse them (redis-py reads HELLO's map, tools grep CLIENT
 * LIST).  Tessera has one user, "default", whose password is
 * `requirepass`; with no password set the user is "nopass" as in Redis, so
 * any password authenticates it and `AUTH <password>` alone is an error.
 *
 * CLIENT PAUSE only records the deadline and mode in the node; cmd.c holds
 * the commands of paused clients (CLF_PAUSED) and conn_unpause_clients
 * replays them.  CLIENT UNPAUSE defers that replay to the event loop so
 * that other clients' commands never run nested inside a handler.
 *
 * Tessera has no pub/sub, replicas or masters yet: every client is of type
 * "normal" (a MONITOR client too, as in Redis).
 */
#include "cmd_conn.h"

#include <event2/event.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "client.h"
#include "cmd.h"
#include "config.h"
#include "monitor.h"
#include "multi.h"
#include "pubsub.h"

#define DEFAULT_USER "default"
#define MAX_QUOTED 128 /* user input quoted in errors, as Redis's %.128s */

static const char wrongpass_err[] =
    "WRONGPASS invalid username-password pair or user is disabled.";
static const char name_err[] =
    "ERR Client names cannot contain spaces, newlines or special characters.";

/* ---- helpers ------------------------------------------------------------ */

static int qlen(const resp_arg_t *a)
{
    return (int)(a->len > MAX_QUOTED ? MAX_QUOTED : a->len);
}

static int arg_is(const resp_arg_t *a, const char *s)
{
    size_t n = strlen(s);
    return a->len == n && memcmp(a->ptr, s, n) == 0;
}

/* Compare without an early exit, so the time taken does not tell how many
 * leading bytes of a guessed password were right.  The length still shows
 * (as it does in Redis's time_independent_strcmp, through its 512-byte cap). */
static int secret_eq(const char *a, size_t alen, const char *b, size_t blen)
{
    unsigned diff = (unsigned)(alen ^ blen);
    size_t n = alen > blen ? alen : blen;
    for (size_t i = 0; i < n; i++) {
        unsigned char x = i < alen ? (unsigned char)a[i] : 0;
        unsigned char y = i < blen ? (unsigned char)b[i] : 0;
        diff |= (unsigned)(x ^ y);
    }
    return diff == 0;
}

static int nopass(const node_t *n)
{
    return n->requirepass == NULL || n->requirepass[0] == '\0';
}

/* ACL-like check of the one user Tessera has.  User names are
 * case-sensitive in Redis ("DEFAULT" is not "default"). */
static int auth_ok(const node_t *n, const resp_arg_t *user,
                   const resp_arg_t *pass)
{
    if (!arg_is(user, DEFAULT_USER)) return 0;
    if (nopass(n)) return 1;
    return secret_eq(pass->ptr, pass->len, n->requirepass,
                     strlen(n->requirepass));
}

/* Redis's validateClientName: printable ASCII without spaces, or empty. */
static int name_valid(const resp_arg_t *a)
{
    for (size_t i = 0; i < a->len; i++) {
        unsigned char ch = (unsigned char)a->ptr[i];
        if (ch < '!' || ch > '~') return 0;
    }
    return 1;
}

static void set_name(client_t *c, const resp_arg_t *a)
{
    ts_free(c->name);
    c->name = a->len ? ts_strndup(a->ptr, a->len) : NULL;
}

/* Client types as Redis names them (no masters or replicas yet). */
enum { CT_NORMAL = 0, CT_MASTER, CT_REPLICA, CT_PUBSUB };

static int client_type_by_name(const resp_arg_t *a)
{
    if (arg_eq(a, "normal")) return CT_NORMAL;
    if (arg_eq(a, "slave") || arg_eq(a, "replica")) return CT_REPLICA;
    if (arg_eq(a, "pubsub")) return CT_PUBSUB;
    if (arg_eq(a, "master")) return CT_MASTER;
    return -1;
}

static int client_type(const client_t *c)
{
    if (c->flags & CLF_MASTER) return CT_MASTER;
    if ((c->flags & CLF_REPLICA) && !(c->flags & CLF_MONITOR))
        return CT_REPLICA;
    return (c->flags & CLF_PUBSUB) ? CT_PUBSUB : CT_NORMAL;
}

/* The oldest client (clients are linked newest first; Redis lists them in
 * connection order). */
static client_t *oldest_client(node_t *n)
{
    client_t *c = n->clients;
    while (c && c->next) c = c->next;
    return c;
}

static void append_info(buf_t *out, client_t *c)
{
    client_info_line(c, out);
    buf_putc(out, '\n');
}

/* ---- redaction (monitor, slowlog) --------------------------------------- */

static int config_is_sensitive(node_t *n, const resp_arg_t *name)
{
    if (!n->config) return 0;
    size_t cnt;
    const config_opt_t *opts = config_opts(n->config, &cnt);
    for (size_t i = 0; i < cnt; i++) {
        const char *nm = opts[i].name, *al = opts[i].alias;
        if ((strlen(nm) == name->len &&
             strncasecmp(nm, name->ptr, name->len) == 0) ||
            (al && strlen(al) == name->len &&
             strncasecmp(al, name->ptr, name->len) == 0))
            return (opts[i].flags & CONFIG_SENSITIVE) != 0;
    }
    return 0;
}

int conn_arg_is_secret(node_t *n, int argc, const resp_arg_t *argv, int i)
{
    if (i <= 0 || i >= argc) return 0;
    const cmd_spec_t *c = cmd_lookup(n, &argv[0]);
    if (!c) return 0;
    switch (c->id) {
    case CMD_AUTH:
        return argc <= 3; /* AUTH with more arguments fails unredacted */
    case CMD_HELLO:
        for (int j = 2; j < argc; j++) {
            int more = argc - 1 - j;
            if (arg_eq(&argv[j], "auth") && more >= 2) {
                if (i == j + 1 || i == j + 2) return 1;
                j += 2;
            } else if (arg_eq(&argv[j], "setname") && more) {
                j++;
            } else {
                break;
            }
        }
        return 0;
    case CMD_MIGRATE: /* the passwords of AUTH and AUTH2, as Redis */
        for (int j = 6; j < argc; j++) {
            int more = argc - 1 - j;
            if (arg_eq(&argv[j], "auth") && more >= 1) {
                if (i == j + 1) return 1;
                j++;
            } else if (arg_eq(&argv[j], "auth2") && more >= 2) {
                if (i == j + 1 || i == j + 2) return 1;
                j += 2;
            } else if (!arg_eq(&argv[j], "copy") &&
                       !arg_eq(&argv[j], "replace")) {
                break;
            }
        }
        return 0;
    case CMD_CONFIG:
        return argc >= 4 && arg_eq(&argv[1], "set") && i >= 3 &&
               (i - 3) % 2 == 0 && config_is_sensitive(n, &argv[i - 1]);
    default:
        return 0;
    }
}

/* ---- pause -------------------------------------------------------------- */

void conn_unpause_clients(node_t *n)
{
    size_t cnt = 0, k = 0;
    for (client_t *c = n->clients; c; c = c->next)
        if (c->flags & CLF_PAUSED) cnt++;
    if (cnt == 0) return;
    /* Ids, not pointers: a resumed command may kill other clients. */
    uint64_t *ids = ts_malloc(cnt * sizeof(*ids));
    for (client_t *c = n->clients; c && k < cnt; c = c->next)
        if (c->flags & CLF_PAUSED) ids[k++] = c->id;
    for (size_t i = 0; i < k; i++) {
        client_t *c = client_by_id(n, ids[i]);
        if (!c || !(c->flags & CLF_PAUSED) || (c->flags & CLF_IN_COMMAND))
            continue;
        client_process_input(c);
        client_flush(c);
    }
    ts_free(ids);
}

static void unpause_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    conn_unpause_clients(arg);
}

static void schedule_unpause(node_t *n)
{
    static const struct timeval now = {0, 0};
    if (!n->base || event_base_once(n->base, -1, EV_TIMEOUT, unpause_cb, n,
                                    &now) != 0)
        conn_unpause_clients(n);
}

/* ---- PING ECHO QUIT SELECT ---------------------------------------------- */

/* PING [message] */
static void cmd_ping(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    if (req->argc > 2) {
        reply_err_arity(r, "ping");
        return;
    }
    if ((ctx->client->flags & CLF_PUBSUB) && r->proto == 2) {
        /* RESP2 subscriber: [pong, message] (Redis's pingCommand) */
        reply_array(r, 2);
        reply_bulk(r, "pong", 4);
        if (req->argc == 1) reply_bulk(r, "", 0);
        else reply_bulk(r, req->argv[1].ptr, req->argv[1].len);
    } else if (req->argc == 1) reply_simple(r, "PONG");
    else reply_bulk(r, req->argv[1].ptr, req->argv[1].len);
}

/* ECHO message */
static void cmd_echo(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)ctx;
    reply_bulk(r, req->argv[1].ptr, req->argv[1].len);
}

/* QUIT */
static void cmd_quit(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    reply_ok(r);
    client_close_after_reply(ctx->client);
}

/* SELECT index */
static void cmd_select(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long id;
    if (!resp_str2ll(req->argv[1].ptr, req->argv[1].len, &id) ||
        id < INT_MIN || id > INT_MAX) {
        reply_err_notint(r);
        return;
    }
    if (ctx->node->cluster_enabled && id != 0) {
        reply_error(r, "ERR SELECT is not allowed in cluster mode");
        return;
    }
    /* Tessera has database 0 only (databases = 1). */
    if (id != 0) {
        reply_error(r, "ERR DB index is out of range");
        return;
    }
    reply_ok(r);
}

/* ---- AUTH HELLO ---------------------------------------------------------- */

/* AUTH [username] password */
static void cmd_auth(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    static const resp_arg_t def_user = {DEFAULT_USER, sizeof(DEFAULT_USER) - 1};
    const resp_arg_t *user, *pass;

    if (req->argc > 3) {
        reply_err_syntax(r);
        return;
    }
    if (req->argc == 2) {
        if (nopass(n)) {
            reply_error(r, "ERR AUTH <password> called without any password "
                           "configured for the default user. Are you sure "
                           "your configuration is correct?");
            return;
        }
        user = &def_user;
        pass = &req->argv[1];
    } else {
        user = &req->argv[1];
        pass = &req->argv[2];
    }
    if (!auth_ok(n, user, pass)) {
        reply_error(r, wrongpass_err);
        return;
    }
    ctx->client->authenticated = 1;
    reply_ok(r);
}

/* HELLO [protover [AUTH username password] [SETNAME clientname]] */
static void cmd_hello(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    client_t *c = ctx->client;
    const resp_arg_t *argv = req->argv;
    const resp_arg_t *name = NULL;
    long long ver = 0;
    int j = 1;

    if (req->argc >= 2) {
        if (arg_ll_msg(&argv[1], &ver, r,
                       "ERR Protocol version is not an integer or out of "
                       "range"))
            return;
        j = 2;
        if (ver < 2 || ver > 3) {
            reply_error(r, "NOPROTO unsupported protocol version");
            return;
        }
    }
    for (; j < req->argc; j++) {
        int more = req->argc - 1 - j;
        if (arg_eq(&argv[j], "auth") && more >= 2) {
            /* As Redis 7.0: authenticated on the spot, so a later bad
             * option fails the command but leaves the client logged in. */
            if (!auth_ok(n, &argv[j + 1], &argv[j + 2])) {
                reply_error(r, wrongpass_err);
                return;
            }
            c->authenticated = 1;
            j += 2;
        } else if (arg_eq(&argv[j], "setname") && more) {
            name = &argv[j + 1];
            if (!name_valid(name)) {
                reply_error(r, name_err);
                return;
            }
            j++;
        } else {
            reply_errorf(r, "ERR Syntax error in HELLO option '%.*s'",
                         qlen(&argv[j]), argv[j].ptr);
            return;
        }
    }
    if (!c->authenticated) {
        reply_error(r, "NOAUTH HELLO must be called with the client already "
                       "authenticated, otherwise the HELLO AUTH <user> "
                       "<pass> option can be used to authenticate the client "
                       "and select the RESP protocol version at the same "
                       "time");
        return;
    }
    if (name) set_name(c, name);
    if (ver) {
        c->proto = (int)ver;
        r->proto = (int)ver; /* this reply already speaks the new protocol */
    }
    reply_map(r, 7);
    reply_bulk_str(r, "server");
    reply_bulk_str(r, "redis");
    reply_bulk_str(r, "version");
    reply_bulk_str(r, NODE_VERSION);
    reply_bulk_str(r, "proto");
    reply_int(r, c->proto);
    reply_bulk_str(r, "id");
    reply_int(r, (long long)c->id);
    reply_bulk_str(r, "mode");
    reply_bulk_str(r, n->cluster_enabled ? "cluster" : "standalone");
    reply_bulk_str(r, "role");
    reply_bulk_str(r, "master");
    reply_bulk_str(r, "modules");
    reply_array(r, 0);
}

/* ---- CLIENT ---------------------------------------------------------------- */

/* CLIENT ID */
static void cmd_client_id(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    reply_int(r, (long long)ctx->client->id);
}

/* CLIENT SETNAME connection-name */
static void cmd_client_setname(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    if (!name_valid(&req->argv[2])) {
        reply_error(r, name_err);
        return;
    }
    set_name(ctx->client, &req->argv[2]);
    reply_ok(r);
}

/* CLIENT GETNAME */
static void cmd_client_getname(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    if (ctx->client->name) reply_bulk_str(r, ctx->client->name);
    else reply_null(r);
}

/* CLIENT INFO */
static void cmd_client_info(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    buf_t out;
    buf_init(&out);
    append_info(&out, ctx->client);
    reply_text(r, &out);
    buf_deinit(&out);
}

/* CLIENT LIST [TYPE NORMAL|MASTER|REPLICA|PUBSUB] [ID client-id ...] */
static void cmd_client_list(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    const resp_arg_t *argv = req->argv;
    int type = -1;
    buf_t out;

    if (req->argc == 4 && arg_eq(&argv[2], "type")) {
        type = client_type_by_name(&argv[3]);
        if (type < 0) {
            reply_errorf(r, "ERR Unknown client type '%.*s'", qlen(&argv[3]),
                         argv[3].ptr);
            return;
        }
    } else if (req->argc > 3 && arg_eq(&argv[2], "id")) {
        for (int j = 3; j < req->argc; j++) {
            long long id;
            if (!resp_str2ll(argv[j].ptr, argv[j].len, &id)) {
                reply_error(r, "ERR Invalid client ID");
                return;
            }
        }
        buf_init(&out);
        for (int j = 3; j < req->argc; j++) {
            long long id;
            resp_str2ll(argv[j].ptr, argv[j].len, &id);
            client_t *c = client_by_id(n, (uint64_t)id);
            if (c) append_info(&out, c);
        }
        goto send;
    } else if (req->argc != 2) {
        reply_err_syntax(r);
        return;
    }
    buf_init(&out);
    for (client_t *c = oldest_client(n); c; c = c->prev)
        if (type < 0 || client_type(c) == type) append_info(&out, c);
send:
    reply_text(r, &out);
    buf_deinit(&out);
}

/* What CLIENT KILL matches (NULL / -1 / 0: any). */
typedef struct kill_filter {
    const resp_arg_t *addr, *laddr;
    int type;
    uint64_t id;
    int skipme;
} kill_filter_t;

static int kill_matches(const kill_filter_t *f, client_t *c, client_t *me)
{
    if (f->addr && !arg_is(f->addr, c->addr)) return 0;
    if (f->laddr && !arg_is(f->laddr, c->laddr)) return 0;
    if (f->type >= 0 && client_type(c) != f->type) return 0;
    if (f->id && c->id != f->id) return 0;
    if (c == me && f->skipme) return 0;
    return 1;
}

/* Parse the new form's <option> <value> pairs; 0 or -1 (replied). */
static int kill_parse(const req_t *req, kill_filter_t *f, reply_t *r)
{
    const resp_arg_t *argv = req->argv;
    for (int i = 2; i < req->argc; i += 2) {
        int more = req->argc > i + 1;
        const resp_arg_t *v = &argv[i + 1];
        if (arg_eq(&argv[i], "id") && more) {
            long long id;
            if (!resp_str2ll(v->ptr, v->len, &id) || id < 1) {
                reply_error(r, "ERR client-id should be greater than 0");
                return -1;
            }
            f->id = (uint64_t)id;
        } else if (arg_eq(&argv[i], "type") && more) {
            f->type = client_type_by_name(v);
            if (f->type < 0) {
                reply_errorf(r, "ERR Unknown client type '%.*s'", qlen(v),
                             v->ptr);
                return -1;
            }
        } else if (arg_eq(&argv[i], "addr") && more) {
            f->addr = v;
        } else if (arg_eq(&argv[i], "laddr") && more) {
            f->laddr = v;
        } else if (arg_eq(&argv[i], "user") && more) {
            if (!arg_is(v, DEFAULT_USER)) {
                reply_errorf(r, "ERR No such user '%.*s'", qlen(v), v->ptr);
                return -1;
            }
            /* every client is authenticated as "default" */
        } else if (arg_eq(&argv[i], "skipme") && more) {
            if (arg_eq(v, "yes")) {
                f->skipme = 1;
            } else if (arg_eq(v, "no")) {
                f->skipme = 0;
            } else {
                reply_err_syntax(r);
                return -1;
            }
        } else {
            reply_err_syntax(r);
            return -1;
        }
    }
    return 0;
}

/* CLIENT KILL ip:port | CLIENT KILL <option> <value> [<option> <value> ...] */
static void cmd_client_kill(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    client_t *me = ctx->client;
    kill_filter_t f = {.type = -1, .skipme = 1};
    int old_form = req->argc == 3;
    long long killed = 0;
    int kill_me = 0;

    if (old_form) {
        f.addr = &req->argv[2];
        f.skipme = 0; /* with the old form you can kill yourself */
    } else if (kill_parse(req, &f, r) != 0) {
        return;
    }
    client_t *next;
    for (client_t *c = n->clients; c; c = next) {
        next = c->next;
        if (!kill_matches(&f, c, me)) continue;
        if (c == me) kill_me = 1;
        else client_free(c);
        killed++;
    }
    if (old_form) {
        if (killed == 0) reply_error(r, "ERR No such client");
        else reply_ok(r);
    } else {
        reply_int(r, killed);
    }
    /* after the reply was queued: it still goes out */
    if (kill_me) client_close_after_reply(me);
}

/* CLIENT PAUSE timeout [WRITE|ALL] */
static void cmd_client_pause(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    int writes_only = 0;
    long long ms;

    if (req->argc != 3 && req->argc != 4) {
        reply_err_subcommand(r, &req->argv[1], "CLIENT");
        return;
    }
    if (req->argc == 4) {
        if (arg_eq(&req->argv[3], "write")) {
            writes_only = 1;
        } else if (!arg_eq(&req->argv[3], "all")) {
            reply_error(r, "ERR CLIENT PAUSE mode must be WRITE or ALL");
            return;
        }
    }
    if (arg_ll_msg(&req->argv[2], &ms, r,
                   "ERR timeout is not an integer or out of range"))
        return;
    if (ms < 0) {
        reply_error(r, "ERR timeout is negative");
        return;
    }
    if (ms > 0 && ms > LLONG_MAX - ctx->now_ms) {
        reply_error(r, "ERR timeout is out of range");
        return;
    }
    long long end = ms > 0 ? ctx->now_ms + ms : 0;
    if (n->pause_end_ms && ctx->now_ms < n->pause_end_ms) {
        /* A pause is running: the stricter mode and the later end win. */
        if (!writes_only) n->pause_writes_only = 0;
        if (end > n->pause_end_ms) n->pause_end_ms = end;
    } else {
        n->pause_end_ms = end;
        n->pause_writes_only = writes_only;
    }
    reply_ok(r);
}

/* CLIENT UNPAUSE */
static void cmd_client_unpause(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    node_t *n = ctx->node;
    n->pause_end_ms = 0;
    n->pause_writes_only = 0;
    schedule_unpause(n);
    reply_ok(r);
}

/* CLIENT REPLY ON|OFF|SKIP */
static void cmd_client_reply(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    client_t *c = ctx->client;
    const resp_arg_t *a = &req->argv[2];
    if (arg_eq(a, "on")) {
        c->flags &= ~(CLF_REPLY_SKIP | CLF_REPLY_OFF);
        reply_ok(r);
    } else if (arg_eq(a, "off")) {
        c->flags |= CLF_REPLY_OFF; /* no reply: cmd.c drops output now */
    } else if (arg_eq(a, "skip")) {
        if (!(c->flags & CLF_REPLY_OFF)) c->flags |= CLF_REPLY_SKIP_NEXT;
    } else {
        reply_err_syntax(r);
    }
}

/* CLIENT NO-EVICT ON|OFF */
static void cmd_client_no_evict(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    client_t *c = ctx->client;
    if (arg_eq(&req->argv[2], "on")) {
        c->flags |= CLF_NO_EVICT;
        reply_ok(r);
    } else if (arg_eq(&req->argv[2], "off")) {
        c->flags &= ~CLF_NO_EVICT;
        reply_ok(r);
    } else {
        reply_err_syntax(r);
    }
}

/* Redis 7.0's CLIENT HELP, verbatim (it lists subcommands Tessera does not
 * have yet: CACHING, GETREDIR, TRACKING, TRACKINGINFO, UNBLOCK). */
static const char *const client_help[] = {
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
    NULL,
};

/* CLIENT HELP */
static void cmd_client_help(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)ctx;
    (void)req;
    reply_help(r, client_help);
}

/*
 * RESET: the connection as it was right after connecting (Redis's
 * clearClientConnectionState): out of MONITOR, replies on, transaction
 * discarded and keys unwatched, subscriptions dropped, RESP2, no name,
 * not authenticated when a password is set, NO-EVICT off, READONLY and
 * ASKING (cluster) off, and Tessera's MULTISLOT off.
 */
static void cmd_reset(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    client_t *c = ctx->client;
    node_t *n = ctx->node;
    monitor_remove(n, c);
    c->flags &= ~(CLF_REPLY_OFF | CLF_REPLY_SKIP | CLF_REPLY_SKIP_NEXT |
                  CLF_NO_EVICT | CLF_ASKING | CLF_READONLY | CLF_MULTISLOT);
    multi_client_free(c);
    pubsub_client_reset(c);
    c->proto = 2;
    r->proto = 2;
    ts_free(c->name);
    c->name = NULL;
    c->authenticated = n->requirepass == NULL || n->requirepass[0] == '\0';
    reply_simple(r, "RESET");
}

const cmd_bind_t conn_cmds[] = {
    {CMD_RESET, cmd_reset},
    {CMD_PING, cmd_ping},
    {CMD_ECHO, cmd_echo},
    {CMD_QUIT, cmd_quit},
    {CMD_AUTH, cmd_auth},
    {CMD_SELECT, cmd_select},
    {CMD_HELLO, cmd_hello},
    {CMD_CLIENT_ID, cmd_client_id},
    {CMD_CLIENT_INFO, cmd_client_info},
    {CMD_CLIENT_LIST, cmd_client_list},
    {CMD_CLIENT_KILL, cmd_client_kill},
    {CMD_CLIENT_SETNAME, cmd_client_setname},
    {CMD_CLIENT_GETNAME, cmd_client_getname},
    {CMD_CLIENT_PAUSE, cmd_client_pause},
    {CMD_CLIENT_UNPAUSE, cmd_client_unpause},
    {CMD_CLIENT_REPLY, cmd_client_reply},
    {CMD_CLIENT_NO_EVICT, cmd_client_no_evict},
    {CMD_CLIENT_HELP, cmd_client_help},
    {CMD__COUNT, NULL},
};
