/*
 * t_list.c: the list type and its non-blocking commands (LPUSH ... LMPOP),
 * with Redis 7.0's replies and error texts.
 *
 * Two encodings, behind one small internal API (list_* below):
 *
 *   LE_LISTPACK  the whole list is one listpack (listpack.h) held directly
 *                by the key's entry: one allocation for a short list, which
 *                is where Tessera saves memory over Redis 7.0 (that keeps a
 *                quicklist header, a node and a listpack even for a list of
 *                one element).
 *   LE_QUICKLIST a quicklist (quicklist.h): listpack nodes of at most
 *                list-max-listpack-size each.
 *
 * A listpack list becomes a quicklist when one more element would make it
 * exceed one quicklist node (the same test quicklist.c applies to its
 * nodes), and a quicklist becomes a listpack again when it is down to one
 * node at most half that size, so a list on the boundary does not convert
 * on every push and pop (Redis 7.2's rule).  Both encodings report
 * "quicklist" to OBJECT ENCODING, as Redis 7.0.15 does for every list.
 *
 * Handlers follow Redis 7.0's t_list.c in the order they check things
 * (argument parsing before or after the key lookup is visible in which
 * error a client gets).  Hot commands (push, pop, LRANGE, LINDEX) allocate
 * nothing but what the data needs: replies are written from the
 * listpack's bytes.  Empty lists are deleted.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "blocking.h"
#include "client.h"
#include "cmd.h"
#include "db.h"
#include "keyspace.h"
#include "listpack.h"
#include "notify.h"
#include "propagate.h"
#include "quicklist.h"
#include "reply.h"
#include "resp.h"

enum { LE_LISTPACK = KE_OBJ, LE_QUICKLIST = KE_OBJ + 1 };

/* Redis's LIST_MAX_ITEM_SIZE: a listpack entry's length is 32 bits. */
#define LIST_MAX_ITEM_SIZE ((1ULL << 32) - 1024)
/* LMOVE copies the moved element; up to this size on the stack. */
#define MOVE_STACK 256

static const char err_nokey[] = "ERR no such key";
static const char err_range[] = "ERR index out of range";
static const char err_positive[] = "ERR value is out of range, must be positive";

/* ---- the list object: either encoding ------------------------------------ */

typedef struct list {
    int enc;
    void *obj;              /* unsigned char * listpack, or quicklist_t * */
} list_t;

/* A position in a list (an entry, or none when p is NULL). */
typedef struct lpos {
    unsigned char *p;       /* listpack entry */
    ql_pos_t q;             /* quicklist position (q.p is the entry) */
} lpos_t;

static inline unsigned char *lpos_entry(const list_t *l, const lpos_t *c)
{
    return l->enc == LE_LISTPACK ? c->p : c->q.p;
}

static inline unsigned long list_len(const list_t *l)
{
    if (l->enc == LE_LISTPACK) return lp_length(l->obj);
    return ql_count(l->obj);
}

static inline list_t list_of(const kentry_t *e)
{
    list_t l = {ke_enc(e), ke_obj(e)};
    return l;
}

/* Store l back in e (the entry does not move). */
static inline void list_store(kentry_t *e, const list_t *l)
{
    ke_set_obj(e, l->enc, l->obj);
}

static int list_fill(cmdctx_t *ctx)
{
    long long f = ctx->node->list_max_listpack_size;
    if (f > INT_MAX) return INT_MAX;
    if (f < INT_MIN) return INT_MIN;
    return (int)f;
}

/* Make room for one more element of len bytes: a listpack that would
 * outgrow a quicklist node becomes a quicklist. */
static void list_grow(list_t *l, int fill, size_t len)
{
    if (l->enc != LE_LISTPACK) return;
    unsigned char *lp = l->obj;
    if (!ql_node_exceeds(fill, lp_bytes(lp) + len + 8, lp_length(lp) + 1))
        return;
    quicklist_t *ql = ql_create(fill);
    ql_append_lp(ql, lp);
    l->enc = LE_QUICKLIST;
    l->obj = ql;
}

/* After removals: a quicklist down to one small node becomes a listpack. */
static void list_shrink(list_t *l, int fill)
{
    if (l->enc != LE_QUICKLIST) return;
    unsigned char *lp = ql_to_lp_if_small(l->obj, fill);
    if (lp) {
        l->enc = LE_LISTPACK;
        l->obj = lp;
    }
}

static void list_push(list_t *l, int fill, int where, const char *s,
                      uint32_t len)
{
    list_grow(l, fill, len);
    if (l->enc == LE_LISTPACK)
        l->obj = where == QL_HEAD ? lp_prepend(l->obj, s, len)
                                  : lp_append(l->obj, s, len);
    else
        ql_push(l->obj, where, s, len);
}

