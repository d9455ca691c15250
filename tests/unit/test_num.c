/* common/num: the one integer parser. Its syntax is every caller's syntax, so the
 * edges are pinned here: what is a number, what is out of range, what is neither. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "common/num.h"

static void test_decimal(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(num_parse_u64("0", 0, 10, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(num_parse_u64("0065535", 0, 65535, &v), 0); /* leading zeros */
    assert_int_equal(v, 65535);
    assert_int_equal(num_parse_u64("18446744073709551615", 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(num_parse_u64n("12345", 3, 0, 1000, &v), 0); /* only the first 3 */
    assert_int_equal(v, 123);
}

static void test_decimal_range(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(num_parse_u64("65536", 0, 65535, &v), -ERANGE);
    assert_int_equal(num_parse_u64("0", 1, 64, &v), -ERANGE);
    /* Overflow is out of range, never a wrapped value that happens to fit. */
    assert_int_equal(num_parse_u64("18446744073709551616", 0, UINT64_MAX, &v), -ERANGE);
    assert_int_equal(num_parse_u64("36893488147419103233", 0, UINT64_MAX, &v), -ERANGE);
    assert_int_equal(v, 7); /* untouched on error */
}

static void test_decimal_syntax(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", " 5", "5 ", "+5", "-5", " -5", "0x10", "1e3", "5.0", "12a", "\t1", "１",
        "99999999999999999999999x", /* too big AND not a number: not a number */
    };
    uint64_t v = 7;
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(num_parse_u64(bad[i], 0, UINT64_MAX, &v), -EINVAL);
    assert_int_equal(num_parse_u64(NULL, 0, 1, &v), -EINVAL);
    assert_int_equal(num_parse_u64n("5", 0, 0, 10, &v), -EINVAL);
    assert_int_equal(v, 7);
}

static void test_hex(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(num_parse_hex_u64n("00000000000000fF", 16, &v), 0);
    assert_int_equal(v, 255);
    assert_int_equal(num_parse_hex_u64n("ffffffffffffffff", 16, &v), 0);
    assert_true(v == UINT64_MAX);
    assert_int_equal(num_parse_hex_u64n("10000000000000000", 17, &v), -ERANGE);
    assert_int_equal(num_parse_hex_u64n("0000000000000001", 16, &v), 0);
    assert_int_equal(v, 1);
    /* What strtoull(..., 16) would take inside a fixed-width field. */
    static const char *const bad[] = {"0x00000000000001", "+000000000000001", " 00000000000001",
                                      "-000000000000001", "000000000000000g"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(num_parse_hex_u64n(bad[i], 16, &v), -EINVAL);
    assert_int_equal(num_parse_hex_u64n("", 0, &v), -EINVAL);
}

static void test_digits(void **state)
{
    (void)state;
    assert_int_equal(num_digits("123K"), 3);
    assert_int_equal(num_digits("K"), 0);
    assert_int_equal(num_digits(""), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decimal),        cmocka_unit_test(test_decimal_range),
        cmocka_unit_test(test_decimal_syntax), cmocka_unit_test(test_hex),
        cmocka_unit_test(test_digits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
