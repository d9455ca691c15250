/* Link layer, IP and transport headers. Every byte is read through wire.h; every way a
 * frame can fail to reach a UDP/TCP payload is counted in exactly one counter. */
#include "decoders/pkt.h"

#include "decoders/dnstap.h"

#include <string.h>

#include "decoders/wire.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ_OLD 0x9100 /* pre-802.1ad stacked tags, still seen on older switches */
#define ETH_P_PPPOE_SESS 0x8864
#define ETH_P_TEB 0x6558       /* transparent Ethernet bridging (GRE, Geneve) */
#define ETH_P_ERSPAN 0x88be    /* ERSPAN type I (no sequence number) and II */
#define ETH_P_ERSPAN3 0x22eb

#define PPP_IPV4 0x0021
#define PPP_IPV6 0x0057

#define UDP_PORT_VXLAN 4789
#define UDP_PORT_VXLAN_LINUX 8472 /* the Linux kernel's VXLAN port before IANA's */
#define UDP_PORT_GENEVE 6081

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_GRE_ 47
#define IPPROTO_AH_ 51
#define IPPROTO_DSTOPTS_ 60

/* Longer chains are legal but never legitimate for DNS; the bound keeps the walk cheap. */
#define PKT_MAX_EXTHDR 8

static bool pkt_is_l4(uint8_t p) { return p == IPPROTO_UDP_ || p == IPPROTO_TCP_; }

/* What a fragment may carry to be worth reassembling: DNS over UDP/TCP, or a tunnel
 * (UDP or GRE) that may hold DNS. */
static bool pkt_is_carried(uint8_t p) { return pkt_is_l4(p) || p == IPPROTO_GRE_; }

static bool pkt_is_v6_ext(uint8_t p)
{
    return p == IPPROTO_HOPOPTS_ || p == IPPROTO_ROUTING_ || p == IPPROTO_DSTOPTS_ ||
           p == IPPROTO_AH_;
}

bool pkt_dlt_supported(int dlt)
{
    switch (dlt) {
    case PKT_DLT_NULL:
    case PKT_DLT_EN10MB:
    case PKT_DLT_RAW:
    case PKT_DLT_RAW_BSD:
    case PKT_DLT_LOOP:
    case PKT_DLT_LINUX_SLL:
    case PKT_DLT_IPV4:
    case PKT_DLT_IPV6:
    case PKT_DLT_LINUX_SLL2:
        return true;
    default:
        return false;
    }
}

/* Follows VLAN tags from an ethertype to IP. Returns 4 or 6, or 0 when the frame is not
 * for us (counted). */
static int pkt_ethertype(wire_ctx *w, uint16_t type, pkt_info *pi, dw_counters *c)
{
    while (type == ETH_P_8021Q || type == ETH_P_8021AD || type == ETH_P_QINQ_OLD) {
        uint16_t tci = wire_u16(w);
        type = wire_u16(w);
        if (!wire_ok(w)) {
            DW_COUNT(c, LINK_TRUNCATED);
            return 0;
        }
        if (pi->n_vlan == PKT_MAX_VLAN) {
            DW_COUNT(c, VLAN_TOO_DEEP);
            return 0;
        }
        pi->vlan[pi->n_vlan++] = tci & 0x0fff;
    }
    if (type == ETH_P_PPPOE_SESS) {
        /* RFC 2516: version/type 0x11, code 0 in session frames, then the PPP protocol,
         * which PPP may shorten to one odd byte (protocol field compression). */
        uint8_t vt = wire_u8(w);
        uint8_t code = wire_u8(w);
        wire_skip(w, 4); /* session id, length (the IP length bounds the payload) */
        uint16_t proto = wire_u8(w);
        if (!(proto & 1))
            proto = (uint16_t)(proto << 8 | wire_u8(w));
        if (!wire_ok(w) || vt != 0x11 || code != 0) {
            DW_COUNT(c, TUNNEL_MALFORMED);
            return 0;
        }
        DW_COUNT(c, TUNNEL_PPPOE);
        if (proto == PPP_IPV4)
            return 4;
        if (proto == PPP_IPV6)
            return 6;
        DW_COUNT(c, TUNNEL_PROTO_OTHER);
        return 0;
    }
    if (type == ETH_P_IPV4)
        return 4;
    if (type == ETH_P_IPV6)
        return 6;
    DW_COUNT(c, ETHERTYPE_OTHER);
    return 0;
}

