/*
 * check_keyspace.c: the node's keyspace (node/keyspace.c).
 *
 * The core is a model-based test: the keyspace and a naive model (an
 * array indexed by a fixed universe of keys) are driven by the same random
 * operations (set string/int/object/embedded blob, delete, rename, TTLs,
 * in-place string writes, blob resizes and blob-to-object conversions,
 * the expiry cycle on a fake clock, slot clears, rehash steps,
 * SCAN with deletions, resize on/off) in standalone and cluster mode, and
 * compared after every step: sizes, sampled lookups and, regularly, every
 * key, a full SCAN, per-slot counts and the memory accounting (the bytes
 * ts_used_memory() sees must equal ks_overhead() plus every ke_mem()).
 *
 * Then the SCAN guarantee under growth and shrinking, the distributions of
 * ks_random and ks_random_volatile, encodings and aliasing corner cases,
 * destroy from another thread, and bytes per key for the "key:0000000" +
 * 16-byte value shape.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hash.h"
#include "keyspace.h"
#include "rng.h"
#include "slot.h"

/*
 * Check's ck_assert_* report every *passing* assertion to the runner (a
 * write per call); the model loops make millions of comparisons, so they
 * use these, which only call into Check on failure.
 */
#define REQUIRE(x)                                                           \
    do {                                                                     \
        if (!(x)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #x);         \
    } while (0)
#define REQ_CMP(a, op, b)                                                    \
    do {                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                  \
        if (!(a_ op b_))                                                     \
            ck_abort_msg("%s:%d: %s %s %s (%lld vs %lld)", __FILE__,         \
                         __LINE__, #a, #op, #b, a_, b_);                     \
    } while (0)
#define REQ_PTR_EQ(a, b) REQUIRE((a) == (b))
#define REQ_EQ(a, b) REQ_CMP(a, ==, b)
#define REQ_NE(a, b) REQ_CMP(a, !=, b)
#define REQ_LT(a, b) REQ_CMP(a, <, b)
#define REQ_LE(a, b) REQ_CMP(a, <=, b)
#define REQ_GT(a, b) REQ_CMP(a, >, b)
#define REQ_GE(a, b) REQ_CMP(a, >=, b)

/* ---- helpers ---- */

static uint64_t rng_state;

static uint64_t rnd(void) { return rng_step(&rng_state); }

static size_t rnd_below(size_t n) { return (size_t)(rnd() % n); }

/* Fake objects of other types, counted so leaks and double frees show. */
#define FOBJ_MAGIC 0x0b1ec7u
typedef struct fobj {
    unsigned magic;
    int type, enc, id;
} fobj_t;

static long objs_live;

static void *fobj_new(int type, int enc, int id)
{
    fobj_t *o = malloc(sizeof(*o));
    o->magic = FOBJ_MAGIC;
    o->type = type;
    o->enc = enc;
    o->id = id;
    objs_live++;
    return o;
}

static void fobj_free(int type, int enc, void *p)
{
    fobj_t *o = p;
    REQ_EQ(o->magic, FOBJ_MAGIC);
    REQ_EQ(o->type, type);
    REQ_EQ(o->enc, enc);
    o->magic = 0;
    free(o);
    objs_live--;
}

/* Is s exactly the %lld text of some long long? (the KE_INT rule) */
static int canonical_int(const char *s, size_t n, long long *out)
{
    char buf[32], back[32];
    if (n == 0 || n > 20 || memchr(s, '\0', n)) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    errno = 0;
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (errno || *end) return 0;
    snprintf(back, sizeof(back), "%lld", v);
    if (strcmp(back, buf) != 0) return 0;
    *out = v;
    return 1;
}

/* ---- the model ---- */

enum { MK_STR, MK_OBJ, MK_BLOB };

typedef struct mkey {
    char key[256];
    size_t klen;
    unsigned slot;
    int present;
    int kind;
    int enc;                /* expected encoding */
    char *val;              /* MK_STR, MK_BLOB: malloc'd bytes */
    size_t vlen;
    int otype, oid;         /* MK_OBJ (otype also MK_BLOB) */
    long long expire;
    uint32_t lru;
} mkey_t;

typedef struct model {
    keyspace_t *ks;
    unsigned nslots;
    mkey_t *m;
    size_t n;               /* universe size */
    size_t count, nexp, nobj;
    size_t *slot_count;     /* per slot, model side */
    int *map;               /* key -> index, open addressing */
    size_t mapmask;
    long long now;
    size_t base_mem;        /* ts_used_memory() before ks_create */
    int next_oid;
    int resize_on;
    int phase;              /* +1 filling, -1 draining, 0 mixed */
} model_t;

static uint64_t fnv(const char *k, size_t n)
{
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return h;
}

static int key_index(const model_t *md, const char *k, size_t n)
{
    for (size_t i = fnv(k, n) & md->mapmask;; i = (i + 1) & md->mapmask) {
        int j = md->map[i];
        if (j < 0) return -1;
        if (md->m[j].klen == n && memcmp(md->m[j].key, k, n) == 0) return j;
    }
}

/* Index of the model key that entry e (from the keyspace) holds. */
static int entry_index(const model_t *md, const kentry_t *e)
{
    size_t kl;
    const char *k = ke_key(e, &kl);
    int i = key_index(md, k, kl);
    REQ_GE(i, 0);
    return i;
}

/* A universe of keys of many shapes: short, cluster hashtags (several
 * keys per slot), key:%07d, long, binary with NULs, the empty key. */
static void model_init(model_t *md, unsigned nslots, size_t n)
{
    memset(md, 0, sizeof(*md));
    md->base_mem = ts_used_memory();
    md->ks = ks_create(nslots);
    md->nslots = nslots;
    md->n = n;
    md->m = calloc(n, sizeof(mkey_t));
    md->slot_count = calloc(nslots, sizeof(size_t));
    size_t msize = 1;
    while (msize < n * 2) msize <<= 1;
    md->mapmask = msize - 1;
    md->map = malloc(msize * sizeof(int));
    memset(md->map, 0xff, msize * sizeof(int));
    md->now = 1700000000000LL;
    md->resize_on = 1;
    for (size_t i = 0; i < n; i++) {
        mkey_t *m = &md->m[i];
        int len;
        switch (i % 7) {
        case 0: len = snprintf(m->key, sizeof(m->key), "k%zu", i); break;
        case 1: len = snprintf(m->key, sizeof(m->key), "{tag%zu}:%zu", i % 5, i); break;
        case 2: len = snprintf(m->key, sizeof(m->key), "key:%07zu", i); break;
        case 3: len = snprintf(m->key, sizeof(m->key), "{hot}%zu", i); break;
        case 4:
            len = snprintf(m->key, sizeof(m->key), "long:%zu:", i);
            memset(m->key + len, 'x', 60 + i % 150);
            len += 60 + (int)(i % 150);
            break;
        case 5:
            len = snprintf(m->key, sizeof(m->key), "b%zu", i);
            m->key[len++] = '\0';
            m->key[len++] = (char)0xff;
            m->key[len++] = (char)(i & 0xff);
            break;
        default: len = snprintf(m->key, sizeof(m->key), "%zu", i * 7919); break;
        }
        if (i == 0) len = 0;    /* "" is a valid key */
        m->klen = (size_t)len;
        m->slot = ks_slot_of(md->ks, m->key, m->klen);
        m->expire = -1;
        size_t h = fnv(m->key, m->klen) & md->mapmask;
        while (md->map[h] >= 0) h = (h + 1) & md->mapmask;
        md->map[h] = (int)i;
    }
    for (size_t i = 0; i < n; i++)
        REQ_EQ(key_index(md, md->m[i].key, md->m[i].klen), (int)i);
}

/* Model side of a key going away (the keyspace already dropped it). */
static void model_drop(model_t *md, mkey_t *m)
{
    if (!m->present) return;
    m->present = 0;
    md->count--;
    md->slot_count[m->slot]--;
    if (m->expire != -1) md->nexp--;
    if (m->kind == MK_OBJ) md->nobj--;
    free(m->val);
    m->val = NULL;
    m->expire = -1;
}

static void model_free(model_t *md)
{
    ks_destroy(md->ks);
    for (size_t i = 0; i < md->n; i++) free(md->m[i].val);
    free(md->m);
    free(md->slot_count);
    free(md->map);
    REQ_EQ(objs_live, 0);
    REQ_EQ(ts_used_memory(), md->base_mem);
}

/* ---- comparing ---- */

static void check_entry(const model_t *md, const kentry_t *e, const mkey_t *m)
{
    size_t kl;
    const char *k = ke_key(e, &kl);
    REQ_EQ(kl, m->klen);
    REQUIRE(memcmp(k, m->key, kl) == 0);
    REQ_EQ(ke_expire(e), m->expire);
    REQ_EQ(ke_lru(e), m->lru);
    REQ_EQ(ke_is_blob(e), m->kind == MK_BLOB);
    if (m->kind == MK_OBJ) {
        const fobj_t *o = ke_obj(e);
        REQ_EQ(ke_type(e), m->otype);
        REQ_EQ(ke_enc(e), o->enc);
        REQ_EQ(o->id, m->oid);
        return;
    }
    if (m->kind == MK_BLOB) {
        REQ_EQ(ke_type(e), m->otype);
        REQ_EQ(ke_enc(e), m->enc);
        size_t bl;
        const char *b = ke_blob(e, &bl);
        REQ_EQ(bl, m->vlen);
        REQUIRE(bl == 0 || memcmp(b, m->val, bl) == 0);
        return;
    }
    (void)md;
    REQ_EQ(ke_type(e), KT_STRING);
    REQ_EQ(ke_enc(e), m->enc);
    char scratch[24];
    size_t vl;
    const char *v = ke_str(e, &vl, scratch);
    REQ_EQ(vl, m->vlen);
    REQUIRE(vl == 0 || memcmp(v, m->val, vl) == 0);
    if (m->enc == KE_INT) {
        long long iv;
        REQUIRE(canonical_int(m->val, m->vlen, &iv));
        REQ_EQ(ke_int(e), iv);
    }
}

static void check_key(model_t *md, size_t i)
{
    const mkey_t *m = &md->m[i];
    kentry_t *e = ks_find(md->ks, m->key, m->klen);
    if (!m->present) {
        REQUIRE((e) == NULL);
        return;
    }
    REQUIRE((e) != NULL);
    check_entry(md, e, m);
}

static void check_counts(model_t *md)
{
    REQ_EQ(ks_size(md->ks), md->count);
    REQ_EQ(ks_expires_size(md->ks), md->nexp);
    REQ_EQ(objs_live, (long)md->nobj);
}

typedef struct scan_acc {
    model_t *md;
    unsigned *seen;
    size_t mem;
    size_t calls;
} scan_acc_t;

static void scan_collect(void *arg, kentry_t *e)
{
    scan_acc_t *a = arg;
    int i = entry_index(a->md, e);
    a->seen[i]++;
    a->mem += ke_mem(e);
}

/* Every key, a full SCAN, per-slot counts and memory accounting. */
static void check_full(model_t *md)
{
    check_counts(md);
    for (size_t i = 0; i < md->n; i++) check_key(md, i);

    scan_acc_t a = {.md = md, .seen = calloc(md->n, sizeof(unsigned))};
    uint64_t cur = 0;
    do {
        cur = ks_scan(md->ks, cur, -1, scan_collect, &a);
        REQ_LT(++a.calls, 10000000);
    } while (cur);
    for (size_t i = 0; i < md->n; i++)
        REQ_EQ(a.seen[i], md->m[i].present ? 1 : 0);

    for (size_t i = 0; i < md->n; i++) {
        unsigned s = md->m[i].slot;
        REQ_EQ(ks_slot_size(md->ks, s), md->slot_count[s]);
    }
    REQ_EQ(ts_used_memory() - md->base_mem,
                      a.mem + ks_overhead(md->ks));
    free(a.seen);
}

/* ---- operations ---- */

static size_t gen_value(char *buf)
{
    unsigned r = (unsigned)rnd_below(100);
    if (r < 20) {
        long long v;
        switch (rnd_below(5)) {
        case 0: v = (long long)rnd(); break;
        case 1: v = LLONG_MAX; break;
        case 2: v = LLONG_MIN; break;
        default: v = (long long)rnd_below(2000) - 1000; break;
        }
        return (size_t)sprintf(buf, "%lld", v);
    }
    if (r < 30) {
        static const char *odd[] = {"007", "-0", "+5", " 5", "5 ", "1a",
                                    "9223372036854775808",
                                    "-9223372036854775809",
                                    "123456789012345678901", "-", "0x10",
                                    "00", "1.5"};
        const char *s = odd[rnd_below(sizeof(odd) / sizeof(odd[0]))];
        size_t n = strlen(s);
        memcpy(buf, s, n);
        return n;
    }
    size_t n;
    if (r < 70) n = rnd_below(45);
    else if (r < 80) n = 43 + rnd_below(6);
    else n = 49 + rnd_below(350);
    for (size_t i = 0; i < n; i++) buf[i] = (char)rnd();
    return n;
}

static mkey_t *pick(model_t *md, int want_present, size_t *idx)
{
    for (int tries = 0; tries < 20; tries++) {
        size_t i = rnd_below(md->n);
        if (!want_present || md->m[i].present) {
            if (idx) *idx = i;
            return &md->m[i];
        }
    }
    return NULL;
}

/* The model side of a write: new key or replaced value. */
static void model_set_common(model_t *md, mkey_t *m, int keep_ttl)
{
    m->lru = 0;     /* every write stamps the keyspace's LRU clock (0 here) */
    if (!m->present) {
        m->present = 1;
        md->count++;
        md->slot_count[m->slot]++;
        m->expire = -1;
    } else {
        if (m->kind == MK_OBJ) md->nobj--;
        if (!keep_ttl && m->expire != -1) {
            md->nexp--;
            m->expire = -1;
        }
    }
    free(m->val);
    m->val = NULL;
    m->vlen = 0;
}

static void op_set_str(model_t *md)
{
    char buf[512];
    mkey_t *m = pick(md, 0, NULL);
    size_t n = gen_value(buf);
    int keep = (int)rnd_below(3) == 0;
    kentry_t *e = ks_set_str(md->ks, m->key, m->klen, buf, n, keep);
    model_set_common(md, m, keep);
    long long iv;
    m->kind = MK_STR;
    m->enc = canonical_int(buf, n, &iv) ? KE_INT
             : n <= KE_EMBSTR_MAX       ? KE_EMBSTR
                                        : KE_RAW;
    m->val = malloc(n + 1);
    memcpy(m->val, buf, n);
    m->vlen = n;
    check_entry(md, e, m);
}

static void op_set_int(model_t *md)
{
    mkey_t *m = pick(md, 0, NULL);
    long long v = rnd_below(2) ? (long long)rnd() : (long long)rnd_below(100);
    int keep = (int)rnd_below(2);
    kentry_t *e = ks_set_int(md->ks, m->key, m->klen, v, keep);
    model_set_common(md, m, keep);
    m->kind = MK_STR;
    m->enc = KE_INT;
    m->val = malloc(24);
    m->vlen = (size_t)sprintf(m->val, "%lld", v);
    check_entry(md, e, m);
}

static void op_set_obj(model_t *md)
{
    mkey_t *m = pick(md, 0, NULL);
    int type = 1 + (int)rnd_below(4), enc = KE_OBJ + (int)rnd_below(13);
    int keep = (int)rnd_below(2);
    int id = ++md->next_oid;
    kentry_t *e = ks_set_obj(md->ks, m->key, m->klen, type, enc,
                             fobj_new(type, enc, id), keep);
    model_set_common(md, m, keep);
    m->kind = MK_OBJ;
    m->otype = type;
    m->oid = id;
    md->nobj++;
    check_entry(md, e, m);
    if (rnd_below(4) == 0) {    /* an encoding conversion by the type */
        fobj_t *o = ke_obj(e);
        int nenc = KE_OBJ + (int)rnd_below(13);
        fobj_t *no = fobj_new(type, nenc, id);
        ke_set_obj(e, nenc, no);
        fobj_free(type, o->enc, o);
        check_entry(md, e, m);
    }
}

/* A blob of random bytes; sometimes copied from a blob in the keyspace
 * (possibly this key's own: the aliasing case). */
static void op_set_blob(model_t *md)
{
    char buf[4096];     /* op_blob_resize keeps blobs under 2,000 bytes */
    mkey_t *m = pick(md, 0, NULL);
    size_t n = rnd_below(4) ? rnd_below(64) : rnd_below(600);
    for (size_t i = 0; i < n; i++) buf[i] = (char)rnd();
    const void *src = rnd_below(8) ? buf : NULL;    /* NULL: zeroed */
    if (!src) memset(buf, 0, n);
    mkey_t *o = pick(md, 1, NULL);
    if (o && o->kind == MK_BLOB && rnd_below(3) == 0) {
        kentry_t *oe = ks_find(md->ks, o->key, o->klen);
        src = ke_blob(oe, &n);
        memcpy(buf, o->val, n);
    }
    int type = 1 + (int)rnd_below(4), enc = KE_OBJ + (int)rnd_below(13);
    int keep = (int)rnd_below(2);
    kentry_t *e = ks_set_blob(md->ks, m->key, m->klen, type, enc, src, n,
                              keep);
    model_set_common(md, m, keep);
    m->kind = MK_BLOB;
    m->otype = type;
    m->enc = enc;
    m->val = malloc(n + 1);
    memcpy(m->val, buf, n);
    m->vlen = n;
    check_entry(md, e, m);
}

/* Grow or shrink a blob in place, then write into it; or turn it into an
 * object (an encoding conversion). */
static void op_blob_resize(model_t *md)
{
    mkey_t *m = NULL;
    for (int tries = 0; tries < 8 && (!m || m->kind != MK_BLOB); tries++)
        m = pick(md, 1, NULL);
    if (!m || m->kind != MK_BLOB) return;
    kentry_t *e = ks_find(md->ks, m->key, m->klen);
    uint32_t lru = ke_lru(e);
    if (rnd_below(6) == 0) {
        int id = ++md->next_oid, enc = KE_OBJ + (int)rnd_below(13);
        ks_blob_to_obj(md->ks, &e, enc, fobj_new(m->otype, enc, id));
        free(m->val);
        m->val = NULL;
        m->vlen = 0;
        m->kind = MK_OBJ;
        m->oid = id;
        md->nobj++;
        REQ_EQ(ke_lru(e), lru);
        REQ_PTR_EQ(ks_find(md->ks, m->key, m->klen), e);
        check_entry(md, e, m);
        return;
    }
    size_t newlen;
    switch (rnd_below(3)) {
    case 0: newlen = m->vlen < 2000 ? m->vlen + 1 + rnd_below(16) : 0; break;
    case 1: newlen = m->vlen ? m->vlen - 1 - rnd_below(m->vlen) : 0; break;
    default: newlen = rnd_below(700); break;
    }
    unsigned char *p = ks_blob_resize(md->ks, &e, newlen);
    size_t keep = m->vlen < newlen ? m->vlen : newlen;
    REQUIRE(keep == 0 || memcmp(p, m->val, keep) == 0);
    for (size_t i = keep; i < newlen; i++) REQ_EQ(p[i], 0);
    m->val = realloc(m->val, newlen + 1);
    if (newlen > keep) memset(m->val + keep, 0, newlen - keep);
    m->vlen = newlen;
    for (int w = 0; newlen && w < 3; w++) {
        size_t at = rnd_below(newlen);
        char c = (char)rnd();
        p[at] = (unsigned char)c;
        m->val[at] = c;
    }
    REQ_EQ(ke_lru(e), lru);
    REQ_PTR_EQ(ks_find(md->ks, m->key, m->klen), e);
    check_entry(md, e, m);
}

static void op_delete(model_t *md)
{
    mkey_t *m = pick(md, 0, NULL);
    REQ_EQ(ks_delete(md->ks, m->key, m->klen), m->present);
    model_drop(md, m);
}

static void op_delete_entry(model_t *md)
{
    mkey_t *m = pick(md, 1, NULL);
    if (!m) return;
    kentry_t *e = ks_find(md->ks, m->key, m->klen);
    REQUIRE((e) != NULL);
    ks_delete_entry(md->ks, e);
    model_drop(md, m);
}

static void op_rename(model_t *md)
{
    mkey_t *s = pick(md, 1, NULL);
    if (!s) return;
    mkey_t *d = pick(md, 0, NULL);
    kentry_t *e = ks_find(md->ks, s->key, s->klen);
    e = ks_rename(md->ks, e, d->key, d->klen);
    if (s != d) {
        mkey_t saved = *s;
        model_drop(md, d);
        /* Move s's state to d, then drop s without freeing the value. */
        s->val = NULL;
        model_drop(md, s);
        char key[256];
        size_t klen = d->klen;
        unsigned slot = d->slot;
        memcpy(key, d->key, klen);
        *d = saved;
        memcpy(d->key, key, klen);
        d->klen = klen;
        d->slot = slot;
        md->count++;
        md->slot_count[slot]++;
        if (d->expire != -1) md->nexp++;
        if (d->kind == MK_OBJ) md->nobj++;
    }
    check_entry(md, e, d);
    REQ_PTR_EQ(ks_find(md->ks, d->key, d->klen), e);
}

static void op_expire(model_t *md)
{
    mkey_t *m = pick(md, 1, NULL);
    if (!m) return;
    kentry_t *e = ks_find(md->ks, m->key, m->klen);
    long long when = md->now - 500 + (long long)rnd_below(3000);
    e = ks_set_expire(md->ks, e, when);
    if (m->expire == -1) md->nexp++;
    m->expire = when;
    check_entry(md, e, m);
}

static void op_persist(model_t *md)
{
    mkey_t *m = pick(md, 1, NULL);
    if (!m) return;
    kentry_t *e = ks_find(md->ks, m->key, m->klen);
    REQ_EQ(ks_persist(md->ks, &e), m->expire != -1);
    if (m->expire != -1) md->nexp--;
    m->expire = -1;
    check_entry(md, e, m);
}

static void op_writable(model_t *md)
{
    mkey_t *m = pick(md, 1, NULL);
    if (!m || m->kind != MK_STR) return;
    kentry_t *e = ks_find(md->ks, m->key, m->klen);
    size_t newlen;
    switch (rnd_below(4)) {
    case 0: newlen = m->vlen + rnd_below(5); break;              /* APPEND */
    case 1: newlen = m->vlen + rnd_below(300); break;
    case 2: newlen = rnd_below(m->vlen + 1); break;              /* shorter */
    default: newlen = m->vlen < 2000 ? m->vlen * 2 + 1 : m->vlen; break;
    }
    char *p = ks_str_writable(md->ks, &e, newlen);
    size_t keep = m->vlen < newlen ? m->vlen : newlen;
    REQUIRE(keep == 0 || memcmp(p, m->val, keep) == 0);
    for (size_t i = keep; i < newlen; i++) REQ_EQ(p[i], 0);
    m->val = realloc(m->val, newlen + 1);
    if (newlen > keep) memset(m->val + keep, 0, newlen - keep);
    m->vlen = newlen;
    for (int w = 0; newlen && w < 3; w++) {     /* SETRANGE-like writes */
        size_t at = rnd_below(newlen);
        char c = (char)rnd();
        p[at] = c;
        m->val[at] = c;
    }
    m->enc = KE_RAW;
    check_entry(md, e, m);
}

typedef struct exp_acc {
    model_t *md;
    size_t n;
} exp_acc_t;

static void expired_cb(void *arg, kentry_t *e)
{
    exp_acc_t *a = arg;
    mkey_t *m = &a->md->m[entry_index(a->md, e)];
    REQUIRE(m->present);
    REQ_NE(m->expire, -1);
    REQ_LE(m->expire, a->md->now);
    REQ_EQ(ke_expire(e), m->expire);
    model_drop(a->md, m);
    a->n++;
}

static void op_expire_cycle(model_t *md, int complete)
{
    md->now += (long long)rnd_below(400);
    exp_acc_t a = {.md = md};
    unsigned samples = complete ? (unsigned)md->nexp + 1
                                : 1 + (unsigned)rnd_below(30);
    unsigned rounds = complete ? 1 : 1 + (unsigned)rnd_below(4);
    size_t n = ks_expire_cycle(md->ks, md->now, samples, rounds, expired_cb, &a);
    REQ_EQ(n, a.n);
    if (complete) {
        for (size_t i = 0; i < md->n; i++) {
            const mkey_t *m = &md->m[i];
            REQUIRE(!m->present || m->expire == -1 || m->expire > md->now);
        }
    }
}

static void op_clear_slot(model_t *md)
{
    mkey_t *p = pick(md, 0, NULL);
    unsigned slot = p->slot;
    size_t want = md->slot_count[slot];
    REQ_EQ(ks_clear_slot(md->ks, slot), want);
    for (size_t i = 0; i < md->n; i++)
        if (md->m[i].slot == slot) model_drop(md, &md->m[i]);
    REQ_EQ(ks_slot_size(md->ks, slot), 0);
}

/* What ks_random* returned: NULL iff the model has no candidate (n == 0),
 * else a key of the model.  Returns its model index, -1 for NULL. */
static int sampled(model_t *md, kentry_t *e, size_t n)
{
    if (!n) {
        REQUIRE((e) == NULL);
        return -1;
    }
    REQUIRE((e) != NULL);
    return entry_index(md, e);
}

static void op_random(model_t *md)
{
    kentry_t *e = ks_random(md->ks, rnd);
    int i = sampled(md, e, md->count);
    if (i >= 0) check_entry(md, e, &md->m[i]);
}

/* A random key with a TTL: present in the model, with that TTL. */
static void op_random_volatile(model_t *md)
{
    kentry_t *e = ks_random_volatile(md->ks, rnd);
    int i = sampled(md, e, md->nexp);
    if (i < 0) return;
    REQUIRE(md->m[i].present);
    REQ_NE(md->m[i].expire, -1);
    check_entry(md, e, &md->m[i]);
}

/* SCAN where the callback deletes expired keys, as lazy expiry would. */
static void scan_expire_cb(void *arg, kentry_t *e)
{
    model_t *md = arg;
    long long when = ke_expire(e);
    if (when == -1 || when > md->now) return;
    size_t kl;
    const char *k = ke_key(e, &kl);
    mkey_t *m = &md->m[key_index(md, k, kl)];
    ks_delete_entry(md->ks, e);
    model_drop(md, m);
}

static void op_scan_expire(model_t *md)
{
    uint64_t cur = 0;
    do {
        cur = ks_scan(md->ks, cur, -1, scan_expire_cb, md);
    } while (cur);
    for (size_t i = 0; i < md->n; i++) {
        const mkey_t *m = &md->m[i];
        REQUIRE(!m->present || m->expire == -1 || m->expire > md->now);
    }
}

static void op_scan_slot(model_t *md)
{
    mkey_t *p = pick(md, 0, NULL);
    scan_acc_t a = {.md = md, .seen = calloc(md->n, sizeof(unsigned))};
    uint64_t cur = 0;
    do {
        cur = ks_scan(md->ks, cur, (int)p->slot, scan_collect, &a);
    } while (cur);
    for (size_t i = 0; i < md->n; i++) {
        int want = md->m[i].present && md->m[i].slot == p->slot;
        REQ_EQ(a.seen[i], (unsigned)want);
    }
    free(a.seen);
}

static void op_lru(model_t *md)
{
    mkey_t *m = pick(md, 1, NULL);
    if (!m) return;
    kentry_t *e = ks_find(md->ks, m->key, m->klen);
    uint32_t v = (uint32_t)rnd();
    ke_set_lru(e, v);
    m->lru = v & 0xffffff;
    check_entry(md, e, m);
}

static void model_step(model_t *md)
{
    unsigned r = (unsigned)rnd_below(1000);
    /* Filling turns most deletes into writes and draining the reverse, so
     * the tables keep growing and shrinking through their whole range
     * instead of settling at one size. */
    if (md->phase > 0 && r >= 330 && r < 490 && rnd_below(4)) r = 0;
    if (md->phase < 0 && r < 330 && rnd_below(4)) r = 440;
    if (r < 160) op_set_str(md);
    else if (r < 190) op_set_blob(md);
    else if (r < 220) op_blob_resize(md);
    else if (r < 290) op_set_int(md);
    else if (r < 330) op_set_obj(md);
    else if (r < 440) op_delete(md);
    else if (r < 490) op_delete_entry(md);
    else if (r < 560) op_rename(md);
    else if (r < 660) op_expire(md);
    else if (r < 700) op_persist(md);
    else if (r < 780) op_writable(md);
    else if (r < 840) op_expire_cycle(md, 0);
    else if (r < 850) op_expire_cycle(md, 1);
    else if (r < 856) op_clear_slot(md);
    else if (r < 880) ks_rehash_step(md->ks, 1 + (unsigned)rnd_below(20));
    else if (r < 905) op_random(md);
    else if (r < 920) op_random_volatile(md);
    else if (r < 925) op_scan_expire(md);
    else if (r < 935) op_scan_slot(md);
    else if (r < 965) op_lru(md);
    else if (r < 968) {
        md->resize_on = !md->resize_on;
        ks_set_resize_allowed(md->ks, md->resize_on);
    } else if (r < 969 && rnd_below(4) == 0) {
        ks_clear(md->ks);
        for (size_t i = 0; i < md->n; i++) model_drop(md, &md->m[i]);
    } else {
        check_key(md, rnd_below(md->n));
    }
}

static void run_model(unsigned nslots, size_t universe, unsigned steps,
                      unsigned full_every, uint64_t seed)
{
    model_t md;
    rng_state = seed;
    model_init(&md, nslots, universe);
    /* Fill to about half first so the tables have something to rehash. */
    for (size_t i = 0; i < universe / 2; i++) op_set_str(&md);
    check_full(&md);
    unsigned rehashing = 0;
    for (unsigned s = 1; s <= steps; s++) {
        if (s % (unsigned)(universe * 2) == 0) md.phase = (int)rnd_below(3) - 1;
        model_step(&md);
        rehashing += (unsigned)ks_rehash_step(md.ks, 0);
        check_counts(&md);
        for (int k = 0; k < 4; k++) check_key(&md, rnd_below(md.n));
        if (s % full_every == 0) check_full(&md);
    }
    check_full(&md);
    printf("model nslots=%u keys=%zu: %u of %u steps during a rehash\n",
           nslots, universe, rehashing, steps);
    REQ_GT(rehashing, steps / 1000);
    model_free(&md);
}

START_TEST(test_model_standalone_small)
{
    run_model(1, 120, 200000, 1, 0x1234567ULL);
}
END_TEST

START_TEST(test_model_standalone_large)
{
    run_model(1, 3000, 300000, 500, 0xfeedbeefULL);
}
END_TEST

START_TEST(test_model_cluster_small)
{
    run_model(SLOT_COUNT, 120, 200000, 1, 0xabcdefULL);
}
END_TEST

START_TEST(test_model_cluster_large)
{
    run_model(SLOT_COUNT, 3000, 300000, 500, 0x5eed5eedULL);
}
END_TEST

/* ---- SCAN guarantee ---- */

typedef struct guard {
    unsigned char *seen;    /* indexed by stable key number */
    size_t nstable;
} guard_t;

static void guard_cb(void *arg, kentry_t *e)
{
    guard_t *g = arg;
    size_t kl;
    const char *k = ke_key(e, &kl);
    unsigned n;
    if (kl > 7 && memcmp(k + kl - 7, ":stable", 7) == 0 &&
        sscanf(k, "%*[^}]}%u", &n) == 1) {
        REQ_LT(n, g->nstable);
        g->seen[n] = 1;
    }
}

static size_t mkkey(char *buf, const char *kind, unsigned i)
{
    /* One key in four in the same slot, so that slot's table rehashes. */
    if (i % 4 == 0) return (size_t)sprintf(buf, "{hot}%u:%s", i, kind);
    return (size_t)sprintf(buf, "{%u}%u:%s", i, i, kind);
}

/*
 * Every key present for the whole scan is returned, while other keys are
 * added (growth, rehashing) or removed (shrinking) between calls.
 */
static void scan_guarantee(unsigned nslots, int shrink)
{
    size_t base = ts_used_memory();
    keyspace_t *ks = ks_create(nslots);
    const unsigned nstable = 600, nvol = shrink ? 30000 : 1000;
    char k[64];
    guard_t g = {.seen = calloc(nstable, 1), .nstable = nstable};
    for (unsigned i = 0; i < nvol; i++)
        ks_set_str(ks, k, mkkey(k, "vol", i), "v", 1, 0);
    for (unsigned i = 0; i < nstable; i++)
        ks_set_str(ks, k, mkkey(k, "stable", i), "s", 1, 0);

    unsigned added = 0, removed = 0, calls = 0, rehashing_seen = 0;
    uint64_t cur = 0;
    do {
        cur = ks_scan(ks, cur, -1, guard_cb, &g);
        calls++;
        if (!shrink && added < 16 * nvol) {    /* x16: four doublings */
            for (int j = 0; j < 40; j++, added++)
                ks_set_str(ks, k, mkkey(k, "new", added), "n", 1, 0);
        }
        for (int j = 0; j < (shrink ? 200 : 10) && removed < nvol; j++)
            REQUIRE(ks_delete(ks, k, mkkey(k, "vol", removed++)));
        rehashing_seen += (unsigned)ks_rehash_step(ks, 0);  /* work pending? */
        if (calls % 3 == 0) ks_rehash_step(ks, 2);
    } while (cur);
    for (unsigned i = 0; i < nstable; i++)
        ck_assert_msg(g.seen[i], "stable key %u missed", i);
    REQ_GT(calls, 10);
    REQ_GT(rehashing_seen, 10);   /* the scan did run across rehashes */
    free(g.seen);
    ks_destroy(ks);
    REQ_EQ(ts_used_memory(), base);
}

START_TEST(test_scan_growing_standalone) { scan_guarantee(1, 0); }
END_TEST
START_TEST(test_scan_growing_cluster) { scan_guarantee(SLOT_COUNT, 0); }
END_TEST
START_TEST(test_scan_shrinking_standalone) { scan_guarantee(1, 1); }
END_TEST
START_TEST(test_scan_shrinking_cluster) { scan_guarantee(SLOT_COUNT, 1); }
END_TEST

START_TEST(test_scan_cursor_format)
{
    keyspace_t *ks = ks_create(SLOT_COUNT);
    REQ_EQ(ks_scan(ks, 0, -1, guard_cb, NULL), 0);
    const char *key = "{user1000}.following";    /* slot 3443 */
    unsigned slot = slot_for_key(key, strlen(key));
    ks_set_str(ks, key, strlen(key), "x", 1, 0);
    unsigned calls = 0;
    uint64_t cur = 0;
    do {
        cur = ks_scan(ks, cur, -1, guard_cb, &(guard_t){0});
        if (cur) REQ_EQ(cur & (SLOT_COUNT - 1), slot);
        calls++;
    } while (cur);
    REQ_LE(calls, 4);
    ks_destroy(ks);
}
END_TEST

/* ---- random ---- */

static void random_distribution(unsigned nslots, unsigned nkeys)
{
    keyspace_t *ks = ks_create(nslots);
    char k[64];
    for (unsigned i = 0; i < nkeys; i++)
        ks_set_int(ks, k, (size_t)sprintf(k, "r:%u", i), i, 0);
    const unsigned draws = nkeys * 300;
    unsigned *cnt = calloc(nkeys, sizeof(unsigned));
    rng_state = 42;
    for (unsigned d = 0; d < draws; d++) {
        kentry_t *e = ks_random(ks, rnd);
        REQUIRE((e) != NULL);
        long long v = ke_int(e);
        REQUIRE(v >= 0 && v < nkeys);
        cnt[v]++;
    }
    double expect = (double)draws / nkeys, chi2 = 0;
    for (unsigned i = 0; i < nkeys; i++) {
        ck_assert_msg(cnt[i] > 0, "key %u never drawn", i);
        chi2 += (cnt[i] - expect) * (cnt[i] - expect) / expect;
    }
    /* Uniform: chi2 ~ df +- sqrt(2 df).  Redis's pick (a random element of
     * a random chain, 1/chain-length bias) gives about 60 df here. */
    printf("ks_random nslots=%u keys=%u: chi2/df = %.3f\n", nslots, nkeys,
           chi2 / (nkeys - 1));
    ck_assert_double_lt(chi2, 1.15 * (nkeys - 1));
    free(cnt);
    ks_destroy(ks);
}

START_TEST(test_random_standalone) { random_distribution(1, 1000); }
END_TEST
START_TEST(test_random_cluster) { random_distribution(SLOT_COUNT, 3000); }
END_TEST

START_TEST(test_random_empty)
{
    keyspace_t *ks = ks_create(SLOT_COUNT);
    ck_assert_ptr_null(ks_random(ks, rnd));
    ck_assert_ptr_null(ks_random_volatile(ks, rnd));
    ks_set_str(ks, "a", 1, "b", 1, 0);
    ck_assert_ptr_null(ks_random_volatile(ks, rnd));
    ks_delete(ks, "a", 1);
    ck_assert_ptr_null(ks_random(ks, rnd));
    ks_destroy(ks);
}
END_TEST

/* ks_slot_hint_add: the cluster check's slot is used for the very same
 * key pointer only, and not after ks_slot_hint_clear.  The hint below is
 * deliberately wrong so that using it is visible. */
START_TEST(test_slot_hint)
{
    keyspace_t *ks = ks_create(SLOT_COUNT);
    char key[] = "foo", copy[] = "foo";
    unsigned real = slot_for_key(key, 3);      /* 12182 */
    ck_assert_uint_eq(real, 12182);
    ks_slot_hint_add(ks, key, 3, 7);
    ck_assert_uint_eq(ks_slot_of(ks, key, 3), 7);
    ck_assert_uint_eq(ks_slot_of(ks, copy, 3), real);   /* other pointer */
    ck_assert_uint_eq(ks_slot_of(ks, key, 2), slot_for_key(key, 2));
    ks_set_str(ks, key, 3, "v", 1, 0);          /* lands in slot 7 */
    ck_assert_uint_eq(ks_slot_size(ks, 7), 1);
    ks_slot_hint_clear(ks);
    ck_assert_uint_eq(ks_slot_of(ks, key, 3), real);
    ck_assert_ptr_null(ks_find(ks, key, 3));    /* looked up in 12182 */
    for (int i = 0; i < KS_SLOT_HINTS + 2; i++)   /* extra hints ignored */
        ks_slot_hint_add(ks, key + (i % 3), 1, (unsigned)i);
    ck_assert_uint_eq(ks_slot_of(ks, key, 1), 0);
    ks_slot_hint_clear(ks);
    ks_destroy(ks);
    /* standalone: always slot 0 */
    ks = ks_create(1);
    ck_assert_uint_eq(ks_slot_of(ks, key, 3), 0);
    ks_destroy(ks);
}
END_TEST

/*
 * ks_random_volatile draws only keys with a TTL; in standalone mode
 * uniformly (chi2 as for ks_random), in cluster mode every TTL key at
 * least once.  Every third key has a TTL; a few lose it again (PERSIST)
 * so the index has been through swap-with-last removals.
 */
static void random_volatile_distribution(unsigned nslots, unsigned nkeys)
{
    keyspace_t *ks = ks_create(nslots);
    char k[64];
    unsigned nttl = 0;
    for (unsigned i = 0; i < nkeys; i++) {
        kentry_t *e = ks_set_int(ks, k, (size_t)sprintf(k, "v:%u", i), i, 0);
        if (i % 3 == 0) ks_set_expire(ks, e, 1700000000000LL + i);
    }
    for (unsigned i = 0; i < nkeys; i += 3) {
        if (i % 5 == 0) {
            kentry_t *e = ks_find(ks, k, (size_t)sprintf(k, "v:%u", i));
            ck_assert_int_eq(ks_persist(ks, &e), 1);
        } else {
            nttl++;
        }
    }
    ck_assert_uint_eq(ks_expires_size(ks), nttl);
    const unsigned draws = nttl * 300;
    unsigned *cnt = calloc(nkeys, sizeof(unsigned));
    rng_state = 4242;
    for (unsigned d = 0; d < draws; d++) {
        kentry_t *e = ks_random_volatile(ks, rnd);
        REQUIRE((e) != NULL);
        long long v = ke_int(e);
        REQUIRE(v >= 0 && v < nkeys && v % 3 == 0 && v % 5 != 0);
        REQ_EQ(ke_expire(e), 1700000000000LL + v);
        cnt[v]++;
    }
    double expect = (double)draws / nttl, chi2 = 0;
    for (unsigned i = 0; i < nkeys; i += 3) {
        if (i % 5 == 0) continue;
        ck_assert_msg(cnt[i] > 0, "TTL key %u never drawn", i);
        chi2 += (cnt[i] - expect) * (cnt[i] - expect) / expect;
    }
    printf("ks_random_volatile nslots=%u ttl keys=%u: chi2/df = %.3f\n",
           nslots, nttl, chi2 / (nttl - 1));
    if (nslots == 1) ck_assert_double_lt(chi2, 1.15 * (nttl - 1));
    free(cnt);
    ks_destroy(ks);
}

START_TEST(test_random_volatile_standalone)
{
    random_volatile_distribution(1, 3000);
}
END_TEST
START_TEST(test_random_volatile_cluster)
{
    random_volatile_distribution(SLOT_COUNT, 6000);
}
END_TEST

/* ---- encodings and corner cases ---- */

START_TEST(test_encodings)
{
    keyspace_t *ks = ks_create(1);
    static const struct {
        const char *v;
        int enc;
    } cases[] = {
        {"0", KE_INT}, {"-1", KE_INT}, {"123", KE_INT},
        {"9223372036854775807", KE_INT}, {"-9223372036854775808", KE_INT},
        {"9223372036854775808", KE_EMBSTR}, {"-9223372036854775809", KE_EMBSTR},
        {"-0", KE_EMBSTR}, {"007", KE_EMBSTR}, {"+1", KE_EMBSTR},
        {" 1", KE_EMBSTR}, {"1 ", KE_EMBSTR}, {"", KE_EMBSTR},
        {"12345678901234567890123456789012345678901234", KE_EMBSTR},
        {"123456789012345678901234567890123456789012345", KE_RAW},
    };
    char scratch[24];
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t n = strlen(cases[i].v), l;
        kentry_t *e = ks_set_str(ks, "k", 1, cases[i].v, n, 0);
        REQ_EQ(ke_enc(e), cases[i].enc);
        REQ_EQ(ke_type(e), KT_STRING);
        const char *s = ke_str(e, &l, scratch);
        REQ_EQ(l, n);
        REQUIRE(memcmp(s, cases[i].v, n) == 0);
    }
    kentry_t *e = ks_set_int(ks, "i", 1, LLONG_MIN, 0);
    size_t l;
    ck_assert_str_eq(ke_str(e, &l, scratch), "-9223372036854775808");
    REQ_EQ(ke_int(e), LLONG_MIN);
    ks_destroy(ks);
}
END_TEST

/* Values, keys and rename targets that point into the keyspace itself. */
START_TEST(test_aliasing)
{
    keyspace_t *ks = ks_create(SLOT_COUNT);
    char scratch[24], big[200];
    size_t l, kl;
    memset(big, 'z', sizeof(big));
    ks_set_str(ks, "key", 3, "hello world", 11, 0);
    kentry_t *e = ks_find(ks, "key", 3);
    const char *v = ke_str(e, &l, scratch);
    e = ks_set_str(ks, "key", 3, v + 6, 5, 0);              /* "world" */
    REQUIRE(memcmp(ke_str(e, &l, scratch), "world", 5) == 0 && l == 5);
    e = ks_set_str(ks, "key", 3, big, sizeof(big), 0);      /* RAW */
    v = ke_str(e, &l, scratch);
    e = ks_set_str(ks, "key", 3, v + 100, 100, 0);          /* from its RAW */
    v = ke_str(e, &l, scratch);
    REQ_EQ(l, 100);
    REQUIRE(memcmp(v, big, 100) == 0);
    const char *k = ke_key(e, &kl);
    e = ks_set_str(ks, k, kl, "x", 1, 0);                  /* key from entry */
    REQ_PTR_EQ(ks_find(ks, "key", 3), e);

    ks_set_str(ks, "other-key-with-a-longer-name", 28, "o", 1, 0);
    kentry_t *o = ks_find(ks, "other-key-with-a-longer-name", 28);
    k = ke_key(o, &kl);
    e = ks_find(ks, "key", 3);
    e = ks_rename(ks, e, k, kl);                            /* dst from entry */
    REQ_EQ(ks_size(ks), 1);
    REQ_PTR_EQ(ks_find(ks, "other-key-with-a-longer-name", 28), e);
    REQUIRE(memcmp(ke_str(e, &l, scratch), "x", 1) == 0);
    REQ_PTR_EQ(ks_rename(ks, e, "other-key-with-a-longer-name", 28), e);
    ks_destroy(ks);
}
END_TEST

START_TEST(test_writable_growth)
{
    size_t base = ts_used_memory();
    keyspace_t *ks = ks_create(1);
    kentry_t *e = ks_set_int(ks, "n", 1, 12345, 0);
    ks_set_expire(ks, e, 99);
    e = ks_find(ks, "n", 1);
    char *p = ks_str_writable(ks, &e, 7);
    REQ_EQ(ke_enc(e), KE_RAW);
    REQUIRE(memcmp(p, "12345\0\0", 7) == 0);
    REQ_EQ(ke_expire(e), 99);
    REQ_PTR_EQ(ks_find(ks, "n", 1), e);
    /* Appending a byte at a time reallocates O(log n) times. */
    unsigned moves = 0;
    for (size_t len = 8; len < 100000; len++) {
        size_t sl;
        char scratch[24];
        const char *before = ke_str(e, &sl, scratch);
        p = ks_str_writable(ks, &e, len);
        p[len - 1] = 'a';
        if (p != before) moves++;
    }
    REQ_LT(moves, 40);
    ks_destroy(ks);
    REQ_EQ(ts_used_memory(), base);
}
END_TEST

START_TEST(test_rename_ttl_and_slots)
{
    keyspace_t *ks = ks_create(SLOT_COUNT);
    kentry_t *e = ks_set_str(ks, "{a}src", 6, "v", 1, 0);
    e = ks_set_expire(ks, e, 12345);
    unsigned sa = ks_slot_of(ks, "{a}src", 6), sb = ks_slot_of(ks, "{b}dst", 6);
    REQ_NE(sa, sb);
    ks_set_obj(ks, "{b}dst", 6, KT_LIST, KE_OBJ, fobj_new(KT_LIST, KE_OBJ, 1), 0);
    REQ_EQ(objs_live, 1);
    e = ks_rename(ks, e, "{b}dst", 6);
    REQ_EQ(objs_live, 0);     /* the replaced dst was freed */
    REQ_EQ(ke_expire(e), 12345);
    REQ_EQ(ks_slot_size(ks, sa), 0);
    REQ_EQ(ks_slot_size(ks, sb), 1);
    REQ_EQ(ks_expires_size(ks), 1);
    ck_assert_ptr_null(ks_find(ks, "{a}src", 6));
    REQ_EQ(ks_persist(ks, &e), 1);
    REQ_EQ(ks_persist(ks, &e), 0);
    REQ_EQ(ks_expires_size(ks), 0);
    ks_destroy(ks);
}
END_TEST

/* A blob key through its life: TTL, growth, rename across slots, a copy
 * of itself, conversion, delete; nothing leaks, no free callback runs. */
START_TEST(test_blob_lifecycle)
{
    size_t base = ts_used_memory();
    keyspace_t *ks = ks_create(SLOT_COUNT);
    kentry_t *e = ks_set_blob(ks, "{a}s", 4, KT_SET, KE_OBJ, "\2\0\0\0", 4, 0);
    REQUIRE(ke_is_blob(e));
    REQ_EQ(ke_type(e), KT_SET);
    REQ_EQ(ke_enc(e), KE_OBJ);
    e = ks_set_expire(ks, e, 777);
    unsigned char *p = ks_blob_resize(ks, &e, 3000);
    REQ_EQ(p[0], 2);
    REQ_EQ(p[2999], 0);
    memset(p + 4, 'q', 2996);
    REQ_EQ(ke_expire(e), 777);
    REQ_PTR_EQ(ks_random_volatile(ks, rnd), e);
    REQ_GE(ke_mem(e), 3000 + 4 + 4 + 16 + 12);
    e = ks_rename(ks, e, "{b}t", 4);
    REQ_EQ(ks_expires_size(ks), 1);
    size_t len;
    p = ke_blob(e, &len);
    REQ_EQ(len, 3000);
    REQ_EQ(p[2999], 'q');
    /* overwrite with a slice of its own bytes (aliasing) */
    e = ks_set_blob(ks, "{b}t", 4, KT_HASH, KE_OBJ + 1, p + 1000, 10, 1);
    p = ke_blob(e, &len);
    REQ_EQ(len, 10);
    REQUIRE(memcmp(p, "qqqqqqqqqq", 10) == 0);
    REQ_EQ(ke_expire(e), 777);
    REQ_EQ(ks_persist(ks, &e), 1);
    ks_blob_to_obj(ks, &e, KE_OBJ + 1, fobj_new(KT_HASH, KE_OBJ + 1, 9));
    REQUIRE(!ke_is_blob(e));
    REQ_EQ(objs_live, 1);
    e = ks_set_blob(ks, "{b}t", 4, KT_LIST, KE_OBJ, NULL, 0, 0);
    REQ_EQ(objs_live, 0);       /* the object was freed, the blob is not one */
    REQUIRE(ke_is_blob(e));
    REQ_EQ(ks_delete(ks, "{b}t", 4), 1);
    REQ_EQ(ks_size(ks), 0);
    ks_destroy(ks);
    REQ_EQ(ts_used_memory(), base);
}
END_TEST

/* Fill a blob with a pattern of its length and a seed. */
static void blob_fill(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++) p[i] = (unsigned char)(i * 7 + seed);
}

