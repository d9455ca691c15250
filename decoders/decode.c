#include "decoders/decode.h"

#include <stdlib.h>
#include <string.h>

#include "decoders/dnssrv.h"
#include "decoders/wire.h"

/* Packet-time interval between sweeps of expired fragments and TCP flows. */
#define EXPIRE_EVERY_US 1000000u

struct dw_decoder {
    dw_decoder_config cfg;
    dw_counters *c;
    defrag *frag;
    tcp_reasm *tcp;
    dnssrv *srv; /* recent DNS responders: the reassembly tables' eviction order */
    uint64_t next_expire_us;
};

void dw_decoder_config_default(dw_decoder_config *cfg)
{
    memset(cfg, 0, sizeof *cfg);
    cfg->ports[0] = 53;
    cfg->n_ports = 1;
    defrag_limits_default(&cfg->frag);
    tcp_limits_default(&cfg->tcp);
}

dw_decoder *dw_decoder_new(const dw_decoder_config *cfg, dw_counters *c)
{
    dw_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->cfg = *cfg;
    if (d->cfg.n_ports > DW_MAX_PORTS)
        d->cfg.n_ports = DW_MAX_PORTS;
    d->c = c;
    d->frag = defrag_new(&cfg->frag);
    d->tcp = tcp_reasm_new(&cfg->tcp);
    d->srv = dnssrv_new(0, d->cfg.ports, d->cfg.n_ports);
    if (!d->frag || !d->tcp || !d->srv) {
        dw_decoder_free(d);
        return NULL;
    }
    defrag_set_servers(d->frag, d->srv);
    tcp_reasm_set_servers(d->tcp, d->srv);
    return d;
}

void dw_decoder_free(dw_decoder *d)
{
    if (!d)
        return;
    defrag_free(d->frag);
    tcp_reasm_free(d->tcp);
    dnssrv_free(d->srv);
    free(d);
}

static bool dns_port(const dw_decoder *d, uint16_t port)
{
    for (unsigned i = 0; i < d->cfg.n_ports; i++)
        if (d->cfg.ports[i] == port)
            return true;
    return false;
}

/* A message from a DNS port with the QR bit set and a whole header makes its sender a
 * DNS server for the eviction order (dnssrv.h). Forgeable, and meant to be: the set only
 * orders evictions, and a flood of forged responders cannot displace a real server
 * (the set keeps heavy hitters). */
static void note_responder(dw_decoder *d, const pkt_info *pi, const uint8_t *msg, size_t len)
{
    if (!dns_port(d, pi->sport))
        return;
    wire_ctx w = wire_init(msg, len);
    wire_skip(&w, 2);
    uint8_t flags = wire_u8(&w);
    wire_skip(&w, 9);
    if (wire_ok(&w) && (flags & 0x80))
        dnssrv_note(d->srv, pi->ip_version, pi->src);
}

typedef struct tcp_ctx {
    dw_decoder *d;
    dw_dns_fn fn;
    void *ctx;
} tcp_ctx;

static void on_tcp_msg(void *ctx, const pkt_info *pi, const uint8_t *msg, size_t len)
{
    tcp_ctx *t = ctx;
    note_responder(t->d, pi, msg, len);
    t->fn(t->ctx, pi, msg, len);
}

/* A UDP or TCP payload with its ports parsed: hand DNS on to the caller. */
static void deliver_l4(dw_decoder *d, const pkt_info *pi, dw_dns_fn fn, void *ctx)
{
    if (!dns_port(d, pi->sport) && !dns_port(d, pi->dport)) {
        DW_COUNT(d->c, NOT_DNS_PORT);
        return;
    }
    if (pi->proto == 17) {
        if (pi->payload_len > 0) {
            note_responder(d, pi, pi->payload, pi->payload_len);
            fn(ctx, pi, pi->payload, pi->payload_len);
        }
        return;
    }
    tcp_ctx t = {d, fn, ctx};
    tcp_reasm_segment(d->tcp, pi, on_tcp_msg, &t, d->c);
}

