/*
 * t_set.c: the set type, with Redis 7.0's encodings, algorithms, replies
 * and error texts.
 *
 * Two encodings, as Redis 7.0 (listpack sets came with 7.2):
 *
 *   intset     Redis's sorted integer array, byte for byte (intset.h),
 *              while every member is a canonical integer ("12", not "012")
 *              and there are at most set-max-intset-entries of them
 *              (capped at 2^30 as Redis does);
 *   hashtable  a dict (dict.h): one allocation per member, key only.
 *
 * A set starts as an intset when its first member is an integer, and
 * becomes a hashtable for good when a non-integer is added or it grows
 * past the limit; removing members never converts back.  The one way back
 * is Redis's: SPOP with a count near the set's size rebuilds the set from
 * the members that stay, and that new set starts as an intset again.
 *
 * An intset of up to SET_BLOB_MAX bytes (every intset under the default
 * set-max-intset-entries) lives inside the key's entry as an embedded
 * blob (ks_set_blob): one allocation per small set, not two.  Adds and
 * removes resize the entry (ks_blob_resize, then intset_add_in_place /
 * intset_remove_in_place), so the entry may move: setv_t carries the
 * entry and follows it.  A larger intset, and the dict of the hashtable
 * encoding, are keyspace objects (ks_set_obj); a heap intset's new
 * address is stored back with ke_set_obj after each change.  Results
 * being built (SINTERSTORE, SPOP's rebuild) are detached heap values
 * until set_store_key puts them in a key.  Empty sets are never stored:
 * the last removal deletes the key.
 *
 * First the type's API (set_*: create, add, remove, membership, random,
 * iteration, conversion), the read-only view other types use (t_set.h:
 * ZUNION & co. take plain sets), then the commands.  Where Redis's order of
 * checks or choice of algorithm is observable (which error wins, which
 * encoding a result gets, SPOP's and SRANDMEMBER's cases, SINTER sorting
 * by size, the *STORE variants deleting an empty destination) the
 * handlers follow t_set.c of Redis 7.0 step by step.
 */
#include <assert.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cmd.h"
#include "db.h"
#include "dict.h"
#include "glob.h"
#include "intset.h"
#include "keyspace.h"
#include "notify.h"
#include "propagate.h"
#include "reply.h"
#include "resp.h"
#include "t_set.h"

enum { SET_ENC_INTSET = KE_OBJ, SET_ENC_HT = KE_OBJ + 1 };

/* Intsets up to this size are embedded in their key's entry: every
 * intset of 512 64-bit members (the default limit) fits. */
#define SET_BLOB_MAX 8192
/* Redis's intset limit regardless of set-max-intset-entries. */
#define INTSET_MAX_CAP (1LL << 30)
/* SPOP with count: rebuild when remaining * this <= count. */
#define SPOP_MOVE_STRATEGY_MUL 5
/* SRANDMEMBER with count: copy-and-remove when count * this > size. */
#define SRANDMEMBER_SUB_STRATEGY_MUL 3

/* ==== the set type ======================================================= */

/* A set value: the encoding and the object (intset_t * or dict_t *).
 * e is the key's entry (NULL for a detached value being built); when e
 * holds an embedded blob, p points into it and changes go through ks. */
typedef struct setv {
    int enc;
    void *p;
    keyspace_t *ks;
    kentry_t *e;
} setv_t;

/* One member as bytes; integers from an intset are formatted into buf. */
typedef struct sele {
    const char *p;
    size_t len;
    int is_int;
    long long v;
    char buf[24];
} sele_t;

static void sele_from_int(sele_t *m, long long v)
{
    m->is_int = 1;
    m->v = v;
    m->len = resp_ll2str(m->buf, v);
    m->p = m->buf;
}

static void sele_from_bytes(sele_t *m, const char *p, size_t len)
{
    m->is_int = 0;
    m->p = p;
    m->len = len;
}

/* set-max-intset-entries with Redis's 2^30 cap. */
static size_t set_intset_limit(const cmdctx_t *ctx)
{
    long long m = ctx->node->set_max_intset_entries;
    if (m >= INTSET_MAX_CAP) m = INTSET_MAX_CAP;
    return m < 0 ? 0 : (size_t)m;
}

/* An empty detached set that can hold `first` (setTypeCreate): an intset
 * if it is an integer, else a hashtable. */
static setv_t set_create(const char *first, size_t len)
{
    long long v;
    if (resp_str2ll(first, len, &v))
        return (setv_t){SET_ENC_INTSET, intset_new(), NULL, NULL};
    return (setv_t){SET_ENC_HT, dict_create(), NULL, NULL};
}

/* The same, created as the value of key (which must not exist): an empty
 * intset is embedded in the new entry. */
static setv_t set_create_key(keyspace_t *ks, const resp_arg_t *key,
                             const char *first, size_t len)
{
    long long v;
    setv_t s = {SET_ENC_HT, NULL, ks, NULL};
    if (resp_str2ll(first, len, &v)) {
        size_t n;
        s.enc = SET_ENC_INTSET;
        s.e = ks_set_blob(ks, key->ptr, key->len, KT_SET, SET_ENC_INTSET,
                          NULL, INTSET_HDR, 0);
        s.p = ke_blob(s.e, &n);
        intset_init(s.p);
    } else {
        s.p = dict_create();
        s.e = ks_set_obj(ks, key->ptr, key->len, KT_SET, SET_ENC_HT, s.p, 0);
    }
    return s;
}

