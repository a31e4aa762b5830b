/*
 * check_listpack.c: Redis's listpack format (node/types/listpack.c).
 *
 * Known answers: the byte strings below were taken from redis-server
 * 7.0.15's DUMP payloads (rdbcompression off) of one-element lists and a
 * one-field hash, so every entry encoding (7/13/16/24/32/64-bit integers,
 * 6/12/32-bit string lengths, 1..4-byte back-lengths, non-canonical
 * integer text kept as strings) is checked byte for byte against Redis.
 *
 * Then a model test (the listpack and a naive array of strings driven by
 * the same random edits, compared forwards and backwards after every
 * step), the saturated element count past 65535, lp_find with skip, and
 * lp_validate on mutated and random bytes (it must never read out of
 * bounds -- run under ASan -- and anything it accepts must be walkable).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "listpack.h"
#include "rng.h"

#define REQUIRE(x)                                                           \
    do {                                                                     \
        if (!(x)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #x);         \
    } while (0)

static uint64_t rng_state = 0x9E3779B97F4A7C15ULL;
static uint64_t rnd(void)
{
    return rng_step(&rng_state);
}

static size_t unhex(const char *h, unsigned char *out)
{
    size_t n = strlen(h) / 2;
    for (size_t i = 0; i < n; i++) {
        unsigned v;
        sscanf(h + 2 * i, "%2x", &v);
        out[i] = (unsigned char)v;
    }
    return n;
}

static int bytes_eq_hex(const unsigned char *p, size_t n, const char *hex)
{
    unsigned char buf[512];
    size_t hn = unhex(hex, buf);
    return hn == n && memcmp(p, buf, n) == 0;
}

/* One-element listpacks from redis-server 7.0.15 (DUMP of RPUSH l v). */
typedef struct kat {
    const char *lit;     /* value, or NULL for a repeated character */
    size_t litlen;
    char rep;
    size_t replen;
    const char *hex;     /* whole listpack, or NULL: head/tail/total below */
    size_t total;
    const char *head16;
    const char *tail8;
} kat_t;

static const kat_t kats[] = {
    {"a", 1, 0, 0, "0a0000000100816102ff", 0, NULL, NULL},
    {"", 0, 0, 0, "0900000001008001ff", 0, NULL, NULL},
    {"0", 1, 0, 0, "0900000001000001ff", 0, NULL, NULL},
    {"127", 3, 0, 0, "0900000001007f01ff", 0, NULL, NULL},
    {"128", 3, 0, 0, "0a0000000100c08002ff", 0, NULL, NULL},
    {"-1", 2, 0, 0, "0a0000000100dfff02ff", 0, NULL, NULL},
    {"-4096", 5, 0, 0, "0a0000000100d00002ff", 0, NULL, NULL},
    {"4095", 4, 0, 0, "0a0000000100cfff02ff", 0, NULL, NULL},
    {"4096", 4, 0, 0, "0b0000000100f1001003ff", 0, NULL, NULL},
    {"-4097", 5, 0, 0, "0b0000000100f1ffef03ff", 0, NULL, NULL},
    {"32767", 5, 0, 0, "0b0000000100f1ff7f03ff", 0, NULL, NULL},
    {"-32768", 6, 0, 0, "0b0000000100f1008003ff", 0, NULL, NULL},
    {"32768", 5, 0, 0, "0c0000000100f200800004ff", 0, NULL, NULL},
    {"8388607", 7, 0, 0, "0c0000000100f2ffff7f04ff", 0, NULL, NULL},
    {"-8388608", 8, 0, 0, "0c0000000100f200008004ff", 0, NULL, NULL},
    {"8388608", 7, 0, 0, "0d0000000100f30000800005ff", 0, NULL, NULL},
    {"2147483647", 10, 0, 0, "0d0000000100f3ffffff7f05ff", 0, NULL, NULL},
    {"-2147483648", 11, 0, 0, "0d0000000100f30000008005ff", 0, NULL, NULL},
    {"2147483648", 10, 0, 0, "110000000100f4000000800000000009ff", 0, NULL,
     NULL},
    {"9223372036854775807", 19, 0, 0, "110000000100f4ffffffffffffff7f09ff", 0,
     NULL, NULL},
    {"-9223372036854775808", 20, 0, 0, "110000000100f4000000000000008009ff",
     0, NULL, NULL},
    {"9223372036854775808", 19, 0, 0,
     "1c0000000100933932323333373230333638353437373538303814ff", 0, NULL,
     NULL},
    {"0123", 4, 0, 0, "0d0000000100843031323305ff", 0, NULL, NULL},
    {"-0", 2, 0, 0, "0b0000000100822d3003ff", 0, NULL, NULL},
    {"+1", 2, 0, 0, "0b0000000100822b3103ff", 0, NULL, NULL},
    {" 1", 2, 0, 0, "0b000000010082203103ff", 0, NULL, NULL},
    {"12345678901234567890123", 23, 0, 0,
     "20000000010097313233343536373839303132333435363738393031323318ff", 0,
     NULL, NULL},
    {NULL, 0, 'x', 63, NULL, 72, "480000000100bf787878787878787878",
     "78787878787840ff"},
    {NULL, 0, 'y', 64, NULL, 74, "4a0000000100e0407979797979797979",
     "79797979797942ff"},
    {NULL, 0, 'z', 127, NULL, 138, "8a0000000100e07f7a7a7a7a7a7a7a7a",
     "7a7a7a7a7a0181ff"},
    {NULL, 0, 'q', 4095, NULL, 4106, "0a1000000100efff7171717171717171",
     "71717171712081ff"},
    {NULL, 0, 'w', 4096, NULL, 4110, "0e1000000100f0001000007777777777",
     "77777777772085ff"},
    {NULL, 0, 'k', 16383, NULL, 16398, "0e4000000100f0ff3f00006b6b6b6b6b",
     "6b6b6b6b018084ff"},
    {NULL, 0, 'm', 16400, NULL, 16415, "1f4000000100f0104000006d6d6d6d6d",
     "6d6d6d6d018095ff"},
    {NULL, 0, 'p', 2100000, NULL, 2100016, "300b20000100f0200b20007070707070",
     "707070018096a5ff"},
};

