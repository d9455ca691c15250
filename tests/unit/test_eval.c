/* eval: every violation of DESIGN.md "Semantics" from hand-built DNS messages, rules
 * written as YAML to a temporary directory, and (when Perl's MaxMind::DB::Writer is
 * installed) a small ASN database built at test time from tests/data/asn-sample.txt.
 * Also the evidence cap, chain limits, the trace hook and a 10,000-name ruleset. */
#include <arpa/inet.h>
#include <errno.h>
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

#include "tests/lib/dnsbuild.h"
#include "rules/eval.h"
#include "tests/lib/dw_test.h"

static char dir[64];
static char db_path[128];
static asn_db *db;       /* NULL when the writer is missing: ASN tests skip */
static bool no_writer;   /* ...and the program exits 77 (or 1 under DW_NO_SKIP) */
static dns_msg msg;
static eval_result res;
static unsigned file_no;

static int run(const char *cmd)
{
    int rc = system(cmd);
    return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static int setup(void **state)
{
    (void)state;
    const char *src = getenv("DW_SRC");
    if (!src)
        src = ".";
    snprintf(dir, sizeof dir, "/tmp/dw-test-eval-XXXXXX");
    if (!mkdtemp(dir))
        return -1;
    if (access("/usr/bin/perl", X_OK) != 0 ||
        run("/usr/bin/perl -MMaxMind::DB::Writer::Tree -e1 2>/dev/null") != 0) {
        fprintf(stderr, "test_eval: MaxMind::DB::Writer not installed, ASN tests skipped\n");
        no_writer = true;
        return 0;
    }
    char cmd[1024];
    snprintf(db_path, sizeof db_path, "%s/asn.mmdb", dir);
    snprintf(cmd, sizeof cmd,
             "/usr/bin/perl '%s/tests/tools/make_test_mmdb.pl' '%s' '%s/tests/data/asn-sample.txt'",
             src, db_path, src);
    if (run(cmd) != 0)
        return -1;
    char err[256];
    if (asn_db_open(db_path, &db, err, sizeof err) != 0) {
        fprintf(stderr, "test_eval: %s\n", err);
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    asn_db_close(db);
    if (dir[0]) {
        char cmd[128];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        (void)run(cmd);
    }
    return 0;
}

/* ---- rules -------------------------------------------------------------------------- */

static void quiet(void *ctx, const ruleset_diag *d)
{
    (void)ctx;
    if (d->is_error)
        fprintf(stderr, "rule error: %s:%u: %s\n", d->file, d->line, d->msg);
}

static ruleset *rules_at(const char *yaml, time_t now)
{
    char path[128];
    snprintf(path, sizeof path, "%s/r%u.yaml", dir, file_no++);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(yaml, f);
    fclose(f);
    const char *paths[1] = {path};
    ruleset *rs = NULL;
    int rc = ruleset_load(paths, 1, now, quiet, NULL, &rs);
    if (rc != 0)
        fail_msg("rules did not load (%d):\n%s", rc, yaml);
    return rs;
}

static ruleset *rules(const char *yaml) { return rules_at(yaml, 1700000000); }

/* ---- messages ----------------------------------------------------------------------- */

typedef struct bld {
    dnsb m;
    unsigned an, ns, ar;
} bld;

static bld B;

static void msg_begin(unsigned flags, const char *qname, unsigned qtype)
{
    dnsb_start(&B.m, 0x1234, flags, qname, qtype, 0, 0, 0);
    B.an = B.ns = B.ar = 0;
}

static void resp_begin(const char *qname) { msg_begin(0x8180, qname, DNS_T_A); }

static size_t rr_start(const char *owner, unsigned type, uint32_t ttl)
{
    B.an++;
    dnsb_name(&B.m, owner);
    return dnsb_rr_begin(&B.m, type, 1, ttl);
}

static void rr_addr_ttl(const char *owner, const char *ip, uint32_t ttl)
{
    size_t at = rr_start(owner, strchr(ip, ':') ? DNS_T_AAAA : DNS_T_A, ttl);
    dnsb_ip(&B.m, ip);
    dnsb_rr_end(&B.m, at);
}

static void rr_addr(const char *owner, const char *ip) { rr_addr_ttl(owner, ip, 300); }

static void rr_name(const char *owner, unsigned type, const char *target)
{
    size_t at = rr_start(owner, type, 300);
    dnsb_name(&B.m, target);
    dnsb_rr_end(&B.m, at);
}

static void rr_svcb_v4hint(const char *owner, const char *ip)
{
    size_t at = rr_start(owner, DNS_T_HTTPS, 300);
    dnsb_u16(&B.m, 1); /* priority */
    dnsb_u8(&B.m, 0);  /* target "." */
    dnsb_u16(&B.m, 4); /* ipv4hint */
    dnsb_u16(&B.m, 4);
    dnsb_ip4(&B.m, ip);
    dnsb_rr_end(&B.m, at);
}

static void rr_rrsig(const char *owner)
{
    size_t at = rr_start(owner, DNS_T_RRSIG, 300);
    dnsb_u16(&B.m, DNS_T_A);
    dnsb_u8(&B.m, 13);
    dnsb_u8(&B.m, 2);
    dnsb_u32(&B.m, 300);
    dnsb_u32(&B.m, 0xffffffff);
    dnsb_u32(&B.m, 0);
    dnsb_u16(&B.m, 1234);
    dnsb_name(&B.m, owner);
    for (int i = 0; i < 64; i++)
        dnsb_u8(&B.m, 0);
    dnsb_rr_end(&B.m, at);
}

/* A record in the additional section (written after every answer). */
static void ar_addr_ttl(const char *owner, const char *ip, uint32_t ttl)
{
    rr_addr_ttl(owner, ip, ttl);
    B.an--;
    B.ar++;
}

static void opt(bool dnssec_ok)
{
    dnsb_rr_end(&B.m, dnsb_opt_begin(&B.m, 1232, dnssec_ok));
    B.ar++;
}

static const dns_msg *msg_end(void)
{
    dnsb_counts(&B.m, B.an, B.ns, B.ar);
    assert_int_equal(dns_parse(&msg, B.m.b, B.m.n, NULL), 0);
    assert_int_equal(msg.problems, 0);
    return &msg;
}

/* Server 10.0.0.53 port 53 to client 10.0.0.1 port 40000 (or the reverse for a query). */
static pkt_info pkt_from(const char *server, bool query)
{
    pkt_info pi;
    memset(&pi, 0, sizeof pi);
    uint8_t s[16] = {0}, c[16] = {0};
    assert_int_equal(inet_pton(AF_INET, server, s), 1);
    assert_int_equal(inet_pton(AF_INET, "10.0.0.1", c), 1);
    pi.ts_us = 1000000;
    pi.ip_version = 4;
    pi.proto = 17;
    memcpy(query ? pi.dst : pi.src, s, 4);
    memcpy(query ? pi.src : pi.dst, c, 4);
    pi.sport = query ? 40000 : 53;
    pi.dport = query ? 53 : 40000;
    return pi;
}

/* Judges the message built in B, sent by server. */
static const eval_result *judge_from(evaluator *ev, const char *server)
{
    const dns_msg *m = msg_end();
    pkt_info pi = pkt_from(server, false);
    unsigned n = evaluator_response(ev, &pi, m, &res);
    assert_int_equal(n, res.n_findings);
    return &res;
}

static const eval_result *judge(evaluator *ev) { return judge_from(ev, "10.0.0.53"); }

static const eval_finding *finding(const eval_result *r, const char *id)
{
    for (unsigned i = 0; i < r->n_findings; i++)
        if (strcmp(r->findings[i].rule->id, id) == 0)
            return &r->findings[i];
    return NULL;
}

static const eval_finding *must_find(const eval_result *r, const char *id, uint32_t violations)
{
    static const eval_finding none;
    const eval_finding *f = finding(r, id);
    if (!f) {
        fail_msg("no finding for rule %s (%u findings)", id, r->n_findings);
        return &none;
    }
    if (f->violations != violations)
        fail_msg("rule %s: violations 0x%x, expected 0x%x (reason: %s)", id, f->violations,
                 violations, f->reason);
    return f;
}

static const eval_evidence *evidence_of(const eval_finding *f, uint32_t v)
{
    for (unsigned i = 0; i < f->n_evidence; i++)
        if (f->evidence[i].violation == v)
            return &f->evidence[i];
    return NULL;
}

static void assert_reason(const eval_finding *f, const char *needle)
{
    if (!strstr(f->reason, needle))
        fail_msg("reason \"%s\" lacks \"%s\"", f->reason, needle);
}

/* Like evidence_of, but the item must exist. */
static const eval_evidence *must_evidence(const eval_finding *f, uint32_t v)
{
    static const eval_evidence none;
    const eval_evidence *e = evidence_of(f, v);
    if (!e) {
        fail_msg("no evidence for %s", dw_violation_name(v));
        return &none;
    }
    return e;
}

static bool addr_is(const eval_evidence *e, const char *ip)
{
    uint8_t a[16] = {0};
    int fam = strchr(ip, ':') ? 6 : 4;
    if (inet_pton(fam == 6 ? AF_INET6 : AF_INET, ip, a) != 1)
        return false;
    return e->family == fam && memcmp(e->addr, a, fam == 6 ? 16 : 4) == 0;
}

static evaluator *ev_new(const ruleset *rs, const asn_db *d)
{
    track_limits tl = {0};
    evaluator *ev = evaluator_new(rs, d, &tl);
    assert_non_null(ev);
    return ev;
}

#define NEED_DB()                                                                        \
    do {                                                                                 \
        if (!db)                                                                         \
            skip();                                                                      \
    } while (0)

/* ---- expectations ------------------------------------------------------------------- */

static const char pypi_yaml[] = "sets:\n  fastly: {asn: [54113]}\n---\n"
                                "id: pypi\nmatch: {names: [pypi.org, files.pythonhosted.org]}\n"
                                "expect: {asn: [\"set:fastly\"]}\n";

static void t_asn_mismatch(void **state)
{
    (void)state;
    NEED_DB();
    ruleset *rs = rules(pypi_yaml);
    evaluator *ev = ev_new(rs, db);

    resp_begin("pypi.org");
    rr_addr("pypi.org", "45.33.20.5");
    const eval_result *r = judge(ev);
    assert_int_equal(r->n_findings, 1);
    assert_true(r->watched);
    assert_int_equal(r->n_chain, 1);
    assert_string_equal(r->chain[0], "pypi.org");
    assert_int_equal(r->n_addrs, 1);
    const eval_finding *f = must_find(r, "pypi", DW_V_ASN_MISMATCH);
    assert_int_equal(f->n_evidence, 1);
    assert_int_equal(f->evidence[0].asn, 63949);
    assert_true(addr_is(&f->evidence[0], "45.33.20.5"));
    assert_reason(f, "pypi.org answered 45.33.20.5");
    assert_reason(f, "AS63949");
    assert_reason(f, "Linode");
    assert_reason(f, "expected AS54113");

    /* The expected AS passes, in IPv4 and in IPv6. */
    resp_begin("pypi.org");
    rr_addr("pypi.org", "151.101.0.223");
    rr_addr("pypi.org", "2a04:4e40::223");
    assert_int_equal(judge(ev)->n_findings, 0);

    /* Case does not matter: the question in capitals is the same name. */
    resp_begin("PyPI.ORG");
    rr_addr("PYPI.org", "45.33.20.5");
    must_find(judge(ev), "pypi", DW_V_ASN_MISMATCH);

    /* DNS64: the IPv4 inside a NAT64 answer is judged too: Fastly passes, Linode not. */
    resp_begin("pypi.org");
    rr_addr("pypi.org", "64:ff9b::151.101.0.223");
    assert_int_equal(judge(ev)->n_findings, 0);
    resp_begin("pypi.org");
    rr_addr("pypi.org", "64:ff9b::45.33.20.5");
    must_find(judge(ev), "pypi", DW_V_ASN_UNKNOWN);

    /* A private answer is a rebinding finding, not also "in no AS". */
    resp_begin("pypi.org");
    rr_addr("pypi.org", "192.168.1.1");
    const eval_finding *pf = must_find(judge(ev), "pypi", DW_V_REBINDING);
    assert_int_equal(pf->violations, DW_V_REBINDING);

    evaluator_free(ev);
    ruleset_free(rs);
}

static void t_asn_unknown(void **state)
{
    (void)state;
    NEED_DB();
    ruleset *rs = rules(pypi_yaml);
    evaluator *ev = ev_new(rs, db);
    resp_begin("pypi.org");
    rr_addr("pypi.org", "198.51.99.7"); /* in no AS of the sample */
    const eval_finding *f = must_find(judge(ev), "pypi", DW_V_ASN_UNKNOWN);
    assert_int_equal(f->evidence[0].asn, 0);
    assert_true(addr_is(&f->evidence[0], "198.51.99.7"));
    assert_reason(f, "198.51.99.7, in no AS of the ASN database, expected AS54113");
    evaluator_free(ev);

    /* Without a database, ASN expectations are off: no finding at all. */
    ev = ev_new(rs, NULL);
    resp_begin("pypi.org");
    rr_addr("pypi.org", "198.51.99.7");
    assert_int_equal(judge(ev)->n_findings, 0);
    evaluator_free(ev);
    ruleset_free(rs);
}

static void t_prefix_mismatch(void **state)
{
    (void)state;
    ruleset *rs = rules("id: p\nmatch: {names: [reg.example]}\n"
                        "expect: {prefixes: [151.101.0.0/16, \"2a04:4e40::/32\"]}\n");
    evaluator *ev = ev_new(rs, db);
    resp_begin("reg.example");
    rr_addr("reg.example", "151.101.1.1");
    rr_addr("reg.example", "45.33.20.5");
    rr_addr("reg.example", "2a04:4e40::1");
    const eval_finding *f = must_find(judge(ev), "p", DW_V_PREFIX_MISMATCH);
    assert_int_equal(f->n_evidence, 1);
    assert_true(addr_is(&f->evidence[0], "45.33.20.5"));
    assert_reason(f, "reg.example answered 45.33.20.5, outside the expected 151.101.0.0/16");
    evaluator_free(ev);
    ruleset_free(rs);
}

static void t_asn_or_prefix(void **state)
{
    (void)state;
    NEED_DB();
    ruleset *rs = rules("id: both\nmatch: {names: [reg.example]}\n"
                        "expect: {asn: [54113], prefixes: [45.33.20.0/24]}\n");
    evaluator *ev = ev_new(rs, db);
    resp_begin("reg.example");
    rr_addr("reg.example", "45.33.20.5");  /* by prefix (its AS is Linode) */
    rr_addr("reg.example", "151.101.2.2"); /* by AS */
    assert_int_equal(judge(ev)->n_findings, 0);

    resp_begin("reg.example");
    rr_addr("reg.example", "140.82.112.3");
    const eval_finding *f =
        must_find(judge(ev), "both", DW_V_ASN_MISMATCH | DW_V_PREFIX_MISMATCH);
    assert_int_equal(must_evidence(f, DW_V_ASN_MISMATCH)->asn, 36459);
    assert_non_null(evidence_of(f, DW_V_PREFIX_MISMATCH));
    /* The reason names the gravest (asn_mismatch) and lists both expectations. */
    assert_reason(f, "AS36459");
    assert_reason(f, "expected AS54113, 45.33.20.0/24");
    assert_reason(f, "(+1 more violation)");
    evaluator_free(ev);
    ruleset_free(rs);
}

/* ---- the chain ---------------------------------------------------------------------- */

static void t_cname(void **state)
{
    (void)state;
    ruleset *rs = rules("id: c\nmatch: {names: [files.pythonhosted.org, pypi.org]}\n"
                        "cname: {allowed_targets: [\"*.fastly.net\"]}\n");
    evaluator *ev = ev_new(rs, NULL);

    resp_begin("pypi.org");
    rr_name("pypi.org", DNS_T_CNAME, "dualstack.python.map.fastly.net");
    rr_addr("dualstack.python.map.fastly.net", "151.101.0.223");
    const eval_result *r = judge(ev);
    assert_int_equal(r->n_findings, 0);
    assert_int_equal(r->n_chain, 2);
    assert_string_equal(r->chain[1], "dualstack.python.map.fastly.net");

    resp_begin("pypi.org");
    rr_name("pypi.org", DNS_T_CNAME, "Evil.Example.NET");
    rr_addr("evil.example.net", "45.33.20.5");
    r = judge(ev);
    const eval_finding *f = must_find(r, "c", DW_V_CNAME_UNEXPECTED);
    assert_int_equal(f->evidence[0].chain_index, 1);
    assert_string_equal(r->chain[1], "evil.example.net");
    assert_reason(f, "pypi.org is a CNAME chain through evil.example.net, not an allowed target");

    /* DNAME: the question name is rewritten below the new owner. */
    resp_begin("files.pythonhosted.org");
    rr_name("pythonhosted.org", DNS_T_DNAME, "evil.net");
    rr_addr("files.evil.net", "45.33.20.5");
    r = judge(ev);
    f = must_find(r, "c", DW_V_CNAME_UNEXPECTED);
    assert_int_equal(r->n_chain, 2);
    assert_string_equal(r->chain[1], "files.evil.net");
    assert_int_equal(r->n_addrs, 1);
    assert_reason(f, "through files.evil.net");

    resp_begin("files.pythonhosted.org");
    rr_name("pythonhosted.org", DNS_T_DNAME, "a.fastly.net");
    rr_addr("files.a.fastly.net", "151.101.1.1");
    r = judge(ev);
    assert_int_equal(r->n_findings, 0);
    assert_string_equal(r->chain[1], "files.a.fastly.net");

    /* A DNAME does not apply to its own owner. */
    resp_begin("pythonhosted.org");
    rr_name("pythonhosted.org", DNS_T_DNAME, "evil.net");
    assert_int_equal(judge(ev)->n_chain, 1);
    evaluator_free(ev);
    ruleset_free(rs);

    /* allowed_targets: [] : any CNAME is unexpected. */
    rs = rules("id: none\nmatch: {names: [pypi.org]}\ncname: {allowed_targets: []}\n");
    ev = ev_new(rs, NULL);
    resp_begin("pypi.org");
    rr_name("pypi.org", DNS_T_CNAME, "a.fastly.net");
    must_find(judge(ev), "none", DW_V_CNAME_UNEXPECTED);
    evaluator_free(ev);
    ruleset_free(rs);
}

static void t_chain_name_matches(void **state)
{
    (void)state;
    ruleset *rs = rules("id: target\nmatch: {names: [\"*.evil.example\"]}\n"
                        "expect: {prefixes: [192.0.2.0/24]}\nrebinding: {check: false}\n");
    evaluator *ev = ev_new(rs, NULL);
    resp_begin("innocent.example.org");
    rr_name("innocent.example.org", DNS_T_CNAME, "cdn.evil.example");
    rr_addr("cdn.evil.example", "45.33.20.5");
    const eval_result *r = judge(ev);
    assert_true(r->watched);
    const eval_finding *f = must_find(r, "target", DW_V_PREFIX_MISMATCH);
    /* The reason speaks of the question. */
    assert_reason(f, "innocent.example.org answered 45.33.20.5");

    /* An address owned by a name outside the chain: musl uses it all the same, so the
     * rules of the chain judge it; the rules of its owner too. */
    resp_begin("innocent.example.org");
    rr_name("innocent.example.org", DNS_T_CNAME, "cdn.evil.example");
    rr_addr("other.evil.example", "45.33.20.5");
    r = judge(ev);
    f = must_find(r, "target", DW_V_PREFIX_MISMATCH);
    assert_int_equal(r->n_addrs, 1);
    assert_int_equal(f->group, 0);
    assert_reason(f, "innocent.example.org answered 45.33.20.5");
    assert_int_equal(r->n_groups, 2);
    assert_string_equal(r->chain[r->group[1].first], "other.evil.example");

    /* A response no rule applies to leaves no count behind from the one before. */
    resp_begin("innocent.example.org");
    rr_name("innocent.example.org", DNS_T_CNAME, "cdn.evil.example");
    rr_addr("cdn.evil.example", "45.33.20.5");
    assert_int_equal(judge(ev)->n_addrs, 1);
    resp_begin("unrelated.example.org");
    rr_addr("unrelated.example.org", "45.33.20.5");
    r = judge(ev);
    assert_int_equal(r->n_findings, 0);
    assert_false(r->watched);
    assert_int_equal(r->n_addrs, 0);
    evaluator_free(ev);
    ruleset_free(rs);
}

static void t_except(void **state)
{
    (void)state;
    ruleset *rs = rules("id: rebinding\nmatch: {names: [\"*\"], except: [\"*.corp.example\", "
                        "localhost]}\n");
    evaluator *ev = ev_new(rs, NULL);
    resp_begin("build.corp.example");
    rr_addr("build.corp.example", "10.40.1.1");
    const eval_result *r = judge(ev);
    assert_int_equal(r->n_findings, 0);
    assert_false(r->watched);

    resp_begin("localhost");
    rr_addr("localhost", "127.0.0.1");
    assert_int_equal(judge(ev)->n_findings, 0);

    resp_begin("public.example.com");
    rr_addr("public.example.com", "10.40.1.1");
    r = judge(ev);
    must_find(r, "rebinding", DW_V_REBINDING);
    /* Only a catch-all matched: the response is not "watched". */
    assert_false(r->watched);
    evaluator_free(ev);
    ruleset_free(rs);
}

static void t_resolver(void **state)
{
    (void)state;
    ruleset *rs = rules("id: art\nmatch: {names: [artifactory.corp.example]}\n"
                        "expect: {resolvers: [10.10.0.53, 10.10.0.54]}\n"
                        "rebinding: {allow: [10.40.0.0/16]}\n");
    evaluator *ev = ev_new(rs, NULL);
    resp_begin("artifactory.corp.example");
    rr_addr("artifactory.corp.example", "10.40.1.1");
    const eval_finding *f = must_find(judge_from(ev, "10.0.0.53"), "art", DW_V_UNEXPECTED_RESOLVER);
    assert_true(addr_is(&f->evidence[0], "10.0.0.53"));
    assert_reason(f, "artifactory.corp.example was answered by 10.0.0.53, not one of the "
                     "expected resolvers");

    resp_begin("artifactory.corp.example");
    rr_addr("artifactory.corp.example", "10.40.1.1");
    assert_int_equal(judge_from(ev, "10.10.0.54")->n_findings, 0);
    evaluator_free(ev);
    ruleset_free(rs);
}

/* ---- fragment_conflict, resolver randomness ----------------------------------------- */

/* A reassembled message whose fragments disagreed: one rule gets fragment_conflict, the
 * one watching the name rather than the catch-all listed before it; in flight it joins
 * the rule's other findings, late it is the only finding. */
static void t_fragment_conflict(void **state)
{
    (void)state;
    ruleset *rs = rules("id: all\nmatch: {names: [\"*\"]}\n"
                        "---\nid: art\nmatch: {names: [artifactory.corp.example]}\n"
                        "expect: {prefixes: [10.40.0.0/16]}\nrebinding: {allow: [10.40.0.0/16]}\n");
    evaluator *ev = ev_new(rs, NULL);
    pkt_frag_conflict fc = {{1480, 1480, 1000, 50}, {1480, 1480, 2000, 64}, 1600, 1, false};
    resp_begin("artifactory.corp.example");
    rr_addr("artifactory.corp.example", "93.184.216.34"); /* outside: prefix_mismatch */
    const dns_msg *m = msg_end();
    pkt_info pi = pkt_from("10.0.0.53", false);
    pi.frag_conflict = &fc;
    assert_int_equal(evaluator_response(ev, &pi, m, &res), 1);
    const eval_finding *f =
        must_find(&res, "art", DW_V_PREFIX_MISMATCH | DW_V_FRAGMENT_CONFLICT);
    const eval_evidence *e = evidence_of(f, DW_V_FRAGMENT_CONFLICT);
    assert_true(e && e->frag == &fc);

    /* late: the conflict alone, the prefix finding is not repeated */
    fc.late = true;
    assert_int_equal(evaluator_response(ev, &pi, m, &res), 1);
    f = must_find(&res, "art", DW_V_FRAGMENT_CONFLICT);
    assert_reason(f, "artifactory.corp.example came in IP fragments that disagree: from byte "
                     "1600 of the datagram, one fragment (TTL 50) was kept and another (TTL "
                     "64) said otherwise 1000 us later, after the datagram was reassembled "
                     "with the first");

    /* a name only the catch-all matches: it gets the conflict */
    resp_begin("example.org");
    rr_addr("example.org", "93.184.216.34");
    m = msg_end();
    assert_int_equal(evaluator_response(ev, &pi, m, &res), 1);
    must_find(&res, "all", DW_V_FRAGMENT_CONFLICT);
    /* and without a conflict, nothing */
    pi.frag_conflict = NULL;
    assert_int_equal(evaluator_response(ev, &pi, m, &res), 0);
    evaluator_free(ev);
    ruleset_free(rs);
}

/* Queries from a listed resolver are sampled (every query reaches the evaluator); a window
 * of one source port is resolver_port_predictable for the first rule listing it. Queries
 * from anyone else, or over TCP, are not sampled. */
static void t_resolver_sample(void **state)
{
    (void)state;
    ruleset *rs = rules("id: plain\nmatch: {names: [a.example]}\n"
                        "---\nid: res\nmatch: {names: [b.example]}\n"
                        "expect: {resolvers: [10.10.0.53]}\n"
                        "---\nid: res2\nmatch: {names: [c.example]}\n"
                        "expect: {resolvers: [10.10.0.0/24]}\n");
    evaluator *ev = ev_new(rs, NULL);
    unsigned found = 0;
    for (unsigned i = 0; i < 3 * RSAMPLE_WINDOW; i++) {
        msg_begin(0x0100, "upstream.example.net", DNS_T_A);
        uint16_t id = (uint16_t)(i * 40503u); /* random enough: distinct, no small steps */
        B.m.b[0] = (uint8_t)(id >> 8);
        B.m.b[1] = (uint8_t)id;
        const dns_msg *m = msg_end();
        pkt_info pi = pkt_from("192.0.2.1", true);
        inet_pton(AF_INET, "10.10.0.53", pi.src);
        pi.sport = 5353;
        pi.proto = i >= 2 * RSAMPLE_WINDOW ? 6 : 17; /* the last window over TCP */
        pi.ts_us = 1000000 + i * 1000ull;
        unsigned n = evaluator_resolver_query(ev, &pi, m, &res);
        if (n) {
            found++;
            assert_int_equal(i, RSAMPLE_WINDOW - 1);
            const eval_finding *f = must_find(&res, "res", DW_V_RESOLVER_PORT_PREDICTABLE);
            assert_true(addr_is(&f->evidence[0], "10.10.0.53"));
            assert_int_equal(f->evidence[0].distinct, 1);
            assert_reason(f, "upstream.example.net was asked upstream by resolver 10.10.0.53 "
                             "with predictable source ports: 1 distinct and 0 small "
                             "increments in its last 64 queries");
        }
        /* a client's queries: never */
        pi = pkt_from("10.10.0.53", true);
        pi.sport = 5353;
        assert_int_equal(evaluator_resolver_query(ev, &pi, m, &res), 0);
    }
    assert_int_equal(found, 1);
    evaluator_free(ev);
    ruleset_free(rs);

    /* Without expect.resolvers nothing is sampled: the same fixed port never alerts. */
    rs = rules("id: plain\nmatch: {names: [a.example]}\n");
    ev = ev_new(rs, NULL);
    for (unsigned i = 0; i < 2 * RSAMPLE_WINDOW; i++) {
        msg_begin(0x0100, "upstream.example.net", DNS_T_A);
        const dns_msg *m = msg_end();
        pkt_info pi = pkt_from("192.0.2.1", true);
        inet_pton(AF_INET, "10.10.0.53", pi.src);
        pi.sport = 5353;
        pi.proto = 17;
        assert_int_equal(evaluator_resolver_query(ev, &pi, m, &res), 0);
    }
    evaluator_free(ev);
    ruleset_free(rs);
}

/* ---- rebinding and sinkholes -------------------------------------------------------- */

static void t_rebinding_ranges(void **state)
{
    (void)state;
    static const char *const bad[][2] = {
        {"0.1.2.3", "0.0.0.0/8"},         {"10.1.2.3", "10.0.0.0/8"},
        {"100.64.1.1", "100.64.0.0/10"},  {"127.0.0.1", "127.0.0.0/8"},
        {"169.254.169.254", "169.254.0.0/16"}, {"172.31.255.1", "172.16.0.0/12"},
        {"192.0.0.8", "192.0.0.0/24"},    {"192.0.2.1", "192.0.2.0/24"},
        {"192.168.1.1", "192.168.0.0/16"}, {"198.19.0.1", "198.18.0.0/15"},
        {"198.51.100.1", "198.51.100.0/24"}, {"203.0.113.9", "203.0.113.0/24"},
        {"224.0.0.251", "224.0.0.0/4"},   {"240.0.0.1", "240.0.0.0/4"},
        {"255.255.255.255", NULL},        {"::1", NULL},
        {"fc00::1", "fc00::/7"},          {"fe80::1", "fe80::/10"},
        {"fec0::1", "fec0::/10"},         {"ff02::1", "ff00::/8"},
        {"2001:db8::1", "2001:db8::/32"}, {"100::1", "100::/64"},
        {"::ffff:10.0.0.1", "10.0.0.0/8"}, {"64:ff9b::7f00:1", "127.0.0.0/8"},
        {"64:ff9b:1:c0a8:1:100::", "192.168.0.0/16"}, {"2002:a9fe:a9fe::1", "169.254.0.0/16"},
    };
    static const char *const good[] = {"8.8.8.8",          "151.101.1.1",  "2606:4700::1",
                                       "::ffff:151.101.1.1", "64:ff9b::808:808", "2002:808:808::1",
                                       "11.0.0.1",         "172.32.0.1",   "fbff::1"};
    ruleset *rs = rules("id: rb\nmatch: {names: [\"*\"]}\n");
    evaluator *ev = ev_new(rs, NULL);
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        resp_begin("x.example");
        rr_addr("x.example", bad[i][0]);
        const eval_result *r = judge(ev);
        const eval_finding *f = finding(r, "rb");
        if (!f || f->violations != DW_V_REBINDING)
            fail_msg("%s: not reported as rebinding", bad[i][0]);
        assert_true(addr_is(&f->evidence[0], bad[i][0]));
        assert_non_null(f->evidence[0].range);
        if (bad[i][1] && strcmp(f->evidence[0].range, bad[i][1]) != 0)
            fail_msg("%s: range %s, expected %s", bad[i][0], f->evidence[0].range, bad[i][1]);
        assert_reason(f, "in special-purpose range");
        assert_reason(f, "(DNS rebinding)");
        assert_reason(f, bad[i][0]);
    }
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        resp_begin("x.example");
        rr_addr("x.example", good[i]);
        if (judge(ev)->n_findings)
            fail_msg("%s: reported: %s", good[i], res.findings[0].reason);
    }
    /* SVCB/HTTPS address hints are addresses too. */
    resp_begin("x.example");
    rr_svcb_v4hint("x.example", "192.168.7.7");
    const eval_finding *f = must_find(judge(ev), "rb", DW_V_REBINDING);
    assert_true(addr_is(&f->evidence[0], "192.168.7.7"));
    evaluator_free(ev);
    ruleset_free(rs);

    /* rebinding.check: false turns it off. */
    rs = rules("id: off\nmatch: {names: [\"*\"]}\nrebinding: {check: false}\n");
    ev = ev_new(rs, NULL);
    resp_begin("x.example");
    rr_addr("x.example", "10.0.0.1");
    rr_addr("x.example", "0.0.0.0");
    assert_int_equal(judge(ev)->n_findings, 0);
    evaluator_free(ev);
    ruleset_free(rs);
}

