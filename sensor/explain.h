/* `dnswatch explain`: shows, check by check, what the rules make of one DNS response, so a
 * rule can be tried before it ships. The response is either written from the command line
 * ("NAME TYPE DATA [TTL]" records, turned into a real wire-format message and parsed like
 * a captured one) or read from a capture (-r FILE.pcap: every response in it).
 *
 * Output (stdout): the response, its CNAME chain, every address with its AS and special
 * range, then for each rule that applies "rule ID (FILE:LINE) matched NAME", one line per
 * check ("  CHECK: PASS|FAIL|SKIP detail") and "  verdict: alert [v1, v2]" or
 * "  verdict: no alert"; "no rule matched NAMES" when none applies. */
#ifndef DW_EXPLAIN_H
#define DW_EXPLAIN_H

/* argv[0] is "explain". Returns the exit status: 0 no alert, 1 at least one alert would
 * be raised, 2 usage or input error (bad record, rules that do not load, unreadable
 * capture or ASN database). */
int explain_main(int argc, char **argv);

#endif
