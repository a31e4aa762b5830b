/*
 * t_set.h: a read-only view of a set value for other types' commands
 * (ZUNION, ZINTER, ZDIFF and their STORE forms and ZINTERCARD take plain
 * sets as inputs, as Redis 7.0 does).  The entry must hold a set
 * (ke_type(e) == KT_SET), in either encoding and wherever its intset
 * lives (embedded blob or heap).  Members of an intset come as decimal
 * text, as Redis formats them.  Nothing here changes the set; pointers
 * stay valid until the keyspace next changes the entry.
 */
#ifndef TS_T_SET_H
#define TS_T_SET_H

#include <stddef.h>
#include <stdint.h>

#include "dict.h"
#include "keyspace.h"

/* Number of members. */
size_t t_set_card(const kentry_t *e);

/* 1 if m (len bytes) is a member. */
int t_set_contains(const kentry_t *e, const char *m, size_t len);

/* Iteration over every member, in the set's own order.  The dict of a
 * hashtable set does not rehash while an iterator is active: always end
 * with t_set_iter_done. */
typedef struct t_set_iter {
    int enc;
    const void *p;      /* intset_t * or dict_t * */
    uint32_t pos;
    dict_iter_t di;
    char buf[24];       /* an intset member as text */
} t_set_iter_t;

void t_set_iter_init(t_set_iter_t *it, const kentry_t *e);
/* The next member (length in *len), or NULL at the end.  An intset
 * member's text is valid until the next call. */
const char *t_set_iter_next(t_set_iter_t *it, size_t *len);
void t_set_iter_done(t_set_iter_t *it);

#endif
