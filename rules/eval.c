#include "rules/eval.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoders/wire.h"
#include "rules/special.h"

/* Every A/AAAA record (<= DNS_MAX_RRS) plus every SVCB/HTTPS hint a 64 KiB message can
 * carry (4 bytes each): nothing at the end of the chain goes unchecked. */
#define MAX_ADDRS (DNS_MAX_RRS + 16384)

typedef struct eval_addr {
    int family;
    uint8_t a[16];
} eval_addr;

struct evaluator {
    const ruleset *rs;
    const asn_db *db;
    track *tr;
    /* Candidate rules of the current response: stamp[i] == gen marks rule i. */
    uint32_t *stamp;
    uint32_t *cand;
    size_t n_rules, n_cand;
    uint32_t gen;
    /* The chain in wire form, for owner comparisons. */
    uint8_t chain_wire[EVAL_MAX_CHAIN + 1][DNS_NAME_MAX];
    eval_addr *addrs;
    unsigned n_addrs;
    bool in_chain[DNS_MAX_RRS]; /* answer record i is owned by a chain name */
    bool need_track;            /* some rule needs the query (dnssec: signed) */
};

static const char *const violation_names[DW_V_COUNT] = {
    "asn_mismatch", "asn_unknown", "prefix_mismatch", "cname_unexpected",
    "unexpected_resolver", "rebinding", "sinkhole", "dnssec_missing", "ttl_exceeded",
};

const char *dw_violation_name(uint32_t bit)
{
    for (unsigned i = 0; i < DW_V_COUNT; i++)
        if (bit == 1u << i)
            return violation_names[i];
    return NULL;
}

static int size_for(evaluator *ev, const ruleset *rs)
{
    size_t n = ruleset_count(rs);
    uint32_t *stamp = calloc(n ? n : 1, sizeof *stamp);
    uint32_t *cand = calloc(n ? n : 1, sizeof *cand);
    if (!stamp || !cand) {
        free(stamp);
        free(cand);
        return -ENOMEM;
    }
    free(ev->stamp);
    free(ev->cand);
    ev->stamp = stamp;
    ev->cand = cand;
    ev->n_rules = n;
    ev->gen = 0;
    ev->rs = rs;
    ev->need_track = false;
    for (size_t i = 0; i < n; i++)
        if (ruleset_rule(rs, i)->dnssec == DW_DNSSEC_SIGNED)
            ev->need_track = true;
    return 0;
}

evaluator *evaluator_new(const ruleset *rs, const asn_db *db, const track_limits *tl)
{
    evaluator *ev = calloc(1, sizeof *ev);
    if (!ev)
        return NULL;
    ev->db = db;
    ev->tr = track_new(tl);
    ev->addrs = malloc(MAX_ADDRS * sizeof *ev->addrs);
    if (!ev->tr || !ev->addrs || size_for(ev, rs) != 0) {
        evaluator_free(ev);
        return NULL;
    }
    return ev;
}

void evaluator_free(evaluator *ev)
{
    if (!ev)
        return;
    track_free(ev->tr);
    free(ev->addrs);
    free(ev->stamp);
    free(ev->cand);
    free(ev);
}

int evaluator_set_ruleset(evaluator *ev, const ruleset *rs) { return size_for(ev, rs); }

const asn_db *evaluator_asn_db(const evaluator *ev) { return ev->db; }

void evaluator_query(evaluator *ev, const pkt_info *pi, const dns_msg *m)
{
    /* Only the DO bit of queries is used today: remembering queries costs a table
     * probe per query, so it is skipped when no rule asks for DNSSEC. */
    if (ev->need_track)
        track_query(ev->tr, pi, m);
}

/* ---- the chain ---------------------------------------------------------------------- */

static int wire_len(const uint8_t *w)
{
    int n = 0;
    while (n < DNS_NAME_MAX && w[n]) {
        n += w[n] + 1;
    }
    return n < DNS_NAME_MAX ? n + 1 : -1;
}

