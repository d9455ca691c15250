/* Allow documents (DESIGN.md "Allow documents and rule metadata"): entries that pass
 * addresses for every rule, or for the rules they name, each with a reason and an expiry.
 *
 *   allow:
 *     - names: ["*.privatelink.blob.core.windows.net"]
 *       prefixes: [10.30.0.0/16]          # and/or asn: [...]
 *       rules: [rebinding]                # optional: every rule when absent
 *       reason: "Azure private endpoints of the build subscription"
 *       expires: 2027-06-30
 *
 * Parsed after every rule, so that `rules` is checked against the ids of all files. */
#include <stdlib.h>
#include <string.h>

#include "rules/ruleset_load.h"
#include "rules/suggest.h"

static int u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* Sorts v and drops duplicates; returns the count kept. */
static size_t u32_unique(uint32_t *v, size_t n)
{
    if (!n)
        return 0;
    qsort(v, n, sizeof *v, u32_cmp);
    size_t u = 1;
    for (size_t i = 1; i < n; i++)
        if (v[i] != v[u - 1])
            v[u++] = v[i];
    return u;
}

/* "unknown rule "x" in allow rules; did you mean "y"?" over every id seen. */
static void unknown_rule(struct loader *L, const yaml_node_t *n, const char *id)
{
    const char *best = NULL;
    unsigned bd = 3;
    for (size_t i = 0; i < L->ids.n; i++) {
        const char *c = VAT(L->ids, struct id_ref, i)->id;
        unsigned d = suggest_distance(id, c);
        if (d < bd && d < strlen(id)) {
            bd = d;
            best = c;
        }
    }
    if (best)
        ys_diag(&L->y, true, n, "unknown rule \"%.80s\" in allow rules; did you mean \"%s\"?", id,
                best);
    else
        ys_diag(&L->y, true, n, "unknown rule \"%.80s\" in allow rules; name the id of a rule "
                                "(or drop \"rules\" to allow for every rule)", id);
}

/* The index of the committed rule with this id, or -1. A rule that drew an error is not
 * committed, but then nothing loads anyway. */
static long rule_index(struct loader *L, const char *id)
{
    for (size_t i = 0; i < L->rules.n; i++)
        if (!strcmp(VAT(L->rules, dw_rule, i)->id, id))
            return (long)i;
    return -1;
}

static void parse_rules_list(struct loader *L, const yaml_node_t *list, struct vec *idx,
                             struct vec *texts)
{
    if (!ys_list(&L->y, list, "allow rules"))
        return;
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++) {
        yaml_node_t *n = rs_node(L, *it);
        if (!n || !ys_spend(&L->y, list, 1))
            return;
        const char *id = ys_text(&L->y, n, "allow rules");
        if (!id)
            continue;
        if (!rs_id_first(L, id)) {
            unknown_rule(L, n, id);
            continue;
        }
        long k = rule_index(L, id);
        uint32_t *slot = k >= 0 ? rs_lpush(L, idx) : NULL;
        char **t = k >= 0 ? rs_lpush(L, texts) : NULL;
        if (slot && t) {
            *slot = (uint32_t)k;
            *t = rs_lstrdup(L, id);
        }
    }
}

