/* rsample: the judgement of a resolver's window of upstream queries (fixed, few, or
 * sequential ports and ids against well-randomised ones), one report per resolver and
 * violation per hold, nothing below a full window, and the table's bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rules/rsample.h"

#define SEC 1000000ull

static uint64_t rng_state;
static uint32_t rng(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return (uint32_t)(z ^ (z >> 31));
}

static const uint8_t RES[4] = {10, 10, 0, 53};

static void test_judge(void **st)
{
    (void)st;
    uint16_t v[RSAMPLE_WINDOW];
    for (unsigned i = 0; i < RSAMPLE_WINDOW; i++)
        v[i] = 40000;
    rsample_stat s = rsample_judge(v, RSAMPLE_WINDOW);
    assert_int_equal(s.distinct, 1);
    assert_int_equal(s.steps, 0);
    assert_true(s.bad);

    for (unsigned i = 0; i < RSAMPLE_WINDOW; i++)
        v[i] = (uint16_t)(65500 + i); /* wraps past 65535: still +1 steps */
    s = rsample_judge(v, RSAMPLE_WINDOW);
    assert_int_equal(s.distinct, 64);
    assert_int_equal(s.steps, 63);
    assert_true(s.bad);

    /* a NAT shared with others: steps of 1..20 */
    uint16_t p = 1000;
    for (unsigned i = 0; i < RSAMPLE_WINDOW; i++)
        v[i] = p += (uint16_t)(1 + i % 20);
    assert_true(rsample_judge(v, RSAMPLE_WINDOW).bad);

    /* a pool of 31 ports: never 32 distinct */
    rng_state = 1;
    for (unsigned i = 0; i < RSAMPLE_WINDOW; i++)
        v[i] = (uint16_t)(20000 + 997 * (rng() % 31));
    s = rsample_judge(v, RSAMPLE_WINDOW);
    assert_true(s.distinct < RSAMPLE_MIN_DISTINCT);
    assert_true(s.bad);

    /* Random values over 1024..65535, many seeds: never bad. And a pool of 256 ports
     * (8 bits), the smallest sane one: never bad either. */
    for (uint64_t seed = 1; seed <= 2000; seed++) {
        rng_state = seed;
        for (unsigned i = 0; i < RSAMPLE_WINDOW; i++)
            v[i] = (uint16_t)(1024 + rng() % 64512);
        s = rsample_judge(v, RSAMPLE_WINDOW);
        if (s.bad)
            fail_msg("random window judged bad (seed %llu: %u distinct, %u steps)",
                     (unsigned long long)seed, s.distinct, s.steps);
        for (unsigned i = 0; i < RSAMPLE_WINDOW; i++)
            v[i] = (uint16_t)(30000 + 509 * (rng() % 256));
        if (rsample_judge(v, RSAMPLE_WINDOW).bad)
            fail_msg("a random pool of 256 ports judged bad (seed %llu)", (unsigned long long)seed);
    }
    /* Short windows are not judged bad. */
    for (unsigned i = 0; i < RSAMPLE_WINDOW; i++)
        v[i] = 53;
    assert_false(rsample_judge(v, RSAMPLE_WINDOW - 1).bad);
}

/* Feeds n queries; returns how many reports came, the last in *last. */
static unsigned feed(rsample *s, unsigned n, int kind, uint64_t *t, rsample_verdict *last)
{
    unsigned reports = 0;
    for (unsigned i = 0; i < n; i++) {
        uint16_t port = (uint16_t)(1024 + rng() % 64512), id = (uint16_t)rng();
        if (kind == 1)
            port = 40000;
        if (kind == 2)
            id = (uint16_t)i;
        rsample_verdict v;
        *t += 10000;
        if (rsample_query(s, 4, RES, port, id, *t, &v)) {
            reports++;
            *last = v;
        }
    }
    return reports;
}

static void test_windows_and_hold(void **st)
{
    (void)st;
    rsample *s = rsample_new(0);
    assert_non_null(s);
    rsample_verdict v;
    uint64_t t = 1 * SEC;
    rng_state = 7;
    /* 63 fixed-port queries: no window yet */
    assert_int_equal(feed(s, RSAMPLE_WINDOW - 1, 1, &t, &v), 0);
    /* the 64th closes it: one report */
    assert_int_equal(feed(s, 1, 1, &t, &v), 1);
    assert_true(v.report_port);
    assert_false(v.report_id);
    assert_int_equal(v.port.distinct, 1);
    assert_int_equal(v.bad_windows_port, 1);
    assert_int_equal(v.last_ports[RSAMPLE_SHOW - 1], 40000);
    /* 10 more bad windows within the hold: no report */
    assert_int_equal(feed(s, 10 * RSAMPLE_WINDOW, 1, &t, &v), 0);
    /* but a new violation (sequential ids) is reported on its own */
    assert_int_equal(feed(s, RSAMPLE_WINDOW, 2, &t, &v), 1);
    assert_true(v.report_id);
    assert_false(v.report_port); /* (ports random in that window) */
    /* after the hold, the port again, with the bad windows in between */
    t += (uint64_t)RSAMPLE_HOLD_S * SEC;
    assert_int_equal(feed(s, RSAMPLE_WINDOW, 1, &t, &v), 1);
    assert_true(v.report_port);
    assert_int_equal(v.bad_windows_port, 11);
    /* a well-randomised resolver: never */
    assert_int_equal(feed(s, 100 * RSAMPLE_WINDOW, 0, &t, &v), 0);
    rsample_free(s);
}

/* The table is bounded: more resolvers than slots evict (counted); each resolver's
 * window restarts when it comes back. */
static void test_bounded(void **st)
{
    (void)st;
    rsample *s = rsample_new(16);
    assert_non_null(s);
    rsample_verdict v;
    uint8_t a[4] = {10, 20, 0, 0};
    for (unsigned r = 0; r < 1000; r++) {
        a[2] = (uint8_t)(r >> 8);
        a[3] = (uint8_t)r;
        for (unsigned i = 0; i < 10; i++)
            assert_false(rsample_query(s, 4, a, 53, 1, (r * 10 + i) * SEC, &v));
    }
    assert_true(rsample_evicted(s) >= 1000 - 16);
    rsample_free(s);
    rsample_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_judge),
        cmocka_unit_test(test_windows_and_hold),
        cmocka_unit_test(test_bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
