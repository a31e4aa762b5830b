/*
 * check_reply.c: unit tests for common/reply.c.
 *
 * Known-answer bytes for every reply_* function under RESP2 and RESP3
 * (what Redis 7.0 sends a client after HELLO 2 / HELLO 3), Redis's error
 * texts, and deferred lengths, including the case where the output
 * buffer is compacted or moved between reply_defer and reply_set_deferred.
 */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "reply.h"
#include "resp.h"

static buf_t out;
static reply_t rep;

static void setup(void)
{
    buf_init(&out);
}

static void teardown(void)
{
    buf_deinit(&out);
}

/* Compare the output with `want` and empty it. */
static void expect(const char *want)
{
    ck_assert_msg(buf_len(&out) == strlen(want) &&
                      memcmp(buf_rptr(&out), want, strlen(want)) == 0,
                  "got \"%.*s\", want \"%s\"", (int)buf_len(&out),
                  buf_rptr(&out), want);
    buf_clear(&out);
}

typedef void (*emit_fn)(reply_t *r);

static void e_ok(reply_t *r)
{
    reply_ok(r);
}
static void e_simple(reply_t *r)
{
    reply_simple(r, "PONG");
}
static void e_error(reply_t *r)
{
    reply_error(r, "ERR no\r\nway");
}
static void e_errorf(reply_t *r)
{
    reply_errorf(r, "ERR %s %d", "x", 42);
}
static void e_int(reply_t *r)
{
    reply_int(r, -7);
}
static void e_bulk(reply_t *r)
{
    reply_bulk(r, "a\0b", 3);
}
static void e_bulk_str(reply_t *r)
{
    reply_bulk_str(r, "hello");
}
static void e_bulk_ll(reply_t *r)
{
    reply_bulk_ll(r, LLONG_MIN);
}
static void e_null(reply_t *r)
{
    reply_null(r);
}
static void e_null_array(reply_t *r)
{
    reply_null_array(r);
}
static void e_array(reply_t *r)
{
    reply_array(r, 3);
}
static void e_map(reply_t *r)
{
    reply_map(r, 2);
}
static void e_set(reply_t *r)
{
    reply_set(r, 4);
}
static void e_push(reply_t *r)
{
    reply_push(r, 3);
}
static void e_double(reply_t *r)
{
    reply_double(r, 2.5);
}
static void e_double_int(reply_t *r)
{
    reply_double(r, 3.0);
}
static void e_double_inf(reply_t *r)
{
    reply_double(r, -INFINITY);
}
static void e_bool_t(reply_t *r)
{
    reply_bool(r, 1);
}
static void e_bool_f(reply_t *r)
{
    reply_bool(r, 0);
}
static void e_verbatim(reply_t *r)
{
    reply_verbatim(r, "x y", 3, "txt");
}
static void e_wrongtype(reply_t *r)
{
    reply_err_wrongtype(r);
}
static void e_syntax(reply_t *r)
{
    reply_err_syntax(r);
}
static void e_notint(reply_t *r)
{
    reply_err_notint(r);
}
static void e_notfloat(reply_t *r)
{
    reply_err_notfloat(r);
}
static void e_arity(reply_t *r)
{
    reply_err_arity(r, "get");
}
static void e_arity_sub(reply_t *r)
{
    reply_err_arity(r, "config|get");
}

/* Redis 7.0's (un)subscribe confirmations (redis-cli --no-raw shows the
 * same three items in both protocols). */
static void e_confirm(reply_t *r)
{
    reply_pubsub_confirm(r, "subscribe", "ch", 2, 1);
}
static void e_confirm_nil(reply_t *r)
{
    reply_pubsub_confirm(r, "unsubscribe", NULL, 0, 0);
}

