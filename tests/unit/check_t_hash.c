/*
 * check_t_hash.c: the hash type (node/types/t_hash.c), through its command
 * handlers with a stand-in context (no sockets).
 *
 * Model-based: HSET / HSETNX / HDEL / HINCRBY / HINCRBYFLOAT / HGET /
 * HSTRLEN / HEXISTS on a few keys, driven by the same random operations
 * against a naive model (per key: an array of fields with values), and
 * compared after every step (the reply, HLEN, the encoding) and regularly
 * in full (HGETALL, a complete HSCAN with small COUNT).  Three threshold
 * settings: hashes that stay listpacks, that convert midway (by entries
 * and by value length), and that are hashtables from the first field.
 * The model knows when a conversion must have happened (more than
 * hash-max-listpack-entries fields or a field/value longer than
 * hash-max-listpack-value ever written) and that it never goes back.
 * Memory: after deleting every key, used memory is back where it started.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "cmd.h"
#include "cmdrun.h"
#include "db.h"
#include "keyspace.h"
#include "node.h"
#include "reply.h"
#include "rng.h"

#define REQUIRE(x)                                                           \
    do {                                                                     \
        if (!(x)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #x);         \
    } while (0)

static node_t node;
static buf_t out;
static reply_t rep;

static void setup(void)
{
    memset(&node, 0, sizeof(node));
    node.ks = ks_create(1);
    node.proto_max_bulk_len = 512LL * 1024 * 1024;
    node.hash_max_listpack_entries = 512;
    node.hash_max_listpack_value = 64;
    t_hash_setup();
    buf_init(&out);
    reply_init(&rep, &out, 2);
}

static void teardown(void)
{
    ks_destroy(node.ks);
    buf_deinit(&out);
}

/* Run argv; the reply is in `out` (NUL-terminated, returned). */
static const char *runv(int argc, const resp_arg_t *argv)
{
    return cmdrun_argv(&node, t_hash_cmds, &rep, &out, 1700000000000LL, argc,
                       argv, NULL);
}

/* ---- tiny RESP2 reader over the reply ---- */

typedef struct rd {
    const char *p;
} rd_t;

static long long rd_num(rd_t *r, char type)
{
    ck_assert_msg(*r->p == type, "want '%c' got '%.40s'", type, r->p);
    char *end;
    long long v = strtoll(r->p + 1, &end, 10);
    REQUIRE(end[0] == '\r' && end[1] == '\n');
    r->p = end + 2;
    return v;
}

/* A bulk string: returns its bytes and length, NULL for a null bulk. */
static const char *rd_bulk(rd_t *r, size_t *len)
{
    long long n = rd_num(r, '$');
    *len = 0;
    if (n < 0) return NULL;
    const char *s = r->p;
    r->p += n + 2;
    *len = (size_t)n;
    return s;
}

/* ---- the model ---- */

#define NKEYS 3
#define NFIELDS 40
#define VMAX 80

typedef struct mfield {
    int present;
    char v[VMAX + 32];
    size_t vlen;
} mfield_t;

typedef struct mhash {
    mfield_t f[NFIELDS];
    size_t count;
    int must_ht;        /* a conversion must have happened */
} mhash_t;

static mhash_t model[NKEYS];
static uint64_t rs;

static uint64_t rnd(void) { return rng_step(&rs); }

static const char *key_name(int k)
{
    static const char *names[NKEYS] = {"h0", "h1", "h2"};
    return names[k];
}

static size_t field_name(int f, char *buf)
{
    if (f == 0) return 0;                               /* empty field */
    if (f % 5 == 0) return (size_t)sprintf(buf, "%d", f * 7);   /* integer */
    if (f == 7) {
        memset(buf, 'L', 70);                           /* long field */
        return 70;
    }
    return (size_t)sprintf(buf, "field:%d", f);
}

static size_t rand_value(char *v)
{
    switch (rnd() % 5) {
    case 0: return (size_t)sprintf(v, "%lld", (long long)(rnd() % 2001) - 1000);
    case 1: {
        size_t n = (size_t)(rnd() % (VMAX + 1));
        memset(v, 'x', n);
        return n;
    }
    case 2: return (size_t)sprintf(v, "%d.5", (int)(rnd() % 100));
    default: return (size_t)sprintf(v, "val%d", (int)(rnd() % 1000));
    }
}

static void note_write(mhash_t *m, size_t flen, size_t vlen)
{
    if ((long long)flen > node.hash_max_listpack_value ||
        (long long)vlen > node.hash_max_listpack_value ||
        (long long)m->count > node.hash_max_listpack_entries)
        m->must_ht = 1;
}

