/*
 * rdb_load.c: reading RDB files and DUMP payloads.
 *
 * Everything read is untrusted.  Every length is checked against what can
 * follow before anything that size is allocated (strings grow as their
 * bytes actually arrive, so a forged 4 GB length on a short file fails at
 * end of file, not in malloc), every embedded listpack and intset is
 * validated entry by entry (lp_validate / intset_validate, deep), and
 * hashes, sets and sorted sets are checked for duplicates; sorted set
 * listpacks must also be in (score, member) order, since every ZRANGE
 * depends on it.  The first problem stops the load with "Bad RDB: <what>
 * at offset <N>", N the file offset where the reader was.
 *
 * A file is loaded into a fresh keyspace that replaces the node's only
 * when the whole file (checksum included) was good: a bad file never
 * leaves half a keyspace.  Values are built detached (rval_t) and stored
 * when complete, so RESTORE uses the same code and changes nothing when
 * the payload is bad.
 *
 * Encodings Redis 7.0 writes are all read: strings (with int and LZF
 * encodings), QUICKLIST_2 lists, listpack/hashtable hashes, intset/
 * hashtable sets, listpack/skiplist sorted sets; also what older servers
 * wrote and 7.0 still loads: plain lists (1), ZSET (3, text scores) and
 * the ziplist encodings (10, 12, 13, 14), converted to listpacks entry by
 * entry.  Zipmaps, streams, modules and functions are refused with a
 * message naming them.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cpack.h"
#include "crc64.h"
#include "dict.h"
#include "evict.h"
#include "intset.h"
#include "keyspace.h"
#include "listpack.h"
#include "log.h"
#include "lzf.h"
#include "quicklist.h"
#include "rdb.h"
#include "repl/repl.h"
#include "resp.h"
#include "t_zset.h"

/* The encodings of the type files (t_list.c, t_hash.c, t_set.c). */
enum { L_LISTPACK = KE_OBJ, L_QUICKLIST = KE_OBJ + 1 };
enum { H_LISTPACK = KE_OBJ, H_HT = KE_OBJ + 1 };
enum { S_INTSET = KE_OBJ, S_HT = KE_OBJ + 1 };
#define SET_BLOB_MAX   8192 /* t_set.c embeds intsets up to this */
#define INTSET_MAX_CAP (1LL << 30)
#define LP_SAFETY_SIZE (1u << 30)
#define READ_CHUNK     (1u << 20) /* strings grow by this much as they arrive */
#define HINT_MAX       (1u << 20) /* presize containers for at most this */
#define DUP_SCAN_MAX   16         /* fields checked pairwise up to this many */

/* Result of loading one object. */
enum { LOAD_OK = 0, LOAD_ERR = -1, LOAD_EMPTY = -2 };

typedef struct sbuf {
    char *p;
    size_t cap;
} sbuf_t;

typedef struct rdr {
    node_t *n;
    rdb_read_fn r;
    void *arg;
    uint64_t crc;
    size_t off;
    int failed;
    char *err;
    size_t errlen;
    sbuf_t sb[2]; /* scratch for keys, members, fields */
} rdr_t;

/* A value being built, not yet in a keyspace. */
typedef struct rval {
    int type, enc;
    char *s; /* string: the reader's scratch, not owned */
    size_t slen;
    void *obj; /* any other type */
} rval_t;

/* ---- errors and raw reads ----------------------------------------------- */

static int fail(rdr_t *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int fail(rdr_t *d, const char *fmt, ...)
{
    if (d->failed) return -1;
    d->failed = 1;
    if (d->err && d->errlen) {
        char what[256];
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(what, sizeof(what), fmt, ap);
        va_end(ap);
        snprintf(d->err, d->errlen, "Bad RDB: %s at offset %zu", what, d->off);
    }
    return -1;
}

static int rd(rdr_t *d, void *buf, size_t len)
{
    if (d->failed) return -1;
    if (len == 0) return 0;
    if (d->r(d->arg, buf, len) != 0) return fail(d, "unexpected end of file");
    d->crc = crc64(d->crc, buf, len);
    d->off += len;
    return 0;
}

static int rd_u8(rdr_t *d, int *v)
{
    unsigned char b;
    if (rd(d, &b, 1)) return -1;
    *v = b;
    return 0;
}

static uint64_t le64(const unsigned char *b)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | b[i];
    return v;
}

/* rdbLoadLenByRef: a length, or (*enc set) a special string encoding. */
static int rd_len(rdr_t *d, uint64_t *len, int *enc)
{
    unsigned char b[8];
    if (enc) *enc = 0;
    if (rd(d, b, 1)) return -1;
    int type = (b[0] & 0xc0) >> 6;
    if (type == RDB_ENCVAL) {
        if (!enc) return fail(d, "unexpected encoded length");
        *enc = 1;
        *len = b[0] & 0x3f;
    } else if (type == RDB_6BITLEN) {
        *len = b[0] & 0x3f;
    } else if (type == RDB_14BITLEN) {
        unsigned char c;
        if (rd(d, &c, 1)) return -1;
        *len = ((uint64_t)(b[0] & 0x3f) << 8) | c;
    } else if (b[0] == RDB_32BITLEN) {
        if (rd(d, b, 4)) return -1;
        *len = (uint64_t)b[0] << 24 | (uint64_t)b[1] << 16 |
               (uint64_t)b[2] << 8 | b[3];
    } else if (b[0] == RDB_64BITLEN) {
        if (rd(d, b, 8)) return -1;
        *len = 0;
        for (int i = 0; i < 8; i++)
            *len = *len << 8 | b[i];
    } else {
        return fail(d, "unknown length encoding %d", b[0]);
    }
    return 0;
}

