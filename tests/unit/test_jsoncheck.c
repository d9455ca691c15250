/* jsoncheck_object: what `dnswatch consume` writes is one JSON object per line; every
 * other payload is refused with the reason and the byte offset. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "sensor/jsoncheck.h"

static void ok(const char *s)
{
    char why[96] = "";
    if (jsoncheck_object(s, strlen(s), why, sizeof why) != 0)
        fail_msg("refused %s: %s", s, why);
}

static void refused(const char *s, size_t n, const char *part)
{
    char why[96] = "";
    if (jsoncheck_object(s, n, why, sizeof why) != -EINVAL)
        fail_msg("accepted %.*s", (int)n, s);
    if (!strstr(why, part))
        fail_msg("%.*s: reason \"%s\", want \"%s\"", (int)n, s, why, part);
}
#define REFUSED(lit, part) refused(lit, sizeof lit - 1, part)

static void t_accepts(void **state)
{
    (void)state;
    ok("{}");
    ok(" {\"a\":1} \r\n");
    ok("{\"@timestamp\":\"2026-11-27T10:00:00.123456Z\",\"event\":{\"kind\":\"alert\","
       "\"severity\":73,\"x\":[1,-0.5e+3,2E7,0,true,false,null,[],{}]},\"s\":\"\\u00e9\\n\\\"\"}");
    ok("{\"utf8\":\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\"}");
    ok("{\"a\" : [ 1 , { \"b\" : \"c\" } ] }");
}

static void t_refuses(void **state)
{
    (void)state;
    REFUSED("", "empty");
    REFUSED("   ", "empty");
    REFUSED("[1,2]", "not a JSON object at byte 0");
    REFUSED("\"text\"", "not a JSON object");
    REFUSED("42", "not a JSON object");
    REFUSED("hello", "not a JSON object");
    REFUSED("{\"a\":1", "cut short");
    REFUSED("{\"a\":1}x", "bytes after the object at byte 7");
    REFUSED("{\"a\":1}{}", "bytes after the object");
    REFUSED("{a:1}", "expected a member name at byte 1");
    REFUSED("{\"a\" 1}", "expected ':'");
    REFUSED("{\"a\":1,}", "expected a member name");
    REFUSED("{\"a\":[1,]}", "unexpected byte");
    REFUSED("{\"a\":01}", "expected ',' or '}'");
    REFUSED("{\"a\":1.}", "bad number");
    REFUSED("{\"a\":-}", "bad number");
    REFUSED("{\"a\":1e}", "bad number");
    REFUSED("{\"a\":tru}", "unexpected byte");
    REFUSED("{\"a\":\"x}", "unterminated string");
    REFUSED("{\"a\":\"\\x\"}", "bad escape");
    REFUSED("{\"a\":\"\\u12g4\"}", "bad \\u escape");
    REFUSED("{\"a\":\"\x01\"}", "control byte inside a string");
    REFUSED("{\"a\":\"\xff\"}", "invalid UTF-8 at byte 6");
    REFUSED("{\"a\":\"\xc0\xaf\"}", "invalid UTF-8");          /* overlong '/' */
    REFUSED("{\"a\":\"\xed\xa0\x80\"}", "invalid UTF-8");      /* a surrogate */
    REFUSED("{\"a\":\"\xf4\x90\x80\x80\"}", "invalid UTF-8");  /* above U+10FFFF */
    REFUSED("{\"a\":\"\xe2\x82\"}", "invalid UTF-8");
    REFUSED("{\"a\":1,\"b\":[1,2}", "expected ',' or ']'");
    /* A NUL inside is not whitespace: the length, not a terminator, bounds the input. */
    refused("{}\0{}", 5, "bytes after the object at byte 2");
}

static void t_depth(void **state)
{
    (void)state;
    char deep[8 * JSONCHECK_MAX_DEPTH];
    size_t n = 0;
    deep[n++] = '{';
    for (int i = 1; i < JSONCHECK_MAX_DEPTH; i++) {
        memcpy(deep + n, "\"a\":", 4);
        n += 4;
        deep[n++] = '{';
    }
    for (int i = 0; i < JSONCHECK_MAX_DEPTH; i++)
        deep[n++] = '}';
    char why[96];
    assert_int_equal(jsoncheck_object(deep, n, why, sizeof why), 0);
    /* one level more is refused, without recursing further */
    char deeper[sizeof deep + 8];
    memcpy(deeper, "{\"a\":", 5);
    memcpy(deeper + 5, deep, n);
    deeper[n + 5] = '}';
    refused(deeper, n + 6, "nested too deep");
    /* 100 000 opening brackets: refused at the bound */
    static char bomb[100000];
    bomb[0] = '{';
    memcpy(bomb + 1, "\"a\":", 4);
    memset(bomb + 5, '[', sizeof bomb - 5);
    refused(bomb, sizeof bomb, "nested too deep");
    /* no room for the reason: still refused */
    assert_int_equal(jsoncheck_object("[", 1, NULL, 0), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_accepts),
        cmocka_unit_test(t_refuses),
        cmocka_unit_test(t_depth),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
