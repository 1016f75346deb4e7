#!/usr/bin/python3
"""The payments workload: keeps a secret in its environment and on its heap, serves nothing."""
import os, sys, time
secret = bytearray(b"LABSECRET-" + os.environ.get("DB_PASSWORD", "hunter2").encode() + b"-" * 64)
open(sys.argv[1], "w").write(str(os.getpid()))
deadline = time.time() + float(sys.argv[2] if len(sys.argv) > 2 else 600)
while time.time() < deadline:
    time.sleep(0.2)
