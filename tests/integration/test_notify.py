# SPDX-License-Identifier: Apache-2.0
"""The sd-notify relay (spec 13, spec 17 row 59; security 6 and 29): the
test plays the host's notify socket (--sdnotify-socket) and the container
(a datagram to <bundle>/notify/notify.sock, reachable from the host since
the socket lives in the bundle)."""

import array
import os
import socket
import stat

from harness import DEADLINE, Case, alive, ref_differs

MAX = 32768     # spec 13: a datagram is at most this long


class Relay:
    """A started container with --sdnotify-socket: host is the test's
    bound socket, ctr the container side's path."""

    def __init__(self, c, plant=None, log=None):
        self.c = c
        self.host_path = os.path.join(c.dir, "host.sock")
        self.host = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.host.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
        self.host.bind(self.host_path)
        self.host.settimeout(DEADLINE)
        c.on_cleanup(self.host.close)
        c.bundle(["/bin/sleep", "1000"])
        notify_dir = os.path.join(c.bundle_dir, "notify")
        os.mkdir(notify_dir)    # spec 13: the manager creates it
        self.ctr_path = os.path.join(notify_dir, "notify.sock")
        if plant is not None:
            plant(self.ctr_path)
        self.m = c.start(extra=["--sdnotify-socket", self.host_path],
                         log=log)
        c.runc_start()
        # vigil starts its broker at the first datagram (README "How the
        # processes fit"): the monitor's processes are recorded before
        # and again once a datagram was relayed
        self.pids = c.monitor_pids()
        self.relaying = None

    def send(self, data, fds=(), sndbuf=None):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        try:
            if sndbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
            anc = []
            if fds:
                anc = [(socket.SOL_SOCKET, socket.SCM_RIGHTS,
                        array.array("i", fds))]
            n = s.sendmsg([data], anc, 0, self.ctr_path)
            assert n == len(data), "sent %d of %d bytes" % (n, len(data))
        finally:
            s.close()

    def recv(self):
        data, anc, flags, _ = self.host.recvmsg(
            MAX + 1, socket.CMSG_SPACE(16 * 4))
        assert not anc, "ancillary data reached the host: %r" % (anc,)
        assert not flags & socket.MSG_TRUNC, "over %d bytes" % MAX
        if self.relaying is None:
            self.relaying = self.c.monitor_pids()
        return data

    def expect(self, want):
        got = self.recv()
        assert got == want, "host socket got %r, want %r" % (got, want)

    def still_alive(self):
        for p in self.pids:
            assert alive(p), "monitor process %d died (%s)" % (
                p, self.m.stderr())
        assert self.relaying is not None, "nothing was relayed yet"
        assert set(self.pids) <= set(self.relaying), (
            "a monitor process was replaced when the relay started: "
            "%r -> %r" % (self.pids, self.relaying))
        assert self.c.monitor_pids() == self.relaying, (
            "a monitor child was respawned: %r -> %r"
            % (self.relaying, self.c.monitor_pids()))


# spec 17 row 59
@ref_differs("2.1.6 forwards only READY=1 or WATCHDOG=1 (spec 13)")
def test_notify_row59():
    with Case() as c:
        r = Relay(c)
        st = os.stat(r.ctr_path)
        assert stat.S_ISSOCK(st.st_mode), "notify.sock is not a socket"
        assert stat.S_IMODE(st.st_mode) == 0o777, (
            "notify.sock mode %o, want 0777" % stat.S_IMODE(st.st_mode))
        r.send(b"FOO=1\nREADY=1\nSTATUS=x")
        r.expect(b"READY=1\nSTATUS=x")
        r.still_alive()


# security 6: MAINPID=1 is dropped; nothing is sent for it
def test_sec6_notify_mainpid_dropped():
    with Case() as c:
        r = Relay(c)
        r.send(b"MAINPID=1")
        r.send(b"READY=1")
        r.expect(b"READY=1")    # the first datagram: nothing before it


# security 6, spec 13: 32 KiB + 1 is over the limit; vigil drops it whole
# (a cut line could turn into one on the list), warns, and goes on.
@ref_differs("vigil's decision: a datagram over 32768 bytes is dropped "
             "whole (2.1.6 reads a prefix)")
def test_sec6_notify_oversized_dropped():
    with Case() as c:
        r = Relay(c)
        big = b"READY=1\nSTATUS=" + b"x" * (MAX + 1 - 15)
        assert len(big) == MAX + 1
        r.send(big, sndbuf=1 << 20)
        junk = bytes(range(256)) * (MAX // 256)
        r.send(junk, sndbuf=1 << 20)            # 32 KiB of binary
        r.send(b"WATCHDOG=1")
        r.expect(b"WATCHDOG=1")
        whole = b"STATUS=" + b"y" * (MAX - 7)   # the largest: kept whole
        r.send(whole, sndbuf=1 << 20)
        r.expect(whole)
        r.still_alive()
        r.send(b"READY=1")
        r.expect(b"READY=1")


# security 6: an fd the container attaches is closed, never forwarded
def test_sec6_notify_fd_not_forwarded():
    with Case() as c:
        r = Relay(c)
        rd, wr = os.pipe()
        try:
            r.send(b"READY=1\nMAINPID=1", fds=[wr])
            r.expect(b"READY=1")
            os.close(wr)
            wr = -1
            # nobody else holds the write end: the broker closed it
            os.set_blocking(rd, True)
            assert os.read(rd, 1) == b"", "the pipe has a writer left"
        finally:
            os.close(rd)
            if wr >= 0:
                os.close(wr)
        r.still_alive()


# security 29: a link the container planted at notify.sock is replaced,
# its target untouched
def test_sec29_notify_symlink_replaced():
    with Case() as c:
        target = os.path.join(c.dir, "target")
        with open(target, "w") as f:
            f.write("keep")

        def plant(path):
            os.symlink(target, path)

        r = Relay(c, plant=plant)
        st = os.lstat(r.ctr_path)
        assert stat.S_ISSOCK(st.st_mode), "notify.sock is not a socket"
        with open(target) as f:
            assert f.read() == "keep", "the link's target changed"
        assert stat.S_ISREG(os.lstat(target).st_mode)
        r.send(b"READY=1")
        r.expect(b"READY=1")


# architecture.md: with -l passthrough there is no logger, no attach
# socket and no FIFOs (spec 9.8), but the broker still runs to relay
# sd-notify.
@ref_differs("2.1.6 forwards only READY=1 or WATCHDOG=1 (spec 13)")
def test_notify_with_passthrough():
    with Case() as c:
        r = Relay(c, log=["passthrough"])
        r.send(b"READY=1\nMAINPID=4")
        r.expect(b"READY=1")
        for name in ("attach", "ctl", "winsz"):
            assert not os.path.exists(os.path.join(c.bundle_dir, name)), \
                "passthrough made <bundle>/%s" % name
        r.still_alive()
