/* Rule files to an immutable ruleset, with the linter's diagnostics.
 *
 * Loading is all-or-nothing: every file is parsed (libyaml document API), named sets are
 * collected from all files first, then every rule is checked and compiled into a ruleset
 * under construction; any error throws the whole thing away. Diagnostics are buffered and
 * handed out sorted by position, so `check-rules` reads top to bottom although sets and
 * rules are handled in two passes. */
#include "rules/ruleset.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/sha2.h>
#include <yaml.h>

#include "rules/suggest.h"
#include "rules/yamlschema.h"

#define RS_MAX_FILE_BYTES (16u << 20)
#define RS_MAX_DIAGS 1000
/* Aliases let a document reference one node many times, and set references expand; the
 * work done for one document is bounded so a small file cannot make loading explode. */
#define RS_DOC_BUDGET 200000u
#define RS_MAX_ID YS_MAX_ID
/* Below this many bytes of rules, parsing and hashing stay on the calling thread: a helper
 * thread pays off only for packs that take tens of milliseconds to load. */
size_t ruleset_parallel_bytes = 256u << 10;

static const uint8_t sev_score[] = {21, 47, 73, 99};
static const char *const sev_names[] = {"low", "medium", "high", "critical"};
static const char *const dnssec_names[] = {"unknown", "signed", "unsigned"};
static const char *const sinkhole_names[] = {"sinkhole", "rebinding", "allow"};

/* ---- small containers ---------------------------------------------------------------- */

struct vec {
    void *v;
    size_t n, cap, esz;
};
#define VEC(type) ((struct vec){NULL, 0, 0, sizeof(type)})
#define VAT(vec, type, i) (&((type *)(vec).v)[i])

static void *vec_push(struct vec *v)
{
    if (v->n == v->cap) {
        size_t ncap = v->cap ? v->cap * 2 : 8;
        void *nv = realloc(v->v, ncap * v->esz);
        if (!nv)
            return NULL;
        v->v = nv;
        v->cap = ncap;
    }
    void *e = (char *)v->v + v->n * v->esz;
    memset(e, 0, v->esz);
    v->n++;
    return e;
}

static void vec_free(struct vec *v)
{
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct ruleset {
    dw_rule *rules;
    size_t n;
    nameset *names;
    struct chunk *arena;     /* strings and arrays reachable from rules */
    struct vec namesets;     /* nameset *: every set the rules point to */
    struct vec prefixsets;   /* prefixset * */
    char hash[7 + 2 * LDNS_SHA256_DIGEST_LENGTH + 1];
};

static void *arena_alloc(ruleset *rs, size_t size)
{
    size_t a = sizeof(max_align_t);
    size = (size + a - 1) / a * a;
    if (size == 0)
        size = a;
    if (!rs->arena || rs->arena->cap - rs->arena->used < size) {
        size_t cap = size > 16384 ? size : 16384;
        struct chunk *c = malloc(sizeof *c + cap);
        if (!c)
            return NULL;
        c->next = rs->arena;
        c->used = 0;
        c->cap = cap;
        rs->arena = c;
    }
    void *p = (char *)rs->arena->data + rs->arena->used;
    rs->arena->used += size;
    memset(p, 0, size);
    return p;
}

void ruleset_free(ruleset *rs)
{
    if (!rs)
        return;
    for (size_t i = 0; i < rs->namesets.n; i++)
        nameset_free(*VAT(rs->namesets, nameset *, i));
    for (size_t i = 0; i < rs->prefixsets.n; i++)
        prefixset_free(*VAT(rs->prefixsets, prefixset *, i));
    vec_free(&rs->namesets);
    vec_free(&rs->prefixsets);
    nameset_free(rs->names);
    while (rs->arena) {
        struct chunk *c = rs->arena;
        rs->arena = c->next;
        free(c);
    }
    free(rs);
}

size_t ruleset_count(const ruleset *rs) { return rs->n; }
const dw_rule *ruleset_rule(const ruleset *rs, size_t i) { return i < rs->n ? &rs->rules[i] : NULL; }
const char *ruleset_hash(const ruleset *rs) { return rs->hash; }
const nameset *ruleset_names(const ruleset *rs) { return rs->names; }

/* ---- loader state -------------------------------------------------------------------- */

struct pfx {
    int family;
    uint8_t addr[16];
    unsigned plen;
};

struct lfile {
    char *path;
    unsigned char *data;
    size_t len;
    bool nodata;     /* unreadable, or a directory named only for its messages */
    const char *kept; /* the path copied into the ruleset, once a rule needs it */
    struct vec docs; /* yaml_document_t */
    /* What parse_file found, reported in file order once every file is parsed (files may
     * be parsed on two threads). The texts are libyaml's static strings. */
    bool parse_oom;
    ys_syntax syntax;
};

struct set_def {
    const char *name; /* into a document, which lives as long as the loader */
    bool is_asn;
    struct vec asn;   /* uint32_t */
    struct vec pfx;   /* struct pfx */
    /* pfx compiled, once a list that is exactly this set needed it: 1000 rules each
     * expecting "set:x" share it without copying or hashing the set 1000 times. */
    const prefixset *compiled;
    dw_strlist compiled_text;
    struct pre_set *pre; /* pfx came from here, and maybe a compiled trie with it */
    size_t file;
    unsigned line, col;
};

struct name_ref {
    const char *pat;
    size_t rule, file, seq;
    unsigned line, col;
};

struct id_ref {
    const char *id;
    size_t file;
    unsigned line, col;
};

struct loader {
    time_t now;
    ruleset *rs;
    struct vec files; /* struct lfile */
    struct vec sets;  /* struct set_def */
    struct vec rules; /* dw_rule */
    struct vec ids;   /* struct id_ref, every rule seen (for duplicate ids) */
    size_t *id_tab, id_cap, id_used; /* the first of each id in ids, by hash */
    struct vec names; /* struct name_ref, every match name of every good rule */
    struct vec pcache; /* struct pcache_ent: compiled prefix lists, shared when identical */
    struct vec pre;    /* struct pre_set, in the order the sets pass meets them */
    size_t pre_next;
    int io_err;
    ys_ctx y; /* messages, out of memory, and the document being read */
};

static void *lpush(struct loader *L, struct vec *v)
{
    void *e = vec_push(v);
    if (!e)
        L->y.oom = true;
    return e;
}

static void *lalloc(struct loader *L, size_t size)
{
    void *p = arena_alloc(L->rs, size);
    if (!p)
        L->y.oom = true;
    return p;
}

static char *lstrdup(struct loader *L, const char *s)
{
    size_t n = strlen(s);
    char *p = lalloc(L, n + 1);
    if (p)
        memcpy(p, s, n + 1);
    return p;
}

/* ---- diagnostics --------------------------------------------------------------------- */

static const char *file_path(const void *pctx, size_t file)
{
    const struct loader *L = pctx;
    return file < L->files.n ? VAT(L->files, struct lfile, file)->path : "?";
}

void ruleset_diag_format(const ruleset_diag *d, char *buf, size_t len)
{
    char where[32] = "";
    char id[RS_MAX_ID + 8] = "";
    if (d->line)
        snprintf(where, sizeof where, ":%u:%u", d->line, d->col);
    if (d->rule_id)
        snprintf(id, sizeof id, "[%.*s] ", RS_MAX_ID, d->rule_id);
    snprintf(buf, len, "%s%s: %s: %s%s", d->file ? d->file : "?", where,
             d->is_error ? "error" : "warning", id, d->msg);
}

/* ---- text helpers -------------------------------------------------------------------- */

/* Second-level public suffixes common enough to be written by mistake. A wildcard on one
 * of these, or on any single label (a TLD), matches names nobody controls. */
static const char *const public_suffixes[] = {
    "co.uk", "org.uk", "ac.uk", "gov.uk", "me.uk", "com.au", "net.au", "org.au", "co.nz",
    "co.jp", "ne.jp", "or.jp", "com.br", "com.cn", "com.tw", "com.hk", "co.in", "co.kr",
    "co.za", "com.mx", "com.ar", "com.tr", "co.il", "com.sg", "github.io", "gitlab.io",
    "herokuapp.com", "appspot.com", "blogspot.com", "azurewebsites.net", "cloudfront.net",
    "pages.dev", "workers.dev", "netlify.app", "vercel.app", "s3.amazonaws.com",
};

/* Special-use names (RFC 6761, RFC 8375, ICANN's .internal): nobody can register below
 * them, so a wildcard on them is how local names are meant to be written. */
static const char *const special_use[] = {
    "local", "localhost", "internal", "test", "invalid", "example", "onion", "alt",
    "home.arpa", "in-addr.arpa", "ip6.arpa",
};

static bool is_public_suffix_wildcard(const char *pat)
{
    if (pat[0] != '*' || pat[1] != '.')
        return false;
    const char *suffix = pat + 2;
    for (size_t i = 0; i < sizeof special_use / sizeof *special_use; i++)
        if (!strcmp(suffix, special_use[i]))
            return false;
    if (!strchr(suffix, '.'))
        return true;
    for (size_t i = 0; i < sizeof public_suffixes / sizeof *public_suffixes; i++)
        if (!strcmp(suffix, public_suffixes[i]))
            return true;
    return false;
}

static bool valid_ident(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > RS_MAX_ID)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isalnum((unsigned char)s[i]) && s[i] != '.' && s[i] != '_' && s[i] != '-')
            return false;
    return true;
}

