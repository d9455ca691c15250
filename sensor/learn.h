/* `dnswatch learn`: a rule pack from the traffic the farm already sees (issue 13).
 *
 *   dnswatch learn (-r FILE... | -i IFACE --duration SECONDS | --dnstap SPEC)
 *                  --names LIST|@FILE [--asn-db FILE|none] [--min-count N]
 *                  [--max-entries N] [--rules DIR] [-o FILE]
 *
 * Reads DNS responses through the sensor's inputs (sensor/input.h) and decoders, keeps
 * for each name asked (--names) the ASNs or prefixes of its answers, the CNAME targets of
 * its chains, the servers that answered and the highest TTL, each with its evidence
 * (count, first and last seen, examples), and writes a rule pack in the shipped pack's
 * style (sensor/learn_agg.h says how prefixes and CNAME targets are generalised). With
 * --rules it judges the same traffic by existing rules instead and prints what would have
 * alerted and the change that would have kept them quiet.
 *
 * Memory is bounded by the names asked times --max-entries per table: other names are
 * only counted, and observations past a full table are counted and reported. */
#ifndef DW_LEARN_H
#define DW_LEARN_H

/* argv[0] is "learn". Returns the exit status: 0 written, 1 bad input (unreadable capture,
 * rules or ASN database, output not written), 2 usage error. */
int learn_main(int argc, char **argv);

#endif
