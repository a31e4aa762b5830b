/*
 * spin.c: the busy-poll gate (see spin.h).
 */
#include "spin.h"

#include <fcntl.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cpu_allowed(const spin_gate_t *g, long cpu)
{
    return cpu >= 0 && cpu < SPIN_MAX_CPUS &&
           (g->allowed[cpu / 64] >> (cpu % 64) & 1);
}

/* Reads a small text file whole, NUL-terminated; its length or -1. */
static int read_small(const char *path, char *out, size_t cap)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, out, cap - 1);
    close(fd);
    if (n < 0) return -1;
    out[n] = '\0';
    return (int)n;
}

double spin_quota_cpus(const char *text, const char *period_text)
{
    char *end;
    /* v2: "$MAX $PERIOD", MAX "max" for no limit; v1: -1 for none */
    if (!period_text && strncmp(text, "max", 3) == 0) return 0;
    long long quota = strtoll(text, &end, 10);
    if (end == text) return 0;
    if (!period_text) {
        if (*end != ' ') return 0;
        period_text = end + 1;
    }
    long long period = strtoll(period_text, &end, 10);
    if (end == period_text || quota <= 0 || period <= 0) return 0;
    return (double)quota / (double)period;
}

/* The tighter of two quotas (0: none). */
static double tighter(double a, double b)
{
    return a > 0 && (b == 0 || a < b) ? a : b;
}

/* The quota of one cgroup directory (v2 file, else the v1 pair); 0 if
 * it has none. */
static double dir_quota(const char *dir)
{
    char path[4096 + 32], text[64], period[64];
    snprintf(path, sizeof(path), "%s/cpu.max", dir);
    if (read_small(path, text, sizeof(text)) > 0) return spin_quota_cpus(text, NULL);
    snprintf(path, sizeof(path), "%s/cpu.cfs_quota_us", dir);
    if (read_small(path, text, sizeof(text)) <= 0) return 0;
    snprintf(path, sizeof(path), "%s/cpu.cfs_period_us", dir);
    if (read_small(path, period, sizeof(period)) <= 0) return 0;
    return spin_quota_cpus(text, period);
}

/* The smallest quota from base/path up to base itself. */
static double walk_quota(const char *base, const char *cgpath, int cglen)
{
    char dir[4096];
    double best = 0;
    int len = cglen;
    for (;;) {
        while (len > 0 && cgpath[len - 1] == '/') len--;
        if (snprintf(dir, sizeof(dir), "%s%.*s", base, len, cgpath) < (int)sizeof(dir)) {
            best = tighter(dir_quota(dir), best);
        }
        if (len == 0) break;
        while (len > 0 && cgpath[len - 1] != '/') len--;
    }
    return best;
}

double spin_cgroup_quota(const char *text, const char *root)
{
    double best = 0;
    char base[1024];
    for (const char *p = text; *p;) {
        const char *eol = strchr(p, '\n');
        int n = eol ? (int)(eol - p) : (int)strlen(p);
        /* "hierarchy-id:controllers:path" */
        const char *c1 = memchr(p, ':', (size_t)n);
        const char *c2 = c1 ? memchr(c1 + 1, ':', (size_t)(p + n - c1 - 1)) : NULL;
        if (c2 && c2[1] == '/') {
            const char *path = c2 + 1;
            int plen = (int)(p + n - path);
            int clen = (int)(c2 - c1 - 1);
            if (clen == 0) { /* v2 */
                best = tighter(walk_quota(root, path, plen), best);
                snprintf(base, sizeof(base), "%s/unified", root);
                best = tighter(walk_quota(base, path, plen), best);
            } else {
                /* v1: a hierarchy whose controllers include "cpu" */
                int has_cpu = 0;
                for (const char *t = c1 + 1; t < c2;) {
                    const char *comma = memchr(t, ',', (size_t)(c2 - t));
                    const char *te = comma ? comma : c2;
                    if (te - t == 3 && memcmp(t, "cpu", 3) == 0) has_cpu = 1;
                    t = te + 1;
                }
                if (has_cpu) {
                    snprintf(base, sizeof(base), "%s/%.*s", root, clen, c1 + 1);
                    best = tighter(walk_quota(base, path, plen), best);
                }
            }
        }
        if (!eol) break;
        p = eol + 1;
    }
    return best;
}

