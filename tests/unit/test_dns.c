/* Unit tests of the DNS message reader: every malformation class with its counters, the
 * text forms, EDNS, SVCB hints, and the ldns fallback renderer. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decoders/dns.h"
#include "decoders/dns_musl.h"
#include "decoders/dns_present.h"
#include "tests/lib/dnsbuild.h"

static dns_msg *M;
static dw_counters C;
static dnsb B;

static int setup(void **state)
{
    (void)state;
    M = malloc(sizeof *M);
    memset(&C, 0, sizeof C);
    return M ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(M);
    return 0;
}

#define CV(name) (C.v[DW_C_##name])

static uint64_t counters_total(void)
{
    uint64_t t = 0;
    for (unsigned i = 0; i < DW_C__COUNT; i++)
        t += C.v[i];
    return t;
}

static int parse(void)
{
    memset(&C, 0, sizeof C);
    return dns_parse(M, B.b, B.n, &C);
}

static const char *rtext(unsigned i)
{
    static char buf[2048];
    int rc = dns_rdata_text(M, &M->rr[i], buf, sizeof buf);
    assert_true(rc >= 0);
    assert_int_equal((size_t)rc, strlen(buf));
    return buf;
}

static const char *ntext(size_t off)
{
    static char buf[DNS_NAME_TEXT_MAX];
    int rc = dns_name_text(M->buf, M->len, off, buf, false);
    assert_true(rc > 0);
    return buf;
}

/* Question "www.example.org" A IN at offset 12; answers follow. */
static void q_www(unsigned an, unsigned ns, unsigned ar)
{
    dnsb_start(&B, 0x1234, DNS_F_QR | DNS_F_RD | DNS_F_RA, "www.example.org", DNS_T_A, an, ns,
               ar);
}

static void rr_a(unsigned owner_ptr, const uint8_t a[4])
{
    dnsb_ptr(&B, owner_ptr);
    size_t at = dnsb_rr_begin(&B, DNS_T_A, 1, 300);
    dnsb_bytes(&B, a, 4);
    dnsb_rr_end(&B, at);
}

static const uint8_t A1[4] = {192, 0, 2, 1}, A2[4] = {198, 51, 100, 7};

static void test_basic_response(void **state)
{
    (void)state;
    static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
    q_www(4, 0, 0);
    dnsb_ptr(&B, 12); /* www.example.org CNAME edge.cdn.example.net */
    size_t at = dnsb_rr_begin(&B, DNS_T_CNAME, 1, 60);
    size_t cname_target = B.n;
    dnsb_labels(&B, "edge.cdn");
    dnsb_name(&B, "example.net");
    dnsb_rr_end(&B, at);
    rr_a((unsigned)cname_target, A1);
    rr_a((unsigned)cname_target, A2);
    dnsb_ptr(&B, (unsigned)cname_target);
    at = dnsb_rr_begin(&B, DNS_T_AAAA, 1, 3600);
    dnsb_bytes(&B, a6, 16);
    dnsb_rr_end(&B, at);

    assert_int_equal(parse(), 0);
    assert_int_equal(counters_total(), 0);
    assert_int_equal(M->problems, 0);
    assert_int_equal(M->id, 0x1234);
    assert_int_equal(M->flags, DNS_F_QR | DNS_F_RD | DNS_F_RA);
    assert_true(M->has_question);
    assert_int_equal(M->qname_off, 12);
    assert_int_equal(M->qtype, DNS_T_A);
    assert_int_equal(M->qclass, 1);
    assert_string_equal(ntext(M->qname_off), "www.example.org");
    assert_int_equal(M->qname_wlen, 17); /* stored whole: 3www7example3org0 */
    assert_int_equal(M->n_rr, 4);
    assert_int_equal(M->n_an, 4);
    assert_int_equal(M->n_ns + M->n_ar, 0);
    assert_false(M->has_opt);
    assert_int_equal(M->rcode, 0);

    assert_int_equal(M->rr[0].type, DNS_T_CNAME);
    assert_int_equal(M->rr[0].ttl, 60);
    assert_int_equal(M->rr[0].section, DNS_SEC_ANSWER);
    assert_string_equal(rtext(0), "edge.cdn.example.net");
    assert_string_equal(ntext(M->rr[1].name_off), "edge.cdn.example.net");
    assert_string_equal(rtext(1), "192.0.2.1");
    assert_string_equal(rtext(2), "198.51.100.7");
    assert_string_equal(rtext(3), "2001:db8::1");

    uint8_t addr[16];
    assert_int_equal(dns_rr_addr(M, &M->rr[1], addr), 4);
    assert_memory_equal(addr, A1, 4);
    assert_int_equal(dns_rr_addr(M, &M->rr[3], addr), 16);
    assert_memory_equal(addr, a6, 16);
    assert_int_equal(dns_rr_addr(M, &M->rr[0], addr), 0);

    uint8_t w1[DNS_NAME_MAX], w2[DNS_NAME_MAX];
    size_t end = 0;
    assert_int_equal(dns_name_unpack(M->buf, M->len, M->rr[0].name_off, w1, &end), 17);
    assert_int_equal(end, (size_t)M->rr[0].name_off + 2);
    assert_int_equal(dns_name_unpack(M->buf, M->len, 12, w2, &end), 17);
    assert_int_equal(end, 12 + 17);
    assert_true(dns_wirename_eq(w1, w2));
}

static void test_truncated_header(void **state)
{
    (void)state;
    q_www(0, 0, 0);
    for (size_t n = 0; n < DNS_HEADER_LEN; n++) {
        memset(&C, 0, sizeof C);
        assert_int_equal(dns_parse(M, B.b, n, &C), -EINVAL);
        assert_int_equal(CV(DNS_TRUNCATED_HEADER), 1);
        assert_int_equal(counters_total(), 1);
    }
    /* A bare header with no question is usable: counted, not rejected. */
    B.b[5] = 0;
    assert_int_equal(dns_parse(M, B.b, DNS_HEADER_LEN, &C), 0);
    assert_false(M->has_question);
}

/* The consumer API over the header and owners: what worker.c, eval.c, event.c and
 * explain.c used to read from the wire themselves. */
