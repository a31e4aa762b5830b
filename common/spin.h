/*
 * spin.h: whether a busy-polling event loop may spin right now.
 *
 * A loop that keeps polling after a burst of input (busy-poll-us) only
 * gains while it has a CPU that nobody else wants: then the next request
 * finds it running and nobody pays a sleep and a cross-CPU wake-up.  When
 * other work wants the CPUs this process may run on, spinning takes time
 * from it, so the gate closes.
 *
 * The gate looks at the CPUs in the process's affinity mask (taskset):
 * from /proc/stat, their busy time, minus this process's own CPU time,
 * is what everyone else used.  Sampled from a cron (one pread of
 * /proc/stat every 100 ms) and smoothed, the gate stays open while the
 * others leave at least 0.9 of a CPU idle beyond what they use: a server
 * pinned to its own CPU always may spin; one sharing two CPUs with a busy
 * client may; one pinned to a CPU it shares with a busy process (a proxy
 * next to its backend), or on a machine whose CPUs are all taken,
 * may not.  Where /proc/stat cannot be read the gate stays open.
 *
 * A CPU quota on the process's cgroup (v2 cpu.max, v1 cpu.cfs_quota_us,
 * the smallest on the way from its cgroup up to the root, read once at
 * start) caps the CPUs counted, less one that the process's own work
 * needs: spinning would spend the quota and get every thread of the
 * process throttled.  A quota of less than 1.9 CPUs never lets it spin.
 */
#ifndef TS_SPIN_H
#define TS_SPIN_H

#include <stdatomic.h>
#include <stdint.h>

#define SPIN_MAX_CPUS 1024

typedef struct spin_gate {
    int fd;                     /* /proc/stat, or -1 */
    int nallowed;               /* CPUs in the affinity mask */
    uint64_t allowed[SPIN_MAX_CPUS / 64]; /* the affinity mask */
    double tick_ns;             /* one /proc/stat unit (USER_HZ) in ns */
    uint64_t last_busy;         /* busy ticks of the allowed CPUs */
    int64_t last_own_ns;        /* this process's CPU time */
    int64_t last_wall_ns;
    double others;              /* CPUs used by others, smoothed */
    double quota;               /* CPUs the cgroup quota allows, 0: none */
    atomic_int open;            /* read by any thread, relaxed */
} spin_gate_t;

void spin_gate_init(spin_gate_t *g);
void spin_gate_deinit(spin_gate_t *g);

/* Take a sample and update the gate; call from one thread, ~10 times a
 * second. */
void spin_gate_sample(spin_gate_t *g);

/* Fold one interval into the gate: the allowed CPUs were busy for
 * busy_ns in total, this process used own_ns of CPU, over wall_ns. */
void spin_gate_update(spin_gate_t *g, int64_t busy_ns, int64_t own_ns,
                      int64_t wall_ns);

/* Sum of the busy ticks (all but idle and iowait) of the CPUs of g's
 * mask found in a /proc/stat text of len bytes; -1 if it has none. */
int64_t spin_busy_ticks(const spin_gate_t *g, const char *text, int len);

/* The CPUs a cgroup quota file allows: v2's cpu.max text ("max 100000",
 * "150000 100000"), or, with period_text, v1's cpu.cfs_quota_us text
 * ("-1", "50000") and cpu.cfs_period_us text.  0 for no limit or a text
 * that does not parse. */
double spin_quota_cpus(const char *text, const char *period_text);

/* The smallest CPU quota on the way from the cgroup(s) named in a
 * /proc/self/cgroup text up to the root, looked up under root (normally
 * "/sys/fs/cgroup": v2 at root or root/unified, v1's cpu controller at
 * root/<its hierarchy's name>); 0 when there is none. */
double spin_cgroup_quota(const char *proc_cgroup_text, const char *root);

static inline int spin_gate_open(spin_gate_t *g)
{
    return atomic_load_explicit(&g->open, memory_order_relaxed);
}

#endif
