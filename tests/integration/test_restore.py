# SPDX-License-Identifier: Apache-2.0
"""Restore, the create/restore runtime argv with every option that shapes
it, and seccomp notify (issue 5; spec 4.1, 14; checklist row 19).

The argv tests use the recording fake runtime (tests/integration/
fake-runtime: `restore` is run like `create`, a background sleep is the
container; with FAKE_RT_CONSOLE=1 it hands a pty master over the console
socket as runc does). The round trip with real runc needs a working CRIU
(`criu check`) and skips with CRIU's reason where it cannot run.

The restore tests skip (need_exec) while the monitor refuses --restore
("option --restore is not supported yet").
"""

import os
import re
import shutil
import signal
import subprocess

from harness import (Case, Skip, alive, need_attach, need_exec, read_file,
                     reconstruct, ref_differs, run_conmon, timeout, wait_for)


def _recorded(rtdir):
    wait_for(lambda: os.path.exists(os.path.join(rtdir, "done")),
             what="the fake runtime to run")
    argv = read_file(os.path.join(rtdir, "argv")).split("\n")[:-1]
    fds = sorted(int(x) for x in read_file(os.path.join(rtdir, "fds"))
                 .split() if int(x) < 10)
    return argv, fds


def _fake_run(c, extra, terminal=False, **kw):
    """A create or restore (extra has --restore) by the fake runtime,
    with fd 3 preserved (podman's --preserve-fds 1 layout, spec 2.2:
    the pipes at 4 and 5). Returns (monitor, argv, fds)."""
    rtdir = os.path.join(c.dir, "rt")
    os.mkdir(rtdir)
    c.bundle(["/bin/sleep", "1000"], config=False)
    r3, w3 = os.pipe()
    c.on_cleanup(lambda: (os.close(r3), os.close(w3)))
    env = {"FAKE_RT_DIR": rtdir, "FAKE_RT_CONSOLE": "1", "TMPDIR": c.dir}
    m = c.start(runtime=c.fake_runtime(), extra=list(extra) +
                (["-t"] if terminal else []), env=env, fd_base=4,
                extra_fds={3: w3}, **kw)
    argv, fds = _recorded(rtdir)
    return m, argv, fds


def _finish(c, m):
    """The container (the fake runtime's sleep) killed: exit file 137."""
    assert m.container_pid == int(read_file(c.pidfile)), "pid record"
    os.kill(m.container_pid, signal.SIGKILL)
    assert c.wait_exit() == "137", "exit file"


SHARED = ["-s", "--runtime-arg", "--a", "--runtime-arg", "b", "--no-pivot",
          "--no-new-keyring", "--runtime-opt", "--tcp-established",
          "--runtime-opt", "--preserve-fds", "--runtime-opt", "1"]


def _want(c, sub, image=None, console=None):
    w = ["--systemd-cgroup", "--a", "b", sub, "--bundle", c.bundle_dir,
         "--pid-file", c.pidfile, "--no-pivot", "--no-new-keyring"]
    if image:
        w += ["--detach", "--image-path", image, "--work-path", c.bundle_dir]
    w += ["--tcp-established", "--preserve-fds", "1"]
    if image:
        w += ["--file-locks"]
    if console:
        w += ["--console-socket", console]
    return w + [c.cid]


def _console_of(argv):
    """The path after --console-socket (asserting it is there, absolute,
    right before the cid, and that no tty flag is)."""
    assert "--tty" not in argv and "-t" not in argv, \
        "runtime argv has a tty flag: %r" % argv
    assert len(argv) >= 3 and argv[-3] == "--console-socket" and \
        os.path.isabs(argv[-2]), "no --console-socket <abs path> before the " \
        "cid: %r" % argv
    return argv[-2]


