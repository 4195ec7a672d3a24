# SPDX-License-Identifier: Apache-2.0
"""The attach socket: location, framing, stdin, several clients, teardown,
hostile clients, the broker's sandbox (spec 7, 10.2, 10.7; checklist rows
23-28, 51; security.md inputs 7, 8, 10).

A client is what podman and CRI-O dial: SOCK_SEQPACKET to
<socket-dir-path>/<cuuid>/attach (the monitor's symlink to the bundle) or,
with --full-attach, <bundle>/attach. harness.AttachClient checks every
record it reads (stream byte 2 or 3, payload, at most 8193 bytes).
Case.attach() returns once the monitor has accepted the client, so the
client sees all output produced from then on.
"""

import ctypes
import os
import re
import resource
import select
import socket
import stat
import time

from harness import (DEADLINE, IN_CREATE, IN_MOVED_TO, K8S_RE, AttachClient,
                     Case, Inotify, Skip, children, holds_for, need_attach,
                     proc_cmdline_raw, proc_fds, proc_status, reconstruct,
                     read_file, ref_differs, timeout, wait_for)
from test_log import CHUNK_SCRIPT, READ_MAX, chunk_stamps

# A 64 KiB pattern written with one write(2) by the container (dd from a
# file in /dev/shm, the spec's writable tmpfs).
PATTERN = (b"0123456789abcdef\n" * 4000)[:65536]
MAKE_PATTERN = ("yes 0123456789abcdef | head -c 65536 > /dev/shm/p; ")
WRITE_PATTERN = "dd if=/dev/shm/p bs=65536 count=1 2>/dev/null; "


def _stream(c, name):
    return reconstruct(c.log(), name)


# ---------------------------------------------------------------------------
# Where the socket is (row 23) and what is left at exit (row 28)

def test_row23_attach_socket_and_symlink():
    """Without --full-attach: <bundle>/attach is a SOCK_SEQPACKET socket
    of mode 0700 and <sockdir>/<cuuid> a symlink to the bundle, through
    which a client connects (spec 7.1, 7.2)."""
    need_attach()
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "echo via-symlink; sleep 1000; exit 0"])
        c.start()
        sock = os.path.join(c.bundle_dir, "attach")
        st = os.lstat(sock)
        assert stat.S_ISSOCK(st.st_mode), "<bundle>/attach mode %o" % (
            st.st_mode)
        assert stat.S_IMODE(st.st_mode) == 0o700, \
            "<bundle>/attach mode %o, want 700" % stat.S_IMODE(st.st_mode)
        link = os.path.join(c.sock_dir, c.cid)
        assert os.path.islink(link), "%s is not a symlink (%r)" % (
            link, os.listdir(c.sock_dir))
        assert os.path.realpath(link) == os.path.realpath(c.bundle_dir), \
            "symlink points to %r, want the bundle" % os.readlink(link)
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.connect(c.attach_path())
            raise AssertionError("a SOCK_STREAM connect was accepted")
        except OSError:
            pass
        finally:
            s.close()
        cl = c.attach()
        c.runc_start()
        cl.wait_output("via-symlink\n", stream=2)
        c.runc_kill("KILL")
        assert c.wait_exit() == "137"


def test_row23_full_attach_no_symlink():
    """--full-attach: no symlink in the socket directory; clients connect
    to <bundle>/attach (spec 7.1)."""
    need_attach("--full-attach")
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "echo direct; sleep 1000; exit 0"])
        c.start(extra=["--full-attach"])
        assert os.listdir(c.sock_dir) == [], \
            "socket directory holds %r" % os.listdir(c.sock_dir)
        st = os.lstat(os.path.join(c.bundle_dir, "attach"))
        assert stat.S_ISSOCK(st.st_mode) and \
            stat.S_IMODE(st.st_mode) == 0o700, "attach mode %o" % st.st_mode
        cl = c.attach(full=True)
        c.runc_start()
        cl.wait_output("direct\n", stream=2)
        c.runc_kill("KILL")
        assert c.wait_exit() == "137"


