/*
 * check_glob.c: Redis's glob matcher (common/glob.c).
 *
 * The case table was produced by asking Debian's redis-server 7.0.15
 * (KEYS pattern against a single key) what it matches, quirks included:
 * unterminated classes, "[a-]" being the range a..']', a trailing "\".
 * During development 3000 random patterns x 300 random keys (with high
 * bytes) were also compared with that server: no difference.  The tests
 * here add case folding, bounded reads of non-terminated buffers, and the
 * patterns that make a naive matcher take exponential time or recurse
 * without bound.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "glob.h"

static const struct {
    const char *pat;
    const char *str;
    int match;
} redis_cases[] = {
    {"foo*", "foo_a", 1},
    {"foo*", "foo", 1},
    {"foo*", "fo", 0},
    {"f*o*", "foo_b", 1},
    {"f*o*", "key_x", 0},
    {"*a", "banana", 1},
    {"*a", "bananas", 0},
    {"h?llo", "hello", 1},
    {"h?llo", "hallo", 1},
    {"h?llo", "hllo", 0},
    {"h*llo", "hllo", 1},
    {"h*llo", "heeeello", 1},
    {"h[ae]llo", "hello", 1},
    {"h[ae]llo", "hallo", 1},
    {"h[ae]llo", "hillo", 0},
    {"h[^e]llo", "hallo", 1},
    {"h[^e]llo", "hello", 0},
    {"h[a-b]llo", "hbllo", 1},
    {"h[a-b]llo", "hcllo", 0},
    {"h[b-a]llo", "hallo", 1},
    {"[a-", "a", 1},
    {"[a-", "-", 1},
    {"[a-", "b", 0},
    {"[a", "a", 1},
    {"[", "[", 0},
    {"[", "a", 0},
    {"[^", "x", 1},
    {"[^", "", 0},
    {"\\", "\\", 1},
    {"a\\", "a\\", 1},
    {"\\*", "*", 1},
    {"\\*", "a", 0},
    {"\\?", "?", 1},
    {"\\?", "x", 0},
    {"a\\[b", "a[b", 1},
    {"[\\]]", "]", 1},
    {"[\\]]", "\\", 0},
    {"[]]", "]", 0},
    {"[]]", "a", 0},
    {"[a-]", "]", 1},
    {"[a-]", "b", 0},
    {"[a-]", "-", 0},
    {"[]a]", "a", 0},
    {"[]a]", "]", 0},
    {"[!a]", "!", 1},
    {"[!a]", "b", 0},
    {"**", "x", 1},
    {"a**b", "ab", 1},
    {"a**b", "axxb", 1},
    {"*?", "a", 1},
    {"*?", "", 0},
    {"?*", "a", 1},
    {"a*", "a", 1},
    {"a*b*c", "aXbYc", 1},
    {"a*b*c", "aXbY", 0},
    {"*{b}*", "{b}a", 1},
    {"{a}*", "{a}x", 1},
    {"{a}*", "{b}x", 0},
    {"", "", 1},
    {"", "a", 0},
    {"a", "", 0},
    {"?", "", 0},
    {"[a-z]*", "Hello", 0},
    {"[A-Z]*", "Hello", 1},
    {"*\\", "ab\\", 1},
    {"a[", "a", 0},
    {"a[bc", "ab", 1},
    {"*[", "x[", 0},
    {"x[^]y", "xay", 1},
    {"x[^]y", "x]y", 1},
    /* Not checkable with KEYS (its "*" shortcut): Redis's stringmatchlen
     * does not match "*" against the empty string. */
    {"*", "", 0},
    {"*", "anything", 1},
};

static int gm(const char *p, const char *s, int nocase)
{
    return glob_match(p, strlen(p), s, strlen(s), nocase);
}

START_TEST(test_redis_table)
{
    for (size_t i = 0; i < sizeof(redis_cases) / sizeof(redis_cases[0]); i++)
        ck_assert_msg(gm(redis_cases[i].pat, redis_cases[i].str, 0) ==
                          redis_cases[i].match,
                      "pattern '%s' string '%s' want %d", redis_cases[i].pat,
                      redis_cases[i].str, redis_cases[i].match);
}
END_TEST

START_TEST(test_nocase)
{
    ck_assert_int_eq(gm("MAXMEMORY*", "maxmemory-policy", 1), 1);
    ck_assert_int_eq(gm("MAXMEMORY*", "maxmemory-policy", 0), 0);
    ck_assert_int_eq(gm("h[A-C]llo", "hbllo", 1), 1);
    ck_assert_int_eq(gm("h[a-c]llo", "HBLLO", 1), 1);
    ck_assert_int_eq(gm("h[a-c]llo", "hBllo", 0), 0);
    ck_assert_int_eq(gm("[^A]", "a", 1), 0);
    ck_assert_int_eq(gm("?ORT", "port", 1), 1);
    /* Folding is ASCII only. */
    ck_assert_int_eq(gm("\xc3\x89", "\xc3\xa9", 1), 0);
}
END_TEST

/* Property: with letters, '*' and '?' only, nocase matching equals
 * case-sensitive matching of the lowercased inputs. */