static int rd_plain_len(rdr_t *d, uint64_t *len)
{
    return rd_len(d, len, NULL);
}

static int sb_reserve(rdr_t *d, sbuf_t *b, size_t n)
{
    if (n + 1 <= b->cap) return 0;
    if (n + 1 < n) return fail(d, "string too long");
    size_t cap = b->cap ? b->cap : 64;
    while (cap < n + 1)
        cap = cap * 2 < cap ? n + 1 : cap * 2;
    char *p = ts_try_realloc(b->p, cap);
    if (!p) return fail(d, "out of memory for a string of %zu bytes", n);
    b->p = p;
    b->cap = cap;
    return 0;
}

/* Read len raw bytes into b, growing it only as the bytes arrive. */
static int rd_into(rdr_t *d, sbuf_t *b, uint64_t len)
{
    if (len > SIZE_MAX / 2)
        return fail(d, "string length %llu too large", (unsigned long long)len);
    size_t got = 0;
    while (got < len) {
        size_t chunk = len - got > READ_CHUNK ? READ_CHUNK : len - got;
        if (sb_reserve(d, b, got + chunk) || rd(d, b->p + got, chunk))
            return -1;
        got += chunk;
    }
    if (sb_reserve(d, b, len)) return -1;
    b->p[len] = '\0';
    return 0;
}

/* rdbGenericLoadStringObject into b: integer encodings come back as their
 * decimal text, LZF is decompressed.  *len gets the length. */
static int rd_string(rdr_t *d, sbuf_t *b, size_t *len)
{
    uint64_t l = 0;
    int enc;
    if (rd_len(d, &l, &enc)) return -1;
    if (!enc) {
        if (rd_into(d, b, l)) return -1;
        *len = l;
        return 0;
    }
    unsigned char v[4];
    long long iv;
    switch (l) {
    case RDB_ENC_INT8:
        if (rd(d, v, 1)) return -1;
        iv = (int8_t)v[0];
        break;
    case RDB_ENC_INT16:
        if (rd(d, v, 2)) return -1;
        iv = (int16_t)(uint16_t)(v[0] | v[1] << 8);
        break;
    case RDB_ENC_INT32:
        if (rd(d, v, 4)) return -1;
        iv = (int32_t)((uint32_t)v[0] | (uint32_t)v[1] << 8 |
                       (uint32_t)v[2] << 16 | (uint32_t)v[3] << 24);
        break;
    case RDB_ENC_LZF: {
        uint64_t clen, ulen;
        if (rd_plain_len(d, &clen) || rd_plain_len(d, &ulen)) return -1;
        /* LZF expands at most ~132x (a 2-byte back reference gives 264
         * bytes); anything claiming more is corrupt. */
        if (clen == 0 || ulen == 0 || ulen / 133 > clen || clen > SIZE_MAX / 2)
            return fail(d, "invalid LZF lengths %llu/%llu",
                        (unsigned long long)clen, (unsigned long long)ulen);
        sbuf_t c = {0};
        if (rd_into(d, &c, clen)) {
            ts_free(c.p);
            return -1;
        }
        int ok = sb_reserve(d, b, ulen) == 0 &&
                 lzf_decompress(c.p, clen, b->p, ulen) == ulen;
        ts_free(c.p);
        if (!ok) return fail(d, "invalid LZF compressed string");
        b->p[ulen] = '\0';
        *len = ulen;
        return 0;
    }
    default:
        return fail(d, "unknown string encoding %llu", (unsigned long long)l);
    }
    if (sb_reserve(d, b, 24)) return -1;
    *len = resp_ll2str(b->p, iv);
    b->p[*len] = '\0';
    return 0;
}

/* A string as a new exact-size allocation (listpacks, intsets). */
static int rd_blob(rdr_t *d, unsigned char **out, size_t *len)
{
    sbuf_t b = {0};
    if (rd_string(d, &b, len)) {
        ts_free(b.p);
        return -1;
    }
    /* exact size: the buffer grew by doubling, listpacks are kept as is */
    *out = ts_realloc(b.p, *len ? *len : 1);
    return 0;
}

/* rdbLoadDoubleValue (ZSET type 3) and rdbLoadBinaryDoubleValue. */
static int rd_double(rdr_t *d, double *v)
{
    int len;
    char buf[256];
    if (rd_u8(d, &len)) return -1;
    if (len == 253)
        *v = NAN;
    else if (len == 254)
        *v = INFINITY;
    else if (len == 255)
        *v = -INFINITY;
    else {
        if (rd(d, buf, (size_t)len)) return -1;
        buf[len] = '\0';
        char *end;
        *v = strtod(buf, &end);
        if (end != buf + len) return fail(d, "bad double value");
    }
    return 0;
}

static int rd_binary_double(rdr_t *d, double *v)
{
    unsigned char b[8];
    if (rd(d, b, 8)) return -1;
    uint64_t u = le64(b);
    memcpy(v, &u, 8);
    return 0;
}

/* ---- detached values ------------------------------------------------------
 */

static void rval_free(rval_t *v)
{
    if (v->type != KT_STRING && v->obj) {
        switch (v->type) {
        case KT_LIST:
            if (v->enc == L_LISTPACK)
                lp_free(v->obj);
            else
                ql_free(v->obj);
            break;
        case KT_HASH:
            if (v->enc == H_LISTPACK)
                lp_free(v->obj);
            else
                dict_destroy(v->obj, NULL);
            break;
        case KT_SET:
            if (v->enc == S_INTSET)
                intset_free(v->obj);
            else
                dict_destroy(v->obj, NULL);
            break;
        case KT_ZSET: t_zset_free(v->enc, v->obj); break;
        }
    }
    memset(v, 0, sizeof(*v));
}

