/*
 * t_hll.c: HyperLogLog (PFADD, PFCOUNT, PFMERGE, PFDEBUG, PFSELFTEST),
 * byte-compatible with Redis 7.0.
 *
 * A HyperLogLog is an ordinary string value, so GET, DUMP/RESTORE, RDB
 * files and replication move it between Tessera and Redis as is.  That
 * fixes everything here: the header and both encodings (t_hll.h), the
 * hash (MurmurHash64A, seed 0xadc83b19: the low 14 bits pick the
 * register, the run of zero bits above them plus one is the value), the
 * sparse opcodes and the exact way an update splits and re-merges them
 * (so that the same PFADDs leave the same bytes), the promotion to dense
 * when a value exceeds 32 or the value would grow past
 * hll-sparse-max-bytes, and the estimator (Ertl's "improved" estimator
 * from the register histogram with his tau and sigma series, as Redis 7.0
 * computes it, operation for operation, so the counts are identical).
 *
 * Sparse opcodes (one byte, two for XZERO):
 *     ZERO   00xxxxxx            xxxxxx+1 (1..64) zero registers
 *     XZERO  01xxxxxx yyyyyyyy   xxxxxxyyyyyyyy+1 (1..16384) zero registers
 *     VAL    1vvvvvxx            xx+1 (1..4) registers of value vvvvv+1
 * A valid sparse HLL covers exactly 16384 registers.  Values come from
 * the network (SET, RESTORE), so every reader here stops at the end of the
 * value and reports a count that is not 16384 as corruption
 * ("INVALIDOBJ"), as Debian's 7.0.15 does (with the CVE-2025-32023 fix: a
 * run past the last register is corruption even after exactly 16384).
 * A truncated XZERO reads its missing byte as 0, which is what Redis reads
 * there (the string's terminator).
 *
 * Updates of a sparse value run on a scratch copy (one buffer reused by
 * all commands, grown when needed) which is written back once per
 * command; dense values are updated in place.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cmd.h"
#include "db.h"
#include "keyspace.h"
#include "notify.h"
#include "reply.h"
#include "resp.h"
#include "t_hll.h"

#define HLL_REG_BYTES (HLL_DENSE_SIZE - HLL_HDR_SIZE)
#define HLL_REGISTER_MAX 63
#define HLL_ALPHA_INF 0.721347520444481703680 /* 0.5 / ln(2) */
#define HLL_SEED 0xadc83b19ULL

#define SP_VAL_MAX_VALUE 32
#define SP_VAL_MAX_LEN 4
#define SP_ZERO_MAX_LEN 64

static const char err_invalid[] = "INVALIDOBJ Corrupted HLL object detected";
static const char err_not_hll[] =
    "WRONGTYPE Key is not a valid HyperLogLog string value.";

/* ---- opcodes ------------------------------------------------------------ */

static inline int op_is_zero(uint8_t b) { return (b & 0xc0) == 0; }
static inline int op_is_xzero(uint8_t b) { return (b & 0xc0) == 0x40; }
static inline unsigned op_zero_len(uint8_t b) { return (b & 0x3fu) + 1; }
static inline unsigned op_val_value(uint8_t b) { return ((b >> 2) & 0x1fu) + 1; }
static inline unsigned op_val_len(uint8_t b) { return (b & 3u) + 1; }
/* XZERO's run length; the second byte reads as 0 past the end. */
static inline unsigned op_xzero_len(const uint8_t *p, const uint8_t *end)
{
    unsigned lo = p + 1 < end ? p[1] : 0;
    return (((p[0] & 0x3fu) << 8) | lo) + 1;
}
/* One opcode at p (p < end): the registers it covers, their value (0 for
 * ZERO and XZERO) and its size in bytes. */
typedef struct sparse_op {
    unsigned run, value, size;
} sparse_op_t;
static inline sparse_op_t op_decode(const uint8_t *p, const uint8_t *end)
{
    if (op_is_zero(*p)) return (sparse_op_t){op_zero_len(*p), 0, 1};
    if (op_is_xzero(*p)) return (sparse_op_t){op_xzero_len(p, end), 0, 2};
    return (sparse_op_t){op_val_len(*p), op_val_value(*p), 1};
}
static inline uint8_t op_zero(unsigned len) { return (uint8_t)(len - 1); }
static inline void op_xzero(uint8_t *p, unsigned len)
{
    p[0] = (uint8_t)(((len - 1) >> 8) | 0x40);
    p[1] = (uint8_t)((len - 1) & 0xff);
}
static inline uint8_t op_val(unsigned val, unsigned len)
{
    return (uint8_t)(0x80 | ((val - 1) << 2) | (len - 1));
}

