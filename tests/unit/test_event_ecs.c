/* The ECS fields of an event (issue 14): related.ip names each address once (client,
 * server, answers), dns.header_flags holds only ECS's values, every event says its ECS
 * version, categories, observer and message; ATT&CK tags become threat.* with names
 * from the table, unknown ids keeping id and reference only. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "decoders/dns.h"
#include "sensor/attack.h"
#include "sensor/event.h"
#include "tests/lib/dnsbuild.h"

static dns_msg *M;
static dw_counters C;
static dnsb B;
static event_encoder *E;
static pkt_info PI;
static char *Text; /* encode_text() */

static int setup(void **state)
{
    (void)state;
    M = malloc(sizeof *M);
    event_meta meta = {"span-1", "eth1", "sensor-host"};
    E = event_encoder_new(&meta);
    memset(&PI, 0, sizeof PI);
    PI.ts_us = 1795780800000000ull;
    PI.ip_version = 4;
    PI.proto = 17;
    memcpy(PI.src, (uint8_t[]){10, 10, 0, 53}, 4);
    memcpy(PI.dst, (uint8_t[]){10, 1, 2, 3}, 4);
    PI.sport = 53;
    PI.dport = 40000;
    return M && E ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    free(M);
    free(Text);
    event_encoder_free(E);
    return 0;
}

/* The log event of M, NUL-terminated (the encoder's lines are not): valid until the next
 * call, freed by teardown. */

static const char *encode_text(void)
{
    size_t len;
    const char *line = event_encode(E, &PI, M, NULL, &len);
    assert_non_null(line);
    free(Text);
    Text = strndup(line, len);
    assert_non_null(Text);
    return Text;
}

/* The text of member key (a JSON array or object) in line, as written. */
static void member(const char *line, const char *key, char *out, size_t cap)
{
    const char *p = strstr(line, key);
    assert_non_null(p);
    p += strlen(key);
    char open = *p, close = open == '[' ? ']' : '}';
    int depth = 0;
    size_t n = 0;
    do {
        if (*p == open)
            depth++;
        else if (*p == close)
            depth--;
        assert_true(n + 1 < cap);
        out[n++] = *p++;
    } while (depth > 0 && *p);
    out[n] = '\0';
}

/* A response from 10.10.0.53 whose answers repeat addresses, name the server itself,
 * and carry many distinct ones (past the table's small sizes). */
static void t_related_ip_each_once(void **state)
{
    (void)state;
    static const char *const ips[] = {"10.10.0.53", "192.0.2.1", "192.0.2.1",
                                      "2001:db8::1", "10.1.2.3", "2001:db8::1"};
    unsigned n = 6 + 20;
    dnsb_start(&B, 0x1234, 0x8180, "pypi.org", DNS_T_A, n, 0, 0);
    for (unsigned k = 0; k < 6; k++)
        dnsb_rr_addr(&B, 12, 60, ips[k]);
    for (unsigned k = 0; k < 20; k++) {
        char ip[32];
        snprintf(ip, sizeof ip, "198.51.100.%u", k / 2); /* each twice */
        dnsb_rr_addr(&B, 12, 60, ip);
    }
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
    const char *line = encode_text();
    char got[2048], want[2048];
    member(line, "\"related\":{\"ip\":", got, sizeof got);
    size_t w = (size_t)snprintf(want, sizeof want,
                                "[\"10.1.2.3\",\"10.10.0.53\",\"192.0.2.1\",\"2001:db8::1\"");
    for (unsigned k = 0; k < 10; k++)
        w += (size_t)snprintf(want + w, sizeof want - w, ",\"198.51.100.%u\"", k);
    snprintf(want + w, sizeof want - w, "]");
    assert_string_equal(got, want);
    /* A second event starts its own set. */
    dnsb_start(&B, 0x1235, 0x8180, "pypi.org", DNS_T_A, 1, 0, 0);
    dnsb_rr_addr(&B, 12, 60, "192.0.2.1");
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
    line = encode_text();
    member(line, "\"related\":{\"ip\":", got, sizeof got);
    assert_string_equal(got, "[\"10.1.2.3\",\"10.10.0.53\",\"192.0.2.1\"]");
}

