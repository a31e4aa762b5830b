/*
 * rdb.c: writing RDB files and DUMP payloads; SAVE, BGSAVE, save points,
 * save on shutdown, -MISCONF, DUMP and RESTORE; INFO persistence.
 *
 * The writer emits exactly what Redis 7.0's rdbSaveRio does for the same
 * values: "REDIS0010", the aux fields redis-ver, redis-bits, ctime,
 * used-mem, aof-base, SELECTDB 0, RESIZEDB, then per key EXPIRETIME_MS,
 * IDLE (LRU policies) or FREQ (LFU policies), the type byte, the key and
 * the value, then EOF and the CRC64 of everything before it (8 zero bytes
 * with rdbchecksum no).  Strings use Redis's integer encodings and LZF
 * above 20 bytes (rdbcompression); listpacks and intsets are Tessera's
 * in-memory bytes, which are Redis's, written as strings.  Output is
 * buffered (64 KB) and checksummed as it is flushed.
 *
 * BGSAVE forks: the child writes temp-<pid>.rdb in `dir`, fsyncs, renames
 * it over dbfilename and fsyncs the directory; the parent only reaps it
 * (waitpid WNOHANG from the cron) and updates the status, so the snapshot
 * is the fork's point-in-time image.  While a child shares the memory the
 * keyspace starts no resize (ks_set_resize_allowed) to copy fewer pages.
 * The child reports its copy-on-write size and progress through
 * childinfo.c (every writer of keys passes scan_cb, which also applies
 * rdb-key-save-delay).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "aof.h"
#include "buf.h"
#include "childinfo.h"
#include "client.h"
#include "cmd.h"
#include "cpack.h"
#include "crc64.h"
#include "db.h"
#include "dict.h"
#include "evict.h"
#include "intset.h"
#include "keyspace.h"
#include "listpack.h"
#include "log.h"
#include "lzf.h"
#include "notify.h"
#include "propagate.h"
#include "quicklist.h"
#include "rdb.h"
#include "reply.h"
#include "resp.h"
#include "t_zset.h"

/* The encodings of the type files (t_list.c, t_hash.c, t_set.c). */
enum { L_LISTPACK = KE_OBJ, L_QUICKLIST = KE_OBJ + 1 };
enum { H_LISTPACK = KE_OBJ, H_HT = KE_OBJ + 1 };
enum { S_INTSET = KE_OBJ, S_HT = KE_OBJ + 1 };

#define WBUF_SIZE          (64 * 1024)
#define BGSAVE_RETRY_DELAY 5 /* seconds before a failed BGSAVE is retried */
#define LRU_CLOCK_MAX      ((1u << 24) - 1)
/* key ttl payload + REPLACE ABSTTL IDLETIME s FREQ f, with room to spare */
#define RESTORE_MAX_ARGS 16

const char rdb_err_misconf[] =
    "MISCONF Redis is configured to save RDB snapshots, but it's currently "
    "unable to persist to disk. Commands that may modify the data set are "
    "disabled, because this instance is configured to report errors during "
    "writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). "
    "Please check the Redis logs for details about the RDB error.";

/* ==== the writer ========================================================== */

typedef struct wr {
    node_t *n;
    rdb_write_fn w;
    void *arg;
    uint64_t crc;
    int err;
    int compress;
    long long now_ms;
    unsigned char *lzf; /* scratch for LZF output */
    size_t lzf_cap;
    lzf_state_t *lzf_state; /* the compressor's table, made on first use */
    int lzf_borrowed;       /* lzf_state is n->rdb's, not ours */
    size_t len;
    unsigned char buf[WBUF_SIZE];
} wr_t;

static void wr_flush(wr_t *o)
{
    if (!o->len || o->err) return;
    o->crc = crc64(o->crc, o->buf, o->len);
    if (o->w(o->arg, o->buf, o->len) != 0) o->err = 1;
    o->len = 0;
}

static void wr_bytes(wr_t *o, const void *p, size_t len)
{
    if (o->err) return;
    if (len > WBUF_SIZE / 2) { /* large: write through */
        wr_flush(o);
        if (o->err) return;
        o->crc = crc64(o->crc, p, len);
        if (o->w(o->arg, p, len) != 0) o->err = 1;
        return;
    }
    if (o->len + len > WBUF_SIZE) wr_flush(o);
    memcpy(o->buf + o->len, p, len);
    o->len += len;
}

static void wr_u8(wr_t *o, int v)
{
    unsigned char b = (unsigned char)v;
    wr_bytes(o, &b, 1);
}

