/* The config file: every key lands in the right option, every mistake is reported at its
 * line and column with the fix, a failed load leaves the options untouched, and the
 * command line overrides the file. */
#include <errno.h>
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

#include "sensor/config.h"
#include "sensor/options.h"

struct got {
    unsigned line, col;
    bool is_error;
    char msg[400];
};

struct run {
    struct got d[64];
    size_t n;
    int rc;
    dw_options o;
};

static char tmpdir[256];

static void collect(void *ctx, const config_diag *d)
{
    struct run *r = ctx;
    assert_null(d->rule_id);
    if (r->n == 64)
        return;
    struct got *g = &r->d[r->n++];
    g->line = d->line;
    g->col = d->col;
    g->is_error = d->is_error;
    snprintf(g->msg, sizeof g->msg, "%s", d->msg);
}

static const char *write_file(const char *name, const char *text)
{
    static char path[4][512];
    static int k;
    char *p = path[k++ % 4];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static struct run *load(const char *text)
{
    static struct run r;
    memset(&r, 0, sizeof r);
    options_default(&r.o);
    r.rc = config_load(write_file("dnswatch.yaml", text), &r.o, collect, &r);
    return &r;
}

/* Asserts a diagnostic at line:col whose text contains want. */
static void expect_diag(const struct run *r, unsigned line, unsigned col, bool err,
                        const char *want)
{
    for (size_t i = 0; i < r->n; i++)
        if (r->d[i].line == line && r->d[i].col == col && r->d[i].is_error == err &&
            strstr(r->d[i].msg, want))
            return;
    for (size_t i = 0; i < r->n; i++)
        fprintf(stderr, "  got %u:%u %s %s\n", r->d[i].line, r->d[i].col,
                r->d[i].is_error ? "error" : "warning", r->d[i].msg);
    fail_msg("no %s at %u:%u containing '%s'", err ? "error" : "warning", line, col, want);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dw_test_config.XXXXXX");
    assert_non_null(mkdtemp(tmpdir));
    write_file("rules.yaml", "id: x\nmatch: {names: [example.org]}\n");
    write_file("asn.mmdb", "not really a database, only needs to exist\n");
    write_file("pw", "secret\n");
    chmod(write_file("pw-open", "secret\n"), 0644);
    chmod(write_file("pw", "secret\n"), 0600);
    char d[300];
    snprintf(d, sizeof d, "%s/rules.d", tmpdir);
    mkdir(d, 0755);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Null is "nothing" in the config as in rule files: a key without a value keeps its
 * default, and a null item of a list is an error, never the text "~" or "null" (a rules
 * path "null" beside the config, a port "~"). */
static void test_null_values(void **state)
{
    (void)state;
    struct run *r = load("workers:\nname: ~\nrules: [rules.yaml, ~]\nports: [53, null]\n");
    assert_int_equal(r->rc, -EINVAL);
    expect_diag(r, 3, 21, true, "\"rules\" must be text, found nothing");
    expect_diag(r, 4, 13, true, "\"ports\" must be text, found nothing");
    assert_int_equal(r->n, 2);
    options_free(&r->o);
    r = load("workers:\nname: ~\ncapture: {snaplen: }\n");
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 0);
    assert_int_equal(r->o.workers, 0);
    assert_null(r->o.observer_name);
    assert_int_equal(r->o.capture.snaplen, 65535);
    options_free(&r->o);
}

static void test_every_key(void **state)
{
    (void)state;
    struct run *r = load("interface: eth1\n"
                         "rules: [rules.yaml, rules.d]\n"
                         "asn_db: asn.mmdb\n"
                         "output: redis\n"
                         "redis:\n"
                         "  url: redis://10.0.0.5:6380/2\n"
                         "  mode: list\n"
                         "  key: dns:alerts\n"
                         "  list_push: rpush\n"
                         "  password_file: pw\n"
                         "  spool_dir: /var/lib/dnswatch/spool\n"
                         "  spool_max_bytes: 1G\n"
                         "  batch: \"512\"\n"  /* quoted numbers are numbers too */
                         "  queue: 100000\n"
                         "  queue_bytes: 32M\n"
                         "workers: 4\n"
                         "log: watched\n"
                         "user: dnswatch\n"
                         "allow_root: false\n"
                         "name: span-build-1\n"
                         "filter: udp port 53\n"
                         "ports: [53, 5353]\n"
                         "fold_seconds: 0\n"
                         "capture: {snaplen: 9000, buffer_mb: 256, promisc: no, timeout_ms: 50}\n"
                         "limits:\n"
                         "  frag_datagrams: 2048\n"
                         "  frag_bytes: 32MiB\n"
                         "  tcp_flows: 8192\n"
                         "  tcp_bytes: 128M\n"
                         "  track_queries: 131072\n"
                         "metrics: {listen: \"[::1]:9153\", textfile: dnswatch.prom, interval_s: 30}\n");
    for (size_t i = 0; i < r->n; i++)
        fprintf(stderr, "  %u:%u %s\n", r->d[i].line, r->d[i].col, r->d[i].msg);
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 0);
    dw_options *o = &r->o;
    char want[600];
    assert_string_equal(o->iface, "eth1");
    assert_int_equal(o->n_rule_paths, 2);
    snprintf(want, sizeof want, "%s/rules.yaml", tmpdir); /* relative to the config file */
    assert_string_equal(o->rule_paths[0], want);
    snprintf(want, sizeof want, "%s/rules.d", tmpdir);
    assert_string_equal(o->rule_paths[1], want);
    snprintf(want, sizeof want, "%s/asn.mmdb", tmpdir);
    assert_string_equal(o->asn_db, want);
    assert_int_equal(o->output, DW_OUT_REDIS);
    assert_string_equal(o->redis.url, "redis://10.0.0.5:6380/2");
    assert_int_equal(o->redis.mode, PUB_LIST);
    assert_string_equal(o->redis.key, "dns:alerts");
    assert_true(o->redis.list_rpush);
    snprintf(want, sizeof want, "%s/pw", tmpdir);
    assert_string_equal(o->redis.password_file, want);
    assert_string_equal(o->redis.spool_dir, "/var/lib/dnswatch/spool");
    assert_true(o->redis.spool_max_bytes == 1ull << 30);
    assert_int_equal(o->redis.batch_max, 512);
    assert_int_equal(o->redis.queue_max, 100000);
    assert_true(o->redis.queue_max_bytes == 32ull << 20);
    assert_int_equal(o->workers, 4);
    assert_int_equal(o->log, DW_LOG_WATCHED);
    assert_string_equal(o->user, "dnswatch");
    assert_false(o->allow_root);
    assert_string_equal(o->observer_name, "span-build-1");
    assert_string_equal(o->bpf, "udp port 53");
    assert_int_equal(o->decoder.n_ports, 2);
    assert_int_equal(o->decoder.ports[1], 5353);
    assert_int_equal(o->fold_seconds, 0);
    assert_int_equal(o->capture.snaplen, 9000);
    assert_int_equal(o->capture.buffer_mb, 256);
    assert_false(o->capture.promisc);
    assert_int_equal(o->capture.timeout_ms, 50);
    assert_int_equal(o->decoder.frag.max_datagrams, 2048);
    assert_true(o->decoder.frag.max_bytes == 32u << 20);
    assert_int_equal(o->decoder.tcp.max_flows, 8192);
    assert_true(o->decoder.tcp.max_total_bytes == 128u << 20);
    assert_int_equal(o->track_queries, 131072);
    assert_string_equal(o->metrics.listen, "[::1]:9153");
    snprintf(want, sizeof want, "%s/dnswatch.prom", tmpdir);
    assert_string_equal(o->metrics.textfile, want);
    assert_int_equal(o->metrics.interval_s, 30);
    options_free(o);
    assert_null(o->config_mem);
}

