#include "sensor/explain.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pcap/pcap.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "common/num.h"
#include "decoders/decode.h"
#include "decoders/dns.h"
#include "decoders/dns_present.h"
#include "rules/asn.h"
#include "rules/eval.h"
#include "rules/ruleset.h"
#include "rules/special.h"
#include "sensor/json.h"

#define MAX_RULE_PATHS 64
#define MAX_RECORDS 256

static const char usage_text[] =
    "Usage: dnswatch explain --rules PATH... [--asn-db FILE.mmdb|none] [--resolver IP]\n"
    "                        [--do] [--ad] [--rcode NAME] [--qname NAME] [--qtype TYPE]\n"
    "                        [--now YYYY-MM-DD] (\"NAME TYPE DATA [TTL]\"... | -r FILE.pcap)\n"
    "\n"
    "                        [--json]\n"
    "\n"
    "Shows what the rules make of one DNS response, check by check. Each record is\n"
    "\"NAME TYPE DATA [TTL]\" (TTL 300 by default), TYPE one of A, AAAA, CNAME, DNAME,\n"
    "HTTPS, SVCB (DATA: ipv4hint=IP,IP ipv6hint=IP,...) or RRSIG (DATA: the covered type),\n"
    "or a zone-file/dig line \"NAME [TTL] [CLASS] TYPE DATA\" (pypi.org. 300 IN A 1.2.3.4;\n"
    "other record types are skipped, ';' starts a comment). An argument may hold several\n"
    "lines; \"-\" reads more lines from stdin. A bad line is reported with its number.\n"
    "The question is the first record's owner, type AAAA if that record is AAAA, else A.\n"
    "--resolver: the answering server (default 10.0.0.53); --do: the query asked for DNSSEC\n"
    "records; --ad: the response has AD set. -r explains every response of a capture.\n"
    "--json: one JSON object per response (JSON lines), the same facts as the text.\n"
    "\n"
    "Exit status: 0 no alert, 1 an alert would be raised, 2 usage or input error.\n";

/* ---- options ------------------------------------------------------------------------ */

typedef struct explain_opts {
    const char *rule_paths[MAX_RULE_PATHS];
    size_t n_rule_paths;
    const char *asn_db;
    const char *pcap_file;
    const char *qname;
    uint16_t qtype;
    int server_family;
    uint8_t server[16];
    bool query_do, ad;
    uint16_t rcode;
    time_t now;
    const char *records[MAX_RECORDS];
    char where[MAX_RECORDS][40]; /* "argument 2", "line 3 of stdin": for messages */
    size_t n_records;
    bool json;                   /* --json: one JSON object per response */
    bool from_stdin;             /* "-": records are read from stdin too */
    char *stdin_text;            /* what was read (records point into it) */
} explain_opts;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("dnswatch explain: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n\n", stderr);
    fputs(usage_text, stderr);
    return 2;
}

static int type_from_text(const char *s, uint16_t *out)
{
    static const struct {
        const char *name;
        uint16_t type;
    } types[] = {{"A", DNS_T_A},         {"AAAA", DNS_T_AAAA},   {"CNAME", DNS_T_CNAME},
                 {"DNAME", DNS_T_DNAME}, {"HTTPS", DNS_T_HTTPS}, {"SVCB", DNS_T_SVCB},
                 {"RRSIG", DNS_T_RRSIG}, {"TXT", DNS_T_TXT},     {"MX", DNS_T_MX},
                 {"NS", DNS_T_NS},       {"ANY", DNS_T_ANY}};
    for (size_t i = 0; i < sizeof types / sizeof types[0]; i++)
        if (strcasecmp(s, types[i].name) == 0) {
            *out = types[i].type;
            return 0;
        }
    return -EINVAL;
}

static int rcode_from_text(const char *s, uint16_t *out)
{
    static const char *const names[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                        "NOTIMP",  "REFUSED"};
    for (uint16_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcasecmp(s, names[i]) == 0) {
            *out = i;
            return 0;
        }
    return -EINVAL;
}

/* Appends the records of text (an argument, arg its position) or, text NULL, of stdin:
 * one per line; blank lines and comments (from ';', as in zone files and dig output) are
 * skipped. Lines are cut in place (an argument's bytes are ours to change, stdin's are
 * kept in o->stdin_text). 0, or 2 after a message. */
static int add_lines(explain_opts *o, char *text, int arg)
{
    if (!text) {
        size_t cap = 0, n = 0;
        char *buf = NULL;
        for (;;) {
            if (n + 4096 + 1 > cap) {
                cap = cap ? cap * 2 : 8192;
                if (cap > (1u << 20)) {
                    free(buf);
                    return usage_error("stdin holds more than 1 MiB of records");
                }
                char *nb = realloc(buf, cap);
                if (!nb) {
                    free(buf);
                    return usage_error("out of memory reading stdin");
                }
                buf = nb;
            }
            size_t got = fread(buf + n, 1, cap - n - 1, stdin);
            n += got;
            if (got == 0)
                break;
        }
        if (ferror(stdin)) {
            free(buf);
            return usage_error("cannot read stdin");
        }
        buf[n] = '\0';
        o->stdin_text = text = buf;
    }
    unsigned line = 0;
    bool several = text != o->stdin_text && strchr(text, '\n');
    for (char *p = text; p;) {
        char *next = strchr(p, '\n');
        if (next)
            *next++ = '\0';
        line++;
        char *semi = strchr(p, ';');
        if (semi)
            *semi = '\0';
        size_t len = strlen(p);
        while (len && (p[len - 1] == '\r' || p[len - 1] == ' ' || p[len - 1] == '\t'))
            p[--len] = '\0';
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p) {
            if (o->n_records == MAX_RECORDS)
                return usage_error("at most %d records", MAX_RECORDS);
            char *w = o->where[o->n_records];
            if (text == o->stdin_text)
                snprintf(w, sizeof o->where[0], "line %u of stdin", line);
            else if (several)
                snprintf(w, sizeof o->where[0], "argument %d, line %u", arg, line);
            else
                snprintf(w, sizeof o->where[0], "argument %d", arg);
            o->records[o->n_records++] = p;
        }
        p = next;
    }
    return 0;
}

