#include "sensor/run.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "decoders/decode.h"
#include "decoders/dns.h"
#include "sensor/event.h"

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
    FILE *out;
    bool write_failed;
} run_state;

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
        return;
    }
    DW_COUNT(&st->counters, DNS_RESPONSES);
    if (st->o->log != DW_LOG_ALL)
        return;
    size_t n;
    const char *text = event_encode(st->enc, pi, m, NULL, &n);
    if (text && fwrite(text, 1, n, st->out) != n)
        st->write_failed = true;
}

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    run_state *st = (run_state *)(void *)user; /* our own pointer, handed back by libpcap */
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
    dw_decoder_packet(st->dec, st->dlt, ts, bytes, h->caplen, on_dns, st);
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
    if (fflush(st.out) != 0)
        st.write_failed = true;
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "dnswatch: %s: %s\n", src, pcap_geterr(p));
    } else if (st.write_failed) {
        fprintf(stderr, "dnswatch: writing events failed: %s\n", strerror(errno));
    } else {
        status = 0;
    }
    dw_counters_print(&st.counters, stderr);

out:
    if (p)
        pcap_close(p);
    dw_decoder_free(st.dec);
    event_encoder_free(st.enc);
    free(st.msg);
    return status;
}
