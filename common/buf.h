/*
 * buf.h: a growable byte buffer with a read and a write position.
 *
 * Used for client query buffers (bytes read from the socket, consumed by
 * the parser from `rpos`) and output buffers (replies appended at `wpos`,
 * written to the socket from `rpos`).  The live bytes are data[rpos, wpos).
 * buf_compact moves them to the front so that a long-lived connection does
 * not grow the buffer forever; buf_shrink gives memory back after a burst.
 *
 * The struct is public because clients embed it (buf_init/buf_deinit).
 */
#ifndef TS_BUF_H
#define TS_BUF_H

#include <stddef.h>
#include <string.h>

typedef struct buf {
    char *data;
    size_t rpos;   /* first unread byte */
    size_t wpos;   /* one past the last written byte */
    size_t cap;    /* allocated bytes */
} buf_t;

void buf_init(buf_t *b);
void buf_deinit(buf_t *b);

/* Live bytes. */
static inline size_t buf_len(const buf_t *b) { return b->wpos - b->rpos; }
static inline char *buf_rptr(const buf_t *b) { return b->data + b->rpos; }
static inline char *buf_wptr(const buf_t *b) { return b->data + b->wpos; }
static inline size_t buf_avail(const buf_t *b) { return b->cap - b->wpos; }

/* Make room for `n` more bytes after wpos (may move data; aborts on OOM). */
void buf_reserve(buf_t *b, size_t n);
/* Like buf_reserve but returns -1 instead of aborting when it cannot. */
int buf_try_reserve(buf_t *b, size_t n);

/* Append bytes; reserve first. */
static inline void buf_append(buf_t *b, const void *p, size_t n)
{
    if (n == 0) return;
    if (buf_avail(b) < n) buf_reserve(b, n);
    memcpy(b->data + b->wpos, p, n);
    b->wpos += n;
}
static inline void buf_putc(buf_t *b, char c)
{
    if (buf_avail(b) < 1) buf_reserve(b, 1);
    b->data[b->wpos++] = c;
}
void buf_append_str(buf_t *b, const char *s);
void buf_printf(buf_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* Drop `n` bytes from the front; resets to empty when all are consumed. */
static inline void buf_consume(buf_t *b, size_t n)
{
    b->rpos += n;
    if (b->rpos == b->wpos) b->rpos = b->wpos = 0;
}

/* Move live bytes to the start of the allocation. */
void buf_compact(buf_t *b);
/* Free the allocation if empty and larger than `keep` bytes. */
void buf_shrink(buf_t *b, size_t keep);
/* Empty the buffer, keeping the allocation. */
static inline void buf_clear(buf_t *b) { b->rpos = b->wpos = 0; }

/* Bytes held by the allocation (for client memory accounting). */
size_t buf_alloc_size(const buf_t *b);

#endif
