/*
 * reply.h: the reply builder handed to command handlers.
 *
 * It knows the client's protocol version (2 or 3) so handlers say what
 * they mean (a map, a double, a null) and the builder writes what that
 * client understands.  Replies are appended to one output buffer; the
 * connection writes it once per batch.  Aggregates whose length is not
 * known in advance (KEYS, SCAN) use reply_defer / reply_set_deferred.
 */
#ifndef TS_REPLY_H
#define TS_REPLY_H

#include <stddef.h>

#include "buf.h"

typedef struct reply {
    buf_t *out;
    int proto;          /* 2 or 3 */
} reply_t;

static inline void reply_init(reply_t *r, buf_t *out, int proto)
{
    r->out = out;
    r->proto = proto;
}

void reply_ok(reply_t *r);                                  /* +OK */
void reply_simple(reply_t *r, const char *s);               /* +s */
/* -text; text starts with the error code: "ERR ...", "WRONGTYPE ...". */
void reply_error(reply_t *r, const char *text);
void reply_errorf(reply_t *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void reply_int(reply_t *r, long long v);
void reply_bulk(reply_t *r, const char *p, size_t n);
void reply_bulk_str(reply_t *r, const char *s);            /* NUL-terminated */
void reply_bulk_ll(reply_t *r, long long v);                /* integer as bulk */
void reply_null(reply_t *r);                                /* $-1 or _ */
void reply_null_array(reply_t *r);                          /* *-1 or _ */
void reply_array(reply_t *r, long long n);                  /* *n */
void reply_map(reply_t *r, long long npairs);               /* %n or *2n */
void reply_set(reply_t *r, long long n);                    /* ~n or *n */
void reply_push(reply_t *r, long long n);                   /* >n or *n */
void reply_double(reply_t *r, double d);                    /* ,d or bulk */
void reply_bool(reply_t *r, int v);                         /* #t or :1 */
void reply_verbatim(reply_t *r, const char *p, size_t n, const char *ext);
/* A (un)subscribe confirmation, as Redis frames it: push [word, name (nil
 * when name is NULL), count] ("subscribe", "punsubscribe", ...). */
void reply_pubsub_confirm(reply_t *r, const char *word, const char *name,
                          size_t len, long long count);

/* Write a parsed value (resp_parse_value) in this client's protocol:
 * RESP3 types fall back as the other reply_* functions do. */
struct resp_value;
void reply_value(reply_t *r, const struct resp_value *v);

/* A list of help lines as simple strings (the HELP subcommands). */
void reply_help(reply_t *r, const char *const *lines);
/* A text block (CLIENT LIST, INFO): verbatim "txt" in RESP3, bulk in
 * RESP2. */
void reply_text(reply_t *r, const buf_t *text);

/* Common errors, Redis's texts. */
void reply_err_wrongtype(reply_t *r);
void reply_err_syntax(reply_t *r);       /* ERR syntax error */
void reply_err_notint(reply_t *r);       /* ERR value is not an integer or out of range */
void reply_err_notfloat(reply_t *r);     /* ERR value is not a valid float */
void reply_err_arity(reply_t *r, const char *cmdname);
/* "ERR unknown subcommand or wrong number of arguments for 'sub'. Try CMD
 * HELP." (Redis's addReplySubcommandSyntaxError; sub cut at 128 bytes). */
struct resp_arg;
void reply_err_subcommand(reply_t *r, const struct resp_arg *sub,
                          const char *cmd);

/*
 * Deferred aggregate length: reply_defer reserves room for a header and
 * returns a handle; reply_set_deferred(type, n) fills it in ('*', '%',
 * '~' with RESP2 fallbacks as above; for '%' n counts pairs).
 */
size_t reply_defer(reply_t *r);
void reply_set_deferred(reply_t *r, size_t handle, char type, long long n);

#endif
