/* Every diagnostic of the rule linter: exact file, line, column, severity, rule id and the
 * part of the text that tells the analyst what to fix. */
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

#include "rules/ruleset.h"
#include "sensor/check.h"

#define NOW ((time_t)1790000000) /* 2026-09-21T14:13:20Z */

struct got {
    char file[256];
    unsigned line, col;
    bool is_error;
    char id[80];
    bool has_id;
    char msg[400];
};

struct run {
    struct got d[64];
    size_t n;
    int rc;
    ruleset *rs;
};

static char tmpdir[256];

static void collect(void *ctx, const ruleset_diag *d)
{
    struct run *r = ctx;
    if (r->n == 64)
        return;
    struct got *g = &r->d[r->n++];
    snprintf(g->file, sizeof g->file, "%s", d->file);
    g->line = d->line;
    g->col = d->col;
    g->is_error = d->is_error;
    g->has_id = d->rule_id != NULL;
    snprintf(g->id, sizeof g->id, "%s", d->rule_id ? d->rule_id : "");
    snprintf(g->msg, sizeof g->msg, "%s", d->msg);
}

static const char *write_file(const char *name, const char *text)
{
    static char path[2][512];
    static int k;
    char *p = path[k++ % 2];
    snprintf(p, 512, "%s/%s", tmpdir, name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static void load_paths(struct run *r, const char *const *paths, size_t n)
{
    memset(r, 0, sizeof *r);
    r->rc = ruleset_load(paths, n, NOW, collect, r, &r->rs);
}

static void load1(struct run *r, const char *name, const char *text)
{
    const char *p = write_file(name, text);
    load_paths(r, &p, 1);
}

static void dump(const struct run *r)
{
    for (size_t i = 0; i < r->n; i++)
        fprintf(stderr, "  %s:%u:%u: %s: [%s] %s\n", r->d[i].file, r->d[i].line, r->d[i].col,
                r->d[i].is_error ? "error" : "warning", r->d[i].id, r->d[i].msg);
}

/* Asserts diagnostic i is exactly at file:line:col with that severity and rule id (NULL:
 * none) and that its text contains part. */
static void expect_diag(const struct run *r, size_t i, const char *file, unsigned line,
                        unsigned col, bool is_error, const char *id, const char *part)
{
    if (i >= r->n) {
        dump(r);
        fail_msg("diagnostic %zu missing (%zu given)", i, r->n);
    }
    const struct got *g = &r->d[i];
    size_t fl = strlen(g->file), wl = strlen(file);
    bool ok = fl >= wl && !strcmp(g->file + fl - wl, file) && g->line == line && g->col == col &&
              g->is_error == is_error && (id ? g->has_id && !strcmp(g->id, id) : !g->has_id) &&
              strstr(g->msg, part);
    if (!ok) {
        dump(r);
        fail_msg("diagnostic %zu: want %s:%u:%u %s [%s] ...%s...", i, file, line, col,
                 is_error ? "error" : "warning", id ? id : "", part);
    }
}

static void expect_count(const struct run *r, size_t n, int rc)
{
    if (r->n != n || r->rc != rc) {
        dump(r);
        fail_msg("want %zu diagnostics and rc %d, got %zu and rc %d", n, rc, r->n, r->rc);
    }
    if (rc == 0)
        assert_non_null(r->rs);
    else
        assert_null(r->rs);
    ruleset_free(((struct run *)r)->rs);
}

/* ---- errors ---- */

static void t_yaml_syntax(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "syntax.yaml", "id: x\nmatch: {names: [a.b]}\n  bad: indent\n");
    expect_diag(&r, 0, "syntax.yaml", 3, 3, true, NULL,
                "YAML syntax error: did not find expected key (while parsing a block mapping at "
                "line 1)");
    expect_count(&r, 1, -EINVAL);

    load1(&r, "unclosed.yaml", "id: x\nmatch: {names: [a.b]\n");
    expect_diag(&r, 0, "unclosed.yaml", 3, 1, true, NULL, "YAML syntax error");
    expect_count(&r, 1, -EINVAL);

    load1(&r, "utf8.yaml", "id: x\ntitle: \"\xff\"\nmatch: {names: [a.b]}\n");
    expect_diag(&r, 0, "utf8.yaml", 2, 9, true, NULL, "YAML syntax error: invalid leading UTF-8");
    expect_count(&r, 1, -EINVAL);
}

static void t_unknown_key(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "typo.yaml",
          "id: pypi\n"
          "match: {names: [pypi.org]}\n"
          "expcet:\n"
          "  asn: [54113]\n");
    expect_diag(&r, 0, "typo.yaml", 3, 1, true, "pypi",
                "unknown key \"expcet\" in rule; did you mean \"expect\"?");
    expect_count(&r, 1, -EINVAL);

    load1(&r, "nested.yaml",
          "id: pypi\n"
          "match: {names: [pypi.org], excpet: [a.pypi.org]}\n"
          "expect: {asn: [1], resolvrs: [10.0.0.1], foo: 1}\n");
    expect_diag(&r, 0, "nested.yaml", 2, 28, true, "pypi",
                "unknown key \"excpet\" in match; did you mean \"except\"?");
    expect_diag(&r, 1, "nested.yaml", 3, 20, true, "pypi",
                "unknown key \"resolvrs\" in expect; did you mean \"resolvers\"?");
    expect_diag(&r, 2, "nested.yaml", 3, 42, true, "pypi",
                "unknown key \"foo\" in expect; valid keys: asn, prefixes, resolvers");
    expect_count(&r, 3, -EINVAL);

    /* A key of another level: say where it goes. */
    load1(&r, "misplaced.yaml",
          "id: art\n"
          "match: {names: [a.example]}\n"
          "resolvers: [10.10.0.53]\n"
          "rebinding: {check: true, names: [x.example]}\n");
    expect_diag(&r, 0, "misplaced.yaml", 3, 1, true, "art",
                "unknown key \"resolvers\" in rule; it belongs under \"expect\"");
    expect_diag(&r, 1, "misplaced.yaml", 4, 26, true, "art",
                "unknown key \"names\" in rebinding; it belongs under \"match\"");
    expect_count(&r, 2, -EINVAL);

    load1(&r, "dupkey.yaml", "id: a\nmatch: {names: [a.b]}\nttl: {max: 5}\nttl: {max: 6}\n");
    expect_diag(&r, 0, "dupkey.yaml", 4, 1, true, "a",
                "duplicate key \"ttl\" in rule; the first is on line 3");
    expect_count(&r, 1, -EINVAL);

    load1(&r, "setsdoc.yaml", "sets: {a: {asn: [1]}}\nid: r\n");
    expect_diag(&r, 0, "setsdoc.yaml", 2, 1, true, NULL,
                "unknown key \"id\" in a sets document");
    expect_count(&r, 1, -EINVAL);
}