/* Seek index (negative from the tail); 0 if out of range. */
static int list_seek(const list_t *l, long index, lpos_t *c)
{
    if (l->enc == LE_LISTPACK) {
        c->p = lp_seek(l->obj, index);
        return c->p != NULL;
    }
    return ql_seek(l->obj, index, &c->q);
}

/* Step towards the tail (dir QL_TAIL) or the head; 0 past the end. */
static inline int list_step(const list_t *l, lpos_t *c, int dir)
{
    if (l->enc == LE_LISTPACK) {
        c->p = dir == QL_TAIL ? lp_next(l->obj, c->p) : lp_prev(l->obj, c->p);
        return c->p != NULL;
    }
    return dir == QL_TAIL ? ql_next(&c->q) : ql_prev(&c->q);
}

/* Delete the entry at c; c moves to the entry that followed it in
 * direction dir (none: entry NULL). */
static void list_delete_at(list_t *l, lpos_t *c, int dir)
{
    if (l->enc == LE_QUICKLIST) {
        ql_delete_at(l->obj, &c->q, dir);
        return;
    }
    unsigned char *np;
    l->obj = lp_delete(l->obj, c->p, &np);
    if (dir == QL_TAIL)
        c->p = np;
    else
        c->p = np ? lp_prev(l->obj, np) : lp_last(l->obj);
}

/* Delete num entries from start (start >= 0). */
static void list_delete_range(list_t *l, long start, unsigned long num)
{
    if (num == 0) return;
    if (l->enc == LE_LISTPACK)
        l->obj = lp_delete_range(l->obj, start, num);
    else
        ql_delete_range(l->obj, start, num);
}

/* Reply elements [start, end] (valid, inclusive), in reverse if asked. */
static void reply_range(reply_t *r, const list_t *l, long start, long end,
                        int reverse)
{
    long n = end - start + 1;
    lpos_t c;
    unsigned char buf[LP_INTBUF_SIZE];
    reply_array(r, n);
    list_seek(l, reverse ? end : start, &c);
    int dir = reverse ? QL_HEAD : QL_TAIL;
    while (n-- > 0) {
        uint32_t len;
        const unsigned char *s = lp_get_text(lpos_entry(l, &c), &len, buf);
        reply_bulk(r, (const char *)s, len);
        if (n) list_step(l, &c, dir);
    }
}

static void list_free_obj(int enc, void *obj)
{
    if (enc == LE_LISTPACK)
        lp_free(obj);
    else
        ql_free(obj);
}

/* ---- db_type_ops ---------------------------------------------------------- */

/* Redis 7.0.15 reports "quicklist" for every list, small or not. */
static const char *list_encoding_name(const kentry_t *e)
{
    (void)e;
    return "quicklist";
}

static void *list_dup(const kentry_t *e, int *enc_out)
{
    list_t l = list_of(e);
    *enc_out = l.enc;
    if (l.enc == LE_QUICKLIST) return ql_dup(l.obj);
    size_t n = lp_bytes(l.obj);
    unsigned char *lp = ts_malloc(n);
    memcpy(lp, l.obj, n);
    return lp;
}

static const db_type_ops_t list_db_ops = {
    .encoding_name = list_encoding_name,
    .dup = list_dup,
    .free = list_free_obj,
};

void t_list_setup(void) { db_register_type(KT_LIST, &list_db_ops); }

/* ---- helpers for handlers ------------------------------------------------- */

/* Is e a list?  Replies WRONGTYPE and returns 0 if not. */
static inline int check_list(const kentry_t *e, reply_t *r)
{
    if (ke_type(e) == KT_LIST) return 1;
    reply_err_wrongtype(r);
    return 0;
}

/* Store a fresh one-element-or-more list under key; returns its entry. */
static kentry_t *list_create_key(cmdctx_t *ctx, const resp_arg_t *key,
                                 list_t *l)
{
    return ks_set_obj(ctx->ks, key->ptr, key->len, KT_LIST, l->enc, l->obj,
                      0);
}

/* After removals: delete the key if the list is empty, else store it
 * back (converting to a listpack if it became small).  1 if deleted. */
static int list_after_removal(cmdctx_t *ctx, kentry_t *e, list_t *l)
{
    if (list_len(l) == 0) {
        list_store(e, l); /* the entry frees the current object */
        ks_delete_entry(ctx->ks, e);
        return 1;
    }
    list_shrink(l, list_fill(ctx));
    list_store(e, l);
    return 0;
}

/* Redis's events after a pop: "lpop"/"rpop", then "del" if it emptied
 * the list. */
