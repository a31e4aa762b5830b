/*
 * migrate.c: MIGRATE, the key mover of Redis's legacy slot migration.
 *
 *   MIGRATE host port key|"" db timeout [COPY] [REPLACE] [AUTH pw]
 *           [AUTH2 user pw] [KEYS key ...]
 *
 * As Redis 7.0's migrateCommand, and for the same reason (redis-cli
 * --cluster reshard and every operator tool drive it), it is synchronous:
 * the loop blocks while the keys are sent, each network step bounded by
 * the caller's timeout.  One pipelined batch goes to the target:
 *
 *     [AUTH ...] [SELECT db] RESTORE[-ASKING] key ttl payload [REPLACE] ...
 *
 * (RESTORE-ASKING in cluster mode, so the target takes it for a slot it is
 * importing), then one reply line per command is read.  Each key the target
 * acknowledged is deleted here unless COPY, and the deletions go to the
 * AOF and the replicas as one DEL.  A failure on a cached connection is
 * retried once on a fresh one when nothing can have been applied (not
 * after a timeout), as Redis does.
 *
 * Connections are cached per "host:port" as given (at most 64; a random
 * one is closed to make room) and closed after 10 s unused by a 1 s timer
 * (Redis's migrateCloseTimedoutSockets).  The cache lives in n->migrate,
 * created on first use.
 */
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "cmd.h"
#include "db.h"
#include "keyspace.h"
#include "migrate.h"
#include "notify.h"
#include "propagate.h"
#include "rdb.h"

#define MIGRATE_CACHE_ITEMS  64    /* Redis's MIGRATE_SOCKET_CACHE_ITEMS */
#define MIGRATE_CACHE_TTL_MS 10000 /* Redis's MIGRATE_SOCKET_CACHE_TTL */
#define MIGRATE_WRITE_CHUNK  (64 * 1024)
#define MIGRATE_LINE_MAX     1024 /* reply lines kept (Redis's buffers) */
#define MIGRATE_TIMEOUT_MAX  (1LL << 40) /* ms, ~35 years */

typedef struct mconn {
    struct mconn *next;
    char *name; /* "host:port" as the command gave them */
    int fd;
    long long last_dbid;   /* -1: SELECT before the next RESTORE */
    long long last_use_ms; /* monotonic */
    buf_t in;              /* bytes read past the last reply line */
} mconn_t;

struct migrate {
    mconn_t *conns;
    int nconns;
    struct event *timer; /* pending while conns is not empty */
};

static long long mono_ms(void)
{
    return node_mono_us() / 1000;
}

static void conn_close(struct migrate *m, mconn_t **pp)
{
    mconn_t *c = *pp;
    *pp = c->next;
    close(c->fd);
    buf_deinit(&c->in);
    ts_free(c->name);
    ts_free(c);
    m->nconns--;
}

static mconn_t **conn_find(struct migrate *m, const char *name)
{
    mconn_t **pp = &m->conns;
    while (*pp && strcmp((*pp)->name, name) != 0)
        pp = &(*pp)->next;
    return pp;
}

/* The 1 s timer: close connections unused for 10 s. */
static void on_timer(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    node_t *n = arg;
    struct migrate *m = n->migrate;
    long long now = mono_ms();
    for (mconn_t **pp = &m->conns; *pp;) {
        if (now - (*pp)->last_use_ms > MIGRATE_CACHE_TTL_MS)
            conn_close(m, pp);
        else
            pp = &(*pp)->next;
    }
    if (m->conns) {
        struct timeval tv = {1, 0};
        evtimer_add(m->timer, &tv);
    }
}

void migrate_teardown(node_t *n)
{
    struct migrate *m = n->migrate;
    if (!m) return;
    while (m->conns)
        conn_close(m, &m->conns);
    if (m->timer) event_free(m->timer);
    ts_free(m);
    n->migrate = NULL;
}

/* Wait until fd is ready for `events` or deadline (monotonic ms) passes:
 * 0 ready, -1 with errno (ETIMEDOUT on timeout). */
static int wait_fd(int fd, short events, long long deadline)
{
    for (;;) {
        long long left = deadline - mono_ms();
        if (left <= 0) {
            errno = ETIMEDOUT;
            return -1;
        }
        struct pollfd p = {.fd = fd, .events = events};
        int rc = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
        if (rc > 0) return 0;
        if (rc < 0 && errno != EINTR) return -1;
    }
}

/*
 * Connect to host:port within timeout ms: the fd, or -1.  As Redis's
 * connBlockingConnect, the socket counts as connected once it is
 * writable; a refused connection shows as a failed write (so a dead port
 * answers "IOERR error or timeout writing to target instance", as Redis).
 */
