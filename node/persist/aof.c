/*
 * aof.c: the append only file (see aof.h): the write path with its fsync
 * policies, the background fsync thread, the manifest, BGREWRITEAOF, the
 * MISCONF check and INFO.  Loading and the manifest format are in
 * aof_load.c.
 *
 * The write path, per event-loop round:
 *
 *   commands -> propagate unit -> sink: a->buf
 *   server_run / client write -> aof_flush: write(a->buf) once, then
 *       always:   fdatasync here, then the replies go out (group commit)
 *       everysec: fdatasync queued to the bio thread, at most once a second
 *       no:       nothing
 *
 * everysec follows Redis's flushAppendOnlyFile: while the thread is still
 * in an fsync the write is postponed, for at most two seconds, after which
 * it is done anyway and counted in aof_delayed_fsync ("fsync is taking too
 * long").  Closing an old incr file also goes through the thread, after
 * its last fsync, so the loop never blocks on close(2) either.
 *
 * Errors: a failed write keeps the buffer (a partial write is truncated
 * away, or if that fails, counted as written) and refuses writes with
 * -MISCONF until a retry from the cron succeeds; a failed fsync does the
 * same.  With appendfsync always the replies of the round are held until
 * the data is on disk.
 */
#include "aof.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "aof_int.h"
#include "childinfo.h"
#include "client.h"
#include "log.h"
#include "propagate.h"
#include "rdb.h"
#include "reply.h"

enum { AOF_OFF = 0, AOF_ON, AOF_WAIT_REWRITE };

#define AOF_AUTOSYNC_BYTES (4 * 1024 * 1024) /* rewrite child fsync step */
#define AOF_POSTPONE_MAX_MS 2000
#define BIO_MAX_JOBS 64

/* ---- the background thread: fsync and close of AOF fds ---- */

enum { BIO_FSYNC = 0, BIO_CLOSE };

typedef struct bio {
    pthread_t th;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    struct { int op, fd; } jobs[BIO_MAX_JOBS];
    int head, count;            /* ring; a job leaves it once done */
    int stop;
    int running;                /* bio_main has started (bio_start waits) */
    long pending_fsync;         /* INFO aof_pending_bio_fsync */
    int fsync_errno;            /* last fsync result, 0 = ok */
} bio_t;

struct aof {
    node_t *n;
    int state;                  /* AOF_OFF / AOF_ON / AOF_WAIT_REWRITE */
    int fd;                     /* current incr file, -1 none */
    char *incr_name;            /* its name (also in the manifest unless
                                   WAIT_REWRITE) */
    int need_select;            /* "SELECT 0" before the next command */
    buf_t buf;                  /* propagated, not yet written */
    aof_manifest_t m;
    long long cur_size;         /* aof_current_size */
    long long base_size;        /* aof_base_size: size after the last rewrite */
    long long incr_size;        /* bytes in the current incr file */
    /* write/fsync status */
    int write_err;              /* errno of the failing write, 0 = ok */
    int sync_err;               /* errno of the failing fsync (always) */
    int unsynced;               /* written, fsync not done/queued */
    long long appended;         /* bytes ever put in buf */
    long long durable;          /* of those, written and (always) fsynced */
    long long last_fsync_ms;
    long long postponed_ms;     /* everysec write waiting for the thread */
    long long delayed_fsync;
    long long last_err_log_ms;
    /* rewrite */
    pid_t child;
    long long rw_start_ms;
    int rw_scheduled;
    long long rw_last_time_sec;
    int rw_last_ok;
    long long rewrites, rw_consec_fail;
    int rw_from_off;            /* started with the AOF off: no incr switch */
    long long rw_last_try_ms;   /* automatic/scheduled retries back off */
    bio_t bio;
};

/* ==== bio thread ======================================================= */

static void *bio_main(void *arg)
{
    bio_t *b = arg;
    pthread_mutex_lock(&b->mu);
    b->running = 1;
    pthread_cond_broadcast(&b->cv);
    for (;;) {
        while (!b->count && !b->stop) pthread_cond_wait(&b->cv, &b->mu);
        if (!b->count) break;
        int op = b->jobs[b->head].op, fd = b->jobs[b->head].fd;
        pthread_mutex_unlock(&b->mu);
        int err = 0;
        if (op == BIO_FSYNC) {
            if (fdatasync(fd) != 0 && errno != EBADF && errno != EINVAL)
                err = errno;
        } else {
            close(fd);
        }
        pthread_mutex_lock(&b->mu);
        b->head = (b->head + 1) % BIO_MAX_JOBS;
        b->count--;
        if (op == BIO_FSYNC) {
            b->pending_fsync--;
            b->fsync_errno = err;
        }
    }
    pthread_mutex_unlock(&b->mu);
    return NULL;
}

