/*
 * keyspace.c: the node's keys and values (API and contracts in keyspace.h).
 *
 * Memory is the point of this file.  Redis spends ~100 bytes on a key like
 * "key:0000000" with a 16-byte value: a 24-byte dictEntry (in jemalloc's
 * 32-byte class), a 16-byte sds key, a 48-byte embstr robj and an 8-byte
 * bucket.  Here the same key is one 48-byte allocation plus its bucket:
 *
 *    offset 0   next         8   bucket chain (intrusive: no dictEntry)
 *           8   meta         4   lru:24 type:4 enc:4
 *          12   kinfo        4   klen:29 flags:3, or with KF_SHORT
 *                                klen:21 bloblen:8 flags:3
 *          16   [expire      8   absolute Unix ms      ] only if KF_EXPIRE
 *          [24  xidx         4   position in expiry index]
 *          16|28 key bytes   klen
 *          ..   value            KE_INT     int64 (8)
 *                                KE_EMBSTR  u8 length + bytes (1 + len;
 *                                           len <= KE_EMBSTR_MAX)
 *                                KE_RAW     kraw_t * (8): {len, cap, bytes}
 *                                KE_OBJ..   object pointer (8)
 *                                KF_BLOB    any type's small encoded
 *                                           value: its bytes (KF_SHORT:
 *                                           the length is in kinfo), or
 *                                           u32 length + bytes
 *
 *    16 + 11 ("key:0000000") + 1 + 16 = 44 bytes: the 48-byte class.
 *
 * Bytes are saved on lengths because jemalloc's classes are close together
 * for small sizes (..., 96, 112, 128, 160, ...): a sorted set of 10
 * members with integer scores is 16 + 11 + 101 (its pack) = 128 bytes,
 * which a 4-byte length would push into the 160-byte class.  A blob of up
 * to 255 bytes in the entry of a key shorter than 2 MB is "short": its
 * length takes the top 8 bits of klen's field, which such a key does not
 * need (KF_SHORT, the top bit of kinfo, says so; e_klen masks them off).
 * A blob switches forms when a resize crosses 255 bytes.
 *
 * Nothing after offset 16 is aligned, so those fields are read and written
 * with memcpy (which compiles to plain moves).  The hash is not stored:
 * lookups compare lengths first, then bytes, and rehashing hashes again.
 * Keys without a TTL pay nothing for TTL support; setting or removing a TTL
 * reallocates the entry 12 bytes larger or smaller.
 *
 * Because an entry may move when its value, key or TTL changes size, every
 * function that reallocates one first finds the link that points at it
 * (bucket slot or previous entry's next) and the expiry index slot, and
 * rewrites both.  Rehashing only relinks entries, it never moves them.
 *
 * Tables: one per hash slot (16384 in cluster mode, else one), created on
 * the first insert and freed when the slot empties.  Each is Redis's dict:
 * chained, power-of-two sizes, two arrays while rehashing incrementally
 * (one bucket per lookup/insert/delete on that table, plus ks_rehash_step
 * over a list of the tables that are rehashing).  Grows at load factor 1,
 * shrinks below 1/8.
 *
 * Cross-slot structures, sized by nslots and allocated once:
 *  - a Fenwick tree of per-slot key counts, so ks_random picks a slot with
 *    probability proportional to its keys in O(log nslots);
 *  - bitmaps of slots with keys and of slots with TTL keys, so SCAN and the
 *    expiry cycle skip empty slots 64 at a time (and ks_random_volatile
 *    finds the r-th slot with TTL keys by popcount);
 *  - the list of rehashing tables.
 */
#include "keyspace.h"

#include <assert.h>
#include <limits.h>
#include <stdbool.h>
#include <string.h>

#include "alloc.h"
#include "hash.h"
#include "htable.h"
#include "rng.h"
#include "slot.h"

/* ---- entries ---- */

struct kentry {
    kentry_t *next;
    uint32_t meta;          /* lru:24 type:4 enc:4 */
    uint32_t kinfo;         /* klen:29 flags:3 (KF_SHORT: klen:21 bloblen:8) */
    unsigned char d[];      /* [expire, xidx] key value */
};

_Static_assert(sizeof(struct kentry) == 16, "kentry header must be 16 bytes");

#define KF_EXPIRE 1u                 /* expire and xidx fields present */
#define KF_BLOB 2u                   /* value is an embedded blob, not a pointer */
#define KF_SHORT 4u                  /* with KF_BLOB: a short blob (bit 31) */
#define KLEN_MAX ((1u << 29) - 1)
#define SHORT_KLEN_MAX ((1u << 21) - 1) /* keys whose blob may be short */
#define SHORT_BLOB_MAX 255u          /* longest short blob */
#define SHORT_SHIFT 21               /* a short blob's length in kinfo */
#define EXP_FIELDS 12                /* int64 expire + uint32 xidx */
#define HDR sizeof(struct kentry)

typedef struct kraw {
    size_t len;
    size_t cap;
    char buf[];
} kraw_t;

static ks_free_obj_fn *obj_free_fn;

/* The key's length: 29 bits, or 21 with KF_SHORT (bit 31), whose entry
 * keeps its blob's length in the 8 bits above. */
static inline size_t e_klen(const kentry_t *e)
{
    uint32_t k = e->kinfo;
    return k & (KLEN_MAX >> ((k >> 31) << 3));
}
static inline bool e_has_exp(const kentry_t *e)
{
    return (e->kinfo >> 29) & KF_EXPIRE;
}
/* e_klen(e) == klen, cheaper in a chain walk: the low 21 bits (all of a
 * short blob entry's klen) decide most mismatches. */
static inline bool e_klen_is(const kentry_t *e, size_t klen)
{
    uint32_t k = e->kinfo;
    if ((k & SHORT_KLEN_MAX) != (klen & SHORT_KLEN_MAX)) return false;
    return k >> 31 ? klen <= SHORT_KLEN_MAX : (k & KLEN_MAX) == klen;
}
static inline bool e_is_blob(const kentry_t *e)
{
    return (e->kinfo >> 29) & KF_BLOB;
}
static inline bool e_is_short(const kentry_t *e)
{
    return (e->kinfo >> 29) & KF_SHORT;
}
static inline unsigned e_type(const kentry_t *e) { return (e->meta >> 24) & 15; }
static inline unsigned e_enc(const kentry_t *e) { return e->meta >> 28; }

static inline void e_set_te(kentry_t *e, unsigned type, unsigned enc)
{
    e->meta = (e->meta & 0xffffffu) | (type << 24) | (enc << 28);
}

static inline unsigned char *e_keyp(const kentry_t *e)
{
    return (unsigned char *)e->d + (e_has_exp(e) ? EXP_FIELDS : 0);
}

static inline unsigned char *e_valp(const kentry_t *e)
{
    return e_keyp(e) + e_klen(e);
}

static inline uint32_t e_xidx(const kentry_t *e)
{
    uint32_t i;
    memcpy(&i, e->d + 8, 4);
    return i;
}

static inline void e_set_xidx(kentry_t *e, uint32_t i)
{
    memcpy(e->d + 8, &i, 4);
}

