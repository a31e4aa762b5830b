/*
 * options.c: every option tessera-proxy accepts, as one table.
 *
 * Same file syntax and command line as the node (common/config.c):
 *   tessera-proxy [config-file] [--option value ...]
 * Values live in proxy_t fields; the table is resolved against a proxy
 * by options_for_proxy.  The proxy has no CONFIG command yet, so every
 * option is read once at start-up.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "auth.h"
#include "log.h"
#include "proxy.h"

#define PX(f) ((void *)(offsetof(proxy_t, f) + 1))
#define MB (1024LL * 1024)
#define LMAX 0x7fffffffffffffffLL

/* bind addr [addr ...] */
static const char *set_bind(const config_opt_t *o, void *ctx, int argc,
                            char **argv)
{
    proxy_t *p = ctx;
    (void)o;
    if (argc < 1 || argc > PROXY_MAX_BIND)
        return "Too many bind addresses specified.";
    size_t len = 0;
    for (int i = 0; i < argc; i++) len += strlen(argv[i]) + 1;
    char *s = ts_malloc(len + 1);
    s[0] = '\0';
    for (int i = 0; i < argc; i++) {
        if (i) strcat(s, " ");
        strcat(s, argv[i]);
    }
    ts_free(p->bind_str);
    p->bind_str = s;
    return NULL;
}

static void get_bind(const config_opt_t *o, void *ctx, char *out, size_t sz)
{
    proxy_t *p = ctx;
    (void)o;
    snprintf(out, sz, "%s", p->bind_str ? p->bind_str : "");
}

/*
 * client-output-buffer-limit <class> <hard> <soft> <secs> [...]: Redis's
 * syntax.  "normal" and "pubsub" (clients with a subscription) apply;
 * "replica"/"slave" is accepted (so a redis.conf line works) and ignored:
 * the proxy has no replicas.
 */
static const char *set_obuf(const config_opt_t *o, void *ctx, int argc,
                            char **argv)
{
    proxy_t *p = ctx;
    (void)o;
    if (argc == 0 || argc % 4 != 0)
        return "Wrong number of arguments in buffer limit configuration.";
    for (int i = 0; i < argc; i += 4) {
        int cls = -1;
        if (strcasecmp(argv[i], "normal") == 0) cls = OBUF_NORMAL;
        else if (strcasecmp(argv[i], "pubsub") == 0) cls = OBUF_PUBSUB;
        else if (strcasecmp(argv[i], "slave") != 0 &&
                 strcasecmp(argv[i], "replica") != 0)
            return "Invalid client class specified in buffer limit "
                   "configuration.";
        long long hard, soft;
        char *end;
        errno = 0;
        long long secs = strtoll(argv[i + 3], &end, 10);
        if (config_parse_memory(argv[i + 1], &hard) != 0 ||
            config_parse_memory(argv[i + 2], &soft) != 0 || *end || errno ||
            secs < 0 || hard < 0 || soft < 0)
            return "Error in hard, soft or soft_seconds setting in buffer "
                   "limit configuration.";
        if (cls >= 0) p->obuf[cls] = (obuf_limit_t){hard, soft, secs};
        if (cls == OBUF_NORMAL) p->obuf_normal_limited = hard || soft;
    }
    return NULL;
}

static void get_obuf(const config_opt_t *o, void *ctx, char *out, size_t sz)
{
    proxy_t *p = ctx;
    (void)o;
    const obuf_limit_t *n = &p->obuf[OBUF_NORMAL], *s = &p->obuf[OBUF_PUBSUB];
    snprintf(out, sz, "normal %lld %lld %lld pubsub %lld %lld %lld", n->hard,
             n->soft, n->soft_secs, s->hard, s->soft, s->soft_secs);
}

