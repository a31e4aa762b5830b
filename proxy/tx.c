/*
 * tx.c: MULTI / EXEC / DISCARD / WATCH / UNWATCH through the proxy.
 *
 * A transaction must run on one connection to the node that owns its
 * keys, so a client in a transaction (or watching keys) gets a backend
 * link of its own, c->pin, instead of the worker's shared multiplexed
 * links.  The node is chosen by the first keyed command after MULTI or
 * by WATCH's keys; every later key must hash to the same slot, else the
 * client gets Redis Cluster's `-CROSSSLOT` and, inside MULTI, the
 * transaction is flagged so that EXEC answers `-EXECABORT`, as Redis
 * does for a command refused while queueing.
 *
 *   MULTI            answered +OK by the proxy; sent on the pin when the
 *                    node is known (at once if WATCH chose it)
 *   keyless command  before the node is known: kept in c->tx_hold and
 *   inside MULTI     answered +QUEUED, sent after MULTI once it is known
 *   EXEC / DISCARD   forwarded on the pin, which is then released; the
 *                    connection stays open for the client's next
 *                    transaction to the same node
 *   WATCH k...       pins the slot's owner, forwarded
 *   UNWATCH          forwarded, releases the pin
 *
 * While only watching, commands for the pinned slot also go over the pin
 * (so they reach the node in order with WATCH); others route as usual.
 * Replies come back through the client's FIFO like any other, so they
 * stay in request order.  If the pinned link is lost the transaction is
 * over: commands queued after that fail, EXEC answers EXECABORT (or a
 * null array if only the WATCH was lost, as for a touched key).  A
 * pinned link is never parked or redirected: a MOVED inside a
 * transaction is the client's to see, as with Redis Cluster.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "proxy.h"
#include "reply.h"

static void tx_simple(pclient_t *c, const char *s)
{
    reply_t r;
    preq_t *q = route_local_begin(c, &r);
    reply_simple(&r, s);
    route_local_end(q);
}

/* Send a command on the pin whose reply nobody waits for. */
static void pin_send_silent(pclient_t *c, const char *bytes, size_t len)
{
    breq_t *b = breq_alloc(c->w, NULL, c->proto);
    buf_append(&b->cmd, bytes, len);
    backend_send(c->pin, b);
}

static void pin_send_word(pclient_t *c, const char *word)
{
    resp_arg_t av = {word, strlen(word)};
    breq_t *b = breq_alloc(c->w, NULL, c->proto);
    resp_w_command(&b->cmd, 1, &av);
    backend_send(c->pin, b);
}

/* Forward the client's command over the pin; its reply is relayed.
 * wait_ms: see breq_t (0: backend-timeout). */
static void pin_forward_wait(pclient_t *c, int argc, const resp_arg_t *argv,
                             const char *raw, size_t rawlen, long long wait_ms)
{
    preq_t *q = route_enqueue(c, PK_FORWARD);
    q->pending = 1;
    breq_t *b = breq_alloc(c->w, q, c->proto);
    if (raw) buf_append(&b->cmd, raw, rawlen);
    else resp_w_command(&b->cmd, argc, argv);
    b->wait_ms = wait_ms;
    backend_send(c->pin, b);
}

static void pin_forward(pclient_t *c, int argc, const resp_arg_t *argv,
                        const char *raw, size_t rawlen)
{
    pin_forward_wait(c, argc, argv, raw, rawlen, 0);
}

/*
 * How long a blocking command may keep its link busy: its own timeout
 * (seconds, the last argument, or the first for BLMPOP / BZMPOP) plus
 * backend-timeout; -1 for 0 (block forever).  A malformed timeout gives
 * 0 (the node answers an error at once anyway).
 */
static long long blocking_wait_ms(pclient_t *c, const cmd_spec_t *cmd,
                                  int argc, const resp_arg_t *argv)
{
    const resp_arg_t *a = (cmd->id == CMD_BLMPOP || cmd->id == CMD_BZMPOP)
                              ? &argv[1] : &argv[argc - 1];
    char tmp[64];
    if (argc < 2 || a->len == 0 || a->len >= sizeof(tmp)) return 0;
    memcpy(tmp, a->ptr, a->len);
    tmp[a->len] = '\0';
    char *end;
    double secs = strtod(tmp, &end);
    if (*end || !(secs >= 0) || secs > 1e12) return 0;
    if (secs == 0) return -1;
    return (long long)(secs * 1000) + c->w->p->backend_timeout_ms;
}

static void pin_free(backend_t *be)
{
    be->owner = NULL;
    backend_shutdown(be);
    backend_free(be);
}

