#!/usr/bin/env python3
"""Checks dnswatch's JSON-lines output against an .expect file (python3 stdlib only).

usage: check_expect.py [--name NAME] EXPECT OUTPUT      (OUTPUT '-' = stdin)
exit:  0 all assertions hold; 1 a mismatch or invalid output; 2 bad usage or .expect file

Every output line must be one JSON object (strict UTF-8, no NaN/Infinity, no duplicate
keys). Chosen fields are compared, never whole lines, so new fields break no old test.

.expect syntax (one directive per line; '#' starts a comment line, or a trailing comment
after whitespace):

  count: N              exactly N selected events in the output
  order: any            expected events may appear in any order (each matches a distinct
                        output event); default: "event N" is the N-th selected event
  select: PATH=VALUE    which output lines are events under test (default:
                        event.kind=event, i.e. logged responses); "select: all" = every line
  event N: ASSERTION... assertions on event N (0-based); several lines for one N add up

Assertions, separated by whitespace:
  PATH=VALUE   the field equals VALUE, compared as JSON values (300 != "300", true != 1)
  PATH~REGEX   the field is a string and re.search(REGEX) finds a match
  PATH#=N      the field is a list, object or string of length N
  !PATH        the field is absent (missing, null, [] or {}: ECS treats those alike)
  ?PATH        the field is present (not absent in the sense above)

PATH is dotted: dns.answers.0.data; a numeric part indexes a list (-1 = last); if a nested
key is missing, flat dotted keys ("dns.question.name": ...) are tried too.
VALUE (and REGEX) is one of:
  "..." [...] {...}     JSON text (may contain spaces)
  '...'                 a raw string, no escapes, up to the next single quote
  bare                  up to the next whitespace: a JSON number, true, false or null if it
                        parses as one, else the string itself (pypi.org, 151.101.0.223);
                        it may not start with = ~ or # (catches "==" typos; quote those)
"""

import json
import re
import sys

ABSENT = object()


class ExpectError(Exception):
    pass


class Assertion:
    def __init__(self, op, path, value, text):
        self.op, self.path, self.value, self.text = op, path, value, text


class Expect:
    def __init__(self):
        self.count = None
        self.order_any = False
        self.select = ("event.kind", "event")  # None = every line
        self.events = {}  # index -> [Assertion]


def parse_value(s, i, lineno):
    """Returns (value, next index) for the value starting at s[i]."""
    if i >= len(s) or s[i].isspace():
        raise ExpectError("line %d: missing value at column %d" % (lineno, i + 1))
    c = s[i]
    if c in '"[{':
        try:
            return json.JSONDecoder().raw_decode(s, i)
        except json.JSONDecodeError as e:
            raise ExpectError("line %d: bad JSON value at column %d: %s" % (lineno, i + 1, e.msg))
    if c == "'":
        j = s.find("'", i + 1)
        if j < 0:
            raise ExpectError("line %d: unterminated '...' at column %d" % (lineno, i + 1))
        return s[i + 1:j], j + 1
    j = i
    while j < len(s) and not s[j].isspace():
        j += 1
    tok = s[i:j]
    if tok[0] in "=~#":  # "a==b", "a=~b": a typo far more often than a value; quote it
        raise ExpectError("line %d: bare value may not start with '%s' (quote it) at column %d"
                          % (lineno, tok[0], i + 1))
    if re.fullmatch(r"-?\d+(\.\d+)?([eE][+-]?\d+)?|true|false|null", tok):
        return json.loads(tok), j
    return tok, j


PATH_RE = re.compile(r"[@A-Za-z0-9_.\-]+")


def parse_assertions(s, lineno):
    out = []
    i = 0
    while True:
        while i < len(s) and s[i].isspace():
            i += 1
        if i >= len(s) or s[i] == "#":
            return out
        start = i
        if s[i] in "!?":
            op = "absent" if s[i] == "!" else "present"
            m = PATH_RE.match(s, i + 1)
            if not m:
                raise ExpectError("line %d: expected a field path after '%s'" % (lineno, s[i]))
            i = m.end()
            if i < len(s) and not s[i].isspace():
                raise ExpectError("line %d: unexpected '%s' after %s%s"
                                  % (lineno, s[i], s[start], m.group(0)))
            out.append(Assertion(op, m.group(0), None, s[start:i]))
            continue
        m = PATH_RE.match(s, i)
        if not m:
            raise ExpectError("line %d: expected an assertion at column %d: %r"
                              % (lineno, i + 1, s[i:i + 20]))
        path = m.group(0)
        i = m.end()
        if s.startswith("#=", i):
            op, i = "len", i + 2
        elif s.startswith("=", i):
            op, i = "eq", i + 1
        elif s.startswith("~", i):
            op, i = "re", i + 1
        else:
            raise ExpectError("line %d: expected '=', '~' or '#=' after %s" % (lineno, path))
        value, i = parse_value(s, i, lineno)
        if op == "len" and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
            raise ExpectError("line %d: %s#= needs a non-negative integer" % (lineno, path))
        if op == "re":
            if not isinstance(value, str):
                raise ExpectError("line %d: %s~ needs a string pattern" % (lineno, path))
            try:
                value = re.compile(value)
            except re.error as e:
                raise ExpectError("line %d: bad regex for %s: %s" % (lineno, path, e))
        out.append(Assertion(op, path, value, s[start:i]))


