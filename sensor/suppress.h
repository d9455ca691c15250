/* Folding of identical alerts: the same rule, question, violations and answer set
 * within a window become one alert with a count, so a hijack seen by 500 build agents
 * is one SIEM ticket, not 500. The first alert of a window is written at once (no added
 * latency); the identical ones after it are counted, and the count is reported when the
 * window closes (a "summary" alert) or when the sensor stops. Fixed-size table, no
 * allocation after suppress_new(); when full the oldest entry is reported and reused. */
#ifndef DW_SUPPRESS_H
#define DW_SUPPRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sensor/event.h"

typedef struct suppress suppress;

#define SUPPRESS_CLIENTS 16
#define SUPPRESS_ANSWERS 8

/* What a window keeps beside its count, so that its summary stands on its own: the first
 * alert's event id, rule name, question and answers (filled by the caller when the window
 * opens, suppress_last), and the clients of the alerts folded into it (a victim hiding
 * behind a decoy is named). Bounded: what does not fit is counted. */
typedef struct suppress_note {
    char first_id[EVENT_ID_LEN + 1]; /* event.id of the alert the window continues */
    char rule_name[128];
    char question[256];        /* presentation text, cut to fit */
    uint16_t qtype;
    unsigned n_answers, answers_total;
    struct {
        uint16_t type;
        char data[64];         /* cut to fit */
    } answers[SUPPRESS_ANSWERS];
    unsigned n_clients;        /* distinct clients listed */
    uint32_t clients_unlisted; /* folded alerts whose client the full list could not take */
    struct {
        uint8_t family;        /* 4 or 6 */
        uint8_t addr[16];
    } clients[SUPPRESS_CLIENTS];
} suppress_note;

/* What a closed window reports: the first alert's rule, reason and violations, and how
 * many identical alerts were folded into it after it was written. Valid during the call. */
typedef struct suppress_summary {
    const char *rule_id;
    const char *reason;
    uint8_t severity;
    uint32_t violations;
    uint32_t folded;
    uint64_t first_us, last_us;
    const suppress_note *note;
} suppress_summary;

typedef void (*suppress_fn)(void *ctx, const suppress_summary *s);

/* window_ms 0: folding off (every alert is written). */
suppress *suppress_new(unsigned max_entries, unsigned window_ms);
void suppress_free(suppress *s); /* accepts NULL */

/* True if this alert is to be written; false if it was folded into an earlier one.
 * Closed windows met on the way are reported through fn. */
bool suppress_check(suppress *s, uint64_t key, uint64_t now_us, const char *rule_id,
                    const char *reason, uint8_t severity, uint32_t violations, suppress_fn fn,
                    void *ctx);

/* The note of the window the last suppress_check opened or folded into: to fill when it
 * opened (returned true), to add the folded alert's client to (suppress_note_client)
 * when it folded. NULL when folding is off. Valid until the next call on s. */
suppress_note *suppress_last(suppress *s);

/* Adds a client (family 4 or 6) to the note's list unless it is there already. */
void suppress_note_client(suppress_note *n, int family, const uint8_t *addr);

/* Reports windows that have closed by now_us (all of them if now_us is UINT64_MAX). */
void suppress_expire(suppress *s, uint64_t now_us, suppress_fn fn, void *ctx);

/* FNV-1a step, for building keys. */
uint64_t suppress_hash(uint64_t h, const void *data, size_t len);

#endif
