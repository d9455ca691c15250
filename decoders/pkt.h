/* Link layer, IP and transport headers: bytes of one captured frame to the facts a DNS
 * decoder needs. Stateless; fragments and TCP streams are put together by defrag.h and
 * tcpstream.h, and decode.h drives all of them. */
#ifndef DW_PKT_H
#define DW_PKT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decoders/counters.h"

#define PKT_MAX_VLAN 4 /* tags recorded; deeper stacks are counted and dropped */
#define PKT_MAX_TUNNEL 4 /* encapsulations removed; deeper nesting is counted and dropped */

/* pcap DLT_* numbers as pcap_datalink() returns them (values fixed by libpcap). */
enum pkt_dlt {
    PKT_DLT_NULL = 0, PKT_DLT_EN10MB = 1, PKT_DLT_RAW = 12, PKT_DLT_RAW_BSD = 14,
    PKT_DLT_LOOP = 108, PKT_DLT_LINUX_SLL = 113, PKT_DLT_IPV4 = 228, PKT_DLT_IPV6 = 229,
    PKT_DLT_LINUX_SLL2 = 276
};

/* dnswatch's own record type (decoders/dnstap.h): a dnstap message, or a captured frame
 * with its link type. Outside the 16-bit range of pcap link types, so no capture file can
 * claim it, and pkt_dlt_supported() says no to it: only the dnstap input makes these. */
#define PKT_DLT_DNSWATCH 0x44570000

/* What a dnstap message said beyond addresses and ports (pkt_info.dnstap). The texts are
 * borrowed from the record, not NUL-terminated. */
typedef struct pkt_dnstap {
    uint8_t type;               /* dnstap Message.Type 1..14; 0: not from dnstap */
    uint8_t socket_protocol;    /* dnstap SocketProtocol 1..7; 0: not stated */
    uint8_t http_protocol;      /* dnstap HttpProtocol 1..3; 0: not stated */
    uint8_t identity_len, version_len, query_zone_len;
    const uint8_t *identity;    /* the resolver's name */
    const uint8_t *version;     /* its software and version */
    const uint8_t *query_zone;  /* wire-format name: the zone asked (bailiwick); len 0: none */
} pkt_dnstap;

/* What one frame (or one reassembled datagram) says. Pointers borrow the frame's bytes
 * or the reassembler's buffer, valid until the next packet is fed. */
typedef struct pkt_info {
    uint64_t ts_us;             /* capture time, microseconds since the epoch */
    uint16_t vlan[PKT_MAX_VLAN];/* outermost first */
    uint8_t n_vlan;
    uint8_t ip_version;         /* 4 or 6 */
    uint8_t src[16], dst[16];   /* IPv4 in the first 4 bytes */
    uint8_t proto;              /* 17 UDP, 6 TCP */
    uint8_t ip_ttl;             /* IPv4 TTL / IPv6 hop limit (of the fragment at offset 0
                                 * for a reassembled datagram) */
    uint16_t sport, dport;
    uint32_t tcp_seq;
    uint8_t tcp_flags;          /* FIN 0x01 SYN 0x02 RST 0x04 PSH 0x08 ACK 0x10 */
    bool reassembled;           /* came from IP fragments */
    /* Set on a reassembled datagram whose fragments contradicted each other (defrag.h):
     * NULL otherwise. Owned by the reassembler, valid as long as the payload. */
    const struct pkt_frag_conflict *frag_conflict;
    uint8_t tunnels;            /* encapsulations removed (VXLAN, Geneve, GRE, ERSPAN);
                                 * the other fields are the innermost packet's */
    const uint8_t *payload;     /* UDP or TCP payload */
    size_t payload_len;
    pkt_dnstap dnstap;          /* from a dnstap message (type != 0): the payload is one
                                 * whole DNS message, whatever the transport */
} pkt_info;

#define PKT_TCP_FIN 0x01
#define PKT_TCP_SYN 0x02
#define PKT_TCP_RST 0x04

/* One fragment of a datagram, as evidence: where it lay in the reassembled IP payload
 * (the UDP header included), when it arrived, and the IP TTL / hop limit it came with
 * (0: not kept). */
typedef struct pkt_frag_piece {
    uint32_t off, len;
    uint64_t ts_us;
    uint8_t ttl;
} pkt_frag_piece;

/* Two fragments of one datagram that cover the same bytes with different contents
 * (fragment_conflict). The receiver keeps the bytes that came first (defrag.h). */
typedef struct pkt_frag_conflict {
    pkt_frag_piece first;       /* the fragment whose bytes were kept (ts_us 0: unknown) */
    pkt_frag_piece second;      /* the fragment that said otherwise */
    uint32_t diff_off;          /* the first differing byte, offset in the IP payload */
    unsigned count;             /* contradicting fragments seen for the datagram so far */
    bool late;                  /* second came after the datagram had been reassembled and
                                 * delivered: the message is delivered again to be judged
                                 * for this alone */
} pkt_frag_conflict;

/* An IP fragment, as found by pkt_parse(). */
typedef struct pkt_frag {
    bool is_fragment;
    uint32_t id;                /* IPv4 16-bit id or IPv6 32-bit identification */
    uint32_t offset;            /* bytes */
    bool more;                  /* MF / M flag */
    uint8_t next_proto;         /* the protocol the reassembled payload carries */
    uint8_t ttl;                /* IPv4 TTL or IPv6 hop limit of the fragment */
    const uint8_t *data;        /* fragment payload */
    size_t len;
} pkt_frag;

enum pkt_result {
    PKT_OK = 0,       /* pi->payload is the UDP/TCP payload */
    PKT_FRAGMENT = 1, /* an IP fragment: *frag describes it, pi has addresses */
    PKT_SKIP = 2,     /* not for us (other protocol, malformed: counted in c) */
};

/* Parses a frame of link type dlt down to the UDP/TCP payload. The UDP length is
 * trusted over the IP length but never beyond the captured bytes. Tunnels are opened
 * (VXLAN on UDP 4789 and 8472, Geneve on UDP 6081, GRE with IP or Ethernet inside,
 * ERSPAN I/II/III, PPPoE sessions) up to PKT_MAX_TUNNEL deep; what is returned is the
 * innermost packet's. */
enum pkt_result pkt_parse(int dlt, const uint8_t *data, size_t caplen, pkt_info *pi,
                          pkt_frag *frag, dw_counters *c);

/* Parses the transport header at the start of a reassembled IP payload (proto 6/17, or
 * 47 / a UDP tunnel, which is opened: pi then describes the inner packet) into pi
 * (addresses already set). PKT_OK or PKT_SKIP; a fragment found inside a reassembled
 * tunnel is counted and skipped. */
enum pkt_result pkt_parse_l4(uint8_t proto, const uint8_t *data, size_t len, pkt_info *pi,
                             dw_counters *c);

/* Whether pkt_parse() understands this link type. */
bool pkt_dlt_supported(int dlt);

#endif