/* If name is strictly below owner, writes name with the owner suffix replaced by target
 * into out and returns 1; 0 if not below; -1 if the result would be too long. */
static int dname_substitute(const uint8_t *name, const uint8_t *owner, const uint8_t *target,
                            uint8_t out[DNS_NAME_MAX])
{
    int nl = wire_len(name), ol = wire_len(owner), tl = wire_len(target);
    if (nl < 0 || ol < 0 || tl < 0 || nl <= ol)
        return 0;
    /* Walk name's labels until the remaining suffix has the owner's length. */
    int off = 0;
    while (nl - off > ol)
        off += name[off] + 1;
    if (nl - off != ol || !dns_wirename_eq(name + off, owner))
        return 0;
    if (off + tl > DNS_NAME_MAX)
        return -1;
    memcpy(out, name, (size_t)off);
    memcpy(out + off, target, (size_t)tl);
    return 1;
}

static int chain_index(const evaluator *ev, const eval_result *r, const uint8_t *owner)
{
    for (unsigned i = 0; i < r->n_chain; i++)
        if (dns_wirename_eq(ev->chain_wire[i], owner))
            return (int)i;
    return -1;
}

/* Follows CNAME and DNAME records of the answer section from the question name. */
static void build_chain(evaluator *ev, const dns_msg *m, eval_result *r)
{
    r->n_chain = 0;
    if (!m->has_question ||
        dns_name_unpack(m->buf, m->len, m->qname_off, ev->chain_wire[0], NULL) < 0)
        return;
    r->n_chain = 1;
    while (r->n_chain <= EVAL_MAX_CHAIN) {
        const uint8_t *cur = ev->chain_wire[r->n_chain - 1];
        uint8_t owner[DNS_NAME_MAX], target[DNS_NAME_MAX], next[DNS_NAME_MAX];
        bool found = false;
        for (unsigned i = 0; i < m->n_rr && !found; i++) {
            const dns_rr *rr = &m->rr[i];
            if (rr->section != DNS_SEC_ANSWER ||
                (rr->type != DNS_T_CNAME && rr->type != DNS_T_DNAME))
                continue;
            if (dns_name_unpack(m->buf, m->len, rr->name_off, owner, NULL) < 0 ||
                dns_name_unpack(m->buf, m->len, rr->rdata_off, target, NULL) < 0)
                continue;
            if (rr->type == DNS_T_CNAME && dns_wirename_eq(owner, cur)) {
                memcpy(next, target, sizeof next);
                found = true;
            } else if (rr->type == DNS_T_DNAME && dname_substitute(cur, owner, target, next) == 1) {
                found = true;
            }
        }
        if (!found || chain_index(ev, r, next) >= 0) /* the end, or a loop */
            break;
        memcpy(ev->chain_wire[r->n_chain], next, sizeof next);
        r->n_chain++;
    }
    for (unsigned i = 0; i < r->n_chain; i++)
        if (dns_wirename_text(ev->chain_wire[i], DNS_NAME_MAX, r->chain[i], true) < 0)
            strcpy(r->chain[i], "?");
}

static void add_addr(evaluator *ev, int family, const uint8_t *a)
{
    if (ev->n_addrs >= MAX_ADDRS)
        return;
    eval_addr *x = &ev->addrs[ev->n_addrs++];
    x->family = family;
    memset(x->a, 0, sizeof x->a);
    memcpy(x->a, a, family == 6 ? 16 : 4);
}

static void on_hint(void *ctx, int family, const uint8_t *addr)
{
    add_addr(ctx, family, addr);
}

/* Marks, once per response, which answer records are owned by a name of the chain (the
 * records the victim uses): later checks look the mark up instead of unpacking again. */
