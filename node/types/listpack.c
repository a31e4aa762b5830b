/*
 * listpack.c: Redis's listpack, byte for byte (see listpack.h).
 *
 * Layout (all multi-byte fields little endian):
 *
 *    | total bytes u32 | num elements u16 | entry ... | 0xFF |
 *    entry: | encoding (+ data) | back-length |
 *
 *    encoding byte           meaning                       total header
 *    0xxxxxxx                7-bit unsigned int 0..127      1
 *    10xxxxxx                string, 6-bit length           1
 *    110xxxxx yyyyyyyy       13-bit signed int              2
 *    1110xxxx yyyyyyyy       string, 12-bit length          2
 *    11110000 + u32          string, 32-bit length          5
 *    11110001 + 2 bytes      16-bit signed int              3
 *    11110010 + 3 bytes      24-bit signed int              4
 *    11110011 + 4 bytes      32-bit signed int              5
 *    11110100 + 8 bytes      64-bit signed int              9
 *    11111111                end of listpack
 *
 * The back-length stores the size of encoding+data (1..5 bytes, 7 bits
 * each, read from its last byte backwards: a set high bit means "more
 * bytes before me"), which is what makes lp_prev O(1).  The element
 * count saturates at 65535 ("unknown"): lp_length then walks and stores
 * the count back if it fell below 65535 again, as Redis does.
 *
 * Known answers (checked in tests/unit/check_listpack.c against
 * redis-server 7.0.15's DUMP output): the empty listpack is
 * 07 00 00 00 00 00 ff; "a" is 81 61 02; 1 is 01 01; -1 is df ff 02.
 *
 * Every change reallocates the listpack to its exact encoded size, as
 * Redis does: with jemalloc most changes stay in the same size class and
 * cost no copy, and small lists hold no slack.
 */
#include "listpack.h"

#include <assert.h>
#include <limits.h>
#include <string.h>

#include "alloc.h"
#include "resp.h"

#define LP_HDR_SIZE 6
#define LP_HDR_NUMELE_UNKNOWN UINT16_MAX
#define LP_EOF 0xFF

/* ---- header fields ----------------------------------------------------- */

static inline uint32_t get_u32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
           (uint32_t)p[3] << 24;
}

static inline void set_u32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t hdr_bytes(const unsigned char *lp) { return get_u32(lp); }
static inline unsigned hdr_num(const unsigned char *lp)
{
    return (unsigned)lp[4] | (unsigned)lp[5] << 8;
}
static inline void set_num(unsigned char *lp, unsigned long n)
{
    if (n > LP_HDR_NUMELE_UNKNOWN) n = LP_HDR_NUMELE_UNKNOWN;
    lp[4] = (unsigned char)n;
    lp[5] = (unsigned char)(n >> 8);
}

/* ---- entry encoding ---------------------------------------------------- */

/* Size of the back-length field for an entry of l bytes. */
static inline unsigned backlen_size(uint64_t l) { return lp_backlen_size(l); }

unsigned lp_encode_backlen(unsigned char *buf, uint64_t l)
{
    unsigned n = backlen_size(l);
    /* buf[0] holds the highest 7 bits, without the continuation flag;
     * every later byte has the flag set. */
    for (unsigned i = 0; i < n; i++) {
        unsigned shift = 7 * (n - 1 - i);
        buf[i] = (unsigned char)((l >> shift) & 127);
        if (i > 0) buf[i] |= 128;
    }
    return n;
}

/* p points at the last byte of a back-length.  UINT64_MAX if malformed. */
static inline uint64_t decode_backlen(const unsigned char *p)
{
    uint64_t val = 0;
    unsigned shift = 0;
    for (;;) {
        val |= (uint64_t)(p[0] & 127) << shift;
        if (!(p[0] & 128)) break;
        shift += 7;
        p--;
        if (shift > 28) return UINT64_MAX;
    }
    return val;
}

/* Encode integer v into buf (at most 9 bytes); returns the length. */
static unsigned encode_int(unsigned char *buf, long long v)
{
    if (v >= 0 && v <= 127) {
        buf[0] = (unsigned char)v;
        return 1;
    }
    if (v >= -4096 && v <= 4095) {
        uint64_t u = v < 0 ? (uint64_t)((1 << 13) + v) : (uint64_t)v;
        buf[0] = (unsigned char)((u >> 8) | 0xC0);
        buf[1] = (unsigned char)(u & 0xff);
        return 2;
    }
    unsigned nbytes;
    unsigned char tag;
    if (v >= -32768 && v <= 32767) {
        nbytes = 2;
        tag = 0xF1;
    } else if (v >= -8388608 && v <= 8388607) {
        nbytes = 3;
        tag = 0xF2;
    } else if (v >= -2147483648LL && v <= 2147483647LL) {
        nbytes = 4;
        tag = 0xF3;
    } else {
        nbytes = 8;
        tag = 0xF4;
    }
    uint64_t u = (uint64_t)v; /* two's complement, truncated below */
    buf[0] = tag;
    for (unsigned i = 0; i < nbytes; i++)
        buf[1 + i] = (unsigned char)(u >> (8 * i));
    return 1 + nbytes;
}

