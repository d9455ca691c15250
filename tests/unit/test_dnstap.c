/* dnstap decoding: Frame Streams frames (fstrm_next, control frames), Dnstap protobufs to
 * records (dnstap_decode) and records back to pkt_info (pkt_parse of PKT_DLT_DNSWATCH),
 * and the decoder handing a record's DNS message on whatever its port and transport. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "decoders/decode.h"
#include "decoders/dnstap.h"
#include "decoders/dnstap.pb-c.h"
#include "tests/lib/dnsbuild.h"

static uint8_t pb[1 << 16], rec[DNSTAP_RECORD_MAX];

/* ---- Frame Streams ---- */

static size_t ctl(uint8_t *out, uint32_t type, const char *ct)
{
    dnsb b;
    b.n = 0;
    dnsb_u32(&b, 0);
    dnsb_u32(&b, (uint32_t)(4 + (ct ? 8 + strlen(ct) : 0)));
    dnsb_u32(&b, type);
    if (ct) {
        dnsb_u32(&b, 1);
        dnsb_u32(&b, (uint32_t)strlen(ct));
        dnsb_bytes(&b, ct, strlen(ct));
    }
    memcpy(out, b.b, b.n);
    return b.n;
}

static void test_fstrm_frames(void **state)
{
    (void)state;
    uint8_t buf[256];
    fstrm_item it;
    size_t n = ctl(buf, FSTRM_READY, FSTRM_CONTENT_TYPE);
    for (size_t k = 0; k < n; k++) { /* every cut short: wait for more */
        fstrm_next(buf, k, 1000, &it);
        assert_int_equal(it.kind, FSTRM_NEED_MORE);
    }
    fstrm_next(buf, n, 1000, &it);
    assert_int_equal(it.kind, FSTRM_CONTROL);
    assert_int_equal(it.used, n);
    assert_int_equal(it.ctl.type, FSTRM_READY);
    assert_true(it.ctl.dnstap);

    n = ctl(buf, FSTRM_START, "protobuf:other");
    fstrm_next(buf, n, 1000, &it);
    assert_int_equal(it.kind, FSTRM_CONTROL);
    assert_int_equal(it.ctl.n_content_types, 1);
    assert_false(it.ctl.dnstap);

    n = ctl(buf, 9, NULL); /* no such control type */
    fstrm_next(buf, n, 1000, &it);
    assert_int_equal(it.kind, FSTRM_BAD);

    /* A field whose length runs past the control frame. */
    n = ctl(buf, FSTRM_START, FSTRM_CONTENT_TYPE);
    buf[19] = 200;
    fstrm_next(buf, n, 1000, &it);
    assert_int_equal(it.kind, FSTRM_BAD);

    /* A control frame over the bound. */
    uint8_t big[8] = {0, 0, 0, 0, 0, 0, 2, 1};
    fstrm_next(big, sizeof big, 1000, &it);
    assert_int_equal(it.kind, FSTRM_BAD);

    /* Data: whole, and over the bound (skipped by its length). */
    uint8_t d[10] = {0, 0, 0, 6, 1, 2, 3, 4, 5, 6};
    fstrm_next(d, sizeof d, 1000, &it);
    assert_int_equal(it.kind, FSTRM_DATA);
    assert_int_equal(it.len, 6);
    assert_ptr_equal(it.data, d + 4);
    fstrm_next(d, sizeof d, 5, &it);
    assert_int_equal(it.kind, FSTRM_TOO_LARGE);
    assert_int_equal(it.len, 6);
    assert_int_equal(it.used, 4);

    /* What the listener answers READY with parses back as ACCEPT with our type. */
    n = fstrm_control_build(FSTRM_ACCEPT, true, buf, sizeof buf);
    assert_true(n > 8);
    fstrm_next(buf, n, 1000, &it);
    assert_int_equal(it.kind, FSTRM_CONTROL);
    assert_int_equal(it.ctl.type, FSTRM_ACCEPT);
    assert_true(it.ctl.dnstap);
    assert_int_equal(fstrm_control_build(FSTRM_FINISH, false, buf, 11), 0);
}

