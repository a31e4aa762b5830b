/*
 * cluster_int.h: the cluster module's own state, shared by its files
 * (cluster.c: nodes, slots, epochs, nodes.conf, redirections; bus.c:
 * links, frames, HMAC; gossip.c: message handling, failure detection,
 * cron; cmd_cluster.c: the CLUSTER commands).  Nothing outside
 * node/cluster/ includes it.
 *
 * Times: every timeout runs on the monotonic clock (ms, cl_now()).  Redis
 * shows ping-sent / pong-recv in CLUSTER NODES as Unix ms; cl_to_unix()
 * converts for display only.
 */
#ifndef TS_CLUSTER_INT_H
#define TS_CLUSTER_INT_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "cluster.h"
#include "node.h"
#include "slot.h"

struct event;
struct bufferevent;

#define CN_NAMELEN 40
#define CN_IPLEN 46
#define CN_HOSTLEN 256

/* Node flags: bit values as Redis's CLUSTER_NODE_* (they travel in
 * Header.flags and Gossip.flags). */
#define CN_MASTER     (1u << 0)
#define CN_SLAVE      (1u << 1)
#define CN_PFAIL      (1u << 2)
#define CN_FAIL       (1u << 3)
#define CN_MYSELF     (1u << 4)
#define CN_HANDSHAKE  (1u << 5)
#define CN_NOADDR     (1u << 6)
#define CN_MEET       (1u << 7)
#define CN_MIGRATE_TO (1u << 8)
#define CN_NOFAILOVER (1u << 9)
/* Header.flags of an observer's OBSERVE (never a node's flag) */
#define CN_OBSERVER   (1u << 10)

/* Message types: the values of tessera.bus.Type. */
enum {
    CLMSG_PING = 1, CLMSG_PONG, CLMSG_MEET, CLMSG_FAIL, CLMSG_PUBLISH,
    CLMSG_AUTH_REQUEST, CLMSG_AUTH_ACK, CLMSG_UPDATE, CLMSG_MFSTART,
    CLMSG_COUNT
};

#define BUS_VERSION 1
/* Header.revision: 2 = observers (OBSERVE / TOPOLOGY, observer.c).  Not
 * in the enum above: they are not counted in CLUSTER INFO's per-type
 * statistics, which list Redis's message types. */
#define BUS_REVISION 2
#define CLMSG_OBSERVE 10
#define CLMSG_TOPOLOGY 11
#define BUS_HMAC_LEN 32
#define BUS_MAX_FRAME (8u * 1024 * 1024)   /* protobuf bytes per frame */
#define CLUSTER_FAIL_REPORT_VALIDITY_MULT 2
#define CLUSTER_FAIL_UNDO_TIME_MULT 2
#define CLUSTER_BLACKLIST_TTL 60000        /* FORGET: ms */

enum { CLUSTER_OK = 0, CLUSTER_FAIL = 1 };

/* cluster->todo: work deferred to the end of the event-loop round. */
#define CL_TODO_SAVE         (1u << 0)
#define CL_TODO_UPDATE_STATE (1u << 1)
/* Save without fsync (Redis 7.0 fsyncs nodes.conf only for epochs and
 * votes; slot edits by CLUSTER commands are re-learned from peers).  The
 * file is still replaced atomically by rename. */
#define CL_TODO_SAVE_NOFSYNC (1u << 2)

typedef struct cnode cnode_t;
typedef struct clink clink_t;

typedef struct fail_report {
    cnode_t *node;          /* the master that reported */
    long long time;         /* when (mono ms) */
} fail_report_t;