START_TEST(test_nocase_model)
{
    static const char pa[] = "aAbB*?";
    static const char sa[] = "aAbB";
    char p[8], s[8], lp[8], ls[8];
    unsigned seed = 99;

    for (int it = 0; it < 20000; it++) {
        size_t pn = (size_t)(rand_r(&seed) % 7),
               sn = (size_t)(rand_r(&seed) % 7);
        for (size_t i = 0; i < pn; i++) {
            p[i] = pa[rand_r(&seed) % 6];
            lp[i] = (p[i] >= 'A' && p[i] <= 'Z') ? (char)(p[i] + 32) : p[i];
        }
        for (size_t i = 0; i < sn; i++) {
            s[i] = sa[rand_r(&seed) % 4];
            ls[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char)(s[i] + 32) : s[i];
        }
        ck_assert_int_eq(glob_match(p, pn, s, sn, 1),
                         glob_match(lp, pn, ls, sn, 0));
    }
}
END_TEST

/* Inputs are (pointer, length): no terminator is read.  Each buffer is an
 * exact-size heap block so that ASan flags any read past the end. */
static int gm_exact(const char *p, size_t pn, const char *s, size_t sn)
{
    char *pb = malloc(pn ? pn : 1), *sb = malloc(sn ? sn : 1);
    memcpy(pb, p, pn);
    memcpy(sb, s, sn);
    int r = glob_match(pb, pn, sb, sn, 0);
    free(pb);
    free(sb);
    return r;
}

START_TEST(test_bounded_reads)
{
    ck_assert_int_eq(gm_exact("a*", 1, "ab", 2), 0); /* "a" only */
    ck_assert_int_eq(gm_exact("a*", 2, "ab", 2), 1);
    ck_assert_int_eq(gm_exact("*", 1, "x", 1), 1);
    ck_assert_int_eq(gm_exact("[", 1, "[", 1), 0);
    ck_assert_int_eq(gm_exact("[^", 2, "x", 1), 1);
    ck_assert_int_eq(gm_exact("[a-", 3, "a", 1), 1);
    ck_assert_int_eq(gm_exact("\\", 1, "\\", 1), 1);
    ck_assert_int_eq(gm_exact("a**", 3, "a", 1), 1);
    ck_assert_int_eq(gm_exact("ab", 2, "abc", 2), 1);
    ck_assert_int_eq(gm_exact("", 0, "", 0), 1);
    /* Embedded NUL bytes are ordinary bytes. */
    ck_assert_int_eq(glob_match("a\0?", 3, "a\0b", 3, 0), 1);
    ck_assert_int_eq(glob_match("a\0", 2, "a", 1, 0), 0);
}
END_TEST

static double now_sec(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Redis's keyspace.tcl regression: "a*a*...*b" against a run of a's. */
START_TEST(test_pathological_stars)
{
    char s[5001];
    memset(s, 'a', sizeof(s) - 1);
    s[sizeof(s) - 1] = '\0';

    double t0 = now_sec();
    ck_assert_int_eq(gm("a*a*a*a*a*a*a*a*a*a*a*b", s, 0), 0);
    ck_assert_int_eq(gm("a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*"
                        "a*b",
                        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
                        "aaaaaaaaaaaaaaaaaaaaa",
                        0),
                     0);
    ck_assert_int_eq(gm("*a*a*a*a*a*a*a*a*a*a*a*a*", s, 0), 1);
    ck_assert_int_eq(gm("a*a*a*a*a*a*a*a*a*a*a*b", s, 1), 0);
    ck_assert_msg(now_sec() - t0 < 2.0, "took %.2fs", now_sec() - t0);
}
END_TEST

/* Redis's "very long nested loops" regression: "*?" x 50000 against 50000
 * a's must neither overflow the stack nor take forever (nesting cap). */
START_TEST(test_deep_nesting)
{
    size_t n = 50000;
    char *p = malloc(2 * n), *s = malloc(n);
    for (size_t i = 0; i < n; i++) {
        p[2 * i] = '*';
        p[2 * i + 1] = '?';
        s[i] = 'a';
    }
    double t0 = now_sec();
    ck_assert_int_eq(glob_match(p, 2 * n, s, n, 0), 0);
    ck_assert_msg(now_sec() - t0 < 2.0, "took %.2fs", now_sec() - t0);

    /* Below the cap the same shape still matches. */
    ck_assert_int_eq(glob_match(p, 2 * 500, s, 500, 0), 1);
    /* Many consecutive stars collapse and never nest. */
    memset(p, '*', 2 * n);
    ck_assert_int_eq(glob_match(p, 2 * n, s, n, 0), 1);
    free(p);
    free(s);
}
END_TEST

static Suite *glob_suite(void)
{
    Suite *s = suite_create("glob");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_redis_table);
    tcase_add_test(tc, test_nocase);
    tcase_add_test(tc, test_nocase_model);
    tcase_add_test(tc, test_bounded_reads);
    tcase_add_test(tc, test_pathological_stars);
    tcase_add_test(tc, test_deep_nesting);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(glob_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