static int tcp_connect(const char *host, const char *port, long long timeout)
{
    struct addrinfo hints = {.ai_family = AF_UNSPEC,
                             .ai_socktype = SOCK_STREAM};
    struct addrinfo *res, *ai;
    if (getaddrinfo(host, port, &hints, &res) != 0) return -1;
    int fd = -1;
    for (ai = res; ai; ai = ai->ai_next) {
        fd = socket(ai->ai_family,
                    ai->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK,
                    ai->ai_protocol);
        if (fd < 0) continue;
        if (connect(fd, ai->ai_addr, ai->ai_addrlen) == 0 ||
            errno == EINPROGRESS)
            break;
        close(fd);
        fd = -1;
    }
    freeaddrinfo(res);
    if (fd < 0) return -1;
    if (wait_fd(fd, POLLOUT, mono_ms() + timeout) != 0) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    return fd;
}

/* The cached connection to host:port, connecting if needed; NULL after
 * replying the error (Redis's migrateGetSocket). */
static mconn_t *conn_get(node_t *n, const resp_arg_t *host,
                         const resp_arg_t *port, long long timeout, reply_t *r)
{
    struct migrate *m = n->migrate;
    if (!m) {
        m = n->migrate = ts_calloc(1, sizeof(*m));
        m->timer = evtimer_new(n->base, on_timer, n);
    }
    char name[512], hbuf[256], pbuf[24];
    /* Redis passes atoi(port): "7000abc" is 7000, junk is port 0 */
    char tmp[24];
    size_t pl = port->len < sizeof(tmp) - 1 ? port->len : sizeof(tmp) - 1;
    memcpy(tmp, port->ptr, pl);
    tmp[pl] = '\0';
    snprintf(pbuf, sizeof(pbuf), "%d", atoi(tmp));
    int bad_host = host->len >= sizeof(hbuf) || memchr(host->ptr, 0, host->len);
    size_t hl = bad_host ? 0 : host->len;
    memcpy(hbuf, host->ptr, hl);
    hbuf[hl] = '\0';
    snprintf(name, sizeof(name), "%s:%.*s", hbuf, (int)pl, tmp);

    mconn_t **pp = conn_find(m, name);
    if (*pp) {
        (*pp)->last_use_ms = mono_ms();
        return *pp;
    }
    if (m->nconns >= MIGRATE_CACHE_ITEMS) {
        mconn_t **vp = &m->conns;
        for (int k = rand() % m->nconns; k > 0; k--)
            vp = &(*vp)->next;
        conn_close(m, vp);
    }
    int fd = bad_host ? -1 : tcp_connect(hbuf, pbuf, timeout);
    if (fd < 0) {
        reply_error(r, "IOERR error or timeout connecting to the client");
        return NULL;
    }
    mconn_t *c = ts_calloc(1, sizeof(*c));
    c->name = ts_strdup(name);
    c->fd = fd;
    c->last_dbid = -1;
    c->last_use_ms = mono_ms();
    buf_init(&c->in);
    c->next = m->conns;
    m->conns = c;
    m->nconns++;
    if (!evtimer_pending(m->timer, NULL)) {
        struct timeval tv = {1, 0};
        evtimer_add(m->timer, &tv);
    }
    return c;
}

static void close_named(node_t *n, mconn_t *c)
{
    struct migrate *m = n->migrate;
    for (mconn_t **pp = &m->conns; *pp; pp = &(*pp)->next)
        if (*pp == c) {
            conn_close(m, pp);
            return;
        }
}

/* Write len bytes, each 64 KB chunk within timeout ms (connSyncWrite). */
static int sync_write(int fd, const char *p, size_t len, long long timeout)
{
    while (len > 0) {
        size_t chunk = len > MIGRATE_WRITE_CHUNK ? MIGRATE_WRITE_CHUNK : len;
        long long deadline = mono_ms() + timeout;
        while (chunk > 0) {
            ssize_t w = send(fd, p, chunk, MSG_NOSIGNAL);
            if (w > 0) {
                p += w;
                len -= (size_t)w;
                chunk -= (size_t)w;
            } else if (w < 0 && errno == EINTR) {
                continue;
            } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
                if (wait_fd(fd, POLLOUT, deadline) != 0) return -1;
            } else {
                return -1;
            }
        }
    }
    return 0;
}

/* Read one reply line within timeout ms into out (at most MIGRATE_LINE_MAX
 * - 1 bytes kept, CRLF stripped): 0, or -1 (errno ETIMEDOUT on timeout).
 * Redis's connSyncReadLine; an empty line counts as an error there too. */
