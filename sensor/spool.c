#include "sensor/spool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <pwd.h>
#include <unistd.h>

#include "common/arr.h"
#include "common/num.h"

#define HDR 12u
#define MAGIC "DWS1"
#define CURSOR_MAGIC "DWC1"
#define CURSOR_LEN 28u
#define WBUF_SIZE (256u << 10)
#define RBUF_MIN (256u << 10)

typedef struct seg {
    uint64_t num;
    uint64_t size; /* bytes in the file (written, not buffered) */
} seg;

/* A window over one segment file: [boff, boff + blen) of it is in buf. */
typedef struct reader {
    int fd;
    uint64_t size;
    char *buf;
    size_t cap;
    uint64_t boff;
    size_t blen;
} reader;

struct spool {
    int dirfd, lockfd, curfd;
    uint64_t max_bytes, seg_max;
    seg *segs; /* oldest first; the last is the write segment when w_fd >= 0 */
    size_t nsegs, capsegs;
    uint64_t next_num;  /* segment numbers are never reused: the cursor names them */
    uint64_t first_new; /* segments from this run; damage in older ones is counted at open */
    int w_fd;
    char *wbuf;
    size_t wlen, wcap;
    reader rd;   /* over segs[0] */
    uint64_t r_num;
    uint64_t r_off;
    uint64_t *peek_ends; /* file offset after each record of the last peek */
    size_t peek_n, peek_cap;
    spool_rec *tmp;
    uint64_t count, disk, corrupt;
    uint64_t wrecs; /* records in wbuf (counted in count, not yet on disk) */
    uint64_t lost;  /* records counted in count that turned out unreadable */
};

/* ---- CRC-32C (Castagnoli), table driven ---- */

static uint32_t crc_table[256];

static void crc_init(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
        crc_table[i] = c;
    }
}

