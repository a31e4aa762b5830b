/*
 * check_resp.c: unit tests for common/resp.c.
 *
 * Request vectors are Redis 7.0's behaviour (networking.c, sdssplitargs),
 * each checked one-shot, split at every byte and fed byte by byte, since
 * incremental parsing must never change the answer.  Limits are checked
 * for what they cost as well as what they say: a declared 4 GB bulk or
 * two billion arguments must not move ts_used_memory().  Replies are
 * checked through the scanner and the tree parser, and every writer is
 * round-tripped through them.
 */
#include <check.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "resp.h"

#define PE "ERR Protocol error: "

/* ---- helpers: requests ------------------------------------------------ */

typedef struct res {
    ts_status_t st;
    size_t consumed;
    int argc;
    int inline_cmd;
    buf_t args; /* argv re-encoded with resp_w_command */
    char err[128];
} res_t;

static void res_init(res_t *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->args);
}

static void res_record(res_t *out, const resp_req_t *r, ts_status_t st,
                       size_t consumed, const char *err)
{
    out->st = st;
    if (st == TS_OK) {
        out->consumed = consumed;
        out->argc = r->argc;
        out->inline_cmd = r->inline_cmd;
        resp_w_command(&out->args, r->argc, r->argv);
    }
    if (st == TS_PROTO) snprintf(out->err, sizeof(out->err), "%s", err);
}

/* in[0, len) in a fresh allocation of exactly len bytes, so a reader
 * that goes past len trips ASan. */
static char *exact_copy(const char *in, size_t len)
{
    char *copy = malloc(len ? len : 1);

    memcpy(copy, in, len);
    return copy;
}

/*
 * The ways check_splits and check_scan feed an input of n bytes: every
 * split in two ({k, n} for k = 0..n), then byte by byte ({0, 1, ..., n}).
 * fn gets each sequence of growing prefix lengths.
 */
static void each_split(size_t n,
                       void (*fn)(const size_t *cuts, size_t ncuts, void *ctx),
                       void *ctx)
{
    size_t *cuts = malloc((n + 1) * sizeof(*cuts));

    for (size_t k = 0; k <= n; k++) {
        size_t two[2] = {k, n};
        fn(two, 2, ctx);
    }
    for (size_t k = 0; k <= n; k++)
        cuts[k] = k;
    fn(cuts, n + 1, ctx);
    free(cuts);
}

/*
 * Parse the first command of in[0, n) given in growing prefixes cuts[],
 * each in a fresh exactly-sized copy (so the parser may not read past
 * len, and must cope with the buffer moving), stopping at the first
 * answer that is not TS_AGAIN.
 */
static void parse_cuts(const char *in, const resp_limits_t *lim,
                       const size_t *cuts, size_t ncuts, res_t *out)
{
    resp_req_t r;

    resp_req_init(&r);
    res_init(out);
    for (size_t i = 0; i < ncuts; i++) {
        size_t len = cuts[i], consumed = 0;
        const char *err = NULL;
        char *copy = exact_copy(in, len);
        ts_status_t st =
            resp_parse_request(&r, copy, len, lim, &consumed, &err);
        if (st != TS_AGAIN || i + 1 == ncuts)
            res_record(out, &r, st, consumed, err);
        free(copy);
        if (st != TS_AGAIN) break;
    }
    resp_req_deinit(&r);
}

static void parse_once(const char *in, size_t n, const resp_limits_t *lim,
                       res_t *out)
{
    parse_cuts(in, lim, &n, 1, out);
}

static void res_eq(const res_t *a, const res_t *b)
{
    ck_assert_int_eq(a->st, b->st);
    ck_assert_str_eq(a->err, b->err);
    if (a->st != TS_OK) return;
    ck_assert_uint_eq(a->consumed, b->consumed);
    ck_assert_int_eq(a->argc, b->argc);
    ck_assert_int_eq(a->inline_cmd, b->inline_cmd);
    ck_assert_uint_eq(buf_len(&a->args), buf_len(&b->args));
    ck_assert_mem_eq(buf_rptr(&a->args), buf_rptr(&b->args), buf_len(&a->args));
}

typedef struct split_ctx {
    const char *in;
    const resp_limits_t *lim;
    const res_t *want;
} split_ctx_t;

static void parse_cuts_eq(const size_t *cuts, size_t ncuts, void *ctx)
{
    const split_ctx_t *c = ctx;
    res_t got;

    parse_cuts(c->in, c->lim, cuts, ncuts, &got);
    res_eq(&got, c->want);
    buf_deinit(&got.args);
}

/* Every split point and byte by byte give the one-shot answer. */
static void check_splits(const char *in, size_t n, const resp_limits_t *lim,
                         const res_t *want)
{
    split_ctx_t c = {in, lim, want};

    each_split(n, parse_cuts_eq, &c);
}

/* ---- request known-answer vectors ------------------------------------- */

typedef struct req_case {
    const char *in;
    size_t n; /* 0: strlen(in) */
    int unauth;
    ts_status_t st;
    size_t consumed; /* 0: n */
    int argc;
    const char *argv[4];
    size_t argl[4]; /* 0: strlen(argv[i]) */
    const char *err;
} req_case_t;

/* Rows: OK_ (in, consumed or 0 for all, argc, argv...), AGAIN_, PROTO_. */
/* clang-format off */
#define OK_(in, consumed, argc, ...) \
    {in, 0, 0, TS_OK, consumed, argc, {__VA_ARGS__}, {0}, NULL}
#define AGAIN_(in, unauth) {in, 0, unauth, TS_AGAIN, 0, 0, {NULL}, {0}, NULL}
#define PROTO_(in, unauth, text) \
    {in, 0, unauth, TS_PROTO, 0, 0, {NULL}, {0}, PE text}
/* clang-format on */

