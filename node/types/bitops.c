/*
 * bitops.c: popcount, bit search and bitfield access over byte strings
 * (see bitops.h for the bit numbering).
 *
 * Word loops load 8 bytes with memcpy: no alignment prologue is needed
 * and nothing is read past the end.  Popcount keeps four independent
 * sums so the popcnt instructions of one 32-byte block do not wait on
 * each other.  Known answer: popcount("foobar") == 26 (Redis's BITCOUNT
 * documentation example).
 */
#include "bitops.h"

#include <string.h>

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

long long bitops_popcount(const unsigned char *p, size_t n)
{
    uint64_t c0 = 0, c1 = 0, c2 = 0, c3 = 0;
    size_t i = 0;
    for (; i + 32 <= n; i += 32) {
        c0 += (uint64_t)__builtin_popcountll(load64(p + i));
        c1 += (uint64_t)__builtin_popcountll(load64(p + i + 8));
        c2 += (uint64_t)__builtin_popcountll(load64(p + i + 16));
        c3 += (uint64_t)__builtin_popcountll(load64(p + i + 24));
    }
    for (; i + 8 <= n; i += 8)
        c0 += (uint64_t)__builtin_popcountll(load64(p + i));
    for (; i < n; i++)
        c1 += (uint64_t)__builtin_popcount(p[i]);
    return (long long)(c0 + c1 + c2 + c3);
}

long long bitops_bitpos(const unsigned char *p, size_t n, int bit)
{
    /* Skip whole words with nothing to find, then the bytes. */
    const uint64_t wskip = bit ? 0 : UINT64_MAX;
    const unsigned char bskip = bit ? 0 : 0xff;
    size_t i = 0;
    while (i + 8 <= n && load64(p + i) == wskip)
        i += 8;
    for (; i < n; i++) {
        if (p[i] == bskip) continue;
        /* the bits we look for, as ones; the first is the highest */
        unsigned v = bit ? p[i] : (unsigned char)~p[i];
        return (long long)(i * 8) + (__builtin_clz(v) - 24);
    }
    return bit ? -1 : (long long)n * 8;
}

uint64_t bitops_get_unsigned(const unsigned char *p, uint64_t off,
                             unsigned bits)
{
    uint64_t v = 0;
    for (unsigned j = 0; j < bits; j++, off++) {
        unsigned b = (p[off >> 3] >> (7 - (off & 7))) & 1;
        v = (v << 1) | b;
    }
    return v;
}

int64_t bitops_get_signed(const unsigned char *p, uint64_t off, unsigned bits)
{
    uint64_t u = bitops_get_unsigned(p, off, bits);
    if (bits < 64 && (u & ((uint64_t)1 << (bits - 1)))) u |= UINT64_MAX << bits;
    return (int64_t)u; /* two's complement: the conversion is modular */
}

void bitops_set(unsigned char *p, uint64_t off, unsigned bits, uint64_t v)
{
    for (unsigned j = 0; j < bits; j++, off++) {
        unsigned b = (unsigned)(v >> (bits - 1 - j)) & 1;
        unsigned shift = 7 - (unsigned)(off & 7);
        unsigned char *byte = p + (off >> 3);
        *byte = (unsigned char)((*byte & ~(1u << shift)) | (b << shift));
    }
}

int bitops_overflow_unsigned(uint64_t value, int64_t incr, unsigned bits,
                             int ow, uint64_t *limit)
{
    uint64_t max = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
    int64_t maxincr = (int64_t)(max - value);
    int64_t minincr = (int64_t)(0 - value);
    int dir;
    if (value > max || (incr > 0 && incr > maxincr))
        dir = 1;
    else if (incr < 0 && incr < minincr)
        dir = -1;
    else
        return 0;
    if (ow == BITOPS_WRAP) {
        uint64_t mask = bits == 64 ? 0 : UINT64_MAX << bits;
        *limit = (value + (uint64_t)incr) & ~mask;
    } else if (ow == BITOPS_SAT) {
        *limit = dir > 0 ? max : 0;
    }
    return dir;
}

int bitops_overflow_signed(int64_t value, int64_t incr, unsigned bits, int ow,
                           int64_t *limit)
{
    int64_t max =
        bits == 64 ? INT64_MAX : (int64_t)(((uint64_t)1 << (bits - 1)) - 1);
    int64_t min = -max - 1;
    /* Redis computes these with wrapping arithmetic and uses them only
     * when value is in range; the unsigned forms give the same values. */
    int64_t maxincr = (int64_t)((uint64_t)max - (uint64_t)value);
    int64_t minincr = (int64_t)((uint64_t)min - (uint64_t)value);
    int dir;
    if (value > max || (bits != 64 && incr > maxincr) ||
        (value >= 0 && incr > 0 && incr > maxincr))
        dir = 1;
    else if (value < min || (bits != 64 && incr < minincr) ||
             (value < 0 && incr < 0 && incr < minincr))
        dir = -1;
    else
        return 0;
    if (ow == BITOPS_WRAP) {
        uint64_t c = (uint64_t)value + (uint64_t)incr;
        if (bits < 64) {
            uint64_t mask = UINT64_MAX << bits;
            if (c & ((uint64_t)1 << (bits - 1)))
                c |= mask;
            else
                c &= ~mask;
        }
        *limit = (int64_t)c;
    } else if (ow == BITOPS_SAT) {
        *limit = dir > 0 ? max : min;
    }
    return dir;
}
