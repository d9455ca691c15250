/* special: every range of DESIGN.md at its first and last address and just outside it,
 * judged against a reference written here from the DESIGN.md list (most specific range
 * wins); then every IPv4 case again inside each IPv6 disguise. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/special.h"

typedef struct range {
    const char *net;
    unsigned plen;
    const char *text; /* what special_classify must report */
} range;

/* Straight from DESIGN.md "Rebinding ranges". */
static const range v4[] = {
    {"0.0.0.0", 8, "0.0.0.0/8"},           {"10.0.0.0", 8, "10.0.0.0/8"},
    {"100.64.0.0", 10, "100.64.0.0/10"},   {"127.0.0.0", 8, "127.0.0.0/8"},
    {"169.254.0.0", 16, "169.254.0.0/16"}, {"172.16.0.0", 12, "172.16.0.0/12"},
    {"192.0.0.0", 24, "192.0.0.0/24"},     {"192.0.2.0", 24, "192.0.2.0/24"},
    {"192.168.0.0", 16, "192.168.0.0/16"}, {"198.18.0.0", 15, "198.18.0.0/15"},
    {"198.51.100.0", 24, "198.51.100.0/24"}, {"203.0.113.0", 24, "203.0.113.0/24"},
    {"224.0.0.0", 4, "224.0.0.0/4"},       {"240.0.0.0", 4, "240.0.0.0/4"},
    {"255.255.255.255", 32, "255.255.255.255/32"},
};
static const range v6[] = {
    {"::", 128, "::/128"},           {"::1", 128, "::1/128"},
    {"fc00::", 7, "fc00::/7"},       {"fe80::", 10, "fe80::/10"},
    {"fec0::", 10, "fec0::/10"},     {"ff00::", 8, "ff00::/8"},
    {"2001:db8::", 32, "2001:db8::/32"}, {"100::", 64, "100::/64"},
};
/* The IPv6 wrappers, as ranges of their own (their edges must stay plain IPv6). */
static const range wrappers[] = {
    {"::ffff:0:0", 96, NULL}, {"64:ff9b::", 96, NULL}, {"64:ff9b:1::", 48, NULL},
    {"2002::", 16, NULL},
};

typedef struct expect {
    enum special_kind kind;
    const char *range;
} expect;

static void parse(int family, const char *text, uint8_t out[16])
{
    memset(out, 0, 16);
    if (inet_pton(family == 4 ? AF_INET : AF_INET6, text, out) != 1)
        fail_msg("test bug: bad address %s", text);
}

static int contains(const uint8_t *a, const uint8_t *net, unsigned plen)
{
    for (unsigned i = 0; i < plen; i++) {
        unsigned m = 0x80u >> (i % 8);
        if ((a[i / 8] & m) != (net[i / 8] & m))
            return 0;
    }
    return 1;
}

/* The reference: zero is the sinkhole, else the longest listed range containing a. */
static expect reference(int family, const uint8_t *a)
{
    static const uint8_t zero[16];
    const range *tab = family == 4 ? v4 : v6;
    size_t n = family == 4 ? sizeof v4 / sizeof v4[0] : sizeof v6 / sizeof v6[0];
    if (memcmp(a, zero, family == 4 ? 4 : 16) == 0)
        return (expect){SPECIAL_SINKHOLE, family == 4 ? "0.0.0.0/32" : "::/128"};
    const range *best = NULL;
    for (size_t i = 0; i < n; i++) {
        uint8_t net[16];
        parse(family, tab[i].net, net);
        if (contains(a, net, tab[i].plen) && (!best || tab[i].plen > best->plen))
            best = &tab[i];
    }
    return best ? (expect){SPECIAL_REBIND, best->text} : (expect){SPECIAL_NONE, NULL};
}

static const char *show(int family, const uint8_t *a, char buf[64])
{
    inet_ntop(family == 4 ? AF_INET : AF_INET6, a, buf, 64);
    return buf;
}

