/*
 * check_config.c: the option table, redis.conf parsing, the command line,
 * CONFIG SET/GET/REWRITE (common/config.c).
 *
 * A small table shaped like the node's (one option of every type, an
 * alias, an immutable, a hidden, a multi-arg string, Redis's `save` as an
 * accumulating SPECIAL, hooks that validate and that fail to apply) is
 * driven through files in a temp directory, strings and argv vectors.
 * Expected texts are Redis 7.0.15's, checked against redis-server.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "alloc.h"
#include "config.h"
#include "log.h"

/* ------------------------------------------------------------------------
 * The test program's settings and table
 * ---------------------------------------------------------------------- */

typedef struct srv {
    int daemonize, appendonly, policy, loglevel, hidden;
    long long port, hz, maxmemory, offset, maxclients, even;
    char *dir, *masterauth, *bind, *replicaof;
    long long save[16];
    int nsave;
    int apply_calls, save_calls;
    int renames; /* rename-command lines seen */
    long long limit_hard, limit_soft;
    int empty_argc; /* argc the last "empty" multi-arg set got */
} srv_t;

static srv_t S;

static const char *const policy_names[] = {"volatile-lru", "allkeys-lru",
                                           "noeviction", NULL};

/* Redis's setConfigSaveOption: pairs of seconds >= 1, changes >= 0; no
 * arguments or the single "" mean "no save points". */
static const char *save_set(const config_opt_t *o, void *ctx, int argc,
                            char **argv)
{
    srv_t *s = ctx;
    long long v[16];

    s->save_calls++;
    if (argc == 1 && argv[0][0] == '\0') argc = 0;
    if (argc % 2 || argc > 16) return "Invalid save parameters";
    for (int i = 0; i < argc; i++) {
        char *end;
        v[i] = strtoll(argv[i], &end, 10);
        if (*end || (i % 2 == 0 && v[i] < 1) || (i % 2 == 1 && v[i] < 0))
            return "Invalid save parameters";
    }
    memcpy(s->save, v, sizeof(long long) * (size_t)argc);
    s->nsave = argc / 2;
    return NULL;
}

static void save_get(const config_opt_t *o, void *ctx, char *out, size_t n)
{
    srv_t *s = ctx;
    size_t off = 0;
    out[0] = '\0';
    for (int i = 0; i < s->nsave && off < n; i++)
        off += (size_t)snprintf(out + off, n - off, "%s%lld %lld", i ? " " : "",
                                s->save[2 * i], s->save[2 * i + 1]);
}

/* Like the node's rename-command: each line is one pair, nothing to show. */
static const char *rename_set(const config_opt_t *o, void *ctx, int argc,
                              char **argv)
{
    srv_t *s = ctx;
    if (argc != 2) return "wrong number of arguments";
    s->renames++;
    return NULL;
}

static void empty_get(const config_opt_t *o, void *ctx, char *out, size_t n)
{
    out[0] = '\0';
}

/* Like client-output-buffer-limit: a default written with units, shown in
 * bytes by the get hook. */
static const char *limits_set(const config_opt_t *o, void *ctx, int argc,
                              char **argv)
{
    srv_t *s = ctx;
    long long h, so;
    if (argc == 1 && argv[0][0] == '\0') {
        s->empty_argc = argc;
        s->limit_hard = s->limit_soft = 0;
        return NULL;
    }
    if (argc != 2 || config_parse_memory(argv[0], &h) != 0 ||
        config_parse_memory(argv[1], &so) != 0)
        return "bad limits";
    s->limit_hard = h;
    s->limit_soft = so;
    return NULL;
}

static void limits_get(const config_opt_t *o, void *ctx, char *out, size_t n)
{
    srv_t *s = ctx;
    if (s->limit_hard || s->limit_soft)
        snprintf(out, n, "%lld %lld", s->limit_hard, s->limit_soft);
    else
        out[0] = '\0';
}

/* Fails for 13, to exercise the rollback. */
static const char *maxclients_apply(const config_opt_t *o, void *ctx)
{
    srv_t *s = ctx;
    s->apply_calls++;
    return s->maxclients == 13 ? "boom" : NULL;
}

/* A validator on a typed option: sees the raw text first. */
static const char *even_set(const config_opt_t *o, void *ctx, int argc,
                            char **argv)
{
    size_t n = strlen(argv[0]);
    if (n == 0 || (argv[0][n - 1] - '0') % 2 != 0)
        return "argument must be even";
    return NULL;
}