static inline int set_embedded(const setv_t *s)
{
    return s->e && ke_is_blob(s->e);
}

/* Move an embedded intset to the heap (it outgrew SET_BLOB_MAX). */
static void set_unembed(setv_t *s)
{
    intset_t *is = intset_from_blob(s->p, intset_blob_len(s->p));
    ks_blob_to_obj(s->ks, &s->e, SET_ENC_INTSET, is);
    s->p = is;
}

/* Add / remove an integer of an intset, wherever it lives; 1 if the set
 * changed. */
static int set_int_add(setv_t *s, int64_t v)
{
    if (set_embedded(s)) {
        size_t n = intset_add_len(s->p, v);
        if (!n) return 0;
        if (n <= SET_BLOB_MAX) {
            s->p = ks_blob_resize(s->ks, &s->e, n);
            intset_add_in_place(s->p, v);
            return 1;
        }
        set_unembed(s);
    }
    int added;
    s->p = intset_add(s->p, v, &added);
    if (s->e) ke_set_obj(s->e, s->enc, s->p);
    return added;
}

static int set_int_remove(setv_t *s, int64_t v)
{
    if (set_embedded(s)) {
        if (!intset_remove_in_place(s->p, v)) return 0;
        s->p = ks_blob_resize(s->ks, &s->e, intset_blob_len(s->p));
        return 1;
    }
    int removed;
    s->p = intset_remove(s->p, v, &removed);
    if (s->e) ke_set_obj(s->e, s->enc, s->p);
    return removed;
}

static size_t set_size(const setv_t *s)
{
    return s->enc == SET_ENC_INTSET ? intset_len(s->p) : dict_size(s->p);
}

/* intset -> hashtable (setTypeConvert). */
static void set_convert(setv_t *s)
{
    assert(s->enc == SET_ENC_INTSET);
    intset_t *is = s->p;
    dict_t *d = dict_create();
    int64_t v;
    char buf[24];
    for (uint32_t i = 0; intset_get(is, i, &v); i++) {
        int added;
        dict_add(d, buf, resp_ll2str(buf, v), &added);
    }
    if (set_embedded(s)) {
        ks_blob_to_obj(s->ks, &s->e, SET_ENC_HT, d);
    } else {
        intset_free(is);
        if (s->e) ke_set_obj(s->e, SET_ENC_HT, d);
    }
    s->enc = SET_ENC_HT;
    s->p = d;
}

/* Add a member (setTypeAdd); 1 if it was not there.  May convert. */
static int set_add(setv_t *s, const char *p, size_t len, size_t maxints)
{
    if (s->enc == SET_ENC_INTSET) {
        long long v;
        if (resp_str2ll(p, len, &v)) {
            int added = set_int_add(s, v);
            if (added && intset_len(s->p) > maxints) set_convert(s);
            return added;
        }
        set_convert(s);
    }
    int added;
    dict_add(s->p, p, len, &added);
    return added;
}

/* Remove a member (setTypeRemove); 1 if it was there. */
static int set_remove(setv_t *s, const char *p, size_t len)
{
    if (s->enc == SET_ENC_INTSET) {
        long long v;
        return resp_str2ll(p, len, &v) && set_int_remove(s, v);
    }
    return dict_delete(s->p, p, len, NULL);
}

static int set_ismember(const setv_t *s, const char *p, size_t len)
{
    if (s->enc == SET_ENC_INTSET) {
        long long v;
        return resp_str2ll(p, len, &v) && intset_find(s->p, v);
    }
    return dict_find(s->p, p, len) != NULL;
}

/* Membership of a member taken from another set (skips formatting or
 * parsing when both sides are integers). */
static int set_has(const setv_t *s, const sele_t *m)
{
    if (s->enc == SET_ENC_INTSET) {
        if (m->is_int) return intset_find(s->p, m->v);
        long long v;
        return resp_str2ll(m->p, m->len, &v) && intset_find(s->p, v);
    }
    return dict_find(s->p, m->p, m->len) != NULL;
}

/* A random member of a non-empty set (setTypeRandomElement). */
static void set_random(const setv_t *s, sele_t *m)
{
    if (s->enc == SET_ENC_INTSET) {
        sele_from_int(m, intset_random(s->p, db_rand));
    } else {
        size_t len;
        const char *k = dict_key(dict_random(s->p, db_rand), &len);
        sele_from_bytes(m, k, len);
    }
}

static void set_free(int enc, void *obj)
{
    if (enc == SET_ENC_INTSET)
        intset_free(obj);
    else
        dict_destroy(obj, NULL);
}

/* Iteration; the hashtable may lose the current member meanwhile. */
typedef struct siter {
    const setv_t *s;
    uint32_t pos;
    dict_iter_t di;
} siter_t;

static void siter_init(siter_t *it, const setv_t *s)
{
    it->s = s;
    it->pos = 0;
    if (s->enc == SET_ENC_HT) dict_iter_init(s->p, &it->di);
}

/* The next member into *m; 0 at the end. */
static int siter_next(siter_t *it, sele_t *m)
{
    if (it->s->enc == SET_ENC_INTSET) {
        int64_t v;
        if (!intset_get(it->s->p, it->pos++, &v)) return 0;
        sele_from_int(m, v);
        return 1;
    }
    dict_entry_t *e = dict_iter_next(&it->di);
    if (!e) return 0;
    size_t len;
    const char *k = dict_key(e, &len);
    sele_from_bytes(m, k, len);
    return 1;
}

