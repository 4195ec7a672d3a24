# SPDX-License-Identifier: Apache-2.0
"""Logging: k8s-file format, limits, modes, drivers (spec 9.1-9.3, 9.5,
9.6, 9.8, 9.9, 10.2)."""

import hashlib
import os
import select
import stat
import time

from harness import (IN_CREATE, IN_MOVED_TO, Case, Inotify, parse_k8s,
                     pipe_size, procs_mentioning, read_file, reconstruct,
                     ref_differs, timeout)


def test_k8s_file_format_and_streams():
    """Every line matches the record format; stdout/stderr tagged; an empty
    line is `F ` + LF; a trailing partial line is a P record with no
    closing F (spec 9.2)."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "echo out1; echo err1 >&2; echo; printf partial"])
        c.start()
        c.runc_start()
        assert c.wait_exit() == "0"
        data = read_file(c.log_path, "rb")
        recs = parse_k8s(data)
        out = [r for r in recs if r[1] == "stdout"]
        err = [r for r in recs if r[1] == "stderr"]
        assert reconstruct(recs, "stdout") == b"out1\n\npartial", \
            "stdout reconstructed as %r" % reconstruct(recs, "stdout")
        assert [(r[2], r[3]) for r in err] == [("F", b"err1")], \
            "stderr records %r" % err
        assert ("F", b"") in [(r[2], r[3]) for r in out], \
            "no empty F record for the empty line: %r" % out
        assert b" stdout F \n" in data, "empty line not written as `F ` + LF"
        assert out[-1][2:] == ("P", b"partial"), \
            "last stdout record %r, want a P record 'partial' and no " \
            "closing F" % (out[-1],)
        # timestamps never go backwards within one stream
        for stream in (out, err):
            ts = [r[0] for r in stream]
            assert ts == sorted(ts), "timestamps out of order: %r" % ts


def test_k8s_long_line_1mib():
    """A 1 MiB line without newline comes back whole from the P records,
    with no F record (spec 9.2)."""
    n = 1 << 20
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "head -c %d /dev/zero | tr '\\0' x" % n])
        c.start()
        c.runc_start()
        assert c.wait_exit() == "0"
        recs = c.log()
        tags = {r[2] for r in recs if r[1] == "stdout"}
        assert tags == {"P"}, "tags %r, want only P" % tags
        got = reconstruct(recs, "stdout")
        assert got == b"x" * n, "reconstructed %d bytes, want %d x" % (
            len(got), n)


# logger.h LOG_READ_MAX, role.h ROLE_LOG_READ_MAX: what one read of the
# logger takes at most, and the size the reaper gives the output pipes
READ_MAX = 262144
# One write(2) of READ_MAX bytes of 16-byte lines by the container each
# time it is told to (/shared/go<N>), each followed by a marker line.
CHUNK_LINE = b"0123456789abcde\n"
CHUNK_SCRIPT = ("yes 0123456789abcde | head -c %d > /dev/shm/p; echo ready; "
                "for n in 1 2 3 4 5 6 7 8; do "
                "while [ ! -e /shared/go$n ]; do sleep 0.02; done; "
                "dd if=/dev/shm/p bs=%d count=1 2>/dev/null; echo end-$n; "
                "done; exit 0" % (READ_MAX, READ_MAX))


def chunk_stamps(c, n):
    """/shared/go<n>, then the distinct timestamps of the records of that
    write (the logger takes one per read: README "How the processes
    fit"). The write went into an empty pipe: the previous marker was in
    the log, and a write that fits the pipe wakes its reader only at its
    end, so each read the logger made took what the pipe held then."""
    c.touch_shared("go%d" % n)
    c.wait_log("end-%d\n" % n)
    recs = [r for r in c.log() if r[1] == "stdout"]
    first = next(i for i, r in enumerate(recs)
                 if r[3] == (b"ready" if n == 1 else b"end-%d" % (n - 1)))
    last = next(i for i, r in enumerate(recs) if r[3] == b"end-%d" % n)
    got = reconstruct(recs[first + 1:last])
    want = CHUNK_LINE * (READ_MAX // len(CHUNK_LINE))
    assert got == want, "write %d: %d bytes logged, want %d" % (
        n, len(got), len(want))
    return len({r[0] for r in recs[first + 1:last]})


@ref_differs("2.1.6 keeps the kernel's 64 KiB pipes and reads 8 KiB at once")
def test_output_pipes_hold_one_read():
    """The container's stdout and stderr are pipes of 256 KiB (README
    "Performance": the logger reads up to that much at once; F_GETPIPE_SZ
    through /proc/<pid>/fd), and 256 KiB written at once with no attach
    client reach the log from one read: one timestamp."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c", CHUNK_SCRIPT], shared=True)
        m = c.start()
        c.runc_start()
        c.wait_log("ready\n")
        for fd in (1, 2):
            size = pipe_size(m.container_pid, fd)
            assert size == READ_MAX, "fd %d: a pipe of %d bytes, want %d" % (
                fd, size, READ_MAX)
        n = chunk_stamps(c, 1)
        assert n == 1, "%d bytes written at once logged with %d " \
            "timestamps: not one read" % (READ_MAX, n)
        for i in range(2, 9):
            c.touch_shared("go%d" % i)
        assert c.wait_exit() == "0", "exit file"


