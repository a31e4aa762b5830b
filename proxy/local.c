/*
 * local.c: commands tessera-proxy answers itself.
 *
 * PING ECHO QUIT SELECT TIME AUTH HELLO and CLIENT ID|GETNAME|SETNAME|INFO
 * concern the client's connection to the proxy, so forwarding them would
 * be wrong (the backend links are shared by many clients).  Replies and
 * error texts are Redis 7.0's.  INFO's proxy sections and the PROXY status
 * text are built here too (route.c adds the cluster's keyspace to INFO).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>
#include <unistd.h>

#include "alloc.h"
#include "auth.h"
#include "busobs.h"
#include "proxy.h"
#include "reply.h"

static const char wrongpass_err[] =
    "WRONGPASS invalid username-password pair or user is disabled.";
static const char name_err[] =
    "ERR Client names cannot contain spaces, newlines or special characters.";

static int arg_eq(const resp_arg_t *a, const char *s)
{
    return a->len == strlen(s) && strncasecmp(a->ptr, s, a->len) == 0;
}

/* AUTH / HELLO AUTH: become user if the password is right. */
static int auth_ok(pclient_t *c, const resp_arg_t *user,
                   const resp_arg_t *pass)
{
    const acl_user_t *u =
        auth_check(c->w->p, user->ptr, user->len, pass->ptr, pass->len);
    if (!u) return 0;
    c->user = u;
    c->authenticated = 1;
    return 1;
}

static int name_valid(const resp_arg_t *a)
{
    for (size_t i = 0; i < a->len; i++)
        if (a->ptr[i] < '!' || a->ptr[i] > '~') return 0;
    return 1;
}

static void set_name(pclient_t *c, const resp_arg_t *a)
{
    ts_free(c->name);
    c->name = a->len ? ts_strndup(a->ptr, a->len) : NULL;
}

static void client_info_line(pclient_t *c, buf_t *b)
{
    long long now = proxy_mono_ms();
    const cmd_spec_t *last =
        c->last_cmd >= 0 ? cmdtab_get((cmd_id_t)c->last_cmd) : NULL;
    buf_printf(b, "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld ",
               c->id, c->addr, c->laddr, c->fd, c->name ? c->name : "",
               (now - c->created_ms) / 1000, (now - c->last_ms) / 1000);
    int sub, psub, ssub;
    pubsub_describe(c, &sub, &psub, &ssub);
    buf_printf(b, "flags=%s db=0 sub=%d psub=%d ssub=%d multi=-1 qbuf=%zu "
                  "qbuf-free=%zu argv-mem=0 multi-mem=0 ",
               sub + psub + ssub ? "P" : "N", sub, psub, ssub,
               buf_len(&c->in), buf_avail(&c->in));
    buf_printf(b, "rbs=%zu rbp=%zu obl=%zu oll=0 omem=0 tot-mem=%zu events=r "
                  "cmd=%s user=%s redir=-1 resp=%d\n",
               c->in.cap, c->in.cap, buf_len(&c->out),
               c->in.cap + c->out.cap + sizeof(*c), last ? last->name : "NULL",
               c->user ? c->user->name : "default", c->proto);
}

/* HELLO [protover [AUTH username password] [SETNAME clientname]] */
static void hello(pclient_t *c, int argc, resp_arg_t *argv, reply_t *r)
{
    const resp_arg_t *name = NULL;
    long long ver = 0;
    int j = 1;
    if (argc >= 2) {
        if (!resp_str2ll(argv[1].ptr, argv[1].len, &ver)) {
            reply_error(r, "ERR Protocol version is not an integer or out of "
                           "range");
            return;
        }
        j = 2;
        if (ver < 2 || ver > 3) {
            reply_error(r, "NOPROTO unsupported protocol version");
            return;
        }
    }
    for (; j < argc; j++) {
        int more = argc - 1 - j;
        if (arg_eq(&argv[j], "auth") && more >= 2) {
            if (!auth_ok(c, &argv[j + 1], &argv[j + 2])) {
                reply_error(r, wrongpass_err);
                return;
            }
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
                         (int)(argv[j].len > 128 ? 128 : argv[j].len),
                         argv[j].ptr);
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
        r->proto = (int)ver;
    }
    reply_map(r, 7);
    reply_bulk_str(r, "server");
    reply_bulk_str(r, "redis");
    reply_bulk_str(r, "version");
    reply_bulk_str(r, PROXY_REDIS_VERSION);
    reply_bulk_str(r, "proto");
    reply_int(r, c->proto);
    reply_bulk_str(r, "id");
    reply_int(r, (long long)c->id);
    reply_bulk_str(r, "mode");
    reply_bulk_str(r, "standalone");
    reply_bulk_str(r, "role");
    reply_bulk_str(r, "master");
    reply_bulk_str(r, "modules");
    reply_array(r, 0);
}