def _teardown_run(c):
    c.bundle(["/bin/sh", "-c", "echo bye"])
    c.start()
    cl = c.attach()
    d = c.daemon_pid()
    c.runc_start()
    assert c.wait_exit() == "0", "exit file"
    cl.read_to_eof()
    assert cl.output(2) == b"bye\n", "client got %r" % cl.output()
    c.wait_gone(d)


def test_row28_teardown():
    """After a normal exit: the client read EOF, <bundle>/attach is gone,
    ctl and winsz remain as FIFOs (spec 7.6, 10.7)."""
    need_attach()
    with Case() as c:
        _teardown_run(c)
        assert not os.path.lexists(os.path.join(c.bundle_dir, "attach")), \
            "<bundle>/attach still exists"
        for name in ("ctl", "winsz"):
            st = os.lstat(os.path.join(c.bundle_dir, name))
            assert stat.S_ISFIFO(st.st_mode), "%s is gone or not a FIFO" % (
                name)


@ref_differs("2.1.6 leaves the <socket-dir-path>/<cuuid> symlink behind "
             "(removed since 2.1.7, spec 7.1)")
def test_row28_symlink_removed():
    need_attach()
    with Case() as c:
        _teardown_run(c)
        assert os.listdir(c.sock_dir) == [], \
            "socket directory still holds %r" % os.listdir(c.sock_dir)


# ---------------------------------------------------------------------------
# Output framing (row 24), several clients (row 27)

def test_row24_framing():
    """`\\x02hello\\n` and `\\x03err\\n` records; 64 KiB written at once
    arrive in records of at most 8193 bytes whose payloads join to
    exactly those bytes (spec 7.3)."""
    need_attach()
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  MAKE_PATTERN + "echo hello; echo err >&2; "
                  "while [ ! -e /shared/go ]; do sleep 0.02; done; " +
                  WRITE_PATTERN], shared=True)
        c.start()
        cl = c.attach()
        c.runc_start()
        cl.wait_until(lambda x: len(x.records) >= 2, what="two records")
        assert sorted(cl.records) == [(2, b"hello\n"), (3, b"err\n")], \
            "records %r, want \\x02hello\\n and \\x03err\\n" % cl.records
        c.touch_shared("go")
        assert c.wait_exit() == "0", "exit file"
        cl.read_to_eof()
        got = cl.output(2)
        assert got == b"hello\n" + PATTERN, \
            "stdout payloads: %d bytes, want %d (first difference at %s)" % (
                len(got), 6 + len(PATTERN),
                next((i for i, (a, b) in enumerate(zip(
                    got, b"hello\n" + PATTERN)) if a != b), "the end"))
        assert cl.output(3) == b"err\n", "stderr %r" % cl.output(3)
        assert cl.longest <= 8193, "longest record %d" % cl.longest
        assert len(cl.records) >= 2 + 8, "%d records" % len(cl.records)
        assert _stream(c, "stdout") == got, "log and client differ"


def test_row27_two_clients():
    """Two clients both receive every record; both can write (-i)."""
    need_attach("-i")
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  'read a; read b; echo "got $a $b"; ' + MAKE_PATTERN +
                  WRITE_PATTERN + 'echo; echo "to stderr" >&2; echo done'])
        c.start(extra=["-i"])
        a = c.attach()
        b = c.attach()
        c.runc_start()
        a.send("from-a\n")
        b.send("from-b\n")
        assert c.wait_exit() == "0", "exit file"
        for cl in (a, b):
            cl.read_to_eof()
        out = _stream(c, "stdout")
        assert out.startswith((b"got from-a from-b\n",
                               b"got from-b from-a\n")), \
            "container read %r" % out[:40]
        assert out.endswith(PATTERN + b"\ndone\n"), "log stdout %r" % (
            out[-40:])
        for cl in (a, b):
            assert cl.output(2) == out, \
                "client %s stdout: %d bytes, log %d" % (
                    cl.name, len(cl.output(2)), len(out))
            assert cl.output(3) == b"to stderr\n", \
                "client %s stderr %r" % (cl.name, cl.output(3))


