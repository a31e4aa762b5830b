/*
 * fuzz_resp_request.c: libFuzzer harness for resp_parse_request.
 *
 * Input layout: byte 0 picks the limits (bit 0 unauthenticated, bit 1
 * max_inline 32, bit 2 max_bulk_len 64, bit 3 max_multibulk 16), byte 1
 * picks how the stream is cut (seed and largest chunk); the rest is a
 * stream of commands.
 *
 * The stream is parsed twice: one shot (each command sees every remaining
 * byte) and incrementally (bytes arrive in pseudo-random chunks and each
 * call gets a fresh, exactly sized copy, so the buffer moves between calls
 * and any read past `len` trips ASan).  Both runs must produce the same
 * commands and end the same way.  The one legitimate difference is
 * Redis's: a "too big ..." error depends on how many bytes are waiting
 * when no line end has arrived yet, so the incremental run may report it
 * where the one-shot run found the line end further on.
 *
 * On every command: the limits hold, argv lies inside the consumed bytes,
 * and the argv arrays never grow far beyond the arguments seen.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct run {
    buf_t cmds;       /* each command re-encoded with resp_w_command */
    ts_status_t last; /* how the run ended */
    char err[128];
    size_t waiting; /* bytes available when it ended */
    int max_argc;
} run_t;

static void limits_from(uint8_t b, resp_limits_t *lim)
{
    resp_limits_default(lim);
    lim->unauthenticated = b & 1;
    if (b & 2) lim->max_inline = 32;
    if (b & 4) lim->max_bulk_len = 64;
    if (b & 8) lim->max_multibulk = 16;
}

static void check_command(const resp_req_t *r, const char *buf, size_t consumed,
                          size_t len, const resp_limits_t *lim)
{
    assert(consumed > 0 && consumed <= len);
    assert(r->argc >= 0);
    for (int i = 0; i < r->argc; i++) {
        assert(r->argv[i].ptr >= buf);
        assert(r->argv[i].ptr + r->argv[i].len <= buf + consumed);
        if (r->inline_cmd) continue; /* Redis limits only multibulk */
        assert((long long)r->argv[i].len <= lim->max_bulk_len);
        assert(!lim->unauthenticated || r->argv[i].len <= 16384);
    }
    if (!r->inline_cmd) {
        assert(r->argc <= lim->max_multibulk);
        assert(!lim->unauthenticated || r->argc <= 10);
    }
}

/*
 * The argv arrays follow the arguments that arrived (or 1024 up front).
 * An inline line rejected for its quotes has grown them by its tokens.
 */
static void check_arrays(const resp_req_t *r, run_t *run, ts_status_t st,
                         size_t avail)
{
    long long cap = r->argv_cap;

    if (st != TS_PROTO && r->argc > run->max_argc) run->max_argc = r->argc;
    if (st == TS_PROTO && cap <= 2 * (long long)avail) return;
    assert(cap <= 1024 || cap <= 2 * (run->max_argc + 1LL));
}

static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

/*
 * Parse the stream; chunk == 0 means one shot.  Each call works on a
 * fresh copy of exactly the bytes available.
 */
static void parse_stream(const char *in, size_t n, const resp_limits_t *lim,
                         uint8_t cut, int one_shot, run_t *run)
{
    uint32_t seed = 0x9e3779b9u ^ ((uint32_t)cut * 2654435761u);
    size_t maxchunk = (size_t)1 << (cut & 7), start = 0, avail = 0;
    resp_req_t r;

    resp_req_init(&r);
    buf_init(&run->cmds);
    run->last = TS_AGAIN;
    run->max_argc = 0;
    run->err[0] = '\0';
    while (start < n) {
        size_t rest = n - start, consumed = 0;
        const char *err = NULL;
        if (one_shot)
            avail = rest;
        else
            avail += 1 + next_rand(&seed) % maxchunk;
        if (avail > rest) avail = rest;
        char *copy = malloc(avail ? avail : 1);
        memcpy(copy, in + start, avail);
        ts_status_t st =
            resp_parse_request(&r, copy, avail, lim, &consumed, &err);
        check_arrays(&r, run, st, avail);
        run->last = st;
        run->waiting = avail;
        if (st == TS_OK) {
            check_command(&r, copy, consumed, avail, lim);
            resp_w_command(&run->cmds, r.argc, r.argv);
            start += consumed;
            avail -= consumed;
        } else if (st == TS_PROTO) {
            strncpy(run->err, err, sizeof(run->err) - 1);
            run->err[sizeof(run->err) - 1] = '\0';
        }
        free(copy);
        if (st == TS_PROTO || (st == TS_AGAIN && avail == rest)) break;
        assert(st == TS_OK || st == TS_AGAIN);
    }
    resp_req_deinit(&r);
}

static int same_bytes(const buf_t *a, const buf_t *b, size_t n)
{
    return n == 0 || memcmp(a->data + a->rpos, b->data + b->rpos, n) == 0;
}

static int too_big(const char *err)
{
    return strstr(err, "too big") != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    resp_limits_t lim;
    run_t whole, pieces;

    if (size < 2) return 0;
    limits_from(data[0], &lim);
    parse_stream((const char *)data + 2, size - 2, &lim, data[1], 1, &whole);
    parse_stream((const char *)data + 2, size - 2, &lim, data[1], 0, &pieces);
    if (pieces.last == TS_PROTO && too_big(pieces.err)) {
        /* maybe cut early: what it got must be what the one-shot got */
        assert(buf_len(&pieces.cmds) <= buf_len(&whole.cmds));
        assert(same_bytes(&pieces.cmds, &whole.cmds, buf_len(&pieces.cmds)));
        assert(pieces.waiting > lim.max_inline);
    } else {
        assert(pieces.last == whole.last);
        assert(strcmp(pieces.err, whole.err) == 0);
        assert(buf_len(&pieces.cmds) == buf_len(&whole.cmds));
        assert(same_bytes(&pieces.cmds, &whole.cmds, buf_len(&whole.cmds)));
    }
    buf_deinit(&whole.cmds);
    buf_deinit(&pieces.cmds);
    return 0;
}
