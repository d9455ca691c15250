/* sensor/learn_agg: the two generalisations `dnswatch learn` makes, pinned at their edges:
 * prefixes never wider than the units seen (siblings only, /16 and /32 at most), CNAME
 * targets generalised only below the registrable domain and only for 3 or more. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rules/prefixset.h"
#include "sensor/learn_agg.h"

/* v[n] from addresses: each its unit, count 1, first/last = its index. */
static size_t units(learn_prefix *v, const char *const *addrs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t a[16] = {0};
        int family = strchr(addrs[i], ':') ? 6 : 4;
        assert_int_equal(inet_pton(family == 4 ? AF_INET : AF_INET6, addrs[i], a), 1);
        memset(&v[i], 0, sizeof v[i]);
        v[i].family = family;
        v[i].plen = learn_unit(family, a, v[i].addr);
        memcpy(v[i].example, a, 16);
        v[i].count = 1;
        v[i].first_us = v[i].last_us = i;
        v[i].n_units = 1;
    }
    return n;
}

/* The aggregated prefixes as "p1 p2 ..." */
static const char *agg(const char *const *addrs, size_t n)
{
    static char out[2048];
    learn_prefix v[64];
    assert_true(n <= 64);
    size_t k = learn_prefixes_aggregate(v, units(v, addrs, n));
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < k; i++) {
        char p[64];
        prefix_format(v[i].family, v[i].addr, v[i].plen, p);
        at += (size_t)snprintf(out + at, sizeof out - at, "%s%s", i ? " " : "", p);
    }
    return out;
}

