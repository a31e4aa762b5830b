/*
 * dict.h: the hash table inside large hashes, sets and sorted sets.
 *
 * Keys (fields, members) are byte strings embedded in their entry, as in
 * the keyspace; an entry may also embed a string value (hash values) and
 * always carries an 8-byte `aux` word (a score, or a pointer the type
 * uses: the sorted set's skiplist node).  One allocation per element, no
 * separate key/value objects: that is how large hashes stay under Redis's
 * memory.  Chained, power-of-two, incremental rehashing as Redis's dict
 * (a bucket of work per operation), SipHash (common/hash.h) so clients
 * cannot force collisions.  SCAN uses Redis's reverse-binary cursor and
 * returns every element present for the whole scan at least once.
 *
 * Entries move when their embedded value changes size: functions that may
 * move one return its new address.  Memory from ts_malloc.
 */
#ifndef TS_DICT_H
#define TS_DICT_H

#include <stddef.h>
#include <stdint.h>

typedef struct dict dict_t;
typedef struct dict_entry dict_entry_t;

dict_t *dict_create(void);
/* Frees every entry; free_aux (if not NULL) is called with each aux
 * pointer first. */
void dict_destroy(dict_t *d, void (*free_aux)(void *));
size_t dict_size(const dict_t *d);
/* Size the table for n entries now (conversions from a compact encoding
 * know the count: no incremental rehash afterwards).  No-op while
 * rehashing or if the table is already big enough. */
void dict_expand(dict_t *d, size_t n);

dict_entry_t *dict_find(dict_t *d, const char *k, size_t klen);
/*
 * Add k with no value if absent.  Returns the entry (new or existing) and
 * sets *added.  A new entry has aux 0 and an empty value.
 */
dict_entry_t *dict_add(dict_t *d, const char *k, size_t klen, int *added);
/* Set k's embedded value, adding k if absent (*added tells).  Returns the
 * entry (which may have moved). */
dict_entry_t *dict_set(dict_t *d, const char *k, size_t klen, const char *v,
                       size_t vlen, int *added);
/* Remove k; 1 if it was there.  If aux is not NULL it receives the aux
 * pointer so the caller can free what it points to. */
int dict_delete(dict_t *d, const char *k, size_t klen, void **aux);

const char *dict_key(const dict_entry_t *e, size_t *klen);
const char *dict_val(const dict_entry_t *e, size_t *vlen);
void *dict_aux(const dict_entry_t *e);
void dict_set_aux(dict_entry_t *e, void *aux);
double dict_aux_double(const dict_entry_t *e);
void dict_set_aux_double(dict_entry_t *e, double v);

/* Iteration that tolerates deleting the current entry (and pauses
 * rehashing while active; call dict_iter_done). */
typedef struct dict_iter {
    dict_t *d;
    int table;
    size_t index;
    dict_entry_t *entry, *next;
} dict_iter_t;
void dict_iter_init(dict_t *d, dict_iter_t *it);
dict_entry_t *dict_iter_next(dict_iter_t *it);
void dict_iter_done(dict_iter_t *it);

/* SCAN step: calls fn for each entry of the visited bucket(s); returns the
 * next cursor, 0 when done. */
uint64_t dict_scan(dict_t *d, uint64_t cursor,
                   void (*fn)(void *arg, dict_entry_t *e), void *arg);
/* A uniformly random entry, NULL if empty. */
dict_entry_t *dict_random(dict_t *d, uint64_t (*rnd)(void));

/* Bytes held by the table and its entries (O(n): walks every entry). */
size_t dict_mem(const dict_t *d);

#endif