struct cnode {
    char name[CN_NAMELEN + 1];
    char shard_id[CN_NAMELEN + 1];  /* CLUSTER MYSHARDID; "" if unknown */
    unsigned flags;
    uint64_t config_epoch;
    uint8_t slots[SLOT_COUNT / 8];
    int numslots;
    cnode_t *master;            /* replicas: their master (may be NULL) */
    cnode_t **replicas;
    int nreplicas;
    long long ctime;            /* mono ms created (handshake timeout) */
    long long ping_sent;        /* mono ms of the unanswered PING, 0: none */
    long long pong_received;    /* mono ms of the last PONG */
    long long data_received;    /* mono ms of the last frame of any kind */
    long long fail_time;        /* mono ms when FAIL was set */
    long long voted_time;       /* mono ms we last voted for its replica */
    long long orphaned_time;    /* mono ms it became an orphaned master */
    long long resolve_next;     /* mono ms its hostname may be resolved */
    int resolving;              /* a resolution is in flight (resolve.c) */
    long long repl_offset;
    char ip[CN_IPLEN];
    int port, cport;
    char hostname[CN_HOSTLEN];
    clink_t *link;              /* outbound: we ping over it */
    clink_t *inbound_link;      /* the peer's link to us */
    fail_report_t *reports;
    int nreports;
};

struct clink {
    cluster_t *cl;
    struct bufferevent *bev;
    cnode_t *node;              /* NULL for an inbound link not yet known */
    int inbound;
    int connected;
    long long ctime;            /* Unix ms (CLUSTER LINKS create-time) */
    char peer[CN_IPLEN];        /* peer address of the socket */
    int observer;               /* an observer's link (observer.c) */
    long long obs_seen;         /* mono ms of its last OBSERVE */
    clink_t *prev, *next;       /* cluster->links */
};

struct cluster {
    node_t *n;
    cnode_t *myself;
    uint64_t current_epoch;
    uint64_t last_vote_epoch;
    int state;                  /* CLUSTER_OK / CLUSTER_FAIL */
    int size;                   /* masters serving at least one slot */
    cnode_t **nodes;
    int nnodes, cap;
    cnode_t *slots[SLOT_COUNT];
    cnode_t *migrating[SLOT_COUNT];
    cnode_t *importing[SLOT_COUNT];
    struct blacklisted { char name[CN_NAMELEN + 1]; long long until; } *black;
    int nblack;
    char *config_path;          /* absolute */
    int lock_fd;
    /* bus */
    int listen_fds[2];
    struct event *listen_evs[2];
    int nlisten;
    clink_t *links;
    struct event *cron_ev;
    struct event *todo_ev;
    unsigned todo;
    long long cron_iter;
    long long among_minority_time;
    long long state_changed;    /* mono ms of the last state change */
    /* automatic failover, replica side (failover.c) */
    long long failover_auth_time;   /* mono ms the election may start, 0 */
    int failover_auth_sent;
    int failover_auth_count;        /* votes received */
    uint64_t failover_auth_epoch;
    int spread_pfail;               /* cron: a peer just became PFAIL */
    /* manual failover (CLUSTER FAILOVER), both sides (failover.c) */
    long long mf_end;               /* mono ms deadline, 0: none running */
    int mf_can_start;               /* replica: the election may begin */
    long long mf_master_offset;     /* replica: paused master's offset, -1 */
    cnode_t *mf_replica;            /* master: the replica taking over */
    long long mf_pause_end;         /* master: the write pause we set */
    /* statistics (CLUSTER INFO) */
    long long sent[CLMSG_COUNT], received[CLMSG_COUNT];
    long long dropped, auth_failed;
    long long links_limit_exceeded; /* cluster-link-sendbuf-limit closes */
    long long pfail_nodes;
    unsigned char secret[64];   /* HMAC key (SHA-256 of cluster-secret) */
    uint8_t *pack;              /* reused buffer for packing messages */
    size_t packcap;
    long long last_drop_log;    /* mono ms: drops are logged once a second */
    uint64_t obs_fp;            /* topology fingerprint observers have */
    long long obs_pushes;       /* TOPOLOGY frames pushed on changes */
    struct resolver *resolver;  /* resolve.c, started on first use */
};