static void notify_pop(cmdctx_t *ctx, const resp_arg_t *key, int where,
                       int deleted)
{
    notify_key(ctx->node, NOTIFY_LIST, where == QL_HEAD ? "lpop" : "rpop",
               key);
    if (deleted) notify_key(ctx->node, NOTIFY_GENERIC, "del", key);
}

/* Redis's getListPositionFromObjectOrReply. */
static int parse_where(const resp_arg_t *a, int *where, reply_t *r)
{
    if (arg_eq(a, "right")) {
        *where = QL_TAIL;
    } else if (arg_eq(a, "left")) {
        *where = QL_HEAD;
    } else {
        reply_err_syntax(r);
        return -1;
    }
    return 0;
}

/* Redis's getRangeLongFromObjectOrReply(min, LONG_MAX) with a message used
 * both for a non-integer and for a value out of range. */
static int parse_min(const resp_arg_t *a, long long min, long long *out,
                     reply_t *r, const char *err)
{
    if (!resp_str2ll(a->ptr, a->len, out) || *out < min) {
        reply_error(r, err);
        return -1;
    }
    return 0;
}

/* ---- push ----------------------------------------------------------------- */

/* pushGenericCommand: LPUSH/RPUSH (xx = 0) and LPUSHX/RPUSHX (xx = 1). */
static void push_generic(cmdctx_t *ctx, const req_t *req, int where, int xx,
                         reply_t *r)
{
    const resp_arg_t *key = &req->argv[1];
    for (int j = 2; j < req->argc; j++) {
        if (req->argv[j].len > LIST_MAX_ITEM_SIZE) {
            reply_error(r, "ERR Element too large");
            return;
        }
    }
    kentry_t *e = db_lookup_write(ctx, key);
    if (e && !check_list(e, r)) return;
    if (!e && xx) {
        reply_int(r, 0);
        return;
    }
    int fill = list_fill(ctx);
    list_t l;
    if (e) {
        l = list_of(e);
    } else {
        l.enc = LE_LISTPACK;
        l.obj = lp_new(0);
    }
    for (int j = 2; j < req->argc; j++)
        list_push(&l, fill, where, req->argv[j].ptr,
                  (uint32_t)req->argv[j].len);
    unsigned long len = list_len(&l);
    if (e)
        list_store(e, &l);
    else
        list_create_key(ctx, key, &l);
    db_modified(ctx, key);
    if (!e) notify_key(ctx->node, NOTIFY_NEW, "new", key);
    notify_key(ctx->node, NOTIFY_LIST, where == QL_HEAD ? "lpush" : "rpush",
               key);
    reply_int(r, (long long)len);
}

/* LPUSH key element [element ...] */
static void cmd_lpush(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    push_generic(ctx, req, QL_HEAD, 0, r);
}

/* RPUSH key element [element ...] */
static void cmd_rpush(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    push_generic(ctx, req, QL_TAIL, 0, r);
}

/* LPUSHX key element [element ...] */
static void cmd_lpushx(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    push_generic(ctx, req, QL_HEAD, 1, r);
}

/* RPUSHX key element [element ...] */
static void cmd_rpushx(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    push_generic(ctx, req, QL_TAIL, 1, r);
}

/* ---- pop ------------------------------------------------------------------ */

/*
 * Reply up to count elements popped from `where` as an array (in pop
 * order) and remove them; deletes the key if the list empties.  Redis's
 * addListRangeReply + listTypeDelRange.
 */
static int pop_range(cmdctx_t *ctx, kentry_t *e, list_t *l, int where,
                     long long count, reply_t *r)
{
    long llen = (long)list_len(l);
    long n = count > llen ? llen : (long)count;
    if (where == QL_HEAD) {
        reply_range(r, l, 0, n - 1, 0);
        list_delete_range(l, 0, (unsigned long)n);
    } else {
        reply_range(r, l, llen - n, llen - 1, 1);
        list_delete_range(l, llen - n, (unsigned long)n);
    }
    return list_after_removal(ctx, e, l);
}

/* Reply the element at `where` as a bulk and remove it; 1 if that
 * deleted the key. */
static int pop_one(cmdctx_t *ctx, kentry_t *e, list_t *l, int where,
                    reply_t *r)
{
    lpos_t c;
    unsigned char buf[LP_INTBUF_SIZE];
    uint32_t len;
    list_seek(l, where == QL_HEAD ? 0 : -1, &c);
    const unsigned char *s = lp_get_text(lpos_entry(l, &c), &len, buf);
    reply_bulk(r, (const char *)s, len);
    list_delete_at(l, &c, QL_TAIL);
    return list_after_removal(ctx, e, l);
}

