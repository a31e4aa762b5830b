/*
 * auth.c: the proxy's users, in Redis 7.0's ACL syntax.
 *
 *   user <name> [on|off] [>password ...] [nopass] [~pattern %R~pattern
 *        %W~pattern allkeys] [&pattern allchannels resetchannels]
 *        [+@all -@dangerous +get -flushall +config|get +select|0 ...]
 *
 * The proxy checks its clients itself (the backend links are shared by
 * all clients, so a client's AUTH can never be forwarded).  A user is
 * what Redis keeps (acl.c of Redis 7.0, root selector only): a bitmap of
 * allowed command ids, built by applying the rules in order (a category
 * sets or clears the bits of its commands, a container's rule its
 * subcommands too), the first arguments allowed for refused commands,
 * and key and channel patterns.  Selectors "(...)" are refused at
 * start-up, naming the rule, rather than silently granting more than
 * the configuration says.
 *
 * Checks follow Redis's order: the command's bit (skipped while the user
 * has +@all untouched, and for AUTH/HELLO), then every key against the
 * key patterns, a key needing read and/or write access as Redis 7.0's key
 * specs say (key_access below), then the channels of PUBLISH, SUBSCRIBE,
 * SSUBSCRIBE, SPUBLISH (glob match) and PSUBSCRIBE (literal match).  A
 * user with every permission is flagged `unrestricted`, so the request
 * path pays one load and compare (auth_perm_check) for the usual clients.
 *
 * ACL LIST's command rules are produced as Redis 7.0 produces them
 * (ACLDescribeSelectorCommandRules): start from +@all or -@all, add the
 * categories that fit best, then single commands.  Counts are over this
 * command table, which lacks some Redis commands, so a rule set may be
 * worded differently from Redis's (it always means the same bitmap), and
 * single commands come in table order (Redis's order is its hash
 * table's).
 *
 * As in Redis: a user line starts from nothing (off, no password, no
 * keys, channels or commands); `default` exists without a line, with
 * requirepass as its password (or nopass) and every permission, and a
 * `user default` line replaces it entirely (requirepass is then
 * ignored).  Passwords are kept as SHA-256 hex, compared in constant time.
 *
 * The table is built while the options load (main thread) and is
 * read-only once the workers run, so checks take no lock.
 */
#include <ctype.h>
#include <openssl/sha.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "auth.h"
#include "glob.h"
#include "proxy.h"

typedef struct acl {
    acl_user_t *users;
    int n;
    acl_user_t *def;            /* the default user, once set up */
    const acl_user_t **sorted;  /* by name, once set up */
} acl_t;

/* ---- categories and key access (read-only tables) --------------------- */

/* Redis 7.0's ACLCommandCategories, in its order. */
const char *const auth_categories[] = {
    "keyspace", "read",   "write",      "set",        "sortedset",
    "list",     "hash",   "string",     "bitmap",     "hyperloglog",
    "geo",      "stream", "pubsub",     "admin",      "fast",
    "slow",     "blocking", "dangerous", "connection", "transaction",
    "scripting", NULL,
};
#define NCATS 21

#define KR ACL_KEY_R
#define KW ACL_KEY_W
#define KRW ACL_KEY_RW

/*
 * What each keyed command needs on its keys, from Redis 7.0.15's key specs
 * (COMMAND INFO): R when the spec says ACCESS (the value reaches the
 * client), W for INSERT, DELETE or UPDATE, 0 for neither (EXISTS, TTL ...:
 * any pattern that matches the key admits it).  Two entries: the first
 * key, then the others (LMOVE, ZUNIONSTORE ...).  SET is W unless it has
 * the GET option (Redis's variable flags).
 */
