/* nameset: pattern validation, exact / wildcard / "*" semantics, escapes in queried names,
 * several values per pattern, and 10,000 patterns checked against a brute-force matcher
 * (with the lookup rate for 10 and 10k patterns printed, not asserted). */
#include <errno.h>
#include <stdbool.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "decoders/dns.h"
#include "decoders/dns_present.h"
#include "rules/nameset.h"

typedef struct hits {
    uint32_t v[64];
    unsigned n;
} hits;

static void collect(void *ctx, uint32_t value)
{
    hits *h = ctx;
    if (h->n < 64)
        h->v[h->n] = value;
    h->n++;
}

static hits match(const nameset *s, const char *name)
{
    hits h = {.n = 0};
    unsigned n = nameset_match(s, name, strlen(name), collect, &h);
    assert_int_equal(n, h.n);
    assert_int_equal(nameset_contains(s, name, strlen(name)), n > 0);
    return h;
}

static void expect_values(const nameset *s, const char *name, unsigned n, const uint32_t *v)
{
    hits h = match(s, name);
    if (h.n != n)
        fail_msg("%s: %u matches, expected %u", name, h.n, n);
    for (unsigned i = 0; i < n; i++)
        assert_int_equal(h.v[i], v[i]);
}

#define EXPECT(s, name, ...)                                                        \
    do {                                                                            \
        static const uint32_t exp_[] = {__VA_ARGS__};                               \
        expect_values(s, name, sizeof exp_ / sizeof exp_[0], exp_);                 \
    } while (0)
#define EXPECT_NONE(s, name) expect_values(s, name, 0, NULL)

static void test_exact_and_wildcard(void **state)
{
    (void)state;
    nameset *s = nameset_new();
    assert_non_null(s);
    assert_int_equal(nameset_add(s, "pypi.org", 1), 0);
    assert_int_equal(nameset_add(s, "*.example.org", 2), 0);
    assert_int_equal(nameset_add(s, "Files.PythonHosted.ORG.", 3), 0);

    EXPECT(s, "pypi.org", 1);
    EXPECT_NONE(s, "www.pypi.org");
    EXPECT_NONE(s, "pypi.org.uk");
    EXPECT_NONE(s, "xpypi.org");
    EXPECT(s, "a.example.org", 2);
    EXPECT(s, "a.b.example.org", 2);
    EXPECT_NONE(s, "example.org");      /* strictly below the suffix */
    EXPECT_NONE(s, "aexample.org");     /* label-aligned */
    EXPECT_NONE(s, "a.example.org.uk");
    EXPECT(s, "files.pythonhosted.org", 3);
    EXPECT(s, "files.pythonhosted.org.", 3); /* a stray trailing dot is tolerated */
    EXPECT(s, "FILES.pythonhosted.org", 3);  /* and so is upper case */
    EXPECT_NONE(s, "org");
    EXPECT_NONE(s, ".");
    EXPECT_NONE(s, "");
    assert_int_equal(nameset_size(s), 3);
    nameset_free(s);
}

static void test_star_and_root(void **state)
{
    (void)state;
    nameset *s = nameset_new();
    assert_int_equal(nameset_add(s, "*", 7), 0);
    EXPECT(s, "anything.at.all", 7);
    EXPECT(s, ".", 7);
    EXPECT(s, "com", 7);
    assert_int_equal(nameset_add(s, ".", 8), 0);
    EXPECT(s, ".", 8, 7);
    EXPECT(s, "com", 7);
    assert_int_equal(nameset_add(s, "*.", 9), 0); /* "*." is "*" with its trailing dot */
    EXPECT(s, "com", 7, 9);
    assert_int_equal(nameset_size(s), 2);
    nameset_free(s);
}

static void test_values_and_order(void **state)
{
    (void)state;
    nameset *s = nameset_new();
    assert_int_equal(nameset_add(s, "*", 100), 0);
    assert_int_equal(nameset_add(s, "*.org", 30), 0);
    assert_int_equal(nameset_add(s, "*.example.org", 20), 0);
    assert_int_equal(nameset_add(s, "*.example.org", 21), 0);
    assert_int_equal(nameset_add(s, "*.EXAMPLE.org", 20), 0); /* duplicate value: once */
    assert_int_equal(nameset_add(s, "www.example.org", 10), 0);
    assert_int_equal(nameset_add(s, "www.example.org", 11), 0);
    /* Most specific first: exact, longest wildcard suffix, ..., "*". */
    EXPECT(s, "www.example.org", 10, 11, 20, 21, 30, 100);
    EXPECT(s, "a.b.example.org", 20, 21, 30, 100);
    EXPECT(s, "example.org", 30, 100);
    EXPECT(s, "org", 100);
    assert_int_equal(nameset_size(s), 4);
    nameset_free(s);
}

