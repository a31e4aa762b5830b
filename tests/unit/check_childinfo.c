/*
 * check_childinfo.c: the fork-child report pipe (node/persist/childinfo.c).
 *
 * Real forks and real /proc/self/smaps: a child reports progress and its
 * final CoW size, the parent reads them into the INFO lines and resets the
 * current_* fields once the child is reaped.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "childinfo.h"
#include "cmd.h"
#include "keyspace.h"
#include "node.h"

static node_t n;

static void setup(void)
{
    cmd_setup();
    memset(&n, 0, sizeof(n));
    n.ks = ks_create(1);
    for (int i = 0; i < 5000; i++) {
        char k[32];
        int kl = snprintf(k, sizeof(k), "key:%d", i);
        ks_set_str(n.ks, k, (size_t)kl, "value", 5, 0);
    }
    ck_assert_int_eq(childinfo_setup(&n), 0);
}

static void teardown(void)
{
    childinfo_teardown(&n);
    ks_destroy(n.ks);
}

/* The value of INFO field `name` in the current_* lines. */
static long long info_field(const char *name)
{
    buf_t b;
    buf_init(&b);
    childinfo_info_current(&n, &b);
    buf_putc(&b, '\0');
    char pat[64];
    snprintf(pat, sizeof(pat), "%s:", name);
    const char *p = strstr(buf_rptr(&b), pat);
    ck_assert_ptr_nonnull(p);
    long long v = atoll(p + strlen(pat));
    buf_deinit(&b);
    return v;
}

START_TEST(test_private_dirty_grows)
{
    size_t before = childinfo_private_dirty();
    ck_assert_uint_gt(before, 0);
    size_t len = 16 << 20;
    /* volatile: the compiler may not drop the writes of a block it frees */
    volatile char *p = malloc(len);
    ck_assert(p != NULL);
    for (size_t i = 0; i < len; i += 4096)
        p[i] = 1;
    size_t after = childinfo_private_dirty();
    ck_assert_uint_ge(after, before + (12 << 20));
    free((void *)p);
}
END_TEST

START_TEST(test_reports_from_child)
{
    pid_t pid = childinfo_fork(&n, CI_AOF);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        /* the first key is reported at once, the next ones within the
         * second are not */
        for (int i = 0; i < 3000; i++)
            childinfo_key_saved(&n);
        childinfo_send_final(&n);
        _exit(0);
    }
    ck_assert_int_eq(childinfo_total_forks(&n), 1);
    ck_assert_int_gt(childinfo_latest_fork_usec(&n), 0);
    ck_assert_int_eq(info_field("current_save_keys_total"), 5000);
    int status;
    ck_assert_int_eq(waitpid(pid, &status, 0), pid);
    ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    childinfo_receive(&n);
    ck_assert_int_eq(info_field("current_save_keys_processed"), 1);
    ck_assert_int_gt(info_field("current_cow_size"), 0);
    ck_assert_int_ge(info_field("current_cow_peak"),
                     info_field("current_cow_size"));
    ck_assert_uint_eq(childinfo_last_cow(&n, CI_AOF),
                      (size_t)info_field("current_cow_peak"));
    ck_assert_uint_eq(childinfo_last_cow(&n, CI_RDB), 0);
    childinfo_child_done(&n, pid + 1); /* not the child: ignored */
    ck_assert_int_eq(info_field("current_save_keys_total"), 5000);
    childinfo_child_done(&n, pid);
    ck_assert_int_eq(info_field("current_save_keys_total"), 0);
    ck_assert_int_eq(info_field("current_save_keys_processed"), 0);
    ck_assert_int_eq(info_field("current_cow_size"), 0);
    ck_assert_int_eq(info_field("current_cow_peak"), 0);
    ck_assert_uint_gt(childinfo_last_cow(&n, CI_AOF), 0);
}
END_TEST

START_TEST(test_killed_child_sets_no_last_cow)
{
    pid_t pid = childinfo_fork(&n, CI_RDB);
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        childinfo_key_saved(&n);
        pause();
        _exit(1);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
    childinfo_child_done(&n, pid);
    ck_assert_uint_eq(childinfo_last_cow(&n, CI_RDB), 0);
    ck_assert_int_eq(info_field("current_cow_peak"), 0);
    /* the pipe is free again: the next child reports */
    pid = childinfo_fork(&n, CI_RDB);
    if (pid == 0) {
        childinfo_send_final(&n);
        _exit(0);
    }
    waitpid(pid, NULL, 0);
    childinfo_child_done(&n, pid);
    ck_assert_uint_gt(childinfo_last_cow(&n, CI_RDB), 0);
    ck_assert_int_eq(childinfo_total_forks(&n), 2);
}
END_TEST

START_TEST(test_parent_only_sleeps)
{
    /* outside a child no report is written (there is no pipe), but the
     * delay applies: 10 keys at 2 ms */
    n.rdb_key_save_delay = 2000;
    long long t0 = node_mono_us();
    for (int i = 0; i < 10; i++)
        childinfo_key_saved(&n);
    ck_assert_int_ge(node_mono_us() - t0, 20000);
    n.rdb_key_save_delay = 0;
    childinfo_receive(&n);
    ck_assert_int_eq(info_field("current_save_keys_processed"), 0);
    ck_assert_int_eq(childinfo_total_forks(&n), 0);
}
END_TEST

START_TEST(test_no_module_state)
{
    /* every entry point tolerates a node without the module */
    childinfo_teardown(&n);
    ck_assert_int_eq(info_field("current_cow_size"), 0);
    ck_assert_uint_eq(childinfo_last_cow(&n, CI_RDB), 0);
    childinfo_receive(&n);
    childinfo_child_done(&n, 1);
    childinfo_key_saved(&n);
    childinfo_send_final(&n);
    ck_assert_int_eq(childinfo_total_forks(&n), 0);
    ck_assert_int_eq(childinfo_setup(&n), 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("childinfo");
    TCase *tc = tcase_create("childinfo");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_private_dirty_grows);
    tcase_add_test(tc, test_reports_from_child);
    tcase_add_test(tc, test_killed_child_sets_no_last_cow);
    tcase_add_test(tc, test_parent_only_sleeps);
    tcase_add_test(tc, test_no_module_state);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