static const config_opt_t opts[] = {
    {.name = "daemonize",
     .type = CONFIG_BOOL,
     .flags = CONFIG_IMMUTABLE,
     .ptr = &S.daemonize,
     .def = "no"},
    {.name = "appendonly",
     .type = CONFIG_BOOL,
     .ptr = &S.appendonly,
     .def = "no"},
    {.name = "port",
     .type = CONFIG_INT,
     .ptr = &S.port,
     .def = "6379",
     .min = 0,
     .max = 65535},
    {.name = "hz",
     .type = CONFIG_INT,
     .ptr = &S.hz,
     .def = "10",
     .min = 1,
     .max = 500},
    {.name = "maxmemory",
     .type = CONFIG_MEMORY,
     .ptr = &S.maxmemory,
     .def = "0"},
    {.name = "offset",
     .type = CONFIG_MEMORY,
     .ptr = &S.offset,
     .def = "-1",
     .min = -1024,
     .max = 1048576},
    {.name = "maxmemory-policy",
     .type = CONFIG_ENUM,
     .ptr = &S.policy,
     .def = "noeviction",
     .enum_names = policy_names},
    {.name = "loglevel",
     .type = CONFIG_ENUM,
     .ptr = &S.loglevel,
     .def = "notice",
     .enum_names = log_level_names},
    {.name = "dir", .type = CONFIG_STRING, .ptr = &S.dir, .def = "./"},
    {.name = "masterauth",
     .type = CONFIG_STRING,
     .flags = CONFIG_SENSITIVE,
     .ptr = &S.masterauth},
    {.name = "bind",
     .type = CONFIG_STRING,
     .flags = CONFIG_MULTI_ARG,
     .ptr = &S.bind,
     .def = "* -::*"},
    {.name = "replicaof",
     .alias = "slaveof",
     .type = CONFIG_STRING,
     .flags = CONFIG_MULTI_ARG,
     .ptr = &S.replicaof},
    {.name = "save",
     .type = CONFIG_SPECIAL,
     .flags = CONFIG_MULTI_ARG | CONFIG_ACCUMULATE,
     .def = "3600 1 300 100 60 10000",
     .set = save_set,
     .get = save_get},
    {.name = "maxclients",
     .type = CONFIG_INT,
     .ptr = &S.maxclients,
     .def = "10000",
     .min = 1,
     .max = 1000000,
     .apply = maxclients_apply},
    {.name = "even-number",
     .type = CONFIG_INT,
     .ptr = &S.even,
     .def = "2",
     .set = even_set},
    {.name = "debug-secret",
     .type = CONFIG_BOOL,
     .flags = CONFIG_HIDDEN,
     .ptr = &S.hidden,
     .def = "no"},
    {.name = "rename-command",
     .type = CONFIG_SPECIAL,
     .flags = CONFIG_IMMUTABLE | CONFIG_MULTI_ARG,
     .set = rename_set,
     .get = empty_get},
    {.name = "limits",
     .type = CONFIG_SPECIAL,
     .flags = CONFIG_MULTI_ARG,
     .def = "1kb 2kb",
     .set = limits_set,
     .get = limits_get},
};
#define NOPTS (sizeof(opts) / sizeof(opts[0]))

static config_t *C;
static char tmpdir[64];

static void setup(void)
{
    memset(&S, 0, sizeof(S));
    C = config_create(opts, NOPTS, &S);
    ck_assert_ptr_null(config_load_defaults(C));
    strcpy(tmpdir, "/tmp/check_config.XXXXXX");
    ck_assert_ptr_nonnull(mkdtemp(tmpdir));
}

static void rm_tree(const char *dir)
{
    char cmd[256];
    /* Only ever our own mkdtemp directory. */
    if (strncmp(dir, "/tmp/check_config.", 18) != 0) return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", dir);
}

static void teardown(void)
{
    config_destroy(C);
    C = NULL;
    rm_tree(tmpdir);
}

static char *path_in(const char *name)
{
    static char buf[4][256];
    static int next;
    char *p = buf[next++ % 4];
    snprintf(p, 256, "%s/%s", tmpdir, name);
    return p;
}

static void write_file(const char *path, const char *text)
{
    FILE *fp = fopen(path, "w");
    ck_assert_ptr_nonnull(fp);
    fputs(text, fp);
    fclose(fp);
}

static char *read_file(const char *path)
{
    static char buf[8192];
    FILE *fp = fopen(path, "r");
    ck_assert_ptr_nonnull(fp);
    size_t n = fread(buf, 1, sizeof(buf) - 1, fp);
    buf[n] = '\0';
    fclose(fp);
    return buf;
}

/* Load text, expect success. */
static void load_ok(const char *text)
{
    char *err = config_load_string(C, text);
    ck_assert_msg(err == NULL, "unexpected error: %s", err ? err : "");
}

/* Load text, expect the fatal block for `line` at `linenum` with `reason`. */
static void load_fails(const char *text, int linenum, const char *line,
                       const char *reason)
{
    char want[1024];
    snprintf(want, sizeof(want),
             "\n*** FATAL CONFIG FILE ERROR (Redis 7.0.15) ***\n"
             "Reading the configuration file, at line %d\n>>> '%s'\n%s\n",
             linenum, line, reason);
    char *err = config_load_string(C, text);
    ck_assert_msg(err != NULL, "no error for: %s", text);
    ck_assert_str_eq(err, want);
    ts_free(err);
}

/* A one-line text that fails on that line. */
static void line_fails(const char *line, const char *reason)
{
    load_fails(line, 1, line, reason);
}

static const char *get(const char *name)
{
    static char buf[1024];
    return config_get_value(C, name, buf, sizeof(buf));
}

/* ------------------------------------------------------------------------
 * Defaults and values of every type
 * ---------------------------------------------------------------------- */

START_TEST(test_defaults)
{
    ck_assert_int_eq(S.daemonize, 0);
    ck_assert_int_eq(S.port, 6379);
    ck_assert_int_eq(S.hz, 10);
    ck_assert_int_eq(S.offset, -1);
    ck_assert_int_eq(S.policy, 2);
    ck_assert_int_eq(S.loglevel, LL_NOTICE);
    ck_assert_str_eq(S.dir, "./");
    ck_assert_ptr_null(S.masterauth);
    ck_assert_str_eq(S.bind, "* -::*");
    ck_assert_ptr_null(S.replicaof);
    ck_assert_int_eq(S.nsave, 3);
    ck_assert_int_eq(S.maxclients, 10000);
    ck_assert_int_eq(S.apply_calls, 0); /* defaults never apply */
    ck_assert_str_eq(get("save"), "3600 1 300 100 60 10000");
    ck_assert_str_eq(get("masterauth"), "");
    ck_assert_ptr_null(get("nosuch"));
}
END_TEST

