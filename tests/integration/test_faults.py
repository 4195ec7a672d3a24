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

import fcntl
import os
import re
import socket
import subprocess
import threading
import time

import harness
import test_enospc
from harness import (K8S_RE, Case, Skip, need_attach, need_exec, read_file,
                     read_k8s, reconstruct, timeout, wait_for)

SYSCALLS = ("openat", "socket", "execve", "kill", "ptrace")


def faults_conmon():
    """build/variant-faults/conmon (or variant-sanitize-faults under
    `make SANITIZE=1 check`), built if needed."""
    return harness.variant_conmon("FAULTS=1")


def sanitize_build(path):
    return "-sanitize" in path


def need_enforcing(path):
    """A SECCOMP_AUDIT=1 build lets a forbidden call run and logs it
    (security.md "audit mode"), by design: the trap tests are for
    enforcing builds."""
    if "-audit" in os.path.basename(os.path.dirname(path)):
        raise Skip("audit mode lets forbidden calls run (SECCOMP_AUDIT=1)")


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


def log_output_so_far(c, stream=None):
    """log_output() while the logger may be writing (read_k8s_so_far)."""
    recs = harness.read_k8s_so_far(c.log_path)
    return None if recs is None else reconstruct(recs, stream)


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
    need_enforcing(faults_conmon())
    with Case() as c:
        out = numbered("L", 3000)
        c.bundle(["/bin/sh", "-c", numbered_script("L", 3000) +
                  "; echo to-stderr >&2; exit 7"])
        m, log = fault_case(c, "logger.syscall=" + name)
        c.runc_start()
        assert c.wait_exit() == "7", "exit file"
        if sanitize_build(faults_conmon()) and name == "openat":
            # tests/sanitize.seccomp refuses openat with EACCES (ASan's
            # reports open /proc/self/...): the call never runs either
            log.wait("fault injection: openat was not trapped")
            assert log_output(c, "stdout") == out, "output lost"
            print("openat: refused with an errno in the SANITIZE build "
                  "(tests/sanitize.seccomp), not trapped; log complete")
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
    """broker.syscall=NAME: the first broker (started on demand by the
    first attach client) makes the forbidden call when the first fd from
    the reaper arrives (after the reaper took its HELLO); it traps and is
    named, and the respawned broker serves that client, waiting in the
    listener's queue, and a second one; the log is complete."""
    need_attach()
    need_enforcing(faults_conmon())
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "i=0; while [ ! -e /shared/stop ]; do echo tick$i; "
                  "i=$((i+1)); sleep 0.05; done; echo done; exit 5"],
                 shared=True)
        m, log = fault_case(c, "broker.syscall=" + name)
        c.runc_start()
        first = c.attach(accepted=False)    # starts the broker
        if sanitize_build(faults_conmon()) and name == "openat":
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
        first.wait_output(b"done\n")
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


# --------------------------------------------------------------------------
# logger.crash_after_bytes (issue 8, security 36-37)

SIGILL = 4


def common_prefix(a, i, b, j):
    """Length of the common prefix of a[i:] and b[j:]."""
    lo, hi = 0, min(len(a) - i, len(b) - j)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if a[i:i + mid] == b[j:j + mid]:
            lo = mid
        else:
            hi = mid - 1
    return lo


def gaps(got, want, probe=256):
    """got is want with whole ranges cut out (lost output): returns
    [(offset in want, length)] of the ranges missing; fails if got has
    bytes want does not have there (reordered, duplicated, invented).
    Lines of want must be unique (numbered), so a probe of `probe`
    bytes finds the one place where got resumes."""
    out, i, j = [], 0, 0
    while i < len(got):
        n = common_prefix(got, i, want, j)
        i += n
        j += n
        if i >= len(got):
            break
        p = want.find(got[i:i + probe], j)
        assert p > j, "the log has bytes the container did not write " \
            "there (offset %d of the log): %r" % (i, got[i:i + 80])
        out.append((j, p - j))
        j = p
    if j < len(want):
        out.append((j, len(want) - j))
    return out