static void test_defaults_kept(void **state)
{
    (void)state;
    dw_options def;
    options_default(&def);
    struct run *r = load("# nothing but a comment\n");
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 0);
    /* Whole-struct assignment need not copy padding: compare the fields. */
    assert_null(r->o.iface);
    assert_int_equal(r->o.n_rule_paths, 0);
    assert_int_equal(r->o.fold_seconds, def.fold_seconds);
    assert_memory_equal(&r->o.decoder, &def.decoder, sizeof def.decoder);
    assert_memory_equal(&r->o.capture, &def.capture, sizeof def.capture);
    assert_null(r->o.config_mem);
    r = load("workers:\nlog: ~\n"); /* a key without a value keeps its default */
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->o.workers, 0);
    assert_int_equal(r->o.log, DW_LOG_ALERTS);
    assert_int_equal(def.capture.snaplen, 65535);
    assert_true(def.capture.promisc);
    assert_int_equal(def.metrics.interval_s, 15);
    assert_null(def.metrics.listen);
}

static void test_unknown_keys(void **state)
{
    (void)state;
    struct run *r = load("interface: eth1\n"
                         "worker: 3\n"
                         "snaplen: 100\n"
                         "redis:\n"
                         "  mdoe: list\n"
                         "  password: hunter2\n"
                         "  listen: x\n"
                         "iface: eth0\n"
                         "zzzzzzzz: 1\n"
                         "metrics: {listn: \":9153\"}\n");
    assert_int_equal(r->rc, -EINVAL);
    expect_diag(r, 2, 1, true, "unknown key \"worker\" at the top level; did you mean \"workers\"?");
    expect_diag(r, 3, 1, true, "unknown key \"snaplen\" at the top level; it belongs under \"capture\"");
    expect_diag(r, 5, 3, true, "unknown key \"mdoe\" under \"redis\"; did you mean \"mode\"?");
    expect_diag(r, 6, 3, true, "password_file");
    expect_diag(r, 7, 3, true, "it belongs under \"metrics\"");
    expect_diag(r, 8, 1, true, "did you mean \"interface\"?");
    expect_diag(r, 9, 1, true, "valid keys: interface, rules");
    expect_diag(r, 10, 11, true, "did you mean \"listen\"?");
    /* In file order. */
    for (size_t i = 1; i < r->n; i++)
        assert_true(r->d[i - 1].line <= r->d[i].line);
    /* A failed load leaves the options as they were. */
    dw_options def;
    options_default(&def);
    assert_memory_equal(&r->o, &def, sizeof def);
}

