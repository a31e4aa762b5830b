/*
 * route.c: where each client request goes, and how replies come back.
 *
 * route_request runs the checks a node runs (unknown command, arity,
 * authentication), answers local commands (local.c), refuses what the
 * proxy cannot do yet with an error that says so, and otherwise:
 *
 *   one key, or all keys in one slot    -> forwarded as is to the owner
 *   MGET MSET DEL UNLINK EXISTS TOUCH   -> split into one sub-request per
 *     over several slots                   node (Tessera, TESSERA
 *                                          MULTISLOT) or per slot (Redis
 *                                          Cluster refuses cross-slot
 *                                          requests even on one node),
 *                                          merged in key order
 *   other multi-key commands            -> -CROSSSLOT
 *   KEYS DBSIZE FLUSHALL FLUSHDB        -> every master, merged
 *   RANDOMKEY INFO(keyspace)
 *   SCAN                                -> one master at a time; the
 *                                          cursor carries the master index
 *
 * In single-backend mode (the seed is not a cluster node) everything
 * routable is forwarded unchanged to that node.
 *
 * route_on_reply takes each backend reply: MOVED (follow, refresh the
 * map), ASK (ASKING + resend to the target), TRYAGAIN / CLUSTERDOWN
 * (retry with backoff within `retry-budget`), otherwise relay or merge.
 */
#include <event2/event.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "auth.h"
#include "log.h"
#include "proxy.h"
#include "reply.h"

/* SCAN cursors: node cursor << SCAN_NODE_BITS | master index. */
#define SCAN_NODE_BITS 10
#define SCAN_MAX_NODES (1 << SCAN_NODE_BITS)

/* ---- the client's FIFO ---------------------------------------------- */

preq_t *route_enqueue(pclient_t *c, int kind)
{
    preq_t *q = preq_alloc(c->w, c, kind);
    if (c->tail) c->tail->next = q;
    else c->head = q;
    c->tail = q;
    c->npending++;
    return q;
}

preq_t *route_local_begin(pclient_t *c, reply_t *r)
{
    preq_t *q = route_enqueue(c, PK_LOCAL);
    reply_init(r, &q->reply, c->proto);
    return q;
}

void route_local_end(preq_t *q)
{
    client_preq_done(q);
}

static void local_error(pclient_t *c, const char *text)
{
    reply_t r;
    preq_t *q = route_local_begin(c, &r);
    reply_error(&r, text);
    wstat_inc(&c->w->st.errors);
    route_local_end(q);
}

void route_local_error(pclient_t *c, const char *text)
{
    local_error(c, text);
}

/* ---- errors as the node words them ---------------------------------- */

static void unknown_command(pclient_t *c, int argc, const resp_arg_t *argv)
{
    char args[256];
    size_t alen = 0;
    for (int i = 1; i < argc && alen < 128; i++) {
        size_t room = 128 - alen;
        size_t n = strnlen(argv[i].ptr, argv[i].len);
        if (n > room) n = room;
        args[alen++] = '\'';
        memcpy(args + alen, argv[i].ptr, n);
        alen += n;
        args[alen++] = '\'';
        args[alen++] = ' ';
    }
    args[alen] = '\0';
    size_t nlen = strnlen(argv[0].ptr, argv[0].len);
    reply_t r;
    preq_t *q = route_local_begin(c, &r);
    reply_errorf(&r, "ERR unknown command '%.*s', with args beginning with: %s",
                 (int)(nlen > 128 ? 128 : nlen), argv[0].ptr, args);
    route_local_end(q);
}

static void unknown_subcommand(pclient_t *c, const cmd_spec_t *parent,
                               const resp_arg_t *sub)
{
    char upper[64];
    size_t i;
    for (i = 0; parent->name[i] && i < sizeof(upper) - 1; i++)
        upper[i] = (char)(parent->name[i] >= 'a' && parent->name[i] <= 'z'
                              ? parent->name[i] - 32
                              : parent->name[i]);
    upper[i] = '\0';
    reply_t r;
    preq_t *q = route_local_begin(c, &r);
    reply_errorf(&r, "ERR unknown subcommand '%.*s'. Try %s HELP.",
                 (int)(sub->len > 128 ? 128 : sub->len), sub->ptr, upper);
    route_local_end(q);
}

/* ---- sending ---------------------------------------------------------- */

/* Send b to be, unless its client has requests parked for a failover:
 * then b waits behind them, so the client's requests reach the cluster
 * in the order it sent them (its replies wait for theirs anyway). */
static void dispatch(breq_t *b, backend_t *be)
{
    pclient_t *c = b->parent ? b->parent->c : NULL;
    if (c && c->nparked > 0 &&
        !(b->wait_until_ms && proxy_mono_ms() >= b->wait_until_ms)) {
        char err[256];
        snprintf(err, sizeof(err), "ERR tessera-proxy: backend %s: request "
                 "held behind one waiting for a failover", be->addr);
        route_park(b, be, err);
        return;
    }
    backend_send(be, b);
}

static void send_to_node(worker_t *w, breq_t *b, int idx, int slot)
{
    b->slot = slot;
    b->deadline_ms = w->now_ms + w->p->retry_budget_ms;
    backend_t *be;
    if (b->read) {
        be = replica_route(w, b, idx);
        if (!be) return;    /* failed: read-from replica, none reachable */
    } else {
        be = backend_for_node(w, idx, b->proto);
    }
    dispatch(b, be);
}

/* May c's current command (with keys) be read from a replica? */
static int replica_read(const pclient_t *c)
{
    return c->w->p->read_from != READ_MASTER && !c->w->topo->single &&
           c->last_cmd >= 0 &&
           (cmdtab_get((cmd_id_t)c->last_cmd)->flags & CF_READONLY);
}

/* Owner of slot, or -1 (the reply then is CLUSTERDOWN). */
int route_owner(worker_t *w, unsigned slot)
{
    uint16_t o = w->topo->owner[slot];
    if (o == TOPO_NO_OWNER || o >= w->topo->nmasters) return -1;
    return o;
}

static void clusterdown(pclient_t *c)
{
    topo_request_refresh(c->w->p);
    local_error(c, "CLUSTERDOWN Hash slot not served");
}

