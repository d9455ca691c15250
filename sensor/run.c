#include "sensor/run.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "decoders/decode.h"
#include "decoders/dns.h"
#include "rules/asn.h"
#include "rules/eval.h"
#include "rules/ruleset.h"
#include "sensor/alert.h"
#include "sensor/event.h"
#include "sensor/publish.h"

/* Default capture filter: DNS on port 53 over UDP and TCP, VLAN-tagged frames included
 * (after "vlan" the filter applies to the tagged payload). */
#define DNS_OR_FRAG "(port 53 or (ip and ip[6:2] & 0x1fff != 0) or (ip6 and ip6[6] == 44))"
/* "vlan" shifts the offsets of everything after it, so the untagged test comes first. */
#define DEFAULT_BPF DNS_OR_FRAG " or (vlan and " DNS_OR_FRAG ")"

static volatile sig_atomic_t stop_requested;
static pcap_t *active_pcap; /* only for the signal handler's pcap_breakloop() */

static void on_stop(int sig)
{
    (void)sig;
    stop_requested = 1;
    if (active_pcap)
        pcap_breakloop(active_pcap);
}

typedef struct run_state {
    const dw_options *o;
    int dlt;
    dw_counters counters;
    dw_decoder *dec;
    event_encoder *enc;
    dns_msg *msg;
    ruleset *rules;       /* NULL: no rules loaded */
    asn_db *asn;          /* NULL: ASN checks off */
    evaluator *eval;
    eval_result *result;
    alerter *alerts;
    uint64_t n_alerts;
    uint64_t next_fold_check_us;
    FILE *out;
    bool write_failed;
    publisher *pub;       /* --output redis */
} run_state;

static void emit(void *ctx, const char *line, size_t len)
{
    run_state *st = ctx;
    if (st->pub) {
        publisher_submit(st->pub, line, len);
        return;
    }
    if (fwrite(line, 1, len, st->out) != len)
        st->write_failed = true;
}

/* One DNS message from the decoder. */
static void on_dns(void *ctx, const pkt_info *pi, const uint8_t *data, size_t len)
{
    run_state *st = ctx;
    dns_msg *m = st->msg;

    if (dns_parse(m, data, len, &st->counters) != 0)
        return;
    DW_COUNT(&st->counters, DNS_MESSAGES);
    if (!(m->flags & DNS_F_QR)) {
        DW_COUNT(&st->counters, DNS_QUERIES);
        if (st->eval)
            evaluator_query(st->eval, pi, m);
        return;
    }
    DW_COUNT(&st->counters, DNS_RESPONSES);

    eval_result *r = st->result;
    bool watched = false;
    if (st->eval) {
        evaluator_response(st->eval, pi, m, r);
        watched = r->watched;
    }
    if (st->o->log == DW_LOG_ALL || (st->o->log == DW_LOG_WATCHED && watched)) {
        size_t n;
        const char *text = event_encode(st->enc, pi, m, NULL, &n);
        if (text)
            emit(st, text, n);
    }
    if (st->eval && r->n_findings)
        st->n_alerts += alerter_emit(st->alerts, st->enc, ruleset_hash(st->rules), pi, m, r,
                                     emit, st);
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    run_state *st = (run_state *)(void *)user; /* our own pointer, handed back by libpcap */
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
    dw_decoder_packet(st->dec, st->dlt, ts, bytes, h->caplen, on_dns, st);
    if (st->alerts && ts >= st->next_fold_check_us) {
        alerter_expire(st->alerts, st->enc, ts, emit, st);
        st->next_fold_check_us = ts + 1000000u;
    }
}

static pcap_t *open_capture(const dw_options *o, char *err)
{
    pcap_t *p;
    if (o->pcap_file) {
        p = pcap_open_offline(o->pcap_file, err);
        if (!p)
            return NULL;
        return p;
    }
    p = pcap_create(o->iface, err);
    if (!p)
        return NULL;
    pcap_set_snaplen(p, 65535);
    pcap_set_promisc(p, 1);
    pcap_set_timeout(p, 100);
    pcap_set_immediate_mode(p, 1);
    pcap_set_buffer_size(p, 32 << 20);
    int rc = pcap_activate(p);
    if (rc < 0) {
        snprintf(err, PCAP_ERRBUF_SIZE, "%s", pcap_geterr(p));
        if (!*err)
            snprintf(err, PCAP_ERRBUF_SIZE, "%s", pcap_statustostr(rc));
        pcap_close(p);
        return NULL;
    }
    return p;
}

