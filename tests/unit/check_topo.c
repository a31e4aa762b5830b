/*
 * check_topo.c: the proxy's slot map built from CLUSTER SHARDS and
 * CLUSTER SLOTS replies (proxy/topo.c).
 *
 * The two known-answer replies were captured from a Debian redis-server
 * 7.0.15 cluster of three masters (slots split evenly, one with a replica
 * that was still loading).  The map must come out the same from both, with
 * masters ordered by their first slot; every truncation and every
 * single-byte mutation of the replies must either be refused or give a
 * well-formed map, never a crash (the proxy parses what backends send).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "proxy.h"

static const char shards_reply[] =
    "*3\r\n"
    "*4\r\n$5\r\nslots\r\n*2\r\n:5461\r\n:10921\r\n$5\r\nnodes\r\n*1\r\n"
    "*14\r\n$2\r\nid\r\n$40\r\n68bb4720e5b6bc99e4168987d35639b43bb1cea1\r\n"
    "$4\r\nport\r\n:29764\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"
    "$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
    "*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:5460\r\n$5\r\nnodes\r\n*2\r\n"
    "*14\r\n$2\r\nid\r\n$40\r\n819696f3e088ee180c7738d53cf1d4b7f82ce53e\r\n"
    "$4\r\nport\r\n:24320\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"
    "$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
    "*14\r\n$2\r\nid\r\n$40\r\n7fa29bca3f7253482ac426ca1ea8615748a4833e\r\n"
    "$4\r\nport\r\n:21689\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"
    "$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$7\r\nreplica\r\n"
    "$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$7\r\nloading\r\n"
    "*4\r\n$5\r\nslots\r\n*2\r\n:10922\r\n:16383\r\n$5\r\nnodes\r\n*1\r\n"
    "*14\r\n$2\r\nid\r\n$40\r\n23fe5459b779b1c8622cc89c1b00f4c2ffa3de4f\r\n"
    "$4\r\nport\r\n:25189\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n"
    "$8\r\nendpoint\r\n$9\r\n127.0.0.1\r\n$4\r\nrole\r\n$6\r\nmaster\r\n"
    "$18\r\nreplication-offset\r\n:0\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";

static const char slots_reply[] =
    "*3\r\n"
    "*3\r\n:0\r\n:5460\r\n*4\r\n$9\r\n127.0.0.1\r\n:24320\r\n"
    "$40\r\n819696f3e088ee180c7738d53cf1d4b7f82ce53e\r\n*0\r\n"
    "*3\r\n:5461\r\n:10921\r\n*4\r\n$9\r\n127.0.0.1\r\n:29764\r\n"
    "$40\r\n68bb4720e5b6bc99e4168987d35639b43bb1cea1\r\n*0\r\n"
    "*3\r\n:10922\r\n:16383\r\n*4\r\n$9\r\n127.0.0.1\r\n:25189\r\n"
    "$40\r\n23fe5459b779b1c8622cc89c1b00f4c2ffa3de4f\r\n*0\r\n";

typedef topo_t *parse_fn(const resp_value_t *v);

/* Parse RESP bytes, then a map; NULL if either step refuses. */
static topo_t *map_from(parse_fn *fn, const char *bytes, size_t len)
{
    resp_value_t *v = NULL;
    size_t used;
    const char *err;
    if (resp_parse_value(bytes, len, &v, &used, &err) != TS_OK) return NULL;
    topo_t *t = fn(v);
    resp_value_free(v);
    return t;
}

static void check_three_masters(const topo_t *t)
{
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->single, 0);
    ck_assert_int_eq(t->nmasters, 3);
    /* ordered by first slot, whatever order the reply had */
    ck_assert_str_eq(t->masters[0].addr, "127.0.0.1:24320");
    ck_assert_str_eq(t->masters[1].addr, "127.0.0.1:29764");
    ck_assert_str_eq(t->masters[2].addr, "127.0.0.1:25189");
    ck_assert_str_eq(t->masters[1].host, "127.0.0.1");
    ck_assert_int_eq(t->masters[1].port, 29764);
    ck_assert_int_eq(t->owner[0], 0);
    ck_assert_int_eq(t->owner[5460], 0);
    ck_assert_int_eq(t->owner[5461], 1);
    ck_assert_int_eq(t->owner[10921], 1);
    ck_assert_int_eq(t->owner[10922], 2);
    ck_assert_int_eq(t->owner[16383], 2);
}

