/* Writes dnstap captures (Frame Streams files of content type protobuf:dnstap.Dnstap,
 * as fstrm_capture and `dnstap -w` write them) for the tests, the fuzz seeds and the
 * benchmark. Built on libfstrm's file writer and the protobuf-c schema the sensor reads.
 *
 *   gen_dnstap types OUT    every message type and socket protocol, a normal and a
 *                           hijacked answer for pypi.org (tests/dnstap/test_dnstap_file.sh)
 *   gen_dnstap bad OUT      malformed frames around one good message (counted, not judged)
 *   gen_dnstap bench N OUT  N CLIENT_QUERY/CLIENT_RESPONSE pairs, a tenth of them hijacked */
#include <arpa/inet.h>
#include <fstrm.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decoders/dnstap.h"
#include "decoders/dnstap.pb-c.h"
#include "tests/lib/dnsbuild.h"

static struct fstrm_writer *w;
static uint64_t clock_s = 1764763200; /* 2025-12-03 12:00 UTC */

static void open_out(const char *path)
{
    struct fstrm_file_options *fo = fstrm_file_options_init();
    struct fstrm_writer_options *wo = fstrm_writer_options_init();
    fstrm_file_options_set_file_path(fo, path);
    fstrm_writer_options_add_content_type(wo, FSTRM_CONTENT_TYPE, strlen(FSTRM_CONTENT_TYPE));
    w = fstrm_file_writer_init(fo, wo);
    fstrm_file_options_destroy(&fo);
    fstrm_writer_options_destroy(&wo);
    if (!w) {
        fprintf(stderr, "gen_dnstap: cannot write %s\n", path);
        exit(1);
    }
}

static void put_frame(const void *p, size_t n)
{
    if (fstrm_writer_write(w, p, n) != fstrm_res_success) {
        fprintf(stderr, "gen_dnstap: write failed\n");
        exit(1);
    }
}

typedef struct msg {
    int type;               /* Dnstap__Message__Type */
    int proto;              /* SocketProtocol, 0: not stated */
    int http;               /* HttpProtocol, 0: not stated */
    const char *qaddr, *raddr; /* NULL: not stated */
    unsigned qport, rport;
    const char *qname;      /* the question */
    unsigned qtype;
    const char *answer;     /* an address for a response, NULL: no answer */
    unsigned id;
    const char *zone;       /* query_zone, NULL: none */
    const char *identity, *version;
} msg;

static void addr(const char *text, ProtobufCBinaryData *b, uint8_t buf[16], int *fam)
{
    if (inet_pton(AF_INET, text, buf) == 1) {
        b->len = 4;
        *fam = DNSTAP__SOCKET_FAMILY__INET;
    } else if (inet_pton(AF_INET6, text, buf) == 1) {
        b->len = 16;
        *fam = DNSTAP__SOCKET_FAMILY__INET6;
    } else {
        fprintf(stderr, "gen_dnstap: bad address %s\n", text);
        exit(1);
    }
    b->data = buf;
}

