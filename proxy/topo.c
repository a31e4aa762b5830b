/*
 * topo.c: the slot map, learned from the cluster.
 *
 * The main thread asks one node (known masters first, then the seeds in
 * `cluster-nodes`) with plain blocking sockets and short timeouts:
 * CLUSTER SHARDS (Redis 7), falling back to CLUSTER SLOTS when the node
 * does not know SHARDS.  A node that answers "cluster support disabled"
 * puts the proxy in single-backend mode: every slot goes to that node
 * (this is how the proxy fronts one plain Redis, for benchmarks).
 *
 * The result is an immutable topo_t published by a pointer swap (see
 * proxy.h); workers pick it up with topo_sync.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "proxy.h"

#define TOPO_IO_TIMEOUT_MS 1000
#define TOPO_MAX_REPLY (64 * 1024 * 1024)

/* ---- a tiny blocking client -------------------------------------------- */

static int wait_fd(int fd, short ev, long long deadline)
{
    for (;;) {
        long long left = deadline - proxy_mono_ms();
        if (left <= 0) return -1;
        struct pollfd pfd = {.fd = fd, .events = ev};
        int rc = poll(&pfd, 1, (int)left);
        if (rc > 0) return 0;
        if (rc < 0 && errno != EINTR) return -1;
    }
}

static int sync_connect(const char *host, int port, long long deadline)
{
    char portstr[16];
    snprintf(portstr, sizeof(portstr), "%d", port);
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM}, *res, *ai;
    if (getaddrinfo(host, portstr, &hints, &res) != 0) return -1;
    int fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
                                       SOCK_CLOEXEC, 0);
        if (fd < 0) continue;
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc == 0) break;
        if (errno == EINPROGRESS && wait_fd(fd, POLLOUT, deadline) == 0) {
            int err = 0;
            socklen_t el = sizeof(err);
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &el);
            if (err == 0) break;
        }
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    return fd;
}

static int sync_send(int fd, const buf_t *b, long long deadline)
{
    size_t off = 0, len = buf_len(b);
    while (off < len) {
        ssize_t n = write(fd, buf_rptr(b) + off, len - off);
        if (n > 0) {
            off += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLOUT, deadline) != 0) return -1;
        } else {
            return -1;
        }
    }
    return 0;
}

/* Read one reply into in (from in->rpos); returns a parsed tree or NULL. */
static resp_value_t *sync_reply(int fd, buf_t *in, long long deadline)
{
    resp_scan_t sc;
    resp_scan_init(&sc);
    for (;;) {
        size_t used;
        const char *err;
        ts_status_t st = resp_scan_reply(&sc, buf_rptr(in), buf_len(in),
                                         &used, &err);
        if (st == TS_OK) {
            resp_value_t *v = NULL;
            size_t used2;
            if (resp_parse_value(buf_rptr(in), used, &v, &used2, &err) !=
                TS_OK)
                return NULL;
            buf_consume(in, used);
            return v;
        }
        if (st != TS_AGAIN || buf_len(in) > TOPO_MAX_REPLY) return NULL;
        buf_reserve(in, 16384);
        ssize_t n = read(fd, buf_wptr(in), buf_avail(in));
        if (n > 0) {
            in->wpos += (size_t)n;
        } else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLIN, deadline) != 0) return NULL;
        } else {
            return NULL;
        }
    }
}

static void cmd2(buf_t *b, const char *a, const char *c)
{
    resp_arg_t av[2] = {{a, strlen(a)}, {c, strlen(c)}};
    resp_w_command(b, 2, av);
}

/* ---- parsing the answers -------------------------------------------- */

static int v_is(const resp_value_t *v, const char *s)
{
    return v && (v->type == RESP_BULK || v->type == RESP_SIMPLE) &&
           v->len == strlen(s) && strncasecmp(v->str, s, v->len) == 0;
}

