/*
 * check_zskiplist.c: the sorted-set skiplist (node/types/zskiplist.c).
 *
 * Model-based: a sorted array of (score, member) and the skiplist are
 * driven by the same random inserts, deletes, score updates and range
 * deletions; after every step the whole list is compared with the model
 * walking forward and backward, every rank is checked both ways (which
 * checks the spans), and random score/lex range queries must return the
 * model's first and last element in range.  Lex ranges are exercised on
 * a list whose scores are all equal, as ZRANGEBYLEX requires.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "zskiplist.h"

typedef struct mem {
    double score;
    size_t len;
    char s[16];
} mem_t;

typedef struct item {
    double score;
    mem_t *m;
} item_t;

static const char *ele_bytes(const void *ele, size_t *len, double *score)
{
    const mem_t *m = ele;
    *len = m->len;
    *score = m->score;
    return m->s;
}

static item_t model[4096];
static int nmodel;

static int item_cmp(const void *a, const void *b)
{
    const item_t *x = a, *y = b;
    if (x->score != y->score) return x->score < y->score ? -1 : 1;
    return zsl_lex_cmp(x->m->s, x->m->len, y->m->s, y->m->len);
}

static void model_sort(void)
{
    qsort(model, (size_t)nmodel, sizeof(model[0]), item_cmp);
}

static int model_find(const char *s, size_t len)
{
    for (int i = 0; i < nmodel; i++)
        if (model[i].m->len == len && memcmp(model[i].m->s, s, len) == 0)
            return i;
    return -1;
}

static void model_remove(int i)
{
    free(model[i].m);
    memmove(&model[i], &model[i + 1],
            (size_t)(nmodel - i - 1) * sizeof(model[0]));
    nmodel--;
}

static void check_same(zskiplist_t *zsl)
{
    ck_assert_uint_eq(zsl->length, (unsigned long)nmodel);
    zsl_node_t *x = zsl->header->level[0].forward;
    zsl_node_t *prev = NULL;
    for (int i = 0; i < nmodel; i++) {
        ck_assert_ptr_nonnull(x);
        ck_assert(x->ele == model[i].m);
        ck_assert(zsl_node_score(zsl, x) == model[i].score);
        ck_assert(x->backward == prev);
        ck_assert(zsl_by_rank(zsl, (unsigned long)i + 1) == x);
        ck_assert_uint_eq(zsl_rank(zsl, model[i].score, model[i].m->s,
                                   model[i].m->len),
                          (unsigned long)i + 1);
        prev = x;
        x = x->level[0].forward;
    }
    ck_assert_ptr_null(x);
    ck_assert(zsl->tail == prev);
    ck_assert_ptr_null(zsl_by_rank(zsl, (unsigned long)nmodel + 1));
    ck_assert_ptr_null(zsl_by_rank(zsl, 0));
}

static mem_t *new_mem(int k)
{
    mem_t *m = malloc(sizeof(*m));
    m->len = (size_t)snprintf(m->s, sizeof(m->s), "m%d", k);
    return m;
}

static double rnd_score(void)
{
    return (double)(rand() % 50) / 2.0;
}

static void rnd_range(zsl_range_t *r)
{
    r->min = rnd_score() - 1;
    r->max = rnd_score() + 1;
    r->minex = rand() % 2;
    r->maxex = rand() % 2;
    if (rand() % 10 == 0) r->min = -INFINITY;
    if (rand() % 10 == 0) r->max = INFINITY;
}

static int in_range(double s, const zsl_range_t *r)
{
    return zsl_score_gte_min(s, r) && zsl_score_lte_max(s, r);
}

static void check_range(zskiplist_t *zsl, const zsl_range_t *r)
{
    int first = -1, last = -1;
    for (int i = 0; i < nmodel; i++)
        if (in_range(model[i].score, r)) {
            if (first < 0) first = i;
            last = i;
        }
    zsl_node_t *f = zsl_first_in_range(zsl, r);
    zsl_node_t *l = zsl_last_in_range(zsl, r);
    if (first < 0) {
        ck_assert_ptr_null(f);
        ck_assert_ptr_null(l);
    } else {
        ck_assert(f && f->ele == model[first].m);
        ck_assert(l && l->ele == model[last].m);
    }
}

START_TEST(test_model_scores)
{
    srand(12345);
    zskiplist_t *zsl = zsl_create(ele_bytes);
    nmodel = 0;
    for (int step = 0; step < 6000; step++) {
        int op = rand() % 10;
        int k = rand() % 400;
        char name[16];
        size_t nlen = (size_t)snprintf(name, sizeof(name), "m%d", k);
        int at = model_find(name, nlen);
        if (op < 4) {                       /* insert or update */
            double s = rnd_score();
            if (at < 0) {
                mem_t *m = new_mem(k);
                m->score = s;
                zsl_insert(zsl, m);
                model[nmodel].score = s;
                model[nmodel++].m = m;
            } else {
                zsl_node_t *n = zsl_update_score(zsl, model[at].score,
                                                 model[at].m, s);
                ck_assert(n->ele == model[at].m);
                model[at].m->score = s;
                model[at].score = s;
            }
            model_sort();
        } else if (op < 7) {                /* delete */
            double s = at >= 0 ? model[at].score : rnd_score();
            void *ele = NULL;
            int ok = zsl_delete(zsl, s, name, nlen, &ele);
            ck_assert_int_eq(ok, at >= 0);
            if (at >= 0) {
                ck_assert(ele == model[at].m);
                model_remove(at);
            }
        } else if (op == 7) {               /* delete by score */
            zsl_range_t r;
            rnd_range(&r);
            r.max = r.min + 1.5;
            int n = 0;
            for (int i = 0; i < nmodel; i++)
                if (in_range(model[i].score, &r)) n++;
            /* the skiplist reads members owned by the model: delete there
             * first, then free them */
            ck_assert_uint_eq(zsl_delete_range_by_score(zsl, &r, NULL, NULL),
                              (unsigned long)n);
            for (int i = nmodel - 1; i >= 0; i--)
                if (in_range(model[i].score, &r)) model_remove(i);
        } else if (op == 8 && nmodel > 0) { /* delete by rank */
            unsigned long a = (unsigned long)(rand() % nmodel) + 1;
            unsigned long b = a + (unsigned long)(rand() % 5);
            if (b > (unsigned long)nmodel) b = (unsigned long)nmodel;
            ck_assert_uint_eq(zsl_delete_range_by_rank(zsl, a, b, NULL, NULL),
                              b - a + 1);
            for (unsigned long i = b; i >= a; i--) model_remove((int)i - 1);
        } else {                            /* queries */
            zsl_range_t r;
            rnd_range(&r);
            check_range(zsl, &r);
        }
        check_same(zsl);
    }
    while (nmodel) model_remove(nmodel - 1);
    zsl_destroy(zsl);
}
END_TEST

