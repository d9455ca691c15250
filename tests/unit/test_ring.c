/* ring: the single-producer/single-consumer frame ring between the capture thread and a
 * worker (sensor/ring.c). Checks the size limit, a ring filled to the last record, the
 * wrap to offset 0 (a record never straddles the end), every frame length from 0 to the
 * limit through a ring kept partly full (so the wrap falls at many offsets), and a
 * producer and a consumer thread passing 100 000 frames: every frame arrives once, in
 * order, with its length, timestamp and bytes (ThreadSanitizer runs this too). */
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sensor/ring.h"

#define RING_MIN (128u * 1024u)          /* ring_new's smallest buffer */
#define REC_HDR 16u                      /* record header in the buffer */
#define MAX_LEN (RING_MIN / 2 - REC_HDR) /* largest frame of the smallest ring */

/* Frame bytes: frame SEQ of length LEN is PAT + SEQ % 256, so any shift or mix-up of
 * frames shows in the bytes. */
static uint8_t pat[MAX_LEN + 256];

static void fill_pattern(void)
{
    for (size_t i = 0; i < sizeof pat; i++)
        pat[i] = (uint8_t)(i * 7 + i / 256);
}

static const uint8_t *bytes_of(uint64_t seq)
{
    return pat + seq % 256;
}

static size_t rec_size(uint32_t len)
{
    return (REC_HDR + len + 15u) & ~(size_t)15u;
}

/* Pops one frame and checks it is frame SEQ of length LEN. */
static void pop_expect(ring *r, uint64_t seq, uint32_t len)
{
    ring_frame f;
    assert_true(ring_peek(r, &f));
    assert_int_equal(f.ts_us, seq);
    assert_int_equal(f.len, len);
    assert_memory_equal(f.data, bytes_of(seq), len);
    ring_release(r);
}

static void t_limits(void **state)
{
    (void)state;
    fill_pattern();
    ring *r = ring_new(0);
    assert_non_null(r);
    /* Too large now and ever: more than half the buffer, or the wrap marker's length. */
    assert_false(ring_push(r, 1, pat, MAX_LEN + 1));
    assert_false(ring_push(r, 1, pat, UINT32_MAX));
    ring_frame f;
    assert_false(ring_peek(r, &f));
    /* The largest frame and an empty one. */
    assert_true(ring_push(r, 1, bytes_of(1), MAX_LEN));
    assert_true(ring_push(r, 2, bytes_of(2), 0));
    pop_expect(r, 1, MAX_LEN);
    pop_expect(r, 2, 0);
    assert_false(ring_peek(r, &f));
    ring_free(r);
    ring_free(NULL);

    /* A request between powers of two is rounded up: a 200 KiB ring is 256 KiB, where a
     * record may take half, so a frame of 128 KiB - 16 fits and one byte more does not. */
    r = ring_new(200 * 1024);
    assert_non_null(r);
    static uint8_t big[128 * 1024];
    assert_true(ring_push(r, 3, big, 128 * 1024 - REC_HDR));
    assert_false(ring_push(r, 4, big, 128 * 1024 - REC_HDR + 1));
    ring_free(r);
}

/* Filled to the last byte: the push that does not fit fails (the producer never waits,
 * never overwrites), one release makes room again, and nothing is lost or reordered. */
static void t_full(void **state)
{
    (void)state;
    fill_pattern();
    ring *r = ring_new(0);
    assert_non_null(r);
    const uint32_t len = 1000; /* 1024 bytes a record: 128 records fill the ring exactly */
    uint64_t pushed = 0;
    while (ring_push(r, pushed, bytes_of(pushed), len))
        pushed++;
    assert_int_equal(pushed, RING_MIN / rec_size(len));
    assert_false(ring_push(r, pushed, pat, 0)); /* not even an empty frame */
    pop_expect(r, 0, len);
    assert_true(ring_push(r, pushed, bytes_of(pushed), len)); /* at offset 0 again */
    pushed++;
    assert_false(ring_push(r, pushed, pat, 0));
    for (uint64_t s = 1; s < pushed; s++)
        pop_expect(r, s, len);
    ring_frame f;
    assert_false(ring_peek(r, &f));
    ring_free(r);
}

/* A frame that does not fit before the end of the buffer goes to offset 0; the consumer
 * skips the rest of the buffer and reads it whole. If the skipped tail plus the frame do
 * not fit, the push fails even though the frame alone would. */
