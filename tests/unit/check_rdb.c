/*
 * check_rdb.c: RDB images and DUMP payloads (node/persist/rdb.c,
 * rdb_load.c) in memory, without sockets or files.
 *
 * A keyspace holding every type in every encoding (integers and strings
 * of each RDB string encoding, LZF-sized strings, listpack and quicklist
 * lists, listpack and hashtable hashes, embedded and heap intsets and
 * hashtable sets, listpack and skiplist sorted sets, TTLs) is saved,
 * loaded into another node and compared key by key.  Then the image is
 * truncated at every length (every load must fail, leaving the keyspace
 * empty), and bytes are flipped one at a time (with the checksum on every
 * flip must be refused; with it off, loads may succeed or fail but never
 * crash: the ASan build checks the reads).  Known bytes: the header and
 * the DUMP of a small string are what Redis 7.0.15 writes.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cmd.h"
#include "crc64.h"
#include "dict.h"
#include "evict.h"
#include "intset.h"
#include "cpack.h"
#include "keyspace.h"
#include "listpack.h"
#include "node.h"
#include "quicklist.h"
#include "rdb.h"
#include "t_zset.h"

typedef struct img {
    unsigned char *p;
    size_t len, cap;
} img_t;

static int img_write(void *arg, const void *buf, size_t len)
{
    img_t *m = arg;
    if (m->len + len > m->cap) {
        m->cap = (m->len + len) * 2;
        m->p = realloc(m->p, m->cap);
    }
    memcpy(m->p + m->len, buf, len);
    m->len += len;
    return 0;
}

typedef struct rd {
    const unsigned char *p;
    size_t left;
} rd_t;

static int img_read(void *arg, void *buf, size_t len)
{
    rd_t *r = arg;
    if (len > r->left) return -1;
    memcpy(buf, r->p, len);
    r->p += len;
    r->left -= len;
    return 0;
}

static void node_init(node_t *n)
{
    memset(n, 0, sizeof(*n));
    n->ks = ks_create(1);
    n->rdbcompression = 1;
    n->rdbchecksum = 1;
    n->hash_max_listpack_entries = 128;
    n->hash_max_listpack_value = 64;
    n->zset_max_listpack_entries = 128;
    n->zset_max_listpack_value = 64;
    n->set_max_intset_entries = 512;
    n->list_max_listpack_size = -2;
    n->maxmemory_policy = EVICT_NOEVICTION;
}

static node_t src, dst;

static void setup(void)
{
    cmd_setup(); /* the types' free callbacks */
    node_init(&src);
    node_init(&dst);
}

static void teardown(void)
{
    ks_destroy(src.ks);
    ks_destroy(dst.ks);
}

