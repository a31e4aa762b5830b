/*
 * quicklist.c: a doubly linked list of listpack nodes (see quicklist.h).
 *
 * The node size rules are Redis 7.0's (_quicklistNodeAllowInsert): with a
 * negative fill a node's listpack may grow to 4/8/16/32/64 KB; with a
 * positive fill to `fill` entries but never past 8 KB (SIZE_SAFETY_LIMIT),
 * and an insertion is judged on the node's size plus the new element plus
 * an 8-byte allowance for its encoding.  A node always accepts its first
 * element, so one very large element makes a node of its own (Redis 7.0
 * would make a "plain" node only past 1 GB; the listpack holds up to 4 GB).
 *
 * Inserting into a full node in the middle splits it at the insertion
 * point, as Redis does; deleting never merges (nor does Redis, except
 * after an insert).  There is no LZF compression: list-compress-depth
 * other than 0 is refused by the options table.
 */
#include "quicklist.h"

#include <assert.h>
#include <string.h>

#include "alloc.h"
#include "listpack.h"

static const size_t optimization_level[] = {4096, 8192, 16384, 32768, 65536};
#define SIZE_SAFETY_LIMIT 8192
#define SIZE_ESTIMATE_OVERHEAD 8
#define FILL_MAX ((1 << 15) - 1)

static int clamp_fill(int fill)
{
    if (fill > FILL_MAX) return FILL_MAX;
    if (fill < -5) return -5;
    if (fill == 0) return 1; /* 0 entries per node is meaningless */
    return fill;
}

int ql_node_exceeds(int fill, size_t sz, unsigned long count)
{
    fill = clamp_fill(fill);
    if (fill < 0) return sz > optimization_level[-fill - 1];
    if (sz > SIZE_SAFETY_LIMIT) return 1;
    return count > (unsigned long)fill;
}

static int allow_insert(const quicklist_t *ql, const ql_node_t *node,
                        uint32_t len)
{
    if (!node) return 0;
    size_t new_sz = (size_t)node->sz + len + SIZE_ESTIMATE_OVERHEAD;
    return !ql_node_exceeds(ql->fill, new_sz, (unsigned long)node->count + 1);
}

quicklist_t *ql_create(int fill)
{
    quicklist_t *ql = ts_calloc(1, sizeof(*ql));
    ql->fill = clamp_fill(fill);
    return ql;
}

void ql_set_fill(quicklist_t *ql, int fill) { ql->fill = clamp_fill(fill); }

void ql_free(quicklist_t *ql)
{
    if (!ql) return;
    ql_node_t *n = ql->head;
    while (n) {
        ql_node_t *next = n->next;
        lp_free(n->lp);
        ts_free(n);
        n = next;
    }
    ts_free(ql);
}

size_t ql_mem(const quicklist_t *ql)
{
    size_t m = ts_usable_size((void *)ql);
    for (ql_node_t *n = ql->head; n; n = n->next)
        m += ts_usable_size(n) + ts_usable_size(n->lp);
    return m;
}

static ql_node_t *node_new(unsigned char *lp)
{
    ql_node_t *n = ts_malloc(sizeof(*n));
    n->prev = n->next = NULL;
    n->lp = lp;
    n->count = (uint32_t)lp_length(lp);
    n->sz = (uint32_t)lp_bytes(lp);
    return n;
}

static inline void node_update(ql_node_t *n, unsigned char *lp)
{
    n->lp = lp;
    n->sz = (uint32_t)lp_bytes(lp);
}

/* Link n after `at` (at NULL: as the new head). */
static void link_after(quicklist_t *ql, ql_node_t *at, ql_node_t *n)
{
    n->prev = at;
    n->next = at ? at->next : ql->head;
    if (n->next)
        n->next->prev = n;
    else
        ql->tail = n;
    if (at)
        at->next = n;
    else
        ql->head = n;
    ql->len++;
    ql->count += n->count;
}

static void unlink_free(quicklist_t *ql, ql_node_t *n)
{
    if (n->prev)
        n->prev->next = n->next;
    else
        ql->head = n->next;
    if (n->next)
        n->next->prev = n->prev;
    else
        ql->tail = n->prev;
    ql->len--;
    ql->count -= n->count;
    lp_free(n->lp);
    ts_free(n);
}

static ql_node_t *node_with(const char *s, uint32_t len)
{
    return node_new(lp_append(lp_new(0), s, len));
}

