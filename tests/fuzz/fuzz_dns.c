/* Fuzz harness for the DNS message reader.
 *
 * Parses the input, renders every name and every record's data (fast path and ldns
 * fallback, into a large and a tiny buffer), extracts addresses and SVCB hints, and
 * checks the text invariants: NUL-terminated, printable ASCII, name text maps back to
 * the exact wire name. Then, differentially: when ldns accepts the message (and frames
 * each record where rdlength says), the fast reader must accept it too and agree on the
 * section counts. Any disagreement aborts. musl's view (dns_musl.h) of every input:
 * its records lie inside the message, at most 64, and the addresses it adds are A/AAAA. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "decoders/dns.h"
#include "decoders/dns_musl.h"
#include "decoders/dns_present.h"
#include "tests/lib/dnsbuild.h"
#include "tests/lib/ldns_cmp.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_text(const char *s, int rc, size_t cap)
{
    size_t n = strnlen(s, cap);
    if (n >= cap)
        abort(); /* not terminated */
    if (rc >= 0 && (size_t)rc != n)
        abort();
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            abort();
}

static void check_name(const dns_msg *m, size_t off)
{
    uint8_t wire[DNS_NAME_MAX], back[DNS_NAME_MAX + 1];
    char text[DNS_NAME_TEXT_MAX];
    int wl = dns_name_unpack(m->buf, m->len, off, wire, NULL);
    int tl = dns_name_text(m->buf, m->len, off, text, false);
    if ((wl < 0) != (tl < 0))
        abort();
    if (wl < 0)
        return;
    check_text(text, tl, sizeof text);
    if (dnsb_name_from_text(text, back, sizeof back) != wl ||
        memcmp(back, wire, (size_t)wl) != 0)
        abort();
    if (!dns_wirename_eq(wire, back))
        abort();
    tl = dns_name_text(m->buf, m->len, off, text, true);
    check_text(text, tl, sizeof text);
}

static void hint(void *ctx, int family, const uint8_t *addr)
{
    (void)addr;
    if (family != 4 && family != 6)
        abort();
    ++*(int *)ctx;
}

/* ldns is only asked about messages where it cannot diverge from us on purpose: every
 * record framed by rdlength, and no TSIG (ldns_wire2pkt
 * lowers arcount inside its loop over the additional section when it meets a TSIG, so
 * it skips as many records at the end, and it leaks all TSIGs but the last). */
static void differential(const dns_msg *m, int rc, const uint8_t *data, size_t size)
{
    ldns_pkt *p = NULL;
    unsigned n_opt = 0;

    /* (a name we refuse as a loop is one ldns refuses too: it stops at 65535 jumps,
     * and we refuse only real loops) */
    if (size > 65535)
        return;
    if (rc == 0) {
        if (!ldnscmp_comparable(m))
            return;
        n_opt = ldnscmp_additional_count(m, DNS_T_OPT);
    }
    if (ldns_wire2pkt(&p, data, size) != LDNS_STATUS_OK) {
        ldns_pkt_free(p);
        return;
    }
    if (rc != 0 || (m->problems & (DNS_P_TRUNCATED | DNS_P_BAD_RR)) ||
        m->id != ldns_pkt_id(p) || m->qdcount != ldns_pkt_qdcount(p) ||
        m->n_an != ldns_rr_list_rr_count(ldns_pkt_answer(p)) ||
        m->n_ns != ldns_rr_list_rr_count(ldns_pkt_authority(p)) ||
        m->n_ar - n_opt != ldns_rr_list_rr_count(ldns_pkt_additional(p)))
        abort();
    ldns_pkt_free(p);
}

static void musl_view(const dns_msg *m, int rc, const uint8_t *data, size_t size)
{
    dns_musl_rr v[DNS_MUSL_MAX_RECORDS];
    unsigned n = dns_musl_walk(data, size, v);
    if (n > DNS_MUSL_MAX_RECORDS)
        abort();
    for (unsigned i = 0; i < n; i++)
        if ((size_t)v[i].rdata_off + v[i].rdlen > (size < 65535 ? size : 65535) ||
            (i > 0 && v[i].rdata_off <= v[i - 1].rdata_off))
            abort();
    if (rc != 0)
        return;
    int nh = 0;
    dns_musl_diff d = dns_musl_compare(m, hint, &nh);
    if (d.n_extra != (unsigned)nh || d.n_extra > n || (d.n_extra && !d.differs))
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dns_msg *m;
    static char big[65536 * 4];
    char tiny[24];
    dw_counters c;

    if (!m && !(m = malloc(sizeof *m)))
        return 0;
    memset(&c, 0, sizeof c);
    int rc = dns_parse(m, data, size, &c);
    if (rc == 0) {
        char tb[16];
        if (m->has_question)
            check_name(m, m->qname_off);
        if (m->n_rr != m->n_an + m->n_ns + m->n_ar || m->n_ede > DNS_MAX_EDE)
            abort();
        dns_rcode_name(m->rcode, tb);
        dns_opcode_name(DNS_OPCODE(m->flags), tb);
        for (unsigned i = 0; i < m->n_rr; i++) {
            const dns_rr *rr = &m->rr[i];
            uint8_t addr[16];
            int nh = 0;
            if ((size_t)rr->rdata_off + rr->rdlen > m->len)
                abort();
            check_name(m, rr->name_off);
            int r = dns_rdata_text(m, rr, big, sizeof big);
            check_text(big, r, sizeof big);
            r = dns_rdata_text(m, rr, tiny, sizeof tiny);
            check_text(tiny, r, sizeof tiny);
            int al = dns_rr_addr(m, rr, addr);
            if (al != 0 && (al != rr->rdlen || (al == 4) != (rr->type == DNS_T_A) ||
                            (al == 16) != (rr->type == DNS_T_AAAA)))
                abort();
            r = dns_svcb_hints(m, rr, hint, &nh);
            if (r >= 0 && r != nh)
                abort();
            dns_type_name(rr->type, tb);
            dns_class_name(rr->rclass, tb);
        }
    }
    musl_view(m, rc, data, size);
    differential(m, rc, data, size);
    return 0;
}
