/*
 * aof_load.c: the AOF manifest (parse, format) and loading the files it
 * names at start-up.
 *
 * Loading replays each command through cmd_execute with a stand-in
 * client that is never linked to the node (no socket, replies dropped),
 * so a command behaves exactly as it did when it was written, MULTI/EXEC
 * included: a transaction whose EXEC is missing at the end of the last
 * file is simply never executed.
 *
 * The parser is stricter than Redis's (every length is checked, CRLFs
 * are verified) and tells the two failures apart as Redis does: bytes
 * that end in the middle of a command are a torn tail (the last write
 * before a crash; dropped and truncated with aof-load-truncated yes),
 * anything else is corruption and the node refuses to start, naming the
 * file and the offset.  A base file that starts with "REDIS" is an RDB
 * image (aof-use-rdb-preamble), possibly followed by commands.
 */
#include "aof_int.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "client.h"
#include "cmd.h"
#include "log.h"
#include "rdb.h"
#include "reply.h"

/* ==== manifest ========================================================= */

void aof_manifest_add(aof_file_t **arr, int *n, int *cap, const char *name,
                      long long seq)
{
    if (*n == *cap) {
        *cap = *cap ? *cap * 2 : 4;
        *arr = ts_realloc(*arr, sizeof(aof_file_t) * (size_t)*cap);
    }
    (*arr)[*n].name = ts_strdup(name);
    (*arr)[*n].seq = seq;
    (*n)++;
}

void aof_manifest_free(aof_manifest_t *m)
{
    ts_free(m->base.name);
    for (int i = 0; i < m->nhist; i++) ts_free(m->hist[i].name);
    for (int i = 0; i < m->nincr; i++) ts_free(m->incr[i].name);
    ts_free(m->hist);
    ts_free(m->incr);
    memset(m, 0, sizeof(*m));
}

/* sdssplitargs for one manifest line: words, "quoted" with \xHH and the
 * usual escapes.  Returns the count (<= max), -1 on unbalanced quotes. */
static int split_line(char *p, char **argv, int max)
{
    int argc = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t') p++;
        if (!*p) return argc;
        if (argc == max) return -1;
        char *out = p;
        argv[argc++] = out;
        if (*p == '"') {
            p++;
            for (;;) {
                if (!*p) return -1;
                if (*p == '"') {
                    p++;
                    if (*p && *p != ' ' && *p != '\t') return -1;
                    break;
                }
                if (*p == '\\' && p[1]) {
                    p++;
                    char c = *p;
                    if (c == 'x' && p[1] && p[2]) {
                        char hex[3] = {p[1], p[2], 0};
                        c = (char)strtol(hex, NULL, 16);
                        p += 2;
                    } else if (c == 'n') c = '\n';
                    else if (c == 'r') c = '\r';
                    else if (c == 't') c = '\t';
                    *out++ = c;
                    p++;
                    continue;
                }
                *out++ = *p++;
            }
        } else {
            while (*p && *p != ' ' && *p != '\t') *out++ = *p++;
        }
        if (*p) p++;
        *out = '\0';   /* in place: out never passes p */
    }
}