static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

int ruleset_parse_day(const char *s, time_t *start)
{
    static const unsigned dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
        return -EINVAL;
    for (int i = 0; i < 10; i++)
        if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
            return -EINVAL;
    unsigned y = (unsigned)atoi(s), m = (unsigned)atoi(s + 5), d = (unsigned)atoi(s + 8);
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > dim[m - 1] + (m == 2 && leap))
        return -EINVAL;
    *start = (time_t)(days_from_civil(y, m, d) * 86400);
    return 0;
}

/* "YYYY-MM-DD" -> the first second after that day, UTC. */
static bool parse_date(const char *s, time_t *end)
{
    time_t start;
    if (ruleset_parse_day(s, &start) != 0)
        return false;
    *end = start + 86400;
    return true;
}

static bool parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    uint64_t v = 0;
    if (!*s)
        return false;
    for (; *s; s++) {
        if (!isdigit((unsigned char)*s))
            return false;
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max)
            return false;
    }
    *out = (uint32_t)v;
    return true;
}

/* ---- YAML node helpers ---------------------------------------------------------------- */

static yaml_node_t *node(struct loader *L, int i) { return yaml_document_get_node(L->y.doc, i); }



/* The mappings of a rule file. Each section's hint keys are the ones suggested when written
 * in another mapping ("it belongs under ..."). */
static const char *const rule_keys[] = {
    "id", "title", "severity", "tags", "match", "cname", "expect", "dnssec", "ttl",
    "rebinding", "exceptions",
};
static const char *const match_keys[] = {"names", "except"};
static const char *const cname_keys[] = {"allowed_targets"};
static const char *const expect_keys[] = {"asn", "prefixes", "resolvers"};
static const char *const ttl_keys[] = {"max"};
static const char *const rebinding_keys[] = {"check", "allow", "sinkhole"};
static const char *const exception_keys[] = {"prefixes", "names", "reason", "expires"};
static const char *const dnssec_keys[] = {"expect"};
static const char *const set_keys[] = {"asn", "prefixes"};
#define KEYS(k) k, sizeof k / sizeof *k
static const ys_section rule_sections[] = {
    {"rule", "in rule", "at the top level of the rule", KEYS(rule_keys), NULL, 0},
    {"match", "in match", "under \"match\"", KEYS(match_keys), NULL, 0},
    {"cname", "in cname", "under \"cname\"", KEYS(cname_keys), NULL, 0},
    {"expect", "in expect", "under \"expect\"", KEYS(expect_keys), NULL, 0},
    {"ttl", "in ttl", "under \"ttl\"", KEYS(ttl_keys), NULL, 0},
    {"rebinding", "in rebinding", "under \"rebinding\"", KEYS(rebinding_keys), NULL, 0},
    {"exception", "in exception", "in an item of \"exceptions\"", KEYS(exception_keys),
     exception_keys + 2, 2},
    {"dnssec", "in dnssec", "under \"dnssec\"", KEYS(dnssec_keys), dnssec_keys, 0},
    {"set", "in set", "under \"set\"", KEYS(set_keys), set_keys, 0},
};
#undef KEYS
enum { S_RULE, S_MATCH, S_CNAME, S_EXPECT, S_TTL, S_REBINDING, S_EXCEPTION, S_DNSSEC, S_SET };

/* A key written without a value is judged as written: "title:" is an error, "tags:" an
 * empty list. */
static const ys_schema rule_schema = {
    .sections = rule_sections,
    .n_sections = sizeof rule_sections / sizeof *rule_sections,
    .dup_names_section = true,
    .null_is_absent = false,
};

static void map_get(struct loader *L, const yaml_node_t *map, int section, yaml_node_t **vals)
{
    ys_map_get(&L->y, &rule_schema, &rule_sections[section], map, vals);
}

/* ---- sets and typed lists ------------------------------------------------------------ */

static struct set_def *find_set(struct loader *L, const char *name)
{
    for (size_t i = 0; i < L->sets.n; i++) {
        struct set_def *s = VAT(L->sets, struct set_def, i);
        if (!strcmp(s->name, name))
            return s;
    }
    return NULL;
}

/* Resolves "set:NAME" of the wanted kind, reporting unknown names and wrong kinds. */
static struct set_def *set_ref(struct loader *L, const yaml_node_t *n, const char *ref,
                               bool want_asn, const char *what)
{
    const char *name = ref + 4;
    struct set_def *s = find_set(L, name);
    if (!s) {
        const char *best = NULL;
        unsigned bd = 3;
        for (size_t i = 0; i < L->sets.n; i++) {
            struct set_def *c = VAT(L->sets, struct set_def, i);
            unsigned d = suggest_distance(name, c->name);
            if (d < bd || (d == bd && best && c->is_asn == want_asn)) {
                bd = d;
                best = c->name;
            }
        }
        if (best)
            ys_diag(&L->y, true, n, "unknown set \"%s\" in %s; did you mean \"set:%s\"?", name, what, best);
        else
            ys_diag(&L->y, true, n, "unknown set \"%s\" in %s; define it in a sets: document", name,
                 what);
        return NULL;
    }
    if (s->is_asn != want_asn) {
        ys_diag(&L->y, true, n, "set \"%s\" holds %s, but %s needs %s", name,
             s->is_asn ? "ASNs" : "prefixes", what, want_asn ? "ASNs" : "prefixes");
        return NULL;
    }
    return s;
}

static bool parse_asn(struct loader *L, const yaml_node_t *n, const char *s, const char *what,
                      uint32_t *out)
{
    if (parse_u32(s, UINT32_MAX, out) && *out != 0)
        return true;
    uint32_t v;
    if ((s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') &&
        parse_u32(s + 2, UINT32_MAX, &v) && v != 0)
        ys_diag(&L->y, true, n, "bad ASN \"%s\" in %s; write the number alone: %" PRIu32, s, what, v);
    else
        ys_diag(&L->y, true, n, "bad ASN \"%.80s\" in %s; an ASN is an integer from 1 to 4294967295", s,
             what);
    return false;
}

/* List of ASNs (and, if allow_sets, asn set references) appended to out (uint32_t). */
static void parse_asn_list(struct loader *L, const yaml_node_t *list, const char *what,
                           bool allow_sets, struct vec *out)
{
    if (!ys_list(&L->y, list, what))
        return;
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++) {
        yaml_node_t *n = node(L, *it);
        if (!n || !ys_spend(&L->y, list, 1))
            return;
        const char *s = ys_text(&L->y, n, what);
        if (!s)
            continue;
        if (!strncmp(s, "set:", 4)) {
            if (!allow_sets) {
                ys_diag(&L->y, true, n, "a set cannot refer to another set (\"%.80s\")", s);
                continue;
            }
            struct set_def *set = set_ref(L, n, s, true, what);
            if (!set || !ys_spend(&L->y, n, set->asn.n))
                continue;
            for (size_t i = 0; i < set->asn.n; i++) {
                uint32_t *e = lpush(L, out);
                if (e)
                    *e = *VAT(set->asn, uint32_t, i);
            }
            continue;
        }
        uint32_t v;
        if (parse_asn(L, n, s, what, &v)) {
            uint32_t *e = lpush(L, out);
            if (e)
                *e = v;
        }
    }
}

/* Zeroes the bits beyond plen (a byte at a time: 100,000 prefixes come through here). */
static void pfx_mask(struct pfx *p)
{
    unsigned nbytes = p->family == 4 ? 4u : 16u, b = p->plen / 8;
    if (b >= nbytes)
        return;
    if (p->plen % 8)
        p->addr[b++] &= (uint8_t)(0xFF00u >> (p->plen % 8));
    memset(p->addr + b, 0, nbytes - b);
}

/* A list that is one set reference and nothing else leaves out empty and *whole pointing
 * at the set (the list's items are the set's); any other list fills out, *whole NULL. */
