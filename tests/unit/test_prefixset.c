/* prefixset: strict parsing (reasons, host bits, masked suggestion), formatting, and
 * longest-prefix match checked on 100,000 random prefixes per family against a simple
 * per-length reference. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rules/prefixset.h"

static void parse_ok(const char *text, int fam, const char *addr_text, unsigned plen,
                     bool host, const char *masked)
{
    int f = -1;
    uint8_t a[16], want[16] = {0};
    unsigned l = 999;
    bool hb = !host;
    char m[64] = "";
    const char *why = NULL;
    int rc = prefix_parse(text, &f, a, &l, &hb, m, &why);
    if (rc != 0)
        fail_msg("\"%s\": rejected (%s)", text, why ? why : "?");
    assert_int_equal(f, fam);
    assert_int_equal(l, plen);
    assert_int_equal(hb, host);
    assert_string_equal(m, masked);
    char buf[64];
    prefix_format(f, a, 128, buf);
    *strchr(buf, '/') = '\0';
    assert_string_equal(buf, addr_text); /* the address as written, host bits kept */
    (void)want;
}

static void test_parse_good(void **state)
{
    (void)state;
    parse_ok("192.0.2.0/24", 4, "192.0.2.0", 24, false, "192.0.2.0/24");
    parse_ok("10.1.2.3", 4, "10.1.2.3", 32, false, "10.1.2.3/32");
    parse_ok("0.0.0.0/0", 4, "0.0.0.0", 0, false, "0.0.0.0/0");
    parse_ok("255.255.255.255/32", 4, "255.255.255.255", 32, false, "255.255.255.255/32");
    parse_ok("10.1.2.3/8", 4, "10.1.2.3", 8, true, "10.0.0.0/8");
    parse_ok("10.0.0.1/31", 4, "10.0.0.1", 31, true, "10.0.0.0/31");
    parse_ok("2001:db8::/32", 6, "2001:db8::", 32, false, "2001:db8::/32");
    parse_ok("2001:DB8::1/32", 6, "2001:db8::1", 32, true, "2001:db8::/32");
    parse_ok("::1", 6, "::1", 128, false, "::1/128");
    parse_ok("::/0", 6, "::", 0, false, "::/0");
    parse_ok("fd12:3456:789a::/48", 6, "fd12:3456:789a::", 48, false, "fd12:3456:789a::/48");
    parse_ok("::ffff:10.0.0.1/96", 6, "::ffff:10.0.0.1", 96, true, "::ffff:0.0.0.0/96");
    parse_ok("2001:db8::ff/121", 6, "2001:db8::ff", 121, true, "2001:db8::80/121");

    /* Optional outputs may be NULL. */
    int f;
    uint8_t a[16];
    unsigned l;
    assert_int_equal(prefix_parse("1.2.3.4/24", &f, a, &l, NULL, NULL, NULL), 0);
    assert_int_equal(l, 24);
}

static void parse_bad(const char *text, const char *why_part)
{
    int f = 77;
    uint8_t a[16];
    memset(a, 0xaa, sizeof a);
    unsigned l = 77;
    bool hb = true;
    char m[64] = "untouched";
    const char *why = NULL;
    int rc = prefix_parse(text, &f, a, &l, &hb, m, &why);
    if (rc != -EINVAL)
        fail_msg("\"%s\": accepted", text ? text : "(null)");
    assert_non_null(why);
    if (!strstr(why, why_part))
        fail_msg("\"%s\": reason \"%s\" lacks \"%s\"", text ? text : "(null)", why, why_part);
    /* Outputs are written only on success. */
    assert_int_equal(f, 77);
    assert_int_equal(l, 77);
    assert_true(hb);
    assert_string_equal(m, "untouched");
    for (int i = 0; i < 16; i++)
        assert_int_equal(a[i], 0xaa);
}

