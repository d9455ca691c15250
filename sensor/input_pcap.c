/* The libpcap inputs: a live interface (-i) and a capture file (-r, "-" for standard
 * input). They share everything but the open and whether dispatch waits with poll(). */
#include "sensor/input.h"

#include <errno.h>
#include <pcap/pcap.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoders/pkt.h"
#include "sensor/capfilter.h"

typedef struct pcap_input {
    dw_input in; /* first: the pipeline's view */
    pcap_t *p;
    int fd;      /* live: polled for readiness; -1 when libpcap waits itself */
} pcap_input;

typedef struct frame_cb {
    dw_frame_fn fn;
    void *ctx;
} frame_cb;

static void on_pcap(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    const frame_cb *cb = (const frame_cb *)(const void *)user; /* our own pointer */
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
    cb->fn(cb->ctx, ts, bytes, h->caplen);
}

static int pcap_in_dispatch(dw_input *in, unsigned max, dw_frame_fn fn, void *ctx)
{
    pcap_input *pi = (pcap_input *)in;
    frame_cb cb = {fn, ctx};
    /* Live: wait for packets with poll() and our own timeout, then read without blocking.
     * libpcap's own wait (TPACKET_V3) can sleep until the next packet on a quiet link,
     * which would hold back output flushes, metric events and reloads. */
    if (pi->fd >= 0) {
        struct pollfd pfd = {pi->fd, POLLIN, 0};
        poll(&pfd, 1, 100); /* EINTR (a signal) is fine: the caller checks its flags */
    }
    int rc = pcap_dispatch(pi->p, (int)max, on_pcap, (u_char *)&cb);
    if (rc == PCAP_ERROR) {
        snprintf(in->err, sizeof in->err, "%s", pcap_geterr(pi->p));
        return DW_INPUT_ERROR;
    }
    if (rc == PCAP_ERROR_BREAK)
        return DW_INPUT_BREAK;
    if (rc == 0 && !in->live)
        return DW_INPUT_EOF; /* a file read returns 0 only at its end */
    return rc < 0 ? DW_INPUT_ERROR : rc;
}

static void pcap_in_break(dw_input *in) { pcap_breakloop(((pcap_input *)in)->p); }

static int pcap_in_stats(dw_input *in, dw_input_stats *out)
{
    struct pcap_stat ps;
    if (pcap_stats(((pcap_input *)in)->p, &ps) != 0)
        return -EIO;
    out->received = ps.ps_recv;
    out->dropped = ps.ps_drop;
    out->if_dropped = ps.ps_ifdrop;
    return 0;
}

static void pcap_in_close(dw_input *in)
{
    pcap_input *pi = (pcap_input *)in;
    if (pi->p)
        pcap_close(pi->p);
    free(pi);
}

static const dw_input_ops live_ops = {pcap_in_dispatch, pcap_in_break, pcap_in_stats,
                                      pcap_in_close, NULL};
/* Statistics are not kept for savefiles. */
static const dw_input_ops file_ops = {pcap_in_dispatch, pcap_in_break, NULL, pcap_in_close,
                                      NULL};

/* A capture file through a 1 MiB stdio buffer: libpcap reads it record by record, and
 * with the default 4 KiB buffer that is a read() every 30 frames (29 000 for a 1M-frame
 * file). "-" is standard input, as for pcap_open_offline. */
static pcap_t *open_file(const char *path, char *err)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!f) {
        snprintf(err, PCAP_ERRBUF_SIZE, "%s: %s", path, strerror(errno));
        return NULL;
    }
    /* glibc ignores the size unless given the buffer. A process reads one file, and the
     * buffer must outlive the stream (pcap_close closes it at exit): a static one. */
    static char buf[1u << 20];
    setvbuf(f, buf, _IOFBF, sizeof buf); /* advisory: the default buffer if it fails */
    pcap_t *p = pcap_fopen_offline(f, err);
    if (!p && f != stdin)
        fclose(f);
    return p;
}

