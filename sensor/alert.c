#include "sensor/alert.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "decoders/dns_present.h"
#include "rules/prefixset.h"
#include "sensor/attack.h"
#include "sensor/suppress.h"

/* The members of an alert's "dnswatch" object that depend on the rule alone
 * ("severity", "expected"), and those of its "rule" object (metadata) and top level
 * ("threat") likewise, encoded once and copied into every alert of the rule: they
 * were a fifth of the work of an alert. A slot is found by the rule's address and taken
 * only if the ruleset hash and the rule id match too: the hash covers every byte of
 * every rule file, so a rule of another (reloaded) ruleset that happens to get the same
 * address can only hit if it is the same rule. */
#define FRAG_SLOTS 64
typedef struct rule_frag {
    const dw_rule *rule; /* NULL: empty */
    char hash[RULESET_HASH_TEXT_MAX];
    char id[RULE_ID_COPY_MAX];
    json_buf text;       /* the members, comma-separated, no braces */
    json_buf rule_text;  /* members of "rule" after id, name, ruleset ("{}" when none) */
    json_buf top_text;   /* top-level members: "threat" ("{}" when none) */
} rule_frag;

struct alerter {
    const asn_db *db;
    suppress *fold;
    rule_frag frag[FRAG_SLOTS];
};

alerter *alerter_new(const asn_db *db, unsigned fold_window_ms, unsigned fold_entries)
{
    alerter *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    a->db = db;
    for (size_t i = 0; i < FRAG_SLOTS; i++) {
        json_init(&a->frag[i].text);
        json_init(&a->frag[i].rule_text);
        json_init(&a->frag[i].top_text);
    }
    a->fold = suppress_new(fold_entries ? fold_entries : 4096, fold_window_ms);
    if (!a->fold) {
        free(a);
        return NULL;
    }
    return a;
}

void alerter_free(alerter *a)
{
    if (!a)
        return;
    suppress_free(a->fold);
    for (size_t i = 0; i < FRAG_SLOTS; i++) {
        json_free(&a->frag[i].text);
        json_free(&a->frag[i].rule_text);
        json_free(&a->frag[i].top_text);
    }
    free(a);
}

void alerter_set_asn_db(alerter *a, const asn_db *db) { a->db = db; }

/* ASN lookups of one response: the same addresses appear in the findings and in the
 * answers of every alert the response raises, and a lookup costs ~500 instructions. */
#define AS_MEMO_MAX 16
typedef struct as_memo {
    unsigned n, next;
    struct {
        int family;
        int rc;
        uint8_t addr[16];
        asn_info ai;
    } e[AS_MEMO_MAX];
} as_memo;

typedef struct alert_ctx {
    alerter *a;
    event_encoder *enc; /* its limits bound what write_dnswatch shows; related.ip */
    const eval_result *r;
    const eval_finding *f;
    as_memo *memo;
    const char *ruleset_hash;
    const dns_msg *m;         /* the response (out_of_bailiwick evidence names its records) */
} alert_ctx;

static int memo_lookup(as_memo *mo, const asn_db *db, int family, const uint8_t *addr,
                       asn_info *ai)
{
    size_t alen = family == 6 ? 16 : 4;
    for (unsigned i = 0; i < mo->n; i++)
        if (mo->e[i].family == family && memcmp(mo->e[i].addr, addr, alen) == 0) {
            *ai = mo->e[i].ai;
            return mo->e[i].rc;
        }
    int rc = asn_lookup(db, family, addr, ai);
    unsigned i = mo->n < AS_MEMO_MAX ? mo->n++ : mo->next++ % AS_MEMO_MAX;
    mo->e[i].family = family;
    mo->e[i].rc = rc;
    memcpy(mo->e[i].addr, addr, alen);
    mo->e[i].ai = *ai;
    return rc;
}

/* Expectations listed in an alert: at most this many items each, then a count, so a rule
 * expecting 100 000 prefixes does not make every alert a megabyte. */
#define EXPECTED_LIST_MAX 32