static const config_opt_t proxy_options[] = {
    {.name = "port", .type = CONFIG_INT, .ptr = PX(port), .def = "6379",
     .min = 1, .max = 65535, .doc = "TCP port for clients."},
    {.name = "bind", .type = CONFIG_SPECIAL, .flags = CONFIG_MULTI_ARG,
     .def = "* -::*", .set = set_bind, .get = get_bind,
     .doc = "Addresses to listen on; a leading '-' makes one optional."},
    {.name = "threads", .type = CONFIG_INT, .ptr = PX(threads), .def = "0",
     .min = 0, .max = 256,
     .doc = "Worker threads, each with its own event loop (0: one per core)."},
    {.name = "cluster-nodes", .type = CONFIG_STRING, .ptr = PX(cluster_nodes),
     .def = "127.0.0.1:7000",
     .doc = "Seed nodes host:port[,host:port...]; a non-cluster node means "
            "single-backend mode."},
    {.name = "requirepass", .type = CONFIG_STRING, .flags = CONFIG_SENSITIVE,
     .ptr = PX(requirepass), .def = "",
     .doc = "Password clients must give with AUTH (checked by the proxy)."},
    {.name = "user", .type = CONFIG_SPECIAL,
     .flags = CONFIG_MULTI_ARG | CONFIG_SENSITIVE, .def = NULL,
     .set = auth_set_user,
     .doc = "A user in Redis 7.0's ACL syntax: user <name> on|off "
            ">password [nopass] [~pattern %R~ %W~ &pattern +@category "
            "-command ...]; one line per user, no selectors (see "
            "docs/proxy.md)."},
    {.name = "backend-user", .type = CONFIG_STRING, .ptr = PX(backend_user),
     .def = "",
     .doc = "User the proxy authenticates as on backend connections "
            "(AUTH <user> <password>); empty: AUTH <password>."},
    {.name = "backend-password", .type = CONFIG_STRING,
     .flags = CONFIG_SENSITIVE, .ptr = PX(backend_password), .def = "",
     .doc = "Password the proxy sends (AUTH) on every backend connection."},
    {.name = "cluster-secret", .type = CONFIG_STRING,
     .flags = CONFIG_SENSITIVE, .ptr = PX(cluster_secret), .def = "",
     .doc = "The Tessera cluster's cluster-secret: the proxy joins the "
            "cluster bus as an observer with it and gets topology changes "
            "pushed (empty: poll only, unless cluster-bus-insecure)."},
    {.name = "cluster-bus-insecure", .type = CONFIG_BOOL,
     .ptr = PX(cluster_bus_insecure), .def = "no",
     .doc = "Observe a Tessera cluster whose bus runs without a secret "
            "(nodes started with cluster-bus-insecure yes)."},
    {.name = "bus-observer", .type = CONFIG_BOOL, .ptr = PX(bus_observer),
     .def = "yes",
     .doc = "With cluster-secret or cluster-bus-insecure: observe the "
            "cluster bus (no: poll only)."},
    {.name = "protected-mode", .type = CONFIG_BOOL,
     .ptr = PX(protected_mode), .def = "yes",
     .doc = "Without a password, refuse clients that are not on loopback."},
    {.name = "read-from", .type = CONFIG_ENUM, .ptr = PX(read_from),
     .def = "master", .enum_names = read_from_names,
     .doc = "Where reads go: master, replica (error if none is reachable) "
            "or prefer-replica (the master when none is)."},
    {.name = "multislot", .type = CONFIG_BOOL, .ptr = PX(multislot),
     .def = "yes",
     .doc = "Split MGET MSET DEL UNLINK EXISTS TOUCH by node on backends "
            "that accept TESSERA MULTISLOT (Tessera nodes); no: by slot, "
            "as for Redis."},
    {.name = "maxclients", .type = CONFIG_INT, .ptr = PX(maxclients),
     .def = "10000", .min = 1, .max = 1000000,
     .doc = "Maximum number of connected clients."},
    {.name = "timeout", .type = CONFIG_INT, .ptr = PX(timeout), .def = "0",
     .min = 0, .max = 0x7fffffff,
     .doc = "Close clients idle for this many seconds (0: never)."},
    {.name = "backend-timeout", .type = CONFIG_INT,
     .ptr = PX(backend_timeout_ms), .def = "5000", .min = 10,
     .max = 0x7fffffff,
     .doc = "Milliseconds a backend may take to answer before the requests "
            "waiting on it fail and the connection is dropped."},
    {.name = "connect-timeout", .type = CONFIG_INT,
     .ptr = PX(connect_timeout_ms), .def = "1000", .min = 10,
     .max = 0x7fffffff,
     .doc = "Milliseconds allowed to connect to a backend."},
    {.name = "retry-budget", .type = CONFIG_INT, .ptr = PX(retry_budget_ms),
     .def = "2000", .min = 0, .max = 0x7fffffff,
     .doc = "Milliseconds a request may spend retrying TRYAGAIN."},
    {.name = "failover-wait", .type = CONFIG_INT, .ptr = PX(failover_wait_ms),
     .def = "3000", .min = 0, .max = 0x7fffffff,
     .doc = "Milliseconds a request for an unreachable master (or a cluster "
            "that says CLUSTERDOWN) is held for a new owner before it fails "
            "(0: fail at once)."},
    {.name = "failover-wait-bytes", .type = CONFIG_MEMORY,
     .ptr = PX(failover_wait_bytes), .def = "64mb", .min = 0, .max = LMAX,
     .doc = "Bytes of requests one worker thread may hold during a "
            "failover; past it they fail at once."},
    {.name = "failover-wait-client-bytes", .type = CONFIG_MEMORY,
     .ptr = PX(failover_wait_client_bytes), .def = "8mb", .min = 0,
     .max = LMAX,
     .doc = "Bytes of requests one client may have held during a failover; "
            "past it they fail at once."},
    {.name = "topology-refresh-interval", .type = CONFIG_INT,
     .ptr = PX(refresh_interval_ms), .def = "5000", .min = 100,
     .max = 0x7fffffff,
     .doc = "Milliseconds between periodic topology refreshes."},
    {.name = "max-pipeline", .type = CONFIG_INT, .ptr = PX(max_pipeline),
     .def = "1024", .min = 1, .max = 1000000,
     .doc = "Requests of one client in flight before the proxy stops "
            "reading from it."},
    {.name = "busy-poll-us", .type = CONFIG_INT, .ptr = PX(busy_poll_us),
     .def = "50", .min = 0, .max = 10000,
     .doc = "After a pass that moved requests or replies, poll without "
            "sleeping for up to this many microseconds, while the machine "
            "has a CPU to spare (0: never spin)."},
    {.name = "client-output-buffer-limit", .type = CONFIG_SPECIAL,
     .flags = CONFIG_MULTI_ARG, .def = "normal 0 0 0 pubsub 32mb 8mb 60",
     .set = set_obuf, .get = get_obuf,
     .doc = "Output buffer limits, Redis's syntax: <class> <hard> <soft> "
            "<seconds> for the normal and pubsub (subscribed clients) "
            "classes; the soft limit closes a client that stays over it "
            "for longer than its seconds."},
    {.name = "proto-max-bulk-len", .type = CONFIG_MEMORY,
     .ptr = PX(proto_max_bulk_len), .def = "512mb", .min = 1 * MB,
     .max = LMAX, .doc = "Largest bulk string a client may send."},
    {.name = "tcp-backlog", .type = CONFIG_INT, .ptr = PX(tcp_backlog),
     .def = "511", .min = 0, .max = 65535, .doc = "listen() backlog."},
    {.name = "tcp-keepalive", .type = CONFIG_INT, .ptr = PX(tcp_keepalive),
     .def = "300", .min = 0, .max = 0x7fffffff,
     .doc = "TCP keepalive period in seconds (0: off)."},
    {.name = "loglevel", .type = CONFIG_ENUM, .ptr = PX(loglevel),
     .def = "notice", .enum_names = log_level_names,
     .doc = "debug, verbose, notice or warning."},
    {.name = "logfile", .type = CONFIG_STRING, .ptr = PX(logfile), .def = "",
     .doc = "Log file path; empty logs to standard output."},
    {.name = "daemonize", .type = CONFIG_BOOL, .ptr = PX(daemonize),
     .def = "no", .doc = "Run in the background."},
    {.name = "pidfile", .type = CONFIG_STRING, .ptr = PX(pidfile), .def = "",
     .doc = "Write the process id to this file."},
};

config_opt_t *options_for_proxy(proxy_t *p, size_t *count)
{
    size_t cnt = sizeof(proxy_options) / sizeof(proxy_options[0]);
    config_opt_t *t = ts_malloc(sizeof(proxy_options));
    memcpy(t, proxy_options, sizeof(proxy_options));
    for (size_t i = 0; i < cnt; i++)
        if (t[i].ptr) t[i].ptr = (char *)p + ((uintptr_t)t[i].ptr - 1);
    *count = cnt;
    return t;
}
