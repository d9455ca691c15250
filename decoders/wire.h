/* The one bounds-checked cursor every packet byte is read through.
 *
 * A wire_ctx walks a byte range. Every read checks the remaining length; a read past
 * the end sets a sticky error, returns 0 and leaves the position at the end, so callers
 * read a whole structure and check wire_ok() once. No raw p[i] outside this header. */
#ifndef DW_WIRE_H
#define DW_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct wire_ctx {
    const uint8_t *base; /* start of the range; offsets are relative to it */
    size_t len;          /* bytes in the range */
    size_t pos;          /* next byte to read */
    bool err;            /* sticky: set by any read past the end */
} wire_ctx;

static inline wire_ctx wire_init(const uint8_t *base, size_t len)
{
    wire_ctx w = {base, len, 0, false};
    return w;
}

static inline bool wire_ok(const wire_ctx *w) { return !w->err; }
static inline size_t wire_left(const wire_ctx *w) { return w->err ? 0 : w->len - w->pos; }
static inline const uint8_t *wire_ptr(const wire_ctx *w) { return w->base + w->pos; }

static inline void wire_fail(wire_ctx *w)
{
    w->err = true;
    w->pos = w->len;
}

/* Moves to an absolute offset; past the end is an error. */
static inline void wire_seek(wire_ctx *w, size_t off)
{
    if (w->err || off > w->len)
        wire_fail(w);
    else
        w->pos = off;
}

static inline void wire_skip(wire_ctx *w, size_t n)
{
    if (w->err || n > w->len - w->pos)
        wire_fail(w);
    else
        w->pos += n;
}

static inline uint8_t wire_u8(wire_ctx *w)
{
    if (w->err || w->len - w->pos < 1) {
        wire_fail(w);
        return 0;
    }
    return w->base[w->pos++];
}

static inline uint16_t wire_u16(wire_ctx *w)
{
    if (w->err || w->len - w->pos < 2) {
        wire_fail(w);
        return 0;
    }
    const uint8_t *p = w->base + w->pos;
    w->pos += 2;
    return (uint16_t)((uint16_t)p[0] << 8 | p[1]);
}

static inline uint32_t wire_u32(wire_ctx *w)
{
    if (w->err || w->len - w->pos < 4) {
        wire_fail(w);
        return 0;
    }
    const uint8_t *p = w->base + w->pos;
    w->pos += 4;
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Little-endian 32-bit read (pcap null/loopback headers are in host order of the writer). */
static inline uint32_t wire_u32le(wire_ctx *w)
{
    if (w->err || w->len - w->pos < 4) {
        wire_fail(w);
        return 0;
    }
    const uint8_t *p = w->base + w->pos;
    w->pos += 4;
    return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

/* Moves past the bytes in 1..127 (neither 0 nor with the top bit set), up to the end;
 * returns how many. Eight at a time while no such word holds another byte: a word
 * minus 0x01 in every byte, or'ed with itself, has a top bit set exactly when one of its
 * bytes is 0 or 128 and above; the bytewise loop then finds which. */
static inline size_t wire_skip_ascii_nonzero(wire_ctx *w)
{
    if (w->err)
        return 0;
    size_t start = w->pos;
    while (w->len - w->pos >= 8) {
        uint64_t x;
        memcpy(&x, w->base + w->pos, 8);
        if (((x - 0x0101010101010101ull) | x) & 0x8080808080808080ull)
            break;
        w->pos += 8;
    }
    while (w->pos < w->len && (uint8_t)(w->base[w->pos] - 1u) < 127u)
        w->pos++;
    return w->pos - start;
}

/* Copies n bytes out; on error the destination is zeroed. */
static inline void wire_bytes(wire_ctx *w, void *dst, size_t n)
{
    if (w->err || n > w->len - w->pos) {
        wire_fail(w);
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, w->base + w->pos, n);
    w->pos += n;
}

/* A sub-cursor over the next n bytes (which the parent skips); failed if too few. */
static inline wire_ctx wire_sub(wire_ctx *w, size_t n)
{
    wire_ctx s = {w->base, 0, 0, true};
    if (w->err || n > w->len - w->pos) {
        wire_fail(w);
        return s;
    }
    s = wire_init(w->base + w->pos, n);
    w->pos += n;
    return s;
}

#endif
