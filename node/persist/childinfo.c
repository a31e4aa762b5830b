/*
 * childinfo.c: what a fork child tells its parent while it runs, Redis
 * 7.0's childinfo.c.
 *
 * A child (BGSAVE, BGREWRITEAOF, diskless full sync) shares the parent's
 * pages copy-on-write; every page the parent writes afterwards is copied,
 * and the child's old copy becomes Private_Dirty in the child.  So the
 * child measures its own Private_Dirty sum (/proc/self/smaps_rollup, one
 * line; /proc/self/smaps on older kernels) and writes fixed-size reports
 * to a pipe: about once a second while it writes keys (the current_*
 * fields of INFO persistence), and once at the end (rdb_last_cow_size or
 * aof_last_cow_size, set to the peak seen).  Reports are smaller than
 * PIPE_BUF, hence written and read whole; the parent drains the
 * nonblocking read end from its cron and once more after reaping the
 * child, then resets the current_* fields.
 *
 * Measuring walks the page tables, so while a save runs the child does it
 * at most 1% of the time (the last measurement's cost times 100 must have
 * passed), like Redis's CHILD_COW_DUTY_CYCLE.
 *
 * One child at a time: a fork while a pipe is open (cannot happen through
 * the forkers, which refuse to run two children) gets no pipe, and its
 * reports are simply absent.
 */
#include "childinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "keyspace.h"
#include "log.h"

#define COW_DUTY_CYCLE   100 /* measure at most 1/100 of the time */
#define REPORT_PERIOD_MS 1000
#define KEYS_PER_CHECK   1024 /* look at the clock once per this many keys */

typedef struct {
    int final;                /* 1: the end-of-child report */
    size_t keys;              /* keys written so far */
    size_t cow;               /* Private_Dirty bytes */
    long long cow_updated_us; /* monotonic time of that measurement */
} ci_msg_t;

struct childinfo {
    /* both sides */
    int rfd, wfd; /* parent's read end; child's write end */
    pid_t pid;    /* the child owning the pipe; -1 none */
    childinfo_kind_t kind;
    /* parent: INFO */
    size_t cur_peak, cur_cow, cur_keys, keys_total;
    long long cur_updated_us;
    size_t last_cow[2]; /* by kind */
    long long latest_fork_usec, total_forks;
    /* child: its own measurements */
    size_t keys;
    long long last_report_ms;
    size_t cow, cow_peak;
    unsigned long long cow_sum, cow_samples;
    long long cow_updated_us, cow_cost_us;
};

int childinfo_setup(node_t *n)
{
    struct childinfo *ci = ts_calloc(1, sizeof(*ci));
    ci->rfd = ci->wfd = -1;
    ci->pid = -1;
    n->childinfo = ci;
    return 0;
}

static void close_pipe(struct childinfo *ci)
{
    if (ci->rfd >= 0) close(ci->rfd);
    if (ci->wfd >= 0) close(ci->wfd);
    ci->rfd = ci->wfd = -1;
    ci->pid = -1;
}

void childinfo_teardown(node_t *n)
{
    if (!n->childinfo) return;
    close_pipe(n->childinfo);
    ts_free(n->childinfo);
    n->childinfo = NULL;
}

/* ---- measuring -------------------------------------------------------- */

/* The sum of the "Private_Dirty: <n> kB" lines of one smaps file; -1 if
 * it cannot be opened. */
static long long smaps_private_dirty(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    static const char field[] = "Private_Dirty:";
    char line[256];
    long long kb = 0;
    while (fgets(line, sizeof(line), f)) {
        if (strncmp(line, field, sizeof(field) - 1) != 0) continue;
        kb += strtoll(line + sizeof(field) - 1, NULL, 10);
    }
    fclose(f);
    return kb * 1024;
}

size_t childinfo_private_dirty(void)
{
    long long b = smaps_private_dirty("/proc/self/smaps_rollup");
    if (b < 0) b = smaps_private_dirty("/proc/self/smaps");
    return b < 0 ? 0 : (size_t)b;
}

/* ---- forking ---------------------------------------------------------- */

pid_t childinfo_fork(node_t *n, childinfo_kind_t kind)
{
    struct childinfo *ci = n->childinfo;
    int fds[2] = {-1, -1};
    int piped = ci && ci->pid < 0 && pipe2(fds, O_CLOEXEC) == 0;
    if (piped) fcntl(fds[0], F_SETFL, O_NONBLOCK);
    long long t0 = node_mono_us();
    pid_t pid = fork();
    if (pid == 0) {
        if (ci) {
            if (piped) close(fds[0]);
            ci->rfd = -1;
            ci->wfd = piped ? fds[1] : -1;
            ci->kind = kind;
            ci->keys = 0;
            ci->last_report_ms = 0;
            ci->cow = ci->cow_peak = 0;
            ci->cow_sum = ci->cow_samples = 0;
            ci->cow_updated_us = ci->cow_cost_us = 0;
        }
        return 0;
    }
    if (piped) close(fds[1]);
    if (pid < 0) {
        if (piped) close(fds[0]);
        return pid;
    }
    if (!ci) return pid;
    ci->latest_fork_usec = node_mono_us() - t0;
    ci->total_forks++;
    if (piped) {
        ci->rfd = fds[0];
        ci->pid = pid;
        ci->kind = kind;
        ci->cur_peak = ci->cur_cow = ci->cur_keys = 0;
        ci->cur_updated_us = 0;
        ci->keys_total = ks_size(n->ks);
    }
    return pid;
}