@timeout(240)
def test_k8s_50mb_byte_exact():
    """50 MB of numbered lines, cut mid-line: reconstructed byte for byte
    from the records (order, completeness, chunk boundaries)."""
    total = 50000000
    pad = "0123456789abcdef" * 5
    awk = ('awk \'BEGIN { for (i = 0; i < 600000; i++) '
           'printf "%%08d %s\\n", i }\' | head -c %d' % (pad, total))
    with Case() as c:
        c.bundle(["/bin/sh", "-c", awk])
        c.start()
        c.runc_start()
        assert c.wait_exit(timeout=180) == "0"
        want = hashlib.sha256()
        left = total
        i = 0
        while left > 0:
            line = ("%08d %s\n" % (i, pad)).encode()[:left]
            want.update(line)
            left -= len(line)
            i += 1
        got = hashlib.sha256()
        size = 0
        with open(c.log_path, "rb") as f:
            for lineno, line in enumerate(f, 1):
                recs = parse_k8s(line)
                assert recs[0][1] == "stdout", "line %d on stderr" % lineno
                for _ts, _s, tag, content in recs:
                    got.update(content)
                    size += len(content)
                    if tag == "F":
                        got.update(b"\n")
                        size += 1
        assert size == total, "reconstructed %d bytes, want %d" % (size, total)
        assert got.hexdigest() == want.hexdigest(), \
            "reconstructed output differs from what the container wrote"


def test_exit_not_delayed_by_background_stdout_holder():
    """A background process keeps the container's stdout open after the
    container process exited: the exit file must not wait for it
    (spec 10.1). No pid namespace here: in one, the kernel would kill the
    background sleep together with the namespace's init."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "(sleep 30 &) ; echo done"], pid_ns=False)
        c.start()
        t0 = time.monotonic()
        c.runc_start()
        got = c.wait_exit(timeout=10)
        took = time.monotonic() - t0
        assert got == "0", "exit file %r" % got
        holders = [p for p in procs_mentioning(c.cid)
                   if read_file("/proc/%d/cmdline" % p, "rb").startswith(
                       b"sleep\x0030")]
        assert holders, "the background sleep is gone: test proves nothing"
        assert took < 10, "exit file after %.1f s" % took
        c.wait_log("done")


def test_exit_file_after_last_log_line():
    """When the exit file appears (inotify), the log already holds the
    container's last line (spec 10.2)."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "i=0; while [ $i -lt 3000 ]; do echo line $i; "
                  "echo err $i >&2; i=$((i+1)); done; echo the-last-line"])
        c.start()
        with Inotify(c.exit_dir, IN_CREATE | IN_MOVED_TO) as ino:
            c.runc_start()
            ino.wait(c.cid)
            data = read_file(c.log_path, "rb")
        recs = parse_k8s(data)
        out = reconstruct(recs, "stdout")
        assert out.endswith(b"line 2999\nthe-last-line\n"), \
            "log at exit-file time ends with %r" % out[-60:]
        assert reconstruct(recs, "stderr").endswith(b"err 2999\n"), \
            "stderr incomplete at exit-file time"


def test_log_existing_content_kept():
    """An existing log keeps its content and its mode (spec 9.6)."""
    with Case() as c:
        old = b"2020-01-01T00:00:00.000000000+00:00 stdout F old line\n"
        with open(c.log_path, "wb") as f:
            f.write(old)
        os.chmod(c.log_path, 0o604)
        c.bundle(["/bin/echo", "new line"])
        c.start()
        assert stat.S_IMODE(os.stat(c.log_path).st_mode) == 0o604
        c.runc_start()
        assert c.wait_exit() == "0"
        data = read_file(c.log_path, "rb")
        assert data.startswith(old), "old content lost: %r" % data[:200]
        assert reconstruct(parse_k8s(data)) == b"old line\nnew line\n"
        mode = stat.S_IMODE(os.stat(c.log_path).st_mode)
        assert mode == 0o604, "mode changed to %o" % mode


@ref_differs("2.1.6 creates the log with mode 0600 (0640 since 2.1.13)")
def test_log_new_file_mode_0640():
    with Case() as c:
        c.bundle(["/bin/true"])
        c.start()
        mode = stat.S_IMODE(os.stat(c.log_path).st_mode)
        assert mode == 0o640, "new log mode %o, want 640" % mode


