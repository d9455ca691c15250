#!/usr/bin/env python3
"""Writes a large rule pack for the benchmark (tests/bench/bench.sh): by default 1000 rules
watching 10,000 names in all, and 100,000 prefixes in 100 named sets.

usage: make_big_rules.py [--rules N] [--names N] [--prefixes N] [--sets N] [--seed S]
                         [--gen-pcap-source FILE] OUT_DIR

OUT_DIR gets sets.yaml (the prefix sets) and rules.yaml (the rules, then the catch-all
rebinding rule of the shipped pack). Deterministic for given arguments.

The names of the benchmark capture (BENCH_NAMES of tests/tools/gen_pcap.c, read from the
source so the two cannot drift apart) are among the watched names, exact and as
"*.name" wildcards (the capture asks for random subdomains too), and the addresses the
capture answers for each of them (a /22 and a /48 per name) are in the set its rule
expects: so the big pack does the same lookups as real traffic would, without turning
every response into an alert. The other names and prefixes are synthetic.
"""

import argparse
import os
import random
import re
import sys


# Wildcards the linter rightly warns about (anyone can own a name below them).
PUBLIC_SUFFIXES = {"s3.amazonaws.com", "cloudfront.net", "github.io", "appspot.com"}


def bench_names(path, array):
    """A string array of gen_pcap.c, in order (a name's index decides its addresses)."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    m = re.search(array + r"\[\]\s*=\s*\{(.*?)\};", text, re.S)
    if not m:
        sys.exit("make_big_rules: %s not found in %s" % (array, path))
    return re.findall(r'"([^"]+)"', m.group(1))


def bench_prefixes(idx):
    """The /22 and /48 gen_pcap's bench scenario answers for name number idx."""
    a, b = 100 + idx % 100, (idx * 7) & 0xFF
    return ["%d.%d.0.0/22" % (a, b), '"2a04:4e40:%x::/48"' % ((idx & 0xFF) << 8)]


def random_prefix(rng):
    if rng.random() < 0.8:
        plen = rng.choice((16, 18, 20, 22, 24, 24, 24))
        addr = rng.getrandbits(32) & ~((1 << (32 - plen)) - 1) & 0xFFFFFFFF
        return "%d.%d.%d.%d/%d" % (addr >> 24, (addr >> 16) & 255, (addr >> 8) & 255, addr & 255,
                                   plen)
    plen = rng.choice((32, 36, 40, 44, 48, 48))
    addr = (0x2 << 124 | rng.getrandbits(124)) & ~((1 << (128 - plen)) - 1)
    groups = ["%x" % ((addr >> (112 - 16 * i)) & 0xFFFF) for i in range(plen // 16 + 1)]
    groups = groups[: (plen + 15) // 16]
    return '"%s::/%d"' % (":".join(groups), plen)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--rules", type=int, default=1000)
    ap.add_argument("--names", type=int, default=10000)
    ap.add_argument("--prefixes", type=int, default=100000)
    ap.add_argument("--sets", type=int, default=100)
    ap.add_argument("--seed", type=int, default=20261127)
    ap.add_argument("--gen-pcap-source", default=os.path.join(here, "..", "tools", "gen_pcap.c"))
    ap.add_argument("out_dir")
    a = ap.parse_args()
    if a.rules < 1 or a.sets < 1 or a.names < a.rules or a.prefixes < a.sets:
        sys.exit("make_big_rules: need names >= rules >= 1 and prefixes >= sets >= 1")

    rng = random.Random(a.seed)
    os.makedirs(a.out_dir, exist_ok=True)

    # Names per rule: the benchmark's names (exact and wildcard) first, spread over the
    # rules, then synthetic ones until every rule has its share.
    per_rule = [[] for _ in range(a.rules)]
    sets = [[] for _ in range(a.sets)]
    seen = set()
    bnames = bench_names(a.gen_pcap_source, "BENCH_NAMES")
    cdns = bench_names(a.gen_pcap_source, "BENCH_CDN")
    for i, name in enumerate(bnames):
        r = (i * 7) % a.rules
        for pat in (name, "*." + name):
            if pat not in seen and pat[2:] not in PUBLIC_SUFFIXES:
                seen.add(pat)
                per_rule[r].append(pat)
        # This rule also sees the answers for the bench names below it (api.github.com
        # under "*.github.com") and for those CNAMEd to it (every 8th name goes through
        # d2glxqk2uabbnd.cloudfront.net): their addresses are expected too.
        for j, other in enumerate(bnames):
            for seen_as in (other, cdns[j % len(cdns)]):
                if seen_as == name or seen_as.endswith("." + name):
                    for p in bench_prefixes(j):
                        if p not in sets[r % a.sets]:
                            sets[r % a.sets].append(p)
    total = len(seen)
    r = 0
    while total < a.names:
        pat = "pkg%d-%d.mirror%d.registry-%d.example" % (total, rng.randrange(1000), r % 97, r)
        if rng.random() < 0.2:
            pat = "*." + pat
        if pat not in seen:
            seen.add(pat)
            per_rule[r].append(pat)
            total += 1
        r = (r + 1) % a.rules

    npfx = sum(len(s) for s in sets)
    pseen = set(p for s in sets for p in s)
    k = 0
    while npfx < a.prefixes:
        p = random_prefix(rng)
        if p in pseen:
            continue
        pseen.add(p)
        sets[k % a.sets].append(p)
        npfx += 1
        k += 1

    with open(os.path.join(a.out_dir, "sets.yaml"), "w", encoding="utf-8") as f:
        f.write("# Generated by tests/bench/make_big_rules.py: %d prefixes in %d sets.\n"
                % (npfx, a.sets))
        f.write("sets:\n")
        for i, s in enumerate(sets):
            f.write("  big%d:\n    prefixes: [%s]\n" % (i, ", ".join(s)))

    with open(os.path.join(a.out_dir, "rules.yaml"), "w", encoding="utf-8") as f:
        f.write("# Generated by tests/bench/make_big_rules.py: %d rules, %d watched names.\n"
                % (a.rules, total))
        for i, names in enumerate(per_rule):
            f.write("---\nid: big-%d\nseverity: high\n" % i)
            f.write("match: {names: [%s]}\n" % ", ".join('"%s"' % n for n in names))
            f.write('expect: {prefixes: ["set:big%d"]}\n' % (i % a.sets))
        f.write("---\nid: rebinding\nseverity: high\n"
                "match:\n  names: [\"*\"]\n"
                "  except: [\"*.corp.example\", localhost, \"*.in-addr.arpa\", \"*.ip6.arpa\"]\n")
    print("%s: %d rules (+ catch-all), %d names, %d prefixes in %d sets"
          % (a.out_dir, a.rules, total, npfx, a.sets))


if __name__ == "__main__":
    main()
