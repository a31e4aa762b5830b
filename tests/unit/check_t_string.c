/*
 * check_t_string.c: the string commands (node/types/t_string.c), called
 * directly through t_string_cmds with a real keyspace and a fake clock.
 *
 * Known-answer replies were taken from redis-server 7.0.15 (RESP2 and
 * RESP3 bytes, error texts).  Then the things a socket test cannot see:
 * INCR rewriting an int entry in place, the proto-max-bulk-len limits on
 * a small setting, expire-time overflow near the end of time, and a
 * model-based test (a naive array of byte strings driven by the same
 * random SET/APPEND/SETRANGE/GETRANGE/INCRBY/... as the keyspace, replies
 * compared byte for byte) that exercises entries moving between the
 * integer, embedded and raw encodings.
 */
#include <check.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "cmd.h"
#include "cmdrun.h"
#include "db.h"
#include "keyspace.h"
#include "node.h"
#include "reply.h"

/* ---- harness ---- */

static node_t node;
static buf_t out;
static reply_t rep;
static long long now_ms = 1700000000000LL;

static void setup(void)
{
    memset(&node, 0, sizeof(node));
    node.ks = ks_create(1);
    node.proto_max_bulk_len = 512LL * 1024 * 1024;
    buf_init(&out);
    reply_init(&rep, &out, 2);
    now_ms = 1700000000000LL;
}

static void teardown(void)
{
    ks_destroy(node.ks);
    buf_deinit(&out);
}

/* Run one command given as an argv array; returns the reply bytes
 * (NUL-terminated, valid until the next command) and their length. */
static const char *runv(int argc, const resp_arg_t *argv, size_t *len)
{
    return cmdrun_argv(&node, t_string_cmds, &rep, &out, now_ms, argc, argv,
                       len);
}

/* Space-separated command; "|" separates a last argument that may hold
 * spaces or be empty ("SET k| a b" sets "k" to " a b"). */
static const char *run(const char *line, size_t *len)
{
    static char tmp[4096];
    resp_arg_t argv[32];
    snprintf(tmp, sizeof(tmp), "%s", line);
    return runv(cmdrun_split(tmp, argv, 32), argv, len);
}

#define EXPECT(line, reply)                                                    \
    do {                                                                       \
        size_t n_;                                                             \
        const char *got_ = run(line, &n_);                                     \
        size_t want_n_ = sizeof(reply) - 1;                                    \
        ck_assert_msg(n_ == want_n_ && memcmp(got_, reply, n_) == 0,           \
                      "%s: got '%s' want '%s'", line, got_, reply);            \
    } while (0)

/* ---- known answers (redis-server 7.0.15) ---- */

START_TEST(test_get_set)
{
    EXPECT("GET k", "$-1\r\n");
    EXPECT("SET k v", "+OK\r\n");
    EXPECT("GET k", "$1\r\nv\r\n");
    EXPECT("SET k v NX", "$-1\r\n");
    EXPECT("SET k w XX", "+OK\r\n");
    EXPECT("SET n v XX", "$-1\r\n");
    EXPECT("SET k x NX GET", "$1\r\nw\r\n");
    EXPECT("SET k x GET GET", "$1\r\nw\r\n");
    EXPECT("SET k 12 GET", "$1\r\nx\r\n");
    EXPECT("GET k", "$2\r\n12\r\n");
    EXPECT("SETNX k v", ":0\r\n");
    EXPECT("SETNX k2 v", ":1\r\n");
    EXPECT("GETSET k2 w", "$1\r\nv\r\n");
    EXPECT("GETDEL k2", "$1\r\nw\r\n");
    EXPECT("GETDEL k2", "$-1\r\n");
    EXPECT("MSET a 1 b 2", "+OK\r\n");
    EXPECT("MSET a 1 b", "-ERR wrong number of arguments for 'mset' "
                         "command\r\n");
    EXPECT("MSETNX a 1 c 2", ":0\r\n");
    EXPECT("MSETNX c 1 d 2", ":1\r\n");
    EXPECT("MGET a b nokey d",
           "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$-1\r\n$1\r\n2\r\n");
}
END_TEST

