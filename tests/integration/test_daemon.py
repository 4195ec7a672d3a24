# SPDX-License-Identifier: Apache-2.0
"""The process model: conmon pidfile, start pipe, inherited descriptors,
the sandboxed children, signals (spec 2.2, 3, 5.2, 10.2, 11; security.md
inputs 40-44)."""

import errno
import os
import signal
import socket
import stat
import subprocess

from harness import (CONMON, IN_CREATE, IN_MOVED_TO, Case, Inotify, alive,
                     children, holds_for, kill_quietly, proc_cmdline_raw,
                     proc_fds, proc_stat, proc_status, read_file, ref_differs,
                     wait_for)


def test_conmon_pidfile():
    """-P holds the daemon's pid, no newline, mode 0644; the daemon is
    alive, detached from the launcher, in its own session (spec 3.2, 3.3)."""
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"])
        m = c.start()
        assert m.status == 0
        raw = read_file(c.conmon_pidfile)
        assert raw.isdigit(), "conmon pidfile holds %r" % raw
        d = int(raw)
        assert d != m.pid, "pidfile holds the launcher's pid"
        assert alive(d), "daemon %d not alive" % d
        st = proc_stat(d)
        assert st[1] != m.pid, "daemon's parent is the launcher"
        sid = int(read_file("/proc/%d/stat" % d).rsplit(")", 1)[1].split()[3])
        assert sid == d, "daemon is not a session leader (sid %d)" % sid
        assert os.path.realpath("/proc/%d/exe" % d) == \
            os.path.realpath(CONMON), "pidfile does not name the monitor"
        mode = stat.S_IMODE(os.stat(c.conmon_pidfile).st_mode)
        assert mode == 0o644, "conmon pidfile mode %o" % mode


def test_container_parent_is_daemon():
    """The daemon is the container process's subreaper and parent."""
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"])
        m = c.start()
        d = c.daemon_pid()
        st = proc_stat(m.container_pid)
        assert st and st[1] == d, "container %d has parent %s, want %d" % (
            m.container_pid, st and st[1], d)
        assert proc_status(d)["PPid"] != str(m.pid)


def test_start_pipe_gates_runtime():
    """Until the start byte is written, no runtime runs (spec 5.2). The
    launcher reads the start pipe before it forks (spec 3.1 step 4), so
    the process to watch is the launcher: it must have no child at all."""
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"])
        m = c.launch(c.args(), write_start=False)

        def nothing_started():
            assert m.proc.poll() is None, \
                "launcher exited %s before the start byte" % m.proc.returncode
            assert children(m.pid) == [], \
                "launcher has children %r" % children(m.pid)
            assert c.runc_state() is None, "container exists"
            return True
        holds_for(nothing_started, 1.0, "no runtime before the start byte")
        m.write_start()
        m.expect(0)
        rec = m.record()
        assert rec and rec.get("data", 0) > 0, "no pid record: %r" % rec
        st = c.runc_state()
        assert st and st["status"] == "created", "runc state %r" % st


def _listen():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    return s


def _port_free(port):
    t = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    t.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        t.bind(("127.0.0.1", port))
        return True
    except OSError as e:
        if e.errno == errno.EADDRINUSE:
            return False
        raise
    finally:
        t.close()


def test_inherited_fd_closed_before_exit_file():
    """A port reservation passed as fd 5 stays open while the container
    runs and is closed by the time the exit file appears (spec 2.2, 10.2)."""
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"])
        lsock = _listen()
        port = lsock.getsockname()[1]
        ino = os.fstat(lsock.fileno()).st_ino
        try:
            c.start(extra_fds={5: lsock.fileno()})
        finally:
            lsock.close()
        d = c.daemon_pid()
        want = "socket:[%d]" % ino
        assert proc_fds(d).get(5) == want, \
            "daemon fd 5 is %r, want %s" % (proc_fds(d).get(5), want)
        c.runc_start()
        assert not _port_free(port), "port free while the container runs"
        cl = socket.create_connection(("127.0.0.1", port), timeout=5)
        cl.close()
        with Inotify(c.exit_dir, IN_CREATE | IN_MOVED_TO) as w:
            c.runc_kill("KILL")
            w.wait(c.cid)
            free = _port_free(port)
        assert free, "port still reserved when the exit file appeared"
        assert read_file(c.exit_file) == "137"


