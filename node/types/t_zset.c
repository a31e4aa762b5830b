/*
 * t_zset.c: the sorted set type: its two encodings, and its commands with
 * Redis 7.0's replies and error texts.
 *
 * Encodings (OBJECT ENCODING names as Redis):
 *
 *   listpack  ZE_LISTPACK: member, score pairs sorted by (score, member)
 *             in a compact pack (cpack.h: listpack's element encoding
 *             without back-lengths) embedded in the key's entry: one
 *             allocation per small set.  Scores take the shortest of
 *             Redis's encoding of their d2string text (integers as
 *             integers) and the pack's one-decimal and binary-double
 *             elements.  RDB/DUMP write Redis's listpack bytes (cp_to_lp
 *             gives back d2string's text), loading converts (cp_from_lp).
 *   skiplist  ZE_SKIPLIST: zset_t = dict (member -> entry whose aux holds
 *             the score) + zskiplist whose nodes point at those entries.
 *             Each member and score is stored once (zskiplist.h).
 *
 * A set starts as a listpack when it fits zset-max-listpack-entries and
 * zset-max-listpack-value, converts to a skiplist the moment it does not,
 * and (as Redis) converts back only when a whole new set is built
 * (ZUNIONSTORE & co.).  Handlers see a set through zobj_t (encoding,
 * pointer, and for packs their length and entry): packs change in place
 * (the entry may move, zobj_t follows it); results are built detached
 * and become keys through zobj_store.
 *
 * Reading goes through a small cursor (zit_t) that walks either encoding
 * forward or backward from a rank, a score bound or a lex bound, so each
 * range command is written once.  Where Redis's order of checks is
 * visible (syntax before numbers, range parsing before the key lookup,
 * WRONGTYPE before options in ZUNION & co.), the handlers follow
 * zaddGenericCommand, zrangeGenericCommand, genericZpopCommand and
 * zunionInterDiffGenericCommand.
 *
 * BZPOPMIN/BZPOPMAX/BZMPOP block through node/blocking.c (the other
 * blocking commands).  As in Redis, ZUNION, ZINTER, ZDIFF, their STORE
 * forms and ZINTERCARD also take plain sets as inputs, every member
 * scoring 1.0 (times its WEIGHT); they are read through t_set.h.  Keys
 * of any other type answer WRONGTYPE.
 */
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "blocking.h"
#include "cmd.h"
#include "db.h"
#include "dict.h"
#include "glob.h"
#include "cpack.h"
#include "keyspace.h"
#include "listpack.h"
#include "notify.h"
#include "propagate.h"
#include "reply.h"
#include "resp.h"
#include "t_set.h"
#include "t_zset.h"
#include "zskiplist.h"

#define ZE_LISTPACK T_ZSET_ENC_LISTPACK
#define ZE_SKIPLIST T_ZSET_ENC_SKIPLIST

typedef struct zset {
    dict_t *dict;
    zskiplist_t *zsl;
} zset_t;

/*
 * A sorted set value as handlers hold it.  ZE_LISTPACK: ptr is a compact
 * pack (cpack.h) of len bytes, either in the key's entry e (an embedded
 * blob: changes resize the entry through ks, which may move it, and e
 * follows) or detached on the heap (e == NULL: a result being built).
 * ZE_SKIPLIST: ptr is the zset_t.
 */
typedef struct zobj {
    int enc;
    void *ptr;      /* pack bytes or zset_t */
    size_t len;     /* ZE_LISTPACK: bytes of the pack */
    keyspace_t *ks;
    kentry_t *e;    /* the entry holding the pack, NULL if detached */
} zobj_t;

/* Conversion thresholds (from the node's options). */
typedef struct zlimits {
    size_t entries, value;
} zlimits_t;

static const char err_nan[] = "ERR resulting score is not a number (NaN)";
static const char err_minmax[] = "ERR min or max is not a float";
static const char err_lex[] = "ERR min or max not valid string range item";

#define SCORE_BUF 128

/* ---- scores ------------------------------------------------------------ */

/* Redis's string2d: the whole argument is a double, no leading space, no
 * overflow, not NaN.  1 on success. */
static int str2d(const char *s, size_t len, double *out)
{
    char buf[SCORE_BUF], *tmp = buf, *end;
    int ok;
    if (len == 0 || (unsigned char)s[0] == ' ' ||
        ((unsigned char)s[0] >= '\t' && (unsigned char)s[0] <= '\r'))
        return 0;
    if (len >= sizeof(buf)) tmp = ts_malloc(len + 1);
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    errno = 0;
    double v = strtod(tmp, &end);
    ok = (size_t)(end - tmp) == len &&
         !(errno == ERANGE &&
           (v == HUGE_VAL || v == -HUGE_VAL || fpclassify(v) == FP_ZERO)) &&
         !isnan(v);
    if (tmp != buf) ts_free(tmp);
    if (ok) *out = v;
    return ok;
}

/* Redis 7.0's d2string: how scores are written into listpacks.  -0 takes
 * the integer path and is stored as 0, as in Redis 7.0.15. */
static size_t d2str(char *buf, size_t cap, double v)
{
    int n;
    if (isnan(v)) n = snprintf(buf, cap, "nan");
    else if (isinf(v)) n = snprintf(buf, cap, v < 0 ? "-inf" : "inf");
    else if (v > -4503599627370495.0 && v < 4503599627370496.0 &&
             v == (double)(long long)v)
        n = (int)resp_ll2str(buf, (long long)v);
    else
        n = snprintf(buf, cap, "%.17g", v);
    return (size_t)n;
}

/* Parse an argument with Redis's string2d; replies the error if not. */
static int arg_score(const resp_arg_t *a, double *out, reply_t *r,
                     const char *err)
{
    if (str2d(a->ptr, a->len, out)) return 0;
    if (err)
        reply_error(r, err);
    else
        reply_err_notfloat(r);
    return -1;
}

/* The pack's score element at p. */
static double lp_score(const unsigned char *p)
{
    uint32_t len;
    long long iv;
    double v;
    if (cp_score(p, &v)) return v;
    const unsigned char *s = lp_get(p, &len, &iv);
    if (!s) return (double)iv;
    char buf[SCORE_BUF];
    if (len >= sizeof(buf)) len = sizeof(buf) - 1;
    memcpy(buf, s, len);
    buf[len] = '\0';
    return strtod(buf, NULL);
}

/* ---- encodings --------------------------------------------------------- */

static const char *zsl_ele(const void *ele, size_t *len, double *score)
{
    const dict_entry_t *e = ele;
    *score = dict_aux_double(e);
    return dict_key(e, len);
}

static zset_t *zset_create(void)
{
    zset_t *zs = ts_malloc(sizeof(*zs));
    zs->dict = dict_create();
    zs->zsl = zsl_create(zsl_ele);
    return zs;
}

static void zset_destroy(zset_t *zs)
{
    zsl_destroy(zs->zsl);
    dict_destroy(zs->dict, NULL);
    ts_free(zs);
}

/* Frees a detached pack (or a Redis listpack: RDB loading's) or a
 * skiplist set. */
static void zobj_free(int enc, void *obj)
{
    if (enc == ZE_LISTPACK)
        ts_free(obj);
    else
        zset_destroy(obj);
}

static size_t zobj_len(const zobj_t *z)
{
    if (z->enc == ZE_LISTPACK) return cp_count(z->ptr, z->len) / 2;
    return ((zset_t *)z->ptr)->zsl->length;
}

/* cp_resize_fn for z: its entry's blob, or the heap. */
static unsigned char *z_resize(void *arg, size_t newlen)
{
    zobj_t *z = arg;
    if (z->e)
        z->ptr = ks_blob_resize(z->ks, &z->e, newlen);
    else
        z->ptr = ts_realloc(z->ptr, newlen);
    return z->ptr;
}

/* z as the sorted set in entry e (which must be one). */
static void zobj_attach(zobj_t *z, keyspace_t *ks, kentry_t *e)
{
    z->enc = ke_enc(e);
    z->ks = ks;
    z->e = e;
    if (z->enc == ZE_LISTPACK) {
        z->ptr = ke_blob(e, &z->len);
    } else {
        z->ptr = ke_obj(e);
        z->len = 0;
    }
}

/* An empty detached pack. */
static void zobj_new_pack(zobj_t *z)
{
    z->enc = ZE_LISTPACK;
    z->ptr = ts_malloc(CP_EMPTY_SIZE);
    z->len = CP_EMPTY_SIZE;
    z->ks = NULL;
    z->e = NULL;
    cp_init(z->ptr);
}

/* A new empty set for size_hint members up to val_len bytes
 * (Redis's zsetTypeCreate). */
static void zobj_new(zobj_t *z, size_t size_hint, size_t val_len,
                     const zlimits_t *lim)
{
    if (size_hint <= lim->entries && val_len <= lim->value) {
        zobj_new_pack(z);
    } else {
        z->enc = ZE_SKIPLIST;
        zset_t *zs = zset_create();
        if (size_hint > 1) dict_expand(zs->dict, size_hint);
        z->ptr = zs;
        z->len = 0;
        z->ks = NULL;
        z->e = NULL;
    }
}

/* Add a member known to be absent to a skiplist set. */
static void zs_insert(zset_t *zs, const char *m, size_t mlen, double score)
{
    int added;
    dict_entry_t *de = dict_add(zs->dict, m, mlen, &added);
    dict_set_aux_double(de, score);
    zsl_insert(zs->zsl, de);
}

static void to_skiplist(zobj_t *z, size_t hint)
{
    unsigned char *b = z->ptr;
    zset_t *zs = zset_create();
    dict_expand(zs->dict, hint);
    unsigned char buf[LP_INTBUF_SIZE];
    for (unsigned char *p = cp_first(b, z->len); p;
         p = cp_next(b, z->len, p)) {
        uint32_t len;
        const unsigned char *m = lp_get_text(p, &len, buf);
        p = cp_next(b, z->len, p);
        zs_insert(zs, (const char *)m, len, lp_score(p));
    }
    if (z->e)
        ks_blob_to_obj(z->ks, &z->e, ZE_SKIPLIST, zs);
    else
        ts_free(b);
    z->enc = ZE_SKIPLIST;
    z->ptr = zs;
    z->len = 0;
}

