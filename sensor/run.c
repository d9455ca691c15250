/* `dnswatch run`: the pipeline of DESIGN.md. The main thread reads the input (input.h: a
 * live interface or a capture file), hashes each frame's address pair to pick a worker,
 * and pushes the frame into that worker's ring; workers decode, judge and write events to
 * the output (output.h). The main thread also handles signals (stop, reload), privileges
 * and the counters. */
#include "sensor/run.h"

#include <errno.h>
#include <pthread.h>
#include <pwd.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/clock.h"
#include "common/hash.h"
#include "decoders/pkt.h"
#include "sensor/event.h"
#include "sensor/input.h"
#include "sensor/metrics.h"
#include "sensor/notify.h"
#include "sensor/privdrop.h"
#include "sensor/output.h"
#include "sensor/slog.h"
#include "sensor/spool.h"
#include "sensor/sources.h"
#include "sensor/worker.h"

#define MAX_WORKERS 64
#define RING_BYTES (32u << 20)   /* per worker: ~30 000 typical DNS frames of burst */
/* Reading a file, the capture thread waits for room instead of dropping: a ring needs no
 * burst headroom then, and a small one spares the page faults and cache misses of
 * cycling through 32 MiB per worker. Still far above the largest frame (256 KiB). */
#define FILE_RING_BYTES (4u << 20)
#define FLUSH_EVERY_US 200000u   /* live: events leave within this of their packet */
/* The ASN database file is looked at (stat) this often from the capture thread, never per
 * packet; a change is loaded once the file has stayed the same for one more look, so a
 * copy still being written is not reported as broken on the way. */
#define ASN_CHECK_EVERY_US 1000000u

/* ---- signals: the handlers only set flags (and break the capture loop) ---------------- */

static volatile sig_atomic_t stop_requested, reload_requested;
static dw_input *volatile active_input;
static dw_out *volatile active_hurry; /* the output, if it can be hurried */

/* The first stop signal drains and flushes, waiting for the output's far end a while
 * (Redis: redis_wait_ms). A second stops that wait: what is queued goes to the spool,
 * counted, and the run ends (an impatient operator or init system loses nothing). A third,
 * or a second with an output that never waits, exits at once. */
static void on_stop(int sig)
{
    if (stop_requested >= 2 || (stop_requested && !active_hurry))
        _exit(128 + sig);
    if (stop_requested) {
        stop_requested = 2;
        dw_out_hurry(active_hurry);
        return;
    }
    stop_requested = 1;
    if (active_input)
        dw_input_break(active_input);
}

static void on_hup(int sig)
{
    (void)sig;
    reload_requested = 1;
    if (active_input)
        dw_input_break(active_input);
}

static void install_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = on_stop;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    /* A reload must not end a read of a pipe or a slow file with EINTR (libpcap takes that
     * for a read error); dw_input_break still brings it to the loop after that frame. */
    sa.sa_handler = on_hup;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGHUP, &sa, NULL);
    sa.sa_flags = 0;
    sa.sa_handler = SIG_IGN;
    sigaction(SIGPIPE, &sa, NULL); /* a closed stdout is a write error, not a death */
}

/* ---- the pipeline state --------------------------------------------------------------- */

/* The counters of reassembly losses, by the claim of what was lost (watch_evictions). */
static const enum dw_counter_id evict_ids[] = {
    DW_C_FRAG_EVICT_SERVER, DW_C_FRAG_EVICT_DNS, DW_C_FRAG_EVICT_UNCLAIMED,
    DW_C_TCP_EVICT_SERVER,  DW_C_TCP_EVICT_DNS,  DW_C_TCP_EVICT_UNCLAIMED,
};
#define N_EVICT_IDS (sizeof evict_ids / sizeof evict_ids[0])

/* Reassembly eviction episodes (watch_evictions): the main thread's alone. */
typedef struct evict_watch {
    uint64_t next_us, last_us, seen;
    uint64_t base[N_EVICT_IDS]; /* the counters when the current episode began */
    bool active;
} evict_watch;