static void write_strlist(json_buf *j, const char *key, const dw_strlist *l)
{
    if (l->n == 0)
        return;
    json_key(j, key);
    json_arr_begin(j);
    for (size_t i = 0; i < l->n && i < EXPECTED_LIST_MAX; i++)
        json_str(j, l->v[i]);
    json_arr_end(j);
    if (l->n > EXPECTED_LIST_MAX) {
        char total[64];
        snprintf(total, sizeof total, "%s_total", key);
        json_kv_u64(j, total, l->n);
    }
}

static void write_as(json_buf *j, const alert_ctx *c, int family, const uint8_t *addr)
{
    asn_info ai = {0, NULL, 0};
    if (!c->a->db || memo_lookup(c->memo, c->a->db, family, addr, &ai) != 1)
        return;
    json_key(j, "as");
    json_obj_begin(j);
    json_kv_u64(j, "number", ai.number);
    if (ai.org) {
        json_key(j, "organization");
        json_obj_begin(j);
        json_key(j, "name");
        json_strn(j, ai.org, ai.org_len);
        json_obj_end(j);
    }
    json_obj_end(j);
}

static void write_violations(json_buf *j, uint32_t v)
{
    const char *names[DW_V_COUNT];
    size_t n = dw_violation_names(v, names);
    json_key(j, "violations");
    json_arr_begin(j);
    for (size_t i = 0; i < n; i++)
        json_str(j, names[i]);
    json_arr_end(j);
}

/* An evidence writer (rules/violation.h): the members of one dnswatch.findings item after
 * its "violation", from the eval_evidence fields its violation's check fills. */
typedef void (*evidence_fn)(json_buf *j, const alert_ctx *c, const eval_evidence *e);

/* An offending address, with its AS. */
static void evidence_address(json_buf *j, const alert_ctx *c, const eval_evidence *e)
{
    char ip[DNS_IPV6_TEXT_MAX];
    if (!e->family)
        return;
    event_format_ip(e->family, e->addr, ip);
    json_kv_str(j, "ip", ip);
    write_as(j, c, e->family, e->addr);
    event_encoder_add_related(c->enc, e->family, e->addr);
}

/* An address in a special-purpose range, with the range. */
static void evidence_special(json_buf *j, const alert_ctx *c, const eval_evidence *e)
{
    evidence_address(j, c, e);
    if (e->range)
        json_kv_str(j, "range", e->range);
}

/* The chain name that is not an allowed target. */
static void evidence_chain_name(json_buf *j, const alert_ctx *c, const eval_evidence *e)
{
    json_kv_str(j, "name", c->r->chain[e->chain_index]);
}

/* Why the answer is taken as unsigned. */
static void evidence_detail(json_buf *j, const alert_ctx *c, const eval_evidence *e)
{
    (void)c;
    if (e->range)
        json_kv_str(j, "detail", e->range);
}

/* The TTL over the rule's maximum. */
static void evidence_ttl(json_buf *j, const alert_ctx *c, const eval_evidence *e)
{
    (void)c;
    json_kv_u64(j, "ttl", e->ttl);
}

/* Record data in a finding: at most this many characters (the record itself is in
 * dns.answers/authorities/additionals, whole while the event's limits allow). */
#define EVIDENCE_DATA_MAX 256

/* A record outside the question's bailiwick: its section, owner, type and data. */
static void evidence_record(json_buf *j, const alert_ctx *c, const eval_evidence *e)
{
    char owner[DNS_NAME_TEXT_MAX], data[EVIDENCE_DATA_MAX + 1], tb[16];
    if (e->rr >= c->m->n_rr)
        return; /* only counted */
    const dns_rr *rr = &c->m->rr[e->rr];
    json_kv_str(j, "section", dns_section_name(rr->section));
    int n = dns_msg_name_text(c->m, rr->name_off, owner, false);
    json_key(j, "name");
    if (n < 0)
        json_null(j);
    else
        json_strn(j, owner, (size_t)n);
    json_kv_str(j, "type", dns_type_name(rr->type, tb));
    uint8_t a[16];
    int alen = dns_rr_addr(c->m, rr, a);
    if (alen) { /* glue or an answer pointing elsewhere: an offending address */
        event_format_ip(alen == 16 ? 6 : 4, a, data);
        event_encoder_add_related(c->enc, alen == 16 ? 6 : 4, a);
    } else if (dns_rdata_text(c->m, rr, data, sizeof data) < 0 && !data[0])
        strcpy(data, "?"); /* (cut to fit, or the RFC 3597 form of malformed data) */
    json_kv_str(j, "data", data);
}

