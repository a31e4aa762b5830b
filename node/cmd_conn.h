/*
 * cmd_conn.h: what the connection commands (cmd_conn.c: PING, AUTH,
 * HELLO, CLIENT ...) offer to the rest of the node besides their handlers
 * (which are bound through conn_cmds[] in cmd.h).
 */
#ifndef TS_CMD_CONN_H
#define TS_CMD_CONN_H

#include "node.h"
#include "resp.h"

/*
 * Resume the clients held by CLIENT PAUSE (flag CLF_PAUSED): run what is
 * waiting in their query buffers and flush their replies.  Called by the
 * cron when the pause deadline has passed, and (deferred to the event
 * loop) by CLIENT UNPAUSE.  Safe if commands run here free clients.
 */
void conn_unpause_clients(node_t *n);

/*
 * 1 if argv[i] of this command must not be shown to MONITOR clients or
 * kept in the slow log, where Redis shows "(redacted)": the password of
 * AUTH, the user and password after HELLO's AUTH, the value of a
 * sensitive option in CONFIG SET (requirepass).
 */
int conn_arg_is_secret(node_t *n, int argc, const resp_arg_t *argv, int i);

#endif
