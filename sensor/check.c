/* The `check-rules` and `check-config` commands: load as `run` would, print every
 * diagnostic, a summary, and exit with the linter's status. */
#include "sensor/check.h"

#include <errno.h>
#include <stdio.h>

#include "rules/ruleset.h"
#include "sensor/config.h"
#include "sensor/options.h"

/* ---- check-rules ---------------------------------------------------------------------- */

struct check_ctx {
    FILE *out;
    unsigned errors, warnings;
};

static void check_print(void *ctx, const ruleset_diag *d)
{
    struct check_ctx *c = ctx;
    char line[1024];
    ruleset_diag_format(d, line, sizeof line);
    fprintf(c->out, "%s\n", line);
    if (d->is_error)
        c->errors++;
    else
        c->warnings++;
}

int check_rules(const char *const *paths, size_t n, time_t now, FILE *out, FILE *summary)
{
    struct check_ctx c = {out, 0, 0};
    ruleset *rs = NULL;
    int rc = ruleset_load(paths, n, now, check_print, &c, &rs);
    if (summary) {
        if (rc == 0)
            fprintf(summary, "%zu rules, %u errors, %u warnings, ruleset %s\n", ruleset_count(rs),
                    c.errors, c.warnings, ruleset_hash(rs));
        else if (rc == -ENOMEM)
            fprintf(summary, "out of memory while loading the rules\n");
        else
            fprintf(summary, "rules not loaded: %u errors, %u warnings\n", c.errors, c.warnings);
    }
    ruleset_free(rs);
    return rc == 0 ? 0 : 1;
}

/* ---- check-config -------------------------------------------------------------------- */

int check_config_main(int argc, char **argv)
{
    if (argc > 2 || (argc == 2 && argv[1][0] == '-' && argv[1][1])) {
        fprintf(stderr, "dnswatch check-config: takes one config file (default %s)\n",
                DW_CONFIG_DEFAULT);
        return 2;
    }
    const char *path = argc == 2 ? argv[1] : DW_CONFIG_DEFAULT;
    struct check_ctx c = {stdout, 0, 0};
    dw_options o;
    options_default(&o);
    int rc = config_load(path, &o, check_print, &c);
    if (rc == 0) {
        config_diag d = {.file = path};
        if (!o.iface && !o.dnstap[0]) {
            snprintf(d.msg, sizeof d.msg, "no \"interface\": `dnswatch run -c %s` will need -i "
                                          "IFACE", path);
            check_print(&c, &d);
        }
        if (!o.n_rule_paths) {
            snprintf(d.msg, sizeof d.msg, "no \"rules\": the sensor will raise no alert");
            check_print(&c, &d);
        }
    }
    fflush(stdout);
    if (rc == -ENOMEM)
        fprintf(stderr, "%s: out of memory\n", path);
    else if (rc)
        fprintf(stderr, "%s: not valid: %u errors, %u warnings\n", path, c.errors, c.warnings);
    else
        fprintf(stderr, "%s: valid, %u warnings\n", path, c.warnings);
    options_free(&o);
    return rc ? 1 : 0;
}
