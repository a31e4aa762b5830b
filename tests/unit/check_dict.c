/*
 * check_dict.c: the hash table of large hashes, sets and sorted sets
 * (node/types/dict.c).
 *
 * Model-based: the dict and a naive model (an array over a fixed universe
 * of keys: present?, value bytes, aux) are driven by the same random
 * operations (set with values of changing sizes so entries move, add,
 * delete, aux writes, finds, random entries, full SCANs, safe iteration
 * that deletes as it goes, expand) and compared after every step (size,
 * a sampled lookup) and regularly in full (every key, a full iteration,
 * memory: ts_used_memory() must move by exactly dict_mem()).  Small and
 * large universes make the table grow and shrink through many rehashes.
 *
 * Then the SCAN guarantee: every key present for a whole scan is returned
 * at least once while the table grows or shrinks between steps; the
 * distribution of dict_random; and bytes per entry.
 */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "dict.h"
#include "hash.h"
#include "rng.h"

#define REQUIRE(x)                                                           \
    do {                                                                     \
        if (!(x)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #x);         \
    } while (0)
#define REQ_EQ(a, b)                                                         \
    do {                                                                     \
        long long a_ = (long long)(a), b_ = (long long)(b);                  \
        if (a_ != b_)                                                        \
            ck_abort_msg("%s:%d: %s == %s (%lld vs %lld)", __FILE__,         \
                         __LINE__, #a, #b, a_, b_);                          \
    } while (0)

static uint64_t rng_state;

static uint64_t rnd(void) { return rng_step(&rng_state); }

static size_t rnd_below(size_t n) { return (size_t)(rnd() % n); }

static void seed(uint64_t s)
{
    rng_state = s ? s : 1;
    uint8_t k[16];
    for (int i = 0; i < 16; i++) k[i] = (uint8_t)(i * 7 + 1);
    hash_set_seed(k);
}

/* ---- the model ---- */

#define VMAX 64

typedef struct mkey {
    char key[32];
    size_t klen;
    int present;
    char val[VMAX];
    size_t vlen;
    double aux;
    int seen;           /* scratch for iteration / scan checks */
} mkey_t;

typedef struct model {
    mkey_t *k;
    size_t n, count;
    size_t *idx;        /* open addressing over k, for model_of */
    size_t icap;
} model_t;

static size_t mhash(const char *k, size_t klen)
{
    size_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < klen; i++) h = (h ^ (unsigned char)k[i]) * 1099511628211ULL;
    return h;
}

static void model_init(model_t *m, size_t n)
{
    m->k = calloc(n, sizeof(*m->k));
    m->n = n;
    m->count = 0;
    for (size_t i = 0; i < n; i++) {
        /* some keys share prefixes, some are empty or binary */
        if (i == 0) {
            m->k[i].klen = 0;
        } else if (i % 17 == 0) {
            m->k[i].klen = 4;
            memcpy(m->k[i].key, "\0b\0", 3);
            m->k[i].key[3] = (char)i;
            m->k[i].klen = (size_t)snprintf(m->k[i].key + 4, 28, "%zu", i) + 4;
        } else {
            m->k[i].klen = (size_t)snprintf(m->k[i].key, 32, "field:%zu", i);
        }
    }
    m->icap = 1;
    while (m->icap < n * 2) m->icap *= 2;
    m->idx = malloc(m->icap * sizeof(size_t));
    for (size_t i = 0; i < m->icap; i++) m->idx[i] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        size_t h = mhash(m->k[i].key, m->k[i].klen) & (m->icap - 1);
        while (m->idx[h] != SIZE_MAX) h = (h + 1) & (m->icap - 1);
        m->idx[h] = i;
    }
}

static void model_free(model_t *m)
{
    free(m->k);
    free(m->idx);
}

