/*
 * propagate.c: the stream of write commands for the AOF and replication
 * (see propagate.h).
 *
 * State while commands run:
 *
 *   unit   RESP of the commands of the current top-level unit, nunit of
 *          them; lazy-expiry DELs land here as they happen
 *   cur    what the running command asked to propagate instead of its
 *          argv (propagate_rewrite), with mode REWRITTEN / PREVENTED
 *   after  what it added after itself (propagate_also)
 *
 * propagate_end moves cur (or argv) then after into unit; the outermost
 * propagate_end wraps unit in MULTI/EXEC when it holds more than one
 * command and hands it to every sink.  Nested commands (EXEC's queue, a
 * blocked client re-run from inside another command) save and restore
 * cur/after around themselves through the depth-indexed frames.
 *
 * The buffers are kept between commands, so steady state allocates
 * nothing.
 */
#include "propagate.h"

#include <assert.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"

enum { MODE_ARGV = 0, MODE_REWRITTEN, MODE_PREVENTED };

/* Per nesting level: a nested command must not see (or clobber) the
 * rewrite of the command it runs inside. */
#define PROP_MAX_DEPTH 8

typedef struct frame {
    buf_t cur, after;
    int ncur, nafter;
    int mode;
} frame_t;

typedef struct sink {
    propagate_sink_fn fn;
    void *arg;
} sink_t;

struct propagate {
    sink_t *sinks;
    int nsinks, capsinks;
    buf_t unit;
    int nunit;
    int depth;              /* commands running (0 = none) */
    frame_t frames[PROP_MAX_DEPTH];
    buf_t wrap;             /* MULTI + unit + EXEC when wrapping */
};

static const char RESP_MULTI[] = "*1\r\n$5\r\nMULTI\r\n";
static const char RESP_EXEC[] = "*1\r\n$4\r\nEXEC\r\n";

void propagate_add_sink(node_t *n, propagate_sink_fn fn, void *arg)
{
    struct propagate *p = n->prop;
    if (!p) {
        p = ts_calloc(1, sizeof(*p));
        buf_init(&p->unit);
        buf_init(&p->wrap);
        for (int i = 0; i < PROP_MAX_DEPTH; i++) {
            buf_init(&p->frames[i].cur);
            buf_init(&p->frames[i].after);
        }
        n->prop = p;
    }
    if (p->nsinks == p->capsinks) {
        p->capsinks = p->capsinks ? p->capsinks * 2 : 4;
        p->sinks = ts_realloc(p->sinks, sizeof(sink_t) * (size_t)p->capsinks);
    }
    p->sinks[p->nsinks].fn = fn;
    p->sinks[p->nsinks].arg = arg;
    p->nsinks++;
}

static void prop_free(struct propagate *p)
{
    buf_deinit(&p->unit);
    buf_deinit(&p->wrap);
    for (int i = 0; i < PROP_MAX_DEPTH; i++) {
        buf_deinit(&p->frames[i].cur);
        buf_deinit(&p->frames[i].after);
    }
    ts_free(p->sinks);
    ts_free(p);
}

void propagate_remove_sink(node_t *n, propagate_sink_fn fn, void *arg)
{
    struct propagate *p = n->prop;
    if (!p) return;
    for (int i = 0; i < p->nsinks; i++) {
        if (p->sinks[i].fn != fn || p->sinks[i].arg != arg) continue;
        memmove(&p->sinks[i], &p->sinks[i + 1],
                sizeof(sink_t) * (size_t)(p->nsinks - i - 1));
        p->nsinks--;
        break;
    }
    /* Freed only between commands: a running command may still write
     * into the frames. */
    if (p->nsinks == 0 && p->depth == 0) {
        prop_free(p);
        n->prop = NULL;
    }
}

void propagate_teardown(node_t *n)
{
    if (!n->prop) return;
    prop_free(n->prop);
    n->prop = NULL;
}

/* Hand the unit to the sinks and empty it. */
static void deliver(node_t *n)
{
    struct propagate *p = n->prop;
    if (p->nunit == 0) return;
    const char *bytes = buf_rptr(&p->unit);
    size_t len = buf_len(&p->unit);
    if (p->nunit > 1) {
        buf_clear(&p->wrap);
        buf_append(&p->wrap, RESP_MULTI, sizeof(RESP_MULTI) - 1);
        buf_append(&p->wrap, bytes, len);
        buf_append(&p->wrap, RESP_EXEC, sizeof(RESP_EXEC) - 1);
        bytes = buf_rptr(&p->wrap);
        len = buf_len(&p->wrap);
    }
    for (int i = 0; i < p->nsinks; i++)
        p->sinks[i].fn(p->sinks[i].arg, bytes, len);
    buf_clear(&p->unit);
    p->nunit = 0;
    buf_shrink(&p->wrap, 64 * 1024);
    buf_shrink(&p->unit, 64 * 1024);
    if (p->nsinks == 0) {   /* the last sink left during the command */
        prop_free(p);
        n->prop = NULL;
    }
}

