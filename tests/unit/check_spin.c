/*
 * check_spin.c: the busy-poll gate (common/spin.c): summing the busy time
 * of the allowed CPUs out of /proc/stat, and the gate opening while the
 * other processes leave a CPU to spare and closing when they do not;
 * cgroup CPU quotas (v1 and v2 files, found through /proc/self/cgroup's
 * paths in a made-up cgroup tree) narrowing what counts as spare.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spin.h"

static void gate(spin_gate_t *g, const int *cpus, int n)
{
    spin_gate_init(g);
    spin_gate_deinit(g);
    memset(g->allowed, 0, sizeof(g->allowed));
    g->nallowed = n;
    for (int i = 0; i < n; i++) g->allowed[cpus[i] / 64] |= 1ULL << (cpus[i] % 64);
    g->others = 0;
    g->quota = 0; /* not this machine's */
    atomic_store(&g->open, 1);
}

static const char stat_text[] =
    "cpu  2456743 167554 797116 3321662 23642 0 138807 1650 0 0\n"
    "cpu0 100 10 20 5000 7 0 3 1 0 0\n"
    "cpu1 200 0 40 6000 9 0 6 2 0 0\n"
    "cpu65 1 1 1 1 1 1 1 1 0 0\n"
    "intr 94170870 0 0 0 0 0 0\n"
    "cpu7 999999 0 0 0 0 0 0 0 0 0\n";

static int64_t busy(const spin_gate_t *g, const char *text)
{
    return spin_busy_ticks(g, text, (int)strlen(text));
}

START_TEST(test_busy_ticks)
{
    spin_gate_t g;
    gate(&g, (int[]){0}, 1);
    ck_assert_int_eq(busy(&g, stat_text), 100 + 10 + 20 + 3 + 1);
    gate(&g, (int[]){0, 1}, 2);
    ck_assert_int_eq(busy(&g, stat_text), 134 + 248);
    gate(&g, (int[]){1, 65}, 2);
    ck_assert_int_eq(busy(&g, stat_text), 248 + 6);
    /* only the cpu lines count; a CPU not listed contributes nothing */
    gate(&g, (int[]){7}, 1);
    ck_assert_int_eq(busy(&g, stat_text), -1);
    gate(&g, (int[]){0}, 1);
    ck_assert_int_eq(busy(&g, ""), -1);
    ck_assert_int_eq(busy(&g, "cpu0 100 10 20 5000"), -1); /* cut off */
    ck_assert_int_eq(busy(&g, "cpu0 x\n"), 0);
}
END_TEST

#define MS 1000000LL

START_TEST(test_pinned_server_spins_while_its_cpu_is_its_own)
{
    spin_gate_t g;
    gate(&g, (int[]){1}, 1);
    /* its CPU busy all the time, all of it our own spinning */
    for (int i = 0; i < 20; i++) spin_gate_update(&g, 100 * MS, 100 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 1);
    /* another process shares the CPU and takes 80% of it */
    for (int i = 0; i < 4; i++) spin_gate_update(&g, 100 * MS, 20 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 0);
    for (int i = 0; i < 20; i++) spin_gate_update(&g, 30 * MS, 25 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 1);
    /* a backend on the same CPU, busy a fifth of the time: it would wait
     * behind our spinning for a scheduler slice */
    for (int i = 0; i < 20; i++) spin_gate_update(&g, 100 * MS, 80 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 0);
    /* background noise (a daemon waking now and then) does not close it */
    for (int i = 0; i < 20; i++) spin_gate_update(&g, 100 * MS, 97 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 1);
}
END_TEST

START_TEST(test_two_cpus_one_busy_client)
{
    spin_gate_t g;
    gate(&g, (int[]){0, 1}, 2);
    /* a client busy on one CPU, us on the other */
    for (int i = 0; i < 20; i++) spin_gate_update(&g, 200 * MS, 100 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 1);
    /* a client and a backend on more than the other CPU: no CPU spare */
    for (int i = 0; i < 20; i++) spin_gate_update(&g, 200 * MS, 80 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 0);
    for (int i = 0; i < 20; i++) spin_gate_update(&g, 180 * MS, 100 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 1);
    spin_gate_update(&g, 200 * MS, 10 * MS, 100 * MS); /* a moment's burst */
    ck_assert_int_eq(spin_gate_open(&g), 1);
    /* others take both CPUs for a while */
    for (int i = 0; i < 4; i++) spin_gate_update(&g, 200 * MS, 5 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 0);
    /* jiffy rounding may make our own time exceed the busy time */
    for (int i = 0; i < 20; i++) spin_gate_update(&g, 90 * MS, 100 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 1);
    spin_gate_update(&g, 90 * MS, 100 * MS, 0); /* no time passed: ignored */
    ck_assert_int_eq(spin_gate_open(&g), 1);
}
END_TEST

START_TEST(test_gate_samples_this_machine)
{
    spin_gate_t g;
    spin_gate_init(&g);
    ck_assert_int_ge(g.nallowed, 1);
    ck_assert_int_ge(g.fd, 0); /* Linux has /proc/stat */
    ck_assert_int_ne(g.last_wall_ns, 0); /* the first sample was taken */
    spin_gate_sample(&g);
    ck_assert(g.others >= 0);
    spin_gate_deinit(&g);
    ck_assert_int_eq(g.fd, -1);
}
END_TEST