/* popGenericCommand: LPOP/RPOP key [count]. */
static void pop_generic(cmdctx_t *ctx, const req_t *req, int where, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1];
    int hascount = req->argc == 3;
    long long count = 0;
    if (req->argc > 3) {
        reply_err_arity(r, req->spec->name);
        return;
    }
    if (hascount) {
        if (parse_min(&req->argv[2], 0, &count, r, err_positive)) return;
    }
    kentry_t *e = db_lookup_write(ctx, key);
    if (!e) {
        if (hascount)
            reply_null_array(r);
        else
            reply_null(r);
        return;
    }
    if (!check_list(e, r)) return;
    if (hascount && count == 0) {
        reply_array(r, 0);
        return;
    }
    list_t l = list_of(e);
    int deleted;
    if (!hascount) {
        deleted = pop_one(ctx, e, &l, where, r);
    } else {
        deleted = pop_range(ctx, e, &l, where, count, r);
    }
    db_modified(ctx, key);
    notify_pop(ctx, key, where, deleted);
}

/* LPOP key [count] */
static void cmd_lpop(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    pop_generic(ctx, req, QL_HEAD, r);
}

/* RPOP key [count] */
static void cmd_rpop(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    pop_generic(ctx, req, QL_TAIL, r);
}

/* ---- reading -------------------------------------------------------------- */

/* LLEN key */
static void cmd_llen(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (!e) {
        reply_int(r, 0);
        return;
    }
    if (!check_list(e, r)) return;
    list_t l = list_of(e);
    reply_int(r, (long long)list_len(&l));
}

/* Redis's range normalisation (addListRangeReply, LTRIM): 0 if empty. */
static int norm_range(long long llen, long long *start, long long *end)
{
    if (*start < 0) *start = llen + *start;
    if (*end < 0) *end = llen + *end;
    if (*start < 0) *start = 0;
    if (*start > *end || *start >= llen) return 0;
    if (*end >= llen) *end = llen - 1;
    return 1;
}

/* LRANGE key start stop */
static void cmd_lrange(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long start, end;
    if (arg_ll(&req->argv[2], &start, r) || arg_ll(&req->argv[3], &end, r))
        return;
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (!e) {
        reply_array(r, 0);
        return;
    }
    if (!check_list(e, r)) return;
    list_t l = list_of(e);
    if (!norm_range((long long)list_len(&l), &start, &end)) {
        reply_array(r, 0);
        return;
    }
    reply_range(r, &l, (long)start, (long)end, 0);
}

/* LINDEX key index */
static void cmd_lindex(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (!e) {
        reply_null(r);
        return;
    }
    if (!check_list(e, r)) return;
    long long index;
    if (arg_ll(&req->argv[2], &index, r)) return;
    list_t l = list_of(e);
    lpos_t c;
    if (index < LONG_MIN || index > LONG_MAX || !list_seek(&l, (long)index, &c)) {
        reply_null(r);
        return;
    }
    unsigned char buf[LP_INTBUF_SIZE];
    uint32_t len;
    const unsigned char *s = lp_get_text(lpos_entry(&l, &c), &len, buf);
    reply_bulk(r, (const char *)s, len);
}

/* LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len] */
static void cmd_lpos(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long rank = 1, count = -1, maxlen = 0;
    int dir = QL_TAIL;
    for (int j = 3; j < req->argc; j++) {
        const resp_arg_t *opt = &req->argv[j];
        int moreargs = req->argc - 1 - j;
        if (arg_eq(opt, "rank") && moreargs) {
            j++;
            if (arg_ll(&req->argv[j], &rank, r)) return;
            if (rank == 0) {
                reply_error(r, "ERR RANK can't be zero: use 1 to start from "
                               "the first match, 2 from the second ... or use "
                               "negative to start from the end of the list");
                return;
            }
        } else if (arg_eq(opt, "count") && moreargs) {
            j++;
            if (parse_min(&req->argv[j], 0, &count, r,
                          "ERR COUNT can't be negative"))
                return;
        } else if (arg_eq(opt, "maxlen") && moreargs) {
            j++;
            if (parse_min(&req->argv[j], 0, &maxlen, r,
                          "ERR MAXLEN can't be negative"))
                return;
        } else {
            reply_err_syntax(r);
            return;
        }
    }
    if (rank < 0) {
        /* as Redis 7.0 on two's complement: RANK LLONG_MIN stays negative,
         * so every match qualifies */
        rank = (long long)(0ULL - (unsigned long long)rank);
        dir = QL_HEAD;
    }
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (!e) {
        if (count != -1)
            reply_array(r, 0);
        else
            reply_null(r);
        return;
    }
    if (!check_list(e, r)) return;

    size_t handle = 0;
    if (count != -1) handle = reply_defer(r);
    list_t l = list_of(e);
    const resp_arg_t *ele = &req->argv[2];
    long long llen = (long long)list_len(&l);
    long long index = 0, matches = 0, matchindex = -1, arraylen = 0;
    lpos_t c;
    int more = list_seek(&l, dir == QL_TAIL ? 0 : -1, &c);
    while (more && (maxlen == 0 || index < maxlen)) {
        if (ele->len <= UINT32_MAX &&
            lp_compare(lpos_entry(&l, &c), ele->ptr, (uint32_t)ele->len)) {
            matches++;
            matchindex = dir == QL_TAIL ? index : llen - index - 1;
            if (matches >= rank) {
                if (count != -1) {
                    arraylen++;
                    reply_int(r, matchindex);
                    long long seen = (long long)((unsigned long long)matches -
                                                 (unsigned long long)rank + 1);
                    if (count && seen >= count) break;
                } else {
                    break;
                }
            }
        }
        index++;
        matchindex = -1;
        more = list_step(&l, &c, dir);
    }
    if (count != -1)
        reply_set_deferred(r, handle, '*', arraylen);
    else if (matchindex != -1)
        reply_int(r, matchindex);
    else
        reply_null(r);
}

