/*
 * check_hash.c: SipHash-1-3 (common/hash.c).
 *
 * A deliberately plain reference SipHash-c-d (byte-at-a-time, rounds as
 * parameters) is first checked against the published SipHash-2-4 vectors
 * (veorq/SipHash vectors.h: key 00..0f, message i = bytes 00..i-1), then
 * used as the oracle for hash_bytes at 1-3 on every length and alignment.
 * The first SipHash-1-3 values for the same key and messages are pinned
 * too (they match other 1-3 implementations' tables).
 */
#include <check.h>
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

static uint64_t rotl(uint64_t x, int b) { return (x << b) | (x >> (64 - b)); }

static void ref_round(uint64_t v[4])
{
    v[0] += v[1]; v[1] = rotl(v[1], 13); v[1] ^= v[0]; v[0] = rotl(v[0], 32);
    v[2] += v[3]; v[3] = rotl(v[3], 16); v[3] ^= v[2];
    v[0] += v[3]; v[3] = rotl(v[3], 21); v[3] ^= v[0];
    v[2] += v[1]; v[1] = rotl(v[1], 17); v[1] ^= v[2]; v[2] = rotl(v[2], 32);
}

static uint64_t ref_siphash(int c, int d, const uint8_t key[16],
                            const uint8_t *in, size_t n)
{
    uint64_t k0 = 0, k1 = 0;
    for (int i = 7; i >= 0; i--) {
        k0 = (k0 << 8) | key[i];
        k1 = (k1 << 8) | key[8 + i];
    }
    uint64_t v[4] = {k0 ^ 0x736f6d6570736575ULL, k1 ^ 0x646f72616e646f6dULL,
                     k0 ^ 0x6c7967656e657261ULL, k1 ^ 0x7465646279746573ULL};
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t m = 0;
        for (int j = 7; j >= 0; j--) m = (m << 8) | in[i + (size_t)j];
        v[3] ^= m;
        for (int r = 0; r < c; r++) ref_round(v);
        v[0] ^= m;
    }
    uint64_t b = (uint64_t)(n & 0xff) << 56;
    for (size_t j = 0; i + j < n; j++) b |= (uint64_t)in[i + j] << (8 * j);
    v[3] ^= b;
    for (int r = 0; r < c; r++) ref_round(v);
    v[0] ^= b;
    v[2] ^= 0xff;
    for (int r = 0; r < d; r++) ref_round(v);
    return v[0] ^ v[1] ^ v[2] ^ v[3];
}

static const uint8_t std_key[16] = {0, 1, 2, 3, 4, 5, 6, 7,
                                    8, 9, 10, 11, 12, 13, 14, 15};
static uint8_t std_msg[64];

static void setup(void)
{
    for (int i = 0; i < 64; i++) std_msg[i] = (uint8_t)i;
    hash_set_seed(std_key);
}

