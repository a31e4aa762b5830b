/*
 * db.c: the keyspace as commands see it, and the generic key commands.
 *
 * The first half is the API of db.h: lookups that apply lazy expiry (a
 * key whose TTL has passed is deleted when touched and then looks absent,
 * n->stats.expired_keys counts it), keyspace hit/miss statistics and the
 * LRU clock, following Redis's lookupKey():
 *
 *                      expiry  hits/misses  LRU/LFU touch (evict_touch)
 *   db_lookup_read       yes       yes         yes     GET-like reads
 *   db_lookup_write      yes       no          yes     writes
 *   db_lookup_notouch    yes       no          no      internal checks
 *   lookup_stat (here)   yes       yes         no      EXISTS, TYPE, OBJECT
 *
 * Redis counts hits and misses for EXISTS, TYPE, OBJECT and SCAN TYPE too
 * (LOOKUP_NOTOUCH without LOOKUP_NOSTATS), so those use lookup_stat.
 *
 * "Expired" means now > expire, strictly, as Redis's keyIsExpired: a key
 * is still visible during the millisecond it expires in.
 *
 * The second half is the generic commands (DEL, EXISTS, RENAME, COPY,
 * KEYS, SCAN, OBJECT, FLUSHALL, ...) with Redis 7.0's replies and errors.
 * There is a single database (0): COPY ... DB n accepts only 0.  Types
 * other than strings plug into TYPE/OBJECT ENCODING/COPY through
 * db_register_type.
 *
 * Entries are never kept across calls that may modify the keyspace (the
 * keyspace may move them); handlers look keys up again instead.
 */
#include "db.h"

#include <assert.h>

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "proc.h"
#include "rng.h"
#include "evict.h"
#include "blocking.h"
#include "glob.h"
#include "lazyfree.h"
#include "multi.h"
#include "notify.h"
#include "propagate.h"
#include "rdb.h"

/* Redis shares the integer objects 0..9999 (OBJ_SHARED_INTEGERS); OBJECT
 * REFCOUNT reports INT_MAX (OBJ_SHARED_REFCOUNT) for them. */
#define DB_SHARED_INTEGERS 10000
#define DB_SHARED_REFCOUNT 2147483647LL
#define DB_LRU_CLOCK_MAX   ((1u << 24) - 1)

/* Per-type hooks, filled once at setup by the type files (like cmd.c's
 * handler table), read-only afterwards. */
static const db_type_ops_t *type_ops[16];

/* The keyspace's single free callback, dispatching on the type. */
static void free_obj(int type, int enc, void *obj)
{
    const db_type_ops_t *ops =
        (type >= 0 && (size_t)type < sizeof(type_ops) / sizeof(type_ops[0]))
            ? type_ops[type]
            : NULL;
    assert(ops && ops->free);
    ops->free(enc, obj);
}

void db_register_type(int type, const db_type_ops_t *ops)
{
    if (type >= 0 && (size_t)type < sizeof(type_ops) / sizeof(type_ops[0]))
        type_ops[type] = ops;
    ks_set_obj_free(free_obj);
}

static const db_type_ops_t *ops_of(const kentry_t *e)
{
    int t = ke_type(e);
    return (t >= 0 && (size_t)t < sizeof(type_ops) / sizeof(type_ops[0]))
               ? type_ops[t]
               : NULL;
}

/* ==== lookups, expiry, statistics ===================================== */

uint32_t db_lru_clock(long long now_ms)
{
    return (uint32_t)((unsigned long long)(now_ms / 1000) & DB_LRU_CLOCK_MAX);
}

int db_is_expired(cmdctx_t *ctx, const kentry_t *e)
{
    long long when = ke_expire(e);
    return when >= 0 && ctx->now_ms > when;
}

/* Lazy expiry: delete e if its time has passed.  Returns e, or NULL if it
 * was deleted. */
