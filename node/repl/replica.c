/*
 * replica.c: the replica side of replication, our link to the master.
 *
 *   connect (nonblocking) -> PING -> [AUTH] REPLCONF listening-port,
 *   REPLCONF capa eof capa psync2 (pipelined, replies read in order)
 *   -> PSYNC <replid> <offset+1> (or "? -1" with no history)
 *      +FULLRESYNC <id> <off>: the payload follows, "$<len>\r\n" + RDB or
 *          "$EOF:<mark>\r\n" + RDB + mark; it is read into memory without
 *          blocking the loop, then loaded into a fresh keyspace that
 *          replaces the old one only once it loaded completely
 *      +CONTINUE [<id>]: the stream continues where our offset is
 *   -> the socket becomes the master client (client.c does the I/O):
 *      its commands run with replies off, every command's bytes advance
 *      the offset and feed our backlog and sub-replicas
 *      (repl_master_applied); REPLCONF ACK <offset> goes back every
 *      second, after a full sync, and on REPLCONF GETACK.
 *
 * Any failure closes the socket and retries after a backoff (100 ms
 * doubling to 1 s); a master silent for repl-timeout is dropped.
 */
#include "repl_int.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>

#include "alloc.h"
#include "evict.h"
#include "lazyfree.h"
#include "log.h"
#include "multi.h"
#include "persist/rdb.h"

#define READ_CHUNK (64 * 1024)
#define MAX_LINE 1024   /* a handshake reply line longer than this is junk */

const char *replica_state_name(const node_t *n)
{
    switch (n->repl->link_state) {
    case RL_CONNECT: return "connect";
    case RL_CONNECTING: return "connecting";
    case RL_RECV_PONG:
    case RL_RECV_REPLIES:
    case RL_RECV_PSYNC: return "handshake";
    case RL_TRANSFER: return "sync";
    case RL_CONNECTED: return "connected";
    default: return "none";
    }
}

void replica_abort(node_t *n)
{
    repl_t *R = n->repl;
    if (!R) return;
    if (R->ev) event_free(R->ev);
    R->ev = NULL;
    if (R->fd >= 0) close(R->fd);
    R->fd = -1;
    buf_clear(&R->in);
    buf_shrink(&R->in, 0);
    R->transfer_size = 0;
    R->transfer_read = 0;
}

/* Give up on this attempt; the cron retries after the backoff. */
static void link_fail(node_t *n, const char *why)
{
    repl_t *R = n->repl;
    if (why) log_msg(LL_WARNING, "Master link: %s", why);
    replica_abort(n);
    R->link_state = RL_CONNECT;
    R->backoff_ms = R->backoff_ms ? R->backoff_ms * 2 : 100;
    if (R->backoff_ms > 1000) R->backoff_ms = 1000;
    R->next_connect_ms = node_unix_ms() + R->backoff_ms;
    if (!R->down_since_ms) R->down_since_ms = node_unix_ms();
}

static void on_link_event(evutil_socket_t fd, short what, void *arg);

static void arm(node_t *n, short what)
{
    repl_t *R = n->repl;
    if (R->ev) event_free(R->ev);
    R->ev = event_new(n->base, R->fd, what | EV_PERSIST, on_link_event, n);
    event_add(R->ev, NULL);
}

