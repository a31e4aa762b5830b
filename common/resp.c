/*
 * resp.c: the RESP request parser, reply scanner/parser and writers.
 *
 * Requests.  What is accepted, what is rejected, the order of the checks
 * and the error texts follow Redis 7.0 networking.c (processInlineBuffer,
 * processMultibulkBuffer and sdssplitargs), because clients and test
 * suites depend on them.  The differences are in how the work is done:
 *
 *   - Progress is kept as offsets (r->pos, r->offs[]) so that a command
 *     arriving in many reads costs O(new bytes) per call: completed
 *     arguments are never looked at again and a pending line is searched
 *     only from where the last search stopped.  While arguments arrive,
 *     r->argc counts the complete ones, r->argv[i].len holds their lengths
 *     and r->offs[i] their offsets; r->offs[argc] is the start of the
 *     pending "$<len>" line until its length is known, then the start of
 *     its payload.  Pointers into the buffer of an earlier call are redone
 *     (base + offset) on completion, so the caller may move its buffer
 *     between calls.
 *   - Nothing is allocated per command: argv/offs are reused and grow as
 *     arguments really arrive (at most 1024 entries up front, as Redis),
 *     so "*2000000000" costs nothing.  Declared bulk lengths are only
 *     compared, never allocated.
 *   - A well-formed "$<len>\r" header is parsed by a fused loop (no memchr,
 *     no separate integer parse); anything unusual takes the careful path
 *     that mirrors Redis exactly.
 *
 * Replies.  resp_scan_reply walks one reply of any RESP2/RESP3 type with
 * an explicit stack of "elements left" counters (no recursion), so it can
 * stop at any byte and resume where it stopped.  resp_parse_value first
 * scans (so both always agree on validity and length), then builds a tree
 * from bytes known to be valid.  In the tree, attributes (|) are dropped
 * and the value they describe stands in their place, as RESP3 allows a
 * client to do; a verbatim string's str/len are its text after "fmt:" (the
 * format is str[-4..-2]); $-1, *-1 and _ are all RESP_NULL.  Replies are
 * checked more strictly than requests (every line and payload must end in
 * CRLF) because a desynced backend must be caught before its bytes are
 * forwarded.  Completed elements and bulk payloads are never rescanned; a
 * line still waiting for its CRLF is searched again from its start, which
 * is cheap because reply lines are short (lengths, counts, status).
 *
 * Writers reserve once and format in place; integers use a two-digits-at-
 * a-time table as Redis's ll2string.
 */
#include "resp.h"

#include <assert.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"

#define PROTO_ERR "ERR Protocol error: "

/* ---- integers --------------------------------------------------------- */

static const char digit_pairs[] = "00010203040506070809"
                                  "10111213141516171819"
                                  "20212223242526272829"
                                  "30313233343536373839"
                                  "40414243444546474849"
                                  "50515253545556575859"
                                  "60616263646566676869"
                                  "70717273747576777879"
                                  "80818283848586878889"
                                  "90919293949596979899";

/* Decimal digits of v (Redis util.c digits10). */
static unsigned digits10(unsigned long long v)
{
    if (v < 10) return 1;
    if (v < 100) return 2;
    if (v < 1000) return 3;
    if (v < 1000000000000ULL) {
        if (v < 100000000ULL) {
            if (v < 1000000) {
                if (v < 10000) return 4;
                return 5 + (v >= 100000);
            }
            return 7 + (v >= 10000000ULL);
        }
        if (v < 10000000000ULL) return 9 + (v >= 1000000000ULL);
        return 11 + (v >= 100000000000ULL);
    }
    return 12 + digits10(v / 1000000000000ULL);
}

size_t resp_ull2str(char *dst, unsigned long long v)
{
    size_t n = digits10(v);
    char *p = dst + n;

    while (v >= 100) {
        size_t i = (size_t)(v % 100) * 2;
        v /= 100;
        *--p = digit_pairs[i + 1];
        *--p = digit_pairs[i];
    }
    if (v < 10) {
        *--p = (char)('0' + v);
    } else {
        size_t i = (size_t)v * 2;
        *--p = digit_pairs[i + 1];
        *--p = digit_pairs[i];
    }
    assert(p == dst);
    return n;
}

size_t resp_ll2str(char *dst, long long v)
{
    if (v >= 0) return resp_ull2str(dst, (unsigned long long)v);
    dst[0] = '-';
    return 1 + resp_ull2str(dst + 1, 0ULL - (unsigned long long)v);
}

/*
 * Redis's string2ll accepts at most 20 characters; a valid value has at
 * most 19 digits, so the accumulator below cannot overflow 64 bits and
 * one range check at the end is enough.
 */
int resp_str2ll(const char *s, size_t n, long long *out)
{
    size_t i = 0;
    unsigned long long v;
    long long res;

    if (n == 0 || n > 20) return 0;
    if (n == 1 && s[0] == '0') {
        if (out) *out = 0;
        return 1;
    }
    if (s[0] == '-') i = 1;
    if (i == n || s[i] < '1' || s[i] > '9' || n - i > 19) return 0;
    v = (unsigned long long)(s[i++] - '0');
    for (; i < n; i++) {
        unsigned d = (unsigned)(unsigned char)s[i] - '0';
        if (d > 9) return 0;
        v = v * 10 + d;
    }
    if (s[0] == '-') {
        if (v > (unsigned long long)LLONG_MAX + 1) return 0;
        res =
            v == (unsigned long long)LLONG_MAX + 1 ? LLONG_MIN : -(long long)v;
    } else {
        if (v > (unsigned long long)LLONG_MAX) return 0;
        res = (long long)v;
    }
    if (out) *out = res;
    return 1;
}