static void parse_prefix_list(struct loader *L, const yaml_node_t *list, const char *what,
                              bool allow_sets, struct vec *out, struct set_def **whole)
{
    if (whole)
        *whole = NULL;
    if (!ys_list(&L->y, list, what))
        return;
    bool single = list->data.sequence.items.top - list->data.sequence.items.start == 1 &&
                  out->n == 0;
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++) {
        yaml_node_t *n = node(L, *it);
        if (!n || !ys_spend(&L->y, list, 1))
            return;
        const char *s = ys_text(&L->y, n, what);
        if (!s)
            continue;
        if (!strncmp(s, "set:", 4)) {
            if (!allow_sets) {
                ys_diag(&L->y, true, n, "a set cannot refer to another set (\"%.80s\")", s);
                continue;
            }
            struct set_def *set = set_ref(L, n, s, false, what);
            if (!set || !ys_spend(&L->y, n, set->pfx.n))
                continue;
            if (single && whole) {
                *whole = set;
                continue;
            }
            for (size_t i = 0; i < set->pfx.n; i++) {
                struct pfx *e = lpush(L, out);
                if (e)
                    *e = *VAT(set->pfx, struct pfx, i);
            }
            continue;
        }
        struct pfx p;
        bool host_bits = false;
        char masked[64] = "";
        const char *why = "not a prefix";
        memset(&p, 0, sizeof p);
        /* No masked text from the parser: it is needed only for the warning below. */
        if (prefix_parse(s, &p.family, p.addr, &p.plen, &host_bits, NULL, &why) != 0) {
            ys_diag(&L->y, true, n, "bad prefix \"%.80s\" in %s: %s", s, what, why);
            continue;
        }
        /* The stored form is the masked one, whatever the parser leaves in host bits. */
        pfx_mask(&p);
        if (host_bits) {
            prefix_format(p.family, p.addr, p.plen, masked);
            ys_diag(&L->y, false, n, "prefix \"%.80s\" in %s has host bits set; using %s (write that)",
                 s, what, masked);
        }
        struct pfx *e = lpush(L, out);
        if (e)
            *e = p;
    }
}

/* Name patterns, normalised and de-duplicated; texts are arena strings, nodes parallel. */
static void parse_name_list(struct loader *L, const yaml_node_t *list, const char *what,
                            struct vec *texts, struct vec *nodes)
{
    if (!ys_list(&L->y, list, what))
        return;
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++) {
        yaml_node_t *n = node(L, *it);
        if (!n || !ys_spend(&L->y, list, 1))
            return;
        const char *s = ys_text(&L->y, n, what);
        if (!s)
            continue;
        if (!strncmp(s, "set:", 4)) {
            ys_diag(&L->y, true, n, "\"%.80s\" in %s: sets hold ASNs or prefixes, not names", s, what);
            continue;
        }
        const char *why = "bad name";
        if (nameset_check_pattern(s, &why) != 0) {
            ys_diag(&L->y, true, n, "bad name pattern \"%.80s\" in %s: %s", s, what, why);
            continue;
        }
        char *norm = lstrdup(L, s);
        if (!norm)
            return;
        for (char *c = norm; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        size_t len = strlen(norm);
        if (len > 1 && norm[len - 1] == '.')
            norm[len - 1] = 0;
        bool dup = false;
        for (size_t i = 0; i < texts->n && !dup; i++)
            dup = !strcmp(*VAT(*texts, char *, i), norm);
        if (dup) {
            ys_diag(&L->y, false, n, "\"%s\" is listed twice in %s", norm, what);
            continue;
        }
        if (is_public_suffix_wildcard(norm))
            ys_diag(&L->y, false, n, "wildcard \"%s\" in %s covers a whole public suffix: names anyone "
                              "can register match it; name the domain, e.g. \"*.example%s\"",
                 norm, what, norm + 1);
        char **t = lpush(L, texts);
        const yaml_node_t **nn = lpush(L, nodes);
        if (t && nn) {
            *t = norm;
            *nn = n;
        }
    }
}

/* ---- compiling lists into the ruleset ------------------------------------------------ */

static dw_strlist strlist_from(struct loader *L, const struct vec *texts)
{
    dw_strlist l = {NULL, 0};
    if (!texts->n)
        return l;
    const char **v = lalloc(L, texts->n * sizeof *v);
    if (!v)
        return l;
    memcpy(v, texts->v, texts->n * sizeof *v);
    l.v = v;
    l.n = texts->n;
    return l;
}

static nameset *own_nameset(struct loader *L, const struct vec *texts)
{
    nameset *s = nameset_new();
    nameset **slot = s ? lpush(L, &L->rs->namesets) : NULL;
    if (!slot) {
        nameset_free(s);
        L->y.oom = true;
        return NULL;
    }
    *slot = s;
    for (size_t i = 0; i < texts->n; i++)
        if (nameset_add(s, *VAT(*texts, char *, i), 0) == -ENOMEM)
            L->y.oom = true;
    return s;
}

/* A compiled prefix list, kept while loading so that rules naming the same set (or the
 * same list) share one trie: 1000 rules on a 1000-prefix set are 1000 prefixes in memory,
 * not a million. */
static const prefixset *build_prefixset(struct loader *L, const struct vec *pfx,
                                        dw_strlist *text);

struct pcache_ent {
    uint64_t hash;
    const struct pfx *items; /* arena copy of the list */
    size_t n;
    const prefixset *set;
    dw_strlist text;
};

static uint64_t pfx_hash(const struct vec *pfx)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < pfx->n; i++) {
        const struct pfx *p = VAT(*pfx, struct pfx, i);
        uint64_t x = (uint64_t)p->family << 8 | p->plen;
        for (int b = 0; b < 16; b++)
            x = x * 0x100000001b3ull ^ p->addr[b];
        h = (h ^ x) * 0x100000001b3ull;
    }
    return h;
}

static bool pfx_equal(const struct pfx *a, const struct vec *b)
{
    for (size_t i = 0; i < b->n; i++) {
        const struct pfx *q = VAT(*b, struct pfx, i);
        if (a[i].family != q->family || a[i].plen != q->plen ||
            memcmp(a[i].addr, q->addr, sizeof q->addr) != 0)
            return false;
    }
    return true;
}

/* Items of a list parse_prefix_list filled (or left to a whole set). */
static const struct vec *plist_items(const struct vec *pfx, const struct set_def *whole)
{
    return whole ? &whole->pfx : pfx;
}

static const prefixset *own_prefixset_items(struct loader *L, const struct vec *pfx,
                                            dw_strlist *text);

/* ---- sets compiled ahead ------------------------------------------------------------
 *
 * A big pack is mostly prefix sets: parsing their items and compiling each into a trie
 * and texts would keep one thread busy long after libyaml is done. So before the sets
 * pass, both threads take the prefix lists of the sets documents one at a time and do
 * both; the sets pass then takes a list's items instead of parsing them, and the first
 * rule to name the set takes its compiled trie. Only a list whose every item is a valid
 * prefix without host bits is done ahead: one that would draw a message goes the
 * sequential way, so the messages and their order stay what they were. */
struct pre_set {
    yaml_document_t *doc;
    const yaml_node_t *list;
    /* Written by the thread that takes the job, read after the join. */
    bool clean;          /* pfx holds every item */
    struct vec pfx;      /* struct pfx, until a set_def takes it */
    uint64_t hash;       /* pfx_hash of pfx */
    prefixset *set;      /* pfx compiled (values are item indices); NULL: not done */
    struct chunk *texts; /* block holding text.v and the strings */
    dw_strlist text;
};

/* Touches nothing but *p (the document is only read), so two threads run jobs at once. */
static void pre_run(struct pre_set *p)
{
    const yaml_node_t *list = p->list;
    size_t n = (size_t)(list->data.sequence.items.top - list->data.sequence.items.start);
    if (!n) {
        p->clean = true;
        return;
    }
    struct pfx *v = malloc(n * sizeof *v);
    if (!v)
        return;
    for (size_t i = 0; i < n; i++) {
        const yaml_node_t *nd = yaml_document_get_node(p->doc, list->data.sequence.items.start[i]);
        bool host_bits = false;
        const char *why;
        if (!nd || nd->type != YAML_SCALAR_NODE || is_null(nd) ||
            strlen(sval(nd)) != nd->data.scalar.length || !strncmp(sval(nd), "set:", 4) ||
            prefix_parse(sval(nd), &v[i].family, v[i].addr, &v[i].plen, &host_bits, NULL,
                         &why) != 0 ||
            host_bits) {
            free(v);
            return;
        }
        pfx_mask(&v[i]);
    }
    p->pfx = (struct vec){v, n, n, sizeof *v};
    p->clean = true;
    p->hash = pfx_hash(&p->pfx);

    /* Texts are formatted into scratch space first (at most 44 bytes each, "/128"
     * included), then copied into one block of the exact size. */
    prefixset *set = prefixset_new();
    char *scratch = malloc(n * 44);
    size_t total = 0;
    bool ok = set && scratch;
    for (size_t i = 0; ok && i < n; i++) {
        char buf[64];
        prefix_format(v[i].family, v[i].addr, v[i].plen, buf);
        size_t len = strlen(buf) + 1;
        memcpy(scratch + total, buf, len);
        total += len;
        ok = prefixset_add(set, v[i].family, v[i].addr, v[i].plen, (uint32_t)i) == 0;
    }
    ok = ok && prefixset_freeze(set) == 0;
    size_t size = n * sizeof(char *) + total;
    struct chunk *c = ok ? malloc(sizeof *c + size) : NULL;
    if (c) {
        c->next = NULL;
        c->used = c->cap = size;
        const char **tv = (const char **)(void *)c->data;
        char *str = (char *)c->data + n * sizeof(char *);
        memcpy(str, scratch, total);
        for (size_t i = 0; i < n; i++) {
            tv[i] = str;
            str += strlen(str) + 1;
        }
        p->set = set;
        p->texts = c;
        p->text = (dw_strlist){tv, n};
    } else {
        prefixset_free(set);
    }
    free(scratch);
}