static void test_bad_values(void **state)
{
    (void)state;
    struct run *r = load("workers: 0\n"                       /* 1 */
                         "log: watchd\n"                      /* 2 */
                         "output: kafka\n"                    /* 3 */
                         "ports: [53, 70000]\n"               /* 4 */
                         "fold_seconds: -1\n"                 /* 5 */
                         "capture: {promisc: maybe, snaplen: 1000}\n" /* 6 */
                         "filter: \"port 53 and\"\n"          /* 7 */
                         "limits: {frag_bytes: 12X}\n"        /* 8 */
                         "metrics: {listen: \"127.0.0.1:99999\"}\n" /* 9 */
                         "redis: {mode: lsit, maxlen: 1.5}\n"       /* 10 */
                         "rules: [missing.yaml]\n"            /* 11 */
                         "asn_db: nowhere.mmdb\n"             /* 12 */
                         "interface: [eth0]\n"                /* 13 */
                         "capture: {}\n"                      /* 14 */
                         "allow_root: 1\n");                  /* 15 */
    assert_int_equal(r->rc, -EINVAL);
    expect_diag(r, 1, 10, true, "\"workers\" must be a whole number from 1 to 64");
    expect_diag(r, 2, 6, true, "bad log \"watchd\"; did you mean \"watched\"?");
    expect_diag(r, 3, 9, true, "bad output \"kafka\"; valid: stdout, redis");
    expect_diag(r, 4, 13, true, "from 1 to 65535, not \"70000\"");
    expect_diag(r, 5, 15, true, "\"fold_seconds\" must be a whole number from 0 to 86400");
    expect_diag(r, 6, 20, true, "\"capture.promisc\" must be true or false");
    expect_diag(r, 6, 36, false, "cuts large DNS responses");
    expect_diag(r, 7, 9, true, "\"filter\" does not compile");
    expect_diag(r, 8, 22, true, "\"limits.frag_bytes\" must be a size");
    expect_diag(r, 9, 19, true, "port must be a number from 0 to 65535");
    expect_diag(r, 10, 15, true, "bad redis.mode \"lsit\"; did you mean \"list\"?");
    expect_diag(r, 10, 29, true, "\"redis.maxlen\" must be a whole number");
    expect_diag(r, 11, 9, true, "missing.yaml: No such file or directory");
    expect_diag(r, 12, 9, true, "nowhere.mmdb: No such file or directory");
    expect_diag(r, 13, 12, true, "\"interface\" must be text, found a list");
    expect_diag(r, 14, 1, true, "duplicate key \"capture\"; the first is on line 6");
    expect_diag(r, 15, 13, true, "\"allow_root\" must be true or false");
}