static void bio_start(bio_t *b)
{
    pthread_mutex_init(&b->mu, NULL);
    pthread_cond_init(&b->cv, NULL);
    b->started = pthread_create(&b->th, NULL, bio_main, b) == 0;
    /* Wait until the thread runs: a fork (the AOF rewrite that usually
     * follows) while the new thread is still being set up can copy an
     * allocator lock held by it into the child, which then deadlocks on
     * its first free (seen with ASan's allocator). */
    pthread_mutex_lock(&b->mu);
    while (b->started && !b->running) pthread_cond_wait(&b->cv, &b->mu);
    pthread_mutex_unlock(&b->mu);
}

/* Queue a job; if the ring is full (the disk is stuck), do it here. */
static void bio_submit(bio_t *b, int op, int fd)
{
    pthread_mutex_lock(&b->mu);
    if (!b->started || b->count == BIO_MAX_JOBS) {
        pthread_mutex_unlock(&b->mu);
        if (op == BIO_FSYNC) {
            int err = fdatasync(fd) != 0 ? errno : 0;
            pthread_mutex_lock(&b->mu);
            b->fsync_errno = err;
            pthread_mutex_unlock(&b->mu);
        } else {
            close(fd);
        }
        return;
    }
    int slot = (b->head + b->count) % BIO_MAX_JOBS;
    b->jobs[slot].op = op;
    b->jobs[slot].fd = fd;
    b->count++;
    if (op == BIO_FSYNC) b->pending_fsync++;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static long bio_pending_fsync(bio_t *b)
{
    pthread_mutex_lock(&b->mu);
    long v = b->pending_fsync;
    pthread_mutex_unlock(&b->mu);
    return v;
}

static int bio_fsync_errno(bio_t *b)
{
    pthread_mutex_lock(&b->mu);
    int v = b->fsync_errno;
    pthread_mutex_unlock(&b->mu);
    return v;
}

static void bio_stop(bio_t *b)
{
    if (!b->started) return;
    pthread_mutex_lock(&b->mu);
    b->stop = 1;
    pthread_cond_signal(&b->cv);
    pthread_mutex_unlock(&b->mu);
    pthread_join(b->th, NULL);
    b->started = 0;
}

/* ==== files and the manifest =========================================== */

static int write_all(int fd, const char *p, size_t len, size_t *done)
{
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, p + off, len - off);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            if (w == 0) errno = ENOSPC;
            if (done) *done = off;
            return -1;
        }
        off += (size_t)w;
    }
    if (done) *done = off;
    return 0;
}

static void fsync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

static int make_dir(node_t *n)
{
    if (mkdir(n->appenddirname, 0755) == 0 || errno == EEXIST) return 0;
    log_msg(LL_WARNING, "Can't open or create append-only dir %s: %s",
            n->appenddirname, strerror(errno));
    return -1;
}

/* Write the manifest: temp file, fsync, rename, fsync the directory. */
static int persist_manifest(node_t *n, const aof_manifest_t *m)
{
    buf_t text;
    buf_init(&text);
    aof_manifest_format(m, &text);
    char name[512], tmpname[512];
    snprintf(name, sizeof(name), "%s.manifest", n->appendfilename);
    snprintf(tmpname, sizeof(tmpname), "temp-%s.manifest", n->appendfilename);
    char *path = aof_path(n, name), *tmp = aof_path(n, tmpname);
    int ret = -1;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        log_msg(LL_WARNING, "Can't open the AOF manifest file %s: %s",
                tmpname, strerror(errno));
        goto out;
    }
    if (write_all(fd, buf_rptr(&text), buf_len(&text), NULL) != 0 ||
        fsync(fd) != 0) {
        log_msg(LL_WARNING, "Error trying to write the temporary AOF "
                "manifest file %s: %s", tmpname, strerror(errno));
        close(fd);
        unlink(tmp);
        goto out;
    }
    close(fd);
    if (rename(tmp, path) != 0) {
        log_msg(LL_WARNING, "Error trying to rename the temporary AOF "
                "manifest file %s into %s: %s", tmpname, name,
                strerror(errno));
        unlink(tmp);
        goto out;
    }
    fsync_dir(n->appenddirname);
    ret = 0;
out:
    ts_free(path);
    ts_free(tmp);
    buf_deinit(&text);
    return ret;
}

