/*
 * forkguard.h: keep background threads out of the allocator while the main
 * thread forks, in sanitizer builds.
 *
 * jemalloc and glibc malloc lock their arenas around fork() themselves.
 * ASan's allocator (GCC 12's libsanitizer) does not: a fork while another
 * thread is inside malloc/free copies that thread's allocator lock, held,
 * into the child, whose first free then waits forever (seen as a BGSAVE /
 * AOF-rewrite child that never finishes).  Threads that allocate (lazyfree,
 * the cluster resolver) wrap each unit of work in forkguard_enter/leave;
 * with ASan on, fork() waits for the unit to end.  Elsewhere the calls are
 * empty.  A thread must also have started running before the next fork
 * (its set-up allocates too): creators wait for that themselves.
 */
#ifndef TESSERA_FORKGUARD_H
#define TESSERA_FORKGUARD_H

#if defined(__SANITIZE_ADDRESS__)
#define TESSERA_FORKGUARD 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TESSERA_FORKGUARD 1
#endif
#endif

#ifdef TESSERA_FORKGUARD
void forkguard_enter(void);
void forkguard_leave(void);
#else
static inline void forkguard_enter(void) {}
static inline void forkguard_leave(void) {}
#endif

#endif