/* rdbSaveLen */
static void wr_len(wr_t *o, uint64_t len)
{
    unsigned char b[9];
    size_t n;
    if (len < (1 << 6)) {
        b[0] = (unsigned char)len;
        n = 1;
    } else if (len < (1 << 14)) {
        b[0] = (unsigned char)(len >> 8 | RDB_14BITLEN << 6);
        b[1] = (unsigned char)len;
        n = 2;
    } else if (len <= UINT32_MAX) {
        b[0] = RDB_32BITLEN;
        for (int i = 0; i < 4; i++)
            b[1 + i] = (unsigned char)(len >> (24 - 8 * i));
        n = 5;
    } else {
        b[0] = RDB_64BITLEN;
        for (int i = 0; i < 8; i++)
            b[1 + i] = (unsigned char)(len >> (56 - 8 * i));
        n = 9;
    }
    wr_bytes(o, b, n);
}

/* rdbEncodeInteger: 0 if v does not fit 32 bits. */
static size_t enc_int(long long v, unsigned char *b)
{
    if (v >= -(1 << 7) && v <= (1 << 7) - 1) {
        b[0] = (RDB_ENCVAL << 6) | RDB_ENC_INT8;
        b[1] = (unsigned char)v;
        return 2;
    }
    if (v >= -(1 << 15) && v <= (1 << 15) - 1) {
        b[0] = (RDB_ENCVAL << 6) | RDB_ENC_INT16;
        b[1] = (unsigned char)v;
        b[2] = (unsigned char)(v >> 8);
        return 3;
    }
    if (v >= -(1LL << 31) && v <= (1LL << 31) - 1) {
        b[0] = (RDB_ENCVAL << 6) | RDB_ENC_INT32;
        for (int i = 0; i < 4; i++)
            b[1 + i] = (unsigned char)(v >> (8 * i));
        return 5;
    }
    return 0;
}

/* rdbSaveLongLongAsStringObject */
static void wr_ll(wr_t *o, long long v)
{
    unsigned char b[8];
    size_t n = enc_int(v, b);
    if (n) {
        wr_bytes(o, b, n);
        return;
    }
    char s[24];
    size_t l = resp_ll2str(s, v);
    wr_len(o, l);
    wr_bytes(o, s, l);
}

/* rdbSaveRawString: short canonical integers as integers, LZF above 20
 * bytes when it saves at least 4 bytes, else length + bytes. */
static void wr_string(wr_t *o, const void *p, size_t len)
{
    if (len <= 11) {
        long long v;
        unsigned char b[8];
        size_t n;
        if (len && resp_str2ll(p, len, &v) && (n = enc_int(v, b))) {
            wr_bytes(o, b, n);
            return;
        }
    }
    if (o->compress && len > 20) {
        size_t outlen = len - 4;
        if (o->lzf_cap < outlen) {
            ts_free(o->lzf);
            o->lzf_cap = outlen < 4096 ? 4096 : outlen;
            o->lzf = ts_malloc(o->lzf_cap);
        }
        if (!o->lzf_state) o->lzf_state = lzf_state_create();
        size_t clen = lzf_compress(o->lzf_state, p, len, o->lzf, outlen);
        if (clen) {
            wr_u8(o, (RDB_ENCVAL << 6) | RDB_ENC_LZF);
            wr_len(o, clen);
            wr_len(o, len);
            wr_bytes(o, o->lzf, clen);
            return;
        }
    }
    wr_len(o, len);
    wr_bytes(o, p, len);
}

static void wr_aux(wr_t *o, const char *k, const char *v)
{
    wr_u8(o, RDB_OPCODE_AUX);
    wr_string(o, k, strlen(k));
    wr_string(o, v, strlen(v));
}

static void wr_aux_ll(wr_t *o, const char *k, long long v)
{
    char s[24];
    s[resp_ll2str(s, v)] = '\0';
    wr_aux(o, k, s);
}

/* ==== objects ============================================================= */

static const unsigned char *blob_or_obj(const kentry_t *e, size_t *len)
{
    if (ke_is_blob(e)) return ke_blob(e, len);
    *len = 0;
    return ke_obj(e);
}

/* rdbSaveObjectType */
static int obj_rdb_type(const kentry_t *e)
{
    switch (ke_type(e)) {
    case KT_STRING: return RDB_TYPE_STRING;
    case KT_LIST: return RDB_TYPE_LIST_QUICKLIST_2;
    case KT_SET:
        return ke_enc(e) == S_INTSET ? RDB_TYPE_SET_INTSET : RDB_TYPE_SET;
    case KT_ZSET:
        return ke_enc(e) == T_ZSET_ENC_LISTPACK ? RDB_TYPE_ZSET_LISTPACK
                                                : RDB_TYPE_ZSET_2;
    case KT_HASH:
        return ke_enc(e) == H_LISTPACK ? RDB_TYPE_HASH_LISTPACK : RDB_TYPE_HASH;
    }
    return -1;
}

