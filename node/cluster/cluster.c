/*
 * cluster.c: the cluster's state -- nodes, slot owners, epochs -- its file
 * (nodes.conf), the cluster state (ok/fail) and client redirections.
 *
 * The state file is Redis 7.0's nodes.conf: one CLUSTER NODES line per
 * node (myself with its open slots as [slot->-id] / [slot-<-id]) and a
 * last line `vars currentEpoch N lastVoteEpoch N`.  It is written whole
 * to a temporary file, fsynced and renamed over the old one, so a crash
 * leaves either the old or the new state.  A lock (flock on
 * <file>.lock) keeps two nodes from sharing one file, as Redis.
 *
 * Nodes live in a small array (clusters have tens of nodes; lookups by
 * name are linear); the slot -> owner map is a flat array, which is what
 * the per-command redirection check reads.
 */
#include "cluster_int.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "client.h"
#include "keyspace.h"
#include "log.h"
#include "multi.h"
#include "proc.h"
#include "repl/repl.h"

long long cl_now(void)
{
    return node_mono_us() / 1000;
}

long long cl_to_unix(long long mono_ms)
{
    if (mono_ms == 0) return 0;
    return node_unix_ms() - (cl_now() - mono_ms);
}

void cl_random_name(char out[CN_NAMELEN + 1])
{
    ts_random_hex(out, CN_NAMELEN);
}

static int valid_name(const char *s, size_t len)
{
    if (len != CN_NAMELEN) return 0;
    for (size_t i = 0; i < len; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return 0;
    return 1;
}

/* ---- nodes ------------------------------------------------------------ */

cnode_t *cl_node_create(cluster_t *cl, const char *name, unsigned flags)
{
    cnode_t *node = ts_calloc(1, sizeof(*node));
    if (name) {
        memcpy(node->name, name, CN_NAMELEN);
        node->name[CN_NAMELEN] = '\0';
    } else {
        cl_random_name(node->name);
    }
    node->flags = flags;
    node->ctime = cl_now();
    if (cl->nnodes == cl->cap) {
        cl->cap = cl->cap ? cl->cap * 2 : 16;
        cl->nodes = ts_realloc(cl->nodes, (size_t)cl->cap * sizeof(*cl->nodes));
    }
    cl->nodes[cl->nnodes++] = node;
    return node;
}

cnode_t *cl_lookup(cluster_t *cl, const char *name, size_t len)
{
    if (len != CN_NAMELEN) return NULL;
    for (int i = 0; i < cl->nnodes; i++)
        if (memcmp(cl->nodes[i]->name, name, CN_NAMELEN) == 0)
            return cl->nodes[i];
    return NULL;
}

int cl_node_rename(cluster_t *cl, cnode_t *node, const char *name)
{
    if (!valid_name(name, strlen(name)) || cl_lookup(cl, name, CN_NAMELEN))
        return -1;
    memcpy(node->name, name, CN_NAMELEN + 1);
    return 0;
}

void cl_remove_replica(cnode_t *master, cnode_t *replica)
{
    for (int i = 0; i < master->nreplicas; i++) {
        if (master->replicas[i] != replica) continue;
        master->replicas[i] = master->replicas[--master->nreplicas];
        return;
    }
}

void cl_set_master(cluster_t *cl, cnode_t *replica, cnode_t *master)
{
    if (replica->master == master) return;
    if (replica->master) cl_remove_replica(replica->master, replica);
    replica->master = master;
    if (!master) return;
    /* a replica serves its master's shard (gossip.c update_shard_id) */
    if (replica == cl->myself && master->shard_id[0])
        memcpy(replica->shard_id, master->shard_id, CN_NAMELEN + 1);
    master->replicas = ts_realloc(master->replicas,
                                  (size_t)(master->nreplicas + 1) *
                                      sizeof(cnode_t *));
    master->replicas[master->nreplicas++] = replica;
    /* a master that had a replica is worth migrating to (Redis's
     * CLUSTER_NODE_MIGRATE_TO, set in clusterNodeAddSlave) */
    master->flags |= CN_MIGRATE_TO;
}

void cl_node_become_master(cluster_t *cl, cnode_t *node)
{
    if (node->flags & CN_SLAVE) {
        if (node->master && node != cl->myself) node->flags |= CN_MIGRATE_TO;
        cl_set_master(cl, node, NULL);
    }
    node->flags = (node->flags & ~CN_SLAVE) | CN_MASTER;
}

int cl_ok_replicas(const cnode_t *master)
{
    int ok = 0;
    for (int i = 0; i < master->nreplicas; i++)
        if (!(master->replicas[i]->flags & CN_FAIL)) ok++;
    return ok;
}

/* Forget a node: its slots, its reports about others, its links. */
void cl_node_delete(cluster_t *cl, cnode_t *node)
{
    for (int s = 0; s < SLOT_COUNT; s++) {
        if (cl->slots[s] == node) cl_del_slot(cl, s);
        if (cl->importing[s] == node) cl->importing[s] = NULL;
        if (cl->migrating[s] == node) cl->migrating[s] = NULL;
    }
    for (int i = 0; i < cl->nnodes; i++) {
        cnode_t *o = cl->nodes[i];
        for (int j = 0; j < o->nreports; j++)
            if (o->reports[j].node == node)
                o->reports[j--] = o->reports[--o->nreports];
        if (o->master == node) o->master = NULL;
    }
    if (node->master) cl_remove_replica(node->master, node);
    if (cl->mf_replica == node)
        cl->mf_replica = NULL;  /* its manual failover ends next cron */
    if (node->link) bus_link_free(node->link);
    if (node->inbound_link) {
        node->inbound_link->node = NULL;
        bus_link_free(node->inbound_link);
    }
    for (int i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i] == node) {
            cl->nodes[i] = cl->nodes[--cl->nnodes];
            break;
        }
    ts_free(node->replicas);
    ts_free(node->reports);
    ts_free(node);
}

