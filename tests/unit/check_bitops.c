/*
 * check_bitops.c: node/types/bitops.c.
 *
 * Known answers (Redis's documentation: BITCOUNT "foobar" is 26; BITPOS
 * of "\xff\xf0\x00" for 0 is 12), then the word-at-a-time popcount and
 * bit search against bit-by-bit models on random buffers at every start
 * alignment and length 0..80 (so every split between the byte prologue,
 * the 32-byte and 8-byte loops and the byte tail is crossed), bitfield
 * get/set round trips at odd offsets, and the overflow rules on their
 * edges (values from redis-server 7.0.15's BITFIELD replies).
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bitops.h"

static long long model_popcount(const unsigned char *p, size_t n)
{
    long long c = 0;
    for (size_t i = 0; i < n * 8; i++)
        c += (p[i / 8] >> (7 - i % 8)) & 1;
    return c;
}

static long long model_bitpos(const unsigned char *p, size_t n, int bit)
{
    for (size_t i = 0; i < n * 8; i++)
        if (((p[i / 8] >> (7 - i % 8)) & 1) == bit) return (long long)i;
    return bit ? -1 : (long long)n * 8;
}

START_TEST(test_known)
{
    const unsigned char *foobar = (const unsigned char *)"foobar";
    ck_assert_int_eq(bitops_popcount(foobar, 6), 26);
    ck_assert_int_eq(bitops_popcount(foobar + 1, 1), 6);
    const unsigned char k[] = {0xff, 0xf0, 0x00};
    ck_assert_int_eq(bitops_bitpos(k, 3, 0), 12);
    ck_assert_int_eq(bitops_bitpos(k, 3, 1), 0);
    const unsigned char ff[] = {0xff, 0xff};
    ck_assert_int_eq(bitops_bitpos(ff, 2, 0), 16);
    const unsigned char z[16] = {0};
    ck_assert_int_eq(bitops_bitpos(z, 16, 1), -1);
    ck_assert_int_eq(bitops_bitpos(z, 16, 0), 0);
    ck_assert_int_eq(bitops_bitpos(z, 0, 0), 0);
    ck_assert_int_eq(bitops_bitpos(z, 0, 1), -1);
    ck_assert_int_eq(bitops_popcount(z, 0), 0);
}
END_TEST

START_TEST(test_model_alignments)
{
    unsigned char buf[96];
    srand(7);
    for (int round = 0; round < 200; round++) {
        /* mostly runs of zeros / ones, so the word skips are taken */
        int mode = round % 4;
        for (size_t i = 0; i < sizeof(buf); i++) {
            unsigned char b = (unsigned char)rand();
            buf[i] = mode == 0   ? b
                     : mode == 1 ? 0
                     : mode == 2 ? 0xff
                                 : (rand() % 16 ? 0 : b);
        }
        if (mode == 1 || mode == 2)
            buf[rand() % sizeof(buf)] ^= (unsigned char)(1u << (rand() % 8));
        for (size_t start = 0; start < 8; start++) {
            for (size_t n = 0; n + start <= 88; n++) {
                const unsigned char *p = buf + start;
                ck_assert_int_eq(bitops_popcount(p, n), model_popcount(p, n));
                ck_assert_int_eq(bitops_bitpos(p, n, 0), model_bitpos(p, n, 0));
                ck_assert_int_eq(bitops_bitpos(p, n, 1), model_bitpos(p, n, 1));
            }
        }
    }
}
END_TEST