static void siter_done(siter_t *it)
{
    if (it->s->enc == SET_ENC_HT) dict_iter_done(&it->di);
}

static setv_t set_dup_value(const setv_t *s)
{
    if (s->enc == SET_ENC_INTSET)
        return (setv_t){SET_ENC_INTSET, intset_dup(s->p), NULL, NULL};
    setv_t c = {SET_ENC_HT, dict_create(), NULL, NULL};
    siter_t it;
    sele_t m;
    siter_init(&it, s);
    while (siter_next(&it, &m)) {
        int added;
        dict_add(c.p, m.p, m.len, &added);
    }
    siter_done(&it);
    return c;
}

/* ---- db_type_ops -------------------------------------------------------- */

static const char *set_encoding_name(const kentry_t *e)
{
    return ke_enc(e) == SET_ENC_INTSET ? "intset" : "hashtable";
}

/* COPY of a heap value (db.c copies embedded intsets itself). */
static void *set_dup(const kentry_t *e, int *enc_out)
{
    setv_t s = {ke_enc(e), ke_obj(e), NULL, NULL};
    setv_t c = set_dup_value(&s);
    *enc_out = c.enc;
    return c.p;
}

static const db_type_ops_t set_ops = {
    .encoding_name = set_encoding_name,
    .dup = set_dup,
    .free = set_free,
};

void t_set_setup(void)
{
    db_register_type(KT_SET, &set_ops);
}

/* ---- read-only view for other types (t_set.h) --------------------------- */

/* The encoding and object of the set in e (a blob's bytes if embedded). */
static const void *set_ptr_of(const kentry_t *e)
{
    size_t n;
    return ke_is_blob(e) ? ke_blob(e, &n) : ke_obj(e);
}

size_t t_set_card(const kentry_t *e)
{
    const void *p = set_ptr_of(e);
    return ke_enc(e) == SET_ENC_INTSET ? intset_len(p)
                                       : dict_size(p);
}

int t_set_contains(const kentry_t *e, const char *m, size_t len)
{
    setv_t s = {ke_enc(e), (void *)set_ptr_of(e), NULL, NULL};
    return set_ismember(&s, m, len);
}

void t_set_iter_init(t_set_iter_t *it, const kentry_t *e)
{
    it->enc = ke_enc(e);
    it->p = set_ptr_of(e);
    it->pos = 0;
    if (it->enc == SET_ENC_HT) dict_iter_init((dict_t *)it->p, &it->di);
}

const char *t_set_iter_next(t_set_iter_t *it, size_t *len)
{
    if (it->enc == SET_ENC_INTSET) {
        int64_t v;
        if (!intset_get(it->p, it->pos++, &v)) return NULL;
        *len = resp_ll2str(it->buf, v);
        return it->buf;
    }
    dict_entry_t *de = dict_iter_next(&it->di);
    return de ? dict_key(de, len) : NULL;
}

void t_set_iter_done(t_set_iter_t *it)
{
    if (it->enc == SET_ENC_HT) dict_iter_done(&it->di);
}

/* ==== command helpers ===================================================== */

/* The set in entry e (of ctx's keyspace).  Changes made through the
 * set_* functions keep the entry up to date; e itself may move (use the
 * returned value's e, or look the key up again). */
static inline setv_t setv_of(cmdctx_t *ctx, kentry_t *e)
{
    setv_t s = {ke_enc(e), NULL, ctx->ks, e};
    if (ke_is_blob(e)) {
        size_t n;
        s.p = ke_blob(e, &n);
    } else {
        s.p = ke_obj(e);
    }
    return s;
}

/* Store a detached set as key's value (replacing whatever it held);
 * takes ownership of s. */
static void set_store_key(cmdctx_t *ctx, const resp_arg_t *key, setv_t *s,
                          int keep_ttl)
{
    if (s->enc == SET_ENC_INTSET && intset_blob_len(s->p) <= SET_BLOB_MAX) {
        ks_set_blob(ctx->ks, key->ptr, key->len, KT_SET, SET_ENC_INTSET,
                    intset_blob(s->p), intset_blob_len(s->p), keep_ttl);
        intset_free(s->p);
    } else {
        ks_set_obj(ctx->ks, key->ptr, key->len, KT_SET, s->enc, s->p,
                   keep_ttl);
    }
}

/* Is the entry a set?  Replies WRONGTYPE and returns 0 if not. */
static inline int check_set(const kentry_t *e, reply_t *r)
{
    if (ke_type(e) == KT_SET) return 1;
    reply_err_wrongtype(r);
    return 0;
}

static void reply_member(reply_t *r, const sele_t *m)
{
    reply_bulk(r, m->p, m->len);
}

/* Reply every member of s as a set (~n in RESP3). */
static void reply_members(reply_t *r, const setv_t *s)
{
    siter_t it;
    sele_t m;
    reply_set(r, (long long)set_size(s));
    siter_init(&it, s);
    while (siter_next(&it, &m))
        reply_member(r, &m);
    siter_done(&it);
}

/* Delete key if its set became empty; 1 if deleted. */
static int delete_if_empty(cmdctx_t *ctx, const resp_arg_t *key,
                           const setv_t *s)
{
    if (set_size(s) != 0) return 0;
    db_delete(ctx, key);
    return 1;
}