static int read_manifest(node_t *n, aof_manifest_t *m)
{
    char name[512];
    snprintf(name, sizeof(name), "%s.manifest", n->appendfilename);
    char *path = aof_path(n, name);
    FILE *f = fopen(path, "r");
    ts_free(path);
    memset(m, 0, sizeof(*m));
    if (!f) {
        if (errno == ENOENT) return 1;
        log_msg(LL_WARNING, "Fatal error: can't open the AOF manifest %s "
                "for reading: %s", name, strerror(errno));
        return -1;
    }
    buf_t text;
    buf_init(&text);
    char chunk[4096];
    size_t got;
    while ((got = fread(chunk, 1, sizeof(chunk), f)) > 0)
        buf_append(&text, chunk, got);
    int bad = ferror(f);
    fclose(f);
    char err[128];
    int ret = 0;
    if (bad) {
        log_msg(LL_WARNING, "Error reading the AOF manifest %s", name);
        ret = -1;
    } else if (aof_manifest_parse(buf_rptr(&text), buf_len(&text), m, err,
                                  sizeof(err)) != 0) {
        log_msg(LL_WARNING, "%s (manifest %s)", err, name);
        ret = -1;
    }
    buf_deinit(&text);
    return ret;
}

static char *file_name(node_t *n, long long seq, const char *kind)
{
    char buf[512];
    snprintf(buf, sizeof(buf), "%s.%lld.%s", n->appendfilename, seq, kind);
    return ts_strdup(buf);
}

static long long file_size(node_t *n, const char *name)
{
    char *path = aof_path(n, name);
    struct stat st;
    long long sz = stat(path, &st) == 0 ? (long long)st.st_size : 0;
    ts_free(path);
    return sz;
}

/* aofDelHistoryFiles: delete the history files, forget them, write the
 * manifest without them. */
static void delete_history(struct aof *a)
{
    if (!a->m.nhist) return;
    for (int i = 0; i < a->m.nhist; i++) {
        char *path = aof_path(a->n, a->m.hist[i].name);
        log_msg(LL_NOTICE, "Removing the history file %s in the background",
                a->m.hist[i].name);
        unlink(path);
        ts_free(path);
        ts_free(a->m.hist[i].name);
    }
    a->m.nhist = 0;
    persist_manifest(a->n, &a->m);
}

/* Move every incr file but the last `keep` ones to history. */
static void incr_to_history(aof_manifest_t *m, int keep)
{
    int move = m->nincr - keep;
    for (int i = 0; i < move; i++) {
        aof_manifest_add(&m->hist, &m->nhist, &m->caphist, m->incr[i].name,
                         m->incr[i].seq);
        ts_free(m->incr[i].name);
    }
    if (move > 0) {
        memmove(m->incr, m->incr + move, sizeof(aof_file_t) * (size_t)keep);
        m->nincr = keep;
    }
}

typedef struct base_writer {
    int fd;
    int incremental;        /* aof-rewrite-incremental-fsync */
    size_t since_sync;
} base_writer_t;

static int base_write(void *arg, const void *buf, size_t len)
{
    base_writer_t *w = arg;
    if (write_all(w->fd, buf, len, NULL) != 0) return -1;
    w->since_sync += len;
    if (w->incremental && w->since_sync >= AOF_AUTOSYNC_BYTES) {
        /* keep the final fsync short: the dirty pages go out as we write */
        if (fdatasync(w->fd) != 0) return -1;
        w->since_sync = 0;
    }
    return 0;
}

/* Write an RDB image of the dataset to path and fsync it: the base file
 * of a rewrite (in the child) or of a start-up with no AOF yet. */
static int write_base(node_t *n, const char *path, int incremental_fsync)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return -1;
    base_writer_t w = {fd, incremental_fsync, 0};
    int rc = rdb_save_to_flags(n, base_write, &w, RDB_SAVE_AOF_PREAMBLE);
    if (rc == 0 && fsync(fd) != 0) rc = -1;
    int e = errno;
    close(fd);
    errno = e;
    return rc;
}

/* Close the current incr file (after its data is written; the fsync and
 * the close go to the thread). */
static void close_incr(struct aof *a)
{
    if (a->fd < 0) return;
    if (a->n->appendfsync != AOF_FSYNC_NO)
        bio_submit(&a->bio, BIO_FSYNC, a->fd);
    bio_submit(&a->bio, BIO_CLOSE, a->fd);
    a->fd = -1;
}

/* Open incr file `name` for appending; 0 or -1 (logged). */
static int open_incr(struct aof *a, const char *name)
{
    char *path = aof_path(a->n, name);
    int fd = open(path, O_WRONLY | O_APPEND | O_CREAT, 0644);
    ts_free(path);
    if (fd < 0) {
        log_msg(LL_WARNING, "Can't open the append-only file %s: %s", name,
                strerror(errno));
        return -1;
    }
    close_incr(a);
    a->fd = fd;
    ts_free(a->incr_name);
    a->incr_name = ts_strdup(name);
    a->incr_size = file_size(a->n, name);
    a->need_select = 1;     /* Redis's aof_selected_db = -1 */
    a->unsynced = 0;
    return 0;
}

