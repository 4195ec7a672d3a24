# SPDX-License-Identifier: Apache-2.0
"""Log rotation and the log allowlist (spec 9.4, 9.5, 8.2 `2 1 1`;
checklist rows 42-43; security.md inputs 22 and 24). conmon 2.1.6 has
neither --log-rotate nor --log-allowlist-dir (2.2.0+): every test here is
skipped for the reference.
"""

import os
import re
import time

from harness import (Case, inode_of, need_attach, parse_k8s, read_file,
                     reconstruct, ref_differs, sha256_file, timeout,
                     wait_for)

REF = "2.1.6 lacks --log-rotate and --log-allowlist-dir (2.2.0+, spec 9.4)"
NOT_ALLOWED = "is not in an allowed log directory"
WAIT_GO = ("echo before; while [ ! -e /shared/go ]; do sleep 0.02; done; "
           "echo after")


def _logdir(c, name="logs"):
    d = os.path.join(c.dir, name)
    os.mkdir(d)
    c.log_path = os.path.join(d, "ctr.log")
    return d


def _names(d):
    return sorted(os.listdir(d))


def _backups(d, base="ctr.log"):
    """The numbers k of <base>.k in d."""
    r = re.compile(re.escape(base) + r"\.(\d+)$")
    return sorted(int(m.group(1)) for m in map(r.match, os.listdir(d)) if m)


def _decoy(c):
    outside = os.path.join(c.dir, "outside")
    os.makedirs(outside, exist_ok=True)
    decoy = os.path.join(outside, "decoy")
    with open(decoy, "wb") as f:
        f.write(b"precious content outside the log directory\n")
    return decoy, sha256_file(decoy)


@ref_differs(REF)
@timeout(300)
def test_row42_rotate_flood_exactly_two_backups():
    """`--log-rotate --log-max-files 2 --log-size-max 200` under a 10 MB
    flood: the live file plus exactly .1 and .2, never .3 (vigil keeps
    exactly M backups, spec 9.4), no .new left; every file holds whole
    records and the last line is in the live file."""
    total = 10 * 1000 * 1000
    awk = ("awk 'BEGIN { for (i = 0; i < 200000; i++) "
           "printf \"%%08d %s\\n\", i }' | head -c %d; echo; echo last"
           % ("r" * 91, total))
    with Case() as c:
        d = _logdir(c)
        c.bundle(["/bin/sh", "-c", awk])
        c.start(extra=["--log-rotate", "--log-max-files", "2",
                       "--log-size-max", "200"])
        c.runc_start()
        seen = set()
        while not os.path.exists(c.exit_file):
            ks = _backups(d)
            seen.update(ks)
            assert max(ks, default=0) <= 2, "backups %r in %s" % (ks, d)
            time.sleep(0.005)
        assert read_file(c.exit_file) == "0", "exit file"
        c.wait_gone(c.daemon_pid())
        names = _names(d)
        assert names == ["ctr.log", "ctr.log.1", "ctr.log.2"], \
            "log directory holds %r" % names
        assert seen, "never saw a backup during the flood"
        for n in names:
            data = read_file(os.path.join(d, n), "rb")
            assert parse_k8s(data), "%s is empty" % n   # whole records
            # one record beyond the limit at most (spec 9.3)
            big = max(len(ln) + 1 for ln in data[:-1].split(b"\n"))
            assert len(data) <= 200 + big, "%s holds %d bytes" % (
                n, len(data))
        live = reconstruct(read_file_k8s(c.log_path))
        assert live.endswith(b"last\n"), "live file ends %r" % live[-40:]


def read_file_k8s(path):
    return parse_k8s(read_file(path, "rb"))


@ref_differs(REF)
def test_row42_ctl_2_1_1_rotates():
    """`2 1 1` on ctl with --log-rotate: the old content moves to <log>.1
    (same inode), a new file at the path gets the new output (spec 8.2,
    9.4)."""
    need_attach()
    with Case() as c:
        d = _logdir(c)
        c.bundle(["/bin/sh", "-c", WAIT_GO], shared=True)
        c.start(extra=["--log-rotate", "--log-max-files", "3"])
        c.runc_start()
        c.wait_log("before\n")
        ino = inode_of(c.log_path)
        c.fifo_write(b"2 1 1\n")
        wait_for(lambda: inode_of(c.log_path + ".1") == ino,
                 what="the old log at <log>.1")
        assert inode_of(c.log_path) not in (None, ino), "no new live file"
        c.touch_shared("go")
        assert c.wait_exit() == "0", "exit file"
        old = reconstruct(read_file_k8s(c.log_path + ".1"))
        new = reconstruct(read_file_k8s(c.log_path))
        assert old == b"before\n", ".1 holds %r" % old
        assert new == b"after\n", "live log holds %r" % new
        assert _backups(d) == [1], "backups %r" % _backups(d)


