/* Shared by the files of the dns module only (dns.c parses, dns_present.c and
 * dns_text.c render): the record-data cursors of the parser. Not for other modules. */
#ifndef DW_DNS_INTERNAL_H
#define DW_DNS_INTERNAL_H

#include "decoders/dns.h"
#include "decoders/wire.h"

/* A cursor over exactly one record's data, positioned at its start (offsets stay those
 * of the message); failed if the record lies outside the message. */
wire_ctx dns_rdata_cursor(const dns_msg *m, const dns_rr *rr);

/* The name at r inside record data: its stored bytes must end within the record
 * (pointers may lead anywhere in the message); moves r past it. Unpacks into out (may be
 * NULL) and its wire length into *wlen. 0, or a negative error as dns_name_unpack. */
int dns_rdata_name(const dns_msg *m, wire_ctx *r, uint8_t out[DNS_NAME_MAX], size_t *wlen);

#endif