static inline void *e_ptr(const kentry_t *e)
{
    void *p;
    memcpy(&p, e_valp(e), sizeof(p));
    return p;
}

static inline void e_set_ptr(kentry_t *e, void *p)
{
    memcpy(e_valp(e), &p, sizeof(p));
}

/* Bytes of the length field of a blob of len bytes in the entry of a key
 * of klen bytes (0: short, the length is in kinfo). */
static inline size_t blob_hdr(size_t len, size_t klen)
{
    return len <= SHORT_BLOB_MAX && klen <= SHORT_KLEN_MAX ? 0 : 4;
}

/* A blob's length field's size and value; e must hold a blob. */
static inline size_t e_blob_hdr(const kentry_t *e)
{
    return e_is_short(e) ? 0 : 4;
}

static inline size_t e_blob_len(const kentry_t *e)
{
    if (e_is_short(e)) return (e->kinfo >> SHORT_SHIFT) & 0xff;
    uint32_t n;
    memcpy(&n, e_valp(e), 4);
    return n;
}

/* Set kinfo's flags other than KF_EXPIRE for a value that is no blob
 * (blob false), a blob with a u32 length (shrt false) or a short blob of
 * len bytes. */
static inline void e_set_blob_info(kentry_t *e, bool blob, bool shrt,
                                   size_t len)
{
    uint32_t k = (uint32_t)e_klen(e) | (e->kinfo & (KF_EXPIRE << 29));
    if (blob) k |= KF_BLOB << 29;
    if (shrt) k |= KF_SHORT << 29 | (uint32_t)len << SHORT_SHIFT;
    e->kinfo = k;
}

/* Bytes of value stored in the entry. */
static inline size_t e_vsize(const kentry_t *e)
{
    if (e_is_blob(e)) return e_blob_hdr(e) + e_blob_len(e);
    if (e_enc(e) == KE_EMBSTR) return 1 + (size_t)e_valp(e)[0];
    return 8;
}

/* Does the entry point at a value it owns (RAW string or object)? */
static inline bool e_owns_ptr(const kentry_t *e)
{
    return e_enc(e) >= KE_RAW && !e_is_blob(e);
}

static inline size_t e_size(const kentry_t *e)
{
    return HDR + (e_has_exp(e) ? EXP_FIELDS : 0) + e_klen(e) + e_vsize(e);
}

/* A value about to be stored: what goes after the key. */
typedef struct kval {
    unsigned type, enc;
    bool blob;              /* s/slen are an embedded blob */
    size_t vsize;
    long long iv;           /* KE_INT */
    const char *s;          /* KE_EMBSTR and blobs (s may be NULL: zeroed) */
    size_t slen;
    void *ptr;              /* KE_RAW (kraw_t *) and objects */
} kval_t;

static void val_write(kentry_t *e, const kval_t *v)
{
    size_t klen = e_klen(e);
    unsigned char *p = e_keyp(e) + klen;
    e_set_te(e, v->type, v->enc);
    if (v->blob) {
        size_t n = v->slen, h = blob_hdr(n, klen);
        uint32_t k = (uint32_t)klen | (e->kinfo & (KF_EXPIRE << 29)) |
                     KF_BLOB << 29;
        if (!h) k |= KF_SHORT << 29 | (uint32_t)n << SHORT_SHIFT;
        e->kinfo = k;
        if (h) {
            uint32_t n32 = (uint32_t)n;
            memcpy(p, &n32, 4);
        }
        if (n && v->s)
            memcpy(p + h, v->s, n);
        else if (n)
            memset(p + h, 0, n);
        return;
    }
    if (e->kinfo >> 30) /* KF_BLOB or KF_SHORT: it held a blob */
        e_set_blob_info(e, false, false, 0);
    if (v->enc == KE_INT) {
        int64_t i = v->iv;
        memcpy(p, &i, 8);
    } else if (v->enc == KE_EMBSTR) {
        p[0] = (unsigned char)v->slen;
        if (v->slen) memcpy(p + 1, v->s, v->slen);
    } else {
        memcpy(p, &v->ptr, sizeof(v->ptr));
    }
}

static void val_free(unsigned type, unsigned enc, void *ptr)
{
    if (enc == KE_RAW)
        ts_free(ptr);
    else if (enc >= KE_OBJ && obj_free_fn)
        obj_free_fn((int)type, (int)enc, ptr);
}

/* A RAW buffer holding at least `cap` bytes; cap is what the allocator
 * really gave, so growth uses the whole size class. */
static kraw_t *raw_alloc(size_t cap)
{
    kraw_t *r = ts_malloc(sizeof(kraw_t) + cap);
    r->cap = ts_usable_size(r) - sizeof(kraw_t);
    r->len = 0;
    return r;
}

/* sds-style greedy growth: double up to 1 MB, then 1 MB at a time. */
static size_t raw_greedy(size_t need)
{
    const size_t mb = 1024 * 1024;
    return need < mb ? (need ? need * 2 : 16) : need + mb;
}

/*
 * Strict string -> long long, as Redis's string2ll: optional '-', digits,
 * no leading zeros (except "0" itself), no "-0", no spaces or '+', no
 * overflow.  Exactly the strings that a later ll2str gives back unchanged.
 */
static bool str2ll(const char *s, size_t n, long long *out)
{
    if (n == 0 || n > 20) return false;
    if (n == 1 && s[0] == '0') {
        *out = 0;
        return true;
    }
    size_t i = 0;
    bool neg = false;
    if (s[0] == '-') {
        neg = true;
        if (++i == n) return false;
    }
    if (s[i] < '1' || s[i] > '9') return false;
    unsigned long long v = 0;
    for (; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        unsigned d = (unsigned)(s[i] - '0');
        if (v > (~0ULL - d) / 10) return false;
        v = v * 10 + d;
    }
    if (neg) {
        if (v > (unsigned long long)LLONG_MAX + 1) return false;
        *out = v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN
                                                      : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX) return false;
        *out = (long long)v;
    }
    return true;
}

/* Decimal text of v into buf (>= 21 bytes); returns the length. */
static size_t ll2str(char *buf, long long v)
{
    char tmp[24];
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    size_t len = 0;
    if (v < 0) buf[len++] = '-';
    while (n) buf[len++] = tmp[--n];
    buf[len] = '\0';
    return len;
}

/* ---- tables ---- */

typedef struct ktable {
    kentry_t **ht[2];       /* ht[1] only while rehashing */
    size_t used[2];
    int64_t rehashidx;      /* next ht[0] bucket to move, -1 if not rehashing */
    kentry_t **xv;          /* expiry index: entries with a TTL */
    uint32_t xn, xcap;
    int32_t rpos;           /* position in ks->rehashing, -1 if absent */
    uint8_t bits[2];        /* log2 of each array's size */
} ktable_t;

#define TABLE_MIN_BITS 2
#define SLOT_BITS 14        /* cluster SCAN cursor: (table cursor << 14) | slot */
#define FORCE_RATIO 4       /* grow anyway past this load when resize is off */