# ---------------------------------------------------------------------------
# stdin (rows 25, 26)

def test_row25_stdin_eof_closes():
    """-i, container `cat`: a client sends `hi\\n` and shuts down its
    write side: cat gets EOF and exits 0, the log has `hi`, the client
    still receives the output and then EOF (spec 7.4)."""
    need_attach("-i")
    with Case() as c:
        c.bundle(["/bin/cat"])
        c.start(extra=["-i"])
        cl = c.attach()
        c.runc_start()
        cl.send("hi\n")
        cl.shutdown_wr()
        assert c.wait_exit() == "0", "exit file"
        assert _stream(c, "stdout") == b"hi\n", "log %r" % c.log()
        cl.read_to_eof()
        assert cl.output() == b"hi\n", "client got %r" % cl.output()
        c.wait_gone(c.daemon_pid())
        assert not os.path.lexists(os.path.join(c.bundle_dir, "attach")), \
            "<bundle>/attach left behind"


def test_row26_leave_stdin_open():
    """-i --leave-stdin-open: the first client's EOF does not close
    stdin; `cat` keeps running and a second client's input reaches it
    (spec 7.4)."""
    need_attach("-i", "--leave-stdin-open")
    with Case() as c:
        c.bundle(["/bin/cat"])
        c.start(extra=["-i", "--leave-stdin-open"])
        first = c.attach()
        clients = [first]
        c.runc_start()
        first.send("first\n")
        first.shutdown_wr()
        first.wait_output("first\n")
        first.close()
        # Negative check: without the option cat would exit at once.
        holds_for(lambda: not os.path.exists(c.exit_file) and
                  c.runc_state()["status"] == "running", 1.0,
                  "cat running after the first client's EOF")
        second = c.attach()
        second.send("second\n")
        second.wait_output("second\n")
        c.wait_log("first\nsecond\n")
        assert c.runc_state()["status"] == "running", "cat has exited"
        c.runc_kill("KILL")
        assert c.wait_exit() == "137"


def test_stdin_flow_control_container_not_reading():
    """-i, a container that does not read stdin for a while (spec 6.4,
    security 11): a client sends 512 KiB, far more than the stdin pipe
    and its socket hold, so its sends block; meanwhile the container's
    output still reaches it (the logger writes stdin without ever
    waiting). Once the container reads (`cat`), every byte arrives, in
    order: the log holds every input line exactly once."""
    need_attach("-i")
    import threading
    n = 512 * 1024 // 12
    data = b"".join(b"in-%08d\n" % i for i in range(n))
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "i=0; while [ ! -e /shared/go ]; do echo tick$i; "
                  "i=$((i+1)); sleep 0.02; done; exec cat"], shared=True)
        c.start(extra=["-i"])
        cl = c.attach()
        c.runc_start()
        cl.wait_output("tick1\n")
        sent = [0]

        def sender():
            for off in range(0, len(data), 32768):
                cl.sock.sendall(data[off:off + 32768])
                sent[0] = off + 32768
            cl.shutdown_wr()
        t = threading.Thread(target=sender, daemon=True)
        t.start()
        time.sleep(0.3)
        assert t.is_alive() and sent[0] < len(data), \
            "all %d bytes went while the container did not read" % sent[0]
        ticks = cl.output(2).count(b"tick")
        cl.wait_until(lambda x: x.output(2).count(b"tick") >= ticks + 5,
                      what="output while its own input is blocked")
        c.touch_shared("go")
        t.join(DEADLINE)
        assert not t.is_alive(), "the client's input never all went in"
        assert c.wait_exit() == "0", "exit file"
        got = [l for l in c.log_lines("stdout") if l.startswith("in-")]
        want = ["in-%08d" % i for i in range(n)]
        assert got == want, "log holds %d of %d input lines (first " \
            "difference at %s)" % (len(got), n, next(
                (i for i, (a, b) in enumerate(zip(got, want)) if a != b),
                min(len(got), n)))
        cl.read_to_eof()


