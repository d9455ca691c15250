/* Frame Streams frames and Dnstap protobufs to records (dnstap.h). Frame Streams bytes
 * are read through wire.h; the protobuf through protobuf-c's generated reader, which
 * allocates from the decoder's arena (reset for every frame), never from the heap. */
#include "decoders/dnstap.h"

#include <stdlib.h>
#include <string.h>

#include "decoders/dnstap.pb-c.h"
#include "decoders/wire.h"

/* ---- Frame Streams ------------------------------------------------------------------------ */

#define FSTRM_FIELD_CONTENT_TYPE 1u

int fstrm_control_parse(const uint8_t *p, size_t len, fstrm_control *out)
{
    memset(out, 0, sizeof *out);
    wire_ctx w = wire_init(p, len);
    out->type = wire_u32(&w);
    if (!wire_ok(&w) || out->type < FSTRM_ACCEPT || out->type > FSTRM_FINISH)
        return -1;
    while (wire_ok(&w) && wire_left(&w) > 0) {
        uint32_t field = wire_u32(&w);
        uint32_t flen = wire_u32(&w);
        if (!wire_ok(&w) || flen > wire_left(&w))
            return -1;
        const uint8_t *v = wire_ptr(&w);
        wire_skip(&w, flen);
        if (field != FSTRM_FIELD_CONTENT_TYPE)
            return -1; /* the only field the protocol defines */
        out->n_content_types++;
        if (flen == sizeof FSTRM_CONTENT_TYPE - 1 &&
            memcmp(v, FSTRM_CONTENT_TYPE, sizeof FSTRM_CONTENT_TYPE - 1) == 0)
            out->dnstap = true;
    }
    return wire_ok(&w) ? 0 : -1;
}

void fstrm_next(const uint8_t *buf, size_t avail, size_t max_frame, fstrm_item *it)
{
    memset(it, 0, sizeof *it);
    wire_ctx w = wire_init(buf, avail);
    uint32_t len = wire_u32(&w);
    if (!wire_ok(&w))
        return; /* need more */
    if (len != 0) {
        if (len > max_frame) {
            it->kind = FSTRM_TOO_LARGE;
            it->used = 4;
            it->len = len;
            return;
        }
        if (wire_left(&w) < len)
            return;
        it->kind = FSTRM_DATA;
        it->data = wire_ptr(&w);
        it->len = len;
        it->used = 4 + (size_t)len;
        return;
    }
    uint32_t clen = wire_u32(&w);
    if (!wire_ok(&w))
        return;
    if (clen > FSTRM_CONTROL_MAX || clen < 4) {
        it->kind = FSTRM_BAD;
        return;
    }
    if (wire_left(&w) < clen)
        return;
    it->kind = fstrm_control_parse(wire_ptr(&w), clen, &it->ctl) == 0 ? FSTRM_CONTROL
                                                                       : FSTRM_BAD;
    it->used = 8 + (size_t)clen;
}

static void put32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

size_t fstrm_control_build(uint32_t type, bool content_type, uint8_t *out, size_t cap)
{
    size_t ct = sizeof FSTRM_CONTENT_TYPE - 1;
    size_t body = 4 + (content_type ? 8 + ct : 0);
    if (cap < 8 + body)
        return 0;
    put32(out, 0);
    put32(out + 4, (uint32_t)body);
    put32(out + 8, type);
    if (content_type) {
        put32(out + 12, FSTRM_FIELD_CONTENT_TYPE);
        put32(out + 16, (uint32_t)ct);
        memcpy(out + 20, FSTRM_CONTENT_TYPE, ct);
    }
    return 8 + body;
}

/* ---- the protobuf ------------------------------------------------------------------------- */

/* Bytes fields are copied out of the frame, and unknown fields kept: twice a frame and
 * the structures around it are enough for any frame up to DNSTAP_FRAME_MAX. */
#define ARENA_BYTES (2u * DNSTAP_FRAME_MAX + (64u << 10))

struct dnstap_decoder {
    ProtobufCAllocator alloc;
    uint8_t *arena;
    size_t used;
};

static void *arena_alloc(void *ctx, size_t n)
{
    dnstap_decoder *d = ctx;
    n = (n + 15u) & ~(size_t)15u;
    if (n > ARENA_BYTES - d->used)
        return NULL; /* protobuf-c then fails the unpack: counted as malformed */
    void *p = d->arena + d->used;
    d->used += n;
    return p;
}

