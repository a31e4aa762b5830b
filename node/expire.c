/*
 * expire.c: key time-to-live: the EXPIRE family, TTL queries, PERSIST,
 * and the active expiry cycle.
 *
 * Lazy expiry (delete on access) lives in db.c's lookups; this file adds
 * the commands that set and read TTLs, with Redis 7.0's replies and
 * errors, and db_active_expire, which the cron calls to reclaim keys that
 * nobody touches.
 *
 * Times are absolute Unix milliseconds everywhere (ke_expire).  A key
 * expires once now > expire (db.c); EXPIRE with a time <= now deletes the
 * key at once, as Redis's checkAlreadyExpired does.
 */
#include <limits.h>
#include <string.h>

#include "db.h"
#include "multi.h"
#include "notify.h"
#include "propagate.h"

/* Redis's EXPIRE_NX ... EXPIRE_LT */
enum { EX_NX = 1, EX_XX = 2, EX_GT = 4, EX_LT = 8 };

/* Active cycle tuning, Redis's ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP and
 * ACTIVE_EXPIRE_CYCLE_SLOW_TIME_PERC. */
#define AE_SAMPLES   20
#define AE_TIME_PERC 25

/* The NX|XX|GT|LT options after key and time; 0, or -1 after replying. */
static int parse_expire_flags(const req_t *req, int *flags, reply_t *r)
{
    for (int j = 3; j < req->argc; j++) {
        const resp_arg_t *a = &req->argv[j];
        if (arg_eq(a, "nx")) {
            *flags |= EX_NX;
        } else if (arg_eq(a, "xx")) {
            *flags |= EX_XX;
        } else if (arg_eq(a, "gt")) {
            *flags |= EX_GT;
        } else if (arg_eq(a, "lt")) {
            *flags |= EX_LT;
        } else {
            reply_errorf(r, "ERR Unsupported option %.*s", (int)a->len, a->ptr);
            return -1;
        }
    }
    if ((*flags & EX_NX) && (*flags & (EX_XX | EX_GT | EX_LT))) {
        reply_error(r, "ERR NX and XX, GT or LT options at the same time "
                       "are not compatible");
        return -1;
    }
    if ((*flags & EX_GT) && (*flags & EX_LT)) {
        reply_error(r, "ERR GT and LT options at the same time are not "
                       "compatible");
        return -1;
    }
    return 0;
}

/* Do the NX|XX|GT|LT conditions allow setting `when`?  A key without a
 * TTL counts as an infinite one (GT never passes, LT always does). */
static int expire_allowed(int flags, long long cur, long long when)
{
    if ((flags & EX_NX) && cur != -1) return 0;
    if ((flags & EX_XX) && cur == -1) return 0;
    if ((flags & EX_GT) && (cur == -1 || when <= cur)) return 0;
    if ((flags & EX_LT) && cur != -1 && when >= cur) return 0;
    return 1;
}

/*
 * EXPIRE, PEXPIRE, EXPIREAT, PEXPIREAT.  basetime: ms added to the
 * argument (now for relative forms, 0 for absolute); seconds: the
 * argument is in seconds.
 */
static void expire_generic(cmdctx_t *ctx, const req_t *req, reply_t *r,
                           long long basetime, int seconds)
{
    int flags = 0;
    long long when;
    if (parse_expire_flags(req, &flags, r)) return;
    if (arg_ll(&req->argv[2], &when, r)) return;
    if (seconds) {
        if (when > LLONG_MAX / 1000 || when < LLONG_MIN / 1000) goto overflow;
        when *= 1000;
    }
    if (when > LLONG_MAX - basetime) goto overflow;
    when += basetime;

    kentry_t *e = db_lookup_write(ctx, &req->argv[1]);
    if (!e || !expire_allowed(flags, ke_expire(e), when)) {
        reply_int(r, 0);
        return;
    }
    if (when <= ctx->now_ms) {
        ks_delete_entry(ctx->ks, e); /* already past: DEL, not expiry */
        resp_arg_t del[2] = {{"DEL", 3}, req->argv[1]};
        propagate_rewrite(ctx, 2, del);
    } else {
        ks_set_expire(ctx->ks, e, when);
        /* replicas and the AOF get the absolute time: PEXPIREAT key ms */
        char num[24];
        int idx[2] = {0, 2};
        resp_arg_t val[2] = {{"PEXPIREAT", 9}, {num, resp_ll2str(num, when)}};
        if (req->spec->id != CMD_PEXPIREAT) /* as is, like Redis */
            propagate_rewrite_edit(ctx, req->argc, req->argv, 2, idx, val);
    }
    db_modified(ctx, &req->argv[1]);
    notify_key(ctx->node, NOTIFY_GENERIC,
               when <= ctx->now_ms ? "del" : "expire", &req->argv[1]);
    reply_int(r, 1);
    return;

overflow:
    reply_errorf(r, "ERR invalid expire time in '%s' command", req->spec->name);
}