static void test_escaped_queries(void **state)
{
    (void)state;
    nameset *s = nameset_new();
    assert_int_equal(nameset_add(s, "*.example.org", 1), 0);
    assert_int_equal(nameset_add(s, "*.org", 2), 0);
    /* One label "a.example" (escaped dot) under org: not below example.org. */
    EXPECT(s, "a\\.example.org", 2);
    /* An escaped backslash ends the label, the dot after it separates. */
    EXPECT(s, "a\\\\.example.org", 1, 2);
    /* Escaped backslash then escaped dot: still one label. */
    EXPECT(s, "a\\\\\\.example.org", 2);
    EXPECT(s, "\\046.example.org", 1, 2);
    nameset_free(s);
}

static void test_bad_patterns(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "", "..", ".example.org", "a..b", "*.*.org", "a.*.org", "a*.org", "*a.org",
        "*.", /* valid: see below */ "exa mple.org", "tab\there.org", "b\303\274cher.de",
        "a/b.org", "a\\.b.org", "a@b", "*..org", "**",
    };
    nameset *s = nameset_new();
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *why = NULL;
        if (strcmp(bad[i], "*.") == 0) {
            assert_int_equal(nameset_check_pattern(bad[i], &why), 0);
            continue;
        }
        int rc = nameset_check_pattern(bad[i], &why);
        if (rc != -EINVAL)
            fail_msg("pattern \"%s\" accepted", bad[i]);
        assert_non_null(why);
        assert_true(strlen(why) > 5);
        assert_int_equal(nameset_add(s, bad[i], 1), -EINVAL);
    }
    assert_int_equal(nameset_check_pattern(NULL, NULL), -EINVAL);
    assert_int_equal(nameset_size(s), 0);

    const char *why = NULL;
    assert_int_equal(nameset_check_pattern("a*.org", &why), -EINVAL);
    assert_non_null(strstr(why, "first label"));
    assert_int_equal(nameset_check_pattern("b\303\274cher.de", &why), -EINVAL);
    assert_non_null(strstr(why, "xn--"));

    /* Label of 63 is fine, 64 is not; 253 text bytes are fine, 254 are not. */
    char buf[300];
    memset(buf, 'a', 63);
    strcpy(buf + 63, ".org");
    assert_int_equal(nameset_check_pattern(buf, NULL), 0);
    memset(buf, 'a', 64);
    strcpy(buf + 64, ".org");
    assert_int_equal(nameset_check_pattern(buf, &why), -EINVAL);
    assert_non_null(strstr(why, "63"));
    /* 4 labels of 63 + 3 dots = 255; trim to 253 and 254. */
    for (int i = 0; i < 4; i++) {
        memset(buf + i * 64, 'b', 63);
        buf[i * 64 + 63] = '.';
    }
    buf[253] = '\0';
    assert_true(buf[252] != '.');
    assert_int_equal(nameset_check_pattern(buf, NULL), 0);
    assert_int_equal(nameset_add(s, buf, 5), 0);
    EXPECT(s, buf, 5);
    char dotted[300];
    memcpy(dotted, buf, 253);
    memcpy(dotted + 253, ".", 2);
    assert_int_equal(nameset_check_pattern(dotted, NULL), 0); /* trailing dot not counted */
    buf[253] = 'b';
    buf[254] = '\0';
    assert_int_equal(nameset_check_pattern(buf, &why), -EINVAL);
    assert_non_null(strstr(why, "253"));
    nameset_free(s);
}

static void test_null_safety(void **state)
{
    (void)state;
    nameset_free(NULL);
    assert_int_equal(nameset_size(NULL), 0);
    assert_false(nameset_contains(NULL, "a", 1));
    assert_int_equal(nameset_add(NULL, "a", 1), -EINVAL);
    nameset *s = nameset_new();
    assert_false(nameset_contains(s, "a.b", 3));
    assert_int_equal(nameset_match(s, "a.b", 3, collect, &(hits){.n = 0}), 0);
    nameset_free(s);
}

/* ---- many patterns against a brute-force reference ---- */

typedef struct pat {
    char text[64];
    uint32_t value;
} pat;

static uint64_t rng_state;

static uint32_t rnd(void)
{
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(rng_state >> 33);
}

static const char *const tlds[] = {"org", "com", "net", "io", "example"};
static const char *const words[] = {"pypi", "files", "npm", "registry", "docker", "cdn",
                                    "a", "b", "www", "api", "mirror", "deb"};

