/* suppress: identical alerts fold within the window, the count comes back as a summary
 * when the window closes, when the table is full, or at exit; window 0 folds nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "sensor/suppress.h"

#define SEC 1000000ull

typedef struct got {
    unsigned n;
    char rule[8][32];
    char reason[8][64];
    uint32_t folded[8];
    uint32_t violations[8];
    uint8_t severity[8];
    uint64_t first[8], last[8];
} got;

static void on_summary(void *ctx, const suppress_summary *s)
{
    got *g = ctx;
    assert_true(g->n < 8);
    snprintf(g->rule[g->n], sizeof g->rule[0], "%s", s->rule_id);
    snprintf(g->reason[g->n], sizeof g->reason[0], "%s", s->reason);
    g->folded[g->n] = s->folded;
    g->violations[g->n] = s->violations;
    g->severity[g->n] = s->severity;
    g->first[g->n] = s->first_us;
    g->last[g->n] = s->last_us;
    g->n++;
}

static void copy_summary(void *ctx, const suppress_summary *s)
{
    char **out = ctx;
    assert_true(strlen(s->rule_id) < 200 && strlen(s->reason) < 600);
    strcpy(out[0], s->rule_id);
    strcpy(out[1], s->reason);
}

static bool check(suppress *s, uint64_t key, uint64_t now, const char *rule, got *g)
{
    return suppress_check(s, key, now, rule, "reason text", 73, 5, on_summary, g);
}

static void t_fold_in_window(void **state)
{
    (void)state;
    got g = {0};
    suppress *s = suppress_new(64, 60000); /* 60 s */
    assert_non_null(s);
    assert_true(check(s, 42, 100 * SEC, "pypi", &g));
    for (int i = 1; i <= 9; i++)
        assert_false(check(s, 42, 100 * SEC + (uint64_t)i * SEC, "pypi", &g));
    /* Another key is its own alert. */
    assert_true(check(s, 43, 105 * SEC, "npm", &g));
    assert_false(check(s, 43, 106 * SEC, "npm", &g));
    assert_int_equal(g.n, 0);
    /* Nothing closed yet. */
    suppress_expire(s, 159 * SEC, on_summary, &g);
    assert_int_equal(g.n, 0);
    suppress_free(s);
}

static void t_after_window(void **state)
{
    (void)state;
    got g = {0};
    suppress *s = suppress_new(64, 10000); /* 10 s */
    assert_true(check(s, 7, 100 * SEC, "pypi", &g));
    assert_false(check(s, 7, 101 * SEC, "pypi", &g));
    assert_false(check(s, 7, 109 * SEC, "pypi", &g));
    /* At the end of the window the same alert is written again, and the closed window's
     * count is reported on the way. */
    assert_true(check(s, 7, 110 * SEC, "pypi", &g));
    assert_int_equal(g.n, 1);
    assert_string_equal(g.rule[0], "pypi");
    assert_string_equal(g.reason[0], "reason text");
    assert_int_equal(g.folded[0], 2);
    assert_int_equal(g.violations[0], 5);
    assert_int_equal(g.severity[0], 73);
    assert_int_equal(g.first[0], 100 * SEC);
    assert_int_equal(g.last[0], 109 * SEC);
    /* A new window has started: folding again, from zero. */
    assert_false(check(s, 7, 111 * SEC, "pypi", &g));
    suppress_expire(s, 120 * SEC, on_summary, &g);
    assert_int_equal(g.n, 2);
    assert_int_equal(g.folded[1], 1);
    assert_int_equal(g.first[1], 110 * SEC);
    /* Reported once only. */
    suppress_expire(s, UINT64_MAX, on_summary, &g);
    assert_int_equal(g.n, 2);
    suppress_free(s);
}

static void t_no_fold_no_summary(void **state)
{
    (void)state;
    got g = {0};
    suppress *s = suppress_new(64, 10000);
    assert_true(check(s, 9, 100 * SEC, "a", &g));
    /* A window with nothing folded closes silently. */
    suppress_expire(s, 200 * SEC, on_summary, &g);
    assert_int_equal(g.n, 0);
    assert_true(check(s, 9, 201 * SEC, "a", &g));
    suppress_free(s);
}