/* Skiplist -> detached pack (a result that fits the listpack limits). */
static void to_listpack(zobj_t *z)
{
    zset_t *zs = z->ptr;
    zobj_new_pack(z);
    for (zsl_node_t *x = zs->zsl->header->level[0].forward; x;
         x = x->level[0].forward) {
        size_t len;
        double s;
        const char *m = zsl_ele(x->ele, &len, &s);
        unsigned char sb[CP_SCORE_MAX];
        cp_str_t add[2] = {{m, (uint32_t)len, 0},
                           {(const char *)sb, cp_encode_score(sb, s), 1}};
        cp_splice(z->ptr, &z->len, z->len, 0, add, 2, z_resize, z);
    }
    zset_destroy(zs);
}

/* Member element of m in a pack (score in *score), NULL if absent. */
static unsigned char *zzl_find(const zobj_t *z, const char *m, size_t mlen,
                               double *score)
{
    unsigned char *p = cp_first(z->ptr, z->len);
    if (!p || mlen > UINT32_MAX) return NULL;
    p = cp_find(z->ptr, z->len, p, m, (uint32_t)mlen, 1);
    if (p && score) *score = lp_score(p + cp_elem_size(p));
    return p;
}

/* Delete the member at p and its score. */
static void zzl_delete(zobj_t *z, unsigned char *p)
{
    size_t off = (size_t)(p - (unsigned char *)z->ptr);
    cp_splice(z->ptr, &z->len, off, 2, NULL, 0, z_resize, z);
}

/* Insert (m, score) in order (m absent). */
static void zzl_insert(zobj_t *z, const char *m, size_t mlen, double score)
{
    unsigned char buf[LP_INTBUF_SIZE];
    unsigned char sb[CP_SCORE_MAX];
    unsigned sl = cp_encode_score(sb, score);
    unsigned char *b = z->ptr, *p = cp_first(b, z->len);
    while (p) {
        unsigned char *sp = cp_next(b, z->len, p);
        double s = lp_score(sp);
        int after = s > score;
        if (s == score) {
            uint32_t len;
            const unsigned char *pm = lp_get_text(p, &len, buf);
            after = zsl_lex_cmp((const char *)pm, len, m, mlen) > 0;
        }
        if (after) break;
        p = cp_next(b, z->len, sp);
    }
    size_t off = p ? (size_t)(p - b) : z->len;
    cp_str_t add[2] = {{m, (uint32_t)mlen, 0}, {(const char *)sb, sl, 1}};
    cp_splice(b, &z->len, off, 0, add, 2, z_resize, z);
}

/* Score of m; 1 if present. */
static int zobj_score(const zobj_t *z, const char *m, size_t mlen,
                      double *score)
{
    if (z->enc == ZE_LISTPACK)
        return zzl_find(z, m, mlen, score) != NULL;
    dict_entry_t *de = dict_find(((zset_t *)z->ptr)->dict, m, mlen);
    if (!de) return 0;
    *score = dict_aux_double(de);
    return 1;
}

/* Remove m; 1 if it was there. */
static int zobj_del(zobj_t *z, const char *m, size_t mlen)
{
    if (z->enc == ZE_LISTPACK) {
        unsigned char *p = zzl_find(z, m, mlen, NULL);
        if (!p) return 0;
        zzl_delete(z, p);
        return 1;
    }
    zset_t *zs = z->ptr;
    dict_entry_t *de = dict_find(zs->dict, m, mlen);
    if (!de) return 0;
    size_t klen;
    const char *k = dict_key(de, &klen);
    zsl_delete(zs->zsl, dict_aux_double(de), k, klen, NULL);
    dict_delete(zs->dict, m, mlen, NULL);
    return 1;
}

/* Redis's zsetAdd flags. */
#define ZA_INCR 1
#define ZA_NX 2
#define ZA_XX 4
#define ZA_GT 8
#define ZA_LT 16
#define ZA_CH 32
#define ZO_NAN 1
#define ZO_ADDED 2
#define ZO_UPDATED 4
#define ZO_NOP 8

/*
 * Redis's zsetAdd: add or update m with score under the ZA_* flags.
 * Returns 0 (with ZO_NAN in *out) if the result would be NaN, else 1 with
 * *out saying what happened and *newscore the member's score (unless NOP).
 */
static int zobj_add(zobj_t *z, double score, const char *m, size_t mlen,
                    int in, int *out, double *newscore, const zlimits_t *lim)
{
    double cur;
    *out = 0;
    if (isnan(score)) {
        *out = ZO_NAN;
        return 0;
    }
    if (z->enc == ZE_LISTPACK) {
        unsigned char *p = zzl_find(z, m, mlen, &cur);
        if (p) {
            if (in & ZA_NX) goto nop;
            if (in & ZA_INCR) {
                score += cur;
                if (isnan(score)) goto nan;
            }
            if (((in & ZA_LT) && score >= cur) || ((in & ZA_GT) && score <= cur))
                goto nop;
            *newscore = score;
            if (score != cur) {
                zzl_delete(z, p);
                zzl_insert(z, m, mlen, score);
                *out |= ZO_UPDATED;
            }
            return 1;
        }
        if (in & ZA_XX) goto nop;
        if (zobj_len(z) + 1 > lim->entries || mlen > lim->value) {
            to_skiplist(z, zobj_len(z) + 1);
        } else {
            zzl_insert(z, m, mlen, score);
            *newscore = score;
            *out |= ZO_ADDED;
            return 1;
        }
    }
    zset_t *zs = z->ptr;
    dict_entry_t *de = dict_find(zs->dict, m, mlen);
    if (de) {
        if (in & ZA_NX) goto nop;
        cur = dict_aux_double(de);
        if (in & ZA_INCR) {
            score += cur;
            if (isnan(score)) goto nan;
        }
        if (((in & ZA_LT) && score >= cur) || ((in & ZA_GT) && score <= cur))
            goto nop;
        *newscore = score;
        if (score != cur) {
            zsl_update_score(zs->zsl, cur, de, score);
            dict_set_aux_double(de, score);
            *out |= ZO_UPDATED;
        }
        return 1;
    }
    if (in & ZA_XX) goto nop;
    zs_insert(zs, m, mlen, score);
    *newscore = score;
    *out |= ZO_ADDED;
    return 1;
nop:
    *out |= ZO_NOP;
    return 1;
nan:
    *out |= ZO_NAN;
    return 0;
}

/* ---- type ops ---------------------------------------------------------- */

static const char *zset_encoding_name(const kentry_t *e)
{
    return ke_enc(e) == ZE_LISTPACK ? "listpack" : "skiplist";
}

/* Only skiplist sets are objects (packs are blobs, which COPY copies). */
static void *zset_dup(const kentry_t *e, int *enc_out)
{
    *enc_out = ke_enc(e);
    assert(ke_enc(e) == ZE_SKIPLIST);
    zset_t *src = ke_obj(e), *zs = zset_create();
    dict_expand(zs->dict, src->zsl->length);
    for (zsl_node_t *x = src->zsl->header->level[0].forward; x;
         x = x->level[0].forward) {
        size_t len;
        double s;
        const char *m = zsl_ele(x->ele, &len, &s);
        zs_insert(zs, m, len, s);
    }
    return zs;
}

static const db_type_ops_t zset_ops = {
    .encoding_name = zset_encoding_name,
    .dup = zset_dup,
    .free = zobj_free,
};

void t_zset_setup(void)
{
    db_register_type(KT_ZSET, &zset_ops);
}

/* ---- for rdb.c (t_zset.h) ---------------------------------------------- */

const zskiplist_t *t_zset_skiplist(const kentry_t *e)
{
    return ke_enc(e) == ZE_SKIPLIST ? ((zset_t *)ke_obj(e))->zsl : NULL;
}

void *t_zset_skiplist_new(size_t hint)
{
    zset_t *zs = zset_create();
    if (hint > 1) dict_expand(zs->dict, hint);
    return zs;
}

int t_zset_skiplist_add(void *obj, const char *m, size_t len, double score)
{
    zset_t *zs = obj;
    if (dict_find(zs->dict, m, len)) return -1;
    zs_insert(zs, m, len, score);
    return 0;
}

size_t t_zset_skiplist_len(const void *obj)
{
    return ((const zset_t *)obj)->zsl->length;
}

unsigned char *t_zset_skiplist_to_lp(void *obj)
{
    zobj_t z = {.enc = ZE_SKIPLIST, .ptr = obj};
    to_listpack(&z);
    unsigned char *lp = ts_malloc(cp_lp_size(z.ptr, z.len));
    cp_to_lp(z.ptr, z.len, lp);
    ts_free(z.ptr);
    return lp;
}

void t_zset_free(int enc, void *obj)
{
    zobj_free(enc, obj);
}

/* ---- cursor over either encoding --------------------------------------- */

/*
 * Packs are walked forward only (no back-lengths): a backward cursor
 * first records the offsets of the members it will visit, for packs of
 * up to ZIT_OFFS members (every pack under the default
 * zset-max-listpack-entries of 128); past that, each step back walks
 * from the start (O(n), only with raised limits).
 */
#define ZIT_OFFS 128

typedef struct zit {
    int enc, rev;
    unsigned char *lp, *p;      /* pack: member element */
    size_t len;                 /* pack: bytes */
    long mi;                    /* pack: index of p's member */
    int noffs;                  /* backward: offsets recorded (0: none) */
    zskiplist_t *zsl;
    zsl_node_t *x;
    uint32_t offs[ZIT_OFFS];
    unsigned char buf[LP_INTBUF_SIZE];
} zit_t;

static void zit_init(zit_t *it, const zobj_t *z, int rev)
{
    it->enc = z->enc;
    it->rev = rev;
    it->p = NULL;
    it->x = NULL;
    it->mi = -1;
    it->noffs = 0;
    if (z->enc == ZE_LISTPACK) {
        it->lp = z->ptr;
        it->len = z->len;
        it->zsl = NULL;
        if (rev) { /* record the members' offsets if they fit */
            unsigned long n = cp_count(it->lp, it->len) / 2;
            if (n <= ZIT_OFFS) {
                int i = 0;
                for (unsigned char *p = cp_first(it->lp, it->len); p;
                     p = cp_next(it->lp, it->len, cp_next(it->lp, it->len, p)))
                    it->offs[i++] = (uint32_t)(p - it->lp);
                it->noffs = i;
            }
        }
    } else {
        it->lp = NULL;
        it->len = 0;
        it->zsl = ((zset_t *)z->ptr)->zsl;
    }
}