/* ---- changing elements ---------------------------------------------------- */

/* LSET key index element */
static void cmd_lset(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1], *val = &req->argv[3];
    kentry_t *e = db_lookup_write(ctx, key);
    if (!e) {
        reply_error(r, err_nokey);
        return;
    }
    if (!check_list(e, r)) return;
    long long index;
    if (arg_ll(&req->argv[2], &index, r)) return;
    if (val->len > LIST_MAX_ITEM_SIZE) {
        reply_error(r, "ERR Element too large");
        return;
    }
    list_t l = list_of(e);
    lpos_t c;
    if (index < LONG_MIN || index > LONG_MAX || !list_seek(&l, (long)index, &c)) {
        reply_error(r, err_range);
        return;
    }
    int fill = list_fill(ctx);
    if (l.enc == LE_LISTPACK) {
        list_grow(&l, fill, val->len);
        if (l.enc == LE_QUICKLIST) list_seek(&l, (long)index, &c);
    }
    if (l.enc == LE_LISTPACK)
        l.obj = lp_insert(l.obj, val->ptr, (uint32_t)val->len, c.p,
                          LP_REPLACE, NULL);
    else
        ql_replace_at(l.obj, &c.q, val->ptr, (uint32_t)val->len);
    list_shrink(&l, fill); /* a smaller element may make it small again */
    list_store(e, &l);
    db_modified(ctx, key);
    notify_key(ctx->node, NOTIFY_LIST, "lset", key);
    reply_ok(r);
}

/* LINSERT key BEFORE|AFTER pivot element */
static void cmd_linsert(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1], *pivot = &req->argv[3],
                     *val = &req->argv[4];
    int after;
    if (arg_eq(&req->argv[2], "after")) {
        after = 1;
    } else if (arg_eq(&req->argv[2], "before")) {
        after = 0;
    } else {
        reply_err_syntax(r);
        return;
    }
    kentry_t *e = db_lookup_write(ctx, key);
    if (!e) {
        reply_int(r, 0);
        return;
    }
    if (!check_list(e, r)) return;
    if (val->len > LIST_MAX_ITEM_SIZE) {
        reply_error(r, "ERR Element too large");
        return;
    }
    list_t l = list_of(e);
    lpos_t c;
    long index = 0;
    int found = 0;
    if (pivot->len <= UINT32_MAX) {
        for (int more = list_seek(&l, 0, &c); more;
             more = list_step(&l, &c, QL_TAIL), index++) {
            if (lp_compare(lpos_entry(&l, &c), pivot->ptr,
                           (uint32_t)pivot->len)) {
                found = 1;
                break;
            }
        }
    }
    if (!found) {
        reply_int(r, -1);
        return;
    }
    if (l.enc == LE_LISTPACK) {
        list_grow(&l, list_fill(ctx), val->len);
        if (l.enc == LE_QUICKLIST) list_seek(&l, index, &c);
    }
    if (l.enc == LE_LISTPACK)
        l.obj = lp_insert(l.obj, val->ptr, (uint32_t)val->len, c.p,
                          after ? LP_AFTER : LP_BEFORE, NULL);
    else
        ql_insert_at(l.obj, &c.q, after, val->ptr, (uint32_t)val->len);
    list_store(e, &l);
    db_modified(ctx, key);
    notify_key(ctx->node, NOTIFY_LIST, "linsert", key);
    reply_int(r, (long long)list_len(&l));
}

