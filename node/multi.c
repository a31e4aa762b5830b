/*
 * multi.c: transactions (MULTI/EXEC/DISCARD) and optimistic locking
 * (WATCH/UNWATCH), with Redis 7.0.15's semantics:
 *
 *  - a command rejected while queueing (unknown, arity, OOM, no-multi...)
 *    dooms the transaction: EXEC answers EXECABORT; runtime errors of
 *    queued commands are replies inside EXEC's array, no rollback;
 *  - once doomed (error or touched watched key) commands are answered
 *    +QUEUED but not stored, so CLIENT LIST's multi= stops growing;
 *  - a watched key is touched by any write, by its deletion through
 *    expiry or eviction, and by FLUSHALL/FLUSHDB if it existed.  A key
 *    that was already (logically) expired when WATCHed and then gets
 *    deleted is no change (Redis 7.0's watchedKey.expired); a key alive
 *    at WATCH and expired at EXEC is a change, even if nobody deleted it.
 *
 * Queued commands are copied, since argv points into the query buffer:
 * one allocation per command, header + argv array + argument bytes (each
 * NUL-terminated, for handlers that parse numbers), argv pointing into it.
 *
 * Watches: n->watched_keys is a dict (node/types/dict.h) from key bytes to
 * the head of a doubly linked list of multi_watch_t, one per (key, client);
 * each client links its own watches through cnext.  The dict exists only
 * while something is watched, so writes pay one NULL test otherwise.
 */
#include "multi.h"

#include <string.h>

#include "alloc.h"
#include "client.h"
#include "cmd.h"
#include "dict.h"
#include "keyspace.h"

struct multi_cmd {
    const cmd_spec_t *spec;
    int argc;
    resp_arg_t argv[];      /* then the argument bytes */
};

struct multi_watch {
    client_t *client;
    multi_watch_t *kprev, *knext; /* watchers of this key (dict aux = head) */
    multi_watch_t *cnext;         /* next key watched by this client */
    int expired;                  /* logically expired when WATCHed */
    size_t klen;
    char key[];
};

/* ==== queue =========================================================== */

static void queue_push(client_t *cl, const cmd_spec_t *c, int argc,
                       const resp_arg_t *argv)
{
    multi_state_t *m = &cl->mstate;
    size_t bytes = 0;
    for (int i = 0; i < argc; i++) bytes += argv[i].len + 1;
    multi_cmd_t *mc = ts_malloc(sizeof(*mc) +
                                (size_t)argc * sizeof(resp_arg_t) + bytes);
    mc->spec = c;
    mc->argc = argc;
    char *p = (char *)(mc->argv + argc);
    size_t sum = 0;
    for (int i = 0; i < argc; i++) {
        memcpy(p, argv[i].ptr, argv[i].len);
        p[argv[i].len] = '\0';
        mc->argv[i].ptr = p;
        mc->argv[i].len = argv[i].len;
        p += argv[i].len + 1;
        sum += argv[i].len;
    }
    if (m->count == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 4;
        m->cmds = ts_realloc(m->cmds, (size_t)m->cap * sizeof(*m->cmds));
    }
    m->cmds[m->count++] = mc;
    m->cmd_flags |= c->flags;
    /* Redis: argv_len_sum + sizeof(robj *) * argc per queued command */
    m->mem += sum + (size_t)argc * sizeof(void *);
}

static void queue_free(client_t *cl)
{
    multi_state_t *m = &cl->mstate;
    for (int i = 0; i < m->count; i++) ts_free(m->cmds[i]);
    ts_free(m->cmds);
    m->cmds = NULL;
    m->count = m->cap = 0;
    m->cmd_flags = 0;
    m->mem = 0;
}

/* ==== watches ========================================================= */

static int entry_expired(const kentry_t *e, long long now_ms)
{
    long long when = ke_expire(e);
    return when >= 0 && now_ms > when;
}

static void watch_key(node_t *n, client_t *cl, const resp_arg_t *key,
                      long long now_ms)
{
    for (multi_watch_t *w = cl->mstate.watched; w; w = w->cnext)
        if (w->klen == key->len && memcmp(w->key, key->ptr, key->len) == 0)
            return;
    if (!n->watched_keys) n->watched_keys = dict_create();
    int added;
    dict_entry_t *de = dict_add(n->watched_keys, key->ptr, key->len, &added);
    multi_watch_t *w = ts_malloc(sizeof(*w) + key->len);
    memcpy(w->key, key->ptr, key->len);
    w->klen = key->len;
    w->client = cl;
    const kentry_t *e = ks_find(n->ks, key->ptr, key->len);
    w->expired = e && entry_expired(e, now_ms);
    w->kprev = NULL;
    w->knext = added ? NULL : dict_aux(de);
    if (w->knext) w->knext->kprev = w;
    dict_set_aux(de, w);
    w->cnext = cl->mstate.watched;
    cl->mstate.watched = w;
}

