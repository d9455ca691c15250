/* A tiny DNS message writer shared by the dns tests and the fuzz seed generator.
 * Test-only: writes without bounds on purpose-sized buffers, aborts on overflow. */
#ifndef DW_TEST_DNS_MSGBUILD_H
#define DW_TEST_DNS_MSGBUILD_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef struct mb {
    uint8_t b[65536];
    size_t n;
} mb;

static inline void mb_u8(mb *m, unsigned v)
{
    if (m->n >= sizeof m->b)
        abort();
    m->b[m->n++] = (uint8_t)v;
}
static inline void mb_u16(mb *m, unsigned v)
{
    mb_u8(m, v >> 8);
    mb_u8(m, v & 0xff);
}
static inline void mb_u32(mb *m, uint32_t v)
{
    mb_u16(m, v >> 16);
    mb_u16(m, v & 0xffff);
}
static inline void mb_bytes(mb *m, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mb_u8(m, ((const uint8_t *)p)[i]);
}
/* Dotted name ("" or "." = root); no escapes: labels are split on '.'. */
static inline void mb_labels(mb *m, const char *s)
{
    while (*s && strcmp(s, ".") != 0) {
        const char *dot = strchr(s, '.');
        size_t l = dot ? (size_t)(dot - s) : strlen(s);
        mb_u8(m, (unsigned)l);
        mb_bytes(m, s, l);
        s += l;
        if (*s == '.')
            s++;
    }
}
static inline void mb_name(mb *m, const char *s)
{
    mb_labels(m, s);
    mb_u8(m, 0);
}
static inline void mb_ptr(mb *m, unsigned off) { mb_u16(m, 0xc000 | off); }
static inline void mb_hdr(mb *m, unsigned id, unsigned flags, unsigned qd, unsigned an,
                          unsigned ns, unsigned ar)
{
    m->n = 0;
    mb_u16(m, id);
    mb_u16(m, flags);
    mb_u16(m, qd);
    mb_u16(m, an);
    mb_u16(m, ns);
    mb_u16(m, ar);
}
/* Owner already written: type, class, ttl; returns where rdlength goes. */
static inline size_t mb_rr_fixed(mb *m, unsigned type, unsigned cls, uint32_t ttl)
{
    mb_u16(m, type);
    mb_u16(m, cls);
    mb_u32(m, ttl);
    size_t at = m->n;
    mb_u16(m, 0);
    return at;
}
static inline void mb_rdlen_fix(mb *m, size_t at)
{
    size_t l = m->n - at - 2;
    m->b[at] = (uint8_t)(l >> 8);
    m->b[at + 1] = (uint8_t)l;
}

#endif
