/*
 * t_hash.c: the hash type (HSET, HGET and family, HINCRBY[FLOAT],
 * HRANDFIELD, HSCAN) with Redis 7.0's replies and error texts.
 *
 * Two encodings, as in Redis, and OBJECT ENCODING names them the same:
 *
 *   listpack   field, value, field, value ... as a compact pack (cpack.h:
 *              listpack's element encoding without back-lengths, header
 *              total or terminator) embedded in the key's entry
 *              (ks_set_blob): one allocation per small hash.  RDB, DUMP
 *              and full syncs write Redis's listpack bytes (cp_to_lp in
 *              rdb.c), loading converts back (cp_from_lp).
 *   hashtable  a dict (dict.h) whose entries embed the field and the
 *              value: one allocation per field, no sds or robj.
 *
 * A hash starts as a listpack and becomes a hashtable for good when it
 * gets more than hash-max-listpack-entries fields, or a field or value
 * longer than hash-max-listpack-value bytes (checked before a write, for
 * every argument of the command, like hashTypeTryConversion, and for the
 * computed values of HINCRBY*, like hashTypeSet).  Redis 7.0.15's defaults
 * are 512 entries and 64 bytes.
 *
 * Handlers work on an hobj_t {enc, pointer, length, entry}: a pack
 * changes in place in its entry (ks_blob_resize; the entry may move and
 * hobj_t follows it), a hash being created is built in a buffer on the
 * stack (the heap past H_SBUF bytes) and becomes a key in h_store, so a
 * command that fails midway leaves nothing behind.  A hash emptied by HDEL is deleted, as Redis does.
 *
 * HSET/HGET are the hot path: one keyspace lookup, one pack scan or dict
 * lookup, at most one entry reallocation.
 */
#include <assert.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cmd.h"
#include "cpack.h"
#include "db.h"
#include "dict.h"
#include "glob.h"
#include "keyspace.h"
#include "listpack.h"
#include "notify.h"
#include "numfmt.h"
#include "propagate.h"
#include "reply.h"
#include "resp.h"

enum { HE_LISTPACK = KE_OBJ, HE_HT = KE_OBJ + 1 };

/* Listpacks stay below this size (Redis's LISTPACK_MAX_SAFETY_SIZE). */
#define LP_SAFETY_SIZE (1u << 30)

#define H_SBUF 256 /* a new hash's pack up to this size is built on the stack */

/*
 * A hash value.  HE_LISTPACK: p is a compact pack (cpack.h) of len bytes,
 * kept in the key's entry as an embedded blob (e != NULL; changes resize
 * the entry through ks, which may move it: e follows) or, for a key this
 * command is creating, in sbuf (or heap, when larger) until h_store makes
 * it a key (e == NULL).  HE_HT: p is the dict, a keyspace object once
 * stored.
 */
typedef struct hobj {
    int enc;
    void *p;            /* unsigned char * (pack) or dict_t * */
    size_t len;         /* HE_LISTPACK: bytes of the pack */
    keyspace_t *ks;
    kentry_t *e;        /* the key's entry, NULL while creating the key */
    unsigned char *heap; /* a new key's pack beyond H_SBUF bytes */
    unsigned char sbuf[H_SBUF];
} hobj_t;

/* cp_resize_fn for h: the entry's blob, or the new key's buffer. */
static unsigned char *h_resize(void *arg, size_t newlen)
{
    hobj_t *h = arg;
    if (h->e) {
        h->p = ks_blob_resize(h->ks, &h->e, newlen);
    } else if (h->heap) {
        h->p = h->heap = ts_realloc(h->heap, newlen);
    } else if (newlen > H_SBUF) {
        h->heap = ts_malloc(newlen);
        memcpy(h->heap, h->sbuf, h->len < newlen ? h->len : newlen);
        h->p = h->heap;
    } else {
        h->p = h->sbuf;
    }
    return h->p;
}

/* Fill h from the hash in e (which must be one). */
static void h_from_entry(hobj_t *h, keyspace_t *ks, kentry_t *e)
{
    h->enc = ke_enc(e);
    h->ks = ks;
    h->e = e;
    h->heap = NULL;
    if (h->enc == HE_LISTPACK) {
        h->p = ke_blob(e, &h->len);
    } else {
        h->p = ke_obj(e);
        h->len = 0;
    }
}

