#include "sensor/event.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "common/hash.h"
#include "decoders/dns_present.h"
#include "decoders/dnstap.h"


/* Room for the presentation text of the largest record data: a 65535-byte TXT record
 * whose every byte becomes "\DDD". */
#define RDATA_TEXT_MAX (65535u * 4u + 64u)

/* related.ip of one event: every address it names (client, server, answers), each once,
 * in the order first named, and the JSON array of them built as they come. The first
 * RELATED_LINEAR are compared one by one (nearly every event); past them a hash set
 * over the addresses takes over, emptied per event by a new generation number rather
 * than cleared. */
#define RELATED_SLOTS 16384u /* a power of two, over twice RELATED_MAX */
#define RELATED_MAX (DNS_MAX_RRS + 2u)
#define RELATED_LINEAR 8u
_Static_assert(RELATED_SLOTS >= 2 * RELATED_MAX, "related.ip table at most half full");
typedef struct related_set {
    uint64_t seed;       /* random: packet contents cannot aim addresses at one slot */
    uint32_t gen;
    unsigned n;
    bool hashed;         /* past RELATED_LINEAR: every entry is in the slots */
    uint32_t slot_gen[RELATED_SLOTS];
    uint16_t slot_idx[RELATED_SLOTS];
    struct {
        uint64_t key[2]; /* the address, zero-padded to 16 bytes */
        uint8_t len;     /* 4 or 16 */
    } ip[RELATED_MAX];
    size_t arr_len;      /* arr: "[" then each address quoted, with a comma after it */
    char arr[2 + RELATED_MAX * (DNS_IPV6_TEXT_MAX + 3)];
} related_set;

struct event_encoder {
    event_meta meta;
    json_buf j;
    json_buf observer;   /* the observer object's text, the same in every event */
    json_buf observer_bare; /* the same without the ingress interface (dnstap messages) */
    related_set *rel;
    char hostname[256];
    uint64_t id_hi;      /* random per encoder: ids are unique across workers and restarts */
    uint64_t id_seq;
    char id_hi_hex[16];  /* id_hi as the event id's first 16 hex digits */
    char last_id[EVENT_ID_LEN + 1]; /* the id of the last event begun */
    char *rdtext;
    /* The question name's text, for the answers that name their owner by a pointer to
     * it (nearly all of them); qtext_len < 0 when it cannot stand in (see write_owner). */
    int qtext_len;
    int qname_len;       /* the question's text in qtext, whatever its form; -1: none */
    size_t qjson_off, qjson_end; /* the question name's JSON string in j (quotes included) */
    char qtext[DNS_NAME_TEXT_MAX];
    /* The size bound (event.h) of the event being encoded: its limits, and which records
     * of each section it shows (plan_records), by enum dns_section. */
    event_limits lim;
    unsigned sec_total[4], sec_shown[4];
    uint8_t ans_show[(DNS_MAX_RRS + 7) / 8];
};

/* Tighter and tighter limits, tried in turn until the line fits EVENT_MAX_BYTES. The last
 * keeps counts, the question, the reason and at most 4 chain names and 1 finding: at most
 * a few KiB of attacker-chosen text (4 names of <= 2 KiB escaped, 1 evidence name). */
static const event_limits LIMITS[] = {
    {EVENT_ANSWERS_SHOWN, EVENT_DATA_TEXT_MAX, EVENT_FINDINGS_SHOWN, UINT32_MAX},
    {8, 256, 8, UINT32_MAX},
    {0, 0, 4, 8},
    {0, 0, 1, 4},
};
#define N_LIMITS (sizeof LIMITS / sizeof LIMITS[0])

/* A logged response (no alert) is shown whole while it fits, before the limits above. */
static const event_limits WHOLE = {UINT32_MAX, UINT32_MAX, UINT32_MAX, UINT32_MAX};

const event_limits *event_encoder_limits(const event_encoder *e) { return &e->lim; }

/* Whether a record is listed in its section's array: every record but the OPT
 * pseudo-record of the additional section (EDNS is reported in dnswatch.edns). */
static bool listed(const dns_rr *rr)
{
    return rr->section != DNS_SEC_ADDITIONAL || rr->type != DNS_T_OPT;
}

/* Chooses the records shown under e->lim, at most lim.answers of each section: all when
 * they fit; else those that matter to the alert first (its offending addresses and
 * records, the chain's records), then the others, each in message order. */
static void plan_records(event_encoder *e, const dns_msg *m, const event_alert *alert)
{
    unsigned cap = e->lim.answers;
    memset(e->sec_total, 0, sizeof e->sec_total);
    memset(e->sec_shown, 0, sizeof e->sec_shown);
    for (unsigned i = 0; i < m->n_rr; i++)
        if (listed(&m->rr[i]))
            e->sec_total[m->rr[i].section & 3]++;
    bool all = true;
    for (unsigned s = DNS_SEC_ANSWER; s <= DNS_SEC_ADDITIONAL; s++) {
        all &= e->sec_total[s] <= cap;
        e->sec_shown[s] = e->sec_total[s] <= cap ? e->sec_total[s] : 0;
    }
    if (all) {
        memset(e->ans_show, 0xff, (m->n_rr + 7) / 8);
        return;
    }
    memset(e->ans_show, 0, (m->n_rr + 7) / 8);
    for (int pass = 0; pass < 2; pass++)
        for (unsigned i = 0; i < m->n_rr; i++) {
            const dns_rr *rr = &m->rr[i];
            unsigned s = rr->section & 3;
            if (!listed(rr) || (e->ans_show[i / 8] & (1u << (i % 8))))
                continue;
            bool fits = e->sec_total[s] <= cap;
            if (fits || (pass == 0 ? alert && alert->answer_matters &&
                                         e->sec_shown[s] < cap &&
                                         alert->answer_matters(alert->ctx, m, rr)
                                   : e->sec_shown[s] < cap)) {
                e->ans_show[i / 8] |= (uint8_t)(1u << (i % 8));
                if (!fits)
                    e->sec_shown[s]++;
            }
        }
}

