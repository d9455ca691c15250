/* Fuzzes the TCP reassembler with synthetic segments over a few flows and tiny limits.
 *
 * Input: records of a 5-byte header and an optional payload.
 *   byte 0: bits 0-1 flow (4 directions, two connections), bits 2-3 op:
 *           0 segment, 1 advance the clock by byte 1 * 10 ms, 2 expire, 3 flush
 *   byte 1: TCP flags (segment) or clock step
 *   bytes 2-3: signed sequence offset from where the flow's stream is expected next
 *   byte 4: payload length, the payload follows (cut short by the end of the input)
 * Each payload is copied into its own allocation so that reads past it are caught. The
 * callback checks the length contract and reads every byte of the message, and, as
 * decode.c does, makes the sender of a message from port 53 with the QR bit a known DNS
 * server: three directions of room for four, so eviction by claim is exercised. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decoders/tcpstream.h"
#include "decoders/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void on_msg(void *ctx, const pkt_info *pi, const uint8_t *msg, size_t len)
{
    if (len < 12 || len > 65535 || pi->proto != 6)
        abort();
    wire_ctx w = wire_init(msg, len);
    wire_skip(&w, 2);
    if (pi->sport == 53 && (wire_u8(&w) & 0x80))
        dnssrv_note(ctx, pi->ip_version, pi->src);
    uint8_t x = 0;
    for (size_t i = 0; i < len; i++)
        x ^= msg[i];
    sink = x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    tcp_limits l = {.max_flows = 3, .max_flow_bytes = 300, .max_total_bytes = 700,
                    .timeout_ms = 1000};
    static const uint16_t port53 = 53;
    dnssrv *srv = dnssrv_new(16, &port53, 1);
    tcp_reasm *t = tcp_reasm_new(&l);
    if (!t || !srv) {
        tcp_reasm_free(t);
        dnssrv_free(srv);
        return 0;
    }
    tcp_reasm_set_servers(t, srv);
    dw_counters c;
    memset(&c, 0, sizeof c);
    uint32_t next[4] = {0xffffff00u, 0x7ffffff0u, 0, 12345};
    uint64_t now = 1000000;
    wire_ctx w = wire_init(data, size);
    while (wire_left(&w) >= 5) {
        uint8_t sel = wire_u8(&w);
        uint8_t arg = wire_u8(&w);
        int16_t delta = (int16_t)wire_u16(&w);
        size_t plen = wire_u8(&w);
        unsigned flow = sel & 3;
        unsigned op = (sel >> 2) & 3;
        if (op == 1) {
            now += (uint64_t)arg * 10000;
            continue;
        }
        if (op == 2) {
            tcp_reasm_expire(t, now, &c);
            continue;
        }
        if (op == 3) {
            tcp_reasm_flush(t, on_msg, srv, &c);
            continue;
        }
        if (plen > wire_left(&w))
            plen = wire_left(&w);
        uint8_t *payload = malloc(plen ? plen : 1);
        if (!payload)
            break;
        wire_bytes(&w, payload, plen);
        pkt_info pi;
        memset(&pi, 0, sizeof pi);
        pi.ts_us = now;
        pi.ip_version = flow & 2 ? 6 : 4;
        pi.src[0] = (uint8_t)(10 + (flow & 1));
        pi.dst[0] = (uint8_t)(11 - (flow & 1));
        pi.proto = 6;
        pi.sport = flow & 1 ? 53 : 40000;
        pi.dport = flow & 1 ? 40000 : 53;
        pi.tcp_seq = next[flow] + (uint32_t)(int32_t)delta - (arg & PKT_TCP_SYN ? 1u : 0u);
        pi.tcp_flags = arg;
        pi.payload = payload;
        pi.payload_len = plen;
        tcp_reasm_segment(t, &pi, on_msg, srv, &c);
        free(payload);
        uint32_t end = pi.tcp_seq + (arg & PKT_TCP_SYN ? 1u : 0u) + (uint32_t)plen;
        if ((int32_t)(end - next[flow]) > 0)
            next[flow] = end;
        if (tcp_reasm_bytes_held(t) > l.max_total_bytes || tcp_reasm_flows(t) > l.max_flows)
            abort();
        now += 1000;
    }
    tcp_reasm_free(t);
    dnssrv_free(srv);
    return 0;
}
