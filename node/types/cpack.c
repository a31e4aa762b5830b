/*
 * cpack.c: the compact pack (see cpack.h): a listpack's elements without
 * back-lengths, header total or terminator, for small objects kept in
 * their key's entry.
 */
#include "cpack.h"

#include <assert.h>
#include <string.h>

#include "resp.h"

static inline unsigned hdr_count(const unsigned char *b)
{
    return (unsigned)b[0] | (unsigned)b[1] << 8;
}

static inline void set_count(unsigned char *b, unsigned long n)
{
    if (n > CP_COUNT_UNKNOWN) n = CP_COUNT_UNKNOWN;
    b[0] = (unsigned char)n;
    b[1] = (unsigned char)(n >> 8);
}

void cp_init(unsigned char *b) { set_count(b, 0); }

/* Elements in [p, end), walking. */
static unsigned long walk_count(const unsigned char *p,
                                const unsigned char *end)
{
    unsigned long n = 0;
    while (p < end) {
        p += lp_elem_size(p);
        n++;
    }
    return n;
}

unsigned long cp_count(const unsigned char *b, size_t len)
{
    unsigned n = hdr_count(b);
    if (n != CP_COUNT_UNKNOWN) return n;
    return walk_count(b + CP_HDR_SIZE, b + len);
}

unsigned char *cp_seek(unsigned char *b, size_t len, long index)
{
    if (index < 0) {
        unsigned long n = cp_count(b, len);
        if ((unsigned long)-(index + 1) >= n) return NULL;
        index = (long)n + index;
    }
    unsigned char *p = cp_first(b, len);
    while (p && index-- > 0)
        p = cp_next(b, len, p);
    return p;
}

unsigned char *cp_find(unsigned char *b, size_t len, unsigned char *p,
                       const char *s, uint32_t slen, unsigned skip)
{
    long long sv = 0;
    int s_is_int = slen <= 20 && resp_str2ll(s, slen, &sv);
    const unsigned char *end = b + len;
    unsigned skipcnt = 0;
    for (; p && p < end; p += lp_elem_size(p)) {
        if (skipcnt) {
            skipcnt--;
            continue;
        }
        skipcnt = skip;
        unsigned char c = p[0];
        if (c >= 0x80 && c < 0xC0) { /* 6-bit string: the common case */
            if ((c & 0x3F) == slen && (slen == 0 || memcmp(p + 1, s, slen) == 0))
                return p;
            continue;
        }
        uint32_t elen;
        long long v;
        const unsigned char *e = lp_get(p, &elen, &v);
        if (e) {
            if (elen == slen && (slen == 0 || memcmp(e, s, slen) == 0))
                return p;
        } else if (s_is_int && v == sv) {
            return p;
        }
    }
    return NULL;
}

/* Encoded sizes: header and payload of add[i]. */
typedef struct enc {
    unsigned char hdr[9];
    unsigned hlen;
    const void *data;
    uint32_t dlen;
} enc_t;

size_t cp_encoded_size(const cp_str_t *add, unsigned nadd)
{
    size_t n = 0;
    for (unsigned i = 0; i < nadd; i++) {
        enc_t x;
        x.hlen = lp_encode_elem(x.hdr, add[i].s, add[i].len, &x.data, &x.dlen);
        n += x.hlen + (size_t)x.dlen;
    }
    return n;
}

#define SPLICE_MAX_ADD 4 /* elements one cp_splice writes (field + value) */

unsigned char *cp_splice(unsigned char *b, size_t *len, size_t off,
                         unsigned long ndel, const cp_str_t *add,
                         unsigned nadd, cp_resize_fn *rs, void *arg)
{
    assert(nadd <= SPLICE_MAX_ADD && off >= CP_HDR_SIZE && off <= *len);
    enc_t x[SPLICE_MAX_ADD];
    size_t addlen = 0;
    for (unsigned i = 0; i < nadd; i++) {
        x[i].hlen = lp_encode_elem(x[i].hdr, add[i].s, add[i].len, &x[i].data,
                                   &x[i].dlen);
        addlen += x[i].hlen + (size_t)x[i].dlen;
    }
    size_t old = *len, dellen = 0;
    for (unsigned long i = 0; i < ndel; i++) {
        assert(off + dellen < old);
        dellen += (size_t)lp_elem_size(b + off + dellen);
    }
    size_t tail = old - off - dellen, newlen = old - dellen + addlen;
    if (addlen > dellen) {
        b = rs(arg, newlen);
        memmove(b + off + addlen, b + off + dellen, tail);
    } else if (addlen < dellen) {
        memmove(b + off + addlen, b + off + dellen, tail);
        b = rs(arg, newlen);
    }
    unsigned char *d = b + off;
    for (unsigned i = 0; i < nadd; i++) {
        memcpy(d, x[i].hdr, x[i].hlen);
        d += x[i].hlen;
        if (x[i].dlen) memcpy(d, x[i].data, x[i].dlen);
        d += x[i].dlen;
    }
    unsigned n = hdr_count(b);
    if (n != CP_COUNT_UNKNOWN) {
        set_count(b, (unsigned long)n - ndel + nadd);
    } else if (nadd < ndel) { /* may have come back below 65535 */
        unsigned long c = walk_count(b + CP_HDR_SIZE, b + newlen);
        if (c < CP_COUNT_UNKNOWN) set_count(b, c);
    }
    *len = newlen;
    return b;
}

/* ---- listpack conversion ------------------------------------------------ */

#define LP_HDR 6 /* total bytes u32, count u16 */

size_t cp_lp_size(const unsigned char *b, size_t len)
{
    size_t n = LP_HDR + 1 + (len - CP_HDR_SIZE);
    for (const unsigned char *p = b + CP_HDR_SIZE; p < b + len;) {
        uint64_t l = lp_elem_size(p);
        n += lp_backlen_size(l);
        p += l;
    }
    return n;
}

void cp_to_lp(const unsigned char *b, size_t len, unsigned char *out)
{
    size_t total = cp_lp_size(b, len);
    assert(total <= UINT32_MAX);
    for (int i = 0; i < 4; i++)
        out[i] = (unsigned char)(total >> (8 * i));
    unsigned long n = cp_count(b, len);
    if (n > CP_COUNT_UNKNOWN) n = CP_COUNT_UNKNOWN;
    out[4] = (unsigned char)n;
    out[5] = (unsigned char)(n >> 8);
    unsigned char *d = out + LP_HDR;
    for (const unsigned char *p = b + CP_HDR_SIZE; p < b + len;) {
        uint64_t l = lp_elem_size(p);
        memcpy(d, p, l);
        d += l;
        d += lp_encode_backlen(d, l);
        p += l;
    }
    *d++ = 0xFF;
    assert((size_t)(d - out) == total);
}

size_t cp_size_of_lp(unsigned char *lp)
{
    size_t n = CP_HDR_SIZE;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p))
        n += lp_elem_size(p);
    return n;
}

void cp_from_lp(unsigned char *lp, unsigned char *out)
{
    unsigned long n = 0;
    unsigned char *d = out + CP_HDR_SIZE;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p)) {
        uint64_t l = lp_elem_size(p);
        memcpy(d, p, l);
        d += l;
        n++;
    }
    set_count(out, n);
}