/* LREM key count element */
static void cmd_lrem(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1], *ele = &req->argv[3];
    long long toremove;
    if (arg_ll(&req->argv[2], &toremove, r)) return;
    kentry_t *e = db_lookup_write(ctx, key);
    if (!e) {
        reply_int(r, 0);
        return;
    }
    if (!check_list(e, r)) return;
    list_t l = list_of(e);
    int dir = QL_TAIL;
    unsigned long long limit = (unsigned long long)toremove;
    if (toremove < 0) {
        limit = 0ULL - (unsigned long long)toremove;
        dir = QL_HEAD;
    }
    long long removed = 0;
    lpos_t c;
    int more = ele->len <= UINT32_MAX &&
               list_seek(&l, dir == QL_TAIL ? 0 : -1, &c);
    while (more) {
        if (lp_compare(lpos_entry(&l, &c), ele->ptr, (uint32_t)ele->len)) {
            list_delete_at(&l, &c, dir);
            removed++;
            if (limit && (unsigned long long)removed == limit) break;
            more = lpos_entry(&l, &c) != NULL;
        } else {
            more = list_step(&l, &c, dir);
        }
    }
    if (removed) {
        int deleted = list_after_removal(ctx, e, &l);
        db_modified(ctx, key);
        notify_key(ctx->node, NOTIFY_LIST, "lrem", key);
        if (deleted) notify_key(ctx->node, NOTIFY_GENERIC, "del", key);
    }
    reply_int(r, removed);
}

/* LTRIM key start stop */
static void cmd_ltrim(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1];
    long long start, end;
    if (arg_ll(&req->argv[2], &start, r) || arg_ll(&req->argv[3], &end, r))
        return;
    kentry_t *e = db_lookup_write(ctx, key);
    if (!e) {
        reply_ok(r);
        return;
    }
    if (!check_list(e, r)) return;
    list_t l = list_of(e);
    long long llen = (long long)list_len(&l), ltrim, rtrim;
    if (!norm_range(llen, &start, &end)) {
        ltrim = llen;
        rtrim = 0;
    } else {
        ltrim = start;
        rtrim = llen - end - 1;
    }
    list_delete_range(&l, 0, (unsigned long)ltrim);
    list_delete_range(&l, (long)(llen - ltrim - rtrim),
                      (unsigned long)rtrim);
    int deleted = 0;
    if (ltrim + rtrim) {
        deleted = list_after_removal(ctx, e, &l);
        db_modified(ctx, key);
    }
    /* Redis announces a trim even when nothing was removed. */
    notify_key(ctx->node, NOTIFY_LIST, "ltrim", key);
    if (deleted) notify_key(ctx->node, NOTIFY_GENERIC, "del", key);
    reply_ok(r);
}

/* ---- moving between lists ------------------------------------------------- */

/* LMOVE's events in Redis's order: the push on dst (after "new" if dst
 * was created), then the pop on src (and "del" if src emptied). */
static void notify_lmove(cmdctx_t *ctx, const resp_arg_t *src,
                         const resp_arg_t *dst, int from, int to, int created,
                         int deleted)
{
    if (created) notify_key(ctx->node, NOTIFY_NEW, "new", dst);
    notify_key(ctx->node, NOTIFY_LIST, to == QL_HEAD ? "lpush" : "rpush", dst);
    notify_pop(ctx, src, from, deleted);
}

/* lmoveGenericCommand: pop from src at `from`, push to dst at `to`, reply
 * the element. */
static void lmove_generic(cmdctx_t *ctx, const resp_arg_t *src,
                          const resp_arg_t *dst, int from, int to, reply_t *r)
{
    kentry_t *se = db_lookup_write(ctx, src);
    if (!se) {
        reply_null(r);
        return;
    }
    if (!check_list(se, r)) return;
    kentry_t *de = db_lookup_write(ctx, dst);
    if (de && !check_list(de, r)) return;

    /* copy the element out: the push below may be into the same list */
    list_t sl = list_of(se);
    lpos_t c;
    list_seek(&sl, from == QL_HEAD ? 0 : -1, &c);
    unsigned char ibuf[LP_INTBUF_SIZE], stackbuf[MOVE_STACK];
    uint32_t len;
    const unsigned char *s = lp_get_text(lpos_entry(&sl, &c), &len, ibuf);
    unsigned char *val = len <= MOVE_STACK ? stackbuf : ts_malloc(len);
    memcpy(val, s, len);
    int fill = list_fill(ctx);

    if (se == de) { /* rotation: never empties the list */
        list_delete_at(&sl, &c, QL_TAIL);
        list_push(&sl, fill, to, (const char *)val, len);
        list_store(se, &sl);
        db_modified(ctx, src);
        notify_lmove(ctx, src, dst, from, to, 0, 0);
    } else {
        list_delete_at(&sl, &c, QL_TAIL);
        int deleted = list_after_removal(ctx, se, &sl); /* se may be gone */
        /* dst's entry is not moved by deleting src */
        if (de) {
            list_t dl = list_of(de);
            list_push(&dl, fill, to, (const char *)val, len);
            list_store(de, &dl);
        } else {
            list_t dl = {LE_LISTPACK, lp_new(0)};
            list_push(&dl, fill, to, (const char *)val, len);
            list_create_key(ctx, dst, &dl);
        }
        db_modified(ctx, src);
        db_modified(ctx, dst);
        notify_lmove(ctx, src, dst, from, to, de == NULL, deleted);
    }
    reply_bulk(r, (const char *)val, len);
    if (val != stackbuf) ts_free(val);
}

