#!/usr/bin/env python3
"""Checks the Elasticsearch index template against the events the sensor writes.

    es_template_check.py TEMPLATE.json EVENTS.jsonl...
        exit 0: the template maps every field; 1: a problem (each printed); 2: usage

Python 3 standard library only. Data-driven: the fields are those found in the events
given (every leaf, arrays looked through), so a new field fails here until the template
maps it. Checked:

- the template is a composable index template for a data stream: index_patterns,
  data_stream, template.mappings.properties, @timestamp a date;
- every mapping type is one of TYPES; keyword fields have ignore_above;
- every field of the events is mapped, explicitly or by a dynamic template with a
  path_match (a dynamic template matching on the JSON type alone does not count: it is
  the safety net for a field nobody mapped, which is what this test finds), and every
  value fits its mapped type (ip: an address; long: an integer; date: an RFC 3339 time;
  boolean; keyword and text: a string, or an integer for ecs_check.NUMERIC_KEYWORDS);
- every field of ecs_check.py's table (ECS and the dns extensions) is mapped with its
  ECS type, emitted by these events or not.
"""
import fnmatch
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import ecs_check  # noqa: E402  (the ECS table and the value checks)

TYPES = {"ip", "keyword", "long", "date", "boolean", "match_only_text", "object"}


def flatten(props, prefix, out, errs):
    for name, m in props.items():
        path = prefix + name
        if not isinstance(m, dict):
            errs.append("%s: mapping is not an object" % path)
            continue
        if "properties" in m:
            if m.get("type", "object") != "object":
                errs.append("%s: has properties but type %s" % (path, m.get("type")))
            flatten(m["properties"], path + ".", out, errs)
            continue
        t = m.get("type")
        if t not in TYPES:
            errs.append("%s: type %s is not one of %s" % (path, t, sorted(TYPES)))
            continue
        if t == "keyword" and "ignore_above" not in m:
            errs.append("%s: keyword without ignore_above" % path)
        out[path] = t


def main(argv):
    if len(argv) < 3:
        print("usage: es_template_check.py TEMPLATE.json EVENTS.jsonl...", file=sys.stderr)
        return 2
    errs = []
    with open(argv[1], encoding="utf-8") as f:
        tmpl = json.load(f)
    if not tmpl.get("index_patterns"):
        errs.append("template: no index_patterns")
    if not isinstance(tmpl.get("data_stream"), dict):
        errs.append("template: not a data stream template (no data_stream object)")
    mappings = tmpl.get("template", {}).get("mappings", {})
    mapped = {}
    flatten(mappings.get("properties", {}), "", mapped, errs)
    if mapped.get("@timestamp") != "date":
        errs.append("@timestamp: a data stream needs it mapped as date")
    patterns = []
    for dt in mappings.get("dynamic_templates", []):
        for name, spec in dt.items():
            t = spec.get("mapping", {}).get("type")
            if "path_match" in spec:
                if t not in TYPES:
                    errs.append("dynamic template %s: type %s" % (name, t))
                patterns.append((spec["path_match"], t))

    def type_of(path):
        if path in mapped:
            return mapped[path]
        if any(k.startswith(path + ".") for k in mapped):
            return "object"  # an empty object where the template maps one
        for pat, t in patterns:
            if fnmatch.fnmatchcase(path, pat):
                return t
        return None

    for name, t in sorted(list(ecs_check.ECS_FIELDS.items()) +
                          list(ecs_check.DNS_EXTENSIONS.items())):
        if mapped.get(name) != t:
            errs.append("%s: ECS type %s, the template maps %s" % (name, t, mapped.get(name)))

    seen = {}
    bad_values = {}
    events = 0
    for path in argv[2:]:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                events += 1
                fields = []
                ecs_check.leaves(json.loads(line), [], fields)
                for name, v in fields:
                    where = "%s:%d" % (os.path.basename(path), n)
                    seen.setdefault(name, where)
                    t = type_of(name)
                    if t is None or name in bad_values:
                        continue
                    if isinstance(v, dict) or t == "object":
                        ok = isinstance(v, dict) and t == "object"
                    else:
                        ok = v is not None and ecs_check.value_ok(name, t, v)
                    if not ok:
                        bad_values[name] = "%s: %s (%s) does not fit the mapped type %s" % (
                            name, json.dumps(v), where, t)
    for name in sorted(seen):
        if type_of(name) is None:
            errs.append("%s (first in %s): not mapped by the template" % (name, seen[name]))
    errs.extend(bad_values[k] for k in sorted(bad_values))
    for e in errs:
        print("FAIL: " + e)
    print("%d fields in %d events, %d mapped fields in the template, %d problems" %
          (len(seen), events, len(mapped), len(errs)))
    return 1 if errs or events == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
