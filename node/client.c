/*
 * client.c: client connections: reading, parsing, executing, writing.
 *
 * The whole request path is in this file and cmd.c:
 *
 *   libevent EV_READ
 *     -> client_on_event -> client_read: one read() of up to 16 KB (more
 *        while a large argument is pending) into qbuf
 *     -> client_process_input: parse every complete command in qbuf
 *        (zero-copy argv into qbuf), cmd_execute each one, replies
 *        appended to obuf
 *     -> client_flush: scheduled; once per loop iteration
 *        client_write_pending does one write() of obuf per client (as
 *        Redis's beforeSleep); EV_WRITE armed only when the socket would
 *        block
 *
 * A client is never freed while one of its commands runs (CLIENT KILL of
 * itself, QUIT, protocol errors): those set flags and the batch loop
 * frees it at the end, after its last reply was written.
 */
#include "client.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "aof.h"
#include "blocking.h"
#include "cmd.h"
#include "log.h"
#include "monitor.h"
#include "pubsub.h"
#include "reply.h"
#include "repl/repl.h"

#define READ_CHUNK (16 * 1024)
#define QBUF_KEEP (32 * 1024)      /* shrink idle query buffers above this */
#define OBUF_KEEP (64 * 1024)

static void link_client(node_t *n, client_t *c)
{
    c->prev = NULL;
    c->next = n->clients;
    if (n->clients) n->clients->prev = c;
    n->clients = c;
    n->nclients++;
}

static void unlink_client(node_t *n, client_t *c)
{
    if (c->prev) c->prev->next = c->next;
    else n->clients = c->next;
    if (c->next) c->next->prev = c->prev;
    n->nclients--;
}

static void fmt_peer(int fd, char *out, size_t outsz, int local)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    int rc = local ? getsockname(fd, (struct sockaddr *)&ss, &len)
                   : getpeername(fd, (struct sockaddr *)&ss, &len);
    if (rc != 0) {
        snprintf(out, outsz, "?:0");
        return;
    }
    char host[INET6_ADDRSTRLEN];
    int port = 0;
    if (ss.ss_family == AF_INET) {
        struct sockaddr_in *s = (struct sockaddr_in *)&ss;
        evutil_inet_ntop(AF_INET, &s->sin_addr, host, sizeof(host));
        port = ntohs(s->sin_port);
        snprintf(out, outsz, "%s:%d", host, port);
    } else if (ss.ss_family == AF_INET6) {
        struct sockaddr_in6 *s = (struct sockaddr_in6 *)&ss;
        evutil_inet_ntop(AF_INET6, &s->sin6_addr, host, sizeof(host));
        port = ntohs(s->sin6_port);
        snprintf(out, outsz, "%s:%d", host, port);
    } else {
        snprintf(out, outsz, "/unix:0");
    }
}

client_t *client_create(node_t *n, int fd, int is_local)
{
    client_t *c = ts_calloc(1, sizeof(*c));
    c->id = n->next_client_id++;
    c->fd = fd;
    c->node = n;
    c->proto = 2;
    c->authenticated = n->requirepass == NULL || n->requirepass[0] == '\0';
    c->last_cmd = CMD__COUNT;
    if (is_local) c->flags |= CLF_PROTECTED_LOCAL;
    buf_init(&c->qbuf);
    buf_init(&c->obuf);
    resp_req_init(&c->req);
    fmt_peer(fd, c->addr, sizeof(c->addr), 0);
    fmt_peer(fd, c->laddr, sizeof(c->laddr), 1);
    c->ctime_ms = c->last_ms = node_unix_ms();
    c->ev = event_new(n->base, fd, EV_READ | EV_PERSIST, client_on_event, c);
    event_add(c->ev, NULL);
    link_client(n, c);
    return c;
}

static void unlink_pending(node_t *n, client_t *c)
{
    if (!(c->flags & CLF_PENDING_WRITE)) return;
    if (c->pwprev) c->pwprev->pwnext = c->pwnext;
    else n->pending_writes = c->pwnext;
    if (c->pwnext) c->pwnext->pwprev = c->pwprev;
    c->pwprev = c->pwnext = NULL;
    c->flags &= ~CLF_PENDING_WRITE;
}