static void wr_listpack(wr_t *o, const kentry_t *e)
{
    size_t len;
    const unsigned char *lp = blob_or_obj(e, &len);
    if (!ke_is_blob(e)) len = lp_bytes(lp);
    wr_string(o, lp, len);
}

/* A compact pack (cpack.h: small hashes and sorted sets in their entry)
 * as the listpack Redis writes. */
static void wr_cpack(wr_t *o, const kentry_t *e)
{
    size_t len;
    const unsigned char *b = ke_blob(e, &len);
    size_t n = cp_lp_size(b, len);
    unsigned char *lp = ts_malloc(n);
    cp_to_lp(b, len, lp);
    wr_string(o, lp, n);
    ts_free(lp);
}

static void wr_list(wr_t *o, const kentry_t *e)
{
    if (ke_enc(e) == L_LISTPACK) {
        wr_len(o, 1);
        wr_len(o, RDB_QL_PACKED);
        wr_listpack(o, e);
        return;
    }
    const quicklist_t *ql = ke_obj(e);
    wr_len(o, ql->len);
    for (const ql_node_t *x = ql->head; x; x = x->next) {
        wr_len(o, RDB_QL_PACKED);
        wr_string(o, x->lp, lp_bytes(x->lp));
    }
}

static void wr_dict(wr_t *o, dict_t *d, int with_values)
{
    dict_iter_t it;
    dict_entry_t *de;
    wr_len(o, dict_size(d));
    dict_iter_init(d, &it);
    while ((de = dict_iter_next(&it))) {
        size_t l;
        const char *k = dict_key(de, &l);
        wr_string(o, k, l);
        if (with_values) {
            const char *v = dict_val(de, &l);
            wr_string(o, v, l);
        }
    }
    dict_iter_done(&it);
}

/* ZSET_2: members from the tail backwards with binary doubles, as Redis
 * (loading then inserts at the head of the skiplist each time). */
static void wr_zset_skiplist(wr_t *o, const kentry_t *e)
{
    const zskiplist_t *zsl = t_zset_skiplist(e);
    wr_len(o, zsl->length);
    for (const zsl_node_t *x = zsl->tail; x; x = x->backward) {
        size_t l;
        double s;
        const char *m = zsl->ele_fn(x->ele, &l, &s);
        wr_string(o, m, l);
        uint64_t u;
        unsigned char b[8];
        memcpy(&u, &s, 8);
        for (int i = 0; i < 8; i++)
            b[i] = (unsigned char)(u >> (8 * i));
        wr_bytes(o, b, 8);
    }
}

/* rdbSaveObject */
static void wr_object(wr_t *o, const kentry_t *e)
{
    switch (ke_type(e)) {
    case KT_STRING:
        if (ke_enc(e) == KE_INT) {
            wr_ll(o, ke_int(e));
        } else {
            size_t l;
            char scratch[24];
            const char *s = ke_str(e, &l, scratch);
            wr_string(o, s, l);
        }
        break;
    case KT_LIST: wr_list(o, e); break;
    case KT_SET:
        if (ke_enc(e) == S_INTSET) {
            size_t len;
            const unsigned char *p = blob_or_obj(e, &len);
            if (!ke_is_blob(e)) {
                len = intset_blob_len((const intset_t *)p);
                p = intset_blob((const intset_t *)p);
            }
            wr_string(o, p, len);
        } else {
            wr_dict(o, ke_obj(e), 0);
        }
        break;
    case KT_ZSET:
        if (ke_enc(e) == T_ZSET_ENC_LISTPACK)
            wr_cpack(o, e);
        else
            wr_zset_skiplist(o, e);
        break;
    case KT_HASH:
        if (ke_enc(e) == H_LISTPACK)
            wr_cpack(o, e);
        else
            wr_dict(o, ke_obj(e), 1);
        break;
    }
}

/* Idle seconds of e (estimateObjectIdleTime / 1000). */
static long long idle_secs(const kentry_t *e, long long now_ms)
{
    uint32_t now = (uint32_t)((now_ms / 1000) & LRU_CLOCK_MAX), lru = ke_lru(e);
    return now >= lru ? (long long)(now - lru)
                      : (long long)now + (LRU_CLOCK_MAX - lru);
}