def test_row19_runtime_argv_restore():
    """spec 4.1 restore: <runtime> --systemd-cgroup <runtime-arg>...
    restore --bundle B --pid-file P --no-pivot --no-new-keyring --detach
    --image-path DIR --work-path B <runtime-opt>... <cid>; --restore-arg
    (the hidden alias) adds to the runtime-opts in order; the preserved
    fd 3 reaches the runtime; the restored `container` is monitored like
    a created one (pid record, exit file)."""
    need_exec("--restore")
    with Case() as c:
        image = os.path.join(c.dir, "checkpoint")
        os.mkdir(image)
        m, argv, fds = _fake_run(c, ["--restore", image] + SHARED +
                                 ["--restore-arg", "--file-locks"])
        want = _want(c, "restore", image=image)
        assert argv == want, "runtime argv %r, want %r" % (argv, want)
        assert fds == [0, 1, 2, 3], "runtime got fds %r, want [0, 1, 2, 3]" \
            % fds
        _finish(c, m)


def test_row19_runtime_argv_restore_tty():
    """The same with -t: `--console-socket <path>` after the runtime-opts,
    right before the cid; the pty is taken and the container runs."""
    need_exec("--restore")
    need_attach("-t")
    with Case() as c:
        image = os.path.join(c.dir, "checkpoint")
        os.mkdir(image)
        m, argv, fds = _fake_run(c, ["--restore", image] + SHARED +
                                 ["--restore-arg", "--file-locks"],
                                 terminal=True)
        want = _want(c, "restore", image=image, console=_console_of(argv))
        assert argv == want, "runtime argv %r, want %r" % (argv, want)
        _finish(c, m)


def test_row19_runtime_argv_create_tty():
    """spec 4.1 create with everything: --systemd-cgroup <runtime-arg>...
    create --bundle B --pid-file P --no-pivot --no-new-keyring
    <runtime-opt>... --console-socket S <cid>, fd 3 preserved."""
    need_attach("-t")
    with Case() as c:
        m, argv, fds = _fake_run(c, SHARED, terminal=True)
        want = _want(c, "create", console=_console_of(argv))
        assert argv == want, "runtime argv %r, want %r" % (argv, want)
        assert fds == [0, 1, 2, 3], "runtime got fds %r, want [0, 1, 2, 3]" \
            % fds
        _finish(c, m)


def test_restore_with_exec_refused():
    """--restore with --exec: `Cannot use 'exec' and 'restore' at the
    same time`, status 1, before anything runs (spec 1.5 row 7)."""
    with Case() as c:
        rtdir = os.path.join(c.dir, "rt")
        os.mkdir(rtdir)
        spec = c.process_spec(["/bin/true"])
        env = dict(os.environ, FAKE_RT_DIR=rtdir)
        for k in ("_OCI_SYNCPIPE", "_OCI_STARTPIPE", "_OCI_ATTACHPIPE"):
            env.pop(k, None)
        for order in (["--restore", c.dir, "-e"], ["-e", "--restore", c.dir]):
            p = run_conmon(["-c", c.cid, "-u", c.cid, "-r", c.fake_runtime(),
                            "-b", c.bundle_dir, "-p", c.pidfile, "-l",
                            "k8s-file:" + c.log_path, "--api-version",
                            "--exec-process-spec", spec,
                            "-P", c.conmon_pidfile] + order, env=env,
                           cwd=c.dir)
            assert p.returncode == 1, "%r: status %d" % (order, p.returncode)
            assert re.search(r"^\[conmon:e\]:? Cannot use 'exec' and "
                             r"'restore' at the same time$", p.stderr,
                             re.M), "%r: stderr %r" % (order, p.stderr)
            assert not os.listdir(rtdir), "the runtime ran"
            assert not os.path.exists(c.conmon_pidfile), "a daemon started"


@ref_differs("2.1.6 accepts --seccomp-notify-socket and fails after the "
             "fork (spec 14.3)")
