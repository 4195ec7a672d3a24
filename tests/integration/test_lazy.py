# SPDX-License-Identifier: Apache-2.0
"""The attach broker on demand (README "How the processes fit"; issue 9's
memory target): an idle container has two monitor processes, the reaper
and the logger. The broker is forked when one of its objects first becomes
readable: an attach client connects, a line is written to ctl or winsz,
a datagram reaches the notify socket. Each trigger is its own test, and
after it the broker does its work as before. The monitor's processes are
counted from /proc (the daemon and its `conmon: ...` children)."""

import os
import re
import signal
import socket
import stat

import test_faults
from harness import (BASH, DEADLINE, STTY, Case, Skip, children, holds_for,
                     need_attach, proc_cmdline_raw, proc_status,
                     reconstruct, ref_differs, rootfs_has, wait_for)
from test_notify import Relay


def brokers(c):
    return [p for p in children(c.daemon_pid())
            if proc_cmdline_raw(p).startswith(b"conmon: attach")]


def loggers(c):
    return [p for p in children(c.daemon_pid())
            if proc_cmdline_raw(p).startswith(b"conmon: logger")]


def logger_has_pipe(c):
    """The logger holds the container's stdout pipe (the one the
    container's fd 1 is), not merely some pipe: its event loop has pipes
    of its own, so "any pipe" was true before the reaper handed it the
    container's."""
    want = os.readlink("/proc/%d/fd/1" % c.container_pid)
    if not want.startswith("pipe:"):
        raise AssertionError("container stdout is %r, not a pipe" % want)
    for pid in loggers(c):
        d = "/proc/%d/fd" % pid
        try:
            if any(os.readlink(os.path.join(d, f)) == want
                   for f in os.listdir(d)):
                return True
        except OSError:
            pass
    return False


def assert_idle_pair(c, seconds=0.5):
    """Reaper and logger only, for `seconds`: no broker was started."""
    holds_for(lambda: not brokers(c), seconds, "no attach broker")
    assert len(loggers(c)) == 1, "loggers %r" % loggers(c)
    assert len(c.monitor_pids()) == 2, \
        "monitor processes %r, want reaper and logger" % c.monitor_pids()


def wait_broker(c, procs=3):
    """The broker has started and finished its sandbox (its filter is
    the last step), one of `procs` monitor processes: returns its pid."""
    pids = wait_for(lambda: brokers(c) or None, what="an attach broker")
    assert len(pids) == 1, "brokers %r" % pids
    wait_for(lambda: proc_status(pids[0]).get("Seccomp") == "2",
             what="the broker's sandbox")
    assert len(c.monitor_pids()) == procs, c.monitor_pids()
    return pids[0]


@ref_differs("conmon 2.1.6 is one process")
def test_lazy_idle_container_has_no_broker():
    """An idle container with an attach socket, ctl and winsz: the
    monitor is the reaper and the logger; its output is logged."""
    need_attach()
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "echo up; sleep 1000; exit 0"])
        c.start()
        c.runc_start()
        c.wait_log("up\n")
        for name in ("attach", "ctl", "winsz"):
            assert os.path.exists(os.path.join(c.bundle_dir, name)), name
        assert_idle_pair(c, 1.0)
        c.runc_kill("KILL")
        assert c.wait_exit() == "137"


@ref_differs("conmon 2.1.6 is one process")
def test_lazy_attach_starts_broker():
    """The first attach client starts the broker, which accepts it; the
    client gets the output from then on; the broker is sandboxed; a
    second client is served by the same broker."""
    need_attach()
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "echo up; while [ ! -e /shared/go ]; do sleep 0.02; done;"
                  " echo after-attach; while [ ! -e /shared/stop ]; do "
                  "sleep 0.02; done; echo bye"], shared=True)
        c.start()
        c.runc_start()
        c.wait_log("up\n")
        assert_idle_pair(c)
        cl = c.attach()
        b = wait_broker(c)
        c.touch_shared("go")
        cl.wait_output("after-attach\n", stream=2)
        assert b"up\n" not in cl.output(), "replayed %r" % cl.output()
        st = proc_status(b)
        assert st["NoNewPrivs"] == "1" and int(st["CapEff"], 16) == 0, st
        second = c.attach()
        c.touch_shared("stop")
        second.wait_output("bye\n", stream=2)
        assert c.wait_exit() == "0"
        assert cl.read_to_eof().endswith(b"bye\n"), cl.output()