/* rdbSaveKeyValuePair */
static void wr_kv(wr_t *o, const kentry_t *e)
{
    int type = obj_rdb_type(e);
    if (type < 0) { /* a type this writer does not know */
        log_msg(LL_WARNING, "RDB: no encoding for a value of type %d",
                ke_type(e));
        o->err = 1;
        errno = EINVAL;
        return;
    }
    long long exp = ke_expire(e);
    if (exp != -1) {
        unsigned char b[8];
        wr_u8(o, RDB_OPCODE_EXPIRETIME_MS);
        for (int i = 0; i < 8; i++)
            b[i] = (unsigned char)((unsigned long long)exp >> (8 * i));
        wr_bytes(o, b, 8);
    }
    if (evict_policy_lru(o->n)) {
        wr_u8(o, RDB_OPCODE_IDLE);
        wr_len(o, (uint64_t)idle_secs(e, o->now_ms));
    }
    if (evict_policy_lfu(o->n)) {
        wr_u8(o, RDB_OPCODE_FREQ);
        wr_u8(o, (int)evict_lfu_freq(o->n, e, o->now_ms));
    }
    wr_u8(o, type);
    size_t kl;
    const char *k = ke_key(e, &kl);
    wr_string(o, k, kl);
    wr_object(o, e);
}

static void scan_cb(void *arg, kentry_t *e)
{
    wr_t *o = arg;
    wr_kv(o, e);
    childinfo_key_saved(o->n); /* rdb-key-save-delay, progress reports */
}

static wr_t *wr_create(node_t *n, rdb_write_fn w, void *arg)
{
    wr_t *o = ts_malloc(sizeof(*o));
    memset(o, 0, offsetof(wr_t, buf));
    o->n = n;
    o->w = w;
    o->arg = arg;
    o->compress = n->rdbcompression;
    o->now_ms = node_unix_ms();
    return o;
}

static void wr_destroy(wr_t *o)
{
    if (!o->lzf_borrowed) lzf_state_destroy(o->lzf_state);
    ts_free(o->lzf);
    ts_free(o);
}

int rdb_save_to_flags(node_t *n, rdb_write_fn w, void *arg, int flags)
{
    wr_t *o = wr_create(n, w, arg);
    char magic[16];
    snprintf(magic, sizeof(magic), "REDIS%04d", RDB_VERSION);
    wr_bytes(o, magic, 9);
    wr_aux(o, "redis-ver", NODE_VERSION);
    wr_aux_ll(o, "redis-bits", (long long)sizeof(void *) * 8);
    wr_aux_ll(o, "ctime", (long long)time(NULL));
    wr_aux_ll(o, "used-mem", (long long)ts_used_memory());
    wr_aux_ll(o, "aof-base", (flags & RDB_SAVE_AOF_PREAMBLE) ? 1 : 0);
    if (ks_size(n->ks)) {
        wr_u8(o, RDB_OPCODE_SELECTDB);
        wr_len(o, 0);
        wr_u8(o, RDB_OPCODE_RESIZEDB);
        wr_len(o, ks_size(n->ks));
        wr_len(o, ks_expires_size(n->ks));
        uint64_t cursor = 0;
        do {
            cursor = ks_scan(n->ks, cursor, -1, scan_cb, o);
        } while (cursor && !o->err);
    }
    wr_u8(o, RDB_OPCODE_EOF);
    wr_flush(o);
    unsigned char c[8] = {0};
    if (n->rdbchecksum)
        for (int i = 0; i < 8; i++)
            c[i] = (unsigned char)(o->crc >> (8 * i));
    if (!o->err && w(arg, c, 8) != 0) o->err = 1;
    int rc = o->err ? -1 : 0;
    wr_destroy(o);
    return rc;
}

int rdb_save_to(node_t *n, rdb_write_fn w, void *arg)
{
    return rdb_save_to_flags(n, w, arg, 0);
}

static int file_write(void *arg, const void *buf, size_t len)
{
    return fwrite(buf, 1, len, arg) == len ? 0 : -1;
}

