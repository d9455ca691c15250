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
                        "{\"a\":\"x\",\"b\":[1,true,null,{}],\"c\":[]}\n"
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

/* The escaping rules written out byte by byte, the plainest way: the writer's fast
 * paths (eight bytes at a time, overlapping tails, the short-string cases) must give
 * exactly this text for every input. */
static size_t ref_utf8(const unsigned char *s, size_t n)
{
    unsigned c = s[0], len, cp;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (unsigned i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = cp << 6 | (s[i] & 0x3f);
    }
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
        (cp >= 0xd800 && cp <= 0xdfff))
        return 0;
    return len;
}

static size_t ref_escape(const unsigned char *s, size_t n, char *out)
{
    size_t o = 0;
    out[o++] = '"';
    for (size_t i = 0; i < n;) {
        unsigned char c = s[i];
        if (c == '"' || c == '\\') {
            out[o++] = '\\';
            out[o++] = (char)c;
            i++;
        } else if (c == '\n' || c == '\r' || c == '\t') {
            out[o++] = '\\';
            out[o++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            i++;
        } else if (c < 0x20) {
            o += (size_t)sprintf(out + o, "\\u%04x", c);
            i++;
        } else if (c < 0x80) {
            out[o++] = (char)c;
            i++;
        } else {
            size_t l = ref_utf8(s + i, n - i);
            if (l == 0) {
                memcpy(out + o, "\\ufffd", 6);
                o += 6;
                i++;
            } else {
                memcpy(out + o, s + i, l);
                o += l;
                i += l;
            }
        }
    }
    out[o++] = '"';
    return o;
}

/* Writes s as the second element of an array (so the comma and the buffer offset are
 * exercised too) and compares with the reference. */
static void check_against_ref(json_buf *j, const unsigned char *s, size_t n)
{
    static char want[8192];
    want[0] = '[';
    want[1] = '1';
    want[2] = ',';
    size_t w = 3 + ref_escape(s, n, want + 3);
    want[w++] = ']';
    json_reset(j);
    json_arr_begin(j);
    json_u64(j, 1);
    json_strn(j, (const char *)s, n);
    json_arr_end(j);
    assert_false(j->oom);
    if (j->len != w || memcmp(j->p, want, w) != 0) {
        print_error("input of %zu bytes:", n);
        for (size_t i = 0; i < n; i++)
            print_error(" %02x", s[i]);
        print_error("\nwant %.*s\ngot  %.*s\n", (int)w, want, (int)j->len, j->p);
        fail();
    }
}

/* Every length 0..40, an escapable or multi-byte sequence at every position of a plain
 * run: the chunk boundaries, the overlapping tail and the 4..7 and 0..3 byte cases. */
static void test_fast_path_matches_reference(void **state)
{
    (void)state;
    static const struct {
        const char *b;
        size_t n;
    } seqs[] = {
        {"\"", 1},  {"\\", 1}, {"\0", 1},       {"\x01", 1},         {"\x1f", 1},
        {"\n", 1},  {"\r", 1},  {"\t", 1},       {"\x7f", 1},         {" ", 1},
        {"\x80", 1}, {"\xff", 1}, {"\xc3\xa9", 2}, {"\xc3", 1},         {"\xe2\x82\xac", 3},
        {"\xe2\x82", 2}, {"\xf0\x9f\x98\x80", 4}, {"\xed\xa0\x80", 3}, {"\xc0\xaf", 2},
        {"\x1f\"", 2},
    };
    json_buf j;
    json_init(&j);
    unsigned char in[48];
    for (size_t n = 0; n <= 40; n++) {
        memset(in, 'a', sizeof in);
        check_against_ref(&j, in, n);
        for (size_t k = 0; k < sizeof seqs / sizeof seqs[0]; k++)
            for (size_t pos = 0; pos + seqs[k].n <= n; pos++) {
                memset(in, 'a', sizeof in);
                memcpy(in + pos, seqs[k].b, seqs[k].n);
                check_against_ref(&j, in, n);
                /* the same byte twice, at pos and at the last position */
                memcpy(in + n - seqs[k].n, seqs[k].b, seqs[k].n);
                check_against_ref(&j, in, n);
            }
    }
    json_free(&j);
}

/* Random strings over an alphabet rich in bytes that need attention, lengths 0..200. */
static void test_random_matches_reference(void **state)
{
    (void)state;
    static const unsigned char alpha[] = {'a', 'Z', '.', '-', '"', '\\', 0, 1, 0x1f, 0x20,
                                          '\n', 0x7f, 0x80, 0xbf, 0xc2, 0xc3, 0xdf, 0xe0,
                                          0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff, 0xa9, 0x9f};
    uint64_t r = 0x9e3779b97f4a7c15ull;
    json_buf j;
    json_init(&j);
    unsigned char in[200];
    for (int t = 0; t < 20000; t++) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        size_t n = (size_t)(r >> 33) % (t < 10000 ? 24 : sizeof in + 1);
        /* mostly plain bytes, so the fast path runs and hands over mid-string */
        unsigned plain_odds = (unsigned)(r >> 20) % 4;
        for (size_t i = 0; i < n; i++) {
            r = r * 6364136223846793005ull + 1442695040888963407ull;
            unsigned v = (unsigned)(r >> 40);
            in[i] = v % 8 < plain_odds * 2 ? (unsigned char)('a' + v % 26)
                                           : alpha[(v >> 8) % sizeof alpha];
        }
        check_against_ref(&j, in, n);
    }
    json_free(&j);
}

