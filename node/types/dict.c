/*
 * dict.c: the hash table inside large hashes, sets and sorted sets (API and
 * contracts in dict.h).
 *
 * The table is Redis's dict, shaped like the keyspace's tables
 * (node/keyspace.c): chained, power-of-two arrays, two of them while
 * rehashing incrementally (one bucket moved per find/add/delete/random,
 * visiting at most ten empty ones), grow at load factor 1, shrink below
 * 1/8.  What differs is the entry, which has no type, LRU or TTL but
 * carries an aux word and an optional value:
 *
 *    offset 0   next    8   bucket chain (intrusive: no separate dictEntry)
 *           8   aux     8   score (double) or a pointer the type owns
 *          16   klen    4
 *          20   vlen    4   0 for sets and sorted sets
 *          24   key bytes, then value bytes
 *
 * A hash field "field:1234" with an 8-byte value is 24 + 10 + 8 = 42
 * bytes, the 48-byte jemalloc class; Redis spends a 32-byte dictEntry and
 * two 16-byte sds strings on it.  The hash is not stored: lookups compare
 * lengths first, rehashing hashes again (SipHash, common/hash.h).
 *
 * `pause` counts safe iterators and scans in progress: while it is
 * non-zero no bucket is moved and no resize starts, so an iterator's
 * position and a scan's callbacks never see entries shift between arrays.
 * A table that filled up meanwhile grows at the next add after the pause.
 */
#include "dict.h"

#include <assert.h>
#include <stdbool.h>
#include <string.h>

#include "alloc.h"
#include "hash.h"
#include "htable.h"

struct dict_entry {
    dict_entry_t *next;
    union {
        void *p;
        double d;
    } aux;
    uint32_t klen;
    uint32_t vlen;
    char data[];            /* key bytes, value bytes */
};

_Static_assert(sizeof(struct dict_entry) == 24, "dict entry header is 24 bytes");

#define HDR sizeof(struct dict_entry)
#define MIN_BITS 2

struct dict {
    dict_entry_t **ht[2];   /* ht[0] NULL while empty; ht[1] while rehashing */
    size_t used[2];
    int64_t rehashidx;      /* next ht[0] bucket to move, -1 if not rehashing */
    int pause;              /* safe iterators / scans in progress */
    uint8_t bits[2];
};

static inline bool rehashing(const dict_t *d) { return d->rehashidx >= 0; }
static inline size_t t_size(const dict_t *d, int i)
{
    return d->ht[i] ? (size_t)1 << d->bits[i] : 0;
}
static inline size_t t_mask(const dict_t *d, int i)
{
    return ((size_t)1 << d->bits[i]) - 1;
}
static inline uint64_t e_hash(const dict_entry_t *e)
{
    return hash_bytes(e->data, e->klen);
}

static unsigned bits_for(size_t n)
{
    unsigned b = MIN_BITS;
    while (((size_t)1 << b) < n) b++;
    return b;
}

/* ---- rehashing ---- */

/* Move up to `moves` non-empty buckets from ht[0] to ht[1], visiting at
 * most `visits` buckets; finishes the rehash when ht[0] is empty. */
static void rehash(dict_t *d, size_t moves, size_t visits)
{
    size_t m1 = t_mask(d, 1);
    while (moves && visits && d->used[0]) {
        size_t idx = (size_t)d->rehashidx;
        assert(idx < t_size(d, 0));
        dict_entry_t *e = d->ht[0][idx];
        visits--;
        d->rehashidx++;
        if (!e) continue;
        while (e) {
            dict_entry_t *next = e->next;
            size_t b = e_hash(e) & m1;
            e->next = d->ht[1][b];
            d->ht[1][b] = e;
            d->used[0]--;
            d->used[1]++;
            e = next;
        }
        d->ht[0][idx] = NULL;
        moves--;
    }
    if (d->used[0] == 0) {
        ts_free(d->ht[0]);
        d->ht[0] = d->ht[1];
        d->bits[0] = d->bits[1];
        d->used[0] = d->used[1];
        d->ht[1] = NULL;
        d->bits[1] = 0;
        d->used[1] = 0;
        d->rehashidx = -1;
    }
}

static inline void step(dict_t *d)
{
    if (rehashing(d) && !d->pause) rehash(d, 1, 10);
}

/* Start moving to 2^bits buckets (immediately if ht[0] is empty). */
static void resize(dict_t *d, unsigned bits)
{
    assert(!rehashing(d));
    if (d->ht[0] && bits == d->bits[0]) return;
    dict_entry_t **n = ts_calloc((size_t)1 << bits, sizeof(*n));
    if (d->used[0] == 0) {
        ts_free(d->ht[0]);
        d->ht[0] = n;
        d->bits[0] = (uint8_t)bits;
        return;
    }
    d->ht[1] = n;
    d->bits[1] = (uint8_t)bits;
    d->rehashidx = 0;
}