/* fsync the directory holding path, so the rename is durable. */
static void fsync_dir_of(const char *path)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    if (slash) {
        size_t l = (size_t)(slash - path);
        if (l >= sizeof(dir)) return;
        memcpy(dir, path, l);
        dir[l ? l : 1] = '\0';
        if (!l) dir[0] = '/';
    } else {
        strcpy(dir, ".");
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

int rdb_save_file(node_t *n, const char *path)
{
    char tmp[64], cwd[4096];
    snprintf(tmp, sizeof(tmp), "temp-%d.rdb", (int)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) {
        int e = errno;
        log_msg(LL_WARNING,
                "Failed opening the temp RDB file %s (in server root dir %s) "
                "for saving: %s",
                tmp, getcwd(cwd, sizeof(cwd)) ? cwd : "unknown", strerror(e));
        errno = e;
        return -1;
    }
    int rc = rdb_save_to(n, file_write, f);
    if (rc == 0 && (fflush(f) != 0 || fsync(fileno(f)) != 0)) rc = -1;
    int e = errno;
    if (fclose(f) != 0 && rc == 0) {
        rc = -1;
        e = errno;
    }
    if (rc != 0) {
        log_msg(LL_WARNING, "Write error saving DB on disk: %s", strerror(e));
        unlink(tmp);
        errno = e;
        return -1;
    }
    if (rename(tmp, path) != 0) {
        e = errno;
        log_msg(LL_WARNING,
                "Error moving temp DB file %s on the final destination %s "
                "(in server root dir %s): %s",
                tmp, path, getcwd(cwd, sizeof(cwd)) ? cwd : "unknown",
                strerror(e));
        unlink(tmp);
        errno = e;
        return -1;
    }
    fsync_dir_of(path);
    return 0;
}

/* ==== DUMP payloads ======================================================= */

typedef struct membuf {
    unsigned char *p;
    size_t len, cap;
} membuf_t;

static int mem_write(void *arg, const void *buf, size_t len)
{
    membuf_t *m = arg;
    if (m->len + len > m->cap) {
        size_t cap = m->cap ? m->cap : 256;
        while (cap < m->len + len)
            cap *= 2;
        m->p = ts_realloc(m->p, cap);
        m->cap = cap;
    }
    memcpy(m->p + m->len, buf, len);
    m->len += len;
    return 0;
}

unsigned char *rdb_dump_payload(node_t *n, const kentry_t *e, size_t *len)
{
    membuf_t m = {0};
    wr_t *o = wr_create(n, mem_write, &m);
    if (n->rdb) { /* DUMP runs often: one table for the node */
        if (!n->rdb->lzf) n->rdb->lzf = lzf_state_create();
        o->lzf_state = n->rdb->lzf;
        o->lzf_borrowed = 1;
    }
    wr_u8(o, obj_rdb_type(e));
    wr_object(o, e);
    unsigned char foot[10];
    foot[0] = RDB_VERSION & 0xff;
    foot[1] = (RDB_VERSION >> 8) & 0xff;
    wr_bytes(o, foot, 2);
    wr_flush(o);
    uint64_t crc = o->crc;
    for (int i = 0; i < 8; i++)
        foot[2 + i] = (unsigned char)(crc >> (8 * i));
    mem_write(&m, foot + 2, 8);
    wr_destroy(o);
    *len = m.len;
    return m.p;
}

static int count_write(void *arg, const void *buf, size_t len)
{
    (void)buf;
    *(size_t *)arg += len;
    return 0;
}

size_t rdb_serialized_len(node_t *n, const kentry_t *e)
{
    size_t len = 0;
    wr_t *o = wr_create(n, count_write, &len);
    if (n->rdb) {
        if (!n->rdb->lzf) n->rdb->lzf = lzf_state_create();
        o->lzf_state = n->rdb->lzf;
        o->lzf_borrowed = 1;
    }
    wr_object(o, e);
    wr_flush(o);
    wr_destroy(o);
    return len;
}

/* ==== SAVE, BGSAVE, save points ============================================
 */

static rdb_state_t *st(node_t *n)
{
    return n->rdb;
}

/* rdbSave: a synchronous save; updates dirty, lastsave and the status. */
static int save_now(node_t *n)
{
    const char *file = n->dbfilename ? n->dbfilename : "dump.rdb";
    if (rdb_save_file(n, file) != 0) return -1;
    log_msg(LL_NOTICE, "DB saved on disk");
    n->dirty = 0;
    n->lastsave = time(NULL);
    if (st(n)) {
        st(n)->last_bgsave_ok = 1;
        st(n)->saves++;
    }
    return 0;
}

/* Another fork child (an AOF rewrite) is running: one child at a time. */
static int other_child(const node_t *n)
{
    return aof_rewrite_in_progress(n);
}

int rdb_bgsave_in_progress(const node_t *n)
{
    return n->rdb && n->rdb->child_pid > 0;
}

static int bgsave_start(node_t *n)
{
    rdb_state_t *s = st(n);
    if (s->child_pid > 0 || other_child(n)) return -1;
    s->dirty_at_fork = n->dirty;
    s->last_bgsave_try = time(NULL);
    fflush(NULL);
    pid_t pid = childinfo_fork(n, CI_RDB);
    if (pid == 0) {
        /* the child: write, exit without running the parent's atexit */
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        log_set_role('C');
        int rc = rdb_save_file(n, n->dbfilename ? n->dbfilename : "dump.rdb");
        if (rc == 0) log_msg(LL_NOTICE, "DB saved on disk");
        if (rc == 0) childinfo_send_final(n);
        _exit(rc == 0 ? 0 : 1);
    }
    if (pid < 0) {
        s->last_bgsave_ok = 0;
        log_msg(LL_WARNING, "Can't save in background: fork: %s",
                strerror(errno));
        return -1;
    }
    log_msg(LL_NOTICE, "Background saving started by pid %ld", (long)pid);
    s->child_pid = pid;
    s->child_start_ms = node_unix_ms();
    ks_set_resize_allowed(n->ks, 0);
    return 0;
}

static void bgsave_done(node_t *n, int status)
{
    rdb_state_t *s = st(n);
    char tmp[64];
    s->last_bgsave_time_sec = (node_unix_ms() - s->child_start_ms) / 1000;
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        log_msg(LL_NOTICE, "Background saving terminated with success");
        n->dirty -= s->dirty_at_fork;
        n->lastsave = time(NULL);
        s->last_bgsave_ok = 1;
        s->saves++;
    } else if (WIFEXITED(status)) {
        log_msg(LL_WARNING, "Background saving error");
        s->last_bgsave_ok = 0;
    } else {
        int sig = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
        log_msg(LL_WARNING, "Background saving terminated by signal %d", sig);
        snprintf(tmp, sizeof(tmp), "temp-%d.rdb", (int)s->child_pid);
        unlink(tmp);
        if (sig != SIGUSR1) s->last_bgsave_ok = 0;
    }
    childinfo_child_done(n, s->child_pid);
    s->child_pid = -1;
    ks_set_resize_allowed(n->ks, 1);
}