/* Store v under key (taking ownership).  Intsets small enough live in the
 * entry as t_set.c keeps them; listpack hashes and sorted sets become the
 * compact pack t_hash.c and t_zset.c keep in the entry. */
static kentry_t *rval_store(keyspace_t *ks, const char *key, size_t klen,
                            rval_t *v)
{
    kentry_t *e;
    if (v->type == KT_STRING) {
        e = ks_set_str(ks, key, klen, v->s, v->slen, 0);
    } else if (v->type == KT_SET && v->enc == S_INTSET &&
               intset_blob_len(v->obj) <= SET_BLOB_MAX) {
        e = ks_set_blob(ks, key, klen, KT_SET, S_INTSET, intset_blob(v->obj),
                        intset_blob_len(v->obj), 0);
        intset_free(v->obj);
    } else if ((v->type == KT_HASH && v->enc == H_LISTPACK) ||
               (v->type == KT_ZSET && v->enc == T_ZSET_ENC_LISTPACK)) {
        e = ks_set_blob(ks, key, klen, v->type, v->enc, NULL,
                        cp_size_of_lp(v->obj), 0);
        size_t len;
        unsigned char *b = ke_blob(e, &len);
        cp_from_lp(v->obj, b);
        lp_free(v->obj);
        if (v->type == KT_ZSET) { /* scores as t_zset.c would store them */
            size_t n = cp_compact_scores(b, len);
            if (n != len) ks_blob_resize(ks, &e, n);
        }
    } else {
        e = ks_set_obj(ks, key, klen, v->type, v->enc, v->obj, 0);
    }
    memset(v, 0, sizeof(*v));
    return e;
}

static size_t hint_of(uint64_t len)
{
    return len > HINT_MAX ? HINT_MAX : (size_t)len;
}

/* ---- types ------------------------------------------------------------------
 */

static int fill_of(const node_t *n)
{
    long long f = n->list_max_listpack_size;
    return f > 32767 ? 32767 : (f < -5 ? -5 : (int)f);
}

/* A quicklist that fits one node becomes the listpack encoding, as
 * t_list.c keeps short lists. */
static void list_finish(rdr_t *d, rval_t *v, quicklist_t *ql)
{
    unsigned char *lp = ql_to_lp_if_small(ql, fill_of(d->n));
    v->type = KT_LIST;
    if (lp) {
        v->enc = L_LISTPACK;
        v->obj = lp;
    } else {
        v->enc = L_QUICKLIST;
        v->obj = ql;
    }
}

/* ---- ziplists (Redis < 7.0) -------------------------------------------------
 */

static uint32_t le32(const unsigned char *b)
{
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
           (uint32_t)b[3] << 24;
}

/*
 * A ziplist's entries as a new listpack, or NULL if the ziplist is
 * malformed.  Layout: zlbytes u32, zltail u32, zllen u16, entries, 0xff;
 * an entry is prevlen (1 byte, or 0xfe + u32), an encoding (string with a
 * 6/14/32-bit length, or an integer of 8/16/24/32/64 bits, or 0..12 in
 * the encoding byte), the data.  Every field is checked against the end
 * and against the header (prevlen chain, tail offset, count).
 */
static unsigned char *zl_to_lp(const unsigned char *zl, size_t size)
{
    if (size < 11 || le32(zl) != size || zl[size - 1] != 0xff) return NULL;
    const unsigned char *p = zl + 10, *end = zl + size - 1, *last = NULL;
    unsigned zllen = (unsigned)zl[8] | (unsigned)zl[9] << 8;
    size_t prevlen = 0;
    unsigned long count = 0;
    unsigned char *lp = lp_new(0);
    while (p < end) {
        const unsigned char *start = p;
        size_t pl;
        if (p[0] < 0xfe) {
            pl = p[0];
            p++;
        } else if (p[0] == 0xfe && end - p > 5) {
            pl = le32(p + 1);
            p += 5;
        } else {
            goto bad;
        }
        if (pl != prevlen || p >= end) goto bad;
        unsigned char enc = p[0];
        size_t len = 0, ilen = 0;
        int is_str = 1;
        switch (enc >> 6) {
        case 0:
            len = enc & 0x3f;
            p++;
            break;
        case 1:
            if (end - p < 2) goto bad;
            len = (size_t)(enc & 0x3f) << 8 | p[1];
            p += 2;
            break;
        case 2:
            if (enc != 0x80 || end - p < 5) goto bad;
            len = (size_t)p[1] << 24 | (size_t)p[2] << 16 | (size_t)p[3] << 8 |
                  p[4];
            p += 5;
            break;
        default:
            is_str = 0;
            p++;
            if (enc == 0xc0)
                ilen = 2;
            else if (enc == 0xd0)
                ilen = 4;
            else if (enc == 0xe0)
                ilen = 8;
            else if (enc == 0xf0)
                ilen = 3;
            else if (enc == 0xfe)
                ilen = 1;
            else if (enc >= 0xf1 && enc <= 0xfd)
                ilen = 0;
            else
                goto bad;
        }
        if (is_str) {
            if (len > (size_t)(end - p) || len > UINT32_MAX) goto bad;
            lp = lp_append(lp, (const char *)p, (uint32_t)len);
            p += len;
        } else {
            if (ilen > (size_t)(end - p)) goto bad;
            long long v;
            if (ilen == 0) {
                v = (enc & 0x0f) - 1;
            } else {
                uint64_t u = 0;
                for (size_t i = 0; i < ilen; i++)
                    u |= (uint64_t)p[i] << (8 * i);
                /* sign-extend from ilen bytes */
                unsigned shift = (unsigned)(64 - 8 * ilen);
                v = (long long)(int64_t)(u << shift) >> shift;
            }
            lp = lp_append_int(lp, v);
            p += ilen;
        }
        prevlen = (size_t)(p - start);
        last = start;
        count++;
    }
    if (p != end) goto bad;
    if (zllen != 0xffff && zllen != count) goto bad;
    if (le32(zl + 4) != (size_t)((last ? last : zl + 10) - zl)) goto bad;
    return lp;
bad:
    lp_free(lp);
    return NULL;
}

