/* Name pattern sets: two open-addressing hash tables (exact names, wildcard suffixes)
 * keyed by lower-case presentation text, plus the values of "*".
 *
 * The hash runs over the text from its last byte to its first, so one right-to-left pass
 * over a queried name yields the hash of every label-aligned suffix: a lookup costs one
 * pass over the name plus one probe per label, whatever the number of patterns. */
#include "rules/nameset.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "common/arr.h"
#include "common/hash.h"

#define NS_NAME_MAX 253   /* text bytes of a name without its trailing dot */
#define NS_LABEL_MAX 63
#define NS_WIRE_MAX 255  /* wire bytes of a name, root label included */
/* A wildcard suffix is at most NS_NAME_MAX - 2 bytes, hence at most 126 labels: suffixes
 * of a queried name beyond that can never match, so NAMESET_SUFFIX_MAX (128) are enough
 * to remember. */

typedef struct ns_entry {
    uint32_t key_off;  /* into nameset.keys */
    uint32_t key_len;
    uint32_t hash;
    uint32_t nvals;
    uint32_t cap;
    uint32_t *vals;    /* distinct values, in the order they were added */
} ns_entry;

/* The hash sits in the slot so that a probe past another key reads one cache line, not
 * two: with 10k patterns the tables outgrow L1 and that is most of a lookup's cost. */
typedef struct ns_slot {
    uint32_t hash;
    uint32_t idx;      /* entry index + 1; 0 = empty */
} ns_slot;

typedef struct ns_table {
    ns_slot *slots;
    uint32_t mask;     /* slot count - 1 (power of two) or 0 before the first insert */
    ns_entry *ents;
    uint32_t n, cap;
} ns_table;

struct nameset {
    ns_table exact;
    ns_table wild;     /* "*.example.org" is stored as "example.org" */
    char *keys;        /* every key's text, back to back (offsets survive realloc) */
    size_t keys_len, keys_cap;
    uint32_t *star;    /* values of "*" */
    uint32_t nstar, star_cap;
};

static inline uint32_t hash_step(uint32_t h, unsigned char c)
{
    return hash_fnv32_byte(h, c);
}

static uint32_t hash_reverse(const char *s, size_t len)
{
    uint32_t h = HASH_FNV32_OFFSET;
    while (len > 0)
        h = hash_step(h, (unsigned char)s[--len]);
    return h;
}

static inline unsigned char fold(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') ? (unsigned char)(c + 32) : c;
}

static void table_free(ns_table *t)
{
    for (uint32_t i = 0; i < t->n; i++)
        free(t->ents[i].vals);
    free(t->ents);
    free(t->slots);
}

nameset *nameset_new(void)
{
    return calloc(1, sizeof(nameset));
}

void nameset_free(nameset *s)
{
    if (!s)
        return;
    table_free(&s->exact);
    table_free(&s->wild);
    free(s->keys);
    free(s->star);
    free(s);
}

/* Appends v to a value array unless already present. */
static int vals_add(uint32_t **vals, uint32_t *n, uint32_t *cap, uint32_t v)
{
    for (uint32_t i = 0; i < *n; i++)
        if ((*vals)[i] == v)
            return 0;
    if (ARR_RESERVE(*vals, *cap, (size_t)*n + 1, 2) != 0)
        return -ENOMEM;
    (*vals)[(*n)++] = v;
    return 0;
}

static const ns_entry *table_find(const ns_table *t, const char *keys, const char *k,
                                  size_t len, uint32_t h, bool fold_query)
{
    if (t->mask == 0)
        return NULL;
    for (uint32_t i = h & t->mask;; i = (i + 1) & t->mask) {
        ns_slot slot = t->slots[i];
        if (slot.idx == 0)
            return NULL;
        if (slot.hash != h)
            continue;
        const ns_entry *e = &t->ents[slot.idx - 1];
        if (e->key_len != len)
            continue;
        const char *ek = keys + e->key_off;
        if (!fold_query) {
            if (memcmp(ek, k, len) == 0)
                return e;
            continue;
        }
        size_t j = 0;
        while (j < len && ek[j] == (char)fold((unsigned char)k[j]))
            j++;
        if (j == len)
            return e;
    }
}