static void t_wraparound(void **state)
{
    (void)state;
    fill_pattern();
    ring *r = ring_new(0);
    assert_non_null(r);
    /* 65536 + 40016 bytes: 25520 left before the end. */
    assert_true(ring_push(r, 1, bytes_of(1), MAX_LEN));
    assert_true(ring_push(r, 2, bytes_of(2), 40000));
    pop_expect(r, 1, MAX_LEN);
    /* 30016 bytes: skips 25520, lands at 0 (65536 bytes free there). */
    assert_true(ring_push(r, 3, bytes_of(3), 30000));
    ring_frame f;
    pop_expect(r, 2, 40000);
    assert_true(ring_peek(r, &f));
    assert_int_equal(f.ts_us, 3);
    assert_int_equal(f.len, 30000);
    assert_memory_equal(f.data, bytes_of(3), 30000);
    /* The wrapped frame starts where the first frame did: at the buffer's start. */
    const uint8_t *start = f.data;
    ring_release(r);
    assert_false(ring_peek(r, &f));

    /* Empty, both positions at offset 30016. A largest frame takes 30016..95552, which
     * leaves 35520 bytes before the end. */
    assert_true(ring_push(r, 4, bytes_of(4), MAX_LEN));
    /* 36000 bytes (a 36016-byte record) must skip those 35520: 71536 bytes in all, more
     * than the 65536 free while frame 4 is held, so it is refused... */
    assert_false(ring_push(r, 5, bytes_of(5), 36000));
    pop_expect(r, 4, MAX_LEN);
    /* ...and taken once it is released: at offset 0, the same start as before. */
    assert_true(ring_push(r, 5, bytes_of(5), 36000));
    assert_true(ring_peek(r, &f));
    assert_ptr_equal(f.data, start);
    assert_int_equal(f.ts_us, 5);
    assert_memory_equal(f.data, bytes_of(5), 36000);
    ring_release(r);
    assert_false(ring_peek(r, &f));
    ring_free(r);
}

/* Every length from 0 to the limit, in order, through a ring that holds a few frames at a
 * time: pushes run ahead until the ring is full, then the oldest is checked and popped. */
static void t_every_size(void **state)
{
    (void)state;
    fill_pattern();
    ring *r = ring_new(0);
    assert_non_null(r);
    uint64_t next_pop = 0;
    for (uint64_t len = 0; len <= MAX_LEN; len++) {
        while (!ring_push(r, len, bytes_of(len), (uint32_t)len)) {
            assert_true(next_pop < len); /* only a full ring refuses a frame this size */
            pop_expect(r, next_pop, (uint32_t)next_pop);
            next_pop++;
        }
    }
    for (; next_pop <= MAX_LEN; next_pop++)
        pop_expect(r, next_pop, (uint32_t)next_pop);
    ring_frame f;
    assert_false(ring_peek(r, &f));
    ring_free(r);
}

/* Two threads. Lengths follow a xorshift sequence both sides compute: mostly small, one in
 * 64 up to the limit, so the ring runs full and empty and wraps at varied offsets. */
#define N_FRAMES 100000u

static uint32_t len_of(uint64_t seq)
{
    uint64_t x = seq * 0x9e3779b97f4a7c15ull + 1;
    x ^= x >> 31;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 29;
    if ((x & 63) == 0)
        return (uint32_t)((x >> 8) % (MAX_LEN + 1));
    return (uint32_t)((x >> 8) % 1500);
}

typedef struct prod_arg {
    ring *r;
    uint64_t full_waits;
} prod_arg;

static void *producer(void *p)
{
    prod_arg *a = p;
    for (uint64_t s = 0; s < N_FRAMES; s++) {
        while (!ring_push(a->r, s, bytes_of(s), len_of(s))) {
            a->full_waits++;
            sched_yield();
        }
    }
    return NULL;
}

static void t_threads(void **state)
{
    (void)state;
    fill_pattern();
    ring *r = ring_new(0);
    assert_non_null(r);
    prod_arg a = {r, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, producer, &a), 0);
    uint64_t bad = 0, empty_waits = 0;
    for (uint64_t s = 0; s < N_FRAMES; s++) {
        ring_frame f;
        while (!ring_peek(r, &f)) {
            empty_waits++;
            sched_yield();
        }
        /* No cmocka assertion off the main thread's happy path: count, check after join. */
        if (f.ts_us != s || f.len != len_of(s) || memcmp(f.data, bytes_of(s), f.len) != 0) {
            if (bad++ == 0)
                fprintf(stderr, "frame %llu: ts %llu len %u (want %u)\n", (unsigned long long)s,
                        (unsigned long long)f.ts_us, f.len, len_of(s));
        }
        ring_release(r);
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    ring_frame f;
    assert_false(ring_peek(r, &f));
    assert_int_equal(bad, 0);
    printf("ring threads: %u frames, producer found the ring full %llu times, consumer "
           "found it empty %llu times\n",
           N_FRAMES, (unsigned long long)a.full_waits, (unsigned long long)empty_waits);
    ring_free(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_limits),     cmocka_unit_test(t_full),
        cmocka_unit_test(t_wraparound), cmocka_unit_test(t_every_size),
        cmocka_unit_test(t_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
