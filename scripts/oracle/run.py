#!/usr/bin/env python3
"""Differential oracle: bulkhead vs pySigma's SQLite backend over a generated corpus.

    run.py --dir DIR --bulkhead PATH [--verbose]

DIR is the output of generate.py. Each rule is converted with pySigma (sqlite backend,
fulltext_field for keywords, a ValueListPlaceholderTransformation for `expand`), the events are
loaded into one SQLite table, and the (rule id, event line) match set is compared with the one
bulkhead reports for `bulkhead scan --output jsonl`.

The table (Zircolite-like, one column per field):
  * every column is declared `NUMERIC COLLATE NOCASE`. NOCASE gives Sigma's case-insensitive
    string equality (ASCII folding, as bulkhead); NUMERIC affinity gives Sigma's loose typing:
    the number 42 and the string "42" compare equal to the rule's 42 and `|gt` compares numbers
    numerically. (Zircolite declares TEXT affinity, under which `|gt: 10` compares text, '9' > '10'.)
  * strings -> TEXT (subject to NUMERIC affinity), numbers -> INTEGER/REAL, JSON true/false ->
    'true'/'false' (as Zircolite), JSON null -> NULL, absent -> NULL.
  * `_fulltext`: the source values of the record (strings, numbers as written, true/false; not
    null, not keys) joined with "\\x1f"; the keyword search column (fulltext_field).
  * REGEXP(pattern, value) is Python `re.search`; the backend emits the i/m/s flags as a leading
    inline group `(?ims)`, which Python honours. Non-text values are matched as their text form.

Exit status 0 when every difference is covered by an EXCLUSION below, 1 otherwise.
"""
import argparse
import json
import os
import re
import sqlite3
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "benchlib"))
import sqlite_regexp  # noqa: E402
from collections import defaultdict

from sigma.backends.sqlite import sqliteBackend
from sigma.collection import SigmaCollection
from sigma.conditions import ConditionFieldEqualsValueExpression
from sigma.processing.pipeline import ProcessingItem, ProcessingPipeline
from sigma.processing.transformations import ValueListPlaceholderTransformation
from sigma.types import SigmaFieldReference

FULLTEXT = "_fulltext"
SEP = "\x1f"

# ---------------------------------------------------------------------------------------------
# EXCLUSIONS: differences explained by what the SQLite representation / backend cannot express.
# Each entry: (name, explanation, predicate(feature, mutation, event, field_values, bulkhead, sql)).
# A difference is excluded only when a predicate claims it; everything else fails the run.
# ---------------------------------------------------------------------------------------------


def _numeric_affinity_changes(v):
    """Whether SQLite NUMERIC affinity would store this string as a different text."""
    if not isinstance(v, str):
        return False
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE t(x NUMERIC)")
    con.execute("INSERT INTO t VALUES (?)", (v,))
    typ, txt = con.execute("SELECT typeof(x), CAST(x AS TEXT) FROM t").fetchone()
    return typ != "text" and txt != v


def _is_ip(v):
    import ipaddress
    try:
        ipaddress.ip_address(v)
        return True
    except ValueError:
        return False


EXCLUSIONS = [
    ("exists-json-null",
     "A JSON null and an absent field are both NULL in a flattened column, so `|exists: true` is "
     "false and `|exists: false` true on a null in SQL; the spec says exists checks presence "
     "'be it empty or null', which is what bulkhead does.",
     lambda feat, mut, ev, sql, bh: feat == "exists" and any(v is None for k, v in ev.items())),
    ("bool-vs-numeric",
     "The backend emits `(f='true' OR f=1)` for a boolean so hand-built 1/0 tables work; bulkhead "
     "does not treat the number 1 (or the text '1') as JSON true.",
     lambda feat, mut, ev, sql, bh: feat == "eq_bool" and mut.split(":")[0] in ("as-int", "as-int-string")),
    ("numeric-affinity-canonicalises",
     "NUMERIC affinity stores numeric-looking text as a number ('010' -> 10, '10.0' -> 10, "
     "'1e1' -> 10, ' 10' -> 10), and a float 4242.0 is stored as the integer 4242, so the SQL "
     "side compares a different spelling than the event holds; bulkhead compares the text as written.",
     lambda feat, mut, ev, sql, bh: any(_numeric_affinity_changes(v) for v in ev.values())
     or (feat.startswith(("eq_int", "eq_string_numeric", "neq_number")) and any(isinstance(v, float) for v in ev.values()))),
    ("cidr-as-text-prefix",
     "The backend expands a CIDR into LIKE prefixes of the textual address ('10.%'), so it matches "
     "non-addresses ('10.1.2.3:443', '10.1.2') and misses other spellings of an address "
     "(zero-padded '2001:0db8::1', '::ffff:10.1.2.3', uncompressed IPv6); bulkhead parses the address.",
     lambda feat, mut, ev, sql, bh: feat.startswith("cidr") and any(
         isinstance(v, str) and (not _is_ip(v) or ("::ffff:" in v) or re.search(r"(^|:)0[0-9a-fA-F]", v)
                                 or v.count(":") == 7) for v in ev.values())),
    ("pysigma-utf16-bom",
     "The spec's `utf16` prepends the byte order mark FF FE ('cmd' > FF FE 63 00 6d 00 64 00); "
     "pySigma 2.0.1 writes the BOM as UTF-8 (EF BB BF) before the UTF-16LE text, so its query "
     "misses a real BOM-prefixed value that bulkhead matches.",
     lambda feat, mut, ev, sql, bh: feat == "utf16_base64offset" and mut.startswith("pad0") and bh and not sql),
    ("regex-unicode-casefold",
     "Python `re` with (?i) folds non-ASCII case (K and KELVIN SIGN, e and E-acute); bulkhead "
     "folds ASCII only everywhere (like SQLite NOCASE/LIKE).",
     lambda feat, mut, ev, sql, bh: feat == "regex" and mut in ("re-i-kelvin",)),
]