static bool answer_shown(const event_encoder *e, unsigned i)
{
    return (e->ans_show[i / 8] >> (i % 8)) & 1u;
}

static unsigned findings_shown(const event_encoder *e, const event_alert *alert)
{
    unsigned kept = alert->findings_kept;
    return kept < e->lim.findings ? kept : e->lim.findings;
}

/* The observer object's text (write_observer_at), with the capture interface as its
 * ingress or without it. Returns false when memory ran out. */
static bool build_observer(event_encoder *e, json_buf *j, bool ingress)
{
    json_obj_begin(j);
    json_kv_str(j, "name", e->meta.observer_name);
    json_kv_str(j, "hostname", e->meta.hostname);
    json_kv_str(j, "type", "sensor");
    json_kv_str(j, "vendor", EVENT_OBSERVER_VENDOR);
    json_kv_str(j, "product", EVENT_OBSERVER_PRODUCT);
    json_kv_str(j, "version", DNSWATCH_VERSION);
    if (ingress && e->meta.iface) {
        json_key(j, "ingress");
        json_obj_begin(j);
        json_key(j, "interface");
        json_obj_begin(j);
        json_kv_str(j, "name", e->meta.iface);
        json_obj_end(j);
        json_obj_end(j);
    }
    json_obj_end(j);
    return !j->oom;
}