static void mark_owners(evaluator *ev, const eval_result *r, const dns_msg *m)
{
    uint8_t owner[DNS_NAME_MAX];
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        if (rr->section != DNS_SEC_ANSWER) {
            ev->in_chain[i] = false;
            continue;
        }
        /* Most answers name their owner by a pointer to the question name: that is the
         * first name of the chain, no unpacking needed. */
        wire_ctx w = wire_init(m->buf, m->len);
        wire_seek(&w, rr->name_off);
        uint16_t ptr = wire_u16(&w);
        if (wire_ok(&w) && (ptr & 0xc000) == 0xc000 && (ptr & 0x3fff) == m->qname_off &&
            r->n_chain > 0) {
            ev->in_chain[i] = true;
            continue;
        }
        ev->in_chain[i] = dns_name_unpack(m->buf, m->len, rr->name_off, owner, NULL) > 0 &&
                          chain_index(ev, r, owner) >= 0;
    }
}

static bool owned_by_chain(const evaluator *ev, const dns_msg *m, const dns_rr *rr)
{
    return ev->in_chain[rr - m->rr];
}

static void collect_addrs(evaluator *ev, const dns_msg *m, eval_result *r)
{
    ev->n_addrs = 0;
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        uint8_t a[16];
        if (rr->type != DNS_T_A && rr->type != DNS_T_AAAA && rr->type != DNS_T_SVCB &&
            rr->type != DNS_T_HTTPS)
            continue;
        if (!owned_by_chain(ev, m, rr))
            continue;
        if (rr->type == DNS_T_SVCB || rr->type == DNS_T_HTTPS) {
            dns_svcb_hints(m, rr, on_hint, ev);
            continue;
        }
        int n = dns_rr_addr(m, rr, a);
        if (n)
            add_addr(ev, n == 16 ? 6 : 4, a);
    }
    r->n_addrs = ev->n_addrs;
}

/* ---- candidate rules ---------------------------------------------------------------- */

typedef struct cand_ctx {
    evaluator *ev;
    const char *name;
    size_t len;
} cand_ctx;

static void on_candidate(void *ctx, uint32_t idx)
{
    cand_ctx *c = ctx;
    evaluator *ev = c->ev;
    if (idx >= ev->n_rules || ev->stamp[idx] == ev->gen)
        return;
    const dw_rule *rule = ruleset_rule(ev->rs, idx);
    if (rule->except && nameset_contains(rule->except, c->name, c->len))
        return;
    ev->stamp[idx] = ev->gen;
    ev->cand[ev->n_cand++] = idx;
}