static int same_key(const resp_arg_t *a, const resp_arg_t *b)
{
    return a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

/* ==== SADD, SREM, SMOVE, membership ====================================== */

/* SADD key member [member ...] */
static void cmd_sadd(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1];
    kentry_t *e = db_lookup_write(ctx, key);
    setv_t s;
    if (e) {
        if (!check_set(e, r)) return;
        s = setv_of(ctx, e);
    } else {
        s = set_create_key(ctx->ks, key, req->argv[2].ptr, req->argv[2].len);
    }
    size_t maxints = set_intset_limit(ctx);
    long long added = 0;
    for (int j = 2; j < req->argc; j++)
        added += set_add(&s, req->argv[j].ptr, req->argv[j].len, maxints);
    if (added) {
        db_modified(ctx, key);
        if (!e) notify_key(ctx->node, NOTIFY_NEW, "new", key);
        notify_key(ctx->node, NOTIFY_SET, "sadd", key);
    }
    reply_int(r, added);
}

/* SREM key member [member ...] */
static void cmd_srem(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1];
    kentry_t *e = db_lookup_write(ctx, key);
    if (!e) {
        reply_int(r, 0);
        return;
    }
    if (!check_set(e, r)) return;
    setv_t s = setv_of(ctx, e);
    long long deleted = 0;
    for (int j = 2; j < req->argc; j++) {
        if (!set_remove(&s, req->argv[j].ptr, req->argv[j].len)) continue;
        deleted++;
        if (set_size(&s) == 0) break;
    }
    if (deleted) {
        int keydel = delete_if_empty(ctx, key, &s);
        db_modified(ctx, key);
        notify_key(ctx->node, NOTIFY_SET, "srem", key);
        if (keydel) notify_key(ctx->node, NOTIFY_GENERIC, "del", key);
    }
    reply_int(r, deleted);
}

/* SMOVE source destination member */
static void cmd_smove(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *src = &req->argv[1], *dst = &req->argv[2];
    const resp_arg_t *ele = &req->argv[3];
    kentry_t *se = db_lookup_write(ctx, src);
    /* A lookup only deletes its own key (lazy expiry), and entries do not
     * move when other keys change: se stays valid (until src changes). */
    kentry_t *de = db_lookup_write(ctx, dst);
    if (!se) {
        reply_int(r, 0);
        return;
    }
    if (!check_set(se, r) || (de && !check_set(de, r))) return;
    setv_t ss = setv_of(ctx, se);
    if (same_key(src, dst)) {
        reply_int(r, set_ismember(&ss, ele->ptr, ele->len));
        return;
    }
    if (!set_remove(&ss, ele->ptr, ele->len)) {
        reply_int(r, 0);
        return;
    }
    int srcdel = delete_if_empty(ctx, src, &ss);

    /* Changing or deleting src does not move other entries: de is still
     * valid. */
    setv_t ds = de ? setv_of(ctx, de)
                   : set_create_key(ctx->ks, dst, ele->ptr, ele->len);
    int added = set_add(&ds, ele->ptr, ele->len, set_intset_limit(ctx));
    db_modified(ctx, src);
    db_modified(ctx, dst);
    /* Redis's order: srem (and del) on src, then new and sadd on dst */
    notify_key(ctx->node, NOTIFY_SET, "srem", src);
    if (srcdel) notify_key(ctx->node, NOTIFY_GENERIC, "del", src);
    if (!de) notify_key(ctx->node, NOTIFY_NEW, "new", dst);
    if (added) notify_key(ctx->node, NOTIFY_SET, "sadd", dst);
    reply_int(r, 1);
}

/* SISMEMBER key member */
static void cmd_sismember(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (!e) {
        reply_int(r, 0);
        return;
    }
    if (!check_set(e, r)) return;
    setv_t s = setv_of(ctx, e);
    reply_int(r, set_ismember(&s, req->argv[2].ptr, req->argv[2].len));
}

/* SMISMEMBER key member [member ...] */
static void cmd_smismember(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (e && !check_set(e, r)) return;
    setv_t s = e ? setv_of(ctx, e) : (setv_t){0, NULL, NULL, NULL};
    reply_array(r, req->argc - 2);
    for (int j = 2; j < req->argc; j++)
        reply_int(r, e && set_ismember(&s, req->argv[j].ptr, req->argv[j].len));
}

/* SCARD key */
static void cmd_scard(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (!e) {
        reply_int(r, 0);
        return;
    }
    if (!check_set(e, r)) return;
    setv_t s = setv_of(ctx, e);
    reply_int(r, (long long)set_size(&s));
}

/* ==== SPOP, SRANDMEMBER =================================================== */

/* SPOP is random: replicas and the AOF get SREM key member per popped
 * member (or DEL when the whole set goes), as Redis 7.0.  Call before
 * the member's bytes are freed. */
static void propagate_srem(cmdctx_t *ctx, const resp_arg_t *key,
                           const sele_t *m)
{
    if (!propagate_active(ctx->node)) return;
    resp_arg_t argv[3] = {{"SREM", 4}, *key, {m->p, m->len}};
    propagate_rewrite(ctx, 3, argv);
}