static void test_header_and_owner_api(void **state)
{
    (void)state;
    q_www(3, 0, 0);
    rr_a(12, A1);           /* owner: a bare pointer to the question */
    size_t other = B.n;
    dnsb_name(&B, "www.example.org"); /* the same name spelled out: not "the question" */
    size_t at = dnsb_rr_begin(&B, DNS_T_A, 1, 300);
    dnsb_bytes(&B, A2, 4);
    dnsb_rr_end(&B, at);
    dnsb_ptr(&B, (unsigned)other); /* a pointer, but to the other copy */
    at = dnsb_rr_begin(&B, DNS_T_A, 1, 300);
    dnsb_bytes(&B, A2, 4);
    dnsb_rr_end(&B, at);

    dns_header h;
    assert_int_equal(dns_header_read(B.b, B.n, &h), 0);
    assert_int_equal(h.id, 0x1234);
    assert_int_equal(h.flags, DNS_F_QR | DNS_F_RD | DNS_F_RA);
    assert_int_equal(h.qdcount, 1);
    assert_int_equal(h.ancount, 3);
    assert_int_equal(h.nscount, 0);
    assert_int_equal(h.arcount, 0);
    assert_true(dns_header_is_answer(&h));
    for (size_t n = 0; n < DNS_HEADER_LEN; n++)
        assert_int_equal(dns_header_read(B.b, n, &h), -EINVAL);

    assert_int_equal(parse(), 0);
    assert_int_equal(M->n_an, 3);
    assert_true(dns_rr_owner_is_question(M, &M->rr[0]));
    assert_false(dns_rr_owner_is_question(M, &M->rr[1]));
    assert_false(dns_rr_owner_is_question(M, &M->rr[2]));
    assert_false(dns_msg_name_is_question(M, M->len - 1)); /* one byte left: no pointer */
    assert_false(dns_msg_name_is_question(M, M->len));
    M->has_question = false;
    assert_false(dns_rr_owner_is_question(M, &M->rr[0]));

    /* A query (QR clear, no answers) is not an answer; answers make one whatever QR says. */
    h.flags = DNS_F_RD;
    h.ancount = 0;
    assert_false(dns_header_is_answer(&h));
    h.ancount = 1;
    assert_true(dns_header_is_answer(&h));

    /* The flags with a mnemonic, in header order; Z, opcode and rcode bits are none. */
    static const struct {
        uint16_t bit;
        const char *name;
    } want[] = {{DNS_F_QR, "QR"}, {DNS_F_AA, "AA"}, {DNS_F_TC, "TC"}, {DNS_F_RD, "RD"},
                {DNS_F_RA, "RA"}, {DNS_F_AD, "AD"}, {DNS_F_CD, "CD"}};
    assert_int_equal(DNS_FLAG_COUNT, sizeof want / sizeof *want);
    uint16_t seen = 0;
    for (size_t i = 0; i < DNS_FLAG_COUNT; i++) {
        uint16_t bit = 0;
        assert_string_equal(dns_flag(i, &bit), want[i].name);
        assert_int_equal(bit, want[i].bit);
        seen |= bit;
    }
    assert_int_equal(seen & (DNS_F_Z | 0x780f), 0);
}

static void test_question_truncated(void **state)
{
    (void)state;
    q_www(0, 0, 0);
    B.n -= 1; /* qclass cut */
    assert_int_equal(parse(), -EINVAL);
    assert_int_equal(CV(DNS_BAD_QUESTION), 1);
}

static void test_counts_beyond_data(void **state)
{
    (void)state;
    q_www(3, 2, 1);
    rr_a(12, A1);
    assert_int_equal(parse(), 0);
    assert_int_equal(M->n_an, 1);
    assert_int_equal(M->n_rr, 1);
    assert_true(M->problems & DNS_P_TRUNCATED);
    assert_false(M->problems & DNS_P_TRAILING);
    assert_int_equal(CV(DNS_COUNT_OVERRUN), 1);
    assert_int_equal(counters_total(), 1);
    assert_string_equal(rtext(0), "192.0.2.1");

    /* The fixed fields of the second record cut: a truncated record. */
    q_www(2, 0, 0);
    rr_a(12, A1);
    dnsb_ptr(&B, 12);
    dnsb_u16(&B, DNS_T_A);
    assert_int_equal(parse(), 0);
    assert_int_equal(M->n_an, 1);
    assert_int_equal(CV(DNS_RR_TRUNCATED), 1);
    assert_true(M->problems & DNS_P_TRUNCATED);
}

static void test_rdlen_past_end(void **state)
{
    (void)state;
    q_www(2, 0, 0);
    rr_a(12, A1);
    dnsb_ptr(&B, 12);
    dnsb_rr_begin(&B, DNS_T_A, 1, 300);
    B.b[B.n - 1] = 8; /* rdlength 8, 4 present */
    dnsb_bytes(&B, A2, 4);
    assert_int_equal(parse(), 0);
    assert_int_equal(M->n_an, 1);
    assert_int_equal(CV(DNS_RDLEN_OVERRUN), 1);
    assert_int_equal(counters_total(), 1);
    assert_true(M->problems & DNS_P_TRUNCATED);
}

static void test_pointer_loops(void **state)
{
    (void)state;
    /* Self loop in the second answer's owner: the first answer survives. */
    q_www(2, 0, 0);
    rr_a(12, A1);
    size_t self = B.n;
    dnsb_ptr(&B, (unsigned)self);
    dnsb_rr_begin(&B, DNS_T_A, 1, 1);
    assert_int_equal(parse(), 0);
    assert_int_equal(M->n_an, 1);
    assert_true(M->problems & DNS_P_BAD_RR);
    assert_int_equal(CV(DNS_NAME_LOOP), 1);
    assert_int_equal(counters_total(), 1);
    uint8_t w[DNS_NAME_MAX];
    assert_int_equal(dns_name_unpack(B.b, B.n, self, w, NULL), -ELOOP);
    char t[DNS_NAME_TEXT_MAX];
    assert_int_equal(dns_name_text(B.b, B.n, self, t, false), -ELOOP);

    /* A -> B -> A, through a label: a loop (or a name too long, whichever shows first). */
    q_www(1, 0, 0);
    size_t a = B.n;
    dnsb_u8(&B, 1);
    dnsb_u8(&B, 'x');
    dnsb_ptr(&B, (unsigned)(a + 4));
    dnsb_ptr(&B, (unsigned)a); /* B at a+4 */
    dnsb_rr_begin(&B, DNS_T_A, 1, 1);
    assert_int_equal(parse(), 0);
    assert_int_equal(M->n_an, 0);
    assert_true(M->problems & DNS_P_BAD_RR);
    assert_int_equal(CV(DNS_NAME_LOOP) + CV(DNS_NAME_TOO_LONG), 1);

    /* Pure pointer ping-pong: A -> B -> A. */
    q_www(1, 0, 0);
    a = B.n;
    dnsb_ptr(&B, (unsigned)(a + 2));
    dnsb_ptr(&B, (unsigned)a);
    assert_int_equal(parse(), 0);
    assert_int_equal(M->n_an, 0);
    assert_int_equal(CV(DNS_NAME_LOOP), 1);
    assert_int_equal(dns_name_unpack(B.b, B.n, a, w, NULL), -ELOOP);

    /* A loop in the question makes the message unusable. */
    dnsb_hdr(&B, 1, 0, 1, 0, 0, 0);
    dnsb_ptr(&B, 12);
    dnsb_u16(&B, 1);
    dnsb_u16(&B, 1);
    assert_int_equal(parse(), -EINVAL);
    assert_int_equal(CV(DNS_NAME_LOOP), 1);
    assert_int_equal(CV(DNS_BAD_QUESTION), 1);
}

static void test_forward_pointers(void **state)
{
    (void)state;
    /* The question name is a pointer to a name stored later (in the answer's owner):
     * resolvers accept this, so must we. */
    dnsb_hdr(&B, 7, DNS_F_QR, 1, 1, 0, 0);
    size_t qptr = B.n;
    dnsb_ptr(&B, 0); /* patched below */
    dnsb_u16(&B, DNS_T_A);
    dnsb_u16(&B, 1);
    size_t owner = B.n;
    dnsb_labels(&B, "pypi");
    dnsb_ptr(&B, (unsigned)(owner + 5 + 2 + 10 + 4)); /* forward again: to after the rdata */
    size_t at = dnsb_rr_begin(&B, DNS_T_A, 1, 300);
    dnsb_bytes(&B, A1, 4);
    dnsb_rr_end(&B, at);
    size_t tail = B.n;
    assert_int_equal(tail, owner + 5 + 2 + 10 + 4);
    dnsb_name(&B, "org"); /* trailing bytes that the names use */
    B.b[qptr + 1] = (uint8_t)owner;

    assert_int_equal(parse(), 0);
    assert_true(M->has_question);
    assert_string_equal(ntext(M->qname_off), "pypi.org");
    assert_int_equal(M->qname_wlen, 0); /* a pointer: not stored whole */
    assert_int_equal(M->n_an, 1);
    assert_string_equal(ntext(M->rr[0].name_off), "pypi.org");
    assert_string_equal(rtext(0), "192.0.2.1");
    assert_true(M->problems & DNS_P_TRAILING);
    assert_int_equal(CV(DNS_TRAILING_BYTES), 1);
    assert_int_equal(counters_total(), 1);
}