static const struct {
    const char *name;
    unsigned char first, rest;
} key_access[] = {
    {"get", KR, KR}, {"set", KRW, KRW}, {"setnx", KW, KW}, {"setex", KW, KW},
    {"psetex", KW, KW}, {"getex", KRW, KRW}, {"getdel", KRW, KRW},
    {"getset", KRW, KRW}, {"mget", KR, KR}, {"mset", KW, KW},
    {"msetnx", KW, KW}, {"incr", KRW, KRW}, {"decr", KRW, KRW},
    {"incrby", KRW, KRW}, {"decrby", KRW, KRW}, {"incrbyfloat", KRW, KRW},
    {"append", KW, KW}, {"strlen", 0, 0}, {"setrange", KW, KW},
    {"getrange", KR, KR}, {"substr", KR, KR}, {"lcs", KR, KR}, {"del", KW, KW},
    {"unlink", KW, KW}, {"exists", 0, 0}, {"type", 0, 0}, {"rename", KRW, KW},
    {"renamenx", KRW, KW}, {"copy", KR, KW}, {"dump", KR, KR},
    {"restore", KW, KW}, {"migrate", KRW, KRW}, {"restore-asking", KW, KW},
    {"touch", 0, 0}, {"expire", KW, KW}, {"pexpire", KW, KW},
    {"expireat", KW, KW}, {"pexpireat", KW, KW}, {"ttl", KR, KR},
    {"pttl", KR, KR}, {"expiretime", KR, KR}, {"pexpiretime", KR, KR},
    {"persist", KW, KW}, {"object|encoding", 0, 0}, {"object|freq", 0, 0},
    {"object|idletime", 0, 0}, {"object|refcount", 0, 0}, {"blmove", KRW, KW},
    {"blmpop", KRW, KRW}, {"blpop", KRW, KRW}, {"brpop", KRW, KRW},
    {"brpoplpush", KRW, KW}, {"lindex", KR, KR}, {"linsert", KW, KW},
    {"llen", 0, 0}, {"lmove", KRW, KW}, {"lmpop", KRW, KRW},
    {"lpop", KRW, KRW}, {"lpos", KR, KR}, {"lpush", KW, KW},
    {"lpushx", KW, KW}, {"lrange", KR, KR}, {"lrem", KW, KW}, {"lset", KW, KW},
    {"ltrim", KW, KW}, {"rpop", KRW, KRW}, {"rpoplpush", KRW, KW},
    {"rpush", KW, KW}, {"rpushx", KW, KW}, {"hdel", KW, KW}, {"hexists", 0, 0},
    {"hget", KR, KR}, {"hgetall", KR, KR}, {"hincrby", KRW, KRW},
    {"hincrbyfloat", KRW, KRW}, {"hkeys", KR, KR}, {"hlen", 0, 0},
    {"hmget", KR, KR}, {"hmset", KW, KW}, {"hrandfield", KR, KR},
    {"hscan", KR, KR}, {"hset", KW, KW}, {"hsetnx", KW, KW}, {"hstrlen", 0, 0},
    {"hvals", KR, KR}, {"sadd", KW, KW}, {"scard", 0, 0}, {"sdiff", KR, KR},
    {"sdiffstore", KW, KR}, {"sinter", KR, KR}, {"sintercard", KR, KR},
    {"sinterstore", KW, KR}, {"sismember", 0, 0}, {"smembers", KR, KR},
    {"smismember", KR, KR}, {"smove", KRW, KW}, {"spop", KRW, KRW},
    {"srandmember", KR, KR}, {"srem", KW, KW}, {"sscan", KR, KR},
    {"sunion", KR, KR}, {"sunionstore", KW, KR}, {"bzmpop", KRW, KRW},
    {"bzpopmax", KRW, KRW}, {"bzpopmin", KRW, KRW}, {"zadd", KW, KW},
    {"zcard", 0, 0}, {"zcount", KR, KR}, {"zdiff", KR, KR},
    {"zdiffstore", KW, KR}, {"zincrby", KRW, KRW}, {"zinter", KR, KR},
    {"zintercard", KR, KR}, {"zinterstore", KW, KR}, {"zlexcount", KR, KR},
    {"zmpop", KRW, KRW}, {"zmscore", KR, KR}, {"zpopmax", KRW, KRW},
    {"zpopmin", KRW, KRW}, {"zrandmember", KR, KR}, {"zrange", KR, KR},
    {"zrangebylex", KR, KR}, {"zrangebyscore", KR, KR},
    {"zrangestore", KW, KR}, {"zrank", KR, KR}, {"zrem", KW, KW},
    {"zremrangebylex", KW, KW}, {"zremrangebyrank", KW, KW},
    {"zremrangebyscore", KW, KW}, {"zrevrange", KR, KR},
    {"zrevrangebylex", KR, KR}, {"zrevrangebyscore", KR, KR},
    {"zrevrank", KR, KR}, {"zscan", KR, KR}, {"zscore", KR, KR},
    {"zunion", KR, KR}, {"zunionstore", KW, KR}, {"watch", 0, 0},
};

/* Per command id: its categories (bit i: auth_categories[i]) and, for
 * keyed commands, the access of its first and other keys. */
static uint32_t cat_mask[CMD__COUNT];
static unsigned char access_first[CMD__COUNT], access_rest[CMD__COUNT];
static int tables_ready;

int auth_category_index(const char *name, size_t len)
{
    for (int i = 0; auth_categories[i]; i++)
        if (strlen(auth_categories[i]) == len &&
            strncasecmp(auth_categories[i], name, len) == 0)
            return i;
    return -1;
}

/* The command called `full` ("get", "config|get"), or NULL. */
static const cmd_spec_t *find_cmd(const char *full)
{
    const char *bar = strchr(full, '|');
    if (!bar) return cmdtab_lookup(full, strlen(full));
    const cmd_spec_t *p = cmdtab_lookup(full, (size_t)(bar - full));
    if (!p || !(p->flags & CF_CONTAINER) || strchr(bar + 1, '|')) return NULL;
    return cmdtab_lookup_sub(p, bar + 1, strlen(bar + 1));
}