void client_free(client_t *c)
{
    if (c->flags & CLF_IN_COMMAND) {
        c->flags |= CLF_CLOSE_ASAP;
        return;
    }
    node_t *n = c->node;
    block_forget_client(c);
    if (c->flags & (CLF_MASTER | CLF_REPLICA | CLF_REPL_WAIT))
        repl_client_free(c);
    pubsub_client_reset(c);
    multi_client_free(c);
    unlink_pending(n, c);
    monitor_remove(n, c);
    unlink_client(n, c);
    event_free(c->ev);
    close(c->fd);
    buf_deinit(&c->qbuf);
    buf_deinit(&c->obuf);
    resp_req_deinit(&c->req);
    ts_free(c->name);
    ts_free(c);
}

void client_close_after_reply(client_t *c)
{
    c->flags |= CLF_CLOSE_AFTER_REPLY;
}

client_t *client_by_id(node_t *n, uint64_t id)
{
    for (client_t *c = n->clients; c; c = c->next)
        if (c->id == id) return c;
    return NULL;
}

static void arm_write(client_t *c, int on)
{
    if (!!(c->flags & CLF_WRITE_ARMED) == on) return;
    event_del(c->ev);
    event_assign(c->ev, c->node->base, c->fd,
                 EV_READ | EV_PERSIST | (on ? EV_WRITE : 0), client_on_event,
                 c);
    event_add(c->ev, NULL);
    if (on) c->flags |= CLF_WRITE_ARMED;
    else c->flags &= ~CLF_WRITE_ARMED;
}

/* Writes what it can; returns 0, or -1 if the client was freed. */
static int write_obuf(client_t *c)
{
    node_t *n = c->node;
    while (buf_len(&c->obuf) > 0) {
        ssize_t w = write(c->fd, buf_rptr(&c->obuf), buf_len(&c->obuf));
        if (w > 0) {
            buf_consume(&c->obuf, (size_t)w);
            n->stats.net_output += w;
            n->stats.io_writes++;
            continue;
        }
        if (w < 0 && errno == EINTR) continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            arm_write(c, 1);
            return 0;
        }
        log_msg(LL_VERBOSE, "Error writing to client: %s", strerror(errno));
        client_free(c);
        return -1;
    }
    if (c->obuf.cap > OBUF_KEEP) buf_shrink(&c->obuf, OBUF_KEEP);
    if (c->flags & CLF_WRITE_ARMED) arm_write(c, 0);
    if (c->flags & (CLF_CLOSE_AFTER_REPLY | CLF_CLOSE_ASAP)) {
        client_free(c);
        return -1;
    }
    return 0;
}

void client_flush(client_t *c)
{
    /* a replica whose RDB a child is writing: its socket is not ours */
    if (c->flags & (CLF_PENDING_WRITE | CLF_REPL_HOLD)) return;
    if (!buf_len(&c->obuf) &&
        !(c->flags & (CLF_CLOSE_ASAP | CLF_CLOSE_AFTER_REPLY)))
        return;
    node_t *n = c->node;
    c->flags |= CLF_PENDING_WRITE;
    c->pwprev = NULL;
    c->pwnext = n->pending_writes;
    if (n->pending_writes) n->pending_writes->pwprev = c;
    n->pending_writes = c;
}

void client_write_pending(node_t *n)
{
    client_t *c, *held = NULL;
    /* The AOF first (appendfsync always: write + fsync once for the whole
     * round, Redis's beforeSleep); a client whose writes are not on disk
     * yet (the disk fails) keeps its replies until they are. */
    if (n->aof_live) aof_flush(n);
    while ((c = n->pending_writes) != NULL) {
        unlink_pending(n, c);
        if (c->flags & CLF_CLOSE_ASAP) {
            client_free(c);
            continue;
        }
        /* already waiting for EV_WRITE: that event will write it */
        if (c->flags & CLF_WRITE_ARMED) continue;
        if (n->aof_live && aof_hold_replies(n, c->aof_need)) {
            c->pwnext = held;
            held = c;
            continue;
        }
        write_obuf(c);
    }
    while ((c = held) != NULL) {   /* retried next round */
        held = c->pwnext;
        client_flush(c);
    }
}