struct keyspace {
    ktable_t **slots;
    unsigned nslots;
    unsigned nwords;        /* 64-bit words in each bitmap */
    size_t count;           /* keys */
    size_t nexpires;        /* keys with a TTL */
    unsigned nttlslots;     /* slots with TTL keys */
    unsigned xcursor;       /* next slot for the expiry cycle */
    unsigned nrehashing;
    uint32_t *rehashing;    /* slots whose table is rehashing */
    uint64_t *fw;           /* Fenwick tree over slot key counts, 1-based */
    uint64_t *keymap;       /* bit per slot: has keys */
    uint64_t *ttlmap;       /* bit per slot: has keys with a TTL */
    size_t overhead;        /* bytes in everything but entries and values */
    uint64_t rng;           /* xorshift64* state */
    int pause;              /* > 0: no rehash, resize or table free (scan) */
    bool resize_allowed;
    uint32_t lru_clock;     /* stamped on entries when written */
    struct slot_hint {      /* ks_slot_hint_add: slots already computed */
        const char *key;
        size_t klen;
        unsigned slot;
    } hints[KS_SLOT_HINTS];
    int nhints;
};

/* Allocation of table structures, counted in ks->overhead. */
static void *ov_calloc(keyspace_t *ks, size_t n, size_t size)
{
    void *p = ts_calloc(n, size);
    ks->overhead += ts_usable_size(p);
    return p;
}

static void *ov_realloc(keyspace_t *ks, void *p, size_t size)
{
    ks->overhead -= ts_usable_size(p);
    p = ts_realloc(p, size);
    ks->overhead += ts_usable_size(p);
    return p;
}

static void ov_free(keyspace_t *ks, void *p)
{
    ks->overhead -= ts_usable_size(p);
    ts_free(p);
}

static inline size_t t_used(const ktable_t *t) { return t->used[0] + t->used[1]; }
static inline bool t_rehashing(const ktable_t *t) { return t->rehashidx >= 0; }
static inline size_t t_size(const ktable_t *t, int i)
{
    return t->ht[i] ? (size_t)1 << t->bits[i] : 0;
}
static inline size_t t_mask(const ktable_t *t, int i)
{
    return ((size_t)1 << t->bits[i]) - 1;
}

static inline uint64_t rng_next(keyspace_t *ks) { return rng_step(&ks->rng); }

/* Uniform in [0, n) without a division (Lemire's multiply-shift). */
static inline size_t rng_below(keyspace_t *ks, size_t n)
{
    return (size_t)(((rng_next(ks) >> 32) * (uint64_t)n) >> 32);
}

static inline void bit_set(uint64_t *bm, unsigned i) { bm[i >> 6] |= 1ULL << (i & 63); }
static inline void bit_clear(uint64_t *bm, unsigned i) { bm[i >> 6] &= ~(1ULL << (i & 63)); }

/* First set bit at or after `from`, or -1. */
static long bit_next(const uint64_t *bm, unsigned nwords, unsigned from)
{
    unsigned w = from >> 6;
    if (w >= nwords) return -1;
    uint64_t word = bm[w] & (~0ULL << (from & 63));
    for (;;) {
        if (word) return (long)(w * 64 + (unsigned)__builtin_ctzll(word));
        if (++w == nwords) return -1;
        word = bm[w];
    }
}

static void fw_add(keyspace_t *ks, unsigned slot, int64_t delta)
{
    if (!ks->fw) return;
    for (unsigned i = slot + 1; i <= ks->nslots; i += i & (0u - i))
        ks->fw[i] += (uint64_t)delta;
}

/* Slot holding the r-th key (0-based) in slot order. */
static unsigned fw_find(const keyspace_t *ks, uint64_t r)
{
    unsigned pos = 0;
    for (unsigned step = ks->nslots; step; step >>= 1) {
        if (pos + step <= ks->nslots && ks->fw[pos + step] <= r) {
            pos += step;
            r -= ks->fw[pos];
        }
    }
    return pos;
}

/* Key count of a slot changed by delta (table counters already updated). */
static void slot_count(keyspace_t *ks, unsigned slot, const ktable_t *t,
                       int64_t delta)
{
    ks->count += (size_t)delta;
    fw_add(ks, slot, delta);
    if (t_used(t) == 0)
        bit_clear(ks->keymap, slot);
    else
        bit_set(ks->keymap, slot);
}

static void rh_add(keyspace_t *ks, unsigned slot, ktable_t *t)
{
    assert(t->rpos < 0);
    t->rpos = (int32_t)ks->nrehashing;
    ks->rehashing[ks->nrehashing++] = slot;
}

static void rh_remove(keyspace_t *ks, ktable_t *t)
{
    if (t->rpos < 0) return;
    uint32_t last = ks->rehashing[--ks->nrehashing];
    if ((unsigned)t->rpos != ks->nrehashing) {
        ks->rehashing[t->rpos] = last;
        ks->slots[last]->rpos = t->rpos;
    }
    t->rpos = -1;
}

static ktable_t *table_create(keyspace_t *ks, unsigned slot)
{
    ktable_t *t = ov_calloc(ks, 1, sizeof(*t));
    t->bits[0] = TABLE_MIN_BITS;
    t->ht[0] = ov_calloc(ks, (size_t)1 << TABLE_MIN_BITS, sizeof(kentry_t *));
    t->rehashidx = -1;
    t->rpos = -1;
    ks->slots[slot] = t;
    return t;
}

static void table_free(keyspace_t *ks, unsigned slot, ktable_t *t)
{
    assert(t_used(t) == 0 && t->xn == 0);
    rh_remove(ks, t);
    ov_free(ks, t->ht[0]);
    ov_free(ks, t->ht[1]);
    ov_free(ks, t->xv);
    ov_free(ks, t);
    ks->slots[slot] = NULL;
}

static unsigned bits_for(size_t n)
{
    unsigned b = TABLE_MIN_BITS;
    while (((size_t)1 << b) < n) b++;
    return b;
}

/* Start moving to a table of 2^bits buckets. */
static void table_resize(keyspace_t *ks, unsigned slot, ktable_t *t,
                         unsigned bits)
{
    assert(!t_rehashing(t));
    if (bits == t->bits[0]) return;
    kentry_t **n = ov_calloc(ks, (size_t)1 << bits, sizeof(kentry_t *));
    if (t->used[0] == 0) {
        ov_free(ks, t->ht[0]);
        t->ht[0] = n;
        t->bits[0] = (uint8_t)bits;
        return;
    }
    t->ht[1] = n;
    t->bits[1] = (uint8_t)bits;
    t->rehashidx = 0;
    rh_add(ks, slot, t);
}

/*
 * Move up to `moves` non-empty buckets from ht[0] to ht[1], visiting at
 * most `visits` buckets in all (empty ones included).  Finishes the
 * rehash when ht[0] is empty.  Returns the buckets visited.
 */
