/* The spool: FIFO order across segments, recovery after a restart (cursor and counting),
 * a torn record at the tail and a damaged one in the middle are skipped, the size bound
 * refuses records, and consumed segments are deleted. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "sensor/spool.h"

static char dir[64];

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "/tmp/dw-spool-XXXXXX");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

static spool *open_ok(uint64_t max)
{
    spool *s = NULL;
    char err[256] = "";
    int rc = spool_open(dir, max, &s, err, sizeof err);
    if (rc != 0)
        fail_msg("spool_open: %s", err);
    return s;
}

static void rec_text(char *buf, size_t len, unsigned i)
{
    /* Varying lengths so records straddle read windows and segment ends. */
    snprintf(buf, len, "{\"n\":%u,\"pad\":\"%.*s\"}", i, (int)(i % 97),
             "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

static void append_range(spool *s, unsigned from, unsigned to)
{
    char buf[256];
    for (unsigned i = from; i < to; i++) {
        rec_text(buf, sizeof buf, i);
        assert_int_equal(spool_append(s, buf, strlen(buf)), 0);
    }
    assert_int_equal(spool_flush(s), 0);
}

/* Reads and consumes n records in batches, checking they are from..from+n in order. */
static void expect_range(spool *s, unsigned from, unsigned n, size_t batch)
{
    spool_rec recs[300];
    char want[256];
    unsigned got = 0;
    while (got < n) {
        size_t k = spool_peek(s, recs, batch);
        if (k == 0)
            fail_msg("spool empty after %u of %u", got, n);
        if (k > n - got)
            k = n - got;
        for (size_t i = 0; i < k; i++) {
            rec_text(want, sizeof want, from + got + (unsigned)i);
            if (recs[i].len != strlen(want) || memcmp(recs[i].data, want, recs[i].len) != 0)
                fail_msg("record %u: got '%.*s' want '%s'", from + got + (unsigned)i,
                         (int)recs[i].len, recs[i].data, want);
        }
        assert_int_equal(spool_consume(s, k), 0);
        got += (unsigned)k;
    }
}

static size_t count_segments(void)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    size_t n = 0;
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "seg-", 4) == 0)
            n++;
    closedir(d);
    return n;
}

static void test_order_and_deletion(void **state)
{
    (void)state;
    spool *s = open_ok(4u << 20); /* 512 KiB segments */
    append_range(s, 0, 20000);
    assert_int_equal(spool_count(s), 20000);
    assert_true(count_segments() > 2);
    /* Interleave: consume part, append more, the order holds. */
    expect_range(s, 0, 7000, 256);
    append_range(s, 20000, 25000);
    expect_range(s, 7000, 18000, 100);
    assert_int_equal(spool_count(s), 0);
    spool_rec r;
    assert_int_equal(spool_peek(s, &r, 1), 0);
    assert_int_equal(count_segments(), 0); /* all consumed: all deleted */
    assert_int_equal(spool_bytes(s), 0);
    assert_int_equal(spool_corrupt(s), 0);
    spool_free(s);
}

static void test_restart(void **state)
{
    (void)state;
    spool *s = open_ok(4u << 20);
    append_range(s, 0, 10000);
    expect_range(s, 0, 3333, 200);
    spool_free(s);

    /* A second opener is refused while the first holds the directory. */
    s = open_ok(4u << 20);
    spool *t = NULL;
    char err[256];
    assert_true(spool_open(dir, 4u << 20, &t, err, sizeof err) < 0);
    assert_non_null(strstr(err, "in use by another dnswatch"));
    assert_int_equal(spool_count(s), 10000 - 3333);
    append_range(s, 10000, 10100); /* after a restart, new records come after the old */
    expect_range(s, 3333, 10100 - 3333, 256);
    assert_int_equal(spool_count(s), 0);
    spool_free(s);
    s = open_ok(4u << 20);
    assert_int_equal(spool_count(s), 0);
    spool_free(s);
}

/* Only "seg-" + exactly 16 hex digits + ".dws" is a segment. strtoull read the digits
 * once and took a sign, leading space or "0x" inside the field, so a stray file could
 * pass for a segment: be read, counted as damage, and deleted once "consumed". */
static void test_foreign_names(void **state)
{
    (void)state;
    spool *s = open_ok(4u << 20);
    append_range(s, 0, 100);
    spool_free(s);
    static const char *const foreign[] = {"seg-0x00000000000000.dws", "seg-+000000000000000.dws",
                                          "seg- 000000000000000.dws", "seg--000000000000001.dws"};
    char path[160];
    for (size_t i = 0; i < sizeof foreign / sizeof *foreign; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, foreign[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fputs("not a spool segment\n", f);
        fclose(f);
    }
    s = open_ok(4u << 20);
    assert_int_equal(spool_count(s), 100);
    expect_range(s, 0, 100, 50);
    assert_int_equal(spool_count(s), 0);
    assert_int_equal(spool_corrupt(s), 0);
    spool_free(s);
    for (size_t i = 0; i < sizeof foreign / sizeof *foreign; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, foreign[i]);
        assert_int_equal(access(path, F_OK), 0); /* left alone */
    }
}

static void test_consume_more_than_peeked(void **state)
{
    (void)state;
    spool *s = open_ok(1u << 20);
    append_range(s, 0, 1000);
    assert_int_equal(spool_consume(s, 600), 0);
    expect_range(s, 600, 400, 256);
    assert_int_equal(spool_consume(s, 1), -ENOENT);
    spool_free(s);
}

static char *last_segment(char *path, size_t len)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char best[256] = "";
    while ((de = readdir(d)))
        if (strncmp(de->d_name, "seg-", 4) == 0 && strcmp(de->d_name, best) > 0)
            snprintf(best, sizeof best, "%s", de->d_name);
    closedir(d);
    snprintf(path, len, "%s/%s", dir, best);
    return path;
}

