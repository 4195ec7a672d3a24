#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
tests/seccomp-measure.py: the report of `make measure-seccomp`. Reads the
record that a SECCOMP_AUDIT=1 build writes with VIGIL_SECCOMP_MEASURE=FILE
(monitor/audit.c: one line per distinct call of a child, "<role> <syscall>
[argN=0xVALUE]", the argument being the one a profile line may test) and
sets it against the profiles.

usage: seccomp-measure.py [--made-on-purpose NAME,...] RECORD PROFILE_DIR
                          [ROLE...]

For each role (default: logger attach) it prints the calls seen with the
argument values seen, then every profile line as "seen" or "NOT SEEN",
then the calls seen that no line allows ("NOT ALLOWED"), and the counts
of distinct syscalls. Exits 1 when a seen call is not allowed: the
profile would kill a child in that run. --made-on-purpose names calls a
test makes on purpose (test_faults.py's logger.syscall and broker.syscall
failpoints): they are listed as "ON PURPOSE" and do not fail the report.

Constant names in conditions are resolved with the values of Linux on
x86-64 (and the generic ABI): the table mirrors common/profile.c.
"""

import collections
import re
import sys

CONSTS = {
    "F_DUPFD_CLOEXEC": 1030, "F_GETFD": 1, "F_SETFD": 2, "F_GETFL": 3,
    "F_SETFL": 4, "FD_CLOEXEC": 1, "O_NONBLOCK": 0o4000,
    "O_CLOEXEC": 0o2000000, "PROT_NONE": 0, "PROT_READ": 1, "PROT_WRITE": 2,
    "PROT_EXEC": 4, "MAP_SHARED": 1, "MAP_PRIVATE": 2, "MAP_ANONYMOUS": 0x20,
    "MAP_FIXED": 0x10, "AT_EMPTY_PATH": 0x1000, "TIOCSWINSZ": 0x5414,
    "TIOCGWINSZ": 0x5413, "TCGETS": 0x5401, "MSG_DONTWAIT": 0x40,
    "MSG_NOSIGNAL": 0x4000, "MSG_CMSG_CLOEXEC": 0x40000000,
    "MSG_TRUNC": 0x20, "SOCK_NONBLOCK": 0o4000, "SOCK_CLOEXEC": 0o2000000,
    "MADV_DONTNEED": 4, "MADV_FREE": 8, "SOL_SOCKET": 1, "SO_SNDBUF": 7,
}
# Role names as the reaper writes them -> profile file names.
ROLES = ("logger", "attach")


def value(word):
    v = 0
    for part in word.split("|"):
        v |= int(part, 0) if part[0].isdigit() else CONSTS[part]
    return v


def parse_profile(path):
    """[(line number, syscall, [(arg, op, mask, value)], text)]"""
    rules = []
    with open(path) as f:
        for n, raw in enumerate(f, 1):
            body = raw.split("#", 1)[0].split()
            if not body:
                continue
            name, rest, conds = body[0], body[1:], []
            i = 0
            while i < len(rest):
                if rest[i] == "errno":
                    break
                arg = int(rest[i][3:])
                if rest[i + 1] == "&":
                    conds.append((arg, "&", value(rest[i + 2]),
                                  value(rest[i + 4])))
                    i += 5
                else:
                    conds.append((arg, rest[i + 1], None, value(rest[i + 2])))
                    i += 3
            rules.append((n, name, conds, raw.rstrip("\n")))
    return rules


def matches(conds, arg, val):
    """Whether a call seen with argument `arg` = val (arg None: no argument
    recorded) satisfies every condition; a condition on another argument
    cannot be judged from the record and counts as met."""
    for carg, op, mask, want in conds:
        if arg is None or carg != arg:
            continue
        if op == "==" and val != want:
            return False
        if op == "!=" and val == want:
            return False
        if op == "&" and val & mask != want:
            return False
    return True


def main(argv):
    purpose = set()
    if argv[:1] == ["--made-on-purpose"]:
        purpose = set(argv[1].split(","))
        argv = argv[2:]
    if len(argv) < 2:
        print(__doc__.strip())
        return 2
    record, profdir = argv[0], argv[1]
    roles = argv[2:] or list(ROLES)
    seen = collections.defaultdict(set)   # role -> {(syscall, arg, val)}
    with open(record) as f:
        for line in f:
            w = line.split()
            if len(w) < 2:
                continue
            m = re.match(r"arg(\d)=0x([0-9a-f]+)$", w[2]) if len(w) > 2 \
                else None
            seen[w[0]].add((w[1], int(m.group(1)) if m else None,
                            int(m.group(2), 16) if m else None))
    bad = 0
    for role in roles:
        rules = parse_profile("%s/%s" % (profdir, role))
        calls = seen.get(role, set())
        print("== %s: %d distinct system calls seen, %d in the profile"
              % (role, len({c[0] for c in calls}),
                 len({r[1] for r in rules})))
        by_name = collections.defaultdict(list)
        for name, arg, val in sorted(calls, key=lambda c: (c[0], c[2] or 0)):
            by_name[name].append("" if arg is None else
                                 "arg%d=%#x" % (arg, val))
        for name in sorted(by_name):
            print("   seen       %-16s %s" % (name,
                                             " ".join(by_name[name])))
        for n, name, conds, text in rules:
            hit = any(c[0] == name and matches(conds, c[1], c[2])
                      for c in calls)
            print("   %-10s %s:%d  %s" % ("seen" if hit else "NOT SEEN",
                                          role, n, " ".join(text.split())))
        for name, arg, val in sorted(calls, key=lambda c: (c[0], c[2] or 0)):
            ok = any(r[1] == name and matches(r[2], arg, val)
                     for r in rules if "errno" not in r[3].split("#")[0])
            if not ok:
                what = "" if arg is None else "arg%d=%#x" % (arg, val)
                if name in purpose:
                    print("   ON PURPOSE  %s %s" % (name, what))
                    continue
                bad += 1
                print("   NOT ALLOWED %s %s" % (name, what))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