static void t_missing_required(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "noid.yaml", "# a rule\ntitle: no id\nmatch: {names: [a.b]}\n");
    expect_diag(&r, 0, "noid.yaml", 2, 1, true, NULL, "rule has no \"id\"");
    expect_count(&r, 1, -EINVAL);

    load1(&r, "nomatch.yaml", "id: lonely\nexpect: {asn: [1]}\n");
    expect_diag(&r, 0, "nomatch.yaml", 1, 1, true, "lonely", "rule has no \"match\"");
    expect_count(&r, 1, -EINVAL);

    load1(&r, "nonames.yaml", "id: r\nmatch: {except: [a.b]}\n");
    expect_diag(&r, 0, "nonames.yaml", 2, 8, true, "r", "\"match\" has no \"names\"");
    expect_count(&r, 1, -EINVAL);

    load1(&r, "empty.yaml", "id: r\nmatch: {names: []}\n");
    expect_diag(&r, 0, "empty.yaml", 2, 16, true, "r", "\"match.names\" is empty");
    expect_count(&r, 1, -EINVAL);
}

static void t_bad_name(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "name.yaml", "id: n\nmatch:\n  names: [ok.example, \"bad..example\", \"a.*.b\"]\n");
    expect_diag(&r, 0, "name.yaml", 3, 23, true, "n",
                "bad name pattern \"bad..example\" in match.names: ");
    expect_diag(&r, 1, "name.yaml", 3, 39, true, "n", "bad name pattern \"a.*.b\" in match.names");
    expect_count(&r, 2, -EINVAL);
}

static void t_bad_prefix(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "prefix.yaml",
          "id: p\nmatch: {names: [a.b]}\n"
          "expect:\n  prefixes: [10.0.0.0/8, 10.0.0.0/33, banana]\n");
    expect_diag(&r, 0, "prefix.yaml", 4, 26, true, "p",
                "bad prefix \"10.0.0.0/33\" in expect.prefixes: ");
    expect_diag(&r, 1, "prefix.yaml", 4, 39, true, "p", "bad prefix \"banana\" in expect.prefixes");
    expect_count(&r, 2, -EINVAL);
}