static const struct {
    const char *name;
    emit_fn fn;
    const char *resp2;
    const char *resp3;
    size_t len; /* 0: strlen; the bytes may hold a NUL */
} cases[] = {
    {"ok", e_ok, "+OK\r\n", "+OK\r\n", 0},
    {"confirm", e_confirm, "*3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n",
     ">3\r\n$9\r\nsubscribe\r\n$2\r\nch\r\n:1\r\n", 0},
    {"confirm_nil", e_confirm_nil,
     "*3\r\n$11\r\nunsubscribe\r\n$-1\r\n:0\r\n",
     ">3\r\n$11\r\nunsubscribe\r\n_\r\n:0\r\n", 0},
    {"simple", e_simple, "+PONG\r\n", "+PONG\r\n", 0},
    {"error", e_error, "-ERR no  way\r\n", "-ERR no  way\r\n", 0},
    {"errorf", e_errorf, "-ERR x 42\r\n", "-ERR x 42\r\n", 0},
    {"int", e_int, ":-7\r\n", ":-7\r\n", 0},
    {"bulk", e_bulk, "$3\r\na\0b\r\n", "$3\r\na\0b\r\n", 9},
    {"bulk_str", e_bulk_str, "$5\r\nhello\r\n", "$5\r\nhello\r\n", 0},
    {"bulk_ll", e_bulk_ll, "$20\r\n-9223372036854775808\r\n",
     "$20\r\n-9223372036854775808\r\n", 0},
    {"null", e_null, "$-1\r\n", "_\r\n", 0},
    {"null_array", e_null_array, "*-1\r\n", "_\r\n", 0},
    {"array", e_array, "*3\r\n", "*3\r\n", 0},
    {"map", e_map, "*4\r\n", "%2\r\n", 0},
    {"set", e_set, "*4\r\n", "~4\r\n", 0},
    {"push", e_push, "*3\r\n", ">3\r\n", 0},
    {"double", e_double, "$3\r\n2.5\r\n", ",2.5\r\n", 0},
    {"double_int", e_double_int, "$1\r\n3\r\n", ",3\r\n", 0},
    {"double_inf", e_double_inf, "$4\r\n-inf\r\n", ",-inf\r\n", 0},
    {"bool_t", e_bool_t, ":1\r\n", "#t\r\n", 0},
    {"bool_f", e_bool_f, ":0\r\n", "#f\r\n", 0},
    {"verbatim", e_verbatim, "$3\r\nx y\r\n", "=7\r\ntxt:x y\r\n", 0},
    {"wrongtype", e_wrongtype,
     "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
     "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
     0},
    {"syntax", e_syntax, "-ERR syntax error\r\n", "-ERR syntax error\r\n", 0},
    {"notint", e_notint, "-ERR value is not an integer or out of range\r\n",
     "-ERR value is not an integer or out of range\r\n", 0},
    {"notfloat", e_notfloat, "-ERR value is not a valid float\r\n",
     "-ERR value is not a valid float\r\n", 0},
    {"arity", e_arity, "-ERR wrong number of arguments for 'get' command\r\n",
     "-ERR wrong number of arguments for 'get' command\r\n", 0},
    {"arity_sub", e_arity_sub,
     "-ERR wrong number of arguments for 'config|get' command\r\n",
     "-ERR wrong number of arguments for 'config|get' command\r\n", 0},
};

START_TEST(test_known_answers)
{
    for (int proto = 2; proto <= 3; proto++) {
        const char *want = proto == 2 ? cases[_i].resp2 : cases[_i].resp3;
        size_t n = cases[_i].len ? cases[_i].len : strlen(want);

        reply_init(&rep, &out, proto);
        cases[_i].fn(&rep);
        ck_assert_msg(buf_len(&out) == n &&
                          memcmp(buf_rptr(&out), want, n) == 0,
                      "%s RESP%d: got \"%.*s\"", cases[_i].name, proto,
                      (int)buf_len(&out), buf_rptr(&out));
        buf_clear(&out);
    }
}
END_TEST

/* Every reply is one valid RESP value to the scanner. */
START_TEST(test_replies_scan)
{
    for (int proto = 2; proto <= 3; proto++) {
        resp_scan_t s;
        size_t consumed = 0;
        const char *err = NULL;

        reply_init(&rep, &out, proto);
        cases[_i].fn(&rep);
        if (buf_rptr(&out)[0] == '*' || buf_rptr(&out)[0] == '%' ||
            buf_rptr(&out)[0] == '~' || buf_rptr(&out)[0] == '>') {
            if (buf_rptr(&out)[1] != '-') {
                buf_clear(&out);
                continue; /* a header alone is incomplete */
            }
        }
        resp_scan_init(&s);
        ck_assert_int_eq(
            resp_scan_reply(&s, buf_rptr(&out), buf_len(&out), &consumed, &err),
            TS_OK);
        ck_assert_uint_eq(consumed, buf_len(&out));
        buf_clear(&out);
    }
}
END_TEST

START_TEST(test_errorf_truncates)
{
    char big[2000];

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    reply_init(&rep, &out, 2);
    reply_errorf(&rep, "ERR %s", big);
    ck_assert_uint_eq(buf_len(&out), 1 + 511 + 2);
    ck_assert_mem_eq(buf_rptr(&out), "-ERR xxx", 8);
    ck_assert_mem_eq(buf_rptr(&out) + buf_len(&out) - 3, "x\r\n", 3);
    buf_clear(&out);
    reply_errorf(&rep, "ERR line\r\nbreak %d", 1);
    expect("-ERR line  break 1\r\n");
}
END_TEST

START_TEST(test_deferred_array)
{
    size_t h;

    reply_init(&rep, &out, 2);
    h = reply_defer(&rep);
    reply_bulk_str(&rep, "a");
    reply_bulk_str(&rep, "b");
    reply_int(&rep, 3);
    reply_set_deferred(&rep, h, '*', 3);
    expect("*3\r\n$1\r\na\r\n$1\r\nb\r\n:3\r\n");

    /* empty, and after other replies already in the buffer */
    reply_ok(&rep);
    h = reply_defer(&rep);
    reply_set_deferred(&rep, h, '*', 0);
    reply_ok(&rep);
    expect("+OK\r\n*0\r\n+OK\r\n");
}
END_TEST