static void fill(node_t *n)
{
    keyspace_t *ks = n->ks;
    char k[64], v[256];
    ks_set_int(ks, "i8", 2, 100, 0);
    ks_set_int(ks, "i16", 3, -30000, 0);
    ks_set_int(ks, "i32", 3, 2000000000, 0);
    ks_set_int(ks, "i64", 3, 9000000000000LL, 0);
    ks_set_str(ks, "s", 1, "hello", 5, 0);
    memset(v, 'z', 200);
    ks_set_str(ks, "lzf", 3, v, 200, 0);
    kentry_t *e = ks_set_str(ks, "ttl", 3, "x", 1, 0);
    ks_set_expire(ks, e, 4102444800000LL);

    unsigned char *lp = lp_new(0);
    for (int i = 0; i < 10; i++) {
        snprintf(v, sizeof(v), "el%d", i);
        lp = lp_append(lp, v, (uint32_t)strlen(v));
        lp = lp_append_int(lp, i * 1000);
    }
    ks_set_obj(ks, "list", 4, KT_LIST, KE_OBJ, lp, 0);
    quicklist_t *ql = ql_create(-2);
    for (int i = 0; i < 3000; i++) {
        snprintf(v, sizeof(v), "element-%d", i);
        ql_push(ql, QL_TAIL, v, (uint32_t)strlen(v));
    }
    ks_set_obj(ks, "qlist", 5, KT_LIST, KE_OBJ + 1, ql, 0);

    lp = lp_new(0);
    for (int i = 0; i < 5; i++) {
        snprintf(k, sizeof(k), "f%d", i);
        lp = lp_append(lp, k, (uint32_t)strlen(k));
        lp = lp_append_int(lp, i);
    }
    /* small hashes live in their entry as a compact pack (t_hash.c) */
    size_t hl;
    e = ks_set_blob(ks, "hlp", 3, KT_HASH, KE_OBJ, NULL, cp_size_of_lp(lp), 0);
    cp_from_lp(lp, ke_blob(e, &hl));
    lp_free(lp);
    dict_t *d = dict_create();
    for (int i = 0; i < 500; i++) {
        int added;
        snprintf(k, sizeof(k), "field:%d", i);
        snprintf(v, sizeof(v), "value:%d", i * 7);
        dict_set(d, k, strlen(k), v, strlen(v), &added);
    }
    ks_set_obj(ks, "hht", 3, KT_HASH, KE_OBJ + 1, d, 0);

    intset_t *is = intset_new();
    for (int i = 0; i < 100; i++)
        is = intset_add(is, i * 70000 - 5, NULL);
    ks_set_blob(ks, "iset", 4, KT_SET, KE_OBJ, intset_blob(is),
                intset_blob_len(is), 0);
    intset_free(is);
    d = dict_create();
    for (int i = 0; i < 300; i++) {
        int added;
        snprintf(k, sizeof(k), "member:%d", i);
        dict_add(d, k, strlen(k), &added);
    }
    ks_set_obj(ks, "sht", 3, KT_SET, KE_OBJ + 1, d, 0);

    void *zs = t_zset_skiplist_new(10);
    for (int i = 0; i < 10; i++) {
        snprintf(k, sizeof(k), "m%d", i);
        t_zset_skiplist_add(zs, k, strlen(k), i * 1.5);
    }
    lp = t_zset_skiplist_to_lp(zs);
    e = ks_set_blob(ks, "zlp", 3, KT_ZSET, T_ZSET_ENC_LISTPACK, NULL,
                    cp_size_of_lp(lp), 0);
    cp_from_lp(lp, ke_blob(e, &hl));
    lp_free(lp);
    zs = t_zset_skiplist_new(1000);
    for (int i = 0; i < 1000; i++) {
        snprintf(k, sizeof(k), "zm%d", i);
        t_zset_skiplist_add(zs, k, strlen(k), (i % 17) * 0.25 - 1);
    }
    ks_set_obj(ks, "zsl", 3, KT_ZSET, T_ZSET_ENC_SKIPLIST, zs, 0);
}

static const char *const keys[] = {"i8",  "i16",  "i32",   "i64", "s",   "lzf",
                                   "ttl", "list", "qlist", "hlp", "hht", "iset",
                                   "sht", "zlp",  "zsl",   NULL};

/* Same contents: payloads for ordered encodings, membership for dicts. */
static void same_value(kentry_t *a, kentry_t *b)
{
    ck_assert_int_eq(ke_type(a), ke_type(b));
    ck_assert_int_eq(ke_enc(a), ke_enc(b));
    ck_assert(ke_expire(a) == ke_expire(b));
    int dicty = (ke_type(a) == KT_HASH || ke_type(a) == KT_SET) &&
                ke_enc(a) == KE_OBJ + 1;
    if (!dicty) {
        size_t la, lb;
        unsigned char *pa = rdb_dump_payload(&src, a, &la);
        unsigned char *pb = rdb_dump_payload(&dst, b, &lb);
        ck_assert_uint_eq(la, lb);
        ck_assert(memcmp(pa, pb, la) == 0);
        ts_free(pa);
        ts_free(pb);
        return;
    }
    dict_t *da = ke_obj(a), *db = ke_obj(b);
    ck_assert_uint_eq(dict_size(da), dict_size(db));
    dict_iter_t it;
    dict_entry_t *de;
    dict_iter_init(da, &it);
    while ((de = dict_iter_next(&it))) {
        size_t kl, va, vb;
        const char *k = dict_key(de, &kl);
        dict_entry_t *o = dict_find(db, k, kl);
        ck_assert(o != NULL);
        const char *x = dict_val(de, &va), *y = dict_val(o, &vb);
        ck_assert_uint_eq(va, vb);
        ck_assert(va == 0 || memcmp(x, y, va) == 0);
    }
    dict_iter_done(&it);
}