static void t_bad_asn(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "asn.yaml",
          "id: a\nmatch: {names: [a.b]}\n"
          "expect: {asn: [AS123, 0, 4294967296, -5, 4294967295]}\n");
    expect_diag(&r, 0, "asn.yaml", 3, 16, true, "a",
                "bad ASN \"AS123\" in expect.asn; write the number alone: 123");
    expect_diag(&r, 1, "asn.yaml", 3, 23, true, "a",
                "bad ASN \"0\" in expect.asn; an ASN is an integer from 1 to 4294967295");
    expect_diag(&r, 2, "asn.yaml", 3, 26, true, "a", "bad ASN \"4294967296\"");
    expect_diag(&r, 3, "asn.yaml", 3, 38, true, "a", "bad ASN \"-5\"");
    expect_count(&r, 4, -EINVAL);
}

static void t_bad_set_ref(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "setref.yaml",
          "sets:\n  fastly: {asn: [54113]}\n  build-dc: {prefixes: [10.40.0.0/16]}\n"
          "---\n"
          "id: s\nmatch: {names: [a.b]}\n"
          "expect:\n"
          "  asn: [\"set:fastyl\", \"set:build-dc\", \"set:nothing-like-it\"]\n"
          "  prefixes: [\"set:fastly\"]\n");
    expect_diag(&r, 0, "setref.yaml", 8, 9, true, "s",
                "unknown set \"fastyl\" in expect.asn; did you mean \"set:fastly\"?");
    expect_diag(&r, 1, "setref.yaml", 8, 23, true, "s",
                "set \"build-dc\" holds prefixes, but expect.asn needs ASNs");
    expect_diag(&r, 2, "setref.yaml", 8, 39, true, "s",
                "unknown set \"nothing-like-it\" in expect.asn; define it in a sets: document");
    expect_diag(&r, 3, "setref.yaml", 9, 14, true, "s",
                "set \"fastly\" holds ASNs, but expect.prefixes needs prefixes");
    expect_count(&r, 4, -EINVAL);
}

static void t_duplicate_id(void **state)
{
    (void)state;
    struct run r;
    const char *paths[2];
    paths[0] = write_file("dup-a.yaml", "id: pypi\nmatch: {names: [pypi.org]}\n");
    paths[1] = write_file("dup-b.yaml", "---\nid: pypi\nmatch: {names: [files.pythonhosted.org]}\n");
    load_paths(&r, paths, 2);
    char want[600];
    snprintf(want, sizeof want, "duplicate rule id \"pypi\"; first defined at %s:1:5", paths[0]);
    expect_diag(&r, 0, "dup-b.yaml", 2, 5, true, "pypi", want);
    expect_count(&r, 1, -EINVAL);
}

static void t_bad_severity(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "sev.yaml", "id: s\nseverity: hgih\nmatch: {names: [a.b]}\n");
    expect_diag(&r, 0, "sev.yaml", 2, 11, true, "s",
                "bad severity \"hgih\"; did you mean \"high\"? (valid: low, medium, high, critical)");
    expect_count(&r, 1, -EINVAL);

    load1(&r, "sev2.yaml", "id: s\nseverity: 7\nmatch: {names: [a.b]}\n");
    expect_diag(&r, 0, "sev2.yaml", 2, 11, true, "s",
                "bad severity \"7\"; valid: low, medium, high, critical");
    expect_count(&r, 1, -EINVAL);
}

static void t_exception_incomplete(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "exc.yaml",
          "id: e\nmatch: {names: [a.b]}\nexpect: {asn: [1]}\n"
          "exceptions:\n"
          "  - {prefixes: [192.0.2.0/24], expires: 2030-01-01}\n"
          "  - {prefixes: [192.0.2.0/24], reason: CHG-1}\n"
          "  - {reason: CHG-2, expires: 2030-01-01}\n");
    expect_diag(&r, 0, "exc.yaml", 5, 5, true, "e", "exception has no \"reason\"");
    expect_diag(&r, 1, "exc.yaml", 6, 5, true, "e",
                "exception has no \"expires\"; add expires: YYYY-MM-DD");
    expect_diag(&r, 2, "exc.yaml", 7, 5, true, "e", "exception excuses nothing");
    expect_count(&r, 3, -EINVAL);
}

