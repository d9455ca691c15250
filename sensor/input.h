/* Where frames come from: one interface for every input (a live interface, a capture
 * file; dnstap next). An input hands out frames, each with its capture time, in the link
 * type it names; the pipeline (run.c) knows nothing else about it. Nothing here assumes
 * libpcap.
 *
 * Adding an input: one file that fills a dw_input_ops and an open function, and one row in
 * the table of input.c that says which options select it. */
#ifndef DW_INPUT_H
#define DW_INPUT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "decoders/counters.h"
#include "sensor/options.h"

/* dispatch's results besides a count of frames (>= 0). */
enum {
    DW_INPUT_EOF = -1,   /* the input has ended (a file read to its end) */
    DW_INPUT_BREAK = -2, /* dw_input_break was called (a signal): look at the flags */
    DW_INPUT_ERROR = -3, /* a read error: dw_input_error says which */
};

/* Called once per frame. The bytes belong to the input and are valid only during the
 * call: copy what must outlive it. */
typedef void (*dw_frame_fn)(void *ctx, uint64_t ts_us, const uint8_t *data, uint32_t len);

/* Counts from the source itself, as far as it keeps them. */
typedef struct dw_input_stats {
    uint64_t received;      /* frames the source saw */
    uint64_t dropped;       /* lost before they reached us (kernel buffer full) */
    uint64_t if_dropped;    /* lost by the interface or its driver */
} dw_input_stats;

typedef struct dw_input dw_input;

typedef struct dw_input_ops {
    /* Hands up to max frames to fn, waiting a short while (~100 ms) at most for the first,
     * so the caller's loop runs on a quiet source too. Returns the number handed (0 on a
     * quiet live source) or one of DW_INPUT_*. */
    int (*dispatch)(dw_input *in, unsigned max, dw_frame_fn fn, void *ctx);
    /* Makes the current or next dispatch return DW_INPUT_BREAK soon. Async-signal-safe. */
    void (*brk)(dw_input *in);
    /* The source's counters; NULL when it keeps none (a file). 0, or a negative errno. */
    int (*stats)(dw_input *in, dw_input_stats *out);
    void (*close)(dw_input *in);
    /* Adds the input's own decoder counters (counters.h) to sum; NULL when it keeps none.
     * Any thread: the counters are read with relaxed atomics. */
    void (*counters)(dw_input *in, dw_counters *sum);
} dw_input_ops;

/* The part every input shares; an implementation embeds it first and fills it at open. */
struct dw_input {
    const dw_input_ops *ops;
    const char *src;        /* file or interface name, for messages */
    int link_type;          /* DLT_* of every frame (decoders/pkt.h) */
    /* A real-time source: it never waits for the pipeline (a full ring is a counted drop),
     * time passes without frames, and opening it needed privileges. */
    bool live;
    char err[512];          /* the last error, for DW_INPUT_ERROR */
};

/* Opens the input the options name, with its filter set. Returns 0; or a negative errno
 * with one line in err ("cannot read FILE: ...", "IFACE: link type ... is not supported"). */
DW_MUST_USE
int dw_input_open(const dw_options *o, dw_input **out, char *err, size_t errlen);

static inline int dw_input_dispatch(dw_input *in, unsigned max, dw_frame_fn fn, void *ctx)
{
    return in->ops->dispatch(in, max, fn, ctx);
}
static inline void dw_input_break(dw_input *in) { in->ops->brk(in); }
static inline bool dw_input_has_stats(const dw_input *in) { return in->ops->stats != NULL; }
static inline int dw_input_stats_get(dw_input *in, dw_input_stats *out)
{
    return in->ops->stats ? in->ops->stats(in, out) : -EOPNOTSUPP;
}
static inline void dw_input_add_counters(dw_input *in, dw_counters *sum)
{
    if (in && in->ops->counters)
        in->ops->counters(in, sum);
}
static inline int dw_input_link_type(const dw_input *in) { return in->link_type; }
static inline const char *dw_input_error(const dw_input *in) { return in->err; }
static inline void dw_input_close(dw_input *in)
{
    if (in)
        in->ops->close(in);
}

/* The implementations (input_*.c), for input.c's table. */
bool input_pcap_file_wanted(const dw_options *o);
DW_MUST_USE
int input_pcap_file_open(const dw_options *o, dw_input **out, char *err, size_t errlen);
bool input_pcap_live_wanted(const dw_options *o);
DW_MUST_USE
int input_pcap_live_open(const dw_options *o, dw_input **out, char *err, size_t errlen);
bool input_dnstap_wanted(const dw_options *o);
DW_MUST_USE
int input_dnstap_open(const dw_options *o, dw_input **out, char *err, size_t errlen);

#endif