def test_seccomp_notify_refused():
    """--seccomp-notify-socket / --seccomp-notify-plugins: parsed, then
    `[conmon:e]: seccomp notify is not supported`, status 1, before the
    fork (no daemon, the runtime never runs; spec 14.3)."""
    with Case() as c:
        rtdir = os.path.join(c.dir, "rt")
        os.mkdir(rtdir)
        env = dict(os.environ, FAKE_RT_DIR=rtdir)
        for k in ("_OCI_SYNCPIPE", "_OCI_STARTPIPE", "_OCI_ATTACHPIPE"):
            env.pop(k, None)
        for opt in (["--seccomp-notify-socket", os.path.join(c.dir, "s")],
                    ["--seccomp-notify-plugins", "/nonexistent/p.so"],
                    ["--seccomp-notify-socket=" + os.path.join(c.dir, "s"),
                     "--seccomp-notify-plugins", "a:b"]):
            p = run_conmon(["-c", c.cid, "-u", c.cid, "-r", c.fake_runtime(),
                            "-b", c.bundle_dir, "-p", c.pidfile, "-l",
                            "k8s-file:" + c.log_path, "-P",
                            c.conmon_pidfile] + opt, env=env, cwd=c.dir)
            assert p.returncode == 1, "%r: status %d" % (opt, p.returncode)
            assert p.stderr == "[conmon:e]: seccomp notify is not " \
                "supported\n", "%r: stderr %r" % (opt, p.stderr)
            assert not os.listdir(rtdir), "the runtime ran"
            assert not os.path.exists(c.conmon_pidfile), "a daemon started"
            assert not os.path.exists(os.path.join(c.dir, "s")), \
                "the notify socket was created"


# ---------------------------------------------------------------------------
# A real checkpoint and restore with runc and CRIU

def _criu_problem():
    """None if CRIU can checkpoint here, else why not."""
    criu = shutil.which("criu") or "/usr/sbin/criu"
    if not os.access(criu, os.X_OK):
        return "no criu (apt-get install criu)"
    try:
        p = subprocess.run([criu, "check"], capture_output=True, text=True,
                           timeout=60)
    except (OSError, subprocess.TimeoutExpired) as e:
        return "`criu check` failed: %s" % e
    if p.returncode != 0:
        errs = [l for l in (p.stderr + p.stdout).splitlines()
                if "Error" in l] or (p.stderr + p.stdout).splitlines()[-1:]
        return "`criu check` fails here (status %d): %s" % (
            p.returncode, " / ".join(e.strip() for e in errs[:3]))
    return None


@timeout(120)
def test_restore_criu_round_trip():
    """runc checkpoint of a counting container under the monitor (its
    monitor sees it end), then the monitor with --restore IMAGE: a pid
    record for the restored process, which keeps counting from where it
    was into the same log, and a normal exit file when killed."""
    need_exec("--restore")
    why = _criu_problem()
    if why:
        raise Skip(why)
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "i=0; while :; do echo tick $i; "
                  "i=$((i+1)); sleep 0.1; done"])
        c.start()
        c.runc_start()
        c.wait_log("tick 3\n")
        image = os.path.join(c.dir, "checkpoint")
        work = os.path.join(c.dir, "ckpt-work")
        os.mkdir(work)
        p = c.runc("checkpoint", "--image-path", image, "--work-path", work,
                   c.cid, check=False, timeout=60)
        if p.returncode != 0:
            dump = os.path.join(work, "dump.log")
            tail = read_file(dump)[-600:] if os.path.exists(dump) else ""
            raise Skip("runc checkpoint fails here (%d): %s %s" % (
                p.returncode, p.stderr.strip()[-300:], tail))
        old = c.container_pid
        c.wait_gone(old)
        c.wait_exit()
        last = max(int(x) for x in re.findall(
            rb"tick (\d+)\n", reconstruct(c.log(), "stdout")))
        os.unlink(c.exit_file)
        os.unlink(c.persist_exit_file)
        for name in ("attach", "ctl", "winsz"):     # as CRI-O does
            try:
                os.unlink(os.path.join(c.bundle_dir, name))
            except FileNotFoundError:
                pass
        m = c.start(extra=["--restore", image])
        assert alive(m.container_pid), "restored pid %d not alive" % (
            m.container_pid)
        c.wait_log("tick %d\n" % (last + 3))
        c.runc_kill("KILL")
        assert c.wait_exit() == "137", "exit file after restore"
        assert os.path.exists(os.path.join(c.bundle_dir, "restore.log")), \
            "CRIU's log is not in the bundle (--work-path): %r" % (
                os.listdir(c.bundle_dir))
