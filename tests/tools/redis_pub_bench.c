/* redis_pub_bench: submits N synthetic event lines (about 200 bytes, each unique) to the
 * Redis publisher and closes it, then prints "events N seconds S published P spooled Q".
 * Used by tests/bench/bench_redis.sh; the time includes the final drain. URL may be any
 * form (rediss://, sentinel://, cluster://); $DW_BENCH_TLS_CA turns TLS on with that CA,
 * $DW_BENCH_WAIT_REPLICAS asks WAIT for that many replicas, $DW_BENCH_NAME names the
 * sensor (its stream in a cluster). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sensor/output_redis.h"
#include "sensor/publish.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: redis_pub_bench URL SPOOL_DIR N [KEY] [BATCH] [QUEUE]\n");
        return 2;
    }
    publish_config c;
    publish_config_default(&c);
    c.url = argv[1];
    c.spool_dir = argv[2];
    unsigned long n = strtoul(argv[3], NULL, 10);
    if (argc > 4)
        c.key = argv[4];
    if (argc > 5)
        c.batch_max = (unsigned)strtoul(argv[5], NULL, 10);
    if (argc > 6)
        c.queue_max = (unsigned)strtoul(argv[6], NULL, 10);
    c.maxlen = 0;
    /* The transport's options the benchmark compares (tests/bench/bench_redis.sh). */
    const char *e;
    if ((e = getenv("DW_BENCH_TLS_CA")) && *e) {
        c.tls = true;
        c.tls_ca_file = e;
    }
    if ((e = getenv("DW_BENCH_WAIT_REPLICAS")) && *e)
        c.wait_replicas = (unsigned)strtoul(e, NULL, 10);
    if ((e = getenv("DW_BENCH_NAME")) && *e)
        c.sensor_name = e;

    publisher *p;
    publish_transport *tr;
    publish_queue_config qc;
    char err[512];
    publish_config_queue(&c, &qc);
    if (redis_transport_new(&c, &tr, err, sizeof err) != 0 ||
        publisher_new(&qc, tr, &p, err, sizeof err) != 0) {
        fprintf(stderr, "redis_pub_bench: %s\n", err);
        return 1;
    }
    char line[256];
    double t0 = now();
    for (unsigned long i = 0; i < n; i++) {
        int len = snprintf(line, sizeof line,
                           "{\"@timestamp\":\"2026-11-27T10:00:00.000000Z\",\"event\":{\"kind\":"
                           "\"event\",\"id\":\"%032lx\"},\"dns\":{\"question\":{\"name\":"
                           "\"pypi.org\",\"type\":\"A\"},\"resolved_ip\":[\"151.101.0.223\"]}}\n",
                           i);
        publisher_submit(p, line, (size_t)len);
    }
    publish_stats st;
    uint64_t left = publisher_close_stats(p, 30000, &st);
    double t = now() - t0;
    printf("events %lu seconds %.3f published %llu spooled %llu left %llu\n", n, t,
           (unsigned long long)st.published, (unsigned long long)st.spooled,
           (unsigned long long)left);
    return 0;
}
