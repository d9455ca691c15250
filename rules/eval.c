#include "rules/eval.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/hash.h"
#include "decoders/dns_musl.h"
#include "decoders/dns_present.h"
#include "rules/special.h"

/* Every A/AAAA record (<= DNS_MAX_RRS) plus every SVCB/HTTPS hint a 64 KiB message can
 * carry (4 bytes each): nothing at the end of the chain goes unchecked. */
#define MAX_ADDRS (DNS_MAX_RRS + 16384 + DNS_MUSL_MAX_RECORDS) /* + musl's own */

/* Group bits (eval_result.group): bit g for group g; GROUP_BEYOND for answer owners on
 * no chain kept (past EVAL_MAX_GROUPS or EVAL_MAX_NAMES). */
#define GROUP_BEYOND (1u << 31)
#define NO_NAME 0xffffu

typedef struct eval_addr {
    int family;
    uint8_t a[16];
    uint32_t groups;   /* of its record's owner */
    special_result sr; /* classified once per response, judged by every rule */
} eval_addr;

/* What a candidate rule matched in the current response. */
typedef struct cand_info {
    uint32_t groups;   /* group bits of every name it matched */
    bool all_addrs;    /* it matched a name the victim may have asked: every answer address */
    uint16_t first;    /* index in chain[] of the first name it matched; NO_NAME: beyond */
    int group;         /* that name's group; -1 beyond */
    uint16_t rr;       /* beyond: the answer record whose owner it matched */
    /* out_of_bailiwick: records for names the rule watches found outside the question's
     * bailiwick (check_bailiwick), the last one counted, and whether that is all the
     * rule matched (it then judges nothing else: it owns no name of the response). */
    unsigned poison_n;
    uint16_t poison_last;
    bool poison_only;
} cand_info;

/* The (rule, record) pairs of out_of_bailiwick kept per response, and per rule (the
 * evidence keeps that many); the others are counted in cand_info.poison_n. */
#define POISON_MAX 4096
typedef struct poison_pair {
    uint32_t rule;
    uint16_t rr;
} poison_pair;

struct evaluator {
    const ruleset *rs;
    const asn_db *db;
    track *tr;
    /* Candidate rules of the current response: stamp[i] == gen marks rule i. */
    uint32_t *stamp;
    uint32_t *cand;
    cand_info *info;  /* per rule, valid while stamp[i] == gen */
    size_t n_rules, n_cand;
    uint32_t gen;
    /* The names of eval_result.chain in wire form, for owner comparisons; the last slot
     * is scratch for owners beyond the names kept. */
    uint8_t chain_wire[EVAL_MAX_NAMES + 1][DNS_NAME_MAX];
    uint32_t name_hash[EVAL_MAX_NAMES];
    uint8_t name_group[EVAL_MAX_NAMES];
    eval_addr *addrs;
    unsigned n_addrs;
    /* Per record of the message: the group bits of an answer record's owner (0 for the
     * other sections), and for CNAME/DNAME answers the hash and label count of the owner
     * (chain steps compare hashes before unpacking anything). */
    uint32_t rec_groups[DNS_MAX_RRS];
    uint8_t rec_ng[DNS_MAX_RRS];   /* rec_groups[i] holds for this many groups (0: not yet) */
    uint32_t rec_hash[DNS_MAX_RRS];
    uint8_t rec_labels[DNS_MAX_RRS];
    uint16_t aliases[DNS_MAX_RRS]; /* indexes of the CNAME/DNAME answers */
    unsigned n_aliases;
    bool any_dname;
    bool aliases_hashed;           /* rec_hash/rec_labels of the aliases are set */
    unsigned n_hashed;             /* names of chain[] whose name_hash is set */
    uint16_t beyond[DNS_MAX_RRS];  /* answers whose owner starts no group: no room left */
    unsigned n_beyond;
    /* Each chain name prepared once for every name set it is looked up in. */
    nameset_query q[EVAL_MAX_NAMES + 1];
    bool watch_any;             /* a rule watches a name for poisoning (ruleset_watch) */
    /* The first record that build_groups did not find owned by a name of the question's
     * chain (m->n_rr: none): check_bailiwick starts there. */
    unsigned bw_first;
    poison_pair *poison;        /* POISON_MAX, out_of_bailiwick of the current response */
    unsigned n_poison;
    /* check_bailiwick's record owner [0] and the suffix it shares with the question's
     * chain [1]: wire form, text, query. */
    uint8_t bw_wire[DNS_NAME_MAX];
    char bw_text[2][DNS_NAME_TEXT_MAX];
    nameset_query bw_q[2];
    uint32_t watching[EVAL_MAX_FINDINGS]; /* the rules watching the current question */
    unsigned n_watching;
    track_match tm;             /* the current response's (evidence points here) */
    bool any_resolvers;         /* some rule lists expect.resolvers: sample their queries */
    uint32_t *res_rules;        /* the indexes of those rules, in rule order */
    size_t n_res_rules;
    rsample *sample;            /* the resolvers' upstream queries (rsample.h) */
    /* The question's chain went on past EVAL_MAX_CHAIN (said in the trace). */
    bool chain_cut;
    /* Allow documents: per entry, the groups whose chain has a name the entry lists,
     * worked out once per response (allow_stamp[i] == gen) when an address needs it. */
    uint32_t *allow_stamp, *allow_groups;
    size_t n_allow;
    eval_trace_fn trace_fn; /* NULL: no tracing (the sensor) */
    void *trace_ctx;
    time_t (*clock)(void);  /* NULL: time() */
};

static const char *const violation_names[DW_V_COUNT] = {
#define NAME_OF(NAME, name, reason, evidence) [DW_VI_##NAME] = name,
    DW_VIOLATION_LIST(NAME_OF)
#undef NAME_OF
};

const char *dw_violation_name(uint32_t bit)
{
    unsigned i = dw_violation_index(bit);
    return i < DW_V_COUNT ? violation_names[i] : NULL;
}

size_t dw_violation_names(uint32_t set, const char *out[DW_V_COUNT])
{
    size_t n = 0;
    for (unsigned i = 0; i < DW_V_COUNT; i++)
        if (set & (1u << i))
            out[n++] = violation_names[i];
    return n;
}


static int size_for(evaluator *ev, const ruleset *rs)
{
    size_t n = ruleset_count(rs);
    size_t na = ruleset_allow_count(rs);
    uint32_t *stamp = calloc(n ? n : 1, sizeof *stamp);
    uint32_t *cand = calloc(n ? n : 1, sizeof *cand);
    cand_info *info = calloc(n ? n : 1, sizeof *info);
    uint32_t *astamp = calloc(na ? na : 1, sizeof *astamp);
    uint32_t *agroups = calloc(na ? na : 1, sizeof *agroups);
    uint32_t *res_rules = calloc(n ? n : 1, sizeof *res_rules);
    if (!stamp || !cand || !info || !astamp || !agroups || !res_rules) {
        free(stamp);
        free(cand);
        free(info);
        free(astamp);
        free(agroups);
        free(res_rules);
        return -ENOMEM;
    }
    free(ev->stamp);
    free(ev->cand);
    free(ev->info);
    free(ev->allow_stamp);
    free(ev->allow_groups);
    ev->allow_stamp = astamp;
    ev->allow_groups = agroups;
    ev->n_allow = na;
    free(ev->res_rules);
    ev->stamp = stamp;
    ev->cand = cand;
    ev->info = info;
    ev->res_rules = res_rules;
    ev->n_res_rules = 0;
    ev->n_rules = n;
    ev->gen = 0;
    ev->rs = rs;
    ev->watch_any = rs && ruleset_watch(rs) && nameset_size(ruleset_watch(rs)) > 0;
    ev->any_resolvers = false;
    for (size_t i = 0; i < n; i++)
        if (ruleset_rule(rs, i)->resolvers && ruleset_rule(rs, i)->status != DW_RULE_DISABLED) {
            ev->any_resolvers = true;
            ev->res_rules[ev->n_res_rules++] = (uint32_t)i;
        }
    return 0;
}