START_TEST(test_deferred_types)
{
    static const struct {
        int proto;
        char type;
        long long n;
        const char *hdr;
    } c[] = {
        {3, '%', 2, "%2\r\n"},
        {2, '%', 2, "*4\r\n"},
        {3, '~', 5, "~5\r\n"},
        {2, '~', 5, "*5\r\n"},
        {3, '*', 7, "*7\r\n"},
        {3, '*', LLONG_MAX, "*9223372036854775807\r\n"},
        {3, '*', LLONG_MIN, "*-9223372036854775808\r\n"},
        {2, '*', 1234567890, "*1234567890\r\n"},
    };
    char want[64];

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        reply_init(&rep, &out, c[i].proto);
        size_t h = reply_defer(&rep);
        reply_simple(&rep, "tail");
        reply_set_deferred(&rep, h, c[i].type, c[i].n);
        strcpy(want, c[i].hdr);
        strcat(want, "+tail\r\n");
        expect(want);
    }
}
END_TEST

/* Nested deferred lengths, set innermost first. */
START_TEST(test_deferred_nested)
{
    size_t outer, inner;

    reply_init(&rep, &out, 3);
    outer = reply_defer(&rep);
    reply_int(&rep, 1);
    inner = reply_defer(&rep);
    reply_int(&rep, 2);
    reply_int(&rep, 3);
    reply_set_deferred(&rep, inner, '~', 2);
    reply_set_deferred(&rep, outer, '%', 1);
    expect("%1\r\n:1\r\n~2\r\n:2\r\n:3\r\n");
}
END_TEST

/* The handle survives the buffer being compacted and reallocated. */
START_TEST(test_deferred_survives_move)
{
    char big[100000];
    size_t h, head;

    memset(big, 'z', sizeof(big));
    reply_init(&rep, &out, 2);
    reply_simple(&rep, "consumed-by-a-write");
    head = buf_len(&out);
    reply_ok(&rep);
    buf_consume(&out, head); /* a write before this command */
    h = reply_defer(&rep);
    reply_bulk(&rep, big, sizeof(big)); /* forces compact + realloc */
    reply_set_deferred(&rep, h, '*', 1);
    ck_assert_mem_eq(buf_rptr(&out), "+OK\r\n*1\r\n$100000\r\nzz", 20);
    ck_assert_uint_eq(buf_len(&out), 5 + 4 + 9 + sizeof(big) + 2);
    ck_assert_mem_eq(buf_rptr(&out) + buf_len(&out) - 3, "z\r\n", 3);
}
END_TEST

/* reply_value: a RESP3 tree re-emitted for RESP2 and RESP3 clients. */
START_TEST(test_reply_value_converts)
{
    static const char in[] = "%2\r\n$1\r\na\r\n,1.5\r\n$1\r\nb\r\n"
                             "~2\r\n#t\r\n_\r\n";
    resp_value_t *v = NULL;
    size_t used;
    const char *err;
    ck_assert_int_eq(resp_parse_value(in, sizeof(in) - 1, &v, &used, &err),
                     TS_OK);
    buf_t ob;
    buf_init(&ob);
    reply_t r;
    reply_init(&r, &ob, 3);
    reply_value(&r, v);             /* RESP3: the same bytes back */
    ck_assert_uint_eq(buf_len(&ob), sizeof(in) - 1);
    ck_assert(memcmp(buf_rptr(&ob), in, sizeof(in) - 1) == 0);
    buf_clear(&ob);
    reply_init(&r, &ob, 2);
    reply_value(&r, v);             /* RESP2: flat array, fallbacks */
    static const char want[] = "*4\r\n$1\r\na\r\n$3\r\n1.5\r\n$1\r\nb\r\n"
                               "*2\r\n:1\r\n$-1\r\n";
    ck_assert_uint_eq(buf_len(&ob), sizeof(want) - 1);
    ck_assert(memcmp(buf_rptr(&ob), want, sizeof(want) - 1) == 0);
    buf_deinit(&ob);
    resp_value_free(v);
}
END_TEST

static Suite *reply_suite(void)
{
    Suite *s = suite_create("reply");
    TCase *tc = tcase_create("reply");
    int n = (int)(sizeof(cases) / sizeof(cases[0]));

    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_loop_test(tc, test_known_answers, 0, n);
    tcase_add_loop_test(tc, test_replies_scan, 0, n);
    tcase_add_test(tc, test_errorf_truncates);
    tcase_add_test(tc, test_deferred_array);
    tcase_add_test(tc, test_deferred_types);
    tcase_add_test(tc, test_deferred_nested);
    tcase_add_test(tc, test_deferred_survives_move);
    tcase_add_test(tc, test_reply_value_converts);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(reply_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
