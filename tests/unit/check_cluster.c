/*
 * check_cluster.c: the cluster bus codec (node/cluster/bus.c) and the slot
 * bookkeeping (node/cluster/cluster.c).
 *
 * Frames are packed by the node's own encoder and fed back to the
 * decoder: round trips, every split point (the decoder must ask for more
 * bytes, never misparse a prefix), wrong keys, flipped bits anywhere,
 * truncated bodies, over-long lengths and malformed headers.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cluster/cluster_int.h"
#include "cluster_bus.pb-c.h"

static const char *ID_A = "0123456789abcdef0123456789abcdef01234567";
static const char *ID_B = "fedcba9876543210fedcba9876543210fedcba98";

static cluster_t *mk_cluster(const char *secret)
{
    cluster_t *cl = ts_calloc(1, sizeof(*cl));
    bus_derive_key(cl, secret);
    return cl;
}

static void free_cluster(cluster_t *cl)
{
    ts_free(cl->pack);
    for (int i = 0; i < cl->nnodes; i++) {
        ts_free(cl->nodes[i]->replicas);
        ts_free(cl->nodes[i]->reports);
        ts_free(cl->nodes[i]);
    }
    ts_free(cl->nodes);
    ts_free(cl);
}

/* A PING from ID_A with two slot ranges and one gossip entry about ID_B;
 * returns the frame (in cl's buffer). */
static const uint8_t *ping_frame(cluster_t *cl, const char *sender,
                                 size_t *len)
{
    Tessera__Bus__SlotRange r1 = TESSERA__BUS__SLOT_RANGE__INIT;
    Tessera__Bus__SlotRange r2 = TESSERA__BUS__SLOT_RANGE__INIT;
    r1.start = 0;
    r1.end = 5460;
    r2.start = 16383;
    r2.end = 16383;
    Tessera__Bus__SlotRange *rs[] = {&r1, &r2};
    Tessera__Bus__Header h = TESSERA__BUS__HEADER__INIT;
    h.version = BUS_VERSION;
    h.sender = (char *)sender;
    h.current_epoch = 7;
    h.config_epoch = 3;
    h.flags = CN_MASTER;
    h.n_slots = 2;
    h.slots = rs;
    h.port = 7000;
    h.bus_port = 17000;
    h.hostname = (char *)"node-a";
    Tessera__Bus__Gossip g = TESSERA__BUS__GOSSIP__INIT;
    g.node_id = (char *)ID_B;
    g.ip = (char *)"10.0.0.2";
    g.port = 7001;
    g.bus_port = 17001;
    g.flags = CN_MASTER | CN_PFAIL;
    Tessera__Bus__Gossip *gs[] = {&g};
    Tessera__Bus__Ping p = TESSERA__BUS__PING__INIT;
    p.n_gossip = 1;
    p.gossip = gs;
    Tessera__Bus__Message m = TESSERA__BUS__MESSAGE__INIT;
    m.header = &h;
    m.type = TESSERA__BUS__TYPE__PING;
    m.body_case = TESSERA__BUS__MESSAGE__BODY_PING;
    m.ping = &p;
    return bus_pack(cl, &m, len);
}

START_TEST(test_round_trip)
{
    cluster_t *cl = mk_cluster("s3cret");
    size_t len;
    const uint8_t *f = ping_frame(cl, ID_A, &len);
    ck_assert_uint_eq(((size_t)f[0] << 24 | (size_t)f[1] << 16 |
                       (size_t)f[2] << 8 | f[3]) + 4 + BUS_HMAC_LEN, len);
    Tessera__Bus__Message *m;
    const char *why;
    ck_assert_int_eq(bus_decode(cl->secret, f, len, &m, &why), (long)len);
    ck_assert_ptr_nonnull(m);
    ck_assert_str_eq(m->header->sender, ID_A);
    ck_assert_uint_eq(m->header->current_epoch, 7);
    ck_assert_uint_eq(m->header->config_epoch, 3);
    ck_assert_uint_eq(m->header->n_slots, 2);
    ck_assert_uint_eq(m->header->slots[0]->end, 5460);
    ck_assert_uint_eq(m->header->slots[1]->start, 16383);
    ck_assert_str_eq(m->header->hostname, "node-a");
    ck_assert_int_eq(m->type, CLMSG_PING);
    ck_assert_uint_eq(m->ping->n_gossip, 1);
    ck_assert_str_eq(m->ping->gossip[0]->node_id, ID_B);
    ck_assert_uint_eq(m->ping->gossip[0]->flags, CN_MASTER | CN_PFAIL);
    bus_free_message(m);
    free_cluster(cl);
}
END_TEST

