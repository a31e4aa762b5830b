/*
 * zskiplist.c: Redis's skiplist (t_zset.c zsl*), ordered by (score,
 * member).  See zskiplist.h for why nodes hold an opaque ele.
 *
 * The algorithms are Redis's: insert and delete collect the rightmost node
 * before the target at each level (update[]) and the rank traversed to
 * reach it (rank[]), from which the spans are fixed up.  Node levels come
 * from a geometric distribution (P 0.25) drawn from a private xorshift
 * generator: the layout, not security, depends on it.
 */
#include "zskiplist.h"

#include <assert.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"

/* Level generator state (single-threaded node; a fixed seed is fine). */
static uint64_t zsl_rng = 0x9E3779B97F4A7C15ULL;

static int random_level(void)
{
    zsl_rng ^= zsl_rng << 13;
    zsl_rng ^= zsl_rng >> 7;
    zsl_rng ^= zsl_rng << 17;
    /* 32 pairs of bits: each further level needs a pair of zeros (P 1/4) */
    uint64_t x = zsl_rng;
    int level = 1;
    while ((x & 3) == 0 && level < ZSKIPLIST_MAXLEVEL) {
        level++;
        x >>= 2;
    }
    return level;
}

static zsl_node_t *node_create(int level, void *ele)
{
    zsl_node_t *n = ts_malloc(sizeof(*n) + (size_t)level * sizeof(n->level[0]));
    n->ele = ele;
    return n;
}

zskiplist_t *zsl_create(zsl_ele_fn *ele_fn)
{
    zskiplist_t *zsl = ts_malloc(sizeof(*zsl));
    zsl->level = 1;
    zsl->length = 0;
    zsl->ele_fn = ele_fn;
    zsl->header = node_create(ZSKIPLIST_MAXLEVEL, NULL);
    for (int j = 0; j < ZSKIPLIST_MAXLEVEL; j++) {
        zsl->header->level[j].forward = NULL;
        zsl->header->level[j].span = 0;
    }
    zsl->header->backward = NULL;
    zsl->tail = NULL;
    return zsl;
}

void zsl_destroy(zskiplist_t *zsl)
{
    zsl_node_t *n = zsl->header->level[0].forward;
    ts_free(zsl->header);
    while (n) {
        zsl_node_t *next = n->level[0].forward;
        ts_free(n);
        n = next;
    }
    ts_free(zsl);
}

int zsl_lex_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
    size_t min = alen < blen ? alen : blen;
    int c = min ? memcmp(a, b, min) : 0;
    if (c) return c;
    return alen < blen ? -1 : alen > blen ? 1 : 0;
}

static inline double score_of(const zskiplist_t *zsl, const zsl_node_t *x)
{
    size_t l;
    double s;
    zsl->ele_fn(x->ele, &l, &s);
    return s;
}

double zsl_node_score(const zskiplist_t *zsl, const zsl_node_t *x)
{
    return score_of(zsl, x);
}

/* Does node x sort before (score, m)? */
static inline int before(const zskiplist_t *zsl, const zsl_node_t *x,
                         double score, const char *m, size_t mlen)
{
    size_t xl;
    double xs;
    const char *xm = zsl->ele_fn(x->ele, &xl, &xs);
    if (xs != score) return xs < score;
    return zsl_lex_cmp(xm, xl, m, mlen) < 0;
}

/* Link node x of `level` levels at the place of (score, m). */
static void link_node(zskiplist_t *zsl, zsl_node_t *x, int level, double score,
                      const char *m, size_t mlen)
{
    zsl_node_t *update[ZSKIPLIST_MAXLEVEL], *y;
    unsigned long rank[ZSKIPLIST_MAXLEVEL];

    y = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        rank[i] = i == zsl->level - 1 ? 0 : rank[i + 1];
        while (y->level[i].forward &&
               before(zsl, y->level[i].forward, score, m, mlen)) {
            rank[i] += y->level[i].span;
            y = y->level[i].forward;
        }
        update[i] = y;
    }
    if (level > zsl->level) {
        for (int i = zsl->level; i < level; i++) {
            rank[i] = 0;
            update[i] = zsl->header;
            update[i]->level[i].span = zsl->length;
        }
        zsl->level = level;
    }
    for (int i = 0; i < level; i++) {
        x->level[i].forward = update[i]->level[i].forward;
        update[i]->level[i].forward = x;
        x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
        update[i]->level[i].span = (rank[0] - rank[i]) + 1;
    }
    for (int i = level; i < zsl->level; i++) update[i]->level[i].span++;
    x->backward = update[0] == zsl->header ? NULL : update[0];
    if (x->level[0].forward)
        x->level[0].forward->backward = x;
    else
        zsl->tail = x;
    zsl->length++;
}

