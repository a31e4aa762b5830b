/*
 * rdb.h: RDB snapshots (Redis RDB version 10, what Redis 7.0 writes) and
 * the DUMP/RESTORE object payload.
 *
 * The writer produces the same bytes Redis 7.0 would for the same data and
 * encodings (magic "REDIS0010", aux fields, SELECTDB 0, RESIZEDB, per-key
 * EXPIRETIME_MS / IDLE / FREQ, the object, EOF, CRC64), so files move both
 * ways and redis-check-rdb verifies ours.  The reader accepts everything a
 * 7.0 server loads for the types Tessera has (plus the older ziplist-based
 * encodings), validates every length and every embedded listpack/intset
 * before trusting it, and refuses streams, modules and functions with a
 * clear message.
 *
 * Output and input go through callbacks so the same code writes a file,
 * a socket (replication full sync) or an AOF preamble.
 */
#ifndef TS_RDB_H
#define TS_RDB_H

#include <stddef.h>
#include <stdint.h>

#include "node.h"

#define RDB_VERSION 10

/* Object types (the byte before each key) and opcodes, as Redis 7.0. */
enum {
    RDB_TYPE_STRING = 0,
    RDB_TYPE_LIST = 1,
    RDB_TYPE_SET = 2,
    RDB_TYPE_ZSET = 3,
    RDB_TYPE_HASH = 4,
    RDB_TYPE_ZSET_2 = 5,
    RDB_TYPE_MODULE = 6,
    RDB_TYPE_MODULE_2 = 7,
    RDB_TYPE_HASH_ZIPMAP = 9,
    RDB_TYPE_LIST_ZIPLIST = 10,
    RDB_TYPE_SET_INTSET = 11,
    RDB_TYPE_ZSET_ZIPLIST = 12,
    RDB_TYPE_HASH_ZIPLIST = 13,
    RDB_TYPE_LIST_QUICKLIST = 14,
    RDB_TYPE_STREAM_LISTPACKS = 15,
    RDB_TYPE_HASH_LISTPACK = 16,
    RDB_TYPE_ZSET_LISTPACK = 17,
    RDB_TYPE_LIST_QUICKLIST_2 = 18,
    RDB_TYPE_STREAM_LISTPACKS_2 = 19,
};
enum {
    RDB_OPCODE_FUNCTION2 = 245,
    RDB_OPCODE_FUNCTION = 246,
    RDB_OPCODE_MODULE_AUX = 247,
    RDB_OPCODE_IDLE = 248,
    RDB_OPCODE_FREQ = 249,
    RDB_OPCODE_AUX = 250,
    RDB_OPCODE_RESIZEDB = 251,
    RDB_OPCODE_EXPIRETIME_MS = 252,
    RDB_OPCODE_EXPIRETIME = 253,
    RDB_OPCODE_SELECTDB = 254,
    RDB_OPCODE_EOF = 255,
};
/* Length encodings: the top two bits of the first byte. */
#define RDB_6BITLEN   0
#define RDB_14BITLEN  1
#define RDB_32BITLEN  0x80
#define RDB_64BITLEN  0x81
#define RDB_ENCVAL    3
#define RDB_ENC_INT8  0
#define RDB_ENC_INT16 1
#define RDB_ENC_INT32 2
#define RDB_ENC_LZF   3
/* Quicklist node containers. */
#define RDB_QL_PLAIN  1
#define RDB_QL_PACKED 2

/* Writes len bytes: 0 ok, -1 error (errno set). */
typedef int (*rdb_write_fn)(void *arg, const void *buf, size_t len);
/* Reads exactly len bytes: 0 ok, -1 error or EOF. */
typedef int (*rdb_read_fn)(void *arg, void *buf, size_t len);

/* Flags for rdb_save_to_flags. */
enum {
    RDB_SAVE_AOF_PREAMBLE = 1, /* aux "aof-base" = 1 */
};

/* Write a whole RDB v10 image of n's keyspace (magic, aux, keys, EOF,
 * CRC64 or 8 zero bytes when rdbchecksum is off).  0 ok, -1 on a write
 * error (errno from w). */
int rdb_save_to(node_t *n, rdb_write_fn w, void *arg);
int rdb_save_to_flags(node_t *n, rdb_write_fn w, void *arg, int flags);

/* Save to path (relative to `dir`, the working directory) through
 * temp-<pid>.rdb there: write, fflush, fsync, rename over path, fsync the
 * directory.  0 ok, -1 error (logged, errno set; the temp file removed). */