static kentry_t *expire_if_needed(cmdctx_t *ctx, kentry_t *e)
{
    if (e && db_is_expired(ctx, e)) {
        /* A replica deletes nothing: it waits for the master's DEL.  The
         * key looks absent to its clients and present to the master's
         * stream (Redis 7.0's expireIfNeeded). */
        if (ctx->node->replica_mode)
            return ctx->client && ctx->client == ctx->node->master_client
                       ? e
                       : NULL;
        size_t klen;
        const char *key = ke_key(e, &klen);
        multi_touch_deleted(ctx->node, key, klen); /* WATCH: before */
        propagate_del(ctx->node, key, klen);       /* AOF, replicas */
        notify_keyb(ctx->node, NOTIFY_EXPIRED, "expired", key, klen);
        ks_delete_entry(ctx->ks, e);
        ctx->node->stats.expired_keys++;
        return NULL;
    }
    return e;
}

kentry_t *db_lookup_notouch(cmdctx_t *ctx, const resp_arg_t *key)
{
    return expire_if_needed(ctx, ks_find(ctx->ks, key->ptr, key->len));
}

kentry_t *db_lookup_write(cmdctx_t *ctx, const resp_arg_t *key)
{
    kentry_t *e = db_lookup_notouch(ctx, key);
    if (e) evict_touch(ctx->node, e, ctx->now_ms);
    return e;
}

kentry_t *db_lookup_read(cmdctx_t *ctx, const resp_arg_t *key)
{
    kentry_t *e = db_lookup_notouch(ctx, key);
    if (e) {
        evict_touch(ctx->node, e, ctx->now_ms);
        ctx->node->stats.hits++;
    } else {
        ctx->node->stats.misses++;
        notify_key(ctx->node, NOTIFY_KEY_MISS, "keymiss", key);
    }
    return e;
}

/* Expiry and hit/miss accounting, no LRU touch (Redis's LOOKUP_NOTOUCH). */
static kentry_t *lookup_stat(cmdctx_t *ctx, const resp_arg_t *key)
{
    kentry_t *e = db_lookup_notouch(ctx, key);
    if (e)
        ctx->node->stats.hits++;
    else
        ctx->node->stats.misses++;
    return e;
}

int db_delete(cmdctx_t *ctx, const resp_arg_t *key)
{
    return ks_delete(ctx->ks, key->ptr, key->len);
}

void db_modified(cmdctx_t *ctx, const resp_arg_t *key)
{
    ctx->node->dirty++;
    if (ctx->node->watched_keys)    /* WATCH: EXEC of watchers fails */
        multi_touch_key(ctx->node, key->ptr, key->len);
    if (ctx->node->blocked_clients) /* someone may wait for this key */
        block_signal_key(ctx->node, key->ptr, key->len);
}

const char *db_type_name(const kentry_t *e)
{
    switch (ke_type(e)) {
    case KT_STRING: return "string";
    case KT_LIST: return "list";
    case KT_SET: return "set";
    case KT_ZSET: return "zset";
    case KT_HASH: return "hash";
    default: return "unknown";
    }
}

/* Random draws for RANDOMKEY, SPOP, SRANDMEMBER, HRANDFIELD, ZRANDMEMBER
 * and eviction's samples: xorshift64* (rng.h), seeded from /dev/urandom at
 * the first draw.  libc random() takes a lock per call and three calls
 * made a draw; SPOP on a large set spent a fifth of its time there.  Only
 * the event-loop thread draws. */
static uint64_t rand_state;

uint64_t db_rand(void)
{
    if (!rand_state) {
        ts_random_bytes(&rand_state, sizeof(rand_state));
        if (!rand_state) rand_state = 0x9e3779b97f4a7c15ULL;
    }
    return rng_step(&rand_state);
}