@ref_differs("conmon 2.1.6 is one process")
def test_lazy_ctl_starts_broker():
    """A ctl line written while no broker runs starts it and takes
    effect: `2 0 0` reopens the log (a new file at the log path)."""
    need_attach()
    with Case() as c:
        os.mkdir(os.path.join(c.dir, "logs"))
        c.log_path = os.path.join(c.dir, "logs", "ctr.log")
        c.bundle(["/bin/sh", "-c", "echo up; sleep 1000; exit 0"])
        c.start()
        c.runc_start()
        c.wait_log("up\n")
        assert_idle_pair(c)
        c.ctl_barrier()     # `2 0 0`, then waits for the new file
        b = wait_broker(c)
        c.ctl_barrier()     # and again, by the same broker
        assert brokers(c) == [b], "broker %d replaced: %r" % (b, brokers(c))
        c.runc_kill("KILL")
        assert c.wait_exit() == "137"


@ref_differs("conmon 2.1.6 is one process")
def test_lazy_winsz_starts_broker():
    """A winsz line written while no broker runs (no attach client: the
    container's answers are read from the log) starts it, and the pty
    gets the size (coreutils stty in the container)."""
    need_attach("-t")
    if not rootfs_has(STTY) or not rootfs_has(BASH):
        raise Skip("the test rootfs has no %s or %s" % (BASH, STTY))
    with Case() as c:
        c.bundle([BASH, "-c",
                  's=$(%s size); echo "start $s"; while [ "$(%s size)" = '
                  '"$s" ]; do sleep 0.02; done; echo "now $(%s size)"; '
                  'while [ ! -e /shared/stop ]; do sleep 0.02; done'
                  % (STTY, STTY, STTY)], terminal=True, shared=True)
        c.start(extra=["-t"])
        c.runc_start()
        c.wait_log("start 0 0\r\n")
        assert_idle_pair(c)
        c.fifo_write(b"7 9\n", name="winsz")
        wait_broker(c)
        c.wait_log("now 7 9\r\n")
        c.touch_shared("stop")
        assert c.wait_exit() == "0", "exit file"


@ref_differs("conmon 2.1.6 is one process")
def test_lazy_notify_starts_broker():
    """A datagram on the notify socket while no broker runs starts it;
    the datagram is relayed (filtered as always) to --sdnotify-socket."""
    with Case() as c:
        r = Relay(c)
        assert_idle_pair(c)
        r.send(b"MAINPID=1\nREADY=1")
        r.expect(b"READY=1")
        wait_broker(c)
        r.send(b"WATCHDOG=1")
        r.expect(b"WATCHDOG=1")
        r.still_alive()


@ref_differs("conmon 2.1.6 is one process")
def test_lazy_passthrough_notify_starts_broker():
    """-l passthrough with --sdnotify-socket: no logger, and the broker
    only once a datagram comes; then the relay works."""
    with Case() as c:
        r = Relay(c, log=["passthrough"])
        holds_for(lambda: not brokers(c), 0.5, "no attach broker")
        assert c.monitor_pids() == [c.daemon_pid()], c.monitor_pids()
        r.send(b"READY=1\nMAINPID=4")
        r.expect(b"READY=1")
        wait_broker(c, procs=2)     # the reaper and the broker
        r.still_alive()


def test_lazy_client_first_sees_output():
    """podman's order: the client connects before `runc start` (the
    broker does not exist yet when it connects, nor when it sends), then
    the container starts: its first line reaches the client, and with
    --stdin what the client sent reaches the container (cat echoes it)."""
    need_attach("-i")
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "echo first; cat; exit 0"])
        c.start(extra=["-i"])
        cl = c.attach(accepted=False)
        cl.send("from-client\n")
        c.runc_start()
        cl.wait_output("first\n", stream=2)
        cl.wait_output("from-client\n", stream=2)
        cl.shutdown_wr()    # stdin EOF: cat exits
        assert c.wait_exit() == "0"
        cl.read_to_eof()
        assert cl.output(2) == b"first\nfrom-client\n", cl.output()


PODMAN_RUNS = 15


def test_lazy_podman_run_first_line_every_time():
    """`podman run` without a terminal (spec 7.3): the client connects
    before `runc start`, when no broker exists, and the container prints
    at once and exits. The line is read before the broker has handed the
    client over (often before it is forked): the logger keeps it for the
    hand-over (README "The broker on demand"), and the drain waits for
    that, so the client reads the line, then EOF, every time."""
    need_attach()
    for i in range(PODMAN_RUNS):
        with Case() as c:
            c.bundle(["/bin/sh", "-c", "echo first-%d; exit 3" % i])
            c.start()
            cl = c.attach(accepted=False)
            c.runc_start(wait_exec=False)
            assert c.wait_exit() == "3"
            cl.read_to_eof()
            assert cl.output(2) == ("first-%d\n" % i).encode(), \
                "run %d: client read %r" % (i, cl.output())


