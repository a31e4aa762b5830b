/*
 * check_t_hll.c: the HyperLogLog format and arithmetic (node/types/t_hll.c)
 * without a server.
 *
 * Known answers captured from redis-server 7.0.15 (the exact sparse bytes
 * after PFADD of "a".."g", PFCOUNT of "e0".."e<n-1>"), then a model test:
 * random register updates go to a sparse value (promoted to dense when
 * hll_sparse_set asks) and to a plain array of registers; after every
 * step the value's registers and count must equal the model's.  Last,
 * hostile sparse payloads (random opcodes, truncated values): the readers
 * agree on what is corrupt and nothing reads or writes out of bounds
 * (this suite runs under ASan in CI).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "t_hll.h"

/* An empty sparse HLL: header and one XZERO of 16384. */
static size_t empty_sparse(uint8_t *s)
{
    memset(s, 0, HLL_HDR_SIZE);
    memcpy(s, "HYLL", 4);
    s[4] = HLL_SPARSE;
    s[HLL_HDR_SIZE] = 0x7f;
    s[HLL_HDR_SIZE + 1] = 0xff;
    return HLL_HDR_SIZE + 2;
}

static uint8_t buf[HLL_DENSE_SIZE + 16];
static uint8_t dense[HLL_DENSE_SIZE];

/* PFADD without the server: the element into a sparse value (buf, *len)
 * or, once promoted, the dense one.  Returns 1 if a register changed. */
static int add(const char *ele, size_t *len, int *is_dense, size_t max)
{
    long index;
    int count = hll_pat_len((const unsigned char *)ele, strlen(ele), &index);
    if (!*is_dense) {
        int rc = hll_sparse_set(buf, len, index, (unsigned)count, max);
        ck_assert_int_ge(rc, 0);
        if (rc != 2) return rc;
        ck_assert_int_eq(hll_sparse_to_dense(buf, *len, dense), 0);
        *is_dense = 1;
    }
    unsigned old = hll_dense_get(dense + HLL_HDR_SIZE, index);
    if ((unsigned)count <= old) return 0;
    hll_dense_set(dense + HLL_HDR_SIZE, index, (unsigned)count);
    return 1;
}

START_TEST(test_known_sparse_bytes)
{
    /* redis-server 7.0.15: PFADD s a b c d e f g; GET s */
    static const uint8_t want[] = {
        'H', 'Y', 'L', 'L', 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x80,
        0x46, 0x6d, 0x80, 0x56, 0x0c, 0x80, 0x44, 0x3c, 0x84, 0x38, 0x80,
        0x50, 0xb1, 0x84, 0x49, 0x8c, 0x80, 0x42, 0x6d, 0x80, 0x42, 0x5a};
    size_t len = empty_sparse(buf);
    int is_dense = 0;
    for (char c = 'a'; c <= 'g'; c++) {
        char ele[2] = {c, 0};
        ck_assert_int_eq(add(ele, &len, &is_dense, 3000), 1);
    }
    buf[15] |= 0x80; /* PFADD invalidates the cache */
    ck_assert_uint_eq(len, sizeof(want));
    ck_assert_mem_eq(buf, want, sizeof(want));
    int invalid;
    ck_assert_uint_eq(hll_count(buf, len, &invalid), 7);
    ck_assert_int_eq(invalid, 0);
}
END_TEST

START_TEST(test_known_counts)
{
    /* redis-server 7.0.15: PFCOUNT after PFADD x e0 .. e<n-1> */
    static const struct { long n; uint64_t count; int dense; } kat[] = {
        {1000, 1008, 0}, {10000, 9973, 1}, {100000, 100853, 1}};
    for (size_t k = 0; k < sizeof(kat) / sizeof(kat[0]); k++) {
        size_t len = empty_sparse(buf);
        int is_dense = 0;
        char ele[32];
        for (long i = 0; i < kat[k].n; i++) {
            snprintf(ele, sizeof(ele), "e%ld", i);
            add(ele, &len, &is_dense, 3000);
        }
        int invalid;
        uint64_t c = is_dense ? hll_count(dense, HLL_DENSE_SIZE, &invalid)
                              : hll_count(buf, len, &invalid);
        ck_assert_int_eq(invalid, 0);
        ck_assert_int_eq(is_dense, kat[k].dense);
        ck_assert_uint_eq(c, kat[k].count);
    }
}
END_TEST

START_TEST(test_dense_registers)
{
    static uint8_t regs[HLL_DENSE_SIZE - HLL_HDR_SIZE];
    static uint8_t model[HLL_REGISTERS];
    memset(regs, 0, sizeof(regs));
    memset(model, 0, sizeof(model));
    srand(1);
    for (int step = 0; step < 200000; step++) {
        long i = rand() % HLL_REGISTERS;
        unsigned v = (unsigned)(rand() % 64);
        hll_dense_set(regs, i, v);
        model[i] = (uint8_t)v;
        if (step % 20000 == 0)
            for (long j = 0; j < HLL_REGISTERS; j++)
                ck_assert_uint_eq(hll_dense_get(regs, j), model[j]);
    }
    /* the last register ends exactly at the last byte */
    hll_dense_set(regs, HLL_REGISTERS - 1, 63);
    ck_assert_uint_eq(regs[sizeof(regs) - 1] >> 2, 63);
}
END_TEST