static int parse_args(explain_opts *o, int argc, char **argv)
{
    memset(o, 0, sizeof *o);
    o->server_family = 4;
    inet_pton(AF_INET, "10.0.0.53", o->server);
    o->now = time(NULL);
    int n_args = 0; /* record arguments, counted for messages */
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = strcmp(a, "--rules") == 0 || strcmp(a, "--asn-db") == 0 ||
                         strcmp(a, "--resolver") == 0 || strcmp(a, "-r") == 0 ||
                         strcmp(a, "--rcode") == 0 || strcmp(a, "--qname") == 0 ||
                         strcmp(a, "--qtype") == 0 || strcmp(a, "--now") == 0;
        if (has_value && i + 1 >= argc)
            return usage_error("%s needs a value", a);
        const char *v = has_value ? argv[++i] : NULL;
        if (strcmp(a, "--rules") == 0) {
            if (o->n_rule_paths == MAX_RULE_PATHS)
                return usage_error("at most %d --rules paths", MAX_RULE_PATHS);
            o->rule_paths[o->n_rule_paths++] = v;
        } else if (strcmp(a, "--asn-db") == 0) {
            o->asn_db = v;
        } else if (strcmp(a, "-r") == 0) {
            o->pcap_file = v;
        } else if (strcmp(a, "--resolver") == 0) {
            int family = dns_parse_ip(v, o->server);
            if (family < 0)
                return usage_error("--resolver '%s' is not an IPv4 or IPv6 address", v);
            o->server_family = family;
        } else if (strcmp(a, "--rcode") == 0) {
            if (rcode_from_text(v, &o->rcode) != 0)
                return usage_error("--rcode '%s': use NOERROR, FORMERR, SERVFAIL, NXDOMAIN, "
                                   "NOTIMP or REFUSED", v);
        } else if (strcmp(a, "--qname") == 0) {
            o->qname = v;
        } else if (strcmp(a, "--qtype") == 0) {
            if (type_from_text(v, &o->qtype) != 0)
                return usage_error("--qtype '%s': use A, AAAA, HTTPS, SVCB, CNAME, ...", v);
        } else if (strcmp(a, "--now") == 0) {
            if (ruleset_parse_day(v, &o->now) != 0)
                return usage_error("--now '%s' is not a date (YYYY-MM-DD)", v);
        } else if (strcmp(a, "--do") == 0) {
            o->query_do = true;
        } else if (strcmp(a, "--ad") == 0) {
            o->ad = true;
        } else if (strcmp(a, "--json") == 0) {
            o->json = true;
        } else if (strcmp(a, "-") == 0) {
            if (o->from_stdin)
                return usage_error("\"-\" (read records from stdin) given twice");
            o->from_stdin = true;
            if (add_lines(o, NULL, 0) != 0)
                return 2;
        } else if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            fputs(usage_text, stdout);
            return 0;
        } else if (a[0] == '-' && a[1] != '\0') {
            return usage_error("unknown option '%s'", a);
        } else if (add_lines(o, argv[i], ++n_args) != 0) {
            return 2;
        }
    }
    if (o->n_rule_paths == 0)
        return usage_error("give at least one --rules PATH");
    if (o->pcap_file && (o->n_records || o->qname || o->qtype || o->query_do || o->ad ||
                         o->rcode))
        return usage_error("-r FILE.pcap explains the responses it holds: records, --qname, "
                           "--qtype, --do, --ad and --rcode do not apply");
    if (!o->pcap_file && o->n_records == 0 && !o->qname)
        return usage_error("give at least one record (\"NAME TYPE DATA [TTL]\"), --qname, "
                           "or -r FILE.pcap");
    return 1; /* go on */
}

/* ---- the message writer ------------------------------------------------------------- */

typedef struct wbuf {
    uint8_t b[65535];
    size_t n;
    bool overflow;
} wbuf;

static void w_u8(wbuf *w, unsigned v)
{
    if (w->n >= sizeof w->b) {
        w->overflow = true;
        return;
    }
    w->b[w->n++] = (uint8_t)v;
}
static void w_u16(wbuf *w, unsigned v)
{
    w_u8(w, (v >> 8) & 0xff);
    w_u8(w, v & 0xff);
}
static void w_u32(wbuf *w, uint32_t v)
{
    w_u16(w, v >> 16);
    w_u16(w, v & 0xffff);
}
static void w_bytes(wbuf *w, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        w_u8(w, p[i]);
}

/* A plain host name (letters, digits, '-', '_', '*'; one trailing dot allowed) to wire
 * form. Returns the wire length, or 0 with *why set. */
static size_t name_to_wire(const char *text, uint8_t out[DNS_NAME_MAX], const char **why)
{
    size_t n = 0, len = strlen(text);
    if (len == 0) {
        *why = "empty name";
        return 0;
    }
    if (strcmp(text, ".") == 0) {
        out[0] = 0;
        return 1;
    }
    if (text[len - 1] == '.')
        len--;
    size_t start = 0;
    while (start <= len) {
        size_t end = start;
        while (end < len && text[end] != '.')
            end++;
        size_t l = end - start;
        if (l == 0) {
            *why = "empty label (two dots, or a leading dot)";
            return 0;
        }
        if (l > DNS_LABEL_MAX) {
            *why = "label longer than 63 characters";
            return 0;
        }
        if (n + 1 + l + 1 > DNS_NAME_MAX) {
            *why = "name longer than 255 bytes";
            return 0;
        }
        out[n++] = (uint8_t)l;
        for (size_t i = start; i < end; i++) {
            char c = text[i];
            bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*';
            if (!ok) {
                *why = "only letters, digits, '-', '_' and '*' are allowed in a label";
                return 0;
            }
            out[n++] = (uint8_t)c;
        }
        start = end + 1;
    }
    out[n++] = 0;
    return n;
}

typedef struct record {
    uint8_t owner[DNS_NAME_MAX];
    size_t owner_len;
    uint16_t type;
    uint32_t ttl;
    uint8_t rdata[1024];
    size_t rdlen;
} record;

static int bad_record(const char *where, const char *text, const char *why)
{
    fprintf(stderr, "dnswatch explain: %s: record \"%s\": %s\n", where, text, why);
    return -EINVAL;
}

static bool is_class(const char *t)
{
    if (!strcasecmp(t, "IN") || !strcasecmp(t, "CH") || !strcasecmp(t, "HS"))
        return true;
    uint64_t v;
    return !strncasecmp(t, "CLASS", 5) && num_parse_u64(t + 5, 0, 65535, &v) == 0;
}