static void unwatch_all(client_t *cl)
{
    node_t *n = cl->node;
    multi_watch_t *w = cl->mstate.watched;
    while (w) {
        multi_watch_t *next = w->cnext;
        if (w->kprev) {
            w->kprev->knext = w->knext;
        } else if (w->knext) {
            dict_set_aux(dict_find(n->watched_keys, w->key, w->klen),
                         w->knext);
        } else {
            dict_delete(n->watched_keys, w->key, w->klen, NULL);
        }
        if (w->knext) w->knext->kprev = w->kprev;
        ts_free(w);
        w = next;
    }
    cl->mstate.watched = NULL;
    if (n->watched_keys && dict_size(n->watched_keys) == 0) {
        dict_destroy(n->watched_keys, NULL);
        n->watched_keys = NULL;
    }
}

static multi_watch_t *watchers(node_t *n, const char *key, size_t klen)
{
    if (!n->watched_keys) return NULL;
    dict_entry_t *de = dict_find(n->watched_keys, key, klen);
    return de ? dict_aux(de) : NULL;
}

/* Redis's touchWatchedKey: `present` says whether the key is in the
 * keyspace after the change.  A key expired at WATCH time that is now
 * gone was merely deleted: no logical change. */
static void touch_list(multi_watch_t *w, int present)
{
    for (; w; w = w->knext) {
        if (w->expired) {
            w->expired = 0;     /* deleted keys are not "expired" */
            if (!present) continue;
        }
        w->client->flags |= CLF_DIRTY_CAS;
    }
}

void multi_touch_key(node_t *n, const char *key, size_t klen)
{
    multi_watch_t *w = watchers(n, key, klen);
    if (w) touch_list(w, ks_find(n->ks, key, klen) != NULL);
}

void multi_touch_deleted(node_t *n, const char *key, size_t klen)
{
    multi_watch_t *w = watchers(n, key, klen);
    if (w) touch_list(w, 0);
}

void multi_touch_flush(node_t *n)
{
    if (!n->watched_keys) return;
    dict_iter_t it;
    dict_iter_init(n->watched_keys, &it);
    dict_entry_t *de;
    while ((de = dict_iter_next(&it)) != NULL) {
        size_t klen;
        const char *key = dict_key(de, &klen);
        if (ks_find(n->ks, key, klen)) touch_list(dict_aux(de), 0);
    }
    dict_iter_done(&it);
}

/* Redis 7.0's isWatchedKeyExpired: a key alive at WATCH that has expired
 * since (even if not deleted yet) fails the EXEC. */
static int watched_key_expired(client_t *cl, long long now_ms)
{
    for (multi_watch_t *w = cl->mstate.watched; w; w = w->cnext) {
        if (w->expired) continue;
        const kentry_t *e = ks_find(cl->node->ks, w->key, w->klen);
        if (e && entry_expired(e, now_ms)) return 1;
    }
    return 0;
}

/* ==== state changes =================================================== */

static void discard_transaction(client_t *cl)
{
    queue_free(cl);
    cl->flags &= ~(CLF_MULTI | CLF_DIRTY_CAS | CLF_DIRTY_EXEC);
    unwatch_all(cl);
}

void multi_client_free(client_t *cl)
{
    discard_transaction(cl);
}

void multi_discard(client_t *cl)
{
    discard_transaction(cl);
}

int multi_queued_count(const client_t *cl)
{
    return cl->mstate.count;
}

const cmd_spec_t *multi_queued_cmd(const client_t *cl, int i, int *argc,
                                   const resp_arg_t **argv)
{
    const multi_cmd_t *mc = cl->mstate.cmds[i];
    *argc = mc->argc;
    *argv = mc->argv;
    return mc->spec;
}

int multi_queue(node_t *n, client_t *cl, const cmd_spec_t *c, int argc,
                const resp_arg_t *argv, reply_t *r)
{
    switch (c->id) {
    case CMD_EXEC: case CMD_DISCARD: case CMD_MULTI: case CMD_WATCH:
    case CMD_QUIT: case CMD_RESET:
        return 0;
    default:
        break;
    }
    if (c->flags & CF_NO_MULTI) {
        reply_error(r, "ERR Command not allowed inside a transaction");
        n->stats.total_error_replies++;
        n->cmd_stats[c->id].rejected++;
        cl->flags |= CLF_DIRTY_EXEC;
        return 1;
    }
    cl->last_cmd = c->id;
    /* No sense keeping commands of a doomed transaction (as Redis). */
    if (!(cl->flags & (CLF_DIRTY_CAS | CLF_DIRTY_EXEC)))
        queue_push(cl, c, argc, argv);
    reply_simple(r, "QUEUED");
    return 1;
}

