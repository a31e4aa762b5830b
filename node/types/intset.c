/*
 * intset.c: Redis's intset (format and contracts in intset.h).
 *
 * The algorithms are Redis's intset.c: binary search with a fast path for
 * values beyond either end, insertion by moving the tail, upgrade by
 * widening every value from the back (so it works in place) and putting
 * the new value, which is necessarily beyond one end, first or last.
 * Fields and values are little-endian in memory, read and written through
 * the helpers below, so the blob is the same on any host.
 */
#include "intset.h"

#include <assert.h>
#include <string.h>

#include "alloc.h"

struct intset {
    unsigned char b[INTSET_HDR]; /* encoding u32 LE, length u32 LE */
    unsigned char contents[];
};

enum { ENC16 = 2, ENC32 = 4, ENC64 = 8 };

/* ---- little-endian access --------------------------------------------- */

static inline uint64_t rd_le(const unsigned char *p, unsigned n)
{
    uint64_t v = 0;
    for (unsigned i = n; i-- > 0;)
        v = (v << 8) | p[i];
    return v;
}

static inline void wr_le(unsigned char *p, uint64_t v, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        p[i] = (unsigned char)v;
        v >>= 8;
    }
}

static inline uint32_t enc_of(const intset_t *is)
{
    return (uint32_t)rd_le(is->b, 4);
}

static inline void set_enc(intset_t *is, uint32_t enc)
{
    wr_le(is->b, enc, 4);
}

static inline void set_len(intset_t *is, uint32_t len)
{
    wr_le(is->b + 4, len, 4);
}

/* The width needed for v (Redis's _intsetValueEncoding). */
static inline uint32_t value_enc(int64_t v)
{
    if (v < INT32_MIN || v > INT32_MAX) return ENC64;
    if (v < INT16_MIN || v > INT16_MAX) return ENC32;
    return ENC16;
}

/* Value at pos with encoding enc (sign-extended). */
static inline int64_t get_enc(const unsigned char *contents, uint32_t pos,
                              uint32_t enc)
{
    uint64_t u = rd_le(contents + (size_t)pos * enc, enc);
    switch (enc) {
    case ENC16: return (int16_t)(uint16_t)u;
    case ENC32: return (int32_t)(uint32_t)u;
    default: return (int64_t)u;
    }
}

static inline int64_t get_at(const intset_t *is, uint32_t pos)
{
    return get_enc(is->contents, pos, enc_of(is));
}

static inline void set_at(intset_t *is, uint32_t pos, int64_t v)
{
    uint32_t enc = enc_of(is);
    wr_le(is->contents + (size_t)pos * enc, (uint64_t)v, enc);
}

/* Reallocate for len values of the current encoding. */
static intset_t *resize(intset_t *is, uint32_t len)
{
    uint64_t bytes = (uint64_t)len * enc_of(is) + INTSET_HDR;
    assert(bytes <= SIZE_MAX);
    return ts_realloc(is, (size_t)bytes);
}

/*
 * Redis's intsetSearch: 1 and *pos = its position if v is present, else
 * 0 and *pos = where it would be inserted.
 */
static int search(const intset_t *is, int64_t v, uint32_t *pos)
{
    uint32_t len = intset_len(is);
    if (len == 0) {
        *pos = 0;
        return 0;
    }
    /* Beyond either end: no search needed (appends are common). */
    if (v > get_at(is, len - 1)) {
        *pos = len;
        return 0;
    }
    if (v < get_at(is, 0)) {
        *pos = 0;
        return 0;
    }
    int64_t lo = 0, hi = (int64_t)len - 1, mid = 0;
    while (hi >= lo) {
        mid = ((uint64_t)lo + (uint64_t)hi) >> 1;
        int64_t cur = get_at(is, (uint32_t)mid);
        if (v > cur) {
            lo = mid + 1;
        } else if (v < cur) {
            hi = mid - 1;
        } else {
            *pos = (uint32_t)mid;
            return 1;
        }
    }
    *pos = (uint32_t)lo;
    return 0;
}

/* Redis's intsetUpgradeAndAdd, in a buffer that already has room: widen
 * to v's encoding, then add v at the end it must go to (it is out of the
 * old range). */
static void upgrade_and_add(intset_t *is, int64_t v)
{
    uint32_t cur = enc_of(is), len = intset_len(is);
    int prepend = v < 0;
    set_enc(is, value_enc(v));
    /* From the back, so no value is overwritten before it is read. */
    for (uint32_t i = len; i-- > 0;)
        set_at(is, i + (uint32_t)prepend, get_enc(is->contents, i, cur));
    set_at(is, prepend ? 0 : len, v);
    set_len(is, len + 1);
}

