# SPDX-License-Identifier: Apache-2.0
"""Respawn of the sandboxed children (issue 8; security.md inputs 36, 38;
architecture.md "Container output is never lost to a child crash").

The proof: kill -9 the logger every 200 ms while the container writes
VIGIL_IT_RESPAWN_BYTES (default 1 GB) of numbered lines, then check the
k8s-file log record by record with tests/integration/helpers/numlines.c
(built static into build/test-helpers/ on first use; the same file is the
container's generator, run from a read-only bind mount at /tmp). Every
record must be a whole record of what the container wrote, in order; the
only thing allowed is a gap between records, at most one read buffer
(256 KiB) per kill. So the checker also fails on any record the container
did not write: vigil writes no marker record into the log at a respawn
(README "Respawn"); the gap is named by the reaper's warning instead,
which the test reads from syslog (a private /dev/log, test_enospc) and
compares with what the checker found missing.

Tests that measure print `measured:` lines; the runner shows them under
the test's `ok` line, so they reach the make check log.
"""

import fcntl
import os
import re
import signal
import socket
import subprocess
import threading
import time

import harness
from harness import (REPO, Case, Inotify, alive, holds_for, kill_quietly,
                     need_attach, proc_cmdline_raw, proc_stat, proc_status, read_file,
                     reconstruct, ref_differs, timeout, wait_for)
from test_enospc import _private_devlog, mount_tmpfs, umount

HELPER_SRC = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                          "helpers", "numlines.c")
HELPER_DIR = os.path.join(REPO, "build", "test-helpers")
LINE_BYTES = 100
READ_MAX = 262144               # logger.h LOG_READ_MAX, role.h
KILL_EVERY = 0.2
RESPAWN_MIN_MS = 10             # mon.h MON_RESPAWN_MIN_MS
FLOOD_BYTES = int(os.environ.get("VIGIL_IT_RESPAWN_BYTES", str(10 ** 9)))

DEATH_RE = re.compile(
    r"(logger|attach) \(pid (\d+)\) killed by signal (\d+)"
    r"(?:; (\d+) bytes of output lost with it"
    r"(, and up to (\d+) more of the read it died in)?)?"
    r"(?:; respawning in (\d+) ms)?")
CUT_RE = re.compile(r"logger: cut (\d+) bytes off the end of the log")


def measured(fmt, *args):
    """A number the test measured, for the make check log (run.py)."""
    print("measured: " + (fmt % args if args else fmt), flush=True)