static void emit(const msg *m)
{
    static dnsb q, r;
    static uint8_t zone[256], qa[16], ra[16], out[1 << 17];
    bool response = m->type % 2 == 0;
    dnsb_start(&q, m->id, 0x0100, m->qname, m->qtype, 0, 0, 0);
    dnsb_start(&r, m->id, 0x8180, m->qname, m->qtype, m->answer ? 1 : 0, 0, 0);
    if (m->answer)
        dnsb_rr_addr(&r, 12, 300, m->answer);

    Dnstap__Message dm = DNSTAP__MESSAGE__INIT;
    dm.type = m->type;
    int fam = 0;
    if (m->qaddr) {
        dm.has_query_address = 1;
        addr(m->qaddr, &dm.query_address, qa, &fam);
    }
    if (m->raddr) {
        dm.has_response_address = 1;
        addr(m->raddr, &dm.response_address, ra, &fam);
    }
    if (fam) {
        dm.has_socket_family = 1;
        dm.socket_family = fam;
    }
    if (m->proto) {
        dm.has_socket_protocol = 1;
        dm.socket_protocol = m->proto;
    }
    if (m->http) {
        dm.has_http_protocol = 1;
        dm.http_protocol = m->http;
    }
    dm.has_query_port = m->qaddr != NULL;
    dm.query_port = m->qport;
    dm.has_response_port = m->raddr != NULL;
    dm.response_port = m->rport;
    dm.has_query_time_sec = dm.has_query_time_nsec = 1;
    dm.query_time_sec = clock_s;
    dm.query_time_nsec = 1000;
    if (response) {
        dm.has_response_time_sec = dm.has_response_time_nsec = 1;
        dm.response_time_sec = clock_s;
        dm.response_time_nsec = 2000;
        dm.has_response_message = 1;
        dm.response_message = (ProtobufCBinaryData){r.n, r.b};
    } else {
        dm.has_query_message = 1;
        dm.query_message = (ProtobufCBinaryData){q.n, q.b};
    }
    if (m->zone) {
        int zl = dnsb_name_from_text(m->zone, zone, sizeof zone);
        dm.has_query_zone = 1;
        dm.query_zone = (ProtobufCBinaryData){(size_t)zl, zone};
    }
    Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT;
    d.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
    d.message = &dm;
    if (m->identity) {
        d.has_identity = 1;
        d.identity = (ProtobufCBinaryData){strlen(m->identity), (uint8_t *)(uintptr_t)m->identity};
    }
    if (m->version) {
        d.has_version = 1;
        d.version = (ProtobufCBinaryData){strlen(m->version), (uint8_t *)(uintptr_t)m->version};
    }
    size_t n = dnstap__dnstap__pack(&d, out);
    put_frame(out, n);
    clock_s++;
}

/* A CLIENT_QUERY and its CLIENT_RESPONSE between a client and the resolver. */
static void client_pair(const char *client, unsigned cport, const char *resolver, int proto,
                        const char *qname, const char *answer, unsigned id)
{
    msg m = {DNSTAP__MESSAGE__TYPE__CLIENT_QUERY, proto, 0, client, resolver, cport, 53,
             qname, 1, NULL, id, NULL, "resolver-1.example", "unbound 1.17.1"};
    emit(&m);
    m.type = DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE;
    m.answer = answer;
    emit(&m);
}

static void types(void)
{
    /* The resolver's clients: a normal answer, and a hijacked one (private range). */
    client_pair("192.0.2.10", 40001, "192.0.2.1", DNSTAP__SOCKET_PROTOCOL__UDP, "pypi.org",
                "151.101.0.223", 0x1001);
    client_pair("192.0.2.11", 40002, "192.0.2.1", DNSTAP__SOCKET_PROTOCOL__UDP, "pypi.org",
                "10.66.6.6", 0x1002);
    /* What the resolver asked upstream and accepted: a RESOLVER_QUERY/RESPONSE exchange,
     * the answer hijacked, with the zone asked for. */
    msg rq = {DNSTAP__MESSAGE__TYPE__RESOLVER_QUERY, DNSTAP__SOCKET_PROTOCOL__UDP, 0,
              "192.0.2.1", "198.51.100.53", 33333, 53, "files.pythonhosted.org", 1, NULL,
              0x2001, "pythonhosted.org", "resolver-1.example", "unbound 1.17.1"};
    emit(&rq);
    rq.type = DNSTAP__MESSAGE__TYPE__RESOLVER_RESPONSE;
    rq.answer = "10.66.6.7";
    emit(&rq);
    /* Every other response type and socket protocol, IPv6 too, each with a normal answer
     * (no alert) except the DoH and DoQ client responses (hijacked: alerts). */
    static const struct {
        int type, proto, http;
        const char *a, *b, *ans;
    } rest[] = {
        {DNSTAP__MESSAGE__TYPE__AUTH_RESPONSE, DNSTAP__SOCKET_PROTOCOL__TCP, 0, "192.0.2.20",
         "192.0.2.2", "151.101.64.223"},
        {DNSTAP__MESSAGE__TYPE__FORWARDER_RESPONSE, DNSTAP__SOCKET_PROTOCOL__DOT, 0,
         "2001:db8::1", "2001:db8::53", "151.101.128.223"},
        {DNSTAP__MESSAGE__TYPE__STUB_RESPONSE, DNSTAP__SOCKET_PROTOCOL__DNSCryptUDP, 0,
         "192.0.2.30", "192.0.2.1", "151.101.192.223"},
        {DNSTAP__MESSAGE__TYPE__TOOL_RESPONSE, DNSTAP__SOCKET_PROTOCOL__DNSCryptTCP, 0,
         "192.0.2.31", "192.0.2.1", "151.101.0.223"},
        {DNSTAP__MESSAGE__TYPE__UPDATE_RESPONSE, DNSTAP__SOCKET_PROTOCOL__UDP, 0,
         "192.0.2.32", "192.0.2.1", "151.101.0.223"},
        {DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE, DNSTAP__SOCKET_PROTOCOL__DOH,
         DNSTAP__HTTP_PROTOCOL__HTTP2, "2001:db8::10", "2001:db8::1", "192.168.7.7"},
        {DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE, DNSTAP__SOCKET_PROTOCOL__DOQ, 0,
         "2001:db8::11", "2001:db8::1", "172.16.9.9"},
    };
    for (size_t i = 0; i < sizeof rest / sizeof *rest; i++) {
        msg m = {rest[i].type, rest[i].proto, rest[i].http, rest[i].a, rest[i].b,
                 50000 + (unsigned)i, 853, "pypi.org", 1, rest[i].ans, 0x3000 + (unsigned)i,
                 NULL, "resolver-2.example", NULL};
        emit(&m);
    }
}

