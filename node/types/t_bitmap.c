/*
 * t_bitmap.c: the bitmap commands (SETBIT, GETBIT, BITCOUNT, BITPOS,
 * BITOP, BITFIELD, BITFIELD_RO) over string values, with Redis 7.0's
 * replies, error texts and order of checks.
 *
 * Bitmaps are ordinary string values (keyspace.h): reads take the bytes
 * from ke_str (an integer-encoded value reads as its decimal text, as in
 * Redis); writes make the value a raw buffer with ks_str_writable, which
 * grows with spare room, so setting bits one by one at increasing offsets
 * costs amortised O(1) per bit.  A write that grows the value or changes
 * a bit counts as a change (dirty counter, WATCH, "setbit" event,
 * propagation of the command as is); one that changes nothing is not
 * propagated, as in Redis 7.0.
 *
 * Redis 7.0's order of checks is visible and followed: BITCOUNT looks the
 * key up before parsing its range (a missing key answers 0 whatever the
 * arguments), BITPOS parses the bit first, then looks up, then the range.
 * Offsets are limited to proto-max-bulk-len bytes.
 *
 * The counting and searching go a word at a time (bitops.c); BITOP folds
 * each source into the result a word at a time.
 */
#include <limits.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "bitops.h"
#include "cmd.h"
#include "db.h"
#include "keyspace.h"
#include "notify.h"
#include "reply.h"
#include "resp.h"

/* Room for a KE_INT value formatted by ke_str. */
#define INT_SCRATCH 32

static const char err_offset[] =
    "ERR bit offset is not an integer or out of range";
static const char err_bit[] = "ERR bit is not an integer or out of range";
static const char err_bftype[] =
    "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 "
    "is not supported but i64 is.";

/* ---- helpers ----------------------------------------------------------- */

/*
 * getBitOffsetFromArgument: a bit offset, >= 0 and below
 * proto-max-bulk-len bytes.  With hash (BITFIELD) "#n" means n * bits;
 * the product wraps as Redis's does.  Returns -1 after replying.
 */