START_TEST(shards_known_answer)
{
    topo_t *t = map_from(topo_from_shards, shards_reply, sizeof(shards_reply) - 1);
    check_three_masters(t);
    ck_assert_int_eq(t->nreplicas, 1);
    ck_assert_str_eq(t->source, "CLUSTER SHARDS");
    /* the replica (Redis 7.0 says "loading" while its offset is 0) is
     * kept for read-from, under its master's index after sorting */
    ck_assert_int_eq(t->nreps, 1);
    ck_assert_str_eq(t->reps[0].addr, "127.0.0.1:21689");
    ck_assert_int_eq(t->reps[0].master, 0);
    ck_assert_int_eq(t->masters[0].rep_first, 0);
    ck_assert_int_eq(t->masters[0].rep_count, 1);
    ck_assert_int_eq(t->masters[1].rep_count, 0);
    ck_assert_int_eq(t->masters[2].rep_count, 0);
    topo_release(t);
}
END_TEST

START_TEST(slots_known_answer)
{
    topo_t *t = map_from(topo_from_slots, slots_reply, sizeof(slots_reply) - 1);
    check_three_masters(t);
    ck_assert_str_eq(t->source, "CLUSTER SLOTS");
    topo_release(t);
}
END_TEST

START_TEST(partial_coverage_leaves_slots_unowned)
{
    static const char one[] =
        "*1\r\n*3\r\n:100\r\n:199\r\n*2\r\n$9\r\n10.0.0.1\r\n:7000\r\n";
    /* "10.0.0.1" is 8 bytes: the bulk above is malformed on purpose */
    ck_assert_ptr_null(map_from(topo_from_slots, one, sizeof(one) - 1));
    static const char ok[] =
        "*1\r\n*3\r\n:100\r\n:199\r\n*2\r\n$8\r\n10.0.0.1\r\n:7000\r\n";
    topo_t *t = map_from(topo_from_slots, ok, sizeof(ok) - 1);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->nmasters, 1);
    ck_assert_int_eq(t->owner[99], TOPO_NO_OWNER);
    ck_assert_int_eq(t->owner[100], 0);
    ck_assert_int_eq(t->owner[199], 0);
    ck_assert_int_eq(t->owner[200], TOPO_NO_OWNER);
    topo_release(t);
}
END_TEST

/* CLUSTER SLOTS' entries after the master are replicas; CLUSTER SHARDS
 * nodes with health "fail" are not used. */
START_TEST(replicas_grouped_by_master)
{
    static const char slots[] =
        "*2\r\n"
        "*4\r\n:8192\r\n:16383\r\n*2\r\n$1\r\na\r\n:1\r\n"
        "*2\r\n$1\r\nb\r\n:2\r\n"
        "*5\r\n:0\r\n:8191\r\n*2\r\n$1\r\nc\r\n:3\r\n"
        "*2\r\n$1\r\nd\r\n:4\r\n*2\r\n$1\r\ne\r\n:5\r\n";
    topo_t *t = map_from(topo_from_slots, slots, sizeof(slots) - 1);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->nmasters, 2);
    ck_assert_str_eq(t->masters[0].addr, "c:3");   /* first slot 0 */
    ck_assert_int_eq(t->nreps, 3);
    ck_assert_int_eq(t->masters[0].rep_count, 2);
    ck_assert_str_eq(t->reps[t->masters[0].rep_first].addr, "d:4");
    ck_assert_str_eq(t->reps[t->masters[0].rep_first + 1].addr, "e:5");
    ck_assert_int_eq(t->masters[1].rep_count, 1);
    ck_assert_str_eq(t->reps[t->masters[1].rep_first].addr, "b:2");
    topo_release(t);

    static const char shards[] =
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:16383\r\n$5\r\nnodes\r\n*3\r\n"
        "*8\r\n$4\r\nport\r\n:1\r\n$2\r\nip\r\n$1\r\nm\r\n"
        "$4\r\nrole\r\n$6\r\nmaster\r\n$6\r\nhealth\r\n$6\r\nonline\r\n"
        "*8\r\n$4\r\nport\r\n:2\r\n$2\r\nip\r\n$1\r\nr\r\n"
        "$4\r\nrole\r\n$7\r\nreplica\r\n$6\r\nhealth\r\n$4\r\nfail\r\n"
        "*8\r\n$4\r\nport\r\n:3\r\n$2\r\nip\r\n$1\r\ns\r\n"
        "$4\r\nrole\r\n$7\r\nreplica\r\n$6\r\nhealth\r\n$6\r\nonline\r\n";
    t = map_from(topo_from_shards, shards, sizeof(shards) - 1);
    ck_assert_ptr_nonnull(t);
    ck_assert_int_eq(t->nreplicas, 2);
    ck_assert_int_eq(t->nreps, 1);
    ck_assert_str_eq(t->reps[0].addr, "s:3");
    ck_assert_int_eq(t->masters[0].rep_count, 1);
    topo_release(t);
}
END_TEST

