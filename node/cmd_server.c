/*
 * cmd_server.c: the server commands: INFO, TIME, LASTSAVE, SHUTDOWN,
 * MONITOR, DEBUG, CONFIG, COMMAND and SLOWLOG.
 *
 * Replies follow Redis 7.0 byte for byte where clients parse them:
 * COMMAND INFO's ten-field entries (redis-py and cluster clients read the
 * key positions from them), COMMAND DOCS's maps (redis-cli's hints),
 * CONFIG GET's map, the error texts of CONFIG SET.  Everything COMMAND
 * says comes from the one command table (cmdtab.h), so it cannot drift
 * from what the node executes: a command without a bound handler is not
 * listed, exactly as it is not executable.
 *
 * CONFIG SET with several parameters is atomic as in Redis 7: names are
 * checked first (unknown, immutable, duplicate), then the values are set
 * one by one through config_set, and if one fails the ones already set get
 * their previous values back.
 *
 * SHUTDOWN saves an RDB first as Redis 7.0 does (SAVE, or save points
 * configured and no NOSAVE; persist/rdb.c), and keeps running with an
 * error if that fails, unless FORCE.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alloc.h"
#include "client.h"
#include "cmd.h"
#include "config.h"
#include "db.h"
#include "glob.h"
#include "info.h"
#include "log.h"
#include "monitor.h"
#include "rdb.h"
#include "server.h"
#include "slowlog.h"

#define CONFIG_TEXT_MAX 8192    /* one option's value as text */
#define MAX_SUBCOMMANDS 64
#define MAX_CATEGORIES 32
#define SHARED_INTEGERS 10000   /* Redis shares the integers 0..9999 */
#define SHARED_REFCOUNT 2147483647LL
#define LRU_CLOCK_MAX ((1u << 24) - 1)

/* ---- helpers ------------------------------------------------------------ */

/* NUL-terminated copy of an argument (ts_free it). */
static char *arg_dup(const resp_arg_t *a)
{
    return ts_strndup(a->ptr, a->len);
}

/* ---- INFO TIME LASTSAVE -------------------------------------------------- */

/* INFO [section [section ...]] */
static void cmd_info(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    buf_t out;
    buf_init(&out);
    info_generate(ctx->node, req->argc - 1, req->argv + 1, &out);
    reply_text(r, &out);
    buf_deinit(&out);
}

/* TIME */
static void cmd_time(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)ctx;
    (void)req;
    long long us = node_unix_us();
    reply_array(r, 2);
    reply_bulk_ll(r, us / 1000000);
    reply_bulk_ll(r, us % 1000000);
}

/* LASTSAVE */
static void cmd_lastsave(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    reply_int(r, ctx->node->lastsave);
}

/* ---- SHUTDOWN MONITOR ---------------------------------------------------- */

/* SHUTDOWN [NOSAVE|SAVE] [NOW] [FORCE] [ABORT] */
static void cmd_shutdown(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    int nosave = 0, save = 0, now = 0, force = 0, abort_ = 0;
    for (int i = 1; i < req->argc; i++) {
        const resp_arg_t *a = &req->argv[i];
        if (arg_eq(a, "nosave")) nosave = 1;
        else if (arg_eq(a, "save")) save = 1;
        else if (arg_eq(a, "now")) now = 1;
        else if (arg_eq(a, "force")) force = 1;
        else if (arg_eq(a, "abort")) abort_ = 1;
        else {
            reply_err_syntax(r);
            return;
        }
    }
    if ((abort_ && (nosave || save || now || force)) || (nosave && save)) {
        reply_err_syntax(r);
        return;
    }
    if (abort_) {
        /* Shutdowns never wait for replicas here, so none is pending. */
        reply_error(r, "ERR No shutdown in progress.");
        return;
    }
    /* prepareForShutdown: save when asked or when there are save points */
    if (rdb_shutdown_save(ctx->node, save, nosave) != 0) {
        if (!force) {
            log_msg(LL_WARNING, "Errors trying to shut down the server. "
                                "Check the logs for more information.");
            reply_error(r, "ERR Errors trying to SHUTDOWN. Check logs.");
            return;
        }
        log_msg(LL_WARNING, "Error trying to save the DB. Exit anyway.");
    }
    log_msg(LL_WARNING, "User requested shutdown...");
    /* No reply: the connection closes, as with Redis. */
    client_close_after_reply(ctx->client);
    server_request_shutdown(ctx->node, 0);
}