static void test_warnings_only(void **state)
{
    (void)state;
    struct run *r = load("redis: {mode: stream, list_push: rpush, password_file: pw-open}\n"
                         "metrics: {interval_s: 5, textfile: metrics.txt}\n"
                         "asn_db: none\n");
    assert_int_equal(r->rc, 0);
    expect_diag(r, 1, 34, false, "no effect unless redis.mode is list");
    expect_diag(r, 1, 56, false, "readable by every user");
    expect_diag(r, 2, 36, false, "only files ending in .prom");
    assert_string_equal(r->o.asn_db, "none");
    options_free(&r->o);
}

/* redis.mode: rpush in the file, as --redis-mode rpush on the command line. */
static void test_redis_rpush(void **state)
{
    (void)state;
    struct run *r = load("redis: {mode: rpush}\n");
    assert_int_equal(r->rc, 0);
    assert_int_equal(r->n, 0);
    assert_int_equal(r->o.redis.mode, PUB_LIST);
    assert_true(r->o.redis.list_rpush);
    options_free(&r->o);
    r = load("redis: {mode: rpush, list_push: rpush}\n");
    assert_int_equal(r->rc, 0);
    assert_true(r->o.redis.list_rpush);
    options_free(&r->o);
    r = load("redis: {mode: rpush, list_push: lpush}\n");
    assert_int_equal(r->rc, -EINVAL);
    expect_diag(r, 1, 33, true, "contradicts \"redis.mode: rpush\"");
    r = load("redis: {mode: rpsuh}\n");
    assert_int_equal(r->rc, -EINVAL);
    expect_diag(r, 1, 15, true, "bad redis.mode \"rpsuh\"; did you mean \"rpush\"?");
}

static void test_file_shape(void **state)
{
    (void)state;
    struct run *r = load("- interface: eth0\n");
    assert_int_equal(r->rc, -EINVAL);
    expect_diag(r, 1, 1, true, "the config must be a mapping");
    r = load("interface: eth0\n---\ninterface: eth1\n");
    assert_int_equal(r->rc, -EINVAL);
    expect_diag(r, 3, 1, true, "single document");
    r = load("interface: [eth0\n");
    assert_int_equal(r->rc, -EINVAL);
    assert_int_equal(r->n, 1);
    assert_true(strstr(r->d[0].msg, "YAML syntax error") != NULL);
    r = load("interface: \"a\\0b\"\n");
    assert_int_equal(r->rc, -EINVAL);
    expect_diag(r, 1, 12, true, "NUL character");

    struct run r2 = {0};
    options_default(&r2.o);
    char p[300];
    snprintf(p, sizeof p, "%s/does-not-exist.yaml", tmpdir);
    assert_int_equal(config_load(p, &r2.o, collect, &r2), -ENOENT);
    assert_int_equal(r2.n, 1);
    assert_int_equal(r2.d[0].line, 0);
    assert_true(strstr(r2.d[0].msg, "cannot read") != NULL);
}