/* The "prefixes" lists of every set of every sets document, as the sets pass will meet
 * them. Others (a second "sets" key, a duplicate "prefixes") may be among them: the pass
 * takes only the ones it parses. */
static void pre_collect(struct loader *L)
{
    for (size_t fi = 0; fi < L->files.n && !L->y.oom; fi++) {
        struct lfile *f = VAT(L->files, struct lfile, fi);
        for (size_t di = 0; di < f->docs.n && !L->y.oom; di++) {
            yaml_document_t *doc = VAT(f->docs, yaml_document_t, di);
            yaml_node_t *root = yaml_document_get_root_node(doc);
            if (!root || root->type != YAML_MAPPING_NODE)
                continue;
            for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
                 p < root->data.mapping.pairs.top; p++) {
                yaml_node_t *k = yaml_document_get_node(doc, p->key);
                yaml_node_t *sets = yaml_document_get_node(doc, p->value);
                if (!k || k->type != YAML_SCALAR_NODE || strcmp(sval(k), "sets") != 0 ||
                    !sets || sets->type != YAML_MAPPING_NODE)
                    continue;
                for (yaml_node_pair_t *q = sets->data.mapping.pairs.start;
                     q < sets->data.mapping.pairs.top; q++) {
                    yaml_node_t *body = yaml_document_get_node(doc, q->value);
                    if (!body || body->type != YAML_MAPPING_NODE)
                        continue;
                    for (yaml_node_pair_t *b = body->data.mapping.pairs.start;
                         b < body->data.mapping.pairs.top; b++) {
                        yaml_node_t *bk = yaml_document_get_node(doc, b->key);
                        yaml_node_t *bv = yaml_document_get_node(doc, b->value);
                        if (!bk || bk->type != YAML_SCALAR_NODE || !bv ||
                            bv->type != YAML_SEQUENCE_NODE || strcmp(sval(bk), "prefixes") != 0)
                            continue;
                        struct pre_set *e = lpush(L, &L->pre);
                        if (!e)
                            return;
                        e->doc = doc;
                        e->list = bv;
                        e->pfx = VEC(struct pfx);
                    }
                }
            }
        }
    }
}

struct pre_queue {
    struct pre_set *v;
    size_t n;
    atomic_size_t next;
};

static void pre_queued(struct pre_queue *Q)
{
    for (;;) {
        size_t k = atomic_fetch_add(&Q->next, 1);
        if (k >= Q->n)
            return;
        pre_run(&Q->v[k]);
    }
}

static void *pre_helper(void *arg)
{
    pre_queued(arg);
    return NULL;
}

static void precompile_sets(struct loader *L)
{
    pre_collect(L);
    if (!L->pre.n)
        return;
    struct pre_queue Q = {.v = L->pre.v, .n = L->pre.n};
    atomic_init(&Q.next, 0);
    pthread_t t;
    bool threaded = pthread_create(&t, NULL, pre_helper, &Q) == 0;
    pre_queued(&Q);
    if (threaded)
        pthread_join(t, NULL);
}

/* The sets pass meets the lists in pre_collect's order, some skipped. */
static struct pre_set *pre_find(struct loader *L, const yaml_node_t *list)
{
    for (size_t i = L->pre_next; i < L->pre.n; i++) {
        struct pre_set *p = VAT(L->pre, struct pre_set, i);
        if (p->list == list && p->doc == L->y.doc) {
            L->pre_next = i + 1;
            return p;
        }
    }
    return NULL;
}

/* Gives set s the items of list if they were parsed ahead, spending the document budget
 * as parse_prefix_list would; false when s must be parsed the sequential way. */
static bool take_pre(struct loader *L, const yaml_node_t *list, struct set_def *s)
{
    struct pre_set *p = pre_find(L, list);
    if (!p || !p->clean || L->y.over_budget || RS_DOC_BUDGET - L->y.budget < p->pfx.n)
        return false;
    L->y.budget += p->pfx.n;
    vec_free(&s->pfx);
    s->pfx = p->pfx;
    p->pfx = VEC(struct pfx);
    s->pre = p;
    return true;
}

/* Moves the trie compiled ahead for pre into the ruleset, unless an identical list was
 * compiled before (then shared, as own_prefixset_items would). */
static const prefixset *adopt_pre(struct loader *L, struct pre_set *p, const struct vec *items,
                                  dw_strlist *text)
{
    for (size_t i = 0; i < L->pcache.n; i++) {
        const struct pcache_ent *c = VAT(L->pcache, struct pcache_ent, i);
        if (c->hash == p->hash && c->n == items->n && pfx_equal(c->items, items)) {
            *text = c->text;
            return c->set;
        }
    }
    prefixset **slot = lpush(L, &L->rs->prefixsets);
    struct pcache_ent *c = slot ? lpush(L, &L->pcache) : NULL;
    if (!c) {
        if (slot)
            L->rs->prefixsets.n--;
        text->v = NULL;
        text->n = 0;
        return NULL;
    }
    prefixset *set = p->set;
    *slot = set;
    p->set = NULL;
    struct chunk *t = p->texts;
    p->texts = NULL;
    /* Behind the chunk being filled, which stays the one arena_alloc fills. */
    if (L->rs->arena) {
        t->next = L->rs->arena->next;
        L->rs->arena->next = t;
    } else {
        L->rs->arena = t;
    }
    /* The items live as long as the set's definition, which outlives the cache. */
    c->hash = p->hash;
    c->items = items->v;
    c->n = items->n;
    c->set = set;
    c->text = p->text;
    *text = p->text;
    return set;
}

static const prefixset *own_prefixset(struct loader *L, const struct vec *pfx,
                                      struct set_def *whole, dw_strlist *text)
{
    if (!whole)
        return own_prefixset_items(L, pfx, text);
    if (whole->compiled && whole->pfx.n) {
        *text = whole->compiled_text;
        return whole->compiled;
    }
    const prefixset *made = whole->pre && whole->pre->set
                                ? adopt_pre(L, whole->pre, &whole->pfx, text)
                                : own_prefixset_items(L, &whole->pfx, text);
    whole->compiled = made;
    whole->compiled_text = *text;
    return made;
}

/* Builds a prefixset and its texts from struct pfx items; NULL when there are none. An
 * identical list compiled before is shared (the ruleset is immutable once built). */
static const prefixset *own_prefixset_items(struct loader *L, const struct vec *pfx,
                                            dw_strlist *text)
{
    text->v = NULL;
    text->n = 0;
    if (!pfx->n)
        return NULL;
    uint64_t h = pfx_hash(pfx);
    for (size_t i = 0; i < L->pcache.n; i++) {
        const struct pcache_ent *c = VAT(L->pcache, struct pcache_ent, i);
        if (c->hash == h && c->n == pfx->n && pfx_equal(c->items, pfx)) {
            *text = c->text;
            return c->set;
        }
    }
    const prefixset *made = build_prefixset(L, pfx, text);
    struct pfx *copy = made ? lalloc(L, pfx->n * sizeof *copy) : NULL;
    struct pcache_ent *c = copy ? lpush(L, &L->pcache) : NULL;
    if (c) {
        memcpy(copy, pfx->v, pfx->n * sizeof *copy);
        c->hash = h;
        c->items = copy;
        c->n = pfx->n;
        c->set = made;
        c->text = *text;
    }
    return made;
}