/* Record types of zone files and dig output that say nothing to the rules: skipped. */
static bool is_other_type(const char *t)
{
    static const char *const other[] = {"NS", "SOA", "MX", "TXT", "PTR", "SRV", "CAA", "DS",
                                        "DNSKEY", "NSEC", "NSEC3", "NSEC3PARAM", "OPT",
                                        "TLSA", "SSHFP", "NAPTR", "HINFO", "SPF", "CDS",
                                        "CDNSKEY", "ZONEMD", "ANY"};
    for (size_t i = 0; i < sizeof other / sizeof *other; i++)
        if (!strcasecmp(t, other[i]))
            return true;
    uint64_t v;
    return !strncasecmp(t, "TYPE", 4) && num_parse_u64(t + 4, 0, 65535, &v) == 0;
}

static int parse_ttl(const char *s, uint32_t *out)
{
    uint64_t v;
    if (num_parse_u64(s, 0, UINT32_MAX, &v) != 0)
        return -EINVAL;
    *out = (uint32_t)v;
    return 0;
}

/* "ipv4hint=1.2.3.4,5.6.7.8" or "ipv6hint=...": one SvcParam, appended to rd. */
static int svcb_param(const char *tok, uint8_t *rd, size_t *rdlen, size_t cap, int *last_key,
                      const char **why)
{
    int family;
    if (strncasecmp(tok, "ipv4hint=", 9) == 0)
        family = 4;
    else if (strncasecmp(tok, "ipv6hint=", 9) == 0)
        family = 6;
    else {
        *why = "SVCB/HTTPS data: only ipv4hint=IP,... and ipv6hint=IP,... are understood";
        return -EINVAL;
    }
    int key = family == 4 ? 4 : 6;
    if (key <= *last_key) {
        *why = "SVCB/HTTPS data: give ipv4hint before ipv6hint, each once";
        return -EINVAL;
    }
    *last_key = key;
    size_t alen = family == 4 ? 4 : 16;
    size_t at = *rdlen;
    if (at + 4 > cap)
        goto too_long;
    rd[at] = 0;
    rd[at + 1] = (uint8_t)key;
    size_t n = at + 4;
    const char *p = tok + 9;
    while (*p) {
        char one[64];
        size_t l = strcspn(p, ",");
        if (l == 0 || l >= sizeof one) {
            *why = "SVCB/HTTPS data: empty or overlong address in a hint list";
            return -EINVAL;
        }
        memcpy(one, p, l);
        one[l] = '\0';
        if (n + alen > cap)
            goto too_long;
        if (inet_pton(family == 4 ? AF_INET : AF_INET6, one, rd + n) != 1) {
            *why = family == 4 ? "SVCB/HTTPS data: bad address in ipv4hint"
                               : "SVCB/HTTPS data: bad address in ipv6hint";
            return -EINVAL;
        }
        n += alen;
        p += l;
        if (*p == ',')
            p++;
    }
    if (n == at + 4) {
        *why = "SVCB/HTTPS data: a hint needs at least one address";
        return -EINVAL;
    }
    rd[at + 2] = (uint8_t)((n - at - 4) >> 8);
    rd[at + 3] = (uint8_t)(n - at - 4);
    *rdlen = n;
    return 0;
too_long:
    *why = "SVCB/HTTPS data: too many hints";
    return -EINVAL;
}

static int rrsig_data(const char *where, const char *text, record *r, const char *covered_text);

/* The data of a zone line (after its type): as zone files and dig write it. */
static int zone_data(const char *where, const char *text, record *r, char **data, size_t nd)
{
    const char *why = NULL;
    if (nd == 0)
        return bad_record(where, text, "no data after the type");
    switch (r->type) {
    case DNS_T_A:
    case DNS_T_AAAA:
    case DNS_T_CNAME:
    case DNS_T_DNAME:
        if (nd != 1)
            return bad_record(where, text, "one value expected after the type");
        if (r->type == DNS_T_A) {
            if (inet_pton(AF_INET, data[0], r->rdata) != 1)
                return bad_record(where, text, "A data must be an IPv4 address");
            r->rdlen = 4;
        } else if (r->type == DNS_T_AAAA) {
            if (inet_pton(AF_INET6, data[0], r->rdata) != 1)
                return bad_record(where, text, "AAAA data must be an IPv6 address");
            r->rdlen = 16;
        } else if (!(r->rdlen = name_to_wire(data[0], r->rdata, &why))) {
            return bad_record(where, text, why);
        }
        return 0;
    case DNS_T_RRSIG:
        return rrsig_data(where, text, r, data[0]);
    default: { /* SVCB, HTTPS: "PRIORITY TARGET [key=value...]"; the hints are kept */
        uint32_t prio;
        uint8_t target[DNS_NAME_MAX];
        size_t tlen;
        if (nd < 2 || parse_ttl(data[0], &prio) != 0 || prio > 65535)
            return bad_record(where, text, "SVCB/HTTPS data: expected \"PRIORITY TARGET "
                                           "[key=value...]\"");
        if (!(tlen = name_to_wire(data[1], target, &why)))
            return bad_record(where, text, why);
        r->rdata[0] = (uint8_t)(prio >> 8);
        r->rdata[1] = (uint8_t)prio;
        memcpy(r->rdata + 2, target, tlen);
        r->rdlen = 2 + tlen;
        int last_key = 0;
        for (size_t i = 2; i < nd; i++) {
            if (strncasecmp(data[i], "ipv4hint=", 9) && strncasecmp(data[i], "ipv6hint=", 9))
                continue; /* alpn, port, ech...: nothing the rules read */
            if (svcb_param(data[i], r->rdata, &r->rdlen, sizeof r->rdata, &last_key, &why) != 0)
                return bad_record(where, text, why);
        }
        return 0;
    }
    }
}

/* One record: "NAME TYPE DATA [TTL]", or a zone-file/dig line "NAME [TTL] [CLASS] TYPE
 * DATA" (TTL and class in either order; recognised by a TTL or a class after the name).
 * 0; 1 for a zone line of a type the rules do not read (skipped, said on stderr);
 * -EINVAL after a message naming where. */
