#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
bench/mempages.py: which pages an idle container's monitor processes keep
private, and why (root: /proc/PID/pagemap and /proc/kpagecount).

    python3 bench/mempages.py BUILD/conmon [N] [--detail]

Starts N idle containers (default 10) the way bench figure 1 does, then
for the middle one prints, per process, its PSS and the present pages of
each writable mapping: private (map count 1) or shared. A page any of the
container's processes writes after a fork is private in each of them (the
writer's copy and the others' orphaned original), so the totals are the
pages someone wrote. --detail lists the private pages, with the symbols of
the binary's .data/.bss on each (nm), to find who writes them.
"""

import bisect
import os
import struct
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("QUICK", "1")
import bench as B  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


def mappings(pid, exe):
    """[(lo, hi, label)] of pid's writable private mappings and relro."""
    out, prev, prev_exe = [], None, False
    for line in open("/proc/%d/maps" % pid):
        f = line.split(None, 5)
        lo, hi = (int(x, 16) for x in f[0].split("-"))
        name = f[5].strip() if len(f) > 5 else ""
        if "vsyscall" in name:
            continue
        if name == exe:
            label = {"r--p": "ro", "r-xp": "text", "rw-p": "data"}.get(
                f[1], f[1])
            if label == "data" and out and out[-1][2] == "ro":
                out[-1] = out[-1][:2] + ("relro",)
        elif name == "" and prev == lo and prev_exe:
            label = "bss"
        elif name.startswith("["):
            label = name.strip("[]")
        else:
            label = "anon" if not name else "file"
        prev, prev_exe = hi, name == exe
        out.append((lo, hi, label))
    return out


def pages(pid, lo, hi):
    """{address: map count} of the present pages in [lo, hi)."""
    res = {}
    with open("/proc/%d/pagemap" % pid, "rb") as pm, \
            open("/proc/kpagecount", "rb") as kc:
        pm.seek(lo // PAGE * 8)
        raw = pm.read((hi - lo) // PAGE * 8)
        for i in range(len(raw) // 8):
            e = struct.unpack_from("Q", raw, i * 8)[0]
            if not e >> 63 & 1:
                continue
            kc.seek((e & ((1 << 55) - 1)) * 8)
            res[lo + i * PAGE] = struct.unpack("Q", kc.read(8))[0]
    return res


def symbols(exe):
    syms = []
    nm = subprocess.run(["nm", "-n", "-S", exe], capture_output=True,
                        text=True).stdout
    for line in nm.splitlines():
        f = line.split()
        if len(f) == 4 and f[2] in "bBdD":
            syms.append((int(f[0], 16), int(f[1], 16), f[3]))
    return syms


def on_page(syms, keys, rel):
    i = bisect.bisect_right(keys, rel) - 1
    while i > 0 and syms[i - 1][0] + syms[i - 1][1] > rel:
        i -= 1
    names = []
    for a, size, name in syms[max(i, 0):]:
        if a >= rel + PAGE:
            break
        if a + size > rel and size >= 64:
            names.append("%s(%d)" % (name, size))
    return " ".join(names[:10])


def report(pid, detail):
    exe = os.readlink("/proc/%d/exe" % pid)
    maps = mappings(pid, exe)
    base = None
    for line in open("/proc/%d/maps" % pid):
        f = line.split()
        if len(f) > 5 and f[5] == exe:
            lo = int(f[0].split("-")[0], 16)
            base = lo - int(f[2], 16) if base is None else base
    syms = symbols(exe) if detail else []
    keys = [s[0] for s in syms]
    agg, rows = {}, []
    for lo, hi, label in maps:
        if label in ("text", "ro", "vdso", "vvar"):
            continue
        for a, count in sorted(pages(pid, lo, hi).items()):
            a_p = agg.setdefault(label, [0, 0])
            a_p[0 if count == 1 else 1] += 1
            if detail and count == 1:
                sym = on_page(syms, keys, a - base) \
                    if label in ("data", "bss", "relro") else ""
                rows.append("    %x %-5s %s" % (a, label, sym))
    pss = [ln for ln in open("/proc/%d/smaps_rollup" % pid)
           if ln.startswith("Pss:")][0].split()[1]
    title = open("/proc/%d/cmdline" % pid, "rb").read().split(b"\0")[0]
    private = sum(v[0] for v in agg.values())
    print("%7d %-24s PSS %4s kB, private %2d pages: %s" % (
        pid, title.decode(errors="replace")[:24], pss, private,
        " ".join("%s %d/%d" % (k, v[0], v[1]) for k, v in agg.items())))
    for r in rows:
        print(r)


def main():
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    detail = "--detail" in sys.argv
    if not args:
        sys.exit(__doc__)
    mon = B.Monitor("vigil", os.path.abspath(args[0]), True)
    n = int(args[1]) if len(args) > 1 else 10
    runs = []
    try:
        for i in range(n):
            run = B.Run(mon, "mempages_%d" % i)
            runs.append(run)
            run.c.bundle(["/bin/sleep", "1000000"])
            run.launch(run.c.args())
            run.c.runc_start()
        kids = B.ppid_map()
        groups = [B.monitor_pids(r.c.daemon_pid(), r.c.container_pid, kids)
                  for r in runs]
        time.sleep(2.0)  # past the reaper's idle trim
        print("private/shared present pages per mapping (label "
              "private/shared); container %d of %d:" % (n // 2 + 1, n))
        for p in groups[n // 2]:
            report(p, detail)
    finally:
        for r in runs:
            r.finish()


if __name__ == "__main__":
    main()