static void t_bad_date(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "date.yaml",
          "id: d\nmatch: {names: [a.b]}\nexpect: {asn: [1]}\n"
          "exceptions:\n"
          "  - prefixes: [192.0.2.0/24]\n"
          "    reason: CHG-1\n"
          "    expires: 2027-02-29\n"
          "  - {prefixes: [192.0.2.0/24], reason: CHG-2, expires: 31/12/2027}\n");
    expect_diag(&r, 0, "date.yaml", 7, 14, true, "d",
                "bad date \"2027-02-29\" in expires; write YYYY-MM-DD");
    expect_diag(&r, 1, "date.yaml", 8, 56, true, "d", "bad date \"31/12/2027\"");
    expect_count(&r, 2, -EINVAL);
}

static void t_wrong_type(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "type.yaml",
          "id: t\n"
          "match: {names: pypi.org}\n"
          "expect: [1]\n"
          "ttl: {max: [1]}\n"
          "tags: {a: b}\n");
    expect_diag(&r, 0, "type.yaml", 2, 16, true, "t",
                "\"match.names\" must be a list, found text; write [pypi.org]");
    expect_diag(&r, 1, "type.yaml", 3, 9, true, "t",
                "\"expect\" must be a mapping (key: value), found a list");
    expect_diag(&r, 2, "type.yaml", 4, 12, true, "t", "\"ttl.max\" must be text, found a list");
    expect_diag(&r, 3, "type.yaml", 5, 7, true, "t", "\"tags\" must be a list, found a mapping");
    expect_count(&r, 4, -EINVAL);

    load1(&r, "root.yaml", "- just\n- a list\n");
    expect_diag(&r, 0, "root.yaml", 1, 1, true, NULL, "a document must be a mapping");
    expect_count(&r, 1, -EINVAL);
}

static void t_duplicate_set(void **state)
{
    (void)state;
    struct run r;
    const char *paths[2];
    paths[0] = write_file("sets-a.yaml", "sets:\n  fastly: {asn: [54113]}\n");
    paths[1] = write_file("sets-b.yaml", "sets:\n  other: {asn: [1]}\n  fastly: {asn: [2]}\n");
    load_paths(&r, paths, 2);
    char want[600];
    snprintf(want, sizeof want, "duplicate set \"fastly\"; first defined at %s:2:3", paths[0]);
    expect_diag(&r, 0, "sets-b.yaml", 3, 3, true, NULL, want);
    expect_count(&r, 1, -EINVAL);

    load1(&r, "sets-bad.yaml", "sets:\n  both: {asn: [1], prefixes: [10.0.0.0/8]}\n"
                               "  none: {}\n  nested: {asn: [\"set:both\"]}\n");
    expect_diag(&r, 0, "sets-bad.yaml", 2, 3, true, NULL, "holds either asn or prefixes");
    expect_diag(&r, 1, "sets-bad.yaml", 3, 3, true, NULL, "set \"none\" is empty");
    expect_diag(&r, 2, "sets-bad.yaml", 4, 18, true, NULL, "a set cannot refer to another set");
    expect_count(&r, 3, -EINVAL);
}

static void t_other_errors(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "values.yaml",
          "id: v w\nmatch: {names: [a.b]}\n"
          "dnssec: {expect: sigend}\n"
          "ttl: {max: 0}\n"
          "rebinding: {check: maybe, sinkhole: rebindng}\n");
    expect_diag(&r, 0, "values.yaml", 1, 5, true, NULL, "bad rule id \"v w\"");
    expect_diag(&r, 1, "values.yaml", 3, 18, true, NULL,
                "bad dnssec.expect \"sigend\"; did you mean \"signed\"?");
    expect_diag(&r, 2, "values.yaml", 4, 12, true, NULL, "bad ttl.max \"0\"");
    expect_diag(&r, 3, "values.yaml", 5, 20, true, NULL,
                "bad rebinding.check \"maybe\"; valid: false, true");
    expect_diag(&r, 4, "values.yaml", 5, 37, true, NULL, "bad rebinding.sinkhole \"rebindng\"; did "
                                                          "you mean \"rebinding\"?");
    expect_count(&r, 5, -EINVAL);
}