static void check_kat(const unsigned char *lp, const kat_t *k)
{
    size_t n = lp_bytes(lp);
    if (k->hex) {
        REQUIRE(bytes_eq_hex(lp, n, k->hex));
    } else {
        REQUIRE(n == k->total);
        REQUIRE(bytes_eq_hex(lp, 16, k->head16));
        REQUIRE(bytes_eq_hex(lp + n - 8, 8, k->tail8));
    }
}

START_TEST(test_known_answers)
{
    for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
        const kat_t *k = &kats[i];
        char *val;
        size_t len;
        if (k->lit) {
            val = ts_strndup(k->lit, k->litlen);
            len = k->litlen;
        } else {
            len = k->replen;
            val = ts_malloc(len + 1);
            memset(val, k->rep, len);
        }
        unsigned char *a = lp_append(lp_new(0), val, (uint32_t)len);
        unsigned char *b = lp_prepend(lp_new(0), val, (uint32_t)len);
        check_kat(a, k);
        check_kat(b, k);
        REQUIRE(lp_validate(a, lp_bytes(a), 1, NULL));
        REQUIRE(lp_length(a) == 1);
        unsigned char ibuf[LP_INTBUF_SIZE];
        uint32_t gl;
        const unsigned char *g = lp_get_text(lp_first(a), &gl, ibuf);
        REQUIRE(gl == len && memcmp(g, val, len) == 0);
        REQUIRE(lp_compare(lp_first(a), val, (uint32_t)len));
        REQUIRE(lp_last(a) == lp_first(a));
        REQUIRE(lp_next(a, lp_first(a)) == NULL);
        REQUIRE(lp_prev(a, lp_first(a)) == NULL);
        lp_free(a);
        lp_free(b);
        ts_free(val);
    }
}
END_TEST