typedef struct pipeline {
    const dw_options *o;
    const char *src;           /* file or interface name, for messages */
    dw_input *in;
    int dlt;
    bool live;                 /* the input is real-time: never wait for a ring */
    unsigned n_workers;
    worker *w[MAX_WORKERS];
    dw_counters scratch;       /* pkt_parse's counts in the capture thread (the workers count) */
    uint64_t received;
    uint64_t ring_drops[MAX_WORKERS]; /* written by the capture thread, relaxed atomics */
    /* Every packet the capture lost (ring, kernel, interface drops), written by the
     * capture thread; workers read it (relaxed) to hold back rate-based findings. */
    uint64_t loss;
    dw_out *out;               /* where events go (output.h) */
    dw_sources *current;       /* read by workers atomically */
    dw_sources *retired;       /* replaced, freed once every worker has moved on */
    event_encoder *health;     /* health events from the main thread */
    char observer[256];
    /* For metrics, read from the metrics thread: capture statistics (refreshed by the
     * capture thread, an input's stats are not for two threads) and the rules in force (copied
     * under a lock at each reload, since old sources are freed). */
    uint64_t cap_recv, cap_drop, cap_ifdrop;
    uint64_t reloads, reload_failures;
    uint64_t asn_reloads, asn_reload_failures;
    /* The ASN database file: what it looked like at the last look, and the version that
     * failed to load (reported once, not at every look). */
    asn_file_id asn_seen, asn_failed;
    bool asn_seen_valid, asn_failed_valid, asn_missing_reported;
    uint64_t next_asn_check_us;
    pthread_mutex_t info_mu;
    char info_hash[RULESET_HASH_TEXT_MAX];
    uint64_t info_rules;
    double start_time;
    metrics_server *metrics;
    uint64_t next_stats_us, next_textfile_us, next_metric_event_us;
    evict_watch evict;
    /* The watchdog (sensor/notify.h): the capture loop's turns, written by the capture
     * thread; what the watchdog thread saw at its previous look. */
    uint64_t loops;
    uint64_t wd_loops, wd_beats[MAX_WORKERS];
    notify_watchdog *watchdog;
} pipeline;

static void count_drop(pipeline *pl, unsigned w)
{
    __atomic_store_n(&pl->ring_drops[w], pl->ring_drops[w] + 1, __ATOMIC_RELAXED);
    __atomic_store_n(&pl->loss, pl->loss + 1, __ATOMIC_RELAXED);
}

static void set_rules_info(pipeline *pl)
{
    pthread_mutex_lock(&pl->info_mu);
    const ruleset *rs = pl->current ? pl->current->rules : NULL;
    snprintf(pl->info_hash, sizeof pl->info_hash, "%s", rs ? ruleset_hash(rs) : "");
    pl->info_rules = rs ? ruleset_count(rs) : 0;
    pthread_mutex_unlock(&pl->info_mu);
}

/* The metrics thread's view: counters only, read with relaxed atomics, no lock on the
 * capture or the workers. */
static void fill_metrics(void *ctx, metrics_snapshot *s)
{
    pipeline *pl = ctx;
    dw_counters one;
    s->n_workers = pl->n_workers;
    for (unsigned i = 0; i < pl->n_workers; i++) {
        dw_counters_snapshot(&one, worker_counters(pl->w[i]));
        dw_counters_add(&s->counters, &one);
        s->alerts += worker_alerts(pl->w[i]);
        s->response_events += worker_events(pl->w[i]);
        s->ring_dropped[i] = __atomic_load_n(&pl->ring_drops[i], __ATOMIC_RELAXED);
    }
    dw_input_add_counters(pl->in, &s->counters); /* dnstap: its listeners' counts */
    s->have_capture = dw_input_has_stats(pl->in);
    s->capture_received = __atomic_load_n(&pl->cap_recv, __ATOMIC_RELAXED);
    s->capture_kernel_dropped = __atomic_load_n(&pl->cap_drop, __ATOMIC_RELAXED);
    s->capture_interface_dropped = __atomic_load_n(&pl->cap_ifdrop, __ATOMIC_RELAXED);
    s->reloads = __atomic_load_n(&pl->reloads, __ATOMIC_RELAXED);
    s->reload_failures = __atomic_load_n(&pl->reload_failures, __ATOMIC_RELAXED);
    s->asn_reloads = __atomic_load_n(&pl->asn_reloads, __ATOMIC_RELAXED);
    s->asn_reload_failures = __atomic_load_n(&pl->asn_reload_failures, __ATOMIC_RELAXED);
    pthread_mutex_lock(&pl->info_mu);
    snprintf(s->ruleset_hash, sizeof s->ruleset_hash, "%s", pl->info_hash);
    s->rules_loaded = pl->info_rules;
    pthread_mutex_unlock(&pl->info_mu);
    s->start_time = pl->start_time;
    if (dw_out_has_stats(pl->out)) {
        s->have_publish = true;
        dw_out_stats(pl->out, &s->publish);
    }
}

static void write_textfile(pipeline *pl)
{
    static metrics_snapshot snap; /* large; the capture thread is its only user */
    memset(&snap, 0, sizeof snap);
    fill_metrics(pl, &snap);
    int rc = metrics_write_textfile(pl->o->metrics.textfile, &snap);
    if (rc != 0)
        slog(SLOG_WARNING, "metrics textfile %s: %s", pl->o->metrics.textfile, strerror(-rc));
}

/* The periodic metric event (event.kind "metric"): the counters of the metrics endpoint,
 * for a SIEM that reads only the event stream. */