/* SPOP and SRANDMEMBER with a count: the set at key, looked up for writing
 * (SPOP) or reading.  NULL after replying: an empty set or array for a
 * missing key or a count of 0 (SPOP's is a set, as Redis), WRONGTYPE. */
static kentry_t *count_target(cmdctx_t *ctx, const resp_arg_t *key,
                              int write, unsigned long long count, reply_t *r)
{
    kentry_t *e = write ? db_lookup_write(ctx, key) : db_lookup_read(ctx, key);
    if (e && !check_set(e, r)) return NULL;
    if (!e || count == 0) {
        if (write)
            reply_set(r, 0);
        else
            reply_array(r, 0);
        return NULL;
    }
    return e;
}

/* SPOP key count (spopWithCountCommand) */
static void spop_count(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1];
    long long l;
    if (arg_ll_msg(&req->argv[2], &l, r,
                   "ERR value is out of range, must be positive"))
        return;
    if (l < 0) {
        reply_error(r, "ERR value is out of range, must be positive");
        return;
    }
    unsigned long long count = (unsigned long long)l;
    kentry_t *e = count_target(ctx, key, 1, count, r);
    if (!e) return;
    setv_t s = setv_of(ctx, e);
    size_t size = set_size(&s);

    /* CASE 1: everything; the key goes away. */
    if (count >= size) {
        reply_members(r, &s);
        db_delete(ctx, key);
        db_modified(ctx, key);
        notify_key(ctx->node, NOTIFY_SET, "spop", key);
        notify_key(ctx->node, NOTIFY_GENERIC, "del", key);
        resp_arg_t argv[2] = {{"DEL", 3}, *key};
        propagate_rewrite(ctx, 2, argv);
        return;
    }

    unsigned long long remaining = size - count;
    reply_set(r, (long long)count);
    sele_t m;
    if (remaining * SPOP_MOVE_STRATEGY_MUL > count) {
        /* CASE 2: few to pop: pick and remove one at a time. */
        while (count--) {
            set_random(&s, &m);
            reply_member(r, &m);
            propagate_srem(ctx, key, &m);
            if (m.is_int) {
                set_int_remove(&s, m.v);
            } else {
                /* the bytes live in the entry being deleted: reply first */
                dict_delete(s.p, m.p, m.len, NULL);
            }
        }
    } else {
        /* CASE 3: most of the set goes: move the members that stay to a
         * new set, reply what is left of the old one, keep the new one
         * (which starts as an intset again if its first member is an
         * integer, as in Redis). */
        setv_t ns = {0, NULL, NULL, NULL};
        size_t maxints = set_intset_limit(ctx);
        while (remaining--) {
            set_random(&s, &m);
            /* copy: removing the member frees its bytes */
            char *copy = ts_malloc(m.len ? m.len : 1);
            memcpy(copy, m.p, m.len);
            size_t len = m.len;
            if (!ns.p) ns = set_create(copy, len);
            set_add(&ns, copy, len, maxints);
            set_remove(&s, copy, len);
            ts_free(copy);
        }
        siter_t it;
        siter_init(&it, &s);
        while (siter_next(&it, &m)) {
            reply_member(r, &m);
            propagate_srem(ctx, key, &m);
        }
        siter_done(&it);
        /* Replaces (and frees) the old set, keeping the TTL. */
        set_store_key(ctx, key, &ns, 1);
    }
    db_modified(ctx, key);
    notify_key(ctx->node, NOTIFY_SET, "spop", key);
}

/* SPOP key [count] */
static void cmd_spop(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    if (req->argc == 3) {
        spop_count(ctx, req, r);
        return;
    }
    if (req->argc > 3) {
        reply_err_syntax(r);
        return;
    }
    const resp_arg_t *key = &req->argv[1];
    kentry_t *e = db_lookup_write(ctx, key);
    if (!e) {
        reply_null(r);
        return;
    }
    if (!check_set(e, r)) return;
    setv_t s = setv_of(ctx, e);
    sele_t m;
    set_random(&s, &m);
    reply_member(r, &m);
    propagate_srem(ctx, key, &m);
    if (m.is_int)
        set_int_remove(&s, m.v);
    else
        dict_delete(s.p, m.p, m.len, NULL);
    int keydel = delete_if_empty(ctx, key, &s);
    db_modified(ctx, key);
    notify_key(ctx->node, NOTIFY_SET, "spop", key);
    if (keydel) notify_key(ctx->node, NOTIFY_GENERIC, "del", key);
}

/* Members collected for SRANDMEMBER's cases 3 and 4: a temporary dict
 * (distinct members). */
static void srand_reply_dict(reply_t *r, dict_t *d)
{
    dict_iter_t it;
    dict_entry_t *de;
    reply_array(r, (long long)dict_size(d));
    dict_iter_init(d, &it);
    while ((de = dict_iter_next(&it))) {
        size_t len;
        const char *k = dict_key(de, &len);
        reply_bulk(r, k, len);
    }
    dict_iter_done(&it);
}

