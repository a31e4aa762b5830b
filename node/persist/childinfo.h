/*
 * childinfo.h: copy-on-write and progress reports from fork children
 * (BGSAVE, BGREWRITEAOF, diskless full sync) to the parent, Redis 7.0's
 * childinfo.c.  One child at a time, one pipe per child.
 */
#ifndef TESSERA_CHILDINFO_H
#define TESSERA_CHILDINFO_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "node.h"

/* What the child's last report is for: which last_cow_size it sets. */
typedef enum {
    CI_RDB, /* BGSAVE and diskless sync: rdb_last_cow_size */
    CI_AOF, /* BGREWRITEAOF: aof_last_cow_size */
} childinfo_kind_t;

/* Module lifecycle; node->childinfo. 0 or -1. */
int childinfo_setup(node_t *n);
void childinfo_teardown(node_t *n);

/* fork() that also opens the report pipe (the child gets the write end,
 * the parent the nonblocking read end), counts total_forks and measures
 * latest_fork_usec.  Returns what fork() returns. */
pid_t childinfo_fork(node_t *n, childinfo_kind_t kind);

/* In the child, once per key written (called by the RDB writer, which all
 * three children use): sleeps rdb-key-save-delay and, about once a second,
 * reports the CoW size and the keys processed.  A no-op in the parent
 * except for the delay (SAVE and DEBUG RELOAD honour it, as in Redis). */
void childinfo_key_saved(node_t *n);

/* In the child, after success: the final CoW report. */
void childinfo_send_final(node_t *n);

/* In the parent: drain the reports (cron), and after the child was
 * reaped: drain, then reset the current_* fields and close the pipe. */
void childinfo_receive(node_t *n);
void childinfo_child_done(node_t *n, pid_t pid);

/* INFO: the current_* lines of "# Persistence"; the last CoW sizes;
 * the fork lines of "# Stats". */
void childinfo_info_current(node_t *n, buf_t *o);
size_t childinfo_last_cow(const node_t *n, childinfo_kind_t kind);
long long childinfo_latest_fork_usec(const node_t *n);
long long childinfo_total_forks(const node_t *n);

/* Private_Dirty of this process in bytes (/proc/self/smaps_rollup, else
 * /proc/self/smaps); 0 where neither exists. */
size_t childinfo_private_dirty(void);

#endif
