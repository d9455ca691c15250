/* The Redis URL parser: accepted forms, and every refusal names its cause. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include <cmocka.h>

#include "sensor/redisurl.h"

static void good(const char *s, bool is_unix, const char *host_or_path, unsigned port,
                 const char *user, unsigned db)
{
    redis_url u;
    char err[256] = "";
    int rc = redisurl_parse(s, &u, err, sizeof err);
    if (rc != 0)
        fail_msg("%s: %s", s, err);
    assert_int_equal(u.is_unix, is_unix);
    assert_string_equal(is_unix ? u.path : u.host, host_or_path);
    if (!is_unix)
        assert_int_equal(u.port, port);
    assert_string_equal(u.user, user);
    assert_int_equal(u.db, db);
}

static void bad(const char *s, const char *want)
{
    redis_url u;
    memset(&u, 0x5a, sizeof u);
    redis_url before = u;
    char err[512] = "";
    int rc = redisurl_parse(s, &u, err, sizeof err);
    if (rc == 0)
        fail_msg("accepted '%s'", s);
    if (!strstr(err, want))
        fail_msg("'%s': message '%s' lacks '%s'", s, err, want);
    assert_memory_equal(&u, &before, sizeof u); /* untouched on failure */
}

static void test_good(void **state)
{
    (void)state;
    good(NULL, false, "127.0.0.1", 6379, "", 0);
    good("redis://localhost", false, "localhost", 6379, "", 0);
    good("redis://10.0.0.1:6380", false, "10.0.0.1", 6380, "", 0);
    good("redis://10.0.0.1:6380/3", false, "10.0.0.1", 6380, "", 3);
    good("redis://host/", false, "host", 6379, "", 0);
    good("redis://dnswatch@redis.example.net:7000/15", false, "redis.example.net", 7000,
         "dnswatch", 15);
    good("redis://[::1]:6390/2", false, "::1", 6390, "", 2);
    good("redis://[fe80::1]", false, "fe80::1", 6379, "", 0);
    good("unix:///run/redis/redis.sock", true, "/run/redis/redis.sock", 0, "", 0);
    good("unix:///tmp/r.sock?db=4", true, "/tmp/r.sock", 0, "", 4);
    good("unix://sensor@/tmp/r.sock", true, "/tmp/r.sock", 0, "sensor", 0);
    good("redis://h:65535/65535", false, "h", 65535, "", 65535);
    /* Leading zeros, as every other number the sensor reads: the old 10-digit cap
     * refused this port with "port must be a number 1-65535". */
    good("redis://h:000000000006379/00000000003", false, "h", 6379, "", 3);
}

/* The TLS, Sentinel and Cluster forms. */
static void test_fleet_forms(void **state)
{
    (void)state;
    redis_url u;
    char err[512], where[600];

    assert_int_equal(redisurl_parse("rediss://alice@r.example:6380/2", &u, err, sizeof err), 0);
    assert_int_equal(u.kind, REDISURL_SERVER);
    assert_true(u.tls);
    assert_string_equal(u.host, "r.example");
    assert_int_equal(u.port, 6380);
    assert_int_equal(u.db, 2);
    assert_string_equal(u.user, "alice");
    redisurl_describe(&u, where, sizeof where);
    assert_string_equal(where, "r.example:6380 (TLS)");

    assert_int_equal(redisurl_parse("sentinel://s1,[::1]:26380,s3:5/mymaster/4", &u, err,
                                    sizeof err), 0);
    assert_int_equal(u.kind, REDISURL_SENTINEL);
    assert_false(u.tls);
    assert_int_equal(u.n_nodes, 3);
    assert_string_equal(u.nodes[0].host, "s1");
    assert_int_equal(u.nodes[0].port, 26379);
    assert_string_equal(u.nodes[1].host, "::1");
    assert_int_equal(u.nodes[1].port, 26380);
    assert_int_equal(u.nodes[2].port, 5);
    assert_string_equal(u.master, "mymaster");
    assert_int_equal(u.db, 4);
    redisurl_describe(&u, where, sizeof where);
    assert_string_equal(where, "sentinel s1:26379,[::1]:26380,s3:5 master mymaster");

    assert_int_equal(redisurl_parse("cluster://bob@c1:7000,c2", &u, err, sizeof err), 0);
    assert_int_equal(u.kind, REDISURL_CLUSTER);
    assert_int_equal(u.n_nodes, 2);
    assert_int_equal(u.nodes[1].port, 6379);
    assert_string_equal(u.user, "bob");
    redisurl_describe(&u, where, sizeof where);
    assert_string_equal(where, "cluster c1:7000,c2:6379");
}