static void t_rebinding_allow(void **state)
{
    (void)state;
    ruleset *rs = rules("sets:\n  dc: {prefixes: [10.40.0.0/16, \"fd12:3456:789a::/48\"]}\n---\n"
                        "id: art\nmatch: {names: [\"*.corp.example\"]}\n"
                        "rebinding: {allow: [\"set:dc\"]}\n");
    evaluator *ev = ev_new(rs, NULL);
    resp_begin("a.corp.example");
    rr_addr("a.corp.example", "10.40.1.1");
    rr_addr("a.corp.example", "fd12:3456:789a::5");
    rr_addr("a.corp.example", "64:ff9b::a28:101"); /* NAT64 of 10.40.1.1: judged by it */
    assert_int_equal(judge(ev)->n_findings, 0);

    resp_begin("a.corp.example");
    rr_addr("a.corp.example", "10.41.1.1");
    const eval_finding *f = must_find(judge(ev), "art", DW_V_REBINDING);
    assert_true(addr_is(&f->evidence[0], "10.41.1.1"));
    evaluator_free(ev);
    ruleset_free(rs);
}

static void t_sinkhole_modes(void **state)
{
    (void)state;
    ruleset *rs = rules("id: report\nmatch: {names: [a.example]}\n---\n"
                        "id: asrebind\nmatch: {names: [a.example]}\nrebinding: {sinkhole: rebinding}\n"
                        "---\nid: allow\nmatch: {names: [a.example]}\nrebinding: {sinkhole: allow}\n");
    evaluator *ev = ev_new(rs, NULL);
    static const char *const sink[] = {"0.0.0.0", "::", "::ffff:0.0.0.0"};
    for (size_t i = 0; i < 3; i++) {
        resp_begin("a.example");
        rr_addr("a.example", sink[i]);
        const eval_result *r = judge(ev);
        assert_int_equal(r->n_findings, 2);
        const eval_finding *f = must_find(r, "report", DW_V_SINKHOLE);
        assert_true(addr_is(&f->evidence[0], sink[i]));
        assert_reason(f, "a sinkhole address");
        f = must_find(r, "asrebind", DW_V_REBINDING);
        assert_reason(f, "(DNS rebinding)");
        assert_null(finding(r, "allow"));
    }
    /* allow drops only the sinkhole, not other special ranges. */
    resp_begin("a.example");
    rr_addr("a.example", "127.0.0.1");
    must_find(judge(ev), "allow", DW_V_REBINDING);
    evaluator_free(ev);
    ruleset_free(rs);
}

