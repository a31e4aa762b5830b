/*
 * reply.c: the reply builder handed to command handlers.  See reply.h.
 *
 * A thin layer over the resp_w_* writers: each function picks the RESP3
 * type a handler means, or its RESP2 fallback (maps become flat arrays of
 * 2n, sets and pushes plain arrays, doubles bulk strings, booleans
 * integers), exactly as Redis 7.0 does for a client's HELLO version.
 *
 * Deferred lengths reserve a fixed header of DEFER_ROOM bytes in the
 * output buffer; filling it in writes the real header and moves the bytes
 * written since down by the difference.  That memmove is paid only by
 * replies whose length is unknown up front (KEYS, SCAN), and it keeps the
 * output one contiguous buffer that the connection writes in one call.
 */
#include "reply.h"

#include <assert.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "resp.h"

/* Longest error text reply_errorf produces; longer ones are cut. */
#define ERRORF_MAX 512
/* Type byte, sign and 19 digits of a long long, CRLF. */
#define DEFER_ROOM 23

void reply_ok(reply_t *r)
{
    buf_append(r->out, "+OK\r\n", 5);
}

void reply_simple(reply_t *r, const char *s)
{
    resp_w_simple(r->out, s, strlen(s));
}

void reply_error(reply_t *r, const char *text)
{
    resp_w_error(r->out, text, strlen(text));
}

/*
 * Formats into a stack buffer; a text that does not fit is cut at
 * ERRORF_MAX - 1 bytes (Redis does not limit it, but no error of ours is
 * anywhere near that long unless it quotes user input).
 */
void reply_errorf(reply_t *r, const char *fmt, ...)
{
    char tmp[ERRORF_MAX];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
    va_end(ap);
    if (n < 0) n = 0;
    if ((size_t)n >= sizeof(tmp)) n = sizeof(tmp) - 1;
    resp_w_error(r->out, tmp, (size_t)n);
}

void reply_int(reply_t *r, long long v)
{
    resp_w_int(r->out, v);
}

void reply_bulk(reply_t *r, const char *p, size_t n)
{
    resp_w_bulk(r->out, p, n);
}

void reply_bulk_str(reply_t *r, const char *s)
{
    resp_w_bulk(r->out, s, strlen(s));
}

void reply_bulk_ll(reply_t *r, long long v)
{
    char tmp[24];

    resp_w_bulk(r->out, tmp, resp_ll2str(tmp, v));
}

void reply_null(reply_t *r)
{
    resp_w_null(r->out, r->proto);
}

void reply_null_array(reply_t *r)
{
    resp_w_null_array(r->out, r->proto);
}

void reply_array(reply_t *r, long long n)
{
    resp_w_agg(r->out, '*', n);
}

void reply_map(reply_t *r, long long npairs)
{
    if (r->proto >= 3)
        resp_w_agg(r->out, '%', npairs);
    else
        resp_w_agg(r->out, '*', 2 * npairs);
}

void reply_set(reply_t *r, long long n)
{
    resp_w_agg(r->out, r->proto >= 3 ? '~' : '*', n);
}

void reply_push(reply_t *r, long long n)
{
    resp_w_agg(r->out, r->proto >= 3 ? '>' : '*', n);
}

void reply_pubsub_confirm(reply_t *r, const char *word, const char *name,
                          size_t len, long long count)
{
    reply_push(r, 3);
    reply_bulk_str(r, word);
    if (name) reply_bulk(r, name, len);
    else reply_null(r);
    reply_int(r, count);
}

void reply_double(reply_t *r, double d)
{
    resp_w_double(r->out, d, r->proto);
}

void reply_bool(reply_t *r, int v)
{
    resp_w_bool(r->out, v, r->proto);
}

void reply_verbatim(reply_t *r, const char *p, size_t n, const char *ext)
{
    resp_w_verbatim(r->out, p, n, ext, r->proto);
}

/* ---- Redis's common error texts --------------------------------------- */

void reply_err_wrongtype(reply_t *r)
{
    reply_error(r, "WRONGTYPE Operation against a key holding the wrong "
                   "kind of value");
}

void reply_err_syntax(reply_t *r)
{
    reply_error(r, "ERR syntax error");
}

