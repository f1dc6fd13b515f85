#!/usr/bin/env python3
"""How long this machine takes to fault in fresh memory: maps GIB GiB of
anonymous memory, optionally asks for transparent huge pages, and writes one
byte per 4 KiB page. Run it twice: the first run on memory the guest never
touched also pays for the host backing it (BENCHMARKS.md, "a build on both
cores").

    python3 benches/touch-memory.py 4 huge    # or: 4 small
"""
import mmap
import sys
import time

gib = int(sys.argv[1]) if len(sys.argv) > 1 else 1
mode = sys.argv[2] if len(sys.argv) > 2 else "small"
size = gib << 30
m = mmap.mmap(-1, size, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
if mode == "huge":
    m.madvise(mmap.MADV_HUGEPAGE)
started = time.time()
for at in range(0, size, 4096):
    m[at] = 1
print("touch %d GiB (%s pages): %.2f s" % (gib, mode, time.time() - started))
