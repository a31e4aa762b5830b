/*
 * proxy.h: tessera-proxy's types, shared by its modules.
 *
 * The request path (one worker thread; every worker has its own libevent
 * loop, clients and backend connections, so nothing on it takes a lock):
 *
 *   client fd --read--> c->in --resp_parse_request--> route_request()
 *        |                                                 |
 *        |   preq (one per client request, in c's FIFO)    | one breq per
 *        |        ^                                        v target node
 *        |        |  reply bytes / merge            be->out (many clients'
 *        |        +------ backend_on_reply <-- be->in   requests batched)
 *        |                                                 |
 *   c->out <-- head preqs that are done, in request order  +--write--> node
 *
 * Writes are deferred to a flush after each pass of the worker's loop over
 * its ready events: every ready client is read first, then each dirty
 * backend gets one write() and each dirty client one write() for the batch.
 *
 * The slot map (topo_t) is immutable once published.  The main thread
 * builds a new one (topo.c) and swaps the pointer under p->topo_lock,
 * bumping p->topo_gen; a worker compares the generation (one atomic load)
 * at each callback and only then takes the lock to grab a reference.
 * Old maps are freed when their last worker lets go (refcount).
 */
#ifndef TS_PROXY_H
#define TS_PROXY_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "buf.h"
#include "cmdtab.h"
#include "config.h"
#include "resp.h"
#include "slot.h"
#include "spin.h"

#define PROXY_VERSION "0.1.0"
/* What HELLO reports as "version": the Redis release we answer like. */
#define PROXY_REDIS_VERSION "7.0.15"

#define TOPO_NO_OWNER 0xFFFFu
#define PROXY_MAX_ADDR 96
#define PROXY_MAX_BIND 16
/* Redirections (MOVED/ASK) one request may follow before failing. */
#define PROXY_MAX_REDIRECTS 5

struct event;
struct event_base;
struct worker;
struct pclient;
struct backend;

/* ---- topology -------------------------------------------------------- */

typedef struct topo_node {
    char host[64];
    int port;
    char addr[PROXY_MAX_ADDR];      /* "host:port" */
    int master;                     /* a replica: its master's index */
    int rep_first, rep_count;       /* a master: its replicas in reps[] */
} topo_node_t;

typedef struct topo {
    atomic_int refs;
    int single;                     /* a non-cluster backend: all slots */
    int nmasters;
    topo_node_t *masters;           /* sorted by their first slot */
    int nreplicas;                  /* for PROXY / INFO only */
    int nreps;                      /* replicas reads may go to (online), */
    topo_node_t *reps;              /* grouped by master (read-from) */
    uint16_t owner[SLOT_COUNT];     /* index into masters, TOPO_NO_OWNER */
    const char *source;             /* "CLUSTER SHARDS", "CLUSTER SLOTS", "single" */
} topo_t;

/* ---- per-request state ---------------------------------------------- */

/* How the replies of a request's sub-requests become the client's reply. */
enum preq_kind {
    PK_FORWARD = 0, /* one sub-request, reply relayed as is */
    PK_LOCAL,       /* answered by the proxy */
    PK_MGET,        /* arrays merged back into key order */
    PK_ALLOK,       /* +OK if every part said OK (MSET, FLUSHALL) */
    PK_SUM,         /* integers added (DEL, EXISTS, DBSIZE ...) */
    PK_KEYS,        /* arrays concatenated */
    PK_SCAN,        /* one node's SCAN reply, cursor re-encoded */
    PK_RANDOMKEY,   /* a random non-nil bulk */
    PK_INFO,        /* proxy sections + summed keyspace */
    PK_PUBSUB,      /* PUBSUB CHANNELS / NUMSUB ...: pubsub_merge */
};

typedef struct breq breq_t;

/* One client request.  Lives in its client's FIFO until its reply has
 * been moved to the client's output buffer. */