static int arg_same(const resp_arg_t *a, const resp_arg_t *b)
{
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/* Case-insensitive compare of an argument with a NUL-terminated name. */
static int arg_eq_name(const resp_arg_t *a, const char *name)
{
    return strlen(name) == a->len && strncasecmp(a->ptr, name, a->len) == 0;
}

/* ==== DEL, UNLINK, EXISTS, TYPE, TOUCH ================================ */

static void del_generic(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long deleted = 0;
    for (int j = 1; j < req->argc; j++) {
        kentry_t *e = db_lookup_notouch(ctx, &req->argv[j]);
        if (!e) continue;
        ks_delete_entry(ctx->ks, e);
        db_modified(ctx, &req->argv[j]);
        notify_key(ctx->node, NOTIFY_GENERIC, "del", &req->argv[j]);
        deleted++;
    }
    reply_int(r, deleted);
}

/* DEL key [key ...] */
static void cmd_del(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    del_generic(ctx, req, r);
}

/* UNLINK key [key ...]  (frees synchronously for now: values are freed
 * with their entry) */
static void cmd_unlink(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    del_generic(ctx, req, r);
}

/* EXISTS key [key ...] */
static void cmd_exists(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long count = 0;
    for (int j = 1; j < req->argc; j++) {
        if (lookup_stat(ctx, &req->argv[j]))
            count++;
        else
            notify_key(ctx->node, NOTIFY_KEY_MISS, "keymiss", &req->argv[j]);
    }
    reply_int(r, count);
}

/* TYPE key */
static void cmd_type(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = lookup_stat(ctx, &req->argv[1]);
    if (!e) notify_key(ctx->node, NOTIFY_KEY_MISS, "keymiss", &req->argv[1]);
    reply_simple(r, e ? db_type_name(e) : "none");
}

/* TOUCH key [key ...] */
static void cmd_touch(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long count = 0;
    for (int j = 1; j < req->argc; j++)
        if (db_lookup_read(ctx, &req->argv[j])) count++;
    reply_int(r, count);
}

/* ==== RENAME, RENAMENX, COPY ========================================== */

static void rename_generic(cmdctx_t *ctx, const req_t *req, reply_t *r, int nx)
{
    const resp_arg_t *src = &req->argv[1], *dst = &req->argv[2];
    if (!db_lookup_write(ctx, src)) {
        reply_error(r, "ERR no such key");
        return;
    }
    if (arg_same(src, dst)) {
        if (nx)
            reply_int(r, 0);
        else
            reply_ok(r);
        return;
    }
    if (db_lookup_write(ctx, dst) && nx) {
        reply_int(r, 0);
        return;
    }
    /* Find src again: expiring dst may have changed the table. */
    kentry_t *e = ks_find(ctx->ks, src->ptr, src->len);
    ks_rename(ctx->ks, e, dst->ptr, dst->len); /* keeps value and TTL */
    /* One change, as Redis counts it (dirty + 1); both keys are
     * touched for WATCH. */
    if (ctx->node->watched_keys)
        multi_touch_key(ctx->node, src->ptr, src->len);
    db_modified(ctx, dst);
    /* Redis deletes dst and adds it again: "new" even over a key. */
    notify_key(ctx->node, NOTIFY_NEW, "new", dst);
    notify_key(ctx->node, NOTIFY_GENERIC, "rename_from", src);
    notify_key(ctx->node, NOTIFY_GENERIC, "rename_to", dst);
    if (nx)
        reply_int(r, 1);
    else
        reply_ok(r);
}

/* RENAME key newkey */
static void cmd_rename(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    rename_generic(ctx, req, r, 0);
}

/* RENAMENX key newkey */
static void cmd_renamenx(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    rename_generic(ctx, req, r, 1);
}

/* COPY's options; 0, or -1 after replying with the error. */
static int copy_parse(cmdctx_t *ctx, const req_t *req, reply_t *r, int *replace)
{
    for (int j = 3; j < req->argc; j++) {
        int additional = req->argc - j - 1;
        if (arg_eq(&req->argv[j], "replace")) {
            *replace = 1;
        } else if (arg_eq(&req->argv[j], "db") && additional >= 1) {
            long long db;
            if (arg_ll(&req->argv[j + 1], &db, r)) return -1;
            if (db < INT_MIN || db > INT_MAX) {
                reply_err_notint(r);
                return -1;
            }
            /* Only database 0 exists.  In cluster mode Redis accepts the
             * index, then refuses any copy across databases. */
            if (db != 0) {
                if (ctx->node->cluster_enabled && db > 0 &&
                    db < ctx->node->databases)
                    reply_error(r, "ERR Copying to another database is not "
                                   "allowed in cluster mode");
                else
                    reply_error(r, "ERR DB index is out of range");
                return -1;
            }
            j++;
        } else {
            reply_err_syntax(r);
            return -1;
        }
    }
    return 0;
}

/* Store a copy of the string in e under dst.  Returns the new entry. */
static kentry_t *copy_string(cmdctx_t *ctx, const kentry_t *e,
                             const resp_arg_t *dst)
{
    if (ke_enc(e) == KE_INT)
        return ks_set_int(ctx->ks, dst->ptr, dst->len, ke_int(e), 0);

    /* Copy the bytes out first: writing dst may move entries. */
    char scratch[32], small[64];
    size_t len;
    const char *p = ke_str(e, &len, scratch);
    int raw = ke_enc(e) == KE_RAW;
    char *tmp = len <= sizeof(small) ? small : ts_malloc(len);
    memcpy(tmp, p, len);
    kentry_t *ne = ks_set_str(ctx->ks, dst->ptr, dst->len, tmp, len, 0);
    /* Redis's dupStringObject keeps the encoding: a raw string stays raw
     * even when short enough to embed. */
    if (raw && ke_enc(ne) != KE_RAW) ks_str_writable(ctx->ks, &ne, len);
    if (tmp != small) ts_free(tmp);
    return ne;
}

/* COPY source destination [DB destination-db] [REPLACE] */
static void cmd_copy(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *src = &req->argv[1], *dst = &req->argv[2];
    int replace = 0;
    if (copy_parse(ctx, req, r, &replace)) return;
    if (arg_same(src, dst)) {
        reply_error(r, "ERR source and destination objects are the same");
        return;
    }
    if (!db_lookup_read(ctx, src)) {
        reply_int(r, 0);
        return;
    }
    if (db_lookup_write(ctx, dst) && !replace) {
        reply_int(r, 0);
        return;
    }
    /* Find src again: expiring dst may have changed the table. */
    kentry_t *e = ks_find(ctx->ks, src->ptr, src->len);
    long long when = ke_expire(e);
    kentry_t *ne;
    if (ke_type(e) == KT_STRING) {
        ne = copy_string(ctx, e, dst);
    } else if (ke_is_blob(e)) {
        /* An embedded value is its bytes: the keyspace copies them. */
        size_t len;
        const void *b = ke_blob(e, &len);
        ne = ks_set_blob(ctx->ks, dst->ptr, dst->len, ke_type(e), ke_enc(e),
                         b, len, 0);
    } else {
        const db_type_ops_t *ops = ops_of(e);
        if (!ops || !ops->dup) {
            reply_error(r, "ERR unknown type object");
            return;
        }
        int enc = ke_enc(e), type = ke_type(e);
        void *obj = ops->dup(e, &enc);
        ne = ks_set_obj(ctx->ks, dst->ptr, dst->len, type, enc, obj, 0);
    }
    ke_set_lru(ne, evict_new_clock(ctx->node, ctx->now_ms)); /* a new object */
    if (when != -1) ks_set_expire(ctx->ks, ne, when);
    db_modified(ctx, dst);
    notify_key(ctx->node, NOTIFY_NEW, "new", dst); /* as RENAME */
    notify_key(ctx->node, NOTIFY_GENERIC, "copy_to", dst);
    reply_int(r, 1);
}

/* ==== KEYS, SCAN, RANDOMKEY, DBSIZE =================================== */

typedef struct keys_walk {
    cmdctx_t *ctx;
    reply_t *r;
    const resp_arg_t *pat;
    int allkeys;
    long long n;
} keys_walk_t;

static void keys_visit(void *arg, kentry_t *e)
{
    keys_walk_t *w = arg;
    size_t klen;
    const char *k = ke_key(e, &klen);
    if (!w->allkeys && !glob_match(w->pat->ptr, w->pat->len, k, klen, 0))
        return;
    /* Like Redis 7.0: expired keys are skipped, not deleted (deleting
     * would disturb the walk). */
    if (db_is_expired(w->ctx, e)) return;
    reply_bulk(w->r, k, klen);
    w->n++;
}

/* KEYS pattern */
static void cmd_keys(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    keys_walk_t w = {.ctx = ctx, .r = r, .pat = &req->argv[1]};
    w.allkeys = w.pat->len == 1 && w.pat->ptr[0] == '*';
    size_t h = reply_defer(r);
    uint64_t cursor = 0;
    do {
        cursor = ks_scan(ctx->ks, cursor, -1, keys_visit, &w);
    } while (cursor != 0);
    reply_set_deferred(r, h, '*', w.n);
}

/* Key names copied out of the keyspace during a SCAN step, so that the
 * filtering pass may delete expired keys: a byte buffer of
 * [size_t len][bytes] records. */
typedef struct keylist {
    char *buf;
    size_t len, cap, n;
} keylist_t;

static void keylist_push(void *arg, kentry_t *e)
{
    keylist_t *kl = arg;
    size_t klen;
    const char *k = ke_key(e, &klen);
    size_t need = sizeof(size_t) + klen;
    if (kl->len + need > kl->cap) {
        size_t cap = kl->cap ? kl->cap * 2 : 256;
        while (cap < kl->len + need)
            cap *= 2;
        kl->buf = ts_realloc(kl->buf, cap);
        kl->cap = cap;
    }
    memcpy(kl->buf + kl->len, &klen, sizeof(size_t));
    memcpy(kl->buf + kl->len + sizeof(size_t), k, klen);
    kl->len += need;
    kl->n++;
}

int db_parse_cursor(const resp_arg_t *a, uint64_t *out)
{
    char tmp[64];
    if (a->len >= sizeof(tmp)) return -1;
    memcpy(tmp, a->ptr, a->len);
    tmp[a->len] = '\0';
    /* isspace() in the C locale */
    if (tmp[0] == ' ' || (tmp[0] >= '\t' && tmp[0] <= '\r')) return -1;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(tmp, &end, 10);
    if (*end != '\0' || errno == ERANGE) return -1;
    *out = v;
    return 0;
}

int db_scan_parse(const req_t *req, int first, int allow_type,
                  scan_opts_t *o, reply_t *r)
{
    o->count = 10;
    o->pat = o->type = NULL;
    for (int i = first; i < req->argc; i += 2) {
        const resp_arg_t *a = &req->argv[i];
        int more = req->argc - i >= 2;
        if (arg_eq(a, "count") && more) {
            if (arg_ll(&req->argv[i + 1], &o->count, r)) return -1;
            if (o->count < 1) {
                reply_err_syntax(r);
                return -1;
            }
        } else if (arg_eq(a, "match") && more) {
            const resp_arg_t *p = &req->argv[i + 1];
            o->pat = p->len == 1 && p->ptr[0] == '*' ? NULL : p;
        } else if (allow_type && arg_eq(a, "type") && more) {
            o->type = &req->argv[i + 1];
        } else {
            reply_err_syntax(r);
            return -1;
        }
    }
    return 0;
}

/* Should SCAN drop this collected key?  May delete it if expired. */
static int scan_filter(cmdctx_t *ctx, const scan_opts_t *o,
                       const resp_arg_t *key)
{
    if (o->pat && !glob_match(o->pat->ptr, o->pat->len, key->ptr, key->len, 0))
        return 1;
    if (o->type) {
        /* Redis looks the key up here (counting a hit or miss). */
        kentry_t *e = lookup_stat(ctx, key);
        if (!arg_eq_name(o->type, e ? db_type_name(e) : "none")) return 1;
    }
    kentry_t *e = ks_find(ctx->ks, key->ptr, key->len);
    return e && expire_if_needed(ctx, e) == NULL;
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
static void cmd_scan(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    uint64_t cursor;
    scan_opts_t o;
    if (db_parse_cursor(&req->argv[1], &cursor)) {
        reply_error(r, "ERR invalid cursor");
        return;
    }
    if (db_scan_parse(req, 2, 1, &o, r)) return;

    /* As Redis: stop after COUNT keys or COUNT*10 buckets, so a sparse
     * table cannot make one call slow. */
    keylist_t kl = {0};
    long long maxiter = o.count > LLONG_MAX / 10 ? LLONG_MAX : o.count * 10;
    do {
        cursor = ks_scan(ctx->ks, cursor, -1, keylist_push, &kl);
    } while (cursor && maxiter-- && kl.n < (unsigned long long)o.count);

    char num[24];
    reply_array(r, 2);
    reply_bulk(r, num, resp_ull2str(num, cursor));
    size_t h = reply_defer(r);
    long long n = 0;
    for (size_t pos = 0; pos < kl.len;) {
        resp_arg_t key;
        memcpy(&key.len, kl.buf + pos, sizeof(size_t));
        key.ptr = kl.buf + pos + sizeof(size_t);
        pos += sizeof(size_t) + key.len;
        if (scan_filter(ctx, &o, &key)) continue;
        reply_bulk(r, key.ptr, key.len);
        n++;
    }
    reply_set_deferred(r, h, '*', n);
    ts_free(kl.buf);
}

/* RANDOMKEY */
static void cmd_randomkey(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    /* Each retry deletes an expired key, so this ends within ks_size()
     * rounds (Redis loops the same way on a master). */
    for (;;) {
        kentry_t *e = ks_random(ctx->ks, db_rand);
        if (!e) {
            reply_null(r);
            return;
        }
        if (expire_if_needed(ctx, e) == NULL) continue;
        size_t klen;
        const char *k = ke_key(e, &klen);
        reply_bulk(r, k, klen);
        return;
    }
}

/* DBSIZE */
static void cmd_dbsize(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    reply_int(r, (long long)ks_size(ctx->ks));
}

/* ==== FLUSHDB, FLUSHALL =============================================== */

/* Empty the keyspace; async swaps in a new one and frees the old in the
 * background.  Returns the number of keys removed. */
static long long flush_keyspace(cmdctx_t *ctx, int async)
{
    keyspace_t *old = ctx->ks;
    long long removed = (long long)ks_size(old);
    multi_touch_flush(ctx->node);   /* WATCHed keys that existed */
    if (async) {
        keyspace_t *fresh = ks_create(ks_nslots(old));
        ks_set_lru_clock(fresh, evict_new_clock(ctx->node, ctx->now_ms));
        ctx->node->ks = fresh;
        ctx->ks = fresh;
        lazyfree_keyspace(old);
    } else {
        ks_clear(old);
    }
    return removed;
}

/* [SYNC|ASYNC]; 0/1 for async, or -1 after a syntax error. */
static int flush_parse(const req_t *req, reply_t *r)
{
    if (req->argc == 1) return 0; /* lazyfree-lazy-user-flush no */
    if (req->argc == 2 && arg_eq(&req->argv[1], "sync")) return 0;
    if (req->argc == 2 && arg_eq(&req->argv[1], "async")) return 1;
    reply_err_syntax(r);
    return -1;
}

/* FLUSHDB [ASYNC|SYNC] */
static void cmd_flushdb(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    int async = flush_parse(req, r);
    if (async < 0) return;
    ctx->node->dirty += flush_keyspace(ctx, async);
    reply_ok(r);
}

/* FLUSHALL [ASYNC|SYNC] */
static void cmd_flushall(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    int async = flush_parse(req, r);
    if (async < 0) return;
    ctx->node->dirty += flush_keyspace(ctx, async);
    rdb_flushall(ctx->node); /* kill BGSAVE; save the empty set (save points) */
    ctx->node->dirty++; /* Redis counts FLUSHALL itself as a change */
    reply_ok(r);
}

/* ==== OBJECT ========================================================== */

static const char *encoding_name(const kentry_t *e)
{
    if (ke_type(e) == KT_STRING) {
        switch (ke_enc(e)) {
        case KE_INT: return "int";
        case KE_EMBSTR: return "embstr";
        default: return "raw";
        }
    }
    const db_type_ops_t *ops = ops_of(e);
    return ops && ops->encoding_name ? ops->encoding_name(e) : "unknown";
}

/* OBJECT ENCODING key */
static void cmd_object_encoding(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = lookup_stat(ctx, &req->argv[2]);
    if (!e) {
        reply_null(r);
        return;
    }
    reply_bulk_str(r, encoding_name(e));
}

/* OBJECT REFCOUNT key */
static void cmd_object_refcount(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = lookup_stat(ctx, &req->argv[2]);
    if (!e) {
        reply_null(r);
        return;
    }
    /* Redis stores integers 0..9999 as shared objects (refcount INT_MAX)
     * unless maxmemory is set with an LRU/LFU policy, where every key
     * needs its own LRU field (Redis decides when the value is stored,
     * Tessera when asked). */
    const node_t *n = ctx->node;
    int shared = !n->maxmemory ||
                 !(evict_policy_lru(n) || evict_policy_lfu(n));
    if (shared && ke_type(e) == KT_STRING && ke_enc(e) == KE_INT &&
        ke_int(e) >= 0 && ke_int(e) < DB_SHARED_INTEGERS)
        reply_int(r, DB_SHARED_REFCOUNT);
    else
        reply_int(r, 1);
}

/* OBJECT IDLETIME key */
static void cmd_object_idletime(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = lookup_stat(ctx, &req->argv[2]);
    if (!e) {
        reply_null(r);
        return;
    }
    if (evict_policy_lfu(ctx->node)) {
        reply_error(r, "ERR An LFU maxmemory policy is selected, idle time "
                       "not tracked. Please note that when switching "
                       "between policies at runtime LRU and LFU data will "
                       "take some time to adjust.");
        return;
    }
    /* The 24-bit clock wraps every ~194 days, handled as Redis does. */
    uint32_t now = db_lru_clock(ctx->now_ms), lru = ke_lru(e);
    long long idle = now >= lru ? (long long)(now - lru)
                                : (long long)now + (DB_LRU_CLOCK_MAX - lru);
    reply_int(r, idle);
}

/* OBJECT FREQ key */
static void cmd_object_freq(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = lookup_stat(ctx, &req->argv[2]);
    if (!e) {
        reply_null(r);
        return;
    }
    /* The counter with decay applied, not stored (OBJECT does not touch). */
    if (evict_policy_lfu(ctx->node)) {
        reply_int(r, (long long)evict_lfu_freq(ctx->node, e, ctx->now_ms));
        return;
    }
    reply_error(r, "ERR An LFU maxmemory policy is not selected, access "
                   "frequency not tracked. Please note that when switching "
                   "between policies at runtime LRU and LFU data will take "
                   "some time to adjust.");
}

/* OBJECT HELP */
static void cmd_object_help(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    /* Redis 7.0's text, line for line. */
    // clang-format off
    static const char *const lines[] = {
        "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
        "ENCODING <key>",
        "    Return the kind of internal representation used in order to store the value",
        "    associated with a <key>.",
        "FREQ <key>",
        "    Return the access frequency index of the <key>. The returned integer is",
        "    proportional to the logarithm of the recent access frequency of the key.",
        "IDLETIME <key>",
        "    Return the idle time of the <key>, that is the approximated number of",
        "    seconds elapsed since the last access to the key.",
        "REFCOUNT <key>",
        "    Return the number of references of the value associated with the specified",
        "    <key>.",
        "HELP",
        "    Prints this help.",
        NULL,
    };
    // clang-format on
    reply_help(r, lines);
}

const cmd_bind_t db_cmds[] = {
    {CMD_DEL, cmd_del},
    {CMD_UNLINK, cmd_unlink},
    {CMD_EXISTS, cmd_exists},
    {CMD_TYPE, cmd_type},
    {CMD_TOUCH, cmd_touch},
    {CMD_RENAME, cmd_rename},
    {CMD_RENAMENX, cmd_renamenx},
    {CMD_COPY, cmd_copy},
    {CMD_KEYS, cmd_keys},
    {CMD_SCAN, cmd_scan},
    {CMD_RANDOMKEY, cmd_randomkey},
    {CMD_DBSIZE, cmd_dbsize},
    {CMD_FLUSHDB, cmd_flushdb},
    {CMD_FLUSHALL, cmd_flushall},
    {CMD_OBJECT_ENCODING, cmd_object_encoding},
    {CMD_OBJECT_REFCOUNT, cmd_object_refcount},
    {CMD_OBJECT_IDLETIME, cmd_object_idletime},
    {CMD_OBJECT_FREQ, cmd_object_freq},
    {CMD_OBJECT_HELP, cmd_object_help},
    {CMD__COUNT, NULL},
};
