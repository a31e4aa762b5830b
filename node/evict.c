/*
 * evict.c: maxmemory eviction (API and contracts in evict.h), after Redis
 * 7.0's evict.c.
 *
 * Before every command, when maxmemory is set, cmd.c calls evict_perform.
 * If ts_used_memory() is above the limit it deletes keys until it is not,
 * choosing each key by the policy:
 *
 *   random     ks_random / ks_random_volatile: one draw per key.
 *   lru, lfu,  sample maxmemory-samples keys (all keys, or the expiry
 *   ttl        index for volatile-*) into the pool, then evict the pool's
 *              best candidate that still exists:
 *
 *     pool:  [ best kept ... | ... best ]  16 entries, ascending score
 *              score = idle ms (LRU), 255 - counter (LFU),
 *                      ULLONG_MAX - expire ms (TTL: soonest first)
 *
 * The pool outlives the call: candidates found by earlier samples stay
 * until something better pushes them out, which is what makes 5 samples
 * per eviction approximate true LRU well.  It holds copies of key names,
 * never entry pointers (entries move and die): a candidate is looked up
 * again and skipped if it is gone (or, for volatile-*, lost its TTL).
 * Unlike Redis, a key sampled again replaces its older pool entry instead
 * of taking a second one, so a key touched since keeps no stale score.
 *
 * The loop re-reads ts_used_memory() after each deletion rather than
 * adding up what each one freed, as Redis does: there are no replication
 * or AOF buffers here for it to leave out, and the direct reading also
 * sees what the pool's own key copies and table shrinking cost, and what
 * a lazy-free thread gives back meanwhile.  Every 16 keys the elapsed
 * time is checked against the tenacity limit (0..10: 50 us per step;
 * 11..99: 500 us * 1.15^(t-10); 100: none); past it, a zero-delay
 * libevent timer carries on from the event loop (Redis's
 * evictionTimeProc) and the command is allowed.
 *
 * LFU counters follow Redis exactly: an access first decays the counter by
 * one per lfu-decay-time minutes since the stamped minute, then increments
 * it with probability 1 / ((counter - 5) * lfu-log-factor + 1).
 */
#include "evict.h"

#include <event2/event.h>
#include <limits.h>
#include <string.h>

#include "alloc.h"
#include "db.h"
#include "log.h"
#include "multi.h"
#include "notify.h"
#include "propagate.h"

#define EVPOOL_SIZE 16
#define EVPOOL_CACHED_KEY 255   /* keys up to this long reuse a buffer */
#define LRU_CLOCK_MAX ((1u << 24) - 1)
#define LRU_CLOCK_RES_MS 1000   /* db_lru_clock counts seconds */
#define LFU_MINUTES_MAX 65535

typedef struct evpool_entry {
    unsigned long long score;   /* higher: better candidate */
    char *key;                  /* NULL: empty; cached or a ts_malloc copy */
    size_t klen;
    char *cached;               /* this slot's buffer (moves with it) */
} evpool_entry_t;

struct evict {
    node_t *node;
    evpool_entry_t pool[EVPOOL_SIZE];   /* filled from the left */
    struct event *timer;                /* evicts from the loop, or NULL */
    int timer_running;
};

enum { EV_OK, EV_RUNNING, EV_FAIL };

/* ---- policies ------------------------------------------------------- */

int evict_policy_lfu(const node_t *n)
{
    return n->maxmemory_policy == EVICT_VOLATILE_LFU ||
           n->maxmemory_policy == EVICT_ALLKEYS_LFU;
}

int evict_policy_lru(const node_t *n)
{
    return n->maxmemory_policy == EVICT_VOLATILE_LRU ||
           n->maxmemory_policy == EVICT_ALLKEYS_LRU;
}

static int policy_allkeys(const node_t *n)
{
    return n->maxmemory_policy >= EVICT_ALLKEYS_LRU &&
           n->maxmemory_policy <= EVICT_ALLKEYS_RANDOM;
}

