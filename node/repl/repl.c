/*
 * repl.c: replication state, the backlog, the master side, and the
 * replication commands (REPLICAOF/SLAVEOF, PSYNC/SYNC, REPLCONF, WAIT,
 * ROLE) and INFO replication.  The replica side (our link to a master)
 * is replica.c.
 *
 * The stream.  Every write the node executes reaches repl_sink through
 * node/propagate.h as RESP bytes.  On a master they are appended to the
 * backlog ring and to the output buffer of every replica that is online
 * or whose RDB is being written; master_repl_offset counts them.  A
 * replica's own applied stream is fed the same way from replica.c (so a
 * promoted replica can serve PSYNC from what it applied), never from the
 * sink.
 *
 * Full sync.  PSYNC that cannot continue puts the replica in
 * wait_bgsave; the cron forks once repl-diskless-sync-delay passed (all
 * replicas waiting at that moment share the child).  Before forking the
 * parent writes +FULLRESYNC <replid> <offset> to each socket; the child
 * writes "$EOF:<40 hex>\r\n" + RDB + the same 40 bytes (or "$<len>\r\n" +
 * RDB for replicas without "capa eof" and for SYNC) to the sockets,
 * polling them since they stay nonblocking, then one status byte per
 * target into a pipe.  The parent meanwhile appends new writes to the
 * replicas' output buffers without writing them (CLF_REPL_HOLD); when
 * the status arrives the replica goes online and its buffer is written.
 * The child is reaped by pid (never waitpid(-1), which would steal other
 * modules' children).
 */
#include "repl_int.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/wait.h>
#include <unistd.h>

#include <event2/event.h>

#include "alloc.h"
#include "blocking.h"
#include "log.h"
#include "proc.h"
#include "persist/childinfo.h"
#include "persist/rdb.h"
#include "propagate.h"

static const char zero_replid[] = "0000000000000000000000000000000000000000";

/* ==== state ============================================================ */

void repl_new_replid(repl_t *R)
{
    ts_random_hex(R->replid, REPL_ID_LEN);
    R->replid[REPL_ID_LEN] = '\0';
}

static void clear_replid2(repl_t *R)
{
    memcpy(R->replid2, zero_replid, sizeof(zero_replid));
    R->second_offset = -1;
}

repl_t *repl_state(node_t *n)
{
    if (n->repl) return n->repl;
    repl_t *R = ts_calloc(1, sizeof(*R));
    repl_new_replid(R);
    clear_replid2(R);
    R->seldb = -1;
    R->fd = -1;
    R->child_status_fd = -1;
    buf_init(&R->in);
    n->repl = R;
    return R;
}

static void repl_sink(void *arg, const char *resp, size_t len);

/* The propagate sink is registered only while there is a backlog (a
 * master that never had a replica pays nothing for the stream). */
static void sink_update(node_t *n)
{
    repl_t *R = n->repl;
    int want = R->bl != NULL;
    if (want == R->sink_on) return;
    if (want) propagate_add_sink(n, repl_sink, n);
    else propagate_remove_sink(n, repl_sink, n);
    R->sink_on = want;
}

void repl_setup(node_t *n)
{
    repl_t *R = repl_state(n);
    R->no_replicas_since_ms = node_unix_ms();
    if (R->master_host) replica_connect(n);   /* replicaof in the config */
    repl_min_ack_changed(n);
}

/* Durable writes need offsets before any replica attached: a backlog. */
void repl_min_ack_changed(node_t *n)
{
    if (n->repl_min_ack > 0 && !n->replica_mode) repl_backlog_create(n);
}

static void kill_child(node_t *n)
{
    repl_t *R = n->repl;
    if (!R->child) return;
    kill(R->child, SIGKILL);
    waitpid(R->child, NULL, 0);
    childinfo_child_done(n, R->child);
    R->child = 0;
    if (R->child_ev) event_free(R->child_ev);
    R->child_ev = NULL;
    if (R->child_status_fd >= 0) close(R->child_status_fd);
    R->child_status_fd = -1;
    ts_free(R->child_peers);
    R->child_peers = NULL;
    R->nchild_peers = 0;
}

void repl_teardown(node_t *n)
{
    repl_t *R = n->repl;
    if (!R) return;
    kill_child(n);
    replica_abort(n);
    repl_backlog_free(R);
    sink_update(n);
    if (R->ack_ev) event_free(R->ack_ev);
    buf_deinit(&R->in);
    ts_free(R->master_host);
    ts_free(R);
    n->repl = NULL;
}

/* ==== backlog =========================================================== */

void repl_backlog_create(node_t *n)
{
    repl_t *R = repl_state(n);
    if (R->bl) return;
    R->bl_size = n->repl_backlog_size > 0 ? n->repl_backlog_size : 1048576;
    if (R->bl_size < 16384) R->bl_size = 16384;   /* Redis's minimum */
    R->bl = ts_malloc((size_t)R->bl_size);
    R->bl_idx = 0;
    R->bl_histlen = 0;
    /* the next byte fed will have offset + 1 */
    R->bl_off = R->offset + 1;
    sink_update(n);
}

void repl_backlog_free(repl_t *R)
{
    ts_free(R->bl);
    R->bl = NULL;
    R->bl_histlen = 0;
    R->bl_idx = 0;
}

void repl_backlog_resize(node_t *n)
{
    repl_t *R = n->repl;
    if (!R || !R->bl || n->repl_backlog_size == R->bl_size) return;
    /* As Redis: a resized backlog starts empty (partial resyncs that
     * needed the old history fall back to a full sync). */
    ts_free(R->bl);
    R->bl = NULL;
    repl_backlog_create(n);
}