/* SipHash-2-4, vectors.h vectors_sip64[0..9] and [15]. */
START_TEST(test_reference_is_siphash)
{
    static const uint64_t want[] = {
        0x726fdb47dd0e0e31ULL, 0x74f839c593dc67fdULL, 0x0d6c8009d9a94f5aULL,
        0x85676696d7fb7e2dULL, 0xcf2794e0277187b7ULL, 0x18765564cd99a68dULL,
        0xcbc9466e58fee3ceULL, 0xab0200f58b01d137ULL, 0x93f5f5799a932462ULL,
        0x9e0082df0ba9e4b0ULL,
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        ck_assert_uint_eq(ref_siphash(2, 4, std_key, std_msg, i), want[i]);
    ck_assert_uint_eq(ref_siphash(2, 4, std_key, std_msg, 15),
                      0xa129ca6149be45e5ULL);
}
END_TEST

/* SipHash-1-3, same key and messages. */
START_TEST(test_known_answers_13)
{
    static const uint64_t want[] = {
        0xabac0158050fc4dcULL, 0xc9f49bf37d57ca93ULL, 0x82cb9b024dc7d44dULL,
        0x8bf80ab8e7ddf7fbULL, 0xcf75576088d38328ULL, 0xdef9d52f49533b67ULL,
        0xc50d2b50c59f22a7ULL, 0xd3927d989bb11140ULL, 0x369095118d299a8eULL,
        0x25a48eb36c063de4ULL, 0x79de85ee92ff097fULL, 0x70c118c1f94dc352ULL,
        0x78a384b157b4d9a2ULL, 0x306f760c1229ffa7ULL, 0x605aa111c0f95d34ULL,
        0xd320d86d2a519956ULL, 0xcc4fdd1a7d908b66ULL,
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        ck_assert_uint_eq(hash_bytes(std_msg, i), want[i]);
        ck_assert_uint_eq(ref_siphash(1, 3, std_key, std_msg, i), want[i]);
    }
}
END_TEST

static uint64_t rng_state = 88172645463325252ULL;

static uint64_t rng(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Every length 0..300 at every alignment, under random keys. */
START_TEST(test_matches_reference)
{
    uint8_t buf[320 + 8];
    for (int round = 0; round < 20; round++) {
        uint8_t key[16];
        for (int i = 0; i < 16; i++) key[i] = (uint8_t)rng();
        hash_set_seed(key);
        for (size_t i = 0; i < sizeof(buf); i++) buf[i] = (uint8_t)rng();
        for (size_t n = 0; n <= 300; n++) {
            size_t off = n % 8;
            ck_assert_uint_eq(hash_bytes(buf + off, n),
                              ref_siphash(1, 3, key, buf + off, n));
        }
    }
}
END_TEST

START_TEST(test_seed_changes_hash)
{
    uint8_t k2[16];
    memcpy(k2, std_key, 16);
    uint64_t a = hash_bytes("key:0000000", 11);
    k2[15] ^= 1;
    hash_set_seed(k2);
    uint64_t b = hash_bytes("key:0000000", 11);
    ck_assert_uint_ne(a, b);
    hash_seed_random();
    uint64_t c = hash_bytes("key:0000000", 11);
    hash_seed_random();
    ck_assert_uint_ne(c, hash_bytes("key:0000000", 11));
}
END_TEST

static uint8_t ascii_lower(uint8_t c)
{
    return (c >= 'A' && c <= 'Z') ? (uint8_t)(c + 32) : c;
}

/* nocase == hash of the lower-cased bytes; only A-Z fold. */
START_TEST(test_nocase)
{
    static const char *words[] = {"GET", "get", "GeT", "CLUSTER", "cluster",
                                  "@[`{", "ZUNIONSTORE", ""};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
        size_t n = strlen(words[i]);
        uint8_t low[32];
        for (size_t j = 0; j < n; j++) low[j] = ascii_lower((uint8_t)words[i][j]);
        ck_assert_uint_eq(hash_bytes_nocase(words[i], n), hash_bytes(low, n));
    }
    ck_assert_uint_eq(hash_bytes_nocase("SET", 3), hash_bytes_nocase("set", 3));
    /* The neighbours of the A-Z range and high bytes stay as they are. */
    ck_assert_uint_ne(hash_bytes_nocase("@", 1), hash_bytes("`", 1));
    ck_assert_uint_ne(hash_bytes_nocase("[", 1), hash_bytes("{", 1));
    ck_assert_uint_eq(hash_bytes_nocase("\xc1\xda", 2), hash_bytes("\xc1\xda", 2));

    uint8_t buf[200], low[200];
    for (int round = 0; round < 2000; round++) {
        size_t n = (size_t)(rng() % 190);
        size_t off = (size_t)(rng() % 8);
        for (size_t j = 0; j < n; j++) {
            uint64_t r = rng();
            /* Bias towards letters and the bytes around them. */
            uint8_t c = (r & 3) ? (uint8_t)(0x3f + (r >> 8) % 0x40) : (uint8_t)(r >> 16);
            buf[off + j] = c;
            low[j] = ascii_lower(c);
        }
        ck_assert_uint_eq(hash_bytes_nocase(buf + off, n), hash_bytes(low, n));
    }
    /* Every single byte value. */
    for (unsigned c = 0; c < 256; c++) {
        uint8_t in[9], lo[9];
        for (int j = 0; j < 9; j++) {
            in[j] = (uint8_t)c;
            lo[j] = ascii_lower((uint8_t)c);
        }
        ck_assert_uint_eq(hash_bytes_nocase(in, 9), hash_bytes(lo, 9));
    }
}
END_TEST

static Suite *hash_suite(void)
{
    Suite *s = suite_create("hash");
    TCase *tc = tcase_create("siphash13");
    tcase_add_checked_fixture(tc, setup, NULL);
    tcase_add_test(tc, test_reference_is_siphash);
    tcase_add_test(tc, test_known_answers_13);
    tcase_add_test(tc, test_matches_reference);
    tcase_add_test(tc, test_seed_changes_hash);
    tcase_add_test(tc, test_nocase);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(hash_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
