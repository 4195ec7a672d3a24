# SPDX-License-Identifier: Apache-2.0
"""The ctl and winsz FIFOs without a terminal: creation, log reopen,
floods (spec 8.1, 8.4, 8.5, 9.5; checklist rows 29, 33-35; security.md
inputs 16, 18, 19, 22). Resize vectors are in test_terminal.py.

Most containers here print `before`, wait for /shared/go (a file the test
creates), print `after` and exit 0, so the test decides when output
happens and the exit status proves a normal exit.
"""

import os
import select
import stat
import time

from harness import (DEADLINE, IN_CREATE, IN_MOVED_TO, Case, Inotify,
                     inode_of, need_attach, parse_k8s, proc_fds, read_file,
                     reconstruct, ref_differs, sha256_file, wait_for)

WAIT_GO = ("echo before; while [ ! -e /shared/go ]; do sleep 0.02; done; "
           "echo after")


def _steered(c, logdir=True, extra=()):
    """Start the `before ... /shared/go ... after` container with its log
    in its own directory; return that directory once `before` is logged."""
    d = os.path.join(c.dir, "logs")
    if logdir:
        os.mkdir(d)
        c.log_path = os.path.join(d, "ctr.log")
    c.bundle(["/bin/sh", "-c", WAIT_GO], shared=True)
    c.start(extra=list(extra))
    c.runc_start()
    c.wait_log("before\n")
    return d


def _content(path):
    return reconstruct(parse_k8s(read_file(path, "rb")))


def _cpu_ticks(pids):
    """utime + stime (clock ticks) of pids, from /proc/<pid>/stat."""
    total = 0
    for p in pids:
        try:
            s = read_file("/proc/%d/stat" % p)
        except OSError:
            continue
        f = s[s.rindex(")") + 2:].split()
        total += int(f[11]) + int(f[12])
    return total


def test_row29_fifos_before_start():
    """<bundle>/ctl and <bundle>/winsz are FIFOs of mode 0640 once the
    pid is reported, before `runc start`, and a manager can open them
    for writing at once (O_NONBLOCK: no ENXIO, so the read ends are
    open) (spec 8.1)."""
    need_attach()
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"])
        c.start()
        for name in ("ctl", "winsz"):
            p = os.path.join(c.bundle_dir, name)
            st = os.lstat(p)
            assert stat.S_ISFIFO(st.st_mode), "%s is not a FIFO: %o" % (
                name, st.st_mode)
            mode = stat.S_IMODE(st.st_mode)
            assert mode == 0o640, "%s mode %o, want 640" % (name, mode)
            fd = os.open(p, os.O_WRONLY | os.O_NONBLOCK)
            os.close(fd)
        assert c.runc_state()["status"] == "created", "container started"


def test_row33_reopen_after_rename():
    """kubelet's rotation: rename the log away, `2 0 0` on ctl; a new
    file appears at the path (inotify IN_CREATE or IN_MOVED_TO, what
    CRI-O waits for) and gets the new output; the renamed file keeps the
    old (spec 8.4, 9.5)."""
    need_attach()
    with Case() as c:
        d = _steered(c)
        os.rename(c.log_path, c.log_path + ".1")
        with Inotify(d, IN_CREATE | IN_MOVED_TO) as w:
            c.fifo_write(b"2 0 0\n")
            w.wait(os.path.basename(c.log_path))
        c.touch_shared("go")
        assert c.wait_exit() == "0", "exit file"
        old = _content(c.log_path + ".1")
        new = _content(c.log_path)
        assert old == b"before\n", "renamed log holds %r" % old
        assert new == b"after\n", "new log holds %r" % new


def test_row34_reopen_without_rename():
    """`2 0 0` with the log still in place: the path names a new, empty
    file; the old content is gone, not appended to (spec 9.5)."""
    need_attach()
    with Case() as c:
        _steered(c)
        ino = inode_of(c.log_path)
        c.fifo_write(b"2 0 0\n")
        wait_for(lambda: inode_of(c.log_path) not in (None, ino),
                 what="a new file at the log path")
        size = os.stat(c.log_path).st_size
        assert size == 0, "the reopened log holds %d bytes, want 0" % size
        c.touch_shared("go")
        assert c.wait_exit() == "0", "exit file"
        got = _content(c.log_path)
        assert got == b"after\n", "log holds %r, want only `after`" % got


@ref_differs("2.1.6 opens <log>.tmp with O_CREAT|O_TRUNC, following links")
def test_sec22_ctl_reopen_tmp_symlink():
    """security.md 22 through ctl: <log>.tmp planted as a symlink to a
    file outside the log directory, then `2 0 0`: the target keeps its
    hash; the output after it still reaches the log at the path."""
    need_attach()
    with Case() as c:
        d = _steered(c)
        outside = os.path.join(c.dir, "outside")
        os.mkdir(outside)
        decoy = os.path.join(outside, "decoy")
        with open(decoy, "wb") as f:
            f.write(b"precious content outside the log directory\n")
        h = sha256_file(decoy)
        os.symlink(decoy, c.log_path + ".tmp")
        c.fifo_write(b"2 0 0\n")
        c.touch_shared("go")
        assert c.wait_exit() == "0", "exit file"
        c.wait_gone(c.daemon_pid())
        assert sha256_file(decoy) == h, "the symlink's target was written"
        got = _content(c.log_path)
        assert got.endswith(b"after\n"), "log at the path holds %r" % got
        assert os.listdir(d) != [], "log directory empty"