/* SRANDMEMBER key count (srandmemberWithCountCommand) */
static void srandmember_count(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long l;
    if (arg_ll(&req->argv[2], &l, r)) return;
    if (l == LLONG_MIN) {
        reply_error(r, "ERR value is out of range, value must between "
                       "-9223372036854775807 and 9223372036854775807");
        return;
    }
    int uniq = l >= 0;
    unsigned long long count = uniq ? (unsigned long long)l
                                    : (unsigned long long)-l;
    kentry_t *e = count_target(ctx, &req->argv[1], 0, count, r);
    if (!e) return;
    setv_t s = setv_of(ctx, e);
    size_t size = set_size(&s);
    sele_t m;

    /* CASE 1: negative count (repeats allowed), or a single member. */
    if (!uniq || count == 1) {
        reply_array(r, (long long)count);
        while (count--) {
            set_random(&s, &m);
            reply_member(r, &m);
        }
        return;
    }

    /* CASE 2: at least the whole set: all of it. */
    if (count >= size) {
        siter_t it;
        reply_array(r, (long long)size);
        siter_init(&it, &s);
        while (siter_next(&it, &m))
            reply_member(r, &m);
        siter_done(&it);
        return;
    }

    dict_t *d = dict_create();
    int added;
    if (count * SRANDMEMBER_SUB_STRATEGY_MUL > size) {
        /* CASE 3: close to the whole set: copy it, remove random ones. */
        siter_t it;
        siter_init(&it, &s);
        while (siter_next(&it, &m))
            dict_add(d, m.p, m.len, &added);
        siter_done(&it);
        while (dict_size(d) > count) {
            size_t len;
            const char *k = dict_key(dict_random(d, db_rand), &len);
            dict_delete(d, k, len, NULL);
        }
    } else {
        /* CASE 4: few of many: draw until count distinct ones. */
        while (dict_size(d) < count) {
            set_random(&s, &m);
            dict_add(d, m.p, m.len, &added);
        }
    }
    srand_reply_dict(r, d);
    dict_destroy(d, NULL);
}

/* SRANDMEMBER key [count] */
static void cmd_srandmember(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    if (req->argc == 3) {
        srandmember_count(ctx, req, r);
        return;
    }
    if (req->argc > 3) {
        reply_err_syntax(r);
        return;
    }
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (!e) {
        reply_null(r);
        return;
    }
    if (!check_set(e, r)) return;
    setv_t s = setv_of(ctx, e);
    sele_t m;
    set_random(&s, &m);
    reply_member(r, &m);
}

/* ==== SINTER, SUNION, SDIFF and their STORE / CARD forms ================= */

/*
 * Look up the source sets keys[0..n-1] for reading.  Missing keys are
 * NULL (enc 0); *missing counts them.  Every key is checked for its type
 * first, so WRONGTYPE wins over an empty result as in Redis 7.0.
 * Returns -1 after replying WRONGTYPE.
 */
static int lookup_sets(cmdctx_t *ctx, const resp_arg_t *keys, long n,
                       setv_t *sets, long *missing, reply_t *r)
{
    *missing = 0;
    for (long j = 0; j < n; j++) {
        kentry_t *e = db_lookup_read(ctx, &keys[j]);
        if (!e) {
            sets[j] = (setv_t){0, NULL, NULL, NULL};
            (*missing)++;
            continue;
        }
        if (!check_set(e, r)) return -1;
        sets[j] = setv_of(ctx, e);
    }
    return 0;
}

/* An empty *STORE result deletes dst ("del" if it existed). */
static void store_empty(cmdctx_t *ctx, const resp_arg_t *dst)
{
    if (!db_delete(ctx, dst)) return;
    db_modified(ctx, dst);
    notify_key(ctx->node, NOTIFY_GENERIC, "del", dst);
}

/*
 * Finish a *STORE command (setKey / dbDelete in Redis): a non-empty result
 * replaces dst whatever it held (TTL cleared); an empty one deletes dst.
 * event: the command's notification ("sinterstore", ...).  Takes
 * ownership of res.
 */
static void store_result(cmdctx_t *ctx, const resp_arg_t *dst, setv_t *res,
                         const char *event, reply_t *r)
{
    size_t n = set_size(res);
    if (n > 0) {
        notify_new_if_absent(ctx, dst);
        set_store_key(ctx, dst, res, 0);
        db_modified(ctx, dst);
        notify_key(ctx->node, NOTIFY_SET, event, dst);
    } else {
        set_free(res->enc, res->p);
        store_empty(ctx, dst);
    }
    reply_int(r, (long long)n);
}

static int cmp_size(const void *a, const void *b)
{
    size_t x = set_size(a), y = set_size(b);
    return x < y ? -1 : x > y;
}

/* Decreasing size, missing (NULL) sets last (SDIFF's algorithm 1). */
static int cmp_size_rev(const void *a, const void *b)
{
    const setv_t *x = a, *y = b;
    size_t sx = x->p ? set_size(x) : 0, sy = y->p ? set_size(y) : 0;
    return sx < sy ? 1 : -(sx > sy);
}

enum { INTER_REPLY, INTER_STORE, INTER_CARD };

/*
 * sinterGenericCommand.  mode: reply the members, store them at dst, or
 * count them (stopping at limit if it is not 0).
 */
