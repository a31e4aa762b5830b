/*
 * check_auth.c: the proxy's users (proxy/auth.c): `user` lines in Redis's
 * ACL syntax, the default user from requirepass, password checks
 * (SHA-256, known answer: SHA-256("foobar") = c3ab8ff1...c0f4f2), the
 * NOPERM decisions (commands, categories, first arguments, %R~ / %W~ key
 * patterns, channel patterns) and ACL LIST's wording.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "auth.h"
#include "proxy.h"

#define FOOBAR_SHA256 \
    "c3ab8ff13720e8ad9047dd39466b3c8974e592c2fa383d4a3960714caef0c4f2"

static proxy_t *new_proxy(void)
{
    cmdtab_setup();
    return ts_calloc(1, sizeof(proxy_t));
}

static void free_proxy(proxy_t *p)
{
    auth_teardown(p);
    ts_free(p);
}

/* Apply one `user` line given as a space-separated string. */
static const char *line(proxy_t *p, const char *text)
{
    char *copy = strdup(text), *argv[32], *save = NULL;
    int argc = 0;
    for (char *t = strtok_r(copy, " ", &save); t && argc < 32;
         t = strtok_r(NULL, " ", &save))
        argv[argc++] = t;
    const char *err = auth_set_user(NULL, p, argc, argv);
    static char keep[600];
    if (err) snprintf(keep, sizeof(keep), "%s", err);
    free(copy);
    return err ? keep : NULL;
}

static int ok(proxy_t *p, const char *user, const char *pass)
{
    return auth_check(p, user, strlen(user), pass, strlen(pass)) != NULL;
}

START_TEST(default_user_from_requirepass)
{
    proxy_t *p = new_proxy();
    auth_setup(p);
    ck_assert(auth_default_open(p));
    ck_assert(ok(p, "default", "anything"));
    free_proxy(p);

    p = new_proxy();
    p->requirepass = "foobar";
    auth_setup(p);
    ck_assert(!auth_default_open(p));
    ck_assert(ok(p, "default", "foobar"));
    ck_assert(!ok(p, "default", "foobaR"));
    ck_assert(!ok(p, "default", "fooba"));
    ck_assert(!ok(p, "default", ""));
    ck_assert(!ok(p, "nobody", "foobar"));
    free_proxy(p);
}
END_TEST

START_TEST(user_lines)
{
    proxy_t *p = new_proxy();
    p->requirepass = "ignored";
    ck_assert_ptr_null(line(p, "app on >pw1 >pw2 ~* &* +@all"));
    ck_assert_ptr_null(line(p, "off1 off >pw ~* &* +@all"));
    ck_assert_ptr_null(line(p, "np on nopass allkeys allchannels allcommands"));
    ck_assert_ptr_null(line(p, "h on #" FOOBAR_SHA256));
    ck_assert_ptr_null(line(p, "rm on >a >b <a >foobar"));
    ck_assert_ptr_null(line(p, "rh on >foobar !" FOOBAR_SHA256 " >c"));
    ck_assert_ptr_null(line(p, "rs on >a resetpass >b"));
    ck_assert_ptr_null(line(p, "rst on >a ~* reset"));
    ck_assert_ptr_null(line(p, "default on >dpw ~* &* +@all"));
    ck_assert_ptr_null(line(p, "bare"));
    auth_setup(p);
    ck_assert(ok(p, "app", "pw1") && ok(p, "app", "pw2"));
    ck_assert(!ok(p, "app", "pw3"));
    ck_assert(!ok(p, "off1", "pw"));            /* disabled */
    ck_assert(ok(p, "np", "") && ok(p, "np", "x"));
    ck_assert(ok(p, "h", "foobar"));             /* #hash == >foobar */
    ck_assert(!ok(p, "rm", "a") && ok(p, "rm", "b") && ok(p, "rm", "foobar"));
    ck_assert(!ok(p, "rh", "foobar") && ok(p, "rh", "c"));
    ck_assert(!ok(p, "rs", "a") && ok(p, "rs", "b"));
    ck_assert(!ok(p, "rst", "a"));               /* reset: off, no pass */
    ck_assert(!ok(p, "bare", ""));               /* a line starts off */
    /* the `user default` line wins over requirepass */
    ck_assert(ok(p, "default", "dpw") && !ok(p, "default", "ignored"));
    ck_assert_str_eq(auth_default_user(p)->name, "default");
    free_proxy(p);
}
END_TEST