size_t repl_backlog_memory(const node_t *n)
{
    return n->repl && n->repl->bl ? (size_t)n->repl->bl_size : 0;
}

static void backlog_append(repl_t *R, const char *p, size_t len)
{
    while (len > 0) {
        size_t room = (size_t)(R->bl_size - R->bl_idx);
        size_t k = len < room ? len : room;
        memcpy(R->bl + R->bl_idx, p, k);
        R->bl_idx += (long long)k;
        if (R->bl_idx == R->bl_size) R->bl_idx = 0;
        R->bl_histlen += (long long)k;
        p += k;
        len -= k;
    }
    if (R->bl_histlen > R->bl_size) R->bl_histlen = R->bl_size;
    R->bl_off = R->offset - R->bl_histlen + 1;
}

/* Copy the backlog from offset `from` (inclusive) to the end into out. */
static void backlog_copy_from(repl_t *R, long long from, buf_t *out)
{
    long long skip = from - R->bl_off;
    long long len = R->bl_histlen - skip;
    long long start = (R->bl_idx - R->bl_histlen + R->bl_size) % R->bl_size;
    long long pos = (start + skip) % R->bl_size;
    while (len > 0) {
        long long k = R->bl_size - pos;
        if (k > len) k = len;
        buf_append(out, R->bl + pos, (size_t)k);
        len -= k;
        pos = 0;
    }
}

/* ==== feeding the stream ================================================ */

static int peer_streams(const repl_peer_t *p)
{
    return p->state == RP_ONLINE || p->state == RP_WAIT_BGSAVE_END;
}

static void peer_check_limit(repl_peer_t *p)
{
    client_t *c = p->c;
    if (c->flags & CLF_CLOSE_ASAP) return;
    if (!client_obuf_over_limit(c)) return;
    log_msg(LL_WARNING,
            "Client id=%llu addr=%s scheduled to be closed ASAP for "
            "overcoming of output buffer limits.",
            (unsigned long long)c->id, c->addr);
    buf_clear(&c->obuf);
    c->flags |= CLF_CLOSE_ASAP;
    c->flags &= ~CLF_REPL_HOLD;
    client_flush(c);
}

void repl_feed_raw(node_t *n, const char *p, size_t len)
{
    repl_t *R = n->repl;
    if (!R->bl) repl_backlog_create(n);
    R->offset += (long long)len;
    backlog_append(R, p, len);
    for (repl_peer_t *q = R->peers; q; q = q->next) {
        if (!peer_streams(q)) continue;
        buf_append(&q->c->obuf, p, len);
        peer_check_limit(q);
        client_flush(q->c);
    }
}

static const char select0[] = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";

/* propagate.h sink: the writes this node executed. */
static void repl_sink(void *arg, const char *resp, size_t len)
{
    node_t *n = arg;
    repl_t *R = n->repl;
    /* a replica streams what its master sent (replica.c), not this */
    if (n->replica_mode || !R) return;
    if (!R->bl && !R->peers) return;
    if (R->seldb != 0) {
        repl_feed_raw(n, select0, sizeof(select0) - 1);
        R->seldb = 0;
    }
    repl_feed_raw(n, resp, len);
}

/* Feed a command built here (PING, REPLCONF GETACK). */
static void feed_command(node_t *n, const char *resp)
{
    repl_t *R = n->repl;
    if (!R->peers && !R->bl) return;
    repl_feed_raw(n, resp, strlen(resp));
}

/* ==== attached replicas (master side) ==================================== */

static repl_peer_t *peer_of(node_t *n, client_t *c)
{
    if (!(c->flags & CLF_REPLICA) || !n->repl) return NULL;
    for (repl_peer_t *p = n->repl->peers; p; p = p->next)
        if (p->c == c) return p;
    return NULL;
}

static repl_peer_t *peer_create(node_t *n, client_t *c)
{
    repl_t *R = n->repl;
    repl_peer_t *p = ts_calloc(1, sizeof(*p));
    p->c = c;
    p->ack_ms = node_unix_ms();
    p->next = R->peers;
    if (R->peers) R->peers->prev = p;
    R->peers = p;
    R->npeers++;
    R->no_replicas_since_ms = 0;
    c->flags |= CLF_REPLICA;
    return p;
}

static void peer_free(node_t *n, repl_peer_t *p)
{
    repl_t *R = n->repl;
    for (int i = 0; i < R->nchild_peers; i++)
        if (R->child_peers[i] == p) R->child_peers[i] = NULL;
    if (p->prev) p->prev->next = p->next;
    else R->peers = p->next;
    if (p->next) p->next->prev = p->prev;
    R->npeers--;
    if (!R->npeers) R->no_replicas_since_ms = node_unix_ms();
    log_msg(LL_NOTICE, "Connection with replica %s lost.", p->c->addr);
    ts_free(p);
}

void repl_disconnect_peers(node_t *n)
{
    repl_t *R = n->repl;
    while (R && R->peers) {
        client_t *c = R->peers->c;
        peer_free(n, R->peers);
        c->flags &= ~(CLF_REPLICA | CLF_REPL_HOLD);
        client_free(c);
    }
}

/* Redis's replicationCountAcksByOffset. */
static long long count_acks(node_t *n, long long offset)
{
    long long cnt = 0;
    for (repl_peer_t *p = n->repl->peers; p; p = p->next)
        if (p->state == RP_ONLINE && p->ack_off >= offset) cnt++;
    return cnt;
}

static int good_replicas(node_t *n, long long now_ms)
{
    int cnt = 0;
    for (repl_peer_t *p = n->repl ? n->repl->peers : NULL; p; p = p->next)
        if (p->state == RP_ONLINE &&
            now_ms - p->ack_ms <= n->repl_min_max_lag * 1000)
            cnt++;
    return cnt;
}

