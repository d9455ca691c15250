#!/usr/bin/env python3
"""Checks dnswatch events against the Elastic Common Schema (ECS) they declare.

    ecs_check.py EVENTS.jsonl...          exit 0: every event passes; 1: a problem (each
                                          printed as FILE:LINE: text); 2: usage
    ecs_check.py --fields                 prints the field table (name type), for the docs

Python 3 standard library only. The ECS definitions below are a subset of the ECS
field reference of the version the sensor declares (ECS_VERSION, sensor/event.h
EVENT_ECS_VERSION): every ECS field dnswatch emits, by name and type, written down by
hand from the ECS documentation (not generated). What is checked, per event:

- every leaf field is an ECS field of the table, a documented extension of the dns field
  set and the dnstap fields (DNS_EXTENSIONS), or a custom field under `dnswatch.`;
  nothing else;
- its JSON value has the field's type: keyword a string, long an integer, ip an address
  the ipaddress module reads, date an RFC 3339 UTC time, boolean true/false, text a
  string (arrays of them are fine: any ECS field may hold an array); an object where the
  table has a scalar fails;
- ecs.version is ECS_VERSION; event.kind, event.category, event.type and event.outcome
  hold ECS's allowed values, and every event.type is one ECS expects with one of the
  event's categories; dns.header_flags holds only ECS's values (no QR); related.ip has
  no duplicates;
- the fields every dataset must carry (REQUIRED below).
"""
import ipaddress
import json
import re
import sys

ECS_VERSION = "8.11.0"

# name -> ECS type (the `type` of the field in the ECS reference).
ECS_FIELDS = {
    "@timestamp": "date",
    "message": "match_only_text",
    "tags": "keyword",
    "ecs.version": "keyword",
    "event.kind": "keyword",
    "event.category": "keyword",
    "event.type": "keyword",
    "event.dataset": "keyword",
    "event.id": "keyword",
    "event.action": "keyword",
    "event.outcome": "keyword",
    "event.reason": "keyword",
    "event.severity": "long",
    "event.start": "date",
    "event.end": "date",
    "rule.id": "keyword",
    "rule.name": "keyword",
    "rule.ruleset": "keyword",
    "rule.category": "keyword",
    "rule.description": "keyword",
    "rule.reference": "keyword",
    "rule.author": "keyword",
    "rule.version": "keyword",
    "threat.framework": "keyword",
    "threat.technique.id": "keyword",
    "threat.technique.name": "keyword",
    "threat.technique.reference": "keyword",
    "threat.technique.subtechnique.id": "keyword",
    "threat.technique.subtechnique.name": "keyword",
    "threat.technique.subtechnique.reference": "keyword",
    "threat.tactic.id": "keyword",
    "threat.tactic.name": "keyword",
    "threat.tactic.reference": "keyword",
    "observer.name": "keyword",
    "observer.hostname": "keyword",
    "observer.type": "keyword",
    "observer.vendor": "keyword",
    "observer.product": "keyword",
    "observer.version": "keyword",
    "observer.ingress.interface.name": "keyword",
    "network.transport": "keyword",
    "network.type": "keyword",
    "network.protocol": "keyword",
    "network.vlan.id": "keyword",
    "network.inner.vlan.id": "keyword",
    "client.ip": "ip",
    "client.port": "long",
    "server.ip": "ip",
    "server.port": "long",
    "source.ip": "ip",
    "source.port": "long",
    "destination.ip": "ip",
    "destination.port": "long",
    "related.ip": "ip",
    "dns.id": "keyword",
    "dns.type": "keyword",
    "dns.op_code": "keyword",
    "dns.response_code": "keyword",
    "dns.header_flags": "keyword",
    "dns.question.name": "keyword",
    "dns.question.type": "keyword",
    "dns.question.class": "keyword",
    "dns.answers.name": "keyword",
    "dns.answers.type": "keyword",
    "dns.answers.class": "keyword",
    "dns.answers.ttl": "long",
    "dns.answers.data": "keyword",
    "dns.resolved_ip": "ip",
}

# ECS keywords that dnswatch writes as JSON integers, as Packetbeat does: Elasticsearch
# indexes a number given to a keyword field as its decimal text, and the tests and
# rules written against these fields compare numbers.
NUMERIC_KEYWORDS = {"dns.id", "network.vlan.id", "network.inner.vlan.id"}

