/* asn: builds small MaxMind DBs at test time with tests/tools/make_test_mmdb.pl (without
 * Perl's MaxMind::DB::Writer: skipped, exit 77, or a failure under DW_NO_SKIP), then checks
 * IPv4, IPv6 and IPv4-in-IPv6 lookups, misses, concurrent readers, and every open error. */
#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "rules/asn.h"
#include "tests/lib/dw_test.h"

static char dir[64];
static char asn_path[128], city_path[128], v4only_path[128], dbip_path[128],
    junk_path[128], empty_path[128];
static bool have_writer;

static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static int make_db(const char *src, const char *flags, const char *out, const char *input)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "/usr/bin/perl '%s/tests/tools/make_test_mmdb.pl' %s '%s' %s",
             src, flags, out, input);
    return run(cmd);
}

static int setup(void **state)
{
    (void)state;
    const char *src = getenv("DW_SRC");
    if (!src)
        src = ".";
    snprintf(dir, sizeof dir, "/tmp/dw-test-asn-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    snprintf(asn_path, sizeof asn_path, "%s/asn.mmdb", dir);
    snprintf(city_path, sizeof city_path, "%s/city.mmdb", dir);
    snprintf(v4only_path, sizeof v4only_path, "%s/v4only.mmdb", dir);
    snprintf(dbip_path, sizeof dbip_path, "%s/dbip.mmdb", dir);
    snprintf(junk_path, sizeof junk_path, "%s/junk.mmdb", dir);
    snprintf(empty_path, sizeof empty_path, "%s/empty.mmdb", dir);

    have_writer = access("/usr/bin/perl", X_OK) == 0 &&
                  run("/usr/bin/perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null") == 0;
    if (!have_writer) {
        fprintf(stderr, "test_asn: MaxMind::DB::Writer not installed, skipping\n");
        return 0;
    }
    char sample[512], input[600];
    snprintf(sample, sizeof sample, "%s/tests/data/asn-sample.txt", src);
    snprintf(input, sizeof input, "'%s'", sample);
    if (make_db(src, "", asn_path, input) != 0)
        return -1;
    if (make_db(src, "--type GeoLite2-City", city_path, input) != 0)
        return -1;
    /* The type check is case-insensitive and looks for "ASN" anywhere. */
    if (make_db(src, "--type 'DBIP-asn-Lite (compat=GeoLite2-ASN)'", dbip_path, input) != 0)
        return -1;
    /* An IPv4-only database; the input comes from stdin this time. */
    char cmd[1024];
    snprintf(cmd, sizeof cmd, "grep -v : '%s' | /usr/bin/perl '%s/tests/tools/make_test_mmdb.pl'"
             " --ip-version 4 '%s'", sample, src, v4only_path);
    if (run(cmd) != 0)
        return -1;
    FILE *f = fopen(junk_path, "w");
    if (!f)
        return -1;
    for (int i = 0; i < 2000; i++)
        fputs("this is not a MaxMind database\n", f);
    fclose(f);
    f = fopen(empty_path, "w");
    if (!f)
        return -1;
    fclose(f);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    if (dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        (void)run(cmd);
    }
    return 0;
}

static asn_db *open_ok(const char *path)
{
    asn_db *db = NULL;
    char err[256] = "";
    int rc = asn_db_open(path, &db, err, sizeof err);
    if (rc != 0)
        fail_msg("open %s: %d %s", path, rc, err);
    assert_non_null(db);
    return db;
}

static int lookup(const asn_db *db, const char *text, asn_info *info)
{
    uint8_t a[16] = {0};
    int family = strchr(text, ':') ? 6 : 4;
    if (inet_pton(family == 4 ? AF_INET : AF_INET6, text, a) != 1)
        fail_msg("test bug: %s", text);
    return asn_lookup(db, family, a, info);
}

static void expect_asn(const asn_db *db, const char *text, uint32_t asn, const char *org)
{
    asn_info info;
    memset(&info, 0x5a, sizeof info);
    int rc = lookup(db, text, &info);
    if (asn == 0) {
        if (rc != 0)
            fail_msg("%s: rc %d (AS%u), expected not found", text, rc, info.number);
        assert_int_equal(info.number, 0);
        assert_null(info.org);
        assert_int_equal(info.org_len, 0);
        return;
    }
    if (rc != 1)
        fail_msg("%s: rc %d, expected AS%u", text, rc, asn);
    if (info.number != asn)
        fail_msg("%s: AS%u, expected AS%u", text, info.number, asn);
    assert_non_null(info.org);
    if (info.org_len != strlen(org) || memcmp(info.org, org, info.org_len) != 0)
        fail_msg("%s: org \"%.*s\", expected \"%s\"", text, (int)info.org_len, info.org, org);
}

static void test_lookups(void **state)
{
    (void)state;
    if (!have_writer)
        skip();
    asn_db *db = open_ok(asn_path);
    assert_string_equal(asn_db_type(db), "GeoLite2-ASN");
    uint64_t epoch = asn_db_build_epoch(db);
    assert_true(epoch > 1600000000u && epoch <= (uint64_t)time(NULL) + 60);

    expect_asn(db, "151.101.1.69", 54113, "Fastly, Inc.");
    expect_asn(db, "151.101.255.255", 54113, "Fastly, Inc.");
    expect_asn(db, "146.75.0.1", 54113, "Fastly, Inc.");
    expect_asn(db, "2a04:4e40::1", 54113, "Fastly, Inc.");
    expect_asn(db, "2a04:4e40:ffff::1", 54113, "Fastly, Inc.");
    expect_asn(db, "104.16.132.229", 13335, "Cloudflare, Inc.");
    expect_asn(db, "104.23.255.255", 13335, "Cloudflare, Inc.");
    expect_asn(db, "140.82.114.4", 36459, "GitHub, Inc.");
    expect_asn(db, "52.31.0.1", 16509, "Amazon.com, Inc.");
    expect_asn(db, "45.33.20.5", 63949, "Linode, LLC");
    expect_asn(db, "142.250.185.78", 15169, "Google LLC");
    /* IPv4 through its IPv6 forms (the writer aliases them to the IPv4 subtree). */
    expect_asn(db, "::ffff:151.101.1.69", 54113, "Fastly, Inc.");
    expect_asn(db, "2002:9765:145::1", 54113, "Fastly, Inc.");
    /* Not in the database. */
    expect_asn(db, "151.100.255.255", 0, NULL);
    expect_asn(db, "104.24.0.0", 0, NULL);
    expect_asn(db, "8.8.8.8", 0, NULL);
    expect_asn(db, "10.0.0.1", 0, NULL);
    expect_asn(db, "2a04:4e41::1", 0, NULL);
    expect_asn(db, "2001:db8::1", 0, NULL);

    asn_info info;
    uint8_t a[16] = {0};
    assert_int_equal(asn_lookup(db, 5, a, &info), -EINVAL);
    assert_int_equal(asn_lookup(NULL, 4, a, &info), -EINVAL);
    asn_db_close(db);
    asn_db_close(NULL);
}

static void test_other_layouts(void **state)
{
    (void)state;
    if (!have_writer)
        skip();
    asn_db *db = open_ok(dbip_path);
    assert_string_equal(asn_db_type(db), "DBIP-asn-Lite (compat=GeoLite2-ASN)");
    expect_asn(db, "151.101.1.69", 54113, "Fastly, Inc.");
    asn_db_close(db);

    db = open_ok(v4only_path);
    expect_asn(db, "140.82.114.4", 36459, "GitHub, Inc.");
    expect_asn(db, "2a04:4e40::1", 0, NULL); /* IPv6 in an IPv4 database: not found */
    asn_db_close(db);
}

typedef struct worker {
    const asn_db *db;
    int bad;
} worker;

static void *reader(void *arg)
{
    worker *w = arg;
    static const char *const addrs[] = {"151.101.1.69", "2a04:4e40::1", "140.82.114.4",
                                        "8.8.8.8", "::ffff:45.33.20.5"};
    static const uint32_t want[] = {54113, 54113, 36459, 0, 63949};
    for (int i = 0; i < 20000; i++) {
        unsigned k = (unsigned)i % 5;
        uint8_t a[16] = {0};
        int family = strchr(addrs[k], ':') ? 6 : 4;
        inet_pton(family == 4 ? AF_INET : AF_INET6, addrs[k], a);
        asn_info info;
        int rc = asn_lookup(w->db, family, a, &info);
        if (rc != (want[k] != 0) || info.number != want[k])
            w->bad++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
    if (!have_writer)
        skip();
    asn_db *db = open_ok(asn_path);
    pthread_t t[4];
    worker w[4];
    for (int i = 0; i < 4; i++) {
        w[i] = (worker){db, 0};
        assert_int_equal(pthread_create(&t[i], NULL, reader, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].bad, 0);
    }
    asn_db_close(db);
}

static void open_fails(const char *path, int code, const char *msg_part)
{
    asn_db *db = (asn_db *)(uintptr_t)0x1;
    char err[512] = "";
    int rc = asn_db_open(path, &db, err, sizeof err);
    if (rc != code)
        fail_msg("open %s: rc %d (%s), expected %d", path, rc, err, code);
    assert_ptr_equal(db, (asn_db *)(uintptr_t)0x1); /* untouched on failure */
    if (!strstr(err, path))
        fail_msg("\"%s\" does not name the file", err);
    if (!strstr(err, msg_part))
        fail_msg("\"%s\" lacks \"%s\"", err, msg_part);
}

/* The database file rewritten in place under an open handle (cp, curl -o truncate it
 * first): lookups go on from the copy read at open, the change is visible through the
 * file identity, and a cut-short file is refused. A mapping of the file itself would die
 * with SIGBUS at the first lookup after the truncation. */
static void test_overwritten(void **state)
{
    (void)state;
    if (!have_writer)
        skip();
    char live[160], cmd[400];
    snprintf(live, sizeof live, "%s/live.mmdb", dir);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", asn_path, live);
    assert_int_equal(system(cmd), 0);
    asn_db *db = open_ok(live);
    asn_file_id id;
    assert_int_equal(asn_file_id_get(live, &id), 0);
    assert_true(asn_file_id_equal(&id, asn_db_file_id(db)));

    struct stat st;
    assert_int_equal(stat(live, &st), 0);
    assert_int_equal(truncate(live, 0), 0);
    expect_asn(db, "151.101.1.69", 54113, "Fastly, Inc.");
    expect_asn(db, "2a04:4e40::1", 54113, "Fastly, Inc.");
    assert_int_equal(asn_file_id_get(live, &id), 0);
    assert_false(asn_file_id_equal(&id, asn_db_file_id(db)));

    /* Half of it written back, as a copy still under way leaves it. */
    snprintf(cmd, sizeof cmd, "head -c %lld '%s' >'%s'", (long long)st.st_size / 2, asn_path, live);
    assert_int_equal(system(cmd), 0);
    open_fails(live, -EINVAL, "not a MaxMind DB");
    expect_asn(db, "45.33.20.5", 63949, "Linode, LLC");
    asn_db_close(db);
}

static void test_open_errors(void **state)
{
    (void)state;
    char missing[160];
    snprintf(missing, sizeof missing, "%s/no-such.mmdb", dir);
    asn_db *db = (asn_db *)(uintptr_t)0x1;
    char err[512];
    assert_int_equal(asn_db_open(missing, &db, err, sizeof err), -ENOENT);
    char want[256];
    snprintf(want, sizeof want, "cannot open %s: No such file or directory", missing);
    assert_string_equal(err, want);
    assert_ptr_equal(db, (asn_db *)(uintptr_t)0x1);

    if (!have_writer)
        skip();
    open_fails(junk_path, -EINVAL, "not a MaxMind DB");
    open_fails(empty_path, -EINVAL, "not a MaxMind DB (the file is empty)");
    open_fails(dir, -EISDIR, "cannot open");
    open_fails(city_path, -EINVAL, "not an ASN database (type GeoLite2-City)");

    /* A short error buffer is truncated, still terminated. */
    char small[12];
    memset(small, 'x', sizeof small);
    assert_int_equal(asn_db_open(missing, &db, small, sizeof small), -ENOENT);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_int_equal(asn_db_open(missing, &db, NULL, 0), -ENOENT);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookups),
        cmocka_unit_test(test_other_layouts),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_open_errors),
        cmocka_unit_test(test_overwritten),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    if (rc == 0 && !have_writer)
        return dw_unavailable("perl MaxMind::DB::Writer missing: the ASN tests did not run");
    return rc;
}