/* Main thread, before any user is built (idempotent). */
static void tables_setup(void)
{
    if (tables_ready) return;
    cmdtab_setup();
    for (size_t id = 0; id < cmdtab_count(); id++) {
        const cmd_spec_t *c = cmdtab_get((cmd_id_t)id);
        for (size_t k = 0; k < c->nacl; k++) {
            const char *cat = c->acl_cats[k];
            int i = auth_category_index(cat + 1, strlen(cat + 1));
            if (cat[0] == '@' && i >= 0) cat_mask[id] |= 1u << i;
        }
        access_first[id] = access_rest[id] = KRW;   /* unknown: strictest */
    }
    for (size_t i = 0; i < sizeof(key_access) / sizeof(key_access[0]); i++) {
        const cmd_spec_t *c = find_cmd(key_access[i].name);
        if (!c) continue;
        access_first[c->id] = key_access[i].first;
        access_rest[c->id] = key_access[i].rest;
    }
    tables_ready = 1;
}

int auth_in_category(const cmd_spec_t *c, int i)
{
    return (cat_mask[c->id] >> i) & 1;
}

/* ---- passwords ---------------------------------------------------------- */

static void sha256_hex(const char *s, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SHA256_DIGEST_LENGTH];
    SHA256((const unsigned char *)s, len, md);
    for (int i = 0; i < SHA256_DIGEST_LENGTH; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[64] = '\0';
}

static void user_reset_pass(acl_user_t *u)
{
    ts_free(u->pass);
    u->pass = NULL;
    u->npass = 0;
    u->nopass = 0;
}

static void user_add_hash(acl_user_t *u, const char *hash)
{
    u->nopass = 0;
    for (int i = 0; i < u->npass; i++)
        if (strcmp(u->pass[i], hash) == 0) return;
    u->pass = ts_realloc(u->pass, sizeof(*u->pass) * (size_t)(u->npass + 1));
    memcpy(u->pass[u->npass++], hash, 65);
}

/* 0, or -1 if the password was not there. */
static int user_del_hash(acl_user_t *u, const char *hash)
{
    for (int i = 0; i < u->npass; i++) {
        if (strcmp(u->pass[i], hash) != 0) continue;
        memmove(u->pass[i], u->pass[i + 1],
                sizeof(*u->pass) * (size_t)(u->npass - i - 1));
        u->npass--;
        return 0;
    }
    return -1;
}

static int valid_hash(const char *h)
{
    if (strlen(h) != 64) return 0;
    for (int i = 0; i < 64; i++)
        if (!((h[i] >= '0' && h[i] <= '9') || (h[i] >= 'a' && h[i] <= 'f')))
            return 0;
    return 1;
}

static int is(const char *rule, const char *s)
{
    return strcasecmp(rule, s) == 0;
}

/* Redis's reasons (ACLSetUserStringError). */
static const char err_syntax[] = "Syntax error";
static const char err_unknown[] = "Unknown command or category name in ACL";
static const char err_keys_after_all[] =
    "Adding a pattern after the * pattern (or the 'allkeys' flag) is not "
    "valid and does not have any effect. Try 'resetkeys' to start with an "
    "empty list of patterns";
static const char err_chans_after_all[] =
    "Adding a pattern after the * pattern (or the 'allchannels' flag) is "
    "not valid and does not have any effect. Try 'resetchannels' to start "
    "with an empty list of channels";
static const char err_hash[] =
    "The password hash must be exactly 64 characters and contain only "
    "lowercase hexadecimal characters";
static const char err_nopass[] =
    "The password you are trying to remove from the user does not exist";
static const char err_firstarg_sub[] =
    "Allowing first-arg of a subcommand is not supported";

/* Password rules: >pw <pw #hash !hash.  NULL or Redis's reason. */
static const char *password_rule(acl_user_t *u, const char *r)
{
    char hash[65];
    const char *h = r + 1;
    if (r[0] == '>' || r[0] == '<') {
        sha256_hex(r + 1, strlen(r + 1), hash);
        h = hash;
    } else if (!valid_hash(h)) {
        return err_hash;
    }
    if (r[0] == '>' || r[0] == '#') {
        user_add_hash(u, h);
        return NULL;
    }
    return user_del_hash(u, h) == 0 ? NULL : err_nopass;
}

/* ---- command bits ------------------------------------------------------- */

static int get_bit(const acl_user_t *u, size_t id)
{
    return (int)((u->allowed[id / 64] >> (id % 64)) & 1);
}

static void set_bit(acl_user_t *u, size_t id, int on)
{
    if (on) {
        u->allowed[id / 64] |= 1ULL << (id % 64);
    } else {
        u->allowed[id / 64] &= ~(1ULL << (id % 64));
        u->all_commands = 0;
    }
}