/* ---- cluster.c ---- */
long long cl_now(void);                     /* monotonic ms */
long long cl_to_unix(long long mono_ms);    /* 0 stays 0 */
cnode_t *cl_node_create(cluster_t *cl, const char *name, unsigned flags);
void cl_node_delete(cluster_t *cl, cnode_t *node);
cnode_t *cl_lookup(cluster_t *cl, const char *name, size_t len);
void cl_random_name(char out[CN_NAMELEN + 1]);
int cl_node_rename(cluster_t *cl, cnode_t *node, const char *name);
int cl_slot_owned(const cnode_t *node, int slot);
int cl_add_slot(cluster_t *cl, cnode_t *node, int slot);
int cl_del_slot(cluster_t *cl, int slot);
void cl_del_node_slots(cluster_t *cl, cnode_t *node);
void cl_set_master(cluster_t *cl, cnode_t *replica, cnode_t *master);
void cl_remove_replica(cnode_t *master, cnode_t *replica);
/* A replica (not myself) now announces itself as a master: flags, and
 * CN_MIGRATE_TO as Redis's clusterSetNodeAsMaster (a promoted replica's
 * master had replicas, so replicas may migrate to it). */
void cl_node_become_master(cluster_t *cl, cnode_t *node);
/* Replicas of master that are not FAIL (clusterCountNonFailingSlaves). */
int cl_ok_replicas(const cnode_t *master);
int cl_node_is_master(const cnode_t *node);
uint64_t cl_node_epoch(const cnode_t *node);
uint64_t cl_max_epoch(const cluster_t *cl);
void cl_todo(cluster_t *cl, unsigned what);
int cl_save_config(cluster_t *cl);
int cl_save_config_sync(cluster_t *cl, int do_fsync);
void cl_update_state(cluster_t *cl);
void cl_blacklist_add(cluster_t *cl, const char *name);
int cl_blacklisted(cluster_t *cl, const char *name);
/* "127.0.0.1:7000@17000,host" etc. for CLUSTER NODES / nodes.conf. */
void cl_node_description(cluster_t *cl, const cnode_t *node, buf_t *out,
                         int for_file);
void cl_nodes_description(cluster_t *cl, buf_t *out, int for_file);
const char *cl_node_flags_str(const cnode_t *node, char *out, size_t sz);
/* The address clients are given for node (MOVED/ASK, CLUSTER SLOTS,
 * SHARDS "endpoint"), by cluster-preferred-endpoint-type as Redis 7.0's
 * getPreferredEndpoint: the ip, the hostname ("?" if it has none), or ""
 * for unknown-endpoint. */
const char *cl_endpoint(const cluster_t *cl, const cnode_t *node);
/* Announced client port / bus port of myself. */
int cl_my_port(const cluster_t *cl);
int cl_my_cport(const cluster_t *cl);
int cl_reset(cluster_t *cl, int hard);
/* Become a replica of master (CLUSTER REPLICATE): flags, open slots
 * closed, replication started (node/repl). */
void cl_set_my_master(cluster_t *cl, cnode_t *master);
int cl_bump_epoch(cluster_t *cl);   /* 1 if the config epoch changed */

/* ---- bus.c ---- */
int bus_listen(cluster_t *cl);
void bus_close_all(cluster_t *cl);
int bus_connect(cluster_t *cl, cnode_t *node);
void bus_link_free(clink_t *link);
void bus_derive_key(cluster_t *cl, const char *secret);
/* Frame a message (length, protobuf, HMAC) in cl's reusable buffer; the
 * frame is valid until the next call.  *len: frame bytes. */
struct Tessera__Bus__Message;
struct Tessera__Bus__Header;
const uint8_t *bus_pack(cluster_t *cl, const struct Tessera__Bus__Message *m,
                        size_t *len);
/* Queue a frame from bus_pack on link (one pack, many sends). */
void bus_send_frame(clink_t *link, const uint8_t *frame, size_t len);
size_t bus_link_queued(const clink_t *link);
/* Bytes a link holds: its struct and both buffers (mem_cluster_links). */
size_t bus_link_memory(const clink_t *link);
/* Frame / check a frame (exposed for the tests and the fuzzer). */
void bus_hmac(const unsigned char key[64], const uint8_t *frame, size_t len,
              uint8_t out[BUS_HMAC_LEN]);
/*
 * Decode one frame at p (avail bytes): returns the bytes consumed (> 0)
 * with *msg set (NULL if the frame was dropped: bad HMAC, unparsable,
 * wrong version; *why says which), 0 if more bytes are needed, -1 if the
 * stream is unusable (length over BUS_MAX_FRAME): close the link.
 */