/* ---- hashing ------------------------------------------------------------ */

/* MurmurHash64A (Austin Appleby), reading 8-byte blocks little-endian on
 * every host, as Redis does. */
uint64_t hll_murmur64a(const void *key, size_t len, uint64_t seed)
{
    const uint64_t m = 0xc6a4a7935bd1e995ULL;
    const int r = 47;
    const uint8_t *data = key;
    /* Redis passes the length as an int: same bits for lengths < 2^31
     * (bulk strings are at most 512 MB). */
    uint64_t h = seed ^ ((uint64_t)len * m);
    size_t nblocks = len / 8;
    for (size_t i = 0; i < nblocks; i++, data += 8) {
        uint64_t k = 0;
        for (int b = 7; b >= 0; b--) k = (k << 8) | data[b];
        k *= m;
        k ^= k >> r;
        k *= m;
        h ^= k;
        h *= m;
    }
    size_t tail = len & 7;
    if (tail) {
        for (size_t b = tail; b-- > 0;) h ^= (uint64_t)data[b] << (8 * b);
        h *= m;
    }
    h ^= h >> r;
    h *= m;
    h ^= h >> r;
    return h;
}

int hll_pat_len(const unsigned char *ele, size_t len, long *index)
{
    uint64_t hash = hll_murmur64a(ele, len, HLL_SEED);
    *index = (long)(hash & (HLL_REGISTERS - 1));
    /* The bits above the index, with a sentinel at bit Q so the run of
     * zeros is at most Q: the value is 1..Q+1. */
    hash >>= HLL_P;
    hash |= 1ULL << HLL_Q;
    return __builtin_ctzll(hash) + 1;
}

/* ---- header and dense registers ---------------------------------------- */

int hll_is_valid_header(const uint8_t *s, size_t len)
{
    if (len < HLL_HDR_SIZE) return 0;
    if (memcmp(s, "HYLL", 4) != 0) return 0;
    if (s[4] > HLL_SPARSE) return 0;
    if (s[4] == HLL_DENSE && len != HLL_DENSE_SIZE) return 0;
    return 1;
}

static inline int cache_valid(const uint8_t *s) { return (s[15] & 0x80) == 0; }
static inline void cache_invalidate(uint8_t *s) { s[15] |= 0x80; }

static uint64_t cache_get(const uint8_t *s)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--) v = (v << 8) | s[8 + i];
    return v;
}

static void cache_put(uint8_t *s, uint64_t v)
{
    for (int i = 0; i < 8; i++) s[8 + i] = (uint8_t)(v >> (8 * i));
}

/* Register i occupies bits 6i..6i+5, least significant first.  Only the
 * last register ends exactly at the last byte (fb == 2): a register
 * spills into the next byte only when fb > 2. */
unsigned hll_dense_get(const uint8_t *regs, long i)
{
    unsigned long bit = (unsigned long)i * 6;
    unsigned long byte = bit >> 3;
    unsigned fb = bit & 7;
    unsigned v = regs[byte] >> fb;
    if (fb > 2) v |= (unsigned)regs[byte + 1] << (8 - fb);
    return v & HLL_REGISTER_MAX;
}

void hll_dense_set(uint8_t *regs, long i, unsigned val)
{
    unsigned long bit = (unsigned long)i * 6;
    unsigned long byte = bit >> 3;
    unsigned fb = bit & 7;
    regs[byte] = (uint8_t)((regs[byte] & ~(HLL_REGISTER_MAX << fb)) |
                           (val << fb));
    if (fb > 2) {
        unsigned fb8 = 8 - fb;
        regs[byte + 1] = (uint8_t)((regs[byte + 1] &
                                    ~(HLL_REGISTER_MAX >> fb8)) |
                                   (val >> fb8));
    }
}

/* hllDenseSet: 1 if the register grew. */
static int dense_update(uint8_t *regs, long i, unsigned count)
{
    if (count <= hll_dense_get(regs, i)) return 0;
    hll_dense_set(regs, i, count);
    return 1;
}

/* ---- the estimator ------------------------------------------------------- */

/* Ertl's sigma(x) = x + sum_k x^(2^k) 2^(k-1), summed until it no longer
 * changes; infinite for x == 1 (every register zero). */