def parse_expect(text):
    ex = Expect()
    for lineno, line in enumerate(text.splitlines(), 1):
        s = line.strip()
        if not s or s.startswith("#"):
            continue
        m = re.match(r"count:\s*(\d+)\s*(#.*)?$", s)
        if m:
            ex.count = int(m.group(1))
            continue
        m = re.match(r"order:\s*(\S+)\s*(#.*)?$", s)
        if m:
            if m.group(1) not in ("any", "file"):
                raise ExpectError("line %d: order must be 'any' or 'file'" % lineno)
            ex.order_any = m.group(1) == "any"
            continue
        m = re.match(r"select:\s*(.*)$", s)
        if m:
            rest = m.group(1).strip()
            if rest == "all":
                ex.select = None
                continue
            a = parse_assertions(rest, lineno)
            if len(a) != 1 or a[0].op != "eq":
                raise ExpectError("line %d: select takes one PATH=VALUE or 'all'" % lineno)
            ex.select = (a[0].path, a[0].value)
            continue
        m = re.match(r"event\s+(\d+)\s*:(.*)$", s)
        if m:
            ex.events.setdefault(int(m.group(1)), []).extend(
                parse_assertions(m.group(2), lineno))
            continue
        raise ExpectError("line %d: unknown directive: %s" % (lineno, s[:60]))
    return ex


def lookup(obj, path):
    """Value at a dotted path, or ABSENT."""
    parts = path.split(".")

    def walk(o, k):
        if k == len(parts):
            return o
        if isinstance(o, list):
            try:
                idx = int(parts[k])
            except ValueError:
                return ABSENT
            if -len(o) <= idx < len(o):
                return walk(o[idx], k + 1)
            return ABSENT
        if isinstance(o, dict):
            for j in range(k + 1, len(parts) + 1):  # nested first, then flat dotted keys
                key = ".".join(parts[k:j])
                if key in o:
                    r = walk(o[key], j)
                    if r is not ABSENT:
                        return r
            return ABSENT
        return ABSENT

    return walk(obj, 0)


def json_equal(a, b):
    if isinstance(a, bool) or isinstance(b, bool):
        return isinstance(a, bool) and isinstance(b, bool) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(json_equal(x, y) for x, y in zip(a, b))
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(json_equal(a[k], b[k]) for k in a)
    return type(a) is type(b) and a == b


def is_empty(v):
    return v is ABSENT or v is None or v == [] or v == {}


def show(v):
    if v is ABSENT:
        return "<absent>"
    return json.dumps(v, ensure_ascii=True)


def check_one(a, event):
    """None if the assertion holds, else (expected text, got text)."""
    got = lookup(event, a.path)
    if a.op == "absent":
        return None if is_empty(got) else ("<absent>", show(got))
    if a.op == "present":
        return None if not is_empty(got) else ("<present>", show(got))
    if a.op == "eq":
        return None if got is not ABSENT and json_equal(got, a.value) else (show(a.value), show(got))
    if a.op == "re":
        if isinstance(got, str) and a.value.search(got):
            return None
        return ("match of /%s/" % a.value.pattern, show(got))
    if a.op == "len":
        if isinstance(got, (list, dict, str)) and len(got) == a.value:
            return None
        return ("length %d" % a.value,
                "length %d (%s)" % (len(got), short(show(got), 80))
                if isinstance(got, (list, dict, str)) else show(got))
    raise AssertionError(a.op)


def short(s, n=300):
    return s if len(s) <= n else s[:n] + "..."


def no_dupes(pairs):
    d = {}
    for k, v in pairs:
        if k in d:
            raise ValueError("duplicate key %r" % k)
        d[k] = v
    return d


