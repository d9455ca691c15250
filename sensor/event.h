/* DNS responses to ECS-shaped JSON events (DESIGN.md "Events"). One encoder per worker
 * thread: it owns the output buffer, reused for every event (no allocation in steady
 * state), and the event id generator. */
#ifndef DW_EVENT_H
#define DW_EVENT_H

#include <stddef.h>
#include <stdint.h>

#include "decoders/dns.h"
#include "decoders/dns_present.h"
#include "decoders/pkt.h"
#include "sensor/json.h"

typedef struct event_encoder event_encoder;

/* The ECS version the events follow (ecs.version); docs/events.md lists every field and
 * tests/tools/ecs_check.py holds the definitions of those taken from ECS. */
#define EVENT_ECS_VERSION "8.11.0"
/* observer.vendor and observer.product. */
#define EVENT_OBSERVER_VENDOR "dnswatch"
#define EVENT_OBSERVER_PRODUCT "dnswatch"

/* event.id: this many hex digits (a random half per encoder, then a sequence). */
#define EVENT_ID_LEN 32

typedef struct event_meta {
    const char *observer_name; /* shown as observer.name; required */
    const char *iface;         /* observer.ingress.interface.name; NULL when reading a file */
    const char *hostname;      /* observer.hostname; NULL: the encoder asks gethostname() */
} event_meta;

/* The size bound of an event line: at most EVENT_MAX_BYTES, newline included. The
 * encoder first shows at most EVENT_ANSWERS_SHOWN records of each section (answers,
 * authorities, additionals; those that matter first, see event_alert.answer_matters),
 * EVENT_FINDINGS_SHOWN offending items and record data of
 * at most EVENT_DATA_TEXT_MAX characters; a line still too long is encoded again with
 * tighter limits (event_limits), down to counts alone. What is left out is counted in
 * dnswatch.truncated and, for an alert, said in event.reason. */
#define EVENT_MAX_BYTES (64u << 10)
#define EVENT_ANSWERS_SHOWN 32u
#define EVENT_FINDINGS_SHOWN 32u
#define EVENT_DATA_TEXT_MAX 1024u

/* The limits of the encoding in progress (event_encoder_limits). */
typedef struct event_limits {
    unsigned answers;   /* records of each section (and resolved_ip items) shown */
    unsigned data_text; /* characters of one record's data text */
    unsigned findings;  /* offending items shown in dnswatch.findings */
    unsigned chain;     /* names of the CNAME chain shown */
} event_limits;

/* Extra content of an alert; the encoder writes the shared fields around it. */
typedef struct event_alert {
    uint8_t severity;          /* ECS event.severity 0..100 */
    const char *reason;        /* event.reason, one line for the analyst */
    const char *rule_id, *rule_name, *ruleset;
    const char *const *tags;
    size_t n_tags;
    /* Writes further members of the "rule" object (category, description...); may be NULL. */
    void (*write_rule)(void *ctx, json_buf *j);
    /* Writes further top-level members (threat); may be NULL. */
    void (*write_top)(void *ctx, json_buf *j);
    /* Writes the members of the "dnswatch" object (violations, expected, cname_chain...). */
    void (*write_dnswatch)(void *ctx, json_buf *j);
    /* Writes extra members of a record's object, in any section (its "as" for an
     * address); may be NULL. */
    void (*write_answer)(void *ctx, json_buf *j, const dns_msg *m, const dns_rr *rr);
    /* Whether record rr, of any section, is evidence (an offending address or record, a
     * CNAME): such records are shown before the others of their section when not all
     * fit. May be NULL (message order). */
    bool (*answer_matters)(void *ctx, const dns_msg *m, const dns_rr *rr);
    void *ctx;
    /* Offending items found, and how many of them write_dnswatch can show (it shows at
     * most event_encoder_limits()->findings of those): for the truncation counts. */
    unsigned findings_total, findings_kept;
} event_alert;

/* meta's strings must outlive the encoder. NULL on allocation failure. */
event_encoder *event_encoder_new(const event_meta *meta);
void event_encoder_free(event_encoder *e); /* accepts NULL */

/* Encodes one DNS message seen at pi as one JSON line (newline included). alert NULL:
 * event.kind "event"; else event.kind "alert" with the alert's fields. The returned text
 * is valid until the next call on this encoder. */
const char *event_encode(event_encoder *e, const pkt_info *pi, const dns_msg *m,
                         const event_alert *alert, size_t *len);

/* The limits of the event being encoded, for the alert's write_dnswatch callback. */
const event_limits *event_encoder_limits(const event_encoder *e);

/* Adds an address (family 4 or 6) to related.ip of the event being encoded, unless it is
 * there: for the alert's callbacks, whose evidence may name an address no answer record
 * holds (an SVCB/HTTPS address hint). */
void event_encoder_add_related(event_encoder *e, int family, const uint8_t *addr);

/* A folded-alerts summary (see suppress.h): one alert line saying how many identical
 * alerts were folded into the one written first, which it continues (first_id), with
 * what it needs to stand alone: rule, question, answers, the clients of the folded alerts
 * (dnswatch.folded_clients and related.ip) and the window (event.start, event.end).
 * Strings are copied into the line; answers_total/clients_unlisted count what the
 * bounded lists left out. */
typedef struct event_summary {
    uint64_t first_us, last_us;
    const char *rule_id, *rule_name, *reason, *first_id;
    const char *rule_category; /* rule.category; NULL: none */
    uint8_t severity;
    const char *const *violations;
    size_t n_violations;
    uint32_t folded;
    const char *question, *qtype;     /* question NULL: none */
    const char *const *answer_type, *const *answer_data;
    size_t n_answers, answers_total;
    const char *const *clients;       /* address text */
    size_t n_clients;
    uint32_t clients_unlisted;
} event_summary;

const char *event_encode_summary(event_encoder *e, const event_summary *s, size_t *len);

/* The event.id of the last event encoded (32 hex digits), valid until the next call. */
const char *event_encoder_last_id(const event_encoder *e);

/* A health event (event.kind "event", dataset "dnswatch.health"): action e.g.
 * "rules-reload", outcome "success" or "failure", reason one line, details (may be NULL,
 * n of them) the lines behind it (rule errors). */
const char *event_encode_health(event_encoder *e, uint64_t ts_us, const char *action,
                                const char *outcome, const char *reason,
                                const char *const *details, size_t n, size_t *len);

/* An event of the sensor's own (event.kind e.g. "metric"): @timestamp, event {kind,
 * dataset, id, category ["network"], type ["info"]}, ecs, then what fn writes as further
 * top-level members, then observer and message (one line; NULL: none). */
const char *event_encode_custom(event_encoder *e, uint64_t ts_us, const char *kind,
                                const char *dataset, void (*fn)(void *ctx, json_buf *j),
                                void *ctx, const char *message, size_t *len);

/* Address text (inet_ntop) of a 4- or 16-byte address into out[DNS_IPV6_TEXT_MAX]. */
void event_format_ip(int ip_version, const uint8_t *addr, char out[DNS_IPV6_TEXT_MAX]);

/* "2026-11-27T10:00:00.123456Z" (as @timestamp) into out[40]. */
void event_format_time(uint64_t ts_us, char out[40]);

#endif
