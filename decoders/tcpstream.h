/* DNS over TCP: per-direction reassembly of 2-byte length-prefixed messages (RFC 1035
 * 4.2.2, RFC 7766). Several messages in a segment, one message over many segments,
 * captures that start mid-stream, gaps (the broken message is dropped, the stream
 * resynchronises on the next plausible length prefix), out-of-order segments within a
 * bounded window. Memory is bounded per flow and in total; idle flows expire. */
#ifndef DW_TCPSTREAM_H
#define DW_TCPSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "decoders/counters.h"
#include "decoders/dnssrv.h"
#include "decoders/pkt.h"

typedef struct tcp_reasm tcp_reasm;

typedef struct tcp_limits {
    unsigned max_flows;        /* directions tracked at once (default 65536) */
    size_t max_flow_bytes;     /* buffered per direction (default 2 * 65537) */
    size_t max_total_bytes;    /* buffered in total (default 64 MiB) */
    unsigned timeout_ms;       /* idle direction lifetime (default 60000) */
} tcp_limits;

/* Called once per complete DNS message, in stream order. pi is the segment that
 * completed it (its ts, addresses, ports); msg is valid only during the call. */
typedef void (*tcp_msg_fn)(void *ctx, const pkt_info *pi, const uint8_t *msg, size_t len);

void tcp_limits_default(tcp_limits *l);
tcp_reasm *tcp_reasm_new(const tcp_limits *l);
void tcp_reasm_free(tcp_reasm *t); /* accepts NULL */

/* The DNS servers that rank directions' claims (see tcpstream.c); the caller's, read at
 * every segment, must outlive t. NULL: claims come from handshakes alone. */
void tcp_reasm_set_servers(tcp_reasm *t, const dnssrv *s);

/* Feeds one TCP segment (pi->payload may be empty: SYN/FIN/RST still matter). */
void tcp_reasm_segment(tcp_reasm *t, const pkt_info *pi, tcp_msg_fn fn, void *ctx,
                       dw_counters *c);

/* Drops directions idle longer than the timeout. */
void tcp_reasm_expire(tcp_reasm *t, uint64_t now_us, dw_counters *c);

/* Ends every direction as a FIN would: holes become gaps, complete messages held behind
 * them are delivered (pi carries the direction's addresses, ports and last time, no
 * payload), partial messages are dropped. For the end of an offline capture. */
void tcp_reasm_flush(tcp_reasm *t, tcp_msg_fn fn, void *ctx, dw_counters *c);

/* Buffer memory allocated, in use or pooled for reuse: never above max_total_bytes. */
size_t tcp_reasm_bytes_held(const tcp_reasm *t);
unsigned tcp_reasm_flows(const tcp_reasm *t);

#endif
