/*
 * auth.c: the proxy's users, in Redis's ACL syntax (a subset).
 *
 *   user <name> [on|off] [>password ...] [nopass] [~* &* +@all] ...
 *
 * The proxy checks its clients itself (the backend links are shared by
 * all clients, so a client's AUTH can never be forwarded).  What it can
 * enforce is all-or-nothing: a user is on or off, has passwords or
 * nopass, and may use all keys or none, all channels or none, all
 * commands or none.  Everything finer that Redis accepts (key and channel
 * patterns, single commands or categories, selectors) is refused at
 * start-up with an error naming the rule, rather than silently granting
 * more than the configuration says.
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
#include <openssl/sha.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "auth.h"
#include "proxy.h"

typedef struct acl {
    acl_user_t *users;
    int n;
    acl_user_t *def;            /* the default user, once set up */
} acl_t;

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
    for (int i = 0; i < u->npass; i++)
        if (strcmp(u->pass[i], hash) == 0) return;
    u->pass = ts_realloc(u->pass, sizeof(*u->pass) * (size_t)(u->npass + 1));
    memcpy(u->pass[u->npass++], hash, 65);
    u->nopass = 0;
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

/* A rule Redis would accept that the proxy cannot enforce. */
static int redis_rule_shape(const char *r)
{
    return r[0] == '~' || r[0] == '%' || r[0] == '&' || r[0] == '+' ||
           r[0] == '-' || r[0] == '(';
}

/* Password rules: >pw <pw #hash !hash.  NULL or Redis's reason. */
static const char *password_rule(acl_user_t *u, const char *r)
{
    char hash[65];
    const char *h = r + 1;
    if (r[0] == '>' || r[0] == '<') {
        sha256_hex(r + 1, strlen(r + 1), hash);
        h = hash;
    } else if (!valid_hash(h)) {
        return "The password hash must be exactly 64 characters and "
               "contain only lowercase hexadecimal characters";
    }
    if (r[0] == '>' || r[0] == '#') {
        user_add_hash(u, h);
        return NULL;
    }
    if (user_del_hash(u, h) != 0)
        return "The password you are trying to remove from the user does "
               "not exist";
    return NULL;
}

/* The all-or-nothing permission rules: 1 if r was one. */
static int permission_rule(acl_user_t *u, const char *r)
{
    if (is(r, "~*") || is(r, "allkeys") || is(r, "%RW~*") || is(r, "%WR~*"))
        u->all_keys = 1;
    else if (is(r, "resetkeys"))
        u->all_keys = 0;
    else if (is(r, "&*") || is(r, "allchannels"))
        u->all_channels = 1;
    else if (is(r, "resetchannels"))
        u->all_channels = 0;
    else if (is(r, "+@all") || is(r, "allcommands"))
        u->all_commands = 1;
    else if (is(r, "-@all") || is(r, "nocommands"))
        u->all_commands = 0;
    else if (!is(r, "clearselectors"))     /* no selectors exist */
        return 0;
    return 1;
}

/* Apply one rule to u: NULL, or the reason (Redis's texts where Redis
 * would refuse too).  buf holds formatted reasons. */
static const char *apply_rule(acl_user_t *u, const char *r, char *buf,
                              size_t bufsz)
{
    if (is(r, "on")) {
        u->enabled = 1;
    } else if (is(r, "off")) {
        u->enabled = 0;
    } else if (is(r, "nopass")) {
        user_reset_pass(u);
        u->nopass = 1;
    } else if (is(r, "resetpass")) {
        user_reset_pass(u);
    } else if (is(r, "reset")) {
        user_reset_pass(u);
        u->enabled = u->all_keys = u->all_channels = u->all_commands = 0;
    } else if (strchr("><#!", r[0]) && r[0]) {
        return password_rule(u, r);
    } else if (permission_rule(u, r)) {
        return NULL;
    } else if (redis_rule_shape(r)) {
        snprintf(buf, bufsz,
                 "tessera-proxy does not support the ACL rule '%s' (it "
                 "enforces only on/off, passwords, nopass, and all-or-"
                 "nothing keys ~*, channels &* and commands +@all)", r);
        return buf;
    } else {
        return "Syntax error";
    }
    return NULL;
}