/* An empty pack for a key being created. */
static void h_new(hobj_t *h, keyspace_t *ks)
{
    h->enc = HE_LISTPACK;
    h->ks = ks;
    h->e = NULL;
    h->heap = NULL;
    h->len = CP_EMPTY_SIZE;
    h->p = h->sbuf;
    cp_init(h->sbuf);
}

static size_t h_len(const hobj_t *h)
{
    if (h->enc == HE_LISTPACK) return cp_count(h->p, h->len) / 2;
    return dict_size(h->p);
}

/* The pack element of field f, NULL if absent. */
static unsigned char *cp_field(const hobj_t *h, const char *f, size_t flen)
{
    unsigned char *p = cp_first(h->p, h->len);
    if (!p || flen > UINT32_MAX) return NULL;
    return cp_find(h->p, h->len, p, f, (uint32_t)flen, 1);
}

/*
 * Value of field f as text in *v and *vlen (integers in a pack are formatted
 * into buf, LP_INTBUF_SIZE bytes).  1 if the field exists.
 */
static int h_get(const hobj_t *h, const char *f, size_t flen,
                 unsigned char *buf, const char **v, size_t *vlen)
{
    if (h->enc == HE_LISTPACK) {
        unsigned char *p = cp_field(h, f, flen);
        if (!p) return 0;
        uint32_t l;
        *v = (const char *)lp_get_text(p + cp_elem_size(p), &l, buf);
        *vlen = l;
        return 1;
    }
    dict_entry_t *e = dict_find(h->p, f, flen);
    if (!e) return 0;
    *v = dict_val(e, vlen);
    return 1;
}

/* Pack -> hashtable (never back, as Redis). */
static void h_convert(hobj_t *h)
{
    unsigned char *b = h->p;
    dict_t *d = dict_create();
    dict_expand(d, cp_count(b, h->len) / 2);
    unsigned char fb[LP_INTBUF_SIZE], vb[LP_INTBUF_SIZE];
    for (unsigned char *p = cp_first(b, h->len); p;) {
        unsigned char *q = cp_next(b, h->len, p);
        uint32_t fl, vl;
        const unsigned char *f = lp_get_text(p, &fl, fb);
        const unsigned char *v = lp_get_text(q, &vl, vb);
        int added;
        dict_set(d, (const char *)f, fl, (const char *)v, vl, &added);
        p = cp_next(b, h->len, q);
    }
    if (h->e) {
        ks_blob_to_obj(h->ks, &h->e, HE_HT, d);
    } else {
        ts_free(h->heap);
        h->heap = NULL;
    }
    h->enc = HE_HT;
    h->p = d;
    h->len = 0;
}

/* hashTypeTryConversion: before writing these bytes (fields and values),
 * convert if one is too long for a listpack or the listpack would pass
 * its safety size. */
static void h_try_convert(const node_t *n, hobj_t *h, const resp_arg_t *a,
                          int count)
{
    if (h->enc != HE_LISTPACK) return;
    size_t sum = 0;
    for (int i = 0; i < count; i++) {
        if (a[i].len > (unsigned long long)n->hash_max_listpack_value) {
            h_convert(h);
            return;
        }
        sum += a[i].len;
    }
    /* the listpack is at most 2 * len + 7 bytes: walk only when close */
    if (h->len + sum > LP_SAFETY_SIZE / 2 - 8 &&
        cp_lp_size(h->p, h->len) + sum > LP_SAFETY_SIZE)
        h_convert(h);
}

/*
 * hashTypeSet: set field f to v; 1 if the field is new.  Converts to a
 * hashtable when f or v is too long or the hash gets too many fields.
 */
static int h_set(const node_t *n, hobj_t *h, const char *f, size_t flen,
                 const char *v, size_t vlen)
{
    if (h->enc == HE_LISTPACK) {
        unsigned long long max = (unsigned long long)n->hash_max_listpack_value;
        if (flen > max || vlen > max || flen > UINT32_MAX || vlen > UINT32_MAX)
            h_convert(h);
    }
    if (h->enc == HE_LISTPACK) {
        unsigned char *p = cp_field(h, f, flen);
        cp_str_t add[2] = {{f, (uint32_t)flen, 0}, {v, (uint32_t)vlen, 0}};
        if (p) {
            size_t off = (size_t)(p - (unsigned char *)h->p) + cp_elem_size(p);
            cp_splice(h->p, &h->len, off, 1, &add[1], 1, h_resize, h);
            return 0;
        }
        cp_splice(h->p, &h->len, h->len, 0, add, 2, h_resize, h);
        if (cp_count(h->p, h->len) / 2 >
            (unsigned long long)n->hash_max_listpack_entries)
            h_convert(h);
        return 1;
    }
    int added;
    dict_set(h->p, f, flen, v, vlen, &added);
    return added;
}

