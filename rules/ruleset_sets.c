/* Sets documents and the typed lists of rules (ASNs, prefixes, names) compiled into the
 * ruleset: set references resolved, identical prefix lists shared, and a big pack's
 * prefix sets compiled ahead on two threads. */
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
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/sha2.h>
#include <yaml.h>

#include "common/hash.h"
#include "rules/ruleset_load.h"
#include "rules/suggest.h"

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
    if (rs_parse_u32(s, UINT32_MAX, out) && *out != 0)
        return true;
    uint32_t v;
    if ((s[0] == 'A' || s[0] == 'a') && (s[1] == 'S' || s[1] == 's') &&
        rs_parse_u32(s + 2, UINT32_MAX, &v) && v != 0)
        ys_diag(&L->y, true, n, "bad ASN \"%s\" in %s; write the number alone: %" PRIu32, s, what, v);
    else
        ys_diag(&L->y, true, n, "bad ASN \"%.80s\" in %s; an ASN is an integer from 1 to 4294967295", s,
             what);
    return false;
}

/* List of ASNs (and, if allow_sets, asn set references) appended to out (uint32_t). */
void rs_parse_asn_list(struct loader *L, const yaml_node_t *list, const char *what,
                           bool allow_sets, struct vec *out)
{
    if (!ys_list(&L->y, list, what))
        return;
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++) {
        yaml_node_t *n = rs_node(L, *it);
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
                uint32_t *e = rs_lpush(L, out);
                if (e)
                    *e = *VAT(set->asn, uint32_t, i);
            }
            continue;
        }
        uint32_t v;
        if (parse_asn(L, n, s, what, &v)) {
            uint32_t *e = rs_lpush(L, out);
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
void rs_parse_prefix_list(struct loader *L, const yaml_node_t *list, const char *what,
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
        yaml_node_t *n = rs_node(L, *it);
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
                struct pfx *e = rs_lpush(L, out);
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
        struct pfx *e = rs_lpush(L, out);
        if (e)
            *e = p;
    }
}

/* Name patterns, normalised and de-duplicated; texts are arena strings, nodes parallel. */
void rs_parse_name_list(struct loader *L, const yaml_node_t *list, const char *what,
                            struct vec *texts, struct vec *nodes)
{
    if (!ys_list(&L->y, list, what))
        return;
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++) {
        yaml_node_t *n = rs_node(L, *it);
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
        char *norm = rs_lstrdup(L, s);
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
        if (rs_is_public_suffix_wildcard(norm))
            ys_diag(&L->y, false, n, "wildcard \"%s\" in %s covers a whole public suffix: names anyone "
                              "can register match it; name the domain, e.g. \"*.example%s\"",
                 norm, what, norm + 1);
        char **t = rs_lpush(L, texts);
        const yaml_node_t **nn = rs_lpush(L, nodes);
        if (t && nn) {
            *t = norm;
            *nn = n;
        }
    }
}

/* ---- compiling lists into the ruleset ------------------------------------------------ */

dw_strlist rs_strlist_from(struct loader *L, const struct vec *texts)
{
    dw_strlist l = {NULL, 0};
    if (!texts->n)
        return l;
    const char **v = rs_lalloc(L, texts->n * sizeof *v);
    if (!v)
        return l;
    memcpy(v, texts->v, texts->n * sizeof *v);
    l.v = v;
    l.n = texts->n;
    return l;
}

nameset *rs_own_nameset(struct loader *L, const struct vec *texts)
{
    nameset *s = nameset_new();
    nameset **slot = s ? rs_lpush(L, &L->rs->namesets) : NULL;
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
    uint64_t h = HASH_FNV64_OFFSET;
    for (size_t i = 0; i < pfx->n; i++) {
        const struct pfx *p = VAT(*pfx, struct pfx, i);
        uint8_t head[2] = {(uint8_t)p->family, (uint8_t)p->plen};
        h = hash_fnv64(h, head, sizeof head);
        h = hash_fnv64(h, p->addr, sizeof p->addr);
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
const struct vec *rs_plist_items(const struct vec *pfx, const struct set_def *whole)
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
                        struct pre_set *e = rs_lpush(L, &L->pre);
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

void rs_precompile_sets(struct loader *L)
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
    rs_vec_free(&s->pfx);
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
    prefixset **slot = rs_lpush(L, &L->rs->prefixsets);
    struct pcache_ent *c = slot ? rs_lpush(L, &L->pcache) : NULL;
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

const prefixset *rs_own_prefixset(struct loader *L, const struct vec *pfx,
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
    struct pfx *copy = made ? rs_lalloc(L, pfx->n * sizeof *copy) : NULL;
    struct pcache_ent *c = copy ? rs_lpush(L, &L->pcache) : NULL;
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
    prefixset **slot = s ? rs_lpush(L, &L->rs->prefixsets) : NULL;
    const char **v = rs_lalloc(L, pfx->n * sizeof *v);
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
        v[i] = rs_lstrdup(L, buf);
        if (!v[i] || prefixset_add(s, p->family, p->addr, p->plen, (uint32_t)i) == -ENOMEM)
            L->y.oom = true;
    }
    if (prefixset_freeze(s) == -ENOMEM)
        L->y.oom = true;
    text->v = v;
    text->n = pfx->n;
    return s;
}

/* ---- the sets document ---------------------------------------------------------------- */

void rs_parse_sets_doc(struct loader *L, const yaml_node_t *root)
{
    const yaml_node_t *sets = NULL;
    L->y.id = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = rs_node(L, p->key);
        if (!k || k->type != YAML_SCALAR_NODE)
            continue;
        if (strcmp(sval(k), "sets") != 0)
            ys_diag(&L->y, true, k, "unknown key \"%.80s\" in a sets document: it holds only \"sets\"; "
                             "put each rule in its own document after ---", sval(k));
        else if (sets)
            ys_diag(&L->y, true, k, "duplicate key \"sets\" in a sets document");
        else
            sets = rs_node(L, p->value);
    }
    if (!sets || !ys_map(&L->y, sets, "sets"))
        return;
    for (yaml_node_pair_t *p = sets->data.mapping.pairs.start; p < sets->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = rs_node(L, p->key), *body = rs_node(L, p->value);
        if (!k || !body || !ys_spend(&L->y, k, 1))
            continue;
        const char *name = ys_text(&L->y, k, "set name");
        if (!name)
            continue;
        if (!rs_valid_ident(name)) {
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
        struct set_def *s = rs_lpush(L, &L->sets);
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
        rs_map_get(L, body, S_SET, bv);
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
            rs_parse_asn_list(L, bv[0], what, false, &s->asn);
        else if (!take_pre(L, bv[1], s))
            rs_parse_prefix_list(L, bv[1], what, false, &s->pfx, NULL);
    }
}

void rs_sets_done(struct loader *L)
{
    for (size_t i = 0; i < L->pre.n; i++) {
        struct pre_set *p = VAT(L->pre, struct pre_set, i);
        rs_vec_free(&p->pfx);
        prefixset_free(p->set);
        free(p->texts);
    }
    rs_vec_free(&L->pre);
}

void rs_sets_init(struct loader *L)
{
    L->pcache = VEC(struct pcache_ent);
    L->pre = VEC(struct pre_set);
}