def bad_constant(name):
    raise ValueError("%s is not JSON" % name)


def read_output(data, fail):
    """Parses JSON lines; reports every invalid line through fail()."""
    events = []
    for n, raw in enumerate(data.split(b"\n"), 1):
        if raw == b"" and n == data.count(b"\n") + 1:
            break  # after the final newline
        try:
            line = raw.decode("utf-8", errors="strict")
        except UnicodeDecodeError as e:
            fail("output line %d: not valid UTF-8 (%s)" % (n, e.reason))
            continue
        try:
            obj = json.loads(line, object_pairs_hook=no_dupes, parse_constant=bad_constant)
        except ValueError as e:
            fail("output line %d: invalid JSON (%s): %s" % (n, e, short(line, 200)))
            continue
        if not isinstance(obj, dict):
            fail("output line %d: not a JSON object: %s" % (n, short(line, 200)))
            continue
        events.append((n, obj))
    return events


def max_matching(cands, n_right):
    """Kuhn's algorithm: cands[i] = right indices acceptable for left i. Returns left->right."""
    match_r = [-1] * n_right

    def augment(i, seen):
        for r in cands[i]:
            if not seen[r]:
                seen[r] = True
                if match_r[r] < 0 or augment(match_r[r], seen):
                    match_r[r] = i
                    return True
        return False

    for i in range(len(cands)):
        augment(i, [False] * n_right)
    match_l = [-1] * len(cands)
    for r, i in enumerate(match_r):
        if i >= 0:
            match_l[i] = r
    return match_l


def main(argv):
    args = argv[1:]
    name = None
    if len(args) >= 2 and args[0] == "--name":
        name, args = args[1], args[2:]
    if len(args) != 2:
        sys.stderr.write("usage: check_expect.py [--name NAME] EXPECT OUTPUT\n")
        return 2
    expect_path, output_path = args
    name = name or expect_path
    try:
        with open(expect_path, encoding="utf-8") as f:
            ex = parse_expect(f.read())
    except (OSError, ExpectError, UnicodeDecodeError) as e:
        sys.stderr.write("check_expect: %s: %s\n" % (expect_path, e))
        return 2
    if output_path == "-":
        data = sys.stdin.buffer.read()
    else:
        with open(output_path, "rb") as f:
            data = f.read()

    failures = []

    def fail(msg):
        failures.append(msg)
        print("FAIL %s: %s" % (name, msg))

    lines = read_output(data, fail)
    if ex.select is None:
        events = lines
    else:
        path, want = ex.select
        events = [(n, o) for n, o in lines if json_equal(lookup(o, path), want)]

    if ex.count is not None and len(events) != ex.count:
        fail("count: expected %d events, got %d" % (ex.count, len(events)))

    def report(idx, out_n, obj, misses):
        for a, (want, got) in misses:
            fail("event %d: %s: expected %s, got %s" % (idx, a.path, want, got))
        print("     output line %d: %s" % (out_n, short(json.dumps(obj, ensure_ascii=True))))

    order = sorted(ex.events)
    if not ex.order_any:
        for idx in order:
            if idx >= len(events):
                fail("event %d: missing (the output has %d selected events)" % (idx, len(events)))
                continue
            out_n, obj = events[idx]
            misses = [(a, r) for a in ex.events[idx] for r in [check_one(a, obj)] if r]
            if misses:
                report(idx, out_n, obj, misses)
    else:
        results = []  # per expected event: per output event, list of misses
        for idx in order:
            results.append([[(a, r) for a in ex.events[idx] for r in [check_one(a, obj)] if r]
                            for _, obj in events])
        cands = [[j for j, m in enumerate(res) if not m] for res in results]
        match = max_matching(cands, len(events))
        for k, idx in enumerate(order):
            if match[k] >= 0:
                continue
            if not events:
                fail("event %d: missing (the output has no selected events)" % idx)
                continue
            if cands[k]:
                fail("event %d: matches only output events already taken by other expected "
                     "events (lines %s)" % (idx, ", ".join(str(events[j][0]) for j in cands[k])))
                continue
            best = min(range(len(events)), key=lambda j: (len(results[k][j]), j))
            print("FAIL %s: event %d (order: any): no output event matches; closest:" % (name, idx))
            out_n, obj = events[best]
            report(idx, out_n, obj, results[k][best])

    if failures:
        print("check_expect: %s: %d mismatch(es)" % (name, len(failures)))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
