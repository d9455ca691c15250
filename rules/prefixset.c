/* Prefix sets: one path-compressed binary trie per family, every node in one growable
 * array and linked by index. A node holds a whole prefix (the bits from the root down to
 * it), so a chain of one-child nodes never exists and n prefixes need at most 2n nodes
 * whatever their length: 100k random IPv6 prefixes take a few MB, not 128 nodes each. */
#include "rules/prefixset.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/arr.h"
#include "decoders/dns.h"
#include "decoders/dns_present.h"

#define PS_NONE UINT32_MAX

typedef struct ps_node {
    uint8_t key[16];    /* the prefix, bits beyond plen zero */
    uint8_t plen;
    uint8_t has_value;  /* glue nodes (branch points) carry none */
    uint32_t value;
    uint32_t child[2];  /* node index or PS_NONE, chosen by the bit at plen */
} ps_node;

/* An address as two big-endian halves (IPv4 in the top 32 bits of hi), so that ranges
 * compare as integers. */
typedef struct ps_addr {
    uint64_t hi, lo;
} ps_addr;

/* Where a range of addresses starts, and its longest covering prefix (node index, or
 * PS_NONE for addresses no prefix covers). A range ends where the next one starts. */
typedef struct ps_range {
    ps_addr start;
    uint32_t node;
} ps_range;

typedef struct ps_flat {
    ps_range *v;
    uint32_t n, cap;
} ps_flat;

struct prefixset {
    ps_node *nodes;
    uint32_t n, cap;
    uint32_t root[2];   /* [0] IPv4, [1] IPv6 */
    size_t count;       /* distinct prefixes */
    bool frozen;        /* flat[] is up to date */
    ps_flat flat[2];
};

static inline unsigned bit_at(const uint8_t *a, unsigned i)
{
    return (a[i >> 3] >> (7 - (i & 7))) & 1;
}

/* Copies the first plen bits of src into dst (16 bytes), zero beyond. Byte-wise: a rule
 * pack of 100,000 prefixes inserts each one through here. */
static void mask_copy(uint8_t dst[16], const uint8_t *src, unsigned nbytes, unsigned plen)
{
    memset(dst, 0, 16);
    unsigned full = plen / 8 < nbytes ? plen / 8 : nbytes;
    memcpy(dst, src, full);
    if (full < nbytes && (plen & 7))
        dst[full] = (uint8_t)(src[full] & (0xFF00u >> (plen & 7)));
}

/* Length of the common leading bits of a and b, at most limit; the bits before from are
 * known to agree (from <= limit). */
static unsigned common_bits(const uint8_t *a, const uint8_t *b, unsigned from, unsigned limit)
{
    unsigned i = from & ~7u;
    while (i + 8 <= limit && a[i >> 3] == b[i >> 3])
        i += 8;
    if (i < limit) {
        unsigned x = (unsigned)(a[i >> 3] ^ b[i >> 3]); /* non-zero unless limit cuts it */
        unsigned same = x ? (unsigned)__builtin_clz(x) - (sizeof(unsigned) * 8 - 8) : 8;
        i = i + same < limit ? i + same : limit;
    }
    return i;
}

prefixset *prefixset_new(void)
{
    prefixset *s = calloc(1, sizeof *s);
    if (s)
        s->root[0] = s->root[1] = PS_NONE;
    return s;
}

void prefixset_free(prefixset *s)
{
    if (!s)
        return;
    free(s->nodes);
    free(s->flat[0].v);
    free(s->flat[1].v);
    free(s);
}

static uint32_t node_new(prefixset *s, const uint8_t key[16], unsigned plen)
{
    ps_node *n = &s->nodes[s->n];
    memcpy(n->key, key, 16);
    n->plen = (uint8_t)plen;
    n->has_value = 0;
    n->value = 0;
    n->child[0] = n->child[1] = PS_NONE;
    return s->n++;
}

