/*
 * client.h: one client connection of the node.
 *
 * Request path (one batch):
 *
 *   socket --read()--> qbuf --resp_parse_request--> argv --cmd_execute-->
 *     handler --reply_*--> obuf --write()--> socket
 *
 * client_on_read reads once, parses and executes every complete command
 * in the buffer, then writes the accumulated replies with one write().
 * Only if the socket does not take everything is a write event armed.
 * That is what makes a pipelined batch cost one read and one write.
 */
#ifndef TS_CLIENT_H
#define TS_CLIENT_H

#include <event2/event.h>
#include <stdint.h>

#include "buf.h"
#include "multi.h"
#include "node.h"
#include "resp.h"

/* client flags */
#define CLF_CLOSE_AFTER_REPLY (1u << 0)  /* QUIT, protocol error */
#define CLF_CLOSE_ASAP        (1u << 1)  /* killed, limits */
#define CLF_MONITOR           (1u << 2)
#define CLF_REPLY_OFF         (1u << 3)
#define CLF_REPLY_SKIP_NEXT   (1u << 4)
#define CLF_REPLY_SKIP        (1u << 5)  /* skip the reply of this command */
#define CLF_NO_EVICT          (1u << 6)
#define CLF_PAUSED            (1u << 7)  /* waiting for CLIENT UNPAUSE */
#define CLF_WRITE_ARMED       (1u << 8)
#define CLF_IN_COMMAND        (1u << 9)  /* processing; free later */
#define CLF_PROTECTED_LOCAL   (1u << 10) /* connected from loopback */
#define CLF_UNIX              (1u << 11)
#define CLF_PENDING_WRITE     (1u << 12) /* on node->pending_writes */
/* transactions (multi.c); high bits, clear of other additions */
#define CLF_MULTI             (1u << 24) /* between MULTI and EXEC */
#define CLF_DIRTY_CAS         (1u << 25) /* a WATCHed key was touched */
#define CLF_DIRTY_EXEC        (1u << 26) /* a queued command was refused */
#define CLF_BLOCKED           (1u << 20) /* waiting for keys (blocking.c) */
#define CLF_DENY_BLOCKING     (1u << 21) /* MULTI/EXEC: blocking commands don't */
#define CLF_PUBSUB            (1u << 28) /* has subscriptions (pubsub.c) */
#define CLF_ASKING            (1u << 29) /* ASKING: next command may use an importing slot */
#define CLF_READONLY          (1u << 30) /* READONLY: reads served by a replica */
#define CLF_MULTISLOT         (1u << 19) /* TESSERA MULTISLOT ON (the proxy's
                                            * links): see cluster.c */
/* replication (node/repl) */
#define CLF_MASTER            (1u << 27) /* our link to the master */
#define CLF_REPLICA           (1u << 31) /* a replica of ours (after PSYNC) */
#define CLF_REPL_HOLD         (1u << 22) /* replica syncing: don't write yet */
#define CLF_REPL_WAIT         (1u << 23) /* blocked in WAIT */

struct client {
    uint64_t id;
    int fd;
    unsigned flags;
    node_t *node;
    struct event *ev;           /* read, and write when armed */
    buf_t qbuf;
    buf_t obuf;
    resp_req_t req;
    int proto;                  /* 2 or 3 */
    int authenticated;
    char *name;                 /* CLIENT SETNAME, NULL if none */
    char addr[64];              /* "127.0.0.1:51234" */
    char laddr[64];
    long long ctime_ms;         /* connection time */
    long long last_ms;          /* last interaction */
    cmd_id_t last_cmd;
    long long obuf_soft_since;  /* when the soft limit was first passed */
    long long qbuf_peak;
    struct pubsub_client *pubsub; /* subscriptions (pubsub.c), or NULL */
    client_t *prev, *next;      /* node->clients */
    client_t *mprev, *mnext;    /* node->monitors */
    client_t *pwprev, *pwnext;  /* node->pending_writes */
    multi_state_t mstate;       /* MULTI queue and WATCHed keys */
    struct blocked *blk;        /* while CLF_BLOCKED */
    long long aof_need;         /* AOF bytes that must be durable before
                                   its replies go out (aof.h) */
    /* replication (node/repl): REPLCONF values, WAIT */
    int repl_port;              /* REPLCONF listening-port */
    unsigned repl_capa;         /* REPLCONF capa eof/psync2 */
    char repl_ip[46];           /* REPLCONF ip-address */
    struct repl_waiter *blk_repl; /* while CLF_REPL_WAIT */
    long long repl_woff;        /* stream offset after its last write */
};

/* Accept path: wrap a connected socket.  Takes ownership of fd. */
client_t *client_create(node_t *n, int fd, int is_local);
/* Close the connection and free everything (safe inside a handler:
 * deferred to the end of the batch when CLF_IN_COMMAND is set). */
void client_free(client_t *c);
/* Schedule a close after pending replies were written. */
void client_close_after_reply(client_t *c);

/* Event callback (libevent): readable/writable. */
void client_on_event(evutil_socket_t fd, short what, void *arg);

/* Process whatever is in qbuf (used after unpause). */
void client_process_input(client_t *c);
/*
 * Schedule c's replies to be written: every client with pending replies
 * is written once, after the loop iteration that produced them
 * (client_write_pending), as Redis does in beforeSleep.  A burst of
 * requests from many clients thus gets its replies in one burst too,
 * which wakes the peers less often than a write per request would.
 */
void client_flush(client_t *c);
/* Write every scheduled client (called once per event-loop iteration). */
void client_write_pending(node_t *n);

/* One CLIENT LIST line for c (no trailing newline). */
void client_info_line(client_t *c, buf_t *out);

/* Enforce the output buffer limits; 1 if the client must be closed. */
int client_obuf_over_limit(client_t *c);

/* Find a client by id, NULL if none. */
client_t *client_by_id(node_t *n, uint64_t id);

#endif