#define AGG(...)                                                                       \
    agg((const char *const[]){__VA_ARGS__},                                           \
        sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void test_units(void **state)
{
    (void)state;
    assert_string_equal(AGG("151.101.0.223"), "151.101.0.0/24");
    assert_string_equal(AGG("2a04:4e42:200::223"), "2a04:4e42:200::/48");
    /* the same unit twice is one prefix */
    assert_string_equal(AGG("151.101.0.223", "151.101.0.1"), "151.101.0.0/24");
}

static void test_siblings_only(void **state)
{
    (void)state;
    /* 10.40.2/24 and 10.40.3/24 are siblings; 10.40.1/24's sibling 10.40.0/24 is unseen */
    assert_string_equal(AGG("10.40.1.10", "10.40.2.10", "10.40.3.10"),
                        "10.40.1.0/24 10.40.2.0/23");
    /* 0/24 and 64/24 of one /16 are not siblings: nothing merges */
    assert_string_equal(AGG("151.101.0.1", "151.101.64.1"), "151.101.0.0/24 151.101.64.0/24");
    /* four /24s of a /22: merged step by step into it */
    assert_string_equal(AGG("192.0.2.1", "192.0.0.1", "192.0.3.1", "192.0.1.1"),
                        "192.0.0.0/22");
    /* three of the four: a /23 and the lone /24 */
    assert_string_equal(AGG("192.0.0.1", "192.0.1.1", "192.0.2.1"),
                        "192.0.0.0/23 192.0.2.0/24");
    /* IPv6 /48 siblings merge into a /47 */
    assert_string_equal(AGG("2001:db8::1", "2001:db8:1::1"), "2001:db8::/47");
    /* families kept apart, IPv4 first */
    assert_string_equal(AGG("2001:db8::1", "10.0.0.1"), "10.0.0.0/24 2001:db8::/48");
}

static void test_widest(void **state)
{
    (void)state;
    /* every /24 of 10.0.0.0/15 seen: still no wider than /16 */
    char text[512][20];
    const char *addrs[512];
    for (unsigned i = 0; i < 512; i++) {
        snprintf(text[i], sizeof text[i], "10.%u.%u.7", i / 256, i % 256);
        addrs[i] = text[i];
    }
    learn_prefix *v = test_malloc(512 * sizeof *v);
    size_t k = learn_prefixes_aggregate(v, units(v, addrs, 512));
    assert_int_equal(k, 2);
    char p[64];
    prefix_format(v[0].family, v[0].addr, v[0].plen, p);
    assert_string_equal(p, "10.0.0.0/16");
    prefix_format(v[1].family, v[1].addr, v[1].plen, p);
    assert_string_equal(p, "10.1.0.0/16");
    assert_int_equal(v[0].n_units, 256);
    assert_int_equal(v[0].count, 256);
    assert_int_equal(v[0].first_us, 0);
    assert_int_equal(v[0].last_us, 255);
    test_free(v);

    /* IPv6: the two /33 halves of 2001:db8::/32 and of 2001:db9::/32 give those two /32s,
     * and never their /31. */
    const char *six[] = {"2001:db8::1", "2001:db8:8000::1", "2001:db9::1", "2001:db9:8000::1"};
    learn_prefix w[4];
    units(w, six, 4);
    /* pretend each is a fully seen /33 */
    for (unsigned i = 0; i < 4; i++)
        w[i].plen = 33;
    k = learn_prefixes_aggregate(w, 4);
    assert_int_equal(k, 2);
    prefix_format(w[0].family, w[0].addr, w[0].plen, p);
    assert_string_equal(p, "2001:db8::/32");
    prefix_format(w[1].family, w[1].addr, w[1].plen, p);
    assert_string_equal(p, "2001:db9::/32");
}

static void test_contains(void **state)
{
    (void)state;
    learn_prefix v[2];
    const char *a[] = {"10.40.2.10", "10.40.3.10"};
    size_t k = learn_prefixes_aggregate(v, units(v, a, 2));
    assert_int_equal(k, 1);
    uint8_t x[16] = {10, 40, 3, 99};
    assert_true(learn_prefix_contains(&v[0], 4, x));
    x[2] = 4;
    assert_false(learn_prefix_contains(&v[0], 4, x));
    assert_false(learn_prefix_contains(&v[0], 6, x));
}

/* The registrable domain as the test decides it: the last two labels, or three under
 * "co.uk" and "map.fastly.net" (stand-ins for the Public Suffix List). */
static const char *regdom2(void *ctx, const char *name)
{
    (void)ctx;
    static const char *const suffixes[] = {"co.uk", "map.fastly.net", "cloudfront.net"};
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++) {
        size_t l = strlen(name), s = strlen(suffixes[i]);
        if (l > s + 1 && name[l - s - 1] == '.' && !strcmp(name + l - s, suffixes[i])) {
            const char *p = name + l - s - 1;
            while (p > name && p[-1] != '.')
                p--;
            return p;
        }
        if (!strcmp(name, suffixes[i]))
            return NULL;
    }
    const char *last = strrchr(name, '.');
    if (!last)
        return NULL;
    const char *p = last;
    while (p > name && p[-1] != '.')
        p--;
    return p;
}

/* The patterns for names[0..n), "a b *.c ..." in input order. */
static const char *gen_with(learn_regdom_fn fn, const char *const *names, size_t n)
{
    static char out[2048];
    size_t off[32];
    assert_true(n <= 32);
    learn_suffixes_generalise(names, n, fn, NULL, off);
    size_t at = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        at += (size_t)snprintf(out + at, sizeof out - at, "%s%s%s", i ? " " : "",
                               off[i] ? "*." : "", names[i] + off[i]);
    return out;
}

#define GEN(...)                                                                       \
    gen_with(regdom2, (const char *const[]){__VA_ARGS__},                             \
             sizeof((const char *const[]){__VA_ARGS__}) / sizeof(const char *))

static void test_suffix_needs_three(void **state)
{
    (void)state;
    assert_string_equal(GEN("d1.edge.cdn.net", "d2.edge.cdn.net"),
                        "d1.edge.cdn.net d2.edge.cdn.net");
    assert_string_equal(GEN("d1.edge.cdn.net", "d2.edge.cdn.net", "d3.edge.cdn.net"),
                        "*.edge.cdn.net *.edge.cdn.net *.edge.cdn.net");
    /* a name outside keeps itself */
    assert_string_equal(
        GEN("crates.cdn.net", "d1.edge.cdn.net", "d2.edge.cdn.net", "d3.edge.cdn.net"),
        "crates.cdn.net *.edge.cdn.net *.edge.cdn.net *.edge.cdn.net");
}