@ref_differs("conmon 2.1.6 is one unsandboxed process")
def test_sandboxed_children():
    """The logger child (and any other `conmon: ` child: the broker,
    started here by an attach client) runs with seccomp filter mode,
    no_new_privs, no capabilities and a non-root uid (security.md,
    Auditing the profiles)."""
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"])
        m = c.start()
        c.runc_start()
        c.start_broker()
        d = c.daemon_pid()

        def sandboxed_kids():
            return [p for p in children(d)
                    if proc_cmdline_raw(p).startswith(b"conmon: ")]
        kids = wait_for(sandboxed_kids, what="children named `conmon: ...`")
        names = [proc_cmdline_raw(p) for p in kids]
        assert any(n.startswith(b"conmon: logger") for n in names), \
            "no `conmon: logger` child among %r" % names
        kids = wait_for(lambda: sandboxed_kids() if len(sandboxed_kids())
                        == 2 else None, what="the logger and the broker")
        for p in kids:
            st = proc_status(p)
            name = proc_cmdline_raw(p).split(b"\0")[0].decode()
            assert st["Seccomp"] == "2", "%s: Seccomp %s" % (
                name, st["Seccomp"])
            assert st["NoNewPrivs"] == "1", "%s: NoNewPrivs %s" % (
                name, st["NoNewPrivs"])
            for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                assert int(st[k], 16) == 0, "%s: %s %s" % (name, k, st[k])
            uids = st["Uid"].split()
            assert "0" not in uids, "%s: uid %s" % (name, st["Uid"])
            gids = st["Gid"].split()
            assert "0" not in gids, "%s: gid %s" % (name, st["Gid"])
            assert st["Groups"] == "", "%s: groups %s" % (name, st["Groups"])
        st = proc_stat(m.container_pid)
        assert st[1] == d, "container's parent %d, want daemon %d" % (st[1], d)


def test_sigterm_forwarded_to_container():
    """kill -TERM <daemon>: forwarded to the container (which traps it),
    the daemon keeps running until the container exits (spec 11)."""
    with Case() as c:
        # The TERM trap arms a USR1 trap, so the test decides when the
        # container ends and can look at the daemon in between.
        c.bundle(["/bin/sh", "-c",
                  "trap 'echo got-term; trap \"exit 0\" USR1' TERM; "
                  "echo ready; while :; do sleep 0.1; done"])
        c.start()
        c.runc_start()
        c.wait_log("ready")
        d = c.daemon_pid()
        os.kill(d, signal.SIGTERM)
        c.wait_log("got-term")
        assert alive(d), "daemon died of SIGTERM"
        assert not os.path.exists(c.exit_file), "exit file before the exit"
        c.runc_kill("USR1")
        assert c.wait_exit() == "0"
        c.wait_gone(d)


def test_sec40_sigterm_kills_container_143():
    """SIGTERM to the daemon reaches a container process that does not
    handle it: exit file 143 (no pid namespace, see test_exit)."""
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"], pid_ns=False)
        c.start()
        c.runc_start()
        d = c.daemon_pid()
        os.kill(d, signal.SIGTERM)
        assert c.wait_exit() == "143"
        c.wait_gone(d)


def test_sigint_sigquit_forwarded():
    """SIGINT and SIGQUIT are forwarded too (spec 11)."""
    for sig, want in ((signal.SIGINT, "130"), (signal.SIGQUIT, "131")):
        with Case() as c:
            c.bundle(["/bin/sleep", "1000"], pid_ns=False)
            c.start()
            c.runc_start()
            d = c.daemon_pid()
            os.kill(d, sig)
            got = c.wait_exit()
            assert got == want, "%s: exit file %r, want %s" % (
                sig.name, got, want)


@ref_differs("2.1.6 dies of SIGHUP and the exit status is lost (spec 11)")
def test_sec41_sighup_and_friends_ignored():
    """SIGHUP, SIGUSR2, SIGALRM to the daemon: it survives, and the exit
    file later has the right status."""
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"])
        c.start()
        c.runc_start()
        d = c.daemon_pid()
        for sig in (signal.SIGHUP, signal.SIGUSR2, signal.SIGALRM,
                    signal.SIGVTALRM, signal.SIGPROF):
            os.kill(d, sig)
            holds_for(lambda: alive(d), 0.3, "daemon alive after %s" %
                      sig.name)
        c.runc_kill("KILL")
        assert c.wait_exit() == "137"