static void arena_free(void *ctx, void *p)
{
    (void)ctx;
    (void)p; /* the whole arena is reset before the next frame */
}

dnstap_decoder *dnstap_decoder_new(void)
{
    dnstap_decoder *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->arena = aligned_alloc(16, ARENA_BYTES);
    if (!d->arena) {
        free(d);
        return NULL;
    }
    d->alloc = (ProtobufCAllocator){arena_alloc, arena_free, d};
    return d;
}

void dnstap_decoder_free(dnstap_decoder *d)
{
    if (!d)
        return;
    free(d->arena);
    free(d);
}

/* A wire-format name: labels of at most 63 bytes, 255 in all, ending with the root label
 * exactly at the end; no compression (nothing to point into). */
static bool wirename_ok(const uint8_t *p, size_t len)
{
    if (len == 0 || len > 255)
        return false;
    wire_ctx w = wire_init(p, len);
    for (;;) {
        uint8_t l = wire_u8(&w);
        if (!wire_ok(&w) || l > 63)
            return false;
        if (l == 0)
            return wire_left(&w) == 0;
        wire_skip(&w, l);
    }
}

/* Seconds and nanoseconds to microseconds; false when absent or beyond the year 30000. */
static bool time_us(bool has_s, uint64_t s, bool has_ns, uint32_t ns, uint64_t *out)
{
    if (!has_s || s > 900000000000ull)
        return false;
    *out = s * 1000000u + (has_ns && ns < 1000000000u ? ns / 1000u : 0);
    return true;
}

/* An address field: 4 or 16 bytes, agreeing with the family when it is stated. ver: 4, 6,
 * or 0 while unknown; set here. */
static bool address_ok(const ProtobufCBinaryData *a, bool has, int *ver)
{
    if (!has)
        return true;
    int v = a->len == 4 ? 4 : a->len == 16 ? 6 : 0;
    if (v == 0 || (*ver && *ver != v))
        return false;
    *ver = v;
    return true;
}

static uint8_t transport_of(uint8_t sp, uint8_t http)
{
    switch (sp) {
    case DNSTAP__SOCKET_PROTOCOL__TCP:
    case DNSTAP__SOCKET_PROTOCOL__DOT:
    case DNSTAP__SOCKET_PROTOCOL__DNSCryptTCP:
        return 6;
    case DNSTAP__SOCKET_PROTOCOL__DOH:
        return http == DNSTAP__HTTP_PROTOCOL__HTTP3 ? 17 : 6;
    default:
        return 17; /* UDP, DNSCrypt over UDP, DoQ, or not stated */
    }
}

/* Record layout ('T'), big-endian:
 *   0 'T', 1 message type, 2 socket protocol, 3 http protocol, 4 transport (6/17),
 *   5 IP version (4/6), 6 source port, 8 destination port, 10 source address (16),
 *   26 destination address (16), 42 identity length, 43 version length, 44 query zone
 *   length, 45 reserved, 46 identity, version, query zone, then the DNS message.
 * A wrapped frame ('F'): 0 'F', 1..4 its link type, then the frame. */
#define REC_FIXED 46u

static size_t text_len(const ProtobufCBinaryData *b, bool has, dw_counters *c)
{
    if (!has)
        return 0;
    if (b->len > 255) {
        DW_COUNT(c, DNSTAP_TEXT_CUT);
        return 255;
    }
    return b->len;
}