START_TEST(test_set_options)
{
    EXPECT("SET k v NX XX", "-ERR syntax error\r\n");
    EXPECT("SET k v NX NX", "+OK\r\n");
    EXPECT("SET k v EX 10 EX 10", "+OK\r\n");
    EXPECT("SET k v EX 10 PX 10", "-ERR syntax error\r\n");
    EXPECT("SET k v KEEPTTL EX 10", "-ERR syntax error\r\n");
    EXPECT("SET k v EX", "-ERR syntax error\r\n");
    EXPECT("SET k v PERSIST", "-ERR syntax error\r\n");
    EXPECT("SET k v EX abc", "-ERR value is not an integer or out of "
                             "range\r\n");
    EXPECT("SET k v EX 0", "-ERR invalid expire time in 'set' command\r\n");
    EXPECT("SET k v EX 9223372036854776",
           "-ERR invalid expire time in 'set' command\r\n");
    EXPECT("SET k v EX 9223372036854775",
           "-ERR invalid expire time in 'set' command\r\n");
    EXPECT("SET k v PX 9223372036854775807",
           "-ERR invalid expire time in 'set' command\r\n");
    EXPECT("SET k v EXAT 9223372036854775", "+OK\r\n");
    EXPECT("SETEX k 0 v", "-ERR invalid expire time in 'setex' command\r\n");
    EXPECT("PSETEX k -1 v", "-ERR invalid expire time in 'psetex' command\r\n");
    EXPECT("GETEX k NX", "-ERR syntax error\r\n");
    EXPECT("GETEX k KEEPTTL", "-ERR syntax error\r\n");
    EXPECT("GETEX k PERSIST EX 5", "-ERR syntax error\r\n");
    EXPECT("GETEX nokey EX -5", "$-1\r\n");
    EXPECT("GETEX k EX -5", "-ERR invalid expire time in 'getex' command\r\n");
    EXPECT("GETEX k EXAT 0", "-ERR invalid expire time in 'getex' command\r\n");
}
END_TEST

START_TEST(test_expire_times)
{
    EXPECT("SET k v EX 100", "+OK\r\n");
    kentry_t *e = ks_find(node.ks, "k", 1);
    ck_assert_int_eq(ke_expire(e), now_ms + 100000);
    EXPECT("SET k v PXAT 1", "+OK\r\n"); /* set, then already expired */
    EXPECT("GET k", "$-1\r\n");
    ck_assert_int_eq(ks_size(node.ks), 0);

    /* KEEPTTL keeps a live TTL, but not the TTL of an expired key. */
    EXPECT("SET k v PX 1000", "+OK\r\n");
    EXPECT("SET k w KEEPTTL", "+OK\r\n");
    ck_assert_int_eq(ke_expire(ks_find(node.ks, "k", 1)), now_ms + 1000);
    now_ms += 2000;
    EXPECT("SET k w KEEPTTL", "+OK\r\n");
    ck_assert_int_eq(ke_expire(ks_find(node.ks, "k", 1)), -1);

    /* GETEX: relative, absolute in the past (deletes), PERSIST. */
    EXPECT("GETEX k PX 500", "$1\r\nw\r\n");
    ck_assert_int_eq(ke_expire(ks_find(node.ks, "k", 1)), now_ms + 500);
    EXPECT("GETEX k PERSIST", "$1\r\nw\r\n");
    ck_assert_int_eq(ke_expire(ks_find(node.ks, "k", 1)), -1);
    EXPECT("GETEX k PXAT 5", "$1\r\nw\r\n");
    ck_assert_ptr_null(ks_find(node.ks, "k", 1));

    /* SET, GETSET, MSET clear a TTL; INCR, APPEND, SETRANGE keep it. */
    EXPECT("SET k 1 EX 100", "+OK\r\n");
    EXPECT("INCR k", ":2\r\n");
    EXPECT("APPEND k x", ":2\r\n");
    EXPECT("SETRANGE k 0 y", ":2\r\n");
    EXPECT("INCRBYFLOAT k| 1", "-ERR value is not a valid float\r\n");
    ck_assert_int_eq(ke_expire(ks_find(node.ks, "k", 1)), now_ms + 100000);
    EXPECT("GETSET k z", "$2\r\nyx\r\n");
    ck_assert_int_eq(ke_expire(ks_find(node.ks, "k", 1)), -1);

    /* Relative expire overflowing when added to "now". */
    now_ms = LLONG_MAX - 10;
    EXPECT("SET k v PX 10", "+OK\r\n");
    EXPECT("SET k v PX 11", "-ERR invalid expire time in 'set' command\r\n");
}
END_TEST

