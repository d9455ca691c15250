/* pcap_bare_read: the floor for the benchmark. Reads a capture with pcap_next_ex and does
 * nothing but touch each packet (sum of first bytes, printed so the loop cannot be
 * optimised away): whatever dnswatch costs above this is its own work.
 *
 *   pcap_bare_read FILE.pcap   ->  "packets N bytes B firstbyte_sum S" */
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>

int main(int argc, char **argv)
{
    char err[PCAP_ERRBUF_SIZE];
    if (argc != 2) {
        fputs("usage: pcap_bare_read FILE.pcap\n", stderr);
        return 2;
    }
    /* The same 1 MiB stdio buffer dnswatch reads files through (sensor/run.c): the floor
     * must not pay a read() per 4 KiB that dnswatch does not. */
    static char buf[1u << 20];
    FILE *f = fopen(argv[1], "rb");
    if (!f) {
        perror(argv[1]);
        return 1;
    }
    setvbuf(f, buf, _IOFBF, sizeof buf);
    pcap_t *p = pcap_fopen_offline(f, err);
    if (!p) {
        fclose(f);
        fprintf(stderr, "pcap_bare_read: %s\n", err);
        return 1;
    }
    struct pcap_pkthdr *h;
    const u_char *data;
    uint64_t n = 0, bytes = 0, sum = 0;
    int rc;
    while ((rc = pcap_next_ex(p, &h, &data)) == 1) {
        n++;
        bytes += h->caplen;
        if (h->caplen > 0)
            sum += data[0];
    }
    int status = 0;
    if (rc == PCAP_ERROR) {
        fprintf(stderr, "pcap_bare_read: %s: %s\n", argv[1], pcap_geterr(p));
        status = 1;
    }
    pcap_close(p);
    printf("packets %llu bytes %llu firstbyte_sum %llu\n", (unsigned long long)n,
           (unsigned long long)bytes, (unsigned long long)sum);
    return status;
}