/* MONITOR */
static void cmd_monitor(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    if (ctx->client->flags & CLF_DENY_BLOCKING) {   /* inside EXEC */
        reply_error(r, "ERR MONITOR isn't allowed for DENY BLOCKING client");
        return;
    }
    if (ctx->client->flags & CLF_MONITOR) return; /* Redis: no reply */
    monitor_add(ctx->node, ctx->client);
    reply_ok(r);
}

/* ---- DEBUG --------------------------------------------------------------- */

/* DEBUG OBJECT key */
static void debug_object(cmdctx_t *ctx, const resp_arg_t *key, reply_t *r)
{
    /* Redis looks the key up without expiring it. */
    kentry_t *e = ks_find(ctx->ks, key->ptr, key->len);
    if (!e) {
        reply_error(r, "ERR no such key");
        return;
    }
    int is_str = ke_type(e) == KT_STRING;
    const char *enc = "unknown";
    long long refcount = 1;
    size_t serlen = 0;
    if (is_str) {
        enc = ke_enc(e) == KE_INT ? "int"
              : ke_enc(e) == KE_EMBSTR ? "embstr"
                                       : "raw";
        if (ke_enc(e) == KE_INT && ke_int(e) >= 0 &&
            ke_int(e) < SHARED_INTEGERS)
            refcount = SHARED_REFCOUNT;
    }
    serlen = rdb_serialized_len(ctx->node, e); /* as rdbSavedObjectLen */
    unsigned now = (unsigned)((ctx->now_ms / 1000) & LRU_CLOCK_MAX);
    unsigned lru = ke_lru(e);
    unsigned long long idle = now >= lru ? now - lru
                                         : now + (LRU_CLOCK_MAX - lru);
    char line[256];
    snprintf(line, sizeof(line),
             "Value at:%p refcount:%lld encoding:%s serializedlength:%zu "
             "lru:%u lru_seconds_idle:%llu",
             (void *)e, refcount, enc, serlen, lru, idle);
    reply_simple(r, line);
}

/* DEBUG POPULATE count [prefix] [size] */
static void debug_populate(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const char *positive = "ERR value is out of range, must be positive";
    long long count, valsize = 0;
    if (arg_ll_msg(&req->argv[2], &count, r, positive)) return;
    if (count < 0) {
        reply_error(r, positive);
        return;
    }
    if (req->argc == 5) {
        if (arg_ll_msg(&req->argv[4], &valsize, r, positive)) return;
        if (valsize < 0) {
            reply_error(r, positive);
            return;
        }
    }
    char *prefix = req->argc >= 4 ? arg_dup(&req->argv[3]) : ts_strdup("key");
    char *val = NULL;
    if (valsize > 0 && !(val = ts_try_malloc((size_t)valsize))) {
        ts_free(prefix);
        reply_error(r, "ERR OOM in DEBUG POPULATE");
        return;
    }
    for (long long j = 0; j < count; j++) {
        char kbuf[128], vbuf[128];
        /* As Redis: the key is cut to fit 128 bytes. */
        int kl = snprintf(kbuf, sizeof(kbuf), "%s:%lld", prefix, j);
        if (kl >= (int)sizeof(kbuf)) kl = (int)sizeof(kbuf) - 1;
        resp_arg_t key = {kbuf, (size_t)kl};
        if (db_lookup_write(ctx, &key)) continue; /* never overwrite */
        int vl = snprintf(vbuf, sizeof(vbuf), "value:%lld", j);
        /* the keyspace stamps the policy's LRU/LFU clock on new keys */
        if (valsize == 0) {
            ks_set_str(ctx->ks, kbuf, (size_t)kl, vbuf, (size_t)vl, 0);
        } else {
            memset(val, 0, (size_t)valsize);
            memcpy(val, vbuf, (size_t)(valsize < vl ? valsize : vl));
            ks_set_str(ctx->ks, kbuf, (size_t)kl, val, (size_t)valsize, 0);
        }
    }
    ts_free(val);
    ts_free(prefix);
    reply_ok(r);
}

/* DEBUG SLEEP seconds (a float; 0 or garbage sleeps not at all) */
static void debug_sleep(const resp_arg_t *a, reply_t *r)
{
    char *s = arg_dup(a);
    double secs = strtod(s, NULL);
    ts_free(s);
    long long us = (long long)(secs * 1000000);
    if (us > 0) {
        struct timespec ts = {.tv_sec = (time_t)(us / 1000000),
                              .tv_nsec = (long)(us % 1000000) * 1000};
        nanosleep(&ts, NULL);
    }
    reply_ok(r);
}

