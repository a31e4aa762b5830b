/*
 * node.h: the storage node's context, node_t.
 *
 * One node_t per process, created in main.c and passed down to every
 * module and command handler (no global server struct).  It holds the
 * configuration values (fields written by the option table in options.c,
 * read directly by hot code), the keyspace, the clients, the listeners and
 * the statistics.
 */
#ifndef TS_NODE_H
#define TS_NODE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cmdtab.h"
#include "config.h"
#include "keyspace.h"
#include "resp.h"
#include "spin.h"

struct event_base;
struct event;
typedef struct client client_t;
typedef struct slowlog slowlog_t;
typedef struct block_state block_state_t;
typedef struct evict evict_t;
typedef struct pubsub pubsub_t;

#define NODE_MAX_BIND 16
#define NODE_MAX_SAVE_POINTS 16
#define NODE_VERSION "7.0.15"       /* Redis version we are compatible with */
#define TESSERA_VERSION "0.1.0"

enum { OBUF_NORMAL = 0, OBUF_REPLICA, OBUF_PUBSUB, OBUF_CLASSES };
enum { DEBUG_CMD_NO = 0, DEBUG_CMD_YES, DEBUG_CMD_LOCAL };

typedef struct obuf_limit {
    long long hard, soft, soft_seconds;
} obuf_limit_t;

/* Per-command runtime counters (INFO commandstats), indexed by cmd id. */
typedef struct cmd_stats {
    long long calls, usec, rejected, failed;
} cmd_stats_t;

typedef struct node_stats {
    long long conns_received;
    long long commands;
    long long rejected_conns;
    long long expired_keys;
    long long evicted_keys;
    long long hits, misses;
    long long net_input, net_output;
    long long total_error_replies;
    long long unexpected_error_replies;
    long long io_reads, io_writes;
    long long sync_full, sync_partial_ok, sync_partial_err; /* node/repl */
    /* instantaneous ops: ring of samples taken by the cron */
    long long ops_samples[16];
    long long ops_last_count, ops_last_ms;
    int ops_idx;
} node_stats_t;