event_encoder *event_encoder_new(const event_meta *meta)
{
    event_encoder *e = calloc(1, sizeof *e);
    if (!e)
        return NULL;
    e->meta = *meta;
    json_init(&e->j);
    json_init(&e->observer);
    json_init(&e->observer_bare);
    e->rdtext = malloc(RDATA_TEXT_MAX);
    e->rel = calloc(1, sizeof *e->rel);
    if (!e->meta.hostname) {
        if (gethostname(e->hostname, sizeof e->hostname) != 0 || !e->hostname[0])
            snprintf(e->hostname, sizeof e->hostname, "localhost");
        e->hostname[sizeof e->hostname - 1] = '\0';
        e->meta.hostname = e->hostname;
    }
    if (!e->rdtext || !e->rel || !build_observer(e, &e->observer, true) ||
        !build_observer(e, &e->observer_bare, false)) {
        event_encoder_free(e);
        return NULL;
    }
    if (getrandom(&e->id_hi, sizeof e->id_hi, 0) != sizeof e->id_hi) {
        /* No entropy source: fall back to time and address, still distinct per encoder. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        e->id_hi = (uint64_t)ts.tv_sec * 1000000007u ^ (uint64_t)ts.tv_nsec ^ (uintptr_t)e;
    }
    for (int i = 0; i < 16; i++)
        e->id_hi_hex[15 - i] = "0123456789abcdef"[(e->id_hi >> (4 * i)) & 0xf];
    /* Not derived from id_hi: that half of every event id is in every event. */
    if (getrandom(&e->rel->seed, sizeof e->rel->seed, 0) != sizeof e->rel->seed)
        e->rel->seed = hash_mix64(e->id_hi ^ (uintptr_t)e->rel);
    e->lim = LIMITS[0];
    return e;
}

void event_encoder_free(event_encoder *e)
{
    if (!e)
        return;
    json_free(&e->j);
    json_free(&e->observer);
    json_free(&e->observer_bare);
    free(e->rdtext);
    free(e->rel);
    free(e);
}

void event_format_time(uint64_t ts_us, char out[40])
{
    /* gmtime and printf once per second of packet time per thread, not per event. */
    static __thread uint64_t cached_sec = UINT64_MAX;
    static __thread char cached[32];
    uint64_t sec = ts_us / 1000000u;
    if (sec != cached_sec) {
        time_t t = (time_t)sec;
        struct tm tm;
        gmtime_r(&t, &tm);
        /* The year is clamped so the text always fits. */
        int year = tm.tm_year + 1900;
        snprintf(cached, sizeof cached, "%04d-%02d-%02dT%02d:%02d:%02d.",
                 year < 0 ? 0 : year > 9999 ? 9999 : year, (tm.tm_mon + 1) % 100,
                 tm.tm_mday % 100, tm.tm_hour % 100, tm.tm_min % 100, tm.tm_sec % 100);
        cached_sec = sec;
    }
    memcpy(out, cached, 20);
    unsigned us = (unsigned)(ts_us % 1000000u);
    for (int i = 25; i >= 20; i--, us /= 10)
        out[i] = (char)('0' + us % 10);
    out[26] = 'Z';
    out[27] = '\0';
}

void event_format_ip(int ip_version, const uint8_t *addr, char out[DNS_IPV6_TEXT_MAX])
{
    /* By hand (decoders): glibc's inet_ntop goes through sprintf. */
    dns_format_ip(ip_version, addr, out);
}

static void write_name(event_encoder *e, const dns_msg *m, size_t off)
{
    char text[DNS_NAME_TEXT_MAX];
    int n = dns_msg_name_text(m, off, text, false);
    if (n < 0)
        json_null(&e->j);
    else
        json_strn(&e->j, text, (size_t)n);
}

/* write_name for the question, which also keeps its text when the name is stored
 * uncompressed: a pointer to it then unpacks to exactly these labels (names end only on
 * loops and length, never on a jump count, so the pointer adds nothing to fail on). */
static void write_question_name(event_encoder *e, const dns_msg *m)
{
    uint8_t wire[DNS_NAME_MAX];
    size_t end = 0;
    int wlen = dns_msg_name_unpack(m, m->qname_off, wire, &end);
    int n = wlen < 0 ? wlen : dns_wirename_text(wire, (size_t)wlen, e->qtext, false);
    if (n < 0) {
        json_null(&e->j);
        return;
    }
    e->qname_len = n;
    e->qjson_off = e->j.len;
    json_strn(&e->j, e->qtext, (size_t)n);
    e->qjson_end = e->j.len;
    if (end - m->qname_off == (size_t)wlen && m->qname_off < 0x4000)
        e->qtext_len = n;
}

/* An answer's owner name: the question's text when the owner is a bare pointer to the
 * question, else rendered from the message. */
static void write_owner(event_encoder *e, const dns_msg *m, size_t off)
{
    if (e->qtext_len >= 0 && dns_msg_name_is_question(m, off)) {
        json_strn(&e->j, e->qtext, (size_t)e->qtext_len);
        return;
    }
    write_name(e, m, off);
}

/* The header bits ECS names in dns.header_flags: AA TC RD RA AD CD, and DO. QR is not
 * one of them (dns.type says query or answer; dnswatch.qr_clear an answer without it). */
static void write_header_flags(json_buf *j, const dns_msg *m)
{
    json_key(j, "header_flags");
    json_arr_begin(j);
    for (size_t i = 0; i < DNS_FLAG_COUNT; i++) {
        uint16_t bit;
        const char *name = dns_flag(i, &bit);
        if ((m->flags & bit) && bit != DNS_F_QR)
            json_str(j, name);
    }
    if (m->has_opt && m->edns_do)
        json_str(j, "DO");
    json_arr_end(j);
}

static void related_reset(related_set *r)
{
    r->n = 0;
    r->arr_len = 1;
    r->arr[0] = '[';
    r->hashed = false; /* a new generation when the slots are next used */
}

static bool related_same(const related_set *r, unsigned k, const uint64_t key[2], size_t alen)
{
    return r->ip[k].key[0] == key[0] && r->ip[k].key[1] == key[1] && r->ip[k].len == alen;
}

/* The slot of an address: its own (*found) or the free one it would take. */
static uint32_t related_slot(const related_set *r, const uint64_t key[2], size_t alen,
                             bool *found)
{
    uint64_t h = hash_mix64(key[0] ^ hash_mix64(key[1] ^ alen ^ r->seed));
    for (uint32_t i = (uint32_t)h;; i++) {
        uint32_t s = i & (RELATED_SLOTS - 1);
        if (r->slot_gen[s] != r->gen) {
            *found = false;
            return s;
        }
        if (related_same(r, r->slot_idx[s], key, alen)) {
            *found = true;
            return s;
        }
    }
}

static void related_stamp(related_set *r, uint32_t s, unsigned k)
{
    r->slot_gen[s] = r->gen;
    r->slot_idx[s] = (uint16_t)k;
}

/* Adds an address (alen 4 or 16 bytes) and its text to related.ip unless it is there. */
static void related_add(related_set *r, const uint8_t *addr, size_t alen, const char *text)
{
    if (r->n >= RELATED_MAX)
        return;
    uint64_t key[2] = {0, 0};
    memcpy(key, addr, alen == 16 ? 16 : 4);
    bool found = false;
    if (r->n < RELATED_LINEAR) {
        for (unsigned k = 0; k < r->n; k++)
            if (related_same(r, k, key, alen))
                return;
    } else {
        if (!r->hashed) {
            if (++r->gen == 0) { /* once in 2^32 uses: the stamps could repeat */
                memset(r->slot_gen, 0, sizeof r->slot_gen);
                r->gen = 1;
            }
            for (unsigned k = 0; k < r->n; k++)
                related_stamp(r, related_slot(r, r->ip[k].key, r->ip[k].len, &found), k);
            r->hashed = true;
        }
        uint32_t s = related_slot(r, key, alen, &found);
        if (found)
            return;
        related_stamp(r, s, r->n);
    }
    r->ip[r->n].key[0] = key[0];
    r->ip[r->n].key[1] = key[1];
    r->ip[r->n].len = (uint8_t)alen;
    r->n++;
    /* Address text needs no JSON escaping. */
    size_t tl = strnlen(text, DNS_IPV6_TEXT_MAX - 1);
    char *o = r->arr + r->arr_len;
    *o++ = '"';
    memcpy(o, text, tl);
    o += tl;
    *o++ = '"';
    *o++ = ',';
    r->arr_len = (size_t)(o - r->arr);
}

void event_encoder_add_related(event_encoder *e, int family, const uint8_t *addr)
{
    char text[DNS_IPV6_TEXT_MAX];
    event_format_ip(family, addr, text);
    related_add(e->rel, addr, family == 6 ? 16 : 4, text);
}

static void write_related(json_buf *j, related_set *r)
{
    if (!r->n)
        return;
    r->arr[r->arr_len - 1] = ']'; /* the last comma */
    json_key(j, "related");
    json_obj_begin(j);
    json_key(j, "ip");
    json_raw(j, r->arr, r->arr_len);
    json_obj_end(j);
}

/* The records of one section shown (plan_records) as the array key: dns.answers,
 * dns.authorities, dns.additionals, each item {name, type, class, ttl, data}. */
static void write_section(event_encoder *e, const dns_msg *m, const event_alert *alert,
                          unsigned section, const char *key)
{
    json_buf *j = &e->j;
    char tbuf[16];

    json_key(j, key);
    json_arr_begin(j);
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        if (rr->section != section || !listed(rr) || !answer_shown(e, i))
            continue;
        if (j->len > EVENT_MAX_BYTES)
            break; /* too long already: event_encode tries tighter limits, stop the work */
        json_obj_begin(j);
        json_key(j, "name");
        write_owner(e, m, rr->name_off);
        json_kv_str(j, "type", dns_type_name(rr->type, tbuf));
        json_kv_str(j, "class", dns_class_name(rr->rclass, tbuf));
        json_kv_u64(j, "ttl", rr->ttl);
        /* A well-formed A or AAAA record's data text is its address text (dns.h): the
         * same bytes as dns_rdata_text, without its generic machinery. */
        uint8_t a[16];
        char ip[DNS_IPV6_TEXT_MAX];
        int alen = dns_rr_addr(m, rr, a);
        if (alen) {
            event_format_ip(alen == 16 ? 6 : 4, a, ip);
            json_kv_str(j, "data", ip);
        } else {
            int n = dns_rdata_text(m, rr, e->rdtext, RDATA_TEXT_MAX);
            /* the RFC 3597 generic form of malformed data when n < 0 */
            size_t tlen = n >= 0 ? (size_t)n : strlen(e->rdtext);
            json_key(j, "data");
            json_strn(j, e->rdtext, tlen < e->lim.data_text ? tlen : e->lim.data_text);
            if (tlen > e->lim.data_text) /* cut: the length says by how much */
                json_kv_u64(j, "data_length", tlen);
        }
        if (alert && alert->write_answer)
            alert->write_answer(alert->ctx, j, m, rr);
        json_obj_end(j);
    }
    json_arr_end(j);
}