/* Only the subcommands Tessera has, in Redis's words. */
static const char *const debug_help[] = {
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "RELOAD [NOSAVE]",
    "    Save the RDB on disk and reload it back to memory. With NOSAVE the",
    "    database is loaded from the existing RDB file.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "HELP",
    "    Prints this help.",
    NULL,
};

/* DEBUG SLEEP|SET-ACTIVE-EXPIRE|OBJECT|POPULATE|CHANGE-REPL-ID|HELP ... */
static void cmd_debug(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *sub = &req->argv[1];
    int argc = req->argc;
    if (arg_eq(sub, "help") && argc == 2) {
        reply_help(r, debug_help);
    } else if (arg_eq(sub, "sleep") && argc == 3) {
        debug_sleep(&req->argv[2], r);
    } else if (arg_eq(sub, "set-active-expire") && argc == 3) {
        char *s = arg_dup(&req->argv[2]);
        ctx->node->active_expire_enabled = atoi(s); /* as Redis: atoi */
        ts_free(s);
        reply_ok(r);
    } else if (arg_eq(sub, "object") && argc == 3) {
        debug_object(ctx, &req->argv[2], r);
    } else if (arg_eq(sub, "populate") && argc >= 3 && argc <= 5) {
        debug_populate(ctx, req, r);
    } else if (arg_eq(sub, "reload") &&
               (argc == 2 || (argc == 3 && arg_eq(&req->argv[2], "nosave")))) {
        int rc = rdb_debug_reload(ctx->node, argc == 2);
        if (rc == 0) reply_ok(r);
        else if (rc == -1) reply_error(r, "ERR");
        else reply_error(r, "ERR Error trying to load the RDB dump, check "
                            "server logs.");
    } else if (arg_eq(sub, "change-repl-id") && argc == 2) {
        /* No replication yet: there is no replication id to change. */
        reply_ok(r);
    } else {
        reply_err_subcommand(r, sub, "DEBUG");
    }
}

/* ---- CONFIG -------------------------------------------------------------- */

typedef struct kv {
    char *k, *v;
} kv_t;

typedef struct kv_list {
    kv_t *items;
    size_t n, cap;
} kv_list_t;

/* A parameter matched by several patterns is listed once (Redis keeps the
 * matches in a case-insensitive dict). */
static void kv_add(void *arg, const char *name, const char *value)
{
    kv_list_t *l = arg;
    for (size_t i = 0; i < l->n; i++)
        if (strcasecmp(l->items[i].k, name) == 0) return;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->items = ts_realloc(l->items, l->cap * sizeof(kv_t));
    }
    l->items[l->n].k = ts_strdup(name);
    l->items[l->n].v = ts_strdup(value ? value : "");
    l->n++;
}

/* CONFIG GET parameter [parameter ...] */
static void cmd_config_get(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kv_list_t l = {NULL, 0, 0};
    for (int i = 2; i < req->argc && ctx->node->config; i++) {
        char *pat = arg_dup(&req->argv[i]);
        config_get_matching(ctx->node->config, pat, kv_add, &l);
        ts_free(pat);
    }
    reply_map(r, (long long)l.n);
    for (size_t i = 0; i < l.n; i++) {
        reply_bulk_str(r, l.items[i].k);
        reply_bulk_str(r, l.items[i].v);
        ts_free(l.items[i].k);
        ts_free(l.items[i].v);
    }
    ts_free(l.items);
}

static const config_opt_t *find_opt(node_t *n, const char *name)
{
    if (!n->config) return NULL;
    size_t cnt;
    const config_opt_t *opts = config_opts(n->config, &cnt);
    for (size_t i = 0; i < cnt; i++)
        if (strcasecmp(opts[i].name, name) == 0 ||
            (opts[i].alias && strcasecmp(opts[i].alias, name) == 0))
            return &opts[i];
    return NULL;
}

/* Check every name before changing anything; NULL or the error text
 * (written to err). */
static const char *config_set_check(node_t *n, int npairs, char **names,
                                    const config_opt_t **opts, char *err,
                                    size_t errsz)
{
    for (int i = 0; i < npairs; i++) {
        opts[i] = find_opt(n, names[i]);
        if (!opts[i]) {
            snprintf(err, errsz,
                     "ERR Unknown option or number of arguments for CONFIG "
                     "SET - '%s'",
                     names[i]);
            return err;
        }
        const char *why = NULL;
        if (opts[i]->flags & CONFIG_IMMUTABLE) why = "can't set immutable config";
        for (int j = 0; j < i && !why; j++)
            if (opts[j] == opts[i]) why = "duplicate parameter";
        if (why) {
            snprintf(err, errsz,
                     "ERR CONFIG SET failed (possibly related to argument "
                     "'%s') - %s",
                     names[i], why);
            return err;
        }
    }
    return NULL;
}