/* LMOVE source destination LEFT|RIGHT LEFT|RIGHT */
static void cmd_lmove(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    int from, to;
    if (parse_where(&req->argv[3], &from, r) ||
        parse_where(&req->argv[4], &to, r))
        return;
    lmove_generic(ctx, &req->argv[1], &req->argv[2], from, to, r);
}

/* RPOPLPUSH source destination */
static void cmd_rpoplpush(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    lmove_generic(ctx, &req->argv[1], &req->argv[2], QL_TAIL, QL_HEAD, r);
}

/*
 * LMPOP/BLMPOP: argv[nk] is numkeys, the keys follow, then LEFT|RIGHT
 * [COUNT count].  Pops from the first non-empty key and returns 1, or
 * replies an error and returns -1, or returns 0 when every key is empty
 * (the caller replies null or blocks).
 */
static int lmpop_generic(cmdctx_t *ctx, const req_t *req, int nk, reply_t *r)
{
    long long numkeys, count = -1;
    int where;
    if (parse_min(&req->argv[nk], 1, &numkeys, r,
                  "ERR numkeys should be greater than 0"))
        return -1;
    if (numkeys > req->argc - nk - 1) { /* where_idx past the end */
        reply_err_syntax(r);
        return -1;
    }
    int where_idx = nk + 1 + (int)numkeys;
    if (where_idx >= req->argc) {
        reply_err_syntax(r);
        return -1;
    }
    if (parse_where(&req->argv[where_idx], &where, r)) return -1;
    for (int j = where_idx + 1; j < req->argc; j++) {
        int moreargs = req->argc - 1 - j;
        if (count == -1 && arg_eq(&req->argv[j], "count") && moreargs) {
            j++;
            if (parse_min(&req->argv[j], 1, &count, r,
                          "ERR count should be greater than 0"))
                return -1;
        } else {
            reply_err_syntax(r);
            return -1;
        }
    }
    if (count == -1) count = 1;
    for (int j = nk + 1; j < where_idx; j++) {
        const resp_arg_t *key = &req->argv[j];
        kentry_t *e = db_lookup_write(ctx, key);
        if (!e) continue;
        if (!check_list(e, r)) return -1;
        list_t l = list_of(e);
        if (list_len(&l) == 0) continue;
        reply_array(r, 2);
        reply_bulk(r, key->ptr, key->len);
        /* replicas and the AOF see [LR]POP key n, n what was popped */
        unsigned long llen = list_len(&l);
        propagate_rewrite_ll(ctx, 3,
                             (const resp_arg_t[3]){
                                 {where == QL_HEAD ? "LPOP" : "RPOP", 4},
                                 *key, {"", 0}},
                             2, count > (long long)llen ? (long long)llen
                                                        : count);
        int deleted = pop_range(ctx, e, &l, where, count, r);
        db_modified(ctx, key);
        notify_pop(ctx, key, where, deleted);
        return 1;
    }
    return 0;
}

/* LMPOP numkeys key [key ...] LEFT|RIGHT [COUNT count] */
static void cmd_lmpop(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    if (lmpop_generic(ctx, req, 1, r) == 0) reply_null_array(r);
}

/* ---- blocking forms (node/blocking.c) ------------------------------------- */

/* BLPOP/BRPOP key [key ...] timeout */
static void bpop_generic(cmdctx_t *ctx, const req_t *req, int where,
                         reply_t *r)
{
    long long deadline;
    if (block_parse_timeout(&req->argv[req->argc - 1], ctx->now_ms,
                            &deadline, r))
        return;
    for (int j = 1; j < req->argc - 1; j++) {
        const resp_arg_t *key = &req->argv[j];
        kentry_t *e = db_lookup_write(ctx, key);
        if (!e) continue;
        if (!check_list(e, r)) return;
        list_t l = list_of(e);
        reply_array(r, 2);
        reply_bulk(r, key->ptr, key->len);
        int deleted = pop_one(ctx, e, &l, where, r);
        db_modified(ctx, key);
        notify_pop(ctx, key, where, deleted);
        resp_arg_t argv[2] = {{where == QL_HEAD ? "LPOP" : "RPOP", 4}, *key};
        propagate_rewrite(ctx, 2, argv); /* served: the non-blocking pop */
        return;
    }
    block_on_range(ctx, req, 1, req->argc - 2, deadline, r);
}

