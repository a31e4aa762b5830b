/*
 * t_hll.h: Redis 7.0's HyperLogLog format and arithmetic (t_hll.c), for
 * the PF* commands and for tests and fuzz harnesses that drive the
 * encoder/decoder without a server.
 *
 * A HyperLogLog is a string value: a 16-byte header ("HYLL", encoding
 * byte, 3 unused bytes, 8-byte little-endian cached cardinality whose top
 * bit marks the cache invalid) followed by the registers, either dense
 * (16384 six-bit registers, 12288 bytes) or sparse (ZERO / XZERO / VAL
 * run-length opcodes).  Every function here validates what it reads:
 * bytes from SET, RESTORE or an RDB file may be hostile.
 */
#ifndef TS_T_HLL_H
#define TS_T_HLL_H

#include <stddef.h>
#include <stdint.h>

#define HLL_P 14
#define HLL_Q (64 - HLL_P)
#define HLL_REGISTERS (1 << HLL_P)              /* 16384 */
#define HLL_HDR_SIZE 16
#define HLL_DENSE_SIZE (HLL_HDR_SIZE + (HLL_REGISTERS * 6 + 7) / 8) /* 12304 */
#define HLL_DENSE 0
#define HLL_SPARSE 1

/* MurmurHash64A as Redis uses it (seed 0xadc83b19 for HLLs). */
uint64_t hll_murmur64a(const void *key, size_t len, uint64_t seed);
/* Register index and run length (1..51) of an element. */
int hll_pat_len(const unsigned char *ele, size_t len, long *index);

/* 1 if s is a HyperLogLog Redis accepts (magic, encoding 0/1, dense
 * length exact); the sparse opcodes are checked where they are used. */
int hll_is_valid_header(const uint8_t *s, size_t len);

/* Dense registers (the 12288 bytes after the header). */
unsigned hll_dense_get(const uint8_t *regs, long i);
void hll_dense_set(uint8_t *regs, long i, unsigned val);

/* Cardinality of a dense or sparse HLL (s: whole value).  *invalid is
 * set to 1 (and 0 returned) for a corrupt sparse encoding. */
uint64_t hll_count(const uint8_t *s, size_t len, int *invalid);
/* Cardinality of 16384 8-bit registers (PFCOUNT of several keys). */
uint64_t hll_count_raw(const uint8_t *regs);

/* max[i] = MAX(max[i], register i of s) for every register; -1 if s is a
 * corrupt sparse HLL.  s must have a valid header. */
int hll_merge(uint8_t *max, const uint8_t *s, size_t len);

/* Expand a sparse HLL (header included) into dense (out: HLL_DENSE_SIZE
 * bytes, header copied with encoding set to dense).  -1 if corrupt. */
int hll_sparse_to_dense(const uint8_t *s, size_t len, uint8_t *out);

/*
 * Set register index to count (if count is larger) in the sparse HLL s of
 * *len bytes, exactly as Redis's hllSparseSet edits the opcodes.  s must
 * have room for *len + 4 bytes.  Returns 1 if changed (*len updated, the
 * cache not touched), 0 if not, -1 if s is corrupt, 2 if the HLL must be
 * promoted to dense first (count > 32 or it would grow past max_bytes).
 */
int hll_sparse_set(uint8_t *s, size_t *len, long index, unsigned count,
                   size_t max_bytes);

#endif
