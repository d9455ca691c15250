#include "sensor/ring.h"

#include <stdlib.h>
#include <string.h>

/* Record layout: a 16-byte header, then the frame bytes, padded to 16, so whatever room
 * is left before the end of the buffer holds at least a header. A header whose len is
 * WRAP_MARK tells the consumer to continue at offset 0 (a record never wraps). */
typedef struct rec_hdr {
    uint64_t ts_us;
    uint32_t len;
    uint32_t pad;
} rec_hdr;

#define WRAP_MARK 0xffffffffu

struct ring {
    uint8_t *buf;
    size_t size;  /* power of two */
    size_t mask;
    /* Producer and consumer positions, free-running; on separate cache lines. */
    _Alignas(64) size_t head; /* written by the producer */
    _Alignas(64) size_t tail; /* written by the consumer */
    _Alignas(64) size_t cur;  /* consumer: size of the record being peeked */
};

static size_t rec_size(uint32_t len)
{
    return (sizeof(rec_hdr) + len + 15u) & ~(size_t)15u;
}

ring *ring_new(size_t bytes)
{
    size_t size = 128 * 1024;
    while (size < bytes && size < ((size_t)1 << 40))
        size <<= 1;
    ring *r = aligned_alloc(64, sizeof *r);
    if (!r)
        return NULL;
    memset(r, 0, sizeof *r);
    r->buf = malloc(size);
    if (!r->buf) {
        free(r);
        return NULL;
    }
    r->size = size;
    r->mask = size - 1;
    return r;
}

void ring_free(ring *r)
{
    if (!r)
        return;
    free(r->buf);
    free(r);
}

bool ring_push(ring *r, uint64_t ts_us, const uint8_t *data, uint32_t len)
{
    size_t need = rec_size(len);
    if (len == WRAP_MARK || need > r->size / 2)
        return false;
    size_t head = r->head;
    size_t tail = __atomic_load_n(&r->tail, __ATOMIC_ACQUIRE);
    size_t free_bytes = r->size - (head - tail);
    size_t off = head & r->mask;
    size_t to_end = r->size - off;
    size_t skip = 0;
    if (to_end < need) {
        /* Not enough room before the end: mark the rest as skipped, start at 0. */
        skip = to_end;
    }
    if (free_bytes < need + skip)
        return false;
    if (skip) {
        rec_hdr w = {0, WRAP_MARK, 0};
        memcpy(r->buf + off, &w, sizeof w); /* to_end >= 16: records are 16-aligned */
        head += skip;
        off = 0;
    }
    rec_hdr h = {ts_us, len, 0};
    memcpy(r->buf + off, &h, sizeof h);
    memcpy(r->buf + off + sizeof h, data, len);
    __atomic_store_n(&r->head, head + need, __ATOMIC_RELEASE);
    return true;
}

bool ring_peek(ring *r, ring_frame *f)
{
    size_t tail = r->tail;
    size_t head = __atomic_load_n(&r->head, __ATOMIC_ACQUIRE);
    if (tail == head)
        return false;
    size_t off = tail & r->mask;
    rec_hdr h;
    memcpy(&h, r->buf + off, sizeof h);
    if (h.len == WRAP_MARK) {
        tail += r->size - off;
        __atomic_store_n(&r->tail, tail, __ATOMIC_RELEASE);
        if (tail == head)
            return false;
        off = 0;
        memcpy(&h, r->buf, sizeof h);
    }
    f->ts_us = h.ts_us;
    f->len = h.len;
    f->data = r->buf + off + sizeof h;
    r->cur = rec_size(h.len);
    return true;
}

void ring_release(ring *r)
{
    __atomic_store_n(&r->tail, r->tail + r->cur, __ATOMIC_RELEASE);
    r->cur = 0;
}