int cl_node_is_master(const cnode_t *node)
{
    return (node->flags & CN_MASTER) != 0;
}

uint64_t cl_node_epoch(const cnode_t *node)
{
    if ((node->flags & CN_SLAVE) && node->master)
        return node->master->config_epoch;
    return node->config_epoch;
}

uint64_t cl_max_epoch(const cluster_t *cl)
{
    uint64_t max = cl->current_epoch;
    for (int i = 0; i < cl->nnodes; i++)
        if (cl->nodes[i]->config_epoch > max)
            max = cl->nodes[i]->config_epoch;
    return max;
}

/* ---- slots ------------------------------------------------------------ */

int cl_slot_owned(const cnode_t *node, int slot)
{
    return (node->slots[slot >> 3] >> (slot & 7)) & 1;
}

int cl_add_slot(cluster_t *cl, cnode_t *node, int slot)
{
    if (cl->slots[slot]) return -1;
    node->slots[slot >> 3] |= (uint8_t)(1u << (slot & 7));
    node->numslots++;
    cl->slots[slot] = node;
    return 0;
}

int cl_del_slot(cluster_t *cl, int slot)
{
    cnode_t *node = cl->slots[slot];
    if (!node) return -1;
    node->slots[slot >> 3] &= (uint8_t)~(1u << (slot & 7));
    node->numslots--;
    cl->slots[slot] = NULL;
    return 0;
}

void cl_del_node_slots(cluster_t *cl, cnode_t *node)
{
    for (int s = 0; s < SLOT_COUNT && node->numslots; s++)
        if (cl->slots[s] == node) cl_del_slot(cl, s);
}

/* ---- deferred work ------------------------------------------------------ */

static void on_todo(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    cluster_t *cl = arg;
    unsigned todo = cl->todo;
    cl->todo = 0;
    if (todo & CL_TODO_UPDATE_STATE) cl_update_state(cl);
    if (todo & CL_TODO_SAVE) cl_save_config(cl);
    else if (todo & CL_TODO_SAVE_NOFSYNC) cl_save_config_sync(cl, 0);
}

/* Ask for a save / state update before the loop sleeps again (several
 * changes in one round cost one write). */
void cl_todo(cluster_t *cl, unsigned what)
{
    cl->todo |= what;
    if (cl->todo_ev) event_active(cl->todo_ev, EV_TIMEOUT, 0);
}

/* ---- blacklist (FORGET) ------------------------------------------------- */

static void blacklist_clean(cluster_t *cl)
{
    long long now = cl_now();
    for (int i = 0; i < cl->nblack; i++)
        if (cl->black[i].until < now) cl->black[i--] = cl->black[--cl->nblack];
}

void cl_blacklist_add(cluster_t *cl, const char *name)
{
    blacklist_clean(cl);
    for (int i = 0; i < cl->nblack; i++)
        if (strcmp(cl->black[i].name, name) == 0) {
            cl->black[i].until = cl_now() + CLUSTER_BLACKLIST_TTL;
            return;
        }
    cl->black = ts_realloc(cl->black, (size_t)(cl->nblack + 1) *
                                          sizeof(*cl->black));
    memcpy(cl->black[cl->nblack].name, name, CN_NAMELEN + 1);
    cl->black[cl->nblack].until = cl_now() + CLUSTER_BLACKLIST_TTL;
    cl->nblack++;
}

int cl_blacklisted(cluster_t *cl, const char *name)
{
    blacklist_clean(cl);
    for (int i = 0; i < cl->nblack; i++)
        if (strncmp(cl->black[i].name, name, CN_NAMELEN) == 0) return 1;
    return 0;
}

/* ---- descriptions (CLUSTER NODES, nodes.conf) --------------------------- */

int cl_my_port(const cluster_t *cl)
{
    const node_t *n = cl->n;
    return (int)(n->cluster_announce_port ? n->cluster_announce_port
                                          : n->port);
}

int cl_my_cport(const cluster_t *cl)
{
    const node_t *n = cl->n;
    if (n->cluster_announce_bus_port) return (int)n->cluster_announce_bus_port;
    return (int)(n->cluster_port ? n->cluster_port : n->port + 10000);
}

