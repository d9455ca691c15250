/* A single-producer/single-consumer ring of captured frames, in one byte buffer allocated
 * at start: the capture thread pushes, one worker pops, nothing is allocated per packet
 * and the producer never waits (ring_push fails when the frame does not fit: the caller
 * counts the drop). head and tail are the only shared state (acquire/release). */
#ifndef DW_RING_H
#define DW_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct ring ring;

typedef struct ring_frame {
    uint64_t ts_us;
    uint32_t len;
    const uint8_t *data; /* valid until ring_release() */
} ring_frame;

/* bytes: buffer size (rounded up to a power of two, at least 128 KiB). */
ring *ring_new(size_t bytes);
void ring_free(ring *r); /* accepts NULL */

/* Producer: copies a frame in. false if it does not fit now (or ever: len too large). */
bool ring_push(ring *r, uint64_t ts_us, const uint8_t *data, uint32_t len);

/* Consumer: peeks the oldest frame; false if empty. Call ring_release() when done. */
bool ring_peek(ring *r, ring_frame *f);
void ring_release(ring *r);

#endif