static double hll_sigma(double x)
{
    if (x == 1.) return INFINITY;
    double z_prev, y = 1, z = x;
    do {
        x *= x;
        z_prev = z;
        z += x * y;
        y += y;
    } while (z_prev != z);
    return z;
}

/* Ertl's tau(x) = (1 - x - sum_k (1 - x^(2^-k))^2 2^-k) / 3. */
static double hll_tau(double x)
{
    if (x == 0. || x == 1.) return 0.;
    double z_prev, y = 1.0, z = 1 - x;
    do {
        x = sqrt(x);
        z_prev = z;
        y *= 0.5;
        z -= pow(1 - x, 2) * y;
    } while (z_prev != z);
    return z / 3;
}

/* The estimate from the histogram of register values (index 0..63). */
static uint64_t estimate(const int64_t *histo)
{
    double m = HLL_REGISTERS;
    double z = m * hll_tau((m - (double)histo[HLL_Q + 1]) / m);
    for (int j = HLL_Q; j >= 1; --j) {
        z += (double)histo[j];
        z *= 0.5;
    }
    z += m * hll_sigma((double)histo[0] / m);
    return (uint64_t)llroundl(HLL_ALPHA_INF * m * m / z);
}

/* Histogram of a sparse encoding; -1 if it does not cover exactly 16384
 * registers (stops as soon as it is past them). */
static int sparse_histo(const uint8_t *p, const uint8_t *end, int64_t *histo)
{
    long idx = 0;
    while (p < end && idx <= HLL_REGISTERS) {
        sparse_op_t op = op_decode(p, end);
        histo[op.value] += op.run;
        idx += op.run;
        p += op.size;
    }
    return idx == HLL_REGISTERS ? 0 : -1;
}

uint64_t hll_count(const uint8_t *s, size_t len, int *invalid)
{
    int64_t histo[64] = {0};
    *invalid = 0;
    if (s[4] == HLL_DENSE) {
        const uint8_t *regs = s + HLL_HDR_SIZE;
        for (long i = 0; i < HLL_REGISTERS; i++) histo[hll_dense_get(regs, i)]++;
    } else if (sparse_histo(s + HLL_HDR_SIZE, s + len, histo) != 0) {
        *invalid = 1;
        return 0;
    }
    return estimate(histo);
}

uint64_t hll_count_raw(const uint8_t *regs)
{
    int64_t histo[256] = {0};
    for (long i = 0; i < HLL_REGISTERS; i++) histo[regs[i]]++;
    return estimate(histo);
}

/* ---- merging and conversion ----------------------------------------------- */

int hll_merge(uint8_t *max, const uint8_t *s, size_t len)
{
    if (s[4] == HLL_DENSE) {
        const uint8_t *regs = s + HLL_HDR_SIZE;
        for (long i = 0; i < HLL_REGISTERS; i++) {
            unsigned v = hll_dense_get(regs, i);
            if (v > max[i]) max[i] = (uint8_t)v;
        }
        return 0;
    }
    const uint8_t *p = s + HLL_HDR_SIZE, *end = s + len;
    long i = 0;
    while (p < end && i <= HLL_REGISTERS) {
        sparse_op_t op = op_decode(p, end);
        if (op.value) {
            if (i + op.run > HLL_REGISTERS) return -1; /* overflow */
            for (unsigned k = 0; k < op.run; k++)
                if (op.value > max[i + k]) max[i + k] = (uint8_t)op.value;
        }
        i += op.run;
        p += op.size;
    }
    return i == HLL_REGISTERS ? 0 : -1;
}

int hll_sparse_to_dense(const uint8_t *s, size_t len, uint8_t *out)
{
    memset(out, 0, HLL_DENSE_SIZE);
    memcpy(out, s, HLL_HDR_SIZE); /* magic, unused bytes and the cache */
    out[4] = HLL_DENSE;
    uint8_t *regs = out + HLL_HDR_SIZE;
    const uint8_t *p = s + HLL_HDR_SIZE, *end = s + len;
    long i = 0;
    while (p < end && i <= HLL_REGISTERS) {
        sparse_op_t op = op_decode(p, end);
        if (op.value) {
            if (i + op.run > HLL_REGISTERS) return -1; /* overflow */
            for (unsigned k = 0; k < op.run; k++)
                hll_dense_set(regs, i + k, op.value);
        }
        i += op.run;
        p += op.size;
    }
    return i == HLL_REGISTERS ? 0 : -1;
}