static int blob_check(const unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != (unsigned char)(i * 7 + seed)) return 0;
    return 1;
}

/*
 * The blob's two length forms (up to 255 bytes in the header, else a u32
 * before the bytes): every
 * resize between 0, 1, 254, 255, 256, 257 and 1000 bytes, with and
 * without a TTL, keeps the bytes, zeroes the new ones, keeps TTL and LRU,
 * and leaves an entry of the expected size; then the blob is renamed and
 * set from its own bytes across the boundary.
 */
START_TEST(test_blob_short_long)
{
    static const size_t sizes[] = {0, 1, 254, 255, 256, 257, 1000};
    const size_t nsizes = sizeof(sizes) / sizeof(sizes[0]);
    size_t base = ts_used_memory();
    keyspace_t *ks = ks_create(SLOT_COUNT);
    unsigned char src[1000];
    for (size_t a = 0; a < nsizes; a++) {
        for (size_t b = 0; b < nsizes; b++) {
            int ttl = (int)((a + b) % 2);
            blob_fill(src, sizes[a], (unsigned)a);
            kentry_t *e = ks_set_blob(ks, "{x}blob", 7, KT_ZSET, KE_OBJ, src,
                                      sizes[a], 0);
            if (ttl) e = ks_set_expire(ks, e, 4242);
            ke_set_lru(e, 777);
            size_t len;
            unsigned char *p = ke_blob(e, &len);
            REQ_EQ(len, sizes[a]);
            REQUIRE(blob_check(p, len, (unsigned)a));
            p = ks_blob_resize(ks, &e, sizes[b]);
            size_t keep = sizes[a] < sizes[b] ? sizes[a] : sizes[b];
            REQUIRE(blob_check(p, keep, (unsigned)a));
            for (size_t i = keep; i < sizes[b]; i++) REQ_EQ(p[i], 0);
            REQ_PTR_EQ(ke_blob(e, &len), p);
            REQ_EQ(len, sizes[b]);
            REQ_PTR_EQ(ks_find(ks, "{x}blob", 7), e);
            REQ_EQ(ke_expire(e), ttl ? 4242 : -1);
            REQ_EQ(ke_lru(e), 777);
            REQUIRE(ke_is_blob(e));
            REQ_EQ(ke_type(e), KT_ZSET);
            /* header + TTL fields + key + length field + bytes (a short
             * blob's length is in the header) */
            size_t want = 16 + (ttl ? 12 : 0) + 7 +
                          (sizes[b] <= 255 ? 0 : 4) + sizes[b];
            REQ_GE(ke_mem(e), want);
#ifdef TS_HAVE_JEMALLOC
            REQ_LT(ke_mem(e), want + want / 4 + 16);
#endif
            /* the bytes survive a rename and a set from themselves */
            blob_fill(p, sizes[b], (unsigned)b);
            e = ks_rename(ks, e, "{y}moved", 8);
            p = ke_blob(e, &len);
            REQ_EQ(len, sizes[b]);
            REQUIRE(blob_check(p, len, (unsigned)b));
            size_t half = sizes[b] / 2;
            e = ks_set_blob(ks, "{y}moved", 8, KT_HASH, KE_OBJ + 1,
                            p + sizes[b] - half, half, 1);
            p = ke_blob(e, &len);
            REQ_EQ(len, half);
            for (size_t i = 0; i < half; i++)
                REQ_EQ(p[i], (unsigned char)((sizes[b] - half + i) * 7 + b));
            REQ_EQ(ke_expire(e), ttl ? 4242 : -1);
            REQ_EQ(ks_delete(ks, "{y}moved", 8), 1);
        }
    }
    /* Keys of 2 MB or more keep their blob's length in the value (the
     * header's bits are klen's): set, resize and rename across that. */
    size_t biglen = (1u << 21) + 3;
    char *big = malloc(biglen);
    memset(big, 'k', biglen);
    big[0] = '{';
    big[2] = '}';
    blob_fill(src, 200, 5);
    kentry_t *e = ks_set_blob(ks, big, biglen, KT_SET, KE_OBJ, src, 200, 0);
    size_t len, klen;
    REQ_GE(ke_mem(e), 16 + biglen + 4 + 200);
    REQUIRE(blob_check(ke_blob(e, &len), 200, 5));
    REQ_EQ(len, 200);
    REQ_EQ(ke_key(e, &klen)[1], 'k');
    REQ_EQ(klen, biglen);
    REQ_PTR_EQ(ks_find(ks, big, biglen), e);
    unsigned char *p = ks_blob_resize(ks, &e, 300);
    REQUIRE(blob_check(p, 200, 5));
    p = ks_blob_resize(ks, &e, 100);
    REQUIRE(blob_check(p, 100, 5));
    e = ks_rename(ks, e, "{k}short", 8);           /* becomes short */
    REQ_GE(ke_mem(e), 16 + 8 + 100);
    REQUIRE(blob_check(ke_blob(e, &len), 100, 5));
    REQ_EQ(len, 100);
    e = ks_set_expire(ks, e, 99);
    e = ks_rename(ks, e, big, biglen);              /* and back */
    REQ_GE(ke_mem(e), 16 + 12 + biglen + 4 + 100);
    REQUIRE(blob_check(ke_blob(e, &len), 100, 5));
    REQ_EQ(len, 100);
    REQ_EQ(ke_key(e, &klen)[biglen - 1], 'k');
    REQ_EQ(klen, biglen);
    REQ_EQ(ke_expire(e), 99);
    REQ_PTR_EQ(ks_find(ks, big, biglen), e);
    REQ_EQ(ks_delete(ks, big, biglen), 1);
    free(big);

    REQ_EQ(ks_size(ks), 0);
    REQ_EQ(ks_expires_size(ks), 0);
    ks_destroy(ks);
    REQ_EQ(ts_used_memory(), base);
}
END_TEST