/* ==== the sink and the write path ===================================== */

static void aof_sink(void *arg, const char *resp, size_t len)
{
    struct aof *a = arg;
    if (a->need_select) {
        static const char sel[] = "*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";
        buf_append(&a->buf, sel, sizeof(sel) - 1);
        a->appended += (long long)sizeof(sel) - 1;
        a->need_select = 0;
    }
    buf_append(&a->buf, resp, len);
    a->appended += (long long)len;
}

static void log_write_error(struct aof *a, const char *what, int err)
{
    long long now = node_unix_ms();
    if (now - a->last_err_log_ms < 30000) return;   /* Redis: every 30 s */
    a->last_err_log_ms = now;
    log_msg(LL_WARNING, "Error %s the AOF file: %s", what, strerror(err));
}

static int child_running(const node_t *n)
{
    return (n->aof && n->aof->child > 0) || rdb_bgsave_in_progress(n);
}

/* Write the buffer; 0 if it is all written. */
static int write_buffer(struct aof *a)
{
    size_t len = buf_len(&a->buf), done = 0;
    if (!len) return 0;
    if (write_all(a->fd, buf_rptr(&a->buf), len, &done) != 0) {
        int err = errno;
        if (done > 0) {
            /* remove the partial command, or keep it counted if we can't */
            if (ftruncate(a->fd, a->incr_size) != 0) {
                buf_consume(&a->buf, done);
                a->incr_size += (long long)done;
                a->cur_size += (long long)done;
            }
        }
        if (!a->write_err) log_write_error(a, "writing to", err);
        a->write_err = err;
        return -1;
    }
    buf_consume(&a->buf, len);
    a->incr_size += (long long)len;
    a->cur_size += (long long)len;
    a->unsynced = 1;
    if (a->write_err) {
        log_msg(LL_WARNING, "AOF write error looks solved, Redis can write "
                "again.");
        a->write_err = 0;
    }
    if (a->buf.cap > 4 * 1024 * 1024) buf_shrink(&a->buf, 0);
    return 0;
}

static void do_fsync(struct aof *a, long long now)
{
    node_t *n = a->n;
    if (!a->unsynced || n->appendfsync == AOF_FSYNC_NO) return;
    if (n->no_appendfsync_on_rewrite && child_running(n)) {
        /* asked for: replies do not wait for the skipped fsync */
        a->durable = a->appended - (long long)buf_len(&a->buf);
        return;
    }
    if (n->appendfsync == AOF_FSYNC_ALWAYS) {
        if (fdatasync(a->fd) != 0) {
            int err = errno;
            if (!a->sync_err) log_write_error(a, "fsyncing", err);
            a->sync_err = err;
            return;
        }
        if (a->sync_err)
            log_msg(LL_WARNING, "AOF fsync error looks solved, Redis can "
                    "write again.");
        a->sync_err = 0;
        a->unsynced = 0;
        a->last_fsync_ms = now;
        a->durable = a->appended - (long long)buf_len(&a->buf);
    } else if (now - a->last_fsync_ms >= 1000 &&
               bio_pending_fsync(&a->bio) == 0) {
        bio_submit(&a->bio, BIO_FSYNC, a->fd);
        a->unsynced = 0;
        a->last_fsync_ms = now;
    }
}

/* flushAppendOnlyFile.  force: write even if an everysec fsync is slow. */
static void flush_aof(struct aof *a, int force)
{
    node_t *n = a->n;
    if (a->fd < 0) return;
    long long now = node_unix_ms();
    if (buf_len(&a->buf)) {
        if (n->appendfsync == AOF_FSYNC_EVERYSEC && !force &&
            bio_pending_fsync(&a->bio)) {
            if (!a->postponed_ms) {
                a->postponed_ms = now;
                return;
            }
            if (now - a->postponed_ms < AOF_POSTPONE_MAX_MS) return;
            a->delayed_fsync++;
            log_msg(LL_NOTICE, "Asynchronous AOF fsync is taking too long "
                    "(disk is busy?). Writing the AOF buffer without waiting "
                    "for fsync to complete, this may slow down Redis.");
        }
        a->postponed_ms = 0;
        if (write_buffer(a) != 0) return;
    }
    do_fsync(a, now);
}

void aof_flush(node_t *n)
{
    struct aof *a = n->aof;
    if (!a || a->fd < 0) return;
    if (!buf_len(&a->buf) && !(a->unsynced &&
                                n->appendfsync == AOF_FSYNC_ALWAYS))
        return;
    flush_aof(a, 0);
}

