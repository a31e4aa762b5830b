/*
 * htable.h: bucket arithmetic shared by the node's two chained hash tables,
 * the keyspace's per-slot tables (node/keyspace.c) and the dict inside
 * large hashes, sets and sorted sets (node/types/dict.c).
 *
 * Both are Redis's dict: power-of-two arrays of intrusive chains, two of
 * them while rehashing incrementally (ht[0] buckets below rehashidx have
 * moved to ht[1]).  Their entries differ (the keyspace's carries type, LRU
 * and TTL; the dict's an aux word), and so does how a key is hashed, so
 * what is shared here is only what needs no entry: the SCAN cursor walk and
 * the choice of a random bucket and chain position.  Lookup, insert and
 * rehash stay in each table, inlined on its own entry type: they are on
 * the path of every command.
 */
#ifndef TS_HTABLE_H
#define TS_HTABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

static inline uint64_t ht_rev64(uint64_t v)
{
    v = ((v >> 1) & 0x5555555555555555ULL) | ((v & 0x5555555555555555ULL) << 1);
    v = ((v >> 2) & 0x3333333333333333ULL) | ((v & 0x3333333333333333ULL) << 2);
    v = ((v >> 4) & 0x0f0f0f0f0f0f0f0fULL) | ((v & 0x0f0f0f0f0f0f0f0fULL) << 4);
    return __builtin_bswap64(v);
}

/* Next reverse-binary cursor for an array with mask m (Redis's dictScan). */
static inline uint64_t ht_cursor_next(uint64_t v, uint64_t m)
{
    v |= ~m;
    v = ht_rev64(v);
    v++;
    return ht_rev64(v);
}

/*
 * One dictScan step from cursor v over arrays of 2^bits[0] and (while
 * rehashing) 2^bits[1] buckets: calls bucket(arg, i, idx) for each bucket
 * idx of array i to walk, and returns the next cursor (0 when done).  While
 * rehashing, the bucket of the smaller array and every bucket of the larger
 * one that expands it are walked in the same step, which is what keeps
 * SCAN's guarantee (every element present for the whole scan is returned)
 * across growing and shrinking.
 */
typedef void ht_bucket_fn(void *arg, int i, size_t idx);

static inline uint64_t ht_scan_step(uint64_t v, const uint8_t bits[2],
                                    bool rehashing, ht_bucket_fn *bucket,
                                    void *arg)
{
    if (!rehashing) {
        uint64_t m0 = ((uint64_t)1 << bits[0]) - 1;
        bucket(arg, 0, (size_t)(v & m0));
        return ht_cursor_next(v, m0);
    }
    int i0 = bits[0] <= bits[1] ? 0 : 1, i1 = 1 - i0;
    uint64_t m0 = ((uint64_t)1 << bits[i0]) - 1;
    uint64_t m1 = ((uint64_t)1 << bits[i1]) - 1;
    bucket(arg, i0, (size_t)(v & m0));
    do {
        bucket(arg, i1, (size_t)(v & m1));
        v = ht_cursor_next(v, m1);
    } while (v & (m0 ^ m1));
    return v;
}

/*
 * A random bucket: uniform over ht[0] (size s0) when not rehashing, else
 * over the buckets not yet moved (from rehashidx) and all of ht[1] (size
 * s1).  Sets *i to the array and returns the index in it.
 */
static inline size_t ht_random_bucket(size_t s0, size_t s1, int64_t rehashidx,
                                      uint64_t (*rnd)(void), int *i)
{
    if (rehashidx < 0) {
        *i = 0;
        return (size_t)(rnd() & (s0 - 1));
    }
    size_t lo = (size_t)rehashidx;
    size_t h = lo + (size_t)(rnd() % (s0 + s1 - lo));
    *i = h >= s0;
    return h < s0 ? h : h - s0;
}

/*
 * A random position in a chain of len entries, or -1 to draw a bucket
 * again: uniform below max(len, 4), so that for chains of up to 4 entries
 * (nearly all at load factor <= 1) every entry is equally likely, unlike
 * Redis's 1/chain-length bias; longer chains are only slightly
 * under-sampled.
 */
static inline long ht_random_pos(size_t len, uint64_t (*rnd)(void))
{
    size_t pick = len > 4 ? (size_t)(rnd() % len) : (size_t)(rnd() & 3);
    return pick < len ? (long)pick : -1;
}

#endif