/* ---- Dnstap protobufs ---- */

typedef struct fixture {
    Dnstap__Dnstap d;
    Dnstap__Message m;
    uint8_t qa[16], ra[16];
    dnsb q, r;
} fixture;

static fixture F;

/* A RESOLVER_RESPONSE from 198.51.100.53:53 to the resolver 192.0.2.1:33333. */
static void fixture_reset(int type)
{
    memset(&F, 0, sizeof F);
    F.d = (Dnstap__Dnstap)DNSTAP__DNSTAP__INIT;
    F.m = (Dnstap__Message)DNSTAP__MESSAGE__INIT;
    F.d.message = &F.m;
    F.m.type = type;
    F.m.has_socket_family = F.m.has_socket_protocol = 1;
    F.m.socket_family = DNSTAP__SOCKET_FAMILY__INET;
    F.m.socket_protocol = DNSTAP__SOCKET_PROTOCOL__UDP;
    memcpy(F.qa, (uint8_t[]){192, 0, 2, 1}, 4);
    memcpy(F.ra, (uint8_t[]){198, 51, 100, 53}, 4);
    F.m.has_query_address = F.m.has_response_address = 1;
    F.m.query_address = (ProtobufCBinaryData){4, F.qa};
    F.m.response_address = (ProtobufCBinaryData){4, F.ra};
    F.m.has_query_port = F.m.has_response_port = 1;
    F.m.query_port = 33333;
    F.m.response_port = 53;
    dnsb_start(&F.q, 0x4242, 0x0100, "pypi.org", 1, 0, 0, 0);
    dnsb_start(&F.r, 0x4242, 0x8180, "pypi.org", 1, 1, 0, 0);
    dnsb_rr_addr(&F.r, 12, 60, "151.101.0.223");
    F.m.has_query_message = F.m.has_response_message = 1;
    F.m.query_message = (ProtobufCBinaryData){F.q.n, F.q.b};
    F.m.response_message = (ProtobufCBinaryData){F.r.n, F.r.b};
    F.m.has_query_time_sec = F.m.has_response_time_sec = F.m.has_response_time_nsec = 1;
    F.m.query_time_sec = 1700000000;
    F.m.response_time_sec = 1700000001;
    F.m.response_time_nsec = 5000;
}

static size_t run(dw_counters *c, uint64_t *ts)
{
    dnstap_decoder *d = dnstap_decoder_new();
    assert_non_null(d);
    size_t n = dnstap__dnstap__pack(&F.d, pb);
    memset(c, 0, sizeof *c);
    size_t r = dnstap_decode(d, pb, n, 77, rec, sizeof rec, ts, c);
    dnstap_decoder_free(d);
    return r;
}

static void parse(size_t n, pkt_info *pi)
{
    dw_counters c;
    pkt_frag frag;
    memset(&c, 0, sizeof c);
    assert_int_equal(pkt_parse(PKT_DLT_DNSWATCH, rec, n, pi, &frag, &c), PKT_OK);
}