static void sinter_generic(cmdctx_t *ctx, const resp_arg_t *keys, long n,
                           const resp_arg_t *dst, int mode,
                           unsigned long long limit, reply_t *r)
{
    setv_t *sets = ts_malloc(sizeof(*sets) * (size_t)n);
    long missing;
    if (lookup_sets(ctx, keys, n, sets, &missing, r)) goto out;
    if (missing) {
        /* an empty set makes the intersection empty */
        if (mode == INTER_STORE) {
            store_empty(ctx, dst);
            reply_int(r, 0);
        } else if (mode == INTER_CARD) {
            reply_int(r, 0);
        } else {
            reply_set(r, 0);
        }
        goto out;
    }
    /* Smallest first: fewer members to test. */
    qsort(sets, (size_t)n, sizeof(*sets), cmp_size);

    size_t handle = 0;
    setv_t res = {SET_ENC_INTSET, NULL, NULL, NULL};
    size_t maxints = set_intset_limit(ctx);
    if (mode == INTER_REPLY) handle = reply_defer(r);
    if (mode == INTER_STORE) res.p = intset_new();

    unsigned long long card = 0;
    siter_t it;
    sele_t m;
    siter_init(&it, &sets[0]);
    while (siter_next(&it, &m)) {
        long j;
        for (j = 1; j < n; j++) {
            if (sets[j].p == sets[0].p) continue;
            if (!set_has(&sets[j], &m)) break;
        }
        if (j < n) continue;
        if (mode == INTER_CARD) {
            card++;
            if (limit && card >= limit) break;
        } else if (mode == INTER_REPLY) {
            reply_member(r, &m);
            card++;
        } else {
            set_add(&res, m.p, m.len, maxints);
        }
    }
    siter_done(&it);

    if (mode == INTER_CARD)
        reply_int(r, (long long)card);
    else if (mode == INTER_REPLY)
        reply_set_deferred(r, handle, '~', (long long)card);
    else
        store_result(ctx, dst, &res, "sinterstore", r);
out:
    ts_free(sets);
}

enum { OP_UNION, OP_DIFF };

/* sunionDiffGenericCommand.  dst NULL: reply the result as a set. */
static void sunion_diff_generic(cmdctx_t *ctx, const resp_arg_t *keys, long n,
                                const resp_arg_t *dst, int op, reply_t *r)
{
    setv_t *sets = ts_malloc(sizeof(*sets) * (size_t)n);
    long missing;
    if (lookup_sets(ctx, keys, n, sets, &missing, r)) goto out;
    int sameset = 0;
    for (long j = 1; j < n; j++)
        if (sets[0].p && sets[j].p == sets[0].p) sameset = 1;

    /* SDIFF: algorithm 1 (test each member of the first set against the
     * others, O(N*M)) or 2 (add the first, remove the others, O(total)),
     * whichever looks cheaper, with Redis's bias towards 1. */
    int diff_algo = 1;
    if (op == OP_DIFF && sets[0].p && !sameset) {
        long long one = 0, two = 0;
        for (long j = 0; j < n; j++) {
            if (!sets[j].p) continue;
            one += (long long)set_size(&sets[0]);
            two += (long long)set_size(&sets[j]);
        }
        one /= 2;
        diff_algo = one <= two ? 1 : 2;
        if (diff_algo == 1 && n > 1)
            qsort(sets + 1, (size_t)n - 1, sizeof(*sets), cmp_size_rev);
    }

    setv_t res = {SET_ENC_INTSET, intset_new(), NULL, NULL};
    size_t maxints = set_intset_limit(ctx);
    siter_t it;
    sele_t m;
    if (op == OP_UNION) {
        for (long j = 0; j < n; j++) {
            if (!sets[j].p) continue;
            siter_init(&it, &sets[j]);
            while (siter_next(&it, &m))
                set_add(&res, m.p, m.len, maxints);
            siter_done(&it);
        }
    } else if (sameset || !sets[0].p) {
        /* empty */
    } else if (diff_algo == 1) {
        siter_init(&it, &sets[0]);
        while (siter_next(&it, &m)) {
            long j;
            for (j = 1; j < n; j++) {
                if (!sets[j].p) continue;
                if (sets[j].p == sets[0].p || set_has(&sets[j], &m)) break;
            }
            if (j == n) set_add(&res, m.p, m.len, maxints);
        }
        siter_done(&it);
    } else {
        for (long j = 0; j < n; j++) {
            if (!sets[j].p) continue;
            siter_init(&it, &sets[j]);
            while (siter_next(&it, &m)) {
                if (j == 0)
                    set_add(&res, m.p, m.len, maxints);
                else
                    set_remove(&res, m.p, m.len);
            }
            siter_done(&it);
            if (set_size(&res) == 0) break;
        }
    }

    if (dst) {
        store_result(ctx, dst, &res,
                     op == OP_UNION ? "sunionstore" : "sdiffstore", r);
    } else {
        reply_members(r, &res);
        set_free(res.enc, res.p);
    }
out:
    ts_free(sets);
}

/* SMEMBERS key (Redis runs it as SINTER key) */
static void cmd_smembers(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    sinter_generic(ctx, &req->argv[1], 1, NULL, INTER_REPLY, 0, r);
}

/* SINTER key [key ...] */
static void cmd_sinter(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    sinter_generic(ctx, &req->argv[1], req->argc - 1, NULL, INTER_REPLY, 0, r);
}

/* SINTERSTORE destination key [key ...] */
static void cmd_sinterstore(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    sinter_generic(ctx, &req->argv[2], req->argc - 2, &req->argv[1],
                   INTER_STORE, 0, r);
}