typedef struct preq {
    struct preq *next;
    struct pclient *c;      /* NULL once the client is gone */
    int kind;
    int done;               /* reply complete (in `reply` or delivered) */
    int pending;            /* sub-requests still out */
    int nsub;
    int proto;              /* the client's protocol when it was sent */
    breq_t **subs;          /* merged kinds: every sub-request, in order */
    int nkeys;              /* split kinds: key i went to sub keymap[i] */
    int *keymap;
    int scan_node;          /* PK_SCAN: index of the master asked */
    int scan_nmasters;
    char *info_text;        /* PK_INFO: the proxy's own sections */
    buf_t reply;
} preq_t;

/* One request to one backend. */
struct breq {
    breq_t *next;           /* backend queue, or the free list */
    preq_t *parent;         /* NULL: reply is discarded (AUTH, ASKING) */
    int proto;              /* backend protocol wanted (2 or 3) */
    int redirects;
    int retries;
    int done;
    int slot;               /* key slot, -1 if none (retries re-route) */
    struct backend *be;     /* where it was last sent */
    long long sent_ms;      /* when queued on the current backend */
    long long deadline_ms;  /* retry budget end (TRYAGAIN) */
    long long wait_until_ms;/* failover-wait end, 0 until first parked */
    int parked;             /* on w's parked list (failover-wait) */
    int failing;            /* the reply is the proxy's final error: no
                             * redirect / retry handling */
    int read;               /* a read that read-from may send to a replica */
    int multislot;          /* keys of several slots for one node (per-node
                             * split): refused, it is split per slot */
    int probe;              /* TESSERA MULTISLOT ON of a new link (parent
                             * NULL): its reply sets be->multislot */
    long long wait_ms;      /* pinned links: how long the node may take;
                             * 0: backend-timeout, -1: no limit (BLPOP 0) */
    buf_t cmd;              /* the command, kept for MOVED/ASK resends */
    buf_t reply;            /* merged kinds: the reply, until merged */
    struct event *retry_ev; /* waiting to be retried (TRYAGAIN ...) */
    struct worker *w;
};

/* ---- connections ------------------------------------------------------ */

typedef struct backend {
    struct backend *next;       /* w->backends */
    struct backend *dirty_next;
    struct worker *w;
    char addr[PROXY_MAX_ADDR];
    char host[64];
    int port;
    int proto;                  /* 2 or 3: what replies this link carries */
    int fd;                     /* -1: not connected */
    int connecting;
    int dirty;
    int write_armed;
    struct event *rev, *wev;
    buf_t in, out;
    resp_scan_t scan;
    breq_t *head, *tail;        /* sent or queued, awaiting replies */
    int npending;
    long long connect_ms;
    long long down_until_ms;    /* lost or refused: requests park instead
                                 * of reconnecting until then */
    char down_why[128];
    int pinned;                 /* one client's own link (tx.c): not in
                                 * w->backends, never parked or redirected */
    int readonly;               /* a replica link: READONLY after connect */
    int multislot;              /* TESSERA MULTISLOT ON: 1 accepted (a
                                 * Tessera node), -1 refused (Redis), 0 not
                                 * answered yet (or not asked) */
    struct pclient *owner;      /* pinned: the client, NULL once retired */
    unsigned long long requests, errors;
    struct pslink *sub;         /* a client's pub/sub link (pubsub.c) */
} backend_t;

typedef struct pclient {
    struct pclient *prev, *next;    /* w->clients */
    struct pclient *dirty_next;
    struct worker *w;
    int fd;
    unsigned long long id;
    struct event *rev, *wev;
    buf_t in, out;
    resp_req_t req;
    preq_t *head, *tail;
    int npending;
    int proto;
    int authenticated;
    const struct acl_user *user;    /* auth.c: who the client is */
    int dirty, write_armed, reading, paused, resume;
    int close_after_reply;
    int close_asap;             /* output limit hit: close at next flush */
    char *name;
    char addr[PROXY_MAX_ADDR];
    char laddr[PROXY_MAX_ADDR];
    long long created_ms, last_ms;
    long long obuf_soft_since;
    int last_cmd;
    int nparked;                /* sub-requests waiting out a failover */
    long long parked_bytes;
    /* transactions (tx.c): a link of its own to one node */
    struct backend *pin;        /* NULL, or this client's dedicated link */
    struct backend *old_pins;   /* earlier links still owing replies */
    int pinned;                 /* pin in use: WATCH or MULTI with a node */
    int pin_slot;               /* the slot that chose the node, or -1 */
    int in_multi, multi_on_pin, watching, tx_dirty, watch_lost;
    struct psclient *ps;        /* pubsub.c: subscriptions, or NULL */
    buf_t tx_hold;              /* MULTI's keyless commands before a node
                                 * is chosen (already answered QUEUED) */
} pclient_t;

