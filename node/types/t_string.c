/*
 * t_string.c: the string type's commands (GET, SET and family, counters,
 * ranges, LCS), with Redis 7.0's replies and error texts.
 *
 * Values live inside keyspace entries (keyspace.h): integers as KE_INT,
 * short strings embedded, long ones in a separate buffer.  ks_set_str
 * picks the encoding, ks_str_writable turns a value into a growable buffer
 * for APPEND/SETRANGE, and ks_set_int rewrites a counter in place when the
 * entry's size class allows it.  Since writes may move an entry, every
 * handler uses the pointer a write returns and never keeps one across a
 * second write.
 *
 * GET and SET are the benchmarked hot path: plain `GET k` is one lookup
 * and one bulk reply; plain `SET k v` is one ks_set_str (no lookup first:
 * the value and TTL are replaced whatever was there) and +OK.  Options are
 * parsed only when there are any, nothing is allocated per command beyond
 * the keyspace's own entry.
 *
 * Where Redis's order of checks is observable (syntax before integer
 * parsing, key lookup before the expire value in GETEX, ...), the handlers
 * follow setGenericCommand / getexCommand / lcsCommand step by step.
 * Floats are parsed and printed like Redis's string2ld and ld2string
 * (LD_STR_HUMAN), so INCRBYFLOAT returns the same digits.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cmd.h"
#include "db.h"
#include "notify.h"
#include "numfmt.h"
#include "propagate.h"
#include "keyspace.h"
#include "reply.h"
#include "resp.h"

/* Room for a KE_INT value formatted by ke_str. */
#define INT_SCRATCH 32

static const char err_overflow[] = "ERR increment or decrement would overflow";
static const char err_notfloat[] = "ERR value is not a valid float";
static const char err_too_big[] =
    "ERR string exceeds maximum allowed size (proto-max-bulk-len)";

/* ---- helpers ----------------------------------------------------------- */

/* Is the entry a string?  Replies WRONGTYPE and returns 0 if not. */
static inline int check_string(const kentry_t *e, reply_t *r)
{
    if (ke_type(e) == KT_STRING) return 1;
    reply_err_wrongtype(r);
    return 0;
}

static inline kentry_t *set_str(cmdctx_t *ctx, const resp_arg_t *key,
                                const resp_arg_t *val, int keep_ttl)
{
    return ks_set_str(ctx->ks, key->ptr, key->len, val->ptr, val->len,
                      keep_ttl);
}

/* Redis's checkStringLength: would cur + add bytes exceed
 * proto-max-bulk-len?  Replies the error and returns -1 if so.  Both sizes
 * are non-negative, so the comparison cannot overflow. */
static int check_length(cmdctx_t *ctx, long long cur, long long add, reply_t *r)
{
    long long max = ctx->node->proto_max_bulk_len;
    if (add > max || cur > max - add) {
        reply_error(r, err_too_big);
        return -1;
    }
    return 0;
}

/* getGenericCommand: reply the value of key (null if absent).  Returns -1
 * only if the key holds another type (WRONGTYPE replied). */
static int get_generic(cmdctx_t *ctx, const resp_arg_t *key, reply_t *r)
{
    kentry_t *e = db_lookup_read(ctx, key);
    if (!e) {
        reply_null(r);
        return 0;
    }
    if (!check_string(e, r)) return -1;
    char scratch[INT_SCRATCH];
    size_t len;
    const char *p = ke_str(e, &len, scratch);
    reply_bulk(r, p, len);
    return 0;
}

/* ---- SET / GETEX options --------------------------------------------- */

#define SO_NX      (1u << 0)
#define SO_XX      (1u << 1)
#define SO_EX      (1u << 2)
#define SO_PX      (1u << 3)
#define SO_KEEPTTL (1u << 4)
#define SO_GET     (1u << 5)
#define SO_EXAT    (1u << 6)
#define SO_PXAT    (1u << 7)
#define SO_PERSIST (1u << 8)

