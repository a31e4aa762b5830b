/*
 * keyspace.h: the node's keys and values.
 *
 * One chained hash table per hash slot (16384 in cluster mode, a single
 * table otherwise), allocated lazily, each rehashed incrementally as in
 * Redis (two tables, a step of work on every operation, plus
 * ks_rehash_step from the server's idle time).  Per-slot tables make
 * counting, listing and deleting a slot's keys cost O(keys in the slot).
 *
 * Every key lives in one allocation, its entry: the chain link, the type
 * and encoding, the LRU/LFU clock, the key bytes and (for short strings
 * and integers) the value itself.  There is no separate dictEntry and no
 * separate key string, which is where Tessera saves memory over Redis.
 *
 *    kentry: | next | lru:24 type:4 enc:4 | klen:29 flags:3 |
 *            | [expire ms (8), expiry index (4)]  if KF_EXPIRE |
 *            | key bytes | value |
 *    value:  KE_INT     8-byte integer
 *            KE_EMBSTR  1-byte length + bytes (short strings)
 *            KE_RAW     pointer to a separate string (len, cap, bytes)
 *            KE_OBJ..   pointer to a type's object (lists, hashes, ...)
 *            blob       a type's small encoded value (an intset, a
 *                       pack) kept in the entry: up to 255 bytes, its
 *                       bytes (the length is in the header's spare bits,
 *                       for keys under 2 MB); else 4-byte length + bytes
 *
 * Because values are embedded, writing a new value may move the entry:
 * every function that can change an entry returns the entry's current
 * address, and callers never keep kentry pointers across calls that may
 * modify the keyspace.
 *
 * Keys with a TTL are also listed in a per-slot array (the expiry index),
 * so the active expiry cycle samples keys with a TTL in O(1) and removal
 * from the index is O(1) (swap with the last, the entry remembers its
 * position).
 *
 * The keyspace knows nothing about clients, commands or the clock: callers
 * pass the current time where it matters, and lazy expiry (delete on
 * access) is the caller's policy.
 */
#ifndef TS_KEYSPACE_H
#define TS_KEYSPACE_H

#include <stddef.h>
#include <stdint.h>

typedef struct keyspace keyspace_t;
typedef struct kentry kentry_t;

/* Types, as Redis's TYPE names them. */
enum ke_type {
    KT_STRING = 0,
    KT_LIST = 1,
    KT_SET = 2,
    KT_ZSET = 3,
    KT_HASH = 4,
};

/* Encodings.  Strings: INT, EMBSTR, RAW.  Others: a pointer to an object
 * whose layout belongs to the type's file; the enc value is the type's
 * business (OBJECT ENCODING asks the type). */
enum ke_enc {
    KE_INT = 0,
    KE_EMBSTR = 1,
    KE_RAW = 2,
    KE_OBJ = 3,     /* first object encoding; types may use 3..15 */
};

#define KE_EMBSTR_MAX 44   /* strings up to this length are embedded */

/* Called to free a non-string value when its key is deleted/overwritten. */
typedef void ks_free_obj_fn(int type, int enc, void *obj);
/* Called to report a value's memory (for MEMORY USAGE / eviction); may be NULL. */
void ks_set_obj_free(ks_free_obj_fn *fn);

/* nslots: 1 (standalone) or 16384 (cluster mode). */
keyspace_t *ks_create(unsigned nslots);
/* Frees every entry and value.  Safe to call from a background thread for
 * a keyspace no one else references (FLUSHALL ASYNC). */
void ks_destroy(keyspace_t *ks);

unsigned ks_nslots(const keyspace_t *ks);
/* Slot a key belongs to in this keyspace (0 when nslots == 1). */
unsigned ks_slot_of(const keyspace_t *ks, const char *key, size_t klen);
/*
 * Cluster mode hashes every key of a command in the redirection check;
 * the check leaves the slot of up to KS_SLOT_HINTS of those keys here, by
 * pointer, so that ks_slot_of() does not hash them again while the command
 * runs.  A hint matches only the very same key pointer and length, and is
 * valid for one command: cmd_execute clears it when the command is done
 * (the buffer the pointers point into is reused afterwards).
 */
#define KS_SLOT_HINTS 4
void ks_slot_hint_add(keyspace_t *ks, const char *key, size_t klen,
                      unsigned slot);
void ks_slot_hint_clear(keyspace_t *ks);