static void t_io(void **state)
{
    (void)state;
    struct run r;
    char missing[600];
    snprintf(missing, sizeof missing, "%s/no-such-file.yaml", tmpdir);
    const char *p = missing;
    load_paths(&r, &p, 1);
    expect_diag(&r, 0, "no-such-file.yaml", 0, 0, true, NULL, "cannot open: ");
    expect_count(&r, 1, -ENOENT);

    char dir[600];
    snprintf(dir, sizeof dir, "%s/emptydir", tmpdir);
    assert_int_equal(mkdir(dir, 0700), 0);
    p = dir;
    load_paths(&r, &p, 1);
    expect_diag(&r, 0, "emptydir", 0, 0, false, NULL, "no *.yaml or *.yml files");
    expect_count(&r, 1, 0);
    rmdir(dir);
}

static void t_alias_bomb(void **state)
{
    (void)state;
    /* 120 references to an exception holding 2000 prefixes: bounded, one error. */
    size_t cap = 200000, o = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    o += (size_t)snprintf(text + o, cap - o, "id: b\nmatch: {names: [b.x]}\nexceptions:\n"
                                             "  - &e {reason: r, expires: 2099-01-01, prefixes: [");
    for (int i = 0; i < 2000; i++)
        o += (size_t)snprintf(text + o, cap - o, "%s10.%d.%d.0/24", i ? "," : "", i / 256, i % 256);
    o += (size_t)snprintf(text + o, cap - o, "]}\n");
    for (int i = 0; i < 120; i++)
        o += (size_t)snprintf(text + o, cap - o, "  - *e\n");
    struct run r;
    load1(&r, "bomb.yaml", text);
    free(text);
    expect_diag(&r, 0, "bomb.yaml", 4, 51, true, "b", "document too large: more than 200000 items");
    expect_count(&r, 1, -EINVAL);

    load1(&r, "short.yaml", "id: s\nmatch: {names: [a.b]}\nx: 1\n");
    expect_diag(&r, 0, "short.yaml", 3, 1, true, "s", "unknown key \"x\" in rule; valid keys: id, ");
    expect_count(&r, 1, -EINVAL);
}

/* ---- warnings ---- */

static void t_host_bits(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "hostbits.yaml", "id: h\nmatch: {names: [a.b]}\nexpect: {prefixes: [10.40.1.0/16]}\n");
    expect_diag(&r, 0, "hostbits.yaml", 3, 21, false, "h",
                "prefix \"10.40.1.0/16\" in expect.prefixes has host bits set; using 10.40.0.0/16");
    expect_count(&r, 1, 0);
    load1(&r, "hostbits.yaml", "id: h\nmatch: {names: [a.b]}\nexpect: {prefixes: [10.40.1.0/16]}\n");
    const dw_rule *rule = ruleset_rule(r.rs, 0);
    assert_string_equal(rule->prefixes_text.v[0], "10.40.0.0/16");
    uint8_t in[4] = {10, 40, 200, 1};
    assert_true(prefixset_lookup(rule->prefixes, 4, in, NULL, NULL));
    ruleset_free(r.rs);
}

static void t_public_suffix(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "psl.yaml",
          "id: w\nmatch: {names: [\"*.org\", \"*.co.uk\", \"*.pythonhosted.org\", \"*\"]}\n"
          "cname: {allowed_targets: [\"*.net\"]}\n");
    expect_diag(&r, 0, "psl.yaml", 2, 17, false, "w",
                "wildcard \"*.org\" in match.names covers a whole public suffix");
    expect_diag(&r, 1, "psl.yaml", 2, 26, false, "w", "wildcard \"*.co.uk\"");
    expect_diag(&r, 2, "psl.yaml", 3, 27, false, "w",
                "wildcard \"*.net\" in cname.allowed_targets covers a whole public suffix");
    expect_count(&r, 3, 0);
    /* Special-use names cannot be registered: wildcards on them draw no warning. */
    load1(&r, "local.yaml",
          "id: l\nmatch: {names: [\"*\"], except: [\"*.local\", \"*.internal\", \"*.home.arpa\", "
          "\"*.localhost\", \"*.in-addr.arpa\"]}\n");
    expect_count(&r, 0, 0);
}

static void t_expired_exception(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "expired.yaml",
          "id: x\nmatch: {names: [a.b]}\nexpect: {asn: [1]}\n"
          "exceptions:\n"
          "  - {prefixes: [192.0.2.0/24], reason: CHG-1, expires: 2026-09-20}\n"
          "  - {prefixes: [198.51.100.0/24], reason: CHG-2, expires: 2026-09-21}\n");
    expect_diag(&r, 0, "expired.yaml", 5, 56, false, "x",
                "exception expired on 2026-09-20 and is ignored (reason: CHG-1)");
    expect_count(&r, 1, 0);
}