static int set_filter(pcap_t *p, const char *src, const char *expr)
{
    struct bpf_program prog;
    if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        fprintf(stderr, "dnswatch: %s: bad capture filter '%s': %s\n", src, expr, pcap_geterr(p));
        return -1;
    }
    int rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        fprintf(stderr, "dnswatch: %s: cannot set capture filter: %s\n", src, pcap_geterr(p));
        return -1;
    }
    return 0;
}

static void print_diag(void *ctx, const ruleset_diag *d)
{
    char line[1024];
    (void)ctx;
    ruleset_diag_format(d, line, sizeof line);
    fprintf(stderr, "%s\n", line);
}

/* Loads the rules and the ASN database. The ASN database is required when a rule
 * expects ASNs, unless the user said --asn-db none: ASN checks are never off silently. */
static int load_rules(run_state *st, const dw_options *o)
{
    if (o->n_rule_paths == 0) {
        if (o->asn_db && strcmp(o->asn_db, "none") != 0)
            fprintf(stderr, "dnswatch: --asn-db given without --rules: no rule will use it\n");
        return 0;
    }
    int rc = ruleset_load(o->rule_paths, o->n_rule_paths, time(NULL), print_diag, NULL, &st->rules);
    if (rc != 0) {
        fprintf(stderr, "dnswatch: rules not loaded (fix the errors above; "
                        "'dnswatch check-rules' lists them without running)\n");
        return -1;
    }
    bool wants_asn = false;
    for (size_t i = 0; i < ruleset_count(st->rules); i++)
        if (ruleset_rule(st->rules, i)->n_asn)
            wants_asn = true;
    if (o->asn_db && strcmp(o->asn_db, "none") == 0) {
        if (wants_asn)
            fprintf(stderr, "dnswatch: --asn-db none: ASN checks are off; prefix, CNAME, "
                            "resolver and rebinding checks still run\n");
    } else if (o->asn_db) {
        char err[512];
        if (asn_db_open(o->asn_db, &st->asn, err, sizeof err) != 0) {
            fprintf(stderr, "dnswatch: %s (or pass --asn-db none to run without ASN checks)\n",
                    err);
            return -1;
        }
    } else if (wants_asn) {
        fprintf(stderr, "dnswatch: the rules expect ASNs but no ASN database was given: pass "
                        "--asn-db FILE.mmdb (GeoLite2-ASN layout), or --asn-db none to run "
                        "without ASN checks\n");
        return -1;
    }
    fprintf(stderr, "dnswatch: %zu rules loaded, ruleset %s%s\n", ruleset_count(st->rules),
            ruleset_hash(st->rules), st->asn ? "" : ", ASN checks off");
    return 0;
}

/* --output redis: a wrong password or a bad URL stops the start; Redis being away does
 * not (the publisher spools and retries). */
static int redis_start(run_state *st, const dw_options *o)
{
    char err[1024];
    int rc = publisher_new(&o->redis, &st->pub, err, sizeof err);
    if (rc < 0) {
        fprintf(stderr, "dnswatch: %s\n", err);
        return -1;
    }
    if (rc > 0)
        fprintf(stderr, "dnswatch: %s\n", err);
    return 0;
}

/* Every event ends in Redis or in the spool before the run ends; says which. */
static void redis_finish(run_state *st, const dw_options *o)
{
    publish_stats ps;
    uint64_t left = publisher_close_stats(st->pub, o->redis_wait_ms, &ps);
    st->pub = NULL;
    if (left)
        fprintf(stderr, "dnswatch: %llu events left in the spool %s, replayed at next start\n",
                (unsigned long long)left, o->redis.spool_dir);
    else
        fprintf(stderr, "dnswatch: all %llu events in Redis\n", (unsigned long long)ps.published);
    fprintf(stderr, "dnswatch: redis: published %llu, spooled %llu, replayed %llu, dropped %llu%s\n",
            (unsigned long long)ps.published, (unsigned long long)ps.spooled,
            (unsigned long long)ps.replayed, (unsigned long long)ps.dropped,
            ps.dropped ? " (spool full)" : "");
}