/* Re-adding a prefix that is already present replaces its value. */
int prefixset_add(prefixset *s, int family, const uint8_t addr[16], unsigned plen,
                  uint32_t value)
{
    if (!s || !addr || (family != 4 && family != 6))
        return -EINVAL;
    unsigned maxbits = family == 4 ? 32 : 128;
    if (plen > maxbits)
        return -EINVAL;
    s->frozen = false;

    /* An insert creates at most two nodes: reserve them first so that pointers into the
     * array stay valid below. */
    if (ARR_RESERVE(s->nodes, s->cap, (size_t)s->n + 2, 64) != 0)
        return -ENOMEM;

    uint8_t key[16];
    mask_copy(key, addr, maxbits / 8, plen);
    uint32_t *link = &s->root[family == 6];
    uint32_t target;
    unsigned known = 0; /* bits of key that agree with every node on the way down */
    for (;;) {
        if (*link == PS_NONE) {
            target = node_new(s, key, plen);
            *link = target;
            break;
        }
        ps_node *n = &s->nodes[*link];
        unsigned limit = n->plen < plen ? n->plen : plen;
        unsigned c = common_bits(key, n->key, known < limit ? known : limit, limit);
        if (c == n->plen && c == plen) {
            target = *link;
            if (n->has_value)
                s->count--; /* counted again below */
            break;
        }
        if (c == n->plen) {
            known = c;
            link = &n->child[bit_at(key, c)];
            continue;
        }
        /* The new prefix branches off above n (c < n->plen). */
        uint32_t old = *link;
        if (c == plen) {
            target = node_new(s, key, plen);
            s->nodes[target].child[bit_at(s->nodes[old].key, plen)] = old;
            *link = target;
            break;
        }
        uint8_t gkey[16];
        mask_copy(gkey, key, 16, c);
        uint32_t glue = node_new(s, gkey, c);
        target = node_new(s, key, plen);
        s->nodes[glue].child[bit_at(key, c)] = target;
        s->nodes[glue].child[bit_at(s->nodes[old].key, c)] = old;
        *link = glue;
        break;
    }
    s->nodes[target].has_value = 1;
    s->nodes[target].value = value;
    s->count++;
    return 0;
}

/* Whether a and k agree on bits [from, plen): the bits above from were checked at the
 * parent node already, so each node compares only its own stretch, a byte at a time with
 * the partial first and last bytes masked (lookups are per answer address). */
static bool agree_from(const uint8_t *a, const uint8_t *k, unsigned from, unsigned plen)
{
    if (from >= plen)
        return true;
    unsigned fb = from >> 3, lb = (plen - 1) >> 3;
    unsigned first = 0xFFu >> (from & 7);
    unsigned last = (0xFF00u >> (((plen - 1) & 7) + 1)) & 0xFFu;
    if (fb == lb)
        return ((unsigned)(a[fb] ^ k[fb]) & first & last) == 0;
    if ((unsigned)(a[fb] ^ k[fb]) & first)
        return false;
    for (unsigned b = fb + 1; b < lb; b++)
        if (a[b] != k[b])
            return false;
    return ((unsigned)(a[lb] ^ k[lb]) & last) == 0;
}

/* ---- the flat ranges -------------------------------------------------------------- */

static ps_addr addr_of(const uint8_t *a, int family)
{
    ps_addr x = {0, 0};
    if (family == 4) {
        uint32_t v;
        memcpy(&v, a, 4);
        x.hi = (uint64_t)be32toh(v) << 32;
        return x;
    }
    memcpy(&x.hi, a, 8);
    memcpy(&x.lo, a + 8, 8);
    x.hi = be64toh(x.hi);
    x.lo = be64toh(x.lo);
    return x;
}

static bool addr_le(ps_addr a, ps_addr b)
{
    return a.hi < b.hi || (a.hi == b.hi && a.lo <= b.lo);
}

/* The last address of the prefix of node n, plus one; false when that wraps past the top
 * of the address space. */
