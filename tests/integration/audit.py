#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
tests/integration/audit.py: `make audit-seccomp` (security.md "Auditing the
profiles" 3). For each sandboxed role it prints the embedded profile
(`conmon --print-seccomp-profile ROLE`) and its filter in libseccomp's PFC
(`conmon --export-seccomp-pfc ROLE`). Then it starts a busybox container
under runc through $CONMON, finds the running children by their titles
(`conmon: logger <id>`, `conmon: attach <id>`), reads the program each one
has loaded (PTRACE_SECCOMP_GET_FILTER, through $SECCOMP_DUMP, which needs
CAP_SYS_ADMIN) and compares it with seccomp_export_bpf of its profile. It
prints the difference, empty when they match, and exits 1 if any differs.
test_sandbox.py runs the same comparison in `make check`.

usage: CONMON=build/conmon SECCOMP_DUMP=build/tests/seccomp-dump \\
       python3 tests/integration/audit.py
"""

import difflib
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True      # no __pycache__ in the source tree

import harness  # noqa: E402

ROLES = ("logger", "attach")
SECCOMP_DUMP = os.path.abspath(os.environ.get("SECCOMP_DUMP") or os.path.join(
    harness.REPO, "build", "tests", "seccomp-dump"))


def dump(*args):
    """seccomp-dump's text, or an AssertionError with its stderr."""
    if not os.access(SECCOMP_DUMP, os.X_OK):
        raise harness.Skip("no %s (make %s)" % (
            SECCOMP_DUMP, os.path.relpath(SECCOMP_DUMP, harness.REPO)))
    p = subprocess.run([SECCOMP_DUMP] + list(args), capture_output=True,
                       text=True, timeout=30)
    if p.returncode != 0:
        raise AssertionError("seccomp-dump %s: status %d: %s" % (
            " ".join(args), p.returncode, p.stderr.strip()))
    return p.stdout


def sandboxed_children(daemon):
    """{role: pid} of the daemon's `conmon: ROLE <id>` children."""
    kids = {}
    for p in harness.children(daemon):
        title = harness.proc_cmdline_raw(p).split(b"\0")[0].decode(
            errors="replace")
        for role in ROLES:
            if title.startswith("conmon: %s " % role):
                kids[role] = p
    return kids


def compare(role, pid):
    """(diff lines, expected text): the filter pid has loaded against
    seccomp_export_bpf of role's profile; no lines when they match."""
    want = dump("profile", role)
    got = dump("loaded", str(pid))
    diff = list(difflib.unified_diff(
        want.splitlines(), got.splitlines(),
        "%s profile (seccomp_export_bpf)" % role,
        "%s pid %d (PTRACE_SECCOMP_GET_FILTER)" % (role, pid), lineterm=""))
    return diff, want


def running_children(case):
    """Start a container that keeps running, with an attach socket and a
    stdin pipe, and an attach client that comes and goes (the broker
    starts on demand, README "How the processes fit"); {role: pid} once
    both are there and sandboxed (Seccomp: 2)."""
    case.bundle(["/bin/sleep", "1000"])
    case.start(extra=["-i", "--leave-stdin-open"])
    case.runc_start()
    case.start_broker()
    d = case.daemon_pid()

    def ready():
        kids = sandboxed_children(d)
        if set(kids) != set(ROLES):
            return None
        for p in kids.values():
            if harness.proc_status(p).get("Seccomp") != "2":
                return None
        return kids
    return harness.wait_for(ready, what="a sandboxed `conmon: logger` and "
                            "`conmon: attach` child")


def inspect_roles(out):
    """Print each role's profile and PFC through the monitor's options."""
    for role in ROLES:
        for opt in ("--print-seccomp-profile", "--export-seccomp-pfc"):
            p = harness.run_conmon([opt, role])
            print("==> conmon %s %s" % (opt, role), file=out)
            if p.returncode != 0:
                raise AssertionError("conmon %s %s: status %d: %s" % (
                    opt, role, p.returncode, p.stderr.strip()))
            out.write(p.stdout)


def audit(out=sys.stdout):
    """The loaded filters of both children against their profiles; prints
    each difference and returns the roles that differ."""
    differ = []
    with harness.Case("audit-seccomp") as c:
        kids = running_children(c)
        for role in ROLES:
            diff, want = compare(role, kids[role])
            n = want.splitlines()[0] if want else "no filter"
            print("==> %s (pid %d): loaded filter against its profile, %s: "
                  "%s" % (role, kids[role], n,
                          "differs" if diff else "identical"), file=out)
            for line in diff:
                print(line, file=out)
            if diff:
                differ.append(role)
        c.runc_kill("KILL")
        c.wait_exit()
    return differ


def main():
    if os.geteuid() != 0:
        print("audit-seccomp: needs root (runc, and CAP_SYS_ADMIN for "
              "PTRACE_SECCOMP_GET_FILTER)", file=sys.stderr)
        return 1
    try:
        inspect_roles(sys.stdout)
        differ = audit()
    except (AssertionError, harness.Skip) as e:
        print("audit-seccomp: %s" % e, file=sys.stderr)
        return 1
    if differ:
        print("audit-seccomp: the loaded filter differs from the profile "
              "for: %s" % ", ".join(differ), file=sys.stderr)
        return 1
    print("audit-seccomp: every running child's filter is its profile's")
    return 0


if __name__ == "__main__":
    sys.exit(main())
