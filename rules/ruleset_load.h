/* The rule loader's insides, shared by the files of rules/ that build a ruleset (not a
 * public header): ruleset.c (containers, the loader's life, diagnostics, the passes),
 * ruleset_files.c (file I/O, the parallel parse, the hash), ruleset_sets.c (sets and typed
 * lists compiled into the ruleset) and ruleset_rule.c (one rule, key by key).
 *
 * Everything here runs on the loading thread, except where a comment says otherwise
 * (parse_file and the sets compiled ahead run on two threads, each touching only its own
 * job). */
#ifndef DW_RULESET_LOAD_H
#define DW_RULESET_LOAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <ldns/sha2.h>
#include <yaml.h>

#include "rules/ruleset.h"
#include "rules/yamlschema.h"

#define RS_MAX_FILE_BYTES (16u << 20)
#define RS_MAX_DIAGS 1000
/* Aliases let a document reference one node many times, and set references expand; the
 * work done for one document is bounded so a small file cannot make loading explode. */
#define RS_DOC_BUDGET 200000u
#define RS_MAX_ID YS_MAX_ID

/* ---- small containers ---------------------------------------------------------------- */

struct vec {
    void *v;
    size_t n, cap, esz;
};
#define VEC(type) ((struct vec){NULL, 0, 0, sizeof(type)})
#define VAT(vec, type, i) (&((type *)(vec).v)[i])


struct chunk {
    struct chunk *next;
    size_t used, cap;
    max_align_t data[];
};

struct ruleset {
    dw_rule *rules;
    size_t n;
    nameset *names;
    nameset *watch;          /* ruleset_watch() */
    struct chunk *arena;     /* strings and arrays reachable from rules */
    struct vec namesets;     /* nameset *: every set the rules point to */
    struct vec prefixsets;   /* prefixset * */
    char hash[RULESET_HASH_TEXT_MAX];
    dw_allow *allow;         /* the live allow entries, in file order */
    size_t n_allow;
};


struct pfx {
    int family;
    uint8_t addr[16];
    unsigned plen;
};

struct lfile {
    char *path;
    unsigned char *data;
    size_t len;
    bool nodata;     /* unreadable, or a directory named only for its messages */
    const char *kept; /* the path copied into the ruleset, once a rule needs it */
    struct vec docs; /* yaml_document_t */
    /* What parse_file found, reported in file order once every file is parsed (files may
     * be parsed on two threads). The texts are libyaml's static strings. */
    bool parse_oom;
    ys_syntax syntax;
};

struct set_def {
    const char *name; /* into a document, which lives as long as the loader */
    bool is_asn;
    struct vec asn;   /* uint32_t */
    struct vec pfx;   /* struct pfx */
    /* pfx compiled, once a list that is exactly this set needed it: 1000 rules each
     * expecting "set:x" share it without copying or hashing the set 1000 times. */
    const prefixset *compiled;
    dw_strlist compiled_text;
    struct pre_set *pre; /* pfx came from here, and maybe a compiled trie with it */
    size_t file;
    unsigned line, col;
};

struct name_ref {
    const char *pat;
    size_t rule, file, seq;
    unsigned line, col;
};

struct id_ref {
    const char *id;
    size_t file;
    unsigned line, col;
};

struct loader {
    time_t now;
    ruleset *rs;
    struct vec files; /* struct lfile */
    struct vec sets;  /* struct set_def */
    struct vec rules; /* dw_rule */
    struct vec ids;   /* struct id_ref, every rule seen (for duplicate ids) */
    size_t *id_tab, id_cap, id_used; /* the first of each id in ids, by hash */
    struct vec names; /* struct name_ref, every match name of every good rule */
    struct vec pcache; /* struct pcache_ent: compiled prefix lists, shared when identical */
    struct vec pre;    /* struct pre_set, in the order the sets pass meets them */
    struct vec allow;  /* dw_allow: live entries of the allow documents */
    size_t pre_next;
    int io_err;
    ys_ctx y; /* messages, out of memory, and the document being read */
};

/* The mappings of a rule file (ruleset.c holds their keys). */
enum { S_RULE, S_MATCH, S_CNAME, S_EXPECT, S_TTL, S_REBINDING, S_EXCEPTION, S_DNSSEC, S_SET,
       S_ALLOW };

/* ---- shared functions (defined in the file named) ------------------------------------ */

/* ruleset.c */
yaml_node_t *rs_node(struct loader *L, int i);
void *rs_vec_push(struct vec *v);
void rs_vec_free(struct vec *v);
void *rs_lpush(struct loader *L, struct vec *v);
void *rs_lalloc(struct loader *L, size_t size);
char *rs_lstrdup(struct loader *L, const char *s);
void rs_map_get(struct loader *L, const yaml_node_t *map, int section, yaml_node_t **vals);
bool rs_valid_ident(const char *s);
bool rs_parse_date(const char *s, time_t *end);
bool rs_parse_u32(const char *s, uint32_t max, uint32_t *out);
bool rs_is_public_suffix_wildcard(const char *pat);

/* ruleset_files.c */
struct lfile *rs_add_file(struct loader *L, const char *path);
void rs_collect_dir(struct loader *L, const char *dir);
void rs_read_file(struct loader *L, size_t fi);
void rs_parse_files(struct loader *L, uint8_t digest[LDNS_SHA256_DIGEST_LENGTH],
                        bool *hashed, bool *parallel);
void rs_parse_report(struct loader *L);
void rs_compute_hash(struct loader *L, const uint8_t *digest_or_null);

/* ruleset_sets.c */
void rs_parse_asn_list(struct loader *L, const yaml_node_t *list, const char *what,
                           bool allow_sets, struct vec *out);
void rs_parse_prefix_list(struct loader *L, const yaml_node_t *list, const char *what,
                              bool allow_sets, struct vec *out, struct set_def **whole);
void rs_parse_name_list(struct loader *L, const yaml_node_t *list, const char *what,
                            struct vec *texts, struct vec *nodes);
dw_strlist rs_strlist_from(struct loader *L, const struct vec *texts);
nameset *rs_own_nameset(struct loader *L, const struct vec *texts);
const prefixset *rs_own_prefixset(struct loader *L, const struct vec *pfx,
                                      struct set_def *whole, dw_strlist *text);
const struct vec *rs_plist_items(const struct vec *pfx, const struct set_def *whole);
void rs_parse_sets_doc(struct loader *L, const yaml_node_t *root);
void rs_precompile_sets(struct loader *L);
void rs_sets_init(struct loader *L); /* the sets' containers in L, empty */
void rs_sets_done(struct loader *L); /* frees what the sets compiled ahead left */

/* ruleset_rule.c */
#define RS_RULE_NKEYS 16
extern const char *const rs_rule_keys[RS_RULE_NKEYS]; /* the keys of a rule document */
void rs_parse_rule(struct loader *L, const yaml_node_t *root);
/* The first rule seen with this id (NULL: none), and every id seen, for suggestions. */
const struct id_ref *rs_id_first(struct loader *L, const char *id);

/* ruleset_allow.c */
/* An allow document (top-level key "allow"); runs after every rule is parsed, so that
 * its `rules` lists can be checked against the ids. */
void rs_parse_allow_doc(struct loader *L, const yaml_node_t *root);

#endif
