/*
 * check_evict.c: maxmemory eviction (node/evict.c) on a real keyspace,
 * without an event loop (so no timer: a call that hits the time limit
 * simply returns).
 *
 * maxmemory is set relative to ts_used_memory(), which in this process
 * counts only the keyspace and the eviction pool.  Keys get controlled
 * LRU/LFU fields and TTLs, then the tests check which ones go: the oldest
 * (LRU), the least used (LFU), the soonest to expire (TTL), only keys
 * with a TTL (volatile-*), nothing (noeviction, -1), and that
 * n->stats.evicted_keys counts them.  Also the LFU counter arithmetic
 * (LFU_INIT_VAL, logarithmic increment, decay per lfu-decay-time minutes,
 * saturation at 255) and the tenacity time bound.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "db.h"
#include "evict.h"
#include "keyspace.h"
#include "node.h"

static node_t node;
static const long long NOW = 1700000000000LL;   /* unix ms */

static void setup(void)
{
    memset(&node, 0, sizeof(node));
    node.ks = ks_create(1);
    node.maxmemory_policy = EVICT_NOEVICTION;
    node.maxmemory_samples = 5;
    /* No time bound (tenacity 100): a slow (sanitizer) build would
     * otherwise stop early; test_tenacity checks the bound itself. */
    node.maxmemory_eviction_tenacity = 100;
    node.lfu_log_factor = 10;
    node.lfu_decay_time = 1;
    evict_setup(&node);
}

static void teardown(void)
{
    evict_teardown(&node);
    ks_destroy(node.ks);
}

static const char VAL[300] = {'v'};

/* key "<prefix>:<i>" with a 300-byte value; returns the entry. */
static kentry_t *put(const char *prefix, int i)
{
    char k[64];
    int n = snprintf(k, sizeof(k), "%s:%d", prefix, i);
    return ks_set_str(node.ks, k, (size_t)n, VAL, sizeof(VAL), 0);
}

static int has(const char *prefix, int i)
{
    char k[64];
    int n = snprintf(k, sizeof(k), "%s:%d", prefix, i);
    return ks_find(node.ks, k, (size_t)n) != NULL;
}

static int count(const char *prefix, int n)
{
    int c = 0;
    for (int i = 0; i < n; i++) c += has(prefix, i);
    return c;
}

/* Limit = memory in use minus about `keys` entries' worth. */
static void limit_below(int keys)
{
    node.maxmemory = (long long)ts_used_memory() - keys * 340;
}

START_TEST(test_noeviction)
{
    for (int i = 0; i < 100; i++) put("k", i);
    ck_assert_int_eq(evict_perform(&node, NOW), 0);   /* maxmemory 0 */
    node.maxmemory = (long long)ts_used_memory() + 1000;
    ck_assert_int_eq(evict_perform(&node, NOW), 0);
    limit_below(10);
    ck_assert_int_eq(evict_perform(&node, NOW), -1);
    ck_assert_uint_eq(ks_size(node.ks), 100);
    ck_assert_int_eq(node.stats.evicted_keys, 0);
    /* Nothing is evicted while clients are paused. */
    node.maxmemory_policy = EVICT_ALLKEYS_RANDOM;
    node.pause_end_ms = NOW + 1;
    ck_assert_int_eq(evict_perform(&node, NOW), 0);
    ck_assert_uint_eq(ks_size(node.ks), 100);
    node.pause_end_ms = 0;
    ck_assert_int_eq(evict_perform(&node, NOW), 0);
    ck_assert_uint_lt(ks_size(node.ks), 100);
    ck_assert_int_le((long long)ts_used_memory(), node.maxmemory);
}
END_TEST

START_TEST(test_allkeys_lru_evicts_oldest)
{
    node.maxmemory_policy = EVICT_ALLKEYS_LRU;
    uint32_t now = db_lru_clock(NOW);
    for (int i = 0; i < 1000; i++) ke_set_lru(put("old", i), now - 1000);
    for (int i = 0; i < 1000; i++) ke_set_lru(put("new", i), now);
    limit_below(300);
    ck_assert_int_eq(evict_perform(&node, NOW), 0);
    ck_assert_int_le((long long)ts_used_memory(), node.maxmemory);
    int old_gone = 1000 - count("old", 1000), new_gone = 1000 - count("new", 1000);
    ck_assert_int_eq(node.stats.evicted_keys, old_gone + new_gone);
    ck_assert_int_ge(old_gone, 250);
    /* The pool keeps old candidates: a new key goes only when a whole
     * sample set of 5 is new and the pool is empty. */
    ck_assert_int_le(new_gone, old_gone / 20);
}
END_TEST

