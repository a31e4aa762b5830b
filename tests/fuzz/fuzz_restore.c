/*
 * fuzz_restore.c: libFuzzer harness for the RDB object reader
 * (node/persist/rdb_load.c) through RESTORE payloads and whole files.
 *
 * Byte 0 picks the mode: even, the rest is a DUMP payload body (type byte
 * + object); the harness appends the RDB version and a valid CRC64 so the
 * fuzzer explores the parser, not the checksum.  Odd, the rest is a whole
 * RDB file, loaded with rdbchecksum off.  Bit 1 lowers the encoding
 * thresholds (small listpacks convert to hashtables/skiplists while
 * loading).
 *
 * Properties: nothing crashes or reads out of bounds (ASan); a payload
 * that restores DUMPs again, and that DUMP restores too (round trip); a
 * failed file load leaves the keyspace empty.
 */
#include <assert.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "cmd.h"
#include "crc64.h"
#include "evict.h"
#include "keyspace.h"
#include "node.h"
#include "rdb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static node_t node;

static void init_once(void)
{
    if (node.ks) return;
    cmd_setup();
    node.ks = ks_create(1);
    node.rdbcompression = 1;
    node.maxmemory_policy = EVICT_NOEVICTION;
    node.list_max_listpack_size = -2;
}

typedef struct rd {
    const uint8_t *p;
    size_t left;
} rd_t;

static int mem_read(void *arg, void *buf, size_t len)
{
    rd_t *r = arg;
    if (len > r->left) return -1;
    memcpy(buf, r->p, len);
    r->p += len;
    r->left -= len;
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    init_once();
    uint8_t mode = data[0];
    data++;
    size--;
    int small = (mode & 2) != 0;
    node.hash_max_listpack_entries = small ? 2 : 128;
    node.hash_max_listpack_value = small ? 4 : 64;
    node.zset_max_listpack_entries = small ? 2 : 128;
    node.zset_max_listpack_value = small ? 4 : 64;
    node.set_max_intset_entries = small ? 2 : 512;

    if (mode & 1) {
        char err[256];
        rd_t r = {data, size};
        node.rdbchecksum = 0;
        if (rdb_load_from(&node, mem_read, &r, err, sizeof(err)) != 0)
            assert(ks_size(node.ks) == 0);
        ks_clear(node.ks);
        return 0;
    }

    unsigned char *p = malloc(size + 10);
    memcpy(p, data, size);
    p[size] = RDB_VERSION;
    p[size + 1] = 0;
    uint64_t crc = crc64(0, p, size + 2);
    for (int i = 0; i < 8; i++)
        p[size + 2 + i] = (unsigned char)(crc >> (8 * i));
    assert(rdb_verify_payload(p, size + 10));
    kentry_t *e;
    if (rdb_restore_payload(&node, "k", 1, p, size + 10, &e) == 0) {
        size_t dl;
        unsigned char *d = rdb_dump_payload(&node, e, &dl);
        assert(rdb_verify_payload(d, dl));
        assert(rdb_restore_payload(&node, "k2", 2, d, dl, &e) == 0);
        ts_free(d);
    }
    ks_clear(node.ks);
    free(p);
    return 0;
}