static void kill_child(node_t *n)
{
    rdb_state_t *s = st(n);
    if (!s || s->child_pid <= 0) return;
    char tmp[64];
    kill(s->child_pid, SIGUSR1);
    int status;
    waitpid(s->child_pid, &status, 0);
    snprintf(tmp, sizeof(tmp), "temp-%d.rdb", (int)s->child_pid);
    unlink(tmp);
    childinfo_child_done(n, s->child_pid);
    s->child_pid = -1;
    ks_set_resize_allowed(n->ks, 1);
}

void rdb_cron(node_t *n, long long now_ms)
{
    rdb_state_t *s = st(n);
    if (!s) return;
    long long now = now_ms / 1000;
    childinfo_receive(n); /* whichever child runs: the reports of INFO */
    if (s->child_pid > 0) {
        int status;
        pid_t p = waitpid(s->child_pid, &status, WNOHANG);
        if (p == s->child_pid)
            bgsave_done(n, status);
        else if (p < 0 && errno == ECHILD)
            bgsave_done(n, 1 << 8);
        if (s->child_pid > 0) return;
    }
    if (other_child(n)) return;
    int retry_ok =
        now - s->last_bgsave_try > BGSAVE_RETRY_DELAY || s->last_bgsave_ok;
    if (s->bgsave_scheduled && retry_ok) {
        if (bgsave_start(n) == 0) s->bgsave_scheduled = 0;
        return;
    }
    for (int i = 0; i < n->nsave_points; i++) {
        const struct save_point *sp = &n->save_points[i];
        if (n->dirty >= sp->changes && now - n->lastsave > sp->seconds &&
            retry_ok) {
            log_msg(LL_NOTICE, "%lld changes in %lld seconds. Saving...",
                    sp->changes, sp->seconds);
            bgsave_start(n);
            break;
        }
    }
}

int rdb_shutdown_save(node_t *n, int save, int nosave)
{
    if (st(n) && st(n)->child_pid > 0) {
        log_msg(LL_WARNING, "There is a child saving an .rdb. Killing it!");
        kill_child(n);
    }
    if (!(save || (n->nsave_points > 0 && !nosave))) return 0;
    log_msg(LL_NOTICE, "Saving the final RDB snapshot before exiting.");
    if (save_now(n) != 0) {
        log_msg(LL_WARNING, "Error trying to save the DB, can't exit.");
        return -1;
    }
    return 0;
}

void rdb_flushall(node_t *n)
{
    if (!n->rdb) return;
    kill_child(n);
    if (n->nsave_points > 0) save_now(n);
}

int rdb_writes_refused(const node_t *n)
{
    return n->stop_writes_on_bgsave_err && n->nsave_points > 0 && n->rdb &&
           !n->rdb->last_bgsave_ok;
}