static uint32_t crc32c(uint32_t crc, const void *data, size_t n)
{
    const unsigned char *p = data;
    crc = ~crc;
    while (n--)
        crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

static void put32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put64(unsigned char *p, uint64_t v)
{
    put32(p, (uint32_t)v);
    put32(p + 4, (uint32_t)(v >> 32));
}

static uint64_t get64(const unsigned char *p)
{
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static void seg_name(char *buf, size_t len, uint64_t num)
{
    snprintf(buf, len, "seg-%016" PRIx64 ".dws", num);
}

/* ---- reading ---- */

static bool in_window(const reader *r, uint64_t off, size_t need)
{
    return off >= r->boff && off + need <= r->boff + r->blen;
}

static int rd_fill(reader *r, uint64_t off, size_t need)
{
    if (in_window(r, off, need))
        return 0;
    size_t want = need > RBUF_MIN ? need : RBUF_MIN;
    if (want > r->size - off)
        want = (size_t)(r->size - off);
    if (want > r->cap) {
        char *nb = realloc(r->buf, want);
        if (!nb)
            return -ENOMEM;
        r->buf = nb;
        r->cap = want;
    }
    size_t got = 0;
    while (got < want) {
        ssize_t k = pread(r->fd, r->buf + got, want - got, (off_t)(off + got));
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        got += (size_t)k;
    }
    r->boff = off;
    r->blen = got;
    return got >= need ? 0 : -EIO;
}

/* The next valid record at or after *off; on 1, *off is just past it and data points into
 * the window. 0: end of the file. 2: the window would have to move (only when keep, which
 * protects pointers handed out earlier). Damage is skipped, setting *skipped. */
static int rd_next(reader *r, uint64_t *off, const char **data, size_t *dlen, bool *skipped,
                   bool keep)
{
    for (;;) {
        uint64_t o = *off;
        if (o >= r->size)
            return 0;
        if (o + HDR > r->size) { /* a torn header at the tail */
            *skipped = true;
            *off = r->size;
            return 0;
        }
        if (keep && !in_window(r, o, HDR))
            return 2;
        int rc = rd_fill(r, o, HDR);
        if (rc)
            return rc;
        const unsigned char *p = (const unsigned char *)r->buf + (o - r->boff);
        uint32_t len = get32(p + 4);
        if (memcmp(p, MAGIC, 4) == 0 && len <= SPOOL_MAX_RECORD && o + HDR + len <= r->size) {
            if (keep && !in_window(r, o, HDR + len))
                return 2;
            rc = rd_fill(r, o, HDR + len);
            if (rc)
                return rc;
            p = (const unsigned char *)r->buf + (o - r->boff);
            if (crc32c(crc32c(0, p + 4, 4), p + HDR, len) == get32(p + 8)) {
                *data = (const char *)p + HDR;
                *dlen = len;
                *off = o + HDR + len;
                return 1;
            }
        }
        /* Damaged: resynchronise at the next magic. */
        *skipped = true;
        uint64_t from = o + 1;
        uint64_t wend = r->boff + r->blen;
        const char *hit = NULL;
        if (from >= r->boff && from < wend)
            hit = memmem(r->buf + (from - r->boff), (size_t)(wend - from), MAGIC, 4);
        if (hit) {
            *off = r->boff + (uint64_t)(hit - r->buf);
        } else {
            *off = wend >= 3 && wend - 3 > from ? wend - 3 : from;
            if (keep)
                return 2;
            r->blen = 0;
        }
    }
}

static int open_seg(spool *s, uint64_t num, int flags)
{
    char name[64];
    seg_name(name, sizeof name, num);
    return openat(s->dirfd, name, flags | O_CLOEXEC, 0600);
}

static void write_cursor(spool *s)
{
    unsigned char b[CURSOR_LEN];
    memcpy(b, CURSOR_MAGIC, 4);
    put64(b + 4, s->nsegs ? s->segs[0].num : s->next_num);
    put64(b + 12, s->nsegs ? s->r_off : 0);
    put32(b + 20, 0);
    put32(b + 24, crc32c(0, b, 24));
    if (s->curfd >= 0 && pwrite(s->curfd, b, sizeof b, 0) != (ssize_t)sizeof b) {
        /* A stale cursor only means records are sent again after a restart. */
    }
}

/* Deletes fully consumed segments from the head (the write segment too, once drained). */
static void trim(spool *s)
{
    while (s->nsegs) {
        seg *h = &s->segs[0];
        bool is_w = s->w_fd >= 0 && s->nsegs == 1;
        if (s->r_off < h->size || (is_w && s->wlen))
            break;
        char name[64];
        seg_name(name, sizeof name, h->num);
        if (s->rd.fd >= 0)
            close(s->rd.fd);
        s->rd.fd = -1;
        s->rd.blen = 0;
        if (is_w) {
            close(s->w_fd);
            s->w_fd = -1;
        }
        unlinkat(s->dirfd, name, 0);
        s->disk -= h->size;
        memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof *s->segs);
        s->nsegs--;
        s->r_off = 0;
    }
}

static int head_reader(spool *s)
{
    if (s->rd.fd >= 0 && s->r_num == s->segs[0].num) {
        s->rd.size = s->segs[0].size;
        return 0;
    }
    if (s->rd.fd >= 0)
        close(s->rd.fd);
    s->rd.fd = open_seg(s, s->segs[0].num, O_RDONLY);
    s->rd.blen = 0;
    if (s->rd.fd < 0)
        return -errno;
    s->r_num = s->segs[0].num;
    s->rd.size = s->segs[0].size;
    return 0;
}

static int ensure_peek_cap(spool *s, size_t max)
{
    if (max <= s->peek_cap)
        return 0;
    uint64_t *e = realloc(s->peek_ends, max * sizeof *e);
    if (!e)
        return -ENOMEM;
    s->peek_ends = e;
    s->peek_cap = max;
    return 0;
}

/* After damage met while reading: how many records are really left (the readable ones
 * on disk from the head on, and the buffered ones), so that count never promises records
 * that cannot come out; the difference is counted as lost. Rare, so a full scan. The
 * read window is reused and emptied: call it with no record handed out. */
static void recount(spool *s)
{
    uint64_t left = s->wrecs;
    for (size_t i = 0; i < s->nsegs; i++) {
        reader r = {open_seg(s, s->segs[i].num, O_RDONLY), s->segs[i].size, s->rd.buf,
                    s->rd.cap, 0, 0};
        if (r.fd < 0)
            continue; /* unreadable: peek skips it */
        uint64_t off = i == 0 ? s->r_off : 0;
        for (;;) {
            const char *data;
            size_t dlen;
            bool skipped = false;
            if (rd_next(&r, &off, &data, &dlen, &skipped, false) != 1)
                break;
            left++;
        }
        s->rd.buf = r.buf;
        s->rd.cap = r.cap;
        close(r.fd);
    }
    s->rd.blen = 0;
    if (left < s->count) {
        s->lost += s->count - left;
        s->count = left;
    }
}

size_t spool_peek(spool *s, spool_rec *recs, size_t max)
{
    size_t n = 0;
    s->peek_n = 0;
    if (ensure_peek_cap(s, max) != 0)
        return 0;
    if (spool_flush(s) != 0) {
        /* the buffered records are simply not visible yet: a later flush retries */
    }
    while (n < max && s->nsegs) {
        if (head_reader(s) != 0) {
            /* An unreadable segment cannot be replayed: skip it rather than stall. */
            s->corrupt++;
            s->r_off = s->segs[0].size;
            trim(s);
            continue;
        }
        uint64_t off = n ? s->peek_ends[n - 1] : s->r_off;
        const char *data = NULL; /* set when rd_next returns 1 */
        size_t dlen = 0;
        bool skipped = false;
        int rc = rd_next(&s->rd, &off, &data, &dlen, &skipped, n > 0);
        if (n == 0 && skipped && (rc == 0 || rc == 1)) {
            if (s->segs[0].num >= s->first_new)
                s->corrupt++; /* damage in older segments was counted at open */
            s->r_off = rc == 1 ? off - HDR - dlen : off;
            recount(s);
            continue; /* read again from past the damage, in a fresh window */
        }
        if (rc == 1) {
            if (n == 0)
                s->r_off = off - HDR - dlen; /* remember the skipped damage */
            recs[n].data = data;
            recs[n].len = dlen;
            s->peek_ends[n++] = off;
        } else if (rc == 0 && n == 0) {
            uint64_t before = s->segs[0].num;
            s->r_off = off;
            trim(s);
            if (s->nsegs && s->segs[0].num == before)
                break;
        } else {
            break;
        }
    }
    s->peek_n = n;
    return n;
}

int spool_consume(spool *s, size_t n)
{
    int rc = 0;
    while (n > 0) {
        if (s->peek_n == 0) {
            size_t want = n < 256 ? n : 256;
            if (!s->tmp && !(s->tmp = malloc(256 * sizeof *s->tmp)))
                return -ENOMEM;
            if (spool_peek(s, s->tmp, want) == 0) {
                s->count = 0;
                rc = -ENOENT;
                break;
            }
        }
        size_t k = n < s->peek_n ? n : s->peek_n;
        s->r_off = s->peek_ends[k - 1];
        s->count = s->count >= k ? s->count - k : 0;
        n -= k;
        s->peek_n = 0;
        trim(s);
    }
    s->peek_n = 0;
    write_cursor(s);
    return rc;
}

/* ---- writing ---- */

int spool_flush(spool *s)
{
    if (!s->wlen)
        return 0;
    seg *w = &s->segs[s->nsegs - 1];
    size_t done = 0;
    while (done < s->wlen) {
        ssize_t k = write(s->w_fd, s->wbuf + done, s->wlen - done);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            int e = k < 0 ? errno : EIO;
            /* Leave no partial record behind; the buffer is kept for a later try. */
            if (done && ftruncate(s->w_fd, (off_t)w->size) != 0) {
                /* The bytes stay. The records written whole are on disk; the one cut in
                 * two is lost (the reader skips its head as damage): count it, and keep
                 * the buffer from the next record on. */
                size_t cut = 0;
                uint64_t whole = 0, torn = 0;
                while (cut < s->wlen) {
                    size_t end = cut + HDR + get32((unsigned char *)s->wbuf + cut + 4);
                    if (end > done) {
                        if (done > cut) {
                            torn = 1;
                            cut = end;
                        }
                        break;
                    }
                    cut = end;
                    whole++;
                }
                w->size += done;
                s->disk += done;
                memmove(s->wbuf, s->wbuf + cut, s->wlen - cut);
                s->wlen -= cut;
                s->wrecs -= whole + torn;
                s->count -= torn;
                s->lost += torn;
            }
            return -e;
        }
        done += (size_t)k;
    }
    w->size += s->wlen;
    s->disk += s->wlen;
    s->wlen = 0;
    s->wrecs = 0;
    return 0;
}