/* Delete field f; 1 if it existed. */
static int h_del(hobj_t *h, const char *f, size_t flen)
{
    if (h->enc == HE_LISTPACK) {
        unsigned char *p = cp_field(h, f, flen);
        if (!p) return 0;
        /* the field and its value */
        cp_splice(h->p, &h->len, (size_t)(p - (unsigned char *)h->p), 2, NULL,
                  0, h_resize, h);
        return 1;
    }
    return dict_delete(h->p, f, flen, NULL);
}

/* Calls fn(arg, field, value) for every pair, in encoding order. */
typedef void h_pair_fn(void *arg, const char *f, size_t flen, const char *v,
                       size_t vlen);

static void h_foreach(const hobj_t *h, h_pair_fn *fn, void *arg)
{
    if (h->enc == HE_LISTPACK) {
        unsigned char *b = h->p;
        unsigned char fb[LP_INTBUF_SIZE], vb[LP_INTBUF_SIZE];
        for (unsigned char *p = cp_first(b, h->len); p;) {
            unsigned char *q = cp_next(b, h->len, p);
            uint32_t fl, vl;
            const unsigned char *f = lp_get_text(p, &fl, fb);
            const unsigned char *v = lp_get_text(q, &vl, vb);
            fn(arg, (const char *)f, fl, (const char *)v, vl);
            p = cp_next(b, h->len, q);
        }
        return;
    }
    dict_iter_t it;
    dict_iter_init(h->p, &it);
    for (dict_entry_t *e; (e = dict_iter_next(&it));) {
        size_t fl, vl;
        const char *f = dict_key(e, &fl);
        const char *v = dict_val(e, &vl);
        fn(arg, f, fl, v, vl);
    }
    dict_iter_done(&it);
}

/* ==== db_type_ops ======================================================= */

static const char *h_encoding_name(const kentry_t *e)
{
    return ke_enc(e) == HE_LISTPACK ? "listpack" : "hashtable";
}

static void dup_pair(void *arg, const char *f, size_t flen, const char *v,
                     size_t vlen)
{
    int added;
    dict_set(arg, f, flen, v, vlen, &added);
}

/* Only hashtables are objects (packs are blobs, which COPY copies). */
static void *h_dup(const kentry_t *e, int *enc_out)
{
    hobj_t h = {.enc = HE_HT, .p = ke_obj(e)};
    assert(ke_enc(e) == HE_HT);
    *enc_out = HE_HT;
    dict_t *d = dict_create();
    dict_expand(d, dict_size(h.p));
    h_foreach(&h, dup_pair, d);
    return d;
}

static void h_free(int enc, void *obj)
{
    if (enc == HE_LISTPACK)
        lp_free(obj); /* a detached listpack (RDB loading frees its own) */
    else
        dict_destroy(obj, NULL);
}

static const db_type_ops_t hash_ops = {
    .encoding_name = h_encoding_name,
    .dup = h_dup,
    .free = h_free,
};

void t_hash_setup(void)
{
    db_register_type(KT_HASH, &hash_ops);
}

/* ==== command helpers =================================================== */

/* The hash at key for reading: 1 found (h filled), 0 absent, -1 after
 * replying WRONGTYPE. */
static int lookup_read(cmdctx_t *ctx, const resp_arg_t *key, hobj_t *h,
                       reply_t *r)
{
    kentry_t *e = db_lookup_read(ctx, key);
    if (!e) return 0;
    if (ke_type(e) != KT_HASH) {
        reply_err_wrongtype(r);
        return -1;
    }
    h_from_entry(h, ctx->ks, e);
    return 1;
}

/* For writing: 1 found, 0 absent (h is then a new empty pack, made a key
 * by h_store), -1 after replying WRONGTYPE. */
static int lookup_write(cmdctx_t *ctx, const resp_arg_t *key, hobj_t *h,
                        reply_t *r)
{
    kentry_t *e = db_lookup_write(ctx, key);
    if (!e) {
        h_new(h, ctx->ks);
        return 0;
    }
    if (ke_type(e) != KT_HASH) {
        reply_err_wrongtype(r);
        return -1;
    }
    h_from_entry(h, ctx->ks, e);
    return 1;
}

