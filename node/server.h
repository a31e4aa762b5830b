/*
 * server.h: the node's process-level machinery: listening sockets,
 * accepting clients (maxclients, protected mode), the periodic cron
 * (active expiry, client timeouts, stats samples), signals and shutdown.
 */
#ifndef TS_SERVER_H
#define TS_SERVER_H

#include "node.h"

/* Open listeners, arm the cron and signal handlers.  0 or -1 (logged). */
int server_setup(node_t *n);
void server_teardown(node_t *n);

/* Run the event loop until shutdown; returns the exit code. */
int server_run(node_t *n);

/* Stop the loop after the current batch (SHUTDOWN, SIGTERM). */
void server_request_shutdown(node_t *n, int exit_code);

/* Re-arm the cron after `hz` changed. */
void server_rearm_cron(node_t *n);

/* CONFIG RESETSTAT. */
void server_reset_stats(node_t *n);

/* Ops per second over the last samples (INFO instantaneous_ops_per_sec). */
long long server_ops_per_sec(const node_t *n);

/* Apply a changed `bind`/`port` at run time (CONFIG SET): reopen
 * listeners.  NULL or an error text. */
const char *server_rebind(node_t *n);

#endif