static void test_parse_bad(void **state)
{
    (void)state;
    parse_bad(NULL, "empty");
    parse_bad("", "empty");
    parse_bad("010.1.1.1", "octal");
    parse_bad("10.01.1.1/8", "octal");
    parse_bad("10.1.1.00", "octal");
    parse_bad("1.2.3.4/33", "above 32");
    parse_bad("1.2.3.4/1000", "above 32");
    parse_bad("::/129", "above 128");
    parse_bad(" 1.2.3.4", "whitespace");
    parse_bad("1.2.3.4 ", "whitespace");
    parse_bad("1.2.3.4/ 8", "whitespace");
    parse_bad("1.2.3.4\n", "whitespace");
    parse_bad("1.2.3", "fewer than four");
    parse_bad("1.2.3.4.5", "more than four");
    parse_bad("256.1.1.1", "above 255");
    parse_bad("1.2.3.1000", "more than three digits");
    parse_bad("1..2.3", "empty octet");
    parse_bad("1.2.3.", "empty octet");
    parse_bad("0x1.2.3.4", "unexpected character");
    parse_bad("1.2.3.4/", "missing prefix length");
    parse_bad("/8", "missing address");
    parse_bad("1.2.3.4/08", "leading zero");
    parse_bad("1.2.3.4/-1", "not a decimal");
    parse_bad("1.2.3.4/+8", "not a decimal");
    parse_bad("1.2.3.4/8/8", "more than one");
    parse_bad("fe80::1%eth0", "zone");
    parse_bad("gggg::", "IPv6");
    parse_bad("1:2:3:4:5:6:7:8:9", "IPv6");
    parse_bad("::ffff:010.0.0.1", "IPv6");
    parse_bad("2001:db8::1::2", "IPv6");
    parse_bad("2001:0db8:0000:0000:0000:0000:0000:0000:0000:0001/64", "too long");
}

/* The reference for dotted-quad prefixes: inet_pton (which refuses leading zeros too),
 * a decimal length of 0-32 without a leading zero. Returns false for anything else. */
static bool ref_ipv4(const char *text, uint8_t a[4], unsigned *plen)
{
    char addr[32];
    const char *slash = strchr(text, '/');
    size_t alen = slash ? (size_t)(slash - text) : strlen(text);
    if (alen == 0 || alen >= sizeof addr || strchr(text, ' '))
        return false;
    memcpy(addr, text, alen);
    addr[alen] = '\0';
    if (inet_pton(AF_INET, addr, a) != 1)
        return false;
    *plen = 32;
    if (!slash)
        return true;
    const char *l = slash + 1;
    size_t n = strlen(l);
    if (n == 0 || n > 2 || (n == 2 && l[0] == '0') || strspn(l, "0123456789") != n)
        return false;
    *plen = (unsigned)atoi(l);
    return *plen <= 32;
}

/* Dotted-quad look-alikes, valid and not, against the reference: the same verdict, and
 * on success the same address, length, host-bit flag and masked text. */
static void test_parse_ipv4_random(void **state)
{
    (void)state;
    static const char alpha[] = "0123456789./ x:";
    uint64_t r = 0x243f6a8885a308d3ull;
    unsigned accepted = 0;
    for (int i = 0; i < 400000; i++) {
        char t[24];
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        if (i % 2) { /* mostly well-formed, with an occasional slip */
            snprintf(t, sizeof t, "%u.%u.%u.%u/%u", (unsigned)(r >> 56), (unsigned)(r >> 48) & 255,
                     (unsigned)(r >> 40) & 511, (unsigned)(r >> 32) & 255,
                     (unsigned)(r >> 26) % 40);
            if ((r >> 20) % 4 == 0)
                t[(r >> 8) % strlen(t)] = alpha[(r >> 14) % (sizeof alpha - 1)];
            if ((r >> 18) % 8 == 0)
                t[(r >> 4) % strlen(t)] = '\0';
        } else { /* short strings over the characters that matter */
            size_t n = 1 + (r >> 58) % 18;
            for (size_t k = 0; k < n; k++)
                t[k] = "0123456789....//"[(r >> (3 * k)) & 15];
            t[n] = '\0';
        }
        if (strchr(t, ':'))
            continue;
        uint8_t want[4], a[16];
        unsigned wl = 0, l = 0;
        int f = 0;
        bool hb = false;
        char m[64] = "";
        const char *why = NULL;
        bool ok = ref_ipv4(t, want, &wl);
        int rc = prefix_parse(t, &f, a, &l, &hb, m, &why);
        if ((rc == 0) != ok)
            fail_msg("\"%s\": parser %s, reference %s", t, rc ? why : "accepts",
                     ok ? "accepts" : "rejects");
        if (!ok)
            continue;
        accepted++;
        assert_int_equal(f, 4);
        assert_int_equal(l, wl);
        assert_memory_equal(a, want, 4);
        for (int k = 4; k < 16; k++)
            assert_int_equal(a[k], 0);
        uint32_t v = (uint32_t)want[0] << 24 | (uint32_t)want[1] << 16 | (uint32_t)want[2] << 8 | want[3];
        uint32_t mask = wl ? ~0u << (32 - wl) : 0;
        assert_int_equal(hb, (v & ~mask) != 0);
        char mt[64];
        snprintf(mt, sizeof mt, "%u.%u.%u.%u/%u", (v & mask) >> 24, ((v & mask) >> 16) & 255,
                 ((v & mask) >> 8) & 255, v & mask & 255, wl);
        assert_string_equal(m, mt);
    }
    assert_true(accepted > 50000);
}

