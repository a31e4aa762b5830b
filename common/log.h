/*
 * log.h: the process log, in Redis's format.
 *
 * Operators grep Tessera logs with the habits they have from Redis, so a
 * line looks exactly like serverLog's:
 *
 *   12345:M 07 Jan 2024 10:11:12.345 * Ready to accept connections
 *   pid:role  day Mon year  time.ms  mark message
 *
 * The role is one character set by the program ('M' master, 'S' replica,
 * 'C' forked child, 'P' proxy, ...); the mark says the level: '.' debug,
 * '-' verbose, '*' notice, '#' warning.  Messages are cut at LOG_MAX_LEN
 * bytes, as Redis does.
 *
 * The log is process-wide state (a file descriptor, a level, a role), like
 * stderr is: passing a context to every log call would buy nothing.  Each
 * line is formatted into a stack buffer and written with one write() to a
 * descriptor opened O_APPEND, so lines from several threads or processes
 * never interleave.  log_reopen() reopens the file (for logrotate).
 */
#ifndef TS_LOG_H
#define TS_LOG_H

#include <stdarg.h>
#include <stdatomic.h>

/* Levels, lowest first; the names are Redis's `loglevel` values. */
enum log_level {
    LL_DEBUG = 0,
    LL_VERBOSE = 1,
    LL_NOTICE = 2,
    LL_WARNING = 3,
};

/* OR into a level to write the message as is: no prefix, no newline
 * added (Redis's LL_RAW, for the start-up banner). */
#define LL_RAW (1 << 10)

/* Longest message kept, in bytes; longer ones are truncated. */
#define LOG_MAX_LEN 1024

/* {"debug", "verbose", "notice", "warning", NULL}, indexed by level: usable
 * as the enum_names of a CONFIG_ENUM "loglevel" option. */
extern const char *const log_level_names[];

/*
 * Send the log to `path` (opened for append, created 0644), or to stdout
 * when path is NULL or "" (Redis's `logfile ""`), and set the level.
 * May be called again to switch files.  Returns 0, or -1 with errno set
 * when the file cannot be opened (the previous destination is kept).
 */
int log_setup(const char *path, int level);

/* Close the log file (back to stdout). */
void log_teardown(void);

/* Reopen the current file, e.g. after logrotate moved it.  0 or -1/errno. */
int log_reopen(void);

void log_set_level(int level);
int log_get_level(void);
/* 1 if a message at `level` would be written (flags such as LL_RAW ignored). */
int log_enabled(int level);

/* Role character printed after the pid ('M' until told otherwise). */
void log_set_role(char role);

/* Write one line if `level` is enabled.  printf-style format. */
void log_msg(int level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void log_vmsg(int level, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/*
 * For signal handlers (crash reports): only async-signal-safe calls, no
 * lock, no level check, no localtime.  Redis's format:
 *   "12345:signal-handler (1700000000) message"
 */
void log_from_handler(const char *msg);

/*
 * Rate limiting, for messages an outsider can trigger at will (malformed
 * bus packets, protocol errors): at most `per_sec` lines per second per
 * call site; the first line let through after a suppressed burst is
 * preceded by "N similar messages suppressed (file:line)".
 *
 *   log_ratelimited(LL_WARNING, 10, "bad bus packet from %s", addr);
 *
 * The macro keeps one static log_ratelimit_t per call site; it is safe to
 * use from several threads.
 */
typedef struct log_ratelimit {
    atomic_ullong state;    /* second << 32 | lines in that second */
    atomic_uint suppressed; /* lines dropped since the last one let through */
} log_ratelimit_t;

/* 1 if a line may be written now; then *suppressed is the number dropped
 * since the last line let through (and is reset). 0 otherwise. */
int log_ratelimit_pass(log_ratelimit_t *rl, unsigned per_sec,
                       unsigned *suppressed);

#define log_ratelimited(level, per_sec, ...)                                   \
    do {                                                                       \
        static log_ratelimit_t log_rl_;                                        \
        unsigned log_sup_;                                                     \
        if (log_enabled(level) &&                                              \
            log_ratelimit_pass(&log_rl_, (per_sec), &log_sup_)) {              \
            if (log_sup_)                                                      \
                log_msg((level), "%u similar messages suppressed (%s:%d)",     \
                        log_sup_, __FILE__, __LINE__);                         \
            log_msg((level), __VA_ARGS__);                                     \
        }                                                                      \
    } while (0)

#endif
