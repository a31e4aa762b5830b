/*
 * check_propagate.c: the propagated command stream (node/propagate.c),
 * driven the way cmd_call drives it: units, rewrites, extra commands,
 * prevention, lazy-expiry DELs, MULTI/EXEC wrapping, nesting (EXEC), and
 * "no sink, no state".
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmdtab.h"
#include "propagate.h"

typedef struct capture {
    buf_t bytes;
    int calls;
} capture_t;

static void sink(void *arg, const char *resp, size_t len)
{
    capture_t *c = arg;
    buf_append(&c->bytes, resp, len);
    c->calls++;
}

static node_t n;
static capture_t cap;

static void setup(void)
{
    cmdtab_setup();
    memset(&n, 0, sizeof(n));
    memset(&cap, 0, sizeof(cap));
    buf_init(&cap.bytes);
    propagate_add_sink(&n, sink, &cap);
}

static void teardown(void)
{
    propagate_teardown(&n);
    buf_deinit(&cap.bytes);
}

static void expect(const char *want)
{
    buf_putc(&cap.bytes, '\0');
    ck_assert_str_eq(buf_rptr(&cap.bytes), want);
    buf_clear(&cap.bytes);
}

#define ARGS(...) ((const resp_arg_t[]){__VA_ARGS__})
#define A(s) {s, sizeof(s) - 1}

/* One command run as cmd_call runs it; `change`: it moved n.dirty. */
static void run(cmd_id_t id, int argc, const resp_arg_t *argv, int change,
                void (*body)(cmdctx_t *))
{
    cmdctx_t ctx = {.node = &n};
    long long d = propagate_begin(&n);
    if (body) body(&ctx);
    if (change) n.dirty++;
    propagate_end(&n, d, cmdtab_get(id), argc, argv);
}

START_TEST(test_plain_and_unchanged)
{
    run(CMD_SET, 3, ARGS(A("set"), A("k"), A("v")), 1, NULL);
    expect("*3\r\n$3\r\nset\r\n$1\r\nk\r\n$1\r\nv\r\n");
    run(CMD_DEL, 2, ARGS(A("DEL"), A("nokey")), 0, NULL);
    ck_assert_int_eq(cap.calls, 1);   /* nothing changed: nothing sent */
    expect("");
}
END_TEST

static void rewrite_pxat(cmdctx_t *ctx)
{
    propagate_rewrite(ctx, 5, ARGS(A("SET"), A("k"), A("v"), A("PXAT"),
                                   A("1700000000000")));
}

START_TEST(test_rewrite)
{
    run(CMD_SET, 5, ARGS(A("SET"), A("k"), A("v"), A("EX"), A("10")), 1,
        rewrite_pxat);
    expect("*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$4\r\nPXAT\r\n"
           "$13\r\n1700000000000\r\n");
    /* a rewrite of a command that changed nothing is not sent */
    run(CMD_SET, 5, ARGS(A("SET"), A("k"), A("v"), A("EX"), A("10")), 0,
        rewrite_pxat);
    expect("");
}
END_TEST

static void two_srems(cmdctx_t *ctx)
{
    propagate_rewrite(ctx, 3, ARGS(A("SREM"), A("s"), A("a")));
    propagate_rewrite(ctx, 3, ARGS(A("SREM"), A("s"), A("b")));
}

START_TEST(test_several_rewrites_are_wrapped)
{
    run(CMD_SPOP, 3, ARGS(A("SPOP"), A("s"), A("2")), 1, two_srems);
    expect("*1\r\n$5\r\nMULTI\r\n"
           "*3\r\n$4\r\nSREM\r\n$1\r\ns\r\n$1\r\na\r\n"
           "*3\r\n$4\r\nSREM\r\n$1\r\ns\r\n$1\r\nb\r\n"
           "*1\r\n$4\r\nEXEC\r\n");
    ck_assert_int_eq(cap.calls, 1);   /* one unit, one call */
}
END_TEST

static void lazy_del(cmdctx_t *ctx)
{
    propagate_del(ctx->node, "old", 3);
}

START_TEST(test_lazy_expiry_del)
{
    /* a read that expired a key: the DEL alone */
    run(CMD_GET, 2, ARGS(A("GET"), A("old")), 0, lazy_del);
    expect("*2\r\n$3\r\nDEL\r\n$3\r\nold\r\n");
    /* a write after it: both, DEL first, in MULTI/EXEC */
    run(CMD_INCR, 2, ARGS(A("INCR"), A("old")), 1, lazy_del);
    expect("*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nDEL\r\n$3\r\nold\r\n"
           "*2\r\n$4\r\nINCR\r\n$3\r\nold\r\n*1\r\n$4\r\nEXEC\r\n");
    /* outside any command (active expiry, eviction): at once */
    propagate_del(&n, "x", 1);
    expect("*2\r\n$3\r\nDEL\r\n$1\r\nx\r\n");
}
END_TEST

static void also_and_prevent(cmdctx_t *ctx)
{
    propagate_also(ctx, 2, ARGS(A("DEL"), A("b")));
    propagate_prevent(ctx);
}

START_TEST(test_also_and_prevent)
{
    run(CMD_SET, 3, ARGS(A("SET"), A("a"), A("1")), 1, also_and_prevent);
    expect("*2\r\n$3\r\nDEL\r\n$1\r\nb\r\n");
}
END_TEST

static void exec_body(cmdctx_t *ctx)
{
    (void)ctx;
    run(CMD_SET, 3, ARGS(A("SET"), A("a"), A("1")), 1, NULL);
    run(CMD_GET, 2, ARGS(A("GET"), A("a")), 0, NULL);
    run(CMD_SET, 5, ARGS(A("SET"), A("k"), A("v"), A("EX"), A("1")), 1,
        rewrite_pxat);
}

static void exec_one(cmdctx_t *ctx)
{
    (void)ctx;
    run(CMD_SET, 3, ARGS(A("SET"), A("a"), A("1")), 1, NULL);
}

START_TEST(test_exec_nesting)
{
    run(CMD_EXEC, 1, ARGS(A("EXEC")), 0, exec_body);
    expect("*1\r\n$5\r\nMULTI\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n"
           "*5\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n$4\r\nPXAT\r\n"
           "$13\r\n1700000000000\r\n*1\r\n$4\r\nEXEC\r\n");
    /* one write in a transaction: not wrapped; EXEC itself never sent */
    run(CMD_EXEC, 1, ARGS(A("EXEC")), 0, exec_one);
    expect("*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n");
}
END_TEST

START_TEST(test_no_sink_no_state)
{
    propagate_remove_sink(&n, sink, &cap);
    ck_assert_ptr_null(n.prop);
    run(CMD_SET, 3, ARGS(A("SET"), A("a"), A("1")), 1, rewrite_pxat);
    propagate_del(&n, "x", 1);
    ck_assert_ptr_null(n.prop);
    ck_assert_int_eq(cap.calls, 0);
}
END_TEST

static Suite *propagate_suite(void)
{
    Suite *s = suite_create("propagate");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_plain_and_unchanged);
    tcase_add_test(tc, test_rewrite);
    tcase_add_test(tc, test_several_rewrites_are_wrapped);
    tcase_add_test(tc, test_lazy_expiry_del);
    tcase_add_test(tc, test_also_and_prevent);
    tcase_add_test(tc, test_exec_nesting);
    tcase_add_test(tc, test_no_sink_no_state);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(propagate_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