/* ---- sparse update ---------------------------------------------------- */

/* The opcode holding register `index`: sets *op, *prev (the opcode
 * before it, NULL if first) and *first (its first register).  -1 if the
 * opcodes end before the register (corrupt). */
static int sparse_locate(uint8_t *s, size_t len, long index, uint8_t **op,
                         uint8_t **prev, long *first, long *span)
{
    uint8_t *p = s + HLL_HDR_SIZE, *end = s + len;
    long f = 0, sp = 0;
    *prev = NULL;
    while (p < end) {
        sparse_op_t o = op_decode(p, end);
        sp = o.run;
        if (index <= f + sp - 1) break;
        *prev = p;
        p += o.size;
        f += sp;
    }
    if (sp == 0 || p >= end) return -1;
    *op = p;
    *first = f;
    *span = sp;
    return 0;
}

/* A run of `len` zero registers as ZERO or XZERO; returns bytes written. */
static int put_zeros(uint8_t *n, long len)
{
    if (len > SP_ZERO_MAX_LEN) {
        op_xzero(n, (unsigned)len);
        return 2;
    }
    n[0] = op_zero((unsigned)len);
    return 1;
}

/* Merge adjacent VAL opcodes of equal value whose lengths fit one opcode,
 * scanning at most 5 opcodes from p (Redis's step 4). */
static void sparse_merge_vals(uint8_t *p, uint8_t **endp)
{
    uint8_t *end = *endp;
    int scan = 5;
    while (p < end && scan--) {
        if (op_is_xzero(*p)) {
            p += 2;
            continue;
        }
        if (op_is_zero(*p)) {
            p++;
            continue;
        }
        if (p + 1 < end && !op_is_zero(p[1]) && !op_is_xzero(p[1]) &&
            op_val_value(p[0]) == op_val_value(p[1])) {
            unsigned len = op_val_len(p[0]) + op_val_len(p[1]);
            if (len <= SP_VAL_MAX_LEN) {
                p[1] = op_val(op_val_value(p[0]), len);
                memmove(p, p + 1, (size_t)(end - p - 1));
                end--;
                continue; /* try the merged one with its right neighbour */
            }
        }
        p++;
    }
    *endp = end;
}

int hll_sparse_set(uint8_t *s, size_t *len, long index, unsigned count,
                   size_t max_bytes)
{
    if (count > SP_VAL_MAX_VALUE) return 2;
    uint8_t *p, *prev;
    long first, span;
    if (sparse_locate(s, *len, index, &p, &prev, &first, &span)) return -1;
    uint8_t *end = s + *len;

    int is_xzero = op_is_xzero(*p), is_zero = op_is_zero(*p);
    int is_val = !is_zero && !is_xzero;
    if (is_val) {
        if (op_val_value(*p) >= count) return 0; /* nothing to do */
    }
    if ((is_val || is_zero) && span == 1) {
        /* one register, one byte: rewrite it */
        *p = op_val(count, 1);
    } else {
        /* Split the run into up to three opcodes: before, ours, after
         * (XZERO-VAL-XZERO, 5 bytes, at worst). */
        uint8_t seq[5];
        int n = 0;
        long last = first + span - 1;
        if (is_val) {
            unsigned cur = op_val_value(*p);
            if (index != first) seq[n++] = op_val(cur, (unsigned)(index - first));
            seq[n++] = op_val(count, 1);
            if (index != last) seq[n++] = op_val(cur, (unsigned)(last - index));
        } else {
            if (index != first) n += put_zeros(seq + n, index - first);
            seq[n++] = op_val(count, 1);
            if (index != last) n += put_zeros(seq + n, last - index);
        }
        int oldlen = is_xzero ? 2 : 1;
        int delta = n - oldlen;
        if (delta > 0 && *len + (size_t)delta > max_bytes) return 2;
        uint8_t *next = p + oldlen;
        if (delta && next < end)
            memmove(next + delta, next, (size_t)(end - next));
        /* A truncated XZERO at the end (next == end + 1) is replaced as
         * if it had its second byte, and the new length cuts the last
         * byte written, as Redis's edit of its string does: hence the
         * room for 4 bytes past the value. */
        memcpy(p, seq, (size_t)n);
        end += delta;
    }
    sparse_merge_vals(prev ? prev : s + HLL_HDR_SIZE, &end);
    *len = (size_t)(end - s);
    return 1;
}