static void write_metric_members(void *ctx, json_buf *j)
{
    const metrics_snapshot *s = ctx;
    json_key(j, "dnswatch");
    json_obj_begin(j);
    json_key(j, "counters");
    json_obj_begin(j);
    for (unsigned i = 0; i < DW_C__COUNT; i++)
        if (s->counters.v[i]) {
            char name[64];
            const char *n = dw_counter_name((enum dw_counter_id)i);
            size_t k = 0;
            for (; n[k] && k < sizeof name - 1; k++)
                name[k] = (char)(n[k] >= 'A' && n[k] <= 'Z' ? n[k] + 32 : n[k]);
            name[k] = '\0';
            json_kv_u64(j, name, s->counters.v[i]);
        }
    json_obj_end(j);
    uint64_t drops = 0;
    for (unsigned i = 0; i < s->n_workers; i++)
        drops += s->ring_dropped[i];
    json_kv_u64(j, "ring_dropped", drops);
    json_kv_u64(j, "alerts", s->alerts);
    if (s->have_capture) {
        json_key(j, "capture");
        json_obj_begin(j);
        json_kv_u64(j, "received", s->capture_received);
        json_kv_u64(j, "kernel_dropped", s->capture_kernel_dropped);
        json_kv_u64(j, "interface_dropped", s->capture_interface_dropped);
        json_obj_end(j);
    }
    if (s->have_publish) {
        json_key(j, "redis");
        json_obj_begin(j);
        json_kv_u64(j, "published", s->publish.published);
        json_kv_u64(j, "spooled", s->publish.spooled);
        json_kv_u64(j, "replayed", s->publish.replayed);
        json_kv_u64(j, "dropped", s->publish.dropped);
        json_kv_u64(j, "shed_alerts", s->publish.shed_alerts);
        json_kv_u64(j, "shed_events", s->publish.shed_events);
        json_kv_u64(j, "dropped_disk", s->publish.dropped_disk);
        json_kv_u64(j, "spool_lost", s->publish.spool_lost);
        json_kv_u64(j, "spool_damaged", s->publish.spool_damaged);
        json_key(j, "connected");
        json_bool(j, s->publish.connected);
        json_obj_end(j);
    }
    json_kv_str(j, "ruleset", s->ruleset_hash);
    json_obj_end(j);
}

static void emit_metric_event(pipeline *pl)
{
    static metrics_snapshot snap; /* the capture thread is its only user */
    size_t len;
    memset(&snap, 0, sizeof snap);
    fill_metrics(pl, &snap);
    uint64_t drops = 0;
    for (unsigned i = 0; i < snap.n_workers; i++)
        drops += snap.ring_dropped[i];
    char message[160];
    snprintf(message, sizeof message,
             "sensor counters: %llu packets, %llu alerts, %llu packets dropped by full queues",
             (unsigned long long)snap.counters.v[DW_C_PACKETS], (unsigned long long)snap.alerts,
             (unsigned long long)drops);
    const char *line = event_encode_custom(pl->health, clk_wall_us(), "metric", "dnswatch.metrics",
                                           write_metric_members, &snap, message, &len);
    if (line)
        dw_out_write(pl->out, line, len);
}

static void refresh_capture_stats(pipeline *pl)
{
    dw_input_stats st;
    if (dw_input_stats_get(pl->in, &st) != 0)
        return;
    uint64_t grew = (st.dropped > pl->cap_drop ? st.dropped - pl->cap_drop : 0) +
                    (st.if_dropped > pl->cap_ifdrop ? st.if_dropped - pl->cap_ifdrop : 0);
    if (grew)
        __atomic_store_n(&pl->loss, pl->loss + grew, __ATOMIC_RELAXED);
    __atomic_store_n(&pl->cap_recv, st.received, __ATOMIC_RELAXED);
    __atomic_store_n(&pl->cap_drop, st.dropped, __ATOMIC_RELAXED);
    __atomic_store_n(&pl->cap_ifdrop, st.if_dropped, __ATOMIC_RELAXED);
}

/* Symmetric in source and destination, so a query and its response meet in one worker.
 * Ports are left out on purpose: IP fragments after the first carry none, and all
 * fragments of a datagram must reach the worker that reassembles it. */
static unsigned pick_worker(pipeline *pl, const uint8_t *data, uint32_t len)
{
    if (pl->n_workers == 1)
        return 0;
    pkt_info pi;
    pkt_frag frag;
    enum pkt_result r = pkt_parse(pl->dlt, data, len, &pi, &frag, &pl->scratch);
    if (r == PKT_SKIP)
        return 0; /* worker 0 parses it again and counts why it is skipped */
    size_t alen = pi.ip_version == 6 ? 16 : 4;
    uint64_t hs = HASH_FNV64_OFFSET, hd = hs;
    for (size_t i = 0; i < alen; i++) { /* both in one loop: a per-packet cost */
        hs = hash_fnv64_byte(hs, pi.src[i]);
        hd = hash_fnv64_byte(hd, pi.dst[i]);
    }
    uint64_t h = hs + hd;
    h ^= h >> 29;
    return (unsigned)(h % pl->n_workers);
}