static void forward(pclient_t *c, int idx, int slot, int argc,
                    const resp_arg_t *argv, const char *raw, size_t rawlen)
{
    worker_t *w = c->w;
    preq_t *q = route_enqueue(c, PK_FORWARD);
    q->pending = 1;
    breq_t *b = breq_alloc(w, q, c->proto);
    if (raw) buf_append(&b->cmd, raw, rawlen);
    else resp_w_command(&b->cmd, argc, argv);
    b->read = slot >= 0 && replica_read(c);
    send_to_node(w, b, idx, slot);
}

/* Send the same command (argv, or argv with argv[1] replaced) to every
 * master; the replies merge as `kind`. */
static preq_t *fanout(pclient_t *c, int kind, int proto, int argc,
                      const resp_arg_t *argv)
{
    worker_t *w = c->w;
    int n = w->topo->nmasters;
    preq_t *q = route_enqueue(c, kind);
    q->subs = ts_calloc((size_t)n, sizeof(breq_t *));
    q->nsub = n;
    q->pending = n;
    for (int i = 0; i < n; i++) {
        breq_t *b = breq_alloc(w, q, proto);
        resp_w_command(&b->cmd, argc, argv);
        q->subs[i] = b;
    }
    /* subs are all registered before any can complete */
    for (int i = 0; i < n; i++) send_to_node(w, q->subs[i], i, -1);
    return q;
}

#define KEYS_STACK 64

/* ---- multi-key split --------------------------------------------------- */

/*
 * MGET MSET DEL UNLINK EXISTS TOUCH with keys in several slots.  Redis
 * Cluster refuses keys of several slots in one command even when one
 * node owns them all, so for Redis the split is one sub-request per
 * slot.  A Tessera node takes them on a link that said TESSERA MULTISLOT
 * ON (backend.c) as long as it serves every slot, so there the split is
 * one sub-request per node.  A link whose answer is not back yet counts
 * as accepting: the opt-in was written ahead of everything on it.  A
 * per-node sub-request the node refuses (-CROSSSLOT: a slot moving or
 * the map stale; a Redis node) is split per slot when the refusal comes
 * back (resplit), so nothing but that one sub-request is sent again.
 *
 * Each sub-request keeps its keys in their original relative order and
 * q->keymap[i] names the sub-request that answers key i, which is all
 * the merge needs (merge_mget).  O(keys): while a split runs,
 * w->slot_group maps a slot and w->node_group a master to its group (all
 * -1 between calls); a counting sort lists each group's keys.
 */

typedef struct split {
    int ngroups;
    int *gid;           /* per key: its group (becomes q->keymap) */
    unsigned *gslot;    /* per group: the slot of its first key */
    int *gnode;         /* per group: the master, -1 for resplit's */
    char *gmulti;       /* per group: keys of more than one slot */
    unsigned *seen;     /* distinct slots met (to reset slot_group) */
    int nseen;
} split_t;

/* One allocation for the per-request arrays (no per-key malloc). */
static void split_init(split_t *sp, int nkeys)
{
    size_t n = (size_t)nkeys;
    sp->ngroups = 0;
    sp->nseen = 0;
    sp->gid = ts_malloc(n * sizeof(int));   /* handed to q, freed there */
    char *m = ts_malloc(n * (2 * sizeof(unsigned) + sizeof(int) + 1));
    sp->gslot = (unsigned *)m;
    sp->seen = sp->gslot + n;
    sp->gnode = (int *)(sp->seen + n);
    sp->gmulti = (char *)(sp->gnode + n);
}

static void split_deinit(split_t *sp)
{
    ts_free(sp->gslot);
}

/* May master o's keys of several slots go in one sub-request? */
static int pernode_ok(worker_t *w, int o, int proto)
{
    return w->p->multislot && backend_for_node(w, o, proto)->multislot >= 0;
}

/* Group the keys by slot, or by node where pernode_ok (pernode set);
 * 0, or -1 if a slot has no owner (nothing to reset then). */
static int split_group(worker_t *w, split_t *sp, const unsigned *slots,
                       int nkeys, int pernode, int proto)
{
    if (pernode && w->node_group_len < w->topo->nmasters) {
        w->node_group = ts_realloc(w->node_group,
                                   sizeof(int) * (size_t)w->topo->nmasters);
        for (int i = w->node_group_len; i < w->topo->nmasters; i++)
            w->node_group[i] = -1;
        w->node_group_len = w->topo->nmasters;
    }
    int rc = 0;
    for (int i = 0; i < nkeys; i++) {
        unsigned s = slots[i];
        int g = w->slot_group[s];
        if (g < 0) {
            int o = pernode ? route_owner(w, s) : -1;
            if (pernode && o < 0) {
                rc = -1;
                break;
            }
            if (o >= 0 && w->node_group[o] >= 0) {
                g = w->node_group[o];
                sp->gmulti[g] = 1;
            } else {
                g = sp->ngroups++;
                sp->gslot[g] = s;
                sp->gnode[g] = o;
                sp->gmulti[g] = 0;
                if (o >= 0 && pernode_ok(w, o, proto)) w->node_group[o] = g;
            }
            w->slot_group[s] = g;
            sp->seen[sp->nseen++] = s;
        }
        sp->gid[i] = g;
    }
    for (int i = 0; i < sp->nseen; i++) w->slot_group[sp->seen[i]] = -1;
    for (int g = 0; g < sp->ngroups; g++)
        if (sp->gnode[g] >= 0) w->node_group[sp->gnode[g]] = -1;
    return rc;
}

/* Build group g's sub-request into subs[g] for g in [0, ngroups): the
 * command argv[0] and, in key order, each key's `step` arguments
 * (argv[1 + i * step] ...). */
static void split_build(worker_t *w, preq_t *q, breq_t **subs,
                        const split_t *sp, int nkeys, int step,
                        const resp_arg_t *argv)
{
    int ng = sp->ngroups;
    /* first[g] .. first[g+1]: positions in `order` of group g's keys */
    int *first = ts_calloc((size_t)ng + 1 + (size_t)ng + (size_t)nkeys,
                           sizeof(int));
    int *fill = first + ng + 1, *order = fill + ng;
    for (int i = 0; i < nkeys; i++) first[sp->gid[i] + 1]++;
    for (int g = 0; g < ng; g++) first[g + 1] += first[g];
    memcpy(fill, first, sizeof(int) * (size_t)ng);
    for (int i = 0; i < nkeys; i++) order[fill[sp->gid[i]]++] = i;
    resp_arg_t *sub = ts_malloc(sizeof(resp_arg_t) *
                                (1 + (size_t)nkeys * (size_t)step));
    for (int g = 0; g < ng; g++) {
        int n = 0;
        sub[n++] = argv[0];
        for (int j = first[g]; j < first[g + 1]; j++)
            for (int k = 0; k < step; k++)
                sub[n++] = argv[1 + order[j] * step + k];
        breq_t *b = breq_alloc(w, q, q->proto);
        resp_w_command(&b->cmd, n, sub);
        b->multislot = sp->gmulti[g];
        subs[g] = b;
    }
    ts_free(sub);
    ts_free(first);
}

