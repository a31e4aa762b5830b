/*
 * check_spin.c: the busy-poll gate (common/spin.c): parsing
 * /proc/loadavg's runnable count, and the gate opening while the smoothed
 * count stays within the CPUs and closing when it does not.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>

#include "spin.h"

static int parse(const char *s) { return spin_parse_loadavg(s, (int)strlen(s)); }

START_TEST(test_parse)
{
    ck_assert_int_eq(parse("0.12 0.30 0.41 3/512 1234\n"), 3);
    ck_assert_int_eq(parse("10.00 9.50 8.25 17/2048 99"), 17);
    ck_assert_int_eq(parse("0.00 0.00 0.00 1/1 1"), 1);
    ck_assert_int_eq(parse(""), -1);
    ck_assert_int_eq(parse("0.12 0.30 0.41"), -1);
    ck_assert_int_eq(parse("0.12 0.30 0.41 x/512 1"), -1);
    ck_assert_int_eq(parse("0.12 0.30 0.41 3"), -1);
    ck_assert_int_eq(parse("0.12 0.30 0.41 1234567890123/5 1"), -1);
}
END_TEST

static void gate(spin_gate_t *g, int ncpu)
{
    spin_gate_init(g);
    g->ncpu = ncpu;
}

START_TEST(test_gate_follows_load)
{
    spin_gate_t g;
    gate(&g, 2);
    ck_assert_int_eq(spin_gate_open(&g), 1);
    for (int i = 0; i < 20; i++) spin_gate_update(&g, 2); /* a CPU each */
    ck_assert_int_eq(spin_gate_open(&g), 1);
    spin_gate_update(&g, 4); /* one busy moment is ridden out */
    ck_assert_int_eq(spin_gate_open(&g), 1);
    for (int i = 0; i < 3; i++) spin_gate_update(&g, 4);
    ck_assert_int_eq(spin_gate_open(&g), 0);
    for (int i = 0; i < 20; i++) spin_gate_update(&g, 1);
    ck_assert_int_eq(spin_gate_open(&g), 1);
    spin_gate_deinit(&g);
}
END_TEST

START_TEST(test_gate_samples_this_machine)
{
    spin_gate_t g;
    spin_gate_init(&g);
    ck_assert_int_ge(g.ncpu, 1);
    ck_assert_int_ge(g.fd, 0); /* Linux has /proc/loadavg */
    spin_gate_sample(&g);
    /* the sampling thread itself is runnable: the average moved */
    ck_assert_uint_gt(g.avg, 0);
    spin_gate_deinit(&g);
    ck_assert_int_eq(g.fd, -1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spin");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_parse);
    tcase_add_test(tc, test_gate_follows_load);
    tcase_add_test(tc, test_gate_samples_this_machine);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