static const prefixset *build_prefixset(struct loader *L, const struct vec *pfx, dw_strlist *text)
{
    prefixset *s = prefixset_new();
    prefixset **slot = s ? lpush(L, &L->rs->prefixsets) : NULL;
    const char **v = lalloc(L, pfx->n * sizeof *v);
    if (!slot || !v) {
        if (!slot)
            prefixset_free(s);
        L->y.oom = true;
        return NULL;
    }
    *slot = s;
    for (size_t i = 0; i < pfx->n; i++) {
        const struct pfx *p = VAT(*pfx, struct pfx, i);
        char buf[64];
        prefix_format(p->family, p->addr, p->plen, buf);
        v[i] = lstrdup(L, buf);
        if (!v[i] || prefixset_add(s, p->family, p->addr, p->plen, (uint32_t)i) == -ENOMEM)
            L->y.oom = true;
    }
    if (prefixset_freeze(s) == -ENOMEM)
        L->y.oom = true;
    text->v = v;
    text->n = pfx->n;
    return s;
}

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- the sets document ---------------------------------------------------------------- */

static void parse_sets_doc(struct loader *L, const yaml_node_t *root)
{
    const yaml_node_t *sets = NULL;
    L->y.id = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(L, p->key);
        if (!k || k->type != YAML_SCALAR_NODE)
            continue;
        if (strcmp(sval(k), "sets") != 0)
            ys_diag(&L->y, true, k, "unknown key \"%.80s\" in a sets document: it holds only \"sets\"; "
                             "put each rule in its own document after ---", sval(k));
        else if (sets)
            ys_diag(&L->y, true, k, "duplicate key \"sets\" in a sets document");
        else
            sets = node(L, p->value);
    }
    if (!sets || !ys_map(&L->y, sets, "sets"))
        return;
    for (yaml_node_pair_t *p = sets->data.mapping.pairs.start; p < sets->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(L, p->key), *body = node(L, p->value);
        if (!k || !body || !ys_spend(&L->y, k, 1))
            continue;
        const char *name = ys_text(&L->y, k, "set name");
        if (!name)
            continue;
        if (!valid_ident(name)) {
            ys_diag(&L->y, true, k, "bad set name \"%.80s\": use letters, digits, '.', '_' and '-' "
                             "(at most %d)", name, RS_MAX_ID);
            continue;
        }
        struct set_def *first = find_set(L, name);
        if (first) {
            ys_diag(&L->y, true, k, "duplicate set \"%s\"; first defined at %s:%u:%u", name,
                 VAT(L->files, struct lfile, first->file)->path, first->line, first->col);
            continue;
        }
        struct set_def *s = lpush(L, &L->sets);
        if (!s)
            return;
        s->name = name;
        s->file = L->y.file;
        s->line = (unsigned)k->start_mark.line + 1;
        s->col = (unsigned)k->start_mark.column + 1;
        s->asn = VEC(uint32_t);
        s->pfx = VEC(struct pfx);
        yaml_node_t *bv[2];
        char what[96];
        if (!ys_map(&L->y, body, name)) {
            if (is_null(body))
                ys_diag(&L->y, true, k, "set \"%s\" is empty; give it {asn: [...]} or {prefixes: [...]}",
                     name);
            continue;
        }
        map_get(L, body, S_SET, bv);
        if (bv[0] && bv[1]) {
            ys_diag(&L->y, true, k, "set \"%s\" holds either asn or prefixes, not both; split it", name);
            continue;
        }
        if (!bv[0] && !bv[1]) {
            ys_diag(&L->y, true, k, "set \"%s\" is empty; give it {asn: [...]} or {prefixes: [...]}", name);
            continue;
        }
        s->is_asn = bv[0] != NULL;
        snprintf(what, sizeof what, "set \"%s\"", name);
        if (s->is_asn)
            parse_asn_list(L, bv[0], what, false, &s->asn);
        else if (!take_pre(L, bv[1], s))
            parse_prefix_list(L, bv[1], what, false, &s->pfx, NULL);
    }
}

/* ---- rules ---------------------------------------------------------------------------- */

enum {
    K_ID, K_TITLE, K_SEVERITY, K_TAGS, K_MATCH, K_CNAME, K_EXPECT, K_DNSSEC, K_TTL,
    K_REBINDING, K_EXCEPTIONS, K_NKEYS
};

static void parse_exceptions(struct loader *L, const yaml_node_t *list, struct vec *out)
{
    if (!ys_list(&L->y, list, "exceptions"))
        return;
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++) {
        yaml_node_t *n = node(L, *it);
        if (!n || !ys_spend(&L->y, list, 1))
            return;
        if (n->type != YAML_MAPPING_NODE) {
            ys_diag(&L->y, true, n, "an item of \"exceptions\" must be a mapping ({prefixes: [...], "
                             "reason: ..., expires: YYYY-MM-DD}), found %s", type_name(n));
            continue;
        }
        yaml_node_t *v[4];
        map_get(L, n, S_EXCEPTION, v);
        unsigned errs = L->y.errors;
        dw_exception e;
        memset(&e, 0, sizeof e);
        e.line = (unsigned)n->start_mark.line + 1;
        struct vec pfx = VEC(struct pfx), names = VEC(char *), nodes = VEC(yaml_node_t *);
        struct set_def *pfx_set = NULL;
        if (v[0])
            parse_prefix_list(L, v[0], "exception prefixes", true, &pfx, &pfx_set);
        if (v[1])
            parse_name_list(L, v[1], "exception names", &names, &nodes);
        if (!v[0] && !v[1])
            ys_diag(&L->y, true, n, "exception excuses nothing; give it prefixes: [...] and/or "
                             "names: [...]");
        if (!v[2])
            ys_diag(&L->y, true, n, "exception has no \"reason\"; say why it is allowed (e.g. the "
                             "change ticket)");
        else if ((e.reason = ys_text(&L->y, v[2], "reason")) && !*e.reason)
            ys_diag(&L->y, true, v[2], "exception \"reason\" is empty");
        const char *exp = NULL;
        if (!v[3])
            ys_diag(&L->y, true, n, "exception has no \"expires\"; add expires: YYYY-MM-DD");
        else if ((exp = ys_text(&L->y, v[3], "expires")) && !parse_date(exp, &e.expires)) {
            ys_diag(&L->y, true, v[3], "bad date \"%.80s\" in expires; write YYYY-MM-DD (a real day)",
                 exp);
            exp = NULL;
        }
        if (L->y.errors == errs && exp) {
            snprintf(e.expires_text, sizeof e.expires_text, "%s", exp);
            if (L->now >= e.expires) {
                ys_diag(&L->y, false, v[3], "exception expired on %s and is ignored (reason: %.80s); "
                                     "remove it or extend \"expires\"", exp, e.reason);
            } else {
                e.reason = lstrdup(L, e.reason);
                e.prefixes = own_prefixset(L, &pfx, pfx_set, &e.prefixes_text);
                e.names = names.n ? own_nameset(L, &names) : NULL;
                dw_exception *slot = lpush(L, out);
                if (slot)
                    *slot = e;
            }
        }
        vec_free(&pfx);
        vec_free(&names);
        vec_free(&nodes);
    }
}

/* Rule ids by hash (open addressing, slots hold an index into L->ids plus one), so that
 * the duplicate check of a thousand rules is not half a million strcmp calls. Holds the
 * first rule of each id only. */
static uint32_t id_hash(const char *id)
{
    uint32_t h = 2166136261u;
    for (; *id; id++)
        h = (h ^ (unsigned char)*id) * 16777619u;
    return h;
}

static const struct id_ref *id_first(struct loader *L, const char *id)
{
    if (!L->id_cap)
        return NULL;
    for (size_t i = id_hash(id) & (L->id_cap - 1);; i = (i + 1) & (L->id_cap - 1)) {
        size_t k = L->id_tab[i];
        if (!k)
            return NULL;
        const struct id_ref *r = VAT(L->ids, struct id_ref, k - 1);
        if (!strcmp(r->id, id))
            return r;
    }
}

/* Adds L->ids[k], whose id is not in the table yet. */
static void id_insert(struct loader *L, size_t k)
{
    if ((L->id_used + 1) * 2 > L->id_cap) {
        size_t ncap = L->id_cap ? L->id_cap * 2 : 64;
        size_t *nt = calloc(ncap, sizeof *nt);
        if (!nt) {
            L->y.oom = true;
            return;
        }
        for (size_t j = 0; j < L->id_cap; j++) {
            size_t e = L->id_tab[j];
            if (!e)
                continue;
            size_t i = id_hash(VAT(L->ids, struct id_ref, e - 1)->id) & (ncap - 1);
            while (nt[i])
                i = (i + 1) & (ncap - 1);
            nt[i] = e;
        }
        free(L->id_tab);
        L->id_tab = nt;
        L->id_cap = ncap;
    }
    size_t i = id_hash(VAT(L->ids, struct id_ref, k)->id) & (L->id_cap - 1);
    while (L->id_tab[i])
        i = (i + 1) & (L->id_cap - 1);
    L->id_tab[i] = k + 1;
    L->id_used++;
}