static int is_canonical_ll(const char *s, size_t n, long long *res)
{
    char buf[32];
    if (n == 0 || n > 20) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *end;
    long long v = strtoll(buf, &end, 10);
    if (*end) return 0;
    char back[32];
    if ((size_t)sprintf(back, "%lld", v) != n || memcmp(back, s, n)) return 0;
    *res = v;
    return 1;
}

static void check_encoding(int k)
{
    kentry_t *e = ks_find(node.ks, key_name(k), 2);
    if (model[k].count == 0) {
        REQUIRE(e == NULL);
        return;
    }
    REQUIRE(e != NULL && ke_type(e) == KT_HASH);
    if (model[k].must_ht) REQUIRE(ke_enc(e) == KE_OBJ + 1);
    /* a listpack only turns into a hashtable for a reason */
    if (ke_enc(e) == KE_OBJ + 1) REQUIRE(model[k].must_ht);
}

static void check_full(int k)
{
    resp_arg_t a[2] = {{"HGETALL", 7}, {key_name(k), 2}};
    rd_t r = {runv(2, a)};
    long long n = rd_num(&r, '*');
    REQUIRE(n == (long long)model[k].count * 2);
    int seen[NFIELDS] = {0};
    for (long long i = 0; i < n / 2; i++) {
        size_t fl, vl;
        const char *f = rd_bulk(&r, &fl);
        const char *v = rd_bulk(&r, &vl);
        int found = -1;
        for (int j = 0; j < NFIELDS; j++) {
            char nb[80];
            size_t nl = field_name(j, nb);
            if (nl == fl && memcmp(nb, f, fl) == 0) found = j;
        }
        REQUIRE(found >= 0 && model[k].f[found].present && !seen[found]);
        seen[found] = 1;
        REQUIRE(vl == model[k].f[found].vlen &&
                memcmp(v, model[k].f[found].v, vl) == 0);
    }

    /* a complete HSCAN returns every field (at least once) */
    int scanned[NFIELDS] = {0};
    char cur[24] = "0";
    do {
        resp_arg_t s[5] = {{"HSCAN", 5}, {key_name(k), 2}, {cur, strlen(cur)},
                           {"COUNT", 5}, {"2", 1}};
        rd_t sr = {runv(5, s)};
        REQUIRE(rd_num(&sr, '*') == 2);
        size_t cl;
        const char *c = rd_bulk(&sr, &cl);
        REQUIRE(c && cl < sizeof(cur));
        memcpy(cur, c, cl);
        cur[cl] = '\0';
        long long m = rd_num(&sr, '*');
        for (long long i = 0; i < m / 2; i++) {
            size_t fl, vl;
            const char *f = rd_bulk(&sr, &fl);
            rd_bulk(&sr, &vl);
            for (int j = 0; j < NFIELDS; j++) {
                char nb[80];
                size_t nl = field_name(j, nb);
                if (nl == fl && memcmp(nb, f, fl) == 0) scanned[j] = 1;
            }
        }
    } while (strcmp(cur, "0") != 0);
    for (int j = 0; j < NFIELDS; j++)
        REQUIRE(scanned[j] == model[k].f[j].present);
}