static int new_segment(spool *s)
{
    int rc = spool_flush(s);
    if (rc)
        return rc;
    if (ARR_RESERVE(s->segs, s->capsegs, s->nsegs + 1, 16) != 0)
        return -ENOMEM;
    int fd = open_seg(s, s->next_num, O_WRONLY | O_CREAT | O_EXCL | O_APPEND);
    if (fd < 0)
        return -errno;
    if (s->w_fd >= 0)
        close(s->w_fd);
    s->w_fd = fd;
    s->segs[s->nsegs].num = s->next_num++;
    s->segs[s->nsegs].size = 0;
    s->nsegs++;
    return 0;
}

int spool_append(spool *s, const void *data, size_t len)
{
    if (len > SPOOL_MAX_RECORD)
        return -EMSGSIZE;
    size_t rec = HDR + len;
    if (s->disk + s->wlen + rec > s->max_bytes)
        return -EDQUOT; /* the configured bound; the disk's own ENOSPC is another story */
    if (s->w_fd < 0 || s->segs[s->nsegs - 1].size + s->wlen + rec > s->seg_max) {
        if (s->w_fd < 0 || s->segs[s->nsegs - 1].size + s->wlen > 0) {
            int rc = new_segment(s);
            if (rc)
                return rc;
        }
    }
    if (s->wlen + rec > s->wcap) {
        int rc = spool_flush(s);
        if (rc)
            return rc;
        if (rec > s->wcap) {
            char *nb = realloc(s->wbuf, rec);
            if (!nb)
                return -ENOMEM;
            s->wbuf = nb;
            s->wcap = rec;
        }
    }
    unsigned char *p = (unsigned char *)s->wbuf + s->wlen;
    memcpy(p, MAGIC, 4);
    put32(p + 4, (uint32_t)len);
    if (len)
        memcpy(p + HDR, data, len);
    put32(p + 8, crc32c(crc32c(0, p + 4, 4), p + HDR, len));
    s->wlen += rec;
    s->wrecs++;
    s->count++;
    return 0;
}

