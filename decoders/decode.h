/* Frame to DNS messages: link layer, IP, fragments, UDP/TCP, TCP streams. One decoder
 * per worker thread; not thread-safe. */
#ifndef DW_DECODE_H
#define DW_DECODE_H

#include <stddef.h>
#include <stdint.h>

#include "decoders/counters.h"
#include "decoders/defrag.h"
#include "decoders/pkt.h"
#include "decoders/tcpstream.h"

#define DW_MAX_PORTS 16

typedef struct dw_decoder dw_decoder;

typedef struct dw_decoder_config {
    uint16_t ports[DW_MAX_PORTS]; /* DNS ports, either direction (default: 53) */
    unsigned n_ports;
    defrag_limits frag;
    tcp_limits tcp;
} dw_decoder_config;

/* Called for each DNS message found: pi says where it came from (payload fields unset
 * for TCP), msg is valid only during the call. */
typedef void (*dw_dns_fn)(void *ctx, const pkt_info *pi, const uint8_t *msg, size_t len);

void dw_decoder_config_default(dw_decoder_config *cfg);
/* Counters are the caller's and must outlive the decoder. NULL on allocation failure. */
dw_decoder *dw_decoder_new(const dw_decoder_config *cfg, dw_counters *c);
void dw_decoder_free(dw_decoder *d); /* accepts NULL */

/* Feeds one captured frame of link type dlt. ts_us: capture time in microseconds.
 * Expires fragments and TCP flows by packet time, about once a second of it. */
void dw_decoder_packet(dw_decoder *d, int dlt, uint64_t ts_us, const uint8_t *data,
                       size_t caplen, dw_dns_fn fn, void *ctx);

/* End of input: delivers what the TCP streams still hold that is complete (messages
 * waiting behind a hole), as a FIN would. */
void dw_decoder_flush(dw_decoder *d, dw_dns_fn fn, void *ctx);

#endif
