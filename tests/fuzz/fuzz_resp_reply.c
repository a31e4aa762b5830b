/*
 * fuzz_resp_reply.c: libFuzzer harness for resp_scan_reply and
 * resp_parse_value.
 *
 * Input layout: byte 0 picks how the bytes are cut (seed and largest
 * chunk); the rest is one reply (and whatever follows it).
 *
 * Three readings must agree on status, consumed length and error text:
 * the scanner one shot, the scanner fed in pseudo-random chunks (state
 * kept, a fresh exactly sized copy each call, so reads past `len` trip
 * ASan), and resp_parse_value.  A parsed tree must point only inside the
 * consumed bytes, and writing it back with the resp_w_* writers and
 * parsing that again must give the same tree.
 */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "resp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct outcome {
    ts_status_t st;
    size_t consumed;
    char err[128];
} outcome_t;

static void set_err(outcome_t *o, const char *err)
{
    if (o->st != TS_PROTO) return;
    strncpy(o->err, err, sizeof(o->err) - 1);
    o->err[sizeof(o->err) - 1] = '\0';
}

static uint32_t next_rand(uint32_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 17;
    *s ^= *s << 5;
    return *s;
}

static outcome_t scan_pieces(const char *in, size_t n, uint8_t cut)
{
    uint32_t seed = 0x85ebca6bu ^ ((uint32_t)cut * 2654435761u);
    size_t maxchunk = (size_t)1 << (cut & 7), avail = 0;
    outcome_t o = {TS_AGAIN, 0, ""};
    resp_scan_t s;

    resp_scan_init(&s);
    for (;;) {
        const char *err = NULL;
        avail += 1 + next_rand(&seed) % maxchunk;
        if (avail > n) avail = n;
        char *copy = malloc(avail ? avail : 1);
        memcpy(copy, in, avail);
        o.st = resp_scan_reply(&s, copy, avail, &o.consumed, &err);
        set_err(&o, err);
        free(copy);
        assert(s.pos <= avail && s.depth >= 0 && s.depth <= RESP_MAX_DEPTH);
        if (o.st != TS_AGAIN || avail == n) break;
    }
    return o;
}

/* Strings of the tree lie inside the reply; no attribute survives. */
static void check_tree(const resp_value_t *v, const char *buf, size_t n)
{
    assert(v->type != RESP_ATTR);
    if (v->str) assert(v->str >= buf && v->str + v->len <= buf + n);
    if (v->type == RESP_MAP) assert(v->nelem % 2 == 0);
    for (size_t i = 0; i < v->nelem; i++)
        check_tree(&v->elem[i], buf, n);
}

static void w_raw(buf_t *b, char t, const char *s, size_t n, int counted)
{
    if (counted) {
        resp_w_agg(b, t, (long long)n); /* "<t><n>\r\n" */
    } else {
        buf_putc(b, t);
    }
    buf_append(b, s, n);
    buf_append(b, "\r\n", 2);
}

/* The tree back to RESP3 with the writers. */
static void write_tree(buf_t *b, const resp_value_t *v)
{
    switch (v->type) {
    case RESP_SIMPLE: resp_w_simple(b, v->str, v->len); break;
    case RESP_ERROR: w_raw(b, '-', v->str, v->len, 0); break;
    case RESP_BIGNUM: w_raw(b, '(', v->str, v->len, 0); break;
    case RESP_BLOBERR: w_raw(b, '!', v->str, v->len, 1); break;
    case RESP_INT: resp_w_int(b, v->integer); break;
    case RESP_BULK: resp_w_bulk(b, v->str, v->len); break;
    case RESP_NULL: resp_w_null(b, 3); break;
    case RESP_DOUBLE: resp_w_double(b, v->dbl, 3); break;
    case RESP_BOOL: resp_w_bool(b, (int)v->integer, 3); break;
    case RESP_VERBATIM: {
        char ext[4];
        memcpy(ext, v->str - 4, 3);
        ext[3] = '\0';
        if (strlen(ext) == 3) {
            resp_w_verbatim(b, v->str, v->len, ext, 3);
        } else { /* a NUL in the format: write it raw */
            resp_w_agg(b, '=', (long long)v->len + 4);
            buf_append(b, v->str - 4, v->len + 4);
            buf_append(b, "\r\n", 2);
        }
        break;
    }
    default:
        resp_w_agg(b, (char)v->type,
                   (long long)(v->type == RESP_MAP ? v->nelem / 2 : v->nelem));
        for (size_t i = 0; i < v->nelem; i++)
            write_tree(b, &v->elem[i]);
    }
}

static void same_tree(const resp_value_t *a, const resp_value_t *b)
{
    assert(a->type == b->type);
    assert(a->nelem == b->nelem);
    if (a->type == RESP_INT || a->type == RESP_BOOL)
        assert(a->integer == b->integer);
    if (a->type == RESP_DOUBLE)
        assert(a->dbl == b->dbl || (isnan(a->dbl) && isnan(b->dbl)));
    if (a->type != RESP_DOUBLE && a->type != RESP_INT) {
        assert(a->len == b->len);
        if (a->len) assert(memcmp(a->str, b->str, a->len) == 0);
    }
    for (size_t i = 0; i < a->nelem; i++)
        same_tree(&a->elem[i], &b->elem[i]);
}

static void round_trip(const resp_value_t *v)
{
    resp_value_t *again = NULL;
    size_t consumed = 0;
    const char *err = NULL;
    buf_t b;

    buf_init(&b);
    write_tree(&b, v);
    ts_status_t st =
        resp_parse_value(buf_rptr(&b), buf_len(&b), &again, &consumed, &err);
    assert(st == TS_OK && consumed == buf_len(&b));
    same_tree(v, again);
    resp_value_free(again);
    buf_deinit(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    outcome_t whole = {TS_AGAIN, 0, ""}, pieces, tree = {TS_AGAIN, 0, ""};
    resp_value_t *v = NULL;
    const char *err = NULL;
    resp_scan_t s;
    size_t n;
    char *in;

    if (size < 1) return 0;
    n = size - 1;
    in = malloc(n ? n : 1);
    memcpy(in, data + 1, n);

    resp_scan_init(&s);
    whole.st = resp_scan_reply(&s, in, n, &whole.consumed, &err);
    set_err(&whole, err);
    pieces = scan_pieces(in, n, data[0]);
    tree.st = resp_parse_value(in, n, &v, &tree.consumed, &err);
    set_err(&tree, err);

    assert(pieces.st == whole.st && tree.st == whole.st);
    assert(strcmp(pieces.err, whole.err) == 0);
    assert(strcmp(tree.err, whole.err) == 0);
    assert((v != NULL) == (whole.st == TS_OK));
    if (whole.st == TS_OK) {
        assert(whole.consumed > 0 && whole.consumed <= n);
        assert(pieces.consumed == whole.consumed);
        assert(tree.consumed == whole.consumed);
        check_tree(v, in, whole.consumed);
        round_trip(v);
    }
    resp_value_free(v);
    free(in);
    return 0;
}