@ref_differs("conmon 2.1.6 reads the line itself once it runs again")
def test_lazy_first_line_kept_while_the_reaper_is_late():
    """The worst order for podman's client (a loaded machine): the reaper
    does not run (stopped) while the client connects before `runc start`
    and the container prints and exits, so the logger logs the line with
    no broker and no pair. It sees a client waiting in the listener and
    keeps the line; once the reaper runs again it forks the broker, which
    hands the client over, and the client reads the line, then EOF. Every
    time: the order is forced, not raced."""
    need_attach()
    for i in range(5):
        with Case() as c:
            c.bundle(["/bin/sh", "-c", "echo late-%d; exit 3" % i])
            c.start()
            reaper = c.daemon_pid()
            # the reaper hands the logger its pipes just after the pid
            wait_for(lambda: logger_has_pipe(c), what="the logger's pipes")
            os.kill(reaper, signal.SIGSTOP)
            try:
                cl = c.attach(accepted=False)
                c.runc_start(wait_exec=False)
                c.wait_log("late-%d\n" % i)
            finally:
                os.kill(reaper, signal.SIGCONT)
            assert c.wait_exit() == "3"
            cl.read_to_eof()
            assert cl.output(2) == ("late-%d\n" % i).encode(), \
                "run %d: client read %r" % (i, cl.output())


@ref_differs("conmon 2.1.6 is one process")
def test_lazy_teardown_without_broker():
    """A container that exits with no broker ever started: exit file,
    log complete, <bundle>/attach and the symlink removed, ctl and winsz
    left as FIFOs, as with a broker (spec 7.6, 10.7)."""
    need_attach()
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "echo a; while [ ! -e /shared/stop ]; do sleep 0.02; "
                  "done; echo b; exit 4"], shared=True)
        c.start()
        c.runc_start()
        c.wait_log("a\n")
        assert_idle_pair(c)
        d = c.daemon_pid()
        c.touch_shared("stop")
        assert c.wait_exit() == "4"
        assert reconstruct(c.log(), "stdout") == b"a\nb\n", c.log()
        c.wait_gone(d)
        assert not os.path.lexists(os.path.join(c.bundle_dir, "attach"))
        assert not os.path.lexists(os.path.join(c.sock_dir, c.cid))
        for name in ("ctl", "winsz"):
            assert stat.S_ISFIFO(os.lstat(os.path.join(c.bundle_dir,
                                                       name)).st_mode), name


@ref_differs("vigil's children and failpoints")
def test_lazy_broker_setup_failure_logged_and_retried():
    """broker.setup_fail: the first broker, started by the first attach
    client, fails its sandbox setup. The start was reported long before,
    so the failure is not on the sync pipe: the reaper logs it with the
    child's reason and respawns it with the backoff; the respawned broker
    accepts that client, which gets the output."""
    need_attach()
    with Case() as c:
        c.bundle(["/bin/sh", "-c", test_faults.TICKER % 2], shared=True)
        # the pid is reported (Case.start reads the record): the broker
        # plays no part in the start
        _m, log = test_faults.fault_case(c, "broker.setup_fail")
        c.runc_start()
        c.wait_log("tick3\n")
        cl = c.attach(accepted=False)
        log.wait(re.compile(r"attach \(pid \d+\) exited with status 1; "
                            r"respawning in \d+ ms"))
        log.wait("Failed to start the attach: it died during setup: "
                 "attach sandbox: fault injection: broker.setup_fail")
        cl.wait_output("tick", stream=2)
        wait_broker(c)
        c.touch_shared("stop")
        cl.wait_output("done\n", stream=2)
        assert c.wait_exit() == "2"
        assert len(log.grep("died during setup")) == 1, log.grep("died")


@ref_differs("conmon 2.1.6 is one process")
def test_lazy_client_during_drain_reads_eof():
    """No broker has run when the container exits; the drain waits for a
    stopped logger (SIGSTOP), and meanwhile a client connects: the broker
    is started, and once the logger goes on and the drain ends the client
    reads a clean EOF (no reset from a listener closed under it) and the
    exit file follows (spec 7.6, 10.2)."""
    need_attach()
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "echo a; while [ ! -e /shared/stop ]; do sleep 0.02; "
                  "done; echo b; exit 0"], shared=True)
        c.start()
        pid = c.container_pid
        c.runc_start()
        c.wait_log("a\n")
        assert_idle_pair(c)
        lg = loggers(c)[0]
        s = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        c.on_cleanup(s.close)
        os.kill(lg, signal.SIGSTOP)
        try:
            c.touch_shared("stop")
            c.wait_gone(pid)
            holds_for(lambda: not os.path.exists(c.exit_file), 0.2,
                      "no exit file while the logger is stopped")
            s.connect(c.attach_path())
            wait_broker(c)
        finally:
            os.kill(lg, signal.SIGCONT)
        s.settimeout(DEADLINE)
        while True:
            data = s.recv(1 << 18)  # a reset raises ConnectionResetError
            if not data:
                break
            assert data[0] in (2, 3), data[:20]
        assert c.wait_exit() == "0"
        assert reconstruct(c.log(), "stdout") == b"a\nb\n", c.log()