/* Field of a map (RESP3 %) or a flat key/value array (RESP2). */
static const resp_value_t *v_field(const resp_value_t *m, const char *name)
{
    if (!m || (m->type != RESP_MAP && m->type != RESP_ARRAY)) return NULL;
    for (size_t i = 0; i + 1 < m->nelem; i += 2)
        if (v_is(&m->elem[i], name)) return &m->elem[i + 1];
    return NULL;
}

static int v_int(const resp_value_t *v, long long *out)
{
    if (!v) return 0;
    if (v->type == RESP_INT) {
        *out = v->integer;
        return 1;
    }
    if (v->type == RESP_BULK || v->type == RESP_SIMPLE)
        return resp_str2ll(v->str, v->len, out);
    return 0;
}

static int v_str(const resp_value_t *v, char *out, size_t sz)
{
    if (!v || (v->type != RESP_BULK && v->type != RESP_SIMPLE) ||
        v->len == 0 || v->len >= sz || memchr(v->str, '\0', v->len))
        return 0;
    memcpy(out, v->str, v->len);
    out[v->len] = '\0';
    return 1;
}

static topo_t *topo_new(void)
{
    topo_t *t = ts_calloc(1, sizeof(*t));
    atomic_init(&t->refs, 1);
    memset(t->owner, 0xFF, sizeof(t->owner));   /* TOPO_NO_OWNER */
    return t;
}

/* Index of host:port among t's masters, added if new. */
static int add_master(topo_t *t, const char *host, int port)
{
    for (int i = 0; i < t->nmasters; i++)
        if (t->masters[i].port == port && strcmp(t->masters[i].host, host) == 0)
            return i;
    t->masters = ts_realloc(t->masters,
                            sizeof(topo_node_t) * (size_t)(t->nmasters + 1));
    topo_node_t *n = &t->masters[t->nmasters];
    memset(n, 0, sizeof(*n));
    snprintf(n->host, sizeof(n->host), "%s", host);
    n->port = port;
    snprintf(n->addr, sizeof(n->addr), "%s:%d", host, port);
    return t->nmasters++;
}

/* A replica of master idx (read-from); duplicates ignored. */
static void add_replica(topo_t *t, const char *host, int port, int idx)
{
    for (int i = 0; i < t->nreps; i++)
        if (t->reps[i].port == port && strcmp(t->reps[i].host, host) == 0)
            return;
    t->reps = ts_realloc(t->reps, sizeof(topo_node_t) * (size_t)(t->nreps + 1));
    topo_node_t *n = &t->reps[t->nreps++];
    memset(n, 0, sizeof(*n));
    snprintf(n->host, sizeof(n->host), "%s", host);
    n->port = port;
    snprintf(n->addr, sizeof(n->addr), "%s:%d", host, port);
    n->master = idx;
}

static int assign(topo_t *t, long long lo, long long hi, int idx)
{
    if (lo < 0 || hi >= SLOT_COUNT || lo > hi) return -1;
    for (long long s = lo; s <= hi; s++) t->owner[s] = (uint16_t)idx;
    return 0;
}

/* A node's address as clients should use it. */
static int node_addr(const resp_value_t *node, char *host, size_t hsz,
                     long long *port)
{
    if (!v_int(v_field(node, "port"), port) || *port <= 0 || *port > 65535)
        return 0;
    const resp_value_t *ep = v_field(node, "endpoint");
    if (ep && !(ep->len == 1 && ep->str[0] == '?') && v_str(ep, host, hsz))
        return 1;
    return v_str(v_field(node, "ip"), host, hsz);
}

