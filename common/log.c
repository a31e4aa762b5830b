/*
 * log.c: Redis-format logging to a file or stdout.  See log.h.
 *
 * Why a descriptor and not a FILE*: one write() per line to an O_APPEND
 * descriptor is atomic with respect to other writers of the same file
 * (threads, a forked child saving a snapshot), and there is no stdio
 * buffer to lose when the process dies.  A read-write lock guards the
 * descriptor only against log_reopen()/log_setup() closing it under a
 * writer; ordinary lines take the shared side and never wait for each
 * other.
 */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"

const char *const log_level_names[] = {"debug", "verbose", "notice", "warning",
                                       NULL};

static pthread_rwlock_t log_lock = PTHREAD_RWLOCK_INITIALIZER;
static atomic_int log_fd = STDOUT_FILENO; /* read bare by the signal path */
static char *log_path;                    /* NULL: stdout; under log_lock */
static atomic_int log_level = LL_NOTICE;
static atomic_char log_role = 'M';

/* Write all of buf; retries short writes and EINTR. */
static void write_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = write(fd, buf, len);
        if (n < 0) {
            if (errno == EINTR) continue;
            return; /* nowhere to report a failing log */
        }
        buf += n;
        len -= (size_t)n;
    }
}

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
}

/* Swap the destination under the exclusive lock; takes ownership of path. */
static void set_dest(int fd, char *path)
{
    pthread_rwlock_wrlock(&log_lock);
    int old = atomic_exchange(&log_fd, fd);
    if (old != STDOUT_FILENO && old != fd) close(old);
    ts_free(log_path);
    log_path = path;
    pthread_rwlock_unlock(&log_lock);
}

int log_setup(const char *path, int level)
{
    log_set_level(level);
    if (path == NULL || path[0] == '\0') {
        set_dest(STDOUT_FILENO, NULL);
        return 0;
    }
    int fd = open_log(path);
    if (fd < 0) return -1;
    set_dest(fd, ts_strdup(path));
    return 0;
}

void log_teardown(void)
{
    set_dest(STDOUT_FILENO, NULL);
}

int log_reopen(void)
{
    int rc = 0;

    pthread_rwlock_wrlock(&log_lock);
    if (log_path != NULL) {
        int fd = open_log(log_path);
        if (fd < 0) {
            rc = -1; /* keep writing to the old (moved) file */
        } else {
            int old = atomic_exchange(&log_fd, fd);
            if (old != STDOUT_FILENO) close(old);
        }
    }
    pthread_rwlock_unlock(&log_lock);
    return rc;
}

void log_set_level(int level)
{
    if (level < LL_DEBUG) level = LL_DEBUG;
    if (level > LL_WARNING) level = LL_WARNING;
    atomic_store(&log_level, level);
}

int log_get_level(void)
{
    return atomic_load(&log_level);
}

int log_enabled(int level)
{
    return (level & 0xff) >=
           atomic_load_explicit(&log_level, memory_order_relaxed);
}

void log_set_role(char role)
{
    atomic_store(&log_role, role);
}

/* "07 Jan 2024 10:11:12.345", as Redis's strftime + "%03d". */
static size_t format_time(char *buf, size_t size)
{
    struct timeval tv;
    struct tm tm;

    gettimeofday(&tv, NULL);
    time_t secs = tv.tv_sec;
    localtime_r(&secs, &tm);
    size_t off = strftime(buf, size, "%d %b %Y %H:%M:%S.", &tm);
    int n = snprintf(buf + off, size - off, "%03d", (int)(tv.tv_usec / 1000));
    return off + (n > 0 ? (size_t)n : 0);
}

void log_vmsg(int level, const char *fmt, va_list ap)
{
    static const char marks[] = ".-*#";
    char msg[LOG_MAX_LEN];
    char line[LOG_MAX_LEN + 128];
    int raw = level & LL_RAW;
    int lvl = level & 0xff;
    size_t len;

    if (!log_enabled(level)) return;
    if (lvl > LL_WARNING) lvl = LL_WARNING;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (raw) {
        len = strlen(msg);
        memcpy(line, msg, len);
    } else {
        char tbuf[64];
        format_time(tbuf, sizeof(tbuf));
        int n = snprintf(line, sizeof(line), "%d:%c %s %c %s\n", (int)getpid(),
                         atomic_load(&log_role), tbuf, marks[lvl], msg);
        if (n < 0) return;
        len = (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1;
    }

    pthread_rwlock_rdlock(&log_lock);
    write_all(atomic_load(&log_fd), line, len);
    pthread_rwlock_unlock(&log_lock);
}

void log_msg(int level, const char *fmt, ...)
{
    va_list ap;

    if (!log_enabled(level)) return;
    va_start(ap, fmt);
    log_vmsg(level, fmt, ap);
    va_end(ap);
}

/* Decimal digits of v at the end of buf[0..size); returns the start. */
static char *fmt_ull(char *end, unsigned long long v)
{
    do {
        *--end = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    return end;
}

void log_from_handler(const char *msg)
{
    char line[LOG_MAX_LEN + 64];
    char num[24];
    size_t len = 0, n;
    char *p;

#define APPEND(s, l)                                                           \
    do {                                                                       \
        n = (l);                                                               \
        if (n > sizeof(line) - 1 - len) n = sizeof(line) - 1 - len;            \
        memcpy(line + len, (s), n);                                            \
        len += n;                                                              \
    } while (0)

    p = fmt_ull(num + sizeof(num), (unsigned long long)getpid());
    APPEND(p, (size_t)(num + sizeof(num) - p));
    APPEND(":signal-handler (", 17);
    p = fmt_ull(num + sizeof(num), (unsigned long long)time(NULL));
    APPEND(p, (size_t)(num + sizeof(num) - p));
    APPEND(") ", 2);
    APPEND(msg, strlen(msg));
#undef APPEND
    line[len++] = '\n';
    write_all(atomic_load(&log_fd), line, len);
}

int log_ratelimit_pass(log_ratelimit_t *rl, unsigned per_sec,
                       unsigned *suppressed)
{
    struct timespec ts;
    unsigned long long now, old, next;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    now = (unsigned long long)ts.tv_sec & 0xffffffffULL;
    old = atomic_load(&rl->state);
    for (;;) {
        unsigned long long sec = old >> 32, count = old & 0xffffffffULL;
        if (sec != now)
            next = now << 32 | 1;
        else if (count < per_sec)
            next = old + 1;
        else {
            atomic_fetch_add(&rl->suppressed, 1);
            *suppressed = 0;
            return 0;
        }
        if (atomic_compare_exchange_weak(&rl->state, &old, next)) break;
    }
    *suppressed = atomic_exchange(&rl->suppressed, 0);
    return 1;
}