START_TEST(test_volatile_ttl_soonest_first)
{
    node.maxmemory_policy = EVICT_VOLATILE_TTL;
    for (int i = 0; i < 2000; i++) ks_set_expire(node.ks, put("t", i), NOW + 1000000 + i);
    for (int i = 0; i < 200; i++) put("persistent", i);
    limit_below(200);
    ck_assert_int_eq(evict_perform(&node, NOW), 0);
    ck_assert_int_eq(count("persistent", 200), 200);
    /* Evicted keys are among the soonest third (the very first picks,
     * from an empty pool, may be a little worse). */
    int gone = 0, late = 0;
    for (int i = 0; i < 2000; i++)
        if (!has("t", i)) {
            gone++;
            late += i >= 700;
        }
    ck_assert_int_ge(gone, 150);
    ck_assert_int_le(late, gone / 20);
}
END_TEST

static void volatile_only_ttl_keys(int policy)
{
    node.maxmemory_policy = policy;
    for (int i = 0; i < 300; i++) put("p", i);
    limit_below(10);
    ck_assert_int_eq(evict_perform(&node, NOW), -1);   /* nothing volatile */
    ck_assert_int_eq(node.stats.evicted_keys, 0);
    node.maxmemory = 0;
    for (int i = 0; i < 100; i++) ks_set_expire(node.ks, put("v", i), NOW + 5000);
    limit_below(40);
    ck_assert_int_eq(evict_perform(&node, NOW), 0);
    ck_assert_int_eq(count("p", 300), 300);
    ck_assert_int_lt(count("v", 100), 70);
    /* More than the volatile keys can cover: all of them go, then -1. */
    limit_below(150);
    ck_assert_int_eq(evict_perform(&node, NOW), -1);
    ck_assert_int_eq(count("v", 100), 0);
    ck_assert_int_eq(count("p", 300), 300);
    ck_assert_int_eq(node.stats.evicted_keys, 100);
}

START_TEST(test_volatile_lru) { volatile_only_ttl_keys(EVICT_VOLATILE_LRU); }
END_TEST
START_TEST(test_volatile_lfu) { volatile_only_ttl_keys(EVICT_VOLATILE_LFU); }
END_TEST
START_TEST(test_volatile_random) { volatile_only_ttl_keys(EVICT_VOLATILE_RANDOM); }
END_TEST
START_TEST(test_volatile_ttl) { volatile_only_ttl_keys(EVICT_VOLATILE_TTL); }
END_TEST

START_TEST(test_allkeys_random_empties)
{
    node.maxmemory_policy = EVICT_ALLKEYS_RANDOM;
    for (int i = 0; i < 500; i++) put("k", i);
    node.maxmemory = 1;
    ck_assert_int_eq(evict_perform(&node, NOW), -1);   /* all gone, still over */
    ck_assert_uint_eq(ks_size(node.ks), 0);
    ck_assert_int_eq(node.stats.evicted_keys, 500);
}
END_TEST

START_TEST(test_lfu_counter)
{
    node.maxmemory_policy = EVICT_ALLKEYS_LFU;
    evict_policy_changed(&node);
    long long t = NOW;
    uint32_t minutes = (uint32_t)((t / 60000) & 65535);
    ck_assert_uint_eq(evict_new_clock(&node, t), (minutes << 8) | 5);
    kentry_t *e = put("k", 0);
    ke_set_lru(e, evict_new_clock(&node, t));
    ck_assert_uint_eq(evict_lfu_freq(&node, e, t), 5);
    evict_touch(&node, e, t);       /* from LFU_INIT_VAL: always counts */
    ck_assert_uint_eq(evict_lfu_freq(&node, e, t), 6);
    node.lfu_log_factor = 0;        /* every hit counts */
    for (int i = 0; i < 10; i++) evict_touch(&node, e, t);
    ck_assert_uint_eq(evict_lfu_freq(&node, e, t), 16);
    /* Decay: one per lfu-decay-time minutes, applied on read and touch. */
    ck_assert_uint_eq(evict_lfu_freq(&node, e, t + 3 * 60000), 13);
    node.lfu_decay_time = 2;
    ck_assert_uint_eq(evict_lfu_freq(&node, e, t + 3 * 60000), 15);
    node.lfu_decay_time = 0;
    ck_assert_uint_eq(evict_lfu_freq(&node, e, t + 300 * 60000LL), 16);
    node.lfu_decay_time = 1;
    ck_assert_uint_eq(evict_lfu_freq(&node, e, t + 100 * 60000LL), 0);
    evict_touch(&node, e, t + 3 * 60000);
    ck_assert_uint_eq(evict_lfu_freq(&node, e, t + 3 * 60000), 14);
    ck_assert_uint_eq(ke_lru(e) >> 8, (minutes + 3) & 65535);
    /* Saturates at 255. */
    for (int i = 0; i < 300; i++) evict_touch(&node, e, t + 3 * 60000);
    ck_assert_uint_eq(evict_lfu_freq(&node, e, t + 3 * 60000), 255);
    /* Factor 10: logarithmic (Redis's table: 100 hits ~ 10, 1000 ~ 18). */
    node.lfu_log_factor = 10;
    kentry_t *f = put("f", 0);
    ke_set_lru(f, evict_new_clock(&node, t));
    for (int i = 0; i < 300; i++) evict_touch(&node, f, t);
    unsigned c = evict_lfu_freq(&node, f, t);
    ck_assert_uint_ge(c, 8);
    ck_assert_uint_le(c, 20);
}
END_TEST