/* A fragment contradicted a datagram already reassembled and delivered (defrag.h): the
 * message it carried is delivered again, with pi->frag_conflict->late set, for the
 * conflict alone. Only UDP: a TCP segment was handed to its stream already, and a
 * stream cannot take it twice. */
static void deliver_late(dw_decoder *d, const pkt_info *frag_pi, const pkt_frag_conflict *cf,
                         uint8_t proto, const uint8_t *whole, size_t len, dw_dns_fn fn,
                         void *ctx)
{
    pkt_info pi = *frag_pi;
    pi.reassembled = true;
    dw_counters scratch; /* the message was counted when it was first delivered */
    memset(&scratch, 0, sizeof scratch);
    if (pkt_parse_l4(proto, whole, len, &pi, &scratch) != PKT_OK || pi.proto != 17 ||
        pi.payload_len == 0 || (!dns_port(d, pi.sport) && !dns_port(d, pi.dport)))
        return;
    pi.frag_conflict = cf;
    fn(ctx, &pi, pi.payload, pi.payload_len);
}

void dw_decoder_packet(dw_decoder *d, int dlt, uint64_t ts_us, const uint8_t *data,
                       size_t caplen, dw_dns_fn fn, void *ctx)
{
    pkt_info pi;
    pkt_frag frag;

    DW_COUNT(d->c, PACKETS);
    if (ts_us >= d->next_expire_us) {
        defrag_expire(d->frag, ts_us, d->c);
        tcp_reasm_expire(d->tcp, ts_us, d->c);
        d->next_expire_us = ts_us + EXPIRE_EVERY_US;
    }

    enum pkt_result r = pkt_parse(dlt, data, caplen, &pi, &frag, d->c);
    pi.ts_us = ts_us;
    if (r == PKT_OK && pi.dnstap.type) {
        /* A resolver's own account: one whole DNS message, on whatever port and transport
         * it travelled (no port check, no stream to reassemble). */
        fn(ctx, &pi, pi.payload, pi.payload_len);
        return;
    }
    if (r == PKT_OK) {
        deliver_l4(d, &pi, fn, ctx);
        return;
    }
    if (r != PKT_FRAGMENT)
        return;

    defrag_key k;
    memset(&k, 0, sizeof k);
    k.ip_version = pi.ip_version;
    memcpy(k.src, pi.src, sizeof k.src);
    memcpy(k.dst, pi.dst, sizeof k.dst);
    k.id = frag.id;
    k.proto = frag.next_proto;
    k.ttl = pi.ip_ttl;

    const uint8_t *whole;
    size_t whole_len;
    int rc = defrag_add_ttl(d->frag, &k, frag.offset, frag.more, frag.data, frag.len, frag.ttl,
                            ts_us, &whole, &whole_len, d->c);
    const uint8_t *old;
    size_t old_len;
    uint8_t old_proto;
    const pkt_frag_conflict *late = defrag_late_conflict(d->frag, &old, &old_len, &old_proto);
    if (late)
        deliver_late(d, &pi, late, old_proto, old, old_len, fn, ctx);
    if (rc != 1)
        return;
    /* The protocol is the one the fragment at offset 0 carried (IPv6 keys ignore it). */
    pi.reassembled = true;
    pi.ip_ttl = defrag_ttl(d->frag);
    if (pkt_parse_l4(defrag_proto(d->frag), whole, whole_len, &pi, d->c) != PKT_OK)
        return;
    pi.frag_conflict = defrag_conflict(d->frag);
    deliver_l4(d, &pi, fn, ctx);
}

void dw_decoder_flush(dw_decoder *d, dw_dns_fn fn, void *ctx)
{
    tcp_ctx t = {d, fn, ctx};
    tcp_reasm_flush(d->tcp, on_tcp_msg, &t, d->c);
}
