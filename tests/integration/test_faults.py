# SPDX-License-Identifier: Apache-2.0
"""
tests/integration/test_faults.py: every failpoint of common/fault.h's
FAULT_LIST, switched on through VIGIL_FAULTS in the FAULTS=1 build
(harness.variant_conmon), each showing the outcome README "Fault
injection" promises, through the real binary and a real runc container;
and the release build, which must contain none of it.

The daemon's diagnostics after the detach go only to syslog, so every
case runs the monitor with --syslog in a private mount namespace whose
/dev/log is the test's own socket (test_enospc's wrapper, which also
carries a build variant); a thread reads it and keeps each message's
arrival time. In syslog a warning reads `conmon <id> <nwarn>: <text>`,
what stderr shows as `[conmon:w]: <text>`.
"""

import os
import re
import socket
import subprocess
import threading
import time

import harness
import test_enospc
from harness import (K8S_RE, Case, Skip, need_attach, read_file, read_k8s,
                     reconstruct, timeout, wait_for)

SYSCALLS = ("openat", "socket", "execve", "kill", "ptrace")


def faults_conmon():
    """build/variant-faults/conmon (or variant-sanitize-faults under
    `make SANITIZE=1 check`), built if needed."""
    return harness.variant_conmon("FAULTS=1")


def sanitize_build(path):
    return "-sanitize" in path


class Syslog:
    """The case's private /dev/log, read by a thread: [(monotonic time,
    text)]."""

    def __init__(self, c):
        self.sock, _saved = test_enospc._private_devlog(c)
        self.msgs = []
        self.lock = threading.Lock()
        self.done = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        c.on_cleanup(self.close)

    def _run(self):
        self.sock.settimeout(0.05)
        while not self.done:
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.msgs.append((time.monotonic(),
                                  data.decode("utf-8", "replace")))

    def close(self):
        self.done = True
        self.thread.join(2)
        self.sock.close()

    def timed(self, needle):
        """[(time, text)] of the messages containing needle (a str or a
        compiled pattern)."""
        with self.lock:
            msgs = list(self.msgs)
        if isinstance(needle, str):
            return [(t, m) for t, m in msgs if needle in m]
        return [(t, m) for t, m in msgs if needle.search(m)]

    def grep(self, needle):
        return [m for _t, m in self.timed(needle)]

    def wait(self, needle, timeout=harness.DEADLINE, count=1):
        wait_for(lambda: len(self.grep(needle)) >= count, timeout,
                 "%d syslog message(s) with %r; got %r" % (
                     count, needle, self.all()[-10:]))
        return self.grep(needle)

    def all(self):
        with self.lock:
            return [m for _t, m in self.msgs]


def warning(text):
    """A warning as it reaches syslog (spec 1.6)."""
    return "<nwarn>: " + text


def fault_case(c, faults, extra=(), **kw):
    """Start c's container under the FAULTS build with VIGIL_FAULTS=faults
    and --syslog into a private /dev/log. Returns (Monitor, Syslog)."""
    c.conmon = faults_conmon()
    log = Syslog(c)
    env = dict(kw.pop("env", {}) or {})
    env["VIGIL_FAULTS"] = faults
    m = c.start(extra=["--syslog"] + list(extra), env=env, **kw)
    # fault_init(): every armed failpoint is announced (before the detach
    # on stderr, and to syslog)
    for f in faults.split(","):
        name, _, val = f.partition("=")
        want = "fault injection: %s=%s armed" % (name, val or "1")
        assert want in m.stderr(), "no %r in the launcher's stderr %r" % (
            want, m.stderr())
    return m, log


def numbered(prefix, n, width=60):
    """The bytes of `n` lines `<prefix><i> xx..x` padded to `width`, as
    the container script of numbered_script() prints them."""
    out = []
    for i in range(1, n + 1):
        head = "%s%06d " % (prefix, i)
        out.append(head + "x" * (width - len(head)) + "\n")
    return "".join(out).encode()


def numbered_script(prefix, n, width=60, fd=1):
    """A busybox sh loop printing numbered() lines to fd."""
    pad = "x" * (width - len(prefix) - 7)
    return ("i=1; while [ $i -le %d ]; do printf '%s%%06d %s\\n' $i; "
            "i=$((i+1)); done >&%d" % (n, prefix, pad, fd))


def log_output(c, stream=None):
    return reconstruct(read_k8s(c.log_path), stream)


