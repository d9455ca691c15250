#include "sensor/alert.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rules/prefixset.h"
#include "sensor/suppress.h"

/* The members of an alert's "dnswatch" object that depend on the rule alone
 * ("severity", "expected"), encoded once and copied into every alert of the rule: they
 * were a fifth of the work of an alert. A slot is found by the rule's address and taken
 * only if the ruleset hash and the rule id match too: the hash covers every byte of
 * every rule file, so a rule of another (reloaded) ruleset that happens to get the same
 * address can only hit if it is the same rule. */
#define FRAG_SLOTS 64
typedef struct rule_frag {
    const dw_rule *rule; /* NULL: empty */
    char hash[80];
    char id[64];
    json_buf text;       /* the members, comma-separated, no braces */
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
    for (size_t i = 0; i < FRAG_SLOTS; i++)
        json_init(&a->frag[i].text);
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
    for (size_t i = 0; i < FRAG_SLOTS; i++)
        json_free(&a->frag[i].text);
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
    const eval_result *r;
    const eval_finding *f;
    as_memo *memo;
    const char *ruleset_hash;
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
    json_key(j, "violations");
    json_arr_begin(j);
    for (unsigned i = 0; i < DW_V_COUNT; i++)
        if (v & (1u << i))
            json_str(j, dw_violation_name(1u << i));
    json_arr_end(j);
}

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
    json_buf *t = &fr->text;
    json_reset(t);
    json_obj_begin(t);
    write_rule_members(t, rule);
    json_obj_end(t);
    if (t->oom || t->len < 2)
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
    char ip[46];

    write_violations(j, f->violations);
    const rule_frag *fr = rule_members(c->a, rule, c->ruleset_hash);
    if (fr) /* as the members after the violations: the raw text gets their comma */
        json_raw(j, fr->text.p + 1, fr->text.len - 2);
    else
        write_rule_members(j, rule);

    /* The chain through which the rule applied: the question's, or an answer owner's
     * (eval.h); none for an owner beyond the chains kept. */
    json_key(j, "cname_chain");
    json_arr_begin(j);
    if (f->group >= 0 && (unsigned)f->group < c->r->n_groups) {
        const eval_group *g = &c->r->group[f->group];
        for (unsigned i = g->first; i < (unsigned)g->first + g->n; i++)
            json_str(j, c->r->chain[i]);
    }
    json_arr_end(j);

    json_key(j, "findings");
    json_arr_begin(j);
    for (unsigned i = 0; i < f->n_evidence; i++) {
        const eval_evidence *e = &f->evidence[i];
        json_obj_begin(j);
        json_kv_str(j, "violation", dw_violation_name(e->violation));
        if (e->family) {
            event_format_ip(e->family, e->addr, ip);
            json_kv_str(j, "ip", ip);
            write_as(j, c, e->family, e->addr);
        }
        if (e->violation == DW_V_CNAME_UNEXPECTED)
            json_kv_str(j, "name", c->r->chain[e->chain_index]);
        if (e->violation == DW_V_TTL_EXCEEDED)
            json_kv_u64(j, "ttl", e->ttl);
        if (e->range)
            json_kv_str(j, e->violation == DW_V_DNSSEC_MISSING ? "detail" : "range", e->range);
        json_obj_end(j);
    }
    json_arr_end(j);
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
    const char *names[DW_V_COUNT];
    size_t n = 0, len;
    for (unsigned i = 0; i < DW_V_COUNT; i++)
        if (s->violations & (1u << i))
            names[n++] = dw_violation_name(1u << i);
    const char *line = event_encode_summary(sc->enc, s->first_us, s->last_us, s->rule_id,
                                            s->reason, s->severity, names, n, s->folded, &len);
    if (line)
        sc->fn(sc->ctx, line, len);
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
        if (!suppress_check(a->fold, fold_key(f, r, m), pi->ts_us, rule->id, f->reason,
                            rule->score, f->violations, on_summary, &sc))
            continue;
        alert_ctx c = {a, r, f, &memo, ruleset_hash};
        event_alert ea = {
            .severity = rule->score,
            .reason = f->reason,
            .rule_id = rule->id,
            .rule_name = rule->title,
            .ruleset = ruleset_hash,
            .tags = rule->tags.v,
            .n_tags = rule->tags.n,
            .write_dnswatch = write_dnswatch,
            .write_answer = write_answer,
            .ctx = &c,
        };
        size_t len;
        const char *line = event_encode(enc, pi, m, &ea, &len);
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
