/*
 * zskiplist.h: Redis's skiplist for large sorted sets.
 *
 * Nodes are ordered by (score, member bytes); each level link carries a
 * span (how many nodes it jumps) so ranks are O(log n), and every node
 * has a backward pointer for reverse walks.  ZSKIPLIST_MAXLEVEL 32 and
 * P = 0.25 as Redis.
 *
 * The skiplist owns neither the member nor the score.  A node holds an
 * opaque `ele` pointer and the list asks its ele_fn for the member bytes
 * and the score.  The sorted set keeps both once, in its dict entry
 * (dict.h: key = member, aux = score) and puts that entry in `ele`.  So a
 * node is 16 bytes plus 16 per level (32 bytes for three nodes in four),
 * where Redis's node also holds the score (48 bytes in jemalloc classes),
 * and the member is not duplicated: that is what keeps a large sorted set
 * under Redis's memory.  The cost is one more pointer to follow when a
 * search compares scores; walks that reply members and scores read one
 * entry for both.  The unit test uses plain structs as eles.
 *
 * Ranks are 1-based as in Redis (0 means "not found").  Memory from
 * ts_malloc.
 */
#ifndef TS_ZSKIPLIST_H
#define TS_ZSKIPLIST_H

#include <stddef.h>

#define ZSKIPLIST_MAXLEVEL 32
#define ZSKIPLIST_P 0.25

typedef struct zsl_node {
    void *ele;
    struct zsl_node *backward;
    struct zsl_level {
        struct zsl_node *forward;
        unsigned long span;
    } level[];
} zsl_node_t;

/* The member bytes of an ele (sets *len) and its score. */
typedef const char *zsl_ele_fn(const void *ele, size_t *len, double *score);

typedef struct zskiplist {
    zsl_node_t *header, *tail;
    unsigned long length;
    int level;
    zsl_ele_fn *ele_fn;
} zskiplist_t;

/* A score range: min/max, exclusive flags. */
typedef struct zsl_range {
    double min, max;
    int minex, maxex;
} zsl_range_t;

/* A lex bound: inf -1 is "-", +1 is "+", 0 a string (ex: '(' not '['). */
typedef struct zsl_lexbound {
    const char *p;
    size_t len;
    int ex;
    int inf;
} zsl_lexbound_t;

typedef struct zsl_lexrange {
    zsl_lexbound_t min, max;
} zsl_lexrange_t;

zskiplist_t *zsl_create(zsl_ele_fn *ele_fn);
/* Frees the nodes (not what ele points to) and the list. */
void zsl_destroy(zskiplist_t *zsl);

/* Insert ele (its score as ele_fn reports it); the caller guarantees the
 * member is not present.  Returns the new node. */
zsl_node_t *zsl_insert(zskiplist_t *zsl, void *ele);
/* Unlink and free the node with (score, member bytes); 1 if found.  *ele
 * (if not NULL) receives the node's ele. */
int zsl_delete(zskiplist_t *zsl, double score, const char *m, size_t mlen,
               void **ele);
/* Move ele, whose score is still `score` (it must be in the list), to
 * the position of newscore; the caller stores newscore in ele right
 * after.  Returns ele's node (the same node, relinked if needed). */
zsl_node_t *zsl_update_score(zskiplist_t *zsl, double score, void *ele,
                             double newscore);
/* The score of a node (through ele_fn). */
double zsl_node_score(const zskiplist_t *zsl, const zsl_node_t *x);

/* 1-based rank of (score, member bytes), 0 if absent. */
unsigned long zsl_rank(zskiplist_t *zsl, double score, const char *m,
                       size_t mlen);
/* Node at 1-based rank, NULL if out of range. */
zsl_node_t *zsl_by_rank(zskiplist_t *zsl, unsigned long rank);

/* Range tests and first/last node in range (NULL if none). */
int zsl_score_gte_min(double v, const zsl_range_t *r);
int zsl_score_lte_max(double v, const zsl_range_t *r);
zsl_node_t *zsl_first_in_range(zskiplist_t *zsl, const zsl_range_t *r);
zsl_node_t *zsl_last_in_range(zskiplist_t *zsl, const zsl_range_t *r);

/* Compare bytes with a lex bound's string (memcmp then length). */
int zsl_lex_cmp(const char *a, size_t alen, const char *b, size_t blen);
int zsl_lex_gte_min(const char *m, size_t len, const zsl_lexrange_t *r);
int zsl_lex_lte_max(const char *m, size_t len, const zsl_lexrange_t *r);
/* 1 if the range can hold nothing (min > max, or equal and exclusive). */
int zsl_lex_empty(const zsl_lexrange_t *r);
zsl_node_t *zsl_first_in_lex(zskiplist_t *zsl, const zsl_lexrange_t *r);
zsl_node_t *zsl_last_in_lex(zskiplist_t *zsl, const zsl_lexrange_t *r);

/*
 * Delete the nodes in a score range, a lex range, or between 1-based
 * ranks start..end inclusive.  fn(arg, ele) is called for each deleted
 * node (before it is freed) so the caller can drop its dict entry.
 * Return how many were deleted.
 */
typedef void zsl_del_fn(void *arg, void *ele);
unsigned long zsl_delete_range_by_score(zskiplist_t *zsl, const zsl_range_t *r,
                                        zsl_del_fn *fn, void *arg);
unsigned long zsl_delete_range_by_lex(zskiplist_t *zsl,
                                      const zsl_lexrange_t *r, zsl_del_fn *fn,
                                      void *arg);
unsigned long zsl_delete_range_by_rank(zskiplist_t *zsl, unsigned long start,
                                       unsigned long end, zsl_del_fn *fn,
                                       void *arg);

/* Bytes held by the list and its nodes (walks the list: O(n)). */
size_t zsl_mem(const zskiplist_t *zsl);

#endif
