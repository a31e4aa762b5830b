/*
 * t_zset.h: what code outside t_zset.c (rdb.c: RDB files, DUMP/RESTORE)
 * needs of a sorted set's encodings.  A listpack set is ke_obj(e) with
 * enc T_ZSET_ENC_LISTPACK (Redis's bytes: member, score pairs sorted by
 * score then member); a skiplist set is an opaque object built here.
 */
#ifndef TS_T_ZSET_H
#define TS_T_ZSET_H

#include <stddef.h>

#include "keyspace.h"
#include "zskiplist.h"

enum { T_ZSET_ENC_LISTPACK = KE_OBJ, T_ZSET_ENC_SKIPLIST = KE_OBJ + 1 };

/* The skiplist of a skiplist-encoded set (read only; zsl->ele_fn gives
 * each node's member and score). */
const zskiplist_t *t_zset_skiplist(const kentry_t *e);

/* A new empty skiplist set sized for hint members (owned by the caller
 * until stored with ks_set_obj(..., KT_ZSET, T_ZSET_ENC_SKIPLIST, ...)). */
void *t_zset_skiplist_new(size_t hint);
/* Add a member; 0 ok, -1 if it is already there (nothing changes). */
int t_zset_skiplist_add(void *zs, const char *m, size_t len, double score);
size_t t_zset_skiplist_len(const void *zs);
/* A listpack of the set's pairs in order (d2string scores, as Redis);
 * the set is freed. */
unsigned char *t_zset_skiplist_to_lp(void *zs);
/* Free a value of either encoding. */
void t_zset_free(int enc, void *obj);

#endif