def test_log_size_max_keeps_last_line():
    """--log-size-max 10 with 100 lines: only the last line remains
    (spec 9.3; upstream test)."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "i=1; while [ $i -le 100 ]; do echo line $i; i=$((i+1)); "
                  "done"])
        c.start(extra=["--log-size-max", "10"])
        c.runc_start()
        assert c.wait_exit() == "0"
        recs = c.log()
        assert [(r[2], r[3]) for r in recs] == [("F", b"line 100")], \
            "log holds %r" % recs


def test_log_size_max_120_bound():
    """Limit 120: the file never holds more than one record beyond 120
    bytes, and always whole records (spec 9.3, checklist 40)."""
    rec_size = 43 + 2 + 10 + 1      # spec 9.2 byte accounting
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "i=1; while [ $i -le 40 ]; do printf 'l%09d\\n' $i; "
                  "sleep 0.02; i=$((i+1)); done"])
        c.start(extra=["--log-size-max", "120"])
        c.runc_start()
        biggest = 0
        while not os.path.exists(c.exit_file):
            try:
                biggest = max(biggest, os.stat(c.log_path).st_size)
            except FileNotFoundError:
                pass                # between a rename and the next create
            assert biggest <= 120 + rec_size, \
                "log grew to %d bytes (limit 120, record %d)" % (
                    biggest, rec_size)
            time.sleep(0.002)
        assert read_file(c.exit_file) == "0"
        data = read_file(c.log_path, "rb")
        assert len(data) <= 120 + rec_size, "final log %d bytes" % len(data)
        recs = parse_k8s(data)
        assert recs and recs[-1][3] == b"l000000040", \
            "last record %r" % (recs[-1:],)
        assert biggest > 0, "never saw the log"


def test_log_driver_none_off_null():
    """`-l none` (and off, null): no log file, no file named after the
    driver, the container runs normally (spec 9.1, 9.9)."""
    for drv in ("none", "off", "null", "none:"):
        with Case() as c:
            c.bundle(["/bin/sh", "-c", "echo hidden; exit 4"])
            c.start(log=drv)
            c.runc_start()
            assert c.wait_exit() == "4", "-l %s: exit file" % drv
            assert not os.path.exists(c.log_path)
            for name in ("none", "off", "null"):
                assert not os.path.exists(os.path.join(c.dir, name)), \
                    "-l %s created a file named %s" % (drv, name)


def test_log_passthrough():
    """`-l passthrough`: the container writes straight to the monitor's
    own stdout/stderr; no attach socket, no ctl/winsz (spec 9.8)."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "echo to-stdout; echo to-stderr >&2"])
        out_r, out_w = os.pipe()
        err_r, err_w = os.pipe()
        try:
            c.start(log="passthrough", stdout=out_w, stderr=err_w)
        except AssertionError as e:
            os.close(out_w)
            os.close(err_w)
            os.set_blocking(err_r, False)
            try:
                said = os.read(err_r, 4096).decode(errors="replace")
            except BlockingIOError:
                said = ""
            raise AssertionError("%s; monitor stderr %r" % (e, said.strip()))
        os.close(out_w)
        os.close(err_w)
        c.runc_start()
        assert c.wait_exit() == "0"
        got = {out_r: b"", err_r: b""}
        open_fds = [out_r, err_r]
        end = time.monotonic() + 20
        while open_fds and time.monotonic() < end:
            r, _, _ = select.select(open_fds, [], [], 0.5)
            for fd in r:
                chunk = os.read(fd, 65536)
                if chunk:
                    got[fd] += chunk
                else:
                    open_fds.remove(fd)
                    os.close(fd)
        for fd in open_fds:
            os.close(fd)
        assert b"to-stdout\n" in got[out_r], "stdout got %r" % got[out_r]
        assert b"to-stderr\n" in got[err_r], "stderr got %r" % got[err_r]
        assert not open_fds, "monitor's stdio still open after exit"
        for name in ("attach", "ctl", "winsz"):
            assert not os.path.exists(os.path.join(c.bundle_dir, name)), \
                "passthrough created <bundle>/%s" % name
        assert os.listdir(c.sock_dir) == [], \
            "passthrough created an attach symlink"
        assert not os.path.exists(c.log_path)


def test_row41_log_global_size_max():
    """--log-global-size-max 120 with 11-byte lines (56-byte records): the
    log stops after the record that reaches the limit, 168 bytes (spec
    9.3's observation), while an attach client still gets every line
    (checklist 41)."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "i=1; while [ $i -le 10 ]; do printf 'l%09d\\n' $i; "
                  "i=$((i+1)); done"])
        c.start(extra=["--log-global-size-max", "120"])
        cl = c.attach()
        c.runc_start()
        assert c.wait_exit() == "0", "exit file"
        cl.read_to_eof()
        recs = parse_k8s(read_file(c.log_path, "rb"))
        assert [r[3] for r in recs] == [b"l%09d" % i for i in (1, 2, 3)], \
            "log records %r, want the first three lines" % recs
        want = b"".join(b"l%09d\n" % i for i in range(1, 11))
        assert cl.output(2) == want, "attach output %r" % cl.output(2)