/* ---- full sync: the child -------------------------------------------- */

typedef struct sync_out {
    int nfd;
    int *fds;
    char *failed;
    int stream;         /* write as produced (all targets use $EOF:) */
    buf_t acc;          /* whole image (when some target needs $<len>) */
    char chunk[64 * 1024];
    size_t clen;
} sync_out_t;

/* Write everything to a nonblocking socket, polling when it is full. */
static int write_fd_all(int fd, const char *p, size_t len)
{
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            /* a replica that takes nothing for 60 s is gone */
            if (poll(&pfd, 1, 60000) <= 0) return -1;
            continue;
        }
        return -1;
    }
    return 0;
}

static int out_flush(sync_out_t *o)
{
    int alive = 0;
    for (int i = 0; i < o->nfd; i++) {
        if (o->failed[i]) continue;
        if (write_fd_all(o->fds[i], o->chunk, o->clen) != 0) o->failed[i] = 1;
        else alive++;
    }
    o->clen = 0;
    return alive ? 0 : -1;
}

static int out_write(void *arg, const void *buf, size_t len)
{
    sync_out_t *o = arg;
    if (!o->stream) {
        buf_append(&o->acc, buf, len);
        return 0;
    }
    const char *p = buf;
    while (len > 0) {
        size_t k = sizeof(o->chunk) - o->clen;
        if (k > len) k = len;
        memcpy(o->chunk + o->clen, p, k);
        o->clen += k;
        p += k;
        len -= k;
        if (o->clen == sizeof(o->chunk) && out_flush(o) != 0) {
            errno = EPIPE;
            return -1;
        }
    }
    return 0;
}

static void child_main(node_t *n, repl_peer_t **peers, int np, int status_fd)
{
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    sync_out_t o = {.nfd = np};
    o.fds = ts_calloc((size_t)np, sizeof(int));
    o.failed = ts_calloc((size_t)np, 1);
    o.stream = 1;
    for (int i = 0; i < np; i++) {
        o.fds[i] = peers[i]->c->fd;
        if (!peers[i]->eof_sync) o.stream = 0;
    }
    buf_init(&o.acc);
    char mark[REPL_EOF_MARK_LEN + 1];
    ts_random_hex(mark, REPL_EOF_MARK_LEN);
    if (o.stream) {
        char head[64];
        int hl = snprintf(head, sizeof(head), "$EOF:%.40s\r\n", mark);
        memcpy(o.chunk, head, (size_t)hl);
        o.clen = (size_t)hl;
    }
    int rc = rdb_save_to(n, out_write, &o);
    if (rc == 0 && o.stream) {
        if (out_write(&o, mark, REPL_EOF_MARK_LEN) == 0) out_flush(&o);
    } else if (rc == 0) {
        for (int i = 0; i < np; i++) {
            char head[64];
            int hl;
            if (peers[i]->eof_sync)
                hl = snprintf(head, sizeof(head), "$EOF:%.40s\r\n", mark);
            else
                hl = snprintf(head, sizeof(head), "$%zu\r\n",
                              buf_len(&o.acc));
            if (write_fd_all(o.fds[i], head, (size_t)hl) != 0 ||
                write_fd_all(o.fds[i], buf_rptr(&o.acc), buf_len(&o.acc)) ||
                (peers[i]->eof_sync &&
                 write_fd_all(o.fds[i], mark, REPL_EOF_MARK_LEN) != 0))
                o.failed[i] = 1;
        }
    }
    if (rc != 0) memset(o.failed, 1, (size_t)np);
    if (rc == 0) childinfo_send_final(n);
    ssize_t w = write(status_fd, o.failed, (size_t)np);
    (void)w;
    _exit(rc == 0 ? 0 : 1);
}

/* ---- full sync: the parent ------------------------------------------- */

static void on_child_done(evutil_socket_t fd, short what, void *arg);

/* Blocking-ish write of what a replica's socket must see before the
 * child writes (pending replies, +FULLRESYNC). */
static int write_now(client_t *c)
{
    if (write_fd_all(c->fd, buf_rptr(&c->obuf), buf_len(&c->obuf)) != 0)
        return -1;
    buf_clear(&c->obuf);
    return 0;
}

static void start_sync_child(node_t *n)
{
    repl_t *R = n->repl;
    int np = 0;
    for (repl_peer_t *p = R->peers; p; p = p->next)
        if (p->state == RP_WAIT_BGSAVE_START) np++;
    if (!np) return;
    repl_peer_t **targets = ts_calloc((size_t)np, sizeof(*targets));
    np = 0;
    repl_peer_t *next;
    for (repl_peer_t *p = R->peers; p; p = next) {
        next = p->next;
        if (p->state != RP_WAIT_BGSAVE_START) continue;
        client_t *c = p->c;
        p->psync_offset = R->offset;
        if (!p->sync_cmd) {
            char line[128];
            snprintf(line, sizeof(line), "+FULLRESYNC %s %lld\r\n", R->replid,
                     R->offset);
            buf_append_str(&c->obuf, line);
        }
        if (write_now(c) != 0) {
            peer_free(n, p);
            c->flags &= ~(CLF_REPLICA | CLF_REPL_HOLD);
            client_free(c);
            continue;
        }
        p->state = RP_WAIT_BGSAVE_END;
        c->flags |= CLF_REPL_HOLD;
        targets[np++] = p;
    }
    if (!np) {
        ts_free(targets);
        return;
    }
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) {
        log_msg(LL_WARNING, "Can't create the replication sync pipe: %s",
                strerror(errno));
        goto fail;
    }
    log_msg(LL_NOTICE,
            "Starting BGSAVE for SYNC with target: replicas sockets");
    pid_t pid = childinfo_fork(n, CI_RDB);
    if (pid < 0) {
        log_msg(LL_WARNING, "Can't fork for the replication sync: %s",
                strerror(errno));
        close(pfd[0]);
        close(pfd[1]);
        goto fail;
    }
    if (pid == 0) {
        close(pfd[0]);
        child_main(n, targets, np, pfd[1]);
    }
    close(pfd[1]);
    log_msg(LL_NOTICE, "Background RDB transfer started by pid %d",
            (int)pid);
    R->child = pid;
    R->child_start_ms = node_unix_ms();
    R->child_status_fd = pfd[0];
    R->child_peers = targets;
    R->nchild_peers = np;
    R->child_ev = event_new(n->base, pfd[0], EV_READ | EV_PERSIST,
                            on_child_done, n);
    event_add(R->child_ev, NULL);
    return;
