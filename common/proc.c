/*
 * proc.c: process plumbing shared by node and proxy (see proc.h).
 */
#include "proc.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

void ts_random_bytes(void *buf, size_t n)
{
    unsigned char *p = buf;
    size_t got = 0;
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
        while (got < n) {
            ssize_t r = read(fd, p + got, n - got);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            got += (size_t)r;
        }
        close(fd);
    }
    if (got == n) return;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    uint64_t x = mix64((uint64_t)ts.tv_sec * 1000000000ULL +
                       (uint64_t)ts.tv_nsec) ^
                 ((uint64_t)getpid() << 32) ^ (uint64_t)(uintptr_t)&got;
    for (; got < n; got++) {
        x = mix64(x + 0x9e3779b97f4a7c15ULL);
        p[got] = (unsigned char)x;
    }
}

void ts_random_hex(char *out, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    unsigned char raw[128];
    size_t done = 0;
    while (done < n) {
        size_t chunk = (n - done + 1) / 2;
        if (chunk > sizeof(raw)) chunk = sizeof(raw);
        ts_random_bytes(raw, chunk);
        for (size_t i = 0; i < 2 * chunk && done < n; i++, done++)
            out[done] = hex[(raw[i / 2] >> ((i & 1) ? 0 : 4)) & 15];
    }
    out[n] = '\0';
}

int ts_daemonize(void)
{
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid > 0) _exit(0);
    setsid();
    int fd = open("/dev/null", O_RDWR);
    if (fd >= 0) {
        dup2(fd, STDIN_FILENO);
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        if (fd > STDERR_FILENO) close(fd);
    }
    return 0;
}

void ts_write_pidfile(const char *path)
{
    if (!path || !path[0]) return;
    FILE *f = fopen(path, "w");
    if (!f) {
        log_msg(LL_WARNING, "Failed to write PID file: %s", strerror(errno));
        return;
    }
    fprintf(f, "%d\n", (int)getpid());
    fclose(f);
}

char *ts_absolute_path(const char *path)
{
    if (!path) return NULL;
    if (path[0] == '/') return ts_strdup(path);
    char cwd[PATH_MAX];
    if (!getcwd(cwd, sizeof(cwd))) return ts_strdup(path);
    size_t len = strlen(cwd) + strlen(path) + 2;
    char *s = ts_malloc(len);
    snprintf(s, len, "%s/%s", cwd, path);
    return s;
}