static void split_keys(pclient_t *c, int kind, int step,
                       const resp_arg_t *argv, const unsigned *slots,
                       int nkeys)
{
    worker_t *w = c->w;
    split_t sp;
    split_init(&sp, nkeys);
    if (split_group(w, &sp, slots, nkeys, w->p->multislot, c->proto) < 0) {
        ts_free(sp.gid);
        split_deinit(&sp);
        clusterdown(c);
        return;
    }
    for (int g = 0; g < sp.ngroups; g++) {
        if (sp.gnode[g] < 0) sp.gnode[g] = route_owner(w, sp.gslot[g]);
        if (sp.gnode[g] < 0) {
            ts_free(sp.gid);
            split_deinit(&sp);
            clusterdown(c);
            return;
        }
    }
    preq_t *q = route_enqueue(c, kind);
    q->subs = ts_calloc((size_t)sp.ngroups, sizeof(breq_t *));
    q->nsub = sp.ngroups;
    q->pending = sp.ngroups;
    q->nkeys = nkeys;
    q->keymap = sp.gid;
    split_build(w, q, q->subs, &sp, nkeys, step, argv);
    int read = replica_read(c);
    for (int g = 0; g < sp.ngroups; g++) {
        q->subs[g]->read = read;
        if (sp.gmulti[g]) wstat_inc(&w->st.multislot_subs);
    }
    /* the last send may complete (and free) q: nothing touches q after */
    for (int g = 0; g < sp.ngroups; g++)
        send_to_node(w, q->subs[g], sp.gnode[g], (int)sp.gslot[g]);
    split_deinit(&sp);
}

/* Does a node's refusal of a per-node sub-request call for the per-slot
 * split?  CROSSSLOT (a slot moving or not served there: the node checks
 * every one), and, to be safe, the one-slot redirections. */
static int multislot_refused(const char *p, size_t n)
{
    static const char *const errs[] = {"-CROSSSLOT", "-MOVED ", "-ASK ",
                                       "-TRYAGAIN"};
    for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++) {
        size_t l = strlen(errs[i]);
        if (n >= l && memcmp(p, errs[i], l) == 0) return 1;
    }
    return 0;
}

/*
 * b, a per-node sub-request of q, was refused: send its keys again split
 * per slot.  The first slot's sub-request takes b's place in q->subs, the
 * others are appended; q->keymap is pointed at them.  The keys are read
 * back from b->cmd (written by split_build: key i of q is the j-th key
 * of b when it is the j-th key with keymap[i] == b's index).
 */
static void resplit(breq_t *b)
{
    worker_t *w = b->w;
    preq_t *q = b->parent;
    int s = 0;
    while (s < q->nsub && q->subs[s] != b) s++;
    int step = q->kind == PK_ALLOK ? 2 : 1;
    resp_req_t req;
    resp_req_init(&req);
    resp_limits_t lim;
    resp_limits_default(&lim);
    lim.max_bulk_len = LLONG_MAX;
    size_t used;
    const char *err;
    int nk = 0;
    if (s == q->nsub ||
        resp_parse_request(&req, (char *)buf_rptr(&b->cmd), buf_len(&b->cmd),
                           &lim, &used, &err) != TS_OK ||
        req.argc < 1 + step || (req.argc - 1) % step != 0) {
        resp_req_deinit(&req);
        breq_fail(b, "ERR tessera-proxy: cannot split a refused request");
        return;
    }
    nk = (req.argc - 1) / step;
    wstat_inc(&w->st.multislot_resplits);
    unsigned slots_stack[KEYS_STACK];
    unsigned *slots = nk > KEYS_STACK ? ts_malloc(sizeof(unsigned) *
                                                  (size_t)nk)
                                      : slots_stack;
    for (int j = 0; j < nk; j++) {
        const resp_arg_t *k = &req.argv[1 + j * step];
        slots[j] = slot_for_key(k->ptr, k->len);
    }
    split_t sp;
    split_init(&sp, nk);
    split_group(w, &sp, slots, nk, 0, b->proto);
    int ng = sp.ngroups, base = q->nsub;
    q->subs = ts_realloc(q->subs, sizeof(breq_t *) * (size_t)(base + ng - 1));
    breq_t **fresh = ts_malloc(sizeof(breq_t *) * (size_t)ng);
    split_build(w, q, fresh, &sp, nk, step, req.argv);
    resp_req_deinit(&req);
    for (int g = 0; g < ng; g++) {
        fresh[g]->read = b->read;
        q->subs[g == 0 ? s : base + g - 1] = fresh[g];
    }
    for (int i = 0, j = 0; i < q->nkeys && j < nk; i++)
        if (q->keymap[i] == s) {
            int g = sp.gid[j++];
            q->keymap[i] = g == 0 ? s : base + g - 1;
        }
    q->nsub = base + ng - 1;
    q->pending += ng - 1;   /* b's own count goes to fresh[0] */
    backend_t *old = b->be;
    breq_free(w, b);
    /* the last send may complete (and free) q */
    for (int g = 0; g < ng; g++) {
        int o = route_owner(w, sp.gslot[g]);
        if (o >= 0) {
            send_to_node(w, fresh[g], o, (int)sp.gslot[g]);
            continue;
        }
        /* no owner in the map right now: wait for one (failover-wait) */
        fresh[g]->slot = (int)sp.gslot[g];
        fresh[g]->deadline_ms = w->now_ms + w->p->retry_budget_ms;
        route_park(fresh[g], old, "CLUSTERDOWN Hash slot not served");
    }
    ts_free(fresh);
    ts_free(sp.gid);
    split_deinit(&sp);
    if (slots != slots_stack) ts_free(slots);
}

