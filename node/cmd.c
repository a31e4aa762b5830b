/*
 * cmd.c: command dispatch.
 *
 * cmd_execute is the path every command takes.  The checks before the
 * handler are small functions run in Redis's order (processCommand):
 *
 *   lookup (unknown command / subcommand) -> arity -> authentication ->
 *   protected commands (DEBUG) -> MONITOR clients -> cluster redirection
 *   (cluster mode only: MOVED, ASK, CROSSSLOT, ...) -> maxmemory (OOM) ->
 *   MISCONF (failed save or AOF write) -> read-only replica and
 *   min-replicas -> subscriber mode -> CLIENT PAUSE
 *
 * then (cmd_call) the handler runs, then the bookkeeping: commandstats,
 * slowlog, the MONITOR feed; last CLIENT REPLY OFF/SKIP.  A client in
 * MULTI has its commands queued after the checks (multi.c); EXEC runs
 * them through cmd_call.
 */
#include "cmd.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "aof.h"
#include "blocking.h"
#include "client.h"
#include "cluster/cluster.h"
#include "evict.h"
#include "monitor.h"
#include "multi.h"
#include "numfmt.h"
#include "propagate.h"
#include "pubsub.h"
#include "rdb.h"
#include "repl/repl.h"
#include "slowlog.h"

static cmd_handler_t *handlers[CMD__COUNT];

static const cmd_bind_t *const all_binds[] = {
    aof_cmds,
    t_string_cmds, db_cmds, expire_cmds, conn_cmds, server_cmds,
    t_list_cmds, t_hash_cmds, t_set_cmds, t_zset_cmds, pubsub_cmds,
    t_bitmap_cmds,
    t_hll_cmds,
    multi_cmds,
    rdb_cmds,
    cluster_cmds,
    migrate_cmds,
    repl_cmds,
};

void cmd_setup(void)
{
    cmdtab_setup();
    t_list_setup();
    t_hash_setup();
    t_set_setup();
    t_zset_setup();
    for (size_t i = 0; i < sizeof(all_binds) / sizeof(all_binds[0]); i++)
        for (const cmd_bind_t *b = all_binds[i]; b->fn; b++)
            handlers[b->id] = b->fn;
}

cmd_handler_t *cmd_handler(cmd_id_t id)
{
    return (size_t)id < CMD__COUNT ? handlers[id] : NULL;
}

int cmd_implemented(const cmd_spec_t *c)
{
    if (!c) return 0;
    if (handlers[c->id]) return 1;
    if (!(c->flags & CF_CONTAINER)) return 0;
    const cmd_spec_t *subs[64];
    size_t n = cmdtab_subcommands(c, subs, 64);
    for (size_t i = 0; i < n && i < 64; i++)
        if (handlers[subs[i]->id]) return 1;
    return 0;
}

const cmd_spec_t *cmd_lookup(node_t *n, const resp_arg_t *name)
{
    const cmd_spec_t *c = cmdtab_lookup(name->ptr, name->len);
    if (c && n->renamed[c->id]) c = NULL;    /* renamed away or disabled */
    if (!c) {
        /* Is it the new name of a renamed command? */
        for (size_t i = 0; i < CMD__COUNT; i++) {
            const char *nn = n->renamed[i];
            if (nn && nn[0] && strlen(nn) == name->len &&
                strncasecmp(nn, name->ptr, name->len) == 0)
                return cmdtab_get((cmd_id_t)i);
        }
    }
    return c;
}

/*
 * "ERR unknown command 'foo', with args beginning with: 'a' 'b' " exactly
 * as Redis builds it: arguments are added while the list is shorter than
 * 128 bytes, each cut to what is left of those 128, C-string semantics.
 */