static void random_name(char *out, size_t cap, unsigned labels)
{
    size_t n = (size_t)snprintf(out, cap, "%s", tlds[rnd() % 5]);
    for (unsigned i = 1; i < labels; i++) {
        char tmp[64];
        if (rnd() % 2)
            snprintf(tmp, sizeof tmp, "%s", words[rnd() % 12]);
        else
            snprintf(tmp, sizeof tmp, "n%u", rnd() % 4000);
        char cur[256];
        memcpy(cur, out, n + 1);
        n = (size_t)snprintf(out, cap, "%s.%s", tmp, cur);
    }
}

static bool ref_match(const char *pattern, const char *name)
{
    if (strcmp(pattern, "*") == 0)
        return true;
    if (pattern[0] == '*') {
        size_t sl = strlen(pattern + 1), nl = strlen(name); /* ".suffix" */
        return nl > sl && strcmp(name + nl - sl, pattern + 1) == 0;
    }
    return strcmp(pattern, name) == 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static nameset *build(pat *pats, size_t n)
{
    nameset *s = nameset_new();
    assert_non_null(s);
    for (size_t i = 0; i < n; i++) {
        unsigned labels = 2 + rnd() % 3;
        random_name(pats[i].text, sizeof pats[i].text, labels);
        if (rnd() % 3 == 0) {
            size_t l = strlen(pats[i].text);
            assert_true(l + 3 <= sizeof pats[i].text); /* names are short here */
            memmove(pats[i].text + 2, pats[i].text, l + 1);
            pats[i].text[0] = '*';
            pats[i].text[1] = '.';
        }
        pats[i].value = (uint32_t)i;
        assert_int_equal(nameset_add(s, pats[i].text, pats[i].value), 0);
    }
    return s;
}

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); /* CPU time: the build host is shared */
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void noop(void *ctx, uint32_t value)
{
    (void)value;
    (*(uint64_t *)ctx)++;
}

/* Lookups per second over a fixed batch of names: printed for the report. */
static double rate(const nameset *s, char names[][80], size_t nnames, double *per_lookup)
{
    uint64_t sink = 0;
    unsigned rounds = 0;
    double t0 = now(), t;
    do {
        for (size_t i = 0; i < nnames; i++)
            nameset_match(s, names[i], strlen(names[i]), noop, &sink);
        rounds++;
        t = now();
    } while (t - t0 < 0.3);
    *per_lookup = (double)sink / ((double)rounds * (double)nnames);
    return (double)rounds * (double)nnames / (t - t0);
}

static void test_many_patterns(void **state)
{
    (void)state;
    enum { NPAT = 10000, NQ = 4000 };
    static pat pats[NPAT];
    static char names[NQ][80];
    rng_state = 0x5eed;
    nameset *s = build(pats, NPAT);
    assert_true(nameset_size(s) > NPAT / 2); /* random duplicates are merged */

    for (size_t q = 0; q < NQ; q++) {
        /* Half the queries are a pattern's name or a name below it, half random. */
        const pat *p = &pats[rnd() % NPAT];
        const char *base = p->text[0] == '*' ? p->text + 2 : p->text;
        switch (rnd() % 4) {
        case 0: snprintf(names[q], sizeof names[q], "%s", base); break;
        case 1: snprintf(names[q], sizeof names[q], "x%u.%s", rnd() % 3, base); break;
        default: random_name(names[q], sizeof names[q], 1 + rnd() % 5); break;
        }
    }
    unsigned total = 0;
    for (size_t q = 0; q < NQ; q++) {
        uint32_t want[NPAT > 256 ? 256 : NPAT];
        unsigned nwant = 0;
        for (size_t i = 0; i < NPAT; i++)
            if (ref_match(pats[i].text, names[q]) && nwant < 256)
                want[nwant++] = pats[i].value;
        hits h = match(s, names[q]);
        assert_true(nwant < 64);
        if (h.n != nwant)
            fail_msg("%s: %u matches, reference says %u", names[q], h.n, nwant);
        qsort(h.v, h.n, sizeof h.v[0], cmp_u32);
        qsort(want, nwant, sizeof want[0], cmp_u32);
        assert_memory_equal(h.v, want, nwant * sizeof want[0]);
        total += nwant;
    }
    assert_true(total > NQ / 4); /* the test really exercises hits */

    rng_state = 0x5eed;
    static pat few[10];
    nameset *small = build(few, 10);
    double m10, m10k;
    double r10 = rate(small, names, NQ, &m10), r10k = rate(s, names, NQ, &m10k);
    printf("nameset lookups/s: 10 patterns %.2fM (%.2f matches each), "
           "10000 patterns %.2fM (%.2f matches each)\n",
           r10 / 1e6, m10, r10k / 1e6, m10k);
    nameset_free(small);
    nameset_free(s);
}