static void observer_default(char *buf, size_t len)
{
    if (gethostname(buf, len) != 0 || !buf[0])
        snprintf(buf, len, "dnswatch");
    buf[len - 1] = '\0';
}

int run_main(const dw_options *o)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    char host[256];
    const char *src = o->pcap_file ? o->pcap_file : o->iface;
    int status = 1;
    run_state st;
    pcap_t *p = NULL;

    memset(&st, 0, sizeof st);
    st.o = o;
    st.out = stdout;

    if (load_rules(&st, o) != 0)
        goto out;
    if (o->output == DW_OUT_REDIS && redis_start(&st, o) != 0)
        goto out;
    p = open_capture(o, err);
    if (!p) {
        fprintf(stderr, "dnswatch: cannot %s %s: %s\n", o->pcap_file ? "read" : "capture on",
                src, err);
        goto out;
    }
    st.dlt = pcap_datalink(p);
    if (!pkt_dlt_supported(st.dlt)) {
        const char *name = pcap_datalink_val_to_name(st.dlt);
        fprintf(stderr, "dnswatch: %s: link type %d (%s) is not supported\n", src, st.dlt,
                name ? name : "unknown");
        goto out;
    }
    if (o->bpf ? set_filter(p, src, o->bpf) != 0
               : (o->iface && set_filter(p, src, DEFAULT_BPF) != 0))
        goto out;

    observer_default(host, sizeof host);
    event_meta meta = {o->observer_name ? o->observer_name : host, o->iface};
    st.dec = dw_decoder_new(&o->decoder, &st.counters);
    st.enc = event_encoder_new(&meta);
    st.msg = malloc(sizeof *st.msg);
    if (st.rules) {
        track_limits tl = {0, 0};
        st.eval = evaluator_new(st.rules, st.asn, &tl);
        st.result = malloc(sizeof *st.result);
        st.alerts = alerter_new(st.asn, o->fold_seconds * 1000u, 4096);
        if (!st.eval || !st.result || !st.alerts) {
            fprintf(stderr, "dnswatch: out of memory\n");
            goto out;
        }
    }
    if (!st.dec || !st.enc || !st.msg) {
        fprintf(stderr, "dnswatch: out of memory\n");
        goto out;
    }
    static char outbuf[1 << 20];
    setvbuf(stdout, outbuf, _IOFBF, sizeof outbuf);

    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop;
    sigemptyset(&sa.sa_mask);
    active_pcap = p;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);

    int rc = 0;
    while (!stop_requested && !st.write_failed) {
        rc = pcap_dispatch(p, 4096, on_packet, (u_char *)&st);
        if (rc == PCAP_ERROR_BREAK || rc == PCAP_ERROR)
            break;
        if (rc == 0 && o->pcap_file)
            break; /* end of file */
    }
    active_pcap = NULL;
    if (rc != PCAP_ERROR)
        dw_decoder_flush(st.dec, on_dns, &st);
    if (st.alerts)
        alerter_expire(st.alerts, st.enc, UINT64_MAX, emit, &st);
    if (fflush(st.out) != 0)
        st.write_failed = true;
    if (st.pub)
        redis_finish(&st, o);
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "dnswatch: %s: %s\n", src, pcap_geterr(p));
    } else if (st.write_failed) {
        fprintf(stderr, "dnswatch: writing events failed: %s\n", strerror(errno));
    } else {
        status = 0;
    }
    dw_counters_print(&st.counters, stderr);
    if (st.rules)
        fprintf(stderr, "dnswatch: alerts written: %llu\n", (unsigned long long)st.n_alerts);

out:
    if (st.pub)
        redis_finish(&st, o);
    if (p)
        pcap_close(p);
    dw_decoder_free(st.dec);
    event_encoder_free(st.enc);
    free(st.msg);
    alerter_free(st.alerts);
    evaluator_free(st.eval);
    free(st.result);
    ruleset_free(st.rules);
    asn_db_close(st.asn);
    return status;
}
