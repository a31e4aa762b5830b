/*
 * check_lzf.c: LZF compression (common/lzf.c).
 *
 * Round trips for random, repetitive and mixed inputs of every size up to
 * a few KB; Redis 7.0.15's compressed bytes for three inputs reproduced
 * exactly (so DUMP payloads match Redis's); a known stream decoded by hand (a
 * literal run and an overlapping back reference, as liblzf writes them); output
 * limits respected (0 when the result would not fit); corrupt and truncated
 * streams rejected without reading or writing out of bounds (the ASan
 * build would catch it).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lzf.h"

static void round_trip(const unsigned char *in, size_t len)
{
    size_t room = len + len / 16 + 64; /* worst case: len * 33 / 32 + 1 */
    unsigned char *c = malloc(room), *d = malloc(len + 1);
    size_t cl = lzf_compress(NULL, in, len, c, room);
    ck_assert_uint_gt(cl, 0);
    size_t dl = lzf_decompress(c, cl, d, len);
    ck_assert_uint_eq(dl, len);
    ck_assert(memcmp(in, d, len) == 0);
    /* one byte of room less must not succeed */
    if (len > 1) ck_assert_uint_eq(lzf_decompress(c, cl, d, len - 1), 0);
    free(c);
    free(d);
}

START_TEST(test_round_trips)
{
    unsigned char buf[5000];
    srand(11);
    for (size_t len = 1; len < sizeof(buf); len += (len < 300 ? 1 : 97)) {
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)rand();
        round_trip(buf, len);
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)"abcab"[i % 5];
        round_trip(buf, len);
        for (size_t i = 0; i < len; i++)
            buf[i] = (unsigned char)(rand() % 4 ? 'x' : rand());
        round_trip(buf, len);
    }
}
END_TEST

START_TEST(test_compresses)
{
    unsigned char in[1000], out[1000];
    memset(in, 'a', sizeof(in));
    size_t cl = lzf_compress(NULL, in, sizeof(in), out, sizeof(out));
    ck_assert_uint_gt(cl, 0);
    ck_assert_uint_lt(cl, 20);
    /* random bytes do not fit in less than their size */
    srand(3);
    for (size_t i = 0; i < sizeof(in); i++)
        in[i] = (unsigned char)rand();
    ck_assert_uint_eq(lzf_compress(NULL, in, sizeof(in), out, sizeof(in) - 4),
                      0);
}
END_TEST

START_TEST(test_known_stream)
{
    /* literal "ab" (ctrl 1), then a back reference of length 2+4 = 6 at
     * offset 1 (ctrl (4 << 5) | 0, offset byte 1): "ab" + "ababab" */
    const unsigned char s[] = {0x01, 'a', 'b', 0x80, 0x01};
    unsigned char out[16];
    ck_assert_uint_eq(lzf_decompress(s, sizeof(s), out, sizeof(out)), 8);
    ck_assert(memcmp(out, "abababab", 8) == 0);
}
END_TEST

/* Redis 7.0.15's own output (from DUMP payloads): the compressor must
 * produce these exact bytes. */
static void known_answer(const char *in, size_t ilen, const char *hex)
{
    unsigned char want[256], got[512];
    size_t wl = strlen(hex) / 2;
    for (size_t i = 0; i < wl; i++) {
        unsigned v;
        sscanf(hex + 2 * i, "%2x", &v);
        want[i] = (unsigned char)v;
    }
    lzf_state_t *st = lzf_state_create();
    for (int round = 0; round < 3; round++) { /* a reused table too */
        size_t gl = lzf_compress(st, in, ilen, got, ilen - 4);
        ck_assert_uint_eq(gl, wl);
        ck_assert(memcmp(got, want, wl) == 0);
    }
    lzf_state_destroy(st);
}

START_TEST(test_same_bytes_as_redis)
{
    char rep[320];
    for (int i = 0; i < 40; i++)
        memcpy(rep + 8 * i, "abcdefgh", 8);
    known_answer(rep, sizeof(rep), "08616263646566676861e0ff07e12407016768");
    const char *text = "the quick brown fox jumps over the lazy dog; the "
                       "quick brown fox jumps again and again";
    known_answer(text, strlen(text),
                 "1f74686520717569636b2062726f776e20666f78206a756d7073206f76"
                 "65722074201e086c617a7920646f673b600de00d2c08616761696e2061"
                 "6e64400901696e");
    char a[300];
    memset(a, 'a', sizeof(a));
    known_answer(a, sizeof(a), "016161e0ff00e01700016161");
}
END_TEST

START_TEST(test_corrupt)
{
    unsigned char out[64];
    /* back reference before the start */
    const unsigned char a[] = {0x20, 0x05};
    ck_assert_uint_eq(lzf_decompress(a, sizeof(a), out, sizeof(out)), 0);
    /* literal run longer than the input */
    const unsigned char b[] = {0x1f, 'x'};
    ck_assert_uint_eq(lzf_decompress(b, sizeof(b), out, sizeof(out)), 0);
    /* back reference missing its offset byte */
    const unsigned char c[] = {0x00, 'x', 0x20};
    ck_assert_uint_eq(lzf_decompress(c, sizeof(c), out, sizeof(out)), 0);
    /* random garbage of every length: never out of bounds */
    unsigned char g[256];
    srand(5);
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)(rand() % (int)sizeof(g));
        for (size_t i = 0; i < len; i++)
            g[i] = (unsigned char)rand();
        unsigned char *o = malloc(40);
        (void)lzf_decompress(g, len, o, 40);
        free(o);
    }
}
END_TEST

int main(void)
{
    Suite *s = suite_create("lzf");
    TCase *tc = tcase_create("lzf");
    tcase_add_test(tc, test_round_trips);
    tcase_add_test(tc, test_compresses);
    tcase_add_test(tc, test_known_stream);
    tcase_add_test(tc, test_same_bytes_as_redis);
    tcase_add_test(tc, test_corrupt);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
