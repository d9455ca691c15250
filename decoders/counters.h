/* Counters kept by the decoders, by reason. One dw_counters per worker; never shared
 * between threads, summed when reported. Malformed input is counted here, never logged
 * per packet and never asserted on. */
#ifndef DW_COUNTERS_H
#define DW_COUNTERS_H

#include <stdint.h>
#include <stdio.h>

/* X(NAME, "text printed at the end of an offline run"). Append inside a module's block. */
#define DW_COUNTER_LIST(X)                                                       \
    /* pipeline */                                                               \
    X(PACKETS, "packets read")                                                   \
    X(DNS_MESSAGES, "DNS messages decoded")                                      \
    X(DNS_QUERIES, "DNS queries seen")                                           \
    X(DNS_RESPONSES, "DNS responses seen")                                       \
    X(NOT_DNS_PORT, "packets not on a DNS port")                                 \
    X(DNS_ANSWER_QR_CLEAR, "DNS answers with QR clear, taken as responses")      \
    X(DNS_ANSWER_NO_QUESTION, "DNS responses without a question")                \
    /* link layer */                                                             \
    X(LINK_UNSUPPORTED, "unsupported link type")                                 \
    X(LINK_TRUNCATED, "link header truncated")                                   \
    X(ETHERTYPE_OTHER, "non-IP ethertype")                                       \
    X(VLAN_TOO_DEEP, "too many stacked VLAN tags")                               \
    /* IP */                                                                     \
    X(IP_TRUNCATED, "IP header truncated")                                       \
    X(IP_BAD_VERSION, "IP version mismatch")                                     \
    X(IP_BAD_HDRLEN, "IPv4 header length invalid")                               \
    X(IP_BAD_TOTLEN, "IP total length invalid")                                  \
    X(IP6_EXTHDR_TRUNCATED, "IPv6 extension header truncated")                   \
    X(IP6_EXTHDR_TOO_MANY, "IPv6 extension header chain too long")               \
    X(IP_PROTO_OTHER, "IP protocol not UDP or TCP")                              \
    /* tunnels (mirrored traffic) */                                             \
    X(TUNNEL_VXLAN, "VXLAN packets decoded")                                     \
    X(TUNNEL_GENEVE, "Geneve packets decoded")                                   \
    X(TUNNEL_GRE, "GRE packets decoded (IP or Ethernet inside)")                 \
    X(TUNNEL_ERSPAN1, "ERSPAN type I packets decoded")                           \
    X(TUNNEL_ERSPAN2, "ERSPAN type II packets decoded")                          \
    X(TUNNEL_ERSPAN3, "ERSPAN type III packets decoded")                         \
    X(TUNNEL_PPPOE, "PPPoE session frames decoded")                              \
    X(TUNNEL_MALFORMED, "tunnel headers malformed or truncated")                 \
    X(TUNNEL_GRE_VERSION, "GRE version not 0 (not decoded)")                     \
    X(TUNNEL_PROTO_OTHER, "tunnel payload neither Ethernet nor IP")              \
    X(TUNNEL_TOO_DEEP, "tunnels nested too deep (dropped)")                      \
    X(TUNNEL_OUTER_FRAG, "tunnel packets reassembled from outer IP fragments")   \
    X(TUNNEL_FRAG_IN_FRAG, "inner fragments in reassembled tunnels (dropped)")   \
    /* fragments */                                                              \
    X(FRAG_SEEN, "IP fragments seen")                                            \
    X(FRAG_REASSEMBLED, "IP datagrams reassembled")                              \
    X(FRAG_OVERLAP, "IP fragments overlapping")                                  \
    X(FRAG_DUPLICATE, "IP fragments duplicated")                                 \
    X(FRAG_TIMEOUT, "IP datagrams expired incomplete")                           \
    X(FRAG_TOO_MANY, "IP fragments over the per-datagram limit")                 \
    X(FRAG_TABLE_FULL, "IP datagrams evicted, reassembly table full")            \
    X(FRAG_MEM_FULL, "IP fragments dropped, reassembly memory full")             \
    X(FRAG_BAD, "IP fragments invalid (length, offset, size)")                   \
    X(FRAG_EVICT_UNCLAIMED, "IP datagrams lost to a full table: no claim")      \
    X(FRAG_EVICT_DNS, "IP datagrams lost to a full table: DNS port or to a DNS server") \
    X(FRAG_EVICT_SERVER, "IP datagrams lost to a full table: from a DNS server") \
    /* UDP */                                                                    \
    X(UDP_TRUNCATED, "UDP header truncated")                                     \
    X(UDP_BAD_LEN, "UDP length invalid")                                         \
    X(UDP_SHORT_CAPTURE, "UDP payload cut by snaplen")                           \
    /* TCP */                                                                    \
    X(TCP_TRUNCATED, "TCP header truncated")                                     \
    X(TCP_BAD_HDRLEN, "TCP header length invalid")                               \
    X(TCP_SHORT_CAPTURE, "TCP payload cut by snaplen")                           \
    X(TCP_GAP, "TCP gaps (message dropped, resynced)")                           \
    X(TCP_FLOW_EVICTED, "TCP flows evicted, table full")                         \
    X(TCP_FLOW_EXPIRED, "TCP flows expired")                                     \
    X(TCP_MEM_FULL, "TCP segments dropped, memory full")                         \
    X(TCP_MSG_TOO_SHORT, "TCP DNS messages shorter than a header")               \
    X(TCP_OUT_OF_ORDER, "TCP segments out of order")                             \
    X(TCP_MIDSTREAM, "TCP flows picked up mid-stream")                           \
    X(TCP_EVICT_UNCLAIMED, "TCP directions lost to a full table: no claim")     \
    X(TCP_EVICT_DNS, "TCP directions lost to a full table: handshake or to a DNS server") \
    X(TCP_EVICT_SERVER, "TCP directions lost to a full table: from a DNS server") \
    /* DNS message */                                                            \
    X(DNS_TRUNCATED_HEADER, "DNS header truncated")                              \
    X(DNS_BAD_QUESTION, "DNS question malformed")                                \
    X(DNS_BAD_NAME, "DNS name malformed")                                        \
    X(DNS_NAME_LOOP, "DNS compression loop")                                     \
    X(DNS_LABEL_TOO_LONG, "DNS label over 63 bytes")                             \
    X(DNS_NAME_TOO_LONG, "DNS name over 255 bytes")                              \
    X(DNS_BAD_LABEL_TYPE, "DNS label type reserved")                             \
    X(DNS_RR_TRUNCATED, "DNS record truncated")                                  \
    X(DNS_RDLEN_OVERRUN, "DNS rdlength past the end")                            \
    X(DNS_COUNT_OVERRUN, "DNS section counts beyond the data")                   \
    X(DNS_TRAILING_BYTES, "DNS messages with trailing bytes")                    \
    X(DNS_OPT_MISPLACED, "DNS OPT outside the additional section or repeated")   \
    X(DNS_OPT_BAD, "DNS OPT malformed")                                          \
    X(DNS_RDATA_BAD, "DNS record data malformed for its type")                   \
    X(DNS_QDCOUNT_NOT_ONE, "DNS messages without exactly one question")          \
    X(DNS_MUSL_VIEW_DIFFERS, "DNS answers musl would read differently")         \
    /* exchange tracking (rules/track.h) */                                      \
    X(TRACK_QUERIES_EVICTED, "tracked queries evicted unanswered, table full")   \
    X(TRACK_PAIRS_EVICTED, "client/server pairs evicted, tracking table full")   \
    X(TRACK_LATE, "responses after their query's timeout")                       \
    X(TRACK_RETRANSMITS, "responses repeating an exchange's first answer")       \
    X(TRACK_CONFLICTS, "responses contradicting an exchange's first answer")     \
    X(TRACK_UNMATCHED, "responses matching no tracked query")                    \
    X(TRACK_NEAR_MISSES, "responses matching no query while one was outstanding") \
    X(TRACK_STATE_LOST, "unmatched responses not judged: their pair lost state") \
    X(TRACK_INCIDENTS_FULL, "tracking incidents not opened, table full")         \
    X(TRACK_HELD_BACK, "tracking incidents held back, capture lost packets") \
    /* fragment conflicts (defrag.h) */                                          \
    X(FRAG_CONFLICT, "IP fragments contradicting bytes held for their datagram") \
    X(FRAG_CONFLICT_LATE, "IP fragments contradicting a datagram already reassembled") \
    X(FRAG_LATE_DUPLICATE, "IP fragments repeating a datagram already reassembled") \
    X(FRAG_RECENT_EVICTED, "reassembled datagrams forgotten early or not kept, memory full") \
    /* dnstap input (decoders/dnstap.c, sensor/input_dnstap.c) */                \
    X(DNSTAP_FRAMES, "dnstap data frames received")                              \
    X(DNSTAP_BAD_PROTOBUF, "dnstap frames not a valid Dnstap protobuf")          \
    X(DNSTAP_NOT_MESSAGE, "dnstap frames without a Message")                     \
    X(DNSTAP_BAD_TYPE, "dnstap messages of an unknown type")                     \
    X(DNSTAP_NO_DNS, "dnstap messages without the DNS message of their type")    \
    X(DNSTAP_BAD_ADDRESS, "dnstap messages with a malformed address or port")    \
    X(DNSTAP_BAD_ZONE, "dnstap query_zone malformed, left out")                  \
    X(DNSTAP_TEXT_CUT, "dnstap identity or version over 255 bytes, cut")         \
    X(DNSTAP_TOO_LARGE, "dnstap frames over the size bound, skipped")            \
    X(DNSTAP_RECORD_BAD, "dnstap records malformed (internal)")                  \
    X(DNSTAP_BAD_CONTROL, "Frame Streams control frames malformed or out of order") \
    X(DNSTAP_WRONG_CONTENT_TYPE, "Frame Streams streams of another content type") \
    X(DNSTAP_QUEUE_FULL, "dnstap messages dropped, queue to the workers full")   \
    X(DNSTAP_CONNECTIONS, "dnstap connections accepted")                         \
    X(DNSTAP_CONN_REFUSED, "dnstap connections refused (too many at once)")      \
    X(DNSTAP_CONN_LOST, "dnstap connections closed without STOP")