static mkey_t *model_of(model_t *m, const char *k, size_t klen)
{
    size_t h = mhash(k, klen) & (m->icap - 1);
    for (; m->idx[h] != SIZE_MAX; h = (h + 1) & (m->icap - 1)) {
        mkey_t *mk = &m->k[m->idx[h]];
        if (mk->klen == klen && memcmp(mk->key, k, klen) == 0) return mk;
    }
    return NULL;
}

static void check_key(dict_t *d, const mkey_t *mk)
{
    dict_entry_t *e = dict_find(d, mk->key, mk->klen);
    if (!mk->present) {
        REQUIRE(e == NULL);
        return;
    }
    REQUIRE(e != NULL);
    size_t kl, vl;
    const char *k = dict_key(e, &kl);
    REQ_EQ(kl, mk->klen);
    REQUIRE(memcmp(k, mk->key, kl) == 0);
    const char *v = dict_val(e, &vl);
    REQ_EQ(vl, mk->vlen);
    REQUIRE(vl == 0 || memcmp(v, mk->val, vl) == 0);
    REQUIRE(dict_aux_double(e) == mk->aux);
}

static void check_all(dict_t *d, model_t *m, size_t mem_before)
{
    REQ_EQ(dict_size(d), m->count);
    for (size_t i = 0; i < m->n; i++) check_key(d, &m->k[i]);

    for (size_t i = 0; i < m->n; i++) m->k[i].seen = 0;
    dict_iter_t it;
    dict_iter_init(d, &it);
    size_t n = 0;
    for (dict_entry_t *e; (e = dict_iter_next(&it));) {
        size_t kl;
        const char *k = dict_key(e, &kl);
        mkey_t *mk = model_of(m, k, kl);
        REQUIRE(mk && mk->present && !mk->seen);
        mk->seen = 1;
        n++;
    }
    dict_iter_done(&it);
    REQ_EQ(n, m->count);
    REQ_EQ(ts_used_memory() - mem_before, dict_mem(d));
}

static void scan_mark(void *arg, dict_entry_t *e)
{
    model_t *m = arg;
    size_t kl;
    const char *k = dict_key(e, &kl);
    mkey_t *mk = model_of(m, k, kl);
    REQUIRE(mk && mk->present);
    mk->seen++;
}

static void full_scan(dict_t *d, model_t *m)
{
    for (size_t i = 0; i < m->n; i++) m->k[i].seen = 0;
    uint64_t c = 0;
    do {
        c = dict_scan(d, c, scan_mark, m);
    } while (c);
    for (size_t i = 0; i < m->n; i++)
        REQUIRE(!m->k[i].present || m->k[i].seen > 0);
}