/* Redis's representClusterNodeFlags order. */
const char *cl_node_flags_str(const cnode_t *node, char *out, size_t sz)
{
    static const struct { unsigned f; const char *s; } names[] = {
        {CN_MYSELF, "myself"},       {CN_MASTER, "master"},
        {CN_SLAVE, "slave"},         {CN_PFAIL, "fail?"},
        {CN_FAIL, "fail"},           {CN_HANDSHAKE, "handshake"},
        {CN_NOADDR, "noaddr"},       {CN_NOFAILOVER, "nofailover"},
    };
    size_t len = 0;
    out[0] = '\0';
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (node->flags & names[i].f)
            len += (size_t)snprintf(out + len, sz - len, "%s%s",
                                    len ? "," : "", names[i].s);
    if (len == 0) snprintf(out, sz, "noflags");
    return out;
}

const char *cl_endpoint(const cluster_t *cl, const cnode_t *node)
{
    switch (cl->n->cluster_preferred_endpoint_type) {
    case CL_ENDPOINT_HOSTNAME:
        return node->hostname[0] ? node->hostname : "?";
    case CL_ENDPOINT_UNKNOWN:
        return "";
    default:
        return node->ip;
    }
}

static void append_range(buf_t *out, int start, int end)
{
    if (start == end) buf_printf(out, " %d", start);
    else buf_printf(out, " %d-%d", start, end);
}

void cl_node_description(cluster_t *cl, const cnode_t *node, buf_t *out,
                         int for_file)
{
    char flags[128];
    buf_printf(out, "%s %s:%d@%d", node->name, node->ip, node->port,
               node->cport);
    if (node->hostname[0]) buf_printf(out, ",%s", node->hostname);
    buf_printf(out, " %s %s", cl_node_flags_str(node, flags, sizeof(flags)),
               node->master ? node->master->name : "-");
    long long pong = cl_to_unix(node->pong_received);
    /* Redis keeps Unix times and prints myself's as stored: 0 0 until
     * gossip updates it; the file is written with what memory holds. */
    buf_printf(out, " %lld %lld %llu %s", cl_to_unix(node->ping_sent), pong,
               (unsigned long long)cl_node_epoch(node),
               (node->link || (node->flags & CN_MYSELF)) ? "connected"
                                                          : "disconnected");
    (void)for_file;
    if (node->numslots) {
        int start = -1;
        for (int s = 0; s <= SLOT_COUNT; s++) {
            int owned = s < SLOT_COUNT && cl_slot_owned(node, s);
            if (owned && start < 0) start = s;
            if (!owned && start >= 0) {
                append_range(out, start, s - 1);
                start = -1;
            }
        }
    }
    if (node->flags & CN_MYSELF) {
        for (int s = 0; s < SLOT_COUNT; s++) {
            if (cl->migrating[s])
                buf_printf(out, " [%d->-%s]", s, cl->migrating[s]->name);
            else if (cl->importing[s])
                buf_printf(out, " [%d-<-%s]", s, cl->importing[s]->name);
        }
    }
}

void cl_nodes_description(cluster_t *cl, buf_t *out, int for_file)
{
    for (int i = 0; i < cl->nnodes; i++) {
        const cnode_t *node = cl->nodes[i];
        if (for_file && (node->flags & CN_HANDSHAKE)) continue;
        cl_node_description(cl, node, out, for_file);
        buf_putc(out, '\n');
    }
}

/* ---- nodes.conf --------------------------------------------------------- */

int cl_save_config(cluster_t *cl)
{
    return cl_save_config_sync(cl, 1);
}

int cl_save_config_sync(cluster_t *cl, int do_fsync)
{
    buf_t b;
    buf_init(&b);
    cl_nodes_description(cl, &b, 1);
    buf_printf(&b, "vars currentEpoch %llu lastVoteEpoch %llu shardId %s\n",
               (unsigned long long)cl->current_epoch,
               (unsigned long long)cl->last_vote_epoch, cl->myself->shard_id);
    size_t plen = strlen(cl->config_path);
    char *tmp = ts_malloc(plen + 32);
    snprintf(tmp, plen + 32, "%s.tmp-%d", cl->config_path, (int)getpid());
    int rc = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd >= 0) {
        size_t off = 0;
        while (off < buf_len(&b)) {
            ssize_t w = write(fd, buf_rptr(&b) + off, buf_len(&b) - off);
            if (w < 0 && errno == EINTR) continue;
            if (w <= 0) break;
            off += (size_t)w;
        }
        if (off == buf_len(&b) && (!do_fsync || fsync(fd) == 0) &&
            rename(tmp, cl->config_path) == 0)
            rc = 0;
        close(fd);
    }
    if (rc != 0) {
        log_msg(LL_WARNING, "Could not save the cluster config %s: %s",
                cl->config_path, strerror(errno));
        unlink(tmp);
    } else if (do_fsync) {
        /* the rename itself must reach the disk */
        char *dir = ts_strdup(cl->config_path);
        char *slash = strrchr(dir, '/');
        if (slash) {
            *slash = '\0';
            int dfd = open(dir[0] ? dir : "/", O_RDONLY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
        }
        ts_free(dir);
    }
    ts_free(tmp);
    buf_deinit(&b);
    return rc;
}