static topo_t *parse_shards(const resp_value_t *v)
{
    if (v->type != RESP_ARRAY) return NULL;
    topo_t *t = topo_new();
    for (size_t i = 0; i < v->nelem; i++) {
        const resp_value_t *slots = v_field(&v->elem[i], "slots");
        const resp_value_t *nodes = v_field(&v->elem[i], "nodes");
        if (!slots || !nodes || slots->type != RESP_ARRAY ||
            nodes->type != RESP_ARRAY)
            goto bad;
        if (slots->nelem == 0) continue;    /* a shard without slots */
        const resp_value_t *master = NULL;
        for (size_t j = 0; j < nodes->nelem; j++) {
            const resp_value_t *n = &nodes->elem[j];
            if (!v_is(v_field(n, "role"), "master")) {
                t->nreplicas++;
                continue;
            }
            if (!master || v_is(v_field(n, "health"), "online")) master = n;
        }
        char host[64];
        long long port;
        if (!master || !node_addr(master, host, sizeof(host), &port)) goto bad;
        int idx = add_master(t, host, (int)port);
        for (size_t j = 0; j < nodes->nelem; j++) {
            const resp_value_t *n = &nodes->elem[j];
            char rhost[64];
            long long rport;
            /* Redis 7.0 says "loading" for a replica whose offset is
             * still 0 (nothing written yet): usable; "fail" is not */
            if (n != master && !v_is(v_field(n, "role"), "master") &&
                (v_is(v_field(n, "health"), "online") ||
                 v_is(v_field(n, "health"), "loading")) &&
                node_addr(n, rhost, sizeof(rhost), &rport))
                add_replica(t, rhost, (int)rport, idx);
        }
        for (size_t k = 0; k + 1 < slots->nelem; k += 2) {
            long long lo, hi;
            if (!v_int(&slots->elem[k], &lo) ||
                !v_int(&slots->elem[k + 1], &hi) || assign(t, lo, hi, idx))
                goto bad;
        }
    }
    t->source = "CLUSTER SHARDS";
    return t;
bad:
    topo_release(t);
    return NULL;
}

static topo_t *parse_slots(const resp_value_t *v)
{
    if (v->type != RESP_ARRAY) return NULL;
    topo_t *t = topo_new();
    for (size_t i = 0; i < v->nelem; i++) {
        const resp_value_t *e = &v->elem[i];
        long long lo, hi, port;
        char host[64];
        if (e->type != RESP_ARRAY || e->nelem < 3 ||
            !v_int(&e->elem[0], &lo) || !v_int(&e->elem[1], &hi) ||
            e->elem[2].type != RESP_ARRAY || e->elem[2].nelem < 2 ||
            !v_str(&e->elem[2].elem[0], host, sizeof(host)) ||
            !v_int(&e->elem[2].elem[1], &port) || port <= 0 || port > 65535)
            goto bad;
        int idx = add_master(t, host, (int)port);
        if (assign(t, lo, hi, idx)) goto bad;
        t->nreplicas += (int)e->nelem - 3;
        for (size_t j = 3; j < e->nelem; j++) {
            const resp_value_t *r = &e->elem[j];
            if (r->type == RESP_ARRAY && r->nelem >= 2 &&
                v_str(&r->elem[0], host, sizeof(host)) &&
                v_int(&r->elem[1], &port) && port > 0 && port <= 65535)
                add_replica(t, host, (int)port, idx);
        }
    }
    t->source = "CLUSTER SLOTS";
    return t;
bad:
    topo_release(t);
    return NULL;
}

/* Masters in the order of their first slot, so that SCAN cursors (which
 * carry a master index) keep meaning across refreshes of the same map. */
