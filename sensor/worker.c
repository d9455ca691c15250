#include "sensor/worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/clock.h"
#include "decoders/decode.h"
#include "decoders/dns.h"
#include "decoders/dns_musl.h"
#include "rules/eval.h"
#include "sensor/alert.h"
#include "sensor/event.h"

struct worker {
    worker_config cfg;
    pthread_t thread;
    bool started;
    ring *ring;
    bool stop;                 /* set by worker_stop (atomic) */

    dw_counters counters;      /* written by this thread only, relaxed atomics */
    uint64_t n_alerts;
    uint64_t n_events;         /* response events written (--log watched|all) */
    uint64_t beat;             /* worker_beat() */
    unsigned gen;              /* generation of the sources in use */

    const dw_sources *src;
    dw_decoder *dec;
    event_encoder *enc;
    dns_msg *msg;
    evaluator *eval;
    eval_result *result;
    alerter *alerts;
    uint64_t next_fold_check_us;
};

static void emit(void *ctx, const char *line, size_t len)
{
    worker *w = ctx;
    dw_out_write(w->cfg.out, line, len);
}

/* Takes up the pipeline's current sources if they changed (a reload). */
static void refresh_sources(worker *w)
{
    const dw_sources *s = __atomic_load_n(w->cfg.sources, __ATOMIC_ACQUIRE);
    if (s == w->src)
        return;
    if (!s->rules) {
        evaluator_free(w->eval);
        w->eval = NULL;
    } else if (!w->eval) {
        w->eval = evaluator_new(s->rules, s->asn, &w->cfg.track);
        if (w->eval)
            evaluator_set_counters(w->eval, &w->counters);
    } else if (evaluator_set_ruleset(w->eval, s->rules) != 0) {
        evaluator_free(w->eval); /* out of memory: run without rules rather than wrong ones */
        w->eval = NULL;
    } else {
        evaluator_set_asn_db(w->eval, s->asn);
    }
    alerter_set_asn_db(w->alerts, s->asn);
    w->src = s;
    __atomic_store_n(&w->gen, s->gen, __ATOMIC_RELEASE);
}

static void emit_findings(worker *w, const pkt_info *pi, const dns_msg *m)
{
    unsigned n = alerter_emit(w->alerts, w->enc, ruleset_hash(w->src->rules), pi, m, w->result,
                              emit, w);
    __atomic_store_n(&w->n_alerts, w->n_alerts + n, __ATOMIC_RELAXED);
}

/* A message delivered again because a fragment contradicted it after reassembly
 * (decoders/defrag.h): it was counted, logged and judged the first time; now only its
 * fragment_conflict is (rules/eval.h), once. */
static void on_late_conflict(worker *w, const pkt_info *pi, const uint8_t *data, size_t len)
{
    dw_counters scratch; /* its malformations were counted the first time */
    memset(&scratch, 0, sizeof scratch);
    if (!w->eval || dns_parse(w->msg, data, len, &scratch) != 0)
        return;
    if (evaluator_response(w->eval, pi, w->msg, w->result))
        emit_findings(w, pi, w->msg);
}