def numlines():
    """build/test-helpers/numlines, built static from helpers/numlines.c
    when missing or older (once, under a lock)."""
    out = os.path.join(HELPER_DIR, "numlines")
    os.makedirs(HELPER_DIR, exist_ok=True)
    with open(os.path.join(HELPER_DIR, ".lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if not os.path.exists(out) or \
                os.path.getmtime(out) < os.path.getmtime(HELPER_SRC):
            p = subprocess.run([os.environ.get("CC", "cc"), "-static", "-O2",
                                "-Wall", "-Wextra", "-Werror",
                                "-D_GNU_SOURCE", "-o", out + ".tmp",
                                HELPER_SRC], capture_output=True, text=True)
            assert p.returncode == 0, "cannot build %s: %s" % (
                HELPER_SRC, p.stderr)
            os.rename(out + ".tmp", out)
    return out


def mount_helpers(cfg):
    """The helper directory read-only at /tmp (it exists in the shared
    read-only rootfs, so runc needs no mount point)."""
    cfg["mounts"].append({"destination": "/tmp", "type": "bind",
                          "source": HELPER_DIR, "options": ["rbind", "ro"]})


def check_log(path, lines):
    """numlines check: (summary dict, [(offset, bytes)] gaps)."""
    p = subprocess.run([numlines(), "check", path, str(lines),
                        str(LINE_BYTES)], capture_output=True, text=True,
                       timeout=300)
    assert p.returncode == 0, "the log is not the container's lines in " \
        "order with gaps only: %s" % p.stderr.strip()
    out = p.stdout.splitlines()
    f = out[0].split()
    summary = {f[i]: int(f[i + 1]) for i in range(0, len(f), 2)}
    gaps = [tuple(int(x) for x in l.split()[1:]) for l in out[1:]]
    return summary, gaps


class Syslog:
    """The private /dev/log of test_enospc, read by a thread as messages
    come: glibc's syslog() blocks on a full datagram queue (10 by
    default), so an unread socket would slow the monitor down."""

    def __init__(self, c):
        self.sock, saved = _private_devlog(c)
        harness.CONMON = saved  # launch() uses c.conmon
        self.wrapper = os.path.join(c.dir, "conmon-devlog")
        self.msgs = []
        self.stop = False
        self.sock.settimeout(0.1)
        self.t = threading.Thread(target=self._run, daemon=True)
        self.t.start()

    def _run(self):
        while not self.stop:
            try:
                self.msgs.append(self.sock.recv(65536).decode("utf-8",
                                                              "replace"))
            except socket.timeout:
                pass
            except OSError:
                return

    def close(self):
        self.stop = True
        self.t.join(5)
        self.sock.close()
        return self.msgs


def start_with_syslog(c, extra=(), **kw):
    """c.start() through the private /dev/log; returns the Syslog."""
    sl = Syslog(c)
    c.on_cleanup(sl.close)
    c.conmon = sl.wrapper
    try:
        c.start(extra=["--syslog"] + list(extra), **kw)
    finally:
        c.conmon = harness.CONMON
    return sl


def kids(d):
    try:
        return {int(x) for x in
                read_file("/proc/%d/task/%d/children" % (d, d)).split()}
    except OSError:
        return set()


def child_of_role(d, role):
    for p in kids(d):
        if proc_cmdline_raw(p).startswith(b"conmon: " + role.encode()):
            return p
    return None


def sandboxed(pid):
    """The child has finished its sandbox (the seccomp filter is its last
    step, architecture.md "Sandbox")."""
    st = proc_status(pid)
    return bool(st) and st.get("Seccomp") == "2"


def kill_and_time(d, role, pid):
    """SIGKILL pid (the role's child of daemon d) and measure until its
    successor is forked and until it is sandboxed. Returns (new pid,
    fork ms, ready ms); None for a time not reached within 2 s."""
    before = kids(d) - {pid}
    t0 = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    new = t_fork = t_ready = None
    while time.monotonic() - t0 < 2:
        if new is None:
            fresh = kids(d) - before - {pid}
            if fresh:
                new = min(fresh)
                t_fork = (time.monotonic() - t0) * 1000
        if new is not None and sandboxed(new):
            t_ready = (time.monotonic() - t0) * 1000
            break
        time.sleep(0.0005)
    return new, t_fork, t_ready


def stats(xs):
    xs = sorted(x for x in xs if x is not None)
    if not xs:
        return "none"
    return "min %.1f median %.1f max %.1f" % (xs[0], xs[len(xs) // 2],
                                              xs[-1])


def deaths(msgs, role="logger"):
    out = []
    for m in msgs:
        g = DEATH_RE.search(m)
        if g and g.group(1) == role:
            out.append({"pid": int(g.group(2)), "sig": int(g.group(3)),
                        "lost": None if g.group(4) is None else
                        int(g.group(4)),
                        "in_read": g.group(5) is not None,
                        "delay": None if g.group(7) is None else
                        int(g.group(7))})
    return out


@ref_differs("2.1.6 has no logger process: its one process is the monitor")
@timeout(150)
def test_sec36_kill9_logger_every_200ms_1gb():
    """security 36, issue 8 proof: SIGKILL the logger every 200 ms while
    the container writes FLOOD_BYTES of numbered 100-byte lines. The exit
    file says 0; the log is every line in order but for gaps of at most
    one read buffer, no more gaps than kills, no torn or merged record;
    each death is one syslog warning naming the bytes lost, respawning in
    10 ms (no backoff for a child that lived), and what the reaper
    counted is what the log misses."""
    helper = numlines()
    lines = FLOOD_BYTES // LINE_BYTES
    mnt = None
    try:
        with Case() as c:
            # The log on a tmpfs when the test may mount one: 1.5 GB of
            # records never wait for a shared disk.
            mnt = os.path.join(c.dir, "tmpfs")
            try:
                mount_tmpfs(mnt, "%dk" % (lines * (LINE_BYTES + 46) // 1024
                                          + 65536))
                c.log_path = os.path.join(mnt, "ctr.log")
                where = "tmpfs"
            except harness.Skip:
                mnt = None
                where = "the test directory"
            c.bundle(["/tmp/numlines", "gen", str(lines), str(LINE_BYTES),
                      "65536"], edit=mount_helpers)
            sl = start_with_syslog(c, extra=["--log-level", "info",
                                              "--no-sync-log"])
            d = c.daemon_pid()
            first = child_of_role(d, "logger")
            assert first, "no logger child of daemon %d" % d
            ctr = c.container_pid
            t_start = time.monotonic()
            c.runc_start(wait_exec=False)
            kills, t_fork, t_ready, pids = 0, [], [], [first]
            nxt = time.monotonic()
            while alive(ctr):
                nxt += KILL_EVERY
                time.sleep(max(0, nxt - time.monotonic()))
                lp = child_of_role(d, "logger")
                if lp is None or not alive(ctr):
                    continue
                new, tf, tr = kill_and_time(d, "logger", lp)
                kills += 1
                assert new is not None, \
                    "no new logger within 2 s of killing %d" % lp
                pids.append(new)
                t_fork.append(tf)
                t_ready.append(tr)
                nxt = max(nxt, time.monotonic())
            t_ran = time.monotonic() - t_start
            code = c.wait_exit(timeout=60)
            c.wait_gone(d)
            msgs = sl.close()
            assert code == "0", "exit file %r, want 0" % code
            size = os.path.getsize(c.log_path)
            t0 = time.monotonic()
            summary, gaps = check_log(c.log_path, lines)
            t_check = time.monotonic() - t0

            died = deaths(msgs)
            cuts = [int(m.group(1)) for m in map(CUT_RE.search, msgs) if m]
            measured("%d bytes (%d lines) on %s in %.1f s with %d kills; "
                     "log %d bytes checked in %.1f s", lines * LINE_BYTES,
                     lines, where, t_ran, kills, size, t_check)
            measured("respawn after kill (ms): new pid %s; sandboxed %s",
                     stats(t_fork), stats(t_ready))
            lost_r = [x["lost"] for x in died if x["lost"] is not None]
            measured("reaper: %d deaths logged, %d respawns, lost %d bytes "
                     "in all (per kill: max %d, mean %.0f), %d died inside "
                     "a read; %d torn ends cut (%s bytes)", len(died),
                     len(pids) - 1, sum(lost_r), max(lost_r or [0]),
                     sum(lost_r) / max(kills, 1),
                     sum(1 for x in died if x["in_read"]), len(cuts),
                     ",".join(map(str, cuts)) or "-")
            gl = [g[1] for g in gaps]
            measured("log: %d records, %d gaps, %d bytes missing (per "
                     "kill: max %d, mean %.0f), tail %d", summary["records"],
                     len(gaps), summary["lost"], summary["max"],
                     summary["lost"] / max(kills, 1), summary["tail"])

            # 1 GB takes about a second on a quiet machine since the
            # logger reads up to 256 KiB at once (issue 9): 3 kills at 200 ms
            # still show respawn, loss per kill and whole records
            assert kills >= 3, "only %d kills: the container finished " \
                "too soon to prove anything" % kills
            assert summary["tail"] == 0, \
                "the end of the output is missing: %d bytes" % \
                summary["tail"]
            assert len(gaps) <= kills, "%d gaps for %d kills: %r" % (
                len(gaps), kills, gaps[:20])
            assert all(g <= READ_MAX for g in gl), \
                "a gap of more than one read buffer: %r" % gl
            assert len(died) == kills, \
                "%d logger deaths in syslog for %d kills: %r" % (
                    len(died), kills, [m for m in msgs if "logger" in m][:10])
            assert {x["pid"] for x in died} == set(pids[:-1]), \
                "deaths of %r logged, killed %r" % (
                    [x["pid"] for x in died], pids[:-1])
            assert all(x["sig"] == 9 and x["lost"] is not None and
                       x["lost"] <= READ_MAX for x in died), \
                "a death without a bounded loss count: %r" % died
            assert all(x["delay"] == RESPAWN_MIN_MS for x in died), \
                "respawn delays %r: a logger that lived 200 ms was taken " \
                "for a crash loop" % [x["delay"] for x in died]
            # What the reaper counted is what the log misses, death by
            # death, in order. Only without the kernel's read count
            # (/proc/<pid>/io) may a read the logger died inside be
            # uncounted, and the reaper says so.
            in_read = sum(1 for x in died if x["in_read"])
            if in_read == 0:
                assert [x for x in lost_r if x] == gl, \
                    "losses the reaper counted %r, gaps in the log %r" % (
                        [x for x in lost_r if x], gl)
            assert sum(lost_r) <= summary["lost"] <= \
                sum(lost_r) + in_read * READ_MAX, \
                "reaper counted %d bytes lost (%d deaths inside a read), " \
                "the log misses %d" % (sum(lost_r), in_read,
                                       summary["lost"])
    finally:
        if mnt:
            umount(mnt)


def lines_upto(c, prefix, n):
    return ["%s%d" % (prefix, i) for i in range(n)]


def counted_script(prefix, n, then="exit 0"):
    """n lines `<prefix><i>`; then `then` (shell)."""
    return ("i=0; while [ $i -lt %d ]; do echo %s$i; i=$((i+1)); done; %s"
            % (n, prefix, then))


def wait_stopped(pid):
    wait_for(lambda: (proc_stat(pid) or ("?",))[0] == "T",
             what="pid %d to stop" % pid)


def log_when_exit_file(c, w):
    """Wait for the exit file's event on watch w (its rename into the exit
    directory) and read the log at once: what is in it now was written
    before the exit file (spec 10.2)."""
    w.wait(c.cid)
    return c.log_lines("stdout")


@ref_differs("2.1.6 has no logger process")
def test_sec36_torn_end_cut_by_next_logger():
    """A logger killed in the middle of a write leaves a torn record at
    the end of the log (the write stored part of its buffer). Made
    deterministic: the reaper is stopped, the logger killed, and a record
    head without its LF appended to the log as that write would have
    left it; once the reaper continues, the new logger cuts exactly those
    bytes before it writes (security 36), so the next record is not glued
    to them; the reaper's warning says no output was lost (the logger was
    idle) and respawns in 10 ms."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c", counted_script("A", 100, "") +
                  "while [ ! -e /shared/go ]; do sleep 0.02; done; " +
                  counted_script("B", 100)], shared=True)
        sl = start_with_syslog(c, extra=["--log-level", "info"])
        d = c.daemon_pid()
        c.runc_start()
        c.wait_log("A99\n")
        lp = child_of_role(d, "logger")
        torn = b"2026-01-01T00:00:00.000000000+00:00 stdout F torn-he"
        os.kill(d, signal.SIGSTOP)
        try:
            wait_stopped(d)
            os.kill(lp, signal.SIGKILL)
            wait_for(lambda: (proc_stat(lp) or ("Z",))[0] == "Z",
                     what="the logger to die")
            with open(c.log_path, "ab") as f:
                f.write(torn)
        finally:
            os.kill(d, signal.SIGCONT)
        wait_for(lambda: (child_of_role(d, "logger") or lp) != lp and
                 sandboxed(child_of_role(d, "logger")),
                 what="a new sandboxed logger")
        c.touch_shared("go")
        assert c.wait_exit() == "0", "exit file"
        c.wait_gone(d)
        msgs = sl.close()
        got = c.log_lines("stdout")
        want = lines_upto(c, "A", 100) + lines_upto(c, "B", 100)
        assert got == want, "log lines %r ... (%d), want A0..A99 B0..B99" % (
            got[95:105], len(got))
        died = deaths(msgs)
        assert len(died) == 1 and died[0]["pid"] == lp, \
            "deaths in syslog: %r" % died
        assert died[0]["lost"] == 0 and died[0]["delay"] == RESPAWN_MIN_MS, \
            "death of an idle logger: %r" % died[0]
        cuts = [int(m.group(1)) for m in map(CUT_RE.search, msgs) if m]
        assert cuts == [len(torn)], "cuts %r, want [%d]" % (cuts, len(torn))


@ref_differs("2.1.6 has no logger process")
def test_sec38_container_exits_while_logger_stopped():
    """security 38: the logger is stopped (SIGSTOP) while the container
    writes its last 2000 lines and exits. No exit file while the output
    waits in the pipe; after SIGCONT the logger drains, and the log holds
    every line when the exit file appears (inotify)."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "echo ready; while [ ! -e /shared/go ]; do sleep 0.02; "
                  "done; " + counted_script("L", 2000, "exit 4")],
                 shared=True)
        c.start()
        d = c.daemon_pid()
        c.runc_start()
        c.wait_log("ready\n")
        lp = child_of_role(d, "logger")
        os.kill(lp, signal.SIGSTOP)
        try:
            wait_stopped(lp)
            with Inotify(c.exit_dir) as w:
                c.touch_shared("go")
                c.wait_gone(c.container_pid)
                holds_for(lambda: not os.path.exists(c.exit_file), 0.5,
                          "no exit file while the logger is stopped")
                os.kill(lp, signal.SIGCONT)
                got = log_when_exit_file(c, w)
        finally:
            kill_quietly(lp, signal.SIGCONT)
        assert got == ["ready"] + lines_upto(c, "L", 2000), \
            "log when the exit file appeared: %d lines, last %r" % (
                len(got), got[-1:])
        assert c.wait_exit() == "4"
        assert child_of_role(d, "logger") in (None, lp), "logger respawned"


@ref_differs("2.1.6 has no logger process")
def test_sec38_container_exits_while_logger_stopped_then_killed():
    """security 38: the logger is stopped while the container writes its
    last lines and exits, then killed: a new logger (within the drain
    timeout) drains the pipe before the exit file; nothing is lost and the
    reaper says so."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "echo ready; while [ ! -e /shared/go ]; do sleep 0.02; "
                  "done; " + counted_script("L", 2000, "exit 5")],
                 shared=True)
        sl = start_with_syslog(c)
        d = c.daemon_pid()
        c.runc_start()
        c.wait_log("ready\n")
        lp = child_of_role(d, "logger")
        os.kill(lp, signal.SIGSTOP)
        wait_stopped(lp)
        with Inotify(c.exit_dir) as w:
            c.touch_shared("go")
            c.wait_gone(c.container_pid)
            holds_for(lambda: not os.path.exists(c.exit_file), 0.5,
                      "no exit file while the logger is stopped")
            os.kill(lp, signal.SIGKILL)
            got = log_when_exit_file(c, w)
        assert got == ["ready"] + lines_upto(c, "L", 2000), \
            "log when the exit file appeared: %d lines, last %r" % (
                len(got), got[-1:])
        assert c.wait_exit() == "5"
        c.wait_gone(d)
        died = deaths(sl.close())
        assert [(x["pid"], x["lost"]) for x in died] == [(lp, 0)], \
            "deaths in syslog: %r" % died


@ref_differs("2.1.6 has no broker process")
def test_kill9_broker_two_clients_stdin_streaming():
    """issue 8 proof: kill -9 the attach broker while two clients (one on
    <bundle>/attach, one through the --socket-dir-path symlink) stream
    stdin to a container that echoes it. Both see EOF; the broker is back
    (respawn time printed); a new client attaches, its input reaches the
    container, its EOF closes stdin; the log holds every tick of the
    container's own output and only whole stdin lines; exit file 0."""
    need_attach("-i")
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "(i=0; while [ ! -e /shared/stop ]; do echo tick$i; "
                  "i=$((i+1)); sleep 0.005; done; echo ticks$i) & "
                  "while read l; do echo \"in:$l\"; done; "
                  "echo stdin-eof; touch /shared/stop; wait; exit 0"],
                 shared=True)
        sl = start_with_syslog(c, extra=["-i"])
        d = c.daemon_pid()
        c.runc_start()
        c.wait_log("tick10\n")
        a = c.attach(full=True)
        b = c.attach()
        stop = threading.Event()
        sent = {a.name: 0, b.name: 0}

        def stream(cl, tag):
            n = 0
            while not stop.is_set():
                try:
                    cl.send("%s-%d\n" % (tag, n))
                except OSError:
                    return
                n += 1
                sent[cl.name] = n
                time.sleep(0.001)
        ts = [threading.Thread(target=stream, args=(a, "a"), daemon=True),
              threading.Thread(target=stream, args=(b, "b"), daemon=True)]
        for t in ts:
            t.start()
        c.wait_log("in:a-50\n")
        c.wait_log("in:b-50\n")
        bp = child_of_role(d, "attach")
        new, tf, tr = kill_and_time(d, "attach", bp)
        measured("broker respawn after kill (ms): new pid %s, sandboxed %s",
                 "%.1f" % tf if tf else "-", "%.1f" % tr if tr else "-")
        assert new is not None and tr is not None, \
            "no new sandboxed broker within 2 s"
        for cl in (a, b):
            cl.read_to_eof()        # fails unless EOF comes
        stop.set()
        for t in ts:
            t.join(5)
        nc = c.attach()
        nc.send("after-respawn\n")
        c.wait_log("in:after-respawn\n")
        nc.shutdown_wr()
        nc.read_to_eof()
        assert c.wait_exit() == "0", "exit file"
        c.wait_gone(d)
        died = deaths(sl.close(), "attach")
        assert [(x["pid"], x["delay"]) for x in died] == \
            [(bp, RESPAWN_MIN_MS)], "broker deaths in syslog: %r" % died
        out = c.log_lines("stdout")
        ticks = [l for l in out if re.match(r"^tick\d+$", l)]
        last = [l for l in out if l.startswith("ticks")]
        assert last, "no closing ticks line: %r" % out[-5:]
        n = int(last[0][5:])
        assert ticks == ["tick%d" % i for i in range(n)], \
            "the container's own output is incomplete: %d ticks of %d" % (
                len(ticks), n)
        ins = [l for l in out if l.startswith("in:")]
        bad = [l for l in ins if not re.match(r"^in:([ab]-\d+|after-respawn)$",
                                              l)]
        assert not bad, "torn or merged stdin lines: %r" % bad[:5]
        for tag in ("a", "b"):
            got = [int(l.split("-")[1]) for l in ins
                   if l.startswith("in:%s-" % tag)]
            assert got == sorted(got) and len(got) >= 50, \
                "client %s's lines out of order or missing: %r" % (
                    tag, got[:10])
        assert ins[-1] == "in:after-respawn", "last stdin line %r" % ins[-1:]
        assert "stdin-eof" in out, "stdin never closed"