typedef struct node {
    /* ---- configuration (options.c table writes these) ---- */
    long long port;
    char *bind_str;             /* "127.0.0.1 ::1" as given */
    int protected_mode;
    char *requirepass;
    long long maxclients;
    long long timeout;          /* idle seconds before closing, 0 = never */
    long long tcp_keepalive;
    long long tcp_backlog;
    int loglevel;
    char *logfile;
    char *dir;
    int daemonize;
    char *pidfile;
    long long proto_max_bulk_len;
    long long client_query_buffer_limit;
    obuf_limit_t obuf_limits[OBUF_CLASSES];
    long long hz;
    long long busy_poll_us;     /* spin this long for more input before sleeping */
    long long busy_poll_last_reads; /* stats.io_reads when the last spin ended */
    spin_gate_t spin_gate;      /* closed while the machine has no CPU to spare */
    long long spin_sample_ms;   /* when the gate last sampled */
    int enable_debug_cmd;
    long long slowlog_slower_than;
    long long slowlog_max_len;
    long long maxmemory;
    int maxmemory_policy;       /* enum evict_policy (evict.h) */
    long long maxmemory_samples;
    long long maxmemory_eviction_tenacity;
    long long lfu_log_factor;
    long long lfu_decay_time;
    long long databases;
    int appendonly;
    /* AOF (node/persist/aof.c) */
    int appendfsync;            /* enum aof_fsync (aof.h) */
    char *appendfilename;
    char *appenddirname;
    int aof_use_rdb_preamble;
    int aof_load_truncated;
    int no_appendfsync_on_rewrite;
    int aof_rewrite_incremental_fsync;
    int aof_timestamp_enabled;          /* only 0 */
    long long auto_aof_rewrite_perc;
    long long auto_aof_rewrite_min_size;
    /* RDB snapshots (node/persist/rdb.c) */
    char *dbfilename;
    int rdbcompression;
    long long rdb_key_save_delay;       /* usec per key; -N: 1 us, p=1/N */
    int rdbchecksum;
    int stop_writes_on_bgsave_err;
    struct save_point {
        long long seconds, changes;
    } save_points[NODE_MAX_SAVE_POINTS];
    int nsave_points;
    int cluster_enabled;
    char *cluster_config_file;           /* node/cluster/: nodes.conf */
    long long cluster_port;              /* bus port, 0: port + 10000 */
    long long cluster_node_timeout;      /* ms */
    char *cluster_announce_ip;
    long long cluster_announce_port;
    long long cluster_announce_bus_port;
    char *cluster_announce_hostname;
    int cluster_require_full_coverage;
    int cluster_allow_reads_when_down;
    char *cluster_secret;                /* HMAC key of the bus */
    int cluster_bus_insecure;            /* allow cluster mode without one */
    long long cluster_migration_barrier; /* replicas a master keeps */
    int cluster_allow_replica_migration;
    int cluster_preferred_endpoint_type; /* CL_ENDPOINT_* (cluster.h) */
    long long cluster_link_sendbuf_limit; /* bytes per bus link, 0: none */
    int active_expire_enabled; /* DEBUG SET-ACTIVE-EXPIRE */
    long long hash_max_listpack_entries; /* t_hash.c conversion thresholds */
    long long hash_max_listpack_value;
    long long zset_max_listpack_entries; /* t_zset.c conversion thresholds */
    long long zset_max_listpack_value;
    long long list_max_listpack_size;    /* t_list.c: quicklist node fill */
    long long set_max_intset_entries;    /* t_set.c: intset -> hashtable */
    long long hll_sparse_max_bytes;      /* t_hll.c: sparse -> dense */
    long long list_compress_depth;       /* only 0 (no compression) */
    int notify_flags;           /* notify-keyspace-events (notify.h) */
    /* replication (node/repl) */
    char *masterauth;
    char *masteruser;
    int repl_read_only;                  /* replica-read-only */
    int repl_serve_stale;                /* replica-serve-stale-data */
    int repl_diskless_sync;
    long long repl_diskless_sync_delay;  /* seconds */
    long long repl_diskless_sync_max;    /* start at once with this many */
    long long repl_backlog_size;
    long long repl_backlog_ttl;          /* seconds */
    long long repl_ping_period;          /* repl-ping-replica-period, s */
    long long repl_timeout;              /* seconds */
    long long repl_min_to_write;         /* min-replicas-to-write */
    long long repl_min_max_lag;          /* min-replicas-max-lag, s */
    long long repl_min_ack;              /* min-replicas-ack: durable writes */
    long long repl_priority;             /* replica-priority */
    int repl_announced;                  /* replica-announced */
    char *repl_announce_ip;
    long long repl_announce_port;

    /* ---- runtime ---- */
    config_t *config;
    struct event_base *base;
    keyspace_t *ks;
    int listen_fds[NODE_MAX_BIND];
    struct event *listen_evs[NODE_MAX_BIND];
    int nlisten;
    struct event *cron_ev;
    struct event *sig_evs[3];
    client_t *clients;          /* doubly linked list of all clients */
    size_t nclients;
    uint64_t next_client_id;
    client_t *monitors;         /* clients in MONITOR mode (own list) */
    client_t *pending_writes;   /* clients with replies to write this loop */
    block_state_t *blocking;    /* clients waiting for keys (blocking.c) */
    long long blocked_clients;
    int block_ready;            /* keys were signalled: serve after the command */
    size_t nmonitors;
    slowlog_t *slowlog;
    evict_t *evict;             /* eviction pool and timer (evict.c) */
    pubsub_t *pubsub;           /* channels and patterns (pubsub.c), or NULL */
    node_stats_t stats;
    cmd_stats_t cmd_stats[CMD__COUNT];
    /* rename-command: NULL = not renamed, "" = disabled, else new name */
    char *renamed[CMD__COUNT];
    long long start_ms;         /* unix ms at start */
    long long lastsave;         /* unix seconds */
    long long dirty;            /* changes since last save */
    char runid[41];
    long long pause_end_ms;     /* CLIENT PAUSE deadline (0 = none) */
    int pause_writes_only;      /* CLIENT PAUSE WRITE */
    int shutdown_asap;          /* set by SHUTDOWN / signal */
    int exit_code;
    char *executable;           /* argv[0] resolved */
    char *config_file;          /* absolute path or NULL */
    long long cron_loops;
    long long clock_sec;        /* second of the keyspace's LRU stamp */
    struct dict *watched_keys;  /* multi.c: key -> watchers; NULL if none */
    struct rdb_state *rdb;      /* persist/rdb.c: BGSAVE child, stats */
    struct childinfo *childinfo; /* persist/childinfo.c: fork CoW reports */
    struct cluster *cluster;    /* node/cluster/: NULL unless cluster mode */
    struct propagate *prop;     /* propagate.c: NULL when nothing listens */
    struct migrate *migrate;    /* cluster/migrate.c: MIGRATE's connections */
    struct aof *aof;            /* persist/aof.c */
    int aof_live;               /* aof.c: appending (state not OFF); the hot-path gate */
    struct repl *repl;          /* node/repl: ids, backlog, replicas, link */
    client_t *master_client;    /* replica: the link to our master */
    int replica_mode;           /* following a master (REPLICAOF) */
} node_t;

/* Wall clock in ms / us, monotonic clock in us. */
long long node_unix_ms(void);
long long node_unix_us(void);
long long node_mono_us(void);

#endif