START_TEST(test_known_multi)
{
    /* RPUSH l a b -1 300 hello; and HSET h a v (DUMP of a listpack hash). */
    unsigned char *lp = lp_new(0);
    lp = lp_append(lp, "a", 1);
    lp = lp_append(lp, "b", 1);
    lp = lp_append_int(lp, -1);
    lp = lp_append(lp, "300", 3);
    lp = lp_append(lp, "hello", 5);
    ck_assert(bytes_eq_hex(lp, lp_bytes(lp),
                           "1a0000000500816102816202dfff02c12c028568656c6c6f06ff"));
    ck_assert_int_eq(lp_length(lp), 5);
    unsigned char *h = lp_append(lp_append(lp_new(0), "a", 1), "v", 1);
    ck_assert(bytes_eq_hex(h, lp_bytes(h), "0d0000000200816102817602ff"));
    unsigned char *e = lp_new(0);
    ck_assert(bytes_eq_hex(e, lp_bytes(e), "0700000000" "00ff"));
    ck_assert(lp_first(e) == NULL && lp_last(e) == NULL);
    ck_assert(lp_seek(e, 0) == NULL && lp_seek(e, -1) == NULL);
    /* lp_get on integers and strings */
    uint32_t len;
    long long v;
    ck_assert(lp_get(lp_seek(lp, 2), &len, &v) == NULL);
    ck_assert_int_eq(v, -1);
    ck_assert(lp_get(lp_seek(lp, -4), &len, &v) != NULL && len == 1);
    ck_assert(lp_get(lp_seek(lp, -2), &len, &v) == NULL && v == 300);
    lp_free(lp);
    lp_free(h);
    lp_free(e);
}
END_TEST

START_TEST(test_find_skip)
{
    unsigned char *lp = lp_new(0);
    const char *kv[] = {"f1", "v", "v", "f2", "10", "x", "f3", "10"};
    for (int i = 0; i < 8; i++)
        lp = lp_append(lp, kv[i], (uint32_t)strlen(kv[i]));
    /* fields are at even positions: "v" is only a value, "10" a field at 4 */
    ck_assert(lp_find(lp, lp_first(lp), "v", 1, 1) == lp_seek(lp, 2));
    ck_assert(lp_find(lp, lp_first(lp), "f2", 2, 1) == NULL);
    ck_assert(lp_find(lp, lp_first(lp), "10", 2, 1) == lp_seek(lp, 4));
    ck_assert(lp_find(lp, lp_first(lp), "x", 1, 0) == lp_seek(lp, 5));
    ck_assert(lp_find(lp, lp_first(lp), "010", 3, 0) == NULL);
    ck_assert(lp_find(lp, lp_seek(lp, 5), "10", 2, 0) == lp_seek(lp, 7));
    ck_assert(lp_compare(lp_seek(lp, 4), "10", 2));
    ck_assert(!lp_compare(lp_seek(lp, 4), "010", 3));
    ck_assert(!lp_compare(lp_seek(lp, 4), "1", 1));
    lp_free(lp);
}
END_TEST

/* ---- model test ---------------------------------------------------------- */

typedef struct mstr {
    char *p;
    size_t n;
} mstr_t;

#define MODEL_MAX 4096

static size_t rand_value(char *buf)
{
    switch (rnd() % 8) {
    case 0: return (size_t)snprintf(buf, 32, "%lld", (long long)(rnd() % 128));
    case 1:
        return (size_t)snprintf(buf, 32, "%lld",
                                (long long)(rnd() % 10000) - 5000);
    case 2:
        return (size_t)snprintf(buf, 32, "%lld",
                                (long long)(rnd() % 20000000) - 10000000);
    case 3: return (size_t)snprintf(buf, 32, "%lld", (long long)rnd());
    case 4: { /* non-canonical integer text */
        static const char *odd[] = {"-0", "007", "+5", " 1", "1 ", "",
                                    "99999999999999999999"};
        const char *s = odd[rnd() % 7];
        size_t n = strlen(s);
        memcpy(buf, s, n);
        return n;
    }
    case 5: {
        size_t n = 1 + rnd() % 200;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)('a' + rnd() % 26);
        return n;
    }
    case 6: {
        size_t n = rnd() % 8 == 0 ? 4000 + rnd() % 300 : rnd() % 70;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)rnd();
        return n;
    }
    default: {
        size_t n = rnd() % 12;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)('A' + rnd() % 8);
        return n;
    }
    }
}

