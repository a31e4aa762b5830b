/*
 * notify.c: keyspace notifications (see notify.h), after Redis 7.0's
 * notify.c.
 *
 * The flags word lives in node_t (notify_flags) so that notify_key, inline
 * in every write path, tests it without a call.  Publishing builds the
 * channel name in a stack buffer (a heap one only for keys longer than
 * NOTIFY_STACK bytes) and hands it to pubsub_publish, which delivers to
 * channel and pattern subscribers in each one's protocol.  With no
 * subscriber at all nothing is built.
 *
 * Only database 0 exists, so the channels are always
 * "__keyspace@0__:<key>" and "__keyevent@0__:<event>".
 */
#include "notify.h"

#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "db.h"
#include "pubsub.h"

#define NOTIFY_STACK    256
#define KEYSPACE_PREFIX "__keyspace@0__:"
#define KEYEVENT_PREFIX "__keyevent@0__:"

/* The letters, in the order Redis prints them (keyspaceEventsFlagsToString:
 * classes first unless folded into A, then K, E, m). */
static const struct {
    char c;
    int flag;
} class_letters[] = {
    {'g', NOTIFY_GENERIC}, {'$', NOTIFY_STRING},  {'l', NOTIFY_LIST},
    {'s', NOTIFY_SET},     {'h', NOTIFY_HASH},    {'z', NOTIFY_ZSET},
    {'x', NOTIFY_EXPIRED}, {'e', NOTIFY_EVICTED}, {'t', NOTIFY_STREAM},
    {'d', NOTIFY_MODULE},  {'n', NOTIFY_NEW},
};

/* The class bit of a letter ('g', '$', ...), or 0. */
static int class_flag(char c)
{
    for (size_t i = 0; i < sizeof(class_letters) / sizeof(class_letters[0]);
         i++)
        if (class_letters[i].c == c) return class_letters[i].flag;
    return 0;
}

int notify_parse_flags(const char *s)
{
    int flags = 0;
    for (; *s; s++) {
        switch (*s) {
        case 'A': flags |= NOTIFY_ALL; break;
        case 'K': flags |= NOTIFY_KEYSPACE; break;
        case 'E': flags |= NOTIFY_KEYEVENT; break;
        case 'm': flags |= NOTIFY_KEY_MISS; break;
        default: {
            int f = class_flag(*s);
            if (!f) return -1;
            flags |= f;
        }
        }
    }
    return flags;
}

void notify_flags_string(int flags, char *out, size_t outsz)
{
    char tmp[32];
    size_t len = 0;
    if ((flags & NOTIFY_ALL) == NOTIFY_ALL) {
        tmp[len++] = 'A'; /* and, as Redis, 'n' is not printed */
    } else {
        for (size_t i = 0; i < sizeof(class_letters) / sizeof(class_letters[0]);
             i++)
            if (flags & class_letters[i].flag) tmp[len++] = class_letters[i].c;
    }
    if (flags & NOTIFY_KEYSPACE) tmp[len++] = 'K';
    if (flags & NOTIFY_KEYEVENT) tmp[len++] = 'E';
    if (flags & NOTIFY_KEY_MISS) tmp[len++] = 'm';
    tmp[len] = '\0';
    snprintf(out, outsz, "%s", tmp);
}

const char *notify_config_set(const config_opt_t *o, void *ctx, int argc,
                              char **argv)
{
    (void)o;
    if (argc != 1) return "wrong number of arguments";
    int flags = notify_parse_flags(argv[0]);
    if (flags == -1)
        return "Invalid event class character. Use 'Ag$lshzxeKEtmdn'.";
    ((node_t *)ctx)->notify_flags = flags;
    return NULL;
}

void notify_config_get(const config_opt_t *o, void *ctx, char *out,
                       size_t outsz)
{
    (void)o;
    notify_flags_string(((node_t *)ctx)->notify_flags, out, outsz);
}

/* Publish prefix+name on a channel, msg as the message. */
static void publish_prefixed(node_t *n, const char *prefix, size_t plen,
                             const char *name, size_t nlen, const char *msg,
                             size_t mlen)
{
    char stack[NOTIFY_STACK];
    char *heap = nlen > NOTIFY_STACK - plen ? ts_malloc(plen + nlen) : NULL;
    char *ch = heap ? heap : stack;
    memcpy(ch, prefix, plen);
    memcpy(ch + plen, name, nlen);
    pubsub_publish(n, ch, plen + nlen, msg, mlen);
    ts_free(heap);
}

void notify_publish(node_t *n, int type, const char *event, const char *key,
                    size_t klen)
{
    int flags = n->notify_flags;
    if (!(flags & type) || !n->pubsub) return;
    size_t elen = strlen(event);
    if (flags & NOTIFY_KEYSPACE)
        publish_prefixed(n, KEYSPACE_PREFIX, sizeof(KEYSPACE_PREFIX) - 1, key,
                         klen, event, elen);
    if (flags & NOTIFY_KEYEVENT)
        publish_prefixed(n, KEYEVENT_PREFIX, sizeof(KEYEVENT_PREFIX) - 1, event,
                         elen, key, klen);
}

void notify_new_lookup(cmdctx_t *ctx, const resp_arg_t *key)
{
    if (!db_lookup_write(ctx, key))
        notify_key(ctx->node, NOTIFY_NEW, "new", key);
}
