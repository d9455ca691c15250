#include "sensor/json.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void json_init(json_buf *j)
{
    memset(j, 0, sizeof *j);
    j->first[0] = true;
}

void json_free(json_buf *j)
{
    free(j->p);
    json_init(j);
}

void json_reset(json_buf *j)
{
    j->len = 0;
    j->oom = false;
    j->depth = 0;
    j->first[0] = true;
    j->after_key = false;
}

int json_grow(json_buf *j, size_t n)
{
    if (j->oom)
        return -ENOMEM;
    if (n > SIZE_MAX / 4 - j->len) { /* a length no caller can mean: never wrap the sizes */
        j->oom = true;
        return -ENOMEM;
    }
    size_t cap = j->cap ? j->cap : 1024;
    while (cap - j->len < n)
        cap *= 2;
    char *p = realloc(j->p, cap);
    if (!p) {
        j->oom = true;
        return -ENOMEM;
    }
    j->p = p;
    j->cap = cap;
    return 0;
}

static inline bool reserve(json_buf *j, size_t n) { return json_room(j, n); }

static inline void put(json_buf *j, const char *s, size_t n)
{
    if (reserve(j, n)) {
        memcpy(j->p + j->len, s, n);
        j->len += n;
    }
}

static inline void putc1(json_buf *j, char c)
{
    if (reserve(j, 1))
        j->p[j->len++] = c;
}

/* Writes the comma before a value or key where one is due. */
static inline void sep(json_buf *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (!j->first[j->depth])
        putc1(j, ',');
    j->first[j->depth] = false;
}

static void open(json_buf *j, char c)
{
    sep(j);
    putc1(j, c);
    if (j->depth + 1 < JSON_MAX_DEPTH) {
        j->depth++;
        j->first[j->depth] = true;
    } else {
        j->oom = true; /* nesting beyond the limit is a bug in the caller, not input */
    }
}

static void close_(json_buf *j, char c)
{
    putc1(j, c);
    if (j->depth > 0)
        j->depth--;
}

void json_obj_begin(json_buf *j) { open(j, '{'); }
void json_obj_end(json_buf *j) { close_(j, '}'); }
void json_arr_begin(json_buf *j) { open(j, '['); }
void json_arr_end(json_buf *j) { close_(j, ']'); }

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid (overlongs, surrogates
 * and code points above U+10FFFF are invalid). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned char c = s[0];
    size_t len;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

/* Bytes copied as they are: printable ASCII but the quote and the backslash (rows of
 * 16 from 0x00; everything from 0x80 up is checked as UTF-8). */
static const unsigned char plain[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
};

#define ONES 0x0101010101010101ull
#define HIGHS 0x8080808080808080ull

/* Non-zero if any byte of x is below 0x20, at or above 0x80, '"' or '\\'. The classic
 * "has a zero byte" test, applied to x and to x xor each special byte. */
static inline uint64_t swar_special(uint64_t x)
{
    uint64_t q = x ^ (ONES * '"'), b = x ^ (ONES * '\\');
    uint64_t ctl = (x - ONES * 0x20) & ~x;
    uint64_t zq = (q - ONES) & ~q, zb = (b - ONES) & ~b;
    return (x | ctl | zq | zb) & HIGHS;
}

/* Escapes s[i..n) into the buffer, opening quote already written: the general path,
 * for strings that hold a byte needing attention at or after i. Every decision depends
 * only on the bytes from i on, so it may take over from the fast path at any point. */
static void strn_slow(json_buf *j, const unsigned char *s, size_t i, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    while (i < n) {
        /* Copy the longest run that needs no escaping in one go. */
        size_t run = i;
        /* Eight bytes at a time while none of them needs attention (a control byte, a
         * byte >= 0x80, '"' or '\\'), then byte by byte. */
        while (run + 8 <= n) {
            uint64_t x;
            memcpy(&x, s + run, 8);
            if (swar_special(x))
                break;
            run += 8;
        }
        while (run < n && plain[s[run]])
            run++;
        if (run > i) {
            put(j, (const char *)s + i, run - i);
            i = run;
            continue;
        }
        unsigned char c = s[i];
        if (c == '"') {
            put(j, "\\\"", 2);
            i++;
        } else if (c == '\\') {
            put(j, "\\\\", 2);
            i++;
        } else if (c < 0x20) {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 0xf]};
            switch (c) {
            case '\n': put(j, "\\n", 2); break;
            case '\r': put(j, "\\r", 2); break;
            case '\t': put(j, "\\t", 2); break;
            default: put(j, esc, 6); break;
            }
            i++;
        } else {
            size_t l = utf8_seq(s + i, n - i);
            if (l == 0) {
                put(j, "\\ufffd", 6);
                i++;
            } else {
                put(j, (const char *)s + i, l);
                i += l;
            }
        }
    }
    putc1(j, '"');
}

#if defined(__SSE2__)
#include <emmintrin.h>