/* A ziplist blob, converted: a listpack in *out (exact size). */
static int rd_ziplist(rdr_t *d, unsigned char **out, size_t *len)
{
    unsigned char *zl;
    size_t zlen;
    if (rd_blob(d, &zl, &zlen)) return -1;
    unsigned char *lp = zl_to_lp(zl, zlen);
    ts_free(zl);
    if (!lp) return fail(d, "ziplist integrity check failed");
    *out = lp;
    *len = lp_bytes(lp);
    return 0;
}

/* RDB_TYPE_LIST_ZIPLIST: one ziplist. */
static int load_list_ziplist(rdr_t *d, rval_t *v)
{
    unsigned char *lp;
    size_t len;
    if (rd_ziplist(d, &lp, &len)) return LOAD_ERR;
    if (lp_length(lp) == 0) {
        lp_free(lp);
        return LOAD_EMPTY;
    }
    quicklist_t *ql = ql_create(fill_of(d->n));
    ql_append_lp(ql, lp);
    list_finish(d, v, ql);
    return LOAD_OK;
}

/* RDB_TYPE_LIST_QUICKLIST: nodes, each a ziplist. */
static int load_quicklist1(rdr_t *d, rval_t *v)
{
    uint64_t nodes;
    if (rd_plain_len(d, &nodes)) return LOAD_ERR;
    quicklist_t *ql = ql_create(fill_of(d->n));
    for (uint64_t i = 0; i < nodes; i++) {
        unsigned char *lp;
        size_t len;
        if (rd_ziplist(d, &lp, &len)) {
            ql_free(ql);
            return LOAD_ERR;
        }
        if (lp_length(lp) == 0)
            lp_free(lp);
        else
            ql_append_lp(ql, lp);
    }
    if (ql_count(ql) == 0) {
        ql_free(ql);
        return LOAD_EMPTY;
    }
    list_finish(d, v, ql);
    return LOAD_OK;
}

/* RDB_TYPE_LIST: len, then each element. */
static int load_list(rdr_t *d, rval_t *v)
{
    uint64_t len;
    if (rd_plain_len(d, &len)) return LOAD_ERR;
    if (len == 0) return LOAD_EMPTY;
    quicklist_t *ql = ql_create(fill_of(d->n));
    for (uint64_t i = 0; i < len; i++) {
        size_t l;
        if (rd_string(d, &d->sb[0], &l)) {
            ql_free(ql);
            return LOAD_ERR;
        }
        if (l > UINT32_MAX) {
            ql_free(ql);
            return fail(d, "list element too large");
        }
        ql_push(ql, QL_TAIL, d->sb[0].p, (uint32_t)l);
    }
    list_finish(d, v, ql);
    return LOAD_OK;
}

/* RDB_TYPE_LIST_QUICKLIST_2: nodes, each a container and a blob. */
static int load_quicklist2(rdr_t *d, rval_t *v)
{
    uint64_t nodes;
    if (rd_plain_len(d, &nodes)) return LOAD_ERR;
    if (nodes == 0) return LOAD_EMPTY;
    quicklist_t *ql = ql_create(fill_of(d->n));
    for (uint64_t i = 0; i < nodes; i++) {
        uint64_t container;
        unsigned char *lp;
        size_t len;
        if (rd_plain_len(d, &container)) goto err;
        if (container != RDB_QL_PLAIN && container != RDB_QL_PACKED) {
            fail(d, "quicklist integrity check failed (container %llu)",
                 (unsigned long long)container);
            goto err;
        }
        if (rd_blob(d, &lp, &len)) goto err;
        if (container == RDB_QL_PLAIN) {
            if (len > UINT32_MAX) {
                ts_free(lp);
                fail(d, "list element too large");
                goto err;
            }
            ql_push(ql, QL_TAIL, (const char *)lp, (uint32_t)len);
            ts_free(lp);
            continue;
        }
        unsigned long count;
        if (!lp_validate(lp, len, 1, &count)) {
            ts_free(lp);
            fail(d, "listpack integrity check failed");
            goto err;
        }
        if (count == 0) { /* Redis skips empty nodes too */
            ts_free(lp);
            continue;
        }
        ql_append_lp(ql, lp);
    }
    if (ql_count(ql) == 0) {
        ql_free(ql);
        return LOAD_EMPTY;
    }
    list_finish(d, v, ql);
    return LOAD_OK;
err:
    ql_free(ql);
    return LOAD_ERR;
}

/* 1 if the listpack holds a field (every other entry from the first) twice. */
static int lp_has_dup_fields(unsigned char *lp, unsigned long count)
{
    if (count <= 2) return 0;
    unsigned char buf[LP_INTBUF_SIZE];
    if (count <= 2 * DUP_SCAN_MAX) {
        /* small (the usual case): compare pairwise, no allocation */
        unsigned char *f[DUP_SCAN_MAX];
        unsigned long n = 0;
        for (unsigned char *p = lp_first(lp); p && n < DUP_SCAN_MAX;) {
            uint32_t l;
            const unsigned char *t = lp_get_text(p, &l, buf);
            for (unsigned long i = 0; i < n; i++)
                if (lp_compare(f[i], (const char *)t, l)) return 1;
            f[n++] = p;
            p = lp_next(lp, p);
            if (p) p = lp_next(lp, p);
        }
        return 0;
    }
    dict_t *seen = dict_create();
    dict_expand(seen, count / 2);
    int dup = 0;
    for (unsigned char *p = lp_first(lp); p && !dup;) {
        uint32_t l;
        const unsigned char *t = lp_get_text(p, &l, buf);
        int added;
        dict_add(seen, (const char *)t, l, &added);
        dup = !added;
        p = lp_next(lp, p);
        if (p) p = lp_next(lp, p);
    }
    dict_destroy(seen, NULL);
    return dup;
}