static void check(int family, const uint8_t *a, expect want, const char *via,
                  int judged_family, const uint8_t *judged)
{
    char buf[64];
    special_result r = special_classify(family, a);
    if (r.kind != want.kind)
        fail_msg("%s: kind %d, expected %d", show(family, a, buf), r.kind, want.kind);
    if (want.range == NULL) {
        if (r.range != NULL)
            fail_msg("%s: range %s, expected none", show(family, a, buf), r.range);
    } else if (r.range == NULL || strcmp(r.range, want.range) != 0) {
        fail_msg("%s: range %s, expected %s", show(family, a, buf),
                 r.range ? r.range : "(none)", want.range);
    }
    if ((via == NULL) != (r.via == NULL) || (via && strcmp(via, r.via) != 0))
        fail_msg("%s: via %s, expected %s", show(family, a, buf), r.via ? r.via : "(none)",
                 via ? via : "(none)");
    assert_int_equal(r.family, judged_family);
    assert_memory_equal(r.judged, judged, judged_family == 4 ? 4 : 16);
}

/* first, last, first - 1 and last + 1 of a range (the outside ones where they exist). */
static unsigned edges(const uint8_t *net, unsigned plen, unsigned nbytes, uint8_t out[4][16])
{
    unsigned n = 0;
    uint8_t first[16] = {0}, last[16] = {0};
    memcpy(first, net, nbytes);
    for (unsigned i = plen; i < nbytes * 8; i++)
        first[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
    memcpy(last, first, 16);
    for (unsigned i = plen; i < nbytes * 8; i++)
        last[i / 8] |= (uint8_t)(0x80u >> (i % 8));
    memcpy(out[n++], first, 16);
    memcpy(out[n++], last, 16);
    uint8_t t[16];
    memcpy(t, first, 16);
    int i = (int)nbytes - 1;
    while (i >= 0 && t[i] == 0)
        t[i--] = 0xff;
    if (i >= 0) {
        t[i]--;
        memcpy(out[n++], t, 16);
    }
    memcpy(t, last, 16);
    i = (int)nbytes - 1;
    while (i >= 0 && t[i] == 0xff)
        t[i--] = 0;
    if (i >= 0) {
        t[i]++;
        memcpy(out[n++], t, 16);
    }
    return n;
}

/* Every IPv4 address the table tests: range edges and a few public ones. */
static unsigned v4_cases(uint8_t out[][16], unsigned cap)
{
    unsigned n = 0;
    for (size_t r = 0; r < sizeof v4 / sizeof v4[0]; r++) {
        uint8_t net[16], e[4][16];
        parse(4, v4[r].net, net);
        unsigned k = edges(net, v4[r].plen, 4, e);
        for (unsigned j = 0; j < k && n < cap; j++)
            memcpy(out[n++], e[j], 16);
    }
    static const char *const pub[] = {"151.101.1.1", "8.8.8.8", "1.1.1.1", "100.63.255.255",
                                      "100.128.0.0", "172.32.0.0", "223.255.255.255"};
    for (size_t i = 0; i < sizeof pub / sizeof pub[0] && n < cap; i++)
        parse(4, pub[i], out[n++]);
    return n;
}

static void test_ipv4_table(void **state)
{
    (void)state;
    uint8_t cases[128][16];
    unsigned n = v4_cases(cases, 128);
    unsigned special = 0, none = 0;
    for (unsigned i = 0; i < n; i++) {
        expect want = reference(4, cases[i]);
        check(4, cases[i], want, NULL, 4, cases[i]);
        if (want.kind == SPECIAL_NONE)
            none++;
        else
            special++;
    }
    assert_true(special >= 30 && none >= 10);

    /* Named cases, so a wrong reference cannot hide a wrong table. */
    uint8_t a[16];
    parse(4, "0.0.0.0", a);
    check(4, a, (expect){SPECIAL_SINKHOLE, "0.0.0.0/32"}, NULL, 4, a);
    parse(4, "0.0.0.1", a);
    check(4, a, (expect){SPECIAL_REBIND, "0.0.0.0/8"}, NULL, 4, a);
    parse(4, "255.255.255.255", a);
    check(4, a, (expect){SPECIAL_REBIND, "255.255.255.255/32"}, NULL, 4, a);
    parse(4, "255.255.255.254", a);
    check(4, a, (expect){SPECIAL_REBIND, "240.0.0.0/4"}, NULL, 4, a);
    parse(4, "172.31.255.255", a);
    check(4, a, (expect){SPECIAL_REBIND, "172.16.0.0/12"}, NULL, 4, a);
    parse(4, "198.20.0.0", a);
    check(4, a, (expect){SPECIAL_NONE, NULL}, NULL, 4, a);
    parse(4, "192.0.1.255", a);
    check(4, a, (expect){SPECIAL_NONE, NULL}, NULL, 4, a);
}

static void test_ipv6_table(void **state)
{
    (void)state;
    unsigned special = 0, none = 0;
    for (size_t r = 0; r < sizeof v6 / sizeof v6[0]; r++) {
        uint8_t net[16], e[4][16];
        parse(6, v6[r].net, net);
        unsigned k = edges(net, v6[r].plen, 16, e);
        for (unsigned j = 0; j < k; j++) {
            expect want = reference(6, e[j]);
            /* The edges of ::/128 and ::1/128 sit next to no wrapper: judged as IPv6. */
            check(6, e[j], want, NULL, 6, e[j]);
            if (want.kind == SPECIAL_NONE)
                none++;
            else
                special++;
        }
    }
    assert_true(special >= 14 && none >= 5);

    /* The wrappers' own outside edges are plain IPv6. */
    for (size_t r = 0; r < sizeof wrappers / sizeof wrappers[0]; r++) {
        uint8_t net[16], e[4][16];
        parse(6, wrappers[r].net, net);
        unsigned k = edges(net, wrappers[r].plen, 16, e);
        for (unsigned j = 2; j < k; j++)
            check(6, e[j], reference(6, e[j]), NULL, 6, e[j]);
    }

    uint8_t a[16];
    parse(6, "::", a);
    check(6, a, (expect){SPECIAL_SINKHOLE, "::/128"}, NULL, 6, a);
    parse(6, "::2", a);
    check(6, a, (expect){SPECIAL_NONE, NULL}, NULL, 6, a);
    parse(6, "2606:4700::1111", a);
    check(6, a, (expect){SPECIAL_NONE, NULL}, NULL, 6, a);
    parse(6, "100::ffff:ffff:ffff:ffff", a);
    check(6, a, (expect){SPECIAL_REBIND, "100::/64"}, NULL, 6, a);
    parse(6, "100:0:0:1::", a);
    check(6, a, (expect){SPECIAL_NONE, NULL}, NULL, 6, a);
    parse(6, "fec0::", a);
    check(6, a, (expect){SPECIAL_REBIND, "fec0::/10"}, NULL, 6, a);
}

/* Puts v4 into an IPv6 disguise. */
enum wrap { W_MAPPED, W_NAT64, W_NAT64_LOCAL48, W_NAT64_LOCAL96, W_6TO4, W_COUNT };

static void wrap(enum wrap w, const uint8_t *v, uint8_t out[16])
{
    memset(out, 0, 16);
    switch (w) {
    case W_MAPPED:
        out[10] = out[11] = 0xff;
        memcpy(out + 12, v, 4);
        break;
    case W_NAT64:
        out[1] = 0x64, out[2] = 0xff, out[3] = 0x9b;
        memcpy(out + 12, v, 4);
        break;
    case W_NAT64_LOCAL48: /* RFC 6052 /48: bits 48..63, u octet, 72..87, suffix */
        out[1] = 0x64, out[2] = 0xff, out[3] = 0x9b, out[5] = 1;
        out[6] = v[0], out[7] = v[1], out[9] = v[2], out[10] = v[3];
        break;
    case W_NAT64_LOCAL96: /* a /96 carved out of 64:ff9b:1::/48 */
        out[1] = 0x64, out[2] = 0xff, out[3] = 0x9b, out[5] = 1;
        memcpy(out + 12, v, 4);
        break;
    case W_6TO4: /* 2002:V4ADDR::/48, then subnet and interface id */
        out[0] = 0x20, out[1] = 0x02;
        memcpy(out + 2, v, 4);
        out[7] = 0x01;
        out[15] = 0x01;
        break;
    default:
        break;
    }
}

static void test_ipv6_disguises(void **state)
{
    (void)state;
    static const char *const via[W_COUNT] = {"IPv4-mapped", "NAT64", "NAT64", "NAT64", "6to4"};
    uint8_t cases[128][16];
    unsigned n = v4_cases(cases, 128);
    for (int w = 0; w < W_COUNT; w++) {
        for (unsigned i = 0; i < n; i++) {
            uint8_t a[16];
            wrap((enum wrap)w, cases[i], a);
            check(6, a, reference(4, cases[i]), via[w], 4, cases[i]);
        }
    }

    /* The same, from the text an analyst would read in an event. */
    static const struct {
        const char *text;
        const char *v4;
        const char *via;
    } named[] = {
        {"::ffff:10.1.2.3", "10.1.2.3", "IPv4-mapped"},
        {"::ffff:0.0.0.0", "0.0.0.0", "IPv4-mapped"},
        {"::ffff:8.8.8.8", "8.8.8.8", "IPv4-mapped"},
        {"64:ff9b::127.0.0.1", "127.0.0.1", "NAT64"},
        {"64:ff9b::c0a8:101", "192.168.1.1", "NAT64"},
        {"64:ff9b:1:a00:0:100::", "10.0.0.1", "NAT64"},    /* /48 layout */
        {"64:ff9b:1:a9fe:1:200::", "169.254.1.2", "NAT64"}, /* /48 layout */
        {"64:ff9b:1:808:8:800::", "8.8.8.8", "NAT64"},
        {"64:ff9b:1::192.168.0.1", "192.168.0.1", "NAT64"}, /* /96 inside the /48 */
        {"2002:a00:1::1", "10.0.0.1", "6to4"},
        {"2002:7f00:1:1::", "127.0.0.1", "6to4"},
        {"2002:9765:101::1", "151.101.1.1", "6to4"},
    };
    for (size_t i = 0; i < sizeof named / sizeof named[0]; i++) {
        uint8_t a[16], v[16];
        parse(6, named[i].text, a);
        parse(4, named[i].v4, v);
        check(6, a, reference(4, v), named[i].via, 4, v);
    }
    uint8_t a[16];
    parse(6, "::ffff:0.0.0.0", a);
    special_result r = special_classify(6, a);
    assert_int_equal(r.kind, SPECIAL_SINKHOLE);
    parse(6, "64:ff9b:1:a00:0:100::", a);
    r = special_classify(6, a);
    assert_int_equal(r.kind, SPECIAL_REBIND);
    assert_string_equal(r.range, "10.0.0.0/8");
    parse(6, "::10.0.0.1", a); /* deprecated IPv4-compatible: not a listed wrapper */
    r = special_classify(6, a);
    assert_int_equal(r.kind, SPECIAL_NONE);
    assert_int_equal(r.family, 6);
}

static void test_bad_input(void **state)
{
    (void)state;
    uint8_t a[16] = {10};
    special_result r = special_classify(5, a);
    assert_int_equal(r.kind, SPECIAL_NONE);
    assert_null(r.range);
    r = special_classify(4, NULL);
    assert_int_equal(r.kind, SPECIAL_NONE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ipv4_table),
        cmocka_unit_test(test_ipv6_table),
        cmocka_unit_test(test_ipv6_disguises),
        cmocka_unit_test(test_bad_input),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