struct Tessera__Bus__Message;
long bus_decode(const unsigned char key[64], const uint8_t *p, size_t avail,
                struct Tessera__Bus__Message **msg, const char **why);
void bus_free_message(struct Tessera__Bus__Message *msg);

/* ---- gossip.c ---- */
void gossip_process(clink_t *link, struct Tessera__Bus__Message *msg);
void gossip_send_ping(cluster_t *cl, clink_t *link, int type);
void gossip_send_fail(cluster_t *cl, const char *name);
void gossip_send_update(cluster_t *cl, clink_t *link, cnode_t *node);
void gossip_send_publish(cluster_t *cl, const resp_arg_t *ch,
                         const resp_arg_t *msg);
void gossip_broadcast_pong(cluster_t *cl);
void gossip_cron(cluster_t *cl);
int gossip_failure_reports(cluster_t *cl, cnode_t *node);
void gossip_link_closed(clink_t *link);
void gossip_drop(cluster_t *cl, const char *peer, const char *why);
/* ---- failover.c ---- */
void failover_cron(cluster_t *cl);
/* Replica migration (cluster-migration-barrier,
 * cluster-allow-replica-migration): called by the cron on a replica. */
void failover_migration_cron(cluster_t *cl);
#define REPLICA_MIGRATION_DELAY 5000  /* ms orphaned before one migrates */
/* CLUSTER FAILOVER FORCE: elect now, masters vote although our master
 * is not FAIL.  TAKEOVER: take the slots under a new epoch, no vote. */
void failover_force(cluster_t *cl);
void failover_takeover(cluster_t *cl);
/* CLUSTER FAILOVER (default): MFSTART to our master, which pauses writes
 * and sends its offset (MF_PAUSED); once we processed it, FORCE's
 * election.  The master's link must be up. */
void failover_manual(cluster_t *cl);
/* A replica of ours sent MFSTART: pause writes, report our offset. */
void failover_handle_mfstart(cluster_t *cl, cnode_t *sender);
/* Every header: the replica notes its paused master's offset. */
void failover_note_header(cluster_t *cl, cnode_t *sender,
                          const struct Tessera__Bus__Header *h);
#define MF_FORCEACK 1u          /* Header.mflags: vote even if not FAIL */
#define MF_PAUSED 2u            /* Header.mflags: master paused for an MF */
#define MF_TIMEOUT 5000         /* ms a manual failover may take */
void failover_handle_request(cluster_t *cl, cnode_t *sender, clink_t *link,
                             const struct Tessera__Bus__Message *m);
void failover_handle_ack(cluster_t *cl, cnode_t *sender,
                         const struct Tessera__Bus__Message *m);
void gossip_send_empty(cluster_t *cl, clink_t *link, int type);
void gossip_broadcast_empty(cluster_t *cl, int type);
/* A node became PFAIL: tell the masters now, so failure reports spread
 * in one round trip instead of the next scheduled pings. */
void gossip_spread_pfail(cluster_t *cl);

/* ---- observer.c ---- */
/* An OBSERVE frame on link (already authenticated): mark the link an
 * observer's, answer with TOPOLOGY. */
void observer_process(clink_t *link,
                      const struct Tessera__Bus__Message *m);
/* End of every state update: close silent observer links, push TOPOLOGY
 * to the others if the topology changed since the last push. */
void observer_check(cluster_t *cl);

/* ---- resolve.c ---- */
/* Cron, per peer: while the link to a node that announces a hostname is
 * down, re-resolve the name (off the loop, at most once a second); a new
 * address replaces node->ip and the link is reopened there. */
void resolve_cron_node(cluster_t *cl, cnode_t *node, long long now);
void resolve_stop(cluster_t *cl);   /* joins the resolver thread */

/* Start meeting ip:port (CLUSTER MEET, gossip): 0, or -1 if invalid. */
int gossip_start_handshake(cluster_t *cl, const char *ip, int port,
                           int cport);

#endif