static void reset_firstargs(acl_user_t *u, int id)
{
    int k = 0;
    for (int i = 0; i < u->nfirstargs; i++) {
        if (id < 0 || u->firstargs[i].id == id) ts_free(u->firstargs[i].arg);
        else u->firstargs[k++] = u->firstargs[i];
    }
    u->nfirstargs = k;
    if (k == 0) {
        ts_free(u->firstargs);
        u->firstargs = NULL;
    }
}

static void add_firstarg(acl_user_t *u, int id, const char *arg)
{
    for (int i = 0; i < u->nfirstargs; i++)
        if (u->firstargs[i].id == id &&
            strcasecmp(u->firstargs[i].arg, arg) == 0)
            return;
    u->firstargs = ts_realloc(u->firstargs, sizeof(*u->firstargs) *
                                                (size_t)(u->nfirstargs + 1));
    u->firstargs[u->nfirstargs++] = (acl_firstarg_t){id, ts_strdup(arg)};
}

/* Allow or refuse c, and all its subcommands if it is a container
 * (Redis's ACLChangeSelectorPerm). */
static void change_perm(acl_user_t *u, const cmd_spec_t *c, int allow)
{
    set_bit(u, c->id, allow);
    reset_firstargs(u, (int)c->id);
    if (!(c->flags & CF_CONTAINER)) return;
    const cmd_spec_t *subs[64];
    size_t n = cmdtab_subcommands(c, subs, 64);
    for (size_t i = 0; i < n && i < 64; i++) set_bit(u, subs[i]->id, allow);
}

static void set_category(acl_user_t *u, int cat, int allow)
{
    for (size_t id = 0; id < cmdtab_count(); id++)
        if ((cat_mask[id] >> cat) & 1)
            change_perm(u, cmdtab_get((cmd_id_t)id), allow);
}

static void set_all_commands(acl_user_t *u, int allow)
{
    memset(u->allowed, allow ? 0xff : 0, sizeof(u->allowed));
    u->all_commands = u->future = allow;
    reset_firstargs(u, -1);
}

/* +cmd, +cmd|sub, +cmd|firstarg, -cmd, -cmd|sub (Redis's rules). */
static const char *command_rule(acl_user_t *u, const char *r)
{
    int allow = r[0] == '+';
    const char *bar = strrchr(r, '|');
    if (!allow || !bar) {
        const cmd_spec_t *c = find_cmd(r + 1);
        if (!c) return err_unknown;
        change_perm(u, c, allow);
        return NULL;
    }
    char parent[128];
    size_t plen = (size_t)(bar - (r + 1));
    if (plen >= sizeof(parent)) return err_unknown;
    memcpy(parent, r + 1, plen);
    parent[plen] = '\0';
    const cmd_spec_t *c = find_cmd(parent);
    if (!c) return err_unknown;
    if (c->parent) return err_firstarg_sub;
    if (!bar[1]) return err_syntax;
    if (c->flags & CF_CONTAINER) {
        const cmd_spec_t *sub = cmdtab_lookup_sub(c, bar + 1, strlen(bar + 1));
        if (!sub) return err_unknown;
        change_perm(u, sub, 1);
    } else {
        add_firstarg(u, (int)c->id, bar + 1);
    }
    return NULL;
}

/* ---- key and channel patterns ----------------------------------------- */

static void clear_patterns(acl_pattern_t **v, int *n)
{
    for (int i = 0; i < *n; i++) ts_free((*v)[i].pat);
    ts_free(*v);
    *v = NULL;
    *n = 0;
}

static void add_pattern(acl_pattern_t **v, int *n, const char *p, int flags)
{
    size_t len = strlen(p);
    for (int i = 0; i < *n; i++) {
        if ((*v)[i].len == len && memcmp((*v)[i].pat, p, len) == 0) {
            (*v)[i].flags |= flags;
            return;
        }
    }
    *v = ts_realloc(*v, sizeof(**v) * (size_t)(*n + 1));
    (*v)[(*n)++] = (acl_pattern_t){ts_strdup(p), len, flags};
}

static int has_space(const char *s)
{
    for (; *s; s++)
        if (isspace((unsigned char)*s)) return 1;
    return 0;
}

/* ~pattern %R~pattern %W~pattern %RW~pattern */
static const char *key_rule(acl_user_t *u, const char *r)
{
    if (u->all_keys) return err_keys_after_all;
    int flags = 0;
    size_t off = 1, len = strlen(r);
    if (r[0] == '%') {
        for (; off < len; off++) {
            char ch = (char)toupper((unsigned char)r[off]);
            if (ch == 'R' && !(flags & KR)) {
                flags |= KR;
            } else if (ch == 'W' && !(flags & KW)) {
                flags |= KW;
            } else if (r[off] == '~') {
                off++;
                break;
            } else {
                return err_syntax;
            }
        }
    } else {
        flags = KRW;
    }
    if (has_space(r + off)) return err_syntax;
    add_pattern(&u->keys, &u->nkeys, r + off, flags);
    return NULL;
}