int rdb_setup(node_t *n)
{
    if (childinfo_setup(n) != 0) return -1;
    rdb_state_t *s = ts_calloc(1, sizeof(*s));
    s->child_pid = -1;
    s->last_bgsave_ok = 1;
    s->last_bgsave_time_sec = -1;
    n->rdb = s;
    if (n->appendonly) return 0; /* the AOF is loaded instead */
    const char *file = n->dbfilename ? n->dbfilename : "dump.rdb";
    char err[512];
    long long t0 = node_mono_us();
    int rc = rdb_load_file(n, file, err, sizeof(err));
    if (rc == 1) return 0;
    if (rc != 0) {
        log_msg(LL_WARNING, "%s", err);
        log_msg(LL_WARNING, "Fatal error loading the DB: %s. Exiting.", file);
        return -1;
    }
    log_msg(LL_NOTICE,
            "Done loading RDB, keys loaded: %lld, keys expired: "
            "%lld.",
            s->load_keys_loaded, s->load_keys_expired);
    log_msg(LL_NOTICE, "DB loaded from disk: %.3f seconds",
            (double)(node_mono_us() - t0) / 1e6);
    return 0;
}

int rdb_debug_reload(node_t *n, int save)
{
    const char *file = n->dbfilename ? n->dbfilename : "dump.rdb";
    if (save && save_now(n) != 0) return -1;
    ks_clear(n->ks);
    char err[512];
    if (rdb_load_file(n, file, err, sizeof(err)) != 0) {
        log_msg(LL_WARNING, "%s", err);
        return -2;
    }
    log_msg(LL_WARNING, "DB reloaded by DEBUG RELOAD");
    return 0;
}

void rdb_teardown(node_t *n)
{
    if (!n->rdb) return;
    kill_child(n);
    lzf_state_destroy(n->rdb->lzf);
    ts_free(n->rdb);
    n->rdb = NULL;
    childinfo_teardown(n);
}

void rdb_info(node_t *n, buf_t *o)
{
    rdb_state_t *s = st(n);
    int child = s && s->child_pid > 0;
    long long now_ms = node_unix_ms();
    buf_printf(o,
               "loading:%d\r\n"
               "async_loading:0\r\n",
               s ? s->loading : 0);
    childinfo_info_current(n, o);
    buf_printf(o,
               "rdb_changes_since_last_save:%lld\r\n"
               "rdb_bgsave_in_progress:%d\r\n"
               "rdb_last_save_time:%lld\r\n"
               "rdb_last_bgsave_status:%s\r\n"
               "rdb_last_bgsave_time_sec:%lld\r\n"
               "rdb_current_bgsave_time_sec:%lld\r\n"
               "rdb_saves:%lld\r\n"
               "rdb_last_cow_size:%zu\r\n"
               "rdb_last_load_keys_expired:%lld\r\n"
               "rdb_last_load_keys_loaded:%lld\r\n",
               n->dirty, child, n->lastsave,
               !s || s->last_bgsave_ok ? "ok" : "err",
               s ? s->last_bgsave_time_sec : -1,
               child ? (now_ms - s->child_start_ms) / 1000 : -1,
               s ? s->saves : 0, childinfo_last_cow(n, CI_RDB),
               s ? s->load_keys_expired : 0,
               s ? s->load_keys_loaded : 0);
}

/* ==== commands ============================================================ */

/* SAVE */
static void cmd_save(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    node_t *n = ctx->node;
    if (st(n)->child_pid > 0) {
        reply_error(r, "ERR Background save already in progress");
        return;
    }
    if (save_now(n) == 0)
        reply_ok(r);
    else
        reply_error(r, "ERR");
}

/* BGSAVE [SCHEDULE] */
static void cmd_bgsave(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    int schedule = 0;
    if (req->argc > 1) {
        if (req->argc == 2 && arg_eq(&req->argv[1], "schedule")) {
            schedule = 1;
        } else {
            reply_err_syntax(r);
            return;
        }
    }
    int in_exec = (ctx->client->flags & CLF_DENY_BLOCKING) != 0;
    if (st(n)->child_pid > 0) {
        reply_error(r, "ERR Background save already in progress");
    } else if (other_child(n) || in_exec) {
        if (schedule || in_exec) {
            st(n)->bgsave_scheduled = 1;
            reply_simple(r, "Background saving scheduled");
        } else {
            reply_error(r, "ERR Another child process is active (AOF?): "
                           "can't BGSAVE right now. Use BGSAVE SCHEDULE in "
                           "order to schedule a BGSAVE whenever possible.");
        }
    } else if (bgsave_start(n) == 0) {
        reply_simple(r, "Background saving started");
    } else {
        reply_error(r, "ERR");
    }
}

/* DUMP key */
static void cmd_dump(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    kentry_t *e = db_lookup_read(ctx, &req->argv[1]);
    if (!e) {
        reply_null(r);
        return;
    }
    size_t len;
    unsigned char *p = rdb_dump_payload(ctx->node, e, &len);
    reply_bulk(r, (const char *)p, len);
    ts_free(p);
}