static size_t table_rehash(keyspace_t *ks, ktable_t *t, size_t moves,
                           size_t visits)
{
    size_t visited = 0;
    size_t m1 = t_mask(t, 1);
    while (moves && visited < visits && t->used[0]) {
        size_t idx = (size_t)t->rehashidx;
        assert(idx < t_size(t, 0));
        kentry_t *e = t->ht[0][idx];
        visited++;
        t->rehashidx++;
        if (!e) continue;
        while (e) {
            kentry_t *next = e->next;
            size_t b = hash_bytes(e_keyp(e), e_klen(e)) & m1;
            e->next = t->ht[1][b];
            t->ht[1][b] = e;
            t->used[0]--;
            t->used[1]++;
            e = next;
        }
        t->ht[0][idx] = NULL;
        moves--;
    }
    if (t->used[0] == 0) {
        ov_free(ks, t->ht[0]);
        t->ht[0] = t->ht[1];
        t->bits[0] = t->bits[1];
        t->used[0] = t->used[1];
        t->ht[1] = NULL;
        t->bits[1] = 0;
        t->used[1] = 0;
        t->rehashidx = -1;
        rh_remove(ks, t);
    }
    return visited;
}

/* The step of rehash work every operation on a table does. */
static inline void table_step(keyspace_t *ks, ktable_t *t)
{
    if (t_rehashing(t) && !ks->pause) table_rehash(ks, t, 1, 10);
}

static void table_grow_if_needed(keyspace_t *ks, unsigned slot, ktable_t *t)
{
    if (t_rehashing(t)) return;
    size_t size = t_size(t, 0);
    if (t->used[0] < size) return;
    if (!ks->resize_allowed && t->used[0] / size <= FORCE_RATIO) return;
    table_resize(ks, slot, t, bits_for(t->used[0] + 1));
}

/* After keys left a table: free it if empty, else maybe shrink it. */
static void table_after_delete(keyspace_t *ks, unsigned slot, ktable_t *t)
{
    if (ks->pause) return;
    if (t_used(t) == 0) {
        table_free(ks, slot, t);
        return;
    }
    if (t_rehashing(t)) return;
    size_t size = t_size(t, 0);
    if (size <= ((size_t)1 << TABLE_MIN_BITS) || t->used[0] * 8 >= size)
        return;
    if (!ks->resize_allowed && t->used[0] * 32 >= size) return;
    table_resize(ks, slot, t, bits_for(t->used[0]));
}

/* Link to the entry with this key, or NULL; *which = its array. */
static kentry_t **lookup(ktable_t *t, const char *key, size_t klen,
                         uint64_t h, int *which)
{
    for (int i = 0; i < 2; i++) {
        size_t idx = h & t_mask(t, i);
        if (i == 0 && t_rehashing(t) && (int64_t)idx < t->rehashidx) {
            continue;       /* already moved to ht[1] */
        }
        for (kentry_t **l = &t->ht[i][idx]; *l; l = &(*l)->next) {
            kentry_t *e = *l;
            if (e_klen_is(e, klen) && memcmp(e_keyp(e), key, klen) == 0) {
                *which = i;
                return l;
            }
        }
        if (!t_rehashing(t)) break;
    }
    return NULL;
}

/* Link to this very entry (must be in t). */
static kentry_t **link_of(ktable_t *t, const kentry_t *e, int *which)
{
    uint64_t h = hash_bytes(e_keyp(e), e_klen(e));
    for (int i = 0; i < 2 && t->ht[i]; i++) {
        for (kentry_t **l = &t->ht[i][h & t_mask(t, i)]; *l;
             l = &(*l)->next) {
            if (*l == e) {
                *which = i;
                return l;
            }
        }
    }
    assert(!"entry not in its slot's table");
    return NULL;
}

/* ---- expiry index ---- */

static inline long long e_expire(const kentry_t *e)
{
    int64_t when;
    memcpy(&when, e->d, 8);
    return when;
}

static void xv_add(keyspace_t *ks, unsigned slot, ktable_t *t, kentry_t *e)
{
    if (t->xn == t->xcap) {
        assert(t->xcap < UINT32_MAX / 2);
        t->xcap = t->xcap ? t->xcap * 2 : 4;
        t->xv = ov_realloc(ks, t->xv, t->xcap * sizeof(kentry_t *));
    }
    e_set_xidx(e, t->xn);
    t->xv[t->xn++] = e;
    ks->nexpires++;
    if (t->xn == 1) {
        bit_set(ks->ttlmap, slot);
        ks->nttlslots++;
    }
}

static void xv_remove(keyspace_t *ks, unsigned slot, ktable_t *t,
                      const kentry_t *e)
{
    uint32_t i = e_xidx(e);
    assert(i < t->xn && t->xv[i] == e);
    kentry_t *last = t->xv[--t->xn];
    if (last != e) {
        t->xv[i] = last;
        e_set_xidx(last, i);
    }
    ks->nexpires--;
    if (t->xn == 0) {
        bit_clear(ks->ttlmap, slot);
        ks->nttlslots--;
        ov_free(ks, t->xv);
        t->xv = NULL;
        t->xcap = 0;
    } else if (t->xcap > 16 && t->xn < t->xcap / 4) {
        t->xcap /= 2;
        t->xv = ov_realloc(ks, t->xv, t->xcap * sizeof(kentry_t *));
    }
}

/* ---- linking entries in and out ---- */

static void link_entry(keyspace_t *ks, unsigned slot, ktable_t *t,
                       kentry_t *e, uint64_t h)
{
    int i = t_rehashing(t) ? 1 : 0;
    kentry_t **b = &t->ht[i][h & t_mask(t, i)];
    e->next = *b;
    *b = e;
    t->used[i]++;
    slot_count(ks, slot, t, 1);
    if (e_has_exp(e)) xv_add(ks, slot, t, e);
}

/* Take *link's entry out of its chain and the expiry index; the caller
 * frees or reuses it and then calls table_after_delete. */
static kentry_t *unlink_entry(keyspace_t *ks, unsigned slot, ktable_t *t,
                              kentry_t **link, int which)
{
    kentry_t *e = *link;
    *link = e->next;
    t->used[which]--;
    slot_count(ks, slot, t, -1);
    if (e_has_exp(e)) xv_remove(ks, slot, t, e);
    return e;
}

/*
 * Reallocate e to `size` bytes and repoint whatever points at it (its link
 * and, with a TTL, its expiry index slot).  The caller has already moved
 * bytes that must end up before `size`.
 */
static kentry_t *entry_realloc(ktable_t *t, kentry_t **link, kentry_t *e,
                               size_t size)
{
    uintptr_t old = (uintptr_t)e;
    kentry_t *n = ts_realloc(e, size);
    if ((uintptr_t)n != old) {
        *link = n;
        if (e_has_exp(n)) t->xv[e_xidx(n)] = n;
    }
    return n;
}

static void delete_at(keyspace_t *ks, unsigned slot, ktable_t *t,
                      kentry_t **link, int which)
{
    kentry_t *e = unlink_entry(ks, slot, t, link, which);
    if (e_owns_ptr(e)) val_free(e_type(e), e_enc(e), e_ptr(e));
    ts_free(e);
    table_after_delete(ks, slot, t);
}

/* ---- keyspace ---- */

void ks_set_obj_free(ks_free_obj_fn *fn)
{
    obj_free_fn = fn;
}

