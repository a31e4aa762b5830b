/*
 * intset.h: Redis's intset, byte for byte.
 *
 * A small set of integers kept as one allocation: a sorted array of
 * distinct values, all stored with the width of the widest one.
 *
 *    offset 0  encoding  u32 LE   2, 4 or 8: bytes per value
 *           4  length    u32 LE   number of values
 *           8  values             length * encoding bytes, little-endian,
 *                                 strictly increasing
 *
 * This is exactly the blob Redis stores for OBJ_ENCODING_INTSET and writes
 * in RDB files and DUMP payloads (RDB_TYPE_SET_INTSET = 11, as a string),
 * so a set can travel between Tessera and Redis unchanged.  Adding a value
 * that needs a wider encoding upgrades the whole array; the encoding never
 * narrows again (as in Redis).  The allocation is always exactly the blob
 * size (Redis reallocates on every add and remove), which is what keeps a
 * set of a few small integers in one small jemalloc size class.
 *
 * Functions that change an intset may reallocate it and return its new
 * address.  Memory from ts_malloc (accounted in used_memory).
 */
#ifndef TS_INTSET_H
#define TS_INTSET_H

#include <stddef.h>
#include <stdint.h>

typedef struct intset intset_t;

#define INTSET_HDR 8  /* encoding + length */

/* An empty intset (16-bit encoding).  Never NULL (aborts on OOM). */
intset_t *intset_new(void);
void intset_free(intset_t *is);
/* Write an empty intset (16-bit encoding) into INTSET_HDR bytes at buf. */
void intset_init(void *buf);
/* A copy (same bytes). */
intset_t *intset_dup(const intset_t *is);

/* Add v.  *added (if not NULL) is 1 if v was not there.  Returns the
 * intset, possibly moved. */
intset_t *intset_add(intset_t *is, int64_t v, int *added);
/* Remove v.  *removed (if not NULL) is 1 if it was there.  Returns the
 * intset, possibly moved. */
intset_t *intset_remove(intset_t *is, int64_t v, int *removed);
/*
 * The same changes in a buffer the caller owns (an intset embedded in a
 * keyspace entry, ks_blob_resize): intset_add_len is the blob size once v
 * is added, or 0 if v is already there; the caller makes the buffer that
 * big, then intset_add_in_place adds v (which must be absent).
 * intset_remove_in_place removes v (1 if it was there) and leaves the
 * blob intset_blob_len bytes long; the caller may then shrink the buffer.
 */
size_t intset_add_len(const intset_t *is, int64_t v);
void intset_add_in_place(intset_t *is, int64_t v);
int intset_remove_in_place(intset_t *is, int64_t v);
/* 1 if v is in the set (binary search). */
int intset_find(const intset_t *is, int64_t v);

/* Number of values; bytes per value (2, 4, 8); blob size in bytes. */
uint32_t intset_len(const intset_t *is);
uint32_t intset_encoding(const intset_t *is);
size_t intset_blob_len(const intset_t *is);

/* The value at pos (0 .. len-1, ascending order).  Returns 1, or 0 (and
 * leaves *v alone) if pos is out of range. */
int intset_get(const intset_t *is, uint32_t pos, int64_t *v);
/* A uniformly random value; the set must not be empty. */
int64_t intset_random(const intset_t *is, uint64_t (*rnd)(void));

/*
 * Validate untrusted bytes (an RDB or DUMP payload) as Redis's
 * intsetValidateIntegrity does: a known encoding, a size that matches the
 * length exactly, not empty; with deep != 0 also strictly increasing
 * values (sorted, no duplicates).  1 if the bytes are a valid intset.
 */
int intset_validate(const void *p, size_t size, int deep);
/* Copy `size` validated bytes into a new intset (owned by the caller). */
intset_t *intset_from_blob(const void *p, size_t size);
/* The blob itself (intset_blob_len bytes), e.g. for RDB/DUMP. */
const unsigned char *intset_blob(const intset_t *is);

#endif
