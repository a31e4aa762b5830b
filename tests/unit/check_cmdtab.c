/* check_cmdtab.c: the command table (common/cmdtab.c, commands.def). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "cmdtab.h"

static void setup(void)
{
    cmdtab_setup();
}

START_TEST(lookup_case_insensitive)
{
    const cmd_spec_t *c = cmdtab_lookup("GeT", 3);
    ck_assert_ptr_nonnull(c);
    ck_assert_int_eq(c->id, CMD_GET);
    ck_assert_int_eq(c->arity, 2);
    ck_assert_ptr_null(cmdtab_lookup("gett", 4));
    ck_assert_ptr_null(cmdtab_lookup("ge", 2));
    ck_assert_ptr_null(cmdtab_lookup("", 0));
    /* subcommands are not top-level names */
    ck_assert_ptr_null(cmdtab_lookup("client|kill", 11));
}
END_TEST

START_TEST(subcommands)
{
    const cmd_spec_t *client = cmdtab_lookup("client", 6);
    ck_assert(client->flags & CF_CONTAINER);
    const cmd_spec_t *kill = cmdtab_lookup_sub(client, "KILL", 4);
    ck_assert_ptr_nonnull(kill);
    ck_assert_str_eq(kill->name, "client|kill");
    ck_assert_ptr_eq(kill->parent, client);
    ck_assert_str_eq(kill->subname, "kill");
    ck_assert_ptr_null(cmdtab_lookup_sub(client, "nope", 4));
    const cmd_spec_t *subs[64];
    size_t n = cmdtab_subcommands(client, subs, 64);
    ck_assert_uint_ge(n, 10);
    for (size_t i = 0; i < n; i++) ck_assert_ptr_eq(subs[i]->parent, client);
}
END_TEST

START_TEST(every_entry_is_consistent)
{
    for (size_t i = 0; i < cmdtab_count(); i++) {
        const cmd_spec_t *c = cmdtab_get((cmd_id_t)i);
        ck_assert_int_eq(c->id, (int)i);
        ck_assert(c->arity != 0);
        /* lower case names */
        for (const char *p = c->name; *p; p++)
            ck_assert_msg(!(*p >= 'A' && *p <= 'Z'), "%s", c->name);
        /* key positions inside the arity */
        if (c->first_key > 0) {
            ck_assert_int_gt(c->key_step, 0);
            int min_args = c->arity > 0 ? c->arity : -c->arity;
            /* with "at least N" arguments the keys may all be optional
             * (SUNSUBSCRIBE: arity -1, keys from 1, as Redis 7.0) */
            if (c->arity > 0) ck_assert_int_lt(c->first_key, min_args);
            else ck_assert_int_le(c->first_key, min_args);
        }
        ck_assert(!((c->flags & CF_WRITE) && (c->flags & CF_READONLY)));
        if (!c->parent) ck_assert_ptr_eq(cmdtab_lookup(c->name, c->namelen), c);
    }
}
END_TEST

static int keys_of_args(const char *name, int argc, const char **args,
                        int *idx)
{
    resp_arg_t argv[16];
    for (int i = 0; i < argc; i++)
        argv[i] = (resp_arg_t){args[i], strlen(args[i])};
    const cmd_spec_t *c = cmdtab_lookup(name, strlen(name));
    return cmdtab_keys(c, argc, argv, idx, 16);
}

static int keys_of(const char *name, int argc, int *idx)
{
    resp_arg_t argv[16];
    for (int i = 0; i < argc; i++) argv[i] = (resp_arg_t){"x", 1};
    const cmd_spec_t *c = cmdtab_lookup(name, strlen(name));
    return cmdtab_keys(c, argc, argv, idx, 16);
}

START_TEST(key_positions)
{
    int idx[16];
    ck_assert_int_eq(keys_of("get", 2, idx), 1);
    ck_assert_int_eq(idx[0], 1);
    /* MSET a 1 b 2: keys at 1 and 3 */
    ck_assert_int_eq(keys_of("mset", 5, idx), 2);
    ck_assert_int_eq(idx[0], 1);
    ck_assert_int_eq(idx[1], 3);
    /* MSET a 1 b: both keys, as Redis's COMMAND GETKEYS says */
    ck_assert_int_eq(keys_of("mset", 4, idx), 2);
    ck_assert_int_eq(idx[1], 3);
    /* ZUNIONSTORE dst 2 a b: dst, a, b; bad numkeys: -1 */
    ck_assert_int_eq(keys_of("zunionstore", 5, idx), -1); /* "x" numkeys */
    /* DEL a b c */
    ck_assert_int_eq(keys_of("del", 4, idx), 3);
    ck_assert_int_eq(idx[2], 3);
    /* RENAME a b: both */
    ck_assert_int_eq(keys_of("rename", 3, idx), 2);
    const char *zu[] = {"zunionstore", "dst", "2", "a", "b"};
    ck_assert_int_eq(keys_of_args("zunionstore", 5, zu, idx), 3);
    ck_assert_int_eq(idx[0], 1);
    ck_assert_int_eq(idx[1], 3);
    ck_assert_int_eq(idx[2], 4);
    const char *lm[] = {"lmpop", "2", "a", "b", "LEFT"};
    ck_assert_int_eq(keys_of_args("lmpop", 5, lm, idx), 2);
    ck_assert_int_eq(idx[0], 2);
    const char *lm_bad[] = {"lmpop", "5", "a", "LEFT"};
    ck_assert_int_eq(keys_of_args("lmpop", 4, lm_bad, idx), -1);
    /* PING: none */
    ck_assert_int_eq(keys_of("ping", 1, idx), 0);
}
END_TEST

