/* Checks that bytes are one JSON object (RFC 8259) and nothing else but whitespace, with
 * strings of valid UTF-8: what `dnswatch consume` promises to write, one per line, so that
 * a SIEM never meets a line it cannot parse. Reads without allocating; nesting is bounded
 * (JSONCHECK_MAX_DEPTH), so hostile input cannot exhaust the stack. */
#ifndef DW_JSONCHECK_H
#define DW_JSONCHECK_H

#include <stddef.h>

#define JSONCHECK_MAX_DEPTH 64

/* 0 when s[0..n) is one JSON object; otherwise -EINVAL and why (NUL-terminated, cut to
 * len; len may be 0) says what is wrong and at which byte offset. */
int jsoncheck_object(const char *s, size_t n, char *why, size_t len)
    __attribute__((warn_unused_result));

#endif
