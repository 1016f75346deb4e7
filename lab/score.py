#!/usr/bin/env python3
"""Score a namespace-lab run: did every attack step raise its expected detections, attributed
to the right container, and did the benign steps stay free of high/critical alerts?

Inputs (in --out): timeline.jsonl (lab/run), alerts.jsonl (bulkhead scan --output jsonl),
containers.json (pod, pod IP and audit loginuid of each lab container).

Attribution of an alert to a container, in this order:
  pod     bulkhead's own entity.pod (network and DNS records: pod IP -> pod from --inventory)
  auid    the record's audit loginuid, which lab/run gives each container (kernel audit records
          carry no container id; this is the lab's documented stand-in, see docs/lab.md)
Exit status: 0 when every expected detection fired for its step and container and no benign
step has a high or critical alert; 1 otherwise.
"""
import argparse
import collections
import datetime
import json
import os
import re
import sys

SLACK_BEFORE = 0.5   # seconds before a step's start (clock granularity)
SLACK_AFTER = 1.0    # seconds after its end (records written late, e.g. flows closed by FIN)


def parse_time(s):
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)?$", s)
    if not m:
        return None
    base = datetime.datetime.fromisoformat(m.group(1)).replace(tzinfo=datetime.timezone.utc)
    frac = float("0." + m.group(2)) if m.group(2) else 0.0
    tz = m.group(3) or "Z"
    off = 0
    if tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        hh, mm = tz[1:3], tz[-2:]
        off = sign * (int(hh) * 3600 + int(mm) * 60)
    return base.timestamp() + frac - off


def rule_index(detections):
    """rule id -> 'source/folder' and level, from Detections/*/*/rule.yml (no YAML library needed)."""
    idx = {}
    for src in sorted(os.listdir(detections)):
        d = os.path.join(detections, src)
        if not os.path.isdir(d):
            continue
        for folder in sorted(os.listdir(d)):
            f = os.path.join(d, folder, "rule.yml")
            if not os.path.exists(f):
                continue
            text = open(f).read()
            m = re.search(r"^id:\s*(\S+)", text, re.M)
            lv = re.search(r"^level:\s*(\S+)", text, re.M)
            if m:
                idx[m.group(1)] = (f"{src}/{folder}", lv.group(1) if lv else "?")
    return idx


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "out"))
    ap.add_argument("--detections", default=os.path.join(os.path.dirname(__file__), "..", "Detections"))
    a = ap.parse_args()

    rules = rule_index(a.detections)
    by_name = {v[0]: k for k, v in rules.items()}
    containers = json.load(open(os.path.join(a.out, "containers.json")))
    by_pod = {c["pod"]: c["container"] for c in containers}
    by_auid = {str(c["auid"]): c["container"] for c in containers}
    steps = [json.loads(l) for l in open(os.path.join(a.out, "timeline.jsonl")) if l.strip()]

    alerts = []
    for line in open(os.path.join(a.out, "alerts.jsonl")):
        if not line.strip():
            continue
        al = json.loads(line)
        t = parse_time(al.get("time") or "")
        ent = al.get("entity") or {}
        ev = al.get("event") or {}
        ctr, how = None, None
        if ent.get("pod") in by_pod:
            ctr, how = by_pod[ent["pod"]], "pod"
        elif str(ev.get("auid", "")) in by_auid:
            ctr, how = by_auid[str(ev["auid"])], "auid"
        alerts.append({"id": al["rule"]["id"], "title": al["rule"]["title"], "level": al["rule"]["level"],
                       "time": t, "container": ctr, "how": how, "source": al.get("source"),
                       "name": rules.get(al["rule"]["id"], (al["rule"]["title"], "?"))[0], "used": False})

    def in_window(al, st):
        return al["time"] is not None and st["start"] - SLACK_BEFORE <= al["time"] <= st["end"] + SLACK_AFTER

    rows, misses, bad_benign, unknown = [], 0, [], []
    for st in steps:
        window = [al for al in alerts if in_window(al, st) and al["container"] == st["container"]]
        for al in window:
            al["used"] = True
        if st["kind"] == "attack":
            for exp in st["expect"]:
                rid = by_name.get(exp)
                if rid is None:
                    unknown.append(exp)
                    rows.append((st, exp, "UNKNOWN RULE", ""))
                    misses += 1
                    continue
                hits = [al for al in window if al["id"] == rid]
                if hits:
                    hows = sorted({f"{h['container']} ({h['how']}, {h['source']})" for h in hits})
                    rows.append((st, exp, f"fired x{len(hits)}", "; ".join(hows)))
                else:
                    # fired, but for another container or outside the window?
                    elsewhere = [al for al in alerts if al["id"] == rid and in_window(al, st)]
                    note = ""
                    if elsewhere:
                        note = "in window but attributed to " + ", ".join(
                            sorted({str(al["container"]) for al in elsewhere}))
                    rows.append((st, exp, "MISSED", note))
                    misses += 1
            extra = sorted({al["name"] for al in window if rules.get(al["id"], ("",))[0] not in st["expect"]})
            st["extra"] = extra
        else:
            hi = [al for al in window if al["level"] in ("high", "critical")]
            st["extra"] = sorted({f"{al['name']} [{al['level']}]" for al in window})
            if hi:
                bad_benign.append((st, hi))
            rows.append((st, "(no high/critical)", "FALSE POSITIVE" if hi else "clean",
                         ", ".join(st["extra"]) if st["extra"] else ""))

    # table
    w_label = max(len(r[0]["label"]) for r in rows)
    w_exp = max(len(r[1]) for r in rows)
    hdr = f"{'step':>4}  {'container':<10}  {'kind':<6}  {'label':<{w_label}}  {'expected detection':<{w_exp}}  {'result':<14}  attributed to"
    print(hdr)
    print("-" * len(hdr))
    for st, exp, res, att in rows:
        print(f"{st['step']:>4}  {st['container']:<10}  {st['kind']:<6}  {st['label']:<{w_label}}  {exp:<{w_exp}}  {res:<14}  {att}")

    print()
    extras = [(st, st["extra"]) for st in steps if st["kind"] == "attack" and st.get("extra")]
    if extras:
        print("additional detections on attack steps (not required):")
        for st, ex in extras:
            print(f"  step {st['step']} {st['label']}: {', '.join(ex)}")
    stray = collections.Counter(
        (al["name"], al["level"], al["container"] or "host/unattributed") for al in alerts if not al["used"])
    if stray:
        print("alerts outside every step window (container or host):")
        for (name, lvl, ctr), n in sorted(stray.items()):
            print(f"  {n:>3} x {name} [{lvl}] -> {ctr}")
    failed_exec = [st for st in steps if st.get("exit") not in ("0", 0)]
    if failed_exec:
        print("steps whose command exited non-zero (emulation problem, not a detection result):")
        for st in failed_exec:
            print(f"  step {st['step']} {st['label']}: exit {st['exit']}")

    attacks = sum(1 for r in rows if r[0]["kind"] == "attack")
    print()
    print(f"{attacks - misses} passed, {misses} failed: expected detections on {sum(1 for s in steps if s['kind'] == 'attack')} attack steps"
          f"; benign steps with high/critical alerts: {len(bad_benign)}; alerts total: {len(alerts)}")
    sys.exit(0 if misses == 0 and not bad_benign and not failed_exec else 1)


if __name__ == "__main__":
    main()