static int parse_record(const char *where, const char *text, record *r)
{
    char buf[2048];
    char *tok[64];
    size_t nt = 0;
    const char *why = NULL;
    if (strlen(text) >= sizeof buf)
        return bad_record(where, text, "too long");
    strcpy(buf, text);
    for (char *save = NULL, *t = strtok_r(buf, " \t", &save); t; t = strtok_r(NULL, " \t", &save)) {
        if (nt == sizeof tok / sizeof tok[0])
            return bad_record(where, text, "too many fields");
        tok[nt++] = t;
    }
    if (nt < 3)
        return bad_record(where, text, "expected \"NAME TYPE DATA [TTL]\"");
    memset(r, 0, sizeof *r);
    r->ttl = 300;
    r->owner_len = name_to_wire(tok[0], r->owner, &why);
    if (!r->owner_len)
        return bad_record(where, text, why);
    uint32_t ttl;
    if (parse_ttl(tok[1], &ttl) == 0 || is_class(tok[1])) {
        /* A zone line: up to one TTL and one class, then the type. */
        size_t k = 1;
        bool have_ttl = false, have_class = false;
        for (; k < nt && k < 3; k++) {
            if (!have_ttl && parse_ttl(tok[k], &ttl) == 0) {
                have_ttl = true;
                r->ttl = ttl;
            } else if (!have_class && is_class(tok[k])) {
                if (strcasecmp(tok[k], "IN"))
                    return bad_record(where, text, "only class IN is judged");
                have_class = true;
            } else {
                break;
            }
        }
        if (k >= nt)
            return bad_record(where, text, "expected \"NAME [TTL] [CLASS] TYPE DATA\"");
        if (type_from_text(tok[k], &r->type) != 0 || r->type == DNS_T_TXT ||
            r->type == DNS_T_MX || r->type == DNS_T_NS || r->type == DNS_T_ANY) {
            if (!is_other_type(tok[k]))
                return bad_record(where, text, "unknown record type in a zone line");
            fprintf(stderr, "dnswatch explain: %s: %s record skipped (the rules read A, AAAA, "
                            "CNAME, DNAME, HTTPS, SVCB and RRSIG)\n", where, tok[k]);
            return 1;
        }
        return zone_data(where, text, r, tok + k + 1, nt - k - 1);
    }
    if (type_from_text(tok[1], &r->type) != 0 ||
        (r->type != DNS_T_A && r->type != DNS_T_AAAA && r->type != DNS_T_CNAME &&
         r->type != DNS_T_DNAME && r->type != DNS_T_HTTPS && r->type != DNS_T_SVCB &&
         r->type != DNS_T_RRSIG))
        return bad_record(where, text, "TYPE must be A, AAAA, CNAME, DNAME, HTTPS, SVCB or RRSIG");

    size_t ndata = nt - 2; /* tokens after TYPE; a last numeric one is the TTL */
    if (ndata >= 2 && parse_ttl(tok[nt - 1], &r->ttl) == 0)
        ndata--;
    else if (ndata >= 2 && r->type != DNS_T_HTTPS && r->type != DNS_T_SVCB)
        return bad_record(where, text, "TTL must be a number from 0 to 4294967295");
    char **data = tok + 2;

    if (r->type != DNS_T_HTTPS && r->type != DNS_T_SVCB && ndata != 1)
        return bad_record(where, text, "expected \"NAME TYPE DATA [TTL]\"");
    switch (r->type) {
    case DNS_T_A:
        if (inet_pton(AF_INET, data[0], r->rdata) != 1)
            return bad_record(where, text, "A data must be an IPv4 address");
        r->rdlen = 4;
        break;
    case DNS_T_AAAA:
        if (inet_pton(AF_INET6, data[0], r->rdata) != 1)
            return bad_record(where, text, "AAAA data must be an IPv6 address");
        r->rdlen = 16;
        break;
    case DNS_T_CNAME:
    case DNS_T_DNAME:
        r->rdlen = name_to_wire(data[0], r->rdata, &why);
        if (!r->rdlen)
            return bad_record(where, text, why);
        break;
    case DNS_T_RRSIG:
        return rrsig_data(where, text, r, data[0]);
    default: { /* SVCB, HTTPS: priority 1, target ".", then the hints */
        int last_key = 0;
        r->rdata[0] = 0;
        r->rdata[1] = 1;
        r->rdata[2] = 0;
        r->rdlen = 3;
        for (size_t i = 0; i < ndata; i++)
            if (svcb_param(data[i], r->rdata, &r->rdlen, sizeof r->rdata, &last_key, &why) != 0)
                return bad_record(where, text, why);
        break;
    }
    }
    return 0;
}

/* A stand-in signature: only its presence matters to the rules. */
static int rrsig_data(const char *where, const char *text, record *r, const char *covered_text)
{
    {
        uint16_t covered;
        if (type_from_text(covered_text, &covered) != 0)
            return bad_record(where, text, "RRSIG data must be the covered type (A, AAAA, ...)");
        uint8_t *p = r->rdata;
        unsigned labels = 0;
        for (size_t i = 0; r->owner[i]; i += r->owner[i] + 1u)
            labels++;
        const uint8_t fixed[18] = {(uint8_t)(covered >> 8), (uint8_t)covered, 13,
                                   (uint8_t)labels, 0, 0, 1, 44, /* original TTL 300 */
                                   0xff, 0xff, 0xff, 0xff,       /* expiration */
                                   0, 0, 0, 0,                   /* inception */
                                   0x12, 0x34};                  /* key tag */
        memcpy(p, fixed, sizeof fixed);
        memcpy(p + sizeof fixed, r->owner, r->owner_len);
        r->rdlen = sizeof fixed + r->owner_len + 64; /* a zero ECDSA P-256 signature */
    }
    return 0;
}

static void w_opt(wbuf *w, bool dnssec_ok)
{
    w_u8(w, 0);
    w_u16(w, DNS_T_OPT);
    w_u16(w, 1232);
    w_u32(w, dnssec_ok ? 0x8000u : 0);
    w_u16(w, 0);
}