static void run_model(size_t universe, unsigned steps, uint64_t s)
{
    seed(s);
    model_t m;
    model_init(&m, universe);
    size_t mem0 = ts_used_memory();
    dict_t *d = dict_create();
    /* phases bias towards growth or shrinking */
    for (unsigned st = 0; st < steps; st++) {
        int grow = (st / (steps / 8 + 1)) % 2 == 0;
        mkey_t *mk = &m.k[rnd_below(universe)];
        unsigned op = (unsigned)rnd_below(100);
        int added;
        if (op < (grow ? 45u : 20u)) {              /* set */
            size_t vl = rnd_below(4) == 0 ? 0 : rnd_below(VMAX);
            char v[VMAX];
            for (size_t i = 0; i < vl; i++) v[i] = (char)rnd();
            dict_entry_t *e = dict_set(d, mk->key, mk->klen, v, vl, &added);
            REQ_EQ(added, !mk->present);
            if (added) {
                mk->aux = 0;
                REQUIRE(dict_aux_double(e) == 0);
            }
            mk->present = 1;
            memcpy(mk->val, v, vl);
            mk->vlen = vl;
            if (added) m.count++;
        } else if (op < (grow ? 55u : 30u)) {       /* add */
            dict_entry_t *e = dict_add(d, mk->key, mk->klen, &added);
            REQ_EQ(added, !mk->present);
            if (added) {
                mk->present = 1;
                mk->vlen = 0;
                mk->aux = 0;
                m.count++;
            }
            double a = (double)(int64_t)rnd() / 7.0;
            dict_set_aux_double(e, a);
            mk->aux = a;
        } else if (op < 75) {                       /* delete */
            void *aux = (void *)1;
            int r = dict_delete(d, mk->key, mk->klen, &aux);
            REQ_EQ(r, mk->present);
            if (r) {
                double a;
                memcpy(&a, &aux, sizeof(a));
                REQUIRE(a == mk->aux);
                mk->present = 0;
                m.count--;
            }
        } else if (op < 90) {                       /* find */
            check_key(d, mk);
        } else if (op < 94) {                       /* random */
            dict_entry_t *e = dict_random(d, rnd);
            if (!m.count) {
                REQUIRE(e == NULL);
            } else {
                size_t kl;
                const char *k = dict_key(e, &kl);
                mkey_t *x = model_of(&m, k, kl);
                REQUIRE(x && x->present);
            }
        } else if (op < 96) {                       /* iterate, deleting */
            dict_iter_t it;
            dict_iter_init(d, &it);
            for (dict_entry_t *e; (e = dict_iter_next(&it));) {
                if (rnd_below(8)) continue;
                size_t kl;
                const char *k = dict_key(e, &kl);
                mkey_t *x = model_of(&m, k, kl);
                REQUIRE(x && x->present);
                REQ_EQ(dict_delete(d, x->key, x->klen, NULL), 1);
                x->present = 0;
                m.count--;
            }
            dict_iter_done(&it);
        } else if (op < 97) {
            full_scan(d, &m);
        } else if (op < 98) {
            dict_expand(d, m.count + rnd_below(universe));
        } else {
            check_key(d, &m.k[rnd_below(universe)]);
        }
        REQ_EQ(dict_size(d), m.count);
        if (st % 997 == 0) check_all(d, &m, mem0);
    }
    check_all(d, &m, mem0);
    full_scan(d, &m);
    dict_destroy(d, NULL);
    REQ_EQ(ts_used_memory(), mem0);
    model_free(&m);
}

START_TEST(test_model_small) { run_model(40, 200000, 11); }
END_TEST

START_TEST(test_model_large) { run_model(3000, 300000, 12); }
END_TEST

/* ---- SCAN guarantee ---- */

static void scan_across(size_t start, size_t end, uint64_t s)
{
    seed(s);
    size_t universe = start > end ? start : end;
    model_t m;
    model_init(&m, universe + 1);
    dict_t *d = dict_create();
    for (size_t i = 1; i <= start; i++) {
        int added;
        dict_set(d, m.k[i].key, m.k[i].klen, "v", 1, &added);
        m.k[i].present = 1;
        m.count++;
    }
    for (size_t i = 0; i <= universe; i++) m.k[i].seen = 0;
    /* keys that are present for the whole scan */
    size_t lo = 1, hi = start < end ? start : end;
    uint64_t c = 0;
    size_t next = start < end ? start + 1 : start;
    do {
        c = dict_scan(d, c, scan_mark, &m);
        for (int j = 0; j < 7; j++) {
            int added;
            if (start < end && next <= end) {
                dict_set(d, m.k[next].key, m.k[next].klen, "w", 1, &added);
                m.k[next].present = 1;
                next++;
            } else if (start > end && next > end) {
                REQ_EQ(dict_delete(d, m.k[next].key, m.k[next].klen, NULL), 1);
                m.k[next].present = 0;
                next--;
            }
        }
    } while (c);
    for (size_t i = lo; i <= hi; i++) REQUIRE(m.k[i].seen > 0);
    dict_destroy(d, NULL);
    model_free(&m);
}

START_TEST(test_scan_growing)
{
    scan_across(10, 5000, 21);
    scan_across(100, 20000, 22);
    scan_across(1, 3000, 23);
}
END_TEST

