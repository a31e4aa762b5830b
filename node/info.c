/*
 * info.c: the INFO text, in Redis 7.0's sections, field names and number
 * formats.
 *
 * Monitoring tools and client libraries parse INFO by field name, so every
 * field Redis 7.0 prints is printed here under the same name, in the same
 * order, with the same format ("%.2f" ratios, "1.49M" human sizes,
 * "%ld.%06ld" CPU seconds).  Fields for machinery Tessera does not have
 * yet (Lua, forks, replication links, defragmentation, tracking) print
 * the value an idle Redis prints for them, never a made-up activity.
 * Tessera adds one field, tessera_version, at the end of # Server.
 *
 * Sections are generated in Redis's fixed order; "default" is every
 * section but commandstats (Redis's latencystats is not kept, so neither
 * "all" nor "everything" print it).  # Errorstats is printed without
 * lines because the node does not count errors per prefix yet.
 *
 * The memory peak and the start-up usage are process-wide figures of the
 * process-wide allocator counter, so they live here as two statics rather
 * than in node_t.
 */
#include "info.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "alloc.h"
#include "client.h"
#include "cluster/cluster.h"
#include "cmdtab.h"
#include "config.h"
#include "lazyfree.h"
#include "persist/aof.h"
#include "persist/childinfo.h"
#include "persist/rdb.h"
#include "pubsub.h"
#include "repl/repl.h"
#include "server.h"

#define LRU_CLOCK_MAX ((1 << 24) - 1) /* Redis's 24-bit LRU clock, seconds */

static struct {
    size_t peak;
    size_t startup;
    int have_startup;
} mem;

static size_t clients_memory(node_t *n);

void info_sample_memory(node_t *n)
{
    size_t used = ts_used_memory();
    if (!mem.have_startup) {
        size_t held = clients_memory(n) + (n->ks ? ks_overhead(n->ks) : 0);
        mem.startup = used > held ? used - held : 0;
        mem.have_startup = 1;
    }
    if (used > mem.peak) mem.peak = used;
}

void info_reset_peak(void)
{
    mem.peak = ts_used_memory();
}

/* Redis's bytesToHuman. */
static void human(char *s, size_t sz, unsigned long long n)
{
    static const char units[] = "KMGTP";
    double d = (double)n;
    int u = -1;
    if (n < 1024) {
        snprintf(s, sz, "%lluB", n);
        return;
    }
    while (u < 4 && d >= 1024) {
        d /= 1024;
        u++;
    }
    if (u == 4 && d >= 1024) snprintf(s, sz, "%lluB", n);
    else snprintf(s, sz, "%.2f%c", d, units[u]);
}

static double ratio(double a, double b)
{
    return b > 0 ? a / b : 0;
}

/* ---- # Server ------------------------------------------------------------ */

static const char *build_id(void)
{
    static char id[17];
    if (!id[0]) {
        const char *s = "tessera-" TESSERA_VERSION;
        uint64_t h = 1469598103934665603ULL; /* FNV-1a 64 */
        for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
        snprintf(id, sizeof(id), "%016llx", (unsigned long long)h);
    }
    return id;
}

