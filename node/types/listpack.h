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

/* Structural check for untrusted bytes (RDB, RESTORE): 1 if valid.  deep
 * walks every entry; `count` (if not NULL) receives the entry count. */
int lp_validate(const unsigned char *lp, size_t size, int deep,
                unsigned long *count);

#endif