/* ---- worker and process ---------------------------------------------- */

typedef struct wstats {
    atomic_ullong commands, connections, errors, moved, ask, retries,
        backend_failures, obuf_closes, protocol_errors, parked,
        park_expired, park_replayed, pubsub_resubscribes, multislot_subs,
        multislot_resplits;
    atomic_ullong calls[CMD__COUNT];
} wstats_t;

/* Bump a worker counter.  Only the owning worker writes it, so a relaxed
 * load and store suffice (no locked read-modify-write on the hot path);
 * readers on other threads see a value at most a few increments old. */
static inline void wstat_inc(atomic_ullong *x)
{
    atomic_store_explicit(x, atomic_load_explicit(x, memory_order_relaxed) + 1,
                          memory_order_relaxed);
}

typedef struct worker {
    struct proxy *p;
    int idx;
    pthread_t tid;
    struct event_base *base;
    int nlisten;
    int lfd[PROXY_MAX_BIND];
    struct event *lev[PROXY_MAX_BIND];
    struct event *cron_ev, *wake_ev;
    volatile int stopping;      /* set by the wake event only */
    int wake_fd;
    topo_t *topo;
    unsigned long long topo_gen;
    unsigned long long pubsub_gen;  /* the map pubsub.c last checked */
    backend_t **by_node[2];     /* [proto-2][master index], lazily filled */
    backend_t **by_rep[2];      /* [proto-2][topo->reps index], lazily */
    unsigned rep_rr;            /* round robin over a master's replicas */
    int by_node_len;
    backend_t *backends;        /* published with release order: PROXY reads
                                 * the list from another thread */
    breq_t *retrying;           /* waiting for a retry timer */
    breq_t *parked_head, *parked_tail;  /* waiting out a failover, in the
                                         * order they were parked */
    int nparked;
    long long parked_bytes;
    long long last_unpark_ms;
    int *slot_group;            /* SLOT_COUNT entries, -1: scratch for
                                 * splitting multi-key commands */
    int *node_group;            /* node_group_len entries, -1: the same per
                                 * master (per-node split) */
    int node_group_len;
    pclient_t *clients;
    pclient_t *dirty_clients;
    backend_t *dirty_backends;
    int flush_pending;
    preq_t *free_preqs;
    breq_t *free_breqs;
    int nclients;
    long long now_ms;           /* monotonic ms, refreshed by the 100 ms cron:
                                 * timeouts need no more, and reading the
                                 * clock per request costs ~60 instructions */
    wstats_t st;
} worker_t;

/* One class of client-output-buffer-limit (0: no limit). */
enum { OBUF_NORMAL = 0, OBUF_PUBSUB, OBUF_CLASSES };
typedef struct obuf_limit {
    long long hard, soft, soft_secs;
} obuf_limit_t;

