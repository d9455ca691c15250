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
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ldns/sha2.h>
#include <yaml.h>

#include "common/arr.h"
#include "common/num.h"
#include "rules/ruleset_load.h"
#include "rules/suggest.h"

/* Below this many bytes of rules, parsing and hashing stay on the calling thread: a helper
 * thread pays off only for packs that take tens of milliseconds to load. */
size_t ruleset_parallel_bytes = 256u << 10;

/* ---- small containers ---------------------------------------------------------------- */

void *rs_vec_push(struct vec *v)
{
    if (arr_reserve(&v->v, &v->cap, v->n + 1, 8, v->esz) != 0)
        return NULL;
    void *e = (char *)v->v + v->n * v->esz;
    memset(e, 0, v->esz);
    v->n++;
    return e;
}

void rs_vec_free(struct vec *v)
{
    free(v->v);
    v->v = NULL;
    v->n = v->cap = 0;
}

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
    rs_vec_free(&rs->namesets);
    rs_vec_free(&rs->prefixsets);
    nameset_free(rs->names);
    nameset_free(rs->watch);
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
size_t ruleset_allow_count(const ruleset *rs) { return rs->n_allow; }
const dw_allow *ruleset_allow(const ruleset *rs, size_t i)
{
    return i < rs->n_allow ? &rs->allow[i] : NULL;
}
const nameset *ruleset_watch(const ruleset *rs) { return rs->watch; }

/* Adds what one match.names pattern watches for poisoning (ruleset_watch): an exact name
 * and every name below it; for "*.S", S and every name below it. "*" watches nothing.
 * Returns 0 or -ENOMEM (a name too long to have a name below it adds only itself). */
static int add_watch(nameset *w, const char *pat, uint32_t rule)
{
    char below[2 + 1024]; /* "*." and a pattern (nameset_add refuses one over 253 bytes) */
    if (strcmp(pat, "*") == 0)
        return 0;
    const char *apex = strncmp(pat, "*.", 2) == 0 ? pat + 2 : pat;
    int rc = nameset_add(w, apex, rule);
    if (rc == -ENOMEM)
        return rc;
    if ((size_t)snprintf(below, sizeof below, "*.%s", apex) >= sizeof below)
        return 0;
    rc = nameset_add(w, below, rule);
    return rc == -ENOMEM ? rc : 0;
}

/* ---- loader state -------------------------------------------------------------------- */

void *rs_lpush(struct loader *L, struct vec *v)
{
    void *e = rs_vec_push(v);
    if (!e)
        L->y.oom = true;
    return e;
}

void *rs_lalloc(struct loader *L, size_t size)
{
    void *p = arena_alloc(L->rs, size);
    if (!p)
        L->y.oom = true;
    return p;
}

char *rs_lstrdup(struct loader *L, const char *s)
{
    size_t n = strlen(s);
    char *p = rs_lalloc(L, n + 1);
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

bool rs_is_public_suffix_wildcard(const char *pat)
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

bool rs_valid_ident(const char *s)
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
bool rs_parse_date(const char *s, time_t *end)
{
    time_t start;
    if (ruleset_parse_day(s, &start) != 0)
        return false;
    *end = start + 86400;
    return true;
}

bool rs_parse_u32(const char *s, uint32_t max, uint32_t *out)
{
    uint64_t v;
    if (num_parse_u64(s, 0, max, &v) != 0)
        return false;
    *out = (uint32_t)v;
    return true;
}

/* ---- YAML node helpers ---------------------------------------------------------------- */

yaml_node_t *rs_node(struct loader *L, int i) { return yaml_document_get_node(L->y.doc, i); }



/* The mappings of a rule file. Each section's hint keys are the ones suggested when written
 * in another mapping ("it belongs under ..."). */
static const char *const match_keys[] = {"names", "except"};
static const char *const cname_keys[] = {"allowed_targets"};
static const char *const expect_keys[] = {"asn", "prefixes", "resolvers"};
static const char *const ttl_keys[] = {"max"};
static const char *const rebinding_keys[] = {"check", "allow", "sinkhole"};
static const char *const exception_keys[] = {"prefixes", "names", "reason", "expires"};
static const char *const dnssec_keys[] = {"expect"};
static const char *const set_keys[] = {"asn", "prefixes"};
static const char *const allow_keys[] = {"names", "prefixes", "asn", "rules", "reason", "expires"};
#define KEYS(k) k, sizeof k / sizeof *k
static const ys_section rule_sections[] = {
    {"rule", "in rule", "at the top level of the rule", rs_rule_keys, RS_RULE_NKEYS, NULL, 0},
    {"match", "in match", "under \"match\"", KEYS(match_keys), NULL, 0},
    {"cname", "in cname", "under \"cname\"", KEYS(cname_keys), NULL, 0},
    {"expect", "in expect", "under \"expect\"", KEYS(expect_keys), NULL, 0},
    {"ttl", "in ttl", "under \"ttl\"", KEYS(ttl_keys), NULL, 0},
    {"rebinding", "in rebinding", "under \"rebinding\"", KEYS(rebinding_keys), NULL, 0},
    {"exception", "in exception", "in an item of \"exceptions\"", KEYS(exception_keys),
     exception_keys + 2, 2},
    {"dnssec", "in dnssec", "under \"dnssec\"", KEYS(dnssec_keys), dnssec_keys, 0},
    {"set", "in set", "under \"set\"", KEYS(set_keys), set_keys, 0},
    {"allow", "in an allow entry", "in an item of \"allow\"", KEYS(allow_keys), allow_keys, 0},
};
#undef KEYS

/* A key written without a value is judged as written: "title:" is an error, "tags:" an
 * empty list. */
static const ys_schema rule_schema = {
    .sections = rule_sections,
    .n_sections = sizeof rule_sections / sizeof *rule_sections,
    .dup_names_section = true,
    .null_is_absent = false,
};

void rs_map_get(struct loader *L, const yaml_node_t *map, int section, yaml_node_t **vals)
{
    ys_map_get(&L->y, &rule_schema, &rule_sections[section], map, vals);
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

/* Sets documents have "sets" as a key of their top mapping, allow documents "allow"
 * (and no "sets"); every other mapping is a rule. */
enum doc_kind { DOC_RULE, DOC_SETS, DOC_ALLOW };

static enum doc_kind doc_kind_of(yaml_document_t *doc, const yaml_node_t *root)
{
    enum doc_kind kind = DOC_RULE;
    if (root->type != YAML_MAPPING_NODE)
        return kind;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = yaml_document_get_node(doc, p->key);
        if (k && k->type == YAML_SCALAR_NODE && !strcmp(sval(k), "sets"))
            return DOC_SETS;
        if (k && k->type == YAML_SCALAR_NODE && !strcmp(sval(k), "allow"))
            kind = DOC_ALLOW;
    }
    return kind;
}

/* One pass over every document of every file: the sets first, then the rules, then the
 * allow documents (which name rules). */
static void each_doc(struct loader *L, enum doc_kind pass)
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
            enum doc_kind kind = doc_kind_of(L->y.doc, root);
            if (kind != pass)
                continue;
            if (kind == DOC_SETS)
                rs_parse_sets_doc(L, root);
            else if (kind == DOC_ALLOW)
                rs_parse_allow_doc(L, root);
            else if (root->type == YAML_MAPPING_NODE)
                rs_parse_rule(L, root);
            else
                ys_diag(&L->y, true, root, "a document must be a mapping: a rule (id:, match:, ...), "
                                    "sets: or allow:, found %s", type_name(root));
        }
    }
}

