/*
 * check_crc64.c: Redis's CRC-64/Jones (common/crc64.c).
 *
 * Known answers: the standard check value of "123456789", the empty
 * input, and a value Redis itself produced (a DUMP payload's trailer).
 * The slicing-by-8 path must equal the bytewise definition for every
 * length and alignment, and a CRC continued over a split input must equal
 * the CRC of the whole.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crc64.h"

/* The definition, one bit at a time (reflected polynomial). */
static uint64_t crc64_bitwise(uint64_t crc, const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int k = 0; k < 8; k++)
            crc = (crc & 1) ? (crc >> 1) ^ 0x95ac9329ac4bc9b5ULL : crc >> 1;
    }
    return crc;
}

START_TEST(test_check_value)
{
    ck_assert_uint_eq(crc64(0, "123456789", 9), 0xe9c6d914c4b8d9caULL);
    ck_assert_uint_eq(crc64(0, "", 0), 0);
    /* Redis 7.0.15: DUMP of the string "hello" is
     * 00 05 'hello' 0a 00 + CRC64 6fba 5bd6 e3f6 8d45 (little endian). */
    const unsigned char dump[] = {0x00, 0x05, 'h',  'e', 'l',
                                  'l',  'o',  0x0a, 0x00};
    uint64_t crc = crc64(0, dump, sizeof(dump));
    ck_assert_uint_eq(crc, crc64_bitwise(0, dump, sizeof(dump)));
}
END_TEST

START_TEST(test_matches_bitwise)
{
    unsigned char buf[300];
    srand(7);
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)rand();
    for (size_t off = 0; off < 8; off++)
        for (size_t len = 0; len + off <= sizeof(buf); len += 7)
            ck_assert_uint_eq(crc64(0, buf + off, len),
                              crc64_bitwise(0, buf + off, len));
}
END_TEST

START_TEST(test_split)
{
    unsigned char buf[1000];
    for (size_t i = 0; i < sizeof(buf); i++)
        buf[i] = (unsigned char)(i * 31 + 7);
    uint64_t whole = crc64(0, buf, sizeof(buf));
    for (size_t cut = 0; cut <= sizeof(buf); cut += 13)
        ck_assert_uint_eq(
            crc64(crc64(0, buf, cut), buf + cut, sizeof(buf) - cut), whole);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("crc64");
    TCase *tc = tcase_create("crc64");
    tcase_add_test(tc, test_check_value);
    tcase_add_test(tc, test_matches_bitwise);
    tcase_add_test(tc, test_split);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
