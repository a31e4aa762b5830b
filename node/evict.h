/*
 * evict.h: maxmemory eviction, and the LRU/LFU field every key carries.
 *
 * The eight policies of Redis 7.0 (evict.c): noeviction, allkeys-* and
 * volatile-* (only keys with a TTL) with lru, lfu or random, and
 * volatile-ttl.  LRU, LFU and TTL pick keys by sampling
 * `maxmemory-samples` keys into a 16-entry eviction pool, which keeps the
 * best candidates seen so far across calls (approximate LRU/LFU).
 *
 * The 24-bit field of an entry (ke_lru) means, as in Redis:
 *   LRU policies and noeviction/random/ttl: the LRU clock in seconds
 *     (db_lru_clock) of the last access;
 *   LFU policies: (16-bit minutes of the last decrement << 8) | an 8-bit
 *     logarithmic access counter; new keys start at LFU_INIT_VAL (5).
 * Switching between LRU and LFU at run time does not convert existing
 * keys (neither does Redis: "data will take some time to adjust").
 */
#ifndef TS_EVICT_H
#define TS_EVICT_H

#include <stdint.h>

#include "keyspace.h"
#include "node.h"

/* maxmemory-policy values: the index in options.c's name table, in Redis's
 * order (its CONFIG SET error lists them so). */
enum evict_policy {
    EVICT_VOLATILE_LRU = 0,
    EVICT_VOLATILE_LFU,
    EVICT_VOLATILE_RANDOM,
    EVICT_VOLATILE_TTL,
    EVICT_ALLKEYS_LRU,
    EVICT_ALLKEYS_LFU,
    EVICT_ALLKEYS_RANDOM,
    EVICT_NOEVICTION,
};

#define EVICT_LFU_INIT_VAL 5

/* Allocate the eviction state (pool, timer on n->base, which may be NULL
 * in tests) and stamp the keyspace clock for the configured policy.  Call
 * after n->ks exists; undone by evict_teardown (before ks_destroy). */
void evict_setup(node_t *n);
void evict_teardown(node_t *n);

/*
 * Redis's performEvictions: when maxmemory is set and ts_used_memory() is
 * above it, delete keys chosen by the policy until it is not (each counts
 * in n->stats.evicted_keys).  The work is bounded in time by
 * maxmemory-eviction-tenacity (10: 500 us); when the bound is hit, a timer
 * keeps evicting from the event loop and this call counts as a success, as
 * Redis's EVICT_RUNNING (commands are not refused meanwhile).  Nothing is
 * evicted while clients are paused (the dataset must stay still).
 *
 * Returns 0 if memory is under the limit (or eviction is still running),
 * -1 if it is over and nothing can be evicted: noeviction, an empty
 * keyspace, or volatile-* without keys with a TTL.  Callers refuse
 * CF_DENYOOM commands on -1.  Must not run while a caller holds kentry
 * pointers (keys are deleted).
 */
int evict_perform(node_t *n, long long now_ms);

/* CONFIG SET hooks.  maxmemory: warns if the new limit is below the
 * memory in use and evicts right away (as Redis).  maxmemory-policy:
 * re-stamps the keyspace clock so new keys get the policy's initial value. */
void evict_maxmemory_changed(node_t *n);
void evict_policy_changed(node_t *n);

/* 1 if the policy is an LFU one (volatile-lfu, allkeys-lfu). */
int evict_policy_lfu(const node_t *n);
/* 1 if the policy is an LRU one (volatile-lru, allkeys-lru). */
int evict_policy_lru(const node_t *n);

/* The value stamped on keys when they are created: db_lru_clock(now), or
 * under LFU (minutes(now) << 8) | EVICT_LFU_INIT_VAL.  The node keeps the
 * keyspace's clock (ks_set_lru_clock) at this value from its cron. */
uint32_t evict_new_clock(const node_t *n, long long now_ms);

/* An access to e (Redis's lookupKey without NOTOUCH): LRU policies and the
 * others store the LRU clock; LFU decays the counter for the minutes
 * elapsed and then increments it logarithmically (LFULogIncr). */
void evict_touch(const node_t *n, kentry_t *e, long long now_ms);

/* OBJECT FREQ: e's LFU counter after decay (LFUDecrAndReturn), without
 * storing it.  Meaningful only under an LFU policy. */
unsigned evict_lfu_freq(const node_t *n, const kentry_t *e, long long now_ms);

#endif