@timeout(40)
def test_sec37_logger_crash_loop_backoff():
    """logger.crash_after_bytes=1: every logger crashes (SIGILL) on its
    first chunk, a crash loop (security 37): the reaper stays up, the
    respawns back off to at most one a second (never a busy fork loop,
    never giving up), and the exit file is right at container exit."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "i=0; while [ $i -lt 120 ]; do echo line$i; "
                  "i=$((i+1)); sleep 0.05; done; exit 3"])
        m, log = fault_case(c, "logger.crash_after_bytes=1")
        daemon = c.daemon_pid()
        pid = c.container_pid
        c.runc_start()
        t0 = time.monotonic()
        c.wait_gone(pid, timeout=30)
        t_exit = time.monotonic()
        code = c.wait_exit(timeout=30)
        took = time.monotonic() - t0
        lag = time.monotonic() - t_exit
        assert code == "3", "exit file %r" % code
        deaths = [t for t, _m in log.timed(re.compile(
            r"logger \(pid \d+\) killed by signal %d" % SIGILL))]
        assert len(deaths) >= 8, \
            "%d crashes in %.1f s: the crash loop did not go on" % (
                len(deaths), took)
        gaps_s = [b - a for a, b in zip(deaths, deaths[1:])]
        # doubling from 10 ms without a cap would wait 1.28, 2.56, 5.12 s
        assert max(gaps_s) < 2.0, "respawn interval %.2f s: no 1 s cap" \
            % max(gaps_s)
        # a busy loop would crash thousands of times in these seconds
        assert len(deaths) <= 12 + 2 * took, \
            "%d crashes in %.1f s: a busy loop" % (len(deaths), took)
        assert not log.grep("did not finish draining"), \
            log.grep("did not finish draining")
        print("container ran %.1f s; %d logger crashes (SIGILL), "
              "intervals between them (s): %s; exit file %.2f s after "
              "the container exited" % (
                  t_exit - t0, len(deaths),
                  " ".join("%.2f" % g for g in gaps_s), lag))
        # the reaper stayed up to the end and wrote the exit file
        m.wait()
        wait_for(lambda: not harness.alive(daemon), 10, "the daemon to exit")


@timeout(40)
def test_sec36_logger_crash_after_bytes_loses_one_buffer():
    """logger.crash_after_bytes=300000: every logger crashes after
    reading 300 kB, losing the chunk it had just read: at most one read
    buffer (256 KiB, logger.h LOG_READ_MAX) per crash, the rest of the output in order; exit
    file right. Prints what each crash lost."""
    n = 20000
    with Case() as c:
        want = numbered("C", n, width=100)
        c.bundle(["/bin/sh", "-c", numbered_script("C", n, width=100) +
                  "; exit 0"])
        m, log = fault_case(c, "logger.crash_after_bytes=300000")
        c.runc_start()
        assert c.wait_exit(timeout=30) == "0", "exit file"
        crashes = log.grep(re.compile(
            r"logger \(pid \d+\) killed by signal %d" % SIGILL))
        got = log_output(c, "stdout")
        lost = gaps(got, want)
        assert_whole_records(c)
        assert crashes, "no crash: the failpoint did nothing"
        assert lost, "nothing lost in %d crashes: the test proves nothing" \
            % len(crashes)
        assert len(lost) <= len(crashes), \
            "%d gaps for %d crashes: %r" % (len(lost), len(crashes), lost)
        for off, ln in lost:
            assert ln <= 262144, "one crash lost %d bytes at %d (more than " \
                "one read buffer)" % (ln, off)
        print("%d bytes written, %d logged; %d crashes lost %s bytes "
              "(at offsets %s)" % (
                  len(want), len(got), len(crashes),
                  "+".join(str(ln) for _o, ln in lost),
                  ", ".join(str(o) for o, _l in lost)))


# --------------------------------------------------------------------------
# logger.write_enospc (security 26)

def test_sec26_logger_write_enospc():
    """logger.write_enospc=3: the first write stores half a record and
    the next 3 writes fail with ENOSPC, as on a full disk: one warning
    when it starts, one with the lost byte count when writes work again,
    no torn record (the half record is cut off), logging resumes by
    itself, exit file right (test_enospc.py: the same on a real full
    tmpfs)."""
    lines = ["line%02d %s" % (i, "y" * 40) for i in range(1, 11)]
    with Case() as c:
        # one line per chunk: a pause between lines
        c.bundle(["/bin/sh", "-c", "; ".join(
            "echo %s; sleep 0.2" % ln for ln in lines) + "; exit 2"])
        m, log = fault_case(c, "logger.write_enospc=3")
        c.runc_start()
        assert c.wait_exit() == "2", "exit file"
        data = assert_whole_records(c)
        logged = log_output(c).decode().splitlines()
        assert logged and logged[-1] == lines[-1], \
            "logging did not resume: %r" % logged
        # the lost lines are one run at the start (chunks that fail
        # whole; the short write may keep whole records before its cut)
        missing = [i for i, ln in enumerate(lines) if ln not in logged]
        assert len(missing) >= 3, "only %d lines lost for 3 failing " \
            "writes: %r" % (len(missing), logged)
        assert missing == list(range(missing[0], missing[-1] + 1)), \
            "lost lines are not one run: %r" % missing
        assert logged == [ln for i, ln in enumerate(lines)
                          if i not in missing], "log %r" % logged
        k = len(missing)
        # a record is its line plus a fixed overhead (timestamp, stream, F)
        first = data.split(b"\n")[0]
        overhead = len(first) + 1 - len(logged[0])
        lost = sum(len(lines[i]) + overhead for i in missing)
        failing = log.grep(warning("logger: Failed to write to the log "
                                   "file; output is being lost: No space "
                                   "left on device"))
        assert len(failing) == 1, "warnings: %r" % log.grep("log file")
        counted = log.grep(warning("logger: %d bytes of log records were "
                                   "lost while the log file refused "
                                   "writes" % lost))
        assert len(counted) == 1, "want a loss of %d bytes said once: %r" \
            % (lost, log.grep("log file"))
        print("%d lines (%d record bytes) lost to 3 failing writes and a "
              "short one; %d lines logged after; one warning at the "
              "start, one with the count at the end" % (
                  k, lost, len(logged)))


# --------------------------------------------------------------------------
# logger.slow_ms

def test_logger_slow_ms_backpressure():
    """logger.slow_ms=100: the logger waits 100 ms before each next
    chunk. The container is slowed by the full pipe (its own clock says
    so), nothing is lost, and the log is complete when the exit file
    appears."""
    n = 48000                   # 4.8 MB: about 19 chunks of 256 KiB or more
    with Case() as c:
        want = numbered("S", n, width=100)
        c.bundle(["/bin/sh", "-c",
                  "read a _ < /proc/uptime; " +
                  numbered_script("S", n, width=100) +
                  "; read b _ < /proc/uptime; echo \"$a $b\" >&2; exit 0"])
        m, log = fault_case(c, "logger.slow_ms=100")
        c.runc_start()
        assert c.wait_exit(timeout=40) == "0", "exit file"
        recs = read_k8s(c.log_path)
        got = reconstruct(recs, "stdout")
        assert got == want, "output lost: %d of %d bytes logged" % (
            len(got), len(want))
        a, b = (float(x) for x in reconstruct(recs, "stderr").split())
        ran = b - a
        # one timestamp per chunk: the pauses show between them
        stamps = sorted({ts for ts, s, _t, _c in recs if s == "stdout"})
        secs = [int(t[11:13]) * 3600 + int(t[14:16]) * 60 + float(t[17:29])
                for t in stamps]
        pauses = [y - x for x, y in zip(secs, secs[1:])]
        assert len(stamps) >= len(want) // 262144, stamps
        assert min(pauses) >= 0.095, "chunks %.3f s apart" % min(pauses)
        # the container wrote ahead of the logger by at most the pipe
        assert ran >= 0.1 * (len(stamps) - 3), \
            "container ran %.2f s for %d chunks: not slowed" % (
                ran, len(stamps))
        print("%d bytes in %d chunks, at least %.3f s apart; the "
              "container took %.2f s to write them; log complete" % (
                  len(got), len(stamps), min(pauses), ran))


# --------------------------------------------------------------------------
# logger.ignore_drain (security 38)

MON_DRAIN_TIMEOUT_S = 10                # monitor/mon.h


@timeout(45)
def test_sec38_logger_ignore_drain():
    """logger.ignore_drain: the logger never answers the drain request;
    the reaper waits its bounded drain time, then writes the exit file
    anyway and warns that the log may be incomplete."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "echo before-exit; exit 4"])
        m, log = fault_case(c, "logger.ignore_drain")
        pid = c.container_pid
        c.runc_start(wait_exec=False)
        wait_for(lambda: not harness.alive(pid), what="the container")
        t0 = time.monotonic()
        code = c.wait_exit(timeout=MON_DRAIN_TIMEOUT_S + 15)
        waited = time.monotonic() - t0
        assert code == "4", "exit file %r" % code
        log.wait(warning("the logger did not finish draining in %d s: the "
                         "log may be incomplete" % MON_DRAIN_TIMEOUT_S))
        assert waited >= MON_DRAIN_TIMEOUT_S - 1, \
            "exit file %.1f s after the container: no drain wait" % waited
        print("exit file %.1f s after the container exited (drain bound "
              "%d s), with the warning" % (waited, MON_DRAIN_TIMEOUT_S))


