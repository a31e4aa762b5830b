/*
 * slowlog.h: SLOWLOG: a bounded list of commands that took at least
 * slowlog-log-slower-than microseconds, newest first, as Redis keeps it
 * (at most 32 arguments, each at most 128 bytes, with "... (N more
 * arguments)" / "... (N more bytes)" markers).
 */
#ifndef TS_SLOWLOG_H
#define TS_SLOWLOG_H

#include "node.h"
#include "reply.h"
#include "resp.h"

slowlog_t *slowlog_create(void);
void slowlog_destroy(slowlog_t *s);
void slowlog_push(node_t *n, client_t *c, int argc, const resp_arg_t *argv,
                  long long duration_us, long long unix_sec);
/* Reply to SLOWLOG GET [count] (count -1 = all). */
void slowlog_reply(node_t *n, long long count, reply_t *r);
size_t slowlog_len(node_t *n);
void slowlog_reset(node_t *n);
/* Trim to slowlog-max-len (after CONFIG SET). */
void slowlog_trim(node_t *n);

#endif
