/*
 * repl_int.h: what the replication files share (repl.c: state, backlog,
 * master side, commands, INFO; replica.c: the link to our master).  Not
 * for other modules: they use repl.h.
 */
#ifndef TS_REPL_INT_H
#define TS_REPL_INT_H

#include <sys/types.h>

#include "buf.h"
#include "client.h"
#include "repl.h"

#define REPL_ID_LEN 40
#define REPL_EOF_MARK_LEN 40

/* Our link to the master (replica side), Redis's repl_state. */
enum repl_link_state {
    RL_NONE = 0,        /* we are a master */
    RL_CONNECT,         /* must (re)connect */
    RL_CONNECTING,      /* nonblocking connect() in progress */
    RL_RECV_PONG,       /* PING sent */
    RL_RECV_REPLIES,    /* AUTH / REPLCONF sent, replies pending */
    RL_RECV_PSYNC,      /* PSYNC sent */
    RL_TRANSFER,        /* receiving the RDB payload */
    RL_CONNECTED,       /* streaming: n->master_client is the link */
};

/* A replica attached to us (master side), Redis's slave repl_state. */
enum repl_peer_state {
    RP_WAIT_BGSAVE_START = 0,   /* full sync requested, no child yet */
    RP_WAIT_BGSAVE_END,         /* the child is writing its RDB */
    RP_ONLINE,                  /* streaming */
};

typedef struct repl_peer {
    client_t *c;
    int state;                  /* enum repl_peer_state */
    int listening_port;         /* REPLCONF listening-port */
    char announced_ip[64];      /* REPLCONF ip-address, "" if none */
    unsigned capa;              /* REPL_CAPA_* */
    int eof_sync;               /* this full sync uses the $EOF: framing */
    int sync_cmd;               /* SYNC, not PSYNC: no +FULLRESYNC line */
    int start_on_ack;           /* RDB sent: stream after its first ACK */
    long long psync_offset;     /* offset its full sync starts at */
    long long ack_off;          /* REPLCONF ACK */
    long long ack_ms;           /* when the last ACK came (unix ms) */
    struct repl_peer *prev, *next;
} repl_peer_t;

#define REPL_CAPA_EOF    1u
#define REPL_CAPA_PSYNC2 2u

/* A client blocked in WAIT. */
typedef struct repl_waiter {
    client_t *c;
    long long offset;           /* replicas must have ACKed this */
    long long numreplicas;
    int hold;                   /* durable write: release, don't reply */
    struct event *timer;        /* NULL: wait forever */
    struct repl_waiter *prev, *next;
} repl_waiter_t;

typedef struct repl {
    /* ---- identity and offsets (both roles) ---- */
    char replid[REPL_ID_LEN + 1];
    char replid2[REPL_ID_LEN + 1];
    long long offset;           /* master_repl_offset */
    long long second_offset;    /* second_repl_offset, -1 if none */
    int seldb;                  /* db the stream last SELECTed, -1 none */

    /* ---- backlog ring ---- */
    char *bl;                   /* NULL: no backlog */
    long long bl_size;          /* capacity */
    long long bl_idx;           /* next write position */
    long long bl_histlen;       /* valid bytes */
    long long bl_off;           /* offset of the first valid byte */
    long long no_replicas_since_ms; /* for repl-backlog-ttl, 0 = has some */
    int sink_on;                /* repl_sink registered with propagate */

    /* ---- master side ---- */
    repl_peer_t *peers;
    int npeers;
    pid_t child;                /* sync child, 0 if none */
    int child_status_fd;        /* pipe: one byte per target at the end */
    struct event *child_ev;
    repl_peer_t **child_peers;  /* targets of the running child */
    int nchild_peers;
    long long child_start_ms;
    long long wait_start_since_ms;  /* first replica waiting for a sync */
    long long last_ping_ms;
    repl_waiter_t *waiters;
    int get_ack_pending;        /* GETACK scheduled (ack_ev active) */
    struct event *ack_ev;

    /* ---- replica side ---- */
    char *master_host;
    int master_port;
    int link_state;             /* enum repl_link_state */
    int fd;                     /* handshake/transfer socket, -1 none */
    struct event *ev;           /* its read/write event */
    buf_t in;                   /* bytes read during handshake/transfer */
    int replies_pending;        /* RL_RECV_REPLIES: how many */
    long long transfer_size;    /* -1: EOF framing */
    char eofmark[REPL_EOF_MARK_LEN];
    long long transfer_read;
    long long last_io_ms;       /* last byte from the master */
    long long down_since_ms;    /* link went down (0: never up) */
    long long next_connect_ms;  /* backoff */
    int backoff_ms;
    long long read_offset;      /* slave_read_repl_offset */
    long long last_ack_ms;
    int ack_now;                /* GETACK seen: ACK after this command */
    char master_replid_pending[REPL_ID_LEN + 1]; /* from +FULLRESYNC */
    long long master_offset_pending;
    int full_sync;              /* the transfer follows +FULLRESYNC */
} repl_t;

/* repl.c, used by replica.c */
repl_t *repl_state(node_t *n);
void repl_new_replid(repl_t *R);
void repl_backlog_create(node_t *n);
void repl_backlog_free(repl_t *R);
/* Append raw stream bytes to the backlog and every streaming replica,
 * advancing the offset. */
void repl_feed_raw(node_t *n, const char *p, size_t len);
void repl_disconnect_peers(node_t *n);
void repl_wake_waiters(node_t *n);

/* replica.c */
void replica_connect(node_t *n);
void replica_abort(node_t *n);            /* drop handshake/transfer */
void replica_cron(node_t *n, long long now_ms);
void replica_send_ack(node_t *n);
void replica_info(node_t *n, buf_t *o);
const char *replica_state_name(const node_t *n);

#endif