/* ---- a working copy for sparse updates ---------------------------------- */

/*
 * The value being updated: either the key's own dense bytes (in place) or
 * a scratch copy of a sparse value, promoted to dense in the scratch if
 * needed.  hllw_store writes a scratch copy back.  One scratch buffer
 * serves every command (commands run one at a time on the node thread);
 * a buffer grown past SCRATCH_KEEP by a huge (hostile) sparse value is
 * freed when the command ends.
 */
#define SCRATCH_KEEP (64 * 1024)
typedef struct hllw {
    uint8_t *s;
    size_t len;
    int scratch;            /* s is the scratch buffer */
} hllw_t;

static uint8_t *scratch_buf;
static size_t scratch_cap;
static uint8_t dense_buf[HLL_DENSE_SIZE];

static uint8_t *scratch_reserve(size_t need)
{
    if (need > scratch_cap) {
        size_t cap = need < 4096 ? 4096 : need + need / 2;
        scratch_buf = ts_realloc(scratch_buf, cap);
        scratch_cap = cap;
    }
    return scratch_buf;
}

static void scratch_trim(void)
{
    if (scratch_cap <= SCRATCH_KEEP) return;
    ts_free(scratch_buf);
    scratch_buf = NULL;
    scratch_cap = 0;
}

/* Promote the working copy to dense (in the scratch); -1 if corrupt. */
static int hllw_to_dense(hllw_t *w)
{
    if (hll_sparse_to_dense(w->s, w->len, dense_buf)) return -1;
    uint8_t *s = scratch_reserve(HLL_DENSE_SIZE);
    memcpy(s, dense_buf, HLL_DENSE_SIZE);
    w->s = s;
    w->len = HLL_DENSE_SIZE;
    w->scratch = 1;
    return 0;
}

/* hllSparseSet / hllDenseSet on the working copy: 1 changed, 0 not, -1
 * corrupt. */
static int hllw_set(hllw_t *w, long index, unsigned count, size_t max_bytes)
{
    if (w->s[4] == HLL_DENSE)
        return dense_update(w->s + HLL_HDR_SIZE, index, count);
    /* a sparse working copy is always the scratch: room for 4 more bytes */
    w->s = scratch_reserve(w->len + 4);
    int rc = hll_sparse_set(w->s, &w->len, index, count, max_bytes);
    if (rc != 2) return rc;
    if (hllw_to_dense(w)) return -1;
    rc = dense_update(w->s + HLL_HDR_SIZE, index, count);
    return rc;
}

/* ---- command helpers ----------------------------------------------------- */

/* isHLLObjectOrReply: the value's bytes if e holds a HyperLogLog, else
 * replies the error and returns NULL. */
static const uint8_t *hll_check(const kentry_t *e, size_t *len,
                                char *scratch, reply_t *r)
{
    if (ke_type(e) != KT_STRING) {
        reply_err_wrongtype(r);
        return NULL;
    }
    const uint8_t *s = (const uint8_t *)ke_str(e, len, scratch);
    if (!hll_is_valid_header(s, *len)) {
        reply_error(r, err_not_hll);
        return NULL;
    }
    return s;
}

/* A working copy of the HLL in e (valid header): dense values in place
 * (writable), sparse ones copied into the scratch. */
static void hllw_open(cmdctx_t *ctx, kentry_t **e, hllw_t *w)
{
    char tmp[32];
    size_t len;
    const uint8_t *s = (const uint8_t *)ke_str(*e, &len, tmp);
    if (s[4] == HLL_DENSE) {
        w->s = (uint8_t *)ks_str_writable(ctx->ks, e, len);
        w->len = len;
        w->scratch = 0;
        return;
    }
    w->s = scratch_reserve(len + 4);
    memcpy(w->s, s, len);
    w->len = len;
    w->scratch = 1;
}

/* Write a scratch working copy back to the key (TTL kept). */
static void hllw_store(cmdctx_t *ctx, kentry_t **e, hllw_t *w)
{
    if (!w->scratch) return;
    char *p = ks_str_writable(ctx->ks, e, w->len);
    memcpy(p, w->s, w->len);
}

/* createHLLObject: an empty sparse HLL (one XZERO of 16384), cache 0. */
static kentry_t *hll_create(cmdctx_t *ctx, const resp_arg_t *key)
{
    uint8_t s[HLL_HDR_SIZE + 2] = {'H', 'Y', 'L', 'L', HLL_SPARSE};
    op_xzero(s + HLL_HDR_SIZE, HLL_REGISTERS);
    notify_key(ctx->node, NOTIFY_NEW, "new", key);
    return ks_set_str(ctx->ks, key->ptr, key->len, (const char *)s,
                      sizeof(s), 0);
}

