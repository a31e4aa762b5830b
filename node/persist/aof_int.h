/*
 * aof_int.h: what aof.c (writing, rewrite, commands) and aof_load.c
 * (manifest, loading) share.  Not for other modules: use aof.h.
 */
#ifndef TS_AOF_INT_H
#define TS_AOF_INT_H

#include <stddef.h>

#include "buf.h"
#include "node.h"

/* One file of the manifest. */
typedef struct aof_file {
    char *name;             /* owned, a plain file name (no '/') */
    long long seq;
} aof_file_t;

/* Redis 7.0's aofManifest: one base, history (to delete), incr files in
 * order.  curr_*_seq: the highest sequence numbers used so far. */
typedef struct aof_manifest {
    aof_file_t base;        /* base.name NULL: no base */
    int base_is_rdb;
    aof_file_t *hist;
    int nhist, caphist;
    aof_file_t *incr;
    int nincr, capincr;
    long long curr_base_seq, curr_incr_seq;
} aof_manifest_t;

#define AOF_MANIFEST_MAX_LINE 1024

void aof_manifest_free(aof_manifest_t *m);
void aof_manifest_add(aof_file_t **arr, int *n, int *cap, const char *name,
                      long long seq);
/* Parse a manifest's text (Redis 7.0's rules: '#' comments, "file <name>
 * seq <n> type b|h|i" pairs in any order, unknown keys ignored, incr
 * sequence numbers increasing).  0, or -1 with Redis's message in err. */
int aof_manifest_parse(const char *text, size_t len, aof_manifest_t *m,
                       char *err, size_t errlen);
/* Append the manifest as Redis writes it (base, history, incr). */
void aof_manifest_format(const aof_manifest_t *m, buf_t *out);

/* "<appenddirname>/<name>" (ts_malloc'd). */
char *aof_path(const node_t *n, const char *name);

/*
 * Load the files the manifest names, base then incr in order, into n's
 * (empty) keyspace through the normal command path.  A torn last command
 * of the last file is dropped and the file truncated when
 * aof-load-truncated is yes.  *size: the total bytes of the files after
 * loading.  0, or -1 (logged: file, offset, reason).
 */
int aof_load_files(node_t *n, const aof_manifest_t *m, long long *size);

#endif
