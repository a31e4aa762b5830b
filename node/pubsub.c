/*
 * pubsub.c: publish/subscribe, Redis 7.0's semantics and replies.
 *
 * Registry (node->pubsub, created on the first subscription and freed
 * when the last one goes, so an idle node holds nothing):
 *
 *   chans[KIND_CHAN]   channel        -> subs_t (clients, subscription order)
 *   chans[KIND_SHARD]  shard channel  -> subs_t
 *   pats               pattern        -> subs_t
 *
 * Each dict is keyed by the name's bytes (node/types/dict.h) with the
 * subscriber array in the entry's aux word.  Per client (client->pubsub):
 * a dict per channel kind (membership, UNSUBSCRIBE-all) and the patterns
 * as an array in subscription order (Redis keeps a list and PUNSUBSCRIBE
 * without arguments answers in that order).
 *
 * Counts in (un)subscribe confirmations are Redis's: channels + patterns
 * for SUBSCRIBE/PSUBSCRIBE and their UNSUBSCRIBEs, shard channels alone
 * for SSUBSCRIBE/SUNSUBSCRIBE.  A client is in subscriber mode
 * (CLF_PUBSUB) while the total is above zero.
 *
 * Delivery: PUBLISH appends the message to each subscriber's output
 * buffer in the subscriber's own protocol (RESP3 push or RESP2 array) and
 * schedules its write (client_flush); nothing is allocated per subscriber
 * beyond that append.  A subscriber over its output buffer limit (class
 * "pubsub") is closed ASAP; the publisher is not affected.
 */
#include "pubsub.h"

#include <assert.h>
#include <string.h>

#include "alloc.h"
#include "client.h"
#include "cluster/cluster.h"
#include "cmd.h"
#include "dict.h"
#include "glob.h"
#include "log.h"

enum { KIND_CHAN = 0, KIND_SHARD = 1, KIND_COUNT };

/* Clients subscribed to one channel or pattern, in subscription order. */
typedef struct subs {
    client_t **v;
    size_t n, cap;
} subs_t;

struct pubsub {
    dict_t *chans[KIND_COUNT];  /* name -> subs_t * */
    dict_t *pats;               /* pattern -> subs_t * */
};

typedef struct pat {
    char *p;
    size_t len;
} pat_t;

struct pubsub_client {
    dict_t *chans[KIND_COUNT];  /* may be NULL; no aux */
    pat_t *pats;
    size_t npats, cap;
};

/* The reply words of each channel kind. */
static const struct {
    const char *sub, *unsub, *msg;
} kind_words[KIND_COUNT] = {
    {"subscribe", "unsubscribe", "message"},
    {"ssubscribe", "sunsubscribe", "smessage"},
};

/* ---- registry ------------------------------------------------------------ */

static pubsub_t *registry(node_t *n)
{
    if (!n->pubsub) {
        pubsub_t *ps = ts_calloc(1, sizeof(*ps));
        for (int k = 0; k < KIND_COUNT; k++) ps->chans[k] = dict_create();
        ps->pats = dict_create();
        n->pubsub = ps;
    }
    return n->pubsub;
}

/* Free the registry once nothing is subscribed. */
static void registry_maybe_free(node_t *n)
{
    pubsub_t *ps = n->pubsub;
    if (!ps || dict_size(ps->pats)) return;
    for (int k = 0; k < KIND_COUNT; k++)
        if (dict_size(ps->chans[k])) return;
    for (int k = 0; k < KIND_COUNT; k++) dict_destroy(ps->chans[k], NULL);
    dict_destroy(ps->pats, NULL);
    ts_free(ps);
    n->pubsub = NULL;
}

static void subs_add(dict_t *d, const char *k, size_t klen, client_t *c)
{
    int added;
    dict_entry_t *e = dict_add(d, k, klen, &added);
    subs_t *s = dict_aux(e);
    if (!s) {
        s = ts_calloc(1, sizeof(*s));
        dict_set_aux(e, s);
    }
    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 4;
        s->v = ts_realloc(s->v, s->cap * sizeof(*s->v));
    }
    s->v[s->n++] = c;
}

static void subs_del(dict_t *d, const char *k, size_t klen, client_t *c)
{
    dict_entry_t *e = dict_find(d, k, klen);
    assert(e);
    subs_t *s = dict_aux(e);
    size_t i = 0;
    while (i < s->n && s->v[i] != c) i++;
    assert(i < s->n);
    memmove(s->v + i, s->v + i + 1, (s->n - i - 1) * sizeof(*s->v));
    if (--s->n) return;
    ts_free(s->v);
    ts_free(s);
    dict_delete(d, k, klen, NULL);
}