/* "ip:port@cport[,hostname]" into node; 0 or -1. */
static int parse_addr(cnode_t *node, char *s)
{
    char *comma = strchr(s, ',');
    if (comma) {
        *comma = '\0';
        snprintf(node->hostname, sizeof(node->hostname), "%s", comma + 1);
    }
    char *at = strchr(s, '@');
    char *colon = strrchr(s, ':');
    if (!at || !colon || colon > at) return -1;
    *at = '\0';
    *colon = '\0';
    if ((size_t)(colon - s) >= sizeof(node->ip)) return -1;
    memcpy(node->ip, s, (size_t)(colon - s) + 1);
    node->port = atoi(colon + 1);
    node->cport = atoi(at + 1);
    if (node->port < 0 || node->port > 65535 || node->cport < 0 ||
        node->cport > 65535)
        return -1;
    return 0;
}

static void parse_flags(cnode_t *node, char *s)
{
    char *save = NULL;
    for (char *f = strtok_r(s, ",", &save); f; f = strtok_r(NULL, ",", &save)) {
        if (!strcmp(f, "myself")) node->flags |= CN_MYSELF;
        else if (!strcmp(f, "master")) node->flags |= CN_MASTER;
        else if (!strcmp(f, "slave")) node->flags |= CN_SLAVE;
        else if (!strcmp(f, "fail?")) node->flags |= CN_PFAIL;
        else if (!strcmp(f, "fail")) {
            node->flags |= CN_FAIL;
            node->fail_time = cl_now();
        } else if (!strcmp(f, "handshake")) node->flags |= CN_HANDSHAKE;
        else if (!strcmp(f, "noaddr")) node->flags |= CN_NOADDR;
        else if (!strcmp(f, "nofailover")) node->flags |= CN_NOFAILOVER;
    }
}

static cnode_t *lookup_or_create(cluster_t *cl, const char *name)
{
    cnode_t *node = cl_lookup(cl, name, strlen(name));
    return node ? node : cl_node_create(cl, name, 0);
}

/* One node line; -1 if malformed. */
static int load_line(cluster_t *cl, char *line)
{
    char *argv[16384 + 16];
    int argc = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, " \t", &save); t && argc < 16384 + 16;
         t = strtok_r(NULL, " \t", &save))
        argv[argc++] = t;
    if (argc == 0) return 0;
    if (!strcmp(argv[0], "vars")) {
        for (int i = 1; i + 1 < argc; i += 2) {
            if (!strcmp(argv[i], "currentEpoch"))
                cl->current_epoch = strtoull(argv[i + 1], NULL, 10);
            else if (!strcmp(argv[i], "lastVoteEpoch"))
                cl->last_vote_epoch = strtoull(argv[i + 1], NULL, 10);
            else if (!strcmp(argv[i], "shardId") && cl->myself &&
                     valid_name(argv[i + 1], strlen(argv[i + 1])))
                memcpy(cl->myself->shard_id, argv[i + 1], CN_NAMELEN + 1);
        }
        return 0;
    }
    if (argc < 8 || !valid_name(argv[0], strlen(argv[0]))) return -1;
    cnode_t *node = lookup_or_create(cl, argv[0]);
    if (parse_addr(node, argv[1]) != 0) return -1;
    parse_flags(node, argv[2]);
    if (node->flags & CN_MYSELF) {
        if (cl->myself && cl->myself != node) return -1;
        cl->myself = node;
    }
    if (strcmp(argv[3], "-") != 0) {
        if (!valid_name(argv[3], strlen(argv[3]))) return -1;
        cl_set_master(cl, node, lookup_or_create(cl, argv[3]));
    }
    node->config_epoch = strtoull(argv[6], NULL, 10);
    for (int i = 8; i < argc; i++) {
        char *a = argv[i];
        if (a[0] == '[') {
            /* [slot->-id] or [slot-<-id] */
            int slot = atoi(a + 1);
            char *dir = strchr(a, '-');
            if (!dir || slot < 0 || slot >= SLOT_COUNT) return -1;
            int migrating = dir[1] == '>';
            char *id = dir + 3;
            size_t idl = strlen(id);
            if (idl < 1 || id[idl - 1] != ']') return -1;
            id[idl - 1] = '\0';
            if (!valid_name(id, strlen(id))) return -1;
            cnode_t *peer = lookup_or_create(cl, id);
            if (migrating) cl->migrating[slot] = peer;
            else cl->importing[slot] = peer;
            continue;
        }
        char *dash = strchr(a, '-');
        int start = atoi(a), end = dash ? atoi(dash + 1) : start;
        if (start < 0 || end >= SLOT_COUNT || start > end) return -1;
        for (int s = start; s <= end; s++) {
            if (cl->slots[s]) cl_del_slot(cl, s);
            cl_add_slot(cl, node, s);
        }
    }
    return 0;
}

