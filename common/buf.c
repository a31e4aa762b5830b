/* buf.c: growable byte buffer.  See buf.h. */
#include "buf.h"

#include <stdarg.h>
#include <stdio.h>

#include "alloc.h"

void buf_init(buf_t *b)
{
    b->data = NULL;
    b->rpos = b->wpos = b->cap = 0;
}

void buf_deinit(buf_t *b)
{
    ts_free(b->data);
    buf_init(b);
}

/* Grow geometrically to amortise appends; compact first if that is enough. */
static size_t grow_target(const buf_t *b, size_t n)
{
    size_t need = buf_len(b) + n;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need) cap = cap < (1u << 20) ? cap * 2 : cap + (1u << 20);
    return cap;
}

int buf_try_reserve(buf_t *b, size_t n)
{
    if (buf_avail(b) >= n) return 0;
    buf_compact(b);
    if (buf_avail(b) >= n) return 0;
    size_t cap = grow_target(b, n);
    char *p = ts_try_realloc(b->data, cap);
    if (!p) return -1;
    b->data = p;
    b->cap = ts_usable_size(p);
    return 0;
}

void buf_reserve(buf_t *b, size_t n)
{
    if (buf_avail(b) >= n) return;
    buf_compact(b);
    if (buf_avail(b) >= n) return;
    size_t cap = grow_target(b, n);
    b->data = ts_realloc(b->data, cap);
    b->cap = ts_usable_size(b->data);
}

void buf_append_str(buf_t *b, const char *s)
{
    buf_append(b, s, strlen(s));
}

void buf_printf(buf_t *b, const char *fmt, ...)
{
    va_list ap;
    char tmp[256];
    va_start(ap, fmt);
    int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) return;
    if ((size_t)n < sizeof(tmp)) {
        buf_append(b, tmp, (size_t)n);
        return;
    }
    buf_reserve(b, (size_t)n + 1);
    va_start(ap, fmt);
    vsnprintf(buf_wptr(b), (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->wpos += (size_t)n;
}

void buf_compact(buf_t *b)
{
    if (b->rpos == 0) return;
    size_t n = buf_len(b);
    if (n) memmove(b->data, b->data + b->rpos, n);
    b->rpos = 0;
    b->wpos = n;
}

void buf_shrink(buf_t *b, size_t keep)
{
    if (buf_len(b) == 0 && b->cap > keep) buf_deinit(b);
}

size_t buf_alloc_size(const buf_t *b)
{
    return b->cap;
}
