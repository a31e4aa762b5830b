/*
 * check_intset.c: Redis's intset (node/types/intset.c).
 *
 * Known answers: blobs taken from redis-server 7.0.15 with DUMP of small
 * integer sets.  A DUMP payload is the RDB type byte (11 =
 * RDB_TYPE_SET_INTSET), the intset as an RDB string (length byte, bytes),
 * the 2-byte RDB version and an 8-byte CRC64; the strings below are the
 * intset bytes from those payloads.  Then intset_validate on good, short,
 * mis-sized, empty and unsorted blobs, and a model-based test: a sorted
 * array of int64 and an intset driven by the same random adds and removes
 * (values drawn so that all three encodings and the upgrades between them
 * happen), compared completely after every step.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "intset.h"

/* Hex to bytes; returns the length. */
static size_t unhex(const char *hex, unsigned char *out)
{
    size_t n = 0;
    for (; hex[0] && hex[1]; hex += 2) {
        unsigned v;
        sscanf(hex, "%2x", &v);
        out[n++] = (unsigned char)v;
    }
    return n;
}

static intset_t *build(const int64_t *v, size_t n)
{
    intset_t *is = intset_new();
    for (size_t i = 0; i < n; i++) {
        int added;
        is = intset_add(is, v[i], &added);
        ck_assert_int_eq(added, 1);
    }
    return is;
}

static void check_blob(intset_t *is, const char *hex)
{
    unsigned char want[64];
    size_t n = unhex(hex, want);
    ck_assert_uint_eq(intset_blob_len(is), n);
    ck_assert(memcmp(intset_blob(is), want, n) == 0);
    ck_assert(intset_validate(want, n, 1));
}

/* DUMP of SADD a 1 2 3 -5 300 (redis 7.0.15):
 * 0b 12 0200000005000000fbff0100020003002c01 0a00 9ccf43292b19eebb */
START_TEST(test_known_int16)
{
    int64_t v[] = {1, 2, 3, -5, 300};
    intset_t *is = build(v, 5);
    check_blob(is, "0200000005000000fbff0100020003002c01");
    ck_assert_uint_eq(intset_encoding(is), 2);
    intset_free(is);
}
END_TEST

/* SADD b 70000 -2:  0b 10 0400000002000000feffffff70110100 0a00 ... */
START_TEST(test_known_int32)
{
    int64_t v[] = {70000, -2};
    intset_t *is = build(v, 2);
    check_blob(is, "0400000002000000feffffff70110100");
    intset_free(is);
    /* SADD e 5, then SADD e -70000 (upgrade by prepending):
     * 0b 10 040000000200000090eefeff05000000 0a00 ... */
    int64_t w[] = {5, -70000};
    is = build(w, 2);
    check_blob(is, "040000000200000090eefeff05000000");
    intset_free(is);
}
END_TEST

/* SADD d -9223372036854775808:  0b 10 0800000001000000 0000000000000080 */
START_TEST(test_known_int64)
{
    int64_t v[] = {INT64_MIN};
    intset_t *is = build(v, 1);
    check_blob(is, "08000000010000000000000000000080");
    int64_t x;
    ck_assert(intset_get(is, 0, &x));
    ck_assert(x == INT64_MIN);
    ck_assert(!intset_get(is, 1, &x));
    intset_free(is);
}
END_TEST

START_TEST(test_basic)
{
    intset_t *is = intset_new();
    ck_assert_uint_eq(intset_len(is), 0);
    ck_assert_uint_eq(intset_blob_len(is), 8);
    ck_assert(!intset_find(is, 0));
    int r;
    is = intset_remove(is, 5, &r);
    ck_assert_int_eq(r, 0);
    is = intset_add(is, 5, &r);
    ck_assert_int_eq(r, 1);
    is = intset_add(is, 5, &r);
    ck_assert_int_eq(r, 0);
    ck_assert(intset_find(is, 5));
    /* a value wider than the encoding is never found (and not removed) */
    ck_assert(!intset_find(is, 1LL << 40));
    is = intset_remove(is, 1LL << 40, &r);
    ck_assert_int_eq(r, 0);
    is = intset_add(is, INT64_MAX, &r);
    ck_assert_uint_eq(intset_encoding(is), 8);
    ck_assert(intset_find(is, 5) && intset_find(is, INT64_MAX));
    /* never narrows again */
    is = intset_remove(is, INT64_MAX, &r);
    ck_assert_int_eq(r, 1);
    ck_assert_uint_eq(intset_encoding(is), 8);
    ck_assert_uint_eq(intset_blob_len(is), 16);
    intset_t *c = intset_dup(is);
    ck_assert(memcmp(c, is, intset_blob_len(is)) == 0);
    intset_free(c);
    intset_free(is);
}
END_TEST

