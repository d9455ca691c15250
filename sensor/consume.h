/* `dnswatch consume`: reads the events stream in a consumer group and writes one JSON
 * event per line to stdout or a file, acknowledging (XACK) only what it has written and
 * flushed. On start it first re-delivers its own pending entries, then claims entries
 * that other (dead) consumers left idle longer than --claim-idle. */
#ifndef DW_CONSUME_H
#define DW_CONSUME_H

/* argv[0] is "consume". Returns the exit status: 0 after SIGINT/SIGTERM, 1 on errors
 * (authentication, Redis unreachable at start, output not writable), 2 on usage errors. */
int consume_main(int argc, char **argv);

#endif