def echo_with_client(c):
    """A container echoing its stdin line by line (-i), started, with one
    attach client whose first line has come back. Returns (daemon pid,
    client)."""
    c.bundle(["/bin/sh", "-c",
              "while read l; do echo \"in:$l\"; done; echo stdin-eof"])
    c.start(extra=["-i"])
    d = c.daemon_pid()
    c.runc_start()
    cl = c.attach()
    cl.send("before\n")
    cl.wait_output("in:before\n")
    return d, cl


@ref_differs("2.1.6 has no logger process")
def test_kill9_logger_client_stays_attached():
    """kill -9 the logger while a client is attached to a container that
    echoes stdin: the client's connection stays open (the broker holds
    it and hands it to the new logger on the new pair); what the
    container writes after the respawn reaches the same client, and its
    input still goes in. At most what the dead logger had read and not
    sent is missing; nothing is duplicated or out of order."""
    need_attach("-i")
    with Case() as c:
        d, cl = echo_with_client(c)
        lp = child_of_role(d, "logger")
        new, _tf, tr = kill_and_time(d, "logger", lp)
        assert new is not None and tr is not None, \
            "no new sandboxed logger within 2 s"
        # the broker hands the client over again: the new logger's copy
        wait_for(lambda: any(t.startswith("socket:") for t in
                             harness.proc_fds(new).values()) and
                 sum(1 for t in harness.proc_fds(new).values()
                     if t.startswith("socket:")) >= 3, 10,
                 "the new logger to hold the client")
        holds_for(lambda: not cl.drain_nowait(), 0.3,
                  "the client's connection open across the respawn")
        for i in range(5):
            cl.send("after-%d\n" % i)
            cl.wait_output("in:after-%d\n" % i)
        cl.shutdown_wr()
        cl.read_to_eof()
        assert c.wait_exit() == "0", "exit file"
        lines = cl.output(2).decode().splitlines()
        assert lines[0] == "in:before", lines[:3]
        assert lines[-6:] == ["in:after-%d" % i for i in range(5)] + \
            ["stdin-eof"], lines[-7:]