static void test_format(void **state)
{
    (void)state;
    uint8_t a[16] = {192, 0, 2, 0};
    char out[64];
    prefix_format(4, a, 24, out);
    assert_string_equal(out, "192.0.2.0/24");
    uint8_t b[16] = {0x20, 0x01, 0x0d, 0xb8};
    prefix_format(6, b, 32, out);
    assert_string_equal(out, "2001:db8::/32");
    uint8_t full[16];
    memset(full, 0xff, sizeof full);
    prefix_format(6, full, 128, out);
    assert_string_equal(out, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128");
}

/* prefix_format writes addresses itself (speed): it must give inet_ntop's text for every
 * shape of address: each pattern of zero groups, the IPv4-mapped and -compatible forms
 * and their near misses, short and long hex groups. */
static void format_like_ntop(int family, const uint8_t *a, unsigned plen)
{
    char want[80], addr[INET6_ADDRSTRLEN], got[64];
    assert_non_null(inet_ntop(family == 4 ? AF_INET : AF_INET6, a, addr, sizeof addr));
    snprintf(want, sizeof want, "%s/%u", addr, plen);
    prefix_format(family, a, plen, got);
    assert_string_equal(got, want);
}

static void test_format_like_ntop(void **state)
{
    (void)state;
    static const unsigned vals[] = {0, 1, 0xf, 0x10, 0xab, 0x100, 0xfff, 0x1000, 0xfffe,
                                    0xffff, 0x0a0b};
    uint8_t a[16];
    unsigned long r = 12345;
    for (unsigned zmask = 0; zmask < 256; zmask++) {
        for (unsigned k = 0; k < 40; k++) {
            for (int g = 0; g < 8; g++) {
                r = r * 6364136223846793005ul + 1442695040888963407ul;
                unsigned v = (zmask >> g) & 1 ? 0 : k < 11 ? vals[k] : (unsigned)(r >> 33) & 0xffff;
                if (!v && !((zmask >> g) & 1))
                    v = 1;
                a[2 * g] = (uint8_t)(v >> 8);
                a[2 * g + 1] = (uint8_t)v;
            }
            format_like_ntop(6, a, (unsigned)(r >> 20) % 129);
            a[10] = a[11] = 0xff; /* the mapped form when groups 0-4 are zero */
            format_like_ntop(6, a, 128);
            a[11] = 0xfe;
            format_like_ntop(6, a, 96);
        }
    }
    for (unsigned i = 0; i < 100000; i++) {
        r = r * 6364136223846793005ul + 1442695040888963407ul;
        for (int b = 0; b < 4; b++)
            a[b] = (uint8_t)(r >> (16 + 8 * b));
        if (i % 7 == 0)
            a[i % 4] = 0;
        format_like_ntop(4, a, (unsigned)(r >> 50) % 33);
    }
}

static void add_text(prefixset *s, const char *text, uint32_t v)
{
    int f;
    uint8_t a[16];
    unsigned l;
    assert_int_equal(prefix_parse(text, &f, a, &l, NULL, NULL, NULL), 0);
    assert_int_equal(prefixset_add(s, f, a, l, v), 0);
}

static void lookup_text(const prefixset *s, const char *text, bool hit, uint32_t v,
                        unsigned plen)
{
    int f;
    uint8_t a[16];
    unsigned l;
    assert_int_equal(prefix_parse(text, &f, a, &l, NULL, NULL, NULL), 0);
    uint32_t gv = 12345;
    unsigned gl = 999;
    bool got = prefixset_lookup(s, f, a, &gv, &gl);
    if (got != hit)
        fail_msg("%s: %s, expected %s", text, got ? "hit" : "miss", hit ? "hit" : "miss");
    if (hit) {
        if (gv != v || gl != plen)
            fail_msg("%s: value %u /%u, expected %u /%u", text, gv, gl, v, plen);
    } else {
        assert_int_equal(gv, 12345);
        assert_int_equal(gl, 999);
    }
    assert_int_equal(prefixset_lookup(s, f, a, NULL, NULL), hit);
}

static void test_lpm_basic(void **state)
{
    (void)state;
    prefixset *s = prefixset_new();
    assert_non_null(s);
    lookup_text(s, "10.0.0.1", false, 0, 0);
    add_text(s, "10.0.0.0/8", 1);
    add_text(s, "10.40.0.0/16", 2);
    add_text(s, "10.40.1.0/24", 3);
    add_text(s, "10.40.1.7/32", 4);
    add_text(s, "10.128.0.0/9", 5); /* splits below /8 on the other side */
    lookup_text(s, "10.0.0.1", true, 1, 8);
    lookup_text(s, "10.40.2.1", true, 2, 16);
    lookup_text(s, "10.40.1.1", true, 3, 24);
    lookup_text(s, "10.40.1.7", true, 4, 32);
    lookup_text(s, "10.40.1.6", true, 3, 24);
    lookup_text(s, "10.200.0.1", true, 5, 9);
    lookup_text(s, "11.0.0.1", false, 0, 0);
    lookup_text(s, "::a00:1", false, 0, 0); /* families are separate */
    assert_int_equal(prefixset_size(s), 5);

    add_text(s, "10.40.0.0/16", 20); /* re-adding replaces the value */
    lookup_text(s, "10.40.2.1", true, 20, 16);
    assert_int_equal(prefixset_size(s), 5);
    add_text(s, "10.40.99.99/16", 21); /* host bits ignored */
    lookup_text(s, "10.40.2.1", true, 21, 16);
    assert_int_equal(prefixset_size(s), 5);

    add_text(s, "2001:db8::/32", 6);
    add_text(s, "2001:db8:1::/48", 7);
    add_text(s, "::/0", 8);
    lookup_text(s, "2001:db8:1::5", true, 7, 48);
    lookup_text(s, "2001:db8:2::5", true, 6, 32);
    lookup_text(s, "2001:db9::", true, 8, 0);
    lookup_text(s, "::a00:1", true, 8, 0);
    lookup_text(s, "11.0.0.1", false, 0, 0);
    add_text(s, "0.0.0.0/0", 9);
    lookup_text(s, "11.0.0.1", true, 9, 0);
    assert_int_equal(prefixset_size(s), 9);

    uint8_t a[16] = {0};
    assert_int_equal(prefixset_add(s, 4, a, 33, 1), -EINVAL);
    assert_int_equal(prefixset_add(s, 6, a, 129, 1), -EINVAL);
    assert_int_equal(prefixset_add(s, 5, a, 1, 1), -EINVAL);
    assert_false(prefixset_lookup(s, 5, a, NULL, NULL));
    assert_int_equal(prefixset_size(s), 9);
    prefixset_free(s);
    prefixset_free(NULL);
    assert_int_equal(prefixset_size(NULL), 0);
}

/* ---- random prefixes against a reference ---- */

typedef struct ref_pfx {
    uint8_t key[16];
    unsigned plen;
    uint32_t value;
    uint32_t order;
} ref_pfx;

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static void mask(uint8_t *a, unsigned nbytes, unsigned plen)
{
    for (unsigned i = plen; i < nbytes * 8; i++)
        a[i / 8] &= (uint8_t)~(0x80u >> (i % 8));
}

static int ref_cmp(const void *x, const void *y)
{
    const ref_pfx *a = x, *b = y;
    if (a->plen != b->plen)
        return a->plen < b->plen ? -1 : 1;
    int c = memcmp(a->key, b->key, 16);
    if (c)
        return c;
    return a->order < b->order ? -1 : a->order > b->order;
}

/* Addresses drawn from a few clusters so that prefixes nest and share long paths. */
static void random_addr(uint8_t *a, unsigned nbytes)
{
    static const uint8_t heads[4][3] = {{10, 0, 0}, {10, 40, 0}, {192, 168, 1}, {0x20, 0x01, 0x0d}};
    for (unsigned i = 0; i < 16; i++)
        a[i] = (uint8_t)rnd();
    unsigned h = rnd() % 5;
    if (h < 4) {
        unsigned k = 1 + rnd() % 3;
        memcpy(a, heads[h], k);
    }
    if (nbytes == 4)
        memset(a + 4, 0, 12);
}

/* The longest stored prefix holding a (the reference: every length, longest first). */
static const ref_pfx *ref_lookup(const ref_pfx *ref, unsigned distinct, const uint8_t *a,
                                 unsigned nbytes)
{
    for (int plen = (int)nbytes * 8; plen >= 0; plen--) {
        ref_pfx k = {.plen = (unsigned)plen};
        memcpy(k.key, a, 16);
        mask(k.key, nbytes, (unsigned)plen);
        /* bsearch on (plen, key) ignoring order: distinct entries only remain. */
        size_t lo = 0, hi = distinct;
        while (lo < hi) {
            size_t mid = (lo + hi) / 2;
            int c = ref[mid].plen != k.plen ? (ref[mid].plen < k.plen ? -1 : 1)
                                             : memcmp(ref[mid].key, k.key, 16);
            if (c == 0)
                return &ref[mid];
            if (c < 0)
                lo = mid + 1;
            else
                hi = mid;
        }
    }
    return NULL;
}

/* One query against the reference; true on a hit. */
static bool check_one(const prefixset *s, int family, const uint8_t *a, const ref_pfx *ref,
                      unsigned distinct, const char *what, unsigned q)
{
    unsigned nbytes = family == 4 ? 4 : 16;
    const ref_pfx *want = ref_lookup(ref, distinct, a, nbytes);
    uint32_t v = 0;
    unsigned l = 0;
    bool got = prefixset_lookup(s, family, a, &v, &l);
    if (got != (want != NULL))
        fail_msg("family %d %s query %u: %s, reference says %s", family, what, q,
                 got ? "hit" : "miss", want ? "hit" : "miss");
    if (want && (v != want->value || l != want->plen))
        fail_msg("family %d %s query %u: /%u value %u, reference /%u value %u", family, what,
                 q, l, v, want->plen, want->value);
    return want != NULL;
}

/* a +/- 1 over nbytes bytes (wrapping). */
static void step_addr(uint8_t *a, unsigned nbytes, int dir)
{
    for (unsigned i = nbytes; i-- > 0;) {
        a[i] = (uint8_t)(a[i] + dir);
        if (a[i] != (dir > 0 ? 0 : 0xff))
            break;
    }
}

/* npfx random prefixes, nq random queries (half inside a stored prefix), and the edges of
 * stored prefixes (first and last address, and the addresses either side): once through
 * the trie walk, once through the frozen ranges. */
static void check_random(int family, unsigned npfx, unsigned nq, bool freeze)
{
    unsigned nbytes = family == 4 ? 4 : 16, maxbits = nbytes * 8;
    ref_pfx *ref = calloc(npfx, sizeof *ref);
    assert_non_null(ref);
    prefixset *s = prefixset_new();

    for (unsigned i = 0; i < npfx; i++) {
        uint8_t a[16];
        random_addr(a, nbytes);
        /* Lengths biased to the short and middle range, where nesting is likely. */
        unsigned plen = rnd() % 3 == 0 ? rnd() % (maxbits + 1) : rnd() % (maxbits / 2 + 1);
        uint32_t v = rnd();
        assert_int_equal(prefixset_add(s, family, a, plen, v), 0);
        mask(a, nbytes, plen);
        memcpy(ref[i].key, a, 16);
        ref[i].plen = plen;
        ref[i].value = v;
        ref[i].order = i;
    }
    if (freeze)
        assert_int_equal(prefixset_freeze(s), 0);
    /* Sorted by (plen, key, order): the last of equal prefixes is the live value. */
    qsort(ref, npfx, sizeof *ref, ref_cmp);
    unsigned distinct = 0;
    for (unsigned i = 0; i < npfx; i++) {
        if (i + 1 < npfx && ref[i + 1].plen == ref[i].plen &&
            memcmp(ref[i + 1].key, ref[i].key, 16) == 0)
            continue;
        ref[distinct++] = ref[i];
    }
    assert_int_equal(prefixset_size(s), distinct);

    unsigned hits = 0;
    for (unsigned q = 0; q < nq; q++) {
        uint8_t a[16];
        random_addr(a, nbytes);
        if (q % 2 == 0) { /* inside a stored prefix, random host bits */
            const ref_pfx *p = &ref[rnd() % distinct];
            for (unsigned b = 0; b < p->plen; b++) {
                uint8_t m = (uint8_t)(0x80u >> (b % 8));
                a[b / 8] = (uint8_t)((a[b / 8] & ~m) | (p->key[b / 8] & m));
            }
        }
        hits += check_one(s, family, a, ref, distinct, "random", q);
    }
    assert_true(hits >= nq / 2); /* the half aimed inside a stored prefix */

    for (unsigned q = 0; q < distinct && q < 4000; q++) {
        const ref_pfx *p = &ref[(q * 7919u) % distinct];
        uint8_t first[16] = {0}, last[16] = {0};
        memcpy(first, p->key, nbytes);
        memcpy(last, p->key, nbytes);
        for (unsigned b = p->plen; b < maxbits; b++)
            last[b / 8] |= (uint8_t)(0x80u >> (b % 8));
        check_one(s, family, first, ref, distinct, "first", q);
        check_one(s, family, last, ref, distinct, "last", q);
        step_addr(first, nbytes, -1);
        step_addr(last, nbytes, +1);
        check_one(s, family, first, ref, distinct, "before", q);
        check_one(s, family, last, ref, distinct, "after", q);
    }
    prefixset_free(s);
    free(ref);
}

static void test_random_v4(void **state)
{
    (void)state;
    rng_state = 0xdecafbad;
    check_random(4, 20000, 20000, false); /* the trie walk: the fallback */
    rng_state = 0xdecafbad;
    check_random(4, 100000, 100000, true);
    for (unsigned n = 1; n <= 64; n *= 2) { /* small sets: ranges at the ends of the space */
        rng_state = 0xabc + n;
        check_random(4, n, 2000, true);
    }
}

static void test_random_v6(void **state)
{
    (void)state;
    rng_state = 0xfeedface;
    check_random(6, 20000, 10000, false);
    rng_state = 0xfeedface;
    check_random(6, 100000, 50000, true);
    for (unsigned n = 1; n <= 64; n *= 2) {
        rng_state = 0xdef + n;
        check_random(6, n, 2000, true);
    }
}

/* Freezing: the edges of the address space, /0 and host prefixes, and an add after the
 * freeze (the trie answers again until the next freeze). */
static void test_freeze_edges(void **state)
{
    (void)state;
    prefixset *s = prefixset_new();
    assert_int_equal(prefixset_freeze(s), 0); /* empty */
    lookup_text(s, "0.0.0.0", false, 0, 0);
    add_text(s, "255.255.255.255/32", 1);
    add_text(s, "0.0.0.0/32", 2);
    add_text(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ff00/120", 3);
    add_text(s, "::/128", 4);
    add_text(s, "8000::/1", 5);
    assert_int_equal(prefixset_freeze(s), 0);
    lookup_text(s, "255.255.255.255", true, 1, 32);
    lookup_text(s, "255.255.255.254", false, 0, 0);
    lookup_text(s, "0.0.0.0", true, 2, 32);
    lookup_text(s, "0.0.0.1", false, 0, 0);
    lookup_text(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", true, 3, 120);
    lookup_text(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:feff", true, 5, 1);
    lookup_text(s, "7fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", false, 0, 0);
    lookup_text(s, "::", true, 4, 128);
    lookup_text(s, "::1", false, 0, 0);
    add_text(s, "0.0.0.0/0", 6); /* after the freeze */
    lookup_text(s, "0.0.0.1", true, 6, 0);
    assert_int_equal(prefixset_freeze(s), 0);
    lookup_text(s, "0.0.0.1", true, 6, 0);
    lookup_text(s, "0.0.0.0", true, 2, 32);
    lookup_text(s, "255.255.255.255", true, 1, 32);
    lookup_text(s, "128.0.0.0", true, 6, 0);
    add_text(s, "::/0", 7);
    assert_int_equal(prefixset_freeze(s), 0);
    lookup_text(s, "::1", true, 7, 0);
    lookup_text(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:feff", true, 5, 1);
    assert_int_equal(prefixset_freeze(NULL), -EINVAL);
    prefixset_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),
        cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_parse_ipv4_random),
        cmocka_unit_test(test_format),
        cmocka_unit_test(test_format_like_ntop),
        cmocka_unit_test(test_lpm_basic),
        cmocka_unit_test(test_random_v4),
        cmocka_unit_test(test_random_v6),
        cmocka_unit_test(test_freeze_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