static void sec_server(node_t *n, buf_t *o)
{
    struct utsname un;
    if (uname(&un) != 0) memset(&un, 0, sizeof(un));
    long long now_us = node_unix_us();
    long long uptime = (now_us / 1000 - n->start_ms) / 1000;
#ifdef __GNUC__
    int gmaj = __GNUC__, gmin = __GNUC_MINOR__, gpatch = __GNUC_PATCHLEVEL__;
#else
    int gmaj = 0, gmin = 0, gpatch = 0;
#endif
    buf_printf(o,
               "# Server\r\n"
               "redis_version:%s\r\n"
               "redis_git_sha1:00000000\r\n"
               "redis_git_dirty:0\r\n"
               "redis_build_id:%s\r\n"
               "redis_mode:%s\r\n"
               "os:%s %s %s\r\n"
               "arch_bits:%d\r\n"
               "monotonic_clock:POSIX clock_gettime\r\n"
               "multiplexing_api:epoll\r\n"
               "atomicvar_api:c11-builtin\r\n"
               "gcc_version:%d.%d.%d\r\n"
               "process_id:%lld\r\n"
               "process_supervised:no\r\n"
               "run_id:%s\r\n"
               "tcp_port:%lld\r\n"
               "server_time_usec:%lld\r\n"
               "uptime_in_seconds:%lld\r\n"
               "uptime_in_days:%lld\r\n"
               "hz:%lld\r\n"
               "configured_hz:%lld\r\n"
               "lru_clock:%lld\r\n"
               "executable:%s\r\n"
               "config_file:%s\r\n"
               "io_threads_active:0\r\n"
               "tessera_version:%s\r\n",
               NODE_VERSION, build_id(),
               n->cluster_enabled ? "cluster" : "standalone", un.sysname,
               un.release, un.machine, (int)(sizeof(void *) * 8), gmaj, gmin,
               gpatch, (long long)getpid(), n->runid, n->port, now_us, uptime,
               uptime / 86400, n->hz, n->hz,
               (now_us / 1000000) & LRU_CLOCK_MAX,
               n->executable ? n->executable : "",
               n->config_file ? n->config_file : "", TESSERA_VERSION);
}

/* ---- # Clients ----------------------------------------------------------- */

static void sec_clients(node_t *n, buf_t *o)
{
    size_t max_in = 0, max_out = 0, replicas = 0;
    for (client_t *c = n->clients; c; c = c->next) {
        if (c->flags & CLF_REPLICA) replicas++; /* Redis counts them apart */
        size_t in = buf_alloc_size(&c->qbuf), out = buf_alloc_size(&c->obuf);
        if (in > max_in) max_in = in;
        if (out > max_out) max_out = out;
    }
    buf_printf(o,
               "# Clients\r\n"
               "connected_clients:%zu\r\n"
               "cluster_connections:%lld\r\n"
               "maxclients:%lld\r\n"
               "client_recent_max_input_buffer:%zu\r\n"
               "client_recent_max_output_buffer:%zu\r\n"
               "blocked_clients:%lld\r\n"
               "tracking_clients:0\r\n"
               "clients_in_timeout_table:0\r\n",
               n->nclients - replicas, cluster_connections(n), n->maxclients,
               max_in, max_out, n->blocked_clients);
}

/* ---- # Memory ------------------------------------------------------------ */

static size_t clients_memory(node_t *n)
{
    size_t sum = 0;
    for (client_t *c = n->clients; c; c = c->next)
        sum += sizeof(*c) + buf_alloc_size(&c->qbuf) +
               buf_alloc_size(&c->obuf);
    return sum;
}

static void policy_name(node_t *n, char *out, size_t sz)
{
    if (!n->config ||
        !config_get_value(n->config, "maxmemory-policy", out, sz))
        snprintf(out, sz, "noeviction");
}