/* The query (QR clear) and the response, same id and question. */
static int build_messages(const explain_opts *o, wbuf *query, wbuf *resp)
{
    static record recs[MAX_RECORDS];
    uint8_t qname[DNS_NAME_MAX];
    size_t qlen = 0, nrec = 0;
    uint16_t qtype = DNS_T_A;
    const char *why = NULL;
    int bad = 0;

    for (size_t i = 0; i < o->n_records; i++) {
        int rc = parse_record(o->where[i], o->records[i], &recs[nrec]);
        if (rc < 0)
            bad = rc; /* every bad line is said, then nothing is explained */
        else if (rc == 0)
            nrec++;
    }
    if (bad)
        return bad;
    if (nrec == 0 && !o->qname) {
        fprintf(stderr, "dnswatch explain: no A, AAAA, CNAME, DNAME, HTTPS, SVCB or RRSIG "
                        "record to explain\n");
        return -EINVAL;
    }
    if (o->qname) {
        qlen = name_to_wire(o->qname, qname, &why);
        if (!qlen) {
            fprintf(stderr, "dnswatch explain: --qname \"%s\": %s\n", o->qname, why);
            return -EINVAL;
        }
    } else {
        qlen = recs[0].owner_len;
        memcpy(qname, recs[0].owner, qlen);
        if (recs[0].type == DNS_T_AAAA)
            qtype = DNS_T_AAAA;
    }
    if (o->qtype)
        qtype = o->qtype;

    const uint16_t id = 0x4242;
    query->n = 0;
    w_u16(query, id);
    w_u16(query, DNS_F_RD);
    w_u16(query, 1);
    w_u16(query, 0);
    w_u16(query, 0);
    w_u16(query, 1);
    w_bytes(query, qname, qlen);
    w_u16(query, qtype);
    w_u16(query, 1);
    w_opt(query, o->query_do);

    resp->n = 0;
    w_u16(resp, id);
    w_u16(resp, DNS_F_QR | DNS_F_RD | DNS_F_RA | (o->ad ? DNS_F_AD : 0) | (o->rcode & 0xf));
    w_u16(resp, 1);
    w_u16(resp, (unsigned)nrec);
    w_u16(resp, 0);
    w_u16(resp, 1);
    w_bytes(resp, qname, qlen);
    w_u16(resp, qtype);
    w_u16(resp, 1);
    for (size_t i = 0; i < nrec; i++) {
        const record *r = &recs[i];
        w_bytes(resp, r->owner, r->owner_len);
        w_u16(resp, r->type);
        w_u16(resp, 1);
        w_u32(resp, r->ttl);
        w_u16(resp, (unsigned)r->rdlen);
        w_bytes(resp, r->rdata, r->rdlen);
    }
    w_opt(resp, o->query_do);
    if (query->overflow || resp->overflow) {
        fprintf(stderr, "dnswatch explain: the records do not fit in one DNS message\n");
        return -EMSGSIZE;
    }
    return 0;
}

/* ---- explaining one response -------------------------------------------------------- */

typedef struct trace_line {
    const dw_rule *rule;
    const char *check; /* static, from eval.c */
    int verdict;
    char detail[512];
} trace_line;

typedef struct explain_state {
    evaluator *ev;
    const asn_db *db;
    dns_msg *msg;
    eval_result *res;
    trace_line *lines;
    size_t n_lines, cap_lines;
    bool oom;
    unsigned n_responses, n_alerting;
    dw_counters counters;
    bool json;      /* --json */
    json_buf jb;
} explain_state;

static void on_trace(void *ctx, const dw_rule *rule, const char *check, int verdict,
                     const char *detail)
{
    explain_state *st = ctx;
    if (st->n_lines == st->cap_lines) {
        size_t cap = st->cap_lines ? st->cap_lines * 2 : 64;
        trace_line *l = realloc(st->lines, cap * sizeof *l);
        if (!l) {
            st->oom = true;
            return;
        }
        st->lines = l;
        st->cap_lines = cap;
    }
    trace_line *t = &st->lines[st->n_lines++];
    t->rule = rule;
    t->check = check;
    t->verdict = verdict;
    snprintf(t->detail, sizeof t->detail, "%s", detail);
}

static void lowest(void *ctx, uint32_t value)
{
    uint32_t *best = ctx;
    if (value < *best)
        *best = value;
}

/* The first chain name through which the rule applies (the evaluator found one), and the
 * first of the rule's patterns that covers it, matched by the engine's own name sets. */
static const char *matched_name(const dw_rule *rule, const eval_result *r, const char **pattern)
{
    nameset *own = nameset_new();
    for (size_t i = 0; own && i < rule->names.n; i++)
        if (nameset_add(own, rule->names.v[i], (uint32_t)i) != 0) {
            nameset_free(own);
            own = NULL;
        }
    for (unsigned c = 0; own && c < r->n_chain; c++) {
        const char *name = r->chain[c];
        if (rule->except && nameset_contains(rule->except, name, strlen(name)))
            continue;
        uint32_t best = UINT32_MAX;
        if (nameset_match(own, name, strlen(name), lowest, &best) && best < rule->names.n) {
            nameset_free(own);
            *pattern = rule->names.v[best];
            return name;
        }
    }
    nameset_free(own);
    *pattern = "?";
    return "?";
}

static void print_addr(const explain_state *st, int family, const uint8_t *a)
{
    char ip[DNS_IPV6_TEXT_MAX], v4[DNS_IPV6_TEXT_MAX];
    dns_format_ip(family, a, ip);
    printf("address: %s", ip);
    asn_info ai;
    if (!st->db)
        printf(", ASN database off");
    else if (asn_lookup(st->db, family, a, &ai) == 1)
        printf(", AS%u (%.*s)", ai.number, ai.org ? (int)ai.org_len : 1, ai.org ? ai.org : "?");
    else
        printf(", in no AS of the ASN database");
    special_result sr = special_classify(family, a);
    if (sr.via) {
        dns_format_ip(sr.family, sr.judged, v4);
        printf(", %s %s", sr.via, v4);
    }
    if (sr.kind == SPECIAL_SINKHOLE)
        printf(", sinkhole address");
    else if (sr.kind == SPECIAL_REBIND)
        printf(", special-purpose range %s", sr.range);
    putchar('\n');
}

static void on_hint(void *ctx, int family, const uint8_t *addr)
{
    print_addr(ctx, family, addr);
}

