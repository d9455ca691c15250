/* common/arr: capacity growth and the "unchanged on failure" promise. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/arr.h"

typedef struct item {
    uint64_t a, b;
} item;

static void test_growth(void **state)
{
    (void)state;
    item *v = NULL;
    size_t n = 0, cap = 0;
    for (unsigned i = 0; i < 1000; i++) {
        assert_int_equal(ARR_RESERVE(v, cap, n + 1, 8), 0);
        v[n++] = (item){i, ~(uint64_t)i};
    }
    assert_int_equal(cap, 1024); /* 8 doubled: the old hand-written growth */
    for (unsigned i = 0; i < 1000; i++)
        assert_true(v[i].a == i && v[i].b == ~(uint64_t)i);
    /* Room already there: nothing moves. */
    item *before = v;
    assert_int_equal(ARR_RESERVE(v, cap, 1024, 8), 0);
    assert_ptr_equal(v, before);
    /* A jump past several doublings lands on the first power that holds it. */
    assert_int_equal(ARR_RESERVE(v, cap, 5000, 8), 0);
    assert_int_equal(cap, 8192);
    free(v);
}

static void test_u32_cap(void **state)
{
    (void)state;
    uint32_t *v = NULL, cap = 0, n = 0;
    assert_int_equal(ARR_RESERVE(v, cap, (size_t)n + 2, 64), 0);
    assert_int_equal(cap, 64);
    v[0] = 7;
    /* More than a uint32_t capacity can count: refused, the block kept as it was. */
    uint32_t *keep = v;
    assert_int_equal(ARR_RESERVE(v, cap, (size_t)UINT32_MAX + 1, 64), -ENOMEM);
    assert_ptr_equal(v, keep);
    assert_int_equal(cap, 64);
    assert_int_equal(v[0], 7);
    free(v);
}

static void test_size_overflow(void **state)
{
    (void)state;
    item *v = NULL;
    size_t cap = 0;
    assert_int_equal(ARR_RESERVE(v, cap, 4, 4), 0);
    item *keep = v;
    /* need * sizeof(item) does not fit a size_t: refused before realloc could wrap. */
    assert_int_equal(ARR_RESERVE(v, cap, SIZE_MAX / 8, 4), -ENOMEM);
    assert_ptr_equal(v, keep);
    assert_int_equal(cap, 4);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_u32_cap),
        cmocka_unit_test(test_size_overflow),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