/* ---- open ---- */

static int cmp_seg(const void *a, const void *b)
{
    uint64_t x = ((const seg *)a)->num, y = ((const seg *)b)->num;
    return x < y ? -1 : x > y;
}

static int list_segments(spool *s)
{
    int fd = dup(s->dirfd);
    if (fd < 0)
        return -errno;
    DIR *d = fdopendir(fd);
    if (!d) {
        int e = errno;
        close(fd);
        return -e;
    }
    struct dirent *de;
    int rc = 0;
    while ((de = readdir(d))) {
        uint64_t num;
        if (strncmp(de->d_name, "seg-", 4) != 0 || strlen(de->d_name) != 24 ||
            strcmp(de->d_name + 20, ".dws") != 0 ||
            num_parse_hex_u64n(de->d_name + 4, 16, &num) != 0)
            continue;
        struct stat st;
        if (fstatat(s->dirfd, de->d_name, &st, 0) != 0 || !S_ISREG(st.st_mode))
            continue;
        if (ARR_RESERVE(s->segs, s->capsegs, s->nsegs + 1, 16) != 0) {
            rc = -ENOMEM;
            break;
        }
        s->segs[s->nsegs].num = num;
        s->segs[s->nsegs].size = (uint64_t)st.st_size;
        s->nsegs++;
    }
    closedir(d);
    if (s->nsegs)
        qsort(s->segs, s->nsegs, sizeof *s->segs, cmp_seg);
    return rc;
}

/* Applies the cursor: drops consumed segments, positions the head, counts what is left. */
static int recover(spool *s)
{
    unsigned char b[CURSOR_LEN];
    uint64_t cseg = 0, coff = 0;
    if (pread(s->curfd, b, sizeof b, 0) == (ssize_t)sizeof b && memcmp(b, CURSOR_MAGIC, 4) == 0 &&
        crc32c(0, b, 24) == get32(b + 24)) {
        cseg = get64(b + 4);
        coff = get64(b + 12);
    }
    while (s->nsegs && s->segs[0].num < cseg) {
        char name[64];
        seg_name(name, sizeof name, s->segs[0].num);
        unlinkat(s->dirfd, name, 0);
        memmove(s->segs, s->segs + 1, (s->nsegs - 1) * sizeof *s->segs);
        s->nsegs--;
    }
    s->r_off = s->nsegs && s->segs[0].num == cseg && coff <= s->segs[0].size ? coff : 0;
    s->next_num = cseg + 1;
    for (size_t i = 0; i < s->nsegs; i++) {
        s->disk += s->segs[i].size;
        if (s->segs[i].num >= s->next_num)
            s->next_num = s->segs[i].num + 1;
    }
    s->first_new = s->next_num;
    for (size_t i = 0; i < s->nsegs; i++) {
        reader r = {open_seg(s, s->segs[i].num, O_RDONLY), s->segs[i].size, s->rd.buf,
                    s->rd.cap, 0, 0};
        if (r.fd < 0)
            return -errno;
        uint64_t off = i == 0 ? s->r_off : 0;
        for (;;) {
            const char *data;
            size_t dlen;
            bool skipped = false;
            int rc = rd_next(&r, &off, &data, &dlen, &skipped, false);
            if (skipped)
                s->corrupt++;
            if (rc == 1)
                s->count++;
            else
                break;
        }
        s->rd.buf = r.buf;
        s->rd.cap = r.cap;
        close(r.fd);
    }
    return 0;
}