/* MIGRATE: the key at 3, or with an empty key what follows KEYS
 * (Redis's migrateGetKeys); KEYS after a non-empty key is not a key list */
START_TEST(migrate_key_positions)
{
    int idx[16];
    const char *one[] = {"migrate", "h", "1", "k", "0", "5", "COPY"};
    ck_assert_int_eq(keys_of_args("migrate", 7, one, idx), 1);
    ck_assert_int_eq(idx[0], 3);
    const char *many[] = {"migrate", "h", "1", "", "0", "5", "REPLACE",
                          "keys", "a", "b"};
    ck_assert_int_eq(keys_of_args("migrate", 10, many, idx), 2);
    ck_assert_int_eq(idx[0], 8);
    ck_assert_int_eq(idx[1], 9);
    const char *none[] = {"migrate", "h", "1", "", "0", "5", "KEYS"};
    ck_assert_int_eq(keys_of_args("migrate", 7, none, idx), 0);
    const char *named[] = {"migrate", "h", "1", "k", "0", "5", "KEYS", "a"};
    ck_assert_int_eq(keys_of_args("migrate", 8, named, idx), 1);
    ck_assert_int_eq(idx[0], 3);
    const cmd_spec_t *ra = cmdtab_lookup("restore-asking", 14);
    ck_assert_ptr_nonnull(ra);
    ck_assert(ra->flags & CF_ASKING);
    ck_assert_str_eq(cmdtab_flag_name(20), "asking");
}
END_TEST

START_TEST(flag_names_and_categories)
{
    ck_assert_str_eq(cmdtab_flag_name(0), "write");
    ck_assert_str_eq(cmdtab_flag_name(11), "fast");
    const char *cats[16];
    const cmd_spec_t *get = cmdtab_lookup("get", 3);
    size_t n = cmdtab_acl_categories(get, cats, 16);
    ck_assert_uint_eq(n, 3);   /* Redis 7.0: @read @string @fast */
    ck_assert_str_eq(cats[0], "@read");
    ck_assert_str_eq(cats[1], "@string");
    ck_assert_str_eq(cats[2], "@fast");
    ck_assert_str_eq(cmdtab_flag_name(21), "no_async_loading");
    ck_assert(cmdtab_lookup("save", 4)->flags & CF_NO_ASYNC_LOADING);
}
END_TEST

/* command_info.def: Redis's tips, key specs and docs history, kept for
 * every command Redis has, none for Tessera's own. */
START_TEST(captured_info)
{
    const cmd_spec_t *mget = cmdtab_lookup("mget", 4);
    ck_assert_ptr_nonnull(mget->tips_resp3);
    ck_assert_ptr_nonnull(strstr(mget->tips_resp3, "request_policy:multi_shard"));
    ck_assert_ptr_nonnull(mget->key_specs_resp3);
    ck_assert_uint_eq(mget->key_specs_len, strlen(mget->key_specs_resp3));
    const cmd_spec_t *getset = cmdtab_lookup("getset", 6);
    ck_assert_uint_eq(getset->docs_pairs, 3);  /* doc_flags .. replaced_by */
    ck_assert_int_eq(getset->docs_resp3[0], '$');
    const cmd_spec_t *t = cmdtab_lookup("tessera", 7);
    ck_assert_ptr_nonnull(t);
    ck_assert_ptr_null(t->tips_resp3);
    ck_assert_ptr_null(t->key_specs_resp3);
    ck_assert_uint_eq(t->docs_pairs, 0);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cmdtab");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, setup, NULL);
    tcase_add_test(tc, lookup_case_insensitive);
    tcase_add_test(tc, subcommands);
    tcase_add_test(tc, every_entry_is_consistent);
    tcase_add_test(tc, key_positions);
    tcase_add_test(tc, migrate_key_positions);
    tcase_add_test(tc, flag_names_and_categories);
    tcase_add_test(tc, captured_info);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
