# SPDX-License-Identifier: Apache-2.0
"""Paths and disks: log and exit-file safety (security.md inputs 20-28;
spec 9.5, 9.6, 10.2, 10.3)."""

import os
import socket
import stat

from harness import (Case, parse_k8s, procs_mentioning, read_file,
                     ref_differs, sha256_file, wait_for)

DECOY = b"precious content outside the log directory\n"


def _decoy(c):
    """A file outside the log directory (c.dir/outside/decoy), its hash
    and mtime, so a test can prove it was never written."""
    d = os.path.join(c.dir, "outside")
    os.mkdir(d)
    p = os.path.join(d, "decoy")
    with open(p, "wb") as f:
        f.write(DECOY)
    st = os.stat(p)
    return p, sha256_file(p), (st.st_mtime_ns, st.st_size, st.st_ino)


def _untouched(p, h, meta):
    st = os.stat(p)
    assert sha256_file(p) == h, "decoy %s was written" % p
    assert (st.st_mtime_ns, st.st_size, st.st_ino) == meta, \
        "decoy %s modified (mtime/size/inode)" % p


def _logdir_case(c):
    """Put the log in its own directory c.dir/logs."""
    d = os.path.join(c.dir, "logs")
    os.mkdir(d)
    c.log_path = os.path.join(d, "ctr.log")
    return d


@ref_differs("2.1.6 opens the log path following symlinks")
def test_sec20_log_path_symlink():
    """Log path is a symlink to a file root can write: start fails with
    `Failed to open log file` (ELOOP's text); the target is untouched."""
    with Case() as c:
        _logdir_case(c)
        decoy, h, meta = _decoy(c)
        os.symlink(decoy, c.log_path)
        c.bundle(["/bin/echo", "should never run"])
        m = c.launch(c.args())
        m.expect(1)
        err = m.stderr()
        assert "Failed to open log file" in err, "stderr %r" % err
        assert os.strerror(40) in err, "stderr %r lacks ELOOP's text" % err
        _untouched(decoy, h, meta)
        assert os.path.islink(c.log_path), "the symlink itself was replaced"
        assert c.runc_state() is None, "a container was created"
        assert procs_mentioning(c.cid) == [], "processes left behind"


def test_sec21_log_dir_through_symlink():
    """A symlinked directory component (/var/run -> /run) is fine: only
    the final component may not be a link."""
    with Case() as c:
        real = os.path.join(c.dir, "realdir")
        os.mkdir(real)
        os.symlink(real, os.path.join(c.dir, "linkdir"))
        c.log_path = os.path.join(c.dir, "linkdir", "ctr.log")
        c.bundle(["/bin/sh", "-c", "echo via-link; exit 7"])
        c.start()
        c.runc_start()
        assert c.wait_exit() == "7"
        recs = parse_k8s(read_file(os.path.join(real, "ctr.log"), "rb"))
        assert [r[3] for r in recs] == [b"via-link"], "log %r" % recs


def _size_limited_run(c, lines=200):
    c.bundle(["/bin/sh", "-c",
              "i=0; while [ $i -lt %d ]; do echo line-$i; i=$((i+1)); "
              "done; echo the-end" % lines])
    c.start(extra=["--log-size-max", "200"])
    c.runc_start()
    assert c.wait_exit() == "0", "exit file"


@ref_differs("2.1.6 opens <log>.tmp with O_CREAT|O_TRUNC, following links")
def test_sec22_log_tmp_symlink():
    """<log>.tmp planted as a symlink to a file outside the log directory
    before size-limit reopens: the target keeps its content."""
    with Case() as c:
        _logdir_case(c)
        decoy, h, meta = _decoy(c)
        os.symlink(decoy, c.log_path + ".tmp")
        _size_limited_run(c)
        _untouched(decoy, h, meta)
        recs = parse_k8s(read_file(c.log_path, "rb"))
        assert recs and recs[-1][3] == b"the-end", \
            "log does not end with the last line: %r" % recs[-3:]


@ref_differs("2.1.6 opens a FIFO at <log>.tmp for writing and blocks")
def test_sec22_log_tmp_fifo():
    """<log>.tmp planted as a FIFO: the reopen neither blocks nor writes
    into it; the exit file still comes."""
    with Case() as c:
        _logdir_case(c)
        os.mkfifo(c.log_path + ".tmp")
        _size_limited_run(c)
        st = os.lstat(c.log_path)
        assert stat.S_ISREG(st.st_mode), "log path is no longer a file"