/* QR is not an ECS header flag; the others and DO are. An answer with QR clear says so. */
static void t_header_flags_ecs_only(void **state)
{
    (void)state;
    char got[256];
    dnsb_start(&B, 0x1234, 0x8580 | 0x0030, "pypi.org", DNS_T_A, 1, 0, 0); /* QR AA RD RA AD CD */
    dnsb_rr_addr(&B, 12, 60, "151.101.0.223");
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
    const char *line = encode_text();
    member(line, "\"header_flags\":", got, sizeof got);
    assert_string_equal(got, "[\"AA\",\"RD\",\"RA\",\"AD\",\"CD\"]");
    assert_null(strstr(line, "qr_clear"));

    dnsb_start(&B, 0x1234, 0x0100, "pypi.org", DNS_T_A, 1, 0, 0); /* RD only, QR clear */
    dnsb_rr_addr(&B, 12, 60, "151.101.0.223");
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
    line = encode_text();
    member(line, "\"header_flags\":", got, sizeof got);
    assert_string_equal(got, "[\"RD\"]");
    assert_non_null(strstr(line, "\"qr_clear\":true"));
    assert_non_null(strstr(line, "\"type\":\"answer\""));
}

/* The message names the question as the event's dns.question.name has it, escaping
 * included: a name with a quote, a backslash and a control byte cannot end the string. */
static void t_message_hostile_name(void **state)
{
    (void)state;
    dnsb_hdr(&B, 0x1234, 0x8180, 1, 1, 0, 0);
    dnsb_label(&B, "a\"b\\c\x01\xff", 7);
    dnsb_name(&B, "example");
    dnsb_u16(&B, DNS_T_A);
    dnsb_u16(&B, 1);
    dnsb_rr_addr(&B, 12, 60, "192.0.2.1");
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
    const char *line = encode_text();
    const char *q = strstr(line, "\"question\":{\"name\":\"");
    assert_non_null(q);
    q += strlen("\"question\":{\"name\":\"");
    const char *qe = strstr(q, "\",\"type\"");
    assert_non_null(qe);
    char want[256];
    snprintf(want, sizeof want,
             "\"message\":\"DNS answer NOERROR from 10.10.0.53 to 10.1.2.3 for %.*s A, 1 answer\"}",
             (int)(qe - q), q);
    assert_non_null(strstr(line, want));
    /* the presentation text (a\034b\\c\001\255.example), its backslashes escaped */
    assert_non_null(strstr(want, "for a\\\\034b\\\\\\\\c\\\\001\\\\255.example A"));
}

/* The fields every event carries, on each kind of event. */
static void write_nothing(void *ctx, json_buf *j)
{
    (void)ctx;
    (void)j;
}

static void t_every_event_identifies_itself(void **state)
{
    (void)state;
    static const char observer[] =
        "\"observer\":{\"name\":\"span-1\",\"hostname\":\"sensor-host\",\"type\":\"sensor\","
        "\"vendor\":\"dnswatch\",\"product\":\"dnswatch\",\"version\":\"" DNSWATCH_VERSION "\","
        "\"ingress\":{\"interface\":{\"name\":\"eth1\"}}}";
    static const char ecs[] = "\"ecs\":{\"version\":\"" EVENT_ECS_VERSION "\"}";
    const char *lines[3];
    char *copy[3];
    size_t len;
    dnsb_start(&B, 0x1234, 0x8180, "pypi.org", DNS_T_A, 1, 0, 0);
    dnsb_rr_addr(&B, 12, 60, "151.101.0.223");
    assert_int_equal(dns_parse(M, B.b, B.n, &C), 0);
    lines[0] = event_encode(E, &PI, M, NULL, &len);
    assert_non_null(lines[0]);
    copy[0] = strndup(lines[0], len);
    lines[1] = event_encode_health(E, PI.ts_us, "rules-reload", "failure", "rules: 1 error",
                                   NULL, 0, &len);
    assert_non_null(lines[1]);
    copy[1] = strndup(lines[1], len);
    lines[2] = event_encode_custom(E, PI.ts_us, "metric", "dnswatch.metrics", write_nothing,
                                   NULL, "sensor counters", &len);
    assert_non_null(lines[2]);
    copy[2] = strndup(lines[2], len);
    for (int i = 0; i < 3; i++) {
        assert_non_null(strstr(copy[i], observer));
        assert_non_null(strstr(copy[i], ecs));
        assert_non_null(strstr(copy[i], "\"category\":["));
        assert_non_null(strstr(copy[i], "\"message\":\""));
    }
    assert_non_null(strstr(copy[0], "\"category\":[\"network\"],\"type\":[\"protocol\"]"));
    assert_non_null(strstr(copy[0], "\"protocol\":\"dns\""));
    assert_non_null(strstr(copy[0], "\"source\":{\"ip\":\"10.1.2.3\",\"port\":40000}"));
    assert_non_null(strstr(copy[0], "\"destination\":{\"ip\":\"10.10.0.53\",\"port\":53}"));
    assert_non_null(strstr(copy[0], "\"message\":\"DNS answer NOERROR from 10.10.0.53 to "
                                    "10.1.2.3 for pypi.org A, 1 answer\""));
    assert_non_null(strstr(copy[1], "\"category\":[\"configuration\"],\"type\":[\"change\"]"));
    assert_non_null(strstr(copy[1], "\"message\":\"rules: 1 error\""));
    assert_non_null(strstr(copy[2], "\"message\":\"sensor counters\""));
    for (int i = 0; i < 3; i++)
        free(copy[i]);
}