@ref_differs(REF)
def test_rotate_shifts_backups_max_files_1():
    """--log-max-files 1: three `2 0 0` keep exactly one backup, and it
    holds the newest rotated content (vigil: exactly M, spec 9.4 quirk
    not copied)."""
    need_attach()
    with Case() as c:
        d = _logdir(c)
        c.bundle(["/bin/sh", "-c", WAIT_GO], shared=True)
        c.start(extra=["--log-rotate", "--log-max-files", "1"])
        c.runc_start()
        c.wait_log("before\n")
        for _ in range(3):
            c.ctl_barrier()
        assert _backups(d) == [1], "backups %r" % _backups(d)
        c.touch_shared("go")
        assert c.wait_exit() == "0", "exit file"
        assert os.path.getsize(c.log_path + ".1") == 0, \
            ".1 is not the last (empty) rotated file"


def _allow_case(c, logdir, allow, expect_ok):
    c.log_path = os.path.join(logdir, "ctr.log")
    extra = []
    for a in allow:
        extra += ["--log-allowlist-dir", a]
    if expect_ok:
        c.bundle(["/bin/echo", "hello"])
        c.start(extra=extra)
        c.runc_start()
        assert c.wait_exit() == "0", "exit file"
        got = reconstruct(read_file_k8s(c.log_path))
        assert got == b"hello\n", "log holds %r" % got
        return
    c.bundle(["/bin/echo", "should never run"])
    m = c.launch(c.args(extra=extra))
    m.expect(1)
    err = m.stderr()
    want = "[conmon:e]: Log path %s %s" % (c.log_path, NOT_ALLOWED)
    assert want in err, "stderr %r lacks %r" % (err, want)
    assert not os.path.lexists(os.path.join(logdir, "ctr.log")), \
        "a refused log file was left behind"
    assert c.runc_state() is None, "a container was created"


@ref_differs(REF)
def test_row43_sec24_allowlist_outside_refused():
    with Case() as c:
        allowed = os.path.join(c.dir, "allowed")
        os.mkdir(allowed)
        _allow_case(c, _logdir(c, "elsewhere"), [allowed], False)


@ref_differs(REF)
def test_row43_allowlist_inside_works():
    """Inside an entry (one level below it, next to an empty and an
    unresolvable entry, which are skipped with a warning)."""
    with Case() as c:
        allowed = os.path.join(c.dir, "allowed")
        os.makedirs(os.path.join(allowed, "ctr"))
        _allow_case(c, os.path.join(allowed, "ctr"),
                    ["", os.path.join(c.dir, "missing"), allowed], True)


@ref_differs(REF)
def test_sec24_allowlist_dotdot_refused():
    """allowed/../elsewhere/ctr.log: the string starts with the entry, the
    directory does not lie below it."""
    with Case() as c:
        allowed = os.path.join(c.dir, "allowed")
        os.mkdir(allowed)
        os.mkdir(os.path.join(c.dir, "elsewhere"))
        _allow_case(c, os.path.join(allowed, "..", "elsewhere"), [allowed],
                    False)


@ref_differs(REF)
def test_sec24_allowlist_symlinked_dir_escape_refused():
    """allowed/escape -> ../elsewhere: the path is inside by its string,
    the opened directory is outside."""
    with Case() as c:
        allowed = os.path.join(c.dir, "allowed")
        os.mkdir(allowed)
        os.mkdir(os.path.join(c.dir, "elsewhere"))
        os.symlink("../elsewhere", os.path.join(allowed, "escape"))
        _allow_case(c, os.path.join(allowed, "escape"), [allowed], False)