#define SO_ANY_EXPIRE (SO_EX | SO_PX | SO_EXAT | SO_PXAT)
/* What an expire option of one kind cannot be combined with (a repeat of
 * the same kind is fine, as in Redis). */
#define EXPIRE_CONFLICTS(kind)                                                 \
    (SO_KEEPTTL | SO_PERSIST | (SO_ANY_EXPIRE & ~(kind)))

/*
 * parseExtendedStringArgumentsOrReply: options of SET (from argv[3]) or
 * GETEX (from argv[2]).  The conflict rules are Redis's exactly, which
 * allows repeats of the same option (SET k v EX 1 EX 2 is accepted, the
 * last value wins) but no mix of NX/XX or of two expire kinds.  Sets
 * *flags and *expire (the time argument, NULL if none).  Returns -1 after
 * replying "ERR syntax error".
 */
static int parse_ext(const req_t *req, int is_set, unsigned *flags,
                     const resp_arg_t **expire, reply_t *r)
{
    unsigned f = 0;
    for (int j = is_set ? 3 : 2; j < req->argc; j++) {
        const resp_arg_t *opt = &req->argv[j];
        const resp_arg_t *next = j == req->argc - 1 ? NULL : &req->argv[j + 1];
        unsigned add;

        if (is_set && arg_eq(opt, "nx") && !(f & SO_XX)) {
            add = SO_NX;
        } else if (is_set && arg_eq(opt, "xx") && !(f & SO_NX)) {
            add = SO_XX;
        } else if (is_set && arg_eq(opt, "get")) {
            add = SO_GET;
        } else if (is_set && arg_eq(opt, "keepttl") &&
                   !(f & (SO_PERSIST | SO_ANY_EXPIRE))) {
            add = SO_KEEPTTL;
        } else if (!is_set && arg_eq(opt, "persist") &&
                   !(f & (SO_ANY_EXPIRE | SO_KEEPTTL))) {
            add = SO_PERSIST;
        } else if (next && arg_eq(opt, "ex") &&
                   !(f & EXPIRE_CONFLICTS(SO_EX))) {
            add = SO_EX;
        } else if (next && arg_eq(opt, "px") &&
                   !(f & EXPIRE_CONFLICTS(SO_PX))) {
            add = SO_PX;
        } else if (next && arg_eq(opt, "exat") &&
                   !(f & EXPIRE_CONFLICTS(SO_EXAT))) {
            add = SO_EXAT;
        } else if (next && arg_eq(opt, "pxat") &&
                   !(f & EXPIRE_CONFLICTS(SO_PXAT))) {
            add = SO_PXAT;
        } else {
            reply_err_syntax(r);
            return -1;
        }
        f |= add;
        if (add & SO_ANY_EXPIRE) {
            *expire = next;
            j++;
        }
    }
    *flags = f;
    return 0;
}

/*
 * getExpireMillisecondsOrReply: the absolute expire time in Unix ms for
 * the time argument of an EX/PX/EXAT/PXAT option (kind is one of SO_EX..).
 * The value must be > 0, seconds must not overflow when scaled to ms, and
 * relative times must not overflow when added to now.  Returns -1 after
 * replying the error ("ERR invalid expire time in '<cmd>' command").
 */
static int expire_ms(cmdctx_t *ctx, const resp_arg_t *arg, unsigned kind,
                     const char *cmdname, reply_t *r, long long *out)
{
    long long v;
    if (arg_ll(arg, &v, r)) return -1;
    int seconds = (kind & (SO_EX | SO_EXAT)) != 0;
    if (v <= 0 || (seconds && v > LLONG_MAX / 1000)) goto bad;
    if (seconds) v *= 1000;
    if (kind & (SO_EX | SO_PX)) {
        /* Redis adds and then tests for a non-positive result */
        if (ctx->now_ms > 0 && v > LLONG_MAX - ctx->now_ms) goto bad;
        v += ctx->now_ms;
    }
    if (v <= 0) goto bad;
    *out = v;
    return 0;
bad:
    reply_errorf(r, "ERR invalid expire time in '%s' command", cmdname);
    return -1;
}