START_TEST(test_bad_default)
{
    static long long v;
    static const config_opt_t bad[] = {
        {.name = "small",
         .type = CONFIG_INT,
         .ptr = &v,
         .def = "50",
         .min = 1,
         .max = 10},
    };
    config_t *c = config_create(bad, 1, NULL);
    ck_assert_str_eq(config_load_defaults(c),
                     "Bad default for 'small': argument must be between 1 "
                     "and 10 inclusive");
    config_destroy(c);
}
END_TEST

START_TEST(test_every_type)
{
    load_ok("appendonly YES\n"
            "port 7000\n"
            "maxmemory 1gb\n"
            "offset -1kb\n"
            "maxmemory-policy ALLKEYS-LRU\n"
            "loglevel warning\n"
            "dir /var/lib/tessera\n"
            "masterauth s3cret\n"
            "bind 127.0.0.1 ::1\n"
            "slaveof 10.0.0.1 6379\n"
            "even-number 1234\n");
    ck_assert_int_eq(S.appendonly, 1);
    ck_assert_int_eq(S.port, 7000);
    ck_assert_int_eq(S.maxmemory, 1073741824LL);
    ck_assert_int_eq(S.offset, -1024);
    ck_assert_int_eq(S.policy, 1);
    ck_assert_int_eq(S.loglevel, LL_WARNING);
    ck_assert_str_eq(S.dir, "/var/lib/tessera");
    ck_assert_str_eq(S.masterauth, "s3cret");
    ck_assert_str_eq(S.bind, "127.0.0.1 ::1");
    ck_assert_str_eq(S.replicaof, "10.0.0.1 6379");
    ck_assert_int_eq(S.even, 1234);

    ck_assert_str_eq(get("appendonly"), "yes");
    ck_assert_str_eq(get("maxmemory"), "1073741824"); /* plain bytes */
    ck_assert_str_eq(get("offset"), "-1024");
    ck_assert_str_eq(get("maxmemory-policy"), "allkeys-lru");
    ck_assert_str_eq(get("SLAVEOF"), "10.0.0.1 6379");
}
END_TEST

START_TEST(test_memory_units)
{
    static const struct {
        const char *s;
        int ok;
        long long v;
    } cases[] = {
        {"0", 1, 0},
        {"1", 1, 1},
        {"100b", 1, 100},
        {"1k", 1, 1000},
        {"1kb", 1, 1024},
        {"1K", 1, 1000},
        {"1KB", 1, 1024},
        {"2m", 1, 2000000},
        {"2mb", 1, 2097152},
        {"5Mb", 1, 5242880},
        {"1g", 1, 1000000000},
        {"1gb", 1, 1073741824},
        {"1GB", 1, 1073741824},
        {"007", 1, 7},
        {"", 1, 0}, /* Redis's memtoull: no digits is 0 */
        {"gb", 1, 0},
        {"-1", 1, -1},
        {"-2kb", 1, -2048},
        {"9223372036854775807", 1, 9223372036854775807LL},
        {"-9223372036854775808", 1, (-9223372036854775807LL - 1)},
        {"9223372036854775808", 0, 0},
        {"8589934592gb", 0, 0}, /* 2^63 */
        {"99999999999999999999", 0, 0},
        {"1x", 0, 0},
        {"1.5gb", 0, 0},
        {" 1", 0, 0},
        {"1 ", 0, 0},
        {"+1", 0, 0},
        {"1tb", 0, 0},
        {"1gbb", 0, 0},
        {"0x10", 0, 0},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        long long v = 12345;
        int rc = config_parse_memory(cases[i].s, &v);
        ck_assert_msg((rc == 0) == cases[i].ok, "'%s' rc %d", cases[i].s, rc);
        if (cases[i].ok)
            ck_assert_msg(v == cases[i].v, "'%s' = %lld", cases[i].s, v);
    }
}
END_TEST

START_TEST(test_value_errors)
{
    const char *port_range = "argument must be between 0 and 65535 inclusive";
    const char *not_int = "argument couldn't be parsed into an integer";
    const char *not_mem = "argument must be a memory value";
    line_fails("appendonly maybe", "argument must be 'yes' or 'no'");
    line_fails("port 99999", port_range);
    line_fails("port -1", port_range);
    line_fails("port +5", not_int);
    line_fails("port 007", not_int);
    line_fails("port 1.5", not_int);
    line_fails("port \" 5\"", not_int);
    line_fails("port 1 2", "wrong number of arguments");
    line_fails("port", "wrong number of arguments");
    line_fails("maxmemory 1xb", not_mem);
    line_fails("maxmemory -5", not_mem);
    line_fails("offset -2kb",
               "argument must be between -1024 and 1048576 inclusive");
    line_fails("maxmemory-policy lru",
               "argument(s) must be one of the following: volatile-lru, "
               "allkeys-lru, noeviction");
    line_fails("even-number 3", "argument must be even");
    line_fails("save 100", "Invalid save parameters");
    /* The hook validates before the typed parse. */
    line_fails("even-number x1", "argument must be even");
    ck_assert_int_eq(S.port, 6379); /* nothing stored by failures */
}
END_TEST

