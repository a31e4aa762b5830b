/*
 * check_repl.c: the replication backlog and PSYNC's decision
 * (node/repl/repl.c), model-based.
 *
 * A 16 KB backlog (Redis's minimum) is fed random chunks of bytes; a
 * model keeps the whole stream.  After each chunk PSYNC is asked for
 * offsets around the backlog's window: inside [first byte, offset + 1]
 * it must answer +CONTINUE <replid> followed by exactly the model's bytes
 * from that offset on; outside, or under another replid, it must choose a
 * full sync (no reply yet, the client becomes a waiting replica).  Then
 * the promotion rule of PSYNC2: after REPLICAOF NO ONE the old replid is
 * accepted up to second_repl_offset and not beyond.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "client.h"
#include "node.h"
#include "reply.h"
#include "repl/repl_int.h"

static node_t node;
static unsigned char *model;
static size_t model_len;

static void setup(void)
{
    memset(&node, 0, sizeof(node));
    node.repl_backlog_size = 16384;
    node.repl_diskless_sync = 1;
    repl_state(&node);
    repl_backlog_create(&node);
    model = malloc(1 << 20);
    model_len = 0;
}

static void teardown(void)
{
    repl_teardown(&node);
    free(model);
}

static cmd_handler_t *psync_handler(void)
{
    for (const cmd_bind_t *b = repl_cmds; b->fn; b++)
        if (b->id == CMD_PSYNC) return b->fn;
    return NULL;
}

/* PSYNC id off from a stand-in client; returns the reply bytes (owned by
 * the caller) and whether the client became a replica. */
static char *psync(const char *id, long long off, size_t *len, int *replica)
{
    client_t c;
    memset(&c, 0, sizeof(c));
    c.node = &node;
    c.repl_capa = REPL_CAPA_PSYNC2 | REPL_CAPA_EOF;
    buf_init(&c.obuf);
    reply_t r;
    reply_init(&r, &c.obuf, 2);
    char offs[32];
    snprintf(offs, sizeof(offs), "%lld", off);
    resp_arg_t argv[3] = {{"PSYNC", 5}, {id, strlen(id)}, {offs, strlen(offs)}};
    cmdctx_t ctx = {.node = &node, .client = &c, .ks = NULL, .now_ms = 0};
    req_t req = {.argc = 3, .argv = argv, .spec = cmdtab_get(CMD_PSYNC)};
    psync_handler()(&ctx, &req, &r);
    *replica = (c.flags & CLF_REPLICA) != 0;
    if (*replica) repl_client_free(&c);     /* detach the stand-in */
    *len = buf_len(&c.obuf);
    char *out = malloc(*len + 1);
    if (*len) memcpy(out, buf_rptr(&c.obuf), *len); /* empty: no buffer */
    out[*len] = '\0';
    buf_deinit(&c.obuf);
    return out;
}

static void feed(size_t n)
{
    char chunk[4096];
    for (size_t i = 0; i < n; i++) chunk[i] = (char)('a' + rand() % 26);
    memcpy(model + model_len, chunk, n);
    model_len += n;
    repl_feed_raw(&node, chunk, n);
}

/* Check PSYNC <id> <off> against the model. */
static void check_offset(const char *id, long long off, int expect_continue)
{
    repl_t *R = node.repl;
    size_t len;
    int replica;
    char *out = psync(id, off, &len, &replica);
    ck_assert_int_eq(replica, 1);
    if (!expect_continue) {
        ck_assert_msg(len == 0, "full sync must not reply before the fork "
                      "(offset %lld)", off);
        free(out);
        return;
    }
    char head[64];
    int hl = snprintf(head, sizeof(head), "+CONTINUE %s\r\n", R->replid);
    ck_assert_msg(len >= (size_t)hl && memcmp(out, head, (size_t)hl) == 0,
                  "offset %lld: no +CONTINUE: %.60s", off, out);
    size_t want = model_len - (size_t)(off - 1);
    ck_assert_msg(len - (size_t)hl == want, "offset %lld: %zu bytes, want %zu",
                  off, len - (size_t)hl, want);
    ck_assert(memcmp(out + hl, model + off - 1, want) == 0);
    free(out);
}

START_TEST(test_backlog_model)
{
    srand(7);
    repl_t *R = node.repl;
    for (int round = 0; round < 200; round++) {
        feed((size_t)(1 + rand() % 1500));
        long long m = R->offset;
        ck_assert_int_eq(m, (long long)model_len);
        long long hist = m < 16384 ? m : 16384;
        ck_assert_int_eq(R->bl_histlen, hist);
        long long first = m - hist + 1;
        ck_assert_int_eq(R->bl_off, first);
        long long probes[] = {first - 2, first - 1, first, first + 1,
                              first + rand() % (hist + 1), m, m + 1, m + 2};
        for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
            long long p = probes[i];
            if (p < 1) continue;
            check_offset(R->replid, p, p >= first && p <= m + 1);
        }
        /* an unknown history always means a full sync */
        check_offset("0123456789012345678901234567890123456789", m + 1, 0);
    }
}
END_TEST

START_TEST(test_psync2_after_promotion)
{
    repl_t *R = node.repl;
    feed(3000);
    char old[REPL_ID_LEN + 1];
    memcpy(old, R->replid, sizeof(old));
    long long at = R->offset;
    node.replica_mode = 1;          /* as if following a master */
    repl_unset_master(&node);
    ck_assert_str_eq(R->replid2, old);
    ck_assert_int_eq(R->second_offset, at + 1);
    ck_assert_str_ne(R->replid, old);
    feed(500);
    /* a sibling that followed the old master up to `at` continues */
    check_offset(old, at + 1, 1);
    check_offset(old, at - 100, 1);
    /* one that claims more of the old history than we had cannot */
    check_offset(old, at + 2, 0);
    check_offset(R->replid, at + 501, 1);
}
END_TEST

static Suite *repl_suite(void)
{
    Suite *s = suite_create("repl");
    TCase *tc = tcase_create("backlog");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_backlog_model);
    tcase_add_test(tc, test_psync2_after_promotion);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    cmdtab_setup();
    SRunner *sr = srunner_create(repl_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
