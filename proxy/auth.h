/*
 * auth.h: the proxy's users (Redis 7.0's ACL rules, without selectors)
 * and the checks made before a client's command runs: authentication
 * (NOAUTH) and permissions (NOPERM).
 */
#ifndef TS_PROXY_AUTH_H
#define TS_PROXY_AUTH_H

#include <stdint.h>

#include "buf.h"
#include "cmdtab.h"
#include "config.h"
#include "resp.h"

struct proxy;
struct pclient;

/* What a key pattern grants (%R~ / %W~ / ~), and what a key needs. */
#define ACL_KEY_R 1
#define ACL_KEY_W 2
#define ACL_KEY_RW (ACL_KEY_R | ACL_KEY_W)

#define ACL_WORDS ((CMD__COUNT + 63) / 64)

typedef struct acl_pattern {
    char *pat;
    size_t len;
    int flags;                  /* keys: ACL_KEY_*; channels: unused */
} acl_pattern_t;

/* "+select|0": an argument allowed for an otherwise refused command. */
typedef struct acl_firstarg {
    int id;
    char *arg;
} acl_firstarg_t;

/* One user, as Redis keeps one: passwords as SHA-256 hex; a bitmap of
 * allowed command ids (subcommands have their own); key and channel
 * patterns in the order given. */
typedef struct acl_user {
    char *name;
    int enabled;                /* on / off */
    int nopass;                 /* any password (or none) is accepted */
    int sanitize;               /* 0, 1 sanitize-payload, 2 skip-... */
    int npass;
    char (*pass)[65];           /* SHA-256 hex of each password */
    int all_keys;               /* ~* / allkeys */
    int all_channels;           /* &* / allchannels */
    int all_commands;           /* +@all and nothing taken away since:
                                 * no bitmap check */
    int future;                 /* +@all since the last -@all: ACL LIST
                                 * starts from +@all (Redis's reserved
                                 * "future commands" bit) */
    uint64_t allowed[ACL_WORDS];
    int nfirstargs;
    acl_firstarg_t *firstargs;
    int nkeys;
    acl_pattern_t *keys;
    int nchans;
    acl_pattern_t *chans;
    int unrestricted;           /* all keys, channels and commands: no
                                 * permission check at all */
} acl_user_t;

/* Option hook for `user <name> [rule ...]` (one line per user, as in
 * redis.conf): Redis 7.0's rules (on off nopass resetpass reset >pw <pw
 * #hash !hash ~pattern %R~ %W~ %RW~ allkeys resetkeys &pattern
 * allchannels resetchannels +cmd -cmd +cmd|sub +cmd|firstarg +@cat -@cat
 * allcommands nocommands clearselectors sanitize-payload ...).  Selectors
 * "(...)" are refused with an error naming them.  Error texts as Redis's
 * ("Error in user declaration ..."). */
const char *auth_set_user(const config_opt_t *o, void *ctx, int argc,
                          char **argv);

/* After the options are loaded: build the `default` user (from a `user
 * default` line if there is one, else from requirepass, as Redis does).
 * Main thread, before the workers start. */
void auth_setup(struct proxy *p);
void auth_teardown(struct proxy *p);

/* The user new clients start as, and whether they start authenticated. */
const acl_user_t *auth_default_user(const struct proxy *p);
int auth_default_open(const struct proxy *p);
/* The default user has nopass (enabled or not): protected-mode's test. */
int auth_default_nopass(const struct proxy *p);

/* The user whose name and password these are, or NULL (unknown user,
 * disabled user or wrong password: Redis gives one text for all three). */
const acl_user_t *auth_check(const struct proxy *p, const char *name,
                             size_t nlen, const char *pass, size_t plen);
/* The user called name, or NULL. */
const acl_user_t *auth_find(const struct proxy *p, const char *name,
                            size_t nlen);
/* Every user, sorted by name as Redis lists them (n set to the count). */
const acl_user_t *const *auth_users(const struct proxy *p, int *n);

/* Result of a permission check (Redis's ACL_DENIED_* order). */
enum { ACL_OK = 0, ACL_DENIED_CMD, ACL_DENIED_KEY, ACL_DENIED_CHANNEL };
/* Can u run cmd with these arguments?  ACL_OK or why not; *pos is set to
 * the argv index of the refused key or channel. */
int auth_user_may(const acl_user_t *u, const cmd_spec_t *cmd, int argc,
                  const resp_arg_t *argv, int *pos);

/* Permission check of an authenticated client's command: NULL if allowed,
 * else Redis 7.0's NOPERM text (without '-'), in buf (size bufsz). */
const char *auth_perm_error(const acl_user_t *u, const cmd_spec_t *cmd,
                            int argc, const resp_arg_t *argv, char *buf,
                            size_t bufsz);

/* The same, inlined for the usual user who may do everything (one load
 * and compare per command on the request path). */
static inline const char *auth_perm_check(const acl_user_t *u,
                                          const cmd_spec_t *cmd, int argc,
                                          const resp_arg_t *argv, char *buf,
                                          size_t bufsz)
{
    if (!u || u->unrestricted) return NULL;
    return auth_perm_error(u, cmd, argc, argv, buf, bufsz);
}

/* ACL LIST's text of u after "user <name> " (flags, passwords, keys,
 * channels, command rules), and GETUSER's parts; appended to b. */
void auth_describe_user(const acl_user_t *u, buf_t *b);
void auth_describe_commands(const acl_user_t *u, buf_t *b);
void auth_describe_keys(const acl_user_t *u, buf_t *b);
void auth_describe_channels(const acl_user_t *u, buf_t *b);
/* GETUSER's flags ("on", "nopass" ...): returns how many, fills out. */
int auth_user_flags(const acl_user_t *u, const char **out);

/* Redis's ACL categories, in its order (ACL CAT); NULL-terminated. */
extern const char *const auth_categories[];
/* Is command c in category i of auth_categories? */
int auth_in_category(const cmd_spec_t *c, int i);
/* Index of a category name (no '@', any case), or -1. */
int auth_category_index(const char *name, size_t len);

#endif