/* A chain of n pointers ending at "a." */
static size_t chain(unsigned n)
{
    dnsb_hdr(&B, 1, 0, 0, 0, 0, 0);
    size_t target = B.n;
    dnsb_name(&B, "a");
    size_t prev = target;
    for (unsigned i = 0; i < n; i++) {
        size_t here = B.n;
        dnsb_ptr(&B, (unsigned)prev);
        prev = here;
    }
    return prev;
}

/* No small jump limit: glibc follows a chain as long as the bytes it checks stay under
 * the message length (500 pointers and more), musl while its steps stay under half of
 * it (70 and more in its 512-byte buffer). A name at the end of such a chain is the name
 * the victim uses, so the reader takes it too; only a real loop is refused. */
static void test_pointer_chains(void **state)
{
    (void)state;
    uint8_t w[DNS_NAME_MAX];
    static const unsigned lens[] = {64, 65, 70, 500, 5000, 8000};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        size_t start = chain(lens[k]);
        assert_int_equal(dns_name_unpack(B.b, B.n, start, w, NULL), 3);
    }

    /* Through dns_parse: the question is a forward pointer to the head of a chain stored
     * after it, and the answer's owner points into the same chain: both decode. */
    static const unsigned plens[] = {63, 64, 70, 500};
    for (size_t k = 0; k < sizeof plens / sizeof plens[0]; k++) {
        dnsb_hdr(&B, 1, DNS_F_QR, 1, 1, 0, 0);
        size_t q = B.n;
        dnsb_ptr(&B, 0);
        dnsb_u16(&B, DNS_T_A);
        dnsb_u16(&B, 1);
        size_t owner = B.n;
        dnsb_ptr(&B, 0);
        size_t at = dnsb_rr_begin(&B, DNS_T_A, 1, 300);
        dnsb_bytes(&B, A1, 4);
        dnsb_rr_end(&B, at);
        size_t target = B.n;
        dnsb_name(&B, "pypi.org");
        size_t prev = target;
        for (unsigned i = 0; i < plens[k]; i++) {
            size_t here = B.n;
            dnsb_ptr(&B, (unsigned)prev);
            prev = here;
        }
        dnsb_set16(&B, q, 0xc000 | (unsigned)prev);
        dnsb_set16(&B, owner, 0xc000 | (unsigned)prev);
        assert_int_equal(parse(), 0);
        assert_string_equal(ntext(M->qname_off), "pypi.org");
        assert_int_equal(M->n_an, 1);
        assert_string_equal(ntext(M->rr[0].name_off), "pypi.org");
        assert_int_equal(CV(DNS_NAME_LOOP), 0);
        assert_int_equal(M->problems, DNS_P_TRAILING); /* the chain after the record */
    }
}

/* Loops are still refused and counted, however long the way into them: a 500-pointer
 * chain that ends in a 2-pointer cycle, and one that ends in a label-and-pointer cycle. */
static void test_pointer_chain_loops(void **state)
{
    (void)state;
    uint8_t w[DNS_NAME_MAX];
    for (int kind = 0; kind < 2; kind++) {
        dnsb_start(&B, 1, DNS_F_QR, "pypi.org", DNS_T_A, 1, 0, 0);
        size_t owner = B.n;
        dnsb_ptr(&B, 0);
        size_t at = dnsb_rr_begin(&B, DNS_T_A, 1, 300);
        dnsb_bytes(&B, A1, 4);
        dnsb_rr_end(&B, at);
        size_t cyc = B.n;
        if (kind == 0) { /* cyc -> cyc + 2 -> cyc */
            dnsb_ptr(&B, (unsigned)(cyc + 2));
            dnsb_ptr(&B, (unsigned)cyc);
        } else { /* "x" then back to itself */
            dnsb_u8(&B, 1);
            dnsb_u8(&B, 'x');
            dnsb_ptr(&B, (unsigned)cyc);
        }
        size_t prev = cyc;
        for (unsigned i = 0; i < 500; i++) {
            size_t here = B.n;
            dnsb_ptr(&B, (unsigned)prev);
            prev = here;
        }
        dnsb_set16(&B, owner, 0xc000 | (unsigned)prev);
        assert_int_equal(dns_name_unpack(B.b, B.n, prev, w, NULL), -ELOOP);
        char t[DNS_NAME_TEXT_MAX];
        assert_int_equal(dns_name_text(B.b, B.n, prev, t, false), -ELOOP);
        assert_int_equal(parse(), 0);
        assert_true(M->has_question);
        assert_int_equal(M->n_an, 0);
        assert_true(M->problems & DNS_P_BAD_RR);
        assert_int_equal(CV(DNS_NAME_LOOP), 1);
    }

    /* A message that is nothing but a pointer to itself, 64 KiB long: refused at once. */
    dnsb_hdr(&B, 1, DNS_F_QR, 1, 0, 0, 0);
    dnsb_ptr(&B, 12);
    dnsb_u16(&B, 1);
    dnsb_u16(&B, 1);
    while (B.n < 65535)
        dnsb_u8(&B, 0);
    assert_int_equal(dns_name_unpack(B.b, B.n, 12, w, NULL), -ELOOP);
    assert_int_equal(parse(), -EINVAL);
    assert_int_equal(CV(DNS_NAME_LOOP), 1);
}

static void test_bad_label_types(void **state)
{
    (void)state;
    /* 0x40: a 64-byte label. */
    q_www(2, 0, 0);
    rr_a(12, A1);
    dnsb_u8(&B, 64);
    for (int i = 0; i < 64; i++)
        dnsb_u8(&B, 'a');
    dnsb_u8(&B, 0);
    dnsb_rr_begin(&B, DNS_T_A, 1, 1);
    assert_int_equal(parse(), 0);
    assert_int_equal(M->n_an, 1);
    assert_true(M->problems & DNS_P_BAD_RR);
    assert_int_equal(CV(DNS_LABEL_TOO_LONG), 1);
    assert_int_equal(counters_total(), 1);

    /* 0x80: reserved label type, in the question. */
    dnsb_hdr(&B, 1, 0, 1, 0, 0, 0);
    dnsb_u8(&B, 0x81);
    dnsb_u8(&B, 'a');
    dnsb_u8(&B, 0);
    dnsb_u16(&B, 1);
    dnsb_u16(&B, 1);
    assert_int_equal(parse(), -EINVAL);
    assert_int_equal(CV(DNS_BAD_LABEL_TYPE), 1);
    assert_int_equal(CV(DNS_BAD_QUESTION), 1);
    uint8_t w[DNS_NAME_MAX];
    assert_int_equal(dns_name_unpack(B.b, B.n, 12, w, NULL), -EINVAL);

    /* Exactly 63 is fine. */
    dnsb_hdr(&B, 1, 0, 1, 0, 0, 0);
    dnsb_u8(&B, 63);
    for (int i = 0; i < 63; i++)
        dnsb_u8(&B, 'b');
    dnsb_u8(&B, 0);
    dnsb_u16(&B, 1);
    dnsb_u16(&B, 1);
    assert_int_equal(parse(), 0);
    assert_int_equal(dns_name_unpack(B.b, B.n, 12, w, NULL), 65);
}

static void long_name(unsigned total_wire)
{
    /* Labels of 63 and one remainder so that the wire length is total_wire. */
    unsigned left = total_wire - 1;
    while (left > 0) {
        unsigned l = left - 1 > 63 ? 63 : left - 1;
        dnsb_u8(&B, l);
        for (unsigned i = 0; i < l; i++)
            dnsb_u8(&B, 'a' + i % 26);
        left -= l + 1;
    }
    dnsb_u8(&B, 0);
}

