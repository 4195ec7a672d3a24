# SPDX-License-Identifier: Apache-2.0
"""
tests/integration/test_audit.py: audit mode (issue 7, security.md
"Seccomp policy"), which only SECCOMP_AUDIT=1 builds have. There a call
the profile does not allow raises a seccomp user notification; the reaper,
holding the child's listener (pidfd_getfd), logs `[conmon:w]: <role>:
forbidden system call <name> (audit mode: allowed)` once per distinct call
and child and answers CONTINUE: the call runs and the child lives.

The proof uses the SECCOMP_AUDIT=1 FAULTS=1 build and the failpoint
logger.syscall=NAME (common/fault.h), with which the first logger makes
NAME once, with harmless arguments, before its first read. The enforce
half (the call traps, the logger dies and is respawned) is test_faults.py's.
Diagnostics after the detach go only to syslog: test_faults.Syslog reads
the case's private /dev/log.
"""

import os
import re
import subprocess

import harness
import test_faults
from harness import Case, Skip, read_file, wait_for

WARNING = ("this is a SECCOMP_AUDIT build: forbidden system calls of the "
           "children are logged and allowed")


def audit_conmon():
    return harness.variant_conmon("SECCOMP_AUDIT=1", "FAULTS=1")


def logger_pids(daemon):
    """Live children of the daemon titled `conmon: logger ...`."""
    return [p for p in harness.children(daemon)
            if (harness.proc_cmdline_raw(p) or b"").startswith(
                b"conmon: logger")]


def _audit_logger_syscall(name):
    """logger.syscall=NAME in the audit build: the call is reported once
    in syslog as allowed, the logger keeps its pid to the end (no death,
    no respawn), the log has every line of both stdout batches and the
    stderr line, and the exit file says 7."""
    with Case() as c:
        first = test_faults.numbered("A", 2000)
        second = test_faults.numbered("B", 2000)
        c.bundle(["/bin/sh", "-c",
                  test_faults.numbered_script("A", 2000) +
                  "; until [ -e /shared/go ]; do sleep 0.02; done; " +
                  test_faults.numbered_script("B", 2000) +
                  "; echo to-stderr >&2"
                  "; until [ -e /shared/end ]; do sleep 0.02; done; exit 7"],
                 shared=True)
        c.conmon = c.conmon_built = audit_conmon()
        log = test_faults.Syslog(c)
        m = c.start(extra=["--syslog"],
                    env={"VIGIL_FAULTS": "logger.syscall=" + name})
        assert "[conmon:w]: " + WARNING in m.stderr(), \
            "no audit warning on the launcher's stderr: %r" % m.stderr()
        log.wait(test_faults.warning(WARNING))
        c.runc_start()
        want = "logger: forbidden system call %s (audit mode: allowed)" % name
        refused = test_faults.sanitize_build(c.conmon_built) and \
            name == "openat"
        if refused:
            # tests/sanitize.seccomp refuses openat with EACCES in the
            # SANITIZE build: no notification, the call fails at once
            want = "fault injection: openat was not trapped"
        log.wait(test_faults.warning(want) if not refused else want)
        wait_for(lambda: test_faults.log_output_so_far(c, "stdout") == first,
                 what="the first batch in the log")
        daemon = c.daemon_pid()
        before = logger_pids(daemon)
        assert len(before) == 1, "loggers: %r" % before
        c.touch_shared("go")
        wait_for(lambda: test_faults.log_output_so_far(c, "stdout") ==
                 first + second and
                 test_faults.log_output_so_far(c, "stderr") ==
                 b"to-stderr\n",
                 what="both batches and the stderr line in the log")
        assert logger_pids(daemon) == before, \
            "the logger changed: %r, then %r" % (before, logger_pids(daemon))
        c.touch_shared("end")
        assert c.wait_exit() == "7", "exit file"
        deaths = log.grep(re.compile(r"logger \(pid \d+\) (exited|killed)"))
        assert not deaths, "the logger died: %r" % deaths
        reports = log.grep(re.compile(r"<nwarn>: [a-z]+: forbidden system "
                                      r"call "))
        assert reports == log.grep(want) and len(reports) == 1 or \
            refused and not reports, "reports: %r" % reports
        print("%s: reported once as allowed; logger pid %d kept; %d "
              "bytes logged; exit 7" % (name, before[0],
                                        len(first) + len(second)))


