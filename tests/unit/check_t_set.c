/*
 * check_t_set.c: the set commands (node/types/t_set.c), called directly
 * through t_set_cmds with a real keyspace.
 *
 * A model-based test: a naive model (per key, a bitmap over a small
 * universe of members: small and wide integers, non-canonical "07" and
 * words) and the real keyspace are driven by the same random SADD, SREM,
 * SMOVE, SPOP, S*STORE and SINTERCARD; after every step every key is
 * compared completely (existence, TYPE, SCARD, membership of each member
 * of the universe) and the encoding is checked against the rules (an
 * intset holds only canonical integers and at most set-max-intset-entries
 * of them, and is a valid Redis intset blob).  set-max-intset-entries is
 * small so that sets convert all the time; both encodings and the
 * conversions between them are exercised.  A few known answers
 * (redis-server 7.0.15 bytes) come first.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "cmdrun.h"
#include "db.h"
#include "intset.h"
#include "keyspace.h"
#include "node.h"
#include "reply.h"

/* ---- harness ---- */

static node_t node;
static buf_t out;
static reply_t rep;

static void setup(void)
{
    memset(&node, 0, sizeof(node));
    node.ks = ks_create(1);
    node.set_max_intset_entries = 512;
    buf_init(&out);
    reply_init(&rep, &out, 2);
}

static void teardown(void)
{
    ks_destroy(node.ks);
    buf_deinit(&out);
}

/* Run a command; the reply bytes stay in `out` until the next call. */
static const char *runv(int argc, const resp_arg_t *argv, size_t *len)
{
    return cmdrun_argv(&node, t_set_cmds, &rep, &out, 1700000000000LL, argc,
                       argv, len);
}

static const char *run(const char *line, size_t *len)
{
    static char tmp[1024];
    resp_arg_t argv[32];
    snprintf(tmp, sizeof(tmp), "%s", line);
    return runv(cmdrun_split(tmp, argv, 32), argv, len);
}

#define EXPECT(line, reply)                                                    \
    do {                                                                       \
        size_t n_;                                                             \
        const char *got_ = run(line, &n_);                                     \
        ck_assert_msg(n_ == sizeof(reply) - 1 && memcmp(got_, reply, n_) == 0, \
                      "%s: got '%s' want '%s'", line, got_, reply);            \
    } while (0)

static const char *encoding_of(const char *key)
{
    kentry_t *e = ks_find(node.ks, key, strlen(key));
    if (!e) return "none";
    return ke_enc(e) == KE_OBJ ? "intset" : "hashtable";
}

/* An intset value, embedded in its entry (small) or on the heap (large). */
static const intset_t *intset_of(const kentry_t *e)
{
    size_t len;
    if (!ke_is_blob(e)) return ke_obj(e);
    const intset_t *is = ke_blob(e, &len);
    ck_assert_uint_eq(len, intset_blob_len(is));
    return is;
}

/* ---- known answers (redis-server 7.0.15) ---- */