@ref_differs("2.1.6 opens a FIFO log path for writing and blocks for ever")
def test_sec25_log_path_fifo():
    """Log path is a FIFO: start fails fast with a clear reason."""
    with Case() as c:
        _logdir_case(c)
        os.mkfifo(c.log_path)
        c.bundle(["/bin/true"])
        m = c.launch(c.args())
        m.expect(1, timeout=10)
        assert "Failed to open log file" in m.stderr() or \
            "log" in m.stderr().lower(), "unclear error %r" % m.stderr()
        assert stat.S_ISFIFO(os.lstat(c.log_path).st_mode)
        assert procs_mentioning(c.cid) == [], "processes left behind"


def test_sec25_log_path_directory_or_socket():
    for kind in ("directory", "socket"):
        with Case() as c:
            _logdir_case(c)
            if kind == "directory":
                os.mkdir(c.log_path)
            else:
                s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                s.bind(c.log_path)
                c.on_cleanup(s.close)
            c.bundle(["/bin/true"])
            m = c.launch(c.args())
            m.expect(1, timeout=10, what=kind)
            assert "Failed to open log file" in m.stderr(), \
                "%s: stderr %r" % (kind, m.stderr())
            assert procs_mentioning(c.cid) == [], "processes left behind"


def _exit_dir_broken(make_broken):
    """--sync run whose exit dir cannot take the exit file: the monitor's
    status is 1 and <persist-dir>/exit is still written (spec 10.2)."""
    with Case() as c:
        bad = os.path.join(c.dir, "bad-exit-dir")
        make_broken(bad)
        c.bundle(["/bin/sh", "-c", "exit 3"])
        m = c.start(sync=True, exit_dir=bad)
        c.runc_start()
        m.expect(1)
        assert read_file(c.persist_exit_file) == "3", "persist exit file"


def test_sec27_exit_dir_is_a_file():
    def make(p):
        with open(p, "w") as f:
            f.write("not a directory\n")
    _exit_dir_broken(make)


def test_sec27_exit_dir_missing():
    _exit_dir_broken(lambda p: None)


@ref_differs("2.1.6 stops at the first exit file that fails (the persist "
             "dir's, written first)")
def test_sec27_persist_dir_missing_exit_file_still_written():
    """The persist dir is broken: the exit-dir file is still attempted."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "exit 3"])
        m = c.start(sync=True, persist=os.path.join(c.dir, "no-such-dir"))
        c.runc_start()
        m.expect(1)
        assert read_file(c.exit_file) == "3", "exit-dir file"


def test_sec27_both_exit_dirs_broken_exit_command_runs():
    """Both exit files broken: status 1, and the exit command still runs."""
    with Case() as c:
        marker = os.path.join(c.dir, "ran")
        c.bundle(["/bin/sh", "-c", "exit 3"])
        m = c.start(sync=True, exit_dir=os.path.join(c.dir, "nope1"),
                    persist=os.path.join(c.dir, "nope2"),
                    extra=["--exit-command", "/bin/sh",
                           "--exit-command-arg", "-c",
                           "--exit-command-arg", "echo ran > " + marker])
        c.runc_start()
        m.expect(1)
        wait_for(lambda: os.path.exists(marker), what="the exit command")


def test_sec28_exit_file_planted_symlink():
    """<exit-dir>/<cid> pre-created as a symlink: replaced, never
    followed; a stale temporary does not matter."""
    with Case() as c:
        decoy, h, meta = _decoy(c)
        os.symlink(decoy, c.exit_file)
        with open(os.path.join(c.exit_dir, c.cid + ".tmp"), "w") as f:
            f.write("stale")
        c.bundle(["/bin/sh", "-c", "exit 9"])
        c.start()
        c.runc_start()
        wait_for(lambda: not os.path.islink(c.exit_file),
                 what="the exit file to replace the symlink")
        assert read_file(c.exit_file) == "9"
        assert stat.S_ISREG(os.lstat(c.exit_file).st_mode)
        _untouched(decoy, h, meta)
