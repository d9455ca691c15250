#include "sensor/attack.h"

#include <string.h>
#include <strings.h>

typedef struct attack_tactic {
    const char *id, *name, *tag; /* tag: the Sigma-style tag after "attack." */
} attack_tactic;

/* The enterprise tactics (ATT&CK v14). */
static const attack_tactic TACTICS[] = {
    {"TA0043", "Reconnaissance", "reconnaissance"},
    {"TA0042", "Resource Development", "resource_development"},
    {"TA0001", "Initial Access", "initial_access"},
    {"TA0002", "Execution", "execution"},
    {"TA0003", "Persistence", "persistence"},
    {"TA0004", "Privilege Escalation", "privilege_escalation"},
    {"TA0005", "Defense Evasion", "defense_evasion"},
    {"TA0006", "Credential Access", "credential_access"},
    {"TA0007", "Discovery", "discovery"},
    {"TA0008", "Lateral Movement", "lateral_movement"},
    {"TA0009", "Collection", "collection"},
    {"TA0011", "Command and Control", "command_and_control"},
    {"TA0010", "Exfiltration", "exfiltration"},
    {"TA0040", "Impact", "impact"},
};
#define N_TACTICS (sizeof TACTICS / sizeof TACTICS[0])

/* A technique or sub-technique ("T1584" or "T1584.002"): its name, and for a technique
 * its tactics (a sub-technique has its technique's). */
typedef struct attack_entry {
    const char *id, *name;
    const char *tactics[2];
} attack_entry;

/* The techniques the shipped pack (deploy/rules) and docs tag alerts with, and the other
 * DNS ones a rule writer reaches for. Sorted by id. */
static const attack_entry TECHNIQUES[] = {
    {"T1071", "Application Layer Protocol", {"TA0011"}},
    {"T1071.004", "DNS", {NULL}},
    {"T1189", "Drive-by Compromise", {"TA0001"}},
    {"T1195", "Supply Chain Compromise", {"TA0001"}},
    {"T1195.001", "Compromise Software Dependencies and Development Tools", {NULL}},
    {"T1195.002", "Compromise Software Supply Chain", {NULL}},
    {"T1498", "Network Denial of Service", {"TA0040"}},
    {"T1498.002", "Reflection Amplification", {NULL}},
    {"T1557", "Adversary-in-the-Middle", {"TA0006", "TA0009"}},
    {"T1557.002", "ARP Cache Poisoning", {NULL}},
    {"T1565", "Data Manipulation", {"TA0040"}},
    {"T1565.002", "Transmitted Data Manipulation", {NULL}},
    {"T1568", "Dynamic Resolution", {"TA0011"}},
    {"T1568.001", "Fast Flux DNS", {NULL}},
    {"T1568.002", "Domain Generation Algorithms", {NULL}},
    {"T1583", "Acquire Infrastructure", {"TA0042"}},
    {"T1583.001", "Domains", {NULL}},
    {"T1583.002", "DNS Server", {NULL}},
    {"T1584", "Compromise Infrastructure", {"TA0042"}},
    {"T1584.001", "Domains", {NULL}},
    {"T1584.002", "DNS Server", {NULL}},
    {"T1590", "Gather Victim Network Information", {"TA0043"}},
    {"T1590.002", "DNS", {NULL}},
};
#define N_TECHNIQUES (sizeof TECHNIQUES / sizeof TECHNIQUES[0])