/* CONFIG SET parameter value [parameter value ...] */
static void cmd_config_set(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    if (req->argc % 2 != 0) {
        reply_err_syntax(r);
        return;
    }
    int npairs = (req->argc - 2) / 2;
    char **names = ts_calloc((size_t)npairs, sizeof(char *));
    char **vals = ts_calloc((size_t)npairs, sizeof(char *));
    char **old = ts_calloc((size_t)npairs, sizeof(char *));
    const config_opt_t **opts = ts_calloc((size_t)npairs, sizeof(*opts));
    char err[1024];
    for (int i = 0; i < npairs; i++) {
        names[i] = arg_dup(&req->argv[2 + 2 * i]);
        vals[i] = arg_dup(&req->argv[3 + 2 * i]);
    }
    if (config_set_check(n, npairs, names, opts, err, sizeof(err))) {
        reply_error(r, err);
        goto out;
    }
    char *text = ts_malloc(CONFIG_TEXT_MAX);
    for (int i = 0; i < npairs; i++) {
        const char *v = config_get_value(n->config, opts[i]->name, text,
                                         CONFIG_TEXT_MAX);
        old[i] = ts_strdup(v ? v : "");
    }
    ts_free(text);
    for (int i = 0; i < npairs; i++) {
        const char *e = config_set(n->config, names[i], 1, &vals[i], 1);
        if (!e) continue;
        /* Copy first: restoring reuses the config's error buffer. */
        snprintf(err, sizeof(err), "%s", e);
        for (int j = 0; j < i; j++) {
            const char *again = config_set(n->config, opts[j]->name, 1,
                                           &old[j], 1);
            if (again)
                log_msg(LL_WARNING,
                        "Failed restoring failed CONFIG SET command: %s",
                        again);
        }
        reply_error(r, err);
        goto out;
    }
    reply_ok(r);
out:
    for (int i = 0; i < npairs; i++) {
        ts_free(names[i]);
        ts_free(vals[i]);
        ts_free(old[i]);
    }
    ts_free(names);
    ts_free(vals);
    ts_free(old);
    ts_free(opts);
}

/* CONFIG RESETSTAT */
static void cmd_config_resetstat(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    server_reset_stats(ctx->node);
    info_reset_peak();
    reply_ok(r);
}

/* CONFIG REWRITE */
static void cmd_config_rewrite(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    config_t *c = ctx->node->config;
    const char *err = c ? config_rewrite(c, config_file_path(c))
                        : "ERR The server is running without a config file";
    if (err) reply_error(r, err);
    else reply_ok(r);
}

static const char *const config_help[] = {
    "CONFIG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET <pattern>",
    "    Return parameters matching the glob-like <pattern> and their values.",
    "SET <directive> <value>",
    "    Set the configuration <directive> to <value>.",
    "RESETSTAT",
    "    Reset statistics reported by the INFO command.",
    "REWRITE",
    "    Rewrite the configuration file.",
    "HELP",
    "    Prints this help.",
    NULL,
};

/* CONFIG HELP */
static void cmd_config_help(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)ctx;
    (void)req;
    reply_help(r, config_help);
}

/* ---- COMMAND ------------------------------------------------------------- */

/* Redis 7.0's COMMAND INFO flags, in its order; may_replicate and
 * protected are hidden on purpose, as in Redis. */
static const uint32_t shown_flags[] = {
    CF_WRITE,     CF_READONLY,          CF_DENYOOM,  CF_ADMIN,
    CF_PUBSUB,    CF_NOSCRIPT,          CF_BLOCKING, CF_LOADING,
    CF_STALE,     CF_SKIP_MONITOR,      CF_SKIP_SLOWLOG, CF_ASKING,
    CF_FAST,
    CF_NO_AUTH,   CF_NO_MANDATORY_KEYS, CF_NO_ASYNC_LOADING, CF_NO_MULTI,
    CF_MOVABLEKEYS,
    CF_ALLOW_BUSY,
};
#define NSHOWN (sizeof(shown_flags) / sizeof(shown_flags[0]))

/* Redis's ACL category order (ACLCommandCategories). */
static const char *const category_order[] = {
    "@keyspace", "@read",     "@write",  "@set",        "@sortedset",
    "@list",     "@hash",     "@string", "@bitmap",     "@hyperloglog",
    "@geo",      "@stream",   "@pubsub", "@admin",      "@fast",
    "@slow",     "@blocking", "@dangerous", "@connection", "@transaction",
    "@scripting", NULL,
};