START_TEST(test_counters)
{
    EXPECT("INCR n", ":1\r\n");
    EXPECT("INCRBY n 41", ":42\r\n");
    EXPECT("DECRBY n 50", ":-8\r\n");
    EXPECT("DECR n", ":-9\r\n");
    EXPECT("INCRBY n abc", "-ERR value is not an integer or out of range\r\n");
    EXPECT("SET big 9223372036854775807", "+OK\r\n");
    EXPECT("INCR big", "-ERR increment or decrement would overflow\r\n");
    EXPECT("DECRBY big -1", "-ERR increment or decrement would overflow\r\n");
    EXPECT("DECRBY x -9223372036854775808",
           "-ERR decrement would overflow\r\n");
    EXPECT("SET s| 1", "+OK\r\n");
    EXPECT("INCR s", "-ERR value is not an integer or out of range\r\n");
    /* A raw string that parses as an integer counts too. */
    EXPECT("SET r 1", "+OK\r\n");
    EXPECT("APPEND r 2", ":2\r\n");
    EXPECT("INCR r", ":13\r\n");
}
END_TEST

START_TEST(test_incr_in_place)
{
    EXPECT("SET n 1000", "+OK\r\n");
    kentry_t *e = ks_find(node.ks, "n", 1);
    ck_assert_int_eq(ke_enc(e), KE_INT);
    for (int i = 0; i < 100; i++) {
        size_t n;
        run("INCRBY n 1000000007", &n);
    }
    ck_assert_ptr_eq(ks_find(node.ks, "n", 1), e);
    ck_assert_int_eq(ke_int(e), 1000 + 100 * 1000000007LL);
}
END_TEST

START_TEST(test_incrbyfloat)
{
    EXPECT("INCRBYFLOAT f 0.1", "$3\r\n0.1\r\n");
    EXPECT("INCRBYFLOAT f 0.2", "$3\r\n0.3\r\n");
    EXPECT("INCRBYFLOAT z -0", "$1\r\n0\r\n");
    EXPECT("INCRBYFLOAT t 1e-20", "$1\r\n0\r\n");
    EXPECT("INCRBYFLOAT h 5.0e3", "$4\r\n5000\r\n");
    EXPECT("INCRBYFLOAT h 0x10", "$4\r\n5016\r\n");
    EXPECT("INCRBYFLOAT g 1e5000", "-ERR value is not a valid float\r\n");
    EXPECT("INCRBYFLOAT g 5.0e-4960", "-ERR value is not a valid float\r\n");
    EXPECT("INCRBYFLOAT g inf",
           "-ERR increment would produce NaN or Infinity\r\n");
    EXPECT("INCRBYFLOAT g nan", "-ERR value is not a valid float\r\n");
    EXPECT("INCRBYFLOAT g| 1", "-ERR value is not a valid float\r\n");
    EXPECT("INCRBYFLOAT g|1 ", "-ERR value is not a valid float\r\n");
    EXPECT("SET i 10", "+OK\r\n");
    EXPECT("INCRBYFLOAT i 1.5", "$4\r\n11.5\r\n");
    EXPECT("INCRBYFLOAT i -1.5", "$2\r\n10\r\n");
    size_t n;
    const char *got = run("INCRBYFLOAT e 1e300", &n);
    ck_assert(strncmp(got, "$301\r\n1000000000000000000008997324", 32) == 0);
}
END_TEST

