/*
 * check_notify.c: notify-keyspace-events flags (node/notify.c).
 *
 * The table was produced by CONFIG SET / CONFIG GET notify-keyspace-events
 * on Debian's redis-server 7.0.15, quirks included: 'A' folds every class
 * letter it covers (and swallows 'n', which it does not cover), duplicate
 * letters collapse, K E m always come last.  What each event publishes is
 * checked side by side with redis-server in tests/system/test_notify.py.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "notify.h"

static const struct {
    const char *in;
    const char *out; /* NULL: rejected */
} redis_cases[] = {
    {"KEA", "AKE"},
    {"AKE", "AKE"},
    {"", ""},
    {"K", "K"},
    {"E", "E"},
    {"A", "A"},
    {"nA", "A"},
    {"An", "A"},
    {"KEAnm", "AKEm"},
    {"g$lshzxetd", "A"},
    {"g$lshzxet", "g$lshzxet"},
    {"Ag", "A"},
    {"mKE", "KEm"},
    {"xe", "xe"},
    {"lsK", "lsK"},
    {"ttll", "lt"},
    {"$", "$"},
    {"dE", "dE"},
    {"EKmnzhsl$gxetd", "AKEm"},
    {"AKEA", "AKE"},
    {"n", "n"},
    {"m", "m"},
    {"Kgn", "gnK"},
    {"zyx", NULL},
    {"X", NULL},
    {"k", NULL},
    {"a", NULL},
    {" ", NULL},
    {"KEA ", NULL},
};

START_TEST(test_redis_table)
{
    for (size_t i = 0; i < sizeof(redis_cases) / sizeof(redis_cases[0]); i++) {
        int f = notify_parse_flags(redis_cases[i].in);
        if (!redis_cases[i].out) {
            ck_assert_msg(f == -1, "'%s' accepted", redis_cases[i].in);
            continue;
        }
        ck_assert_msg(f >= 0, "'%s' rejected", redis_cases[i].in);
        char out[32];
        notify_flags_string(f, out, sizeof(out));
        ck_assert_str_eq(out, redis_cases[i].out);
    }
}
END_TEST

/* Every combination of the letters' bits prints as a string that parses
 * back to the same flags, except 'n' under 'A' (Redis's quirk). */
START_TEST(test_round_trip)
{
    const int letters = NOTIFY_KEYSPACE | NOTIFY_KEYEVENT | NOTIFY_ALL |
                        NOTIFY_KEY_MISS | NOTIFY_NEW;
    for (int f = 0; f < (1 << 15); f++) {
        if (f & ~letters) continue;
        char out[32];
        notify_flags_string(f, out, sizeof(out));
        int back = notify_parse_flags(out);
        int want = f;
        if ((f & NOTIFY_ALL) == NOTIFY_ALL) want &= ~NOTIFY_NEW;
        ck_assert_msg(back == want, "flags %#x -> '%s' -> %#x", f, out, back);
    }
}
END_TEST

START_TEST(test_small_buffer)
{
    char out[3];
    notify_flags_string(notify_parse_flags("KEA"), out, sizeof(out));
    ck_assert_str_eq(out, "AK"); /* truncated, still terminated */
}
END_TEST

START_TEST(test_config_hooks)
{
    node_t n;
    memset(&n, 0, sizeof(n));
    char *ok[] = {"Kl"}, *bad[] = {"Kq"};
    ck_assert_ptr_null(notify_config_set(NULL, &n, 1, ok));
    ck_assert_int_eq(n.notify_flags, NOTIFY_KEYSPACE | NOTIFY_LIST);
    ck_assert_str_eq(notify_config_set(NULL, &n, 1, bad),
                     "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.");
    ck_assert_int_eq(n.notify_flags, NOTIFY_KEYSPACE | NOTIFY_LIST);
    char out[32];
    notify_config_get(NULL, &n, out, sizeof(out));
    ck_assert_str_eq(out, "lK");
    /* No subscribers (n.pubsub NULL): publishing is a no-op. */
    notify_publish(&n, NOTIFY_LIST, "lpush", "k", 1);
}
END_TEST

static Suite *notify_suite(void)
{
    Suite *s = suite_create("notify");
    TCase *tc = tcase_create("flags");
    tcase_add_test(tc, test_redis_table);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_small_buffer);
    tcase_add_test(tc, test_config_hooks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(notify_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