@ref_differs(REF)
def test_sec24_allowlist_symlinked_entry():
    """An entry that is a symlink counts by its canonical form: a log in
    its target works, a log next to the link (outside the target) not."""
    with Case() as c:
        real = os.path.join(c.dir, "real")
        os.mkdir(real)
        link = os.path.join(c.dir, "link")
        os.symlink(real, link)
        _allow_case(c, real, [link], True)
    with Case() as c:
        real = os.path.join(c.dir, "real")
        os.mkdir(real)
        link = os.path.join(c.dir, "link")
        os.symlink(real, link)
        os.mkdir(os.path.join(c.dir, "side"))
        _allow_case(c, os.path.join(c.dir, "side"), [link], False)


@ref_differs(REF)
def test_sec24_allowlist_rechecked_at_rotation():
    """The log directory moved out of the allowed tree after the start:
    a rotation is refused with a warning, the old file keeps receiving
    output (spec 9.4 decision: at every reopen/rotation)."""
    need_attach()
    with Case() as c:
        allowed = os.path.join(c.dir, "allowed")
        os.mkdir(allowed)
        d = os.path.join(allowed, "logs")
        os.mkdir(d)
        c.log_path = os.path.join(d, "ctr.log")
        c.bundle(["/bin/sh", "-c", WAIT_GO], shared=True)
        c.start(extra=["--log-rotate", "--log-allowlist-dir", allowed])
        c.runc_start()
        c.wait_log("before\n")
        moved = os.path.join(c.dir, "moved")
        os.rename(d, moved)
        c.fifo_write(b"2 0 0\n")
        c.touch_shared("go")
        assert c.wait_exit() == "0", "exit file"
        got = reconstruct(read_file_k8s(os.path.join(moved, "ctr.log")))
        assert got == b"before\nafter\n", "old log holds %r" % got
        assert _names(moved) == ["ctr.log"], "moved dir %r" % _names(moved)


@ref_differs(REF)
def test_sec22_rotate_new_symlink_not_followed():
    """<log>.new planted as a symlink to a file outside: `2 0 0` with
    --log-rotate never opens the target; the rotation still happens."""
    need_attach()
    with Case() as c:
        d = _logdir(c)
        decoy, h = _decoy(c)
        c.bundle(["/bin/sh", "-c", WAIT_GO], shared=True)
        c.start(extra=["--log-rotate", "--log-max-files", "2"])
        c.runc_start()
        c.wait_log("before\n")
        os.symlink(decoy, c.log_path + ".new")
        ino = inode_of(c.log_path)
        c.fifo_write(b"2 0 0\n")
        wait_for(lambda: inode_of(c.log_path + ".1") == ino,
                 what="the old log at <log>.1")
        c.touch_shared("go")
        assert c.wait_exit() == "0", "exit file"
        c.wait_gone(c.daemon_pid())
        assert sha256_file(decoy) == h, "the symlink's target was written"
        new = reconstruct(read_file_k8s(c.log_path))
        assert new == b"after\n", "live log holds %r" % new
        assert not os.path.lexists(c.log_path + ".new"), ".new left"


@ref_differs(REF)
def test_sec22_rotate_backup_symlink_left_alone():
    """<log>.2 planted as a symlink: the shift .1 -> .2 leaves it alone
    (warning), its target is untouched, <log>.3 never appears; .1 still
    receives the rotated file."""
    need_attach()
    with Case() as c:
        d = _logdir(c)
        decoy, h = _decoy(c)
        c.bundle(["/bin/sh", "-c", WAIT_GO], shared=True)
        c.start(extra=["--log-rotate", "--log-max-files", "2"])
        c.runc_start()
        c.wait_log("before\n")
        os.symlink(decoy, c.log_path + ".2")
        for _ in range(3):
            c.ctl_barrier()
        c.touch_shared("go")
        assert c.wait_exit() == "0", "exit file"
        c.wait_gone(c.daemon_pid())
        assert sha256_file(decoy) == h, "the symlink's target was written"
        assert os.path.islink(c.log_path + ".2"), "the planted link moved"
        assert os.readlink(c.log_path + ".2") == decoy, "link changed"
        assert _backups(d) == [1, 2], "backups %r" % _backups(d)
        assert os.path.isfile(c.log_path + ".1") and \
            not os.path.islink(c.log_path + ".1"), ".1 not a regular file"
