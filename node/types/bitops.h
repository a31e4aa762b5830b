/*
 * bitops.h: bit-level primitives over byte strings, for the bitmap
 * commands (t_bitmap.c).
 *
 * Bits are numbered as Redis numbers them: bit 0 is the most significant
 * bit of byte 0, bit 8 the most significant bit of byte 1, and so on.  A
 * bitfield of `bits` bits at bit offset `off` is read most significant
 * bit first (big endian when the field is byte-aligned).
 *
 * Popcount and bit search go a 64-bit word at a time (unaligned loads
 * through memcpy, which compilers turn into plain loads), so BITCOUNT and
 * BITPOS on a 512 MB string take one pass of word operations.
 */
#ifndef TS_BITOPS_H
#define TS_BITOPS_H

#include <stddef.h>
#include <stdint.h>

/* Number of bits set in p[0..n-1]. */
long long bitops_popcount(const unsigned char *p, size_t n);

/*
 * Position of the first bit equal to `bit` (0 or 1) in p[0..n-1].  If
 * there is none: -1 when looking for a 1; n * 8 when looking for a 0 (the
 * string is taken as padded with zeros on the right), as Redis's
 * redisBitpos.
 */
long long bitops_bitpos(const unsigned char *p, size_t n, int bit);

/* The unsigned value of the `bits` bits (1..64) at bit offset off.  The
 * caller guarantees p holds bit off + bits - 1. */
uint64_t bitops_get_unsigned(const unsigned char *p, uint64_t off,
                             unsigned bits);
/* The same, sign-extended from the field's top bit. */
int64_t bitops_get_signed(const unsigned char *p, uint64_t off, unsigned bits);
/* Store the low `bits` bits of v at bit offset off. */
void bitops_set(unsigned char *p, uint64_t off, unsigned bits, uint64_t v);

/* Overflow behaviours of BITFIELD (OVERFLOW WRAP|SAT|FAIL). */
enum { BITOPS_WRAP = 0, BITOPS_SAT = 1, BITOPS_FAIL = 2 };

/*
 * Would value + incr overflow an unsigned (bits 1..63) or signed (bits
 * 1..64) field?  0 if not; 1 on overflow, -1 on underflow.  When it does
 * and ow is WRAP or SAT, *limit is what to store: the wrapped result, or
 * the bound that was crossed.  These are Redis 7.0's
 * check{Unsigned,Signed}BitfieldOverflow, with their edge behaviour for
 * out-of-range SET values (computed here without signed overflow).
 */
int bitops_overflow_unsigned(uint64_t value, int64_t incr, unsigned bits,
                             int ow, uint64_t *limit);
int bitops_overflow_signed(int64_t value, int64_t incr, unsigned bits, int ow,
                           int64_t *limit);

#endif
