/* One rule document, key by key, into a dw_rule of the ruleset under construction. */
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

static const uint8_t sev_score[] = {21, 47, 73, 99};
static const char *const sev_names[] = {"low", "medium", "high", "critical"};
static const char *const dnssec_names[] = {"unknown", "signed", "unsigned"};
static const char *const sinkhole_names[] = {"sinkhole", "rebinding", "allow"};
static const char *const status_names[] = {"enabled", "disabled", "test"};

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- rules ---------------------------------------------------------------------------- */


static void parse_exceptions(struct loader *L, const yaml_node_t *list, struct vec *out)
{
    if (!ys_list(&L->y, list, "exceptions"))
        return;
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++) {
        yaml_node_t *n = rs_node(L, *it);
        if (!n || !ys_spend(&L->y, list, 1))
            return;
        if (n->type != YAML_MAPPING_NODE) {
            ys_diag(&L->y, true, n, "an item of \"exceptions\" must be a mapping ({prefixes: [...], "
                             "reason: ..., expires: YYYY-MM-DD}), found %s", type_name(n));
            continue;
        }
        yaml_node_t *v[4];
        rs_map_get(L, n, S_EXCEPTION, v);
        unsigned errs = L->y.errors;
        dw_exception e;
        memset(&e, 0, sizeof e);
        e.line = (unsigned)n->start_mark.line + 1;
        struct vec pfx = VEC(struct pfx), names = VEC(char *), nodes = VEC(yaml_node_t *);
        struct set_def *pfx_set = NULL;
        if (v[0])
            rs_parse_prefix_list(L, v[0], "exception prefixes", true, &pfx, &pfx_set);
        if (v[1])
            rs_parse_name_list(L, v[1], "exception names", &names, &nodes);
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
        else if ((exp = ys_text(&L->y, v[3], "expires")) && !rs_parse_date(exp, &e.expires)) {
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
                e.reason = rs_lstrdup(L, e.reason);
                e.prefixes = rs_own_prefixset(L, &pfx, pfx_set, &e.prefixes_text);
                e.names = names.n ? rs_own_nameset(L, &names) : NULL;
                dw_exception *slot = rs_lpush(L, out);
                if (slot)
                    *slot = e;
            }
        }
        rs_vec_free(&pfx);
        rs_vec_free(&names);
        rs_vec_free(&nodes);
    }
}

/* Rule ids by hash (open addressing, slots hold an index into L->ids plus one), so that
 * the duplicate check of a thousand rules is not half a million strcmp calls. Holds the
 * first rule of each id only. */
static uint32_t id_hash(const char *id)
{
    return hash_fnv32_str(id);
}

const struct id_ref *rs_id_first(struct loader *L, const char *id)
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

/* A rule under construction: what its keys found, until it is compiled or dropped. */
struct rule_build {
    struct loader *L;
    const yaml_node_t *root;
    dw_rule r;
    struct vec names, name_nodes;     /* char *, yaml_node_t *: match.names */
    struct vec except, except_nodes;  /* match.except */
    struct vec cname, cname_nodes;    /* cname.allowed_targets */
    struct vec tags;                  /* char * */
    struct vec asn;                   /* uint32_t */
    struct vec pfx, resolvers, allow; /* struct pfx, or a whole set below */
    struct set_def *pfx_set, *resolvers_set, *allow_set;
    struct vec exceptions;            /* dw_exception */
    struct vec refs;                  /* char *: references */
};

static void key_id(struct rule_build *B, const yaml_node_t *v)
{
    struct loader *L = B->L;
    if (!v) {
        ys_diag(&L->y, true, B->root, "rule has no \"id\"; add id: <short-name>");
    } else if ((B->r.id = ys_text(&L->y, v, "id"))) {
        if (!rs_valid_ident(B->r.id)) {
            ys_diag(&L->y, true, v, "bad rule id \"%.80s\": use letters, digits, '.', '_' and '-' "
                                   "(at most %d)", B->r.id, RS_MAX_ID);
            B->r.id = NULL;
        }
    }
    if (!B->r.id)
        return;
    const struct id_ref *first = rs_id_first(L, B->r.id);
    if (first)
        ys_diag(&L->y, true, v, "duplicate rule id \"%s\"; first defined at %s:%u:%u", B->r.id,
                VAT(L->files, struct lfile, first->file)->path, first->line, first->col);
    struct id_ref *ref = rs_lpush(L, &L->ids);
    if (ref) {
        ref->id = B->r.id;
        ref->file = L->y.file;
        ref->line = (unsigned)v->start_mark.line + 1;
        ref->col = (unsigned)v->start_mark.column + 1;
        if (!first)
            id_insert(L, L->ids.n - 1);
    }
}