fail:
    for (int i = 0; i < np; i++) {
        client_t *c = targets[i]->c;
        peer_free(n, targets[i]);
        c->flags &= ~(CLF_REPLICA | CLF_REPL_HOLD);
        client_free(c);
    }
    ts_free(targets);
}

static void peer_online(repl_peer_t *p)
{
    p->state = RP_ONLINE;
    p->ack_ms = node_unix_ms();
    p->c->flags &= ~CLF_REPL_HOLD;
    client_flush(p->c);
    log_msg(LL_NOTICE, "Synchronization with replica %s succeeded",
            p->c->addr);
}

static void on_child_done(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    node_t *n = arg;
    repl_t *R = n->repl;
    char status[256];
    size_t want = (size_t)R->nchild_peers, got = 0;
    while (got < want) {
        ssize_t k = read(fd, status + got,
                         want - got < sizeof(status) - got
                             ? want - got
                             : sizeof(status) - got);
        if (k > 0) {
            got += (size_t)k;
            continue;
        }
        if (k < 0 && errno == EINTR) continue;
        if (k < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) return;
        break;  /* EOF: the child died; missing bytes count as failures */
    }
    int st = 0;
    waitpid(R->child, &st, 0);
    childinfo_child_done(n, R->child);
    log_msg(LL_NOTICE, "Background RDB transfer terminated %s",
            got == want && WIFEXITED(st) && WEXITSTATUS(st) == 0
                ? "with success"
                : "with error");
    repl_peer_t **targets = R->child_peers;
    int np = R->nchild_peers;
    R->child_peers = NULL;
    R->nchild_peers = 0;
    R->child = 0;
    event_free(R->child_ev);
    R->child_ev = NULL;
    close(R->child_status_fd);
    R->child_status_fd = -1;
    for (int i = 0; i < np; i++) {
        repl_peer_t *p = targets[i];
        if (!p) continue;  /* went away meanwhile */
        if ((size_t)i < got && status[i] == 0) {
            /* as Redis 7.0: after an $EOF: transfer the stream starts
             * with the replica's first ACK (it finished loading), so
             * that nothing follows the end mark in the same read */
            if (p->eof_sync) p->start_on_ack = 1;
            else peer_online(p);
        } else {
            client_t *c = p->c;
            log_msg(LL_WARNING, "Replica %s failed the RDB transfer",
                    c->addr);
            peer_free(n, p);
            c->flags &= ~(CLF_REPLICA | CLF_REPL_HOLD);
            client_free(c);
        }
    }
    ts_free(targets);
    repl_wake_waiters(n);
}

/* ==== WAIT and durable writes ============================================ */

static void on_getack(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    node_t *n = arg;
    repl_t *R = n->repl;
    R->get_ack_pending = 0;
    if (!n->replica_mode)
        feed_command(n, "*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n");
}

/* Ask the replicas for an ACK once, after this loop iteration (Redis
 * does it in beforeSleep): one GETACK serves every waiter of the batch. */
static void request_acks(node_t *n)
{
    repl_t *R = n->repl;
    if (R->get_ack_pending || !n->base) return;
    if (!R->ack_ev) R->ack_ev = event_new(n->base, -1, 0, on_getack, n);
    R->get_ack_pending = 1;
    event_active(R->ack_ev, EV_TIMEOUT, 0);
}

static void waiter_unlink(node_t *n, repl_waiter_t *w)
{
    repl_t *R = n->repl;
    if (w->prev) w->prev->next = w->next;
    else R->waiters = w->next;
    if (w->next) w->next->prev = w->prev;
    if (w->timer) event_free(w->timer);
}

/* Reply count (WAIT) or release the held reply (durable write),
 * unblock, run what the client pipelined after it. */
static void waiter_done(node_t *n, repl_waiter_t *w, long long count)
{
    client_t *c = w->c;
    waiter_unlink(n, w);
    if (!w->hold) {
        reply_t r;
        reply_init(&r, &c->obuf, c->proto);
        reply_int(&r, count);
    }
    c->blk_repl = NULL;
    c->flags &= ~(CLF_BLOCKED | CLF_REPL_WAIT | CLF_REPL_HOLD);
    n->blocked_clients--;
    client_flush(c);
    block_resume_client(n, c);
    ts_free(w);
}

static void on_wait_timeout(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    repl_waiter_t *w = arg;
    node_t *n = w->c->node;
    waiter_done(n, w, count_acks(n, w->offset));
}

void repl_wake_waiters(node_t *n)
{
    repl_t *R = n->repl;
    repl_waiter_t *next;
    for (repl_waiter_t *w = R ? R->waiters : NULL; w; w = next) {
        next = w->next;
        long long cnt = count_acks(n, w->offset);
        if (cnt >= w->numreplicas) waiter_done(n, w, cnt);
    }
}