/* ---- per client ------------------------------------------------------------ */

static pubsub_client_t *client_state(client_t *c)
{
    if (!c->pubsub) c->pubsub = ts_calloc(1, sizeof(*c->pubsub));
    return c->pubsub;
}

static size_t nchans(const client_t *c, int kind)
{
    const pubsub_client_t *pc = c->pubsub;
    return pc && pc->chans[kind] ? dict_size(pc->chans[kind]) : 0;
}

static size_t npats(const client_t *c)
{
    return c->pubsub ? c->pubsub->npats : 0;
}

/* The count a confirmation of this kind reports. */
static long long sub_count(const client_t *c, int kind)
{
    if (kind == KIND_SHARD) return (long long)nchans(c, KIND_SHARD);
    return (long long)(nchans(c, KIND_CHAN) + npats(c));
}

/* Subscriber mode follows the total; free the state when it is empty. */
static void update_mode(client_t *c)
{
    if (nchans(c, KIND_CHAN) + nchans(c, KIND_SHARD) + npats(c)) {
        c->flags |= CLF_PUBSUB;
        return;
    }
    c->flags &= ~CLF_PUBSUB;
    pubsub_client_t *pc = c->pubsub;
    if (!pc) return;
    for (int k = 0; k < KIND_COUNT; k++)
        if (pc->chans[k]) dict_destroy(pc->chans[k], NULL);
    ts_free(pc->pats);
    ts_free(pc);
    c->pubsub = NULL;
    registry_maybe_free(c->node);
}

static void subscribe_channel(client_t *c, int kind, const resp_arg_t *ch,
                              reply_t *r)
{
    pubsub_client_t *pc = client_state(c);
    if (!pc->chans[kind]) pc->chans[kind] = dict_create();
    int added;
    dict_add(pc->chans[kind], ch->ptr, ch->len, &added);
    if (added) subs_add(registry(c->node)->chans[kind], ch->ptr, ch->len, c);
    reply_pubsub_confirm(r, kind_words[kind].sub, ch->ptr, ch->len,
                         sub_count(c, kind));
}

/* Remove one channel; the name stays valid until the client dict entry is
 * deleted, which is done last. */
static void unsubscribe_channel(client_t *c, int kind, const char *ch,
                                size_t len, reply_t *r)
{
    pubsub_client_t *pc = c->pubsub;
    dict_entry_t *e = pc && pc->chans[kind]
                          ? dict_find(pc->chans[kind], ch, len)
                          : NULL;
    if (e) subs_del(c->node->pubsub->chans[kind], ch, len, c);
    /* count after the removal, as Redis */
    long long count = sub_count(c, kind) - (e ? 1 : 0);
    if (r) reply_pubsub_confirm(r, kind_words[kind].unsub, ch, len, count);
    if (e) dict_delete(pc->chans[kind], ch, len, NULL);
}

static void unsubscribe_all_channels(client_t *c, int kind, reply_t *r)
{
    pubsub_client_t *pc = c->pubsub;
    if (!pc || !pc->chans[kind] || !dict_size(pc->chans[kind])) {
        if (r)
            reply_pubsub_confirm(r, kind_words[kind].unsub, NULL, 0,
                                 sub_count(c, kind));
        return;
    }
    dict_iter_t it;
    dict_entry_t *e;
    dict_iter_init(pc->chans[kind], &it);
    while ((e = dict_iter_next(&it)) != NULL) {
        size_t len;
        const char *ch = dict_key(e, &len);
        unsubscribe_channel(c, kind, ch, len, r);
    }
    dict_iter_done(&it);
}

static void subscribe_pattern(client_t *c, const resp_arg_t *p, reply_t *r)
{
    pubsub_client_t *pc = client_state(c);
    size_t i = 0;
    while (i < pc->npats &&
           !(pc->pats[i].len == p->len &&
             memcmp(pc->pats[i].p, p->ptr, p->len) == 0))
        i++;
    if (i == pc->npats) {
        if (pc->npats == pc->cap) {
            pc->cap = pc->cap ? pc->cap * 2 : 4;
            pc->pats = ts_realloc(pc->pats, pc->cap * sizeof(*pc->pats));
        }
        pat_t *np = &pc->pats[pc->npats++];
        np->p = ts_malloc(p->len ? p->len : 1);
        memcpy(np->p, p->ptr, p->len);
        np->len = p->len;
        subs_add(registry(c->node)->pats, p->ptr, p->len, c);
    }
    reply_pubsub_confirm(r, "psubscribe", p->ptr, p->len,
                         sub_count(c, KIND_CHAN));
}

