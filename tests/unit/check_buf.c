/* check_buf.c: the growable byte buffer (common/buf.c). */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"

START_TEST(append_consume_roundtrip)
{
    buf_t b;
    buf_init(&b);
    buf_append(&b, "hello", 5);
    buf_putc(&b, ' ');
    buf_append_str(&b, "world");
    ck_assert_uint_eq(buf_len(&b), 11);
    ck_assert(memcmp(buf_rptr(&b), "hello world", 11) == 0);
    buf_consume(&b, 6);
    ck_assert_uint_eq(buf_len(&b), 5);
    ck_assert(memcmp(buf_rptr(&b), "world", 5) == 0);
    buf_consume(&b, 5);
    ck_assert_uint_eq(b.rpos, 0);   /* empty resets to the start */
    ck_assert_uint_eq(b.wpos, 0);
    buf_deinit(&b);
}
END_TEST

START_TEST(printf_long_and_short)
{
    buf_t b;
    buf_init(&b);
    buf_printf(&b, "%d-%s", 42, "x");
    ck_assert_uint_eq(buf_len(&b), 4);
    char big[1000];
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    buf_printf(&b, "%s", big);     /* longer than the stack buffer */
    ck_assert_uint_eq(buf_len(&b), 4 + 999);
    ck_assert(buf_rptr(&b)[4] == 'a' && buf_rptr(&b)[1002] == 'a');
    buf_deinit(&b);
}
END_TEST

START_TEST(compact_keeps_bytes)
{
    buf_t b;
    buf_init(&b);
    for (int i = 0; i < 1000; i++) buf_putc(&b, (char)('a' + i % 26));
    buf_consume(&b, 990);
    buf_compact(&b);
    ck_assert_uint_eq(b.rpos, 0);
    ck_assert_uint_eq(buf_len(&b), 10);
    for (int i = 0; i < 10; i++)
        ck_assert_int_eq(buf_rptr(&b)[i], 'a' + (990 + i) % 26);
    buf_deinit(&b);
}
END_TEST

START_TEST(reserve_grows_and_accounts)
{
    size_t before = ts_used_memory();
    buf_t b;
    buf_init(&b);
    buf_reserve(&b, 100000);
    ck_assert_uint_ge(buf_avail(&b), 100000);
    ck_assert_uint_ge(ts_used_memory() - before, 100000);
    buf_shrink(&b, 1024);           /* empty and large: released */
    ck_assert_ptr_null(b.data);
    ck_assert_uint_eq(ts_used_memory(), before);
    buf_deinit(&b);
}
END_TEST

START_TEST(try_reserve_failure_leaves_buffer)
{
    buf_t b;
    buf_init(&b);
    buf_append(&b, "abc", 3);
    ts_alloc_fail_after(1);
    ck_assert_int_eq(buf_try_reserve(&b, 1 << 20), -1);
    ck_assert_uint_eq(buf_len(&b), 3);
    ck_assert(memcmp(buf_rptr(&b), "abc", 3) == 0);
    ts_alloc_fail_after(0);
    ck_assert_int_eq(buf_try_reserve(&b, 1 << 20), 0);
    buf_deinit(&b);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("buf");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, append_consume_roundtrip);
    tcase_add_test(tc, printf_long_and_short);
    tcase_add_test(tc, compact_keeps_bytes);
    tcase_add_test(tc, reserve_grows_and_accounts);
    tcase_add_test(tc, try_reserve_failure_leaves_buffer);
    suite_add_tcase(s, tc);
    SRunner *sr = srunner_create(s);
    srunner_run_all(sr, CK_NORMAL);
    int failed = srunner_ntests_failed(sr);
    srunner_free(sr);
    return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
