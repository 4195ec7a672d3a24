# SPDX-License-Identifier: Apache-2.0
"""How the monitor runs the OCI runtime and what the daemon looks like
(spec 2, 3.3, 4.1, 4.2). A fake runtime records what it was given."""

import os
import signal
import stat

from harness import (Case, can_lower_oom_score, pipe_size, read_file,
                     ref_differs, wait_for)


def _recorded(c, rtdir):
    wait_for(lambda: os.path.exists(os.path.join(rtdir, "done")),
             what="the fake runtime to run")
    r = {}
    for name in ("argv", "fds", "stdio", "env", "pid", "oom"):
        r[name] = read_file(os.path.join(rtdir, name))
    r["argv"] = r["argv"].split("\n")[:-1]
    r["fds"] = sorted(int(x) for x in r["fds"].split() if int(x) < 10)
    r["stdio"] = {int(l.split()[0]): l.split(None, 1)[1]
                  for l in r["stdio"].splitlines()}
    r["env"] = dict(l.split("=", 1) for l in r["env"].splitlines() if "=" in l)
    return r


def _fake_run(c, extra=(), env=None, **kw):
    rtdir = os.path.join(c.dir, "rt")
    os.mkdir(rtdir)
    e = {"FAKE_RT_DIR": rtdir}
    e.update(env or {})
    c.bundle(["/bin/true"])
    m = c.start(runtime=c.fake_runtime(), extra=list(extra), env=e, **kw)
    return m, _recorded(c, rtdir)


def _finish(c, m):
    """End the fake container (a background sleep) and check the status."""
    os.kill(m.container_pid, signal.SIGKILL)
    assert c.wait_exit() == "137"


def test_runtime_argv_create():
    """spec 4.1: <runtime> [--systemd-cgroup] <runtime-arg>... create
    --bundle B --pid-file P [--no-pivot] [--no-new-keyring]
    <runtime-opt>... <cid>"""
    with Case() as c:
        m, r = _fake_run(c, extra=[
            "-s", "--runtime-arg", "--a", "--runtime-arg", "b",
            "--no-pivot", "--no-new-keyring", "--runtime-opt", "--o1",
            "--runtime-opt", "x"])
        want = ["--systemd-cgroup", "--a", "b", "create", "--bundle",
                c.bundle_dir, "--pid-file", c.pidfile, "--no-pivot",
                "--no-new-keyring", "--o1", "x", c.cid]
        assert r["argv"] == want, "runtime argv %r, want %r" % (r["argv"],
                                                                want)
        _finish(c, m)


def test_runtime_argv_minimal():
    with Case() as c:
        m, r = _fake_run(c)
        want = ["create", "--bundle", c.bundle_dir, "--pid-file", c.pidfile,
                c.cid]
        assert r["argv"] == want, "runtime argv %r, want %r" % (r["argv"],
                                                                want)
        _finish(c, m)


@ref_differs("2.1.6 never resizes the output pipes")
def test_output_pipes_default_size_without_pipe_privilege():
    """A monitor without CAP_SYS_RESOURCE and CAP_SYS_ADMIN (as rootless
    podman's, whose pipe pages count against fs.pipe-user-pages-soft)
    leaves the container's output pipes at the kernel's 64 KiB: growing
    them would use up that user's allowance four times sooner, and past
    it every new pipe of the user gets 2 pages. With them (root), the
    pipes are 256 KiB (test_log.py, test_output_pipes_hold_one_read)."""
    with Case() as c:
        wrapper = os.path.join(c.dir, "conmon-nopipecaps")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec setpriv --inh-caps=-sys_resource,"
                    "-sys_admin --bounding-set=-sys_resource,-sys_admin "
                    "-- %s \"$@\"\n" % c.conmon)
        os.chmod(wrapper, 0o755)
        c.conmon = wrapper
        m, r = _fake_run(c)
        for fd in (1, 2):
            size = pipe_size(m.container_pid, fd)
            assert size == 65536, "fd %d: a pipe of %d bytes" % (fd, size)
        _finish(c, m)


def test_runtime_stdio_fds_env():
    """spec 4.2, 2.1, 2.2: stdin /dev/null (no -i), stdout and stderr
    pipes; an inherited fd 5 at fd 5; the _OCI_* pipes closed on exec;
    the environment unchanged; the original oom_score_adj restored."""
    r5, w5 = os.pipe()
    try:
        with Case() as c:
            m, r = _fake_run(c, extra_fds={5: r5},
                             env={"VIGIL_IT_MARK": "a b=c"})
            assert r["fds"] == [0, 1, 2, 5], \
                "runtime got fds %r, want [0, 1, 2, 5]" % r["fds"]
            assert r["stdio"][0].endswith("|/dev/null"), \
                "runtime stdin %r" % r["stdio"][0]
            for fd in (1, 2):
                assert " fifo|pipe:" in r["stdio"][fd], \
                    "runtime fd %d is %r, want a pipe" % (fd, r["stdio"][fd])
            env = r["env"]
            for k, v in (("_OCI_SYNCPIPE", "3"), ("_OCI_STARTPIPE", "4"),
                         ("VIGIL_IT_MARK", "a b=c")):
                assert env.get(k) == v, "runtime env %s=%r, want %r" % (
                    k, env.get(k), v)
            mine = read_file("/proc/self/oom_score_adj").strip()
            assert r["oom"].strip() == mine, \
                "runtime oom_score_adj %s, want the original %s" % (
                    r["oom"].strip(), mine)
            _finish(c, m)
    finally:
        os.close(r5)
        os.close(w5)


