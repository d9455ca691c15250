/* IPv4 and IPv6 prefix sets with longest-prefix match (a binary trie per family, nodes in
 * one array). Each prefix carries a uint32 value. Built once, then read-only. */
#ifndef DW_PREFIXSET_H
#define DW_PREFIXSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct prefixset prefixset;

prefixset *prefixset_new(void);
void prefixset_free(prefixset *s); /* accepts NULL */

/* family 4 (addr in the first 4 bytes) or 6. Host bits beyond plen are ignored.
 * Returns 0, -EINVAL (plen too long, bad family), -ENOMEM. */
int prefixset_add(prefixset *s, int family, const uint8_t addr[16], unsigned plen,
                  uint32_t value);

/* Flattens the trie into sorted, disjoint address ranges, each with its longest covering
 * prefix, so that a lookup is a binary search instead of a walk down the trie (some 20
 * nodes deep in a set of 1000 prefixes). Call once the set is complete; a later
 * prefixset_add drops the ranges again. Returns 0 or -ENOMEM (lookups still work, by the
 * trie). */
int prefixset_freeze(prefixset *s);

/* Longest-prefix match. On a hit returns true and, where non-NULL, the value and length
 * of the matching prefix. */
bool prefixset_lookup(const prefixset *s, int family, const uint8_t *addr, uint32_t *value,
                      unsigned *plen);

size_t prefixset_size(const prefixset *s);

/* Parses "192.0.2.0/24", "2001:db8::/32" or a bare address (a host prefix). Returns 0 and
 * fills family/addr/plen; *host_bits is set when bits beyond plen are non-zero (the
 * caller warns and suggests the masked form, written to masked[64] if non-NULL).
 * Returns -EINVAL with a static reason in *why otherwise. */
int prefix_parse(const char *text, int *family, uint8_t addr[16], unsigned *plen,
                 bool *host_bits, char *masked, const char **why);

/* "a.b.c.d/n" or "x::/n" into out[64]. */
void prefix_format(int family, const uint8_t addr[16], unsigned plen, char out[64]);

#endif
