/*
 * auth.h: the proxy's users (Redis ACL syntax, a subset) and the checks
 * made before a client's command runs: authentication (NOAUTH) and the
 * all-or-nothing permissions the subset can express (NOPERM).
 */
#ifndef TS_PROXY_AUTH_H
#define TS_PROXY_AUTH_H

#include "cmdtab.h"
#include "config.h"
#include "resp.h"

struct proxy;
struct pclient;

/* One user.  Passwords are kept as SHA-256 hex, as Redis keeps them. */
typedef struct acl_user {
    char *name;
    int enabled;                /* on / off */
    int nopass;                 /* any password (or none) is accepted */
    int npass;
    char (*pass)[65];           /* SHA-256 hex of each password */
    int all_keys;               /* ~* / allkeys (else: no key at all) */
    int all_channels;           /* &* / allchannels (else: none) */
    int all_commands;           /* +@all / allcommands (else: none) */
    int unrestricted;           /* all three: no permission check at all */
} acl_user_t;

/* Option hook for `user <name> [rule ...]` (one line per user, as in
 * redis.conf).  Accepted rules: on off nopass resetpass reset >pw <pw
 * #hash !hash ~* %RW~* allkeys resetkeys &* allchannels resetchannels
 * +@all allcommands -@all nocommands clearselectors.  Other rules Redis
 * accepts (key or channel patterns, single commands or categories,
 * selectors) are refused with an error naming them: the proxy could not
 * enforce them.  Error texts as Redis's ("Error in user declaration ..."). */
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

#endif
