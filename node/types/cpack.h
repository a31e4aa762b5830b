/*
 * cpack.h: the compact pack, the in-memory form of small hashes.
 *
 * A listpack without what a small object kept inside its key's entry does
 * not need: the back-lengths (one byte or more per element, there only to
 * walk backwards), the 4-byte total (the entry's blob length already says
 * it) and the 0xFF terminator (same).  What remains:
 *
 *    | count u16 LE | element | element | ... |
 *    element: listpack's encoding byte(s) + data (listpack.h), so lp_get,
 *             lp_get_text and lp_compare read it as they are
 *
 * The count saturates at 65535 ("unknown", cp_count then walks), as the
 * listpack's does.  For 10 fields of 7 bytes with 8-byte values that is
 * 172 bytes instead of the listpack's 197.
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

#define CP_HDR_SIZE 2
#define CP_COUNT_UNKNOWN 65535u

/* An element to write: s as Redis would store it (canonical integers as
 * integers). */
typedef struct cp_str {
    const char *s;
    uint32_t len;
} cp_str_t;

/* Resize the pack to newlen bytes keeping the first min(old, new) bytes;
 * returns its (possibly new) address. */
typedef unsigned char *cp_resize_fn(void *arg, size_t newlen);

/* Write an empty pack's header at b (CP_HDR_SIZE bytes). */
void cp_init(unsigned char *b);

/* Number of elements (O(1) below 65535). */
unsigned long cp_count(const unsigned char *b, size_t len);

/* The first element, NULL if empty. */
static inline unsigned char *cp_first(unsigned char *b, size_t len)
{
    return len > CP_HDR_SIZE ? b + CP_HDR_SIZE : NULL;
}

/* The element after p, NULL at the end. */
static inline unsigned char *cp_next(unsigned char *b, size_t len,
                                     unsigned char *p)
{
    p += lp_elem_size(p);
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
 * the pack's new address.
 */
unsigned char *cp_splice(unsigned char *b, size_t *len, size_t off,
                         unsigned long ndel, const cp_str_t *add,
                         unsigned nadd, cp_resize_fn *rs, void *arg);

/* The listpack of the same elements: its size, and writing it to out
 * (cp_lp_size bytes). */
size_t cp_lp_size(const unsigned char *b, size_t len);
void cp_to_lp(const unsigned char *b, size_t len, unsigned char *out);

/* A (valid) listpack's elements as a pack: its size, and writing it to out
 * (cp_size_of_lp bytes). */
size_t cp_size_of_lp(unsigned char *lp);
void cp_from_lp(unsigned char *lp, unsigned char *out);

#endif
