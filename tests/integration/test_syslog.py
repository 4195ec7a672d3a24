# SPDX-License-Identifier: Apache-2.0
"""
tests/integration/test_syslog.py: --syslog (spec 1.6). The daemon's
diagnostics after the detach reach the manager only through syslog(3),
which writes to /dev/log. The machine may have none, and its /dev is never
touched: the monitor runs in a private mount namespace whose /dev is a
test directory holding a bind of /dev/null and the test's own datagram
socket as `log`.
"""

import os
import re
import shutil
import socket
import subprocess

from harness import CONMON, Case, Skip


def _run_with_private_devlog(c, argv):
    dev = os.path.join(c.dir, "dev")
    os.mkdir(dev)
    open(os.path.join(dev, "null"), "w").close()
    log = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    log.bind(os.path.join(dev, "log"))
    log.settimeout(10)
    if shutil.which("unshare") is None:
        raise Skip("no unshare(1) for a private mount namespace")
    script = ('mount --bind /dev/null "$1/null" && mount --bind "$1" /dev '
              '&& shift && exec "$@"')
    p = subprocess.run(["unshare", "-m", "--propagation", "private", "sh",
                        "-c", script, "sh", dev] + argv,
                       capture_output=True, timeout=30)
    if b"mount" in p.stderr and p.returncode != 0 and b"conmon" not in \
            p.stderr:
        raise Skip("cannot mount in a private namespace: %r" % p.stderr)
    msgs = []
    log.settimeout(0.5)
    try:
        while True:
            msgs.append(log.recv(65536).decode("utf-8", "replace"))
    except socket.timeout:
        pass
    return p, msgs


def test_syslog_post_detach_errors():
    """A directory as the runtime passes the pre-fork check and fails
    after the fork: with --syslog the error reaches syslog as
    `conmon <id> <error>: ...` at facility user, priority err (spec 1.6),
    the id being the first 20 bytes of "<cid>: <tag>"."""
    with Case() as c:
        c.bundle(["/bin/true"])
        rtdir = os.path.join(c.dir, "rtdir")
        os.mkdir(rtdir)
        cid = "syslogtest0123456789abcdef"
        argv = [CONMON, "--sync", "--syslog", "--log-tag", "tg", "-c", cid,
                "-u", cid, "-r", rtdir, "-b", c.bundle_dir, "-l", "none",
                "-p", os.path.join(c.dir, "pidfile"), "--full-attach"]
        p, msgs = _run_with_private_devlog(c, argv)
        assert p.returncode == 1, "status %d, stderr %r" % (p.returncode,
                                                            p.stderr)
        want = "conmon %s <error>: Failed to create container: exit " \
               "status 127" % (cid + ": tg")[:20]
        hits = [m for m in msgs if want in m]
        assert hits, "no syslog message containing %r in %r" % (want, msgs)
        # <PRI> = facility user (8) + LOG_ERR (3)
        assert re.match(r"<11>", hits[0]), "priority of %r" % hits[0]
