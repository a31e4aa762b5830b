/*
 * aof.h: the append only file, Redis 7.0's multi-part design.
 *
 *   <dir>/<appenddirname>/
 *       appendonly.aof.manifest        "file <name> seq <n> type b|h|i" lines
 *       appendonly.aof.<n>.base.rdb    snapshot (RDB, or .base.aof as commands)
 *       appendonly.aof.<n>.incr.aof    commands since, in RESP
 *
 * The write path: every unit of the propagated stream (propagate.h) is
 * appended to a buffer; once per event-loop round, before any reply is
 * written, the buffer is written to the current incr file and, with
 * appendfsync always, fsynced (one group commit for everything the round
 * executed).  everysec hands the fsync to a background thread at most once
 * a second; no leaves it to the kernel.
 *
 * BGREWRITEAOF forks; the child writes a new base file from its snapshot
 * while the parent switches to a new incr file; when the child succeeds the
 * parent writes a new manifest (temp file, fsync, rename) naming the new
 * base and the incr files opened since, and deletes the old files.
 *
 * A failed write or fsync refuses writes with -MISCONF (and, with
 * appendfsync always, holds the replies of the round: nothing is
 * acknowledged before it is on disk) until a retry from the cron works.
 *
 * The files move both ways with redis-server 7.0: it loads our directory
 * and we load its.
 */
#ifndef TS_AOF_H
#define TS_AOF_H

#include <stddef.h>

#include "buf.h"
#include "cmd.h"
#include "node.h"

enum aof_fsync { AOF_FSYNC_ALWAYS = 0, AOF_FSYNC_EVERYSEC, AOF_FSYNC_NO };

/*
 * Start-up (main.c), after the options and the keyspace, before the
 * listeners.  With appendonly yes: load the AOF directory if it exists
 * (the RDB file is then not used, as Redis), else create a base file from
 * the current dataset; open the incr file and start appending.  Returns
 * 0, or -1 if the node must not start (corrupt AOF, I/O error; logged).
 */
int aof_setup(node_t *n);
/* Flush, fsync and close (shutdown); kills a rewrite child. */
void aof_teardown(node_t *n);

/* CONFIG SET appendonly changed n->appendonly: start the AOF (with a
 * rewrite, as Redis) or stop it.  NULL or an error text. */
const char *aof_apply_appendonly(node_t *n);

/* Before replies go out (once per loop round, and before a client's
 * deferred write): write the buffer, fsync per appendfsync.  Cheap when
 * there is nothing to write. */
void aof_flush(node_t *n);
/* Bytes ever appended to the AOF buffer (a position in the stream). */
long long aof_appended(const node_t *n);
/* Must replies that need the stream durable up to `need` (the client's
 * aof_need) wait?  Only with appendfsync always, when a write or fsync
 * failed; everysec and no reply at once, as Redis. */
int aof_hold_replies(const node_t *n, long long need);

/* From the cron: reap the rewrite child, retry failed writes, start a
 * scheduled or automatic rewrite, hand everysec fsyncs to the thread. */
void aof_cron(node_t *n, long long now_ms);

/* While the AOF cannot be written (last write or fsync failed): that
 * errno, else 0.  cmd.c then refuses writes (and PING) with
 * "-MISCONF Errors writing to the AOF file: <strerror>". */
int aof_write_errno(const node_t *n);

/* BGREWRITEAOF */
extern const cmd_bind_t aof_cmds[];

/* INFO persistence: the aof_* and module_fork_* lines (Redis 7.0's
 * order, the size lines only when the AOF is on). */
void aof_info(node_t *n, buf_t *o);

/* Is an AOF rewrite child running?  (BGSAVE refuses to start then.) */
int aof_rewrite_in_progress(const node_t *n);

#endif
