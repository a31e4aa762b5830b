/*
 * blocking.c: clients waiting for keys (see blocking.h).
 *
 *   keys:  dict  key -> waitq (FIFO of waiters)        node-wide
 *   ready: array of key copies signalled since the last block_serve
 *   client->blk: the copied command, one waiter per key, the timeout
 *
 * Serving re-runs the waiting client's command handler with the client
 * marked as being re-run: if the handler would block again, block_client
 * only notes it, the client keeps its place, and later waiters on that key
 * are not tried (the key had nothing for the first one either).
 */
#include "blocking.h"

#include <math.h>
#include <string.h>

#include <event2/event.h>

#include "alloc.h"
#include "aof.h"
#include "client.h"
#include "dict.h"
#include "keyspace.h"
#include "numfmt.h"
#include "propagate.h"
#include "reply.h"

typedef struct waitq waitq_t;

typedef struct waiter {
    client_t *c;
    waitq_t *q;
    struct waiter *prev, *next;
} waiter_t;

struct waitq {
    waiter_t *head, *tail;
    int ready;              /* its key is on the ready list */
    size_t klen;
    char *key;              /* owned copy, to drop the queue from the map */
};

struct blocked {
    const cmd_spec_t *spec;
    int argc;
    resp_arg_t *argv;       /* into argbuf */
    char *argbuf;
    struct event *timer;    /* NULL: no deadline */
    int nkeys;
    waiter_t *w[];          /* one per distinct key */
};

typedef struct keycopy {
    char *k;
    size_t len;
} keycopy_t;

struct block_state {
    dict_t *keys;           /* key -> waitq_t* (aux) */
    keycopy_t *ready;
    size_t nready, readycap;
    client_t **resume;      /* unblocked clients with input to run */
    size_t nresume, resumecap;
    client_t *rerun;        /* client whose command is being re-run */
    int again;              /* the re-run would block again */
};

void block_setup(node_t *n)
{
    n->blocking = ts_calloc(1, sizeof(*n->blocking));
    n->blocking->keys = dict_create();
}

static void free_queue(void *aux)
{
    waitq_t *q = aux;
    ts_free(q->key);
    ts_free(q);
}

void block_teardown(node_t *n)
{
    block_state_t *s = n->blocking;
    if (!s) return;
    for (size_t i = 0; i < s->nready; i++) ts_free(s->ready[i].k);
    ts_free(s->ready);
    ts_free(s->resume);
    dict_destroy(s->keys, free_queue);  /* clients were freed first */
    ts_free(s);
    n->blocking = NULL;
}

int block_parse_timeout(const resp_arg_t *a, long long now_ms,
                        long long *deadline, reply_t *r)
{
    long double secs;
    if (!numfmt_str2ld(a->ptr, a->len, &secs) || !isfinite((double)secs) ||
        secs * 1000 > (long double)(0x7fffffffffffffffLL - now_ms)) {
        reply_error(r, "ERR timeout is not a float or out of range");
        return -1;
    }
    if (secs < 0) {
        reply_error(r, "ERR timeout is negative");
        return -1;
    }
    long long ms = (long long)ceill(secs * 1000);
    *deadline = ms > 0 ? now_ms + ms : 0;
    return 0;
}

int block_allowed(const cmdctx_t *ctx)
{
    return ctx->client && ctx->node->blocking &&
           !(ctx->client->flags & CLF_DENY_BLOCKING);
}

/* ---- waiting and leaving ------------------------------------------------ */

static waitq_t *queue_find(block_state_t *s, const char *key, size_t klen)
{
    dict_entry_t *e = dict_find(s->keys, key, klen);
    return e ? dict_aux(e) : NULL;
}

static waitq_t *queue_get(block_state_t *s, const char *key, size_t klen)
{
    int added;
    dict_entry_t *e = dict_add(s->keys, key, klen, &added);
    if (added) {
        waitq_t *q = ts_calloc(1, sizeof(*q));
        q->key = ts_strndup(key, klen);
        q->klen = klen;
        dict_set_aux(e, q);
    }
    return dict_aux(e);
}