static void parse_rule(struct loader *L, const yaml_node_t *root)
{
    yaml_node_t *v[K_NKEYS];
    dw_rule r;
    struct vec names = VEC(char *), name_nodes = VEC(yaml_node_t *);
    struct vec except = VEC(char *), except_nodes = VEC(yaml_node_t *);
    struct vec cname = VEC(char *), cname_nodes = VEC(yaml_node_t *);
    struct vec tags = VEC(char *), asn = VEC(uint32_t);
    struct vec pfx = VEC(struct pfx), resolvers = VEC(struct pfx), allow = VEC(struct pfx);
    struct set_def *pfx_set = NULL, *resolvers_set = NULL, *allow_set = NULL;
    struct vec exceptions = VEC(dw_exception);
    unsigned errs = L->y.errors;

    memset(&r, 0, sizeof r);
    r.severity = DW_SEV_MEDIUM;
    r.rebind_check = true;
    struct lfile *f = VAT(L->files, struct lfile, L->y.file);
    if (!f->kept)
        f->kept = lstrdup(L, f->path);
    r.file = f->kept;
    r.line = (unsigned)root->start_mark.line + 1;

    /* Know the id before the first message, whatever the key order. */
    L->y.id = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = node(L, p->key), *val = node(L, p->value);
        if (k && val && k->type == YAML_SCALAR_NODE && !strcmp(sval(k), "id") &&
            val->type == YAML_SCALAR_NODE && valid_ident(sval(val))) {
            L->y.id = sval(val);
            break;
        }
    }

    map_get(L, root, S_RULE, v);

    if (!v[K_ID]) {
        ys_diag(&L->y, true, root, "rule has no \"id\"; add id: <short-name>");
    } else if ((r.id = ys_text(&L->y, v[K_ID], "id"))) {
        if (!valid_ident(r.id)) {
            ys_diag(&L->y, true, v[K_ID], "bad rule id \"%.80s\": use letters, digits, '.', '_' and '-' "
                                   "(at most %d)", r.id, RS_MAX_ID);
            r.id = NULL;
        }
    }
    if (r.id) {
        const struct id_ref *first = id_first(L, r.id);
        if (first)
            ys_diag(&L->y, true, v[K_ID], "duplicate rule id \"%s\"; first defined at %s:%u:%u",
                 r.id, VAT(L->files, struct lfile, first->file)->path, first->line,
                 first->col);
        struct id_ref *ref = lpush(L, &L->ids);
        if (ref) {
            ref->id = r.id;
            ref->file = L->y.file;
            ref->line = (unsigned)v[K_ID]->start_mark.line + 1;
            ref->col = (unsigned)v[K_ID]->start_mark.column + 1;
            if (!first)
                id_insert(L, L->ids.n - 1);
        }
    }

    if (v[K_TITLE])
        r.title = ys_text(&L->y, v[K_TITLE], "title");
    if (v[K_SEVERITY]) {
        int s = ys_enum(&L->y, v[K_SEVERITY], "severity", sev_names, 4, true);
        if (s >= 0)
            r.severity = (enum dw_severity)s;
    }
    if (v[K_TAGS] && ys_list(&L->y, v[K_TAGS], "tags")) {
        const yaml_node_t *l = v[K_TAGS];
        for (yaml_node_item_t *it = l->data.sequence.items.start; it < l->data.sequence.items.top;
             it++) {
            yaml_node_t *n = node(L, *it);
            if (!n || !ys_spend(&L->y, l, 1))
                break;
            const char *t = ys_text(&L->y, n, "tags");
            char **slot = t ? lpush(L, &tags) : NULL;
            if (slot)
                *slot = (char *)t;
        }
    }

    if (!v[K_MATCH]) {
        ys_diag(&L->y, true, root, "rule has no \"match\"; add match: {names: [...]}");
    } else if (ys_map(&L->y, v[K_MATCH], "match") || is_null(v[K_MATCH])) {
        yaml_node_t *mv[2] = {NULL, NULL};
        if (v[K_MATCH]->type == YAML_MAPPING_NODE)
            map_get(L, v[K_MATCH], S_MATCH, mv);
        if (!mv[0])
            ys_diag(&L->y, true, v[K_MATCH], "\"match\" has no \"names\"; add names: [...]");
        else {
            unsigned e0 = L->y.errors;
            parse_name_list(L, mv[0], "match.names", &names, &name_nodes);
            if (!names.n && L->y.errors == e0)
                ys_diag(&L->y, true, mv[0], "\"match.names\" is empty: the rule would never apply");
        }
        if (mv[1])
            parse_name_list(L, mv[1], "match.except", &except, &except_nodes);
    }

    if (v[K_CNAME] && ys_map(&L->y, v[K_CNAME], "cname")) {
        yaml_node_t *cv[1];
        map_get(L, v[K_CNAME], S_CNAME, cv);
        if (cv[0]) {
            parse_name_list(L, cv[0], "cname.allowed_targets", &cname, &cname_nodes);
            r.cname_allowed = own_nameset(L, &cname);
            r.cname_allowed_text = strlist_from(L, &cname);
        }
    }

    if (v[K_EXPECT] && ys_map(&L->y, v[K_EXPECT], "expect")) {
        yaml_node_t *ev[3];
        map_get(L, v[K_EXPECT], S_EXPECT, ev);
        if (ev[0])
            parse_asn_list(L, ev[0], "expect.asn", true, &asn);
        if (ev[1])
            parse_prefix_list(L, ev[1], "expect.prefixes", true, &pfx, &pfx_set);
        if (ev[2])
            parse_prefix_list(L, ev[2], "expect.resolvers", true, &resolvers, &resolvers_set);
    }

    if (v[K_DNSSEC] && ys_map(&L->y, v[K_DNSSEC], "dnssec")) {
        yaml_node_t *dv[1];
        map_get(L, v[K_DNSSEC], S_DNSSEC, dv);
        int d = dv[0] ? ys_enum(&L->y, dv[0], "dnssec.expect", dnssec_names, 3, true) : -1;
        if (d >= 0)
            r.dnssec = (enum dw_dnssec_expect)d;
    }

    if (v[K_TTL] && ys_map(&L->y, v[K_TTL], "ttl")) {
        yaml_node_t *tv[1];
        map_get(L, v[K_TTL], S_TTL, tv);
        const char *s = tv[0] ? ys_text(&L->y, tv[0], "ttl.max") : NULL;
        if (s && (!parse_u32(s, INT32_MAX, &r.ttl_max) || r.ttl_max == 0)) {
            ys_diag(&L->y, true, tv[0], "bad ttl.max \"%.80s\"; write a number of seconds from 1 to "
                                 "2147483647", s);
            r.ttl_max = 0;
        }
    }

    if (v[K_REBINDING] && ys_map(&L->y, v[K_REBINDING], "rebinding")) {
        static const char *const bools[] = {"false", "true"};
        yaml_node_t *rv[3];
        map_get(L, v[K_REBINDING], S_REBINDING, rv);
        int c = rv[0] ? ys_enum(&L->y, rv[0], "rebinding.check", bools, 2, true) : -1;
        if (c >= 0)
            r.rebind_check = c == 1;
        if (rv[1])
            parse_prefix_list(L, rv[1], "rebinding.allow", true, &allow, &allow_set);
        int s = rv[2] ? ys_enum(&L->y, rv[2], "rebinding.sinkhole", sinkhole_names, 3, true) : -1;
        if (s >= 0)
            r.sinkhole = (enum dw_sinkhole_mode)s;
    }

    if (v[K_EXCEPTIONS])
        parse_exceptions(L, v[K_EXCEPTIONS], &exceptions);

    if (L->y.errors == errs && !L->y.oom) {
        if (!asn.n && !plist_items(&pfx, pfx_set)->n &&
            !plist_items(&resolvers, resolvers_set)->n && !r.cname_allowed && r.dnssec == DW_DNSSEC_UNKNOWN &&
            !r.ttl_max && !r.rebind_check)
            ys_diag(&L->y, false, root, "rule checks nothing; give it expect, cname, dnssec or ttl, or "
                                 "drop rebinding.check: false");
        r.id = lstrdup(L, r.id);
        r.title = lstrdup(L, r.title ? r.title : r.id);
        r.score = sev_score[r.severity];
        for (size_t i = 0; i < tags.n; i++)
            *VAT(tags, char *, i) = lstrdup(L, *VAT(tags, char *, i));
        r.tags = strlist_from(L, &tags);
        r.names = strlist_from(L, &names);
        if (except.n) {
            r.except = own_nameset(L, &except);
            r.except_text = strlist_from(L, &except);
        }
        if (asn.n) {
            qsort(asn.v, asn.n, sizeof(uint32_t), u32_cmp);
            size_t u = 0;
            uint32_t *a = asn.v;
            for (size_t i = 0; i < asn.n; i++)
                if (u == 0 || a[u - 1] != a[i])
                    a[u++] = a[i];
            uint32_t *copy = lalloc(L, u * sizeof *copy);
            if (copy) {
                memcpy(copy, a, u * sizeof *copy);
                r.asn = copy;
                r.n_asn = u;
            }
        }
        r.prefixes = own_prefixset(L, &pfx, pfx_set, &r.prefixes_text);
        r.resolvers = own_prefixset(L, &resolvers, resolvers_set, &r.resolvers_text);
        r.rebind_allow = own_prefixset(L, &allow, allow_set, &r.rebind_allow_text);
        if (exceptions.n) {
            dw_exception *ex = lalloc(L, exceptions.n * sizeof *ex);
            if (ex) {
                memcpy(ex, exceptions.v, exceptions.n * sizeof *ex);
                r.exceptions = ex;
                r.n_exceptions = exceptions.n;
            }
        }
        size_t idx = L->rules.n;
        dw_rule *slot = lpush(L, &L->rules);
        if (slot)
            *slot = r;
        for (size_t i = 0; i < names.n; i++) {
            const yaml_node_t *n = *VAT(name_nodes, yaml_node_t *, i);
            struct name_ref *ref = lpush(L, &L->names);
            if (!ref)
                break;
            ref->pat = *VAT(names, char *, i);
            ref->rule = idx;
            ref->file = L->y.file;
            ref->seq = L->names.n;
            ref->line = (unsigned)n->start_mark.line + 1;
            ref->col = (unsigned)n->start_mark.column + 1;
        }
    }

    vec_free(&names);
    vec_free(&name_nodes);
    vec_free(&except);
    vec_free(&except_nodes);
    vec_free(&cname);
    vec_free(&cname_nodes);
    vec_free(&tags);
    vec_free(&asn);
    vec_free(&pfx);
    vec_free(&resolvers);
    vec_free(&allow);
    vec_free(&exceptions);
}