enum dw_counter_id {
#define DW_COUNTER_ENUM(name, text) DW_C_##name,
    DW_COUNTER_LIST(DW_COUNTER_ENUM)
#undef DW_COUNTER_ENUM
    DW_C__COUNT
};

typedef struct dw_counters {
    uint64_t v[DW_C__COUNT];
} dw_counters;

/* Each dw_counters has one writer (its worker); other threads (metrics) read it with
 * dw_counters_snapshot(). A relaxed atomic store of the incremented value is a plain
 * increment on the writer's side, yet a torn or raced read is impossible. */
#define DW_COUNT(c, name)                                                                  \
    __atomic_store_n(&(c)->v[DW_C_##name], (c)->v[DW_C_##name] + 1, __ATOMIC_RELAXED)

/* Name and text of a counter; NULL for an id out of range. */
const char *dw_counter_name(enum dw_counter_id id);
const char *dw_counter_text(enum dw_counter_id id);
/* dst = src, read with relaxed atomic loads: safe while src's writer runs. */
void dw_counters_snapshot(dw_counters *dst, const dw_counters *src);
/* dst += src, counter by counter. */
void dw_counters_add(dw_counters *dst, const dw_counters *src);
/* One line per non-zero counter: "dnswatch: <text>: <n>". */
void dw_counters_print(const dw_counters *c, FILE *out);

#endif