/* Doubles the slot array (load kept at or below one half) and reinserts. */
static int table_grow(ns_table *t)
{
    uint32_t nslots = t->mask ? (t->mask + 1) * 2 : 16;
    ns_slot *slots = calloc(nslots, sizeof *slots);
    if (!slots)
        return -ENOMEM;
    for (uint32_t e = 0; e < t->n; e++) {
        uint32_t i = t->ents[e].hash & (nslots - 1);
        while (slots[i].idx != 0)
            i = (i + 1) & (nslots - 1);
        slots[i] = (ns_slot){t->ents[e].hash, e + 1};
    }
    free(t->slots);
    t->slots = slots;
    t->mask = nslots - 1;
    return 0;
}

static int keys_append(nameset *s, const char *k, size_t len, uint32_t *off)
{
    if (s->keys_len + len > UINT32_MAX)
        return -ENOMEM;
    if (ARR_RESERVE(s->keys, s->keys_cap, s->keys_len + len, 1024) != 0)
        return -ENOMEM;
    memcpy(s->keys + s->keys_len, k, len);
    *off = (uint32_t)s->keys_len;
    s->keys_len += len;
    return 0;
}

static int table_add(nameset *s, ns_table *t, const char *k, size_t len, uint32_t value)
{
    uint32_t h = hash_reverse(k, len);
    ns_entry *e = (ns_entry *)table_find(t, s->keys, k, len, h, false);
    if (e)
        return vals_add(&e->vals, &e->nvals, &e->cap, value);

    if (t->n == UINT32_MAX / 4)
        return -ENOMEM;
    if ((t->n + 1) * 2 > t->mask + 1 || t->mask == 0) {
        int rc = table_grow(t);
        if (rc != 0)
            return rc;
    }
    if (ARR_RESERVE(t->ents, t->cap, (size_t)t->n + 1, 16) != 0)
        return -ENOMEM;
    ns_entry ent = {.key_len = (uint32_t)len, .hash = h};
    int rc = keys_append(s, k, len, &ent.key_off);
    if (rc == 0)
        rc = vals_add(&ent.vals, &ent.nvals, &ent.cap, value);
    if (rc != 0) {
        free(ent.vals); /* the key bytes stay unused in the arena: harmless */
        return rc;
    }
    t->ents[t->n] = ent;
    uint32_t i = h & t->mask;
    while (t->slots[i].idx != 0)
        i = (i + 1) & t->mask;
    t->slots[i] = (ns_slot){h, ++t->n};
    return 0;
}

static bool name_char_ok(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
           c == '-' || c == '_';
}

/* Validates pattern and returns through *len the text length without the trailing dot.
 * Only the characters the DNS reader leaves unescaped are allowed: a pattern holding any
 * other byte could never equal a queried name's text, so it is a mistake to report. */
static int pattern_scan(const char *p, size_t *len, const char **why)
{
    const char *r = NULL;
    size_t n = p ? strlen(p) : 0;
    if (n == 0) {
        r = "empty pattern";
        goto out;
    }
    if (n == 1 && p[0] == '.') {
        *len = 1; /* the root */
        return 0;
    }
    if (p[n - 1] == '.')
        n--;
    if (n > NS_NAME_MAX) {
        r = "name longer than 253 characters";
        goto out;
    }
    size_t label = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || p[i] == '.') {
            if (label == 0) {
                r = "empty label (two dots in a row, or a leading dot)";
                goto out;
            }
            label = 0;
            continue;
        }
        unsigned char c = (unsigned char)p[i];
        if (c == '*') {
            if (i != 0 || (n > 1 && p[1] != '.')) {
                r = "'*' is only allowed as the whole first label (\"*.example.org\" or \"*\")";
                goto out;
            }
        } else if (c >= 0x80) {
            r = "non-ASCII character (write the name in its xn-- form)";
            goto out;
        } else if (c <= ' ' || c == 0x7f) {
            r = "whitespace or control character in the name";
            goto out;
        } else if (!name_char_ok(c)) {
            r = "invalid character (letters, digits, '-' and '_' only)";
            goto out;
        }
        if (++label > NS_LABEL_MAX) {
            r = "label longer than 63 characters";
            goto out;
        }
    }
out:
    if (r) {
        if (why)
            *why = r;
        return -EINVAL;
    }
    *len = n;
    return 0;
}

int nameset_check_pattern(const char *pattern, const char **why)
{
    size_t len;
    return pattern_scan(pattern, &len, why);
}