typedef struct proxy {
    /* options (options.c) */
    long long port;
    char *bind_str;
    long long threads;
    char *cluster_nodes;
    char *requirepass;
    char *backend_password;
    char *cluster_secret;           /* bus observer (busobs.c): HMAC key */
    int cluster_bus_insecure;
    int bus_observer;
    char *backend_user;             /* "" or NULL: AUTH <password> only */
    struct acl *acl;                /* auth.c: users (read-only once running) */
    long long timeout;              /* client idle, seconds, 0 = never */
    long long backend_timeout_ms;
    long long connect_timeout_ms;
    long long retry_budget_ms;
    long long failover_wait_ms;
    long long failover_wait_bytes;          /* per worker */
    long long failover_wait_client_bytes;   /* per client */
    long long refresh_interval_ms;
    long long maxclients;
    long long max_pipeline;
    long long busy_poll_us;         /* spin for input before sleeping */
    spin_gate_t spin_gate;          /* sampled by worker 0's cron */
    /* client-output-buffer-limit per class: a client with any
     * subscription is in the pubsub class, as in Redis */
    obuf_limit_t obuf[OBUF_CLASSES];
    int obuf_normal_limited;        /* the normal class has a limit */
    long long proto_max_bulk_len;
    long long tcp_backlog;
    long long tcp_keepalive;
    int protected_mode;
    int read_from;                  /* enum read_from (replica.c) */
    int multislot;                  /* split multi-key commands per node
                                     * on Tessera backends (route.c) */
    int daemonize;
    char *pidfile;
    char *logfile;
    int loglevel;
    config_t *config;

    /* runtime */
    struct event_base *base;        /* main thread: signals, refresh */
    struct event *refresh_ev, *refresh_timer, *sig_ev[2];
    int refresh_pipe[2];
    long long last_refresh_ms;
    pthread_mutex_t topo_lock;
    topo_t *topo;
    atomic_ullong topo_gen;
    atomic_ullong topo_refreshes, topo_failures;
    struct busobs *busobs;          /* main thread; NULL: not observing */
    char topo_error[256];
    worker_t *workers;
    int nworkers;
    atomic_llong nclients;
    atomic_ullong next_client_id;
    long long start_ms;
    char runid[41];
} proxy_t;

/* ---- clock ---- */
long long proxy_mono_ms(void);
long long proxy_unix_ms(void);

/* ---- socket I/O on the request path ----
 * read(2) and write(2) without glibc's wrappers: in a multi-threaded
 * process each of those turns asynchronous cancellation on and off around
 * the system call (~30 instructions, 4 calls per forwarded request).  No
 * proxy thread is ever cancelled.  Same results and errno as read/write. */
static inline ssize_t proxy_read(int fd, void *p, size_t n)
{
    return (ssize_t)syscall(SYS_read, fd, p, n);
}

static inline ssize_t proxy_write(int fd, const void *p, size_t n)
{
    return (ssize_t)syscall(SYS_write, fd, p, n);
}

/* ---- topo.c ---- */
/* Fetch the topology from the seeds and known masters, publish it.
 * 0 on success, -1 (p->topo_error says why). Main thread only. */
int topo_refresh(proxy_t *p);
void topo_release(topo_t *t);
/* A map from a parsed CLUSTER SHARDS / CLUSTER SLOTS reply (RESP2 or 3),
 * masters sorted by first slot; NULL if the reply is not a valid one.
 * Exposed for the unit tests; refcount 1, free with topo_release. */
topo_t *topo_from_shards(const resp_value_t *v);
topo_t *topo_from_slots(const resp_value_t *v);
/* Refresh from host:port first (the node that pushed a change over the
 * bus), the usual order if it fails.  Main thread only. */
int topo_refresh_from(proxy_t *p, const char *host, int port);
/* Ask the main thread for a refresh (any thread; coalesced). */
void topo_request_refresh(proxy_t *p);
/* Worker: pick up a newer map if there is one. */
void topo_sync_update(worker_t *w);
/* Runs at every callback, so the usual "nothing new" is one inlined
 * atomic load and compare. */
static inline void topo_sync(worker_t *w)
{
    if (atomic_load_explicit(&w->p->topo_gen, memory_order_acquire) !=
        w->topo_gen)
        topo_sync_update(w);
}
/* Text of the current map for PROXY / INFO (appends to b). */
void topo_describe(proxy_t *p, buf_t *b);

/* ---- worker.c ---- */
int worker_start_all(proxy_t *p);
void worker_stop_all(proxy_t *p);
/* Ask for a flush after the current pass of the loop (twice per
 * forwarded request: inline). */