/* Make a hash being created a key (a stored one is already up to date). */
static void h_store(cmdctx_t *ctx, const resp_arg_t *key, hobj_t *h)
{
    if (h->e) return;
    if (h->enc == HE_LISTPACK) {
        h->e = ks_set_blob(ctx->ks, key->ptr, key->len, KT_HASH, HE_LISTPACK,
                           h->p, h->len, 0);
        h->p = ke_blob(h->e, &h->len);
        ts_free(h->heap);
        h->heap = NULL;
    } else {
        h->e = ks_set_obj(ctx->ks, key->ptr, key->len, KT_HASH, HE_HT, h->p, 0);
    }
}

/* ==== commands ========================================================== */

/* HSET key field value [field value ...] / HMSET (same, replies +OK) */
static void hset_generic(cmdctx_t *ctx, const req_t *req, int is_hmset,
                         reply_t *r)
{
    if (req->argc % 2 == 1) {
        reply_err_arity(r, is_hmset ? "hmset" : "hset");
        return;
    }
    const resp_arg_t *key = &req->argv[1];
    hobj_t h;
    int found = lookup_write(ctx, key, &h, r);
    if (found < 0) return;
    h_try_convert(ctx->node, &h, &req->argv[2], req->argc - 2);
    long long created = 0;
    for (int i = 2; i < req->argc; i += 2) {
        const resp_arg_t *f = &req->argv[i], *v = &req->argv[i + 1];
        created += h_set(ctx->node, &h, f->ptr, f->len, v->ptr, v->len);
    }
    h_store(ctx, key, &h);
    db_modified(ctx, key);
    if (!found) notify_key(ctx->node, NOTIFY_NEW, "new", key);
    notify_key(ctx->node, NOTIFY_HASH, "hset", key);
    if (is_hmset)
        reply_ok(r);
    else
        reply_int(r, created);
}

static void cmd_hset(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    hset_generic(ctx, req, 0, r);
}

/* HMSET key field value [field value ...] */
static void cmd_hmset(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    hset_generic(ctx, req, 1, r);
}

/* HSETNX key field value */
static void cmd_hsetnx(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1], *f = &req->argv[2],
                     *v = &req->argv[3];
    hobj_t h;
    int found = lookup_write(ctx, key, &h, r);
    if (found < 0) return;
    unsigned char buf[LP_INTBUF_SIZE];
    const char *ov;
    size_t ovlen;
    if (found && h_get(&h, f->ptr, f->len, buf, &ov, &ovlen)) {
        reply_int(r, 0);
        return;
    }
    h_try_convert(ctx->node, &h, f, 2);
    h_set(ctx->node, &h, f->ptr, f->len, v->ptr, v->len);
    h_store(ctx, key, &h);
    db_modified(ctx, key);
    if (!found) notify_key(ctx->node, NOTIFY_NEW, "new", key);
    notify_key(ctx->node, NOTIFY_HASH, "hset", key);
    reply_int(r, 1);
}

/*
 * HGET, HSTRLEN, HEXISTS: the value of field argv[2] of hash argv[1] in
 * *v (buf holds an integer's digits).  Returns 1 found, 0 if the key or
 * the field is absent, -1 after replying WRONGTYPE.
 */
static int field_read(cmdctx_t *ctx, const req_t *req,
                      unsigned char buf[LP_INTBUF_SIZE], const char **v,
                      size_t *vlen, reply_t *r)
{
    hobj_t h;
    int found = lookup_read(ctx, &req->argv[1], &h, r);
    if (found <= 0) return found;
    const resp_arg_t *f = &req->argv[2];
    return h_get(&h, f->ptr, f->len, buf, v, vlen);
}

/* HGET key field */
static void cmd_hget(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    unsigned char buf[LP_INTBUF_SIZE];
    const char *v;
    size_t vlen;
    int got = field_read(ctx, req, buf, &v, &vlen, r);
    if (got > 0)
        reply_bulk(r, v, vlen);
    else if (got == 0)
        reply_null(r);
}

/* HMGET key field [field ...] */
static void cmd_hmget(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    hobj_t h;
    int found = lookup_read(ctx, &req->argv[1], &h, r);
    if (found < 0) return;
    reply_array(r, req->argc - 2);
    for (int i = 2; i < req->argc; i++) {
        unsigned char buf[LP_INTBUF_SIZE];
        const char *v;
        size_t vlen;
        const resp_arg_t *f = &req->argv[i];
        if (found && h_get(&h, f->ptr, f->len, buf, &v, &vlen))
            reply_bulk(r, v, vlen);
        else
            reply_null(r);
    }
}