int aof_manifest_parse(const char *text, size_t len, aof_manifest_t *m,
                       char *err, size_t errlen)
{
    memset(m, 0, sizeof(*m));
    const char *msg = NULL;
    long long maxseq = 0;
    size_t pos = 0;
    while (pos < len) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t ll = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (ll + 1 >= AOF_MANIFEST_MAX_LINE || !nl) {
            msg = !nl && ll + 1 < AOF_MANIFEST_MAX_LINE
                      ? "Invalid AOF manifest file format"
                      : "The AOF manifest file contains too long line";
            break;
        }
        char line[AOF_MANIFEST_MAX_LINE];
        memcpy(line, text + pos, ll);
        line[ll] = '\0';
        pos += ll + 1;
        if (line[0] == '#') continue;
        /* sdstrim(" \t\r\n") */
        char *s = line;
        while (*s == ' ' || *s == '\t' || *s == '\r') s++;
        size_t sl = strlen(s);
        while (sl && (s[sl - 1] == ' ' || s[sl - 1] == '\t' ||
                      s[sl - 1] == '\r'))
            s[--sl] = '\0';
        if (!sl) {
            msg = "Invalid AOF manifest file format";
            break;
        }
        char *argv[32];
        int argc = split_line(s, argv, 32);
        if (argc < 6 || argc % 2) {
            msg = "Invalid AOF manifest file format";
            break;
        }
        const char *name = NULL;
        long long seq = 0;
        char type = 0;
        for (int i = 0; i < argc; i += 2) {
            if (strcasecmp(argv[i], "file") == 0) {
                name = argv[i + 1];
            } else if (strcasecmp(argv[i], "seq") == 0) {
                char *end;
                seq = strtoll(argv[i + 1], &end, 10);
                if (*end) seq = 0;
            } else if (strcasecmp(argv[i], "type") == 0) {
                type = argv[i + 1][0];
                if (argv[i + 1][1]) type = '?';
            }
        }
        if (!name || !name[0] || seq <= 0 || !type) {
            msg = "Invalid AOF manifest file format";
            break;
        }
        if (strchr(name, '/')) {
            msg = "File can't be a path, just a filename";
            break;
        }
        if (type == 'b') {
            if (m->base.name) {
                msg = "Found duplicate base file information";
                break;
            }
            m->base.name = ts_strdup(name);
            m->base.seq = seq;
            m->curr_base_seq = seq;
            size_t nl2 = strlen(name);
            m->base_is_rdb = nl2 >= 4 && strcmp(name + nl2 - 4, ".rdb") == 0;
        } else if (type == 'h') {
            aof_manifest_add(&m->hist, &m->nhist, &m->caphist, name, seq);
        } else if (type == 'i') {
            if (seq <= maxseq) {
                msg = "Found a non-monotonic sequence number";
                break;
            }
            aof_manifest_add(&m->incr, &m->nincr, &m->capincr, name, seq);
            m->curr_incr_seq = seq;
            maxseq = seq;
        } else {
            msg = "Unknown AOF file type";
            break;
        }
    }
    if (!msg && !m->base.name && !m->nincr)
        msg = "Found an empty AOF manifest";
    if (msg) {
        snprintf(err, errlen, "%s", msg);
        aof_manifest_free(m);
        return -1;
    }
    return 0;
}

/* sdsneedsrepr / sdscatrepr for file names with spaces or odd bytes. */
static void put_name(buf_t *out, const char *s)
{
    int needs = 0;
    for (const char *p = s; *p; p++)
        if (*p == '\\' || *p == '"' || *p == ' ' || *p == '\n' ||
            *p == '\r' || *p == '\t' || *p == '\a' || *p == '\b' ||
            (unsigned char)*p < 32 || (unsigned char)*p > 126)
            needs = 1;
    if (!needs) {
        buf_append_str(out, s);
        return;
    }
    buf_putc(out, '"');
    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;
        switch (c) {
        case '\\': buf_append_str(out, "\\\\"); break;
        case '"': buf_append_str(out, "\\\""); break;
        case '\n': buf_append_str(out, "\\n"); break;
        case '\r': buf_append_str(out, "\\r"); break;
        case '\t': buf_append_str(out, "\\t"); break;
        case '\a': buf_append_str(out, "\\a"); break;
        case '\b': buf_append_str(out, "\\b"); break;
        default:
            if (c < 32 || c > 126)
                buf_printf(out, "\\x%02x", c);
            else
                buf_putc(out, (char)c);
        }
    }
    buf_putc(out, '"');
}

static void put_file(buf_t *out, const aof_file_t *f, char type)
{
    buf_append_str(out, "file ");
    put_name(out, f->name);
    buf_printf(out, " seq %lld type %c\n", f->seq, type);
}

void aof_manifest_format(const aof_manifest_t *m, buf_t *out)
{
    if (m->base.name) put_file(out, &m->base, 'b');
    for (int i = 0; i < m->nhist; i++) put_file(out, &m->hist[i], 'h');
    for (int i = 0; i < m->nincr; i++) put_file(out, &m->incr[i], 'i');
}

char *aof_path(const node_t *n, const char *name)
{
    size_t len = strlen(n->appenddirname) + strlen(name) + 2;
    char *p = ts_malloc(len);
    snprintf(p, len, "%s/%s", n->appenddirname, name);
    return p;
}