static int split_kind(cmd_id_t id, int *step)
{
    *step = 1;
    switch (id) {
    case CMD_MGET: return PK_MGET;
    case CMD_MSET: *step = 2; return PK_ALLOK;
    case CMD_DEL:
    case CMD_UNLINK:
    case CMD_EXISTS:
    case CMD_TOUCH: return PK_SUM;
    default: return -1;
    }
}

static void route_keys(pclient_t *c, const cmd_spec_t *cmd, int argc,
                       const resp_arg_t *argv, const char *raw, size_t rawlen)
{
    worker_t *w = c->w;
    if (cmd->first_key == 1 && cmd->last_key == 1 && argc >= 2 &&
        !(cmd->flags & CF_MOVABLEKEYS)) {
        /* the key is argv[1] (GET, SET, INCR, HSET, ...): what the general
         * path below finds, without building a key list */
        unsigned slot = slot_for_key(argv[1].ptr, argv[1].len);
        int o = route_owner(w, slot);
        if (o < 0) clusterdown(c);
        else forward(c, o, (int)slot, argc, argv, raw, rawlen);
        return;
    }
    int idx_stack[KEYS_STACK];
    unsigned slot_stack[KEYS_STACK];
    int *idx = idx_stack;
    unsigned *slots = slot_stack;
    int n = cmdtab_keys(cmd, argc, argv, idx, KEYS_STACK);
    if (n > KEYS_STACK) {
        idx = ts_malloc(sizeof(int) * (size_t)n);
        slots = ts_malloc(sizeof(unsigned) * (size_t)n);
        n = cmdtab_keys(cmd, argc, argv, idx, n);
    }
    if (n <= 0) {
        /* no key (or malformed numkeys): any master answers it, with
         * its own error if the arguments are wrong */
        int m = w->topo->nmasters;
        if (m == 0) clusterdown(c);
        else forward(c, (int)(c->id % (unsigned)m), -1, argc, argv, raw,
                     rawlen);
        goto out;
    }
    int same = 1;
    for (int i = 0; i < n; i++) {
        slots[i] = slot_for_key(argv[idx[i]].ptr, argv[idx[i]].len);
        if (slots[i] != slots[0]) same = 0;
    }
    if (same) {
        int o = route_owner(w, slots[0]);
        if (o < 0) clusterdown(c);
        else forward(c, o, (int)slots[0], argc, argv, raw, rawlen);
        goto out;
    }
    int step, kind = split_kind(cmd->id, &step);
    if (kind >= 0 && (argc - 1) % step != 0) {
        /* MSET k v k: what the node would say, before reading past argv */
        reply_t r;
        preq_t *q = route_local_begin(c, &r);
        reply_err_arity(&r, cmd->name);
        route_local_end(q);
        goto out;
    }
    if (kind < 0) {
        local_error(c, "CROSSSLOT Keys in request don't hash to the same slot");
        goto out;
    }
    split_keys(c, kind, step, argv, slots, n);
out:
    if (idx != idx_stack) {
        ts_free(idx);
        ts_free(slots);
    }
}

/* ---- cluster-wide ------------------------------------------------------ */

static int parse_ull(const resp_arg_t *a, unsigned long long *out)
{
    if (a->len == 0 || a->len > 20) return 0;
    unsigned long long v = 0;
    for (size_t i = 0; i < a->len; i++) {
        char ch = a->ptr[i];
        if (ch < '0' || ch > '9') return 0;
        unsigned long long nv = v * 10 + (unsigned)(ch - '0');
        if (nv / 10 != v) return 0;
        v = nv;
    }
    *out = v;
    return 1;
}

/* SCAN cursor [MATCH pattern] [COUNT count] [TYPE type] */
static void route_scan(pclient_t *c, int argc, resp_arg_t *argv)
{
    worker_t *w = c->w;
    int m = w->topo->nmasters;
    unsigned long long cur;
    if (!parse_ull(&argv[1], &cur) || (int)(cur & (SCAN_MAX_NODES - 1)) >= m) {
        local_error(c, "ERR invalid cursor");
        return;
    }
    int node = (int)(cur & (SCAN_MAX_NODES - 1));
    char nbuf[24];
    size_t nlen = resp_ull2str(nbuf, cur >> SCAN_NODE_BITS);
    resp_arg_t saved = argv[1];
    argv[1] = (resp_arg_t){nbuf, nlen};
    preq_t *q = route_enqueue(c, PK_SCAN);
    q->subs = ts_calloc(1, sizeof(breq_t *));
    q->nsub = 1;
    q->pending = 1;
    q->scan_node = node;
    q->scan_nmasters = m;
    breq_t *b = breq_alloc(w, q, c->proto);
    resp_w_command(&b->cmd, argc, argv);
    argv[1] = saved;
    q->subs[0] = b;
    send_to_node(w, b, node, -1);
}

static void route_info(pclient_t *c, int argc, resp_arg_t *argv)
{
    worker_t *w = c->w;
    buf_t text;
    buf_init(&text);
    int want_keyspace = 0;
    local_info_text(w->p, &text, argc, argv, &want_keyspace);
    if (!want_keyspace || w->topo->nmasters == 0) {
        reply_t r;
        preq_t *q = route_local_begin(c, &r);
        reply_text(&r, &text);
        route_local_end(q);
        buf_deinit(&text);
        return;
    }
    resp_arg_t av[2] = {{"INFO", 4}, {"keyspace", 8}};
    buf_putc(&text, '\0');
    char *s = ts_strdup(buf_rptr(&text));
    buf_deinit(&text);
    /* registered before the sub-requests go out */
    int n = w->topo->nmasters;
    preq_t *q = route_enqueue(c, PK_INFO);
    q->info_text = s;
    q->subs = ts_calloc((size_t)n, sizeof(breq_t *));
    q->nsub = n;
    q->pending = n;
    for (int i = 0; i < n; i++) {
        q->subs[i] = breq_alloc(w, q, 2);
        resp_w_command(&q->subs[i]->cmd, 2, av);
    }
    for (int i = 0; i < n; i++) send_to_node(w, q->subs[i], i, -1);
}