/* ---- commands ------------------------------------------------------------ */

/* PFADD key [element ...] */
static void pfadd(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *key = &req->argv[1];
    kentry_t *e = db_lookup_write(ctx, key);
    long updated = 0;
    if (!e) {
        e = hll_create(ctx, key);
        updated++;
    } else {
        char tmp[32];
        size_t len;
        if (!hll_check(e, &len, tmp, r)) return;
    }
    hllw_t w;
    hllw_open(ctx, &e, &w);
    size_t max_bytes = (size_t)ctx->node->hll_sparse_max_bytes;
    for (int j = 2; j < req->argc; j++) {
        long index;
        int count = hll_pat_len((const unsigned char *)req->argv[j].ptr,
                                req->argv[j].len, &index);
        int rc = hllw_set(&w, index, (unsigned)count, max_bytes);
        if (rc < 0) {
            /* A corrupt sparse value: Redis keeps what the elements before
             * changed (cache invalidated), unpropagated. */
            if (updated) {
                cache_invalidate(w.s);
                hllw_store(ctx, &e, &w);
            }
            reply_error(r, err_invalid);
            return;
        }
        updated += rc;
    }
    if (updated) {
        cache_invalidate(w.s);
        hllw_store(ctx, &e, &w);
        db_modified(ctx, key);
        ctx->node->dirty += updated - 1;
        notify_key(ctx->node, NOTIFY_STRING, "pfadd", key);
    }
    reply_int(r, updated ? 1 : 0);
}

/* PFCOUNT key [key ...] */
static void pfcount(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    char tmp[32];
    size_t len;
    if (req->argc > 2) {
        /* the cardinality of the union, in 8-bit registers */
        uint8_t *max = scratch_reserve(HLL_REGISTERS);
        memset(max, 0, HLL_REGISTERS);
        for (int j = 1; j < req->argc; j++) {
            kentry_t *e = db_lookup_read(ctx, &req->argv[j]);
            if (!e) continue;
            const uint8_t *s = hll_check(e, &len, tmp, r);
            if (!s) return;
            if (hll_merge(max, s, len)) {
                reply_error(r, err_invalid);
                return;
            }
        }
        reply_int(r, (long long)hll_count_raw(max));
        return;
    }
    const resp_arg_t *key = &req->argv[1];
    kentry_t *e = db_lookup_read(ctx, key);
    if (!e) {
        reply_int(r, 0);
        return;
    }
    const uint8_t *s = hll_check(e, &len, tmp, r);
    if (!s) return;
    if (cache_valid(s)) {
        reply_int(r, (long long)cache_get(s));
        return;
    }
    int invalid;
    uint64_t card = hll_count(s, len, &invalid);
    if (invalid) {
        reply_error(r, err_invalid);
        return;
    }
    /* The cache is part of the value: PFCOUNT writes it, and that is a
     * change replicas and the AOF see (Redis propagates PFCOUNT). */
    uint8_t *w = (uint8_t *)ks_str_writable(ctx->ks, &e, len);
    cache_put(w, card);
    db_modified(ctx, key);
    reply_int(r, (long long)card);
}

/* PFMERGE destkey [sourcekey ...] */
static void pfmerge(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    static uint8_t max[HLL_REGISTERS];
    char tmp[32];
    size_t len;
    int use_dense = 0;
    memset(max, 0, sizeof(max));
    for (int j = 1; j < req->argc; j++) {
        kentry_t *e = db_lookup_read(ctx, &req->argv[j]);
        if (!e) continue;
        const uint8_t *s = hll_check(e, &len, tmp, r);
        if (!s) return;
        if (s[4] == HLL_DENSE) use_dense = 1;
        if (hll_merge(max, s, len)) {
            reply_error(r, err_invalid);
            return;
        }
    }
    const resp_arg_t *key = &req->argv[1];
    kentry_t *e = db_lookup_write(ctx, key);
    if (!e) e = hll_create(ctx, key);
    hllw_t w;
    hllw_open(ctx, &e, &w);
    if (use_dense && w.s[4] == HLL_SPARSE && hllw_to_dense(&w)) {
        reply_error(r, err_invalid);
        return;
    }
    size_t max_bytes = (size_t)ctx->node->hll_sparse_max_bytes;
    for (long j = 0; j < HLL_REGISTERS; j++)
        if (max[j]) hllw_set(&w, j, max[j], max_bytes);
    cache_invalidate(w.s);
    hllw_store(ctx, &e, &w);
    db_modified(ctx, key);
    notify_key(ctx->node, NOTIFY_STRING, "pfadd", key);
    reply_ok(r);
}

