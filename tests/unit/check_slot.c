/*
 * check_slot.c: CRC16-XMODEM and hash slots (common/crc16.c).
 *
 * The key -> slot table below was checked against Debian's redis-server
 * 7.0.15 in cluster mode (CLUSTER KEYSLOT), so it pins Tessera to what every
 * cluster client computes.  The table-driven CRC is also compared with the
 * bitwise definition on random inputs.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slot.h"

/* The textbook bitwise CRC16-XMODEM: poly 0x1021, init 0, MSB first. */
static uint16_t crc16_bitwise(const unsigned char *p, size_t n)
{
    uint16_t crc = 0;
    for (size_t i = 0; i < n; i++) {
        crc ^= (uint16_t)(p[i] << 8);
        for (int b = 0; b < 8; b++)
            crc = (crc & 0x8000) ? (uint16_t)((crc << 1) ^ 0x1021)
                                 : (uint16_t)(crc << 1);
    }
    return crc;
}

START_TEST(test_crc_known_answers)
{
    ck_assert_uint_eq(crc16_xmodem("123456789", 9), 0x31C3);
    ck_assert_uint_eq(crc16_xmodem("", 0), 0);
    ck_assert_uint_eq(crc16_xmodem("a", 1), 0x7c87);
}
END_TEST

START_TEST(test_crc_matches_bitwise)
{
    unsigned char buf[300];
    unsigned seed = 12345;

    for (int iter = 0; iter < 2000; iter++) {
        size_t n = (size_t)(rand_r(&seed) % (int)sizeof(buf));
        for (size_t i = 0; i < n; i++)
            buf[i] = (unsigned char)rand_r(&seed);
        ck_assert_uint_eq(crc16_xmodem(buf, n), crc16_bitwise(buf, n));
    }
    for (int b = 0; b < 256; b++) {
        unsigned char c = (unsigned char)b;
        ck_assert_uint_eq(crc16_xmodem(&c, 1), crc16_bitwise(&c, 1));
    }
}
END_TEST

static const struct {
    const char *key;
    size_t len;
    unsigned slot;
} slot_cases[] = {
    {"foo", 3, 12182},
    {"bar", 3, 5061},
    {"hello", 5, 866},
    {"somekey", 7, 11058},
    {"foo{hash_tag}", 13, 2515},
    {"bar{hash_tag}", 13, 2515},
    {"{user1000}.following", 20, 3443},
    {"{user1000}.followers", 20, 3443},
    {"foo{}{bar}", 10, 8363},    /* empty first tag: whole key */
    {"foo{{bar}}zap", 13, 4015}, /* hashes "{bar" */
    {"foo{bar}{zap}", 13, 5061}, /* first tag only: "bar" */
    {"{}", 2, 15257},
    {"{", 1, 4092},
    {"}", 1, 12090},
    {"}{", 2, 12793},
    {"a{b", 3, 13340},
    {"{a}", 3, 15495},
    {"a}b{c}", 6, 7365},
    {"user:1000", 9, 1649},
    {"key:000000000001", 16, 8924},
    {"mylist", 6, 5282},
    {"counter:42", 10, 10246},
    {"\xff\x00\x01", 3, 8002}, /* binary, embedded NUL */
};

START_TEST(test_slot_table)
{
    for (size_t i = 0; i < sizeof(slot_cases) / sizeof(slot_cases[0]); i++) {
        unsigned got = slot_for_key(slot_cases[i].key, slot_cases[i].len);
        ck_assert_msg(got == slot_cases[i].slot, "slot(%s) = %u, want %u",
                      slot_cases[i].key, got, slot_cases[i].slot);
    }
}
END_TEST

START_TEST(test_slot_hashtag_rule)
{
    /* Same tag, same slot; the tag alone hashes like the bare key. */
    ck_assert_uint_eq(slot_for_key("{user1000}.following", 20),
                      slot_for_key("{user1000}.followers", 20));
    ck_assert_uint_eq(slot_for_key("x{user1000}y", 12),
                      slot_for_key("user1000", 8));
    /* "foo{}{bar}" hashes the whole key, not "bar". */
    ck_assert_uint_eq(slot_for_key("foo{}{bar}", 10),
                      crc16_xmodem("foo{}{bar}", 10) & 16383);
    ck_assert_uint_ne(slot_for_key("foo{}{bar}", 10), slot_for_key("bar", 3));
    /* "foo{{bar}}zap" hashes "{bar". */
    ck_assert_uint_eq(slot_for_key("foo{{bar}}zap", 13),
                      slot_for_key("{bar", 4));
    ck_assert_uint_eq(slot_for_key("{bar", 4), crc16_xmodem("{bar", 4) & 16383);
    /* Length is honoured: the '}' past n does not close the tag. */
    ck_assert_uint_eq(slot_for_key("{ab}", 3), crc16_xmodem("{ab", 3) & 16383);
    ck_assert_uint_eq(slot_for_key("", 0), 0);
}
END_TEST

START_TEST(test_slot_range)
{
    char key[32];
    unsigned seen_high = 0;

    for (int i = 0; i < 100000; i++) {
        int n = snprintf(key, sizeof(key), "key:%d", i);
        unsigned s = slot_for_key(key, (size_t)n);
        ck_assert_uint_lt(s, SLOT_COUNT);
        if (s >= SLOT_COUNT / 2) seen_high++;
    }
    /* Roughly uniform: both halves get a fair share. */
    ck_assert_uint_gt(seen_high, 45000);
    ck_assert_uint_lt(seen_high, 55000);
}
END_TEST

static Suite *slot_suite(void)
{
    Suite *s = suite_create("slot");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_crc_known_answers);
    tcase_add_test(tc, test_crc_matches_bitwise);
    tcase_add_test(tc, test_slot_table);
    tcase_add_test(tc, test_slot_hashtag_rule);
    tcase_add_test(tc, test_slot_range);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(slot_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
