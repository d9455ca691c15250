/* Helpers for comparing the DNS reader with ldns: see ldns_cmp.h. */
#include "tests/lib/ldns_cmp.h"

bool ldnscmp_frames_like_us(const dns_msg *m)
{
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        ldns_rr *lr = NULL;
        size_t pos = rr->name_off;
        ldns_status st = ldns_wire2rr(&lr, m->buf, m->len, &pos, LDNS_SECTION_ANSWER);
        ldns_rr_free(lr);
        if (st == LDNS_STATUS_OK && pos != (size_t)rr->rdata_off + rr->rdlen)
            return false;
    }
    return true;
}

unsigned ldnscmp_additional_count(const dns_msg *m, uint16_t type)
{
    unsigned n = 0;
    for (unsigned i = m->n_an + m->n_ns; i < m->n_rr; i++)
        n += m->rr[i].type == type;
    return n;
}

bool ldnscmp_comparable(const dns_msg *m)
{
    return ldnscmp_frames_like_us(m) && ldnscmp_additional_count(m, LDNSCMP_T_TSIG) == 0;
}

bool ldnscmp_same_name(const dns_msg *m, size_t off, const ldns_rdf *rdf)
{
    uint8_t w[DNS_NAME_MAX];
    int n = dns_name_unpack(m->buf, m->len, off, w, NULL);
    return n > 0 && ldns_rdf_get_type(rdf) == LDNS_RDF_TYPE_DNAME &&
           (size_t)n == ldns_rdf_size(rdf) && dns_wirename_eq(w, ldns_rdf_data(rdf));
}
