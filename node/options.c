/*
 * options.c: every option the storage node accepts, as one table.
 *
 * Values live in node_t fields (hot code reads plain fields).  Options
 * that describe features Tessera does not have accept only the value
 * that means "without it" (`databases 1`, `list-compress-depth 0`,
 * `aof-use-rdb-preamble yes`, `aof-timestamp-enabled no`) and refuse
 * anything else with a clear error: a configuration that asks for a
 * feature must never be silently ignored.
 */
#include "options.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "alloc.h"
#include "cluster/cluster.h"
#include "cmdtab.h"
#include "evict.h"
#include "persist/aof.h"
#include "log.h"
#include "node.h"
#include "notify.h"
#include "repl/repl.h"
#include "server.h"
#include "slowlog.h"

/* Field offsets, +1 so that the first field is not NULL; resolved against
 * a node by options_for_node. */
#define NODE(f) ((void *)(offsetof(node_t, f) + 1))

static const char *const debug_cmd_names[] = {"no", "yes", "local", NULL};
/* Order: CL_ENDPOINT_IP, _HOSTNAME, _UNKNOWN (cluster.h). */
static const char *const endpoint_type_names[] = {"ip", "hostname",
                                                  "unknown-endpoint", NULL};
/* Redis's order (its error lists them in this order); enum evict_policy
 * (evict.h) is the index. */
static const char *const policy_names[] = {
    "volatile-lru", "volatile-lfu",   "volatile-random", "volatile-ttl",
    "allkeys-lru",  "allkeys-lfu",    "allkeys-random",  "noeviction",
    NULL};
static const char *const obuf_class_names[OBUF_CLASSES] = {"normal", "slave",
                                                           "pubsub"};

/* ---- bind ---- */
static const char *set_bind(const config_opt_t *o, void *ctx, int argc,
                            char **argv)
{
    node_t *n = ctx;
    if (argc < 1 || argc > NODE_MAX_BIND) return "Too many bind addresses specified.";
    size_t len = 0;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    char *s = ts_malloc(len + 1);
    s[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (i) strcat(s, " ");
        strcat(s, argv[i]);
    }
    char *old = n->bind_str;
    n->bind_str = s;
    if (n->base && n->nlisten > 0) {
        const char *err = server_rebind(n);
        if (err) {
            n->bind_str = old;
            ts_free(s);
            return err;
        }
    }
    ts_free(old);
    return NULL;
}

static void get_bind(const config_opt_t *o, void *ctx, char *out, size_t sz)
{
    node_t *n = ctx;
    snprintf(out, sz, "%s", n->bind_str ? n->bind_str : "");
}

/* ---- port: reopen listeners when changed at run time ---- */
static const char *apply_port(const config_opt_t *o, void *ctx)
{
    node_t *n = ctx;
    if (n->base && n->nlisten > 0) return server_rebind(n);
    return NULL;
}

/* ---- dir ---- */
static const char *set_dir(const config_opt_t *o, void *ctx, int argc,
                           char **argv)
{
    if (argc != 1) return "wrong number of arguments";
    if (chdir(argv[0]) != 0) return strerror(errno);
    return NULL;
}

static void get_dir(const config_opt_t *o, void *ctx, char *out, size_t sz)
{
    if (!getcwd(out, sz)) snprintf(out, sz, ".");
}

/* ---- save: Redis's setConfigSaveOption: pairs of seconds >= 1 and
 * changes >= 0; `save ""` (or nothing) removes every save point ---- */
static const char *set_save(const config_opt_t *o, void *ctx, int argc,
                            char **argv)
{
    node_t *n = ctx;
    long long v[2 * NODE_MAX_SAVE_POINTS];
    if (argc == 1 && argv[0][0] == '\0') argc = 0;
    if (argc % 2 || argc > 2 * NODE_MAX_SAVE_POINTS)
        return "Invalid save parameters";
    for (int i = 0; i < argc; i++) {
        char *end;
        errno = 0;
        v[i] = strtoll(argv[i], &end, 10);
        if (!argv[i][0] || *end || errno ||
            (i % 2 == 0 && v[i] < 1) || (i % 2 == 1 && v[i] < 0))
            return "Invalid save parameters";
    }
    for (int i = 0; i < argc / 2; i++) {
        n->save_points[i].seconds = v[2 * i];
        n->save_points[i].changes = v[2 * i + 1];
    }
    n->nsave_points = argc / 2;
    return NULL;
}

static void get_save(const config_opt_t *o, void *ctx, char *out, size_t sz)
{
    node_t *n = ctx;
    size_t off = 0;
    out[0] = '\0';
    for (int i = 0; i < n->nsave_points && off < sz; i++)
        off += (size_t)snprintf(out + off, sz - off, "%s%lld %lld",
                                i ? " " : "", n->save_points[i].seconds,
                                n->save_points[i].changes);
}