static void sort_masters(topo_t *t)
{
    int n = t->nmasters, next = 0;
    int *newidx = ts_malloc(sizeof(int) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) newidx[i] = -1;
    for (size_t s = 0; s < SLOT_COUNT; s++) {
        uint16_t o = t->owner[s];
        if (o != TOPO_NO_OWNER && newidx[o] < 0) newidx[o] = next++;
    }
    for (int i = 0; i < n; i++)
        if (newidx[i] < 0) newidx[i] = next++;
    topo_node_t *m = ts_malloc(sizeof(topo_node_t) * (size_t)(n ? n : 1));
    for (int i = 0; i < n; i++) m[newidx[i]] = t->masters[i];
    for (size_t s = 0; s < SLOT_COUNT; s++)
        if (t->owner[s] != TOPO_NO_OWNER)
            t->owner[s] = (uint16_t)newidx[t->owner[s]];
    ts_free(t->masters);
    t->masters = m;
    /* replicas grouped by their master's new index (stable) */
    if (t->nreps) {
        topo_node_t *r = ts_malloc(sizeof(topo_node_t) * (size_t)t->nreps);
        int k = 0;
        for (int i = 0; i < n; i++) {
            m[i].rep_first = k;
            for (int j = 0; j < t->nreps; j++)
                if (newidx[t->reps[j].master] == i) {
                    r[k] = t->reps[j];
                    r[k++].master = i;
                }
            m[i].rep_count = k - m[i].rep_first;
        }
        ts_free(t->reps);
        t->reps = r;
        t->nreps = k;
    }
    ts_free(newidx);
}

topo_t *topo_from_shards(const resp_value_t *v)
{
    topo_t *t = parse_shards(v);
    if (t) sort_masters(t);
    return t;
}

topo_t *topo_from_slots(const resp_value_t *v)
{
    topo_t *t = parse_slots(v);
    if (t) sort_masters(t);
    return t;
}

/* Ask one node.  NULL and p->topo_error set on failure. */
static topo_t *ask_node(proxy_t *p, const char *host, int port)
{
    long long deadline = proxy_mono_ms() + TOPO_IO_TIMEOUT_MS;
    topo_t *t = NULL;
    resp_value_t *v = NULL;
    buf_t out, in;
    buf_init(&out);
    buf_init(&in);
    int fd = sync_connect(host, port, deadline);
    if (fd < 0) {
        snprintf(p->topo_error, sizeof(p->topo_error),
                 "can't connect to %s:%d", host, port);
        goto out;
    }
    if (p->backend_password && p->backend_password[0]) {
        if (p->backend_user && p->backend_user[0]) {
            resp_arg_t av[3] = {{"AUTH", 4},
                                {p->backend_user, strlen(p->backend_user)},
                                {p->backend_password,
                                 strlen(p->backend_password)}};
            resp_w_command(&out, 3, av);
        } else {
            cmd2(&out, "AUTH", p->backend_password);
        }
    }
    cmd2(&out, "CLUSTER", "SHARDS");
    cmd2(&out, "CLUSTER", "SLOTS");
    if (sync_send(fd, &out, deadline) != 0) goto io;
    if (p->backend_password && p->backend_password[0]) {
        v = sync_reply(fd, &in, deadline);
        if (!v) goto io;
        if (v->type == RESP_ERROR) {
            snprintf(p->topo_error, sizeof(p->topo_error),
                     "%s:%d refused backend-password: %.*s", host, port,
                     (int)(v->len > 150 ? 150 : v->len), v->str);
            goto out;
        }
        resp_value_free(v);
    }
    v = sync_reply(fd, &in, deadline);          /* SHARDS */
    if (!v) goto io;
    if (v->type == RESP_ERROR &&
        memmem(v->str, v->len, "cluster support disabled", 24)) {
        t = topo_new();
        int idx = add_master(t, host, port);
        assign(t, 0, SLOT_COUNT - 1, idx);
        t->single = 1;
        t->source = "single";
        goto out;
    }
    if (v->type != RESP_ERROR) t = topo_from_shards(v);
    resp_value_free(v);
    v = sync_reply(fd, &in, deadline);          /* SLOTS */
    if (!t && v && v->type != RESP_ERROR) t = topo_from_slots(v);
    if (!t)
        snprintf(p->topo_error, sizeof(p->topo_error),
                 "%s:%d gave no usable CLUSTER SHARDS / SLOTS reply", host,
                 port);
    goto out;
io:
    snprintf(p->topo_error, sizeof(p->topo_error),
             "I/O error or timeout talking to %s:%d", host, port);
out:
    if (v) resp_value_free(v);
    if (fd >= 0) close(fd);
    buf_deinit(&out);
    buf_deinit(&in);
    return t;
}