START_TEST(test_bitfield_roundtrip)
{
    unsigned char buf[16];
    srand(11);
    for (int round = 0; round < 20000; round++) {
        for (size_t i = 0; i < sizeof(buf); i++)
            buf[i] = (unsigned char)rand();
        unsigned char before[16];
        memcpy(before, buf, sizeof(buf));
        unsigned bits = 1 + (unsigned)(rand() % 64);
        uint64_t off = (uint64_t)(rand() % (int)(sizeof(buf) * 8 - bits + 1));
        uint64_t v = ((uint64_t)rand() << 40) ^ ((uint64_t)rand() << 20) ^
                     (uint64_t)rand();
        uint64_t mask = bits == 64 ? UINT64_MAX : ((uint64_t)1 << bits) - 1;
        bitops_set(buf, off, bits, v);
        ck_assert_uint_eq(bitops_get_unsigned(buf, off, bits), v & mask);
        int64_t s = bitops_get_signed(buf, off, bits);
        int neg = (v >> (bits - 1)) & 1;
        ck_assert_uint_eq((uint64_t)s & mask, v & mask);
        ck_assert_int_eq(s < 0, neg);
        /* nothing outside the field changed */
        for (uint64_t b = 0; b < sizeof(buf) * 8; b++) {
            if (b >= off && b < off + bits) continue;
            ck_assert_int_eq((buf[b / 8] >> (7 - b % 8)) & 1,
                             (before[b / 8] >> (7 - b % 8)) & 1);
        }
    }
    /* Redis's picture: u5 = 23 at offset 7 of zeros -> 00000001 01110000 */
    unsigned char z[2] = {0, 0};
    bitops_set(z, 7, 5, 23);
    ck_assert_uint_eq(z[0], 0x01);
    ck_assert_uint_eq(z[1], 0x70);
}
END_TEST

START_TEST(test_overflow)
{
    uint64_t u = 0;
    int64_t s = 0;
    /* u8: 250 + 10 wraps to 4, saturates at 255, underflow to 0 */
    ck_assert_int_eq(bitops_overflow_unsigned(250, 10, 8, BITOPS_WRAP, &u), 1);
    ck_assert_uint_eq(u, 4);
    ck_assert_int_eq(bitops_overflow_unsigned(250, 10, 8, BITOPS_SAT, &u), 1);
    ck_assert_uint_eq(u, 255);
    ck_assert_int_eq(bitops_overflow_unsigned(3, -5, 8, BITOPS_SAT, &u), -1);
    ck_assert_uint_eq(u, 0);
    ck_assert_int_eq(bitops_overflow_unsigned(3, -5, 8, BITOPS_WRAP, &u), -1);
    ck_assert_uint_eq(u, 254);
    ck_assert_int_eq(bitops_overflow_unsigned(3, 252, 8, BITOPS_FAIL, &u), 0);
    /* SET u8 -1 (the value is 2^64 - 1): over the top */
    ck_assert_int_eq(bitops_overflow_unsigned(UINT64_MAX, 0, 8, BITOPS_SAT, &u),
                     1);
    ck_assert_uint_eq(u, 255);
    /* i8: 120 + 10 wraps to -126; -128 - 1 saturates at -128 */
    ck_assert_int_eq(bitops_overflow_signed(120, 10, 8, BITOPS_WRAP, &s), 1);
    ck_assert_int_eq(s, -126);
    ck_assert_int_eq(bitops_overflow_signed(-128, -1, 8, BITOPS_SAT, &s), -1);
    ck_assert_int_eq(s, -128);
    ck_assert_int_eq(bitops_overflow_signed(-128, 255, 8, BITOPS_SAT, &s), 0);
    /* i64 edges */
    ck_assert_int_eq(bitops_overflow_signed(INT64_MAX, 1, 64, BITOPS_WRAP, &s),
                     1);
    ck_assert_int_eq(s, INT64_MIN);
    ck_assert_int_eq(bitops_overflow_signed(INT64_MIN, -1, 64, BITOPS_SAT, &s),
                     -1);
    ck_assert_int_eq(s, INT64_MIN);
    ck_assert_int_eq(
        bitops_overflow_signed(INT64_MIN, INT64_MAX, 64, BITOPS_SAT, &s), 0);
    /* SET i8 with INT64_MIN: Redis reports it as an overflow upwards */
    ck_assert_int_eq(bitops_overflow_signed(INT64_MIN, 0, 8, BITOPS_SAT, &s),
                     1);
    ck_assert_int_eq(s, 127);
}
END_TEST

static Suite *bitops_suite(void)
{
    Suite *s = suite_create("bitops");
    TCase *tc = tcase_create("bitops");
    tcase_add_test(tc, test_known);
    tcase_add_test(tc, test_model_alignments);
    tcase_add_test(tc, test_bitfield_roundtrip);
    tcase_add_test(tc, test_overflow);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(bitops_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