static void test_response_orientation(void **state)
{
    (void)state;
    dw_counters c;
    uint64_t ts;
    pkt_info pi;
    fixture_reset(DNSTAP__MESSAGE__TYPE__RESOLVER_RESPONSE);
    uint8_t z[64];
    int zr = dnsb_name_from_text("pythonhosted.org", z, sizeof z);
    assert_int_equal(zr, 18);
    size_t zl = (size_t)zr;
    F.m.has_query_zone = 1;
    F.m.query_zone = (ProtobufCBinaryData){zl, z};
    F.d.has_identity = 1;
    F.d.identity = (ProtobufCBinaryData){4, (uint8_t *)"res1"};
    size_t n = run(&c, &ts);
    assert_true(n > 0);
    assert_int_equal(ts, 1700000001ull * 1000000u + 5);
    parse(n, &pi);
    /* A response flows from the responder to the initiator. */
    assert_memory_equal(pi.src, F.ra, 4);
    assert_memory_equal(pi.dst, F.qa, 4);
    assert_int_equal(pi.sport, 53);
    assert_int_equal(pi.dport, 33333);
    assert_int_equal(pi.proto, 17);
    assert_int_equal(pi.ip_version, 4);
    assert_int_equal(pi.dnstap.type, DNSTAP__MESSAGE__TYPE__RESOLVER_RESPONSE);
    assert_int_equal(pi.payload_len, F.r.n);
    assert_memory_equal(pi.payload, F.r.b, F.r.n);
    assert_int_equal(pi.dnstap.query_zone_len, zl);
    assert_memory_equal(pi.dnstap.query_zone, z, zl);
    assert_int_equal(pi.dnstap.identity_len, 4);
    assert_memory_equal(pi.dnstap.identity, "res1", 4);
    assert_int_equal(pi.dnstap.version_len, 0);
    assert_int_equal(c.v[DW_C_DNSTAP_FRAMES], 1);
}

static void test_query_orientation_and_time(void **state)
{
    (void)state;
    dw_counters c;
    uint64_t ts;
    pkt_info pi;
    fixture_reset(DNSTAP__MESSAGE__TYPE__RESOLVER_QUERY);
    F.m.has_query_time_sec = 0; /* no time of its own: the time it arrived */
    size_t n = run(&c, &ts);
    assert_true(n > 0);
    assert_int_equal(ts, 77);
    parse(n, &pi);
    assert_memory_equal(pi.src, F.qa, 4);
    assert_int_equal(pi.sport, 33333);
    assert_int_equal(pi.dport, 53);
    assert_int_equal(pi.payload_len, F.q.n); /* the query message, not the response */
}

static void test_transports(void **state)
{
    (void)state;
    static const struct {
        int sp, http;
        uint8_t proto;
        const char *net;
    } t[] = {
        {DNSTAP__SOCKET_PROTOCOL__UDP, 0, 17, "dns"},
        {DNSTAP__SOCKET_PROTOCOL__TCP, 0, 6, "dns"},
        {DNSTAP__SOCKET_PROTOCOL__DOT, 0, 6, "dot"},
        {DNSTAP__SOCKET_PROTOCOL__DOH, DNSTAP__HTTP_PROTOCOL__HTTP2, 6, "doh"},
        {DNSTAP__SOCKET_PROTOCOL__DOH, DNSTAP__HTTP_PROTOCOL__HTTP3, 17, "doh"},
        {DNSTAP__SOCKET_PROTOCOL__DNSCryptUDP, 0, 17, "dnscrypt"},
        {DNSTAP__SOCKET_PROTOCOL__DNSCryptTCP, 0, 6, "dnscrypt"},
        {DNSTAP__SOCKET_PROTOCOL__DOQ, 0, 17, "doq"},
    };
    for (size_t i = 0; i < sizeof t / sizeof *t; i++) {
        dw_counters c;
        uint64_t ts;
        pkt_info pi;
        fixture_reset(DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE);
        F.m.socket_protocol = t[i].sp;
        F.m.has_http_protocol = t[i].http != 0;
        F.m.http_protocol = t[i].http;
        size_t n = run(&c, &ts);
        assert_true(n > 0);
        parse(n, &pi);
        assert_int_equal(pi.proto, t[i].proto);
        assert_int_equal(pi.dnstap.socket_protocol, t[i].sp);
        assert_string_equal(dnstap_network_protocol(pi.dnstap.socket_protocol), t[i].net);
        assert_non_null(dnstap_protocol_name(pi.dnstap.socket_protocol));
    }
    for (uint8_t ty = 1; ty <= 14; ty++)
        assert_non_null(dnstap_type_name(ty));
    assert_null(dnstap_type_name(15));
}