/* What SET-like commands reply: +OK / null (SET), :1 / :0 (SETNX). */
enum { SR_OK_NULL = 0, SR_ONE_ZERO = 1 };

/*
 * setGenericCommand.  flags: SO_*; expire: the time argument or NULL (its
 * kind is in flags).  With SO_GET the old value is the reply, whether or
 * not the write happens.
 */
static void set_generic(cmdctx_t *ctx, const resp_arg_t *key,
                        const resp_arg_t *val, unsigned flags,
                        const resp_arg_t *expire, const char *cmdname,
                        int replies, reply_t *r)
{
    long long when = 0;
    if (expire &&
        expire_ms(ctx, expire, flags & SO_ANY_EXPIRE, cmdname, r, &when))
        return;
    if ((flags & SO_GET) && get_generic(ctx, key, r)) return;

    /* The lookup (with lazy expiry) matters for NX/XX, and for KEEPTTL so
     * that the TTL of an already expired key is not kept. */
    if (flags & (SO_NX | SO_XX | SO_KEEPTTL)) {
        int found = db_lookup_write(ctx, key) != NULL;
        if (((flags & SO_NX) && found) || ((flags & SO_XX) && !found)) {
            if (flags & SO_GET) return;
            if (replies == SR_ONE_ZERO)
                reply_int(r, 0);
            else
                reply_null(r);
            return;
        }
        if (!found) notify_key(ctx->node, NOTIFY_NEW, "new", key);
    } else {
        notify_new_if_absent(ctx, key);
    }

    kentry_t *e = set_str(ctx, key, val, (flags & SO_KEEPTTL) != 0);
    /* An expire time already in the past is set as is, like Redis 7.0:
     * the key then reads as absent and is removed on next access. */
    if (expire) {
        ks_set_expire(ctx->ks, e, when);
        /* deterministic for replicas and the AOF: SET key value PXAT ms */
        char num[24];
        resp_arg_t argv[5] = {{"SET", 3}, *key, *val, {"PXAT", 4},
                              {num, resp_ll2str(num, when)}};
        propagate_rewrite(ctx, 5, argv);
    }
    db_modified(ctx, key);
    notify_key(ctx->node, NOTIFY_STRING, "set", key);
    if (expire) notify_key(ctx->node, NOTIFY_GENERIC, "expire", key);

    if (flags & SO_GET) return;
    if (replies == SR_ONE_ZERO)
        reply_int(r, 1);
    else
        reply_ok(r);
}

/* ---- GET / SET family -------------------------------------------------- */

/* GET key */
static void cmd_get(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (!e) {
        reply_null(r);
        return;
    }
    if (!check_string(e, r)) return;
    char scratch[INT_SCRATCH];
    size_t len;
    const char *p = ke_str(e, &len, scratch);
    reply_bulk(r, p, len);
}

/* SET key value [NX|XX] [GET] [EX seconds|PX ms|EXAT ts|PXAT ms-ts|KEEPTTL] */
static void cmd_set(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1], *val = &req->argv[2];
    if (req->argc == 3) {
        /* Fast path: replace value and TTL, whatever the key held. */
        notify_new_if_absent(ctx, key);
        set_str(ctx, key, val, 0);
        db_modified(ctx, key);
        notify_key(ctx->node, NOTIFY_STRING, "set", key);
        reply_ok(r);
        return;
    }
    unsigned flags;
    const resp_arg_t *expire = NULL;
    if (parse_ext(req, 1, &flags, &expire, r)) return;
    set_generic(ctx, key, val, flags, expire, "set", SR_OK_NULL, r);
}

/* SETNX key value */
static void cmd_setnx(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    set_generic(ctx, &req->argv[1], &req->argv[2], SO_NX, NULL, "setnx",
                SR_ONE_ZERO, r);
}

/* SETEX key seconds value */
static void cmd_setex(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    set_generic(ctx, &req->argv[1], &req->argv[3], SO_EX, &req->argv[2],
                "setex", SR_OK_NULL, r);
}

