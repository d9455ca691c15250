/* The violations a rule can find, one table row each. Everything else about a violation
 * (its bit, its name, how many there are, the reason text of an alert that names it, the
 * evidence an alert shows for it) is derived from this list, so nothing is kept in step
 * by hand.
 *
 * X(NAME, "name", reason_writer, evidence_writer)
 *   NAME             DW_V_NAME is the violation's bit in eval_finding.violations
 *   "name"           what alerts, fold summaries and `dnswatch explain` call it
 *   reason_writer    a static function of rules/eval.c that writes event.reason after the
 *                    name the victim asked (see reason_fn there)
 *   evidence_writer  a static function of sensor/alert.c that writes the members of one
 *                    dnswatch.findings item after "violation" (see evidence_fn there)
 *
 * Rows are in order of gravity: an alert's reason names the gravest violation it found,
 * and its violation list follows this order. The order is part of the output, so a new
 * violation is appended: one row here plus its check in rules/eval.c (which calls
 * evidence() with DW_V_NAME and fills the eval_evidence fields its writers read). The
 * compiler then asks for the two writers the row names, and tests/unit/test_eval.c for
 * the violation's line in docs/rules.md.
 * The tracking violations (txid_mismatch_flood, conflicting_answers, unsolicited_response)
 * are found by rules/track.c: their evidence is the eval_evidence.report/exchange;
 * fragment_conflict comes with the message (pkt_info.frag_conflict) and the resolver
 * violations from the sample of a resolver's upstream queries (rules/rsample.h). */
#ifndef DW_VIOLATION_H
#define DW_VIOLATION_H

#include <stddef.h>
#include <stdint.h>

#define DW_VIOLATION_LIST(X)                                                              \
    X(ASN_MISMATCH, "asn_mismatch", reason_asn_mismatch, evidence_address)                \
    X(ASN_UNKNOWN, "asn_unknown", reason_asn_unknown, evidence_address)                   \
    X(PREFIX_MISMATCH, "prefix_mismatch", reason_prefix_mismatch, evidence_address)       \
    X(CNAME_UNEXPECTED, "cname_unexpected", reason_cname_unexpected, evidence_chain_name) \
    X(UNEXPECTED_RESOLVER, "unexpected_resolver", reason_unexpected_resolver,             \
      evidence_address)                                                                   \
    X(REBINDING, "rebinding", reason_rebinding, evidence_special)                         \
    X(SINKHOLE, "sinkhole", reason_sinkhole, evidence_special)                            \
    X(DNSSEC_MISSING, "dnssec_missing", reason_dnssec_missing, evidence_detail)           \
    X(TTL_EXCEEDED, "ttl_exceeded", reason_ttl_exceeded, evidence_ttl)                    \
    X(OUT_OF_BAILIWICK, "out_of_bailiwick", reason_out_of_bailiwick, evidence_record)     \
    X(TXID_MISMATCH_FLOOD, "txid_mismatch_flood", reason_txid_mismatch_flood,             \
      evidence_flood)                                                                     \
    X(CONFLICTING_ANSWERS, "conflicting_answers", reason_conflicting_answers,             \
      evidence_conflict)                                                                  \
    X(UNSOLICITED_RESPONSE, "unsolicited_response", reason_unsolicited_response,          \
      evidence_flood)                                                                     \
    X(FRAGMENT_CONFLICT, "fragment_conflict", reason_fragment_conflict, evidence_fragments) \
    X(RESOLVER_PORT_PREDICTABLE, "resolver_port_predictable", reason_resolver_port,      \
      evidence_resolver_sample)                                                           \
    X(RESOLVER_TXID_PREDICTABLE, "resolver_txid_predictable", reason_resolver_txid,      \
      evidence_resolver_sample)

/* A violation's row number (DW_VI_NAME), and how many rows there are. */
enum dw_violation_index {
#define DW_V_ROW_INDEX(NAME, name, reason, evidence) DW_VI_##NAME,
    DW_VIOLATION_LIST(DW_V_ROW_INDEX)
#undef DW_V_ROW_INDEX
        DW_V_COUNT
};

/* A violation's bit (DW_V_NAME). Bit 31 would not fit an int enumerator. */
enum dw_violation {
#define DW_V_ROW_BIT(NAME, name, reason, evidence) DW_V_##NAME = 1u << DW_VI_##NAME,
    DW_VIOLATION_LIST(DW_V_ROW_BIT)
#undef DW_V_ROW_BIT
};
_Static_assert(DW_V_COUNT <= 31, "violations are bits of eval_finding.violations");

/* The row of one violation bit; DW_V_COUNT for 0, several bits or a bit past the table. */
static inline unsigned dw_violation_index(uint32_t bit)
{
    if (bit == 0 || (bit & (bit - 1)) != 0 || bit >= 1u << DW_V_COUNT)
        return DW_V_COUNT;
    return (unsigned)__builtin_ctz(bit);
}

/* The longest violation list an alert writes (["asn_mismatch",...,"ttl_exceeded"]) as
 * JSON text, NUL included: each name quoted with its comma (the NUL's place), brackets. */
#define DW_V_ROW_JSON_SIZE(NAME, name, reason, evidence) +(sizeof name + 2)
#define DW_V_NAMES_JSON_MAX (2 DW_VIOLATION_LIST(DW_V_ROW_JSON_SIZE))

/* "asn_mismatch"... for one bit; NULL otherwise. */
const char *dw_violation_name(uint32_t bit);

/* The names of the violations of a set, in table order (gravest first), into out; bits
 * past the table are ignored. Returns how many were written. */
size_t dw_violation_names(uint32_t set, const char *out[DW_V_COUNT]);

#endif