static pcap_t *open_live(const dw_options *o, char *err)
{
    pcap_t *p = pcap_create(o->iface, err);
    if (!p)
        return NULL;
    pcap_set_snaplen(p, (int)o->capture.snaplen);
    pcap_set_promisc(p, o->capture.promisc);
    /* Not immediate mode: the 100 ms buffer timeout also wakes the capture loop on a quiet
     * link, so output is flushed and reloads are seen within that time. */
    pcap_set_timeout(p, (int)o->capture.timeout_ms);
    pcap_set_buffer_size(p, (int)(o->capture.buffer_mb << 20));
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

static int set_filter(pcap_t *p, const char *src, const char *expr, char *err, size_t errlen)
{
    struct bpf_program prog;
    if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) != 0) {
        snprintf(err, errlen, "%s: bad capture filter '%s': %s", src, expr, pcap_geterr(p));
        return -EINVAL;
    }
    int rc = pcap_setfilter(p, &prog);
    pcap_freecode(&prog);
    if (rc != 0) {
        snprintf(err, errlen, "%s: cannot set capture filter: %s", src, pcap_geterr(p));
        return -EINVAL;
    }
    return 0;
}

/* Opens either kind, checks the link type and sets the filter: --filter, or for a live
 * capture the default one, everything the decoder can read on the DNS ports in any VLAN
 * stacking, PPPoE, IPv6 extension headers and tunnels (capfilter.h). */
static int pcap_in_open(const dw_options *o, bool live, dw_input **out, char *err,
                        size_t errlen)
{
    char perr[PCAP_ERRBUF_SIZE] = "";
    int rc = -ENOMEM;
    pcap_input *pi = calloc(1, sizeof *pi);
    if (!pi) {
        snprintf(err, errlen, "out of memory");
        return rc;
    }
    pi->in.ops = live ? &live_ops : &file_ops;
    pi->in.src = live ? o->iface : o->pcap_file;
    pi->in.live = live;
    pi->fd = -1;
    pi->p = live ? open_live(o, perr) : open_file(o->pcap_file, perr);
    if (!pi->p) {
        snprintf(err, errlen, "cannot %s %s: %s", live ? "capture on" : "read", pi->in.src,
                 perr);
        rc = -EIO;
        goto fail;
    }
    pi->in.link_type = pcap_datalink(pi->p);
    if (!pkt_dlt_supported(pi->in.link_type)) {
        const char *name = pcap_datalink_val_to_name(pi->in.link_type);
        snprintf(err, errlen, "%s: link type %d (%s) is not supported", pi->in.src,
                 pi->in.link_type, name ? name : "unknown");
        rc = -EPROTONOSUPPORT;
        goto fail;
    }
    char filter[CAPFILTER_MAX];
    if (!o->bpf && capfilter_default(pi->in.link_type, o->decoder.ports, o->decoder.n_ports,
                                     filter, sizeof filter) != 0) {
        snprintf(err, errlen, "default capture filter too long for %u ports",
                 o->decoder.n_ports);
        rc = -E2BIG;
        goto fail;
    }
    if (o->bpf || live) {
        rc = set_filter(pi->p, pi->in.src, o->bpf ? o->bpf : filter, err, errlen);
        if (rc != 0)
            goto fail;
    }
    if (live && pcap_setnonblock(pi->p, 1, perr) == 0)
        pi->fd = pcap_get_selectable_fd(pi->p);
    *out = &pi->in;
    return 0;
fail:
    pcap_in_close(&pi->in);
    return rc;
}

bool input_pcap_file_wanted(const dw_options *o) { return o->pcap_file != NULL; }
bool input_pcap_live_wanted(const dw_options *o) { return o->iface != NULL; }

int input_pcap_file_open(const dw_options *o, dw_input **out, char *err, size_t errlen)
{
    return pcap_in_open(o, false, out, err, errlen);
}

int input_pcap_live_open(const dw_options *o, dw_input **out, char *err, size_t errlen)
{
    return pcap_in_open(o, true, out, err, errlen);
}