/* dbfilename must be a plain file name (Redis's isValidDBfilename). */
static const char *set_dbfilename(const config_opt_t *o, void *ctx, int argc,
                                  char **argv)
{
    if (argc == 1 && strchr(argv[0], '/'))
        return "dbfilename can't be a path, just a filename";
    return NULL;
}

static void get_empty(const config_opt_t *o, void *ctx, char *out, size_t sz)
{
    snprintf(out, sz, "%s", "");
}

/* ---- AOF (persist/aof.c) ---- */
static const char *const appendfsync_names[] = {"always", "everysec", "no",
                                                NULL};

/* CONFIG SET appendonly yes|no: start (with a rewrite) or stop the AOF. */
static const char *apply_appendonly(const config_opt_t *o, void *ctx)
{
    return aof_apply_appendonly(ctx);
}

/* appendfilename / appenddirname are names inside `dir`, not paths. */
static const char *set_appendfilename(const config_opt_t *o, void *ctx,
                                      int argc, char **argv)
{
    if (argc == 1 && strchr(argv[0], '/'))
        return "appendfilename can't be a path, just a filename";
    return NULL;
}

static const char *set_appenddirname(const config_opt_t *o, void *ctx,
                                     int argc, char **argv)
{
    if (argc == 1 && strchr(argv[0], '/'))
        return "appenddirname can't be a path, just a dirname";
    return NULL;
}

static const char *set_aof_preamble(const config_opt_t *o, void *ctx,
                                    int argc, char **argv)
{
    if (argc == 1 && strcasecmp(argv[0], "no") == 0)
        return "AOF base files as commands are not implemented in Tessera "
               "(they are loaded, not written); only aof-use-rdb-preamble "
               "yes is accepted";
    return NULL;
}

static const char *set_aof_timestamp(const config_opt_t *o, void *ctx,
                                     int argc, char **argv)
{
    if (argc == 1 && strcasecmp(argv[0], "yes") == 0)
        return "AOF timestamp annotations are not implemented in Tessera; "
               "only aof-timestamp-enabled no is accepted";
    return NULL;
}

/* Lists are never LZF-compressed: refuse a depth that asks for it. */
static const char *set_list_compress_depth(const config_opt_t *o, void *ctx,
                                           int argc, char **argv)
{
    char *end;
    if (argc != 1 || !argv[0][0]) return NULL; /* the typed parse errs */
    long long v = strtoll(argv[0], &end, 10);
    if (*end == '\0' && v != 0)
        return "list compression is not implemented in Tessera; only "
               "list-compress-depth 0 is accepted";
    return NULL;
}

static const char *apply_cluster_announce(const config_opt_t *o, void *ctx)
{
    cluster_announce_changed(ctx);
    return NULL;
}

/* cluster-announce-hostname: Redis 7.0 accepts letters, digits, '-'
 * and '.' only (the name goes into CLUSTER NODES and nodes.conf). */
