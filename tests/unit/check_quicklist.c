/*
 * check_quicklist.c: the linked list of listpack nodes
 * (node/types/quicklist.c).
 *
 * Model-based: a quicklist and a naive array of strings are driven by the
 * same random operations (push at either end, insert before/after, replace,
 * delete with the position moving either way, range deletes, appending
 * whole listpacks, duplication) under several fill settings (entry counts
 * and the -1..-5 size classes) with occasional large elements, and
 * compared after every step: contents forwards and backwards, seeks from
 * both ends, and the structure's invariants (no empty node, counts and
 * sizes cached right, links consistent, no node with more than one entry
 * past its fill limit).
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "listpack.h"
#include "quicklist.h"
#include "rng.h"

#define REQUIRE(x)                                                           \
    do {                                                                     \
        if (!(x)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #x);         \
    } while (0)

static uint64_t rng_state = 0x2545F4914F6CDD1DULL;
static uint64_t rnd(void)
{
    return rng_step(&rng_state);
}

typedef struct mstr {
    char *p;
    size_t n;
} mstr_t;

typedef struct model {
    mstr_t *a;
    size_t n, cap;
} model_t;

static void m_insert(model_t *m, size_t at, const char *s, size_t n)
{
    if (m->n == m->cap) {
        m->cap = m->cap ? m->cap * 2 : 64;
        m->a = ts_realloc(m->a, m->cap * sizeof(*m->a));
    }
    memmove(m->a + at + 1, m->a + at, (m->n - at) * sizeof(*m->a));
    m->a[at].p = ts_strndup(s, n);
    m->a[at].n = n;
    m->n++;
}

static void m_delete(model_t *m, size_t at, size_t num)
{
    for (size_t i = at; i < at + num; i++)
        ts_free(m->a[i].p);
    memmove(m->a + at, m->a + at + num, (m->n - at - num) * sizeof(*m->a));
    m->n -= num;
}

static size_t rand_value(char *buf)
{
    switch (rnd() % 6) {
    case 0: return (size_t)snprintf(buf, 32, "%lld", (long long)(rnd() % 100000));
    case 1: return (size_t)snprintf(buf, 32, "%lld", (long long)rnd());
    case 2: {
        size_t n = rnd() % 50 == 0 ? 5000 + rnd() % 9000 : rnd() % 300;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)('a' + rnd() % 26);
        return n;
    }
    default: {
        size_t n = rnd() % 10;
        for (size_t i = 0; i < n; i++)
            buf[i] = (char)('A' + rnd() % 4);
        return n;
    }
    }
}

static int entry_eq(const unsigned char *p, const mstr_t *s)
{
    unsigned char ibuf[LP_INTBUF_SIZE];
    uint32_t len;
    const unsigned char *v = lp_get_text(p, &len, ibuf);
    return len == s->n && memcmp(v, s->p, len) == 0;
}

static void check_structure(const quicklist_t *ql)
{
    unsigned long count = 0, len = 0;
    const ql_node_t *prev = NULL;
    for (const ql_node_t *n = ql->head; n; n = n->next) {
        REQUIRE(n->prev == prev);
        REQUIRE(n->count > 0);
        REQUIRE(n->count == lp_length(n->lp));
        REQUIRE(n->sz == lp_bytes(n->lp));
        REQUIRE(lp_validate(n->lp, n->sz, 1, NULL));
        REQUIRE(n->count == 1 || !ql_node_exceeds(ql->fill, n->sz, n->count));
        count += n->count;
        len++;
        prev = n;
    }
    REQUIRE(ql->tail == prev);
    REQUIRE(count == ql->count);
    REQUIRE(len == ql->len);
}

static void compare(const quicklist_t *ql, const model_t *m)
{
    check_structure(ql);
    REQUIRE(ql_count(ql) == m->n);
    ql_pos_t pos;
    size_t i = 0;
    if (ql_seek(ql, 0, &pos)) {
        do {
            REQUIRE(i < m->n && entry_eq(pos.p, &m->a[i]));
            i++;
        } while (ql_next(&pos));
    }
    REQUIRE(i == m->n);
    if (ql_seek(ql, -1, &pos)) {
        do {
            REQUIRE(i > 0 && entry_eq(pos.p, &m->a[i - 1]));
            i--;
        } while (ql_prev(&pos));
    }
    REQUIRE(i == 0);
    for (int k = 0; k < 4 && m->n; k++) {
        size_t idx = rnd() % m->n;
        REQUIRE(ql_seek(ql, (long)idx, &pos) && entry_eq(pos.p, &m->a[idx]));
        REQUIRE(ql_seek(ql, (long)idx - (long)m->n, &pos) &&
                entry_eq(pos.p, &m->a[idx]));
    }
    REQUIRE(!ql_seek(ql, (long)m->n, &pos));
    REQUIRE(!ql_seek(ql, -(long)m->n - 1, &pos));
}

static void run_model(int fill, int steps)
{
    static char buf[16384];
    model_t m = {0};
    quicklist_t *ql = ql_create(fill);

    for (int step = 0; step < steps; step++) {
        unsigned op = (unsigned)(rnd() % 12);
        size_t len = rand_value(buf);
        if (m.n == 0 && op >= 2) op = op % 2;
        if (m.n > 3000 && op < 4) op = 8;
        ql_pos_t pos;
        switch (op) {
        case 0:
            ql_push(ql, QL_HEAD, buf, (uint32_t)len);
            m_insert(&m, 0, buf, len);
            break;
        case 1:
            ql_push(ql, QL_TAIL, buf, (uint32_t)len);
            m_insert(&m, m.n, buf, len);
            break;
        case 2:
        case 3: {
            size_t idx = rnd() % m.n;
            REQUIRE(ql_seek(ql, (long)idx, &pos));
            int after = op == 3;
            ql_insert_at(ql, &pos, after, buf, (uint32_t)len);
            m_insert(&m, idx + (size_t)after, buf, len);
            break;
        }
        case 4:
        case 5: {
            size_t idx = rnd() % m.n;
            REQUIRE(ql_seek(ql, (long)idx, &pos));
            ql_replace_at(ql, &pos, buf, (uint32_t)len);
            m_delete(&m, idx, 1);
            m_insert(&m, idx, buf, len);
            break;
        }
        case 6:
        case 7: { /* delete a run, moving in either direction */
            size_t idx = rnd() % m.n;
            int dir = op == 6 ? QL_TAIL : QL_HEAD;
            size_t run = 1 + rnd() % 4;
            REQUIRE(ql_seek(ql, (long)idx, &pos));
            for (size_t k = 0; k < run && pos.p; k++) {
                ql_delete_at(ql, &pos, dir);
                m_delete(&m, idx, 1);
                if (dir == QL_TAIL) {
                    REQUIRE(pos.p ? idx < m.n && entry_eq(pos.p, &m.a[idx])
                                  : idx == m.n);
                } else {
                    REQUIRE(pos.p ? idx > 0 && entry_eq(pos.p, &m.a[idx - 1])
                                  : idx == 0);
                    if (idx) idx--;
                }
            }
            break;
        }
        case 8: {
            size_t idx = rnd() % m.n;
            size_t num = rnd() % 3 == 0 ? rnd() % (m.n + 5) : rnd() % 40;
            ql_delete_range(ql, (long)idx, num);
            if (num > m.n - idx) num = m.n - idx;
            m_delete(&m, idx, num);
            break;
        }
        case 9: { /* append a whole listpack */
            unsigned char *lp = lp_new(0);
            size_t k = rnd() % 300;
            for (size_t i = 0; i < k; i++) {
                size_t l = rand_value(buf);
                lp = lp_append(lp, buf, (uint32_t)l);
                m_insert(&m, m.n, buf, l);
            }
            ql_append_lp(ql, lp);
            break;
        }
        case 10: { /* duplicate and carry on with the copy */
            quicklist_t *c = ql_dup(ql);
            ql_free(ql);
            ql = c;
            break;
        }
        default: { /* small enough for one listpack? */
            unsigned char *lp = ql_to_lp_if_small(ql, fill);
            if (lp) {
                REQUIRE(lp_length(lp) == m.n);
                ql = ql_create(fill);
                ql_append_lp(ql, lp);
            }
            break;
        }
        }
        compare(ql, &m);
    }
    ql_free(ql);
    m_delete(&m, 0, m.n);
    ts_free(m.a);
}

