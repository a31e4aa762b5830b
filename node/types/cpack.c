/*
 * cpack.c: the compact pack (see cpack.h): a listpack's elements without
 * back-lengths, header total or terminator, and with a one-byte count up
 * to 255 bytes, for small objects kept in their key's entry.
 */
#include "cpack.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "numfmt.h"
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

/* Elements in [p, end), walking.  The two one-byte headers that small
 * packs are mostly made of (7-bit integers, 6-bit strings) first. */
static unsigned long walk_count(const unsigned char *p,
                                const unsigned char *end)
{
    unsigned long n = 0;
    while (p < end) {
        unsigned c = p[0];
        if (c < 0x80)
            p++;
        else if (c < 0xC0)
            p += 1 + (c & 0x3F);
        else
            p += cp_elem_size(p);
        n++;
    }
    return n;
}

void cp_init(unsigned char *b) { b[0] = 0; }

unsigned long cp_count(const unsigned char *b, size_t len)
{
    if (len <= CP_SHORT_MAX) return b[0];
    unsigned n = hdr_count(b);
    if (n != CP_COUNT_UNKNOWN) return n;
    return walk_count(b + 2, b + len);
}

/* Write the count of a pack of len bytes. */
static void put_count(unsigned char *b, size_t len, unsigned long n)
{
    if (len <= CP_SHORT_MAX) {
        assert(n < 255);
        b[0] = (unsigned char)n;
    } else {
        set_count(b, n);
    }
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
    for (; p && p < end; p += cp_elem_size(p)) {
        if (skipcnt) {
            skipcnt--;
            continue;
        }
        skipcnt = skip;
        unsigned char c = p[0];
        if (c == CP_SCORE_DEC1 || c == CP_SCORE_DOUBLE) continue;
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

static void encode(enc_t *x, const cp_str_t *a)
{
    if (a->encoded) {
        x->hlen = 0;
        x->data = a->s;
        x->dlen = a->len;
    } else {
        x->hlen = lp_encode_elem(x->hdr, a->s, a->len, &x->data, &x->dlen);
    }
}

size_t cp_encoded_size(const cp_str_t *add, unsigned nadd)
{
    size_t n = 0;
    for (unsigned i = 0; i < nadd; i++) {
        enc_t x;
        encode(&x, &add[i]);
        n += x.hlen + (size_t)x.dlen;
    }
    return n;
}

int cp_score(const unsigned char *p, double *v)
{
    if (p[0] == CP_SCORE_DEC1) {
        *v = (signed char)p[1] / 10.0;
        return 1;
    }
    if (p[0] == CP_SCORE_DOUBLE) {
        uint64_t u = 0;
        for (int i = 0; i < 8; i++) u |= (uint64_t)p[1 + i] << (8 * i);
        memcpy(v, &u, 8);
        return 1;
    }
    return 0;
}

unsigned cp_encode_score(unsigned char *buf, double v)
{
    char t[CP_SCORE_MAX];
    size_t tl = numfmt_d2string(t, sizeof(t), v);
    long long iv;
    if (resp_str2ll(t, tl, &iv)) return lp_encode_ll(buf, iv);
    double k = nearbyint(v * 10);
    if (k >= -128 && k <= 127 && k / 10.0 == v) {
        buf[0] = CP_SCORE_DEC1;
        buf[1] = (unsigned char)(signed char)k;
        return 2;
    }
    if (tl + 1 > 9) {
        uint64_t u;
        memcpy(&u, &v, 8);
        buf[0] = CP_SCORE_DOUBLE;
        for (int i = 0; i < 8; i++) buf[1 + i] = (unsigned char)(u >> (8 * i));
        return 9;
    }
    const void *data;
    uint32_t dlen;
    unsigned h = lp_encode_elem(buf, t, (uint32_t)tl, &data, &dlen);
    memcpy(buf + h, data, dlen);
    return h + dlen;
}

#define SPLICE_MAX_ADD 4 /* elements one cp_splice writes (field + value) */

static void write_elems(unsigned char *d, const enc_t *x, unsigned nadd)
{
    for (unsigned i = 0; i < nadd; i++) {
        if (x[i].hlen) memcpy(d, x[i].hdr, x[i].hlen);
        d += x[i].hlen;
        if (x[i].dlen) memcpy(d, x[i].data, x[i].dlen);
        d += x[i].dlen;
    }
}

/*
 * cp_splice when the pack changes form (its elements cross 254/255
 * bytes): the count grows or shrinks by a byte, so the elements before
 * off move too.  newlen is the new length in the old form.
 */
static unsigned char *splice_reform(unsigned char *b, size_t *len, size_t off,
                                    unsigned long ndel, const enc_t *x,
                                    unsigned nadd, size_t addlen,
                                    size_t dellen, size_t newlen,
                                    cp_resize_fn *rs, void *arg)
{
    size_t old = *len, h0 = cp_hdr_size(old), h1 = 3 - h0;
    unsigned long n = h0 == 1 ? b[0] : hdr_count(b);
    size_t tail = old - off - dellen, noff = off - h0 + h1;
    newlen = newlen - h0 + h1;
    if (h1 > h0) { /* the tail, then the head, move up */
        b = rs(arg, newlen);
        memmove(b + noff + addlen, b + off + dellen, tail);
        memmove(b + h1, b + h0, off - h0);
    } else { /* the head, then the tail, move down */
        memmove(b + h1, b + h0, off - h0);
        memmove(b + noff + addlen, b + off + dellen, tail);
        b = rs(arg, newlen);
    }
    write_elems(b + noff, x, nadd);
    if (h0 == 1 || n != CP_COUNT_UNKNOWN)
        n = n - ndel + nadd;
    else /* a long pack of 65535+ elements just became short */
        n = walk_count(b + h1, b + newlen);
    if (h1 == 1)
        b[0] = (unsigned char)n; /* at most 254 elements in 255 bytes */
    else
        set_count(b, n);
    *len = newlen;
    return b;
}

unsigned char *cp_splice(unsigned char *b, size_t *len, size_t off,
                         unsigned long ndel, const cp_str_t *add,
                         unsigned nadd, cp_resize_fn *rs, void *arg)
{
    size_t old = *len, h = cp_hdr_size(old);
    assert(nadd <= SPLICE_MAX_ADD && off >= h && off <= old);
    enc_t x[SPLICE_MAX_ADD];
    size_t addlen = 0;
    for (unsigned i = 0; i < nadd; i++) {
        encode(&x[i], &add[i]);
        addlen += x[i].hlen + (size_t)x[i].dlen;
    }
    size_t dellen = 0;
    for (unsigned long i = 0; i < ndel; i++) {
        assert(off + dellen < old);
        dellen += (size_t)cp_elem_size(b + off + dellen);
    }
    size_t tail = old - off - dellen, newlen = old - dellen + addlen;
    if (h == 1 ? newlen > CP_SHORT_MAX : newlen <= CP_SHORT_MAX + 1)
        return splice_reform(b, len, off, ndel, x, nadd, addlen, dellen,
                             newlen, rs, arg);
    if (addlen > dellen) {
        b = rs(arg, newlen);
        memmove(b + off + addlen, b + off + dellen, tail);
    } else if (addlen < dellen) {
        memmove(b + off + addlen, b + off + dellen, tail);
        b = rs(arg, newlen);
    }
    write_elems(b + off, x, nadd);
    if (h == 1) {
        b[0] = (unsigned char)(b[0] - ndel + nadd);
    } else {
        unsigned n = hdr_count(b);
        if (n != CP_COUNT_UNKNOWN) {
            set_count(b, (unsigned long)n - ndel + nadd);
        } else if (nadd < ndel) { /* may have come back below 65535 */
            unsigned long c = walk_count(b + 2, b + newlen);
            if (c < CP_COUNT_UNKNOWN) set_count(b, c);
        }
    }
    *len = newlen;
    return b;
}

size_t cp_compact_scores(unsigned char *b, size_t len)
{
    size_t h = cp_hdr_size(len);
    unsigned char *r = b + h, *w = r, *end = b + len;
    for (int is_score = 0; r < end; is_score = !is_score) {
        size_t l = (size_t)cp_elem_size(r);
        unsigned char e[CP_SCORE_MAX];
        unsigned el = 0;
        uint32_t tl;
        long long iv;
        const unsigned char *t;
        if (is_score && (t = lp_get(r, &tl, &iv)) && tl < CP_SCORE_MAX) {
            char txt[CP_SCORE_MAX], back[CP_SCORE_MAX];
            memcpy(txt, t, tl);
            txt[tl] = '\0';
            char *stop;
            double v = strtod(txt, &stop);
            if (stop == txt + tl && !isnan(v) &&
                numfmt_d2string(back, sizeof(back), v) == tl &&
                memcmp(back, txt, tl) == 0)
                el = cp_encode_score(e, v);
        }
        if (el && el <= l) {
            memcpy(w, e, el);
            w += el;
        } else {
            memmove(w, r, l);
            w += l;
        }
        r += l;
    }
    size_t elems = (size_t)(w - b) - h;
    if (cp_hdr_size(1 + elems) < h) { /* now short: a one-byte count */
        unsigned long n = hdr_count(b);
        memmove(b + 1, b + h, elems);
        put_count(b, 1 + elems, n);
        return 1 + elems;
    }
    return h + elems;
}

/* ---- listpack conversion ------------------------------------------------ */

#define LP_HDR 6 /* total bytes u32, count u16 */

/* The listpack element of the pack element at p: in buf (the score
 * elements, as text) or p itself.  Sets *len. */
static const unsigned char *lp_elem_of(const unsigned char *p,
                                       unsigned char *buf, uint64_t *len)
{
    double v;
    if (!cp_score(p, &v)) {
        *len = lp_elem_size(p);
        return p;
    }
    char t[CP_SCORE_MAX];
    size_t tl = numfmt_d2string(t, sizeof(t), v);
    const void *data;
    uint32_t dlen;
    unsigned h = lp_encode_elem(buf, t, (uint32_t)tl, &data, &dlen);
    memcpy(buf + h, data, dlen);
    *len = h + dlen;
    return buf;
}

size_t cp_lp_size(const unsigned char *b, size_t len)
{
    size_t n = LP_HDR + 1;
    for (const unsigned char *p = b + cp_hdr_size(len); p < b + len;
         p += cp_elem_size(p)) {
        unsigned char buf[CP_SCORE_MAX + 9];
        uint64_t l;
        lp_elem_of(p, buf, &l);
        n += l + lp_backlen_size(l);
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
    for (const unsigned char *p = b + cp_hdr_size(len); p < b + len;
         p += cp_elem_size(p)) {
        unsigned char buf[CP_SCORE_MAX + 9];
        uint64_t l;
        const unsigned char *e = lp_elem_of(p, buf, &l);
        memcpy(d, e, l);
        d += l;
        d += lp_encode_backlen(d, l);
    }
    *d++ = 0xFF;
    assert((size_t)(d - out) == total);
}

size_t cp_size_of_lp(unsigned char *lp)
{
    size_t n = 0;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p))
        n += lp_elem_size(p);
    return n + cp_hdr_size(1 + n);
}

void cp_from_lp(unsigned char *lp, unsigned char *out)
{
    size_t total = cp_size_of_lp(lp), h = cp_hdr_size(total);
    unsigned long n = 0;
    unsigned char *d = out + h;
    for (unsigned char *p = lp_first(lp); p; p = lp_next(lp, p)) {
        uint64_t l = lp_elem_size(p);
        memcpy(d, p, l);
        d += l;
        n++;
    }
    put_count(out, total, n);
}