static int category_rank(const char *cat)
{
    int i;
    for (i = 0; category_order[i]; i++)
        if (strcmp(category_order[i], cat) == 0) return i;
    return i;
}

static unsigned flag_index(uint32_t mask)
{
    unsigned i = 0;
    while (mask > 1) {
        mask >>= 1;
        i++;
    }
    return i;
}

/* Is c executable here: bound (or a container with a bound subcommand)
 * and not disabled by rename-command? */
static int cmd_available(node_t *n, const cmd_spec_t *c)
{
    const cmd_spec_t *top = c->parent ? c->parent : c;
    if (n->renamed[top->id] && n->renamed[top->id][0] == '\0') return 0;
    if (cmd_handler(c->id)) return 1;
    if (!(c->flags & CF_CONTAINER)) return 0;
    const cmd_spec_t *subs[MAX_SUBCOMMANDS];
    size_t k = cmdtab_subcommands(c, subs, MAX_SUBCOMMANDS);
    for (size_t i = 0; i < k && i < MAX_SUBCOMMANDS; i++)
        if (cmd_handler(subs[i]->id)) return 1;
    return 0;
}

/* Available subcommands of c; returns how many were written. */
static size_t available_subs(node_t *n, const cmd_spec_t *c,
                             const cmd_spec_t **out)
{
    if (!(c->flags & CF_CONTAINER)) return 0;
    const cmd_spec_t *subs[MAX_SUBCOMMANDS];
    size_t k = cmdtab_subcommands(c, subs, MAX_SUBCOMMANDS), m = 0;
    for (size_t i = 0; i < k && i < MAX_SUBCOMMANDS; i++)
        if (cmd_available(n, subs[i])) out[m++] = subs[i];
    return m;
}

/* "get" or "config|get" (case-insensitive), honouring rename-command for
 * the top-level name; NULL if unknown or not available. */
static const cmd_spec_t *find_by_fullname(node_t *n, const resp_arg_t *a)
{
    const char *bar = memchr(a->ptr, '|', a->len);
    resp_arg_t top = {a->ptr, bar ? (size_t)(bar - a->ptr) : a->len};
    const cmd_spec_t *c = cmd_lookup(n, &top);
    if (!c) return NULL;
    if (bar) {
        const char *sub = bar + 1;
        size_t sublen = a->len - top.len - 1;
        if (!(c->flags & CF_CONTAINER) || memchr(sub, '|', sublen))
            return NULL;
        c = cmdtab_lookup_sub(c, sub, sublen);
        if (!c) return NULL;
    }
    return cmd_available(n, c) ? c : NULL;
}

static void reply_flags(reply_t *r, uint32_t flags)
{
    size_t cnt = 0;
    for (size_t i = 0; i < NSHOWN; i++)
        if (flags & shown_flags[i]) cnt++;
    reply_set(r, (long long)cnt);
    for (size_t i = 0; i < NSHOWN; i++)
        if (flags & shown_flags[i])
            reply_simple(r, cmdtab_flag_name(flag_index(shown_flags[i])));
}

static size_t sorted_categories(const cmd_spec_t *c, const char **cats)
{
    size_t k = cmdtab_acl_categories(c, cats, MAX_CATEGORIES);
    if (k > MAX_CATEGORIES) k = MAX_CATEGORIES;
    for (size_t i = 1; i < k; i++) /* insertion sort into Redis's order */
        for (size_t j = i; j > 0 && category_rank(cats[j - 1]) >
                                        category_rank(cats[j]); j--) {
            const char *t = cats[j];
            cats[j] = cats[j - 1];
            cats[j - 1] = t;
        }
    return k;
}

static void reply_categories(reply_t *r, const cmd_spec_t *c)
{
    const char *cats[MAX_CATEGORIES];
    size_t k = sorted_categories(c, cats);
    reply_set(r, (long long)k);
    for (size_t i = 0; i < k; i++) reply_simple(r, cats[i]);
}

/* count values kept back to back as RESP3 bytes, Redis's own sections of
 * COMMAND INFO and DOCS (command_info.def, command_docs.def): as is in
 * RESP3, converted for RESP2 (maps become flat arrays, sets arrays). */