keyspace_t *ks_create(unsigned nslots)
{
    assert(nslots == 1 || nslots == SLOT_COUNT);
    keyspace_t *ks = ts_calloc(1, sizeof(*ks));
    ks->overhead = ts_usable_size(ks);
    ks->nslots = nslots;
    ks->nwords = (nslots + 63) / 64;
    ks->slots = ov_calloc(ks, nslots, sizeof(ktable_t *));
    ks->rehashing = ov_calloc(ks, nslots, sizeof(uint32_t));
    ks->keymap = ov_calloc(ks, ks->nwords, sizeof(uint64_t));
    ks->ttlmap = ov_calloc(ks, ks->nwords, sizeof(uint64_t));
    if (nslots > 1) ks->fw = ov_calloc(ks, nslots + 1, sizeof(uint64_t));
    ks->rng = 0x9e3779b97f4a7c15ULL ^ (uint64_t)(uintptr_t)ks;
    if (!ks->rng) ks->rng = 1;
    ks->resize_allowed = true;
    return ks;
}

void ks_destroy(keyspace_t *ks)
{
    if (!ks) return;
    ks_clear(ks);
    ts_free(ks->slots);
    ts_free(ks->rehashing);
    ts_free(ks->keymap);
    ts_free(ks->ttlmap);
    ts_free(ks->fw);
    ts_free(ks);
}

void ks_set_resize_allowed(keyspace_t *ks, int allowed)
{
    ks->resize_allowed = allowed != 0;
}

unsigned ks_nslots(const keyspace_t *ks) { return ks->nslots; }

unsigned ks_slot_of(const keyspace_t *ks, const char *key, size_t klen)
{
    if (ks->nslots == 1) return 0;
    for (int i = 0; i < ks->nhints; i++)
        if (ks->hints[i].key == key && ks->hints[i].klen == klen)
            return ks->hints[i].slot;
    return slot_for_key(key, klen);
}

void ks_slot_hint_add(keyspace_t *ks, const char *key, size_t klen,
                      unsigned slot)
{
    if (ks->nhints == KS_SLOT_HINTS) return;
    ks->hints[ks->nhints].key = key;
    ks->hints[ks->nhints].klen = klen;
    ks->hints[ks->nhints].slot = slot;
    ks->nhints++;
}

void ks_slot_hint_clear(keyspace_t *ks)
{
    ks->nhints = 0;
}

size_t ks_size(const keyspace_t *ks) { return ks->count; }

size_t ks_slot_size(const keyspace_t *ks, unsigned slot)
{
    if (slot >= ks->nslots || !ks->slots[slot]) return 0;
    return t_used(ks->slots[slot]);
}

size_t ks_expires_size(const keyspace_t *ks) { return ks->nexpires; }

kentry_t *ks_find(keyspace_t *ks, const char *key, size_t klen)
{
    ktable_t *t = ks->slots[ks_slot_of(ks, key, klen)];
    if (!t) return NULL;
    table_step(ks, t);
    int which;
    kentry_t **l = lookup(t, key, klen, hash_bytes(key, klen), &which);
    return l ? *l : NULL;
}

/* Replace the value of the entry at *link (overwrite path of ks_set_*). */
static kentry_t *overwrite(keyspace_t *ks, unsigned slot, ktable_t *t,
                           kentry_t **link, kval_t *v, int keep_ttl)
{
    kentry_t *e = *link;
    unsigned otype = e_type(e), oenc = e_enc(e);
    void *optr = e_owns_ptr(e) ? e_ptr(e) : NULL;
    char tmp[KE_EMBSTR_MAX];
    char *heap = NULL;
    size_t osize = e_size(e);

    /* The new bytes may live inside the entry we are about to realloc. */
    if (v->enc == KE_EMBSTR && !v->blob && v->slen) {
        memcpy(tmp, v->s, v->slen);
        v->s = tmp;
    } else if (v->blob && v->s && v->slen &&
               (uintptr_t)v->s < (uintptr_t)e + osize &&
               (uintptr_t)v->s + v->slen > (uintptr_t)e) {
        heap = ts_malloc(v->slen);
        memcpy(heap, v->s, v->slen);
        v->s = heap;
    }
    if (e_has_exp(e) && !keep_ttl) {
        xv_remove(ks, slot, t, e);
        memmove(e->d, e->d + EXP_FIELDS, e_klen(e));
        e->kinfo &= ~(KF_EXPIRE << 29);
    }
    size_t nsize = HDR + (e_has_exp(e) ? EXP_FIELDS : 0) + e_klen(e) + v->vsize;
    if (nsize != osize) e = entry_realloc(t, link, e, nsize);
    val_write(e, v);
    ke_set_lru(e, ks->lru_clock);   /* a new value is a new object */
    if (optr) val_free(otype, oenc, optr);
    ts_free(heap);
    return e;
}

static kentry_t *set_value(keyspace_t *ks, const char *key, size_t klen,
                           kval_t *v, int keep_ttl)
{
    assert(klen <= KLEN_MAX);
    unsigned slot = ks_slot_of(ks, key, klen);
    uint64_t h = hash_bytes(key, klen);
    ktable_t *t = ks->slots[slot];
    if (t) {
        table_step(ks, t);
        int which;
        kentry_t **l = lookup(t, key, klen, h, &which);
        if (l) return overwrite(ks, slot, t, l, v, keep_ttl);
    } else {
        t = table_create(ks, slot);
    }
    kentry_t *e = ts_malloc(HDR + klen + v->vsize);
    e->meta = ks->lru_clock & 0xffffffu;
    e->kinfo = (uint32_t)klen;
    memcpy(e->d, key, klen);
    val_write(e, v);
    table_grow_if_needed(ks, slot, t);
    link_entry(ks, slot, t, e, h);
    return e;
}

kentry_t *ks_set_str(keyspace_t *ks, const char *key, size_t klen,
                     const char *val, size_t vlen, int keep_ttl)
{
    kval_t v = {.type = KT_STRING};
    if (str2ll(val, vlen, &v.iv)) {
        v.enc = KE_INT;
        v.vsize = 8;
    } else if (vlen <= KE_EMBSTR_MAX) {
        v.enc = KE_EMBSTR;
        v.s = val;
        v.slen = vlen;
        v.vsize = 1 + vlen;
    } else {
        kraw_t *r = raw_alloc(vlen);
        memcpy(r->buf, val, vlen);
        r->len = vlen;
        v.enc = KE_RAW;
        v.ptr = r;
        v.vsize = 8;
    }
    return set_value(ks, key, klen, &v, keep_ttl);
}

kentry_t *ks_set_int(keyspace_t *ks, const char *key, size_t klen,
                     long long iv, int keep_ttl)
{
    kval_t v = {.type = KT_STRING, .enc = KE_INT, .vsize = 8, .iv = iv};
    return set_value(ks, key, klen, &v, keep_ttl);
}

kentry_t *ks_set_obj(keyspace_t *ks, const char *key, size_t klen, int type,
                     int enc, void *obj, int keep_ttl)
{
    assert(type > KT_STRING && type <= 15 && enc >= KE_OBJ && enc <= 15);
    kval_t v = {.type = (unsigned)type, .enc = (unsigned)enc, .vsize = 8,
                .ptr = obj};
    return set_value(ks, key, klen, &v, keep_ttl);
}

