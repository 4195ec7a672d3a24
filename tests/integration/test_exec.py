# SPDX-License-Identifier: Apache-2.0
"""Exec sessions: podman exec (API 1, --exec-attach, -i, -t) and CRI-O's
exec-sync probes (legacy API, --sync, -T, an ordinary pipe as sync pipe),
and the manager sequences of spec 15 (issue 5; spec 4.1, 4.3, 4.4, 5.2-5.5,
10.6, 10.8, 15; checklist rows 10, 12, 15-17, 19, 56, 61).

An exec needs a running container: Case.running() creates and starts one
(`sleep 1000`), then an ExecSession (harness) runs a second monitor with
`-e --exec-process-spec FILE -c CID` in a session directory of its own
(process spec, exec pid file, k8s-file log, exit directory: an exec
session's exit file is <exit-dir>/<cid> too, spec 10.3). The argv tests
use the recording fake runtime instead of runc.

Every test skips (need_exec) while the monitor refuses --exec or
--exec-attach ("option --X is not supported yet").
"""

import json
import os
import select
import stat
import time

from harness import (BASH, DEADLINE, RUNC, STTY, Case, K8S_RE, Skip, alive,
                     accepts_socket_dir, exec_refused, holds_for, need_attach,
                     need_exec, proc_cmdline, proc_stat, procs_mentioning,
                     read_file,
                     reconstruct, ref_differs, rootfs_has, timeout,
                     wait_file, wait_for)


def _need_stty():
    if not rootfs_has(STTY) or not rootfs_has(BASH):
        raise Skip("the test rootfs has no %s or %s (host without bash or "
                   "coreutils stty)" % (BASH, STTY))


def _raw_records(m, timeout=DEADLINE):
    """Every sync record up to end-of-file, as bytes."""
    out = []
    end = time.monotonic() + timeout
    while True:
        raw = m.read_sync_raw(max(end - time.monotonic(), 0.1))
        if raw == b"":
            return out
        out.append(raw)


def _sync_quiet(m):
    """True while no sync record (and no end-of-file) is waiting."""
    r, _, _ = select.select([m.sync], [], [], 0)
    return not r


# ---------------------------------------------------------------------------
# Runtime argv (row 19): a fake runtime records what the monitor gave it

def _recorded(rtdir):
    wait_for(lambda: os.path.exists(os.path.join(rtdir, "done")),
             what="the fake runtime to run")
    r = {}
    for name in ("argv", "fds", "stdio", "env"):
        r[name] = read_file(os.path.join(rtdir, name))
    r["argv"] = r["argv"].split("\n")[:-1]
    r["fds"] = sorted(int(x) for x in r["fds"].split() if int(x) < 10)
    return r


def _fake_exec(c, extra=(), terminal=False, **kw):
    """An exec session run by the fake runtime (its `container` is a
    background sleep, or one on a pty with -t). Returns (session,
    monitor, record)."""
    rtdir = os.path.join(c.dir, "rt")
    os.mkdir(rtdir)
    c.bundle(["/bin/sleep", "1000"], config=False)
    s = c.exec_session(["/bin/true"], terminal=terminal)
    env = {"FAKE_RT_DIR": rtdir, "FAKE_RT_CONSOLE": "1"}
    env.update(kw.pop("env", None) or {})
    m = s.launch(runtime=c.fake_runtime(), extra=list(extra), env=env, **kw)
    return s, m, _recorded(rtdir)


def _end_fake_exec(s, m):
    """The exec'd `process` (the fake runtime's sleep) killed: API 1
    reports {"data": pid} then {"data": 137}; exit file 137."""
    rec = m.record()
    assert rec.get("data", 0) > 0, "pid record %r; stderr %r" % (
        rec, m.stderr())
    assert rec["data"] == s.pid(), "pid record %r, pid file %d" % (
        rec, s.pid())
    os.kill(rec["data"], 9)
    assert m.record() == {"data": 137}, "exit record"
    assert s.wait_exit() == "137"