START_TEST(test_every_split_needs_more)
{
    cluster_t *cl = mk_cluster("k");
    size_t len;
    const uint8_t *f = ping_frame(cl, ID_A, &len);
    uint8_t *copy = malloc(len);
    memcpy(copy, f, len);
    for (size_t cut = 0; cut < len; cut++) {
        Tessera__Bus__Message *m;
        const char *why;
        ck_assert_int_eq(bus_decode(cl->secret, copy, cut, &m, &why), 0);
        ck_assert_ptr_null(m);
    }
    free(copy);
    free_cluster(cl);
}
END_TEST

START_TEST(test_wrong_key_dropped)
{
    cluster_t *a = mk_cluster("one"), *b = mk_cluster("two");
    size_t len;
    const uint8_t *f = ping_frame(a, ID_A, &len);
    Tessera__Bus__Message *m;
    const char *why;
    ck_assert_int_eq(bus_decode(b->secret, f, len, &m, &why), (long)len);
    ck_assert_ptr_null(m);
    ck_assert_str_eq(why, "auth");
    free_cluster(a);
    free_cluster(b);
}
END_TEST

/* Any single flipped bit: dropped (HMAC, or the length changes and then
 * either more bytes are needed or the frame is too long), never parsed. */
START_TEST(test_flipped_bits_never_accepted)
{
    cluster_t *cl = mk_cluster("k");
    size_t len;
    const uint8_t *f = ping_frame(cl, ID_A, &len);
    uint8_t *copy = malloc(len);
    for (size_t i = 0; i < len * 8; i++) {
        memcpy(copy, f, len);
        copy[i / 8] ^= (uint8_t)(1u << (i % 8));
        Tessera__Bus__Message *m;
        const char *why;
        bus_decode(cl->secret, copy, len, &m, &why);
        ck_assert_ptr_null(m);
    }
    free(copy);
    free_cluster(cl);
}
END_TEST

START_TEST(test_huge_length_closes)
{
    cluster_t *cl = mk_cluster("k");
    uint8_t hdr[8] = {0xff, 0xff, 0xff, 0xf0, 1, 2, 3, 4};
    Tessera__Bus__Message *m;
    const char *why;
    ck_assert_int_eq(bus_decode(cl->secret, hdr, sizeof(hdr), &m, &why), -1);
    ck_assert_ptr_null(m);
    uint32_t just = BUS_MAX_FRAME + 1;
    uint8_t h2[4] = {(uint8_t)(just >> 24), (uint8_t)(just >> 16),
                     (uint8_t)(just >> 8), (uint8_t)just};
    ck_assert_int_eq(bus_decode(cl->secret, h2, 4, &m, &why), -1);
    free_cluster(cl);
}
END_TEST

/* Sign arbitrary bytes as a frame body. */
static size_t sign(cluster_t *cl, const uint8_t *body, size_t blen,
                   uint8_t *out)
{
    out[0] = (uint8_t)(blen >> 24);
    out[1] = (uint8_t)(blen >> 16);
    out[2] = (uint8_t)(blen >> 8);
    out[3] = (uint8_t)blen;
    memcpy(out + 4, body, blen);
    bus_hmac(cl->secret, out, 4 + blen, out + 4 + blen);
    return 4 + blen + BUS_HMAC_LEN;
}

START_TEST(test_signed_garbage_and_truncation_dropped)
{
    cluster_t *cl = mk_cluster("k");
    size_t len;
    const uint8_t *f = ping_frame(cl, ID_A, &len);
    size_t blen = len - 4 - BUS_HMAC_LEN;
    uint8_t *body = malloc(blen), *out = malloc(len + 64);
    memcpy(body, f + 4, blen);
    int parsed_short = 0;
    for (size_t cut = 0; cut < blen; cut++) {
        size_t n = sign(cl, body, cut, out);
        Tessera__Bus__Message *m;
        const char *why;
        ck_assert_int_eq(bus_decode(cl->secret, out, n, &m, &why), (long)n);
        /* a prefix may happen to be valid protobuf; it must then still
         * pass validation (sender id, version) or be dropped */
        if (m) {
            parsed_short++;
            ck_assert_str_eq(m->header->sender, ID_A);
            bus_free_message(m);
        }
    }
    ck_assert_int_le(parsed_short, 3);
    uint8_t junk[40];
    memset(junk, 0xff, sizeof(junk));
    size_t n = sign(cl, junk, sizeof(junk), out);
    Tessera__Bus__Message *m;
    const char *why;
    ck_assert_int_eq(bus_decode(cl->secret, out, n, &m, &why), (long)n);
    ck_assert_ptr_null(m);
    free(body);
    free(out);
    free_cluster(cl);
}
END_TEST

