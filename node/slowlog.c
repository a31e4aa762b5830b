/*
 * slowlog.c: SLOWLOG: the last commands that took at least
 * slowlog-log-slower-than microseconds, newest first, at most
 * slowlog-max-len of them.
 *
 * Entries are kept as Redis keeps them, because SLOWLOG GET shows them
 * as they were stored: at most 32 arguments (the 32nd becomes "... (N more
 * arguments)"), each cut at 128 bytes with "... (N more bytes)", secrets
 * replaced by "(redacted)", plus the client's address and name at the
 * time.  Ids keep growing across SLOWLOG RESET.
 *
 * The list is doubly linked: pushes go to the head, trimming takes from
 * the tail, both O(1).
 */
#include "slowlog.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "client.h"
#include "cmd_conn.h"

#define SLOWLOG_MAX_ARGC 32
#define SLOWLOG_MAX_ARGLEN 128

typedef struct sl_arg {
    char *p;
    size_t len;
} sl_arg_t;

typedef struct sl_entry {
    struct sl_entry *prev, *next;   /* prev: newer, next: older */
    long long id, time, duration;
    int argc;
    sl_arg_t *argv;
    char *peer, *name;
} sl_entry_t;

struct slowlog {
    sl_entry_t *head, *tail;        /* newest, oldest */
    size_t len;
    long long next_id;
};

slowlog_t *slowlog_create(void)
{
    return ts_calloc(1, sizeof(slowlog_t));
}

static void entry_free(sl_entry_t *e)
{
    for (int i = 0; i < e->argc; i++) ts_free(e->argv[i].p);
    ts_free(e->argv);
    ts_free(e->peer);
    ts_free(e->name);
    ts_free(e);
}

static void drop_oldest(slowlog_t *s)
{
    sl_entry_t *e = s->tail;
    s->tail = e->prev;
    if (s->tail) s->tail->next = NULL;
    else s->head = NULL;
    s->len--;
    entry_free(e);
}

void slowlog_destroy(slowlog_t *s)
{
    if (!s) return;
    while (s->tail) drop_oldest(s);
    ts_free(s);
}

static void set_arg(sl_arg_t *a, const char *bytes, size_t len)
{
    a->p = ts_malloc(len + 1);
    memcpy(a->p, bytes, len);
    a->p[len] = '\0';
    a->len = len;
}

static void copy_arg(sl_arg_t *a, const resp_arg_t *src)
{
    if (src->len <= SLOWLOG_MAX_ARGLEN) {
        set_arg(a, src->ptr, src->len);
        return;
    }
    char tail[64];
    int tl = snprintf(tail, sizeof(tail), "... (%zu more bytes)",
                      src->len - SLOWLOG_MAX_ARGLEN);
    a->len = SLOWLOG_MAX_ARGLEN + (size_t)tl;
    a->p = ts_malloc(a->len + 1);
    memcpy(a->p, src->ptr, SLOWLOG_MAX_ARGLEN);
    memcpy(a->p + SLOWLOG_MAX_ARGLEN, tail, (size_t)tl + 1);
}

void slowlog_push(node_t *n, client_t *c, int argc, const resp_arg_t *argv,
                  long long duration_us, long long unix_sec)
{
    slowlog_t *s = n->slowlog;
    if (!s || n->slowlog_slower_than < 0 || n->slowlog_max_len <= 0) return;

    sl_entry_t *e = ts_calloc(1, sizeof(*e));
    e->argc = argc > SLOWLOG_MAX_ARGC ? SLOWLOG_MAX_ARGC : argc;
    e->argv = ts_calloc((size_t)(e->argc ? e->argc : 1), sizeof(sl_arg_t));
    for (int j = 0; j < e->argc; j++) {
        if (e->argc != argc && j == e->argc - 1) {
            char more[64];
            int ml = snprintf(more, sizeof(more), "... (%d more arguments)",
                              argc - e->argc + 1);
            set_arg(&e->argv[j], more, (size_t)ml);
        } else if (conn_arg_is_secret(n, argc, argv, j)) {
            set_arg(&e->argv[j], "(redacted)", 10);
        } else {
            copy_arg(&e->argv[j], &argv[j]);
        }
    }
    e->id = s->next_id++;
    e->time = unix_sec;
    e->duration = duration_us;
    e->peer = ts_strdup(c ? c->addr : "");
    e->name = ts_strdup(c && c->name ? c->name : "");

    e->next = s->head;
    if (s->head) s->head->prev = e;
    else s->tail = e;
    s->head = e;
    s->len++;
    slowlog_trim(n);
}

void slowlog_reply(node_t *n, long long count, reply_t *r)
{
    slowlog_t *s = n->slowlog;
    size_t len = s ? s->len : 0;
    size_t want = count < 0 || (unsigned long long)count > len
                      ? len
                      : (size_t)count;
    reply_array(r, (long long)want);
    sl_entry_t *e = s ? s->head : NULL;
    for (size_t i = 0; i < want; i++, e = e->next) {
        reply_array(r, 6);
        reply_int(r, e->id);
        reply_int(r, e->time);
        reply_int(r, e->duration);
        reply_array(r, e->argc);
        for (int j = 0; j < e->argc; j++)
            reply_bulk(r, e->argv[j].p, e->argv[j].len);
        reply_bulk_str(r, e->peer);
        reply_bulk_str(r, e->name);
    }
}

size_t slowlog_len(node_t *n)
{
    return n->slowlog ? n->slowlog->len : 0;
}

void slowlog_reset(node_t *n)
{
    slowlog_t *s = n->slowlog;
    if (!s) return;
    while (s->tail) drop_oldest(s);
}

void slowlog_trim(node_t *n)
{
    slowlog_t *s = n->slowlog;
    if (!s) return;
    long long max = n->slowlog_max_len < 0 ? 0 : n->slowlog_max_len;
    while (s->len > (unsigned long long)max) drop_oldest(s);
}