def test_row19_runtime_argv_exec():
    """spec 4.1 exec: <runtime> <runtime-arg>... exec --pid-file P
    --process SPEC --detach <runtime-opt>... <cid>; no --systemd-cgroup
    (-s), no --no-pivot, no --no-new-keyring; with podman's
    `--runtime-opt --preserve-fds --runtime-opt 1` the preserved fd 3
    reaches the runtime at 3, the pipes moved up (spec 2.2)."""
    need_exec()
    r3, w3 = os.pipe()
    try:
        with Case() as c:
            s, m, r = _fake_exec(c, extra=[
                "-s", "--runtime-arg", "--a", "--runtime-arg", "b",
                "--no-pivot", "--no-new-keyring", "--runtime-opt", "--o1",
                "--runtime-opt", "x", "--runtime-opt", "--preserve-fds",
                "--runtime-opt", "1"], fd_base=4, extra_fds={3: w3})
            want = ["--a", "b", "exec", "--pid-file", s.pidfile,
                    "--process", s.spec, "--detach", "--o1", "x",
                    "--preserve-fds", "1", c.cid]
            assert r["argv"] == want, "runtime argv %r, want %r" % (
                r["argv"], want)
            assert r["fds"] == [0, 1, 2, 3], \
                "runtime got fds %r, want [0, 1, 2, 3]" % r["fds"]
            _end_fake_exec(s, m)
    finally:
        os.close(r3)
        os.close(w3)


def test_row19_runtime_argv_exec_minimal_legacy():
    """A CRI-O exec-sync (legacy API, no -u, no -b): exec --pid-file P
    --process SPEC --detach <cid>; one record {"exit_code": 137} when the
    process is killed."""
    need_exec()
    with Case() as c:
        s, m, r = _fake_exec(c, api=False, bundle=False, exit_dir=False,
                             conmon_pidfile=False)
        want = ["exec", "--pid-file", s.pidfile, "--process", s.spec,
                "--detach", c.cid]
        assert r["argv"] == want, "runtime argv %r, want %r" % (r["argv"],
                                                                want)
        pid = wait_for(lambda: os.path.exists(s.pidfile) and s.pid(),
                       what="the exec pid file")
        os.kill(pid, 9)
        assert _raw_records(m) == [b'{"exit_code": 137}\n'], "records"


@ref_differs("2.1.6 adds --tty after --detach for exec with -t (spec 4.1, "
             "16)")
def test_row19_runtime_argv_exec_tty():
    """spec 4.1: exec with -t adds only `--console-socket <path>` (after
    the runtime-opts, before the cid), never --tty or -t, and never
    --systemd-cgroup; the runtime's pty master is taken and the session
    runs (API 1 records)."""
    need_exec()
    need_attach("-t")
    with Case() as c:
        s, m, r = _fake_exec(c, terminal=True, extra=[
            "-s", "--runtime-arg", "--a", "--runtime-opt", "--o1"])
        argv = r["argv"]
        assert "--tty" not in argv and "-t" not in argv, \
            "runtime argv has a tty flag: %r" % argv
        assert len(argv) == 11 and argv[-3] == "--console-socket" and \
            os.path.isabs(argv[-2]), "no --console-socket <abs path> before " \
            "the cid: %r" % argv
        want = ["--a", "exec", "--pid-file", s.pidfile, "--process", s.spec,
                "--detach", "--o1", "--console-socket", argv[-2], c.cid]
        assert argv == want, "runtime argv %r, want %r" % (argv, want)
        _end_fake_exec(s, m)


# ---------------------------------------------------------------------------
# Real runc: sync records and exit codes (row 15)

def test_row15_exec_exit_codes_api1():
    """API 1 (podman): exactly two records, `{"data": <pid>}` (the pid in
    the exec pid file) then `{"data": <status>}`, then end-of-file; the
    session's exit file holds the status (spec 5.3)."""
    need_exec()
    with Case() as c:
        c.running()
        for code in (0, 1, 42):
            s = c.exec_session(["/bin/sh", "-c", "exit %d" % code])
            m = s.launch()
            recs = _raw_records(m)
            assert len(recs) == 2, "exit %d: records %r; stderr %r" % (
                code, recs, m.stderr())
            pid = s.pid()
            assert recs[0] == b'{"data": %d}\n' % pid, \
                "exit %d: first record %r, exec pid file %d" % (
                    code, recs[0], pid)
            assert recs[1] == b'{"data": %d}\n' % code, \
                "exit %d: second record %r" % (code, recs[1])
            assert s.wait_exit() == str(code), "exit file"
        assert alive(c.container_pid), "the container died"


def test_row15_exec_exit_codes_legacy():
    """Without --api-version (CRI-O's exec-sync): exactly one record,
    `{"exit_code": <status>}`, no pid record (spec 5.3)."""
    need_exec()
    with Case() as c:
        c.running()
        for code in (0, 1, 42):
            s = c.exec_session(["/bin/sh", "-c", "exit %d" % code])
            m = s.launch(api=False, bundle=False)
            recs = _raw_records(m)
            assert recs == [b'{"exit_code": %d}\n' % code], \
                "exit %d: records %r; stderr %r" % (code, recs, m.stderr())
            assert s.wait_exit() == str(code), "exit file"


