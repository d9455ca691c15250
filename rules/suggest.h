/* "Did you mean ...?" for every linter of this project (rule files, the config file):
 * how far a misspelling is from a valid word, the closest valid word, and the list of
 * valid words to print when none is close. */
#ifndef DW_SUGGEST_H
#define DW_SUGGEST_H

#include <stddef.h>

/* Optimal string alignment distance (a swap of neighbours counts as one edit), case
 * folded; anything longer than 63 characters is never "close" (returns 99). */
unsigned suggest_distance(const char *a, const char *b);

/* The candidate closest to s within 2 edits, or NULL. A candidate is never closer than
 * s is long, so "x" is not a typo of "id". */
const char *suggest_nearest(const char *s, const char *const *cands, size_t n);

/* "a, b, c" into out (NUL-terminated, truncated to len > 0). */
void suggest_join(char *out, size_t len, const char *const *names, size_t n);

#endif
