#!/usr/bin/python3
"""Credential-harvesting stand-in: read a target's heap through /proc/<pid>/mem.
Usage: memdump.py /proc/<pid>/mem  (prints whether the lab secret was found)."""
import re, sys
mem = sys.argv[1]
maps = mem.rsplit("/", 1)[0] + "/maps"
found = False
with open(maps) as m, open(mem, "rb", 0) as f:
    for line in m:
        lo, hi = (int(x, 16) for x in line.split()[0].split("-"))
        if "rw-p" not in line or hi - lo > 64 << 20:
            continue
        try:
            f.seek(lo)
            if b"LABSECRET-" in f.read(hi - lo):
                found = True
                break
        except OSError:
            continue
print("secret found" if found else "secret not found")