static void reply_resp3_values(reply_t *r, const char *bytes, size_t len,
                               size_t count)
{
    if (r->proto >= 3) {
        buf_append(r->out, bytes, len);
        return;
    }
    for (size_t i = 0, off = 0; i < count; i++) {
        resp_value_t *v = NULL;
        size_t used;
        const char *err;
        if (resp_parse_value(bytes + off, len - off, &v, &used, &err) !=
            TS_OK) {
            reply_null(r);  /* cannot happen: the bytes are Redis's */
            off = len;
            continue;
        }
        reply_value(r, v);
        resp_value_free(v);
        off += used;
    }
}

/*
 * One key spec built from the legacy (first, last, step) triple, laid out
 * as Redis 7.0 lays out a range spec:
 *   flags, begin_search {type index, spec {index}},
 *   find_keys {type range, spec {lastkey, keystep, limit}}
 */
static void reply_key_specs(reply_t *r, const cmd_spec_t *c)
{
    if (c->first_key <= 0) {
        reply_set(r, 0);
        return;
    }
    reply_set(r, 1);
    reply_map(r, 3);
    reply_bulk_str(r, "flags");
    reply_set(r, c->id == CMD_WATCH ? 1 : 2);
    if (c->flags & CF_WRITE) {
        reply_simple(r, "RW");
        reply_simple(r, "update");
    } else if (c->id == CMD_WATCH) {
        reply_simple(r, "RO");      /* Redis 7.0: no access flag */
    } else {
        reply_simple(r, "RO");
        reply_simple(r, "access");
    }
    reply_bulk_str(r, "begin_search");
    reply_map(r, 2);
    reply_bulk_str(r, "type");
    reply_bulk_str(r, "index");
    reply_bulk_str(r, "spec");
    reply_map(r, 1);
    reply_bulk_str(r, "index");
    reply_int(r, c->first_key);
    reply_bulk_str(r, "find_keys");
    reply_map(r, 2);
    reply_bulk_str(r, "type");
    reply_bulk_str(r, "range");
    reply_bulk_str(r, "spec");
    reply_map(r, 3);
    reply_bulk_str(r, "lastkey");
    reply_int(r, c->last_key < 0 ? c->last_key : c->last_key - c->first_key);
    reply_bulk_str(r, "keystep");
    reply_int(r, c->key_step);
    reply_bulk_str(r, "limit");
    reply_int(r, 0);
}

/* COMMAND INFO's ten fields for c (subcommands nested). */
static void reply_command_info(node_t *n, reply_t *r, const cmd_spec_t *c)
{
    reply_array(r, 10);
    reply_bulk_str(r, c->name);
    reply_int(r, c->arity);
    reply_flags(r, c->flags);
    reply_int(r, c->first_key);
    reply_int(r, c->last_key);
    reply_int(r, c->key_step);
    reply_categories(r, c);
    if (c->tips_resp3) reply_resp3_values(r, c->tips_resp3, c->tips_len, 1);
    else reply_set(r, 0);
    if (c->key_specs_resp3)
        reply_resp3_values(r, c->key_specs_resp3, c->key_specs_len, 1);
    else reply_key_specs(r, c);
    if (!(c->flags & CF_CONTAINER)) {
        reply_set(r, 0);
        return;
    }
    const cmd_spec_t *subs[MAX_SUBCOMMANDS];
    size_t k = available_subs(n, c, subs);
    reply_array(r, (long long)k);
    for (size_t i = 0; i < k; i++) reply_command_info(n, r, subs[i]);
}

/* COMMAND DOCS's map for c: summary, since, group, complexity,
 * [doc_flags, deprecated_since, replaced_by, history,] arguments
 * [, subcommands]. */
static void reply_command_docs(node_t *n, reply_t *r, const cmd_spec_t *c)
{
    int container = (c->flags & CF_CONTAINER) != 0;
    int cx = c->complexity && c->complexity[0];
    int args = c->args_resp3 != NULL;
    reply_map(r, 3 + cx + (long long)c->docs_pairs + args + container);
    reply_bulk_str(r, "summary");
    reply_bulk_str(r, c->summary);
    reply_bulk_str(r, "since");
    reply_bulk_str(r, c->since);
    reply_bulk_str(r, "group");
    reply_bulk_str(r, c->group);
    if (cx) {
        reply_bulk_str(r, "complexity");
        reply_bulk_str(r, c->complexity);
    }
    if (c->docs_pairs)
        reply_resp3_values(r, c->docs_resp3, c->docs_len, 2 * c->docs_pairs);
    if (args) {
        reply_bulk_str(r, "arguments");
        reply_resp3_values(r, c->args_resp3, c->args_len, 1);
    }
    if (!container) return;
    const cmd_spec_t *subs[MAX_SUBCOMMANDS];
    size_t k = available_subs(n, c, subs);
    reply_bulk_str(r, "subcommands");
    reply_map(r, (long long)k);
    for (size_t i = 0; i < k; i++) {
        reply_bulk_str(r, subs[i]->name);
        reply_command_docs(n, r, subs[i]);
    }
}

