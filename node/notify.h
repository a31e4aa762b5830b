/*
 * notify.h: keyspace notifications (notify-keyspace-events), as Redis 7.0.
 *
 * A command that changes a key calls notify_key with the event's class and
 * name ("set", "lpush", "del", ...); when the class is enabled the node
 * publishes, through the ordinary pub/sub delivery (pubsub.c),
 *
 *     __keyspace@0__:<key>    <event>     if K is set
 *     __keyevent@0__:<event>  <key>       if E is set
 *
 * in that order.  With notify-keyspace-events "" (the default) the cost of
 * a call is one test of the flags word in node_t.
 *
 * The classes and their letters are Redis's; CONFIG GET prints them in
 * Redis's canonical order (keyspaceEventsFlagsToString): "KEA" reads back
 * as "AKE", and with A every class letter of A is folded into the A (even
 * 'n', which A does not contain: Redis prints "nA" as "A").
 *
 * Which events a command sends, and in which order, is Redis 7.0's
 * (tests/system/test_notify.py compares with redis-server).  One known
 * difference: a RESP3 client subscribed to the notifications of its own
 * writes gets them before the command's reply here, while Redis 7.0
 * places them around the reply depending on the command (after it for
 * LPUSH or HSET, inside a ZPOPMIN array reply).
 */
#ifndef TS_NOTIFY_H
#define TS_NOTIFY_H

#include <stddef.h>

#include "cmd.h"
#include "config.h"
#include "node.h"
#include "resp.h"

/* Event classes, Redis's NOTIFY_* values. */
enum notify_class {
    NOTIFY_KEYSPACE = 1 << 0,  /* K */
    NOTIFY_KEYEVENT = 1 << 1,  /* E */
    NOTIFY_GENERIC = 1 << 2,   /* g: del, expire, rename_from, ... */
    NOTIFY_STRING = 1 << 3,    /* $ */
    NOTIFY_LIST = 1 << 4,      /* l */
    NOTIFY_SET = 1 << 5,       /* s */
    NOTIFY_HASH = 1 << 6,      /* h */
    NOTIFY_ZSET = 1 << 7,      /* z */
    NOTIFY_EXPIRED = 1 << 8,   /* x */
    NOTIFY_EVICTED = 1 << 9,   /* e */
    NOTIFY_STREAM = 1 << 10,   /* t (no streams yet: accepted, never sent) */
    NOTIFY_KEY_MISS = 1 << 11, /* m: read lookups of missing keys */
    NOTIFY_LOADED = 1 << 12,   /* modules only in Redis: no letter */
    NOTIFY_MODULE = 1 << 13,   /* d (no modules: accepted, never sent) */
    NOTIFY_NEW = 1 << 14,      /* n: a key was created */
};
/* 'A': every class but K, E, m and n. */
#define NOTIFY_ALL                                                             \
    (NOTIFY_GENERIC | NOTIFY_STRING | NOTIFY_LIST | NOTIFY_SET | NOTIFY_HASH | \
     NOTIFY_ZSET | NOTIFY_EXPIRED | NOTIFY_EVICTED | NOTIFY_STREAM |           \
     NOTIFY_MODULE)

/* Parse a class string ("KEA", "Ex", ""); -1 on an unknown letter. */
int notify_parse_flags(const char *s);
/* The canonical text of flags into out (>= 16 bytes). */
void notify_flags_string(int flags, char *out, size_t outsz);

/* The option's hooks (options.c's table: notify-keyspace-events). */
const char *notify_config_set(const config_opt_t *o, void *ctx, int argc,
                              char **argv);
void notify_config_get(const config_opt_t *o, void *ctx, char *out,
                       size_t outsz);

/* Publish the event (out of line; call through notify_key). */
void notify_publish(node_t *n, int type, const char *event, const char *key,
                    size_t klen);

/*
 * Redis's notifyKeyspaceEvent(type, event, key, 0).  type is one class
 * (NOTIFY_LIST, ...); event a NUL-terminated name.  Nothing is sent when
 * the class is off or neither K nor E is set.
 */
static inline void notify_key(node_t *n, int type, const char *event,
                              const resp_arg_t *key)
{
    if (n->notify_flags & type)
        notify_publish(n, type, event, key->ptr, key->len);
}

/*
 * Redis's setKey: a blind overwrite (SET, MSET, the *STORE commands) first
 * looks the key up, which may expire it ("expired"), and announces "new"
 * if it was absent.  Both are visible only to subscribers, so the lookup
 * is made only when notifications are on.
 */
void notify_new_lookup(cmdctx_t *ctx, const resp_arg_t *key);
static inline void notify_new_if_absent(cmdctx_t *ctx, const resp_arg_t *key)
{
    if (ctx->node->notify_flags) notify_new_lookup(ctx, key);
}

/* The same for a key given as bytes (expiry, eviction). */
static inline void notify_keyb(node_t *n, int type, const char *event,
                               const char *key, size_t klen)
{
    if (n->notify_flags & type) notify_publish(n, type, event, key, klen);
}

#endif