static void *destroy_thread(void *arg)
{
    ks_destroy(arg);
    return NULL;
}

START_TEST(test_destroy_in_thread)
{
    size_t base = ts_used_memory();
    keyspace_t *ks = ks_create(SLOT_COUNT);
    char k[32], big[100];
    memset(big, 'b', sizeof(big));
    for (int i = 0; i < 20000; i++) {
        size_t n = (size_t)sprintf(k, "t:%d", i);
        if (i % 3 == 0 && i % 2) ks_set_str(ks, k, n, big, sizeof(big), 0);
        else if (i % 3 == 0) ks_set_blob(ks, k, n, KT_SET, KE_OBJ, big, 30, 0);
        else if (i % 3 == 1) ks_set_obj(ks, k, n, KT_HASH, 5, fobj_new(KT_HASH, 5, i), 0);
        else ks_set_expire(ks, ks_set_int(ks, k, n, i, 0), i);
    }
    pthread_t th;
    REQ_EQ(pthread_create(&th, NULL, destroy_thread, ks), 0);
    pthread_join(th, NULL);
    REQ_EQ(objs_live, 0);
    REQ_EQ(ts_used_memory(), base);
}
END_TEST

/* ---- memory ---- */

static void memory_shape(unsigned nslots, unsigned nkeys)
{
    size_t base = ts_used_memory();
    keyspace_t *ks = ks_create(nslots);
    char k[32], v[32];
    for (unsigned i = 0; i < nkeys; i++) {
        size_t kl = (size_t)sprintf(k, "key:%07u", i);
        size_t vl = (size_t)sprintf(v, "value:%010u", i);   /* 16 bytes */
        kentry_t *e = ks_set_str(ks, k, kl, v, vl, 0);
#ifdef TS_HAVE_JEMALLOC
        REQ_EQ(ke_mem(e), 48);
#else
        REQ_GE(ke_mem(e), 44);   /* 16 + 11 + 1 + 16 */
#endif
    }
    while (ks_rehash_step(ks, 1000)) {}
    double per_key = (double)(ts_used_memory() - base) / nkeys;
    printf("memory nslots=%u keys=%u: %.1f bytes/key (overhead %.1f)\n",
           nslots, nkeys, per_key, (double)ks_overhead(ks) / nkeys);
#ifdef TS_HAVE_JEMALLOC
    ck_assert_double_lt(per_key, 80.0);
#endif
    ks_destroy(ks);
    REQ_EQ(ts_used_memory(), base);
}