START_TEST(test_scan_shrinking)
{
    scan_across(5000, 10, 31);
    scan_across(20000, 100, 32);
    scan_across(3000, 1, 33);
}
END_TEST

START_TEST(test_scan_empty)
{
    dict_t *d = dict_create();
    REQ_EQ(dict_scan(d, 0, scan_mark, NULL), 0);
    REQUIRE(dict_random(d, rnd) == NULL);
    dict_iter_t it;
    dict_iter_init(d, &it);
    REQUIRE(dict_iter_next(&it) == NULL);
    dict_iter_done(&it);
    dict_destroy(d, NULL);
}
END_TEST

/* ---- random ---- */

START_TEST(test_random_uniform)
{
    seed(41);
    enum { N = 200, DRAWS = 400000 };
    char k[16];
    dict_t *d = dict_create();
    int added;
    for (int i = 0; i < N; i++) {
        size_t kl = (size_t)snprintf(k, sizeof(k), "m%d", i);
        dict_entry_t *e = dict_add(d, k, kl, &added);
        dict_set_aux_double(e, i);
    }
    static int counts[N];
    for (int i = 0; i < DRAWS; i++)
        counts[(int)dict_aux_double(dict_random(d, rnd))]++;
    double exp = (double)DRAWS / N;
    for (int i = 0; i < N; i++) {
        REQUIRE(counts[i] > exp * 0.8);
        REQUIRE(counts[i] < exp * 1.2);
    }
    dict_destroy(d, NULL);
}
END_TEST

/* ---- aux pointers and destroy ---- */

static int freed;
static void count_free(void *p)
{
    freed++;
    ts_free(p);
}

START_TEST(test_aux_free)
{
    size_t mem0 = ts_used_memory();
    dict_t *d = dict_create();
    int added;
    for (int i = 0; i < 100; i++) {
        char k[8];
        size_t kl = (size_t)snprintf(k, sizeof(k), "%d", i);
        dict_entry_t *e = dict_add(d, k, kl, &added);
        dict_set_aux(e, ts_malloc(10));
    }
    void *aux = NULL;
    REQ_EQ(dict_delete(d, "5", 1, &aux), 1);
    REQUIRE(aux != NULL);
    ts_free(aux);
    freed = 0;
    dict_destroy(d, count_free);
    REQ_EQ(freed, 99);
    REQ_EQ(ts_used_memory(), mem0);
}
END_TEST

/* ---- memory ---- */

START_TEST(test_bytes_per_entry)
{
    /* "field:0000".."field:9999" with 8-byte values: 48-byte entries plus
     * 16384 buckets of 8 bytes. */
    size_t mem0 = ts_used_memory();
    dict_t *d = dict_create();
    int added;
    for (int i = 0; i < 10000; i++) {
        char k[16];
        size_t kl = (size_t)snprintf(k, sizeof(k), "field:%04d", i);
        dict_set(d, k, kl, "12345678", 8, &added);
    }
    for (int i = 0; i < 10000; i++) dict_find(d, "x", 1);   /* finish rehash */
    size_t per = (ts_used_memory() - mem0) / 10000;
    REQUIRE(per <= 48 + 14);
    dict_destroy(d, NULL);
}
END_TEST

static Suite *dict_suite(void)
{
    Suite *s = suite_create("dict");
    TCase *tc = tcase_create("model");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_model_small);
    tcase_add_test(tc, test_model_large);
    suite_add_tcase(s, tc);
    tc = tcase_create("scan");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_scan_growing);
    tcase_add_test(tc, test_scan_shrinking);
    tcase_add_test(tc, test_scan_empty);
    suite_add_tcase(s, tc);
    tc = tcase_create("misc");
    tcase_add_test(tc, test_random_uniform);
    tcase_add_test(tc, test_aux_free);
    tcase_add_test(tc, test_bytes_per_entry);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(dict_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