static void write_answers(event_encoder *e, const dns_msg *m, const event_alert *alert)
{
    json_buf *j = &e->j;

    write_section(e, m, alert, DNS_SEC_ANSWER, "answers");
    json_key(j, "resolved_ip");
    json_arr_begin(j);
    for (unsigned i = 0; i < m->n_rr; i++) {
        const dns_rr *rr = &m->rr[i];
        uint8_t a[16];
        char ip[DNS_IPV6_TEXT_MAX];
        if (rr->section != DNS_SEC_ANSWER || !answer_shown(e, i))
            continue;
        if (j->len > EVENT_MAX_BYTES)
            break;
        int n = dns_rr_addr(m, rr, a);
        if (n == 0)
            continue;
        event_format_ip(n == 16 ? 6 : 4, a, ip);
        json_str(j, ip);
        related_add(e->rel, a, (size_t)n, ip);
    }
    json_arr_end(j);
    /* The other sections, when they hold records: what a resolver may cache beside the
     * answer (delegations, glue, the SOA of a negative answer). */
    if (e->sec_total[DNS_SEC_AUTHORITY])
        write_section(e, m, alert, DNS_SEC_AUTHORITY, "authorities");
    if (e->sec_total[DNS_SEC_ADDITIONAL])
        write_section(e, m, alert, DNS_SEC_ADDITIONAL, "additionals");
}

static void write_problems(json_buf *j, uint32_t problems)
{
    static const struct {
        uint32_t bit;
        const char *name;
    } names[] = {
        {DNS_P_TRUNCATED, "truncated"},          {DNS_P_BAD_RR, "bad_record"},
        {DNS_P_TRAILING, "trailing_bytes"},      {DNS_P_OPT_MISPLACED, "opt_misplaced"},
        {DNS_P_BAD_RDATA, "bad_rdata"},
    };
    json_key(j, "malformed");
    json_arr_begin(j);
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (problems & names[i].bit)
            json_str(j, names[i].name);
    json_arr_end(j);
}

/* dns.<key> and dnswatch.truncated.<key> of each section; what event.reason calls its
 * records when some are left out. */
static const char *const SECTION_KEYS[4] = {NULL, "answers", "authorities", "additionals"};
static const char *const SECTION_WORDS[4] = {NULL, "answers", "authority records",
                                              "additional records"};

/* Whether a section shows fewer records than it has. */
static bool records_cut(const event_encoder *e)
{
    for (unsigned s = DNS_SEC_ANSWER; s <= DNS_SEC_ADDITIONAL; s++)
        if (e->sec_shown[s] < e->sec_total[s])
            return true;
    return false;
}

static void write_dnswatch(event_encoder *e, const dns_msg *m, const event_alert *alert)
{
    json_buf *j = &e->j;
    bool cut_findings = alert && findings_shown(e, alert) < alert->findings_total;
    bool cut = records_cut(e) || cut_findings;
    /* An answer in a message whose QR bit is clear (stub resolvers take it, dns.h). */
    bool qr_clear = !(m->flags & DNS_F_QR) && dns_msg_is_answer(m);
    bool any = alert || m->has_opt || m->problems || cut || qr_clear;
    if (!any)
        return;
    json_key(j, "dnswatch");
    json_obj_begin(j);
    if (alert && alert->write_dnswatch)
        alert->write_dnswatch(alert->ctx, j);
    if (qr_clear) {
        json_key(j, "qr_clear");
        json_bool(j, true);
    }
    if (cut) {
        json_key(j, "truncated");
        json_obj_begin(j);
        for (unsigned s = DNS_SEC_ANSWER; s <= DNS_SEC_ADDITIONAL; s++) {
            if (e->sec_shown[s] == e->sec_total[s])
                continue;
            json_key(j, SECTION_KEYS[s]);
            json_obj_begin(j);
            json_kv_u64(j, "total", e->sec_total[s]);
            json_kv_u64(j, "shown", e->sec_shown[s]);
            json_obj_end(j);
        }
        if (cut_findings) {
            json_key(j, "findings");
            json_obj_begin(j);
            json_kv_u64(j, "total", alert->findings_total);
            json_kv_u64(j, "shown", findings_shown(e, alert));
            json_obj_end(j);
        }
        json_obj_end(j);
    }
    if (m->has_opt) {
        json_key(j, "edns");
        json_obj_begin(j);
        json_kv_u64(j, "version", m->edns_version);
        json_kv_u64(j, "udp_size", m->edns_udp_size);
        json_key(j, "do");
        json_bool(j, m->edns_do);
        if (m->n_ede) {
            json_key(j, "ede");
            json_arr_begin(j);
            for (unsigned i = 0; i < m->n_ede; i++)
                json_u64(j, m->ede[i]);
            json_arr_end(j);
        }
        json_obj_end(j);
    }
    if (m->problems)
        write_problems(j, m->problems);
    json_obj_end(j);
}

