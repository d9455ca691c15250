/* A small JSON writer into a growable buffer that is reused between events, so steady
 * state allocates nothing. Strings are escaped for every byte: quotes, backslashes and
 * control bytes become escapes, invalid UTF-8 becomes U+FFFD, so the output is always
 * valid JSON whatever a packet carried. Commas are placed by the writer. */
#ifndef DW_JSON_H
#define DW_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

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
/* Object key; the next call writes its value. The key is written as it is: it must be a
 * name from this program (ASCII, no quote, backslash or control byte), never input. */
void json_key(json_buf *j, const char *key);

void json_str(json_buf *j, const char *s);
void json_strn(json_buf *j, const char *s, size_t n);
void json_u64(json_buf *j, uint64_t v);
void json_i64(json_buf *j, int64_t v);
void json_bool(json_buf *j, bool v);
void json_null(json_buf *j);
/* Pre-encoded JSON value, written as is. */
void json_raw(json_buf *j, const char *s, size_t n);

/* Convenience: key + value. */
void json_kv_str(json_buf *j, const char *key, const char *s);
void json_kv_u64(json_buf *j, const char *key, uint64_t v);

/* Appends a newline (outside any value) for JSON lines output. */
void json_newline(json_buf *j);

#endif