/* EXPIRE key seconds [NX|XX|GT|LT] */
static void cmd_expire(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    expire_generic(ctx, req, r, ctx->now_ms, 1);
}

/* PEXPIRE key milliseconds [NX|XX|GT|LT] */
static void cmd_pexpire(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    expire_generic(ctx, req, r, ctx->now_ms, 0);
}

/* EXPIREAT key unix-time-seconds [NX|XX|GT|LT] */
static void cmd_expireat(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    expire_generic(ctx, req, r, 0, 1);
}

/* PEXPIREAT key unix-time-milliseconds [NX|XX|GT|LT] */
static void cmd_pexpireat(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    expire_generic(ctx, req, r, 0, 0);
}

/*
 * TTL, PTTL, EXPIRETIME, PEXPIRETIME: -2 if the key is missing, -1 if it
 * has no TTL.  ms: reply in milliseconds; abs: the absolute time instead
 * of the time left.  Seconds are rounded to nearest, as Redis does.
 */
static void ttl_generic(cmdctx_t *ctx, const req_t *req, reply_t *r, int ms,
                        int abs)
{
    /* Redis looks the key up with LOOKUP_NOTOUCH: hit/miss counted, LRU
     * not touched. */
    kentry_t *e = db_lookup_notouch(ctx, &req->argv[1]);
    if (!e) {
        ctx->node->stats.misses++;
        notify_key(ctx->node, NOTIFY_KEY_MISS, "keymiss", &req->argv[1]);
        reply_int(r, -2);
        return;
    }
    ctx->node->stats.hits++;
    long long when = ke_expire(e);
    if (when == -1) {
        reply_int(r, -1);
        return;
    }
    long long ttl = abs ? when : when - ctx->now_ms;
    if (ttl < 0) ttl = 0;
    reply_int(r, ms ? ttl : (ttl + 500) / 1000);
}

/* TTL key */
static void cmd_ttl(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    ttl_generic(ctx, req, r, 0, 0);
}

/* PTTL key */
static void cmd_pttl(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    ttl_generic(ctx, req, r, 1, 0);
}

/* EXPIRETIME key */
static void cmd_expiretime(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    ttl_generic(ctx, req, r, 0, 1);
}

/* PEXPIRETIME key */
static void cmd_pexpiretime(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    ttl_generic(ctx, req, r, 1, 1);
}

/* PERSIST key */
static void cmd_persist(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = db_lookup_write(ctx, &req->argv[1]);
    if (!e || !ks_persist(ctx->ks, &e)) {
        reply_int(r, 0);
        return;
    }
    db_modified(ctx, &req->argv[1]);
    notify_key(ctx->node, NOTIFY_GENERIC, "persist", &req->argv[1]);
    reply_int(r, 1);
}

/* ==== active expiry =================================================== */

static void count_expired(void *arg, kentry_t *e)
{
    size_t klen;
    const char *key = ke_key(e, &klen);
    multi_touch_deleted(arg, key, klen); /* WATCH (called before delete) */
    propagate_del(arg, key, klen);       /* AOF, replicas: DEL key */
    notify_keyb(arg, NOTIFY_EXPIRED, "expired", key, klen);
    ((node_t *)arg)->stats.expired_keys++;
}

/*
 * Redis's slow cycle: rounds of 20 keys sampled among those with a TTL;
 * another round while more than a quarter of the last one had expired,
 * until a quarter of a cron tick (1000/hz ms) is spent.  One round per
 * ks_expire_cycle call so the time is checked between rounds.
 */
void db_active_expire(node_t *n, long long now_ms)
{
    if (!n->active_expire_enabled) return;
    long long hz = n->hz > 0 ? n->hz : 10;
    long long budget_us = AE_TIME_PERC * 1000000LL / hz / 100;
    long long start = node_mono_us();
    for (;;) {
        size_t with_ttl = ks_expires_size(n->ks);
        if (with_ttl == 0) break;
        size_t sampled = with_ttl < AE_SAMPLES ? with_ttl : AE_SAMPLES;
        /* The keyspace expires keys with expire <= its now; Redis
         * requires now > expire, hence now_ms - 1. */
        size_t expired =
            ks_expire_cycle(n->ks, now_ms - 1, AE_SAMPLES, 1, count_expired, n);
        if (expired * 4 <= sampled) break;
        if (node_mono_us() - start >= budget_us) break;
    }
}

const cmd_bind_t expire_cmds[] = {
    {CMD_EXPIRE, cmd_expire},
    {CMD_PEXPIRE, cmd_pexpire},
    {CMD_EXPIREAT, cmd_expireat},
    {CMD_PEXPIREAT, cmd_pexpireat},
    {CMD_TTL, cmd_ttl},
    {CMD_PTTL, cmd_pttl},
    {CMD_EXPIRETIME, cmd_expiretime},
    {CMD_PEXPIRETIME, cmd_pexpiretime},
    {CMD_PERSIST, cmd_persist},
    {CMD__COUNT, NULL},
};
