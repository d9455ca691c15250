/* DNS presentation: the text of what dns.c parsed. Names in master-file form, record
 * data, addresses as inet_ntop writes them, and the mnemonics of types, classes, rcodes
 * and opcodes. Nothing here allocates except dns_rdata_text_ldns (uncommon types). */
#ifndef DW_DNS_PRESENT_H
#define DW_DNS_PRESENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "decoders/dns.h"

/* Presentation text of the name at off: labels joined by '.', no trailing dot, the root
 * as "."; bytes outside [0-9A-Za-z_-] and '*' escaped the master-file way ("\." "\\"
 * for a dot or backslash inside a label, "\DDD" decimal for every other byte: '"',
 * space, '/', control bytes, bytes >= 0x80), so the text is printable ASCII and maps
 * back to the exact wire name.
 * lower: fold A-Z to a-z (for matching). Returns the text length, or a negative error as
 * dns_name_unpack. out must hold DNS_NAME_TEXT_MAX bytes. */
DW_MUST_USE
int dns_name_text(const uint8_t *msg, size_t len, size_t off, char out[DNS_NAME_TEXT_MAX],
                  bool lower);

/* dns_name_text on a parsed message (see dns_msg_name_unpack). */
DW_MUST_USE
int dns_msg_name_text(const dns_msg *m, size_t off, char out[DNS_NAME_TEXT_MAX], bool lower);

/* Same for a name already in uncompressed wire form. */
DW_MUST_USE
int dns_wirename_text(const uint8_t *wire, size_t wlen, char out[DNS_NAME_TEXT_MAX], bool lower);

/* Presentation text of a record's data into out[outlen]. A, AAAA, CNAME, DNAME, NS, PTR,
 * MX, TXT, SOA, SRV, SVCB/HTTPS are rendered here without allocating; any other type is
 * rendered by ldns (dns_text.c). Returns the length written (always NUL-terminated), or
 * a negative error when the data is malformed for its type (out then holds "\# N hex"
 * generic form if it fits, per RFC 3597), or -ENOSPC when the text was cut to fit.
 * Forms: A dotted quad; AAAA as inet_ntop (RFC 5952); names as dns_name_text (no
 * trailing dot); MX "10 mx.example.org"; SOA "mname rname serial refresh retry expire
 * minimum"; SRV "prio weight port target"; TXT every string in double quotes with '"'
 * and '\' backslash-escaped and bytes outside 0x20..0x7e as \DDD, separated by a space;
 * SVCB/HTTPS "prio target key=value..." per RFC 9460 (mandatory, alpn, no-default-alpn,
 * port, ipv4hint, ech as base64, ipv6hint, dohpath and keyN="..."). The ldns text is
 * printable ASCII too (control bytes as \DDD), with names in the same form. */
int dns_rdata_text(const dns_msg *m, const dns_rr *rr, char *out, size_t outlen);

/* Internal to the dns module, declared here for dns_text.c and the tests:
 * dns_rdata_text_ldns renders any type through ldns (allocates; same contract as
 * dns_rdata_text), dns_rdata_generic writes the RFC 3597 form "\# N hex" (cut to fit;
 * -ENOSPC if cut). */
int dns_rdata_text_ldns(const dns_msg *m, const dns_rr *rr, char *out, size_t outlen);
int dns_rdata_generic(const dns_msg *m, const dns_rr *rr, char *out, size_t outlen);

#define DNS_IPV6_TEXT_MAX 46
/* An IPv6 address as RFC 5952 text, identical to inet_ntop's. */
void dns_format_ipv6(const uint8_t a[16], char out[DNS_IPV6_TEXT_MAX]);
/* Address text as inet_ntop writes it, without sprintf: family 6 a 16-byte IPv6 address,
 * any other a 4-byte IPv4 address (dotted quad). */
void dns_format_ip(int family, const uint8_t *a, char out[DNS_IPV6_TEXT_MAX]);

/* The reverse of dns_format_ip: IPv4 dotted-quad text (4 bytes into out) or IPv6 text
 * (16 bytes), as inet_pton reads them. Returns the family, 4 or 6, or -EINVAL; out is
 * written only on success, and only as many bytes as the family has. */
DW_MUST_USE
int dns_parse_ip(const char *text, uint8_t out[16]);

/* Mnemonics: "A", "AAAA", ... or "TYPE1234" in buf (buf must hold 16 bytes). */
const char *dns_type_name(uint16_t type, char buf[16]);
const char *dns_class_name(uint16_t rclass, char buf[16]);
/* "answer", "authority" or "additional" for an enum dns_section; "?" otherwise. */
const char *dns_section_name(unsigned section);
const char *dns_rcode_name(uint16_t rcode, char buf[16]);
const char *dns_opcode_name(uint8_t opcode, char buf[16]);

/* The header flags that have a mnemonic, in header order: QR AA TC RD RA AD CD (Z has
 * none; opcode and rcode are not flags). Flag i (0 <= i < DNS_FLAG_COUNT) is the bit
 * *bit of the flags word (dns_msg or dns_header) and its mnemonic is returned, a static
 * string. Inline so that a loop over the flags unrolls to seven tests: every event
 * writes them. */
#define DNS_FLAG_COUNT 7
static inline const char *dns_flag(size_t i, uint16_t *bit)
{
    static const uint16_t bits[DNS_FLAG_COUNT] = {DNS_F_QR, DNS_F_AA, DNS_F_TC, DNS_F_RD,
                                                  DNS_F_RA, DNS_F_AD, DNS_F_CD};
    static const char *const names[DNS_FLAG_COUNT] = {"QR", "AA", "TC", "RD", "RA", "AD", "CD"};
    *bit = bits[i];
    return names[i];
}

#endif
