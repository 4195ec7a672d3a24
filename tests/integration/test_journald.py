# SPDX-License-Identifier: Apache-2.0
"""journald log driver (spec 9.7, 1.5 rows 21-22, 17 rows 44-47): entries
read back with `journalctl CONTAINER_ID_FULL=<cid> -o export`.

A journald is needed: the machine's, or, when /run/systemd/journal/socket
is missing or stale (CI), a standalone /lib/systemd/systemd-journald started by the
test as root and stopped when the test's case is cleaned up (so nothing is
left running that the machine did not have).

Tests in separate processes (run.py -j2) would start and stop their own
journalds independently, one stopping the journald the other is logging
to; so every test holds an exclusive flock on JOURNALD_LOCK from its
first ensure_journald() until its process exits (the lock is the
process's: released when the test process ends, after the case cleanup
stopped any journald it started)."""

import fcntl
import os
import re
import signal
import socket
import struct
import subprocess

from harness import (Case, Skip, is_reference, read_k8s, read_k8s_settled,
                     read_k8s_so_far, reconstruct, ref_differs, run_conmon,
                     timeout, wait_for)

JOURNAL_SOCKET = "/run/systemd/journal/socket"
JOURNALD = "/lib/systemd/systemd-journald"
LINE_MAX = 8192
JOURNALD_LOCK = "/tmp/vigil-it-journald.lock"
_lock_fd = None


def journald_lock():
    """Serialise the journald tests across processes (held until this
    process exits; taken once per process)."""
    global _lock_fd
    if _lock_fd is None:
        fd = os.open(JOURNALD_LOCK, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC,
                     0o600)
        fcntl.flock(fd, fcntl.LOCK_EX)
        _lock_fd = fd


def journal_answers():
    """The socket exists and a journald holds it (a stopped standalone
    journald leaves a stale socket behind: connect says ECONNREFUSED)."""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    try:
        s.connect(JOURNAL_SOCKET)
        return True
    except OSError:
        return False
    finally:
        s.close()


def stop_journald(p):
    """Stop a journald this test started, and wait until it is gone."""
    if p.poll() is None:
        p.send_signal(signal.SIGTERM)
        try:
            p.wait(10)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait(5)


def start_journald(c):
    """A standalone journald, stopped (and waited for) with the case."""
    p = subprocess.Popen([JOURNALD], stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL, start_new_session=True)
    c.on_cleanup(lambda: stop_journald(p))
    wait_for(lambda: journal_answers() or p.poll() is not None,
             what="a standalone journald to create its socket")
    if p.poll() is not None:
        raise Skip("a standalone %s exited with %d" % (JOURNALD,
                                                      p.returncode))
    return p


def ensure_journald(c):
    """A journald to log to; one started here is stopped with the case.
    Returns its Popen, or None when the machine's journald answers."""
    journald_lock()
    if journal_answers():
        return None
    if os.geteuid() != 0 or not os.access(JOURNALD, os.X_OK):
        raise Skip("no journald (%s missing; %s needs root)"
                   % (JOURNAL_SOCKET, JOURNALD))
    return start_journald(c)