static void hash_lp_to_dict(rval_t *v)
{
    unsigned char *lp = v->obj;
    dict_t *h = dict_create();
    dict_expand(h, lp_length(lp) / 2);
    unsigned char fb[LP_INTBUF_SIZE], vb[LP_INTBUF_SIZE];
    for (unsigned char *p = lp_first(lp); p;) {
        unsigned char *q = lp_next(lp, p);
        uint32_t fl, vl;
        const unsigned char *f = lp_get_text(p, &fl, fb);
        const unsigned char *val = lp_get_text(q, &vl, vb);
        int added;
        dict_set(h, (const char *)f, fl, (const char *)val, vl, &added);
        p = lp_next(lp, q);
    }
    lp_free(lp);
    v->enc = H_HT;
    v->obj = h;
}

/* RDB_TYPE_HASH: len, then field, value pairs. */
static int load_hash(rdr_t *d, rval_t *v)
{
    uint64_t len;
    node_t *n = d->n;
    if (rd_plain_len(d, &len)) return LOAD_ERR;
    if (len == 0) return LOAD_EMPTY;
    v->type = KT_HASH;
    if (len > (uint64_t)n->hash_max_listpack_entries) {
        v->enc = H_HT;
        v->obj = dict_create();
        dict_expand(v->obj, hint_of(len));
    } else {
        v->enc = H_LISTPACK;
        v->obj = lp_new(0);
    }
    for (uint64_t i = 0; i < len; i++) {
        size_t fl, vl;
        if (rd_string(d, &d->sb[0], &fl) || rd_string(d, &d->sb[1], &vl))
            return LOAD_ERR;
        const char *f = d->sb[0].p, *val = d->sb[1].p;
        if (v->enc == H_LISTPACK &&
            (fl > (size_t)n->hash_max_listpack_value ||
             vl > (size_t)n->hash_max_listpack_value ||
             lp_bytes(v->obj) + fl + vl > LP_SAFETY_SIZE))
            hash_lp_to_dict(v);
        if (v->enc == H_LISTPACK) {
            unsigned char *lp = v->obj, *p = lp_first(lp);
            if (p && lp_find(lp, p, f, (uint32_t)fl, 1))
                return fail(d, "hash with duplicate fields");
            lp = lp_append(lp, f, (uint32_t)fl);
            v->obj = lp_append(lp, val, (uint32_t)vl);
        } else {
            if (dict_find(v->obj, f, fl))
                return fail(d, "hash with duplicate fields");
            int added;
            dict_set(v->obj, f, fl, val, vl, &added);
        }
    }
    return LOAD_OK;
}

static void set_intset_to_dict(rval_t *v)
{
    intset_t *is = v->obj;
    dict_t *s = dict_create();
    dict_expand(s, intset_len(is));
    int64_t x;
    char buf[24];
    for (uint32_t i = 0; intset_get(is, i, &x); i++) {
        int added;
        dict_add(s, buf, resp_ll2str(buf, x), &added);
    }
    intset_free(is);
    v->enc = S_HT;
    v->obj = s;
}

/* RDB_TYPE_SET: len, then members. */
static int load_set(rdr_t *d, rval_t *v)
{
    uint64_t len;
    long long max = d->n->set_max_intset_entries;
    if (max > INTSET_MAX_CAP) max = INTSET_MAX_CAP;
    if (rd_plain_len(d, &len)) return LOAD_ERR;
    if (len == 0) return LOAD_EMPTY;
    v->type = KT_SET;
    if (len > (uint64_t)max) {
        v->enc = S_HT;
        v->obj = dict_create();
        dict_expand(v->obj, hint_of(len));
    } else {
        v->enc = S_INTSET;
        v->obj = intset_new();
    }
    for (uint64_t i = 0; i < len; i++) {
        size_t l;
        long long x;
        if (rd_string(d, &d->sb[0], &l)) return LOAD_ERR;
        const char *m = d->sb[0].p;
        if (v->enc == S_INTSET && !resp_str2ll(m, l, &x)) set_intset_to_dict(v);
        int added;
        if (v->enc == S_INTSET)
            v->obj = intset_add(v->obj, x, &added);
        else
            dict_add(v->obj, m, l, &added);
        if (!added) return fail(d, "duplicate set members detected");
    }
    return LOAD_OK;
}

/* RDB_TYPE_SET_INTSET: one blob. */
static int load_intset(rdr_t *d, rval_t *v)
{
    unsigned char *b;
    size_t len;
    if (rd_blob(d, &b, &len)) return LOAD_ERR;
    if (len == INTSET_HDR && b[4] == 0 && b[5] == 0 && b[6] == 0 && b[7] == 0) {
        ts_free(b);
        return LOAD_EMPTY;
    }
    if (!intset_validate(b, len, 1)) {
        ts_free(b);
        return fail(d, "intset integrity check failed");
    }
    v->type = KT_SET;
    v->enc = S_INTSET;
    v->obj = intset_from_blob(b, len);
    ts_free(b);
    long long max = d->n->set_max_intset_entries;
    if (max > INTSET_MAX_CAP) max = INTSET_MAX_CAP;
    if (intset_len(v->obj) > (unsigned long long)max) set_intset_to_dict(v);
    return LOAD_OK;
}