/* Opens an event: the object, @timestamp, and the "event" object with kind, dataset and a
 * fresh id, left open for the caller's other event.* fields. */
static void begin_event(event_encoder *e, uint64_t ts_us, const char *kind, const char *dataset)
{
    json_buf *j = &e->j;
    char buf[40];
    json_reset(j);
    json_obj_begin(j);
    event_format_time(ts_us, buf);
    json_kv_str(j, "@timestamp", buf);
    json_key(j, "event");
    json_obj_begin(j);
    json_kv_str(j, "kind", kind);
    json_kv_str(j, "dataset", dataset);
    /* 32 hex digits, the random half (formatted once) then the sequence: snprintf cost
     * 1500 instructions an event. */
    static const char hex[] = "0123456789abcdef";
    uint64_t seq = ++e->id_seq;
    memcpy(buf, e->id_hi_hex, 16);
    for (int i = 0; i < 16; i++)
        buf[31 - i] = hex[(seq >> (4 * i)) & 0xf];
    json_key(j, "id");
    json_strn(j, buf, EVENT_ID_LEN);
    memcpy(e->last_id, buf, EVENT_ID_LEN);
    e->last_id[EVENT_ID_LEN] = '\0';
}

const char *event_encoder_last_id(const event_encoder *e) { return e->last_id; }

/* ECS categorisation, in the open "event" object: category and type are arrays, given as
 * literal JSON text (e.g. "[\"network\"]"). */
#define write_categories(j, category, type)                                               \
    do {                                                                                  \
        json_keyn((j), "category", sizeof "category" - 1);                                \
        json_raw((j), (category), sizeof(category) - 1);                                  \
        json_keyn((j), "type", sizeof "type" - 1);                                        \
        json_raw((j), (type), sizeof(type) - 1);                                          \
    } while (0)

/* Closes the "event" object and writes "ecs" after it. */
static void end_event_object(json_buf *j)
{
    static const char ecs[] = "{\"version\":\"" EVENT_ECS_VERSION "\"}";
    json_obj_end(j);
    json_key(j, "ecs");
    json_raw(j, ecs, sizeof ecs - 1);
}

/* JSON text of a dnstap field: bytes that are not printable ASCII become '?', so a
 * resolver's free text cannot break the line. */
static void json_kv_dnstap_text(json_buf *j, const char *key, const uint8_t *p, size_t n)
{
    char buf[256];
    for (size_t i = 0; i < n && i < sizeof buf - 1; i++)
        buf[i] = p[i] >= 0x20 && p[i] < 0x7f ? (char)p[i] : '?';
    buf[n < sizeof buf ? n : sizeof buf - 1] = '\0';
    json_kv_str(j, key, buf);
}

/* observer: always the sensor (ECS: the host and product that saw the data). A message
 * from dnstap has no ingress interface (it did not come through one); the resolver that
 * reported it is named in dnstap.identity and dnstap.version (write_dnstap). */
static void write_observer_at(event_encoder *e, const pkt_info *pi)
{
    const json_buf *o = pi && pi->dnstap.type ? &e->observer_bare : &e->observer;
    json_key(&e->j, "observer");
    json_raw(&e->j, o->p, o->len);
}

static void write_observer(event_encoder *e)
{
    write_observer_at(e, NULL);
}

/* A small text builder for "message" (bounded: text past the end is left out). */
typedef struct msgbuf {
    char *p;
    size_t n, cap;
} msgbuf;

static inline void msg_add(msgbuf *b, const char *s, size_t n)
{
    if (n <= b->cap - b->n) { /* a piece that does not fit is left out whole */
        memcpy(b->p + b->n, s, n);
        b->n += n;
    }
}

static void msg_str(msgbuf *b, const char *s) { msg_add(b, s, strlen(s)); }

/* A literal: its length known to the compiler, so is the copy. */
#define MSG_LIT(b, lit) msg_add((b), (lit), sizeof(lit) - 1)

static void msg_u64(msgbuf *b, uint64_t v)
{
    char d[20];
    size_t n = 0;
    do
        d[sizeof d - 1 - n++] = (char)('0' + v % 10);
    while ((v /= 10) && n < sizeof d);
    msg_add(b, d + sizeof d - n, n);
}

/* message of a DNS event: "DNS answer NOERROR from 10.10.0.53 to 10.1.2.3 for pypi.org A,
 * 2 answers". Written as raw JSON: every part but the question name is text of this
 * program with nothing to escape, and the name is copied as the question's escaped JSON
 * text, already in the buffer (escaping it again was half the cost of the message). */