/* Encoding header of a string of len bytes; returns its length. */
static unsigned encode_str_hdr(unsigned char *buf, uint32_t len)
{
    if (len < 64) {
        buf[0] = (unsigned char)(len | 0x80);
        return 1;
    }
    if (len < 4096) {
        buf[0] = (unsigned char)((len >> 8) | 0xE0);
        buf[1] = (unsigned char)(len & 0xff);
        return 2;
    }
    buf[0] = 0xF0;
    set_u32(buf + 1, len);
    return 5;
}

/* Size of encoding + data of the entry at p (lp_elem_size, listpack.h). */
static inline uint64_t entry_enc_size(const unsigned char *p)
{
    return lp_elem_size(p);
}

/* Bytes in the encoding header proper (what must be readable before
 * entry_enc_size may look at it). */
static inline unsigned entry_hdr_need(unsigned char b)
{
    if (b < 0xE0) return 1;
    if (b < 0xF0) return 2;
    if (b == 0xF0) return 5;
    return 1;
}

unsigned lp_encode_ll(unsigned char *buf, long long v)
{
    return encode_int(buf, v);
}

static inline uint64_t entry_size(const unsigned char *p)
{
    uint64_t l = entry_enc_size(p);
    return l + backlen_size(l);
}

/* ---- basic API --------------------------------------------------------- */

unsigned char *lp_new(size_t capacity)
{
    if (capacity < LP_HDR_SIZE + 1) capacity = LP_HDR_SIZE + 1;
    unsigned char *lp = ts_malloc(capacity);
    set_u32(lp, LP_HDR_SIZE + 1);
    set_num(lp, 0);
    lp[LP_HDR_SIZE] = LP_EOF;
    return lp;
}

void lp_free(unsigned char *lp) { ts_free(lp); }

size_t lp_bytes(const unsigned char *lp) { return hdr_bytes(lp); }

unsigned long lp_length(unsigned char *lp)
{
    unsigned n = hdr_num(lp);
    if (n != LP_HDR_NUMELE_UNKNOWN) return n;
    unsigned long count = 0;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p))
        count++;
    if (count < LP_HDR_NUMELE_UNKNOWN) set_num(lp, count);
    return count;
}

unsigned char *lp_first(unsigned char *lp)
{
    unsigned char *p = lp + LP_HDR_SIZE;
    return p[0] == LP_EOF ? NULL : p;
}

unsigned char *lp_last(unsigned char *lp)
{
    unsigned char *eof = lp + hdr_bytes(lp) - 1;
    return lp_prev(lp, eof);
}

unsigned char *lp_next(unsigned char *lp, unsigned char *p)
{
    (void)lp;
    p += entry_size(p);
    return p[0] == LP_EOF ? NULL : p;
}

unsigned char *lp_prev(unsigned char *lp, unsigned char *p)
{
    if (p == lp + LP_HDR_SIZE) return NULL;
    p--; /* last byte of the previous entry's back-length */
    uint64_t l = decode_backlen(p);
    l += backlen_size(l);
    return p - l + 1;
}

unsigned char *lp_seek(unsigned char *lp, long index)
{
    unsigned long n = lp_length(lp);
    if (index < 0) {
        if ((unsigned long)-(index + 1) >= n) return NULL;
        index = (long)n + index;
    } else if ((unsigned long)index >= n) {
        return NULL;
    }
    unsigned char *p;
    if ((unsigned long)index <= n / 2) {
        p = lp_first(lp);
        while (index-- > 0)
            p = lp_next(lp, p);
    } else {
        p = lp_last(lp);
        for (unsigned long i = n - 1; i > (unsigned long)index; i--)
            p = lp_prev(lp, p);
    }
    return p;
}

/* Sign-extend the low `bits` bits of u. */
static inline long long sext(uint64_t u, unsigned bits)
{
    uint64_t m = 1ULL << (bits - 1);
    u &= (bits == 64) ? ~0ULL : ((1ULL << bits) - 1);
    return (long long)((u ^ m) - m);
}