# --------------------------------------------------------------------------
# broker.crash_on_accept

TICKER = ("i=0; while [ ! -e /shared/stop ]; do echo tick$i; i=$((i+1)); "
          "sleep 0.05; done; echo done; exit %d")


def check_ticks(c):
    lines = log_output(c).decode().split()
    assert lines and lines[-1] == "done", lines[-3:]
    ticks = [int(x[4:]) for x in lines[:-1]]
    assert ticks == list(range(len(ticks))), "ticks lost in the log"
    return len(ticks)


def test_broker_crash_on_accept():
    """broker.crash_on_accept: the first broker crashes (SIGILL) when it
    accepts a client: that client reads EOF, the broker is respawned, a
    second client attaches and gets output; logging is unaffected."""
    need_attach()
    with Case() as c:
        c.bundle(["/bin/sh", "-c", TICKER % 8], shared=True)
        m, log = fault_case(c, "broker.crash_on_accept")
        c.runc_start()
        c.wait_log("tick3\n")
        first = c.attach(accepted=False)
        first.read_to_eof()
        log.wait(re.compile(r"attach \(pid \d+\) killed by signal %d"
                            % SIGILL))
        second = c.attach()
        n0 = len(wait_for(lambda: log_output_so_far(c)))
        second.wait_until(lambda cl: cl.output().count(b"tick") >= 5,
                          what="5 ticks")
        c.touch_shared("stop")
        second.read_to_eof()
        assert b"done\n" in second.output(), second.output()[-100:]
        assert c.wait_exit() == "8", "exit file"
        ticks = check_ticks(c)
        assert len(log.grep("killed by signal")) == 1, \
            log.grep("killed by signal")
        print("first client: EOF after %d bytes; second client: %d bytes "
              "after the respawn; log complete with %d ticks (%d bytes "
              "when it attached)" % (len(first.output()),
                                     len(second.output()), ticks, n0))