static const req_case_t req_cases[] = {
    /* multibulk */
    OK_("*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n", 0, 3, "SET", "k", "v"),
    OK_("*1\r\n$4\r\nPING\r\n*1\r\n$4\r\nPING\r\n", 14, 1, "PING"),
    OK_("*0\r\n", 0, 0, NULL),
    OK_("*-1\r\n", 0, 0, NULL),
    OK_("*-10\r\n*1\r\n", 6, 0, NULL),
    OK_("*1\r\n$0\r\n\r\n", 0, 1, ""),
    OK_("*1\r\n$4\r\na\r\nb\r\n", 0, 1, "a\r\nb"),
    {.in = "*1\r\n$3\r\na\0b\r\n",
     .n = 13,
     .st = TS_OK,
     .argc = 1,
     .argv = {"a\0b"},
     .argl = {3}},
    /* Redis skips the 2 bytes after a payload and after '\r' unchecked */
    OK_("*1\r\n$1\r\naXY", 0, 1, "a"),
    OK_("*1\rX$1\r\na\r\n", 0, 1, "a"),
    OK_("*2\r\n$10\r\n0123456789\r\n$2\r\nab\r\n", 0, 2, "0123456789", "ab"),
    /* shapes of the one-pass path: 1, 2 and 3+ digit headers, two
     * commands in the buffer, a header that is not '$' */
    OK_("*2\r\n$3\r\nGET\r\n$16\r\nkey:000000012345\r\n", 0, 2, "GET",
        "key:000000012345"),
    OK_("*1\r\n$100\r\n0123456789012345678901234567890123456789012345678"
        "901234567890123456789012345678901234567890123456789\r\n", 0, 1,
        "0123456789012345678901234567890123456789012345678901234567890123456"
        "789012345678901234567890123456789"),
    OK_("*1\r\n$1\r\na\r\n*1\r\n$1\r\nb\r\n", 11, 1, "a"),
    OK_("*1\r\n$1\r\naXY*1\r\n$1\r\nb\r\n", 11, 1, "a"),
    AGAIN_("*2\r\n$1\r\na\r\n$1", 0),
    AGAIN_("*1\r\n$10\r\n0123456789\r", 0),
    PROTO_("*1\r\n$00\r\n\r\n", 0, "invalid bulk length"),
    PROTO_("*2\r\n$1\r\na\r\n:1\r\n", 0, "expected '$', got ':'"),
    PROTO_("*11\r\n$1\r\na\r\n", 1, "unauthenticated multibulk length"),
    PROTO_("*1\r\n$16385\r\n", 1, "unauthenticated bulk length"),
    OK_("*1\r\n$16\r\n0123456789abcdef\r\n", 0, 1, "0123456789abcdef"),
    AGAIN_("*1\r\n$3\r\nfoo", 0),
    AGAIN_("*2\r\n$3\r\nfoo\r\n", 0),
    AGAIN_("*1\r\n$3\r", 0),
    AGAIN_("*1\r\nX", 0),
    AGAIN_("*1", 0),
    AGAIN_("*2147483647\r\n", 0),
    AGAIN_("*1\r\n$536870912\r\n", 0),
    AGAIN_("*10\r\n", 1),
    AGAIN_("*1\r\n$16384\r\n", 1),
    /* multibulk errors, Redis's texts */
    PROTO_("*abc\r\n", 0, "invalid multibulk length"),
    PROTO_("*+1\r\n", 0, "invalid multibulk length"),
    PROTO_("*01\r\n", 0, "invalid multibulk length"),
    PROTO_("*-0\r\n", 0, "invalid multibulk length"),
    PROTO_("*\r\n", 0, "invalid multibulk length"),
    PROTO_("* 1\r\n", 0, "invalid multibulk length"),
    PROTO_("*2147483648\r\n", 0, "invalid multibulk length"),
    PROTO_("*99999999999999999999\r\n", 0, "invalid multibulk length"),
    PROTO_("*11\r\n", 1, "unauthenticated multibulk length"),
    PROTO_("*2147483648\r\n", 1, "invalid multibulk length"),
    PROTO_("*1\r\nX3\r\nfoo\r\n", 0, "expected '$', got 'X'"),
    PROTO_("*2\r\n$1\r\na\r\n:3\r\n", 0, "expected '$', got ':'"),
    /* CR and LF show as spaces, as addReplyErrorFormat maps them */
    PROTO_("*1\r\n\n$3\r\nfoo\r\n", 0, "expected '$', got ' '"),
    PROTO_("*1\r\n\r$3\r\nfoo\r\n", 0, "expected '$', got ' '"),
    PROTO_("*1\r\n$-1\r\n", 0, "invalid bulk length"),
    PROTO_("*1\r\n$abc\r\n", 0, "invalid bulk length"),
    PROTO_("*1\r\n$01\r\n", 0, "invalid bulk length"),
    PROTO_("*1\r\n$\r\n", 0, "invalid bulk length"),
    PROTO_("*1\r\n$536870913\r\n", 0, "invalid bulk length"),
    PROTO_("*1\r\n$4294967296\r\n", 0, "invalid bulk length"),
    PROTO_("*1\r\n$16385\r\n", 1, "unauthenticated bulk length"),
    /* inline */
    OK_("PING\r\n", 0, 1, "PING"),
    OK_("PING\n", 0, 1, "PING"),
    OK_("PING\r\nPING\r\n", 6, 1, "PING"),
    OK_("  set   a\tb  \r\n", 0, 3, "set", "a", "b"),
    OK_("set \"a b\" 'c d'\r\n", 0, 3, "set", "a b", "c d"),
    OK_("\"\\x41\"\n", 0, 1, "A"),
    OK_("\"\\x4\"\n", 0, 1, "x4"),
    OK_("\"\\xZZ\"\n", 0, 1, "xZZ"),
    {.in = "\"\\x00\"\n", .st = TS_OK, .argc = 1, .argv = {""}, .argl = {1}},
    OK_("\"a\\nb\\r\\t\\b\\a\\\\\\\"\\qc\"\n", 0, 1, "a\nb\r\t\b\a\\\"qc"),
    OK_("'it\\'s'\n", 0, 1, "it's"),
    OK_("'a\\nb'\n", 0, 1, "a\\nb"),
    OK_("ab\"c d\"\n", 0, 1, "abc d"),
    OK_("\"\" \"\"\n", 0, 2, "", ""),
    OK_("\"a\"\tb\n", 0, 2, "a", "b"),
    OK_("\"a\"\vb\n", 0, 2, "a", "b"),
    OK_("a\vb\n", 0, 1, "a\vb"),
    OK_("\va\n", 0, 1, "a"),
    OK_("a\r\r\n", 0, 1, "a"),
    {.in = "a\0b c\n", .n = 6, .st = TS_OK, .argc = 1, .argv = {"a"}},
    OK_("a\rb\n", 0, 2, "a", "b"),
    OK_("\r\n", 0, 0, NULL),
    OK_("\n", 0, 0, NULL),
    OK_("   \r\n", 0, 0, NULL),
    AGAIN_("PING", 0),
    AGAIN_("PING\r", 0),
    PROTO_("a\"b\"c\n", 0, "unbalanced quotes in request"),
    PROTO_("'a'b\n", 0, "unbalanced quotes in request"),
    PROTO_("set \"a b\r\n", 0, "unbalanced quotes in request"),
    PROTO_("set 'a\n", 0, "unbalanced quotes in request"),
    PROTO_("\"abc\\\"\n", 0, "unbalanced quotes in request"),
    PROTO_("\"abc\\\n", 0, "unbalanced quotes in request"),
    {.in = "\"a\0\"\n",
     .n = 5,
     .st = TS_PROTO,
     .err = PE "unbalanced quotes in request"},
};

static void expected_res(const req_case_t *c, res_t *want)
{
    size_t n = c->n ? c->n : strlen(c->in);
    resp_arg_t argv[4];

    res_init(want);
    want->st = c->st;
    if (c->err) snprintf(want->err, sizeof(want->err), "%s", c->err);
    if (c->st != TS_OK) return;
    want->consumed = c->consumed ? c->consumed : n;
    want->argc = c->argc;
    want->inline_cmd = c->in[0] != '*';
    for (int i = 0; i < c->argc; i++) {
        argv[i].ptr = c->argv[i];
        argv[i].len = c->argl[i] ? c->argl[i] : strlen(c->argv[i]);
    }
    resp_w_command(&want->args, c->argc, argv);
}

START_TEST(test_request_vectors)
{
    const req_case_t *c = &req_cases[_i];
    size_t n = c->n ? c->n : strlen(c->in);
    resp_limits_t lim;
    res_t want, got;

    resp_limits_default(&lim);
    lim.unauthenticated = c->unauth;
    expected_res(c, &want);
    parse_once(c->in, n, &lim, &got);
    res_eq(&got, &want);
    check_splits(c->in, n, &lim, &want);
    buf_deinit(&want.args);
    buf_deinit(&got.args);
}
END_TEST

/*
 * Random near-valid commands: the one-pass path (whole input at once)
 * and the general path (the same bytes cut in two, so the first call
 * leaves state behind) must give the same answer at every cut.
 */
static unsigned long long rnd_state = 0x9E3779B97F4A7C15ull;

static unsigned rnd(unsigned n)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return (unsigned)(rnd_state % n);
}

/* A command of 1..3 short arguments, then up to two random byte edits
 * and maybe a cut; returns its length. */