START_TEST(test_append_setrange_getrange)
{
    EXPECT("APPEND k Hello", ":5\r\n");
    EXPECT("APPEND k| World", ":11\r\n");
    EXPECT("STRLEN k", ":11\r\n");
    EXPECT("STRLEN nokey", ":0\r\n");
    EXPECT("GETRANGE k -1 -5", "$0\r\n\r\n");
    EXPECT("GETRANGE k -5 -1", "$5\r\nWorld\r\n");
    EXPECT("GETRANGE k 0 -100", "$1\r\nH\r\n");
    EXPECT("GETRANGE k 5 3", "$0\r\n\r\n");
    EXPECT("GETRANGE k 0 9223372036854775807", "$11\r\nHello World\r\n");
    EXPECT("GETRANGE k -9223372036854775808 -9223372036854775807",
           "$1\r\nH\r\n");
    EXPECT("SUBSTR k 0 4", "$5\r\nHello\r\n");
    EXPECT("GETRANGE nokey 0 1", "$0\r\n\r\n");
    EXPECT("SET e|", "+OK\r\n");
    EXPECT("GETRANGE e 0 -1", "$0\r\n\r\n");

    EXPECT("SETRANGE nk 0|", ":0\r\n");
    ck_assert_ptr_null(ks_find(node.ks, "nk", 2));
    EXPECT("SETRANGE nk -1 a", "-ERR offset is out of range\r\n");
    EXPECT("SETRANGE nk 536870912 a", "-ERR string exceeds maximum allowed "
                                      "size (proto-max-bulk-len)\r\n");
    EXPECT("SETRANGE nk 9223372036854775807 a",
           "-ERR string exceeds maximum allowed size "
           "(proto-max-bulk-len)\r\n");
    EXPECT("SETRANGE nk 3 abc", ":6\r\n");
    EXPECT("GET nk", "$6\r\n\0\0\0abc\r\n");
    EXPECT("SET i 12345", "+OK\r\n");
    EXPECT("SETRANGE i 1|", ":5\r\n");
    ck_assert_int_eq(ke_enc(ks_find(node.ks, "i", 1)), KE_INT);
    EXPECT("SETRANGE i 1 x", ":5\r\n");
    EXPECT("GET i", "$5\r\n1x345\r\n");
    ck_assert_int_eq(ke_enc(ks_find(node.ks, "i", 1)), KE_RAW);
}
END_TEST

START_TEST(test_size_limits)
{
    node.proto_max_bulk_len = 100;
    EXPECT("SET k 0123456789012345678901234567890123456789", "+OK\r\n");
    EXPECT("APPEND k 0123456789012345678901234567890123456789", ":80\r\n");
    EXPECT("APPEND k 012345678901234567890",
           "-ERR string exceeds maximum allowed size "
           "(proto-max-bulk-len)\r\n");
    EXPECT("APPEND k 01234567890123456789", ":100\r\n");
    EXPECT("SETRANGE k 100 x", "-ERR string exceeds maximum allowed size "
                               "(proto-max-bulk-len)\r\n");
    EXPECT("SETRANGE k 99 x", ":100\r\n");
    /* LCS: (5+1)*(3+1)*4 = 96 bytes of table fits, (5+1)*(4+1)*4 = 120
     * does not. */
    EXPECT("SET a abcde", "+OK\r\n");
    EXPECT("SET b bcd", "+OK\r\n");
    EXPECT("LCS a b", "$3\r\nbcd\r\n");
    EXPECT("SET b bcde", "+OK\r\n");
    EXPECT("LCS a b LEN", "-ERR Insufficient memory, transient memory for LCS "
                          "exceeds proto-max-bulk-len\r\n");
}
END_TEST