/* ---- TTL, DNSSEC -------------------------------------------------------------------- */

static void t_ttl(void **state)
{
    (void)state;
    ruleset *rs = rules("id: t\nmatch: {names: [a.example]}\nttl: {max: 3600}\n");
    evaluator *ev = ev_new(rs, NULL);
    resp_begin("a.example");
    rr_addr_ttl("a.example", "151.101.1.1", 3600);
    ar_addr_ttl("ns.elsewhere.example", "151.101.1.2", 999999); /* not the chain's */
    assert_int_equal(judge(ev)->n_findings, 0);

    resp_begin("a.example");
    rr_name("a.example", DNS_T_CNAME, "b.example");
    rr_addr_ttl("b.example", "151.101.1.1", 604800);
    const eval_finding *f = must_find(judge(ev), "t", DW_V_TTL_EXCEEDED);
    assert_int_equal(f->evidence[0].ttl, 604800);
    assert_reason(f, "a.example answered with TTL 604800, above the maximum 3600");
    evaluator_free(ev);
    ruleset_free(rs);
}

static void feed_query(evaluator *ev, const char *qname, bool dnssec_ok)
{
    msg_begin(0x0100, qname, DNS_T_A);
    opt(dnssec_ok);
    const dns_msg *m = msg_end();
    pkt_info pi = pkt_from("10.0.0.53", true);
    evaluator_query(ev, &pi, m);
}