void reply_err_notint(reply_t *r)
{
    reply_error(r, "ERR value is not an integer or out of range");
}

void reply_err_notfloat(reply_t *r)
{
    reply_error(r, "ERR value is not a valid float");
}

/* Redis 7 quotes the command's lower-case full name; we quote as given. */
void reply_err_arity(reply_t *r, const char *cmdname)
{
    reply_errorf(r, "ERR wrong number of arguments for '%s' command", cmdname);
}

/* ---- deferred aggregate lengths --------------------------------------- */

/*
 * The handle is the header's offset from the buffer's read position, which
 * survives buf_reserve moving or compacting the data.  Nothing may be
 * consumed from the buffer before reply_set_deferred, and nested deferred
 * headers must be set innermost first (setting one moves what follows it).
 */
size_t reply_defer(reply_t *r)
{
    size_t handle = buf_len(r->out);

    if (buf_avail(r->out) < DEFER_ROOM) buf_reserve(r->out, DEFER_ROOM);
    r->out->wpos += DEFER_ROOM;
    return handle;
}

void reply_set_deferred(reply_t *r, size_t handle, char type, long long n)
{
    buf_t *b = r->out;
    char hdr[DEFER_ROOM + 1], *at;
    size_t hlen, tail;

    if (r->proto < 3 && type == '%') n *= 2;
    if (r->proto < 3) type = '*';
    hdr[0] = type;
    hlen = 1 + resp_ll2str(hdr + 1, n);
    hdr[hlen++] = '\r';
    hdr[hlen++] = '\n';
    assert(hlen <= DEFER_ROOM && handle + DEFER_ROOM <= buf_len(b));
    at = buf_rptr(b) + handle;
    tail = buf_len(b) - handle - DEFER_ROOM;
    if (hlen < DEFER_ROOM) memmove(at + hlen, at + DEFER_ROOM, tail);
    memcpy(at, hdr, hlen);
    b->wpos -= DEFER_ROOM - hlen;
}

void reply_value(reply_t *r, const resp_value_t *v)
{
    switch (v->type) {
    case RESP_SIMPLE: resp_w_simple(r->out, v->str, v->len); return;
    case RESP_ERROR: resp_w_error(r->out, v->str, v->len); return;
    case RESP_BLOBERR: resp_w_error(r->out, v->str, v->len); return;
    case RESP_INT: reply_int(r, v->integer); return;
    case RESP_BULK: reply_bulk(r, v->str, v->len); return;
    case RESP_BIGNUM: reply_bulk(r, v->str, v->len); return;
    case RESP_VERBATIM: reply_verbatim(r, v->str, v->len, "txt"); return;
    case RESP_NULL: reply_null(r); return;
    case RESP_DOUBLE: reply_double(r, v->dbl); return;
    case RESP_BOOL: reply_bool(r, (int)v->integer); return;
    case RESP_MAP: reply_map(r, (long long)(v->nelem / 2)); break;
    case RESP_SET: reply_set(r, (long long)v->nelem); break;
    case RESP_PUSH: reply_push(r, (long long)v->nelem); break;
    case RESP_ARRAY: reply_array(r, (long long)v->nelem); break;
    case RESP_ATTR: return;
    }
    for (size_t i = 0; i < v->nelem; i++) reply_value(r, &v->elem[i]);
}

void reply_help(reply_t *r, const char *const *lines)
{
    long long n = 0;
    while (lines[n]) n++;
    reply_array(r, n);
    for (long long i = 0; i < n; i++) reply_simple(r, lines[i]);
}

void reply_text(reply_t *r, const buf_t *text)
{
    size_t n = buf_len(text);
    /* an empty buffer has no data pointer */
    reply_verbatim(r, n ? buf_rptr(text) : "", n, "txt");
}

void reply_err_subcommand(reply_t *r, const resp_arg_t *sub, const char *cmd)
{
    reply_errorf(r,
                 "ERR unknown subcommand or wrong number of arguments for "
                 "'%.*s'. Try %s HELP.",
                 (int)(sub->len > 128 ? 128 : sub->len), sub->ptr, cmd);
}