static void test_suffix_not_the_registrable_domain(void **state)
{
    (void)state;
    /* sharing only the registrable domain is not enough: anyone under cdn.net is not us */
    assert_string_equal(GEN("a.cdn.net", "b.cdn.net", "c.cdn.net", "d.cdn.net"),
                        "a.cdn.net b.cdn.net c.cdn.net d.cdn.net");
    /* a public suffix below which anyone registers: d1.cloudfront.net is its own domain */
    assert_string_equal(GEN("d1.cloudfront.net", "d2.cloudfront.net", "d3.cloudfront.net"),
                        "d1.cloudfront.net d2.cloudfront.net d3.cloudfront.net");
    /* map.fastly.net likewise: the registrable domain is python.map.fastly.net */
    assert_string_equal(GEN("a.python.map.fastly.net", "b.python.map.fastly.net",
                            "c.python.map.fastly.net"),
                        "a.python.map.fastly.net b.python.map.fastly.net c.python.map.fastly.net");
    assert_string_equal(GEN("x.a.python.map.fastly.net", "y.a.python.map.fastly.net",
                            "z.a.python.map.fastly.net"),
                        "*.a.python.map.fastly.net *.a.python.map.fastly.net "
                        "*.a.python.map.fastly.net");
}

static void test_suffix_narrowest_then_widened(void **state)
{
    (void)state;
    /* three under p.x.r.net: the narrowest wildcard */
    assert_string_equal(GEN("a.p.x.r.net", "b.p.x.r.net", "c.p.x.r.net", "d.q.x.r.net"),
                        "*.x.r.net *.x.r.net *.x.r.net *.x.r.net");
    /* (d's own longest suffix with 3 below is x.r.net, 4 targets: it covers p.x.r.net's) */
    assert_string_equal(GEN("a.p.x.r.net", "b.p.x.r.net", "c.p.x.r.net", "d.q.y.r.net"),
                        "*.p.x.r.net *.p.x.r.net *.p.x.r.net d.q.y.r.net");
    /* a name equal to the suffix is not below it */
    assert_string_equal(GEN("edge.cdn.net", "d1.edge.cdn.net", "d2.edge.cdn.net"),
                        "edge.cdn.net d1.edge.cdn.net d2.edge.cdn.net");
}

static void test_suffix_psl(void **state)
{
    (void)state;
    /* the real list: map.fastly.net and cloudfront.net are public suffixes there */
    const char *fastly[] = {"a.python.map.fastly.net", "b.python.map.fastly.net",
                            "c.python.map.fastly.net"};
    assert_string_equal(gen_with(learn_regdom_psl, fastly, 3),
                        "a.python.map.fastly.net b.python.map.fastly.net c.python.map.fastly.net");
    const char *cf[] = {"d1.cloudfront.net", "d2.cloudfront.net", "d3.cloudfront.net"};
    assert_string_equal(gen_with(learn_regdom_psl, cf, 3),
                        "d1.cloudfront.net d2.cloudfront.net d3.cloudfront.net");
    const char *edge[] = {"d1.edge.cdn-example.net", "d2.edge.cdn-example.net",
                          "d3.edge.cdn-example.net"};
    assert_string_equal(gen_with(learn_regdom_psl, edge, 3),
                        "*.edge.cdn-example.net *.edge.cdn-example.net *.edge.cdn-example.net");
    const char *uk[] = {"a.b.co.uk", "c.b.co.uk", "d.b.co.uk"};
    assert_string_equal(gen_with(learn_regdom_psl, uk, 3), "a.b.co.uk c.b.co.uk d.b.co.uk");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_units),
        cmocka_unit_test(test_siblings_only),
        cmocka_unit_test(test_widest),
        cmocka_unit_test(test_contains),
        cmocka_unit_test(test_suffix_needs_three),
        cmocka_unit_test(test_suffix_not_the_registrable_domain),
        cmocka_unit_test(test_suffix_narrowest_then_widened),
        cmocka_unit_test(test_suffix_psl),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