static size_t random_command(char *out, size_t cap)
{
    static const char bytes[] = "*$:+0123456789\r\nab";
    static const char *const args[] = {"GET", "k", "", "0123456789", "a\r\nb"};
    int argc = 1 + (int)rnd(3);
    size_t n = (size_t)snprintf(out, cap, "*%d\r\n", argc);

    for (int i = 0; i < argc; i++) {
        const char *a = args[rnd(5)];
        n += (size_t)snprintf(out + n, cap - n, "$%zu\r\n%s\r\n", strlen(a), a);
    }
    for (unsigned e = rnd(3); e > 0; e--)
        out[rnd((unsigned)n)] = bytes[rnd(sizeof(bytes) - 1)];
    if (rnd(4) == 0) n = rnd((unsigned)n + 1);
    return n;
}

START_TEST(test_request_fast_path_random)
{
    char in[128];
    resp_limits_t lim;

    resp_limits_default(&lim);
    for (int iter = 0; iter < 2000; iter++) {
        size_t n = random_command(in, sizeof(in));
        res_t want, got;
        lim.unauthenticated = (int)rnd(2);
        parse_once(in, n, &lim, &want);
        for (size_t k = 1; k < n; k++) {
            size_t two[2] = {k, n};
            parse_cuts(in, &lim, two, 2, &got);
            res_eq(&got, &want);
            buf_deinit(&got.args);
        }
        buf_deinit(&want.args);
    }
}
END_TEST

/* ---- request limits --------------------------------------------------- */

static ts_status_t parse_str(resp_req_t *r, char *s, size_t n,
                             const resp_limits_t *lim, size_t *consumed,
                             const char **err)
{
    return resp_parse_request(r, s, n, lim, consumed, err);
}

/* n copies of c after a prefix, in a malloc'd buffer. */
static char *repeat(const char *prefix, char c, size_t n, size_t *len)
{
    size_t p = strlen(prefix);
    char *s = malloc(p + n + 1);

    memcpy(s, prefix, p);
    memset(s + p, c, n);
    s[p + n] = '\0';
    *len = p + n;
    return s;
}

static void check_too_big(const char *prefix, char fill, size_t max_inline,
                          const char *text)
{
    resp_limits_t lim;
    resp_req_t r;
    size_t len, consumed;
    const char *err = NULL;
    char *s;

    resp_limits_default(&lim);
    lim.max_inline = max_inline;
    /* exactly max_inline bytes waiting: still waiting */
    s = repeat(prefix, fill, max_inline - strlen(prefix), &len);
    resp_req_init(&r);
    ck_assert_int_eq(parse_str(&r, s, len, &lim, &consumed, &err), TS_AGAIN);
    resp_req_deinit(&r);
    free(s);
    /* one more: the error */
    s = repeat(prefix, fill, max_inline - strlen(prefix) + 1, &len);
    resp_req_init(&r);
    ck_assert_int_eq(parse_str(&r, s, len, &lim, &consumed, &err), TS_PROTO);
    ck_assert_str_eq(err, text);
    resp_req_deinit(&r);
    free(s);
}

START_TEST(test_too_big_lines)
{
    check_too_big("GET ", 'a', RESP_DEFAULT_MAX_INLINE,
                  PE "too big inline request");
    check_too_big("*", '1', RESP_DEFAULT_MAX_INLINE,
                  PE "too big mbulk count string");
    check_too_big("*", '1', 16, PE "too big mbulk count string");
    check_too_big("GET ", 'a', 16, PE "too big inline request");
}
END_TEST

/* Redis measures the bytes waiting from the header, not the line. */
START_TEST(test_too_big_bulk_count)
{
    resp_limits_t lim;
    resp_req_t r;
    size_t len, consumed;
    const char *err = NULL;
    char *s = repeat("*1\r\n$", '1', 16, &len);

    resp_limits_default(&lim);
    lim.max_inline = 17;
    resp_req_init(&r);
    ck_assert_int_eq(parse_str(&r, s, len, &lim, &consumed, &err), TS_AGAIN);
    free(s);
    s = repeat("*1\r\n$", '1', 17, &len);
    ck_assert_int_eq(parse_str(&r, s, len, &lim, &consumed, &err), TS_PROTO);
    ck_assert_str_eq(err, PE "too big bulk count string");
    resp_req_deinit(&r);
    free(s);
}
END_TEST

/* A complete line longer than the limit is fine: Redis only checks when
 * no line end is in sight. */
START_TEST(test_long_line_with_end_is_accepted)
{
    resp_req_t r;
    size_t len, consumed;
    const char *err = NULL;
    char *s = repeat("GET ", 'a', 70000, &len);

    s = realloc(s, len + 2);
    s[len++] = '\n';
    resp_req_init(&r);
    ck_assert_int_eq(parse_str(&r, s, len, NULL, &consumed, &err), TS_OK);
    ck_assert_int_eq(r.argc, 2);
    ck_assert_uint_eq(r.argv[1].len, 70000);
    ck_assert_uint_eq(consumed, len);
    resp_req_deinit(&r);
    free(s);
}
END_TEST

START_TEST(test_huge_bulk_allocates_nothing)
{
    char warm[] = "*1\r\n$1\r\na\r\n";
    char big[] = "*1\r\n$4294967296\r\n";
    resp_limits_t lim;
    resp_req_t r;
    size_t consumed, used;
    const char *err = NULL;

    resp_limits_default(&lim);
    resp_req_init(&r);
    ck_assert_int_eq(parse_str(&r, warm, strlen(warm), &lim, &consumed, &err),
                     TS_OK);
    used = ts_used_memory();
    ck_assert_int_eq(parse_str(&r, big, strlen(big), &lim, &consumed, &err),
                     TS_PROTO);
    ck_assert_str_eq(err, PE "invalid bulk length");
    ck_assert_uint_eq(ts_used_memory(), used);
    /* with no limit (a replication master) it waits, still for free */
    resp_req_reset(&r);
    lim.max_bulk_len = LLONG_MAX;
    ck_assert_int_eq(parse_str(&r, big, strlen(big), &lim, &consumed, &err),
                     TS_AGAIN);
    ck_assert_uint_eq(ts_used_memory(), used);
    resp_req_deinit(&r);
}
END_TEST

START_TEST(test_huge_argc_not_preallocated)
{
    char hdr[] = "*2000000000\r\n";
    size_t n = 3000, len = strlen(hdr) + n * 7, consumed, used;
    char *s = malloc(len);
    const char *err = NULL;
    resp_req_t r;

    memcpy(s, hdr, strlen(hdr));
    for (size_t i = 0; i < n; i++)
        memcpy(s + strlen(hdr) + i * 7, "$1\r\nx\r\n", 7);
    resp_req_init(&r);
    used = ts_used_memory();
    ck_assert_int_eq(parse_str(&r, s, strlen(hdr), NULL, &consumed, &err),
                     TS_AGAIN);
    ck_assert_int_le(r.argv_cap, 1024);
    ck_assert_uint_le(ts_used_memory() - used,
                      1024 * (sizeof(resp_arg_t) + sizeof(size_t)) + 256);
    /* arrays follow the arguments that really arrive */
    ck_assert_int_eq(parse_str(&r, s, len, NULL, &consumed, &err), TS_AGAIN);
    ck_assert_int_ge(r.argv_cap, 3001);
    ck_assert_int_le(r.argv_cap, 4096);
    resp_req_deinit(&r);
    free(s);
}
END_TEST

START_TEST(test_max_multibulk_limit)
{
    char s[] = "*6\r\n";
    resp_limits_t lim;
    resp_req_t r;
    size_t consumed;
    const char *err = NULL;

    resp_limits_default(&lim);
    lim.max_multibulk = 5;
    resp_req_init(&r);
    ck_assert_int_eq(parse_str(&r, s, 4, &lim, &consumed, &err), TS_PROTO);
    ck_assert_str_eq(err, PE "invalid multibulk length");
    lim.max_bulk_len = 2;
    char t[] = "*1\r\n$3\r\nabc\r\n";
    ck_assert_int_eq(parse_str(&r, t, strlen(t), &lim, &consumed, &err),
                     TS_PROTO);
    ck_assert_str_eq(err, PE "invalid bulk length");
    resp_req_deinit(&r);
}
END_TEST