def assert_whole_records(c):
    """Every line of the log is one whole k8s-file record (no torn
    record, security 26)."""
    data = read_file(c.log_path, "rb")
    assert data.endswith(b"\n") or not data, \
        "log ends in a torn record: %r" % data[-120:]
    for i, line in enumerate(data.split(b"\n")[:-1], 1):
        assert K8S_RE.match(line), \
            "log line %d is not a whole record: %r" % (i, line[:200])
    return data


# --------------------------------------------------------------------------
# logger.syscall, broker.syscall (issue 7, security 39)

def _logger_syscall(name):
    """logger.syscall=NAME: the first logger makes the forbidden call
    before its first read; it traps, the reaper logs `[conmon:w]:
    logger: forbidden system call NAME`, and the respawned logger reads
    the whole output still in the pipes; exit file right."""
    with Case() as c:
        out = numbered("L", 3000)
        c.bundle(["/bin/sh", "-c", numbered_script("L", 3000) +
                  "; echo to-stderr >&2; exit 7"])
        m, log = fault_case(c, "logger.syscall=" + name)
        c.runc_start()
        assert c.wait_exit() == "7", "exit file"
        if sanitize_build(c.conmon) and name == "openat":
            # tests/sanitize.seccomp refuses openat with EACCES (ASan's
            # reports open /proc/self/...): the call never runs either
            log.wait("fault injection: openat was not trapped")
            print("openat: refused with an errno in the SANITIZE build "
                  "(tests/sanitize.seccomp), not trapped")
            return
        log.wait(warning("logger: forbidden system call %s" % name))
        died = log.wait(re.compile(r"logger \(pid \d+\) exited with "
                                   r"status 1"))
        got = log_output(c, "stdout")
        assert got == out, "stdout in the log: %d bytes, want %d " \
            "(first difference at %d)" % (
                len(got), len(out),
                next((i for i, (a, b) in enumerate(zip(got, out))
                      if a != b), min(len(got), len(out))))
        assert log_output(c, "stderr") == b"to-stderr\n"
        assert not log.grep("not trapped"), log.grep("not trapped")
        # one-shot: the respawned logger ran clean
        traps = log.grep("forbidden system call")
        assert len(traps) == 1, "forbidden calls reported: %r" % traps
        print("%s: trapped and named, %s; the respawned logger wrote all "
              "%d bytes" % (name, died[0].split("<nwarn>: ", 1)[-1],
                            len(got)))


def _broker_syscall(name):
    """broker.syscall=NAME: the first broker makes the forbidden call
    right after its HELLO; it traps and is named, and the respawned
    broker serves an attach client; the log is complete."""
    need_attach()
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "i=0; while [ ! -e /shared/stop ]; do echo tick$i; "
                  "i=$((i+1)); sleep 0.05; done; echo done; exit 5"],
                 shared=True)
        m, log = fault_case(c, "broker.syscall=" + name)
        c.runc_start()
        if sanitize_build(c.conmon) and name == "openat":
            log.wait("fault injection: openat was not trapped")
            print("openat: refused with an errno in the SANITIZE build")
            c.touch_shared("stop")
            assert c.wait_exit() == "5"
            return
        log.wait(warning("attach: forbidden system call %s" % name))
        log.wait(re.compile(r"attach \(pid \d+\) exited with status 1"))
        # the respawned broker accepts and gets the output
        cl = c.attach()
        cl.wait_output(b"tick10\n")
        c.touch_shared("stop")
        cl.wait_output(b"done\n")
        assert c.wait_exit() == "5", "exit file"
        lines = log_output(c).decode().split()
        assert lines[-1] == "done", lines[-3:]
        ticks = [int(x[4:]) for x in lines[:-1]]
        assert ticks == list(range(len(ticks))), "ticks lost in the log"
        traps = log.grep("forbidden system call")
        assert len(traps) == 1, "forbidden calls reported: %r" % traps
        print("%s: trapped and named; respawned broker served a client "
              "(%d bytes), log complete (%d lines)" % (
                  name, len(cl.output()), len(lines)))


def _make(fn, name):
    def test():
        fn(name)
    test.__doc__ = fn.__doc__
    return test


for _n in SYSCALLS:
    globals()["test_sec39_logger_syscall_" + _n] = _make(_logger_syscall, _n)
for _n in SYSCALLS:
    globals()["test_sec39_broker_syscall_" + _n] = _make(_broker_syscall, _n)
del _n