static int route_cluster_wide(pclient_t *c, const cmd_spec_t *cmd, int argc,
                              resp_arg_t *argv)
{
    worker_t *w = c->w;
    int kind;
    switch (cmd->id) {
    case CMD_INFO:
        route_info(c, argc, argv);
        return 1;
    case CMD_KEYS: kind = PK_KEYS; break;
    case CMD_DBSIZE: kind = PK_SUM; break;
    case CMD_FLUSHALL:
    case CMD_FLUSHDB: kind = PK_ALLOK; break;
    case CMD_RANDOMKEY: kind = PK_RANDOMKEY; break;
    case CMD_PUBSUB_NUMPAT: kind = PK_SUM; break;
    case CMD_PUBSUB_CHANNELS:
    case CMD_PUBSUB_SHARDCHANNELS:
    case CMD_PUBSUB_NUMSUB:
    case CMD_PUBSUB_SHARDNUMSUB: kind = PK_PUBSUB; break;
    case CMD_PUBSUB_HELP:
        if (w->topo->nmasters == 0) clusterdown(c);
        else forward(c, (int)(c->id % (unsigned)w->topo->nmasters), -1, argc,
                     argv, NULL, 0);
        return 1;
    case CMD_SCAN:
        if (w->topo->nmasters == 0) clusterdown(c);
        else route_scan(c, argc, argv);
        return 1;
    default: return 0;
    }
    if (w->topo->nmasters == 0) clusterdown(c);
    else fanout(c, kind, c->proto, argc, argv);
    return 1;
}

/* ---- entry point ---------------------------------------------------- */

static int is_proxy_cmd(const resp_arg_t *a)
{
    return a->len == 5 && strncasecmp(a->ptr, "proxy", 5) == 0;
}

/* The commands tx_command or local_command may take from a client that is
 * neither in MULTI nor pinned (tx_takes, local_answers), as a table: every
 * other command skips both calls (~70 instructions per forwarded GET). */
static uint8_t detour[CMD__COUNT];

void route_init(void)
{
    for (size_t id = 0; id < cmdtab_count(); id++) {
        const cmd_spec_t *cmd = cmdtab_get((cmd_id_t)id);
        detour[id] = (uint8_t)(tx_takes(cmd) || local_answers(cmd));
    }
}

void route_request(pclient_t *c, int argc, resp_arg_t *argv, const char *raw,
                   size_t rawlen)
{
    worker_t *w = c->w;
    wstat_inc(&w->st.commands);
    const cmd_spec_t *cmd = cmdtab_lookup(argv[0].ptr, argv[0].len);
    if (!cmd) {
        if (is_proxy_cmd(&argv[0]) && c->authenticated &&
            (!c->user || c->user->all_commands)) {
            reply_t r;
            preq_t *q = route_local_begin(c, &r);
            buf_t text;
            buf_init(&text);
            local_proxy_status(w->p, &text);
            reply_text(&r, &text);
            buf_deinit(&text);
            route_local_end(q);
        } else if (is_proxy_cmd(&argv[0]) && !c->authenticated) {
            local_error(c, "NOAUTH Authentication required.");
        } else if (is_proxy_cmd(&argv[0])) {
            local_error(c, "NOPERM this user has no permissions to run the "
                           "'proxy' command");
        } else {
            unknown_command(c, argc, argv);
            if (c->in_multi) c->tx_dirty = 1;
        }
        return;
    }
    if (cmd->flags & CF_CONTAINER) {
        if (argc < 2) {
            if (cmd->id != CMD_COMMAND) {
                reply_t r;
                preq_t *q = route_local_begin(c, &r);
                reply_err_arity(&r, cmd->name);
                route_local_end(q);
                return;
            }
        } else {
            const cmd_spec_t *sub =
                cmdtab_lookup_sub(cmd, argv[1].ptr, argv[1].len);
            if (!sub) {
                unknown_subcommand(c, cmd, &argv[1]);
                if (c->in_multi) c->tx_dirty = 1;
                return;
            }
            cmd = sub;
        }
    }
    if (!cmdtab_arity_ok(cmd, argc)) {
        reply_t r;
        preq_t *q = route_local_begin(c, &r);
        reply_err_arity(&r, cmd->name);
        route_local_end(q);
        if (c->in_multi) c->tx_dirty = 1;
        return;
    }
    if (!c->authenticated && !(cmd->flags & CF_NO_AUTH)) {
        local_error(c, "NOAUTH Authentication required.");
        return;
    }
    char permbuf[160];
    const char *perm = auth_perm_check(c->user, cmd, argc, argv, permbuf,
                                       sizeof(permbuf));
    if (perm) {
        local_error(c, perm);
        if (c->in_multi) c->tx_dirty = 1;
        return;
    }
    c->last_cmd = (int)cmd->id;
    wstat_inc(&w->st.calls[cmd->id]);
    if ((c->ps || (cmd->flags & CF_PUBSUB) || cmd->id == CMD_RESET) &&
        pubsub_command(c, cmd, argc, argv))
        return;
    if ((c->in_multi | c->pinned) || detour[cmd->id]) {
        if (tx_command(c, cmd, argc, argv, raw, rawlen)) return;
        if (local_command(c, cmd, argc, argv)) return;
    }
    topo_t *t = w->topo;
    const cmd_spec_t *top = cmd->parent ? cmd->parent : cmd;
    if (t->single && cmd->id != CMD_INFO) {
        /* one plain node: every routable command goes there unchanged */
        if (top->route == ROUTE_NONE ||
            (top->route == ROUTE_LOCAL && top->id != CMD_COMMAND &&
             top->id != CMD_PUBSUB)) {
            goto refuse;
        }
        forward(c, 0, -1, argc, argv, raw, rawlen);
        return;
    }
    if (route_cluster_wide(c, cmd, argc, argv)) return;
    if (top->id == CMD_COMMAND || cmd->route == ROUTE_ANY) {
        if (t->nmasters == 0) clusterdown(c);
        else forward(c, (int)(c->id % (unsigned)t->nmasters), -1, argc, argv,
                     raw, rawlen);
        return;
    }
    if (cmd->route == ROUTE_KEYS && (cmd->first_key > 0 ||
                                     (cmd->flags & CF_MOVABLEKEYS))) {
        route_keys(c, cmd, argc, argv, raw, rawlen);
        return;
    }
refuse:;
    char msg[160];
    snprintf(msg, sizeof(msg),
             "ERR tessera-proxy: '%s' is not supported through the proxy",
             cmd->name);
    local_error(c, msg);
}

/* ---- replies ------------------------------------------------------------ */

static int starts(const char *p, size_t n, const char *s)
{
    size_t l = strlen(s);
    return n >= l && memcmp(p, s, l) == 0;
}

