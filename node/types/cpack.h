/*
 * cpack.h: the compact pack, the in-memory form of small hashes.
 *
 * A listpack without what a small object kept inside its key's entry does
 * not need: the back-lengths (one byte or more per element, there only to
 * walk backwards), the 4-byte total (the entry's blob length already says
 * it) and the 0xFF terminator (same).  What remains:
 *
 *    short (up to 255 bytes):    | count u8     | element | element | ... |
 *    long  (257 bytes or more):  | count u16 LE | element | element | ... |
 *    element: listpack's encoding byte(s) + data (listpack.h), so lp_get,
 *             lp_get_text and lp_compare read it as they are
 *
 * The length tells the forms apart (a long pack has at least 255 bytes of
 * elements, so no pack is 256 bytes long).  The one-byte count is there
 * because a byte matters for small values: a sorted set of 10 members
 * with integer scores fills its entry to exactly jemalloc's 128-byte
 * class with it (keyspace.c), and a 2-byte count would push it to 160.  A
 * short pack holds at most 254 elements, so its count never saturates; a
 * long one's saturates at 65535 ("unknown", cp_count then walks), as the
 * listpack's does.  cp_splice switches forms when a pack crosses 255
 * bytes, either way.  For 10 fields of 7 bytes with 8-byte values a pack
 * is 171 bytes; the listpack is 197.
 *
 * Two element encodings of its own, for sorted-set scores that are not
 * integers (listpack's unused encoding bytes 0xF5 and 0xF6; Redis keeps
 * these scores as the text d2string makes, which cp_to_lp writes back):
 *
 *    11110101 + int8        k / 10.0, one decimal ("2.5": 2 bytes, not 4)
 *    11110110 + 8 bytes     an IEEE double, little endian, when the text
 *                           would take more ("0.1" is "0.10000000000000001")
 *
 * cp_encode_score picks the shortest of those and Redis's own encoding.
 *
 * Walking is forward only: cp_next, cp_seek (a negative index counts the
 * elements first).  A pack is a byte range (b, len) that may live inside
 * a keyspace entry, so changing its size goes through the caller's resize
 * function (ks_blob_resize for an entry, realloc for a detached buffer);
 * cp_splice computes the new size, resizes once and moves the tail.
 *
 * Users see listpacks: OBJECT ENCODING says "listpack", and RDB, DUMP,
 * AOF preambles and full syncs write Redis's listpack bytes, converted by
 * cp_to_lp at save time (cp_from_lp on load).  Packs come from trusted
 * code only; untrusted bytes are checked as a listpack (lp_validate)
 * before cp_from_lp.
 */
#ifndef TS_CPACK_H
#define TS_CPACK_H

#include <stddef.h>
#include <stdint.h>

#include "listpack.h"

#define CP_SHORT_MAX 255      /* longest pack with a one-byte count */
#define CP_EMPTY_SIZE 1       /* bytes of an empty pack (cp_init) */
#define CP_COUNT_UNKNOWN 65535u
#define CP_SCORE_DEC1 0xF5
#define CP_SCORE_DOUBLE 0xF6
#define CP_SCORE_MAX 32     /* bytes cp_encode_score may write */

/* An element to write: s as Redis would store it (canonical integers as
 * integers), or, with encoded set, s is an element already encoded
 * (cp_encode_score). */
typedef struct cp_str {
    const char *s;
    uint32_t len;
    int encoded;
} cp_str_t;

/* Size of the element at p (header and payload). */
static inline uint64_t cp_elem_size(const unsigned char *p)
{
    if (p[0] == CP_SCORE_DEC1) return 2;
    if (p[0] == CP_SCORE_DOUBLE) return 9;
    return lp_elem_size(p);
}

/* 1 if p is one of the pack's own score elements (its value in *v). */
int cp_score(const unsigned char *p, double *v);

/* Encode score v (not NaN) as a sorted set's pack stores it; returns the
 * length written to buf (CP_SCORE_MAX bytes). */
unsigned cp_encode_score(unsigned char *buf, double v);

/* Resize the pack to newlen bytes keeping the first min(old, new) bytes;
 * returns its (possibly new) address. */
typedef unsigned char *cp_resize_fn(void *arg, size_t newlen);

/* Bytes of the count of a pack of len bytes (1 or 2). */
static inline size_t cp_hdr_size(size_t len)
{
    return len > CP_SHORT_MAX ? 2 : 1;
}

/* Write an empty pack at b (CP_EMPTY_SIZE bytes). */
void cp_init(unsigned char *b);

/* Number of elements (O(1) below 65535). */
unsigned long cp_count(const unsigned char *b, size_t len);

/* The first element, NULL if empty. */
static inline unsigned char *cp_first(unsigned char *b, size_t len)
{
    size_t h = cp_hdr_size(len);
    return len > h ? b + h : NULL;
}

/* The element after p, NULL at the end. */
static inline unsigned char *cp_next(unsigned char *b, size_t len,
                                     unsigned char *p)
{
    p += cp_elem_size(p);
    return p < b + len ? p : NULL;
}

/* Element at index (negative from the end), NULL if out of range. */
unsigned char *cp_seek(unsigned char *b, size_t len, long index);

/* Find s from p on, comparing every (skip+1)-th element (skip 1 finds
 * hash fields among field/value pairs); NULL if absent. */
unsigned char *cp_find(unsigned char *b, size_t len, unsigned char *p,
                       const char *s, uint32_t slen, unsigned skip);

/* Bytes the elements add[0..nadd) take encoded. */
size_t cp_encoded_size(const cp_str_t *add, unsigned nadd);

/*
 * Replace the ndel elements at offset off (off == len: the end) by add[0..
 * nadd), in one resize through rs(arg, newlen).  *len is updated; returns
 * the pack's new address.  Offsets into the pack are not kept: crossing
 * between the short and long forms moves every element by a byte.
 */
unsigned char *cp_splice(unsigned char *b, size_t *len, size_t off,
                         unsigned long ndel, const cp_str_t *add,
                         unsigned nadd, cp_resize_fn *rs, void *arg);

/* For a pack of member, score pairs (a sorted set) with scores as Redis's
 * text (from cp_from_lp): re-encode every score whose text is exactly
 * d2string's with cp_encode_score, in place (never longer).  Returns the
 * new length. */
size_t cp_compact_scores(unsigned char *b, size_t len);

/* The listpack of the same elements: its size, and writing it to out
 * (cp_lp_size bytes). */
size_t cp_lp_size(const unsigned char *b, size_t len);
void cp_to_lp(const unsigned char *b, size_t len, unsigned char *out);

/* A (valid) listpack's elements as a pack: its size, and writing it to out
 * (cp_size_of_lp bytes). */
size_t cp_size_of_lp(unsigned char *lp);
void cp_from_lp(unsigned char *lp, unsigned char *out);

#endif