def test_exec_output_in_exec_log():
    """The exec'd process's stdout and stderr land in the session's log
    (k8s-file, streams kept apart), not in the container's."""
    need_exec()
    with Case() as c:
        c.running()
        s = c.exec_session(["/bin/sh", "-c",
                            "echo out-line; echo err-line >&2; "
                            "printf tail; exit 3"])
        m = s.launch()
        recs = _raw_records(m)
        assert recs[-1:] == [b'{"data": 3}\n'], "records %r" % recs
        assert s.output("stdout") == b"out-line\ntail", \
            "exec log stdout %r" % s.output("stdout")
        assert s.output("stderr") == b"err-line\n", \
            "exec log stderr %r" % s.output("stderr")
        ctr = reconstruct(c.log()) if os.path.exists(c.log_path) else b""
        assert b"out-line" not in ctr, "exec output in the container's " \
            "log: %r" % ctr


def test_exec_stdin_through_attach():
    """-i with a session bundle: an attach client on the session's socket
    feeds the exec'd `cat`; SHUT_WR closes its stdin, it exits 0; the
    client and the exec log both have the output (spec 7.4, 15)."""
    need_exec()
    need_attach("-i")
    with Case() as c:
        c.running()
        s = c.exec_session(["/bin/cat"])
        m = s.launch(extra=["-i"])
        rec = m.record()
        assert rec.get("data", 0) > 0, "pid record %r" % rec
        wait_file(s.attach_path())
        cl = s.attach()
        cl.send(b"hello\nworld\n")
        cl.wait_output(b"hello\nworld\n", stream=2)
        cl.shutdown_wr()
        assert m.record() == {"data": 0}, "exit record"
        m.sync_eof()
        cl.read_to_eof()
        assert cl.output() == b"hello\nworld\n", \
            "client got %r" % cl.output()
        assert s.output("stdout") == b"hello\nworld\n", \
            "exec log %r" % s.output()


# ---------------------------------------------------------------------------
# Failures (row 16), timeouts (row 17), --sync (row 10)

def test_row16_exec_no_such_binary_api1():
    """runc cannot exec /no/such/binary: one record {"data": -1,
    "message": ...} with runc's `exec failed` (spec 4.4, main's and
    2.1.6's behaviour), end-of-file, no exit file, the container alive."""
    need_exec()
    with Case() as c:
        c.running()
        s = c.exec_session(["/no/such/binary"])
        m = s.launch()
        recs = _raw_records(m)
        assert len(recs) == 1, "records %r; stderr %r" % (recs, m.stderr())
        assert recs[0].endswith(b"\n") and recs[0].count(b"\n") == 1, \
            "not one JSON line: %r" % recs[0][:300]
        assert len(recs[0]) <= 4095, "record of %d bytes" % len(recs[0])
        rec = json.loads(recs[0])
        assert rec.get("data") == -1, "want data -1: %r" % rec
        assert "exec failed" in rec.get("message", ""), \
            "message %r lacks `exec failed`" % rec.get("message")
        assert set(rec) == {"data", "message"}, "record keys %r" % rec
        assert not os.path.exists(s.exit_file), "exit file after a failed " \
            "exec: %r" % read_file(s.exit_file)
        assert alive(c.container_pid), "the container died"


def test_row16_exec_no_such_binary_legacy_sync():
    """The same as CRI-O's exec-sync sees it: {"exit_code": -1,
    "message": ...exec failed...} (at most 511 bytes, spec 5.5), monitor
    status 1."""
    need_exec()
    with Case() as c:
        c.running()
        s = c.exec_session(["/no/such/binary"])
        m = s.launch(api=False, bundle=False, sync=True,
                     conmon_pidfile=False)
        recs = _raw_records(m)
        assert len(recs) == 1, "records %r" % recs
        rec = json.loads(recs[0])
        assert rec.get("exit_code") == -1, "want exit_code -1: %r" % rec
        assert "exec failed" in rec.get("message", ""), \
            "message %r lacks `exec failed`" % rec.get("message")
        if len(recs[0]) > 511:
            raise AssertionError("legacy record of %d bytes (> 511, spec "
                                 "5.5)" % len(recs[0]))
        m.expect(1)