static bool after_node(const ps_node *n, int family, ps_addr *next)
{
    ps_addr x = addr_of(n->key, family);
    unsigned bits = family == 4 ? 32 : 128, host = bits - n->plen;
    /* Set the host bits, then add one: the same as adding 2^host to the masked start. */
    if (family == 4)
        host += 96; /* IPv4 lives in the top 32 bits of hi */
    if (host >= 128)
        return false;
    if (host >= 64) {
        uint64_t step = (uint64_t)1 << (host - 64);
        x.hi += step;
        x.lo = 0;
        *next = x;
        return x.hi != 0;
    }
    uint64_t step = (uint64_t)1 << host;
    x.lo += step;
    if (x.lo < step) {
        x.hi++;
        if (x.hi == 0)
            return false;
    }
    *next = x;
    return true;
}

/* Appends "from start on, the best prefix is node". Ranges only ever start at or after
 * the last one: a push at the same start means the last range is empty and is replaced,
 * and a push of the prefix already in force continues its range. */
static int flat_push(ps_flat *f, ps_addr start, uint32_t node)
{
    if (f->n > 0) {
        ps_range *last = &f->v[f->n - 1];
        if (last->start.hi == start.hi && last->start.lo == start.lo) {
            last->node = node;
            if (f->n > 1 && f->v[f->n - 2].node == node)
                f->n--;
            return 0;
        }
        if (last->node == node)
            return 0;
    }
    if (ARR_RESERVE(f->v, f->cap, (size_t)f->n + 1, 16) != 0)
        return -ENOMEM;
    f->v[f->n++] = (ps_range){start, node};
    return 0;
}

/* The ranges of node i's prefix, in address order: from its start the best prefix is i
 * (if it carries a value) or best, each child then has its own ranges, and after each
 * child the node's best is in force again. Depth is at most 129 (one node per length). */
static int flatten(const prefixset *s, ps_flat *f, int family, uint32_t i, uint32_t best)
{
    const ps_node *n = &s->nodes[i];
    if (n->has_value)
        best = i;
    int rc = flat_push(f, addr_of(n->key, family), best);
    for (int b = 0; b < 2 && rc == 0; b++) {
        uint32_t c = n->child[b];
        if (c == PS_NONE)
            continue;
        rc = flatten(s, f, family, c, best);
        ps_addr next;
        if (rc == 0 && after_node(&s->nodes[c], family, &next))
            rc = flat_push(f, next, best);
    }
    return rc;
}

int prefixset_freeze(prefixset *s)
{
    if (!s)
        return -EINVAL;
    s->frozen = false;
    for (int fam = 0; fam < 2; fam++) {
        ps_flat *f = &s->flat[fam];
        int family = fam ? 6 : 4;
        uint32_t root = s->root[fam];
        ps_addr next;
        f->n = 0;
        int rc = flat_push(f, (ps_addr){0, 0}, PS_NONE);
        if (rc == 0 && root != PS_NONE) {
            rc = flatten(s, f, family, root, PS_NONE);
            if (rc == 0 && after_node(&s->nodes[root], family, &next))
                rc = flat_push(f, next, PS_NONE);
        }
        if (rc != 0)
            return rc;
    }
    s->frozen = true;
    return 0;
}

bool prefixset_lookup(const prefixset *s, int family, const uint8_t *addr, uint32_t *value,
                      unsigned *plen)
{
    if (!s || !addr || (family != 4 && family != 6))
        return false;
    if (s->frozen) {
        /* The last range starting at or before the address. */
        const ps_flat *f = &s->flat[family == 6];
        ps_addr x = addr_of(addr, family);
        uint32_t lo = 0, n = f->n; /* v[0] starts at address 0 */
        while (n > 1) {
            uint32_t half = n / 2;
            if (addr_le(f->v[lo + half].start, x))
                lo += half;
            n -= half;
        }
        uint32_t node = f->v[lo].node;
        if (node == PS_NONE)
            return false;
        if (value)
            *value = s->nodes[node].value;
        if (plen)
            *plen = s->nodes[node].plen;
        return true;
    }

    unsigned maxbits = family == 4 ? 32 : 128;
    uint8_t a[16] = {0};
    memcpy(a, addr, maxbits / 8);

    const ps_node *best = NULL;
    uint32_t i = s->root[family == 6];
    unsigned checked = 0;
    while (i != PS_NONE) {
        const ps_node *n = &s->nodes[i];
        if (!agree_from(a, n->key, checked, n->plen))
            break;
        checked = n->plen;
        if (n->has_value)
            best = n;
        if (n->plen == maxbits)
            break;
        i = n->child[bit_at(a, n->plen)];
    }
    if (!best)
        return false;
    if (value)
        *value = best->value;
    if (plen)
        *plen = best->plen;
    return true;
}

