/*
 * cmdtab.c: the command table (commands.def) and its lookups.
 *
 * Lookup is on the hot path of every command, so top-level names go into
 * a small open-addressing table keyed by a case-folding FNV-1a hash; the
 * comparison is length first, then a case-insensitive compare.  The table
 * is built once at start-up and read-only afterwards, so threads (the
 * proxy's workers) share it without locks.
 */
#include "cmdtab.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static cmd_spec_t table[CMD__COUNT] = {
#define CMD(id_, name_, arity_, flags_, first_, last_, step_, route_,      \
            group_, since_, summary_, acl_, complexity_)                   \
    {.id = CMD_##id_, .name = name_, .arity = arity_, .flags = flags_,     \
     .first_key = first_, .last_key = last_, .key_step = step_,            \
     .route = route_, .group = group_, .since = since_,                    \
     .summary = summary_, .acl = acl_, .complexity = complexity_},
#include "commands.def"
#undef CMD
};

static const struct {
    cmd_id_t id;
    const char *resp3;
    size_t len;
} arg_docs[] = {
#define DOC(id_, s_) {CMD_##id_, s_, sizeof(s_) - 1},
#include "command_docs.def"
#undef DOC
};

static const struct {
    cmd_id_t id;
    const char *tips, *key_specs, *docs;
    size_t tips_len, key_specs_len, docs_len;
} info_docs[] = {
#define INFO(id_, t_, k_, d_) \
    {CMD_##id_, t_, k_, d_, sizeof(t_) - 1, sizeof(k_) - 1, sizeof(d_) - 1},
#include "command_info.def"
#undef INFO
};

#define LOOKUP_SIZE 1024  /* power of two, > 2x the number of commands */
static const cmd_spec_t *lookup[LOOKUP_SIZE];
static int setup_done;

/* Redis's ACL categories; the table's strings are split into these. */
static const char *const acl_names[] = {
    "@keyspace", "@read", "@write", "@set", "@sortedset", "@list",
    "@hash", "@string", "@bitmap", "@hyperloglog", "@geo", "@stream",
    "@pubsub", "@admin", "@fast", "@slow", "@blocking", "@dangerous",
    "@connection", "@transaction", "@scripting", NULL};

static void split_acl(cmd_spec_t *c)
{
    const char *p = c->acl;
    c->nacl = 0;
    while (*p) {
        while (*p == ' ') p++;
        size_t len = strcspn(p, " ");
        if (!len) break;
        for (int i = 0; acl_names[i]; i++)
            if (strlen(acl_names[i]) == len &&
                strncmp(acl_names[i], p, len) == 0 &&
                c->nacl < sizeof(c->acl_cats) / sizeof(c->acl_cats[0]))
                c->acl_cats[c->nacl++] = acl_names[i];
        p += len;
    }
}

/* ASCII lower case of every byte (filled by cmdtab_setup): one load per
 * character instead of a compare-and-branch, for every command looked up. */
static unsigned char fold[256];

/*
 * Case-insensitive hash of a command name (n > 0) from its length and
 * first, middle and last characters: a few instructions whatever the
 * length, and over Redis's command names it probes no more than hashing
 * every character did (1.3 entries on average; GET, SET, MGET ... 1).
 */
static inline uint32_t name_hash(const char *s, size_t n)
{
    uint32_t h = (uint32_t)fold[(unsigned char)s[0]] * 0x9E3779B1u ^
                 (uint32_t)fold[(unsigned char)s[n - 1]] * 0x85EBCA77u ^
                 (uint32_t)fold[(unsigned char)s[n / 2]] * 0xC2B2AE3Du ^
                 (uint32_t)n * 0x27D4EB2Fu;
    return h >> 16;
}

void cmdtab_setup(void)
{
    if (setup_done) return;
    for (int i = 0; i < 256; i++)
        fold[i] = (unsigned char)(i >= 'A' && i <= 'Z' ? i + 32 : i);
    const cmd_spec_t *parent = NULL;
    for (size_t i = 0; i < CMD__COUNT; i++) {
        cmd_spec_t *c = &table[i];
        assert(c->id == (cmd_id_t)i);
        c->namelen = strlen(c->name);
        split_acl(c);
        const char *bar = strchr(c->name, '|');
        if (bar) {
            assert(parent && strncmp(parent->name, c->name,
                                     (size_t)(bar - c->name)) == 0);
            c->parent = parent;
            c->subname = bar + 1;
            continue;
        }
        parent = c;
        c->subname = NULL;
        for (const char *q = c->name; *q; q++)
            assert(*q < 'A' || *q > 'Z');  /* eq_nocase needs lower case */
        uint32_t h = name_hash(c->name, c->namelen) & (LOOKUP_SIZE - 1);
        while (lookup[h]) h = (h + 1) & (LOOKUP_SIZE - 1);
        lookup[h] = c;
    }
    for (size_t i = 0; i < sizeof(arg_docs) / sizeof(arg_docs[0]); i++) {
        table[arg_docs[i].id].args_resp3 = arg_docs[i].resp3;
        table[arg_docs[i].id].args_len = arg_docs[i].len;
    }
    for (size_t i = 0; i < sizeof(info_docs) / sizeof(info_docs[0]); i++) {
        cmd_spec_t *c = &table[info_docs[i].id];
        c->tips_resp3 = info_docs[i].tips;
        c->tips_len = info_docs[i].tips_len;
        c->key_specs_resp3 = info_docs[i].key_specs;
        c->key_specs_len = info_docs[i].key_specs_len;
        /* "%N\r\n" then N pairs: keep the pairs and N */
        const char *d = info_docs[i].docs;
        const char *eol = strstr(d, "\r\n");
        assert(d[0] == '%' && eol);
        c->docs_pairs = (size_t)strtoul(d + 1, NULL, 10);
        c->docs_resp3 = eol + 2;
        c->docs_len = info_docs[i].docs_len - (size_t)(eol + 2 - d);
    }
    static_assert(CMD__COUNT * 2 < LOOKUP_SIZE, "grow LOOKUP_SIZE");
    setup_done = 1;
}

const cmd_spec_t *cmdtab_get(cmd_id_t id)
{
    return (size_t)id < CMD__COUNT ? &table[id] : NULL;
}

size_t cmdtab_count(void)
{
    return CMD__COUNT;
}

/* s (n bytes, any case) equals lower-case `lower`: strncasecmp in the C
 * locale, inlined (it runs for every command the node or proxy gets). */
static inline int eq_nocase(const char *lower, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (fold[(unsigned char)s[i]] != (unsigned char)lower[i]) return 0;
    return 1;
}

const cmd_spec_t *cmdtab_lookup(const char *name, size_t len)
{
    if (len == 0) return NULL;
    uint32_t h = name_hash(name, len) & (LOOKUP_SIZE - 1);
    const cmd_spec_t *c;
    while ((c = lookup[h]) != NULL) {
        if (c->namelen == len && eq_nocase(c->name, name, len)) return c;
        h = (h + 1) & (LOOKUP_SIZE - 1);
    }
    return NULL;
}

const cmd_spec_t *cmdtab_lookup_sub(const cmd_spec_t *parent,
                                    const char *sub, size_t len)
{
    for (size_t i = (size_t)parent->id + 1; i < CMD__COUNT; i++) {
        const cmd_spec_t *c = &table[i];
        if (c->parent != parent) break;
        if (strlen(c->subname) == len && strncasecmp(c->subname, sub, len) == 0)
            return c;
    }
    return NULL;
}

size_t cmdtab_subcommands(const cmd_spec_t *parent, const cmd_spec_t **out,
                          size_t max)
{
    size_t n = 0;
    for (size_t i = (size_t)parent->id + 1; i < CMD__COUNT; i++) {
        if (table[i].parent != parent) break;
        if (n < max) out[n] = &table[i];
        n++;
    }
    return n;
}

/*
 * Commands whose keys follow a numkeys argument (Redis's movablekeys):
 * argv[numkeys_at] is the count, the keys follow it; `dest` is a first
 * key before it (ZUNIONSTORE dest numkeys k1 k2).
 */
static const struct {
    cmd_id_t id;
    int numkeys_at;
    int dest;
} numkeys_cmds[] = {
    {CMD_LMPOP, 1, 0},        {CMD_BLMPOP, 2, 0},
    {CMD_ZMPOP, 1, 0},        {CMD_BZMPOP, 2, 0},
    {CMD_SINTERCARD, 1, 0},   {CMD_ZINTERCARD, 1, 0},
    {CMD_ZUNION, 1, 0},       {CMD_ZINTER, 1, 0},
    {CMD_ZDIFF, 1, 0},        {CMD_ZUNIONSTORE, 2, 1},
    {CMD_ZINTERSTORE, 2, 1},  {CMD_ZDIFFSTORE, 2, 1},
};

static int numkeys_keys(int at, int dest, int argc, const resp_arg_t *argv,
                        int *idx, int max)
{
    long long nk;
    if (argc <= at || !resp_str2ll(argv[at].ptr, argv[at].len, &nk) ||
        nk <= 0 || nk > argc - at - 1)
        return -1;
    int n = 0;
    if (dest) {
        if (n < max) idx[n] = 1;
        n++;
    }
    for (int i = 0; i < (int)nk; i++, n++)
        if (n < max) idx[n] = at + 1 + i;
    return n;
}

/* MIGRATE host port key db timeout [...]: the key, or with an empty key
 * every argument after KEYS (Redis's migrateGetKeys). */
static int migrate_keys(int argc, const resp_arg_t *argv, int *idx, int max)
{
    int first = 3, num = 1;
    if (argc > 6 && argv[3].len == 0)
        for (int i = 6; i < argc; i++)
            if (argv[i].len == 4 && strncasecmp(argv[i].ptr, "keys", 4) == 0) {
                first = i + 1;
                num = argc - first;
                break;
            }
    for (int i = 0; i < num && i < max; i++) idx[i] = first + i;
    return num;
}

int cmdtab_keys(const cmd_spec_t *c, int argc, const resp_arg_t *argv,
                int *idx, int max)
{
    if (c->id == CMD_MIGRATE)
        return argc < 6 ? -1 : migrate_keys(argc, argv, idx, max);
    if (c->flags & CF_MOVABLEKEYS) {
        for (size_t i = 0; i < sizeof(numkeys_cmds) / sizeof(numkeys_cmds[0]);
             i++)
            if (numkeys_cmds[i].id == c->id)
                return numkeys_keys(numkeys_cmds[i].numkeys_at,
                                    numkeys_cmds[i].dest, argc, argv, idx,
                                    max);
        return -1;
    }
    if (c->first_key <= 0 || argc <= c->first_key) return 0;
    int last = c->last_key >= 0 ? c->last_key : argc + c->last_key;
    if (last >= argc) last = argc - 1;
    int step = c->key_step > 0 ? c->key_step : 1;
    /* MSET a 1 b: Redis reports a and b (the handler rejects the
     * missing value when it runs). */
    int n = 0;
    for (int i = c->first_key; i <= last; i += step) {
        if (n < max) idx[n] = i;
        n++;
    }
    return n;
}

static const char *const flag_names[CF_FLAG_COUNT] = {
    "write", "readonly", "denyoom", "admin", "pubsub", "noscript",
    "blocking", "loading", "stale", "skip_monitor", "skip_slowlog", "fast",
    "no_auth", "may_replicate", "no_multi", "movablekeys", "allow_busy",
    "protected", "no_mandatory_keys", NULL, "asking", "no_async_loading",
};

const char *cmdtab_flag_name(unsigned bit)
{
    return bit < CF_FLAG_COUNT ? flag_names[bit] : NULL;
}

size_t cmdtab_acl_categories(const cmd_spec_t *c, const char **out,
                             size_t max)
{
    size_t n = c->nacl < max ? c->nacl : max;
    for (size_t i = 0; i < n; i++) out[i] = c->acl_cats[i];
    return c->nacl;
}