static void reply_unknown_command(reply_t *r, int argc,
                                  const resp_arg_t *argv)
{
    char args[256];
    size_t alen = 0;
    for (int i = 1; i < argc && alen < 128; i++) {
        size_t room = 128 - alen;
        size_t n = strnlen(argv[i].ptr, argv[i].len);
        if (n > room) n = room;
        args[alen++] = '\'';
        memcpy(args + alen, argv[i].ptr, n);
        alen += n;
        args[alen++] = '\'';
        args[alen++] = ' ';
    }
    args[alen] = '\0';
    size_t nlen = strnlen(argv[0].ptr, argv[0].len);
    reply_errorf(r, "ERR unknown command '%.*s', with args beginning with: %s",
                 (int)(nlen > 128 ? 128 : nlen), argv[0].ptr, args);
}

static void reply_unknown_subcommand(reply_t *r, const cmd_spec_t *parent,
                                     const resp_arg_t *sub)
{
    char upper[64];
    size_t i;
    for (i = 0; parent->name[i] && i < sizeof(upper) - 1; i++)
        upper[i] = (char)(parent->name[i] >= 'a' && parent->name[i] <= 'z'
                              ? parent->name[i] - 32
                              : parent->name[i]);
    upper[i] = '\0';
    reply_errorf(r, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                 (int)(sub->len > 128 ? 128 : sub->len), sub->ptr, upper);
}

/* Resolve the spec for argv, replying with the error if there is none. */
static const cmd_spec_t *resolve(node_t *n, int argc, const resp_arg_t *argv,
                                 reply_t *r)
{
    const cmd_spec_t *c = cmd_lookup(n, &argv[0]);
    /* a container none of whose subcommands the node runs (ACL: the
     * proxy's) is unknown here, as before it had a table entry */
    if (c && !handlers[c->id] && !cmd_implemented(c)) c = NULL;
    if (!c) {
        reply_unknown_command(r, argc, argv);
        return NULL;
    }
    if (!(c->flags & CF_CONTAINER)) return c;
    if (argc < 2) {
        /* bare container (COMMAND alone is a real command) */
        if (c->id == CMD_COMMAND) return c;
        reply_err_arity(r, c->name);
        return NULL;
    }
    const cmd_spec_t *sub = cmdtab_lookup_sub(c, argv[1].ptr, argv[1].len);
    if (!sub || !handlers[sub->id]) {
        reply_unknown_subcommand(r, c, &argv[1]);
        return NULL;
    }
    return sub;
}

static int check_arity(const cmd_spec_t *c, int argc, reply_t *r)
{
    if (cmdtab_arity_ok(c, argc)) return 0;
    reply_err_arity(r, c->name);
    return -1;
}

static int check_auth(client_t *cl, const cmd_spec_t *c, reply_t *r)
{
    if (cl->authenticated || (c->flags & CF_NO_AUTH)) return 0;
    reply_error(r, "NOAUTH Authentication required.");
    return -1;
}

static int check_protected(node_t *n, client_t *cl, const cmd_spec_t *c,
                           reply_t *r)
{
    if (!(c->flags & CF_PROTECTED)) return 0;
    if (n->enable_debug_cmd == DEBUG_CMD_YES ||
        (n->enable_debug_cmd == DEBUG_CMD_LOCAL &&
         (cl->flags & CLF_PROTECTED_LOCAL)))
        return 0;
    reply_errorf(r,
                 "ERR %s command not allowed. If the %s option is set to "
                 "\"local\", you can run it from a local connection, "
                 "otherwise you need to set this option in the "
                 "configuration file, and then restart the server.",
                 "DEBUG", "enable-debug-command");
    return -1;
}

/* CLIENT PAUSE: 1 if this command must wait. */
static int must_pause(node_t *n, client_t *cl, const cmd_spec_t *c,
                      long long now_ms)
{
    /* An expired pause is cleared by the cron, which also resumes the
     * clients it held; clearing it here would leave them waiting. */
    if (!n->pause_end_ms || now_ms >= n->pause_end_ms) return 0;
    /* ALL holds every command, CLIENT UNPAUSE included (as Redis 7.0). */
    if (n->pause_writes_only) {
        /* WRITE mode pauses writes and commands that may expire keys;
         * EXEC counts with what it queued */
        unsigned f = c->flags;
        if (c->id == CMD_EXEC) f |= multi_queued_flags(cl);
        return (f & (CF_WRITE | CF_MAY_REPLICATE)) != 0;
    }
    return 1;
}