@ref_differs("2.1.6 passes each resize on to winsz with a blocking write "
             "nobody drains without a terminal: it hangs (spec 8.5)")
def test_row35_sec16_resize_flood_without_terminal():
    """20,000 `1 24 80` lines, one per write, to a container without a
    terminal: every byte is read, a `2 0 0` after them still reopens the
    log, and the container exits normally (spec 8.5)."""
    need_attach()
    with Case() as c:
        _steered(c)
        fd = c.fifo_fd("ctl")
        end = time.monotonic() + DEADLINE
        n = 0
        while n < 20000:
            try:
                os.write(fd, b"1 24 80\n")
                n += 1
                continue
            except BlockingIOError:
                pass
            left = end - time.monotonic()
            assert left > 0, "the monitor stopped reading ctl after %d " \
                "of 20000 resize lines" % n
            select.select([], [fd], [], min(left, 0.5))
        c.ctl_barrier()
        assert c.runc_state()["status"] == "running", "container state"
        c.touch_shared("go")
        assert c.wait_exit() == "0", "exit file"
        got = _content(c.log_path)
        assert got == b"after\n", "log after the reopen holds %r" % got


def test_sec18_reopen_flood():
    """10,000 `2 0 0` lines: the log path exists throughout, the monitor
    keeps no extra fds afterwards, and logging goes on (security.md 18).
    --no-sync-log: 2.1.6 would fsync at every reopen (spec 9.6)."""
    need_attach()
    with Case() as c:
        # A reopen may still be queued after the barrier (they coalesce),
        # so the container proves logging goes on by printing `after`
        # until told to stop, not once.
        os.mkdir(os.path.join(c.dir, "logs"))
        c.log_path = os.path.join(c.dir, "logs", "ctr.log")
        c.bundle(["/bin/sh", "-c",
                  "echo before; while [ ! -e /shared/go ]; do sleep 0.02; "
                  "done; while [ ! -e /shared/stop ]; do echo after; "
                  "sleep 0.02; done"], shared=True)
        c.start(extra=["--no-sync-log"])
        c.runc_start()
        c.wait_log("before\n")
        c.start_broker()    # vigil: the broker's own fds are not a leak
        base = {p: len(proc_fds(p)) for p in c.monitor_pids()}
        fd = c.fifo_fd("ctl")
        end = time.monotonic() + DEADLINE
        n = 0
        while n < 10000:
            if n % 50 == 0:
                assert os.path.exists(c.log_path), \
                    "log path missing after %d reopen lines" % n
            try:
                os.write(fd, b"2 0 0\n")
                n += 1
                continue
            except BlockingIOError:
                pass
            left = end - time.monotonic()
            assert left > 0, "the monitor stopped reading ctl after %d " \
                "of 10000 reopen lines" % n
            select.select([], [fd], [], min(left, 0.5))
        c.ctl_barrier()

        def same():
            now = {p: len(proc_fds(p)) for p in c.monitor_pids()}
            return now == base or None
        wait_for(same, what="the monitor's fd counts back to %r (now %r)" % (
            base, {p: len(proc_fds(p)) for p in c.monitor_pids()}))
        c.touch_shared("go")
        c.wait_log("after\n")
        c.touch_shared("stop")
        assert c.wait_exit() == "0", "exit file"


def test_sec19_ctl_writer_open_close_loop():
    """A writer opening and closing ctl 2,000 times: no end-of-file storm
    (the monitor's CPU stays near idle afterwards) and ctl still works
    (spec 8.1's dummy writer; security.md 19)."""
    need_attach()
    with Case() as c:
        _steered(c)
        p = os.path.join(c.bundle_dir, "ctl")
        for _ in range(2000):
            os.close(os.open(p, os.O_WRONLY | os.O_NONBLOCK))
        c.ctl_barrier()
        pids = c.monitor_pids()
        t0, c0 = time.monotonic(), _cpu_ticks(pids)
        # A negative check: a monitor spinning on POLLHUP would burn a
        # whole CPU over this second.
        time.sleep(1.0)
        used = (_cpu_ticks(pids) - c0) / os.sysconf("SC_CLK_TCK")
        wall = time.monotonic() - t0
        assert used < 0.25 * wall, \
            "monitor used %.2f s of CPU in %.2f s idle" % (used, wall)
        c.touch_shared("go")
        assert c.wait_exit() == "0", "exit file"
