#include "sensor/learn_agg.h"

#include <libpsl.h>
#include <stdlib.h>
#include <string.h>

static void mask(uint8_t a[16], unsigned plen, unsigned bytes)
{
    for (unsigned i = 0; i < bytes; i++) {
        unsigned keep = plen >= (i + 1) * 8 ? 8 : plen > i * 8 ? plen - i * 8 : 0;
        a[i] &= (uint8_t)(keep ? 0xffu << (8 - keep) : 0);
    }
    for (unsigned i = bytes; i < 16; i++)
        a[i] = 0;
}

unsigned learn_unit(int family, const uint8_t *addr, uint8_t out[16])
{
    unsigned bytes = family == 4 ? 4 : 16, plen = family == 4 ? LEARN_V4_UNIT : LEARN_V6_UNIT;
    memcpy(out, addr, bytes);
    mask(out, plen, bytes);
    return plen;
}

bool learn_prefix_contains(const learn_prefix *p, int family, const uint8_t *a)
{
    if (p->family != family)
        return false;
    uint8_t m[16];
    unsigned bytes = family == 4 ? 4 : 16;
    memcpy(m, a, bytes);
    mask(m, p->plen, bytes);
    return memcmp(m, p->addr, bytes) == 0;
}

static int cmp_addr(int family, const uint8_t *a, const uint8_t *b)
{
    return memcmp(a, b, family == 4 ? 4 : 16);
}

static int cmp_prefix(const void *x, const void *y)
{
    const learn_prefix *a = x, *b = y;
    if (a->family != b->family)
        return a->family < b->family ? -1 : 1;
    int c = cmp_addr(a->family, a->addr, b->addr);
    if (c)
        return c;
    return a->plen < b->plen ? -1 : a->plen > b->plen;
}

/* Whether a and b (a before b) are the two halves of one parent that may be taken. */
static bool siblings(const learn_prefix *a, const learn_prefix *b)
{
    unsigned widest = a->family == 4 ? LEARN_V4_WIDEST : LEARN_V6_WIDEST;
    if (a->family != b->family || a->plen != b->plen || a->plen <= widest)
        return false;
    uint8_t pa[16], pb[16];
    unsigned bytes = a->family == 4 ? 4 : 16;
    memcpy(pa, a->addr, 16);
    memcpy(pb, b->addr, 16);
    mask(pa, a->plen - 1, bytes);
    mask(pb, b->plen - 1, bytes);
    return memcmp(pa, pb, bytes) == 0 && memcmp(a->addr, b->addr, bytes) != 0;
}

size_t learn_prefixes_aggregate(learn_prefix *v, size_t n)
{
    if (n == 0)
        return 0;
    qsort(v, n, sizeof *v, cmp_prefix);
    /* v[0..top) is a stack of sorted, disjoint prefixes; each new one is pushed, then the
     * top two are merged for as long as they are siblings (the parent may in turn be the
     * sibling of the one below it). */
    size_t top = 0;
    for (size_t i = 0; i < n; i++) {
        if (top > 0 && cmp_prefix(&v[top - 1], &v[i]) == 0) { /* a duplicate: add it up */
            learn_prefix *a = &v[top - 1];
            a->count += v[i].count;
            if (v[i].n_units > a->n_units) /* the same units, seen again */
                a->n_units = v[i].n_units;
            if (v[i].first_us < a->first_us)
                a->first_us = v[i].first_us;
            if (v[i].last_us > a->last_us)
                a->last_us = v[i].last_us;
            if (cmp_addr(a->family, v[i].example, a->example) < 0)
                memcpy(a->example, v[i].example, 16);
            continue;
        }
        v[top++] = v[i];
        while (top >= 2 && siblings(&v[top - 2], &v[top - 1])) {
            learn_prefix *a = &v[top - 2];
            const learn_prefix *b = &v[top - 1];
            a->plen--;
            mask(a->addr, a->plen, a->family == 4 ? 4 : 16);
            a->count += b->count;
            a->n_units += b->n_units;
            if (b->first_us < a->first_us)
                a->first_us = b->first_us;
            if (b->last_us > a->last_us)
                a->last_us = b->last_us;
            /* a's example is the lower: a lies before b */
            top--;
        }
    }
    return top;
}

const char *learn_regdom_psl(void *ctx, const char *name)
{
    (void)ctx;
    /* Loaded once, kept for the process (learn is a one-shot command). */
    static const psl_ctx_t *psl;
    static bool tried;
    if (!tried) {
        tried = true;
        psl = psl_latest(NULL);
        if (!psl)
            psl = psl_builtin();
    }
    if (psl)
        return psl_registrable_domain(psl, name);
    const char *last = strrchr(name, '.');
    if (!last)
        return NULL;
    const char *p = last;
    while (p > name && p[-1] != '.')
        p--;
    return p;
}

/* The number of names strictly below suffix s (names[j] ends with "." s). */
static size_t below(const char *const *names, size_t n, const char *s)
{
    size_t sl = strlen(s), k = 0;
    for (size_t j = 0; j < n; j++) {
        size_t l = strlen(names[j]);
        if (l > sl + 1 && names[j][l - sl - 1] == '.' && !strcmp(names[j] + l - sl, s))
            k++;
    }
    return k;
}

void learn_suffixes_generalise(const char *const *names, size_t n, learn_regdom_fn regdom,
                               void *ctx, size_t *off)
{
    for (size_t i = 0; i < n; i++) {
        const char *name = names[i];
        const char *reg = regdom(ctx, name);
        off[i] = 0;
        if (!reg || reg < name || reg > name + strlen(name))
            continue;
        size_t regoff = (size_t)(reg - name);
        /* Suffixes from the longest (just below the name's first label) to the shortest
         * that still has a label more than the registrable domain. */
        for (const char *dot = strchr(name, '.'); dot && (size_t)(dot + 1 - name) < regoff;
             dot = strchr(dot + 1, '.')) {
            if (below(names, n, dot + 1) >= LEARN_SUFFIX_MIN) {
                off[i] = (size_t)(dot + 1 - name);
                break;
            }
        }
    }
    /* Then each name takes the widest chosen wildcard it lies below, so a name whose own
     * suffixes found too few targets, and a narrower wildcard under a wider one, are
     * covered by one pattern. (Widening only ever picks a suffix chosen above, so doing it
     * in place gives the same result as from a copy.) */
    for (size_t i = 0; i < n; i++) {
        size_t l = strlen(names[i]);
        for (size_t j = 0; j < n; j++) {
            if (!off[j])
                continue;
            const char *sj = names[j] + off[j];
            size_t lj = strlen(sj), mine = off[i] ? l - off[i] : l + 1;
            if (lj < mine && l > lj + 1 && names[i][l - lj - 1] == '.' &&
                !strcmp(names[i] + l - lj, sj))
                off[i] = l - lj;
        }
    }
}