/* Returns 1 if loaded, 0 if the file does not exist, -1 on error. */
static int load_config(cluster_t *cl)
{
    FILE *f = fopen(cl->config_path, "r");
    if (!f) return errno == ENOENT ? 0 : -1;
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    int rc = 1, lineno = 0, any = 0;
    while ((len = getline(&line, &cap, f)) > 0) {
        lineno++;
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (len == 0) continue;
        any = 1;
        if (load_line(cl, line) != 0) {
            log_msg(LL_WARNING, "Unrecoverable error: corrupted cluster "
                    "config file \"%s\" at line %d.", cl->config_path, lineno);
            rc = -1;
            break;
        }
    }
    free(line);
    fclose(f);
    if (rc == 1 && !any) return 0;     /* empty file: a fresh node */
    if (rc == 1 && !cl->myself) {
        log_msg(LL_WARNING, "Unrecoverable error: cluster config file \"%s\" "
                "has no myself line.", cl->config_path);
        rc = -1;
    }
    return rc;
}

/* The lock is on "<config>.lock", not on the config file itself: saving
 * renames a new file over the config, which would leave a lock on the
 * config's old inode protecting nothing. */
static int lock_config(cluster_t *cl)
{
    size_t len = strlen(cl->config_path) + 6;
    char *path = ts_malloc(len);
    snprintf(path, len, "%s.lock", cl->config_path);
    cl->lock_fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    ts_free(path);
    if (cl->lock_fd < 0) {
        log_msg(LL_WARNING, "Can't open %s.lock in order to acquire a lock: "
                "%s", cl->config_path, strerror(errno));
        return -1;
    }
    if (flock(cl->lock_fd, LOCK_EX | LOCK_NB) != 0) {
        log_msg(LL_WARNING, errno == EWOULDBLOCK
                ? "Sorry, the cluster configuration file %s is already used "
                  "by a different Tessera node. Please make sure that "
                  "different nodes use different cluster configuration files."
                : "Impossible to lock %s: %s",
                cl->config_path, strerror(errno));
        close(cl->lock_fd);
        cl->lock_fd = -1;
        return -1;
    }
    return 0;
}

/* ---- cluster state ------------------------------------------------------- */

/* Redis's clusterUpdateState: down while a slot is unserved (with
 * cluster-require-full-coverage) or while we cannot reach a majority of
 * the masters that serve slots. */
void cl_update_state(cluster_t *cl)
{
    int new_state = CLUSTER_OK;
    if (cl->n->cluster_require_full_coverage)
        for (int s = 0; s < SLOT_COUNT; s++)
            if (!cl->slots[s] || (cl->slots[s]->flags & CN_FAIL)) {
                new_state = CLUSTER_FAIL;
                break;
            }
    /* A master counts as reachable while it is not flagged failing and
     * we heard from it within the node timeout minus a margin.  Healthy
     * peers send something every timeout/2 (their PINGs), so silence that
     * long means a partition; the margin makes a master cut off from the
     * majority refuse writes (next cron, <= 100 ms later) before the
     * majority can have failed it over, which takes a full node timeout
     * of silence, a FAIL quorum and an election. */
    long long now = cl_now(), timeout = cl->n->cluster_node_timeout;
    long long silence = timeout >= 1000 ? timeout - 200 : timeout * 4 / 5;
    int size = 0, reachable = 0;
    for (int i = 0; i < cl->nnodes; i++) {
        cnode_t *node = cl->nodes[i];
        if (!cl_node_is_master(node) || !node->numslots) continue;
        size++;
        if (node->flags & (CN_FAIL | CN_PFAIL)) continue;
        if (node == cl->myself || now - node->data_received <= silence)
            reachable++;
    }
    cl->size = size;
    int quorum = size / 2 + 1;
    if (reachable < quorum) {
        new_state = CLUSTER_FAIL;
        cl->among_minority_time = now;
    }
    if (new_state != cl->state) {
        log_msg(LL_NOTICE, "Cluster state changed: %s",
                new_state == CLUSTER_OK ? "ok" : "fail");
        cl->state = new_state;
        cl->state_changed = now;
    }
    observer_check(cl);     /* after every change, and in the cron */
}

int cl_bump_epoch(cluster_t *cl)
{
    uint64_t max = cl_max_epoch(cl);
    cnode_t *me = cl->myself;
    if (me->config_epoch == 0 || me->config_epoch != max) {
        cl->current_epoch++;
        me->config_epoch = cl->current_epoch;
        cl_todo(cl, CL_TODO_SAVE | CL_TODO_UPDATE_STATE);
        return 1;
    }
    return 0;
}

void cl_set_my_master(cluster_t *cl, cnode_t *master)
{
    cnode_t *me = cl->myself;
    if (me->flags & CN_MASTER) {
        me->flags = (me->flags & ~(unsigned)(CN_MASTER | CN_MIGRATE_TO)) |
                    CN_SLAVE;
        for (int s = 0; s < SLOT_COUNT; s++)
            cl->migrating[s] = cl->importing[s] = NULL;
    }
    cl_set_master(cl, me, master);
    if (master->ip[0] && master->port)
        repl_set_master(cl->n, master->ip, master->port);
    cl_todo(cl, CL_TODO_SAVE | CL_TODO_UPDATE_STATE);
}

/* CLUSTER RESET: forget every other node; HARD also a new identity and
 * epochs back to 0.  The caller checked the keyspace is empty. */