/* HDEL key field [field ...] */
static void cmd_hdel(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1];
    kentry_t *e = db_lookup_write(ctx, key);
    if (!e) {
        reply_int(r, 0);
        return;
    }
    if (ke_type(e) != KT_HASH) {
        reply_err_wrongtype(r);
        return;
    }
    hobj_t h;
    h_from_entry(&h, ctx->ks, e);
    long long deleted = 0;
    for (int i = 2; i < req->argc; i++) {
        const resp_arg_t *f = &req->argv[i];
        if (h_del(&h, f->ptr, f->len)) {
            deleted++;
            if (h_len(&h) == 0) break;
        }
    }
    int keydel = h_len(&h) == 0;
    if (keydel) ks_delete_entry(ctx->ks, h.e);
    if (deleted) {
        db_modified(ctx, key);
        notify_key(ctx->node, NOTIFY_HASH, "hdel", key);
        if (keydel) notify_key(ctx->node, NOTIFY_GENERIC, "del", key);
    }
    reply_int(r, deleted);
}

/* HLEN key */
static void cmd_hlen(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    hobj_t h;
    int found = lookup_read(ctx, &req->argv[1], &h, r);
    if (found < 0) return;
    reply_int(r, found ? (long long)h_len(&h) : 0);
}

/* HSTRLEN key field */
static void cmd_hstrlen(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    unsigned char buf[LP_INTBUF_SIZE];
    const char *v;
    size_t vlen;
    int got = field_read(ctx, req, buf, &v, &vlen, r);
    if (got >= 0) reply_int(r, got ? (long long)vlen : 0);
}

/* HEXISTS key field */
static void cmd_hexists(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    unsigned char buf[LP_INTBUF_SIZE];
    const char *v;
    size_t vlen;
    int got = field_read(ctx, req, buf, &v, &vlen, r);
    if (got >= 0) reply_int(r, got);
}

#define OUT_FIELD 1
#define OUT_VALUE 2

typedef struct out_walk {
    reply_t *r;
    int what;
} out_walk_t;

static void out_pair(void *arg, const char *f, size_t flen, const char *v,
                     size_t vlen)
{
    out_walk_t *w = arg;
    if (w->what & OUT_FIELD) reply_bulk(w->r, f, flen);
    if (w->what & OUT_VALUE) reply_bulk(w->r, v, vlen);
}

/* genericHgetallCommand: HKEYS, HVALS (arrays), HGETALL (a map). */
static void getall_generic(cmdctx_t *ctx, const req_t *req, int what,
                           reply_t *r)
{
    hobj_t h;
    int found = lookup_read(ctx, &req->argv[1], &h, r);
    if (found < 0) return;
    long long n = found ? (long long)h_len(&h) : 0;
    if (what == (OUT_FIELD | OUT_VALUE))
        reply_map(r, n);
    else
        reply_array(r, n);
    if (!found) return;
    out_walk_t w = {r, what};
    h_foreach(&h, out_pair, &w);
}

/* HKEYS key */
static void cmd_hkeys(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    getall_generic(ctx, req, OUT_FIELD, r);
}

/* HVALS key */
static void cmd_hvals(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    getall_generic(ctx, req, OUT_VALUE, r);
}

/* HGETALL key */
static void cmd_hgetall(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    getall_generic(ctx, req, OUT_FIELD | OUT_VALUE, r);
}

/*
 * HINCRBY, HINCRBYFLOAT: look the hash up for writing and read field f's
 * value into *v (NULL when the hash or the field is absent; buf holds an
 * integer's digits).  Returns found as lookup_write does (-1: replied).
 */
static int incr_lookup(cmdctx_t *ctx, const resp_arg_t *key,
                       const resp_arg_t *f, hobj_t *h,
                       unsigned char buf[LP_INTBUF_SIZE], const char **v,
                       size_t *vlen, reply_t *r)
{
    int found = lookup_write(ctx, key, h, r);
    *v = NULL;
    *vlen = 0;
    if (found > 0 && !h_get(h, f->ptr, f->len, buf, v, vlen)) *v = NULL;
    return found;
}