START_TEST(test_memory_standalone) { memory_shape(1, 100000); }
END_TEST
START_TEST(test_memory_cluster) { memory_shape(SLOT_COUNT, 100000); }
END_TEST

static Suite *keyspace_suite(void)
{
    Suite *s = suite_create("keyspace");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_model_standalone_small);
    tcase_add_test(tc, test_model_standalone_large);
    tcase_add_test(tc, test_model_cluster_small);
    tcase_add_test(tc, test_model_cluster_large);
    suite_add_tcase(s, tc);

    tc = tcase_create("scan");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_scan_growing_standalone);
    tcase_add_test(tc, test_scan_growing_cluster);
    tcase_add_test(tc, test_scan_shrinking_standalone);
    tcase_add_test(tc, test_scan_shrinking_cluster);
    tcase_add_test(tc, test_scan_cursor_format);
    suite_add_tcase(s, tc);

    tc = tcase_create("random");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_random_standalone);
    tcase_add_test(tc, test_random_cluster);
    tcase_add_test(tc, test_random_empty);
    tcase_add_test(tc, test_slot_hint);
    tcase_add_test(tc, test_random_volatile_standalone);
    tcase_add_test(tc, test_random_volatile_cluster);
    suite_add_tcase(s, tc);

    tc = tcase_create("entries");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_encodings);
    tcase_add_test(tc, test_aliasing);
    tcase_add_test(tc, test_writable_growth);
    tcase_add_test(tc, test_rename_ttl_and_slots);
    tcase_add_test(tc, test_blob_lifecycle);
    tcase_add_test(tc, test_blob_short_long);
    tcase_add_test(tc, test_destroy_in_thread);
    tcase_add_test(tc, test_memory_standalone);
    tcase_add_test(tc, test_memory_cluster);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    uint8_t seed[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};
    hash_set_seed(seed);
    ks_set_obj_free(fobj_free);
    SRunner *sr = srunner_create(keyspace_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