def test_exec_runtime_failure_message():
    """A runtime exec that fails with a message on stderr and no pid
    file: one record {"data": -1, "message": <its stderr>} (legacy:
    "exit_code"), monitor status 1 with --sync, no exit file (spec 4.4,
    main's behaviour, the spec's decision)."""
    need_exec()
    for api in (True, False):
        with Case() as c:
            c.bundle(["/bin/true"], config=False)
            err = os.path.join(c.dir, "stderr.txt")
            with open(err, "w") as f:
                f.write("fake-rt: exec failed: no such thing\n")
            s = c.exec_session(["/bin/true"])
            # legacy: CRI-O's exec-sync shape, without a bundle
            m = s.launch(runtime=c.fake_runtime(), api=api, sync=True,
                         bundle=api, env={"FAKE_RT_MODE": "fail",
                                          "FAKE_RT_STDERR_FILE": err,
                                          "FAKE_RT_STATUS": "1"})
            recs = _raw_records(m)
            assert len(recs) == 1, "api %s: records %r" % (api, recs)
            rec = json.loads(recs[0])
            key = "data" if api else "exit_code"
            assert rec.get(key) == -1 and set(rec) == {key, "message"}, \
                "api %s: record %r" % (api, rec)
            assert "fake-rt: exec failed: no such thing" in rec["message"], \
                "api %s: message %r" % (api, rec["message"])
            m.expect(1, what="api %s" % api)
            assert not os.path.exists(s.exit_file), "exit file"


@ref_differs("2.1.6 forwards 8191 bytes of stderr, escaped, as one record "
             "of about 16 KiB")
def test_exec_runtime_failure_stderr_flood():
    """60 KiB of quotes, control bytes and invalid UTF-8 from a failing
    runtime exec: one record of at most 4095 bytes (API 1) or 511
    (legacy), valid JSON, the message shortened with ... (spec 5.5)."""
    need_exec()
    junk = (b'"\\\x01\x02\x1f\x7f\n\r\t\xff\xfe\xc3\x28 \xe2\x82 '
            * 4096)[:61440]
    for api, limit in ((True, 4095), (False, 511)):
        with Case() as c:
            c.bundle(["/bin/true"], config=False)
            err = os.path.join(c.dir, "stderr.bin")
            with open(err, "wb") as f:
                f.write(junk)
            s = c.exec_session(["/bin/true"])
            m = s.launch(runtime=c.fake_runtime(), api=api, bundle=api,
                         env={"FAKE_RT_MODE": "fail",
                              "FAKE_RT_STDERR_FILE": err})
            recs = _raw_records(m)
            assert len(recs) == 1, "api %s: %d records" % (api, len(recs))
            raw = recs[0]
            assert len(raw) <= limit, "record of %d bytes > %d (api %s)" % (
                len(raw), limit, api)
            try:
                rec = json.loads(raw.decode("utf-8"))
            except ValueError as e:
                raise AssertionError("record not valid UTF-8 JSON (%s): %r"
                                     % (e, raw[:200]))
            key = "data" if api else "exit_code"
            assert rec.get(key) == -1, "want %s -1: %r" % (key, rec)
            assert rec.get("message", "").endswith("..."), \
                "shortened message must end in ...: %r" % rec.get("message")


@ref_differs("2.1.6 takes any non-zero status of runtime exec for a "
             "failure (spec 4.3, 16)")
def test_exec_runtime_nonzero_status_with_pid_file():
    """A runtime exec that started the process (pid file written) but
    exits 3 (some runtimes pass the exec'd status on): not a failure
    since 2.2.0, the session runs and reports (spec 4.3)."""
    need_exec()
    with Case() as c:
        c.bundle(["/bin/true"], config=False)
        s = c.exec_session(["/bin/true"])
        m = s.launch(runtime=c.fake_runtime(),
                     env={"FAKE_RT_RUN_STATUS": "3"})
        _end_fake_exec(s, m)
        m.sync_eof()


def test_exec_attach_without_attach_pipe():
    """--exec-attach with --sync and no _OCI_ATTACHPIPE: the daemon
    fails (`--attach specified but _OCI_ATTACHPIPE was not ...`) with
    status 1 before running anything (spec 3.1 step 9)."""
    need_exec("--exec-attach")
    with Case() as c:
        rtdir = os.path.join(c.dir, "rt")
        os.mkdir(rtdir)
        c.bundle(["/bin/true"], config=False)
        s = c.exec_session(["/bin/true"])
        m = s.launch(runtime=c.fake_runtime(), sync=True,
                     extra=["--exec-attach"], env={"FAKE_RT_DIR": rtdir})
        m.expect(1)
        assert "--attach specified but _OCI_ATTACHPIPE was not" in \
            m.stderr(), "stderr %r" % m.stderr()
        assert not os.listdir(rtdir), "the runtime ran"