START_TEST(bad_lines_refused)
{
    proxy_t *p = new_proxy();
    ck_assert_str_eq(line(p, "foo on badrule"),
                     "Error in user declaration 'foo': Syntax error");
    ck_assert_str_eq(line(p, "foo on #abc"),
                     "Error in user declaration 'foo': The password hash must "
                     "be exactly 64 characters and contain only lowercase "
                     "hexadecimal characters");
    ck_assert_str_eq(line(p, "foo on <nothere"),
                     "Error in user declaration 'foo': The password you are "
                     "trying to remove from the user does not exist");
    static const char *const unknown[] = {"foo on +nosuch", "foo on -@nosuch",
                                          "foo on +client|nosuch",
                                          "foo on -select|0"};
    for (size_t i = 0; i < sizeof(unknown) / sizeof(unknown[0]); i++)
        ck_assert_str_eq(line(p, unknown[i]),
                         "Error in user declaration 'foo': Unknown command or "
                         "category name in ACL");
    ck_assert_str_eq(line(p, "foo on +get|"),
                     "Error in user declaration 'foo': Syntax error");
    ck_assert_str_eq(line(p, "foo on +config|get|x"),
                     "Error in user declaration 'foo': Allowing first-arg of "
                     "a subcommand is not supported");
    ck_assert_str_eq(line(p, "foo on %RX~a"),
                     "Error in user declaration 'foo': Syntax error");
    ck_assert(strstr(line(p, "foo on allkeys ~a"), "(or the 'allkeys' flag)"));
    ck_assert(strstr(line(p, "foo on &* &a"), "(or the 'allchannels' flag)"));
    /* selectors are refused, naming the rule */
    ck_assert(strstr(line(p, "foo on (~x"),
                     "does not support ACL selectors ('(~x')"));
    ck_assert_ptr_null(line(p, "foo on"));
    ck_assert_str_eq(line(p, "foo off"),
                     "Error in user declaration 'foo': Duplicate user found. "
                     "A user can only be defined once in config files");
    free_proxy(p);
}
END_TEST

static const char *perm(const acl_user_t *u, const char *a0, const char *a1,
                        const char *a2)
{
    static char buf[160];
    resp_arg_t av[3] = {{a0, strlen(a0)}, {a1, a1 ? strlen(a1) : 0},
                        {a2, a2 ? strlen(a2) : 0}};
    int argc = a2 ? 3 : a1 ? 2 : 1;
    const cmd_spec_t *cmd = cmdtab_lookup(a0, strlen(a0));
    ck_assert_ptr_nonnull(cmd);
    if ((cmd->flags & CF_CONTAINER) && a1)
        cmd = cmdtab_lookup_sub(cmd, a1, strlen(a1));
    return auth_perm_error(u, cmd, argc, av, buf, sizeof(buf));
}

START_TEST(permissions_all_or_nothing)
{
    proxy_t *p = new_proxy();
    ck_assert_ptr_null(line(p, "all on nopass ~* &* +@all"));
    ck_assert_ptr_null(line(p, "nokeys on nopass &* +@all"));
    ck_assert_ptr_null(line(p, "nochan on nopass ~* +@all"));
    ck_assert_ptr_null(line(p, "nocmd on nopass ~* &*"));
    auth_setup(p);
    const acl_user_t *all = auth_check(p, "all", 3, "", 0);
    const acl_user_t *nokeys = auth_check(p, "nokeys", 6, "", 0);
    const acl_user_t *nochan = auth_check(p, "nochan", 6, "", 0);
    const acl_user_t *nocmd = auth_check(p, "nocmd", 5, "", 0);
    ck_assert_ptr_null(perm(all, "get", "k", NULL));
    ck_assert_ptr_null(perm(all, "publish", "ch", "m"));

    static const char keys_err[] = "NOPERM this user has no permissions to "
                                   "access one of the keys used as arguments";
    static const char chan_err[] = "NOPERM this user has no permissions to "
                                   "access one of the channels used as "
                                   "arguments";
    ck_assert_str_eq(perm(nokeys, "get", "k", NULL), keys_err);
    ck_assert_ptr_null(perm(nokeys, "ping", NULL, NULL));
    ck_assert_ptr_null(perm(nokeys, "publish", "ch", "m"));
    ck_assert_ptr_null(perm(nokeys, "dbsize", NULL, NULL));

    ck_assert_str_eq(perm(nochan, "publish", "ch", "m"), chan_err);
    ck_assert_str_eq(perm(nochan, "spublish", "ch", "m"), chan_err);
    ck_assert_ptr_null(perm(nochan, "get", "k", NULL));

    ck_assert_str_eq(perm(nocmd, "ping", NULL, NULL),
                     "NOPERM this user has no permissions to run the 'ping' "
                     "command");
    ck_assert_str_eq(perm(nocmd, "client", "info", NULL),
                     "NOPERM this user has no permissions to run the "
                     "'client|info' command");
    ck_assert_ptr_null(perm(nocmd, "auth", "x", NULL));   /* no-auth flag */
    ck_assert_ptr_null(perm(nocmd, "hello", "3", NULL));
    free_proxy(p);
}
END_TEST