const unsigned char *lp_get(const unsigned char *p, uint32_t *len,
                            long long *ival)
{
    unsigned char b = p[0];
    if (b < 0x80) {
        *ival = b;
        return NULL;
    }
    if (b < 0xC0) {
        *len = b & 0x3F;
        return p + 1;
    }
    if (b < 0xE0) {
        *ival = sext(((uint64_t)(b & 0x1F) << 8) | p[1], 13);
        return NULL;
    }
    if (b < 0xF0) {
        *len = ((uint32_t)(b & 0x0F) << 8) | p[1];
        return p + 2;
    }
    if (b == 0xF0) {
        *len = get_u32(p + 1);
        return p + 5;
    }
    unsigned nbytes = b == 0xF1 ? 2 : b == 0xF2 ? 3 : b == 0xF3 ? 4 : 8;
    assert(b >= 0xF1 && b <= 0xF4);
    uint64_t u = 0;
    for (unsigned i = 0; i < nbytes; i++)
        u |= (uint64_t)p[1 + i] << (8 * i);
    *ival = sext(u, nbytes * 8);
    return NULL;
}

const unsigned char *lp_get_text(const unsigned char *p, uint32_t *len,
                                 unsigned char *buf)
{
    long long v;
    const unsigned char *s = lp_get(p, len, &v);
    if (s) return s;
    *len = (uint32_t)resp_ll2str((char *)buf, v);
    buf[*len] = '\0';
    return buf;
}

/* ---- insertion and deletion -------------------------------------------- */

/*
 * The one editing primitive: replace `dellen` bytes at offset `off` with
 * an entry made of hdr[hlen] + data[dlen] + back-length (no new entry if
 * hlen == 0).  `delta` is the change in the element count.  Returns the
 * listpack; *newp (if wanted) gets the address at offset `off`.
 */
static unsigned char *lp_splice(unsigned char *lp, size_t off, size_t dellen,
                                const unsigned char *hdr, unsigned hlen,
                                const void *data, uint32_t dlen, int delta,
                                unsigned char **newp)
{
    size_t old = hdr_bytes(lp);
    unsigned char bl[5];
    unsigned bllen = 0;
    size_t addlen = 0;
    if (hlen) {
        bllen = lp_encode_backlen(bl, (uint64_t)hlen + dlen);
        addlen = (size_t)hlen + dlen + bllen;
    }
    size_t newsize = old - dellen + addlen;
    assert(newsize <= UINT32_MAX);
    size_t tail = old - off - dellen;
    if (addlen > dellen) {
        lp = ts_realloc(lp, newsize);
        memmove(lp + off + addlen, lp + off + dellen, tail);
    } else if (addlen < dellen) {
        memmove(lp + off + addlen, lp + off + dellen, tail);
        lp = ts_realloc(lp, newsize);
    }
    unsigned char *dst = lp + off;
    if (hlen) {
        memcpy(dst, hdr, hlen);
        if (dlen) memcpy(dst + hlen, data, dlen);
        memcpy(dst + hlen + dlen, bl, bllen);
    }
    set_u32(lp, (uint32_t)newsize);
    unsigned n = hdr_num(lp);
    if (n != LP_HDR_NUMELE_UNKNOWN) {
        long nn = (long)n + delta;
        set_num(lp, (unsigned long)nn);
    }
    if (newp) *newp = lp[off] == LP_EOF ? NULL : lp + off;
    return lp;
}

unsigned lp_encode_elem(unsigned char *hdr, const char *s, uint32_t len,
                        const void **data, uint32_t *dlen)
{
    long long v;
    if (len <= 20 && resp_str2ll(s, len, &v)) {
        *data = NULL;
        *dlen = 0;
        return encode_int(hdr, v);
    }
    *data = s;
    *dlen = len;
    return encode_str_hdr(hdr, len);
}

unsigned char *lp_insert(unsigned char *lp, const char *s, uint32_t len,
                         unsigned char *p, int where, unsigned char **newp)
{
    unsigned char hdr[9];
    const void *data;
    uint32_t dlen;
    unsigned hlen = lp_encode_elem(hdr, s, len, &data, &dlen);
    size_t off, dellen = 0;
    int delta = 1;

    if (where == LP_AFTER) {
        p += entry_size(p); /* may land on EOF: insertion at the end */
    } else if (where == LP_REPLACE) {
        dellen = (size_t)entry_size(p);
        delta = 0;
    }
    off = (size_t)(p - lp);
    return lp_splice(lp, off, dellen, hdr, hlen, data, dlen, delta, newp);
}

