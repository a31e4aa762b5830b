/*
 * fuzz_bus.c: libFuzzer harness for the cluster bus decoder (bus_decode,
 * node/cluster/bus.c).
 *
 * Byte 0 of the input picks the mode:
 *   even: the rest is a raw stream of frames under the key
 *         SHA-256("fuzz"); frames are decoded one after the other as a
 *         link would, until one needs more bytes or closes the link;
 *   odd:  the rest is a protobuf body that the harness frames and signs
 *         correctly itself, so the fuzzer reaches the protobuf parser and
 *         the validation behind the HMAC.
 *
 * Checks: the decoder never reads past what it was given (ASan), consumes
 * either 0, -1 or a whole frame within the input, and every message it
 * accepts passed validation (40-hex sender, version 1, slot ranges inside
 * 0..16383) -- what gossip.c relies on.
 *
 * bus.c is compiled into this harness (instrumented); the links and
 * gossip it would call are stubbed below and never reached by decoding.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cluster/cluster_int.h"
#include "cluster_bus.pb-c.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- stubs for what bus.c links against ---- */
void gossip_process(clink_t *link, Tessera__Bus__Message *msg)
{
    (void)link;
    (void)msg;
}
void gossip_send_ping(cluster_t *cl, clink_t *link, int type)
{
    (void)cl;
    (void)link;
    (void)type;
}
void gossip_link_closed(clink_t *link) { (void)link; }
void gossip_drop(cluster_t *cl, const char *peer, const char *why)
{
    (void)cl;
    (void)peer;
    (void)why;
}
long long node_unix_ms(void) { return 0; }
void observer_process(clink_t *link, const Tessera__Bus__Message *msg)
{
    (void)link;
    (void)msg;
}

static void check_message(const Tessera__Bus__Message *m)
{
    const Tessera__Bus__Header *h = m->header;
    assert(h && h->version == BUS_VERSION);
    assert(strlen(h->sender) == CN_NAMELEN);
    for (size_t i = 0; i < h->n_slots; i++)
        assert(h->slots[i]->start <= h->slots[i]->end &&
               h->slots[i]->end < SLOT_COUNT);
    if (m->type == CLMSG_PING || m->type == CLMSG_PONG ||
        m->type == CLMSG_MEET) {
        assert(m->ping);
        for (size_t i = 0; i < m->ping->n_gossip; i++)
            assert(strlen(m->ping->gossip[i]->node_id) == CN_NAMELEN);
    }
}

static void decode_stream(const unsigned char key[64], const uint8_t *p,
                          size_t n)
{
    while (n > 0) {
        /* an exact copy, so any read past n trips ASan */
        uint8_t *copy = malloc(n);
        memcpy(copy, p, n);
        Tessera__Bus__Message *m;
        const char *why;
        long used = bus_decode(key, copy, n, &m, &why);
        free(copy);
        if (used <= 0) {
            assert(m == NULL);
            return;
        }
        assert((size_t)used <= n);
        if (m) {
            check_message(m);
            bus_free_message(m);
        }
        p += used;
        n -= (size_t)used;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static cluster_t cl;
    static int ready;
    if (!ready) {
        bus_derive_key(&cl, "fuzz");
        ready = 1;
    }
    if (size < 1) return 0;
    if ((data[0] & 1) == 0) {
        decode_stream(cl.secret, data + 1, size - 1);
        return 0;
    }
    size_t blen = size - 1;
    if (blen > 1 << 20) return 0;
    uint8_t *f = malloc(4 + blen + BUS_HMAC_LEN);
    f[0] = (uint8_t)(blen >> 24);
    f[1] = (uint8_t)(blen >> 16);
    f[2] = (uint8_t)(blen >> 8);
    f[3] = (uint8_t)blen;
    memcpy(f + 4, data + 1, blen);
    bus_hmac(cl.secret, f, 4 + blen, f + 4 + blen);
    decode_stream(cl.secret, f, 4 + blen + BUS_HMAC_LEN);
    free(f);
    return 0;
}