/* Key slots as Redis Cluster computes them (CLUSTER KEYSLOT on a real server gives these:
 * the test for the cluster itself, tests/redis/test_cluster.sh, checks the others). */
static void test_key_slot(void **state)
{
    (void)state;
    assert_int_equal(redisurl_key_slot("123456789", 9), 12739); /* CRC16/XMODEM check value */
    assert_int_equal(redisurl_key_slot("foo", 3), 12182);
    assert_int_equal(redisurl_key_slot("{user1000}.following", 20), redisurl_key_slot("user1000", 8));
    assert_int_equal(redisurl_key_slot("foo{}{bar}", 10), redisurl_key_slot("foo{}{bar}", 10));
    assert_int_equal(redisurl_key_slot("foo{{bar}}zap", 13), redisurl_key_slot("{bar", 4));
    assert_int_equal(redisurl_key_slot("dnswatch:events:{s1}", 20), redisurl_key_slot("s1", 2));
}

static void test_redirect(void **state)
{
    (void)state;
    redisReply r = {0};
    bool ask;
    redis_node to;
    r.type = REDIS_REPLY_ERROR;
    r.str = (char[]){"MOVED 3999 127.0.0.1:6381"};
    assert_int_equal(redisurl_redirect(&r, &ask, &to), 1);
    assert_false(ask);
    assert_string_equal(to.host, "127.0.0.1");
    assert_int_equal(to.port, 6381);
    r.str = (char[]){"ASK 3999 [::1]:7002"};
    assert_int_equal(redisurl_redirect(&r, &ask, &to), 1);
    assert_true(ask);
    assert_string_equal(to.host, "::1");
    assert_int_equal(to.port, 7002);
    r.str = (char[]){"MOVED 3999 127.0.0.1:0"};
    assert_int_equal(redisurl_redirect(&r, &ask, &to), 0);
    r.str = (char[]){"MOVED x 127.0.0.1:1"};
    assert_int_equal(redisurl_redirect(&r, &ask, &to), 0);
    r.str = (char[]){"ASK 0 []:1"}; /* found by fuzz_redisurl: an empty bracketed host */
    assert_int_equal(redisurl_redirect(&r, &ask, &to), 0);
    r.str = (char[]){"MOVED 1 :1"};
    assert_int_equal(redisurl_redirect(&r, &ask, &to), 0);
    r.str = (char[]){"ERR other"};
    assert_int_equal(redisurl_redirect(&r, &ask, &to), 0);
    r.type = REDIS_REPLY_STATUS;
    r.str = (char[]){"MOVED 1 h:1"};
    assert_int_equal(redisurl_redirect(&r, &ask, &to), 0);
}

static void test_bad(void **state)
{
    (void)state;
    bad("", "unknown scheme");
    bad("http://host", "unknown scheme");
    bad("REDIS://host", "unknown scheme");
    bad("rediss://host:0", "port must be");
    bad("sentinel://h1:26379", "names the master");
    bad("sentinel://h1:26379/", "names the master");
    bad("sentinel://h1:26379,/m", "no host");
    bad("sentinel://u:pw@h1/m", "password does not belong");
    bad("cluster://h1:7000/3", "no databases");
    bad("cluster://", "no host");
    bad("cluster://h1:7000,h2:99999", "port must be");
    bad("cluster://a,b,c,d,e,f,g,h,i,j,k,l,m,n,o,p,q", "more than 16");
    bad("redis://user:secret@host", "password does not belong in the URL");
    bad("redis://:secret@host", "password does not belong");
    bad("redis://@host", "empty user name");
    bad("redis://", "no host");
    bad("redis://:6379", "no host");
    bad("redis://host:0", "port must be a number 1-65535");
    bad("redis://host:65536", "port must be");
    bad("redis://host:", "port must be");
    bad("redis://host:63x", "port must be");
    bad("redis://host:-1", "port must be");
    bad("redis://host/99999", "database must be a number");
    bad("redis://host/1/2", "unexpected '/2'");
    bad("redis://host/x", "unexpected 'x'");
    bad("redis://host?db=1", "unexpected '?db=1'");
    bad("redis://ho st", "unexpected ' st'");
    bad("redis://[::1", "missing ']'");
    bad("redis://[::g]", "not allowed in a bracketed IPv6");
    bad("redis://[]", "no host");
    bad("unix://relative.sock", "absolute path");
    bad("unix://", "absolute path");
    bad("unix:///", "no socket path");
    bad("unix:///tmp/s?db=x", "only query is ?db=N");
    bad("unix:///tmp/s?x=1", "only query is ?db=N");
    bad("unix://u:p@/tmp/s", "password does not belong");
    char longpath[300] = "unix:///";
    memset(longpath + 8, 'a', 200);
    longpath[208] = '\0';
    bad(longpath, "socket path longer than");
    char longuser[300] = "redis://";
    memset(longuser + 8, 'u', 200);
    strcpy(longuser + 208, "@h");
    bad(longuser, "user name longer than");
    bad("redis://us\x01r@h", "not allowed in a user name");
}

