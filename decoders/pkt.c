/* Link layer, IP and transport headers. Every byte is read through wire.h; every way a
 * frame can fail to reach a UDP/TCP payload is counted in exactly one counter. */
#include "decoders/pkt.h"

#include <string.h>

#include "decoders/wire.h"

#define ETH_P_IPV4 0x0800
#define ETH_P_IPV6 0x86dd
#define ETH_P_8021Q 0x8100
#define ETH_P_8021AD 0x88a8
#define ETH_P_QINQ_OLD 0x9100 /* pre-802.1ad stacked tags, still seen on older switches */

#define IPPROTO_HOPOPTS_ 0
#define IPPROTO_TCP_ 6
#define IPPROTO_UDP_ 17
#define IPPROTO_ROUTING_ 43
#define IPPROTO_FRAGMENT_ 44
#define IPPROTO_AH_ 51
#define IPPROTO_DSTOPTS_ 60

/* Longer chains are legal but never legitimate for DNS; the bound keeps the walk cheap. */
#define PKT_MAX_EXTHDR 8

static bool pkt_is_l4(uint8_t p) { return p == IPPROTO_UDP_ || p == IPPROTO_TCP_; }

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

static enum pkt_result pkt_l4(uint8_t proto, const uint8_t *data, size_t len, bool cut,
                              pkt_info *pi, dw_counters *c)
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
    if (proto == IPPROTO_UDP_)
        return pkt_udp(&w, pi, c);
    if (proto == IPPROTO_TCP_)
        return pkt_tcp(&w, cut, pi, c);
    DW_COUNT(c, IP_PROTO_OTHER);
    return PKT_SKIP;
}

enum pkt_result pkt_parse_l4(uint8_t proto, const uint8_t *data, size_t len, pkt_info *pi,
                             dw_counters *c)
{
    return pkt_l4(proto, data, len, false, pi, c);
}

static enum pkt_result pkt_ipv4(wire_ctx *w, pkt_info *pi, pkt_frag *frag, dw_counters *c)
{
    size_t avail = wire_left(w);
    uint8_t vhl = wire_u8(w);
    wire_skip(w, 1); /* TOS */
    uint16_t totlen = wire_u16(w);
    uint16_t id = wire_u16(w);
    uint16_t ff = wire_u16(w);
    wire_skip(w, 1); /* TTL */
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
    /* The total length bounds the payload (Ethernet pads short frames); the capture
     * length bounds it too (snaplen). */
    bool cut = totlen > avail;
    size_t end = cut ? avail : totlen;
    wire_ctx pl = wire_sub(w, end - ihl);

    bool more = (ff & 0x2000) != 0;
    uint32_t offset = (uint32_t)(ff & 0x1fff) * 8;
    if (!more && offset == 0)
        return pkt_l4(proto, pl.base, pl.len, cut, pi, c);

    /* The protocol is part of the IPv4 reassembly key, so a fragment of anything else
     * can never become part of a UDP/TCP datagram. */
    if (!pkt_is_l4(proto)) {
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
    wire_skip(w, 1); /* hop limit */
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
    bool cut = (size_t)plen > avail - 40;
    wire_ctx pl = wire_sub(w, cut ? avail - 40 : plen);

    for (int n = 0;; n++) {
        if (nh != IPPROTO_FRAGMENT_ && !pkt_is_v6_ext(nh)) {
            pi->proto = nh;
            return pkt_l4(nh, wire_ptr(&pl), wire_left(&pl), cut, pi, c);
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
        if (offset == 0 && !pkt_is_l4(next) && !pkt_is_v6_ext(next)) {
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
        frag->data = wire_ptr(&pl);
        frag->len = wire_left(&pl);
        return PKT_FRAGMENT;
    }
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

    wire_ctx ip = wire_init(wire_ptr(&w), wire_left(&w));
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
