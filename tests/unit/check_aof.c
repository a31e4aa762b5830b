/*
 * check_aof.c: the AOF manifest (node/persist/aof_load.c): parsing with
 * Redis 7.0's rules and errors, and formatting byte for byte as Redis
 * writes it (the known answer below is a manifest written by Debian's
 * redis-server 7.0.15 after one BGREWRITEAOF).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aof_int.h"
#include "buf.h"

static const char redis_manifest[] =
    "file appendonly.aof.2.base.rdb seq 2 type b\n"
    "file appendonly.aof.1.base.rdb seq 1 type h\n"
    "file appendonly.aof.1.incr.aof seq 1 type h\n"
    "file appendonly.aof.2.incr.aof seq 2 type i\n";

static int parse(const char *text, aof_manifest_t *m, char *err)
{
    return aof_manifest_parse(text, strlen(text), m, err, 128);
}

START_TEST(test_parse_redis_manifest)
{
    aof_manifest_t m;
    char err[128];
    ck_assert_int_eq(parse(redis_manifest, &m, err), 0);
    ck_assert_str_eq(m.base.name, "appendonly.aof.2.base.rdb");
    ck_assert_int_eq(m.base.seq, 2);
    ck_assert_int_eq(m.base_is_rdb, 1);
    ck_assert_int_eq(m.nhist, 2);
    ck_assert_int_eq(m.nincr, 1);
    ck_assert_str_eq(m.incr[0].name, "appendonly.aof.2.incr.aof");
    ck_assert_int_eq(m.curr_base_seq, 2);
    ck_assert_int_eq(m.curr_incr_seq, 2);
    aof_manifest_free(&m);
}
END_TEST

START_TEST(test_format_round_trip)
{
    aof_manifest_t m;
    char err[128];
    ck_assert_int_eq(parse(redis_manifest, &m, err), 0);
    buf_t out;
    buf_init(&out);
    aof_manifest_format(&m, &out);
    ck_assert_uint_eq(buf_len(&out), strlen(redis_manifest));
    ck_assert(memcmp(buf_rptr(&out), redis_manifest, buf_len(&out)) == 0);
    buf_deinit(&out);
    aof_manifest_free(&m);
}
END_TEST

START_TEST(test_quoted_names_and_key_order)
{
    /* keys in any order, unknown keys ignored, comments skipped, a name
     * with a space is quoted (sdscatrepr) when written back */
    const char *text = "# written by hand\n"
                       "type b seq 7 file \"my base.rdb\" extra 1\n"
                       "file a.incr seq 3 type i\r\n";
    aof_manifest_t m;
    char err[128];
    ck_assert_int_eq(parse(text, &m, err), 0);
    ck_assert_str_eq(m.base.name, "my base.rdb");
    ck_assert_int_eq(m.base.seq, 7);
    ck_assert_int_eq(m.nincr, 1);
    buf_t out;
    buf_init(&out);
    aof_manifest_format(&m, &out);
    buf_putc(&out, '\0');
    ck_assert_str_eq(buf_rptr(&out),
                     "file \"my base.rdb\" seq 7 type b\n"
                     "file a.incr seq 3 type i\n");
    buf_deinit(&out);
    aof_manifest_free(&m);
}
END_TEST

static void expect_error(const char *text, const char *msg)
{
    aof_manifest_t m;
    char err[128] = "";
    ck_assert_msg(parse(text, &m, err) == -1, "accepted: %s", text);
    ck_assert_str_eq(err, msg);
}

START_TEST(test_errors)
{
    expect_error("", "Found an empty AOF manifest");
    expect_error("# only a comment\n", "Found an empty AOF manifest");
    expect_error("file a seq 1 type b\n\n", "Invalid AOF manifest file format");
    expect_error("file a seq 1 type\n", "Invalid AOF manifest file format");
    expect_error("file a seq 1\n", "Invalid AOF manifest file format");
    expect_error("file a seq 0 type b\n", "Invalid AOF manifest file format");
    expect_error("file a seq x type b\n", "Invalid AOF manifest file format");
    expect_error("file a seq 1 type b", "Invalid AOF manifest file format");
    expect_error("file a seq 1 type b\nfile b seq 2 type b\n",
                 "Found duplicate base file information");
    expect_error("file a seq 2 type i\nfile b seq 2 type i\n",
                 "Found a non-monotonic sequence number");
    expect_error("file a seq 1 type x\n", "Unknown AOF file type");
    expect_error("file ../a seq 1 type b\n",
                 "File can't be a path, just a filename");
    expect_error("file \"a seq 1 type b\n", "Invalid AOF manifest file format");
    char longline[2100];
    memset(longline, 'a', sizeof(longline));
    memcpy(longline, "file ", 5);
    strcpy(longline + 2000, " seq 1 type b\n");
    expect_error(longline, "The AOF manifest file contains too long line");
}
END_TEST

/* Every prefix of a valid manifest either parses or fails cleanly. */
START_TEST(test_prefixes_never_crash)
{
    size_t len = strlen(redis_manifest);
    for (size_t cut = 0; cut <= len; cut++) {
        aof_manifest_t m;
        char err[128];
        if (aof_manifest_parse(redis_manifest, cut, &m, err, sizeof(err)) ==
            0) {
            ck_assert(m.base.name || m.nincr);
            aof_manifest_free(&m);
        }
    }
}
END_TEST

static Suite *aof_suite(void)
{
    Suite *s = suite_create("aof");
    TCase *tc = tcase_create("manifest");
    tcase_add_test(tc, test_parse_redis_manifest);
    tcase_add_test(tc, test_format_round_trip);
    tcase_add_test(tc, test_quoted_names_and_key_order);
    tcase_add_test(tc, test_errors);
    tcase_add_test(tc, test_prefixes_never_crash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(aof_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
