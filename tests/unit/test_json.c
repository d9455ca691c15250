/* The JSON writer: structure, commas, and escaping of every byte a DNS name or a
 * database string can carry. Each output is checked by exact text, and every byte value
 * is round-tripped through a strict decoder written here for the purpose. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "sensor/json.h"

static char *text(json_buf *j)
{
    static char out[4096];
    assert_false(j->oom);
    assert_true(j->len < sizeof out);
    memcpy(out, j->p, j->len);
    out[j->len] = '\0';
    return out;
}

static void test_structure(void **state)
{
    (void)state;
    json_buf j;
    json_init(&j);
    json_obj_begin(&j);
    json_kv_str(&j, "a", "x");
    json_key(&j, "b");
    json_arr_begin(&j);
    json_u64(&j, 1);
    json_i64(&j, -2);
    json_bool(&j, true);
    json_null(&j);
    json_obj_begin(&j);
    json_obj_end(&j);
    json_arr_end(&j);
    json_key(&j, "c");
    json_arr_begin(&j);
    json_arr_end(&j);
    json_obj_end(&j);
    json_newline(&j);
    json_obj_begin(&j);
    json_kv_u64(&j, "n", 18446744073709551615u);
    json_obj_end(&j);
    assert_string_equal(text(&j),
                        "{\"a\":\"x\",\"b\":[1,-2,true,null,{}],\"c\":[]}\n"
                        "{\"n\":18446744073709551615}");
    json_reset(&j);
    json_str(&j, "again");
    assert_string_equal(text(&j), "\"again\"");
    json_free(&j);
}

static void test_escapes(void **state)
{
    (void)state;
    json_buf j;
    json_init(&j);
    const char in[] = "a\"b\\c\x01\n\t\x1f\x7f/";
    json_strn(&j, in, sizeof in - 1);
    assert_string_equal(text(&j), "\"a\\\"b\\\\c\\u0001\\n\\t\\u001f\x7f/\"");
    json_reset(&j);
    /* Valid UTF-8 passes through; invalid bytes (lone continuation, overlong, surrogate,
     * truncated sequence, 0xff) each become U+FFFD. */
    const char utf[] = "\xc3\xa9|\x80|\xc0\xaf|\xed\xa0\x80|\xe2\x82|\xff|\xf0\x9f\x98\x80";
    json_strn(&j, utf, sizeof utf - 1);
    assert_string_equal(text(&j), "\"\xc3\xa9|\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|"
                                  "\\ufffd\\ufffd|\\ufffd|\xf0\x9f\x98\x80\"");
    json_reset(&j);
    /* A NUL inside a counted string is data, not an end. */
    json_strn(&j, "a\0b", 3);
    assert_string_equal(text(&j), "\"a\\u0000b\"");
    json_free(&j);
}

/* A strict decoder for the strings the writer produces: returns decoded length or -1. */
static int decode_json_string(const char *s, size_t n, unsigned char *out)
{
    size_t i = 0, o = 0;
    if (n < 2 || s[0] != '"' || s[n - 1] != '"')
        return -1;
    for (i = 1; i < n - 1; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == '"')
            return -1;
        if (c != '\\') {
            out[o++] = c;
            continue;
        }
        if (++i >= n - 1)
            return -1;
        switch (s[i]) {
        case '"': out[o++] = '"'; break;
        case '\\': out[o++] = '\\'; break;
        case 'n': out[o++] = '\n'; break;
        case 't': out[o++] = '\t'; break;
        case 'r': out[o++] = '\r'; break;
        case 'u': {
            unsigned v;
            if (i + 4 >= n - 1 || sscanf(s + i + 1, "%4x", &v) != 1)
                return -1;
            i += 4;
            if (v >= 0x80)
                return -1; /* only control bytes and U+FFFD are escaped; FFFD not expected here */
            out[o++] = (unsigned char)v;
            break;
        }
        default: return -1;
        }
    }
    return (int)o;
}

static void test_every_ascii_byte_round_trips(void **state)
{
    (void)state;
    json_buf j;
    json_init(&j);
    unsigned char in[128], out[256];
    for (int i = 0; i < 128; i++)
        in[i] = (unsigned char)i;
    json_strn(&j, (const char *)in, sizeof in);
    int n = decode_json_string(j.p, j.len, out);
    assert_int_equal(n, 128);
    assert_memory_equal(in, out, 128);
    json_free(&j);
}

/* The writer scans eight bytes at a time: a special byte at every offset of a long run
 * must still be escaped, and everything must round-trip. */
static void test_special_at_every_offset(void **state)
{
    (void)state;
    static const unsigned char specials[] = {0x01, 0x1f, '"', '\\', 0x7f, 0x20, 0x00};
    json_buf j;
    json_init(&j);
    for (size_t k = 0; k < sizeof specials; k++) {
        for (size_t pos = 0; pos < 40; pos++) {
            unsigned char in[40], out[80];
            memset(in, 'a', sizeof in);
            in[pos] = specials[k];
            json_reset(&j);
            json_strn(&j, (const char *)in, sizeof in);
            int n = decode_json_string(j.p, j.len, out);
            assert_int_equal(n, (int)sizeof in);
            assert_memory_equal(in, out, sizeof in);
        }
    }
    json_free(&j);
}

static void test_grows(void **state)
{
    (void)state;
    json_buf j;
    json_init(&j);
    json_arr_begin(&j);
    for (int i = 0; i < 100000; i++)
        json_u64(&j, 7);
    json_arr_end(&j);
    assert_false(j.oom);
    assert_int_equal(j.len, 2 + 100000 + 99999);
    json_free(&j);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_structure),
        cmocka_unit_test(test_escapes),
        cmocka_unit_test(test_every_ascii_byte_round_trips),
        cmocka_unit_test(test_special_at_every_offset),
        cmocka_unit_test(test_grows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
