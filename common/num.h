/* Integer text: the one parser for every number the sensor reads from a command line,
 * a config or rule file, a URL or a file name.
 *
 * One syntax everywhere: ASCII digits only, at least one; leading zeros are allowed; no
 * sign, no space, no base prefix, nothing after the digits. (strtoul takes leading
 * space, a sign, and for base 16 "0x": each caller used to guard against some of those
 * and not others.) The value must lie in [lo, hi]; overflow is out of range, never a
 * wrapped value. Functions return 0, -EINVAL (not a number in this syntax) or -ERANGE
 * (a number outside [lo, hi]) and write *out only on success. */
#ifndef DW_COMMON_NUM_H
#define DW_COMMON_NUM_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* Decimal s[0..len). */
DW_MUST_USE
int num_parse_u64n(const char *s, size_t len, uint64_t lo, uint64_t hi, uint64_t *out);

/* Decimal, the whole NUL-terminated string; s may be NULL (-EINVAL). */
DW_MUST_USE
int num_parse_u64(const char *s, uint64_t lo, uint64_t hi, uint64_t *out);

/* Hexadecimal digits (either case) s[0..len), any value that fits 64 bits. */
DW_MUST_USE
int num_parse_hex_u64n(const char *s, size_t len, uint64_t *out);

/* Length of the run of decimal digits at the start of s. */
size_t num_digits(const char *s);

#endif
