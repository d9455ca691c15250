/* Growable arrays: the one "double the capacity, realloc, keep the old block on failure"
 * that tables and lists use while they are built (never per packet).
 *
 * An array is a plain pointer plus an element count and a capacity kept by the caller,
 * in a size_t or a uint32_t (for tables that store 32-bit indexes). ARR_RESERVE(a, cap,
 * need, first) makes room for need elements: the capacity doubles, starting from first,
 * until it holds need. Returns 0, or -ENOMEM when memory is short or need does not fit
 * the capacity's type; the array and capacity are then unchanged, so the caller still
 * owns and frees the old block. New elements are not initialised. */
#ifndef DW_COMMON_ARR_H
#define DW_COMMON_ARR_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

/* arrp points to the caller's array pointer (any element type); esz is an element's size. */
DW_MUST_USE
int arr_reserve(void *arrp, size_t *cap, size_t need, size_t first, size_t esz);
DW_MUST_USE
int arr_reserve32(void *arrp, uint32_t *cap, size_t need, size_t first, size_t esz);

#define ARR_RESERVE(arr, cap, need, first)                                                \
    _Generic(&(cap), size_t *: arr_reserve, uint32_t *: arr_reserve32)(&(arr), &(cap),   \
                                                                         (need), (first), \
                                                                         sizeof *(arr))

#endif