int nameset_add(nameset *s, const char *pattern, uint32_t value)
{
    size_t len;
    const char *why;
    if (!s || pattern_scan(pattern, &len, &why) != 0)
        return -EINVAL;
    if (len == 1 && pattern[0] == '*')
        return vals_add(&s->star, &s->nstar, &s->star_cap, value);

    char buf[NS_NAME_MAX + 1];
    for (size_t i = 0; i < len; i++)
        buf[i] = (char)fold((unsigned char)pattern[i]);
    if (buf[0] == '*')
        return table_add(s, &s->wild, buf + 2, len - 2, value);
    return table_add(s, &s->exact, buf, len, value);
}

/* name[i] is a '.' that an even number of backslashes precedes. */
static bool separator(const char *name, size_t i)
{
    size_t bs = 0;
    if (name[i] != '.')
        return false;
    while (bs < i && name[i - 1 - bs] == '\\')
        bs++;
    return bs % 2 == 0;
}

void nameset_query_init(nameset_query *q, const char *name, size_t len)
{
    uint32_t h = HASH_FNV32_OFFSET;
    bool want_wild = true;
    q->name = name;
    q->nsuf = 0;
    if (!name)
        len = 0;
    if (len > 1 && separator(name, len - 1))
        len--; /* tolerate a trailing dot although the contract says there is none */
    q->len = len;
    for (size_t i = len; i-- > 0;) {
        unsigned char c = (unsigned char)name[i];
        if (c == '.' && want_wild && i > 0 && i + 1 < len) {
            if (len - i - 1 > NS_NAME_MAX - 2 || q->nsuf == NAMESET_SUFFIX_MAX) {
                want_wild = false; /* longer suffixes cannot be a stored key */
            } else if (separator(name, i)) {
                q->suf[q->nsuf].off = (uint32_t)(i + 1);
                q->suf[q->nsuf++].hash = h;
            }
        }
        h = hash_step(h, fold(c));
    }
    q->hash = h;
}

/* Letters, digits, '-' and '_': the bytes a pattern may hold, which the DNS reader writes
 * as they are. Upper-case letters map to lower case; 0 marks every other byte. */
static const unsigned char plain_lower[256] = {
    ['-'] = '-', ['_'] = '_',
    ['0'] = '0', ['1'] = '1', ['2'] = '2', ['3'] = '3', ['4'] = '4',
    ['5'] = '5', ['6'] = '6', ['7'] = '7', ['8'] = '8', ['9'] = '9',
    ['a'] = 'a', ['b'] = 'b', ['c'] = 'c', ['d'] = 'd', ['e'] = 'e', ['f'] = 'f', ['g'] = 'g',
    ['h'] = 'h', ['i'] = 'i', ['j'] = 'j', ['k'] = 'k', ['l'] = 'l', ['m'] = 'm', ['n'] = 'n',
    ['o'] = 'o', ['p'] = 'p', ['q'] = 'q', ['r'] = 'r', ['s'] = 's', ['t'] = 't', ['u'] = 'u',
    ['v'] = 'v', ['w'] = 'w', ['x'] = 'x', ['y'] = 'y', ['z'] = 'z',
    ['A'] = 'a', ['B'] = 'b', ['C'] = 'c', ['D'] = 'd', ['E'] = 'e', ['F'] = 'f', ['G'] = 'g',
    ['H'] = 'h', ['I'] = 'i', ['J'] = 'j', ['K'] = 'k', ['L'] = 'l', ['M'] = 'm', ['N'] = 'n',
    ['O'] = 'o', ['P'] = 'p', ['Q'] = 'q', ['R'] = 'r', ['S'] = 's', ['T'] = 't', ['U'] = 'u',
    ['V'] = 'v', ['W'] = 'w', ['X'] = 'x', ['Y'] = 'y', ['Z'] = 'z',
};