/* PSETEX key milliseconds value */
static void cmd_psetex(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    set_generic(ctx, &req->argv[1], &req->argv[3], SO_PX, &req->argv[2],
                "psetex", SR_OK_NULL, r);
}

/* GETEX key [EX seconds|PX ms|EXAT ts|PXAT ms-ts|PERSIST] */
static void cmd_getex(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1];
    unsigned flags = 0;
    const resp_arg_t *expire = NULL;
    if (req->argc > 2 && parse_ext(req, 0, &flags, &expire, r)) return;

    kentry_t *e = db_lookup_read(ctx, key);
    if (!e) {
        reply_null(r);
        return;
    }
    if (!check_string(e, r)) return;
    long long when = 0;
    if (expire &&
        expire_ms(ctx, expire, flags & SO_ANY_EXPIRE, "getex", r, &when))
        return;

    /* Reply first: the value goes away if the key is deleted below. */
    char scratch[INT_SCRATCH];
    size_t len;
    const char *p = ke_str(e, &len, scratch);
    reply_bulk(r, p, len);

    /* propagated as DEL, PEXPIREAT key ms, PERSIST key */
    if ((flags & (SO_EXAT | SO_PXAT)) && when <= ctx->now_ms) {
        /* An absolute time already past deletes the key. */
        db_delete(ctx, key);
        db_modified(ctx, key);
        notify_key(ctx->node, NOTIFY_GENERIC, "del", key);
        resp_arg_t argv[2] = {{"DEL", 3}, *key};
        propagate_rewrite(ctx, 2, argv);
    } else if (expire) {
        ks_set_expire(ctx->ks, e, when);
        db_modified(ctx, key);
        notify_key(ctx->node, NOTIFY_GENERIC, "expire", key);
        char num[24];
        resp_arg_t argv[3] = {{"PEXPIREAT", 9}, *key,
                              {num, resp_ll2str(num, when)}};
        propagate_rewrite(ctx, 3, argv);
    } else if (flags & SO_PERSIST) {
        if (ks_persist(ctx->ks, &e)) {
            db_modified(ctx, key);
            notify_key(ctx->node, NOTIFY_GENERIC, "persist", key);
        }
        resp_arg_t argv[2] = {{"PERSIST", 7}, *key};
        propagate_rewrite(ctx, 2, argv);
    }
}

/* GETDEL key */
static void cmd_getdel(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1];
    if (get_generic(ctx, key, r)) return;
    if (db_delete(ctx, key)) {
        db_modified(ctx, key);
        notify_key(ctx->node, NOTIFY_GENERIC, "del", key);
    }
    resp_arg_t argv[2] = {{"DEL", 3}, *key};
    propagate_rewrite(ctx, 2, argv);
}

/* GETSET key value */
static void cmd_getset(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1];
    if (get_generic(ctx, key, r)) return;
    notify_new_if_absent(ctx, key);
    set_str(ctx, key, &req->argv[2], 0);
    db_modified(ctx, key);
    notify_key(ctx->node, NOTIFY_STRING, "set", key);
    resp_arg_t set = {"SET", 3};
    int idx = 0;
    propagate_rewrite_edit(ctx, req->argc, req->argv, 1, &idx, &set);
}

/* MGET key [key ...] */
static void cmd_mget(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    char scratch[INT_SCRATCH];
    reply_array(r, req->argc - 1);
    for (int j = 1; j < req->argc; j++) {
        kentry_t *e = db_lookup_read(ctx, &req->argv[j]);
        if (!e || ke_type(e) != KT_STRING) {
            reply_null(r);
            continue;
        }
        size_t len;
        const char *p = ke_str(e, &len, scratch);
        reply_bulk(r, p, len);
    }
}