/* Top-level available commands, in table order; returns the count. */
static size_t top_commands(node_t *n, const cmd_spec_t **out)
{
    size_t k = 0;
    for (size_t i = 0; i < cmdtab_count(); i++) {
        const cmd_spec_t *c = cmdtab_get((cmd_id_t)i);
        if (!c->parent && cmd_available(n, c)) out[k++] = c;
    }
    return k;
}

static void reply_all_info(node_t *n, reply_t *r)
{
    const cmd_spec_t **all = ts_malloc(cmdtab_count() * sizeof(*all));
    size_t k = top_commands(n, all);
    reply_array(r, (long long)k);
    for (size_t i = 0; i < k; i++) reply_command_info(n, r, all[i]);
    ts_free(all);
}

/* COMMAND */
static void cmd_command(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    reply_all_info(ctx->node, r);
}

/* COMMAND COUNT */
static void cmd_command_count(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    const cmd_spec_t **all = ts_malloc(cmdtab_count() * sizeof(*all));
    reply_int(r, (long long)top_commands(ctx->node, all));
    ts_free(all);
}

/* COMMAND INFO [command-name ...] */
static void cmd_command_info(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    if (req->argc == 2) {
        reply_all_info(ctx->node, r);
        return;
    }
    reply_array(r, req->argc - 2);
    for (int i = 2; i < req->argc; i++) {
        const cmd_spec_t *c = find_by_fullname(ctx->node, &req->argv[i]);
        if (c) reply_command_info(ctx->node, r, c);
        else reply_null(r);
    }
}

/* COMMAND DOCS [command-name ...] */
static void cmd_command_docs(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    if (req->argc == 2) {
        const cmd_spec_t **all = ts_malloc(cmdtab_count() * sizeof(*all));
        size_t k = top_commands(n, all);
        reply_map(r, (long long)k);
        for (size_t i = 0; i < k; i++) {
            reply_bulk_str(r, all[i]->name);
            reply_command_docs(n, r, all[i]);
        }
        ts_free(all);
        return;
    }
    size_t h = reply_defer(r);
    long long found = 0;
    for (int i = 2; i < req->argc; i++) {
        const cmd_spec_t *c = find_by_fullname(n, &req->argv[i]);
        if (!c) continue;
        reply_bulk_str(r, c->name);
        reply_command_docs(n, r, c);
        found++;
    }
    reply_set_deferred(r, h, '%', found);
}

typedef enum { LIST_ALL, LIST_ACLCAT, LIST_PATTERN, LIST_NONE } list_filter_t;

static int list_match(const cmd_spec_t *c, list_filter_t f,
                      const resp_arg_t *arg)
{
    if (f == LIST_ALL) return 1;
    if (f == LIST_NONE) return 0;
    if (f == LIST_PATTERN)
        return glob_match(arg->ptr, arg->len, c->name, strlen(c->name), 1);
    const char *cats[MAX_CATEGORIES];
    size_t k = cmdtab_acl_categories(c, cats, MAX_CATEGORIES);
    for (size_t i = 0; i < k && i < MAX_CATEGORIES; i++)
        if (strlen(cats[i]) == arg->len + 1 &&
            strncasecmp(cats[i] + 1, arg->ptr, arg->len) == 0)
            return 1;
    return 0;
}

/* COMMAND LIST [FILTERBY MODULE name|ACLCAT category|PATTERN pattern] */
static void cmd_command_list(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    list_filter_t f = LIST_ALL;
    const resp_arg_t *arg = NULL;
    if (req->argc == 5 && arg_eq(&req->argv[2], "filterby")) {
        arg = &req->argv[4];
        if (arg_eq(&req->argv[3], "module")) f = LIST_NONE; /* no modules */
        else if (arg_eq(&req->argv[3], "aclcat")) f = LIST_ACLCAT;
        else if (arg_eq(&req->argv[3], "pattern")) f = LIST_PATTERN;
        else {
            reply_err_syntax(r);
            return;
        }
    } else if (req->argc != 2) {
        reply_err_syntax(r);
        return;
    }
    size_t h = reply_defer(r);
    long long cnt = 0;
    for (size_t i = 0; i < cmdtab_count(); i++) {
        const cmd_spec_t *c = cmdtab_get((cmd_id_t)i);
        if (!cmd_available(n, c) || !list_match(c, f, arg)) continue;
        reply_bulk_str(r, c->name);
        cnt++;
    }
    reply_set_deferred(r, h, '*', cnt);
}