def _make(name):
    def test():
        _audit_logger_syscall(name)
    test.__doc__ = _audit_logger_syscall.__doc__
    return test


for _n in test_faults.SYSCALLS:
    globals()["test_sec39_audit_logger_syscall_" + _n] = _make(_n)
del _n


def test_release_build_has_no_audit_mode():
    """The release build has none of audit mode: no warning text, no
    audit symbol, no VIGIL_SECCOMP_MEASURE name, and its filter's default
    action is the trap (it never asks for a listener)."""
    path = harness.CONMON
    if path != os.path.join(harness.REPO, "build", "conmon"):
        raise Skip("CONMON is not this tree's release build/conmon")
    data = read_file(path, "rb")
    for needle in (WARNING.encode(), b"VIGIL_SECCOMP_MEASURE",
                   b"audit mode: allowed"):
        assert needle not in data, "%r in %s" % (needle, path)
    syms = subprocess.run(["nm", path], capture_output=True, text=True)
    if syms.returncode == 0:
        assert "mon_audit_" not in syms.stdout, "audit symbols in %s" % path


# --------------------------------------------------------------------------
# Enforce mode with the measured profiles (issue 7 "Proof": no kills in a
# normal run). Each child path a profile line is for runs once here under
# the release build's filter, with --syslog into a private /dev/log: a
# call the profile lacks would trap and be named there, and the child's
# death said.

TROUBLE = re.compile(r"forbidden system call|\((?:pid \d+)\) (?:exited|killed)"
                     r"|protocol violation")


def _enforce_case(c):
    if harness.is_reference():
        raise Skip("vigil's sandbox: the reference conmon has none")
    log = test_faults.Syslog(c)
    return log


def _assert_quiet(log):
    bad = log.grep(TROUBLE)
    assert not bad, "a child was stopped (%d messages): %r" % (len(bad),
                                                              bad[:4])


def test_enforce_pipes_attach_reopen_drain_quiet():
    """-i with an attach client (stdin in, output out), a 4 KiB
    --log-size-max (reopens), ctl `2 0 0`, both streams, the drain:
    the exit file says 5, every line is logged, and syslog names no
    forbidden call, no child death and no protocol violation."""
    harness.need_attach("-i")
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "read x; echo got $x; " +
                  test_faults.numbered_script("O", 500) + "; " +
                  test_faults.numbered_script("E", 500, fd=2) +
                  "; until [ -e /shared/end ]; do sleep 0.02; done; exit 5"],
                 shared=True)
        log = _enforce_case(c)
        c.start(extra=["--syslog", "-i", "--log-size-max", "4096"])
        cl = c.attach()
        c.runc_start()
        # before any output: the size limit's own reopens come later, so
        # the barrier's new file is the one `2 0 0` asked for
        c.ctl_barrier()
        cl.send(b"hello\n")
        cl.wait_output(b"got hello\n")
        cl.wait_output(test_faults.numbered("O", 500)[-64:])
        c.touch_shared("end")
        assert c.wait_exit() == "5", "exit file"
        cl.read_to_eof()
        _assert_quiet(log)
        print("pipes, stdin, attach, reopens, drain: no forbidden call")


def test_enforce_terminal_resize_quiet():
    """-t -i: output through the pty, input from an attach client, a
    resize through ctl and winsz, a reopen, the drain: the exit file says
    3 and syslog names no forbidden call, death or protocol violation."""
    harness.need_attach("-t", "-i")
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "echo start; read x; echo got $x; exit 3"], terminal=True)
        log = _enforce_case(c)
        c.start(extra=["--syslog", "-t", "-i"])
        cl = c.attach()
        c.runc_start()
        cl.wait_output(b"start\r\n")
        c.fifo_write(b"1 40 120\n")
        c.fifo_write(b"50 150\n", name="winsz")
        c.ctl_barrier()
        cl.send(b"hello\n")
        cl.wait_output(b"got hello\r\n")
        assert c.wait_exit() == "3", "exit file"
        cl.read_to_eof()
        _assert_quiet(log)
        print("terminal, resize, stdin, reopen, drain: no forbidden call")