static void unsubscribe_pattern(client_t *c, const char *p, size_t len,
                                reply_t *r)
{
    pubsub_client_t *pc = c->pubsub;
    size_t i = 0, n = npats(c);
    while (i < n && !(pc->pats[i].len == len &&
                      memcmp(pc->pats[i].p, p, len) == 0))
        i++;
    if (i == n) {
        if (r) reply_pubsub_confirm(r, "punsubscribe", p, len,
                             sub_count(c, KIND_CHAN));
        return;
    }
    pat_t gone = pc->pats[i];
    memmove(pc->pats + i, pc->pats + i + 1,
            (pc->npats - i - 1) * sizeof(*pc->pats));
    pc->npats--;
    subs_del(c->node->pubsub->pats, gone.p, gone.len, c);
    if (r) reply_pubsub_confirm(r, "punsubscribe", gone.p, gone.len,
                         sub_count(c, KIND_CHAN));
    ts_free(gone.p);
}

static void unsubscribe_all_patterns(client_t *c, reply_t *r)
{
    if (!npats(c)) {
        if (r) reply_pubsub_confirm(r, "punsubscribe", NULL, 0,
                             sub_count(c, KIND_CHAN));
        return;
    }
    while (npats(c)) {
        /* unsubscribe_pattern frees the name: it is looked up first */
        pat_t first = c->pubsub->pats[0];
        unsubscribe_pattern(c, first.p, first.len, r);
    }
}

void pubsub_client_reset(client_t *c)
{
    if (!c->pubsub) {
        c->flags &= ~CLF_PUBSUB;
        return;
    }
    unsubscribe_all_channels(c, KIND_CHAN, NULL);
    unsubscribe_all_channels(c, KIND_SHARD, NULL);
    unsubscribe_all_patterns(c, NULL);
    update_mode(c);
}

void pubsub_client_counts(const client_t *c, size_t *sub, size_t *psub,
                          size_t *ssub)
{
    *sub = nchans(c, KIND_CHAN);
    *psub = npats(c);
    *ssub = nchans(c, KIND_SHARD);
}

void pubsub_node_counts(const node_t *n, size_t *channels, size_t *patterns,
                        size_t *shard_channels)
{
    const pubsub_t *ps = n->pubsub;
    *channels = ps ? dict_size(ps->chans[KIND_CHAN]) : 0;
    *patterns = ps ? dict_size(ps->pats) : 0;
    *shard_channels = ps ? dict_size(ps->chans[KIND_SHARD]) : 0;
}

int pubsub_check_context(const client_t *c, const cmd_spec_t *spec,
                         reply_t *r)
{
    if (!(c->flags & CLF_PUBSUB) || c->proto != 2) return 0;
    switch (spec->id) {
    case CMD_PING:
    case CMD_SUBSCRIBE:
    case CMD_SSUBSCRIBE:
    case CMD_UNSUBSCRIBE:
    case CMD_SUNSUBSCRIBE:
    case CMD_PSUBSCRIBE:
    case CMD_PUNSUBSCRIBE:
    case CMD_QUIT:
    case CMD_RESET:
        return 0;
    default:
        break;
    }
    reply_errorf(r,
                 "ERR Can't execute '%s': only (P|S)SUBSCRIBE / "
                 "(P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this "
                 "context",
                 spec->name);
    return -1;
}

/* ---- delivery ---------------------------------------------------------------- */

/* Append one message to t's output buffer in t's protocol. */
static void deliver(client_t *t, client_t *from, const char *word,
                    const char *pat, size_t plen, const resp_arg_t *ch,
                    const resp_arg_t *msg)
{
    if (t->flags & CLF_CLOSE_ASAP) return;   /* being dropped */
    reply_t r;
    reply_init(&r, &t->obuf, t->proto);
    reply_push(&r, pat ? 4 : 3);
    reply_bulk_str(&r, word);
    if (pat) reply_bulk(&r, pat, plen);
    reply_bulk(&r, ch->ptr, ch->len);
    reply_bulk(&r, msg->ptr, msg->len);
    /* The publisher's own buffer is checked and written after its
     * command, like any reply. */
    if (t == from) return;
    if (client_obuf_over_limit(t)) {
        log_msg(LL_WARNING,
                "Client id=%llu addr=%s scheduled to be closed ASAP for "
                "overcoming of output buffer limits.",
                (unsigned long long)t->id, t->addr);
        buf_clear(&t->obuf);
        t->flags |= CLF_CLOSE_ASAP;
    }
    client_flush(t);
}