static void test_torn_tail(void **state)
{
    (void)state;
    char path[512];
    spool *s = open_ok(1u << 20);
    append_range(s, 0, 100);
    spool_free(s);
    /* kill -9 in the middle of a write: half a record at the end. */
    struct stat st;
    stat(last_segment(path, sizeof path), &st);
    int fd = open(path, O_WRONLY | O_APPEND);
    assert_int_equal(write(fd, "DWS1\x40\x00\x00\x00\x00\x00\x00\x00{\"n\":", 17), 17);
    close(fd);

    s = open_ok(1u << 20);
    assert_int_equal(spool_count(s), 100);
    assert_int_equal(spool_corrupt(s), 1);
    append_range(s, 100, 150); /* new segment: never appended after the torn tail */
    expect_range(s, 0, 150, 64);
    assert_int_equal(spool_count(s), 0);
    spool_free(s);
}

static void test_damage_in_the_middle(void **state)
{
    (void)state;
    char path[512];
    spool *s = open_ok(1u << 20);
    append_range(s, 0, 50);
    spool_free(s);
    /* Flip a byte inside record 10's data: its checksum fails, the rest is read. */
    int fd = open(last_segment(path, sizeof path), O_RDWR);
    char buf[8192];
    ssize_t n = read(fd, buf, sizeof buf);
    assert_true(n > 0);
    char *p = memmem(buf, (size_t)n, "{\"n\":10,", 8);
    assert_non_null(p);
    p[3] ^= 0x20;
    assert_int_equal(pwrite(fd, buf, (size_t)n, 0), n);
    close(fd);

    s = open_ok(1u << 20);
    assert_int_equal(spool_count(s), 49);
    assert_int_equal(spool_corrupt(s), 1);
    expect_range(s, 0, 10, 256);
    expect_range(s, 11, 39, 256);
    assert_int_equal(spool_count(s), 0);
    spool_free(s);
}

/* Damage met while the spool is open (the disk changed what was written): the damaged
 * record is counted as lost, the count of records left stays true, and the spool drains
 * to empty instead of promising a record that never comes out. */
static void test_damage_while_running(void **state)
{
    (void)state;
    char path[512];
    spool *s = open_ok(1u << 20);
    append_range(s, 0, 50);
    assert_int_equal(spool_flush(s), 0);
    int fd = open(last_segment(path, sizeof path), O_RDWR);
    char buf[8192];
    ssize_t n = pread(fd, buf, sizeof buf, 0);
    assert_true(n > 0);
    char *p = memmem(buf, (size_t)n, "{\"n\":20,", 8);
    assert_non_null(p);
    p[3] ^= 0x20;
    assert_int_equal(pwrite(fd, buf, (size_t)n, 0), n);
    close(fd);

    expect_range(s, 0, 20, 256);
    assert_int_equal(spool_count(s), 30); /* 29 readable, found out at the damage */
    expect_range(s, 21, 29, 256);
    assert_int_equal(spool_count(s), 0);
    assert_int_equal(spool_corrupt(s), 1);
    assert_int_equal(spool_lost(s), 1);
    spool_rec r[4];
    assert_int_equal(spool_peek(s, r, 4), 0);
    spool_free(s);
}

/* Records the disk never took are handed back at the end, counted, not left in count. */
static void test_discard_unwritten(void **state)
{
    (void)state;
    spool *s = open_ok(1u << 20);
    append_range(s, 0, 5); /* written */
    char buf[256];
    for (unsigned i = 5; i < 15; i++) {
        rec_text(buf, sizeof buf, i);
        assert_int_equal(spool_append(s, buf, strlen(buf)), 0); /* buffered */
    }
    assert_int_equal(spool_count(s), 15);
    assert_int_equal(spool_discard_unwritten(s), 10);
    assert_int_equal(spool_count(s), 5);
    spool_free(s);
    s = open_ok(1u << 20);
    assert_int_equal(spool_count(s), 5);
    expect_range(s, 0, 5, 16);
    spool_free(s);
}

static void test_size_limit(void **state)
{
    (void)state;
    spool *s = open_ok(10000);
    char rec[88];
    memset(rec, 'e', sizeof rec); /* 100 bytes with the header */
    unsigned ok = 0, full = 0;
    for (int i = 0; i < 150; i++) {
        int rc = spool_append(s, rec, sizeof rec);
        if (rc == 0)
            ok++;
        else if (rc == -EDQUOT) /* the bound, not the disk's ENOSPC */
            full++;
        else
            fail_msg("append: %d", rc);
    }
    assert_int_equal(ok, 100);
    assert_int_equal(full, 50);
    assert_int_equal(spool_count(s), 100);
    assert_true(spool_bytes(s) <= 10000);
    /* Draining frees the room again. */
    assert_int_equal(spool_consume(s, 100), 0);
    assert_int_equal(spool_append(s, rec, sizeof rec), 0);
    assert_int_equal(spool_append(s, rec, SPOOL_MAX_RECORD + 1), -EMSGSIZE);
    spool_free(s);
}

static void test_bad_dir(void **state)
{
    (void)state;
    spool *s = NULL;
    char err[256];
    assert_true(spool_open("/proc/nonexistent/spool", 1 << 20, &s, err, sizeof err) < 0);
    assert_null(s);
    assert_non_null(strstr(err, "cannot create the spool directory /proc/nonexistent/spool"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_order_and_deletion, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_discard_unwritten, setup, teardown),
        cmocka_unit_test_setup_teardown(test_consume_more_than_peeked, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_in_the_middle, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_limit, setup, teardown),
        cmocka_unit_test(test_bad_dir),
        cmocka_unit_test_setup_teardown(test_foreign_names, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
