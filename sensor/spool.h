/* The publisher's on-disk spool: a bounded FIFO of records (event lines) in a directory.
 *
 * Layout: append-only segment files seg-<16 hex digits>.dws holding records
 *   magic "DWS1" | u32 length (LE) | u32 CRC-32C of length and data | data
 * and a small `cursor` file saying how far the oldest segment has been consumed. A torn
 * write (kill -9, full disk) or a damaged record fails its magic or checksum and is
 * skipped (counted in spool_corrupt; the records known lost in it in spool_lost); reading
 * resynchronises at the next valid record.
 * Segments are deleted once fully consumed. Data goes to the file with write(2) at every
 * spool_flush (the page cache survives a killed process; a power cut may lose what the
 * kernel had not written). One process at a time: the directory is locked (flock).
 *
 * Not thread-safe: the caller serialises every call. */
#ifndef DW_SPOOL_H
#define DW_SPOOL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "common/err.h"

typedef struct spool spool;

typedef struct spool_rec {
    const char *data; /* valid until the next call on the spool */
    size_t len;
} spool_rec;

#define SPOOL_MAX_RECORD (16u << 20)

/* For a process about to drop its privileges to uid:gid (--user): creates dir with its
 * parents (mode 0700; parents 0755) and gives it to uid:gid when it was made here or is
 * root's with nothing but spool files in it. Files inside are left alone: spool_open()
 * names any the user cannot write, with the fix. Returns 0 or a negative code with one
 * line in err. */
DW_MUST_USE
int spool_prepare_dir(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen);

/* Opens (creating it and its parents, mode 0700) dir and counts the records left by an
 * earlier run, which come out first. max_bytes bounds the files' total size. Returns 0 or
 * a negative code with one line in err; a spool file this process cannot read and write
 * (left by a run as root) is named there, with the chown that fixes it. */
DW_MUST_USE
int spool_open(const char *dir, uint64_t max_bytes, spool **out, char *err, size_t errlen);
void spool_free(spool *s);

/* Queues one record behind the others (buffered; spool_flush writes it). Returns 0,
 * -EDQUOT when the spool is at its configured bound (nothing written), -EMSGSIZE above
 * SPOOL_MAX_RECORD, or a negative errno from the file system (-ENOSPC: the disk is full;
 * the record is not queued). */
DW_MUST_USE
int spool_append(spool *s, const void *data, size_t len);
DW_MUST_USE
int spool_flush(spool *s);

/* The oldest records, at most max, without removing them; fewer than max is not the end.
 * Returns how many (0: empty). */
size_t spool_peek(spool *s, spool_rec *recs, size_t max);

/* Removes the n oldest records (delivered) and records that in the cursor. Returns 0, or
 * -ENOENT when fewer than n were there (all were removed). */
DW_MUST_USE
int spool_consume(spool *s, size_t n);

uint64_t spool_count(const spool *s);   /* records waiting */
uint64_t spool_bytes(const spool *s);   /* bytes on disk, consumed parts of a segment too */
uint64_t spool_corrupt(const spool *s); /* damaged or torn stretches skipped */
/* Records that were counted in the spool (appended this run, or found at open) and turned
 * out unreadable: damage met while reading, a record cut by a failed write. */
uint64_t spool_lost(const spool *s);

/* Gives up the records that could not be written yet (the disk refused them): returns how
 * many, and they leave spool_count. For the end of a run, when they would be lost
 * without a word. */
uint64_t spool_discard_unwritten(spool *s);

#endif