/* ==== loading ========================================================== */

enum { LD_OK = 0, LD_EOF, LD_TORN, LD_BAD };

typedef struct loader {
    node_t *n;
    FILE *f;
    const char *name;
    long long off;          /* bytes consumed */
    long long cmd_start;    /* offset of the command being read */
    buf_t arena;            /* argument bytes of the current command */
    resp_arg_t *argv;
    size_t *arglen;
    int argcap;
    const char *why;        /* what was wrong (LD_BAD) */
} loader_t;

/* Read a "<c><digits>\r\n" header.  LD_OK with *v, LD_EOF (nothing at
 * all, only for the '*' line), LD_TORN, LD_BAD. */
static int read_header(loader_t *ld, char lead, long long *v, int eof_ok)
{
    char line[32];
    size_t n = 0;
    for (;;) {
        int c = getc(ld->f);
        if (c == EOF) {
            if (ferror(ld->f)) {
                ld->why = strerror(errno);
                return LD_BAD;
            }
            return n == 0 && eof_ok ? LD_EOF : LD_TORN;
        }
        ld->off++;
        if (n == 0 && c != lead) {
            ld->why = lead == '*' ? "expected '*'" : "expected '$'";
            return LD_BAD;
        }
        if (n >= sizeof(line) - 1) {
            ld->why = "header line too long";
            return LD_BAD;
        }
        line[n++] = (char)c;
        if (c == '\n') break;
    }
    if (n < 4 || line[n - 2] != '\r') {
        ld->why = "bad header line";
        return LD_BAD;
    }
    line[n - 2] = '\0';
    char *end;
    errno = 0;
    long long x = strtoll(line + 1, &end, 10);
    if (*end || errno || end == line + 1 || x < 0) {
        ld->why = "bad length";
        return LD_BAD;
    }
    *v = x;
    return LD_OK;
}

/* Read exactly len bytes into the arena (grown as bytes arrive, so a
 * huge declared length in a short file does not allocate it). */
static int read_bytes(loader_t *ld, size_t len)
{
    while (len) {
        size_t chunk = len < 65536 ? len : 65536;
        buf_reserve(&ld->arena, chunk);
        size_t got = fread(buf_wptr(&ld->arena), 1, chunk, ld->f);
        ld->arena.wpos += got;
        ld->off += (long long)got;
        len -= got;
        if (got < chunk) {
            if (ferror(ld->f)) {
                ld->why = strerror(errno);
                return LD_BAD;
            }
            return LD_TORN;
        }
    }
    return LD_OK;
}

/* Read one command into ld->argv.  LD_OK (*argc set), LD_EOF, LD_TORN,
 * LD_BAD. */
static int read_command(loader_t *ld, int *argc)
{
    long long count, len;
    for (;;) {
        ld->cmd_start = ld->off;
        int c = getc(ld->f);
        if (c == EOF) return ferror(ld->f) ? LD_BAD : LD_EOF;
        if (c != '#') {
            ungetc(c, ld->f);
            break;
        }
        /* "#..." annotation line (Redis 7.0 timestamps): skip it */
        ld->off++;
        while ((c = getc(ld->f)) != EOF && c != '\n') ld->off++;
        if (c == EOF) return LD_TORN;
        ld->off++;
    }
    int rc = read_header(ld, '*', &count, 1);
    if (rc != LD_OK) return rc;
    if (count < 1 || count > INT_MAX) {
        ld->why = "bad argument count";
        return LD_BAD;
    }
    buf_clear(&ld->arena);
    for (long long i = 0; i < count; i++) {
        /* grown as arguments arrive: a forged count costs nothing */
        if (i == ld->argcap) {
            ld->argcap = ld->argcap ? ld->argcap * 2 : 16;
            ld->argv = ts_realloc(ld->argv,
                                  sizeof(resp_arg_t) * (size_t)ld->argcap);
            ld->arglen = ts_realloc(ld->arglen,
                                    sizeof(size_t) * (size_t)ld->argcap);
        }
        rc = read_header(ld, '$', &len, 0);
        if (rc != LD_OK) return rc;
        if (len > ld->n->proto_max_bulk_len) {
            ld->why = "argument longer than proto-max-bulk-len";
            return LD_BAD;
        }
        rc = read_bytes(ld, (size_t)len + 2);
        if (rc != LD_OK) return rc;
        const char *crlf = buf_wptr(&ld->arena) - 2;
        if (crlf[0] != '\r' || crlf[1] != '\n') {
            ld->why = "argument not followed by CRLF";
            return LD_BAD;
        }
        ld->arena.wpos -= 2;
        ld->arglen[i] = (size_t)len;
    }
    /* the arena is final: point the arguments into it */
    size_t pos = 0;
    for (long long i = 0; i < count; i++) {
        ld->argv[i].ptr = ld->arena.data + pos;
        ld->argv[i].len = ld->arglen[i];
        pos += ld->arglen[i];
    }
    *argc = (int)count;
    return LD_OK;
}

