/*
 * resolve.c: peers found again by hostname.
 *
 * A node that announces a hostname (cluster-announce-hostname) keeps its
 * identity when its address changes (a pod rescheduled with a new IP):
 * peers know it by node id, and while their link to it is down they
 * re-resolve the hostname and reconnect to whatever address it now has.
 * Redis 7.0 only displays hostnames; this is Tessera's addition.
 *
 * getaddrinfo() can block for seconds (DNS), so it never runs on the event
 * loop: one resolver thread, started on the first request, takes requests
 * from a queue and hands each one back through a pipe that the loop
 * watches.  Requests are allocated and freed on the loop thread only; the
 * thread just fills in the answer.  A request names its node by id, so a
 * node forgotten meanwhile is simply not found when the answer arrives.
 *
 * Per node at most one request is in flight, and a node is re-resolved at
 * most once per RESOLVE_INTERVAL while its link is down.
 */
#include "cluster_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "forkguard.h"

#define RESOLVE_INTERVAL 1000   /* ms between two resolutions of a node */

typedef struct resolve_req {
    struct resolve_req *next;
    char name[CN_NAMELEN + 1];
    char host[CN_HOSTLEN];
    int family;                 /* preferred: the family of the old ip */
    char ip[CN_IPLEN];          /* answer; "" if the name did not resolve */
} resolve_req_t;

struct resolver {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    resolve_req_t *head, *tail;     /* queue, guarded by mu */
    int stop;                       /* guarded by mu */
    int running;                    /* the thread runs; guarded by mu */
    int pipe[2];                    /* thread -> loop: resolve_req_t * */
    struct event *ev;
};

/* getaddrinfo: the first address of the preferred family, else the first. */
static void lookup(resolve_req_t *q)
{
    struct addrinfo hints = {0}, *res = NULL;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    q->ip[0] = '\0';
    if (getaddrinfo(q->host, NULL, &hints, &res) != 0) return;
    const struct addrinfo *pick = NULL;
    for (const struct addrinfo *a = res; a; a = a->ai_next) {
        if (a->ai_family != AF_INET && a->ai_family != AF_INET6) continue;
        if (!pick) pick = a;
        if (a->ai_family == q->family) {
            pick = a;
            break;
        }
    }
    if (pick && pick->ai_family == AF_INET)
        inet_ntop(AF_INET, &((struct sockaddr_in *)pick->ai_addr)->sin_addr,
                  q->ip, sizeof(q->ip));
    else if (pick)
        inet_ntop(AF_INET6,
                  &((struct sockaddr_in6 *)pick->ai_addr)->sin6_addr, q->ip,
                  sizeof(q->ip));
    freeaddrinfo(res);
}