/* mkdir -p: the parents 0755, dir itself mode. *created: dir did not exist. */
static int mkdir_parents(const char *dir, mode_t mode, bool *created)
{
    char path[4096];
    size_t n = strlen(dir);
    *created = false;
    if (n == 0 || n >= sizeof path)
        return -ENAMETOOLONG;
    memcpy(path, dir, n + 1);
    while (n > 1 && path[n - 1] == '/')
        path[--n] = '\0';
    for (char *p = path + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(path, 0755) != 0 && errno != EEXIST)
            return -errno;
        *p = '/';
    }
    if (mkdir(path, mode) == 0) {
        *created = true;
        return 0;
    }
    return errno == EEXIST ? 0 : -errno;
}

static bool is_spool_file(const char *name)
{
    return !strcmp(name, "lock") || !strcmp(name, "cursor") ||
           (!strncmp(name, "seg-", 4) && strlen(name) == 24 && !strcmp(name + 20, ".dws"));
}

static const char *user_name(uid_t uid, char *buf, size_t len)
{
    struct passwd pw, *res = NULL;
    char pbuf[1024];
    if (getpwuid_r(uid, &pw, pbuf, sizeof pbuf, &res) == 0 && res)
        snprintf(buf, len, "%s", pw.pw_name);
    else
        snprintf(buf, len, "uid %u", (unsigned)uid);
    return buf;
}

/* A spool left by a run as another user (root, before --user or the unit took over) has
 * files this process cannot write: name the first one and the fix, instead of a bare
 * "Permission denied" later. */
static int check_access(const char *dir, int dirfd, char *err, size_t errlen)
{
    char me[64], owner[64];
    struct stat st;
    if (faccessat(dirfd, ".", R_OK | W_OK | X_OK, AT_EACCESS) != 0) {
        int e = errno;
        if (fstat(dirfd, &st) != 0)
            st.st_uid = (uid_t)-1;
        snprintf(err, errlen, "spool directory %s belongs to %s and user %s cannot write it "
                 "(%s); fix: chown -R %s: %s", dir, user_name(st.st_uid, owner, sizeof owner),
                 user_name(geteuid(), me, sizeof me), strerror(e), me, dir);
        return -e;
    }
    int fd = dup(dirfd);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d) {
        int e = errno;
        if (fd >= 0)
            close(fd);
        snprintf(err, errlen, "cannot read the spool directory %s: %s", dir, strerror(e));
        return -e;
    }
    int rc = 0;
    rewinddir(d); /* the offset is dirfd's too: leave it at the start for list_segments */
    for (struct dirent *de; rc == 0 && (de = readdir(d));) {
        if (!is_spool_file(de->d_name) ||
            faccessat(dirfd, de->d_name, R_OK | W_OK, AT_EACCESS) == 0 || errno == ENOENT)
            continue;
        rc = -errno;
        if (fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0)
            st.st_uid = (uid_t)-1;
        snprintf(err, errlen, "spool file %s/%s belongs to %s and user %s cannot read and "
                 "write it (left by a run as another user?); fix: chown -R %s: %s", dir,
                 de->d_name, user_name(st.st_uid, owner, sizeof owner),
                 user_name(geteuid(), me, sizeof me), me, dir);
    }
    rewinddir(d);
    closedir(d);
    return rc;
}