# Fields beside ECS's in the dns field set, documented in docs/events.md: the AS of an
# answer's address (the `as` field set's shape) and the length of cut record data; the
# authority and additional sections, each record in the shape of dns.answers (ECS
# has only the answers); and the dnstap message's own fields (a top-level `dnstap`
# object, as other dnstap readers name it).
DNS_EXTENSIONS = {
    "dns.answers.as.number": "long",
    "dns.answers.as.organization.name": "keyword",
    "dns.answers.data_length": "long",
}
for _section in ("authorities", "additionals"):
    DNS_EXTENSIONS.update({
        "dns.%s.%s" % (_section, k): t for k, t in (
            ("name", "keyword"), ("type", "keyword"), ("class", "keyword"), ("ttl", "long"),
            ("data", "keyword"), ("data_length", "long"), ("as.number", "long"),
            ("as.organization.name", "keyword"))})
DNS_EXTENSIONS.update({"dnstap." + k: "keyword" for k in (
    "type", "identity", "version", "socket_protocol", "http_protocol", "query_zone")})

CUSTOM_PREFIX = "dnswatch."

# network.protocol of a message read from dnstap: DNS, or the encrypted transport it
# states (lower case, as ECS wants the field).
DNSTAP_PROTOCOLS = {"dns", "dot", "doh", "doq", "dnscrypt"}

# Allowed values (ECS categorization fields).
EVENT_KINDS = {"alert", "asset", "enrichment", "event", "metric", "state", "pipeline_error",
               "signal"}
# category -> the event.type values ECS expects with it.
CATEGORY_TYPES = {
    "authentication": {"start", "end", "info"},
    "configuration": {"access", "change", "creation", "deletion", "info"},
    "database": {"access", "change", "info", "error"},
    "driver": {"change", "end", "info", "start"},
    "email": {"info"},
    "file": {"change", "creation", "deletion", "info", "access"},
    "host": {"access", "change", "end", "info", "start"},
    "iam": {"admin", "change", "creation", "deletion", "group", "info", "user"},
    "intrusion_detection": {"allowed", "denied", "info"},
    "library": {"start"},
    "malware": {"info"},
    "network": {"access", "allowed", "connection", "denied", "end", "info", "protocol",
                "start"},
    "package": {"access", "change", "deletion", "info", "installation", "start"},
    "process": {"access", "change", "end", "info", "start"},
    "registry": {"access", "change", "creation", "deletion"},
    "session": {"start", "end", "info"},
    "threat": {"indicator"},
    "vulnerability": {"info"},
    "web": {"access", "error", "info"},
}
EVENT_OUTCOMES = {"failure", "success", "unknown"}
HEADER_FLAGS = {"AA", "TC", "RD", "RA", "AD", "CD", "DO"}

# Fields every event carries, and those of each dataset.
REQUIRED_ALL = ["@timestamp", "ecs.version", "event.kind", "event.dataset", "event.id",
                "event.category", "event.type", "observer.name", "observer.hostname",
                "observer.type", "observer.vendor", "observer.product", "observer.version",
                "message"]
REQUIRED = {
    "dnswatch.dns": ["network.protocol", "network.transport", "client.ip", "server.ip",
                     "source.ip", "destination.ip", "related.ip", "dns.type"],
    "dnswatch.alert": ["network.protocol", "rule.id", "rule.name", "rule.category",
                       "event.severity", "event.reason", "dns.type"],
    "dnswatch.health": ["event.action", "event.outcome", "event.reason"],
    "dnswatch.metrics": [],
}

TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z$")


def field_type(name):
    """The type a field must have, or None when it may not be there at all."""
    if name in ECS_FIELDS:
        return ECS_FIELDS[name]
    if name in DNS_EXTENSIONS:
        return DNS_EXTENSIONS[name]
    return None


def value_ok(name, ftype, v):
    if ftype == "keyword":
        return isinstance(v, str) or (name in NUMERIC_KEYWORDS and type(v) is int)
    if ftype == "long":
        return type(v) is int
    if ftype in ("text", "match_only_text"):
        return isinstance(v, str)
    if ftype == "boolean":
        return type(v) is bool
    if ftype == "date":
        return isinstance(v, str) and TIME_RE.match(v) is not None
    if ftype == "ip":
        if not isinstance(v, str):
            return False
        try:
            ipaddress.ip_address(v)
        except ValueError:
            return False
        return True
    raise ValueError("unknown type %s of %s" % (ftype, name))


def leaves(v, path, out):
    """(dotted name, value) of every scalar under v; arrays are transparent."""
    if isinstance(v, dict):
        if not v and path:
            out.append((".".join(path), v))
        for k, x in v.items():
            leaves(x, path + [k], out)
    elif isinstance(v, list):
        for x in v:
            leaves(x, path, out)
    else:
        out.append((".".join(path), v))