static const attack_entry *find_entry(const char *id)
{
    size_t lo = 0, hi = N_TECHNIQUES;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(id, TECHNIQUES[mid].id);
        if (c == 0)
            return &TECHNIQUES[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

static const attack_tactic *find_tactic(const char *id)
{
    for (size_t i = 0; i < N_TACTICS; i++)
        if (strcmp(TACTICS[i].id, id) == 0)
            return &TACTICS[i];
    return NULL;
}

static bool is_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

bool attack_parse_technique(const char *tag, char tech[6], char sub[10])
{
    if (strncasecmp(tag, "attack.t", 8) != 0)
        return false;
    const char *d = tag + 8;
    size_t n = strlen(d);
    if (!(n == 4 && is_digits(d, 4)) && !(n == 8 && is_digits(d, 4) && d[4] == '.' &&
                                         is_digits(d + 5, 3)))
        return false;
    tech[0] = 'T';
    memcpy(tech + 1, d, 4);
    tech[5] = '\0';
    sub[0] = '\0';
    if (n == 8) {
        memcpy(sub, tech, 5);
        memcpy(sub + 5, d + 4, 4);
        sub[9] = '\0';
    }
    return true;
}

/* The tactic a tactic tag names: "attack.initial_access" or "attack.ta0001". */
static const attack_tactic *parse_tactic(const char *tag)
{
    if (strncasecmp(tag, "attack.", 7) != 0)
        return NULL;
    const char *t = tag + 7;
    if (strlen(t) == 6 && (t[0] == 't' || t[0] == 'T') && (t[1] == 'a' || t[1] == 'A') &&
        is_digits(t + 2, 4)) {
        char id[7] = {'T', 'A', t[2], t[3], t[4], t[5], '\0'};
        return find_tactic(id);
    }
    for (size_t i = 0; i < N_TACTICS; i++)
        if (strcasecmp(TACTICS[i].tag, t) == 0)
            return &TACTICS[i];
    return NULL;
}

/* A list of distinct ids of at most ATTACK_TAGS_MAX (each tag adds at most one technique,
 * one sub-technique and two tactics). */
typedef struct idlist {
    char id[ATTACK_TAGS_MAX * 2][10];
    size_t n;
} idlist;

static void add_id(idlist *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++)
        if (strcmp(l->id[i], id) == 0)
            return;
    if (l->n < sizeof l->id / sizeof l->id[0]) {
        strcpy(l->id[l->n], id);
        l->n++;
    }
}

/* "https://attack.mitre.org/techniques/T1584/002/" for T1584.002, .../tactics/TA0042/. */
static void write_reference(json_buf *j, const char *id)
{
    char url[64];
    size_t n;
    if (id[1] == 'A') {
        n = (size_t)(stpcpy(stpcpy(url, "https://attack.mitre.org/tactics/"), id) - url);
    } else {
        char *p = stpcpy(url, "https://attack.mitre.org/techniques/");
        memcpy(p, id, 5);
        p += 5;
        if (id[5] == '.') {
            *p++ = '/';
            memcpy(p, id + 6, 3);
            p += 3;
        }
        n = (size_t)(p - url);
    }
    url[n++] = '/';
    json_strn(j, url, n);
}

/* The "id", "name" (known ids only) and "reference" arrays of l. */
static void write_ids(json_buf *j, const idlist *l, bool tactics)
{
    json_key(j, "id");
    json_arr_begin(j);
    for (size_t i = 0; i < l->n; i++)
        json_str(j, l->id[i]);
    json_arr_end(j);
    const char *names[sizeof l->id / sizeof l->id[0]];
    size_t n_names = 0;
    for (size_t i = 0; i < l->n; i++) {
        const char *name = NULL;
        if (tactics) {
            const attack_tactic *t = find_tactic(l->id[i]);
            name = t ? t->name : NULL;
        } else {
            const attack_entry *e = find_entry(l->id[i]);
            name = e ? e->name : NULL;
        }
        if (name)
            names[n_names++] = name;
    }
    if (n_names) { /* names of the ids the table knows, in the same order */
        json_key(j, "name");
        json_arr_begin(j);
        for (size_t i = 0; i < n_names; i++)
            json_str(j, names[i]);
        json_arr_end(j);
    }
    json_key(j, "reference");
    json_arr_begin(j);
    for (size_t i = 0; i < l->n; i++)
        write_reference(j, l->id[i]);
    json_arr_end(j);
}

bool attack_write_threat(json_buf *j, const char *const *tags, size_t n)
{
    idlist tech, sub, tactic;
    tech.n = sub.n = tactic.n = 0;
    if (n > ATTACK_TAGS_MAX)
        n = ATTACK_TAGS_MAX;
    for (size_t i = 0; i < n; i++) {
        char t[6], s[10];
        if (attack_parse_technique(tags[i], t, s)) {
            add_id(&tech, t);
            if (s[0])
                add_id(&sub, s);
            const attack_entry *e = find_entry(t);
            for (size_t k = 0; e && k < 2 && e->tactics[k]; k++)
                add_id(&tactic, e->tactics[k]);
            continue;
        }
        const attack_tactic *ta = parse_tactic(tags[i]);
        if (ta)
            add_id(&tactic, ta->id);
    }
    if (tech.n == 0 && tactic.n == 0)
        return false;
    json_key(j, "threat");
    json_obj_begin(j);
    json_kv_str(j, "framework", "MITRE ATT&CK");
    if (tech.n) {
        json_key(j, "technique");
        json_obj_begin(j);
        write_ids(j, &tech, false);
        if (sub.n) {
            json_key(j, "subtechnique");
            json_obj_begin(j);
            write_ids(j, &sub, false);
            json_obj_end(j);
        }
        json_obj_end(j);
    }
    if (tactic.n) {
        json_key(j, "tactic");
        json_obj_begin(j);
        write_ids(j, &tactic, true);
        json_obj_end(j);
    }
    json_obj_end(j);
    return true;
}