long long propagate_begin(node_t *n)
{
    struct propagate *p = n->prop;
    if (p) {
        if (p->depth < PROP_MAX_DEPTH) {
            frame_t *f = &p->frames[p->depth];
            buf_clear(&f->cur);
            buf_clear(&f->after);
            f->ncur = f->nafter = 0;
            f->mode = MODE_ARGV;
        }
        p->depth++;
    }
    return n->dirty;
}

/* The frame of the running command, NULL if none (or nested too deep,
 * which the command table cannot produce: EXEC is not queueable). */
static frame_t *cur_frame(struct propagate *p)
{
    if (!p || p->depth == 0 || p->depth > PROP_MAX_DEPTH) return NULL;
    return &p->frames[p->depth - 1];
}

void propagate_end(node_t *n, long long dirty_before, const cmd_spec_t *c,
                   int argc, const resp_arg_t *argv)
{
    struct propagate *p = n->prop;
    if (!p) return;
    frame_t *f = cur_frame(p);
    if (f) {
        /* EXEC's queued commands already added themselves */
        if (n->dirty != dirty_before && c->id != CMD_EXEC) {
            if (f->mode == MODE_ARGV) {
                resp_w_command(&p->unit, argc, argv);
                p->nunit++;
            } else if (f->mode == MODE_REWRITTEN) {
                buf_append(&p->unit, buf_rptr(&f->cur), buf_len(&f->cur));
                p->nunit += f->ncur;
            }
        }
        buf_append(&p->unit, buf_rptr(&f->after), buf_len(&f->after));
        p->nunit += f->nafter;
    }
    /* a sink added while this command ran saw no propagate_begin */
    if (p->depth > 0) p->depth--;
    if (p->depth == 0) deliver(n);
}

void propagate_command(node_t *n, int argc, const resp_arg_t *argv)
{
    struct propagate *p = n->prop;
    if (!p) return;
    resp_w_command(&p->unit, argc, argv);
    p->nunit++;
    if (p->depth == 0) deliver(n);
}

void propagate_rewrite(cmdctx_t *ctx, int argc, const resp_arg_t *argv)
{
    frame_t *f = cur_frame(ctx->node->prop);
    if (!f) return;
    if (f->mode != MODE_REWRITTEN) {
        buf_clear(&f->cur);
        f->ncur = 0;
        f->mode = MODE_REWRITTEN;
    }
    resp_w_command(&f->cur, argc, argv);
    f->ncur++;
}

void propagate_rewrite_edit(cmdctx_t *ctx, int argc, const resp_arg_t *argv,
                            int nedits, const int *idx,
                            const resp_arg_t *val)
{
    frame_t *f = cur_frame(ctx->node->prop);
    if (!f) return;
    if (f->mode != MODE_REWRITTEN) {
        buf_clear(&f->cur);
        f->ncur = 0;
        f->mode = MODE_REWRITTEN;
    }
    resp_w_agg(&f->cur, '*', argc);
    for (int i = 0; i < argc; i++) {
        const resp_arg_t *a = &argv[i];
        for (int j = 0; j < nedits; j++)
            if (idx[j] == i) a = &val[j];
        resp_w_bulk(&f->cur, a->ptr, a->len);
    }
    f->ncur++;
}

void propagate_rewrite_ll(cmdctx_t *ctx, int argc, const resp_arg_t *argv,
                          int idx, long long v)
{
    if (!ctx->node->prop) return;
    char num[24];
    resp_arg_t a = {num, resp_ll2str(num, v)};
    propagate_rewrite_edit(ctx, argc, argv, 1, &idx, &a);
}

void propagate_also(cmdctx_t *ctx, int argc, const resp_arg_t *argv)
{
    frame_t *f = cur_frame(ctx->node->prop);
    if (!f) return;
    resp_w_command(&f->after, argc, argv);
    f->nafter++;
}

void propagate_prevent(cmdctx_t *ctx)
{
    frame_t *f = cur_frame(ctx->node->prop);
    if (!f) return;
    buf_clear(&f->cur);
    f->ncur = 0;
    f->mode = MODE_PREVENTED;
}

void propagate_del(node_t *n, const char *key, size_t klen)
{
    if (!n->prop) return;
    resp_arg_t argv[2] = {{"DEL", 3}, {key, klen}};
    propagate_command(n, 2, argv);
}