size_t dnstap_decode(dnstap_decoder *d, const uint8_t *pb, size_t len, uint64_t now_us,
                     uint8_t *out, size_t cap, uint64_t *ts_us, dw_counters *c)
{
    DW_COUNT(c, DNSTAP_FRAMES);
    d->used = 0;
    Dnstap__Dnstap *dt = dnstap__dnstap__unpack(&d->alloc, len, pb);
    if (!dt) {
        DW_COUNT(c, DNSTAP_BAD_PROTOBUF);
        return 0;
    }
    const Dnstap__Message *m = dt->message;
    if (dt->type != DNSTAP__DNSTAP__TYPE__MESSAGE || !m) {
        DW_COUNT(c, DNSTAP_NOT_MESSAGE);
        return 0;
    }
    if (m->type < 1 || m->type > 14) {
        DW_COUNT(c, DNSTAP_BAD_TYPE);
        return 0;
    }
    uint8_t type = (uint8_t)m->type;
    bool response = dnstap_type_is_response(type);
    const ProtobufCBinaryData *dns = response ? &m->response_message : &m->query_message;
    bool has_dns = response ? m->has_response_message : m->has_query_message;
    if (!has_dns || dns->len == 0) {
        DW_COUNT(c, DNSTAP_NO_DNS);
        return 0;
    }

    int ver = 0;
    if (m->has_socket_family)
        ver = m->socket_family == DNSTAP__SOCKET_FAMILY__INET    ? 4
              : m->socket_family == DNSTAP__SOCKET_FAMILY__INET6 ? 6
                                                                 : -1;
    if (ver < 0 || !address_ok(&m->query_address, m->has_query_address, &ver) ||
        !address_ok(&m->response_address, m->has_response_address, &ver) ||
        (m->has_query_port && m->query_port > 65535) ||
        (m->has_response_port && m->response_port > 65535)) {
        DW_COUNT(c, DNSTAP_BAD_ADDRESS);
        return 0;
    }
    if (ver == 0)
        ver = 4; /* no address given at all: shown as 0.0.0.0 */

    size_t id_len = text_len(&dt->identity, dt->has_identity, c);
    size_t ver_len = text_len(&dt->version, dt->has_version, c);
    size_t zone_len = 0;
    if (m->has_query_zone) {
        if (wirename_ok(m->query_zone.data, m->query_zone.len))
            zone_len = m->query_zone.len;
        else
            DW_COUNT(c, DNSTAP_BAD_ZONE);
    }
    size_t total = REC_FIXED + id_len + ver_len + zone_len + dns->len;
    if (total > cap) {
        DW_COUNT(c, DNSTAP_TOO_LARGE);
        return 0;
    }

    uint8_t sp = m->has_socket_protocol && m->socket_protocol >= 1 && m->socket_protocol <= 7
                     ? (uint8_t)m->socket_protocol : 0;
    uint8_t http = m->has_http_protocol && m->http_protocol >= 1 && m->http_protocol <= 3
                       ? (uint8_t)m->http_protocol : 0;
    /* The initiator is the query's source; a response flows the other way. */
    const ProtobufCBinaryData *qa = m->has_query_address ? &m->query_address : NULL;
    const ProtobufCBinaryData *ra = m->has_response_address ? &m->response_address : NULL;
    uint16_t qp = m->has_query_port ? (uint16_t)m->query_port : 0;
    uint16_t rp = m->has_response_port ? (uint16_t)m->response_port : 0;
    const ProtobufCBinaryData *src = response ? ra : qa, *dst = response ? qa : ra;

    memset(out, 0, REC_FIXED);
    out[0] = 'T';
    out[1] = type;
    out[2] = sp;
    out[3] = http;
    out[4] = transport_of(sp, http);
    out[5] = (uint8_t)ver;
    uint16_t sport = response ? rp : qp, dport = response ? qp : rp;
    out[6] = (uint8_t)(sport >> 8);
    out[7] = (uint8_t)sport;
    out[8] = (uint8_t)(dport >> 8);
    out[9] = (uint8_t)dport;
    if (src)
        memcpy(out + 10, src->data, src->len);
    if (dst)
        memcpy(out + 26, dst->data, dst->len);
    out[42] = (uint8_t)id_len;
    out[43] = (uint8_t)ver_len;
    out[44] = (uint8_t)zone_len;
    size_t o = REC_FIXED;
    if (id_len)
        memcpy(out + o, dt->identity.data, id_len);
    o += id_len;
    if (ver_len)
        memcpy(out + o, dt->version.data, ver_len);
    o += ver_len;
    if (zone_len)
        memcpy(out + o, m->query_zone.data, zone_len);
    o += zone_len;
    memcpy(out + o, dns->data, dns->len);

    uint64_t t;
    if (response ? time_us(m->has_response_time_sec, m->response_time_sec,
                           m->has_response_time_nsec, m->response_time_nsec, &t)
                 : time_us(m->has_query_time_sec, m->query_time_sec, m->has_query_time_nsec,
                           m->query_time_nsec, &t))
        *ts_us = t;
    else
        *ts_us = now_us;
    return total;
}