unsigned char *lp_append(unsigned char *lp, const char *s, uint32_t len)
{
    unsigned char *eof = lp + hdr_bytes(lp) - 1;
    return lp_insert(lp, s, len, eof, LP_BEFORE, NULL);
}

unsigned char *lp_prepend(unsigned char *lp, const char *s, uint32_t len)
{
    return lp_insert(lp, s, len, lp + LP_HDR_SIZE, LP_BEFORE, NULL);
}

unsigned char *lp_append_int(unsigned char *lp, long long v)
{
    unsigned char hdr[9];
    unsigned hlen = encode_int(hdr, v);
    return lp_splice(lp, hdr_bytes(lp) - 1, 0, hdr, hlen, NULL, 0, 1, NULL);
}

unsigned char *lp_delete(unsigned char *lp, unsigned char *p,
                         unsigned char **newp)
{
    size_t off = (size_t)(p - lp);
    return lp_splice(lp, off, (size_t)entry_size(p), NULL, 0, NULL, 0, -1,
                     newp);
}

unsigned char *lp_delete_range(unsigned char *lp, long index,
                               unsigned long num)
{
    unsigned char *p = lp_seek(lp, index);
    if (!p || num == 0) return lp;
    unsigned char *q = p;
    unsigned long deleted = 0;
    while (deleted < num && q[0] != LP_EOF) {
        q += entry_size(q);
        deleted++;
    }
    size_t off = (size_t)(p - lp);
    return lp_splice(lp, off, (size_t)(q - p), NULL, 0, NULL, 0,
                     -(int)(deleted > INT_MAX ? INT_MAX : deleted), NULL);
}

/* ---- comparison and search --------------------------------------------- */

int lp_compare(const unsigned char *p, const char *s, uint32_t len)
{
    uint32_t elen;
    long long v;
    const unsigned char *e = lp_get(p, &elen, &v);
    if (e) return elen == len && (len == 0 || memcmp(e, s, len) == 0);
    long long sv;
    return len <= 20 && resp_str2ll(s, len, &sv) && sv == v;
}

unsigned char *lp_find(unsigned char *lp, unsigned char *p, const char *s,
                       uint32_t len, unsigned skip)
{
    long long sv = 0;
    int s_is_int = len <= 20 && resp_str2ll(s, len, &sv);
    unsigned skipcnt = 0;

    while (p && p[0] != LP_EOF) {
        if (skipcnt == 0) {
            uint32_t elen;
            long long v;
            const unsigned char *e = lp_get(p, &elen, &v);
            if (e) {
                if (elen == len && (len == 0 || memcmp(e, s, len) == 0))
                    return p;
            } else if (s_is_int && v == sv) {
                return p;
            }
            skipcnt = skip;
        } else {
            skipcnt--;
        }
        p = lp_next(lp, p);
    }
    return NULL;
}

/* ---- validation -------------------------------------------------------- */

/* Check the entry at p lies within [p, end) (end = the EOF byte); returns
 * the next entry or NULL if the entry is malformed. */
static const unsigned char *validate_entry(const unsigned char *p,
                                           const unsigned char *end)
{
    size_t avail = (size_t)(end - p);
    if (avail < entry_hdr_need(p[0])) return NULL;
    uint64_t enc = entry_enc_size(p);
    if (enc == UINT64_MAX || enc > avail) return NULL;
    unsigned bl = backlen_size(enc);
    if (enc + bl > avail) return NULL;
    if (decode_backlen(p + enc + bl - 1) != enc) return NULL;
    return p + enc + bl;
}

int lp_validate(const unsigned char *lp, size_t size, int deep,
                unsigned long *count)
{
    if (size < LP_HDR_SIZE + 1) return 0;
    if (hdr_bytes(lp) != size) return 0;
    if (lp[size - 1] != LP_EOF) return 0;
    if (!deep) {
        if (count) *count = hdr_num(lp);
        return 1;
    }
    const unsigned char *p = lp + LP_HDR_SIZE;
    const unsigned char *end = lp + size - 1;
    unsigned long n = 0;
    while (p < end) {
        if (p[0] == LP_EOF) return 0; /* EOF before the end */
        p = validate_entry(p, end);
        if (!p) return 0;
        n++;
    }
    if (p != end) return 0;
    unsigned hn = hdr_num(lp);
    if (hn != LP_HDR_NUMELE_UNKNOWN && hn != n) return 0;
    if (count) *count = n;
    return 1;
}