static void on_dns(void *ctx, const pkt_info *pi, const uint8_t *data, size_t len)
{
    worker *w = ctx;
    dns_msg *m = w->msg;
    enum dw_log log = w->cfg.log;

    if (pi->frag_conflict && pi->frag_conflict->late) {
        on_late_conflict(w, pi, data, len);
        return;
    }

    /* Every query is parsed: the exchange table keys it by its question (rules/track.h).
     * Without rules there is nothing to track, and the header is enough to count it. A
     * message with answer records is judged as a response whatever QR says (see
     * dns_msg_is_answer): the header tells that too. */
    dns_header hdr;
    if (!w->eval && dns_header_read(data, len, &hdr) == 0 && !dns_header_is_answer(&hdr)) {
        DW_COUNT(&w->counters, DNS_MESSAGES);
        DW_COUNT(&w->counters, DNS_QUERIES);
        return;
    }
    if (dns_parse(m, data, len, &w->counters) != 0) {
        /* musl may still take records from it (it steps over a question's bytes without
         * decoding them): not judged, no question to judge by, but counted. */
        dns_musl_rr v[DNS_MUSL_MAX_RECORDS];
        if (dns_musl_walk(data, len, v) > 0)
            DW_COUNT(&w->counters, DNS_MUSL_VIEW_DIFFERS);
        return;
    }
    DW_COUNT(&w->counters, DNS_MESSAGES);
    if (!dns_msg_is_answer(m)) {
        DW_COUNT(&w->counters, DNS_QUERIES);
        if (w->eval) {
            evaluator_query(w->eval, pi, m);
            if (evaluator_resolver_query(w->eval, pi, m, w->result))
                emit_findings(w, pi, m);
        }
        return;
    }
    DW_COUNT(&w->counters, DNS_RESPONSES);
    if (!(m->flags & DNS_F_QR))
        DW_COUNT(&w->counters, DNS_ANSWER_QR_CLEAR);
    if (!m->has_question)
        DW_COUNT(&w->counters, DNS_ANSWER_NO_QUESTION);

    eval_result *r = w->result;
    bool watched = false;
    if (w->eval) {
        evaluator_response(w->eval, pi, m, r);
        watched = r->watched;
    }
    /* (the evaluator compared musl's view when a rule applied) */
    if (w->eval ? (r->musl_compared ? r->musl_differs : dns_musl_compare(m, NULL, NULL).differs)
                : dns_musl_compare(m, NULL, NULL).differs)
        DW_COUNT(&w->counters, DNS_MUSL_VIEW_DIFFERS);
    if (log == DW_LOG_ALL || (log == DW_LOG_WATCHED && watched)) {
        size_t n;
        const char *text = event_encode(w->enc, pi, m, NULL, &n);
        if (text) {
            emit(w, text, n);
            __atomic_store_n(&w->n_events, w->n_events + 1, __ATOMIC_RELAXED);
        }
    }
    if (w->eval && r->n_findings) {
        unsigned n = alerter_emit(w->alerts, w->enc, ruleset_hash(w->src->rules), pi, m, r,
                                  emit, w);
        __atomic_store_n(&w->n_alerts, w->n_alerts + n, __ATOMIC_RELAXED);
    }
}

/* A closed tracking incident as an alert (rules/track.h). */
static void on_incident(void *ctx, const pkt_info *pi, const dns_msg *m, const eval_result *r)
{
    worker *w = ctx;
    unsigned n = alerter_emit(w->alerts, w->enc, ruleset_hash(w->src->rules), pi, m, r, emit, w);
    __atomic_store_n(&w->n_alerts, w->n_alerts + n, __ATOMIC_RELAXED);
}

/* An incident not reported because the capture lost packets during it: a health event
 * in the shape of reassembly-eviction's, with what would have been reported. */
static void on_held_back(void *ctx, const track_report *rep, const dw_rule *rule)
{
    worker *w = ctx;
    char client[DNS_IPV6_TEXT_MAX], server[DNS_IPV6_TEXT_MAX], reason[512], lines[3][200];
    const char *names[DW_V_COUNT], *details[3];
    size_t nv = dw_violation_names(rep->violations, names), len;
    event_format_ip(rep->pi.ip_version, rep->pi.dst, client);
    event_format_ip(rep->pi.ip_version, rep->pi.src, server);
    snprintf(reason, sizeof reason,
             "tracking finding held back: the capture lost %llu packets while rule %s counted "
             "%llu unmatched responses from %s to %s; rate-based findings are not reported "
             "while the capture drops", (unsigned long long)rep->loss,
             rule ? rule->id : rep->rule_id, (unsigned long long)rep->responses, server, client);
    snprintf(lines[0], sizeof lines[0], "violations: %s%s%s", nv ? names[0] : "",
             nv > 1 ? ", " : "", nv > 1 ? names[1] : "");
    snprintf(lines[1], sizeof lines[1], "responses: %llu, distinct ids: %u, distinct ports: %u",
             (unsigned long long)rep->responses, rep->distinct_ids, rep->distinct_ports);
    snprintf(lines[2], sizeof lines[2], "capture packets lost: %llu", (unsigned long long)rep->loss);
    for (unsigned i = 0; i < 3; i++)
        details[i] = lines[i];
    const char *line = event_encode_health(w->enc, rep->last_us, "tracking-held-back", "failure",
                                           reason, details, 3, &len);
    if (line)
        emit(w, line, len);
}

/* Closes the tracking incidents whose window ended by now_us (UINT64_MAX: all). */
static void expire_tracking(worker *w, uint64_t now_us)
{
    if (!w->eval)
        return;
    eval_incident_sink sink = {on_incident, on_held_back, w};
    evaluator_expire(w->eval, now_us, w->msg, w->result, &sink);
}

