# SPDX-License-Identifier: Apache-2.0
"""The monitor under valgrind (issue 8; style.md "Build"): a VALGRIND=1
build runs the reaper, the logger and the broker under memcheck through a
container's whole life (output on both streams, stdin from an attach
client, a log reopen and a rotation through ctl, a second client, exit):
not one error and no leak in any of the three processes. The children
load their filter (with tests/valgrind.seccomp's additions, which valgrind
itself needs) and leave through _exit, the reaper through exit after
freeing everything (monitor/life.c).

valgrind writes its reports to a pipe (--log-fd): a log file would break
the broker's RLIMIT_FSIZE of 0, and a pipe is what a sandboxed child may
write to anyway."""

import os
import re
import shutil
import subprocess

import harness
from harness import Case, Skip, timeout, variant_conmon, wait_for

# valgrind's notes about system calls it does not know (seccomp, pidfd_*):
# the program copes with ENOSYS; anything else in a report is a finding.
UNHANDLED = re.compile(
    r"^--\d+-- (WARNING: unhandled amd64-linux syscall: \d+|"
    r"You may be able to write your own handler\.|"
    r"Read the file README_MISSING_SYSCALL_OR_IOCTL\.|"
    r"Nevertheless we consider this a bug\.  Please report|"
    r"it at http://valgrind\.org/support/bug_reports\.html\.)$")


def _wrapper(c):
    """A script in the case directory that runs the VALGRIND=1 monitor
    under memcheck, all reports of all three processes to one file
    through a pipe."""
    variant = os.path.basename(os.path.dirname(harness.CONMON))
    if variant.startswith("variant-") and "sanitize" in variant.split("-"):
        raise Skip("ASan and valgrind cannot share a process: the "
                   "valgrind test belongs to the plain `make check`")
    vg = shutil.which("valgrind")
    if vg is None:
        raise Skip("no valgrind (apt-get install valgrind; tests/deps.sh)")
    binary = variant_conmon("VALGRIND=1")
    report = os.path.join(c.dir, "valgrind.report")
    path = os.path.join(c.dir, "vg-conmon")
    with open(path, "w") as f:
        f.write("#!/bin/bash\n"
                "exec 9> >(exec cat >> %s)\n"
                "exec %s -q --leak-check=full "
                "--show-leak-kinds=definite,indirect,possible "
                "--errors-for-leak-kinds=definite,indirect,possible "
                "--track-fds=no --log-fd=9 %s \"$@\"\n"
                % (report, vg, binary))
    os.chmod(path, 0o755)
    return path, report


@timeout(180)
def test_monitor_under_valgrind_no_errors_no_leaks():
    deadline = 60   # valgrind is 20-50x slower than the real thing
    with Case() as c:
        c.conmon, report = _wrapper(c)
        c.bundle(["/bin/sh", "-c",
                  "echo out-one; echo err-one >&2; "
                  "while read l; do echo \"got $l\"; done; echo out-last"])
        c.start(extra=["-i", "--log-level", "debug"])
        daemon = c.daemon_pid()
        exe = os.readlink("/proc/%d/exe" % daemon)
        assert "memcheck" in os.path.basename(exe), \
            "the daemon is %s, not valgrind's memcheck" % exe
        first = c.attach(timeout=deadline)
        c.runc_start()
        first.wait_output("out-one\n", timeout=deadline)
        first.send("alpha\n")
        first.wait_output("got alpha\n", timeout=deadline)
        c.ctl_barrier(timeout=deadline)         # `2 0 0`: a log reopen
        second = c.attach(timeout=deadline)
        second.send("beta\n")
        second.wait_output("got beta\n", timeout=deadline)
        first.wait_output("got beta\n", timeout=deadline)
        second.shutdown_wr()                    # stdin EOF: the loop ends
        assert c.wait_exit(timeout=deadline) == "0", "exit file"
        first.read_to_eof(timeout=deadline)
        second.read_to_eof(timeout=deadline)
        c.wait_gone(daemon, timeout=deadline)
        # the reopen (`2 0 0`) put a new file at the log path: it holds
        # what came after it; the client saw what came before
        log = b"\n".join(r[3] for r in c.log())
        for want in (b"got beta", b"out-last"):
            assert want in log, "log lacks %r: %r" % (want, log)
        for want in (b"out-one", b"err-one", b"got alpha"):
            assert want.decode() in first.output().decode(), \
                "client lacks %r: %r" % (want, first.output())
        # the reporting cat ends once every writer is gone
        wait_for(lambda: not any(
            "valgrind.report" in open("/proc/%s/cmdline" % p, "rb").read()
            .decode(errors="replace")
            for p in os.listdir("/proc") if p.isdigit()
            and os.path.exists("/proc/%s/cmdline" % p)), deadline,
            "valgrind's report pipe to close")
        with open(report, errors="replace") as f:
            lines = f.read().splitlines()
        findings = [l for l in lines if l.strip() and not UNHANDLED.match(l)]
        unknown = sorted({l.split(": ")[-1] for l in lines
                          if "unhandled amd64-linux syscall" in l})
        print("valgrind: %d report lines, %d findings; unhandled syscalls "
              "(ENOSYS to the program): %s"
              % (len(lines), len(findings), " ".join(unknown) or "none"))
        assert not findings, "valgrind found:\n" + "\n".join(findings[:60])