/* Packet time as ECS writes @timestamp (microseconds, UTC). */
static void write_time(json_buf *j, const char *key, uint64_t us)
{
    char text[64];
    struct tm tm;
    time_t t = (time_t)(us / 1000000u);
    if (!gmtime_r(&t, &tm))
        return;
    snprintf(text, sizeof text, "%04d-%02d-%02dT%02d:%02d:%02d.%06uZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned)(us % 1000000u));
    json_kv_str(j, key, text);
}

/* One response of an exchange or an incident: when, from which IP TTL, with which id and
 * ports, and what it answered. */
static void write_response(json_buf *j, const alert_ctx *c, const char *key,
                           const track_response_info *r)
{
    char ip[DNS_IPV6_TEXT_MAX], rc[16];
    if (key)
        json_key(j, key);
    json_obj_begin(j);
    write_time(j, "time", r->ts_us);
    json_kv_u64(j, "ip_ttl", r->ip_ttl);
    json_kv_u64(j, "id", r->id);
    json_kv_u64(j, "client_port", r->client_port);
    json_kv_u64(j, "server_port", r->server_port);
    json_kv_str(j, "response_code", dns_rcode_name(r->rcode, rc));
    json_kv_u64(j, "answers", r->n_answers);
    if (r->family) {
        event_format_ip(r->family, r->addr, ip);
        json_kv_str(j, "ip", ip);
        write_as(j, c, r->family, r->addr);
        event_encoder_add_related(c->enc, r->family, r->addr);
    }
    json_obj_end(j);
}

/* A flood or unsolicited incident: one alert per rule, client and window, with its
 * counts and the first forged responses. */
static void evidence_flood(json_buf *j, const alert_ctx *c, const eval_evidence *e)
{
    const track_report *t = e->report;
    if (!t)
        return;
    json_kv_str(j, "form", e->violation == DW_V_UNSOLICITED_RESPONSE ? "unsolicited"
                           : t->near_misses                          ? "near_miss"
                                                                     : "blind");
    write_time(j, "first_seen", t->first_us);
    write_time(j, "last_seen", t->last_us);
    json_kv_u64(j, "window_s", t->window_us / 1000000u);
    json_kv_u64(j, "responses", t->responses);
    json_kv_u64(j, "near_misses", t->near_misses);
    json_kv_u64(j, "unsolicited", t->unsolicited);
    json_kv_u64(j, "distinct_ids", t->distinct_ids);
    json_kv_u64(j, "distinct_ports", t->distinct_ports);
    json_key(j, "sample");
    json_arr_begin(j);
    for (unsigned i = 0; i < t->n_samples; i++)
        write_response(j, c, NULL, &t->sample[i]);
    json_arr_end(j);
}

/* Two different answers to one exchange: both, the earlier first. */
static void evidence_conflict(json_buf *j, const alert_ctx *c, const eval_evidence *e)
{
    const track_match *x = e->exchange;
    if (!x)
        return;
    write_time(j, "query_time", x->query_us);
    write_response(j, c, "first_response", &x->first);
    write_response(j, c, "second_response", &x->second);
    json_kv_u64(j, "gap_us", x->second.ts_us >= x->first.ts_us ? x->second.ts_us - x->first.ts_us : 0);
}

/* One fragment of a conflict: where it lay in the IP payload, when it came, its TTL. */
static void write_piece(json_buf *j, const char *key, const pkt_frag_piece *p)
{
    json_key(j, key);
    json_obj_begin(j);
    json_kv_u64(j, "offset", p->off);
    json_kv_u64(j, "length", p->len);
    if (p->ts_us) {
        char t[40];
        event_format_time(p->ts_us, t);
        json_kv_str(j, "time", t);
    }
    if (p->ttl)
        json_kv_u64(j, "ttl", p->ttl);
    json_obj_end(j);
}

/* Fragments that disagreed: the one whose bytes were kept (first) and the one that said
 * otherwise (second), the first differing byte, and whether the second came after the
 * datagram was reassembled. */
static void evidence_fragments(json_buf *j, const alert_ctx *c, const eval_evidence *e)
{
    (void)c;
    const pkt_frag_conflict *fc = e->frag;
    if (!fc)
        return;
    json_kv_u64(j, "differs_at", fc->diff_off);
    json_key(j, "after_reassembly");
    json_bool(j, fc->late);
    json_kv_u64(j, "conflicting_fragments", fc->count);
    write_piece(j, "first", &fc->first);
    write_piece(j, "second", &fc->second);
}

/* A resolver's window of upstream queries: how many distinct values, how many small
 * increments, the last values, and the bad windows since the last alert. */
static void evidence_resolver_sample(json_buf *j, const alert_ctx *c, const eval_evidence *e)
{
    char ip[DNS_IPV6_TEXT_MAX];
    (void)c;
    event_format_ip(e->family, e->addr, ip);
    json_kv_str(j, "resolver", ip);
    json_kv_u64(j, "sample_size", RSAMPLE_WINDOW); /* not "sample": the flood's sample[] */
    json_kv_u64(j, "distinct", e->distinct);
    json_kv_u64(j, "sequential_steps", e->steps);
    json_kv_u64(j, "bad_windows", e->bad_windows);
    json_key(j, e->violation == DW_V_RESOLVER_PORT_PREDICTABLE ? "last_ports" : "last_ids");
    json_arr_begin(j);
    for (unsigned i = 0; i < RSAMPLE_SHOW; i++)
        json_u64(j, e->last[i]);
    json_arr_end(j);
}

static const evidence_fn evidence_writers[DW_V_COUNT] = {
#define EVIDENCE_OF(NAME, name, reason, evidence) [DW_VI_##NAME] = evidence,
    DW_VIOLATION_LIST(EVIDENCE_OF)
#undef EVIDENCE_OF
};

static void write_rule_members(json_buf *j, const dw_rule *rule)
{
    static const char *const sev[] = {"low", "medium", "high", "critical"};
    json_kv_str(j, "severity", sev[rule->severity & 3]);
    json_key(j, "expected");
    json_obj_begin(j);
    if (rule->n_asn) {
        json_key(j, "asn");
        json_arr_begin(j);
        for (size_t i = 0; i < rule->n_asn; i++)
            json_u64(j, rule->asn[i]);
        json_arr_end(j);
    }
    write_strlist(j, "prefixes", &rule->prefixes_text);
    write_strlist(j, "resolvers", &rule->resolvers_text);
    if (rule->cname_allowed) {
        if (rule->cname_allowed_text.n) {
            write_strlist(j, "cname_targets", &rule->cname_allowed_text);
        } else { /* allowed_targets: [] - none allowed */
            json_key(j, "cname_targets");
            json_arr_begin(j);
            json_arr_end(j);
        }
    }
    if (rule->ttl_max)
        json_kv_u64(j, "ttl_max", rule->ttl_max);
    json_obj_end(j);
}

/* The rule's metadata as members of the alert's "rule" object (ECS rule.*), after the
 * id, name (title) and ruleset the encoder writes. The one place rule metadata reaches
 * an event: rule.description, rule.reference[] (the rule's `references`), rule.author[]
 * and rule.version come from the dw_rule fields description, references/n_references,
 * author and version (unsigned, 0: not written) that the loader fills from the rule's
 * keys of those names (DESIGN.md "Allow documents and rule metadata"). */
static void write_rule_metadata(json_buf *j, const dw_rule *rule)
{
    if (rule->description)
        json_kv_str(j, "description", rule->description);
    if (rule->n_references) {
        json_key(j, "reference");
        json_arr_begin(j);
        for (size_t i = 0; i < rule->n_references; i++)
            json_str(j, rule->references[i]);
        json_arr_end(j);
    }
    if (rule->author) {
        json_key(j, "author");
        json_arr_begin(j);
        json_str(j, rule->author);
        json_arr_end(j);
    }
    if (rule->version) { /* ECS rule.version is a keyword */
        char v[16];
        snprintf(v, sizeof v, "%u", rule->version);
        json_kv_str(j, "version", v);
    }
}

/* The rule's top-level members: threat.* from its ATT&CK tags. */
static void write_rule_top(json_buf *j, const dw_rule *rule)
{
    attack_write_threat(j, rule->tags.v, rule->tags.n);
}

/* text = {members fn writes}; false when memory ran out. */
static bool frag_build(json_buf *t, void (*fn)(json_buf *, const dw_rule *), const dw_rule *rule)
{
    json_reset(t);
    json_obj_begin(t);
    fn(t, rule);
    json_obj_end(t);
    return !t->oom && t->len >= 2;
}

/* Members built by frag_build, written into the open object of j. */
static void frag_put(json_buf *j, const json_buf *t)
{
    if (t->len > 2) /* "{}": none */
        json_raw(j, t->p + 1, t->len - 2);
}

/* The rule's members as text (see rule_frag), or NULL when they cannot be kept (an id
 * or hash too long for a slot, or no memory): then they are written directly. */
static const rule_frag *rule_members(alerter *a, const dw_rule *rule, const char *hash)
{
    rule_frag *fr = &a->frag[((uintptr_t)rule >> 4) % FRAG_SLOTS];
    if (fr->rule == rule && strcmp(fr->hash, hash) == 0 && strcmp(fr->id, rule->id) == 0)
        return fr;
    fr->rule = NULL;
    if (strlen(hash) >= sizeof fr->hash || strlen(rule->id) >= sizeof fr->id)
        return NULL;
    if (!frag_build(&fr->text, write_rule_members, rule) ||
        !frag_build(&fr->rule_text, write_rule_metadata, rule) ||
        !frag_build(&fr->top_text, write_rule_top, rule))
        return NULL;
    strcpy(fr->hash, hash);
    strcpy(fr->id, rule->id);
    fr->rule = rule;
    return fr;
}

static void write_dnswatch(void *ctx, json_buf *j)
{
    const alert_ctx *c = ctx;
    const eval_finding *f = c->f;
    const dw_rule *rule = f->rule;

    write_violations(j, f->violations);
    const rule_frag *fr = rule_members(c->a, rule, c->ruleset_hash);
    if (fr) /* as the members after the violations: the raw text gets their comma */
        json_raw(j, fr->text.p + 1, fr->text.len - 2);
    else
        write_rule_members(j, rule);

    /* The chain through which the rule applied: the question's, or an answer owner's
     * (eval.h); none for an owner beyond the chains kept. Under tight limits the chain
     * keeps its head (the question) and its end (what the victim reached);
     * cname_chain_total then says how long it was. */
    const event_limits *lim = event_encoder_limits(c->enc);
    unsigned first = 0, n_chain = 0;
    if (f->group >= 0 && (unsigned)f->group < c->r->n_groups) {
        first = c->r->group[f->group].first;
        n_chain = c->r->group[f->group].n;
    }
    unsigned head = n_chain;
    if (n_chain > lim->chain)
        head = lim->chain > 1 ? lim->chain - 1 : 1;
    json_key(j, "cname_chain");
    json_arr_begin(j);
    for (unsigned i = 0; i < head; i++)
        json_str(j, c->r->chain[first + i]);
    if (head < n_chain)
        json_str(j, c->r->chain[first + n_chain - 1]);
    json_arr_end(j);
    if (head < n_chain)
        json_kv_u64(j, "cname_chain_total", n_chain);

    json_key(j, "findings");
    json_arr_begin(j);
    for (unsigned i = 0; i < f->n_evidence && i < lim->findings; i++) {
        const eval_evidence *e = &f->evidence[i];
        json_obj_begin(j);
        json_kv_str(j, "violation", dw_violation_name(e->violation));
        unsigned row = dw_violation_index(e->violation);
        if (row < DW_V_COUNT)
            evidence_writers[row](j, c, e);
        json_obj_end(j);
    }
    json_arr_end(j);
}

/* rule.category: the class of attack the gravest violation of an alert points to, by
 * the violation's name (rules/violation.h); a violation not listed is a "DNS anomaly". */
static const char *violation_category(uint32_t violations)
{
    static const struct {
        const char *violation, *category;
    } classes[] = {
        {"asn_mismatch", "DNS hijacking"},
        {"asn_unknown", "DNS hijacking"},
        {"prefix_mismatch", "DNS hijacking"},
        {"cname_unexpected", "DNS hijacking"},
        {"unexpected_resolver", "DNS hijacking"},
        {"rebinding", "DNS rebinding"},
        {"sinkhole", "DNS sinkhole"},
        {"dnssec_missing", "DNSSEC validation"},
        {"ttl_exceeded", "DNS policy"},
        {"txid_mismatch_flood", "DNS cache poisoning"},
        {"conflicting_answers", "DNS cache poisoning"},
        {"unsolicited_response", "DNS cache poisoning"},
        {"out_of_bailiwick", "DNS cache poisoning"},
        {"fragment_conflict", "DNS cache poisoning"},
        {"resolver_port_predictable", "DNS cache poisoning"},
        {"resolver_txid_predictable", "DNS cache poisoning"},
    };
    const char *name = violations ? dw_violation_name(violations & -violations) : NULL;
    for (size_t i = 0; name && i < sizeof classes / sizeof classes[0]; i++)
        if (strcmp(classes[i].violation, name) == 0)
            return classes[i].category;
    return "DNS anomaly";
}

static void write_rule(void *ctx, json_buf *j)
{
    const alert_ctx *c = ctx;
    json_kv_str(j, "category", violation_category(c->f->violations));
    const rule_frag *fr = rule_members(c->a, c->f->rule, c->ruleset_hash);
    if (fr)
        frag_put(j, &fr->rule_text);
    else
        write_rule_metadata(j, c->f->rule);
}

static void write_top(void *ctx, json_buf *j)
{
    const alert_ctx *c = ctx;
    const rule_frag *fr = rule_members(c->a, c->f->rule, c->ruleset_hash);
    if (fr)
        frag_put(j, &fr->top_text);
    else
        write_rule_top(j, c->f->rule);
}

/* Records that are evidence: those outside the question's bailiwick; in the answer
 * section also every record that is not an address (the CNAME/DNAME chain, odd types)
 * and the addresses among the finding's offending items. */
static bool answer_matters(void *ctx, const dns_msg *m, const dns_rr *rr)
{
    const alert_ctx *c = ctx;
    if (c->f->violations & DW_V_OUT_OF_BAILIWICK) {
        size_t i = (size_t)(rr - m->rr);
        for (unsigned k = 0; k < c->f->n_evidence; k++)
            if (c->f->evidence[k].violation == DW_V_OUT_OF_BAILIWICK &&
                c->f->evidence[k].rr == i)
                return true;
    }
    if (rr->section != DNS_SEC_ANSWER)
        return false;
    uint8_t a[16];
    int n = dns_rr_addr(m, rr, a);
    if (n == 0)
        return true;
    int family = n == 16 ? 6 : 4;
    for (unsigned i = 0; i < c->f->n_evidence; i++) {
        const eval_evidence *e = &c->f->evidence[i];
        if (e->family == family && memcmp(e->addr, a, (size_t)n) == 0)
            return true;
    }
    return false;
}

static void write_answer(void *ctx, json_buf *j, const dns_msg *m, const dns_rr *rr)
{
    const alert_ctx *c = ctx;
    uint8_t a[16];
    int n = dns_rr_addr(m, rr, a);
    if (n)
        write_as(j, c, n == 16 ? 6 : 4, a);
}

/* Identity of an alert for folding: rule, question, violations and the answer set
 * (order-independent: the per-answer hashes are summed). */
static uint64_t fold_key(const eval_finding *f, const eval_result *r, const dns_msg *m)
{
    uint64_t h = suppress_hash(0, f->rule->id, strlen(f->rule->id) + 1);
    if (f->violations == DW_V_OUT_OF_BAILIWICK) {
        /* An injection flood asks a fresh name each time (the Kaminsky attack) and
         * carries the same forged records: they are its identity, not the question. */
        uint64_t recs = 0;
        for (unsigned k = 0; k < f->n_evidence; k++) {
            uint8_t w[DNS_NAME_MAX];
            const eval_evidence *e = &f->evidence[k];
            const dns_rr *rr = e->rr < m->n_rr ? &m->rr[e->rr] : NULL;
            int n = rr ? dns_msg_name_unpack(m, rr->name_off, w, NULL) : -1;
            if (n < 0 || rr->rdata_off + rr->rdlen > m->len)
                continue;
            for (int i = 0; i < n; i++) /* case folded (length bytes are <= 63) */
                w[i] = (uint8_t)((unsigned)w[i] - 'A' < 26u ? w[i] + 32 : w[i]);
            uint64_t x = suppress_hash(suppress_hash(0, w, (size_t)n), &rr->type, sizeof rr->type);
            recs += suppress_hash(x, m->buf + rr->rdata_off, rr->rdlen);
        }
        h = suppress_hash(h, &f->violations, sizeof f->violations);
        return suppress_hash(h, &recs, sizeof recs);
    }
    if (r->n_chain)
        h = suppress_hash(h, r->chain[0], strlen(r->chain[0]) + 1);
    h = suppress_hash(h, &f->violations, sizeof f->violations);
    uint64_t answers = 0;
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        if (rr->section == DNS_SEC_ANSWER && rr->rdata_off + rr->rdlen <= m->len)
            answers += suppress_hash(suppress_hash(0, &rr->type, sizeof rr->type),
                                     m->buf + rr->rdata_off, rr->rdlen);
    }
    return suppress_hash(h, &answers, sizeof answers);
}

