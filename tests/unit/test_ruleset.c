/* Loading rule files into a ruleset: every field of DESIGN.md's example compiled,
 * directory order, sets shared across files, exception expiry, the ruleset hash, and
 * all-or-nothing failure. */
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

#define NOW ((time_t)1790000000) /* 2026-09-21T14:13:20Z */

static char tmpdir[256];
static unsigned n_warn, n_err;

static void count_diag(void *ctx, const ruleset_diag *d)
{
    (void)ctx;
    char buf[600];
    ruleset_diag_format(d, buf, sizeof buf);
    fprintf(stderr, "  diag: %s\n", buf);
    if (d->is_error)
        n_err++;
    else
        n_warn++;
}

static const char *tpath(const char *name)
{
    static char p[4][sizeof tmpdir + 600];
    static int k;
    char *s = p[k++ % 4];
    snprintf(s, sizeof p[0], "%s/%.599s", tmpdir, name);
    return s;
}

static const char *write_file(const char *name, const char *text)
{
    const char *p = tpath(name);
    FILE *f = fopen(p, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return p;
}

static ruleset *load_ok(const char *const *paths, size_t n, time_t now)
{
    ruleset *rs = NULL;
    n_warn = n_err = 0;
    int rc = ruleset_load(paths, n, now, count_diag, NULL, &rs);
    assert_int_equal(rc, 0);
    assert_non_null(rs);
    assert_int_equal(n_err, 0);
    return rs;
}

static bool in_set(const prefixset *s, const char *addr)
{
    int family;
    uint8_t a[16];
    unsigned plen;
    bool hb;
    const char *why;
    assert_int_equal(prefix_parse(addr, &family, a, &plen, &hb, NULL, &why), 0);
    return s && prefixset_lookup(s, family, a, NULL, NULL);
}

static bool has_name(const nameset *s, const char *name)
{
    return s && nameset_contains(s, name, strlen(name));
}

struct hits {
    uint32_t v[8];
    unsigned n;
};

static void hit(void *ctx, uint32_t v)
{
    struct hits *h = ctx;
    if (h->n < 8)
        h->v[h->n++] = v;
}

static unsigned candidates(const ruleset *rs, const char *name, struct hits *h)
{
    memset(h, 0, sizeof *h);
    return nameset_match(ruleset_names(rs), name, strlen(name), hit, h);
}

static bool hits_has(const struct hits *h, uint32_t v)
{
    for (unsigned i = 0; i < h->n; i++)
        if (h->v[i] == v)
            return true;
    return false;
}

static void t_design_example(void **state)
{
    (void)state;
    char path[512];
    const char *src = getenv("DW_SRC");
    snprintf(path, sizeof path, "%s/tests/data/rules/design-example.yaml", src ? src : ".");
    const char *p = path;
    ruleset *rs = load_ok(&p, 1, NOW);
    assert_int_equal(n_warn, 0);
    assert_int_equal(ruleset_count(rs), 3);
    assert_null(ruleset_rule(rs, 3));

    const dw_rule *r = ruleset_rule(rs, 0);
    assert_string_equal(r->id, "pypi");
    assert_string_equal(r->title, "PyPI and its file host must resolve to Fastly");
    assert_int_equal(r->severity, DW_SEV_HIGH);
    assert_int_equal(r->score, 73);
    assert_int_equal(r->tags.n, 3);
    assert_string_equal(r->tags.v[0], "attack.t1584.002");
    assert_string_equal(r->tags.v[2], "attack.t1195.002");
    assert_int_equal(r->names.n, 2);
    assert_string_equal(r->names.v[0], "pypi.org");
    assert_string_equal(r->names.v[1], "files.pythonhosted.org");
    assert_null(r->except);
    assert_non_null(r->cname_allowed);
    assert_int_equal(r->cname_allowed_text.n, 1);
    assert_string_equal(r->cname_allowed_text.v[0], "*.fastly.net");
    assert_true(has_name(r->cname_allowed, "dualstack.python.map.fastly.net"));
    assert_false(has_name(r->cname_allowed, "evil.example"));
    assert_int_equal(r->n_asn, 1);
    assert_int_equal(r->asn[0], 54113);
    assert_null(r->prefixes); /* prefixes: [] */
    assert_int_equal(r->prefixes_text.n, 0);
    assert_null(r->resolvers);
    assert_int_equal(r->dnssec, DW_DNSSEC_UNKNOWN);
    assert_int_equal(r->ttl_max, 86400);
    assert_true(r->rebind_check);
    assert_int_equal(r->sinkhole, DW_SINKHOLE_REPORT);
    assert_null(r->rebind_allow);
    assert_int_equal(r->n_exceptions, 1);
    const dw_exception *e = &r->exceptions[0];
    assert_true(in_set(e->prefixes, "146.75.3.4"));
    assert_false(in_set(e->prefixes, "146.76.0.1"));
    assert_string_equal(e->prefixes_text.v[0], "146.75.0.0/16");
    assert_null(e->names);
    assert_string_equal(e->reason, "CHG-4411 Fastly renumbering");
    assert_string_equal(e->expires_text, "2027-03-31");
    assert_int_equal(e->expires, 1806537600); /* 2027-04-01T00:00:00Z */
    assert_int_equal(e->line, 20);
    assert_string_equal(r->file, path);
    assert_int_equal(r->line, 6);

    r = ruleset_rule(rs, 1);
    assert_string_equal(r->id, "artifactory");
    assert_int_equal(r->severity, DW_SEV_CRITICAL);
    assert_int_equal(r->score, 99);
    assert_int_equal(r->tags.n, 0);
    assert_int_equal(r->names.n, 2);
    assert_string_equal(r->names.v[1], "*.artifactory.corp.example");
    assert_null(r->cname_allowed);
    assert_int_equal(r->n_asn, 0);
    assert_int_equal(r->prefixes_text.n, 2);
    assert_string_equal(r->prefixes_text.v[0], "10.40.0.0/16");
    assert_true(in_set(r->prefixes, "10.40.7.7"));
    assert_true(in_set(r->prefixes, "fd12:3456:789a:1::5"));
    assert_false(in_set(r->prefixes, "10.41.0.1"));
    assert_int_equal(r->resolvers_text.n, 2);
    assert_string_equal(r->resolvers_text.v[0], "10.10.0.53/32");
    assert_true(in_set(r->resolvers, "10.10.0.54"));
    assert_false(in_set(r->resolvers, "10.10.0.55"));
    assert_true(r->rebind_check);
    assert_true(in_set(r->rebind_allow, "10.40.1.1"));
    assert_int_equal(r->rebind_allow_text.n, 2);
    assert_int_equal(r->ttl_max, 0);
    assert_int_equal(r->n_exceptions, 0);
    assert_int_equal(r->line, 22);

    r = ruleset_rule(rs, 2);
    assert_string_equal(r->id, "rebinding");
    assert_int_equal(r->score, 73);
    assert_true(r->rebind_check);
    assert_true(has_name(r->except, "build.corp.example"));
    assert_true(has_name(r->except, "localhost"));
    assert_false(has_name(r->except, "corp.example"));
    assert_int_equal(r->except_text.n, 2);

    /* One lookup gives every candidate rule. */
    struct hits h;
    assert_int_equal(candidates(rs, "pypi.org", &h), 2);
    assert_true(hits_has(&h, 0) && hits_has(&h, 2));
    assert_int_equal(candidates(rs, "x.artifactory.corp.example", &h), 2);
    assert_true(hits_has(&h, 1) && hits_has(&h, 2));
    assert_int_equal(candidates(rs, "example.net", &h), 1);
    assert_true(hits_has(&h, 2));
    assert_int_equal(nameset_size(ruleset_names(rs)), 5);

    /* What the rules watch for poisoning: each name and every name below it (for
     * "*.zone" the zone too); the catch-all nothing. */
    const nameset *w = ruleset_watch(rs);
    struct hits wh;
    memset(&wh, 0, sizeof wh);
    assert_true(nameset_match(w, "pypi.org", 8, hit, &wh) >= 1 && hits_has(&wh, 0));
    assert_true(has_name(w, "ns1.pypi.org") && has_name(w, "a.b.files.pythonhosted.org"));
    assert_false(has_name(w, "org") || has_name(w, "pythonhosted.org"));
    memset(&wh, 0, sizeof wh);
    assert_true(nameset_match(w, "artifactory.corp.example", 24, hit, &wh) >= 1);
    assert_true(hits_has(&wh, 1) && !hits_has(&wh, 0) && !hits_has(&wh, 2));
    assert_true(has_name(w, "x.y.artifactory.corp.example"));
    assert_false(has_name(w, "corp.example") || has_name(w, "example.net"));

    assert_int_equal(strncmp(ruleset_hash(rs), "sha256:", 7), 0);
    assert_int_equal(strlen(ruleset_hash(rs)), 7 + 64);
    ruleset_free(rs);
}

static void t_defaults_and_options(void **state)
{
    (void)state;
    const char *p = write_file("defaults.yaml",
                               "id: plain\nmatch: {names: [Example.ORG.]}\n"
                               "---\n"
                               "id: opts\nseverity: LOW\nmatch: {names: [a.example]}\n"
                               "cname: {allowed_targets: []}\n"
                               "dnssec: {expect: signed}\n"
                               "expect: {asn: [7, 3, 7, 1], resolvers: [\"2001:db8::/32\"]}\n"
                               "rebinding: {check: false, sinkhole: rebinding}\n"
                               "---\n"
                               "id: sink\nmatch: {names: [b.example]}\n"
                               "rebinding: {sinkhole: allow, allow: [192.168.0.0/16]}\n"
                               "exceptions:\n"
                               "  - {names: [c.b.example], reason: lab, expires: 2099-12-31}\n");
    ruleset *rs = load_ok(&p, 1, NOW);
    assert_int_equal(ruleset_count(rs), 3);
    const dw_rule *r = ruleset_rule(rs, 0);
    assert_string_equal(r->title, "plain");
    assert_int_equal(r->severity, DW_SEV_MEDIUM);
    assert_int_equal(r->score, 47);
    assert_string_equal(r->names.v[0], "example.org");
    assert_true(r->rebind_check);
    assert_int_equal(r->dnssec, DW_DNSSEC_UNKNOWN);

    r = ruleset_rule(rs, 1);
    assert_int_equal(r->score, 21);
    assert_non_null(r->cname_allowed); /* present and empty: every CNAME is unexpected */
    assert_int_equal(nameset_size(r->cname_allowed), 0);
    assert_int_equal(r->dnssec, DW_DNSSEC_SIGNED);
    assert_int_equal(r->n_asn, 3);
    assert_int_equal(r->asn[0], 1);
    assert_int_equal(r->asn[1], 3);
    assert_int_equal(r->asn[2], 7);
    assert_true(in_set(r->resolvers, "2001:db8::53"));
    assert_false(r->rebind_check);
    assert_int_equal(r->sinkhole, DW_SINKHOLE_AS_REBINDING);

    r = ruleset_rule(rs, 2);
    assert_int_equal(r->sinkhole, DW_SINKHOLE_ALLOW);
    assert_true(in_set(r->rebind_allow, "192.168.1.1"));
    assert_int_equal(r->n_exceptions, 1);
    assert_null(r->exceptions[0].prefixes);
    assert_true(has_name(r->exceptions[0].names, "c.b.example"));
    ruleset_free(rs);
}

static void t_directory_order(void **state)
{
    (void)state;
    char dir[512];
    snprintf(dir, sizeof dir, "%s", tpath("dir"));
    assert_int_equal(mkdir(dir, 0700), 0);
    write_file("dir/b.yaml", "id: b\nmatch: {names: [b.example]}\n");
    write_file("dir/a.yml", "id: a\nmatch: {names: [a.example]}\n");
    write_file("dir/C.yaml", "id: C\nmatch: {names: [c.example]}\n");
    write_file("dir/z.txt", "not: [yaml\n");
    write_file("dir/.hidden.yaml", "not: [yaml\n");
    assert_int_equal(mkdir(tpath("dir/sub.yaml"), 0700), 0);
    write_file("dir/sub.yaml/x.yaml", "not: [yaml\n");
    const char *p = dir;
    ruleset *rs = load_ok(&p, 1, NOW);
    assert_int_equal(ruleset_count(rs), 3);
    /* Byte order: upper case first. */
    assert_string_equal(ruleset_rule(rs, 0)->id, "C");
    assert_string_equal(ruleset_rule(rs, 1)->id, "a");
    assert_string_equal(ruleset_rule(rs, 2)->id, "b");
    char want[600];
    snprintf(want, sizeof want, "%s/a.yml", dir);
    assert_string_equal(ruleset_rule(rs, 1)->file, want);

    /* A directory and a file: in argument order. */
    const char *two[2] = {tpath("last.yaml"), dir};
    write_file("last.yaml", "id: first\nmatch: {names: [f.example]}\n");
    ruleset *rs2 = load_ok(two, 2, NOW);
    assert_int_equal(ruleset_count(rs2), 4);
    assert_string_equal(ruleset_rule(rs2, 0)->id, "first");
    assert_string_equal(ruleset_rule(rs2, 3)->id, "b");
    ruleset_free(rs2);
    ruleset_free(rs);
}

static void t_sets_across_files(void **state)
{
    (void)state;
    /* The rule comes first and uses sets defined in a later file. */
    const char *paths[2];
    paths[0] = write_file("10-rules.yaml", "id: r\nmatch: {names: [r.example]}\n"
                                           "expect: {asn: [\"set:cdn\", 5], prefixes: [\"set:dc\"]}\n"
                                           "rebinding: {allow: [\"set:dc\"]}\n");
    paths[1] = write_file("90-sets.yaml", "sets:\n  cdn: {asn: [54113, 13335]}\n"
                                          "---\n"
                                          "sets:\n  dc: {prefixes: [10.40.0.0/16, \"fd00::/8\"]}\n");
    ruleset *rs = load_ok(paths, 2, NOW);
    const dw_rule *r = ruleset_rule(rs, 0);
    assert_int_equal(r->n_asn, 3);
    assert_int_equal(r->asn[0], 5);
    assert_int_equal(r->asn[1], 13335);
    assert_int_equal(r->asn[2], 54113);
    assert_int_equal(r->prefixes_text.n, 2);
    assert_string_equal(r->prefixes_text.v[1], "fd00::/8");
    assert_true(in_set(r->prefixes, "fd00::1"));
    assert_true(in_set(r->rebind_allow, "10.40.0.1"));
    ruleset_free(rs);

    /* Alone, the rule file fails: the set is unknown. */
    ruleset *none = NULL;
    assert_int_equal(ruleset_load(paths, 1, NOW, NULL, NULL, &none), -EINVAL);
    assert_null(none);
}

static void t_exception_expiry(void **state)
{
    (void)state;
    const char *p = write_file("exp.yaml",
                               "id: x\nmatch: {names: [x.example]}\nexpect: {asn: [1]}\n"
                               "exceptions:\n"
                               "  - {prefixes: [192.0.2.0/24], reason: A, expires: 2026-03-31}\n"
                               "  - {prefixes: [198.51.100.0/24], reason: B, expires: 2026-04-01}\n");
    const time_t last_second = 1775001599;  /* 2026-03-31T23:59:59Z */
    ruleset *rs = load_ok(&p, 1, last_second);
    assert_int_equal(n_warn, 0);
    const dw_rule *r = ruleset_rule(rs, 0);
    assert_int_equal(r->n_exceptions, 2);
    assert_int_equal(r->exceptions[0].expires, last_second + 1);
    assert_string_equal(r->exceptions[0].reason, "A");
    ruleset_free(rs);

    rs = load_ok(&p, 1, last_second + 1);
    assert_int_equal(n_warn, 1);
    r = ruleset_rule(rs, 0);
    assert_int_equal(r->n_exceptions, 1);
    assert_string_equal(r->exceptions[0].reason, "B");
    assert_true(in_set(r->exceptions[0].prefixes, "198.51.100.7"));
    ruleset_free(rs);

    rs = load_ok(&p, 1, last_second + 86401);
    assert_int_equal(n_warn, 2);
    assert_int_equal(ruleset_rule(rs, 0)->n_exceptions, 0);
    ruleset_free(rs);
}

static void t_hash(void **state)
{
    (void)state;
    const char *text = "id: h\nmatch: {names: [h.example]}\n";
    const char *p1 = write_file("h1.yaml", text);
    ruleset *a = load_ok(&p1, 1, NOW);
    char ha[80];
    snprintf(ha, sizeof ha, "%s", ruleset_hash(a));
    ruleset_free(a);
    for (size_t i = 7; i < strlen(ha); i++)
        assert_non_null(strchr("0123456789abcdef", ha[i]));

    /* Same bytes elsewhere: same hash. */
    const char *p2 = write_file("h2.yaml", text);
    a = load_ok(&p2, 1, NOW);
    assert_string_equal(ruleset_hash(a), ha);
    ruleset_free(a);

    /* One byte more (a trailing comment): another hash. */
    write_file("h2.yaml", "id: h\nmatch: {names: [h.example]}\n#\n");
    a = load_ok(&p2, 1, NOW);
    assert_string_not_equal(ruleset_hash(a), ha);
    ruleset_free(a);

    /* The same bytes split across two files: another hash (file boundaries count). */
    const char *ra = "id: a\nmatch: {names: [a.example]}\n";
    const char *rb = "---\nid: b\nmatch: {names: [b.example]}\n";
    char both[200];
    snprintf(both, sizeof both, "%s%s", ra, rb);
    const char *one = write_file("h3.yaml", both);
    const char *ps[2] = {write_file("h4.yaml", ra), write_file("h5.yaml", rb)};
    ruleset *b = load_ok(&one, 1, NOW);
    ruleset *c = load_ok(ps, 2, NOW);
    assert_int_equal(ruleset_count(b), 2);
    assert_int_equal(ruleset_count(c), 2);
    assert_string_not_equal(ruleset_hash(b), ruleset_hash(c));
    ruleset_free(b);
    ruleset_free(c);

    /* Known answer: sha256("0\n") for one empty file. */
    const char *pe = write_file("empty.yaml", "");
    b = load_ok(&pe, 1, NOW);
    assert_int_equal(ruleset_count(b), 0);
    assert_string_equal(ruleset_hash(b), "sha256:9a271f2a916b0b6ee6cecb2426f0b3206ef074578be55d9bc94f6f3fe3ab86aa");
    ruleset_free(b);
}

static void t_all_or_nothing(void **state)
{
    (void)state;
    const char *paths[2];
    paths[0] = write_file("good.yaml", "id: good\nmatch: {names: [g.example]}\n");
    paths[1] = write_file("bad.yaml", "id: bad\nmatch: {names: [b.example]}\n"
                                      "---\nid: worse\nmatch: {names: [\"*bad\"]}\n");
    ruleset *sentinel = (ruleset *)(uintptr_t)0x1;
    ruleset *out = sentinel;
    n_err = n_warn = 0;
    assert_int_equal(ruleset_load(paths, 2, NOW, count_diag, NULL, &out), -EINVAL);
    assert_ptr_equal(out, sentinel);
    assert_int_equal(n_err, 1);

    /* A missing file among good ones: the I/O code, nothing loaded. */
    paths[1] = tpath("missing.yaml");
    assert_int_equal(ruleset_load(paths, 2, NOW, NULL, NULL, &out), -ENOENT);
    assert_ptr_equal(out, sentinel);

    ruleset_free(NULL);
}

/* ---- the threaded load ------------------------------------------------------------- */

struct diag_log {
    char *text;
    size_t len, cap;
};

static void log_diag(void *ctx, const ruleset_diag *d)
{
    struct diag_log *l = ctx;
    char buf[700];
    int n = snprintf(buf, sizeof buf, "%s|%u|%u|%d|%s|%s\n", d->file, d->line, d->col,
                     d->is_error, d->rule_id ? d->rule_id : "-", d->msg);
    assert_true(n > 0 && (size_t)n < sizeof buf);
    if (l->len + (size_t)n + 1 > l->cap) {
        l->cap = (l->len + (size_t)n + 1) * 2;
        l->text = realloc(l->text, l->cap);
        assert_non_null(l->text);
    }
    memcpy(l->text + l->len, buf, (size_t)n + 1);
    l->len += (size_t)n;
}

/* Writes a pack of four files, over 256 KiB in all: a big sets file, many rules, a small
 * rules file and (bad) one with a YAML syntax error; with bad set, each of the first three
 * also holds errors and warnings at known places. Returns the number of files. */
static size_t write_pack(const char *dir, bool bad, const char *paths[4])
{
    char path[600];
    snprintf(path, sizeof path, "%s/%s", tmpdir, dir);
    mkdir(path, 0700);
    size_t cap = 1u << 21, n = 0;
    char *b = malloc(cap);
    assert_non_null(b);

    n += (size_t)snprintf(b + n, cap - n, "sets:\n");
    /* t0 holds what s0 holds: the two share one compiled set. */
    for (unsigned set = 0; set < 21; set++) {
        if (set < 20)
            n += (size_t)snprintf(b + n, cap - n, "  s%u:\n    prefixes: [", set);
        else
            n += (size_t)snprintf(b + n, cap - n, "  t0:\n    prefixes: [");
        for (unsigned i = 0; i < 1000; i++) {
            const char *sep = i ? ", " : "";
            if (bad && set == 7 && i == 500)
                n += (size_t)snprintf(b + n, cap - n, "%s10.1.2.300/24", sep); /* error */
            else if (bad && set == 13 && i == 10)
                n += (size_t)snprintf(b + n, cap - n, "%s10.1.2.3/24", sep); /* host bits */
            else if (i % 3 == 0)
                n += (size_t)snprintf(b + n, cap - n, "%s\"2001:db8:%x:%x::/64\"", sep, set % 20, i);
            else
                n += (size_t)snprintf(b + n, cap - n, "%s%u.%u.%u.0/24", sep, 11 + set % 20,
                                      i >> 8, i & 255);
        }
        n += (size_t)snprintf(b + n, cap - n, "]\n");
    }
    snprintf(path, sizeof path, "%s/a-sets.yaml", dir);
    paths[0] = write_file(path, b);

    n = 0;
    for (unsigned r = 0; r < 600; r++) {
        n += (size_t)snprintf(b + n, cap - n, "---\nid: r%u\nseverity: %s\n", r,
                              bad && r == 100 ? "severe" : "high");
        n += (size_t)snprintf(b + n, cap - n, "match: {names: [\"n%u.example\", \"*.w%u.example\"%s]}\n",
                              r, r, bad && r == 200 ? ", \"bad..name\"" : "");
        n += (size_t)snprintf(b + n, cap - n, "expect: {prefixes: [\"set:s%u\"]}\n",
                              bad && r == 300 ? 99 : r % 20);
        if (bad && r == 400)
            n += (size_t)snprintf(b + n, cap - n, "expcet: {asn: [1]}\n");
    }
    /* Sets named whole, with other items, and where a rule's other lists take them. */
    n += (size_t)snprintf(b + n, cap - n,
                          "---\nid: mix\nmatch: {names: [mix.example]}\n"
                          "expect: {prefixes: [\"set:t0\"], resolvers: [\"set:s1\", 192.0.2.1]}\n"
                          "rebinding: {allow: [\"set:s2\"]}\n"
                          "exceptions:\n  - {prefixes: [\"set:s3\"], reason: r, expires: 2099-01-01}\n");
    snprintf(path, sizeof path, "%s/b-rules.yaml", dir);
    paths[1] = write_file(path, b);

    snprintf(path, sizeof path, "%s/c-small.yaml", dir);
    paths[2] = write_file(path, bad ? "id: r5\nmatch: {names: [dup.example]}\n"
                                    : "id: small\nmatch: {names: [s.example]}\n");
    size_t nf = 3;
    if (bad) {
        snprintf(path, sizeof path, "%s/d-syntax.yaml", dir);
        paths[3] = write_file(path, "id: y\nmatch: {names: [y.example]\n---\nid: z\n");
        nf = 4;
    }
    free(b);
    return nf;
}

/* Two texts lists are the same, and every prefix of a finds in both sets the same value
 * and length. */
static void same_prefixes(const prefixset *sa, dw_strlist ta, const prefixset *sb,
                          dw_strlist tb)
{
    assert_int_equal(ta.n, tb.n);
    assert_true((sa == NULL) == (sb == NULL));
    for (size_t i = 0; i < ta.n; i++) {
        assert_string_equal(ta.v[i], tb.v[i]);
        int f;
        uint8_t addr[16];
        unsigned l;
        assert_int_equal(prefix_parse(ta.v[i], &f, addr, &l, NULL, NULL, NULL), 0);
        uint32_t va = 0, vb = 1;
        unsigned la = 0, lb = 1;
        assert_true(prefixset_lookup(sa, f, addr, &va, &la));
        assert_true(prefixset_lookup(sb, f, addr, &vb, &lb));
        assert_int_equal(va, vb);
        assert_int_equal(la, lb);
    }
}

static void same_rules(const ruleset *a, const ruleset *b)
{
    assert_int_equal(ruleset_count(a), ruleset_count(b));
    for (size_t i = 0; i < ruleset_count(a); i++) {
        const dw_rule *x = ruleset_rule(a, i), *y = ruleset_rule(b, i);
        assert_string_equal(x->id, y->id);
        same_prefixes(x->prefixes, x->prefixes_text, y->prefixes, y->prefixes_text);
        same_prefixes(x->resolvers, x->resolvers_text, y->resolvers, y->resolvers_text);
        same_prefixes(x->rebind_allow, x->rebind_allow_text, y->rebind_allow,
                      y->rebind_allow_text);
        assert_int_equal(x->n_exceptions, y->n_exceptions);
        for (size_t e = 0; e < x->n_exceptions; e++)
            same_prefixes(x->exceptions[e].prefixes, x->exceptions[e].prefixes_text,
                          y->exceptions[e].prefixes, y->exceptions[e].prefixes_text);
    }
}

/* The pack loaded on the calling thread and on two threads (which also parses and
 * compiles the sets ahead): the same return code, the same diagnostics in the same
 * order, and (when it loads) the same rules, sets and hash. */
static void t_threaded_load_same(void **state)
{
    (void)state;
    size_t saved = ruleset_parallel_bytes;
    for (int bad = 0; bad < 2; bad++) {
        const char *paths[4];
        size_t nf = write_pack(bad ? "packbad" : "packgood", bad, paths);
        struct stat st;
        off_t total = 0;
        for (size_t i = 0; i < nf; i++) {
            assert_int_equal(stat(paths[i], &st), 0);
            total += st.st_size;
        }
        assert_true(total >= (off_t)(256u << 10)); /* threaded by default too */

        struct diag_log seq = {0}, thr = {0};
        ruleset *a = NULL, *b = NULL;
        ruleset_parallel_bytes = SIZE_MAX;
        int rc_seq = ruleset_load(paths, nf, NOW, log_diag, &seq, &a);
        ruleset_parallel_bytes = 0;
        int rc_thr = ruleset_load(paths, nf, NOW, log_diag, &thr, &b);
        ruleset_parallel_bytes = saved;

        assert_int_equal(rc_seq, rc_thr);
        assert_string_equal(seq.text ? seq.text : "", thr.text ? thr.text : "");
        if (bad) {
            assert_int_equal(rc_seq, -EINVAL);
            /* Every planted mistake is reported, each in its own file. */
            const char *want[] = {"a-sets.yaml|", "10.1.2.300/24", "10.1.2.3/24", "severe",
                                  "bad..name", "unknown set \"s99\"", "expcet", "r5", "d-syntax.yaml|"};
            for (size_t i = 0; i < sizeof want / sizeof want[0]; i++)
                if (!strstr(seq.text, want[i]))
                    fail_msg("no diagnostic mentions %s:\n%s", want[i], seq.text);
        } else {
            assert_int_equal(rc_seq, 0);
            assert_int_equal(ruleset_count(a), 602);
            assert_int_equal(ruleset_count(b), 602);
            assert_string_equal(ruleset_hash(a), ruleset_hash(b));
            same_rules(a, b);
            /* Sets equal in content are one compiled set, whichever thread built them. */
            const dw_rule *mix = ruleset_rule(b, 600);
            assert_string_equal(mix->id, "mix");
            assert_ptr_equal(mix->prefixes, ruleset_rule(b, 0)->prefixes);
            assert_int_equal(mix->resolvers_text.n, 1001);
            assert_int_equal(mix->n_exceptions, 1);
        }
        ruleset_free(a);
        ruleset_free(b);
        free(seq.text);
        free(thr.text);
    }
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof tmpdir, "/tmp/dw-ruleset-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_threaded_load_same),
        cmocka_unit_test(t_design_example),    cmocka_unit_test(t_defaults_and_options),
        cmocka_unit_test(t_directory_order),   cmocka_unit_test(t_sets_across_files),
        cmocka_unit_test(t_exception_expiry),  cmocka_unit_test(t_hash),
        cmocka_unit_test(t_all_or_nothing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