/* AUTH [username] password */
static void auth(pclient_t *c, int argc, resp_arg_t *argv, reply_t *r)
{
    static const resp_arg_t def_user = {"default", 7};
    const resp_arg_t *user = &def_user, *pass = &argv[argc - 1];
    if (argc > 3) {
        reply_err_syntax(r);
        return;
    }
    const acl_user_t *def = auth_default_user(c->w->p);
    if (argc == 2 && def && def->nopass) {
        reply_error(r, "ERR AUTH <password> called without any password "
                       "configured for the default user. Are you sure "
                       "your configuration is correct?");
        return;
    }
    if (argc == 3) user = &argv[1];
    if (!auth_ok(c, user, pass)) {
        reply_error(r, wrongpass_err);
        return;
    }
    reply_ok(r);
}

/* Returns 1 if cmd was answered here. */
static int answer(pclient_t *c, const cmd_spec_t *cmd, int argc,
                  resp_arg_t *argv, reply_t *r)
{
    switch (cmd->id) {
    case CMD_PING:  /* PING [message] */
        if (argc > 2) reply_err_arity(r, "ping");
        else if (argc == 2) reply_bulk(r, argv[1].ptr, argv[1].len);
        else reply_simple(r, "PONG");
        return 1;
    case CMD_ECHO:
        reply_bulk(r, argv[1].ptr, argv[1].len);
        return 1;
    case CMD_QUIT:
        reply_ok(r);
        c->close_after_reply = 1;
        return 1;
    case CMD_SELECT: {
        long long db;
        if (!resp_str2ll(argv[1].ptr, argv[1].len, &db) || db < -2147483648LL ||
            db > 2147483647LL)
            reply_err_notint(r);
        else if (db != 0)
            reply_error(r, "ERR SELECT is not allowed in cluster mode");
        else
            reply_ok(r);
        return 1;
    }
    case CMD_TIME: {
        struct timeval tv;
        gettimeofday(&tv, NULL);
        reply_array(r, 2);
        reply_bulk_ll(r, (long long)tv.tv_sec);
        reply_bulk_ll(r, (long long)tv.tv_usec);
        return 1;
    }
    case CMD_AUTH:
        auth(c, argc, argv, r);
        return 1;
    case CMD_HELLO:
        hello(c, argc, argv, r);
        return 1;
    case CMD_CLIENT_ID:
        reply_int(r, (long long)c->id);
        return 1;
    case CMD_CLIENT_GETNAME:
        if (c->name) reply_bulk_str(r, c->name);
        else reply_null(r);
        return 1;
    case CMD_CLIENT_SETNAME:
        if (!name_valid(&argv[2])) {
            reply_error(r, name_err);
        } else {
            set_name(c, &argv[2]);
            reply_ok(r);
        }
        return 1;
    case CMD_CLIENT_INFO: {
        buf_t b;
        buf_init(&b);
        client_info_line(c, &b);
        reply_text(r, &b);
        buf_deinit(&b);
        return 1;
    }
    default:
        if (cmd->parent && cmd->parent->id == CMD_ACL) {
            acl_command(c, cmd, argc, argv, r);
            return 1;
        }
        return 0;
    }
}

int local_answers(const cmd_spec_t *cmd)
{
    switch (cmd->id) {
    case CMD_PING: case CMD_ECHO: case CMD_QUIT: case CMD_SELECT:
    case CMD_TIME: case CMD_AUTH: case CMD_HELLO: case CMD_CLIENT_ID:
    case CMD_CLIENT_GETNAME: case CMD_CLIENT_SETNAME: case CMD_CLIENT_INFO:
        return 1;
    default:
        return cmd->parent && cmd->parent->id == CMD_ACL;
    }
}

int local_command(pclient_t *c, const cmd_spec_t *cmd, int argc,
                  resp_arg_t *argv)
{
    if (!local_answers(cmd)) return 0;
    reply_t r;
    preq_t *q = route_local_begin(c, &r);
    answer(c, cmd, argc, argv, &r);
    if (buf_len(&q->reply) && buf_rptr(&q->reply)[0] == '-')
        wstat_inc(&c->w->st.errors);
    route_local_end(q);
    return 1;
}

/* ---- INFO and PROXY ---------------------------------------------------- */

static unsigned long long sum_stat(proxy_t *p, size_t off)
{
    unsigned long long s = 0;
    for (int i = 0; i < p->nworkers; i++)
        s += atomic_load_explicit(
            (atomic_ullong *)((char *)&p->workers[i].st + off),
            memory_order_relaxed);
    return s;
}

#define STAT(p, f) sum_stat(p, offsetof(wstats_t, f))

static int section_wanted(int argc, resp_arg_t *argv, const char *name,
                          int in_default)
{
    if (argc < 2) return in_default;
    for (int i = 1; i < argc; i++)
        if (arg_eq(&argv[i], name) || arg_eq(&argv[i], "all") ||
            arg_eq(&argv[i], "everything") ||
            (in_default && arg_eq(&argv[i], "default")))
            return 1;
    return 0;
}

