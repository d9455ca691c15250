/* DNS presentation: names, record data, addresses and mnemonics as text (see
 * dns_present.h). The message is read through dns.c's cursors; nothing here parses a
 * message or decides what it means. */
#include "decoders/dns_present.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "decoders/dns_internal.h"
#include "decoders/wire.h"

/* Bytes written as themselves in names; all else is escaped. */

static size_t put_ddd(char *o, uint8_t b)
{
    o[0] = '\\';
    o[1] = (char)('0' + b / 100);
    o[2] = (char)('0' + b / 10 % 10);
    o[3] = (char)('0' + b % 10);
    return 4;
}

/* How each byte of a label is written in presentation text: 1 as it is, 2 behind a
 * backslash ('.' and '\\'), 0 as \DDD: [0-9A-Za-z_*-] are plain (dns.h). A table for the
 * hot loop of dns_wirename_text (rows of 16 from 0x00). */
static const unsigned char name_class[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 1, 2, 0,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0, 0,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 2, 0, 0, 1,
    0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
};

int dns_wirename_text(const uint8_t *wire, size_t wlen, char out[DNS_NAME_TEXT_MAX], bool lower)
{
    wire_ctx w = wire_init(wire, wlen < DNS_NAME_MAX ? wlen : DNS_NAME_MAX);
    size_t n = 0;

    for (;;) {
        uint8_t l = wire_u8(&w);
        if (!wire_ok(&w))
            return -EINVAL;
        if (l == 0)
            break;
        if (l > DNS_LABEL_MAX || wire_left(&w) < l)
            return -EINVAL;
        /* The label's bytes are in range (checked just above): a run of plain bytes is
         * copied in a tight loop, the hot case of every chain name of every response. */
        const uint8_t *lab = wire_ptr(&w);
        wire_skip(&w, l);
        if (n > 0)
            out[n++] = '.';
        for (unsigned i = 0; i < l; i++) {
            uint8_t b = lab[i];
            switch (name_class[b]) {
            case 1:
                out[n++] = (char)(lower && (unsigned)(b - 'A') < 26u ? b + 32 : b);
                break;
            case 2:
                out[n++] = '\\';
                out[n++] = (char)b;
                break;
            default:
                n += put_ddd(out + n, b);
                break;
            }
        }
    }
    if (n == 0)
        out[n++] = '.';
    out[n] = '\0';
    return (int)n;
}

int dns_msg_name_text(const dns_msg *m, size_t off, char out[DNS_NAME_TEXT_MAX], bool lower)
{
    uint8_t wire[DNS_NAME_MAX];
    int wlen = dns_msg_name_unpack(m, off, wire, NULL);
    if (wlen < 0)
        return wlen;
    return dns_wirename_text(wire, (size_t)wlen, out, lower);
}

int dns_name_text(const uint8_t *msg, size_t len, size_t off, char out[DNS_NAME_TEXT_MAX],
                  bool lower)
{
    uint8_t wire[DNS_NAME_MAX];
    int wlen = dns_name_unpack(msg, len, off, wire, NULL);
    if (wlen < 0)
        return wlen;
    return dns_wirename_text(wire, (size_t)wlen, out, lower);
}

/* ---- record data text ---- */

/* An output buffer that is always NUL-terminated and remembers overflowing. */
typedef struct tbuf {
    char *p;
    size_t cap, n;
    bool full;
} tbuf;

static void tb_putc(tbuf *t, char ch)
{
    if (t->n + 1 < t->cap) {
        t->p[t->n++] = ch;
        t->p[t->n] = '\0';
    } else {
        t->full = true;
    }
}

static void tb_puts(tbuf *t, const char *s)
{
    while (*s)
        tb_putc(t, *s++);
}

__attribute__((format(printf, 2, 3))) static void tb_printf(tbuf *t, const char *fmt, ...)
{
    char tmp[64];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(tmp, sizeof tmp, fmt, ap);
    va_end(ap);
    tb_puts(t, tmp);
}

static void tb_ddd(tbuf *t, uint8_t b)
{
    char d[4];
    put_ddd(d, b);
    for (int i = 0; i < 4; i++)
        tb_putc(t, d[i]);
}

