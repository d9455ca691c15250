/* A small JSON writer into a growable buffer that is reused between events, so steady
 * state allocates nothing. Strings are escaped for every byte: quotes, backslashes and
 * control bytes become escapes, invalid UTF-8 becomes U+FFFD, so the output is always
 * valid JSON whatever a packet carried. Commas are placed by the writer. */
#ifndef DW_JSON_H
#define DW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"

#define JSON_MAX_DEPTH 32

typedef struct json_buf {
    char *p;
    size_t len, cap;
    bool oom;                     /* sticky: an allocation failed, the text is incomplete */
    unsigned depth;
    bool first[JSON_MAX_DEPTH];   /* no element written yet at this depth */
    bool after_key;               /* a key was written, its value comes next */
} json_buf;

void json_init(json_buf *j);
void json_free(json_buf *j);
/* Empties the buffer, keeps its memory. */
void json_reset(json_buf *j);

void json_obj_begin(json_buf *j);
void json_obj_end(json_buf *j);
void json_arr_begin(json_buf *j);
void json_arr_end(json_buf *j);
/* The slow side of the inline writers below (not for other callers): grows the buffer
 * to hold n more bytes: 0, or -ENOMEM once memory has run out (then j->oom is set,
 * sticky, and every writer after it does nothing: check j->oom once at the end). */
DW_MUST_USE
int json_grow(json_buf *j, size_t n);

/* Room for n more bytes at j->p + j->len. */
static inline bool json_room(json_buf *j, size_t n)
{
    return (!j->oom && j->cap - j->len >= n) || json_grow(j, n) == 0;
}

/* Object key; the next call writes its value. The key is written as it is: it must be a
 * name from this program (ASCII, no quote, backslash or control byte), never input.
 * Inline, so that a literal key's length is counted and its bytes copied as constants by
 * the compiler: keys are a third of the calls of an alert. */
static inline void json_keyn(json_buf *j, const char *key, size_t n)
{
    /* The comma rule of every value (json.c sep()), with the comma in the same room. */
    bool comma = !j->after_key && !j->first[j->depth];
    if (!j->after_key)
        j->first[j->depth] = false;
    j->after_key = true;
    if (!json_room(j, n + 4))
        return;
    char *o = j->p + j->len;
    if (comma)
        *o++ = ',';
    *o++ = '"';
    memcpy(o, key, n);
    o += n;
    *o++ = '"';
    *o++ = ':';
    j->len = (size_t)(o - j->p);
}

static inline void json_key(json_buf *j, const char *key) { json_keyn(j, key, strlen(key)); }

void json_str(json_buf *j, const char *s);
void json_strn(json_buf *j, const char *s, size_t n);
void json_u64(json_buf *j, uint64_t v);
void json_bool(json_buf *j, bool v);
void json_null(json_buf *j);
/* Pre-encoded JSON value, written as is. */
void json_raw(json_buf *j, const char *s, size_t n);

/* Convenience: key + value. */
static inline void json_kv_str(json_buf *j, const char *key, const char *s)
{
    json_keyn(j, key, strlen(key));
    json_strn(j, s, strlen(s));
}

static inline void json_kv_u64(json_buf *j, const char *key, uint64_t v)
{
    json_keyn(j, key, strlen(key));
    json_u64(j, v);
}

/* Appends a newline (outside any value) for JSON lines output. */
void json_newline(json_buf *j);

#endif
