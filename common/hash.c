/*
 * hash.c: SipHash-1-3 with a process-wide 128-bit key (see hash.h).
 *
 * SipHash (Aumasson and Bernstein) is a keyed PRF: without the key a
 * client cannot choose keys that collide, so the node's hash tables stay
 * O(1) whatever the client sends.  Like Redis we use 1 compression round
 * and 3 finalisation rounds: keys are short, so the finalisation dominates
 * and 1-3 is about twice as fast as 2-4 while still mixing every input bit
 * through four rounds.
 *
 * Known answer (key 00 01 .. 0f, empty message):
 * SipHash-1-3 == 0xabac0158050fc4dc, SipHash-2-4 == 0x726fdb47dd0e0e31.
 *
 * hash_bytes_nocase folds ASCII 'A'..'Z' to lower case as it reads, eight
 * bytes at a time (a SWAR test on each byte), so it equals hash_bytes of the
 * lower-cased input without a copy.  Bytes >= 0x80 are never folded.
 */
#include "hash.h"

#include "proc.h"

#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The key as two little-endian words; all zero until seeded. */
static uint64_t sip_k0, sip_k1;

#define ROTL(x, b) (uint64_t)(((x) << (b)) | ((x) >> (64 - (b))))

#define SIPROUND                                                             \
    do {                                                                     \
        v0 += v1;                                                            \
        v1 = ROTL(v1, 13);                                                   \
        v1 ^= v0;                                                            \
        v0 = ROTL(v0, 32);                                                   \
        v2 += v3;                                                            \
        v3 = ROTL(v3, 16);                                                   \
        v3 ^= v2;                                                            \
        v0 += v3;                                                            \
        v3 = ROTL(v3, 21);                                                   \
        v3 ^= v0;                                                            \
        v2 += v1;                                                            \
        v1 = ROTL(v1, 17);                                                   \
        v1 ^= v2;                                                            \
        v2 = ROTL(v2, 32);                                                   \
    } while (0)

static inline uint64_t load_le64(const uint8_t *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

/* Lower-case the ASCII capitals among eight bytes packed in a word. */
static inline uint64_t fold_word(uint64_t m)
{
    const uint64_t ones = 0x0101010101010101ULL;
    const uint64_t highs = 0x8080808080808080ULL;
    uint64_t low7 = m & ~highs;                     /* each byte <= 0x7f */
    uint64_t ge_a = low7 + (0x80 - 'A') * ones;     /* high bit: >= 'A' */
    uint64_t gt_z = low7 + (0x7f - 'Z') * ones;     /* high bit: > 'Z' */
    uint64_t upper = ge_a & ~gt_z & ~m & highs;     /* and not >= 0x80 */
    return m | (upper >> 2);                        /* 0x80 >> 2 == 0x20 */
}

static inline uint8_t fold_byte(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + ('a' - 'A')) : c;
}

static inline uint64_t siphash13(const uint8_t *in, size_t n, int nocase)
{
    uint64_t v0 = 0x736f6d6570736575ULL ^ sip_k0;
    uint64_t v1 = 0x646f72616e646f6dULL ^ sip_k1;
    uint64_t v2 = 0x6c7967656e657261ULL ^ sip_k0;
    uint64_t v3 = 0x7465646279746573ULL ^ sip_k1;
    const uint8_t *end = in + (n & ~(size_t)7);

    for (; in != end; in += 8) {
        uint64_t m = load_le64(in);
        if (nocase) m = fold_word(m);
        v3 ^= m;
        SIPROUND;
        v0 ^= m;
    }

    uint64_t b = (uint64_t)n << 56;
    for (size_t i = 0; i < (n & 7); i++) {
        uint8_t c = nocase ? fold_byte(in[i]) : in[i];
        b |= (uint64_t)c << (8 * i);
    }

    v3 ^= b;
    SIPROUND;
    v0 ^= b;
    v2 ^= 0xff;
    SIPROUND;
    SIPROUND;
    SIPROUND;
    return v0 ^ v1 ^ v2 ^ v3;
}

uint64_t hash_bytes(const void *p, size_t n)
{
    return siphash13(p, n, 0);
}

uint64_t hash_bytes_nocase(const void *p, size_t n)
{
    return siphash13(p, n, 1);
}

void hash_set_seed(const uint8_t seed[16])
{
    sip_k0 = load_le64(seed);
    sip_k1 = load_le64(seed + 8);
}

void hash_seed_random(void)
{
    uint8_t seed[16];
    ts_random_bytes(seed, sizeof(seed));
    hash_set_seed(seed);
}
