/*
 * rng.h: xorshift64* (Vigna, "An experimental exploration of Marsaglia's
 * xorshift generators, scrambled", 2016), the fast non-cryptographic
 * random numbers the node samples with (random keys, eviction pools) and
 * the unit tests drive their models with.  Three shifts and a multiply,
 * no lock (libc random() takes one per call); the state is the caller's
 * and must not be 0.  Not for anything a client must not predict.
 */
#ifndef TS_RNG_H
#define TS_RNG_H

#include <stdint.h>

/* Next value of the sequence; advances *state. */
static inline uint64_t rng_step(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *state = x;
    return x * 0x2545f4914f6cdd1dULL;
}

#endif