# --------------------------------------------------------------------------
# chan.corrupt_next (security 30)

def test_sec30_chan_corrupt_next_logger():
    """chan.corrupt_next=logger: the logger's next message after HELLO
    (its LOG_DRAINED here) carries a header length unlike the
    datagram's: the reaper logs a protocol violation naming the role
    and the defect, kills the logger and respawns it; the new one
    drains; log complete, exit file right."""
    n = 3000
    with Case() as c:
        want = numbered("D", n)
        c.bundle(["/bin/sh", "-c", numbered_script("D", n) + "; exit 6"])
        m, log = fault_case(c, "chan.corrupt_next=logger")
        c.runc_start()
        assert c.wait_exit() == "6", "exit file"
        v = log.wait(warning("logger: protocol violation: length mismatch;"
                             " killing it"))
        log.wait(re.compile(r"logger \(pid \d+\) killed by signal 9"))
        assert log_output(c) == want, "output lost"
        assert len(log.grep("protocol violation")) == 1, \
            log.grep("protocol violation")
        print("reaper: %r; respawned logger drained; %d bytes logged" % (
            v[0].split("<nwarn>: ", 1)[-1], len(want)))


def test_sec30_chan_corrupt_next_broker():
    """chan.corrupt_next=broker: the broker's next message after HELLO
    (the LOG_REOPEN of a `2 0 0` on ctl) is corrupted: protocol
    violation named, broker killed and respawned; the request is not
    acted on, a client attaches to the new broker and gets output,
    logging is unaffected, exit file right."""
    need_attach()
    with Case() as c:
        c.bundle(["/bin/sh", "-c", TICKER % 9], shared=True)
        m, log = fault_case(c, "chan.corrupt_next=broker")
        c.runc_start()
        c.wait_log("tick2\n")
        ino = os.stat(c.log_path).st_ino
        c.fifo_write(b"2 0 0\n")
        v = log.wait(warning("attach: protocol violation: length mismatch;"
                             " killing it"))
        log.wait(re.compile(r"attach \(pid \d+\) killed by signal 9"))
        cl = c.attach()
        cl.wait_until(lambda cl: cl.output().count(b"tick") >= 5,
                      what="5 ticks")
        c.touch_shared("stop")
        cl.read_to_eof()
        assert c.wait_exit() == "9", "exit file"
        assert os.stat(c.log_path).st_ino == ino, \
            "the corrupted reopen request was acted on"
        ticks = check_ticks(c)
        assert not log.grep("logger: protocol violation"), log.all()
        print("reaper: %r; new broker served a client (%d bytes); log "
              "complete (%d ticks)" % (v[0].split("<nwarn>: ", 1)[-1],
                                       len(cl.output()), ticks))