static void model_compare(unsigned char *lp, mstr_t *m, size_t n)
{
    REQUIRE(lp_length(lp) == n);
    REQUIRE(lp_validate(lp, lp_bytes(lp), 1, NULL));
    unsigned char ibuf[LP_INTBUF_SIZE];
    size_t i = 0;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p), i++) {
        uint32_t len;
        const unsigned char *s = lp_get_text(p, &len, ibuf);
        REQUIRE(i < n);
        REQUIRE(len == m[i].n && memcmp(s, m[i].p, len) == 0);
    }
    REQUIRE(i == n);
    for (unsigned char *p = lp_last(lp); p; p = lp_prev(lp, p)) {
        uint32_t len;
        const unsigned char *s = lp_get_text(p, &len, ibuf);
        REQUIRE(i > 0);
        i--;
        REQUIRE(len == m[i].n && memcmp(s, m[i].p, len) == 0);
    }
    REQUIRE(i == 0);
}

START_TEST(test_model)
{
    static char buf[8192];
    mstr_t *m = ts_calloc(MODEL_MAX, sizeof(*m));
    size_t n = 0;
    unsigned char *lp = lp_new(0);

    for (int step = 0; step < 20000; step++) {
        unsigned op = (unsigned)(rnd() % 10);
        if (n == 0 && op >= 3) op = rnd() % 3;
        if (n >= MODEL_MAX - 1 && op < 4) op = 7;
        size_t len = rand_value(buf);
        if (op == 0) { /* append */
            lp = lp_append(lp, buf, (uint32_t)len);
            m[n].p = ts_strndup(buf, len);
            m[n++].n = len;
        } else if (op == 1) { /* prepend */
            lp = lp_prepend(lp, buf, (uint32_t)len);
            memmove(m + 1, m, n * sizeof(*m));
            m[0].p = ts_strndup(buf, len);
            m[0].n = len;
            n++;
        } else if (op == 2 || op == 3) { /* insert before/after */
            if (n == 0) continue;
            size_t idx = rnd() % n;
            long sidx = rnd() % 2 ? (long)idx : (long)idx - (long)n;
            unsigned char *p = lp_seek(lp, sidx), *np;
            int where = op == 2 ? LP_BEFORE : LP_AFTER;
            lp = lp_insert(lp, buf, (uint32_t)len, p, where, &np);
            size_t at = op == 2 ? idx : idx + 1;
            memmove(m + at + 1, m + at, (n - at) * sizeof(*m));
            m[at].p = ts_strndup(buf, len);
            m[at].n = len;
            n++;
            REQUIRE(np == lp_seek(lp, (long)at));
        } else if (op == 4 || op == 5) { /* replace */
            size_t idx = rnd() % n;
            unsigned char *np;
            lp = lp_insert(lp, buf, (uint32_t)len, lp_seek(lp, (long)idx),
                           LP_REPLACE, &np);
            ts_free(m[idx].p);
            m[idx].p = ts_strndup(buf, len);
            m[idx].n = len;
            REQUIRE(np == lp_seek(lp, (long)idx));
        } else if (op == 6 || op == 7) { /* delete one */
            size_t idx = rnd() % n;
            unsigned char *np;
            lp = lp_delete(lp, lp_seek(lp, (long)idx), &np);
            ts_free(m[idx].p);
            memmove(m + idx, m + idx + 1, (n - idx - 1) * sizeof(*m));
            n--;
            REQUIRE(np == (idx < n ? lp_seek(lp, (long)idx) : NULL));
        } else if (op == 8) { /* delete range */
            size_t idx = rnd() % n;
            size_t num = rnd() % 5;
            lp = lp_delete_range(lp, (long)idx, num);
            if (num > n - idx) num = n - idx;
            for (size_t k = idx; k < idx + num; k++)
                ts_free(m[k].p);
            memmove(m + idx, m + idx + num, (n - idx - num) * sizeof(*m));
            n -= num;
        } else { /* find */
            size_t idx = rnd() % n;
            unsigned char *p = lp_find(lp, lp_first(lp), m[idx].p,
                                       (uint32_t)m[idx].n, 0);
            size_t first = 0;
            while (!(m[first].n == m[idx].n &&
                     memcmp(m[first].p, m[idx].p, m[idx].n) == 0))
                first++;
            REQUIRE(p == lp_seek(lp, (long)first));
            REQUIRE(lp_compare(p, m[idx].p, (uint32_t)m[idx].n));
        }
        if (step % 7 == 0 || n < 20) model_compare(lp, m, n);
    }
    model_compare(lp, m, n);
    for (size_t i = 0; i < n; i++)
        ts_free(m[i].p);
    ts_free(m);
    lp_free(lp);
}
END_TEST