static void park_unlink_head(worker_t *w);

/* Unlink b from the worker's list of requests waiting to be retried. */
static void retry_unlink(worker_t *w, breq_t *b)
{
    breq_t **pp = &w->retrying;
    while (*pp && *pp != b) pp = &(*pp)->next;
    if (*pp) *pp = b->next;
    b->next = NULL;
    event_free(b->retry_ev);
    b->retry_ev = NULL;
}

static void retry_cb(evutil_socket_t fd, short what, void *arg)
{
    breq_t *b = arg;
    worker_t *w = b->w;
    (void)fd;
    (void)what;
    retry_unlink(w, b);
    topo_sync(w);
    backend_t *be = b->be;
    if (b->slot >= 0) {
        int o = route_owner(w, (unsigned)b->slot);
        if (o >= 0) be = backend_for_node(w, o, b->proto);
    }
    dispatch(b, be);
}

void route_cancel_retries(worker_t *w)
{
    while (w->retrying) {
        breq_t *b = w->retrying;
        retry_unlink(w, b);
        breq_fail(b, "ERR tessera-proxy: shutting down");
    }
    while (w->parked_head) {
        breq_t *b = w->parked_head;
        park_unlink_head(w);
        breq_fail(b, "ERR tessera-proxy: shutting down");
    }
}

/* ---- failover-wait ------------------------------------------------------ */

/*
 * A request whose master is unreachable (connection lost or refused), or
 * that a node answered with CLUSTERDOWN (Redis says so for every slot
 * while a failed master's slots have no owner), or that bounces on MOVED
 * more than PROXY_MAX_REDIRECTS times, is parked on w->parked instead of
 * failing.  Parked requests are resent, in the order they were parked
 * (which keeps each client's order), as soon as the worker sees a new
 * topology and otherwise every UNPARK_INTERVAL_MS; while any is parked
 * the cron asks the main thread for a topology refresh at each tick (at
 * most one per 100 ms).  A resend that fails again parks again; past
 * `failover-wait` (counted from the first park) or past the byte limits
 * the request fails with the last error it met.
 */
#define UNPARK_INTERVAL_MS 100

static void park_unaccount(worker_t *w, breq_t *b)
{
    long long len = (long long)buf_len(&b->cmd);
    w->nparked--;
    w->parked_bytes -= len;
    pclient_t *c = b->parent ? b->parent->c : NULL;
    if (c) {
        c->nparked--;
        c->parked_bytes -= len;
    }
    b->parked = 0;
}

static void park_unlink_head(worker_t *w)
{
    breq_t *b = w->parked_head;
    w->parked_head = b->next;
    if (!w->parked_head) w->parked_tail = NULL;
    b->next = NULL;
    park_unaccount(w, b);
}

void route_park(breq_t *b, backend_t *be, const char *err)
{
    worker_t *w = b->w;
    proxy_t *p = w->p;
    preq_t *q = b->parent;
    b->be = be;
    if (!q) {               /* ASKING, HELLO, AUTH: redone when resent */
        breq_free(w, b);
        return;
    }
    pclient_t *c = q->c;
    long long now = proxy_mono_ms();
    long long len = (long long)buf_len(&b->cmd);
    if (!b->wait_until_ms) b->wait_until_ms = now + p->failover_wait_ms;
    if (!c || p->failover_wait_ms == 0) {
        breq_fail(b, "%s", err);
        return;
    }
    if (now >= b->wait_until_ms) {
        wstat_inc(&w->st.park_expired);
        breq_fail(b, "%s (no new owner within failover-wait, %lld ms)", err,
                  p->failover_wait_ms);
        return;
    }
    if (w->parked_bytes + len > p->failover_wait_bytes ||
        c->parked_bytes + len > p->failover_wait_client_bytes) {
        wstat_inc(&w->st.park_expired);
        breq_fail(b, "%s (failover-wait byte limit reached)", err);
        return;
    }
    wstat_inc(&w->st.parked);
    b->redirects = 0;
    b->parked = 1;
    b->next = NULL;
    if (w->parked_tail) w->parked_tail->next = b;
    else w->parked_head = b;
    w->parked_tail = b;
    w->nparked++;
    w->parked_bytes += len;
    c->nparked++;
    c->parked_bytes += len;
    topo_request_refresh(p);
}

/* Route a parked request again: by its slot's current owner, else to the
 * backend it was meant for (fan-out sub-requests have no slot). */
static void unpark_one(worker_t *w, breq_t *b)
{
    backend_t *be = b->be;
    if (b->slot >= 0) {
        int o = route_owner(w, (unsigned)b->slot);
        if (o < 0) {
            route_park(b, be, "CLUSTERDOWN Hash slot not served");
            return;
        }
        be = b->read ? replica_route(w, b, o) : backend_for_node(w, o, b->proto);
        if (!be) return;
    }
    wstat_inc(&w->st.park_replayed);
    dispatch(b, be);
}

void route_unpark(worker_t *w, int all)
{
    if (!w->parked_head) return;
    long long now = proxy_mono_ms();
    if (!all && now - w->last_unpark_ms < UNPARK_INTERVAL_MS) return;
    w->last_unpark_ms = now;
    /* take the whole list first: what fails again parks at the new tail,
     * and each client's requests keep their order */
    breq_t *list = w->parked_head;
    w->parked_head = w->parked_tail = NULL;
    for (breq_t *b = list; b; b = b->next) park_unaccount(w, b);
    while (list) {
        breq_t *b = list;
        list = b->next;
        b->next = NULL;
        unpark_one(w, b);
    }
}

void route_drop_orphans(worker_t *w)
{
    breq_t **pp = &w->parked_head, *keep_tail = NULL, *gone = NULL;
    while (*pp) {
        breq_t *b = *pp;
        if (b->parent && b->parent->c) {
            keep_tail = b;
            pp = &b->next;
            continue;
        }
        *pp = b->next;
        b->next = gone;
        gone = b;
        park_unaccount(w, b);
    }
    w->parked_tail = keep_tail;
    while (gone) {
        breq_t *b = gone;
        gone = b->next;
        b->next = NULL;
        breq_fail(b, "ERR tessera-proxy: client closed");
    }
}

