/* ASN lookups through libmaxminddb. The MMDB_s lives inside the handle and never moves
 * once opened: lookups only read it (libmaxminddb's lookups are re-entrant on a shared,
 * memory-mapped database), so one handle serves every worker thread. */
#include "rules/asn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>

struct asn_db {
    MMDB_s mmdb;
};

static int mmdb_code(int status, int saved_errno)
{
    switch (status) {
    case MMDB_FILE_OPEN_ERROR:
        return saved_errno ? -saved_errno : -EIO;
    case MMDB_OUT_OF_MEMORY_ERROR:
        return -ENOMEM;
    case MMDB_IO_ERROR:
        return saved_errno ? -saved_errno : -EIO;
    default:
        return -EINVAL; /* corrupt or not a MaxMind DB at all */
    }
}

int asn_db_open(const char *path, asn_db **out, char *err, size_t errlen)
{
    asn_db *db = NULL;
    int rc = 0;
    bool opened = false;
    char msg[512] = "";

    if (!path || !out) {
        rc = -EINVAL;
        snprintf(msg, sizeof msg, "asn database: no path given");
        goto out;
    }
    db = calloc(1, sizeof *db);
    if (!db) {
        rc = -ENOMEM;
        snprintf(msg, sizeof msg, "cannot open %s: out of memory", path);
        goto out;
    }
    errno = 0;
    int status = MMDB_open(path, MMDB_MODE_MMAP, &db->mmdb);
    int saved_errno = errno;
    if (status != MMDB_SUCCESS) {
        rc = mmdb_code(status, saved_errno);
        /* mmap() of a directory or an empty file fails with a misleading errno. */
        struct stat st;
        if ((status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) &&
            stat(path, &st) == 0) {
            if (S_ISDIR(st.st_mode)) {
                rc = -EISDIR;
                snprintf(msg, sizeof msg, "cannot open %s: %s", path, strerror(EISDIR));
                goto out;
            }
            if (S_ISREG(st.st_mode) && st.st_size == 0) {
                rc = -EINVAL;
                snprintf(msg, sizeof msg, "%s: not a MaxMind DB (the file is empty)", path);
                goto out;
            }
        }
        if ((status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) && saved_errno)
            snprintf(msg, sizeof msg, "cannot open %s: %s", path, strerror(saved_errno));
        else if (status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR ||
                 status == MMDB_OUT_OF_MEMORY_ERROR)
            snprintf(msg, sizeof msg, "cannot open %s: %s", path, MMDB_strerror(status));
        else
            snprintf(msg, sizeof msg, "%s: not a MaxMind DB (%s)", path,
                     MMDB_strerror(status));
        goto out;
    }
    opened = true;
    const char *type = db->mmdb.metadata.database_type;
    if (!type || !strcasestr(type, "ASN")) {
        rc = -EINVAL;
        snprintf(msg, sizeof msg,
                 "%s: not an ASN database (type %s); use a GeoLite2-ASN or DB-IP ASN Lite "
                 "file", path, type ? type : "(none)");
        goto out;
    }
out:
    if (rc != 0) {
        if (err && errlen > 0)
            snprintf(err, errlen, "%s", msg);
        if (opened)
            MMDB_close(&db->mmdb);
        free(db);
        return rc;
    }
    *out = db;
    return 0;
}

void asn_db_close(asn_db *db)
{
    if (!db)
        return;
    MMDB_close(&db->mmdb);
    free(db);
}

/* Looks up one field of the record; 1 with *d filled, 0 when absent, negative on error. */
static int get_field(MMDB_entry_s *entry, const char *key, MMDB_entry_data_s *d)
{
    /* MMDB_aget_value with a caller-built path: MMDB_get_value's varargs form allocates
     * the path array on every call, once per answer looked up. */
    const char *const path[] = {key, NULL};
    int status = MMDB_aget_value(entry, d, path);
    if (status == MMDB_LOOKUP_PATH_DOES_NOT_MATCH_DATA_ERROR)
        return 0;
    if (status != MMDB_SUCCESS)
        return -EIO;
    return d->has_data ? 1 : 0;
}

int asn_lookup(const asn_db *db, int family, const uint8_t *addr, asn_info *info)
{
    struct sockaddr_in sin;
    struct sockaddr_in6 sin6;
    const struct sockaddr *sa;
    int mmdb_err = 0;

    if (!db || !addr || !info)
        return -EINVAL;
    if (family == 4) {
        memset(&sin, 0, sizeof sin);
        sin.sin_family = AF_INET;
        memcpy(&sin.sin_addr, addr, 4);
        sa = (const struct sockaddr *)&sin;
    } else if (family == 6) {
        memset(&sin6, 0, sizeof sin6);
        sin6.sin6_family = AF_INET6;
        memcpy(&sin6.sin6_addr, addr, 16);
        sa = (const struct sockaddr *)&sin6;
    } else {
        return -EINVAL;
    }

    asn_info res = {0};
    MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&db->mmdb, sa, &mmdb_err);
    if (mmdb_err == MMDB_IPV6_LOOKUP_IN_IPV4_DATABASE_ERROR)
        goto not_found; /* an IPv4-only database knows nothing of this address */
    if (mmdb_err != MMDB_SUCCESS)
        return -EIO;
    if (!r.found_entry)
        goto not_found;

    MMDB_entry_data_s d;
    int rc = get_field(&r.entry, "autonomous_system_number", &d);
    if (rc < 0)
        return rc;
    if (rc == 0)
        goto not_found; /* a record without a number is no use to the ASN check */
    switch (d.type) {
    case MMDB_DATA_TYPE_UINT32:
        res.number = d.uint32;
        break;
    case MMDB_DATA_TYPE_UINT16:
        res.number = d.uint16;
        break;
    case MMDB_DATA_TYPE_INT32:
        if (d.int32 < 0)
            return -EIO;
        res.number = (uint32_t)d.int32;
        break;
    case MMDB_DATA_TYPE_UINT64:
        if (d.uint64 > UINT32_MAX)
            return -EIO;
        res.number = (uint32_t)d.uint64;
        break;
    default:
        return -EIO;
    }
    rc = get_field(&r.entry, "autonomous_system_organization", &d);
    if (rc < 0)
        return rc;
    if (rc == 1 && d.type == MMDB_DATA_TYPE_UTF8_STRING) {
        res.org = d.utf8_string;
        res.org_len = d.data_size;
    }
    *info = res;
    return 1;

not_found:
    *info = res;
    return 0;
}

const char *asn_db_type(const asn_db *db)
{
    return db ? db->mmdb.metadata.database_type : NULL;
}

uint64_t asn_db_build_epoch(const asn_db *db)
{
    return db ? db->mmdb.metadata.build_epoch : 0;
}
