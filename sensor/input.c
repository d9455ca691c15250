/* The inputs the sensor knows, and which options select each. */
#include "sensor/input.h"

#include <stdio.h>

static const struct {
    bool (*wanted)(const dw_options *o);
    int (*open)(const dw_options *o, dw_input **out, char *err, size_t errlen);
} inputs[] = {
    {input_dnstap_wanted, input_dnstap_open},       /* --dnstap, with -i or -r beside it */
    {input_pcap_file_wanted, input_pcap_file_open}, /* -r FILE */
    {input_pcap_live_wanted, input_pcap_live_open}, /* -i IFACE */
};

int dw_input_open(const dw_options *o, dw_input **out, char *err, size_t errlen)
{
    for (size_t i = 0; i < sizeof inputs / sizeof inputs[0]; i++)
        if (inputs[i].wanted(o))
            return inputs[i].open(o, out, err, errlen);
    snprintf(err, errlen, "no input given");
    return -EINVAL;
}