START_TEST(test_model_fill)
{
    static const int fills[] = {-2, -1, -5, 1, 2, 5, 128, 0, -9, 100000};
    for (size_t i = 0; i < sizeof(fills) / sizeof(fills[0]); i++)
        run_model(fills[i], 3000);
}
END_TEST

START_TEST(test_node_limits)
{
    /* Redis 7.0: -2 means 8 KB listpacks; positive counts cap at 8 KB */
    ck_assert(!ql_node_exceeds(-2, 8192, 1000));
    ck_assert(ql_node_exceeds(-2, 8193, 1));
    ck_assert(!ql_node_exceeds(-5, 65536, 1));
    ck_assert(ql_node_exceeds(-5, 65537, 1));
    ck_assert(ql_node_exceeds(-100, 65537, 1));
    ck_assert(!ql_node_exceeds(-1, 4096, 1));
    ck_assert(ql_node_exceeds(-1, 4097, 1));
    ck_assert(!ql_node_exceeds(128, 100, 128));
    ck_assert(ql_node_exceeds(128, 100, 129));
    ck_assert(ql_node_exceeds(128, 8193, 2));

    /* 1000 short pushes with fill 128 make ceil(1000/128) nodes */
    quicklist_t *ql = ql_create(128);
    for (int i = 0; i < 1000; i++)
        ql_push(ql, QL_TAIL, "abc", 3);
    ck_assert_int_eq(ql->len, 8);
    ck_assert_int_eq(ql->head->count, 128);
    ql_free(ql);
}
END_TEST

static Suite *quicklist_suite(void)
{
    Suite *s = suite_create("quicklist");
    TCase *tc = tcase_create("quicklist");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_node_limits);
    tcase_add_test(tc, test_model_fill);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(quicklist_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