evaluator *evaluator_new(const ruleset *rs, const asn_db *db, const track_limits *tl)
{
    evaluator *ev = calloc(1, sizeof *ev);
    if (!ev)
        return NULL;
    ev->db = db;
    ev->tr = track_new(tl);
    ev->sample = rsample_new(0);
    ev->addrs = malloc(MAX_ADDRS * sizeof *ev->addrs);
    ev->poison = malloc(POISON_MAX * sizeof *ev->poison);
    if (!ev->tr || !ev->sample || !ev->addrs || !ev->poison || size_for(ev, rs) != 0) {
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
    rsample_free(ev->sample);
    free(ev->addrs);
    free(ev->poison);
    free(ev->stamp);
    free(ev->cand);
    free(ev->info);
    free(ev->allow_stamp);
    free(ev->allow_groups);
    free(ev->res_rules);
    free(ev);
}

int evaluator_set_ruleset(evaluator *ev, const ruleset *rs) { return size_for(ev, rs); }

void evaluator_set_clock(evaluator *ev, time_t (*now)(void)) { ev->clock = now; }

void evaluator_set_trace(evaluator *ev, eval_trace_fn fn, void *ctx)
{
    ev->trace_fn = fn;
    ev->trace_ctx = ctx;
}

/* Callers test ev->trace_fn first, so the sensor never formats a detail line. */
__attribute__((format(printf, 5, 6))) static void trace(const evaluator *ev,
                                                        const dw_rule *rule,
                                                        const char *check, int verdict,
                                                        const char *fmt, ...)
{
    char detail[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    ev->trace_fn(ev->trace_ctx, rule, check, verdict, detail);
}

void evaluator_query(evaluator *ev, const pkt_info *pi, const dns_msg *m)
{
    track_query(ev->tr, pi, m);
}

void evaluator_set_counters(evaluator *ev, dw_counters *c) { track_set_counters(ev->tr, c); }

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

/* A hash of an uncompressed wire name, ASCII case folded, built from the root up so
 * that the hash of each suffix comes on the way: sufh[k] (if sufh) is the hash of the
 * suffix of k labels. Returns the label count, or -1 for a malformed name. */
static int name_hashes(const uint8_t *w, uint32_t *h, uint32_t sufh[DNS_NAME_MAX / 2 + 1])
{
    uint8_t off[DNS_NAME_MAX / 2];
    int nl = 0;
    size_t i = 0;
    while (i < DNS_NAME_MAX && w[i]) {
        if (w[i] > DNS_LABEL_MAX || nl == (int)sizeof off)
            return -1;
        off[nl++] = (uint8_t)i;
        i += (size_t)w[i] + 1;
    }
    if (i >= DNS_NAME_MAX)
        return -1;
    uint32_t x = HASH_FNV32_OFFSET;
    if (sufh)
        sufh[0] = x;
    for (int k = nl - 1; k >= 0; k--) {
        const uint8_t *l = w + off[k];
        x = hash_fnv32_byte(x, l[0]);
        for (unsigned j = 1; j <= l[0]; j++) {
            unsigned c = l[j];
            x = hash_fnv32_byte(x, (unsigned char)(c - 'A' < 26u ? c + 32 : c));
        }
        if (sufh)
            sufh[nl - k] = x;
    }
    *h = x;
    return nl;
}

/* Hashes pay when there are many names to compare against; a usual response has one
 * CNAME and a chain of two names, compared directly. */
#define HASH_MIN 8

/* Notes the CNAME and DNAME records of the answer section; with more than HASH_MIN of
 * them, their owners' hashes too: one unpack per record per response, not one per chain
 * step. */
static void prepare_aliases(evaluator *ev, const dns_msg *m)
{
    uint8_t owner[DNS_NAME_MAX];
    ev->n_aliases = 0;
    ev->any_dname = false;
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        if (rr->section == DNS_SEC_ANSWER &&
            (rr->type == DNS_T_CNAME || rr->type == DNS_T_DNAME)) {
            ev->aliases[ev->n_aliases++] = (uint16_t)i;
            ev->any_dname |= rr->type == DNS_T_DNAME;
        }
    }
    ev->aliases_hashed = ev->n_aliases > HASH_MIN;
    if (!ev->aliases_hashed)
        return;
    unsigned n = 0;
    for (unsigned k = 0; k < ev->n_aliases; k++) {
        unsigned i = ev->aliases[k];
        uint32_t h;
        int nl;
        if (dns_msg_name_unpack(m, m->rr[i].name_off, owner, NULL) < 0 ||
            (nl = name_hashes(owner, &h, NULL)) < 0)
            continue; /* (cannot happen: dns_parse validated every owner) */
        ev->rec_hash[i] = h;
        ev->rec_labels[i] = (uint8_t)nl;
        ev->aliases[n++] = (uint16_t)i;
    }
    ev->n_aliases = n;
}

/* The name the chain goes on to from cur (a CNAME owned by cur, or a DNAME above it):
 * true and next set, or false at the end of the chain. */
static bool chain_step(const evaluator *ev, const dns_msg *m, const uint8_t *cur,
                       uint8_t next[DNS_NAME_MAX])
{
    uint8_t owner[DNS_NAME_MAX], target[DNS_NAME_MAX];
    uint32_t h = 0, sufh[DNS_NAME_MAX / 2 + 1];
    int nl = 0;
    if (ev->aliases_hashed && (nl = name_hashes(cur, &h, ev->any_dname ? sufh : NULL)) < 0)
        return false;
    for (unsigned k = 0; k < ev->n_aliases; k++) {
        const dns_rr *rr = &m->rr[ev->aliases[k]];
        if (ev->aliases_hashed) {
            unsigned ol = ev->rec_labels[ev->aliases[k]];
            uint32_t oh = ev->rec_hash[ev->aliases[k]];
            if (rr->type == DNS_T_CNAME ? oh != h : (int)ol >= nl || sufh[ol] != oh)
                continue;
        }
        if (dns_msg_name_unpack(m, rr->name_off, owner, NULL) < 0 ||
            dns_msg_name_unpack(m, rr->rdata_off, target, NULL) < 0)
            continue;
        if (rr->type == DNS_T_CNAME && dns_wirename_eq(owner, cur)) {
            memcpy(next, target, DNS_NAME_MAX);
            return true;
        }
        if (rr->type == DNS_T_DNAME && dname_substitute(cur, owner, target, next) == 1)
            return true;
    }
    return false;
}

/* The group bits of the names kept that equal owner. Past HASH_MIN names, hashes first
 * (computed for the names as they come). */
static uint32_t groups_of(evaluator *ev, const eval_result *r, const uint8_t *owner)
{
    uint32_t bits = 0, h = 0;
    bool hashed = r->n_chain > HASH_MIN;
    if (hashed) {
        for (; ev->n_hashed < r->n_chain; ev->n_hashed++)
            if (name_hashes(ev->chain_wire[ev->n_hashed], &ev->name_hash[ev->n_hashed], NULL) < 0)
                ev->name_hash[ev->n_hashed] = 0;
        if (name_hashes(owner, &h, NULL) < 0)
            return 0;
    }
    for (unsigned i = 0; i < r->n_chain; i++)
        if ((!hashed || ev->name_hash[i] == h) && dns_wirename_eq(ev->chain_wire[i], owner))
            bits |= 1u << ev->name_group[i];
    return bits;
}

static bool in_range(const evaluator *ev, unsigned from, unsigned to, const uint8_t *name)
{
    for (unsigned i = from; i < to; i++)
        if (dns_wirename_eq(ev->chain_wire[i], name))
            return true;
    return false;
}

/* Makes a group of the name in ev->chain_wire[r->n_chain] and the chain from it: CNAME
 * and DNAME records of the answer section, at most EVAL_MAX_CHAIN steps, no loop, no
 * more names than EVAL_MAX_NAMES in all. Prepares each name's text and query. */
static void add_group(evaluator *ev, const dns_msg *m, eval_result *r)
{
    uint8_t next[DNS_NAME_MAX];
    unsigned g = r->n_groups++, first = r->n_chain;
    unsigned limit = first + EVAL_MAX_CHAIN + 1;
    if (limit > EVAL_MAX_NAMES)
        limit = EVAL_MAX_NAMES;
    r->n_chain++;
    while (r->n_chain < limit) {
        if (!chain_step(ev, m, ev->chain_wire[r->n_chain - 1], next) ||
            in_range(ev, first, r->n_chain, next)) /* the end, or a loop */
            break;
        memcpy(ev->chain_wire[r->n_chain], next, sizeof next);
        r->n_chain++;
    }
    if (g == 0 && m->has_question && r->n_chain == first + EVAL_MAX_CHAIN + 1)
        ev->chain_cut = chain_step(ev, m, ev->chain_wire[r->n_chain - 1], next) &&
                        !in_range(ev, first, r->n_chain, next);
    r->group[g].first = (uint8_t)first;
    r->group[g].n = (uint8_t)(r->n_chain - first);
    /* Each name's text, and its query for the name sets, in one pass over the usual
     * name; a name with bytes the reader escapes takes the reader's text. */
    for (unsigned i = first; i < r->n_chain; i++) {
        ev->name_group[i] = (uint8_t)g;
        if (nameset_query_wire(&ev->q[i], ev->chain_wire[i], DNS_NAME_MAX, r->chain[i],
                               sizeof r->chain[i]) == 0)
            continue;
        if (dns_wirename_text(ev->chain_wire[i], DNS_NAME_MAX, r->chain[i], true) < 0)
            strcpy(r->chain[i], "?");
        nameset_query_init(&ev->q[i], r->chain[i], strlen(r->chain[i]));
    }
}

static bool addr_type(uint16_t t)
{
    return t == DNS_T_A || t == DNS_T_AAAA || t == DNS_T_SVCB || t == DNS_T_HTTPS;
}

/* Notes record i as not known to be owned by a name of the question's chain (records come
 * in order: the first such one is where check_bailiwick starts). */
static inline void off_chain(evaluator *ev, unsigned i)
{
    if (ev->bw_first > i)
        ev->bw_first = i;
}

/* The groups of a response (see eval_result): the question's chain, then a chain from
 * each owner of an address or CNAME answer that is on no chain before it. Owners
 * past the room for groups are listed in ev->beyond, to be matched one by one. */
static void build_groups(evaluator *ev, const dns_msg *m, eval_result *r)
{
    uint8_t owner[DNS_NAME_MAX];
    r->n_chain = 0;
    r->n_groups = 0;
    r->owners_beyond = false;
    ev->chain_cut = false;
    ev->n_beyond = 0;
    ev->n_hashed = 0;
    ev->bw_first = m->n_rr;
    prepare_aliases(ev, m);
    if (m->has_question) {
        if (m->qname_wlen > 0 && m->qname_wlen <= DNS_NAME_MAX &&
            (size_t)m->qname_off + m->qname_wlen <= m->len)
            memcpy(ev->chain_wire[0], m->buf + m->qname_off, m->qname_wlen); /* validated */
        else if (dns_msg_name_unpack(m, m->qname_off, ev->chain_wire[0], NULL) < 0)
            return;
        add_group(ev, m, r);
    }
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        uint32_t bits;
        ev->rec_ng[i] = 0;
        /* (a DNAME's owner is never asked for through it: it maps the names below) */
        if (rr->section != DNS_SEC_ANSWER || !(addr_type(rr->type) || rr->type == DNS_T_CNAME)) {
            off_chain(ev, i);
            continue;
        }
        if (dns_rr_owner_is_question(m, rr) && r->n_groups == 1) {
            ev->rec_groups[i] = 1u;
            ev->rec_ng[i] = 1;
            continue;
        }
        off_chain(ev, i); /* (unless on the chain after all, just below) */
        if (dns_msg_name_unpack(m, rr->name_off, owner, NULL) < 0)
            continue;
        if ((bits = groups_of(ev, r, owner)) != 0) {
            /* mark_owners takes this unless a group is added after */
            ev->rec_groups[i] = bits;
            ev->rec_ng[i] = (uint8_t)r->n_groups;
            if ((bits & 1u) && ev->bw_first == i)
                ev->bw_first = m->n_rr;
            continue;
        }
        if (r->n_groups < EVAL_MAX_GROUPS && r->n_chain < EVAL_MAX_NAMES) {
            memcpy(ev->chain_wire[r->n_chain], owner, sizeof owner);
            add_group(ev, m, r);
        } else {
            ev->beyond[ev->n_beyond++] = (uint16_t)i;
            r->owners_beyond = true;
        }
    }
}