static void t_dnssec(void **state)
{
    (void)state;
    ruleset *rs = rules("id: v\nmatch: {names: [signed.example]}\ndnssec: {expect: signed}\n"
                        "expect: {resolvers: [10.0.0.53]}\n---\n"
                        "id: d\nmatch: {names: [do.example]}\ndnssec: {expect: signed}\n");
    evaluator *ev = ev_new(rs, NULL);

    /* From the listed (validating) resolver: AD clear is missing DNSSEC. */
    resp_begin("signed.example");
    rr_addr("signed.example", "151.101.1.1");
    const eval_finding *f = must_find(judge(ev), "v", DW_V_DNSSEC_MISSING);
    assert_string_equal(f->evidence[0].range, "the validating resolver did not set AD");
    assert_reason(f, "signed.example should be DNSSEC-signed, but the validating resolver did "
                     "not set AD");
    msg_begin(0x81a0, "signed.example", DNS_T_A); /* AD set */
    rr_addr("signed.example", "151.101.1.1");
    assert_int_equal(judge(ev)->n_findings, 0);
    /* From another server AD means nothing: only unexpected_resolver. */
    resp_begin("signed.example");
    rr_addr("signed.example", "151.101.1.1");
    must_find(judge_from(ev, "10.9.9.9"), "v", DW_V_UNEXPECTED_RESOLVER);

    /* A query with DO: the response must carry RRSIGs. */
    feed_query(ev, "do.example", true);
    resp_begin("do.example");
    rr_addr("do.example", "151.101.1.1");
    opt(true);
    f = must_find(judge(ev), "d", DW_V_DNSSEC_MISSING);
    assert_reason(f, "the answer carries no RRSIG although the query set DO");

    feed_query(ev, "do.example", true);
    resp_begin("do.example");
    rr_addr("do.example", "151.101.1.1");
    rr_rrsig("do.example");
    opt(true);
    assert_int_equal(judge(ev)->n_findings, 0);

    /* No DO in the query (or no query seen): nothing to judge by. */
    feed_query(ev, "do.example", false);
    resp_begin("do.example");
    rr_addr("do.example", "151.101.1.1");
    opt(false);
    assert_int_equal(judge(ev)->n_findings, 0);
    resp_begin("do.example");
    rr_addr("do.example", "151.101.1.1");
    assert_int_equal(judge(ev)->n_findings, 0);
    evaluator_free(ev);
    ruleset_free(rs);
}

