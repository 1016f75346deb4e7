#!/usr/bin/env python3
"""Generate a deterministic Sigma conformance corpus for the bulkhead <-> pySigma/SQLite oracle.

    generate.py --seed N --out DIR

Writes into DIR:
  rules/<feature>.yml     one Sigma rule per file (uuid ids derived from the seed), logsource {product: json}
  events.jsonl            one flat JSON object per line
  placeholders.yml        values for the `expand` modifier (bulkhead --placeholders, pySigma pipeline vars)
  manifest.json           rule id -> feature/file, event line -> (feature, mutation) for the difference report

Events are FLAT objects whose values are scalars (string, integer, float, bool, null).
Deliberately excluded shapes, because the two engines do not share a data model for them:
  * nested objects: bulkhead resolves `a.b` as a JSON path; a flattened SQL table only has the
    columns the loader invents (Zircolite joins keys with '_'), so the field names would differ.
  * arrays: bulkhead matches "any element"; a flattened SQL column holds one scalar (Zircolite
    stores the JSON text of the array), so `contains`/equality would differ by construction.
  * duplicate keys / field names differing only by case: SQLite column names are case-insensitive.
Each rule uses its own field-name prefix (r07_...), so rules and events do not collide on columns.
"""
import argparse
import base64
import json
import os
import random
import uuid

ALPHA = "abcdefghijklmnopqrstuvwxyz"


class Gen:
    def __init__(self, seed):
        self.seed = seed
        self.rng = random.Random(seed)
        self.rules = []    # (feature, yaml_text)
        self.events = []   # (feature, mutation, dict)
        self.ids = {}

    def word(self, n=6):
        return "".join(self.rng.choice(ALPHA) for _ in range(n))

    def rid(self, feature):
        return str(uuid.uuid5(uuid.UUID(int=self.seed & ((1 << 128) - 1)), feature))

    # --- rules ---------------------------------------------------------------------------
    def rule(self, feature, detection, condition):
        """detection: mapping name -> YAML text block (already indented by the caller's dump)."""
        rid = self.rid(feature)
        self.ids[feature] = rid
        lines = [
            f"title: oracle {feature}",
            f"id: {rid}",
            "status: test",
            "logsource:",
            "    product: json",
            "detection:",
        ]
        for name, body in detection.items():
            lines.append(f"    {name}:")
            for bl in body.strip("\n").split("\n"):
                lines.append("        " + bl)
        lines.append(f"    condition: {condition}")
        lines.append("level: low")
        self.rules.append((feature, "\n".join(lines) + "\n"))

    # --- events --------------------------------------------------------------------------
    def ev(self, feature, mutation, obj):
        self.events.append((feature, mutation, dict(obj)))

    def mutate(self, feature, base, fields, skip=()):
        """Emit `base` plus generic mutations of each field in `fields`."""
        self.ev(feature, "base", base)
        for f in fields:
            if f not in base:
                continue
            v = base[f]
            muts = []
            muts.append(("missing", None, True))
            muts.append(("null", None, False))
            if isinstance(v, str):
                muts += [
                    ("upper", v.upper(), False),
                    ("lower", v.lower(), False),
                    ("title", v[:1].upper() + v[1:], False),
                    ("append", v + "x", False),
                    ("prepend", "x" + v, False),
                    ("chop", v[:-1], False),
                    ("empty", "", False),
                    ("unicode-acute", v.replace("e", "\u00e9", 1) if "e" in v else v + "\u00e9", False),
                    ("unicode-upper", (v + "\u00e9").upper(), False),
                    ("space", " " + v, False),
                ]
                try:
                    n = int(v)
                    muts.append(("as-number", n, False))
                except ValueError:
                    pass
            elif isinstance(v, bool):
                muts += [("as-string", "true" if v else "false", False),
                         ("as-string-upper", "TRUE" if v else "FALSE", False),
                         ("negated", not v, False), ("as-int", int(v), False),
                         ("as-int-string", str(int(v)), False)]
            elif isinstance(v, (int, float)):
                muts += [("as-string", str(v), False), ("plus-one", v + 1, False),
                         ("minus-one", v - 1, False), ("as-float", float(v) + 0.5, False),
                         ("leading-zero", "0" + str(v), False), ("float-zero", float(v), False)]
            for name, nv, drop in muts:
                if name in skip:
                    continue
                e = dict(base)
                if drop:
                    del e[f]
                else:
                    e[f] = nv
                self.ev(feature, f"{name}:{f}", e)