/* Pack cursor at member index i (NULL past either end). */
static void zit_at(zit_t *it, long i)
{
    it->mi = i;
    if (i < 0) {
        it->p = NULL;
    } else if (it->noffs) {
        it->p = i < it->noffs ? it->lp + it->offs[i] : NULL;
    } else {
        it->p = cp_seek(it->lp, it->len, 2 * i);
    }
}

static inline int zit_valid(const zit_t *it)
{
    return it->enc == ZE_LISTPACK ? it->p != NULL : it->x != NULL;
}

static inline const char *zit_get(zit_t *it, size_t *len, double *score)
{
    if (it->enc == ZE_LISTPACK) {
        uint32_t l;
        const unsigned char *m = lp_get_text(it->p, &l, it->buf);
        *len = l;
        if (score) *score = lp_score(it->p + cp_elem_size(it->p));
        return (const char *)m;
    }
    double s;
    const char *m = zsl_ele(it->x->ele, len, &s);
    if (score) *score = s;
    return m;
}

static inline void zit_next(zit_t *it)
{
    if (it->enc == ZE_LISTPACK) {
        if (it->rev) {
            zit_at(it, it->mi - 1);
        } else {
            it->p = cp_next(it->lp, it->len, it->p);
            if (it->p) it->p = cp_next(it->lp, it->len, it->p);
            it->mi++;
        }
    } else {
        it->x = it->rev ? it->x->backward : it->x->level[0].forward;
    }
}

/* Position at 0-based rank in the iteration direction. */
static void zit_rank(zit_t *it, const zobj_t *z, long rank, int rev)
{
    zit_init(it, z, rev);
    long len = (long)zobj_len(z);
    long fwd = rev ? len - 1 - rank : rank;
    if (fwd < 0 || fwd >= len) return;
    if (z->enc == ZE_LISTPACK)
        zit_at(it, fwd);
    else
        it->x = zsl_by_rank(it->zsl, (unsigned long)fwd + 1);
}

/* First member in a score range (last if rev).  Packs are scanned
 * forward: backward, the last member with a score <= max. */
static void zit_score(zit_t *it, const zobj_t *z, const zsl_range_t *r,
                      int rev)
{
    zit_init(it, z, rev);
    if (z->enc == ZE_SKIPLIST) {
        it->x = rev ? zsl_last_in_range(it->zsl, r)
                    : zsl_first_in_range(it->zsl, r);
        return;
    }
    unsigned char *lp = it->lp;
    long i = 0, last = -1;
    double lasts = 0;
    for (unsigned char *p = cp_first(lp, it->len); p; i++) {
        unsigned char *sp = cp_next(lp, it->len, p);
        double s = lp_score(sp);
        if (!rev) {
            if (zsl_score_gte_min(s, r)) {
                if (zsl_score_lte_max(s, r)) {
                    it->p = p;
                    it->mi = i;
                }
                return;
            }
        } else {
            if (!zsl_score_lte_max(s, r)) break;
            last = i;
            lasts = s;
        }
        p = cp_next(lp, it->len, sp);
    }
    if (rev && last >= 0 && zsl_score_gte_min(lasts, r)) zit_at(it, last);
}

static void zit_lex(zit_t *it, const zobj_t *z, const zsl_lexrange_t *r,
                    int rev)
{
    zit_init(it, z, rev);
    if (z->enc == ZE_SKIPLIST) {
        it->x = rev ? zsl_last_in_lex(it->zsl, r) : zsl_first_in_lex(it->zsl, r);
        return;
    }
    if (zsl_lex_empty(r)) return;
    unsigned char *lp = it->lp;
    uint32_t len;
    /* zzlIsInLexRange: the last member >= min and the first <= max (with
     * mixed scores this decides, as in Redis) */
    unsigned char *ends[2] = {cp_seek(lp, it->len, -2), cp_first(lp, it->len)};
    if (!ends[0]) return;
    const char *m0 = (const char *)lp_get_text(ends[0], &len, it->buf);
    if (!zsl_lex_gte_min(m0, len, r)) return;
    m0 = (const char *)lp_get_text(ends[1], &len, it->buf);
    if (!zsl_lex_lte_max(m0, len, r)) return;
    long i = 0, last = -1;
    for (unsigned char *p = cp_first(lp, it->len); p;
         p = cp_next(lp, it->len, cp_next(lp, it->len, p)), i++) {
        const char *m = (const char *)lp_get_text(p, &len, it->buf);
        if (!rev) {
            if (zsl_lex_gte_min(m, len, r)) {
                if (zsl_lex_lte_max(m, len, r)) {
                    it->p = p;
                    it->mi = i;
                }
                return;
            }
        } else if (zsl_lex_lte_max(m, len, r)) {
            last = i; /* the last one, as Redis's backward scan finds */
        }
    }
    if (rev && last >= 0) {
        zit_at(it, last);
        const char *m = (const char *)lp_get_text(it->p, &len, it->buf);
        if (!zsl_lex_gte_min(m, len, r)) zit_at(it, -1);
    }
}

/* Is the cursor's member still inside the range (in its direction)? */
static int zit_in_score(zit_t *it, const zsl_range_t *r)
{
    size_t len;
    double s;
    zit_get(it, &len, &s);
    return it->rev ? zsl_score_gte_min(s, r) : zsl_score_lte_max(s, r);
}

static int zit_in_lex(zit_t *it, const zsl_lexrange_t *r)
{
    size_t len;
    const char *m = zit_get(it, &len, NULL);
    return it->rev ? zsl_lex_gte_min(m, len, r) : zsl_lex_lte_max(m, len, r);
}

/* ---- helpers for handlers ---------------------------------------------- */

static inline void limits_of(const cmdctx_t *ctx, zlimits_t *lim)
{
    lim->entries = (size_t)ctx->node->zset_max_listpack_entries;
    lim->value = (size_t)ctx->node->zset_max_listpack_value;
}

/* The zset at e, or WRONGTYPE replied (returns 0). */
static int get_zobj(cmdctx_t *ctx, kentry_t *e, zobj_t *z, reply_t *r)
{
    if (ke_type(e) != KT_ZSET) {
        reply_err_wrongtype(r);
        return 0;
    }
    zobj_attach(z, ctx->ks, e);
    return 1;
}

/* After a change (made in place: z->e is the key's current entry), delete
 * the key if the set is empty. */
static void store_back(cmdctx_t *ctx, const resp_arg_t *key, zobj_t *z)
{
    (void)key;
    assert(z->e);
    if (zobj_len(z) == 0) ks_delete_entry(ctx->ks, z->e);
}

/* Make the detached z the value of key (freeing a pack once copied into
 * the entry) and attach z to it. */
static kentry_t *zobj_store(cmdctx_t *ctx, const resp_arg_t *key, zobj_t *z)
{
    kentry_t *e;
    if (z->enc == ZE_LISTPACK) {
        e = ks_set_blob(ctx->ks, key->ptr, key->len, KT_ZSET, ZE_LISTPACK,
                        z->ptr, z->len, 0);
        ts_free(z->ptr);
    } else {
        e = ks_set_obj(ctx->ks, key->ptr, key->len, KT_ZSET, z->enc, z->ptr,
                       0);
    }
    zobj_attach(z, ctx->ks, e);
    return e;
}

/* Store a new object at key (replacing any value), or delete the key if
 * z is empty (freeing z), with Redis's events: "new" and `event`
 * ("zunionstore", ...), or "del".  Returns 1 if the keyspace changed. */
static int store_new(cmdctx_t *ctx, const resp_arg_t *key, zobj_t *z,
                     const char *event)
{
    if (zobj_len(z) == 0) {
        zobj_free(z->enc, z->ptr);
        if (!db_delete(ctx, key)) return 0;
        notify_key(ctx->node, NOTIFY_GENERIC, "del", key);
        return 1;
    }
    notify_new_if_absent(ctx, key);
    zobj_store(ctx, key, z);
    notify_key(ctx->node, NOTIFY_ZSET, event, key);
    return 1;
}

/* Redis's zslParseRange on one bound. */
static int parse_score_bound(const resp_arg_t *a, double *v, int *ex)
{
    char buf[SCORE_BUF], *tmp = buf, *end;
    const char *s = a->ptr;
    size_t len = a->len;
    *ex = 0;
    if (len && s[0] == '(') {
        *ex = 1;
        s++;
        len--;
    }
    if (len >= sizeof(buf)) tmp = ts_malloc(len + 1);
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    *v = strtod(tmp, &end);
    int ok = *end == '\0' && !isnan(*v);
    if (tmp != buf) ts_free(tmp);
    return ok;
}

static int parse_range(const resp_arg_t *min, const resp_arg_t *max,
                       zsl_range_t *r)
{
    return parse_score_bound(min, &r->min, &r->minex) &&
           parse_score_bound(max, &r->max, &r->maxex);
}

static int parse_lex_bound(const resp_arg_t *a, zsl_lexbound_t *b)
{
    b->inf = 0;
    b->ex = 0;
    b->p = NULL;
    b->len = 0;
    if (a->len == 0) return 0;
    switch (a->ptr[0]) {
    case '+':
    case '-':
        if (a->len != 1) return 0;
        b->inf = a->ptr[0] == '+' ? 1 : -1;
        return 1;
    case '(':
    case '[':
        b->ex = a->ptr[0] == '(';
        b->p = a->ptr + 1;
        b->len = a->len - 1;
        return 1;
    default:
        return 0;
    }
}

static int parse_lex(const resp_arg_t *min, const resp_arg_t *max,
                     zsl_lexrange_t *r)
{
    return parse_lex_bound(min, &r->min) && parse_lex_bound(max, &r->max);
}

/* Parse a long argument (Redis's getLongFromObjectOrReply). */
static int arg_long(const resp_arg_t *a, long *out, reply_t *r,
                    const char *msg)
{
    long long v;
    if (msg ? arg_ll_msg(a, &v, r, msg) : arg_ll(a, &v, r)) return -1;
    *out = (long)v;
    return 0;
}