/* The same test sixteen bytes at a time: a signed compare with 0x20 catches the control
 * bytes and every byte from 0x80 up. Non-zero if any byte needs attention. */
static inline unsigned sse_special(__m128i x)
{
    __m128i low = _mm_cmplt_epi8(x, _mm_set1_epi8(0x20));
    __m128i q = _mm_cmpeq_epi8(x, _mm_set1_epi8('"'));
    __m128i b = _mm_cmpeq_epi8(x, _mm_set1_epi8('\\'));
    return (unsigned)_mm_movemask_epi8(_mm_or_si128(low, _mm_or_si128(q, b)));
}
#endif

/* Copies s[0..n) to o while no byte needs escaping, a chunk at a time, the last chunk
 * overlapping the one before when n is not a multiple (16-byte chunks with SSE2, then
 * 8+8, 4+4 overlapping, a table for 0..3 bytes). Returns n if every byte was plain, else
 * an i < n such that s[0..i) are plain and copied: the general path takes over from i.
 * Only bytes inside s[0..n) are read; o has room for n bytes. */
static inline size_t copy_plain(char *o, const unsigned char *s, size_t n)
{
    size_t i = 0;
#if defined(__SSE2__)
    if (n >= 16) {
        __m128i x;
        for (; i + 16 <= n; i += 16) {
            x = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
            if (sse_special(x))
                return i;
            _mm_storeu_si128((__m128i *)(void *)(o + i), x);
        }
        if (i < n) {
            x = _mm_loadu_si128((const __m128i *)(const void *)(s + n - 16));
            if (sse_special(x))
                return i;
            _mm_storeu_si128((__m128i *)(void *)(o + n - 16), x);
        }
        return n;
    }
#endif
    if (n >= 8) {
        uint64_t x;
        for (; i + 8 <= n; i += 8) {
            memcpy(&x, s + i, 8);
            if (swar_special(x))
                return i;
            memcpy(o + i, &x, 8);
        }
        if (i < n) {
            memcpy(&x, s + n - 8, 8);
            if (swar_special(x))
                return i;
            memcpy(o + n - 8, &x, 8);
        }
    } else if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, s, 4);
        memcpy(&hi, s + n - 4, 4);
        if (swar_special((uint64_t)hi << 32 | lo))
            return 0;
        memcpy(o, &lo, 4);
        memcpy(o + n - 4, &hi, 4);
    } else {
        for (; i < n; i++) {
            if (!plain[s[i]])
                return i;
            o[i] = (char)s[i];
        }
    }
    return n;
}

/* The quoted string at the end of the buffer, room for n + 2 bytes already reserved. */
static inline void strn_reserved(json_buf *j, const unsigned char *s, size_t n)
{
    char *o = j->p + j->len;
    o[0] = '"';
    size_t i = copy_plain(o + 1, s, n);
    if (i == n) {
        o[n + 1] = '"';
        j->len += n + 2;
        return;
    }
    j->len += 1 + i;
    strn_slow(j, s, i, n);
}

void json_strn(json_buf *j, const char *str, size_t n)
{
    sep(j);
    /* Nearly every string needs no escaping: room for it as it is and its quotes, one
     * pass that checks and copies, and the general path from the first chunk that needs
     * attention. */
    if (reserve(j, n + 2))
        strn_reserved(j, (const unsigned char *)str, n);
}

void json_str(json_buf *j, const char *s) { json_strn(j, s, strlen(s)); }

void json_u64(json_buf *j, uint64_t v)
{
    static const char pairs[] = "0001020304050607080910111213141516171819202122232425262728293031323334353637383940414243444546474849"
                                "5051525354555657585960616263646566676869707172737475767778798081828384858687888990919293949596979899";
    /* Digits last first into b, two at a time, then one fixed-size copy of 24 bytes (b is
     * big enough to read that far from any start) of which only the digits count. */
    char b[48] = {0}; /* (all defined: the copy reads past the digits) */
    size_t i = 24;
    while (v >= 100) {
        unsigned r = (unsigned)(v % 100);
        v /= 100;
        i -= 2;
        memcpy(b + i, pairs + 2 * r, 2);
    }
    if (v >= 10) {
        i -= 2;
        memcpy(b + i, pairs + 2 * v, 2);
    } else {
        b[--i] = (char)('0' + v);
    }
    sep(j);
    if (!reserve(j, 24))
        return;
    memcpy(j->p + j->len, b + i, 24);
    j->len += 24 - i;
}

void json_bool(json_buf *j, bool v)
{
    sep(j);
    if (v)
        put(j, "true", 4);
    else
        put(j, "false", 5);
}

void json_null(json_buf *j)
{
    sep(j);
    put(j, "null", 4);
}

void json_raw(json_buf *j, const char *s, size_t n)
{
    sep(j);
    put(j, s, n);
}

void json_newline(json_buf *j)
{
    putc1(j, '\n');
    j->depth = 0;
    j->first[0] = true;
    j->after_key = false;
}