/* ------------------------------------------------------------------------
 * Lexical rules
 * ---------------------------------------------------------------------- */

START_TEST(test_quoting)
{
    load_ok("dir \"a\\x41\\n\\t\\r\\b\\a\\\"\\\\z\\q\"");
    ck_assert_str_eq(S.dir, "aA\n\t\r\b\a\"\\zq");
    load_ok("dir 'it\\'s'");
    ck_assert_str_eq(S.dir, "it's");
    load_ok("dir 'a\\nb\"c'");
    ck_assert_str_eq(S.dir, "a\\nb\"c");
    load_ok("dir foo\"bar baz\"");
    ck_assert_str_eq(S.dir, "foobar baz");
    load_ok("dir \"\"");
    ck_assert_str_eq(S.dir, "");
    load_ok("dir \"\\x4g\""); /* not a hex escape: \x is 'x' */
    ck_assert_str_eq(S.dir, "x4g");
    load_ok("dir #notacomment");
    ck_assert_str_eq(S.dir, "#notacomment");
    load_ok("dir \"spaces after\"   \t");
    ck_assert_str_eq(S.dir, "spaces after");
}
END_TEST

START_TEST(test_unbalanced_quotes)
{
    const char *why = "Unbalanced quotes in configuration line";
    line_fails("dir \"abc", why);
    line_fails("dir \"abc\"def", why);
    line_fails("dir 'abc", why);
    line_fails("dir 'a'b", why);
    line_fails("dir \"a\\\"", why);
}
END_TEST

START_TEST(test_comments_blanks_case)
{
    load_ok("# a comment\n"
            "\n"
            "   # indented comment\n"
            "\t\n"
            "PoRt 7001\r\n"
            "  hz   20  \r\n"
            "\f\n"
            "MAXMEMORY-POLICY volatile-lru");
    ck_assert_int_eq(S.port, 7001);
    ck_assert_int_eq(S.hz, 20);
    ck_assert_int_eq(S.policy, 0);
}
END_TEST

START_TEST(test_line_numbers)
{
    load_fails("# comment\nport 7000\n\n  nosuch-directive  1 \nhz 5\n", 4,
               "nosuch-directive  1",
               "Bad directive or wrong number of arguments");
    load_fails("port 1\r\nhz 0\r\n", 2, "hz 0",
               "argument must be between 1 and 500 inclusive");
    line_fails("include", "Bad directive or wrong number of arguments");
}
END_TEST

/* ------------------------------------------------------------------------
 * save: accumulation across lines, files and the command line
 * ---------------------------------------------------------------------- */

START_TEST(test_save_accumulates)
{
    load_ok("save 900 1\nsave 300 10\n");
    ck_assert_int_eq(S.nsave, 2);
    ck_assert_str_eq(get("save"), "900 1 300 10");

    /* A new load starts a new list. */
    load_ok("save 60 5\n");
    ck_assert_str_eq(get("save"), "60 5");

    load_ok("save 900 1\nsave \"\"\n");
    ck_assert_int_eq(S.nsave, 0);
    load_ok("save ''\nsave 100 1\nsave 200 2 300 3\n");
    ck_assert_str_eq(get("save"), "100 1 200 2 300 3");
    /* An error reports the line that broke it. */
    load_fails("save 1 1\nsave 0 1\n", 2, "save 0 1",
               "Invalid save parameters");
}
END_TEST

/* ------------------------------------------------------------------------
 * include
 * ---------------------------------------------------------------------- */

START_TEST(test_include)
{
    char text[512];

    write_file(path_in("sub.conf"), "hz 42\nport 7100\n");
    snprintf(text, sizeof(text), "port 7000\ninclude %s\nappendonly yes\n",
             path_in("sub.conf"));
    write_file(path_in("main.conf"), text);
    char *err = config_load_file(C, path_in("main.conf"));
    ck_assert_ptr_null(err);
    ck_assert_int_eq(S.hz, 42);
    ck_assert_int_eq(S.port, 7100); /* later lines win */
    ck_assert_int_eq(S.appendonly, 1);
    ck_assert_str_eq(config_file_path(C), path_in("main.conf"));

    /* An error inside the included file names its own line. */
    write_file(path_in("bad.conf"), "hz 1\n\nhz 1000\n");
    snprintf(text, sizeof(text), "port 1\ninclude \"%s\"\n",
             path_in("bad.conf"));
    load_fails(text, 3, "hz 1000",
               "argument must be between 1 and 500 inclusive");

    /* A missing file is fatal. */
    snprintf(text, sizeof(text), "include %s\n", path_in("missing.conf"));
    err = config_load_string(C, text);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "can't open config file"));
    ck_assert_ptr_nonnull(strstr(err, "No such file or directory"));
    ts_free(err);

    /* Self-inclusion stops instead of recursing forever. */
    snprintf(text, sizeof(text), "include %s\n", path_in("loop.conf"));
    write_file(path_in("loop.conf"), text);
    err = config_load_file(C, path_in("loop.conf"));
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "Too many nested includes"));
    ts_free(err);
}
END_TEST

