/*
 * db.h: the keyspace as commands see it: lookups with lazy expiry and
 * hit/miss accounting, and deletions that keep statistics right.
 *
 * Lazy expiry lives here, not in the keyspace: a key whose TTL has passed
 * is deleted when a command touches it and then looks absent.
 */
#ifndef TS_DB_H
#define TS_DB_H

#include "cmd.h"
#include "keyspace.h"

/* Lookup for reading: expires the key if due, counts a hit or a miss,
 * touches the LRU clock.  NULL if absent. */
kentry_t *db_lookup_read(cmdctx_t *ctx, const resp_arg_t *key);
/* Lookup for writing: expires the key if due; no hit/miss accounting. */
kentry_t *db_lookup_write(cmdctx_t *ctx, const resp_arg_t *key);
/* Lookup without side effects other than expiry (TYPE-like checks, OBJECT). */
kentry_t *db_lookup_notouch(cmdctx_t *ctx, const resp_arg_t *key);

/* Delete if present (no expiry check needed); 1 if deleted. */
int db_delete(cmdctx_t *ctx, const resp_arg_t *key);

/* Is the entry expired at ctx->now_ms? */
int db_is_expired(cmdctx_t *ctx, const kentry_t *e);

/* Record a modification (dirty counter; later: WATCH, notifications). */
void db_modified(cmdctx_t *ctx, const resp_arg_t *key);

/* LRU clock value for now (24 bits, seconds resolution as Redis). */
uint32_t db_lru_clock(long long now_ms);

/* Active expiry cycle (called from the cron). */
void db_active_expire(node_t *n, long long now_ms);

/* Random source for random picks (RANDOMKEY, HRANDFIELD, SPOP, ...):
 * libc's random(), good enough to spread picks. */
uint64_t db_rand(void);

/* A SCAN/HSCAN/SSCAN/ZSCAN cursor, parsed like Redis's strtoul (sign and
 * leading zeros allowed, no leading space, no trailing bytes).  0 or -1. */
int db_parse_cursor(const resp_arg_t *a, uint64_t *out);

/* SCAN-family options: COUNT (default 10, >= 1), MATCH (NULL for none or
 * "*"), TYPE (SCAN only). */
typedef struct scan_opts {
    long long count;
    const resp_arg_t *pat;
    const resp_arg_t *type;
} scan_opts_t;
/* Parse options from argv[first..]; replies "ERR syntax error" (or the
 * integer error) and returns -1 on bad input. */
int db_scan_parse(const req_t *req, int first, int allow_type,
                  scan_opts_t *o, reply_t *r);

/* The TYPE name of an entry ("string", "list", ...). */
const char *db_type_name(const kentry_t *e);

/*
 * What the generic commands need from a non-string type (strings are
 * handled in db.c).  Each type file registers its ops once at setup
 * (t_list.c: db_register_type(KT_LIST, &list_db_ops)); ops must outlive
 * the process.  Unregistered types answer OBJECT ENCODING "unknown" and
 * COPY "ERR unknown type object", as Redis does for a type it cannot
 * handle.
 */
typedef struct db_type_ops {
    /* OBJECT ENCODING name ("listpack", "quicklist", "hashtable", ...). */
    const char *(*encoding_name)(const kentry_t *e);
    /* COPY: a deep copy of e's value, owned by the caller, stored with
     * ks_set_obj(ks, key, klen, ke_type(e), *enc_out, copy, 0).  Not
     * called for embedded blobs (ke_is_blob): db.c copies their bytes. */
    void *(*dup)(const kentry_t *e, int *enc_out);
    /* Free a value of this type (keyspace deletes/overwrites, FLUSHALL
     * ASYNC on the lazyfree thread: must not touch anything shared).
     * Never called for embedded blobs (they are part of the entry). */
    void (*free)(int enc, void *obj);
} db_type_ops_t;
void db_register_type(int type, const db_type_ops_t *ops);

#endif
