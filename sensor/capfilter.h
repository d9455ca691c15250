/* The default capture filter: what the kernel lets through to the sensor when no --bpf
 * is given. It passes every frame the decoder can turn into DNS on the configured ports
 * and drops ordinary other traffic, so a busy span port costs little.
 *
 * On Ethernet the filter reads raw offsets for 0 to PKT_MAX_VLAN stacked tags (802.1Q,
 * 802.1ad, 0x9100) rather than libpcap's "vlan" keyword: the keyword's offset shifts are
 * cumulative across "or", and on Linux the kernel takes the outer tag out of the frame
 * before the filter sees it, so a tag count fixed in the filter would be wrong one way or
 * the other. Counting every depth works both ways.
 *
 * Passed whole (the filter cannot see inside them cheaply): IPv4 fragments after the
 * first, IPv6 with a fragment or any extension header (hop-by-hop, routing, destination
 * options, AH) after the fixed header, GRE (IP protocol 47: plain GRE and ERSPAN), UDP
 * to the VXLAN (4789, 8472) and Geneve (6081) ports. PPPoE session frames are filtered on
 * the DNS ports inside them (2-byte PPP protocol only). */
#ifndef DW_CAPFILTER_H
#define DW_CAPFILTER_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define CAPFILTER_MAX 65536 /* enough for 16 ports on Ethernet */

/* Writes the filter expression for link type dlt and the DNS ports into out. Returns 0,
 * or -ENOSPC when len is too small (out then holds an empty string). */
int capfilter_default(int dlt, const uint16_t *ports, unsigned n_ports, char *out, size_t len)
    DW_MUST_USE;

#endif