def test_input_record_over_32768_is_cut_and_said():
    """spec 7.3, vigil's decision: a client record longer than 32768
    bytes (ConnSockBufSize) reaches stdin cut to 32768 bytes, and the
    monitor says so (MSG_TRUNC detected); the next record is whole."""
    need_attach("-i")
    from test_respawn import start_with_syslog
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "wc -c; exit 0"])
        sl = start_with_syslog(c, extra=["-i"])
        cl = c.attach()
        c.runc_start()
        cl.send(b"z" * 40000)
        cl.send(b"end\n")
        cl.shutdown_wr()
        assert c.wait_exit() == "0", "exit file"
        assert [l.strip() for l in c.log_lines("stdout")] == \
            [str(32768 + 4)], \
            "container read %r bytes" % c.log_lines("stdout")
        wait_for(lambda: any("sent a record over 32768 bytes; only its "
                             "first 32768 reach stdin" in m
                             for m in sl.msgs), what="the warning")


def test_echo_of_own_input_never_missed():
    """-i --leave-stdin-open, container `cat`: 40 clients one after
    another each connect, send a line at once (accepted=False: no wait
    for the monitor) and read it back. The logger reads a client's input
    only once it holds the client (README "How the processes fit"), so
    the echo of a client's own input always reaches it, however soon it
    writes (spec 7.3)."""
    need_attach("-i", "--leave-stdin-open")
    with Case() as c:
        c.bundle(["/bin/cat"])
        c.start(extra=["-i", "--leave-stdin-open"])
        c.runc_start()
        for i in range(40):
            cl = c.attach(accepted=False)
            cl.send("line-%d\n" % i)
            cl.wait_output("line-%d\n" % i)
            cl.close()
        c.runc_kill("KILL")
        assert c.wait_exit() == "137"


@timeout(120)
@ref_differs("2.1.6's client sockets are blocking: a client that does not "
             "read stops the log and the container (spec 7.5)")
def test_sec7_stalled_client_others_get_everything():
    """One client never reads while the container writes 300 chunks of
    64 KiB, a little apart (so a Python client keeps up); another reads
    all along and gets every byte; the stalled one loses only its own
    records beyond its queue, and the logger says so (spec 7.5,
    security.md 7); the log is complete."""
    need_attach()
    chunks = 300
    total = chunks * 65536
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  MAKE_PATTERN + "i=0; while [ $i -lt %d ]; do " % chunks +
                  WRITE_PATTERN + "sleep 0.002; i=$((i+1)); done; exit 0"])
        m = c.start()
        stalled = c.attach()
        reader = c.attach()
        c.runc_start()
        reader.read_to_eof(60)
        c.wait_gone(m.container_pid, 60)
        stalled.read_to_eof()
        assert c.wait_exit() == "0", "exit file"
        assert reader.output(2) == PATTERN * chunks, \
            "the reading client got %d bytes of %d" % (
                len(reader.output(2)), total)
        n = _count_k8s_bytes(c.log_path)
        assert n == total, "log holds %d container bytes, want %d" % (n, total)
        got = stalled.output(2)
        assert 0 < len(got) < total, "the stalled client got %d bytes" % (
            len(got))
        # whole records, in order, from the start: a prefix of the output
        assert got == (PATTERN * chunks)[:len(got)], \
            "the stalled client's records are not the output's start"


# ---------------------------------------------------------------------------
# Send buffers and the read size (README "Performance", security.md 7)

# logger.h: the send buffer asked for each client, the bound on all of
# them as granted, and the read sizes (sndbuf.c)
CLIENT_SNDBUF = 1 << 20
CLIENT_SNDBUFS_TOTAL = 16 << 20
READ_MIN = 65536


def _chunk_max(sndbuf):
    """sndbuf.c log_chunk_max(): a quarter of the buffer, in whole steps of
    READ_MIN, within [READ_MIN, READ_MAX]."""
    n = sndbuf // 4
    n -= n % READ_MIN
    return min(max(n, READ_MIN), READ_MAX)