/* Registers of a value (sparse or dense) into out[16384]. */
static void registers_of(const uint8_t *s, size_t len, uint8_t *out)
{
    memset(out, 0, HLL_REGISTERS);
    ck_assert_int_eq(hll_merge(out, s, len), 0);
}

START_TEST(test_model)
{
    static uint8_t model[HLL_REGISTERS], got[HLL_REGISTERS];
    for (int round = 0; round < 6; round++) {
        memset(model, 0, sizeof(model));
        size_t len = empty_sparse(buf);
        int is_dense = 0;
        size_t max = round < 3 ? 3000 : 300 + 2000 * (size_t)(round - 3);
        srand(100 + round);
        /* mostly small values and clustered indexes, so runs form, merge
         * and split; some values above 32 force the promotion */
        for (int step = 0; step < 4000; step++) {
            long i = rand() % 4 == 0 ? rand() % HLL_REGISTERS
                                     : (step * 7 + rand() % 9) % HLL_REGISTERS;
            unsigned v = 1 + (unsigned)(rand() % (step > 3000 ? 40 : 8));
            int want = v > model[i];
            int rc;
            if (!is_dense) {
                rc = hll_sparse_set(buf, &len, i, v, max);
                ck_assert_int_ge(rc, 0);
                ck_assert_uint_le(len, max > HLL_DENSE_SIZE ? max : HLL_DENSE_SIZE);
                if (rc == 2) {
                    ck_assert(v > 32 || len + 3 > max);
                    ck_assert_int_eq(hll_sparse_to_dense(buf, len, dense), 0);
                    is_dense = 1;
                }
            }
            if (is_dense) {
                unsigned old = hll_dense_get(dense + HLL_HDR_SIZE, i);
                rc = v > old;
                if (rc) hll_dense_set(dense + HLL_HDR_SIZE, i, v);
            }
            ck_assert_int_eq(rc, want);
            if (want) model[i] = (uint8_t)v;
            if (step % 97 == 0 || step == 3999) {
                const uint8_t *s = is_dense ? dense : buf;
                size_t n = is_dense ? HLL_DENSE_SIZE : len;
                registers_of(s, n, got);
                ck_assert_mem_eq(got, model, HLL_REGISTERS);
                int invalid;
                ck_assert_uint_eq(hll_count(s, n, &invalid),
                                  hll_count_raw(model));
                ck_assert_int_eq(invalid, 0);
            }
        }
    }
}
END_TEST

START_TEST(test_hostile_sparse)
{
    static uint8_t out[HLL_DENSE_SIZE], max[HLL_REGISTERS];
    srand(7);
    for (int it = 0; it < 20000; it++) {
        size_t len = HLL_HDR_SIZE + (size_t)(rand() % 64);
        memset(buf, 0, HLL_HDR_SIZE);
        memcpy(buf, "HYLL", 4);
        buf[4] = HLL_SPARSE;
        for (size_t j = HLL_HDR_SIZE; j < len; j++) {
            int kind = rand() % 4;
            buf[j] = kind == 0 ? (uint8_t)(0x40 | (rand() % 64))  /* XZERO */
                   : (uint8_t)rand();
        }
        /* the three readers agree on validity */
        int invalid;
        hll_count(buf, len, &invalid);
        memset(max, 0, sizeof(max));
        int merge_bad = hll_merge(max, buf, len) != 0;
        int dense_bad = hll_sparse_to_dense(buf, len, out) != 0;
        ck_assert_int_eq(invalid, merge_bad);
        ck_assert_int_eq(invalid, dense_bad);
        /* updates stay inside len + 4 (an exact allocation, for ASan)
         * and report corruption, nothing to do, a change or promotion */
        uint8_t *copy = malloc(len + 4);
        ck_assert_ptr_nonnull(copy);
        memcpy(copy, buf, len);
        size_t n = len;
        int rc = hll_sparse_set(copy, &n, rand() % HLL_REGISTERS,
                                1 + (unsigned)(rand() % 32), 3000);
        ck_assert(rc >= -1 && rc <= 2);
        ck_assert_uint_le(n, len + 4);
        free(copy);
    }
}
END_TEST

START_TEST(test_header)
{
    size_t len = empty_sparse(buf);
    ck_assert(hll_is_valid_header(buf, len));
    ck_assert(!hll_is_valid_header(buf, 15));
    buf[4] = 2;
    ck_assert(!hll_is_valid_header(buf, len));
    buf[4] = HLL_DENSE;
    ck_assert(!hll_is_valid_header(buf, len));       /* wrong dense size */
    memset(dense, 0, sizeof(dense));
    memcpy(dense, "HYLL", 4);
    ck_assert(hll_is_valid_header(dense, HLL_DENSE_SIZE));
    dense[0] = 'h';
    ck_assert(!hll_is_valid_header(dense, HLL_DENSE_SIZE));
}
END_TEST

static Suite *t_hll_suite(void)
{
    Suite *s = suite_create("t_hll");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_known_sparse_bytes);
    tcase_add_test(tc, test_known_counts);
    tcase_add_test(tc, test_dense_registers);
    tcase_add_test(tc, test_model);
    tcase_add_test(tc, test_hostile_sparse);
    tcase_add_test(tc, test_header);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(t_hll_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