static void grow_if_needed(dict_t *d)
{
    if (!d->ht[0]) {
        resize(d, MIN_BITS);
        return;
    }
    if (rehashing(d) || d->pause || d->used[0] < t_size(d, 0)) return;
    resize(d, bits_for(d->used[0] + 1));
}

/* After a delete: free the arrays when empty, else maybe shrink. */
static void after_delete(dict_t *d)
{
    if (d->pause || rehashing(d)) return;
    if (d->used[0] == 0) {
        ts_free(d->ht[0]);
        d->ht[0] = NULL;
        d->bits[0] = 0;
        return;
    }
    size_t size = t_size(d, 0);
    if (size > ((size_t)1 << MIN_BITS) && d->used[0] * 8 < size)
        resize(d, bits_for(d->used[0]));
}

/* Link to the entry with this key, or NULL. */
static dict_entry_t **lookup(dict_t *d, const char *k, size_t klen,
                             uint64_t h, int *which)
{
    for (int i = 0; i < 2 && d->ht[i]; i++) {
        size_t idx = h & t_mask(d, i);
        if (i == 0 && rehashing(d) && (int64_t)idx < d->rehashidx)
            continue;   /* already moved to ht[1] */
        for (dict_entry_t **l = &d->ht[i][idx]; *l; l = &(*l)->next) {
            dict_entry_t *e = *l;
            if (e->klen == klen && memcmp(e->data, k, klen) == 0) {
                *which = i;
                return l;
            }
        }
    }
    return NULL;
}

static dict_entry_t *entry_new(dict_t *d, const char *k, size_t klen,
                               const char *v, size_t vlen, uint64_t h)
{
    assert(klen <= UINT32_MAX && vlen <= UINT32_MAX);
    dict_entry_t *e = ts_malloc(HDR + klen + vlen);
    e->aux.p = NULL;
    e->klen = (uint32_t)klen;
    e->vlen = (uint32_t)vlen;
    memcpy(e->data, k, klen);
    if (vlen) memcpy(e->data + klen, v, vlen);
    grow_if_needed(d);
    int i = rehashing(d) ? 1 : 0;
    dict_entry_t **b = &d->ht[i][h & t_mask(d, i)];
    e->next = *b;
    *b = e;
    d->used[i]++;
    return e;
}

/* ---- API ---- */

dict_t *dict_create(void)
{
    dict_t *d = ts_calloc(1, sizeof(*d));
    d->rehashidx = -1;
    return d;
}

void dict_destroy(dict_t *d, void (*free_aux)(void *))
{
    if (!d) return;
    for (int i = 0; i < 2; i++) {
        size_t size = t_size(d, i);
        for (size_t b = 0; b < size; b++) {
            dict_entry_t *e = d->ht[i][b];
            while (e) {
                dict_entry_t *next = e->next;
                if (free_aux) free_aux(e->aux.p);
                ts_free(e);
                e = next;
            }
        }
        ts_free(d->ht[i]);
    }
    ts_free(d);
}

size_t dict_size(const dict_t *d) { return d->used[0] + d->used[1]; }

void dict_expand(dict_t *d, size_t n)
{
    if (rehashing(d) || d->pause || n <= d->used[0]) return;
    if (d->ht[0] && n <= t_size(d, 0)) return;
    resize(d, bits_for(n));
}

dict_entry_t *dict_find(dict_t *d, const char *k, size_t klen)
{
    if (!dict_size(d)) return NULL;
    step(d);
    int which;
    dict_entry_t **l = lookup(d, k, klen, hash_bytes(k, klen), &which);
    return l ? *l : NULL;
}

dict_entry_t *dict_add(dict_t *d, const char *k, size_t klen, int *added)
{
    step(d);
    uint64_t h = hash_bytes(k, klen);
    int which;
    dict_entry_t **l = dict_size(d) ? lookup(d, k, klen, h, &which) : NULL;
    *added = l == NULL;
    return l ? *l : entry_new(d, k, klen, NULL, 0, h);
}