static void sec_memory(node_t *n, buf_t *o)
{
    info_sample_memory(n);
    size_t used = ts_used_memory(), rss = ts_rss();
    size_t peak = mem.peak > used ? mem.peak : used;
    size_t startup = mem.startup < used ? mem.startup : used;
    size_t clients = clients_memory(n);
    size_t overhead = startup + clients + (n->ks ? ks_overhead(n->ks) : 0);
    if (overhead > used) overhead = used;
    size_t dataset = used > overhead ? used - overhead : 0;
    size_t net = used > startup ? used - startup : 1;
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    unsigned long long sysmem =
        pages > 0 && psize > 0 ? (unsigned long long)pages * (unsigned long long)psize : 0;
    ts_alloc_stats_t as;
    memset(&as, 0, sizeof(as));
    ts_alloc_stats(&as);
    char h_used[32], h_rss[32], h_peak[32], h_sys[32], h_max[32], policy[64];
    human(h_used, sizeof(h_used), used);
    human(h_rss, sizeof(h_rss), rss);
    human(h_peak, sizeof(h_peak), peak);
    human(h_sys, sizeof(h_sys), sysmem);
    human(h_max, sizeof(h_max), (unsigned long long)n->maxmemory);
    policy_name(n, policy, sizeof(policy));

    buf_printf(o,
               "# Memory\r\n"
               "used_memory:%zu\r\n"
               "used_memory_human:%s\r\n"
               "used_memory_rss:%zu\r\n"
               "used_memory_rss_human:%s\r\n"
               "used_memory_peak:%zu\r\n"
               "used_memory_peak_human:%s\r\n"
               "used_memory_peak_perc:%.2f%%\r\n"
               "used_memory_overhead:%zu\r\n"
               "used_memory_startup:%zu\r\n"
               "used_memory_dataset:%zu\r\n"
               "used_memory_dataset_perc:%.2f%%\r\n"
               "allocator_allocated:%zu\r\n"
               "allocator_active:%zu\r\n"
               "allocator_resident:%zu\r\n"
               "total_system_memory:%llu\r\n"
               "total_system_memory_human:%s\r\n",
               used, h_used, rss, h_rss, peak, h_peak,
               ratio((double)used * 100, (double)peak), overhead, startup,
               dataset, ratio((double)dataset * 100, (double)net),
               as.allocated, as.active, as.resident, sysmem, h_sys);
    /* No scripting engine: the figures of a Redis that never ran a script
     * and has no Lua VM. */
    buf_printf(o,
               "used_memory_lua:0\r\n"
               "used_memory_vm_eval:0\r\n"
               "used_memory_lua_human:0B\r\n"
               "used_memory_scripts_eval:0\r\n"
               "number_of_cached_scripts:0\r\n"
               "number_of_functions:0\r\n"
               "number_of_libraries:0\r\n"
               "used_memory_vm_functions:0\r\n"
               "used_memory_vm_total:0\r\n"
               "used_memory_vm_total_human:0B\r\n"
               "used_memory_functions:0\r\n"
               "used_memory_scripts:0\r\n"
               "used_memory_scripts_human:0B\r\n"
               "maxmemory:%lld\r\n"
               "maxmemory_human:%s\r\n"
               "maxmemory_policy:%s\r\n",
               n->maxmemory, h_max, policy);
    buf_printf(o,
               "allocator_frag_ratio:%.2f\r\n"
               "allocator_frag_bytes:%lld\r\n"
               "allocator_rss_ratio:%.2f\r\n"
               "allocator_rss_bytes:%lld\r\n"
               "rss_overhead_ratio:%.2f\r\n"
               "rss_overhead_bytes:%lld\r\n"
               "mem_fragmentation_ratio:%.2f\r\n"
               "mem_fragmentation_bytes:%lld\r\n"
               "mem_not_counted_for_evict:0\r\n"
               "mem_replication_backlog:%zu\r\n"
               "mem_total_replication_buffers:0\r\n"
               "mem_clients_slaves:0\r\n"
               "mem_clients_normal:%zu\r\n"
               "mem_cluster_links:%zu\r\n"
               "mem_aof_buffer:0\r\n"
               "mem_allocator:%s\r\n"
               "active_defrag_running:0\r\n"
               "lazyfree_pending_objects:%zu\r\n"
               "lazyfreed_objects:%zu\r\n",
               ratio((double)as.active, (double)as.allocated),
               (long long)as.active - (long long)as.allocated,
               ratio((double)as.resident, (double)as.active),
               (long long)as.resident - (long long)as.active,
               ratio((double)rss, (double)as.resident),
               as.resident ? (long long)rss - (long long)as.resident : 0,
               ratio((double)rss, (double)used),
               (long long)rss - (long long)used, repl_backlog_memory(n),
               clients, cluster_links_memory(n),
               as.allocator ? as.allocator : "libc",
               lazyfree_pending_objects(), lazyfree_freed_objects());
}

/* ---- # Persistence -------------------------------------------------------- */

static void sec_persistence(node_t *n, buf_t *o)
{
    buf_printf(o, "# Persistence\r\n");
    rdb_info(n, o); /* loading, current_* and rdb_* lines */
    aof_info(n, o); /* aof_* and module_fork_* lines */
}

/* ---- # Stats -------------------------------------------------------------- */