static void print_response(explain_state *st, const pkt_info *pi, const dns_msg *m)
{
    const eval_result *r = st->res;
    char srv[DNS_IPV6_TEXT_MAX], cli[DNS_IPV6_TEXT_MAX], qn[DNS_NAME_TEXT_MAX], tb[16], rb[16],
        data[1024];

    dns_format_ip(pi->ip_version, pi->src, srv);
    dns_format_ip(pi->ip_version, pi->dst, cli);
    if (!m->has_question || dns_msg_name_text(m, m->qname_off, qn, false) < 0)
        strcpy(qn, "(no question)");
    printf("response: %s %s from %s to %s, %s, flags", qn,
           m->has_question ? dns_type_name(m->qtype, tb) : "-", srv, cli,
           dns_rcode_name(m->rcode, rb));
    for (size_t i = 0; i < DNS_FLAG_COUNT; i++) {
        uint16_t bit;
        const char *name = dns_flag(i, &bit);
        if (m->flags & bit)
            printf(" %s", name);
    }
    if (m->has_opt)
        printf(", EDNS%s", m->edns_do ? " DO" : "");
    putchar('\n');

    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        if (rr->type == DNS_T_OPT)
            continue;
        if (dns_msg_name_text(m, rr->name_off, qn, false) < 0)
            strcpy(qn, "?");
        dns_rdata_text(m, rr, data, sizeof data);
        printf("%s: %s %s %s ttl %u\n",
               rr->section == DNS_SEC_ANSWER      ? "answer"
               : rr->section == DNS_SEC_AUTHORITY ? "authority"
                                                  : "additional",
               qn, dns_type_name(rr->type, tb), data, rr->ttl);
    }

    /* The question's chain, then the chains of answer owners outside it (eval.h). */
    if (r->n_groups == 0)
        printf("chain:\n");
    for (unsigned g = 0; g < r->n_groups; g++) {
        printf("%s:", g == 0 && m->has_question ? "chain" : "owner chain");
        for (unsigned i = r->group[g].first; i < (unsigned)r->group[g].first + r->group[g].n; i++)
            printf("%s %s", i > r->group[g].first ? " ->" : "", r->chain[i]);
        putchar('\n');
    }
    if (r->owners_beyond)
        printf("owner chain: more owners than the %d chains kept, matched one by one\n",
               EVAL_MAX_GROUPS);

    /* The addresses the evaluator judges: every address of the answer section, whatever
     * its owner (musl uses them all); the trace says which rules judge which. */
    unsigned n_addr = 0;
    if (m->has_question && r->n_groups > 0 && r->group[0].n == EVAL_MAX_CHAIN + 1)
        printf("chain: stopped after %d steps\n", EVAL_MAX_CHAIN);
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        uint8_t a[16];
        if (rr->section != DNS_SEC_ANSWER)
            continue;
        if (rr->type == DNS_T_A || rr->type == DNS_T_AAAA) {
            int n = dns_rr_addr(m, rr, a);
            if (n) {
                print_addr(st, n == 16 ? 6 : 4, a);
                n_addr++;
            }
        } else if (rr->type == DNS_T_SVCB || rr->type == DNS_T_HTTPS) {
            int n = dns_svcb_hints(m, rr, on_hint, st);
            if (n > 0)
                n_addr += (unsigned)n;
        }
    }
    if (!n_addr)
        printf("address: none\n");
}

static const eval_finding *finding_of(const eval_result *r, const dw_rule *rule)
{
    for (unsigned i = 0; i < r->n_findings; i++)
        if (r->findings[i].rule == rule)
            return &r->findings[i];
    return NULL;
}

static void print_rules(explain_state *st)
{
    const eval_result *r = st->res;
    size_t i = 0;
    if (st->n_lines == 0) {
        printf("no rule matched");
        for (unsigned c = 0; c < r->n_chain; c++)
            printf("%s %s", c ? "," : "", r->chain[c]);
        putchar('\n');
    }
    while (i < st->n_lines) {
        const dw_rule *rule = st->lines[i].rule;
        const char *pattern;
        const char *name = matched_name(rule, r, &pattern);
        if (strcmp(name, "?") == 0) /* (out_of_bailiwick: it watches a record's owner) */
            printf("rule %s (%s:%u) matched no name asked, watches a record's owner",
                   rule->id, rule->file, rule->line);
        else
            printf("rule %s (%s:%u) matched %s", rule->id, rule->file, rule->line, name);
        if (strcmp(pattern, name) != 0)
            printf(" (pattern %s)", pattern);
        putchar('\n');
        for (; i < st->n_lines && st->lines[i].rule == rule; i++) {
            const trace_line *t = &st->lines[i];
            printf("  %s: %s %s\n", t->check,
                   t->verdict > 0 ? "PASS" : t->verdict == 0 ? "FAIL" : "SKIP", t->detail);
        }
        const eval_finding *f = finding_of(r, rule);
        if (!f) {
            printf("  verdict: no alert\n");
            continue;
        }
        const char *names[DW_V_COUNT];
        size_t n = dw_violation_names(f->violations, names);
        printf("  verdict: alert [");
        for (size_t k = 0; k < n; k++)
            printf("%s%s", k ? ", " : "", names[k]);
        printf("]\n  reason: %s\n", f->reason);
    }
    if (r->findings_dropped)
        printf("(%u more rules with findings beyond the per-response limit)\n",
               r->findings_dropped);
}

/* ---- --json ------------------------------------------------------------------------- */

static void j_ip(json_buf *j, const char *key, int family, const uint8_t *a)
{
    char ip[DNS_IPV6_TEXT_MAX];
    dns_format_ip(family, a, ip);
    json_kv_str(j, key, ip);
}

static void j_addr(json_buf *j, const explain_state *st, int family, const uint8_t *a)
{
    json_obj_begin(j);
    j_ip(j, "ip", family, a);
    asn_info ai;
    json_key(j, "as");
    if (st->db && asn_lookup(st->db, family, a, &ai) == 1) {
        json_obj_begin(j);
        json_kv_u64(j, "number", ai.number);
        json_key(j, "organization");
        json_strn(j, ai.org ? ai.org : "", ai.org ? ai.org_len : 0);
        json_obj_end(j);
    } else {
        json_null(j);
    }
    special_result sr = special_classify(family, a);
    if (sr.via) {
        json_kv_str(j, "unwrapped_from", sr.via);
        j_ip(j, "unwrapped", sr.family, sr.judged);
    }
    json_key(j, "special_range");
    if (sr.kind != SPECIAL_NONE && sr.range)
        json_str(j, sr.range);
    else
        json_null(j);
    json_key(j, "sinkhole");
    json_bool(j, sr.kind == SPECIAL_SINKHOLE);
    json_obj_end(j);
}

typedef struct hint_json {
    json_buf *j;
    const explain_state *st;
} hint_json;

static void on_hint_json(void *ctx, int family, const uint8_t *addr)
{
    hint_json *h = ctx;
    j_addr(h->j, h->st, family, addr);
}

/* The response and the verdict of every rule as one JSON object on one line: the facts
 * of the text output, for scripts (docs/rules.md). */