static int policy_random(const node_t *n)
{
    return n->maxmemory_policy == EVICT_ALLKEYS_RANDOM ||
           n->maxmemory_policy == EVICT_VOLATILE_RANDOM;
}

/* ---- LRU and LFU ---------------------------------------------------- */

/* Redis's estimateObjectIdleTime, in ms (the clock wraps every ~194 days). */
static unsigned long long lru_idle_ms(uint32_t lru, long long now_ms)
{
    uint32_t now = db_lru_clock(now_ms);
    unsigned long long d = now >= lru ? (unsigned long long)(now - lru)
                                      : (unsigned long long)now +
                                            (LRU_CLOCK_MAX - lru);
    return d * LRU_CLOCK_RES_MS;
}

static unsigned long lfu_minutes(long long now_ms)
{
    return (unsigned long)(now_ms / 60000) & LFU_MINUTES_MAX;
}

/* Minutes since ldt, modulo the 16-bit wrap (LFUTimeElapsed). */
static unsigned long lfu_elapsed(unsigned long ldt, long long now_ms)
{
    unsigned long now = lfu_minutes(now_ms);
    return now >= ldt ? now - ldt : LFU_MINUTES_MAX - ldt + now;
}

/* LFUDecrAndReturn: the counter less one per lfu-decay-time minutes. */
static unsigned long lfu_decr(const node_t *n, uint32_t lru, long long now_ms)
{
    unsigned long ldt = lru >> 8, counter = lru & 255;
    unsigned long periods =
        n->lfu_decay_time > 0
            ? lfu_elapsed(ldt, now_ms) / (unsigned long)n->lfu_decay_time
            : 0;
    if (periods) counter = periods > counter ? 0 : counter - periods;
    return counter;
}

/* LFULogIncr: the more hits so far, the less likely one more counts. */
static unsigned long lfu_log_incr(unsigned long counter, long long factor)
{
    if (counter == 255) return 255;
    double r = (double)(db_rand() >> 11) / (double)(1ULL << 53);
    double baseval = (double)counter - EVICT_LFU_INIT_VAL;
    if (baseval < 0) baseval = 0;
    double p = 1.0 / (baseval * (double)factor + 1);
    return r < p ? counter + 1 : counter;
}

uint32_t evict_new_clock(const node_t *n, long long now_ms)
{
    if (evict_policy_lfu(n))
        return (uint32_t)(lfu_minutes(now_ms) << 8) | EVICT_LFU_INIT_VAL;
    return db_lru_clock(now_ms);
}

void evict_touch(const node_t *n, kentry_t *e, long long now_ms)
{
    if (!evict_policy_lfu(n)) {
        ke_set_lru(e, db_lru_clock(now_ms));
        return;
    }
    unsigned long c = lfu_decr(n, ke_lru(e), now_ms);
    c = lfu_log_incr(c, n->lfu_log_factor);
    ke_set_lru(e, (uint32_t)((lfu_minutes(now_ms) << 8) | c));
}

unsigned evict_lfu_freq(const node_t *n, const kentry_t *e, long long now_ms)
{
    return (unsigned)lfu_decr(n, ke_lru(e), now_ms);
}

/* ---- the pool ------------------------------------------------------- */

static void entry_clear(evpool_entry_t *p)
{
    if (p->key && p->key != p->cached) ts_free(p->key);
    p->key = NULL;
    p->klen = 0;
    p->score = 0;
}

static void entry_set(evpool_entry_t *p, const char *key, size_t klen,
                      unsigned long long score)
{
    p->key = klen <= EVPOOL_CACHED_KEY ? p->cached : ts_malloc(klen ? klen : 1);
    memcpy(p->key, key, klen);
    p->klen = klen;
    p->score = score;
}

/* Remove entry k, keeping the pool packed to the left. */
static void pool_remove(evpool_entry_t *pool, int k)
{
    entry_clear(&pool[k]);
    char *cached = pool[k].cached;
    memmove(pool + k, pool + k + 1, sizeof(pool[0]) * (EVPOOL_SIZE - k - 1));
    pool[EVPOOL_SIZE - 1] = (evpool_entry_t){.cached = cached};
}