static int sync_readline(mconn_t *c, char *out, long long timeout)
{
    long long deadline = mono_ms() + timeout;
    for (;;) {
        char *s = buf_rptr(&c->in);
        char *nl = buf_len(&c->in) ? memchr(s, '\n', buf_len(&c->in)) : NULL;
        if (nl) {
            size_t l = (size_t)(nl - s);
            if (l && s[l - 1] == '\r') l--;
            if (l > MIGRATE_LINE_MAX - 1) l = MIGRATE_LINE_MAX - 1;
            memcpy(out, s, l);
            out[l] = '\0';
            buf_consume(&c->in, (size_t)(nl - s) + 1);
            if (l == 0) {
                errno = EPROTO;
                return -1;
            }
            return 0;
        }
        buf_compact(&c->in);
        buf_reserve(&c->in, 4096);
        ssize_t rd = recv(c->fd, buf_wptr(&c->in), buf_avail(&c->in), 0);
        if (rd > 0) {
            c->in.wpos += (size_t)rd;
        } else if (rd == 0) {
            errno = ECONNRESET;
            return -1;
        } else if (errno == EAGAIN || errno == EWOULDBLOCK) {
            if (wait_fd(c->fd, POLLIN, deadline) != 0) return -1;
        } else if (errno != EINTR) {
            return -1;
        }
    }
}

static void put_bulk(buf_t *b, const char *p, size_t len)
{
    char num[24];
    buf_putc(b, '$');
    buf_append(b, num, resp_ll2str(num, (long long)len));
    buf_append(b, "\r\n", 2);
    buf_append(b, p, len);
    buf_append(b, "\r\n", 2);
}

static void put_bulk_ll(buf_t *b, long long v)
{
    char num[24];
    put_bulk(b, num, resp_ll2str(num, v));
}

static void put_count(buf_t *b, int n)
{
    char num[24];
    buf_putc(b, '*');
    buf_append(b, num, resp_ll2str(num, n));
    buf_append(b, "\r\n", 2);
}

typedef struct margs {
    int copy, replace;
    const resp_arg_t *user, *pass;
    int first_key, num_keys;
    long long timeout, dbid;
} margs_t;

/* Options after the timeout, as Redis parses them: 0, or -1 replied. */
static int parse_args(const req_t *req, margs_t *a, reply_t *r)
{
    a->first_key = 3;
    a->num_keys = 1;
    for (int j = 6; j < req->argc; j++) {
        const resp_arg_t *o = &req->argv[j];
        int more = req->argc - 1 - j;
        if (arg_eq(o, "copy")) {
            a->copy = 1;
        } else if (arg_eq(o, "replace")) {
            a->replace = 1;
        } else if (arg_eq(o, "auth") && more >= 1) {
            a->pass = &req->argv[++j];
        } else if (arg_eq(o, "auth2") && more >= 2) {
            a->user = &req->argv[++j];
            a->pass = &req->argv[++j];
        } else if (arg_eq(o, "keys")) {
            if (req->argv[3].len != 0) {
                reply_error(r, "ERR When using MIGRATE KEYS option, the key "
                               "argument must be set to the empty string");
                return -1;
            }
            a->first_key = j + 1;
            a->num_keys = req->argc - j - 1;
            break;
        } else {
            reply_err_syntax(r);
            return -1;
        }
    }
    if (arg_ll(&req->argv[5], &a->timeout, r) ||
        arg_ll(&req->argv[4], &a->dbid, r))
        return -1;
    if (a->timeout <= 0) a->timeout = 1000;
    /* deadlines are now + timeout: keep the sum far from overflowing */
    if (a->timeout > MIGRATE_TIMEOUT_MAX) a->timeout = MIGRATE_TIMEOUT_MAX;
    return 0;
}

/* The pipelined batch for the keys kidx[0..nk) that still exist and have
 * not expired; compacts kidx to those and returns how many. */
static int build_batch(cmdctx_t *ctx, const req_t *req, const margs_t *a,
                       const mconn_t *c, int *kidx, int nk, buf_t *out)
{
    node_t *n = ctx->node;
    if (a->pass) {
        put_count(out, a->user ? 3 : 2);
        put_bulk(out, "AUTH", 4);
        if (a->user) put_bulk(out, a->user->ptr, a->user->len);
        put_bulk(out, a->pass->ptr, a->pass->len);
    }
    if (c->last_dbid != a->dbid) {
        put_count(out, 2);
        put_bulk(out, "SELECT", 6);
        put_bulk_ll(out, a->dbid);
    }
    int kept = 0;
    for (int j = 0; j < nk; j++) {
        const resp_arg_t *key = &req->argv[kidx[j]];
        kentry_t *e = db_lookup_notouch(ctx, key);
        if (!e) continue;
        long long ttl = 0, exp = ke_expire(e);
        if (exp != -1) {
            ttl = exp - node_unix_ms();
            if (ttl < 0) continue;
            if (ttl < 1) ttl = 1;
        }
        kidx[kept++] = kidx[j];
        put_count(out, a->replace ? 5 : 4);
        if (n->cluster)
            put_bulk(out, "RESTORE-ASKING", 14);
        else
            put_bulk(out, "RESTORE", 7);
        put_bulk(out, key->ptr, key->len);
        put_bulk_ll(out, ttl);
        size_t plen;
        unsigned char *p = rdb_dump_payload(n, e, &plen);
        put_bulk(out, (const char *)p, plen);
        ts_free(p);
        if (a->replace) put_bulk(out, "REPLACE", 7);
    }
    return kept;
}