int cl_reset(cluster_t *cl, int hard)
{
    cnode_t *me = cl->myself;
    if (me->flags & CN_SLAVE) {
        cl_set_master(cl, me, NULL);
        me->flags = (me->flags & ~CN_SLAVE) | CN_MASTER;
        repl_unset_master(cl->n);
    }
    for (int s = 0; s < SLOT_COUNT; s++) {
        cl->migrating[s] = cl->importing[s] = NULL;
        if (cl->slots[s]) cl_del_slot(cl, s);
    }
    for (int i = cl->nnodes - 1; i >= 0; i--)
        if (cl->nodes[i] != me) cl_node_delete(cl, cl->nodes[i]);
    if (hard) {
        cl->current_epoch = 0;
        cl->last_vote_epoch = 0;
        me->config_epoch = 0;
        char name[CN_NAMELEN + 1];
        cl_random_name(name);
        memcpy(me->name, name, sizeof(name));
        log_msg(LL_NOTICE, "Node hard reset, now I'm %s", me->name);
    }
    cl_random_name(me->shard_id);   /* an empty master: a new shard */
    cl_save_config(cl);
    cl_update_state(cl);
    return 0;
}

/* ---- redirection ---------------------------------------------------------- */

enum {
    REDIR_NONE, REDIR_CROSSSLOT, REDIR_UNSTABLE, REDIR_ASK, REDIR_MOVED,
    REDIR_DOWN_STATE, REDIR_DOWN_RO, REDIR_DOWN_UNBOUND
};

static int key_missing(node_t *n, const resp_arg_t *k)
{
    kentry_t *e = ks_find(n->ks, k->ptr, k->len);
    if (!e) return 1;
    long long exp = ke_expire(e);
    return exp >= 0 && exp <= node_unix_ms();
}

static void redirect(cluster_t *cl, reply_t *r, int code, int slot,
                     const cnode_t *to)
{
    switch (code) {
    case REDIR_CROSSSLOT:
        reply_error(r, "CROSSSLOT Keys in request don't hash to the same slot");
        break;
    case REDIR_UNSTABLE:
        reply_error(r, "TRYAGAIN Multiple keys request during rehashing of slot");
        break;
    case REDIR_DOWN_STATE:
        reply_error(r, "CLUSTERDOWN The cluster is down");
        break;
    case REDIR_DOWN_RO:
        reply_error(r, "CLUSTERDOWN The cluster is down and only accepts "
                       "read commands");
        break;
    case REDIR_DOWN_UNBOUND:
        reply_error(r, "CLUSTERDOWN Hash slot not served");
        break;
    default:
        reply_errorf(r, "%s %d %s:%d", code == REDIR_ASK ? "ASK" : "MOVED",
                     slot, cl_endpoint(cl, to), to->port);
    }
}

#define MAX_CHECK_KEYS 256

/* What the keys of a command (or of a whole transaction) say, gathered
 * as Redis 7.0's getNodeByQuery does. */
typedef struct keycheck {
    int slot;                   /* of the first key, -1: no key yet */
    cnode_t *owner;
    const resp_arg_t *first;
    int migrating, importing;   /* the slot is open here */
    int multiple;               /* more than one distinct key */
    int missing, existing;      /* counted only while the slot is open */
    int multislot;              /* TESSERA MULTISLOT: keys of several
                                 * slots, every one served here */
    int nhints;                 /* keys noted for ks_slot_hint_add */
    const resp_arg_t *hints[KS_SLOT_HINTS];
    unsigned hslot[KS_SLOT_HINTS];
} keycheck_t;

/*
 * TESSERA MULTISLOT (tessera-proxy's backend links, cmd_cluster.c): the
 * commands the proxy splits by node may carry keys of several slots, as
 * long as this node serves every one of them -- as their master, or as a
 * READONLY replica of their master for a read -- and none is migrating or
 * importing (then the keys of a slot could be on two nodes).  Anything
 * else answers as Redis does: -CROSSSLOT, and the proxy splits per slot.
 * Plain clients, MULTI/EXEC and every other command keep the one-slot
 * rule.
 */
static int multislot_allowed(const client_t *cl, const cmd_spec_t *c)
{
    if (!(cl->flags & CLF_MULTISLOT) || (cl->flags & CLF_MULTI)) return 0;
    switch (c->id) {
    case CMD_MGET:
    case CMD_MSET:
    case CMD_DEL:
    case CMD_UNLINK:
    case CMD_EXISTS:
    case CMD_TOUCH: return 1;
    default: return 0;
    }
}

static int multislot_serves(const cluster_t *cs, const client_t *cl,
                            unsigned flags, int slot)
{
    const cnode_t *o = cs->slots[slot];
    if (!o || cs->migrating[slot] || cs->importing[slot]) return 0;
    if (o == cs->myself) return 1;
    return (cl->flags & CLF_READONLY) && !(flags & CF_WRITE) &&
           (cs->myself->flags & CN_SLAVE) && cs->myself->master == o;
}

/* Fold the keys of one command into k: REDIR_NONE, or the error that
 * ends the check (CROSSSLOT, unbound slot).  ms: the client c of a
 * multislot_allowed command, else NULL. */