void local_info_text(proxy_t *p, buf_t *b, int argc, resp_arg_t *argv,
                     int *want_keyspace)
{
    long long up = (proxy_unix_ms() - p->start_ms) / 1000;
    if (section_wanted(argc, argv, "server", 1))
        buf_printf(b,
                   "# Server\r\nredis_version:%s\r\ntessera_proxy_version:%s\r\n"
                   "redis_mode:standalone\r\nprocess_id:%d\r\nrun_id:%s\r\n"
                   "tcp_port:%lld\r\nuptime_in_seconds:%lld\r\n"
                   "uptime_in_days:%lld\r\nio_threads_active:%d\r\n\r\n",
                   PROXY_REDIS_VERSION, PROXY_VERSION, (int)getpid(), p->runid,
                   p->port, up, up / 86400, p->nworkers);
    if (section_wanted(argc, argv, "clients", 1))
        buf_printf(b, "# Clients\r\nconnected_clients:%lld\r\nmaxclients:%lld\r\n\r\n",
                   (long long)atomic_load(&p->nclients), p->maxclients);
    if (section_wanted(argc, argv, "memory", 1)) {
        ts_alloc_stats_t as;
        ts_alloc_stats(&as);
        buf_printf(b, "# Memory\r\nused_memory:%zu\r\nused_memory_rss:%zu\r\n"
                      "mem_allocator:%s\r\n\r\n",
                   ts_used_memory(), ts_rss(), as.allocator);
    }
    if (section_wanted(argc, argv, "stats", 1))
        buf_printf(b,
                   "# Stats\r\ntotal_connections_received:%llu\r\n"
                   "total_commands_processed:%llu\r\n"
                   "total_error_replies:%llu\r\n"
                   "client_output_buffer_limit_disconnections:%llu\r\n\r\n",
                   STAT(p, connections), STAT(p, commands), STAT(p, errors),
                   STAT(p, obuf_closes));
    if (section_wanted(argc, argv, "proxy", 1)) {
        buf_append_str(b, "# Proxy\r\n");
        topo_describe(p, b);
        buf_printf(b,
                   "topology_refreshes:%llu\r\ntopology_refresh_failures:%llu\r\n"
                   "moved_redirects:%llu\r\nask_redirects:%llu\r\n"
                   "retries:%llu\r\nbackend_failures:%llu\r\n"
                   "protocol_errors:%llu\r\nfailover_parked:%llu\r\n"
                   "failover_replayed:%llu\r\nfailover_expired:%llu\r\n"
                   "failover_wait_ms:%lld\r\npubsub_resubscribes:%llu\r\n"
                   "multislot_subrequests:%llu\r\n"
                   "multislot_resplits:%llu\r\n"
                   "\r\n",
                   (unsigned long long)atomic_load(&p->topo_refreshes),
                   (unsigned long long)atomic_load(&p->topo_failures),
                   STAT(p, moved), STAT(p, ask), STAT(p, retries),
                   STAT(p, backend_failures), STAT(p, protocol_errors),
                   STAT(p, parked), STAT(p, park_replayed),
                   STAT(p, park_expired), p->failover_wait_ms,
                   STAT(p, pubsub_resubscribes), STAT(p, multislot_subs),
                   STAT(p, multislot_resplits));
    }
    *want_keyspace = section_wanted(argc, argv, "keyspace", 1);
}

/*
 * PROXY: the proxy's status as text: topology, each worker's backend
 * links, and per-command call counts.  Counters are per worker (relaxed
 * atomics, no shared cache line written on the request path), summed
 * here; backend lists are read without a lock, so a snapshot taken while
 * a worker adds a link may miss it.
 */
void local_proxy_status(proxy_t *p, buf_t *b)
{
    buf_append_str(b, "# Topology\r\n");
    topo_describe(p, b);
    busobs_describe(p, b);
    buf_printf(b, "workers:%d\r\n\r\n# Backends\r\n", p->nworkers);
    for (int i = 0; i < p->nworkers; i++) {
        worker_t *w = &p->workers[i];
        for (backend_t *be = __atomic_load_n(&w->backends, __ATOMIC_ACQUIRE);
             be; be = be->next)
            buf_printf(b,
                       "backend:worker=%d,addr=%s,resp=%d,connected=%d,"
                       "pending=%d,requests=%llu,errors=%llu,"
                       "multislot=%s\r\n",
                       i, be->addr, be->proto, be->fd >= 0, be->npending,
                       be->requests, be->errors,
                       be->multislot > 0 ? "yes"
                       : be->multislot < 0 ? "no" : "unknown");
    }
    buf_append_str(b, "\r\n# Commandstats\r\n");
    for (size_t id = 0; id < cmdtab_count(); id++) {
        unsigned long long n = 0;
        for (int i = 0; i < p->nworkers; i++)
            n += atomic_load_explicit(&p->workers[i].st.calls[id],
                                      memory_order_relaxed);
        if (n) buf_printf(b, "cmdstat_%s:calls=%llu\r\n",
                          cmdtab_get((cmd_id_t)id)->name, n);
    }
}