kentry_t *ks_set_blob(keyspace_t *ks, const char *key, size_t klen, int type,
                      int enc, const void *bytes, size_t len, int keep_ttl)
{
    assert(type > KT_STRING && type <= 15 && enc >= KE_OBJ && enc <= 15);
    assert(len <= KS_BLOB_MAX);
    kval_t v = {.type = (unsigned)type, .enc = (unsigned)enc, .blob = true,
                .vsize = blob_hdr(len, klen) + len, .s = bytes,
                .slen = len};
    return set_value(ks, key, klen, &v, keep_ttl);
}

int ks_delete(keyspace_t *ks, const char *key, size_t klen)
{
    unsigned slot = ks_slot_of(ks, key, klen);
    ktable_t *t = ks->slots[slot];
    if (!t) return 0;
    table_step(ks, t);
    int which;
    kentry_t **l = lookup(t, key, klen, hash_bytes(key, klen), &which);
    if (!l) return 0;
    delete_at(ks, slot, t, l, which);
    return 1;
}

static void delete_entry_in(keyspace_t *ks, unsigned slot, kentry_t *e)
{
    ktable_t *t = ks->slots[slot];
    table_step(ks, t);
    int which;
    kentry_t **l = link_of(t, e, &which);
    delete_at(ks, slot, t, l, which);
}

void ks_delete_entry(keyspace_t *ks, kentry_t *e)
{
    delete_entry_in(ks, ks_slot_of(ks, (const char *)e_keyp(e), e_klen(e)),
                    e);
}

kentry_t *ks_rename(keyspace_t *ks, kentry_t *src, const char *dst,
                    size_t dlen)
{
    size_t slen = e_klen(src);
    assert(dlen <= KLEN_MAX);
    if (slen == dlen && memcmp(e_keyp(src), dst, dlen) == 0) return src;

    /* Build the moved entry first: dst may point into the entry that the
     * delete below frees.  The value moves untouched (same owner). */
    size_t xoff = e_has_exp(src) ? EXP_FIELDS : 0;
    size_t vsize = e_vsize(src);
    /* a short blob stays short unless the new key is 2 MB or longer */
    bool to_u32 = e_is_short(src) && dlen > SHORT_KLEN_MAX;
    kentry_t *n = ts_malloc(HDR + xoff + dlen + vsize + (to_u32 ? 4 : 0));
    n->meta = src->meta;
    n->kinfo = (uint32_t)dlen | (src->kinfo & ~KLEN_MAX & ~(KF_SHORT << 29));
    memcpy(n->d, src->d, xoff);
    memcpy(n->d + xoff, dst, dlen);
    if (e_is_short(src)) {
        size_t blen = e_blob_len(src);
        e_set_blob_info(n, true, !to_u32, blen);
        if (to_u32) {
            uint32_t n32 = (uint32_t)blen;
            memcpy(n->d + xoff + dlen, &n32, 4);
        }
        memcpy(e_valp(n) + (to_u32 ? 4 : 0), e_valp(src), blen);
    } else {
        memcpy(n->d + xoff + dlen, e_valp(src), vsize);
    }
    const char *nkey = (const char *)n->d + xoff;

    ks_delete(ks, nkey, dlen);

    unsigned sslot = ks_slot_of(ks, (const char *)e_keyp(src), slen);
    ktable_t *st = ks->slots[sslot];
    int which;
    kentry_t **l = link_of(st, src, &which);
    unlink_entry(ks, sslot, st, l, which);
    ts_free(src);
    table_after_delete(ks, sslot, st);

    unsigned dslot = ks_slot_of(ks, nkey, dlen);
    ktable_t *dt = ks->slots[dslot];
    if (!dt) dt = table_create(ks, dslot);
    table_grow_if_needed(ks, dslot, dt);
    link_entry(ks, dslot, dt, n, hash_bytes(nkey, dlen));
    return n;
}

size_t ks_clear_slot(keyspace_t *ks, unsigned slot)
{
    assert(!ks->pause);
    ktable_t *t = slot < ks->nslots ? ks->slots[slot] : NULL;
    if (!t) return 0;
    size_t n = t_used(t);
    for (int i = 0; i < 2; i++) {
        size_t size = t_size(t, i);
        for (size_t b = 0; b < size; b++) {
            kentry_t *e = t->ht[i][b];
            while (e) {
                kentry_t *next = e->next;
                if (e_owns_ptr(e)) val_free(e_type(e), e_enc(e), e_ptr(e));
                ts_free(e);
                e = next;
            }
        }
    }
    if (t->xn) {
        ks->nexpires -= t->xn;
        ks->nttlslots--;
        bit_clear(ks->ttlmap, slot);
        t->xn = 0;
    }
    t->used[0] = t->used[1] = 0;
    slot_count(ks, slot, t, -(int64_t)n);
    table_free(ks, slot, t);
    return n;
}

void ks_clear(keyspace_t *ks)
{
    for (unsigned s = 0; s < ks->nslots; s++)
        if (ks->slots[s]) ks_clear_slot(ks, s);
    assert(ks->count == 0 && ks->nexpires == 0 && ks->nrehashing == 0);
}

/* ---- entry accessors ---- */

const char *ke_key(const kentry_t *e, size_t *klen)
{
    *klen = e_klen(e);
    return (const char *)e_keyp(e);
}

int ke_type(const kentry_t *e) { return (int)e_type(e); }
int ke_enc(const kentry_t *e) { return (int)e_enc(e); }

const char *ke_str(const kentry_t *e, size_t *len, char *scratch)
{
    switch (e_enc(e)) {
    case KE_INT:
        *len = ll2str(scratch, ke_int(e));
        return scratch;
    case KE_EMBSTR:
        *len = e_valp(e)[0];
        return (const char *)e_valp(e) + 1;
    default: {
        assert(e_enc(e) == KE_RAW);
        const kraw_t *r = e_ptr(e);
        *len = r->len;
        return r->buf;
    }
    }
}

long long ke_int(const kentry_t *e)
{
    assert(e_enc(e) == KE_INT);
    int64_t v;
    memcpy(&v, e_valp(e), 8);
    return v;
}

void *ke_obj(const kentry_t *e)
{
    assert(e_enc(e) >= KE_OBJ && !e_is_blob(e));
    return e_ptr(e);
}

void ke_set_obj(kentry_t *e, int enc, void *obj)
{
    assert(e_enc(e) >= KE_OBJ && !e_is_blob(e) && enc >= KE_OBJ && enc <= 15);
    e_set_te(e, e_type(e), (unsigned)enc);
    e_set_ptr(e, obj);
}

size_t ke_mem(const kentry_t *e)
{
    size_t n = ts_usable_size((void *)e);
    if (e_enc(e) == KE_RAW && !e_is_blob(e)) n += ts_usable_size(e_ptr(e));
    return n;
}

uint32_t ke_lru(const kentry_t *e) { return e->meta & 0xffffffu; }