static void write_dns_message(event_encoder *e, const dns_msg *m, bool response,
                              const char *server, const char *client)
{
    json_buf *j = &e->j;
    /* The escaped name: at most 2 bytes per character of its text (a quote or backslash),
     * as the name text is ASCII (dns_present.h). */
    char text[2 * DNS_NAME_TEXT_MAX + 2 * DNS_IPV6_TEXT_MAX + 128], tbuf[16];
    msgbuf b = {text, 0, sizeof text};
    if (response)
        MSG_LIT(&b, "\"DNS answer ");
    else
        MSG_LIT(&b, "\"DNS query from ");
    if (response) {
        msg_str(&b, dns_rcode_name(m->rcode, tbuf));
        MSG_LIT(&b, " from ");
        msg_str(&b, server);
        MSG_LIT(&b, " to ");
        msg_str(&b, client);
    } else {
        msg_str(&b, client);
        MSG_LIT(&b, " to ");
        msg_str(&b, server);
    }
    size_t qn = e->qjson_end - e->qjson_off;
    if (m->has_question && e->qname_len >= 0 && !j->oom && qn >= 2 &&
        qn - 2 <= 2 * (size_t)DNS_NAME_TEXT_MAX) {
        MSG_LIT(&b, " for ");
        msg_add(&b, j->p + e->qjson_off + 1, qn - 2);
        MSG_LIT(&b, " ");
        msg_str(&b, dns_type_name(m->qtype, tbuf));
    } else {
        MSG_LIT(&b, " without a question");
    }
    if (response) {
        MSG_LIT(&b, ", ");
        msg_u64(&b, e->sec_total[DNS_SEC_ANSWER]);
        if (e->sec_total[DNS_SEC_ANSWER] == 1)
            MSG_LIT(&b, " answer\"");
        else
            MSG_LIT(&b, " answers\"");
    } else {
        MSG_LIT(&b, "\"");
    }
    json_key(j, "message");
    json_raw(j, text, b.n);
}


/* Closes the event and returns its line (NULL if memory ran out). */
static const char *end_event(event_encoder *e, size_t *len)
{
    json_buf *j = &e->j;
    json_obj_end(j);
    json_newline(j);
    if (j->oom) {
        *len = 0;
        return NULL;
    }
    *len = j->len;
    return j->p;
}

/* event.reason: the alert's, and what the event leaves out ("3990 answers, 32 shown"). */
static void write_reason_as(event_encoder *e, const event_alert *alert, const char *key)
{
    unsigned fs = findings_shown(e, alert);
    if (!records_cut(e) && fs >= alert->findings_total) {
        json_kv_str(&e->j, key, alert->reason);
        return;
    }
    char buf[768];
    const char *sep = "";
    size_t n = (size_t)snprintf(buf, sizeof buf, "%s (truncated:", alert->reason);
    if (n < sizeof buf && fs < alert->findings_total) {
        n += (size_t)snprintf(buf + n, sizeof buf - n, " %u offending items, %u shown",
                              alert->findings_total, fs);
        sep = ";";
    }
    for (unsigned s = DNS_SEC_ANSWER; s <= DNS_SEC_ADDITIONAL && n < sizeof buf; s++)
        if (e->sec_shown[s] < e->sec_total[s]) {
            n += (size_t)snprintf(buf + n, sizeof buf - n, "%s %u %s, %u shown", sep,
                                  e->sec_total[s], SECTION_WORDS[s], e->sec_shown[s]);
            sep = ";";
        }
    if (n < sizeof buf)
        snprintf(buf + n, sizeof buf - n, ")");
    json_kv_str(&e->j, key, buf);
}

static void write_reason(event_encoder *e, const event_alert *alert)
{
    write_reason_as(e, alert, "reason");
}

static const char *encode_once(event_encoder *e, const pkt_info *pi, const dns_msg *m,
                               const event_alert *alert, size_t *len);

const char *event_encode(event_encoder *e, const pkt_info *pi, const dns_msg *m,
                         const event_alert *alert, size_t *len)
{
    /* One id per event, whatever the number of tries. */
    uint64_t seq = e->id_seq;
    const char *line = NULL;
    for (size_t k = alert ? 1 : 0; k <= N_LIMITS; k++) {
        e->id_seq = seq;
        e->lim = k ? LIMITS[k - 1] : WHOLE;
        line = encode_once(e, pi, m, alert, len);
        if (!line || *len <= EVENT_MAX_BYTES)
            break;
    }
    e->lim = LIMITS[0];
    return line;
}

/* dnstap: what the resolver's message said about itself (docs/events.md "dnstap"). */
static void write_dnstap(event_encoder *e, const pkt_info *pi)
{
    const pkt_dnstap *dt = &pi->dnstap;
    if (!dt->type)
        return;
    json_buf *j = &e->j;
    json_key(j, "dnstap");
    json_obj_begin(j);
    const char *name = dnstap_type_name(dt->type);
    json_kv_str(j, "type", name ? name : "unknown");
    /* The resolver that reported the message (observer.* stays the sensor). */
    if (dt->identity_len)
        json_kv_dnstap_text(j, "identity", dt->identity, dt->identity_len);
    if (dt->version_len)
        json_kv_dnstap_text(j, "version", dt->version, dt->version_len);
    const char *sp = dnstap_protocol_name(dt->socket_protocol);
    if (sp)
        json_kv_str(j, "socket_protocol", sp);
    if (dt->http_protocol)
        json_kv_str(j, "http_protocol", dt->http_protocol == 1 ? "HTTP1"
                                        : dt->http_protocol == 2 ? "HTTP2" : "HTTP3");
    char zone[DNS_NAME_TEXT_MAX];
    if (dt->query_zone_len &&
        dns_wirename_text(dt->query_zone, dt->query_zone_len, zone, true) >= 0)
        json_kv_str(j, "query_zone", zone);
    json_obj_end(j);
}