static void rnd_bound(zsl_lexbound_t *b, char *buf)
{
    b->inf = 0;
    b->ex = rand() % 2;
    int k = rand() % 400;
    b->len = (size_t)snprintf(buf, 16, "m%d", k);
    b->p = buf;
    if (rand() % 12 == 0) b->inf = -1;
    if (rand() % 12 == 0) b->inf = 1;
}

START_TEST(test_model_lex)
{
    srand(777);
    zskiplist_t *zsl = zsl_create(ele_bytes);
    nmodel = 0;
    char b1[16], b2[16];
    for (int step = 0; step < 5000; step++) {
        int op = rand() % 8;
        int k = rand() % 400;
        char name[16];
        size_t nlen = (size_t)snprintf(name, sizeof(name), "m%d", k);
        int at = model_find(name, nlen);
        zsl_lexrange_t r;
        rnd_bound(&r.min, b1);
        rnd_bound(&r.max, b2);
        int first = -1, last = -1;
        for (int i = 0; i < nmodel; i++)
            if (zsl_lex_gte_min(model[i].m->s, model[i].m->len, &r) &&
                zsl_lex_lte_max(model[i].m->s, model[i].m->len, &r)) {
                if (first < 0) first = i;
                last = i;
            }
        if (op < 4) {
            if (at < 0) {
                mem_t *m = new_mem(k);
                m->score = 0;
                zsl_insert(zsl, m);
                model[nmodel].score = 0;
                model[nmodel++].m = m;
                model_sort();
            }
        } else if (op < 5) {
            ck_assert_int_eq(zsl_delete(zsl, 0, name, nlen, NULL), at >= 0);
            if (at >= 0) model_remove(at);
        } else if (op < 6) {
            unsigned long n = 0;
            int hit = first >= 0 && !zsl_lex_empty(&r);
            if (hit) n = (unsigned long)(last - first + 1);
            /* delete in the skiplist before freeing the model's members */
            ck_assert_uint_eq(zsl_delete_range_by_lex(zsl, &r, NULL, NULL), n);
            if (hit)
                for (int i = last; i >= first; i--) model_remove(i);
        } else {
            zsl_node_t *f = zsl_first_in_lex(zsl, &r);
            zsl_node_t *l = zsl_last_in_lex(zsl, &r);
            if (first < 0 || zsl_lex_empty(&r)) {
                ck_assert_ptr_null(f);
                ck_assert_ptr_null(l);
            } else {
                ck_assert(f && f->ele == model[first].m);
                ck_assert(l && l->ele == model[last].m);
            }
        }
        check_same(zsl);
    }
    while (nmodel) model_remove(nmodel - 1);
    zsl_destroy(zsl);
}
END_TEST

START_TEST(test_levels_and_ranks)
{
    /* 4000 nodes: levels spread out, ranks by span stay exact. */
    zskiplist_t *zsl = zsl_create(ele_bytes);
    nmodel = 0;
    for (int i = 0; i < 4000; i++) {
        mem_t *m = new_mem(i);
        m->score = (double)(i % 7);
        zsl_insert(zsl, m);
        model[nmodel].score = (double)(i % 7);
        model[nmodel++].m = m;
    }
    model_sort();
    check_same(zsl);
    ck_assert_int_gt(zsl->level, 3);
    ck_assert_int_le(zsl->level, ZSKIPLIST_MAXLEVEL);
    ck_assert_uint_gt(zsl_mem(zsl), 4000 * 32);
    ck_assert_uint_eq(zsl_delete_range_by_rank(zsl, 1, 4000, NULL, NULL), 4000);
    ck_assert_uint_eq(zsl->length, 0);
    ck_assert_int_eq(zsl->level, 1);
    while (nmodel) model_remove(nmodel - 1);
    zsl_destroy(zsl);
}
END_TEST

static Suite *zskiplist_suite(void)
{
    Suite *s = suite_create("zskiplist");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, test_model_scores);
    tcase_add_test(tc, test_model_lex);
    tcase_add_test(tc, test_levels_and_ranks);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(zskiplist_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