START_TEST(test_include_wildcard)
{
    char text[512];

    ck_assert_int_eq(mkdir(path_in("conf.d"), 0755), 0);
    write_file(path_in("conf.d/20-b.conf"), "port 2000\n");
    write_file(path_in("conf.d/10-a.conf"), "port 1000\nhz 11\n");
    write_file(path_in("conf.d/.hidden.conf"), "port 9999\n");
    write_file(path_in("conf.d/readme.txt"), "not a config\n");
    snprintf(text, sizeof(text), "include %s/conf.d/*.conf\n", tmpdir);
    load_ok(text);
    ck_assert_int_eq(S.port, 2000); /* sorted: 10-a then 20-b */
    ck_assert_int_eq(S.hz, 11);

    /* No match: nothing included, no error (empty conf.d). */
    snprintf(text, sizeof(text), "include %s/conf.d/*.none\nhz 12\n", tmpdir);
    load_ok(text);
    ck_assert_int_eq(S.hz, 12);
}
END_TEST

/* ------------------------------------------------------------------------
 * The command line
 * ---------------------------------------------------------------------- */

START_TEST(test_argv_overrides)
{
    write_file(path_in("a.conf"),
               "port 7000\nhz 20\nsave 900 1\nbind 10.0.0.1\n");
    char *argv[] = {path_in("a.conf"), "--port", "7001",   "--bind",
                    "127.0.0.1",       "::1",    "--dir",  "/tmp/a b\"c",
                    "--appendonly",    "yes",    "--save", "",
                    "--maxmemory",     "2mb"};
    char *err = config_load_argv(C, 14, argv);
    ck_assert_msg(err == NULL, "%s", err ? err : "");
    ck_assert_int_eq(S.port, 7001);
    ck_assert_int_eq(S.hz, 20);
    ck_assert_str_eq(S.bind, "127.0.0.1 ::1");
    ck_assert_str_eq(S.dir, "/tmp/a b\"c");
    ck_assert_int_eq(S.appendonly, 1);
    ck_assert_int_eq(S.nsave, 0); /* --save '' after the file's save */
    ck_assert_int_eq(S.maxmemory, 2097152);
    ck_assert_str_eq(config_file_path(C), path_in("a.conf"));
}
END_TEST

START_TEST(test_argv_forms)
{
    /* No file; name and value in one word; a value that starts with "--"
     * right after a bare name. */
    char *a1[] = {"--port 7002", "--dir", "--weird", "--hz", "33"};
    ck_assert_ptr_null(config_load_argv(C, 5, a1));
    ck_assert_int_eq(S.port, 7002);
    ck_assert_str_eq(S.dir, "--weird");
    ck_assert_int_eq(S.hz, 33);
    ck_assert_ptr_null(config_file_path(C));

    /* A bare --save followed by an option, and at the very end, mean
     * save "" (redis-server 7.0.1+). */
    char *a2[] = {"--save", "--port", "1"};
    ck_assert_ptr_null(config_load_argv(C, 3, a2));
    ck_assert_int_eq(S.nsave, 0);
    ck_assert_int_eq(S.port, 1);
    char *a3[] = {"--save", "100", "1"};
    ck_assert_ptr_null(config_load_argv(C, 3, a3));
    ck_assert_str_eq(get("save"), "100 1");
    char *a4[] = {"--port", "2", "--save"};
    ck_assert_ptr_null(config_load_argv(C, 3, a4));
    ck_assert_int_eq(S.nsave, 0);

    /* Accumulation spans file and command line, as in redis-server. */
    write_file(path_in("s.conf"), "save 900 1\nsave 300 10\n");
    char *a5[] = {path_in("s.conf"), "--save", "60", "5"};
    ck_assert_ptr_null(config_load_argv(C, 4, a5));
    ck_assert_str_eq(get("save"), "900 1 300 10 60 5");

    /* Errors in options count lines after the file's. */
    write_file(path_in("two.conf"), "port 1\nhz 2");
    char *a6[] = {path_in("two.conf"), "--hz", "1000"};
    char *err = config_load_argv(C, 3, a6);
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "at line 3\n>>> 'hz \"1000\"'\n"));
    ts_free(err);

    char *a7[] = {"--nosuch", "1"};
    err = config_load_argv(C, 2, a7);
    ck_assert_ptr_nonnull(strstr(err, "Bad directive or wrong number"));
    ts_free(err);

    char *a8[] = {path_in("missing.conf")};
    err = config_load_argv(C, 1, a8);
    ck_assert_ptr_nonnull(strstr(err, "can't open config file"));
    ts_free(err);
}
END_TEST

START_TEST(test_argv_stdin)
{
    /* "-" reads the config from stdin (checked in a forked test). */
    write_file(path_in("stdin.conf"), "port 7777\nhz 44\n");
    int fd = open(path_in("stdin.conf"), O_RDONLY);
    ck_assert_int_ge(fd, 0);
    ck_assert_int_ge(dup2(fd, STDIN_FILENO), 0);
    close(fd);
    char *argv[] = {"-", "--hz", "45"};
    ck_assert_ptr_null(config_load_argv(C, 3, argv));
    ck_assert_int_eq(S.port, 7777);
    ck_assert_int_eq(S.hz, 45);
    ck_assert_ptr_null(config_file_path(C));
}
END_TEST

/* ------------------------------------------------------------------------
 * CONFIG SET
 * ---------------------------------------------------------------------- */

static const char *set1(const char *name, const char *value)
{
    char *argv[] = {(char *)value};
    return config_set(C, name, 1, argv, 1);
}