/* Steady state: the second command of a connection allocates nothing. */
START_TEST(test_argv_reused)
{
    char a[] = "*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
    char b[] = "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n";
    char c[] = "set k v\r\n";
    resp_req_t r;
    size_t consumed, used;
    const char *err = NULL;
    resp_arg_t *argv;

    resp_req_init(&r);
    ck_assert_int_eq(parse_str(&r, a, strlen(a), NULL, &consumed, &err), TS_OK);
    argv = r.argv;
    used = ts_used_memory();
    for (int i = 0; i < 100; i++) {
        ck_assert_int_eq(parse_str(&r, b, strlen(b), NULL, &consumed, &err),
                         TS_OK);
        ck_assert_int_eq(r.argc, 2);
        ck_assert_int_eq(parse_str(&r, c, strlen(c), NULL, &consumed, &err),
                         TS_OK);
        ck_assert_int_eq(r.argc, 3);
    }
    ck_assert_ptr_eq(r.argv, argv);
    ck_assert_uint_eq(ts_used_memory(), used);
    resp_req_deinit(&r);
}
END_TEST

/* A multibulk of n x "$3\r\nabc\r\n" in one buffer. */
static char *big_command(size_t n, size_t *len)
{
    char hdr[32];
    size_t h = (size_t)snprintf(hdr, sizeof(hdr), "*%zu\r\n", n);
    char *s = malloc(h + n * 9);

    memcpy(s, hdr, h);
    for (size_t i = 0; i < n; i++)
        memcpy(s + h + i * 9, "$3\r\nabc\r\n", 9);
    *len = h + n * 9;
    return s;
}

/*
 * Fed one byte at a time, a 100k-argument command (900 KB) takes ~900k
 * calls; any rescanning from the command start would make that ~4e11
 * byte visits and time out.
 */
START_TEST(test_linear_byte_by_byte)
{
    size_t n = 100000, len, consumed = 0;
    char *s = big_command(n, &len);
    const char *err = NULL;
    resp_req_t r;
    ts_status_t st = TS_AGAIN;

    resp_req_init(&r);
    for (size_t k = 1; k <= len; k++) {
        st = parse_str(&r, s, k, NULL, &consumed, &err);
        if (k < len) ck_assert_int_eq(st, TS_AGAIN);
    }
    ck_assert_int_eq(st, TS_OK);
    ck_assert_uint_eq(consumed, len);
    ck_assert_int_eq(r.argc, (int)n);
    ck_assert_mem_eq(r.argv[n - 1].ptr, "abc", 3);
    free(s);
    /* a long inline line too: the search resumes where it stopped */
    s = repeat("GET ", 'a', 60000, &len);
    s[len - 1] = '\n';
    for (size_t k = 1; k <= len; k++)
        st = parse_str(&r, s, k, NULL, &consumed, &err);
    ck_assert_int_eq(st, TS_OK);
    ck_assert_int_eq(r.argc, 2);
    resp_req_deinit(&r);
    free(s);
}
END_TEST

/* 16 KB reads of a 1M-argument MSET-like command, moving the buffer. */
START_TEST(test_big_command_in_reads)
{
    size_t n = 1000000, len, consumed = 0, k = 0;
    char *s = big_command(n, &len);
    const char *err = NULL;
    resp_req_t r;
    ts_status_t st = TS_AGAIN;

    resp_req_init(&r);
    while (st == TS_AGAIN) {
        k = k + 16384 < len ? k + 16384 : len;
        st = parse_str(&r, s, k, NULL, &consumed, &err);
    }
    ck_assert_int_eq(st, TS_OK);
    ck_assert_uint_eq(k, len);
    ck_assert_int_eq(r.argc, (int)n);
    size_t bad = 0;
    for (size_t i = 0; i < n; i++)
        bad += r.argv[i].len != 3 || r.argv[i].ptr != s + len - (n - i) * 9 + 4;
    ck_assert_uint_eq(bad, 0);
    /* arrays of a giant command are given back before the next one */
    char small[] = "*1\r\n$4\r\nPING\r\n";
    ck_assert_int_eq(parse_str(&r, small, strlen(small), NULL, &consumed, &err),
                     TS_OK);
    ck_assert_int_le(r.argv_cap, 1024);
    resp_req_deinit(&r);
    free(s);
}
END_TEST

START_TEST(test_inline_in_place)
{
    char s[] = "set \"a\\x41\" b\r\n";
    resp_req_t r;
    size_t consumed;
    const char *err = NULL;

    resp_req_init(&r);
    ck_assert_int_eq(parse_str(&r, s, strlen(s), NULL, &consumed, &err), TS_OK);
    ck_assert_int_eq(r.inline_cmd, 1);
    ck_assert_int_eq(r.argc, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert(r.argv[i].ptr >= s);
        ck_assert(r.argv[i].ptr + r.argv[i].len <= s + sizeof(s));
    }
    ck_assert_mem_eq(r.argv[1].ptr, "aA", 2);
    ck_assert_uint_eq(r.argv[1].len, 2);
    resp_req_deinit(&r);
}
END_TEST

START_TEST(test_reset_forgets_partial)
{
    char part[] = "*2\r\n$3\r\nfoo\r\n";
    char full[] = "*1\r\n$3\r\nbar\r\n";
    resp_req_t r;
    size_t consumed;
    const char *err = NULL;

    resp_req_init(&r);
    ck_assert_int_eq(parse_str(&r, part, strlen(part), NULL, &consumed, &err),
                     TS_AGAIN);
    resp_req_reset(&r);
    ck_assert_int_eq(parse_str(&r, full, strlen(full), NULL, &consumed, &err),
                     TS_OK);
    ck_assert_int_eq(r.argc, 1);
    ck_assert_mem_eq(r.argv[0].ptr, "bar", 3);
    resp_req_deinit(&r);
}
END_TEST

/* ---- integers ------------------------------------------------------- */

START_TEST(test_str2ll)
{
    static const struct {
        const char *s;
        int ok;
        long long v;
    } c[] = {
        {"0", 1, 0},
        {"1", 1, 1},
        {"-1", 1, -1},
        {"9223372036854775807", 1, LLONG_MAX},
        {"-9223372036854775808", 1, LLONG_MIN},
        {"9223372036854775808", 0, 0},
        {"-9223372036854775809", 0, 0},
        {"18446744073709551615", 0, 0},
        {"18446744073709551616", 0, 0},
        {"99999999999999999999", 0, 0},
        {"123456789012345678901", 0, 0},
        {"1234567890123456789", 1, 1234567890123456789LL},
        {"-0", 0, 0},
        {"+1", 0, 0},
        {"01", 0, 0},
        {"00", 0, 0},
        {" 1", 0, 0},
        {"1 ", 0, 0},
        {"", 0, 0},
        {"-", 0, 0},
        {"1a", 0, 0},
        {"a", 0, 0},
        {"1.0", 0, 0},
        {"--1", 0, 0},
    };
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        long long v = 12345;
        int ok = resp_str2ll(c[i].s, strlen(c[i].s), &v);
        ck_assert_msg(ok == c[i].ok, "str2ll(\"%s\")", c[i].s);
        if (ok) ck_assert_int_eq(v, c[i].v);
        ck_assert_int_eq(resp_str2ll(c[i].s, strlen(c[i].s), NULL), c[i].ok);
    }
    ck_assert_int_eq(resp_str2ll("12\0", 3, NULL), 0);
}
END_TEST

static void check_ll(long long v)
{
    char want[32], got[32];
    size_t n = (size_t)snprintf(want, sizeof(want), "%lld", v);
    long long back;

    ck_assert_uint_eq(resp_ll2str(got, v), n);
    ck_assert_mem_eq(got, want, n);
    ck_assert(resp_str2ll(got, n, &back) && back == v);
}