/* nameset_query_wire against the general path (the reader's text, then nameset_query_init)
 * on random wire names: mixed case, every kind of byte the reader escapes, labels up to 63
 * bytes, names up to the 255-byte limit, truncated and over-long ones. Where the fast path
 * answers, text and query must equal the general path's; it may decline only a name with
 * a byte outside letters, digits, '-' and '_', or a malformed one. */
static void test_query_wire_matches_text_path(void **state)
{
    (void)state;
    static const char alphabet[] = "abcxyzABCXYZ019-_";
    static const uint8_t odd[] = {'.', '\\', '*', ' ', 0, 0x7f, 0x80, 0xff, '"', '/'};
    unsigned seed = 12345, fast = 0, declined = 0;
    for (int round = 0; round < 20000; round++) {
        uint8_t wire[DNS_NAME_MAX + 8];
        size_t n = 0, wlen;
        bool has_odd = false, malformed = false;
        unsigned labels = (seed = seed * 1103515245u + 12345u) >> 16 & 7;
        if (labels == 7)
            labels = 60 + (seed >> 8) % 70; /* near and past the 255-byte limit */
        for (unsigned l = 0; l < labels && n < DNS_NAME_MAX + 1; l++) {
            unsigned len = 1 + ((seed = seed * 1103515245u + 12345u) >> 16) % 12;
            if ((seed >> 4) % 50 == 0)
                len = 63;
            if (n + 1 + len > DNS_NAME_MAX - 1) {
                malformed = (seed >> 5) % 4 == 0; /* sometimes: a name too long */
                if (!malformed)
                    break;
            }
            if (n + 1 + len + 1 > sizeof wire)
                break;
            wire[n++] = (uint8_t)len;
            for (unsigned k = 0; k < len; k++) {
                seed = seed * 1103515245u + 12345u;
                if ((seed >> 16) % 40 == 0) {
                    wire[n++] = odd[(seed >> 8) % sizeof odd];
                    has_odd = true;
                } else {
                    wire[n++] = (uint8_t)alphabet[(seed >> 8) % (sizeof alphabet - 1)];
                }
            }
        }
        wire[n++] = 0;
        wlen = n;
        if ((seed >> 3) % 30 == 0 && wlen > 1) {
            wlen = (seed >> 7) % wlen; /* cut short: no root label within reach */
            malformed = true;
        }

        char text[DNS_NAME_TEXT_MAX], ref[DNS_NAME_TEXT_MAX];
        nameset_query q, r;
        int rc = nameset_query_wire(&q, wire, wlen, text, sizeof text);
        if (rc != 0) {
            assert_int_equal(rc, -EINVAL);
            if (!has_odd && !malformed)
                fail_msg("round %d: a plain, well-formed name was declined", round);
            declined++;
            continue;
        }
        fast++;
        assert_true(dns_wirename_text(wire, wlen, ref, true) > 0);
        assert_string_equal(text, ref);
        nameset_query_init(&r, ref, strlen(ref));
        assert_ptr_equal(q.name, text);
        assert_int_equal(q.len, r.len);
        assert_int_equal(q.hash, r.hash);
        assert_int_equal(q.nsuf, r.nsuf);
        for (unsigned k = 0; k < q.nsuf; k++) {
            assert_int_equal(q.suf[k].off, r.suf[k].off);
            assert_int_equal(q.suf[k].hash, r.suf[k].hash);
        }
    }
    /* Both paths were exercised, or the test proves nothing. */
    assert_true(fast > 1000);
    assert_true(declined > 1000);

    /* The root, and a text buffer too small for the name. */
    uint8_t root[1] = {0}, name[] = {3, 'F', 'o', 'o', 3, 'o', 'r', 'g', 0};
    char text[16];
    nameset_query q;
    assert_int_equal(nameset_query_wire(&q, root, 1, text, sizeof text), 0);
    assert_string_equal(text, ".");
    assert_int_equal(nameset_query_wire(&q, name, sizeof name, text, sizeof text), 0);
    assert_string_equal(text, "foo.org");
    assert_int_equal(q.nsuf, 1);
    assert_int_equal(nameset_query_wire(&q, name, sizeof name, text, 7), -EINVAL);
    assert_int_equal(nameset_query_wire(&q, name, sizeof name, text, 8), 0);
    assert_int_equal(nameset_query_wire(&q, name, 0, text, sizeof text), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_and_wildcard),
        cmocka_unit_test(test_star_and_root),
        cmocka_unit_test(test_values_and_order),
        cmocka_unit_test(test_escaped_queries),
        cmocka_unit_test(test_bad_patterns),
        cmocka_unit_test(test_null_safety),
        cmocka_unit_test(test_many_patterns),
        cmocka_unit_test(test_query_wire_matches_text_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
