/*
 * check_log.c: the Redis-format log (common/log.c).
 *
 * Lines are written to a temp file and read back: the exact serverLog
 * layout, level filtering and marks, raw mode, truncation, reopening after
 * a rename (logrotate), the signal-handler form, rate limiting, and whole
 * lines under concurrent writers.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static char dir[64];
static char path[128];

static void setup(void)
{
    strcpy(dir, "/tmp/check_log.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/t.log", dir);
    ck_assert_int_eq(log_setup(path, LL_DEBUG), 0);
    log_set_role('M');
}

static void teardown(void)
{
    char p2[160];
    log_teardown();
    unlink(path);
    snprintf(p2, sizeof(p2), "%s.1", path);
    unlink(p2);
    rmdir(dir);
}

/* Whole file into a static buffer. */
static char *slurp(const char *p)
{
    static char buf[1 << 20];
    FILE *fp = fopen(p, "r");
    ck_assert_ptr_nonnull(fp);
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        if (*s == '\n') n++;
    return n;
}

static int matches(const char *re, const char *s)
{
    regex_t r;
    ck_assert_int_eq(regcomp(&r, re, REG_EXTENDED | REG_NEWLINE), 0);
    int ok = regexec(&r, s, 0, NULL, 0) == 0;
    regfree(&r);
    return ok;
}

START_TEST(test_format)
{
    char re[256];
    log_msg(LL_NOTICE, "Ready to accept connections %d", 42);
    snprintf(re, sizeof(re),
             "^%d:M [0-9]{2} [A-Z][a-z]{2} [0-9]{4} "
             "[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3} \\* "
             "Ready to accept connections 42\n$",
             (int)getpid());
    const char *s = slurp(path);
    ck_assert_msg(matches(re, s), "got: %s", s);
}
END_TEST

START_TEST(test_levels_and_marks)
{
    log_msg(LL_DEBUG, "d");
    log_msg(LL_VERBOSE, "v");
    log_msg(LL_NOTICE, "n");
    log_msg(LL_WARNING, "w");
    const char *s = slurp(path);
    ck_assert(matches(" \\. d$", s));
    ck_assert(matches(" - v$", s));
    ck_assert(matches(" \\* n$", s));
    ck_assert(matches(" # w$", s));

    log_set_level(LL_WARNING);
    ck_assert_int_eq(log_get_level(), LL_WARNING);
    ck_assert(!log_enabled(LL_NOTICE));
    ck_assert(log_enabled(LL_WARNING | LL_RAW));
    log_msg(LL_NOTICE, "hidden");
    log_msg(LL_WARNING, "shown");
    s = slurp(path);
    ck_assert_ptr_null(strstr(s, "hidden"));
    ck_assert_ptr_nonnull(strstr(s, "shown"));
    ck_assert_int_eq(count_lines(s), 5);

    ck_assert_str_eq(log_level_names[LL_VERBOSE], "verbose");
    ck_assert_ptr_null(log_level_names[LL_WARNING + 1]);
}
END_TEST

START_TEST(test_role_raw_truncation)
{
    char big[LOG_MAX_LEN * 2];

    log_set_role('S');
    log_msg(LL_NOTICE, "replica line");
    ck_assert(matches("^[0-9]+:S .* replica line$", slurp(path)));

    log_msg(LL_NOTICE | LL_RAW, "raw banner\nsecond");
    ck_assert_ptr_nonnull(
        strstr(slurp(path), "replica line\nraw banner\nsecond"));

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    ck_assert_int_eq(truncate(path, 0), 0);
    log_msg(LL_NOTICE, "%s", big);
    const char *s = slurp(path);
    const char *msg = strstr(s, "* x");
    ck_assert_ptr_nonnull(msg);
    ck_assert_uint_eq(strlen(msg + 2), LOG_MAX_LEN - 1 + 1); /* + '\n' */
}
END_TEST

START_TEST(test_reopen)
{
    char moved[160];
    snprintf(moved, sizeof(moved), "%s.1", path);

    log_msg(LL_NOTICE, "before");
    ck_assert_int_eq(rename(path, moved), 0);
    log_msg(LL_NOTICE, "still old");
    ck_assert_int_eq(log_reopen(), 0);
    log_msg(LL_NOTICE, "after");
    ck_assert_ptr_nonnull(strstr(slurp(moved), "still old"));
    const char *s = slurp(path);
    ck_assert_ptr_nonnull(strstr(s, "after"));
    ck_assert_ptr_null(strstr(s, "before"));
}
END_TEST

