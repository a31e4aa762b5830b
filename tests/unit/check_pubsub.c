/*
 * check_pubsub.c: merging PUBSUB CHANNELS / NUMSUB / SHARD* replies of
 * every master (pubsub_merge, proxy/pubsub.c).
 *
 * The node replies are Redis 7.0.15's shapes (captured from a plain
 * redis-server: CHANNELS an array of bulk names, NUMSUB [name, count,
 * ...], both arrays in RESP2 and RESP3); the merged reply is what one
 * Redis holding every subscriber would give: names once, counts summed.
 * Replies that are not of those shapes, every truncation and every
 * single-byte mutation give an error or a well-formed reply, never a
 * crash (the proxy parses what backends send).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "hash.h"
#include "proxy.h"

/* A PK_PUBSUB request whose sub-requests got `replies`. */
typedef struct merged {
    preq_t q;
    breq_t b[4];
    breq_t *subs[4];
} merged_t;

static void merge_run(merged_t *m, const char *const *replies,
                      const size_t *lens, int n, int proto)
{
    memset(m, 0, sizeof(*m));
    buf_init(&m->q.reply);
    m->q.kind = PK_PUBSUB;
    m->q.proto = proto;
    m->q.nsub = n;
    m->q.subs = m->subs;
    for (int i = 0; i < n; i++) {
        buf_init(&m->b[i].reply);
        buf_append(&m->b[i].reply, replies[i],
                   lens ? lens[i] : strlen(replies[i]));
        m->subs[i] = &m->b[i];
    }
    pubsub_merge(&m->q);
}

static void merge_done(merged_t *m)
{
    for (int i = 0; i < m->q.nsub; i++) buf_deinit(&m->b[i].reply);
    buf_deinit(&m->q.reply);
}

static int reply_is(merged_t *m, const char *want)
{
    return buf_len(&m->q.reply) == strlen(want) &&
           memcmp(buf_rptr(&m->q.reply), want, strlen(want)) == 0;
}

#define BAD "-ERR tessera-proxy: unexpected reply from a backend\r\n"

START_TEST(test_channels_union)
{
    const char *r[3] = {"*2\r\n$1\r\na\r\n$1\r\nb\r\n",
                        "*2\r\n$1\r\nb\r\n$1\r\nc\r\n", "*0\r\n"};
    merged_t m;
    merge_run(&m, r, NULL, 3, 2);
    ck_assert(reply_is(&m, "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"));
    merge_done(&m);
    const char *none[3] = {"*0\r\n", "*0\r\n", "*0\r\n"};
    merge_run(&m, none, NULL, 3, 3);
    ck_assert(reply_is(&m, "*0\r\n"));
    merge_done(&m);
    /* a RESP3 set is taken as well */
    const char *set[2] = {"~1\r\n$1\r\nx\r\n", "*1\r\n$1\r\nx\r\n"};
    merge_run(&m, set, NULL, 2, 3);
    ck_assert(reply_is(&m, "*1\r\n$1\r\nx\r\n"));
    merge_done(&m);
}
END_TEST

START_TEST(test_numsub_sum)
{
    const char *r[3] = {"*4\r\n$1\r\nx\r\n:1\r\n$2\r\nzz\r\n:0\r\n",
                        "*4\r\n$1\r\nx\r\n:2\r\n$2\r\nzz\r\n:0\r\n",
                        "*4\r\n$1\r\nx\r\n:0\r\n$2\r\nzz\r\n:5\r\n"};
    merged_t m;
    merge_run(&m, r, NULL, 3, 2);
    ck_assert(reply_is(&m, "*4\r\n$1\r\nx\r\n:3\r\n$2\r\nzz\r\n:5\r\n"));
    merge_done(&m);
}
END_TEST

START_TEST(test_bad_shapes)
{
    static const char *const cases[][2] = {
        {"*2\r\n$1\r\nx\r\n:1\r\n", "*0\r\n"},          /* lengths differ */
        {"*2\r\n$1\r\nx\r\n:1\r\n", "*2\r\n:1\r\n:1\r\n"},
        {"*1\r\n:5\r\n", "*0\r\n"},                     /* not a name */
        {":1\r\n", "*0\r\n"},
        {"*3\r\n$1\r\nx\r\n:1\r\n$1\r\ny\r\n",
         "*3\r\n$1\r\nx\r\n:1\r\n$1\r\ny\r\n"},         /* odd NUMSUB */
        {"*1\r\n$1\r\nx\r\n", "*1\r\n$1\r\nx"},         /* truncated */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        merged_t m;
        merge_run(&m, cases[i], NULL, 2, 2);
        ck_assert_msg(reply_is(&m, BAD), "case %zu", i);
        merge_done(&m);
    }
}
END_TEST

/* Every truncation and single-byte mutation of a node's reply: an error
 * or a well-formed array, never a crash or an overread (ASan). */
START_TEST(test_mutations)
{
    static const char *const base[2] = {
        "*4\r\n$1\r\nx\r\n:1\r\n$2\r\nzz\r\n:0\r\n",
        "*3\r\n$1\r\na\r\n$2\r\nbc\r\n$0\r\n\r\n"};
    static const char bytes[] = "*$:~-_+\r\n019x";
    for (int which = 0; which < 2; which++) {
        size_t n = strlen(base[which]);
        for (size_t cut = 0; cut <= n; cut++) {
            char *p = ts_malloc(n + 1);
            memcpy(p, base[which], cut);
            const char *r[2] = {p, base[which]};
            size_t lens[2] = {cut, n};
            merged_t m;
            merge_run(&m, r, lens, 2, 2);
            ck_assert(buf_len(&m.q.reply) > 0);
            ck_assert(buf_rptr(&m.q.reply)[0] == '*' ||
                      reply_is(&m, BAD));
            merge_done(&m);
            ts_free(p);
        }
        for (size_t pos = 0; pos < n; pos++)
            for (size_t k = 0; k < sizeof(bytes) - 1; k++) {
                char *p = ts_malloc(n);
                memcpy(p, base[which], n);
                p[pos] = bytes[k];
                const char *r[2] = {base[which], p};
                size_t lens[2] = {n, n};
                merged_t m;
                merge_run(&m, r, lens, 2, 2);
                ck_assert(buf_rptr(&m.q.reply)[0] == '*' ||
                          reply_is(&m, BAD));
                merge_done(&m);
                ts_free(p);
            }
    }
}
END_TEST

static Suite *pubsub_suite(void)
{
    Suite *s = suite_create("pubsub");
    TCase *tc = tcase_create("merge");
    tcase_add_test(tc, test_channels_union);
    tcase_add_test(tc, test_numsub_sum);
    tcase_add_test(tc, test_bad_shapes);
    tcase_add_test(tc, test_mutations);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    hash_seed_random();
    SRunner *sr = srunner_create(pubsub_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