/* BSD loopback address families: AF_INET is 2 everywhere, AF_INET6 differs per system
 * (24 NetBSD/OpenBSD, 28 FreeBSD, 30 macOS). */
static int pkt_af(uint32_t af, dw_counters *c)
{
    switch (af) {
    case 2:
        return 4;
    case 24:
    case 28:
    case 30:
        return 6;
    default:
        DW_COUNT(c, ETHERTYPE_OTHER);
        return 0;
    }
}

static enum pkt_result pkt_udp(wire_ctx *w, pkt_info *pi, dw_counters *c)
{
    pi->sport = wire_u16(w);
    pi->dport = wire_u16(w);
    uint16_t ulen = wire_u16(w);
    wire_skip(w, 2); /* checksum: the victim's stack checks it, we cannot without all bytes */
    if (!wire_ok(w)) {
        DW_COUNT(c, UDP_TRUNCATED);
        return PKT_SKIP;
    }
    if (ulen < 8) {
        DW_COUNT(c, UDP_BAD_LEN);
        return PKT_SKIP;
    }
    size_t want = (size_t)ulen - 8, have = wire_left(w);
    if (want > have) {
        DW_COUNT(c, UDP_SHORT_CAPTURE);
        want = have;
    }
    pi->payload = wire_ptr(w);
    pi->payload_len = want;
    return PKT_OK;
}

/* cut: the IP datagram was longer than the capture, so the payload misses its tail. */
static enum pkt_result pkt_tcp(wire_ctx *w, bool cut, pkt_info *pi, dw_counters *c)
{
    pi->sport = wire_u16(w);
    pi->dport = wire_u16(w);
    pi->tcp_seq = wire_u32(w);
    wire_skip(w, 4); /* ack */
    uint16_t off_flags = wire_u16(w);
    wire_skip(w, 6); /* window, checksum, urgent pointer */
    if (!wire_ok(w)) {
        DW_COUNT(c, TCP_TRUNCATED);
        return PKT_SKIP;
    }
    size_t doff = (size_t)(off_flags >> 12) * 4;
    if (doff < 20) {
        DW_COUNT(c, TCP_BAD_HDRLEN);
        return PKT_SKIP;
    }
    wire_seek(w, doff);
    if (!wire_ok(w)) {
        DW_COUNT(c, TCP_TRUNCATED);
        return PKT_SKIP;
    }
    pi->tcp_flags = (uint8_t)(off_flags & 0xff);
    if (cut)
        DW_COUNT(c, TCP_SHORT_CAPTURE);
    pi->payload = wire_ptr(w);
    pi->payload_len = wire_left(w);
    return PKT_OK;
}

/* Skips one IPv6 extension header of type nh (not a fragment header) and returns the
 * next header type; on truncation the cursor's error is set. */
static uint8_t pkt_v6_ext_skip(wire_ctx *w, uint8_t nh)
{
    uint8_t next = wire_u8(w);
    uint8_t hlen = wire_u8(w);
    /* AH counts 4-byte words minus 2, the others 8-byte words minus 1 (RFC 4302, 8200). */
    size_t total = nh == IPPROTO_AH_ ? ((size_t)hlen + 2) * 4 : ((size_t)hlen + 1) * 8;
    wire_skip(w, total - 2);
    return next;
}

/* ---- tunnels: mirrored traffic arrives encapsulated ------------------------------------
 * Each decapsulation starts the inner packet afresh: its addresses, ports and VLAN tags
 * replace the outer ones (a span or VPC mirror's outer header says only where the copy
 * was sent). pi->tunnels counts the layers removed and bounds the nesting. */

static enum pkt_result pkt_ip(wire_ctx *w, int ver, pkt_info *pi, pkt_frag *frag,
                              dw_counters *c);