static void check_ull(unsigned long long v)
{
    char want[32], got[32];
    size_t n = (size_t)snprintf(want, sizeof(want), "%llu", v);

    ck_assert_uint_eq(resp_ull2str(got, v), n);
    ck_assert_mem_eq(got, want, n);
}

START_TEST(test_ll2str)
{
    unsigned long long p = 1;

    check_ll(0);
    check_ll(LLONG_MAX);
    check_ll(LLONG_MIN);
    check_ull(ULLONG_MAX);
    for (int i = 0; i < 20; i++, p *= 10) {
        check_ull(p);
        check_ull(p - 1);
        check_ull(p + 1);
        if (p <= LLONG_MAX) {
            check_ll((long long)p);
            check_ll(-(long long)p);
            check_ll((long long)p - 1);
            check_ll(1 - (long long)p);
        }
    }
    srand(42);
    for (int i = 0; i < 100000; i++) {
        unsigned long long v = ((unsigned long long)rand() << 42) ^
                               ((unsigned long long)rand() << 21) ^
                               (unsigned long long)rand();
        v >>= rand() % 64;
        check_ull(v);
        check_ll((long long)v);
    }
}
END_TEST

/* ---- reply scanner ---------------------------------------------------- */

typedef struct reply_case {
    const char *in;
    ts_status_t st;
    size_t consumed; /* 0: strlen(in) */
    const char *err;
} reply_case_t;

static const reply_case_t reply_cases[] = {
    {"+OK\r\n", TS_OK, 0, NULL},
    {"+\r\n", TS_OK, 0, NULL},
    {"-ERR x\r\n", TS_OK, 0, NULL},
    {":123\r\n", TS_OK, 0, NULL},
    {":-9223372036854775808\r\n", TS_OK, 0, NULL},
    {"$3\r\nfoo\r\n", TS_OK, 0, NULL},
    {"$0\r\n\r\n", TS_OK, 0, NULL},
    {"$4\r\n\r\n\r\n\r\n", TS_OK, 0, NULL},
    {"$-1\r\n", TS_OK, 0, NULL},
    {"*-1\r\n", TS_OK, 0, NULL},
    {"*0\r\n", TS_OK, 0, NULL},
    {"*2\r\n:1\r\n:2\r\n", TS_OK, 0, NULL},
    {"*2\r\n*1\r\n+a\r\n$-1\r\n", TS_OK, 0, NULL},
    {"*3\r\n*0\r\n*-1\r\n_\r\n", TS_OK, 0, NULL},
    {"%1\r\n+k\r\n:1\r\n", TS_OK, 0, NULL},
    {"%0\r\n", TS_OK, 0, NULL},
    {"~2\r\n:1\r\n:2\r\n", TS_OK, 0, NULL},
    {">2\r\n+message\r\n$1\r\nx\r\n", TS_OK, 0, NULL},
    {"_\r\n", TS_OK, 0, NULL},
    {",3.14\r\n", TS_OK, 0, NULL},
    {",inf\r\n", TS_OK, 0, NULL},
    {",-inf\r\n", TS_OK, 0, NULL},
    {",nan\r\n", TS_OK, 0, NULL},
    {",1e10\r\n", TS_OK, 0, NULL},
    {",-0\r\n", TS_OK, 0, NULL},
    {"#t\r\n", TS_OK, 0, NULL},
    {"#f\r\n", TS_OK, 0, NULL},
    {"(12345678901234567890123\r\n", TS_OK, 0, NULL},
    {"(-1\r\n", TS_OK, 0, NULL},
    {"=8\r\ntxt:abcd\r\n", TS_OK, 0, NULL},
    {"=4\r\nmkd:\r\n", TS_OK, 0, NULL},
    {"!5\r\nERR x\r\n", TS_OK, 0, NULL},
    {"|1\r\n+key\r\n+val\r\n:42\r\n", TS_OK, 0, NULL},
    {"|0\r\n:1\r\n", TS_OK, 0, NULL},
    {"*2\r\n|1\r\n+a\r\n+b\r\n:1\r\n:2\r\n", TS_OK, 0, NULL},
    {"|1\r\n|1\r\n+a\r\n+b\r\n+c\r\n+d\r\n+e\r\n", TS_OK, 0, NULL},
    {"$1\r\na\r\n+next\r\n", TS_OK, 7, NULL},
    /* shapes of resp_scan_reply's one-pass path (1, 2, 3+ digit lengths) */
    {"$10\r\n0123456789\r\n", TS_OK, 0, NULL},
    {"$100\r\n0123456789012345678901234567890123456789012345678901234567890"
     "123456789012345678901234567890123456789\r\n", TS_OK, 0, NULL},
    {":0\r\n", TS_OK, 0, NULL},
    {":10\r\n", TS_OK, 0, NULL},
    {":10\r\n:1\r\n", TS_OK, 5, NULL},
    {"+OK\r\n+OK\r\n", TS_OK, 5, NULL},
    {"$3\r\nfoo\r\n$1\r\n", TS_OK, 9, NULL},
    {"$10\r\n01234", TS_AGAIN, 0, NULL},
    {"$2\r\na\r\n", TS_AGAIN, 0, NULL},
    {":1\rX", TS_PROTO, 0, PE "expected CRLF"},
    {"$1\rXa\r\n", TS_PROTO, 0, PE "expected CRLF"},
    {"$01\r\na\r\n", TS_PROTO, 0, PE "invalid bulk length"},
    {"$00\r\n\r\n", TS_PROTO, 0, PE "invalid bulk length"},
    {"$1\r\nab\r\n", TS_PROTO, 0, PE "bulk not followed by CRLF"},
    {"$10\r\n0123456789\n\r", TS_PROTO, 0, PE "bulk not followed by CRLF"},
    {"*1\r\n:1\r\n:2\r\n", TS_OK, 8, NULL},
    {"+OK", TS_AGAIN, 0, NULL},
    {"+OK\r", TS_AGAIN, 0, NULL},
    {"$3\r\nfoo\r", TS_AGAIN, 0, NULL},
    {"*2\r\n:1\r\n", TS_AGAIN, 0, NULL},
    {"|1\r\n+a\r\n+b\r\n", TS_AGAIN, 0, NULL},
    {":12345678901234567890", TS_AGAIN, 0, NULL},
    {"", TS_AGAIN, 0, NULL},
    {"+OK\rX", TS_PROTO, 0, PE "expected CRLF"},
    {":abc\r\n", TS_PROTO, 0, PE "invalid integer"},
    {":01\r\n", TS_PROTO, 0, PE "invalid integer"},
    {":\r\n", TS_PROTO, 0, PE "invalid integer"},
    {":123456789012345678901", TS_PROTO, 0, PE "invalid integer"},
    {"$-2\r\n", TS_PROTO, 0, PE "invalid bulk length"},
    {"$x\r\n", TS_PROTO, 0, PE "invalid bulk length"},
    {"!-1\r\n", TS_PROTO, 0, PE "invalid bulk length"},
    {"$3\r\nfooXY", TS_PROTO, 0, PE "bulk not followed by CRLF"},
    {"=3\r\ntxt\r\n", TS_PROTO, 0, PE "invalid verbatim string"},
    {"=5\r\ntxtab\r\n", TS_PROTO, 0, PE "invalid verbatim string"},
    {"=-1\r\n", TS_PROTO, 0, PE "invalid bulk length"},
    {"*-2\r\n", TS_PROTO, 0, PE "invalid multibulk length"},
    {"%-1\r\n", TS_PROTO, 0, PE "invalid multibulk length"},
    {"~-1\r\n", TS_PROTO, 0, PE "invalid multibulk length"},
    {"%9223372036854775807\r\n", TS_PROTO, 0, PE "invalid multibulk length"},
    {"_x\r\n", TS_PROTO, 0, PE "invalid null"},
    {",abc\r\n", TS_PROTO, 0, PE "invalid double"},
    {",\r\n", TS_PROTO, 0, PE "invalid double"},
    {",0x10\r\n", TS_PROTO, 0, PE "invalid double"},
    {", 1\r\n", TS_PROTO, 0, PE "invalid double"},
    {"#x\r\n", TS_PROTO, 0, PE "invalid boolean"},
    {"#tt\r\n", TS_PROTO, 0, PE "invalid boolean"},
    {"(1a\r\n", TS_PROTO, 0, PE "invalid big number"},
    {"(\r\n", TS_PROTO, 0, PE "invalid big number"},
    {"?x\r\n", TS_PROTO, 0, PE "invalid reply type byte"},
    {"*2\r\n:1\r\nX\r\n", TS_PROTO, 0, PE "invalid reply type byte"},
};

