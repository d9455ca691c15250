/* shed: the spool's admission policy under pressure. Below half the bound everything is
 * admitted; past half only alerts; past 3/4 a quota per rule+violations class, so a flood
 * of one class leaves room for another; quotas start again under the mark; every refusal
 * is counted. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rules/violation.h"
#include "sensor/shed.h"

#define MAX 1000000u

static char line[1024];

static const char *alert(const char *rule, const char *violations, unsigned i)
{
    snprintf(line, sizeof line,
             "{\"@timestamp\":\"2026-11-27T10:00:00.000000Z\",\"event\":{\"kind\":\"alert\","
             "\"dataset\":\"dnswatch.alert\",\"id\":\"%032x\",\"severity\":73,\"reason\":"
             "\"n%u answered \\\"rule\\\":{\\\"id\\\":\\\"x\\\"\"},\"rule\":{\"id\":\"%s\","
             "\"name\":\"r\"},\"dnswatch\":{\"violations\":%s}}",
             i, i, rule, violations);
    return line;
}

static const char *event(const char *kind)
{
    snprintf(line, sizeof line,
             "{\"@timestamp\":\"2026-11-27T10:00:00.000000Z\",\"event\":{\"kind\":\"%s\","
             "\"dataset\":\"dnswatch.dns\",\"id\":\"0\"}}",
             kind);
    return line;
}

static bool admit(shed *s, const char *l, uint64_t used)
{
    return shed_admit(s, l, strlen(l), used, MAX);
}

static void t_below_half_all(void **state)
{
    (void)state;
    shed *s = shed_new(0);
    assert_non_null(s);
    for (unsigned i = 0; i < 100; i++) {
        assert_true(admit(s, alert("t-rebind", "[\"rebinding\"]", i), i * 1000));
        assert_true(admit(s, event("event"), i * 1000));
        assert_true(admit(s, event("metric"), i * 1000));
    }
    shed_stats st;
    shed_get_stats(s, &st);
    assert_int_equal(st.alerts + st.events, 0);
    shed_free(s);
    shed_free(NULL);
}

static void t_past_half_alerts_only(void **state)
{
    (void)state;
    shed *s = shed_new(0);
    assert_false(admit(s, event("event"), MAX / 2 + 1));
    assert_false(admit(s, event("metric"), MAX / 2 + 1));
    for (unsigned i = 0; i < 50; i++) /* under the high-water mark: no quota yet */
        assert_true(admit(s, alert("t-rebind", "[\"rebinding\"]", i), MAX / 2 + 1));
    shed_stats st;
    shed_get_stats(s, &st);
    assert_int_equal(st.events, 2);
    assert_int_equal(st.alerts, 0);
    shed_free(s);
}

typedef struct seen {
    unsigned n;
    char rule[4][64], viol[4][128];
    uint64_t count[4];
} seen;

static void on_class(void *ctx, const char *rule, const char *viol, uint64_t n)
{
    seen *e = ctx;
    assert_true(e->n < 4);
    snprintf(e->rule[e->n], sizeof e->rule[0], "%s", rule);
    snprintf(e->viol[e->n], sizeof e->viol[0], "%s", viol);
    e->count[e->n++] = n;
}

/* A flood of one class past the mark: its quota, then refusals; a real alert of another
 * class, and another violation set of the same rule, still get in. */
static void t_flood_leaves_room(void **state)
{
    (void)state;
    shed *s = shed_new(4);
    uint64_t used = MAX - MAX / 4; /* at the mark */
    unsigned in = 0;
    for (unsigned i = 0; i < 1000; i++)
        in += admit(s, alert("t-rebind", "[\"rebinding\"]", i), used);
    assert_int_equal(in, 4);
    assert_true(admit(s, alert("t-asn", "[\"asn_mismatch\"]", 0), used));
    assert_true(admit(s, alert("t-rebind", "[\"rebinding\",\"sinkhole\"]", 0), used));
    shed_stats st;
    shed_get_stats(s, &st);
    assert_int_equal(st.alerts, 996);
    seen e = {0};
    shed_each(s, on_class, &e);
    assert_int_equal(e.n, 1);
    assert_string_equal(e.rule[0], "t-rebind");
    assert_string_equal(e.viol[0], "[\"rebinding\"]");
    assert_int_equal(e.count[0], 996);
    /* The spool drains under the mark: the quotas start again. */
    assert_true(admit(s, alert("t-rebind", "[\"rebinding\"]", 5000), MAX / 3));
    for (unsigned i = 0; i < 4; i++)
        assert_true(admit(s, alert("t-rebind", "[\"rebinding\"]", 6000 + i), used));
    assert_false(admit(s, alert("t-rebind", "[\"rebinding\"]", 7000), used));
    shed_free(s);
}

/* The markers are structural: text inside a string (escaped quotes) cannot pose as a
 * rule id, nor can a non-alert pose as an alert through its content. */
static void t_markers_from_strings_do_not_count(void **state)
{
    (void)state;
    shed *s = shed_new(1);
    uint64_t used = MAX - MAX / 4;
    /* Same rule and violations, different reasons carrying fake markers: one class. */
    assert_true(admit(s, alert("t-rebind", "[\"rebinding\"]", 1), used));
    assert_false(admit(s, alert("t-rebind", "[\"rebinding\"]", 2), used));
    const char *fake = "{\"@timestamp\":\"x\",\"event\":{\"kind\":\"event\",\"reason\":"
                       "\"\\\"event\\\":{\\\"kind\\\":\\\"alert\\\"\"}}";
    assert_false(shed_admit(s, fake, strlen(fake), MAX / 2 + 1, MAX));
    shed_free(s);
}

typedef struct whole {
    unsigned n;
    char rule[256], viol[512];
} whole;

static void on_whole(void *ctx, const char *rule, const char *viol, uint64_t n)
{
    whole *w = ctx;
    (void)n;
    w->n++;
    snprintf(w->rule, sizeof w->rule, "%s", rule);
    snprintf(w->viol, sizeof w->viol, "%s", viol);
}

/* A shed class keeps what the alerts said whole: a rule that finds every violation of
 * the table (rules/violation.h), under a long id, is named with all of them. */
static void t_class_kept_whole(void **state)
{
    (void)state;
    const char *names[DW_V_COUNT];
    size_t n = dw_violation_names(UINT32_MAX, names), len = 1;
    char list[512] = "[";
    for (size_t i = 0; i < n; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "%s\"%s\"", i ? "," : "",
                                names[i]);
    snprintf(list + len, sizeof list - len, "]");
    char id[101];
    memset(id, 'r', sizeof id - 1);
    id[sizeof id - 1] = '\0';

    shed *s = shed_new(1);
    uint64_t used = MAX - MAX / 4;
    char first[sizeof line];
    snprintf(first, sizeof first, "%s", alert(id, list, 1));
    assert_true(admit(s, first, used));
    assert_false(admit(s, alert(id, list, 2), used));
    whole w = {0};
    shed_each(s, on_whole, &w);
    assert_int_equal(w.n, 1);
    assert_string_equal(w.rule, id);
    assert_string_equal(w.viol, list);
    shed_free(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_below_half_all),
        cmocka_unit_test(t_past_half_alerts_only),
        cmocka_unit_test(t_flood_leaves_room),
        cmocka_unit_test(t_markers_from_strings_do_not_count),
        cmocka_unit_test(t_class_kept_whole),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