static bool catch_all(const dw_rule *rule)
{
    return rule->names.n == 1 && strcmp(rule->names.v[0], "*") == 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

/* ---- the checks --------------------------------------------------------------------- */

/* Records a violation; returns its evidence slot, or NULL once the finding holds
 * EVAL_MAX_EVIDENCE items (the violation still counts). */
static eval_evidence *evidence(eval_finding *f, uint32_t v, int family, const uint8_t *a)
{
    bool seen = (f->violations & v) != 0;
    f->violations |= v;
    eval_evidence *e;
    if (f->n_evidence < EVAL_MAX_EVIDENCE) {
        e = &f->evidence[f->n_evidence++];
    } else if (!seen) {
        /* Full: every violation keeps at least one item, so the last slot of a kind that
         * has several gives way. */
        e = NULL;
        for (unsigned i = EVAL_MAX_EVIDENCE; i-- > 0 && !e;)
            for (unsigned k = 0; k < i; k++)
                if (f->evidence[k].violation == f->evidence[i].violation) {
                    e = &f->evidence[i];
                    break;
                }
        if (!e)
            return NULL;
    } else {
        return NULL;
    }
    memset(e, 0, sizeof *e);
    e->violation = v;
    e->family = family;
    if (a)
        memcpy(e->addr, a, family == 6 ? 16 : 4);
    return e;
}

static bool excused(const dw_rule *rule, const eval_result *r, const eval_addr *x)
{
    for (size_t i = 0; i < rule->n_exceptions; i++) {
        const dw_exception *ex = &rule->exceptions[i];
        if (ex->prefixes && !prefixset_lookup(ex->prefixes, x->family, x->a, NULL, NULL))
            continue;
        if (!ex->names)
            return true;
        for (unsigned c = 0; c < r->n_chain; c++)
            if (nameset_contains(ex->names, r->chain[c], strlen(r->chain[c])))
                return true;
    }
    return false;
}

static bool asn_expected(const dw_rule *rule, uint32_t asn)
{
    for (size_t i = 0; i < rule->n_asn; i++)
        if (rule->asn[i] == asn)
            return true;
    return false;
}

static void check_addr(const evaluator *ev, const dw_rule *rule, const eval_addr *x,
                       eval_finding *f)
{
    if (rule->rebind_check) {
        special_result sr = special_classify(x->family, x->a);
        bool allowed = rule->rebind_allow &&
                       (prefixset_lookup(rule->rebind_allow, x->family, x->a, NULL, NULL) ||
                        prefixset_lookup(rule->rebind_allow, sr.family, sr.judged, NULL, NULL));
        uint32_t v = 0;
        if (sr.kind == SPECIAL_REBIND && !allowed)
            v = DW_V_REBINDING;
        else if (sr.kind == SPECIAL_SINKHOLE && !allowed)
            v = rule->sinkhole == DW_SINKHOLE_REPORT       ? DW_V_SINKHOLE
                : rule->sinkhole == DW_SINKHOLE_AS_REBINDING ? DW_V_REBINDING
                                                             : 0;
        eval_evidence *e = v ? evidence(f, v, x->family, x->a) : NULL;
        if (e)
            e->range = sr.range;
    }

    bool want_asn = rule->n_asn > 0 && ev->db;
    bool want_pfx = rule->prefixes && prefixset_size(rule->prefixes) > 0;
    if (!want_asn && !want_pfx)
        return;
    if (want_pfx && prefixset_lookup(rule->prefixes, x->family, x->a, NULL, NULL))
        return;
    if (want_asn) {
        asn_info ai;
        int rc = asn_lookup(ev->db, x->family, x->a, &ai);
        if (rc == 1 && asn_expected(rule, ai.number))
            return;
        eval_evidence *e =
            evidence(f, rc == 1 ? DW_V_ASN_MISMATCH : DW_V_ASN_UNKNOWN, x->family, x->a);
        if (e && rc == 1)
            e->asn = ai.number;
    }
    if (want_pfx)
        evidence(f, DW_V_PREFIX_MISMATCH, x->family, x->a);
}

static bool has_rrsig(const evaluator *ev, const dns_msg *m)
{
    for (unsigned i = 0; i < m->n_rr; i++)
        if (m->rr[i].type == DNS_T_RRSIG && owned_by_chain(ev, m, &m->rr[i]))
            return true;
    return false;
}

/* ---- reasons ------------------------------------------------------------------------ */

static void fmt_ip(int family, const uint8_t *a, char out[46])
{
    if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, a, out, 46))
        strcpy(out, "?");
}