START_TEST(test_allkeys_lfu_evicts_rarely_used)
{
    node.maxmemory_policy = EVICT_ALLKEYS_LFU;
    evict_policy_changed(&node);
    uint32_t base = evict_new_clock(&node, NOW) & ~255u;
    for (int i = 0; i < 1000; i++) ke_set_lru(put("rare", i), base | 5);
    for (int i = 0; i < 1000; i++) ke_set_lru(put("freq", i), base | 20);
    limit_below(300);
    ck_assert_int_eq(evict_perform(&node, NOW), 0);
    int rare_gone = 1000 - count("rare", 1000);
    int freq_gone = 1000 - count("freq", 1000);
    ck_assert_int_ge(rare_gone, 250);
    ck_assert_int_le(freq_gone, rare_gone / 20);
}
END_TEST

START_TEST(test_long_keys_in_pool)
{
    /* Keys longer than the pool's cached buffers (255 bytes). */
    node.maxmemory_policy = EVICT_ALLKEYS_LRU;
    char k[600];
    memset(k, 'x', sizeof(k));
    for (int i = 0; i < 300; i++) {
        int n = snprintf(k, 20, "%d", i);
        k[n] = 'x';
        kentry_t *e = ks_set_str(node.ks, k, 256 + (size_t)(i % 300), VAL, 10, 0);
        ke_set_lru(e, db_lru_clock(NOW) - (uint32_t)i);
    }
    limit_below(50);
    ck_assert_int_eq(evict_perform(&node, NOW), 0);
    ck_assert_int_le((long long)ts_used_memory(), node.maxmemory);
    ck_assert_int_gt(node.stats.evicted_keys, 0);
}
END_TEST

START_TEST(test_tenacity_bounds_one_call)
{
    /* Tenacity 0: the time limit is 0 us, checked every 16 keys; without
     * an event loop the call returns (as EVICT_RUNNING: 0) still over. */
    node.maxmemory_policy = EVICT_ALLKEYS_RANDOM;
    node.maxmemory_eviction_tenacity = 0;
    for (int i = 0; i < 2000; i++) put("k", i);
    limit_below(1000);
    ck_assert_int_eq(evict_perform(&node, NOW), 0);
    long long ev = node.stats.evicted_keys;
    ck_assert_int_eq(ev % 16, 0);
    ck_assert_int_lt(ev, 900);
    ck_assert_int_gt((long long)ts_used_memory(), node.maxmemory);
    /* Tenacity 100: no limit. */
    node.maxmemory_eviction_tenacity = 100;
    ck_assert_int_eq(evict_perform(&node, NOW), 0);
    ck_assert_int_le((long long)ts_used_memory(), node.maxmemory);
}
END_TEST

static Suite *evict_suite(void)
{
    Suite *s = suite_create("evict");
    TCase *tc = tcase_create("policies");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_noeviction);
    tcase_add_test(tc, test_allkeys_lru_evicts_oldest);
    tcase_add_test(tc, test_volatile_ttl_soonest_first);
    tcase_add_test(tc, test_volatile_lru);
    tcase_add_test(tc, test_volatile_lfu);
    tcase_add_test(tc, test_volatile_random);
    tcase_add_test(tc, test_volatile_ttl);
    tcase_add_test(tc, test_allkeys_random_empties);
    tcase_add_test(tc, test_allkeys_lfu_evicts_rarely_used);
    tcase_add_test(tc, test_long_keys_in_pool);
    tcase_add_test(tc, test_tenacity_bounds_one_call);
    suite_add_tcase(s, tc);
    tc = tcase_create("lfu");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_lfu_counter);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(evict_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