/* Small handshake writes go out at once (the socket buffer is empty). */
static int send_raw(node_t *n, const char *p, size_t len)
{
    repl_t *R = n->repl;
    while (len > 0) {
        ssize_t w = write(R->fd, p, len);
        if (w > 0) {
            p += w;
            len -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else {
            return -1;
        }
    }
    return 0;
}

static void append_cmd(buf_t *b, int argc, const char **argv)
{
    buf_printf(b, "*%d\r\n", argc);
    for (int i = 0; i < argc; i++)
        buf_printf(b, "$%zu\r\n%s\r\n", strlen(argv[i]), argv[i]);
}

void replica_connect(node_t *n)
{
    repl_t *R = n->repl;
    replica_abort(n);
    R->link_state = RL_CONNECT;
    if (!R->master_host) return;
    char port[16];
    snprintf(port, sizeof(port), "%d", R->master_port);
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    int rc = getaddrinfo(R->master_host, port, &hints, &res);
    if (rc != 0) {
        log_msg(LL_WARNING, "Unable to resolve master %s: %s", R->master_host,
                gai_strerror(rc));
        link_fail(n, NULL);
        return;
    }
    int fd = socket(res->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
                    0);
    if (fd < 0 || (connect(fd, res->ai_addr, res->ai_addrlen) != 0 &&
                   errno != EINPROGRESS)) {
        int err = errno;
        if (fd >= 0) close(fd);
        freeaddrinfo(res);
        log_msg(LL_WARNING, "Error condition on socket for SYNC: %s",
                strerror(err));
        link_fail(n, NULL);
        return;
    }
    freeaddrinfo(res);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    log_msg(LL_NOTICE, "Connecting to MASTER %s:%d", R->master_host,
            R->master_port);
    R->fd = fd;
    R->link_state = RL_CONNECTING;
    R->last_io_ms = node_unix_ms();
    arm(n, EV_WRITE);
}

/* ---- handshake ------------------------------------------------------ */

/* Take one line (without CRLF/LF) from R->in: 1, 0 if incomplete, -1 if
 * too long. */
static int take_line(repl_t *R, char *out, size_t outsz)
{
    char *p = buf_rptr(&R->in);
    size_t len = buf_len(&R->in);
    char *nl = memchr(p, '\n', len);
    if (!nl) return len > MAX_LINE ? -1 : 0;
    size_t l = (size_t)(nl - p);
    buf_consume(&R->in, l + 1);
    if (l > 0 && p[l - 1] == '\r') l--;
    if (l >= outsz) l = outsz - 1;
    memcpy(out, p, l);
    out[l] = '\0';
    return 1;
}

static void send_handshake(node_t *n)
{
    repl_t *R = n->repl;
    buf_t b;
    buf_init(&b);
    int cnt = 0;
    if (n->masterauth && n->masterauth[0]) {
        if (n->masteruser && n->masteruser[0]) {
            const char *a[] = {"AUTH", n->masteruser, n->masterauth};
            append_cmd(&b, 3, a);
        } else {
            const char *a[] = {"AUTH", n->masterauth};
            append_cmd(&b, 2, a);
        }
        cnt++;
    }
    char port[16];
    snprintf(port, sizeof(port), "%lld",
             n->repl_announce_port ? n->repl_announce_port : n->port);
    const char *lp[] = {"REPLCONF", "listening-port", port};
    append_cmd(&b, 3, lp);
    cnt++;
    if (n->repl_announce_ip && n->repl_announce_ip[0]) {
        const char *ip[] = {"REPLCONF", "ip-address", n->repl_announce_ip};
        append_cmd(&b, 3, ip);
        cnt++;
    }
    const char *capa[] = {"REPLCONF", "capa", "eof", "capa", "psync2"};
    append_cmd(&b, 5, capa);
    cnt++;
    int rc = send_raw(n, buf_rptr(&b), buf_len(&b));
    buf_deinit(&b);
    if (rc != 0) {
        link_fail(n, "error writing the handshake");
        return;
    }
    R->replies_pending = cnt;
    R->link_state = RL_RECV_REPLIES;
}

static void send_psync(node_t *n)
{
    repl_t *R = n->repl;
    char off[32];
    const char *id = "?";
    if (R->offset > 0) {
        id = R->replid;
        snprintf(off, sizeof(off), "%lld", R->offset + 1);
    } else {
        snprintf(off, sizeof(off), "-1");
    }
    log_msg(LL_NOTICE, "Trying a partial resynchronization (request %s:%s).",
            id, off);
    buf_t b;
    buf_init(&b);
    const char *a[] = {"PSYNC", id, off};
    append_cmd(&b, 3, a);
    int rc = send_raw(n, buf_rptr(&b), buf_len(&b));
    buf_deinit(&b);
    if (rc != 0) {
        link_fail(n, "error writing PSYNC");
        return;
    }
    R->link_state = RL_RECV_PSYNC;
}

/* ---- becoming connected ------------------------------------------------ */

void replica_send_ack(node_t *n)
{
    client_t *m = n->master_client;
    if (!m) return;
    char off[32];
    snprintf(off, sizeof(off), "%lld", n->repl->offset);
    const char *a[] = {"REPLCONF", "ACK", off};
    append_cmd(&m->obuf, 3, a);
    client_flush(m);
    n->repl->last_ack_ms = node_unix_ms();
}

/* The handshake socket becomes the master client; bytes already read
 * past the payload are its first input. */
static void become_connected(node_t *n)
{
    repl_t *R = n->repl;
    if (R->ev) event_free(R->ev);
    R->ev = NULL;
    int fd = R->fd;
    R->fd = -1;
    client_t *m = client_create(n, fd, 0);
    m->flags |= CLF_MASTER | CLF_REPLY_OFF;
    m->authenticated = 1;
    n->master_client = m;
    R->link_state = RL_CONNECTED;
    R->down_since_ms = 0;
    R->backoff_ms = 0;
    log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: Master accepted a Partial "
            "Resynchronization or finished a full one; streaming.");
    replica_send_ack(n);
    if (buf_len(&R->in)) {
        buf_append(&m->qbuf, buf_rptr(&R->in), buf_len(&R->in));
        buf_clear(&R->in);
        client_process_input(m);
        client_flush(m);
    }
    buf_shrink(&R->in, 0);
}

