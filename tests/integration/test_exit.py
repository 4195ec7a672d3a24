# SPDX-License-Identifier: Apache-2.0
"""Exit files and the monitor's exit status (spec 10.1, 10.3, 10.6, 10.8)."""

import os
import stat
import time

from harness import Case, read_file, wait_for


def _exit_file_checks(c, want):
    got = c.wait_exit()
    assert got == want, "exit file holds %r, want %r" % (got, want)
    mode = stat.S_IMODE(os.stat(c.exit_file).st_mode)
    assert mode == 0o644, "exit file mode %o, want 644" % mode
    wait_for(lambda: os.path.exists(c.persist_exit_file), what="persist exit")
    pgot = read_file(c.persist_exit_file)
    assert pgot == want, "<persist-dir>/exit holds %r, want %r" % (pgot, want)
    pmode = stat.S_IMODE(os.stat(c.persist_exit_file).st_mode)
    assert pmode == 0o644, "persist exit file mode %o, want 644" % pmode


def test_exit_code_0():
    with Case() as c:
        c.bundle(["/bin/true"])
        c.start()
        c.runc_start()
        _exit_file_checks(c, "0")


def test_exit_code_3():
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "echo bye; exit 3"])
        c.start()
        c.runc_start()
        _exit_file_checks(c, "3")


def test_exit_code_137_after_runc_kill():
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"])
        c.start()
        c.runc_start()
        c.runc_kill("KILL")
        _exit_file_checks(c, "137")


def test_exit_code_143_after_runc_kill_term():
    # The container's process must die of the default action of SIGTERM.
    # As pid 1 of its own pid namespace it cannot: the kernel drops signals
    # without a handler for a namespace init (also with `runc kill --all`,
    # and `trap - TERM` only restores that default). So this container
    # shares the host pid namespace: `sleep` is then an ordinary process
    # and SIGTERM from `runc kill` kills it, status 128 + 15.
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"], pid_ns=False)
        c.start()
        c.runc_start()
        c.runc_kill("TERM")
        _exit_file_checks(c, "143")


def test_sync_monitor_status_is_container_status():
    """--sync: the monitor stays in the foreground, its own exit status is
    the container's, and -P is not written (spec 3.2, 10.8)."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "exit 3"])
        m = c.start(sync=True, conmon_pidfile=True)
        assert m.proc.poll() is None or m.proc.returncode == 3
        c.runc_start()
        m.expect(3)
        assert read_file(c.exit_file) == "3"
        assert not os.path.exists(c.conmon_pidfile), \
            "--conmon-pidfile written in --sync mode"


def test_sync_timeout_status_255():
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"])
        m = c.start(sync=True, extra=["--timeout", "1"])
        m.expect(255)
        assert read_file(c.exit_file) == "-1"


def test_timeout_without_start():
    """-T 2 and never `runc start`: the timer runs from create (spec 10.6),
    the container is killed and the exit file says -1."""
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"])
        m = c.start(extra=["--timeout", "2"])
        t0 = time.monotonic()
        got = c.wait_exit(timeout=15)
        assert got == "-1", "exit file %r, want -1" % got
        assert time.monotonic() - t0 < 12
        c.wait_gone(m.container_pid)