/* CONFIG SET name value fails with Redis's message naming `arg`. */
static void set_fails(const char *name, const char *value, const char *arg,
                      const char *why)
{
    char want[512];
    snprintf(want, sizeof(want),
             "ERR CONFIG SET failed (possibly related to argument '%s') - %s",
             arg, why);
    ck_assert_str_eq(set1(name, value), want);
}

START_TEST(test_set_errors)
{
    ck_assert_str_eq(set1("nosuch", "1"),
                     "ERR Unknown option or number of arguments for CONFIG "
                     "SET - 'nosuch'");
    set_fails("DAEMONIZE", "yes", "DAEMONIZE", "can't set immutable config");
    set_fails("port", "99999", "port",
              "argument must be between 0 and 65535 inclusive");
    set_fails("APPENDONLY", "maybe", "appendonly",
              "argument must be 'yes' or 'no'");
    set_fails("maxmemory-policy", "x", "maxmemory-policy",
              "argument(s) must be one of the following: volatile-lru, "
              "allkeys-lru, noeviction");
    set_fails("maxmemory", "-5", "maxmemory",
              "argument must be a memory value");
    set_fails("hz", "abc", "hz",
              "argument couldn't be parsed into an integer");
    char *two[] = {"1", "2"};
    ck_assert_ptr_nonnull(config_set(C, "port", 2, two, 1));
    ck_assert_int_eq(S.port, 6379);
    ck_assert_int_eq(S.daemonize, 0);

    /* At start-up (runtime 0) immutables can be set, errors are bare. */
    char *yes[] = {"yes"};
    ck_assert_ptr_null(config_set(C, "daemonize", 1, yes, 0));
    ck_assert_int_eq(S.daemonize, 1);
    char *big[] = {"70000"};
    ck_assert_str_eq(config_set(C, "port", 1, big, 0),
                     "argument must be between 0 and 65535 inclusive");
}
END_TEST

START_TEST(test_set_values)
{
    ck_assert_ptr_null(set1("maxmemory", "2GB"));
    ck_assert_int_eq(S.maxmemory, 2147483648LL);
    ck_assert_str_eq(get("maxmemory"), "2147483648");
    ck_assert_ptr_null(set1("maxmemory", "")); /* as Redis: 0 */
    ck_assert_int_eq(S.maxmemory, 0);
    ck_assert_ptr_null(set1("dir", "/a"));
    ck_assert_ptr_null(set1("dir", "/b")); /* old string freed (ASan) */
    ck_assert_str_eq(S.dir, "/b");
    ck_assert_ptr_null(set1("slaveof", "1.2.3.4 6380"));
    ck_assert_str_eq(S.replicaof, "1.2.3.4 6380");
    ck_assert_ptr_null(set1("bind", "0.0.0.0"));
    ck_assert_str_eq(S.bind, "0.0.0.0");
}
END_TEST

START_TEST(test_set_multi_arg_special)
{
    ck_assert_ptr_null(set1("save", "100 1 200 2"));
    ck_assert_str_eq(get("save"), "100 1 200 2");
    /* A failed set leaves the old value. */
    set_fails("save", "100 1 200", "save", "Invalid save parameters");
    ck_assert_str_eq(get("save"), "100 1 200 2");
    /* Split on single spaces, as Redis: "a  b" has an empty middle. */
    ck_assert_ptr_nonnull(set1("save", "100  1"));
    ck_assert_ptr_null(set1("save", ""));
    ck_assert_int_eq(S.nsave, 0);
    /* Several argv entries pass through as they are. */
    char *argv[] = {"5", "6"};
    ck_assert_ptr_null(config_set(C, "save", 2, argv, 1));
    ck_assert_str_eq(get("save"), "5 6");
}
END_TEST

START_TEST(test_set_apply_and_rollback)
{
    ck_assert_ptr_null(set1("maxclients", "500"));
    ck_assert_int_eq(S.maxclients, 500);
    ck_assert_int_eq(S.apply_calls, 1);

    /* Same value: nothing changed, apply not called (Redis's "2"). */
    ck_assert_ptr_null(set1("maxclients", "500"));
    ck_assert_int_eq(S.apply_calls, 1);

    /* Apply fails: old value restored and re-applied, error reported. */
    set_fails("maxclients", "13", "maxclients", "boom");
    ck_assert_int_eq(S.maxclients, 500);
    ck_assert_int_eq(S.apply_calls, 3);

    /* Invalid values never reach apply. */
    ck_assert_ptr_nonnull(set1("maxclients", "0"));
    ck_assert_int_eq(S.apply_calls, 3);
}
END_TEST

/* ------------------------------------------------------------------------
 * CONFIG GET
 * ---------------------------------------------------------------------- */

typedef struct collected {
    char text[2048];
    int n;
} collected_t;

static void collect(void *arg, const char *name, const char *value)
{
    collected_t *c = arg;
    size_t off = strlen(c->text);
    snprintf(c->text + off, sizeof(c->text) - off, "%s=%s;", name, value);
    c->n++;
}

static const char *matching(const char *pattern)
{
    static collected_t c;
    memset(&c, 0, sizeof(c));
    config_get_matching(C, pattern, collect, &c);
    return c.text;
}