/* BLPOP key [key ...] timeout */
static void cmd_blpop(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    bpop_generic(ctx, req, QL_HEAD, r);
}

/* BRPOP key [key ...] timeout */
static void cmd_brpop(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    bpop_generic(ctx, req, QL_TAIL, r);
}

/* BLMOVE/BRPOPLPUSH: move if src has an element, else wait for src. */
static void blmove_generic(cmdctx_t *ctx, const req_t *req, int from, int to,
                           const resp_arg_t *timeout, reply_t *r)
{
    long long deadline;
    if (block_parse_timeout(timeout, ctx->now_ms, &deadline, r)) return;
    kentry_t *e = db_lookup_write(ctx, &req->argv[1]);
    if (e) {
        if (!check_list(e, r)) return;
        lmove_generic(ctx, &req->argv[1], &req->argv[2], from, to, r);
        /* propagated as LMOVE / RPOPLPUSH with the same arguments, or,
         * a BLMOVE served after blocking as Redis 7.0 rebuilds it: LMOVE
         * src dst left|right left|right */
        if ((ctx->client->flags & CLF_BLOCKED) &&
            req->spec->id == CMD_BLMOVE) {
            resp_arg_t argv[5] = {
                {"LMOVE", 5}, req->argv[1], req->argv[2],
                from == QL_HEAD ? (resp_arg_t){"left", 4}
                                : (resp_arg_t){"right", 5},
                to == QL_HEAD ? (resp_arg_t){"left", 4}
                              : (resp_arg_t){"right", 5}};
            propagate_rewrite(ctx, 5, argv);
            return;
        }
        resp_arg_t name = req->spec->id == CMD_BLMOVE
                              ? (resp_arg_t){"LMOVE", 5}
                              : (resp_arg_t){"RPOPLPUSH", 9};
        int idx = 0;
        propagate_rewrite_edit(ctx, req->argc - 1, req->argv, 1, &idx, &name);
        return;
    }
    block_on_range(ctx, req, 1, 1, deadline, r);
}

/* BLMOVE source destination LEFT|RIGHT LEFT|RIGHT timeout */
static void cmd_blmove(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    int from, to;
    if (parse_where(&req->argv[3], &from, r) ||
        parse_where(&req->argv[4], &to, r))
        return;
    blmove_generic(ctx, req, from, to, &req->argv[5], r);
}

/* BRPOPLPUSH source destination timeout */
static void cmd_brpoplpush(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    blmove_generic(ctx, req, QL_TAIL, QL_HEAD, &req->argv[3], r);
}

/* BLMPOP timeout numkeys key [key ...] LEFT|RIGHT [COUNT count] */
static void cmd_blmpop(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long deadline;
    if (block_parse_timeout(&req->argv[1], ctx->now_ms, &deadline, r)) return;
    if (lmpop_generic(ctx, req, 2, r) != 0) return;
    long long numkeys = 0;
    resp_str2ll(req->argv[2].ptr, req->argv[2].len, &numkeys);
    block_on_range(ctx, req, 3, (int)numkeys, deadline, r);
}

const cmd_bind_t t_list_cmds[] = {
    {CMD_LPUSH, cmd_lpush},         {CMD_RPUSH, cmd_rpush},
    {CMD_BLPOP, cmd_blpop},         {CMD_BRPOP, cmd_brpop},
    {CMD_BLMOVE, cmd_blmove},       {CMD_BRPOPLPUSH, cmd_brpoplpush},
    {CMD_BLMPOP, cmd_blmpop},
    {CMD_LPUSHX, cmd_lpushx},       {CMD_RPUSHX, cmd_rpushx},
    {CMD_LPOP, cmd_lpop},           {CMD_RPOP, cmd_rpop},
    {CMD_LLEN, cmd_llen},           {CMD_LRANGE, cmd_lrange},
    {CMD_LINDEX, cmd_lindex},       {CMD_LPOS, cmd_lpos},
    {CMD_LSET, cmd_lset},           {CMD_LINSERT, cmd_linsert},
    {CMD_LREM, cmd_lrem},           {CMD_LTRIM, cmd_ltrim},
    {CMD_LMOVE, cmd_lmove},         {CMD_RPOPLPUSH, cmd_rpoplpush},
    {CMD_LMPOP, cmd_lmpop},         {CMD__COUNT, NULL},
};