/* MSET / MSETNX: argc is odd (checked), nx: fail if any key exists. */
static void mset_generic(cmdctx_t *ctx, const req_t *req, int nx, reply_t *r)
{
    if (req->argc % 2 == 0) {
        reply_err_arity(r, nx ? "msetnx" : "mset");
        return;
    }
    if (nx) {
        for (int j = 1; j < req->argc; j += 2) {
            if (db_lookup_write(ctx, &req->argv[j])) {
                reply_int(r, 0);
                return;
            }
        }
    }
    for (int j = 1; j < req->argc; j += 2) {
        notify_new_if_absent(ctx, &req->argv[j]);
        set_str(ctx, &req->argv[j], &req->argv[j + 1], 0);
        db_modified(ctx, &req->argv[j]);
        notify_key(ctx->node, NOTIFY_STRING, "set", &req->argv[j]);
    }
    if (nx)
        reply_int(r, 1);
    else
        reply_ok(r);
}

/* MSET key value [key value ...] */
static void cmd_mset(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    mset_generic(ctx, req, 0, r);
}

/* MSETNX key value [key value ...] */
static void cmd_msetnx(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    mset_generic(ctx, req, 1, r);
}

/* ---- counters ---------------------------------------------------------- */

/* incrDecrCommand: add incr to the integer at key (0 if absent), keeping
 * the TTL; an int-encoded value is rewritten in place by ks_set_int. */
static void incr_generic(cmdctx_t *ctx, const resp_arg_t *key, long long incr,
                         reply_t *r)
{
    kentry_t *e = db_lookup_write(ctx, key);
    long long v = 0;
    if (e) {
        if (!check_string(e, r)) return;
        if (ke_enc(e) == KE_INT) {
            v = ke_int(e);
        } else {
            char scratch[INT_SCRATCH];
            size_t len;
            const char *p = ke_str(e, &len, scratch);
            if (!resp_str2ll(p, len, &v)) {
                reply_err_notint(r);
                return;
            }
        }
    }
    if ((incr < 0 && v < 0 && incr < LLONG_MIN - v) ||
        (incr > 0 && v > 0 && incr > LLONG_MAX - v)) {
        reply_error(r, err_overflow);
        return;
    }
    v += incr;
    if (!e) notify_key(ctx->node, NOTIFY_NEW, "new", key);
    ks_set_int(ctx->ks, key->ptr, key->len, v, 1);
    db_modified(ctx, key);
    notify_key(ctx->node, NOTIFY_STRING, "incrby", key);
    reply_int(r, v);
}

/* INCR key */
static void cmd_incr(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    incr_generic(ctx, &req->argv[1], 1, r);
}

/* DECR key */
static void cmd_decr(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    incr_generic(ctx, &req->argv[1], -1, r);
}

/* INCRBY key increment */
static void cmd_incrby(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long incr;
    if (arg_ll(&req->argv[2], &incr, r)) return;
    incr_generic(ctx, &req->argv[1], incr, r);
}

/* DECRBY key decrement */
static void cmd_decrby(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long decr;
    if (arg_ll(&req->argv[2], &decr, r)) return;
    if (decr == LLONG_MIN) {
        /* -decr would overflow */
        reply_error(r, "ERR decrement would overflow");
        return;
    }
    incr_generic(ctx, &req->argv[1], -decr, r);
}

/* INCRBYFLOAT key increment */
static void cmd_incrbyfloat(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1], *arg = &req->argv[2];
    kentry_t *e = db_lookup_write(ctx, key);
    long double v = 0, incr;
    if (e) {
        if (!check_string(e, r)) return;
        if (ke_enc(e) == KE_INT) {
            v = (long double)ke_int(e);
        } else {
            char scratch[INT_SCRATCH];
            size_t len;
            const char *p = ke_str(e, &len, scratch);
            if (!numfmt_str2ld(p, len, &v)) {
                reply_error(r, err_notfloat);
                return;
            }
        }
    }
    if (!numfmt_str2ld(arg->ptr, arg->len, &incr)) {
        reply_error(r, err_notfloat);
        return;
    }
    v += incr;
    if (isnan(v) || isinf(v)) {
        reply_error(r, "ERR increment would produce NaN or Infinity");
        return;
    }
    char buf[NUMFMT_LD_MAX_CHARS];
    size_t n = numfmt_ld2str_human(buf, v);
    if (!e) notify_key(ctx->node, NOTIFY_NEW, "new", key);
    ks_set_str(ctx->ks, key->ptr, key->len, buf, n, 1);
    db_modified(ctx, key);
    notify_key(ctx->node, NOTIFY_STRING, "incrbyfloat", key);
    reply_bulk(r, buf, n);
    /* the float's formatting must not differ on a replica */
    resp_arg_t argv[4] = {{"SET", 3}, *key, {buf, n}, {"KEEPTTL", 7}};
    propagate_rewrite(ctx, 4, argv);
}