static void handle_continue(node_t *n, const char *line)
{
    repl_t *R = n->repl;
    const char *id = line + 9;     /* "+CONTINUE" */
    while (*id == ' ') id++;
    if (strlen(id) == REPL_ID_LEN && strcmp(id, R->replid) != 0) {
        /* the master's history has a new id from here: keep the old one
         * as replid2 so our own replicas can continue too */
        snprintf(R->replid2, sizeof(R->replid2), "%s", R->replid);
        R->second_offset = R->offset + 1;
        snprintf(R->replid, sizeof(R->replid), "%.40s", id);
        repl_disconnect_peers(n);
    }
    if (!R->bl) repl_backlog_create(n);
    log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: Master accepted a Partial "
            "Resynchronization.");
    become_connected(n);
}

static int handle_psync_reply(node_t *n, const char *line)
{
    repl_t *R = n->repl;
    if (line[0] == '\0') return 0;      /* keepalive newline */
    if (strncmp(line, "+FULLRESYNC ", 12) == 0) {
        char id[REPL_ID_LEN + 8];
        long long off;
        if (sscanf(line + 12, "%47s %lld", id, &off) != 2 ||
            strlen(id) != REPL_ID_LEN || off < 0) {
            link_fail(n, "bad +FULLRESYNC reply");
            return -1;
        }
        memcpy(R->master_replid_pending, id, REPL_ID_LEN + 1);
        R->master_offset_pending = off;
        R->full_sync = 1;
        R->transfer_size = 0;
        R->transfer_read = 0;
        R->link_state = RL_TRANSFER;
        log_msg(LL_NOTICE, "Full resync from master: %s:%lld", id, off);
        return 0;
    }
    if (strncmp(line, "+CONTINUE", 9) == 0) {
        handle_continue(n, line);
        return 1;
    }
    char why[160];
    snprintf(why, sizeof(why), "unexpected reply to PSYNC: %.100s", line);
    link_fail(n, why);
    return -1;
}

/* ---- the payload ---------------------------------------------------------- */

typedef struct memrd {
    const char *p;
    size_t len, pos;
} memrd_t;

static int mem_read(void *arg, void *buf, size_t len)
{
    memrd_t *m = arg;
    if (len > m->len - m->pos) return -1;
    memcpy(buf, m->p + m->pos, len);
    m->pos += len;
    return 0;
}