def test_row17_exec_sync_timeout():
    """CRI-O's probe with a timeout: `sleep 5` with -T 1 --sync (legacy
    API) -> exactly {"exit_code": -1, "message": "command timed out"},
    monitor status 255 (spec 10.6, 10.8), within 2 s of the pid being
    known, the sleep killed."""
    need_exec()
    with Case() as c:
        c.running()
        s = c.exec_session(["/bin/sleep", "5"])
        t0 = time.monotonic()
        m = s.launch(api=False, bundle=False, sync=True,
                     conmon_pidfile=False, extra=["-T", "1"])
        pid = wait_for(lambda: os.path.exists(s.pidfile) and s.pid(),
                       what="the exec pid file")
        t_pid = time.monotonic()
        recs = _raw_records(m)
        st = m.wait()
        t_end = time.monotonic()
        assert recs == [b'{"exit_code": -1, "message": "command timed out"}'
                        b'\n'], "records %r" % recs
        assert st == 255, "monitor status %d, want 255" % st
        assert t_end - t_pid < 2.0, "monitor exited %.2f s after the pid " \
            "file appeared (%.2f s after launch), want < 2" % (
                t_end - t_pid, t_end - t0)
        # GLib's second timers (2.1.6) round to a whole second, firing up
        # to 0.25 s early: allow that much, no more.
        assert t_end - t0 >= 0.7, "timed out after %.2f s, before -T 1" % (
            t_end - t0)
        c.wait_gone(pid, timeout=5)
        assert s.wait_exit() == "-1", "exit file"


def test_row17_exec_timeout_api1():
    """API 1 without --sync: {"data": pid} then {"data": -1, "message":
    "command timed out"} (spec 5.3)."""
    need_exec()
    with Case() as c:
        c.running()
        s = c.exec_session(["/bin/sleep", "5"])
        m = s.launch(extra=["-T", "1"])
        recs = _raw_records(m)
        assert len(recs) == 2, "records %r" % recs
        assert recs[0] == b'{"data": %d}\n' % s.pid(), "pid record %r" % (
            recs[0])
        assert recs[1] == b'{"data": -1, "message": "command timed out"}\n', \
            "final record %r" % recs[1]
        c.wait_gone(s.pid(), timeout=5)


def test_row10_sync_exec_status():
    """--sync exec of `exit 7`: the monitor's own status is 7, the -P
    file is never written (spec 3.2, 10.8)."""
    need_exec()
    with Case() as c:
        c.running()
        s = c.exec_session(["/bin/sh", "-c", "exit 7"])
        m = s.launch(api=False, bundle=False, sync=True)
        assert "--conmon-pidfile" in m.proc.args
        assert _raw_records(m) == [b'{"exit_code": 7}\n'], "records"
        m.expect(7)
        assert not os.path.exists(s.conmon_pidfile), \
            "--sync wrote the conmon pidfile"


# ---------------------------------------------------------------------------
# CRI-O exec-sync (row 61) and the fast-exec loop (row 56)

def _crio_exec_sync_argv(c, s, tty=False, timeout_s=None):
    """spec 15, CRI-O exec-sync: no cuuid, no bundle, legacy API, a log
    path without a driver prefix, --sync."""
    a = ["-c", c.cid, "-n", "k8s_" + c.cid, "-r", RUNC, "-p", s.pidfile,
         "-e", "-l", s.log_path]
    if accepts_socket_dir():
        a += ["--socket-dir-path", c.sock_dir]
    a += ["--log-level", "info", "--sync"]
    if "--log-global-size-max" not in exec_refused():
        a += ["--log-global-size-max", "16777216"]
    if tty:
        a += ["-t"]
    if timeout_s:
        a += ["-T", str(timeout_s)]
    a += ["--exec-process-spec", s.spec, "--runtime-arg",
          "--root=" + c.runc_root]
    return a


def _crio_read_log(path):
    """What CRI-O's exec-sync does with the log (ReadLogs/ParseCRILog):
    every line is `<RFC 3339 nano time> <stream> <tag> <content>`, tag F
    ends a line, P continues it; returns {stream: bytes}."""
    out = {"stdout": b"", "stderr": b""}
    with open(path, "rb") as f:
        data = f.read()
    for line in data.split(b"\n")[:-1]:
        m = K8S_RE.match(line)
        assert m, "CRI-O cannot parse log line %r" % line[:200]
        ts, stream, tag, content = line.split(b" ", 3)
        assert ts == m.group(1)
        assert stream in (b"stdout", b"stderr"), "stream %r" % stream
        assert tag in (b"F", b"P"), "tag %r" % tag
        out[stream.decode()] += content + (b"\n" if tag == b"F" else b"")
    assert data.endswith(b"\n") or not data, "log ends in %r" % data[-40:]
    return out


