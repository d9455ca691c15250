/* Integer text: see num.h. */
#include "common/num.h"

#include <errno.h>
#include <stdbool.h>
#include <string.h>

int num_parse_u64n(const char *s, size_t len, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!s || len == 0)
        return -EINVAL;
    uint64_t v = 0;
    bool over = false;
    for (size_t i = 0; i < len; i++) {
        unsigned d = (unsigned char)s[i] - (unsigned)'0';
        if (d > 9)
            return -EINVAL;
        if (v > (UINT64_MAX - d) / 10)
            over = true; /* keep reading: "12x" with many digits is still not a number */
        else
            v = v * 10 + d;
    }
    if (over || v < lo || v > hi)
        return -ERANGE;
    *out = v;
    return 0;
}

int num_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out)
{
    if (!s)
        return -EINVAL;
    return num_parse_u64n(s, strlen(s), lo, hi, out);
}

int num_parse_hex_u64n(const char *s, size_t len, uint64_t *out)
{
    if (!s || len == 0)
        return -EINVAL;
    uint64_t v = 0;
    bool over = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        unsigned d;
        if (c >= '0' && c <= '9')
            d = c - '0';
        else if ((c | 0x20) >= 'a' && (c | 0x20) <= 'f')
            d = (unsigned)(c | 0x20) - 'a' + 10;
        else
            return -EINVAL;
        if (v >> 60)
            over = true;
        v = v << 4 | d;
    }
    if (over)
        return -ERANGE;
    *out = v;
    return 0;
}

size_t num_digits(const char *s)
{
    size_t n = 0;
    while (s[n] >= '0' && s[n] <= '9')
        n++;
    return n;
}
