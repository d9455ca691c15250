/* Growable arrays: see arr.h. */
#include "common/arr.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* The new capacity for need elements, at most max; 0 when need cannot be met. */
static size_t grown(size_t cap, size_t need, size_t first, size_t max, size_t esz)
{
    if (need > max || (esz && need > SIZE_MAX / esz))
        return 0;
    size_t c = cap ? cap : (first ? first : 1);
    while (c < need)
        c = c > max / 2 ? max : c * 2;
    if (c > max)
        c = max;
    if (esz && c > SIZE_MAX / esz)
        c = need;
    return c;
}

static int reserve(void *arrp, size_t cap, size_t need, size_t first, size_t max, size_t esz,
                   size_t *ncap)
{
    if (need <= cap) {
        *ncap = cap;
        return 0;
    }
    size_t c = grown(cap, need, first, max, esz);
    if (c == 0)
        return -ENOMEM;
    void *arr;
    memcpy(&arr, arrp, sizeof arr); /* arrp is a T **, read as the void * it converts to */
    void *na = realloc(arr, c * esz);
    if (!na)
        return -ENOMEM;
    memcpy(arrp, &na, sizeof na);
    *ncap = c;
    return 0;
}

int arr_reserve(void *arrp, size_t *cap, size_t need, size_t first, size_t esz)
{
    return reserve(arrp, *cap, need, first, SIZE_MAX, esz, cap);
}

int arr_reserve32(void *arrp, uint32_t *cap, size_t need, size_t first, size_t esz)
{
    size_t c;
    int rc = reserve(arrp, *cap, need, first, UINT32_MAX, esz, &c);
    if (rc == 0)
        *cap = (uint32_t)c;
    return rc;
}