/* The group bits of every answer record's owner (0 in the other sections), once per
 * response: later checks look them up instead of unpacking again. */
static void mark_owners(evaluator *ev, const eval_result *r, const dns_msg *m)
{
    uint8_t owner[DNS_NAME_MAX];
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        if (rr->section != DNS_SEC_ANSWER) {
            ev->rec_groups[i] = 0;
            continue;
        }
        if (ev->rec_ng[i] == r->n_groups) /* found by build_groups, no group since */
            continue;
        /* Most answers name their owner by a pointer to the question name: the first
         * name of group 0, and of no other group when there is no other. */
        if (r->n_groups == 1 && dns_rr_owner_is_question(m, rr)) {
            ev->rec_groups[i] = 1u;
            continue;
        }
        uint32_t bits = 0;
        if (dns_msg_name_unpack(m, rr->name_off, owner, NULL) > 0)
            bits = groups_of(ev, r, owner);
        ev->rec_groups[i] = bits ? bits : GROUP_BEYOND;
    }
}

static void add_addr(evaluator *ev, int family, const uint8_t *a, uint32_t groups)
{
    if (ev->n_addrs >= MAX_ADDRS)
        return;
    eval_addr *x = &ev->addrs[ev->n_addrs++];
    x->family = family;
    memset(x->a, 0, sizeof x->a);
    memcpy(x->a, a, family == 6 ? 16 : 4);
    x->groups = groups;
    x->sr = special_classify(family, x->a);
}

typedef struct hint_ctx {
    evaluator *ev;
    uint32_t groups;
} hint_ctx;

static void on_hint(void *ctx, int family, const uint8_t *addr)
{
    const hint_ctx *h = ctx;
    add_addr(h->ev, family, addr, h->groups);
}

/* Every address of the answer section, with the groups of its owner: which rules judge
 * it is decided per rule (cand_info). */
static void collect_addrs(evaluator *ev, const dns_msg *m, eval_result *r)
{
    ev->n_addrs = 0;
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        uint8_t a[16];
        if (rr->section != DNS_SEC_ANSWER || !addr_type(rr->type))
            continue;
        if (rr->type == DNS_T_SVCB || rr->type == DNS_T_HTTPS) {
            hint_ctx h = {ev, ev->rec_groups[i]};
            dns_svcb_hints(m, rr, on_hint, &h);
            continue;
        }
        int n = dns_rr_addr(m, rr, a);
        if (n)
            add_addr(ev, n == 16 ? 6 : 4, a, ev->rec_groups[i]);
    }
    /* And the addresses musl's reading of the same bytes would use that the parse above
     * did not produce (dns_musl.h): musl uses them for the name it asked, so they belong
     * to no owner's group and the rules of the question judge them. */
    hint_ctx h = {ev, 0};
    r->musl_differs = dns_musl_compare(m, on_hint, &h).differs;
    r->musl_compared = true;
    r->n_addrs = ev->n_addrs;
}

/* Whether the rule judges records owned by names of these groups. */
static bool rule_owns(const cand_info *ci, uint32_t groups) { return (ci->groups & groups) != 0; }

/* ---- candidate rules ---------------------------------------------------------------- */

typedef struct cand_ctx {
    evaluator *ev;
    const nameset_query *q; /* the name matched */
    uint16_t index;         /* its place in chain[], NO_NAME beyond */
    int group;              /* its group, -1 beyond */
    uint16_t rr;            /* beyond: the record it owns */
    bool all_addrs;         /* a name the victim may have asked */
} cand_ctx;

static void on_candidate(void *ctx, uint32_t idx)
{
    cand_ctx *c = ctx;
    evaluator *ev = c->ev;
    if (idx >= ev->n_rules)
        return;
    const dw_rule *rule = ruleset_rule(ev->rs, idx);
    if (rule->except && nameset_contains_query(rule->except, c->q))
        return;
    cand_info *ci = &ev->info[idx];
    if (ev->stamp[idx] != ev->gen) {
        ev->stamp[idx] = ev->gen;
        ev->cand[ev->n_cand++] = idx;
        /* names are matched in chain order, the owners beyond last */
        ci->first = c->index;
        ci->group = c->group;
        ci->rr = c->rr;
        ci->groups = 0;
        ci->all_addrs = false;
        ci->poison_n = 0;
        ci->poison_last = NO_NAME;
        ci->poison_only = false;
    }
    ci->groups |= c->group < 0 ? GROUP_BEYOND : 1u << c->group;
    ci->all_addrs |= c->all_addrs;
}

/* Finds the candidate rules: those matching a name of a group, then those matching an
 * owner beyond the groups. The question's chain, or any group when the message has no
 * question, is what the victim asked: its rules judge every answer address. */