static const char *channel_rule(acl_user_t *u, const char *r)
{
    if (u->all_channels) return err_chans_after_all;
    if (has_space(r + 1)) return err_syntax;
    add_pattern(&u->chans, &u->nchans, r + 1, 0);
    return NULL;
}

/* ---- rules ------------------------------------------------------------ */

static void user_reset(acl_user_t *u)
{
    user_reset_pass(u);
    u->all_keys = u->all_channels = 0;
    clear_patterns(&u->keys, &u->nkeys);
    clear_patterns(&u->chans, &u->nchans);
    u->enabled = 0;
    u->sanitize = 1;
    set_all_commands(u, 0);
}

/* Selector-level rules (keys, channels, commands): NULL if r was not
 * one (*done 0), else NULL or the reason. */
static const char *selector_rule(acl_user_t *u, const char *r, int *done)
{
    *done = 1;
    if (is(r, "allkeys") || is(r, "~*")) {
        u->all_keys = 1;
        clear_patterns(&u->keys, &u->nkeys);
    } else if (is(r, "resetkeys")) {
        u->all_keys = 0;
        clear_patterns(&u->keys, &u->nkeys);
    } else if (is(r, "allchannels") || is(r, "&*")) {
        u->all_channels = 1;
        clear_patterns(&u->chans, &u->nchans);
    } else if (is(r, "resetchannels")) {
        u->all_channels = 0;
        clear_patterns(&u->chans, &u->nchans);
    } else if (is(r, "allcommands") || is(r, "+@all")) {
        set_all_commands(u, 1);
    } else if (is(r, "nocommands") || is(r, "-@all")) {
        set_all_commands(u, 0);
    } else if (r[0] == '~' || r[0] == '%') {
        return key_rule(u, r);
    } else if (r[0] == '&') {
        return channel_rule(u, r);
    } else if ((r[0] == '+' || r[0] == '-') && r[1] == '@') {
        int cat = auth_category_index(r + 2, strlen(r + 2));
        if (cat < 0) return err_unknown;
        set_category(u, cat, r[0] == '+');
    } else if (r[0] == '+' || r[0] == '-') {
        return command_rule(u, r);
    } else {
        *done = 0;
    }
    return NULL;
}

/* Apply one rule to u: NULL, or the reason (Redis's texts where Redis
 * would refuse too).  buf holds formatted reasons. */
static const char *apply_rule(acl_user_t *u, const char *r, char *buf,
                              size_t bufsz)
{
    int done;
    if (!r[0]) return NULL;                 /* Redis: a no-op */
    if (is(r, "on")) {
        u->enabled = 1;
    } else if (is(r, "off")) {
        u->enabled = 0;
    } else if (is(r, "skip-sanitize-payload")) {
        u->sanitize = 2;
    } else if (is(r, "sanitize-payload")) {
        u->sanitize = 1;
    } else if (is(r, "nopass")) {
        user_reset_pass(u);
        u->nopass = 1;
    } else if (is(r, "resetpass")) {
        user_reset_pass(u);
    } else if (r[0] == '>' || r[0] == '<' || r[0] == '#' || r[0] == '!') {
        return password_rule(u, r);
    } else if (r[0] == '(') {
        snprintf(buf, bufsz,
                 "tessera-proxy does not support ACL selectors ('%s'): "
                 "give the user one set of rules", r);
        return buf;
    } else if (is(r, "clearselectors")) {
        /* no selectors exist */
    } else if (is(r, "reset")) {
        user_reset(u);
    } else {
        const char *why = selector_rule(u, r, &done);
        if (!done) return err_syntax;
        return why;
    }
    return NULL;
}

static acl_t *acl_of(proxy_t *p)
{
    if (!p->acl) p->acl = ts_calloc(1, sizeof(acl_t));
    return p->acl;
}

static void user_free(acl_user_t *u)
{
    ts_free(u->name);
    ts_free(u->pass);
    reset_firstargs(u, -1);
    clear_patterns(&u->keys, &u->nkeys);
    clear_patterns(&u->chans, &u->nchans);
}

static void user_finish(acl_user_t *u)
{
    u->unrestricted = u->all_keys && u->all_channels && u->all_commands;
}

