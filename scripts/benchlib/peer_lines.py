#!/usr/bin/env python3
"""(rule title, line) pairs the pySigma peer finds, for checking bulkhead's alerts against it.

Same conversion as ../shared/bench/peer_sql.py with the SQLite backend (rowid = line number,
events loaded in file order), but it keeps each hit's row id instead of only counting.
Correlation rules are left out: they are compared separately (bulkhead does not evaluate them yet).

  peer_lines.py --bench DIR --data FILE --product kubernetes|aws --ts-field F > pairs.tsv
"""
import argparse
import os
import sqlite3
import sys

ap = argparse.ArgumentParser()
ap.add_argument("--bench", required=True, help="../shared/bench")
ap.add_argument("--data", required=True)
ap.add_argument("--product", required=True)
ap.add_argument("--ts-field", required=True)
a = ap.parse_args()
sys.path.insert(0, a.bench)
import fieldpaths  # noqa: E402
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import sqlite_regexp  # noqa: E402
from peer_sql import rule_fields  # noqa: E402
from sigma.collection import SigmaCollection  # noqa: E402
from sigma.rule import SigmaRule  # noqa: E402
from sigma.backends.sqlite import sqliteBackend  # noqa: E402

coll = SigmaCollection.load_ruleset([os.path.join(a.bench, "rules")])
rules = [r for r in coll.rules if isinstance(r, SigmaRule) and r.logsource.product == a.product]
be = sqliteBackend(collate_nocase=True, timestamp_field=a.ts_field, table="logs", event_id_field="eid")
fields = {a.ts_field}
queries = []
for r in rules:
    fields |= rule_fields(r)
    for s in be.convert_rule(r):
        queries.append((str(r.id), s))
sample = []
with open(a.data) as f:
    for i, line in enumerate(f, 1):
        if i > 50000:
            break
        sample.append(line)
paths = fieldpaths.learn(sample, fields)
con = sqlite3.connect(":memory:")
sqlite_regexp.install(con)
con.execute("CREATE TABLE raw_events(raw TEXT)")
with open(a.data, "rb") as f:
    while True:
        chunk = f.readlines(64 << 20)
        if not chunk:
            break
        con.executemany("INSERT INTO raw_events(raw) VALUES (?)", ((l.decode(),) for l in chunk))
cols = ["rowid AS eid"]
for fld in sorted(fields):
    e = fieldpaths.sqlite_expr(paths[fld], "raw") if fld in paths else "NULL"
    cols.append(f'{e} AS "{fld}"')
con.execute(f"CREATE VIEW logs AS SELECT {', '.join(cols)} FROM raw_events")
for rid, sql in queries:
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    k = names.index("eid") if "eid" in names else 0
    for row in cur.fetchall():
        print(f"{rid}\t{row[k]}")
