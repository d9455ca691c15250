/* ASN lookups through libmaxminddb. The MMDB_s lives inside the handle and never moves
 * once opened: lookups only read it (libmaxminddb's lookups are re-entrant on a shared,
 * memory-mapped database), so one handle serves every worker thread.
 *
 * libmaxminddb only opens files by name and maps them: a mapping of the operator's file
 * dies with SIGBUS the moment that file is truncated (cp and curl -o rewrite in place).
 * So the file is copied into a memfd, sealed against any size or content change, and
 * libmaxminddb opens that copy through /proc/self/fd. Nobody else holds the memfd. */
#include "rules/asn.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

/* Far above any ASN database (GeoLite2-ASN is ~10 MB): a bound on the memory a wrong
 * path (a disk image, /dev/zero) can take. */
#define ASN_DB_MAX_BYTES (1ull << 30)

struct asn_db {
    MMDB_s mmdb;
    asn_file_id id;
};

static void file_id_from(const struct stat *st, asn_file_id *id)
{
    memset(id, 0, sizeof *id);
    id->dev = (uint64_t)st->st_dev;
    id->ino = (uint64_t)st->st_ino;
    id->size = (uint64_t)st->st_size;
    id->mtime = st->st_mtim;
    id->ctime = st->st_ctim;
}

int asn_file_id_get(const char *path, asn_file_id *id)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return -errno;
    file_id_from(&st, id);
    return 0;
}

bool asn_file_id_equal(const asn_file_id *a, const asn_file_id *b)
{
    return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
           a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
           a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

/* Copies the regular file path into a sealed memfd. Returns the memfd (>= 0) with *id
 * the file as read, or a negative code with msg filled. */
static int copy_to_memfd(const char *path, asn_file_id *id, char *msg, size_t msglen)
{
    int in = -1, mfd = -1, rc = 0;
    char buf[64 << 10];
    struct stat before, after;

    in = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
    if (in < 0) {
        rc = -errno;
        snprintf(msg, msglen, "cannot open %s: %s", path, strerror(-rc));
        goto out;
    }
    if (fstat(in, &before) != 0) {
        rc = -errno;
        snprintf(msg, msglen, "cannot open %s: %s", path, strerror(-rc));
        goto out;
    }
    if (S_ISDIR(before.st_mode)) {
        rc = -EISDIR;
        snprintf(msg, msglen, "cannot open %s: %s", path, strerror(EISDIR));
        goto out;
    }
    if (!S_ISREG(before.st_mode)) {
        rc = -EINVAL;
        snprintf(msg, msglen, "%s: not a regular file", path);
        goto out;
    }
    if (before.st_size == 0) {
        rc = -EINVAL;
        snprintf(msg, msglen, "%s: not a MaxMind DB (the file is empty)", path);
        goto out;
    }
    if ((uint64_t)before.st_size > ASN_DB_MAX_BYTES) {
        rc = -EFBIG;
        snprintf(msg, msglen, "%s: %lld bytes is too large for an ASN database", path,
                 (long long)before.st_size);
        goto out;
    }
    mfd = memfd_create("dnswatch-asn", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (mfd < 0) {
        rc = -errno;
        snprintf(msg, msglen, "cannot open %s: memfd_create: %s", path, strerror(-rc));
        goto out;
    }
    uint64_t total = 0;
    for (;;) {
        ssize_t k = read(in, buf, sizeof buf);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0) {
            rc = -errno;
            snprintf(msg, msglen, "cannot read %s: %s", path, strerror(-rc));
            goto out;
        }
        if (k == 0)
            break;
        total += (uint64_t)k;
        if (total > ASN_DB_MAX_BYTES) {
            rc = -EAGAIN; /* grew past its size at open: being written */
            break;
        }
        for (ssize_t done = 0; done < k;) {
            ssize_t w = write(mfd, buf + done, (size_t)(k - done));
            if (w < 0 && errno == EINTR)
                continue;
            if (w <= 0) {
                rc = w < 0 ? -errno : -EIO;
                snprintf(msg, msglen, "cannot copy %s into memory: %s", path, strerror(-rc));
                goto out;
            }
            done += w;
        }
    }
    if (rc == 0 && fstat(in, &after) != 0) {
        rc = -errno;
        snprintf(msg, msglen, "cannot read %s: %s", path, strerror(-rc));
        goto out;
    }
    asn_file_id a, b;
    file_id_from(&before, &a);
    if (rc == 0)
        file_id_from(&after, &b);
    if (rc == -EAGAIN || !asn_file_id_equal(&a, &b) || total != (uint64_t)after.st_size) {
        rc = -EAGAIN;
        snprintf(msg, msglen, "%s changed while it was being read (still being written?)",
                 path);
        goto out;
    }
    /* Sealed: neither we nor anything holding the descriptor can change or shrink it. */
    if (fcntl(mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) != 0) {
        rc = -errno;
        snprintf(msg, msglen, "cannot seal the copy of %s: %s", path, strerror(-rc));
        goto out;
    }
    *id = a;
out:
    if (in >= 0)
        close(in);
    if (rc != 0) {
        if (mfd >= 0)
            close(mfd);
        return rc;
    }
    return mfd;
}

/* A lookup in each family the database holds must not be a database error: a file whose
 * search tree or data section is cut short fails here rather than at the first packet. */
static int probe(const asn_db *db, char *msg, size_t msglen, const char *path)
{
    static const uint8_t v4[4] = {1, 1, 1, 1};
    static const uint8_t v6[16] = {0x20, 0x01, 0x48, 0x60};
    asn_info ai;
    int rc = asn_lookup(db, 4, v4, &ai);
    if (rc >= 0 && db->mmdb.metadata.ip_version == 6)
        rc = asn_lookup(db, 6, v6, &ai);
    if (rc < 0)
        snprintf(msg, msglen, "%s: damaged MaxMind DB (a test lookup fails)", path);
    return rc < 0 ? -EINVAL : 0;
}

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
    int rc = 0, mfd = -1;
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
    mfd = copy_to_memfd(path, &db->id, msg, sizeof msg);
    if (mfd < 0) {
        rc = mfd;
        goto out;
    }
    char proc[64];
    snprintf(proc, sizeof proc, "/proc/self/fd/%d", mfd);
    errno = 0;
    int status = MMDB_open(proc, MMDB_MODE_MMAP, &db->mmdb);
    int saved_errno = errno;
    if (status != MMDB_SUCCESS) {
        rc = mmdb_code(status, saved_errno);
        if (status == MMDB_FILE_OPEN_ERROR && saved_errno == ENOENT)
            snprintf(msg, sizeof msg, "cannot open the copy of %s: /proc is not mounted", path);
        else if ((status == MMDB_FILE_OPEN_ERROR || status == MMDB_IO_ERROR) && saved_errno)
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
    rc = probe(db, msg, sizeof msg, path);
out:
    if (mfd >= 0)
        close(mfd); /* the mapping keeps the copy */
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

const asn_file_id *asn_db_file_id(const asn_db *db)
{
    return db ? &db->id : NULL;
}