/* Load the payload into a fresh keyspace; swap it in on success. */
static int load_payload(node_t *n, const char *p, size_t len)
{
    repl_t *R = n->repl;
    keyspace_t *old = n->ks;
    multi_touch_flush(n);
    n->ks = ks_create(ks_nslots(old));
    ks_set_lru_clock(n->ks, evict_new_clock(n, node_unix_ms()));
    memrd_t m = {.p = p, .len = len};
    char err[256] = "";
    log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: Loading DB in memory");
    if (rdb_load_from(n, mem_read, &m, err, sizeof(err)) != 0) {
        log_msg(LL_WARNING, "Failed trying to load the MASTER synchronization "
                "DB from socket: %s", err);
        ks_destroy(n->ks);
        n->ks = old;
        return -1;
    }
    lazyfree_keyspace(old);
    n->dirty++;
    memcpy(R->replid, R->master_replid_pending, REPL_ID_LEN + 1);
    R->offset = R->master_offset_pending;
    memcpy(R->replid2, "0000000000000000000000000000000000000000",
           REPL_ID_LEN + 1);
    R->second_offset = -1;
    /* a history we no longer share: a fresh backlog, our replicas resync */
    repl_backlog_free(R);
    repl_backlog_create(n);
    repl_disconnect_peers(n);
    log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: Finished with success");
    return 0;
}

/* Parse "$<len>" or "$EOF:<mark>"; 1 done, 0 need more, -1 failed. */
static int read_bulk_header(node_t *n)
{
    repl_t *R = n->repl;
    char line[MAX_LINE];
    for (;;) {
        int got = take_line(R, line, sizeof(line));
        if (got <= 0) {
            if (got < 0) link_fail(n, "bad bulk header from master");
            return got;
        }
        if (line[0] == '\0') continue;  /* keepalive newline */
        break;
    }
    if (line[0] == '-') {
        char why[160];
        snprintf(why, sizeof(why), "master aborted the sync: %.100s", line);
        link_fail(n, why);
        return -1;
    }
    if (line[0] != '$') {
        link_fail(n, "bad protocol from MASTER, the first byte is not '$'");
        return -1;
    }
    if (strncmp(line + 1, "EOF:", 4) == 0 &&
        strlen(line + 5) >= REPL_EOF_MARK_LEN) {
        memcpy(R->eofmark, line + 5, REPL_EOF_MARK_LEN);
        R->transfer_size = -1;
        log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: receiving streamed RDB "
                "from master with EOF to disk");
        return 1;
    }
    char *end;
    errno = 0;
    long long sz = strtoll(line + 1, &end, 10);
    if (errno || *end || end == line + 1 || sz < 0) {
        link_fail(n, "bad bulk length from master");
        return -1;
    }
    R->transfer_size = sz;
    log_msg(LL_NOTICE, "MASTER <-> REPLICA sync: receiving %lld bytes from "
            "master to disk", sz);
    return 1;
}

/* Is the whole payload in R->in?  Sets its length and the length of the
 * framing after it (the EOF mark). */
static int payload_complete(repl_t *R, size_t scan_from, size_t *plen,
                            size_t *tail)
{
    const char *p = buf_rptr(&R->in);
    size_t len = buf_len(&R->in);
    if (R->transfer_size >= 0) {
        if ((long long)len < R->transfer_size) return 0;
        *plen = (size_t)R->transfer_size;
        *tail = 0;
        return 1;
    }
    /* EOF framing: look for the mark in what arrived since last time */
    size_t from = scan_from > REPL_EOF_MARK_LEN ? scan_from - REPL_EOF_MARK_LEN
                                                : 0;
    for (size_t i = from; i + REPL_EOF_MARK_LEN <= len; i++) {
        if (p[i] == R->eofmark[0] &&
            memcmp(p + i, R->eofmark, REPL_EOF_MARK_LEN) == 0) {
            *plen = i;
            *tail = REPL_EOF_MARK_LEN;
            return 1;
        }
    }
    return 0;
}

