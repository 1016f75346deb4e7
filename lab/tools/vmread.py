#!/usr/bin/python3
"""process_vm_readv stand-in: copy the target's first heap page without ptrace.
Usage: vmread.py PID"""
import ctypes, sys
pid = int(sys.argv[1])
class iovec(ctypes.Structure):
    _fields_ = [("base", ctypes.c_void_p), ("len", ctypes.c_size_t)]
libc = ctypes.CDLL(None, use_errno=True)
for line in open(f"/proc/{pid}/maps"):
    if "[heap]" in line:
        lo = int(line.split("-")[0], 16)
        break
else:
    sys.exit("no heap")
buf = ctypes.create_string_buffer(4096)
local, remote = iovec(ctypes.cast(buf, ctypes.c_void_p), 4096), iovec(lo, 4096)
n = libc.process_vm_readv(pid, ctypes.byref(local), 1, ctypes.byref(remote), 1, 0)
print("read", n, "bytes", "errno", ctypes.get_errno())
sys.exit(0 if n > 0 else 1)