/* evictionPoolPopulate's insertion: keep the pool sorted by score, drop
 * the worst entry when full, ignore a key worse than all of a full pool. */
static void pool_insert(evpool_entry_t *pool, const char *key, size_t klen,
                        unsigned long long score)
{
    /* Keys often share a prefix ("user:1234"): the last byte first. */
    for (int k = 0; k < EVPOOL_SIZE && pool[k].key; k++)
        if (pool[k].klen == klen &&
            (!klen || pool[k].key[klen - 1] == key[klen - 1]) &&
            memcmp(pool[k].key, key, klen) == 0) {
            pool_remove(pool, k);
            break;
        }
    int k = 0;
    while (k < EVPOOL_SIZE && pool[k].key && pool[k].score < score) k++;
    if (k == 0 && pool[EVPOOL_SIZE - 1].key) return;
    if (k < EVPOOL_SIZE && !pool[k].key) {
        /* an empty slot: nothing to move */
    } else if (!pool[EVPOOL_SIZE - 1].key) {
        /* room on the right: shift k.. right */
        char *cached = pool[EVPOOL_SIZE - 1].cached;
        memmove(pool + k + 1, pool + k,
                sizeof(pool[0]) * (EVPOOL_SIZE - k - 1));
        pool[k] = (evpool_entry_t){.cached = cached};
    } else {
        /* full: drop the worst (leftmost), shift ..k-1 left */
        k--;
        entry_clear(&pool[0]);
        char *cached = pool[0].cached;
        memmove(pool, pool + 1, sizeof(pool[0]) * (size_t)k);
        pool[k] = (evpool_entry_t){.cached = cached};
    }
    entry_set(&pool[k], key, klen, score);
}

static unsigned long long score_of(const node_t *n, const kentry_t *e,
                                   long long now_ms)
{
    if (evict_policy_lru(n)) return lru_idle_ms(ke_lru(e), now_ms);
    if (evict_policy_lfu(n)) return 255 - lfu_decr(n, ke_lru(e), now_ms);
    /* volatile-ttl: the sooner the expiry, the better */
    return ULLONG_MAX - (unsigned long long)ke_expire(e);
}

static void pool_populate(evict_t *ev, node_t *n, long long now_ms)
{
    int allkeys = policy_allkeys(n);
    for (long long j = 0; j < n->maxmemory_samples; j++) {
        kentry_t *e = allkeys ? ks_random(n->ks, db_rand)
                              : ks_random_volatile(n->ks, db_rand);
        if (!e) return;
        size_t klen;
        const char *key = ke_key(e, &klen);
        pool_insert(ev->pool, key, klen, score_of(n, e, now_ms));
    }
}

/* The next key to evict, or NULL if there is none. */
static kentry_t *pick(evict_t *ev, node_t *n, long long now_ms)
{
    int allkeys = policy_allkeys(n);
    if (policy_random(n))
        return allkeys ? ks_random(n->ks, db_rand)
                       : ks_random_volatile(n->ks, db_rand);
    for (;;) {
        if (!(allkeys ? ks_size(n->ks) : ks_expires_size(n->ks))) return NULL;
        pool_populate(ev, n, now_ms);
        /* Best first; entries whose key is gone are dropped on the way.
         * The loop ends: each round either returns or empties the pool,
         * and an empty pool takes the next samples. */
        for (int k = EVPOOL_SIZE - 1; k >= 0; k--) {
            evpool_entry_t *p = &ev->pool[k];
            if (!p->key) continue;
            kentry_t *e = ks_find(n->ks, p->key, p->klen);
            entry_clear(p);
            if (e && (allkeys || ke_expire(e) >= 0)) return e;
        }
    }
}

/* ---- performing ----------------------------------------------------- */

/* evictionTimeLimitUs. */
static unsigned long long time_limit_us(long long tenacity)
{
    if (tenacity <= 10) return 50ULL * (unsigned long long)tenacity;
    if (tenacity >= 100) return ULLONG_MAX;
    double us = 500.0;
    for (long long i = 10; i < tenacity; i++) us *= 1.15;
    return (unsigned long long)us;
}