/* HINCRBY, HINCRBYFLOAT: store the new value of field f and notify. */
static void incr_store(cmdctx_t *ctx, const resp_arg_t *key,
                       const resp_arg_t *f, hobj_t *h, int found,
                       const char *num, size_t nlen, const char *event)
{
    h_set(ctx->node, h, f->ptr, f->len, num, nlen);
    h_store(ctx, key, h);
    db_modified(ctx, key);
    if (!found) notify_key(ctx->node, NOTIFY_NEW, "new", key);
    notify_key(ctx->node, NOTIFY_HASH, event, key);
}

/* HINCRBY key field increment */
static void cmd_hincrby(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1], *f = &req->argv[2];
    long long incr, old = 0;
    if (arg_ll(&req->argv[3], &incr, r)) return;
    hobj_t h;
    unsigned char buf[LP_INTBUF_SIZE];
    const char *v;
    size_t vlen;
    int found = incr_lookup(ctx, key, f, &h, buf, &v, &vlen, r);
    if (found < 0) return;
    if (v && !resp_str2ll(v, vlen, &old)) {
        reply_error(r, "ERR hash value is not an integer");
        return;
    }
    if ((incr < 0 && old < 0 && incr < LLONG_MIN - old) ||
        (incr > 0 && old > 0 && incr > LLONG_MAX - old)) {
        reply_error(r, "ERR increment or decrement would overflow");
        return;
    }
    long long nv = old + incr;
    char num[24];
    incr_store(ctx, key, f, &h, found, num, resp_ll2str(num, nv), "hincrby");
    reply_int(r, nv);
}

/* HINCRBYFLOAT key field increment */
static void cmd_hincrbyfloat(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1], *f = &req->argv[2],
                     *a = &req->argv[3];
    long double incr, val = 0;
    if (!numfmt_str2ld(a->ptr, a->len, &incr)) {
        reply_err_notfloat(r);
        return;
    }
    if (isnan(incr) || isinf(incr)) {
        reply_error(r, "ERR value is NaN or Infinity");
        return;
    }
    hobj_t h;
    unsigned char buf[LP_INTBUF_SIZE];
    const char *v;
    size_t vlen;
    int found = incr_lookup(ctx, key, f, &h, buf, &v, &vlen, r);
    if (found < 0) return;
    if (v && !numfmt_str2ld(v, vlen, &val)) {
        reply_error(r, "ERR hash value is not a float");
        return;
    }
    val += incr;
    if (isnan(val) || isinf(val)) {
        reply_error(r, "ERR increment would produce NaN or Infinity");
        return;
    }
    char out[NUMFMT_LD_MAX_CHARS];
    size_t n = numfmt_ld2str_human(out, val);
    incr_store(ctx, key, f, &h, found, out, n, "hincrbyfloat");
    reply_bulk(r, out, n);
    /* replicas store the same formatted value: HSET key field value */
    resp_arg_t argv[4] = {{"HSET", 4}, *key, *f, {out, n}};
    propagate_rewrite(ctx, 4, argv);
}

/* ---- HRANDFIELD ---- */

/* One pair of the hash, addressed for HRANDFIELD's picks. */
typedef struct pair_ref {
    const char *f, *v;
    size_t flen, vlen;
} pair_ref_t;

static void emit_pair(reply_t *r, const pair_ref_t *p, int withvalues)
{
    if (withvalues && r->proto > 2) reply_array(r, 2);
    reply_bulk(r, p->f, p->flen);
    if (withvalues) reply_bulk(r, p->v, p->vlen);
}

static void pair_of_entry(dict_entry_t *e, pair_ref_t *p)
{
    p->f = dict_key(e, &p->flen);
    p->v = dict_val(e, &p->vlen);
}

/*
 * Every pair of a listpack as text.  Integers are formatted into `ints`
 * (LP_INTBUF_SIZE bytes per entry, two per pair).  Both arrays hold
 * h_len() entries; the caller frees them.
 */
static pair_ref_t *cp_pairs(const hobj_t *h, size_t n, char **ints)
{
    unsigned char *lp = h->p;
    pair_ref_t *pr = ts_malloc(n * sizeof(*pr) + 1);
    char *ib = ts_malloc(n * 2 * LP_INTBUF_SIZE + 1);
    size_t i = 0;
    for (unsigned char *p = cp_first(lp, h->len); p; i++) {
        unsigned char *q = cp_next(lp, h->len, p);
        uint32_t fl, vl;
        unsigned char *fb = (unsigned char *)ib + 2 * i * LP_INTBUF_SIZE;
        pr[i].f = (const char *)lp_get_text(p, &fl, fb);
        pr[i].v = (const char *)lp_get_text(q, &vl, fb + LP_INTBUF_SIZE);
        pr[i].flen = fl;
        pr[i].vlen = vl;
        p = cp_next(lp, h->len, q);
    }
    *ints = ib;
    return pr;
}