START_TEST(test_quota_texts)
{
    ck_assert(spin_quota_cpus("max 100000\n", NULL) == 0);
    ck_assert(spin_quota_cpus("150000 100000\n", NULL) == 1.5);
    ck_assert(spin_quota_cpus("200000 100000", NULL) == 2.0);
    ck_assert(spin_quota_cpus("", NULL) == 0);
    ck_assert(spin_quota_cpus("100000", NULL) == 0);      /* no period */
    ck_assert(spin_quota_cpus("100000 0\n", NULL) == 0);
    ck_assert(spin_quota_cpus("-1\n", "100000\n") == 0); /* v1: none */
    ck_assert(spin_quota_cpus("50000\n", "100000\n") == 0.5);
    ck_assert(spin_quota_cpus("300000\n", "100000\n") == 3.0);
    ck_assert(spin_quota_cpus("x\n", "100000\n") == 0);
    ck_assert(spin_quota_cpus("50000\n", "\n") == 0);
}
END_TEST

static char root[] = "/tmp/check_spin_XXXXXX";

static void put(const char *rel, const char *text)
{
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", root, rel);
    /* make the parent directories */
    for (char *s = path + strlen(root) + 1; (s = strchr(s, '/')); s++) {
        *s = '\0';
        mkdir(path, 0755);
        *s = '/';
    }
    if (text) {
        FILE *f = fopen(path, "w");
        ck_assert_ptr_nonnull(f);
        fputs(text, f);
        fclose(f);
    } else {
        mkdir(path, 0755);
    }
}

START_TEST(test_cgroup_quota_lookup)
{
    ck_assert_ptr_nonnull(mkdtemp(root));
    /* v1: a pod-level limit of 3 CPUs above a container limit of 2.5 */
    put("cpu,cpuacct/pod/cpu.cfs_quota_us", "300000\n");
    put("cpu,cpuacct/pod/cpu.cfs_period_us", "100000\n");
    put("cpu,cpuacct/pod/ctr/cpu.cfs_quota_us", "250000\n");
    put("cpu,cpuacct/pod/ctr/cpu.cfs_period_us", "100000\n");
    put("cpu,cpuacct/cpu.cfs_quota_us", "-1\n");
    put("cpu,cpuacct/cpu.cfs_period_us", "100000\n");
    const char v1[] = "12:memory:/pod/ctr\n4:cpu,cpuacct:/pod/ctr\n0::/\n";
    ck_assert(spin_cgroup_quota(v1, root) == 2.5);
    /* the tighter limit may be the parent's */
    const char v1b[] = "4:cpu,cpuacct:/pod/other\n";
    put("cpu,cpuacct/pod/other", NULL);
    ck_assert(spin_cgroup_quota(v1b, root) == 3.0);
    /* "cpuacct" alone is not the cpu controller */
    put("cpuacct/pod/ctr/cpu.cfs_quota_us", "10000\n");
    put("cpuacct/pod/ctr/cpu.cfs_period_us", "100000\n");
    ck_assert(spin_cgroup_quota("3:cpuacct:/pod/ctr\n", root) == 0);
    /* v2, at the root and under unified/ (hybrid); "max" is no limit */
    put("app/cpu.max", "max 100000\n");
    put("app/web/cpu.max", "150000 100000\n");
    ck_assert(spin_cgroup_quota("0::/app/web\n", root) == 1.5);
    ck_assert(spin_cgroup_quota("0::/app\n", root) == 0);
    put("unified/svc/cpu.max", "400000 100000\n");
    ck_assert(spin_cgroup_quota("0::/svc/\n", root) == 4.0);
    /* a namespaced container sees itself as "/" */
    put("cpu.max", "120000 100000\n");
    ck_assert(spin_cgroup_quota("0::/\n", root) == 1.2);
    /* nothing there, garbage, empty */
    ck_assert(spin_cgroup_quota("0::/nowhere\n", root) == 1.2); /* root's */
    ck_assert(spin_cgroup_quota("garbage", root) == 0);
    ck_assert(spin_cgroup_quota("", root) == 0);
    char cmd[600];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

START_TEST(test_quota_narrows_the_gate)
{
    spin_gate_t g;
    gate(&g, (int[]){0, 1, 2, 3}, 4);
    /* others use 2 of 4 CPUs: open without a quota */
    for (int i = 0; i < 20; i++) spin_gate_update(&g, 300 * MS, 100 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 1);
    /* a 3-CPU quota: one for our own work, others leave too little */
    g.quota = 3.0;
    spin_gate_update(&g, 300 * MS, 100 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 0);
    /* an idle machine, but a quota under 1.9 CPUs never spins */
    g.quota = 1.5;
    for (int i = 0; i < 20; i++) spin_gate_update(&g, 100 * MS, 100 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 0);
    g.quota = 2.0;
    spin_gate_update(&g, 100 * MS, 100 * MS, 100 * MS);
    ck_assert_int_eq(spin_gate_open(&g), 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("spin");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_busy_ticks);
    tcase_add_test(tc, test_pinned_server_spins_while_its_cpu_is_its_own);
    tcase_add_test(tc, test_two_cpus_one_busy_client);
    tcase_add_test(tc, test_gate_samples_this_machine);
    tcase_add_test(tc, test_quota_texts);
    tcase_add_test(tc, test_cgroup_quota_lookup);
    tcase_add_test(tc, test_quota_narrows_the_gate);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? 1 : 0;
}