/* COMMAND GETKEYS command [arg ...] */
static void cmd_command_getkeys(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    int argc = req->argc - 2;
    const resp_arg_t *argv = req->argv + 2;
    const cmd_spec_t *c = cmd_lookup(n, &argv[0]);
    if (c && (c->flags & CF_CONTAINER) && argc >= 2)
        c = cmdtab_lookup_sub(c, argv[1].ptr, argv[1].len);
    if (!c || !cmd_available(n, c)) {
        reply_error(r, "ERR Invalid command specified");
        return;
    }
    if (c->first_key <= 0) {
        reply_error(r, "ERR The command has no key arguments");
        return;
    }
    if (!cmdtab_arity_ok(c, argc)) {
        reply_error(r, "ERR Invalid number of arguments specified for command");
        return;
    }
    int *idx = ts_malloc((size_t)argc * sizeof(int));
    int k = cmdtab_keys(c, argc, argv, idx, argc);
    if (k <= 0) {
        if (c->flags & CF_NO_MANDATORY_KEYS) reply_array(r, 0);
        else reply_error(r, "ERR Invalid arguments specified for command");
    } else {
        if (k > argc) k = argc;
        reply_array(r, k);
        for (int i = 0; i < k; i++)
            reply_bulk(r, argv[idx[i]].ptr, argv[idx[i]].len);
    }
    ts_free(idx);
}

/* Redis 7.0's COMMAND HELP without GETKEYSANDFLAGS, which Tessera lacks. */
static const char *const command_help[] = {
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "HELP",
    "    Prints this help.",
    NULL,
};

/* COMMAND HELP */
static void cmd_command_help(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)ctx;
    (void)req;
    reply_help(r, command_help);
}

/* ---- SLOWLOG ------------------------------------------------------------- */

/* SLOWLOG GET [count] */
static void cmd_slowlog_get(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long count = 10;
    if (req->argc > 3) {
        reply_err_subcommand(r, &req->argv[1], "SLOWLOG");
        return;
    }
    if (req->argc == 3) {
        const char *err = "ERR count should be greater than or equal to -1";
        if (arg_ll_msg(&req->argv[2], &count, r, err)) return;
        if (count < -1) {
            reply_error(r, err);
            return;
        }
    }
    slowlog_reply(ctx->node, count, r);
}

/* SLOWLOG LEN */
static void cmd_slowlog_len(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    reply_int(r, (long long)slowlog_len(ctx->node));
}

/* SLOWLOG RESET */
static void cmd_slowlog_reset(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    slowlog_reset(ctx->node);
    reply_ok(r);
}

static const char *const slowlog_help[] = {
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
    NULL,
};

/* SLOWLOG HELP */
static void cmd_slowlog_help(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)ctx;
    (void)req;
    reply_help(r, slowlog_help);
}

const cmd_bind_t server_cmds[] = {
    {CMD_INFO, cmd_info},
    {CMD_TIME, cmd_time},
    {CMD_LASTSAVE, cmd_lastsave},
    {CMD_SHUTDOWN, cmd_shutdown},
    {CMD_MONITOR, cmd_monitor},
    {CMD_DEBUG, cmd_debug},
    {CMD_CONFIG_GET, cmd_config_get},
    {CMD_CONFIG_SET, cmd_config_set},
    {CMD_CONFIG_RESETSTAT, cmd_config_resetstat},
    {CMD_CONFIG_REWRITE, cmd_config_rewrite},
    {CMD_CONFIG_HELP, cmd_config_help},
    {CMD_COMMAND, cmd_command},
    {CMD_COMMAND_COUNT, cmd_command_count},
    {CMD_COMMAND_DOCS, cmd_command_docs},
    {CMD_COMMAND_GETKEYS, cmd_command_getkeys},
    {CMD_COMMAND_INFO, cmd_command_info},
    {CMD_COMMAND_LIST, cmd_command_list},
    {CMD_COMMAND_HELP, cmd_command_help},
    {CMD_SLOWLOG_GET, cmd_slowlog_get},
    {CMD_SLOWLOG_LEN, cmd_slowlog_len},
    {CMD_SLOWLOG_RESET, cmd_slowlog_reset},
    {CMD_SLOWLOG_HELP, cmd_slowlog_help},
    {CMD__COUNT, NULL},
};
