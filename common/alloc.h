/*
 * alloc.h: allocator wrappers that account every byte.
 *
 * All long-lived memory in the node and the proxy goes through ts_malloc &
 * co., so that `used_memory` and `maxmemory` see it.  The count is the
 * allocator's usable size (malloc_usable_size), not the requested size,
 * because that is what the process really holds; with jemalloc that is the
 * size class.  The counter is a relaxed atomic because background threads
 * (lazy free, fsync) also free memory.
 *
 * On allocation failure the wrappers abort with a message: a cache that
 * cannot allocate a few bytes cannot make progress, and Redis does the same.
 * Code that must survive a failed allocation (large client-supplied sizes)
 * uses ts_try_malloc, which returns NULL instead.
 */
#ifndef TS_ALLOC_H
#define TS_ALLOC_H

#include <stddef.h>

void *ts_malloc(size_t size);
void *ts_calloc(size_t n, size_t size);
void *ts_realloc(void *ptr, size_t size);
void *ts_try_malloc(size_t size);
void *ts_try_realloc(void *ptr, size_t size);
void ts_free(void *ptr);
char *ts_strdup(const char *s);
char *ts_strndup(const char *s, size_t n);

/* Bytes the allocator really gives for a block (>= what was asked). */
size_t ts_usable_size(void *ptr);

/* Bytes currently held through these wrappers. */
size_t ts_used_memory(void);

/* Resident set size of the process in bytes, read from /proc (0 if unknown). */
size_t ts_rss(void);

/*
 * Allocator-level statistics for INFO memory.  Fields are 0 when the
 * allocator does not report them (libc builds).
 */
typedef struct ts_alloc_stats {
    const char *allocator;  /* "jemalloc-5.3.0" or "libc" */
    size_t allocated;       /* bytes in live allocations */
    size_t active;          /* bytes in active pages */
    size_t resident;        /* bytes resident in the allocator */
    size_t retained;
} ts_alloc_stats_t;

void ts_alloc_stats(ts_alloc_stats_t *st);

/* Test hook: make the next `n`-th ts_try_* call fail (0 disables). */
void ts_alloc_fail_after(unsigned n);

#endif