static void bad(void)
{
    static const uint8_t junk[] = {0xff, 0xff, 0xff, 0x01, 0x02};
    put_frame(junk, sizeof junk); /* not a protobuf */
    uint8_t out[256];
    Dnstap__Dnstap d = DNSTAP__DNSTAP__INIT; /* no message */
    put_frame(out, dnstap__dnstap__pack(&d, out));
    /* A response without its DNS message. */
    Dnstap__Message dm = DNSTAP__MESSAGE__INIT;
    dm.type = DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE;
    d.message = &dm;
    put_frame(out, dnstap__dnstap__pack(&d, out));
    /* A 5-byte address. */
    static uint8_t five[5];
    dm.has_query_address = 1;
    dm.query_address = (ProtobufCBinaryData){5, five};
    dm.has_response_message = 1;
    static const uint8_t hdr[12] = {0x12, 0x34, 0x81, 0x80};
    dm.response_message = (ProtobufCBinaryData){sizeof hdr, (uint8_t *)(uintptr_t)hdr};
    put_frame(out, dnstap__dnstap__pack(&d, out));
    /* And one good hijacked answer: the stream goes on after the bad ones. */
    client_pair("192.0.2.12", 40003, "192.0.2.1", DNSTAP__SOCKET_PROTOCOL__TCP, "pypi.org",
                "10.66.6.8", 0x1003);
}

static void bench(unsigned long n)
{
    static const char *const names[] = {"pypi.org", "files.pythonhosted.org", "github.com",
                                        "registry.npmjs.org", "example.org"};
    char client[32];
    for (unsigned long i = 0; i < n; i++) {
        snprintf(client, sizeof client, "10.1.%lu.%lu", (i >> 8) & 255, i & 255);
        client_pair(client, 1024 + (unsigned)(i % 60000), "10.0.0.53",
                    DNSTAP__SOCKET_PROTOCOL__UDP, names[i % 5],
                    i % 10 == 0 ? "10.66.6.6" : "151.101.0.223", (unsigned)(i & 0xffff));
    }
}

int main(int argc, char **argv)
{
    if (argc == 3 && !strcmp(argv[1], "types")) {
        open_out(argv[2]);
        types();
    } else if (argc == 3 && !strcmp(argv[1], "bad")) {
        open_out(argv[2]);
        bad();
    } else if (argc == 4 && !strcmp(argv[1], "bench")) {
        open_out(argv[3]);
        bench(strtoul(argv[2], NULL, 10));
    } else {
        fprintf(stderr, "usage: gen_dnstap types|bad OUT | gen_dnstap bench N OUT\n");
        return 2;
    }
    if (fstrm_writer_destroy(&w) != fstrm_res_success) {
        fprintf(stderr, "gen_dnstap: close failed\n");
        return 1;
    }
    return 0;
}