/* Drop an empty queue that is not waiting to be served. */
static void queue_drop_if_idle(block_state_t *s, waitq_t *q)
{
    if (q->head || q->ready) return;
    dict_delete(s->keys, q->key, q->klen, NULL);
    free_queue(q);
}

static void unqueue(waiter_t *w)
{
    waitq_t *q = w->q;
    if (w->prev) w->prev->next = w->next;
    else q->head = w->next;
    if (w->next) w->next->prev = w->prev;
    else q->tail = w->prev;
    ts_free(w);
}

/* Leave every queue, stop the timer, free the copied command. */
static void unblock(node_t *n, client_t *c)
{
    block_state_t *s = n->blocking;
    struct blocked *b = c->blk;
    for (int i = 0; i < b->nkeys; i++) {
        waitq_t *q = b->w[i]->q;
        unqueue(b->w[i]);
        queue_drop_if_idle(s, q);
    }
    if (b->timer) event_free(b->timer);
    ts_free(b->argbuf);
    ts_free(b->argv);
    ts_free(b);
    c->blk = NULL;
    c->flags &= ~CLF_BLOCKED;
    n->blocked_clients--;
}

static void queue_resume(block_state_t *s, client_t *c)
{
    if (s->nresume == s->resumecap) {
        s->resumecap = s->resumecap ? s->resumecap * 2 : 8;
        s->resume = ts_realloc(s->resume, s->resumecap * sizeof(*s->resume));
    }
    s->resume[s->nresume++] = c;
}

static void on_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    client_t *c = arg;
    node_t *n = c->node;
    reply_t r;
    reply_init(&r, &c->obuf, c->proto);
    reply_null_array(&r);
    unblock(n, c);
    client_flush(c);
    queue_resume(n->blocking, c);
}

void block_client(cmdctx_t *ctx, const req_t *req, const int *keys, int nkeys,
                  long long deadline_ms)
{
    node_t *n = ctx->node;
    block_state_t *s = n->blocking;
    client_t *c = ctx->client;
    if (s->rerun == c) {    /* still nothing: keep waiting where it was */
        s->again = 1;
        return;
    }
    struct blocked *b =
        ts_calloc(1, sizeof(*b) + (size_t)nkeys * sizeof(waiter_t *));
    size_t total = 0;
    for (int i = 0; i < req->argc; i++) total += req->argv[i].len;
    b->spec = req->spec;
    b->argc = req->argc;
    b->argv = ts_malloc((size_t)req->argc * sizeof(resp_arg_t));
    b->argbuf = ts_malloc(total ? total : 1);
    char *p = b->argbuf;
    for (int i = 0; i < req->argc; i++) {
        memcpy(p, req->argv[i].ptr, req->argv[i].len);
        b->argv[i] = (resp_arg_t){p, req->argv[i].len};
        p += req->argv[i].len;
    }
    for (int i = 0; i < nkeys; i++) {
        const resp_arg_t *k = &req->argv[keys[i]];
        int dup = 0;    /* BLPOP k k: wait once */
        for (int j = 0; j < i && !dup; j++)
            dup = req->argv[keys[j]].len == k->len &&
                  memcmp(req->argv[keys[j]].ptr, k->ptr, k->len) == 0;
        if (dup) continue;
        waitq_t *q = queue_get(s, k->ptr, k->len);
        waiter_t *w = ts_calloc(1, sizeof(*w));
        w->c = c;
        w->q = q;
        w->prev = q->tail;
        if (q->tail) q->tail->next = w;
        else q->head = w;
        q->tail = w;
        b->w[b->nkeys++] = w;
    }
    if (deadline_ms > 0) {
        long long left = deadline_ms - ctx->now_ms;
        if (left < 0) left = 0;
        struct timeval tv = {.tv_sec = left / 1000,
                             .tv_usec = (left % 1000) * 1000};
        b->timer = evtimer_new(n->base, on_timeout, c);
        evtimer_add(b->timer, &tv);
    }
    c->blk = b;
    c->flags |= CLF_BLOCKED;
    n->blocked_clients++;
}

