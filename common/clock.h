/* The clocks: wall time for timestamps that leave the process, monotonic time for
 * intervals, deadlines and rates (it never jumps when the wall clock is set).
 *
 * clock_gettime cannot fail for these two clocks on Linux, so the helpers return the
 * value directly. Prefix clk_ (clock_ is POSIX's). */
#ifndef DW_COMMON_CLOCK_H
#define DW_COMMON_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clk_read_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Microseconds since the epoch. */
static inline uint64_t clk_wall_us(void)
{
    return clk_read_ns(CLOCK_REALTIME) / 1000u;
}

/* Monotonic nanoseconds, microseconds, milliseconds (arbitrary origin). */
static inline uint64_t clk_mono_ns(void)
{
    return clk_read_ns(CLOCK_MONOTONIC);
}

static inline uint64_t clk_mono_us(void)
{
    return clk_read_ns(CLOCK_MONOTONIC) / 1000u;
}

static inline uint64_t clk_mono_ms(void)
{
    return clk_read_ns(CLOCK_MONOTONIC) / 1000000u;
}

#endif