int client_obuf_over_limit(client_t *c)
{
    node_t *n = c->node;
    const obuf_limit_t *lim =
        &n->obuf_limits[(c->flags & CLF_REPLICA) ? OBUF_REPLICA
                        : (c->flags & CLF_PUBSUB) ? OBUF_PUBSUB
                                                  : OBUF_NORMAL];
    long long used = (long long)buf_len(&c->obuf);
    if (lim->hard && used >= lim->hard) return 1;
    if (lim->soft && used >= lim->soft) {
        long long now = node_unix_ms();
        if (!c->obuf_soft_since) c->obuf_soft_since = now;
        else if (now - c->obuf_soft_since >= lim->soft_seconds * 1000)
            return 1;
    } else {
        c->obuf_soft_since = 0;
    }
    return 0;
}

static void protocol_error(client_t *c, const char *err)
{
    reply_t r;
    reply_init(&r, &c->obuf, c->proto);
    reply_error(&r, err);
    c->node->stats.total_error_replies++;
    log_msg(LL_VERBOSE, "Protocol error (%s) from client: id=%llu addr=%s",
            err, (unsigned long long)c->id, c->addr);
    buf_clear(&c->qbuf);
    resp_req_reset(&c->req);
    c->flags |= CLF_CLOSE_AFTER_REPLY;
}

void client_process_input(client_t *c)
{
    node_t *n = c->node;
    resp_limits_t lim;
    resp_limits_default(&lim);
    lim.max_bulk_len = n->proto_max_bulk_len;
    reply_t r;
    reply_init(&r, &c->obuf, c->proto);
    c->flags |= CLF_IN_COMMAND;
    c->flags &= ~CLF_PAUSED;
    while (buf_len(&c->qbuf) > 0 &&
           !(c->flags & (CLF_CLOSE_AFTER_REPLY | CLF_CLOSE_ASAP |
                         CLF_BLOCKED))) {
        size_t used = 0;
        const char *err = NULL;
        lim.unauthenticated = !c->authenticated;
        ts_status_t st = resp_parse_request(&c->req, buf_rptr(&c->qbuf),
                                            buf_len(&c->qbuf), &lim, &used,
                                            &err);
        if (st == TS_AGAIN) break;
        if (st != TS_OK) {
            protocol_error(c, err ? err : "ERR Protocol error");
            break;
        }
        if (c->req.argc > 0) {
            r.proto = c->proto;
            if (cmd_execute(n, c, c->req.argc, c->req.argv, &r) < 0) {
                c->flags |= CLF_PAUSED;   /* keep it; rerun on unpause */
                break;
            }
            if (client_obuf_over_limit(c)) {
                log_msg(LL_WARNING,
                        "Client id=%llu addr=%s scheduled to be closed ASAP "
                        "for overcoming of output buffer limits.",
                        (unsigned long long)c->id, c->addr);
                buf_clear(&c->obuf);
                c->flags |= CLF_CLOSE_ASAP;
            }
        }
        /* the master's stream: offset, our backlog, sub-replicas */
        if (c->flags & CLF_MASTER) repl_master_applied(c, buf_rptr(&c->qbuf), used);
        buf_consume(&c->qbuf, used);
    }
    c->flags &= ~CLF_IN_COMMAND;
    if (buf_len(&c->qbuf) == 0 && c->qbuf.cap > QBUF_KEEP)
        buf_shrink(&c->qbuf, QBUF_KEEP);
}