def parse_export(data):
    """journalctl -o export: entries separated by an empty line; a field
    is NAME=value LF, or NAME LF + 64-bit LE length + value + LF."""
    entries, cur, i = [], {}, 0
    while i < len(data):
        if data[i:i + 1] == b"\n":
            if cur:
                entries.append(cur)
            cur = {}
            i += 1
            continue
        nl = data.index(b"\n", i)
        line = data[i:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            i = nl + 1
        else:
            k = line
            (n,) = struct.unpack("<Q", data[nl + 1:nl + 9])
            v = data[nl + 9:nl + 9 + n]
            i = nl + 9 + n + 1
        cur[k.decode()] = v
    if cur:
        entries.append(cur)
    return entries


def entries(cid):
    p = subprocess.run(["journalctl", "--no-pager", "-o", "export",
                        "CONTAINER_ID_FULL=" + cid], capture_output=True,
                       timeout=30)
    return parse_export(p.stdout)


def wait_entries(cid, pred, what):
    got = []

    def ok():
        got[:] = entries(cid)
        return pred(got)
    wait_for(ok, what=what)
    return got


def run_jd(c, args, extra=()):
    ensure_journald(c)
    c.bundle(args)
    c.start(log=["journald:"], extra=list(extra))
    c.runc_start()
    assert c.wait_exit() == "0"


def test_journald_fields_priority_uid():
    """Spec 17 rows 44, 46: MESSAGE with its LF, PRIORITY 6/3, `<3>x`
    kept with PRIORITY 6, CONTAINER_ID (12), tag, name, identifier = tag,
    the partial end at exit, _UID of the reaper."""
    with Case() as c:
        run_jd(c, ["/bin/sh", "-c", "echo hello-jd; echo err-jd >&2; "
                   "echo '<3>x'; printf partial-jd"],
               ["--log-tag", "tg", "--name", "nm"])
        got = wait_entries(c.cid, lambda e: len(e) >= 4, "4 entries")
        by = {e["MESSAGE"]: e for e in got}
        assert set(by) == {b"hello-jd\n", b"err-jd\n", b"<3>x\n",
                           b"partial-jd"}, "messages %r" % list(by)
        for msg, prio in ((b"hello-jd\n", b"6"), (b"err-jd\n", b"3"),
                          (b"<3>x\n", b"6"), (b"partial-jd", b"6")):
            e = by[msg]
            assert e["PRIORITY"] == prio, "%r: PRIORITY %r" % (
                msg, e["PRIORITY"])
            assert e["CONTAINER_ID_FULL"] == c.cid.encode()
            assert e["CONTAINER_ID"] == c.cid[:12].encode()
            assert e["CONTAINER_TAG"] == b"tg"
            assert e["CONTAINER_NAME"] == b"nm"
            assert e["SYSLOG_IDENTIFIER"] == b"tg"
            # architecture.md: the logger keeps the reaper's uid
            assert e["_UID"] == str(os.getuid()).encode(), \
                "_UID %r, want the reaper's %d" % (e["_UID"], os.getuid())
            partial = e.get("CONTAINER_PARTIAL_MESSAGE")
            assert partial == (b"true" if msg == b"partial-jd" else None), \
                "%r: CONTAINER_PARTIAL_MESSAGE %r" % (msg, partial)


def test_journald_identifier_precedence():
    """SYSLOG_IDENTIFIER: the name without a tag, else the short id; no
    CONTAINER_TAG/CONTAINER_NAME when not given (spec 9.7)."""
    for extra, ident in ((["--name", "only-name"], b"only-name"),
                         ([], None)):
        with Case() as c:
            run_jd(c, ["/bin/sh", "-c", "echo x"], extra)
            (e,) = wait_entries(c.cid, lambda e: len(e) >= 1, "1 entry")
            assert e["SYSLOG_IDENTIFIER"] == (ident or c.cid[:12].encode())
            assert "CONTAINER_TAG" not in e
            assert ("CONTAINER_NAME" in e) == bool(extra)


def _long_line(extra):
    n = 65535
    with Case() as c:
        run_jd(c, ["/bin/sh", "-c", "head -c %d /dev/zero | tr '\\0' '#'"
                   % n], extra)
        got = wait_entries(c.cid, lambda e: sum(len(x["MESSAGE"])
                                                for x in e) >= n,
                           "%d bytes of entries" % n)
        joined = b"".join(e["MESSAGE"] for e in got)
        assert joined == b"#" * n, "entries rejoin to %d bytes" % len(joined)
        return got


def test_journald_partial_65535():
    """Spec 17 row 45, security 1: a 65535-byte line without LF comes as
    partial entries (vigil: each at most 8192 bytes)."""
    got = _long_line([])
    assert len(got) > 1
    for e in got:
        assert e.get("CONTAINER_PARTIAL_MESSAGE") == b"true"
        if not is_reference():
            assert len(e["MESSAGE"]) <= LINE_MAX, len(e["MESSAGE"])


@ref_differs("2.1.6 has no --no-container-partial-message (spec 16)")
def test_journald_no_partial_flag():
    """--no-container-partial-message: no entry has the flag."""
    got = _long_line(["--no-container-partial-message"])
    assert all("CONTAINER_PARTIAL_MESSAGE" not in e for e in got)


@ref_differs("--log-label is 2.2.0+ (spec 16)")
def test_journald_labels():
    """Each --log-label is a field, verbatim (spec 9.7)."""
    with Case() as c:
        run_jd(c, ["/bin/sh", "-c", "echo lab"],
               ["--log-label", "ABC=1", "--log-label", "X_Y=a b"])
        (e,) = wait_entries(c.cid, lambda e: len(e) >= 1, "1 entry")
        assert e["ABC"] == b"1" and e["X_Y"] == b"a b", e


def test_journald_short_id():
    """Spec 1.5 row 21, 17 row 47: a 12-byte cid is refused."""
    p = run_conmon(["-c", "abcdefghijkl", "-u", "x", "-r", "/bin/true",
                    "-l", "journald:"])
    assert p.returncode == 1, p.returncode
    assert "Container ID must be longer than 12 characters" in p.stderr, \
        p.stderr


@timeout(90)
def test_journald_restarted_mid_run():
    """Security 5: the journald (one this test started; the machine's own
    is never stopped) stops and starts again while the container writes.
    Lines written after the restart reach the journal (the logger asks
    the reaper for a fresh socket, at most once a second); the k8s-file
    sink next to it loses nothing; the container runs on and exits 0."""
    with Case() as c:
        jd = ensure_journald(c)
        if jd is None:
            raise Skip("the machine's journald is running: this test stops "
                       "only a journald it started itself")
        c.bundle(["/bin/sh", "-c",
                  "i=0; while [ ! -e /shared/end ]; do "
                  "echo jdr-$i; i=$((i+1)); sleep 0.02; done; "
                  "echo jdr-final"], shared=True)
        c.start(log=["journald:", "k8s-file:" + c.log_path])
        c.runc_start()

        def numbers(msgs):
            return [int(m) for m in re.findall(rb"jdr-(\d+)", msgs)]

        def journal_max(got):
            ns = numbers(b"".join(e["MESSAGE"] for e in got))
            return max(ns) if ns else -1

        wait_entries(c.cid, lambda e: journal_max(e) >= 5, "jdr-5")
        stop_journald(jd)
        assert not journal_answers(), "journald still answers"

        def file_max():
            recs = read_k8s_so_far(c.log_path)
            if recs is None:
                return -1   # a record being written
            return max(numbers(reconstruct(recs)) or [-1])
        def file_max_now():
            return max(numbers(reconstruct(read_k8s_settled(c.log_path))) or
                       [-1])
        down = file_max_now()
        # The container writes on while journald is down.
        wait_for(lambda: file_max() >= down + 20, 20,
                 "the container to write on while journald is down")
        assert not os.path.exists(c.exit_file), "container exited"
        start_journald(c)
        restarted = file_max_now()
        # Lines written after the restart reach the journal.
        got = wait_entries(c.cid, lambda e: journal_max(e) > restarted + 50,
                           "entries written after the journald restart")
        c.touch_shared("end")
        assert c.wait_exit() == "0"
        got = wait_entries(c.cid, lambda e: any(
            x["MESSAGE"] == b"jdr-final\n" for x in e), "jdr-final")
        # the k8s-file sink lost nothing
        ns = numbers(reconstruct(read_k8s(c.log_path)))
        assert ns == list(range(len(ns))), "k8s-file lines missing"
        for e in got:
            assert e["_UID"] == str(os.getuid()).encode(), e["_UID"]