/* Character-string bytes, escaped for a double-quoted master-file string. */
static void tb_chars(tbuf *t, wire_ctx *r, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint8_t b = wire_u8(r);
        if (b == '"' || b == '\\') {
            tb_putc(t, '\\');
            tb_putc(t, (char)b);
        } else if (b < 0x20 || b >= 0x7f) {
            tb_ddd(t, b);
        } else {
            tb_putc(t, (char)b);
        }
    }
}

static void tb_hex(tbuf *t, wire_ctx *r, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        uint8_t b = wire_u8(r);
        tb_putc(t, hex[b >> 4]);
        tb_putc(t, hex[b & 15]);
    }
}

/* A name in record data as text; 0 or the error of dns_rdata_name. */
static int tb_name(tbuf *t, const dns_msg *m, wire_ctx *r)
{
    uint8_t wire[DNS_NAME_MAX];
    char text[DNS_NAME_TEXT_MAX];
    size_t wlen = 0;
    int e = dns_rdata_name(m, r, wire, &wlen);
    if (e == 0 && dns_wirename_text(wire, wlen, text, false) >= 0)
        tb_puts(t, text);
    return e;
}

/* Decimal octet without printf: the A record is the hot case of event output. */
static void tb_octet(tbuf *t, uint8_t v)
{
    if (v >= 100)
        tb_putc(t, (char)('0' + v / 100));
    if (v >= 10)
        tb_putc(t, (char)('0' + v / 10 % 10));
    tb_putc(t, (char)('0' + v % 10));
}

static void tb_ipv4(tbuf *t, wire_ctx *r)
{
    uint8_t a[4];
    wire_bytes(r, a, 4);
    for (int i = 0; i < 4; i++) {
        if (i)
            tb_putc(t, '.');
        tb_octet(t, a[i]);
    }
}

static void tb_ipv6(tbuf *t, wire_ctx *r)
{
    uint8_t a[16];
    char s[DNS_IPV6_TEXT_MAX];
    wire_bytes(r, a, 16);
    dns_format_ipv6(a, s);
    tb_puts(t, s);
}

