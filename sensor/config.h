/* The config file (YAML, one document): everything the `run` flags hold, plus the live
 * capture, limit and metrics settings that have no flag. docs/config.md lists every key.
 *
 * Ownership: config_load() copies every string it stores into memory chained on
 * o->config_mem, which lives until options_free(o). Loading a second file into the same
 * options adds to the chain; nothing earlier is freed, so pointers stay valid. */
#ifndef DW_CONFIG_H
#define DW_CONFIG_H

#include "rules/ruleset.h"
#include "sensor/options.h"

#define DW_CONFIG_DEFAULT "/etc/dnswatch/dnswatch.yaml"

/* Same shape and text format as rule diagnostics (ruleset_diag_format():
 * "file:line:col: error|warning: text"); rule_id is always NULL. Valid only during the
 * callback. */
typedef ruleset_diag config_diag;
typedef void (*config_diag_fn)(void *ctx, const config_diag *d);

/* Reads the file at path into o, over what o already holds (defaults or an earlier
 * file); keys absent from the file leave o unchanged. Every problem goes to fn (may be
 * NULL), in file order: unknown keys with a suggestion, wrong types, values out of range,
 * files that must exist and do not (rules paths, asn_db unless "none",
 * redis.password_file), a capture filter that does not compile.
 * Returns 0 (warnings allowed); -EINVAL if any error; a negative errno code if the file
 * cannot be read; -ENOMEM. On failure o is untouched. */
int config_load(const char *path, dw_options *o, config_diag_fn fn, void *ctx)
    __attribute__((warn_unused_result));

/* Frees a config_mem chain (accepts NULL); options_free() calls it. */
void config_mem_free(struct config_mem *m);

#endif
