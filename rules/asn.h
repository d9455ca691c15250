/* ASN lookups on a GeoLite2-ASN / DB-IP ASN Lite layout MaxMind DB (libmaxminddb):
 * autonomous_system_number and autonomous_system_organization. Read-only after open;
 * lookups are safe from several threads. */
#ifndef DW_ASN_H
#define DW_ASN_H

#include <stddef.h>
#include <stdint.h>

typedef struct asn_db asn_db;

/* Opens path. On failure returns a negative code and writes one line into err[errlen]
 * naming the file and the reason (missing, unreadable, not a MaxMind DB, not an ASN
 * database: the metadata database_type must contain "ASN"). */
int asn_db_open(const char *path, asn_db **out, char *err, size_t errlen);
void asn_db_close(asn_db *db); /* accepts NULL */

typedef struct asn_info {
    uint32_t number;    /* 0 when the address is not in the database */
    const char *org;    /* organisation name, NOT NUL-terminated, valid while db is open */
    size_t org_len;
} asn_info;

/* Returns 1 and fills *info when found, 0 when not in the database, negative on a
 * database error. */
int asn_lookup(const asn_db *db, int family, const uint8_t *addr, asn_info *info);

/* database_type and build epoch from the metadata, for the start-up line. */
const char *asn_db_type(const asn_db *db);
uint64_t asn_db_build_epoch(const asn_db *db);

#endif