def test_row61_crio_exec_sync():
    """CRI-O's exec-sync command line (spec 15) with an ordinary pipe as
    sync pipe: the only record is {"exit_code": 3}, the monitor exits 3,
    and the log parses as CRI-O parses it into stdout and stderr."""
    need_exec()
    with Case() as c:
        c.running()
        s = c.exec_session(["/bin/sh", "-c",
                            "echo out1; echo err1 >&2; echo out2; "
                            "printf partial; exit 3"])
        m = c.launch(_crio_exec_sync_argv(c, s, timeout_s=30),
                     sync_kind="pipe", env={"TMPDIR": c.dir})
        recs = _raw_records(m)
        assert recs == [b'{"exit_code": 3}\n'], "records %r; stderr %r" % (
            recs, m.stderr())
        m.expect(3)
        got = _crio_read_log(s.log_path)
        assert got == {"stdout": b"out1\nout2\npartial",
                       "stderr": b"err1\n"}, "CRI-O reads %r" % got
        # no bundle, no default one: nothing in the cwd, no symlink
        # (spec 1.3)
        made = [n for n in ("attach", "ctl", "winsz", "oom")
                if os.path.lexists(os.path.join(c.dir, n))]
        assert not made, "the exec-sync monitor made %r in its cwd" % made
        links = [n for n in os.listdir(c.sock_dir) if n != c.cid]
        assert not links, "socket directory holds %r" % links


def test_row61_crio_exec_sync_tty():
    """The same with -t: the output is the pty's (CR LF), on stdout."""
    need_exec()
    need_attach("-t")
    with Case() as c:
        c.running()
        s = c.exec_session(["/bin/sh", "-c", "echo tty-out; exit 4"],
                           terminal=True)
        m = c.launch(_crio_exec_sync_argv(c, s, tty=True, timeout_s=30),
                     sync_kind="pipe", env={"TMPDIR": c.dir})
        recs = _raw_records(m)
        assert recs == [b'{"exit_code": 4}\n'], "records %r; stderr %r" % (
            recs, m.stderr())
        m.expect(4)
        got = _crio_read_log(s.log_path)
        assert got["stdout"] == b"tty-out\r\n", "CRI-O reads %r" % got


def _forget(c, m):
    """Close a finished monitor's pipes and drop it from the case (a
    loop of hundreds would otherwise keep hundreds of fds)."""
    os.close(m.sync)
    m.sync = None
    m.close_start()
    c.monitors.remove(m)


FAST_EXEC_RUNS = int(os.environ.get("VIGIL_IT_FAST_EXEC_RUNS", "200"))


@timeout(300)
def test_row56_fast_exec_tty_loop():
    """200 `exec true` with -t in a row (VIGIL_IT_FAST_EXEC_RUNS to
    change), CRI-O's exec-sync shape: each reports {"exit_code": 0} and
    exits 0 within 10 s; none hangs even though `true` may be gone
    before the pid file is read (spec 4.3)."""
    need_exec()
    need_attach("-t")
    with Case() as c:
        c.running()
        s = c.exec_session(["/bin/true"], terminal=True)
        argv = _crio_exec_sync_argv(c, s, tty=True)
        t0 = time.monotonic()
        for i in range(FAST_EXEC_RUNS):
            m = c.launch(argv, sync_kind="pipe", env={"TMPDIR": c.dir})
            try:
                recs = _raw_records(m, timeout=10)
                st = m.wait(10)
            except AssertionError as e:
                raise AssertionError("run %d of %d: %s" % (
                    i + 1, FAST_EXEC_RUNS, e))
            assert recs == [b'{"exit_code": 0}\n'] and st == 0, \
                "run %d: records %r, status %d; stderr %r" % (
                    i + 1, recs, st, m.stderr())
            _forget(c, m)
        dt = time.monotonic() - t0
        print("%d runs in %.1f s (%.0f ms each)" % (
            FAST_EXEC_RUNS, dt, 1000 * dt / max(FAST_EXEC_RUNS, 1)))
        assert alive(c.container_pid), "the container died"


# ---------------------------------------------------------------------------
# --exec-attach (row 12) and podman's exec sequence (spec 15)

def _runtime_running(s):
    """Pids of runtime processes working on this session (argv[0] is
    the runtime, the session's spec in the arguments)."""
    return [p for p in procs_mentioning(s.spec)
            if (proc_cmdline(p) or [""])[0] == RUNC]