int nameset_query_wire(nameset_query *q, const uint8_t *wire, size_t wlen, char *text,
                       size_t cap)
{
    /* Where each label starts in text; a 255-byte name has at most 127 labels. */
    uint8_t start[NS_WIRE_MAX / 2 + 1];
    size_t n = 0, i = 0, nl = 0;
    if (!wire || !text || cap < 2)
        return -EINVAL;
    if (wlen > NS_WIRE_MAX)
        wlen = NS_WIRE_MAX; /* a name is 255 wire bytes at most, its root label included */
    /* Left to right: the lower-case text; every '.' written is a label separator. */
    for (;;) {
        if (i >= wlen)
            return -EINVAL;
        size_t l = wire[i++];
        if (l == 0)
            break;
        if (l > NS_LABEL_MAX || l > wlen - i || n + (n > 0) + l + 1 > cap)
            return -EINVAL;
        if (n > 0)
            text[n++] = '.';
        start[nl++] = (uint8_t)n; /* n < 255: the wire bound above */
        for (size_t k = 0; k < l; k++) {
            unsigned char c = plain_lower[wire[i + k]];
            if (c == 0)
                return -EINVAL;
            text[n++] = (char)c;
        }
        i += l;
    }
    q->name = text;
    q->nsuf = 0;
    if (n == 0) {
        text[0] = '.'; /* the root */
        text[1] = '\0';
        q->len = 1;
        q->hash = hash_reverse(text, 1);
        return 0;
    }
    text[n] = '\0';
    q->len = n;

    /* Right to left, label by label: the hash nameset_query_init computes over the text,
     * with each proper suffix's hash taken at its label boundary. */
    uint32_t h = HASH_FNV32_OFFSET;
    bool want_wild = true;
    size_t end = n;
    for (size_t k = nl; k-- > 0;) {
        for (size_t j = end; j-- > start[k];)
            h = hash_step(h, (unsigned char)text[j]);
        if (k == 0)
            break;
        if (want_wild) {
            if (n - start[k] > NS_NAME_MAX - 2 || q->nsuf == NAMESET_SUFFIX_MAX) {
                want_wild = false; /* longer suffixes cannot be a stored key */
            } else {
                q->suf[q->nsuf].off = start[k];
                q->suf[q->nsuf++].hash = h;
            }
        }
        h = hash_step(h, '.');
        end = start[k] - 1u;
    }
    q->hash = h;
    return 0;
}

/* The walk behind nameset_match and nameset_contains: fn == NULL stops at the first hit.
 * The name is the DNS reader's text, where a '.' inside a label is escaped ("\."): a dot
 * is a separator when an even number of backslashes precedes it. Calls go from the most
 * specific pattern to the least: exact name, longest wildcard suffix first, then "*". */
static unsigned walk(const nameset *s, const nameset_query *q,
                     void (*fn)(void *ctx, uint32_t value), void *ctx)
{
    unsigned calls = 0;
    if (!s || !q->name)
        return 0;
    const ns_entry *e = NULL;
    if (q->len > 0 && q->len <= NS_NAME_MAX)
        e = table_find(&s->exact, s->keys, q->name, q->len, q->hash, true);
    if (e) {
        if (!fn)
            return 1;
        for (uint32_t v = 0; v < e->nvals; v++, calls++)
            fn(ctx, e->vals[v]);
    }
    for (unsigned k = q->nsuf; k > 0 && s->wild.n > 0;) {
        const nameset_query_suffix *x = &q->suf[--k];
        e = table_find(&s->wild, s->keys, q->name + x->off, q->len - x->off, x->hash, true);
        if (!e)
            continue;
        if (!fn)
            return 1;
        for (uint32_t v = 0; v < e->nvals; v++, calls++)
            fn(ctx, e->vals[v]);
    }
    if (s->nstar > 0 && !fn)
        return 1;
    for (uint32_t v = 0; v < s->nstar; v++, calls++)
        fn(ctx, s->star[v]);
    return calls;
}

unsigned nameset_match_query(const nameset *s, const nameset_query *q,
                             void (*fn)(void *ctx, uint32_t value), void *ctx)
{
    return fn ? walk(s, q, fn, ctx) : 0;
}

bool nameset_contains_query(const nameset *s, const nameset_query *q)
{
    return walk(s, q, NULL, NULL) > 0;
}

unsigned nameset_match(const nameset *s, const char *name, size_t len,
                       void (*fn)(void *ctx, uint32_t value), void *ctx)
{
    nameset_query q;
    if (!fn)
        return 0;
    nameset_query_init(&q, name, len);
    return walk(s, &q, fn, ctx);
}

bool nameset_contains(const nameset *s, const char *name, size_t len)
{
    nameset_query q;
    nameset_query_init(&q, name, len);
    return walk(s, &q, NULL, NULL) > 0;
}

/* Distinct patterns, not (pattern, value) pairs. */
size_t nameset_size(const nameset *s)
{
    if (!s)
        return 0;
    return (size_t)s->exact.n + s->wild.n + (s->nstar > 0);
}
