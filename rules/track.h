/* Exchange tracking (DESIGN.md "Tracking"): every query a worker sees is remembered as an
 * outstanding exchange, and every response is matched against them, so that what no
 * single response shows becomes visible: forged responses racing a query (near misses),
 * blind floods for a watched zone, a second answer that contradicts the first, answers
 * nobody asked for.
 *
 * One tracker per worker (the capture thread sends a query and its responses to the same
 * worker). Everything is allocated by track_new() from its limits and never again: the
 * exchange table (TRACK_EXCHANGE_BYTES each), the client/server pair table
 * (TRACK_PAIR_BYTES each) and the incidents (TRACK_INCIDENT_BYTES each). A full table
 * overwrites its oldest entry in a bounded probe window, and says so in the counters.
 *
 * An exchange is keyed by client address and port, server address and port, transport,
 * query id and question (name case-exact, so a response that changes the 0x20 case of the
 * name answers nothing; type; class).
 *
 * Findings that are counts over time (the two flood forms of txid_mismatch_flood, and
 * unsolicited_response) are gathered into incidents: one per rule, client/server pair and
 * window, reported once when the window closes (track_expire()), and held back when the
 * capture lost packets meanwhile (the counts would lie). conflicting_answers is a fact
 * about one response and is returned with it. */
#ifndef DW_TRACK_H
#define DW_TRACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decoders/counters.h"
#include "decoders/dns.h"
#include "decoders/pkt.h"

typedef struct track track;

/* Zero fields take the defaults (docs/rules.md "Tracking thresholds" says why each). */
typedef struct track_limits {
    unsigned max_queries;     /* exchanges remembered at once (65536; a power of 2) */
    unsigned timeout_ms;      /* how long a query is outstanding (10000) */
    unsigned max_pairs;       /* client/server pairs remembered (16384; a power of 2) */
    unsigned near_miss;       /* near misses within a query's life for a flood (5) */
    unsigned blind_count;     /* unmatched responses for a watched zone ... (20) */
    unsigned blind_window_ms; /* ... within this window per pair, for a flood (2000) */
    unsigned seen_s;          /* a client's queries to a server count as seen this long (60) */
    unsigned window_s;        /* an incident's window: one report per rule, pair, window (10) */
    unsigned max_incidents;   /* incidents open at once (64) */
    /* The capture's loss counter (ring, kernel and interface drops), written by the
     * capture thread and read here with relaxed atomics; NULL: no loss known. */
    const uint64_t *loss;
} track_limits;

#define TRACK_EXCHANGE_BYTES 72
#define TRACK_PAIR_BYTES 56
#define TRACK_SAMPLES 8          /* forged responses kept per incident */
#define TRACK_MSG_MAX 1232       /* bytes of an incident's first response kept for its alert */

/* One response as evidence. */
typedef struct track_response_info {
    uint64_t ts_us;
    uint16_t id, client_port, server_port;
    uint8_t ip_ttl;
    uint8_t rcode;            /* the header's 4 bits */
    uint16_t n_answers;
    int family;               /* of the first address answered (4 or 6), 0: none */
    uint8_t addr[16];
} track_response_info;

enum track_kind {
    TRACK_NONE = 0,           /* not tracked (no question, no rules) */
    TRACK_ANSWER,             /* first response of an outstanding exchange */
    TRACK_LATE,               /* first response of an exchange past its timeout */
    TRACK_RETRANSMIT,         /* the same answer again */
    TRACK_CONFLICT,           /* a different answer set or rcode than the first response */
    TRACK_UNMATCHED,          /* matches no exchange */
};

/* What tracking says about one response. */
typedef struct track_match {
    enum track_kind kind;
    bool found;               /* an exchange matched (ANSWER, LATE, RETRANSMIT, CONFLICT) */
    bool query_do;            /* its query had EDNS with DO set */
    /* CONFLICT: the first response and this one (first is the earlier). Reported once
     * per exchange; later differing responses are counted only. */
    bool conflict_new;
    uint64_t query_us;
    track_response_info first, second;
    /* UNMATCHED: the pair it belongs to (for track_note) and what it counts towards:
     * DW_V_TXID_MISMATCH_FLOOD once a threshold is reached, DW_V_UNSOLICITED_RESPONSE for
     * a watched response no query asked for. */
    uint64_t pair_key;        /* the client/server pair's key */
    uint32_t pair;            /* 0: the client's queries to this server were not seen */
    uint32_t violations;
    bool near_miss;           /* a query of the pair was outstanding */
    /* Unmatched responses of the pair counted before this one in the current query life
     * (near misses) and rate window (blind): an incident opened now starts with them. */
    uint32_t prior_near, prior_blind;
} track_match;

/* What an incident reports when it closes. */
typedef struct track_report {
    uint32_t rule;            /* the index given to track_note */
    const char *rule_id;      /* as given (cut to RULE_ID_COPY_MAX), valid during the callback */
    uint32_t violations;      /* DW_V_* bits seen in the window */
    uint64_t first_us, last_us, window_us;
    uint64_t responses;       /* unmatched responses of the pair for this rule in the window */
    uint64_t near_misses, blind, unsolicited;
    uint32_t distinct_ids, distinct_ports;
    unsigned n_samples;
    track_response_info sample[TRACK_SAMPLES];
    bool held_back;           /* the capture lost packets meanwhile: not an alert */
    uint64_t loss;            /* packets the capture lost during the window */
    /* The first response that counted, for the alert's network and dns members. */
    pkt_info pi;              /* payload NULL */
    const uint8_t *msg;
    size_t msg_len;
} track_report;

track *track_new(const track_limits *l);
void track_free(track *t); /* accepts NULL */

/* The counters tracking adds to (TRACK_* in decoders/counters.h); NULL: none. */
void track_set_counters(track *t, dw_counters *c);

/* Remembers a query (a message dns_msg_is_answer() says is not an answer). */
void track_query(track *t, const pkt_info *pi, const dns_msg *m);

/* Matches a response against the exchanges. An unmatched one (kind TRACK_UNMATCHED) is
 * counted by track_unmatched() next, once the caller knows whether it is watched. */
track_match track_response(track *t, const pkt_info *pi, const dns_msg *m);

/* Counts an unmatched response towards its client/server pair (near misses, the blind
 * rate, unsolicited) and fills tm->pair, tm->violations and the rest. watched: a rule
 * watches its question name (the blind and unsolicited forms need a zone to be about).
 * Once per response; nothing for a response that matched. */
void track_unmatched(track *t, track_match *tm, const pkt_info *pi, bool watched);

/* Counts an unmatched response (tm from track_response) for one rule that watches its
 * name: opens the rule's incident for the pair when tm->violations says so, or adds to
 * the open one. rule_id is copied. */
void track_note(track *t, const track_match *tm, uint32_t rule, const char *rule_id,
                const pkt_info *pi, const dns_msg *m);

/* Closes the incidents whose window has ended by now_us (UINT64_MAX: all, at the end of
 * the input), calling fn for each, oldest first. The report is valid during the call. */
void track_expire(track *t, uint64_t now_us, void (*fn)(void *ctx, const track_report *r),
                  void *ctx);

#endif