static inline void worker_schedule_flush(worker_t *w)
{
    w->flush_pending = 1;
}
/* Make every worker pick up a new map now (main thread). */
void worker_wake_all(proxy_t *p);
preq_t *preq_alloc(worker_t *w, pclient_t *c, int kind);
void preq_free(worker_t *w, preq_t *q);
breq_t *breq_alloc(worker_t *w, preq_t *parent, int proto);
void breq_free(worker_t *w, breq_t *b);

/* ---- client.c ---- */
void client_create(worker_t *w, int fd, const char *addr, const char *laddr);
void client_free(pclient_t *c);
/* The reply of q is complete: move done head requests to c->out. */
void client_preq_done(preq_t *q);
void client_flush(pclient_t *c);
void client_maybe_resume(pclient_t *c);
void client_cron(worker_t *w);

/* ---- backend.c ---- */
/* The backend for master `idx` of w's map, created on first use. */
backend_t *backend_for_node(worker_t *w, int idx, int proto);
backend_t *backend_for_addr(worker_t *w, const char *addr, int proto);
/* The link to replica r (index in w->topo->reps), READONLY sent. */
backend_t *backend_for_replica(worker_t *w, int r, int proto);
/* A dedicated link for one client (not shared, not in w->backends). */
backend_t *backend_create_pinned(worker_t *w, const char *addr, int proto);
/* Queue b (its cmd already built) on be; the write happens at flush. */
void backend_send(backend_t *be, breq_t *b);
/* Append bytes to a pinned link's output with no reply expected in its
 * FIFO (pub/sub links match their replies themselves), connecting first
 * if needed; 0, or -1 if the connection can't be made. */
int backend_send_raw(backend_t *be, const char *p, size_t n);
void backend_flush(backend_t *be);
void backend_cron(worker_t *w);
/* A pinned link whose oldest request is past its wait (breq.wait_ms)
 * is closed, failing what waits on it with "timed out". */
void backend_check_pinned(backend_t *be, long long now_ms);
/* Close the link, failing what waits on it (shutdown). */
void backend_shutdown(backend_t *be);
/* Close the link because it misbehaved (why: "timed out" ...), failing
 * what waits on it; a pub/sub link re-subscribes (pubsub_link_lost). */