/* Move the values from `from` to the end so that they start at `to`. */
static void move_tail(intset_t *is, uint32_t from, uint32_t to)
{
    uint32_t enc = enc_of(is);
    size_t n = (size_t)(intset_len(is) - from) * enc;
    memmove(is->contents + (size_t)to * enc, is->contents + (size_t)from * enc,
            n);
}

/* ---- API ---------------------------------------------------------------- */

intset_t *intset_new(void)
{
    intset_t *is = ts_malloc(INTSET_HDR);
    intset_init(is);
    return is;
}

void intset_init(void *buf)
{
    intset_t *is = buf;
    set_enc(is, ENC16);
    set_len(is, 0);
}

void intset_free(intset_t *is) { ts_free(is); }

intset_t *intset_dup(const intset_t *is)
{
    size_t n = intset_blob_len(is);
    intset_t *c = ts_malloc(n);
    memcpy(c, is, n);
    return c;
}

uint32_t intset_len(const intset_t *is) { return (uint32_t)rd_le(is->b + 4, 4); }

uint32_t intset_encoding(const intset_t *is) { return enc_of(is); }

size_t intset_blob_len(const intset_t *is)
{
    return INTSET_HDR + (size_t)intset_len(is) * enc_of(is);
}

const unsigned char *intset_blob(const intset_t *is)
{
    return (const unsigned char *)is;
}

size_t intset_add_len(const intset_t *is, int64_t v)
{
    uint32_t enc = enc_of(is), venc = value_enc(v), pos;
    if (venc <= enc && search(is, v, &pos)) return 0;
    if (venc < enc) venc = enc;
    return INTSET_HDR + ((size_t)intset_len(is) + 1) * venc;
}

void intset_add_in_place(intset_t *is, int64_t v)
{
    if (value_enc(v) > enc_of(is)) {
        upgrade_and_add(is, v);
        return;
    }
    uint32_t pos;
    int found = search(is, v, &pos);
    assert(!found);
    (void)found;
    uint32_t len = intset_len(is);
    if (pos < len) move_tail(is, pos, pos + 1);
    set_at(is, pos, v);
    set_len(is, len + 1);
}

int intset_remove_in_place(intset_t *is, int64_t v)
{
    uint32_t pos;
    if (value_enc(v) > enc_of(is) || !search(is, v, &pos)) return 0;
    uint32_t len = intset_len(is);
    if (pos < len - 1) move_tail(is, pos + 1, pos);
    set_len(is, len - 1);
    return 1;
}

intset_t *intset_add(intset_t *is, int64_t v, int *added)
{
    size_t n = intset_add_len(is, v);
    if (added) *added = n != 0;
    if (!n) return is;
    is = ts_realloc(is, n);
    intset_add_in_place(is, v);
    return is;
}

intset_t *intset_remove(intset_t *is, int64_t v, int *removed)
{
    int r = intset_remove_in_place(is, v);
    if (removed) *removed = r;
    return r ? resize(is, intset_len(is)) : is;
}

int intset_find(const intset_t *is, int64_t v)
{
    uint32_t pos;
    return value_enc(v) <= enc_of(is) && search(is, v, &pos);
}

int intset_get(const intset_t *is, uint32_t pos, int64_t *v)
{
    if (pos >= intset_len(is)) return 0;
    *v = get_at(is, pos);
    return 1;
}

int64_t intset_random(const intset_t *is, uint64_t (*rnd)(void))
{
    uint32_t len = intset_len(is);
    assert(len > 0);
    return get_at(is, (uint32_t)(rnd() % len));
}

int intset_validate(const void *p, size_t size, int deep)
{
    const unsigned char *b = p;
    if (size < INTSET_HDR) return 0;
    uint32_t enc = (uint32_t)rd_le(b, 4);
    if (enc != ENC16 && enc != ENC32 && enc != ENC64) return 0;
    uint32_t count = (uint32_t)rd_le(b + 4, 4);
    /* count * enc < 2^35: no overflow in 64 bits */
    if ((uint64_t)INTSET_HDR + (uint64_t)count * enc != (uint64_t)size)
        return 0;
    if (count == 0) return 0;
    if (!deep) return 1;
    int64_t prev = get_enc(b + INTSET_HDR, 0, enc);
    for (uint32_t i = 1; i < count; i++) {
        int64_t cur = get_enc(b + INTSET_HDR, i, enc);
        if (cur <= prev) return 0;
        prev = cur;
    }
    return 1;
}

intset_t *intset_from_blob(const void *p, size_t size)
{
    assert(size >= INTSET_HDR);
    intset_t *is = ts_malloc(size);
    memcpy(is, p, size);
    return is;
}