/* Split "host:port" (IPv6 hosts keep their colons). */
static int split_addr(const char *s, size_t n, char *host, size_t hsz,
                      int *port)
{
    const char *colon = NULL;
    for (size_t i = 0; i < n; i++)
        if (s[i] == ':') colon = s + i;
    if (!colon || colon == s || (size_t)(colon - s) >= hsz) return -1;
    long long pt;
    if (!resp_str2ll(colon + 1, n - (size_t)(colon - s) - 1, &pt) || pt <= 0 ||
        pt > 65535)
        return -1;
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    if (host[0] == '[' && host[colon - s - 1] == ']') {
        memmove(host, host + 1, (size_t)(colon - s) - 2);
        host[colon - s - 2] = '\0';
    }
    *port = (int)pt;
    return 0;
}

static void publish(proxy_t *p, topo_t *t)
{
    pthread_mutex_lock(&p->topo_lock);
    topo_t *old = p->topo;
    p->topo = t;
    atomic_fetch_add_explicit(&p->topo_gen, 1, memory_order_release);
    pthread_mutex_unlock(&p->topo_lock);
    if (old) topo_release(old);
}

static int same_map(const topo_t *a, const topo_t *b)
{
    if (!a || !b || a->single != b->single || a->nmasters != b->nmasters)
        return 0;
    for (int i = 0; i < a->nmasters; i++)
        if (strcmp(a->masters[i].addr, b->masters[i].addr) != 0) return 0;
    if (a->nreps != b->nreps) return 0;
    for (int i = 0; i < a->nreps; i++)
        if (a->reps[i].master != b->reps[i].master ||
            strcmp(a->reps[i].addr, b->reps[i].addr) != 0)
            return 0;
    return memcmp(a->owner, b->owner, sizeof(a->owner)) == 0;
}

int topo_refresh_from(proxy_t *p, const char *host, int port)
{
    p->last_refresh_ms = proxy_mono_ms();
    atomic_fetch_add(&p->topo_refreshes, 1);
    topo_t *t = ask_node(p, host, port);
    if (!t || t->single) {          /* gone already, or not a cluster */
        if (t) topo_release(t);
        return topo_refresh(p);
    }
    pthread_mutex_lock(&p->topo_lock);
    int same = same_map(p->topo, t);
    pthread_mutex_unlock(&p->topo_lock);
    if (same) {
        topo_release(t);
        return 0;
    }
    log_msg(LL_NOTICE, "Topology from %s of %s:%d (pushed): %d master(s)",
            t->source, host, port, t->nmasters);
    publish(p, t);
    return 0;
}

int topo_refresh(proxy_t *p)
{
    topo_t *t = NULL;
    p->last_refresh_ms = proxy_mono_ms();
    atomic_fetch_add(&p->topo_refreshes, 1);
    /* the masters we know first: they are the most likely to be alive */
    pthread_mutex_lock(&p->topo_lock);
    topo_t *cur = p->topo;
    if (cur) atomic_fetch_add(&cur->refs, 1);
    pthread_mutex_unlock(&p->topo_lock);
    if (cur && !cur->single)
        for (int i = 0; i < cur->nmasters && !t; i++)
            t = ask_node(p, cur->masters[i].host, cur->masters[i].port);
    const char *s = p->cluster_nodes ? p->cluster_nodes : "";
    while (!t && *s) {
        size_t n = strcspn(s, ", ");
        char host[64];
        int port;
        if (n && split_addr(s, n, host, sizeof(host), &port) == 0)
            t = ask_node(p, host, port);
        else if (n)
            snprintf(p->topo_error, sizeof(p->topo_error),
                     "bad address in cluster-nodes: '%.*s'", (int)n, s);
        s += n;
        while (*s == ',' || *s == ' ') s++;
    }
    if (!t) {
        atomic_fetch_add(&p->topo_failures, 1);
        if (cur) topo_release(cur);
        return -1;
    }
    if (same_map(cur, t)) {
        topo_release(t);
    } else {
        log_msg(LL_NOTICE, "Topology from %s: %d master(s)%s",
                t->source, t->nmasters,
                t->single ? " (single-backend mode)" : "");
        publish(p, t);
    }
    if (cur) topo_release(cur);
    return 0;
}