START_TEST(test_bad_sender_dropped)
{
    cluster_t *cl = mk_cluster("k");
    size_t len;
    const char *bad[] = {"", "short", "0123456789ABCDEF0123456789abcdef01234567",
                         "0123456789abcdef0123456789abcdef012345678"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const uint8_t *f = ping_frame(cl, bad[i], &len);
        Tessera__Bus__Message *m;
        const char *why;
        ck_assert_int_eq(bus_decode(cl->secret, f, len, &m, &why), (long)len);
        ck_assert_ptr_null(m);
        ck_assert_str_eq(why, "bad sender id");
    }
    free_cluster(cl);
}
END_TEST

/* A header-only frame of type `type` with `flags` (OBSERVE and friends). */
static const uint8_t *bare_frame(cluster_t *cl, int type, unsigned flags,
                                 size_t *len)
{
    Tessera__Bus__Header h = TESSERA__BUS__HEADER__INIT;
    h.version = BUS_VERSION;
    h.revision = BUS_REVISION;
    h.sender = (char *)ID_A;
    h.flags = flags;
    Tessera__Bus__Message m = TESSERA__BUS__MESSAGE__INIT;
    m.header = &h;
    m.type = (Tessera__Bus__Type)type;
    return bus_pack(cl, &m, len);
}

/* Only OBSERVE carries the observer flag, and it must; nodes never take
 * a TOPOLOGY (docs/cluster-bus.md, "Observers"). */
START_TEST(test_observer_flag_rules)
{
    cluster_t *cl = mk_cluster("k");
    struct {
        int type;
        unsigned flags;
        const char *why;        /* NULL: accepted */
    } cases[] = {
        {CLMSG_OBSERVE, CN_OBSERVER, NULL},
        {CLMSG_OBSERVE, 0, "observer flag"},
        {CLMSG_MFSTART, CN_OBSERVER | CN_MASTER, "observer flag"},
        {CLMSG_AUTH_REQUEST, CN_OBSERVER, "observer flag"},
        {CLMSG_MFSTART, CN_MASTER, NULL},
        {CLMSG_TOPOLOGY, CN_MASTER, "unknown type"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        size_t len;
        const uint8_t *f = bare_frame(cl, cases[i].type, cases[i].flags,
                                      &len);
        Tessera__Bus__Message *m;
        const char *why;
        ck_assert_int_eq(bus_decode(cl->secret, f, len, &m, &why), (long)len);
        if (cases[i].why) {
            ck_assert_ptr_null(m);
            ck_assert_str_eq(why, cases[i].why);
        } else {
            ck_assert_ptr_nonnull(m);
            ck_assert_uint_eq(m->header->revision, BUS_REVISION);
            bus_free_message(m);
        }
    }
    free_cluster(cl);
}
END_TEST

START_TEST(test_slot_bookkeeping)
{
    cluster_t *cl = mk_cluster("k");
    cnode_t *a = cl_node_create(cl, ID_A, CN_MASTER);
    cnode_t *b = cl_node_create(cl, ID_B, CN_MASTER);
    ck_assert_ptr_eq(cl_lookup(cl, ID_B, 40), b);
    ck_assert_ptr_null(cl_lookup(cl, ID_B, 39));
    for (int s = 0; s < SLOT_COUNT; s++)
        ck_assert_int_eq(cl_add_slot(cl, s % 3 ? a : b, s), 0);
    ck_assert_int_eq(cl_add_slot(cl, a, 0), -1);   /* busy */
    ck_assert_int_eq(a->numslots + b->numslots, SLOT_COUNT);
    ck_assert_int_eq(b->numslots, (SLOT_COUNT + 2) / 3);
    ck_assert(cl_slot_owned(b, 3) && !cl_slot_owned(a, 3));
    cl_del_node_slots(cl, b);
    ck_assert_int_eq(b->numslots, 0);
    ck_assert_ptr_null(cl->slots[3]);
    ck_assert_ptr_eq(cl->slots[4], a);
    ck_assert_int_eq(cl_del_slot(cl, 3), -1);
    cl_set_master(cl, b, a);
    ck_assert_int_eq(a->nreplicas, 1);
    cl_set_master(cl, b, NULL);
    ck_assert_int_eq(a->nreplicas, 0);
    free_cluster(cl);
}
END_TEST

static Suite *cluster_suite(void)
{
    Suite *s = suite_create("cluster");
    TCase *tc = tcase_create("bus");
    tcase_add_test(tc, test_round_trip);
    tcase_add_test(tc, test_every_split_needs_more);
    tcase_add_test(tc, test_wrong_key_dropped);
    tcase_add_test(tc, test_flipped_bits_never_accepted);
    tcase_add_test(tc, test_huge_length_closes);
    tcase_add_test(tc, test_signed_garbage_and_truncation_dropped);
    tcase_add_test(tc, test_bad_sender_dropped);
    tcase_add_test(tc, test_observer_flag_rules);
    suite_add_tcase(s, tc);
    tc = tcase_create("state");
    tcase_add_test(tc, test_slot_bookkeeping);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(cluster_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