zsl_node_t *zsl_insert(zskiplist_t *zsl, void *ele)
{
    size_t mlen;
    double score;
    const char *m = zsl->ele_fn(ele, &mlen, &score);
    assert(score == score);
    int level = random_level();
    zsl_node_t *x = node_create(level, ele);
    link_node(zsl, x, level, score, m, mlen);
    return x;
}

/* Unlink x given update[] (Redis's zslDeleteNode); returns x's level. */
static int unlink_node(zskiplist_t *zsl, zsl_node_t *x, zsl_node_t **update)
{
    int level = 0;
    for (int i = 0; i < zsl->level; i++) {
        if (update[i]->level[i].forward == x) {
            update[i]->level[i].span += x->level[i].span - 1;
            update[i]->level[i].forward = x->level[i].forward;
            level++;
        } else {
            update[i]->level[i].span -= 1;
        }
    }
    if (x->level[0].forward)
        x->level[0].forward->backward = x->backward;
    else
        zsl->tail = x->backward;
    while (zsl->level > 1 && zsl->header->level[zsl->level - 1].forward == NULL)
        zsl->level--;
    zsl->length--;
    return level;
}

/* Fill update[] for (score, m); returns the node after update[0]. */
static zsl_node_t *find_update(zskiplist_t *zsl, double score, const char *m,
                               size_t mlen, zsl_node_t **update)
{
    zsl_node_t *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward &&
               before(zsl, x->level[i].forward, score, m, mlen))
            x = x->level[i].forward;
        update[i] = x;
    }
    return x->level[0].forward;
}

static int node_is(const zskiplist_t *zsl, const zsl_node_t *x, double score,
                   const char *m, size_t mlen)
{
    if (!x) return 0;
    size_t xl;
    double xs;
    const char *xm = zsl->ele_fn(x->ele, &xl, &xs);
    return xs == score && xl == mlen && (mlen == 0 || memcmp(xm, m, mlen) == 0);
}

int zsl_delete(zskiplist_t *zsl, double score, const char *m, size_t mlen,
               void **ele)
{
    zsl_node_t *update[ZSKIPLIST_MAXLEVEL];
    zsl_node_t *x = find_update(zsl, score, m, mlen, update);
    if (!node_is(zsl, x, score, m, mlen)) return 0;
    unlink_node(zsl, x, update);
    if (ele) *ele = x->ele;
    ts_free(x);
    return 1;
}

zsl_node_t *zsl_update_score(zskiplist_t *zsl, double score, void *ele,
                             double newscore)
{
    zsl_node_t *update[ZSKIPLIST_MAXLEVEL];
    size_t mlen;
    double cur;
    const char *m = zsl->ele_fn(ele, &mlen, &cur);
    assert(cur == score);
    zsl_node_t *x = find_update(zsl, score, m, mlen, update);
    assert(x && x->ele == ele);

    /* Still between its neighbours: nothing to relink. */
    if ((x->backward == NULL || score_of(zsl, x->backward) < newscore) &&
        (x->level[0].forward == NULL ||
         score_of(zsl, x->level[0].forward) > newscore))
        return x;
    int level = unlink_node(zsl, x, update);
    link_node(zsl, x, level, newscore, m, mlen);
    return x;
}

unsigned long zsl_rank(zskiplist_t *zsl, double score, const char *m,
                       size_t mlen)
{
    unsigned long rank = 0;
    zsl_node_t *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward &&
               (before(zsl, x->level[i].forward, score, m, mlen) ||
                node_is(zsl, x->level[i].forward, score, m, mlen))) {
            rank += x->level[i].span;
            x = x->level[i].forward;
        }
        if (x != zsl->header && node_is(zsl, x, score, m, mlen)) return rank;
    }
    return 0;
}