/* RESTORE key ttl serialized-value [REPLACE] [ABSTTL] [IDLETIME seconds]
 * [FREQ frequency] */
static void cmd_restore(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    node_t *n = ctx->node;
    const resp_arg_t *key = &req->argv[1], *pay = &req->argv[3];
    int replace = 0, absttl = 0;
    long long idle = -1, freq = -1, ttl;
    for (int j = 4; j < req->argc; j++) {
        const resp_arg_t *a = &req->argv[j];
        int more = req->argc - j - 1;
        if (arg_eq(a, "replace")) {
            replace = 1;
        } else if (arg_eq(a, "absttl")) {
            absttl = 1;
        } else if (arg_eq(a, "idletime") && more >= 1 && freq == -1) {
            if (arg_ll(&req->argv[j + 1], &idle, r)) return;
            if (idle < 0) {
                reply_error(r, "ERR Invalid IDLETIME value, must be >= 0");
                return;
            }
            j++;
        } else if (arg_eq(a, "freq") && more >= 1 && idle == -1) {
            if (arg_ll(&req->argv[j + 1], &freq, r)) return;
            if (freq < 0 || freq > 255) {
                reply_error(r, "ERR Invalid FREQ value, must be >= 0 and "
                               "<= 255");
                return;
            }
            j++;
        } else {
            reply_err_syntax(r);
            return;
        }
    }
    if (!replace && db_lookup_write(ctx, key)) {
        reply_error(r, "BUSYKEY Target key name already exists.");
        return;
    }
    if (arg_ll(&req->argv[2], &ttl, r)) return;
    if (ttl < 0) {
        reply_error(r, "ERR Invalid TTL value, must be >= 0");
        return;
    }
    const unsigned char *p = (const unsigned char *)pay->ptr;
    if (!rdb_verify_payload(p, pay->len)) {
        reply_error(r, "ERR DUMP payload version or checksum are wrong");
        return;
    }
    if (ttl && !absttl) ttl += ctx->now_ms;
    if (ttl && ttl <= ctx->now_ms) {
        /* Already expired: check the payload, then only the delete of
         * REPLACE happens. */
        if (rdb_restore_payload(n, NULL, 0, p, pay->len, NULL) != 0) {
            reply_error(r, "ERR Bad data format");
            return;
        }
        if (replace && db_delete(ctx, key)) {
            db_modified(ctx, key);
            notify_key(n, NOTIFY_GENERIC, "del", key);
            resp_arg_t argv[2] = {{"DEL", 3}, *key};
            propagate_rewrite(ctx, 2, argv); /* as Redis: DEL key */
        }
        reply_ok(r);
        return;
    }
    /* Decoded straight into the key: a bad payload changes nothing, a
     * good one replaces any old value (and its TTL). */
    kentry_t *e;
    if (rdb_restore_payload(n, key->ptr, key->len, p, pay->len, &e) != 0) {
        reply_error(r, "ERR Bad data format");
        return;
    }
    if (ttl) e = ks_set_expire(ctx->ks, e, ttl);
    rdb_set_lru_lfu(n, e, idle, (int)freq);
    db_modified(ctx, key);
    /* Redis deletes any old key first: "new" even with REPLACE */
    notify_key(n, NOTIFY_NEW, "new", key);
    notify_key(n, NOTIFY_GENERIC, "restore", key);
    if (ttl && !absttl) {
        /* replicas and the AOF get the absolute time, as Redis:
         * RESTORE key <unix ms> payload [options] ABSTTL */
        resp_arg_t stack[RESTORE_MAX_ARGS + 1], *argv = stack;
        int argc = req->argc;
        char num[24];
        if (argc > RESTORE_MAX_ARGS)
            argv = ts_malloc(sizeof(resp_arg_t) * ((size_t)argc + 1));
        memcpy(argv, req->argv, sizeof(resp_arg_t) * (size_t)argc);
        argv[2].ptr = num;
        argv[2].len = resp_ll2str(num, ttl);
        argv[argc++] = propagate_arg("ABSTTL");
        propagate_rewrite(ctx, argc, argv);
        if (argv != stack) ts_free(argv);
    }
    reply_ok(r);
}

const cmd_bind_t rdb_cmds[] = {
    {CMD_SAVE, cmd_save},
    {CMD_BGSAVE, cmd_bgsave},
    {CMD_DUMP, cmd_dump},
    {CMD_RESTORE, cmd_restore},
    {CMD_RESTORE_ASKING, cmd_restore}, /* the cluster check differs */
    {0, NULL},
};