void multi_rejected(client_t *cl, const cmd_spec_t *c, reply_t *r,
                    size_t mark)
{
    if (!c || c->id != CMD_EXEC) {
        cl->flags |= CLF_DIRTY_EXEC;
        return;
    }
    /* "-ERR text\r\n" -> "-EXECABORT ... because of: text"; other codes
     * (OOM, NOAUTH) are kept, as Redis's rejectCommand passes them. */
    char err[256];
    buf_t *out = r->out;
    size_t len = out->wpos - mark;
    const char *p = out->data + mark;
    if (len >= 3 && p[0] == '-') {
        p++;
        len -= 3;   /* '-' and CRLF */
    } else {
        len = 0;
    }
    if (len >= 4 && memcmp(p, "ERR ", 4) == 0) {
        p += 4;
        len -= 4;
    }
    if (len >= sizeof(err)) len = sizeof(err) - 1;
    memcpy(err, p, len);
    err[len] = '\0';
    out->wpos = mark;
    reply_errorf(r, "EXECABORT Transaction discarded because of: %s", err);
    discard_transaction(cl);
}

unsigned multi_queued_flags(const client_t *cl)
{
    return cl->mstate.cmd_flags;
}

int multi_oom_rejects(const client_t *cl, const cmd_spec_t *c)
{
    if (c->id == CMD_EXEC) return (cl->mstate.cmd_flags & CF_DENYOOM) != 0;
    if (!(cl->flags & CLF_MULTI)) return 0;
    /* the no-multi rejection comes first in Redis */
    return c->id != CMD_DISCARD && c->id != CMD_QUIT && c->id != CMD_RESET &&
           !(c->flags & CF_NO_MULTI);
}

/* ==== commands ======================================================== */

/* MULTI */
static void cmd_multi(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    if (ctx->client->flags & CLF_MULTI) {
        reply_error(r, "ERR MULTI calls can not be nested");
        return;
    }
    ctx->client->flags |= CLF_MULTI;
    reply_ok(r);
}

/* EXEC */
static void cmd_exec(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    client_t *cl = ctx->client;
    if (!(cl->flags & CLF_MULTI)) {
        reply_error(r, "ERR EXEC without MULTI");
        return;
    }
    if (watched_key_expired(cl, ctx->now_ms)) cl->flags |= CLF_DIRTY_CAS;
    if (cl->flags & (CLF_DIRTY_CAS | CLF_DIRTY_EXEC)) {
        if (cl->flags & CLF_DIRTY_EXEC)
            reply_error(r, "EXECABORT Transaction discarded because of "
                           "previous errors.");
        else
            reply_null_array(r);
        discard_transaction(cl);
        return;
    }
    unwatch_all(cl);    /* as Redis: our own writes must not matter */
    /* blocking commands answer as on timeout inside EXEC (Redis) */
    unsigned deny = cl->flags & CLF_DENY_BLOCKING;
    cl->flags |= CLF_DENY_BLOCKING;
    multi_state_t *m = &cl->mstate;
    reply_array(r, m->count);
    /* Queued commands cannot touch the queue: MULTI, EXEC, DISCARD and
     * WATCH are never queued. */
    for (int i = 0; i < m->count; i++) {
        multi_cmd_t *mc = m->cmds[i];
        cmd_call(ctx->node, cl, mc->spec, mc->argc, mc->argv, r,
                 node_unix_us());
    }
    cl->flags = (cl->flags & ~CLF_DENY_BLOCKING) | deny;
    discard_transaction(cl);
    cl->last_cmd = CMD_EXEC;
}

/* DISCARD */
static void cmd_discard(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    if (!(ctx->client->flags & CLF_MULTI)) {
        reply_error(r, "ERR DISCARD without MULTI");
        return;
    }
    discard_transaction(ctx->client);
    reply_ok(r);
}

/* WATCH key [key ...] */
static void cmd_watch(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    if (ctx->client->flags & CLF_MULTI) {
        reply_error(r, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    for (int i = 1; i < req->argc; i++)
        watch_key(ctx->node, ctx->client, &req->argv[i], ctx->now_ms);
    reply_ok(r);
}

/* UNWATCH */
static void cmd_unwatch(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    unwatch_all(ctx->client);
    ctx->client->flags &= ~CLF_DIRTY_CAS;
    reply_ok(r);
}

const cmd_bind_t multi_cmds[] = {
    {CMD_MULTI, cmd_multi},
    {CMD_EXEC, cmd_exec},
    {CMD_DISCARD, cmd_discard},
    {CMD_WATCH, cmd_watch},
    {CMD_UNWATCH, cmd_unwatch},
    {CMD__COUNT, NULL},
};