def load_events(path):
    events = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            events.append(json.loads(line))
    return events


def sql_value(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    return v


def fulltext(ev):
    parts = []
    for v in ev.values():
        if v is None:
            continue
        if isinstance(v, bool):
            parts.append("true" if v else "false")
        else:
            parts.append(str(v) if not isinstance(v, str) else v)
    return SEP.join(parts)


def build_db(events):
    con = sqlite3.connect(":memory:")
    sqlite_regexp.install(con)
    cols = {}
    for ev in events:
        for k in ev:
            cols.setdefault(k.lower(), k)
    coldefs = ", ".join(f'"{c}" NUMERIC COLLATE NOCASE' for c in cols.values())
    con.execute(f'CREATE TABLE logs (eid INTEGER PRIMARY KEY, "{FULLTEXT}" TEXT COLLATE NOCASE, {coldefs})')
    for line, ev in enumerate(events, 1):
        keys = list(ev.keys())
        names = ", ".join(['eid', f'"{FULLTEXT}"'] + [f'"{k}"' for k in keys])
        qs = ", ".join("?" * (len(keys) + 2))
        con.execute(f"INSERT INTO logs ({names}) VALUES ({qs})", [line, fulltext(ev)] + [sql_value(ev[k]) for k in keys])
    return con, set(cols)


def rule_fields(rule):
    out = set()

    def walk(c):
        if isinstance(c, ConditionFieldEqualsValueExpression):
            if c.field:
                out.add(c.field)
            if isinstance(c.value, SigmaFieldReference):
                out.add(c.value.field)
        for a in getattr(c, "args", []) or []:
            walk(a)
    for cond in rule.detection.parsed_condition:
        walk(cond.parsed)
    return out


def expand_n_of(cond, text):
    import fnmatch
    import itertools
    names = re.findall(r"^    ([A-Za-z0-9_]+):", text.split("detection:", 1)[1], re.M)
    names = [n for n in names if n != "condition"]

    def repl(m):
        n, pat = int(m.group(1)), m.group(2)
        ids = [x for x in names if (fnmatch.fnmatchcase(x, pat) if pat != "them" else not x.startswith("_"))]
        if n <= 1 or n > len(ids):
            return m.group(0) if n <= 1 else "(" + " and ".join(ids) + " and not " + ids[0] + ")"
        return "(" + " or ".join("(" + " and ".join(c) + ")" for c in itertools.combinations(ids, n)) + ")"
    return re.sub(r"\b(\d+) of ([A-Za-z0-9_*]+)", repl, cond)


def load_placeholders(path):
    out, cur = {}, None
    if not os.path.exists(path):
        return out
    for raw in open(path, encoding="utf-8"):
        line = raw.strip()
        if not line:
            continue
        if line.startswith("- ") and cur:
            out[cur].append(line[2:].strip().strip("'\""))
        elif line.endswith(":"):
            cur = line[:-1]
            out[cur] = []
    return out


def sql_matches(d, manifest, events):
    con, columns = build_db(events)
    pipe = ProcessingPipeline(items=[ProcessingItem(ValueListPlaceholderTransformation())],
                              vars=load_placeholders(os.path.join(d, "placeholders.yml")))
    be = sqliteBackend(processing_pipeline=pipe, fulltext_field=FULLTEXT, event_id_field="eid")
    matches, queries, errors = set(), {}, {}
    for rid, info in sorted(manifest["rules"].items()):
        text = open(os.path.join(d, info["file"]), encoding="utf-8").read()
        # pySigma 2.0.1 does not know `utf16le`; the spec defines `wide` as its alias.
        text = text.replace("|utf16le|", "|wide|")
        # `N of pattern` (N > 1) is a bulkhead extension: the spec and pySigma know only `1 of` and
        # `all of`. The pySigma side gets the equivalent OR over every N-combination, ANDed.
        text = re.sub(r"condition: (.*)", lambda m: "condition: " + expand_n_of(m.group(1), text), text)
        try:
            rule = SigmaCollection.from_yaml(text).rules[0]
            qs = be.convert_rule(rule)
        except Exception as e:  # noqa: BLE001
            errors[rid] = f"{type(e).__name__}: {e}"
            continue
        for f in rule_fields(rule):  # fields no event carries read as NULL
            if f.lower() not in columns:
                con.execute(f'ALTER TABLE logs ADD COLUMN "{f}" NUMERIC COLLATE NOCASE')
                columns.add(f.lower())
        queries[rid] = qs
        for q in qs:
            q = q.replace("SELECT * FROM", "SELECT eid FROM", 1)
            for (eid,) in con.execute(q):
                matches.add((rid, eid))
    return matches, queries, errors


def bulkhead_matches(d, binary):
    cmd = [binary, "scan", "--rules", os.path.join(d, "rules"), "--output", "jsonl", "--quiet",
           "--placeholders", os.path.join(d, "placeholders.yml"), os.path.join(d, "events.jsonl")]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode not in (0, 1):
        sys.stderr.write(p.stderr)
        raise SystemExit(f"bulkhead failed with exit {p.returncode}: {' '.join(cmd)}")
    out = set()
    for line in p.stdout.splitlines():
        if not line.strip():
            continue
        a = json.loads(line)
        out.add((a["rule"]["id"], int(a["origin"]["line"])))
    return out, p.stderr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", required=True)
    ap.add_argument("--bulkhead", required=True)
    ap.add_argument("--verbose", "-v", action="store_true")
    a = ap.parse_args()
    d = a.dir
    manifest = json.load(open(os.path.join(d, "manifest.json")))
    events = load_events(os.path.join(d, "events.jsonl"))
    meta = {e["line"]: e for e in manifest["events"]}

    sql, queries, errors = sql_matches(d, manifest, events)
    bh, bh_err = bulkhead_matches(d, a.bulkhead)

    rows = []
    unexplained, excluded = [], defaultdict(list)
    for rid, info in sorted(manifest["rules"].items(), key=lambda kv: kv[1]["feature"]):
        feat = info["feature"]
        if rid in errors:
            unexplained.append((feat, None, "pySigma could not convert: " + errors[rid], None))
            rows.append((info["file"], sum(1 for m in bh if m[0] == rid), "error", "-"))
            continue
        b = {l for r, l in bh if r == rid}
        s = {l for r, l in sql if r == rid}
        diff = sorted(b ^ s)
        for line in diff:
            ev = events[line - 1]
            mut = meta[line]["mutation"]
            efeat = meta[line]["feature"]
            claim = None
            for name, _, pred in EXCLUSIONS:
                if pred(feat, mut if efeat == feat else "", ev, line in s, line in b):
                    claim = name
                    break
            record = (feat, line, f"event {json.dumps(ev, ensure_ascii=True)} [{efeat}/{mut}] "
                                  f"bulkhead={'match' if line in b else 'no'} pysigma={'match' if line in s else 'no'}", claim)
            if claim:
                excluded[claim].append(record)
            else:
                unexplained.append(record)
        rows.append((info["file"], len(b), len(s), len(diff)))

    w = max(len(r[0]) for r in rows)
    print(f"{'rule file'.ljust(w)}  bulkhead  pysigma  differences")
    for f, nb, ns, nd in rows:
        print(f"{f.ljust(w)}  {str(nb).rjust(8)}  {str(ns).rjust(7)}  {str(nd).rjust(11)}")
    print()
    if excluded:
        print("excluded differences (documented; see EXCLUSIONS in run.py):")
        for name, expl, _ in EXCLUSIONS:
            if name in excluded:
                print(f"  [{name}] {len(excluded[name])}: {expl}")
                for feat, line, text, _ in excluded[name][: (None if a.verbose else 3)]:
                    print(f"      {feat} line {line}: {text}")
        print()
    if unexplained:
        print("UNEXPLAINED DIFFERENCES:")
        for feat, line, text, _ in unexplained:
            print(f"  {feat} line {line}: {text}")
            rid = [r for r, i in manifest["rules"].items() if i["feature"] == feat][0]
            if a.verbose and rid in queries:
                print(f"      sql: {queries[rid][0][:400]}")
        print()
    if bh_err.strip() and a.verbose:
        print("bulkhead stderr:\n" + bh_err)
    compared = len(manifest["rules"]) * len(events)
    ndiff = sum(r[3] for r in rows if isinstance(r[3], int))
    print(f"oracle: {len(manifest['rules'])} rules, {len(events)} events, {compared} matches compared, "
          f"{ndiff} differences ({ndiff - len([u for u in unexplained if u[1] is not None])} excluded, "
          f"{len(unexplained)} unexplained); bulkhead {len(bh)} alerts, pysigma {len(sql)} alerts")
    return 1 if unexplained else 0


if __name__ == "__main__":
    sys.exit(main())