int spool_prepare_dir(const char *dir, uid_t uid, gid_t gid, char *err, size_t errlen)
{
    bool created;
    int rc = mkdir_parents(dir, 0700, &created);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create the spool directory %s: %s (set --spool-dir)", dir,
                 strerror(-rc));
        return rc;
    }
    int dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    struct stat st;
    if (dirfd < 0 || fstat(dirfd, &st) != 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot open the spool directory %s: %s", dir, strerror(-rc));
        if (dirfd >= 0)
            close(dirfd);
        return rc;
    }
    /* Taken over: a directory made here, or root's holding nothing but spool files. Any
     * other directory (a mistaken --spool-dir /var/tmp) is left as it is. */
    bool take = created || st.st_uid == uid;
    if (!take && st.st_uid == 0) {
        int fd = dup(dirfd);
        DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
        take = d != NULL;
        for (struct dirent *de; d && (de = readdir(d));)
            if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && !is_spool_file(de->d_name))
                take = false;
        if (d)
            closedir(d);
        else if (fd >= 0)
            close(fd);
    }
    if (take && (st.st_uid != uid || st.st_gid != gid) && fchown(dirfd, uid, gid) != 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot give the spool directory %s to uid %u: %s", dir,
                 (unsigned)uid, strerror(-rc));
    }
    close(dirfd);
    return rc;
}

int spool_open(const char *dir, uint64_t max_bytes, spool **out, char *err, size_t errlen)
{
    static int crc_ready;
    spool *s = NULL;
    int rc;

    if (!crc_ready) {
        crc_init();
        crc_ready = 1;
    }
    bool created;
    rc = mkdir_parents(dir, 0700, &created);
    if (rc != 0) {
        snprintf(err, errlen, "cannot create the spool directory %s: %s (set --spool-dir)", dir,
                 strerror(-rc));
        goto fail;
    }
    s = calloc(1, sizeof *s);
    if (!s) {
        rc = -ENOMEM;
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    s->lockfd = s->curfd = s->w_fd = s->rd.fd = -1;
    s->max_bytes = max_bytes;
    s->seg_max = max_bytes / 8;
    if (s->seg_max < (64u << 10))
        s->seg_max = 64u << 10;
    if (s->seg_max > (64u << 20))
        s->seg_max = 64u << 20;
    s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (s->dirfd < 0) {
        rc = -errno;
        snprintf(err, errlen, "cannot open the spool directory %s: %s", dir, strerror(-rc));
        goto fail;
    }
    rc = check_access(dir, s->dirfd, err, errlen);
    if (rc != 0)
        goto fail;
    s->lockfd = openat(s->dirfd, "lock", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (s->lockfd < 0 || flock(s->lockfd, LOCK_EX | LOCK_NB) != 0) {
        rc = -errno;
        snprintf(err, errlen, "spool directory %s: %s", dir,
                 rc == -EWOULDBLOCK ? "in use by another dnswatch (give each its own --spool-dir)"
                                    : strerror(-rc));
        goto fail;
    }
    s->curfd = openat(s->dirfd, "cursor", O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    s->wcap = WBUF_SIZE;
    s->wbuf = malloc(s->wcap);
    if (s->curfd < 0 || !s->wbuf) {
        rc = s->curfd < 0 ? -errno : -ENOMEM;
        snprintf(err, errlen, "spool directory %s: %s", dir, strerror(-rc));
        goto fail;
    }
    rc = list_segments(s);
    if (rc == 0)
        rc = recover(s);
    if (rc) {
        snprintf(err, errlen, "spool directory %s: cannot read the spool: %s", dir,
                 strerror(-rc));
        goto fail;
    }
    *out = s;
    return 0;

fail:
    spool_free(s);
    return rc;
}

void spool_free(spool *s)
{
    if (!s)
        return;
    if (spool_flush(s) != 0) {
        /* the owner flushes first and counts what the disk refuses (publisher_close);
         * what is still buffered here is not on disk */
    }
    write_cursor(s);
    if (s->w_fd >= 0)
        close(s->w_fd);
    if (s->rd.fd >= 0)
        close(s->rd.fd);
    if (s->curfd >= 0)
        close(s->curfd);
    if (s->lockfd >= 0)
        close(s->lockfd);
    if (s->dirfd >= 0)
        close(s->dirfd);
    free(s->segs);
    free(s->wbuf);
    free(s->rd.buf);
    free(s->peek_ends);
    free(s->tmp);
    free(s);
}

uint64_t spool_count(const spool *s)
{
    return s->count;
}

uint64_t spool_bytes(const spool *s)
{
    return s->disk + s->wlen;
}

uint64_t spool_corrupt(const spool *s)
{
    return s->corrupt;
}

uint64_t spool_lost(const spool *s)
{
    return s->lost;
}

uint64_t spool_discard_unwritten(spool *s)
{
    uint64_t n = s->wrecs;
    s->wlen = 0;
    s->wrecs = 0;
    s->count = s->count >= n ? s->count - n : 0;
    return n;
}