/* WAIT numreplicas timeout */
static void cmd_wait(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    repl_t *R = repl_state(n);
    if (n->replica_mode) {
        reply_error(r, "ERR WAIT cannot be used with replica instances. "
                       "Please also note that since Redis 4.0 if a replica "
                       "is configured to be writable (which is not the "
                       "default) writes to replicas are just local and are "
                       "not propagated.");
        return;
    }
    long long num, tmo;
    if (arg_ll(&req->argv[1], &num, r) < 0) return;
    if (arg_ll_msg(&req->argv[2], &tmo, r,
                   "ERR timeout is not an integer or out of range") < 0)
        return;
    if (tmo < 0) {
        reply_error(r, "ERR timeout is negative");
        return;
    }
    /* the offset right after this client's last replicated write */
    long long off = ctx->client ? ctx->client->repl_woff : R->offset;
    long long acks = count_acks(n, off);
    client_t *c = ctx->client;
    if (acks >= num || !c || (c->flags & CLF_DENY_BLOCKING)) {
        reply_int(r, acks);
        return;
    }
    repl_waiter_t *w = ts_calloc(1, sizeof(*w));
    w->c = c;
    w->offset = off;
    w->numreplicas = num;
    if (tmo > 0) {
        struct timeval tv = {.tv_sec = tmo / 1000,
                             .tv_usec = (tmo % 1000) * 1000};
        w->timer = evtimer_new(n->base, on_wait_timeout, w);
        evtimer_add(w->timer, &tv);
    }
    w->next = R->waiters;
    if (R->waiters) R->waiters->prev = w;
    R->waiters = w;
    c->blk_repl = w;
    c->flags |= CLF_BLOCKED | CLF_REPL_WAIT;
    n->blocked_clients++;
    request_acks(n);
}

long long repl_stream_offset(const node_t *n)
{
    return n->repl ? n->repl->offset : 0;
}

void repl_after_write(node_t *n, client_t *c)
{
    repl_t *R = n->repl;
    c->repl_woff = R->offset;
    if (!n->repl_min_ack || n->replica_mode ||
        (c->flags & (CLF_MASTER | CLF_REPLICA | CLF_MULTI)) ||
        count_acks(n, R->offset) >= n->repl_min_ack)
        return;
    repl_waiter_t *w = ts_calloc(1, sizeof(*w));
    w->c = c;
    w->offset = R->offset;
    w->numreplicas = n->repl_min_ack;
    w->hold = 1;
    w->next = R->waiters;
    if (R->waiters) R->waiters->prev = w;
    R->waiters = w;
    c->blk_repl = w;
    /* the reply stays in obuf, unwritten, and the client's next
     * commands wait, until enough replicas have this write */
    c->flags |= CLF_BLOCKED | CLF_REPL_WAIT | CLF_REPL_HOLD;
    n->blocked_clients++;
    request_acks(n);
}

/* ==== commands =========================================================== */

/* REPLCONF <option> <value> [<option> <value> ...] */
static void cmd_replconf(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    client_t *c = ctx->client;
    if (req->argc % 2 == 0) {
        reply_err_syntax(r);
        return;
    }
    repl_peer_t *p = c ? peer_of(n, c) : NULL;
    for (int j = 1; j < req->argc; j += 2) {
        const resp_arg_t *o = &req->argv[j], *v = &req->argv[j + 1];
        if (arg_eq(o, "listening-port")) {
            long long port;
            if (arg_ll(v, &port, r) < 0) return;
            if (c) c->repl_port = (int)port;
        } else if (arg_eq(o, "ip-address")) {
            if (c && v->len < sizeof(c->repl_ip)) {
                memcpy(c->repl_ip, v->ptr, v->len);
                c->repl_ip[v->len] = '\0';
            }
        } else if (arg_eq(o, "capa")) {
            if (c && arg_eq(v, "eof")) c->repl_capa |= REPL_CAPA_EOF;
            else if (c && arg_eq(v, "psync2")) c->repl_capa |= REPL_CAPA_PSYNC2;
        } else if (arg_eq(o, "ack")) {
            /* from replicas only, and never answered */
            if (!p) return;
            long long off;
            if (!resp_str2ll(v->ptr, v->len, &off)) return;
            if (off > p->ack_off) p->ack_off = off;
            p->ack_ms = ctx->now_ms;
            if (p->start_on_ack) {
                p->start_on_ack = 0;
                peer_online(p);
            }
            if (n->repl->waiters) repl_wake_waiters(n);
            return;
        } else if (arg_eq(o, "getack")) {
            if (n->replica_mode && c && c == n->master_client)
                n->repl->ack_now = 1;
            return;
        } else {
            reply_errorf(r, "ERR Unrecognized REPLCONF option: %.*s",
                         (int)(o->len > 128 ? 128 : o->len), o->ptr);
            return;
        }
    }
    reply_ok(r);
}

/* Can PSYNC <replid> <offset> continue from the backlog? */
static int can_continue(repl_t *R, const resp_arg_t *id, long long off)
{
    if (!R->bl || id->len != REPL_ID_LEN) return 0;
    int same = strncasecmp(id->ptr, R->replid, REPL_ID_LEN) == 0;
    int prev = strncasecmp(id->ptr, R->replid2, REPL_ID_LEN) == 0 &&
               off <= R->second_offset;
    if (!same && !prev) return 0;
    return off >= R->bl_off && off <= R->bl_off + R->bl_histlen;
}