int rdb_save_file(node_t *n, const char *path);

/* Load an RDB image.  It is built in a fresh keyspace that replaces n's
 * (which is freed: callers empty or detach it first) only when the whole
 * image, checksum included, was good.  On failure n's keyspace is
 * untouched, err holds "Bad RDB: <what> at offset <N>" and -1 is returned.
 * Keys already expired are skipped unless this node is a replica (counted
 * in n->rdb's load stats). */
int rdb_load_from(node_t *n, rdb_read_fn r, void *arg, char *err,
                  size_t errlen);
/* Same from a file.  Returns 1 if the file does not exist (nothing
 * loaded, not an error), 0 loaded, -1 error. */
int rdb_load_file(node_t *n, const char *path, char *err, size_t errlen);

/* ---- DUMP / RESTORE payloads ---- */

/* Serialize e's value as DUMP does (type byte, object, RDB version as 2
 * bytes little endian, CRC64 little endian).  Returns a malloc'ed buffer
 * (ts_free) and its length in *len; NULL on allocation failure. */
unsigned char *rdb_dump_payload(node_t *n, const kentry_t *e, size_t *len);
/* Bytes e's value takes in an RDB file (DEBUG OBJECT's serializedlength,
 * Redis's rdbSavedObjectLen: LZF included, type byte excluded). */
size_t rdb_serialized_len(node_t *n, const kentry_t *e);
/* Check a payload's trailer (version <= RDB_VERSION and CRC64).  1 ok. */
int rdb_verify_payload(const unsigned char *p, size_t len);
/* Decode a verified payload.  With key != NULL store the value under key
 * (replacing any value, no TTL) and return its entry in *out; with key
 * NULL only check it.  0 ok, -1 bad data format (nothing changed). */
int rdb_restore_payload(node_t *n, const char *key, size_t klen,
                        const unsigned char *p, size_t len, kentry_t **out);
/* Apply an RDB/RESTORE IDLE (seconds, -1 none) or FREQ (-1 none) to e as
 * Redis's objectSetLRUOrLFU: FREQ under an LFU policy, IDLE otherwise. */
void rdb_set_lru_lfu(node_t *n, kentry_t *e, long long idle, int freq);

/* ---- BGSAVE, save points, INFO (rdb.c) ---- */

/* Persistence state of the node (n->rdb). */
typedef struct rdb_state {
    pid_t child_pid; /* BGSAVE child, or -1 */
    long long child_start_ms;
    long long dirty_at_fork; /* n->dirty when the child forked */
    int bgsave_scheduled;    /* BGSAVE SCHEDULE waiting for a child */
    int last_bgsave_ok;
    long long last_bgsave_try; /* unix seconds of the last attempt */
    long long last_bgsave_time_sec;
    long long saves; /* successful saves since start */
    long long load_keys_loaded, load_keys_expired;
    int loading;
    struct lzf_state *lzf; /* DUMP's LZF table (lzf.h), or NULL */
} rdb_state_t;

/* Create n->rdb and load <dir>/<dbfilename> if present.  -1 if the file
 * exists but cannot be loaded (logged: the node must not start). */
int rdb_setup(node_t *n);
void rdb_teardown(node_t *n);
/* From the cron: reap a finished child, start a scheduled BGSAVE, check
 * the save points. */
void rdb_cron(node_t *n, long long now_ms);
/* Save on shutdown as Redis 7.0's prepareForShutdown: kill a BGSAVE
 * child, then save if `save` or (save points exist and not `nosave`).
 * 0 ok (or nothing to do), -1 the save failed (logged). */
int rdb_shutdown_save(node_t *n, int save, int nosave);
/* 1 while a BGSAVE child runs (other fork users wait for it). */
int rdb_bgsave_in_progress(const node_t *n);
/* DEBUG RELOAD: save (if save), empty the keyspace, load the file.
 * 0 ok, -1 the save failed, -2 the load failed (logged). */
int rdb_debug_reload(node_t *n, int save);
/* FLUSHALL, after emptying the keyspace (flushAllDataAndResetRDB): kill
 * a BGSAVE child, and save the empty data set when save points exist. */
void rdb_flushall(node_t *n);
/* 1 if writes must be refused with -MISCONF (last BGSAVE failed, save
 * points configured and stop-writes-on-bgsave-error yes). */
int rdb_writes_refused(const node_t *n);
/* The Persistence section's rdb and loading lines (INFO). */
struct buf;
void rdb_info(node_t *n, struct buf *o);

extern const char rdb_err_misconf[];

#endif