typedef struct sres {
    ts_status_t st;
    size_t consumed;
    char err[128];
} sres_t;

/* Scan with the prefixes cuts[], keeping the state, each in a fresh copy. */
static sres_t scan_cuts(const char *in, const size_t *cuts, size_t ncuts)
{
    sres_t out = {TS_AGAIN, 0, ""};
    resp_scan_t s;

    resp_scan_init(&s);
    for (size_t i = 0; i < ncuts; i++) {
        size_t len = cuts[i];
        const char *err = NULL;
        char *copy = exact_copy(in, len);
        out.st = resp_scan_reply(&s, copy, len, &out.consumed, &err);
        if (out.st == TS_PROTO) snprintf(out.err, sizeof(out.err), "%s", err);
        free(copy);
        if (out.st != TS_AGAIN) break;
    }
    return out;
}

static void sres_eq(const sres_t *a, const sres_t *b)
{
    ck_assert_int_eq(a->st, b->st);
    ck_assert_str_eq(a->err, b->err);
    if (a->st == TS_OK) ck_assert_uint_eq(a->consumed, b->consumed);
}

typedef struct scan_ctx {
    const char *in;
    const sres_t *want;
} scan_ctx_t;

static void scan_cuts_eq(const size_t *cuts, size_t ncuts, void *ctx)
{
    const scan_ctx_t *c = ctx;
    sres_t got = scan_cuts(c->in, cuts, ncuts);

    sres_eq(&got, c->want);
}

/* The scanner at every split and byte by byte agrees with one shot and
 * with resp_parse_value. */
static void check_scan(const char *in, size_t n, const sres_t *want)
{
    scan_ctx_t c = {in, want};
    resp_value_t *v = NULL;
    size_t consumed = 0;
    const char *err = NULL;

    scan_cuts_eq(&n, 1, &c);
    each_split(n, scan_cuts_eq, &c);
    ck_assert_int_eq(resp_parse_value(in, n, &v, &consumed, &err), want->st);
    if (want->st == TS_OK) ck_assert_uint_eq(consumed, want->consumed);
    if (want->st == TS_PROTO) ck_assert_str_eq(err, want->err);
    ck_assert((v != NULL) == (want->st == TS_OK));
    resp_value_free(v);
}

START_TEST(test_reply_vectors)
{
    const reply_case_t *c = &reply_cases[_i];
    size_t n = strlen(c->in);
    sres_t want = {c->st, c->consumed ? c->consumed : n, ""};

    if (c->err) snprintf(want.err, sizeof(want.err), "%s", c->err);
    check_scan(c->in, n, &want);
}
END_TEST

static char *nested(int depth, const char *leaf, size_t *len)
{
    size_t l = strlen(leaf);
    char *s = malloc((size_t)depth * 4 + l + 1);

    for (int i = 0; i < depth; i++)
        memcpy(s + i * 4, "*1\r\n", 4);
    memcpy(s + depth * 4, leaf, l + 1);
    *len = (size_t)depth * 4 + l;
    return s;
}

START_TEST(test_reply_depth)
{
    size_t len;
    char *s = nested(RESP_MAX_DEPTH, ":1\r\n", &len);
    sres_t ok = {TS_OK, len, ""};
    sres_t deep = {TS_PROTO, 0, PE "too deep"};

    check_scan(s, len, &ok);
    free(s);
    s = nested(RESP_MAX_DEPTH + 1, ":1\r\n", &len);
    check_scan(s, len, &deep);
    free(s);
    /* an empty aggregate opens no level */
    s = nested(RESP_MAX_DEPTH, "*0\r\n", &len);
    ok.consumed = len;
    check_scan(s, len, &ok);
    free(s);
    /* attributes are levels too */
    s = nested(RESP_MAX_DEPTH, "|0\r\n:1\r\n", &len);
    check_scan(s, len, &deep);
    free(s);
}
END_TEST

/* Scan the reply s[0, len) fed one byte more per call: one reply of
 * exactly len bytes. */
static void scan_byte_by_byte(const char *s, size_t len)
{
    size_t consumed = 0;
    const char *err;
    resp_scan_t sc;
    ts_status_t st = TS_AGAIN;

    resp_scan_init(&sc);
    for (size_t k = 0; k <= len && st == TS_AGAIN; k++)
        st = resp_scan_reply(&sc, s, k, &consumed, &err);
    ck_assert_int_eq(st, TS_OK);
    ck_assert_uint_eq(consumed, len);
}

/* A 200k-element reply and a 1 MB bulk, byte by byte: linear. */
START_TEST(test_scan_linear_byte_by_byte)
{
    size_t len, h;
    char *s = big_command(200000, &len); /* also a valid reply */

    scan_byte_by_byte(s, len);
    free(s);

    len = 1 << 20;
    s = malloc(len + 32);
    h = (size_t)snprintf(s, 32, "$%zu\r\n", len);
    memset(s + h, 'x', len);
    memcpy(s + h + len, "\r\n", 2);
    scan_byte_by_byte(s, h + len + 2);
    free(s);
}
END_TEST

/* ---- reply tree ------------------------------------------------------- */

static resp_value_t *parse_ok(const char *in)
{
    resp_value_t *v = NULL;
    size_t consumed = 0;
    const char *err = NULL;

    ck_assert_int_eq(resp_parse_value(in, strlen(in), &v, &consumed, &err),
                     TS_OK);
    ck_assert_uint_eq(consumed, strlen(in));
    return v;
}

static void ck_str(const resp_value_t *v, resp_type_t t, const char *s)
{
    ck_assert_int_eq(v->type, t);
    ck_assert_uint_eq(v->len, strlen(s));
    ck_assert_mem_eq(v->str, s, v->len);
}