typedef struct summary_ctx {
    event_encoder *enc;
    alert_emit_fn fn;
    void *ctx;
} summary_ctx;

static void on_summary(void *ctx, const suppress_summary *s)
{
    const summary_ctx *sc = ctx;
    const suppress_note *no = s->note;
    const char *names[DW_V_COUNT];
    const char *atype[SUPPRESS_ANSWERS], *adata[SUPPRESS_ANSWERS];
    const char *clients[SUPPRESS_CLIENTS];
    char tbuf[SUPPRESS_ANSWERS + 1][16], ip[SUPPRESS_CLIENTS][DNS_IPV6_TEXT_MAX];
    size_t len, n = dw_violation_names(s->violations, names);
    for (unsigned i = 0; i < no->n_answers; i++) {
        atype[i] = dns_type_name(no->answers[i].type, tbuf[i]);
        adata[i] = no->answers[i].data;
    }
    for (unsigned i = 0; i < no->n_clients; i++) {
        event_format_ip(no->clients[i].family, no->clients[i].addr, ip[i]);
        clients[i] = ip[i];
    }
    event_summary es = {
        .first_us = s->first_us,
        .last_us = s->last_us,
        .rule_id = s->rule_id,
        .rule_name = no->rule_name,
        .rule_category = violation_category(s->violations),
        .reason = s->reason,
        .first_id = no->first_id,
        .severity = s->severity,
        .violations = names,
        .n_violations = n,
        .folded = s->folded,
        .question = no->question[0] ? no->question : NULL,
        .qtype = no->question[0] ? dns_type_name(no->qtype, tbuf[SUPPRESS_ANSWERS]) : NULL,
        .answer_type = atype,
        .answer_data = adata,
        .n_answers = no->n_answers,
        .answers_total = no->answers_total,
        .clients = clients,
        .n_clients = no->n_clients,
        .clients_unlisted = no->clients_unlisted,
    };
    const char *line = event_encode_summary(sc->enc, &es, &len);
    if (line)
        sc->fn(sc->ctx, line, len);
}

