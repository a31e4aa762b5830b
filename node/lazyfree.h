/*
 * lazyfree.h: freeing big things off the command thread.
 *
 * FLUSHALL ASYNC / FLUSHDB ASYNC swap a fresh keyspace in and hand the old
 * one here; a background thread destroys it while commands keep running.
 * Like Redis's lazyfree (bio.c), one worker thread drains a FIFO queue, so
 * a client repeating FLUSHALL ASYNC queues work instead of creating
 * threads.  The worker is started on first use and detached: nothing has
 * to join it, and at exit the memory goes back with the process.
 *
 * Counters follow Redis's INFO fields: lazyfree_pending_objects (keys
 * queued or being freed) and lazyfreed_objects (keys freed so far).
 */
#ifndef TS_LAZYFREE_H
#define TS_LAZYFREE_H

#include <stddef.h>

#include "keyspace.h"

/*
 * Take ownership of ks (which nobody else may reference any more) and
 * free it with ks_destroy in the background.  Freed synchronously if the
 * worker thread cannot be started.
 */
void lazyfree_keyspace(keyspace_t *ks);

/* Keys queued or being freed right now (INFO lazyfree_pending_objects). */
size_t lazyfree_pending_objects(void);
/* Keys freed in the background since start (INFO lazyfreed_objects). */
size_t lazyfree_freed_objects(void);

#endif