static void test_malformed_counted(void **state)
{
    (void)state;
    dw_counters c;
    uint64_t ts;
    /* A 16-byte address in an INET message. */
    fixture_reset(DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE);
    uint8_t a16[16] = {0x20, 0x01, 0x0d, 0xb8};
    F.m.query_address = (ProtobufCBinaryData){16, a16};
    assert_int_equal(run(&c, &ts), 0);
    assert_int_equal(c.v[DW_C_DNSTAP_BAD_ADDRESS], 1);
    /* Two addresses of different families. */
    fixture_reset(DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE);
    F.m.has_socket_family = 0;
    F.m.query_address = (ProtobufCBinaryData){16, a16};
    assert_int_equal(run(&c, &ts), 0);
    assert_int_equal(c.v[DW_C_DNSTAP_BAD_ADDRESS], 1);
    /* A port beyond 16 bits. */
    fixture_reset(DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE);
    F.m.query_port = 70000;
    assert_int_equal(run(&c, &ts), 0);
    assert_int_equal(c.v[DW_C_DNSTAP_BAD_ADDRESS], 1);
    /* A message type the schema does not have. */
    fixture_reset(15);
    assert_int_equal(run(&c, &ts), 0);
    assert_int_equal(c.v[DW_C_DNSTAP_BAD_TYPE], 1);
    /* A response without its response message. */
    fixture_reset(DNSTAP__MESSAGE__TYPE__AUTH_RESPONSE);
    F.m.has_response_message = 0;
    assert_int_equal(run(&c, &ts), 0);
    assert_int_equal(c.v[DW_C_DNSTAP_NO_DNS], 1);
    /* A query zone that is not a name: left out, the message still judged. */
    fixture_reset(DNSTAP__MESSAGE__TYPE__RESOLVER_RESPONSE);
    uint8_t badzone[] = {5, 'a', 'b', 0};
    F.m.has_query_zone = 1;
    F.m.query_zone = (ProtobufCBinaryData){sizeof badzone, badzone};
    size_t n = run(&c, &ts);
    assert_true(n > 0);
    assert_int_equal(c.v[DW_C_DNSTAP_BAD_ZONE], 1);
    pkt_info pi;
    parse(n, &pi);
    assert_int_equal(pi.dnstap.query_zone_len, 0);
    /* An identity over 255 bytes: cut, counted. */
    fixture_reset(DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE);
    static uint8_t longid[300];
    memset(longid, 'x', sizeof longid);
    F.d.has_identity = 1;
    F.d.identity = (ProtobufCBinaryData){sizeof longid, longid};
    n = run(&c, &ts);
    assert_true(n > 0);
    assert_int_equal(c.v[DW_C_DNSTAP_TEXT_CUT], 1);
    parse(n, &pi);
    assert_int_equal(pi.dnstap.identity_len, 255);
    /* Not a protobuf at all. */
    dnstap_decoder *d = dnstap_decoder_new();
    memset(&c, 0, sizeof c);
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0x0f};
    assert_int_equal(dnstap_decode(d, junk, sizeof junk, 1, rec, sizeof rec, &ts, &c), 0);
    assert_int_equal(c.v[DW_C_DNSTAP_BAD_PROTOBUF], 1);
    /* A record buffer too small: counted, nothing written past it. */
    fixture_reset(DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE);
    size_t pn = dnstap__dnstap__pack(&F.d, pb);
    memset(&c, 0, sizeof c);
    assert_int_equal(dnstap_decode(d, pb, pn, 1, rec, 50, &ts, &c), 0);
    assert_int_equal(c.v[DW_C_DNSTAP_TOO_LARGE], 1);
    dnstap_decoder_free(d);
}

