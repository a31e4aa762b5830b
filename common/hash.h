/*
 * hash.h: keyed hashing for hash tables that hold client-chosen keys.
 *
 * SipHash-1-3 (as Redis) with a random 128-bit key chosen at start-up, so
 * that a client cannot precompute colliding keys and turn O(1) lookups
 * into O(n) (hash flooding).  hash_bytes_nocase folds ASCII case, for
 * command names.
 */
#ifndef TS_HASH_H
#define TS_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Set the 16-byte key; call once at start-up (tests may fix it). */
void hash_set_seed(const uint8_t seed[16]);
/* Fill the key from /dev/urandom (falls back to time and pid). */
void hash_seed_random(void);

uint64_t hash_bytes(const void *p, size_t n);
uint64_t hash_bytes_nocase(const void *p, size_t n);

/* Unkeyed FNV-1a, continuing from h (start with HASH_FNV_INIT): for
 * fingerprints of our own state, never for tables of client keys. */
#define HASH_FNV_INIT 1469598103934665603ULL
static inline uint64_t hash_fnv1a(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 1099511628211ULL;
    }
    return h;
}

#endif