/* ---- APPEND, STRLEN, ranges -------------------------------------------- */

/* APPEND key value */
static void cmd_append(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1], *val = &req->argv[2];
    kentry_t *e = db_lookup_write(ctx, key);
    size_t total;
    if (!e) {
        notify_key(ctx->node, NOTIFY_NEW, "new", key);
        set_str(ctx, key, val, 0);
        total = val->len;
    } else {
        if (!check_string(e, r)) return;
        char scratch[INT_SCRATCH];
        size_t olen;
        ke_str(e, &olen, scratch);
        if (check_length(ctx, (long long)olen, (long long)val->len, r)) return;
        total = olen + val->len;
        /* Always made writable (raw), as Redis unshares the value even
         * for an empty append. */
        char *p = ks_str_writable(ctx->ks, &e, total);
        if (val->len) memcpy(p + olen, val->ptr, val->len);
    }
    db_modified(ctx, key);
    notify_key(ctx->node, NOTIFY_STRING, "append", key);
    reply_int(r, (long long)total);
}

/* STRLEN key */
static void cmd_strlen(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (!e) {
        reply_int(r, 0);
        return;
    }
    if (!check_string(e, r)) return;
    char scratch[INT_SCRATCH];
    size_t len;
    ke_str(e, &len, scratch);
    reply_int(r, (long long)len);
}

/* SETRANGE key offset value */
static void cmd_setrange(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1], *val = &req->argv[3];
    long long off;
    if (arg_ll(&req->argv[2], &off, r)) return;
    if (off < 0) {
        reply_error(r, "ERR offset is out of range");
        return;
    }
    kentry_t *e = db_lookup_write(ctx, key);
    size_t olen = 0;
    if (!e) {
        /* Nothing to set on a missing key: 0, and no key is created. */
        if (val->len == 0) {
            reply_int(r, 0);
            return;
        }
        if (check_length(ctx, off, (long long)val->len, r)) return;
        notify_key(ctx->node, NOTIFY_NEW, "new", key);
        e = ks_set_str(ctx->ks, key->ptr, key->len, "", 0, 0);
    } else {
        if (!check_string(e, r)) return;
        char scratch[INT_SCRATCH];
        ke_str(e, &olen, scratch);
        if (val->len == 0) {
            reply_int(r, (long long)olen);
            return;
        }
        if (check_length(ctx, off, (long long)val->len, r)) return;
    }
    size_t end = (size_t)off + val->len;
    size_t newlen = end > olen ? end : olen;
    char *p = ks_str_writable(ctx->ks, &e, newlen);
    memcpy(p + off, val->ptr, val->len);
    db_modified(ctx, key);
    notify_key(ctx->node, NOTIFY_STRING, "setrange", key);
    reply_int(r, (long long)newlen);
}

/* GETRANGE key start end (SUBSTR is the same command) */
static void cmd_getrange(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long start, end;
    if (arg_ll(&req->argv[2], &start, r) || arg_ll(&req->argv[3], &end, r))
        return;
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (!e) {
        reply_bulk(r, "", 0);
        return;
    }
    if (!check_string(e, r)) return;
    char scratch[INT_SCRATCH];
    size_t len;
    const char *p = ke_str(e, &len, scratch);
    long long slen = (long long)len;

    /* Redis 7 semantics: both negative and reversed is empty; negative
     * indexes count from the end and clamp to 0; end clamps to the last
     * byte. */
    if (start < 0 && end < 0 && start > end) {
        reply_bulk(r, "", 0);
        return;
    }
    if (start < 0) start += slen;
    if (end < 0) end += slen;
    if (start < 0) start = 0;
    if (end < 0) end = 0;
    if ((unsigned long long)end >= len) end = slen - 1;
    if (start > end || slen == 0)
        reply_bulk(r, "", 0);
    else
        reply_bulk(r, p + start, (size_t)(end - start + 1));
}