static void find_candidates(evaluator *ev, const dns_msg *m, const eval_result *r)
{
    const nameset *names = ruleset_names(ev->rs);
    for (unsigned i = 0; i < r->n_chain; i++) {
        int g = ev->name_group[i];
        cand_ctx c = {ev, &ev->q[i], (uint16_t)i, g, 0, g == 0 || !m->has_question};
        nameset_match_query(names, &ev->q[i], on_candidate, &c);
    }
    for (unsigned k = 0; k < ev->n_beyond; k++) {
        uint8_t *w = ev->chain_wire[EVAL_MAX_NAMES];
        nameset_query *q = &ev->q[EVAL_MAX_NAMES];
        char text[DNS_NAME_TEXT_MAX];
        const dns_rr *rr = &m->rr[ev->beyond[k]];
        if (dns_msg_name_unpack(m, rr->name_off, w, NULL) < 0)
            continue;
        if (nameset_query_wire(q, w, DNS_NAME_MAX, text, sizeof text) != 0) {
            if (dns_wirename_text(w, DNS_NAME_MAX, text, true) < 0)
                continue;
            nameset_query_init(q, text, strlen(text));
        }
        cand_ctx c = {ev, q, NO_NAME, -1, ev->beyond[k], !m->has_question};
        nameset_match_query(names, q, on_candidate, &c);
    }
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

/* A response has a few candidate rules (a watched name, its wildcard, the catch-all):
 * insertion sort, unless a name is watched by many rules. */
static void sort_candidates(uint32_t *v, size_t n)
{
    if (n > 16) {
        qsort(v, n, sizeof *v, cmp_u32);
        return;
    }
    for (size_t i = 1; i < n; i++) {
        uint32_t x = v[i];
        size_t j = i;
        for (; j > 0 && v[j - 1] > x; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
}

/* ---- out_of_bailiwick --------------------------------------------------------------- */

/* Whether a resolver would cache the record as data it resolves names with, the only way
 * one outside the question's bailiwick can do harm: not OPT nor a meta type (TKEY, TSIG,
 * the rest of RFC 6895's QTYPE-only range 128..255), nor a DNSSEC proof (RRSIG, NSEC,
 * NSEC3: a validator checks them against the zone's keys, anything else ignores them;
 * and an NXDOMAIN proves the name's absence with the NSEC owned by the name before it,
 * pypi.org's for a question for pypj.org), of the question's class, with a TTL above 0
 * (RFC 1035: a zero TTL is for the transaction in progress only). */
static bool cacheable(const dns_msg *m, const dns_rr *rr)
{
    return rr->type != DNS_T_OPT && (rr->type < 128 || rr->type > 255) &&
           rr->type != DNS_T_RRSIG && rr->type != DNS_T_NSEC && rr->type != DNS_T_NSEC3 &&
           rr->rclass == m->qclass && rr->ttl > 0;
}

/* The label offsets of an uncompressed wire name into off[], and how many; -1 if
 * malformed. */
static int label_offsets(const uint8_t *w, uint8_t off[DNS_NAME_MAX / 2 + 1])
{
    int n = 0;
    size_t i = 0;
    while (i < DNS_NAME_MAX && w[i]) {
        if (w[i] > DNS_LABEL_MAX || n == DNS_NAME_MAX / 2 + 1)
            return -1;
        off[n++] = (uint8_t)i;
        i += (size_t)w[i] + 1;
    }
    return i < DNS_NAME_MAX ? n : -1;
}

static bool label_eq(const uint8_t *a, const uint8_t *b)
{
    if (a[0] != b[0])
        return false;
    for (unsigned j = 1; j <= a[0]; j++) {
        unsigned x = a[j], y = b[j];
        if ((x - 'A' < 26u ? x + 32 : x) != (y - 'A' < 26u ? y + 32 : y))
            return false;
    }
    return true;
}

/* How many labels a (na labels at offsets oa) and b share at their end,
 * case-insensitively; 0 when none, or b is malformed. */
static int common_suffix(const uint8_t *a, const uint8_t *oa, int na, const uint8_t *b)
{
    uint8_t ob[DNS_NAME_MAX / 2 + 1];
    int nb = label_offsets(b, ob), k = 0;
    while (k < na && k < nb && label_eq(a + oa[na - 1 - k], b + ob[nb - 1 - k]))
        k++;
    return k;
}

/* The wire name's query (nameset_query_wire, or the reader's text for a name it escapes). */
static bool query_of(nameset_query *q, const uint8_t *w, size_t avail, char text[DNS_NAME_TEXT_MAX])
{
    if (nameset_query_wire(q, w, avail, text, DNS_NAME_TEXT_MAX) == 0)
        return true;
    if (dns_wirename_text(w, avail, text, true) < 0)
        return false;
    nameset_query_init(q, text, strlen(text));
    return true;
}

typedef struct bw_ctx {
    evaluator *ev;
    const eval_result *r;
    uint16_t rr;
    int shared; /* labels of the suffix in bw_q[1]; -1 not computed yet */
} bw_ctx;

typedef struct find_ctx {
    uint32_t want;
    bool found;
} find_ctx;

static void on_find(void *ctx, uint32_t v)
{
    find_ctx *f = ctx;
    f->found |= v == f->want;
}

/* A rule watches the owner of record c->rr (ruleset_watch): the record is in the
 * question's bailiwick for that rule when the rule also watches the longest suffix the
 * owner shares with a name of the question's chain (the question, or a CNAME/DNAME target
 * reached from it): both are then at or below one name the rule watches. Watched names
 * are closed downwards, so the longest shared suffix is the only one to try. */
static void on_watched(void *ctx, uint32_t idx)
{
    bw_ctx *c = ctx;
    evaluator *ev = c->ev;
    if (idx >= ev->n_rules)
        return;
    cand_info *ci = &ev->info[idx];
    bool cand = ev->stamp[idx] == ev->gen;
    if (cand && ci->poison_last == c->rr) /* (a rule may be listed twice for a name) */
        return;
    const dw_rule *rule = ruleset_rule(ev->rs, idx);
    if (rule->except && nameset_contains_query(rule->except, &ev->bw_q[0]))
        return;
    if (c->shared < 0) { /* once per record, for the first rule that watches it */
        uint8_t oa[DNS_NAME_MAX / 2 + 1];
        int na = label_offsets(ev->bw_wire, oa), best = 0;
        for (unsigned k = 0; na > 0 && k < c->r->group[0].n && best < na; k++) {
            int n = common_suffix(ev->bw_wire, oa, na, ev->chain_wire[k]);
            best = n > best ? n : best;
        }
        size_t off = best > 0 ? oa[na - best] : 0;
        c->shared = best > 0 && query_of(&ev->bw_q[1], ev->bw_wire + off, DNS_NAME_MAX - off,
                                         ev->bw_text[1])
                        ? best
                        : 0;
    }
    if (c->shared > 0) {
        find_ctx f = {idx, false};
        nameset_match_query(ruleset_watch(ev->rs), &ev->bw_q[1], on_find, &f);
        if (f.found)
            return;
    }
    if (!cand) {
        ev->stamp[idx] = ev->gen;
        ev->cand[ev->n_cand++] = idx;
        ci->first = 0;
        ci->group = 0; /* the question's chain: the reason and cname_chain name it */
        ci->rr = c->rr;
        ci->groups = 0;
        ci->all_addrs = false;
        ci->poison_n = 0;
        ci->poison_only = true;
    }
    ci->poison_last = c->rr;
    if (ci->poison_n++ < EVAL_MAX_EVIDENCE && ev->n_poison < POISON_MAX)
        ev->poison[ev->n_poison++] = (poison_pair){idx, c->rr};
}

/* out_of_bailiwick (DESIGN.md "Tracking"): every record a resolver would cache, in any
 * section, whose owner a rule watches (ruleset_watch) while the question is neither that
 * name nor below it nor reaches it through the answer's CNAME/DNAME chain. Makes each
 * such rule a candidate (poison_only when nothing else matched it) and keeps the records
 * in ev->poison. Only responses a resolver takes records from are judged: with a question
 * (a resolver refuses a reply without one) and a NOERROR or NXDOMAIN header (it drops
 * the body of the others and asks elsewhere). Most records cost a test or two: an owner
 * that is a pointer to the question, or a name of its chain, is in every bailiwick. */
static void check_bailiwick(evaluator *ev, const dns_msg *m, const eval_result *r)
{
    ev->n_poison = 0;
    unsigned rc = DNS_RCODE(m->flags);
    if (ev->bw_first >= m->n_rr || !ev->watch_any || !m->has_question || r->n_groups == 0 ||
        (rc != 0 && rc != 3))
        return;
    for (unsigned i = ev->bw_first; i < m->n_rr; i++) {
        /* An address or CNAME answer owned by a name of the question's chain (found so
         * by build_groups): most records of most responses, decided here. */
        if (ev->rec_ng[i] && (ev->rec_groups[i] & 1u))
            continue;
        const dns_rr *rr = &m->rr[i];
        /* A chain longer than the sensor follows may reach any answer's owner (their
         * addresses are still judged, through the owners' chains). */
        if (!cacheable(m, rr) || (ev->chain_cut && rr->section == DNS_SEC_ANSWER) ||
            dns_rr_owner_is_question(m, rr))
            continue;
        if (dns_msg_name_unpack(m, rr->name_off, ev->bw_wire, NULL) < 0 ||
            in_range(ev, 0, r->group[0].n, ev->bw_wire) ||
            !query_of(&ev->bw_q[0], ev->bw_wire, DNS_NAME_MAX, ev->bw_text[0]))
            continue;
        bw_ctx c = {ev, r, (uint16_t)i, -1};
        nameset_match_query(ruleset_watch(ev->rs), &ev->bw_q[0], on_watched, &c);
    }
}

/* The out_of_bailiwick evidence of a rule: the records check_bailiwick kept for it, the
 * others counted. */
static void bailiwick_evidence(evaluator *ev, const dw_rule *rule, const cand_info *ci,
                               const dns_msg *m, eval_finding *f);

/* ---- the checks --------------------------------------------------------------------- */

static void fmt_ip(int family, const uint8_t *a, char out[DNS_IPV6_TEXT_MAX])
{
    dns_format_ip(family, a, out); /* inet_ntop's text, without its sprintf */
}

/* "a, b, c" (cut to fit), for trace details. */
static const char *join(const dw_strlist *l, char *out, size_t len)
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < l->n && n < len; i++)
        n += (size_t)snprintf(out + n, len - n, "%s%s", i ? ", " : "", l->v[i]);
    return out;
}

/* Records a violation; returns its evidence slot, or NULL once the finding holds
 * EVAL_MAX_EVIDENCE items (the violation still counts). */
static eval_evidence *evidence(eval_finding *f, uint32_t v, int family, const uint8_t *a)
{
    bool seen = (f->violations & v) != 0;
    f->violations |= v;
    f->n_evidence_total++;
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

/* The exception that excuses this address, or NULL. The loader dropped the exceptions
 * expired when it ran; one that expired since then is checked against now. */
static const dw_exception *excused(const evaluator *ev, const dw_rule *rule, const eval_result *r,
                                   const eval_addr *x, time_t now)
{
    for (size_t i = 0; i < rule->n_exceptions; i++) {
        const dw_exception *ex = &rule->exceptions[i];
        if (now >= ex->expires)
            continue;
        if (ex->prefixes && !prefixset_lookup(ex->prefixes, x->family, x->a, NULL, NULL))
            continue;
        if (!ex->names)
            return ex;
        for (unsigned c = 0; c < r->n_chain; c++)
            if (nameset_contains_query(ex->names, &ev->q[c]))
                return ex;
    }
    return NULL;
}

static bool u32_in(const uint32_t *v, size_t n, uint32_t x)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (v[mid] == x)
            return true;
        if (v[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* The allow entry (ruleset_allow) that passes this address for rule idx, or NULL. An
 * entry's names are looked for in the address's own chain: the groups of the record that
 * holds it, or the question's chain for an address musl alone reads (it belongs to the
 * name asked). So a private endpoint reached through x.blob.core.windows.net CNAME
 * x.privatelink.blob.core.windows.net is allowed by either name, while an unrelated name
 * elsewhere in the response allows nothing. Expiry is checked against now. */
static const dw_allow *allowed(evaluator *ev, uint32_t idx, const eval_result *r,
                               const eval_addr *x, time_t now)
{
    uint32_t groups = x->groups ? x->groups : 1u;
    for (size_t i = 0; i < ev->n_allow; i++) {
        const dw_allow *a = ruleset_allow(ev->rs, i);
        if (now >= a->expires || (a->n_rules && !u32_in(a->rules, a->n_rules, idx)))
            continue;
        if (a->prefixes || a->n_asn) {
            bool in = a->prefixes && prefixset_lookup(a->prefixes, x->family, x->a, NULL, NULL);
            asn_info ai;
            if (!in && a->n_asn && ev->db && asn_lookup(ev->db, x->family, x->a, &ai) == 1)
                in = u32_in(a->asn, a->n_asn, ai.number);
            if (!in)
                continue;
        }
        if (a->names) {
            if (ev->allow_stamp[i] != ev->gen) {
                uint32_t bits = 0;
                for (unsigned g = 0; g < r->n_groups; g++)
                    for (unsigned c = r->group[g].first; c < (unsigned)r->group[g].first + r->group[g].n; c++)
                        if (nameset_contains_query(a->names, &ev->q[c]))
                            bits |= 1u << g;
                ev->allow_stamp[i] = ev->gen;
                ev->allow_groups[i] = bits;
            }
            if (!(ev->allow_groups[i] & groups))
                continue;
        }
        return a;
    }
    return NULL;
}

static bool asn_expected(const dw_rule *rule, uint32_t asn)
{
    for (size_t i = 0; i < rule->n_asn; i++)
        if (rule->asn[i] == asn)
            return true;
    return false;
}

static void trace_rebinding(const evaluator *ev, const dw_rule *rule, const char *ip,
                            const special_result *sr, bool allowed, uint32_t v)
{
    char via[80] = "";
    if (sr->via) {
        char v4[DNS_IPV6_TEXT_MAX];
        fmt_ip(sr->family, sr->judged, v4);
        snprintf(via, sizeof via, " (%s %s)", sr->via, v4);
    }
    if (sr->kind == SPECIAL_NONE)
        trace(ev, rule, "rebinding", 1, "%s%s is not in a special-purpose range", ip, via);
    else if (sr->kind == SPECIAL_SINKHOLE)
        trace(ev, rule, "rebinding", v ? 0 : 1, "%s%s is a sinkhole address, %s", ip, via,
              allowed                                   ? "allowed by rebinding.allow"
              : v == DW_V_SINKHOLE                      ? "reported as sinkhole"
              : v == DW_V_REBINDING                     ? "reported as rebinding (rebinding.sinkhole)"
                                                        : "allowed (rebinding.sinkhole: allow)");
    else if (allowed)
        trace(ev, rule, "rebinding", 1, "%s%s is in special-purpose range %s, allowed by rebinding.allow",
              ip, via, sr->range);
    else
        trace(ev, rule, "rebinding", 0, "%s%s is in special-purpose range %s", ip, via, sr->range);
}

static void trace_asn(const evaluator *ev, const dw_rule *rule, const char *ip, int rc,
                      const asn_info *ai, bool ok)
{
    char exp[256];
    size_t n = 0;
    exp[0] = '\0';
    for (size_t i = 0; i < rule->n_asn && n < sizeof exp; i++)
        n += (size_t)snprintf(exp + n, sizeof exp - n, "%sAS%u", i ? ", " : "", rule->asn[i]);
    if (rc != 1)
        trace(ev, rule, "expect.asn", 0, "%s is in no AS of the ASN database, expected %s", ip,
              exp);
    else
        trace(ev, rule, "expect.asn", ok, "%s is AS%u (%.*s), %s %s", ip, ai->number,
              ai->org ? (int)(ai->org_len > 80 ? 80 : ai->org_len) : 1, ai->org ? ai->org : "?",
              ok ? "one of" : "expected", exp);
}

/* Whether an address meets the rule's expectations (in an expected prefix, or in an
 * expected AS). Without tracing or evidence: used for the unwrapped form of disguised
 * IPv4 addresses. */
static bool expect_passes(const evaluator *ev, const dw_rule *rule, int family,
                          const uint8_t *addr)
{
    if (rule->prefixes && prefixset_lookup(rule->prefixes, family, addr, NULL, NULL))
        return true;
    asn_info ai;
    return rule->n_asn && ev->db && asn_lookup(ev->db, family, addr, &ai) == 1 &&
           asn_expected(rule, ai.number);
}

static void check_addr(const evaluator *ev, const dw_rule *rule, const eval_addr *x,
                       eval_finding *f)
{
    char ip[DNS_IPV6_TEXT_MAX];
    if (ev->trace_fn)
        fmt_ip(x->family, x->a, ip);
    const special_result sr = x->sr;
    uint32_t v = 0;
    if (rule->rebind_check) {
        bool allowed = rule->rebind_allow &&
                       (prefixset_lookup(rule->rebind_allow, x->family, x->a, NULL, NULL) ||
                        prefixset_lookup(rule->rebind_allow, sr.family, sr.judged, NULL, NULL));
        if (sr.kind == SPECIAL_REBIND && !allowed)
            v = DW_V_REBINDING;
        else if (sr.kind == SPECIAL_SINKHOLE && !allowed)
            v = rule->sinkhole == DW_SINKHOLE_REPORT       ? DW_V_SINKHOLE
                : rule->sinkhole == DW_SINKHOLE_AS_REBINDING ? DW_V_REBINDING
                                                             : 0;
        eval_evidence *e = v ? evidence(f, v, x->family, x->a) : NULL;
        if (e)
            e->range = sr.range;
        if (ev->trace_fn)
            trace_rebinding(ev, rule, ip, &sr, allowed, v);
    }

    bool want_asn = rule->n_asn > 0 && ev->db;
    bool want_pfx = rule->prefixes && prefixset_size(rule->prefixes) > 0;
    if (!want_asn && !want_pfx)
        return;
    /* An IPv4 address inside IPv6 (DNS64's NAT64 answers, IPv4-mapped, 6to4) reaches the
     * IPv4 host: it passes if either form is expected. */
    if (sr.via && expect_passes(ev, rule, sr.family, sr.judged)) {
        if (ev->trace_fn)
            trace(ev, rule, "expect", 1, "%s passes as the IPv4 address inside it (%s)", ip,
                  sr.via);
        return;
    }
    uint32_t pv = 0;
    if (want_pfx && prefixset_lookup(rule->prefixes, x->family, x->a, &pv, NULL)) {
        if (ev->trace_fn) {
            trace(ev, rule, "expect.prefixes", 1, "%s is in %s", ip,
                  pv < rule->prefixes_text.n ? rule->prefixes_text.v[pv] : "?");
            if (want_asn)
                trace(ev, rule, "expect.asn", -1, "%s already passes by expect.prefixes", ip);
        }
        return;
    }
    if (want_asn) {
        asn_info ai;
        int rc = asn_lookup(ev->db, x->family, x->a, &ai);
        bool ok = rc == 1 && asn_expected(rule, ai.number);
        if (ev->trace_fn) {
            trace_asn(ev, rule, ip, rc, &ai, ok);
            if (ok && want_pfx)
                trace(ev, rule, "expect.prefixes", -1,
                      "%s is outside the expected prefixes, but passes by expect.asn", ip);
        }
        if (ok)
            return;
        /* A special-purpose address is in no AS by nature: its rebinding or sinkhole
         * finding already says what is wrong, asn_unknown would only repeat it. */
        eval_evidence *e = rc == 1 ? evidence(f, DW_V_ASN_MISMATCH, x->family, x->a)
                           : v     ? NULL
                                   : evidence(f, DW_V_ASN_UNKNOWN, x->family, x->a);
        if (e && rc == 1)
            e->asn = ai.number;
    }
    if (want_pfx) {
        evidence(f, DW_V_PREFIX_MISMATCH, x->family, x->a);
        if (ev->trace_fn) {
            char list[256];
            trace(ev, rule, "expect.prefixes", 0, "%s is outside %s", ip,
                  join(&rule->prefixes_text, list, sizeof list));
        }
    }
}

static void bailiwick_evidence(evaluator *ev, const dw_rule *rule, const cand_info *ci,
                               const dns_msg *m, eval_finding *f)
{
    uint32_t idx = (uint32_t)(ci - ev->info);
    unsigned listed = 0, first = EVAL_NO_RR;
    for (unsigned k = 0; k < ev->n_poison; k++) {
        if (ev->poison[k].rule != idx)
            continue;
        eval_evidence *e = evidence(f, DW_V_OUT_OF_BAILIWICK, 0, NULL);
        if (e)
            e->rr = ev->poison[k].rr;
        if (!listed++)
            first = ev->poison[k].rr;
    }
    if (!listed) { /* none kept (POISON_MAX): still found, and counted */
        eval_evidence *e = evidence(f, DW_V_OUT_OF_BAILIWICK, 0, NULL);
        if (e)
            e->rr = EVAL_NO_RR;
        listed = 1;
    }
    f->n_evidence_total += ci->poison_n - listed;
    if (ev->trace_fn) {
        char owner[DNS_NAME_TEXT_MAX], tb[16];
        const dns_rr *rr = first < m->n_rr ? &m->rr[first] : NULL;
        if (!rr || dns_msg_name_text(m, rr->name_off, owner, true) < 0)
            strcpy(owner, "?");
        trace(ev, rule, "bailiwick", 0,
              "%u record%s for names the rule watches outside the question's bailiwick, "
              "the first %s %s in the %s section", ci->poison_n, ci->poison_n == 1 ? "" : "s",
              owner, rr ? dns_type_name(rr->type, tb) : "?",
              rr ? dns_section_name(rr->section) : "?");
    }
}

static bool has_rrsig(const evaluator *ev, const cand_info *ci, const dns_msg *m)
{
    for (unsigned i = 0; i < m->n_rr; i++)
        if (m->rr[i].type == DNS_T_RRSIG && rule_owns(ci, ev->rec_groups[i]))
            return true;
    return false;
}

/* ---- reasons ------------------------------------------------------------------------ */

/* Reason text is built once per finding: by hand rather than with snprintf, which was
 * most of its cost. The builder keeps snprintf's contract: the text is cut to fit and
 * always terminated, n counts the whole length (n >= cap: it was cut). */
typedef struct reason_buf {
    char *p;
    size_t cap, n;
} reason_buf;

static void rb_mem(reason_buf *b, const char *s, size_t len)
{
    if (b->n < b->cap) {
        size_t room = b->cap - 1 - b->n, k = len < room ? len : room;
        memcpy(b->p + b->n, s, k);
        b->p[b->n + k] = '\0';
    }
    b->n += len;
}

static void rb_str(reason_buf *b, const char *s) { rb_mem(b, s, strlen(s)); }

static void rb_u32(reason_buf *b, uint32_t v)
{
    char d[10];
    size_t i = sizeof d;
    do {
        d[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    rb_mem(b, d + i, sizeof d - i);
}

/* The expectations, as quoted in reasons ("AS54113, 10.0.0.0/8"), cut to fit. */
#define REASON_PART_MAX 256

static size_t fmt_expected(const dw_rule *rule, const evaluator *ev, char *out, size_t len)
{
    reason_buf b = {out, len, 0};
    out[0] = '\0';
    for (size_t i = 0; i < rule->n_asn && b.n < len; i++) {
        rb_str(&b, i ? ", AS" : "AS");
        rb_u32(&b, rule->asn[i]);
    }
    for (size_t i = 0; i < rule->prefixes_text.n && b.n < len; i++) {
        if (b.n)
            rb_mem(&b, ", ", 2);
        rb_str(&b, rule->prefixes_text.v[i]);
    }
    if (rule->n_asn && !ev->db && b.n < len)
        rb_str(&b, " (ASN checks off: no database)");
    return b.n < len ? b.n : len - 1;
}

/* What a reason writer (rules/violation.h) is given: the finding's rule and response, and
 * the first evidence item of the violation the reason names (NULL when none was kept),
 * with that item's address as text (NULL when it has none). */
typedef struct reason_ctx {
    reason_buf *b;
    const evaluator *ev;
    const dw_rule *rule;
    const pkt_info *pi;
    const eval_result *r;
    const eval_evidence *e;
    const char *ip;
    const dns_msg *m;
} reason_ctx;

/* Writes the rest of the reason after the name the victim asked. Returns false, having
 * written nothing, when the evidence it quotes was not kept: the reason then names the
 * violation without it. */
typedef bool (*reason_fn)(const reason_ctx *c);

static bool reason_asn_mismatch(const reason_ctx *c)
{
    if (!c->ip)
        return false;
    asn_info ai = {0, NULL, 0};
    char exp[REASON_PART_MAX];
    fmt_expected(c->rule, c->ev, exp, sizeof exp);
    rb_str(c->b, " answered ");
    rb_str(c->b, c->ip);
    rb_str(c->b, " (AS");
    rb_u32(c->b, c->e->asn);
    if (c->ev->db && asn_lookup(c->ev->db, c->e->family, c->e->addr, &ai) == 1 && ai.org) {
        /* as "%.*s": at most 80 bytes, and not past a NUL */
        rb_mem(c->b, " ", 1);
        rb_mem(c->b, ai.org, strnlen(ai.org, ai.org_len > 80 ? 80 : ai.org_len));
    }
    rb_str(c->b, "), expected ");
    rb_str(c->b, exp);
    return true;
}

static bool reason_asn_unknown(const reason_ctx *c)
{
    if (!c->ip)
        return false;
    char exp[REASON_PART_MAX];
    fmt_expected(c->rule, c->ev, exp, sizeof exp);
    rb_str(c->b, " answered ");
    rb_str(c->b, c->ip);
    rb_str(c->b, ", in no AS of the ASN database, expected ");
    rb_str(c->b, exp);
    return true;
}

static bool reason_prefix_mismatch(const reason_ctx *c)
{
    if (!c->ip)
        return false;
    char exp[REASON_PART_MAX];
    fmt_expected(c->rule, c->ev, exp, sizeof exp);
    rb_str(c->b, " answered ");
    rb_str(c->b, c->ip);
    rb_str(c->b, ", outside the expected ");
    rb_str(c->b, exp);
    return true;
}

static bool reason_cname_unexpected(const reason_ctx *c)
{
    const char *via = c->r->chain[c->e ? c->e->chain_index : 0];
    rb_str(c->b, " is a CNAME chain through ");
    rb_mem(c->b, via, strnlen(via, REASON_PART_MAX - 1));
    rb_str(c->b, ", not an allowed target");
    return true;
}

static bool reason_unexpected_resolver(const reason_ctx *c)
{
    char ip[DNS_IPV6_TEXT_MAX];
    fmt_ip(c->pi->ip_version, c->pi->src, ip);
    rb_str(c->b, " was answered by ");
    rb_str(c->b, ip);
    rb_str(c->b, ", not one of the expected resolvers");
    return true;
}

static bool reason_rebinding(const reason_ctx *c)
{
    if (!c->ip)
        return false;
    rb_str(c->b, " answered ");
    rb_str(c->b, c->ip);
    rb_str(c->b, ", in special-purpose range ");
    rb_str(c->b, c->e->range ? c->e->range : "?");
    rb_str(c->b, " (DNS rebinding)");
    return true;
}

static bool reason_sinkhole(const reason_ctx *c)
{
    if (!c->ip)
        return false;
    rb_str(c->b, " answered ");
    rb_str(c->b, c->ip);
    rb_str(c->b, ", a sinkhole address");
    return true;
}

static bool reason_dnssec_missing(const reason_ctx *c)
{
    rb_str(c->b, " should be DNSSEC-signed, but ");
    rb_str(c->b, c->e && c->e->range ? c->e->range : "the answer is not signed");
    return true;
}

static bool reason_ttl_exceeded(const reason_ctx *c)
{
    rb_str(c->b, " answered with TTL ");
    rb_u32(c->b, c->e ? c->e->ttl : 0);
    rb_str(c->b, ", above the maximum ");
    rb_u32(c->b, c->rule->ttl_max);
    return true;
}

static bool reason_out_of_bailiwick(const reason_ctx *c)
{
    char owner[DNS_NAME_TEXT_MAX], tb[16];
    if (!c->e || c->e->rr >= c->m->n_rr)
        return false;
    const dns_rr *rr = &c->m->rr[c->e->rr];
    if (dns_msg_name_text(c->m, rr->name_off, owner, true) < 0)
        return false;
    rb_str(c->b, " was answered with a ");
    rb_mem(c->b, owner, strnlen(owner, REASON_PART_MAX - 1));
    rb_str(c->b, " ");
    rb_str(c->b, dns_type_name(rr->type, tb));
    rb_str(c->b, " record in the ");
    rb_str(c->b, dns_section_name(rr->section));
    rb_str(c->b, " section, outside the question's bailiwick (cache poisoning)");
    return true;
}

static bool reason_txid_mismatch_flood(const reason_ctx *c)
{
    const track_report *t = c->e ? c->e->report : NULL;
    char ip[DNS_IPV6_TEXT_MAX];
    if (!t)
        return false;
    fmt_ip(c->pi->ip_version, c->pi->dst, ip);
    rb_str(c->b, ": ");
    rb_u32(c->b, (uint32_t)(t->responses > UINT32_MAX ? UINT32_MAX : t->responses));
    rb_str(c->b, " responses to ");
    rb_str(c->b, ip);
    rb_str(c->b, " matched none of its queries (");
    rb_u32(c->b, t->distinct_ids);
    rb_str(c->b, " ids, ");
    rb_u32(c->b, t->distinct_ports);
    rb_str(c->b, t->near_misses ? " ports) while a query was outstanding: a spoofing flood"
                                : " ports): a blind spoofing flood");
    return true;
}

static bool reason_conflicting_answers(const reason_ctx *c)
{
    const track_match *x = c->e ? c->e->exchange : NULL;
    if (!x)
        return false;
    rb_str(c->b, " got a second, different answer to one query: IP TTL ");
    rb_u32(c->b, x->first.ip_ttl);
    rb_str(c->b, " first, then ");
    rb_u32(c->b, x->second.ip_ttl);
    rb_str(c->b, " (an injected answer raced the real one)");
    return true;
}

static bool reason_unsolicited_response(const reason_ctx *c)
{
    const track_report *t = c->e ? c->e->report : NULL;
    char ip[DNS_IPV6_TEXT_MAX];
    if (!t)
        return false;
    fmt_ip(c->pi->ip_version, c->pi->dst, ip);
    rb_str(c->b, " was answered to ");
    rb_str(c->b, ip);
    rb_str(c->b, " without a query (");
    rb_u32(c->b, (uint32_t)(t->unsolicited > UINT32_MAX ? UINT32_MAX : t->unsolicited));
    rb_str(c->b, t->unsolicited == 1 ? " response" : " responses");
    rb_str(c->b, "), though its queries to that server are seen");
    return true;
}

static bool reason_fragment_conflict(const reason_ctx *c)
{
    const pkt_frag_conflict *fc = c->e ? c->e->frag : NULL;
    if (!fc)
        return false;
    rb_str(c->b, " came in IP fragments that disagree: from byte ");
    rb_u32(c->b, fc->diff_off);
    rb_str(c->b, " of the datagram, one fragment");
    if (fc->first.ttl) {
        rb_str(c->b, " (TTL ");
        rb_u32(c->b, fc->first.ttl);
        rb_str(c->b, ")");
    }
    rb_str(c->b, " was kept and another");
    if (fc->second.ttl) {
        rb_str(c->b, " (TTL ");
        rb_u32(c->b, fc->second.ttl);
        rb_str(c->b, ")");
    }
    rb_str(c->b, " said otherwise");
    if (fc->first.ts_us && fc->second.ts_us >= fc->first.ts_us) {
        uint64_t dt = fc->second.ts_us - fc->first.ts_us;
        rb_str(c->b, " ");
        rb_u32(c->b, (uint32_t)(dt < 10000 ? dt : dt / 1000u));
        rb_str(c->b, dt < 10000 ? " us later" : " ms later");
    }
    if (fc->late)
        rb_str(c->b, ", after the datagram was reassembled with the first");
    return true;
}

static bool reason_resolver(const reason_ctx *c, const char *what)
{
    if (!c->ip)
        return false;
    rb_str(c->b, " was asked upstream by resolver ");
    rb_str(c->b, c->ip);
    rb_str(c->b, what);
    rb_u32(c->b, c->e->distinct);
    rb_str(c->b, " distinct and ");
    rb_u32(c->b, c->e->steps);
    rb_str(c->b, " small increments in its last ");
    rb_u32(c->b, RSAMPLE_WINDOW);
    rb_str(c->b, " queries");
    return true;
}

static bool reason_resolver_port(const reason_ctx *c)
{
    return reason_resolver(c, " with predictable source ports: ");
}

static bool reason_resolver_txid(const reason_ctx *c)
{
    return reason_resolver(c, " with predictable query ids: ");
}

static const reason_fn reason_writers[DW_V_COUNT] = {
#define REASON_OF(NAME, name, reason, evidence) [DW_VI_##NAME] = reason,
    DW_VIOLATION_LIST(REASON_OF)
#undef REASON_OF
};

static void write_reason(const evaluator *ev, const cand_info *ci, const pkt_info *pi,
                         const dns_msg *m, const eval_result *r, eval_finding *f)
{
    /* The name the victim asked: the start of the chain the rule matched (the question
     * when it matched the question's chain), or the owner it matched beyond them. */
    char beyond[DNS_NAME_TEXT_MAX];
    const char *q = "?";
    if (ci->group >= 0)
        q = r->chain[r->group[ci->group].first];
    else if (ci->rr < m->n_rr &&
             dns_msg_name_text(m, m->rr[ci->rr].name_off, beyond, true) >= 0)
        q = beyond;
    reason_buf b = {f->reason, sizeof f->reason, 0};
    /* The reason names the gravest violation: the lowest DW_V_* bit (answers outside
     * their expected networks first). */
    uint32_t first = f->violations & (~f->violations + 1);
    unsigned row = dw_violation_index(first);
    reason_ctx c = {&b, ev, f->rule, pi, r, NULL, NULL, m};
    for (unsigned i = 0; i < f->n_evidence && !c.e; i++)
        if (f->evidence[i].violation == first)
            c.e = &f->evidence[i];
    char ip[DNS_IPV6_TEXT_MAX];
    if (c.e && c.e->family) {
        fmt_ip(c.e->family, c.e->addr, ip);
        c.ip = ip;
    }

    f->reason[0] = '\0';
    rb_str(&b, q);
    if (row == DW_V_COUNT || !reason_writers[row](&c)) {
        const char *name = dw_violation_name(first);
        rb_str(&b, " violates rule ");
        rb_str(&b, f->rule->id);
        rb_str(&b, ": ");
        rb_str(&b, name ? name : "(null)");
    }
    unsigned more = (unsigned)__builtin_popcount(f->violations) - 1;
    if (more && b.n > 0 && b.n < b.cap) {
        rb_str(&b, " (+");
        rb_u32(&b, more);
        rb_str(&b, more > 1 ? " more violations)" : " more violation)");
    }
}

/* ---- one response ------------------------------------------------------------------- */

/* The trace lines of the checks a rule does not configure, and of the address checks
 * when there is nothing to judge. */
static void trace_config(const evaluator *ev, const dw_rule *rule, const cand_info *ci,
                         const dns_msg *m, const eval_result *r)
{
    char rc[16];
    unsigned n = 0;
    for (unsigned i = 0; i < ev->n_addrs; i++)
        n += ci->all_addrs || rule_owns(ci, ev->addrs[i].groups);
    if (n == 0)
        trace(ev, rule, "addresses", -1, "no address in the answer%s",
              ci->all_addrs ? "" : " owned by the names the rule matched");
    else if (ci->all_addrs)
        trace(ev, rule, "addresses", 1, "%u address%s: every address of the answer section, "
              "whatever its owner, as the victim %s%s uses them%s%s", n, n == 1 ? "" : "es",
              m->has_question ? "asking for " : "(the message has no question)",
              m->has_question ? r->chain[0] : "", m->rcode ? "; response code " : "",
              m->rcode ? dns_rcode_name(m->rcode, rc) : "");
    else
        trace(ev, rule, "addresses", 1, "%u address%s owned by the chain of %s%s%s", n,
              n == 1 ? "" : "es", ci->group >= 0 ? r->chain[r->group[ci->group].first] : "an owner",
              m->rcode ? "; response code " : "", m->rcode ? dns_rcode_name(m->rcode, rc) : "");
    if (!rule->rebind_check)
        trace(ev, rule, "rebinding", -1, "rebinding.check is false");
    if (rule->n_asn == 0)
        trace(ev, rule, "expect.asn", -1, "no expect.asn");
    else if (!ev->db)
        trace(ev, rule, "expect.asn", -1, "no ASN database: ASN checks are off");
    if (!rule->prefixes || prefixset_size(rule->prefixes) == 0)
        trace(ev, rule, "expect.prefixes", -1, "no expect.prefixes");
}

/* The fragment_conflict of a reassembled message, as the rule's finding. */
static void judge_fragments(const evaluator *ev, const dw_rule *rule, const pkt_info *pi,
                            eval_finding *f)
{
    eval_evidence *e = evidence(f, DW_V_FRAGMENT_CONFLICT, 0, NULL);
    if (e)
        e->frag = pi->frag_conflict;
    if (ev->trace_fn)
        trace(ev, rule, "fragments", 0, "reassembled from IP fragments that disagree from byte %u%s",
              pi->frag_conflict->diff_off,
              pi->frag_conflict->late ? " (the second after reassembly)" : "");
}

static void judge_rule(evaluator *ev, const dw_rule *rule, const cand_info *ci,
                       const pkt_info *pi, const dns_msg *m, const eval_result *r,
                       bool query_do, bool frag_conflict, eval_finding *f)
{
    /* Addresses are judged whatever the response code: stub resolvers read only the
     * header's 4 bits (an OPT record's extended RCODE, BADVERS and the like, is ignored)
     * and the answer section is what they use. DNSSEC is judged when the header says
     * NOERROR or there are answers. */
    bool answered = DNS_RCODE(m->flags) == 0 || m->n_an > 0;
    char text[256], ip[DNS_IPV6_TEXT_MAX];

    memset(f, 0, offsetof(eval_finding, evidence));
    f->rule = rule;
    f->group = ci->group;
    if (ci->poison_only) { /* it watches a name the response carries, nothing it asked */
        bailiwick_evidence(ev, rule, ci, m, f);
        write_reason(ev, ci, pi, m, r, f);
        return;
    }

    if (rule->resolvers) {
        bool ok = prefixset_lookup(rule->resolvers, pi->ip_version, pi->src, NULL, NULL);
        if (!ok)
            evidence(f, DW_V_UNEXPECTED_RESOLVER, pi->ip_version, pi->src);
        if (ev->trace_fn) {
            fmt_ip(pi->ip_version, pi->src, ip);
            trace(ev, rule, "resolver", ok, "answered by %s, %s %s", ip,
                  ok ? "one of" : "not one of", join(&rule->resolvers_text, text, sizeof text));
        }
    } else if (ev->trace_fn) {
        trace(ev, rule, "resolver", -1, "no expect.resolvers");
    }

    if (rule->cname_allowed) {
        /* The targets after the name the rule matched: a name of ours that CNAMEs to
         * the registry (npm.corp.example -> registry.npmjs.org) is not the registry's
         * CNAME. */
        unsigned bad = 0, end = ci->group >= 0 ? r->group[ci->group].first + r->group[ci->group].n : 0;
        for (unsigned i = ci->first + 1u; ci->group >= 0 && i < end && !bad; i++)
            if (!nameset_contains_query(rule->cname_allowed, &ev->q[i])) {
                eval_evidence *e = evidence(f, DW_V_CNAME_UNEXPECTED, 0, NULL);
                if (e)
                    e->chain_index = (uint16_t)i;
                bad = i;
            }
        if (ev->trace_fn) {
            join(&rule->cname_allowed_text, text, sizeof text);
            if (bad)
                trace(ev, rule, "cname", 0, "%s is not an allowed target (%s)", r->chain[bad],
                      rule->cname_allowed_text.n ? text : "none allowed");
            else if (ci->group >= 0 && r->group[ci->group].n > 1)
                trace(ev, rule, "cname", 1, "every chain target is allowed (%s)", text);
            else
                trace(ev, rule, "cname", 1, "no CNAME or DNAME in the answer");
        }
    } else if (ev->trace_fn) {
        trace(ev, rule, "cname", -1, "no allowed_targets");
    }

    if (rule->ttl_max) {
        uint32_t worst = 0;
        bool bad = false;
        for (unsigned i = 0; i < m->n_rr && !bad; i++) {
            const dns_rr *rr = &m->rr[i];
            /* (the sensor unpacks owners only for records over the limit) */
            if ((rr->ttl <= rule->ttl_max && !ev->trace_fn) || !rule_owns(ci, ev->rec_groups[i]))
                continue;
            if (rr->ttl > worst)
                worst = rr->ttl;
            if (rr->ttl > rule->ttl_max) {
                eval_evidence *e = evidence(f, DW_V_TTL_EXCEEDED, 0, NULL);
                if (e)
                    e->ttl = rr->ttl;
                bad = true;
            }
        }
        if (ev->trace_fn)
            trace(ev, rule, "ttl", !bad, "%s TTL %u, maximum %u", bad ? "a record has" : "highest",
                  worst, rule->ttl_max);
    } else if (ev->trace_fn) {
        trace(ev, rule, "ttl", -1, "no ttl.max");
    }

    if (ev->trace_fn)
        trace_config(ev, rule, ci, m, r);
    time_t now = 0;
    if (rule->n_exceptions || ev->n_allow)
        now = ev->clock ? ev->clock() : time(NULL);
    uint32_t idx = (uint32_t)(rule - ruleset_rule(ev->rs, 0));
    for (unsigned i = 0; i < ev->n_addrs; i++) {
        if (!ci->all_addrs && !rule_owns(ci, ev->addrs[i].groups))
            continue;
        const dw_exception *ex = excused(ev, rule, r, &ev->addrs[i], now);
        const dw_allow *al = !ex && ev->n_allow ? allowed(ev, idx, r, &ev->addrs[i], now) : NULL;
        if (al) {
            if (ev->trace_fn) {
                fmt_ip(ev->addrs[i].family, ev->addrs[i].a, ip);
                trace(ev, rule, "allow", -1, "%s allowed (%s:%u): %s, until %s", ip, al->file,
                      al->line, al->reason, al->expires_text);
            }
        } else if (!ex) {
            check_addr(ev, rule, &ev->addrs[i], f);
        } else if (ev->trace_fn) {
            fmt_ip(ev->addrs[i].family, ev->addrs[i].a, ip);
            trace(ev, rule, "exception", -1, "%s excused (line %u): %s, until %s", ip,
                  ex->line, ex->reason, ex->expires_text);
        }
    }

    if (rule->dnssec == DW_DNSSEC_SIGNED && answered) {
        bool from_validator = rule->resolvers && !(f->violations & DW_V_UNEXPECTED_RESOLVER);
        const char *why = NULL;
        if (from_validator && !(m->flags & DNS_F_AD))
            why = "the validating resolver did not set AD";
        else if (query_do && !has_rrsig(ev, ci, m))
            why = "the answer carries no RRSIG although the query set DO";
        eval_evidence *e = why ? evidence(f, DW_V_DNSSEC_MISSING, 0, NULL) : NULL;
        if (e)
            e->range = why;
        if (ev->trace_fn) {
            if (why)
                trace(ev, rule, "dnssec", 0, "%s", why);
            else if (from_validator || query_do)
                trace(ev, rule, "dnssec", 1, "%s%s%s", from_validator ? "AD set by a listed resolver" : "",
                      from_validator && query_do ? "; " : "",
                      query_do ? "RRSIG present for a DO query" : "");
            else
                trace(ev, rule, "dnssec", -1, "cannot tell: no expect.resolvers to trust AD from, "
                                              "and no query with DO seen");
        }
    } else if (ev->trace_fn) {
        trace(ev, rule, "dnssec", -1, rule->dnssec == DW_DNSSEC_SIGNED
                                          ? "the response is an error without answers"
                                          : "dnssec.expect is not signed");
    }
    if (ci->poison_n)
        bailiwick_evidence(ev, rule, ci, m, f);
    else if (ev->trace_fn && m->has_question && catch_all(rule))
        trace(ev, rule, "bailiwick", -1, "a catch-all rule watches no name for poisoning");
    else if (ev->trace_fn && m->has_question)
        trace(ev, rule, "bailiwick", 1, "no record for a name the rule watches outside the "
                                        "question's bailiwick");
    if (frag_conflict)
        judge_fragments(ev, rule, pi, f);
    if (f->violations)
        write_reason(ev, ci, pi, m, r, f);
}

static void track_exchange(evaluator *ev, const pkt_info *pi, const dns_msg *m,
                           const eval_result *r);
static void add_conflicts(evaluator *ev, const pkt_info *pi, const dns_msg *m, eval_result *out);

unsigned evaluator_response(evaluator *ev, const pkt_info *pi, const dns_msg *m,
                            eval_result *out)
{
    out->n_findings = 0;
    out->findings_dropped = 0;
    out->watched = false;
    out->n_addrs = 0; /* counted only when a rule applies; never the previous response's */
    out->musl_compared = false;

    build_groups(ev, m, out);
    track_exchange(ev, pi, m, out);
    const track_match *tm = &ev->tm;
    if ((out->n_groups == 0 && ev->n_beyond == 0) || !ev->rs)
        goto tracked;

    if (++ev->gen == 0) { /* stamps wrapped: clear them once every 2^32 responses */
        memset(ev->stamp, 0, ev->n_rules * sizeof *ev->stamp);
        memset(ev->allow_stamp, 0, ev->n_allow * sizeof *ev->allow_stamp);
        ev->gen = 1;
    }
    ev->n_cand = 0;
    find_candidates(ev, m, out);
    check_bailiwick(ev, m, out);
    if (ev->n_cand == 0)
        goto tracked;
    /* Rule order as in the files, whatever order the names matched in. */
    sort_candidates(ev->cand, ev->n_cand);

    /* Fragments that disagreed: one rule's finding (eval.h), the watching rule first. */
    size_t frag_rule = SIZE_MAX;
    if (pi->frag_conflict) {
        frag_rule = 0;
        for (size_t i = 0; i < ev->n_cand; i++)
            if (!catch_all(ruleset_rule(ev->rs, ev->cand[i]))) {
                frag_rule = i;
                break;
            }
    }
    if (pi->frag_conflict && pi->frag_conflict->late) {
        /* judged when it was delivered: the conflict alone now */
        const dw_rule *rule = ruleset_rule(ev->rs, ev->cand[frag_rule]);
        const cand_info *ci = &ev->info[ev->cand[frag_rule]];
        eval_finding *f = &out->findings[0];
        memset(f, 0, offsetof(eval_finding, evidence));
        f->rule = rule;
        f->group = ci->group;
        judge_fragments(ev, rule, pi, f);
        write_reason(ev, ci, pi, m, out, f);
        out->watched = !catch_all(rule);
        out->n_findings = 1;
        return 1;
    }

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
        judge_rule(ev, rule, &ev->info[ev->cand[i]], pi, m, out, tm->found && tm->query_do,
                   i == frag_rule, f);
        if (f->violations)
            out->n_findings++;
    }
tracked:
    add_conflicts(ev, pi, m, out);
    return out->n_findings;
}

/* ---- tracking ----------------------------------------------------------------------- */

static void on_watch(void *ctx, uint32_t idx)
{
    evaluator *ev = ctx;
    if (idx >= ev->n_rules || ev->n_watching == EVAL_MAX_FINDINGS)
        return;
    for (unsigned i = 0; i < ev->n_watching; i++)
        if (ev->watching[i] == idx)
            return;
    const dw_rule *rule = ruleset_rule(ev->rs, idx);
    if (rule->except && nameset_contains_query(rule->except, &ev->q[0]))
        return;
    ev->watching[ev->n_watching++] = idx;
}

/* Matches the response against the exchanges, finds the rules watching its question
 * (their names and below, DESIGN.md "Tracking") and counts an unmatched one for each. */
static void track_exchange(evaluator *ev, const pkt_info *pi, const dns_msg *m,
                           const eval_result *r)
{
    ev->n_watching = 0;
    memset(&ev->tm, 0, sizeof ev->tm);
    if (!m->has_question || r->n_groups == 0)
        return; /* no question: no exchange to key it by */
    ev->tm = track_response(ev->tr, pi, m);
    if (ev->tm.kind != TRACK_UNMATCHED && ev->tm.kind != TRACK_CONFLICT)
        return; /* the usual case: an answer to its query, no rule to look up */
    if (ev->rs && ev->watch_any)
        nameset_match_query(ruleset_watch(ev->rs), &ev->q[0], on_watch, ev);
    sort_candidates(ev->watching, ev->n_watching);
    if (ev->tm.kind != TRACK_UNMATCHED)
        return;
    track_unmatched(ev->tr, &ev->tm, pi, ev->n_watching > 0);
    if (!ev->tm.pair)
        return;
    for (unsigned i = 0; i < ev->n_watching; i++)
        track_note(ev->tr, &ev->tm, ev->watching[i], ruleset_rule(ev->rs, ev->watching[i])->id,
                   pi, m);
}

/* A conflicting second answer: a finding of every rule watching the question, merged
 * into the rule's finding of this response if it has one. */
static void add_conflicts(evaluator *ev, const pkt_info *pi, const dns_msg *m, eval_result *out)
{
    if (ev->tm.kind != TRACK_CONFLICT || !ev->tm.conflict_new)
        return;
    for (unsigned i = 0; i < ev->n_watching; i++) {
        const dw_rule *rule = ruleset_rule(ev->rs, ev->watching[i]);
        eval_finding *f = NULL;
        for (unsigned k = 0; k < out->n_findings && !f; k++)
            if (out->findings[k].rule == rule)
                f = &out->findings[k];
        if (!f) {
            if (out->n_findings == EVAL_MAX_FINDINGS) {
                out->findings_dropped++;
                continue;
            }
            f = &out->findings[out->n_findings++];
            memset(f, 0, offsetof(eval_finding, evidence));
            f->rule = rule;
            f->group = 0;
        }
        eval_evidence *e = evidence(f, DW_V_CONFLICTING_ANSWERS, 0, NULL);
        if (e)
            e->exchange = &ev->tm;
        cand_info ci = {.groups = 1u, .all_addrs = true, .first = 0, .group = f->group};
        write_reason(ev, &ci, pi, m, out, f);
        out->watched = true;
    }
}

typedef struct expire_ctx {
    evaluator *ev;
    dns_msg *scratch;
    eval_result *out;
    const eval_incident_sink *sink;
} expire_ctx;

/* The rule an incident was opened for, if the ruleset (reloaded since, perhaps) still
 * has it. */
static const dw_rule *incident_rule(const evaluator *ev, const track_report *rep)
{
    if (!ev->rs)
        return NULL;
    if (rep->rule < ev->n_rules &&
        strncmp(ruleset_rule(ev->rs, rep->rule)->id, rep->rule_id, RULE_ID_COPY_MAX - 1) == 0)
        return ruleset_rule(ev->rs, rep->rule);
    for (size_t i = 0; i < ev->n_rules; i++)
        if (strncmp(ruleset_rule(ev->rs, i)->id, rep->rule_id, RULE_ID_COPY_MAX - 1) == 0)
            return ruleset_rule(ev->rs, i);
    return NULL;
}

static void on_report(void *ctx, const track_report *rep)
{
    expire_ctx *x = ctx;
    evaluator *ev = x->ev;
    const dw_rule *rule = incident_rule(ev, rep);
    if (rep->held_back) {
        if (x->sink->held_back)
            x->sink->held_back(x->sink->ctx, rep, rule);
        return;
    }
    if (!rule || !rep->msg_len || !x->sink->alert ||
        dns_parse(x->scratch, rep->msg, rep->msg_len, NULL) != 0)
        return; /* (a message the worker parsed once parses again) */
    eval_result *out = x->out;
    const dns_msg *m = x->scratch;
    out->n_findings = 0;
    out->findings_dropped = 0;
    out->watched = true;
    out->n_addrs = 0;
    out->musl_compared = false;
    build_groups(ev, m, out);
    eval_finding *f = &out->findings[0];
    memset(f, 0, offsetof(eval_finding, evidence));
    f->rule = rule;
    f->group = out->n_groups ? 0 : -1;
    for (unsigned i = 0; i < DW_V_COUNT; i++) {
        eval_evidence *e = (rep->violations & (1u << i)) ? evidence(f, 1u << i, 0, NULL) : NULL;
        if (e)
            e->report = rep;
    }
    cand_info ci = {.groups = 1u, .all_addrs = true, .first = 0, .group = f->group};
    write_reason(ev, &ci, &rep->pi, m, out, f);
    out->n_findings = 1;
    x->sink->alert(x->sink->ctx, &rep->pi, m, out);
}

void evaluator_expire(evaluator *ev, uint64_t now_us, dns_msg *scratch, eval_result *out,
                      const eval_incident_sink *sink)
{
    expire_ctx x = {ev, scratch, out, sink};
    track_expire(ev->tr, now_us, on_report, &x);
}

void evaluator_set_asn_db(evaluator *ev, const asn_db *db) { ev->db = db; }



/* The evidence of a predictable resolver. */
static void resolver_evidence(eval_finding *f, uint32_t v, const pkt_info *pi,
                              const rsample_stat *st, uint32_t bad_windows,
                              const uint16_t last[RSAMPLE_SHOW])
{
    eval_evidence *e = evidence(f, v, pi->ip_version == 6 ? 6 : 4, pi->src);
    if (!e)
        return;
    e->distinct = st->distinct;
    e->steps = st->steps;
    e->bad_windows = bad_windows;
    memcpy(e->last, last, sizeof e->last);
}

unsigned evaluator_resolver_query(evaluator *ev, const pkt_info *pi, const dns_msg *m,
                                  eval_result *out)
{
    out->n_findings = 0;
    out->findings_dropped = 0;
    out->watched = false;
    out->n_addrs = 0;
    out->musl_compared = false;
    out->n_chain = out->n_groups = 0;
    /* UDP only: a TCP connection's port is the kernel's choice, not the resolver's. */
    if (!ev->any_resolvers || !ev->rs || pi->proto != 17)
        return 0;
    const dw_rule *rule = NULL;
    for (size_t i = 0; i < ev->n_res_rules && !rule; i++) {
        const dw_rule *x = ruleset_rule(ev->rs, ev->res_rules[i]);
        if (x->resolvers && prefixset_lookup(x->resolvers, pi->ip_version, pi->src, NULL, NULL))
            rule = x;
    }
    rsample_verdict v;
    if (!rule || !rsample_query(ev->sample, pi->ip_version, pi->src, pi->sport, m->id,
                                pi->ts_us, &v))
        return 0;
    build_groups(ev, m, out); /* the question, for the reason and the event */
    cand_info ci = {.groups = out->n_groups ? 1u : 0u, .all_addrs = false, .first = 0, .group = out->n_groups ? 0 : -1};
    eval_finding *f = &out->findings[0];
    memset(f, 0, offsetof(eval_finding, evidence));
    f->rule = rule;
    f->group = ci.group;
    if (v.report_port)
        resolver_evidence(f, DW_V_RESOLVER_PORT_PREDICTABLE, pi, &v.port, v.bad_windows_port,
                          v.last_ports);
    if (v.report_id)
        resolver_evidence(f, DW_V_RESOLVER_TXID_PREDICTABLE, pi, &v.id, v.bad_windows_id,
                          v.last_ids);
    write_reason(ev, &ci, pi, m, out, f);
    out->watched = true;
    out->n_findings = 1;
    return 1;
}