def _sndbuf_of(pid, fd):
    """SO_SNDBUF of another process's socket (pidfd_getfd(2), as root)."""
    libc = ctypes.CDLL(None, use_errno=True)
    pidfd = os.pidfd_open(pid)
    try:
        n = libc.syscall(438, pidfd, fd, 0)  # SYS_pidfd_getfd, every arch
        if n < 0:
            e = ctypes.get_errno()
            raise OSError(e, "pidfd_getfd(%d, %d): %s" % (
                pid, fd, os.strerror(e)))
        with socket.socket(fileno=n) as s:
            return s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    finally:
        os.close(pidfd)


def _logger_sndbufs(c):
    """The send buffers of the attach client sockets the logger holds."""
    accepted = set()
    with open("/proc/net/unix") as f:
        next(f)
        for line in f:
            fl = line.split()
            if len(fl) >= 8 and fl[4] == "0005" and fl[5] == "03":
                accepted.add(fl[6])
    pid = next(p for p in c.monitor_pids()
               if proc_cmdline_raw(p).startswith(b"conmon: logger"))
    return sorted(_sndbuf_of(pid, fd) for fd, t in proc_fds(pid).items()
                  if t.startswith("socket:[") and t[8:-1] in accepted)


@timeout(120)
@ref_differs("2.1.6 keeps the default send buffer and reads 8 KiB at once")
def test_client_send_buffers_set_the_read_size():
    """Each client's socket gets a send buffer of 1 MiB asked (2 MiB as the
    kernel counts it, capped by net.core.wmem_max) while all raised ones
    together stay within 16 MiB; past that a client keeps the default
    (security.md 7: kernel memory a client that does not read holds).
    The logger reads no more than the smallest buffer of an attached
    client takes (a quarter of it, 64-256 KiB): 256 KiB written at once
    come in one read or in several, told by the log's timestamps (one a
    read); a client leaving gives its share back, and so does one whose
    output ended (a send failed) while its input stays open. Every client
    gets all the output."""
    need_attach()
    wmem_max = int(read_file("/proc/sys/net/core/wmem_max"))
    default = int(read_file("/proc/sys/net/core/wmem_default"))
    granted = 2 * min(CLIENT_SNDBUF, wmem_max)
    raised, total = 0, 0
    while total + 2 * CLIENT_SNDBUF <= CLIENT_SNDBUFS_TOTAL:
        raised += 1
        total += granted
    assert raised <= 64, "%d clients before the bound: wmem_max %d" % (
        raised, wmem_max)

    def reads(*bufs):
        return READ_MAX // min(_chunk_max(b) for b in bufs)

    def step(n):
        """Write n; every client reads it (their queues stay empty)."""
        stamps = chunk_stamps(c, n)
        for cl in clients:
            cl.wait_output("end-%d\n" % n, stream=2)
        return stamps

    with Case() as c:
        c.bundle(["/bin/sh", "-c", CHUNK_SCRIPT], shared=True)
        c.start()
        first = c.attach()
        clients = [first]
        c.runc_start()
        c.wait_log("ready\n")
        got = _logger_sndbufs(c)
        assert got == [granted], "send buffers %r, want [%d]" % (got, granted)
        n = step(1)
        assert n == reads(granted), "one client: %d reads of 256 KiB, " \
            "want %d" % (n, reads(granted))

        clients += [c.attach() for _ in range(raised)]
        got = _logger_sndbufs(c)
        want = sorted([granted] * raised + [default])
        assert got == want, "%d clients: send buffers %r, want %r" % (
            len(clients), got, want)
        n = step(2)
        assert n == reads(granted, default), "with a client of the " \
            "default buffer: %d reads, want %d" % (n, reads(granted, default))

        # the last one kept the default: without it, larger reads again
        clients.pop().close()
        wait_for(lambda: len(_logger_sndbufs(c)) == raised,
                 what="the logger to let the client go")
        n = step(3)
        assert n == reads(granted), "the small buffer gone: %d reads, " \
            "want %d" % (n, reads(granted))

        # a raised one leaves: the next client is raised in its place
        clients.pop().close()
        wait_for(lambda: len(_logger_sndbufs(c)) == raised - 1,
                 what="the logger to let the client go")
        clients.append(c.attach())
        got = _logger_sndbufs(c)
        assert got == [granted] * raised, "send buffers %r after one " \
            "left and one came, want %d of %d" % (got, raised, granted)
        for i in range(4, 9):
            if i == 6:
                # one more keeps the default buffer; then its output ends
                # (it shuts its read side: the next send fails) while its
                # input stays open: its share goes when the output ends
                late = c.attach()
                clients.append(late)  # it reads this write whole
                n = step(i)
                clients.remove(late)
                assert n == reads(granted, default), "write %d with a " \
                    "client of the default buffer: %d reads, want %d" % (
                        i, n, reads(granted, default))
                late.sock.shutdown(socket.SHUT_RD)
            elif i == 7:
                step(i)  # its first send fails here: its output ends
            else:
                assert step(i) == reads(granted), "write %d: not %d " \
                    "reads" % (i, reads(granted))
        late.close()
        assert c.wait_exit() == "0", "exit file"
        out = _stream(c, "stdout")
        assert out.endswith(b"end-8\n"), "log stdout ends %r" % out[-40:]
        for cl in clients:
            cl.read_to_eof()
            assert out.endswith(cl.output(2)), "client %s: %d bytes, " \
                "not the end of the log's %d" % (
                    cl.name, len(cl.output(2)), len(out))
        assert first.output(2) == out, "the first client got %d of %d " \
            "bytes" % (len(first.output(2)), len(out))


