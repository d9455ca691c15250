/* What `dnswatch learn` (sensor/learn.h) makes of its evidence before it writes a rule:
 * addresses aggregated into prefixes no wider than what was seen, and CNAME targets
 * generalised to a wildcard only where several of them share a suffix below their
 * registrable domain. Pure functions over caller-owned arrays; no I/O.
 *
 * The prefix rule (docs/rules.md "Learning rules"):
 *   - an address stands for its unit, the /24 (IPv4) or /48 (IPv6) around it: a CDN hands
 *     out the addresses of a unit interchangeably, and a rule that pages on the next
 *     address of the same /24 gets switched off;
 *   - two units (or two merged prefixes) are merged into their parent only when both
 *     siblings were seen: 10.40.2.0/24 and 10.40.3.0/24 give 10.40.2.0/23, 10.40.1.0/24
 *     alone stays a /24;
 *   - never wider than /16 (IPv4) or /32 (IPv6), however much was seen.
 *
 * The suffix rule: targets are grouped by registrable domain (the Public Suffix List's,
 * libpsl, so d1.cloudfront.net is its own registrable domain and never generalised); a
 * target is replaced by "*.S" when S is a suffix of it with more labels than its
 * registrable domain and at least LEARN_SUFFIX_MIN distinct targets lie below S. The
 * longest such S is taken (the narrowest wildcard), unless another target's wildcard
 * already covers it. */
#ifndef DW_LEARN_AGG_H
#define DW_LEARN_AGG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEARN_V4_UNIT 24
#define LEARN_V6_UNIT 48
#define LEARN_V4_WIDEST 16
#define LEARN_V6_WIDEST 32
#define LEARN_SUFFIX_MIN 3

/* One prefix and the evidence behind it. */
typedef struct learn_prefix {
    int family;           /* 4 or 6 */
    uint8_t addr[16];     /* masked to plen; IPv4 in the first 4 bytes */
    unsigned plen;
    uint64_t count;       /* answers seen inside */
    uint64_t first_us, last_us;
    uint8_t example[16];  /* the lowest address seen inside */
    unsigned n_units;     /* units merged into it (1 for a unit) */
} learn_prefix;

/* The unit of an address: its /24 or /48, masked, into out; returns the prefix length. */
unsigned learn_unit(int family, const uint8_t *addr, uint8_t out[16]);

/* Whether prefix (family, addr, plen) contains address a. */
bool learn_prefix_contains(const learn_prefix *p, int family, const uint8_t *a);

/* Merges v[0..n) in place by the prefix rule above and sorts the result (IPv4 first, then
 * by address). The entries must be distinct, non-overlapping prefixes (units are).
 * Counts and times are summed and widened, the example is the lowest; equal prefixes (the
 * same evidence from two names) become one. Returns the number
 * of prefixes left. */
size_t learn_prefixes_aggregate(learn_prefix *v, size_t n);

/* The registrable domain of name (a suffix of it, pointing into name), or NULL when name
 * is a public suffix itself or has none. */
typedef const char *(*learn_regdom_fn)(void *ctx, const char *name);

/* The libpsl registrable domain (the newest of the system's list and the built-in one);
 * ctx is unused. Without any list: the last two labels. */
const char *learn_regdom_psl(void *ctx, const char *name);

/* Applies the suffix rule to names[0..n) (lower case, no trailing dot, distinct). Writes
 * for each name the offset in it where its wildcard's suffix starts into off[i]: 0 keeps
 * the name itself; k > 0 stands for the pattern "*." followed by names[i] + k. */
void learn_suffixes_generalise(const char *const *names, size_t n, learn_regdom_fn regdom,
                               void *ctx, size_t *off);

#endif