/* The client of a message: the destination of a response, the source of anything else
 * (as event.c's client.ip). */
static void client_of(const pkt_info *pi, const dns_msg *m, int *family, const uint8_t **addr)
{
    *family = pi->ip_version == 6 ? 6 : 4;
    *addr = (m->flags & DNS_F_QR) ? pi->dst : pi->src;
}

static void copy_cut(char *dst, size_t size, const char *src)
{
    size_t n = strnlen(src, size - 1);
    memcpy(dst, src, n);
    dst[n] = '\0';
}

_Static_assert(sizeof ((suppress_note *)0)->answers[0].data >= DNS_IPV6_TEXT_MAX,
               "a fold summary keeps an address answer whole");

/* What a new fold window keeps for its summary (suppress.h): the alert just written. */
static void fill_note(suppress_note *no, const event_encoder *enc, const dw_rule *rule,
                      const dns_msg *m, const eval_result *r)
{
    copy_cut(no->first_id, sizeof no->first_id, event_encoder_last_id(enc));
    copy_cut(no->rule_name, sizeof no->rule_name, rule->title ? rule->title : "");
    if (r->n_chain)
        copy_cut(no->question, sizeof no->question, r->chain[0]);
    no->qtype = m->qtype;
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        if (rr->section != DNS_SEC_ANSWER)
            continue;
        if (no->n_answers < SUPPRESS_ANSWERS) {
            no->answers[no->n_answers].type = rr->type;
            char *d = no->answers[no->n_answers].data;
            uint8_t a[16];
            int alen = dns_rr_addr(m, rr, a);
            if (alen)
                event_format_ip(alen == 16 ? 6 : 4, a, d);
            else
                dns_rdata_text(m, rr, d, sizeof no->answers[0].data); /* cut to fit */
            no->n_answers++;
        }
        no->answers_total++;
    }
}