static void parse_entry(struct loader *L, const yaml_node_t *n)
{
    yaml_node_t *v[6];
    rs_map_get(L, n, S_ALLOW, v);
    unsigned errs = L->y.errors;
    dw_allow a;
    memset(&a, 0, sizeof a);
    a.line = (unsigned)n->start_mark.line + 1;
    struct vec pfx = VEC(struct pfx), names = VEC(char *), nodes = VEC(yaml_node_t *),
               asn = VEC(uint32_t), rules = VEC(uint32_t), rule_texts = VEC(char *);
    struct set_def *pfx_set = NULL;
    if (v[0])
        rs_parse_name_list(L, v[0], "allow names", &names, &nodes);
    if (v[1])
        rs_parse_prefix_list(L, v[1], "allow prefixes", true, &pfx, &pfx_set);
    if (v[2])
        rs_parse_asn_list(L, v[2], "allow asn", true, &asn);
    if (v[3])
        parse_rules_list(L, v[3], &rules, &rule_texts);
    if (!v[0] && !v[1] && !v[2])
        ys_diag(&L->y, true, n, "allow entry allows nothing; give it names: [...], prefixes: [...] "
                                "and/or asn: [...]");
    else if (!v[1] && !v[2])
        /* A hijack of those names would pass every check the entry covers. */
        ys_diag(&L->y, false, n, "allow entry has names but no prefixes or asn: it allows ANY "
                                 "address of those names; add the prefixes: or asn: they use");
    else if (!v[0] && !v[3])
        ys_diag(&L->y, false, n, "allow entry has no names and no rules: it allows these "
                                 "addresses for every name under every rule; narrow it with "
                                 "names: [...] or rules: [...]");
    if (!v[4])
        ys_diag(&L->y, true, n, "allow entry has no \"reason\"; say why it is allowed (e.g. the "
                                "change ticket)");
    else if ((a.reason = ys_text(&L->y, v[4], "reason")) && !*a.reason)
        ys_diag(&L->y, true, v[4], "allow \"reason\" is empty");
    const char *exp = NULL;
    if (!v[5])
        ys_diag(&L->y, true, n, "allow entry has no \"expires\"; add expires: YYYY-MM-DD");
    else if ((exp = ys_text(&L->y, v[5], "expires")) && !rs_parse_date(exp, &a.expires)) {
        ys_diag(&L->y, true, v[5], "bad date \"%.80s\" in expires; write YYYY-MM-DD (a real day)",
                exp);
        exp = NULL;
    }
    if (L->y.errors == errs && exp) {
        snprintf(a.expires_text, sizeof a.expires_text, "%s", exp);
        if (L->now >= a.expires) {
            ys_diag(&L->y, false, v[5], "allow entry expired on %s and is ignored (reason: %.80s); "
                                        "remove it or extend \"expires\"", exp, a.reason);
        } else {
            struct lfile *f = VAT(L->files, struct lfile, L->y.file);
            if (!f->kept)
                f->kept = rs_lstrdup(L, f->path);
            a.file = f->kept;
            a.reason = rs_lstrdup(L, a.reason);
            if (names.n) {
                a.names = rs_own_nameset(L, &names);
                a.names_text = rs_strlist_from(L, &names);
            }
            if (rs_plist_items(&pfx, pfx_set)->n)
                a.prefixes = rs_own_prefixset(L, &pfx, pfx_set, &a.prefixes_text);
            size_t na = u32_unique(asn.v, asn.n);
            uint32_t *ac = na ? rs_lalloc(L, na * sizeof *ac) : NULL;
            if (ac) {
                memcpy(ac, asn.v, na * sizeof *ac);
                a.asn = ac;
                a.n_asn = na;
            }
            size_t nr = u32_unique(rules.v, rules.n);
            uint32_t *rc = nr ? rs_lalloc(L, nr * sizeof *rc) : NULL;
            if (rc) {
                memcpy(rc, rules.v, nr * sizeof *rc);
                a.rules = rc;
                a.n_rules = nr;
                a.rules_text = rs_strlist_from(L, &rule_texts);
            }
            dw_allow *slot = rs_lpush(L, &L->allow);
            if (slot)
                *slot = a;
        }
    }
    struct vec *own[] = {&pfx, &names, &nodes, &asn, &rules, &rule_texts};
    for (size_t i = 0; i < sizeof own / sizeof *own; i++)
        rs_vec_free(own[i]);
}

void rs_parse_allow_doc(struct loader *L, const yaml_node_t *root)
{
    const yaml_node_t *list = NULL;
    L->y.id = NULL;
    for (yaml_node_pair_t *p = root->data.mapping.pairs.start; p < root->data.mapping.pairs.top;
         p++) {
        yaml_node_t *k = rs_node(L, p->key);
        if (!k || k->type != YAML_SCALAR_NODE)
            continue;
        if (strcmp(sval(k), "allow") != 0)
            ys_diag(&L->y, true, k, "unknown key \"%.80s\" in an allow document: it holds only "
                                    "\"allow\"; put each rule in its own document after ---",
                    sval(k));
        else if (list)
            ys_diag(&L->y, true, k, "duplicate key \"allow\" in an allow document");
        else
            list = rs_node(L, p->value);
    }
    if (!list || !ys_list(&L->y, list, "allow"))
        return;
    for (yaml_node_item_t *it = list->data.sequence.items.start;
         it < list->data.sequence.items.top; it++) {
        yaml_node_t *n = rs_node(L, *it);
        if (!n || !ys_spend(&L->y, list, 1))
            return;
        if (n->type != YAML_MAPPING_NODE) {
            ys_diag(&L->y, true, n, "an item of \"allow\" must be a mapping ({names: [...], "
                                    "prefixes: [...], reason: ..., expires: YYYY-MM-DD}), found %s",
                    type_name(n));
            continue;
        }
        parse_entry(L, n);
    }
}