void ks_set_lru_clock(keyspace_t *ks, uint32_t clock)
{
    ks->lru_clock = clock & 0xffffffu;
}

void ke_set_lru(kentry_t *e, uint32_t v)
{
    e->meta = (e->meta & ~0xffffffu) | (v & 0xffffffu);
}

/* Find the slot, table and link of an entry the caller holds. */
static kentry_t **locate(keyspace_t *ks, const kentry_t *e, unsigned *slot,
                         ktable_t **t)
{
    *slot = ks_slot_of(ks, (const char *)e_keyp(e), e_klen(e));
    *t = ks->slots[*slot];
    int which;
    return link_of(*t, e, &which);
}

char *ks_str_writable(keyspace_t *ks, kentry_t **ep, size_t newlen)
{
    kentry_t *e = *ep;
    assert(e_type(e) == KT_STRING);
    if (e_enc(e) == KE_RAW) {
        kraw_t *r = e_ptr(e);
        if (newlen > r->cap) {
            size_t cap = raw_greedy(newlen);
            r = ts_realloc(r, sizeof(kraw_t) + cap);
            r->cap = ts_usable_size(r) - sizeof(kraw_t);
            e_set_ptr(e, r);
        }
        if (newlen > r->len) memset(r->buf + r->len, 0, newlen - r->len);
        r->len = newlen;
        return r->buf;
    }

    char scratch[24];
    size_t olen;
    const char *old = ke_str(e, &olen, scratch);
    kraw_t *r = raw_alloc(raw_greedy(newlen));
    size_t keep = olen < newlen ? olen : newlen;
    memcpy(r->buf, old, keep);
    memset(r->buf + keep, 0, newlen - keep);
    r->len = newlen;

    unsigned slot;
    ktable_t *t;
    kentry_t **l = locate(ks, e, &slot, &t);
    size_t nsize = HDR + (e_has_exp(e) ? EXP_FIELDS : 0) + e_klen(e) + 8;
    if (nsize != e_size(e)) e = entry_realloc(t, l, e, nsize);
    e_set_te(e, KT_STRING, KE_RAW);
    e_set_ptr(e, r);
    *ep = e;
    return r->buf;
}

/* ---- embedded blobs ---- */

int ke_is_blob(const kentry_t *e) { return e_is_blob(e); }

void *ke_blob(const kentry_t *e, size_t *len)
{
    assert(e_is_blob(e));
    uint32_t k = e->kinfo; /* e_valp and e_blob_len, on one branch */
    unsigned char *key = e_keyp(e);
    if (k >> 31) {
        *len = (k >> SHORT_SHIFT) & 0xff;
        return key + (k & SHORT_KLEN_MAX);
    }
    unsigned char *p = key + (k & KLEN_MAX);
    uint32_t n;
    memcpy(&n, p, 4);
    *len = n;
    return p + 4;
}

void *ks_blob_resize(keyspace_t *ks, kentry_t **ep, size_t newlen)
{
    kentry_t *e = *ep;
    assert(e_is_blob(e) && newlen <= KS_BLOB_MAX);
    unsigned slot;
    ktable_t *t;
    uint32_t k = e->kinfo;
    if (k >> 31 && newlen <= SHORT_BLOB_MAX) { /* stays short: most calls */
        size_t olen = (k >> SHORT_SHIFT) & 0xff;
        unsigned char *p = e_keyp(e) + (k & SHORT_KLEN_MAX);
        if (newlen == olen) return p;
        size_t off = (size_t)(p - (unsigned char *)e);
        kentry_t **l = locate(ks, e, &slot, &t);
        e = entry_realloc(t, l, e, off + newlen);
        e->kinfo = (k & ~(0xffu << SHORT_SHIFT)) | (uint32_t)newlen << SHORT_SHIFT;
        p = (unsigned char *)e + off;
        if (newlen > olen) memset(p + olen, 0, newlen - olen);
        *ep = e;
        return p;
    }
    size_t olen = e_blob_len(e), oh = e_blob_hdr(e);
    if (newlen == olen) return e_valp(e) + oh;
    size_t nh = blob_hdr(newlen, e_klen(e));
    kentry_t **l = locate(ks, e, &slot, &t);
    size_t keep = olen < newlen ? olen : newlen;
    size_t nsize = e_size(e) - oh - olen + nh + newlen;
    if (nh < oh) /* becoming short: bytes move down before shrinking */
        memmove(e_valp(e) + nh, e_valp(e) + oh, keep);
    e = entry_realloc(t, l, e, nsize);
    unsigned char *p = e_valp(e);
    if (nh > oh) /* no longer short: bytes move up after growing */
        memmove(p + nh, p + oh, keep);
    e_set_blob_info(e, true, nh == 0, newlen);
    if (nh) {
        uint32_t n = (uint32_t)newlen;
        memcpy(p, &n, 4);
    }
    if (newlen > olen) memset(p + nh + olen, 0, newlen - olen);
    *ep = e;
    return p + nh;
}

void ks_blob_to_obj(keyspace_t *ks, kentry_t **ep, int enc, void *obj)
{
    kentry_t *e = *ep;
    assert(e_is_blob(e) && enc >= KE_OBJ && enc <= 15);
    size_t nsize = e_size(e) - e_vsize(e) + 8;
    if (nsize != e_size(e)) {
        unsigned slot;
        ktable_t *t;
        kentry_t **l = locate(ks, e, &slot, &t);
        /* Shrinking keeps the key and TTL in place; growing (blobs under
         * 4 bytes) adds room past the value. */
        e = entry_realloc(t, l, e, nsize);
    }
    e_set_blob_info(e, false, false, 0);
    e_set_te(e, e_type(e), (unsigned)enc);
    e_set_ptr(e, obj);
    *ep = e;
}

/* ---- expiry ---- */

long long ke_expire(const kentry_t *e)
{
    return e_has_exp(e) ? e_expire(e) : -1;
}

kentry_t *ks_set_expire(keyspace_t *ks, kentry_t *e, long long when_ms)
{
    int64_t when = when_ms;
    if (e_has_exp(e)) {
        memcpy(e->d, &when, 8);
        return e;
    }
    unsigned slot;
    ktable_t *t;
    kentry_t **l = locate(ks, e, &slot, &t);
    size_t tail = e_klen(e) + e_vsize(e);
    e = entry_realloc(t, l, e, e_size(e) + EXP_FIELDS);
    memmove(e->d + EXP_FIELDS, e->d, tail);
    memcpy(e->d, &when, 8);
    e->kinfo |= KF_EXPIRE << 29;
    xv_add(ks, slot, t, e);
    return e;
}

int ks_persist(keyspace_t *ks, kentry_t **ep)
{
    kentry_t *e = *ep;
    if (!e_has_exp(e)) return 0;
    unsigned slot;
    ktable_t *t;
    kentry_t **l = locate(ks, e, &slot, &t);
    xv_remove(ks, slot, t, e);
    size_t tail = e_klen(e) + e_vsize(e);
    memmove(e->d, e->d + EXP_FIELDS, tail);
    e->kinfo &= ~(KF_EXPIRE << 29);
    *ep = entry_realloc(t, l, e, HDR + tail);
    return 1;
}

