/* dnstap (dnstap.info): Frame Streams framing and the Dnstap protobuf, to records the
 * workers read like captured frames.
 *
 * A resolver's dnstap message becomes one record of the pseudo link type
 * PKT_DLT_DNSWATCH (pkt.h): the addresses, ports, transport and times it states, the
 * identity, version, message type and query zone, then the DNS message of its type (the
 * query of a *_QUERY, the response of a *_RESPONSE). pkt_parse() reads a record back into
 * a pkt_info whose `dnstap` member is set, and the decoder hands its DNS message to the
 * rules as it is: no port check, no TCP reassembly (dnstap carries whole messages).
 *
 * The same record type also wraps a captured frame with its own link type, so that a
 * process reading an interface and dnstap at once feeds its workers one link type.
 *
 * Everything here is stateless but the decoder's arena: bytes in, bytes or facts out,
 * malformed input counted in the dnstap block of counters.h, nothing allocated per frame. */
#ifndef DW_DNSTAP_H
#define DW_DNSTAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "decoders/counters.h"
#include "decoders/pkt.h"

/* ---- Frame Streams (the framing fstrm, Unbound, BIND, Knot and PowerDNS write) ------- */

#define FSTRM_CONTENT_TYPE "protobuf:dnstap.Dnstap"
#define FSTRM_CONTROL_MAX 512u       /* the longest control frame accepted */
#define DNSTAP_FRAME_MAX (256u << 10) /* the longest data frame accepted; longer: skipped */

enum fstrm_ctrl {
    FSTRM_ACCEPT = 1, FSTRM_START = 2, FSTRM_STOP = 3, FSTRM_READY = 4, FSTRM_FINISH = 5,
};

typedef struct fstrm_control {
    uint32_t type;               /* enum fstrm_ctrl */
    unsigned n_content_types;    /* content type fields present */
    bool dnstap;                 /* one of them is FSTRM_CONTENT_TYPE */
} fstrm_control;

enum fstrm_item_kind {
    FSTRM_NEED_MORE = 0, /* the buffer holds no whole frame yet */
    FSTRM_DATA,          /* data, len: one data frame */
    FSTRM_CONTROL,       /* ctl: one control frame */
    FSTRM_TOO_LARGE,     /* a data frame over max: len bytes follow, to be skipped */
    FSTRM_BAD,           /* a malformed control frame: the stream cannot go on */
};

typedef struct fstrm_item {
    enum fstrm_item_kind kind;
    size_t used;                 /* bytes of the buffer this item took */
    const uint8_t *data;
    size_t len;
    fstrm_control ctl;
} fstrm_item;

/* The next frame at the start of buf (avail bytes). Never reads past avail. */
void fstrm_next(const uint8_t *buf, size_t avail, size_t max_frame, fstrm_item *it);

/* Parses a control frame's payload (its type and fields, after the escape and length).
 * 0, or -1 when malformed. */
int fstrm_control_parse(const uint8_t *p, size_t len, fstrm_control *out);

/* Writes a whole control frame (escape, length, type, and the dnstap content type when
 * content_type) into out. Returns its length, 0 if cap is too small. */
size_t fstrm_control_build(uint32_t type, bool content_type, uint8_t *out, size_t cap);

/* ---- Dnstap protobuf to records -------------------------------------------------------- */

/* The largest record: a frame's DNS message plus the fixed part and three short texts. */
#define DNSTAP_RECORD_MAX (DNSTAP_FRAME_MAX + 1024u)

typedef struct dnstap_decoder dnstap_decoder;

/* One per thread that decodes: it owns the arena protobuf-c unpacks into. NULL: no memory. */
dnstap_decoder *dnstap_decoder_new(void);
void dnstap_decoder_free(dnstap_decoder *d); /* accepts NULL */

/* Decodes one data frame (a Dnstap protobuf) into a record in out (cap bytes, at least
 * DNSTAP_RECORD_MAX for any frame up to DNSTAP_FRAME_MAX). *ts_us: the time the message
 * states for itself (response time of a response, query time of a query), else now_us.
 * Returns the record's length, or 0 when the frame gives nothing to judge (counted in c). */
size_t dnstap_decode(dnstap_decoder *d, const uint8_t *pb, size_t len, uint64_t now_us,
                     uint8_t *out, size_t cap, uint64_t *ts_us, dw_counters *c);

/* Wraps a captured frame of link type dlt as a record (for an interface read beside
 * dnstap). Returns the record's length, 0 if it does not fit in cap. */
size_t dnstap_wrap_frame(int dlt, const uint8_t *frame, size_t len, uint8_t *out, size_t cap);

/* pkt_parse() for PKT_DLT_DNSWATCH records. */
enum pkt_result dnstap_record_parse(const uint8_t *data, size_t len, pkt_info *pi,
                                    pkt_frag *frag, dw_counters *c);

/* Names as the dnstap schema spells them ("CLIENT_RESPONSE", "DOT"); NULL when unknown. */
const char *dnstap_type_name(uint8_t type);
const char *dnstap_protocol_name(uint8_t socket_protocol);
/* The application protocol for ECS network.protocol: "dns", "dot", "doh", "doq",
 * "dnscrypt". */
const char *dnstap_network_protocol(uint8_t socket_protocol);
/* Whether a message type is a response (even numbers). */
static inline bool dnstap_type_is_response(uint8_t type) { return type && type % 2 == 0; }

#endif
