/* FNV-1a hashing and a 64-bit mixer, the one copy every table and key in the sensor uses.
 *
 * Not a cryptographic hash: a flood of crafted keys can collide, so tables that hash
 * input bound their probes or their size elsewhere. Inline because the per-packet paths
 * (worker choice, name matching) hash a few bytes at a time and a call would cost more
 * than the hash. The values are part of behaviour where they pick a worker or a class,
 * so the constants here must not change. */
#ifndef DW_COMMON_HASH_H
#define DW_COMMON_HASH_H

#include <stddef.h>
#include <stdint.h>

#define HASH_FNV32_OFFSET 2166136261u
#define HASH_FNV32_PRIME 16777619u
#define HASH_FNV64_OFFSET 0xcbf29ce484222325ull
#define HASH_FNV64_PRIME 0x100000001b3ull

/* One byte into a running 32-bit hash (start from HASH_FNV32_OFFSET). */
static inline uint32_t hash_fnv32_byte(uint32_t h, unsigned char c)
{
    return (h ^ c) * HASH_FNV32_PRIME;
}

/* len bytes into a running 32-bit hash. */
static inline uint32_t hash_fnv32(uint32_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = hash_fnv32_byte(h, p[i]);
    return h;
}

/* A NUL-terminated string, from the offset basis. */
static inline uint32_t hash_fnv32_str(const char *s)
{
    uint32_t h = HASH_FNV32_OFFSET;
    for (; *s; s++)
        h = hash_fnv32_byte(h, (unsigned char)*s);
    return h;
}

/* One byte into a running 64-bit hash (start from HASH_FNV64_OFFSET). */
static inline uint64_t hash_fnv64_byte(uint64_t h, unsigned char c)
{
    return (h ^ c) * HASH_FNV64_PRIME;
}

/* len bytes into a running 64-bit hash. */
static inline uint64_t hash_fnv64(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++)
        h = hash_fnv64_byte(h, p[i]);
    return h;
}

/* The splitmix64 finaliser: spreads a 64-bit key (addresses and ports packed together)
 * over every bit, for tables indexed by the low bits. */
static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

#endif