/* Park b with a node's error reply (p, n: "-..." with its CRLF). */
static void park_error(breq_t *b, const char *p, size_t n)
{
    char err[256];
    size_t len = n >= 3 ? n - 3 : 0;
    if (len >= sizeof(err)) len = sizeof(err) - 1;
    memcpy(err, p + 1, len);
    err[len] = '\0';
    route_park(b, b->be, err);
}

/* MOVED / ASK / TRYAGAIN / CLUSTERDOWN: 1 if b was taken over. */
static int redirect(breq_t *b, const char *p, size_t n)
{
    worker_t *w = b->w;
    int ask = starts(p, n, "-ASK ");
    if (ask || starts(p, n, "-MOVED ")) {
        if (b->redirects >= PROXY_MAX_REDIRECTS) {
            /* a MOVED storm (nodes disagree during a failover): wait for
             * the topology to settle, within failover-wait */
            park_error(b, p, n);
            return 1;
        }
        /* -MOVED <slot> <host:port>\r\n */
        const char *sp = memchr(p + 1, ' ', n - 1);
        sp = sp ? memchr(sp + 1, ' ', (size_t)(p + n - sp - 1)) : NULL;
        if (!sp) return 0;
        const char *addr = sp + 1;
        size_t alen = (size_t)(p + n - 2 - addr);
        if (alen == 0 || alen >= PROXY_MAX_ADDR) return 0;
        char a[PROXY_MAX_ADDR];
        memcpy(a, addr, alen);
        a[alen] = '\0';
        if (a[0] == ':') {  /* ":port": the node does not know its ip */
            const char *h = b->be ? b->be->host : "127.0.0.1";
            char tmp[2 * PROXY_MAX_ADDR];
            snprintf(tmp, sizeof(tmp), "%s%s", h, a);
            snprintf(a, sizeof(a), "%.*s", (int)(sizeof(a) - 1), tmp);
        }
        b->redirects++;
        backend_t *be = backend_for_addr(w, a, b->proto);
        if (ask) {
            wstat_inc(&w->st.ask);
            breq_t *asking = breq_alloc(w, NULL, b->proto);
            resp_arg_t av = {"ASKING", 6};
            resp_w_command(&asking->cmd, 1, &av);
            backend_send(be, asking);
            backend_send(be, b);
            return 1;
        }
        wstat_inc(&w->st.moved);
        topo_request_refresh(w->p);
        dispatch(b, be);
        return 1;
    }
    if (b->read && starts(p, n, "-LOADING")) {
        /* a replica still loading its copy: the master answers */
        int o = b->slot >= 0 ? route_owner(w, (unsigned)b->slot) : -1;
        if (o < 0) return 0;
        b->read = 0;
        dispatch(b, backend_for_node(w, o, b->proto));
        return 1;
    }
    if (starts(p, n, "-CLUSTERDOWN")) {
        topo_request_refresh(w->p);
        park_error(b, p, n);
        return 1;
    }
    if (starts(p, n, "-TRYAGAIN")) {
        long long delay = 10LL << (b->retries < 5 ? b->retries : 5);
        if (proxy_mono_ms() + delay > b->deadline_ms) return 0;
        b->retries++;
        wstat_inc(&w->st.retries);
        struct timeval tv = {delay / 1000, (delay % 1000) * 1000};
        b->retry_ev = evtimer_new(w->base, retry_cb, b);
        if (!b->retry_ev || evtimer_add(b->retry_ev, &tv) != 0) {
            if (b->retry_ev) event_free(b->retry_ev);
            b->retry_ev = NULL;
            return 0;
        }
        b->next = w->retrying;      /* not on any backend queue meanwhile */
        w->retrying = b;
        return 1;
    }
    return 0;
}

/* ---- merging ----------------------------------------------------------- */

/* The first sub-reply that is an error, or NULL. */
static const breq_t *first_error(const preq_t *q)
{
    for (int i = 0; i < q->nsub; i++)
        if (buf_len(&q->subs[i]->reply) && buf_rptr(&q->subs[i]->reply)[0] == '-')
            return q->subs[i];
    return NULL;
}

static void bad_reply(preq_t *q)
{
    buf_clear(&q->reply);
    buf_append_str(&q->reply,
                   "-ERR tessera-proxy: unexpected reply from a backend\r\n");
}

/* "*<n>\r\n" at the start of b's reply: n and the header length. */
static int array_header(const buf_t *b, long long *n, size_t *hlen)
{
    const char *p = buf_rptr(b);
    size_t len = buf_len(b);
    if (len < 4 || (p[0] != '*' && p[0] != '~')) return 0;
    const char *cr = memchr(p, '\r', len);
    if (!cr || !resp_str2ll(p + 1, (size_t)(cr - p - 1), n) || *n < 0)
        return 0;
    *hlen = (size_t)(cr - p) + 2;
    return 1;
}

static void merge_mget(preq_t *q)
{
    size_t *pos = ts_calloc((size_t)q->nsub, sizeof(size_t));
    for (int s = 0; s < q->nsub; s++) {
        long long n;
        if (!array_header(&q->subs[s]->reply, &n, &pos[s])) goto bad;
    }
    reply_t r;
    reply_init(&r, &q->reply, q->proto);
    reply_array(&r, q->nkeys);
    for (int i = 0; i < q->nkeys; i++) {
        const buf_t *sb = &q->subs[q->keymap[i]]->reply;
        size_t *ps = &pos[q->keymap[i]];
        resp_scan_t sc;
        resp_scan_init(&sc);
        size_t used;
        const char *err;
        if (*ps >= buf_len(sb) ||
            resp_scan_reply(&sc, buf_rptr(sb) + *ps, buf_len(sb) - *ps, &used,
                            &err) != TS_OK)
            goto bad;
        buf_append(&q->reply, buf_rptr(sb) + *ps, used);
        *ps += used;
    }
    ts_free(pos);
    return;
bad:
    ts_free(pos);
    bad_reply(q);
}

static void merge_sum(preq_t *q)
{
    long long sum = 0;
    for (int s = 0; s < q->nsub; s++) {
        const buf_t *b = &q->subs[s]->reply;
        long long v;
        const char *cr = memchr(buf_rptr(b), '\r', buf_len(b));
        if (buf_rptr(b)[0] != ':' || !cr ||
            !resp_str2ll(buf_rptr(b) + 1, (size_t)(cr - buf_rptr(b) - 1), &v)) {
            bad_reply(q);
            return;
        }
        sum += v;
    }
    reply_t r;
    reply_init(&r, &q->reply, q->proto);
    reply_int(&r, sum);
}

