/*
 * listpack.h: Redis's listpack, byte for byte.
 *
 * A listpack is one allocation holding a sequence of entries, each a
 * string or an integer, encoded exactly as Redis 7's listpack.c does
 * (total-bytes u32, num-elements u16, entries with their encoding byte(s)
 * and back-length, 0xFF terminator).  Being Redis's format means small
 * lists, hashes and sorted sets can be written to and read from RDB files
 * and DUMP payloads (issue 4) as they are, and redis-check-rdb accepts them.
 *
 * Strings that are canonical integers ("123", not "0123" or " 1") are
 * stored as integers, as Redis does.  Functions that change a listpack may
 * reallocate it and return its new address; entry pointers into the old
 * one are invalid afterwards unless the function hands back a new one.
 * Memory comes from ts_malloc (accounted in used_memory).
 */
#ifndef TS_LISTPACK_H
#define TS_LISTPACK_H

#include <stddef.h>
#include <stdint.h>

#define LP_INTBUF_SIZE 21   /* longest integer as text, plus NUL */

enum { LP_BEFORE = 0, LP_AFTER = 1, LP_REPLACE = 2 };

unsigned char *lp_new(size_t capacity);
void lp_free(unsigned char *lp);
/* Bytes used by the encoding (the allocation may be larger). */
size_t lp_bytes(const unsigned char *lp);
/* Number of entries (O(1) below 65535 entries, O(n) above, as Redis). */
unsigned long lp_length(unsigned char *lp);

/* Navigation: NULL past either end. */
unsigned char *lp_first(unsigned char *lp);
unsigned char *lp_last(unsigned char *lp);
unsigned char *lp_next(unsigned char *lp, unsigned char *p);
unsigned char *lp_prev(unsigned char *lp, unsigned char *p);
/* Entry at index (negative from the end), NULL if out of range. */
unsigned char *lp_seek(unsigned char *lp, long index);

/*
 * Read the entry at p.  For a string entry returns a pointer to its bytes
 * and sets *len; for an integer entry returns NULL and sets *ival (callers
 * that want text use lp_get_text).
 */
const unsigned char *lp_get(const unsigned char *p, uint32_t *len,
                            long long *ival);
/* The entry as bytes: strings as they are, integers formatted into buf
 * (LP_INTBUF_SIZE bytes).  Sets *len. */
const unsigned char *lp_get_text(const unsigned char *p, uint32_t *len,
                                 unsigned char *buf);

/* Add at the ends. */
unsigned char *lp_append(unsigned char *lp, const char *s, uint32_t len);
unsigned char *lp_prepend(unsigned char *lp, const char *s, uint32_t len);
unsigned char *lp_append_int(unsigned char *lp, long long v);
/*
 * Insert s before/after p, or replace p (LP_BEFORE/LP_AFTER/LP_REPLACE).
 * If newp is not NULL it receives the address of the inserted entry.
 */
unsigned char *lp_insert(unsigned char *lp, const char *s, uint32_t len,
                         unsigned char *p, int where, unsigned char **newp);
/* Delete the entry at p; *newp (if not NULL) gets the entry that followed
 * it, or NULL if it was the last. */
unsigned char *lp_delete(unsigned char *lp, unsigned char *p,
                         unsigned char **newp);
/* Delete num entries starting at index. */
unsigned char *lp_delete_range(unsigned char *lp, long index,
                               unsigned long num);

/* 1 if the entry at p equals s (integers compare by value as text). */
int lp_compare(const unsigned char *p, const char *s, uint32_t len);
/*
 * Find s starting at p, comparing every (skip+1)-th entry (skip 1 finds
 * hash fields among field/value pairs).  NULL if absent.
 */
unsigned char *lp_find(unsigned char *lp, unsigned char *p, const char *s,
                       uint32_t len, unsigned skip);

/*
 * The element encoding alone (what precedes the back-length), for formats
 * that reuse it (cpack.h).  lp_encode_elem encodes s as Redis would (an
 * integer if s is one's canonical text): writes the header (at most 9
 * bytes) to hdr, returns its length, and points *data / *dlen at the
 * payload that follows it (NULL / 0 for integers).  lp_encode_ll encodes
 * an integer (at most 9 bytes), returns the length.  lp_elem_size is the
 * size of the element at p, header and payload (UINT64_MAX for an
 * invalid encoding byte); lp_get reads such an element.
 */
unsigned lp_encode_elem(unsigned char *hdr, const char *s, uint32_t len,
                        const void **data, uint32_t *dlen);
unsigned lp_encode_ll(unsigned char *buf, long long v);

/* Works on untrusted bytes as long as the header bytes it reads (up to 5)
 * are in bounds. */
static inline uint64_t lp_elem_size(const unsigned char *p)
{
    unsigned char b = p[0];
    if (b < 0x80) return 1;
    if (b < 0xC0) return 1 + (uint64_t)(b & 0x3F);
    if (b < 0xE0) return 2;
    if (b < 0xF0) return 2 + (((uint64_t)(b & 0x0F) << 8) | p[1]);
    switch (b) {
    case 0xF0:
        return 5 + ((uint64_t)p[1] | (uint64_t)p[2] << 8 |
                    (uint64_t)p[3] << 16 | (uint64_t)p[4] << 24);
    case 0xF1: return 3;
    case 0xF2: return 4;
    case 0xF3: return 5;
    case 0xF4: return 9;
    default: return UINT64_MAX; /* 0xF5..0xFE unused, 0xFF is EOF */
    }
}

/* The back-length of an element of l bytes: its size, and writing it to
 * buf (at most 5 bytes; returns the length). */
static inline unsigned lp_backlen_size(uint64_t l)
{
    if (l <= 127) return 1;
    if (l < 16383) return 2;
    if (l < 2097151) return 3;
    if (l < 268435455) return 4;
    return 5;
}
unsigned lp_encode_backlen(unsigned char *buf, uint64_t l);

/* Structural check for untrusted bytes (RDB, RESTORE): 1 if valid.  deep
 * walks every entry; `count` (if not NULL) receives the entry count. */
int lp_validate(const unsigned char *lp, size_t size, int deep,
                unsigned long *count);

#endif