size_t dnstap_wrap_frame(int dlt, const uint8_t *frame, size_t len, uint8_t *out, size_t cap)
{
    if (cap < 5 || len > cap - 5)
        return 0;
    out[0] = 'F';
    put32(out + 1, (uint32_t)dlt);
    if (len)
        memcpy(out + 5, frame, len);
    return 5 + len;
}

enum pkt_result dnstap_record_parse(const uint8_t *data, size_t len, pkt_info *pi,
                                    pkt_frag *frag, dw_counters *c)
{
    wire_ctx w = wire_init(data, len);
    uint8_t kind = wire_u8(&w);
    if (wire_ok(&w) && kind == 'F') {
        uint32_t dlt = wire_u32(&w);
        if (!wire_ok(&w) || dlt == PKT_DLT_DNSWATCH || !pkt_dlt_supported((int)dlt)) {
            DW_COUNT(c, DNSTAP_RECORD_BAD);
            return PKT_SKIP;
        }
        return pkt_parse((int)dlt, wire_ptr(&w), wire_left(&w), pi, frag, c);
    }
    uint8_t type = wire_u8(&w), sp = wire_u8(&w), http = wire_u8(&w);
    uint8_t proto = wire_u8(&w), ver = wire_u8(&w);
    pi->sport = wire_u16(&w);
    pi->dport = wire_u16(&w);
    wire_bytes(&w, pi->src, 16);
    wire_bytes(&w, pi->dst, 16);
    uint8_t id_len = wire_u8(&w), ver_len = wire_u8(&w), zone_len = wire_u8(&w);
    wire_skip(&w, 1);
    const uint8_t *id = wire_ptr(&w);
    wire_skip(&w, id_len);
    const uint8_t *version = wire_ptr(&w);
    wire_skip(&w, ver_len);
    const uint8_t *zone = wire_ptr(&w);
    wire_skip(&w, zone_len);
    if (!wire_ok(&w) || kind != 'T' || type < 1 || type > 14 || (ver != 4 && ver != 6) ||
        (proto != 6 && proto != 17) || wire_left(&w) == 0) {
        DW_COUNT(c, DNSTAP_RECORD_BAD);
        return PKT_SKIP;
    }
    pi->ip_version = ver;
    pi->proto = proto;
    pi->payload = wire_ptr(&w);
    pi->payload_len = wire_left(&w);
    pi->dnstap = (pkt_dnstap){type, sp, http, id_len, ver_len, zone_len, id, version, zone};
    return PKT_OK;
}

/* ---- names --------------------------------------------------------------------------------- */

const char *dnstap_type_name(uint8_t type)
{
    static const char *const names[] = {
        NULL,           "AUTH_QUERY",      "AUTH_RESPONSE",     "RESOLVER_QUERY",
        "RESOLVER_RESPONSE", "CLIENT_QUERY", "CLIENT_RESPONSE", "FORWARDER_QUERY",
        "FORWARDER_RESPONSE", "STUB_QUERY", "STUB_RESPONSE",   "TOOL_QUERY",
        "TOOL_RESPONSE", "UPDATE_QUERY",   "UPDATE_RESPONSE",
    };
    return type < sizeof names / sizeof *names ? names[type] : NULL;
}

const char *dnstap_protocol_name(uint8_t sp)
{
    static const char *const names[] = {NULL, "UDP", "TCP", "DOT", "DOH",
                                        "DNSCryptUDP", "DNSCryptTCP", "DOQ"};
    return sp < sizeof names / sizeof *names ? names[sp] : NULL;
}

const char *dnstap_network_protocol(uint8_t sp)
{
    switch (sp) {
    case DNSTAP__SOCKET_PROTOCOL__DOT:
        return "dot";
    case DNSTAP__SOCKET_PROTOCOL__DOH:
        return "doh";
    case DNSTAP__SOCKET_PROTOCOL__DOQ:
        return "doq";
    case DNSTAP__SOCKET_PROTOCOL__DNSCryptUDP:
    case DNSTAP__SOCKET_PROTOCOL__DNSCryptTCP:
        return "dnscrypt";
    default:
        return "dns";
    }
}