static const char *encode_once(event_encoder *e, const pkt_info *pi, const dns_msg *m,
                               const event_alert *alert, size_t *len)
{
    json_buf *j = &e->j;
    char sbuf[DNS_IPV6_TEXT_MAX], cbuf[DNS_IPV6_TEXT_MAX], tbuf[16];
    bool response = dns_msg_is_answer(m); /* answers with QR clear too (dns.h) */
    /* The server is the side that answers: the source of a response. */
    const uint8_t *server = response ? pi->src : pi->dst;
    const uint8_t *client = response ? pi->dst : pi->src;
    uint16_t sport = response ? pi->sport : pi->dport;
    uint16_t cport = response ? pi->dport : pi->sport;
    size_t alen = pi->ip_version == 6 ? 16 : 4;

    e->qtext_len = -1;
    e->qname_len = -1;
    event_format_ip(pi->ip_version, client, cbuf);
    event_format_ip(pi->ip_version, server, sbuf);
    related_reset(e->rel);
    related_add(e->rel, client, alen, cbuf);
    related_add(e->rel, server, alen, sbuf);
    plan_records(e, m, alert);
    begin_event(e, pi->ts_us, alert ? "alert" : "event", alert ? "dnswatch.alert" : "dnswatch.dns");
    if (alert) {
        json_kv_u64(j, "severity", alert->severity);
        write_reason(e, alert);
        write_categories(j, "[\"network\",\"intrusion_detection\"]", "[\"info\"]");
    } else {
        write_categories(j, "[\"network\"]", "[\"protocol\"]");
    }
    end_event_object(j);

    if (alert) {
        json_key(j, "rule");
        json_obj_begin(j);
        json_kv_str(j, "id", alert->rule_id);
        json_kv_str(j, "name", alert->rule_name);
        json_kv_str(j, "ruleset", alert->ruleset);
        if (alert->write_rule)
            alert->write_rule(alert->ctx, j);
        json_obj_end(j);
        if (alert->write_top)
            alert->write_top(alert->ctx, j);
    }
    write_dnswatch(e, m, alert);
    write_observer_at(e, pi);
    write_dnstap(e, pi);

    json_key(j, "network");
    json_obj_begin(j);
    json_kv_str(j, "transport", pi->proto == 6 ? "tcp" : "udp");
    json_kv_str(j, "type", pi->ip_version == 6 ? "ipv6" : "ipv4");
    /* dns, or how a dnstap message says it travelled (dot, doh, doq, dnscrypt) */
    json_kv_str(j, "protocol", pi->dnstap.type
                                   ? dnstap_network_protocol(pi->dnstap.socket_protocol)
                                   : "dns");
    if (pi->n_vlan > 0) {
        json_key(j, "vlan");
        json_obj_begin(j);
        json_kv_u64(j, "id", pi->vlan[0]);
        json_obj_end(j);
    }
    if (pi->n_vlan > 1) {
        json_key(j, "inner");
        json_obj_begin(j);
        json_key(j, "vlan");
        json_obj_begin(j);
        json_kv_u64(j, "id", pi->vlan[1]);
        json_obj_end(j);
        json_obj_end(j);
    }
    json_obj_end(j);

    /* client/server by role; source/destination the same two as ECS and Packetbeat put
     * them for a DNS exchange: the source is the side that asked (so destination.port is
     * 53 in the events of every response). */
    size_t at[3];
    at[0] = j->len;
    json_key(j, "client");
    json_obj_begin(j);
    json_kv_str(j, "ip", cbuf);
    json_kv_u64(j, "port", cport);
    json_obj_end(j);
    at[1] = j->len;
    json_key(j, "server");
    json_obj_begin(j);
    json_kv_str(j, "ip", sbuf);
    json_kv_u64(j, "port", sport);
    json_obj_end(j);
    at[2] = j->len;
    /* source and destination are copies of the two objects: their text from the '{'. */
    static const char *const copy_as[2] = {"source", "destination"};
    for (int k = 0; k < 2 && !j->oom; k++) {
        const char *obj = memchr(j->p + at[k], '{', at[k + 1] - at[k]);
        size_t n = obj ? (size_t)(j->p + at[k + 1] - obj) : 0;
        if (!obj || !json_room(j, n + 32))
            break;
        obj = j->p + (at[k + 1] - n); /* the room may have moved the buffer */
        json_key(j, copy_as[k]);
        json_raw(j, obj, n);
    }

    json_key(j, "dns");
    json_obj_begin(j);
    json_kv_u64(j, "id", m->id);
    json_kv_str(j, "type", response ? "answer" : "query");
    json_kv_str(j, "op_code", dns_opcode_name(DNS_OPCODE(m->flags), tbuf));
    if (response)
        json_kv_str(j, "response_code", dns_rcode_name(m->rcode, tbuf));
    write_header_flags(j, m);
    if (m->has_question) {
        json_key(j, "question");
        json_obj_begin(j);
        json_key(j, "name");
        write_question_name(e, m);
        json_kv_str(j, "type", dns_type_name(m->qtype, tbuf));
        json_kv_str(j, "class", dns_class_name(m->qclass, tbuf));
        json_obj_end(j);
    }
    if (response)
        write_answers(e, m, alert);
    json_obj_end(j);
    write_related(j, e->rel);

    if (alert) /* the alert's reason, truncation note included, is its message */
        write_reason_as(e, alert, "message");
    else
        write_dns_message(e, m, response, sbuf, cbuf);

    if (alert && alert->n_tags) {
        json_key(j, "tags");
        json_arr_begin(j);
        for (size_t i = 0; i < alert->n_tags; i++)
            json_str(j, alert->tags[i]);
        json_arr_end(j);
    }
    return end_event(e, len);
}