static void merge_keys(preq_t *q)
{
    long long total = 0;
    size_t *hl = ts_calloc((size_t)q->nsub, sizeof(size_t));
    for (int s = 0; s < q->nsub; s++) {
        long long n;
        if (!array_header(&q->subs[s]->reply, &n, &hl[s])) {
            ts_free(hl);
            bad_reply(q);
            return;
        }
        total += n;
    }
    reply_t r;
    reply_init(&r, &q->reply, q->proto);
    reply_array(&r, total);
    for (int s = 0; s < q->nsub; s++) {
        const buf_t *b = &q->subs[s]->reply;
        buf_append(&q->reply, buf_rptr(b) + hl[s], buf_len(b) - hl[s]);
    }
    ts_free(hl);
}

static void merge_randomkey(preq_t *q, worker_t *w)
{
    int cand[SCAN_MAX_NODES], n = 0;
    for (int s = 0; s < q->nsub && n < SCAN_MAX_NODES; s++) {
        const buf_t *b = &q->subs[s]->reply;
        if (buf_rptr(b)[0] == '$' && buf_rptr(b)[1] != '-') cand[n++] = s;
    }
    if (n == 0) {
        reply_t r;
        reply_init(&r, &q->reply, q->proto);
        reply_null(&r);
        return;
    }
    unsigned seed = (unsigned)(w->now_ms ^ (long long)(uintptr_t)q);
    const buf_t *b = &q->subs[cand[rand_r(&seed) % n]]->reply;
    buf_append(&q->reply, buf_rptr(b), buf_len(b));
}

static void merge_scan(preq_t *q)
{
    const buf_t *b = &q->subs[0]->reply;
    long long n;
    size_t hl;
    if (!array_header(b, &n, &hl) || n != 2) {
        bad_reply(q);
        return;
    }
    resp_value_t *cv = NULL;
    size_t used;
    const char *err;
    if (resp_parse_value(buf_rptr(b) + hl, buf_len(b) - hl, &cv, &used,
                         &err) != TS_OK) {
        bad_reply(q);
        return;
    }
    resp_arg_t ca = {cv->str, cv->len};
    unsigned long long nc;
    int ok = cv->type == RESP_BULK && parse_ull(&ca, &nc) &&
             nc < (1ULL << (64 - SCAN_NODE_BITS));
    resp_value_free(cv);
    if (!ok) {
        bad_reply(q);
        return;
    }
    unsigned long long out;
    if (nc != 0)
        out = nc << SCAN_NODE_BITS | (unsigned)q->scan_node;
    else if (q->scan_node + 1 < q->scan_nmasters)
        out = (unsigned)(q->scan_node + 1);
    else
        out = 0;
    char num[24];
    size_t nl = resp_ull2str(num, out);
    reply_t r;
    reply_init(&r, &q->reply, q->proto);
    reply_array(&r, 2);
    reply_bulk(&r, num, nl);
    buf_append(&q->reply, buf_rptr(b) + hl + used, buf_len(b) - hl - used);
}

static void merge_info(preq_t *q)
{
    long long keys = 0, expires = 0;
    for (int s = 0; s < q->nsub; s++) {
        const buf_t *b = &q->subs[s]->reply;
        const char *p = memmem(buf_rptr(b), buf_len(b), "db0:keys=", 9);
        if (!p) continue;
        keys += strtoll(p + 9, NULL, 10);
        const char *e = memmem(p, buf_len(b) - (size_t)(p - buf_rptr(b)),
                               "expires=", 8);
        if (e) expires += strtoll(e + 8, NULL, 10);
    }
    buf_t text;
    buf_init(&text);
    buf_append_str(&text, q->info_text);
    buf_append_str(&text, "# Keyspace\r\n");
    if (keys)
        buf_printf(&text, "db0:keys=%lld,expires=%lld,avg_ttl=0\r\n", keys,
                   expires);
    reply_t r;
    reply_init(&r, &q->reply, q->proto);
    reply_text(&r, &text);
    buf_deinit(&text);
}

static void merge(preq_t *q, worker_t *w)
{
    const breq_t *e = first_error(q);
    if (e) {
        buf_append(&q->reply, buf_rptr(&e->reply), buf_len(&e->reply));
        return;
    }
    switch (q->kind) {
    case PK_MGET: merge_mget(q); break;
    case PK_SUM: merge_sum(q); break;
    case PK_ALLOK: buf_append_str(&q->reply, "+OK\r\n"); break;
    case PK_KEYS: merge_keys(q); break;
    case PK_RANDOMKEY: merge_randomkey(q, w); break;
    case PK_SCAN: merge_scan(q); break;
    case PK_INFO: merge_info(q); break;
    case PK_PUBSUB: pubsub_merge(q); break;
    default: bad_reply(q); break;
    }
}

void route_on_reply(breq_t *b, const char *ptr, size_t len)
{
    worker_t *w = b->w;
    preq_t *q = b->parent;
    if (!q) {
        if (b->probe) {     /* TESSERA MULTISLOT ON: Tessera or not */
            if (!b->failing) b->be->multislot = ptr[0] == '+' ? 1 : -1;
            breq_free(w, b);
            return;
        }
        if (ptr[0] == '-' && !(b->be && b->be->pinned))
            log_ratelimited(LL_WARNING, 1, "Backend refused the connection "
                            "set-up: %.*s", (int)(len > 200 ? 200 : len - 2),
                            ptr + 1);
        breq_free(w, b);
        return;
    }
    if (ptr[0] == '-' && !b->failing && b->multislot && q->c &&
        multislot_refused(ptr, len)) {
        resplit(b);
        return;
    }
    if (ptr[0] == '-' && !b->failing && !(b->be && b->be->pinned) &&
        redirect(b, ptr, len))
        return;
    if (q->kind == PK_FORWARD) {
        breq_free(w, b);
        q->pending = 0;
        if (!q->c) {
            preq_free(w, q);
            return;
        }
        buf_append(q == q->c->head ? &q->c->out : &q->reply, ptr, len);
        client_preq_done(q);
        return;
    }
    buf_append(&b->reply, ptr, len);
    b->done = 1;
    if (--q->pending > 0) return;
    if (!q->c) {
        preq_free(w, q);
        return;
    }
    merge(q, w);
    client_preq_done(q);
}