# ---------------------------------------------------------------------------
# Exit with clients attached (row 51, spec 10.2)

def test_row51_clients_eof_before_exit_file():
    """Two clients attached when the container exits: both have read the
    last output and EOF by the time the exit file appears (inotify on
    the exit directory; clients are read before events on every turn)."""
    need_attach()
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "while [ ! -e /shared/stop ]; do sleep 0.02; done; "
                  "echo last-line"], shared=True)
        c.start()
        cls = [c.attach(), c.attach()]
        c.runc_start()
        with Inotify(c.exit_dir, IN_CREATE | IN_MOVED_TO) as w:
            c.touch_shared("stop")
            end = time.monotonic() + DEADLINE
            while True:
                left = end - time.monotonic()
                assert left > 0, "no exit file within %.0f s" % DEADLINE
                select.select([x for x in cls if not x.eof] + [w.fd], [], [],
                              min(left, 0.5))
                for cl in cls:
                    cl.read_some(0)
                if w.seen(c.cid):
                    t_exit = time.monotonic()
                    break
            # The EOF must be queued by now: read without waiting.
            for cl in cls:
                eof = cl.drain_nowait()
                assert eof, "client %s: no EOF queued when the exit file " \
                    "appeared (got %r)" % (cl.name, cl.output()[-80:])
                assert cl.output(2) == b"last-line\n", \
                    "client %s got %r" % (cl.name, cl.output())
            print("EOF read %s ms before the exit file event was read" % (
                ", ".join("%.2f" % ((t_exit - cl.eof_time) * 1000)
                          for cl in cls)))
        assert c.wait_exit() == "0"


# ---------------------------------------------------------------------------
# Hostile clients (security.md 7, 8, 10) and the sandbox

def _count_k8s_bytes(path):
    """Container bytes in a k8s-file log, streaming (for 100 MB)."""
    n = 0
    with open(path, "rb") as f:
        for line in f:
            m = K8S_RE.match(line[:-1])
            assert m and line.endswith(b"\n"), "bad log line %r" % line[:80]
            n += len(m.group(4)) + (1 if m.group(3) == b"F" else 0)
    return n


@timeout(120)
@ref_differs("2.1.6's client sockets are blocking: a client that does not "
             "read stops the log and the container (spec 7.5)")