static void transfer_progress(node_t *n, size_t scan_from)
{
    repl_t *R = n->repl;
    if (R->transfer_size == 0 && R->full_sync) {
        int h = read_bulk_header(n);
        if (h <= 0) return;
        scan_from = 0;
    }
    size_t plen, tail;
    R->transfer_read = (long long)buf_len(&R->in);
    if (!payload_complete(R, scan_from, &plen, &tail)) return;
    if (load_payload(n, buf_rptr(&R->in), plen) != 0) {
        link_fail(n, NULL);
        return;
    }
    buf_consume(&R->in, plen + tail);
    R->full_sync = 0;
    become_connected(n);
}

/* ---- the event handler ------------------------------------------------------ */

static void on_connected(node_t *n)
{
    repl_t *R = n->repl;
    int err = 0;
    socklen_t len = sizeof(err);
    if (getsockopt(R->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
    if (err) {
        log_msg(LL_WARNING, "Error condition on socket for SYNC: %s",
                strerror(err));
        link_fail(n, NULL);
        return;
    }
    log_msg(LL_NOTICE, "MASTER <-> REPLICA sync started");
    static const char ping[] = "*1\r\n$4\r\nPING\r\n";
    if (send_raw(n, ping, sizeof(ping) - 1) != 0) {
        link_fail(n, "error writing PING");
        return;
    }
    R->link_state = RL_RECV_PONG;
    arm(n, EV_READ);
}

/* Handle the lines read so far; stops when a state needs more bytes. */
static void process_input(node_t *n)
{
    repl_t *R = n->repl;
    char line[MAX_LINE];
    while (R->link_state == RL_RECV_PONG || R->link_state == RL_RECV_REPLIES ||
           R->link_state == RL_RECV_PSYNC) {
        int got = take_line(R, line, sizeof(line));
        if (got < 0) {
            link_fail(n, "reply line too long");
            return;
        }
        if (got == 0) return;
        if (R->link_state == RL_RECV_PONG) {
            /* -NOAUTH / -NOPERM still prove the master is there */
            if (line[0] == '-' && strncmp(line, "-NOAUTH", 7) != 0 &&
                strncmp(line, "-NOPERM", 7) != 0 &&
                strncmp(line, "-ERR operation not permitted", 28) != 0) {
                char why[160];
                snprintf(why, sizeof(why), "error reply to PING: %.100s",
                         line);
                link_fail(n, why);
                return;
            }
            log_msg(LL_NOTICE, "Master replied to PING, replication can "
                    "continue...");
            send_handshake(n);
        } else if (R->link_state == RL_RECV_REPLIES) {
            int is_auth = n->masterauth && n->masterauth[0] &&
                          R->replies_pending ==
                              3 + (n->repl_announce_ip &&
                                   n->repl_announce_ip[0]);
            if (line[0] == '-') {
                if (is_auth) {
                    char why[160];
                    snprintf(why, sizeof(why), "Unable to AUTH to MASTER: "
                             "%.100s", line);
                    link_fail(n, why);
                    return;
                }
                log_msg(LL_NOTICE, "(Non critical) Master does not "
                        "understand REPLCONF: %s", line);
            }
            if (--R->replies_pending == 0) send_psync(n);
        } else {
            int rc = handle_psync_reply(n, line);
            if (rc != 0) return;    /* failed, or connected */
        }
    }
    if (R->link_state == RL_TRANSFER) transfer_progress(n, 0);
}

static void on_link_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    node_t *n = arg;
    repl_t *R = n->repl;
    if (R->link_state == RL_CONNECTING) {
        if (what & EV_WRITE) on_connected(n);
        return;
    }
    if (!(what & EV_READ)) return;
    size_t before = buf_len(&R->in);
    if (buf_try_reserve(&R->in, READ_CHUNK) < 0) {
        link_fail(n, "out of memory reading from master");
        return;
    }
    ssize_t got = read(R->fd, buf_wptr(&R->in), buf_avail(&R->in));
    if (got == 0) {
        link_fail(n, "connection closed by master");
        return;
    }
    if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) return;
        link_fail(n, strerror(errno));
        return;
    }
    R->in.wpos += (size_t)got;
    R->last_io_ms = node_unix_ms();
    n->stats.net_input += got;
    if (R->link_state == RL_TRANSFER && R->transfer_size != 0)
        transfer_progress(n, before);
    else
        process_input(n);
}

