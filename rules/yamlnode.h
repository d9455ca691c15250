/* Small readers of libyaml document nodes shared by the rule loader and the config
 * loader: the text of a scalar, YAML's null, and a node's kind in words for messages. */
#ifndef DW_YAMLNODE_H
#define DW_YAMLNODE_H

#include <stdbool.h>
#include <string.h>
#include <yaml.h>

static inline const char *sval(const yaml_node_t *n)
{
    return (const char *)n->data.scalar.value;
}

/* A plain scalar spelled as YAML's null (empty, ~, null): "key:" with nothing after it. */
static inline bool is_null(const yaml_node_t *n)
{
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    const char *v = sval(n);
    return !*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") ||
           !strcmp(v, "NULL");
}

/* "text", "a list", "a mapping" or "nothing", for "must be a list, found text". */
static inline const char *type_name(const yaml_node_t *n)
{
    if (is_null(n))
        return "nothing";
    switch (n->type) {
    case YAML_SCALAR_NODE: return "text";
    case YAML_SEQUENCE_NODE: return "a list";
    case YAML_MAPPING_NODE: return "a mapping";
    default: return "nothing";
    }
}

#endif
