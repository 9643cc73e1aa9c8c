#!/usr/bin/env python3
"""l1-regs.py <qemu monitor socket> [System.map]: sample the L1 CPU's
registers a few times through the QEMU monitor (used when L1 froze) and
name the kernel symbol at RIP (L1 boots with nokaslr)."""
import bisect
import re
import socket
import sys
import time


def main():
    syms = []
    if len(sys.argv) > 2:
        try:
            with open(sys.argv[2]) as f:
                for line in f:
                    p = line.split()
                    if len(p) == 3 and p[1] in "tTwW":
                        syms.append((int(p[0], 16), p[2]))
        except OSError:
            pass
    syms.sort()
    addrs = [a for a, _ in syms]
    s = socket.socket(socket.AF_UNIX)
    s.connect(sys.argv[1])
    s.settimeout(2)

    def rd():
        d = b""
        try:
            while True:
                c = s.recv(65536)
                if not c:
                    break
                d += c
        except socket.timeout:
            pass
        return d.decode(errors="replace")

    rd()
    for i in range(5):
        s.sendall(b"info registers\n")
        time.sleep(0.5)
        out = rd()
        m = re.search(r"RIP=([0-9a-f]+)", out)
        name = "?"
        if m and addrs:
            rip = int(m.group(1), 16)
            k = bisect.bisect_right(addrs, rip) - 1
            if k >= 0 and rip - addrs[k] < 0x100000:
                name = f"{syms[k][1]}+{rip - addrs[k]:#x}"
            else:
                name = "(not in vmlinux: a module or user space)"
        print(f"sample {i}: RIP={m.group(1) if m else '?'} {name}")
        print("\n".join(l for l in out.splitlines() if "=" in l and "\x1b" not in l))
        time.sleep(1)


main()