def test_row12_exec_attach_gate():
    """--exec-attach: after start byte 1 the attach pipe gets exactly
    {"data": 0}\\n, by then the session's attach socket exists; the
    exec'd `echo hi` does not run (no runtime, no marker, no record, no
    output) until the second start byte, then its output reaches the
    client (spec 5.2, 5.4)."""
    need_exec("--exec-attach")
    need_attach()
    with Case() as c:
        c.running(bundle_kw={"shared": True})
        s = c.exec_session(["/bin/sh", "-c",
                            "echo hi; touch /shared/ran; exit 6"])
        m = s.launch(attach_pipe=True, extra=["--exec-attach"])
        raw = m.read_attach_raw()
        sock = s.attach_path()
        assert os.path.lexists(os.path.join(s.dir, "attach")), \
            "attach-pipe record before <session>/attach exists"
        assert raw == b'{"data": 0}\n', "attach pipe %r" % raw
        assert stat.S_ISSOCK(os.stat(sock).st_mode), "%s not a socket" % sock
        # Connected, as podman does, but not necessarily accepted yet: a
        # monitor may accept only once the runtime runs (2.1.6 blocks in
        # waitpid); what it must not do is lose output to it.
        cl = s.attach(accepted=False)
        ran = os.path.join(c.shared_dir, "ran")

        def gated():
            return (not os.path.exists(ran) and _sync_quiet(m) and
                    not _runtime_running(s) and not cl.drain_nowait() and
                    not cl.records)
        # Nothing may happen without the second byte: watched for 1 s.
        holds_for(gated, 1.0, "no exec before the second start byte")
        m.write_start()
        rec = m.record()
        assert rec.get("data", 0) > 0, "pid record %r" % rec
        cl.wait_output("hi\n", stream=2)
        assert m.record() == {"data": 6}, "exit record"
        m.sync_eof()
        assert os.path.exists(ran), "the exec'd command did not run"
        cl.read_to_eof()


def _podman_exec_argv(c, s, ocilog, marker, tty=False):
    """spec 15, podman exec: sharedConmonArgs with the session directory
    as bundle and the session id as cuuid, --full-attach, -l none, then
    -e [-t] -i --exec-attach --exec-process-spec, the exit command with
    --exit-delay."""
    a = ["--api-version", "1", "-c", c.cid, "-u", s.cuuid, "-r", RUNC,
         "-b", s.dir, "-p", s.pidfile, "-n", "name-" + c.cid,
         "--exit-dir", s.exit_dir, "--full-attach"]
    if accepts_socket_dir():
        a += ["--socket-dir-path", c.sock_dir]
    a += ["-l", "none", "--log-level", "warning",
          "--runtime-arg", "--log-format=json", "--runtime-arg", "--log",
          "--runtime-arg=" + ocilog,
          "--runtime-arg", "--root=" + c.runc_root,
          "-e"]
    if tty:
        a += ["-t"]
    a += ["-i", "--exec-attach", "--exec-process-spec", s.spec,
          "--exit-command", "/bin/sh", "--exit-command-arg", "-c",
          "--exit-command-arg", "cat %s/exits/%s > %s" % (s.dir, c.cid,
                                                          marker),
          "--exit-delay", "0"]
    return a


def _find_daemon(s):
    """The session's daemon, which podman does not ask to write a pid
    file: the process running the monitor with this session's spec that
    leads its own process group (setsid; its runtime child does not)."""
    def find():
        for p in procs_mentioning(s.spec):
            cmd = proc_cmdline(p) or []
            st = proc_stat(p)
            if cmd and "--exec-process-spec" in cmd and st and st[2] == p:
                return p
        return None
    return wait_for(find, what="the exec session's daemon")


def _podman_exec(tty):
    need_exec("--exec-attach")
    need_attach("-i", "--full-attach", *(["-t"] if tty else []))
    if tty:
        _need_stty()
    with Case() as c:
        c.running()
        script = 'read l; echo "got $l"; echo err >&2; exit 3'
        if tty:
            script = 'read l; echo "got $l $(%s size)"; exit 3' % STTY
        s = c.exec_session([BASH if tty else "/bin/sh", "-c", script],
                           terminal=tty)
        marker = os.path.join(c.dir, "exit-command-saw")
        argv = _podman_exec_argv(c, s, os.path.join(s.dir, "oci-log"),
                                 marker, tty=tty)
        # the exec session's directory is podman's cwd for the monitor
        m = c.launch(argv, attach_pipe=True, write_start=False, cwd=s.dir,
                     env={"TMPDIR": c.dir})
        # 1. start byte 1 releases the launcher, which exits 0
        assert m.proc.poll() is None, "launcher gone before start byte 1"
        m.write_start()
        m.expect(0, what="launcher")
        # 2. the attach pipe says the session's socket is ready
        raw = m.read_attach_raw()
        assert raw == b'{"data": 0}\n', "attach pipe %r" % raw
        # 3. connect <session>/attach (podman: --full-attach)
        daemon = _find_daemon(s)
        cl = c.attach(path=s.attach_path(full=True), accepted=False)
        # 4. resize (-t), then start byte 2
        if tty:
            c.fifo_write(b"1 30 100\n", directory=s.dir)
        assert _sync_quiet(m), "a sync record before start byte 2"
        m.write_start()
        # 5. {"data": pid}
        raw = m.read_sync_raw()
        pid = s.pid()
        assert raw == b'{"data": %d}\n' % pid, "pid record %r, pid file %d" % (
            raw, pid)
        # 6. stream
        cl.send(b"hello\n")
        if tty:
            cl.wait_output(b"got hello 30 100\r\n", stream=2)
        else:
            cl.wait_output(b"got hello\n", stream=2)
            cl.wait_output(b"err\n", stream=3)
        # 7. {"data": exit}, after the exit file
        raw = m.read_sync_raw()
        assert raw == b'{"data": 3}\n', "exit record %r" % raw
        assert os.path.exists(s.exit_file), \
            "final record before the exit file (spec 10.2 steps 7, 8)"
        assert read_file(s.exit_file) == "3", "exit file"
        m.sync_eof()
        cl.read_to_eof()
        # the exit command ran after the exit file was written
        wait_for(lambda: os.path.exists(marker) and read_file(marker),
                 what="the exit command")
        assert read_file(marker) == "3", "exit command saw %r" % (
            read_file(marker))
        c.wait_gone(daemon)
        assert not os.path.lexists(os.path.join(s.dir, "attach")), \
            "<session>/attach left behind"
        assert alive(c.container_pid), "the container died"