dict_entry_t *dict_set(dict_t *d, const char *k, size_t klen, const char *v,
                       size_t vlen, int *added)
{
    step(d);
    uint64_t h = hash_bytes(k, klen);
    int which;
    dict_entry_t **l = dict_size(d) ? lookup(d, k, klen, h, &which) : NULL;
    *added = l == NULL;
    if (!l) return entry_new(d, k, klen, v, vlen, h);
    dict_entry_t *e = *l;
    if (vlen != e->vlen) {
        assert(vlen <= UINT32_MAX);
        e = ts_realloc(e, HDR + e->klen + vlen);
        e->vlen = (uint32_t)vlen;
        *l = e;
    }
    if (vlen) memmove(e->data + e->klen, v, vlen);
    return e;
}

int dict_delete(dict_t *d, const char *k, size_t klen, void **aux)
{
    if (!dict_size(d)) return 0;
    step(d);
    int which;
    dict_entry_t **l = lookup(d, k, klen, hash_bytes(k, klen), &which);
    if (!l) return 0;
    dict_entry_t *e = *l;
    *l = e->next;
    d->used[which]--;
    if (aux) *aux = e->aux.p;
    ts_free(e);
    after_delete(d);
    return 1;
}

const char *dict_key(const dict_entry_t *e, size_t *klen)
{
    *klen = e->klen;
    return e->data;
}

const char *dict_val(const dict_entry_t *e, size_t *vlen)
{
    *vlen = e->vlen;
    return e->data + e->klen;
}

void *dict_aux(const dict_entry_t *e) { return e->aux.p; }
void dict_set_aux(dict_entry_t *e, void *aux) { e->aux.p = aux; }
double dict_aux_double(const dict_entry_t *e) { return e->aux.d; }
void dict_set_aux_double(dict_entry_t *e, double v) { e->aux.d = v; }

/* ---- safe iteration ---- */

void dict_iter_init(dict_t *d, dict_iter_t *it)
{
    it->d = d;
    it->table = 0;
    it->index = 0;
    it->entry = it->next = NULL;
    d->pause++;
}

dict_entry_t *dict_iter_next(dict_iter_t *it)
{
    dict_t *d = it->d;
    if (it->next) {
        it->entry = it->next;
        it->next = it->entry->next;
        return it->entry;
    }
    while (it->table < 2) {
        if (it->index >= t_size(d, it->table)) {
            it->table++;
            it->index = 0;
            continue;
        }
        dict_entry_t *e = d->ht[it->table][it->index++];
        if (e) {
            it->entry = e;
            it->next = e->next;
            return e;
        }
    }
    it->entry = NULL;
    return NULL;
}

void dict_iter_done(dict_iter_t *it)
{
    dict_t *d = it->d;
    assert(d->pause > 0);
    if (--d->pause == 0) after_delete(d);
}

/* ---- SCAN and random entries (bucket arithmetic in htable.h) ---- */

struct scan_ctx {
    dict_t *d;
    void (*fn)(void *arg, dict_entry_t *e);
    void *arg;
};

static void scan_bucket(void *arg, int i, size_t idx)
{
    struct scan_ctx *c = arg;
    dict_entry_t *e = c->d->ht[i][idx];
    while (e) {
        dict_entry_t *next = e->next;   /* fn may delete e */
        c->fn(c->arg, e);
        e = next;
    }
}

uint64_t dict_scan(dict_t *d, uint64_t v,
                   void (*fn)(void *arg, dict_entry_t *e), void *arg)
{
    if (!dict_size(d)) return 0;
    struct scan_ctx c = {d, fn, arg};
    d->pause++;
    v = ht_scan_step(v, d->bits, rehashing(d), scan_bucket, &c);
    d->pause--;
    if (!d->pause) after_delete(d);
    return v;
}

dict_entry_t *dict_random(dict_t *d, uint64_t (*rnd)(void))
{
    if (!dict_size(d)) return NULL;
    step(d);
    for (;;) {
        int i;
        size_t b = ht_random_bucket(t_size(d, 0), t_size(d, 1), d->rehashidx,
                                    rnd, &i);
        dict_entry_t *e = d->ht[i][b];
        if (!e) continue;
        size_t len = 0;
        for (dict_entry_t *c = e; c; c = c->next) len++;
        long pick = ht_random_pos(len, rnd);
        if (pick < 0) continue;
        while (pick--) e = e->next;
        return e;
    }
}

size_t dict_mem(const dict_t *d)
{
    size_t n = ts_usable_size((void *)d);
    for (int i = 0; i < 2; i++) {
        if (!d->ht[i]) continue;
        n += ts_usable_size(d->ht[i]);
        size_t size = t_size(d, i);
        for (size_t b = 0; b < size; b++)
            for (dict_entry_t *e = d->ht[i][b]; e; e = e->next)
                n += ts_usable_size(e);
    }
    return n;
}