/* RDB_TYPE_HASH_LISTPACK: one blob of field, value pairs. */
static int load_hash_listpack(rdr_t *d, rval_t *v, int ziplist)
{
    unsigned char *lp;
    size_t len;
    unsigned long count;
    if (ziplist ? rd_ziplist(d, &lp, &len) : rd_blob(d, &lp, &len))
        return LOAD_ERR;
    if (!lp_validate(lp, len, 1, &count) || count % 2 ||
        lp_has_dup_fields(lp, count)) {
        ts_free(lp);
        return fail(d, "hash listpack integrity check failed");
    }
    if (count == 0) {
        ts_free(lp);
        return LOAD_EMPTY;
    }
    v->type = KT_HASH;
    v->enc = H_LISTPACK;
    v->obj = lp;
    if (count / 2 > (unsigned long long)d->n->hash_max_listpack_entries)
        hash_lp_to_dict(v);
    return LOAD_OK;
}

/* A listpack score entry as a double; 0 if it is not a number. */
static int lp_entry_score(const unsigned char *p, double *score)
{
    uint32_t len;
    long long iv;
    const unsigned char *s = lp_get(p, &len, &iv);
    if (!s) {
        *score = (double)iv;
        return 1;
    }
    char buf[128], *end;
    if (len == 0 || len >= sizeof(buf)) return 0;
    memcpy(buf, s, len);
    buf[len] = '\0';
    *score = strtod(buf, &end);
    return end == buf + len && !isnan(*score);
}

/* Zset listpack: pairs in (score, member) order, no NaN, no duplicate. */
static int zset_lp_ok(unsigned char *lp, unsigned long count)
{
    if (count % 2) return 0;
    unsigned char pb[LP_INTBUF_SIZE], mb[LP_INTBUF_SIZE];
    const unsigned char *pm = NULL;
    uint32_t pl = 0;
    double ps = 0;
    for (unsigned char *p = lp_first(lp); p;) {
        unsigned char *q = lp_next(lp, p);
        double s;
        uint32_t ml;
        if (!q || !lp_entry_score(q, &s)) return 0;
        const unsigned char *m = lp_get_text(p, &ml, pm == pb ? mb : pb);
        if (pm) {
            int c = s < ps ? -1 : s > ps ? 1 : 0;
            if (c == 0) {
                size_t min = ml < pl ? ml : pl;
                c = memcmp(m, pm, min);
                if (c == 0) c = ml < pl ? -1 : ml > pl ? 1 : 0;
            }
            if (c <= 0) return 0;
        }
        pm = m;
        pl = ml;
        ps = s;
        p = lp_next(lp, q);
    }
    return !lp_has_dup_fields(lp, count);
}

/* RDB_TYPE_ZSET_LISTPACK */
static int load_zset_listpack(rdr_t *d, rval_t *v, int ziplist)
{
    unsigned char *lp;
    size_t len;
    unsigned long count;
    if (ziplist ? rd_ziplist(d, &lp, &len) : rd_blob(d, &lp, &len))
        return LOAD_ERR;
    if (!lp_validate(lp, len, 1, &count) || !zset_lp_ok(lp, count)) {
        ts_free(lp);
        return fail(d, "zset listpack integrity check failed");
    }
    if (count == 0) {
        ts_free(lp);
        return LOAD_EMPTY;
    }
    v->type = KT_ZSET;
    v->enc = T_ZSET_ENC_LISTPACK;
    v->obj = lp;
    if (count / 2 > (unsigned long long)d->n->zset_max_listpack_entries) {
        void *zs = t_zset_skiplist_new(count / 2);
        unsigned char buf[LP_INTBUF_SIZE];
        for (unsigned char *p = lp_first(lp); p;) {
            unsigned char *q = lp_next(lp, p);
            uint32_t ml;
            double s = 0;
            const unsigned char *m = lp_get_text(p, &ml, buf);
            lp_entry_score(q, &s);
            t_zset_skiplist_add(zs, (const char *)m, ml, s);
            p = lp_next(lp, q);
        }
        lp_free(lp);
        v->enc = T_ZSET_ENC_SKIPLIST;
        v->obj = zs;
    }
    return LOAD_OK;
}

/* RDB_TYPE_ZSET (text scores) and RDB_TYPE_ZSET_2 (binary doubles). */
static int load_zset(rdr_t *d, rval_t *v, int binary)
{
    uint64_t len;
    if (rd_plain_len(d, &len)) return LOAD_ERR;
    if (len == 0) return LOAD_EMPTY;
    v->type = KT_ZSET;
    v->enc = T_ZSET_ENC_SKIPLIST;
    v->obj = t_zset_skiplist_new(hint_of(len));
    size_t maxlen = 0, total = 0;
    for (uint64_t i = 0; i < len; i++) {
        size_t l;
        double s;
        if (rd_string(d, &d->sb[0], &l)) return LOAD_ERR;
        if (binary ? rd_binary_double(d, &s) : rd_double(d, &s))
            return LOAD_ERR;
        if (isnan(s)) return fail(d, "zset with NAN score detected");
        if (t_zset_skiplist_add(v->obj, d->sb[0].p, l, s))
            return fail(d, "duplicate zset fields detected");
        if (l > maxlen) maxlen = l;
        total += l;
    }
    /* Small sets become listpacks, as zsetConvertToListpackIfNeeded. */
    if (len <= (uint64_t)d->n->zset_max_listpack_entries &&
        maxlen <= (size_t)d->n->zset_max_listpack_value &&
        total < LP_SAFETY_SIZE) {
        v->obj = t_zset_skiplist_to_lp(v->obj);
        v->enc = T_ZSET_ENC_LISTPACK;
    }
    return LOAD_OK;
}