/* Whether one more layer may be opened; counts the one that may not. */
static bool pkt_tunnel_enter(pkt_info *pi, dw_counters *c)
{
    if (pi->tunnels >= PKT_MAX_TUNNEL) {
        DW_COUNT(c, TUNNEL_TOO_DEEP);
        return false;
    }
    pi->tunnels++;
    pi->n_vlan = 0;
    return true;
}

/* An Ethernet frame inside a tunnel (no FCS expected; trailing bytes are ignored). */
static enum pkt_result pkt_eth(wire_ctx *w, pkt_info *pi, pkt_frag *frag, dw_counters *c)
{
    wire_skip(w, 12); /* destination, source */
    uint16_t type = wire_u16(w);
    if (!wire_ok(w)) {
        DW_COUNT(c, TUNNEL_MALFORMED);
        return PKT_SKIP;
    }
    int ver = pkt_ethertype(w, type, pi, c);
    if (ver == 0)
        return PKT_SKIP;
    return pkt_ip(w, ver, pi, frag, c);
}

/* What a tunnel header names as its payload: Ethernet, IPv4 or IPv6. */
static enum pkt_result pkt_tunnel_payload(wire_ctx *w, uint16_t type, pkt_info *pi,
                                          pkt_frag *frag, dw_counters *c)
{
    if (type == ETH_P_TEB)
        return pkt_eth(w, pi, frag, c);
    if (type == ETH_P_IPV4)
        return pkt_ip(w, 4, pi, frag, c);
    if (type == ETH_P_IPV6)
        return pkt_ip(w, 6, pi, frag, c);
    DW_COUNT(c, TUNNEL_PROTO_OTHER);
    return PKT_SKIP;
}

/* VXLAN (RFC 7348) in pi's UDP payload. A header without the I flag is not VXLAN: the
 * datagram stays plain UDP (a DNS port may happen to be the tunnel's), counted. */
static enum pkt_result pkt_vxlan(pkt_info *pi, pkt_frag *frag, dw_counters *c)
{
    wire_ctx w = wire_init(pi->payload, pi->payload_len);
    uint8_t flags = wire_u8(&w);
    wire_skip(&w, 7); /* reserved, VNI, reserved */
    if (!wire_ok(&w) || !(flags & 0x08)) {
        DW_COUNT(c, TUNNEL_MALFORMED);
        return PKT_OK;
    }
    if (!pkt_tunnel_enter(pi, c))
        return PKT_SKIP;
    DW_COUNT(c, TUNNEL_VXLAN);
    return pkt_eth(&w, pi, frag, c);
}

/* Geneve (RFC 8926): version 0, options of 4-byte words skipped whole. */
static enum pkt_result pkt_geneve(pkt_info *pi, pkt_frag *frag, dw_counters *c)
{
    wire_ctx w = wire_init(pi->payload, pi->payload_len);
    uint8_t vo = wire_u8(&w);
    wire_skip(&w, 1); /* O, C flags */
    uint16_t type = wire_u16(&w);
    wire_skip(&w, 4); /* VNI, reserved */
    wire_skip(&w, (size_t)(vo & 0x3f) * 4);
    if (!wire_ok(&w) || vo >> 6 != 0) {
        DW_COUNT(c, TUNNEL_MALFORMED);
        return PKT_OK;
    }
    if (!pkt_tunnel_enter(pi, c))
        return PKT_SKIP;
    DW_COUNT(c, TUNNEL_GENEVE);
    return pkt_tunnel_payload(&w, type, pi, frag, c);
}

/* GRE (RFC 2784 with RFC 2890's key and sequence number), version 0 only: version 1 is
 * PPTP's and carries PPP. Routing (RFC 1701's R bit) is refused, as Linux does. ERSPAN
 * rides on GRE: type I bare, II and III with a header of their own. */
