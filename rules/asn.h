/* ASN lookups on a GeoLite2-ASN / DB-IP ASN Lite layout MaxMind DB (libmaxminddb):
 * autonomous_system_number and autonomous_system_organization. Read-only after open;
 * lookups are safe from several threads.
 *
 * The file is read once into sealed anonymous memory (a memfd) and libmaxminddb maps that
 * copy, never the file: a database overwritten in place (cp over it, curl -o) cannot fault
 * a lookup (SIGBUS) or change under one. Replacing the database is noticed by comparing
 * asn_file_id values (the caller polls) and done by opening the new file aside. */
#ifndef DW_ASN_H
#define DW_ASN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

typedef struct asn_db asn_db;

/* What identifies one version of the file: a change in any field is a new file. */
typedef struct asn_file_id {
    uint64_t dev, ino, size;
    struct timespec mtime, ctime;
} asn_file_id;

/* stat(2) of path into *id: 0, or a negative errno. */
int asn_file_id_get(const char *path, asn_file_id *id);
bool asn_file_id_equal(const asn_file_id *a, const asn_file_id *b);

/* Opens path: copies it into memory, then checks it (metadata, database type, one lookup
 * per address family). On failure returns a negative code and writes one line into
 * err[errlen] naming the file and the reason (missing, unreadable, not a MaxMind DB,
 * truncated, not an ASN database: the metadata database_type must contain "ASN").
 * -EAGAIN: the file changed while it was being read (being written: try again later). */
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
/* The file as it was when it was read (compare with asn_file_id_get of the path). */
const asn_file_id *asn_db_file_id(const asn_db *db);

#endif
