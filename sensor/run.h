/* `dnswatch run`: capture (a live interface or a pcap file), decode, and write events. */
#ifndef DW_RUN_H
#define DW_RUN_H

#include "sensor/options.h"

/* Runs to the end of the file or until SIGINT/SIGTERM. Returns the process exit status:
 * 0 success, 1 bad input (unreadable capture, bad rules). */
int run_main(const dw_options *o);

#endif
