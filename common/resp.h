/*
 * resp.h: the one RESP parser and writer, shared by node, proxy and tests.
 *
 * Buffer-based and incremental: every parser takes (buf, len) holding the
 * bytes received so far for the current message, and either finishes a
 * message (TS_OK, *consumed set), asks for more bytes (TS_AGAIN; the parser
 * keeps its progress as offsets, so the caller may move or grow its buffer
 * before calling again with the same message start plus more bytes), or
 * rejects the input (TS_PROTO, with Redis's error text).  Limits are checked
 * inside the parser, before anything is allocated for a declared length,
 * so a peer announcing a 4 GB bulk costs nothing.
 *
 * Request parsing is zero-copy: argv entries point into the caller's buffer
 * (inline commands with quotes are unescaped in place, which is why the
 * buffer is not const).  They stay valid until the caller consumes or moves
 * the buffer.
 *
 * Reply parsing (for the proxy and for tests) comes in two forms:
 * resp_scan_reply only finds where a complete reply ends (to forward it
 * untouched), resp_parse_value builds a small tree for inspection
 * (CLUSTER SLOTS, MOVED errors, ...).
 */
#ifndef TS_RESP_H
#define TS_RESP_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "status.h"

/* A byte string inside someone else's buffer. */
typedef struct resp_arg {
    const char *ptr;
    size_t len;
} resp_arg_t;

/* Limits for request parsing (all configurable in the node like Redis). */
typedef struct resp_limits {
    long long max_bulk_len;     /* proto-max-bulk-len, default 512 MB */
    long long max_multibulk;    /* max argc; Redis: INT_MAX */
    size_t max_inline;          /* inline line / header line limit, 64 KB */
    int unauthenticated;        /* 1: multibulk <= 10, bulk <= 16384 */
} resp_limits_t;

#define RESP_DEFAULT_MAX_BULK   (512LL * 1024 * 1024)
#define RESP_DEFAULT_MAX_INLINE (64 * 1024)

void resp_limits_default(resp_limits_t *lim);

/*
 * Request parser state.  Embedded in a client; one per connection.  argv
 * is reused from command to command (grown, never shrunk below a small
 * size), so steady-state parsing allocates nothing.
 */
typedef struct resp_req {
    int argc;               /* valid after TS_OK */
    resp_arg_t *argv;       /* valid after TS_OK */
    int inline_cmd;         /* 1 if the last command was inline */
    /* private parse state */
    int argv_cap;
    long long mb_total;     /* declared argc, -1 before the header is read */
    long long bulk_len;     /* declared length of the pending bulk, -1 none */
    size_t pos;             /* offset of the next unparsed byte */
    size_t *offs;           /* argument offsets while incomplete */
} resp_req_t;

void resp_req_init(resp_req_t *r);
void resp_req_deinit(resp_req_t *r);
/* Forget a partially parsed command (connection reset). */
void resp_req_reset(resp_req_t *r);

/*
 * Parse one command from buf[0, len), which starts at the command's first
 * byte.  Returns:
 *   TS_OK     a command is in r->argc / r->argv; *consumed bytes belong to
 *             it.  argc may be 0 (empty inline line, "*0" or "*-1"): the
 *             caller skips it, as Redis does.
 *   TS_AGAIN  incomplete; call again with the same start and more bytes.
 *   TS_PROTO  *err is Redis's text without the leading '-', e.g.
 *             "ERR Protocol error: invalid bulk length"; the caller replies
 *             with it and closes the connection.
 */
ts_status_t resp_parse_request(resp_req_t *r, char *buf, size_t len,
                               const resp_limits_t *lim, size_t *consumed,
                               const char **err);

/* ---- replies: scanning and parsing ---------------------------------- */

/* Max nesting depth of aggregates accepted in replies. */
#define RESP_MAX_DEPTH 64