/* ---- exceptions --------------------------------------------------------------------- */

static time_t fake_now;
static time_t fake_clock(void) { return fake_now; }

static void t_exceptions(void **state)
{
    (void)state;
    static const char yaml[] =
        "id: e\nmatch: {names: [a.example, b.example]}\nexpect: {prefixes: [151.101.0.0/16]}\n"
        "exceptions:\n"
        "  - {prefixes: [146.75.0.0/16], reason: \"CHG-4411 renumbering\", expires: 2027-03-31}\n"
        "  - {prefixes: [45.33.20.0/24], names: [b.example], reason: \"CHG-1\", "
        "expires: 2027-03-31}\n";
    struct tm tm = {.tm_year = 127, .tm_mon = 2, .tm_mday = 31, .tm_hour = 23, .tm_min = 59};
    time_t last_minute = timegm(&tm);
    ruleset *live = rules_at(yaml, last_minute);
    ruleset *expired = rules_at(yaml, last_minute + 60);
    assert_int_equal(ruleset_rule(live, 0)->n_exceptions, 2);
    assert_int_equal(ruleset_rule(expired, 0)->n_exceptions, 0);

    evaluator *ev = ev_new(live, NULL);
    fake_now = last_minute;
    evaluator_set_clock(ev, fake_clock);
    resp_begin("a.example");
    rr_addr("a.example", "146.75.3.3");
    assert_int_equal(judge(ev)->n_findings, 0);
    /* The second exception holds for b.example only. */
    resp_begin("a.example");
    rr_addr("a.example", "45.33.20.5");
    must_find(judge(ev), "e", DW_V_PREFIX_MISMATCH);
    resp_begin("b.example");
    rr_addr("b.example", "45.33.20.5");
    assert_int_equal(judge(ev)->n_findings, 0);
    /* The expiry day ends while the ruleset loaded before it is still in use: the
     * exceptions stop excusing then, not at the next reload. */
    fake_now = last_minute + 60;
    resp_begin("a.example");
    rr_addr("a.example", "146.75.3.3");
    must_find(judge(ev), "e", DW_V_PREFIX_MISMATCH);
    resp_begin("b.example");
    rr_addr("b.example", "45.33.20.5");
    must_find(judge(ev), "e", DW_V_PREFIX_MISMATCH);
    evaluator_free(ev);

    ev = ev_new(expired, NULL);
    resp_begin("a.example");
    rr_addr("a.example", "146.75.3.3");
    must_find(judge(ev), "e", DW_V_PREFIX_MISMATCH);
    evaluator_free(ev);
    ruleset_free(live);
    ruleset_free(expired);
}

/* ---- odd responses ------------------------------------------------------------------ */

static void t_nxdomain(void **state)
{
    (void)state;
    ruleset *rs = rules("id: n\nmatch: {names: [\"*.example\"]}\n"
                        "expect: {prefixes: [151.101.0.0/16], resolvers: [10.10.0.53]}\n");
    evaluator *ev = ev_new(rs, NULL);
    msg_begin(0x8183, "gone.example", DNS_T_A); /* NXDOMAIN, with a bogus address */
    rr_addr("gone.example", "10.0.0.1");
    const eval_result *r = judge_from(ev, "10.10.0.53");
    /* Judged by what the answer section holds, not by the response code. */
    must_find(r, "n", DW_V_PREFIX_MISMATCH | DW_V_REBINDING);
    msg_begin(0x8183, "gone.example", DNS_T_A); /* NXDOMAIN without answers: nothing */
    r = judge_from(ev, "10.10.0.53");
    assert_int_equal(r->n_findings, 0);
    /* The resolver is still judged. */
    msg_begin(0x8183, "gone.example", DNS_T_A);
    must_find(judge(ev), "n", DW_V_UNEXPECTED_RESOLVER);
    evaluator_free(ev);
    ruleset_free(rs);
}

static void t_cname_loop(void **state)
{
    (void)state;
    ruleset *rs = rules("id: rb\nmatch: {names: [\"*\"]}\n");
    evaluator *ev = ev_new(rs, NULL);
    resp_begin("a.example");
    rr_name("a.example", DNS_T_CNAME, "b.example");
    rr_name("b.example", DNS_T_CNAME, "a.example");
    rr_addr("b.example", "10.0.0.1");
    const eval_result *r = judge(ev);
    assert_int_equal(r->n_chain, 2);
    must_find(r, "rb", DW_V_REBINDING);

    /* A DNAME that maps below itself grows the name until it no longer fits. */
    resp_begin("x.a.example");
    rr_name("a.example", DNS_T_DNAME, "a.a.example");
    r = judge(ev);
    assert_true(r->n_chain >= 2 && r->n_chain <= EVAL_MAX_CHAIN + 1);
    evaluator_free(ev);
    ruleset_free(rs);
}

static void t_long_chain(void **state)
{
    (void)state;
    ruleset *rs = rules("id: rb\nmatch: {names: [\"*\"]}\n---\n"
                        "id: tail\nmatch: {names: [c30.example]}\n");
    evaluator *ev = ev_new(rs, NULL);
    char a[32], b[32];
    resp_begin("c0.example");
    for (int i = 0; i < 30; i++) {
        snprintf(a, sizeof a, "c%d.example", i);
        snprintf(b, sizeof b, "c%d.example", i + 1);
        rr_name(a, DNS_T_CNAME, b);
    }
    rr_addr("c30.example", "192.168.1.1");
    const eval_result *r = judge(ev);
    assert_int_equal(r->group[0].n, EVAL_MAX_CHAIN + 1);
    assert_string_equal(r->chain[EVAL_MAX_CHAIN], "c16.example");
    /* Past the cut, the owners of the CNAMEs start chains of their own: the rule of the
     * real end of the chain applies too. */
    assert_true(r->n_groups >= 2);
    must_find(r, "tail", DW_V_REBINDING);
    /* The address at the real end of the chain is still judged: a chain made longer
     * than the sensor follows must not hide a rebinding answer. */
    const eval_finding *f = must_find(r, "rb", DW_V_REBINDING);
    assert_true(addr_is(&f->evidence[0], "192.168.1.1"));
    evaluator_free(ev);
    ruleset_free(rs);
}

static void t_evidence_cap(void **state)
{
    (void)state;
    ruleset *rs = rules("id: many\nmatch: {names: [a.example]}\n"
                        "expect: {prefixes: [151.101.0.0/16], resolvers: [10.0.0.53]}\n"
                        "cname: {allowed_targets: [\"*.fastly.net\"]}\nttl: {max: 60}\n"
                        "dnssec: {expect: signed}\n");
    evaluator *ev = ev_new(rs, NULL);
    resp_begin("a.example");
    rr_name("a.example", DNS_T_CNAME, "b.example");
    char ip[32];
    for (int i = 0; i < 40; i++) {
        snprintf(ip, sizeof ip, "10.0.0.%d", i + 1);
        rr_addr("b.example", ip);
    }
    rr_addr("b.example", "0.0.0.0");
    const eval_result *r = judge(ev);
    assert_int_equal(r->n_addrs, 41);
    uint32_t want = DW_V_PREFIX_MISMATCH | DW_V_CNAME_UNEXPECTED | DW_V_REBINDING |
                    DW_V_SINKHOLE | DW_V_DNSSEC_MISSING | DW_V_TTL_EXCEEDED;
    const eval_finding *f = must_find(r, "many", want);
    assert_int_equal(f->n_evidence, EVAL_MAX_EVIDENCE);
    for (unsigned b = 0; b < DW_V_COUNT; b++)
        if (want & (1u << b) && !evidence_of(f, 1u << b))
            fail_msg("no evidence left for %s", dw_violation_name(1u << b));
    assert_true(addr_is(must_evidence(f, DW_V_SINKHOLE), "0.0.0.0"));
    assert_true(strlen(f->reason) > 0);
    assert_reason(f, "a.example answered 10.0.0.1, outside the expected 151.101.0.0/16");
    assert_reason(f, "(+5 more violations)");
    evaluator_free(ev);
    ruleset_free(rs);
}

