/* Sets of DNS name patterns: exact names, "*.suffix" wildcards (any name strictly below
 * the suffix, label-aligned) and "*" (every name), each carrying a uint32 value (a rule
 * index). Lookup cost depends on the number of labels in the queried name, not on the
 * number of patterns: a hash of exact names and a hash of wildcard suffixes, probed once
 * per suffix of the name. Built once, then read-only (safe to share between threads). */
#ifndef DW_NAMESET_H
#define DW_NAMESET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct nameset nameset;

nameset *nameset_new(void);
void nameset_free(nameset *s); /* accepts NULL */

/* Normalises pattern (case folded, one trailing dot dropped) and adds it with value.
 * Returns 0, -EINVAL for a bad pattern (empty label, label > 63, name > 253 text bytes,
 * a '*' anywhere but as the whole first label), -ENOMEM. The same pattern may be added
 * with several values. */
int nameset_add(nameset *s, const char *pattern, uint32_t value);

/* Checks a pattern without adding it (same rules as nameset_add). On -EINVAL, *why is a
 * static English reason. */
int nameset_check_pattern(const char *pattern, const char **why);

/* Calls fn(ctx, value) for every pattern that matches name: presentation text, already
 * lower-case, no trailing dot ("." for the root). Returns the number of calls. */
unsigned nameset_match(const nameset *s, const char *name, size_t len,
                       void (*fn)(void *ctx, uint32_t value), void *ctx);

/* True if any pattern matches name. */
bool nameset_contains(const nameset *s, const char *name, size_t len);

size_t nameset_size(const nameset *s);

/* A queried name prepared once (the hash of the name and of every label-aligned suffix)
 * for lookups in several sets: the rule engine asks the same chain name of the ruleset's
 * names, of a rule's except list, its CNAME targets and its exceptions. The name must
 * stay valid while the query is used. */
#define NAMESET_SUFFIX_MAX 128
typedef struct nameset_query_suffix {
    uint32_t off, hash;
} nameset_query_suffix;
typedef struct nameset_query {
    const char *name;
    size_t len;
    uint32_t hash;
    unsigned nsuf;
    nameset_query_suffix suf[NAMESET_SUFFIX_MAX];
} nameset_query;

void nameset_query_init(nameset_query *q, const char *name, size_t len);

/* The hot path of the rule engine: prepares q from an uncompressed wire name (wlen bytes
 * available) and writes the name's lower-case presentation text, NUL-terminated, into
 * text (cap bytes; q points into it). The text is what the DNS reader writes for the name
 * (dns_wirename_text with lower case) when every byte of it is a letter, digit, '-' or '_';
 * for any other byte (one the reader would escape) or a malformed name it returns -EINVAL
 * and the caller takes the general path: the reader's text, then nameset_query_init. */
int nameset_query_wire(nameset_query *q, const uint8_t *wire, size_t wlen, char *text,
                       size_t cap);
unsigned nameset_match_query(const nameset *s, const nameset_query *q,
                             void (*fn)(void *ctx, uint32_t value), void *ctx);
bool nameset_contains_query(const nameset *s, const nameset_query *q);

#endif
