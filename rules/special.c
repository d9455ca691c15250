/* The rebinding ranges of DESIGN.md. The tables are short and fixed, so a linear scan
 * with the more specific ranges first is simpler than a trie and just as fast. */
#include "rules/special.h"

#include <stdbool.h>
#include <string.h>

typedef struct sp_range {
    uint8_t net[16];
    uint8_t plen;
    const char *text;
} sp_range;

/* 255.255.255.255/32 comes before 240/4, which contains it, so the more precise range is
 * the one reported. 0.0.0.0 itself is the sinkhole answer, tested before the table. */
static const sp_range v4_ranges[] = {
    {{255, 255, 255, 255}, 32, "255.255.255.255/32"},
    {{0}, 8, "0.0.0.0/8"},
    {{10}, 8, "10.0.0.0/8"},
    {{100, 64}, 10, "100.64.0.0/10"},
    {{127}, 8, "127.0.0.0/8"},
    {{169, 254}, 16, "169.254.0.0/16"},
    {{172, 16}, 12, "172.16.0.0/12"},
    {{192, 0, 0}, 24, "192.0.0.0/24"},
    {{192, 0, 2}, 24, "192.0.2.0/24"},
    {{192, 168}, 16, "192.168.0.0/16"},
    {{198, 18}, 15, "198.18.0.0/15"},
    {{198, 51, 100}, 24, "198.51.100.0/24"},
    {{203, 0, 113}, 24, "203.0.113.0/24"},
    {{224}, 4, "224.0.0.0/4"},
    {{240}, 4, "240.0.0.0/4"},
};

/* :: is the sinkhole answer, tested before the table. */
static const sp_range v6_ranges[] = {
    {{0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1}, 128, "::1/128"},
    {{0xfc}, 7, "fc00::/7"},
    {{0xfe, 0x80}, 10, "fe80::/10"},
    {{0xfe, 0xc0}, 10, "fec0::/10"},
    {{0xff}, 8, "ff00::/8"},
    {{0x20, 0x01, 0x0d, 0xb8}, 32, "2001:db8::/32"},
    {{0x01, 0x00}, 64, "100::/64"},
};

static const uint8_t pfx_mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
static const uint8_t pfx_nat64[12] = {0, 0x64, 0xff, 0x9b};
static const uint8_t pfx_nat64_local[6] = {0, 0x64, 0xff, 0x9b, 0, 1};
static const uint8_t pfx_6to4[2] = {0x20, 0x02};

static int in_range(const uint8_t *a, const sp_range *r)
{
    unsigned full = r->plen / 8, rest = r->plen % 8;
    /* A short inline loop: this runs for every answer address, and a library memcmp call
     * on one to four bytes costs more than the comparison. */
    for (unsigned i = 0; i < full; i++)
        if (a[i] != r->net[i])
            return 0;
    if (rest == 0)
        return 1;
    uint8_t mask = (uint8_t)(0xff00u >> rest);
    return (a[full] & mask) == r->net[full];
}

/* First bytes an address of some range (or the sinkhole) can start with: most answers
 * are public addresses, and one table load rules them out. */
static const bool v4_first[256] = {
    [0] = true, [10] = true, [100] = true, [127] = true, [169] = true, [172] = true,
    [192] = true, [198] = true, [203] = true,
    /* 224.0.0.0/4 and 240.0.0.0/4 */
    [224] = true, [225] = true, [226] = true, [227] = true, [228] = true, [229] = true,
    [230] = true, [231] = true, [232] = true, [233] = true, [234] = true, [235] = true,
    [236] = true, [237] = true, [238] = true, [239] = true, [240] = true, [241] = true,
    [242] = true, [243] = true, [244] = true, [245] = true, [246] = true, [247] = true,
    [248] = true, [249] = true, [250] = true, [251] = true, [252] = true, [253] = true,
    [254] = true, [255] = true,
};
static const bool v6_first[256] = {
    [0x00] = true, [0x01] = true, [0x20] = true, [0xfc] = true, [0xfd] = true, [0xfe] = true,
    [0xff] = true,
};

static void judge(special_result *res, const sp_range *tab, size_t n, size_t alen)
{
    static const uint8_t zero[16];
    if (!(alen == 4 ? v4_first : v6_first)[res->judged[0]])
        return;
    if (memcmp(res->judged, zero, alen) == 0) {
        res->kind = SPECIAL_SINKHOLE;
        res->range = alen == 4 ? "0.0.0.0/32" : "::/128";
        return;
    }
    for (size_t i = 0; i < n; i++) {
        if (in_range(res->judged, &tab[i])) {
            res->kind = SPECIAL_REBIND;
            res->range = tab[i].text;
            return;
        }
    }
}

/* Where the IPv4 address sits inside 64:ff9b:1::/48 (RFC 8215, local-use NAT64). RFC 6052
 * puts it, for a /48 prefix, in bits 48..63 and 72..87 around the zero "u" octet (bits
 * 64..71). A site may instead carve a /96 out of the /48 and put it in the last 32 bits;
 * then bits 48..95 are all zero, which in the /48 layout could only mean 0.0.0.0 followed
 * by a non-zero suffix, so the /96 reading is taken in that case. */
static void nat64_local_v4(const uint8_t *a, uint8_t v4[4])
{
    static const uint8_t zero[6];
    if (memcmp(a + 6, zero, 6) == 0) {
        memcpy(v4, a + 12, 4);
        return;
    }
    v4[0] = a[6];
    v4[1] = a[7];
    v4[2] = a[9];
    v4[3] = a[10];
}

special_result special_classify(int family, const uint8_t *addr)
{
    special_result res = {.kind = SPECIAL_NONE};

    if (!addr || (family != 4 && family != 6))
        return res;
    if (family == 4) {
        res.family = 4;
        memcpy(res.judged, addr, 4);
        judge(&res, v4_ranges, sizeof v4_ranges / sizeof v4_ranges[0], 4);
        return res;
    }

    const uint8_t *v4 = NULL;
    uint8_t tmp[4];
    if (memcmp(addr, pfx_mapped, 12) == 0) {
        res.via = "IPv4-mapped";
        v4 = addr + 12;
    } else if (memcmp(addr, pfx_nat64, 12) == 0) {
        res.via = "NAT64";
        v4 = addr + 12;
    } else if (memcmp(addr, pfx_nat64_local, 6) == 0) {
        res.via = "NAT64";
        nat64_local_v4(addr, tmp);
        v4 = tmp;
    } else if (memcmp(addr, pfx_6to4, 2) == 0) {
        res.via = "6to4";
        v4 = addr + 2;
    }
    if (v4) {
        res.family = 4;
        memcpy(res.judged, v4, 4);
        judge(&res, v4_ranges, sizeof v4_ranges / sizeof v4_ranges[0], 4);
        return res;
    }
    res.family = 6;
    memcpy(res.judged, addr, 16);
    judge(&res, v6_ranges, sizeof v6_ranges / sizeof v6_ranges[0], 16);
    return res;
}
