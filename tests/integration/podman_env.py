# SPDX-License-Identifier: Apache-2.0
"""
tests/integration/podman_env.py: a private podman for test_podman.py.

PodmanEnv() makes a directory (below the runner's per-test directory) with
its own containers.conf, storage.conf, storage root, run root, tmpdir,
events log, network config directory and a busybox image imported from the
harness's rootfs, so the machine's podman state is never used:

    vfs storage, runtime runc (through a script giving it a private
    --root), cgroupfs manager, file events backend,
    network none, k8s-file logs, ulimits nofile/nproc 1024:1024, and as
    conmon the wrapper tests/integration/podman-conmon, which records each
    invocation and execs the monitor under test ($CONMON, build/conmon).

CONTAINERS_CONF reaches the monitor (podman passes it on) and so the
`podman container cleanup` exit command, whose restarts then use the
wrapper too. `podman import` runs in a private mount namespace with a
private directory over /var/lib, since containers/image writes root's blob
info cache to /var/lib/containers/cache whatever the storage root.

Everything is removed on exit (podman rm -af, leftover processes killed,
leftover mounts below the directory detached, the directory removed).
"""

import ctypes
import fcntl
import json
import os
import re
import shlex
import shutil
import signal
import stat
import subprocess
import tempfile
import threading

import harness
from harness import Skip, wait_for, DEADLINE

HERE = os.path.dirname(os.path.abspath(__file__))
WRAPPER = os.path.join(HERE, "podman-conmon")
IMAGE = "localhost/vigil-busybox:latest"
# One podman command; generous: it only bounds a hang.
CMD_TIMEOUT = float(os.environ.get("VIGIL_IT_PODMAN_TIMEOUT", "60"))
INSTALL_TIMEOUT = 900
# Whether podman has to be installed first (decides the test time limits).
NEEDS_INSTALL = shutil.which("podman") is None

# The options a vigil build refuses until the issue that builds them lands
# ("[conmon:e]: option --X is not supported yet"): a podman scenario that
# needs one skips, naming the option and the monitor's words.
FEATURE_ISSUE = {
    "--exec": 5, "-e": 5, "--exec-attach": 5, "--exec-process-spec": 5,
    "--log-path journald": 6, "--log-size-max": 6, "--log-rotate": 6,
    "--log-global-size-max": 6, "--log-allowlist-dir": 6,
    "--sdnotify-socket": 6,
}
REFUSED_RE = re.compile(
    r"option (-[-a-z]+(?: journald)?) is not supported yet")


def refusal(text):
    """(option, the monitor's line) when text carries the monitor's
    "option X is not supported yet", else None."""
    if isinstance(text, bytes):
        text = text.decode(errors="replace")
    m = REFUSED_RE.search(text or "")
    if not m:
        return None
    line = [ln for ln in text.splitlines() if m.group(0) in ln][0].strip()
    return m.group(1), line


def skip_if_refused(text, what):
    """Skip (not fail) when the monitor refused an option of a feature
    vigil has not built yet; any other refusal is a failure."""
    r = refusal(text)
    if r and r[0] in FEATURE_ISSUE:
        raise Skip("vigil refuses %s: issue %d not landed (%s: %s)"
                   % (r[0], FEATURE_ISSUE[r[0]], what, r[1]))
    if r:
        raise AssertionError("%s: the monitor refuses %s, an option no "
                             "open issue owns: %s" % (what, r[0], r[1]))


def probe_refusal(extra):
    """Ask the monitor under test directly whether it refuses `extra`
    (like harness.refused_options: --sync, a directory as runtime, so it
    fails at once and touches only a temporary directory). Returns
    (option, line) or None."""
    d = tempfile.mkdtemp(prefix="vit-pprobe.")
    try:
        os.mkdir(os.path.join(d, "rt"))
        env = {k: v for k, v in os.environ.items()
               if k not in ("_OCI_SYNCPIPE", "_OCI_STARTPIPE",
                            "_OCI_ATTACHPIPE")}
        env["TMPDIR"] = d
        p = harness.run_conmon(
            ["-c", "vit-pprobe", "-u", "vit-pprobe", "--api-version", "1",
             "-r", os.path.join(d, "rt"), "-b", d,
             "-p", os.path.join(d, "pid"), "--sync"] + list(extra),
            cwd=d, env=env)
        return refusal(p.stderr)
    except (OSError, subprocess.TimeoutExpired):
        return None
    finally:
        shutil.rmtree(d, ignore_errors=True)