/* PSYNC replicationid offset | SYNC */
static void cmd_sync(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    client_t *c = ctx->client;
    repl_t *R = repl_state(n);
    if (!c || (c->flags & CLF_REPLICA)) return;
    if (n->replica_mode && R->link_state != RL_CONNECTED) {
        reply_error(r, "NOMASTERLINK Can't SYNC while not connected with my "
                       "master");
        return;
    }
    if (buf_len(&c->obuf) > 0) {
        reply_error(r, "SYNC and PSYNC are invalid with pending output");
        return;
    }
    int is_psync = req->spec->id == CMD_PSYNC;
    long long off = 0;
    if (is_psync && !resp_str2ll(req->argv[2].ptr, req->argv[2].len, &off)) {
        reply_err_notint(r);
        return;
    }
    if (is_psync && can_continue(R, &req->argv[1], off)) {
        repl_peer_t *p = peer_create(n, c);
        p->capa = c->repl_capa;
        p->listening_port = c->repl_port;
        snprintf(p->announced_ip, sizeof(p->announced_ip), "%s", c->repl_ip);
        p->state = RP_ONLINE;
        if (p->capa & REPL_CAPA_PSYNC2)
            buf_printf(r->out, "+CONTINUE %s\r\n", R->replid);
        else
            buf_append_str(r->out, "+CONTINUE\r\n");
        backlog_copy_from(R, off, r->out);
        n->stats.sync_partial_ok++;
        log_msg(LL_NOTICE,
                "Partial resynchronization request from %s accepted. "
                "Sending %lld bytes of backlog starting from offset %lld.",
                c->addr, R->offset - off + 1, off);
        return;
    }
    if (is_psync && !(req->argv[1].len == 1 && req->argv[1].ptr[0] == '?'))
        n->stats.sync_partial_err++;
    n->stats.sync_full++;
    log_msg(LL_NOTICE, "Replica %s asks for synchronization", c->addr);
    repl_peer_t *p = peer_create(n, c);
    p->capa = c->repl_capa;
    p->listening_port = c->repl_port;
    snprintf(p->announced_ip, sizeof(p->announced_ip), "%s", c->repl_ip);
    p->state = RP_WAIT_BGSAVE_START;
    p->eof_sync = n->repl_diskless_sync && (p->capa & REPL_CAPA_EOF) &&
                  is_psync;
    p->sync_cmd = !is_psync;
    /* the first replica: a backlog, and a replid with no past */
    if (!R->bl) {
        repl_new_replid(R);
        clear_replid2(R);
        repl_backlog_create(n);
    }
    R->seldb = -1;  /* the replica's stream starts with SELECT */
    if (!R->wait_start_since_ms) R->wait_start_since_ms = ctx->now_ms;
    /* the reply (+FULLRESYNC) is written when the child starts */
}

static int parse_port(const resp_arg_t *a, long long *port)
{
    return resp_str2ll(a->ptr, a->len, port) && *port >= 0 && *port <= 65535;
}

/* REPLICAOF host port | REPLICAOF NO ONE (and SLAVEOF) */
static void cmd_replicaof(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    repl_t *R = repl_state(n);
    if (n->cluster_enabled) {
        reply_error(r, "ERR REPLICAOF not allowed in cluster mode.");
        return;
    }
    if (arg_eq(&req->argv[1], "no") && arg_eq(&req->argv[2], "one")) {
        if (n->replica_mode) {
            repl_unset_master(n);
            log_msg(LL_NOTICE, "MASTER MODE enabled (user request from "
                    "'id=%llu addr=%s')",
                    ctx->client ? (unsigned long long)ctx->client->id : 0ULL,
                    ctx->client ? ctx->client->addr : "?");
        }
        reply_ok(r);
        return;
    }
    if (ctx->client && (ctx->client->flags & CLF_REPLICA)) {
        reply_error(r, "ERR Command is not valid when client is a replica.");
        return;
    }
    long long port;
    if (!parse_port(&req->argv[2], &port)) {
        reply_error(r, "ERR Invalid master port");
        return;
    }
    char host[256];
    const resp_arg_t *h = &req->argv[1];
    snprintf(host, sizeof(host), "%.*s", (int)(h->len < 255 ? h->len : 255),
             h->ptr);
    if (n->replica_mode && R->master_host &&
        strcasecmp(R->master_host, host) == 0 && R->master_port == port) {
        log_msg(LL_NOTICE, "REPLICAOF would result into synchronization "
                "with the master we are already connected with. No "
                "operation performed.");
        reply_simple(r, "OK Already connected to specified master");
        return;
    }
    repl_set_master(n, host, (int)port);
    log_msg(LL_NOTICE, "REPLICAOF %s:%lld enabled (user request from "
            "'id=%llu addr=%s')", host, port,
            ctx->client ? (unsigned long long)ctx->client->id : 0ULL,
            ctx->client ? ctx->client->addr : "?");
    reply_ok(r);
}

/* ROLE */
static void cmd_role(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    node_t *n = ctx->node;
    repl_t *R = repl_state(n);
    if (n->replica_mode) {
        reply_array(r, 5);
        reply_bulk_str(r, "slave");
        reply_bulk_str(r, R->master_host);
        reply_int(r, R->master_port);
        reply_bulk_str(r, replica_state_name(n));
        reply_int(r, n->master_client ? R->offset : -1);
        return;
    }
    reply_array(r, 3);
    reply_bulk_str(r, "master");
    reply_int(r, R->offset);
    size_t h = reply_defer(r);
    long long cnt = 0;
    for (repl_peer_t *p = R->peers; p; p = p->next) {
        if (p->state != RP_ONLINE) continue;
        char ip[64];
        const char *colon = strrchr(p->c->addr, ':');
        size_t ilen = colon ? (size_t)(colon - p->c->addr) : 0;
        if (p->announced_ip[0]) snprintf(ip, sizeof(ip), "%s", p->announced_ip);
        else snprintf(ip, sizeof(ip), "%.*s", (int)ilen, p->c->addr);
        reply_array(r, 3);
        reply_bulk_str(r, ip);
        reply_bulk_ll(r, p->listening_port);
        reply_bulk_ll(r, p->ack_off);
        cnt++;
    }
    reply_set_deferred(r, h, '*', cnt);
}

