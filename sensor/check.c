/* The `check-rules` and `check-config` commands: load as `run` would, print every
 * diagnostic, a summary, and exit with the linter's status. */
#include "sensor/check.h"

#include <errno.h>
#include <stdio.h>

#include <string.h>

#include "rules/ruleset.h"
#include "sensor/config.h"
#include "sensor/json.h"
#include "sensor/options.h"

/* ---- check-rules ---------------------------------------------------------------------- */

struct check_ctx {
    FILE *out;
    unsigned errors, warnings;
    json_buf *json; /* --format json: the diagnostics array being written; else NULL */
};

/* One diagnostic as an object of the "diagnostics" array (docs/rule-format.md). The
 * linter writes "what is wrong; what to do": fix is the text after the first "; ". */
static void check_json(struct check_ctx *c, const ruleset_diag *d)
{
    json_buf *j = c->json;
    json_obj_begin(j);
    json_kv_str(j, "file", d->file ? d->file : "");
    json_key(j, "line");
    if (d->line)
        json_u64(j, d->line);
    else
        json_null(j);
    json_key(j, "column");
    if (d->line)
        json_u64(j, d->col);
    else
        json_null(j);
    json_kv_str(j, "severity", d->is_error ? "error" : "warning");
    json_key(j, "rule_id");
    if (d->rule_id)
        json_str(j, d->rule_id);
    else
        json_null(j);
    json_kv_str(j, "message", d->msg);
    const char *fix = strstr(d->msg, "; ");
    json_key(j, "fix");
    if (fix && fix[2])
        json_str(j, fix + 2);
    else
        json_null(j);
    json_obj_end(j);
}

static void check_print(void *ctx, const ruleset_diag *d)
{
    struct check_ctx *c = ctx;
    char line[1024];
    if (c->json) {
        check_json(c, d);
        if (d->is_error)
            c->errors++;
        else
            c->warnings++;
        return;
    }
    ruleset_diag_format(d, line, sizeof line);
    fprintf(c->out, "%s\n", line);
    if (d->is_error)
        c->errors++;
    else
        c->warnings++;
}

int check_rules(const char *const *paths, size_t n, time_t now, FILE *out, FILE *summary)
{
    return check_rules_fmt(paths, n, now, CHECK_TEXT, out, summary);
}

int check_rules_fmt(const char *const *paths, size_t n, time_t now, enum check_format fmt,
                    FILE *out, FILE *summary)
{
    json_buf j;
    json_init(&j);
    struct check_ctx c = {out, 0, 0, fmt == CHECK_JSON ? &j : NULL};
    ruleset *rs = NULL;
    if (c.json) {
        json_obj_begin(&j);
        json_kv_u64(&j, "schema", 1);
        json_key(&j, "diagnostics");
        json_arr_begin(&j);
    }
    int rc = ruleset_load(paths, n, now, check_print, &c, &rs);
    if (c.json) {
        json_arr_end(&j);
        json_kv_u64(&j, "errors", c.errors);
        json_kv_u64(&j, "warnings", c.warnings);
        json_key(&j, "valid");
        json_bool(&j, rc == 0);
        json_key(&j, "rules");
        if (rc == 0)
            json_u64(&j, ruleset_count(rs));
        else
            json_null(&j);
        json_key(&j, "ruleset");
        if (rc == 0)
            json_str(&j, ruleset_hash(rs));
        else
            json_null(&j);
        json_obj_end(&j);
        json_newline(&j);
        if (j.oom) {
            rc = -ENOMEM;
        } else {
            fwrite(j.p, 1, j.len, out);
            fflush(out);
        }
        json_free(&j);
    }
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
    struct check_ctx c = {stdout, 0, 0, NULL};
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