static void t_overlap(void **state)
{
    (void)state;
    struct run r;
    const char *paths[2];
    paths[0] = write_file("ov-a.yaml", "id: one\nmatch: {names: [pypi.org, \"*.pypi.org\"]}\n");
    paths[1] = write_file("ov-b.yaml", "id: two\nmatch:\n  names: [\"*.PyPI.org.\", x.pypi.org]\n");
    load_paths(&r, paths, 2);
    char want[600];
    snprintf(want, sizeof want,
             "\"*.pypi.org\" is also matched by rule \"one\" (%s:2:27); both rules apply", paths[0]);
    expect_diag(&r, 0, "ov-b.yaml", 3, 11, false, "two", want);
    expect_count(&r, 1, 0);

    load1(&r, "twice.yaml", "id: t\nmatch: {names: [a.b, A.B.]}\n");
    expect_diag(&r, 0, "twice.yaml", 2, 22, false, "t", "\"a.b\" is listed twice in match.names");
    expect_count(&r, 1, 0);
}

static void t_checks_nothing(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "nothing.yaml", "\nid: quiet\nmatch: {names: [a.b]}\nrebinding: {check: false}\n");
    expect_diag(&r, 0, "nothing.yaml", 2, 1, false, "quiet", "rule checks nothing");
    expect_count(&r, 1, 0);

    /* ttl alone is a check. */
    load1(&r, "ttlonly.yaml", "id: q\nmatch: {names: [a.b]}\nrebinding: {check: false}\nttl: {max: 5}\n");
    expect_count(&r, 0, 0);
}

/* ---- metadata and allow documents ---- */

static void t_metadata(void **state)
{
    (void)state;
    struct run r;
    load1(&r, "meta.yaml",
          "id: pypi\n"
          "match: {names: [pypi.org]}\n"
          "severity: critical\n"
          "tags: [attack.t1557]\n"
          "description: PyPI must resolve to Fastly\n"
          "references: [\"https://docs.pypi.org/x\", \"http://[2001:db8::1]:8080/a?b#c\"]\n"
          "author: soc-team\n"
          "version: 3\n"
          "status: test\n");
    if (r.rc != 0 || r.n != 0)
        dump(&r);
    assert_int_equal(r.rc, 0);
    const dw_rule *ru = ruleset_rule(r.rs, 0);
    assert_string_equal(ru->description, "PyPI must resolve to Fastly");
    assert_int_equal(ru->n_references, 2);
    assert_string_equal(ru->references[1], "http://[2001:db8::1]:8080/a?b#c");
    assert_string_equal(ru->author, "soc-team");
    assert_int_equal(ru->version, 3);
    assert_int_equal(ru->status, DW_RULE_TEST);
    /* test: low severity, tagged test */
    assert_int_equal(ru->severity, DW_SEV_LOW);
    assert_int_equal(ru->score, 21);
    assert_int_equal(ru->tags.n, 2);
    assert_string_equal(ru->tags.v[1], "test");
    expect_count(&r, 0, 0);

    /* Not written: NULL and 0; disabled is loaded but matches nothing. */
    load1(&r, "plain.yaml", "id: a\nmatch: {names: [a.example]}\nstatus: Disabled\n");
    assert_int_equal(r.rc, 0);
    ru = ruleset_rule(r.rs, 0);
    assert_null(ru->description);
    assert_null(ru->references);
    assert_null(ru->author);
    assert_int_equal(ru->version, 0);
    assert_int_equal(ru->status, DW_RULE_DISABLED);
    assert_int_equal(ruleset_count(r.rs), 1);
    assert_false(nameset_contains(ruleset_names(r.rs), "a.example", 9));
    expect_count(&r, 0, 0);

    load1(&r, "badmeta.yaml",
          "id: m\n"
          "match: {names: [a.example]}\n"
          "references: [\"ftp://x.example/\", \"https:///path\", \"https://a.example/with space\"]\n"
          "version: 0\n"
          "status: enabeld\n"
          "author: \"\"\n"
          "descripton: x\n"
          "references: y\n");
    expect_diag(&r, 0, "badmeta.yaml", 3, 14, true, "m",
                "bad URL \"ftp://x.example/\" in references: not an http:// or https:// URL");
    expect_diag(&r, 1, "badmeta.yaml", 3, 34, true, "m", "no host after the scheme");
    expect_diag(&r, 2, "badmeta.yaml", 3, 51, true, "m", "a space or a non-ASCII character");
    expect_diag(&r, 3, "badmeta.yaml", 4, 10, true, "m",
                "\"version\" must be a whole number from 1 to 2147483647");
    expect_diag(&r, 4, "badmeta.yaml", 5, 9, true, "m",
                "bad status \"enabeld\"; did you mean \"enabled\"?");
    expect_diag(&r, 5, "badmeta.yaml", 6, 9, true, "m", "\"author\" must not be empty");
    expect_diag(&r, 6, "badmeta.yaml", 7, 1, true, "m",
                "unknown key \"descripton\" in rule; did you mean \"description\"?");
    expect_diag(&r, 7, "badmeta.yaml", 8, 1, true, "m",
                "duplicate key \"references\" in rule; the first is on line 3");
    expect_count(&r, 8, -EINVAL);
}