long long aof_appended(const node_t *n)
{
    return n->aof ? n->aof->appended : 0;
}

int aof_hold_replies(const node_t *n, long long need)
{
    const struct aof *a = n->aof;
    return a && a->fd >= 0 && n->appendfsync == AOF_FSYNC_ALWAYS &&
           need > a->durable;
}

/* ==== rewrite ========================================================== */

static char *temp_rewrite_name(pid_t pid)
{
    char buf[64];
    snprintf(buf, sizeof(buf), "temp-rewriteaof-bg-%d.aof", (int)pid);
    return ts_strdup(buf);
}

/* Start BGREWRITEAOF: switch to a new incr file (unless the AOF is off),
 * fork the child that writes the new base.  0 or -1 (logged). */
static int rewrite_start(struct aof *a)
{
    node_t *n = a->n;
    if (make_dir(n) != 0) return -1;
    a->rw_from_off = a->state == AOF_OFF;
    if (a->state != AOF_OFF) {
        flush_aof(a, 1);
        /* an unlisted incr file of an earlier WAIT_REWRITE attempt: its
         * data is in the snapshot about to be taken */
        if (a->state == AOF_WAIT_REWRITE && a->incr_name)
            aof_manifest_add(&a->m.hist, &a->m.nhist, &a->m.caphist,
                             a->incr_name, a->m.curr_incr_seq);
        long long seq = a->m.curr_incr_seq + 1;
        char *name = file_name(n, seq, "incr.aof");
        if (open_incr(a, name) != 0) {
            ts_free(name);
            return -1;
        }
        a->m.curr_incr_seq = seq;
        if (a->state == AOF_ON) {
            aof_manifest_add(&a->m.incr, &a->m.nincr, &a->m.capincr, name,
                             seq);
            if (persist_manifest(n, &a->m) != 0) {
                ts_free(name);
                return -1;
            }
        }
        ts_free(name);
    }
    pid_t pid = childinfo_fork(n, CI_AOF);
    if (pid < 0) {
        log_msg(LL_WARNING, "Can't rewrite append only file in background: "
                "fork: %s", strerror(errno));
        return -1;
    }
    if (pid == 0) {
        char *tmp = temp_rewrite_name(getpid());
        int rc = write_base(n, tmp, n->aof_rewrite_incremental_fsync);
        if (rc == 0) childinfo_send_final(n);
        _exit(rc == 0 ? 0 : 1);
    }
    log_msg(LL_NOTICE, "Background append only file rewriting started by "
            "pid %d", (int)pid);
    a->child = pid;
    a->rw_start_ms = node_unix_ms();
    a->rw_scheduled = 0;
    return 0;
}

/* The child exited: install the new base (or count the failure). */
static void rewrite_done(struct aof *a, int ok)
{
    node_t *n = a->n;
    char *tmp = temp_rewrite_name(a->child);
    childinfo_child_done(n, a->child);
    a->child = -1;
    a->rw_last_time_sec = (node_unix_ms() - a->rw_start_ms) / 1000;
    a->rw_start_ms = 0;
    char *base = NULL, *base_path = NULL;
    if (!ok) {
        log_msg(LL_WARNING, "Background AOF rewrite terminated with error");
        goto fail;
    }
    log_msg(LL_NOTICE, "Background AOF rewrite terminated with success");
    long long seq = a->m.curr_base_seq + 1;
    base = file_name(n, seq, "base.rdb");
    base_path = aof_path(n, base);
    if (rename(tmp, base_path) != 0) {
        log_msg(LL_WARNING, "Error trying to rename the temporary AOF base "
                "file %s into %s: %s", tmp, base, strerror(errno));
        goto fail;
    }
    log_msg(LL_NOTICE, "Successfully renamed the temporary AOF base file %s "
            "into %s", tmp, base);
    /* the new manifest: new base; the old base and the incr files written
     * before the fork become history */
    aof_manifest_t *m = &a->m;
    if (m->base.name)
        aof_manifest_add(&m->hist, &m->nhist, &m->caphist, m->base.name,
                         m->base.seq);
    ts_free(m->base.name);
    m->base.name = ts_strdup(base);
    m->base.seq = seq;
    m->base_is_rdb = 1;
    m->curr_base_seq = seq;
    int keep = a->rw_from_off || a->state == AOF_OFF ? 0 : 1;
    if (a->state == AOF_WAIT_REWRITE) keep = 0;
    incr_to_history(m, keep);
    if (a->state == AOF_WAIT_REWRITE && a->incr_name)
        aof_manifest_add(&m->incr, &m->nincr, &m->capincr, a->incr_name,
                         m->curr_incr_seq);
    if (persist_manifest(n, m) != 0) {
        /* the files on disk still describe the old state: keep it */
        goto fail;
    }
    delete_history(a);
    if (a->state == AOF_WAIT_REWRITE) a->state = AOF_ON;
    a->cur_size = file_size(n, base) + (a->fd >= 0 ? a->incr_size : 0);
    a->base_size = a->cur_size;
    a->rw_last_ok = 1;
    a->rewrites++;
    a->rw_consec_fail = 0;
    log_msg(LL_NOTICE, "Background AOF rewrite finished successfully");
    goto out;
fail:
    unlink(tmp);
    a->rw_last_ok = 0;
    a->rw_consec_fail++;
    if (a->state == AOF_WAIT_REWRITE) a->rw_scheduled = 1;   /* retry */
out:
    ts_free(tmp);
    ts_free(base);
    ts_free(base_path);
}