START_TEST(test_many_entries)
{
    /* past 65535 entries the header count saturates and lp_length walks */
    unsigned char *lp = lp_new(0);
    for (long i = 0; i < 70000; i++)
        lp = lp_append_int(lp, i);
    ck_assert(lp[4] == 0xff && lp[5] == 0xff);
    ck_assert_int_eq(lp_length(lp), 70000);
    ck_assert(lp_validate(lp, lp_bytes(lp), 1, NULL));
    unsigned char ibuf[LP_INTBUF_SIZE];
    uint32_t len;
    const unsigned char *s = lp_get_text(lp_seek(lp, 69999), &len, ibuf);
    ck_assert(len == 5 && memcmp(s, "69999", 5) == 0);
    lp = lp_delete_range(lp, 0, 10000);
    /* the count is unknown until lp_length recounts and stores it */
    ck_assert_int_eq(lp_length(lp), 60000);
    ck_assert(lp[4] == (60000 & 0xff) && lp[5] == (60000 >> 8));
    s = lp_get_text(lp_first(lp), &len, ibuf);
    ck_assert(len == 5 && memcmp(s, "10000", 5) == 0);
    lp_free(lp);
}
END_TEST

/* ---- validation on untrusted bytes -------------------------------------- */

/* If lp_validate accepts, walking forwards and backwards must stay in
 * bounds (ASan checks) and agree with the count. */
static void walk_checked(unsigned char *buf, size_t size)
{
    unsigned long count;
    if (!lp_validate(buf, size, 1, &count)) return;
    unsigned long n = 0;
    unsigned char ibuf[LP_INTBUF_SIZE];
    for (unsigned char *p = lp_first(buf); p; p = lp_next(buf, p)) {
        uint32_t len;
        lp_get_text(p, &len, ibuf);
        n++;
    }
    REQUIRE(n == count);
    for (unsigned char *p = lp_last(buf); p; p = lp_prev(buf, p))
        n--;
    REQUIRE(n == 0);
}

START_TEST(test_validate_fuzz)
{
    static char vbuf[8192];
    /* shallow and deep checks of good listpacks */
    unsigned char *lp = lp_new(0);
    for (int i = 0; i < 40; i++) {
        size_t len = rand_value(vbuf);
        lp = lp_append(lp, vbuf, (uint32_t)len);
    }
    size_t size = lp_bytes(lp);
    unsigned long cnt;
    ck_assert(lp_validate(lp, size, 0, &cnt) && cnt == 40);
    ck_assert(lp_validate(lp, size, 1, &cnt) && cnt == 40);
    ck_assert(!lp_validate(lp, size - 1, 1, NULL));
    ck_assert(!lp_validate(lp, 3, 1, NULL));

    /* mutations: each in an exactly sized heap copy so ASan sees overruns */
    for (int iter = 0; iter < 200000; iter++) {
        size_t n = size;
        int mode = (int)(rnd() % 4);
        if (mode == 3) n = 7 + rnd() % 40;
        unsigned char *b = malloc(n);
        if (mode == 3) {
            for (size_t i = 0; i < n; i++)
                b[i] = (unsigned char)rnd();
            b[0] = (unsigned char)n;
            b[1] = b[2] = b[3] = 0;
            b[n - 1] = 0xff;
        } else {
            memcpy(b, lp, n);
            int flips = 1 + (int)(rnd() % 3);
            for (int k = 0; k < flips; k++) {
                size_t pos = rnd() % n;
                if (mode == 0)
                    b[pos] = (unsigned char)rnd();
                else if (mode == 1)
                    b[pos] ^= (unsigned char)(1u << (rnd() % 8));
                else
                    b[pos] = (unsigned char)(rnd() % 2 ? 0xff : 0x80);
            }
        }
        walk_checked(b, n);
        free(b);
    }
    lp_free(lp);
}
END_TEST

static Suite *listpack_suite(void)
{
    Suite *s = suite_create("listpack");
    TCase *tc = tcase_create("listpack");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_known_answers);
    tcase_add_test(tc, test_known_multi);
    tcase_add_test(tc, test_find_skip);
    tcase_add_test(tc, test_model);
    tcase_add_test(tc, test_many_entries);
    tcase_add_test(tc, test_validate_fuzz);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(listpack_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