/* ---- request parser: state ------------------------------------------- */

#define ARGV_MIN      8     /* first allocation */
#define ARGV_PREALLOC 1024  /* most entries reserved for a declared argc */
#define ARGV_KEEP     65536 /* larger arrays shrink before the next command */
#define UNAUTH_MBULK  10    /* Redis: argc allowed before AUTH */
#define UNAUTH_BULK   16384 /* Redis: bulk length allowed before AUTH */

void resp_limits_default(resp_limits_t *lim)
{
    lim->max_bulk_len = RESP_DEFAULT_MAX_BULK;
    lim->max_multibulk = INT_MAX;
    lim->max_inline = RESP_DEFAULT_MAX_INLINE;
    lim->unauthenticated = 0;
}

/* Forget progress (not the arrays). */
static void forget(resp_req_t *r)
{
    r->mb_total = -1;
    r->bulk_len = -1;
    r->pos = 0;
}

void resp_req_init(resp_req_t *r)
{
    r->argc = 0;
    r->argv = NULL;
    r->inline_cmd = 0;
    r->argv_cap = 0;
    r->offs = NULL;
    forget(r);
}

void resp_req_deinit(resp_req_t *r)
{
    ts_free(r->argv);
    ts_free(r->offs);
    resp_req_init(r);
}

void resp_req_reset(resp_req_t *r)
{
    r->argc = 0;
    forget(r);
}

static void argv_resize(resp_req_t *r, long long cap)
{
    assert(cap > 0 && cap <= INT_MAX);
    r->argv = ts_realloc(r->argv, (size_t)cap * sizeof(*r->argv));
    r->offs = ts_realloc(r->offs, (size_t)cap * sizeof(*r->offs));
    r->argv_cap = (int)cap;
}

/*
 * Room for `need` entries, growing geometrically but never past `limit`
 * (the declared argc), so memory follows the arguments that really came.
 */
static void argv_reserve(resp_req_t *r, long long need, long long limit)
{
    long long cap;

    if (need <= r->argv_cap) return;
    cap = r->argv_cap ? 2LL * r->argv_cap : ARGV_MIN;
    if (cap < need) cap = need;
    if (cap > limit) cap = limit;
    argv_resize(r, cap);
}

static ts_status_t proto(const char **err, const char *text)
{
    *err = text;
    return TS_PROTO;
}

/* ---- request parser: inline ------------------------------------------ */

/* isspace() in the C locale, as sdssplitargs uses it. */
static inline int is_space(char c)
{
    return c == ' ' || (c >= '\t' && c <= '\r');
}