START_TEST(test_parse_tree)
{
    const char *in = "*9\r\n+OK\r\n-ERR bad\r\n:-42\r\n$3\r\nfoo\r\n$-1\r\n"
                     "*-1\r\n%2\r\n+a\r\n:1\r\n+b\r\n~1\r\n_\r\n"
                     "=8\r\ntxt:abcd\r\n(123456789012345678901\r\n";
    resp_value_t *v = parse_ok(in), *m;

    ck_assert_int_eq(v->type, RESP_ARRAY);
    ck_assert_uint_eq(v->nelem, 9);
    ck_str(&v->elem[0], RESP_SIMPLE, "OK");
    ck_str(&v->elem[1], RESP_ERROR, "ERR bad");
    ck_assert_int_eq(v->elem[2].type, RESP_INT);
    ck_assert_int_eq(v->elem[2].integer, -42);
    ck_str(&v->elem[3], RESP_BULK, "foo");
    ck_assert(v->elem[3].str == in + 29); /* not copied */
    ck_assert_int_eq(v->elem[4].type, RESP_NULL);
    ck_assert_int_eq(v->elem[5].type, RESP_NULL);
    m = &v->elem[6];
    ck_assert_int_eq(m->type, RESP_MAP);
    ck_assert_uint_eq(m->nelem, 4);
    ck_str(&m->elem[0], RESP_SIMPLE, "a");
    ck_assert_int_eq(m->elem[1].integer, 1);
    ck_str(&m->elem[2], RESP_SIMPLE, "b");
    ck_assert_int_eq(m->elem[3].type, RESP_SET);
    ck_assert_uint_eq(m->elem[3].nelem, 1);
    ck_assert_int_eq(m->elem[3].elem[0].type, RESP_NULL);
    ck_str(&v->elem[7], RESP_VERBATIM, "abcd");
    ck_assert_mem_eq(v->elem[7].str - 4, "txt:", 4);
    ck_str(&v->elem[8], RESP_BIGNUM, "123456789012345678901");
    resp_value_free(v);

    v = parse_ok("*4\r\n,1.5\r\n,-inf\r\n#t\r\n#f\r\n");
    ck_assert(v->elem[0].type == RESP_DOUBLE && v->elem[0].dbl == 1.5);
    ck_assert(isinf(v->elem[1].dbl) && v->elem[1].dbl < 0);
    ck_assert(v->elem[2].type == RESP_BOOL && v->elem[2].integer == 1);
    ck_assert(v->elem[3].type == RESP_BOOL && v->elem[3].integer == 0);
    resp_value_free(v);

    v = parse_ok(",nan\r\n");
    ck_assert(isnan(v->dbl));
    resp_value_free(v);
    resp_value_free(NULL);
}
END_TEST

/* Attributes describe the value after them; the tree keeps the value. */
START_TEST(test_parse_attribute_skipped)
{
    resp_value_t *v = parse_ok("|1\r\n+ttl\r\n:5\r\n*2\r\n|1\r\n+a\r\n*1\r\n"
                               ":0\r\n:1\r\n:2\r\n");

    ck_assert_int_eq(v->type, RESP_ARRAY);
    ck_assert_uint_eq(v->nelem, 2);
    ck_assert(v->elem[0].type == RESP_INT && v->elem[0].integer == 1);
    ck_assert(v->elem[1].type == RESP_INT && v->elem[1].integer == 2);
    resp_value_free(v);
}
END_TEST

START_TEST(test_parse_again_and_error)
{
    resp_value_t *v = (resp_value_t *)1;
    size_t consumed = 0;
    const char *err = NULL;

    ck_assert_int_eq(resp_parse_value("*2\r\n:1\r\n", 8, &v, &consumed, &err),
                     TS_AGAIN);
    ck_assert_ptr_null(v);
    ck_assert_int_eq(resp_parse_value("*1\r\n?\r\n", 7, &v, &consumed, &err),
                     TS_PROTO);
    ck_assert_ptr_null(v);
    ck_assert_str_eq(err, PE "invalid reply type byte");
}
END_TEST

/* ---- writers ------------------------------------------------------------ */

static void ck_buf(buf_t *b, const char *want)
{
    ck_assert_uint_eq(buf_len(b), strlen(want));
    ck_assert_mem_eq(buf_rptr(b), want, strlen(want));
    buf_clear(b);
}

START_TEST(test_writers_known_answers)
{
    buf_t b;
    resp_arg_t argv[2] = {{"GET", 3}, {"k", 1}};

    buf_init(&b);
    resp_w_simple(&b, "OK", 2);
    ck_buf(&b, "+OK\r\n");
    resp_w_error(&b, "ERR a\r\nb\rc\nd", 12);
    ck_buf(&b, "-ERR a  b c d\r\n");
    resp_w_error(&b, "-WRONGTYPE x", 12);
    ck_buf(&b, "-WRONGTYPE x\r\n");
    resp_w_int(&b, LLONG_MIN);
    ck_buf(&b, ":-9223372036854775808\r\n");
    resp_w_bulk(&b, "a\r\nb", 4);
    ck_buf(&b, "$4\r\na\r\nb\r\n");
    resp_w_bulk(&b, "", 0);
    ck_buf(&b, "$0\r\n\r\n");
    resp_w_agg(&b, '%', 3);
    ck_buf(&b, "%3\r\n");
    resp_w_agg(&b, '|', 1);
    ck_buf(&b, "|1\r\n");
    resp_w_bool(&b, 1, 3);
    resp_w_bool(&b, 0, 3);
    ck_buf(&b, "#t\r\n#f\r\n");
    resp_w_bool(&b, 1, 2);
    resp_w_bool(&b, 0, 2);
    ck_buf(&b, ":1\r\n:0\r\n");
    resp_w_null(&b, 3);
    resp_w_null_array(&b, 3);
    ck_buf(&b, "_\r\n_\r\n");
    resp_w_null(&b, 2);
    resp_w_null_array(&b, 2);
    ck_buf(&b, "$-1\r\n*-1\r\n");
    resp_w_verbatim(&b, "hi", 2, "txt", 3);
    ck_buf(&b, "=6\r\ntxt:hi\r\n");
    resp_w_verbatim(&b, "hi", 2, "mkd", 2);
    ck_buf(&b, "$2\r\nhi\r\n");
    resp_w_command(&b, 2, argv);
    ck_buf(&b, "*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    buf_deinit(&b);
}
END_TEST

START_TEST(test_double_format)
{
    static const struct {
        double d;
        const char *text;
    } c[] = {
        {3.0, "3"},
        {-3.0, "-3"},
        {0.0, "0"},
        {-0.0, "-0"},
        {3.5, "3.5"},
        {0.1, "0.10000000000000001"},
        {1e20, "1e+20"},
        {1e16, "10000000000000000"},
        {9007199254740993.0, "9007199254740992"},
        {1.5e-300, "1.5000000000000001e-300"},
        {123456789.125, "123456789.125"},
        {-1.25e-5, "-1.2500000000000001e-05"},
        {1e308, "1e+308"},
        {12345678901234567.0, "12345678901234568"},
    };
    buf_t b;
    char want[64];

    buf_init(&b);
    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        size_t tl = strlen(c[i].text);
        want[0] = ',';
        memcpy(want + 1, c[i].text, tl);
        memcpy(want + 1 + tl, "\r\n", 3);
        resp_w_double(&b, c[i].d, 3);
        ck_buf(&b, want);
        size_t hl = (size_t)snprintf(want, sizeof(want), "$%zu\r\n", tl);
        memcpy(want + hl, c[i].text, tl);
        memcpy(want + hl + tl, "\r\n", 3);
        resp_w_double(&b, c[i].d, 2);
        ck_buf(&b, want);
        /* and %.17g is what Redis 7.0 prints */
        snprintf(want, sizeof(want), "%.17g", c[i].d);
        ck_assert_str_eq(want, c[i].text);
    }
    resp_w_double(&b, INFINITY, 3);
    resp_w_double(&b, -INFINITY, 3);
    resp_w_double(&b, NAN, 3);
    resp_w_double(&b, -NAN, 3);
    ck_buf(&b, ",inf\r\n,-inf\r\n,nan\r\n,nan\r\n");
    resp_w_double(&b, INFINITY, 2);
    resp_w_double(&b, -INFINITY, 2);
    ck_buf(&b, "$3\r\ninf\r\n$4\r\n-inf\r\n");
    buf_deinit(&b);
}
END_TEST

/* Write, then parse back: the tree says what was written. */
static resp_value_t *reparse(buf_t *b)
{
    resp_value_t *v = NULL;
    size_t consumed = 0;
    const char *err = NULL;

    ck_assert_int_eq(
        resp_parse_value(buf_rptr(b), buf_len(b), &v, &consumed, &err), TS_OK);
    ck_assert_uint_eq(consumed, buf_len(b));
    return v;
}