void block_on_range(cmdctx_t *ctx, const req_t *req, int first, int n,
                    long long deadline_ms, reply_t *r)
{
    if (!block_allowed(ctx)) {
        reply_null_array(r);
        return;
    }
    int stackidx[16];
    int *idx = n <= 16 ? stackidx : ts_malloc((size_t)n * sizeof(int));
    for (int i = 0; i < n; i++) idx[i] = first + i;
    block_client(ctx, req, idx, n, deadline_ms);
    if (idx != stackidx) ts_free(idx);
}

void block_signal_key(node_t *n, const char *key, size_t klen)
{
    block_state_t *s = n->blocking;
    waitq_t *q = queue_find(s, key, klen);
    if (!q || q->ready || !q->head) return;
    q->ready = 1;
    if (s->nready == s->readycap) {
        s->readycap = s->readycap ? s->readycap * 2 : 8;
        s->ready = ts_realloc(s->ready, s->readycap * sizeof(*s->ready));
    }
    s->ready[s->nready++] = (keycopy_t){ts_strndup(key, klen), klen};
    n->block_ready = 1;
}

/* Re-run c's command; 1 if it was served (it replied and must leave). */
static int rerun(node_t *n, client_t *c)
{
    block_state_t *s = n->blocking;
    struct blocked *b = c->blk;
    reply_t r;
    reply_init(&r, &c->obuf, c->proto);
    cmdctx_t ctx = {.node = n, .client = c, .ks = n->ks,
                    .now_ms = node_unix_ms()};
    req_t req = {.argc = b->argc, .argv = b->argv, .spec = b->spec};
    s->rerun = c;
    s->again = 0;
    long long dirty = propagate_begin(n);
    cmd_handler(b->spec->id)(&ctx, &req, &r);
    propagate_end(n, dirty, b->spec, b->argc, b->argv); /* as its pop */
    if (n->aof_live) c->aof_need = aof_appended(n);  /* reply after the AOF */
    s->rerun = NULL;
    return !s->again;
}

static void serve_key(node_t *n, const char *key, size_t klen)
{
    block_state_t *s = n->blocking;
    waitq_t *q = queue_find(s, key, klen);
    if (!q) return;
    q->ready = 0;
    while (q->head) {
        client_t *c = q->head->c;
        /* Serve only from a key of the type the command pops (a SET on a
         * key somebody BLPOPs leaves them waiting, as in Redis). */
        kentry_t *e = ks_find(n->ks, key, klen);
        int want = strcmp(c->blk->spec->group, "sorted-set") == 0 ? KT_ZSET
                                                                  : KT_LIST;
        if (!e || ke_type(e) != want) break;
        if (!rerun(n, c)) break;
        int last = q->head == q->tail;
        unblock(n, c);      /* frees c's waiters; drops q if it emptied */
        client_flush(c);
        queue_resume(s, c);
        if (last) return;
    }
}

void block_serve(node_t *n)
{
    block_state_t *s = n->blocking;
    /* serving may signal more keys (BLMOVE pushes): the loop picks them up */
    for (size_t i = 0; i < s->nready; i++) {
        serve_key(n, s->ready[i].k, s->ready[i].len);
        ts_free(s->ready[i].k);
    }
    s->nready = 0;
    n->block_ready = 0;
}

void block_forget_client(client_t *c)
{
    node_t *n = c->node;
    block_state_t *s = n->blocking;
    if (!s) return;
    for (size_t i = 0; i < s->nresume; i++)
        if (s->resume[i] == c) s->resume[i] = NULL;
    if (c->blk) unblock(n, c);
}

void block_resume_client(node_t *n, client_t *c)
{
    queue_resume(n->blocking, c);
}

void block_resume_unblocked(node_t *n)
{
    block_state_t *s = n->blocking;
    if (!s || !s->nresume) return;
    /* a resumed client may block again and be resumed later: take the
     * list as it is now */
    for (size_t i = 0; i < s->nresume; i++) {
        client_t *c = s->resume[i];
        if (!c || (c->flags & (CLF_BLOCKED | CLF_IN_COMMAND))) continue;
        s->resume[i] = NULL;
        client_process_input(c);
        client_flush(c);
    }
    s->nresume = 0;
}