/* A second file adds to the first, and strings of the first stay valid. */
static void test_two_files(void **state)
{
    (void)state;
    struct run r = {0};
    options_default(&r.o);
    assert_int_equal(config_load(write_file("one.yaml", "interface: eth1\nname: a\n"), &r.o,
                                 collect, &r), 0);
    const char *iface = r.o.iface;
    assert_int_equal(config_load(write_file("two.yaml", "name: b\n"), &r.o, collect, &r), 0);
    assert_ptr_equal(r.o.iface, iface);
    assert_string_equal(r.o.iface, "eth1");
    assert_string_equal(r.o.observer_name, "b");
    /* A failing third keeps everything. */
    assert_int_equal(config_load(write_file("three.yaml", "name: c\nworkers: 99\n"), &r.o,
                                 collect, &r), -EINVAL);
    assert_string_equal(r.o.observer_name, "b");
    options_free(&r.o);
}

static int parse(dw_options *o, const char *const *args, int n)
{
    char *argv[32];
    assert_true(n < 32);
    for (int i = 0; i < n; i++)
        argv[i] = (char *)args[i];
    argv[n] = NULL;
    options_default(o);
    return options_parse_run(o, n, argv);
}

static void test_flags_override(void **state)
{
    (void)state;
    const char *cfg = write_file("run.yaml", "interface: eth1\nworkers: 4\nlog: watched\n"
                                             "rules: [rules.yaml, rules.d]\nname: from-file\n");
    dw_options o;
    /* -c anywhere on the line; every flag wins over the file. */
    const char *a1[] = {"run", "--workers", "2", "-c", cfg, "--name", "from-flag"};
    assert_int_equal(parse(&o, a1, 7), 0);
    assert_int_equal(o.workers, 2);
    assert_int_equal(o.log, DW_LOG_WATCHED);
    assert_string_equal(o.observer_name, "from-flag");
    assert_string_equal(o.iface, "eth1");
    assert_int_equal(o.n_rule_paths, 2);
    options_free(&o);
    /* --rules replaces the file's list; -r replaces its interface. */
    const char *a2[] = {"run", "--config", cfg, "-r", "x.pcap", "--rules", "a", "--rules", "b"};
    assert_int_equal(parse(&o, a2, 9), 0);
    assert_int_equal(o.n_rule_paths, 2);
    assert_string_equal(o.rule_paths[0], "a");
    assert_null(o.iface);
    assert_string_equal(o.pcap_file, "x.pcap");
    options_free(&o);
    /* -i on the line with -r is still a usage error. */
    const char *a3[] = {"run", "-c", cfg, "-r", "x.pcap", "-i", "eth0"};
    assert_int_equal(parse(&o, a3, 7), 2);
    options_free(&o);
    /* A bad config: 1 (not a usage error). -c none: no file at all. */
    const char *bad = write_file("bad.yaml", "workers: lots\n");
    const char *a4[] = {"run", "-c", bad, "-r", "x.pcap"};
    assert_int_equal(parse(&o, a4, 5), 1);
    options_free(&o);
    const char *a5[] = {"run", "-c", "none", "-r", "x.pcap"};
    assert_int_equal(parse(&o, a5, 5), 0);
    assert_null(o.config_mem);
    options_free(&o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_values),    cmocka_unit_test(test_every_key),      cmocka_unit_test(test_defaults_kept),
        cmocka_unit_test(test_unknown_keys),   cmocka_unit_test(test_bad_values),
        cmocka_unit_test(test_warnings_only),  cmocka_unit_test(test_file_shape),
        cmocka_unit_test(test_redis_rpush),
        cmocka_unit_test(test_two_files),      cmocka_unit_test(test_flags_override),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