# --------------------------------------------------------------------------
# reaper.exit_write_eio (security 27, spec 10.2)

def test_sec27_reaper_exit_write_eio():
    """reaper.exit_write_eio: writing either exit file fails with EIO:
    both attempted, each failure reported with spec 10.2's text, no
    file (not even a temporary) left; the exit command still runs and
    the monitor exits 1."""
    with Case() as c:
        marker = os.path.join(c.dir, "ran")
        c.bundle(["/bin/sh", "-c", "exit 3"])
        m, log = fault_case(c, "reaper.exit_write_eio", sync=True,
                            extra=["--exit-command", "/bin/sh",
                                   "--exit-command-arg", "-c",
                                   "--exit-command-arg", "echo ran > " +
                                   marker])
        c.runc_start(wait_exec=False)
        m.expect(1)
        for text in ("Failed to write 3 to container exit file: "
                     "Input/output error",
                     "Failed to write 3 to exit file: Input/output error"):
            assert log.grep("<error>: " + text), \
                "no %r in syslog: %r" % (text, log.all())
        wait_for(lambda: os.path.exists(marker), what="the exit command")
        left = os.listdir(c.exit_dir) + os.listdir(c.persist_dir)
        assert left == [], "files left: %r" % left
        print("status 1; both failures reported; exit command ran; "
              "nothing left in the exit directories")


def test_sec27_reaper_exit_write_eio_exec_sync_record():
    """reaper.exit_write_eio in an exec session (podman exec, API 1):
    the exit file fails, and the final sync record {"data": 5} still
    comes after it; status 1."""
    need_exec()
    with Case() as c:
        c.conmon = faults_conmon()
        c.running()
        s = c.exec_session(["/bin/sh", "-c", "exit 5"])
        log = Syslog(c)
        m = s.launch(sync=True, env={"VIGIL_FAULTS":
                                     "reaper.exit_write_eio"},
                     extra=["--syslog"])
        assert m.record()["data"] > 0, "pid record"
        assert m.record() == {"data": 5}, "final record"
        m.expect(1)
        assert log.grep("<error>: Failed to write 5 to exit file: "
                        "Input/output error"), log.all()
        assert not os.path.exists(s.exit_file)
        print("final sync record {\"data\": 5} after the failed exit "
              "file; status 1")


# --------------------------------------------------------------------------
# reaper.pipe_size_eperm (README "Performance": the output pipes)