START_TEST(test_lcs)
{
    EXPECT("SET a ohmytext", "+OK\r\n");
    EXPECT("SET b mynewtext", "+OK\r\n");
    EXPECT("LCS a b", "$6\r\nmytext\r\n");
    EXPECT("LCS a b LEN", ":6\r\n");
    EXPECT("LCS a b IDX",
           "*4\r\n$7\r\nmatches\r\n*2\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n"
           ":8\r\n*2\r\n*2\r\n:2\r\n:3\r\n*2\r\n:0\r\n:1\r\n$3\r\nlen\r\n"
           ":6\r\n");
    EXPECT("LCS a b IDX MINMATCHLEN 4 WITHMATCHLEN",
           "*4\r\n$7\r\nmatches\r\n*1\r\n*3\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n"
           ":8\r\n:4\r\n$3\r\nlen\r\n:6\r\n");
    EXPECT("LCS a b IDX LEN", "-ERR If you want both the length and indexes, "
                              "please just use IDX.\r\n");
    EXPECT("LCS a b foo", "-ERR syntax error\r\n");
    EXPECT("LCS a b MINMATCHLEN", "-ERR syntax error\r\n");
    EXPECT("LCS a b MINMATCHLEN x",
           "-ERR value is not an integer or out of range\r\n");
    EXPECT("LCS a nokey", "$0\r\n\r\n");
    EXPECT("SET n1 12345", "+OK\r\n");
    EXPECT("SET n2 2345", "+OK\r\n");
    EXPECT("LCS n1 n2", "$4\r\n2345\r\n");

    rep.proto = 3;
    EXPECT("LCS a b IDX MINMATCHLEN 4",
           "%2\r\n$7\r\nmatches\r\n*1\r\n*2\r\n*2\r\n:4\r\n:7\r\n*2\r\n:5\r\n"
           ":8\r\n$3\r\nlen\r\n:6\r\n");
    EXPECT("GET nokey", "_\r\n");
}
END_TEST

START_TEST(test_wrongtype)
{
    /* A non-string value: any object type will do for the type check. */
    static int dummy;
    ks_set_obj_free(NULL); /* nothing to free for the dummy object */
    ks_set_obj(node.ks, "l", 1, KT_LIST, KE_OBJ, &dummy, 0);
    const char *wt = "-WRONGTYPE Operation against a key holding the wrong "
                     "kind of value\r\n";
    const char *cmds[] = {
        "GET l",       "GETEX l",  "GETDEL l",       "GETSET l x",
        "SET l x GET", "INCR l",   "DECRBY l 1",     "INCRBYFLOAT l 1",
        "APPEND l x",  "STRLEN l", "SETRANGE l 0 x", "GETRANGE l 0 1",
    };
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        size_t n;
        const char *got = run(cmds[i], &n);
        ck_assert_msg(strcmp(got, wt) == 0, "%s: %s", cmds[i], got);
    }
    EXPECT("LCS a l", "-ERR The specified keys must contain string "
                      "values\r\n");
    EXPECT("MGET l", "*1\r\n$-1\r\n");
    ck_assert_int_eq(ke_type(ks_find(node.ks, "l", 1)), KT_LIST);
    EXPECT("SET l x", "+OK\r\n");
    ck_assert_int_eq(ke_type(ks_find(node.ks, "l", 1)), KT_STRING);
}
END_TEST

/* ---- model-based: byte strings vs the keyspace ---- */

#define NKEYS 6
static char *model[NKEYS]; /* NULL: absent */
static size_t mlen[NKEYS];
static uint64_t rng = 88172645463325252ULL;