/* Reply a member and maybe its score (RESP3 pairs as 2-arrays). */
static inline void reply_member(reply_t *r, const char *m, size_t len,
                                double score, int withscores)
{
    if (withscores && r->proto > 2) reply_array(r, 2);
    reply_bulk(r, m, len);
    if (withscores) reply_double(r, score);
}


/* ==== commands: add, remove, lookups ==================================== */

/* zaddGenericCommand: ZADD key [NX|XX] [GT|LT] [CH] [INCR] score member ...
 * and ZINCRBY key increment member (in = ZA_INCR). */
static void zadd_generic(cmdctx_t *ctx, const req_t *req, reply_t *r, int in)
{
    const resp_arg_t *key = &req->argv[1];
    int idx = 2;
    while (idx < req->argc) {
        const resp_arg_t *o = &req->argv[idx];
        if (arg_eq(o, "nx")) in |= ZA_NX;
        else if (arg_eq(o, "xx")) in |= ZA_XX;
        else if (arg_eq(o, "ch")) in |= ZA_CH;
        else if (arg_eq(o, "incr")) in |= ZA_INCR;
        else if (arg_eq(o, "gt")) in |= ZA_GT;
        else if (arg_eq(o, "lt")) in |= ZA_LT;
        else break;
        idx++;
    }
    int nargs = req->argc - idx;
    if (nargs % 2 || nargs == 0) {
        reply_err_syntax(r);
        return;
    }
    int n = nargs / 2;
    if ((in & ZA_NX) && (in & ZA_XX)) {
        reply_error(r, "ERR XX and NX options at the same time are not "
                       "compatible");
        return;
    }
    if (((in & ZA_GT) && (in & ZA_NX)) || ((in & ZA_LT) && (in & ZA_NX)) ||
        ((in & ZA_GT) && (in & ZA_LT))) {
        reply_error(r, "ERR GT, LT, and/or NX options at the same time are "
                       "not compatible");
        return;
    }
    if ((in & ZA_INCR) && n > 1) {
        reply_error(r, "ERR INCR option supports a single increment-element "
                       "pair");
        return;
    }
    double sbuf[16], *scores = n <= 16 ? sbuf : ts_malloc(sizeof(double) * (size_t)n);
    size_t maxlen = 0;
    for (int j = 0; j < n; j++) {
        if (arg_score(&req->argv[idx + 2 * j], &scores[j], r, NULL)) goto out;
        if (req->argv[idx + 2 * j + 1].len > maxlen)
            maxlen = req->argv[idx + 2 * j + 1].len;
    }
    long long added = 0, updated = 0, processed = 0;
    double score = 0;
    zobj_t z;
    zlimits_t lim;
    limits_of(ctx, &lim);
    kentry_t *e = db_lookup_write(ctx, key);
    int created = !e;
    if (e && !get_zobj(ctx, e, &z, r)) goto out;
    if (!e) {
        if (in & ZA_XX) goto reply;
        zobj_new(&z, (size_t)n, maxlen, &lim);
        e = zobj_store(ctx, key, &z);
    }
    for (int j = 0; j < n; j++) {
        const resp_arg_t *m = &req->argv[idx + 2 * j + 1];
        int out;
        double ns = 0;
        int ok = zobj_add(&z, scores[j], m->ptr, m->len, in, &out, &ns, &lim);
        if (!ok) {
            store_back(ctx, key, &z);
            if (added + updated) db_modified(ctx, key);
            reply_error(r, err_nan);
            goto out;
        }
        if (out & ZO_ADDED) added++;
        if (out & ZO_UPDATED) updated++;
        if (!(out & ZO_NOP)) processed++;
        score = ns;
    }
    store_back(ctx, key, &z);
    if (added + updated) db_modified(ctx, key);
    if (created) notify_key(ctx->node, NOTIFY_NEW, "new", key);
    if (added + updated)
        notify_key(ctx->node, NOTIFY_ZSET, (in & ZA_INCR) ? "zincr" : "zadd",
                   key);
reply:
    if (in & ZA_INCR) {
        if (processed)
            reply_double(r, score);
        else
            reply_null(r);
    } else {
        reply_int(r, (in & ZA_CH) ? added + updated : added);
    }
out:
    if (scores != sbuf) ts_free(scores);
}

static void cmd_zadd(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zadd_generic(ctx, req, r, 0);
}

/* ZINCRBY key increment member */
static void cmd_zincrby(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zadd_generic(ctx, req, r, ZA_INCR);
}

/* ZREM key member [member ...] */
static void cmd_zrem(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zobj_t z;
    kentry_t *e = db_lookup_write(ctx, &req->argv[1]);
    if (!e) {
        reply_int(r, 0);
        return;
    }
    if (!get_zobj(ctx, e, &z, r)) return;
    long long deleted = 0;
    for (int j = 2; j < req->argc; j++) {
        deleted += zobj_del(&z, req->argv[j].ptr, req->argv[j].len);
        if (zobj_len(&z) == 0) break;
    }
    int keydel = zobj_len(&z) == 0;
    store_back(ctx, &req->argv[1], &z);
    if (deleted) {
        db_modified(ctx, &req->argv[1]);
        notify_key(ctx->node, NOTIFY_ZSET, "zrem", &req->argv[1]);
        if (keydel) notify_key(ctx->node, NOTIFY_GENERIC, "del", &req->argv[1]);
    }
    reply_int(r, deleted);
}

/* Read-only lookup: 1 with *z set, 0 if absent or WRONGTYPE (replied). */
static int lookup_read(cmdctx_t *ctx, const resp_arg_t *key, zobj_t *z,
                       reply_t *r, int *missing)
{
    kentry_t *e = db_lookup_read(ctx, key);
    *missing = e == NULL;
    if (!e) return 0;
    return get_zobj(ctx, e, z, r);
}

/* ZCARD key */
static void cmd_zcard(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zobj_t z;
    int missing;
    if (lookup_read(ctx, &req->argv[1], &z, r, &missing))
        reply_int(r, (long long)zobj_len(&z));
    else if (missing)
        reply_int(r, 0);
}

/* ZSCORE key member */
static void cmd_zscore(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zobj_t z;
    int missing;
    double s;
    if (lookup_read(ctx, &req->argv[1], &z, r, &missing)) {
        if (zobj_score(&z, req->argv[2].ptr, req->argv[2].len, &s))
            reply_double(r, s);
        else
            reply_null(r);
    } else if (missing) {
        reply_null(r);
    }
}

/* ZMSCORE key member [member ...] */
static void cmd_zmscore(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zobj_t z;
    int missing;
    double s;
    int ok = lookup_read(ctx, &req->argv[1], &z, r, &missing);
    if (!ok && !missing) return;
    reply_array(r, req->argc - 2);
    for (int j = 2; j < req->argc; j++) {
        if (ok && zobj_score(&z, req->argv[j].ptr, req->argv[j].len, &s))
            reply_double(r, s);
        else
            reply_null(r);
    }
}

/* 0-based rank of m, -1 if absent. */
static long zobj_rank(const zobj_t *z, const char *m, size_t mlen, int rev)
{
    long len = (long)zobj_len(z), rank = -1;
    if (z->enc == ZE_LISTPACK) {
        unsigned char *lp = z->ptr;
        long i = 0;
        for (unsigned char *p = cp_first(lp, z->len); p;
             p = cp_next(lp, z->len, cp_next(lp, z->len, p)), i++)
            if (lp_compare(p, m, (uint32_t)mlen)) {
                rank = i;
                break;
            }
    } else {
        zset_t *zs = z->ptr;
        dict_entry_t *de = dict_find(zs->dict, m, mlen);
        if (de) {
            size_t kl;
            const char *k = dict_key(de, &kl);
            rank = (long)zsl_rank(zs->zsl, dict_aux_double(de), k, kl) - 1;
        }
    }
    if (rank < 0) return -1;
    return rev ? len - 1 - rank : rank;
}

static void zrank_generic(cmdctx_t *ctx, const req_t *req, reply_t *r, int rev)
{
    zobj_t z;
    int missing;
    if (lookup_read(ctx, &req->argv[1], &z, r, &missing)) {
        long rank = zobj_rank(&z, req->argv[2].ptr, req->argv[2].len, rev);
        if (rank >= 0)
            reply_int(r, rank);
        else
            reply_null(r);
    } else if (missing) {
        reply_null(r);
    }
}

/* ZRANK key member */
static void cmd_zrank(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zrank_generic(ctx, req, r, 0);
}

/* ZREVRANK key member */
static void cmd_zrevrank(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zrank_generic(ctx, req, r, 1);
}

/* Members from first to last inclusive, by rank: O(log n) on a skiplist. */
static long long nodes_between(zset_t *zs, zsl_node_t *first,
                               zsl_node_t *last)
{
    size_t l1, l2;
    double s1, s2;
    const char *m1 = zsl_ele(first->ele, &l1, &s1);
    const char *m2 = zsl_ele(last->ele, &l2, &s2);
    return (long long)(zsl_rank(zs->zsl, s2, m2, l2) -
                       zsl_rank(zs->zsl, s1, m1, l1)) + 1;
}

/* ZCOUNT and ZLEXCOUNT: members in a score (or lex) range, by rank
 * arithmetic on a skiplist. */
static void zcount_generic(cmdctx_t *ctx, const req_t *req, reply_t *r,
                           int lex)
{
    zsl_range_t range;
    zsl_lexrange_t lrange;
    zobj_t z;
    int missing;
    if (lex ? !parse_lex(&req->argv[2], &req->argv[3], &lrange)
            : !parse_range(&req->argv[2], &req->argv[3], &range)) {
        reply_error(r, lex ? err_lex : err_minmax);
        return;
    }
    if (!lookup_read(ctx, &req->argv[1], &z, r, &missing)) {
        if (missing) reply_int(r, 0);
        return;
    }
    long long count = 0;
    zit_t it;
    if (lex)
        zit_lex(&it, &z, &lrange, 0);
    else
        zit_score(&it, &z, &range, 0);
    if (z.enc == ZE_SKIPLIST && it.x) {
        zset_t *zs = z.ptr;
        zsl_node_t *last = lex ? zsl_last_in_lex(zs->zsl, &lrange)
                               : zsl_last_in_range(zs->zsl, &range);
        count = nodes_between(zs, it.x, last);
    } else {
        for (; zit_valid(&it) && (lex ? zit_in_lex(&it, &lrange)
                                      : zit_in_score(&it, &range));
             zit_next(&it))
            count++;
    }
    reply_int(r, count);
}