const char *event_encode_summary(event_encoder *e, const event_summary *s, size_t *len)
{
    json_buf *j = &e->j;
    char buf[1024];

    begin_event(e, s->last_us, "alert", "dnswatch.alert");
    json_kv_u64(j, "severity", s->severity);
    /* The reason names the folded clients (the first few): a victim behind a decoy. */
    size_t n = (size_t)snprintf(buf, sizeof buf, "%u more identical alert%s folded", s->folded,
                                s->folded == 1 ? "" : "s");
    for (size_t i = 0; i < s->n_clients && i < 4 && n < sizeof buf; i++)
        n += (size_t)snprintf(buf + n, sizeof buf - n, "%s%s", i ? ", " : " (clients ",
                              s->clients[i]);
    size_t more = s->n_clients > 4 ? s->n_clients - 4 + s->clients_unlisted : s->clients_unlisted;
    if (n < sizeof buf && more)
        n += (size_t)snprintf(buf + n, sizeof buf - n, " and %zu more", more);
    if (n < sizeof buf && s->n_clients)
        n += (size_t)snprintf(buf + n, sizeof buf - n, ")");
    if (n < sizeof buf)
        snprintf(buf + n, sizeof buf - n, ": %s", s->reason);
    json_kv_str(j, "reason", buf);
    char when[40];
    event_format_time(s->first_us, when);
    json_kv_str(j, "start", when);
    event_format_time(s->last_us, when);
    json_kv_str(j, "end", when);
    write_categories(j, "[\"network\",\"intrusion_detection\"]", "[\"info\"]");
    end_event_object(j);
    json_kv_str(j, "message", buf);
    json_key(j, "rule");
    json_obj_begin(j);
    json_kv_str(j, "id", s->rule_id);
    if (s->rule_name)
        json_kv_str(j, "name", s->rule_name);
    if (s->rule_category)
        json_kv_str(j, "category", s->rule_category);
    json_obj_end(j);
    json_key(j, "dnswatch");
    json_obj_begin(j);
    json_key(j, "violations");
    json_arr_begin(j);
    for (size_t i = 0; i < s->n_violations; i++)
        json_str(j, s->violations[i]);
    json_arr_end(j);
    json_kv_u64(j, "folded", s->folded);
    if (s->first_id && s->first_id[0])
        json_kv_str(j, "continues", s->first_id);
    event_format_time(s->first_us, buf);
    json_kv_str(j, "first_seen", buf);
    event_format_time(s->last_us, buf);
    json_kv_str(j, "last_seen", buf);
    json_key(j, "folded_clients");
    json_arr_begin(j);
    for (size_t i = 0; i < s->n_clients; i++)
        json_str(j, s->clients[i]);
    json_arr_end(j);
    if (s->clients_unlisted)
        json_kv_u64(j, "folded_clients_unlisted", s->clients_unlisted);
    if (s->answers_total > s->n_answers) {
        json_key(j, "truncated");
        json_obj_begin(j);
        json_key(j, "answers");
        json_obj_begin(j);
        json_kv_u64(j, "total", s->answers_total);
        json_kv_u64(j, "shown", s->n_answers);
        json_obj_end(j);
        json_obj_end(j);
    }
    json_obj_end(j);
    write_observer(e);
    json_key(j, "network");
    json_obj_begin(j);
    json_kv_str(j, "protocol", "dns");
    json_obj_end(j);
    /* related.ip: the folded clients, then the answers' addresses. */
    related_reset(e->rel);
    for (size_t i = 0; i < s->n_clients + s->n_answers; i++) {
        const char *text = i < s->n_clients ? s->clients[i] : s->answer_data[i - s->n_clients];
        uint8_t a[16];
        int family = dns_parse_ip(text, a);
        if (family > 0)
            related_add(e->rel, a, family == 6 ? 16 : 4, text);
    }
    write_related(j, e->rel);
    json_key(j, "dns");
    json_obj_begin(j);
    json_kv_str(j, "type", "answer");
    if (s->question) {
        json_key(j, "question");
        json_obj_begin(j);
        json_kv_str(j, "name", s->question);
        if (s->qtype)
            json_kv_str(j, "type", s->qtype);
        json_obj_end(j);
    }
    json_key(j, "answers");
    json_arr_begin(j);
    for (size_t i = 0; i < s->n_answers; i++) {
        json_obj_begin(j);
        json_kv_str(j, "type", s->answer_type[i]);
        json_kv_str(j, "data", s->answer_data[i]);
        json_obj_end(j);
    }
    json_arr_end(j);
    json_obj_end(j);
    return end_event(e, len);
}

const char *event_encode_health(event_encoder *e, uint64_t ts_us, const char *action,
                                const char *outcome, const char *reason,
                                const char *const *details, size_t n, size_t *len)
{
    json_buf *j = &e->j;
    begin_event(e, ts_us, "event", "dnswatch.health");
    json_kv_str(j, "action", action);
    json_kv_str(j, "outcome", outcome);
    json_kv_str(j, "reason", reason);
    /* A reload changes the sensor's configuration; anything else is about the traffic. */
    if (strcmp(action, "rules-reload") == 0 || strcmp(action, "asn-reload") == 0)
        write_categories(j, "[\"configuration\"]", "[\"change\"]");
    else
        write_categories(j, "[\"network\"]", "[\"info\"]");
    end_event_object(j);
    json_kv_str(j, "message", reason);
    if (n) {
        json_key(j, "dnswatch");
        json_obj_begin(j);
        json_key(j, "details");
        json_arr_begin(j);
        for (size_t i = 0; i < n; i++)
            json_str(j, details[i]);
        json_arr_end(j);
        json_obj_end(j);
    }
    write_observer(e);
    return end_event(e, len);
}

const char *event_encode_custom(event_encoder *e, uint64_t ts_us, const char *kind,
                                const char *dataset, void (*fn)(void *ctx, json_buf *j),
                                void *ctx, const char *message, size_t *len)
{
    begin_event(e, ts_us, kind, dataset);
    write_categories(&e->j, "[\"network\"]", "[\"info\"]");
    end_event_object(&e->j);
    fn(ctx, &e->j);
    write_observer(e);
    if (message)
        json_kv_str(&e->j, "message", message);
    return end_event(e, len);
}