def get(e, name):
    v = e
    for k in name.split("."):
        if not isinstance(v, dict) or k not in v:
            return None
        v = v[k]
    return v


def as_list(v):
    return v if isinstance(v, list) else [v]


def check_event(e):
    """The problems of one event, as text."""
    errs = []
    if not isinstance(e, dict):
        return ["not a JSON object"]
    fields = []
    leaves(e, [], fields)
    for name, v in fields:
        if isinstance(v, dict):  # an empty object: a field the table has as a scalar
            if field_type(name) is not None:
                errs.append("%s: an object, ECS has a %s" % (name, field_type(name)))
            continue
        if name.startswith(CUSTOM_PREFIX):
            continue
        ftype = field_type(name)
        if ftype is None:
            # A member below a field that should be a scalar, or a name ECS does not have.
            parent = [p for p in ECS_FIELDS if name.startswith(p + ".")]
            if parent:
                errs.append("%s: %s is a %s in ECS, not an object" % (name, parent[0],
                                                                     ECS_FIELDS[parent[0]]))
            else:
                errs.append("%s: not an ECS field (custom fields go under %s)" %
                            (name, CUSTOM_PREFIX))
            continue
        if v is None or not value_ok(name, ftype, v):
            errs.append("%s: %s is not of type %s" % (name, json.dumps(v), ftype))
    for name in REQUIRED_ALL + REQUIRED.get(get(e, "event.dataset"), []):
        v = get(e, name)
        if v is None or v == [] or v == "":
            errs.append("%s: missing" % name)
    ds = get(e, "event.dataset")
    if ds not in REQUIRED:
        errs.append("event.dataset: %s is not a dnswatch dataset" % json.dumps(ds))
    if get(e, "ecs.version") not in (None, ECS_VERSION):
        errs.append("ecs.version: %s, the sensor declares %s" % (get(e, "ecs.version"),
                                                                 ECS_VERSION))
    kind = get(e, "event.kind")
    if kind is not None and kind not in EVENT_KINDS:
        errs.append("event.kind: %s is not an ECS value" % json.dumps(kind))
    cats = as_list(get(e, "event.category") or [])
    types = as_list(get(e, "event.type") or [])
    for c in cats:
        if c not in CATEGORY_TYPES:
            errs.append("event.category: %s is not an ECS value" % json.dumps(c))
    for t in types:
        if not any(t in CATEGORY_TYPES.get(c, ()) for c in cats):
            errs.append("event.type: %s goes with none of the categories %s" %
                        (json.dumps(t), json.dumps(cats)))
    outcome = get(e, "event.outcome")
    if outcome is not None and outcome not in EVENT_OUTCOMES:
        errs.append("event.outcome: %s is not an ECS value" % json.dumps(outcome))
    for f in as_list(get(e, "dns.header_flags") or []):
        if f not in HEADER_FLAGS:
            errs.append("dns.header_flags: %s is not an ECS value" % json.dumps(f))
    rel = as_list(get(e, "related.ip") or [])
    if len(set(rel)) != len(rel):
        errs.append("related.ip: duplicates in %s" % json.dumps(rel))
    proto = get(e, "network.protocol")
    if ds in ("dnswatch.dns", "dnswatch.alert") and proto not in (None, "dns") and \
            not (proto in DNSTAP_PROTOCOLS and get(e, "dnstap.type") is not None):
        errs.append("network.protocol: %s, not dns" % json.dumps(proto))
    return errs


def main(argv):
    if len(argv) == 2 and argv[1] == "--fields":
        for name in sorted(ECS_FIELDS):
            print(name, ECS_FIELDS[name])
        return 0
    if len(argv) < 2:
        print(__doc__.strip().splitlines()[2], file=sys.stderr)
        return 2
    bad = events = 0
    datasets = set()
    for path in argv[1:]:
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                events += 1
                try:
                    e = json.loads(line)
                except ValueError as err:
                    print("%s:%d: not JSON: %s" % (path, n, err))
                    bad += 1
                    continue
                if isinstance(e, dict):
                    datasets.add(str(get(e, "event.dataset")))
                for err in check_event(e):
                    print("%s:%d: %s" % (path, n, err))
                    bad += 1
    print("%d events (%s), %d problems against ECS %s" %
          (events, ", ".join(sorted(datasets)), bad, ECS_VERSION))
    return 1 if bad or events == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