static const char *type_name(int type)
{
    switch (type) {
    case RDB_TYPE_HASH_ZIPMAP: return "zipmap hash (Redis < 2.6)";
    case RDB_TYPE_STREAM_LISTPACKS:
    case RDB_TYPE_STREAM_LISTPACKS_2: return "stream";
    case RDB_TYPE_MODULE:
    case RDB_TYPE_MODULE_2: return "module";
    default: return NULL;
    }
}

/* rdbLoadObject: one value of `type` into v. */
static int load_object(rdr_t *d, int type, rval_t *v)
{
    memset(v, 0, sizeof(*v));
    int rc;
    switch (type) {
    case RDB_TYPE_STRING: {
        /* read into scratch: the keyspace copies the bytes anyway */
        size_t l;
        if (rd_string(d, &d->sb[1], &l)) return LOAD_ERR;
        v->type = KT_STRING;
        v->s = d->sb[1].p;
        v->slen = l;
        return LOAD_OK;
    }
    case RDB_TYPE_LIST: rc = load_list(d, v); break;
    case RDB_TYPE_LIST_QUICKLIST_2: rc = load_quicklist2(d, v); break;
    case RDB_TYPE_SET: rc = load_set(d, v); break;
    case RDB_TYPE_SET_INTSET: rc = load_intset(d, v); break;
    case RDB_TYPE_HASH: rc = load_hash(d, v); break;
    case RDB_TYPE_HASH_LISTPACK: rc = load_hash_listpack(d, v, 0); break;
    case RDB_TYPE_HASH_ZIPLIST: rc = load_hash_listpack(d, v, 1); break;
    case RDB_TYPE_ZSET: rc = load_zset(d, v, 0); break;
    case RDB_TYPE_ZSET_2: rc = load_zset(d, v, 1); break;
    case RDB_TYPE_ZSET_LISTPACK: rc = load_zset_listpack(d, v, 0); break;
    case RDB_TYPE_ZSET_ZIPLIST: rc = load_zset_listpack(d, v, 1); break;
    case RDB_TYPE_LIST_ZIPLIST: rc = load_list_ziplist(d, v); break;
    case RDB_TYPE_LIST_QUICKLIST: rc = load_quicklist1(d, v); break;
    default: {
        const char *name = type_name(type);
        if (name)
            return fail(d, "%s values are not supported by Tessera", name);
        return fail(d, "unknown object type %d", type);
    }
    }
    if (rc != LOAD_OK) rval_free(v);
    return rc;
}

/* ---- LRU / LFU ------------------------------------------------------------
 */

void rdb_set_lru_lfu(node_t *n, kentry_t *e, long long idle, int freq)
{
    long long now_ms = node_unix_ms();
    if (evict_policy_lfu(n)) {
        if (freq >= 0)
            ke_set_lru(e, (uint32_t)((((unsigned long)(now_ms / 60000) & 0xffff)
                                      << 8) |
                                     (unsigned)freq));
    } else if (idle >= 0) {
        const long long max = (1LL << 24) - 1;
        long long clock = (now_ms / 1000) & max;
        long long lru = clock - (idle % (max + 1));
        if (lru < 0) lru += max;
        ke_set_lru(e, (uint32_t)lru);
    }
}

/* ---- whole files ------------------------------------------------------------
 */

static void rdr_deinit(rdr_t *d)
{
    ts_free(d->sb[0].p);
    ts_free(d->sb[1].p);
}

/* The body after the magic: opcodes and keys up to EOF, into ks. */
static int load_body(rdr_t *d, keyspace_t *ks, int version)
{
    node_t *n = d->n;
    long long expire = -1, idle = -1, now = node_unix_ms();
    int freq = -1;
    sbuf_t key = {0};
    long long loaded = 0, expired = 0;
    int rc = -1;

    for (;;) {
        int type;
        uint64_t a, b;
        size_t klen;
        if (rd_u8(d, &type)) goto out;
        switch (type) {
        case RDB_OPCODE_EXPIRETIME: {
            unsigned char t[4];
            if (rd(d, t, 4)) goto out;
            expire = ((long long)t[0] | (long long)t[1] << 8 |
                      (long long)t[2] << 16 | (long long)t[3] << 24) *
                     1000;
            continue;
        }
        case RDB_OPCODE_EXPIRETIME_MS: {
            unsigned char t[8];
            if (rd(d, t, 8)) goto out;
            expire = (long long)le64(t);
            continue;
        }
        case RDB_OPCODE_FREQ:
            if (rd_u8(d, &freq)) goto out;
            continue;
        case RDB_OPCODE_IDLE:
            if (rd_plain_len(d, &a)) goto out;
            idle = a > (uint64_t)LLONG_MAX ? LLONG_MAX : (long long)a;
            continue;
        case RDB_OPCODE_EOF: rc = 0; goto out;
        case RDB_OPCODE_SELECTDB:
            if (rd_plain_len(d, &a)) goto out;
            if (a != 0) {
                fail(d, "database %llu: Tessera has database 0 only",
                     (unsigned long long)a);
                goto out;
            }
            continue;
        case RDB_OPCODE_RESIZEDB:
            if (rd_plain_len(d, &a) || rd_plain_len(d, &b)) goto out;
            continue;
        case RDB_OPCODE_AUX: {
            size_t kl, vl;
            if (rd_string(d, &d->sb[0], &kl) || rd_string(d, &d->sb[1], &vl))
                goto out;
            if (strcmp(d->sb[0].p, "redis-ver") == 0)
                log_msg(LL_NOTICE, "Loading RDB produced by version %s",
                        d->sb[1].p);
            continue;
        }
        case RDB_OPCODE_MODULE_AUX:
            fail(d, "module data is not supported by Tessera");
            goto out;
        case RDB_OPCODE_FUNCTION:
        case RDB_OPCODE_FUNCTION2:
            fail(d, "functions are not supported by Tessera");
            goto out;
        default: break;
        }
        /* a key and its value */
        if (rd_string(d, &key, &klen)) goto out;
        rval_t v;
        int lrc = load_object(d, type, &v);
        if (lrc == LOAD_ERR) goto out;
        if (lrc == LOAD_EMPTY) {
            log_msg(LL_WARNING, "rdbLoadObject skipping empty key: %s", key.p);
        } else if (ks_find(ks, key.p, klen)) {
            rval_free(&v);
            fail(d, "duplicated key '%.64s'", key.p);
            goto out;
        } else if (expire != -1 && expire < now && !repl_is_replica(n)) {
            /* already expired: a master skips it (a replica keeps it and
             * waits for its master's DEL, as Redis) */
            rval_free(&v);
            expired++;
        } else {
            kentry_t *e = rval_store(ks, key.p, klen, &v);
            if (expire != -1) e = ks_set_expire(ks, e, expire);
            rdb_set_lru_lfu(n, e, idle, freq);
            loaded++;
        }
        expire = -1;
        idle = -1;
        freq = -1;
    }
out:
    (void)version;
    ts_free(key.p);
    if (n->rdb) {
        n->rdb->load_keys_loaded = loaded;
        n->rdb->load_keys_expired = expired;
    }
    return rc;
}