static void t_no_rules(void **state)
{
    (void)state;
    ruleset *rs = rules("# nothing yet\n");
    assert_int_equal(ruleset_count(rs), 0);
    evaluator *ev = ev_new(rs, db);
    resp_begin("pypi.org");
    rr_addr("pypi.org", "10.0.0.1");
    const eval_result *r = judge(ev);
    assert_int_equal(r->n_findings, 0);
    assert_false(r->watched);
    /* A response without a question: nothing to follow. */
    dnsb_hdr(&B.m, 1, 0x8180, 0, 0, 0, 0);
    B.an = B.ns = B.ar = 0;
    r = judge(ev);
    assert_int_equal(r->n_chain, 0);
    evaluator_free(ev);
    ruleset_free(rs);
}

/* What musl takes: answers without a question, and addresses owned by other names. */
static void t_owners(void **state)
{
    (void)state;
    ruleset *rs = rules("id: pypi\nmatch: {names: [pypi.org]}\n"
                        "expect: {prefixes: [151.101.0.0/16]}\nrebinding: {check: false}\n"
                        "ttl: {max: 600}\n---\n"
                        "id: other\nmatch: {names: [other.example]}\n"
                        "expect: {prefixes: [192.0.2.0/24]}\nrebinding: {check: false}\n");
    evaluator *ev = ev_new(rs, NULL);

    /* No question: the owner's rules judge every address of the answer section. */
    dnsb_hdr(&B.m, 1, 0x8180, 0, 0, 0, 0);
    B.an = B.ns = B.ar = 0;
    rr_addr("pypi.org", "151.101.0.223");
    rr_addr("cdn.evil.example", "45.33.20.5");
    const eval_result *r = judge(ev);
    const eval_finding *f = must_find(r, "pypi", DW_V_PREFIX_MISMATCH);
    assert_true(addr_is(&f->evidence[0], "45.33.20.5"));
    assert_int_equal(f->group, 0);
    assert_string_equal(r->chain[r->group[0].first], "pypi.org");
    assert_reason(f, "pypi.org answered 45.33.20.5");
    assert_int_equal(r->n_addrs, 2);

    /* No question, a CNAME from pypi.org to the owner of the address. */
    dnsb_hdr(&B.m, 1, 0x8180, 0, 0, 0, 0);
    B.an = B.ns = B.ar = 0;
    rr_addr("x.evil.example", "45.33.20.5");
    rr_name("pypi.org", DNS_T_CNAME, "x.evil.example");
    r = judge(ev);
    f = must_find(r, "pypi", DW_V_PREFIX_MISMATCH);
    assert_int_equal(r->group[f->group].n, 2);

    /* A question: an address owned by a name outside its chain is judged by the rules of
     * the question (musl uses it) and by those of its owner, each with its own chain; for
     * the owner's rule it is also a record outside the question's bailiwick. */
    resp_begin("other.example");
    rr_addr("pypi.org", "45.33.20.5");
    r = judge(ev);
    f = must_find(r, "other", DW_V_PREFIX_MISMATCH);
    assert_int_equal(f->group, 0);
    f = must_find(r, "pypi", DW_V_PREFIX_MISMATCH | DW_V_OUT_OF_BAILIWICK);
    assert_int_equal(f->group, 1);
    assert_reason(f, "pypi.org answered 45.33.20.5");

    /* An owner's rule judges only the records along its own chain (TTL here: nothing but
     * the record's place), while the question's rule judges every address. */
    resp_begin("other.example");
    rr_addr_ttl("other.example", "192.0.2.1", 3600);
    rr_addr("pypi.org", "151.101.0.223");
    r = judge(ev);
    must_find(r, "pypi", DW_V_OUT_OF_BAILIWICK);
    must_find(r, "other", DW_V_PREFIX_MISMATCH);

    /* More owners than the groups kept: pypi.org after 40 others is still matched, and
     * judges the addresses owned beyond the groups. */
    dnsb_hdr(&B.m, 1, 0x8180, 0, 0, 0, 0);
    B.an = B.ns = B.ar = 0;
    char name[32];
    for (int i = 0; i < 40; i++) {
        snprintf(name, sizeof name, "n%d.example", i);
        rr_addr(name, "151.101.1.1");
    }
    rr_addr("pypi.org", "45.33.20.5");
    r = judge(ev);
    assert_true(r->owners_beyond);
    assert_int_equal(r->n_groups, EVAL_MAX_GROUPS);
    f = must_find(r, "pypi", DW_V_PREFIX_MISMATCH);
    assert_int_equal(f->group, -1);
    assert_reason(f, "pypi.org answered 45.33.20.5");
    evaluator_free(ev);
    ruleset_free(rs);
}

/* ---- out_of_bailiwick --------------------------------------------------------------- */

/* A record of the authority (DNS_SEC_AUTHORITY) or additional section, written after the
 * answers (and, for the additional section, after the authority records): a name for NS
 * and CNAME, an address for A/AAAA, the primary server for SOA. */
static void sec_rr(unsigned sec, const char *owner, unsigned type, unsigned cls, uint32_t ttl,
                   const char *data)
{
    dnsb_name(&B.m, owner);
    size_t at = dnsb_rr_begin(&B.m, type, cls, ttl);
    if (type == DNS_T_A || type == DNS_T_AAAA) {
        dnsb_ip(&B.m, data);
    } else {
        dnsb_name(&B.m, data);
        if (type == DNS_T_SOA) {
            dnsb_name(&B.m, "hostmaster.example");
            for (int i = 0; i < 5; i++)
                dnsb_u32(&B.m, 3600);
        }
    }
    dnsb_rr_end(&B.m, at);
    if (sec == DNS_SEC_AUTHORITY)
        B.ns++;
    else
        B.ar++;
}

static void ns_rr(const char *owner, unsigned type, const char *data)
{
    sec_rr(DNS_SEC_AUTHORITY, owner, type, 1, 86400, data);
}

static void ar_rr(const char *owner, unsigned type, const char *data)
{
    sec_rr(DNS_SEC_ADDITIONAL, owner, type, 1, 86400, data);
}

/* The record an out_of_bailiwick evidence item names: its section and type. */
static void assert_record(const eval_evidence *e, unsigned section, unsigned type)
{
    assert_int_equal(e->violation, DW_V_OUT_OF_BAILIWICK);
    assert_true(e->rr < msg.n_rr);
    assert_int_equal(msg.rr[e->rr].section, section);
    assert_int_equal(msg.rr[e->rr].type, type);
}

static const char bailiwick_yaml[] =
    "id: pypi\nmatch: {names: [pypi.org, files.pythonhosted.org]}\n"
    "expect: {prefixes: [151.101.0.0/16]}\n---\n"
    "id: corp\nmatch: {names: [\"*.corp.example\"], except: [\"*.dev.corp.example\"]}\n---\n"
    "id: other\nmatch: {names: [other.example]}\n---\n"
    "id: all\nmatch: {names: [\"*\"]}\n";

/* The attacks: records for watched names under a question about another name, in every
 * section; attributed to the rule of the owner. */
static void t_bailiwick_attacks(void **state)
{
    (void)state;
    ruleset *rs = rules(bailiwick_yaml);
    evaluator *ev = ev_new(rs, NULL);

    /* Kaminsky's out-of-bailiwick form: NS for pypi.org (authority), its address
     * (additional), under a random name of the attacker's zone. */
    resp_begin("r4nd0m.attacker.example");
    rr_addr("r4nd0m.attacker.example", "93.184.216.34");
    ns_rr("pypi.org", DNS_T_NS, "ns.attacker.example");
    ar_rr("pypi.org", DNS_T_A, "45.33.20.5");
    ar_rr("ns.attacker.example", DNS_T_A, "45.33.20.6");
    const eval_result *r = judge(ev);
    assert_int_equal(r->n_findings, 1);
    assert_true(r->watched);
    const eval_finding *f = must_find(r, "pypi", DW_V_OUT_OF_BAILIWICK);
    assert_int_equal(f->n_evidence, 2);
    assert_int_equal(f->n_evidence_total, 2);
    assert_record(&f->evidence[0], DNS_SEC_AUTHORITY, DNS_T_NS);
    assert_record(&f->evidence[1], DNS_SEC_ADDITIONAL, DNS_T_A);
    assert_int_equal(f->group, 0);
    assert_string_equal(r->chain[0], "r4nd0m.attacker.example");
    assert_reason(f, "r4nd0m.attacker.example was answered with a pypi.org NS record in the "
                     "authority section, outside the question's bailiwick");
    assert_null(finding(r, "all"));

    /* An address for a watched name in the additional section only; and in the answer
     * section (an address that meets the expectation: only the place is wrong). */
    resp_begin("cdn.mirror.example");
    rr_addr("cdn.mirror.example", "93.184.216.34");
    ar_rr("files.pythonhosted.org", DNS_T_A, "151.101.0.223");
    f = must_find(judge(ev), "pypi", DW_V_OUT_OF_BAILIWICK);
    assert_record(&f->evidence[0], DNS_SEC_ADDITIONAL, DNS_T_A);
    resp_begin("cdn.mirror.example");
    rr_addr("pypi.org", "151.101.0.223");
    f = must_find(judge(ev), "pypi", DW_V_OUT_OF_BAILIWICK);
    assert_record(&f->evidence[0], DNS_SEC_ANSWER, DNS_T_A);

    /* Below a watched name, and a name below one: www.pypi.org's records under an
     * unrelated question; a sibling watched name is no bailiwick for another (the name
     * they share, org, is not watched). */
    resp_begin("r4nd0m.attacker.example");
    ar_rr("WWW.PyPI.org", DNS_T_A, "45.33.20.5");
    must_find(judge(ev), "pypi", DW_V_OUT_OF_BAILIWICK);
    resp_begin("pypi.org");
    rr_addr("pypi.org", "151.101.0.223");
    ar_rr("files.pythonhosted.org", DNS_T_A, "151.101.64.223");
    f = must_find(judge(ev), "pypi", DW_V_OUT_OF_BAILIWICK);
    assert_record(&f->evidence[0], DNS_SEC_ADDITIONAL, DNS_T_A);

    /* A wildcard rule watches its apex: corp.example's NS controls every name below. */
    resp_begin("r4nd0m.attacker.example");
    ns_rr("corp.example", DNS_T_NS, "ns.attacker.example");
    must_find(judge(ev), "corp", DW_V_OUT_OF_BAILIWICK);

    /* The question's rule keeps its own finding; the owner's rule gets the record. */
    resp_begin("other.example");
    rr_addr("other.example", "10.0.0.1");
    ns_rr("pypi.org", DNS_T_NS, "ns.attacker.example");
    r = judge(ev);
    must_find(r, "other", DW_V_REBINDING);
    must_find(r, "pypi", DW_V_OUT_OF_BAILIWICK);
    must_find(r, "all", DW_V_REBINDING);

    /* A flood of records: evidence capped, every one counted. */
    resp_begin("r4nd0m.attacker.example");
    char ip[32];
    for (int i = 0; i < 40; i++) {
        snprintf(ip, sizeof ip, "45.33.20.%d", i + 1);
        ar_rr("pypi.org", DNS_T_A, ip);
    }
    f = must_find(judge(ev), "pypi", DW_V_OUT_OF_BAILIWICK);
    assert_int_equal(f->n_evidence, EVAL_MAX_EVIDENCE);
    assert_int_equal(f->n_evidence_total, 40);
    evaluator_free(ev);
    ruleset_free(rs);
}

