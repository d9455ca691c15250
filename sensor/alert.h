/* Findings of the evaluator to alert events: the evidence an analyst needs to triage
 * without the pcap (every answer with its AS, the expectations, the CNAME chain, the
 * offending items), and the folding of identical alerts (suppress.h). One per worker. */
#ifndef DW_ALERT_H
#define DW_ALERT_H

#include <stddef.h>

#include "rules/eval.h"
#include "sensor/event.h"

typedef struct alerter alerter;

/* Receives each finished JSON line (newline included), valid during the call. */
typedef void (*alert_emit_fn)(void *ctx, const char *line, size_t len);

/* db may be NULL. fold_window_ms 0: no folding. NULL on allocation failure. */
alerter *alerter_new(const asn_db *db, unsigned fold_window_ms, unsigned fold_entries);
void alerter_free(alerter *a); /* accepts NULL */
/* Replaces the ASN database used for evidence (after a reload). */
void alerter_set_asn_db(alerter *a, const asn_db *db);

/* Writes one alert per finding of r (unless folded). Returns the number written. */
unsigned alerter_emit(alerter *a, event_encoder *enc, const char *ruleset_hash,
                      const pkt_info *pi, const dns_msg *m, const eval_result *r,
                      alert_emit_fn fn, void *ctx);

/* Reports folded counts whose window has closed by now_us (UINT64_MAX: all, at exit). */
void alerter_expire(alerter *a, event_encoder *enc, uint64_t now_us, alert_emit_fn fn,
                    void *ctx);

#endif