size_t prefixset_size(const prefixset *s)
{
    return s ? s->count : 0;
}

static char *put_dec(char *o, unsigned v)
{
    char d[10];
    int n = 0;
    do {
        d[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    while (n)
        *o++ = d[--n];
    return o;
}

/* The address as inet_ntop writes it (the decoder's formatter, without sprintf: a big
 * rule pack formats every prefix once), then the length. */
void prefix_format(int family, const uint8_t addr[16], unsigned plen, char out[64])
{
    dns_format_ip(family == 6 ? 6 : 4, addr, out);
    char *o = out + strlen(out);
    *o++ = '/';
    o = put_dec(o, plen);
    *o = '\0';
}

/* Dotted quad, exactly four decimal octets. inet_pton would also refuse most of the
 * oddities, but the rule author deserves to hear which one: "010.1.1.1" is 8.1.1.1 to
 * inet_aton() and 10.1.1.1 to a human, so it is refused rather than guessed. */
static const char *check_ipv4_text(const char *s, size_t len, uint8_t out[4])
{
    unsigned parts = 0;
    size_t i = 0;
    while (i <= len) {
        size_t start = i;
        unsigned v = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9') {
            v = v * 10 + (unsigned)(s[i] - '0');
            if (i - start >= 3)
                return "IPv4 octet with more than three digits";
            i++;
        }
        if (i == start)
            return i < len && s[i] != '.' ? "not an IPv4 address (unexpected character)"
                                          : "not an IPv4 address (empty octet)";
        if (i - start > 1 && s[start] == '0')
            return "octal-looking IPv4 octet (leading zero)";
        if (v > 255)
            return "IPv4 octet above 255";
        if (++parts > 4)
            return "not an IPv4 address (more than four octets)";
        out[parts - 1] = (uint8_t)v;
        if (i == len)
            break;
        if (s[i] != '.')
            return "not an IPv4 address (unexpected character)";
        i++;
    }
    if (parts != 4)
        return "not an IPv4 address (fewer than four octets)";
    return NULL;
}

static inline bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* The common case of a big rule pack, "a.b.c.d" or "a.b.c.d/n" written the one way the
 * full parser accepts (1-3 digits, no leading zero, at most 255; a length of 0-32 with
 * no leading zero), read in one pass. false for anything else, which the full parser
 * then takes, so every reason it gives stays its own. */
static bool parse_ipv4_plain(const char *t, uint8_t out[4], unsigned *plen)
{
    uint8_t a[4];
    for (int o = 0; o < 4; o++) {
        if (!is_digit(*t))
            return false;
        unsigned v = (unsigned)(*t++ - '0');
        if (v != 0)
            for (int k = 0; k < 2 && is_digit(*t); k++)
                v = v * 10 + (unsigned)(*t++ - '0');
        if (is_digit(*t) || v > 255)
            return false;
        a[o] = (uint8_t)v;
        if (o < 3 && *t++ != '.')
            return false;
    }
    unsigned len = 32;
    if (*t == '/') {
        t++;
        if (!is_digit(*t))
            return false;
        len = (unsigned)(*t++ - '0');
        if (len != 0 && is_digit(*t))
            len = len * 10 + (unsigned)(*t++ - '0');
    }
    if (*t != '\0' || len > 32)
        return false;
    memcpy(out, a, 4);
    *plen = len;
    return true;
}

/* The outputs of a successful parse. */
static void parse_done(int fam, const uint8_t a[16], unsigned len, int *family, uint8_t addr[16],
                       unsigned *plen, bool *host_bits, char *masked)
{
    uint8_t m[16];
    mask_copy(m, a, fam == 4 ? 4 : 16, len);
    *family = fam;
    memcpy(addr, a, 16);
    *plen = len;
    if (host_bits)
        *host_bits = memcmp(m, a, 16) != 0;
    if (masked)
        prefix_format(fam, m, len, masked);
}

/* addr is the address as written (host bits kept); masked, when asked for, is the
 * canonical masked text whether or not host bits were set. */
int prefix_parse(const char *text, int *family, uint8_t addr[16], unsigned *plen,
                 bool *host_bits, char *masked, const char **why)
{
    const char *r = NULL;
    char abuf[INET6_ADDRSTRLEN];
    uint8_t a[16] = {0};
    int fam;
    unsigned maxbits, len;

    if (!text || !*text) {
        r = "empty prefix";
        goto out;
    }
    if (parse_ipv4_plain(text, a, &len)) {
        parse_done(4, a, len, family, addr, plen, host_bits, masked);
        return 0;
    }
    /* One pass for the whitespace and '/' checks; the reasons keep their precedence. */
    const char *slash = NULL;
    bool space = false, slashes = false;
    size_t tlen = 0;
    for (const char *p = text; *p; p++, tlen++) {
        unsigned char c = (unsigned char)*p;
        if (c == ' ' || (c >= '\t' && c <= '\r'))
            space = true;
        else if (c == '/') {
            if (slash)
                slashes = true;
            else
                slash = p;
        }
    }
    if (space) {
        r = "whitespace in the prefix";
        goto out;
    }
    size_t alen = slash ? (size_t)(slash - text) : tlen;
    if (slashes) {
        r = "more than one '/'";
        goto out;
    }
    if (alen == 0) {
        r = "missing address before '/'";
        goto out;
    }
    if (alen >= sizeof abuf) {
        r = "address too long";
        goto out;
    }
    memcpy(abuf, text, alen);
    abuf[alen] = '\0';

    if (memchr(abuf, ':', alen)) {
        fam = 6;
        maxbits = 128;
        if (memchr(abuf, '%', alen)) {
            r = "zone index (%...) not allowed in a prefix";
            goto out;
        }
        if (inet_pton(AF_INET6, abuf, a) != 1) {
            r = "not a valid IPv6 address";
            goto out;
        }
    } else {
        fam = 4;
        maxbits = 32;
        /* Four plain decimal octets, each at most 255, are exactly what inet_pton takes:
         * the check has the value already. */
        r = check_ipv4_text(abuf, alen, a);
        if (r)
            goto out;
    }

    len = maxbits;
    if (slash) {
        const char *p = slash + 1;
        size_t n = tlen - alen - 1;
        if (n == 0) {
            r = "missing prefix length after '/'";
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if (p[i] < '0' || p[i] > '9') {
                r = "prefix length is not a decimal number";
                goto out;
            }
        }
        if (n > 1 && p[0] == '0') {
            r = "prefix length with a leading zero";
            goto out;
        }
        if (n > 3) {
            r = fam == 4 ? "prefix length above 32" : "prefix length above 128";
            goto out;
        }
        len = 0;
        for (size_t i = 0; i < n; i++)
            len = len * 10 + (unsigned)(p[i] - '0');
        if (len > maxbits) {
            r = fam == 4 ? "prefix length above 32" : "prefix length above 128";
            goto out;
        }
    }

    parse_done(fam, a, len, family, addr, plen, host_bits, masked);
out:
    if (r) {
        if (why)
            *why = r;
        return -EINVAL;
    }
    return 0;
}