static uint64_t rnd(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void model_set(int k, const char *v, size_t n)
{
    free(model[k]);
    model[k] = malloc(n + 1);
    memcpy(model[k], v, n);
    mlen[k] = n;
}

static void expect_bulk(const char *got, size_t n, const char *v, size_t vn)
{
    char hdr[32];
    int h = snprintf(hdr, sizeof(hdr), "$%zu\r\n", vn);
    ck_assert_msg(n == (size_t)h + vn + 2 && memcmp(got, hdr, (size_t)h) == 0 &&
                      memcmp(got + h, v, vn) == 0,
                  "bulk mismatch: got %.*s", (int)(n > 80 ? 80 : n), got);
}

static void expect_int(const char *got, long long v)
{
    char want[32];
    snprintf(want, sizeof(want), ":%lld\r\n", v);
    ck_assert_msg(strcmp(got, want) == 0, "got %s want %s", got, want);
}

/* Redis's string2ll, for the model's INCRBY. */
static int model_ll(const char *s, size_t n, long long *v)
{
    char buf[32];
    if (n == 0 || n >= sizeof(buf)) return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (n > 1 && (buf[0] == '0' || (buf[0] == '-' && buf[1] == '0'))) return 0;
    if (buf[0] == '-' && n == 1) return 0;
    for (size_t i = buf[0] == '-'; i < n; i++)
        if (buf[i] < '0' || buf[i] > '9') return 0;
    char *end;
    errno = 0;
    *v = strtoll(buf, &end, 10);
    return errno == 0 && *end == '\0';
}

START_TEST(test_model)
{
    static const char *vals[] = {"",
                                 "0",
                                 "7",
                                 "-12",
                                 "123456789",
                                 "abc",
                                 "9223372036854775806",
                                 "x x",
                                 "a-longer-value-that-is-not-embedded-at-all-"
                                 "in-the-entry"};
    char key[2] = {0, 0};
    char num[32];
    size_t n;
    for (int step = 0; step < 20000; step++) {
        int k = (int)(rnd() % NKEYS);
        key[0] = (char)('a' + k);
        resp_arg_t kv = {key, 1};
        const char *v = vals[rnd() % (sizeof(vals) / sizeof(vals[0]))];
        resp_arg_t vv = {v, strlen(v)};
        const char *got;
        switch (rnd() % 8) {
        case 0: { /* SET */
            resp_arg_t a[] = {{"SET", 3}, kv, vv};
            got = runv(3, a, &n);
            model_set(k, v, vv.len);
            break;
        }
        case 1: { /* APPEND */
            resp_arg_t a[] = {{"APPEND", 6}, kv, vv};
            got = runv(3, a, &n);
            if (!model[k]) model_set(k, "", 0);
            model[k] = realloc(model[k], mlen[k] + vv.len + 1);
            memcpy(model[k] + mlen[k], v, vv.len);
            mlen[k] += vv.len;
            expect_int(got, (long long)mlen[k]);
            break;
        }
        case 2: { /* SETRANGE */
            size_t off = rnd() % 70;
            int nl = snprintf(num, sizeof(num), "%zu", off);
            resp_arg_t a[] = {{"SETRANGE", 8}, kv, {num, (size_t)nl}, vv};
            got = runv(4, a, &n);
            if (vv.len == 0) {
                expect_int(got, model[k] ? (long long)mlen[k] : 0);
                break;
            }
            if (!model[k]) model_set(k, "", 0);
            if (off + vv.len > mlen[k]) {
                model[k] = realloc(model[k], off + vv.len + 1);
                memset(model[k] + mlen[k], 0, off + vv.len - mlen[k]);
                mlen[k] = off + vv.len;
            }
            memcpy(model[k] + off, v, vv.len);
            expect_int(got, (long long)mlen[k]);
            break;
        }
        case 3: { /* GETRANGE */
            long long s = (long long)(rnd() % 90) - 45;
            long long e = (long long)(rnd() % 90) - 45;
            char sb[24], eb[24];
            int sl = snprintf(sb, sizeof(sb), "%lld", s);
            int el = snprintf(eb, sizeof(eb), "%lld", e);
            resp_arg_t a[] = {
                {"GETRANGE", 8}, kv, {sb, (size_t)sl}, {eb, (size_t)el}};
            got = runv(4, a, &n);
            long long len = model[k] ? (long long)mlen[k] : 0;
            if (s < 0 && e < 0 && s > e) {
                expect_bulk(got, n, "", 0);
                break;
            }
            if (s < 0) s += len;
            if (e < 0) e += len;
            if (s < 0) s = 0;
            if (e < 0) e = 0;
            if (e >= len) e = len - 1;
            if (s > e || len == 0)
                expect_bulk(got, n, "", 0);
            else
                expect_bulk(got, n, model[k] + s, (size_t)(e - s + 1));
            break;
        }
        case 4: { /* INCRBY */
            long long by = (long long)(rnd() % 2001) - 1000, cur = 0;
            int nl = snprintf(num, sizeof(num), "%lld", by);
            resp_arg_t a[] = {{"INCRBY", 6}, kv, {num, (size_t)nl}};
            got = runv(3, a, &n);
            if (model[k] && !model_ll(model[k], mlen[k], &cur)) {
                ck_assert_str_eq(got, "-ERR value is not an integer or out "
                                      "of range\r\n");
                break;
            }
            if (cur > 0 && by > LLONG_MAX - cur) {
                ck_assert_str_eq(got, "-ERR increment or decrement would "
                                      "overflow\r\n");
                break;
            }
            nl = snprintf(num, sizeof(num), "%lld", cur + by);
            model_set(k, num, (size_t)nl);
            expect_int(got, cur + by);
            break;
        }
        case 5: { /* GET / STRLEN */
            resp_arg_t a[] = {{"GET", 3}, kv};
            got = runv(2, a, &n);
            if (model[k])
                expect_bulk(got, n, model[k], mlen[k]);
            else
                ck_assert_str_eq(got, "$-1\r\n");
            resp_arg_t b[] = {{"STRLEN", 6}, kv};
            got = runv(2, b, &n);
            expect_int(got, model[k] ? (long long)mlen[k] : 0);
            break;
        }
        case 6: { /* GETDEL, occasionally */
            if (rnd() % 4) break;
            resp_arg_t a[] = {{"GETDEL", 6}, kv};
            got = runv(2, a, &n);
            if (model[k])
                expect_bulk(got, n, model[k], mlen[k]);
            else
                ck_assert_str_eq(got, "$-1\r\n");
            free(model[k]);
            model[k] = NULL;
            break;
        }
        default: { /* GETSET */
            resp_arg_t a[] = {{"GETSET", 6}, kv, vv};
            got = runv(3, a, &n);
            if (model[k])
                expect_bulk(got, n, model[k], mlen[k]);
            else
                ck_assert_str_eq(got, "$-1\r\n");
            model_set(k, v, vv.len);
            break;
        }
        }
    }
    for (int k = 0; k < NKEYS; k++) {
        free(model[k]);
        model[k] = NULL;
    }
}
END_TEST

static Suite *t_string_suite(void)
{
    Suite *s = suite_create("t_string");
    TCase *tc = tcase_create("known_answers");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_get_set);
    tcase_add_test(tc, test_set_options);
    tcase_add_test(tc, test_expire_times);
    tcase_add_test(tc, test_counters);
    tcase_add_test(tc, test_incr_in_place);
    tcase_add_test(tc, test_incrbyfloat);
    tcase_add_test(tc, test_append_setrange_getrange);
    tcase_add_test(tc, test_size_limits);
    tcase_add_test(tc, test_lcs);
    tcase_add_test(tc, test_wrongtype);
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
    SRunner *sr = srunner_create(t_string_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