static void key_title(struct rule_build *B, const yaml_node_t *v)
{
    if (v)
        B->r.title = ys_text(&B->L->y, v, "title");
}

static void key_severity(struct rule_build *B, const yaml_node_t *v)
{
    int s = v ? ys_enum(&B->L->y, v, "severity", sev_names, 4, true) : -1;
    if (s >= 0)
        B->r.severity = (enum dw_severity)s;
}

static void key_tags(struct rule_build *B, const yaml_node_t *l)
{
    struct loader *L = B->L;
    if (!l || !ys_list(&L->y, l, "tags"))
        return;
    for (yaml_node_item_t *it = l->data.sequence.items.start; it < l->data.sequence.items.top;
         it++) {
        yaml_node_t *n = rs_node(L, *it);
        if (!n || !ys_spend(&L->y, l, 1))
            break;
        const char *t = ys_text(&L->y, n, "tags");
        char **slot = t ? rs_lpush(L, &B->tags) : NULL;
        if (slot)
            *slot = (char *)t;
    }
}

static void key_match(struct rule_build *B, const yaml_node_t *v)
{
    struct loader *L = B->L;
    if (!v) {
        ys_diag(&L->y, true, B->root, "rule has no \"match\"; add match: {names: [...]}");
        return;
    }
    if (!ys_map(&L->y, v, "match") && !is_null(v))
        return;
    yaml_node_t *mv[2] = {NULL, NULL};
    if (v->type == YAML_MAPPING_NODE)
        rs_map_get(L, v, S_MATCH, mv);
    if (!mv[0]) {
        ys_diag(&L->y, true, v, "\"match\" has no \"names\"; add names: [...]");
    } else {
        unsigned e0 = L->y.errors;
        rs_parse_name_list(L, mv[0], "match.names", &B->names, &B->name_nodes);
        if (!B->names.n && L->y.errors == e0)
            ys_diag(&L->y, true, mv[0], "\"match.names\" is empty: the rule would never apply");
    }
    if (mv[1])
        rs_parse_name_list(L, mv[1], "match.except", &B->except, &B->except_nodes);
}

static void key_cname(struct rule_build *B, const yaml_node_t *v)
{
    struct loader *L = B->L;
    if (!v || !ys_map(&L->y, v, "cname"))
        return;
    yaml_node_t *cv[1];
    rs_map_get(L, v, S_CNAME, cv);
    if (cv[0]) {
        rs_parse_name_list(L, cv[0], "cname.allowed_targets", &B->cname, &B->cname_nodes);
        B->r.cname_allowed = rs_own_nameset(L, &B->cname);
        B->r.cname_allowed_text = rs_strlist_from(L, &B->cname);
    }
}

static void key_expect(struct rule_build *B, const yaml_node_t *v)
{
    struct loader *L = B->L;
    if (!v || !ys_map(&L->y, v, "expect"))
        return;
    yaml_node_t *ev[3];
    rs_map_get(L, v, S_EXPECT, ev);
    if (ev[0])
        rs_parse_asn_list(L, ev[0], "expect.asn", true, &B->asn);
    if (ev[1])
        rs_parse_prefix_list(L, ev[1], "expect.prefixes", true, &B->pfx, &B->pfx_set);
    if (ev[2])
        rs_parse_prefix_list(L, ev[2], "expect.resolvers", true, &B->resolvers,
                             &B->resolvers_set);
}