def test_sec7_stalled_client_100mb():
    """A client that never reads while the container writes 100 MB: the
    log keeps growing and the container writes everything and exits
    while the client has read nothing; the log is complete; the client,
    reading at last, gets records of at most 8193 bytes and EOF, and the
    exit file comes (spec 7.5, security.md 7)."""
    need_attach()
    total = 100 * 1000 * 1000
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "head -c %d /dev/zero; exit 0" % total])
        m = c.start()
        stalled = c.attach()
        c.runc_start()
        wait_for(lambda: os.path.exists(c.log_path) and
                 os.path.getsize(c.log_path) > 32 << 20, 60,
                 "the log to grow past 32 MB while a client is stalled")
        # Only pipe back-pressure may slow the container: it writes all
        # 100 MB (far beyond any socket buffer or client queue) and exits
        # before the client reads a byte.
        c.wait_gone(m.container_pid, 60)
        stalled.read_to_eof()
        assert c.wait_exit() == "0", "exit file"
        n = _count_k8s_bytes(c.log_path)
        assert n == total, "log holds %d container bytes, want %d" % (n, total)
        got = len(stalled.output())
        assert 0 < got < total, "the stalled client got %d bytes" % got


def _rlimit_nofile(want):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE,
                           (min(want, hard), hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def _fd_counts(c):
    return {p: len(proc_fds(p)) for p in c.monitor_pids()}


@timeout(90)
def test_sec8_thousand_clients():
    """1,000 clients at once, all served (each gets output), then closed;
    then 1,000 connect/disconnect cycles: the fd count of every monitor
    process returns to its start value and a new client is served
    (security.md 8). The container prints a tick every 50 ms."""
    need_attach()
    limit = _rlimit_nofile(4096)    # the monitor inherits it too
    if limit < 1100:
        raise Skip("RLIMIT_NOFILE hard limit %d < 1100" % limit)
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "while :; do echo tick; sleep 0.05; done"])
        c.start()
        c.runc_start()
        c.wait_log("tick\n")
        c.start_broker()    # vigil: the first connect starts the broker
        base = _fd_counts(c)
        cls = []
        try:
            for _ in range(1000):
                cls.append(AttachClient(c.attach_path()))
            pending = {cl.fileno(): cl for cl in cls}
            end = time.monotonic() + DEADLINE
            while pending:
                left = end - time.monotonic()
                assert left > 0, "%d of 1000 clients got no output" % len(
                    pending)
                p = select.poll()
                for fd in pending:
                    p.register(fd, select.POLLIN)
                for fd, _ev in p.poll(min(left, 0.5) * 1000):
                    cl = pending[fd]
                    cl.read_some(0)
                    assert not cl.eof, "client %s closed by the monitor" % (
                        cl.name)
                    if cl.records:
                        del pending[fd]
        finally:
            for cl in cls:
                cl.close()
        for _ in range(1000):
            AttachClient(c.attach_path()).close()

        def back():
            now = _fd_counts(c)
            return now == base or None
        wait_for(back, what="fd counts back to %r (now %r)" % (
            base, _fd_counts(c)))
        cl = c.attach()
        cl.wait_output("tick\n")
        c.runc_kill("KILL")
        assert c.wait_exit() == "137"


def test_sec10_zero_length_record_is_eof():
    """A zero-length record cannot be told from end of stream: it is
    that client's EOF, and without --leave-stdin-open stdin closes
    (spec 7.3, 7.4; security.md 10)."""
    need_attach("-i")
    with Case() as c:
        c.bundle(["/bin/cat"])
        c.start(extra=["-i"])
        cl = c.attach()
        c.runc_start()
        cl.send("abc\n")
        cl.wait_output("abc\n")
        cl.sock.send(b"")
        assert c.wait_exit() == "0", "exit file"
        assert _stream(c, "stdout") == b"abc\n", "log %r" % c.log()


