# SPDX-License-Identifier: Apache-2.0
"""The sync pipe (spec 4.3, 4.4, 5.3, 5.5) and runtime failures
(security.md inputs 45-48)."""

import json
import os
import signal

from harness import (Case, alive, kill_quietly, procs_mentioning, read_file,
                     ref_differs, signal_handled, wait_for)


def _pid_record_exact(api):
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"])
        m = c.start(api=api, expect_pid=False)
        raw = m.read_sync_raw()
        assert raw, "sync pipe at end-of-file, no record; monitor stderr " \
            "%r" % m.stderr().strip()[:500]
        pid = int(read_file(c.pidfile))
        key = "data" if api else "pid"
        want = ('{"%s": %d}\n' % (key, pid)).encode()
        assert raw == want, "sync record %r, want exactly %r" % (raw, want)
        assert alive(pid), "container pid %d from the pid file not alive" % pid
        # Nothing more for create: the next thing is end-of-file once the
        # daemon is gone (spec 5.3).
        c.runc_start()
        c.runc_kill("KILL")
        assert c.wait_exit() == "137"
        m.sync_eof()


def test_sync_pid_record_api1():
    _pid_record_exact(True)


def test_sync_pid_record_api0():
    _pid_record_exact(False)


def test_sync_over_ordinary_pipe():
    """A monitor must work with an ordinary pipe as sync pipe (spec 5.1)."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "exit 5"])
        m = c.start(sync_kind="pipe")
        assert m.container_pid == int(read_file(c.pidfile))
        c.runc_start()
        assert c.wait_exit() == "5"


def _assert_failure_record(m, c, needles):
    raw = m.read_sync_raw()
    assert raw, "sync pipe at end-of-file, no record; monitor stderr %r" % (
        m.stderr().strip()[:500])
    assert raw.endswith(b"\n") and raw.count(b"\n") == 1, \
        "not one JSON line: %r" % raw[:300]
    rec = json.loads(raw)
    assert rec.get("data") == -1, "want data -1, got %r" % rec
    msg = rec.get("message", "")
    assert any(n in msg for n in needles), \
        "message %r mentions none of %r" % (msg[:300], needles)
    # exactly one record, then end-of-file
    m.sync_eof()
    d = c.daemon_pid()
    wait_for(lambda: not alive(d), what="daemon %d to exit" % d)
    assert not os.path.exists(c.exit_file), "exit file after a failed create"
    assert not os.path.exists(c.persist_exit_file), \
        "persist exit file after a failed create"
    return rec


def test_sync_runtime_create_failure():
    """runc fails to exec the container's process: one record
    {"data": -1, "message": <runc's error>}, no exit file (spec 4.3)."""
    with Case() as c:
        c.bundle(["/nonexistent"])
        m = c.start(expect_pid=False)
        _assert_failure_record(m, c, ["runc create failed", "exec"])


def test_sync_bundle_without_config():
    with Case() as c:
        c.bundle(["/bin/true"], config=False)
        m = c.start(expect_pid=False)
        _assert_failure_record(m, c, ["config.json", "runc create failed"])


def test_sec46_runtime_failure_runs_exit_command():
    """The runtime exits non-zero: -1 record, no exit file, and the exit
    command still runs (spec 10.5)."""
    with Case() as c:
        c.bundle(["/nonexistent"])
        marker = os.path.join(c.dir, "exit-command-ran")
        m = c.start(expect_pid=False, extra=[
            "--exit-command", "/bin/sh", "--exit-command-arg", "-c",
            "--exit-command-arg", "echo ran > " + marker])
        _assert_failure_record(m, c, ["runc create failed", "exec"])
        wait_for(lambda: os.path.exists(marker), what="the exit command")


def test_sec46_runtime_killed_by_signal():
    """A runtime that dies of a signal is a failure like a non-zero exit."""
    with Case() as c:
        c.bundle(["/bin/true"])
        script = os.path.join(c.dir, "rt-kill")
        with open(script, "w") as f:
            f.write("#!/bin/sh\necho dying >&2\nkill -KILL $$\n")
        os.chmod(script, 0o755)
        m = c.start(expect_pid=False, runtime=script)
        rec = m.record()
        assert rec is not None and rec.get("data") == -1, \
            "want a -1 record, got %r" % rec
        d = c.daemon_pid()
        wait_for(lambda: not alive(d), what="daemon to exit")
        assert not os.path.exists(c.exit_file)


@ref_differs("2.1.6 sends the escaped 8191-byte stderr, invalid UTF-8 "
             "included, as one record of about 16 KiB")
def test_sec47_runtime_stderr_flood():
    """60 KiB of quotes, control bytes and invalid UTF-8 on the runtime's
    stderr: one record of at most 4095 bytes (--api-version) or 511
    (without), valid JSON, ending in ... (spec 5.5)."""
    junk = (b'"\\\x01\x02\x1f\x7f\n\r\t\xff\xfe\xc3\x28 \xe2\x82 '
            * 4096)[:61440]
    for api, limit in ((True, 4095), (False, 511)):
        with Case() as c:
            c.bundle(["/bin/true"])
            stderr = os.path.join(c.dir, "stderr.bin")
            with open(stderr, "wb") as f:
                f.write(junk)
            m = c.start(expect_pid=False, api=api, runtime=c.fake_runtime(),
                        env={"FAKE_RT_MODE": "fail",
                             "FAKE_RT_STDERR_FILE": stderr})
            raw = m.read_sync_raw()
            assert raw, "no record; monitor stderr %r" % m.stderr()[:500]
            assert len(raw) <= limit, "record of %d bytes > %d (api %s)" % (
                len(raw), limit, api)
            try:
                rec = json.loads(raw.decode("utf-8"))
            except ValueError as e:
                raise AssertionError("record not valid UTF-8 JSON (%s): %r"
                                     % (e, raw[:200]))
            key = "data" if api else "pid"
            assert rec.get(key) == -1, "want %s -1: %r" % (key, rec)
            assert rec.get("message", "").endswith("..."), \
                "shortened message must end in ...: %r" % rec.get("message")
            m.sync_eof()


@ref_differs("2.1.6 carries on with whatever atoi() makes of the pid file")
def test_sec48_bad_container_pidfile():
    """Pid file empty, 0, -5, 12abc, 99999999999 or a symlink: a reported
    failure (spec 4.4), never a wait on pid 0; no exit file."""
    cases = [("", None), ("0", None), ("-5", None), ("12abc", None),
             ("99999999999", None), (None, "link")]
    for content, link in cases:
        with Case() as c:
            c.bundle(["/bin/true"])
            env = {"FAKE_RT_MODE": "pidfile"}
            if link:
                target = os.path.join(c.dir, "real-pid")
                with open(target, "w") as f:
                    f.write(str(os.getpid()))
                env["FAKE_RT_PIDLINK"] = target
            else:
                env["FAKE_RT_PIDFILE"] = content
            m = c.start(sync=True, expect_pid=False, runtime=c.fake_runtime(),
                        env=env)
            what = "pid file %r" % (content if not link else "symlink")
            rec = m.record()
            assert rec is not None and rec.get("data") == -1, \
                "%s: want a -1 record, got %r" % (what, rec)
            m.expect(1, what=what)
            assert not os.path.exists(c.exit_file), "%s: exit file" % what


def test_sec45_runtime_directory_prefork():
    """A directory passes the access(X_OK) check (spec 1.3): the launcher
    exits 0, the log file exists, nothing printed (checklist 6, 7)."""
    with Case() as c:
        c.bundle(["/bin/true"])
        rtdir = os.path.join(c.dir, "rtdir")
        os.mkdir(rtdir)
        m = c.launch(c.args(runtime=rtdir), sync_kind=None, start_pipe=False)
        m.expect(0)
        assert os.path.exists(c.log_path), "log file not created before fork"
        assert m.stdout() == "" and m.stderr() == "", \
            "printed: %r %r" % (m.stdout(), m.stderr())
        d = c.daemon_pid()
        wait_for(lambda: not alive(d), what="daemon to give up")
        assert not os.path.exists(c.exit_file)
        assert procs_mentioning(c.cid) == [], "processes left behind"


@ref_differs("2.1.6 reports nothing when the runtime's stderr is empty")
def test_sec45_runtime_directory_reports_failure():
    """...and the daemon then reports the failure on the sync pipe."""
    with Case() as c:
        c.bundle(["/bin/true"])
        rtdir = os.path.join(c.dir, "rtdir")
        os.mkdir(rtdir)
        m = c.start(expect_pid=False, runtime=rtdir)
        rec = m.record()
        assert rec is not None and rec.get("data") == -1, \
            "want a -1 record, got %r" % rec
        m.sync_eof()


def test_sec45_runtime_missing():
    with Case() as c:
        c.bundle(["/bin/true"])
        m = c.launch(c.args(runtime="/nope"), write_start=True)
        m.expect(1)
        want = "Runtime path /nope is not valid No such file or directory"
        assert want in m.stderr(), "stderr %r lacks %r" % (m.stderr(), want)
        assert m.read_sync_raw() == b"", "sync record from a pre-fork error"
        assert procs_mentioning(c.cid) == [], "processes left behind"


def test_sec45_runtime_not_executable():
    with Case() as c:
        c.bundle(["/bin/true"])
        rt = os.path.join(c.dir, "rt")
        with open(rt, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(rt, 0o644)
        m = c.launch(c.args(runtime=rt))
        m.expect(1)
        want = "Runtime path %s is not valid Permission denied" % rt
        assert want in m.stderr(), "stderr %r lacks %r" % (m.stderr(), want)
        assert procs_mentioning(c.cid) == [], "processes left behind"


def test_sigterm_before_runtime_exits_1():
    """SIGTERM to a launcher still waiting on its start pipe: exit status 1
    at once, nothing started (spec 3.1 step 3, 11)."""
    with Case() as c:
        c.bundle(["/bin/true"])
        m = c.launch(c.args(), write_start=False)
        # Only once the launcher catches (or blocks) SIGTERM is the
        # outcome defined; before that the default action would kill it.
        wait_for(lambda: signal_handled(m.pid, signal.SIGTERM),
                 what="the launcher to handle SIGTERM")
        kill_quietly(m.pid, signal.SIGTERM)
        m.expect(1)
        assert c.runc_state() is None, "container created"
        assert procs_mentioning(c.cid) == [], "processes left behind"