static void test_name_too_long(void **state)
{
    (void)state;
    uint8_t w[DNS_NAME_MAX];
    char t[DNS_NAME_TEXT_MAX];
    dnsb_hdr(&B, 1, 0, 1, 0, 0, 0);
    long_name(255);
    dnsb_u16(&B, 1);
    dnsb_u16(&B, 1);
    assert_int_equal(parse(), 0);
    assert_int_equal(dns_name_unpack(B.b, B.n, 12, w, NULL), 255);
    assert_int_equal(dns_name_text(B.b, B.n, 12, t, false), 253);

    dnsb_hdr(&B, 1, 0, 1, 0, 0, 0);
    long_name(256);
    dnsb_u16(&B, 1);
    dnsb_u16(&B, 1);
    assert_int_equal(parse(), -EINVAL);
    assert_int_equal(CV(DNS_NAME_TOO_LONG), 1);
    assert_int_equal(dns_name_unpack(B.b, B.n, 12, w, NULL), -EMSGSIZE);

    /* Too long only through compression: prefix + pointer to a 200-byte name. */
    q_www(1, 0, 0);
    size_t big = B.n;
    long_name(200);
    dnsb_u8(&B, 60);
    for (int i = 0; i < 60; i++)
        dnsb_u8(&B, 'z');
    dnsb_ptr(&B, (unsigned)big); /* 61 + 200 > 255 */
    assert_int_equal(dns_name_unpack(B.b, B.n, big + 200, w, NULL), -EMSGSIZE);
}

static void test_opt_edns(void **state)
{
    (void)state;
    q_www(1, 0, 1);
    rr_a(12, A1);
    dnsb_u8(&B, 0);                                   /* root owner */
    size_t at = dnsb_rr_begin(&B, DNS_T_OPT, 1232, 0x01008000); /* ext rcode 1, v0, DO */
    dnsb_u16(&B, 15); /* EDE: Stale Answer */
    dnsb_u16(&B, 2);
    dnsb_u16(&B, 3);
    dnsb_u16(&B, 10); /* cookie, ignored */
    dnsb_u16(&B, 8);
    dnsb_bytes(&B, "12345678", 8);
    dnsb_u16(&B, 15); /* EDE with text: Blocked */
    dnsb_u16(&B, 7);
    dnsb_u16(&B, 15);
    dnsb_bytes(&B, "hello", 5);
    dnsb_rr_end(&B, at);
    B.b[3] |= 0x0; /* header rcode 0 -> full rcode 16 BADVERS */
    assert_int_equal(parse(), 0);
    assert_int_equal(counters_total(), 0);
    assert_true(M->has_opt);
    assert_true(M->edns_do);
    assert_int_equal(M->edns_version, 0);
    assert_int_equal(M->edns_udp_size, 1232);
    assert_int_equal(M->rcode, 16);
    char nb[16];
    assert_string_equal(dns_rcode_name(M->rcode, nb), "BADVERS");
    assert_int_equal(M->n_ede, 2);
    assert_int_equal(M->ede[0], 3);
    assert_int_equal(M->ede[1], 15);
    assert_int_equal(M->n_ar, 1);
    assert_int_equal(M->rr[1].type, DNS_T_OPT);

    /* Header rcode 3 with extended 0: NXDOMAIN; DO clear; version 1. */
    B.b[3] = (uint8_t)((B.b[3] & 0xf0) | 3);
    size_t ttl_at = at - 4;
    B.b[ttl_at] = 0;
    B.b[ttl_at + 1] = 1;
    B.b[ttl_at + 2] = 0;
    assert_int_equal(parse(), 0);
    assert_int_equal(M->rcode, 3);
    assert_false(M->edns_do);
    assert_int_equal(M->edns_version, 1);

    /* EDE option shorter than its info-code: counted, OPT still used. */
    q_www(0, 0, 1);
    dnsb_u8(&B, 0);
    at = dnsb_rr_begin(&B, DNS_T_OPT, 512, 0);
    dnsb_u16(&B, 15);
    dnsb_u16(&B, 1);
    dnsb_u8(&B, 0);
    dnsb_rr_end(&B, at);
    assert_int_equal(parse(), 0);
    assert_true(M->has_opt);
    assert_int_equal(M->n_ede, 0);
    assert_int_equal(CV(DNS_OPT_BAD), 1);
    assert_true(M->problems & DNS_P_BAD_RDATA);

    /* More EDE options than kept. */
    q_www(0, 0, 1);
    dnsb_u8(&B, 0);
    at = dnsb_rr_begin(&B, DNS_T_OPT, 512, 0);
    for (unsigned i = 0; i < DNS_MAX_EDE + 3; i++) {
        dnsb_u16(&B, 15);
        dnsb_u16(&B, 2);
        dnsb_u16(&B, i);
    }
    dnsb_rr_end(&B, at);
    assert_int_equal(parse(), 0);
    assert_int_equal(M->n_ede, DNS_MAX_EDE);
    assert_int_equal(M->ede[DNS_MAX_EDE - 1], DNS_MAX_EDE - 1);
    assert_int_equal(counters_total(), 0);
}

static void test_opt_misplaced(void **state)
{
    (void)state;
    /* OPT in the answer section: kept as a record, not used for EDNS. */
    q_www(2, 0, 0);
    dnsb_u8(&B, 0);
    size_t at = dnsb_rr_begin(&B, DNS_T_OPT, 4096, 0x0f008000);
    dnsb_rr_end(&B, at);
    rr_a(12, A1);
    assert_int_equal(parse(), 0);
    assert_false(M->has_opt);
    assert_int_equal(M->rcode, 0);
    assert_int_equal(M->n_an, 2);
    assert_true(M->problems & DNS_P_OPT_MISPLACED);
    assert_int_equal(CV(DNS_OPT_MISPLACED), 1);
    assert_int_equal(counters_total(), 1);

    /* Two OPTs in additional: the first one counts. */
    q_www(0, 0, 2);
    dnsb_u8(&B, 0);
    at = dnsb_rr_begin(&B, DNS_T_OPT, 1400, 0);
    dnsb_rr_end(&B, at);
    dnsb_u8(&B, 0);
    at = dnsb_rr_begin(&B, DNS_T_OPT, 512, 0x02008000);
    dnsb_rr_end(&B, at);
    assert_int_equal(parse(), 0);
    assert_true(M->has_opt);
    assert_int_equal(M->edns_udp_size, 1400);
    assert_false(M->edns_do);
    assert_int_equal(M->rcode, 0);
    assert_int_equal(M->n_ar, 2);
    assert_int_equal(CV(DNS_OPT_MISPLACED), 1);
    assert_true(M->problems & DNS_P_OPT_MISPLACED);
}

struct hints {
    unsigned n4, n6;
    uint8_t last4[4], last6[16];
};

static void hint_cb(void *ctx, int family, const uint8_t *addr)
{
    struct hints *h = ctx;
    if (family == 4) {
        h->n4++;
        memcpy(h->last4, addr, 4);
    } else {
        assert_int_equal(family, 6);
        h->n6++;
        memcpy(h->last6, addr, 16);
    }
}