quicklist_t *ql_dup(const quicklist_t *ql)
{
    quicklist_t *c = ql_create(ql->fill);
    for (ql_node_t *n = ql->head; n; n = n->next) {
        unsigned char *lp = ts_malloc(n->sz);
        memcpy(lp, n->lp, n->sz);
        link_after(c, c->tail, node_new(lp));
    }
    return c;
}

void ql_push(quicklist_t *ql, int where, const char *s, uint32_t len)
{
    ql_node_t *n = where == QL_HEAD ? ql->head : ql->tail;
    if (allow_insert(ql, n, len)) {
        node_update(n, where == QL_HEAD ? lp_prepend(n->lp, s, len)
                                        : lp_append(n->lp, s, len));
        n->count++;
        ql->count++;
        return;
    }
    link_after(ql, where == QL_HEAD ? NULL : ql->tail, node_with(s, len));
}

/* Append the entry at p (of another listpack) to lp. */
static unsigned char *lp_copy_entry(unsigned char *lp, const unsigned char *p)
{
    uint32_t len;
    long long v;
    const unsigned char *s = lp_get(p, &len, &v);
    if (s) return lp_append(lp, (const char *)s, len);
    return lp_append_int(lp, v);
}

void ql_append_lp(quicklist_t *ql, unsigned char *lp)
{
    unsigned long cnt = lp_length(lp);
    if (cnt == 0) {
        lp_free(lp);
        return;
    }
    if (!ql_node_exceeds(ql->fill, lp_bytes(lp), cnt)) {
        link_after(ql, ql->tail, node_new(lp));
        return;
    }
    unsigned char ibuf[LP_INTBUF_SIZE];
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p)) {
        uint32_t len;
        const unsigned char *s = lp_get_text(p, &len, ibuf);
        ql_push(ql, QL_TAIL, (const char *)s, len);
    }
    lp_free(lp);
}

/* ---- positions ----------------------------------------------------------- */

int ql_seek(const quicklist_t *ql, long index, ql_pos_t *pos)
{
    pos->node = NULL;
    pos->p = NULL;
    unsigned long idx;
    int forward = index >= 0;
    if (forward) {
        idx = (unsigned long)index;
    } else {
        idx = (unsigned long)(-(index + 1)); /* 0 = last */
    }
    if (idx >= ql->count) return 0;
    /* walk from the nearer end */
    if (idx > ql->count / 2) {
        forward = !forward;
        idx = ql->count - 1 - idx;
    }
    ql_node_t *n;
    if (forward) {
        for (n = ql->head; idx >= n->count; n = n->next)
            idx -= n->count;
        pos->p = lp_seek(n->lp, (long)idx);
    } else {
        for (n = ql->tail; idx >= n->count; n = n->prev)
            idx -= n->count;
        pos->p = lp_seek(n->lp, -(long)idx - 1);
    }
    pos->node = n;
    return 1;
}

int ql_next(ql_pos_t *pos)
{
    pos->p = lp_next(pos->node->lp, pos->p);
    if (!pos->p && pos->node->next) {
        pos->node = pos->node->next;
        pos->p = lp_first(pos->node->lp);
    }
    return pos->p != NULL;
}

int ql_prev(ql_pos_t *pos)
{
    pos->p = lp_prev(pos->node->lp, pos->p);
    if (!pos->p && pos->node->prev) {
        pos->node = pos->node->prev;
        pos->p = lp_last(pos->node->lp);
    }
    return pos->p != NULL;
}

void ql_delete_at(quicklist_t *ql, ql_pos_t *pos, int dir)
{
    ql_node_t *n = pos->node;
    if (n->count == 1) {
        ql_node_t *adj = dir == QL_TAIL ? n->next : n->prev;
        unlink_free(ql, n);
        pos->node = adj;
        pos->p = adj ? (dir == QL_TAIL ? lp_first(adj->lp) : lp_last(adj->lp))
                     : NULL;
        return;
    }
    unsigned char *np;
    node_update(n, lp_delete(n->lp, pos->p, &np));
    n->count--;
    ql->count--;
    if (dir == QL_TAIL) {
        pos->p = np;
        if (!np && n->next) {
            pos->node = n->next;
            pos->p = lp_first(n->next->lp);
        }
    } else {
        pos->p = np ? lp_prev(n->lp, np) : lp_last(n->lp);
        if (!pos->p && n->prev) {
            pos->node = n->prev;
            pos->p = lp_last(n->prev->lp);
        }
    }
}

/* Split n so that entries from index `at` on go into a new node linked
 * after it; returns the new node (n keeps at least `at` entries). */
