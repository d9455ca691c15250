/* The checks of DESIGN.md "Semantics": one DNS response in, zero or more findings out
 * (one per rule that matched and found something wrong). One evaluator per worker
 * thread; the ruleset and the ASN database are shared read-only and must outlive it. */
#ifndef DW_EVAL_H
#define DW_EVAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "decoders/dns.h"
#include "decoders/pkt.h"
#include "rules/asn.h"
#include "rules/rsample.h"
#include "rules/ruleset.h"
#include "rules/track.h"
#include "rules/violation.h"

#define EVAL_MAX_CHAIN 16     /* CNAME/DNAME steps followed (loops end here) */
#define EVAL_MAX_NAMES 64     /* names kept per response: the question's chain, then owners' */
#define EVAL_MAX_GROUPS 30    /* chains kept apart per response (the question's and owners') */
#define EVAL_MAX_FINDINGS 64  /* rules reported per response; more are counted */
#define EVAL_MAX_EVIDENCE 32  /* offending addresses/records kept per finding */

/* One offending item: an address (with its ASN or special range), a CNAME target, or a
 * record TTL. */
typedef struct eval_evidence {
    uint32_t violation;       /* one DW_V_* bit */
    int family;               /* 4 or 6 for an address, 0 otherwise */
    uint8_t addr[16];
    uint32_t asn;             /* 0: none / not looked up */
    const char *range;        /* special range, or why DNSSEC is missing (static); or NULL */
    uint32_t ttl;             /* for ttl_exceeded */
    uint16_t chain_index;     /* for cname_unexpected: the target's place in the chain */
    uint16_t rr;              /* for out_of_bailiwick: the record's index in dns_msg.rr;
                               * EVAL_NO_RR when only counted */
    /* Tracking violations (rules/track.h): the incident for txid_mismatch_flood and
     * unsolicited_response, the exchange's two responses for conflicting_answers. Valid
     * while the eval_result is (until the next evaluator call). */
    const track_report *report;
    const track_match *exchange;
    /* fragment_conflict: the fragments that disagreed (the packet's: valid while the
     * message judged is) */
    const pkt_frag_conflict *frag;
    /* resolver_*_predictable: the resolver is addr; its window of RSAMPLE_WINDOW
     * queries had `distinct` distinct values and `steps` small increments; bad windows
     * since the last report; the last values, oldest first */
    uint16_t distinct, steps;
    uint32_t bad_windows;
    uint16_t last[RSAMPLE_SHOW];
} eval_evidence;
#define EVAL_NO_RR 0xffffu

typedef struct eval_finding {
    const dw_rule *rule;
    /* The chain through which the rule applied (eval_result.group[]), or -1 when it
     * matched the owner of an answer beyond the chains kept (EVAL_MAX_GROUPS/NAMES). */
    int group;
    uint32_t violations;      /* DW_V_* bits */
    unsigned n_evidence;
    unsigned n_evidence_total;/* offending items found; beyond n_evidence only counted */
    eval_evidence evidence[EVAL_MAX_EVIDENCE];
    char reason[512];         /* one line, naming the first violation found */
} eval_finding;

/* A chain of names in eval_result.chain: chain[first] .. chain[first + n - 1]. */
typedef struct eval_group {
    uint8_t first, n;
} eval_group;

typedef struct eval_result {
    /* The names a victim may have asked for, presentation text, lower case, in groups:
     * group 0 is the question name and the CNAME/DNAME chain from it (when the message
     * has a question); then one group per owner of an answer record (address, CNAME)
     * that is on no chain before it, with the chain from that owner. musl uses
     * every address of the answer section whatever its owner, and takes answers without
     * a question: so the rules of the question's chain judge every address of the
     * answer section, the rules of an owner's chain the addresses owned along it, and
     * without a question every group is judged as the question would be. */
    unsigned n_chain;         /* names in chain[], all groups */
    char chain[EVAL_MAX_NAMES][DNS_NAME_TEXT_MAX];
    unsigned n_groups;
    eval_group group[EVAL_MAX_GROUPS];
    bool owners_beyond;       /* answer owners past the groups kept: matched, not kept */
    unsigned n_addrs;         /* addresses of the answer section (A, AAAA, SVCB hints) */
    /* musl's view compared (dns_musl.h; only when a rule applies), and whether it differs:
     * the worker counts the difference without walking the message again. */
    bool musl_compared, musl_differs;
    bool watched;             /* at least one rule other than catch-all "*" matched (a
                               * name asked, or the owner of a record outside the
                               * question's bailiwick) */
    unsigned n_findings;
    unsigned findings_dropped;/* beyond EVAL_MAX_FINDINGS */
    eval_finding findings[EVAL_MAX_FINDINGS];
} eval_result;