static size_t https_rr(bool bad_hint)
{
    static const uint8_t v6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x53};
    dnsb_start(&B, 9, DNS_F_QR, "example.com", DNS_T_HTTPS, 1, 0, 0);
    dnsb_ptr(&B, 12);
    size_t at = dnsb_rr_begin(&B, DNS_T_HTTPS, 1, 300);
    dnsb_u16(&B, 1);
    dnsb_name(&B, "svc.example.net");
    dnsb_u16(&B, 1); /* alpn h2,h3 */
    dnsb_u16(&B, 6);
    dnsb_u8(&B, 2);
    dnsb_bytes(&B, "h2", 2);
    dnsb_u8(&B, 2);
    dnsb_bytes(&B, "h3", 2);
    dnsb_u16(&B, 3); /* port */
    dnsb_u16(&B, 2);
    dnsb_u16(&B, 8443);
    dnsb_u16(&B, 4); /* ipv4hint x2 */
    dnsb_u16(&B, bad_hint ? 7 : 8);
    dnsb_bytes(&B, A1, 4);
    dnsb_bytes(&B, A2, bad_hint ? 3 : 4);
    dnsb_u16(&B, 5); /* ech */
    dnsb_u16(&B, 4);
    dnsb_bytes(&B, "\x00\x01\x02\x03", 4);
    dnsb_u16(&B, 6); /* ipv6hint */
    dnsb_u16(&B, 16);
    dnsb_bytes(&B, v6, 16);
    dnsb_u16(&B, 65001); /* unknown key */
    dnsb_u16(&B, 3);
    dnsb_bytes(&B, "a\"b", 3);
    dnsb_rr_end(&B, at);
    return at;
}

static void test_svcb(void **state)
{
    (void)state;
    https_rr(false);
    assert_int_equal(parse(), 0);
    assert_int_equal(counters_total(), 0);
    assert_string_equal(rtext(0), "1 svc.example.net alpn=\"h2,h3\" port=8443 "
                                  "ipv4hint=192.0.2.1,198.51.100.7 ech=AAECAw== "
                                  "ipv6hint=2001:db8::53 key65001=\"a\\\"b\"");
    struct hints h = {0};
    assert_int_equal(dns_svcb_hints(M, &M->rr[0], hint_cb, &h), 3);
    assert_int_equal(h.n4, 2);
    assert_int_equal(h.n6, 1);
    assert_memory_equal(h.last4, A2, 4);
    assert_int_equal(h.last6[15], 0x53);

    https_rr(true);
    assert_int_equal(parse(), 0);
    memset(&h, 0, sizeof h);
    assert_int_equal(dns_svcb_hints(M, &M->rr[0], hint_cb, &h), -EINVAL);
    assert_int_equal(h.n4 + h.n6, 0);
    char buf[512];
    assert_true(dns_rdata_text(M, &M->rr[0], buf, sizeof buf) < 0);
    assert_memory_equal(buf, "\\# ", 3);

    /* AliasMode, root target, no params. */
    dnsb_start(&B, 9, DNS_F_QR, "example.com", DNS_T_SVCB, 1, 0, 0);
    dnsb_ptr(&B, 12);
    size_t at = dnsb_rr_begin(&B, DNS_T_SVCB, 1, 300);
    dnsb_u16(&B, 0);
    dnsb_u8(&B, 0);
    dnsb_rr_end(&B, at);
    assert_int_equal(parse(), 0);
    assert_string_equal(rtext(0), "0 .");
    assert_int_equal(dns_svcb_hints(M, &M->rr[0], hint_cb, &h), 0);
    /* Not an SVCB record. */
    q_www(1, 0, 0);
    rr_a(12, A1);
    assert_int_equal(parse(), 0);
    assert_int_equal(dns_svcb_hints(M, &M->rr[0], hint_cb, &h), -EINVAL);
}

static void test_txt(void **state)
{
    (void)state;
    q_www(2, 0, 0);
    dnsb_ptr(&B, 12);
    size_t at = dnsb_rr_begin(&B, DNS_T_TXT, 1, 5);
    dnsb_u8(&B, 9);
    dnsb_bytes(&B, "v=\"x\\y\" z", 9);
    dnsb_u8(&B, 0);
    dnsb_u8(&B, 5);
    dnsb_bytes(&B, "\x01\x7f\xc3\xa9~", 5);
    dnsb_rr_end(&B, at);
    /* A TXT whose last string runs past its rdata: bad data, record kept. */
    dnsb_ptr(&B, 12);
    at = dnsb_rr_begin(&B, DNS_T_TXT, 1, 5);
    dnsb_u8(&B, 4);
    dnsb_bytes(&B, "abc", 3);
    dnsb_rr_end(&B, at);
    assert_int_equal(parse(), 0);
    assert_int_equal(M->n_an, 2);
    assert_string_equal(rtext(0), "\"v=\\\"x\\\\y\\\" z\" \"\" \"\\001\\127\\195\\169~\"");
    assert_int_equal(CV(DNS_RDATA_BAD), 1);
    assert_true(M->problems & DNS_P_BAD_RDATA);
    char buf[64];
    assert_int_equal(dns_rdata_text(M, &M->rr[1], buf, sizeof buf), -EINVAL);
    assert_string_equal(buf, "\\# 4 04616263");
    /* Cut to fit, still NUL-terminated. */
    assert_int_equal(dns_rdata_text(M, &M->rr[0], buf, 8), -ENOSPC);
    assert_int_equal(strlen(buf), 7);
}

static void test_name_text_escapes(void **state)
{
    (void)state;
    static const uint8_t wire[] = {7, 'a', '.', 'b', '\\', '"', 'Z', ' ', 6, 0x01, 0x7f, 0xc3,
                                   0xa9, '/', '*', 3, 'O', 'r', 'G', 0};
    char t[DNS_NAME_TEXT_MAX];
    assert_int_equal(dns_wirename_text(wire, sizeof wire, t, false),
                     (int)strlen("a\\.b\\\\\\034Z\\032.\\001\\127\\195\\169\\047*.OrG"));
    assert_string_equal(t, "a\\.b\\\\\\034Z\\032.\\001\\127\\195\\169\\047*.OrG");
    for (const char *p = t; *p; p++)
        assert_true(*p >= 0x21 && *p <= 0x7e);
    uint8_t back[DNS_NAME_MAX];
    assert_int_equal(dnsb_name_from_text(t, back, sizeof back), (int)sizeof wire);
    assert_memory_equal(back, wire, sizeof wire);

    int wn = dns_wirename_text(wire, sizeof wire, t, true);
    assert_int_equal(wn, (int)strlen(t));
    assert_string_equal(t, "a\\.b\\\\\\034z\\032.\\001\\127\\195\\169\\047*.org");

    static const uint8_t root[] = {0};
    assert_int_equal(dns_wirename_text(root, 1, t, false), 1);
    assert_string_equal(t, ".");
    /* Wire form cut short. */
    assert_int_equal(dns_wirename_text(wire, 5, t, false), -EINVAL);

    /* The same name as an owner inside a message. */
    q_www(1, 0, 0);
    size_t owner = B.n;
    dnsb_bytes(&B, wire, sizeof wire);
    size_t at = dnsb_rr_begin(&B, DNS_T_CNAME, 1, 1);
    dnsb_ptr(&B, (unsigned)owner);
    dnsb_rr_end(&B, at);
    assert_int_equal(parse(), 0);
    assert_string_equal(ntext(owner), "a\\.b\\\\\\034Z\\032.\\001\\127\\195\\169\\047*.OrG");
    assert_string_equal(rtext(0), "a\\.b\\\\\\034Z\\032.\\001\\127\\195\\169\\047*.OrG");
    int tn = dns_name_text(B.b, B.n, owner, t, true); /* (then strlen: order matters) */
    assert_int_equal(tn, (int)strlen(t));
    assert_string_equal(t, "a\\.b\\\\\\034z\\032.\\001\\127\\195\\169\\047*.org");

    /* Worst case fits: 4-char escapes throughout a 255-byte name. */
    uint8_t big[DNS_NAME_MAX];
    size_t n = 0;
    while (n + 64 + 1 <= DNS_NAME_MAX) {
        big[n++] = 63;
        memset(big + n, 0xff, 63);
        n += 63;
    }
    big[n] = (uint8_t)(DNS_NAME_MAX - n - 2);
    n++;
    memset(big + n, 0x00, DNS_NAME_MAX - n - 1);
    n = DNS_NAME_MAX - 1;
    big[n++] = 0;
    int rc = dns_wirename_text(big, n, t, false);
    assert_int_equal(rc, 250 * 4 + 3);
}