const char *auth_set_user(const config_opt_t *o, void *ctx, int argc,
                          char **argv)
{
    static char err[640];
    char why[400];
    proxy_t *p = ctx;
    (void)o;
    tables_setup();
    if (argc < 1 || !argv[0][0])
        return "Bad directive or wrong number of arguments";
    acl_t *a = acl_of(p);
    for (int i = 0; i < a->n; i++) {
        if (strcmp(a->users[i].name, argv[0]) == 0) {
            snprintf(err, sizeof(err),
                     "Error in user declaration '%s': Duplicate user found. "
                     "A user can only be defined once in config files",
                     argv[0]);
            return err;
        }
    }
    acl_user_t u = {0};
    for (int i = 1; i < argc; i++) {
        const char *reason = apply_rule(&u, argv[i], why, sizeof(why));
        if (reason) {
            user_free(&u);
            /* Redis 7.0 names the user here, not the rule */
            snprintf(err, sizeof(err), "Error in user declaration '%s': %s",
                     argv[0], reason);
            return err;
        }
    }
    u.name = ts_strdup(argv[0]);
    user_finish(&u);
    a->users = ts_realloc(a->users, sizeof(acl_user_t) * (size_t)(a->n + 1));
    a->users[a->n++] = u;
    return NULL;
}

static int by_name(const void *x, const void *y)
{
    const acl_user_t *a = *(const acl_user_t *const *)x;
    const acl_user_t *b = *(const acl_user_t *const *)y;
    return strcmp(a->name, b->name);
}

void auth_setup(proxy_t *p)
{
    tables_setup();
    acl_t *a = acl_of(p);
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->users[i].name, "default") == 0) a->def = &a->users[i];
    if (!a->def) {
        acl_user_t u = {0};
        u.name = ts_strdup("default");
        u.enabled = u.all_keys = u.all_channels = 1;
        set_all_commands(&u, 1);
        if (p->requirepass && p->requirepass[0]) {
            char hash[65];
            sha256_hex(p->requirepass, strlen(p->requirepass), hash);
            user_add_hash(&u, hash);
        } else {
            u.nopass = 1;
        }
        user_finish(&u);
        a->users =
            ts_realloc(a->users, sizeof(acl_user_t) * (size_t)(a->n + 1));
        a->users[a->n++] = u;
        a->def = &a->users[a->n - 1];
    }
    ts_free(a->sorted);
    a->sorted = ts_malloc(sizeof(*a->sorted) * (size_t)a->n);
    for (int i = 0; i < a->n; i++) a->sorted[i] = &a->users[i];
    qsort(a->sorted, (size_t)a->n, sizeof(*a->sorted), by_name);
}

void auth_teardown(proxy_t *p)
{
    acl_t *a = p->acl;
    if (!a) return;
    for (int i = 0; i < a->n; i++) user_free(&a->users[i]);
    ts_free(a->users);
    ts_free(a->sorted);
    ts_free(a);
    p->acl = NULL;
}

const acl_user_t *auth_default_user(const proxy_t *p)
{
    return p->acl ? p->acl->def : NULL;
}

int auth_default_open(const proxy_t *p)
{
    const acl_user_t *d = auth_default_user(p);
    return d && d->enabled && d->nopass;
}

int auth_default_nopass(const proxy_t *p)
{
    const acl_user_t *d = auth_default_user(p);
    return d && d->nopass;
}

const acl_user_t *auth_find(const proxy_t *p, const char *name, size_t nlen)
{
    const acl_t *a = p->acl;
    if (!a) return NULL;
    for (int i = 0; i < a->n; i++)
        if (strlen(a->users[i].name) == nlen &&
            memcmp(a->users[i].name, name, nlen) == 0)
            return &a->users[i];
    return NULL;
}

const acl_user_t *const *auth_users(const proxy_t *p, int *n)
{
    *n = p->acl && p->acl->sorted ? p->acl->n : 0;
    return *n ? p->acl->sorted : NULL;
}

const acl_user_t *auth_check(const proxy_t *p, const char *name, size_t nlen,
                             const char *pass, size_t plen)
{
    const acl_user_t *u = auth_find(p, name, nlen);
    if (!u || !u->enabled) return NULL;
    if (u->nopass) return u;
    char hash[65];
    sha256_hex(pass, plen, hash);
    int ok = 0;
    for (int i = 0; i < u->npass; i++) {
        unsigned char diff = 0;     /* constant time, as Redis's compare */
        for (int j = 0; j < 64; j++)
            diff |= (unsigned char)(hash[j] ^ u->pass[i][j]);
        ok |= diff == 0;
    }
    return ok ? u : NULL;
}

/* ---- permission checks ------------------------------------------------ */