static const char *set_announce_hostname(const config_opt_t *o, void *ctx,
                                         int argc, char **argv)
{
    if (argc != 1) return NULL;
    for (const char *p = argv[0]; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
              (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
            return "Hostnames must be less than 256 characters and only "
                   "contain alphanumeric characters, '-' or '.'";
    if (strlen(argv[0]) >= 256)
        return "Hostnames must be less than 256 characters and only "
               "contain alphanumeric characters, '-' or '.'";
    return NULL;
}

/* ---- client-output-buffer-limit <class> <hard> <soft> <secs> ... ---- */
static const char *set_obuf(const config_opt_t *o, void *ctx, int argc,
                            char **argv)
{
    node_t *n = ctx;
    if (argc == 0 || argc % 4 != 0)
        return "Wrong number of arguments in buffer limit configuration.";
    obuf_limit_t tmp[OBUF_CLASSES];
    memcpy(tmp, n->obuf_limits, sizeof(tmp));
    for (int i = 0; i < argc; i += 4) {
        int cls = -1;
        if (strcasecmp(argv[i], "normal") == 0) cls = OBUF_NORMAL;
        else if (strcasecmp(argv[i], "slave") == 0 ||
                 strcasecmp(argv[i], "replica") == 0)
            cls = OBUF_REPLICA;
        else if (strcasecmp(argv[i], "pubsub") == 0) cls = OBUF_PUBSUB;
        if (cls < 0) return "Invalid client class specified in buffer limit configuration.";
        long long hard, soft;
        char *end;
        errno = 0;
        long long secs = strtoll(argv[i + 3], &end, 10);
        if (config_parse_memory(argv[i + 1], &hard) != 0 ||
            config_parse_memory(argv[i + 2], &soft) != 0 || *end ||
            errno || secs < 0 || hard < 0 || soft < 0)
            return "Error in hard, soft or soft_seconds setting in buffer "
                   "limit configuration.";
        tmp[cls].hard = hard;
        tmp[cls].soft = soft;
        tmp[cls].soft_seconds = secs;
    }
    memcpy(n->obuf_limits, tmp, sizeof(tmp));
    return NULL;
}

static void get_obuf(const config_opt_t *o, void *ctx, char *out, size_t sz)
{
    node_t *n = ctx;
    size_t len = 0;
    out[0] = '\0';
    for (int i = 0; i < OBUF_CLASSES && len < sz; i++)
        len += (size_t)snprintf(out + len, sz - len, "%s%s %lld %lld %lld",
                                i ? " " : "", obuf_class_names[i],
                                n->obuf_limits[i].hard, n->obuf_limits[i].soft,
                                n->obuf_limits[i].soft_seconds);
}

/* ---- rename-command <name> <newname> ---- */
static const char *set_rename(const config_opt_t *o, void *ctx, int argc,
                              char **argv)
{
    node_t *n = ctx;
    if (argc != 2) return "wrong number of arguments";
    cmdtab_setup();
    const cmd_spec_t *c = cmdtab_lookup(argv[0], strlen(argv[0]));
    if (!c) return "No such command in rename-command";
    if (argv[1][0] && cmdtab_lookup(argv[1], strlen(argv[1])) &&
        strcasecmp(argv[0], argv[1]) != 0)
        return "Target command name already exists";
    ts_free(n->renamed[c->id]);
    n->renamed[c->id] = strcasecmp(argv[0], argv[1]) == 0
                            ? NULL
                            : ts_strdup(argv[1]);
    return NULL;
}

/* ---- hooks that act on change ---- */
static const char *apply_loglevel(const config_opt_t *o, void *ctx)
{
    log_set_level(((node_t *)ctx)->loglevel);
    return NULL;
}

/* As Redis: any value is accepted and clamped to 1..500. */
static const char *apply_hz(const config_opt_t *o, void *ctx)
{
    node_t *n = ctx;
    if (n->hz < 1) n->hz = 1;
    if (n->hz > 500) n->hz = 500;
    if (n->base && n->cron_ev) server_rearm_cron(n);
    return NULL;
}

static const char *apply_slowlog_len(const config_opt_t *o, void *ctx)
{
    node_t *n = ctx;
    if (n->slowlog) slowlog_trim(n);
    return NULL;
}

/* CONFIG SET maxmemory below the memory in use evicts right away. */
static const char *apply_maxmemory(const config_opt_t *o, void *ctx)
{
    node_t *n = ctx;
    if (n->ks) evict_maxmemory_changed(n);
    return NULL;
}

/* New keys get the policy's initial LRU/LFU value from now on. */
static const char *apply_policy(const config_opt_t *o, void *ctx)
{
    evict_policy_changed(ctx);
    return NULL;
}

/* ---- replication (node/repl) ---- */
static const char *set_replicaof(const config_opt_t *o, void *ctx, int argc,
                                 char **argv)
{
    return repl_opt_set_replicaof(ctx, argc, argv);
}

static void get_replicaof(const config_opt_t *o, void *ctx, char *out,
                          size_t sz)
{
    repl_opt_get_replicaof(ctx, out, sz);
}

static const char *apply_backlog_size(const config_opt_t *o, void *ctx)
{
    repl_backlog_resize(ctx);
    return NULL;
}

static const char *apply_min_ack(const config_opt_t *o, void *ctx)
{
    repl_min_ack_changed(ctx);
    return NULL;
}

#define MB (1024LL * 1024)
#define LMAX 0x7fffffffffffffffLL

static const config_opt_t node_options[] = {
    {.name = "port", .type = CONFIG_INT, .ptr = NODE(port), .def = "7000",
     .min = 0, .max = 65535, .apply = apply_port,
     .doc = "TCP port for clients (0: no TCP listener)."},
    {.name = "bind", .type = CONFIG_SPECIAL, .flags = CONFIG_MULTI_ARG,
     .def = "* -::*", .set = set_bind, .get = get_bind,
     .doc = "Addresses to listen on; a leading '-' makes one optional."},
    {.name = "protected-mode", .type = CONFIG_BOOL,
     .ptr = NODE(protected_mode), .def = "yes",
     .doc = "Without a password, refuse clients that are not on loopback."},
    {.name = "requirepass", .type = CONFIG_STRING, .flags = CONFIG_SENSITIVE,
     .ptr = NODE(requirepass), .def = "",
     .doc = "Password of the default user (AUTH)."},
    {.name = "maxclients", .type = CONFIG_INT, .ptr = NODE(maxclients),
     .def = "10000", .min = 1, .max = 1000000,
     .doc = "Maximum number of connected clients."},
    {.name = "timeout", .type = CONFIG_INT, .ptr = NODE(timeout), .def = "0",
     .min = 0, .max = 0x7fffffff,
     .doc = "Close clients idle for this many seconds (0: never)."},
    {.name = "tcp-keepalive", .type = CONFIG_INT, .ptr = NODE(tcp_keepalive),
     .def = "300", .min = 0, .max = 0x7fffffff,
     .doc = "TCP keepalive period in seconds (0: off)."},
    {.name = "tcp-backlog", .type = CONFIG_INT, .flags = CONFIG_IMMUTABLE,
     .ptr = NODE(tcp_backlog), .def = "511", .min = 0, .max = 65535,
     .doc = "listen() backlog."},
    {.name = "loglevel", .type = CONFIG_ENUM, .ptr = NODE(loglevel),
     .def = "notice", .enum_names = log_level_names, .apply = apply_loglevel,
     .doc = "debug, verbose, notice or warning."},
    {.name = "logfile", .type = CONFIG_STRING, .flags = CONFIG_IMMUTABLE,
     .ptr = NODE(logfile), .def = "",
     .doc = "Log file path; empty logs to standard output."},
    {.name = "dir", .type = CONFIG_SPECIAL, .def = NULL, .set = set_dir,
     .get = get_dir, .doc = "Working directory (files are written here)."},
    {.name = "daemonize", .type = CONFIG_BOOL, .flags = CONFIG_IMMUTABLE,
     .ptr = NODE(daemonize), .def = "no",
     .doc = "Run in the background."},
    {.name = "pidfile", .type = CONFIG_STRING, .flags = CONFIG_IMMUTABLE,
     .ptr = NODE(pidfile), .def = "",
     .doc = "Write the process id to this file."},
    {.name = "proto-max-bulk-len", .type = CONFIG_MEMORY,
     .ptr = NODE(proto_max_bulk_len), .def = "512mb", .min = 1 * MB,
     .max = LMAX, .doc = "Largest bulk string a client may send."},
    {.name = "client-query-buffer-limit", .type = CONFIG_MEMORY,
     .ptr = NODE(client_query_buffer_limit), .def = "1gb", .min = 1 * MB,
     .max = LMAX, .doc = "Largest query buffer of one client."},
    {.name = "client-output-buffer-limit", .type = CONFIG_SPECIAL,
     .flags = CONFIG_MULTI_ARG,
     .def = "normal 0 0 0 slave 256mb 64mb 60 pubsub 32mb 8mb 60",
     .set = set_obuf, .get = get_obuf,
     .doc = "Output buffer limits per client class: hard soft seconds."},
    {.name = "hz", .type = CONFIG_INT, .ptr = NODE(hz), .def = "10", .min = 0,
     .max = 0x7fffffff, .apply = apply_hz,
     .doc = "Background task frequency (expiry, timeouts); clamped to 1..500."},
    {.name = "busy-poll-us", .type = CONFIG_INT, .ptr = NODE(busy_poll_us),
     .def = "50", .min = 0, .max = 10000,
     .doc = "After a round of client input, poll without sleeping for up to "
            "this many microseconds before blocking, while the machine has "
            "a CPU to spare (0: never spin)."},
    {.name = "enable-debug-command", .type = CONFIG_ENUM,
     .flags = CONFIG_IMMUTABLE, .ptr = NODE(enable_debug_cmd), .def = "no",
     .enum_names = debug_cmd_names,
     .doc = "Allow DEBUG: no, yes, or local (loopback clients only)."},
    {.name = "rename-command", .type = CONFIG_SPECIAL,
     .flags = CONFIG_IMMUTABLE | CONFIG_MULTI_ARG, .set = set_rename,
     .get = get_empty,
     .doc = "rename-command NAME NEWNAME; an empty NEWNAME disables NAME."},
    {.name = "slowlog-log-slower-than", .type = CONFIG_INT,
     .ptr = NODE(slowlog_slower_than), .def = "10000", .min = -1,
     .max = LMAX, .doc = "Log commands slower than this many microseconds."},
    {.name = "slowlog-max-len", .type = CONFIG_INT,
     .ptr = NODE(slowlog_max_len), .def = "128", .min = 0, .max = LMAX,
     .apply = apply_slowlog_len, .doc = "Entries kept in the slow log."},
    {.name = "list-max-listpack-size", .alias = "list-max-ziplist-size",
     .type = CONFIG_INT, .ptr = NODE(list_max_listpack_size), .def = "-2",
     .min = -2147483648LL, .max = 2147483647LL,
     .doc = "List node size: > 0 entries per node, -1..-5 node bytes "
            "4/8/16/32/64 KB (beyond -5 counts as -5)."},
    {.name = "list-compress-depth", .type = CONFIG_INT,
     .ptr = NODE(list_compress_depth), .def = "0", .min = 0,
     .max = 2147483647LL, .set = set_list_compress_depth,
     .doc = "List node compression; only 0 (Tessera does not compress "
            "lists yet)."},
    {.name = "maxmemory", .type = CONFIG_MEMORY, .ptr = NODE(maxmemory),
     .def = "0", .min = 0, .max = LMAX, .apply = apply_maxmemory,
     .doc = "Memory limit: keys are evicted by maxmemory-policy above it, "
            "and writes get -OOM when none can be (0: none)."},
    {.name = "maxmemory-policy", .type = CONFIG_ENUM,
     .ptr = NODE(maxmemory_policy), .def = "noeviction",
     .enum_names = policy_names, .apply = apply_policy,
     .doc = "Which keys to evict at maxmemory: allkeys-* or volatile-* (keys "
            "with a TTL) by lru, lfu or random, volatile-ttl, or "
            "noeviction."},
    {.name = "maxmemory-samples", .type = CONFIG_INT,
     .ptr = NODE(maxmemory_samples), .def = "5", .min = 1,
     .max = 0x7fffffff,
     .doc = "Keys sampled per eviction by the LRU, LFU and TTL policies "
            "(more: closer to exact, slower)."},
    {.name = "maxmemory-eviction-tenacity", .type = CONFIG_INT,
     .ptr = NODE(maxmemory_eviction_tenacity), .def = "10", .min = 0,
     .max = 100,
     .doc = "Time spent evicting per command (10: 500 us; 100: no limit); "
            "the rest is done from the event loop."},
    {.name = "lfu-log-factor", .type = CONFIG_INT,
     .ptr = NODE(lfu_log_factor), .def = "10", .min = 0, .max = 0x7fffffff,
     .doc = "How slowly the LFU counter grows with hits."},
    {.name = "lfu-decay-time", .type = CONFIG_INT,
     .ptr = NODE(lfu_decay_time), .def = "1", .min = 0, .max = 0x7fffffff,
     .doc = "Minutes per decrement of an idle key's LFU counter (0: never)."},
    {.name = "hash-max-listpack-entries", .alias = "hash-max-ziplist-entries",
     .type = CONFIG_INT, .ptr = NODE(hash_max_listpack_entries), .def = "512",
     .min = 0, .max = LMAX,
     .doc = "Hashes with more fields than this use a hash table."},
    {.name = "hash-max-listpack-value", .alias = "hash-max-ziplist-value",
     .type = CONFIG_INT, .ptr = NODE(hash_max_listpack_value), .def = "64",
     .min = 0, .max = LMAX,
     .doc = "Hashes with a field or value longer than this use a hash "
            "table."},
    {.name = "zset-max-listpack-entries", .alias = "zset-max-ziplist-entries",
     .type = CONFIG_INT, .ptr = NODE(zset_max_listpack_entries), .def = "128",
     .min = 0, .max = LMAX,
     .doc = "Sorted sets with more members than this use a skiplist."},
    {.name = "zset-max-listpack-value", .alias = "zset-max-ziplist-value",
     .type = CONFIG_INT, .ptr = NODE(zset_max_listpack_value), .def = "64",
     .min = 0, .max = LMAX,
     .doc = "Sorted sets with a member longer than this use a skiplist."},
    {.name = "set-max-intset-entries", .type = CONFIG_INT,
     .ptr = NODE(set_max_intset_entries), .def = "512", .min = 0,
     .max = LMAX,
     .doc = "Sets of integers with more members than this use a hash "
            "table (capped at 2^30)."},
    {.name = "hll-sparse-max-bytes", .type = CONFIG_MEMORY,
     .ptr = NODE(hll_sparse_max_bytes), .def = "3000", .min = 0, .max = LMAX,
     .doc = "HyperLogLogs whose sparse encoding would grow past this many "
            "bytes (header included) become dense (12304 bytes)."},
    {.name = "notify-keyspace-events", .type = CONFIG_SPECIAL, .def = "",
     .set = notify_config_set, .get = notify_config_get,
     .doc = "Keyspace notifications: K (`__keyspace@0__:<key>` channels) "
            "and/or E (`__keyevent@0__:<event>`), and the classes g $ l s h "
            "z x e t m d n (A: g$lshzxetd); \"\" (the default) for none."},
    {.name = "databases", .type = CONFIG_INT, .flags = CONFIG_IMMUTABLE,
     .ptr = NODE(databases), .def = "1", .min = 1, .max = 1,
     .doc = "Tessera has database 0 only."},
    {.name = "save", .type = CONFIG_SPECIAL,
     .flags = CONFIG_MULTI_ARG | CONFIG_ACCUMULATE,
     .def = "3600 1 300 100 60 10000", .set = set_save, .get = get_save,
     .doc = "Snapshot points: `save <seconds> <changes>` pairs; a BGSAVE "
            "starts when that many changes happened in that many seconds "
            "(\"\": none)."},
    {.name = "dbfilename", .type = CONFIG_STRING, .ptr = NODE(dbfilename),
     .def = "dump.rdb", .set = set_dbfilename,
     .doc = "RDB file name, in `dir`; loaded at start if present."},
    {.name = "rdbcompression", .type = CONFIG_BOOL,
     .ptr = NODE(rdbcompression), .def = "yes",
     .doc = "LZF-compress strings longer than 20 bytes in RDB files."},
    {.name = "rdb-key-save-delay", .type = CONFIG_INT, .flags = CONFIG_HIDDEN,
     .ptr = NODE(rdb_key_save_delay), .def = "0", .min = -2147483647LL - 1,
     .max = 2147483647LL,
     .doc = "Testing: sleep this many microseconds per key written to an "
            "RDB (a negative -N: 1 us with probability 1/N)."},
    {.name = "rdbchecksum", .type = CONFIG_BOOL, .ptr = NODE(rdbchecksum),
     .def = "yes",
     .doc = "Write a CRC64 at the end of RDB files and check it on load."},
    {.name = "stop-writes-on-bgsave-error", .type = CONFIG_BOOL,
     .ptr = NODE(stop_writes_on_bgsave_err), .def = "yes",
     .doc = "Refuse writes (-MISCONF) while the last BGSAVE failed."},
    {.name = "appendonly", .type = CONFIG_BOOL, .ptr = NODE(appendonly),
     .def = "no", .apply = apply_appendonly,
     .doc = "Append only file (Redis 7.0 multi-part: base + incr files and a "
            "manifest in `appenddirname`); loaded at start instead of the "
            "RDB file.  CONFIG SET appendonly yes starts it with a rewrite."},
    {.name = "appendfilename", .type = CONFIG_STRING,
     .flags = CONFIG_IMMUTABLE, .ptr = NODE(appendfilename),
     .def = "appendonly.aof", .set = set_appendfilename,
     .doc = "Base name of the AOF files and of the manifest."},
    {.name = "appenddirname", .type = CONFIG_STRING,
     .flags = CONFIG_IMMUTABLE, .ptr = NODE(appenddirname),
     .def = "appendonlydir", .set = set_appenddirname,
     .doc = "Directory (inside `dir`) holding the AOF files."},
    {.name = "appendfsync", .type = CONFIG_ENUM, .ptr = NODE(appendfsync),
     .def = "everysec", .enum_names = appendfsync_names,
     .doc = "always: reply after write + fsync (one fsync per event-loop "
            "round); everysec: fsync in the background once a second; no: "
            "leave it to the OS."},
    {.name = "no-appendfsync-on-rewrite", .type = CONFIG_BOOL,
     .ptr = NODE(no_appendfsync_on_rewrite), .def = "no",
     .doc = "Skip fsyncs while a rewrite or BGSAVE child runs."},
    {.name = "auto-aof-rewrite-percentage", .type = CONFIG_INT,
     .ptr = NODE(auto_aof_rewrite_perc), .def = "100", .min = 0,
     .max = 0x7fffffff,
     .doc = "Rewrite when the AOF grew by this percentage since the last "
            "rewrite (0: never automatically)."},
    {.name = "auto-aof-rewrite-min-size", .type = CONFIG_MEMORY,
     .ptr = NODE(auto_aof_rewrite_min_size), .def = "64mb", .min = 0,
     .max = LMAX,
     .doc = "No automatic rewrite below this AOF size."},
    {.name = "aof-load-truncated", .type = CONFIG_BOOL,
     .ptr = NODE(aof_load_truncated), .def = "yes",
     .doc = "Load an AOF whose last command is torn (dropped and the file "
            "truncated, with a warning) instead of refusing to start."},
    {.name = "aof-use-rdb-preamble", .type = CONFIG_BOOL,
     .ptr = NODE(aof_use_rdb_preamble), .def = "yes",
     .set = set_aof_preamble,
     .doc = "Rewrites write the base file as RDB; only yes (bases written "
            "as commands by Redis load fine)."},
    {.name = "aof-rewrite-incremental-fsync", .type = CONFIG_BOOL,
     .ptr = NODE(aof_rewrite_incremental_fsync), .def = "yes",
     .doc = "The rewrite child fsyncs every 4 MB written."},
    {.name = "aof-timestamp-enabled", .type = CONFIG_BOOL,
     .ptr = NODE(aof_timestamp_enabled), .def = "no",
     .set = set_aof_timestamp,
     .doc = "Timestamp annotations in the AOF; only no."},
    {.name = "cluster-enabled", .type = CONFIG_BOOL,
     .flags = CONFIG_IMMUTABLE, .ptr = NODE(cluster_enabled), .def = "no",
     .doc = "Cluster mode: 16384 hash slots, the cluster bus, CLUSTER "
            "commands, MOVED/ASK redirections."},
    {.name = "cluster-config-file", .type = CONFIG_STRING,
     .flags = CONFIG_IMMUTABLE, .ptr = NODE(cluster_config_file),
     .def = "nodes.conf",
     .doc = "Cluster state file (node id, epochs, peers, slots), rewritten "
            "atomically by the node."},
    {.name = "cluster-port", .type = CONFIG_INT, .flags = CONFIG_IMMUTABLE,
     .ptr = NODE(cluster_port), .def = "0", .min = 0, .max = 65535,
     .doc = "Cluster bus port (0: client port + 10000)."},
    {.name = "cluster-node-timeout", .type = CONFIG_INT,
     .ptr = NODE(cluster_node_timeout), .def = "15000", .min = 0,
     .max = LMAX,
     .doc = "Milliseconds without an answer before a peer is suspected "
            "(PFAIL)."},
    {.name = "cluster-announce-ip", .type = CONFIG_STRING,
     .ptr = NODE(cluster_announce_ip), .def = "",
     .apply = apply_cluster_announce,
     .doc = "Address announced to peers (default: as they see us)."},
    {.name = "cluster-announce-port", .type = CONFIG_INT,
     .ptr = NODE(cluster_announce_port), .def = "0", .min = 0,
     .max = 65535, .apply = apply_cluster_announce,
     .doc = "Client port announced to peers (0: port)."},
    {.name = "cluster-announce-bus-port", .type = CONFIG_INT,
     .ptr = NODE(cluster_announce_bus_port), .def = "0", .min = 0,
     .max = 65535,
     .apply = apply_cluster_announce,
     .doc = "Bus port announced to peers (0: the bus port)."},
    {.name = "cluster-announce-hostname", .type = CONFIG_STRING,
     .ptr = NODE(cluster_announce_hostname), .def = "",
     .set = set_announce_hostname, .apply = apply_cluster_announce,
     .doc = "Hostname announced to peers (CLUSTER NODES, SHARDS)."},
    {.name = "cluster-require-full-coverage", .type = CONFIG_BOOL,
     .ptr = NODE(cluster_require_full_coverage), .def = "yes",
     .doc = "The cluster is down while any slot is unserved."},
    {.name = "cluster-allow-reads-when-down", .type = CONFIG_BOOL,
     .ptr = NODE(cluster_allow_reads_when_down), .def = "no",
     .doc = "Serve reads while the cluster is down."},
    {.name = "cluster-secret", .type = CONFIG_STRING,
     .flags = CONFIG_IMMUTABLE | CONFIG_SENSITIVE,
     .ptr = NODE(cluster_secret), .def = "",
     .doc = "Key of the HMAC-SHA256 on every cluster bus message; the same "
            "on every node."},
    {.name = "cluster-migration-barrier", .type = CONFIG_INT,
     .ptr = NODE(cluster_migration_barrier), .def = "1", .min = 0,
     .max = 2147483647LL,
     .doc = "Replicas a master keeps before one of them may migrate to an "
            "orphaned master."},
    {.name = "cluster-allow-replica-migration", .type = CONFIG_BOOL,
     .ptr = NODE(cluster_allow_replica_migration), .def = "yes",
     .doc = "Replicas migrate to orphaned masters, and follow the new owner "
            "when their master loses its last slot."},
    {.name = "cluster-preferred-endpoint-type", .type = CONFIG_ENUM,
     .ptr = NODE(cluster_preferred_endpoint_type), .def = "ip",
     .enum_names = endpoint_type_names,
     .doc = "What MOVED/ASK, CLUSTER SLOTS and SHARDS give clients as a "
            "node's endpoint: ip, hostname or unknown-endpoint."},
    {.name = "cluster-link-sendbuf-limit", .type = CONFIG_MEMORY,
     .ptr = NODE(cluster_link_sendbuf_limit), .def = "0", .min = 0,
     .max = LMAX,
     .doc = "A cluster bus link whose send buffer grows past this is "
            "closed and reopened (0: no limit)."},
    {.name = "cluster-bus-insecure", .type = CONFIG_BOOL,
     .flags = CONFIG_IMMUTABLE, .ptr = NODE(cluster_bus_insecure),
     .def = "no",
     .doc = "Allow cluster mode without cluster-secret (anyone who reaches "
            "the bus port can change the cluster)."},
    {.name = "replicaof", .alias = "slaveof", .type = CONFIG_SPECIAL,
     .flags = CONFIG_MULTI_ARG, .set = set_replicaof, .get = get_replicaof,
     .doc = "replicaof <host> <port>: follow that master (replicaof no one: "
            "be a master)."},
    {.name = "masterauth", .type = CONFIG_STRING, .flags = CONFIG_SENSITIVE,
     .ptr = NODE(masterauth), .def = "",
     .doc = "Password this replica sends to its master (AUTH)."},
    {.name = "masteruser", .type = CONFIG_STRING, .ptr = NODE(masteruser),
     .def = "", .doc = "User name for AUTH to the master (with masterauth)."},
    {.name = "replica-read-only", .alias = "slave-read-only",
     .type = CONFIG_BOOL, .ptr = NODE(repl_read_only), .def = "yes",
     .doc = "A replica refuses writes from its clients (-READONLY)."},
    {.name = "replica-serve-stale-data", .alias = "slave-serve-stale-data",
     .type = CONFIG_BOOL, .ptr = NODE(repl_serve_stale), .def = "yes",
     .doc = "A replica whose master link is down still answers (no: only "
            "commands flagged stale, others get -MASTERDOWN)."},
    {.name = "repl-diskless-sync", .type = CONFIG_BOOL,
     .ptr = NODE(repl_diskless_sync), .def = "yes",
     .doc = "Full syncs stream the RDB to the replica socket with the "
            "$EOF: framing (no: a $<length> bulk, built in the child's "
            "memory first)."},
    {.name = "repl-diskless-sync-delay", .type = CONFIG_INT,
     .ptr = NODE(repl_diskless_sync_delay), .def = "5", .min = 0,
     .max = 0x7fffffff,
     .doc = "Seconds to wait for more replicas before forking a full sync."},
    {.name = "repl-diskless-sync-max-replicas", .type = CONFIG_INT,
     .ptr = NODE(repl_diskless_sync_max), .def = "0", .min = 0,
     .max = 0x7fffffff,
     .doc = "Fork at once when this many replicas wait (0: no limit)."},
    {.name = "repl-backlog-size", .type = CONFIG_MEMORY,
     .ptr = NODE(repl_backlog_size), .def = "1mb", .min = 1, .max = LMAX,
     .apply = apply_backlog_size,
     .doc = "Bytes of the replication stream kept for partial resyncs "
            "(at least 16 KB are allocated)."},
    {.name = "repl-backlog-ttl", .type = CONFIG_INT,
     .ptr = NODE(repl_backlog_ttl), .def = "3600", .min = 0,
     .max = 0x7fffffff,
     .doc = "A master without replicas frees its backlog after this many "
            "seconds (0: never)."},
    {.name = "repl-ping-replica-period", .alias = "repl-ping-slave-period",
     .type = CONFIG_INT, .ptr = NODE(repl_ping_period), .def = "10",
     .min = 1, .max = 0x7fffffff,
     .doc = "Seconds between the PINGs a master sends in the stream."},
    {.name = "repl-timeout", .type = CONFIG_INT, .ptr = NODE(repl_timeout),
     .def = "60", .min = 1, .max = 0x7fffffff,
     .doc = "Seconds of silence after which a replication link is dropped."},
    {.name = "min-replicas-to-write", .alias = "min-slaves-to-write",
     .type = CONFIG_INT, .ptr = NODE(repl_min_to_write), .def = "0",
     .min = 0, .max = 0x7fffffff,
     .doc = "Refuse writes (-NOREPLICAS) with fewer replicas whose last "
            "ACK is at most min-replicas-max-lag seconds old (0: off)."},
    {.name = "min-replicas-max-lag", .alias = "min-slaves-max-lag",
     .type = CONFIG_INT, .ptr = NODE(repl_min_max_lag), .def = "10",
     .min = 0, .max = 0x7fffffff,
     .doc = "Seconds since its last ACK for a replica to count as good."},
    {.name = "min-replicas-ack", .type = CONFIG_INT,
     .ptr = NODE(repl_min_ack), .def = "0", .min = 0, .max = 0x7fffffff,
     .apply = apply_min_ack,
     .doc = "Durable writes: reply to a write only once this many replicas "
            "acknowledged it (0: asynchronous replication)."},
    {.name = "replica-priority", .alias = "slave-priority",
     .type = CONFIG_INT, .ptr = NODE(repl_priority), .def = "100",
     .min = 0, .max = 0x7fffffff,
     .doc = "Failover preference (lower first; 0: never promoted)."},
    {.name = "replica-announced", .type = CONFIG_BOOL,
     .ptr = NODE(repl_announced), .def = "yes",
     .doc = "Shown in INFO replication (replica_announced)."},
    {.name = "replica-announce-ip", .alias = "slave-announce-ip",
     .type = CONFIG_STRING, .ptr = NODE(repl_announce_ip), .def = "",
     .doc = "Address a replica announces to its master (REPLCONF "
            "ip-address)."},
    {.name = "replica-announce-port", .alias = "slave-announce-port",
     .type = CONFIG_INT, .ptr = NODE(repl_announce_port), .def = "0",
     .min = 0, .max = 65535,
     .doc = "Port a replica announces to its master (0: port)."},
};

config_opt_t *options_for_node(node_t *n, size_t *count)
{
    size_t cnt = sizeof(node_options) / sizeof(node_options[0]);
    config_opt_t *t = ts_malloc(sizeof(node_options));
    memcpy(t, node_options, sizeof(node_options));
    for (size_t i = 0; i < cnt; i++)
        if (t[i].ptr) t[i].ptr = (char *)n + ((uintptr_t)t[i].ptr - 1);
    *count = cnt;
    return t;
}