static void key_dnssec(struct rule_build *B, const yaml_node_t *v)
{
    struct loader *L = B->L;
    if (!v || !ys_map(&L->y, v, "dnssec"))
        return;
    yaml_node_t *dv[1];
    rs_map_get(L, v, S_DNSSEC, dv);
    int d = dv[0] ? ys_enum(&L->y, dv[0], "dnssec.expect", dnssec_names, 3, true) : -1;
    if (d >= 0)
        B->r.dnssec = (enum dw_dnssec_expect)d;
}

static void key_ttl(struct rule_build *B, const yaml_node_t *v)
{
    struct loader *L = B->L;
    if (!v || !ys_map(&L->y, v, "ttl"))
        return;
    yaml_node_t *tv[1];
    rs_map_get(L, v, S_TTL, tv);
    const char *s = tv[0] ? ys_text(&L->y, tv[0], "ttl.max") : NULL;
    if (s && (!rs_parse_u32(s, INT32_MAX, &B->r.ttl_max) || B->r.ttl_max == 0)) {
        ys_diag(&L->y, true, tv[0], "bad ttl.max \"%.80s\"; write a number of seconds from 1 to "
                                    "2147483647", s);
        B->r.ttl_max = 0;
    }
}

static void key_rebinding(struct rule_build *B, const yaml_node_t *v)
{
    static const char *const bools[] = {"false", "true"};
    struct loader *L = B->L;
    if (!v || !ys_map(&L->y, v, "rebinding"))
        return;
    yaml_node_t *rv[3];
    rs_map_get(L, v, S_REBINDING, rv);
    int c = rv[0] ? ys_enum(&L->y, rv[0], "rebinding.check", bools, 2, true) : -1;
    if (c >= 0)
        B->r.rebind_check = c == 1;
    if (rv[1])
        rs_parse_prefix_list(L, rv[1], "rebinding.allow", true, &B->allow, &B->allow_set);
    int s = rv[2] ? ys_enum(&L->y, rv[2], "rebinding.sinkhole", sinkhole_names, 3, true) : -1;
    if (s >= 0)
        B->r.sinkhole = (enum dw_sinkhole_mode)s;
}

static void key_exceptions(struct rule_build *B, const yaml_node_t *v)
{
    if (v)
        parse_exceptions(B->L, v, &B->exceptions);
}

static void key_description(struct rule_build *B, const yaml_node_t *v)
{
    if (v)
        B->r.description = ys_text_nonempty(&B->L->y, v, "description");
}

static void key_author(struct rule_build *B, const yaml_node_t *v)
{
    if (v)
        B->r.author = ys_text_nonempty(&B->L->y, v, "author");
}

static void key_version(struct rule_build *B, const yaml_node_t *v)
{
    uint64_t n;
    if (v && ys_uint(&B->L->y, v, "version", 1, INT32_MAX, &n))
        B->r.version = (unsigned)n;
}

static void key_status(struct rule_build *B, const yaml_node_t *v)
{
    int s = v ? ys_enum(&B->L->y, v, "status", status_names, 3, true) : -1;
    if (s >= 0)
        B->r.status = (enum dw_rule_status)s;
}

/* An absolute http or https URL: scheme, "://", a host of letters, digits, '.', '-' (or
 * an IPv6 literal in brackets), an optional port, then printable ASCII without spaces.
 * NULL, or why not. */
static const char *url_problem(const char *u)
{
    size_t n = strlen(u);
    const char *p;
    if (n > 2048)
        return "longer than 2048 characters";
    if (!strncasecmp(u, "https://", 8))
        p = u + 8;
    else if (!strncasecmp(u, "http://", 7))
        p = u + 7;
    else
        return "not an http:// or https:// URL";
    const char *host = p;
    if (*p == '[') {
        p = strchr(p, ']');
        if (!p)
            return "unclosed '[' in the host";
        p++;
    } else {
        while (isalnum((unsigned char)*p) || *p == '.' || *p == '-')
            p++;
    }
    if (p == host || host[0] == '.' || host[0] == '-')
        return "no host after the scheme";
    if (*p == ':') {
        const char *port = ++p;
        while (isdigit((unsigned char)*p))
            p++;
        if (p == port || p - port > 5)
            return "bad port";
    }
    if (*p && *p != '/' && *p != '?' && *p != '#')
        return "bad character in the host";
    for (; *p; p++)
        if ((unsigned char)*p <= ' ' || (unsigned char)*p >= 0x7f)
            return "a space or a non-ASCII character (percent-encode it)";
    return NULL;
}

