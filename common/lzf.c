/*
 * lzf.c: LZF compression and decompression (format in lzf.h).
 *
 * The compressor follows liblzf 3.6's greedy parse with Redis's settings
 * (a 2^16-slot table indexed by a hash of the next three bytes, VERY_FAST:
 * after a match only the last two positions are indexed), so that for the
 * same input it emits the same bytes Redis does: DUMP payloads of long
 * strings are then identical between the two servers.  liblzf leaves its
 * table uninitialised; here a slot is valid only if it was written by the
 * current call (a per-call stamp), which behaves like a cleared table
 * without clearing 512 KB for every string.
 *
 * The decompressor checks every length and offset against both buffers.
 */
#include "lzf.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define HLOG    16
#define HSIZE   (1u << HLOG)
#define MAX_LIT (1u << 5)
#define MAX_OFF (1u << 13)
#define MAX_REF ((1u << 8) + (1u << 3))

struct lzf_state {
    uint32_t stamp;       /* number of the current call */
    uint64_t slot[HSIZE]; /* stamp << 32 | input offset */
};

lzf_state_t *lzf_state_create(void)
{
    return ts_calloc(1, sizeof(lzf_state_t));
}

void lzf_state_destroy(lzf_state_t *st)
{
    ts_free(st);
}

/* liblzf's FRST/NEXT/IDX (VERY_FAST variant). */
static inline uint32_t idx(uint32_t h)
{
    return ((h >> (3 * 8 - HLOG)) - h * 5) & (HSIZE - 1);
}

static inline void put(lzf_state_t *st, uint32_t h, size_t off)
{
    st->slot[idx(h)] = (uint64_t)st->stamp << 32 | (uint32_t)off;
}

/* Offset stored for h by this call, or 0 (never a usable reference). */
static inline size_t get(const lzf_state_t *st, uint32_t h)
{
    uint64_t v = st->slot[idx(h)];
    return (uint32_t)(v >> 32) == st->stamp ? (uint32_t)v : 0;
}

static size_t compress(lzf_state_t *st, const unsigned char *in, size_t ilen,
                       unsigned char *out, size_t olen)
{
    const unsigned char *ip = in, *iend = in + ilen;
    unsigned char *op = out, *oend = out + olen;
    size_t lit = 0;

    if (++st->stamp == 0) { /* wrapped: old stamps could look current */
        memset(st->slot, 0, sizeof(st->slot));
        st->stamp = 1;
    }
    if (!ilen || olen < 2 || ilen > UINT32_MAX) return 0;
    op++; /* room for the first run's control byte */
    uint32_t hval = ilen >= 2 ? (uint32_t)ip[0] << 8 | ip[1] : 0;
    while (ilen >= 3 && ip < iend - 2) {
        hval = hval << 8 | ip[2];
        size_t pos = (size_t)(ip - in);
        size_t refpos = get(st, hval);
        put(st, hval, pos);
        size_t off = pos - refpos - 1; /* wraps for refpos >= pos */
        const unsigned char *ref = in + refpos;
        if (refpos > 0 && refpos < pos && off < MAX_OFF && ref[2] == ip[2] &&
            ref[0] == ip[0] && ref[1] == ip[1]) {
            size_t len = 2;
            size_t maxlen = (size_t)(iend - ip) - len;
            if (maxlen > MAX_REF) maxlen = MAX_REF;
            if (op - !lit + 3 + 1 >= oend) return 0;
            op[-(long)lit - 1] = (unsigned char)(lit - 1); /* stop run */
            op -= !lit; /* undo an empty run */
            /* liblzf compares 16 bytes unrolled before its bounded loop
             * when maxlen > 16; that can run 2 bytes past maxlen (still
             * inside the input), and the output depends on it. */
            int stop = 0;
            if (maxlen > 16)
                for (int k = 0; k < 16 && !stop; k++) {
                    len++;
                    stop = ref[len] != ip[len];
                }
            if (!stop) do
                    len++;
                while (len < maxlen && ref[len] == ip[len]);
            len -= 2; /* matched bytes - 2 */
            ip++;
            if (len < 7) {
                *op++ = (unsigned char)((off >> 8) + (len << 5));
            } else {
                *op++ = (unsigned char)((off >> 8) + (7 << 5));
                *op++ = (unsigned char)(len - 7);
            }
            *op++ = (unsigned char)off;
            lit = 0;
            op++; /* start a new run */
            ip += len + 1;
            if (ip >= iend - 2) break;
            /* VERY_FAST: index the two positions before the new one */
            ip -= 2;
            hval = (uint32_t)ip[0] << 8 | ip[1];
            hval = hval << 8 | ip[2];
            put(st, hval, (size_t)(ip - in));
            ip++;
            hval = hval << 8 | ip[2];
            put(st, hval, (size_t)(ip - in));
            ip++;
        } else {
            if (op >= oend) return 0;
            lit++;
            *op++ = *ip++;
            if (lit == MAX_LIT) {
                op[-(long)lit - 1] = (unsigned char)(lit - 1);
                lit = 0;
                op++;
            }
        }
    }
    if (op + 3 > oend) return 0;
    while (ip < iend) {
        lit++;
        *op++ = *ip++;
        if (lit == MAX_LIT) {
            op[-(long)lit - 1] = (unsigned char)(lit - 1);
            lit = 0;
            op++;
        }
    }
    op[-(long)lit - 1] = (unsigned char)(lit - 1); /* end the run */
    op -= !lit;
    if (op > oend) return 0;
    return (size_t)(op - out);
}

size_t lzf_compress(lzf_state_t *st, const void *in, size_t ilen, void *out,
                    size_t olen)
{
    if (st) return compress(st, in, ilen, out, olen);
    lzf_state_t *tmp = lzf_state_create();
    size_t n = compress(tmp, in, ilen, out, olen);
    lzf_state_destroy(tmp);
    return n;
}

size_t lzf_decompress(const void *in, size_t ilen, void *out, size_t olen)
{
    const unsigned char *ip = in, *iend = ip + ilen;
    unsigned char *op = out, *oend = op + olen;

    while (ip < iend) {
        unsigned ctrl = *ip++;
        if (ctrl < 32) {
            size_t len = ctrl + 1;
            if ((size_t)(oend - op) < len || (size_t)(iend - ip) < len)
                return 0;
            memcpy(op, ip, len);
            op += len;
            ip += len;
        } else {
            size_t len = ctrl >> 5;
            if (ip >= iend) return 0;
            if (len == 7) {
                len += *ip++;
                if (ip >= iend) return 0;
            }
            size_t off = ((size_t)(ctrl & 0x1f) << 8) + *ip++ + 1;
            len += 2;
            if (off > (size_t)(op - (unsigned char *)out)) return 0;
            if ((size_t)(oend - op) < len) return 0;
            const unsigned char *ref = op - off;
            /* byte by byte: source and destination may overlap */
            for (size_t k = 0; k < len; k++)
                op[k] = ref[k];
            op += len;
        }
    }
    return (size_t)(op - (unsigned char *)out);
}