/* Case 1: count picks with repetitions allowed (negative count, or 1). */
static void rand_repeat(hobj_t *h, unsigned long count, int withvalues,
                        reply_t *r)
{
    if (h->enc == HE_HT) {
        while (count--) {
            pair_ref_t p;
            pair_of_entry(dict_random(h->p, db_rand), &p);
            emit_pair(r, &p, withvalues);
        }
        return;
    }
    size_t n = h_len(h);
    char *ints;
    pair_ref_t *pr = cp_pairs(h, n, &ints);
    while (count--) emit_pair(r, &pr[db_rand() % n], withvalues);
    ts_free(pr);
    ts_free(ints);
}

static void add_ref(void *arg, const char *f, size_t flen, const char *v,
                    size_t vlen)
{
    pair_ref_t **pp = arg;
    **pp = (pair_ref_t){f, v, flen, vlen};
    (*pp)++;
}

/*
 * Cases 3 and 4: count distinct pairs, count < size.  When count is a
 * large share of the hash, a partial Fisher-Yates shuffle over all the
 * pairs; otherwise random picks deduplicated through a scratch dict keyed
 * by entry address (Redis's CASE 4).
 */
static void rand_unique(hobj_t *h, unsigned long count, int withvalues,
                        reply_t *r)
{
    size_t n = h_len(h);
    if (h->enc == HE_HT && count * 3 <= n) {
        dict_t *seen = dict_create();
        unsigned long got = 0;
        while (got < count) {
            dict_entry_t *e = dict_random(h->p, db_rand);
            int added;
            dict_add(seen, (const char *)&e, sizeof(e), &added);
            if (!added) continue;
            pair_ref_t p;
            pair_of_entry(e, &p);
            emit_pair(r, &p, withvalues);
            got++;
        }
        dict_destroy(seen, NULL);
        return;
    }
    char *ints = NULL;
    pair_ref_t *pr;
    if (h->enc == HE_LISTPACK) {
        pr = cp_pairs(h, n, &ints);
    } else {
        /* Pointers into the dict's entries: nothing changes it meanwhile. */
        pr = ts_malloc(n * sizeof(*pr) + 1);
        pair_ref_t *w = pr;
        h_foreach(h, add_ref, &w);
    }
    for (unsigned long i = 0; i < count; i++) {
        size_t j = i + db_rand() % (n - i);
        pair_ref_t t = pr[i];
        pr[i] = pr[j];
        pr[j] = t;
        emit_pair(r, &pr[i], withvalues);
    }
    ts_free(pr);
    ts_free(ints);
}

/* HRANDFIELD key [count [WITHVALUES]] */
static void cmd_hrandfield(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    hobj_t h;
    if (req->argc < 3) {
        int found = lookup_read(ctx, &req->argv[1], &h, r);
        if (found < 0) return;
        if (!found) {
            reply_null(r);
            return;
        }
        if (h.enc == HE_HT) {
            pair_ref_t p;
            pair_of_entry(dict_random(h.p, db_rand), &p);
            emit_pair(r, &p, 0);
        } else {
            unsigned char buf[LP_INTBUF_SIZE];
            uint32_t fl;
            long idx = (long)(db_rand() % h_len(&h)) * 2;
            const unsigned char *f = lp_get_text(cp_seek(h.p, h.len, idx), &fl,
                                                    buf);
            reply_bulk(r, (const char *)f, fl);
        }
        return;
    }

    long long l;
    if (arg_ll(&req->argv[2], &l, r)) return;
    if (l < -LLONG_MAX) {
        reply_errorf(r, "ERR value is out of range, value must between %lld "
                        "and %lld", -LLONG_MAX, LLONG_MAX);
        return;
    }
    int withvalues = 0;
    if (req->argc > 4 || (req->argc == 4 && !arg_eq(&req->argv[3], "withvalues"))) {
        reply_err_syntax(r);
        return;
    }
    if (req->argc == 4) {
        withvalues = 1;
        if (l < -LLONG_MAX / 2 || l > LLONG_MAX / 2) {
            reply_error(r, "ERR value is out of range");
            return;
        }
    }

    int found = lookup_read(ctx, &req->argv[1], &h, r);
    if (found < 0) return;
    if (!found || l == 0) {
        reply_array(r, 0);
        return;
    }
    int uniq = l > 0;
    unsigned long count = l > 0 ? (unsigned long)l : (unsigned long)-l;
    size_t size = h_len(&h);
    if (!uniq || count == 1) {
        reply_array(r, (long long)(withvalues && r->proto == 2 ? count * 2
                                                                : count));
        rand_repeat(&h, count, withvalues, r);
        return;
    }
    unsigned long n = count < size ? count : size;
    reply_array(r, (long long)(withvalues && r->proto == 2 ? n * 2 : n));
    if (count >= size) {
        out_walk_t w = {r, OUT_FIELD | (withvalues ? OUT_VALUE : 0)};
        if (withvalues && r->proto > 2) {
            /* nested [field, value] pairs */
            rand_unique(&h, size, 1, r);
        } else {
            h_foreach(&h, out_pair, &w);
        }
        return;
    }
    rand_unique(&h, count, withvalues, r);
}