/* A string that just fits, or just does not, in the room the buffer has left. */
static void test_strn_at_growth_edge(void **state)
{
    (void)state;
    unsigned char in[64];
    memset(in, 'q', sizeof in);
    in[5] = '"';
    for (size_t pre = 1000; pre < 1030; pre++)
        for (size_t n = 0; n < sizeof in; n += 7) {
            json_buf j;
            json_init(&j);
            static char filler[1100];
            memset(filler, 'x', sizeof filler);
            json_raw(&j, filler, pre);
            json_strn(&j, (const char *)in, n);
            assert_false(j.oom);
            char want[200];
            size_t w = ref_escape(in, n, want);
            /* (a comma: the raw text was the first value) */
            assert_int_equal(j.len, pre + 1 + w);
            assert_int_equal(j.p[pre], ',');
            assert_memory_equal(j.p + pre + 1, want, w);
            json_free(&j);
        }
}

/* Numbers are written two digits at a time: every length, and both sides of every
 * power of ten, against printf. */
static void test_u64_digits(void **state)
{
    (void)state;
    json_buf j;
    json_init(&j);
    uint64_t p = 1;
    for (int k = 0; k < 20; k++) {
        uint64_t vals[] = {p - 1, p, p + 1, p * 5, p * 9 + (p - 1)};
        for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
            char want[32];
            json_reset(&j);
            json_u64(&j, vals[i]);
            snprintf(want, sizeof want, "%llu", (unsigned long long)vals[i]);
            assert_int_equal(j.len, strlen(want));
            assert_memory_equal(j.p, want, j.len);
        }
        if (k < 19)
            p *= 10;
    }
    json_reset(&j);
    json_u64(&j, UINT64_MAX);
    assert_memory_equal(j.p, "18446744073709551615", 20);
    assert_int_equal(j.len, 20);
    json_free(&j);
}

/* Keys of every length 0..40 (copied as constants or not), with and without a comma. */
static void test_keys(void **state)
{
    (void)state;
    json_buf j;
    json_init(&j);
    char key[48], want[128];
    for (size_t n = 0; n <= 40; n++) {
        for (size_t i = 0; i < n; i++)
            key[i] = (char)('a' + (i * 7) % 26);
        key[n] = '\0';
        json_reset(&j);
        json_obj_begin(&j);
        json_kv_str(&j, key, "v");
        json_key(&j, key);
        json_u64(&j, 5);
        json_obj_end(&j);
        snprintf(want, sizeof want, "{\"%s\":\"v\",\"%s\":5}", key, key);
        assert_int_equal(j.len, strlen(want));
        assert_memory_equal(j.p, want, j.len);
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
        cmocka_unit_test(test_u64_digits),
        cmocka_unit_test(test_keys),
        cmocka_unit_test(test_fast_path_matches_reference),
        cmocka_unit_test(test_random_matches_reference),
        cmocka_unit_test(test_strn_at_growth_edge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