static enum pkt_result pkt_gre(wire_ctx *w, pkt_info *pi, pkt_frag *frag, dw_counters *c)
{
    uint16_t fl = wire_u16(w);
    uint16_t type = wire_u16(w);
    if (!wire_ok(w)) {
        DW_COUNT(c, TUNNEL_MALFORMED);
        return PKT_SKIP;
    }
    if ((fl & 0x0007) != 0) {
        DW_COUNT(c, TUNNEL_GRE_VERSION);
        return PKT_SKIP;
    }
    if (fl & 0x4000) {
        DW_COUNT(c, TUNNEL_MALFORMED);
        return PKT_SKIP;
    }
    bool seq = (fl & 0x1000) != 0;
    wire_skip(w, ((fl & 0x8000) ? 4 : 0) + ((fl & 0x2000) ? 4 : 0) + (seq ? 4 : 0));
    if (!wire_ok(w)) {
        DW_COUNT(c, TUNNEL_MALFORMED);
        return PKT_SKIP;
    }
    if (type == ETH_P_ERSPAN && !seq) { /* type I: the mirrored frame follows GRE */
        if (!pkt_tunnel_enter(pi, c))
            return PKT_SKIP;
        DW_COUNT(c, TUNNEL_ERSPAN1);
        return pkt_eth(w, pi, frag, c);
    }
    if (type == ETH_P_ERSPAN) { /* type II: version 1, 8 bytes */
        uint32_t h = wire_u32(w);
        wire_skip(w, 4); /* reserved, index */
        if (!wire_ok(w) || h >> 28 != 1) {
            DW_COUNT(c, TUNNEL_MALFORMED);
            return PKT_SKIP;
        }
        if (!pkt_tunnel_enter(pi, c))
            return PKT_SKIP;
        DW_COUNT(c, TUNNEL_ERSPAN2);
        return pkt_eth(w, pi, frag, c);
    }
    if (type == ETH_P_ERSPAN3) {
        /* Version 2, 12 bytes; the O bit adds an 8-byte platform-specific subheader. The
         * frame type says what was mirrored: 0 Ethernet, 2 IP. */
        uint32_t h = wire_u32(w);
        wire_skip(w, 6); /* timestamp, security group tag */
        uint16_t f = wire_u16(w);
        if (f & 0x0001)
            wire_skip(w, 8);
        if (!wire_ok(w) || h >> 28 != 2) {
            DW_COUNT(c, TUNNEL_MALFORMED);
            return PKT_SKIP;
        }
        if (!pkt_tunnel_enter(pi, c))
            return PKT_SKIP;
        DW_COUNT(c, TUNNEL_ERSPAN3);
        unsigned ft = (f >> 10) & 0x1f;
        if (ft == 0)
            return pkt_eth(w, pi, frag, c);
        if (ft == 2)
            return pkt_ip(w, 0, pi, frag, c);
        DW_COUNT(c, TUNNEL_PROTO_OTHER);
        return PKT_SKIP;
    }
    if (type != ETH_P_TEB && type != ETH_P_IPV4 && type != ETH_P_IPV6) {
        DW_COUNT(c, TUNNEL_PROTO_OTHER);
        return PKT_SKIP;
    }
    if (!pkt_tunnel_enter(pi, c))
        return PKT_SKIP;
    DW_COUNT(c, TUNNEL_GRE);
    return pkt_tunnel_payload(w, type, pi, frag, c);
}

static enum pkt_result pkt_l4(uint8_t proto, const uint8_t *data, size_t len, bool cut,
                              pkt_info *pi, pkt_frag *frag, dw_counters *c)
{
    wire_ctx w = wire_init(data, len);
    /* A first fragment may put extension headers after the fragment header; the
     * reassembled payload then starts with them, and the victim's stack walks them. */
    for (int n = 0; pi->ip_version == 6 && pkt_is_v6_ext(proto); n++) {
        if (n == PKT_MAX_EXTHDR) {
            DW_COUNT(c, IP6_EXTHDR_TOO_MANY);
            return PKT_SKIP;
        }
        proto = pkt_v6_ext_skip(&w, proto);
        if (!wire_ok(&w)) {
            DW_COUNT(c, IP6_EXTHDR_TRUNCATED);
            return PKT_SKIP;
        }
    }
    pi->proto = proto;
    if (proto == IPPROTO_UDP_) {
        enum pkt_result r = pkt_udp(&w, pi, c);
        /* From port 53 it is a DNS response, even to a client port that happens to be a
         * tunnel's (tunnel senders pick source ports from the dynamic range). */
        if (r != PKT_OK || pi->sport == 53)
            return r;
        if (pi->dport == UDP_PORT_VXLAN || pi->dport == UDP_PORT_VXLAN_LINUX)
            return pkt_vxlan(pi, frag, c);
        if (pi->dport == UDP_PORT_GENEVE)
            return pkt_geneve(pi, frag, c);
        return PKT_OK;
    }
    if (proto == IPPROTO_TCP_)
        return pkt_tcp(&w, cut, pi, c);
    if (proto == IPPROTO_GRE_)
        return pkt_gre(&w, pi, frag, c);
    DW_COUNT(c, IP_PROTO_OTHER);
    return PKT_SKIP;
}