START_TEST(test_setup_errors_and_stdout)
{
    errno = 0;
    ck_assert_int_eq(log_setup("/nonexistent-dir/x.log", LL_NOTICE), -1);
    ck_assert_int_eq(errno, ENOENT);
    /* The old destination is kept. */
    log_msg(LL_NOTICE, "kept");
    ck_assert_ptr_nonnull(strstr(slurp(path), "kept"));
    ck_assert_int_eq(log_setup("", LL_NOTICE), 0); /* stdout */
    ck_assert_int_eq(log_setup(NULL, LL_NOTICE), 0);
    ck_assert_int_eq(log_reopen(), 0); /* no file: no-op */
}
END_TEST

START_TEST(test_from_handler)
{
    char re[128];
    log_from_handler("crashed");
    snprintf(re, sizeof(re), "^%d:signal-handler \\([0-9]+\\) crashed\n$",
             (int)getpid());
    ck_assert(matches(re, slurp(path)));
}
END_TEST

START_TEST(test_ratelimit)
{
    for (int i = 0; i < 1000; i++)
        log_ratelimited(LL_WARNING, 5, "flood %d", i);
    /* At most two seconds' worth if the loop crossed a second boundary. */
    int n = count_lines(slurp(path));
    ck_assert_int_ge(n, 5);
    ck_assert_int_le(n, 11);

    /* Disabled levels neither print nor count. */
    log_set_level(LL_WARNING);
    log_ratelimit_t rl;
    memset(&rl, 0, sizeof(rl));
    unsigned sup;
    ck_assert_int_eq(log_ratelimit_pass(&rl, 2, &sup), 1);
    ck_assert_uint_eq(sup, 0);
    ck_assert_int_eq(log_ratelimit_pass(&rl, 2, &sup), 1);
    ck_assert_int_eq(log_ratelimit_pass(&rl, 2, &sup), 0);
    ck_assert_int_eq(log_ratelimit_pass(&rl, 2, &sup), 0);
    sleep(1);
    usleep(100000);
    ck_assert_int_eq(log_ratelimit_pass(&rl, 2, &sup), 1);
    ck_assert_uint_eq(sup, 2);
}
END_TEST

START_TEST(test_ratelimit_summary_line)
{
    for (int round = 0; round < 2; round++) {
        for (int i = 0; i < 50; i++)
            log_ratelimited(LL_WARNING, 1, "bad packet %d", i);
        if (round == 0) {
            sleep(1);
            usleep(100000);
        }
    }
    ck_assert(matches(
        "[0-9]+ similar messages suppressed \\(.*check_log.c:[0-9]+\\)$",
        slurp(path)));
}
END_TEST

static void *writer(void *arg)
{
    long id = (long)arg;
    for (int i = 0; i < 2000; i++)
        log_msg(LL_NOTICE, "thread %ld line %d %s", id, i,
                "padding padding padding padding padding padding padding");
    return NULL;
}

START_TEST(test_threads_whole_lines)
{
    pthread_t t[4];
    for (long i = 0; i < 4; i++)
        ck_assert_int_eq(pthread_create(&t[i], NULL, writer, (void *)i), 0);
    /* Reopen in the middle: lines go to one file or the other, whole. */
    ck_assert_int_eq(log_reopen(), 0);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);

    char *s = slurp(path);
    ck_assert_int_eq(count_lines(s), 8000);
    regex_t r;
    ck_assert_int_eq(regcomp(&r,
                             "^[0-9]+:M .* \\* thread [0-3] line [0-9]+ "
                             "(padding ?){7}$",
                             REG_EXTENDED | REG_NOSUB),
                     0);
    for (char *line = strtok(s, "\n"); line; line = strtok(NULL, "\n"))
        ck_assert_msg(regexec(&r, line, 0, NULL, 0) == 0, "torn line: %s",
                      line);
    regfree(&r);
}
END_TEST

static Suite *log_suite(void)
{
    Suite *s = suite_create("log");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 30);
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_format);
    tcase_add_test(tc, test_levels_and_marks);
    tcase_add_test(tc, test_role_raw_truncation);
    tcase_add_test(tc, test_reopen);
    tcase_add_test(tc, test_setup_errors_and_stdout);
    tcase_add_test(tc, test_from_handler);
    tcase_add_test(tc, test_ratelimit);
    tcase_add_test(tc, test_ratelimit_summary_line);
    tcase_add_test(tc, test_threads_whole_lines);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(log_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