static int name_ref_cmp(const void *a, const void *b)
{
    const struct name_ref *x = a, *y = b;
    int c = strcmp(x->pat, y->pat);
    if (c)
        return c;
    return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Two rules on the same exact name or identical wildcard both apply, which is legal but
 * usually a copy-paste slip, so it is a warning naming the other rule. */
static void check_overlaps(struct loader *L)
{
    if (L->names.n < 2)
        return;
    struct name_ref *v = L->names.v;
    qsort(v, L->names.n, sizeof *v, name_ref_cmp);
    for (size_t i = 0; i < L->names.n;) {
        size_t j = i + 1;
        for (; j < L->names.n && !strcmp(v[i].pat, v[j].pat); j++) {
            const dw_rule *first = VAT(L->rules, dw_rule, v[i].rule);
            const dw_rule *me = VAT(L->rules, dw_rule, v[j].rule);
            ys_diag_at(&L->y, false, v[j].file, v[j].line, v[j].col, me->id,
                    "\"%s\" is also matched by rule \"%s\" (%s:%u:%u); both rules apply to it",
                    v[j].pat, first->id, VAT(L->files, struct lfile, v[i].file)->path,
                    v[i].line, v[i].col);
        }
        i = j;
    }
}

/* ---- files --------------------------------------------------------------------------- */

static struct lfile *add_file(struct loader *L, const char *path)
{
    struct lfile *f = lpush(L, &L->files);
    if (!f)
        return NULL;
    f->docs = VEC(yaml_document_t);
    f->path = strdup(path);
    if (!f->path) {
        L->y.oom = true;
        L->files.n--;
        return NULL;
    }
    return f;
}

static void io_error(struct loader *L, size_t file, int err, const char *what)
{
    VAT(L->files, struct lfile, file)->nodata = true;
    if (!L->io_err)
        L->io_err = -err;
    ys_diag_at(&L->y, true, file, 0, 0, NULL, "%s: %s", what, strerror(err));
}

static int str_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool has_yaml_ext(const char *name)
{
    size_t n = strlen(name);
    return (n > 5 && !strcmp(name + n - 5, ".yaml")) || (n > 4 && !strcmp(name + n - 4, ".yml"));
}

static void collect_dir(struct loader *L, const char *dir)
{
    DIR *d = opendir(dir);
    if (!d) {
        int e = errno;
        if (add_file(L, dir))
            io_error(L, L->files.n - 1, e, "cannot open directory");
        return;
    }
    struct vec names = VEC(char *);
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.' || !has_yaml_ext(de->d_name))
            continue;
        size_t dl = strlen(dir);
        char *full = malloc(dl + strlen(de->d_name) + 2);
        char **slot = full ? lpush(L, &names) : NULL;
        if (!slot) {
            free(full);
            L->y.oom = true;
            break;
        }
        sprintf(full, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", de->d_name);
        struct stat st;
        if (stat(full, &st) != 0 || !S_ISREG(st.st_mode)) {
            free(full);
            names.n--;
            continue;
        }
        *slot = full;
    }
    closedir(d);
    if (!names.n && add_file(L, dir)) {
        VAT(L->files, struct lfile, L->files.n - 1)->nodata = true;
        ys_diag_at(&L->y, false, L->files.n - 1, 0, 0, NULL, "no *.yaml or *.yml files in this directory");
    }
    if (names.n)
        qsort(names.v, names.n, sizeof(char *), str_cmp);
    for (size_t i = 0; i < names.n; i++) {
        if (!L->y.oom)
            add_file(L, *VAT(names, char *, i));
        free(*VAT(names, char *, i));
    }
    vec_free(&names);
}

static void read_file(struct loader *L, size_t fi)
{
    struct lfile *f = VAT(L->files, struct lfile, fi);
    enum ys_read_stage stage;
    int rc = ys_read_file(f->path, RS_MAX_FILE_BYTES, &f->data, &f->len, &stage);
    if (rc == -ENOMEM) {
        L->y.oom = true;
    } else if (rc && stage == YS_READ_BIG) {
        ys_diag_at(&L->y, true, fi, 0, 0, NULL, "file larger than %u bytes; split it",
                   RS_MAX_FILE_BYTES);
        f->nodata = true;
        if (!L->io_err)
            L->io_err = -EFBIG;
    } else if (rc) {
        io_error(L, fi, stage == YS_READ_TYPE ? EINVAL : -rc,
                 stage == YS_READ_OPEN ? "cannot open"
                 : stage == YS_READ_TYPE ? "not a regular file" : "cannot read");
    }
}

/* Touches nothing but *f, so two threads can parse two files at once. */
static void parse_file(struct lfile *f)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        f->parse_oom = true;
        return;
    }
    yaml_parser_set_input_string(&p, f->data ? f->data : (const unsigned char *)"", f->len);
    for (;;) {
        yaml_document_t doc;
        if (!yaml_parser_load(&p, &doc)) {
            if (p.error == YAML_MEMORY_ERROR) {
                f->parse_oom = true;
                break;
            }
            ys_syntax_from(&f->syntax, &p, f->data, f->len);
            break;
        }
        if (!yaml_document_get_root_node(&doc)) {
            yaml_document_delete(&doc);
            break;
        }
        yaml_document_t *slot = vec_push(&f->docs);
        if (!slot) {
            f->parse_oom = true;
            yaml_document_delete(&doc);
            break;
        }
        *slot = doc;
    }
    yaml_parser_delete(&p);
}

/* Reports what parse_file found, file by file as a sequential parse would have: the first
 * file that ran out of memory ends it (the files after it count as never parsed). */
static void parse_report(struct loader *L)
{
    for (size_t fi = 0; fi < L->files.n; fi++) {
        const struct lfile *f = VAT(L->files, struct lfile, fi);
        if (f->parse_oom) {
            L->y.oom = true;
            return;
        }
        if (f->syntax.set)
            ys_syntax_report(&L->y, fi, &f->syntax);
    }
}

static void hash_files(const struct loader *L, uint8_t digest[LDNS_SHA256_DIGEST_LENGTH])
{
    ldns_sha256_CTX ctx;
    ldns_sha256_init(&ctx);
    for (size_t i = 0; i < L->files.n; i++) {
        const struct lfile *f = VAT(L->files, struct lfile, i);
        char len[32];
        if (f->nodata)
            continue;
        int n = snprintf(len, sizeof len, "%zu\n", f->len);
        ldns_sha256_update(&ctx, (const uint8_t *)len, (size_t)n);
        if (f->len)
            ldns_sha256_update(&ctx, f->data, f->len);
    }
    ldns_sha256_final(digest, &ctx);
}