/* ZCOUNT key min max */
static void cmd_zcount(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zcount_generic(ctx, req, r, 0);
}

/* ZLEXCOUNT key min max */
static void cmd_zlexcount(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zcount_generic(ctx, req, r, 1);
}

/* ==== ranges ============================================================ */

enum { RT_AUTO, RT_RANK, RT_SCORE, RT_LEX };
enum { DIR_AUTO, DIR_FWD, DIR_REV };

/* Where a range goes: the client, or a new set (ZRANGESTORE). */
typedef struct zsink {
    reply_t *r;
    int withscores, store;
    size_t handle;
    long long count;
    zobj_t dst;
    zlimits_t lim;
} zsink_t;

static void sink_begin(zsink_t *k)
{
    k->count = 0;
    if (k->store)
        zobj_new(&k->dst, 0, 0, &k->lim);
    else
        k->handle = reply_defer(k->r);
}

static void sink_emit(zsink_t *k, const char *m, size_t len, double score)
{
    k->count++;
    if (!k->store) {
        reply_member(k->r, m, len, score, k->withscores);
        return;
    }
    int out;
    double ns;
    zobj_add(&k->dst, score, m, len, 0, &out, &ns, &k->lim);
}

static void sink_end(zsink_t *k, cmdctx_t *ctx, const resp_arg_t *dstkey)
{
    if (!k->store) {
        long long n = k->withscores && k->r->proto == 2 ? 2 * k->count : k->count;
        reply_set_deferred(k->r, k->handle, '*', n);
        return;
    }
    if (store_new(ctx, dstkey, &k->dst, "zrangestore"))
        db_modified(ctx, dstkey);
    reply_int(k->r, k->count);
}

static void range_rank(zsink_t *k, const zobj_t *z, long start, long end,
                       int rev)
{
    long len = (long)zobj_len(z);
    if (start < 0) start = len + start;
    if (end < 0) end = len + end;
    if (start < 0) start = 0;
    if (start > end || start >= len) return;
    if (end >= len) end = len - 1;
    long n = end - start + 1;
    zit_t it;
    zit_rank(&it, z, start, rev);
    for (; n-- > 0 && zit_valid(&it); zit_next(&it)) {
        size_t ml;
        double s;
        const char *m = zit_get(&it, &ml, &s);
        sink_emit(k, m, ml, s);
    }
}

/* The members in a score range (sr) or a lex range (lr, when sr is NULL),
 * after skipping offset of them, at most limit (-1: all). */
static void range_by(zsink_t *k, const zobj_t *z, const zsl_range_t *sr,
                     const zsl_lexrange_t *lr, long offset, long limit,
                     int rev)
{
    if (offset > 0 && offset >= (long)zobj_len(z)) return;
    zit_t it;
    if (sr)
        zit_score(&it, z, sr, rev);
    else
        zit_lex(&it, z, lr, rev);
    while (zit_valid(&it) && offset--) zit_next(&it);
    while (zit_valid(&it) && limit--) {
        if (sr ? !zit_in_score(&it, sr) : !zit_in_lex(&it, lr)) break;
        size_t ml;
        double s;
        const char *m = zit_get(&it, &ml, &s);
        sink_emit(k, m, ml, s);
        zit_next(&it);
    }
}

/*
 * zrangeGenericCommand: argv[start] is the source key, then min max and
 * options.  dstkey is set for ZRANGESTORE.  type/dir fixed by the legacy
 * commands, RT_AUTO/DIR_AUTO for ZRANGE and ZRANGESTORE.
 */
static void zrange_generic(cmdctx_t *ctx, const req_t *req, reply_t *r,
                           int start, const resp_arg_t *dstkey, int type,
                           int dir)
{
    const resp_arg_t *key = &req->argv[start];
    int minidx = start + 1, maxidx = start + 2, store = dstkey != NULL;
    long opt_start = 0, opt_end = 0, offset = 0, limit = -1;
    int withscores = 0;
    zsl_range_t range;
    zsl_lexrange_t lex;

    for (int j = start + 3; j < req->argc; j++) {
        int left = req->argc - j - 1;
        const resp_arg_t *o = &req->argv[j];
        if (!store && arg_eq(o, "withscores")) {
            withscores = 1;
        } else if (arg_eq(o, "limit") && left >= 2) {
            if (arg_long(&req->argv[j + 1], &offset, r, NULL) ||
                arg_long(&req->argv[j + 2], &limit, r, NULL))
                return;
            j += 2;
        } else if (dir == DIR_AUTO && arg_eq(o, "rev")) {
            dir = DIR_REV;
        } else if (type == RT_AUTO && arg_eq(o, "bylex")) {
            type = RT_LEX;
        } else if (type == RT_AUTO && arg_eq(o, "byscore")) {
            type = RT_SCORE;
        } else {
            reply_err_syntax(r);
            return;
        }
    }
    if (dir == DIR_AUTO) dir = DIR_FWD;
    if (type == RT_AUTO) type = RT_RANK;
    if (limit != -1 && type == RT_RANK) {
        reply_error(r, "ERR syntax error, LIMIT is only supported in "
                       "combination with either BYSCORE or BYLEX");
        return;
    }
    if (withscores && type == RT_LEX) {
        reply_error(r, "ERR syntax error, WITHSCORES not supported in "
                       "combination with BYLEX");
        return;
    }
    if (dir == DIR_REV && type != RT_RANK) {
        int t = maxidx;
        maxidx = minidx;
        minidx = t;
    }
    switch (type) {
    case RT_RANK:
        if (arg_long(&req->argv[minidx], &opt_start, r, NULL) ||
            arg_long(&req->argv[maxidx], &opt_end, r, NULL))
            return;
        break;
    case RT_SCORE:
        if (!parse_range(&req->argv[minidx], &req->argv[maxidx], &range)) {
            reply_error(r, err_minmax);
            return;
        }
        break;
    default:
        if (!parse_lex(&req->argv[minidx], &req->argv[maxidx], &lex)) {
            reply_error(r, err_lex);
            return;
        }
        break;
    }

    zsink_t k = {.r = r, .withscores = withscores, .store = store};
    limits_of(ctx, &k.lim);
    zobj_t z;
    kentry_t *e = db_lookup_read(ctx, key);
    if (!e) {
        if (store) {
            sink_begin(&k);
            sink_end(&k, ctx, dstkey);
        } else {
            reply_array(r, 0);
        }
        return;
    }
    if (!get_zobj(ctx, e, &z, r)) return;
    sink_begin(&k);
    int rev = dir == DIR_REV;
    if (type == RT_RANK)
        range_rank(&k, &z, opt_start, opt_end, rev);
    else
        range_by(&k, &z, type == RT_SCORE ? &range : NULL, &lex, offset,
                 limit, rev);
    sink_end(&k, ctx, dstkey);
}

/* ZRANGE key start stop [BYSCORE|BYLEX] [REV] [LIMIT offset count] [WITHSCORES] */
static void cmd_zrange(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zrange_generic(ctx, req, r, 1, NULL, RT_AUTO, DIR_AUTO);
}

/* ZRANGESTORE dst src min max [BYSCORE|BYLEX] [REV] [LIMIT offset count] */
static void cmd_zrangestore(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zrange_generic(ctx, req, r, 2, &req->argv[1], RT_AUTO, DIR_AUTO);
}

/* ZREVRANGE key start stop [WITHSCORES] */
static void cmd_zrevrange(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zrange_generic(ctx, req, r, 1, NULL, RT_RANK, DIR_REV);
}

/* ZRANGEBYSCORE key min max [WITHSCORES] [LIMIT offset count] */
static void cmd_zrangebyscore(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zrange_generic(ctx, req, r, 1, NULL, RT_SCORE, DIR_FWD);
}

/* ZREVRANGEBYSCORE key max min [WITHSCORES] [LIMIT offset count] */
static void cmd_zrevrangebyscore(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zrange_generic(ctx, req, r, 1, NULL, RT_SCORE, DIR_REV);
}

/* ZRANGEBYLEX key min max [LIMIT offset count] */
static void cmd_zrangebylex(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zrange_generic(ctx, req, r, 1, NULL, RT_LEX, DIR_FWD);
}

/* ZREVRANGEBYLEX key max min [LIMIT offset count] */
static void cmd_zrevrangebylex(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zrange_generic(ctx, req, r, 1, NULL, RT_LEX, DIR_REV);
}

/* Skiplist range deletion callback: drop the dict entry. */
static void del_entry(void *arg, void *ele)
{
    size_t klen;
    const char *k = dict_key(ele, &klen);
    dict_delete(arg, k, klen, NULL);
}