/* Number of keys; in one slot; with a TTL. */
size_t ks_size(const keyspace_t *ks);
size_t ks_slot_size(const keyspace_t *ks, unsigned slot);
size_t ks_expires_size(const keyspace_t *ks);

/* Lookup.  No expiry check.  NULL if absent. */
kentry_t *ks_find(keyspace_t *ks, const char *key, size_t klen);

/*
 * Write a string value, creating the key or replacing its value (any
 * type; the old value is freed).  The encoding is chosen here: an integer
 * representation that round-trips (resp_str2ll) becomes KE_INT, up to
 * KE_EMBSTR_MAX bytes KE_EMBSTR, else KE_RAW.  keep_ttl: 1 keeps an
 * existing TTL, 0 clears it.  Returns the entry.
 */
kentry_t *ks_set_str(keyspace_t *ks, const char *key, size_t klen,
                     const char *val, size_t vlen, int keep_ttl);
kentry_t *ks_set_int(keyspace_t *ks, const char *key, size_t klen,
                     long long v, int keep_ttl);
/* Store an object of another type (takes ownership of obj). */
kentry_t *ks_set_obj(keyspace_t *ks, const char *key, size_t klen, int type,
                     int enc, void *obj, int keep_ttl);

/*
 * Embedded blobs.  A small encoded value of an object type (an intset, a
 * listpack) can live inside the entry, as short strings do, instead of
 * behind a pointer: one allocation per key instead of two.  The entry's
 * type and enc are the type's (OBJECT ENCODING still asks the type);
 * ke_is_blob tells a blob from an object pointer, and ke_obj/ke_set_obj
 * must not be used on a blob.  The bytes belong to the entry: deleting or
 * overwriting the key frees them without the type's free callback, and
 * RENAME, TTL changes and COPY (db.c) carry them along.  Nothing about
 * the blob is aligned: formats read it bytewise (intset and listpack do).
 *
 * Every change of size reallocates the entry, so blobs are for values of
 * at most a few KB.  KS_BLOB_MAX is the hard limit of the length field.
 */
#define KS_BLOB_MAX 0xffffffffu

/* Store a blob of `len` bytes (copied from bytes, which may point into
 * any entry including this key's; NULL: zeroed), creating the key or
 * replacing its value (any type; the old value is freed).  keep_ttl as
 * for ks_set_str.  Returns the entry. */
kentry_t *ks_set_blob(keyspace_t *ks, const char *key, size_t klen, int type,
                      int enc, const void *bytes, size_t len, int keep_ttl);
/* 1 if e's value is an embedded blob. */
int ke_is_blob(const kentry_t *e);
/* The blob's bytes (writable in place) and length; e must hold a blob.
 * Valid until the keyspace next changes this entry. */
void *ke_blob(const kentry_t *e, size_t *len);
/* Resize the blob to newlen bytes, keeping the first min(old, newlen);
 * bytes beyond the old length are zeroed.  The entry may move: *e is
 * updated (chain and expiry index are fixed here).  TTL and LRU are
 * kept.  Returns the blob's new address. */
void *ks_blob_resize(keyspace_t *ks, kentry_t **e, size_t newlen);
/* Replace a blob by an object (an encoding conversion: the caller has
 * read what it needed from the blob, which is gone afterwards).  Keeps
 * the type, TTL and LRU; the entry may move (*e updated). */
void ks_blob_to_obj(keyspace_t *ks, kentry_t **e, int enc, void *obj);

/* Delete a key.  1 if it existed. */
int ks_delete(keyspace_t *ks, const char *key, size_t klen);
/* Delete an entry found by ks_find (no second lookup needed by callers
 * that already have it).  e is invalid afterwards. */
void ks_delete_entry(keyspace_t *ks, kentry_t *e);

/*
 * Rename: move the entry (with its value and TTL) to a new key, replacing
 * any existing dst.  Returns the moved entry.  src must exist.
 */
kentry_t *ks_rename(keyspace_t *ks, kentry_t *src, const char *dst,
                    size_t dlen);

/* Remove every key. */
void ks_clear(keyspace_t *ks);
/* Remove the keys of one slot; returns how many. */
size_t ks_clear_slot(keyspace_t *ks, unsigned slot);

/* ---- entry accessors ---- */
const char *ke_key(const kentry_t *e, size_t *klen);
int ke_type(const kentry_t *e);
int ke_enc(const kentry_t *e);
/* String value bytes.  For KE_INT, formats into scratch (>= 24 bytes).
 * e must be a string. */