static void *worker_main(void *arg)
{
    worker *w = arg;
    unsigned idle = 0;
    ring_frame f;

    for (;;) {
        /* The watchdog's sign of life: moves while the worker runs, busy or idle. */
        __atomic_store_n(&w->beat, w->beat + 1, __ATOMIC_RELAXED);
        if (ring_peek(w->ring, &f)) {
            idle = 0;
            refresh_sources(w);
            dw_decoder_packet(w->dec, w->cfg.dlt, f.ts_us, f.data, f.len, on_dns, w);
            if (f.ts_us >= w->next_fold_check_us) {
                expire_tracking(w, f.ts_us);
                alerter_expire(w->alerts, w->enc, f.ts_us, emit, w);
                w->next_fold_check_us = f.ts_us + 1000000u;
            }
            ring_release(w->ring);
            continue;
        }
        if (__atomic_load_n(&w->stop, __ATOMIC_ACQUIRE) && !ring_peek(w->ring, &f))
            break;
        /* Idle: spin a little, then sleep in short steps so a quiet link costs nothing and
         * a new packet waits at most ~200 us. On a live link, time moves on without
         * packets: close fold windows by the wall clock. */
        if (++idle < 64)
            continue;
        refresh_sources(w);
        if (w->cfg.live && idle % 4096 == 0) {
            uint64_t now = clk_wall_us();
            if (now >= w->next_fold_check_us) {
                expire_tracking(w, now);
                alerter_expire(w->alerts, w->enc, now, emit, w);
                w->next_fold_check_us = now + 1000000u;
            }
        }
        struct timespec nap = {0, idle < 1024 ? 20000 : 200000};
        nanosleep(&nap, NULL);
    }
    /* The end of the input: what TCP streams still hold, then the folded counts. */
    dw_decoder_flush(w->dec, on_dns, w);
    expire_tracking(w, UINT64_MAX);
    alerter_expire(w->alerts, w->enc, UINT64_MAX, emit, w);
    return NULL;
}

worker *worker_start(const worker_config *cfg)
{
    worker *w = calloc(1, sizeof *w);
    if (!w)
        return NULL;
    w->cfg = *cfg;
    event_meta meta = {cfg->observer_name, cfg->iface, NULL};
    w->ring = ring_new(cfg->ring_bytes);
    w->dec = dw_decoder_new(cfg->decoder, &w->counters);
    w->enc = event_encoder_new(&meta);
    w->msg = malloc(sizeof *w->msg);
    w->result = malloc(sizeof *w->result);
    w->alerts = alerter_new(NULL, cfg->fold_seconds * 1000u, 4096);
    if (!w->ring || !w->dec || !w->enc || !w->msg || !w->result || !w->alerts)
        goto fail;
    refresh_sources(w);
    if (w->src->rules && !w->eval)
        goto fail;
    if (pthread_create(&w->thread, NULL, worker_main, w) != 0)
        goto fail;
    w->started = true;
    return w;
fail:
    worker_free(w);
    return NULL;
}

ring *worker_ring(worker *w) { return w->ring; }

void worker_stop(worker *w)
{
    if (!w || !w->started)
        return;
    __atomic_store_n(&w->stop, true, __ATOMIC_RELEASE);
    pthread_join(w->thread, NULL);
    w->started = false;
}

void worker_free(worker *w)
{
    if (!w)
        return;
    worker_stop(w);
    ring_free(w->ring);
    dw_decoder_free(w->dec);
    event_encoder_free(w->enc);
    free(w->msg);
    free(w->result);
    alerter_free(w->alerts);
    evaluator_free(w->eval);
    free(w);
}

unsigned worker_sources_gen(const worker *w) { return __atomic_load_n(&w->gen, __ATOMIC_ACQUIRE); }
const dw_counters *worker_counters(const worker *w) { return &w->counters; }
uint64_t worker_alerts(const worker *w) { return __atomic_load_n(&w->n_alerts, __ATOMIC_RELAXED); }
uint64_t worker_beat(const worker *w) { return __atomic_load_n(&w->beat, __ATOMIC_RELAXED); }
uint64_t worker_events(const worker *w) { return __atomic_load_n(&w->n_events, __ATOMIC_RELAXED); }