int rdb_load_from(node_t *n, rdb_read_fn r, void *arg, char *err, size_t errlen)
{
    rdr_t d = {.n = n, .r = r, .arg = arg, .err = err, .errlen = errlen};
    char magic[10];
    keyspace_t *ks = NULL;
    int rc = -1;

    if (err && errlen) err[0] = '\0';
    if (rd(&d, magic, 9)) goto out;
    magic[9] = '\0';
    if (memcmp(magic, "REDIS", 5) != 0) {
        d.off = 0;
        fail(&d, "wrong signature trying to load DB from file");
        goto out;
    }
    int version = 0;
    for (int i = 5; i < 9; i++) {
        if (magic[i] < '0' || magic[i] > '9') version = -1;
        if (version >= 0) version = version * 10 + (magic[i] - '0');
    }
    if (version < 1 || version > RDB_VERSION) {
        d.off = 5;
        fail(&d, "can't handle RDB format version %.4s", magic + 5);
        goto out;
    }
    ks = ks_create(ks_nslots(n->ks));
    ks_set_lru_clock(ks, evict_new_clock(n, node_unix_ms()));
    if (load_body(&d, ks, version)) goto out;
    if (version >= 5) {
        uint64_t expect = d.crc;
        unsigned char c[8];
        if (rd(&d, c, 8)) goto out;
        uint64_t got = le64(c);
        if (got == 0) {
            log_msg(LL_WARNING, "RDB file was saved with checksum disabled: "
                                "no check performed.");
        } else if (n->rdbchecksum && got != expect) {
            d.off -= 8;
            fail(&d, "wrong RDB checksum (expected %016llx, got %016llx)",
                 (unsigned long long)expect, (unsigned long long)got);
            goto out;
        }
    }
    /* Success: the new keyspace replaces the (empty) old one. */
    ks_destroy(n->ks);
    n->ks = ks;
    ks = NULL;
    rc = 0;
out:
    if (ks) ks_destroy(ks);
    rdr_deinit(&d);
    return rc;
}

static int file_read(void *arg, void *buf, size_t len)
{
    return fread(buf, 1, len, arg) == len ? 0 : -1;
}

int rdb_load_file(node_t *n, const char *path, char *err, size_t errlen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        if (errno == ENOENT) return 1;
        snprintf(err, errlen, "Can't open %s: %s", path, strerror(errno));
        return -1;
    }
    setvbuf(f, NULL, _IOFBF, 1 << 16);
    if (n->rdb) n->rdb->loading = 1;
    int rc = rdb_load_from(n, file_read, f, err, errlen);
    if (n->rdb) n->rdb->loading = 0;
    fclose(f);
    return rc;
}

/* ---- DUMP payloads
 * ------------------------------------------------------------ */

int rdb_verify_payload(const unsigned char *p, size_t len)
{
    if (len < 10) return 0;
    const unsigned char *footer = p + len - 10;
    unsigned ver = footer[0] | (unsigned)footer[1] << 8;
    if (ver > RDB_VERSION) return 0;
    return crc64(0, p, len - 8) == le64(footer + 2);
}

typedef struct memrd {
    const unsigned char *p;
    size_t left;
} memrd_t;

static int mem_read(void *arg, void *buf, size_t len)
{
    memrd_t *m = arg;
    if (len > m->left) return -1;
    memcpy(buf, m->p, len);
    m->p += len;
    m->left -= len;
    return 0;
}

int rdb_restore_payload(node_t *n, const char *key, size_t klen,
                        const unsigned char *p, size_t len, kentry_t **out)
{
    /* As Redis, the reader spans the whole payload, trailer included: an
     * object may (wrongly) run into the trailer's bytes. */
    memrd_t m = {p, len};
    rdr_t d = {.n = n, .r = mem_read, .arg = &m};
    int type;
    rval_t v;
    int rc = -1;
    if (len < 10) return -1;
    if (rd_u8(&d, &type) == 0 && load_object(&d, type, &v) == LOAD_OK) {
        if (key) {
            kentry_t *e = rval_store(n->ks, key, klen, &v);
            if (out) *out = e;
        } else {
            rval_free(&v);
        }
        rc = 0;
    }
    rdr_deinit(&d);
    return rc;
}