/* Free the earlier links that owe no more replies. */
static void sweep_old_pins(pclient_t *c)
{
    backend_t **pp = &c->old_pins;
    while (*pp) {
        backend_t *be = *pp;
        if (be->npending == 0) {
            *pp = be->next;
            pin_free(be);
        } else {
            pp = &be->next;
        }
    }
}

/* Pin the client to master idx (slot: what chose it, -1 if none). */
static void pin_open(pclient_t *c, int idx, int slot)
{
    worker_t *w = c->w;
    const char *addr = w->topo->masters[idx].addr;
    sweep_old_pins(c);
    if (c->pin && (strcmp(c->pin->addr, addr) != 0 ||
                   c->pin->proto != c->proto)) {
        backend_t *old = c->pin;
        old->owner = NULL;
        if (old->npending == 0) {
            pin_free(old);
        } else {
            old->next = c->old_pins;
            c->old_pins = old;
        }
        c->pin = NULL;
    }
    if (!c->pin) {
        c->pin = backend_create_pinned(w, addr, c->proto);
        c->pin->owner = c;
    }
    c->pinned = 1;
    c->pin_slot = slot;
}

static void pin_release(pclient_t *c)
{
    c->pinned = 0;
    c->pin_slot = -1;
    c->multi_on_pin = 0;
}

static void tx_reset(pclient_t *c)
{
    c->in_multi = 0;
    c->watching = 0;
    c->tx_dirty = 0;
    c->watch_lost = 0;
    buf_clear(&c->tx_hold);
    buf_shrink(&c->tx_hold, 4096);
    pin_release(c);
}

/* The slot of all of argv's keys: >= 0, -1 without keys, -2 if they are
 * in different slots. */
static int keys_slot(const cmd_spec_t *cmd, int argc, const resp_arg_t *argv)
{
    int idx[64];
    int n = cmdtab_keys(cmd, argc, argv, idx, 64);
    if (n <= 0) return -1;
    int *all = idx;
    if (n > 64) {
        all = ts_malloc(sizeof(int) * (size_t)n);
        n = cmdtab_keys(cmd, argc, argv, all, n);
    }
    int slot = (int)slot_for_key(argv[all[0]].ptr, argv[all[0]].len);
    for (int i = 1; i < n && slot >= 0; i++)
        if ((int)slot_for_key(argv[all[i]].ptr, argv[all[i]].len) != slot)
            slot = -2;
    if (all != idx) ts_free(all);
    return slot;
}

/* Choose the node for slot (or any node if slot < 0) and send MULTI and
 * the held commands; 0 if the slot has no owner. */
static int multi_start_on_node(pclient_t *c, int slot)
{
    worker_t *w = c->w;
    int idx;
    if (slot >= 0) idx = route_owner(w, (unsigned)slot);
    else idx = w->topo->nmasters ? (int)(c->id % (unsigned)w->topo->nmasters)
                                 : -1;
    if (idx < 0) return 0;
    pin_open(c, idx, slot);
    pin_send_word(c, "MULTI");
    c->multi_on_pin = 1;
    if (buf_len(&c->tx_hold)) {
        pin_send_silent(c, buf_rptr(&c->tx_hold), buf_len(&c->tx_hold));
        buf_clear(&c->tx_hold);
    }
    return 1;
}

static void crossslot(pclient_t *c)
{
    if (c->in_multi) c->tx_dirty = 1;
    route_local_error(c, "CROSSSLOT Keys in request don't hash to the same "
                         "slot");
}

/* A command queued inside MULTI. */
static void tx_queue(pclient_t *c, const cmd_spec_t *cmd, int argc,
                     resp_arg_t *argv, const char *raw, size_t rawlen)
{
    const cmd_spec_t *top = cmd->parent ? cmd->parent : cmd;
    if ((top->route == ROUTE_LOCAL && top->id != CMD_PING &&
         top->id != CMD_ECHO && top->id != CMD_TIME) ||
        top->route == ROUTE_NONE ||
        ((cmd->flags & CF_PUBSUB) && top->id != CMD_PUBLISH &&
         top->id != CMD_SPUBLISH)) {
        char msg[160];
        snprintf(msg, sizeof(msg), "ERR tessera-proxy: '%s' is not supported "
                 "inside MULTI through the proxy", cmd->name);
        c->tx_dirty = 1;
        route_local_error(c, msg);
        return;
    }
    if (c->multi_on_pin && c->pin->fd < 0) {
        c->tx_dirty = 1;
        route_local_error(c, "ERR tessera-proxy: the transaction's backend "
                             "connection was lost");
        return;
    }
    if (c->watch_lost) {    /* EXEC will answer null: nothing runs */
        tx_simple(c, "QUEUED");
        return;
    }
    int slot = keys_slot(cmd, argc, argv);
    if (slot == -2 || (slot >= 0 && c->pin_slot >= 0 && slot != c->pin_slot)) {
        crossslot(c);
        return;
    }
    if (!c->multi_on_pin) {
        if (slot < 0) {     /* no node yet: hold it */
            if (raw) buf_append(&c->tx_hold, raw, rawlen);
            else resp_w_command(&c->tx_hold, argc, argv);
            tx_simple(c, "QUEUED");
            return;
        }
        if (!multi_start_on_node(c, slot)) {
            c->tx_dirty = 1;
            route_local_error(c, "CLUSTERDOWN Hash slot not served");
            return;
        }
    } else if (slot >= 0 && c->pin_slot < 0) {
        c->pin_slot = slot;
    }
    pin_forward(c, argc, argv, raw, rawlen);
}

