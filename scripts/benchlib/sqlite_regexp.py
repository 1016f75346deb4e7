"""SQLite's REGEXP for pySigma's SQL: Python's `re`, each pattern compiled once (shared by
scripts/oracle and the benchmark's peer)."""
import re


def install(con):
    cache = {}

    def regexp(pat, val):
        if val is None:
            return 0
        r = cache.get(pat)
        if r is None:
            r = cache[pat] = re.compile(pat)
        return 1 if r.search(val if isinstance(val, str) else str(val)) else 0

    con.create_function("REGEXP", 2, regexp, deterministic=True)