/* SUBSTR key start end */
static void cmd_substr(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    cmd_getrange(ctx, req, r);
}

/* ---- LCS --------------------------------------------------------------- */

/*
 * One matching range found while walking the LCS table back, emitted if
 * it is at least minmatchlen long.
 */
static void lcs_emit(reply_t *r, uint32_t as, uint32_t ae, uint32_t bs,
                     uint32_t be, int withmatchlen)
{
    reply_array(r, 2 + withmatchlen);
    reply_array(r, 2);
    reply_int(r, as);
    reply_int(r, ae);
    reply_array(r, 2);
    reply_int(r, bs);
    reply_int(r, be);
    if (withmatchlen) reply_int(r, (long long)(ae - as + 1));
}

/* LCS key1 key2 [LEN] [IDX] [MINMATCHLEN len] [WITHMATCHLEN] */
static void cmd_lcs(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long minmatchlen = 0;
    int getlen = 0, getidx = 0, withmatchlen = 0;

    /* Both lookups first, counting hits/misses, as lookupKeyRead does.
     * The second may expire (delete) its key, so the first entry is found
     * again rather than kept across it. */
    kentry_t *ea = db_lookup_read(ctx, &req->argv[1]);
    kentry_t *eb = db_lookup_read(ctx, &req->argv[2]);
    if (ea) ea = ks_find(ctx->ks, req->argv[1].ptr, req->argv[1].len);
    if ((ea && ke_type(ea) != KT_STRING) || (eb && ke_type(eb) != KT_STRING)) {
        reply_error(r, "ERR The specified keys must contain string values");
        return;
    }

    for (int j = 3; j < req->argc; j++) {
        const resp_arg_t *opt = &req->argv[j];
        int moreargs = req->argc - 1 - j;
        if (arg_eq(opt, "idx")) {
            getidx = 1;
        } else if (arg_eq(opt, "len")) {
            getlen = 1;
        } else if (arg_eq(opt, "withmatchlen")) {
            withmatchlen = 1;
        } else if (arg_eq(opt, "minmatchlen") && moreargs) {
            if (arg_ll(&req->argv[j + 1], &minmatchlen, r)) return;
            if (minmatchlen < 0) minmatchlen = 0;
            j++;
        } else {
            reply_err_syntax(r);
            return;
        }
    }
    if (getlen && getidx) {
        reply_error(r, "ERR If you want both the length and indexes, please "
                       "just use IDX.");
        return;
    }

    /* Missing keys are empty strings. */
    char sa[INT_SCRATCH], sb[INT_SCRATCH];
    size_t la = 0, lb = 0;
    const char *a = ea ? ke_str(ea, &la, sa) : "";
    const char *b = eb ? ke_str(eb, &lb, sb) : "";
    if (la >= UINT32_MAX - 1 || lb >= UINT32_MAX - 1) {
        reply_error(r, "ERR String too long for LCS");
        return;
    }
    uint32_t alen = (uint32_t)la, blen = (uint32_t)lb;

    /* The DP table: LCS(i,j) is the LCS length of a[0..i-1], b[0..j-1].
     * Its size is bounded by proto-max-bulk-len like Redis, so a pair of
     * big values cannot make the node allocate without limit. */
    unsigned long long rows = (unsigned long long)alen + 1;
    unsigned long long cols = (unsigned long long)blen + 1;
    unsigned long long cells = rows * cols; /* < 2^64: both < 2^32 */
    uint32_t *lcs = NULL;
    if (cells <= SIZE_MAX / sizeof(uint32_t)) {
        unsigned long long bytes = cells * sizeof(uint32_t);
        if (bytes > (unsigned long long)ctx->node->proto_max_bulk_len) {
            reply_error(r, "ERR Insufficient memory, transient memory for "
                           "LCS exceeds proto-max-bulk-len");
            return;
        }
        lcs = ts_try_malloc((size_t)bytes);
    }
    if (!lcs) {
        reply_error(r, "ERR Insufficient memory, failed allocating "
                       "transient memory for LCS");
        return;
    }
#define LCS(i, j) lcs[(size_t)(j) + (size_t)(i) * (size_t)cols]
    for (uint32_t i = 0; i <= alen; i++) {
        for (uint32_t j = 0; j <= blen; j++) {
            if (i == 0 || j == 0) {
                LCS(i, j) = 0;
            } else if (a[i - 1] == b[j - 1]) {
                LCS(i, j) = LCS(i - 1, j - 1) + 1;
            } else {
                uint32_t l1 = LCS(i - 1, j), l2 = LCS(i, j - 1);
                LCS(i, j) = l1 > l2 ? l1 : l2;
            }
        }
    }

    uint32_t total = LCS(alen, blen);
    uint32_t idx = total;
    char *result = NULL;
    size_t handle = 0;
    long long nranges = 0;
    if (!getidx && !getlen) result = ts_malloc(total ? total : 1);
    if (getidx) {
        reply_map(r, 2);
        reply_bulk_str(r, "matches");
        handle = reply_defer(r);
    }

    /* Walk back from the end, collecting the LCS string and the ranges of
     * contiguous matches (from the end of the strings to the start), as
     * Redis does. */
    uint32_t as = alen, ae = 0, bs = 0, be = 0; /* as == alen: no range */
    uint32_t i = alen, j = blen;
    while ((getidx || !getlen) && i > 0 && j > 0) {
        int emit = 0;
        if (a[i - 1] == b[j - 1]) {
            if (result) result[idx - 1] = a[i - 1];
            if (as == alen) {
                as = ae = i - 1;
                bs = be = j - 1;
            } else if (as == i && bs == j) {
                as--;
                bs--;
            } else {
                emit = 1;
            }
            if (as == 0 || bs == 0) emit = 1;
            idx--;
            i--;
            j--;
        } else {
            if (LCS(i - 1, j) > LCS(i, j - 1))
                i--;
            else
                j--;
            if (as != alen) emit = 1;
        }
        if (emit) {
            uint32_t mlen = ae - as + 1;
            if (getidx && (minmatchlen == 0 || mlen >= minmatchlen)) {
                lcs_emit(r, as, ae, bs, be, withmatchlen);
                nranges++;
            }
            as = alen;
        }
    }
#undef LCS

    if (getidx) {
        reply_bulk_str(r, "len");
        reply_int(r, total);
        reply_set_deferred(r, handle, '*', nranges);
    } else if (getlen) {
        reply_int(r, total);
    } else {
        reply_bulk(r, result, total);
    }
    ts_free(result);
    ts_free(lcs);
}

/* ---- binding ----------------------------------------------------------- */

const cmd_bind_t t_string_cmds[] = {
    {CMD_GET, cmd_get},           {CMD_SET, cmd_set},
    {CMD_SETNX, cmd_setnx},       {CMD_SETEX, cmd_setex},
    {CMD_PSETEX, cmd_psetex},     {CMD_GETEX, cmd_getex},
    {CMD_GETDEL, cmd_getdel},     {CMD_GETSET, cmd_getset},
    {CMD_MGET, cmd_mget},         {CMD_MSET, cmd_mset},
    {CMD_MSETNX, cmd_msetnx},     {CMD_INCR, cmd_incr},
    {CMD_DECR, cmd_decr},         {CMD_INCRBY, cmd_incrby},
    {CMD_DECRBY, cmd_decrby},     {CMD_INCRBYFLOAT, cmd_incrbyfloat},
    {CMD_APPEND, cmd_append},     {CMD_STRLEN, cmd_strlen},
    {CMD_SETRANGE, cmd_setrange}, {CMD_GETRANGE, cmd_getrange},
    {CMD_SUBSTR, cmd_substr},     {CMD_LCS, cmd_lcs},
    {CMD__COUNT, NULL},
};