/* Parsing (libyaml) and hashing are most of the load time of a big pack, and the files
 * are independent of each other: a helper thread hashes, then both threads take files
 * to parse, largest first. Only files (read-only here) and each file's own parse fields
 * are shared; the loader itself is touched again only after the join. */
struct par {
    const struct loader *L;
    size_t *order; /* file indices to parse, largest first */
    size_t n;
    atomic_size_t next;
    uint8_t digest[LDNS_SHA256_DIGEST_LENGTH];
};

static void parse_queued(struct par *P)
{
    for (;;) {
        size_t k = atomic_fetch_add(&P->next, 1);
        if (k >= P->n)
            return;
        parse_file(VAT(P->L->files, struct lfile, P->order[k]));
    }
}

static void *par_helper(void *arg)
{
    struct par *P = arg;
    hash_files(P->L, P->digest);
    parse_queued(P);
    return NULL;
}

/* Parses every readable file; *hashed is set when digest holds the ruleset hash. */
static void parse_files(struct loader *L, uint8_t digest[LDNS_SHA256_DIGEST_LENGTH],
                        bool *hashed, bool *parallel)
{
    *hashed = false;
    *parallel = false;
    size_t total = 0, n = 0;
    for (size_t i = 0; i < L->files.n; i++) {
        const struct lfile *f = VAT(L->files, struct lfile, i);
        if (!f->nodata) {
            total += f->len;
            n++;
        }
    }
    size_t *order = total >= ruleset_parallel_bytes ? malloc(n * sizeof *order) : NULL;
    if (!order) {
        for (size_t i = 0; i < L->files.n; i++)
            if (!VAT(L->files, struct lfile, i)->nodata)
                parse_file(VAT(L->files, struct lfile, i));
        return;
    }
    n = 0;
    for (size_t i = 0; i < L->files.n; i++)
        if (!VAT(L->files, struct lfile, i)->nodata)
            order[n++] = i;
    /* Largest first (insertion sort: a pack is a handful of files). */
    for (size_t i = 1; i < n; i++) {
        size_t x = order[i], j = i;
        for (; j > 0 && VAT(L->files, struct lfile, order[j - 1])->len <
                            VAT(L->files, struct lfile, x)->len; j--)
            order[j] = order[j - 1];
        order[j] = x;
    }
    *parallel = true;
    struct par P = {.L = L, .order = order, .n = n};
    atomic_init(&P.next, 0);
    pthread_t t;
    bool threaded = pthread_create(&t, NULL, par_helper, &P) == 0;
    parse_queued(&P);
    if (threaded) {
        pthread_join(t, NULL);
        memcpy(digest, P.digest, sizeof P.digest);
        *hashed = true;
    }
    free(order);
}

/* Sets documents have "sets" as a key of their top mapping. */
static bool is_sets_doc(yaml_document_t *doc, const yaml_node_t *root)
{
    if (root->type != YAML_MAPPING_NODE)
        return false;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp(sval(k), "sets"))
            return true;
    }
    return false;
}

static void each_doc(struct loader *L, bool sets_pass)
{
    for (size_t fi = 0; fi < L->files.n && !L->y.oom; fi++) {
        struct lfile *f = VAT(L->files, struct lfile, fi);
        for (size_t di = 0; di < f->docs.n && !L->y.oom; di++) {
            L->y.file = fi;
            L->y.doc = VAT(f->docs, yaml_document_t, di);
            L->y.id = NULL;
            L->y.budget = 0;
            L->y.over_budget = false;
            yaml_node_t *root = yaml_document_get_root_node(L->y.doc);
            if (!root || is_null(root))
                continue;
            bool sets = is_sets_doc(L->y.doc, root);
            if (sets && sets_pass)
                parse_sets_doc(L, root);
            else if (!sets && !sets_pass) {
                if (root->type == YAML_MAPPING_NODE)
                    parse_rule(L, root);
                else
                    ys_diag(&L->y, true, root, "a document must be a mapping: a rule (id:, match:, ...) "
                                        "or sets:, found %s", type_name(root));
            }
        }
    }
}

static void compute_hash(struct loader *L, const uint8_t *digest_or_null)
{
    uint8_t digest[LDNS_SHA256_DIGEST_LENGTH];
    if (digest_or_null)
        memcpy(digest, digest_or_null, sizeof digest);
    else
        hash_files(L, digest);
    char *o = L->rs->hash;
    memcpy(o, "sha256:", 7);
    for (size_t i = 0; i < sizeof digest; i++)
        snprintf(o + 7 + 2 * i, 3, "%02x", digest[i]);
}

static void loader_done(struct loader *L)
{
    for (size_t i = 0; i < L->files.n; i++) {
        struct lfile *f = VAT(L->files, struct lfile, i);
        for (size_t d = 0; d < f->docs.n; d++)
            yaml_document_delete(VAT(f->docs, yaml_document_t, d));
        vec_free(&f->docs);
        free(f->data);
        free(f->path);
    }
    for (size_t i = 0; i < L->sets.n; i++) {
        vec_free(&VAT(L->sets, struct set_def, i)->asn);
        vec_free(&VAT(L->sets, struct set_def, i)->pfx);
    }
    vec_free(&L->files);
    vec_free(&L->sets);
    vec_free(&L->rules);
    vec_free(&L->ids);
    free(L->id_tab);
    vec_free(&L->names);
    ys_free(&L->y);
    vec_free(&L->pcache);
    for (size_t i = 0; i < L->pre.n; i++) {
        struct pre_set *p = VAT(L->pre, struct pre_set, i);
        vec_free(&p->pfx);
        prefixset_free(p->set);
        free(p->texts);
    }
    vec_free(&L->pre);
    ruleset_free(L->rs);
}

int ruleset_load(const char *const *paths, size_t n, time_t now, ruleset_diag_fn fn, void *ctx,
                 ruleset **out)
{
    struct loader L;
    int rc = 0;
    memset(&L, 0, sizeof L);
    L.now = now;
    L.files = VEC(struct lfile);
    L.sets = VEC(struct set_def);
    L.rules = VEC(dw_rule);
    L.ids = VEC(struct id_ref);
    L.names = VEC(struct name_ref);
    L.y.max_diags = RS_MAX_DIAGS;
    L.y.budget_max = RS_DOC_BUDGET;
    L.pcache = VEC(struct pcache_ent);
    L.pre = VEC(struct pre_set);
    L.rs = calloc(1, sizeof *L.rs);
    if (!L.rs) {
        rc = -ENOMEM;
        goto out;
    }
    L.rs->namesets = VEC(nameset *);
    L.rs->prefixsets = VEC(prefixset *);

    for (size_t i = 0; i < n && !L.y.oom; i++) {
        struct stat st;
        if (stat(paths[i], &st) == 0 && S_ISDIR(st.st_mode))
            collect_dir(&L, paths[i]);
        else
            add_file(&L, paths[i]);
    }
    for (size_t i = 0; i < L.files.n && !L.y.oom; i++)
        if (!VAT(L.files, struct lfile, i)->nodata)
            read_file(&L, i);
    uint8_t digest[LDNS_SHA256_DIGEST_LENGTH];
    bool hashed = false, parallel = false;
    if (!L.y.oom) {
        parse_files(&L, digest, &hashed, &parallel);
        parse_report(&L);
    }
    if (parallel && !L.y.oom)
        precompile_sets(&L);
    each_doc(&L, true);
    each_doc(&L, false);
    if (!L.y.oom)
        check_overlaps(&L);

    if (L.y.oom) {
        rc = -ENOMEM;
        goto out;
    }
    if (L.io_err || L.y.errors) {
        rc = L.io_err ? L.io_err : -EINVAL;
        goto out;
    }
    ruleset *rs = L.rs;
    rs->names = nameset_new();
    rs->n = L.rules.n;
    rs->rules = lalloc(&L, (L.rules.n ? L.rules.n : 1) * sizeof(dw_rule));
    if (!rs->names || !rs->rules) {
        rc = -ENOMEM;
        goto out;
    }
    if (L.rules.n)
        memcpy(rs->rules, L.rules.v, L.rules.n * sizeof(dw_rule));
    for (size_t i = 0; i < rs->n; i++)
        for (size_t j = 0; j < rs->rules[i].names.n; j++)
            if (nameset_add(rs->names, rs->rules[i].names.v[j], (uint32_t)i) != 0)
                L.y.oom = true;
    if (L.y.oom) {
        rc = -ENOMEM;
        goto out;
    }
    compute_hash(&L, hashed ? digest : NULL);
    *out = rs;
    L.rs = NULL;
out:
    ys_flush(&L.y, file_path, &L, fn, ctx);
    loader_done(&L);
    return rc;
}