typedef struct evaluator evaluator;

/* db may be NULL (ASN checks off). NULL on allocation failure. */
evaluator *evaluator_new(const ruleset *rs, const asn_db *db, const track_limits *tl);
void evaluator_free(evaluator *ev); /* accepts NULL */

/* Replaces the ruleset (after a reload). The old one may be freed once no evaluation
 * using it is running (the caller's worker is the only user). */
int evaluator_set_ruleset(evaluator *ev, const ruleset *rs);

/* Feeds a query, for tracking (every query: the exchange table, rules/track.h). */
void evaluator_query(evaluator *ev, const pkt_info *pi, const dns_msg *m);

/* The counters tracking adds to (the worker's). */
void evaluator_set_counters(evaluator *ev, dw_counters *c);

/* Where closed tracking incidents go (evaluator_expire). alert: the incident as one
 * finding of its rule, judged on its first response (m, parsed into the caller's scratch
 * message); held_back: an incident not reported because the capture lost packets
 * meanwhile (rule NULL when it is no longer in the ruleset). */
typedef struct eval_incident_sink {
    void (*alert)(void *ctx, const pkt_info *pi, const dns_msg *m, const eval_result *r);
    void (*held_back)(void *ctx, const track_report *rep, const dw_rule *rule);
    void *ctx;
} eval_incident_sink;

/* Closes the tracking incidents whose window ended by now_us (UINT64_MAX: all). scratch
 * and out are the caller's, overwritten. */
void evaluator_expire(evaluator *ev, uint64_t now_us, dns_msg *scratch, eval_result *out,
                      const eval_incident_sink *sink);

/* Judges a query as a resolver's upstream query (rsample.h), after evaluator_query():
 * when its source is an address of a rule's expect.resolvers (the first such rule in
 * rule order is the one the finding is attributed to), it joins that resolver's sample,
 * and a window judged predictable is a finding (resolver_port_predictable,
 * resolver_txid_predictable; client.ip is the resolver). Returns the number of findings
 * (0 or 1; also out->n_findings). */
unsigned evaluator_resolver_query(evaluator *ev, const pkt_info *pi, const dns_msg *m,
                                  eval_result *out);

/* Judges a response. now: wall time for exception expiry is fixed at load; this uses
 * only packet data. Returns the number of findings (also out->n_findings).
 * A message reassembled from fragments that disagreed (pi->frag_conflict) is also a
 * fragment_conflict finding of one rule: the first candidate rule that watches a name of
 * it (not the catch-all "*"), else the first candidate. When the conflict came after the
 * message had been delivered (frag_conflict->late), the message was judged already:
 * that rule's fragment_conflict is then the only finding. */
unsigned evaluator_response(evaluator *ev, const pkt_info *pi, const dns_msg *m,
                            eval_result *out);

/* Replaces the ASN database (after a reload; NULL: ASN checks off). */
void evaluator_set_asn_db(evaluator *ev, const asn_db *db);

/* The clock an exception's expiry is checked against at each judgement (default time():
 * the wall clock, the one the rule loader drops expired exceptions by, so a ruleset loaded
 * before an exception's end stops honouring it at that end, not at the next reload; a
 * capture read from a file is judged by today's date, as at load, not its packets').
 * For tests. */
void evaluator_set_clock(evaluator *ev, time_t (*now)(void));

/* Optional trace of every check, for `dnswatch explain` (sensor/explain.h). fn is called
 * from evaluator_response() for each candidate rule, in rule order, once per check
 * ("resolver", "cname", "ttl", "addresses", "dnssec", "bailiwick"; a rule that applies
 * only through the owner of a record outside the question's bailiwick traces "bailiwick"
 * alone) and once per address for the
 * address checks ("exception", "rebinding", "expect.asn", "expect.prefixes").
 * verdict: 1 pass, 0 fail, -1 skip (not configured or not applicable). detail is one
 * line, valid during the call. fn NULL (the default) turns tracing off: the hot path then
 * pays one branch per check and formats nothing. */
typedef void (*eval_trace_fn)(void *ctx, const dw_rule *rule, const char *check, int verdict,
                              const char *detail);
void evaluator_set_trace(evaluator *ev, eval_trace_fn fn, void *ctx);

#endif