zsl_node_t *zsl_by_rank(zskiplist_t *zsl, unsigned long rank)
{
    if (rank == 0 || rank > zsl->length) return NULL;
    unsigned long traversed = 0;
    zsl_node_t *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && traversed + x->level[i].span <= rank) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        if (traversed == rank) return x;
    }
    return NULL;
}

/* ---- score ranges ---- */

int zsl_score_gte_min(double v, const zsl_range_t *r)
{
    return r->minex ? v > r->min : v >= r->min;
}

int zsl_score_lte_max(double v, const zsl_range_t *r)
{
    return r->maxex ? v < r->max : v <= r->max;
}

static int range_possible(const zskiplist_t *zsl, const zsl_range_t *r)
{
    if (r->min > r->max || (r->min == r->max && (r->minex || r->maxex)))
        return 0;
    zsl_node_t *x = zsl->tail;
    if (!x || !zsl_score_gte_min(score_of(zsl, x), r)) return 0;
    x = zsl->header->level[0].forward;
    return zsl_score_lte_max(score_of(zsl, x), r);
}

zsl_node_t *zsl_first_in_range(zskiplist_t *zsl, const zsl_range_t *r)
{
    if (!range_possible(zsl, r)) return NULL;
    zsl_node_t *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (x->level[i].forward &&
               !zsl_score_gte_min(score_of(zsl, x->level[i].forward), r))
            x = x->level[i].forward;
    x = x->level[0].forward;
    return x && zsl_score_lte_max(score_of(zsl, x), r) ? x : NULL;
}

zsl_node_t *zsl_last_in_range(zskiplist_t *zsl, const zsl_range_t *r)
{
    if (!range_possible(zsl, r)) return NULL;
    zsl_node_t *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (x->level[i].forward &&
               zsl_score_lte_max(score_of(zsl, x->level[i].forward), r))
            x = x->level[i].forward;
    return x != zsl->header && zsl_score_gte_min(score_of(zsl, x), r) ? x : NULL;
}

/* ---- lex ranges ---- */

/* Compare bytes with a bound: <0, 0, >0. */
static int bound_cmp(const char *m, size_t len, const zsl_lexbound_t *b)
{
    if (b->inf) return -b->inf;
    return zsl_lex_cmp(m, len, b->p, b->len);
}

int zsl_lex_gte_min(const char *m, size_t len, const zsl_lexrange_t *r)
{
    int c = bound_cmp(m, len, &r->min);
    return r->min.ex ? c > 0 : c >= 0;
}

int zsl_lex_lte_max(const char *m, size_t len, const zsl_lexrange_t *r)
{
    int c = bound_cmp(m, len, &r->max);
    return r->max.ex ? c < 0 : c <= 0;
}

int zsl_lex_empty(const zsl_lexrange_t *r)
{
    const zsl_lexbound_t *a = &r->min, *b = &r->max;
    int c;
    if (a->inf == 1 || b->inf == -1) return 1;  /* "+" as min, "-" as max */
    if (a->inf == -1 || b->inf == 1) return 0;
    c = zsl_lex_cmp(a->p, a->len, b->p, b->len);
    return c > 0 || (c == 0 && (a->ex || b->ex));
}

static int node_gte_min(const zskiplist_t *zsl, const zsl_node_t *x,
                        const zsl_lexrange_t *r)
{
    size_t l;
    double sc;
    const char *m = zsl->ele_fn(x->ele, &l, &sc);
    return zsl_lex_gte_min(m, l, r);
}

static int node_lte_max(const zskiplist_t *zsl, const zsl_node_t *x,
                        const zsl_lexrange_t *r)
{
    size_t l;
    double sc;
    const char *m = zsl->ele_fn(x->ele, &l, &sc);
    return zsl_lex_lte_max(m, l, r);
}

static int lex_possible(const zskiplist_t *zsl, const zsl_lexrange_t *r)
{
    if (zsl_lex_empty(r) || !zsl->tail) return 0;
    if (!node_gte_min(zsl, zsl->tail, r)) return 0;
    return node_lte_max(zsl, zsl->header->level[0].forward, r);
}

