/*
 * quicklist.h: a doubly linked list of listpack nodes (Redis's quicklist,
 * without compression), the large encoding of lists.
 *
 * Each node holds one listpack (listpack.h) of at most `fill` entries
 * (fill > 0) or at most 4/8/16/32/64 KB of listpack bytes (fill -1..-5),
 * like Redis's list-max-listpack-size; fill is clamped to -5..32767 as
 * quicklistSetFill does.  An element too large for any node gets a node
 * of its own.  Nodes are never empty: a node whose last entry goes is
 * unlinked and freed.
 *
 * Positions (ql_pos_t) name one entry: its node and its address inside
 * that node's listpack.  A position is invalidated by any change to the
 * quicklist except through the function that hands back a new one.
 * Memory comes from ts_malloc.
 */
#ifndef TS_QUICKLIST_H
#define TS_QUICKLIST_H

#include <stddef.h>
#include <stdint.h>

typedef struct ql_node {
    struct ql_node *prev, *next;
    unsigned char *lp;
    uint32_t count;         /* entries in lp */
    uint32_t sz;            /* lp_bytes(lp) */
} ql_node_t;

typedef struct quicklist {
    ql_node_t *head, *tail;
    unsigned long count;    /* entries in all nodes */
    unsigned long len;      /* nodes */
    int fill;
} quicklist_t;

typedef struct ql_pos {
    ql_node_t *node;
    unsigned char *p;       /* entry in node->lp; NULL: no entry */
} ql_pos_t;

enum { QL_HEAD = 0, QL_TAIL = 1 };

quicklist_t *ql_create(int fill);
void ql_set_fill(quicklist_t *ql, int fill);
void ql_free(quicklist_t *ql);
quicklist_t *ql_dup(const quicklist_t *ql);
/* Bytes held (structures and listpacks, by allocator size). */
size_t ql_mem(const quicklist_t *ql);

/* Would a listpack of `sz` bytes and `count` entries exceed a node of
 * this fill?  (Also used by lists to decide on conversions.) */
int ql_node_exceeds(int fill, size_t sz, unsigned long count);

static inline unsigned long ql_count(const quicklist_t *ql)
{
    return ql->count;
}

/* Push at the head or tail. */
void ql_push(quicklist_t *ql, int where, const char *s, uint32_t len);
/* Append a whole listpack as the new tail node (takes ownership; used when
 * a small list becomes a quicklist).  The listpack may be larger than a
 * node should be: it is split as needed. */
void ql_append_lp(quicklist_t *ql, unsigned char *lp);

/* Position of the entry at index (negative from the tail).  0 if out of
 * range (pos->p NULL). */
int ql_seek(const quicklist_t *ql, long index, ql_pos_t *pos);
/* Move to the next/previous entry; 0 (pos->p NULL) past the end. */
int ql_next(ql_pos_t *pos);
int ql_prev(ql_pos_t *pos);

/*
 * Delete the entry at pos.  Afterwards pos names the entry that followed
 * it in direction `dir` (QL_TAIL: the next one, QL_HEAD: the previous
 * one), or has p NULL if there is none.
 */
void ql_delete_at(quicklist_t *ql, ql_pos_t *pos, int dir);
/* Insert before (after = 0) or after (after = 1) the entry at pos; pos is
 * invalid afterwards. */
void ql_insert_at(quicklist_t *ql, ql_pos_t *pos, int after, const char *s,
                  uint32_t len);
/* Replace the entry at pos; pos is invalid afterwards. */
void ql_replace_at(quicklist_t *ql, ql_pos_t *pos, const char *s,
                   uint32_t len);
/* Delete up to `num` entries from index `start` (>= 0). */
void ql_delete_range(quicklist_t *ql, long start, unsigned long num);

/* If the whole list fits one listpack node of `fill`, detach and return
 * it (the quicklist is freed); NULL otherwise and nothing changes. */
unsigned char *ql_to_lp_if_small(quicklist_t *ql, int fill);

#endif