/* A MONITOR client is a replica for Redis: no keyspace commands. */
static int check_monitor(client_t *cl, const cmd_spec_t *c, reply_t *r)
{
    if (!(cl->flags & CLF_MONITOR) ||
        !(c->flags & (CF_WRITE | CF_READONLY | CF_MAY_REPLICATE)))
        return 0;
    reply_error(r, "ERR Replica can't interact with the keyspace");
    return -1;
}

/* A failed BGSAVE with save points and stop-writes-on-bgsave-error, or
 * a failed AOF write/fsync: as Redis 7.0, writes (and PING) get -MISCONF
 * until a save / a retried write succeeds. */
static int check_misconf(node_t *n, client_t *cl, const cmd_spec_t *c,
                         reply_t *r)
{
    unsigned f = c->flags;
    /* reads, the common case, pay one test */
    if (!(f & CF_WRITE) && c->id != CMD_PING && c->id != CMD_EXEC) return 0;
    int rdb = n->nsave_points > 0 && rdb_writes_refused(n);
    int aof_err = rdb || !n->aof_live ? 0 : aof_write_errno(n);
    if (!rdb && !aof_err) return 0;
    if (c->id == CMD_EXEC) f |= multi_queued_flags(cl);
    if (!(f & CF_WRITE) && c->id != CMD_PING) return 0;
    if (rdb)
        reply_error(r, rdb_err_misconf);
    else
        reply_errorf(r, "MISCONF Errors writing to the AOF file: %s",
                     strerror(aof_err));
    return -1;
}

/* maxmemory: as Redis, evict before any command when over the limit, and
 * refuse commands that may grow memory only if that could not help. */
static int check_oom(node_t *n, client_t *cl, const cmd_spec_t *c,
                     reply_t *r)
{
    /* the master's stream is obeyed (replica-ignore-maxmemory) */
    if (!n->maxmemory || (cl->flags & CLF_MASTER)) return 0;
    if (evict_perform(n, node_unix_ms()) == 0 ||
        (!(c->flags & CF_DENYOOM) && !multi_oom_rejects(cl, c)))
        return 0;
    reply_error(r, "OOM command not allowed when used memory > 'maxmemory'.");
    return -1;
}

int cmd_execute(node_t *n, client_t *cl, int argc, const resp_arg_t *argv,
                reply_t *r)
{
    long long now_us = node_unix_us();
    size_t mark = r->out->wpos;
    const cmd_spec_t *c = resolve(n, argc, argv, r);
    int rejected = c == NULL;
    if (c && (check_arity(c, argc, r) || check_auth(cl, c, r) ||
              check_protected(n, cl, c, r) || check_monitor(cl, c, r) ||
              (n->cluster &&
               cluster_check_command(n, cl, c, argc, argv, r)) ||
              check_oom(n, cl, c, r) || check_misconf(n, cl, c, r) ||
              ((n->replica_mode || n->repl_min_to_write > 0) &&
               repl_check_write(n, cl, c, r)) ||
              pubsub_check_context(cl, c, r)))
        rejected = 1;
    if (!rejected && must_pause(n, cl, c, now_us / 1000)) {
        r->out->wpos = mark;
        if (n->cluster) ks_slot_hint_clear(n->ks);
        return -1;
    }
    if (rejected) {
        n->stats.total_error_replies++;
        if (c) n->cmd_stats[c->id].rejected++;
        if (cl->flags & CLF_MULTI) multi_rejected(cl, c, r, mark);
        goto reply_mode;
    }
    /* In MULTI commands are queued, not run: the one test it costs. */
    if ((cl->flags & CLF_MULTI) && multi_queue(n, cl, c, argc, argv, r))
        goto reply_mode;
    /* Only a propagated write moves the replication offset: with nothing
     * listening to the stream (n->prop NULL) there is nothing to track. */
    int track = n->prop != NULL;
    long long off0 = track ? repl_stream_offset(n) : 0;
    cmd_call(n, cl, c, argc, argv, r, now_us);
    /* it was replicated: WAIT's offset, durable writes */
    if (track && repl_stream_offset(n) != off0) repl_after_write(n, cl);

reply_mode:
    if (n->cluster) ks_slot_hint_clear(n->ks);  /* cluster_check_command's */
    if (cl->flags & CLF_ASKING) cluster_after_command(cl, c);
    /* CLIENT REPLY OFF|SKIP: drop what this command wrote. */
    if (cl->flags & CLF_REPLY_SKIP) {
        r->out->wpos = mark;
        cl->flags &= ~CLF_REPLY_SKIP;
    } else if (cl->flags & CLF_REPLY_OFF) {
        r->out->wpos = mark;
    }
    if (cl->flags & CLF_REPLY_SKIP_NEXT) {
        cl->flags &= ~CLF_REPLY_SKIP_NEXT;
        cl->flags |= CLF_REPLY_SKIP;
    }
    return 0;
}