static void on_frame(void *ctx, uint64_t ts, const uint8_t *bytes, uint32_t caplen)
{
    pipeline *pl = ctx;
    unsigned wi = pick_worker(pl, bytes, caplen);
    ring *r = worker_ring(pl->w[wi]);

    pl->received++;
    if (ring_push(r, ts, bytes, caplen))
        return;
    if (pl->live) {
        count_drop(pl, wi); /* live capture never waits: a full ring is a counted drop */
        return;
    }
    /* A file waits for nobody: wait for room, so an offline run sees every frame. */
    while (!ring_push(r, ts, bytes, caplen)) {
        if (caplen > FILE_RING_BYTES / 4) { /* never fits: not waiting for ever */
            count_drop(pl, wi);
            return;
        }
        struct timespec nap = {0, 50000};
        nanosleep(&nap, NULL);
    }
}

static void msg_stderr(void *ctx, const char *line)
{
    (void)ctx;
    slog_msg(SLOG_WARNING, line);
}

/* Reload: collects the diagnostics for the health event and prints them. */
typedef struct reload_log {
    char lines[16][384];
    size_t n, total;
} reload_log;

static void msg_collect(void *ctx, const char *line)
{
    reload_log *rl = ctx;
    const char *text = slog_text(line); /* the level mark stays out of the health event */
    char marked[1100];
    snprintf(marked, sizeof marked, "%.*sreload: %s", (int)(text - line), line, text);
    slog_msg(SLOG_WARNING, marked);
    if (rl->n < 16)
        snprintf(rl->lines[rl->n++], sizeof rl->lines[0], "%s", slog_text(line));
    rl->total++;
}

static void health(pipeline *pl, const char *action, const char *outcome, const char *reason,
                   const reload_log *rl)
{
    const char *details[16];
    size_t n = rl ? rl->n : 0, len;
    for (size_t i = 0; i < n; i++)
        details[i] = rl->lines[i];
    const char *line =
        event_encode_health(pl->health, clk_wall_us(), action, outcome, reason, details, n, &len);
    if (line)
        dw_out_write(pl->out, line, len);
    dw_out_flush(pl->out);
}

/* Reassembly eviction pressure (decoders/defrag.h, decoders/tcpstream.c): a health event
 * when the fragment or TCP tables start losing entries to a full table (the counters
 * FRAG_EVICT_* and TCP_EVICT_*, by the claim of what was lost), and one when they have
 * lost none for EVICT_QUIET_US, or the input ends. Read from the counters the workers
 * keep anyway, at most once per EVICT_CHECK_US and once more at the end of the run (so
 * an offline run reports it too): never per packet, and an episode starts at most once
 * per EVICT_QUIET_US. The state is the main thread's alone. */
#define EVICT_CHECK_US 1000000u
#define EVICT_QUIET_US 30000000u


/* One health event on the losses since base (the counters when the episode began). */
static void evict_health(pipeline *pl, bool start, bool final, const dw_counters *now,
                         const uint64_t *base)
{
    char lines[N_EVICT_IDS][160], reason[320];
    const char *details[N_EVICT_IDS];
    size_t nd = 0, len;
    uint64_t all = 0, server = 0;
    for (unsigned i = 0; i < N_EVICT_IDS; i++) {
        uint64_t d = now->v[evict_ids[i]] - base[i];
        all += d;
        if (evict_ids[i] == DW_C_FRAG_EVICT_SERVER || evict_ids[i] == DW_C_TCP_EVICT_SERVER)
            server += d;
        if (!d)
            continue;
        snprintf(lines[nd], sizeof lines[nd], "%s: %llu", dw_counter_text(evict_ids[i]),
                 (unsigned long long)d);
        details[nd] = lines[nd];
        nd++;
    }
    if (start)
        snprintf(reason, sizeof reason,
                 "reassembly tables full: %llu IP datagrams or TCP directions lost so far "
                 "(%llu from known DNS servers); a flood, or limits.frag_* / limits.tcp_* "
                 "too small", (unsigned long long)all, (unsigned long long)server);
    else
        snprintf(reason, sizeof reason,
                 "reassembly tables no longer full%s: %llu IP datagrams or TCP directions "
                 "lost (%llu from known DNS servers)", final ? " (end of input)" : "",
                 (unsigned long long)all, (unsigned long long)server);
    slog(start ? SLOG_WARNING : SLOG_NOTICE, "%s", reason);
    const char *line = event_encode_health(pl->health, clk_wall_us(), "reassembly-eviction",
                                           start ? "failure" : "success", reason, details, nd,
                                           &len);
    if (line)
        dw_out_write(pl->out, line, len);
}