/* Delete a key the target acknowledged (no COPY). */
static void delete_moved(cmdctx_t *ctx, const resp_arg_t *key)
{
    if (!db_delete(ctx, key)) return;
    db_modified(ctx, key);
    notify_key(ctx->node, NOTIFY_GENERIC, "del", key);
}

/* "Target instance replied with error: <line>", newlines made spaces as
 * addReplyErrorFormat does. */
static void reply_target_error(reply_t *r, char *line)
{
    for (char *p = line; *p; p++)
        if (*p == '\r' || *p == '\n') *p = ' ';
    reply_errorf(r, "ERR Target instance replied with error: %s", line + 1);
}

/* MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
 * [AUTH password] [AUTH2 username password] [KEYS key [key ...]] */
static void cmd_migrate(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    margs_t a = {0};
    if (parse_args(req, &a, r)) return;
    int *kidx = ts_malloc(sizeof(int) * ((size_t)a.num_keys + 1));
    resp_arg_t *delv = NULL;
    buf_t out;
    buf_init(&out);
    int nk = 0;
    for (int j = 0; j < a.num_keys; j++)
        if (db_lookup_read(ctx, &req->argv[a.first_key + j]))
            kidx[nk++] = a.first_key + j;
    if (nk == 0) {
        reply_simple(r, "NOKEY");
        goto out;
    }
    int may_retry = 1;
    char line0[MIGRATE_LINE_MAX], line1[MIGRATE_LINE_MAX],
        line2[MIGRATE_LINE_MAX];
    for (;;) { /* at most twice: a fresh connection after a stale one */
        int write_error = 0, socket_error = 0, target_error = 0;
        mconn_t *c =
            conn_get(ctx->node, &req->argv[1], &req->argv[2], a.timeout, r);
        if (!c) goto out;
        buf_clear(&out);
        int do_select = c->last_dbid != a.dbid;
        nk = build_batch(ctx, req, &a, c, kidx, nk, &out);
        errno = 0;
        if (sync_write(c->fd, buf_rptr(&out), buf_len(&out), a.timeout)) {
            write_error = 1;
            goto socket_err;
        }
        if (a.pass && sync_readline(c, line0, a.timeout)) goto socket_err;
        if (do_select && sync_readline(c, line1, a.timeout)) goto socket_err;
        if (!a.copy && !delv)
            delv = ts_malloc(sizeof(resp_arg_t) * ((size_t)nk + 1));
        int ndel = 1, j;
        for (j = 0; j < nk; j++) {
            if (sync_readline(c, line2, a.timeout)) {
                socket_error = 1;
                break;
            }
            char *err = a.pass && line0[0] == '-'      ? line0
                        : do_select && line1[0] == '-' ? line1
                        : line2[0] == '-'              ? line2
                                                       : NULL;
            if (err) {
                c->last_dbid = -1;
                if (!target_error) reply_target_error(r, err);
                target_error = 1;
            } else if (!a.copy) {
                delete_moved(ctx, &req->argv[kidx[j]]);
                delv[ndel++] = req->argv[kidx[j]];
            }
        }
        if (!target_error && socket_error && j == 0 && may_retry &&
            errno != ETIMEDOUT)
            goto socket_err;
        if (ndel > 1) { /* replicas and the AOF see DEL of the moved keys */
            delv[0] = propagate_arg("DEL");
            propagate_rewrite(ctx, ndel, delv);
        }
        if (socket_error) {
            close_named(ctx->node, c);
            if (!target_error) {
                reply_error(r, "IOERR error or timeout reading to target "
                               "instance");
            }
            goto out;
        }
        if (!target_error) {
            c->last_dbid = a.dbid;
            reply_ok(r);
        }
        goto out;
    socket_err:;
        int timed_out = errno == ETIMEDOUT;
        close_named(ctx->node, c);
        if (!timed_out && may_retry) {
            may_retry = 0;
            continue;
        }
        reply_errorf(r, "IOERR error or timeout %s to target instance",
                     write_error ? "writing" : "reading");
        goto out;
    }
out:
    buf_deinit(&out);
    ts_free(delv);
    ts_free(kidx);
}

const cmd_bind_t migrate_cmds[] = {
    {CMD_MIGRATE, cmd_migrate},
    {0, NULL},
};
