/*
 * busobs.h: tessera-proxy as an observer on the Tessera cluster bus
 * (busobs.c; protocol in docs/cluster-bus.md, "Observers").
 */
#ifndef TS_PROXY_BUSOBS_H
#define TS_PROXY_BUSOBS_H

#include "buf.h"

struct proxy;

/* Start observing (main thread, after p->base exists): a no-op when the
 * proxy has neither cluster-secret nor cluster-bus-insecure yes, or
 * bus-observer no, or fronts a single backend.  0, or -1 on error. */
int busobs_setup(struct proxy *p);
/* Close every bus link; safe without a setup. */
void busobs_teardown(struct proxy *p);
/* "bus_observer:..." lines for PROXY / INFO (appends to b; any thread). */
void busobs_describe(struct proxy *p, buf_t *b);

#endif