def test_podman_exec_sequence():
    """podman exec -i of spec 15, step by step: start byte 1, launcher
    exits 0, attach pipe {"data": 0}, connect <session>/attach, start
    byte 2, {"data": pid}, stream both ways, {"data": 3}, exit command."""
    _podman_exec(tty=False)


def test_podman_exec_sequence_tty():
    """podman exec -it: as above with a terminal, and a resize through
    <session>/ctl before start byte 2 that the exec'd stty sees."""
    _podman_exec(tty=True)


# ---------------------------------------------------------------------------
# CRI-O's create sequence (spec 15)

def test_crio_create_sequence():
    """CRI-O create of spec 15, step by step: its command line (cwd the
    bundle, API 0, -P in the bundle, --syslog, -t), exactly {"pid": N}
    in at most 512 bytes (CRI-O's first decoder read), attach through
    <socket-dir-path>/<ID>/attach, ctl `1 h w` and `2 0 0`, runc start,
    exit file value and mtime at the container's end, no oom file."""
    need_attach("-t")
    _need_stty()
    with Case() as c:
        c.bundle([BASH, "-c", 'read l; echo "got $l $(%s size)"; exit 5'
                  % STTY], terminal=True)
        c.conmon_pidfile = os.path.join(c.bundle_dir, "conmon-pidfile")
        argv = ["-b", c.bundle_dir, "-c", c.cid, "--exit-dir", c.exit_dir,
                "-l", c.log_path, "--log-level", "info", "-n",
                "k8s_" + c.cid, "-P", c.conmon_pidfile, "-p", c.pidfile,
                "--persist-dir", c.persist_dir, "-r", RUNC,
                "--runtime-arg", "--root=" + c.runc_root,
                "--socket-dir-path", c.sock_dir, "--syslog", "-u", c.cid,
                "-t"]
        m = c.launch(argv, cwd=c.bundle_dir, env={"TMPDIR": c.dir})
        m.expect(0, what="launcher")
        raw = m.read_sync_raw()
        pid = int(read_file(c.pidfile))
        assert raw == b'{"pid": %d}\n' % pid, "record %r, pid file %d" % (
            raw, pid)
        assert len(raw) <= 512
        c.container_pid = pid
        cl = c.attach()
        c.fifo_write(b"1 30 100\n")
        c.ctl_barrier()             # writes `2 0 0`: the log is reopened
        c.runc_start()
        t_send = time.time()
        cl.send(b"x\n")
        wait_file(c.exit_file)
        t_seen = time.time()
        assert read_file(c.exit_file) == "5", "exit file %r" % read_file(
            c.exit_file)
        mtime = os.stat(c.exit_file).st_mtime
        assert t_send - 0.1 <= mtime <= t_seen + 0.1, \
            "exit file mtime %.3f outside [%.3f, %.3f]" % (mtime, t_send,
                                                           t_seen)
        assert mtime - t_send < 2, "exit file written %.2f s after the " \
            "container was told to end" % (mtime - t_send)
        assert b"got x 30 100" in reconstruct(c.log(), "stdout"), \
            "log %r" % reconstruct(c.log())
        cl.read_to_eof()
        for d in (c.bundle_dir, c.persist_dir):
            assert not os.path.exists(os.path.join(d, "oom")), \
                "oom file in %s" % d
        m.sync_eof()