unsigned alerter_emit(alerter *a, event_encoder *enc, const char *ruleset_hash,
                      const pkt_info *pi, const dns_msg *m, const eval_result *r,
                      alert_emit_fn fn, void *ctx)
{
    unsigned written = 0;
    summary_ctx sc = {enc, fn, ctx};
    as_memo memo;
    memo.n = memo.next = 0;
    for (unsigned i = 0; i < r->n_findings; i++) {
        const eval_finding *f = &r->findings[i];
        const dw_rule *rule = f->rule;
        int cfam;
        const uint8_t *caddr;
        client_of(pi, m, &cfam, &caddr);
        if (!suppress_check(a->fold, fold_key(f, r, m), pi->ts_us, rule->id, f->reason,
                            rule->score, f->violations, on_summary, &sc)) {
            suppress_note *no = suppress_last(a->fold);
            if (no)
                suppress_note_client(no, cfam, caddr);
            continue;
        }
        suppress_note *no = suppress_last(a->fold);
        alert_ctx c = {a, enc, r, f, &memo, ruleset_hash, m};
        event_alert ea = {
            .severity = rule->score,
            .reason = f->reason,
            .rule_id = rule->id,
            .rule_name = rule->title,
            .ruleset = ruleset_hash,
            .tags = rule->tags.v,
            .n_tags = rule->tags.n,
            .write_rule = write_rule,
            .write_top = write_top,
            .write_dnswatch = write_dnswatch,
            .write_answer = write_answer,
            .answer_matters = answer_matters,
            .ctx = &c,
            .findings_total = f->n_evidence_total > f->n_evidence ? f->n_evidence_total
                                                                  : f->n_evidence,
            .findings_kept = f->n_evidence,
        };
        size_t len;
        const char *line = event_encode(enc, pi, m, &ea, &len);
        if (no)
            fill_note(no, enc, rule, m, r);
        if (line) {
            fn(ctx, line, len);
            written++;
        }
    }
    return written;
}

void alerter_expire(alerter *a, event_encoder *enc, uint64_t now_us, alert_emit_fn fn,
                    void *ctx)
{
    summary_ctx sc = {enc, fn, ctx};
    suppress_expire(a->fold, now_us, on_summary, &sc);
}