@ref_differs("2.1.6 fchmods only terminals, not the stdio pipes")
def test_runtime_stdio_pipes_mode_0777():
    """spec 4.2 step 3: the pipe ends given to the runtime are 0777, so a
    container user of any uid can reopen /dev/stdout."""
    with Case() as c:
        m, r = _fake_run(c)
        for fd in (1, 2):
            assert r["stdio"][fd].startswith("777 "), \
                "runtime fd %d: %r, want mode 777" % (fd, r["stdio"][fd])
        _finish(c, m)


def test_listen_pid():
    """spec 4.2 step 4: LISTEN_PID is rewritten to the runtime's pid with
    --replace-listen-pid, left alone otherwise; an invalid one stops the
    runtime from running at all."""
    with Case() as c:
        m, r = _fake_run(c, env={"LISTEN_PID": "1"},
                         extra=["--replace-listen-pid"])
        assert r["env"].get("LISTEN_PID") == r["pid"].strip(), \
            "LISTEN_PID %r, want the runtime's pid %s" % (
                r["env"].get("LISTEN_PID"), r["pid"].strip())
        _finish(c, m)
    with Case() as c:
        m, r = _fake_run(c, env={"LISTEN_PID": "1"})
        assert r["env"].get("LISTEN_PID") == "1", \
            "LISTEN_PID changed to %r" % r["env"].get("LISTEN_PID")
        _finish(c, m)
    for bad in ("abc", "0", "-4"):
        with Case() as c:
            rtdir = os.path.join(c.dir, "rt")
            os.mkdir(rtdir)
            c.bundle(["/bin/true"])
            m = c.start(runtime=c.fake_runtime(), expect_pid=False,
                        env={"FAKE_RT_DIR": rtdir, "LISTEN_PID": bad})
            rec = m.record()
            assert rec.get("data") == -1, "LISTEN_PID=%s: record %r" % (
                bad, rec)
            assert not os.path.exists(os.path.join(rtdir, "argv")), \
                "LISTEN_PID=%s: the runtime ran" % bad


def test_daemon_process_attributes():
    """spec 2.3, 3.3: cwd unchanged, stdio /dev/null, oom_score_adj
    -1000, own session without a terminal; a silent start."""
    with Case() as c:
        c.bundle(["/bin/sleep", "1000"])
        m = c.start()
        assert m.stdout() == "" and m.stderr() == "", \
            "a successful start printed %r %r" % (m.stdout(), m.stderr())
        d = c.daemon_pid()
        assert os.readlink("/proc/%d/cwd" % d) == c.dir, \
            "daemon cwd %s, want %s" % (os.readlink("/proc/%d/cwd" % d),
                                        c.dir)
        for fd in (0, 1, 2):
            t = os.readlink("/proc/%d/fd/%d" % (d, fd))
            assert t == "/dev/null", "daemon fd %d is %s" % (fd, t)
        # spec 3.1 step 2: -1000 if permitted, silently unchanged if not
        oom = read_file("/proc/%d/oom_score_adj" % d).strip()
        want = "-1000" if can_lower_oom_score() else \
            read_file("/proc/self/oom_score_adj").strip()
        assert oom == want, "daemon oom_score_adj %s, want %s" % (oom, want)
        fields = read_file("/proc/%d/stat" % d).rsplit(")", 1)[1].split()
        assert int(fields[3]) == d, "daemon is not a session leader"
        assert int(fields[4]) == 0, "daemon has a controlling terminal"
        c.runc_start()
        c.runc_kill("KILL")
        assert c.wait_exit() == "137"


@ref_differs("2.1.6 inherits the manager's umask (0022 since 2.1.8)")
def test_umask_0022():
    """spec 2.3: the monitor sets umask 0022, whatever the manager's."""
    with Case() as c:
        c.bundle(["/bin/true"])
        c.start(umask=0o077)
        c.runc_start()
        assert c.wait_exit() == "0"
        for path, want in ((c.log_path, 0o640), (c.exit_file, 0o644),
                           (c.persist_exit_file, 0o644),
                           (c.conmon_pidfile, 0o644)):
            mode = stat.S_IMODE(os.stat(path).st_mode)
            assert mode == want, "%s: mode %o, want %o" % (
                os.path.basename(path), mode, want)