static void on_timer(evutil_socket_t fd, short what, void *arg);

static evict_t *evict_state(node_t *n)
{
    if (n->evict) return n->evict;
    evict_t *ev = ts_calloc(1, sizeof(*ev));
    ev->node = n;
    for (int k = 0; k < EVPOOL_SIZE; k++)
        ev->pool[k].cached = ts_malloc(EVPOOL_CACHED_KEY);
    if (n->base) ev->timer = evtimer_new(n->base, on_timer, ev);
    n->evict = ev;
    return ev;
}

static void timer_start(evict_t *ev)
{
    if (ev->timer_running || !ev->timer) return;
    static const struct timeval now = {0, 0};
    ev->timer_running = 1;
    evtimer_add(ev->timer, &now);
}

static int perform(node_t *n, long long now_ms)
{
    if (!n->maxmemory) return EV_OK;
    if (n->pause_end_ms && now_ms < n->pause_end_ms) return EV_OK;
    if ((long long)ts_used_memory() <= n->maxmemory) return EV_OK;
    if (n->maxmemory_policy == EVICT_NOEVICTION) return EV_FAIL;

    evict_t *ev = evict_state(n);
    unsigned long long limit = time_limit_us(n->maxmemory_eviction_tenacity);
    long long start = node_mono_us();
    unsigned long keys = 0;
    while ((long long)ts_used_memory() > n->maxmemory) {
        kentry_t *e = pick(ev, n, now_ms);
        if (!e) return EV_FAIL;
        size_t klen;
        const char *key = ke_key(e, &klen);
        multi_touch_deleted(n, key, klen); /* WATCH, as Redis 7.0 */
        propagate_del(n, key, klen);       /* AOF, replicas */
        notify_keyb(n, NOTIFY_EVICTED, "evicted", key, klen);
        ks_delete_entry(n->ks, e);
        n->stats.evicted_keys++;
        if (++keys % 16 == 0 &&
            (unsigned long long)(node_mono_us() - start) > limit) {
            timer_start(ev);
            break;
        }
    }
    return ev->timer_running ? EV_RUNNING : EV_OK;
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    evict_t *ev = arg;
    ev->timer_running = 0;      /* perform restarts it if needed */
    if (perform(ev->node, node_unix_ms()) == EV_RUNNING) timer_start(ev);
}

int evict_perform(node_t *n, long long now_ms)
{
    return perform(n, now_ms) == EV_FAIL ? -1 : 0;
}

/* ---- set-up and configuration --------------------------------------- */

void evict_setup(node_t *n)
{
    evict_state(n);
    ks_set_lru_clock(n->ks, evict_new_clock(n, node_unix_ms()));
}

void evict_teardown(node_t *n)
{
    evict_t *ev = n->evict;
    if (!ev) return;
    if (ev->timer) event_free(ev->timer);
    for (int k = 0; k < EVPOOL_SIZE; k++) {
        entry_clear(&ev->pool[k]);
        ts_free(ev->pool[k].cached);
    }
    ts_free(ev);
    n->evict = NULL;
}

void evict_maxmemory_changed(node_t *n)
{
    if (!n->maxmemory) return;
    size_t used = ts_used_memory();
    if ((unsigned long long)n->maxmemory < used)
        log_msg(LL_WARNING,
                "WARNING: the new maxmemory value set via CONFIG SET (%llu) "
                "is smaller than the current memory usage (%zu). This will "
                "result in key eviction and/or the inability to accept new "
                "write commands depending on the maxmemory-policy.",
                (unsigned long long)n->maxmemory, used);
    perform(n, node_unix_ms());
}

void evict_policy_changed(node_t *n)
{
    /* Scores of another policy would mislead the next picks. */
    if (n->evict)
        for (int k = 0; k < EVPOOL_SIZE; k++) entry_clear(&n->evict->pool[k]);
    if (n->ks) ks_set_lru_clock(n->ks, evict_new_clock(n, node_unix_ms()));
}