static int arg_is(const resp_arg_t *a, const char *s)
{
    return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

/* The command bit, or an allowed first argument (argv[1], argv[2] for a
 * subcommand). */
static int command_allowed(const acl_user_t *u, const cmd_spec_t *cmd,
                           int argc, const resp_arg_t *argv)
{
    if (u->all_commands || (cmd->flags & CF_NO_AUTH)) return 1;
    if (get_bit(u, cmd->id)) return 1;
    int idx = cmd->parent ? 2 : 1;
    if (argc <= idx) return 0;
    for (int i = 0; i < u->nfirstargs; i++)
        if (u->firstargs[i].id == (int)cmd->id &&
            arg_is(&argv[idx], u->firstargs[i].arg))
            return 1;
    return 0;
}

static int uses_keys(const cmd_spec_t *cmd)
{
    /* shard channels sit in the key positions but are channels */
    if (cmd->flags & CF_PUBSUB) return 0;
    return cmd->first_key > 0 || (cmd->flags & CF_MOVABLEKEYS);
}

/* What the k-th key of this command needs (ACL_KEY_*). */
static int key_needs(const cmd_spec_t *cmd, int k, int argc,
                     const resp_arg_t *argv)
{
    if (cmd->id == CMD_SET) {       /* RW with GET, else OW */
        for (int i = 3; i < argc; i++)
            if (arg_is(&argv[i], "get")) return KRW;
        return KW;
    }
    return k == 0 ? access_first[cmd->id] : access_rest[cmd->id];
}

static int key_allowed(const acl_user_t *u, const resp_arg_t *key, int need)
{
    for (int i = 0; i < u->nkeys; i++) {
        const acl_pattern_t *pt = &u->keys[i];
        if ((pt->flags & need) == need &&
            glob_match(pt->pat, pt->len, key->ptr, key->len, 0))
            return 1;
    }
    return 0;
}

/* ACL_OK or ACL_DENIED_KEY (*pos: the key's argv index). */
static int check_keys(const acl_user_t *u, const cmd_spec_t *cmd, int argc,
                      const resp_arg_t *argv, int *pos)
{
    int small[64], *idx = small;
    int n = cmdtab_keys(cmd, argc, argv, idx, 64);
    if (n > 64) {
        idx = ts_malloc(sizeof(int) * (size_t)n);
        n = cmdtab_keys(cmd, argc, argv, idx, n);
    }
    int rc = ACL_OK;
    for (int k = 0; k < n && rc == ACL_OK; k++) {
        if (!key_allowed(u, &argv[idx[k]], key_needs(cmd, k, argc, argv))) {
            *pos = idx[k];
            rc = ACL_DENIED_KEY;
        }
    }
    if (idx != small) ts_free(idx);
    return rc;
}

static int channel_allowed(const acl_user_t *u, const resp_arg_t *ch,
                           int literal)
{
    for (int i = 0; i < u->nchans; i++) {
        const acl_pattern_t *pt = &u->chans[i];
        int hit = literal ? pt->len == ch->len &&
                                memcmp(pt->pat, ch->ptr, ch->len) == 0
                          : glob_match(pt->pat, pt->len, ch->ptr, ch->len, 0);
        if (hit)
            return 1;
    }
    return 0;
}

/* ACL_OK or ACL_DENIED_CHANNEL for the channels of PUBLISH, SPUBLISH
 * (argv[1]), SUBSCRIBE, SSUBSCRIBE (all, glob) and PSUBSCRIBE (all,
 * literal: the pattern itself must be granted). */
static int check_channels(const acl_user_t *u, const cmd_spec_t *cmd,
                          int argc, const resp_arg_t *argv, int *pos)
{
    int last = argc - 1, literal = 0;
    switch (cmd->id) {
    case CMD_PUBLISH: case CMD_SPUBLISH: last = 1; break;
    case CMD_SUBSCRIBE: case CMD_SSUBSCRIBE: break;
    case CMD_PSUBSCRIBE: literal = 1; break;
    default: return ACL_OK;
    }
    for (int i = 1; i <= last && i < argc; i++) {
        if (!channel_allowed(u, &argv[i], literal)) {
            *pos = i;
            return ACL_DENIED_CHANNEL;
        }
    }
    return ACL_OK;
}

int auth_user_may(const acl_user_t *u, const cmd_spec_t *cmd, int argc,
                  const resp_arg_t *argv, int *pos)
{
    *pos = 0;
    if (!u || u->unrestricted) return ACL_OK;
    if (!command_allowed(u, cmd, argc, argv)) return ACL_DENIED_CMD;
    if (!u->all_keys && uses_keys(cmd) &&
        check_keys(u, cmd, argc, argv, pos) != ACL_OK)
        return ACL_DENIED_KEY;
    if (!u->all_channels) return check_channels(u, cmd, argc, argv, pos);
    return ACL_OK;
}

const char *auth_perm_error(const acl_user_t *u, const cmd_spec_t *cmd,
                            int argc, const resp_arg_t *argv, char *buf,
                            size_t bufsz)
{
    int pos;
    switch (auth_user_may(u, cmd, argc, argv, &pos)) {
    case ACL_DENIED_CMD:
        snprintf(buf, bufsz,
                 "NOPERM this user has no permissions to run the '%s' command",
                 cmd->name);
        return buf;
    case ACL_DENIED_KEY:
        return "NOPERM this user has no permissions to access one of the "
               "keys used as arguments";
    case ACL_DENIED_CHANNEL:
        return "NOPERM this user has no permissions to access one of the "
               "channels used as arguments";
    default:
        return NULL;
    }
}

/* ---- descriptions (ACL LIST, ACL GETUSER) ------------------------------ */

int auth_user_flags(const acl_user_t *u, const char **out)
{
    int n = 0;
    out[n++] = u->enabled ? "on" : "off";
    if (u->nopass) out[n++] = "nopass";
    if (u->sanitize == 2) out[n++] = "skip-sanitize-payload";
    if (u->sanitize == 1) out[n++] = "sanitize-payload";
    return n;
}

void auth_describe_keys(const acl_user_t *u, buf_t *b)
{
    if (u->all_keys) {
        buf_append_str(b, "~*");
        return;
    }
    for (int i = 0; i < u->nkeys; i++) {
        const acl_pattern_t *pt = &u->keys[i];
        buf_append_str(b, i ? " " : "");
        buf_append_str(b, pt->flags == KRW ? "~" : pt->flags == KR ? "%R~"
                                                                   : "%W~");
        buf_append(b, pt->pat, pt->len);
    }
}

void auth_describe_channels(const acl_user_t *u, buf_t *b)
{
    if (u->all_channels) {
        buf_append_str(b, "&*");
        return;
    }
    for (int i = 0; i < u->nchans; i++) {
        buf_append_str(b, i ? " &" : "&");
        buf_append(b, u->chans[i].pat, u->chans[i].len);
    }
}

/* Commands of category cat allowed (*on) and refused (*off) in bits. */
static void count_category(const uint64_t *bits, int cat, unsigned long *on,
                           unsigned long *off)
{
    *on = *off = 0;
    for (size_t id = 0; id < cmdtab_count(); id++) {
        if (!((cat_mask[id] >> cat) & 1)) continue;
        if ((bits[id / 64] >> (id % 64)) & 1) (*on)++;
        else (*off)++;
    }
}

void auth_describe_commands(const acl_user_t *u, buf_t *b)
{
    /* fake: what the rules written so far give; temp: what is left to
     * explain (Redis's fake and temp selectors) */
    acl_user_t fake = {0}, temp = {0};
    int additive = !u->future;
    set_all_commands(&fake, !additive);
    memcpy(temp.allowed, u->allowed, sizeof(temp.allowed));
    buf_append_str(b, additive ? "-@all " : "+@all ");
    char applied[NCATS] = {0};
    for (;;) {
        int best = -1;
        unsigned long mindiff = (unsigned long)-1, maxsame = 0;
        for (int j = 0; j < NCATS; j++) {
            if (applied[j]) continue;
            unsigned long on, off;
            count_category(temp.allowed, j, &on, &off);
            unsigned long diff = additive ? off : on;
            unsigned long same = additive ? on : off;
            if (same > diff &&
                (diff < mindiff || (diff == mindiff && same > maxsame))) {
                best = j;
                mindiff = diff;
                maxsame = same;
            }
        }
        if (best < 0) break;
        set_category(&fake, best, additive);
        set_category(&temp, best, !additive);
        buf_printf(b, "%s@%s ", additive ? "+" : "-", auth_categories[best]);
        applied[best] = 1;
    }
    /* single commands, parents before their subcommands */
    for (size_t id = 0; id < cmdtab_count(); id++) {
        const cmd_spec_t *c = cmdtab_get((cmd_id_t)id);
        int ub = get_bit(u, id), fb = get_bit(&fake, id);
        if (ub != fb) {
            buf_printf(b, "%s%s ", ub ? "+" : "-", c->name);
            change_perm(&fake, c, ub);
        }
        for (int i = 0; !ub && i < u->nfirstargs; i++)
            if (u->firstargs[i].id == (int)id)
                buf_printf(b, "+%s|%s ", c->name, u->firstargs[i].arg);
    }
    reset_firstargs(&fake, -1);
    b->wpos--;                      /* the last space */
}

void auth_describe_user(const acl_user_t *u, buf_t *b)
{
    const char *flags[4];
    int n = auth_user_flags(u, flags);
    for (int i = 0; i < n; i++) buf_printf(b, "%s ", flags[i]);
    for (int i = 0; i < u->npass; i++) buf_printf(b, "#%s ", u->pass[i]);
    if (u->all_keys) {
        buf_append_str(b, "~* ");
    } else if (u->nkeys) {
        auth_describe_keys(u, b);
        buf_append_str(b, " ");
    }
    if (u->all_channels) {
        buf_append_str(b, "&* ");
    } else {
        buf_append_str(b, "resetchannels ");
        if (u->nchans) {
            auth_describe_channels(u, b);
            buf_append_str(b, " ");
        }
    }
    auth_describe_commands(u, b);
}