def test_reaper_pipe_size_eperm():
    """reaper.pipe_size_eperm: the kernel refuses to grow the container's
    output pipes to 256 KiB (as for a rootless user over
    fs.pipe-user-pages-soft): the reaper says so once, with the reason,
    the pipes keep the kernel's 64 KiB, and the container runs and is
    logged whole."""
    n = 4000
    with Case() as c:
        want = numbered("E", n, width=100)
        c.bundle(["/bin/sh", "-c",
                  "echo up; while [ ! -e /shared/go ]; do sleep 0.02; "
                  "done; " + numbered_script("E", n, width=100) +
                  "; exit 0"], shared=True)
        m, log = fault_case(c, "reaper.pipe_size_eperm")
        c.runc_start()
        c.wait_log("up\n")
        for fd in (1, 2):
            size = harness.pipe_size(m.container_pid, fd)
            assert size == 65536, "fd %d: a pipe of %d bytes" % (fd, size)
        c.touch_shared("go")
        assert c.wait_exit() == "0", "exit file"
        said = log.grep(warning("Failed to make the container's output "
                                "pipes 262144 bytes (fs.pipe-max-size, "
                                "fs.pipe-user-pages-soft); they keep the "
                                "kernel's size: Operation not permitted"))
        assert len(said) == 1, "want the refusal said once: %r" % (
            log.grep("pipe"))
        got = reconstruct(c.log(), "stdout")
        assert got == b"up\n" + want, "log: %d of %d bytes" % (
            len(got), 3 + len(want))
        print("refused, said once; 64 KiB pipes; %d bytes logged" % len(got))


# --------------------------------------------------------------------------
# The switch itself: names checked at start, armed ones announced, the
# release build free of all of it, the parser's unit tests

FAULT_H = os.path.join(harness.REPO, "common", "fault.h")


def failpoint_names():
    """The names in common/fault.h's FAULT_LIST."""
    names = re.findall(r'^\s*X\(\w+, "([a-z0-9_.]+)"', read_file(FAULT_H),
                       re.M)
    assert len(names) >= 9, "FAULT_LIST not found in %s" % FAULT_H
    return names


def test_faults_unknown_or_bad_names_refused_at_start():
    """The FAULTS build refuses an unknown failpoint, a syscall it does
    not make and a role that is none, before anything runs: exit 1 with
    `[conmon:e]: VIGIL_FAULTS: ...`; the armed ones are announced."""
    cases = {
        "x": "[conmon:e]: VIGIL_FAULTS: unknown failpoint 'x'",
        "logger.syscall=read": "[conmon:e]: VIGIL_FAULTS: logger.syscall "
        "takes openat, socket, execve, kill or ptrace, not 'read'",
        "chan.corrupt_next=reaper": "[conmon:e]: VIGIL_FAULTS: "
        "chan.corrupt_next takes logger or broker, not 'reaper'",
        "logger.slow_ms=fast": "[conmon:e]: VIGIL_FAULTS: logger.slow_ms "
        "takes a number, not 'fast'",
    }
    for spec, want in cases.items():
        with Case() as c:
            c.conmon = faults_conmon()
            c.bundle(["/bin/true"])
            m = c.launch(c.args(), env={"VIGIL_FAULTS": spec})
            m.expect(1, what=spec)
            assert want in m.stderr(), "%s: stderr %r" % (spec, m.stderr())
            assert not os.path.exists(c.log_path), \
                "%s: the log was created: something ran" % spec
    # armed: each named at start (fault_case() checks the same for
    # every test above)
    with Case() as c:
        c.conmon = faults_conmon()
        c.bundle(["/bin/true"])
        m = c.start(env={"VIGIL_FAULTS":
                         "logger.slow_ms=5,broker.syscall=kill"})
        for want in ("[conmon:w]: fault injection: logger.slow_ms=5 armed",
                     "[conmon:w]: fault injection: broker.syscall=kill "
                     "armed"):
            assert want in m.stderr(), m.stderr()
        c.runc_start(wait_exec=False)
        assert c.wait_exit() == "0"
    print("refused: %s; armed ones announced" % ", ".join(cases))