/* Returns the number of receivers (a client counts once per matching
 * subscription, as Redis). */
static long long publish(node_t *n, client_t *from, int kind,
                         const resp_arg_t *ch, const resp_arg_t *msg)
{
    pubsub_t *ps = n->pubsub;
    if (!ps) return 0;
    long long receivers = 0;
    dict_entry_t *e = dict_find(ps->chans[kind], ch->ptr, ch->len);
    if (e) {
        const subs_t *s = dict_aux(e);
        for (size_t i = 0; i < s->n; i++, receivers++)
            deliver(s->v[i], from, kind_words[kind].msg, NULL, 0, ch, msg);
    }
    if (kind != KIND_CHAN || !dict_size(ps->pats)) return receivers;
    dict_iter_t it;
    dict_iter_init(ps->pats, &it);
    while ((e = dict_iter_next(&it)) != NULL) {
        size_t plen;
        const char *pat = dict_key(e, &plen);
        if (!glob_match(pat, plen, ch->ptr, ch->len, 0)) continue;
        const subs_t *s = dict_aux(e);
        for (size_t i = 0; i < s->n; i++, receivers++)
            deliver(s->v[i], from, "pmessage", pat, plen, ch, msg);
    }
    dict_iter_done(&it);
    return receivers;
}

long long pubsub_publish(node_t *n, const char *ch, size_t chlen,
                         const char *msg, size_t mlen)
{
    if (!n->pubsub) return 0;
    resp_arg_t c = {.ptr = ch, .len = chlen}, m = {.ptr = msg, .len = mlen};
    return publish(n, NULL, KIND_CHAN, &c, &m);
}

/* ---- commands -------------------------------------------------------------- */

/* SUBSCRIBE channel [channel ...] */
static void cmd_subscribe(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    for (int i = 1; i < req->argc; i++)
        subscribe_channel(ctx->client, KIND_CHAN, &req->argv[i], r);
    update_mode(ctx->client);
}

/* SSUBSCRIBE shardchannel [shardchannel ...] */
static void cmd_ssubscribe(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    for (int i = 1; i < req->argc; i++)
        subscribe_channel(ctx->client, KIND_SHARD, &req->argv[i], r);
    update_mode(ctx->client);
}

static void unsubscribe_cmd(client_t *c, int kind, const req_t *req,
                            reply_t *r)
{
    if (req->argc == 1) unsubscribe_all_channels(c, kind, r);
    for (int i = 1; i < req->argc; i++)
        unsubscribe_channel(c, kind, req->argv[i].ptr, req->argv[i].len, r);
    update_mode(c);
}

/* UNSUBSCRIBE [channel [channel ...]] */
static void cmd_unsubscribe(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    unsubscribe_cmd(ctx->client, KIND_CHAN, req, r);
}

/* SUNSUBSCRIBE [shardchannel [shardchannel ...]] */
static void cmd_sunsubscribe(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    unsubscribe_cmd(ctx->client, KIND_SHARD, req, r);
}

/* PSUBSCRIBE pattern [pattern ...] */
static void cmd_psubscribe(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    for (int i = 1; i < req->argc; i++)
        subscribe_pattern(ctx->client, &req->argv[i], r);
    update_mode(ctx->client);
}

/* PUNSUBSCRIBE [pattern [pattern ...]] */
static void cmd_punsubscribe(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    if (req->argc == 1) unsubscribe_all_patterns(ctx->client, r);
    for (int i = 1; i < req->argc; i++)
        unsubscribe_pattern(ctx->client, req->argv[i].ptr, req->argv[i].len,
                            r);
    update_mode(ctx->client);
}

long long pubsub_publish_local(node_t *n, const resp_arg_t *channel,
                               const resp_arg_t *message)
{
    return publish(n, NULL, KIND_CHAN, channel, message);
}

/* PUBLISH channel message (in cluster mode also sent to every node) */
static void cmd_publish(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    reply_int(r, publish(ctx->node, ctx->client, KIND_CHAN, &req->argv[1],
                         &req->argv[2]));
    if (ctx->node->cluster)
        cluster_propagate_publish(ctx->node, &req->argv[1], &req->argv[2]);
}

