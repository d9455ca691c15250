/* The option table (sensor/options.h) drives the command line, the config loader,
 * `run --help` and docs/config.md: the docs' key table is the table's, a flag and its
 * config key store the same value in the same place, and every flag is in the help. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sensor/config.h"
#include "sensor/options.h"

static char *slurp_stream(void (*fn)(FILE *))
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    fn(f);
    fclose(f);
    return buf;
}

/* The lines of docs/config.md from the key table's header through its last row. */
static char *doc_table(void)
{
    const char *src = getenv("DW_SRC");
    char path[1024];
    snprintf(path, sizeof path, "%s/docs/config.md", src ? src : ".");
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char *out = NULL;
    size_t len = 0;
    FILE *o = open_memstream(&out, &len);
    char line[4096];
    bool in = false;
    while (fgets(line, sizeof line, f)) {
        if (!in && !strncmp(line, "| key | default | flag | meaning |", 34))
            in = true;
        if (in && line[0] != '|')
            break;
        if (in)
            fputs(line, o);
    }
    fclose(f);
    fclose(o);
    return out;
}

static void test_docs_table(void **state)
{
    (void)state;
    char *want = slurp_stream(options_doc_table), *got = doc_table();
    if (strcmp(want, got) != 0) {
        fprintf(stderr, "docs/config.md's key table is not the option table's; it should read:\n"
                        "%s", want);
        fail();
    }
    free(want);
    free(got);
}

static void test_help_lists_flags(void **state)
{
    (void)state;
    char *help = slurp_stream(options_help_run);
    for (size_t i = 0; i < dw_n_opts; i++) {
        char flag[64];
        if (!dw_opts[i].flag)
            continue;
        snprintf(flag, sizeof flag, "--%s", dw_opts[i].flag);
        if (!strstr(help, flag))
            fail_msg("%s missing from run --help", flag);
    }
    free(help);
}

/* The value a row's type accepts, from its bounds or names. */
static const char *sample(const dw_optdef *d, char *buf, size_t len)
{
    switch (d->type) {
    case DW_OPT_UINT: snprintf(buf, len, "%llu", (unsigned long long)d->hi); break;
    case DW_OPT_SIZE: snprintf(buf, len, "%llu", (unsigned long long)d->lo + 1024); break;
    case DW_OPT_ENUM: snprintf(buf, len, "%s", d->names[d->n_names - 1]); break;
    case DW_OPT_TEXT: snprintf(buf, len, "sample"); break;
    default: return NULL;
    }
    return buf;
}

/* For every row with both a flag and a key that the table alone parses: the flag and the
 * config key, given the same value, leave the same options. */
static void test_flag_and_key_agree(void **state)
{
    (void)state;
    char dir[] = "/tmp/dw_test_options.XXXXXX";
    assert_non_null(mkdtemp(dir));
    size_t checked = 0;
    for (size_t i = 0; i < dw_n_opts; i++) {
        const dw_optdef *d = &dw_opts[i];
        char val[64], path[128], flag[64];
        if (!d->flag || !d->key || (d->code & DW_OPT_CODE_CONFIG) || !d->size || !sample(d, val, sizeof val) ||
            d->short_flag == 'i') /* -i and -r exclude each other */
            continue;
        /* The config file: "a.b: v" written as a: {b: v}. */
        snprintf(path, sizeof path, "%s/c.yaml", dir);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        const char *dot = strchr(d->key, '.');
        if (dot)
            fprintf(f, "%.*s: {%s: \"%s\"}\n", (int)(dot - d->key), d->key, dot + 1, val);
        else
            fprintf(f, "%s: \"%s\"\n", d->key, val);
        fclose(f);
        dw_options a, b;
        options_default(&a);
        assert_int_equal(config_load(path, &a, NULL, NULL), 0);
        options_default(&b);
        snprintf(flag, sizeof flag, "--%s", d->flag);
        char a0[] = "run", a1[] = "-c", a2[] = "none", a3[] = "-r", a4[] = "x.pcap";
        char *argv[] = {a0, a1, a2, a3, a4, flag, val, NULL};
        assert_int_equal(options_parse_run(&b, 7, argv), 0);
        if (d->type == DW_OPT_TEXT) {
            const char *sa, *sb;
            memcpy(&sa, (char *)&a + d->off, sizeof sa);
            memcpy(&sb, (char *)&b + d->off, sizeof sb);
            assert_string_equal(sa, sb);
        } else if (memcmp((char *)&a + d->off, (char *)&b + d->off, d->size) != 0) {
            fail_msg("%s and %s store different values for %s", d->key, flag, val);
        }
        options_free(&a);
        options_free(&b);
        checked++;
    }
    /* redis.mode is parsed by config.c (rpush is not a plain enum value): every value,
     * rpush included, leaves the same mode and push order either way. */
    static const char *const modes[] = {"stream", "list", "channel", "rpush"};
    for (size_t i = 0; i < sizeof modes / sizeof *modes; i++) {
        char path[128], val[16], flag[] = "--redis-mode";
        snprintf(path, sizeof path, "%s/c.yaml", dir);
        snprintf(val, sizeof val, "%s", modes[i]);
        FILE *f = fopen(path, "w");
        assert_non_null(f);
        fprintf(f, "redis: {mode: %s}\n", modes[i]);
        fclose(f);
        dw_options a, b;
        options_default(&a);
        assert_int_equal(config_load(path, &a, NULL, NULL), 0);
        options_default(&b);
        char a0[] = "run", a1[] = "-c", a2[] = "none", a3[] = "-r", a4[] = "x.pcap";
        char *argv[] = {a0, a1, a2, a3, a4, flag, val, NULL};
        assert_int_equal(options_parse_run(&b, 7, argv), 0);
        assert_int_equal(a.redis.mode, b.redis.mode);
        assert_int_equal(a.redis.list_rpush, b.redis.list_rpush);
        assert_int_equal(a.redis.list_rpush, i == 3);
        options_free(&a);
        options_free(&b);
        checked++;
    }
    assert_true(checked >= 10);
    char path[128];
    snprintf(path, sizeof path, "%s/c.yaml", dir);
    unlink(path);
    rmdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_docs_table),
        cmocka_unit_test(test_help_lists_flags),
        cmocka_unit_test(test_flag_and_key_agree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