START_TEST(test_known_answers)
{
    EXPECT("SADD s 3 1 2", ":3\r\n");
    EXPECT("SMEMBERS s", "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n");
    ck_assert_str_eq(encoding_of("s"), "intset");
    EXPECT("SADD s a", ":1\r\n");
    ck_assert_str_eq(encoding_of("s"), "hashtable");
    EXPECT("SREM s a 1 2 3", ":4\r\n");
    ck_assert_str_eq(encoding_of("s"), "none");
    EXPECT("SPOP s", "$-1\r\n");
    EXPECT("SPOP s -1", "-ERR value is out of range, must be positive\r\n");
    EXPECT("SRANDMEMBER s 1 2", "-ERR syntax error\r\n");
    EXPECT("SINTERCARD 0 s", "-ERR numkeys should be greater than 0\r\n");
    EXPECT("SINTERCARD 2 s", "-ERR Number of keys can't be greater than "
                             "number of args\r\n");
    EXPECT("SSCAN s x", "-ERR invalid cursor\r\n");
    EXPECT("SSCAN s 0", "*2\r\n$1\r\n0\r\n*0\r\n");
    EXPECT("SADD s 5 -70000", ":2\r\n");
    EXPECT("SSCAN s 0 COUNT 1", "*2\r\n$1\r\n0\r\n*2\r\n$6\r\n-70000\r\n"
                                "$1\r\n5\r\n");
    /* the DUMP payload of this set from redis: 0b 10 <blob> 0a00 crc */
    kentry_t *e = ks_find(node.ks, "s", 1);
    ck_assert(ke_is_blob(e));
    const intset_t *is = intset_of(e);
    ck_assert_uint_eq(intset_blob_len(is), 16);
    ck_assert(memcmp(intset_blob(is),
                     "\x04\x00\x00\x00\x02\x00\x00\x00\x90\xee\xfe\xff"
                     "\x05\x00\x00\x00", 16) == 0);
}
END_TEST

/*
 * Small intsets live in their entry; one past SET_BLOB_MAX (8 KB) moves to
 * the heap and stays an intset; every change keeps the bytes valid, with
 * a TTL on the key throughout; SPOP's rebuild embeds the result again.
 */
START_TEST(test_embedded_and_heap_intsets)
{
    node.set_max_intset_entries = 5000;
    size_t n;
    char line[128];
    run("SADD big 1", &n);
    kentry_t *e = ks_find(node.ks, "big", 3);
    ck_assert(ke_is_blob(e));
    ks_set_expire(node.ks, e, 1800000000000LL);
    long long v = 5000000000LL;     /* 64-bit members: 8 bytes each */
    for (int i = 0; i < 1100; i++, v += 7) {
        snprintf(line, sizeof(line), "SADD big %lld %lld", v, -v);
        ck_assert_str_eq(run(line, &n), ":2\r\n");
        e = ks_find(node.ks, "big", 3);
        ck_assert_str_eq(encoding_of("big"), "intset");
        const intset_t *is = intset_of(e);
        ck_assert(intset_validate(intset_blob(is), intset_blob_len(is), 1));
        ck_assert_int_eq(ke_is_blob(e), intset_blob_len(is) <= 8192);
        ck_assert_int_eq(ke_expire(e), 1800000000000LL);
    }
    ck_assert(!ke_is_blob(e));
    ck_assert_str_eq(run("SCARD big", &n), ":2201\r\n");
    ck_assert_str_eq(run("SREM big 1 5000000000 -5000000000", &n), ":3\r\n");
    ck_assert_str_eq(run("SISMEMBER big 5000000007", &n), ":1\r\n");
    /* SPOP rebuild: few remain, the new set is embedded again */
    run("SPOP big 2190", &n);
    e = ks_find(node.ks, "big", 3);
    ck_assert_str_eq(run("SCARD big", &n), ":8\r\n");
    ck_assert(ke_is_blob(e));
    ck_assert_int_eq(ke_expire(e), 1800000000000LL);
    /* and a hashtable conversion from an embedded intset with a TTL */
    ck_assert_str_eq(run("SADD big x", &n), ":1\r\n");
    e = ks_find(node.ks, "big", 3);
    ck_assert(!ke_is_blob(e));
    ck_assert_str_eq(encoding_of("big"), "hashtable");
    ck_assert_int_eq(ke_expire(e), 1800000000000LL);
    ck_assert_str_eq(run("SCARD big", &n), ":9\r\n");
    /* SINTERSTORE of an intset into an existing key: embedded */
    run("SADD a 1 2 3", &n);
    ck_assert_str_eq(run("SINTERSTORE big a a", &n), ":3\r\n");
    ck_assert(ke_is_blob(ks_find(node.ks, "big", 3)));
    ck_assert_int_eq(ke_expire(ks_find(node.ks, "big", 3)), -1);
    /* SMOVE between embedded sets, the source emptied */
    ck_assert_str_eq(run("SMOVE a big 4", &n), ":0\r\n");
    run("SREM a 2 3", &n);
    ck_assert_str_eq(run("SMOVE a c 1", &n), ":1\r\n");
    ck_assert_ptr_null(ks_find(node.ks, "a", 1));
    ck_assert(ke_is_blob(ks_find(node.ks, "c", 1)));
}
END_TEST