const char *ke_str(const kentry_t *e, size_t *len, char *scratch);
/* For KE_INT: the value. */
long long ke_int(const kentry_t *e);
/* For object types (not blobs): the object pointer, and replacing it. */
void *ke_obj(const kentry_t *e);
void ke_set_obj(kentry_t *e, int enc, void *obj);
/* Bytes of memory held by the entry and its value (not counting the
 * bucket slot). */
size_t ke_mem(const kentry_t *e);

/* LRU/LFU field (24 bits, policy-defined). */
uint32_t ke_lru(const kentry_t *e);
void ke_set_lru(kentry_t *e, uint32_t v);
/* The LRU value stamped on entries when they are created or get a new
 * value (the node refreshes it from its cron, as Redis's lruclock). */
void ks_set_lru_clock(keyspace_t *ks, uint32_t clock);

/*
 * Make a string value writable with `newlen` bytes, keeping the first
 * min(old, newlen) bytes (for APPEND, SETRANGE); the value becomes KE_RAW
 * with spare capacity so repeated appends are amortised O(1).  New bytes
 * beyond the old length are zeroed.  Returns a pointer to the bytes and
 * updates *e (the entry may move).
 */
char *ks_str_writable(keyspace_t *ks, kentry_t **e, size_t newlen);

/* ---- expiry ---- */
/* Absolute expiry in Unix ms, or -1 if none. */
long long ke_expire(const kentry_t *e);
/* Set or replace the TTL (may move the entry: returns it). */
kentry_t *ks_set_expire(keyspace_t *ks, kentry_t *e, long long when_ms);
/* Remove a TTL; 1 if there was one (may move the entry: *e updated). */
int ks_persist(keyspace_t *ks, kentry_t **e);

/*
 * Active expiry: sample keys with a TTL across slots (round-robin,
 * resuming where the last call stopped), delete those with expire <=
 * now_ms, calling cb(arg, e) just before each deletion.  Works in rounds
 * of `samples` keys; keeps going while more than a quarter of a round was
 * expired, until `max_rounds` rounds were done.  Returns keys expired.
 * cb must not modify the keyspace (it may read e, propagate a DEL, ...).
 */
typedef void ks_expire_cb(void *arg, kentry_t *e);
size_t ks_expire_cycle(keyspace_t *ks, long long now_ms, unsigned samples,
                       unsigned max_rounds, ks_expire_cb *cb, void *arg);

/* ---- iteration ---- */
/*
 * SCAN: one step of Redis's reverse-binary cursor over all slots.  Calls
 * fn for every entry in the visited bucket(s) and returns the next cursor
 * (0 when done).  Guarantees: every key present for the whole scan is
 * returned at least once, even across rehashing.  In cluster mode the low
 * 14 bits of the cursor are the slot.  `slot_only` >= 0 restricts the
 * scan to one slot (for GETKEYSINSLOT and migration); -1 for all.
 * fn may delete the entry it is given (ks_delete_entry, e.g. lazy expiry)
 * but must make no other change to the keyspace.
 */
typedef void ks_scan_fn(void *arg, kentry_t *e);
uint64_t ks_scan(keyspace_t *ks, uint64_t cursor, int slot_only,
                 ks_scan_fn *fn, void *arg);

/* A uniformly random key, or NULL if empty.  rnd: caller's random source. */
kentry_t *ks_random(keyspace_t *ks, uint64_t (*rnd)(void));
/*
 * A random key with a TTL (from the expiry index), or NULL if none has
 * one: a random slot among those with TTL keys, then a random position in
 * its index.  Uniform in standalone mode; in cluster mode a key's chance
 * is 1 / (slots with TTL keys * TTL keys in its slot), close to uniform
 * when slots hold similar numbers.  For volatile-* eviction sampling.
 */
kentry_t *ks_random_volatile(keyspace_t *ks, uint64_t (*rnd)(void));

/* Do up to `steps` buckets of pending rehash work; 1 if work remains. */
int ks_rehash_step(keyspace_t *ks, unsigned steps);

/* 0 while a fork child shares the memory (BGSAVE): tables then start no
 * resize (except growing past 4 keys per bucket, or shrinking below 1/32)
 * so fewer pages are copied.  1 (the default) restores normal resizing. */
void ks_set_resize_allowed(keyspace_t *ks, int allowed);

/* Memory held by the tables themselves (buckets, slot headers, index). */
size_t ks_overhead(const keyspace_t *ks);

#endif