static void test_mx_soa_srv_ns(void **state)
{
    (void)state;
    q_www(1, 2, 1);
    dnsb_ptr(&B, 16); /* example.org */
    size_t at = dnsb_rr_begin(&B, DNS_T_MX, 1, 300);
    dnsb_u16(&B, 10);
    dnsb_labels(&B, "mx");
    dnsb_ptr(&B, 16);
    dnsb_rr_end(&B, at);
    dnsb_ptr(&B, 16);
    at = dnsb_rr_begin(&B, DNS_T_SOA, 1, 300);
    dnsb_labels(&B, "ns1");
    dnsb_ptr(&B, 16);
    dnsb_labels(&B, "hostmaster");
    dnsb_ptr(&B, 16);
    dnsb_u32(&B, 2024010101);
    dnsb_u32(&B, 7200);
    dnsb_u32(&B, 3600);
    dnsb_u32(&B, 1209600);
    dnsb_u32(&B, 300);
    dnsb_rr_end(&B, at);
    dnsb_ptr(&B, 16);
    at = dnsb_rr_begin(&B, DNS_T_NS, 1, 300);
    dnsb_u8(&B, 0); /* root as the NS target */
    dnsb_rr_end(&B, at);
    dnsb_name(&B, "_sip._tcp.example.org");
    at = dnsb_rr_begin(&B, DNS_T_SRV, 1, 300);
    dnsb_u16(&B, 10);
    dnsb_u16(&B, 60);
    dnsb_u16(&B, 5060);
    dnsb_name(&B, "sip.example.org");
    dnsb_rr_end(&B, at);
    assert_int_equal(parse(), 0);
    assert_int_equal(counters_total(), 0);
    assert_int_equal(M->n_an, 1);
    assert_int_equal(M->n_ns, 2);
    assert_int_equal(M->n_ar, 1);
    assert_int_equal(M->rr[1].section, DNS_SEC_AUTHORITY);
    assert_int_equal(M->rr[3].section, DNS_SEC_ADDITIONAL);
    assert_string_equal(rtext(0), "10 mx.example.org");
    assert_string_equal(rtext(1),
                        "ns1.example.org hostmaster.example.org 2024010101 7200 3600 1209600 300");
    assert_string_equal(rtext(2), ".");
    assert_string_equal(rtext(3), "10 60 5060 sip.example.org");
}

static void test_bad_rdata_names(void **state)
{
    (void)state;
    /* CNAME whose target loops, then a good A: the A is still decoded. */
    q_www(4, 0, 0);
    dnsb_ptr(&B, 12);
    size_t at = dnsb_rr_begin(&B, DNS_T_CNAME, 1, 1);
    dnsb_ptr(&B, (unsigned)B.n);
    dnsb_rr_end(&B, at);
    /* MX whose name runs past its rdata into the next record. */
    dnsb_ptr(&B, 12);
    at = dnsb_rr_begin(&B, DNS_T_MX, 1, 1);
    dnsb_u16(&B, 5);
    dnsb_u8(&B, 2);
    dnsb_u8(&B, 'm');
    dnsb_rr_end(&B, at);
    rr_a(12, A1);
    /* A with a 3-byte address. */
    dnsb_ptr(&B, 12);
    at = dnsb_rr_begin(&B, DNS_T_A, 1, 1);
    dnsb_bytes(&B, A1, 3);
    dnsb_rr_end(&B, at);
    assert_int_equal(parse(), 0);
    assert_int_equal(M->n_an, 4);
    assert_true(M->problems & DNS_P_BAD_RDATA);
    assert_false(M->problems & (DNS_P_BAD_RR | DNS_P_TRUNCATED));
    assert_int_equal(CV(DNS_RDATA_BAD), 3);
    assert_int_equal(CV(DNS_NAME_LOOP), 1);
    assert_string_equal(rtext(2), "192.0.2.1");
    char buf[128];
    assert_int_equal(dns_rdata_text(M, &M->rr[0], buf, sizeof buf), -EINVAL);
    assert_int_equal(strncmp(buf, "\\# 2 c0", 7), 0);
    assert_int_equal(strlen(buf), 9);
}

static void test_trailing_section_bad(void **state)
{
    (void)state;
    /* Two good answers, then an authority record with a reserved label type. */
    q_www(2, 1, 1);
    rr_a(12, A1);
    rr_a(12, A2);
    dnsb_u8(&B, 0x80);
    dnsb_u8(&B, 0);
    dnsb_rr_begin(&B, DNS_T_NS, 1, 1);
    assert_int_equal(parse(), 0);
    assert_int_equal(M->n_an, 2);
    assert_int_equal(M->n_ns, 0);
    assert_int_equal(M->ancount, 2);
    assert_int_equal(M->nscount, 1);
    assert_true(M->problems & DNS_P_BAD_RR);
    assert_int_equal(CV(DNS_BAD_LABEL_TYPE), 1);
    assert_int_equal(counters_total(), 1);
    uint8_t a[16];
    assert_int_equal(dns_rr_addr(M, &M->rr[1], a), 4);
    assert_memory_equal(a, A2, 4);
}

static void test_qdcount(void **state)
{
    (void)state;
    dnsb_hdr(&B, 1, DNS_F_QR, 0, 1, 0, 0);
    dnsb_name(&B, "a.example");
    size_t at = dnsb_rr_begin(&B, DNS_T_A, 1, 1);
    dnsb_bytes(&B, A1, 4);
    dnsb_rr_end(&B, at);
    assert_int_equal(parse(), 0);
    assert_false(M->has_question);
    assert_int_equal(M->n_an, 1);
    assert_int_equal(CV(DNS_QDCOUNT_NOT_ONE), 1);
    assert_int_equal(counters_total(), 1);

    dnsb_hdr(&B, 1, DNS_F_QR, 2, 1, 0, 0);
    dnsb_name(&B, "first.example");
    dnsb_u16(&B, DNS_T_AAAA);
    dnsb_u16(&B, 1);
    dnsb_name(&B, "second.example");
    dnsb_u16(&B, DNS_T_A);
    dnsb_u16(&B, 1);
    rr_a(12, A1);
    assert_int_equal(parse(), 0);
    assert_true(M->has_question);
    assert_int_equal(M->qtype, DNS_T_AAAA);
    assert_string_equal(ntext(M->qname_off), "first.example");
    assert_int_equal(M->n_an, 1);
    assert_int_equal(CV(DNS_QDCOUNT_NOT_ONE), 1);

    /* The second question cut: the first is kept, nothing after it. */
    dnsb_hdr(&B, 1, DNS_F_QR, 2, 1, 0, 0);
    dnsb_name(&B, "first.example");
    dnsb_u16(&B, DNS_T_A);
    dnsb_u16(&B, 1);
    dnsb_u8(&B, 5);
    assert_int_equal(parse(), 0);
    assert_true(M->has_question);
    assert_int_equal(M->n_rr, 0);
    assert_true(M->problems & DNS_P_TRUNCATED);
    assert_int_equal(CV(DNS_BAD_QUESTION), 1);
}