/* The benign twins: records where they belong, and records no resolver caches. */
static void t_bailiwick_benign(void **state)
{
    (void)state;
    ruleset *rs = rules(bailiwick_yaml);
    evaluator *ev = ev_new(rs, NULL);
    const eval_result *r;

    /* A delegation for pypi.org with its glue, answering a question below the cut. */
    resp_begin("r4nd0m.pypi.org");
    ns_rr("pypi.org", DNS_T_NS, "ns1.pypi.org");
    ar_rr("ns1.pypi.org", DNS_T_A, "151.101.0.1");
    assert_int_equal(judge(ev)->n_findings, 0);
    /* The question in another case than the records (0x20). */
    resp_begin("wWw.PyPi.OrG");
    ns_rr("pypi.org", DNS_T_NS, "ns1.pypi.org");
    ar_rr("NS1.PYPI.ORG", DNS_T_A, "151.101.0.1");
    assert_int_equal(judge(ev)->n_findings, 0);

    /* The SOA of pypi.org in an NXDOMAIN for a name below it. */
    msg_begin(0x8183, "nosuch.pypi.org", DNS_T_A);
    ns_rr("pypi.org", DNS_T_SOA, "ns1.pypi.org");
    assert_int_equal(judge(ev)->n_findings, 0);

    /* A CNAME chain that leads into the watched name, with pypi.org's NS and glue. */
    resp_begin("pypi.mirror.example");
    rr_name("pypi.mirror.example", DNS_T_CNAME, "pypi.org");
    rr_addr("pypi.org", "151.101.0.223");
    ns_rr("pypi.org", DNS_T_NS, "ns1.pypi.org");
    ar_rr("ns1.pypi.org", DNS_T_A, "151.101.0.1");
    r = judge(ev);
    assert_int_equal(r->n_findings, 0);
    assert_true(r->watched);
    /* ...and through a DNAME. */
    resp_begin("www.pkgs.example");
    rr_name("pkgs.example", DNS_T_DNAME, "pypi.org");
    rr_name("www.pkgs.example", DNS_T_CNAME, "www.pypi.org");
    ar_rr("www.pypi.org", DNS_T_A, "151.101.0.223");
    assert_int_equal(judge(ev)->n_findings, 0);

    /* Below a wildcard's apex; an except name; the catch-all watches nothing. */
    resp_begin("build.corp.example");
    ns_rr("corp.example", DNS_T_NS, "ns1.corp.example");
    ar_rr("ns1.corp.example", DNS_T_A, "10.40.0.53");
    assert_int_equal(judge(ev)->n_findings, 0);
    resp_begin("r4nd0m.attacker.example");
    ar_rr("x.dev.corp.example", DNS_T_A, "10.40.0.54");
    assert_int_equal(judge(ev)->n_findings, 0);
    resp_begin("www.example.net");
    rr_addr("www.example.net", "93.184.216.34");
    ns_rr("example.net", DNS_T_NS, "ns1.example.net");
    ar_rr("ns1.example.net", DNS_T_A, "93.184.216.10");
    r = judge(ev);
    assert_int_equal(r->n_findings, 0);
    assert_false(r->watched);

    /* What no resolver caches: TTL 0, another class, the body of a SERVFAIL or REFUSED,
     * a reply without a question. The same record cached is found (the control). */
    resp_begin("r4nd0m.attacker.example");
    sec_rr(DNS_SEC_ADDITIONAL, "pypi.org", DNS_T_A, 1, 0, "45.33.20.5");
    sec_rr(DNS_SEC_ADDITIONAL, "pypi.org", DNS_T_A, 3, 300, "45.33.20.5");
    assert_int_equal(judge(ev)->n_findings, 0);
    msg_begin(0x8182, "r4nd0m.attacker.example", DNS_T_A);
    ar_rr("pypi.org", DNS_T_A, "45.33.20.5");
    assert_int_equal(judge(ev)->n_findings, 0);
    msg_begin(0x8185, "r4nd0m.attacker.example", DNS_T_A);
    ar_rr("pypi.org", DNS_T_A, "45.33.20.5");
    assert_int_equal(judge(ev)->n_findings, 0);
    dnsb_hdr(&B.m, 1, 0x8180, 0, 0, 0, 0);
    B.an = B.ns = B.ar = 0;
    ns_rr("pypi.org", DNS_T_NS, "ns.attacker.example");
    assert_int_equal(judge(ev)->n_findings, 0);
    msg_begin(0x8183, "r4nd0m.attacker.example", DNS_T_A);
    ar_rr("pypi.org", DNS_T_A, "45.33.20.5");
    must_find(judge(ev), "pypi", DW_V_OUT_OF_BAILIWICK);

    /* A DNSSEC denial: the NXDOMAIN for pypj.org proves it with the NSEC (and its RRSIG)
     * owned by pypi.org, the name before it; proofs are not data a resolver resolves
     * with. The SOA of org is nobody's. */
    msg_begin(0x8183, "pypj.org", DNS_T_A);
    ns_rr("org", DNS_T_SOA, "a0.org.afilias-nst.info");
    dnsb_name(&B.m, "pypi.org");
    size_t at = dnsb_rr_begin(&B.m, DNS_T_NSEC, 1, 3600);
    dnsb_name(&B.m, "pypk.org");
    dnsb_bytes(&B.m, "\x00\x06\x62\x01\x80\x08\x00\x03", 8); /* A NS SOA MX TXT AAAA RRSIG NSEC */
    dnsb_rr_end(&B.m, at);
    B.ns++;
    dnsb_name(&B.m, "pypi.org");
    at = dnsb_rr_begin(&B.m, DNS_T_RRSIG, 1, 3600);
    dnsb_u16(&B.m, DNS_T_NSEC);
    dnsb_u8(&B.m, 8);
    dnsb_u8(&B.m, 2);
    dnsb_u32(&B.m, 3600);
    dnsb_u32(&B.m, 0xffffffff);
    dnsb_u32(&B.m, 0);
    dnsb_u16(&B.m, 1234);
    dnsb_name(&B.m, "org");
    for (int i = 0; i < 64; i++)
        dnsb_u8(&B.m, 0);
    dnsb_rr_end(&B.m, at);
    B.ns++;
    assert_int_equal(judge(ev)->n_findings, 0);

    /* Without a watching rule nothing is looked at. */
    ruleset *rs2 = rules("id: all\nmatch: {names: [\"*\"]}\n");
    assert_int_equal(evaluator_set_ruleset(ev, rs2), 0);
    resp_begin("r4nd0m.attacker.example");
    ns_rr("pypi.org", DNS_T_NS, "ns.attacker.example");
    assert_int_equal(judge(ev)->n_findings, 0);
    evaluator_free(ev);
    ruleset_free(rs2);
    ruleset_free(rs);
}

/* ---- names, ruleset swap, trace ----------------------------------------------------- */

