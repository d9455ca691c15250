/* Shared by the cmocka tests (tests/unit): where the conformance corpus is, and what a
 * test does when an optional thing it needs is missing. */
#ifndef DW_TESTS_LIB_DW_TEST_H
#define DW_TESTS_LIB_DW_TEST_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifndef DW_CORPUS_DIR
#error "DW_CORPUS_DIR: the conformance corpus directory, defined by tests/CMakeLists.txt"
#endif

/* DW_NO_SKIP=1 (tests/run.sh, CI): nothing may be skipped, a missing dependency fails. */
static inline bool dw_no_skip(void)
{
    const char *v = getenv("DW_NO_SKIP");
    return v && strcmp(v, "1") == 0;
}

/* The third-party captures: $DW_CORPUS when set, else the CMake cache variable
 * DNSWATCH_TEST_CORPUS the build was configured with. */
static inline const char *dw_corpus_dir(void)
{
    const char *e = getenv("DW_CORPUS");
    return e && *e ? e : DW_CORPUS_DIR;
}

/* True when SUB (e.g. "dnscap") is a directory of the corpus. */
static inline bool dw_corpus_has(const char *sub)
{
    char path[4096];
    struct stat sb;
    if (snprintf(path, sizeof path, "%s/%s", dw_corpus_dir(), sub) >= (int)sizeof path)
        return false;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

/* The exit status of a test program that could not run (all or part) for want of WHAT:
 * 77, which ctest reports as skipped, or 1 under DW_NO_SKIP. Said on stderr either way. */
static inline int dw_unavailable(const char *what)
{
    if (dw_no_skip()) {
        fprintf(stderr, "FAIL: %s (DW_NO_SKIP=1: what a test needs must be there)\n", what);
        return 1;
    }
    fprintf(stderr, "SKIP: %s\n", what);
    return 77;
}

#endif