void topo_release(topo_t *t)
{
    if (atomic_fetch_sub_explicit(&t->refs, 1, memory_order_acq_rel) != 1)
        return;
    ts_free(t->masters);
    ts_free(t->reps);
    ts_free(t);
}

void topo_request_refresh(proxy_t *p)
{
    char c = 'r';
    ssize_t n = write(p->refresh_pipe[1], &c, 1);   /* EAGAIN: one is queued */
    (void)n;
}

void topo_sync_update(worker_t *w)
{
    proxy_t *p = w->p;
    if (atomic_load_explicit(&p->topo_gen, memory_order_acquire) ==
        w->topo_gen)
        return;
    pthread_mutex_lock(&p->topo_lock);
    topo_t *t = p->topo;
    atomic_fetch_add(&t->refs, 1);
    w->topo_gen = atomic_load(&p->topo_gen);
    pthread_mutex_unlock(&p->topo_lock);
    topo_t *old = w->topo;
    w->topo = t;
    for (int k = 0; k < 2; k++) {
        ts_free(w->by_node[k]);
        w->by_node[k] = ts_calloc((size_t)(t->nmasters ? t->nmasters : 1),
                                  sizeof(backend_t *));
        ts_free(w->by_rep[k]);      /* replica links: re-looked-up by addr */
        w->by_rep[k] = ts_calloc((size_t)(t->nreps ? t->nreps : 1),
                                 sizeof(backend_t *));
    }
    w->by_node_len = t->nmasters;
    if (old) topo_release(old);
    /* a new map may name the new master requests are waiting for */
    if (w->parked_head) route_unpark(w, 1);
}

void topo_describe(proxy_t *p, buf_t *b)
{
    pthread_mutex_lock(&p->topo_lock);
    topo_t *t = p->topo;
    if (t) atomic_fetch_add(&t->refs, 1);
    pthread_mutex_unlock(&p->topo_lock);
    if (!t) {
        buf_printf(b, "topology_source:none\r\nmasters:0\r\n");
        return;
    }
    long long unassigned = 0;
    for (size_t s = 0; s < SLOT_COUNT; s++)
        unassigned += t->owner[s] == TOPO_NO_OWNER;
    buf_printf(b,
               "topology_source:%s\r\nmode:%s\r\nmasters:%d\r\n"
               "replicas:%d\r\nslots_unassigned:%lld\r\n",
               t->source, t->single ? "single" : "cluster", t->nmasters,
               t->nreplicas, unassigned);
    for (int i = 0; i < t->nmasters; i++) {
        buf_printf(b, "master%d:addr=%s,slots=", i, t->masters[i].addr);
        int first = 1;
        for (size_t s = 0; s < SLOT_COUNT;) {
            if (t->owner[s] != i) {
                s++;
                continue;
            }
            size_t e = s;
            while (e + 1 < SLOT_COUNT && t->owner[e + 1] == i) e++;
            buf_printf(b, "%s%zu-%zu", first ? "" : " ", s, e);
            first = 0;
            s = e + 1;
        }
        for (int r = 0; r < t->masters[i].rep_count; r++)
            buf_printf(b, "%s%s", r ? " " : ",replicas=",
                       t->reps[t->masters[i].rep_first + r].addr);
        buf_append_str(b, "\r\n");
    }
    topo_release(t);
}