/* ---- model ---- */

static const char *const universe[] = {
    "-3", "-2", "-1", "0",  "1",  "2",           "3",   "4",  "5",
    "6",  "7",  "8",  "9",  "10", "70000", "-5000000000", "07", "a",
    "b",  "cc",
};
#define NU ((int)(sizeof(universe) / sizeof(universe[0])))
#define NK 4
#define NINT 16 /* universe[0..NINT-1] are canonical integers */

static const char *const keys[NK] = {"k0", "k1", "k2", "k3"};
static unsigned model[NK]; /* bit i: universe[i] is a member */

static int popcount(unsigned v)
{
    int n = 0;
    for (; v; v &= v - 1)
        n++;
    return n;
}

static int member_index(const char *p, size_t len)
{
    for (int i = 0; i < NU; i++)
        if (strlen(universe[i]) == len && memcmp(universe[i], p, len) == 0)
            return i;
    return -1;
}

/* Members of a reply that is an array of bulks, as a bitmap. */
static unsigned parse_members(const char *p, size_t len, int *count)
{
    unsigned bits = 0;
    const char *end = p + len;
    ck_assert(*p == '*' || *p == '~');
    long n = strtol(p + 1, NULL, 10);
    p = strchr(p, '\n') + 1;
    for (long i = 0; i < n; i++) {
        ck_assert(p < end && *p == '$');
        long l = strtol(p + 1, NULL, 10);
        p = strchr(p, '\n') + 1;
        int idx = member_index(p, (size_t)l);
        ck_assert_int_ge(idx, 0);
        ck_assert(!(bits & (1u << idx)));
        bits |= 1u << idx;
        p += l + 2;
    }
    *count = (int)n;
    return bits;
}

static long long reply_integer(const char *p)
{
    if (*p != ':') ck_abort_msg("not an integer reply: %s", p);
    return strtoll(p + 1, NULL, 10);
}

static long long run_int(const char *line)
{
    size_t n;
    return reply_integer(run(line, &n));
}