static void kill_child(struct aof *a)
{
    if (a->child <= 0) return;
    log_msg(LL_NOTICE, "Killing running AOF rewrite child: %d", (int)a->child);
    kill(a->child, SIGUSR1);
    int status;
    waitpid(a->child, &status, 0);
    char *tmp = temp_rewrite_name(a->child);
    unlink(tmp);
    ts_free(tmp);
    childinfo_child_done(a->n, a->child);
    a->child = -1;
    a->rw_start_ms = 0;
}

/* BGREWRITEAOF */
static void cmd_bgrewriteaof(cmdctx_t *ctx, const req_t *req, reply_t *r)
{
    (void)req;
    node_t *n = ctx->node;
    struct aof *a = n->aof;
    if (a->child > 0) {
        reply_error(r, "ERR Background append only file rewriting already "
                       "in progress");
    } else if (child_running(n)) {
        a->rw_scheduled = 1;
        reply_simple(r, "Background append only file rewriting scheduled");
    } else if (rewrite_start(a) == 0) {
        reply_simple(r, "Background append only file rewriting started");
    } else {
        reply_error(r, "ERR Can't execute an AOF background rewriting. "
                       "Please check the server logs for more information.");
    }
}

const cmd_bind_t aof_cmds[] = {
    {CMD_BGREWRITEAOF, cmd_bgrewriteaof},
    {CMD__COUNT, NULL},
};

int aof_rewrite_in_progress(const node_t *n)
{
    return n->aof && n->aof->child > 0;
}

/* ==== cron ============================================================= */