/* ---- the child -------------------------------------------------------- */

static const char *kind_name(childinfo_kind_t kind)
{
    return kind == CI_AOF ? "AOF rewrite" : "RDB";
}

/* sendChildInfoGeneric: measure (unless a current report came too soon
 * after the last measurement) and write one report. */
static void send_report(struct childinfo *ci, int final)
{
    long long now = node_mono_us();
    if (final || !ci->cow_updated_us ||
        now - ci->cow_updated_us > ci->cow_cost_us * COW_DUTY_CYCLE) {
        ci->cow = childinfo_private_dirty();
        ci->cow_updated_us = node_mono_us();
        ci->cow_cost_us = ci->cow_updated_us - now;
        if (ci->cow > ci->cow_peak) ci->cow_peak = ci->cow;
        ci->cow_sum += ci->cow;
        ci->cow_samples++;
        log_msg(final ? LL_NOTICE : LL_VERBOSE,
                "Fork CoW for %s: current %zu MB, peak %zu MB, average %llu "
                "MB",
                kind_name(ci->kind), ci->cow >> 20, ci->cow_peak >> 20,
                (ci->cow_sum / ci->cow_samples) >> 20);
    }
    ci_msg_t m = {final, ci->keys, ci->cow, ci->cow_updated_us};
    ssize_t w;
    do {
        w = write(ci->wfd, &m, sizeof(m));
    } while (w < 0 && errno == EINTR);
}

/* debugDelay: a negative delay -N sleeps 1 us with probability 1/N, since
 * even the shortest sleep costs a context switch. */
static void key_delay(long long usec)
{
    if (usec < 0) usec = (rand() % -usec) == 0 ? 1 : 0;
    if (usec) usleep((useconds_t)usec);
}

void childinfo_key_saved(node_t *n)
{
    if (n->rdb_key_save_delay) key_delay(n->rdb_key_save_delay);
    struct childinfo *ci = n->childinfo;
    if (!ci || ci->wfd < 0) return;
    if ((ci->keys++ & (KEYS_PER_CHECK - 1)) != 0) return;
    long long now = node_unix_ms();
    if (now - ci->last_report_ms < REPORT_PERIOD_MS) return;
    send_report(ci, 0);
    ci->last_report_ms = now;
}

void childinfo_send_final(node_t *n)
{
    struct childinfo *ci = n->childinfo;
    if (ci && ci->wfd >= 0) send_report(ci, 1);
}

/* ---- the parent ------------------------------------------------------- */

void childinfo_receive(node_t *n)
{
    struct childinfo *ci = n->childinfo;
    if (!ci || ci->rfd < 0) return;
    ci_msg_t m;
    for (;;) {
        ssize_t r = read(ci->rfd, &m, sizeof(m));
        if (r < 0 && errno == EINTR) continue;
        if (r != (ssize_t)sizeof(m)) break; /* empty, EOF, or torn */
        if (m.cow > ci->cur_peak) ci->cur_peak = m.cow;
        if (m.final) {
            ci->last_cow[ci->kind] = ci->cur_peak;
        } else {
            ci->cur_cow = m.cow;
            ci->cur_updated_us = m.cow_updated_us;
            ci->cur_keys = m.keys;
        }
    }
}

void childinfo_child_done(node_t *n, pid_t pid)
{
    struct childinfo *ci = n->childinfo;
    if (!ci || ci->pid != pid || pid < 0) return;
    childinfo_receive(n);
    close_pipe(ci);
    ci->cur_peak = ci->cur_cow = ci->cur_keys = ci->keys_total = 0;
    ci->cur_updated_us = 0;
}

/* ---- INFO ------------------------------------------------------------- */

void childinfo_info_current(node_t *n, buf_t *o)
{
    static const struct childinfo none = {.rfd = -1, .wfd = -1, .pid = -1};
    const struct childinfo *ci = n->childinfo ? n->childinfo : &none;
    double perc = 0;
    if (ci->keys_total)
        perc = (double)ci->cur_keys / (double)ci->keys_total * 100;
    long long age = ci->cur_updated_us
                        ? (node_mono_us() - ci->cur_updated_us) / 1000000
                        : 0;
    buf_printf(o,
               "current_cow_peak:%zu\r\n"
               "current_cow_size:%zu\r\n"
               "current_cow_size_age:%lld\r\n"
               "current_fork_perc:%.2f\r\n"
               "current_save_keys_processed:%zu\r\n"
               "current_save_keys_total:%zu\r\n",
               ci->cur_peak, ci->cur_cow, age, perc, ci->cur_keys,
               ci->keys_total);
}

size_t childinfo_last_cow(const node_t *n, childinfo_kind_t kind)
{
    return n->childinfo ? n->childinfo->last_cow[kind] : 0;
}

long long childinfo_latest_fork_usec(const node_t *n)
{
    return n->childinfo ? n->childinfo->latest_fork_usec : 0;
}

long long childinfo_total_forks(const node_t *n)
{
    return n->childinfo ? n->childinfo->total_forks : 0;
}