/* ---- master client hooks, cron, INFO ------------------------------------ */

void repl_master_applied(client_t *c, const char *p, size_t len)
{
    node_t *n = c->node;
    repl_t *R = n->repl;
    if (!R || c != n->master_client) return;
    /* GETACK answers with the offset before the GETACK itself, as Redis */
    if (R->ack_now) {
        R->ack_now = 0;
        replica_send_ack(n);
    }
    repl_feed_raw(n, p, len);
}

void replica_cron(node_t *n, long long now_ms)
{
    repl_t *R = n->repl;
    long long tmo = (n->repl_timeout > 0 ? n->repl_timeout : 60) * 1000;
    switch (R->link_state) {
    case RL_CONNECT:
        if (now_ms >= R->next_connect_ms) replica_connect(n);
        break;
    case RL_CONNECTING:
    case RL_RECV_PONG:
    case RL_RECV_REPLIES:
    case RL_RECV_PSYNC:
    case RL_TRANSFER:
        if (now_ms - R->last_io_ms > tmo)
            link_fail(n, "Timeout connecting to the MASTER...");
        break;
    case RL_CONNECTED: {
        client_t *m = n->master_client;
        if (m && now_ms - m->last_ms > tmo) {
            log_msg(LL_WARNING, "MASTER timeout: no data nor PING received...");
            client_free(m);
            break;
        }
        if (m && now_ms - R->last_ack_ms >= 1000) replica_send_ack(n);
        break;
    }
    default:
        break;
    }
}

void replica_info(node_t *n, buf_t *o)
{
    repl_t *R = n->repl;
    client_t *m = n->master_client;
    long long now = node_unix_ms();
    long long off = m ? R->offset : (R->offset ? R->offset : 1);
    long long roff = m ? R->offset + (long long)buf_len(&m->qbuf) : off;
    buf_printf(o,
               "master_host:%s\r\n"
               "master_port:%d\r\n"
               "master_link_status:%s\r\n"
               "master_last_io_seconds_ago:%lld\r\n"
               "master_sync_in_progress:%d\r\n"
               "slave_read_repl_offset:%lld\r\n"
               "slave_repl_offset:%lld\r\n",
               R->master_host ? R->master_host : "", R->master_port,
               R->link_state == RL_CONNECTED ? "up" : "down",
               m ? (now - m->last_ms) / 1000 : -1LL,
               R->link_state == RL_TRANSFER, roff, off);
    if (R->link_state == RL_TRANSFER) {
        long long total = R->transfer_size > 0 ? R->transfer_size : -1;
        long long rd = R->transfer_read;
        buf_printf(o,
                   "master_sync_total_bytes:%lld\r\n"
                   "master_sync_read_bytes:%lld\r\n"
                   "master_sync_left_bytes:%lld\r\n"
                   "master_sync_perc:%.2f\r\n"
                   "master_sync_last_io_seconds_ago:%lld\r\n",
                   total, rd, total - rd,
                   total > 0 ? (double)rd * 100 / (double)total : 0.0,
                   (now - R->last_io_ms) / 1000);
    }
    if (R->link_state != RL_CONNECTED)
        buf_printf(o, "master_link_down_since_seconds:%lld\r\n",
                   R->down_since_ms ? (now - R->down_since_ms) / 1000 : -1LL);
    buf_printf(o,
               "slave_priority:%lld\r\n"
               "slave_read_only:%d\r\n"
               "replica_announced:%d\r\n",
               n->repl_priority, n->repl_read_only ? 1 : 0,
               n->repl_announced ? 1 : 0);
}