static void t_table_full(void **state)
{
    (void)state;
    got g = {0};
    suppress *s = suppress_new(2, 60000);
    assert_true(check(s, 1, 100 * SEC, "first", &g));
    assert_false(check(s, 1, 101 * SEC, "first", &g));
    assert_false(check(s, 1, 102 * SEC, "first", &g));
    assert_true(check(s, 2, 103 * SEC, "second", &g));
    assert_false(check(s, 2, 104 * SEC, "second", &g));
    assert_int_equal(g.n, 0);
    /* A third key: the oldest entry gives way and its count is reported. */
    assert_true(check(s, 3, 105 * SEC, "third", &g));
    assert_int_equal(g.n, 1);
    assert_string_equal(g.rule[0], "first");
    assert_int_equal(g.folded[0], 2);
    /* The evicted key is a new alert again; "second" is evicted then. */
    assert_true(check(s, 1, 106 * SEC, "first", &g));
    assert_int_equal(g.n, 2);
    assert_string_equal(g.rule[1], "second");
    assert_int_equal(g.folded[1], 1);
    /* "third" had nothing folded: when it is evicted, nothing to report. */
    assert_true(check(s, 4, 107 * SEC, "fourth", &g));
    assert_int_equal(g.n, 2);
    suppress_free(s);
}

static void t_window_zero(void **state)
{
    (void)state;
    got g = {0};
    suppress *s = suppress_new(16, 0);
    for (int i = 0; i < 5; i++)
        assert_true(check(s, 42, 100 * SEC, "pypi", &g));
    suppress_expire(s, UINT64_MAX, on_summary, &g);
    assert_int_equal(g.n, 0);
    suppress_free(s);
}

static void t_expire_all(void **state)
{
    (void)state;
    got g = {0};
    suppress *s = suppress_new(64, 3600000); /* an hour */
    const char *rules[3] = {"r0", "r1", "r2"};
    for (unsigned k = 0; k < 3; k++) {
        assert_true(check(s, 100 + k, 100 * SEC, rules[k], &g));
        for (unsigned i = 0; i <= k; i++)
            assert_false(check(s, 100 + k, 101 * SEC, rules[k], &g));
    }
    suppress_expire(s, 102 * SEC, on_summary, &g);
    assert_int_equal(g.n, 0);
    /* At exit everything pending is reported, windows closed or not. */
    suppress_expire(s, UINT64_MAX, on_summary, &g);
    assert_int_equal(g.n, 3);
    uint32_t total = 0;
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(g.folded[i], (uint32_t)(g.rule[i][1] - '0') + 1);
        total += g.folded[i];
    }
    assert_int_equal(total, 6);
    suppress_expire(s, UINT64_MAX, on_summary, &g);
    assert_int_equal(g.n, 3);
    suppress_free(s);
    suppress_free(NULL);
}

static void t_key_zero_and_hash(void **state)
{
    (void)state;
    got g = {0};
    suppress *s = suppress_new(8, 60000);
    /* Key 0 is a valid key (it must not look like a free slot). */
    assert_true(check(s, 0, 100 * SEC, "z", &g));
    assert_false(check(s, 0, 101 * SEC, "z", &g));
    suppress_free(s);
    uint64_t a = suppress_hash(0, "pypi", 4), b = suppress_hash(0, "npm", 3);
    assert_true(a != b);
    assert_true(suppress_hash(a, "x", 1) == suppress_hash(suppress_hash(0, "pypi", 4), "x", 1));
    assert_true(suppress_hash(0, "pypix", 5) == suppress_hash(a, "x", 1));
}

/* The summary keeps the rule id and the reason as given, cut to 127 and 511 bytes (the
 * entry's fields) when longer, always terminated. */