zsl_node_t *zsl_first_in_lex(zskiplist_t *zsl, const zsl_lexrange_t *r)
{
    if (!lex_possible(zsl, r)) return NULL;
    zsl_node_t *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (x->level[i].forward &&
               !node_gte_min(zsl, x->level[i].forward, r))
            x = x->level[i].forward;
    x = x->level[0].forward;
    return x && node_lte_max(zsl, x, r) ? x : NULL;
}

zsl_node_t *zsl_last_in_lex(zskiplist_t *zsl, const zsl_lexrange_t *r)
{
    if (!lex_possible(zsl, r)) return NULL;
    zsl_node_t *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--)
        while (x->level[i].forward &&
               node_lte_max(zsl, x->level[i].forward, r))
            x = x->level[i].forward;
    return x != zsl->header && node_gte_min(zsl, x, r) ? x : NULL;
}

/* ---- range deletion ---- */

/* Delete from x (whose predecessors are update[]) while keep(x) holds. */
static unsigned long delete_run(zskiplist_t *zsl, zsl_node_t *x,
                                zsl_node_t **update,
                                int (*keep)(const zskiplist_t *,
                                            const zsl_node_t *, const void *),
                                const void *karg, zsl_del_fn *fn, void *arg)
{
    unsigned long removed = 0;
    while (x && keep(zsl, x, karg)) {
        zsl_node_t *next = x->level[0].forward;
        unlink_node(zsl, x, update);
        if (fn) fn(arg, x->ele);
        ts_free(x);
        removed++;
        x = next;
    }
    return removed;
}

static int keep_score(const zskiplist_t *zsl, const zsl_node_t *x,
                      const void *r)
{
    (void)zsl;
    return zsl_score_lte_max(score_of(zsl, x), r);
}

static int keep_lex(const zskiplist_t *zsl, const zsl_node_t *x, const void *r)
{
    return node_lte_max(zsl, x, r);
}

/* karg points at the remaining count */
static int keep_count(const zskiplist_t *zsl, const zsl_node_t *x,
                      const void *left)
{
    (void)zsl;
    (void)x;
    unsigned long *n = (unsigned long *)left;
    if (*n == 0) return 0;
    (*n)--;
    return 1;
}

unsigned long zsl_delete_range_by_score(zskiplist_t *zsl, const zsl_range_t *r,
                                        zsl_del_fn *fn, void *arg)
{
    zsl_node_t *update[ZSKIPLIST_MAXLEVEL], *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward &&
               !zsl_score_gte_min(score_of(zsl, x->level[i].forward), r))
            x = x->level[i].forward;
        update[i] = x;
    }
    return delete_run(zsl, x->level[0].forward, update, keep_score, r, fn,
                      arg);
}

unsigned long zsl_delete_range_by_lex(zskiplist_t *zsl,
                                      const zsl_lexrange_t *r, zsl_del_fn *fn,
                                      void *arg)
{
    if (zsl_lex_empty(r)) return 0;
    zsl_node_t *update[ZSKIPLIST_MAXLEVEL], *x = zsl->header;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward &&
               !node_gte_min(zsl, x->level[i].forward, r))
            x = x->level[i].forward;
        update[i] = x;
    }
    return delete_run(zsl, x->level[0].forward, update, keep_lex, r, fn, arg);
}

unsigned long zsl_delete_range_by_rank(zskiplist_t *zsl, unsigned long start,
                                       unsigned long end, zsl_del_fn *fn,
                                       void *arg)
{
    zsl_node_t *update[ZSKIPLIST_MAXLEVEL], *x = zsl->header;
    unsigned long traversed = 0;
    if (start == 0 || end < start) return 0;
    for (int i = zsl->level - 1; i >= 0; i--) {
        while (x->level[i].forward && traversed + x->level[i].span < start) {
            traversed += x->level[i].span;
            x = x->level[i].forward;
        }
        update[i] = x;
    }
    unsigned long left = end - start + 1;
    return delete_run(zsl, x->level[0].forward, update, keep_count, &left, fn,
                      arg);
}

size_t zsl_mem(const zskiplist_t *zsl)
{
    size_t total = ts_usable_size((void *)zsl) + ts_usable_size(zsl->header);
    for (zsl_node_t *x = zsl->header->level[0].forward; x;
         x = x->level[0].forward)
        total += ts_usable_size(x);
    return total;
}