static ql_node_t *split_node(quicklist_t *ql, ql_node_t *n, unsigned long at)
{
    unsigned char *lp = lp_new(0);
    for (unsigned char *p = lp_seek(n->lp, (long)at); p; p = lp_next(n->lp, p))
        lp = lp_copy_entry(lp, p);
    unsigned long moved = n->count - at;
    node_update(n, lp_delete_range(n->lp, (long)at, moved));
    n->count -= (uint32_t)moved;
    ql->count -= moved;
    ql_node_t *nn = node_new(lp);
    link_after(ql, n, nn);
    return nn;
}

/* Index of p inside n's listpack. */
static unsigned long index_in_node(const ql_node_t *n, const unsigned char *p)
{
    unsigned long i = 0;
    for (unsigned char *q = lp_first(n->lp); q != p; q = lp_next(n->lp, q))
        i++;
    return i;
}

void ql_insert_at(quicklist_t *ql, ql_pos_t *pos, int after, const char *s,
                  uint32_t len)
{
    ql_node_t *n = pos->node;
    if (allow_insert(ql, n, len)) {
        node_update(n, lp_insert(n->lp, s, len, pos->p,
                                 after ? LP_AFTER : LP_BEFORE, NULL));
        n->count++;
        ql->count++;
        return;
    }
    int at_tail = after && lp_next(n->lp, pos->p) == NULL;
    int at_head = !after && lp_prev(n->lp, pos->p) == NULL;
    if (at_tail) {
        if (allow_insert(ql, n->next, len)) {
            node_update(n->next, lp_prepend(n->next->lp, s, len));
            n->next->count++;
            ql->count++;
        } else {
            link_after(ql, n, node_with(s, len));
        }
        return;
    }
    if (at_head) {
        if (allow_insert(ql, n->prev, len)) {
            node_update(n->prev, lp_append(n->prev->lp, s, len));
            n->prev->count++;
            ql->count++;
        } else {
            link_after(ql, n->prev, node_with(s, len));
        }
        return;
    }
    /* in the middle of a full node: split at the insertion point */
    unsigned long at = index_in_node(n, pos->p) + (after ? 1 : 0);
    ql_node_t *nn = split_node(ql, n, at);
    if (allow_insert(ql, n, len)) {
        node_update(n, lp_append(n->lp, s, len));
        n->count++;
        ql->count++;
    } else if (allow_insert(ql, nn, len)) {
        node_update(nn, lp_prepend(nn->lp, s, len));
        nn->count++;
        ql->count++;
    } else {
        link_after(ql, n, node_with(s, len));
    }
}

void ql_replace_at(quicklist_t *ql, ql_pos_t *pos, const char *s,
                   uint32_t len)
{
    ql_node_t *n = pos->node;
    if (n->count == 1 || allow_insert(ql, n, len)) {
        node_update(n, lp_insert(n->lp, s, len, pos->p, LP_REPLACE, NULL));
        return;
    }
    /* too big for this node with the old entry still there: delete it,
     * then insert where it was */
    unsigned char *np;
    node_update(n, lp_delete(n->lp, pos->p, &np));
    n->count--;
    ql->count--;
    ql_pos_t at = {n, np ? np : lp_last(n->lp)};
    ql_insert_at(ql, &at, np ? 0 : 1, s, len);
}

void ql_delete_range(quicklist_t *ql, long start, unsigned long num)
{
    ql_pos_t pos;
    if (num == 0 || !ql_seek(ql, start, &pos)) return;
    ql_node_t *n = pos.node;
    unsigned long local = index_in_node(n, pos.p);
    while (n && num > 0) {
        ql_node_t *next = n->next;
        unsigned long here = n->count - local;
        if (here > num) here = num;
        if (here == n->count) {
            unlink_free(ql, n);
        } else {
            node_update(n, lp_delete_range(n->lp, (long)local, here));
            n->count -= (uint32_t)here;
            ql->count -= here;
        }
        num -= here;
        local = 0;
        n = next;
    }
}

unsigned char *ql_to_lp_if_small(quicklist_t *ql, int fill)
{
    if (ql->len != 1) return NULL;
    ql_node_t *n = ql->head;
    /* half the node limit, so a list on the boundary does not convert back
     * and forth on every push and pop */
    if (ql_node_exceeds(fill, (size_t)n->sz * 2, (unsigned long)n->count * 2))
        return NULL;
    unsigned char *lp = n->lp;
    ts_free(n);
    ts_free(ql);
    return lp;
}