/* SPUBLISH shardchannel message */
static void cmd_spublish(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    reply_int(r, publish(ctx->node, ctx->client, KIND_SHARD, &req->argv[1],
                         &req->argv[2]));
}

/* Active channels of a kind matching the optional pattern argv[2]. */
static void reply_channels(node_t *n, int kind, const req_t *req,
                           reply_t *r)
{
    if (req->argc > 3) {
        reply_err_subcommand(r, &req->argv[1], "PUBSUB");
        return;
    }
    const resp_arg_t *pat = req->argc == 3 ? &req->argv[2] : NULL;
    size_t h = reply_defer(r);
    long long count = 0;
    if (n->pubsub) {
        dict_iter_t it;
        dict_entry_t *e;
        dict_iter_init(n->pubsub->chans[kind], &it);
        while ((e = dict_iter_next(&it)) != NULL) {
            size_t len;
            const char *ch = dict_key(e, &len);
            if (pat && !glob_match(pat->ptr, pat->len, ch, len, 0)) continue;
            reply_bulk(r, ch, len);
            count++;
        }
        dict_iter_done(&it);
    }
    reply_set_deferred(r, h, '*', count);
}

/* [channel, subscribers, ...] for each channel argument. */
static void reply_numsub(node_t *n, int kind, const req_t *req, reply_t *r)
{
    reply_array(r, (long long)(req->argc - 2) * 2);
    for (int i = 2; i < req->argc; i++) {
        const resp_arg_t *ch = &req->argv[i];
        dict_entry_t *e =
            n->pubsub ? dict_find(n->pubsub->chans[kind], ch->ptr, ch->len)
                      : NULL;
        reply_bulk(r, ch->ptr, ch->len);
        reply_int(r, e ? (long long)((const subs_t *)dict_aux(e))->n : 0);
    }
}

/* PUBSUB CHANNELS [pattern] */
static void cmd_pubsub_channels(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    reply_channels(ctx->node, KIND_CHAN, req, r);
}

/* PUBSUB SHARDCHANNELS [pattern] */
static void cmd_pubsub_shardchannels(cmdctx_t *ctx, const req_t *req,
                                     reply_t *r)
{
    reply_channels(ctx->node, KIND_SHARD, req, r);
}

/* PUBSUB NUMSUB [channel [channel ...]] */
static void cmd_pubsub_numsub(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    reply_numsub(ctx->node, KIND_CHAN, req, r);
}

/* PUBSUB SHARDNUMSUB [shardchannel [shardchannel ...]] */
static void cmd_pubsub_shardnumsub(cmdctx_t *ctx, const req_t *req,
                                   reply_t *r)
{
    reply_numsub(ctx->node, KIND_SHARD, req, r);
}

/* PUBSUB NUMPAT */
static void cmd_pubsub_numpat(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    node_t *n = ctx->node;
    reply_int(r, n->pubsub ? (long long)dict_size(n->pubsub->pats) : 0);
}

static const char *const pubsub_help[] = {
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> "
    "(default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, "
    "excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a "
    "<pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level "
    "channel(s)",
    "HELP",
    "    Prints this help.",
    NULL,
};

/* PUBSUB HELP */
static void cmd_pubsub_help(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)ctx;
    (void)req;
    reply_help(r, pubsub_help);
}

const cmd_bind_t pubsub_cmds[] = {
    {CMD_SUBSCRIBE, cmd_subscribe},
    {CMD_UNSUBSCRIBE, cmd_unsubscribe},
    {CMD_PSUBSCRIBE, cmd_psubscribe},
    {CMD_PUNSUBSCRIBE, cmd_punsubscribe},
    {CMD_SSUBSCRIBE, cmd_ssubscribe},
    {CMD_SUNSUBSCRIBE, cmd_sunsubscribe},
    {CMD_PUBLISH, cmd_publish},
    {CMD_SPUBLISH, cmd_spublish},
    {CMD_PUBSUB_CHANNELS, cmd_pubsub_channels},
    {CMD_PUBSUB_NUMSUB, cmd_pubsub_numsub},
    {CMD_PUBSUB_NUMPAT, cmd_pubsub_numpat},
    {CMD_PUBSUB_SHARDCHANNELS, cmd_pubsub_shardchannels},
    {CMD_PUBSUB_SHARDNUMSUB, cmd_pubsub_shardnumsub},
    {CMD_PUBSUB_HELP, cmd_pubsub_help},
    {CMD__COUNT, NULL},
};
