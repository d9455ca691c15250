/* Fuzzes the dnstap input's decoding: Frame Streams framing (fstrm_next, control frames),
 * the Dnstap protobuf (dnstap_decode, protobuf-c over the arena) and the records it makes
 * (dnstap_record_parse, through pkt_parse as the workers call it).
 *
 * The input is read three ways:
 *   1. as a Frame Streams byte stream, with a small frame bound so that oversized frames
 *      are skipped as the listener skips them; every data frame is decoded;
 *   2. whole, as one Dnstap protobuf (reaches the protobuf without the framing);
 *   3. whole, as a record (pkt_parse of PKT_DLT_DNSWATCH).
 * Each frame is copied into an allocation of its exact size so that a read past it is
 * caught; a record's pkt_info must point inside the record. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "decoders/dnstap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile uint8_t sink;

static void check_record(const uint8_t *rec, size_t len)
{
    static dw_counters c;
    pkt_info pi;
    pkt_frag frag;
    memset(&pi, 0, sizeof pi);
    if (pkt_parse(PKT_DLT_DNSWATCH, rec, len, &pi, &frag, &c) != PKT_OK)
        return;
    const uint8_t *end = rec + len;
    if (pi.payload < rec || pi.payload + pi.payload_len > end)
        abort();
    if (pi.dnstap.type) {
        if (pi.dnstap.identity + pi.dnstap.identity_len > end ||
            pi.dnstap.version + pi.dnstap.version_len > end ||
            pi.dnstap.query_zone + pi.dnstap.query_zone_len > end || pi.payload_len == 0)
            abort();
        if (!dnstap_type_name(pi.dnstap.type))
            abort();
    }
    uint8_t x = 0;
    for (size_t i = 0; i < pi.payload_len; i++)
        x ^= pi.payload[i];
    sink = x;
}

static void decode(dnstap_decoder *d, uint8_t *rec, const uint8_t *pb, size_t len)
{
    static dw_counters c;
    uint8_t *copy = malloc(len ? len : 1);
    if (!copy)
        return;
    if (len)
        memcpy(copy, pb, len);
    uint64_t ts = 0;
    size_t n = dnstap_decode(d, copy, len, 1, rec, DNSTAP_RECORD_MAX, &ts, &c);
    free(copy);
    if (n > DNSTAP_RECORD_MAX)
        abort();
    if (n) {
        uint8_t *r = malloc(n);
        if (!r)
            return;
        memcpy(r, rec, n);
        check_record(r, n);
        free(r);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static dnstap_decoder *d;
    static uint8_t *rec;
    if (!d) {
        d = dnstap_decoder_new();
        rec = malloc(DNSTAP_RECORD_MAX);
        if (!d || !rec)
            abort();
    }
    /* 1. a stream */
    size_t off = 0, skip = 0;
    while (off < size) {
        if (skip) {
            size_t k = size - off < skip ? size - off : skip;
            off += k;
            skip -= k;
            continue;
        }
        fstrm_item it;
        fstrm_next(data + off, size - off, 4096, &it);
        if (it.kind == FSTRM_NEED_MORE || it.kind == FSTRM_BAD)
            break;
        if (it.used == 0 || it.used > size - off)
            abort();
        if (it.kind == FSTRM_TOO_LARGE)
            skip = it.len;
        else if (it.kind == FSTRM_DATA)
            decode(d, rec, it.data, it.len);
        else if (it.ctl.type < FSTRM_ACCEPT || it.ctl.type > FSTRM_FINISH)
            abort();
        off += it.used;
    }
    /* 2. one protobuf */
    decode(d, rec, data, size);
    /* 3. one record */
    uint8_t *copy = malloc(size ? size : 1);
    if (copy) {
        if (size)
            memcpy(copy, data, size);
        check_record(copy, size);
        free(copy);
    }
    return 0;
}