/* zremrangeGenericCommand: ZREMRANGEBYRANK/BYSCORE/BYLEX key min max */
static void zremrange_generic(cmdctx_t *ctx, const req_t *req, reply_t *r,
                              int type)
{
    long start = 0, end = 0;
    zsl_range_t range;
    zsl_lexrange_t lex;
    if (type == RT_RANK) {
        if (arg_long(&req->argv[2], &start, r, NULL) ||
            arg_long(&req->argv[3], &end, r, NULL))
            return;
    } else if (type == RT_SCORE) {
        if (!parse_range(&req->argv[2], &req->argv[3], &range)) {
            reply_error(r, err_minmax);
            return;
        }
    } else if (!parse_lex(&req->argv[2], &req->argv[3], &lex)) {
        reply_error(r, err_lex);
        return;
    }
    zobj_t z;
    kentry_t *e = db_lookup_write(ctx, &req->argv[1]);
    if (!e) {
        reply_int(r, 0);
        return;
    }
    if (!get_zobj(ctx, e, &z, r)) return;
    long len = (long)zobj_len(&z);
    if (type == RT_RANK) {
        if (start < 0) start = len + start;
        if (end < 0) end = len + end;
        if (start < 0) start = 0;
        if (start > end || start >= len) {
            reply_int(r, 0);
            return;
        }
        if (end >= len) end = len - 1;
    }
    long long deleted = 0;
    if (z.enc == ZE_LISTPACK) {
        zit_t it;
        long first = -1;
        if (type == RT_RANK) {
            first = start;
            deleted = end - start + 1;
        } else {
            if (type == RT_SCORE)
                zit_score(&it, &z, &range, 0);
            else
                zit_lex(&it, &z, &lex, 0);
            if (zit_valid(&it)) {
                first = it.mi; /* index of the first member in range */
                for (; zit_valid(&it) &&
                       (type == RT_SCORE ? zit_in_score(&it, &range)
                                         : zit_in_lex(&it, &lex));
                     zit_next(&it))
                    deleted++;
            }
        }
        if (deleted) {
            unsigned char *p = cp_seek(z.ptr, z.len, 2 * first);
            cp_splice(z.ptr, &z.len, (size_t)(p - (unsigned char *)z.ptr),
                      2 * (unsigned long)deleted, NULL, 0, z_resize, &z);
        }
    } else {
        zset_t *zs = z.ptr;
        if (type == RT_RANK)
            deleted = (long long)zsl_delete_range_by_rank(
                zs->zsl, (unsigned long)start + 1, (unsigned long)end + 1,
                del_entry, zs->dict);
        else if (type == RT_SCORE)
            deleted = (long long)zsl_delete_range_by_score(zs->zsl, &range,
                                                           del_entry, zs->dict);
        else
            deleted = (long long)zsl_delete_range_by_lex(zs->zsl, &lex,
                                                         del_entry, zs->dict);
    }
    int keydel = zobj_len(&z) == 0;
    store_back(ctx, &req->argv[1], &z);
    if (deleted) {
        static const char *const events[] = {
            [RT_RANK] = "zremrangebyrank", [RT_SCORE] = "zremrangebyscore",
            [RT_LEX] = "zremrangebylex"};
        db_modified(ctx, &req->argv[1]);
        notify_key(ctx->node, NOTIFY_ZSET, events[type], &req->argv[1]);
        if (keydel) notify_key(ctx->node, NOTIFY_GENERIC, "del", &req->argv[1]);
    }
    reply_int(r, deleted);
}

/* ZREMRANGEBYRANK key start stop */
static void cmd_zremrangebyrank(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zremrange_generic(ctx, req, r, RT_RANK);
}

/* ZREMRANGEBYSCORE key min max */
static void cmd_zremrangebyscore(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zremrange_generic(ctx, req, r, RT_SCORE);
}

/* ZREMRANGEBYLEX key min max */
static void cmd_zremrangebylex(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zremrange_generic(ctx, req, r, RT_LEX);
}

/* ==== pops ============================================================== */

/*
 * genericZpopCommand for ZPOPMIN/ZPOPMAX (emitkey 0), ZMPOP (emitkey 1)
 * and BZPOPMIN/BZPOPMAX (emitkey 2: flat key, member, score): pop up to
 * count members from the first non-empty key; count -1 is the plain single
 * pop.  nested: RESP3 pairs / ZMPOP layout.  Returns 1 when it replied
 * (members or an error) and 0 when every key was missing, without a reply:
 * the caller answers that case (empty array, null, or blocking).
 */
static int zpop_generic(cmdctx_t *ctx, const resp_arg_t *keys, int nkeys,
                        int max, int emitkey, long count, int nested,
                        reply_t *r)
{
    zobj_t z;
    const resp_arg_t *key = NULL;
    kentry_t *e = NULL;
    for (int i = 0; i < nkeys; i++) {
        e = db_lookup_write(ctx, &keys[i]);
        if (!e) continue;
        if (!get_zobj(ctx, e, &z, r)) return 1;
        key = &keys[i];
        break;
    }
    if (!key) return 0;
    if (count == 0) {
        reply_array(r, 0);
        return 1;
    }
    if (count == -1) count = 1;
    long len = (long)zobj_len(&z);
    long n = count > len ? len : count;
    if (emitkey == 2) {
        reply_array(r, 3);
        reply_bulk(r, key->ptr, key->len);
    } else if (!nested && !emitkey) {
        reply_array(r, n * 2);
    } else if (nested && !emitkey) {
        reply_array(r, n);
    } else {
        reply_array(r, 2);
        reply_bulk(r, key->ptr, key->len);
        reply_array(r, n);
    }
    for (long i = 0; i < n; i++) {
        zit_t it;
        zit_rank(&it, &z, 0, max);
        size_t ml;
        double s;
        const char *m = zit_get(&it, &ml, &s);
        if (nested) reply_array(r, 2);
        reply_bulk(r, m, ml);
        reply_double(r, s);
        if (z.enc == ZE_LISTPACK) {
            zzl_delete(&z, it.p);
        } else {
            zset_t *zs = z.ptr;
            void *ele;
            /* m lives in the entry being removed: unlink, then drop it */
            zsl_delete(zs->zsl, s, m, ml, &ele);
            del_entry(zs->dict, ele);
        }
    }
    int keydel = zobj_len(&z) == 0;
    store_back(ctx, key, &z);
    db_modified(ctx, key);
    notify_key(ctx->node, NOTIFY_ZSET, max ? "zpopmax" : "zpopmin", key);
    if (keydel) notify_key(ctx->node, NOTIFY_GENERIC, "del", key);
    if (emitkey) { /* ZMPOP, BZ*: propagated as ZPOPMIN|ZPOPMAX key [n] */
        resp_arg_t argv[3] = {{max ? "ZPOPMAX" : "ZPOPMIN", 7}, *key, {"", 0}};
        if (emitkey == 2)
            propagate_rewrite(ctx, 2, argv);
        else
            propagate_rewrite_ll(ctx, 3, argv, 2, n);
    }
    return 1;
}

static void zpop_minmax(cmdctx_t *ctx, const req_t *req, reply_t *r, int max)
{
    long count = -1;
    if (req->argc > 3) {
        reply_err_syntax(r);
        return;
    }
    if (req->argc == 3) {
        if (arg_long(&req->argv[2], &count, r, NULL)) return;
        if (count < 0) {
            reply_error(r, "ERR value is out of range, must be positive");
            return;
        }
    }
    if (!zpop_generic(ctx, &req->argv[1], 1, max, 0, count,
                      r->proto > 2 && count != -1, r))
        reply_array(r, 0);
}

/* ZPOPMIN key [count] */
static void cmd_zpopmin(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zpop_minmax(ctx, req, r, 0);
}

/* ZPOPMAX key [count] */
static void cmd_zpopmax(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zpop_minmax(ctx, req, r, 1);
}

/* getRangeLongFromObjectOrReply(1, LONG_MAX) with a custom message. */
static int arg_positive(const resp_arg_t *a, long *out, reply_t *r,
                        const char *msg)
{
    if (arg_long(a, out, r, msg)) return -1;
    if (*out < 1) {
        reply_error(r, msg);
        return -1;
    }
    return 0;
}

/*
 * ZMPOP/BZMPOP: argv[nk] is numkeys, then the keys, MIN|MAX [COUNT n].
 * Returns 1 when it replied, 0 when every key was empty (no reply).
 */
static int zmpop_generic(cmdctx_t *ctx, const req_t *req, int nk, reply_t *r)
{
    long numkeys, count = -1;
    int max;
    if (arg_positive(&req->argv[nk], &numkeys, r,
                     "ERR numkeys should be greater than 0"))
        return 1;
    long where = nk + numkeys + 1;
    if (where >= req->argc) {
        reply_err_syntax(r);
        return 1;
    }
    if (arg_eq(&req->argv[where], "min")) {
        max = 0;
    } else if (arg_eq(&req->argv[where], "max")) {
        max = 1;
    } else {
        reply_err_syntax(r);
        return 1;
    }
    for (long j = where + 1; j < req->argc; j++) {
        int more = req->argc - 1 - (int)j;
        if (count == -1 && arg_eq(&req->argv[j], "count") && more) {
            j++;
            if (arg_positive(&req->argv[j], &count, r,
                             "ERR count should be greater than 0"))
                return 1;
        } else {
            reply_err_syntax(r);
            return 1;
        }
    }
    if (count == -1) count = 1;
    return zpop_generic(ctx, &req->argv[nk + 1], (int)numkeys, max, 1, count,
                        1, r);
}

/* ZMPOP numkeys key [key ...] MIN|MAX [COUNT count] */
static void cmd_zmpop(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    if (!zmpop_generic(ctx, req, 1, r)) reply_null_array(r);
}

/* ---- blocking forms (node/blocking.c) ------------------------------------ */

/* BZPOPMIN/BZPOPMAX key [key ...] timeout */
static void bzpop_minmax(cmdctx_t *ctx, const req_t *req, reply_t *r, int max)
{
    long long deadline;
    if (block_parse_timeout(&req->argv[req->argc - 1], ctx->now_ms,
                            &deadline, r))
        return;
    if (zpop_generic(ctx, &req->argv[1], req->argc - 2, max, 2, -1, 0, r))
        return;
    block_on_range(ctx, req, 1, req->argc - 2, deadline, r);
}

/* BZPOPMIN key [key ...] timeout */
static void cmd_bzpopmin(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    bzpop_minmax(ctx, req, r, 0);
}

/* BZPOPMAX key [key ...] timeout */
static void cmd_bzpopmax(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    bzpop_minmax(ctx, req, r, 1);
}

/* BZMPOP timeout numkeys key [key ...] MIN|MAX [COUNT count] */
static void cmd_bzmpop(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long deadline;
    if (block_parse_timeout(&req->argv[1], ctx->now_ms, &deadline, r)) return;
    if (zmpop_generic(ctx, req, 2, r)) return;
    long long numkeys = 0;
    resp_str2ll(req->argv[2].ptr, req->argv[2].len, &numkeys);
    block_on_range(ctx, req, 3, (int)numkeys, deadline, r);
}

/* ==== random members and scan =========================================== */

/* Member at 0-based rank (for listpack picks). */
static const char *member_at(const zobj_t *z, long rank, size_t *len,
                             double *score, zit_t *it)
{
    zit_rank(it, z, rank, 0);
    return zit_get(it, len, score);
}

/* One uniformly random member. */
static const char *random_member(const zobj_t *z, size_t *len, double *score,
                                 zit_t *it)
{
    if (z->enc == ZE_LISTPACK)
        return member_at(z, (long)(db_rand() % zobj_len(z)), len, score, it);
    dict_entry_t *de = dict_random(((zset_t *)z->ptr)->dict, db_rand);
    return zsl_ele(de, len, score);
}