START_TEST(permissions_fine)
{
    proxy_t *p = new_proxy();
    ck_assert_ptr_null(line(p, "app on nopass ~cache:* %R~ro:* %W~wo:* "
                               "&news &n* +@all -@dangerous -set +set"));
    ck_assert_ptr_null(line(p, "rd on nopass allkeys -@all +@read +select|0 "
                               "+client|id"));
    auth_setup(p);
    const acl_user_t *app = auth_check(p, "app", 3, "", 0);
    const acl_user_t *rd = auth_check(p, "rd", 2, "", 0);
    ck_assert(!app->unrestricted && !rd->unrestricted);
    static const char keys_err[] = "NOPERM this user has no permissions to "
                                   "access one of the keys used as arguments";
    static const char chan_err[] = "NOPERM this user has no permissions to "
                                   "access one of the channels used as "
                                   "arguments";
    ck_assert_ptr_null(perm(app, "get", "cache:1", NULL));
    ck_assert_str_eq(perm(app, "get", "other", NULL), keys_err);
    ck_assert_ptr_null(perm(app, "get", "ro:1", NULL));        /* R */
    ck_assert_str_eq(perm(app, "set", "ro:1", "v"), keys_err);  /* needs W */
    ck_assert_ptr_null(perm(app, "set", "wo:1", "v"));
    ck_assert_str_eq(perm(app, "get", "wo:1", NULL), keys_err); /* needs R */
    ck_assert_str_eq(perm(app, "incr", "wo:1", NULL), keys_err);/* R and W */
    ck_assert_ptr_null(perm(app, "exists", "wo:1", NULL));      /* neither */
    ck_assert_ptr_null(perm(app, "publish", "news", "m"));
    ck_assert_ptr_null(perm(app, "publish", "nx", "m"));        /* &n* */
    ck_assert_str_eq(perm(app, "publish", "other", "m"), chan_err);
    ck_assert_ptr_null(perm(app, "psubscribe", "n*", NULL));    /* literal */
    ck_assert_str_eq(perm(app, "psubscribe", "n?", NULL), chan_err);
    ck_assert_str_eq(perm(app, "flushall", NULL, NULL),
                     "NOPERM this user has no permissions to run the "
                     "'flushall' command");
    ck_assert_str_eq(perm(app, "client", "kill", "x"),
                     "NOPERM this user has no permissions to run the "
                     "'client|kill' command");
    ck_assert_ptr_null(perm(app, "client", "id", NULL));
    ck_assert_ptr_null(perm(rd, "get", "k", NULL));
    ck_assert_ptr_null(perm(rd, "select", "0", NULL));          /* first-arg */
    ck_assert_ptr_nonnull(perm(rd, "select", "1", NULL));
    ck_assert_ptr_null(perm(rd, "client", "id", NULL));
    ck_assert_ptr_nonnull(perm(rd, "client", "info", NULL));
    ck_assert_ptr_nonnull(perm(rd, "set", "k", "v"));

    /* ACL LIST's words, as Redis 7.0 gives them for these lines */
    buf_t b;
    buf_init(&b);
    auth_describe_user(app, &b);
    buf_putc(&b, '\0');
    ck_assert_str_eq(buf_rptr(&b), "on nopass ~cache:* %R~ro:* %W~wo:* "
                                   "resetchannels &news &n* +@all "
                                   "-@dangerous");
    buf_clear(&b);
    auth_describe_user(rd, &b);
    buf_putc(&b, '\0');
    /* single commands in table order (Redis: its hash table's) */
    ck_assert_str_eq(buf_rptr(&b), "on nopass ~* resetchannels -@all +@read "
                                   "+select|0 +client|id");
    buf_deinit(&b);
    free_proxy(p);
}
END_TEST

static Suite *auth_suite(void)
{
    Suite *s = suite_create("auth");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, default_user_from_requirepass);
    tcase_add_test(tc, user_lines);
    tcase_add_test(tc, bad_lines_refused);
    tcase_add_test(tc, permissions_all_or_nothing);
    tcase_add_test(tc, permissions_fine);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    SRunner *sr = srunner_create(auth_suite());
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
