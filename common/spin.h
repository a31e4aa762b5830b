/*
 * spin.h: whether a busy-polling event loop may spin right now.
 *
 * A loop that keeps polling after a burst of input (busy-poll-us) only
 * gains while a CPU is otherwise idle: then the next request finds it
 * running and nobody pays a sleep and a cross-CPU wake-up.  When the
 * machine has more runnable threads than CPUs, spinning takes time from
 * someone else, so the gate closes.  The gate samples the kernel's count
 * of runnable threads (/proc/loadavg, one pread) from a cron, smooths it,
 * and opens while the average stays within the number of online CPUs
 * (plus half a thread of slack).  Where /proc cannot be read the gate stays open.
 */
#ifndef TS_SPIN_H
#define TS_SPIN_H

#include <stdatomic.h>

typedef struct spin_gate {
    int fd;             /* /proc/loadavg, or -1 */
    int ncpu;           /* online CPUs */
    unsigned avg;       /* runnable threads, fixed point x256, smoothed */
    atomic_int open;    /* read by any thread, relaxed */
} spin_gate_t;

void spin_gate_init(spin_gate_t *g);
void spin_gate_deinit(spin_gate_t *g);

/* Take a sample and update the gate; call from one thread, ~10 times a
 * second. */
void spin_gate_sample(spin_gate_t *g);

/* Fold one sample of the machine's runnable threads into the gate. */
void spin_gate_update(spin_gate_t *g, int running);

/* Parses the runnable count out of a /proc/loadavg line ("0.12 0.30 0.41
 * 3/512 1234"): the count, or -1 if the line is not of that shape. */
int spin_parse_loadavg(const char *line, int len);

static inline int spin_gate_open(spin_gate_t *g)
{
    return atomic_load_explicit(&g->open, memory_order_relaxed);
}

#endif