def test_sec11_input_flood_container_not_reading():
    """-i container that never reads stdin but prints a tick every 50 ms;
    one client floods input until its socket is full: the other client
    (and the log) keep getting ticks (security.md 11)."""
    need_attach("-i")
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "i=0; while :; do echo tick$i; i=$((i+1)); sleep 0.05; "
                  "done"])
        c.start(extra=["-i"])
        flood = c.attach()
        reader = c.attach()
        c.runc_start()
        reader.wait_output("tick1\n")
        flood.sock.setblocking(False)
        chunk = b"x" * 16384
        sent = 0
        end = time.monotonic() + DEADLINE
        while True:
            try:
                sent += flood.sock.send(chunk)
            except BlockingIOError:
                # full: wait a little in case the monitor reads on
                r = select.select([], [flood.sock], [], 0.5)[1]
                if not r:
                    break
            assert time.monotonic() < end, \
                "the monitor kept reading input for %.0f s (%d bytes) " \
                "that the container never reads" % (DEADLINE, sent)
        assert sent > 0, "nothing could be sent"
        n = len(reader.output())
        m = re.findall(rb"tick(\d+)\n", reader.output())
        last = int(m[-1])
        reader.wait_output("tick%d\n" % (last + 5))
        assert len(reader.output()) > n
        c.wait_log("tick%d\n" % (last + 5))
        c.runc_kill("KILL")
        assert c.wait_exit() == "137"


def test_garbage_reaches_only_stdin():
    """Binary garbage from a client (every byte value, record headers,
    ctl-like lines) goes to the container's stdin and nowhere else:
    `cat` logs it verbatim on stdout, nothing on stderr, no log reopen,
    and another client sees it as stdout records only."""
    need_attach("-i")
    garbage = bytes(range(256)) * 64 + b"\x021 5 5\n2 0 0\n\x03\x00\n"
    with Case() as c:
        c.bundle(["/bin/cat"])
        c.start(extra=["-i"])
        reader = c.attach()
        writer = c.attach()
        c.runc_start()
        ino = os.stat(c.log_path).st_ino
        for i in range(0, len(garbage), 4096):
            writer.send(garbage[i:i + 4096])
        writer.shutdown_wr()
        assert c.wait_exit() == "0", "exit file"
        assert _stream(c, "stdout") == garbage, "log stdout differs"
        assert _stream(c, "stderr") == b"", "log stderr %r" % (
            _stream(c, "stderr")[:100])
        assert os.stat(c.log_path).st_ino == ino, "the log was reopened"
        for cl in (reader, writer):
            cl.read_to_eof()
            assert cl.output(3) == b"", "client %s got stderr" % cl.name
            assert cl.output(2) == garbage, "client %s stdout differs" % (
                cl.name)


@ref_differs("conmon 2.1.6 is one unsandboxed process")
def test_broker_sandboxed():
    """The broker (`conmon: attach ...`, a child of the daemon) runs with
    seccomp filter mode, no_new_privs, no capabilities and a non-root
    uid (security.md, Auditing the profiles)."""
    need_attach("-i")
    with Case() as c:
        c.bundle(["/bin/cat"])
        c.start(extra=["-i"])
        cl = c.attach()
        c.runc_start()
        cl.send("x\n")
        cl.wait_output("x\n")
        d = c.daemon_pid()
        brokers = wait_for(lambda: [
            p for p in children(d)
            if proc_cmdline_raw(p).startswith(b"conmon: attach")],
            what="a `conmon: attach` child of the daemon")
        for p in brokers:
            st = proc_status(p)
            assert st["Seccomp"] == "2", "Seccomp %s" % st["Seccomp"]
            assert st["NoNewPrivs"] == "1", "NoNewPrivs %s" % st["NoNewPrivs"]
            for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                assert int(st[k], 16) == 0, "%s %s" % (k, st[k])
            assert "0" not in st["Uid"].split(), "uid %s" % st["Uid"]
            assert "0" not in st["Gid"].split(), "gid %s" % st["Gid"]
        cl.shutdown_wr()
        assert c.wait_exit() == "0"