START_TEST(bad_values_refused)
{
    static const char *const bad_slots[] = {
        "*1\r\n*3\r\n:0\r\n:16384\r\n*2\r\n$1\r\nh\r\n:1\r\n",   /* slot range */
        "*1\r\n*3\r\n:-1\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n",      /* negative */
        "*1\r\n*3\r\n:9\r\n:5\r\n*2\r\n$1\r\nh\r\n:1\r\n",       /* lo > hi */
        "*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n:0\r\n",       /* port 0 */
        "*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$1\r\nh\r\n:65536\r\n",   /* port */
        "*1\r\n*3\r\n:0\r\n:5\r\n*2\r\n$0\r\n\r\n:1\r\n",        /* no host */
        "*1\r\n*2\r\n:0\r\n:5\r\n",                              /* no node */
        "*1\r\n:5\r\n",                                          /* not array */
        "+OK\r\n",
    };
    for (size_t i = 0; i < sizeof(bad_slots) / sizeof(bad_slots[0]); i++)
        ck_assert_msg(map_from(topo_from_slots, bad_slots[i],
                               strlen(bad_slots[i])) == NULL,
                      "accepted bad SLOTS reply %zu", i);
    static const char *const bad_shards[] = {
        /* a shard with slots but no master */
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:5\r\n$5\r\nnodes\r\n*0\r\n",
        /* slots not an array */
        "*1\r\n*4\r\n$5\r\nslots\r\n:0\r\n$5\r\nnodes\r\n*0\r\n",
        /* a slot out of range */
        "*1\r\n*4\r\n$5\r\nslots\r\n*2\r\n:0\r\n:99999\r\n$5\r\nnodes\r\n*1\r\n"
        "*4\r\n$4\r\nport\r\n:7000\r\n$2\r\nip\r\n$1\r\nh\r\n",
        "-ERR unknown subcommand\r\n",
    };
    for (size_t i = 0; i < sizeof(bad_shards) / sizeof(bad_shards[0]); i++)
        ck_assert_msg(map_from(topo_from_shards, bad_shards[i],
                               strlen(bad_shards[i])) == NULL,
                      "accepted bad SHARDS reply %zu", i);
}
END_TEST

/* Plain ifs: each ck_assert reports its location to the Check runner,
 * far too slow for 16384 checks per map. */
static void check_well_formed(const topo_t *t)
{
    for (size_t s = 0; s < SLOT_COUNT; s++)
        if (t->owner[s] != TOPO_NO_OWNER && t->owner[s] >= t->nmasters)
            ck_abort_msg("slot %zu owned by master %u of %d", s, t->owner[s],
                         t->nmasters);
    for (int i = 0; i < t->nmasters; i++)
        if (t->masters[i].port <= 0 || t->masters[i].port > 65535 ||
            strlen(t->masters[i].host) == 0)
            ck_abort_msg("bad master %d: '%s':%d", i, t->masters[i].host,
                         t->masters[i].port);
    int nreps = 0;
    for (int i = 0; i < t->nmasters; i++) {
        const topo_node_t *m = &t->masters[i];
        if (m->rep_count < 0 || m->rep_first < 0 ||
            m->rep_first + m->rep_count > t->nreps)
            ck_abort_msg("master %d: replicas %d+%d of %d", i, m->rep_first,
                         m->rep_count, t->nreps);
        for (int r = m->rep_first; r < m->rep_first + m->rep_count; r++)
            if (t->reps[r].master != i || t->reps[r].port <= 0 ||
                t->reps[r].port > 65535 || !t->reps[r].host[0])
                ck_abort_msg("bad replica %d of master %d", r, i);
        nreps += m->rep_count;
    }
    if (nreps != t->nreps)
        ck_abort_msg("%d replicas grouped, %d known", nreps, t->nreps);
}

/* Every prefix and every single-byte change: refused or well formed. */
static void mutate_all(parse_fn *fn, const char *reply, size_t len)
{
    char *copy = malloc(len);
    for (size_t n = 0; n < len; n++) {
        topo_t *t = map_from(fn, reply, n);
        if (t) {
            check_well_formed(t);
            topo_release(t);
        }
    }
    static const char subst[] = {'0', '9', '-', '*', ':', 0};
    for (size_t i = 0; i < len; i++) {
        for (size_t k = 0; k < sizeof(subst); k++) {
            memcpy(copy, reply, len);
            copy[i] = subst[k];
            topo_t *t = map_from(fn, copy, len);
            if (t) {
                check_well_formed(t);
                topo_release(t);
            }
        }
    }
    free(copy);
}

START_TEST(mutations_never_crash)
{
    mutate_all(topo_from_shards, shards_reply, sizeof(shards_reply) - 1);
    mutate_all(topo_from_slots, slots_reply, sizeof(slots_reply) - 1);
}
END_TEST

static Suite *topo_suite(void)
{
    Suite *s = suite_create("topo");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, shards_known_answer);
    tcase_add_test(tc, slots_known_answer);
    tcase_add_test(tc, partial_coverage_leaves_slots_unowned);
    tcase_add_test(tc, replicas_grouped_by_master);
    tcase_add_test(tc, bad_values_refused);
    tcase_add_test(tc, mutations_never_crash);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(topo_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