static void *resolver_main(void *arg)
{
    struct resolver *rs = arg;
    pthread_mutex_lock(&rs->mu);
    rs->running = 1;
    pthread_cond_broadcast(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
    for (;;) {
        pthread_mutex_lock(&rs->mu);
        while (!rs->head && !rs->stop) pthread_cond_wait(&rs->cv, &rs->mu);
        if (rs->stop) {
            pthread_mutex_unlock(&rs->mu);
            return NULL;
        }
        resolve_req_t *q = rs->head;
        rs->head = q->next;
        if (!rs->head) rs->tail = NULL;
        pthread_mutex_unlock(&rs->mu);
        forkguard_enter();          /* getaddrinfo allocates */
        lookup(q);
        forkguard_leave();
        /* a pointer is far below PIPE_BUF: the write is atomic */
        ssize_t w;
        do {
            w = write(rs->pipe[1], &q, sizeof(q));
        } while (w < 0 && errno == EINTR);
    }
}

/* An answer on the loop: move the node if its address changed. */
static void apply(cluster_t *cl, resolve_req_t *q)
{
    cnode_t *node = cl_lookup(cl, q->name, CN_NAMELEN);
    if (!node) return;
    node->resolving = 0;
    if (!q->ip[0]) {
        log_msg(LL_VERBOSE, "Could not resolve %s, the hostname of node "
                "%.40s", q->host, node->name);
        return;
    }
    if (strcmp(node->ip, q->ip) == 0 || strcmp(node->hostname, q->host) != 0)
        return;
    log_msg(LL_NOTICE, "Address of node %.40s (%s) changed from %s to %s",
            node->name, node->hostname, node->ip[0] ? node->ip : "?",
            q->ip);
    memcpy(node->ip, q->ip, sizeof(node->ip));
    node->flags &= ~CN_NOADDR;
    /* the cron connects to the new address */
    if (node->link) bus_link_free(node->link);
    cl_todo(cl, CL_TODO_SAVE);
}

static void on_answer(evutil_socket_t fd, short what, void *arg)
{
    (void)what;
    cluster_t *cl = arg;
    resolve_req_t *q;
    while (read(fd, &q, sizeof(q)) == (ssize_t)sizeof(q)) {
        apply(cl, q);
        ts_free(q);
    }
}

static struct resolver *resolver_start(cluster_t *cl)
{
    struct resolver *rs = ts_calloc(1, sizeof(*rs));
    if (pipe2(rs->pipe, O_NONBLOCK | O_CLOEXEC) != 0) {
        ts_free(rs);
        return NULL;
    }
    /* the thread blocks on the queue, not the pipe */
    fcntl(rs->pipe[1], F_SETFL, fcntl(rs->pipe[1], F_GETFL) & ~O_NONBLOCK);
    pthread_mutex_init(&rs->mu, NULL);
    pthread_cond_init(&rs->cv, NULL);
    if (pthread_create(&rs->thread, NULL, resolver_main, rs) != 0) {
        close(rs->pipe[0]);
        close(rs->pipe[1]);
        pthread_mutex_destroy(&rs->mu);
        pthread_cond_destroy(&rs->cv);
        ts_free(rs);
        return NULL;
    }
    /* a fork before the thread runs could catch its set-up mid-allocation
     * (forkguard.h) */
    pthread_mutex_lock(&rs->mu);
    while (!rs->running) pthread_cond_wait(&rs->cv, &rs->mu);
    pthread_mutex_unlock(&rs->mu);
    rs->ev = event_new(cl->n->base, rs->pipe[0], EV_READ | EV_PERSIST,
                       on_answer, cl);
    event_add(rs->ev, NULL);
    return rs;
}

void resolve_stop(cluster_t *cl)
{
    struct resolver *rs = cl->resolver;
    if (!rs) return;
    pthread_mutex_lock(&rs->mu);
    rs->stop = 1;
    pthread_cond_signal(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
    pthread_join(rs->thread, NULL);
    /* answers not read yet, then requests never started */
    resolve_req_t *q;
    while (read(rs->pipe[0], &q, sizeof(q)) == (ssize_t)sizeof(q)) ts_free(q);
    while (rs->head) {
        q = rs->head;
        rs->head = q->next;
        ts_free(q);
    }
    event_free(rs->ev);
    close(rs->pipe[0]);
    close(rs->pipe[1]);
    pthread_mutex_destroy(&rs->mu);
    pthread_cond_destroy(&rs->cv);
    ts_free(rs);
    cl->resolver = NULL;
}

void resolve_cron_node(cluster_t *cl, cnode_t *node, long long now)
{
    if (!node->hostname[0] || node->resolving || now < node->resolve_next)
        return;
    /* only while we cannot reach it: connected links need no DNS */
    long long half = cl->n->cluster_node_timeout / 2;
    const clink_t *l = node->link;
    int down = !l || !l->connected ||
               (node->ping_sent && now - node->ping_sent > half);
    if (!down) return;
    if (!cl->resolver && !(cl->resolver = resolver_start(cl))) return;
    node->resolve_next = now + RESOLVE_INTERVAL;
    node->resolving = 1;
    resolve_req_t *q = ts_calloc(1, sizeof(*q));
    memcpy(q->name, node->name, sizeof(q->name));
    memcpy(q->host, node->hostname, sizeof(q->host));
    q->family = strchr(node->ip, ':') ? AF_INET6 : AF_INET;
    struct resolver *rs = cl->resolver;
    pthread_mutex_lock(&rs->mu);
    if (rs->tail) rs->tail->next = q;
    else rs->head = q;
    rs->tail = q;
    pthread_cond_signal(&rs->cv);
    pthread_mutex_unlock(&rs->mu);
}