static void t_allow_doc(void **state)
{
    (void)state;
    struct run r;
    char rules[512];
    snprintf(rules, sizeof rules, "%s",
             write_file("rules.yaml", "id: rebinding\nmatch: {names: [\"*\"]}\n---\n"
                                      "id: pypi\nmatch: {names: [pypi.org]}\nexpect: {asn: [54113]}\n"));
    const char *allow = write_file("allow.yaml",
          "allow:\n"
          "  - names: [\"*.privatelink.blob.core.windows.net\"]\n"
          "    prefixes: [10.30.0.0/16]\n"
          "    rules: [rebinding]\n"
          "    reason: Azure private endpoints\n"
          "    expires: 2099-06-30\n"
          "  - {asn: [16509, 16509], reason: AWS trial, expires: 2099-01-01}\n"
          "  - {prefixes: [192.0.2.0/24], reason: old, expires: 2020-01-01}\n");
    const char *paths[] = {rules, allow};
    load_paths(&r, paths, 2);
    /* An entry with addresses but neither names nor rules allows them everywhere. */
    expect_diag(&r, 0, "allow.yaml", 7, 5, false, NULL,
                "allow entry has no names and no rules: it allows these addresses for every "
                "name under every rule");
    expect_diag(&r, 1, "allow.yaml", 8, 5, false, NULL, "allow entry has no names and no rules");
    expect_diag(&r, 2, "allow.yaml", 8, 54, false, NULL,
                "allow entry expired on 2020-01-01 and is ignored (reason: old)");
    assert_int_equal(ruleset_allow_count(r.rs), 2);
    const dw_allow *a = ruleset_allow(r.rs, 0);
    assert_int_equal(a->n_rules, 1);
    assert_int_equal(a->rules[0], 0);
    assert_string_equal(a->rules_text.v[0], "rebinding");
    assert_string_equal(a->reason, "Azure private endpoints");
    assert_int_equal(a->line, 2);
    assert_non_null(a->names);
    assert_non_null(a->prefixes);
    a = ruleset_allow(r.rs, 1);
    assert_int_equal(a->n_rules, 0);
    assert_int_equal(a->n_asn, 1);
    assert_null(a->names);
    assert_null(a->prefixes);
    expect_count(&r, 3, 0);

    allow = write_file("badallow.yaml",
          "allow:\n"
          "  - names: [x.example]\n"
          "    prefixes: [10.0.0.0/33, \"set:nope\"]\n"
          "    rules: [rebindng, nosuch]\n"
          "    reasn: x\n"
          "    expires: 2027-02-30\n"
          "  - {names: [y.example], expires: 2099-01-01}\n"
          "  - {reason: nothing, expires: 2099-01-01}\n"
          "  - just text\n"
          "id: stray\n");
    paths[1] = allow;
    load_paths(&r, paths, 2);
    expect_diag(&r, 0, "badallow.yaml", 2, 5, true, NULL, "allow entry has no \"reason\"");
    expect_diag(&r, 1, "badallow.yaml", 3, 16, true, NULL,
                "bad prefix \"10.0.0.0/33\" in allow prefixes");
    expect_diag(&r, 2, "badallow.yaml", 3, 29, true, NULL, "unknown set \"nope\" in allow prefixes");
    expect_diag(&r, 3, "badallow.yaml", 4, 13, true, NULL,
                "unknown rule \"rebindng\" in allow rules; did you mean \"rebinding\"?");
    expect_diag(&r, 4, "badallow.yaml", 4, 23, true, NULL, "unknown rule \"nosuch\" in allow rules");
    expect_diag(&r, 5, "badallow.yaml", 5, 5, true, NULL,
                "unknown key \"reasn\" in an allow entry; did you mean \"reason\"?");
    expect_diag(&r, 6, "badallow.yaml", 6, 14, true, NULL, "bad date \"2027-02-30\" in expires");
    /* Names without addresses: any address of them passes, a hijack included. */
    expect_diag(&r, 7, "badallow.yaml", 7, 5, false, NULL,
                "allow entry has names but no prefixes or asn: it allows ANY address of those "
                "names");
    expect_diag(&r, 8, "badallow.yaml", 7, 5, true, NULL, "allow entry has no \"reason\"");
    expect_diag(&r, 9, "badallow.yaml", 8, 5, true, NULL, "allow entry allows nothing");
    expect_diag(&r, 10, "badallow.yaml", 9, 5, true, NULL, "an item of \"allow\" must be a mapping");
    expect_diag(&r, 11, "badallow.yaml", 10, 1, true, NULL,
                "unknown key \"id\" in an allow document");
    expect_count(&r, 12, -EINVAL);
}