def test_sec42_sigstop_sigcont():
    """SIGSTOP then SIGCONT to the daemon while the container writes and
    exits: nothing lost after the continue."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "i=0; while [ $i -lt 500 ]; do echo line $i; i=$((i+1)); "
                  "done; exit 6"])
        m = c.start()
        d = c.daemon_pid()
        os.kill(d, signal.SIGSTOP)
        try:
            wait_for(lambda: proc_stat(d)[0] == "T", what="daemon stopped")
            c.runc_start()
            c.wait_gone(m.container_pid)
        finally:
            os.kill(d, signal.SIGCONT)
        assert c.wait_exit() == "6"
        lines = c.log_lines("stdout")
        assert lines == ["line %d" % i for i in range(500)], \
            "log has %d lines, last %r" % (len(lines), lines[-1:])


def test_sec43_sigkill_daemon_leaves_no_orphans():
    """SIGKILL to the daemon: accepted loss of the exit code, but every
    monitor child dies with it (parent-death signal)."""
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"])
        c.start()
        c.runc_start()
        d = c.daemon_pid()
        kids = [p for p in children(d)
                if proc_cmdline_raw(p).startswith(b"conmon")]
        kill_quietly(d, signal.SIGKILL)
        for p in kids:
            wait_for(lambda: not alive(p), what="monitor child %d (%r) to "
                     "die with the daemon" % (p, proc_cmdline_raw(p)))


@ref_differs("2.1.6 kills the process group of the container even when it "
             "is its own, and dies before writing the exit file")
def test_sec44_timeout_container_in_monitor_pgrp():
    """The container in the monitor's process group when --timeout fires:
    the container is killed, the monitor survives and writes -1."""
    with Case() as c:
        c.bundle(["/bin/true"])
        m = c.start(runtime=c.fake_runtime(), extra=["--timeout", "1"])
        d = c.daemon_pid()
        pg = proc_stat(m.container_pid)[2]
        assert pg == proc_stat(d)[2], \
            "fake runtime's container not in the daemon's group: test broken"
        assert c.wait_exit() == "-1"
        c.wait_gone(m.container_pid)


@ref_differs("vigil's own hardening: conmon 2.1.6 is a dynamic binary")
def test_relro_read_only_in_the_daemon():
    """The binary's GNU_RELRO segment (GOT, .init_array, .data.rel.ro) is
    read-only in the running daemon: musl's static-pie start-up leaves it
    writable, so vigil's main() protects it (monitor/main.c)."""
    hdr = subprocess.run(["readelf", "-lW", CONMON], capture_output=True,
                         text=True, check=True).stdout
    relro = [l.split() for l in hdr.splitlines()
             if l.split()[:1] == ["GNU_RELRO"]]
    assert relro, "no GNU_RELRO in %s" % CONMON
    vaddr, memsz = int(relro[0][2], 16), int(relro[0][5], 16)
    page = os.sysconf("SC_PAGE_SIZE")
    lo, hi = vaddr & ~(page - 1), (vaddr + memsz) & ~(page - 1)
    with Case() as c:
        c.bundle(["/bin/sleep", "30"])
        c.start()
        d = c.daemon_pid()
        exe = os.path.realpath("/proc/%d/exe" % d)
        maps = []
        with open("/proc/%d/maps" % d) as f:
            for line in f:
                p = line.split()
                if len(p) >= 6 and p[5] == exe:
                    a, b = (int(x, 16) for x in p[0].split("-"))
                    maps.append((a, b, p[1], int(p[2], 16)))
        base = min(a - off for a, b, perms, off in maps)
        covering = [(a, b, perms) for a, b, perms, off in maps
                    if a < base + hi and b > base + lo]
        assert covering and all(perms.startswith("r-") for _, _, perms
                                in covering), \
            "RELRO %x-%x mapped %r" % (lo, hi, [
                (hex(a - base), hex(b - base), perms)
                for a, b, perms in covering])