static void watch_evictions(pipeline *pl, bool final)
{
    evict_watch *st = &pl->evict;
    uint64_t now = clk_mono_us();
    if (!final && now < st->next_us)
        return;
    st->next_us = now + EVICT_CHECK_US;

    dw_counters total, one;
    memset(&total, 0, sizeof total);
    for (unsigned i = 0; i < pl->n_workers; i++) {
        dw_counters_snapshot(&one, worker_counters(pl->w[i]));
        dw_counters_add(&total, &one);
    }
    uint64_t n = 0;
    for (unsigned i = 0; i < N_EVICT_IDS; i++)
        n += total.v[evict_ids[i]];
    if (n > st->seen) {
        if (!st->active)
            evict_health(pl, true, final, &total, st->base);
        st->active = true;
        st->last_us = now;
    }
    st->seen = n;
    if (st->active && (final || now - st->last_us >= EVICT_QUIET_US)) {
        evict_health(pl, false, final, &total, st->base);
        st->active = false;
        for (unsigned i = 0; i < N_EVICT_IDS; i++)
            st->base[i] = total.v[evict_ids[i]];
    }
}

/* SIGHUP: build the new sources aside; swap them in whole, or keep the old ones. */
static void asn_reload_failed(pipeline *pl, const char *err)
{
    char reason[768];
    uint64_t built = asn_db_build_epoch(pl->current->asn);
    snprintf(reason, sizeof reason,
             "ASN database reload failed: %s; still using the database loaded before "
             "(%s, built %llu)", err, asn_db_type(pl->current->asn), (unsigned long long)built);
    slog(SLOG_ERR, "%s", reason);
    __atomic_store_n(&pl->asn_reload_failures, pl->asn_reload_failures + 1, __ATOMIC_RELAXED);
    health(pl, "asn-reload", "failure", reason, NULL);
}

/* Puts next in force; the old sources are freed once every worker has taken next up. */
static void swap_sources(pipeline *pl, dw_sources *next)
{
    sources_adopt(next, pl->current);
    pl->retired = pl->current;
    __atomic_store_n(&pl->current, next, __ATOMIC_RELEASE);
}

static void ready_status(pipeline *pl)
{
    char status[512];
    snprintf(status, sizeof status, "%s on %s, %u worker%s, ruleset %s",
             pl->live ? "capturing" : "reading", pl->src, pl->n_workers,
             pl->n_workers == 1 ? "" : "s",
             pl->current && pl->current->rules ? ruleset_hash(pl->current->rules) : "(none)");
    notify_ready(status);
}

/* The watchdog thread's question: has the capture loop turned (a live capture's loop
 * turns at least every capture.timeout_ms, packets or not; a file may wait on a pipe) and
 * has every worker's loop turned, since the previous look? */
static bool pipeline_progress(void *ctx, char *why, size_t whylen)
{
    pipeline *pl = ctx;
    bool ok = true;
    uint64_t loops = __atomic_load_n(&pl->loops, __ATOMIC_RELAXED);
    if (pl->live && loops == pl->wd_loops) {
        snprintf(why, whylen, "the capture thread on %s made no progress", pl->src);
        ok = false;
    }
    pl->wd_loops = loops;
    for (unsigned i = 0; i < pl->n_workers; i++) {
        uint64_t b = worker_beat(pl->w[i]);
        if (b == pl->wd_beats[i] && ok) {
            snprintf(why, whylen, "worker %u made no progress", i);
            ok = false;
        }
        pl->wd_beats[i] = b;
    }
    return ok;
}

static void reload_sources(pipeline *pl);

/* SIGHUP, as the service manager sees it: RELOADING, then READY again. */
static void reload(pipeline *pl)
{
    if (pl->retired)
        return; /* the previous swap is still being taken up: retry on the next turn */
    notify_reloading();
    reload_sources(pl);
    ready_status(pl);
}

/* SIGHUP: build the new sources aside; swap them in whole, or keep the old ones. An ASN
 * database that does not load leaves the old one under the new rules, reported apart. */
static void reload_sources(pipeline *pl)
{
    if (pl->retired)
        return; /* the previous swap is still being taken up: retry on the next turn */
    reload_requested = 0;
    reload_log rl;
    memset(&rl, 0, sizeof rl);
    dw_sources *next = NULL;
    char asn_err[512];
    if (sources_reload(pl->o, pl->current, msg_collect, &rl, &next, asn_err, sizeof asn_err) != 0) {
        char reason[256];
        snprintf(reason, sizeof reason,
                 "rules reload failed (%zu messages); still running on ruleset %s", rl.total,
                 pl->current->rules ? ruleset_hash(pl->current->rules) : "(none)");
        slog(SLOG_ERR, "%s", reason);
        __atomic_store_n(&pl->reload_failures, pl->reload_failures + 1, __ATOMIC_RELAXED);
        health(pl, "rules-reload", "failure", reason, &rl);
        return;
    }
    if (asn_err[0]) {
        pl->asn_failed_valid = asn_file_id_get(pl->o->asn_db, &pl->asn_failed) == 0;
        asn_reload_failed(pl, asn_err);
    } else if (next->asn) {
        const asn_file_id *id = asn_db_file_id(next->asn);
        pl->asn_seen = *id;
        pl->asn_seen_valid = true;
        pl->asn_failed_valid = false;
    }
    /* The health event goes out before the swap, so that every alert judged with the new
     * sources follows it in the output. */
    char reason[256];
    snprintf(reason, sizeof reason, "rules reloaded: %zu rules, ruleset %s",
             next->rules ? ruleset_count(next->rules) : 0,
             next->rules ? ruleset_hash(next->rules) : "(none)");
    slog(SLOG_NOTICE, "%s", reason);
    health(pl, "rules-reload", "success", reason, NULL);
    swap_sources(pl, next);
    __atomic_store_n(&pl->reloads, pl->reloads + 1, __ATOMIC_RELAXED);
    set_rules_info(pl);
}