static void tb_base64(tbuf *t, wire_ctx *r, size_t n)
{
    static const char b64[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    while (n > 0) {
        size_t k = n < 3 ? n : 3;
        uint32_t v = 0;
        for (size_t i = 0; i < 3; i++)
            v = v << 8 | (i < k ? wire_u8(r) : 0);
        tb_putc(t, b64[v >> 18 & 63]);
        tb_putc(t, b64[v >> 12 & 63]);
        tb_putc(t, k > 1 ? b64[v >> 6 & 63] : '=');
        tb_putc(t, k > 2 ? b64[v & 63] : '=');
        n -= k;
    }
}

static const char *svc_key_name(uint16_t key)
{
    static const char *const names[] = {"mandatory", "alpn", "no-default-alpn", "port",
                                        "ipv4hint", "ech", "ipv6hint", "dohpath"};
    return key < sizeof names / sizeof names[0] ? names[key] : NULL;
}

static void tb_svc_key(tbuf *t, uint16_t key)
{
    const char *name = svc_key_name(key);
    if (name)
        tb_puts(t, name);
    else
        tb_printf(t, "key%u", key);
}

/* One SvcParam value (RFC 9460 presentation); false if malformed for its key. */
static bool tb_svc_value(tbuf *t, uint16_t key, wire_ctx v)
{
    size_t n = wire_left(&v);
    switch (key) {
    case 0: /* mandatory */
        if (n == 0 || n % 2)
            return false;
        tb_putc(t, '=');
        for (size_t i = 0; i < n / 2; i++) {
            if (i)
                tb_putc(t, ',');
            tb_svc_key(t, wire_u16(&v));
        }
        return true;
    case 1: /* alpn: a list of length-prefixed ids, commas inside an id escaped */
        if (n == 0)
            return false;
        tb_puts(t, "=\"");
        for (bool first = true; wire_left(&v) > 0; first = false) {
            uint8_t l = wire_u8(&v);
            if (l == 0 || l > wire_left(&v))
                return false;
            if (!first)
                tb_putc(t, ',');
            for (unsigned i = 0; i < l; i++) {
                uint8_t b = wire_u8(&v);
                if (b == ',' || b == '\\') {
                    tb_puts(t, "\\\\");
                    if (b == '\\')
                        tb_puts(t, "\\\\");
                    else
                        tb_putc(t, ',');
                } else if (b == '"') {
                    tb_puts(t, "\\\"");
                } else if (b < 0x20 || b >= 0x7f) {
                    tb_ddd(t, b);
                } else {
                    tb_putc(t, (char)b);
                }
            }
        }
        tb_putc(t, '"');
        return true;
    case 2: /* no-default-alpn */
        return n == 0;
    case 3: /* port */
        if (n != 2)
            return false;
        tb_printf(t, "=%u", wire_u16(&v));
        return true;
    case 4: /* ipv4hint */
    case 6: /* ipv6hint */
        if (n == 0 || n % (key == 4 ? 4 : 16))
            return false;
        tb_putc(t, '=');
        for (bool first = true; wire_left(&v) > 0; first = false) {
            if (!first)
                tb_putc(t, ',');
            if (key == 4)
                tb_ipv4(t, &v);
            else
                tb_ipv6(t, &v);
        }
        return true;
    case 5: /* ech: base64 */
        tb_putc(t, '=');
        tb_base64(t, &v, n);
        return true;
    default: /* dohpath and unknown keys: a quoted character-string */
        if (n > 0) {
            tb_puts(t, "=\"");
            tb_chars(t, &v, n);
            tb_putc(t, '"');
        }
        return true;
    }
}

static bool text_svcb(tbuf *t, const dns_msg *m, wire_ctx *r)
{
    tb_printf(t, "%u ", wire_u16(r));
    if (!wire_ok(r) || tb_name(t, m, r) != 0)
        return false;
    while (wire_ok(r) && wire_left(r) > 0) {
        uint16_t key = wire_u16(r);
        uint16_t vlen = wire_u16(r);
        wire_ctx v = wire_sub(r, vlen);
        if (!wire_ok(r))
            return false;
        tb_putc(t, ' ');
        tb_svc_key(t, key);
        if (!tb_svc_value(t, key, v))
            return false;
    }
    return wire_ok(r);
}

/* RFC 3597 generic form; the hex is cut to what fits. */
static void text_generic(tbuf *t, const dns_msg *m, const dns_rr *rr)
{
    wire_ctx r = dns_rdata_cursor(m, rr);
    size_t n = wire_left(&r);
    t->n = 0;
    t->full = false;
    if (t->cap > 0)
        t->p[0] = '\0';
    tb_printf(t, "\\# %zu", n);
    if (n > 0) {
        tb_putc(t, ' ');
        for (size_t i = 0; i < n && t->n + 3 <= t->cap; i++)
            tb_hex(t, &r, 1);
    }
}

int dns_rdata_text(const dns_msg *m, const dns_rr *rr, char *out, size_t outlen)
{
    tbuf t = {out, outlen, 0, false};
    wire_ctx r = dns_rdata_cursor(m, rr);
    bool ok = wire_ok(&r);

    if (outlen == 0)
        return -ENOSPC;
    out[0] = '\0';
    if (!ok)
        return -EINVAL; /* the record is not inside the message: nothing to show */

    switch (rr->type) {
    case DNS_T_A:
        tb_ipv4(&t, &r);
        break;
    case DNS_T_AAAA:
        tb_ipv6(&t, &r);
        break;
    case DNS_T_CNAME:
    case DNS_T_DNAME:
    case DNS_T_NS:
    case DNS_T_PTR:
        ok = tb_name(&t, m, &r) == 0;
        break;
    case DNS_T_MX:
        tb_printf(&t, "%u ", wire_u16(&r));
        ok = wire_ok(&r) && tb_name(&t, m, &r) == 0;
        break;
    case DNS_T_SRV: {
        uint16_t prio = wire_u16(&r), weight = wire_u16(&r), port = wire_u16(&r);
        tb_printf(&t, "%u %u %u ", prio, weight, port);
        ok = wire_ok(&r) && tb_name(&t, m, &r) == 0;
        break;
    }
    case DNS_T_SOA:
        ok = tb_name(&t, m, &r) == 0;
        tb_putc(&t, ' ');
        ok = ok && tb_name(&t, m, &r) == 0;
        for (int i = 0; i < 5 && ok; i++)
            tb_printf(&t, " %u", wire_u32(&r));
        break;
    case DNS_T_TXT:
        ok = wire_left(&r) > 0;
        for (bool first = true; ok && wire_left(&r) > 0; first = false) {
            uint8_t l = wire_u8(&r);
            if (l > wire_left(&r)) {
                ok = false;
                break;
            }
            if (!first)
                tb_putc(&t, ' ');
            tb_putc(&t, '"');
            tb_chars(&t, &r, l);
            tb_putc(&t, '"');
        }
        break;
    case DNS_T_SVCB:
    case DNS_T_HTTPS:
        ok = text_svcb(&t, m, &r);
        break;
    default:
        return dns_rdata_text_ldns(m, rr, out, outlen);
    }
    if (!ok || !wire_ok(&r) || wire_left(&r) != 0) {
        text_generic(&t, m, rr);
        return -EINVAL;
    }
    return t.full ? -ENOSPC : (int)t.n;
}

int dns_rdata_generic(const dns_msg *m, const dns_rr *rr, char *out, size_t outlen)
{
    tbuf t = {out, outlen, 0, false};
    if (outlen == 0)
        return -ENOSPC;
    text_generic(&t, m, rr);
    return t.full ? -ENOSPC : (int)t.n;
}

/* ---- mnemonics ---- */

static const char *type_mnemonic(uint16_t type)
{
    switch (type) {
    case 1: return "A";
    case 2: return "NS";
    case 3: return "MD";
    case 4: return "MF";
    case 5: return "CNAME";
    case 6: return "SOA";
    case 7: return "MB";
    case 8: return "MG";
    case 9: return "MR";
    case 10: return "NULL";
    case 11: return "WKS";
    case 12: return "PTR";
    case 13: return "HINFO";
    case 14: return "MINFO";
    case 15: return "MX";
    case 16: return "TXT";
    case 17: return "RP";
    case 18: return "AFSDB";
    case 19: return "X25";
    case 20: return "ISDN";
    case 21: return "RT";
    case 22: return "NSAP";
    case 23: return "NSAP-PTR";
    case 24: return "SIG";
    case 25: return "KEY";
    case 26: return "PX";
    case 27: return "GPOS";
    case 28: return "AAAA";
    case 29: return "LOC";
    case 30: return "NXT";
    case 31: return "EID";
    case 32: return "NIMLOC";
    case 33: return "SRV";
    case 34: return "ATMA";
    case 35: return "NAPTR";
    case 36: return "KX";
    case 37: return "CERT";
    case 38: return "A6";
    case 39: return "DNAME";
    case 40: return "SINK";
    case 41: return "OPT";
    case 42: return "APL";
    case 43: return "DS";
    case 44: return "SSHFP";
    case 45: return "IPSECKEY";
    case 46: return "RRSIG";
    case 47: return "NSEC";
    case 48: return "DNSKEY";
    case 49: return "DHCID";
    case 50: return "NSEC3";
    case 51: return "NSEC3PARAM";
    case 52: return "TLSA";
    case 53: return "SMIMEA";
    case 55: return "HIP";
    case 56: return "NINFO";
    case 57: return "RKEY";
    case 58: return "TALINK";
    case 59: return "CDS";
    case 60: return "CDNSKEY";
    case 61: return "OPENPGPKEY";
    case 62: return "CSYNC";
    case 63: return "ZONEMD";
    case 64: return "SVCB";
    case 65: return "HTTPS";
    case 99: return "SPF";
    case 104: return "NID";
    case 105: return "L32";
    case 106: return "L64";
    case 107: return "LP";
    case 108: return "EUI48";
    case 109: return "EUI64";
    case 249: return "TKEY";
    case 250: return "TSIG";
    case 251: return "IXFR";
    case 252: return "AXFR";
    case 253: return "MAILB";
    case 254: return "MAILA";
    case 255: return "ANY";
    case 256: return "URI";
    case 257: return "CAA";
    case 258: return "AVC";
    case 259: return "DOA";
    case 260: return "AMTRELAY";
    case 261: return "RESINFO";
    case 32768: return "TA";
    case 32769: return "DLV";
    default: return NULL;
    }
}

const char *dns_type_name(uint16_t type, char buf[16])
{
    const char *s = type_mnemonic(type);
    if (s)
        return s;
    snprintf(buf, 16, "TYPE%u", type);
    return buf;
}

const char *dns_section_name(unsigned section)
{
    switch (section) {
    case DNS_SEC_ANSWER: return "answer";
    case DNS_SEC_AUTHORITY: return "authority";
    case DNS_SEC_ADDITIONAL: return "additional";
    default: return "?";
    }
}

const char *dns_class_name(uint16_t rclass, char buf[16])
{
    switch (rclass) {
    case 1: return "IN";
    case 3: return "CH";
    case 4: return "HS";
    case 254: return "NONE";
    case 255: return "ANY";
    default:
        snprintf(buf, 16, "CLASS%u", rclass);
        return buf;
    }
}

const char *dns_rcode_name(uint16_t rcode, char buf[16])
{
    static const char *const names[] = {
        "NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED",
        "YXDOMAIN", "YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI",
        NULL, NULL, NULL, NULL,
        "BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC",
        "BADCOOKIE"};
    if (rcode < sizeof names / sizeof names[0] && names[rcode])
        return names[rcode];
    snprintf(buf, 16, "RCODE%u", rcode);
    return buf;
}

const char *dns_opcode_name(uint8_t opcode, char buf[16])
{
    static const char *const names[] = {"QUERY", "IQUERY", "STATUS", NULL,
                                        "NOTIFY", "UPDATE", "DSO"};
    if (opcode < sizeof names / sizeof names[0] && names[opcode])
        return names[opcode];
    snprintf(buf, 16, "OPCODE%u", opcode);
    return buf;
}

/* Decimal text of every octet value, NUL-padded to 4 bytes: one fixed-size copy each. */
static const char octet_text[256][4] = {
    "0\0\0", "1\0\0", "2\0\0", "3\0\0", "4\0\0", "5\0\0", "6\0\0", "7\0\0",
    "8\0\0", "9\0\0", "10\0", "11\0", "12\0", "13\0", "14\0", "15\0",
    "16\0", "17\0", "18\0", "19\0", "20\0", "21\0", "22\0", "23\0",
    "24\0", "25\0", "26\0", "27\0", "28\0", "29\0", "30\0", "31\0",
    "32\0", "33\0", "34\0", "35\0", "36\0", "37\0", "38\0", "39\0",
    "40\0", "41\0", "42\0", "43\0", "44\0", "45\0", "46\0", "47\0",
    "48\0", "49\0", "50\0", "51\0", "52\0", "53\0", "54\0", "55\0",
    "56\0", "57\0", "58\0", "59\0", "60\0", "61\0", "62\0", "63\0",
    "64\0", "65\0", "66\0", "67\0", "68\0", "69\0", "70\0", "71\0",
    "72\0", "73\0", "74\0", "75\0", "76\0", "77\0", "78\0", "79\0",
    "80\0", "81\0", "82\0", "83\0", "84\0", "85\0", "86\0", "87\0",
    "88\0", "89\0", "90\0", "91\0", "92\0", "93\0", "94\0", "95\0",
    "96\0", "97\0", "98\0", "99\0", "100", "101", "102", "103",
    "104", "105", "106", "107", "108", "109", "110", "111",
    "112", "113", "114", "115", "116", "117", "118", "119",
    "120", "121", "122", "123", "124", "125", "126", "127",
    "128", "129", "130", "131", "132", "133", "134", "135",
    "136", "137", "138", "139", "140", "141", "142", "143",
    "144", "145", "146", "147", "148", "149", "150", "151",
    "152", "153", "154", "155", "156", "157", "158", "159",
    "160", "161", "162", "163", "164", "165", "166", "167",
    "168", "169", "170", "171", "172", "173", "174", "175",
    "176", "177", "178", "179", "180", "181", "182", "183",
    "184", "185", "186", "187", "188", "189", "190", "191",
    "192", "193", "194", "195", "196", "197", "198", "199",
    "200", "201", "202", "203", "204", "205", "206", "207",
    "208", "209", "210", "211", "212", "213", "214", "215",
    "216", "217", "218", "219", "220", "221", "222", "223",
    "224", "225", "226", "227", "228", "229", "230", "231",
    "232", "233", "234", "235", "236", "237", "238", "239",
    "240", "241", "242", "243", "244", "245", "246", "247",
    "248", "249", "250", "251", "252", "253", "254", "255",
};

int dns_parse_ip(const char *text, uint8_t out[16])
{
    uint8_t a[16];
    if (inet_pton(AF_INET, text, a) == 1) {
        memcpy(out, a, 4);
        return 4;
    }
    if (inet_pton(AF_INET6, text, a) == 1) {
        memcpy(out, a, 16);
        return 6;
    }
    return -EINVAL;
}

void dns_format_ip(int family, const uint8_t *a, char out[DNS_IPV6_TEXT_MAX])
{
    if (family == 6) {
        dns_format_ipv6(a, out);
        return;
    }
    char *p = out;
    for (int i = 0; i < 4; i++) {
        unsigned v = a[i];
        memcpy(p, octet_text[v], 4);
        p += v >= 100 ? 3 : v >= 10 ? 2 : 1;
        *p++ = '.';
    }
    p[-1] = '\0';
}

/* RFC 5952 text, as inet_ntop writes it (same output, checked by test_dns), without
 * glibc's sprintf: AAAA answers are a hot path of event output. */
void dns_format_ipv6(const uint8_t a[16], char out[DNS_IPV6_TEXT_MAX])
{
    static const char hex[] = "0123456789abcdef";
    unsigned w[8];
    for (int i = 0; i < 8; i++)
        w[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
    /* The longest run of two or more zero words, the first of equal ones, becomes "::". */
    int best = -1, best_len = 0;
    for (int i = 0; i < 8;) {
        if (w[i] != 0) {
            i++;
            continue;
        }
        int j = i;
        while (j < 8 && w[j] == 0)
            j++;
        if (j - i > best_len && j - i >= 2) {
            best = i;
            best_len = j - i;
        }
        i = j;
    }
    char *p = out;
    /* IPv4-mapped (::ffff:a.b.c.d) and IPv4-compatible (::a.b.c.d, not ::1 or ::) keep
     * the dotted tail, as inet_ntop does. */
    bool v4tail = best == 0 && ((best_len == 5 && w[5] == 0xffff) ||
                                (best_len == 6 && (w[6] != 0 || w[7] > 1)));
    int end = v4tail ? 6 : 8;
    for (int i = 0; i < end; i++) {
        if (i == best) {
            *p++ = ':';
            if (i == 0)
                *p++ = ':';
            i += best_len - 1;
            continue;
        }
        bool started = false;
        for (int sh = 12; sh >= 0; sh -= 4) {
            unsigned d = (w[i] >> sh) & 0xf;
            if (d || started || sh == 0) {
                *p++ = hex[d];
                started = true;
            }
        }
        if (i < 7)
            *p++ = ':';
    }
    if (v4tail) {
        if (best_len == 6 && p[-1] != ':')
            *p++ = ':';
        for (int i = 12; i < 16; i++) {
            unsigned v = a[i];
            if (v >= 100)
                *p++ = (char)('0' + v / 100);
            if (v >= 10)
                *p++ = (char)('0' + v / 10 % 10);
            *p++ = (char)('0' + v % 10);
            if (i < 15)
                *p++ = '.';
        }
    }
    *p = '\0';
}