enum pkt_result pkt_parse_l4(uint8_t proto, const uint8_t *data, size_t len, pkt_info *pi,
                             dw_counters *c)
{
    pkt_frag frag;
    memset(&frag, 0, sizeof frag);
    uint8_t outer = pi->tunnels;
    enum pkt_result r = pkt_l4(proto, data, len, false, pi, &frag, c);
    if (pi->tunnels > outer)
        DW_COUNT(c, TUNNEL_OUTER_FRAG);
    /* A fragment inside a reassembled tunnel packet would have to be reassembled from
     * the reassembler's own buffer: dropped, counted. */
    if (r == PKT_FRAGMENT) {
        DW_COUNT(c, TUNNEL_FRAG_IN_FRAG);
        return PKT_SKIP;
    }
    return r;
}

static enum pkt_result pkt_ipv4(wire_ctx *w, pkt_info *pi, pkt_frag *frag, dw_counters *c)
{
    size_t avail = wire_left(w);
    uint8_t vhl = wire_u8(w);
    wire_skip(w, 1); /* TOS */
    uint16_t totlen = wire_u16(w);
    uint16_t id = wire_u16(w);
    uint16_t ff = wire_u16(w);
    uint8_t ttl = wire_u8(w);
    uint8_t proto = wire_u8(w);
    wire_skip(w, 2); /* checksum */
    wire_bytes(w, pi->src, 4);
    wire_bytes(w, pi->dst, 4);
    if (!wire_ok(w)) {
        DW_COUNT(c, IP_TRUNCATED);
        return PKT_SKIP;
    }
    if (vhl >> 4 != 4) {
        DW_COUNT(c, IP_BAD_VERSION);
        return PKT_SKIP;
    }
    size_t ihl = (size_t)(vhl & 0x0f) * 4;
    if (ihl < 20) {
        DW_COUNT(c, IP_BAD_HDRLEN);
        return PKT_SKIP;
    }
    if (totlen < ihl) {
        DW_COUNT(c, IP_BAD_TOTLEN);
        return PKT_SKIP;
    }
    wire_skip(w, ihl - 20); /* options */
    if (!wire_ok(w)) {
        DW_COUNT(c, IP_TRUNCATED);
        return PKT_SKIP;
    }
    pi->ip_version = 4;
    pi->proto = proto;
    pi->ip_ttl = ttl;
    /* The total length bounds the payload (Ethernet pads short frames); the capture
     * length bounds it too (snaplen). */
    bool cut = totlen > avail;
    size_t end = cut ? avail : totlen;
    wire_ctx pl = wire_sub(w, end - ihl);

    bool more = (ff & 0x2000) != 0;
    uint32_t offset = (uint32_t)(ff & 0x1fff) * 8;
    if (!more && offset == 0)
        return pkt_l4(proto, pl.base, pl.len, cut, pi, frag, c);