static inline int hex_val(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static char unescape(char c)
{
    switch (c) {
    case 'n': return '\n';
    case 'r': return '\r';
    case 't': return '\t';
    case 'b': return '\b';
    case 'a': return '\a';
    default: return c;
    }
}

/*
 * Inside "double quotes" at *pp (past the opening quote).  Writes the
 * unescaped bytes at *wp and leaves *pp on the closing quote.  0 when the
 * quote is never closed.
 */
static int read_dquoted(char **pp, const char *end, char **wp)
{
    char *p = *pp, *w = *wp;

    for (; p < end && *p != '"'; p++) {
        if (*p != '\\' || p + 1 == end) {
            *w++ = *p;
        } else if (p + 3 < end && p[1] == 'x' && hex_val(p[2]) >= 0 &&
                   hex_val(p[3]) >= 0) {
            *w++ = (char)(hex_val(p[2]) * 16 + hex_val(p[3]));
            p += 3;
        } else {
            *w++ = unescape(*++p);
        }
    }
    *pp = p;
    *wp = w;
    return p < end;
}

/* Inside 'single quotes': only \' is an escape.  As read_dquoted. */
static int read_squoted(char **pp, const char *end, char **wp)
{
    char *p = *pp, *w = *wp;

    for (; p < end && *p != '\''; p++) {
        if (*p == '\\' && p + 1 < end && p[1] == '\'') p++;
        *w++ = *p;
    }
    *pp = p;
    *wp = w;
    return p < end;
}

/*
 * One sdssplitargs token starting at *pp (not a blank), unescaped to *wp.
 * The writer never overtakes the reader, so this works in place.  Quotes
 * may open mid-token (ab"c d" is "abc d"); a closing quote must be
 * followed by a blank or the end.  0 on bad quoting.
 */
static int read_token(char **pp, const char *end, char **wp)
{
    char *p = *pp;
    int ok;

    for (; p < end; p++) {
        char c = *p;
        if (c == ' ' || c == '\n' || c == '\r' || c == '\t') break;
        if (c != '"' && c != '\'') {
            *(*wp)++ = c;
            continue;
        }
        p++;
        ok = c == '"' ? read_dquoted(&p, end, wp) : read_squoted(&p, end, wp);
        if (ok && p + 1 < end && !is_space(p[1])) ok = 0;
        *pp = p + 1;
        return ok;
    }
    *pp = p < end ? p + 1 : p;
    return 1;
}

/*
 * Split line[0, n) into r->argv in place, like sdssplitargs (which stops
 * at a NUL byte, so this does too).  Each token is unescaped over its own
 * bytes, so a line without quotes is left as it was.  0 on unbalanced
 * quotes.
 */
static int split_args(resp_req_t *r, char *line, size_t n)
{
    const char *nul = memchr(line, '\0', n);
    const char *end = nul ? nul : line + n;
    char *p = line, *w;

    r->argc = 0;
    for (;;) {
        while (p < end && is_space(*p))
            p++;
        if (p == end) return 1;
        char *tok = w = p;
        if (!read_token(&p, end, &w)) return 0;
        if (r->argc == r->argv_cap) argv_reserve(r, r->argc + 1LL, INT_MAX);
        r->argv[r->argc].ptr = tok;
        r->argv[r->argc].len = (size_t)(w - tok);
        r->argc++;
    }
}

/* A line up to '\n' (a '\r' before it is dropped).  r->pos: bytes searched. */
static ts_status_t parse_inline(resp_req_t *r, char *buf, size_t len,
                                const resp_limits_t *lim, const char **err)
{
    char *nl = memchr(buf + r->pos, '\n', len - r->pos);
    size_t eol;

    if (!nl) {
        r->pos = len;
        if (len > lim->max_inline)
            return proto(err, PROTO_ERR "too big inline request");
        return TS_AGAIN;
    }
    eol = (size_t)(nl - buf);
    r->pos = eol + 1;
    if (eol > 0 && buf[eol - 1] == '\r') eol--;
    if (!split_args(r, buf, eol))
        return proto(err, PROTO_ERR "unbalanced quotes in request");
    return TS_OK;
}

/* ---- request parser: multibulk --------------------------------------- */

/*
 * Fast path for a complete "<c><digits>\r" header with 1..18 digits, no
 * leading zero, and the byte after '\r' present: exactly the cases where
 * finding the '\r' and calling resp_str2ll would succeed with a short
 * number.  0 means "not that shape (yet)", and the careful path decides.
 */
static inline int fast_header(const char *buf, size_t len, size_t h,
                              long long *n, size_t *eol)
{
    size_t i = h + 1, end = h + 20;
    unsigned long long v = 0;

    if (h + 4 < len) { /* one or two digits: nearly every header */
        unsigned d0 = (unsigned)(unsigned char)buf[h + 1] - '0';
        unsigned d1 = (unsigned)(unsigned char)buf[h + 2] - '0';
        if (d0 <= 9 && buf[h + 2] == '\r') {
            *n = d0;
            *eol = h + 2;
            return 1;
        }
        if (d0 - 1 <= 8 && d1 <= 9 && buf[h + 3] == '\r') {
            *n = d0 * 10 + d1;
            *eol = h + 3;
            return 1;
        }
    }
    if (end > len - 1) end = len - 1; /* '\r' needs a byte after it */
    for (; i < end; i++) {
        unsigned d = (unsigned)(unsigned char)buf[i] - '0';
        if (d > 9) break;
        v = v * 10 + d;
    }
    if (i >= end || buf[i] != '\r' || i == h + 1) return 0;
    if (buf[h + 1] == '0' && i != h + 2) return 0;
    *n = (long long)v;
    *eol = i;
    return 1;
}

/*
 * Redis's search for the '\r' ending a header line that starts at
 * `start`, resumed from *scan (bytes before it hold no '\r').  TS_OK with
 * *eol once the byte after the '\r' has arrived (Redis does not check that
 * it is '\n').  TS_LIMIT when no '\r' is in sight and more than `max`
 * bytes are waiting; TS_AGAIN otherwise.
 */
static ts_status_t header_line(const char *buf, size_t len, size_t start,
                               size_t *scan, size_t max, size_t *eol)
{
    const char *cr = memchr(buf + *scan, '\r', len - *scan);

    if (!cr) {
        *scan = len;
        return len - start > max ? TS_LIMIT : TS_AGAIN;
    }
    *scan = (size_t)(cr - buf);
    if (*scan + 2 > len) return TS_AGAIN;
    *eol = *scan;
    return TS_OK;
}

/* Reserve room for the arguments of a new multibulk of `n` > 0. */
static void mb_begin(resp_req_t *r, long long n)
{
    long long want = n < ARGV_PREALLOC ? n : ARGV_PREALLOC;

    r->mb_total = n;
    r->argc = 0;
    if (want > r->argv_cap) argv_reserve(r, want, n);
    r->offs[0] = r->pos;
}

/* "*<n>\r\n".  TS_OK with mb_total set, or argc 0 for n <= 0. */
static ts_status_t mb_count(resp_req_t *r, char *buf, size_t len,
                            const resp_limits_t *lim, const char **err)
{
    long long n, max = lim->max_multibulk;
    size_t eol;

    if (!fast_header(buf, len, 0, &n, &eol)) {
        ts_status_t st =
            header_line(buf, len, 0, &r->pos, lim->max_inline, &eol);
        if (st == TS_LIMIT)
            return proto(err, PROTO_ERR "too big mbulk count string");
        if (st != TS_OK) return st;
        if (!resp_str2ll(buf + 1, eol - 1, &n))
            return proto(err, PROTO_ERR "invalid multibulk length");
    }
    if (max > INT_MAX) max = INT_MAX;
    if (n > max) return proto(err, PROTO_ERR "invalid multibulk length");
    if (n > UNAUTH_MBULK && lim->unauthenticated)
        return proto(err, PROTO_ERR "unauthenticated multibulk length");
    r->pos = eol + 2;
    r->argc = 0;
    if (n > 0) mb_begin(r, n);
    return TS_OK;
}

/*
 * Redis's text has the raw byte in it, CR and LF turned to spaces as
 * addReplyErrorFormat does (a NUL ends our text early).  The buffer is per
 * thread because proxy workers parse in parallel.
 */
static ts_status_t expected_dollar(const char **err, char got)
{
    static _Thread_local char text[] = PROTO_ERR "expected '$', got ' '";

    text[sizeof(text) - 3] = got == '\r' || got == '\n' ? ' ' : got;
    return proto(err, text);
}

/*
 * The "$<len>\r\n" line starting at h.  *pos is where the search for its
 * '\r' resumes; on success it becomes the payload's offset and *n its
 * length.
 */
static inline ts_status_t bulk_header(const char *buf, size_t len, size_t h,
                                      size_t *pos, const resp_limits_t *lim,
                                      long long *n, const char **err)
{
    size_t eol;

    if (!fast_header(buf, len, h, n, &eol)) {
        ts_status_t st = header_line(buf, len, h, pos, lim->max_inline, &eol);
        if (st == TS_LIMIT)
            return proto(err, PROTO_ERR "too big bulk count string");
        if (st != TS_OK) return st;
        if (buf[h] != '$') return expected_dollar(err, buf[h]);
        if (!resp_str2ll(buf + h + 1, eol - h - 1, n)) *n = -1;
    } else if (buf[h] != '$') {
        return expected_dollar(err, buf[h]);
    }
    if (*n < 0 || *n > lim->max_bulk_len)
        return proto(err, PROTO_ERR "invalid bulk length");
    if (*n > UNAUTH_BULK && lim->unauthenticated)
        return proto(err, PROTO_ERR "unauthenticated bulk length");
    *pos = eol + 2;
    return TS_OK;
}

/*
 * Read arguments until mb_total are complete.  The loop works on locals
 * (the compiler cannot keep r's fields in registers across the array
 * stores) and saves them on the way out.  argv[i].ptr is set as each
 * argument completes; arguments from earlier calls are re-pointed from
 * offs[] because the buffer may have moved.  The 2 bytes after a payload
 * are skipped unchecked, as Redis does.
 */
static ts_status_t mb_args(resp_req_t *r, char *buf, size_t len,
                           const resp_limits_t *lim, const char **err)
{
    int argc = r->argc, resumed = r->argc;
    long long total = r->mb_total, blen = r->bulk_len;
    size_t pos = r->pos;
    ts_status_t st = TS_OK;

    while (argc < total) {
        if (blen < 0) {
            st = bulk_header(buf, len, r->offs[argc], &pos, lim, &blen, err);
            if (st != TS_OK) break;
            r->offs[argc] = pos;
        }
        if (len - pos < (unsigned long long)blen + 2) {
            st = TS_AGAIN;
            break;
        }
        r->argv[argc].ptr = buf + pos;
        r->argv[argc].len = (size_t)blen;
        pos += (size_t)blen + 2;
        blen = -1;
        if (++argc == total) break;
        if (argc == r->argv_cap) argv_reserve(r, argc + 1LL, total);
        r->offs[argc] = pos;
    }
    r->argc = argc;
    r->pos = pos;
    r->bulk_len = blen;
    if (st == TS_OK)
        for (int i = 0; i < resumed; i++)
            r->argv[i].ptr = buf + r->offs[i];
    return st;
}

/*
 * The common case in one pass: a fresh command wholly in the buffer, every
 * header a short plain number within the limits, at most ARGV_PREALLOC
 * arguments.
 * Nothing is saved between arguments because nothing has to resume.
 * 0 when any of that is not so; then argv may have been grown (as
 * mb_begin would) and written, nothing else, and the general path below
 * decides, so errors keep their exact texts.  Tried once per command
 * (fresh state only), so a command arriving in pieces stays linear.
 */
static int fast_multibulk(resp_req_t *r, char *buf, size_t len,
                          const resp_limits_t *lim)
{
    long long n, blen;
    size_t eol, pos;
    int unauth = lim->unauthenticated;

    if (!fast_header(buf, len, 0, &n, &eol) || n <= 0 ||
        n > lim->max_multibulk || (unauth && n > UNAUTH_MBULK) ||
        n > ARGV_PREALLOC)
        return 0;
    if (n > r->argv_cap) argv_reserve(r, n, n); /* what mb_begin reserves */
    pos = eol + 2;
    for (long long i = 0; i < n; i++) {
        if (pos >= len || buf[pos] != '$' ||
            !fast_header(buf, len, pos, &blen, &eol) ||
            blen > lim->max_bulk_len || (unauth && blen > UNAUTH_BULK))
            return 0;
        pos = eol + 2;
        if (len - pos < (unsigned long long)blen + 2) return 0;
        r->argv[i].ptr = buf + pos;
        r->argv[i].len = (size_t)blen;
        pos += (size_t)blen + 2;
    }
    r->argc = (int)n;
    r->pos = pos;
    return 1;
}

static ts_status_t parse_multibulk(resp_req_t *r, char *buf, size_t len,
                                   const resp_limits_t *lim, const char **err)
{
    if (r->mb_total < 0) {
        ts_status_t st = mb_count(r, buf, len, lim, err);
        if (st != TS_OK || r->mb_total < 0) return st; /* error or empty */
    }
    return mb_args(r, buf, len, lim, err);
}

/* Every case but fast_multibulk's, out of line so that the common case
 * does not pay for this path's stack frame. */
static __attribute__((noinline)) ts_status_t
parse_request(resp_req_t *r, char *buf, size_t len, const resp_limits_t *lim,
              size_t *consumed, const char **err)
{
    ts_status_t st;

    if (r->pos == 0 && r->mb_total < 0 && r->argv_cap > ARGV_KEEP)
        argv_resize(r, ARGV_PREALLOC); /* after a giant command */
    r->inline_cmd = buf[0] != '*';
    if (r->inline_cmd)
        st = parse_inline(r, buf, len, lim, err);
    else
        st = parse_multibulk(r, buf, len, lim, err);
    if (st == TS_AGAIN) return st;
    if (st == TS_OK)
        *consumed = r->pos;
    else
        r->argc = 0;
    forget(r);
    return st;
}

ts_status_t resp_parse_request(resp_req_t *r, char *buf, size_t len,
                               const resp_limits_t *lim, size_t *consumed,
                               const char **err)
{
    static const resp_limits_t defaults = {RESP_DEFAULT_MAX_BULK, INT_MAX,
                                           RESP_DEFAULT_MAX_INLINE, 0};

    assert(r->pos <= len);
    if (!lim) lim = &defaults;
    if (len == 0) return TS_AGAIN;
    if (buf[0] == '*' && r->mb_total < 0 && r->pos == 0 &&
        r->argv_cap <= ARGV_KEEP && fast_multibulk(r, buf, len, lim)) {
        r->inline_cmd = 0;
        *consumed = r->pos;
        forget(r);
        return TS_OK;
    }
    return parse_request(r, buf, len, lim, consumed, err);
}

/* ---- reply scanner ---------------------------------------------------- */

/* One element header (aggregates) or whole element (others), decoded. */
typedef struct elem {
    char type;
    long long num;  /* integer, payload length or count; -1 is null */
    long long kids; /* elements that follow and belong to this one */
    size_t body;    /* offset of the line text or payload */
    size_t blen;    /* its length */
    size_t next;    /* offset just past what was decoded */
} elem_t;

#define MAX_NUM_LINE    20 /* resp_str2ll accepts no longer text */
#define MAX_DOUBLE_LINE 511

/*
 * The CRLF ending a line whose text starts at `from` and is at most `max`
 * bytes.  TS_OK with *eol at the '\r'; TS_AGAIN; TS_LIMIT if the text is
 * already too long; TS_PROTO if the '\r' is not followed by '\n'.
 */
static ts_status_t line_end(const char *buf, size_t len, size_t from,
                            size_t max, size_t *eol, const char **err)
{
    size_t avail = len - from;
    const char *cr = memchr(buf + from, '\r', avail <= max ? avail : max + 1);

    if (!cr) return avail > max ? TS_LIMIT : TS_AGAIN;
    *eol = (size_t)(cr - buf);
    if (*eol + 1 == len) return TS_AGAIN;
    if (cr[1] != '\n') return proto(err, PROTO_ERR "expected CRLF");
    return TS_OK;
}

/* A line of at most `max` bytes into e->body/blen/next. */
static ts_status_t scan_line(const char *buf, size_t len, elem_t *e, size_t max,
                             const char *toolong, const char **err)
{
    size_t eol;
    ts_status_t st = line_end(buf, len, e->body, max, &eol, err);

    if (st == TS_LIMIT) return proto(err, toolong);
    if (st != TS_OK) return st;
    e->blen = eol - e->body;
    e->next = eol + 2;
    return TS_OK;
}

/*
 * The usual case first: a short non-negative number whose CRLF is all
 * there (bulk lengths and counts in the replies a proxy relays) is read
 * in one pass, without memchr and a second pass in resp_str2ll.
 * 0: not that shape, scan_num's careful path decides.
 */
static inline int fast_num(const char *buf, size_t len, elem_t *e)
{
    size_t eol;

    if (!fast_header(buf, len, e->body - 1, &e->num, &eol) ||
        buf[eol + 1] != '\n')
        return 0;
    e->blen = eol - e->body;
    e->next = eol + 2;
    return 1;
}

/* A line holding a strict integer into e->num. */
static ts_status_t scan_num(const char *buf, size_t len, elem_t *e,
                            const char *bad, const char **err)
{
    ts_status_t st;

    if (fast_num(buf, len, e)) return TS_OK;
    st = scan_line(buf, len, e, MAX_NUM_LINE, bad, err);

    if (st != TS_OK) return st;
    if (!resp_str2ll(buf + e->body, e->blen, &e->num)) return proto(err, bad);
    return TS_OK;
}

/*
 * RESP3 double text: inf, -inf, nan (as Redis writes them) or what strtod
 * reads completely from [0-9+-.eE].  1 and *out on success.
 */
static int parse_double(const char *s, size_t n, double *out)
{
    char tmp[MAX_DOUBLE_LINE + 1], *end;

    if ((n == 3 && !memcmp(s, "inf", 3)) || (n == 4 && !memcmp(s, "+inf", 4))) {
        *out = INFINITY;
        return 1;
    }
    if (n == 4 && !memcmp(s, "-inf", 4)) {
        *out = -INFINITY;
        return 1;
    }
    if ((n == 3 && !memcmp(s, "nan", 3)) || (n == 4 && !memcmp(s, "-nan", 4))) {
        *out = NAN;
        return 1;
    }
    if (n == 0 || n > MAX_DOUBLE_LINE) return 0;
    for (size_t i = 0; i < n; i++)
        if (s[i] == '\0' || !strchr("0123456789+-.eE", s[i])) return 0;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    *out = strtod(tmp, &end);
    return end == tmp + n;
}

/* Big number text: an optional '-' and at least one digit. */
static int valid_bignum(const char *s, size_t n)
{
    size_t i = n > 0 && s[0] == '-';

    if (i == n) return 0;
    for (; i < n; i++)
        if (s[i] < '0' || s[i] > '9') return 0;
    return 1;
}

static int simple_valid(char type, const char *s, size_t n)
{
    double d;

    switch (type) {
    case ',': return parse_double(s, n, &d);
    case '#': return n == 1 && (*s == 't' || *s == 'f');
    case '(': return valid_bignum(s, n);
    default: return 1; /* '_': its empty line was all there was to check */
    }
}

/* , # _ ( : a line whose text must suit the type. */
static ts_status_t scan_simple(const char *buf, size_t len, elem_t *e,
                               const char **err)
{
    const char *bad = PROTO_ERR "invalid big number";
    size_t max = SIZE_MAX;
    ts_status_t st;

    switch (e->type) {
    case ',':
        bad = PROTO_ERR "invalid double";
        max = MAX_DOUBLE_LINE;
        break;
    case '#':
        bad = PROTO_ERR "invalid boolean";
        max = 1;
        break;
    case '_':
        bad = PROTO_ERR "invalid null";
        max = 0;
        break;
    }
    st = scan_line(buf, len, e, max, bad, err);
    if (st != TS_OK) return st;
    if (!simple_valid(e->type, buf + e->body, e->blen)) return proto(err, bad);
    return TS_OK;
}

/* $ = ! : a length line, then a payload and CRLF ($-1 is a null). */
static ts_status_t scan_blob(const char *buf, size_t len, elem_t *e,
                             const char **err)
{
    const char *bad = PROTO_ERR "invalid bulk length";
    ts_status_t st = scan_num(buf, len, e, bad, err);
    size_t start = e->next;

    if (st != TS_OK) return st;
    if (e->num == -1 && e->type == '$') return TS_OK;
    if (e->num < 0) return proto(err, bad);
    if (e->type == '=' && e->num < 4)
        return proto(err, PROTO_ERR "invalid verbatim string");
    if (len - start < (unsigned long long)e->num + 2) return TS_AGAIN;
    e->body = start;
    e->blen = (size_t)e->num;
    e->next = start + e->blen + 2;
    if (buf[e->next - 2] != '\r' || buf[e->next - 1] != '\n')
        return proto(err, PROTO_ERR "bulk not followed by CRLF");
    if (e->type == '=' && buf[start + 3] != ':')
        return proto(err, PROTO_ERR "invalid verbatim string");
    return TS_OK;
}

/* * % ~ > |: a count line; e->kids elements follow (*-1 is a null). */
static ts_status_t scan_agg(const char *buf, size_t len, elem_t *e,
                            const char **err)
{
    const char *bad = PROTO_ERR "invalid multibulk length";
    ts_status_t st = scan_num(buf, len, e, bad, err);
    int pairs = e->type == '%' || e->type == '|';

    if (st != TS_OK) return st;
    if (e->num == -1 && e->type == '*') return TS_OK;
    if (e->num < 0 || (pairs && e->num > LLONG_MAX / 2 - 1))
        return proto(err, bad);
    e->kids = pairs ? 2 * e->num : e->num;
    if (e->type == '|') e->kids++; /* the value the attributes describe */
    return TS_OK;
}

/* Decode the element at `pos` (its header only, for aggregates). */
static ts_status_t scan_elem(const char *buf, size_t len, size_t pos, elem_t *e,
                             const char **err)
{
    if (pos >= len) return TS_AGAIN;
    e->type = buf[pos];
    e->num = 0;
    e->kids = 0;
    e->body = pos + 1;
    switch (e->type) {
    case '+':
    case '-': return scan_line(buf, len, e, SIZE_MAX, NULL, err);
    case ':': return scan_num(buf, len, e, PROTO_ERR "invalid integer", err);
    case ',':
    case '#':
    case '_':
    case '(': return scan_simple(buf, len, e, err);
    case '$':
    case '=':
    case '!': return scan_blob(buf, len, e, err);
    case '*':
    case '%':
    case '~':
    case '>':
    case '|': return scan_agg(buf, len, e, err);
    default: return proto(err, PROTO_ERR "invalid reply type byte");
    }
}

void resp_scan_init(resp_scan_t *s)
{
    s->pos = 0;
    s->depth = 0;
}

/*
 * The replies most forwarded commands get (a bulk string, an integer, a
 * simple string), complete in buf, measured in one pass: their length,
 * or 0 to leave the decision to the general scanner (another type, an
 * incomplete or unusual reply).  Accepts exactly what scan_elem accepts.
 */
static inline size_t fast_reply(const char *buf, size_t len)
{
    long long n;
    size_t eol, end;

    if (buf[0] == '+') {
        const char *cr = memchr(buf + 1, '\r', len - 1);
        if (!cr || cr + 1 == buf + len || cr[1] != '\n') return 0;
        return (size_t)(cr - buf) + 2;
    }
    if ((buf[0] != '$' && buf[0] != ':') ||
        !fast_header(buf, len, 0, &n, &eol) || buf[eol + 1] != '\n')
        return 0;
    if (buf[0] == ':') return eol + 2;
    end = eol + 2 + (size_t)n + 2; /* n < 10^18: no overflow */
    if (end > len || buf[end - 2] != '\r' || buf[end - 1] != '\n') return 0;
    return end;
}

/*
 * s->remain[d] counts the elements still expected at open level d; a
 * complete element decrements its parent, and a level reaching zero is
 * itself a complete element of the level above.
 */
static __attribute__((noinline)) ts_status_t
scan_reply(resp_scan_t *s, const char *buf, size_t len, size_t *consumed,
           const char **err)
{
    elem_t e;

    for (;;) {
        ts_status_t st = scan_elem(buf, len, s->pos, &e, err);
        if (st != TS_OK) return st;
        if (e.kids > 0) {
            if (s->depth == RESP_MAX_DEPTH)
                return proto(err, PROTO_ERR "too deep");
            s->remain[s->depth++] = e.kids;
            s->pos = e.next;
            continue;
        }
        s->pos = e.next;
        while (s->depth > 0 && --s->remain[s->depth - 1] == 0)
            s->depth--;
        if (s->depth == 0) break;
    }
    *consumed = s->pos;
    return TS_OK;
}

ts_status_t resp_scan_reply(resp_scan_t *s, const char *buf, size_t len,
                            size_t *consumed, const char **err)
{
    size_t n;

    assert(s->pos <= len);
    if (s->pos == 0 && len > 0 && (n = fast_reply(buf, len)) > 0) {
        s->pos = n;
        *consumed = n;
        return TS_OK;
    }
    return scan_reply(s, buf, len, consumed, err);
}

/* ---- reply parser ----------------------------------------------------- */

/* Offset past the complete (already validated) reply at `pos`. */
static size_t skip_value(const char *buf, size_t len, size_t pos)
{
    resp_scan_t s;
    const char *err;
    size_t n = 0;
    ts_status_t st;

    resp_scan_init(&s);
    st = resp_scan_reply(&s, buf + pos, len - pos, &n, &err);
    assert(st == TS_OK);
    (void)st;
    return pos + n;
}

static size_t build(const char *buf, size_t len, size_t pos, resp_value_t *v);

static size_t build_agg(const char *buf, size_t len, const elem_t *e,
                        resp_value_t *v)
{
    size_t pos = e->next;

    if (e->type == '|') { /* attributes are skipped: keep the value */
        for (long long i = 0; i < e->kids - 1; i++)
            pos = skip_value(buf, len, pos);
        return build(buf, len, pos, v);
    }
    v->type = (resp_type_t)e->type;
    if (e->num < 0) {
        v->type = RESP_NULL;
        return pos;
    }
    v->nelem = (size_t)e->kids;
    if (v->nelem) v->elem = ts_calloc(v->nelem, sizeof(*v->elem));
    for (size_t i = 0; i < v->nelem; i++)
        pos = build(buf, len, pos, &v->elem[i]);
    return pos;
}

/* Fill v from the valid element at pos; returns the offset past it. */
static size_t build(const char *buf, size_t len, size_t pos, resp_value_t *v)
{
    elem_t e;
    const char *err;
    ts_status_t st = scan_elem(buf, len, pos, &e, &err);

    assert(st == TS_OK);
    (void)st;
    memset(v, 0, sizeof(*v));
    if (strchr("*%~>|", e.type)) return build_agg(buf, len, &e, v);
    v->type = (resp_type_t)e.type;
    v->str = buf + e.body;
    v->len = e.blen;
    if (e.type == ':') v->integer = e.num;
    if (e.type == '#') v->integer = buf[e.body] == 't';
    if (e.type == ',') parse_double(v->str, v->len, &v->dbl);
    if (e.type == '=') { /* past "txt:" */
        v->str += 4;
        v->len -= 4;
    }
    if (e.type == '_' || (e.type == '$' && e.num < 0)) {
        v->type = RESP_NULL;
        v->str = NULL;
        v->len = 0;
    }
    return e.next;
}

ts_status_t resp_parse_value(const char *buf, size_t len, resp_value_t **out,
                             size_t *consumed, const char **err)
{
    resp_scan_t s;
    size_t n;
    ts_status_t st;

    *out = NULL;
    resp_scan_init(&s);
    st = resp_scan_reply(&s, buf, len, &n, err);
    if (st != TS_OK) return st;
    *out = ts_malloc(sizeof(**out));
    *consumed = build(buf, n, 0, *out);
    assert(*consumed == n);
    return TS_OK;
}

static void free_children(resp_value_t *v)
{
    for (size_t i = 0; i < v->nelem; i++)
        free_children(&v->elem[i]);
    ts_free(v->elem);
}

void resp_value_free(resp_value_t *v)
{
    if (!v) return;
    free_children(v);
    ts_free(v);
}

/* ---- writers ---------------------------------------------------------- */

#define HDR_MAX 32 /* type byte, 20 digits, CRLF, with room to spare */

/* "<t><n>\r\n" at the write position; room must be reserved. */
static inline char *put_header(char *p, char t, long long n)
{
    *p++ = t;
    p += resp_ll2str(p, n);
    *p++ = '\r';
    *p++ = '\n';
    return p;
}

/* buf_reserve without the call when there is room (the usual case). */
static inline void room(buf_t *b, size_t n)
{
    if (buf_avail(b) < n) buf_reserve(b, n);
}

static inline void put_crlf(char *p)
{
    p[0] = '\r';
    p[1] = '\n';
}

void resp_w_simple(buf_t *b, const char *s, size_t n)
{
    char *p;

    room(b, n + 3);
    p = buf_wptr(b);
    p[0] = '+';
    if (n) memcpy(p + 1, s, n);
    put_crlf(p + 1 + n);
    b->wpos += n + 3;
}

/* As Redis addReplyError*: a text already starting with '-' is kept. */
void resp_w_error(buf_t *b, const char *s, size_t n)
{
    size_t dash = n > 0 && s[0] == '-' ? 0 : 1;
    char *p;

    room(b, n + 3);
    p = buf_wptr(b);
    p[0] = '-';
    if (n) memcpy(p + dash, s, n);
    for (size_t i = 1; i < n + dash; i++)
        if (p[i] == '\r' || p[i] == '\n') p[i] = ' ';
    put_crlf(p + dash + n);
    b->wpos += dash + n + 2;
}

void resp_w_int(buf_t *b, long long v)
{
    room(b, HDR_MAX);
    b->wpos = (size_t)(put_header(buf_wptr(b), ':', v) - b->data);
}

void resp_w_bulk(buf_t *b, const char *p, size_t n)
{
    char *w;

    room(b, n + HDR_MAX);
    w = put_header(buf_wptr(b), '$', (long long)n);
    if (n) memcpy(w, p, n);
    put_crlf(w + n);
    b->wpos = (size_t)(w + n + 2 - b->data);
}

void resp_w_agg(buf_t *b, char type, long long n)
{
    room(b, HDR_MAX);
    b->wpos = (size_t)(put_header(buf_wptr(b), type, n) - b->data);
}

/*
 * Redis 7.0 addReplyDouble: "%.17g", with inf/-inf spelled out (and nan
 * as "nan", whatever the sign bit).  Integral values below 2^53 print as
 * %.17g would print them, via the integer formatter.
 */
static size_t format_double(char *dst, size_t cap, double d)
{
    const char *word = NULL;
    int n;

    if (isnan(d)) word = "nan";
    if (isinf(d)) word = d > 0 ? "inf" : "-inf";
    if (word) {
        memcpy(dst, word, strlen(word));
        return strlen(word);
    }
    if (d > -9007199254740992.0 && d < 9007199254740992.0 &&
        d == (double)(long long)d && !(d == 0 && signbit(d)))
        return resp_ll2str(dst, (long long)d);
    n = snprintf(dst, cap, "%.17g", d);
    assert(n > 0 && (size_t)n < cap);
    return (size_t)n;
}

/* ",<d>\r\n" in RESP3; RESP2 has no double type, so the same text as bulk. */
void resp_w_double(buf_t *b, double d, int proto)
{
    char tmp[64];
    size_t n = format_double(tmp, sizeof(tmp), d);
    char *p;

    if (proto < 3) {
        resp_w_bulk(b, tmp, n);
        return;
    }
    room(b, n + 3);
    p = buf_wptr(b);
    p[0] = ',';
    memcpy(p + 1, tmp, n);
    put_crlf(p + 1 + n);
    b->wpos += n + 3;
}

void resp_w_bool(buf_t *b, int v, int proto)
{
    if (proto >= 3)
        buf_append(b, v ? "#t\r\n" : "#f\r\n", 4);
    else
        buf_append(b, v ? ":1\r\n" : ":0\r\n", 4);
}

void resp_w_null(buf_t *b, int proto)
{
    if (proto >= 3)
        buf_append(b, "_\r\n", 3);
    else
        buf_append(b, "$-1\r\n", 5);
}

void resp_w_null_array(buf_t *b, int proto)
{
    if (proto >= 3)
        buf_append(b, "_\r\n", 3);
    else
        buf_append(b, "*-1\r\n", 5);
}

/* ext is the 3-character format ("txt", "mkd"); NULL means "txt". */
void resp_w_verbatim(buf_t *b, const char *p, size_t n, const char *ext,
                     int proto)
{
    char *w;

    if (proto < 3) {
        resp_w_bulk(b, p, n);
        return;
    }
    if (!ext) ext = "txt";
    assert(strlen(ext) == 3);
    room(b, n + HDR_MAX + 4);
    w = put_header(buf_wptr(b), '=', (long long)n + 4);
    memcpy(w, ext, 3);
    w[3] = ':';
    if (n) memcpy(w + 4, p, n);
    put_crlf(w + 4 + n);
    b->wpos = (size_t)(w + 4 + n + 2 - b->data);
}

void resp_w_command(buf_t *b, int argc, const resp_arg_t *argv)
{
    resp_w_agg(b, '*', argc);
    for (int i = 0; i < argc; i++)
        resp_w_bulk(b, argv[i].ptr, argv[i].len);
}