/* The handlers that use the scratch, and give back a huge one. */
static void cmd_pfadd(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    pfadd(ctx, req, r);
    scratch_trim();
}

static void cmd_pfcount(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    pfcount(ctx, req, r);
    scratch_trim();
}

static void cmd_pfmerge(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    pfmerge(ctx, req, r);
    scratch_trim();
}

/* PFDEBUG DECODE: the sparse opcodes as text ("z:3 Z:100 v:2,1"). */
static void pfdebug_decode(const uint8_t *s, size_t len, reply_t *r)
{
    if (s[4] != HLL_SPARSE) {
        reply_error(r, "ERR HLL encoding is not sparse");
        return;
    }
    /* at most 7 characters per opcode byte ("v:32,4 ") */
    size_t cap = (len - HLL_HDR_SIZE) * 7 + 1, n = 0;
    char *out = ts_malloc(cap);
    const uint8_t *p = s + HLL_HDR_SIZE, *end = s + len;
    while (p < end) {
        if (op_is_zero(*p)) {
            n += (size_t)snprintf(out + n, cap - n, "z:%u ", op_zero_len(*p));
            p++;
        } else if (op_is_xzero(*p)) {
            n += (size_t)snprintf(out + n, cap - n, "Z:%u ",
                                  op_xzero_len(p, end));
            p += 2;
        } else {
            n += (size_t)snprintf(out + n, cap - n, "v:%u,%u ",
                                  op_val_value(*p), op_val_len(*p));
            p++;
        }
    }
    if (n && out[n - 1] == ' ') n--;
    reply_bulk(r, out, n);
    ts_free(out);
}

/* Convert the key's value to dense in place of the sparse one.  0 done,
 * -1 corrupt (INVALIDOBJ replied). */
static int pfdebug_todense(cmdctx_t *ctx, kentry_t **e, const uint8_t *s,
                           size_t len, reply_t *r)
{
    if (hll_sparse_to_dense(s, len, dense_buf)) {
        reply_error(r, err_invalid);
        return -1;
    }
    char *p = ks_str_writable(ctx->ks, e, HLL_DENSE_SIZE);
    memcpy(p, dense_buf, HLL_DENSE_SIZE);
    ctx->node->dirty++; /* propagate the encoding change, as Redis */
    return 0;
}

/* PFDEBUG subcommand key */
static void cmd_pfdebug(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    const resp_arg_t *sub = &req->argv[1];
    kentry_t *e = db_lookup_write(ctx, &req->argv[2]);
    if (!e) {
        reply_error(r, "ERR The specified key does not exist");
        return;
    }
    char tmp[32];
    size_t len;
    const uint8_t *s = hll_check(e, &len, tmp, r);
    if (!s) return;
    if (arg_eq(sub, "getreg")) {
        if (s[4] == HLL_SPARSE) {
            if (pfdebug_todense(ctx, &e, s, len, r)) return;
            s = (const uint8_t *)ke_str(e, &len, tmp);
        }
        reply_array(r, HLL_REGISTERS);
        for (long j = 0; j < HLL_REGISTERS; j++)
            reply_int(r, hll_dense_get(s + HLL_HDR_SIZE, j));
    } else if (arg_eq(sub, "decode")) {
        pfdebug_decode(s, len, r);
    } else if (arg_eq(sub, "encoding")) {
        reply_simple(r, s[4] == HLL_DENSE ? "dense" : "sparse");
    } else if (arg_eq(sub, "todense")) {
        int conv = 0;
        if (s[4] == HLL_SPARSE) {
            if (pfdebug_todense(ctx, &e, s, len, r)) return;
            conv = 1;
        }
        reply_int(r, conv);
    } else {
        /* Redis prints the name as a C string: up to a NUL byte. */
        int n = (int)strnlen(sub->ptr, sub->len);
        reply_errorf(r, "ERR Unknown PFDEBUG subcommand '%.*s'", n, sub->ptr);
    }
}

/* ---- PFSELFTEST ---------------------------------------------------------- */