static void print_json(explain_state *st, const pkt_info *pi, const dns_msg *m)
{
    const eval_result *r = st->res;
    json_buf *j = &st->jb;
    char qn[DNS_NAME_TEXT_MAX], tb[16], rb[16], data[1024];
    json_reset(j);
    json_obj_begin(j);

    json_key(j, "response");
    json_obj_begin(j);
    json_key(j, "question");
    if (m->has_question && dns_msg_name_text(m, m->qname_off, qn, false) >= 0) {
        json_obj_begin(j);
        json_kv_str(j, "name", qn);
        json_kv_str(j, "type", dns_type_name(m->qtype, tb));
        json_obj_end(j);
    } else {
        json_null(j);
    }
    j_ip(j, "server", pi->ip_version, pi->src);
    j_ip(j, "client", pi->ip_version, pi->dst);
    json_kv_str(j, "rcode", dns_rcode_name(m->rcode, rb));
    json_key(j, "flags");
    json_arr_begin(j);
    for (size_t i = 0; i < DNS_FLAG_COUNT; i++) {
        uint16_t bit;
        const char *name = dns_flag(i, &bit);
        if (m->flags & bit)
            json_str(j, name);
    }
    json_arr_end(j);
    json_key(j, "edns_do");
    if (m->has_opt)
        json_bool(j, m->edns_do);
    else
        json_null(j);
    json_obj_end(j);

    json_key(j, "records");
    json_arr_begin(j);
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        if (rr->type == DNS_T_OPT)
            continue;
        if (dns_msg_name_text(m, rr->name_off, qn, false) < 0)
            strcpy(qn, "?");
        dns_rdata_text(m, rr, data, sizeof data);
        json_obj_begin(j);
        json_kv_str(j, "section", rr->section == DNS_SEC_ANSWER      ? "answer"
                                  : rr->section == DNS_SEC_AUTHORITY ? "authority"
                                                                     : "additional");
        json_kv_str(j, "name", qn);
        json_kv_str(j, "type", dns_type_name(rr->type, tb));
        json_kv_str(j, "data", data);
        json_kv_u64(j, "ttl", rr->ttl);
        json_obj_end(j);
    }
    json_arr_end(j);

    json_key(j, "chains");
    json_arr_begin(j);
    for (unsigned g = 0; g < r->n_groups; g++) {
        json_obj_begin(j);
        json_kv_str(j, "kind", g == 0 && m->has_question ? "question" : "owner");
        json_key(j, "names");
        json_arr_begin(j);
        for (unsigned i = r->group[g].first; i < (unsigned)r->group[g].first + r->group[g].n; i++)
            json_str(j, r->chain[i]);
        json_arr_end(j);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_key(j, "owners_beyond");
    json_bool(j, r->owners_beyond);

    json_key(j, "addresses");
    json_arr_begin(j);
    hint_json h = {j, st};
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        uint8_t a[16];
        if (rr->section != DNS_SEC_ANSWER)
            continue;
        if (rr->type == DNS_T_A || rr->type == DNS_T_AAAA) {
            int n = dns_rr_addr(m, rr, a);
            if (n)
                j_addr(j, st, n == 16 ? 6 : 4, a);
        } else if (rr->type == DNS_T_SVCB || rr->type == DNS_T_HTTPS) {
            dns_svcb_hints(m, rr, on_hint_json, &h);
        }
    }
    json_arr_end(j);

    json_key(j, "rules");
    json_arr_begin(j);
    for (size_t i = 0; i < st->n_lines;) {
        const dw_rule *rule = st->lines[i].rule;
        const char *pattern;
        const char *name = matched_name(rule, r, &pattern);
        json_obj_begin(j);
        json_kv_str(j, "id", rule->id);
        json_kv_str(j, "file", rule->file);
        json_kv_u64(j, "line", rule->line);
        json_kv_str(j, "matched", name);
        json_kv_str(j, "pattern", pattern);
        json_key(j, "checks");
        json_arr_begin(j);
        for (; i < st->n_lines && st->lines[i].rule == rule; i++) {
            const trace_line *t = &st->lines[i];
            json_obj_begin(j);
            json_kv_str(j, "check", t->check);
            json_kv_str(j, "verdict", t->verdict > 0 ? "pass" : t->verdict == 0 ? "fail" : "skip");
            json_kv_str(j, "detail", t->detail);
            json_obj_end(j);
        }
        json_arr_end(j);
        const eval_finding *f = finding_of(r, rule);
        json_key(j, "alert");
        json_bool(j, f != NULL);
        json_key(j, "violations");
        json_arr_begin(j);
        if (f) {
            const char *names[DW_V_COUNT];
            size_t n = dw_violation_names(f->violations, names);
            for (size_t k = 0; k < n; k++)
                json_str(j, names[k]);
        }
        json_arr_end(j);
        json_key(j, "reason");
        if (f)
            json_str(j, f->reason);
        else
            json_null(j);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_kv_u64(j, "rules_beyond_limit", r->findings_dropped);
    json_key(j, "alert");
    json_bool(j, r->n_findings > 0);
    json_obj_end(j);
    json_newline(j);
    if (j->oom)
        st->oom = true;
    else
        fwrite(j->p, 1, j->len, stdout);
}

/* Explains one response. Queries are fed to the evaluator for tracking. */
static void explain_one(explain_state *st, const pkt_info *pi, const uint8_t *buf, size_t len)
{
    dns_msg *m = st->msg;
    if (dns_parse(m, buf, len, &st->counters) != 0)
        return;
    if (!dns_msg_is_answer(m)) { /* judged as the sensor judges it (sensor/worker.c) */
        evaluator_query(st->ev, pi, m);
        return;
    }
    st->n_lines = 0;
    evaluator_response(st->ev, pi, m, st->res);
    if (st->json) {
        st->n_responses++;
        print_json(st, pi, m);
    } else {
        if (st->n_responses++)
            putchar('\n');
        print_response(st, pi, m);
        print_rules(st);
    }
    if (st->res->n_findings)
        st->n_alerting++;
}

/* ---- the command -------------------------------------------------------------------- */

/* The day exceptions and allow entries are judged on (--now, default today): the same at
 * load and at each judgement. */
static time_t explain_now;
static time_t explain_clock(void) { return explain_now; }

static void on_diag(void *ctx, const ruleset_diag *d)
{
    char line[1024];
    (void)ctx;
    ruleset_diag_format(d, line, sizeof line);
    fprintf(stderr, "%s\n", line);
}