void spin_gate_init(spin_gate_t *g)
{
    memset(g, 0, sizeof(*g));
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        for (int c = 0; c < CPU_SETSIZE && c < SPIN_MAX_CPUS; c++)
            if (CPU_ISSET(c, &set)) {
                g->allowed[c / 64] |= 1ULL << (c % 64);
                g->nallowed++;
            }
    }
    long hz = sysconf(_SC_CLK_TCK);
    g->tick_ns = 1e9 / (double)(hz > 0 ? hz : 100);
    g->fd = g->nallowed ? open("/proc/stat", O_RDONLY | O_CLOEXEC) : -1;
    char cg[4096];
    if (read_small("/proc/self/cgroup", cg, sizeof(cg)) > 0)
        g->quota = spin_cgroup_quota(cg, "/sys/fs/cgroup");
    atomic_store_explicit(&g->open, 1, memory_order_relaxed);
    spin_gate_sample(g); /* the first interval starts now */
}

void spin_gate_deinit(spin_gate_t *g)
{
    if (g->fd >= 0) close(g->fd);
    g->fd = -1;
}

/* Parses an unsigned decimal at *p; advances past it and any spaces. */
static uint64_t parse_u64(const char **p, const char *end)
{
    uint64_t v = 0;
    while (*p < end && **p >= '0' && **p <= '9') v = v * 10 + (uint64_t)(*(*p)++ - '0');
    while (*p < end && **p == ' ') (*p)++;
    return v;
}

int64_t spin_busy_ticks(const spin_gate_t *g, const char *text, int len)
{
    const char *p = text, *end = text + len;
    int64_t busy = 0;
    int found = 0, in_cpus = 0;
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p));
        if (!eol) break; /* a cut-off last line is not trusted */
        int cpu_line = eol - p > 4 && memcmp(p, "cpu", 3) == 0;
        if (!cpu_line && in_cpus) break; /* the cpu lines are over */
        in_cpus |= cpu_line;
        if (cpu_line && p[3] >= '0' && p[3] <= '9') {
            const char *q = p + 3;
            long cpu = (long)parse_u64(&q, eol);
            if (cpu_allowed(g, cpu)) {
                uint64_t total = 0, idle = 0;
                /* user nice system idle iowait irq softirq steal ... */
                for (int field = 0; q < eol && field < 8; field++) {
                    uint64_t v = parse_u64(&q, eol);
                    total += v;
                    if (field == 3 || field == 4) idle += v;
                }
                busy += (int64_t)(total - idle);
                found = 1;
            }
        }
        p = eol + 1;
    }
    return found ? busy : -1;
}

void spin_gate_update(spin_gate_t *g, int64_t busy_ns, int64_t own_ns,
                      int64_t wall_ns)
{
    if (wall_ns <= 0) return;
    double others = (double)(busy_ns - own_ns) / (double)wall_ns;
    if (others < 0) others = 0;
    /* The newest interval weighs 1/4: a moment's burst is ridden out,
     * lasting load closes the gate within a few tenths of a second. */
    g->others = (g->others * 3 + others) / 4;
    /* Spinning burns one whole CPU, so it needs one to spare: others
     * may use at most the rest, less 0.9 (0.1 of slack for jiffy
     * rounding and stray daemons).  A process sharing its one CPU with
     * a backend that is busy a fifth of the time must not spin: the
     * backend would wait behind it for a scheduler slice. */
    double cpus = g->nallowed;
    if (g->quota > 0) cpus = (g->quota < cpus ? g->quota : cpus) - 1;
    int open = g->others <= cpus - 0.9;
    atomic_store_explicit(&g->open, open, memory_order_relaxed);
}

void spin_gate_sample(spin_gate_t *g)
{
    if (g->fd < 0) return;
    char text[16384];
    ssize_t r = pread(g->fd, text, sizeof(text), 0);
    int64_t ticks = r > 0 ? spin_busy_ticks(g, text, (int)r) : -1;
    if (ticks < 0) return;
    int64_t own = clock_ns(CLOCK_PROCESS_CPUTIME_ID);
    int64_t wall = clock_ns(CLOCK_MONOTONIC);
    if (g->last_wall_ns)
        spin_gate_update(g, (int64_t)((double)((uint64_t)ticks - g->last_busy) * g->tick_ns),
                         own - g->last_own_ns, wall - g->last_wall_ns);
    g->last_busy = (uint64_t)ticks;
    g->last_own_ns = own;
    g->last_wall_ns = wall;
}
