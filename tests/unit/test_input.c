/* input: the capture-file input through the input interface (input.h) alone: frames with
 * their timestamps and lengths, then the end; the link type; no source counters for a
 * file; a clear error for a missing file and for a link type the decoder cannot read. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "sensor/input.h"

static char path[64];

static void put32(FILE *f, uint32_t v) { fwrite(&v, 4, 1, f); }
static void put16(FILE *f, uint16_t v) { fwrite(&v, 2, 1, f); }

/* A classic pcap file (host byte order, microseconds) with n frames of len bytes each. */
static void write_pcap(uint32_t linktype, unsigned n, uint32_t len)
{
    snprintf(path, sizeof path, "/tmp/dw_test_input.XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "wb");
    assert_non_null(f);
    put32(f, 0xa1b2c3d4);
    put16(f, 2);
    put16(f, 4);
    put32(f, 0);
    put32(f, 0);
    put32(f, 65535);
    put32(f, linktype);
    for (unsigned i = 0; i < n; i++) {
        put32(f, 1764237600u + i); /* 2025-11-27T10:00:00Z + i s */
        put32(f, 1500u * i);
        put32(f, len);
        put32(f, len);
        for (uint32_t k = 0; k < len; k++)
            fputc((int)(i + k) & 0xff, f);
    }
    assert_int_equal(fclose(f), 0);
}

typedef struct seen {
    unsigned n;
    uint64_t ts[8];
    uint32_t len[8];
    uint8_t first[8];
} seen;

static void on_frame(void *ctx, uint64_t ts_us, const uint8_t *data, uint32_t len)
{
    seen *s = ctx;
    if (s->n < 8) {
        s->ts[s->n] = ts_us;
        s->len[s->n] = len;
        s->first[s->n] = data[0];
    }
    s->n++;
}

static void t_file_frames_then_eof(void **state)
{
    (void)state;
    write_pcap(1 /* DLT_EN10MB */, 3, 60);
    dw_options o;
    options_default(&o);
    o.pcap_file = path;
    dw_input *in = NULL;
    char err[512] = "";
    assert_int_equal(dw_input_open(&o, &in, err, sizeof err), 0);
    assert_non_null(in);
    assert_false(in->live);
    assert_string_equal(in->src, path);
    assert_int_equal(dw_input_link_type(in), 1);
    assert_false(dw_input_has_stats(in));
    dw_input_stats st;
    assert_true(dw_input_stats_get(in, &st) < 0);

    seen s = {0};
    int rc, total = 0;
    while ((rc = dw_input_dispatch(in, 2, on_frame, &s)) > 0)
        total += rc;
    assert_int_equal(rc, DW_INPUT_EOF);
    assert_int_equal(total, 3);
    assert_int_equal(s.n, 3);
    for (unsigned i = 0; i < 3; i++) {
        assert_int_equal(s.ts[i], (1764237600ull + i) * 1000000u + 1500u * i);
        assert_int_equal(s.len[i], 60);
        assert_int_equal(s.first[i], i);
    }
    dw_input_close(in);
    dw_input_close(NULL);
    unlink(path);
}

/* A break asked before dispatch makes it return DW_INPUT_BREAK, not the end. */
static void t_break(void **state)
{
    (void)state;
    write_pcap(1, 2, 60);
    dw_options o;
    options_default(&o);
    o.pcap_file = path;
    dw_input *in = NULL;
    char err[512];
    assert_int_equal(dw_input_open(&o, &in, err, sizeof err), 0);
    dw_input_break(in);
    seen s = {0};
    assert_int_equal(dw_input_dispatch(in, 10, on_frame, &s), DW_INPUT_BREAK);
    assert_int_equal(dw_input_dispatch(in, 10, on_frame, &s), 2);
    assert_int_equal(dw_input_dispatch(in, 10, on_frame, &s), DW_INPUT_EOF);
    dw_input_close(in);
    unlink(path);
}

static void t_missing_file(void **state)
{
    (void)state;
    dw_options o;
    options_default(&o);
    o.pcap_file = "/nonexistent/dw.pcap";
    dw_input *in = NULL;
    char err[512];
    assert_true(dw_input_open(&o, &in, err, sizeof err) < 0);
    assert_null(in);
    assert_string_equal(err, "cannot read /nonexistent/dw.pcap: /nonexistent/dw.pcap: No such "
                             "file or directory");
}

static void t_unsupported_link_type(void **state)
{
    (void)state;
    write_pcap(147 /* DLT_USER0 */, 1, 20);
    dw_options o;
    options_default(&o);
    o.pcap_file = path;
    dw_input *in = NULL;
    char err[512], want[600];
    assert_true(dw_input_open(&o, &in, err, sizeof err) < 0);
    assert_null(in);
    snprintf(want, sizeof want, "%s: link type 147 (", path); /* then libpcap's name */
    assert_memory_equal(err, want, strlen(want));
    assert_non_null(strstr(err, ") is not supported"));
    unlink(path);
}

/* A bad --filter is named with the expression and libpcap's reason. */
static void t_bad_filter(void **state)
{
    (void)state;
    write_pcap(1, 1, 60);
    dw_options o;
    options_default(&o);
    o.pcap_file = path;
    o.bpf = "udp port banana";
    dw_input *in = NULL;
    char err[512], want[600];
    assert_true(dw_input_open(&o, &in, err, sizeof err) < 0);
    snprintf(want, sizeof want, "%s: bad capture filter 'udp port banana': ", path);
    assert_memory_equal(err, want, strlen(want));
    unlink(path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(t_file_frames_then_eof),
        cmocka_unit_test(t_break),
        cmocka_unit_test(t_missing_file),
        cmocka_unit_test(t_unsupported_link_type),
        cmocka_unit_test(t_bad_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