def need_feature(extra, what):
    """Skip when the monitor refuses `extra` (a feature not built yet)."""
    r = probe_refusal(extra)
    if r:
        skip_if_refused(r[1], what)


# --------------------------------------------------------------------------
# podman itself

def ensure_podman():
    """Path of podman; installs Debian's package when missing (root only,
    lock-protected), or skips saying why it cannot."""
    path = shutil.which("podman")
    if path:
        return path
    if os.geteuid() != 0:
        raise Skip("podman is not installed and we are not root "
                   "(apt-get install podman)")
    if not shutil.which("apt-get"):
        raise Skip("podman is not installed and there is no apt-get")
    os.makedirs(os.path.join(harness.REPO, "build"), exist_ok=True)
    with open(os.path.join(harness.REPO, "build", "podman-install.lock"),
              "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        path = shutil.which("podman")
        if path:
            return path
        env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
        cmd = ["apt-get", "install", "-y", "-q", "--no-install-recommends",
               "podman"]
        print("# podman is missing: %s" % " ".join(cmd), flush=True)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True, env=env,
                               timeout=INSTALL_TIMEOUT,
                               stdin=subprocess.DEVNULL)
            if p.returncode != 0:
                subprocess.run(["apt-get", "update", "-q"],
                               capture_output=True, env=env,
                               timeout=INSTALL_TIMEOUT,
                               stdin=subprocess.DEVNULL)
                p = subprocess.run(cmd, capture_output=True, text=True,
                                   env=env, timeout=INSTALL_TIMEOUT,
                                   stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise Skip("podman is not installed and `%s` did not finish "
                       "in %d s" % (" ".join(cmd), INSTALL_TIMEOUT))
        path = shutil.which("podman")
        if p.returncode != 0 or not path:
            tail = (p.stderr or p.stdout).strip().splitlines()[-1:] or [""]
            raise Skip("podman is not installed and `%s` failed (status "
                       "%d): %s" % (" ".join(cmd), p.returncode, tail[0]))
        return path


def _mounts_below(d):
    """Mount points at or below d, deepest first."""
    out = []
    prefix = d.rstrip("/") + "/"
    try:
        with open("/proc/self/mountinfo") as f:
            for line in f:
                mp = line.split()[4]
                mp = re.sub(r"\\([0-7]{3})",
                            lambda m: chr(int(m.group(1), 8)), mp)
                if mp.startswith(prefix):
                    out.append(mp)
    except OSError:
        pass
    return sorted(out, key=len, reverse=True)


_libc = ctypes.CDLL(None, use_errno=True)
MNT_DETACH = 2


def _umount_detach(path):
    _libc.umount2(os.fsencode(path), MNT_DETACH)


def special_files(d):
    """{path: 'socket'|'fifo'} of every socket and FIFO below d."""
    out = {}
    for root, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(root, n)
            try:
                m = os.lstat(p).st_mode
            except OSError:
                continue
            if stat.S_ISSOCK(m):
                out[p] = "socket"
            elif stat.S_ISFIFO(m):
                out[p] = "fifo"
    return out


def exe_of(pid):
    """readlink /proc/pid/exe, without the " (deleted)" a rebuilt binary
    gets (others rebuild build/conmon while the tests run)."""
    try:
        exe = os.readlink("/proc/%d/exe" % pid)
    except OSError:
        return None
    return exe[:-len(" (deleted)")] if exe.endswith(" (deleted)") else exe


class Invocation:
    """One monitor invocation recorded by the wrapper."""

    def __init__(self, pid, argv, env):
        self.pid = pid
        self.argv = argv
        self.env = env

    def opt(self, name):
        """Value of option name (`-n NAME` or `--x=V` forms), else None."""
        for i, a in enumerate(self.argv):
            if a == name and i + 1 < len(self.argv):
                return self.argv[i + 1]
            if a.startswith(name + "="):
                return a[len(name) + 1:]
        return None

    @property
    def is_exec(self):
        return "-e" in self.argv or "--exec" in self.argv

    def text(self):
        return " ".join(shlex.quote(a) for a in self.argv)


class Proc:
    """A podman command running in the background; its stdout (and
    stderr, merged unless stderr=False) collected by a thread."""

    def __init__(self, env, argv, stdin=subprocess.DEVNULL, merge=True,
                 **kw):
        self.argv = argv
        self.p = subprocess.Popen(
            argv, stdin=stdin, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT if merge else subprocess.PIPE,
            env=env.env, cwd=env.dir, start_new_session=True, **kw)
        env.procs.append(self)
        self.buf = bytearray()
        self.err = bytearray()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self._pump,
                                         args=(self.p.stdout, self.buf),
                                         daemon=True)]
        if not merge:
            self.threads.append(threading.Thread(
                target=self._pump, args=(self.p.stderr, self.err),
                daemon=True))
        for t in self.threads:
            t.start()

    def _pump(self, f, buf):
        while True:
            b = f.read1(65536)
            if not b:
                return
            with self.lock:
                buf += b

    def output(self):
        with self.lock:
            return bytes(self.buf)

    def wait_output(self, needle, timeout=DEADLINE, what=None):
        nb = needle.encode() if isinstance(needle, str) else needle

        def seen():
            return nb in self.output()
        try:
            wait_for(seen, timeout, what or "%r from %s" % (
                needle, " ".join(self.argv[-4:])))
        except AssertionError as e:
            raise AssertionError("%s; its output so far: %r%s" % (
                e, self.output()[-300:],
                "" if self.p.poll() is None else
                " (it exited with status %d)" % self.p.returncode))

    def wait(self, timeout=CMD_TIMEOUT):
        try:
            rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("%s still running after %.0f s; output: %r"
                                 % (" ".join(self.argv[-6:]), timeout,
                                    self.output()[-300:]))
        for t in self.threads:
            t.join(10)
        return rc

    def kill(self):
        if self.p.poll() is None:
            try:
                os.killpg(self.p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                self.p.wait(5)
            except subprocess.TimeoutExpired:
                pass


class PodmanEnv:
    def __init__(self):
        self.podman = ensure_podman()
        self.rootfs = harness.ensure_rootfs()
        self.conmon = os.path.realpath(harness.CONMON)
        base = os.environ.get("VIGIL_IT_TMP")
        if base:
            os.makedirs(base, exist_ok=True)
        self.dir = tempfile.mkdtemp(prefix="podman.", dir=base or None)
        self.procs = []
        self.extra_pids = []
        self._closers = []
        d = self.dir
        self.root = os.path.join(d, "root")
        self.runroot = os.path.join(d, "runroot")
        self.tmp = os.path.join(d, "tmp")          # podman --tmpdir
        self.bindir = os.path.join(d, "bin")
        self.wraplog = os.path.join(d, "wraplog")
        self.netdir = os.path.join(d, "net")
        self.varlib = os.path.join(d, "varlib")    # /var/lib for import
        self.tmpfiles = os.path.join(d, "tmpfiles")  # $TMPDIR
        self.shared = os.path.join(d, "shared")    # bind-mounted at /shared
        for x in (self.root, self.runroot, self.tmp, self.bindir,
                  self.wraplog, self.netdir, self.varlib, self.tmpfiles,
                  self.shared):
            os.makedirs(x, exist_ok=True)
        # runc with a private state directory: `podman --runtime runc`
        # resolves "runc" through containers.conf to this script, also in
        # the exit command (podman has no config key for runtime flags,
        # and --runtime-flag does not reach `podman container cleanup`)
        self.runc_root = os.path.join(d, "runc")
        self.runc = os.path.join(self.bindir, "runc")
        with open(self.runc, "w") as f:
            f.write("#!/bin/sh\n# runc with test_podman.py's private state "
                    "directory\nexec %s --root %s \"$@\"\n"
                    % (shlex.quote(harness.RUNC), shlex.quote(self.runc_root)))
        os.chmod(self.runc, 0o755)
        self.wrapper = os.path.join(self.bindir, "conmon")
        shutil.copyfile(WRAPPER, self.wrapper)
        os.chmod(self.wrapper, 0o755)
        with open(os.path.join(self.bindir, "wrapper.env"), "w") as f:
            f.write("VIGIL_WRAPPED=%s\nVIGIL_WRAPLOG=%s\n"
                    % (shlex.quote(self.conmon), shlex.quote(self.wraplog)))
            # make measure-seccomp: podman gives the monitor no
            # environment of ours, so its record file is named here
            measure = os.environ.get("VIGIL_SECCOMP_MEASURE")
            if measure:
                f.write("export VIGIL_SECCOMP_MEASURE=%s\n"
                        % shlex.quote(measure))
        self.containers_conf = os.path.join(d, "containers.conf")
        self.storage_conf = os.path.join(d, "storage.conf")
        self.registries_conf = os.path.join(d, "registries.conf")
        self.events_log = os.path.join(d, "events.log")
        q = json.dumps      # TOML basic strings == JSON strings here
        with open(self.containers_conf, "w") as f:
            f.write("""# test_podman.py: a private podman (podman_env.py)
[containers]
log_driver = "k8s-file"
default_ulimits = ["nofile=1024:1024", "nproc=1024:1024"]
netns = "none"

[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = %s
conmon_path = [%s]
tmp_dir = %s
lock_type = "file"
image_copy_tmp_dir = %s

[engine.runtimes]
runc = [%s]

[network]
network_config_dir = %s
""" % (q(self.events_log), q(self.wrapper), q(self.tmp),
                q(self.tmpfiles), q(self.runc), q(self.netdir)))
        with open(self.storage_conf, "w") as f:
            f.write('[storage]\ndriver = "vfs"\ngraphroot = %s\n'
                    'runroot = %s\n' % (q(self.root), q(self.runroot)))
        with open(self.registries_conf, "w") as f:
            f.write("# no registries: images are imported locally\n")
        self.env = dict(os.environ,
                        CONTAINERS_CONF=self.containers_conf,
                        CONTAINERS_STORAGE_CONF=self.storage_conf,
                        CONTAINERS_REGISTRIES_CONF=self.registries_conf,
                        TMPDIR=self.tmpfiles)
        for k in ("_OCI_SYNCPIPE", "_OCI_STARTPIPE", "_OCI_ATTACHPIPE",
                  "NOTIFY_SOCKET"):
            self.env.pop(k, None)
        try:
            self._import_image()
        except BaseException:
            self.close()
            raise

    # ---- commands

    def cmd(self, *args):
        return [self.podman, "--root", self.root, "--runroot", self.runroot,
                "--tmpdir", self.tmp, "--storage-driver", "vfs",
                "--runtime", "runc", "--cgroup-manager", "cgroupfs",
                "--events-backend", "file", "--conmon", self.wrapper,
                "--network-config-dir", self.netdir] + [str(a) for a in args]

    def run(self, *args, timeout=CMD_TIMEOUT, input=None, check=False,
            merge=False, feature=None):
        """Run `podman ARGS` to completion; CompletedProcess with bytes
        output (stderr merged into stdout with merge=True). check=True
        fails the test on a non-zero status; feature="what" first skips
        when the output carries a refusal of a feature not built yet."""
        argv = self.cmd(*args)
        try:
            p = subprocess.run(
                argv, input=input, stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT if merge else subprocess.PIPE,
                stdin=subprocess.DEVNULL if input is None else None,
                timeout=timeout, env=self.env, cwd=self.dir)
        except subprocess.TimeoutExpired as e:
            raise AssertionError("`podman %s` gave no answer in %.0f s "
                                 "(output so far %r)" % (
                                     " ".join(map(str, args)), timeout,
                                     (e.output or b"")[-300:]))
        if p.returncode != 0 and feature:
            skip_if_refused(p.stdout + (p.stderr or b""), feature)
        if check and p.returncode != 0:
            raise AssertionError("`podman %s` failed with status %d: %s" % (
                " ".join(map(str, args)), p.returncode,
                (p.stderr or p.stdout).decode(errors="replace").strip()
                [-800:]))
        return p

    def start(self, *args, stdin=subprocess.DEVNULL, merge=True, **kw):
        """`podman ARGS` in the background (Proc)."""
        return Proc(self, self.cmd(*args), stdin=stdin, merge=merge, **kw)

    def inspect(self, name, fmt):
        return self.run("inspect", "--format", fmt, name,
                        check=True).stdout.decode().strip()

    def state(self, name):
        return json.loads(self.inspect(name, "{{json .State}}"))

    def running(self, name):
        p = self.run("inspect", "--format", "{{.State.Running}}", name)
        return p.returncode == 0 and p.stdout.strip() == b"true"

    def log_path(self, name):
        return self.inspect(name, "{{.HostConfig.LogConfig.Path}}")

    def volume(self):
        """-v argument for self.shared at /shared."""
        return "%s:/shared" % self.shared

    def touch(self, name):
        with open(os.path.join(self.shared, name), "w"):
            pass

    # ---- the monitor

    def monitor_pid(self, name):
        """ConmonPid of a running container, asserted to be the monitor
        under test (readlink /proc/PID/exe)."""
        pid = int(self.inspect(name, "{{.State.ConmonPid}}") or 0)
        assert pid > 0, "podman reports no monitor (ConmonPid %d) for %s" \
            % (pid, name)
        exe = exe_of(pid)
        assert exe == self.conmon, (
            "the monitor of %s (ConmonPid %d) runs %s, not %s: podman did "
            "not use the monitor under test" % (name, pid, exe, self.conmon))
        return pid

    def invocations(self):
        """Every monitor invocation the wrapper recorded, oldest first."""
        out = []
        for n in os.listdir(self.wraplog):
            if not n.endswith(".argv"):
                continue
            pid = int(n[:-5])
            path = os.path.join(self.wraplog, n)
            with open(path, "rb") as f:
                raw = f.read()
            argv = [a.decode(errors="replace")
                    for a in raw.split(b"\0")[:-1]]
            try:
                env = harness.read_file(path[:-5] + ".env")
            except OSError:
                env = ""
            out.append((os.stat(path).st_mtime_ns,
                        Invocation(pid, argv, env)))
        return [i for _t, i in sorted(out, key=lambda x: x[0])]

    def monitors_of(self, name, exec_=False):
        """The recorded invocations for container `name` (-n), create/run
        ones or (exec_=True) exec sessions."""
        return [i for i in self.invocations()
                if i.opt("-n") == name and i.is_exec == exec_]

    def assert_monitored(self, name, count=None, exec_=False):
        """Assert that podman ran the monitor under test (through the
        wrapper) for `name`, `count` times if given. Returns them."""
        inv = self.monitors_of(name, exec_)
        kind = "exec session" if exec_ else "container"
        every = ["%s (pid %d)" % (i.opt("-n"), i.pid)
                 for i in self.invocations()]
        assert inv, ("podman started no monitor through the wrapper for "
                     "%s %s (recorded: %s): it used another conmon"
                     % (kind, name, ", ".join(every) or "none"))
        if count is not None:
            assert len(inv) == count, (
                "%d monitor invocation(s) for %s %s, expected %d:\n%s" % (
                    len(inv), kind, name, count,
                    "\n".join(i.text() for i in inv)))
        return inv

    def leftovers(self):
        """Live processes that mention the private directory (monitors,
        exit commands, containers), with their command lines."""
        return {p: " ".join(harness.proc_cmdline(p))[:200]
                for p in harness.procs_mentioning(self.dir)}

    # ---- set-up and clean-up

    def _import_image(self):
        tar = os.path.join(self.dir, "busybox.tar")
        subprocess.run(["tar", "-C", self.rootfs, "-cf", tar, "."],
                       check=True, capture_output=True, timeout=120)
        script = 'mount --bind "$1" /var/lib || exit 99; shift; exec "$@"'
        argv = ["unshare", "--mount", "--propagation", "private", "sh", "-c",
                script, "sh", self.varlib] + self.cmd("import", tar, IMAGE)
        try:
            p = subprocess.run(argv, capture_output=True, timeout=CMD_TIMEOUT,
                               env=self.env, cwd=self.dir,
                               stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired:
            raise AssertionError("podman import gave no answer in %.0f s"
                                 % CMD_TIMEOUT)
        finally:
            os.unlink(tar)
        if p.returncode == 99:
            raise Skip("cannot bind-mount a private /var/lib for podman "
                       "import (root's blob info cache would land in the "
                       "machine's /var/lib/containers): %s"
                       % p.stderr.decode(errors="replace").strip())
        assert p.returncode == 0, "podman import of %s failed (%d): %s" % (
            self.rootfs, p.returncode,
            p.stderr.decode(errors="replace").strip()[-800:])

    def on_cleanup(self, fn):
        self._closers.append(fn)

    def close(self):
        for fn in self._closers:
            try:
                fn()
            except Exception:
                pass
        for pr in self.procs:
            pr.kill()
        try:
            subprocess.run(self.cmd("rm", "-af", "-t", "0"),
                           capture_output=True, timeout=CMD_TIMEOUT,
                           env=self.env, cwd=self.dir,
                           stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired):
            pass
        try:
            left = os.listdir(self.runc_root)
        except OSError:
            left = []
        for cid in left:
            subprocess.run([harness.RUNC, "--root", self.runc_root, "delete",
                            "-f", cid], capture_output=True, timeout=30)
        for p in self.extra_pids:
            harness.kill_quietly(p)
        harness.kill_leftovers([self.dir])
        for mp in _mounts_below(self.dir):
            _umount_detach(mp)
        if os.environ.get("VIGIL_IT_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
        return False