static int parse_offset(cmdctx_t *ctx, const resp_arg_t *a, int hash,
                        unsigned bits, uint64_t *out, reply_t *r)
{
    int usehash = hash && bits > 0 && a->len > 0 && a->ptr[0] == '#';
    long long v;
    if (!resp_str2ll(a->ptr + usehash, a->len - (size_t)usehash, &v)) {
        reply_error(r, err_offset);
        return -1;
    }
    if (usehash) v = (long long)((unsigned long long)v * bits);
    if (v < 0 || (v >> 3) >= ctx->node->proto_max_bulk_len) {
        reply_error(r, err_offset);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* getBitfieldTypeFromArgument: "i1".."i64" or "u1".."u63". */
static int parse_bftype(const resp_arg_t *a, int *sign, unsigned *bits,
                        reply_t *r)
{
    long long n;
    if (a->len < 2 || (a->ptr[0] != 'i' && a->ptr[0] != 'u') ||
        !resp_str2ll(a->ptr + 1, a->len - 1, &n) || n < 1 ||
        n > (a->ptr[0] == 'i' ? 64 : 63)) {
        reply_error(r, err_bftype);
        return -1;
    }
    *sign = a->ptr[0] == 'i';
    *bits = (unsigned)n;
    return 0;
}

/* Is e a string?  Replies WRONGTYPE and returns 0 if not. */
static inline int check_string(const kentry_t *e, reply_t *r)
{
    if (ke_type(e) == KT_STRING) return 1;
    reply_err_wrongtype(r);
    return 0;
}

/* The string at key for a read (an integer value as its text, in
 * scratch): 1 with its bytes in *p and *len, 0 for a missing key (nothing
 * replied, *p and *len untouched), -1 after replying WRONGTYPE. */
static int read_bits(cmdctx_t *ctx, const resp_arg_t *key, char *scratch,
                     const unsigned char **p, size_t *len, reply_t *r)
{
    kentry_t *e = db_lookup_read(ctx, key);
    if (!e) return 0;
    if (!check_string(e, r)) return -1;
    *p = (const unsigned char *)ke_str(e, len, scratch);
    return 1;
}

/*
 * lookupStringForBitCommand: the string at key made writable and at least
 * long enough to hold bit maxbit (created, zero-filled, if absent: "new"
 * event).  Sets *len to its length and *grew to the bytes added.  NULL
 * after replying WRONGTYPE.  The pointer is valid until the keyspace
 * next changes.
 */
static unsigned char *str_for_bits(cmdctx_t *ctx, const resp_arg_t *key,
                                   uint64_t maxbit, size_t *len, size_t *grew,
                                   reply_t *r)
{
    size_t need = (size_t)(maxbit >> 3) + 1;
    size_t olen = 0;
    kentry_t *e = db_lookup_write(ctx, key);
    if (!e) {
        notify_key(ctx->node, NOTIFY_NEW, "new", key);
        e = ks_set_str(ctx->ks, key->ptr, key->len, "", 0, 0);
    } else {
        if (!check_string(e, r)) return NULL;
        char scratch[INT_SCRATCH];
        ke_str(e, &olen, scratch);
    }
    *len = need > olen ? need : olen;
    *grew = *len - olen;
    return (unsigned char *)ks_str_writable(ctx->ks, &e, *len);
}

/* Redis's index conversion for BITCOUNT / BITPOS: negative indexes count
 * from the end of totlen units, then both are clamped into the value. */
static void clamp_range(long long totlen, long long *start, long long *end)
{
    if (*start < 0) *start += totlen;
    if (*end < 0) *end += totlen;
    if (*start < 0) *start = 0;
    if (*end < 0) *end = 0;
    if (*end >= totlen) *end = totlen - 1;
}

/* BIT or BYTE: 1, 0, or -1 after replying a syntax error. */
static int parse_unit(const resp_arg_t *a, reply_t *r)
{
    if (arg_eq(a, "bit")) return 1;
    if (arg_eq(a, "byte")) return 0;
    reply_err_syntax(r);
    return -1;
}

/* The value of bit b of p. */
static inline int bit_at(const unsigned char *p, uint64_t b)
{
    return (p[b >> 3] >> (7 - (b & 7))) & 1;
}

/* First bit equal to `bit` in bits [bs, be] of p, or -1. */
static long long find_bit(const unsigned char *p, uint64_t bs, uint64_t be,
                          int bit)
{
    uint64_t b = bs;
    for (; b <= be && (b & 7); b++)
        if (bit_at(p, b) == bit) return (long long)b;
    if (b > be) return -1;
    uint64_t nbytes = (be + 1 - b) >> 3;
    if (nbytes) {
        long long pos = bitops_bitpos(p + (b >> 3), (size_t)nbytes, bit);
        if (pos >= 0 && (uint64_t)pos < nbytes * 8) return (long long)b + pos;
        b += nbytes * 8;
    }
    for (; b <= be; b++)
        if (bit_at(p, b) == bit) return (long long)b;
    return -1;
}

/* ---- SETBIT / GETBIT --------------------------------------------------- */

/* SETBIT key offset value */
static void cmd_setbit(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1];
    uint64_t off;
    long long on;
    if (parse_offset(ctx, &req->argv[2], 0, 0, &off, r)) return;
    if (arg_ll_msg(&req->argv[3], &on, r, err_bit)) return;
    if (on & ~1LL) {
        reply_error(r, err_bit);
        return;
    }
    size_t len, grew;
    unsigned char *p = str_for_bits(ctx, key, off, &len, &grew, r);
    if (!p) return;
    unsigned char *byte = p + (off >> 3);
    unsigned shift = 7 - (unsigned)(off & 7);
    int old = (*byte >> shift) & 1;
    if (grew || old != on) {
        *byte =
            (unsigned char)((*byte & ~(1u << shift)) | ((unsigned)on << shift));
        db_modified(ctx, key);
        notify_key(ctx->node, NOTIFY_STRING, "setbit", key);
    }
    reply_int(r, old);
}

/* GETBIT key offset */
static void cmd_getbit(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    uint64_t off;
    if (parse_offset(ctx, &req->argv[2], 0, 0, &off, r)) return;
    char scratch[INT_SCRATCH];
    const unsigned char *p = NULL;
    size_t len = 0;
    if (read_bits(ctx, &req->argv[1], scratch, &p, &len, r) < 0) return;
    reply_int(r, (off >> 3) < len ? bit_at(p, off) : 0);
}

/* ---- BITCOUNT / BITPOS ------------------------------------------------- */

/* BITCOUNT key [start end [BYTE|BIT]] */
static void cmd_bitcount(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    /* Redis 7.0 looks up first: a missing key is 0 whatever follows. */
    char scratch[INT_SCRATCH];
    const unsigned char *p;
    size_t slen;
    int found = read_bits(ctx, &req->argv[1], scratch, &p, &slen, r);
    if (found <= 0) {
        if (found == 0) reply_int(r, 0);
        return;
    }
    long long start = 0, end = (long long)slen - 1;
    int isbit = 0;
    unsigned char first_mask = 0, last_mask = 0;

    if (req->argc == 4 || req->argc == 5) {
        if (arg_ll(&req->argv[2], &start, r) || arg_ll(&req->argv[3], &end, r))
            return;
        if (start < 0 && end < 0 && start > end) {
            reply_int(r, 0);
            return;
        }
        if (req->argc == 5 && (isbit = parse_unit(&req->argv[4], r)) < 0)
            return;
        clamp_range(isbit ? (long long)slen * 8 : (long long)slen, &start,
                    &end);
        if (isbit && start <= end) {
            /* bits of the edge bytes outside the range */
            first_mask = (unsigned char)~((1u << (8 - (start & 7))) - 1);
            last_mask = (unsigned char)((1u << (7 - (end & 7))) - 1);
            start >>= 3;
            end >>= 3;
        }
    } else if (req->argc != 2) {
        reply_err_syntax(r);
        return;
    }
    if (start > end) {
        reply_int(r, 0);
        return;
    }
    long long count = bitops_popcount(p + start, (size_t)(end - start + 1));
    count -= __builtin_popcount(p[start] & first_mask);
    count -= __builtin_popcount(p[end] & last_mask);
    reply_int(r, count);
}

/* BITPOS key bit [start [end [BYTE|BIT]]] */
static void cmd_bitpos(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    long long bit;
    if (arg_ll(&req->argv[2], &bit, r)) return;
    if (bit != 0 && bit != 1) {
        reply_error(r, "ERR The bit argument must be 1 or 0.");
        return;
    }
    /* A missing key is an endless run of zeros (Redis 7.0 answers before
     * looking at the range). */
    char scratch[INT_SCRATCH];
    const unsigned char *p;
    size_t slen;
    int found = read_bits(ctx, &req->argv[1], scratch, &p, &slen, r);
    if (found <= 0) {
        if (found == 0) reply_int(r, bit ? -1 : 0);
        return;
    }
    long long start = 0, end = (long long)slen - 1;
    int isbit = 0, end_given = 0;

    if (req->argc >= 4 && req->argc <= 6) {
        if (arg_ll(&req->argv[3], &start, r)) return;
        if (req->argc == 6 && (isbit = parse_unit(&req->argv[5], r)) < 0)
            return;
        if (req->argc >= 5) {
            if (arg_ll(&req->argv[4], &end, r)) return;
            end_given = 1;
        }
        clamp_range(isbit ? (long long)slen * 8 : (long long)slen, &start,
                    &end);
    } else if (req->argc != 3) {
        reply_err_syntax(r);
        return;
    }
    if (start > end) { /* an empty range has neither 0 nor 1 */
        reply_int(r, -1);
        return;
    }
    uint64_t bs = isbit ? (uint64_t)start : (uint64_t)start * 8;
    uint64_t be = isbit ? (uint64_t)end : (uint64_t)end * 8 + 7;
    long long pos = find_bit(p, bs, be, (int)bit);
    /* No 0 found: without an explicit end the value counts as padded
     * with zeros, so the answer is the first bit past its end. */
    if (pos < 0 && bit == 0 && !end_given) pos = (long long)slen * 8;
    reply_int(r, pos);
}

/* ---- BITOP ------------------------------------------------------------- */

enum { OP_AND, OP_OR, OP_XOR, OP_NOT };

static inline uint64_t load64(const unsigned char *p)
{
    uint64_t w;
    memcpy(&w, p, sizeof(w));
    return w;
}

/* res[0..n-1] op= s[0..n-1], a word at a time. */
static void fold(unsigned char *res, const unsigned char *s, size_t n, int op)
{
    size_t i = 0;
    uint64_t w;
    switch (op) {
    case OP_AND:
        for (; i + 8 <= n; i += 8) {
            w = load64(res + i) & load64(s + i);
            memcpy(res + i, &w, 8);
        }
        for (; i < n; i++)
            res[i] &= s[i];
        break;
    case OP_OR:
        for (; i + 8 <= n; i += 8) {
            w = load64(res + i) | load64(s + i);
            memcpy(res + i, &w, 8);
        }
        for (; i < n; i++)
            res[i] |= s[i];
        break;
    default:
        for (; i + 8 <= n; i += 8) {
            w = load64(res + i) ^ load64(s + i);
            memcpy(res + i, &w, 8);
        }
        for (; i < n; i++)
            res[i] ^= s[i];
        break;
    }
}

/* One source of BITOP: its bytes (in its entry or in scratch). */
typedef struct bsrc {
    const unsigned char *p;
    size_t len;
    char scratch[INT_SCRATCH];
} bsrc_t;

/*
 * res (maxlen bytes) holds source `first`, the longest one; fold the
 * others in (NOT has only the one: invert it).  AND, OR and XOR commute,
 * so starting from the longest source is the same as starting from the
 * first; past a shorter source's end it reads as zeros, so AND clears the
 * rest and OR and XOR leave it.
 */
static void bitop_compute(unsigned char *res, size_t maxlen, const bsrc_t *src,
                          int nkeys, int first, int op)
{
    if (op == OP_NOT) {
        size_t i = 0;
        for (; i + 8 <= maxlen; i += 8) {
            uint64_t w = ~load64(res + i);
            memcpy(res + i, &w, 8);
        }
        for (; i < maxlen; i++)
            res[i] = (unsigned char)~res[i];
        return;
    }
    for (int j = 0; j < nkeys; j++) {
        if (j == first) continue;
        if (src[j].len) fold(res, src[j].p, src[j].len, op);
        if (op == OP_AND && src[j].len < maxlen)
            memset(res + src[j].len, 0, maxlen - src[j].len);
    }
}

/* Is dest one of the source keys? */
static int dest_is_source(const req_t *req)
{
    const resp_arg_t *d = &req->argv[2];
    for (int j = 3; j < req->argc; j++)
        if (req->argv[j].len == d->len &&
            memcmp(req->argv[j].ptr, d->ptr, d->len) == 0)
            return 1;
    return 0;
}

/*
 * Store the result of BITOP at dest as a raw string (Redis stores it raw
 * whatever it looks like), TTL cleared.  Unless dest is also a source,
 * the value is created from the longest source and computed in place:
 * one allocation and one copy, as Redis's own result buffer.  Otherwise
 * it is computed aside first, since replacing dest frees a source.
 */
static void bitop_store(cmdctx_t *ctx, const req_t *req, const bsrc_t *src,
                        int nkeys, int first, size_t maxlen, int op)
{
    const resp_arg_t *dest = &req->argv[2];
    unsigned char *tmp = NULL;
    const unsigned char *init = src[first].p;
    if (dest_is_source(req)) {
        tmp = ts_malloc(maxlen);
        memcpy(tmp, init, maxlen);
        bitop_compute(tmp, maxlen, src, nkeys, first, op);
        init = tmp;
    }
    notify_new_if_absent(ctx, dest);
    kentry_t *e = ks_set_str(ctx->ks, dest->ptr, dest->len, (const char *)init,
                             maxlen, 0);
    unsigned char *res = (unsigned char *)ks_str_writable(ctx->ks, &e, maxlen);
    if (tmp)
        ts_free(tmp);
    else
        bitop_compute(res, maxlen, src, nkeys, first, op);
    db_modified(ctx, dest);
    notify_key(ctx->node, NOTIFY_STRING, "set", dest);
}

/* BITOP AND|OR|XOR|NOT destkey key [key ...] */
static void cmd_bitop(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *opname = &req->argv[1];
    const resp_arg_t *dest = &req->argv[2];
    int op;
    if (arg_eq(opname, "and"))
        op = OP_AND;
    else if (arg_eq(opname, "or"))
        op = OP_OR;
    else if (arg_eq(opname, "xor"))
        op = OP_XOR;
    else if (arg_eq(opname, "not"))
        op = OP_NOT;
    else {
        reply_err_syntax(r);
        return;
    }
    if (op == OP_NOT && req->argc != 4) {
        reply_error(r, "ERR BITOP NOT must be called with a single source "
                       "key.");
        return;
    }

    /* Look every source up first (expiry, hit/miss counts, type), then
     * take their bytes: a later lookup may expire a key, so pointers are
     * only taken once all lookups are done. */
    int nkeys = req->argc - 3;
    for (int j = 0; j < nkeys; j++) {
        kentry_t *e = db_lookup_read(ctx, &req->argv[3 + j]);
        if (e && !check_string(e, r)) return;
    }
    bsrc_t *src = ts_malloc((size_t)nkeys * sizeof(*src));
    size_t maxlen = 0;
    int first = 0;
    for (int j = 0; j < nkeys; j++) {
        const resp_arg_t *k = &req->argv[3 + j];
        kentry_t *e = ks_find(ctx->ks, k->ptr, k->len);
        src[j].len = 0;
        src[j].p = NULL;
        if (e)
            src[j].p =
                (const unsigned char *)ke_str(e, &src[j].len, src[j].scratch);
        if (src[j].len > maxlen) {
            maxlen = src[j].len;
            first = j;
        }
    }

    if (maxlen) {
        bitop_store(ctx, req, src, nkeys, first, maxlen, op);
    } else if (db_delete(ctx, dest)) { /* an empty result deletes dest */
        db_modified(ctx, dest);
        notify_key(ctx->node, NOTIFY_GENERIC, "del", dest);
    }
    ts_free(src);
    reply_int(r, (long long)maxlen);
}

/* ---- BITFIELD ---------------------------------------------------------- */

enum { BF_GET, BF_SET, BF_INCRBY };

typedef struct bfop {
    uint64_t off;
    int64_t arg; /* SET value or INCRBY increment */
    unsigned char opcode, ow, bits, sign;
} bfop_t;

/* GET on a value of len bytes (src NULL: none): the field read from up
 * to 9 bytes copied into a zero-padded buffer, so fields that run past
 * the end read zeros. */
static void bf_get(reply_t *r, const unsigned char *src, size_t len,
                   const bfop_t *op)
{
    unsigned char buf[9] = {0};
    uint64_t byte = op->off >> 3;
    for (unsigned i = 0; i < 9 && src && byte + i < len; i++)
        buf[i] = src[byte + i];
    uint64_t off = op->off - byte * 8;
    if (op->sign)
        reply_int(r, bitops_get_signed(buf, off, op->bits));
    else
        reply_int(r, (long long)bitops_get_unsigned(buf, off, op->bits));
}

/* SET or INCRBY on the writable value p; returns 1 if it changed the
 * field (or the value grew), replying the old (SET) or new (INCRBY)
 * value, or null when OVERFLOW FAIL refused it. */
static int bf_write(reply_t *r, unsigned char *p, const bfop_t *op, int grew)
{
    int incr = op->opcode == BF_INCRBY;
    int overflow;
    if (op->sign) {
        int64_t oldv = bitops_get_signed(p, op->off, op->bits), newv, wrapped;
        if (incr) {
            overflow = bitops_overflow_signed(oldv, op->arg, op->bits, op->ow,
                                              &wrapped);
            newv = overflow ? wrapped
                            : (int64_t)((uint64_t)oldv + (uint64_t)op->arg);
        } else {
            newv = op->arg;
            overflow =
                bitops_overflow_signed(newv, 0, op->bits, op->ow, &wrapped);
            if (overflow) newv = wrapped;
        }
        if (overflow && op->ow == BITOPS_FAIL) {
            reply_null(r);
            return 0;
        }
        reply_int(r, incr ? newv : oldv);
        bitops_set(p, op->off, op->bits, (uint64_t)newv);
        return grew || oldv != newv;
    }
    uint64_t oldv = bitops_get_unsigned(p, op->off, op->bits), newv,
             wrapped = 0;
    if (incr) {
        newv = oldv + (uint64_t)op->arg;
        overflow =
            bitops_overflow_unsigned(oldv, op->arg, op->bits, op->ow, &wrapped);
    } else {
        newv = (uint64_t)op->arg;
        overflow =
            bitops_overflow_unsigned(newv, 0, op->bits, op->ow, &wrapped);
    }
    if (overflow) newv = wrapped;
    if (overflow && op->ow == BITOPS_FAIL) {
        reply_null(r);
        return 0;
    }
    reply_int(r, (long long)(incr ? newv : oldv));
    bitops_set(p, op->off, op->bits, newv);
    return grew || oldv != newv;
}

/*
 * Parse BITFIELD's operations into ops (room for (argc - 2) / 2).
 * Returns how many, or -1 after replying; *maxbit: the last bit any
 * SET/INCRBY touches, *readonly: 1 if there is none.
 */
static int bf_parse(cmdctx_t *ctx, const req_t *req, bfop_t *ops,
                    uint64_t *maxbit, int *readonly, reply_t *r)
{
    int n = 0, ow = BITOPS_WRAP;
    *readonly = 1;
    *maxbit = 0;
    for (int j = 2; j < req->argc; j++) {
        int remargs = req->argc - j - 1;
        const resp_arg_t *sub = &req->argv[j];
        int opcode;
        if (arg_eq(sub, "get") && remargs >= 2) {
            opcode = BF_GET;
        } else if (arg_eq(sub, "set") && remargs >= 3) {
            opcode = BF_SET;
        } else if (arg_eq(sub, "incrby") && remargs >= 3) {
            opcode = BF_INCRBY;
        } else if (arg_eq(sub, "overflow") && remargs >= 1) {
            const resp_arg_t *t = &req->argv[++j];
            if (arg_eq(t, "wrap")) {
                ow = BITOPS_WRAP;
            } else if (arg_eq(t, "sat")) {
                ow = BITOPS_SAT;
            } else if (arg_eq(t, "fail")) {
                ow = BITOPS_FAIL;
            } else {
                reply_error(r, "ERR Invalid OVERFLOW type specified");
                return -1;
            }
            continue;
        } else {
            reply_err_syntax(r);
            return -1;
        }
        int sign;
        unsigned bits;
        uint64_t off;
        long long arg = 0;
        if (parse_bftype(&req->argv[j + 1], &sign, &bits, r) ||
            parse_offset(ctx, &req->argv[j + 2], 1, bits, &off, r))
            return -1;
        if (opcode != BF_GET) {
            *readonly = 0;
            if (*maxbit < off + bits - 1) *maxbit = off + bits - 1;
            if (arg_ll(&req->argv[j + 3], &arg, r)) return -1;
        }
        ops[n++] = (bfop_t){.off = off,
                            .arg = arg,
                            .opcode = (unsigned char)opcode,
                            .ow = (unsigned char)ow,
                            .bits = (unsigned char)bits,
                            .sign = (unsigned char)sign};
        j += opcode == BF_GET ? 2 : 3;
    }
    return n;
}

/* bitfieldGeneric: ro for BITFIELD_RO (GET only). */
static void bitfield_generic(cmdctx_t *ctx, const req_t *req, int ro,
                             reply_t *r)
{
    const resp_arg_t *key = &req->argv[1];
    bfop_t stack_ops[16];
    size_t cap = (size_t)(req->argc - 2) / 2;
    bfop_t *ops = cap <= 16 ? stack_ops : ts_malloc(cap * sizeof(*ops));
    uint64_t maxbit;
    int readonly;
    int n = bf_parse(ctx, req, ops, &maxbit, &readonly, r);
    if (n < 0) goto out;

    unsigned char *p = NULL;
    size_t len = 0, grew = 0;
    char scratch[INT_SCRATCH];
    if (readonly) {
        const unsigned char *rp = NULL;
        if (read_bits(ctx, key, scratch, &rp, &len, r) < 0) goto out;
        p = (unsigned char *)rp;
    } else {
        if (ro) {
            reply_error(r, "ERR BITFIELD_RO only supports the GET subcommand");
            goto out;
        }
        p = str_for_bits(ctx, key, maxbit, &len, &grew, r);
        if (!p) goto out;
    }

    long long changes = 0;
    reply_array(r, n);
    for (int i = 0; i < n; i++) {
        if (ops[i].opcode == BF_GET)
            bf_get(r, p, len, &ops[i]);
        else
            changes += bf_write(r, p, &ops[i], grew != 0);
    }
    if (changes) {
        db_modified(ctx, key);
        ctx->node->dirty += changes - 1; /* Redis adds one per change */
        notify_key(ctx->node, NOTIFY_STRING, "setbit", key);
    }
out:
    if (ops != stack_ops) ts_free(ops);
}

/* BITFIELD key [GET type offset] [SET type offset value]
 *   [INCRBY type offset increment] [OVERFLOW WRAP|SAT|FAIL] ... */
static void cmd_bitfield(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    bitfield_generic(ctx, req, 0, r);
}

/* BITFIELD_RO key [GET type offset ...] */
static void cmd_bitfield_ro(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    bitfield_generic(ctx, req, 1, r);
}

/* ---- binding ----------------------------------------------------------- */

const cmd_bind_t t_bitmap_cmds[] = {
    {CMD_SETBIT, cmd_setbit},
    {CMD_GETBIT, cmd_getbit},
    {CMD_BITCOUNT, cmd_bitcount},
    {CMD_BITPOS, cmd_bitpos},
    {CMD_BITOP, cmd_bitop},
    {CMD_BITFIELD, cmd_bitfield},
    {CMD_BITFIELD_RO, cmd_bitfield_ro},
    {CMD__COUNT, NULL},
};