void backend_drop(backend_t *be, const char *why);
void backend_free(backend_t *be);
/* Fail b with an error text (without the leading '-'). */
void breq_fail(breq_t *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- route.c ---- */
/* Once at start-up, before the workers run. */
void route_init(void);
/* Handle one parsed request of c. raw/rawlen: its wire bytes (NULL for
 * inline commands). */
void route_request(pclient_t *c, int argc, resp_arg_t *argv,
                   const char *raw, size_t rawlen);
/* A reply the proxy builds itself, queued in c's order: begin gives a
 * builder writing into the new request, end marks it complete. */
struct reply;
preq_t *route_local_begin(pclient_t *c, struct reply *r);
void route_local_end(preq_t *q);
/* An error reply (text without '-') in c's order, counted in INFO. */
void route_local_error(pclient_t *c, const char *text);
/* Fail every request waiting for a retry (worker shutdown). */
void route_cancel_retries(worker_t *w);
/* b's node (be) is unreachable or the cluster is down: hold b until the
 * topology names a reachable owner, within failover-wait and the byte
 * limits; otherwise fail it with err (an error text without '-').
 * Takes b over; sub-requests without a parent are just freed. */
void route_park(breq_t *b, backend_t *be, const char *err);
/* Resend parked requests (all of them if `all`, else when the poll
 * interval has passed), failing those past failover-wait. */
void route_unpark(worker_t *w, int all);
/* Fail the parked requests of clients that went away. */
void route_drop_orphans(worker_t *w);
/* A sub-request's reply arrived (ptr, len: one complete RESP reply). */
void route_on_reply(breq_t *b, const char *ptr, size_t len);

/* Append a new request of `kind` to c's FIFO. */
preq_t *route_enqueue(pclient_t *c, int kind);
/* Owner (master index) of slot in w's map, or -1. */
int route_owner(worker_t *w, unsigned slot);

/* ---- replica.c ---- */
enum read_from { READ_MASTER = 0, READ_REPLICA, READ_PREFER_REPLICA };
extern const char *const read_from_names[];
/* Where a read for master idx's slot goes: a replica's link (round robin
 * over the reachable ones) or, with prefer-replica, the master's; NULL
 * if b was failed instead (read-from replica, no replica reachable). */
backend_t *replica_route(worker_t *w, breq_t *b, int idx);

/* ---- tx.c ---- */
/* Does tx_command take cmd from a client that is neither in MULTI nor
 * pinned (MULTI EXEC DISCARD WATCH UNWATCH, blocking commands)? */
int tx_takes(const cmd_spec_t *cmd);
/* MULTI/EXEC/DISCARD/WATCH/UNWATCH, and every command of a client in a
 * transaction or watching keys; 1 if handled. */
int tx_command(pclient_t *c, const cmd_spec_t *cmd, int argc,
               resp_arg_t *argv, const char *raw, size_t rawlen);
/* c is going away: close its links. */
void tx_client_free(pclient_t *c);
/* c's pinned link be was lost (backend.c). */
void tx_pin_lost(backend_t *be);
/* Time out c's pinned links (client cron). */
void tx_check_timeouts(pclient_t *c, long long now_ms);
/* RESET: end c's transaction and watch (the pin is told, silently). */
void tx_client_reset(pclient_t *c);

/* ---- pubsub.c ---- */
/* (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, RESET, and every command of a RESP2
 * subscriber (PING answered, others refused as Redis); 1 if handled. */
int pubsub_command(pclient_t *c, const cmd_spec_t *cmd, int argc,
                   resp_arg_t *argv);
/* c is going away: close its pub/sub links, drop what they owe it. */
void pubsub_client_free(pclient_t *c);
/* 1 if c has any channel, pattern or shard channel (Redis's pubsub
 * client class; only called when c->ps is set). */
int pubsub_subscribed(const pclient_t *c);
/* CLIENT INFO's sub= psub= ssub= counts. */
void pubsub_describe(pclient_t *c, int *sub, int *psub, int *ssub);
/* route.c: the replies of PUBSUB CHANNELS, SHARDCHANNELS (union),
 * NUMSUB, SHARDNUMSUB (summed per channel) from every master, into
 * q->reply. */
void pubsub_merge(preq_t *q);
/* Cron: after a new map, shard channels whose slot moved follow it. */
void pubsub_cron(worker_t *w);
/* backend-timeout on c's pub/sub links (client cron, c->ps set): a link
 * idle for backend-timeout is sent a PING; one whose oldest batch has
 * waited longer than that with nothing read meanwhile (a node that hangs)
 * is dropped and its subscriptions made again, as for a lost link. */
void pubsub_check_links(pclient_t *c, long long now_ms);
/* backend.c: a frame (ptr, len: one complete RESP value) read on a
 * pub/sub link; -1 if the link must be dropped. */
int pubsub_on_frame(struct pslink *l, const char *ptr, size_t len);
/* backend.c: the link's connection is gone; its subscriptions are made
 * again elsewhere (never frees l->be: backend.c is still using it). */
void pubsub_link_lost(struct pslink *l);

/* ---- local.c ---- */
/* Is cmd one of the commands the proxy answers itself? */
int local_answers(const cmd_spec_t *cmd);
/* Commands the proxy answers itself; 1 if handled. */
int local_command(pclient_t *c, const cmd_spec_t *cmd, int argc,
                  resp_arg_t *argv);
/* The proxy's own INFO sections (appends to b). */
void local_info_text(proxy_t *p, buf_t *b, int argc, resp_arg_t *argv,
                     int *want_keyspace);
void local_proxy_status(proxy_t *p, buf_t *b);

/* ---- acl.c ---- */
/* ACL and its subcommands (cmd: the subcommand), answered into r. */
void acl_command(pclient_t *c, const cmd_spec_t *cmd, int argc,
                 resp_arg_t *argv, struct reply *r);

/* ---- options.c ---- */
config_opt_t *options_for_proxy(proxy_t *p, size_t *n);

#endif