/* Incremental scanner state (avoids rescanning huge replies). */
typedef struct resp_scan {
    size_t pos;                     /* bytes already validated */
    int depth;
    long long remain[RESP_MAX_DEPTH]; /* elements left at each level */
} resp_scan_t;

void resp_scan_init(resp_scan_t *s);
/*
 * Find the end of one complete RESP2/RESP3 reply starting at buf[0].
 * TS_OK with *consumed = its length, TS_AGAIN, or TS_PROTO (*err set).
 * Reset the state (resp_scan_init) after TS_OK or TS_PROTO.
 */
ts_status_t resp_scan_reply(resp_scan_t *s, const char *buf, size_t len,
                            size_t *consumed, const char **err);

typedef enum resp_type {
    RESP_SIMPLE = '+',
    RESP_ERROR = '-',
    RESP_INT = ':',
    RESP_BULK = '$',
    RESP_ARRAY = '*',
    RESP_NULL = '_',     /* also $-1 and *-1 */
    RESP_DOUBLE = ',',
    RESP_BOOL = '#',
    RESP_BIGNUM = '(',
    RESP_VERBATIM = '=',
    RESP_BLOBERR = '!',
    RESP_MAP = '%',
    RESP_SET = '~',
    RESP_ATTR = '|',
    RESP_PUSH = '>',
} resp_type_t;

/* A parsed reply.  Strings point into the parsed buffer (not copied). */
typedef struct resp_value {
    resp_type_t type;
    long long integer;          /* RESP_INT, RESP_BOOL (0/1) */
    double dbl;                 /* RESP_DOUBLE */
    const char *str;            /* SIMPLE, ERROR, BULK, VERBATIM, BIGNUM, BLOBERR */
    size_t len;
    size_t nelem;               /* aggregates: element count (map: 2*pairs) */
    struct resp_value *elem;    /* aggregates: nelem values */
} resp_value_t;

/*
 * Parse one complete reply into a tree allocated with ts_malloc; free it
 * with resp_value_free.  TS_OK (*consumed set), TS_AGAIN or TS_PROTO.
 */
ts_status_t resp_parse_value(const char *buf, size_t len, resp_value_t **out,
                             size_t *consumed, const char **err);
void resp_value_free(resp_value_t *v);

/* ---- writing: append RESP to a buffer -------------------------------- */

void resp_w_simple(buf_t *b, const char *s, size_t n);      /* +s */
void resp_w_error(buf_t *b, const char *s, size_t n);       /* -s; CR/LF in s become spaces */
void resp_w_int(buf_t *b, long long v);                     /* :v */
void resp_w_bulk(buf_t *b, const char *p, size_t n);        /* $n p */
void resp_w_agg(buf_t *b, char type, long long n);          /* *n %n ~n >n |n */
void resp_w_double(buf_t *b, double d, int proto);          /* ,d or bulk */
void resp_w_bool(buf_t *b, int v, int proto);               /* #t or :1 */
void resp_w_null(buf_t *b, int proto);                      /* _ or $-1 */
void resp_w_null_array(buf_t *b, int proto);                /* _ or *-1 */
void resp_w_verbatim(buf_t *b, const char *p, size_t n, const char *ext,
                     int proto);                            /* =n ext:p or bulk */
/* A command as a multibulk request (for the proxy, replication, tests). */
void resp_w_command(buf_t *b, int argc, const resp_arg_t *argv);

/*
 * Format `v` in decimal into dst (>= 21 bytes), no terminator; returns
 * the length.  Exposed because it is the hot path of every length header.
 */
size_t resp_ll2str(char *dst, long long v);
size_t resp_ull2str(char *dst, unsigned long long v);
/*
 * Strict string-to-integer as Redis's string2ll: optional '-', no '+',
 * no leading zeros (except "0"), no spaces, fits in long long.  1 on
 * success.
 */
int resp_str2ll(const char *s, size_t n, long long *out);

#endif
