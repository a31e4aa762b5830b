/*
 * forkguard.c: see forkguard.h.  One process-wide mutex: background
 * threads hold it around work that allocates, and the pthread_atfork
 * prepare handler takes it, so fork() happens between units of work.
 */
#include "forkguard.h"

#ifdef TESSERA_FORKGUARD
#include <pthread.h>

static pthread_mutex_t guard = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void prepare(void) { pthread_mutex_lock(&guard); }
static void release(void) { pthread_mutex_unlock(&guard); }
static void install(void) { pthread_atfork(prepare, release, release); }

void forkguard_enter(void)
{
    pthread_once(&once, install);
    pthread_mutex_lock(&guard);
}

void forkguard_leave(void) { pthread_mutex_unlock(&guard); }
#else
/* ISO C wants a translation unit to declare something */
typedef int forkguard_unused_t;
#endif
