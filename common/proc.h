/*
 * proc.h: process plumbing shared by tessera-node and tessera-proxy:
 * randomness for ids, daemonizing, the pid file, absolute paths.
 */
#ifndef TS_PROC_H
#define TS_PROC_H

#include <stddef.h>

/* n random bytes from /dev/urandom; if it cannot be read (chroot, fd
 * limit), a mix of time, pid and address that still differs between
 * processes and runs. */
void ts_random_bytes(void *buf, size_t n);

/* n random lowercase hex digits and a NUL (out holds n + 1 bytes): run
 * ids, cluster node names, replication ids. */
void ts_random_hex(char *out, size_t n);

/* Detach as redis-server's daemonize: fork (the parent exits), new
 * session, stdio on /dev/null.  -1 if fork failed. */
int ts_daemonize(void);

/* Write our pid to path (nothing for NULL or ""); a failure is logged,
 * never fatal, as Redis. */
void ts_write_pidfile(const char *path);

/* path made absolute by joining it to the working directory (as Redis's
 * getAbsolutePath; NULL stays NULL); heap string, ts_free it. */
char *ts_absolute_path(const char *path);

#endif