/* zrandmemberWithCountCommand */
static void zrandmember_count(cmdctx_t *ctx, const req_t *req, reply_t *r,
                              long l, int withscores)
{
    zobj_t z;
    int missing;
    if (!lookup_read(ctx, &req->argv[1], &z, r, &missing)) {
        if (missing) reply_array(r, 0);
        return;
    }
    unsigned long size = zobj_len(&z), count;
    int uniq = 1;
    if (l >= 0) {
        count = (unsigned long)l;
    } else {
        count = (unsigned long)-l;
        uniq = 0;
    }
    if (count == 0) {
        reply_array(r, 0);
        return;
    }
    zit_t it;
    size_t ml;
    double s;
    const char *m;
    if (!uniq || count == 1) {
        reply_array(r, (long long)(withscores && r->proto == 2 ? count * 2 : count));
        while (count--) {
            m = random_member(&z, &ml, &s, &it);
            reply_member(r, m, ml, s, withscores);
        }
        return;
    }
    unsigned long n = count < size ? count : size;
    reply_array(r, (long long)(withscores && r->proto == 2 ? n * 2 : n));
    if (count >= size) {
        for (zit_rank(&it, &z, 0, 0); zit_valid(&it); zit_next(&it)) {
            m = zit_get(&it, &ml, &s);
            reply_member(r, m, ml, s, withscores);
        }
        return;
    }
    /* A random subset of distinct ranks: partial Fisher-Yates when the
     * subset is a large part of the set, else draws with a seen-set. */
    if (count * 3 > size || z.enc == ZE_LISTPACK) {
        unsigned long *idx = ts_malloc(sizeof(*idx) * size);
        for (unsigned long i = 0; i < size; i++) idx[i] = i;
        for (unsigned long i = 0; i < count; i++) {
            unsigned long j = i + db_rand() % (size - i), t = idx[i];
            idx[i] = idx[j];
            idx[j] = t;
            if (z.enc == ZE_LISTPACK) {
                m = member_at(&z, (long)idx[i], &ml, &s, &it);
            } else {
                zsl_node_t *x = zsl_by_rank(((zset_t *)z.ptr)->zsl, idx[i] + 1);
                m = zsl_ele(x->ele, &ml, &s);
            }
            reply_member(r, m, ml, s, withscores);
        }
        ts_free(idx);
        return;
    }
    dict_t *seen = dict_create();
    unsigned long got = 0;
    while (got < count) {
        m = random_member(&z, &ml, &s, &it);
        int added;
        dict_add(seen, m, ml, &added);
        if (!added) continue;
        reply_member(r, m, ml, s, withscores);
        got++;
    }
    dict_destroy(seen, NULL);
}

/* ZRANDMEMBER key [count [WITHSCORES]] */
static void cmd_zrandmember(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    if (req->argc >= 3) {
        long l;
        if (arg_long(&req->argv[2], &l, r, NULL)) return;
        if (l == LONG_MIN) {
            reply_error(r, "ERR value is out of range, value must between "
                           "-9223372036854775807 and 9223372036854775807");
            return;
        }
        int withscores = 0;
        if (req->argc > 4 ||
            (req->argc == 4 && !arg_eq(&req->argv[3], "withscores"))) {
            reply_err_syntax(r);
            return;
        }
        if (req->argc == 4) {
            withscores = 1;
            if (l < -LONG_MAX / 2 || l > LONG_MAX / 2) {
                reply_error(r, "ERR value is out of range");
                return;
            }
        }
        zrandmember_count(ctx, req, r, l, withscores);
        return;
    }
    zobj_t z;
    int missing;
    if (!lookup_read(ctx, &req->argv[1], &z, r, &missing)) {
        if (missing) reply_null(r);
        return;
    }
    zit_t it;
    size_t ml;
    double s;
    const char *m = random_member(&z, &ml, &s, &it);
    reply_bulk(r, m, ml);
}

typedef struct scan_acc {
    reply_t *r;
    const resp_arg_t *pat;
    long long n, seen;
} scan_acc_t;

/* Redis collects member and score, then filters: `seen` counts both
 * before the filter, which is what bounds a scan step. */
static void scan_emit(scan_acc_t *a, const char *m, size_t ml, double s)
{
    a->seen += 2;
    if (a->pat && !glob_match(a->pat->ptr, a->pat->len, m, ml, 0)) return;
    char sb[SCORE_BUF];
    size_t sl = d2str(sb, sizeof(sb), s);
    reply_bulk(a->r, m, ml);
    reply_bulk(a->r, sb, sl);
    a->n += 2;
}

static void scan_cb(void *arg, dict_entry_t *de)
{
    size_t ml;
    double s;
    const char *m = zsl_ele(de, &ml, &s);
    scan_emit(arg, m, ml, s);
}

/* ZSCAN key cursor [MATCH pattern] [COUNT count] */
static void cmd_zscan(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *c = &req->argv[2];
    unsigned long long cursor = 0;
    char buf[32];
    if (c->len == 0 || c->len >= sizeof(buf)) goto badcursor;
    memcpy(buf, c->ptr, c->len);
    buf[c->len] = '\0';
    {
        char *end;
        errno = 0;
        /* Redis 7.0's parseScanCursorOrReply: strtoul ("-1" wraps) */
        cursor = strtoull(buf, &end, 10);
        if (isspace((unsigned char)buf[0]) || *end || errno == ERANGE)
            goto badcursor;
    }
    zobj_t z;
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (!e) {
        reply_array(r, 2);
        reply_bulk(r, "0", 1);
        reply_array(r, 0);
        return;
    }
    if (!get_zobj(ctx, e, &z, r)) return;
    scan_opts_t so;
    if (db_scan_parse(req, 3, 0, &so, r)) return;
    long count = (long)so.count;
    const resp_arg_t *pat = so.pat;
    reply_array(r, 2);
    scan_acc_t acc = {.r = r, .pat = pat, .n = 0, .seen = 0};
    if (z.enc == ZE_LISTPACK) {
        reply_bulk(r, "0", 1);
        size_t h = reply_defer(r);
        zit_t it;
        for (zit_rank(&it, &z, 0, 0); zit_valid(&it); zit_next(&it)) {
            size_t ml;
            double s;
            const char *m = zit_get(&it, &ml, &s);
            scan_emit(&acc, m, ml, s);
        }
        reply_set_deferred(r, h, '*', acc.n);
        return;
    }
    /* The cursor goes first: collect into a scratch buffer. */
    buf_t tmp;
    buf_init(&tmp);
    reply_t tr;
    reply_init(&tr, &tmp, r->proto);
    acc.r = &tr;
    zset_t *zs = z.ptr;
    long maxiter = count * 10;
    do {
        cursor = dict_scan(zs->dict, cursor, scan_cb, &acc);
    } while (cursor && maxiter-- && acc.seen < count);
    char cb[32];
    int cl = snprintf(cb, sizeof(cb), "%llu", cursor);
    reply_bulk(r, cb, (size_t)cl);
    reply_array(r, acc.n);
    buf_append(r->out, buf_rptr(&tmp), buf_len(&tmp));
    buf_deinit(&tmp);
    return;
badcursor:
    reply_error(r, "ERR invalid cursor");
}

/* ==== ZUNION / ZINTER / ZDIFF =========================================== */

enum { OP_UNION, OP_INTER, OP_DIFF };
enum { AGG_SUM, AGG_MIN, AGG_MAX };

typedef struct zsrc {
    zobj_t z;               /* z.ptr NULL: missing key, or set below */
    const kentry_t *set;    /* a plain set (every member scores 1.0) */
    double weight;
} zsrc_t;

static inline size_t src_len(const zsrc_t *s)
{
    if (s->z.ptr) return zobj_len(&s->z);
    return s->set ? t_set_card(s->set) : 0;
}

/* zuiFind: 1 with *score if m is in the input. */
static inline int src_score(const zsrc_t *s, const char *m, size_t ml,
                            double *score)
{
    if (s->z.ptr) return zobj_score(&s->z, m, ml, score);
    if (!s->set || !t_set_contains(s->set, m, ml)) return 0;
    *score = 1.0;
    return 1;
}

static inline void aggregate(double *t, double v, int agg)
{
    if (agg == AGG_SUM) {
        *t += v;
        if (isnan(*t)) *t = 0.0;  /* inf + -inf: Redis's convention */
    } else if (agg == AGG_MIN) {
        *t = v < *t ? v : *t;
    } else {
        *t = v > *t ? v : *t;
    }
}

/* Add to the accumulating dict (score in aux). */
static void acc_put(dict_t *d, const char *m, size_t len, double score,
                    int agg, size_t *maxlen, size_t *totlen)
{
    int added;
    dict_entry_t *de = dict_add(d, m, len, &added);
    if (added) {
        dict_set_aux_double(de, score);
        if (len > *maxlen) *maxlen = len;
        *totlen += len;
    } else {
        double t = dict_aux_double(de);
        aggregate(&t, score, agg);
        dict_set_aux_double(de, t);
    }
}

/* Cardinality order for ZUNION/ZINTER (stable, as glibc's merge sort). */
static void sort_by_card(zsrc_t *src, long n)
{
    for (long i = 1; i < n; i++) {
        zsrc_t t = src[i];
        long j = i;
        while (j > 0 && src_len(&src[j - 1]) > src_len(&t)) {
            src[j] = src[j - 1];
            j--;
        }
        src[j] = t;
    }
}

/* What compute() is doing, for the per-member step. */
typedef struct zop {
    zsrc_t *src;
    long n;
    int op, agg;
    dict_t *acc;            /* result (NULL for ZINTERCARD) */
    long limit;             /* ZINTERCARD's LIMIT, 0: none */
    long long *card;        /* ZINTERCARD's count, else NULL */
    size_t *maxlen, *totlen;
} zop_t;

/* One member m (score s) of input i.  Returns 1 to stop (LIMIT). */
static inline int visit(zop_t *o, long i, const char *m, size_t ml, double s)
{
    zsrc_t *src = o->src;
    double other;
    long j;
    if (o->op == OP_UNION) {
        double score = src[i].weight * s;
        if (isnan(score)) score = 0;
        acc_put(o->acc, m, ml, score, o->agg, o->maxlen, o->totlen);
    } else if (o->op == OP_INTER) {
        double score = src[0].weight * s;
        if (isnan(score)) score = 0;
        for (j = 1; j < o->n; j++) {
            if (!src_score(&src[j], m, ml, &other)) return 0;
            other *= src[j].weight;
            if (isnan(other)) other = 0;
            aggregate(&score, other, o->agg);
        }
        if (o->card) {
            (*o->card)++;
            return o->limit && *o->card >= o->limit;
        }
        acc_put(o->acc, m, ml, score, o->agg, o->maxlen, o->totlen);
    } else {
        for (j = 1; j < o->n; j++)
            if (src_score(&src[j], m, ml, &other)) return 0;
        acc_put(o->acc, m, ml, s, AGG_SUM, o->maxlen, o->totlen);
    }
    return 0;
}

