/* Fuzzes jsoncheck_object (the consumer's check of every event it writes): any input is
 * either accepted or refused with a terminated reason naming a byte offset inside the
 * input; never a read beyond it (the harness copies the input to an exact-size buffer, so
 * ASan sees any overrun). An accepted input starts with '{' after whitespace and ends
 * with '}' before whitespace. Invariant violations abort. */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sensor/jsoncheck.h"

#define CHECK(c)                                                                          \
    do {                                                                                  \
        if (!(c))                                                                         \
            abort();                                                                      \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int is_ws(uint8_t b) { return b == ' ' || b == '\t' || b == '\n' || b == '\r'; }

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *copy = calloc(1, size ? size : 1);
    if (!copy)
        return 0;
    if (size)
        memcpy(copy, data, size);
    char why[96];
    memset(why, 0x5a, sizeof why);
    int rc = jsoncheck_object(copy, size, why, sizeof why);
    if (rc == 0) {
        size_t a = 0, b = size;
        while (a < size && is_ws(data[a]))
            a++;
        while (b > a && is_ws(data[b - 1]))
            b--;
        CHECK(b - a >= 2 && data[a] == '{' && data[b - 1] == '}');
    } else {
        CHECK(rc == -EINVAL);
        CHECK(memchr(why, '\0', sizeof why) != NULL);
        const char *at = strstr(why, " at byte ");
        CHECK(at != NULL);
        CHECK(strtoull(at + 9, NULL, 10) <= size);
    }
    free(copy);
    return 0;
}