static void test_records(void **state)
{
    (void)state;
    dw_counters c;
    pkt_info pi;
    pkt_frag frag;
    memset(&c, 0, sizeof c);
    /* The pseudo link type is ours alone: no capture file may claim it. */
    assert_false(pkt_dlt_supported(PKT_DLT_DNSWATCH));
    /* A wrapped raw IPv4 frame reads as the frame. */
    dnsb msg, l4, ip;
    dnsb_start(&msg, 7, 0x8180, "pypi.org", 1, 0, 0, 0);
    dnsb_ep s = dnsb_endpoint("192.0.2.53", 53), d = dnsb_endpoint("192.0.2.9", 4444);
    dnsb_udp(&l4, &s, &d, msg.b, msg.n);
    ip.n = 0;
    dnsb_ip4_hdr(&ip, &s, &d, 17, l4.n, 1, 0, false);
    dnsb_bytes(&ip, l4.b, l4.n);
    size_t n = dnstap_wrap_frame(PKT_DLT_RAW, ip.b, ip.n, rec, sizeof rec);
    assert_int_equal(n, ip.n + 5);
    assert_int_equal(pkt_parse(PKT_DLT_DNSWATCH, rec, n, &pi, &frag, &c), PKT_OK);
    assert_int_equal(pi.sport, 53);
    assert_int_equal(pi.dnstap.type, 0);
    /* A wrapped record of our own type, or of an unknown one, is refused. */
    n = dnstap_wrap_frame(PKT_DLT_DNSWATCH, ip.b, ip.n, rec, sizeof rec);
    assert_int_equal(pkt_parse(PKT_DLT_DNSWATCH, rec, n, &pi, &frag, &c), PKT_SKIP);
    n = dnstap_wrap_frame(4242, ip.b, ip.n, rec, sizeof rec);
    assert_int_equal(pkt_parse(PKT_DLT_DNSWATCH, rec, n, &pi, &frag, &c), PKT_SKIP);
    assert_int_equal(c.v[DW_C_DNSTAP_RECORD_BAD], 2);
    /* A dnstap record cut anywhere is refused. */
    dw_counters c2;
    uint64_t ts;
    fixture_reset(DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE);
    n = run(&c2, &ts);
    for (size_t k = 0; k < 46 + 1; k++)
        assert_int_equal(pkt_parse(PKT_DLT_DNSWATCH, rec, k, &pi, &frag, &c), PKT_SKIP);
}

/* The decoder hands a dnstap message on whatever port and transport: a DoT response on
 * port 853 (not a DNS port of the configuration) over TCP, without stream reassembly. */
typedef struct got {
    unsigned n;
    size_t len;
} got;

static void on_dns(void *ctx, const pkt_info *pi, const uint8_t *m, size_t len)
{
    got *g = ctx;
    (void)m;
    assert_int_equal(pi->dnstap.type, DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE);
    g->n++;
    g->len = len;
}

static void test_decoder_delivers(void **state)
{
    (void)state;
    dw_counters c, cc;
    uint64_t ts;
    fixture_reset(DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE);
    F.m.socket_protocol = DNSTAP__SOCKET_PROTOCOL__DOT;
    F.m.response_port = 853;
    size_t n = run(&cc, &ts);
    assert_true(n > 0);
    dw_decoder_config cfg;
    dw_decoder_config_default(&cfg);
    memset(&c, 0, sizeof c);
    dw_decoder *d = dw_decoder_new(&cfg, &c);
    assert_non_null(d);
    got g = {0, 0};
    dw_decoder_packet(d, PKT_DLT_DNSWATCH, ts, rec, n, on_dns, &g);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.len, F.r.n);
    assert_int_equal(c.v[DW_C_NOT_DNS_PORT], 0);
    dw_decoder_free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fstrm_frames),
        cmocka_unit_test(test_response_orientation),
        cmocka_unit_test(test_query_orientation_and_time),
        cmocka_unit_test(test_transports),
        cmocka_unit_test(test_malformed_counted),
        cmocka_unit_test(test_records),
        cmocka_unit_test(test_decoder_delivers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