/* visit() every member of input i (non-empty); 1 if stopped. */
static int visit_src(zop_t *o, long i)
{
    const zsrc_t *sr = &o->src[i];
    const char *m;
    size_t ml;
    int stop = 0;
    if (sr->z.ptr) {
        zit_t it;
        double s;
        for (zit_rank(&it, &sr->z, 0, 0); !stop && zit_valid(&it);
             zit_next(&it)) {
            m = zit_get(&it, &ml, &s);
            stop = visit(o, i, m, ml, s);
        }
        return stop;
    }
    t_set_iter_t si;
    t_set_iter_init(&si, sr->set);
    while (!stop && (m = t_set_iter_next(&si, &ml)))
        stop = visit(o, i, m, ml, 1.0);
    t_set_iter_done(&si);
    return stop;
}

static void compute(zsrc_t *src, long n, int op, int agg, dict_t *acc,
                    long limit, long long *card, size_t *maxlen,
                    size_t *totlen)
{
    zop_t o = {src, n, op, agg, acc, limit, card, maxlen, totlen};
    if (op == OP_UNION) {
        for (long i = 0; i < n; i++)
            if (src_len(&src[i])) visit_src(&o, i);
    } else if (src_len(&src[0])) {
        visit_src(&o, 0);   /* ZINTER, ZDIFF: walk the first input */
    }
}

/*
 * zunionInterDiffGenericCommand.  numkeys at argv[nk]; dstkey for the
 * STORE forms; card for ZINTERCARD.
 */
static void zsetop_generic(cmdctx_t *ctx, const req_t *req, reply_t *r,
                           const resp_arg_t *dstkey, int nk, int op, int card)
{
    long numkeys;
    if (arg_long(&req->argv[nk], &numkeys, r, NULL)) return;
    if (numkeys < 1) {
        reply_errorf(r, "ERR at least 1 input key is needed for '%s' command",
                     req->spec->name);
        return;
    }
    if (numkeys > req->argc - nk - 1) {
        reply_err_syntax(r);
        return;
    }
    zsrc_t *src = ts_calloc((size_t)numkeys, sizeof(*src));
    int j = nk + 1;
    for (long i = 0; i < numkeys; i++, j++) {
        /* read lookups even for the STORE forms, as Redis 7.0.15
         * (misses and "keymiss" events count) */
        kentry_t *e = db_lookup_read(ctx, &req->argv[j]);
        src[i].weight = 1.0;
        if (!e) continue;
        if (ke_type(e) == KT_SET) {
            src[i].set = e;     /* entries do not move while we read */
            continue;
        }
        if (ke_type(e) != KT_ZSET) {
            reply_err_wrongtype(r);
            goto out;
        }
        zobj_attach(&src[i].z, ctx->ks, e);
    }
    int agg = AGG_SUM, withscores = 0;
    long limit = 0;
    while (j < req->argc) {
        int remaining = req->argc - j;
        const resp_arg_t *o = &req->argv[j];
        if (op != OP_DIFF && !card && remaining >= numkeys + 1 &&
            arg_eq(o, "weights")) {
            j++;
            for (long i = 0; i < numkeys; i++, j++)
                if (arg_score(&req->argv[j], &src[i].weight, r,
                              "ERR weight value is not a float"))
                    goto out;
        } else if (op != OP_DIFF && !card && remaining >= 2 &&
                   arg_eq(o, "aggregate")) {
            const resp_arg_t *a = &req->argv[j + 1];
            if (arg_eq(a, "sum")) agg = AGG_SUM;
            else if (arg_eq(a, "min")) agg = AGG_MIN;
            else if (arg_eq(a, "max")) agg = AGG_MAX;
            else {
                reply_err_syntax(r);
                goto out;
            }
            j += 2;
        } else if (!dstkey && !card && arg_eq(o, "withscores")) {
            j++;
            withscores = 1;
        } else if (card && remaining >= 2 && arg_eq(o, "limit")) {
            if (arg_long(&req->argv[j + 1], &limit, r,
                         "ERR LIMIT can't be negative"))
                goto out;
            if (limit < 0) {
                reply_error(r, "ERR LIMIT can't be negative");
                goto out;
            }
            j += 2;
        } else {
            reply_err_syntax(r);
            goto out;
        }
    }
    if (op != OP_DIFF) sort_by_card(src, numkeys);

    size_t maxlen = 0, totlen = 0;
    if (card) {
        long long n = 0;
        compute(src, numkeys, op, agg, NULL, limit, &n, &maxlen, &totlen);
        reply_int(r, n);
        goto out;
    }
    zset_t *zs = zset_create();
    compute(src, numkeys, op, agg, zs->dict, 0, NULL, &maxlen, &totlen);
    dict_iter_t di;
    dict_iter_init(zs->dict, &di);
    for (dict_entry_t *de; (de = dict_iter_next(&di));) zsl_insert(zs->zsl, de);
    dict_iter_done(&di);
    zobj_t res = {.enc = ZE_SKIPLIST, .ptr = zs};
    if (dstkey) {
        zlimits_t lim;
        limits_of(ctx, &lim);
        long long len = (long long)zobj_len(&res);
        if (len && (size_t)len <= lim.entries && maxlen <= lim.value)
            to_listpack(&res);
        static const char *const events[] = {"zunionstore", "zinterstore",
                                             "zdiffstore"};
        if (store_new(ctx, dstkey, &res, events[op])) db_modified(ctx, dstkey);
        reply_int(r, len);
        goto out;
    }
    unsigned long len = zs->zsl->length;
    reply_array(r, (long long)(withscores && r->proto == 2 ? len * 2 : len));
    for (zsl_node_t *x = zs->zsl->header->level[0].forward; x;
         x = x->level[0].forward) {
        size_t ml;
        double s;
        const char *m = zsl_ele(x->ele, &ml, &s);
        reply_member(r, m, ml, s, withscores);
    }
    zset_destroy(zs);
out:
    ts_free(src);
}

/* ZUNION numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE SUM|MIN|MAX] [WITHSCORES] */
static void cmd_zunion(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zsetop_generic(ctx, req, r, NULL, 1, OP_UNION, 0);
}

/* ZINTER numkeys key [key ...] [WEIGHTS w ...] [AGGREGATE ...] [WITHSCORES] */
static void cmd_zinter(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zsetop_generic(ctx, req, r, NULL, 1, OP_INTER, 0);
}

/* ZDIFF numkeys key [key ...] [WITHSCORES] */
static void cmd_zdiff(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zsetop_generic(ctx, req, r, NULL, 1, OP_DIFF, 0);
}

/* ZUNIONSTORE dst numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...] */
static void cmd_zunionstore(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zsetop_generic(ctx, req, r, &req->argv[1], 2, OP_UNION, 0);
}

/* ZINTERSTORE dst numkeys key [key ...] [WEIGHTS ...] [AGGREGATE ...] */
static void cmd_zinterstore(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zsetop_generic(ctx, req, r, &req->argv[1], 2, OP_INTER, 0);
}

/* ZDIFFSTORE dst numkeys key [key ...] */
static void cmd_zdiffstore(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zsetop_generic(ctx, req, r, &req->argv[1], 2, OP_DIFF, 0);
}

/* ZINTERCARD numkeys key [key ...] [LIMIT limit] */
static void cmd_zintercard(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    zsetop_generic(ctx, req, r, NULL, 1, OP_INTER, 1);
}

const cmd_bind_t t_zset_cmds[] = {
    {CMD_ZADD, cmd_zadd},
    {CMD_ZCARD, cmd_zcard},
    {CMD_ZCOUNT, cmd_zcount},
    {CMD_ZDIFF, cmd_zdiff},
    {CMD_ZDIFFSTORE, cmd_zdiffstore},
    {CMD_ZINCRBY, cmd_zincrby},
    {CMD_ZINTER, cmd_zinter},
    {CMD_ZINTERCARD, cmd_zintercard},
    {CMD_ZINTERSTORE, cmd_zinterstore},
    {CMD_ZLEXCOUNT, cmd_zlexcount},
    {CMD_ZMPOP, cmd_zmpop},
    {CMD_BZPOPMIN, cmd_bzpopmin},
    {CMD_BZPOPMAX, cmd_bzpopmax},
    {CMD_BZMPOP, cmd_bzmpop},
    {CMD_ZMSCORE, cmd_zmscore},
    {CMD_ZPOPMAX, cmd_zpopmax},
    {CMD_ZPOPMIN, cmd_zpopmin},
    {CMD_ZRANDMEMBER, cmd_zrandmember},
    {CMD_ZRANGE, cmd_zrange},
    {CMD_ZRANGEBYLEX, cmd_zrangebylex},
    {CMD_ZRANGEBYSCORE, cmd_zrangebyscore},
    {CMD_ZRANGESTORE, cmd_zrangestore},
    {CMD_ZRANK, cmd_zrank},
    {CMD_ZREM, cmd_zrem},
    {CMD_ZREMRANGEBYLEX, cmd_zremrangebylex},
    {CMD_ZREMRANGEBYRANK, cmd_zremrangebyrank},
    {CMD_ZREMRANGEBYSCORE, cmd_zremrangebyscore},
    {CMD_ZREVRANGE, cmd_zrevrange},
    {CMD_ZREVRANGEBYLEX, cmd_zrevrangebylex},
    {CMD_ZREVRANGEBYSCORE, cmd_zrevrangebyscore},
    {CMD_ZREVRANK, cmd_zrevrank},
    {CMD_ZSCAN, cmd_zscan},
    {CMD_ZSCORE, cmd_zscore},
    {CMD_ZUNION, cmd_zunion},
    {CMD_ZUNIONSTORE, cmd_zunionstore},
    {CMD__COUNT, NULL},
};