static int rdb_reader(void *arg, void *buf, size_t len)
{
    loader_t *ld = arg;
    if (len && fread(buf, 1, len, ld->f) != len) return -1;
    ld->off += (long long)len;
    return 0;
}

static void fake_client_init(client_t *c, node_t *n)
{
    memset(c, 0, sizeof(*c));
    c->fd = -1;
    c->node = n;
    c->proto = 2;
    c->authenticated = 1;
    c->flags = CLF_DENY_BLOCKING;   /* a blocking command times out at once */
    buf_init(&c->obuf);
    buf_init(&c->qbuf);
    snprintf(c->addr, sizeof(c->addr), "aof-loader");
}

static void fake_client_deinit(client_t *c)
{
    multi_client_free(c);
    buf_deinit(&c->obuf);
    buf_deinit(&c->qbuf);
}

/* Execute the commands of one file.  Returns LD_OK, LD_TORN (the file
 * ends inside a command or a transaction: *valid_to says where the last
 * complete unit ended) or LD_BAD (logged). */
static int replay(loader_t *ld, client_t *fc, long long *valid_to)
{
    long long before_multi = -1;
    for (;;) {
        int argc = 0;
        int rc = read_command(ld, &argc);
        if (rc == LD_EOF) break;
        if (rc != LD_OK) {
            *valid_to = before_multi >= 0 ? before_multi : ld->cmd_start;
            return rc;
        }
        const cmd_spec_t *c = cmd_lookup(ld->n, &ld->argv[0]);
        if (!c) {
            log_msg(LL_WARNING,
                    "Unknown command '%.*s' reading the append only file %s",
                    (int)(ld->argv[0].len > 128 ? 128 : ld->argv[0].len),
                    ld->argv[0].ptr, ld->name);
            ld->why = "unknown command";
            return LD_BAD;
        }
        /* only what a write stream holds: never SHUTDOWN, CONFIG, ...
         * (PFCOUNT is read-only but propagated when it stores the
         * HyperLogLog's cached cardinality) */
        if (!(c->flags & CF_WRITE) && c->id != CMD_MULTI &&
            c->id != CMD_EXEC && c->id != CMD_DISCARD &&
            c->id != CMD_SELECT && c->id != CMD_PFCOUNT) {
            log_ratelimited(LL_WARNING, 10, "Skipping '%s' in the append "
                            "only file %s: not a write command", c->name,
                            ld->name);
            continue;
        }
        if (c->id == CMD_MULTI) before_multi = ld->cmd_start;
        reply_t r;
        reply_init(&r, &fc->obuf, 2);
        cmd_execute(ld->n, fc, argc, ld->argv, &r);
        buf_clear(&fc->obuf);
        if (c->id == CMD_EXEC || c->id == CMD_DISCARD) before_multi = -1;
    }
    if (fc->flags & CLF_MULTI) {   /* MULTI without EXEC at the end */
        *valid_to = before_multi;
        return LD_TORN;
    }
    return LD_OK;
}

/* Load one file.  last: the last file of the manifest (the only one that
 * may have a torn tail).  Returns 0 or -1 (logged). */