/* EXEC */
static void tx_exec(pclient_t *c, int argc, resp_arg_t *argv,
                    const char *raw, size_t rawlen)
{
    if (!c->in_multi) {
        route_local_error(c, "ERR EXEC without MULTI");
        return;
    }
    if (c->tx_dirty) {
        if (c->multi_on_pin && c->pin->fd >= 0) pin_send_word(c, "DISCARD");
        route_local_error(c, "EXECABORT Transaction discarded because of "
                             "previous errors.");
    } else if (c->watch_lost) {
        /* the WATCH went with the lost link: the keys may have changed */
        if (c->multi_on_pin && c->pin->fd >= 0) pin_send_word(c, "DISCARD");
        reply_t r;
        preq_t *q = route_local_begin(c, &r);
        reply_null_array(&r);
        route_local_end(q);
    } else if (!c->multi_on_pin && buf_len(&c->tx_hold) == 0) {
        reply_t r;      /* MULTI EXEC: nothing to run anywhere */
        preq_t *q = route_local_begin(c, &r);
        reply_array(&r, 0);
        route_local_end(q);
    } else if (!c->multi_on_pin && !multi_start_on_node(c, -1)) {
        route_local_error(c, "CLUSTERDOWN The cluster is down");
    } else {
        pin_forward(c, argc, argv, raw, rawlen);
    }
    tx_reset(c);
}

/* DISCARD */
static void tx_discard(pclient_t *c, int argc, resp_arg_t *argv,
                       const char *raw, size_t rawlen)
{
    if (!c->in_multi) {
        route_local_error(c, "ERR DISCARD without MULTI");
        return;
    }
    if (c->multi_on_pin && c->pin->fd >= 0) pin_forward(c, argc, argv, raw,
                                                        rawlen);
    else tx_simple(c, "OK");
    tx_reset(c);
}

/* WATCH key [key ...] */
static void tx_watch(pclient_t *c, const cmd_spec_t *cmd, int argc,
                     resp_arg_t *argv, const char *raw, size_t rawlen)
{
    if (c->in_multi) {
        route_local_error(c, "ERR WATCH inside MULTI is not allowed");
        return;
    }
    int slot = keys_slot(cmd, argc, argv);
    if (slot == -2 || (c->pinned && c->pin_slot >= 0 && slot != c->pin_slot)) {
        crossslot(c);
        return;
    }
    if (!c->pinned) {
        int idx = route_owner(c->w, (unsigned)slot);
        if (idx < 0) {
            route_local_error(c, "CLUSTERDOWN Hash slot not served");
            return;
        }
        pin_open(c, idx, slot);
        c->watch_lost = 0;
    }
    c->watching = 1;
    pin_forward(c, argc, argv, raw, rawlen);
}

/*
 * BLPOP BRPOP BLMOVE BRPOPLPUSH BLMPOP BZPOPMIN BZPOPMAX BZMPOP: on the
 * client's own link (the node holds the connection until it answers or
 * the client's timeout passes, which a shared link cannot afford), to the
 * owner of the keys' slot.  The link is released at once: the client's
 * later requests take the shared links, and their replies wait behind
 * the blocked one in the client's FIFO, as they would on one connection
 * to Redis.  The link may stay busy for the command's own timeout plus
 * backend-timeout (blocking_wait_ms); client_cron checks pinned links.
 */