static void on_pcap_dns(void *ctx, const pkt_info *pi, const uint8_t *msg, size_t len)
{
    explain_one(ctx, pi, msg, len);
}

typedef struct pcap_ctx {
    dw_decoder *dec;
    explain_state *st;
    int dlt;
} pcap_ctx;

static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes)
{
    pcap_ctx *pc = (pcap_ctx *)(void *)user; /* our own pointer, handed back by libpcap */
    uint64_t ts = (uint64_t)h->ts.tv_sec * 1000000u + (uint64_t)h->ts.tv_usec;
    dw_decoder_packet(pc->dec, pc->dlt, ts, bytes, h->caplen, on_pcap_dns, pc->st);
}

static int explain_pcap(explain_state *st, const char *path)
{
    char err[PCAP_ERRBUF_SIZE] = "";
    pcap_t *p = pcap_open_offline(path, err);
    if (!p) {
        fprintf(stderr, "dnswatch explain: cannot read %s: %s\n", path, err);
        return -EINVAL;
    }
    int rc = -EINVAL;
    dw_decoder_config cfg;
    dw_decoder_config_default(&cfg);
    pcap_ctx pc = {dw_decoder_new(&cfg, &st->counters), st, pcap_datalink(p)};
    if (!pc.dec) {
        fprintf(stderr, "dnswatch explain: out of memory\n");
        goto out;
    }
    if (!pkt_dlt_supported(pc.dlt)) {
        fprintf(stderr, "dnswatch explain: %s: link type %d is not supported\n", path, pc.dlt);
        goto out;
    }
    if (pcap_loop(p, -1, on_packet, (u_char *)&pc) == PCAP_ERROR) {
        fprintf(stderr, "dnswatch explain: %s: %s\n", path, pcap_geterr(p));
        goto out;
    }
    dw_decoder_flush(pc.dec, on_pcap_dns, st);
    rc = 0;
out:
    dw_decoder_free(pc.dec);
    pcap_close(p);
    return rc;
}

static int explain_records(explain_state *st, const explain_opts *o)
{
    static wbuf query, resp;
    if (build_messages(o, &query, &resp) != 0)
        return -EINVAL;
    pkt_info pi;
    memset(&pi, 0, sizeof pi);
    pi.ip_version = (uint8_t)o->server_family;
    pi.proto = 17;
    /* The query, client to server: it carries the DO bit the evaluator tracks. */
    pi.ts_us = 1000000;
    inet_pton(o->server_family == 4 ? AF_INET : AF_INET6,
              o->server_family == 4 ? "10.0.0.1" : "fd00::1", pi.src);
    memcpy(pi.dst, o->server, 16);
    pi.sport = 53001;
    pi.dport = 53;
    pi.payload = query.b;
    pi.payload_len = query.n;
    explain_one(st, &pi, query.b, query.n);
    /* The response, server to client. */
    pkt_info rpi = pi;
    rpi.ts_us = 1001000;
    memcpy(rpi.src, pi.dst, 16);
    memcpy(rpi.dst, pi.src, 16);
    rpi.sport = 53;
    rpi.dport = 53001;
    rpi.payload = resp.b;
    rpi.payload_len = resp.n;
    explain_one(st, &rpi, resp.b, resp.n);
    if (st->n_responses == 0) {
        fprintf(stderr, "dnswatch explain: the response built from the records did not parse\n");
        return -EINVAL;
    }
    return 0;
}

int explain_main(int argc, char **argv)
{
    explain_opts o;
    int status = parse_args(&o, argc, argv);
    if (status != 1) {
        free(o.stdin_text);
        return status;
    }
    status = 2;

    ruleset *rs = NULL;
    asn_db *db = NULL;
    explain_state st;
    memset(&st, 0, sizeof st);
    json_init(&st.jb);
    st.json = o.json;

    if (ruleset_load(o.rule_paths, o.n_rule_paths, o.now, on_diag, NULL, &rs) != 0) {
        fprintf(stderr, "dnswatch explain: rules not loaded (fix the errors above)\n");
        goto out;
    }
    bool wants_asn = false;
    for (size_t i = 0; i < ruleset_count(rs); i++)
        if (ruleset_rule(rs, i)->n_asn)
            wants_asn = true;
    for (size_t i = 0; i < ruleset_allow_count(rs); i++)
        if (ruleset_allow(rs, i)->n_asn)
            wants_asn = true;
    if (o.asn_db && strcmp(o.asn_db, "none") != 0) {
        char err[512];
        if (asn_db_open(o.asn_db, &db, err, sizeof err) != 0) {
            fprintf(stderr, "dnswatch explain: %s (or pass --asn-db none)\n", err);
            goto out;
        }
    } else if (!o.asn_db && wants_asn) {
        fprintf(stderr, "dnswatch explain: the rules expect ASNs: pass --asn-db FILE.mmdb, or "
                        "--asn-db none to explain without ASN checks\n");
        goto out;
    }

    track_limits tl = {0};
    st.db = db;
    st.ev = evaluator_new(rs, db, &tl);
    st.msg = malloc(sizeof *st.msg);
    st.res = malloc(sizeof *st.res);
    if (!st.ev || !st.msg || !st.res) {
        fprintf(stderr, "dnswatch explain: out of memory\n");
        goto out;
    }
    evaluator_set_trace(st.ev, on_trace, &st);
    explain_now = o.now;
    evaluator_set_clock(st.ev, explain_clock);

    if ((o.pcap_file ? explain_pcap(&st, o.pcap_file) : explain_records(&st, &o)) != 0)
        goto out;
    if (st.oom) {
        fprintf(stderr, "dnswatch explain: out of memory\n");
        goto out;
    }
    if (o.pcap_file && o.json)
        printf("{\"summary\":{\"responses\":%u,\"alerting\":%u}}\n", st.n_responses,
               st.n_alerting);
    else if (o.pcap_file)
        printf("\n%u responses, %u would raise an alert\n", st.n_responses, st.n_alerting);
    status = st.n_alerting ? 1 : 0;
out:
    if (fflush(stdout) != 0 && status != 2) {
        fprintf(stderr, "dnswatch explain: writing the output failed\n");
        status = 2;
    }
    evaluator_free(st.ev);
    free(st.msg);
    free(st.res);
    free(st.lines);
    json_free(&st.jb);
    asn_db_close(db);
    ruleset_free(rs);
    free(o.stdin_text);
    return status;
}