const cmd_bind_t repl_cmds[] = {
    {CMD_REPLICAOF, cmd_replicaof},
    {CMD_SLAVEOF, cmd_replicaof},
    {CMD_PSYNC, cmd_sync},
    {CMD_SYNC, cmd_sync},
    {CMD_REPLCONF, cmd_replconf},
    {CMD_WAIT, cmd_wait},
    {CMD_ROLE, cmd_role},
    {CMD__COUNT, NULL},
};

/* ==== role changes ======================================================= */

int repl_set_master(node_t *n, const char *host, int port)
{
    repl_t *R = repl_state(n);
    if (!host || !host[0] || port < 0 || port > 65535) return -1;
    int was_master = !n->replica_mode;
    ts_free(R->master_host);
    R->master_host = ts_strdup(host);
    R->master_port = port;
    replica_abort(n);
    if (n->master_client) {
        client_t *m = n->master_client;
        n->master_client = NULL;
        m->flags &= ~CLF_MASTER;
        client_free(m);
    }
    n->replica_mode = 1;
    if (was_master) {
        /* WAITing clients can't be served by a replica: answer now */
        while (R->waiters)
            waiter_done(n, R->waiters, count_acks(n, R->waiters->offset));
        /* our replicas must learn the new history */
        repl_disconnect_peers(n);
    }
    R->link_state = RL_CONNECT;
    R->down_since_ms = 0;
    R->next_connect_ms = 0;
    R->backoff_ms = 0;
    if (n->base) replica_connect(n);
    return 0;
}

void repl_unset_master(node_t *n)
{
    repl_t *R = repl_state(n);
    if (!n->replica_mode) return;
    replica_abort(n);
    if (n->master_client) {
        client_t *m = n->master_client;
        n->master_client = NULL;
        m->flags &= ~CLF_MASTER;
        client_free(m);
    }
    ts_free(R->master_host);
    R->master_host = NULL;
    n->replica_mode = 0;
    R->link_state = RL_NONE;
    /* PSYNC2: replicas of our old master may continue with us up to
     * here, under the old id */
    memcpy(R->replid2, R->replid, sizeof(R->replid));
    R->second_offset = R->offset + 1;
    repl_new_replid(R);
    if (!R->bl) repl_backlog_create(n);
    /* sub-replicas reconnect and learn the new id (+CONTINUE <id>) */
    repl_disconnect_peers(n);
    R->seldb = -1;
}

/* ==== checks, hooks, cron ================================================= */

int repl_check_write(node_t *n, client_t *c, const cmd_spec_t *cmd,
                     reply_t *r)
{
    unsigned f = cmd->flags;
    if (n->replica_mode && !n->repl_serve_stale && !(f & CF_STALE) &&
        n->repl->link_state != RL_CONNECTED) {
        reply_error(r, "MASTERDOWN Link with MASTER is down and "
                       "replica-serve-stale-data is set to 'no'.");
        return -1;
    }
    if (cmd->id == CMD_EXEC) f |= multi_queued_flags(c);
    if (!(f & CF_WRITE)) return 0;
    if (!n->replica_mode && n->repl_min_to_write > 0 &&
        n->repl_min_max_lag > 0 &&
        good_replicas(n, node_unix_ms()) < n->repl_min_to_write) {
        reply_error(r, "NOREPLICAS Not enough good replicas to write.");
        return -1;
    }
    if (n->replica_mode && n->repl_read_only && c != n->master_client) {
        reply_error(r, "READONLY You can't write against a read only "
                       "replica.");
        return -1;
    }
    return 0;
}

void repl_client_free(client_t *c)
{
    node_t *n = c->node;
    repl_t *R = n->repl;
    if (!R) return;
    if (c->flags & CLF_REPL_WAIT) {
        repl_waiter_t *w = c->blk_repl;
        waiter_unlink(n, w);
        ts_free(w);
        c->blk_repl = NULL;
        c->flags &= ~(CLF_REPL_WAIT | CLF_BLOCKED);
        n->blocked_clients--;
    }
    if (c->flags & CLF_REPLICA) {
        repl_peer_t *p = peer_of(n, c);
        if (p) peer_free(n, p);
        c->flags &= ~CLF_REPLICA;
        /* nobody left for the running child: stop it */
        if (R->child) {
            int any = 0;
            for (int i = 0; i < R->nchild_peers; i++)
                if (R->child_peers[i]) any = 1;
            if (!any) {
                log_msg(LL_WARNING, "Diskless rdb transfer, last replica "
                        "dropped, killing fork child.");
                kill_child(n);
            }
        }
    }
    if ((c->flags & CLF_MASTER) && n->master_client == c) {
        n->master_client = NULL;
        c->flags &= ~CLF_MASTER;
        log_msg(LL_NOTICE, "Connection with master lost.");
        R->link_state = RL_CONNECT;
        R->down_since_ms = node_unix_ms();
        R->next_connect_ms = 0;
    }
}