START_TEST(test_round_trip_scalars)
{
    static const long long ints[] = {
        0, 1, -1, 10, LLONG_MAX, LLONG_MIN, 1234567890123LL};
    char bin[256];
    buf_t b;
    resp_value_t *v;

    buf_init(&b);
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        resp_w_int(&b, ints[i]);
        v = reparse(&b);
        ck_assert(v->type == RESP_INT && v->integer == ints[i]);
        resp_value_free(v);
        buf_clear(&b);
    }
    for (int i = 0; i < 256; i++)
        bin[i] = (char)i;
    for (size_t n = 0; n <= sizeof(bin); n += 17) {
        resp_w_bulk(&b, bin, n);
        v = reparse(&b);
        ck_assert(v->type == RESP_BULK && v->len == n);
        if (n) ck_assert_mem_eq(v->str, bin, n);
        resp_value_free(v);
        buf_clear(&b);
    }
    resp_w_simple(&b, "PONG", 4);
    v = reparse(&b);
    ck_str(v, RESP_SIMPLE, "PONG");
    resp_value_free(v);
    buf_clear(&b);
    resp_w_error(&b, "ERR x\ny", 7);
    v = reparse(&b);
    ck_str(v, RESP_ERROR, "ERR x y");
    resp_value_free(v);
    buf_clear(&b);
    resp_w_verbatim(&b, "# Server\r\n", 10, "txt", 3);
    v = reparse(&b);
    ck_str(v, RESP_VERBATIM, "# Server\r\n");
    resp_value_free(v);
    buf_clear(&b);
    for (int proto = 2; proto <= 3; proto++) {
        resp_w_bool(&b, 1, proto);
        v = reparse(&b);
        ck_assert_int_eq(v->type, proto == 3 ? RESP_BOOL : RESP_INT);
        ck_assert_int_eq(v->integer, 1);
        resp_value_free(v);
        buf_clear(&b);
        resp_w_null(&b, proto);
        v = reparse(&b);
        ck_assert_int_eq(v->type, RESP_NULL);
        resp_value_free(v);
        buf_clear(&b);
        resp_w_null_array(&b, proto);
        v = reparse(&b);
        ck_assert_int_eq(v->type, RESP_NULL);
        resp_value_free(v);
        buf_clear(&b);
    }
    buf_deinit(&b);
}
END_TEST

START_TEST(test_round_trip_doubles)
{
    static const double ds[] = {0,        1,          -1,
                                0.1,      1.0 / 3,    1e300,
                                -1e-300,  4.9e-324,   1.7976931348623157e308,
                                3.0,      123456.789, INFINITY,
                                -INFINITY};
    buf_t b;

    buf_init(&b);
    for (size_t i = 0; i < sizeof(ds) / sizeof(ds[0]); i++) {
        resp_w_double(&b, ds[i], 3);
        resp_value_t *v = reparse(&b);
        ck_assert_int_eq(v->type, RESP_DOUBLE);
        ck_assert(v->dbl == ds[i]);
        resp_value_free(v);
        buf_clear(&b);
        resp_w_double(&b, ds[i], 2);
        v = reparse(&b);
        ck_assert_int_eq(v->type, RESP_BULK);
        char tmp[64];
        memcpy(tmp, v->str, v->len);
        tmp[v->len] = '\0';
        ck_assert(strtod(tmp, NULL) == ds[i]);
        resp_value_free(v);
        buf_clear(&b);
    }
    buf_deinit(&b);
}
END_TEST

START_TEST(test_round_trip_aggregates)
{
    static const char types[] = "*%~>";
    buf_t b;

    buf_init(&b);
    for (int t = 0; t < 4; t++) {
        resp_w_agg(&b, types[t], 2);
        for (int i = 0; i < (types[t] == '%' ? 4 : 2); i++)
            resp_w_int(&b, i);
        resp_value_t *v = reparse(&b);
        ck_assert_int_eq(v->type, (resp_type_t)types[t]);
        ck_assert_uint_eq(v->nelem, types[t] == '%' ? 4 : 2);
        for (size_t i = 0; i < v->nelem; i++)
            ck_assert_int_eq(v->elem[i].integer, (long long)i);
        resp_value_free(v);
        buf_clear(&b);
    }
    buf_deinit(&b);
}
END_TEST

/* resp_w_command output is a request resp_parse_request reads back. */
START_TEST(test_round_trip_command)
{
    char bin[300];
    resp_arg_t argv[3] = {{"SET", 3}, {"", 0}, {bin, sizeof(bin)}};
    buf_t b;
    resp_req_t r;
    size_t consumed;
    const char *err;

    for (size_t i = 0; i < sizeof(bin); i++)
        bin[i] = (char)(i * 7);
    buf_init(&b);
    resp_req_init(&r);
    resp_w_command(&b, 3, argv);
    ck_assert_int_eq(resp_parse_request(&r, buf_rptr(&b), buf_len(&b), NULL,
                                        &consumed, &err),
                     TS_OK);
    ck_assert_uint_eq(consumed, buf_len(&b));
    ck_assert_int_eq(r.argc, 3);
    for (int i = 0; i < 3; i++) {
        ck_assert_uint_eq(r.argv[i].len, argv[i].len);
        ck_assert_mem_eq(r.argv[i].ptr, argv[i].ptr, argv[i].len);
    }
    resp_req_deinit(&r);
    buf_deinit(&b);
}
END_TEST

static Suite *resp_suite(void)
{
    Suite *s = suite_create("resp");
    TCase *req = tcase_create("request");
    TCase *lim = tcase_create("limits");
    TCase *num = tcase_create("integers");
    TCase *rep = tcase_create("reply");
    TCase *wr = tcase_create("writers");

    tcase_add_loop_test(req, test_request_vectors, 0,
                        (int)(sizeof(req_cases) / sizeof(req_cases[0])));
    tcase_add_test(req, test_inline_in_place);
    tcase_add_test(req, test_request_fast_path_random);
    tcase_add_test(req, test_reset_forgets_partial);
    tcase_add_test(req, test_argv_reused);
    tcase_set_timeout(lim, 120); /* big inputs, slow under sanitizers */
    tcase_add_test(lim, test_too_big_lines);
    tcase_add_test(lim, test_too_big_bulk_count);
    tcase_add_test(lim, test_long_line_with_end_is_accepted);
    tcase_add_test(lim, test_huge_bulk_allocates_nothing);
    tcase_add_test(lim, test_huge_argc_not_preallocated);
    tcase_add_test(lim, test_max_multibulk_limit);
    tcase_add_test(lim, test_linear_byte_by_byte);
    tcase_add_test(lim, test_big_command_in_reads);
    tcase_add_test(num, test_str2ll);
    tcase_add_test(num, test_ll2str);
    tcase_add_loop_test(rep, test_reply_vectors, 0,
                        (int)(sizeof(reply_cases) / sizeof(reply_cases[0])));
    tcase_add_test(rep, test_reply_depth);
    tcase_add_test(rep, test_scan_linear_byte_by_byte);
    tcase_add_test(rep, test_parse_tree);
    tcase_add_test(rep, test_parse_attribute_skipped);
    tcase_add_test(rep, test_parse_again_and_error);
    tcase_add_test(wr, test_writers_known_answers);
    tcase_add_test(wr, test_double_format);
    tcase_add_test(wr, test_round_trip_scalars);
    tcase_add_test(wr, test_round_trip_doubles);
    tcase_add_test(wr, test_round_trip_aggregates);
    tcase_add_test(wr, test_round_trip_command);
    suite_add_tcase(s, req);
    suite_add_tcase(s, lim);
    suite_add_tcase(s, num);
    suite_add_tcase(s, rep);
    suite_add_tcase(s, wr);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(resp_suite());
    int failed;

    srunner_run_all(sr, CK_NORMAL);
    failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