void cmd_call(node_t *n, client_t *cl, const cmd_spec_t *c, int argc,
              const resp_arg_t *argv, reply_t *r, long long now_us)
{
    size_t mark = r->out->wpos;
    /* Keep the LRU/LFU stamp of new values on this command's second, so
     * OBJECT IDLETIME right after a write says 0 (the cron alone would
     * lag by up to a tick). */
    if (now_us / 1000000 != n->clock_sec) {
        n->clock_sec = now_us / 1000000;
        ks_set_lru_clock(n->ks, evict_new_clock(n, now_us / 1000));
    }
    cmdctx_t ctx = {.node = n, .client = cl, .ks = n->ks,
                    .now_ms = now_us / 1000};
    req_t req = {.argc = argc, .argv = argv, .spec = c};
    cmd_handler_t *fn = handlers[c->id];
    cl->last_cmd = c->id;   /* CLIENT LIST shows the running command */
    long long dirty = n->prop ? propagate_begin(n) : n->dirty;
    long long aof_before = n->aof_live ? aof_appended(n) : 0;
    fn(&ctx, &req, r);
    if (n->prop) propagate_end(n, dirty, c, argc, argv); /* AOF / replicas */
    /* appendfsync always: its replies wait until that is on disk */
    if (n->aof_live && aof_appended(n) != aof_before)
        cl->aof_need = aof_appended(n);
    /* the command fed waiters (inside EXEC: once, after the EXEC) */
    if (n->block_ready && !(cl->flags & CLF_MULTI)) block_serve(n);
    /* Redis 7.0 feeds monitors after the command ran, never for rejected
     * commands, admin commands or QUIT. */
    if (n->nmonitors && !(c->flags & (CF_ADMIN | CF_SKIP_MONITOR)) &&
        c->id != CMD_QUIT)
        monitor_feed(n, cl, argc, argv, now_us);

    long long dur = node_unix_us() - now_us;
    if (dur < 0) dur = 0;
    cmd_stats_t *st = &n->cmd_stats[c->id];
    st->calls++;
    st->usec += dur;
    if (r->out->wpos > mark && r->out->data[mark] == '-') {
        st->failed++;
        n->stats.total_error_replies++;
    }
    n->stats.commands++;
    if (n->slowlog_slower_than >= 0 && dur >= n->slowlog_slower_than &&
        !(c->flags & CF_SKIP_SLOWLOG))
        slowlog_push(n, cl, argc, argv, dur, now_us / 1000000);
}

int arg_ll_msg(const resp_arg_t *a, long long *out, reply_t *r,
               const char *err)
{
    if (resp_str2ll(a->ptr, a->len, out)) return 0;
    reply_error(r, err);
    return -1;
}

int arg_ll(const resp_arg_t *a, long long *out, reply_t *r)
{
    return arg_ll_msg(a, out, r, "ERR value is not an integer or out of range");
}

int arg_double(const resp_arg_t *a, long double *out)
{
    return numfmt_str2ld(a->ptr, a->len, out) ? 0 : -1;
}
