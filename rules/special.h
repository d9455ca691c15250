/* The IANA special-purpose address ranges DESIGN.md lists, used by the rebinding check.
 * IPv4 hidden in IPv6 (IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96 and 64:ff9b:1::/48,
 * 6to4 2002::/16) is unwrapped and judged by its IPv4 value. */
#ifndef DW_SPECIAL_H
#define DW_SPECIAL_H

#include <stdint.h>

enum special_kind {
    SPECIAL_NONE = 0,     /* an ordinary public address */
    SPECIAL_REBIND = 1,   /* in a special-purpose range */
    SPECIAL_SINKHOLE = 2, /* 0.0.0.0 or :: (what blocklists answer) */
};

typedef struct special_result {
    enum special_kind kind;
    const char *range;    /* the matching range as text, e.g. "10.0.0.0/8"; NULL if none */
    const char *via;      /* the IPv6 wrapper unwrapped ("IPv4-mapped", "NAT64", "6to4") or NULL */
    int family;           /* family of the address actually judged (4 after unwrapping) */
    uint8_t judged[16];   /* that address */
} special_result;

/* Classifies an address (family 4: addr[0..3]; 6: addr[0..15]). */
special_result special_classify(int family, const uint8_t *addr);

#endif
