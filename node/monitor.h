/*
 * monitor.h: MONITOR: every command the node receives, copied to the
 * clients in monitor mode as `+<unix.usec> [0 <addr>] "cmd" "arg"...`.
 */
#ifndef TS_MONITOR_H
#define TS_MONITOR_H

#include "node.h"
#include "resp.h"

/* Put client c into monitor mode; take it out (RESET, client free). */
void monitor_add(node_t *n, client_t *c);
void monitor_remove(node_t *n, client_t *c);
/* Send one command line to every monitor (not to the sender itself). */
void monitor_feed(node_t *n, client_t *from, int argc, const resp_arg_t *argv,
                  long long now_us);

#endif
