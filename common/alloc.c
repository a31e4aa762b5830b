/*
 * alloc.c: accounting wrappers over the process allocator (jemalloc in
 * normal builds, libc under sanitizers).  See alloc.h.
 */
#include "alloc.h"

#include <malloc.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#ifdef TS_HAVE_JEMALLOC
#include <jemalloc/jemalloc.h>
#endif

static atomic_size_t used_memory;
static atomic_uint fail_countdown;

static void oom(size_t size)
{
    fprintf(stderr, "tessera: out of memory allocating %zu bytes\n", size);
    fflush(stderr);
    abort();
}

static inline void account_add(void *p)
{
    atomic_fetch_add_explicit(&used_memory, malloc_usable_size(p),
                              memory_order_relaxed);
}

static inline void account_sub(void *p)
{
    atomic_fetch_sub_explicit(&used_memory, malloc_usable_size(p),
                              memory_order_relaxed);
}

static int should_fail(void)
{
    unsigned n = atomic_load_explicit(&fail_countdown, memory_order_relaxed);
    if (n == 0) return 0;
    atomic_store_explicit(&fail_countdown, n - 1, memory_order_relaxed);
    return n == 1;
}

void ts_alloc_fail_after(unsigned n)
{
    atomic_store(&fail_countdown, n);
}

void *ts_try_malloc(size_t size)
{
    if (should_fail()) return NULL;
    void *p = malloc(size ? size : 1);
    if (p) account_add(p);
    return p;
}

void *ts_malloc(size_t size)
{
    void *p = malloc(size ? size : 1);
    if (!p) oom(size);
    account_add(p);
    return p;
}

void *ts_calloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) oom(n * size);
    account_add(p);
    return p;
}

/* used_memory follows a block that went from old to now usable bytes. */
static inline void account_resize(size_t old, size_t now)
{
    if (now >= old)
        atomic_fetch_add_explicit(&used_memory, now - old,
                                  memory_order_relaxed);
    else
        atomic_fetch_sub_explicit(&used_memory, old - now,
                                  memory_order_relaxed);
}

void *ts_try_realloc(void *ptr, size_t size)
{
    if (should_fail()) return NULL;
    if (!ptr) return ts_try_malloc(size);
    size_t old = malloc_usable_size(ptr);
    void *p = realloc(ptr, size ? size : 1);
    if (!p) return NULL;
    account_resize(old, malloc_usable_size(p));
    return p;
}

void *ts_realloc(void *ptr, size_t size)
{
    if (!ptr) return ts_malloc(size);
    size_t old = malloc_usable_size(ptr);
    void *p = realloc(ptr, size ? size : 1);
    if (!p) oom(size);
    account_resize(old, malloc_usable_size(p));
    return p;
}

void ts_free(void *ptr)
{
    if (!ptr) return;
    account_sub(ptr);
    free(ptr);
}

char *ts_strndup(const char *s, size_t n)
{
    char *d = ts_malloc(n + 1);
    memcpy(d, s, n);
    d[n] = '\0';
    return d;
}

char *ts_strdup(const char *s)
{
    return ts_strndup(s, strlen(s));
}

size_t ts_usable_size(void *ptr)
{
    return ptr ? malloc_usable_size(ptr) : 0;
}

size_t ts_used_memory(void)
{
    return atomic_load_explicit(&used_memory, memory_order_relaxed);
}

size_t ts_rss(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    if (!f) return 0;
    unsigned long size = 0, resident = 0;
    int n = fscanf(f, "%lu %lu", &size, &resident);
    fclose(f);
    if (n != 2) return 0;
    return (size_t)resident * (size_t)sysconf(_SC_PAGESIZE);
}

void ts_alloc_stats(ts_alloc_stats_t *st)
{
    memset(st, 0, sizeof(*st));
#ifdef TS_HAVE_JEMALLOC
    static char name[64];
    const char *ver = NULL;
    size_t sz = sizeof(ver);
    if (mallctl("version", &ver, &sz, NULL, 0) == 0 && ver) {
        snprintf(name, sizeof(name), "jemalloc-%.*s",
                 (int)strcspn(ver, "-"), ver);
        st->allocator = name;
    } else {
        st->allocator = "jemalloc";
    }
    uint64_t epoch = 1;
    sz = sizeof(epoch);
    mallctl("epoch", &epoch, &sz, &epoch, sz);
    sz = sizeof(size_t);
    mallctl("stats.allocated", &st->allocated, &sz, NULL, 0);
    sz = sizeof(size_t);
    mallctl("stats.active", &st->active, &sz, NULL, 0);
    sz = sizeof(size_t);
    mallctl("stats.resident", &st->resident, &sz, NULL, 0);
    sz = sizeof(size_t);
    mallctl("stats.retained", &st->retained, &sz, NULL, 0);
#else
    st->allocator = "libc";
#endif
}