/* SINTERCARD numkeys key [key ...] [LIMIT limit] */
static void cmd_sintercard(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long numkeys, limit = 0;
    if (arg_ll_msg(&req->argv[1], &numkeys, r,
                   "ERR numkeys should be greater than 0"))
        return;
    if (numkeys < 1) {
        reply_error(r, "ERR numkeys should be greater than 0");
        return;
    }
    if (numkeys > req->argc - 2) {
        reply_error(r, "ERR Number of keys can't be greater than number of "
                       "args");
        return;
    }
    for (long j = 2 + (long)numkeys; j < req->argc; j++) {
        int more = req->argc - 1 - (int)j;
        if (arg_eq(&req->argv[j], "limit") && more) {
            j++;
            if (arg_ll_msg(&req->argv[j], &limit, r,
                           "ERR LIMIT can't be negative"))
                return;
            if (limit < 0) {
                reply_error(r, "ERR LIMIT can't be negative");
                return;
            }
        } else {
            reply_err_syntax(r);
            return;
        }
    }
    sinter_generic(ctx, &req->argv[2], (long)numkeys, NULL, INTER_CARD,
                   (unsigned long long)limit, r);
}

/* SUNION key [key ...] */
static void cmd_sunion(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    sunion_diff_generic(ctx, &req->argv[1], req->argc - 1, NULL, OP_UNION, r);
}

/* SUNIONSTORE destination key [key ...] */
static void cmd_sunionstore(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    sunion_diff_generic(ctx, &req->argv[2], req->argc - 2, &req->argv[1],
                        OP_UNION, r);
}

/* SDIFF key [key ...] */
static void cmd_sdiff(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    sunion_diff_generic(ctx, &req->argv[1], req->argc - 1, NULL, OP_DIFF, r);
}

/* SDIFFSTORE destination key [key ...] */
static void cmd_sdiffstore(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    sunion_diff_generic(ctx, &req->argv[2], req->argc - 2, &req->argv[1],
                        OP_DIFF, r);
}

/* ==== SSCAN ============================================================== */

/* Entries a SSCAN step collected (pointers stay valid: nothing is
 * deleted while the command runs). */
typedef struct scanlist {
    const dict_entry_t **v;
    size_t n, cap;
} scanlist_t;

static void scan_collect(void *arg, dict_entry_t *e)
{
    scanlist_t *l = arg;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 16;
        l->v = ts_realloc(l->v, l->cap * sizeof(*l->v));
    }
    l->v[l->n++] = e;
}

/* SSCAN key cursor [MATCH pattern] [COUNT count] */
static void cmd_sscan(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    uint64_t cursor;
    if (db_parse_cursor(&req->argv[2], &cursor)) {
        reply_error(r, "ERR invalid cursor");
        return;
    }
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (!e) {
        reply_array(r, 2);
        reply_bulk(r, "0", 1);
        reply_array(r, 0);
        return;
    }
    if (!check_set(e, r)) return;

    scan_opts_t so;
    if (db_scan_parse(req, 3, 0, &so, r)) return;
    long long count = so.count;
    const resp_arg_t *pat = so.pat;

    setv_t s = setv_of(ctx, e);
    char num[24];
    sele_t m;
    if (s.enc == SET_ENC_INTSET) {
        /* A compact encoding is returned whole, with cursor 0. */
        reply_array(r, 2);
        reply_bulk(r, "0", 1);
        size_t h = reply_defer(r);
        long long n = 0;
        siter_t it;
        siter_init(&it, &s);
        while (siter_next(&it, &m)) {
            if (pat && !glob_match(pat->ptr, pat->len, m.p, m.len, 0)) continue;
            reply_member(r, &m);
            n++;
        }
        siter_done(&it);
        reply_set_deferred(r, h, '*', n);
        return;
    }

    /* As Redis: stop after COUNT members or COUNT*10 buckets. */
    scanlist_t l = {0};
    long long maxiter = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
    do {
        cursor = dict_scan(s.p, cursor, scan_collect, &l);
    } while (cursor && maxiter-- && l.n < (unsigned long long)count);
    reply_array(r, 2);
    reply_bulk(r, num, resp_ull2str(num, cursor));
    size_t h = reply_defer(r);
    long long n = 0;
    for (size_t i = 0; i < l.n; i++) {
        size_t len;
        const char *k = dict_key(l.v[i], &len);
        if (pat && !glob_match(pat->ptr, pat->len, k, len, 0)) continue;
        reply_bulk(r, k, len);
        n++;
    }
    reply_set_deferred(r, h, '*', n);
    ts_free(l.v);
}

/* ==== binding ============================================================= */

const cmd_bind_t t_set_cmds[] = {
    {CMD_SADD, cmd_sadd},
    {CMD_SREM, cmd_srem},
    {CMD_SMOVE, cmd_smove},
    {CMD_SISMEMBER, cmd_sismember},
    {CMD_SMISMEMBER, cmd_smismember},
    {CMD_SCARD, cmd_scard},
    {CMD_SPOP, cmd_spop},
    {CMD_SRANDMEMBER, cmd_srandmember},
    {CMD_SMEMBERS, cmd_smembers},
    {CMD_SINTER, cmd_sinter},
    {CMD_SINTERSTORE, cmd_sinterstore},
    {CMD_SINTERCARD, cmd_sintercard},
    {CMD_SUNION, cmd_sunion},
    {CMD_SUNIONSTORE, cmd_sunionstore},
    {CMD_SDIFF, cmd_sdiff},
    {CMD_SDIFFSTORE, cmd_sdiffstore},
    {CMD_SSCAN, cmd_sscan},
    {CMD__COUNT, NULL},
};