/* No refusal shows a password that was written into the URL, wherever the parser stops. */
static void test_redacted(void **state)
{
    (void)state;
    static const char *const urls[] = {
        "redis://user:hunter2@host",
        "redis://:hunter2@host:6379/0",
        "unix://u:hunter2@/tmp/s",
        "redis://u:hun/ter2@host",     /* '/' in the password: taken for a bad port */
        "redis://u:hunter2@h@host",
        "redis://host/0x:hunter2@y",   /* taken for junk after the database */
        "redis://u:hunter2@host:99999",
    };
    for (size_t i = 0; i < sizeof urls / sizeof urls[0]; i++) {
        redis_url u;
        char err[512] = "";
        if (redisurl_parse(urls[i], &u, err, sizeof err) == 0)
            fail_msg("accepted '%s'", urls[i]);
        if (strstr(err, "hunter2") || strstr(err, "hun/ter2") || strstr(err, "ter2"))
            fail_msg("'%s': the message shows the password: %s", urls[i], err);
        if (!strstr(err, "***"))
            fail_msg("'%s': the message does not mark the hidden part: %s", urls[i], err);
    }
}

static void test_password(void **state)
{
    (void)state;
    char buf[64], err[256];
    char path[] = "/tmp/dw-pw-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret\r\nsecond line\n", 20), 20);
    close(fd);

    unsetenv(REDISURL_PASSWORD_ENV);
    assert_int_equal(redisurl_password(path, buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "s3cret");
    setenv(REDISURL_PASSWORD_ENV, "fromenv", 1);
    assert_int_equal(redisurl_password(path, buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "s3cret"); /* the file wins */
    assert_int_equal(redisurl_password(NULL, buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "fromenv");
    unsetenv(REDISURL_PASSWORD_ENV);
    assert_int_equal(redisurl_password(NULL, buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "");

    fd = open(path, O_WRONLY | O_TRUNC);
    close(fd);
    assert_true(redisurl_password(path, buf, sizeof buf, err, sizeof err) < 0);
    assert_non_null(strstr(err, "is empty"));
    unlink(path);
    assert_true(redisurl_password(path, buf, sizeof buf, err, sizeof err) < 0);
    assert_non_null(strstr(err, "cannot read the redis password file"));
    assert_null(strstr(err, "s3cret"));
}

/* systemd's LoadCredential: $CREDENTIALS_DIRECTORY/redis-password, below an explicit file
 * and above the environment. */
static void test_password_credential(void **state)
{
    (void)state;
    char buf[64], err[256], dir[] = "/tmp/dw-cred-XXXXXX", cred[128], file[128];
    assert_non_null(mkdtemp(dir));
    snprintf(cred, sizeof cred, "%s/redis-password", dir);
    snprintf(file, sizeof file, "%s/other", dir);
    FILE *f = fopen(cred, "w");
    assert_non_null(f);
    fputs("fromcred\n", f);
    fclose(f);
    f = fopen(file, "w");
    assert_non_null(f);
    fputs("fromfile\n", f);
    fclose(f);

    setenv("CREDENTIALS_DIRECTORY", dir, 1);
    setenv(REDISURL_PASSWORD_ENV, "fromenv", 1);
    assert_int_equal(redisurl_password(NULL, buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "fromcred");
    assert_int_equal(redisurl_password(file, buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "fromfile");
    unlink(cred); /* a directory without that credential: the environment */
    assert_int_equal(redisurl_password(NULL, buf, sizeof buf, err, sizeof err), 0);
    assert_string_equal(buf, "fromenv");
    unsetenv(REDISURL_PASSWORD_ENV);
    unsetenv("CREDENTIALS_DIRECTORY");
    unlink(file);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_fleet_forms),
        cmocka_unit_test(test_key_slot),
        cmocka_unit_test(test_redirect),
        cmocka_unit_test(test_redacted),
        cmocka_unit_test(test_password),
        cmocka_unit_test(test_password_credential),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