@ref_differs("2.1.6 has no logger process")
def test_input_waiting_survives_a_logger_death():
    """The logger reads the clients' input (README "How the processes
    fit"): input a client sends while the logger cannot read it (stopped,
    then killed) waits in the client's socket, and the new logger, handed
    the client again by the broker, writes it to stdin: every line once,
    in order, and its echo reaches the same client."""
    need_attach("-i")
    with Case() as c:
        d, cl = echo_with_client(c)
        # the client gets a chunk before the log does (README, step 4): a
        # logger stopped and killed between the two loses that chunk's log
        # records (security 36), which is not what this test is about
        c.wait_log("in:before\n")
        lp = child_of_role(d, "logger")
        os.kill(lp, signal.SIGSTOP)
        wait_stopped(lp)
        for i in range(20):
            cl.send("during-%d\n" % i)
        holds_for(lambda: b"in:during-0" not in reconstruct(c.log()), 0.2,
                  "no input while the logger is stopped")
        new, _tf, tr = kill_and_time(d, "logger", lp)
        assert new is not None and tr is not None, \
            "no new sandboxed logger within 2 s"
        cl.wait_output("in:during-19\n")
        cl.shutdown_wr()
        cl.read_to_eof()
        assert c.wait_exit() == "0", "exit file"
        want = ["in:before"] + ["in:during-%d" % i for i in range(20)] + \
            ["stdin-eof"]
        assert c.log_lines("stdout") == want, c.log_lines("stdout")
        lines = cl.output(2).decode().splitlines()
        assert lines[-21:] == want[1:], lines


