/*
 * spin.c: the busy-poll gate (see spin.h).
 */
#include "spin.h"

#include <fcntl.h>
#include <unistd.h>

void spin_gate_init(spin_gate_t *g)
{
    g->fd = open("/proc/loadavg", O_RDONLY | O_CLOEXEC);
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    g->ncpu = n > 0 ? (int)n : 1;
    g->avg = 0;
    atomic_store_explicit(&g->open, 1, memory_order_relaxed);
}

void spin_gate_deinit(spin_gate_t *g)
{
    if (g->fd >= 0) close(g->fd);
    g->fd = -1;
}

int spin_parse_loadavg(const char *line, int len)
{
    int i = 0;
    for (int field = 0; field < 3; field++) { /* skip the three averages */
        while (i < len && line[i] != ' ') i++;
        while (i < len && line[i] == ' ') i++;
    }
    int n = 0, digits = 0;
    for (; i < len && line[i] >= '0' && line[i] <= '9' && digits < 9; i++) {
        n = n * 10 + (line[i] - '0');
        digits++;
    }
    if (!digits || i >= len || line[i] != '/') return -1;
    return n;
}

void spin_gate_sample(spin_gate_t *g)
{
    if (g->fd < 0) return;
    char line[128];
    ssize_t r = pread(g->fd, line, sizeof(line), 0);
    int running = r > 0 ? spin_parse_loadavg(line, (int)r) : -1;
    if (running >= 0) spin_gate_update(g, running);
}

void spin_gate_update(spin_gate_t *g, int running)
{
    /* The count includes the thread taking the sample.  An average over
     * the last few samples (the newest weighs 1/4) rides out a moment's
     * burst; half a thread of slack over the CPUs lets a pinned client
     * and server (exactly one runnable thread per CPU) keep spinning
     * through the odd kernel thread. */
    g->avg = (g->avg * 3 + (unsigned)running * 256) / 4;
    int open = g->avg <= (unsigned)g->ncpu * 256 + 128;
    atomic_store_explicit(&g->open, open, memory_order_relaxed);
}