/*
 * Check the TTL keys of one slot: all of them (newest index first, so the
 * swap-with-last on deletion only brings in entries already checked) when
 * they fit in `want`, else `want` random ones.
 */
static void expire_slot(keyspace_t *ks, unsigned slot, long long now_ms,
                        size_t want, size_t *sampled, size_t *expired,
                        ks_expire_cb *cb, void *arg)
{
    ktable_t *t = ks->slots[slot];
    bool all = t->xn <= want;
    size_t n = all ? t->xn : want;
    for (size_t k = 0; k < n; k++) {
        size_t i = all ? n - 1 - k : rng_below(ks, t->xn);
        kentry_t *e = t->xv[i];
        (*sampled)++;
        if (e_expire(e) > now_ms) continue;
        if (cb) cb(arg, e);
        (*expired)++;
        delete_entry_in(ks, slot, e);
        t = ks->slots[slot];
        if (!t || !t->xn) break;
    }
}

size_t ks_expire_cycle(keyspace_t *ks, long long now_ms, unsigned samples,
                       unsigned max_rounds, ks_expire_cb *cb, void *arg)
{
    size_t total = 0;
    if (!samples) return 0;
    for (unsigned round = 0; round < max_rounds && ks->nexpires; round++) {
        size_t sampled = 0, expired = 0;
        unsigned nvisit = ks->nttlslots;
        for (unsigned v = 0; v < nvisit && sampled < samples && ks->nexpires;
             v++) {
            long s = bit_next(ks->ttlmap, ks->nwords, ks->xcursor);
            if (s < 0) s = bit_next(ks->ttlmap, ks->nwords, 0);
            assert(s >= 0);
            ks->xcursor = (unsigned)s + 1 < ks->nslots ? (unsigned)s + 1 : 0;
            expire_slot(ks, (unsigned)s, now_ms, samples - sampled, &sampled,
                        &expired, cb, arg);
        }
        total += expired;
        if (expired * 4 <= sampled) break;
    }
    return total;
}

/* ---- iteration ---- */

struct scan_ctx {
    ktable_t *t;
    ks_scan_fn *fn;
    void *arg;
};

static void scan_bucket(void *arg, int i, size_t idx)
{
    struct scan_ctx *c = arg;
    kentry_t *e = c->t->ht[i][idx];
    while (e) {
        kentry_t *next = e->next;   /* fn may delete e */
        c->fn(c->arg, e);
        e = next;
    }
}

/* One dictScan step over a slot's table (htable.h). */
static uint64_t table_scan(keyspace_t *ks, unsigned slot, ktable_t *t,
                           uint64_t v, ks_scan_fn *fn, void *arg)
{
    struct scan_ctx c = {t, fn, arg};
    ks->pause++;
    v = ht_scan_step(v, t->bits, t_rehashing(t), scan_bucket, &c);
    ks->pause--;
    table_after_delete(ks, slot, t);
    return v;
}

uint64_t ks_scan(keyspace_t *ks, uint64_t cursor, int slot_only,
                 ks_scan_fn *fn, void *arg)
{
    if (ks->nslots == 1) {
        ktable_t *t = ks->slots[0];
        if (!t || slot_only > 0) return 0;
        return table_scan(ks, 0, t, cursor, fn, arg);
    }

    unsigned slot = (unsigned)(cursor & (SLOT_COUNT - 1));
    uint64_t tc = cursor >> SLOT_BITS;
    if (slot_only >= 0) {
        if ((unsigned)slot_only >= ks->nslots) return 0;
        if (slot != (unsigned)slot_only) tc = 0;
        slot = (unsigned)slot_only;
        ktable_t *t = ks->slots[slot];
        if (!t || !t_used(t)) return 0;
        tc = table_scan(ks, slot, t, tc, fn, arg);
        return tc ? (tc << SLOT_BITS) | slot : 0;
    }

    ktable_t *t = ks->slots[slot];
    if (!t || !t_used(t)) {
        /* The slot emptied under the cursor: nothing to finish there. */
        long s = bit_next(ks->keymap, ks->nwords, slot);
        if (s < 0) return 0;
        slot = (unsigned)s;
        tc = 0;
        t = ks->slots[slot];
    }
    tc = table_scan(ks, slot, t, tc, fn, arg);
    if (tc) return (tc << SLOT_BITS) | slot;
    long s = bit_next(ks->keymap, ks->nwords, slot + 1);
    return s < 0 ? 0 : (uint64_t)s;
}

/*
 * Random key.  Slots are weighted by their key counts; within a table a
 * random bucket, then a random chain position (htable.h: every key equally
 * likely for chains of up to 4, unlike Redis's 1/chain-length bias).
 */
kentry_t *ks_random(keyspace_t *ks, uint64_t (*rnd)(void))
{
    if (!ks->count) return NULL;
    unsigned slot = ks->nslots > 1 ? fw_find(ks, rnd() % ks->count) : 0;
    ktable_t *t = ks->slots[slot];
    assert(t && t_used(t));
    table_step(ks, t);
    for (;;) {
        int i;
        size_t b = ht_random_bucket(t_size(t, 0), t_size(t, 1), t->rehashidx,
                                    rnd, &i);
        kentry_t *e = t->ht[i][b];
        if (!e) continue;
        size_t len = 0;
        for (kentry_t *c = e; c; c = c->next) len++;
        long pick = ht_random_pos(len, rnd);
        if (pick < 0) continue;
        while (pick--) e = e->next;
        return e;
    }
}

/* Position of the r-th (0-based) set bit; r < number of set bits. */
static unsigned bit_select(const uint64_t *bm, unsigned nwords, uint64_t r)
{
    for (unsigned w = 0; w < nwords; w++) {
        uint64_t word = bm[w];
        unsigned pc = (unsigned)__builtin_popcountll(word);
        if (r >= pc) {
            r -= pc;
            continue;
        }
        while (r--) word &= word - 1;     /* drop the lowest set bits */
        return w * 64 + (unsigned)__builtin_ctzll(word);
    }
    assert(!"bit_select: r out of range");
    return 0;
}

kentry_t *ks_random_volatile(keyspace_t *ks, uint64_t (*rnd)(void))
{
    if (!ks->nexpires) return NULL;
    unsigned slot = ks->nslots > 1
                        ? bit_select(ks->ttlmap, ks->nwords,
                                     rnd() % ks->nttlslots)
                        : 0;
    const ktable_t *t = ks->slots[slot];
    assert(t && t->xn);
    return t->xv[rnd() % t->xn];
}

int ks_rehash_step(keyspace_t *ks, unsigned steps)
{
    if (ks->pause) return ks->nrehashing > 0;
    while (steps && ks->nrehashing) {
        ktable_t *t = ks->slots[ks->rehashing[ks->nrehashing - 1]];
        size_t did = table_rehash(ks, t, steps, steps);
        steps -= did < steps ? (unsigned)did : steps;
    }
    return ks->nrehashing > 0;
}

size_t ks_overhead(const keyspace_t *ks)
{
    return ks->overhead;
}