static int check_keys(node_t *n, keycheck_t *k, const cmd_spec_t *c,
                      int argc, const resp_arg_t *argv, const client_t *ms)
{
    cluster_t *cs = n->cluster;
    if (!(c->flags & CF_MOVABLEKEYS) && c->first_key <= 0) return REDIR_NONE;
    int idx_buf[MAX_CHECK_KEYS], *idx = idx_buf;
    int nkeys = cmdtab_keys(c, argc, argv, idx, MAX_CHECK_KEYS);
    if (nkeys > MAX_CHECK_KEYS) {
        idx = ts_malloc((size_t)nkeys * sizeof(int));
        cmdtab_keys(c, argc, argv, idx, nkeys);
    }
    int code = REDIR_NONE;
    for (int i = 0; i < nkeys; i++) {
        const resp_arg_t *key = &argv[idx[i]];
        int ks = (int)slot_for_key(key->ptr, key->len);
        if (!k->first) {
            k->first = key;
            k->slot = ks;
            k->owner = cs->slots[ks];
            if (!k->owner) {
                code = REDIR_DOWN_UNBOUND;
                break;
            }
            if (k->owner == cs->myself && cs->migrating[ks]) k->migrating = 1;
            else if (cs->importing[ks]) k->importing = 1;
        } else if (key->len != k->first->len ||
                   memcmp(key->ptr, k->first->ptr, key->len) != 0) {
            if (ks != k->slot &&
                (!ms || k->migrating || k->importing ||
                 !multislot_serves(cs, ms, c->flags, ks) ||
                 (!k->multislot &&
                  !multislot_serves(cs, ms, c->flags, k->slot)))) {
                code = REDIR_CROSSSLOT;
                break;
            }
            if (ks != k->slot) k->multislot = 1;
            k->multiple = 1;
        }
        if (k->nhints < KS_SLOT_HINTS) {
            k->hslot[k->nhints] = (unsigned)ks;
            k->hints[k->nhints++] = key;
        }
        if (k->migrating || k->importing) {
            if (key_missing(n, key)) k->missing++;
            else k->existing++;
        }
    }
    if (idx != idx_buf) ts_free(idx);
    return code;
}

/* Where the keys say the command must go, given they share k->slot. */
static int route(node_t *n, client_t *cl, const cmd_spec_t *c,
                 keycheck_t *k, unsigned flags)
{
    cluster_t *cs = n->cluster;
    if (cs->state != CLUSTER_OK) {
        if (!n->cluster_allow_reads_when_down) return REDIR_DOWN_STATE;
        if (flags & CF_WRITE) return REDIR_DOWN_RO;
    }
    /* MIGRATE works on the local keys of an open slot (Redis 7.0) */
    if ((k->migrating || k->importing) && c->id == CMD_MIGRATE)
        return REDIR_NONE;
    if (k->migrating && k->missing) {
        k->owner = cs->migrating[k->slot];
        return k->existing ? REDIR_UNSTABLE : REDIR_ASK;
    }
    if (k->importing && ((cl->flags & CLF_ASKING) || c->id == CMD_ASKING ||
                         (c->flags & CF_ASKING)))
        return k->multiple && k->missing ? REDIR_UNSTABLE : REDIR_NONE;
    if ((cl->flags & CLF_READONLY) && !(flags & CF_WRITE) &&
        (cs->myself->flags & CN_SLAVE) && cs->myself->master == k->owner)
        return REDIR_NONE;
    return k->owner != cs->myself ? REDIR_MOVED : REDIR_NONE;
}

int cluster_check_command(node_t *n, client_t *cl, const cmd_spec_t *c,
                          int argc, const resp_arg_t *argv, reply_t *r)
{
    cluster_t *cs = n->cluster;
    /* the master's replication stream is obeyed, never redirected */
    if (cl->flags & CLF_MASTER) return 0;
    keycheck_t k = {.slot = -1};
    unsigned flags = c->flags;
    int code = REDIR_NONE, exec = c->id == CMD_EXEC;
    if (exec) {
        /* Redis 7.0 checks the whole transaction again at EXEC: its keys
         * must still share one slot served here (a slot may have moved
         * since the commands were queued). */
        if (!(cl->flags & CLF_MULTI)) return 0;
        flags |= multi_queued_flags(cl);
        int count = multi_queued_count(cl);
        for (int i = 0; i < count && code == REDIR_NONE; i++) {
            int qargc;
            const resp_arg_t *qargv;
            const cmd_spec_t *q = multi_queued_cmd(cl, i, &qargc, &qargv);
            code = check_keys(n, &k, q, qargc, qargv, NULL);
        }
    } else {
        if (!(c->flags & CF_MOVABLEKEYS) && c->first_key <= 0) return 0;
        code = check_keys(n, &k, c, argc, argv,
                          multislot_allowed(cl, c) ? cl : NULL);
    }
    if (code == REDIR_NONE && k.multislot) {
        /* every slot is served here (check_keys); the cluster must be up */
        if (cs->state != CLUSTER_OK) code = REDIR_CROSSSLOT;
    } else if (code == REDIR_NONE && k.owner) {
        code = route(n, cl, c, &k, flags);
    }
    if (code == REDIR_NONE) {
        /* the keyspace reuses the slots hashed here (cleared by
         * cmd_execute when the command is done) */
        for (int i = 0; i < k.nhints && !exec; i++)
            ks_slot_hint_add(n->ks, k.hints[i]->ptr, k.hints[i]->len,
                             k.hslot[i]);
        return 0;
    }
    redirect(cs, r, code, k.slot, k.owner);
    /* a redirected EXEC discards the transaction and answers with the
     * redirection itself, not EXECABORT (Redis's processCommand) */
    if (exec) multi_discard(cl);
    return -1;
}

