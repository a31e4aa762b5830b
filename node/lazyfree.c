/*
 * lazyfree.c: background freeing of discarded keyspaces (FLUSHALL ASYNC).
 *
 * Destroying a keyspace of millions of keys takes as long as it took to
 * fill it; doing that on the command thread stalls every client.  The
 * caller swaps in a fresh keyspace (O(1)) and queues the old one here.
 *
 *    command thread                       worker (detached, started once)
 *    lazyfree_keyspace(old) --push--> [ job | job | ... ] --pop--> ks_destroy
 *
 * The queue is the module's only state.  It is process-wide rather than
 * hanging off node_t because the thread outlives any one caller and
 * nothing ever joins it; the mutex guards the queue, the counters are
 * relaxed atomics read by INFO.  ks_destroy frees through ts_free, whose
 * accounting is atomic, so used_memory drops as the worker progresses.
 * Type free callbacks (ks_set_obj_free) run on the worker and must not
 * touch shared state.
 */
#include "lazyfree.h"

#include <pthread.h>
#include <stdatomic.h>

#include "alloc.h"
#include "forkguard.h"

typedef struct lf_job {
    struct lf_job *next;
    keyspace_t *ks;
    size_t nkeys;
} lf_job_t;

static pthread_mutex_t lf_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t lf_cond = PTHREAD_COND_INITIALIZER;
static lf_job_t *lf_head, *lf_tail; /* FIFO, guarded by lf_lock */
static int lf_started;              /* guarded by lf_lock */
static int lf_running;              /* the worker runs; guarded by lf_lock */
static atomic_size_t lf_pending;
static atomic_size_t lf_freed;

static void *lf_worker(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&lf_lock);
    lf_running = 1;
    pthread_cond_broadcast(&lf_cond);
    pthread_mutex_unlock(&lf_lock);
    for (;;) {
        pthread_mutex_lock(&lf_lock);
        while (!lf_head)
            pthread_cond_wait(&lf_cond, &lf_lock);
        lf_job_t *j = lf_head;
        lf_head = j->next;
        if (!lf_head) lf_tail = NULL;
        pthread_mutex_unlock(&lf_lock);

        forkguard_enter();
        ks_destroy(j->ks);
        atomic_fetch_sub_explicit(&lf_pending, j->nkeys, memory_order_relaxed);
        atomic_fetch_add_explicit(&lf_freed, j->nkeys, memory_order_relaxed);
        ts_free(j);
        forkguard_leave();
    }
    return NULL;
}

/* Start the worker if needed; called with lf_lock held.  0 on success. */
static int lf_start_locked(void)
{
    if (lf_started) return 0;
    pthread_t tid;
    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&tid, &attr, lf_worker, NULL);
    pthread_attr_destroy(&attr);
    if (rc != 0) return -1;
    lf_started = 1;
    /* a fork before the thread runs could catch its set-up mid-allocation
     * (forkguard.h) */
    while (!lf_running) pthread_cond_wait(&lf_cond, &lf_lock);
    return 0;
}

void lazyfree_keyspace(keyspace_t *ks)
{
    if (!ks) return;
    lf_job_t *j = ts_malloc(sizeof(*j));
    j->next = NULL;
    j->ks = ks;
    j->nkeys = ks_size(ks);

    pthread_mutex_lock(&lf_lock);
    if (lf_start_locked() != 0) {
        pthread_mutex_unlock(&lf_lock);
        ts_free(j);
        ks_destroy(ks); /* no thread: free here rather than leak */
        return;
    }
    atomic_fetch_add_explicit(&lf_pending, j->nkeys, memory_order_relaxed);
    if (lf_tail)
        lf_tail->next = j;
    else
        lf_head = j;
    lf_tail = j;
    pthread_cond_signal(&lf_cond);
    pthread_mutex_unlock(&lf_lock);
}

size_t lazyfree_pending_objects(void)
{
    return atomic_load_explicit(&lf_pending, memory_order_relaxed);
}

size_t lazyfree_freed_objects(void)
{
    return atomic_load_explicit(&lf_freed, memory_order_relaxed);
}