static void key_references(struct rule_build *B, const yaml_node_t *l)
{
    struct loader *L = B->L;
    if (!l || !ys_list(&L->y, l, "references"))
        return;
    for (yaml_node_item_t *it = l->data.sequence.items.start; it < l->data.sequence.items.top;
         it++) {
        yaml_node_t *n = rs_node(L, *it);
        if (!n || !ys_spend(&L->y, l, 1))
            break;
        const char *t = ys_text(&L->y, n, "references");
        if (!t)
            continue;
        const char *why = url_problem(t);
        if (why) {
            ys_diag(&L->y, true, n, "bad URL \"%.80s\" in references: %s; write "
                                    "https://host/path", t, why);
            continue;
        }
        char **slot = rs_lpush(L, &B->refs);
        if (slot)
            *slot = (char *)t;
    }
}

/* The keys of a rule, in the order they are judged (whatever order the file has them in),
 * and the parser of each: it gets the key's value, NULL when the key is absent. */
const char *const rs_rule_keys[RS_RULE_NKEYS] = {
    "id", "title", "severity", "tags", "match", "cname", "expect", "dnssec", "ttl",
    "rebinding", "exceptions", "description", "references", "author", "version", "status",
};
static void (*const rule_key_parse[RS_RULE_NKEYS])(struct rule_build *B, const yaml_node_t *v) = {
    key_id, key_title, key_severity, key_tags, key_match, key_cname,
    key_expect, key_dnssec, key_ttl, key_rebinding, key_exceptions, key_description,
    key_references, key_author, key_version, key_status,
};

/* Compiles a rule whose keys drew no error into the ruleset under construction. */
static void rule_commit(struct rule_build *B)
{
    struct loader *L = B->L;
    dw_rule *r = &B->r;
    if (!B->asn.n && !rs_plist_items(&B->pfx, B->pfx_set)->n &&
        !rs_plist_items(&B->resolvers, B->resolvers_set)->n && !r->cname_allowed &&
        r->dnssec == DW_DNSSEC_UNKNOWN && !r->ttl_max && !r->rebind_check)
        ys_diag(&L->y, false, B->root, "rule checks nothing; give it expect, cname, dnssec or "
                                       "ttl, or drop rebinding.check: false");
    r->id = rs_lstrdup(L, r->id);
    r->title = rs_lstrdup(L, r->title ? r->title : r->id);
    if (r->status == DW_RULE_TEST) {
        /* A rule on trial alerts, but at the bottom of the scale and marked. */
        r->severity = DW_SEV_LOW;
        bool tagged = false;
        for (size_t i = 0; i < B->tags.n && !tagged; i++)
            tagged = !strcmp(*VAT(B->tags, char *, i), "test");
        char **slot = tagged ? NULL : rs_lpush(L, &B->tags);
        if (slot)
            *slot = (char *)"test";
    }
    r->score = sev_score[r->severity];
    for (size_t i = 0; i < B->tags.n; i++)
        *VAT(B->tags, char *, i) = rs_lstrdup(L, *VAT(B->tags, char *, i));
    r->tags = rs_strlist_from(L, &B->tags);
    if (r->description)
        r->description = rs_lstrdup(L, r->description);
    if (r->author)
        r->author = rs_lstrdup(L, r->author);
    if (B->refs.n) {
        const char **refs = rs_lalloc(L, B->refs.n * sizeof *refs);
        for (size_t i = 0; refs && i < B->refs.n; i++)
            refs[i] = rs_lstrdup(L, *VAT(B->refs, char *, i));
        if (refs) {
            r->references = refs;
            r->n_references = (unsigned)B->refs.n;
        }
    }
    r->names = rs_strlist_from(L, &B->names);
    if (B->except.n) {
        r->except = rs_own_nameset(L, &B->except);
        r->except_text = rs_strlist_from(L, &B->except);
    }
    if (B->asn.n) {
        qsort(B->asn.v, B->asn.n, sizeof(uint32_t), u32_cmp);
        size_t u = 0;
        uint32_t *a = B->asn.v;
        for (size_t i = 0; i < B->asn.n; i++)
            if (u == 0 || a[u - 1] != a[i])
                a[u++] = a[i];
        uint32_t *copy = rs_lalloc(L, u * sizeof *copy);
        if (copy) {
            memcpy(copy, a, u * sizeof *copy);
            r->asn = copy;
            r->n_asn = u;
        }
    }
    r->prefixes = rs_own_prefixset(L, &B->pfx, B->pfx_set, &r->prefixes_text);
    r->resolvers = rs_own_prefixset(L, &B->resolvers, B->resolvers_set, &r->resolvers_text);
    r->rebind_allow = rs_own_prefixset(L, &B->allow, B->allow_set, &r->rebind_allow_text);
    if (B->exceptions.n) {
        dw_exception *ex = rs_lalloc(L, B->exceptions.n * sizeof *ex);
        if (ex) {
            memcpy(ex, B->exceptions.v, B->exceptions.n * sizeof *ex);
            r->exceptions = ex;
            r->n_exceptions = B->exceptions.n;
        }
    }
    size_t idx = L->rules.n;
    dw_rule *slot = rs_lpush(L, &L->rules);
    if (slot)
        *slot = *r;
    for (size_t i = 0; i < B->names.n; i++) {
        const yaml_node_t *n = *VAT(B->name_nodes, yaml_node_t *, i);
        struct name_ref *ref = rs_lpush(L, &L->names);
        if (!ref)
            break;
        ref->pat = *VAT(B->names, char *, i);
        ref->rule = idx;
        ref->file = L->y.file;
        ref->seq = L->names.n;
        ref->line = (unsigned)n->start_mark.line + 1;
        ref->col = (unsigned)n->start_mark.column + 1;
    }
}