/* ---- output format ---- */

static void t_format(void **state)
{
    (void)state;
    char buf[512];
    ruleset_diag d = {.file = "r.yaml", .line = 3, .col = 1, .is_error = true, .rule_id = "pypi"};
    snprintf(d.msg, sizeof d.msg, "unknown key \"expcet\" in rule; did you mean \"expect\"?");
    ruleset_diag_format(&d, buf, sizeof buf);
    assert_string_equal(buf, "r.yaml:3:1: error: [pypi] unknown key \"expcet\" in rule; did you "
                             "mean \"expect\"?");
    d.is_error = false;
    d.rule_id = NULL;
    d.line = 0;
    snprintf(d.msg, sizeof d.msg, "m");
    ruleset_diag_format(&d, buf, sizeof buf);
    assert_string_equal(buf, "r.yaml: warning: m");

    const char *p = write_file("check.yaml", "id: a\nmatch: {names: [a.b]}\nexpcet: {}\n"
                                             "severity: hgih\n");
    char out[2048] = "";
    FILE *f = fmemopen(out, sizeof out, "w");
    assert_non_null(f);
    assert_int_equal(check_rules(&p, 1, NOW, f, f), 1);
    fclose(f);
    char want[2048];
    snprintf(want, sizeof want,
             "%s:3:1: error: [a] unknown key \"expcet\" in rule; did you mean \"expect\"?\n"
             "%s:4:11: error: [a] bad severity \"hgih\"; did you mean \"high\"? (valid: low, "
             "medium, high, critical)\n"
             "rules not loaded: 2 errors, 0 warnings\n",
             p, p);
    assert_string_equal(out, want);

    p = write_file("check-ok.yaml", "id: a\nmatch: {names: [a.b]}\n");
    memset(out, 0, sizeof out);
    f = fmemopen(out, sizeof out, "w");
    assert_int_equal(check_rules(&p, 1, NOW, f, NULL), 0);
    fclose(f);
    assert_string_equal(out, "");
}

static int setup(void **state)
{
    (void)state;
    const char *keep = getenv("DW_LINT_KEEP");
    if (keep) {
        snprintf(tmpdir, sizeof tmpdir, "%s", keep);
        mkdir(tmpdir, 0700);
        return 0;
    }
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dw-lint-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    if (getenv("DW_LINT_KEEP"))
        return 0;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_yaml_syntax),      cmocka_unit_test(t_unknown_key),
        cmocka_unit_test(t_missing_required), cmocka_unit_test(t_bad_name),
        cmocka_unit_test(t_bad_prefix),       cmocka_unit_test(t_bad_asn),
        cmocka_unit_test(t_bad_set_ref),      cmocka_unit_test(t_duplicate_id),
        cmocka_unit_test(t_bad_severity),     cmocka_unit_test(t_exception_incomplete),
        cmocka_unit_test(t_bad_date),         cmocka_unit_test(t_wrong_type),
        cmocka_unit_test(t_duplicate_set),    cmocka_unit_test(t_other_errors),
        cmocka_unit_test(t_io),               cmocka_unit_test(t_alias_bomb),
        cmocka_unit_test(t_host_bits),
        cmocka_unit_test(t_public_suffix),    cmocka_unit_test(t_expired_exception),
        cmocka_unit_test(t_overlap),          cmocka_unit_test(t_checks_nothing),
        cmocka_unit_test(t_format),
        cmocka_unit_test(t_metadata),         cmocka_unit_test(t_allow_doc),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
