/* Fuzzes the text parsers of the rule engine's lookup structures: prefix_parse (with the
 * prefix_format round trip and a prefixset insert/lookup of what was parsed) and the name
 * pattern checker (nameset_check_pattern must agree with nameset_add, and an accepted
 * pattern must match the name it describes). The input is also a queried name against a
 * fixed set, to walk the escape handling of nameset_match, and as a wire name for the
 * one-pass query (nameset_query_wire against nameset_query_init on its text); parsed
 * prefixes are also looked up after prefixset_freeze. Invariant violations abort. */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "rules/nameset.h"
#include "rules/prefixset.h"

#define CHECK(c)                                                                          \
    do {                                                                                  \
        if (!(c))                                                                         \
            abort();                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void count(void *ctx, uint32_t v)
{
    (void)v;
    (*(unsigned *)ctx)++;
}

static void fuzz_prefix(const char *text)
{
    int fam;
    uint8_t a[16];
    unsigned plen;
    bool host;
    char masked[64];
    const char *why = NULL;
    if (prefix_parse(text, &fam, a, &plen, &host, masked, &why) != 0) {
        CHECK(why != NULL && why[0] != '\0');
        return;
    }
    CHECK(fam == 4 || fam == 6);
    CHECK(plen <= (fam == 4 ? 32u : 128u));

    int fam2;
    uint8_t b[16];
    unsigned plen2;
    bool host2 = true;
    char masked2[64];
    CHECK(prefix_parse(masked, &fam2, b, &plen2, &host2, masked2, &why) == 0);
    CHECK(fam2 == fam && plen2 == plen && !host2 && strcmp(masked, masked2) == 0);

    prefixset *s = prefixset_new();
    if (!s)
        return;
    CHECK(prefixset_add(s, fam, a, plen, 7) == 0);
    uint32_t v = 0;
    unsigned l = 0;
    CHECK(prefixset_lookup(s, fam, a, &v, &l) && v == 7 && l == plen);
    CHECK(prefixset_lookup(s, fam, b, &v, &l) && l == plen);
    /* Frozen into ranges, with a second prefix nested or beside it: the same answers as
     * the trie for the prefix's first and last address and its neighbours. */
    uint8_t c[16];
    memcpy(c, b, 16);
    c[(fam == 4 ? 4 : 16) - 1] ^= 1;
    CHECK(prefixset_add(s, fam, c, fam == 4 ? 32 : 128, 9) == 0);
    uint8_t probe[4][16];
    memcpy(probe[0], b, 16);
    memcpy(probe[1], b, 16);
    for (unsigned i = plen; i < (fam == 4 ? 32u : 128u); i++)
        probe[1][i / 8] |= (uint8_t)(0x80u >> (i % 8));
    memcpy(probe[2], c, 16);
    memcpy(probe[3], probe[1], 16);
    probe[3][0] ^= 0x80;
    bool hit[4];
    uint32_t val[4];
    unsigned len[4];
    for (int i = 0; i < 4; i++)
        hit[i] = prefixset_lookup(s, fam, probe[i], &val[i], &len[i]);
    if (prefixset_freeze(s) == 0)
        for (int i = 0; i < 4; i++) {
            uint32_t fv = 0;
            unsigned fl = 0;
            bool fh = prefixset_lookup(s, fam, probe[i], &fv, &fl);
            CHECK(fh == hit[i] && (!fh || (fv == val[i] && fl == len[i])));
        }
    prefixset_free(s);
}

/* The input as a wire name: the rule engine's one-pass query must equal the general one
 * built from the text it wrote. */
static void fuzz_wire_query(const uint8_t *data, size_t size)
{
    nameset_query q, r;
    char text[1100];
    if (nameset_query_wire(&q, data, size, text, sizeof text) != 0)
        return;
    CHECK(q.name == text && strlen(text) == q.len);
    nameset_query_init(&r, text, q.len);
    CHECK(r.len == q.len && r.hash == q.hash && r.nsuf == q.nsuf);
    for (unsigned i = 0; i < q.nsuf; i++)
        CHECK(r.suf[i].off == q.suf[i].off && r.suf[i].hash == q.suf[i].hash);
}

static void fuzz_pattern(const char *text)
{
    const char *why = NULL;
    int rc = nameset_check_pattern(text, &why);
    nameset *s = nameset_new();
    if (!s)
        return;
    int rc2 = nameset_add(s, text, 1);
    CHECK(rc == rc2 || rc2 == -12 /* ENOMEM */);
    if (rc != 0) {
        CHECK(why != NULL && why[0] != '\0');
        CHECK(nameset_size(s) == 0);
        nameset_free(s);
        return;
    }
    CHECK(nameset_size(s) == 1);

    /* The name the pattern describes: folded, no trailing dot, "*." replaced by a label. */
    char name[300];
    size_t n = strlen(text);
    if (n > 1 && text[n - 1] == '.')
        n--;
    size_t o = 0;
    if (text[0] == '*') {
        memcpy(name, "x", 1);
        o = 1;
        for (size_t i = 1; i < n; i++)
            name[o++] = text[i];
    } else {
        for (size_t i = 0; i < n; i++)
            name[o++] = text[i];
    }
    for (size_t i = 0; i < o; i++)
        if (name[i] >= 'A' && name[i] <= 'Z')
            name[i] = (char)(name[i] + 32);
    unsigned calls = 0;
    CHECK(nameset_match(s, name, o, count, &calls) == 1 && calls == 1);
    if (text[0] == '*' && n > 1) /* a wildcard never matches its own suffix */
        CHECK(!nameset_contains(s, name + 2, o - 2));
    nameset_free(s);
}

static nameset *fixed;

static void fuzz_query(const uint8_t *data, size_t size)
{
    if (!fixed) {
        fixed = nameset_new();
        if (!fixed)
            return;
        static const char *const pats[] = {"*.example.org", "pypi.org", "*.org", "a.b.c",
                                           "*.a.b.c", "."};
        for (size_t i = 0; i < sizeof pats / sizeof pats[0]; i++)
            if (nameset_add(fixed, pats[i], (uint32_t)i) != 0)
                abort();
    }
    unsigned calls = 0;
    unsigned n = nameset_match(fixed, (const char *)data, size, count, &calls);
    CHECK(n == calls && n <= 6);
    CHECK(nameset_contains(fixed, (const char *)data, size) == (n > 0));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > 4096)
        return 0;
    char *text = malloc(size + 1);
    if (!text)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    fuzz_prefix(text);
    fuzz_pattern(text);
    fuzz_query(data, size);
    fuzz_wire_query(data, size);
    free(text);
    return 0;
}