void rs_parse_rule(struct loader *L, const yaml_node_t *root)
{
    yaml_node_t *v[RS_RULE_NKEYS];
    struct rule_build B = {
        .L = L, .root = root,
        .names = VEC(char *), .name_nodes = VEC(yaml_node_t *),
        .except = VEC(char *), .except_nodes = VEC(yaml_node_t *),
        .cname = VEC(char *), .cname_nodes = VEC(yaml_node_t *),
        .tags = VEC(char *), .asn = VEC(uint32_t),
        .pfx = VEC(struct pfx), .resolvers = VEC(struct pfx), .allow = VEC(struct pfx),
        .exceptions = VEC(dw_exception), .refs = VEC(char *),
    };
    unsigned errs = L->y.errors;

    B.r.severity = DW_SEV_MEDIUM;
    B.r.rebind_check = true;
    struct lfile *f = VAT(L->files, struct lfile, L->y.file);
    if (!f->kept)
        f->kept = rs_lstrdup(L, f->path);
    B.r.file = f->kept;
    B.r.line = (unsigned)root->start_mark.line + 1;

    /* Know the id before the first message, whatever the key order. */
    L->y.id = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = rs_node(L, p->key), *val = rs_node(L, p->value);
        if (k && val && k->type == YAML_SCALAR_NODE && !strcmp(sval(k), "id") &&
            val->type == YAML_SCALAR_NODE && rs_valid_ident(sval(val))) {
            L->y.id = sval(val);
            break;
        }
    }

    rs_map_get(L, root, S_RULE, v);
    for (size_t i = 0; i < RS_RULE_NKEYS; i++)
        rule_key_parse[i](&B, v[i]);
    if (L->y.errors == errs && !L->y.oom)
        rule_commit(&B);

    struct vec *own[] = {&B.names, &B.name_nodes, &B.except, &B.except_nodes, &B.cname,
                         &B.cname_nodes, &B.tags, &B.asn, &B.pfx, &B.resolvers, &B.allow,
                         &B.exceptions, &B.refs};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        rs_vec_free(own[i]);
}