static void sec_stats(node_t *n, buf_t *o)
{
    const node_stats_t *s = &n->stats;
    buf_printf(o,
               "# Stats\r\n"
               "total_connections_received:%lld\r\n"
               "total_commands_processed:%lld\r\n"
               "instantaneous_ops_per_sec:%lld\r\n"
               "total_net_input_bytes:%lld\r\n"
               "total_net_output_bytes:%lld\r\n"
               "total_net_repl_input_bytes:0\r\n"
               "total_net_repl_output_bytes:0\r\n"
               "instantaneous_input_kbps:0.00\r\n"
               "instantaneous_output_kbps:0.00\r\n"
               "instantaneous_input_repl_kbps:0.00\r\n"
               "instantaneous_output_repl_kbps:0.00\r\n"
               "rejected_connections:%lld\r\n"
               "sync_full:%lld\r\n"
               "sync_partial_ok:%lld\r\n"
               "sync_partial_err:%lld\r\n"
               "expired_keys:%lld\r\n"
               "expired_stale_perc:0.00\r\n"
               "expired_time_cap_reached_count:0\r\n"
               "expire_cycle_cpu_milliseconds:0\r\n"
               "evicted_keys:%lld\r\n"
               "evicted_clients:0\r\n"
               "total_eviction_exceeded_time:0\r\n"
               "current_eviction_exceeded_time:0\r\n"
               "keyspace_hits:%lld\r\n"
               "keyspace_misses:%lld\r\n",
               s->conns_received, s->commands, server_ops_per_sec(n),
               s->net_input, s->net_output, s->rejected_conns,
               s->sync_full, s->sync_partial_ok, s->sync_partial_err,
               s->expired_keys, s->evicted_keys, s->hits, s->misses);
    size_t ps_chans, ps_pats, ps_shard;
    pubsub_node_counts(n, &ps_chans, &ps_pats, &ps_shard);
    buf_printf(o,
               "pubsub_channels:%zu\r\n"
               "pubsub_patterns:%zu\r\n"
               "pubsubshard_channels:%zu\r\n"
               "latest_fork_usec:%lld\r\n"
               "total_forks:%lld\r\n"
               "migrate_cached_sockets:0\r\n"
               "slave_expires_tracked_keys:0\r\n"
               "active_defrag_hits:0\r\n"
               "active_defrag_misses:0\r\n"
               "active_defrag_key_hits:0\r\n"
               "active_defrag_key_misses:0\r\n"
               "total_active_defrag_time:0\r\n"
               "current_active_defrag_time:0\r\n"
               "tracking_total_keys:0\r\n"
               "tracking_total_items:0\r\n"
               "tracking_total_prefixes:0\r\n"
               "unexpected_error_replies:%lld\r\n"
               "total_error_replies:%lld\r\n"
               "dump_payload_sanitizations:0\r\n"
               "total_reads_processed:%lld\r\n"
               "total_writes_processed:%lld\r\n"
               "io_threaded_reads_processed:0\r\n"
               "io_threaded_writes_processed:0\r\n"
               "reply_buffer_shrinks:0\r\n"
               "reply_buffer_expands:0\r\n",
               ps_chans, ps_pats, ps_shard, childinfo_latest_fork_usec(n),
               childinfo_total_forks(n), s->unexpected_error_replies, s->total_error_replies,
               s->io_reads, s->io_writes);
}

/* ---- # Replication, # CPU, # Cluster, # Keyspace ---------------------- */

static void sec_replication(node_t *n, buf_t *o)
{
    repl_info(n, o);    /* node/repl */
}

static void cpu_line(buf_t *o, const char *name, const struct timeval *tv)
{
    buf_printf(o, "%s:%ld.%06ld\r\n", name, (long)tv->tv_sec,
               (long)tv->tv_usec);
}

static void sec_cpu(node_t *n, buf_t *o)
{
    (void)n;
    struct rusage self, children, thread;
    memset(&self, 0, sizeof(self));
    memset(&children, 0, sizeof(children));
    memset(&thread, 0, sizeof(thread));
    getrusage(RUSAGE_SELF, &self);
    getrusage(RUSAGE_CHILDREN, &children);
#ifdef RUSAGE_THREAD
    getrusage(RUSAGE_THREAD, &thread);
#endif
    buf_append_str(o, "# CPU\r\n");
    cpu_line(o, "used_cpu_sys", &self.ru_stime);
    cpu_line(o, "used_cpu_user", &self.ru_utime);
    cpu_line(o, "used_cpu_sys_children", &children.ru_stime);
    cpu_line(o, "used_cpu_user_children", &children.ru_utime);
    cpu_line(o, "used_cpu_sys_main_thread", &thread.ru_stime);
    cpu_line(o, "used_cpu_user_main_thread", &thread.ru_utime);
}