/* Reads once; returns -1 if the client was freed. */
static int client_read(client_t *c)
{
    node_t *n = c->node;
    if (buf_try_reserve(&c->qbuf, READ_CHUNK) < 0) {
        client_free(c);
        return -1;
    }
    ssize_t got = read(c->fd, buf_wptr(&c->qbuf), buf_avail(&c->qbuf));
    if (got == 0) {
        client_free(c);
        return -1;
    }
    if (got < 0) {
        if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
            return 0;
        log_msg(LL_VERBOSE, "Reading from client: %s", strerror(errno));
        client_free(c);
        return -1;
    }
    c->qbuf.wpos += (size_t)got;
    n->stats.net_input += got;
    n->stats.io_reads++;
    c->last_ms = node_unix_ms();
    if ((long long)buf_len(&c->qbuf) > c->qbuf_peak)
        c->qbuf_peak = (long long)buf_len(&c->qbuf);
    if (n->client_query_buffer_limit > 0 &&
        (long long)buf_len(&c->qbuf) > n->client_query_buffer_limit) {
        log_msg(LL_WARNING,
                "Closing client that reached max query buffer length: "
                "id=%llu addr=%s qbuf=%zu",
                (unsigned long long)c->id, c->addr, buf_len(&c->qbuf));
        client_free(c);
        return -1;
    }
    return 0;
}

void client_on_event(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    client_t *c = arg;
    if (what & EV_WRITE) {
        node_t *n = c->node;
        if (n->aof_live) aof_flush(n);   /* replies never overtake the AOF */
        if (n->aof_live && aof_hold_replies(n, c->aof_need)) {
            arm_write(c, 0);        /* client_write_pending retries */
            client_flush(c);
        } else if (write_obuf(c) < 0) {
            return;
        }
    }
    if (what & EV_READ) {
        if (client_read(c) < 0) return;
        if (!(c->flags & CLF_PAUSED)) client_process_input(c);
        client_flush(c);
    }
}

void client_info_line(client_t *c, buf_t *out)
{
    node_t *n = c->node;
    long long now = node_unix_ms();
    char flags[16];
    int f = 0;
    if (c->flags & CLF_MASTER) flags[f++] = 'M';
    if ((c->flags & CLF_REPLICA) && !(c->flags & CLF_MONITOR)) flags[f++] = 'S';
    if (c->flags & CLF_MONITOR) flags[f++] = 'O';
    if (c->flags & CLF_PUBSUB) flags[f++] = 'P';
    if (c->flags & CLF_MULTI) flags[f++] = 'x';
    if (c->flags & CLF_DIRTY_CAS) flags[f++] = 'd';
    if (c->flags & CLF_CLOSE_AFTER_REPLY) flags[f++] = 'c';
    if (c->flags & CLF_CLOSE_ASAP) flags[f++] = 'A';
    if (c->flags & CLF_NO_EVICT) flags[f++] = 'e';
    if (f == 0) flags[f++] = 'N';
    flags[f] = '\0';
    size_t sub, psub, ssub;
    pubsub_client_counts(c, &sub, &psub, &ssub);
    const cmd_spec_t *last = cmdtab_get(c->last_cmd);
    char cmdname[64];
    if (last) {
        snprintf(cmdname, sizeof(cmdname), "%s", last->name);
    } else {
        snprintf(cmdname, sizeof(cmdname), "NULL");
    }
    buf_printf(out,
               "id=%llu addr=%s laddr=%s fd=%d name=%s age=%lld idle=%lld "
               "flags=%s db=0 sub=%zu psub=%zu ssub=%zu multi=%d qbuf=%zu "
               "qbuf-free=%zu argv-mem=0 multi-mem=%zu rbs=%zu rbp=%lld "
               "obl=0 oll=0 omem=%zu tot-mem=%zu events=r%s cmd=%s "
               "user=default redir=-1 resp=%d",
               (unsigned long long)c->id, c->addr, c->laddr, c->fd,
               c->name ? c->name : "", (now - c->ctime_ms) / 1000,
               (now - c->last_ms) / 1000, flags, sub, psub, ssub,
               (c->flags & CLF_MULTI) ? c->mstate.count : -1,
               buf_len(&c->qbuf), c->qbuf.cap - c->qbuf.wpos,
               c->mstate.mem, c->qbuf.cap, c->qbuf_peak,
               buf_len(&c->obuf),
               sizeof(*c) + buf_alloc_size(&c->qbuf) +
                   buf_alloc_size(&c->obuf) + c->mstate.mem,
               (c->flags & CLF_WRITE_ARMED) ? "w" : "", cmdname, c->proto);
    (void)n;
}