/* ---- HSCAN ---- */

typedef struct scan_walk {
    reply_t *r;
    const resp_arg_t *pat;  /* NULL: everything */
    long long n;            /* fields emitted */
    long long seen;         /* fields visited (COUNT compares against 2x) */
} scan_walk_t;

static void scan_pair(void *arg, const char *f, size_t flen, const char *v,
                      size_t vlen)
{
    scan_walk_t *w = arg;
    w->seen++;
    if (w->pat && !glob_match(w->pat->ptr, w->pat->len, f, flen, 0)) return;
    reply_bulk(w->r, f, flen);
    reply_bulk(w->r, v, vlen);
    w->n++;
}

static void scan_entry(void *arg, dict_entry_t *e)
{
    size_t fl, vl;
    const char *f = dict_key(e, &fl);
    const char *v = dict_val(e, &vl);
    scan_pair(arg, f, fl, v, vl);
}

/* HSCAN key cursor [MATCH pattern] [COUNT count] */
static void cmd_hscan(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    uint64_t cursor;
    if (db_parse_cursor(&req->argv[2], &cursor)) {
        reply_error(r, "ERR invalid cursor");
        return;
    }
    hobj_t h;
    int found = lookup_read(ctx, &req->argv[1], &h, r);
    if (found < 0) return;
    if (!found) {
        reply_array(r, 2);
        reply_bulk(r, "0", 1);
        reply_array(r, 0);
        return;
    }
    scan_opts_t so;
    if (db_scan_parse(req, 3, 0, &so, r)) return;
    long long count = so.count;
    const resp_arg_t *pat = so.pat;

    /* The elements are written after the cursor, whose value is known only
     * once the walk is done: collect into a side buffer first. */
    buf_t tmp;
    buf_init(&tmp);
    reply_t sub;
    reply_init(&sub, &tmp, r->proto);
    scan_walk_t w = {.r = &sub, .pat = pat};
    if (h.enc == HE_LISTPACK) {
        h_foreach(&h, scan_pair, &w);
        cursor = 0;
    } else {
        long long maxiter = count > LLONG_MAX / 10 ? LLONG_MAX : count * 10;
        do {
            cursor = dict_scan(h.p, cursor, scan_entry, &w);
        } while (cursor && maxiter-- && w.seen * 2 < count);
    }
    char num[24];
    reply_array(r, 2);
    reply_bulk(r, num, resp_ull2str(num, cursor));
    reply_array(r, w.n * 2);
    buf_append(r->out, buf_rptr(&tmp), buf_len(&tmp));
    buf_deinit(&tmp);
}

const cmd_bind_t t_hash_cmds[] = {
    {CMD_HSET, cmd_hset},           {CMD_HSETNX, cmd_hsetnx},
    {CMD_HMSET, cmd_hmset},         {CMD_HGET, cmd_hget},
    {CMD_HMGET, cmd_hmget},         {CMD_HDEL, cmd_hdel},
    {CMD_HLEN, cmd_hlen},           {CMD_HSTRLEN, cmd_hstrlen},
    {CMD_HEXISTS, cmd_hexists},     {CMD_HKEYS, cmd_hkeys},
    {CMD_HVALS, cmd_hvals},         {CMD_HGETALL, cmd_hgetall},
    {CMD_HINCRBY, cmd_hincrby},     {CMD_HINCRBYFLOAT, cmd_hincrbyfloat},
    {CMD_HRANDFIELD, cmd_hrandfield}, {CMD_HSCAN, cmd_hscan},
    {CMD__COUNT, NULL},
};