void aof_cron(node_t *n, long long now_ms)
{
    struct aof *a = n->aof;
    if (!a) return;
    if (a->child > 0) {
        int status;
        pid_t p = waitpid(a->child, &status, WNOHANG);
        if (p == a->child)
            rewrite_done(a, WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    /* after failures wait 1, 2, 4 ... 64 s before trying again (a broken
     * disk must not get a new incr file and a fork every tick) */
    long long backoff = a->rw_consec_fail
                            ? 1000LL << (a->rw_consec_fail > 6
                                             ? 6 : a->rw_consec_fail)
                            : 0;
    int may_start = now_ms - a->rw_last_try_ms >= backoff;
    if (may_start && a->rw_scheduled && !child_running(n)) {
        a->rw_last_try_ms = now_ms;
        if (rewrite_start(a) != 0) a->rw_consec_fail++;
    }
    if (may_start && a->state == AOF_ON && !child_running(n) &&
        n->auto_aof_rewrite_perc &&
        a->cur_size > n->auto_aof_rewrite_min_size) {
        long long base = a->base_size ? a->base_size : 1;
        long long growth = a->cur_size * 100 / base - 100;
        if (growth >= n->auto_aof_rewrite_perc) {
            log_msg(LL_NOTICE, "Starting automatic rewriting of AOF on "
                    "%lld%% growth", growth);
            a->rw_last_try_ms = now_ms;
            if (rewrite_start(a) != 0) a->rw_consec_fail++;
        }
    }
    if (a->fd < 0) return;
    /* retry failed writes/fsyncs, postponed writes, and everysec fsyncs
     * of data written while the buffer stayed empty since */
    if (buf_len(&a->buf) || a->unsynced) flush_aof(a, 0);
}

/* ==== writes refused while the disk fails ============================== */

int aof_write_errno(const node_t *n)
{
    struct aof *a = n->aof;
    if (!a || a->state == AOF_OFF) return 0;
    int err = a->write_err ? a->write_err : a->sync_err;
    return err ? err : bio_fsync_errno(&a->bio);
}

/* ==== INFO ============================================================= */

void aof_info(node_t *n, buf_t *o)
{
    struct aof *a = n->aof;
    if (!a) {
        buf_append_str(o, "aof_enabled:0\r\naof_rewrite_in_progress:0\r\n"
                          "aof_rewrite_scheduled:0\r\n"
                          "aof_last_rewrite_time_sec:-1\r\n"
                          "aof_current_rewrite_time_sec:-1\r\n"
                          "aof_last_bgrewrite_status:ok\r\naof_rewrites:0\r\n"
                          "aof_rewrites_consecutive_failures:0\r\n"
                          "aof_last_write_status:ok\r\naof_last_cow_size:0\r\n"
                          "module_fork_in_progress:0\r\n"
                          "module_fork_last_cow_size:0\r\n");
        return;
    }
    int ok = !a->write_err && !a->sync_err && !bio_fsync_errno(&a->bio);
    buf_printf(o,
               "aof_enabled:%d\r\n"
               "aof_rewrite_in_progress:%d\r\n"
               "aof_rewrite_scheduled:%d\r\n"
               "aof_last_rewrite_time_sec:%lld\r\n"
               "aof_current_rewrite_time_sec:%lld\r\n"
               "aof_last_bgrewrite_status:%s\r\n"
               "aof_rewrites:%lld\r\n"
               "aof_rewrites_consecutive_failures:%lld\r\n"
               "aof_last_write_status:%s\r\n"
               "aof_last_cow_size:%zu\r\n"
               "module_fork_in_progress:0\r\n"
               "module_fork_last_cow_size:0\r\n",
               a->state != AOF_OFF, a->child > 0, a->rw_scheduled,
               a->rw_last_time_sec,
               a->child > 0 ? (node_unix_ms() - a->rw_start_ms) / 1000 : -1LL,
               a->rw_last_ok ? "ok" : "err", a->rewrites, a->rw_consec_fail,
               ok ? "ok" : "err", childinfo_last_cow(n, CI_AOF));
    if (a->state == AOF_OFF) return;
    buf_printf(o,
               "aof_current_size:%lld\r\n"
               "aof_base_size:%lld\r\n"
               "aof_pending_rewrite:%d\r\n"
               "aof_buffer_length:%zu\r\n"
               "aof_pending_bio_fsync:%ld\r\n"
               "aof_delayed_fsync:%lld\r\n",
               a->cur_size, a->base_size, a->rw_scheduled, buf_len(&a->buf),
               bio_pending_fsync(&a->bio), a->delayed_fsync);
}

/* ==== start, stop ====================================================== */

/* Start appending (start-up or CONFIG SET): the sink and the thread. */
static void start_appending(struct aof *a)
{
    propagate_add_sink(a->n, aof_sink, a);
    if (!a->bio.started) bio_start(&a->bio);
}

/* aofOpenIfNeededOnServerStart: a base if there is nothing, the last incr
 * file (a new one if none), the manifest. */
static int open_on_start(struct aof *a)
{
    node_t *n = a->n;
    aof_manifest_t *m = &a->m;
    if (make_dir(n) != 0) return -1;
    if (!m->base.name && !m->nincr) {
        long long seq = m->curr_base_seq + 1;
        char *base = file_name(n, seq, "base.rdb");
        char *path = aof_path(n, base);
        int rc = write_base(n, path, 0);
        if (rc != 0)
            log_msg(LL_WARNING, "Can't create the AOF base file %s: %s", base,
                    strerror(errno));
        ts_free(path);
        if (rc != 0) {
            ts_free(base);
            return -1;
        }
        m->base.name = base;
        m->base.seq = seq;
        m->base_is_rdb = 1;
        m->curr_base_seq = seq;
        a->cur_size += file_size(n, base);
        log_msg(LL_NOTICE, "Creating AOF base file %s on server start", base);
    }
    if (!m->nincr) {
        long long seq = m->curr_incr_seq + 1;
        char *name = file_name(n, seq, "incr.aof");
        aof_manifest_add(&m->incr, &m->nincr, &m->capincr, name, seq);
        m->curr_incr_seq = seq;
        log_msg(LL_NOTICE, "Creating AOF incr file %s on server start", name);
        ts_free(name);
    }
    if (open_incr(a, m->incr[m->nincr - 1].name) != 0) return -1;
    if (persist_manifest(n, m) != 0) return -1;
    delete_history(a);
    a->base_size = a->cur_size;
    a->last_fsync_ms = node_unix_ms();
    return 0;
}

/* aofUpgradePrepare: a pre-7.0 single appendonly.aof in `dir` and no
 * manifest: it becomes the base of a manifest (moved into the directory,
 * same name), so Redis 6 data loads.  0, or -1 (logged). */
static int upgrade_single_file(struct aof *a)
{
    node_t *n = a->n;
    struct stat st;
    if (stat(n->appendfilename, &st) != 0 || !S_ISREG(st.st_mode)) return 0;
    if (make_dir(n) != 0) return -1;
    char *dst = aof_path(n, n->appendfilename);
    int rc = rename(n->appendfilename, dst);
    ts_free(dst);
    if (rc != 0) {
        log_msg(LL_WARNING, "Error trying to move the old AOF file %s into "
                "dir %s: %s", n->appendfilename, n->appenddirname,
                strerror(errno));
        return -1;
    }
    a->m.base.name = ts_strdup(n->appendfilename);
    a->m.base.seq = 1;
    a->m.curr_base_seq = 1;
    if (persist_manifest(n, &a->m) != 0) return -1;
    fsync_dir(".");
    log_msg(LL_NOTICE, "Successfully migrated an old-style AOF into the AOF "
            "directory");
    return 0;
}

int aof_setup(node_t *n)
{
    struct aof *a = ts_calloc(1, sizeof(*a));
    a->n = n;
    a->fd = -1;
    a->child = -1;
    a->rw_last_ok = 1;
    a->rw_last_time_sec = -1;
    buf_init(&a->buf);
    n->aof = a;
    int rc = read_manifest(n, &a->m);
    if (rc < 0) return -1;
    if (!n->appendonly) return 0;   /* the manifest numbers later rewrites */
    if (rc == 1) {
        if (upgrade_single_file(a) != 0) return -1;
        if (a->m.base.name) rc = 0;
    }
    if (rc == 0) {
        /* AOF wins over RDB, as Redis: start from an empty keyspace */
        if (ks_size(n->ks)) ks_clear(n->ks);
        long long size = 0;
        if (aof_load_files(n, &a->m, &size) != 0) return -1;
        a->cur_size = size;
        n->dirty = 0;
        log_msg(LL_NOTICE, "DB loaded from append only file");
    }
    a->state = AOF_ON;
    n->aof_live = 1;
    if (open_on_start(a) != 0) return -1;
    start_appending(a);
    return 0;
}

static void stop_aof(struct aof *a)
{
    flush_aof(a, 1);
    if (a->fd >= 0 && fdatasync(a->fd) != 0)
        log_msg(LL_WARNING, "Fail to fsync the AOF file: %s", strerror(errno));
    close_incr(a);
    ts_free(a->incr_name);
    a->incr_name = NULL;
    if (a->child > 0) kill_child(a);
    propagate_remove_sink(a->n, aof_sink, a);
    buf_clear(&a->buf);
    a->durable = a->appended;   /* nothing left to wait for */
    a->state = AOF_OFF;
    a->n->aof_live = 0;
    a->write_err = a->sync_err = 0;
    a->unsynced = 0;
}

void aof_teardown(node_t *n)
{
    struct aof *a = n->aof;
    if (!a) return;
    if (a->state != AOF_OFF) stop_aof(a);
    kill_child(a);
    bio_stop(&a->bio);
    aof_manifest_free(&a->m);
    ts_free(a->incr_name);
    buf_deinit(&a->buf);
    ts_free(a);
    n->aof = NULL;
}

const char *aof_apply_appendonly(node_t *n)
{
    struct aof *a = n->aof;
    if (!a) return NULL;        /* start-up: aof_setup does it */
    if (!n->appendonly) {
        if (a->state != AOF_OFF) {
            stop_aof(a);
            log_msg(LL_NOTICE, "Background append only file rewriting "
                    "stopped (appendonly no)");
        }
        return NULL;
    }
    if (a->state != AOF_OFF) return NULL;
    /* startAppendOnly: new incr file now, base by a rewrite */
    if (make_dir(n) != 0) {
        n->appendonly = 0;
        return "Can't open or create the append-only directory";
    }
    if (a->child > 0) kill_child(a);
    a->state = AOF_WAIT_REWRITE;
    n->aof_live = 1;
    start_appending(a);
    if (rdb_bgsave_in_progress(n)) {
        long long seq = a->m.curr_incr_seq + 1;
        char *name = file_name(n, seq, "incr.aof");
        int rc = open_incr(a, name);
        ts_free(name);
        if (rc == 0) {
            a->m.curr_incr_seq = seq;
            a->rw_scheduled = 1;
            log_msg(LL_NOTICE, "AOF was enabled but there is already another "
                    "background operation. An AOF background was scheduled "
                    "to start when possible.");
            return NULL;
        }
    } else if (rewrite_start(a) == 0) {
        log_msg(LL_NOTICE, "AOF enabled");
        return NULL;
    }
    stop_aof(a);
    n->appendonly = 0;
    return "Redis needs to enable the AOF but can't trigger a background "
           "AOF rewrite operation. Check the above logs for more info about "
           "the error.";
}