static void loader_done(struct loader *L)
{
    for (size_t i = 0; i < L->files.n; i++) {
        struct lfile *f = VAT(L->files, struct lfile, i);
        for (size_t d = 0; d < f->docs.n; d++)
            yaml_document_delete(VAT(f->docs, yaml_document_t, d));
        rs_vec_free(&f->docs);
        free(f->data);
        free(f->path);
    }
    for (size_t i = 0; i < L->sets.n; i++) {
        rs_vec_free(&VAT(L->sets, struct set_def, i)->asn);
        rs_vec_free(&VAT(L->sets, struct set_def, i)->pfx);
    }
    rs_vec_free(&L->files);
    rs_vec_free(&L->sets);
    rs_vec_free(&L->rules);
    rs_vec_free(&L->ids);
    free(L->id_tab);
    rs_vec_free(&L->names);
    rs_vec_free(&L->allow);
    ys_free(&L->y);
    rs_vec_free(&L->pcache);
    rs_sets_done(L);
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
    L.allow = VEC(dw_allow);
    L.y.max_diags = RS_MAX_DIAGS;
    L.y.budget_max = RS_DOC_BUDGET;
    rs_sets_init(&L);
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
            rs_collect_dir(&L, paths[i]);
        else
            rs_add_file(&L, paths[i]);
    }
    for (size_t i = 0; i < L.files.n && !L.y.oom; i++)
        if (!VAT(L.files, struct lfile, i)->nodata)
            rs_read_file(&L, i);
    uint8_t digest[LDNS_SHA256_DIGEST_LENGTH];
    bool hashed = false, parallel = false;
    if (!L.y.oom) {
        rs_parse_files(&L, digest, &hashed, &parallel);
        rs_parse_report(&L);
    }
    if (parallel && !L.y.oom)
        rs_precompile_sets(&L);
    each_doc(&L, DOC_SETS);
    each_doc(&L, DOC_RULE);
    each_doc(&L, DOC_ALLOW);
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
    rs->watch = nameset_new();
    rs->n = L.rules.n;
    rs->rules = rs_lalloc(&L, (L.rules.n ? L.rules.n : 1) * sizeof(dw_rule));
    if (!rs->names || !rs->watch || !rs->rules) {
        rc = -ENOMEM;
        goto out;
    }
    if (L.rules.n)
        memcpy(rs->rules, L.rules.v, L.rules.n * sizeof(dw_rule));
    if (L.allow.n) {
        rs->allow = rs_lalloc(&L, L.allow.n * sizeof(dw_allow));
        if (!rs->allow) {
            rc = -ENOMEM;
            goto out;
        }
        memcpy(rs->allow, L.allow.v, L.allow.n * sizeof(dw_allow));
        rs->n_allow = L.allow.n;
    }
    /* A disabled rule is linted, never a candidate. */
    for (size_t i = 0; i < rs->n; i++)
        for (size_t j = 0; rs->rules[i].status != DW_RULE_DISABLED && j < rs->rules[i].names.n; j++)
            if (nameset_add(rs->names, rs->rules[i].names.v[j], (uint32_t)i) != 0 ||
                add_watch(rs->watch, rs->rules[i].names.v[j], (uint32_t)i) != 0)
                L.y.oom = true;
    if (L.y.oom) {
        rc = -ENOMEM;
        goto out;
    }
    rs_compute_hash(&L, hashed ? digest : NULL);
    *out = rs;
    L.rs = NULL;
out:
    ys_flush(&L.y, file_path, &L, fn, ctx);
    loader_done(&L);
    return rc;
}