/* A small xorshift generator: deterministic, so a failure is
 * reproducible. */
static uint64_t selftest_rand(uint64_t *x)
{
    *x ^= *x << 13;
    *x ^= *x >> 7;
    *x ^= *x << 17;
    return *x;
}

/* Dense registers against a plain byte array under random sets. */
static int selftest_registers(uint64_t *seed)
{
    static uint8_t regs[HLL_REG_BYTES], model[HLL_REGISTERS];
    memset(regs, 0, sizeof(regs));
    memset(model, 0, sizeof(model));
    for (int round = 0; round < 8; round++) {
        for (long i = 0; i < HLL_REGISTERS; i++) {
            unsigned v = (unsigned)(selftest_rand(seed) & HLL_REGISTER_MAX);
            hll_dense_set(regs, i, v);
            model[i] = (uint8_t)v;
        }
        for (long i = 0; i < HLL_REGISTERS; i++)
            if (hll_dense_get(regs, i) != model[i]) return -1;
    }
    return 0;
}

/* The same elements through a sparse and a dense HLL: identical registers
 * and counts at every checkpoint, and the error within bounds. */
static int selftest_counts(uint64_t *seed, char *why, size_t whylen)
{
    static uint8_t dense[HLL_DENSE_SIZE], expanded[HLL_DENSE_SIZE];
    static uint8_t sparse[HLL_DENSE_SIZE + 8];
    memset(dense, 0, sizeof(dense));
    memcpy(dense, "HYLL", 4);
    memset(sparse, 0, HLL_HDR_SIZE);
    memcpy(sparse, "HYLL", 4);
    sparse[4] = HLL_SPARSE;
    op_xzero(sparse + HLL_HDR_SIZE, HLL_REGISTERS);
    size_t slen = HLL_HDR_SIZE + 2;
    int is_sparse = 1;
    double relerr = 1.04 / sqrt((double)HLL_REGISTERS);
    long checkpoint = 1;
    for (long n = 1; n <= 100000; n++) {
        uint64_t ele = selftest_rand(seed);
        long index;
        int count = hll_pat_len((const unsigned char *)&ele, sizeof(ele), &index);
        dense_update(dense + HLL_HDR_SIZE, index, (unsigned)count);
        if (is_sparse) {
            int rc = hll_sparse_set(sparse, &slen, index, (unsigned)count,
                                    sizeof(sparse) - 8);
            if (rc < 0) return -1;
            if (rc == 2) is_sparse = 0;
        }
        if (n != checkpoint) continue;
        checkpoint = checkpoint < 10 ? checkpoint + 1 : checkpoint * 2;
        int invalid;
        uint64_t cd = hll_count(dense, HLL_DENSE_SIZE, &invalid);
        if (is_sparse) {
            uint64_t cs = hll_count(sparse, slen, &invalid);
            if (invalid || hll_sparse_to_dense(sparse, slen, expanded) ||
                memcmp(expanded + HLL_HDR_SIZE, dense + HLL_HDR_SIZE,
                       HLL_REG_BYTES) || cs != cd) {
                snprintf(why, whylen, "TESTFAILED sparse and dense differ "
                         "after %ld elements", n);
                return -1;
            }
        }
        /* 5 standard errors, and +-1 for tiny sets */
        double err = fabs((double)cd - (double)n);
        if (err > 5 * relerr * (double)n + 1) {
            snprintf(why, whylen, "TESTFAILED Too big error. card:%ld "
                     "abserr:%.0f", n, err);
            return -1;
        }
    }
    return 0;
}

/* PFSELFTEST */
static void cmd_pfselftest(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)ctx;
    (void)req;
    uint64_t seed = 0x9e3779b97f4a7c15ULL;
    char why[128] = "TESTFAILED Register error";
    if (hll_murmur64a("", 0, HLL_SEED) == hll_murmur64a("a", 1, HLL_SEED) ||
        selftest_registers(&seed) ||
        selftest_counts(&seed, why, sizeof(why))) {
        reply_error(r, why);
        return;
    }
    reply_ok(r);
}

const cmd_bind_t t_hll_cmds[] = {
    {CMD_PFADD, cmd_pfadd},
    {CMD_PFCOUNT, cmd_pfcount},
    {CMD_PFMERGE, cmd_pfmerge},
    {CMD_PFDEBUG, cmd_pfdebug},
    {CMD_PFSELFTEST, cmd_pfselftest},
    {CMD__COUNT, NULL},
};
