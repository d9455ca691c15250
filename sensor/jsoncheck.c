#include "sensor/jsoncheck.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* A cursor over the input with the first error kept (the rest of the walk stops). */
typedef struct jc {
    const uint8_t *p;
    size_t n, i;
    const char *err; /* static text, NULL while fine */
    size_t at;
} jc;

static bool fail(jc *c, const char *what)
{
    if (!c->err) {
        c->err = what;
        c->at = c->i;
    }
    return false;
}

static void ws(jc *c)
{
    while (c->i < c->n && (c->p[c->i] == ' ' || c->p[c->i] == '\t' || c->p[c->i] == '\n' ||
                           c->p[c->i] == '\r'))
        c->i++;
}

static bool hex(uint8_t b)
{
    return (b >= '0' && b <= '9') || (b >= 'a' && b <= 'f') || (b >= 'A' && b <= 'F');
}

/* One UTF-8 sequence at c->i of a string (RFC 3629: no overlong forms, no surrogates,
 * nothing above U+10FFFF). */
static bool utf8(jc *c)
{
    uint8_t b = c->p[c->i];
    size_t len;
    uint8_t lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) {
        len = 2;
    } else if (b >= 0xe0 && b <= 0xef) {
        len = 3;
        if (b == 0xe0)
            lo = 0xa0;
        else if (b == 0xed)
            hi = 0x9f;
    } else if (b >= 0xf0 && b <= 0xf4) {
        len = 4;
        if (b == 0xf0)
            lo = 0x90;
        else if (b == 0xf4)
            hi = 0x8f;
    } else {
        return fail(c, "invalid UTF-8");
    }
    if (c->n - c->i < len)
        return fail(c, "invalid UTF-8 (cut short)");
    for (size_t k = 1; k < len; k++) {
        uint8_t x = c->p[c->i + k];
        if (x < (k == 1 ? lo : 0x80) || x > (k == 1 ? hi : 0xbf))
            return fail(c, "invalid UTF-8");
    }
    c->i += len;
    return true;
}

static bool string(jc *c)
{
    c->i++; /* the opening quote */
    while (c->i < c->n) {
        uint8_t b = c->p[c->i];
        if (b == '"') {
            c->i++;
            return true;
        }
        if (b < 0x20)
            return fail(c, "control byte inside a string");
        if (b == '\\') {
            if (c->i + 1 >= c->n)
                break;
            uint8_t e = c->p[c->i + 1];
            if (e == 'u') {
                if (c->n - c->i < 6 || !hex(c->p[c->i + 2]) || !hex(c->p[c->i + 3]) ||
                    !hex(c->p[c->i + 4]) || !hex(c->p[c->i + 5]))
                    return fail(c, "bad \\u escape");
                c->i += 6;
            } else if (strchr("\"\\/bfnrt", e) && e) {
                c->i += 2;
            } else {
                return fail(c, "bad escape in a string");
            }
        } else if (b < 0x80) {
            c->i++;
        } else if (!utf8(c)) {
            return false;
        }
    }
    return fail(c, "unterminated string");
}

static bool digits(jc *c)
{
    size_t start = c->i;
    while (c->i < c->n && c->p[c->i] >= '0' && c->p[c->i] <= '9')
        c->i++;
    return c->i > start || fail(c, "bad number");
}

static bool number(jc *c)
{
    if (c->p[c->i] == '-')
        c->i++;
    if (c->i < c->n && c->p[c->i] == '0')
        c->i++;
    else if (!digits(c))
        return false;
    if (c->i < c->n && c->p[c->i] == '.') {
        c->i++;
        if (!digits(c))
            return false;
    }
    if (c->i < c->n && (c->p[c->i] == 'e' || c->p[c->i] == 'E')) {
        c->i++;
        if (c->i < c->n && (c->p[c->i] == '+' || c->p[c->i] == '-'))
            c->i++;
        if (!digits(c))
            return false;
    }
    return true;
}

static bool literal(jc *c, const char *w)
{
    size_t l = strlen(w);
    if (c->n - c->i < l || memcmp(c->p + c->i, w, l) != 0)
        return fail(c, "unexpected byte");
    c->i += l;
    return true;
}

static bool value(jc *c, unsigned depth);

/* An object or array at c->i (its opening bracket). */
static bool container(jc *c, unsigned depth)
{
    bool obj = c->p[c->i] == '{';
    uint8_t close = obj ? '}' : ']';
    if (depth >= JSONCHECK_MAX_DEPTH)
        return fail(c, "nested too deep");
    c->i++;
    ws(c);
    if (c->i < c->n && c->p[c->i] == close) {
        c->i++;
        return true;
    }
    for (;;) {
        if (obj) {
            if (c->i >= c->n || c->p[c->i] != '"')
                return fail(c, c->i >= c->n ? "cut short" : "expected a member name");
            if (!string(c))
                return false;
            ws(c);
            if (c->i >= c->n || c->p[c->i] != ':')
                return fail(c, c->i >= c->n ? "cut short" : "expected ':'");
            c->i++;
            ws(c);
        }
        if (!value(c, depth + 1))
            return false;
        ws(c);
        if (c->i >= c->n)
            return fail(c, "cut short");
        if (c->p[c->i] == close) {
            c->i++;
            return true;
        }
        if (c->p[c->i] != ',')
            return fail(c, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        c->i++;
        ws(c);
    }
}

static bool value(jc *c, unsigned depth)
{
    if (c->i >= c->n)
        return fail(c, "cut short");
    switch (c->p[c->i]) {
    case '{':
    case '[': return container(c, depth);
    case '"': return string(c);
    case 't': return literal(c, "true");
    case 'f': return literal(c, "false");
    case 'n': return literal(c, "null");
    default:
        if (c->p[c->i] == '-' || (c->p[c->i] >= '0' && c->p[c->i] <= '9'))
            return number(c);
        return fail(c, "unexpected byte");
    }
}

int jsoncheck_object(const char *s, size_t n, char *why, size_t len)
{
    jc c = {(const uint8_t *)s, n, 0, NULL, 0};
    ws(&c);
    if (c.i >= n)
        fail(&c, "empty");
    else if (c.p[c.i] != '{')
        fail(&c, "not a JSON object");
    else if (container(&c, 0)) {
        ws(&c);
        if (c.i < n)
            fail(&c, "bytes after the object");
    }
    if (!c.err)
        return 0;
    if (len)
        snprintf(why, len, "%s at byte %zu", c.err, c.at);
    return -EINVAL;
}
