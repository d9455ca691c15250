/* MITRE ATT&CK tags of a rule (`attack.t1584.002`, `attack.initial_access`) to the ECS
 * threat.* fields of its alerts. A static table names the techniques and tactics the
 * shipped rule pack and the docs use (and a few more DNS ones); an unknown technique id
 * keeps its id and reference, its name is left out rather than guessed. */
#ifndef DW_ATTACK_H
#define DW_ATTACK_H

#include <stdbool.h>
#include <stddef.h>

#include "sensor/json.h"

/* The ATT&CK version the table's names and tactics were taken from. */
#define ATTACK_TABLE_VERSION "v14"

/* At most this many tags of a rule are read for ATT&CK ids (a rule has a handful). */
#define ATTACK_TAGS_MAX 64

/* Writes the member "threat":{framework, technique{id,name,reference,subtechnique{...}},
 * tactic{id,name,reference}} for the ATT&CK tags among tags (each id once, in tag order),
 * or nothing when none is one. Returns whether it wrote it. */
bool attack_write_threat(json_buf *j, const char *const *tags, size_t n);

/* Whether tag is an ATT&CK technique tag ("attack.t" 4 digits, optionally "." 3 digits,
 * any case); if so, its technique id ("T1584") into tech[6] and its sub-technique id
 * ("T1584.002", or "" when none) into sub[10]. */
bool attack_parse_technique(const char *tag, char tech[6], char sub[10]);

#endif