def build(seed):
    g = Gen(seed)
    w = g.word
    F = {}

    def p(i):
        return f"r{i:02d}_"

    idx = [0]

    def feat(name):
        idx[0] += 1
        pre = p(idx[0])
        F[name] = pre
        return pre

    # 1. plain equality: string, int, bool, null ------------------------------------------
    x = feat("eq_string"); val = w(7) + " " + w(4)
    g.rule("eq_string", {"sel": f"{x}name: '{val}'"}, "sel")
    g.mutate("eq_string", {x + "name": val, x + "other": w()}, [x + "name"])

    x = feat("eq_int"); n = g.rng.randint(1000, 99999)
    g.rule("eq_int", {"sel": f"{x}code: {n}"}, "sel")
    g.mutate("eq_int", {x + "code": n}, [x + "code"])
    g.mutate("eq_int", {x + "code": str(n)}, [x + "code"])

    x = feat("eq_string_numeric"); n2 = g.rng.randint(100, 999)
    g.rule("eq_string_numeric", {"sel": f"{x}port: '{n2}'"}, "sel")
    g.mutate("eq_string_numeric", {x + "port": n2}, [x + "port"])

    x = feat("eq_bool")
    g.rule("eq_bool", {"sel": f"{x}flag: true", "sel2": f"{x}off: false"}, "sel or sel2")
    g.mutate("eq_bool", {x + "flag": True, x + "off": True}, [x + "flag"])
    g.mutate("eq_bool", {x + "flag": False, x + "off": False}, [x + "off"])

    x = feat("eq_null"); v = w()
    g.rule("eq_null", {"sel": f"{x}user: '{v}'", "empty": f"{x}pw: null"}, "sel and empty")
    g.mutate("eq_null", {x + "user": v, x + "pw": None}, [x + "user"])
    g.mutate("eq_null", {x + "user": v, x + "pw": "secret"}, [x + "pw"])

    x = feat("eq_empty"); v = w()
    g.rule("eq_empty", {"sel": f"{x}user: '{v}'\n{x}note: ''"}, "sel")
    g.mutate("eq_empty", {x + "user": v, x + "note": ""}, [x + "note"])

    # 2. wildcards and escapes --------------------------------------------------------------
    x = feat("wildcards"); a, b, c = w(4), w(3), w(5)
    g.rule("wildcards", {
        "star": f"{x}path: '{a}*{b}'",
        "quest": f"{x}host: '{c}?{a}'",
        "escaped": f"{x}lit: '{a}\\*{b}\\?'",
        "bs_wild": f"{x}win: 'C:\\\\{a}\\\\*'",
        "likechars": f"{x}pct: '{a}%_{b}'",
    }, "1 of them")
    g.mutate("wildcards", {x + "path": a + "ZZZ" + b}, [x + "path"])
    g.ev("wildcards", "star-empty", {x + "path": a + b})
    g.ev("wildcards", "star-unicode", {x + "path": a + "\u00e9\u4e2d" + b})
    g.ev("wildcards", "star-newline", {x + "path": a + "\n" + b})
    g.mutate("wildcards", {x + "host": c + "Q" + a}, [x + "host"])
    g.ev("wildcards", "quest-zero", {x + "host": c + a})
    g.ev("wildcards", "quest-two", {x + "host": c + "QQ" + a})
    g.ev("wildcards", "quest-unicode", {x + "host": c + "\u00e9" + a})
    g.ev("wildcards", "quest-astral", {x + "host": c + "\U0001F600" + a})
    g.mutate("wildcards", {x + "lit": a + "*" + b + "?"}, [x + "lit"])
    g.ev("wildcards", "escaped-not-wild", {x + "lit": a + "XX" + b + "Y"})
    g.mutate("wildcards", {x + "win": "C:\\" + a + "\\tail"}, [x + "win"])
    g.ev("wildcards", "bs-only", {x + "win": "C:\\" + a + "\\"})
    g.ev("wildcards", "bs-missing", {x + "win": "C:\\" + a + "tail"})
    g.mutate("wildcards", {x + "pct": a + "%_" + b}, [x + "pct"])
    g.ev("wildcards", "pct-as-wild", {x + "pct": a + "XY" + b})
    g.ev("wildcards", "pct-as-wild2", {x + "pct": a + "%Y" + b})

    # 3. contains / startswith / endswith / all ------------------------------------------------
    x = feat("substring"); a, b, c = w(5), w(5), w(5)
    g.rule("substring", {
        "c": f"{x}cmd|contains: '{a}'",
        "s": f"{x}img|startswith: '{b}'",
        "e": f"{x}img|endswith: '.{c}'",
    }, "c or (s and e)")
    g.mutate("substring", {x + "cmd": "pre " + a + " post"}, [x + "cmd"])
    g.mutate("substring", {x + "cmd": a}, [x + "cmd"])
    g.mutate("substring", {x + "img": b + "/mid." + c}, [x + "img"])
    g.ev("substring", "start-only", {x + "img": b + "/mid.xyz"})
    g.ev("substring", "end-only", {x + "img": "q" + b + "/mid." + c})

    x = feat("all"); a, b, c = w(4), w(4), w(4)
    g.rule("all", {"sel": f"{x}cmd|contains|all:\n    - '{a}'\n    - '{b}'\n    - '{c}'"}, "sel")
    g.mutate("all", {x + "cmd": f"{c} {a} x {b}"}, [x + "cmd"])
    g.ev("all", "two-of-three", {x + "cmd": f"{a} {b}"})
    g.ev("all", "one", {x + "cmd": c})

    # 4. regular expressions -----------------------------------------------------------------
    x = feat("regex"); a, b = w(4), w(4)
    g.rule("regex", {
        "plain": f"{x}v1|re: '^{a}[0-9]+{b}$'",
        "ci": f"{x}v2|re|i: '{a}(x|y)+'",
        "ml": f"{x}v3|re|m: '^{b}$'",
        "dot": f"{x}v4|re|s: '{a}.{b}'",
        "all3": f"{x}v5|re|i|m|s: '^{a}.{b}$'",
    }, "1 of them")
    g.mutate("regex", {x + "v1": f"{a}123{b}"}, [x + "v1"])
    g.ev("regex", "re-case", {x + "v1": f"{a.upper()}123{b}"})
    g.mutate("regex", {x + "v2": f"zz{a}xyx"}, [x + "v2"])
    g.ev("regex", "re-i-unicode", {x + "v2": f"{a}\u00e9"})
    g.ev("regex", "re-i-kelvin", {x + "v2": f"{a}\u212a"})
    g.ev("regex", "re-m-second-line", {x + "v3": f"first\n{b}\nthird"})
    g.ev("regex", "re-m-no", {x + "v3": f"first {b} third"})
    g.ev("regex", "re-m-exact", {x + "v3": b})
    g.ev("regex", "re-s-newline", {x + "v4": f"{a}\n{b}"})
    g.ev("regex", "re-s-char", {x + "v4": f"{a}_{b}"})
    g.ev("regex", "re-nos-newline", {x + "v1": f"{a}1\n{b}"})
    g.ev("regex", "re-all3", {x + "v5": f"line0\n{a.upper()}\n{b}\nx"})
    g.ev("regex", "re-all3-b", {x + "v5": f"{a}\n{b}"})
    g.ev("regex", "re-trailing-newline", {x + "v1": f"{a}1{b}\n"})
    g.ev("regex", "re-number", {x + "v1": 123})

    # 5. base64 / base64offset / utf16 -------------------------------------------------------
    x = feat("base64"); a = w(7)
    g.rule("base64", {"sel": f"{x}blob|base64: '{a}'"}, "sel")
    g.mutate("base64", {x + "blob": base64.b64encode(a.encode()).decode()}, [x + "blob"],
             skip=("upper", "lower", "title", "unicode-upper"))
    g.ev("base64", "b64-of-upper", {x + "blob": base64.b64encode(a.upper().encode()).decode()})

    x = feat("base64offset"); a = w(6) + "-" + w(3)
    g.rule("base64offset", {"sel": f"{x}cmd|base64offset|contains: '{a}'"}, "sel")
    for pad in range(4):
        g.mutate("base64offset", {x + "cmd": "powershell -enc " + base64.b64encode(("Q" * pad + a + " tail").encode()).decode()},
                 [x + "cmd"] if pad == 1 else [], )
    g.ev("base64offset", "b64-end", {x + "cmd": base64.b64encode(("xy" + a).encode()).decode()})
    g.ev("base64offset", "b64-other", {x + "cmd": base64.b64encode(("xy" + w(9)).encode()).decode()})

    for enc_mod, pyenc in [("wide", "utf-16le"), ("utf16le", "utf-16le"), ("utf16be", "utf-16be"), ("utf16", "utf-16")]:
        name = f"{enc_mod}_base64offset"
        x = feat(name); a = w(5)
        g.rule(name, {"sel": f"{x}cmd|{enc_mod}|base64offset|contains: '{a}'"}, "sel")
        for pad in range(3):
            raw = ("P" * pad + a + "!").encode("utf-16-le" if pyenc == "utf-16" else pyenc)
            if pyenc == "utf-16":
                raw = b"\xff\xfe" + raw if pad == 0 else raw
            g.ev(name, f"pad{pad}", {x + "cmd": "-e " + base64.b64encode(raw).decode()})
        g.ev(name, "utf8-not-utf16", {x + "cmd": "-e " + base64.b64encode(a.encode()).decode()})
        other = "utf-16-be" if pyenc != "utf-16be" else "utf-16-le"
        g.ev(name, "other-endianness", {x + "cmd": "-e " + base64.b64encode(("PP" + a).encode(other)).decode()})

    # 6. windash -----------------------------------------------------------------------------
    x = feat("windash"); a, b = w(5), w(3)
    g.rule("windash", {"sel": f"{x}cmd|windash|contains: ' -{a} /{b}'"}, "sel")
    for d1 in ["-", "/", "\u2013", "\u2014", "\u2015", "\u2212", "\u2010"]:
        g.ev("windash", f"dash-{ord(d1):x}", {x + "cmd": f"tool.exe {d1}{a} -{b}"})
    g.mutate("windash", {x + "cmd": f"tool.exe -{a} /{b} end"}, [x + "cmd"])

    # 7. cidr --------------------------------------------------------------------------------
    x = feat("cidr_v4")
    g.rule("cidr_v4", {"sel": f"{x}ip|cidr:\n    - '10.0.0.0/8'\n    - '172.16.0.0/12'\n    - '192.168.7.0/24'\n    - '198.51.100.7/32'"}, "sel")
    for ip in ["10.1.2.3", "10.255.255.255", "11.0.0.1", "172.16.0.1", "172.31.255.254", "172.32.0.1",
               "192.168.7.200", "192.168.8.1", "198.51.100.7", "198.51.100.70", "10.1.2.3:443",
               "010.1.2.3", "::ffff:10.1.2.3", "10.1.2", "1.10.0.0", ""]:
        g.ev("cidr_v4", f"ip={ip}", {x + "ip": ip})
    g.ev("cidr_v4", "missing", {x + "other": "10.0.0.1"})

    x = feat("cidr_v6")
    g.rule("cidr_v6", {"sel": f"{x}ip|cidr:\n    - '2001:db8::/32'\n    - 'fe80::/10'"}, "sel")
    for ip in ["2001:db8::1", "2001:db8:1234::5", "2001:DB8::1", "2001:0db8::1", "2001:db9::1",
               "fe80::1", "febf::1", "fec0::1", "::1", "2001:db8:0:0:0:0:0:1", "10.0.0.1"]:
        g.ev("cidr_v6", f"ip={ip}", {x + "ip": ip})

    # 8. exists ------------------------------------------------------------------------------
    x = feat("exists")
    g.rule("exists", {"has": f"{x}a|exists: true", "hasnt": f"{x}b|exists: false"}, "has and hasnt")
    g.mutate("exists", {x + "a": w(), x + "c": 1}, [x + "a"])
    g.ev("exists", "a-empty", {x + "a": ""})
    g.ev("exists", "b-present", {x + "a": "v", x + "b": "v"})
    g.ev("exists", "b-null", {x + "a": "v", x + "b": None})
    g.ev("exists", "a-false", {x + "a": False})

    # 9. numeric comparisons -----------------------------------------------------------------
    x = feat("compare")
    g.rule("compare", {
        "lt": f"{x}n1|lt: 10",
        "lte": f"{x}n2|lte: 10",
        "gt": f"{x}n3|gt: 1000",
        "gte": f"{x}n4|gte: 2.5",
    }, "1 of them")
    for f_, vals in [("n1", [9, 10, 11, -5, 9.99, "9", "10", "abc", "", None, True]),
                     ("n2", [9, 10, 11, "10", 10.0, "1e1", " 10"]),
                     ("n3", [1000, 1001, 999, "1001", "2000", 1e6, "0x400"]),
                     ("n4", [2.5, 2.49, 3, "2.5", "2.50", -1])]:
        for v in vals:
            g.ev("compare", f"{f_}={v!r}", {x + f_: v})

    # 10. fieldref ---------------------------------------------------------------------------
    x = feat("fieldref")
    g.rule("fieldref", {
        "eq": f"{x}src|fieldref: {x}dst",
        "sw": f"{x}long|fieldref|startswith: {x}pre",
        "ew": f"{x}long2|fieldref|endswith: {x}suf",
        "co": f"{x}long3|fieldref|contains: {x}mid",
    }, "1 of them")
    a = w(); b = w()
    g.mutate("fieldref", {x + "src": a, x + "dst": a}, [x + "src", x + "dst"])
    g.ev("fieldref", "eq-case", {x + "src": a, x + "dst": a.upper()})
    g.ev("fieldref", "eq-num", {x + "src": 42, x + "dst": "42"})
    g.ev("fieldref", "eq-both-null", {x + "src": None, x + "dst": None})
    g.ev("fieldref", "sw", {x + "long": a + b, x + "pre": a})
    g.ev("fieldref", "sw-no", {x + "long": b + a, x + "pre": a})
    g.ev("fieldref", "sw-pct", {x + "long": "a%b" + b, x + "pre": "a%"})
    g.ev("fieldref", "sw-pct-no", {x + "long": "axb" + b, x + "pre": "a%"})
    g.ev("fieldref", "sw-us-no", {x + "long": "axb", x + "pre": "a_"})
    g.ev("fieldref", "sw-empty", {x + "long": a, x + "pre": ""})
    g.ev("fieldref", "ew", {x + "long2": a + b, x + "suf": b.upper()})
    g.ev("fieldref", "ew-no", {x + "long2": b + a, x + "suf": b})
    g.ev("fieldref", "co", {x + "long3": a + "MID" + b, x + "mid": "mid"})
    g.ev("fieldref", "co-bs", {x + "long3": "c:\\x\\y", x + "mid": "\\x"})
    g.ev("fieldref", "co-no", {x + "long3": a, x + "mid": b})

    # 11. cased ------------------------------------------------------------------------------
    x = feat("cased"); a = w(3).upper() + w(3)
    g.rule("cased", {"eq": f"{x}v|cased: '{a}'", "co": f"{x}w|cased|contains: 'X[{a}]*?'"}, "eq or co")
    g.mutate("cased", {x + "v": a}, [x + "v"])
    g.ev("cased", "co", {x + "w": f"..X[{a}]*?.."})
    g.ev("cased", "co-lower", {x + "w": f"..x[{a}]*?.."})
    g.ev("cased", "co-bracket-literal", {x + "w": f"..X{a[0]}.."})

    # 12. neq --------------------------------------------------------------------------------
    x = feat("neq_single"); a = w()
    g.rule("neq_single", {"sel": f"{x}kind: 'proc'", "ne": f"{x}user|neq: '{a}'"}, "sel and ne")
    g.mutate("neq_single", {x + "kind": "proc", x + "user": a}, [x + "user"])
    g.ev("neq_single", "other-user", {x + "kind": "proc", x + "user": "root"})

    x = feat("neq_list"); a, b = w(), w()
    g.rule("neq_list", {"sel": f"{x}kind: 'proc'", "ne": f"{x}user|neq:\n    - '{a}'\n    - '{b}'"}, "sel and ne")
    for u in [a, b, a.upper(), "root"]:
        g.ev("neq_list", f"user={u}", {x + "kind": "proc", x + "user": u})
    g.ev("neq_list", "user-missing", {x + "kind": "proc"})

    x = feat("neq_number")
    g.rule("neq_number", {"sel": f"{x}kind: 'proc'", "ne": f"{x}uid|neq: 0"}, "sel and ne")
    for u in [0, 1, "0", "1", "root", 0.0, None]:
        g.ev("neq_number", f"uid={u!r}", {x + "kind": "proc", x + "uid": u})
    g.ev("neq_number", "uid-missing", {x + "kind": "proc"})

    # 13. expand -----------------------------------------------------------------------------
    x = feat("expand"); hosts = [w(5), w(4) + "-" + w(2)]
    g.placeholders = {"oracle_hosts": hosts}
    g.rule("expand", {"sel": f"{x}host|expand: 'srv-%oracle_hosts%'"}, "sel")
    for h in hosts:
        g.mutate("expand", {x + "host": "srv-" + h}, [x + "host"])
    g.ev("expand", "literal-placeholder", {x + "host": "srv-%oracle_hosts%"})

    # 14. time parts -------------------------------------------------------------------------
    x = feat("timeparts")
    g.rule("timeparts", {
        "mi": f"{x}t1|minute: 42",
        "ho": f"{x}t2|hour: 10",
        "da": f"{x}t3|day: 15",
        "mo": f"{x}t4|month: 3",
        "ye": f"{x}t5|year: 2024",
    }, "1 of them")
    for f_ in ["t1", "t2", "t3", "t4", "t5"]:
        for ts in ["2024-03-15T10:42:07Z", "2024-03-15T10:42:07.123456Z", "2024-03-15 10:42:07",
                   "2023-04-16T11:43:08Z", "2024-03-15T12:42:07+02:00", "2024-03-14T23:42:07-11:00",
                   "not a date"]:
            g.ev("timeparts", f"{f_}={ts}", {x + f_: ts})

    # 15. keywords ---------------------------------------------------------------------------
    x = feat("keywords"); a, b = w(8), w(8)
    g.rule("keywords", {"kw": f"- '{a}'\n- '{b}'"}, "kw")
    g.mutate("keywords", {x + "msg": f"error {a} happened"}, [x + "msg"])
    g.ev("keywords", "kw-other-field", {x + "zzz": b.upper()})
    g.ev("keywords", "kw-no", {x + "msg": a[:-1]})

    # 16. list of maps -----------------------------------------------------------------------
    x = feat("list_of_maps"); a, b = w(), w()
    g.rule("list_of_maps", {"sel": f"- {x}img|endswith: '\\\\{a}.exe'\n  {x}cmd|contains: '--x'\n- {x}img|endswith: '\\\\{b}.exe'"}, "sel")
    g.mutate("list_of_maps", {x + "img": f"C:\\w\\{a}.exe", x + "cmd": "run --x"}, [x + "img", x + "cmd"])
    g.mutate("list_of_maps", {x + "img": f"C:\\w\\{b}.exe"}, [x + "img"])

    # 17. condition forms --------------------------------------------------------------------
    x = feat("cond_boolean")
    g.rule("cond_boolean", {
        "s_a": f"{x}a: 'A'", "s_b": f"{x}b: 'B'", "s_c": f"{x}c: 'C'", "f_d": f"{x}d: 'D'",
    }, "(s_a or s_b) and not (s_c or f_d) or (s_c and f_d)")
    x = feat("cond_quant")
    g.rule("cond_quant", {
        "sel_a": f"{x}a: 'A'", "sel_b": f"{x}b: 'B'", "sel_c": f"{x}c: 'C'", "filter_d": f"{x}d: 'D'",
    }, "1 of sel_* and not all of filter*")
    x = feat("cond_allof")
    g.rule("cond_allof", {"sel_a": f"{x}a: 'A'", "sel_b": f"{x}b: 'B'", "sel_c": f"{x}c: 'C'"}, "all of sel_*")
    x = feat("cond_all_them")
    g.rule("cond_all_them", {"one": f"{x}a: 'A'", "two": f"{x}b: 'B'"}, "all of them")
    x = feat("cond_one_them")
    g.rule("cond_one_them", {"one": f"{x}a: 'A'", "two": f"{x}b: 'B'"}, "1 of them")
    x = feat("cond_n_of")
    g.rule("cond_n_of", {"sel_a": f"{x}a: 'A'", "sel_b": f"{x}b: 'B'", "sel_c": f"{x}c: 'C'", "sel_d": f"{x}d: 'D'"},
           "2 of sel_*")
    x = feat("cond_not_not")
    g.rule("cond_not_not", {"sel": f"{x}a: 'A'", "flt": f"{x}b: 'B'"}, "not (not sel or flt)")
    import itertools
    for feature in ["cond_boolean", "cond_quant", "cond_allof", "cond_all_them", "cond_one_them", "cond_n_of", "cond_not_not"]:
        x = F[feature]
        for bits in itertools.product([0, 1, 2], repeat=4):  # 0 absent, 1 matching, 2 other value
            e = {}
            for k, bit in zip("abcd", bits):
                if bit == 1:
                    e[x + k] = k.upper()
                elif bit == 2:
                    e[x + k] = k.lower() + "z"
            if e:
                g.ev(feature, "bits=" + "".join(map(str, bits)), e)

    return g


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    g = build(a.seed)
    os.makedirs(os.path.join(a.out, "rules"), exist_ok=True)
    manifest = {"seed": a.seed, "rules": {}, "events": []}
    for feature, text in g.rules:
        fn = f"{feature}.yml"
        with open(os.path.join(a.out, "rules", fn), "w", encoding="utf-8") as f:
            f.write(text)
        manifest["rules"][g.ids[feature]] = {"feature": feature, "file": "rules/" + fn}
    # Deterministic shuffle so lines are not grouped by feature (catches state leaking between records).
    order = list(range(len(g.events)))
    g.rng.shuffle(order)
    with open(os.path.join(a.out, "events.jsonl"), "w", encoding="utf-8") as f:
        for line, i in enumerate(order, 1):
            feature, mutation, obj = g.events[i]
            f.write(json.dumps(obj, ensure_ascii=(line % 2 == 0)) + "\n")  # both \u escapes and raw UTF-8
            manifest["events"].append({"line": line, "feature": feature, "mutation": mutation})
    with open(os.path.join(a.out, "placeholders.yml"), "w", encoding="utf-8") as f:
        for name, vals in g.placeholders.items():
            f.write(f"{name}:\n" + "".join(f"  - '{v}'\n" for v in vals))
    with open(os.path.join(a.out, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, indent=1)
    print(f"generated {len(g.rules)} rules, {len(g.events)} events into {a.out}")


if __name__ == "__main__":
    main()