static void t_many_names(void **state)
{
    (void)state;
    /* 1000 rules of 10 exact names each, and 200 wildcard rules. */
    size_t cap = 1 << 20, n = 0;
    char *yaml = malloc(cap);
    assert_non_null(yaml);
    for (int r = 0; r < 1000; r++) {
        n += (size_t)snprintf(yaml + n, cap - n, "%sid: exact%d\nmatch: {names: [", r ? "---\n" : "", r);
        for (int k = 0; k < 10; k++)
            n += (size_t)snprintf(yaml + n, cap - n, "%shost%d.example.com", k ? ", " : "",
                                  r * 10 + k);
        n += (size_t)snprintf(yaml + n, cap - n, "]}\n");
    }
    for (int w = 0; w < 200; w++)
        n += (size_t)snprintf(yaml + n, cap - n, "---\nid: wild%d\nmatch: {names: [\"*.zone%d.example.net\"]}\n",
                              w, w);
    assert_true(n < cap - 1);
    ruleset *rs = rules(yaml);
    free(yaml);
    assert_int_equal(ruleset_count(rs), 1200);
    evaluator *ev = ev_new(rs, NULL);

    resp_begin("host5557.example.com");
    rr_addr("host5557.example.com", "10.0.0.1");
    const eval_result *r = judge(ev);
    assert_int_equal(r->n_findings, 1);
    assert_string_equal(r->findings[0].rule->id, "exact555");

    resp_begin("a.b.zone77.example.net");
    rr_addr("a.b.zone77.example.net", "10.0.0.1");
    r = judge(ev);
    assert_int_equal(r->n_findings, 1);
    assert_string_equal(r->findings[0].rule->id, "wild77");

    /* Both through a chain, in rule order whatever the chain order. */
    resp_begin("x.zone3.example.net");
    rr_name("x.zone3.example.net", DNS_T_CNAME, "host9.example.com");
    rr_addr("host9.example.com", "10.0.0.1");
    r = judge(ev);
    assert_int_equal(r->n_findings, 2);
    assert_string_equal(r->findings[0].rule->id, "exact0");
    assert_string_equal(r->findings[1].rule->id, "wild3");

    resp_begin("zone77.example.net"); /* the wildcard is strictly below */
    rr_addr("zone77.example.net", "10.0.0.1");
    assert_int_equal(judge(ev)->n_findings, 0);

    /* Swapping in a smaller ruleset resizes the candidate tables. */
    ruleset *small = rules("id: only\nmatch: {names: [host5557.example.com]}\n");
    assert_int_equal(evaluator_set_ruleset(ev, small), 0);
    resp_begin("host5557.example.com");
    rr_addr("host5557.example.com", "10.0.0.1");
    r = judge(ev);
    assert_int_equal(r->n_findings, 1);
    assert_string_equal(r->findings[0].rule->id, "only");
    evaluator_free(ev);
    ruleset_free(rs);
    ruleset_free(small);
}

typedef struct tr_rec {
    char lines[64][600];
    unsigned n;
} tr_rec;

static void on_trace(void *ctx, const dw_rule *rule, const char *check, int verdict,
                     const char *detail)
{
    tr_rec *t = ctx;
    if (t->n < 64)
        snprintf(t->lines[t->n++], sizeof t->lines[0], "%s %s: %s %s", rule->id, check,
                 verdict > 0 ? "PASS" : verdict == 0 ? "FAIL" : "SKIP", detail);
}

static void assert_traced(const tr_rec *t, const char *line)
{
    for (unsigned i = 0; i < t->n; i++)
        if (strcmp(t->lines[i], line) == 0)
            return;
    for (unsigned i = 0; i < t->n; i++)
        fprintf(stderr, "  traced: %s\n", t->lines[i]);
    fail_msg("not traced: %s", line);
}

static void t_trace(void **state)
{
    (void)state;
    NEED_DB();
    ruleset *rs = rules("id: pypi\nmatch: {names: [pypi.org]}\nexpect: {asn: [54113]}\n"
                        "cname: {allowed_targets: [\"*.fastly.net\"]}\nttl: {max: 86400}\n");
    evaluator *ev = ev_new(rs, db);
    static tr_rec t;
    evaluator_set_trace(ev, on_trace, &t);
    resp_begin("pypi.org");
    rr_addr("pypi.org", "45.33.20.5");
    rr_addr("pypi.org", "10.0.0.1");
    judge(ev);
    assert_traced(&t, "pypi resolver: SKIP no expect.resolvers");
    assert_traced(&t, "pypi cname: PASS no CNAME or DNAME in the answer");
    assert_traced(&t, "pypi ttl: PASS highest TTL 300, maximum 86400");
    assert_traced(&t, "pypi expect.asn: FAIL 45.33.20.5 is AS63949 (Linode, LLC), expected AS54113");
    assert_traced(&t, "pypi rebinding: PASS 45.33.20.5 is not in a special-purpose range");
    assert_traced(&t, "pypi rebinding: FAIL 10.0.0.1 is in special-purpose range 10.0.0.0/8");
    assert_traced(&t, "pypi dnssec: SKIP dnssec.expect is not signed");

    /* Tracing off again: nothing more is recorded, the verdict is the same. */
    unsigned before = t.n;
    evaluator_set_trace(ev, NULL, NULL);
    resp_begin("pypi.org");
    rr_addr("pypi.org", "45.33.20.5");
    must_find(judge(ev), "pypi", DW_V_ASN_MISMATCH);
    assert_int_equal(t.n, before);
    evaluator_free(ev);
    ruleset_free(rs);
}

static void t_violation_names(void **state)
{
    (void)state;
    assert_string_equal(dw_violation_name(DW_V_ASN_MISMATCH), "asn_mismatch");
    assert_string_equal(dw_violation_name(DW_V_TTL_EXCEEDED), "ttl_exceeded");
    assert_string_equal(dw_violation_name(DW_V_SINKHOLE), "sinkhole");
    assert_null(dw_violation_name(0));
    assert_null(dw_violation_name(DW_V_ASN_MISMATCH | DW_V_SINKHOLE));
    assert_null(dw_violation_name(1u << DW_V_COUNT));
}

/* The table (rules/violation.h) gives every row a bit, a distinct name and a place in the
 * gravity order; sets are listed in that order, bits past the table ignored. */
static void t_violation_table(void **state)
{
    (void)state;
    const char *names[DW_V_COUNT];
    size_t n = dw_violation_names(UINT32_MAX, names);
    assert_int_equal(n, DW_V_COUNT);
    for (unsigned i = 0; i < DW_V_COUNT; i++) {
        assert_int_equal(dw_violation_index(1u << i), i);
        assert_non_null(names[i]);
        assert_string_equal(names[i], dw_violation_name(1u << i));
        assert_true(strspn(names[i], "abcdefghijklmnopqrstuvwxyz_") == strlen(names[i]));
        for (unsigned k = 0; k < i; k++)
            assert_string_not_equal(names[i], names[k]);
    }
    assert_int_equal(dw_violation_index(0), DW_V_COUNT);
    assert_int_equal(dw_violation_index(DW_V_REBINDING | DW_V_SINKHOLE), DW_V_COUNT);
    assert_int_equal(dw_violation_index(1u << DW_V_COUNT), DW_V_COUNT);

    n = dw_violation_names(DW_V_TTL_EXCEEDED | DW_V_ASN_MISMATCH | DW_V_REBINDING, names);
    assert_int_equal(n, 3);
    assert_string_equal(names[0], "asn_mismatch");
    assert_string_equal(names[1], "rebinding");
    assert_string_equal(names[2], "ttl_exceeded");
    assert_int_equal(dw_violation_names(0, names), 0);
}

/* docs/rules.md documents every violation of the table: a row added without its line in
 * the docs fails here. */
static void t_violation_docs(void **state)
{
    (void)state;
    const char *src = getenv("DW_SRC");
    if (!src)
        fail_msg("DW_SRC is not set (run through ctest)");
    char path[4096];
    snprintf(path, sizeof path, "%s/docs/rules.md", src);
    FILE *fp = fopen(path, "r");
    if (!fp)
        fail_msg("cannot read %s", path);
    static char text[1 << 20];
    size_t len = fread(text, 1, sizeof text - 1, fp);
    fclose(fp);
    text[len] = '\0';
    for (unsigned i = 0; i < DW_V_COUNT; i++) {
        char quoted[64];
        snprintf(quoted, sizeof quoted, "`%s`", dw_violation_name(1u << i));
        if (!strstr(text, quoted))
            fail_msg("docs/rules.md does not document violation %s", quoted);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_asn_mismatch),    cmocka_unit_test(t_asn_unknown),
        cmocka_unit_test(t_prefix_mismatch), cmocka_unit_test(t_asn_or_prefix),
        cmocka_unit_test(t_cname),           cmocka_unit_test(t_chain_name_matches),
        cmocka_unit_test(t_except),          cmocka_unit_test(t_resolver),
        cmocka_unit_test(t_rebinding_ranges), cmocka_unit_test(t_rebinding_allow),
        cmocka_unit_test(t_sinkhole_modes),  cmocka_unit_test(t_ttl),
        cmocka_unit_test(t_dnssec),          cmocka_unit_test(t_exceptions),
        cmocka_unit_test(t_nxdomain),        cmocka_unit_test(t_cname_loop),
        cmocka_unit_test(t_long_chain),      cmocka_unit_test(t_evidence_cap),
        cmocka_unit_test(t_no_rules),        cmocka_unit_test(t_many_names),
        cmocka_unit_test(t_owners),
        cmocka_unit_test(t_bailiwick_attacks), cmocka_unit_test(t_bailiwick_benign),
        cmocka_unit_test(t_fragment_conflict), cmocka_unit_test(t_resolver_sample),
        cmocka_unit_test(t_trace),           cmocka_unit_test(t_violation_names),
        cmocka_unit_test(t_violation_table), cmocka_unit_test(t_violation_docs),
    };
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    if (rc == 0 && no_writer)
        return dw_unavailable("perl MaxMind::DB::Writer missing: the ASN tests did not run");
    return rc;
}