static void sec_modules(node_t *n, buf_t *o)
{
    (void)n;
    buf_append_str(o, "# Modules\r\n");
}

static void sec_commandstats(node_t *n, buf_t *o)
{
    buf_append_str(o, "# Commandstats\r\n");
    for (size_t i = 0; i < CMD__COUNT; i++) {
        const cmd_stats_t *st = &n->cmd_stats[i];
        if (!st->calls && !st->rejected && !st->failed) continue;
        const cmd_spec_t *c = cmdtab_get((cmd_id_t)i);
        buf_printf(o,
                   "cmdstat_%s:calls=%lld,usec=%lld,usec_per_call=%.2f,"
                   "rejected_calls=%lld,failed_calls=%lld\r\n",
                   c->name, st->calls, st->usec,
                   st->calls ? (double)st->usec / (double)st->calls : 0.0,
                   st->rejected, st->failed);
    }
}

static void sec_errorstats(node_t *n, buf_t *o)
{
    (void)n;
    buf_append_str(o, "# Errorstats\r\n");
}

static void sec_cluster(node_t *n, buf_t *o)
{
    buf_printf(o, "# Cluster\r\ncluster_enabled:%d\r\n",
               n->cluster_enabled ? 1 : 0);
}

static void sec_keyspace(node_t *n, buf_t *o)
{
    buf_append_str(o, "# Keyspace\r\n");
    size_t keys = n->ks ? ks_size(n->ks) : 0;
    if (keys > 0)
        buf_printf(o, "db0:keys=%zu,expires=%zu,avg_ttl=0\r\n", keys,
                   ks_expires_size(n->ks));
}

/* ---- section selection --------------------------------------------------- */

typedef struct section {
    const char *name;
    int in_default;
    void (*fn)(node_t *n, buf_t *o);
} section_t;

static const section_t sections[] = {
    {"server", 1, sec_server},
    {"clients", 1, sec_clients},
    {"memory", 1, sec_memory},
    {"persistence", 1, sec_persistence},
    {"stats", 1, sec_stats},
    {"replication", 1, sec_replication},
    {"cpu", 1, sec_cpu},
    {"modules", 1, sec_modules},
    {"commandstats", 0, sec_commandstats},
    {"errorstats", 1, sec_errorstats},
    {"cluster", 1, sec_cluster},
    {"keyspace", 1, sec_keyspace},
};
#define NSECTIONS (sizeof(sections) / sizeof(sections[0]))

void info_generate(node_t *n, int argc, const resp_arg_t *argv, buf_t *out)
{
    unsigned char want[NSECTIONS];
    memset(want, 0, sizeof(want));
    for (size_t s = 0; s < NSECTIONS && argc == 0; s++)
        want[s] = (unsigned char)sections[s].in_default;
    for (int i = 0; i < argc; i++) {
        const resp_arg_t *a = &argv[i];
        int all = (a->len == 3 && strncasecmp(a->ptr, "all", 3) == 0) ||
                  (a->len == 10 && strncasecmp(a->ptr, "everything", 10) == 0);
        int def = a->len == 7 && strncasecmp(a->ptr, "default", 7) == 0;
        for (size_t s = 0; s < NSECTIONS; s++) {
            const char *nm = sections[s].name;
            if (all || (def && sections[s].in_default) ||
                (strlen(nm) == a->len && strncasecmp(nm, a->ptr, a->len) == 0))
                want[s] = 1;
        }
    }
    int emitted = 0;
    for (size_t s = 0; s < NSECTIONS; s++) {
        if (!want[s]) continue;
        if (emitted++) buf_append(out, "\r\n", 2);
        sections[s].fn(n, out);
    }
}