    /* The protocol is part of the IPv4 reassembly key, so a fragment of anything else
     * can never become part of a UDP/TCP datagram or a tunnel. */
    if (!pkt_is_carried(proto)) {
        DW_COUNT(c, IP_PROTO_OTHER);
        return PKT_SKIP;
    }
    if (cut) { /* a fragment missing its tail would leave a hole or a wrong end */
        DW_COUNT(c, FRAG_BAD);
        return PKT_SKIP;
    }
    frag->is_fragment = true;
    frag->id = id;
    frag->offset = offset;
    frag->more = more;
    frag->next_proto = proto;
    frag->ttl = ttl;
    frag->data = pl.base;
    frag->len = pl.len;
    return PKT_FRAGMENT;
}

static enum pkt_result pkt_ipv6(wire_ctx *w, pkt_info *pi, pkt_frag *frag, dw_counters *c)
{
    size_t avail = wire_left(w);
    uint8_t v = wire_u8(w);
    wire_skip(w, 3); /* traffic class, flow label */
    uint16_t plen = wire_u16(w);
    uint8_t nh = wire_u8(w);
    uint8_t hops = wire_u8(w);
    wire_bytes(w, pi->src, 16);
    wire_bytes(w, pi->dst, 16);
    if (!wire_ok(w)) {
        DW_COUNT(c, IP_TRUNCATED);
        return PKT_SKIP;
    }
    if (v >> 4 != 6) {
        DW_COUNT(c, IP_BAD_VERSION);
        return PKT_SKIP;
    }
    /* Zero is a jumbogram (RFC 2675): never a DNS message, and its real length hides in
     * a hop-by-hop option. */
    if (plen == 0) {
        DW_COUNT(c, IP_BAD_TOTLEN);
        return PKT_SKIP;
    }
    pi->ip_version = 6;
    pi->ip_ttl = hops;
    bool cut = (size_t)plen > avail - 40;
    wire_ctx pl = wire_sub(w, cut ? avail - 40 : plen);

    for (int n = 0;; n++) {
        if (nh != IPPROTO_FRAGMENT_ && !pkt_is_v6_ext(nh)) {
            pi->proto = nh;
            return pkt_l4(nh, wire_ptr(&pl), wire_left(&pl), cut, pi, frag, c);
        }
        if (n == PKT_MAX_EXTHDR) {
            DW_COUNT(c, IP6_EXTHDR_TOO_MANY);
            return PKT_SKIP;
        }
        if (nh != IPPROTO_FRAGMENT_) {
            nh = pkt_v6_ext_skip(&pl, nh);
            if (!wire_ok(&pl)) {
                DW_COUNT(c, IP6_EXTHDR_TRUNCATED);
                return PKT_SKIP;
            }
            continue;
        }
        uint8_t next = wire_u8(&pl);
        wire_skip(&pl, 1);
        uint16_t fo = wire_u16(&pl);
        uint32_t id = wire_u32(&pl);
        if (!wire_ok(&pl)) {
            DW_COUNT(c, IP6_EXTHDR_TRUNCATED);
            return PKT_SKIP;
        }
        uint32_t offset = fo & 0xfff8u;
        bool more = (fo & 1) != 0;
        if (offset == 0 && !more) { /* atomic fragment (RFC 6946): just the payload */
            nh = next;
            continue;
        }
        /* Only the first fragment's next header counts (the others' is ignored by the
         * receiver), so only there can we tell the datagram is not for us. */
        if (offset == 0 && !pkt_is_carried(next) && !pkt_is_v6_ext(next)) {
            pi->proto = next;
            DW_COUNT(c, IP_PROTO_OTHER);
            return PKT_SKIP;
        }
        if (cut) {
            DW_COUNT(c, FRAG_BAD);
            return PKT_SKIP;
        }
        pi->proto = next;
        frag->is_fragment = true;
        frag->id = id;
        frag->offset = offset;
        frag->more = more;
        frag->next_proto = next;
        frag->ttl = hops;
        frag->data = wire_ptr(&pl);
        frag->len = wire_left(&pl);
        return PKT_FRAGMENT;
    }
}