@ref_differs("2.1.6 has no logger process")
def test_sec36_respawn_keeps_log_size_max():
    """--log-size-max 1 MiB while the logger is killed every 100 ms under
    a flood of numbered lines: a respawned logger goes on counting the
    file it finds (its predecessor's progress page), not the reaper's
    count from the last open, so the log never holds more than the limit
    plus one record (spec 9.3; the size is polled all along, across the
    reopens); the last file is whole records of the stream in order."""
    numlines()
    limit = 1 << 20
    with Case() as c:
        c.bundle(["/tmp/numlines", "gen", str(10 ** 9), str(LINE_BYTES),
                  "65536"], edit=mount_helpers)
        c.start(extra=["--log-size-max", str(limit)])
        d = c.daemon_pid()
        seen = {"max": 0, "n": 0}
        stop = threading.Event()

        def poll():
            while not stop.is_set():
                try:
                    sz = os.stat(c.log_path).st_size
                except FileNotFoundError:
                    continue
                seen["max"] = max(seen["max"], sz)
                seen["n"] += 1
                time.sleep(0.0002)
        t = threading.Thread(target=poll, daemon=True)
        t.start()
        c.runc_start(wait_exec=False)
        wait_for(lambda: seen["max"] > limit // 2,
                 what="half the limit in the log")
        kills = 0
        for _ in range(10):
            time.sleep(0.1)
            lp = child_of_role(d, "logger")
            new, _tf, tr = kill_and_time(d, "logger", lp)
            assert new is not None and tr is not None, \
                "no new logger after killing %d" % lp
            kills += 1
        time.sleep(0.2)
        stop.set()
        t.join(5)
        c.runc_kill("KILL")
        assert c.wait_exit() == "137", "exit file"
        c.wait_gone(d)
        summary, _gaps = check_log(c.log_path, 10 ** 9)
        measured("--log-size-max %d: largest log seen %d bytes in %d "
                 "polls over %d kills", limit, seen["max"], seen["n"],
                 kills)
        assert seen["max"] <= limit + LINE_BYTES - 1 + 46, \
            "the log reached %d bytes, limit %d plus one record" % (
                seen["max"], limit)
        assert summary["records"] > 0, "empty last log"