#define REQ(c)                                                                 \
    do {                                                                       \
        if (!(c)) ck_abort_msg("%s:%d: %s", __FILE__, __LINE__, #c);           \
    } while (0)

static void check_key(int k, long long maxints)
{
    const char *key = keys[k];
    kentry_t *e = ks_find(node.ks, key, strlen(key));
    if (!model[k]) {
        REQ(e == NULL);
        return;
    }
    REQ(e != NULL && ke_type(e) == KT_SET);
    char line[128];
    snprintf(line, sizeof(line), "SCARD %s", key);
    REQ(run_int(line) == popcount(model[k]));
    for (int i = 0; i < NU; i++) {
        snprintf(line, sizeof(line), "SISMEMBER %s %s", key, universe[i]);
        REQ(run_int(line) == ((model[k] >> i) & 1));
    }
    int only_ints = (model[k] >> NINT) == 0;
    if (ke_enc(e) == KE_OBJ) {
        const intset_t *is = intset_of(e);
        REQ(only_ints && popcount(model[k]) <= maxints);
        REQ(intset_validate(intset_blob(is), intset_blob_len(is), 1));
    } else if (!only_ints || popcount(model[k]) > maxints) {
        REQ(ke_enc(e) == KE_OBJ + 1);
    }
}

static unsigned urand(unsigned n) { return (unsigned)random() % n; }

START_TEST(test_model)
{
    srandom(4242);
    long long limits[] = {4, 8, 512};
    for (int round = 0; round < 3; round++) {
        long long maxints = limits[round];
        node.set_max_intset_entries = maxints;
        ks_clear(node.ks);
        memset(model, 0, sizeof(model));
        for (int step = 0; step < 3000; step++) {
            char line[256];
            int k = (int)urand(NK), k2 = (int)urand(NK), k3 = (int)urand(NK);
            /* integers most of the time so that intsets live long */
            int pool = urand(10) < 8 ? NINT : NU;
            int m = (int)urand((unsigned)pool), m2 = (int)urand((unsigned)pool);
            size_t n;
            const char *rp;
            int cnt;
            unsigned want;
            switch (urand(9)) {
            case 0:
            case 1:
            case 2:
                snprintf(line, sizeof(line), "SADD %s %s %s", keys[k],
                         universe[m], universe[m2]);
                want = (1u << m) | (1u << m2);
                REQ(run_int(line) == popcount(want & ~model[k]));
                model[k] |= want;
                break;
            case 3:
                snprintf(line, sizeof(line), "SREM %s %s %s", keys[k],
                         universe[m], universe[m2]);
                want = (1u << m) | (1u << m2);
                REQ(run_int(line) == popcount(want & model[k]));
                model[k] &= ~want;
                break;
            case 4:
                snprintf(line, sizeof(line), "SMOVE %s %s %s", keys[k],
                         keys[k2], universe[m]);
                REQ(run_int(line) == ((model[k] >> m) & 1));
                if (k != k2 && ((model[k] >> m) & 1)) {
                    model[k] &= ~(1u << m);
                    model[k2] |= 1u << m;
                }
                break;
            case 5: {
                int c = (int)urand(8);
                snprintf(line, sizeof(line), "SPOP %s %d", keys[k], c);
                rp = run(line, &n);
                unsigned got = parse_members(rp, n, &cnt);
                int size = popcount(model[k]);
                REQ(cnt == (c < size ? c : size));
                REQ((got & ~model[k]) == 0);
                model[k] &= ~got;
                break;
            }
            case 6:
                snprintf(line, sizeof(line), "SINTERSTORE %s %s %s", keys[k3],
                         keys[k], keys[k2]);
                want = model[k] & model[k2];
                REQ(run_int(line) == popcount(want));
                model[k3] = want;
                break;
            case 7:
                if (urand(2)) {
                    snprintf(line, sizeof(line), "SUNIONSTORE %s %s %s",
                             keys[k3], keys[k], keys[k2]);
                    want = model[k] | model[k2];
                } else {
                    snprintf(line, sizeof(line), "SDIFFSTORE %s %s %s",
                             keys[k3], keys[k], keys[k2]);
                    want = model[k] & ~model[k2];
                }
                REQ(run_int(line) == popcount(want));
                model[k3] = want;
                break;
            default: {
                int lim = (int)urand(4);
                snprintf(line, sizeof(line), "SINTERCARD 2 %s %s LIMIT %d",
                         keys[k], keys[k2], lim);
                int inter = popcount(model[k] & model[k2]);
                REQ(run_int(line) == (lim && inter > lim ? lim : inter));
                /* and the members themselves */
                snprintf(line, sizeof(line), "SINTER %s %s", keys[k],
                         keys[k2]);
                rp = run(line, &n);
                REQ(parse_members(rp, n, &cnt) == (model[k] & model[k2]));
                break;
            }
            }
            for (int j = 0; j < NK; j++)
                check_key(j, maxints);
        }
    }
}
END_TEST

static Suite *t_set_suite(void)
{
    Suite *s = suite_create("t_set");
    TCase *tc = tcase_create("known_answers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_known_answers);
    tcase_add_test(tc, test_embedded_and_heap_intsets);
    suite_add_tcase(s, tc);
    tc = tcase_create("model");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_model);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    cmdtab_setup();
    t_set_setup();
    SRunner *sr = srunner_create(t_set_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
