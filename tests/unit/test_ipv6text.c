/* dns_format_ipv6 must write exactly what inet_ntop writes (RFC 5952 and glibc's
 * IPv4-mapped and -compatible forms): 300 000 seeded addresses, zero runs of every length
 * at every place, and the special ones. */
#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decoders/dns.h"
#include "decoders/dns_present.h"

static uint64_t state = 0x1234567;

static uint64_t next(void)
{
    state ^= state << 13;
    state ^= state >> 7;
    state ^= state << 17;
    return state;
}

static void check(const uint8_t a[16])
{
    char want[INET6_ADDRSTRLEN], got[DNS_IPV6_TEXT_MAX];
    assert_non_null(inet_ntop(AF_INET6, a, want, sizeof want));
    dns_format_ipv6(a, got);
    if (strcmp(want, got) != 0)
        fail_msg("inet_ntop says %s, dns_format_ipv6 says %s", want, got);
}

static void test_matches_inet_ntop(void **st)
{
    (void)st;
    uint8_t a[16];
    static const char *const fixed[] = {"::", "::1", "::2", "1::", "::ffff:1.2.3.4",
                                        "::1.2.3.4", "::ffff:0:1.2.3.4", "64:ff9b::1.2.3.4",
                                        "2001:db8::1", "fe80::1:0:0:1", "1:0:0:1:0:0:0:1",
                                        "2001:db8:0:1:1:1:1:1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++) {
        assert_int_equal(inet_pton(AF_INET6, fixed[i], a), 1);
        check(a);
    }
    for (int n = 0; n < 300000; n++) {
        for (int i = 0; i < 16; i += 8) {
            uint64_t r = next();
            memcpy(a + i, &r, 8);
        }
        /* Zero a random run of words, sometimes two runs, sometimes single bytes. */
        int from = (int)(next() % 8), len = (int)(next() % 9);
        for (int w = from; w < from + len && w < 8; w++)
            a[2 * w] = a[2 * w + 1] = 0;
        if (next() % 3 == 0) {
            int f2 = (int)(next() % 8), l2 = (int)(next() % 4);
            for (int w = f2; w < f2 + l2 && w < 8; w++)
                a[2 * w] = a[2 * w + 1] = 0;
        }
        if (next() % 4 == 0)
            a[next() % 16] = 0;
        if (next() % 8 == 0) {
            memset(a, 0, 10);
            a[10] = a[11] = next() % 2 ? 0xff : 0;
        }
        check(a);
    }
}

/* dns_format_ip: IPv4 as inet_ntop's dotted quad (every octet value in every place,
 * and random addresses), IPv6 as dns_format_ipv6. */
static void check4(const uint8_t a[4])
{
    char want[INET_ADDRSTRLEN], got[DNS_IPV6_TEXT_MAX];
    assert_non_null(inet_ntop(AF_INET, a, want, sizeof want));
    memset(got, 'x', sizeof got);
    dns_format_ip(4, a, got);
    if (strcmp(want, got) != 0)
        fail_msg("inet_ntop says %s, dns_format_ip says %s", want, got);
}

static void test_ipv4_matches_inet_ntop(void **st)
{
    (void)st;
    uint8_t a[4];
    for (int pos = 0; pos < 4; pos++)
        for (int v = 0; v < 256; v++) {
            memset(a, pos % 2 ? 9 : 200, sizeof a);
            a[pos] = (uint8_t)v;
            check4(a);
        }
    for (int n = 0; n < 100000; n++) {
        uint32_t r = (uint32_t)next();
        memcpy(a, &r, 4);
        check4(a);
    }
    uint8_t six[16] = {0x20, 0x01, 0x0d, 0xb8, [15] = 1};
    char got[DNS_IPV6_TEXT_MAX];
    dns_format_ip(6, six, got);
    assert_string_equal(got, "2001:db8::1");
}

/* dns_parse_ip reads back what dns_format_ip writes, and writes only its family's bytes. */
static void test_parse_round_trip(void **st)
{
    (void)st;
    uint8_t a[16], b[16];
    char text[DNS_IPV6_TEXT_MAX];
    for (unsigned i = 0; i < 2000; i++) {
        for (int k = 0; k < 16; k++)
            a[k] = (uint8_t)(i % 3 == 0 && k % 4 ? 0 : (i * 131u + (unsigned)k * 17u) >> (k % 5));
        int fam = i % 2 ? 6 : 4;
        dns_format_ip(fam, a, text);
        memset(b, 0xee, sizeof b);
        assert_int_equal(dns_parse_ip(text, b), fam);
        assert_memory_equal(a, b, fam == 6 ? 16 : 4);
        if (fam == 4)
            assert_int_equal(b[4], 0xee);
    }
    static const char *const bad[] = {"", "1.2.3", "1.2.3.4.5", "256.1.1.1", "::1::", "x",
                                      " 1.2.3.4", "1.2.3.4 ", "1.2.3.4/24"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        memset(b, 0xee, sizeof b);
        assert_int_equal(dns_parse_ip(bad[i], b), -EINVAL);
        assert_int_equal(b[0], 0xee);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_matches_inet_ntop),
                                       cmocka_unit_test(test_ipv4_matches_inet_ntop),
                                       cmocka_unit_test(test_parse_round_trip)};
    return cmocka_run_group_tests(tests, NULL, NULL);
}