/* Every ASN_CHECK_EVERY_US: has the ASN database file been replaced or rewritten? Then
 * load the new one aside and swap it in under the same rules, or keep the one in use and
 * say why (a truncated or half-written file, a file that is gone). */
static void asn_watch(pipeline *pl)
{
    const char *path = pl->o->asn_db;
    if (!pl->current->asn || !path || pl->retired)
        return; /* no database in use, or a swap still being taken up: next turn */
    asn_file_id now;
    int rc = asn_file_id_get(path, &now);
    if (rc != 0) {
        if (!pl->asn_missing_reported) {
            pl->asn_missing_reported = true;
            char err[512];
            snprintf(err, sizeof err, "cannot read %s: %s", path, strerror(-rc));
            asn_reload_failed(pl, err);
        }
        pl->asn_seen_valid = false;
        return;
    }
    pl->asn_missing_reported = false;
    if (asn_file_id_equal(&now, asn_db_file_id(pl->current->asn))) {
        pl->asn_seen = now;
        pl->asn_seen_valid = true;
        return;
    }
    bool settled = pl->asn_seen_valid && asn_file_id_equal(&now, &pl->asn_seen);
    pl->asn_seen = now;
    pl->asn_seen_valid = true;
    if (!settled || (pl->asn_failed_valid && asn_file_id_equal(&now, &pl->asn_failed)))
        return;

    char err[512];
    asn_db *db = NULL;
    rc = asn_db_open(path, &db, err, sizeof err);
    if (rc == -EAGAIN)
        return; /* written to while we read it: look again next turn */
    dw_sources *next = rc == 0 ? sources_with_asn(pl->current, db) : NULL;
    if (rc == 0 && !next) {
        asn_db_close(db);
        snprintf(err, sizeof err, "out of memory");
        rc = -ENOMEM;
    }
    if (rc != 0) {
        pl->asn_failed = now;
        pl->asn_failed_valid = true;
        asn_reload_failed(pl, err);
        return;
    }
    pl->asn_failed_valid = false;
    /* Announced before the swap: every alert judged with the new database follows it. */
    char reason[768];
    snprintf(reason, sizeof reason, "ASN database %s changed and was reloaded (%s, built %llu)",
             path, asn_db_type(db), (unsigned long long)asn_db_build_epoch(db));
    slog(SLOG_NOTICE, "%s", reason);
    health(pl, "asn-reload", "success", reason, NULL);
    swap_sources(pl, next);
    __atomic_store_n(&pl->asn_reloads, pl->asn_reloads + 1, __ATOMIC_RELAXED);
}

static void free_retired(pipeline *pl)
{
    if (!pl->retired)
        return;
    for (unsigned i = 0; i < pl->n_workers; i++)
        if (worker_sources_gen(pl->w[i]) != pl->current->gen)
            return;
    sources_free(pl->retired);
    pl->retired = NULL;
}

/* ---- set-up ---------------------------------------------------------------------------- */

/* Live: one core is the capture thread's, the others the workers'. Reading a file, the
 * capture thread mostly waits for room in the rings, so every core gets a worker
 * (measured on 2 cores with the shipped rules: 0.58 s with one worker, 0.42 s with two). */
static unsigned default_workers(bool live)
{
    long n = sysconf(_SC_NPROCESSORS_ONLN) - (live ? 1 : 0);
    return n < 1 ? 1 : n > MAX_WORKERS ? MAX_WORKERS : (unsigned)n;
}

/* ---- run -------------------------------------------------------------------------------- */

/* The end-of-run counters on stderr. Returns the frames the pipeline itself lost (worker
 * rings full). */
static uint64_t report(pipeline *pl)
{
    dw_counters total, one;
    uint64_t alerts = 0;
    memset(&total, 0, sizeof total);
    for (unsigned i = 0; i < pl->n_workers; i++) {
        dw_counters_snapshot(&one, worker_counters(pl->w[i]));
        dw_counters_add(&total, &one);
        alerts += worker_alerts(pl->w[i]);
    }
    dw_input_add_counters(pl->in, &total);
    for (unsigned i = 0; i < DW_C__COUNT; i++)
        if (total.v[i])
            slog(SLOG_INFO, "%s: %llu", dw_counter_text((enum dw_counter_id)i),
                 (unsigned long long)total.v[i]);
    uint64_t drops = 0;
    for (unsigned i = 0; i < pl->n_workers; i++)
        drops += pl->ring_drops[i];
    if (drops)
        slog(SLOG_WARNING, "frames dropped, worker ring full: %llu",
                (unsigned long long)drops);
    dw_input_stats st;
    if (dw_input_stats_get(pl->in, &st) == 0)
        slog(st.dropped || st.if_dropped ? SLOG_WARNING : SLOG_INFO,
             "kernel: received %llu, dropped %llu, interface dropped %llu",
                (unsigned long long)st.received, (unsigned long long)st.dropped,
                (unsigned long long)st.if_dropped);
    if (pl->current && pl->current->rules)
        slog(SLOG_INFO, "alerts written: %llu", (unsigned long long)alerts);
    return drops;
}

