/* pkt_parse + defrag over a script of frames, with tiny limits so eviction, memory
 * pressure and timeouts happen within a few frames. pkt_parse's own harness too: the
 * corpus holds every link type, VLAN stacks, PPPoE and each tunnel (VXLAN, Geneve, GRE,
 * ERSPAN, nested, outer fragments), so inner and reassembled tunnels are fuzzed alike.
 *
 * Input: byte 0 picks the link type, byte 1 the limits; then records of
 * [2-byte big-endian frame length][1 byte: time step in 50 ms units][frame bytes].
 * Every delivered payload byte is read so ASan sees any overrun; the memory bound is
 * checked after every fragment; conflicts, in flight or late (a fragment contradicting
 * a datagram reassembled before), hand back sound evidence and payloads. As in decode.c, a UDP message from port 53 with the QR
 * bit makes its sender a known DNS server, so eviction by claim is exercised too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decoders/defrag.h"
#include "decoders/pkt.h"
#include "decoders/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const int dlts[] = {PKT_DLT_EN10MB, PKT_DLT_NULL,      PKT_DLT_RAW,
                           PKT_DLT_RAW_BSD, PKT_DLT_LOOP,     PKT_DLT_LINUX_SLL,
                           PKT_DLT_IPV4,   PKT_DLT_IPV6,      PKT_DLT_LINUX_SLL2,
                           147 /* unsupported */};

static volatile uint8_t sink;

static void consume(const uint8_t *p, size_t n)
{
    wire_ctx w = wire_init(p, n);
    uint8_t x = 0;
    while (wire_left(&w))
        x ^= wire_u8(&w);
    sink = x;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    wire_ctx w = wire_init(data, size);
    uint8_t sel = wire_u8(&w), lim_sel = wire_u8(&w);
    if (!wire_ok(&w))
        return 0;
    int dlt = dlts[sel % (sizeof dlts / sizeof dlts[0])];
    defrag_limits lim = {
        .max_datagrams = 1u + (lim_sel & 3),               /* 1..4 */
        .max_fragments = 2u + ((lim_sel >> 2) & 7),         /* 2..9 */
        .timeout_ms = 1000,
        .recent_ms = 2000, /* (datagrams reassembled are remembered past the timeout) */
    };
    /* 1..22 blocks and, past the first step, room for that many entries and two maps. */
    unsigned steps = (lim_sel >> 5) & 7;
    lim.max_bytes = (size_t)DEFRAG_BLOCK * (1u + steps * 3) +
                    (steps ? (size_t)steps * DEFRAG_ENTRY_BYTES +
                                 2 * defrag_map_bytes(lim.max_fragments)
                           : 0);
    static const uint16_t port53 = 53;
    dnssrv *srv = dnssrv_new(16, &port53, 1);
    defrag *d = defrag_new(&lim);
    if (!d || !srv) {
        defrag_free(d);
        dnssrv_free(srv);
        return 0;
    }
    defrag_set_servers(d, srv);
    dw_counters c;
    memset(&c, 0, sizeof c);
    uint64_t now = 1000000;
    while (wire_left(&w) >= 3) {
        size_t len = wire_u16(&w);
        now += (uint64_t)wire_u8(&w) * 50000;
        if (len > wire_left(&w))
            len = wire_left(&w);
        /* A copy of exactly the frame, so reading past it is caught. */
        uint8_t *frame = malloc(len ? len : 1);
        if (!frame)
            break;
        wire_bytes(&w, frame, len);

        pkt_info pi;
        pkt_frag fr;
        pi.ts_us = now;
        enum pkt_result r = pkt_parse(dlt, frame, len, &pi, &fr, &c);
        if (r == PKT_OK) {
            consume(pi.payload, pi.payload_len);
            wire_ctx m = wire_init(pi.payload, pi.payload_len);
            wire_skip(&m, 2);
            if (pi.sport == 53 && (wire_u8(&m) & 0x80) && wire_ok(&m))
                dnssrv_note(srv, pi.ip_version, pi.src);
        } else if (r == PKT_FRAGMENT) {
            consume(fr.data, fr.len);
            defrag_key k;
            memset(&k, 0, sizeof k);
            k.ip_version = pi.ip_version;
            memcpy(k.src, pi.src, 16);
            memcpy(k.dst, pi.dst, 16);
            k.id = fr.id;
            k.proto = fr.next_proto;
            const uint8_t *out;
            size_t outlen;
            int rc = defrag_add_ttl(d, &k, fr.offset, fr.more, fr.data, fr.len, fr.ttl, now,
                                    &out, &outlen, &c);
            /* A late conflict hands back a datagram delivered before: whole, and the
             * fragment that contradicted it overlapping it. */
            const uint8_t *late;
            size_t late_len;
            uint8_t late_proto;
            const pkt_frag_conflict *cf = defrag_late_conflict(d, &late, &late_len, &late_proto);
            if (cf) {
                if (!cf->late || late_len == 0 || late_len > 65535 || cf->second.off >= late_len ||
                    cf->diff_off > late_len || cf->second.len == 0 || cf->count == 0)
                    abort();
                consume(late, late_len);
            }
            if (rc == 1) {
                if (outlen == 0 || outlen > 65535)
                    abort();
                cf = defrag_conflict(d);
                if (cf && (cf->late || cf->diff_off >= outlen || cf->count == 0))
                    abort();
                consume(out, outlen);
                pi.reassembled = true;
                if (pkt_parse_l4(defrag_proto(d), out, outlen, &pi, &c) == PKT_OK) {
                    if (pi.payload < out || pi.payload + pi.payload_len > out + outlen)
                        abort();
                    consume(pi.payload, pi.payload_len);
                }
            }
            if (defrag_bytes_held(d) > lim.max_bytes || defrag_mem_charged(d) > lim.max_bytes ||
                defrag_datagrams(d) > lim.max_datagrams)
                abort();
        }
        free(frame);
        if ((now / 1000000) % 2 == 0)
            defrag_expire(d, now, &c);
    }
    defrag_expire(d, UINT64_MAX / 2, &c);
    if (defrag_bytes_held(d) != 0 || defrag_mem_charged(d) != 0 || defrag_datagrams(d) != 0 ||
        defrag_recent_count(d) != 0)
        abort();
    defrag_free(d);
    dnssrv_free(srv);
    return 0;
}