START_TEST(test_get_matching)
{
    ck_assert_str_eq(matching("maxmemory*"),
                     "maxmemory=0;maxmemory-policy=noeviction;");
    ck_assert_str_eq(matching("MAXMEM*"),
                     "maxmemory=0;maxmemory-policy=noeviction;");
    ck_assert_str_eq(matching("slave*"), "slaveof=;");
    ck_assert_str_eq(matching("*of"), "replicaof=;slaveof=;");
    ck_assert_str_eq(matching("?ort"), "port=6379;");
    ck_assert_str_eq(matching("[ab]*"), "appendonly=no;bind=* -::*;");
    ck_assert_str_eq(matching("nosuch*"), "");
    /* Exact names: echoed as spelt, hidden options reachable. */
    ck_assert_str_eq(matching("PORT"), "PORT=6379;");
    ck_assert_str_eq(matching("debug-secret"), "debug-secret=no;");
    ck_assert_str_eq(matching("nosuch"), "");

    /* "*" lists every visible name and alias, hidden ones excluded. */
    const char *all = matching("*");
    ck_assert_ptr_null(strstr(all, "debug-secret"));
    ck_assert_ptr_nonnull(strstr(all, "save=3600 1 300 100 60 10000;"));
    int n = 0;
    for (const char *p = all; (p = strchr(p, ';')) != NULL; p++)
        n++;
    ck_assert_int_eq(n, (int)NOPTS - 1 + 1); /* - hidden + alias */
}
END_TEST

/* ------------------------------------------------------------------------
 * CONFIG REWRITE
 * ---------------------------------------------------------------------- */

START_TEST(test_rewrite_without_file)
{
    ck_assert_str_eq(config_rewrite(C, NULL),
                     "ERR The server is running without a config file");
}
END_TEST

static const char *orig_conf = "# Tessera test config\n"
                               "port 7000\n"
                               "\n"
                               "# Memory\n"
                               "maxmemory 100mb\n"
                               "save 900 1\n"
                               "save 300 10\n"
                               "\n"
                               "\n"
                               "include %s\n"
                               "slaveof 10.0.0.1 6379\n"
                               "HZ 10\n"
                               "maxclients 20\n";

START_TEST(test_rewrite_round_trip)
{
    char text[1024], want[2048];
    const char *conf = path_in("r.conf");

    write_file(path_in("inc.conf"), "# included\n");
    snprintf(text, sizeof(text), orig_conf, path_in("inc.conf"));
    write_file(conf, text);
    ck_assert_int_eq(chmod(conf, 0640), 0);
    ck_assert_ptr_null(config_load_file(C, conf));
    ck_assert_str_eq(get("save"), "900 1 300 10");

    ck_assert_ptr_null(set1("maxmemory", "2gb"));
    ck_assert_ptr_null(set1("appendonly", "yes"));
    ck_assert_ptr_null(set1("dir", "/tmp/with space\n\"q\""));
    ck_assert_ptr_null(set1("save", "60 5"));
    ck_assert_ptr_null(set1("maxclients", "10000")); /* back to default */
    ck_assert_ptr_null(set1("offset", "1mb"));
    ck_assert_ptr_null(set1("masterauth", "pw"));
    ck_assert_ptr_null(config_rewrite(C, NULL));

    snprintf(want, sizeof(want),
             "# Tessera test config\n"
             "port 7000\n"
             "\n"
             "# Memory\n"
             "maxmemory 2gb\n"
             "save 60 5\n"
             "\n"
             "include %s\n"
             "replicaof 10.0.0.1 6379\n"
             "hz 10\n"
             "maxclients 10000\n"
             "# Generated by CONFIG REWRITE\n"
             "appendonly yes\n"
             "offset 1mb\n"
             "dir \"/tmp/with space\\n\\\"q\\\"\"\n"
             "masterauth \"pw\"\n",
             path_in("inc.conf"));
    ck_assert_str_eq(read_file(conf), want);

    /* Mode kept, no temp file left behind. */
    struct stat st;
    ck_assert_int_eq(stat(conf, &st), 0);
    ck_assert_int_eq(st.st_mode & 0777, 0640);
    char cmd[300];
    snprintf(cmd, sizeof(cmd), "ls %s | grep -q 'r.conf.'", tmpdir);
    ck_assert_int_ne(system(cmd), 0);

    /* Rewriting again changes nothing (one signature only). */
    ck_assert_ptr_null(config_rewrite(C, NULL));
    ck_assert_str_eq(read_file(conf), want);

    /* Reload into a fresh config: same values. */
    srv_t before = S;
    char *dir = ts_strdup(S.dir), *rep = ts_strdup(S.replicaof);
    config_destroy(C);
    memset(&S, 0, sizeof(S));
    C = config_create(opts, NOPTS, &S);
    ck_assert_ptr_null(config_load_defaults(C));
    ck_assert_ptr_null(config_load_file(C, conf));
    ck_assert_int_eq(S.maxmemory, before.maxmemory);
    ck_assert_int_eq(S.appendonly, 1);
    ck_assert_int_eq(S.port, 7000);
    ck_assert_int_eq(S.offset, 1048576);
    ck_assert_int_eq(S.maxclients, 10000);
    ck_assert_str_eq(S.dir, dir);
    ck_assert_str_eq(S.replicaof, rep);
    ck_assert_str_eq(S.masterauth, "pw");
    ck_assert_str_eq(get("save"), "60 5");
    ts_free(dir);
    ts_free(rep);
}
END_TEST