START_TEST(test_validate)
{
    unsigned char b[64];
    size_t n = unhex("0200000005000000fbff0100020003002c01", b);
    ck_assert(intset_validate(b, n, 1));
    ck_assert(intset_validate(b, n, 0));
    ck_assert(!intset_validate(b, n - 1, 0));   /* short */
    ck_assert(!intset_validate(b, n + 1, 0));   /* trailing byte */
    ck_assert(!intset_validate(b, 7, 0));       /* no header */
    ck_assert(!intset_validate(b, 0, 0));
    /* unknown encodings */
    unsigned char e[64];
    memcpy(e, b, n);
    e[0] = 3;
    ck_assert(!intset_validate(e, n, 0));
    e[0] = 0;
    ck_assert(!intset_validate(e, n, 0));
    e[0] = 2;
    e[3] = 1;
    ck_assert(!intset_validate(e, n, 0));
    /* empty */
    n = unhex("0200000000000000", e);
    ck_assert(!intset_validate(e, n, 0));
    /* unsorted and duplicate: shallow check passes, deep fails */
    n = unhex("020000000200000002000100", e);
    ck_assert(intset_validate(e, n, 0));
    ck_assert(!intset_validate(e, n, 1));
    n = unhex("020000000200000001000100", e);
    ck_assert(!intset_validate(e, n, 1));
    /* a huge length must not overflow the size check */
    n = unhex("08000000ffffffff0000000000000000", e);
    ck_assert(!intset_validate(e, n, 0));
    /* round trip through from_blob */
    n = unhex("0400000002000000feffffff70110100", e);
    intset_t *is = intset_from_blob(e, n);
    ck_assert(intset_find(is, 70000) && intset_find(is, -2));
    ck_assert_uint_eq(intset_len(is), 2);
    intset_free(is);
}
END_TEST

/* ---- model ---- */

/* Check's ck_assert records its location with a write() per call; the
 * model loop checks millions of things, so it only calls Check on
 * failure. */
#define REQ(c)                                                                 \
    do {                                                                       \
        if (!(c)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c);           \
    } while (0)


static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* Values from a few ranges so that collisions (re-adds, removes of
 * present values) are frequent and every encoding shows up. */
static int64_t pick(unsigned phase)
{
    uint64_t r = rnd();
    switch ((r >> 8) % (phase + 1)) {
    case 0: return (int64_t)(r % 64) - 32;
    case 1: return (int64_t)(r % 200) * 300 - 30000;         /* int16 edge */
    case 2: return (int64_t)(r % 100) * 100000 - 5000000;    /* int32 */
    default: {
        static const int64_t edges[] = {INT16_MIN, INT16_MAX, INT32_MIN,
                                        INT32_MAX, INT64_MIN, INT64_MAX,
                                        (int64_t)INT32_MAX + 1,
                                        (int64_t)INT32_MIN - 1};
        if (r & 1) return edges[(r >> 1) % 8];
        return (int64_t)(r % 50) * 1000000000000LL - 25000000000000LL;
    }
    }
}

static void model_check(const intset_t *is, const int64_t *m, size_t n)
{
    REQ(intset_len(is) == n);
    uint32_t need = 2;
    for (size_t i = 0; i < n; i++) {
        int64_t v;
        REQ(intset_get(is, (uint32_t)i, &v));
        REQ(v == m[i]);
        if (m[i] < INT16_MIN || m[i] > INT16_MAX) need = need < 4 ? 4 : need;
        if (m[i] < INT32_MIN || m[i] > INT32_MAX) need = 8;
    }
    /* the encoding is at least what the values need (never narrows) */
    REQ(intset_encoding(is) >= need);
    REQ(intset_blob_len(is) == 8 + n * intset_encoding(is));
    if (n) REQ(intset_validate(is, intset_blob_len(is), 1));
}

START_TEST(test_model)
{
    enum { STEPS = 20000, MAXN = 4096 };
    static int64_t m[MAXN];
    for (unsigned round = 0; round < 8; round++) {
        size_t n = 0;
        intset_t *is = intset_new();
        unsigned phase = round % 4;
        for (int step = 0; step < STEPS; step++) {
            int64_t v = pick(phase);
            size_t pos = 0;
            while (pos < n && m[pos] < v) pos++;
            int present = pos < n && m[pos] == v;
            unsigned op = (unsigned)(rnd() % 100);
            /* grow early, then hover */
            int add = n < 64 ? op < 80 : op < 50;
            int r, want_found;
            if (add && n < MAXN) {
                want_found = 1;
                is = intset_add(is, v, &r);
                REQ(r == !present);
                if (!present) {
                    memmove(m + pos + 1, m + pos, (n - pos) * sizeof(*m));
                    m[pos] = v;
                    n++;
                }
            } else {
                want_found = 0;
                is = intset_remove(is, v, &r);
                REQ(r == present);
                if (present) {
                    memmove(m + pos, m + pos + 1, (n - pos - 1) * sizeof(*m));
                    n--;
                }
            }
            REQ(intset_find(is, v) == want_found);
            model_check(is, m, n);
            if (n) {
                int64_t x = intset_random(is, rnd);
                REQ(intset_find(is, x));
            }
        }
        intset_free(is);
    }
}
END_TEST

static Suite *intset_suite(void)
{
    Suite *s = suite_create("intset");
    TCase *tc = tcase_create("known_answers");
    tcase_add_test(tc, test_known_int16);
    tcase_add_test(tc, test_known_int32);
    tcase_add_test(tc, test_known_int64);
    tcase_add_test(tc, test_basic);
    tcase_add_test(tc, test_validate);
    suite_add_tcase(s, tc);
    tc = tcase_create("model");
    tcase_add_test(tc, test_model);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(intset_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