static img_t save_image(node_t *n)
{
    img_t m = {0};
    ck_assert_int_eq(rdb_save_to(n, img_write, &m), 0);
    return m;
}

static int load_image(node_t *n, const unsigned char *p, size_t len, char *err,
                      size_t errlen)
{
    rd_t r = {p, len};
    return rdb_load_from(n, img_read, &r, err, errlen);
}

START_TEST(test_round_trip)
{
    fill(&src);
    img_t m = save_image(&src);
    ck_assert(memcmp(m.p,
                     "REDIS0010\xfa\x09redis-ver\x06"
                     "7.0.15",
                     23) == 0);
    char err[256];
    ck_assert_msg(load_image(&dst, m.p, m.len, err, sizeof(err)) == 0, "%s",
                  err);
    ck_assert_uint_eq(ks_size(dst.ks), ks_size(src.ks));
    for (int i = 0; keys[i]; i++) {
        kentry_t *a = ks_find(src.ks, keys[i], strlen(keys[i]));
        kentry_t *b = ks_find(dst.ks, keys[i], strlen(keys[i]));
        ck_assert_msg(a && b, "key %s", keys[i]);
        same_value(a, b);
    }
    /* the trailer is the CRC64 of everything before it */
    uint64_t crc = crc64(0, m.p, m.len - 8), got = 0;
    for (int i = 7; i >= 0; i--)
        got = got << 8 | m.p[m.len - 8 + i];
    ck_assert_uint_eq(crc, got);
    free(m.p);
}
END_TEST

START_TEST(test_truncated)
{
    fill(&src);
    img_t m = save_image(&src);
    char err[256];
    for (size_t len = 0; len < m.len; len += (len < 800 ? 1 : 97)) {
        ck_assert_msg(load_image(&dst, m.p, len, err, sizeof(err)) != 0,
                      "prefix %zu loaded", len);
        ck_assert_uint_eq(ks_size(dst.ks), 0);
        ck_assert(strncmp(err, "Bad RDB: ", 9) == 0);
        ck_assert(strstr(err, " at offset ") != NULL);
    }
    free(m.p);
}
END_TEST

START_TEST(test_flips)
{
    fill(&src);
    img_t m = save_image(&src);
    char err[256];
    unsigned char *c = malloc(m.len);
    for (size_t i = 0; i < m.len; i += (i < 800 ? 1 : 53)) {
        memcpy(c, m.p, m.len);
        c[i] ^= (unsigned char)(1u << (i % 8));
        dst.rdbchecksum = 1;
        ck_assert_msg(load_image(&dst, c, m.len, err, sizeof(err)) != 0,
                      "flip at %zu loaded", i);
        ck_assert_uint_eq(ks_size(dst.ks), 0);
        dst.rdbchecksum = 0; /* the parser alone: must not crash */
        if (load_image(&dst, c, m.len, err, sizeof(err)) == 0) ks_clear(dst.ks);
    }
    free(c);
    free(m.p);
}
END_TEST

START_TEST(test_dump_known)
{
    /* redis-cli -p 7.0.15 DUMP of SET k hello */
    static const unsigned char want[] = {0x00, 0x05, 'h',  'e', 'l',
                                         'l',  'o',  0x0a, 0x00};
    kentry_t *e = ks_set_str(src.ks, "k", 1, "hello", 5, 0);
    size_t len;
    unsigned char *p = rdb_dump_payload(&src, e, &len);
    ck_assert_uint_eq(len, sizeof(want) + 8);
    ck_assert(memcmp(p, want, sizeof(want)) == 0);
    ck_assert(rdb_verify_payload(p, len));
    kentry_t *out;
    ck_assert_int_eq(rdb_restore_payload(&dst, "x", 1, p, len, &out), 0);
    size_t vl;
    char scratch[24];
    ck_assert(memcmp(ke_str(out, &vl, scratch), "hello", 5) == 0);
    p[3] ^= 1;
    ck_assert(!rdb_verify_payload(p, len));
    ts_free(p);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("rdb");
    TCase *tc = tcase_create("rdb");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_truncated);
    tcase_add_test(tc, test_flips);
    tcase_add_test(tc, test_dump_known);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