static int load_file(node_t *n, const char *name, int last, int is_base,
                     long long *size)
{
    char *path = aof_path(n, name);
    int ret = -1;
    loader_t ld = {.n = n, .name = name};
    buf_init(&ld.arena);
    client_t fc;
    fake_client_init(&fc, n);
    char *iobuf = NULL;
    ld.f = fopen(path, "r");
    if (!ld.f) {
        log_msg(LL_WARNING, "Fatal error: can't open the append log file %s "
                "for reading: %s", name, strerror(errno));
        goto out;
    }
    iobuf = ts_malloc(1 << 16);
    setvbuf(ld.f, iobuf, _IOFBF, 1 << 16);
    char magic[5];
    size_t got = fread(magic, 1, 5, ld.f);
    rewind(ld.f);
    if (got == 5 && memcmp(magic, "REDIS", 5) == 0) {
        char err[256];
        if (!is_base) {
            log_msg(LL_WARNING, "Bad file format reading the append only "
                    "file %s: an RDB image outside the base file", name);
            goto out;
        }
        log_msg(LL_NOTICE, "Reading RDB base file on AOF loading...");
        if (rdb_load_from(n, rdb_reader, &ld, err, sizeof(err)) != 0) {
            log_msg(LL_WARNING, "Fatal error loading the AOF base file %s: "
                    "%s", name, err);
            goto out;
        }
        log_msg(LL_NOTICE, "Reading the remaining AOF tail...");
    }
    long long valid_to = 0;
    int rc = replay(&ld, &fc, &valid_to);
    if (rc == LD_BAD) {
        log_msg(LL_WARNING, "Bad file format reading the append only file "
                "%s: make a backup of your AOF file, then use "
                "./redis-check-aof --fix <filename.manifest>", name);
        log_msg(LL_WARNING, "AOF %s is corrupt at offset %lld (command "
                "starting at offset %lld): %s", name, ld.off, ld.cmd_start,
                ld.why ? ld.why : "bad data");
        goto out;
    }
    if (rc == LD_TORN) {
        if (!last) {
            log_msg(LL_WARNING, "Fatal error: the truncated file is not the "
                    "last file (%s ends inside a command at offset %lld)",
                    name, valid_to);
            goto out;
        }
        if (!n->aof_load_truncated) {
            log_msg(LL_WARNING, "Unexpected end of file reading the append "
                    "only file %s (offset %lld). You can: 1) Make a backup "
                    "of your AOF file, then use ./redis-check-aof --fix "
                    "<filename.manifest>. 2) Alternatively you can set the "
                    "'aof-load-truncated' configuration option to yes and "
                    "restart the server.", name, valid_to);
            goto out;
        }
        log_msg(LL_WARNING, "!!! Warning: short read while loading the AOF "
                "file %s!!!", name);
        log_msg(LL_WARNING, "!!! Truncating the AOF %s at offset %lld !!!",
                name, valid_to);
        if (truncate(path, valid_to) != 0) {
            log_msg(LL_WARNING, "Error truncating the AOF file %s: %s", name,
                    strerror(errno));
            goto out;
        }
        log_msg(LL_WARNING, "AOF %s loaded anyway because aof-load-truncated "
                "is enabled", name);
        ld.off = valid_to;
    }
    *size += ld.off;
    ret = 0;
out:
    if (ld.f) fclose(ld.f);
    ts_free(iobuf);
    fake_client_deinit(&fc);
    buf_deinit(&ld.arena);
    ts_free(ld.argv);
    ts_free(ld.arglen);
    ts_free(path);
    return ret;
}

int aof_load_files(node_t *n, const aof_manifest_t *m, long long *size)
{
    int total = (m->base.name ? 1 : 0) + m->nincr;
    long long start = node_mono_us();
    *size = 0;
    for (int i = 0; i < total; i++) {
        int is_base = m->base.name && i == 0;
        const char *name = is_base ? m->base.name
                                   : m->incr[i - (m->base.name ? 1 : 0)].name;
        struct stat st;
        char *path = aof_path(n, name);
        int exists = stat(path, &st) == 0;
        ts_free(path);
        if (!exists) {
            log_msg(LL_WARNING, "The AOF file %s doesn't exist", name);
            return -1;
        }
        if (load_file(n, name, i == total - 1, is_base, size) != 0) return -1;
        log_msg(LL_NOTICE, "DB loaded from %s file %s: %.3f seconds",
                is_base ? "base" : "incr", name,
                (double)(node_mono_us() - start) / 1e6);
    }
    return 0;
}