static const char *threat_of(json_buf *j, const char *const *tags, size_t n, bool *wrote)
{
    json_reset(j);
    json_obj_begin(j);
    *wrote = attack_write_threat(j, tags, n);
    json_obj_end(j);
    json_newline(j);
    j->p[j->len - 1] = '\0';
    return j->p;
}

static void t_attack_tags_to_threat(void **state)
{
    (void)state;
    json_buf j;
    json_init(&j);
    bool wrote;
    static const char *const tags[] = {"attack.t1584.002", "attack.T1584.001", "attack.t9999",
                                       "attack.initial_access", "dns", "attack.t1557",
                                       "attack.t1584.002"};
    const char *t = threat_of(&j, tags, 7, &wrote);
    assert_true(wrote);
    assert_string_equal(
        t, "{\"threat\":{\"framework\":\"MITRE ATT&CK\",\"technique\":{"
           "\"id\":[\"T1584\",\"T9999\",\"T1557\"],"
           "\"name\":[\"Compromise Infrastructure\",\"Adversary-in-the-Middle\"],"
           "\"reference\":[\"https://attack.mitre.org/techniques/T1584/\","
           "\"https://attack.mitre.org/techniques/T9999/\","
           "\"https://attack.mitre.org/techniques/T1557/\"],"
           "\"subtechnique\":{\"id\":[\"T1584.002\",\"T1584.001\"],"
           "\"name\":[\"DNS Server\",\"Domains\"],"
           "\"reference\":[\"https://attack.mitre.org/techniques/T1584/002/\","
           "\"https://attack.mitre.org/techniques/T1584/001/\"]}},"
           "\"tactic\":{\"id\":[\"TA0042\",\"TA0001\",\"TA0006\",\"TA0009\"],"
           "\"name\":[\"Resource Development\",\"Initial Access\",\"Credential Access\","
           "\"Collection\"],"
           "\"reference\":[\"https://attack.mitre.org/tactics/TA0042/\","
           "\"https://attack.mitre.org/tactics/TA0001/\","
           "\"https://attack.mitre.org/tactics/TA0006/\","
           "\"https://attack.mitre.org/tactics/TA0009/\"]}}}");

    /* Nothing ATT&CK: no threat at all. */
    static const char *const none[] = {"attack.t123", "attack.t12345", "attack.t1584.02",
                                       "attack.t1584.0021", "attack.tx584", "attack.nope",
                                       "t1584", "pypi"};
    t = threat_of(&j, none, 8, &wrote);
    assert_false(wrote);
    assert_string_equal(t, "{}");
    json_free(&j);

    char tech[6], sub[10];
    assert_true(attack_parse_technique("ATTACK.T1195.002", tech, sub));
    assert_string_equal(tech, "T1195");
    assert_string_equal(sub, "T1195.002");
    assert_true(attack_parse_technique("attack.t1557", tech, sub));
    assert_string_equal(sub, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_related_ip_each_once),
        cmocka_unit_test(t_header_flags_ecs_only),
        cmocka_unit_test(t_message_hostile_name),
        cmocka_unit_test(t_every_event_identifies_itself),
        cmocka_unit_test(t_attack_tags_to_threat),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