def test_faults_release_build_has_none():
    """The release build has no failpoint: no fault_* (or chan_fault_*)
    symbol (nm), neither "VIGIL_FAULTS" nor any failpoint name among its
    strings, and it ignores the variable; the FAULTS build has them all
    (so this test can fail)."""
    faults = faults_conmon()
    release = harness.CONMON
    names = failpoint_names()

    # fault_*, faults, chan_fault_*; not "default" or "_sigfault"
    fault_sym = re.compile(r"(^|_)faults?(_|$)", re.I)

    def symbols(path):
        p = subprocess.run(["nm", path], capture_output=True, text=True)
        assert p.returncode == 0, "nm %s: %s" % (path, p.stderr)
        return [ln.split()[-1] for ln in p.stdout.splitlines()
                if ln.split() and fault_sym.search(ln.split()[-1])]

    def strings(path):
        with open(path, "rb") as f:
            data = f.read()
        return {w for w in ["VIGIL_FAULTS"] + names if w.encode() in data}

    rel_syms, rel_strs = symbols(release), strings(release)
    f_syms, f_strs = symbols(faults), strings(faults)
    assert rel_syms == [], "release build symbols: %r" % rel_syms
    assert rel_strs == set(), "release build strings: %r" % rel_strs
    assert "fault_parse" in f_syms and "fault_init" in f_syms, f_syms
    assert f_strs == set(["VIGIL_FAULTS"] + names), \
        "the FAULTS build lacks %r" % (set(["VIGIL_FAULTS"] + names) -
                                       f_strs)
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "echo hi; exit 0"])
        m = c.start(env={"VIGIL_FAULTS": "logger.crash_after_bytes=0,x"})
        c.runc_start(wait_exec=False)
        assert c.wait_exit() == "0"
        assert "fault" not in m.stderr().lower(), m.stderr()
        c.wait_log("hi")
    print("release %s: 0 fault symbols, 0 of %d names; FAULTS build: %d "
          "fault symbols, all %d names" % (
              os.path.relpath(release, harness.REPO), len(names) + 1,
              len(f_syms), len(names) + 1))


@timeout(240)
def test_faults_unit_tests():
    """tests/unit/common/fault_test.c compiles only with -DVIGIL_FAULTS:
    build the FAULTS variant's unit tests and run the fault suite, then
    the whole suite, which must pass with the failpoints compiled in."""
    build = os.path.relpath(os.path.dirname(faults_conmon()), harness.REPO)
    target = os.path.join(build, "tests", "unit_tests")
    switches = [harness.VARIANT_SWITCHES[x]
                for x in build.split("variant-", 1)[-1].split("-")]
    with open(os.path.join(harness.REPO, "build", ".variant.lock"),
              "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        p = subprocess.run(["make", "-s", "-C", harness.REPO] + switches +
                           [target], capture_output=True, text=True)
    assert p.returncode == 0, "make %s:\n%s%s" % (target, p.stdout,
                                                  p.stderr)
    runs = {}
    for what, args in (("fault", ["--filter=fault/*"]),
                       ("all", ["--jobs", "2"])):
        p = subprocess.run([os.path.join(harness.REPO, target)] + args,
                           capture_output=True, text=True, timeout=120)
        syn = re.sub(r"\x1b\[[0-9;]*m", "", p.stdout + p.stderr)
        m = re.search(r"Synthesis: Tested: (\d+) \| Passing: (\d+) \| "
                      r"Failing: (\d+) \| Crashing: (\d+)", syn)
        assert m, "no criterion synthesis line:\n%s" % syn[-2000:]
        tested, passing, failing, crashing = (int(x) for x in m.groups())
        assert p.returncode == 0 and failing == 0 and crashing == 0, \
            syn[-3000:]
        runs[what] = (tested, passing)
    assert runs["fault"][0] >= 5, "only %d fault unit tests ran" % \
        runs["fault"][0]
    print("FAULTS build unit tests: fault suite %d/%d passing; the whole "
          "suite with failpoints compiled in %d/%d passing" % (
              runs["fault"][1], runs["fault"][0], runs["all"][1],
              runs["all"][0]))
