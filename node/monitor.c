/*
 * monitor.c: MONITOR: a copy of every command the node runs, sent to the
 * clients in monitor mode, one status line per command, in Redis's format:
 *
 *   +1339518083.107412 [0 127.0.0.1:60866] "keys" "*"
 *
 * Arguments are quoted like Redis's sdscatrepr (\" \\ \n \r \t \a \b, and
 * \xHH for other non-printable bytes), so a line never contains a raw CR
 * or LF.  Passwords (AUTH, HELLO AUTH, sensitive CONFIG SET values) show as
 * "(redacted)", as in Redis 7.
 *
 * The line is formatted once and appended to every monitor's output
 * buffer, the sender included when it is itself a monitor (Redis does
 * this too).  Each monitor is flushed right away (a monitor is an idle
 * reader; batching would delay the stream by a whole event loop turn) and
 * closed if it falls behind its output buffer limit.
 */
#include "monitor.h"

#include <stdio.h>

#include "buf.h"
#include "client.h"
#include "cmd_conn.h"
#include "log.h"

void monitor_add(node_t *n, client_t *c)
{
    if (c->flags & CLF_MONITOR) return;
    c->flags |= CLF_MONITOR;
    c->mprev = NULL;
    c->mnext = n->monitors;
    if (n->monitors) n->monitors->mprev = c;
    n->monitors = c;
    n->nmonitors++;
}

void monitor_remove(node_t *n, client_t *c)
{
    if (!(c->flags & CLF_MONITOR)) return;
    if (c->mprev) c->mprev->mnext = c->mnext;
    else n->monitors = c->mnext;
    if (c->mnext) c->mnext->mprev = c->mprev;
    n->nmonitors--;
    c->flags &= ~CLF_MONITOR;
}

/* Redis's sdscatrepr. */
static void cat_repr(buf_t *b, const char *p, size_t len)
{
    buf_putc(b, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)p[i];
        switch (ch) {
        case '\\':
        case '"':
            buf_putc(b, '\\');
            buf_putc(b, (char)ch);
            break;
        case '\n': buf_append(b, "\\n", 2); break;
        case '\r': buf_append(b, "\\r", 2); break;
        case '\t': buf_append(b, "\\t", 2); break;
        case '\a': buf_append(b, "\\a", 2); break;
        case '\b': buf_append(b, "\\b", 2); break;
        default:
            if (ch >= 0x20 && ch <= 0x7e) buf_putc(b, (char)ch);
            else buf_printf(b, "\\x%02x", ch);
            break;
        }
    }
    buf_putc(b, '"');
}

static void deliver(client_t *m, client_t *from, const buf_t *line)
{
    buf_append(&m->obuf, buf_rptr(line), buf_len(line));
    if (client_obuf_over_limit(m)) {
        log_msg(LL_WARNING,
                "Client id=%llu addr=%s scheduled to be closed ASAP for "
                "overcoming of output buffer limits.",
                (unsigned long long)m->id, m->addr);
        buf_clear(&m->obuf);
        m->flags |= CLF_CLOSE_ASAP;
    }
    /* The sender's own buffer goes out at the end of its batch. */
    if (m != from && !(m->flags & CLF_IN_COMMAND)) client_flush(m);
}

void monitor_feed(node_t *n, client_t *from, int argc, const resp_arg_t *argv,
                  long long now_us)
{
    if (!n->monitors) return;
    buf_t line;
    buf_init(&line);
    buf_printf(&line, "+%lld.%06lld [0 %s] ", now_us / 1000000,
               now_us % 1000000, from ? from->addr : "?");
    for (int i = 0; i < argc; i++) {
        if (i) buf_putc(&line, ' ');
        if (conn_arg_is_secret(n, argc, argv, i))
            cat_repr(&line, "(redacted)", 10);
        else
            cat_repr(&line, argv[i].ptr, argv[i].len);
    }
    buf_append(&line, "\r\n", 2);

    client_t *next;
    for (client_t *m = n->monitors; m; m = next) {
        next = m->mnext; /* deliver may free m */
        deliver(m, from, &line);
    }
    buf_deinit(&line);
}