static void t_long_text_cut(void **state)
{
    (void)state;
    static const size_t lens[] = {0, 1, 126, 127, 128, 300, 510, 511, 512, 900};
    for (size_t k = 0; k < sizeof lens / sizeof lens[0]; k++) {
        char rule[1000], reason[1000];
        for (size_t i = 0; i < lens[k]; i++) {
            rule[i] = (char)('a' + i % 26);
            reason[i] = (char)('A' + i % 26);
        }
        rule[lens[k]] = reason[lens[k]] = '\0';
        size_t rl = lens[k] < 127 ? lens[k] : 127, xl = lens[k] < 511 ? lens[k] : 511;
        char seen_rule[200], seen_reason[600];
        seen_rule[0] = seen_reason[0] = '\x01';
        suppress *s = suppress_new(4, 1000);
        assert_non_null(s);
        assert_true(suppress_check(s, 7, 1 * SEC, rule, reason, 1, 1, NULL, NULL));
        assert_false(suppress_check(s, 7, 1 * SEC, "other", "other", 1, 1, NULL, NULL));
        char *out[2] = {seen_rule, seen_reason};
        suppress_expire(s, UINT64_MAX, copy_summary, out);
        assert_int_equal(strlen(seen_rule), rl);
        assert_int_equal(strlen(seen_reason), xl);
        assert_memory_equal(seen_rule, rule, rl);
        assert_memory_equal(seen_reason, reason, xl);
        suppress_free(s);
    }
}

/* A window's note: filled when it opens, the clients of the folded alerts added (each
 * once, at most SUPPRESS_CLIENTS, the rest counted), handed to the summary; a new
 * window starts with an empty note. */
static const suppress_note *last_note;
static unsigned last_clients;
static void keep_note(void *ctx, const suppress_summary *s)
{
    (void)ctx;
    last_note = s->note;
    last_clients = s->note->n_clients;
    assert_string_equal(s->note->first_id, "00000000000000000000000000000001");
    assert_string_equal(s->note->question, "pypi.org");
    assert_int_equal(s->folded, 2 * SUPPRESS_CLIENTS + 10);
    assert_int_equal(s->note->clients[0].addr[3], 77);
    assert_int_equal(s->note->clients_unlisted, SUPPRESS_CLIENTS + 10 - 1);
}

static void t_note_clients(void **state)
{
    (void)state;
    suppress *s = suppress_new(8, 60000);
    assert_true(suppress_check(s, 9, 100 * SEC, "pypi", "r", 1, 1, NULL, NULL));
    suppress_note *no = suppress_last(s);
    assert_non_null(no);
    assert_int_equal(no->n_clients, 0);
    strcpy(no->first_id, "00000000000000000000000000000001");
    strcpy(no->question, "pypi.org");
    uint8_t victim[4] = {10, 1, 2, 77};
    /* The victim twice (listed once), then more distinct clients than the list holds. */
    for (int k = 0; k < 2; k++) {
        assert_false(suppress_check(s, 9, 101 * SEC, "pypi", "r", 1, 1, NULL, NULL));
        suppress_note_client(suppress_last(s), 4, victim);
    }
    for (unsigned i = 0; i < 2 * SUPPRESS_CLIENTS + 8; i++) {
        uint8_t a[4] = {10, 9, 0, (uint8_t)i};
        assert_false(suppress_check(s, 9, 102 * SEC, "pypi", "r", 1, 1, NULL, NULL));
        suppress_note_client(suppress_last(s), 4, a);
    }
    suppress_expire(s, UINT64_MAX, keep_note, NULL);
    assert_int_equal(last_clients, SUPPRESS_CLIENTS);
    /* A new window of the same key: an empty note. */
    assert_true(suppress_check(s, 9, 500 * SEC, "pypi", "r", 1, 1, NULL, NULL));
    assert_int_equal(suppress_last(s)->n_clients, 0);
    assert_int_equal(suppress_last(s)->first_id[0], 0);
    suppress_free(s);
    /* Folding off: no note. */
    s = suppress_new(8, 0);
    assert_true(suppress_check(s, 9, 1, "pypi", "r", 1, 1, NULL, NULL));
    assert_null(suppress_last(s));
    suppress_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_fold_in_window), cmocka_unit_test(t_after_window),
        cmocka_unit_test(t_no_fold_no_summary), cmocka_unit_test(t_table_full),
        cmocka_unit_test(t_window_zero),    cmocka_unit_test(t_expire_all),
        cmocka_unit_test(t_key_zero_and_hash), cmocka_unit_test(t_long_text_cut),
        cmocka_unit_test(t_note_clients),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