static void test_ldns_fallback(void **state)
{
    (void)state;
    q_www(4, 0, 0);
    dnsb_ptr(&B, 12);
    size_t at = dnsb_rr_begin(&B, DNS_T_DS, 1, 1);
    dnsb_u16(&B, 12345);
    dnsb_u8(&B, 13);
    dnsb_u8(&B, 2);
    for (int i = 0; i < 32; i++)
        dnsb_u8(&B, i);
    dnsb_rr_end(&B, at);
    dnsb_ptr(&B, 12);
    at = dnsb_rr_begin(&B, 257 /* CAA */, 1, 1);
    dnsb_u8(&B, 0);
    dnsb_u8(&B, 5);
    dnsb_bytes(&B, "issue", 5);
    dnsb_bytes(&B, "ca.example", 10);
    dnsb_rr_end(&B, at);
    dnsb_ptr(&B, 12);
    at = dnsb_rr_begin(&B, DNS_T_NSEC, 1, 1);
    dnsb_name(&B, "a.example.org");
    dnsb_bytes(&B, "\x00\x06\x40\x01\x00\x00\x00\x03", 8);
    dnsb_rr_end(&B, at);
    dnsb_ptr(&B, 12);
    at = dnsb_rr_begin(&B, DNS_T_DS, 1, 1); /* too short for a DS */
    dnsb_u16(&B, 1);
    dnsb_rr_end(&B, at);
    assert_int_equal(parse(), 0);
    assert_string_equal(rtext(0), "12345 13 2 000102030405060708090a0b0c0d0e0f"
                                  "101112131415161718191a1b1c1d1e1f");
    assert_string_equal(rtext(1), "0 issue \"ca.example\"");
    /* ldns' trailing space after the type bitmap is gone. */
    assert_string_equal(rtext(2), "a.example.org A MX RRSIG NSEC");
    char buf[64];
    assert_int_equal(dns_rdata_text(M, &M->rr[3], buf, sizeof buf), -EINVAL);
    assert_string_equal(buf, "\\# 2 0001");
    /* Cut to fit by the ldns path too. */
    assert_int_equal(dns_rdata_text(M, &M->rr[0], buf, 10), -ENOSPC);
    assert_string_equal(buf, "12345 13 ");
    char tb[16];
    assert_string_equal(dns_type_name(M->rr[1].type, tb), "CAA");
}

static void test_mnemonics(void **state)
{
    (void)state;
    char b[16];
    assert_string_equal(dns_type_name(1, b), "A");
    assert_string_equal(dns_type_name(28, b), "AAAA");
    assert_string_equal(dns_type_name(43, b), "DS");
    assert_string_equal(dns_type_name(46, b), "RRSIG");
    assert_string_equal(dns_type_name(47, b), "NSEC");
    assert_string_equal(dns_type_name(48, b), "DNSKEY");
    assert_string_equal(dns_type_name(50, b), "NSEC3");
    assert_string_equal(dns_type_name(41, b), "OPT");
    assert_string_equal(dns_type_name(65, b), "HTTPS");
    assert_string_equal(dns_type_name(65535, b), "TYPE65535");
    assert_string_equal(dns_class_name(1, b), "IN");
    assert_string_equal(dns_class_name(3, b), "CH");
    assert_string_equal(dns_class_name(1232, b), "CLASS1232");
    assert_string_equal(dns_rcode_name(3, b), "NXDOMAIN");
    assert_string_equal(dns_rcode_name(23, b), "BADCOOKIE");
    assert_string_equal(dns_rcode_name(12, b), "RCODE12");
    assert_string_equal(dns_rcode_name(4095, b), "RCODE4095");
    assert_string_equal(dns_opcode_name(0, b), "QUERY");
    assert_string_equal(dns_opcode_name(5, b), "UPDATE");
    assert_string_equal(dns_opcode_name(15, b), "OPCODE15");
}

static void test_wirename_eq(void **state)
{
    (void)state;
    static const uint8_t a[] = {3, 'W', 'w', 'W', 4, 'P', 'y', 'P', 'i', 0};
    static const uint8_t b[] = {3, 'w', 'w', 'w', 4, 'p', 'y', 'p', 'i', 0};
    static const uint8_t c[] = {3, 'w', 'w', 'w', 4, 'p', 'y', 'p', 'j', 0};
    static const uint8_t d[] = {7, 'w', 'w', 'w', 4, 'p', 'y', 'p', 0};
    static const uint8_t e[] = {0x5b, 'w', 'w', 'w', 4, 'p', 'y', 'p', 0}; /* '[' vs '{' */
    static const uint8_t f[] = {0x7b, 'w', 'w', 'w', 4, 'p', 'y', 'p', 0};
    assert_true(dns_wirename_eq(a, b));
    assert_false(dns_wirename_eq(a, c));
    assert_false(dns_wirename_eq(a, d));
    assert_false(dns_wirename_eq(e, f));
}

static void test_huge_and_many(void **state)
{
    (void)state;
    /* The most records a 65535-byte message can hold: all decoded, none dropped. */
    size_t max = 65535;
    dnsb_hdr(&B, 1, DNS_F_QR, 0, 0, 0, 0);
    unsigned n = 0;
    while (B.n + 11 <= max) {
        dnsb_u8(&B, 0);
        dnsb_rr_begin(&B, 99, 1, 0);
        n++;
    }
    dnsb_set16(&B, 6, n); /* ancount */
    assert_int_equal(parse(), 0);
    assert_int_equal(M->n_an, n);
    assert_true(n <= DNS_MAX_RRS);
    assert_int_equal(counters_total(), 1); /* qdcount 0 */
}

static void test_oversized_buffer(void **state)
{
    (void)state;
    /* More than 16-bit offsets can address: the excess is trailing, the rest decodes. */
    size_t n = 70000;
    uint8_t *big = calloc(1, n);
    assert_non_null(big);
    q_www(1, 0, 0);
    rr_a(12, A1);
    memcpy(big, B.b, B.n);
    memset(&C, 0, sizeof C);
    assert_int_equal(dns_parse(M, big, n, &C), 0);
    assert_int_equal(M->len, 65535);
    assert_int_equal(M->n_an, 1);
    assert_true(M->problems & DNS_P_TRAILING);
    assert_int_equal(CV(DNS_TRAILING_BYTES), 1);
    free(big);
}

/* ---- musl's view (dns_musl.h) ---- */

typedef struct musl_seen {
    unsigned n;
    int family[4];
    uint8_t a[4][16];
} musl_seen;

static void musl_addr(void *ctx, int family, const uint8_t *addr)
{
    musl_seen *s = ctx;
    if (s->n < 4) {
        s->family[s->n] = family;
        memcpy(s->a[s->n], addr, family == 6 ? 16 : 4);
    }
    s->n++;
}

/* Walks B.b[0..n) from a heap copy of exactly n bytes, so that ASan sees any read past it. */
static unsigned musl_walk_exact(size_t n, dns_musl_rr out[DNS_MUSL_MAX_RECORDS])
{
    uint8_t *copy = malloc(n ? n : 1);
    assert_non_null(copy);
    memcpy(copy, B.b, n);
    unsigned k = dns_musl_walk(copy, n, out);
    for (unsigned i = 0; i < k; i++)
        assert_true((size_t)out[i].rdata_off + out[i].rdlen <= n);
    free(copy);
    return k;
}

static void test_musl_same_view(void **state)
{
    (void)state;
    dns_musl_rr v[DNS_MUSL_MAX_RECORDS];
    musl_seen s = {0};
    q_www(2, 0, 0);
    rr_a(12, A1);
    rr_a(12, A2);
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
    assert_int_equal(dns_musl_walk(B.b, B.n, v), 2);
    assert_int_equal(v[0].type, DNS_T_A);
    assert_int_equal(v[0].rdata_off, M->rr[0].rdata_off);
    assert_int_equal(v[1].rdata_off, M->rr[1].rdata_off);
    dns_musl_diff d = dns_musl_compare(M, musl_addr, &s);
    assert_false(d.differs);
    assert_int_equal(d.n_extra, 0);
    assert_int_equal(s.n, 0);
}