static void step(void)
{
    int k = (int)(rnd() % NKEYS);
    int fi = (int)(rnd() % NFIELDS);
    mhash_t *m = &model[k];
    mfield_t *mf = &m->f[fi];
    char fname[80], v[VMAX + 32];
    size_t fl = field_name(fi, fname), vl;
    resp_arg_t a[4] = {{NULL, 0}, {key_name(k), 2}, {fname, fl}, {v, 0}};
    unsigned op = (unsigned)(rnd() % 100);

    if (op < 35) {
        vl = rand_value(v);
        a[0] = (resp_arg_t){"HSET", 4};
        a[3].len = vl;
        rd_t r = {runv(4, a)};
        REQUIRE(rd_num(&r, ':') == !mf->present);
        if (!mf->present) m->count++;
        mf->present = 1;
        memcpy(mf->v, v, vl);
        mf->vlen = vl;
        note_write(m, fl, vl);
    } else if (op < 45) {
        vl = rand_value(v);
        a[0] = (resp_arg_t){"HSETNX", 6};
        a[3].len = vl;
        rd_t r = {runv(4, a)};
        REQUIRE(rd_num(&r, ':') == !mf->present);
        if (!mf->present) {
            m->count++;
            mf->present = 1;
            memcpy(mf->v, v, vl);
            mf->vlen = vl;
            note_write(m, fl, vl);
        }
    } else if (op < 65) {
        a[0] = (resp_arg_t){"HDEL", 4};
        rd_t r = {runv(3, a)};
        REQUIRE(rd_num(&r, ':') == mf->present);
        if (mf->present) {
            mf->present = 0;
            if (--m->count == 0) m->must_ht = 0;    /* key deleted */
        }
    } else if (op < 72) {
        a[0] = (resp_arg_t){"HINCRBY", 7};
        a[3] = (resp_arg_t){"3", 1};
        const char *got = runv(4, a);
        long long old = 0;
        if (mf->present && !is_canonical_ll(mf->v, mf->vlen, &old)) {
            REQUIRE(strcmp(got, "-ERR hash value is not an integer\r\n") == 0);
        } else {
            rd_t r = {got};
            REQUIRE(rd_num(&r, ':') == old + 3);
            if (!mf->present) m->count++;
            mf->present = 1;
            mf->vlen = (size_t)sprintf(mf->v, "%lld", old + 3);
            note_write(m, fl, mf->vlen);
        }
    } else if (op < 76) {
        a[0] = (resp_arg_t){"HINCRBYFLOAT", 12};
        a[3] = (resp_arg_t){"0.25", 4};
        const char *got = runv(4, a);
        if (got[0] == '-') {
            REQUIRE(mf->present);
            REQUIRE(strcmp(got, "-ERR hash value is not a float\r\n") == 0);
        } else {
            rd_t r = {got};
            const char *nv = rd_bulk(&r, &vl);
            REQUIRE(nv && vl < sizeof(mf->v));
            if (mf->present) {
                char tmp[VMAX + 32];
                memcpy(tmp, mf->v, mf->vlen);
                tmp[mf->vlen] = '\0';
                char nb[VMAX + 32];
                memcpy(nb, nv, vl);
                nb[vl] = '\0';
                REQUIRE(strtold(nb, NULL) == strtold(tmp, NULL) + 0.25L);
            }
            if (!mf->present) m->count++;
            mf->present = 1;
            memcpy(mf->v, nv, vl);
            mf->vlen = vl;
            note_write(m, fl, vl);
        }
    } else if (op < 88) {
        a[0] = (resp_arg_t){"HGET", 4};
        rd_t r = {runv(3, a)};
        const char *got = rd_bulk(&r, &vl);
        if (!mf->present) {
            REQUIRE(got == NULL);
        } else {
            REQUIRE(got && vl == mf->vlen && memcmp(got, mf->v, vl) == 0);
        }
    } else if (op < 94) {
        a[0] = (resp_arg_t){"HSTRLEN", 7};
        rd_t r = {runv(3, a)};
        REQUIRE(rd_num(&r, ':') == (long long)(mf->present ? mf->vlen : 0));
    } else {
        a[0] = (resp_arg_t){"HEXISTS", 7};
        rd_t r = {runv(3, a)};
        REQUIRE(rd_num(&r, ':') == mf->present);
    }

    resp_arg_t l[2] = {{"HLEN", 4}, {key_name(k), 2}};
    rd_t r = {runv(2, l)};
    REQUIRE(rd_num(&r, ':') == (long long)m->count);
    check_encoding(k);
}

static void run_model(long long entries, long long value, unsigned steps,
                      uint64_t seed)
{
    size_t mem0 = ts_used_memory() - buf_alloc_size(&out);
    node.hash_max_listpack_entries = entries;
    node.hash_max_listpack_value = value;
    memset(model, 0, sizeof(model));
    rs = seed;
    for (unsigned s = 0; s < steps; s++) {
        step();
        if (s % 200 == 0)
            for (int k = 0; k < NKEYS; k++) check_full(k);
    }
    for (int k = 0; k < NKEYS; k++) check_full(k);
    ks_clear(node.ks);
    /* everything but the reply buffer, which grew meanwhile */
    REQUIRE(ts_used_memory() - buf_alloc_size(&out) == mem0);
}

/* Default thresholds: listpacks, except keys that saw a long field/value. */
START_TEST(test_model_default) { run_model(512, 64, 60000, 7); }
END_TEST

/* Conversions by count and by length happen regularly. */
START_TEST(test_model_converting) { run_model(12, 40, 60000, 8); }
END_TEST

/* Hashtables from the first field. */
START_TEST(test_model_hashtable) { run_model(0, 64, 60000, 9); }
END_TEST

/* Listpacks only (no length or count reaches the limits). */
START_TEST(test_model_listpack) { run_model(1000, 1000, 60000, 10); }
END_TEST

static Suite *t_hash_suite(void)
{
    Suite *s = suite_create("t_hash");
    TCase *tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_model_default);
    tcase_add_test(tc, test_model_converting);
    tcase_add_test(tc, test_model_hashtable);
    tcase_add_test(tc, test_model_listpack);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    cmdtab_setup();
    SRunner *sr = srunner_create(t_hash_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
