/* Presentation text of record data that the fast reader does not render itself
 * (DNSSEC records, CAA, NAPTR, LOC, ...): ldns builds the record from the message and
 * prints its fields. This allocates, and is only used to render evidence for uncommon
 * types, never on the per-packet path of the common ones. */
#include "decoders/dns_present.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <ldns/ldns.h>

/* Names are printed the way dns_present.c prints them (no trailing dot, same escapes), so one
 * event never mixes two spellings of a name. */
/* 0, or -EINVAL when ldns cannot render the field (the caller falls back to RFC 3597). */
DW_MUST_USE static int append_rdf(ldns_buffer *b, const ldns_rdf *rdf)
{
    if (ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME) {
        char text[DNS_NAME_TEXT_MAX];
        if (dns_wirename_text(ldns_rdf_data(rdf), ldns_rdf_size(rdf), text, false) < 0)
            return -EINVAL;
        return ldns_buffer_printf(b, "%s", text) >= 0 ? 0 : -EINVAL;
    }
    return ldns_rdf2buffer_str(b, rdf) == LDNS_STATUS_OK ? 0 : -EINVAL;
}

int dns_rdata_text_ldns(const dns_msg *m, const dns_rr *rr, char *out, size_t outlen)
{
    ldns_rr *lrr = NULL;
    ldns_buffer *b = NULL;
    size_t pos = rr->name_off;
    int rc = -EINVAL;

    if (outlen == 0)
        return -ENOSPC;
    out[0] = '\0';
    if ((size_t)rr->rdata_off + rr->rdlen > m->len)
        return -EINVAL;
    if (ldns_wire2rr(&lrr, m->buf, m->len, &pos,
                     rr->section == DNS_SEC_ANSWER      ? LDNS_SECTION_ANSWER
                     : rr->section == DNS_SEC_AUTHORITY ? LDNS_SECTION_AUTHORITY
                                                        : LDNS_SECTION_ADDITIONAL) !=
            LDNS_STATUS_OK ||
        pos != (size_t)rr->rdata_off + rr->rdlen)
        goto generic;
    /* ldns reads fields while data lasts: a record cut short has too few of them. */
    const ldns_rr_descriptor *d = ldns_rr_descript(rr->type);
    if (d && ldns_rr_rd_count(lrr) < ldns_rr_descriptor_minimum(d))
        goto generic;
    b = ldns_buffer_new(256);
    if (!b) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 0; i < ldns_rr_rd_count(lrr); i++) {
        if (i > 0 && ldns_buffer_printf(b, " ") < 0)
            goto generic;
        if (append_rdf(b, ldns_rr_rdf(lrr, i)) != 0)
            goto generic;
    }
    if (!ldns_buffer_status_ok(b))
        goto generic;
    {
        /* The text goes into JSON and logs as is: printable ASCII only. ldns leaves tabs
         * inside strings raw; they become \009 like every other control byte. Outside
         * quoted strings, runs of spaces (ldns prints some empty fields and a space after
         * each type of a bitmap) collapse to one and none trails. */
        const uint8_t *s = ldns_buffer_begin(b);
        size_t n = ldns_buffer_position(b), o = 0;
        bool quoted = false, escaped = false;
        rc = 0;
        for (size_t i = 0; i < n && rc == 0; i++) {
            char esc[5];
            size_t k = 1;
            esc[0] = (char)s[i];
            if (!quoted && s[i] == ' ' && (o == 0 || out[o - 1] == ' '))
                continue;
            if (escaped)
                escaped = false;
            else if (s[i] == '\\')
                escaped = true;
            else if (s[i] == '"')
                quoted = !quoted;
            if (s[i] < 0x20 || s[i] > 0x7e)
                k = (size_t)snprintf(esc, sizeof esc, "\\%03u", s[i]);
            if (o + k >= outlen)
                rc = -ENOSPC;
            else
                for (size_t j = 0; j < k; j++)
                    out[o++] = esc[j];
        }
        if (rc == 0 && !quoted)
            while (o > 0 && out[o - 1] == ' ')
                o--;
        out[o] = '\0';
        if (rc == 0)
            rc = (int)o;
    }
    goto out;
generic:
    rc = dns_rdata_generic(m, rr, out, outlen) == -ENOSPC ? -ENOSPC : -EINVAL;
out:
    ldns_buffer_free(b);
    ldns_rr_free(lrr);
    return rc;
}
