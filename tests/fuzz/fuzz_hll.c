/*
 * fuzz_hll.c: libFuzzer harness for the HyperLogLog sparse decoder and
 * editor (node/types/t_hll.c), the code that reads HLL strings written
 * with SET, RESTORE or an RDB file.
 *
 * Input: bytes 0-1 pick a register and byte 2 a value for an update; the
 * rest is the sparse opcode stream after a valid sparse header.
 *
 * Properties: nothing reads or writes out of bounds (ASan; the value sits
 * in an allocation of exactly its length, the update's in length + 4);
 * the three readers (count, merge, expansion to dense) agree on whether
 * the value is corrupt; a valid value expands to the registers the merge
 * sees and to the same count; an update of a valid value keeps it valid
 * and leaves the register at least as large as asked, unless the value
 * ends in a truncated XZERO (read with a 0 second byte, as Redis reads
 * its string terminator; Redis's update then cuts the last byte it wrote,
 * and so does Tessera's).
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "t_hll.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* 1 if the opcodes end with the first byte of an XZERO. */
static int truncated_xzero(const uint8_t *p, const uint8_t *end)
{
    while (p < end) {
        if ((*p & 0xc0) == 0x40) {
            if (p + 1 == end) return 1;
            p += 2;
        } else {
            p++;
        }
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static uint8_t dense[HLL_DENSE_SIZE], regs[HLL_REGISTERS];
    static uint8_t regs2[HLL_REGISTERS];
    if (size < 3 || size > 64 * 1024) return 0;
    long index = ((long)data[0] << 8 | data[1]) % HLL_REGISTERS;
    unsigned count = 1 + data[2] % 51;
    size_t len = HLL_HDR_SIZE + size - 3;
    uint8_t *s = malloc(len);
    assert(s);
    memset(s, 0, HLL_HDR_SIZE);
    memcpy(s, "HYLL", 4);
    s[4] = HLL_SPARSE;
    s[15] = 0x80;
    memcpy(s + HLL_HDR_SIZE, data + 3, size - 3);

    int invalid;
    uint64_t c = hll_count(s, len, &invalid);
    memset(regs, 0, sizeof(regs));
    int merge_bad = hll_merge(regs, s, len) != 0;
    int dense_bad = hll_sparse_to_dense(s, len, dense) != 0;
    assert(invalid == merge_bad && invalid == dense_bad);
    if (!invalid) {
        int inv2;
        assert(hll_count(dense, HLL_DENSE_SIZE, &inv2) == c && !inv2);
        for (long i = 0; i < HLL_REGISTERS; i++)
            assert(hll_dense_get(dense + HLL_HDR_SIZE, i) == regs[i]);
    }

    uint8_t *w = malloc(len + 4);
    assert(w);
    memcpy(w, s, len);
    size_t n = len;
    int rc = hll_sparse_set(w, &n, index, count, 3000);
    assert(rc >= -1 && rc <= 2 && n <= len + 4);
    if (!invalid && !truncated_xzero(s + HLL_HDR_SIZE, s + len)) {
        assert(rc >= 0);
        if (rc == 1) {
            memset(regs2, 0, sizeof(regs2));
            assert(hll_merge(regs2, w, n) == 0);
            assert(regs2[index] == count);
            regs[index] = (uint8_t)count;
            assert(memcmp(regs, regs2, sizeof(regs)) == 0);
        } else if (rc == 0) {
            assert(regs[index] >= count);
        }
    }
    free(w);
    free(s);
    return 0;
}