START_TEST(test_rewrite_removes_and_creates)
{
    const char *conf = path_in("n.conf");

    /* Values back at their defaults and NULL strings disappear from
     * lines that are no longer needed; a save list emptied is written as
     * save "" so that the default does not come back. */
    write_file(conf, "masterauth old\nsave 1 1\nport 6379\n");
    ck_assert_ptr_null(config_load_file(C, conf));
    ts_free(S.masterauth);
    S.masterauth = NULL;
    ck_assert_ptr_null(set1("save", ""));
    ck_assert_ptr_null(config_rewrite(C, NULL));
    ck_assert_str_eq(read_file(conf), "\nsave \"\"\nport 6379\n");

    /* A path that does not exist yet is created. */
    const char *fresh = path_in("fresh.conf");
    ck_assert_ptr_null(set1("hz", "99"));
    ck_assert_ptr_null(config_rewrite(C, fresh));
    ck_assert_str_eq(read_file(fresh),
                     "# Generated by CONFIG REWRITE\nhz 99\nsave \"\"\n");

    /* A directory that does not exist is an error. */
    const char *err = config_rewrite(C, "/nonexistent-dir/x.conf");
    ck_assert_ptr_nonnull(err);
    ck_assert_ptr_nonnull(strstr(err, "ERR Rewriting config file: "));
}
END_TEST

START_TEST(test_empty_multi_arg_form)
{
    /* CONFIG SET x "" reaches the setter as one empty argument. */
    S.empty_argc = -1;
    ck_assert_ptr_null(set1("limits", ""));
    ck_assert_int_eq(S.empty_argc, 1);
    ck_assert_str_eq(get("limits"), "");
    ck_assert_ptr_null(set1("limits", "1mb 2"));
    ck_assert_str_eq(get("limits"), "1048576 2");
    /* A failing set of a SPECIAL restores the old text. */
    ck_assert_ptr_nonnull(set1("limits", "x y"));
    ck_assert_str_eq(get("limits"), "1048576 2");

    /* A default of "" for a multi-arg option is the same form. */
    static srv_t T;
    static const config_opt_t one[] = {
        {.name = "limits",
         .type = CONFIG_SPECIAL,
         .flags = CONFIG_MULTI_ARG,
         .def = "",
         .set = limits_set,
         .get = limits_get},
    };
    T.empty_argc = -1;
    config_t *c = config_create(one, 1, &T);
    ck_assert_ptr_null(config_load_defaults(c));
    ck_assert_int_eq(T.empty_argc, 1);
    config_destroy(c);
}
END_TEST

START_TEST(test_rewrite_special_options)
{
    const char *conf = path_in("s.conf");

    write_file(conf, "rename-command FLUSHALL \"\"\n"
                     "rename-command CONFIG cfg\n"
                     "limits 1kb 2kb\n");
    ck_assert_ptr_null(config_load_file(C, conf));
    ck_assert_int_eq(S.renames, 2);
    ck_assert_str_eq(get("limits"), "1024 2048");

    /* Immutable SPECIAL lines survive verbatim; a SPECIAL at its default
     * (same get text as after the defaults) is not forced in. */
    ck_assert_ptr_null(config_rewrite(C, NULL));
    ck_assert_str_eq(read_file(conf), "rename-command FLUSHALL \"\"\n"
                                      "rename-command CONFIG cfg\n"
                                      "limits 1024 2048\n");
    const char *fresh = path_in("s2.conf");
    ck_assert_ptr_null(config_rewrite(C, fresh));
    ck_assert_str_eq(read_file(fresh), "");

    ck_assert_ptr_null(set1("limits", "10 20"));
    ck_assert_ptr_null(config_rewrite(C, fresh));
    ck_assert_str_eq(read_file(fresh),
                     "# Generated by CONFIG REWRITE\nlimits 10 20\n");
}
END_TEST

/* ------------------------------------------------------------------------ */

static Suite *config_suite(void)
{
    Suite *s = suite_create("config");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, test_defaults);
    tcase_add_test(tc, test_bad_default);
    tcase_add_test(tc, test_every_type);
    tcase_add_test(tc, test_memory_units);
    tcase_add_test(tc, test_value_errors);
    tcase_add_test(tc, test_quoting);
    tcase_add_test(tc, test_unbalanced_quotes);
    tcase_add_test(tc, test_comments_blanks_case);
    tcase_add_test(tc, test_line_numbers);
    tcase_add_test(tc, test_save_accumulates);
    tcase_add_test(tc, test_include);
    tcase_add_test(tc, test_include_wildcard);
    tcase_add_test(tc, test_argv_overrides);
    tcase_add_test(tc, test_argv_forms);
    tcase_add_test(tc, test_argv_stdin);
    tcase_add_test(tc, test_set_errors);
    tcase_add_test(tc, test_set_values);
    tcase_add_test(tc, test_set_multi_arg_special);
    tcase_add_test(tc, test_set_apply_and_rollback);
    tcase_add_test(tc, test_get_matching);
    tcase_add_test(tc, test_rewrite_without_file);
    tcase_add_test(tc, test_rewrite_round_trip);
    tcase_add_test(tc, test_rewrite_removes_and_creates);
    tcase_add_test(tc, test_empty_multi_arg_form);
    tcase_add_test(tc, test_rewrite_special_options);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    /* Warnings from the rollback path go to the log; keep them quiet. */
    log_setup("/dev/null", LL_WARNING);
    SRunner *sr = srunner_create(config_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    log_teardown();
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