static size_t fmt_expected(const dw_rule *rule, const evaluator *ev, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < rule->n_asn && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%sAS%u", i ? ", " : "", rule->asn[i]);
    for (size_t i = 0; i < rule->prefixes_text.n && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%s%s", n ? ", " : "", rule->prefixes_text.v[i]);
    if (rule->n_asn && !ev->db && n < len)
        n += (size_t)snprintf(out + n, len - n, " (ASN checks off: no database)");
    return n < len ? n : len - 1;
}

static void write_reason(const evaluator *ev, const pkt_info *pi,
                         const eval_result *r, eval_finding *f)
{
    const dw_rule *rule = f->rule;
    const char *q = r->n_chain ? r->chain[0] : "(no question)";
    char ip[46], exp[256];
    size_t len = sizeof f->reason;
    int n = 0;
    /* The reason names the gravest violation: the lowest DW_V_* bit (answers outside
     * their expected networks first). */
    uint32_t first = f->violations & (~f->violations + 1);
    const eval_evidence *e = NULL;
    for (unsigned i = 0; i < f->n_evidence && !e; i++)
        if (f->evidence[i].violation == first)
            e = &f->evidence[i];

    strcpy(ip, "?");
    if (e && e->family)
        fmt_ip(e->family, e->addr, ip);
    else if (first & (DW_V_ASN_MISMATCH | DW_V_ASN_UNKNOWN | DW_V_PREFIX_MISMATCH |
                      DW_V_REBINDING | DW_V_SINKHOLE))
        first = 0; /* its evidence did not fit: say it without an address */
    switch (first) {
    case DW_V_ASN_MISMATCH: {
        asn_info ai = {0, NULL, 0};
        fmt_expected(rule, ev, exp, sizeof exp);
        if (ev->db && asn_lookup(ev->db, e->family, e->addr, &ai) == 1 && ai.org)
            n = snprintf(f->reason, len, "%s answered %s (AS%u %.*s), expected %s", q, ip,
                         e->asn, (int)(ai.org_len > 80 ? 80 : ai.org_len), ai.org, exp);
        else
            n = snprintf(f->reason, len, "%s answered %s (AS%u), expected %s", q, ip, e->asn, exp);
        break;
    }
    case DW_V_ASN_UNKNOWN:
        fmt_expected(rule, ev, exp, sizeof exp);
        n = snprintf(f->reason, len, "%s answered %s, in no AS of the ASN database, expected %s",
                     q, ip, exp);
        break;
    case DW_V_PREFIX_MISMATCH:
        fmt_expected(rule, ev, exp, sizeof exp);
        n = snprintf(f->reason, len, "%s answered %s, outside the expected %s", q, ip, exp);
        break;
    case DW_V_CNAME_UNEXPECTED:
        /* (copied: gcc cannot tell the chain and the reason apart, both live in r) */
        snprintf(exp, sizeof exp, "%s", r->chain[e ? e->chain_index : 0]);
        n = snprintf(f->reason, len, "%s is a CNAME chain through %s, not an allowed target", q,
                     exp);
        break;
    case DW_V_UNEXPECTED_RESOLVER:
        fmt_ip(pi->ip_version, pi->src, ip);
        n = snprintf(f->reason, len, "%s was answered by %s, not one of the expected resolvers",
                     q, ip);
        break;
    case DW_V_REBINDING:
        n = snprintf(f->reason, len, "%s answered %s, in special-purpose range %s%s", q, ip,
                     e && e->range ? e->range : "?", " (DNS rebinding)");
        break;
    case DW_V_SINKHOLE:
        n = snprintf(f->reason, len, "%s answered %s, a sinkhole address", q, ip);
        break;
    case DW_V_DNSSEC_MISSING:
        n = snprintf(f->reason, len, "%s should be DNSSEC-signed, but %s", q,
                     e && e->range ? e->range : "the answer is not signed");
        break;
    case DW_V_TTL_EXCEEDED:
        n = snprintf(f->reason, len, "%s answered with TTL %u, above the maximum %u", q,
                     e ? e->ttl : 0, rule->ttl_max);
        break;
    default:
        n = snprintf(f->reason, len, "%s violates rule %s: %s", q, rule->id,
                     dw_violation_name(f->violations & (~f->violations + 1)));
        break;
    }
    unsigned more = (unsigned)__builtin_popcount(f->violations) - 1;
    if (more && n > 0 && (size_t)n < len)
        snprintf(f->reason + n, len - (size_t)n, " (+%u more violation%s)", more,
                 more > 1 ? "s" : "");
}

/* ---- one response ------------------------------------------------------------------- */

static void judge_rule(evaluator *ev, const dw_rule *rule, const pkt_info *pi, const dns_msg *m,
                       const eval_result *r, bool query_do, eval_finding *f)
{
    bool noerror = m->rcode == 0;

    memset(f, 0, offsetof(eval_finding, evidence));
    f->rule = rule;

    if (rule->resolvers &&
        !prefixset_lookup(rule->resolvers, pi->ip_version, pi->src, NULL, NULL))
        evidence(f, DW_V_UNEXPECTED_RESOLVER, pi->ip_version, pi->src);

    if (rule->cname_allowed)
        for (unsigned i = 1; i < r->n_chain; i++)
            if (!nameset_contains(rule->cname_allowed, r->chain[i], strlen(r->chain[i]))) {
                eval_evidence *e = evidence(f, DW_V_CNAME_UNEXPECTED, 0, NULL);
                if (e)
                    e->chain_index = (uint16_t)i;
                break;
            }

    if (rule->ttl_max)
        for (unsigned i = 0; i < m->n_rr; i++) {
            const dns_rr *rr = &m->rr[i];
            if (rr->ttl > rule->ttl_max && owned_by_chain(ev, m, rr)) {
                eval_evidence *e = evidence(f, DW_V_TTL_EXCEEDED, 0, NULL);
                if (e)
                    e->ttl = rr->ttl;
                break;
            }
        }

    if (noerror)
        for (unsigned i = 0; i < ev->n_addrs; i++)
            if (!excused(rule, r, &ev->addrs[i]))
                check_addr(ev, rule, &ev->addrs[i], f);

    if (rule->dnssec == DW_DNSSEC_SIGNED && noerror) {
        bool from_validator = rule->resolvers && !(f->violations & DW_V_UNEXPECTED_RESOLVER);
        const char *why = NULL;
        if (from_validator && !(m->flags & DNS_F_AD))
            why = "the validating resolver did not set AD";
        else if (query_do && !has_rrsig(ev, m))
            why = "the answer carries no RRSIG although the query set DO";
        eval_evidence *e = why ? evidence(f, DW_V_DNSSEC_MISSING, 0, NULL) : NULL;
        if (e)
            e->range = why;
    }
    if (f->violations)
        write_reason(ev, pi, r, f);
}

unsigned evaluator_response(evaluator *ev, const pkt_info *pi, const dns_msg *m,
                            eval_result *out)
{
    out->n_findings = 0;
    out->findings_dropped = 0;
    out->watched = false;
    track_match tm = {false, false, 0, 0};
    if (ev->need_track)
        tm = track_response(ev->tr, pi, m);

    build_chain(ev, m, out);
    if (out->n_chain == 0 || !ev->rs)
        return 0;

    if (++ev->gen == 0) { /* stamps wrapped: clear them once every 2^32 responses */
        memset(ev->stamp, 0, ev->n_rules * sizeof *ev->stamp);
        ev->gen = 1;
    }
    ev->n_cand = 0;
    const nameset *names = ruleset_names(ev->rs);
    for (unsigned i = 0; i < out->n_chain; i++) {
        cand_ctx c = {ev, out->chain[i], strlen(out->chain[i])};
        nameset_match(names, c.name, c.len, on_candidate, &c);
    }
    if (ev->n_cand == 0)
        return 0;
    /* Rule order as in the files, whatever order the names matched in. */
    qsort(ev->cand, ev->n_cand, sizeof *ev->cand, cmp_u32);

    mark_owners(ev, out, m);
    collect_addrs(ev, m, out);
    for (size_t i = 0; i < ev->n_cand; i++) {
        const dw_rule *rule = ruleset_rule(ev->rs, ev->cand[i]);
        if (!catch_all(rule))
            out->watched = true;
        if (out->n_findings == EVAL_MAX_FINDINGS) {
            out->findings_dropped++;
            continue;
        }
        eval_finding *f = &out->findings[out->n_findings];
        judge_rule(ev, rule, pi, m, out, tm.found && tm.query_do, f);
        if (f->violations)
            out->n_findings++;
    }
    return out->n_findings;
}

void evaluator_set_asn_db(evaluator *ev, const asn_db *db) { ev->db = db; }