void cluster_after_command(client_t *cl, const cmd_spec_t *c)
{
    if ((cl->flags & CLF_ASKING) && !(cl->flags & CLF_MULTI) &&
        (!c || c->id != CMD_ASKING))
        cl->flags &= ~CLF_ASKING;
}

size_t cluster_links_memory(const node_t *n)
{
    size_t m = 0;
    if (n->cluster)
        for (const clink_t *l = n->cluster->links; l; l = l->next)
            m += bus_link_memory(l);
    return m;
}

long long cluster_connections(const node_t *n)
{
    return n->cluster ? (long long)(n->cluster->nnodes - 1) * 2 : 0;
}

void cluster_propagate_publish(node_t *n, const resp_arg_t *channel,
                               const resp_arg_t *message)
{
    gossip_send_publish(n->cluster, channel, message);
}

/* ---- setup ---------------------------------------------------------------- */

void cluster_announce_changed(node_t *n)
{
    cluster_t *cl = n->cluster;
    if (!cl) return;
    cnode_t *me = cl->myself;
    me->port = cl_my_port(cl);
    me->cport = cl_my_cport(cl);
    snprintf(me->hostname, sizeof(me->hostname), "%s",
             n->cluster_announce_hostname ? n->cluster_announce_hostname : "");
    if (n->cluster_announce_ip && n->cluster_announce_ip[0])
        snprintf(me->ip, sizeof(me->ip), "%s", n->cluster_announce_ip);
    cl_todo(cl, CL_TODO_SAVE);
}

static void on_cron(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    gossip_cron(arg);
}

int cluster_setup(node_t *n)
{
    if ((!n->cluster_secret || !n->cluster_secret[0]) &&
        !n->cluster_bus_insecure) {
        log_msg(LL_WARNING, "Cluster mode needs cluster-secret (the key of "
                "the HMAC on every cluster bus message); set it to the same "
                "value on every node, or set cluster-bus-insecure yes to run "
                "an unauthenticated bus.");
        return -1;
    }
    if (n->port == 0 || n->port + 10000 > 65535) {
        if (!n->cluster_port) {
            log_msg(LL_WARNING, "Cluster mode needs a client port below "
                    "55536 or an explicit cluster-port.");
            return -1;
        }
    }
    cluster_t *cl = ts_calloc(1, sizeof(*cl));
    n->cluster = cl;
    cl->n = n;
    cl->lock_fd = -1;
    cl->state = CLUSTER_FAIL;
    cl->config_path = ts_absolute_path(n->cluster_config_file &&
                                       n->cluster_config_file[0]
                                   ? n->cluster_config_file
                                   : "nodes.conf");
    bus_derive_key(cl, n->cluster_secret ? n->cluster_secret : "");
    int loaded = load_config(cl);
    if (loaded < 0) return -1;
    if (lock_config(cl) != 0) return -1;
    if (loaded == 0)
        cl->myself = cl_node_create(cl, NULL, CN_MYSELF | CN_MASTER);
    /* a new node, or a nodes.conf from before shard ids */
    if (!cl->myself->shard_id[0]) cl_random_name(cl->myself->shard_id);
    if (loaded == 0) {
        log_msg(LL_NOTICE, "No cluster configuration found, I'm %s",
                cl->myself->name);
    } else {
        log_msg(LL_NOTICE, "Node configuration loaded, I'm %.40s",
                cl->myself->name);
    }
    cluster_announce_changed(n);
    if (cl_save_config(cl) != 0) return -1;
    if (bus_listen(cl) != 0) return -1;
    cl->todo_ev = event_new(n->base, -1, 0, on_todo, cl);
    cl->cron_ev = event_new(n->base, -1, EV_PERSIST, on_cron, cl);
    struct timeval tv = {0, 100000};
    event_add(cl->cron_ev, &tv);
    cl_update_state(cl);
    return 0;
}

void cluster_teardown(node_t *n)
{
    cluster_t *cl = n->cluster;
    if (!cl) return;
    if (cl->myself && cl->lock_fd >= 0) cl_save_config(cl);
    resolve_stop(cl);
    bus_close_all(cl);
    if (cl->cron_ev) event_free(cl->cron_ev);
    if (cl->todo_ev) event_free(cl->todo_ev);
    while (cl->nnodes) {
        cnode_t *node = cl->nodes[cl->nnodes - 1];
        cl->nnodes--;
        ts_free(node->replicas);
        ts_free(node->reports);
        ts_free(node);
    }
    ts_free(cl->nodes);
    ts_free(cl->black);
    if (cl->lock_fd >= 0) close(cl->lock_fd);
    ts_free(cl->config_path);
    ts_free(cl);
    n->cluster = NULL;
}