static void tx_blocking(pclient_t *c, const cmd_spec_t *cmd, int argc,
                        resp_arg_t *argv, const char *raw, size_t rawlen)
{
    worker_t *w = c->w;
    int slot = keys_slot(cmd, argc, argv);
    if (slot == -2) {
        crossslot(c);
        return;
    }
    if (c->pinned) {    /* watching: only the watched slot */
        if (slot >= 0 && slot != c->pin_slot) {
            crossslot(c);
            return;
        }
        pin_forward_wait(c, argc, argv, raw, rawlen,
                         blocking_wait_ms(c, cmd, argc, argv));
        return;
    }
    int idx;
    if (slot >= 0) idx = route_owner(w, (unsigned)slot);
    else idx = w->topo->nmasters ? (int)(c->id % (unsigned)w->topo->nmasters)
                                 : -1;   /* bad numkeys: the node says so */
    if (idx < 0) {
        route_local_error(c, "CLUSTERDOWN Hash slot not served");
        return;
    }
    pin_open(c, idx, slot);
    pin_forward_wait(c, argc, argv, raw, rawlen,
                     blocking_wait_ms(c, cmd, argc, argv));
    pin_release(c);
}

/* The cases of tx_command's switch below, and its blocking commands. */
int tx_takes(const cmd_spec_t *cmd)
{
    if (cmd->flags & CF_BLOCKING) return 1;
    switch ((cmd->parent ? cmd->parent : cmd)->id) {
    case CMD_MULTI: case CMD_EXEC: case CMD_DISCARD: case CMD_WATCH:
    case CMD_UNWATCH: case CMD_QUIT:
        return 1;
    default:
        return 0;
    }
}

int tx_command(pclient_t *c, const cmd_spec_t *cmd, int argc,
               resp_arg_t *argv, const char *raw, size_t rawlen)
{
    const cmd_spec_t *top = cmd->parent ? cmd->parent : cmd;
    switch (top->id) {
    case CMD_MULTI:
        if (c->in_multi) {
            route_local_error(c, "ERR MULTI calls can not be nested");
        } else if (c->pinned) {     /* WATCH chose the node */
            c->in_multi = 1;
            c->tx_dirty = 0;
            if (c->watch_lost) {
                tx_simple(c, "OK");
            } else {
                c->multi_on_pin = 1;
                pin_forward(c, argc, argv, raw, rawlen);
            }
        } else {
            c->in_multi = 1;
            c->tx_dirty = 0;
            tx_simple(c, "OK");
        }
        return 1;
    case CMD_EXEC:
        tx_exec(c, argc, argv, raw, rawlen);
        return 1;
    case CMD_DISCARD:
        tx_discard(c, argc, argv, raw, rawlen);
        return 1;
    case CMD_WATCH:
        tx_watch(c, cmd, argc, argv, raw, rawlen);
        return 1;
    case CMD_UNWATCH:
        if (c->in_multi) break;
        if (c->pinned && c->pin->fd >= 0) pin_forward(c, argc, argv, raw,
                                                      rawlen);
        else tx_simple(c, "OK");
        tx_reset(c);
        return 1;
    case CMD_QUIT:
        return 0;
    default:
        break;
    }
    if (c->in_multi) {
        tx_queue(c, cmd, argc, argv, raw, rawlen);
        return 1;
    }
    if (cmd->flags & CF_BLOCKING) {
        tx_blocking(c, cmd, argc, argv, raw, rawlen);
        return 1;
    }
    if (c->pinned && c->pin_slot >= 0 && c->pin->fd >= 0 &&
        keys_slot(cmd, argc, argv) == c->pin_slot &&
        (cmd->flags & (CF_BLOCKING | CF_PUBSUB)) == 0) {
        /* watching: the watched slot's commands follow WATCH in order */
        pin_forward(c, argc, argv, raw, rawlen);
        return 1;
    }
    return 0;
}

void tx_pin_lost(backend_t *be)
{
    pclient_t *c = be->owner;
    if (c->pin != be) return;
    if (c->watching) c->watch_lost = 1;
    if (c->in_multi && c->multi_on_pin) c->tx_dirty = 1;
    if (!c->in_multi && !c->watching) pin_release(c);
}

void tx_check_timeouts(pclient_t *c, long long now_ms)
{
    if (c->pin) backend_check_pinned(c->pin, now_ms);
    /* closing an old pin fails its requests; the sweep frees it later */
    for (backend_t *be = c->old_pins; be; be = be->next)
        backend_check_pinned(be, now_ms);
}

void tx_client_reset(pclient_t *c)
{
    if (c->pin && c->pin->fd >= 0) {
        if (c->multi_on_pin) pin_send_word(c, "DISCARD");
        if (c->watching) pin_send_word(c, "UNWATCH");
    }
    tx_reset(c);
}

void tx_client_free(pclient_t *c)
{
    if (c->pin) pin_free(c->pin);
    c->pin = NULL;
    while (c->old_pins) {
        backend_t *be = c->old_pins;
        c->old_pins = be->next;
        pin_free(be);
    }
    buf_deinit(&c->tx_hold);
}