static acl_t *acl_of(proxy_t *p)
{
    if (!p->acl) p->acl = ts_calloc(1, sizeof(acl_t));
    return p->acl;
}

const char *auth_set_user(const config_opt_t *o, void *ctx, int argc,
                          char **argv)
{
    static char err[512];
    char why[400];
    proxy_t *p = ctx;
    (void)o;
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
            ts_free(u.pass);
            /* Redis 7.0 names the user here, not the rule */
            snprintf(err, sizeof(err), "Error in user declaration '%s': %s",
                     argv[0], reason);
            return err;
        }
    }
    u.name = ts_strdup(argv[0]);
    u.unrestricted = u.all_keys && u.all_channels && u.all_commands;
    a->users = ts_realloc(a->users, sizeof(acl_user_t) * (size_t)(a->n + 1));
    a->users[a->n++] = u;
    return NULL;
}

void auth_setup(proxy_t *p)
{
    acl_t *a = acl_of(p);
    for (int i = 0; i < a->n; i++)
        if (strcmp(a->users[i].name, "default") == 0) a->def = &a->users[i];
    if (a->def) return;
    acl_user_t u = {0};
    u.name = ts_strdup("default");
    u.enabled = u.all_keys = u.all_channels = u.all_commands = 1;
    u.unrestricted = 1;
    if (p->requirepass && p->requirepass[0]) {
        char hash[65];
        sha256_hex(p->requirepass, strlen(p->requirepass), hash);
        user_add_hash(&u, hash);
    } else {
        u.nopass = 1;
    }
    a->users = ts_realloc(a->users, sizeof(acl_user_t) * (size_t)(a->n + 1));
    a->users[a->n++] = u;
    a->def = &a->users[a->n - 1];
}

void auth_teardown(proxy_t *p)
{
    acl_t *a = p->acl;
    if (!a) return;
    for (int i = 0; i < a->n; i++) {
        ts_free(a->users[i].name);
        ts_free(a->users[i].pass);
    }
    ts_free(a->users);
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

const acl_user_t *auth_check(const proxy_t *p, const char *name, size_t nlen,
                             const char *pass, size_t plen)
{
    const acl_t *a = p->acl;
    const acl_user_t *u = NULL;
    if (!a) return NULL;
    for (int i = 0; i < a->n && !u; i++)
        if (strlen(a->users[i].name) == nlen &&
            memcmp(a->users[i].name, name, nlen) == 0)
            u = &a->users[i];
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

static int uses_channels(const cmd_spec_t *cmd, int argc)
{
    switch (cmd->id) {
    case CMD_PUBLISH: case CMD_SPUBLISH: case CMD_SUBSCRIBE:
    case CMD_SSUBSCRIBE: case CMD_PSUBSCRIBE:
        return argc > 1;
    default:
        return 0;
    }
}

static int uses_keys(const cmd_spec_t *cmd, int argc, const resp_arg_t *argv)
{
    int idx[1];
    /* shard channels sit in the key positions but are channels */
    if (cmd->flags & CF_PUBSUB) return 0;
    if (cmd->first_key <= 0 && !(cmd->flags & CF_MOVABLEKEYS)) return 0;
    return cmdtab_keys(cmd, argc, argv, idx, 1) != 0;
}

const char *auth_perm_error(const acl_user_t *u, const cmd_spec_t *cmd,
                            int argc, const resp_arg_t *argv, char *buf,
                            size_t bufsz)
{
    if (!u || (u->all_commands && u->all_keys && u->all_channels)) return NULL;
    if (cmd->flags & CF_NO_AUTH) return NULL;
    if (!u->all_commands) {
        snprintf(buf, bufsz,
                 "NOPERM this user has no permissions to run the '%s' command",
                 cmd->name);
        return buf;
    }
    if (!u->all_keys && uses_keys(cmd, argc, argv))
        return "NOPERM this user has no permissions to access one of the "
               "keys used as arguments";
    if (!u->all_channels && uses_channels(cmd, argc))
        return "NOPERM this user has no permissions to access one of the "
               "channels used as arguments";
    return NULL;
}