static int prepare_spool(const dw_options *o)
{
    struct passwd pw, *res = NULL;
    char buf[4096], err[512];
    const char *dir = o->redis.spool_dir ? o->redis.spool_dir : "/var/lib/dnswatch/spool";
    if (getpwnam_r(o->user, &pw, buf, sizeof buf, &res) != 0 || !res)
        return 0; /* privdrop_to says so, in its words */
    if (spool_prepare_dir(dir, pw.pw_uid, pw.pw_gid, err, sizeof err) != 0) {
        slog(SLOG_ERR, "%s", err);
        return -1;
    }
    return 0;
}

int run_main(const dw_options *o)
{
    static pipeline pipe_state;
    pipeline *pl = &pipe_state;
    /* Large: an input's message may quote a long --filter. */
    static char err[1u << 18];
    int status = 1;

    memset(pl, 0, sizeof *pl);
    pl->o = o;
    pthread_mutex_init(&pl->info_mu, NULL);
    pl->start_time = (double)clk_wall_us() / 1e6;
    /* First: a SIGHUP while the rules and the input are still being opened (a reload racing
     * the start, a loaded machine) is a reload done at the first turn of the loop, not the
     * default action's death; a stop signal ends the run before the first packet. */
    install_signals();

    if (sources_load(o, 1, msg_stderr, NULL, &pl->current) != 0)
        goto out;
    set_rules_info(pl);

    if (dw_input_open(o, &pl->in, err, sizeof err) != 0) {
        slog(SLOG_ERR, "%s", err);
        goto out;
    }
    pl->src = pl->in->src;
    pl->live = pl->in->live;
    pl->dlt = dw_input_link_type(pl->in);

    /* The spool belongs to the user the run drops to: made (with its parents) and handed
     * over while root still can. */
    if (o->output == DW_OUT_REDIS && o->user && geteuid() == 0 && prepare_spool(o) != 0)
        goto out;

    /* The input is open: nothing from here on needs privileges. */
    if (privdrop_after_open(o->user, o->allow_root, pl->live, pl->src, err, sizeof err) != 0) {
        slog(SLOG_ERR, "%s", err);
        goto out;
    }

    /* A wrong password or a bad URL stops the start; Redis being away does not (the
     * publisher spools and retries). */
    int orc = dw_out_open(o, msg_stderr, NULL, &pl->out, err, sizeof err);
    if (orc != 0)
        slog(orc < 0 ? SLOG_ERR : SLOG_WARNING, "%s", err);
    if (orc < 0)
        goto out;
    if (dw_out_can_hurry(pl->out))
        active_hurry = pl->out;

    if (gethostname(pl->observer, sizeof pl->observer) != 0 || !pl->observer[0])
        snprintf(pl->observer, sizeof pl->observer, "dnswatch");
    pl->observer[sizeof pl->observer - 1] = '\0';
    const char *observer = o->observer_name ? o->observer_name : pl->observer;
    event_meta meta = {observer, o->iface, NULL};
    pl->health = event_encoder_new(&meta);
    if (!pl->health) {
        slog(SLOG_ERR, "out of memory");
        goto out;
    }

    pl->n_workers = o->workers ? o->workers : default_workers(pl->live);
    if (pl->n_workers > MAX_WORKERS)
        pl->n_workers = MAX_WORKERS;
    worker_config wc = {
        .decoder = &o->decoder, .log = o->log, .fold_seconds = o->fold_seconds,
        .track = {.max_queries = o->track_queries, .timeout_ms = o->track.timeout_ms,
                  .max_pairs = o->track.max_pairs, .near_miss = o->track.near_miss,
                  .blind_count = o->track.blind_count,
                  .blind_window_ms = o->track.blind_window_ms, .seen_s = o->track.seen_s,
                  .window_s = o->track.window_s, .max_incidents = o->track.max_incidents,
                  .loss = &pl->loss},
        .dlt = pl->dlt, .live = pl->live,
        .iface = o->iface, .observer_name = observer, .out = pl->out, .sources = &pl->current,
        .ring_bytes = pl->live ? RING_BYTES : FILE_RING_BYTES,
    };
    for (unsigned i = 0; i < pl->n_workers; i++) {
        pl->w[i] = worker_start(&wc);
        if (!pl->w[i]) {
            slog(SLOG_ERR, "cannot start worker %u: out of memory", i);
            pl->n_workers = i;
            goto stop;
        }
    }

    if (o->metrics.listen && *o->metrics.listen) {
        if (metrics_server_start(o->metrics.listen, fill_metrics, pl, &pl->metrics, err,
                                 sizeof err) != 0) {
            slog(SLOG_ERR, "metrics: %s", err);
            goto stop;
        }
        slog(SLOG_INFO, "metrics on http://%s/metrics", metrics_server_address(pl->metrics));
        if (metrics_server_any(pl->metrics))
            slog(SLOG_WARNING, "metrics.listen %s binds every address: the metrics are open to "
                 "any host that can reach this one; bind a specific address (127.0.0.1:PORT) "
                 "or firewall the port", o->metrics.listen);
    }

    active_input = pl->in;
    slog(SLOG_INFO, "%s on %s, %u worker%s", pl->live ? "capturing" : "reading",
            pl->src, pl->n_workers, pl->n_workers == 1 ? "" : "s");
    if (notify_watchdog_start(pipeline_progress, pl, &pl->watchdog) != 0)
        slog(SLOG_WARNING, "watchdog: cannot start its thread: out of resources");
    ready_status(pl);
    int rc = 0;
    uint64_t next_flush = clk_mono_us() + FLUSH_EVERY_US;
    /* A broken output (stdout closed, disk full) ends the run: capturing on with nowhere
     * to put the events would lose them without a word. */
    while (!stop_requested && !dw_out_failed(pl->out)) {
        __atomic_store_n(&pl->loops, pl->loops + 1, __ATOMIC_RELAXED);
        rc = dw_input_dispatch(pl->in, 256, on_frame, pl);
        if (rc == DW_INPUT_ERROR)
            break;
        /* A break is a signal's doing (stop or reload): the loop condition and the
         * reload flag say which. Never end on it alone: an input may report a break
         * once more after a reload was already handled. */
        if (rc == DW_INPUT_EOF && !reload_requested && !stop_requested)
            break;
        if (rc < 0)
            rc = 0;
        if (reload_requested)
            reload(pl);
        free_retired(pl);
        watch_evictions(pl, false);
        uint64_t now = clk_mono_us();
        if (now >= pl->next_asn_check_us) {
            asn_watch(pl);
            pl->next_asn_check_us = now + ASN_CHECK_EVERY_US;
        }
        if (pl->live && now >= next_flush) {
            dw_out_flush(pl->out);
            next_flush = now + FLUSH_EVERY_US;
        }
        if (now >= pl->next_stats_us) {
            refresh_capture_stats(pl);
            pl->next_stats_us = now + 1000000u;
        }
        if (pl->live && now >= pl->next_metric_event_us) {
            if (pl->next_metric_event_us)
                emit_metric_event(pl); /* not at start: nothing counted yet */
            pl->next_metric_event_us =
                now + (uint64_t)(o->metrics.interval_s ? o->metrics.interval_s : 15) * 1000000u;
        }
        if (o->metrics.textfile && now >= pl->next_textfile_us) {
            write_textfile(pl);
            pl->next_textfile_us = now + (uint64_t)(o->metrics.interval_s ? o->metrics.interval_s : 15) * 1000000u;
        }
    }
    active_input = NULL;
    if (rc == DW_INPUT_ERROR)
        slog(SLOG_ERR, "%s: %s", pl->src, dw_input_error(pl->in));
    else
        status = 0;

stop:
    notify_stopping();
    notify_watchdog_stop(pl->watchdog);
    pl->watchdog = NULL;
    metrics_server_stop(pl->metrics);
    pl->metrics = NULL;
    /* Stop capturing, drain the rings, flush. */
    for (unsigned i = 0; i < pl->n_workers; i++)
        worker_stop(pl->w[i]);
    watch_evictions(pl, true);
    dw_out_flush(pl->out);
    if (dw_out_failed(pl->out)) {
        slog(SLOG_ERR, "writing events failed: %s",
                strerror(dw_out_failed(pl->out)));
        status = 1;
    }
    refresh_capture_stats(pl);
    if (o->metrics.textfile)
        write_textfile(pl);
    uint64_t lost = report(pl);
    /* Still hurriable while it drains: a second stop signal ends the wait. */
    lost += dw_out_close(pl->out, true);
    active_hurry = NULL;
    pl->out = NULL;
    if (lost) {
        /* A run that lost events did not do its job, whatever else went well. */
        slog(SLOG_ERR, "%llu frames or events lost (counted above): exit status 1",
                (unsigned long long)lost);
        status = 1;
    }

out:
    for (unsigned i = 0; i < MAX_WORKERS; i++)
        worker_free(pl->w[i]);
    dw_out_close(pl->out, false);
    active_hurry = NULL;
    dw_input_close(pl->in);
    event_encoder_free(pl->health);
    sources_free(pl->retired);
    sources_free(pl->current);
    pthread_mutex_destroy(&pl->info_mu);
    return status;
}