/* An owner label holding a 0: musl ends the name there and reads the A record hidden
 * after it; its second answer is the parser's first. */
static void test_musl_hidden_in_label(void **state)
{
    (void)state;
    dns_musl_rr v[DNS_MUSL_MAX_RECORDS];
    musl_seen s = {0};
    uint8_t hide[15] = {0, 0, DNS_T_A, 0, 1, 0, 0, 1, 44, 0, 4};
    memcpy(hide + 11, A2, 4);
    q_www(2, 0, 0);
    dnsb_label(&B, hide, sizeof hide);
    rr_a(12, A1);
    rr_a(12, A1);
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
    assert_int_equal(M->n_an, 2);
    assert_int_equal(M->problems, 0);
    assert_int_equal(dns_musl_walk(B.b, B.n, v), 2);
    assert_int_equal(v[1].rdata_off, M->rr[0].rdata_off); /* and never reaches rr[1] */
    dns_musl_diff d = dns_musl_compare(M, musl_addr, &s);
    assert_true(d.differs);
    assert_int_equal(d.n_extra, 1);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.family[0], 4);
    assert_memory_equal(s.a[0], A2, 4);
}

/* musl takes the low byte of the type: a CAA record (257) with 4 bytes is an A to it. */
static void test_musl_low_type_byte(void **state)
{
    (void)state;
    musl_seen s = {0};
    q_www(1, 0, 0);
    dnsb_ptr(&B, 12);
    size_t at = dnsb_rr_begin(&B, 0x0101, 1, 300);
    dnsb_bytes(&B, A2, 4);
    dnsb_rr_end(&B, at);
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
    dns_musl_diff d = dns_musl_compare(M, musl_addr, &s);
    assert_true(d.differs);
    assert_int_equal(d.n_extra, 1);
    assert_memory_equal(s.a[0], A2, 4);
}

/* A reserved label type (0x41: 0b01......) stops the parser; musl steps over the byte. */
static void test_musl_reserved_label(void **state)
{
    (void)state;
    musl_seen s = {0};
    static const uint8_t a6[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 9};
    q_www(1, 0, 0);
    dnsb_u8(&B, 0x41);
    dnsb_u8(&B, 0);
    size_t at = dnsb_rr_begin(&B, DNS_T_AAAA, 1, 300);
    dnsb_bytes(&B, a6, 16);
    dnsb_rr_end(&B, at);
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
    assert_int_equal(M->n_an, 0);
    assert_true(M->problems & DNS_P_BAD_RR);
    dns_musl_diff d = dns_musl_compare(M, musl_addr, &s);
    assert_true(d.differs);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.family[0], 6);
    assert_memory_equal(s.a[0], a6, 16);
    /* A wrong length is no address to musl: counted as a difference, not used. */
    dnsb_set16(&B, at, 4);
    B.n = at + 2 + 4;
    memset(&s, 0, sizeof s);
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
    d = dns_musl_compare(M, musl_addr, &s);
    assert_true(d.differs);
    assert_int_equal(d.n_extra, 0);
}

/* What musl refuses, it hands nothing of (or nothing after). */
static void test_musl_refusals(void **state)
{
    (void)state;
    dns_musl_rr v[DNS_MUSL_MAX_RECORDS];
    q_www(2, 0, 0);
    rr_a(12, A1);
    rr_a(12, A2);
    size_t full = B.n;
    assert_int_equal(musl_walk_exact(full, v), 2);
    /* RCODE other than 0 in the header */
    B.b[3] |= 3;
    assert_int_equal(musl_walk_exact(full, v), 0);
    B.b[3] &= 0xf0;
    /* QDCOUNT + ANCOUNT over 64 */
    dnsb_set16(&B, 6, 64);
    assert_int_equal(musl_walk_exact(full, v), 0);
    dnsb_set16(&B, 6, 63); /* 64 in all: walked, ends at the data's end */
    assert_int_equal(musl_walk_exact(full, v), 2);
    dnsb_set16(&B, 6, 2);
    /* a "pointer" byte above 193 in the second owner: the first record is kept */
    size_t second = full - 16; /* the second owner: a pointer, then 10 + 4 bytes */
    assert_int_equal(B.b[second], 0xc0);
    B.b[second] = 0xc2;
    assert_int_equal(musl_walk_exact(full, v), 1);
    B.b[second] = 0xc1;
    B.b[second + 1] = 0xff;
    assert_int_equal(musl_walk_exact(full, v), 1);
    B.b[second + 1] = 0xfe; /* 0xc1fe is still a pointer to musl */
    assert_int_equal(musl_walk_exact(full, v), 2);
    /* every truncation: never a record past the end, never a read past it (ASan) */
    for (size_t n = 0; n <= full; n++)
        assert_true(musl_walk_exact(n, v) <= (n == full ? 2u : 1u));
}

/* A 64 KiB message of bytes musl steps over, and one of bytes it stops at. */
static void test_musl_hostile_sizes(void **state)
{
    (void)state;
    dns_musl_rr v[DNS_MUSL_MAX_RECORDS];
    size_t n = 70000;
    uint8_t *big = malloc(n);
    assert_non_null(big);
    static const uint8_t fills[] = {0x01, 0x7f, 0x00, 0xc0, 0xc1, 0xff};
    for (size_t f = 0; f < sizeof fills; f++) {
        memset(big, fills[f], n);
        memset(big, 0, 12);
        big[5] = 1;  /* QDCOUNT 1 */
        big[7] = 63; /* ANCOUNT 63 */
        unsigned k = dns_musl_walk(big, n, v);
        assert_true(k <= 63);
        for (unsigned i = 0; i < k; i++)
            assert_true((size_t)v[i].rdata_off + v[i].rdlen <= 65535);
    }
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_response),
        cmocka_unit_test(test_truncated_header),
        cmocka_unit_test(test_header_and_owner_api),
        cmocka_unit_test(test_question_truncated),
        cmocka_unit_test(test_counts_beyond_data),
        cmocka_unit_test(test_rdlen_past_end),
        cmocka_unit_test(test_pointer_loops),
        cmocka_unit_test(test_forward_pointers),
        cmocka_unit_test(test_pointer_chains),
        cmocka_unit_test(test_pointer_chain_loops),
        cmocka_unit_test(test_bad_label_types),
        cmocka_unit_test(test_name_too_long),
        cmocka_unit_test(test_opt_edns),
        cmocka_unit_test(test_opt_misplaced),
        cmocka_unit_test(test_svcb),
        cmocka_unit_test(test_txt),
        cmocka_unit_test(test_name_text_escapes),
        cmocka_unit_test(test_mx_soa_srv_ns),
        cmocka_unit_test(test_bad_rdata_names),
        cmocka_unit_test(test_trailing_section_bad),
        cmocka_unit_test(test_qdcount),
        cmocka_unit_test(test_ldns_fallback),
        cmocka_unit_test(test_mnemonics),
        cmocka_unit_test(test_wirename_eq),
        cmocka_unit_test(test_huge_and_many),
        cmocka_unit_test(test_oversized_buffer),
        cmocka_unit_test(test_musl_same_view),
        cmocka_unit_test(test_musl_hidden_in_label),
        cmocka_unit_test(test_musl_low_type_byte),
        cmocka_unit_test(test_musl_reserved_label),
        cmocka_unit_test(test_musl_refusals),
        cmocka_unit_test(test_musl_hostile_sizes),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
