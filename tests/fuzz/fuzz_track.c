/* The exchange table (rules/track.h) over a script of DNS messages, with tiny limits so
 * eviction of exchanges and pairs, full incident tables, thresholds, timeouts, capture
 * loss and window ends all happen within a few records.
 *
 * Input: byte 0 picks the limits; then records of
 *   [1 byte: flags][1 byte: time step in 10 ms units][2-byte big-endian length][message]
 * flags: bit 0 response (else query), bits 1-2 the client (one of four addresses), bit 3
 * the client's port (one of two), bit 4 the question is watched (by rule 0, and by rule 1
 * with bit 7), bit 5 the capture loses a packet, bit 6 close the windows ended by now.
 * Messages dns_parse refuses are skipped, as the worker does. Every report is checked
 * against what the table can know (samples, counts, the message it keeps), and its kept
 * message is parsed again, so ASan sees any overrun of it. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decoders/dns.h"
#include "decoders/wire.h"
#include "rules/track.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static dns_msg g_msg, g_again;

static void on_report(void *ctx, const track_report *r)
{
    (void)ctx;
    if (r->n_samples > TRACK_SAMPLES || r->msg_len > TRACK_MSG_MAX ||
        r->distinct_ids > r->responses || r->distinct_ports > r->responses ||
        r->near_misses + r->blind > r->responses || r->last_us < r->first_us ||
        r->violations == 0 || !r->rule_id || r->rule > 1)
        __builtin_trap();
    if (r->msg_len && dns_parse(&g_again, r->msg, r->msg_len, NULL) != 0)
        __builtin_trap(); /* it was parsed when it was kept */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wire_ctx w = wire_init(data, size);
    uint8_t sel = wire_u8(&w);
    if (!wire_ok(&w))
        return 0;
    uint64_t loss = 0;
    track_limits lim = {
        .max_queries = 64, /* the floor */
        .max_pairs = 64,
        .timeout_ms = 100u + 100u * (sel & 3),
        .near_miss = 1u + ((sel >> 2) & 3),
        .blind_count = 1u + ((sel >> 4) & 3),
        .blind_window_ms = 200,
        .seen_s = 1u + ((sel >> 6) & 1),
        .window_s = 1,
        .max_incidents = 1u + (sel >> 7),
        .loss = &loss,
    };
    dw_counters counters;
    memset(&counters, 0, sizeof counters);
    track *t = track_new(&lim);
    if (!t)
        return 0;
    track_set_counters(t, &counters);

    static const char *const rule_ids[] = {"t-zero", "t-one"};
    uint64_t now = 1795780800000000ull;
    while (wire_left(&w) >= 4) {
        uint8_t flags = wire_u8(&w), step = wire_u8(&w);
        uint16_t len = wire_u16(&w);
        if (len > wire_left(&w))
            len = (uint16_t)wire_left(&w);
        const uint8_t *msg = wire_ptr(&w);
        wire_skip(&w, len);
        now += (uint64_t)step * 10000u;
        if (flags & 0x20)
            loss++;
        if (flags & 0x40)
            track_expire(t, now, on_report, NULL);
        if (dns_parse(&g_msg, msg, len, NULL) != 0)
            continue;
        pkt_info pi;
        memset(&pi, 0, sizeof pi);
        pi.ts_us = now;
        pi.ip_version = 4;
        pi.proto = 17;
        pi.ip_ttl = step;
        uint8_t client[4] = {10, 1, 2, (uint8_t)(1 + ((flags >> 1) & 3))}, server[4] = {10, 10, 0, 53};
        uint16_t cport = (flags & 0x08) ? 40001 : 40000;
        bool response = flags & 1;
        memcpy(pi.src, response ? server : client, 4);
        memcpy(pi.dst, response ? client : server, 4);
        pi.sport = response ? 53 : cport;
        pi.dport = response ? cport : 53;
        if (!response) {
            track_query(t, &pi, &g_msg);
            continue;
        }
        bool watched = flags & 0x10;
        track_match m = track_response(t, &pi, &g_msg);
        track_unmatched(t, &m, &pi, watched);
        if (watched)
            track_note(t, &m, 0, rule_ids[0], &pi, &g_msg);
        if (watched && (flags & 0x80))
            track_note(t, &m, 1, rule_ids[1], &pi, &g_msg);
    }
    track_expire(t, UINT64_MAX, on_report, NULL);
    track_free(t);
    return 0;
}