/* The IP packet at w's position: version ver, or 0 to read it from the first nibble. */
static enum pkt_result pkt_ip(wire_ctx *w, int ver, pkt_info *pi, pkt_frag *frag,
                              dw_counters *c)
{
    wire_ctx ip = wire_init(wire_ptr(w), wire_left(w));
    if (ver == 0) {
        wire_ctx peek = ip;
        uint8_t b = wire_u8(&peek);
        if (!wire_ok(&peek)) {
            DW_COUNT(c, IP_TRUNCATED);
            return PKT_SKIP;
        }
        ver = b >> 4;
        if (ver != 4 && ver != 6) {
            DW_COUNT(c, IP_BAD_VERSION);
            return PKT_SKIP;
        }
    }
    return ver == 4 ? pkt_ipv4(&ip, pi, frag, c) : pkt_ipv6(&ip, pi, frag, c);
}

enum pkt_result pkt_parse(int dlt, const uint8_t *data, size_t caplen, pkt_info *pi,
                          pkt_frag *frag, dw_counters *c)
{
    uint64_t ts = pi->ts_us;
    memset(pi, 0, sizeof *pi);
    pi->ts_us = ts;
    memset(frag, 0, sizeof *frag);
    static const uint8_t none[1];
    if (!data) { /* keeps pointer arithmetic defined for an empty frame */
        data = none;
        caplen = 0;
    }
    if (dlt == PKT_DLT_DNSWATCH)
        return dnstap_record_parse(data, caplen, pi, frag, c);

    wire_ctx w = wire_init(data, caplen);
    int ver = 0; /* 4, 6, or 0: decided by the version nibble */
    switch (dlt) {
    case PKT_DLT_EN10MB: {
        wire_skip(&w, 12); /* destination, source */
        uint16_t type = wire_u16(&w);
        if (!wire_ok(&w)) {
            DW_COUNT(c, LINK_TRUNCATED);
            return PKT_SKIP;
        }
        ver = pkt_ethertype(&w, type, pi, c);
        if (ver == 0)
            return PKT_SKIP;
        break;
    }
    case PKT_DLT_LINUX_SLL: {
        wire_skip(&w, 14); /* packet type, ARPHRD, address length, address */
        uint16_t type = wire_u16(&w);
        if (!wire_ok(&w)) {
            DW_COUNT(c, LINK_TRUNCATED);
            return PKT_SKIP;
        }
        ver = pkt_ethertype(&w, type, pi, c);
        if (ver == 0)
            return PKT_SKIP;
        break;
    }
    case PKT_DLT_LINUX_SLL2: {
        uint16_t type = wire_u16(&w);
        wire_skip(&w, 18); /* reserved, ifindex, ARPHRD, packet type, address */
        if (!wire_ok(&w)) {
            DW_COUNT(c, LINK_TRUNCATED);
            return PKT_SKIP;
        }
        ver = pkt_ethertype(&w, type, pi, c);
        if (ver == 0)
            return PKT_SKIP;
        break;
    }
    case PKT_DLT_NULL: {
        /* Written in the capturing host's order: a family fits in 16 bits, so a value
         * that does not was written by a host of the other endianness. */
        uint32_t af = wire_u32le(&w);
        if (!wire_ok(&w)) {
            DW_COUNT(c, LINK_TRUNCATED);
            return PKT_SKIP;
        }
        if (af > 0xffff)
            af = (af >> 24) | ((af >> 8) & 0xff00) | ((af << 8) & 0xff0000) | (af << 24);
        ver = pkt_af(af, c);
        if (ver == 0)
            return PKT_SKIP;
        break;
    }
    case PKT_DLT_LOOP: {
        uint32_t af = wire_u32(&w);
        if (!wire_ok(&w)) {
            DW_COUNT(c, LINK_TRUNCATED);
            return PKT_SKIP;
        }
        ver = pkt_af(af, c);
        if (ver == 0)
            return PKT_SKIP;
        break;
    }
    case PKT_DLT_RAW:
    case PKT_DLT_RAW_BSD:
        break;
    case PKT_DLT_IPV4:
        ver = 4;
        break;
    case PKT_DLT_IPV6:
        ver = 6;
        break;
    default:
        DW_COUNT(c, LINK_UNSUPPORTED);
        return PKT_SKIP;
    }

    return pkt_ip(&w, ver, pi, frag, c);
}