void repl_cron(node_t *n, long long now_ms)
{
    repl_t *R = n->repl;
    if (!R) return;
    if (n->replica_mode) replica_cron(n, now_ms);
    /* start the full syncs that are waiting */
    if (!R->child && R->wait_start_since_ms) {
        int waiting = 0;
        for (repl_peer_t *p = R->peers; p; p = p->next)
            if (p->state == RP_WAIT_BGSAVE_START) waiting++;
        if (!waiting) {
            R->wait_start_since_ms = 0;
        } else if (!n->repl_diskless_sync ||
                   now_ms - R->wait_start_since_ms >=
                       n->repl_diskless_sync_delay * 1000 ||
                   (n->repl_diskless_sync_max > 0 &&
                    waiting >= n->repl_diskless_sync_max)) {
            R->wait_start_since_ms = 0;
            start_sync_child(n);
        }
    }
    /* PING the replicas every repl-ping-replica-period (in the stream) */
    if (!n->replica_mode && R->peers && n->repl_ping_period > 0 &&
        now_ms - R->last_ping_ms >= n->repl_ping_period * 1000) {
        R->last_ping_ms = now_ms;
        feed_command(n, "*1\r\n$4\r\nPING\r\n");
    }
    /* replicas that stopped ACKing for repl-timeout are gone */
    repl_peer_t *next;
    for (repl_peer_t *p = R->peers; p; p = next) {
        next = p->next;
        /* SYNC (pre-PSYNC) replicas never ACK */
        if (p->state != RP_ONLINE || p->sync_cmd) continue;
        if (now_ms - p->ack_ms > n->repl_timeout * 1000) {
            client_t *c = p->c;
            log_msg(LL_WARNING, "Disconnecting timedout replica: %s",
                    c->addr);
            client_free(c);
        }
    }
    /* repl-backlog-ttl: a master without replicas frees its backlog */
    if (!n->replica_mode && R->bl && !R->peers && n->repl_backlog_ttl > 0 &&
        !n->repl_min_ack &&
        R->no_replicas_since_ms &&
        now_ms - R->no_replicas_since_ms >= n->repl_backlog_ttl * 1000) {
        repl_new_replid(R);
        clear_replid2(R);
        repl_backlog_free(R);
        sink_update(n);
        log_msg(LL_NOTICE, "Replication backlog freed after %lld seconds "
                "without connected replicas.", n->repl_backlog_ttl);
    }
}

/* ==== INFO ================================================================ */

static const char *peer_state_name(const repl_peer_t *p)
{
    return p->state == RP_ONLINE ? "online" : "wait_bgsave";
}

void repl_info(node_t *n, buf_t *o)
{
    repl_t *R = repl_state(n);
    long long now = node_unix_ms();
    buf_printf(o, "# Replication\r\nrole:%s\r\n",
               n->replica_mode ? "slave" : "master");
    if (n->replica_mode) replica_info(n, o);
    buf_printf(o, "connected_slaves:%d\r\n", R->npeers);
    if (n->repl_min_to_write > 0 && n->repl_min_max_lag > 0)
        buf_printf(o, "min_slaves_good_slaves:%d\r\n", good_replicas(n, now));
    int i = 0;
    /* Redis lists replicas oldest first; ours are linked newest first */
    repl_peer_t *last = R->peers;
    while (last && last->next) last = last->next;
    for (repl_peer_t *p = last; p; p = p->prev) {
        char ip[64];
        const char *colon = strrchr(p->c->addr, ':');
        size_t ilen = colon ? (size_t)(colon - p->c->addr) : 0;
        if (p->announced_ip[0]) snprintf(ip, sizeof(ip), "%s", p->announced_ip);
        else snprintf(ip, sizeof(ip), "%.*s", (int)ilen, p->c->addr);
        buf_printf(o, "slave%d:ip=%s,port=%d,state=%s,offset=%lld,lag=%lld\r\n",
                   i++, ip, p->listening_port, peer_state_name(p), p->ack_off,
                   (now - p->ack_ms) / 1000);
    }
    buf_printf(o,
               "master_failover_state:no-failover\r\n"
               "master_replid:%s\r\n"
               "master_replid2:%s\r\n"
               "master_repl_offset:%lld\r\n"
               "second_repl_offset:%lld\r\n"
               "repl_backlog_active:%d\r\n"
               "repl_backlog_size:%lld\r\n"
               "repl_backlog_first_byte_offset:%lld\r\n"
               "repl_backlog_histlen:%lld\r\n",
               R->replid, R->replid2, R->offset, R->second_offset,
               R->bl != NULL, n->repl_backlog_size,
               R->bl ? R->bl_off : 0, R->bl ? R->bl_histlen : 0);
}

/* ==== options ============================================================== */

const char *repl_opt_set_replicaof(node_t *n, int argc, char **argv)
{
    if (argc != 2) return "wrong number of arguments";
    if (strcasecmp(argv[0], "no") == 0 && strcasecmp(argv[1], "one") == 0) {
        if (n->base) repl_unset_master(n);
        else if (n->repl) {
            ts_free(n->repl->master_host);
            n->repl->master_host = NULL;
            n->replica_mode = 0;
        }
        return NULL;
    }
    char *end;
    long port = strtol(argv[1], &end, 10);
    if (!argv[1][0] || *end || port < 0 || port > 65535)
        return "Invalid master port";
    if (n->base) {
        repl_set_master(n, argv[0], (int)port);
        return NULL;
    }
    repl_t *R = repl_state(n);      /* at start-up: connect in repl_setup */
    ts_free(R->master_host);
    R->master_host = ts_strdup(argv[0]);
    R->master_port = (int)port;
    R->link_state = RL_CONNECT;
    n->replica_mode = 1;
    return NULL;
}

void repl_opt_get_replicaof(node_t *n, char *out, size_t sz)
{
    if (n->replica_mode && n->repl && n->repl->master_host)
        snprintf(out, sz, "%s %d", n->repl->master_host, n->repl->master_port);
    else
        snprintf(out, sz, "%s", "");
}
