/* The recent-DNS-servers set of dnssrv.h: n_buckets buckets of DNSSRV_WAYS ways. */
#include "decoders/dnssrv.h"

#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "common/hash.h"

typedef struct srv_way {
    uint8_t addr[16]; /* IPv4 in the first 4 bytes, the rest zero */
    uint8_t ip_version; /* 0: free */
    uint16_t count;
} srv_way;

struct dnssrv {
    srv_way *way;
    uint32_t mask; /* n_buckets - 1 */
    uint64_t seed;
    uint16_t ports[DNSSRV_MAX_PORTS];
    unsigned n_ports;
};


dnssrv *dnssrv_new(unsigned entries, const uint16_t *ports, unsigned n_ports)
{
    dnssrv *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    unsigned want = (entries ? entries : 1024) / DNSSRV_WAYS, nb = 1;
    while (nb < want && nb < (1u << 24))
        nb <<= 1;
    s->mask = nb - 1;
    s->way = calloc((size_t)nb * DNSSRV_WAYS, sizeof *s->way);
    if (!s->way) {
        free(s);
        return NULL;
    }
    if (getrandom(&s->seed, sizeof s->seed, GRND_NONBLOCK) != (ssize_t)sizeof s->seed)
        s->seed = hash_mix64((uint64_t)(uintptr_t)s ^ (uint64_t)time(NULL));
    s->n_ports = n_ports < DNSSRV_MAX_PORTS ? n_ports : DNSSRV_MAX_PORTS;
    if (s->n_ports)
        memcpy(s->ports, ports, s->n_ports * sizeof *ports);
    return s;
}

void dnssrv_free(dnssrv *s)
{
    if (!s)
        return;
    free(s->way);
    free(s);
}

bool dnssrv_port(const dnssrv *s, uint16_t port)
{
    for (unsigned i = 0; i < s->n_ports; i++)
        if (s->ports[i] == port)
            return true;
    return false;
}

/* The bucket's first way; a normalised copy of the address in a16. */
static srv_way *srv_bucket(const dnssrv *s, uint8_t ip_version, const uint8_t *addr,
                           uint8_t *a16)
{
    memset(a16, 0, 16);
    memcpy(a16, addr, ip_version == 4 ? 4 : 16);
    uint64_t w0, w1;
    memcpy(&w0, a16, 8);
    memcpy(&w1, a16 + 8, 8);
    uint64_t h = hash_mix64(hash_mix64(s->seed ^ ip_version ^ w0) ^ w1);
    return &s->way[((uint32_t)h & s->mask) * DNSSRV_WAYS];
}

static srv_way *srv_find(srv_way *b, uint8_t ip_version, const uint8_t *a16)
{
    for (unsigned i = 0; i < DNSSRV_WAYS; i++)
        if (b[i].ip_version == ip_version && memcmp(b[i].addr, a16, 16) == 0)
            return &b[i];
    return NULL;
}

void dnssrv_note(dnssrv *s, uint8_t ip_version, const uint8_t *addr)
{
    if (!s || (ip_version != 4 && ip_version != 6))
        return;
    uint8_t a[16];
    srv_way *b = srv_bucket(s, ip_version, addr, a);
    srv_way *w = srv_find(b, ip_version, a);
    if (w) {
        if (w->count < DNSSRV_COUNT_MAX)
            w->count++;
        return;
    }
    for (unsigned i = 0; i < DNSSRV_WAYS; i++)
        if (!b[i].ip_version) {
            memcpy(b[i].addr, a, 16);
            b[i].ip_version = ip_version;
            b[i].count = 1;
            return;
        }
    for (unsigned i = 0; i < DNSSRV_WAYS; i++)
        if (--b[i].count == 0)
            b[i].ip_version = 0;
}

bool dnssrv_known(const dnssrv *s, uint8_t ip_version, const uint8_t *addr)
{
    if (!s || (ip_version != 4 && ip_version != 6))
        return false;
    uint8_t a[16];
    srv_way *b = srv_bucket(s, ip_version, addr, a);
    return srv_find(b, ip_version, a) != NULL;
}

enum dnssrv_claim dnssrv_claim_of(const dnssrv *s, uint8_t ip_version, const uint8_t *src,
                                  const uint8_t *dst)
{
    if (dnssrv_known(s, ip_version, src))
        return DNSSRV_CLAIM_SERVER;
    if (dnssrv_known(s, ip_version, dst))
        return DNSSRV_CLAIM_DNS;
    return DNSSRV_CLAIM_NONE;
}
