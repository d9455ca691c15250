/* Fuzzes the text parsers of the rule engine's lookup structures: prefix_parse (with the
 * prefix_format round trip and a prefixset insert/lookup of what was parsed) and the name
 * pattern checker (nameset_check_pattern must agree with nameset_add, and an accepted
 * pattern must match the name it describes). The input is also a queried name against a
 * fixed set, to walk the escape handling of nameset_match. Invariant violations abort. */
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
    prefixset_free(s);
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
    free(text);
    return 0;
}
