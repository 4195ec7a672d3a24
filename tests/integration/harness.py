# SPDX-License-Identifier: Apache-2.0
"""
tests/integration/harness.py: drives a monitor (conmon or vigil) the way a
container manager does, with real runc and a busybox rootfs. Python 3
standard library only. Never touches the machine's /run/runc or
/var/run/crio: every test gets a private runc root (--runtime-arg --root)
and socket directory (--socket-dir-path, when the monitor accepts it; see
accepts_socket_dir()).

A test is a function test_<name>() in a tests/integration/test_*.py file:

    def test_exit_code_3():
        with Case() as c:
            c.bundle(["/bin/sh", "-c", "exit 3"])
            c.start()
            c.runc_start()
            assert c.wait_exit() == "3"

Case() cleans up (runc delete -f, kill every process it started or that
mentions its directory) even when the test fails.
"""

import array
import ctypes
import ctypes.util
import fcntl
import hashlib
import json
import os
import re
import select
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
CONMON = os.path.abspath(os.environ.get("CONMON") or
                         os.path.join(REPO, "build", "conmon"))
RUNC = os.environ.get("RUNC") or shutil.which("runc") or "/usr/sbin/runc"
BUSYBOX = os.environ.get("BUSYBOX") or "/bin/busybox"
ROOTFS = os.path.join(REPO, "build", "test-rootfs")
FAKE_RUNTIME = os.path.join(HERE, "fake-runtime")

# Default deadlines (seconds). Generous: they only bound a hang, they are
# never a synchronisation device.
DEADLINE = float(os.environ.get("VIGIL_IT_DEADLINE", "20"))
POLL = 0.01

K8S_RE = re.compile(rb"^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{9}[+-]\d\d:\d\d) "
                    rb"(stdout|stderr) ([FP]) (.*)$", re.S)


class Skip(Exception):
    """Raised by a test that cannot run here (reason in the message)."""


# --------------------------------------------------------------------------
# Which monitor is under test

_version_cache = None


def conmon_version():
    """(stdout, stderr, status) of `$CONMON --version`, cached."""
    global _version_cache
    if _version_cache is None:
        try:
            p = subprocess.run([CONMON, "--version"], capture_output=True,
                               timeout=10)
            _version_cache = (p.stdout.decode(errors="replace"),
                              p.stderr.decode(errors="replace"),
                              p.returncode)
        except (OSError, subprocess.TimeoutExpired) as e:
            _version_cache = ("", str(e), -1)
    return _version_cache


def is_reference():
    """True when CONMON is Debian's conmon 2.1.6 (tests marked ref_differs
    are skipped for it). VIGIL_IT_REFERENCE=0/1 overrides the detection."""
    forced = os.environ.get("VIGIL_IT_REFERENCE")
    if forced in ("0", "1"):
        return forced == "1"
    return conmon_version()[0].startswith("conmon version 2.1.6")


def accepts_socket_dir():
    """Whether the monitor accepts --socket-dir-path. Managers pass it
    (podman always) and it keeps the attach symlink out of the machine's
    /var/run/crio, so the tests pass it whenever the monitor takes it; a
    vigil build without attach support refuses it ("not supported yet").
    Probed once with a --sync run whose runtime is a directory (fails at
    once, touches only a temporary directory); VIGIL_IT_SOCKET_DIR=0/1
    overrides (the runner sets it for its test processes)."""
    forced = os.environ.get("VIGIL_IT_SOCKET_DIR")
    if forced in ("0", "1"):
        return forced == "1"
    d = tempfile.mkdtemp(prefix="vit-probe.")
    try:
        os.mkdir(os.path.join(d, "rt"))
        os.mkdir(os.path.join(d, "sock"))
        p = run_conmon(["-c", "vit-probe", "-u", "vit-probe",
                        "-r", os.path.join(d, "rt"), "-b", d,
                        "-p", os.path.join(d, "pid"), "-l", "none",
                        "--socket-dir-path", os.path.join(d, "sock"),
                        "--sync"], cwd=d)
        ok = "--socket-dir-path is not supported" not in p.stderr
    except (OSError, subprocess.TimeoutExpired):
        ok = True
    finally:
        shutil.rmtree(d, ignore_errors=True)
    os.environ["VIGIL_IT_SOCKET_DIR"] = "1" if ok else "0"
    return ok


# The options of the attach broker (issue 4: attach socket, stdin,
# terminal, ctl/winsz). A vigil build without it refuses each with
# "option --X is not supported yet"; the attach, terminal and ctl tests
# then skip (need_attach) instead of failing.
ATTACH_OPTIONS = ("--socket-dir-path", "--terminal", "--stdin",
                  "--leave-stdin-open", "--full-attach")
_LONG = {"-t": "--terminal", "-i": "--stdin"}
_REFUSED_RE = re.compile(r"option (--[a-z-]+) is not supported yet")


def refused_options():
    """The ATTACH_OPTIONS the monitor refuses ("option --X is not
    supported yet"), as a tuple. Probed once, like accepts_socket_dir():
    --sync runs whose runtime is a directory (they fail at once, touch
    only a temporary directory), dropping each refused option in turn,
    since the monitor names only the first. VIGIL_IT_ATTACH_REFUSED (a
    comma-separated list, empty for none) overrides; the runner sets it
    for its test processes."""
    forced = os.environ.get("VIGIL_IT_ATTACH_REFUSED")
    if forced is not None:
        return tuple(o for o in forced.split(",") if o)
    refused = []
    d = tempfile.mkdtemp(prefix="vit-probe.")
    try:
        os.mkdir(os.path.join(d, "rt"))
        os.mkdir(os.path.join(d, "sock"))
        for _ in range(len(ATTACH_OPTIONS) + 1):
            opts = []
            for o in ATTACH_OPTIONS:
                if o in refused:
                    continue
                opts += [o, os.path.join(d, "sock")] \
                    if o == "--socket-dir-path" else [o]
            if not opts:
                break
            env = {k: v for k, v in os.environ.items()
                   if k not in ("_OCI_SYNCPIPE", "_OCI_STARTPIPE",
                                "_OCI_ATTACHPIPE")}
            env["TMPDIR"] = d       # conmon's console socket (spec 6.2)
            p = run_conmon(["-c", "vit-probe", "-u", "vit-probe",
                            "-r", os.path.join(d, "rt"), "-b", d,
                            "-p", os.path.join(d, "pid"), "-l", "none",
                            "--sync"] + opts, cwd=d, env=env)
            m = _REFUSED_RE.search(p.stderr)
            if not m or m.group(1) not in ATTACH_OPTIONS or \
                    m.group(1) in refused:
                break
            refused.append(m.group(1))
    except (OSError, subprocess.TimeoutExpired):
        pass
    finally:
        shutil.rmtree(d, ignore_errors=True)
    os.environ["VIGIL_IT_ATTACH_REFUSED"] = ",".join(refused)
    return tuple(refused)


def need_attach(*options):
    """Skip the calling test unless the monitor accepts --socket-dir-path
    (which every attach test uses: the CRI-O layout of spec 7.1) and each
    of options ("-t", "-i", "--leave-stdin-open", "--full-attach")."""
    want = ["--socket-dir-path"] + [_LONG.get(o, o) for o in options]
    refused = [o for o in want if o in refused_options()]
    if refused:
        raise Skip("the monitor refuses %s (\"option %s is not supported "
                   "yet\"): attach broker, issue 4, not there yet"
                   % (", ".join(refused), refused[0]))
    if not accepts_socket_dir():
        raise Skip("tests run without --socket-dir-path "
                   "(VIGIL_IT_SOCKET_DIR=0)")


# The options of exec sessions and restore (issue 5). A vigil build
# without them refuses each with "option --X is not supported yet"; the
# exec and restore tests then skip (need_exec) instead of failing.
# --log-global-size-max is probed with them: CRI-O's exec-sync passes it,
# and test_row61 leaves it out while the monitor refuses it.
EXEC_OPTIONS = ("--exec", "--exec-attach", "--restore",
                "--log-global-size-max")


def exec_refused():
    """The EXEC_OPTIONS the monitor refuses ("option --X is not supported
    yet"), as a tuple. Probed once, like refused_options(): one --sync
    run per option (with what it needs: --exec-process-spec, and
    --exec-attach with --exec --api-version) whose runtime is a
    directory, so each fails at once and touches only a temporary
    directory. An --exec-attach probe refused for --exec counts
    --exec-attach as refused too. VIGIL_IT_EXEC_REFUSED (comma-separated,
    empty for none) overrides; the runner sets it for its test
    processes."""
    forced = os.environ.get("VIGIL_IT_EXEC_REFUSED")
    if forced is not None:
        return tuple(o for o in forced.split(",") if o)
    refused = []
    d = tempfile.mkdtemp(prefix="vit-probe.")
    try:
        os.mkdir(os.path.join(d, "rt"))
        spec = os.path.join(d, "process.json")
        with open(spec, "w") as f:
            f.write('{"args": ["/bin/true"], "cwd": "/"}')
        env = {k: v for k, v in os.environ.items()
               if k not in ("_OCI_SYNCPIPE", "_OCI_STARTPIPE",
                            "_OCI_ATTACHPIPE")}
        env["TMPDIR"] = d
        probes = (("--exec", ["-e", "--exec-process-spec", spec]),
                  ("--exec-attach", ["-e", "--exec-attach", "--api-version",
                                     "--exec-process-spec", spec]),
                  ("--restore", ["--restore", os.path.join(d, "img")]),
                  ("--log-global-size-max", ["--log-global-size-max",
                                             "16777216"]))
        for opt, extra in probes:
            p = run_conmon(["-c", "vit-probe", "-u", "vit-probe",
                            "-r", os.path.join(d, "rt"), "-b", d,
                            "-p", os.path.join(d, "pid"), "-l", "none",
                            "--sync"] + extra, cwd=d, env=env)
            m = _REFUSED_RE.search(p.stderr)
            if m and m.group(1) in EXEC_OPTIONS:
                for o in (m.group(1), opt):
                    if o not in refused:
                        refused.append(o)
    except (OSError, subprocess.TimeoutExpired):
        pass
    finally:
        shutil.rmtree(d, ignore_errors=True)
    os.environ["VIGIL_IT_EXEC_REFUSED"] = ",".join(refused)
    return tuple(refused)


def need_exec(*options):
    """Skip the calling test unless the monitor accepts each of options
    (default --exec; "--exec-attach" implies --exec): the exec and
    restore options of issue 5."""
    want = list(options) or ["--exec"]
    if "--exec-attach" in want and "--exec" not in want:
        want.insert(0, "--exec")
    refused = [o for o in want if o in exec_refused()]
    if refused:
        raise Skip("the monitor refuses %s (\"option %s is not supported "
                   "yet\"): exec/restore, issue 5, not there yet"
                   % (", ".join(refused), refused[0]))


def ref_differs(reason):
    """Decorator: the test checks behaviour that conmon 2.1.6 legitimately
    lacks (spec 16 or a vigil decision); skipped for the reference only."""
    def mark(fn):
        fn.ref_differs = reason
        return fn
    return mark


def timeout(seconds):
    """Decorator: a per-test time limit other than the runner's default."""
    def mark(fn):
        fn.timeout = seconds
        return fn
    return mark


# --------------------------------------------------------------------------
# Polling with deadlines

def wait_for(pred, timeout=DEADLINE, what="condition", interval=POLL):
    """Poll pred() until it returns a true value; return that value.
    Fails the test with `what` after `timeout` seconds."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v:
            return v
        if time.monotonic() > end:
            raise AssertionError("timed out after %.1f s waiting for %s"
                                 % (timeout, what))
        time.sleep(interval)


def holds_for(pred, seconds, what="condition", interval=POLL):
    """Assert pred() stays true for `seconds` (used only to check that
    something does NOT happen, e.g. a daemon that must survive a signal)."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if not pred():
            raise AssertionError("%s stopped holding" % what)
        time.sleep(interval)


def wait_file(path, timeout=DEADLINE):
    wait_for(lambda: os.path.lexists(path), timeout, "file %s" % path)
    return path


def read_file(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def sha256_file(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


# --------------------------------------------------------------------------
# inotify through ctypes (libc), for the ordering tests

IN_CREATE = 0x100
IN_MOVED_TO = 0x80
IN_CLOSE_WRITE = 0x8
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6",
                    use_errno=True)


class Inotify:
    """A directory watch. wait(name, mask) returns when an event with that
    name and one of the mask bits has been read (or fails at the deadline).
    Events are read as they come, so a watch set up before the action
    sees exactly when the entry appeared."""

    def __init__(self, directory, mask=IN_CREATE | IN_MOVED_TO):
        self.fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self.fd < 0:
            e = ctypes.get_errno()
            raise OSError(e, "inotify_init1: " + os.strerror(e))
        wd = _libc.inotify_add_watch(self.fd, os.fsencode(directory),
                                     mask)
        if wd < 0:
            e = ctypes.get_errno()
            os.close(self.fd)
            raise OSError(e, "inotify_add_watch: " + os.strerror(e))
        self.events = []

    def _read(self, timeout):
        r, _, _ = select.select([self.fd], [], [], max(timeout, 0))
        if not r:
            return
        try:
            buf = os.read(self.fd, 65536)
        except BlockingIOError:
            return
        off = 0
        while off + 16 <= len(buf):
            _wd, mask, _cookie, ln = struct.unpack_from("iIII", buf, off)
            name = buf[off + 16:off + 16 + ln].rstrip(b"\0")
            self.events.append((mask, os.fsdecode(name)))
            off += 16 + ln

    def wait(self, name, mask=IN_CREATE | IN_MOVED_TO, timeout=DEADLINE):
        end = time.monotonic() + timeout
        while True:
            for m, n in self.events:
                if n == name and m & mask:
                    return m
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError("inotify: no event for %r within "
                                     "%.1f s (saw %r)" %
                                     (name, timeout, self.events))
            self._read(min(left, 0.5))

    def seen(self, name, mask=IN_CREATE | IN_MOVED_TO):
        """Without waiting: whether an event with that name and one of the
        mask bits has been read, after reading what is queued now."""
        self._read(0)
        return any(n == name and m & mask for m, n in self.events)

    def close(self):
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self):
        return self

    def __exit__(self, *a):
        self.close()


# --------------------------------------------------------------------------
# /proc helpers

def proc_status(pid):
    """/proc/<pid>/status as a dict of str -> str (None if gone)."""
    try:
        text = read_file("/proc/%d/status" % pid)
    except (FileNotFoundError, ProcessLookupError):
        return None
    d = {}
    for line in text.splitlines():
        k, _, v = line.partition(":")
        d[k] = v.strip()
    return d


def proc_stat(pid):
    """(state, ppid, pgrp) from /proc/<pid>/stat, or None."""
    try:
        s = read_file("/proc/%d/stat" % pid)
    except OSError:
        return None
    rest = s[s.rindex(")") + 2:].split()
    return rest[0], int(rest[1]), int(rest[2])


def proc_cmdline(pid):
    try:
        raw = read_file("/proc/%d/cmdline" % pid, "rb")
    except OSError:
        return None
    return [os.fsdecode(a) for a in raw.split(b"\0")[:-1]] if raw else []


def _under_valgrind(pid):
    """A child forked by a monitor running under valgrind (its title is
    written to the guest's memory, so /proc/PID/cmdline keeps
    valgrind's; test_valgrind.py)."""
    try:
        return os.path.basename(os.readlink("/proc/%d/exe" % pid)
                                ).startswith("memcheck")
    except OSError:
        return False


def proc_cmdline_raw(pid):
    try:
        return read_file("/proc/%d/cmdline" % pid, "rb")
    except OSError:
        return b""


def signal_handled(pid, sig):
    """True if pid catches or blocks sig (/proc/<pid>/status SigCgt,
    SigBlk): then a signal sent now reaches the program, not the default
    action."""
    st = proc_status(pid)
    if not st:
        return False
    bit = 1 << (int(sig) - 1)
    return bool((int(st["SigCgt"], 16) | int(st["SigBlk"], 16)) & bit)


def can_lower_oom_score():
    """Whether a process here may write -1000 to its oom_score_adj (needs
    CAP_SYS_RESOURCE, which some sandboxes withhold even from root)."""
    p = subprocess.run(["/bin/sh", "-c",
                        "echo -1000 > /proc/self/oom_score_adj"],
                       capture_output=True)
    return p.returncode == 0


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def alive(pid):
    """True if pid exists and is not a zombie."""
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def children(pid):
    """Live children of pid, found through /proc/*/stat."""
    out = []
    for p in all_pids():
        st = proc_stat(p)
        if st and st[1] == pid and st[0] not in ("Z", "X"):
            out.append(p)
    return sorted(out)


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        kids = children(todo.pop())
        out += kids
        todo += kids
    return out


def pipe_size(pid, fd):
    """F_GETPIPE_SZ of a process's pipe fd, through /proc/<pid>/fd."""
    p = os.open("/proc/%d/fd/%d" % (pid, fd), os.O_WRONLY | os.O_NONBLOCK)
    try:
        return fcntl.fcntl(p, fcntl.F_GETPIPE_SZ)
    finally:
        os.close(p)


def proc_fds(pid):
    """{fd: readlink target} of a process."""
    d = "/proc/%d/fd" % pid
    out = {}
    try:
        names = os.listdir(d)
    except OSError:
        return out
    for n in names:
        try:
            out[int(n)] = os.readlink(os.path.join(d, n))
        except OSError:
            pass
    return out


def procs_mentioning(needle, exclude=()):
    """Pids (not us, not zombies) whose cmdline, cwd or cgroup mentions
    needle: the processes a test left behind."""
    me = os.getpid()
    nb = os.fsencode(needle)
    out = []
    for p in all_pids():
        if p == me or p in exclude:
            continue
        st = proc_stat(p)
        if not st or st[0] in ("Z", "X"):
            continue
        hit = nb in proc_cmdline_raw(p)
        if not hit:
            try:
                hit = needle in os.readlink("/proc/%d/cwd" % p)
            except OSError:
                pass
        if not hit:
            try:
                hit = needle in read_file("/proc/%d/cgroup" % p)
            except OSError:
                pass
        if hit:
            out.append(p)
    return out


def kill_quietly(pid, sig=signal.SIGKILL):
    try:
        os.kill(pid, sig)
    except (ProcessLookupError, PermissionError):
        pass


# --------------------------------------------------------------------------
# The busybox rootfs, built once and cached under build/test-rootfs

# Host programs copied into the rootfs with their shared libraries (ldd):
# bash, and coreutils stty for the terminal tests (busybox's `stty size`
# prints "24 80" on a pty whose size was never set, so it cannot tell an
# applied size from none). {path in the rootfs: host path}.
ROOTFS_HOST_PROGRAMS = {"/bin/bash": "/bin/bash",
                        "/usr/local/bin/stty": "/usr/bin/stty"}
# What the terminal tests call (absolute: busybox's stty is first in PATH).
BASH = "/bin/bash"
STTY = "/usr/local/bin/stty"
# Bumped whenever the rootfs content changes; an older tree is rebuilt.
ROOTFS_VERSION = "2"


def _rootfs_current(marker):
    try:
        return ("version %s\n" % ROOTFS_VERSION) in read_file(marker)
    except OSError:
        return False


def _ldd_paths(prog):
    """Absolute paths of the shared libraries (and the loader) prog
    needs, from ldd's output; [] for a static program."""
    p = subprocess.run(["ldd", prog], capture_output=True, text=True)
    out = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if "=>" in line:
            path = line.split("=>", 1)[1].split("(")[0].strip()
        else:
            path = line.split("(")[0].strip()
        if path.startswith("/"):
            out.append(path)
    return out


def _copy_host_program(root, dst, src):
    """Copy host program src to root+dst, with every library ldd names at
    its own path (the dynamic loader's paths are absolute). Returns False
    if src is missing."""
    if not os.access(src, os.X_OK):
        return False
    for lib in _ldd_paths(src):
        target = os.path.join(root, lib.lstrip("/"))
        if os.path.exists(target):
            continue
        os.makedirs(os.path.dirname(target), exist_ok=True)
        shutil.copy2(lib, target)   # follows links: the real file
    target = os.path.join(root, dst.lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    if os.path.lexists(target):
        os.unlink(target)           # e.g. a busybox applet link
    shutil.copy2(src, target)
    os.chmod(target, 0o755)
    return True


def rootfs_has(path):
    """Whether the test rootfs has path (e.g. STTY), which a host without
    the program could not provide."""
    return os.path.exists(os.path.join(ensure_rootfs(), path.lstrip("/")))


def ensure_rootfs():
    """Build build/test-rootfs if missing or older than ROOTFS_VERSION
    (lock-protected, atomic rename): busybox with every applet, plus
    ROOTFS_HOST_PROGRAMS where the host has them."""
    marker = os.path.join(ROOTFS, ".vigil-rootfs")
    if _rootfs_current(marker):
        return ROOTFS
    os.makedirs(os.path.dirname(ROOTFS), exist_ok=True)
    with open(ROOTFS + ".lock", "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        if _rootfs_current(marker):
            return ROOTFS
        if not os.access(BUSYBOX, os.X_OK):
            raise Skip("no %s (apt-get install busybox-static)" % BUSYBOX)
        tmp = tempfile.mkdtemp(prefix="test-rootfs.",
                               dir=os.path.dirname(ROOTFS))
        for d in ("bin", "sbin", "usr/bin", "usr/sbin", "etc", "proc", "sys",
                  "dev", "tmp", "root", "run", "var"):
            os.makedirs(os.path.join(tmp, d), exist_ok=True)
        shutil.copy2(BUSYBOX, os.path.join(tmp, "bin", "busybox"))
        os.chmod(os.path.join(tmp, "bin", "busybox"), 0o755)
        # `busybox --list-full` names each applet with its directory;
        # same result as `busybox --install -s`, without a chroot.
        full = subprocess.run([BUSYBOX, "--list-full"], capture_output=True,
                              text=True)
        names = full.stdout.split() if full.returncode == 0 else [
            "bin/" + n for n in subprocess.run(
                [BUSYBOX, "--list"], capture_output=True,
                text=True, check=True).stdout.split()]
        for rel in names:
            dst = os.path.join(tmp, rel)
            if rel == "bin/busybox" or os.path.lexists(dst):
                continue
            os.makedirs(os.path.dirname(dst), exist_ok=True)
            os.symlink("/bin/busybox", dst)
        extras = [dst for dst, src in sorted(ROOTFS_HOST_PROGRAMS.items())
                  if _copy_host_program(tmp, dst, src)]
        with open(os.path.join(tmp, "etc", "passwd"), "w") as f:
            f.write("root:x:0:0:root:/root:/bin/sh\n"
                    "nobody:x:65534:65534:nobody:/:/bin/false\n")
        with open(os.path.join(tmp, "etc", "group"), "w") as f:
            f.write("root:x:0:\nnogroup:x:65534:\n")
        os.chmod(os.path.join(tmp, "tmp"), 0o1777)
        os.chmod(tmp, 0o755)
        with open(os.path.join(tmp, ".vigil-rootfs"), "w") as f:
            f.write("busybox rootfs for tests/integration\n"
                    "version %s\nhost programs: %s\n"
                    % (ROOTFS_VERSION, " ".join(extras) or "none"))
        # Move an older tree aside first, so the name is never missing
        # for long and a container still running on it keeps its files
        # until the removal.
        old = None
        if os.path.lexists(ROOTFS):
            old = tempfile.mkdtemp(prefix="test-rootfs.old.",
                                   dir=os.path.dirname(ROOTFS))
            os.rename(ROOTFS, os.path.join(old, "r"))
        os.rename(tmp, ROOTFS)
        if old:
            shutil.rmtree(old, ignore_errors=True)
    return ROOTFS


# The GNUmakefile's switches by their part of a variant directory's name.
VARIANT_SWITCHES = {"glibc": "STATIC=0", "sanitize": "SANITIZE=1",
                    "valgrind": "VALGRIND=1",
                    "faults": "FAULTS=1", "analyze": "ANALYZE=1",
                    "audit": "SECCOMP_AUDIT=1"}


def variant_conmon(*make_vars):
    """The monitor of a build variant of this tree, e.g.
    variant_conmon("FAULTS=1") -> build/variant-faults/conmon, built with
    make (once, under a lock) when CONMON is this tree's build/conmon.
    When CONMON is one of this tree's variants (build/variant-sanitize/
    conmon under `make SANITIZE=1 check`), its switches are kept:
    build/variant-sanitize-faults/conmon. Against another monitor (the
    reference conmon) the test is skipped: a variant exists only for
    vigil."""
    build = os.path.join(REPO, "build")
    here = os.path.dirname(CONMON)
    kept = []
    if os.path.basename(CONMON) == "conmon" and \
            os.path.dirname(here) == build and \
            os.path.basename(here).startswith("variant-"):
        parts = os.path.basename(here)[len("variant-"):].split("-")
        kept = [VARIANT_SWITCHES[x] for x in parts if x in VARIANT_SWITCHES]
        if len(kept) != len(parts):
            kept = None
    elif CONMON != os.path.join(build, "conmon"):
        kept = None
    if kept is None:
        raise Skip("CONMON is not this tree's build/conmon; the %s "
                   "variant belongs to vigil" % " ".join(make_vars))
    os.makedirs(build, exist_ok=True)
    with open(os.path.join(REPO, "build", ".variant.lock"), "w") as lk:
        fcntl.flock(lk, fcntl.LOCK_EX)
        # under `make check` MAKEFLAGS asks for "Entering directory"
        # lines: the build directory is the marked line
        p = subprocess.run(["make", "-s", "--no-print-directory", "-C",
                            REPO] + kept + list(make_vars) +
                           ["--eval=print-build: ; @echo "
                            "VIGIL_BUILD=$(BUILD)", "all", "print-build"],
                           capture_output=True, text=True)
        if p.returncode != 0:
            raise AssertionError("make %s failed:\n%s%s" % (
                " ".join(make_vars), p.stdout, p.stderr))
        marked = [ln[len("VIGIL_BUILD="):] for ln in p.stdout.splitlines()
                  if ln.startswith("VIGIL_BUILD=")]
        assert marked, "make printed no build directory:\n%s" % p.stdout
        build = marked[-1]
    path = os.path.join(REPO, build, "conmon")
    assert os.access(path, os.X_OK), "no %s after make" % path
    return path


_spec_template = None


def runc_spec_template():
    """`runc spec` output, generated once per process."""
    global _spec_template
    if _spec_template is None:
        d = tempfile.mkdtemp(prefix="vit-spec.")
        try:
            subprocess.run([RUNC, "spec", "--bundle", d], check=True,
                           capture_output=True)
            _spec_template = read_file(os.path.join(d, "config.json"))
        finally:
            shutil.rmtree(d, ignore_errors=True)
    return json.loads(_spec_template)


# --------------------------------------------------------------------------
# k8s-file logs

def parse_k8s(data):
    """Parse k8s-file bytes into [(ts, stream, tag, content)], asserting the
    spec 9.2 record format on every line."""
    recs = []
    if not data:
        return recs
    assert data.endswith(b"\n"), "log does not end in LF: %r" % data[-80:]
    for i, line in enumerate(data[:-1].split(b"\n")):
        m = K8S_RE.match(line)
        assert m, "log line %d does not match the k8s-file format: %r" % (
            i + 1, line[:200])
        recs.append((m.group(1).decode(), m.group(2).decode(),
                     m.group(3).decode(), m.group(4)))
    return recs


def read_k8s(path):
    return parse_k8s(read_file(path, "rb"))


def read_k8s_so_far(path):
    """read_k8s() of a log the logger may be writing: None while it ends
    inside a record, for a poll to look again. A chunk is one write() of
    whole records, but a read beside it may see only the pages written so
    far."""
    data = read_file(path, "rb")
    if data and not data.endswith(b"\n"):
        return None
    return parse_k8s(data)


def read_k8s_settled(path, timeout=DEADLINE):
    """The records of a log the logger may be writing, from the first
    read that does not end inside a record (read_k8s_so_far): for a count
    taken once, where a torn view must not stand in for nothing."""
    views = []

    def whole():
        try:
            recs = read_k8s_so_far(path)
        except FileNotFoundError:
            return False
        views.append(recs)
        return recs is not None
    wait_for(whole, timeout, "a read of %s not inside a record" % path)
    return views[-1]


def reconstruct(recs, stream=None):
    """Container bytes from records: F -> content + LF, P -> content."""
    out = []
    for _ts, s, tag, content in recs:
        if stream and s != stream:
            continue
        out.append(content)
        if tag == "F":
            out.append(b"\n")
    return b"".join(out)


def lines_of(recs, stream=None):
    return reconstruct(recs, stream).decode(errors="replace").splitlines()


# --------------------------------------------------------------------------
# Spawning with exact fd numbers

def _fd_mapper(fdmap):
    """preexec_fn placing each source fd at its target number (targets are
    not close-on-exec; Popen keeps them through pass_fds)."""
    items = sorted(fdmap.items())

    def run():
        tmp = []
        for target, src in items:
            tmp.append((target, fcntl.fcntl(src, fcntl.F_DUPFD, 256)))
        for target, t in tmp:
            os.dup2(t, target, inheritable=True)
            os.close(t)
    return run


def spawn(argv, fdmap=None, env=None, cwd=None, stdin=subprocess.DEVNULL,
          stdout=None, stderr=None, umask=-1):
    """Popen with the given {target_fd: source_fd} map."""
    fdmap = fdmap or {}
    return subprocess.Popen(argv, env=env, cwd=cwd, stdin=stdin,
                            stdout=stdout, stderr=stderr,
                            pass_fds=tuple(fdmap), close_fds=True,
                            preexec_fn=_fd_mapper(fdmap) if fdmap else None,
                            umask=umask)


def run_conmon(args, timeout=10, env=None, cwd=None):
    """Run the monitor to completion with nothing but args (for the
    command-line tests). Returns CompletedProcess with text output."""
    if env is None:
        e = dict(os.environ)
        for k in ("_OCI_SYNCPIPE", "_OCI_STARTPIPE", "_OCI_ATTACHPIPE"):
            e.pop(k, None)
    else:
        e = dict(env)
    return subprocess.run([CONMON] + list(args), capture_output=True,
                          timeout=timeout, env=e, cwd=cwd, text=True,
                          errors="replace", stdin=subprocess.DEVNULL)


# --------------------------------------------------------------------------
# A test case: directories, bundle, monitor, container, cleanup

def _test_name():
    n = os.environ.get("VIGIL_IT_TEST")
    if n:
        return n
    f = sys._getframe(2)
    while f:
        if f.f_code.co_name.startswith("test_"):
            return f.f_code.co_name
        f = f.f_back
    return "test_adhoc"


class Monitor:
    """One monitor invocation (the launcher process and the manager's
    ends of the pipes)."""

    def __init__(self, case, proc, sync, start, sync_kind, stdout_path,
                 stderr_path):
        self.case = case
        self.proc = proc
        self.sync = sync  # manager's end (socket or read fd)
        self.start_end = start  # manager's end of the start pipe
        self.sync_kind = sync_kind
        self.stdout_path = stdout_path
        self.stderr_path = stderr_path
        self._pipe_buf = b""
        self.status = None
        self.attach_end = None  # manager's end of _OCI_ATTACHPIPE

    @property
    def pid(self):
        return self.proc.pid

    def write_start(self, data=b"\0"):
        """Release the monitor (spec 5.2: one byte, one record)."""
        assert self.start_end is not None, "no start pipe"
        try:
            self.start_end.send(data)
        except (BrokenPipeError, ConnectionResetError):
            return False  # the monitor is gone already (a pre-fork error)
        return True

    def close_start(self):
        if self.start_end is not None:
            self.start_end.close()
            self.start_end = None

    def wait(self, timeout=DEADLINE):
        """Wait for the launcher (or a --sync monitor); return status."""
        try:
            self.status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError("monitor pid %d still running after %.1f s"
                                 % (self.proc.pid, timeout))
        return self.status

    def expect(self, want, timeout=DEADLINE, what=""):
        """Wait and assert the exit status, quoting the monitor's output."""
        st = self.wait(timeout)
        assert st == want, \
            "%smonitor exited %d, want %d; stderr %r stdout %r" % (
                what and what + ": ", st, want, self.stderr().strip()[:500],
                self.stdout().strip()[:300])
        return st

    def stdout(self):
        return read_file(self.stdout_path, "rb").decode(errors="replace") \
            if self.stdout_path else ""

    def stderr(self):
        return read_file(self.stderr_path, "rb").decode(errors="replace") \
            if self.stderr_path else ""

    def read_sync_raw(self, timeout=DEADLINE):
        """One sync record as bytes; b"" at end-of-file. On a SEQPACKET
        socket one recv() is exactly one record; on an ordinary pipe
        (CRI-O exec-sync) records are split at LF."""
        if self.sync_kind == "seqpacket":
            r, _, _ = select.select([self.sync], [], [], timeout)
            if not r:
                raise AssertionError("no sync-pipe record within %.1f s"
                                     % timeout)
            data, _anc, flags, _addr = self.sync.recvmsg(1 << 20)
            assert not flags & socket.MSG_TRUNC, \
                "sync record longer than 1 MiB (truncated)"
            return data
        end = time.monotonic() + timeout
        while b"\n" not in self._pipe_buf:
            left = end - time.monotonic()
            r, _, _ = select.select([self.sync], [], [], max(left, 0))
            if not r:
                raise AssertionError("no sync-pipe record within %.1f s"
                                     % timeout)
            chunk = os.read(self.sync, 65536)
            if not chunk:
                rest, self._pipe_buf = self._pipe_buf, b""
                return rest
            self._pipe_buf += chunk
        line, _, self._pipe_buf = self._pipe_buf.partition(b"\n")
        return line + b"\n"

    def read_attach_raw(self, timeout=DEADLINE):
        """One record from the exec attach pipe (spec 5.4) as bytes; b""
        at end-of-file."""
        assert self.attach_end is not None, "no attach pipe"
        r, _, _ = select.select([self.attach_end], [], [], timeout)
        if not r:
            raise AssertionError("no attach-pipe record within %.1f s; "
                                 "monitor stderr %r" % (
                                     timeout, self.stderr().strip()[:300]))
        data, _anc, flags, _addr = self.attach_end.recvmsg(1 << 16)
        assert not flags & socket.MSG_TRUNC, "attach-pipe record truncated"
        return data

    def read_sync(self, timeout=DEADLINE):
        """One sync record parsed as JSON (None at end-of-file)."""
        raw = self.read_sync_raw(timeout)
        if raw == b"":
            return None
        try:
            return json.loads(raw)
        except ValueError as e:
            raise AssertionError("sync record is not valid JSON (%s): %r"
                                 % (e, raw[:300]))

    def record(self, timeout=DEADLINE):
        """One sync record, which must exist (EOF fails the test, quoting
        the monitor's stderr)."""
        rec = self.read_sync(timeout)
        if rec is None:
            raise AssertionError(
                "sync pipe at end-of-file, no record; monitor stderr %r" %
                self.stderr().strip()[:500])
        return rec

    def sync_eof(self, timeout=DEADLINE):
        """True once the sync pipe reports end-of-file with no more
        records; fails if another record arrives."""
        raw = self.read_sync_raw(timeout)
        assert raw == b"", "unexpected extra sync record: %r" % raw[:300]
        return True


# Keyword arguments of Case.launch() that Case.start() and
# ExecSession.launch() pass through.
LAUNCH_KW = ("sync_kind", "start_pipe", "extra_fds", "env", "stdout",
             "stderr", "write_start", "umask", "cwd", "attach_pipe",
             "fd_base")


class Case:
    """Per-test state: a private directory tree, a bundle, a runc root, the
    monitor's pipes; cleans all of it up on exit, also on failure."""

    def __init__(self, name=None):
        self.name = name or _test_name()
        base = os.environ.get("VIGIL_IT_TMP")
        if base:
            os.makedirs(base, exist_ok=True)
            self.dir = tempfile.mkdtemp(prefix="c", dir=base)
        else:
            self.dir = tempfile.mkdtemp(prefix="vit-")
        token = os.environ.get("VIGIL_IT_TOKEN") or os.urandom(3).hex()
        short = re.sub(r"[^A-Za-z0-9]", "",
                       self.name.replace("test_", ""))[:24]
        self.cid = "vit-%s-%s-%s" % (token, short,
                                     os.path.basename(self.dir)[-4:])
        self.bundle_dir = os.path.join(self.dir, "b")
        self.exit_dir = os.path.join(self.dir, "exits")
        self.persist_dir = os.path.join(self.dir, "persist")
        self.runc_root = os.path.join(self.dir, "runc")
        self.sock_dir = os.path.join(self.dir, "sock")
        self.log_path = os.path.join(self.dir, "ctr.log")
        self.pidfile = os.path.join(self.bundle_dir, "pidfile")
        self.conmon_pidfile = os.path.join(self.dir, "conmon.pid")
        self.shared_dir = os.path.join(self.dir, "shared")
        for d in (self.bundle_dir, self.exit_dir, self.persist_dir,
                  self.runc_root, self.sock_dir):
            os.makedirs(d, exist_ok=True)
        self.monitors = []
        self.conmon = CONMON            # a test may pick a build variant
        self.container_pid = None       # from the last pid record
        self.extra_pids = []
        self._closers = []
        self.config = None

    # ---- context management and cleanup

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    def cleanup(self):
        for fn in self._closers:
            try:
                fn()
            except Exception:
                pass
        # containers in our private runc root
        for cid in self.runc_list():
            subprocess.run([RUNC, "--root", self.runc_root, "delete", "-f",
                            cid], capture_output=True, timeout=30)
        for m in self.monitors:
            if m.proc.poll() is None:
                kill_quietly(m.proc.pid)
                try:
                    m.proc.wait(5)
                except subprocess.TimeoutExpired:
                    pass
            for s in (m.sync, m.start_end, m.attach_end):
                try:
                    if isinstance(s, int):
                        os.close(s)
                    elif s is not None:
                        s.close()
                except OSError:
                    pass
        dpid = self.daemon_pid(required=False)
        if dpid and alive(dpid):
            kill_quietly(dpid)
        for p in self.extra_pids:
            kill_quietly(p)
        kill_leftovers([self.dir, self.cid])
        if os.environ.get("VIGIL_IT_KEEP") != "1":
            shutil.rmtree(self.dir, ignore_errors=True)

    def on_cleanup(self, fn):
        self._closers.append(fn)

    # ---- bundle

    def bundle(self, args, env=None, pid_ns=True, edit=None, config=True,
               terminal=False, shared=False):
        """Write BUNDLE/config.json from `runc spec`: args, no terminal,
        the shared read-only busybox rootfs. pid_ns=False drops the pid
        namespace (the container process is then not an init, so a
        default-action signal kills it). terminal=True sets
        process.terminal (for -t). shared=True bind-mounts the case's
        directory self.shared_dir read-write at /shared, so the test can
        steer the container through files (see touch_shared())."""
        rootfs = ensure_rootfs()
        c = runc_spec_template()
        p = c["process"]
        p["terminal"] = bool(terminal)
        if shared:
            os.makedirs(self.shared_dir, exist_ok=True)
            c["mounts"].append({"destination": "/shared", "type": "bind",
                                "source": self.shared_dir,
                                "options": ["rbind", "rw"]})
        p["args"] = list(args)
        p["env"] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"] + \
            list(env or [])
        c["root"] = {"path": rootfs, "readonly": True}
        if not pid_ns:
            c["linux"]["namespaces"] = [
                n for n in c["linux"]["namespaces"] if n["type"] != "pid"]
        if edit:
            edit(c)
        self.config = c
        if config:
            with open(os.path.join(self.bundle_dir, "config.json"), "w") as f:
                json.dump(c, f, indent=1)
        return c

    def process_spec(self, args, terminal=False, env=None, cwd="/",
                     edit=None, path=None):
        """Write an OCI process JSON for `runtime exec --process` (what
        podman and CRI-O give --exec-process-spec): the container's
        process (capabilities, rlimits, user) with these args, cwd, env
        (PATH plus env) and terminal. Returns its path."""
        base = self.config or runc_spec_template()
        p = json.loads(json.dumps(base["process"]))
        p["args"] = list(args)
        p["cwd"] = cwd
        p["terminal"] = bool(terminal)
        p["env"] = ["PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HOME=/root"] + \
            (["TERM=xterm"] if terminal else []) + list(env or [])
        if edit:
            edit(p)
        if path is None:
            self.__dict__.setdefault("_spec_n", 0)
            self._spec_n += 1
            path = os.path.join(self.dir, "process%d.json" % self._spec_n)
        with open(path, "w") as f:
            json.dump(p, f, indent=1)
        return path

    def exec_session(self, args, **kw):
        """An ExecSession running args in this case's container."""
        return ExecSession(self, args, **kw)

    def running(self, args=("/bin/sleep", "1000"), bundle_kw=None, **kw):
        """Create and start a container (default `sleep 1000`) for exec
        sessions: bundle, monitor (kw: start()), pid record, runc start.
        Returns the Monitor."""
        self.bundle(list(args), **(bundle_kw or {}))
        m = self.start(**kw)
        self.runc_start()
        return m

    def fake_runtime(self):
        """A private copy of tests/integration/fake-runtime (mode 0755, so
        it works whatever mode the checkout gave it; its path names this
        case's directory, so a leftover is found and removed)."""
        dst = os.path.join(self.dir, "fake-runtime")
        if not os.path.exists(dst):
            shutil.copyfile(FAKE_RUNTIME, dst)
            os.chmod(dst, 0o755)
        return dst

    # ---- runc

    def runc(self, *args, check=True, timeout=30):
        p = subprocess.run([RUNC, "--root", self.runc_root] + list(args),
                           capture_output=True, text=True, timeout=timeout)
        if check and p.returncode != 0:
            raise AssertionError("runc %s failed (%d): %s" % (
                " ".join(args), p.returncode, p.stderr.strip()))
        return p

    def runc_start(self, wait_exec=True):
        """`runc start`, then (by default) wait until the container
        process has exec'd its program or is gone: runc start returns
        while the process may still be `runc init`, a Go program that a
        signal would kill with its own status (2 for SIGQUIT)."""
        p = self.runc("start", self.cid)
        pid = self.container_pid
        if wait_exec and pid and self.config:
            argv0 = self.config["process"]["args"][0]

            def execd():
                cmd = proc_cmdline(pid)
                return not alive(pid) or (cmd and cmd[0] == argv0)
            wait_for(execd, what="container pid %d to exec %s" % (pid, argv0))
        return p

    def runc_kill(self, sig="KILL", all_=False):
        return self.runc("kill", *(["--all"] if all_ else []), self.cid, sig)

    def runc_state(self):
        p = self.runc("state", self.cid, check=False)
        if p.returncode != 0:
            return None
        return json.loads(p.stdout)

    def runc_list(self):
        try:
            return [n for n in os.listdir(self.runc_root)
                    if os.path.isdir(os.path.join(self.runc_root, n))]
        except OSError:
            return []

    # ---- the monitor

    def args(self, log=None, exit_dir=True, persist=True, conmon_pidfile=True,
             api=True, runtime=None, extra=()):
        """The typical podman-like command line."""
        a = ["-c", self.cid, "-u", self.cid, "-r", runtime or RUNC,
             "-b", self.bundle_dir, "-p", self.pidfile]
        if accepts_socket_dir():
            a += ["--socket-dir-path", self.sock_dir]
        logs = log if log is not None else ["k8s-file:" + self.log_path]
        if isinstance(logs, str):
            logs = [logs]
        for l in logs:
            a += ["-l", l]
        if exit_dir:
            a += ["--exit-dir",
                  self.exit_dir if exit_dir is True else exit_dir]
        if persist:
            a += ["--persist-dir",
                  self.persist_dir if persist is True else persist]
        if conmon_pidfile:
            a += ["--conmon-pidfile", self.conmon_pidfile]
        if api:
            a += ["--api-version"]
        if runtime is None or runtime == RUNC:
            a += ["--runtime-arg", "--root=" + self.runc_root]
        a += list(extra)
        return a

    def launch(self, args, sync_kind="seqpacket", start_pipe=True,
               extra_fds=None, env=None, stdout=None, stderr=None,
               write_start=True, umask=0o022, cwd=None, attach_pipe=False,
               fd_base=3):
        """Start the monitor as a manager does and return a Monitor.
        The sync pipe is fd 3, the start pipe fd 4 (SEQPACKET socketpairs;
        sync_kind="pipe" gives an ordinary pipe for the sync pipe, as
        CRI-O's exec-sync does). extra_fds: {fd: source fd} passed on
        at exactly those numbers. attach_pipe=True adds podman's exec
        attach pipe (_OCI_ATTACHPIPE, a SEQPACKET socketpair; the
        manager's end is Monitor.attach_end) at fd 5. fd_base moves the
        three pipes up (podman with P preserved fds: fd_base=3+P, the
        preserved fds at 3..3+P-1 through extra_fds). cwd: the monitor's
        working directory (default the case directory; CRI-O: the
        bundle)."""
        e = dict(os.environ)
        for k in ("NOTIFY_SOCKET", "LISTEN_PID", "LISTEN_FDS",
                  "LISTEN_FDNAMES", "_OCI_SYNCPIPE", "_OCI_STARTPIPE",
                  "_OCI_ATTACHPIPE"):
            e.pop(k, None)
        e.update(env or {})
        fdmap = {}
        sync_mine = start_mine = attach_mine = None
        child_ends = []
        sync_fd, start_fd, attach_fd = fd_base, fd_base + 1, fd_base + 2
        if sync_kind == "seqpacket":
            sync_mine, theirs = socket.socketpair(socket.AF_UNIX,
                                                  socket.SOCK_SEQPACKET)
            child_ends.append(theirs)
            fdmap[sync_fd] = theirs.fileno()
            e["_OCI_SYNCPIPE"] = str(sync_fd)
        elif sync_kind == "pipe":
            r, w = os.pipe()
            sync_mine = r
            child_ends.append(w)
            fdmap[sync_fd] = w
            e["_OCI_SYNCPIPE"] = str(sync_fd)
        if start_pipe:
            start_mine, theirs = socket.socketpair(socket.AF_UNIX,
                                                   socket.SOCK_SEQPACKET)
            child_ends.append(theirs)
            fdmap[start_fd] = theirs.fileno()
            e["_OCI_STARTPIPE"] = str(start_fd)
        if attach_pipe:
            attach_mine, theirs = socket.socketpair(socket.AF_UNIX,
                                                    socket.SOCK_SEQPACKET)
            child_ends.append(theirs)
            fdmap[attach_fd] = theirs.fileno()
            e["_OCI_ATTACHPIPE"] = str(attach_fd)
        for k, v in (extra_fds or {}).items():
            fdmap[k] = v
        n = len(self.monitors)
        out_path = err_path = None
        opened = []
        if stdout is None:
            out_path = os.path.join(self.dir, "mon%d.out" % n)
            stdout = open(out_path, "wb")
            opened.append(stdout)
        if stderr is None:
            err_path = os.path.join(self.dir, "mon%d.err" % n)
            stderr = open(err_path, "wb")
            opened.append(stderr)
        try:
            proc = spawn([self.conmon or CONMON] + list(args), fdmap=fdmap,
                         env=e,
                         cwd=cwd or self.dir, stdout=stdout, stderr=stderr,
                         umask=umask)
        finally:
            for ce in child_ends:
                if isinstance(ce, int):
                    os.close(ce)
                else:
                    ce.close()
            for f in opened:
                f.close()
        m = Monitor(self, proc, sync_mine, start_mine, sync_kind,
                    out_path, err_path)
        m.attach_end = attach_mine
        self.monitors.append(m)
        if start_pipe and write_start:
            m.write_start()
        return m

    def start(self, sync=False, expect_pid=True, **kw):
        """Launch with the typical arguments (plus kw for args()), wait
        for the launcher, read the pid record. Returns the Monitor with
        .container_pid set. With sync=True the monitor stays in the
        foreground (--sync) and is not waited for."""
        launch_kw = {k: kw.pop(k) for k in list(kw) if k in LAUNCH_KW}
        extra = list(kw.pop("extra", ()))
        if sync:
            extra.append("--sync")
            kw.setdefault("conmon_pidfile", False)
        m = self.launch(self.args(extra=extra, **kw), **launch_kw)
        if not sync:
            st = m.wait()
            assert st == 0, "launcher exited %d; stderr: %s" % (
                st, m.stderr().strip())
        m.container_pid = None
        if expect_pid:
            rec = m.record()
            key = "data" if "--api-version" in m.proc.args else "pid"
            assert key in rec, "sync record without %r: %r" % (key, rec)
            assert rec[key] > 0, "runtime failed: %r" % rec
            m.container_pid = self.container_pid = rec[key]
        return m

    def daemon_pid(self, required=True):
        try:
            s = read_file(self.conmon_pidfile)
        except OSError:
            if required:
                raise AssertionError("no conmon pidfile %s" %
                                     self.conmon_pidfile)
            return None
        try:
            return int(s)
        except ValueError:
            if required:
                raise AssertionError("conmon pidfile holds %r" % s)
            return None

    # ---- exit files and logs

    @property
    def exit_file(self):
        return os.path.join(self.exit_dir, self.cid)

    @property
    def persist_exit_file(self):
        return os.path.join(self.persist_dir, "exit")

    def wait_exit(self, timeout=DEADLINE):
        """Content of <exit-dir>/<cid> once it exists."""
        wait_file(self.exit_file, timeout)
        return read_file(self.exit_file)

    def log(self):
        return read_k8s(self.log_path)

    def log_lines(self, stream=None):
        return lines_of(self.log(), stream)

    def wait_log(self, needle, timeout=DEADLINE):
        """Wait until the container's (reconstructed) output contains
        needle (bytes or str)."""
        nb = needle.encode() if isinstance(needle, str) else needle

        def have():
            try:
                recs = read_k8s_so_far(self.log_path)
            except FileNotFoundError:
                return False
            return recs is not None and nb in reconstruct(recs)
        return wait_for(have, timeout, "%r in the log" % needle)

    def wait_gone(self, pid, timeout=DEADLINE):
        wait_for(lambda: not alive(pid), timeout, "pid %d to exit" % pid)

    # ---- attach socket, ctl and winsz (spec 7, 8; issue 4)

    def attach_path(self, full=False):
        """Where a manager connects (spec 7.1): <bundle>/attach with
        --full-attach (podman), else <socket-dir-path>/<cuuid>/attach
        through the monitor's symlink (CRI-O)."""
        if full:
            return os.path.join(self.bundle_dir, "attach")
        return os.path.join(self.sock_dir, self.cid, "attach")

    def monitor_pids(self, daemon=None):
        """The daemon (default: the container's, from the conmon pidfile)
        and its sandboxed children (`conmon: logger ...`, `conmon: attach
        ...`; none for conmon 2.1.6)."""
        d = daemon or self.daemon_pid()
        return [d] + [p for p in children(d)
                      if proc_cmdline_raw(p).startswith(b"conmon: ")
                      or _under_valgrind(p)]

    def socket_fd_count(self, daemon=None):
        """Accepted attach clients held by the monitor's processes: rises
        by one when it accepts an attach client. An accepted socket is
        the server's end of a connection to a bound SOCK_SEQPACKET socket:
        connected, and it carries the listener's path in /proc/net/unix
        (the client's end has none). Counting these rather than all
        sockets, an attach broker started on demand by the connect itself
        (vigil, README "How the processes fit") is not taken for the
        accept."""
        accepted = set()
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                fl = line.split()
                # Num RefCount Protocol Flags Type St Inode [Path]
                if len(fl) >= 8 and fl[4] == "0005" and fl[5] == "03" \
                        and not int(fl[3], 16) & 0x10000:
                    accepted.add(fl[6])
        return sum(1 for pid in self.monitor_pids(daemon)
                   for t in proc_fds(pid).values()
                   if t.startswith("socket:[") and t[8:-1] in accepted)

    def _output_sockets(self, daemon=None):
        """Sockets of the process that sends attach output: vigil's logger
        (it holds a copy of each client the broker accepted and handed
        over), else conmon itself (all of its processes)."""
        pids = self.monitor_pids(daemon)
        loggers = [p for p in pids
                   if proc_cmdline_raw(p).startswith(b"conmon: logger")]
        if not loggers and any(_under_valgrind(p) for p in pids[1:]):
            # under valgrind every process's cmdline is valgrind's: the
            # logger is the child that holds the log file; None until it
            # has been given it
            loggers = [p for p in pids[1:]
                       if self.log_path in proc_fds(p).values()]
            if not loggers:
                return None
        return sum(1 for pid in (loggers or pids)
                   for t in proc_fds(pid).values() if t.startswith("socket:"))

    def attach(self, full=False, accepted=True, timeout=DEADLINE, path=None,
               daemon=None):
        """Connect an AttachClient. With accepted=True, return only once
        the process that sends output has it (one more socket among its
        fds: vigil's logger, once the broker accepted the client and
        handed it over; conmon itself), so the client gets all output
        from then on (spec 7.3: no replay of what came before). path and
        daemon: another monitor's socket and daemon pid (an exec
        session's, ExecSession.attach())."""
        before = 0
        if accepted:
            wait_for(lambda: self._output_sockets(daemon) is not None,
                     timeout, "the logger to hold the log file")
            before = self._output_sockets(daemon)
        cl = AttachClient(path or self.attach_path(full), timeout)
        self.on_cleanup(cl.close)
        if accepted:
            wait_for(lambda: (self._output_sockets(daemon) or 0) > before,
                     timeout,
                     "the monitor to accept attach client %s" % cl.name)
        return cl

    def start_broker(self, full=False):
        """vigil starts its attach broker on demand: at the first attach
        connect, ctl or winsz write or sd-notify datagram (README "How
        the processes fit"). For a test about a broker that is already
        there (its fds, its respawn): one client connects, is accepted
        and leaves; the broker stays. Returns once it has let the client
        go. conmon has no broker: the same client comes and goes."""
        before = self.socket_fd_count()
        cl = self.attach(full=full)
        cl.close()
        wait_for(lambda: self.socket_fd_count() == before,
                 what="the monitor to let the broker-starting client go")

    def fifo_fd(self, name="ctl", directory=None):
        """A write end of <bundle>/<name> (or <directory>/<name>: an exec
        session's) opened as podman does (O_WRONLY|O_NONBLOCK; ENXIO if
        the monitor holds no read end), kept for the case."""
        fds = self.__dict__.setdefault("_fifo_fds", {})
        path = os.path.join(directory or self.bundle_dir, name)
        if path not in fds:
            fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
            fds[path] = fd
            self.on_cleanup(lambda: os.close(fd))
        return fds[path]

    def fifo_write(self, data, name="ctl", consumed=True, timeout=DEADLINE,
                   directory=None):
        """Write data to <bundle>/<name> (or <directory>/<name>), waiting
        for room while the FIFO is full; with consumed=True also wait
        until the monitor has read every byte (FIONREAD 0), so the next
        write never shares a read with this one."""
        fd = self.fifo_fd(name, directory)
        data = data.encode() if isinstance(data, str) else data
        end = time.monotonic() + timeout
        view = memoryview(data)
        while view:
            try:
                n = os.write(fd, view[:65536])
                view = view[n:]
                continue
            except BlockingIOError:
                pass
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(
                    "%s: the monitor stopped reading, %d of %d bytes "
                    "unwritten after %.1f s" % (name, len(view), len(data),
                                                timeout))
            select.select([], [fd], [], min(left, 0.5))
        if consumed:
            wait_for(lambda: fifo_unread(fd) == 0, max(end - time.monotonic(),
                                                       1),
                     "the monitor to read everything written to %s" % name)

    def ctl_barrier(self, timeout=DEADLINE):
        """Prove the monitor has acted on every ctl line written so far:
        write `2 0 0` (reopen the k8s-file log, spec 8.4) and wait until
        the log path names a new file. Lines are handled in order, so
        every earlier one was handled before. Needs the k8s-file log at
        self.log_path. The line goes in only once the FIFO is empty, so
        it shares no read with earlier lines (2.1.6 can lose a line that
        shares a read ending inside another, spec 8.2 quirks)."""
        fd = self.fifo_fd("ctl")
        wait_for(lambda: fifo_unread(fd) == 0, timeout,
                 "the monitor to read everything written to ctl")
        ino = inode_of(self.log_path)
        self.fifo_write(b"2 0 0\n", timeout=timeout)
        wait_for(lambda: inode_of(self.log_path) not in (None, ino), timeout,
                 "`2 0 0` on ctl to put a new file at %s" % self.log_path)

    def touch_shared(self, name):
        """Create <shared_dir>/<name> (the container sees /shared/<name>)
        atomically."""
        p = os.path.join(self.shared_dir, name)
        with open(p + ".tmp", "w"):
            pass
        os.rename(p + ".tmp", p)


class ExecSession:
    """An exec session (spec 15: podman exec, CRI-O exec-sync) in a
    container of its Case: a session directory (podman's exec bundle,
    given as -b unless bundle=False), the process spec (an OCI process
    JSON made from the container's config.json), the exec pid file, the
    k8s-file log and an exit directory of its own: the exit file of an
    exec session is <exit-dir>/<cid>, the container's name (spec 10.3),
    so it must not share the container's exit directory."""

    def __init__(self, case, args, terminal=False, name=None, env=None,
                 edit=None):
        self.case = case
        case._exec_n = getattr(case, "_exec_n", 0) + 1
        self.name = name or "exec%d" % case._exec_n
        self.cuuid = self.name          # the session id (-u)
        self.dir = os.path.join(case.dir, self.name)
        self.exit_dir = os.path.join(self.dir, "exits")
        self.pidfile = os.path.join(self.dir, "exec_pid")
        self.log_path = os.path.join(self.dir, "exec_log")
        self.conmon_pidfile = os.path.join(self.dir, "conmon.pid")
        os.makedirs(self.exit_dir)
        self.terminal = bool(terminal)
        self.spec = case.process_spec(
            args, terminal=terminal, env=env, edit=edit,
            path=os.path.join(self.dir, "exec-process.json"))
        self.m = None

    def args(self, api=True, bundle=True, log=None, exit_dir=True,
             conmon_pidfile=True, runtime=None, tty=None, extra=()):
        """The command line: podman's shape with api=True (-u, -b,
        --api-version), CRI-O exec-sync's legacy one with api=False (no
        -u; add bundle=False for no -b). -t when the process spec has a
        terminal (tty= overrides)."""
        c = self.case
        a = ["-c", c.cid]
        if api:
            a += ["-u", self.cuuid]
        a += ["-r", runtime or RUNC]
        if bundle:
            a += ["-b", self.dir]
        a += ["-p", self.pidfile]
        if accepts_socket_dir():
            a += ["--socket-dir-path", c.sock_dir]
        logs = log if log is not None else ["k8s-file:" + self.log_path]
        if isinstance(logs, str):
            logs = [logs]
        for l in logs:
            a += ["-l", l]
        if exit_dir:
            a += ["--exit-dir", self.exit_dir]
        if conmon_pidfile:
            a += ["--conmon-pidfile", self.conmon_pidfile]
        if api:
            a += ["--api-version"]
        if runtime is None or runtime == RUNC:
            a += ["--runtime-arg", "--root=" + c.runc_root]
        a += ["-e", "--exec-process-spec", self.spec]
        if self.terminal if tty is None else tty:
            a += ["-t"]
        return a + list(extra)

    def launch(self, sync=False, wait=True, **kw):
        """Start the session's monitor (kw: args() and Case.launch()
        keywords). Unless sync (--sync: the monitor stays in the
        foreground) or wait=False, wait for the launcher and assert
        status 0. The console socket of -t goes to the case directory
        (TMPDIR, spec 6.2) unless env says otherwise."""
        launch_kw = {k: kw.pop(k) for k in list(kw) if k in LAUNCH_KW}
        env = {"TMPDIR": self.case.dir}
        env.update(launch_kw.pop("env", None) or {})
        extra = list(kw.pop("extra", ()))
        if sync:
            extra.append("--sync")
        m = self.case.launch(self.args(extra=extra, **kw), env=env,
                             **launch_kw)
        self.m = m
        if wait and not sync and launch_kw.get("write_start", True) and \
                launch_kw.get("start_pipe", True):
            st = m.wait()
            assert st == 0, "exec launcher exited %d; stderr: %s" % (
                st, m.stderr().strip())
        return m

    @property
    def exit_file(self):
        return os.path.join(self.exit_dir, self.case.cid)

    def wait_exit(self, timeout=DEADLINE):
        wait_file(self.exit_file, timeout)
        return read_file(self.exit_file)

    def pid(self):
        """The exec'd process's pid from the exec pid file."""
        return int(read_file(self.pidfile))

    def log(self):
        return read_k8s(self.log_path)

    def output(self, stream=None):
        """The exec'd process's output from its k8s-file log."""
        return reconstruct(self.log(), stream)

    def daemon_pid(self):
        return int(read_file(self.conmon_pidfile))

    def attach_path(self, full=False):
        """<session>/attach with --full-attach (podman), else the
        <socket-dir-path>/<session id>/attach symlink path."""
        if full:
            return os.path.join(self.dir, "attach")
        return os.path.join(self.case.sock_dir, self.cuuid, "attach")

    def attach(self, full=False, accepted=True, timeout=DEADLINE):
        """An AttachClient on the session's socket (Case.attach())."""
        return self.case.attach(accepted=accepted, timeout=timeout,
                                path=self.attach_path(full),
                                daemon=self.daemon_pid() if accepted
                                else None)


def inode_of(path):
    try:
        return os.stat(path).st_ino
    except FileNotFoundError:
        return None


def fifo_unread(fd):
    """Bytes waiting in the pipe or FIFO behind fd (FIONREAD works on
    either end)."""
    buf = array.array("i", [0])
    fcntl.ioctl(fd, termios.FIONREAD, buf, True)
    return buf[0]


def pty_size(pid):
    """(rows, cols, xpixel, ypixel) of the terminal on pid's fd 0, read
    from outside through /proc (O_NOCTTY: never our controlling
    terminal), or None when pid's fd 0 is not a terminal."""
    try:
        fd = os.open("/proc/%d/fd/0" % pid,
                     os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        return struct.unpack("HHHH", fcntl.ioctl(fd, termios.TIOCGWINSZ,
                                                  b"\0" * 8))
    except OSError:
        return None
    finally:
        os.close(fd)


class AttachClient:
    """A manager's attach connection (spec 7.3): SOCK_SEQPACKET; each
    record from the monitor is one stream byte (2 stdout, 3 stderr) and
    its payload; whatever we send is raw stdin. Records are checked as
    they come: never more than 8193 bytes, never empty, known stream."""

    MAX_RECORD = 8193
    _n = 0

    def __init__(self, path, timeout=DEADLINE):
        AttachClient._n += 1
        self.name = "#%d" % AttachClient._n
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        # Non-blocking: a full backlog (10, spec 7.2) answers EAGAIN, so
        # retry until the deadline instead of blocking for good.
        self.sock.setblocking(False)
        end = time.monotonic() + timeout
        while True:
            try:
                self.sock.connect(path)
                break
            except BlockingIOError:
                if time.monotonic() > end:
                    self.sock.close()
                    raise AssertionError("connect to %s: backlog still "
                                         "full after %.1f s" % (path,
                                                                timeout))
                time.sleep(0.002)
            except OSError:
                self.sock.close()
                raise
        self.sock.setblocking(True)
        self.records = []           # [(stream, payload)]
        self.longest = 0
        self.eof = False
        self.eof_time = None        # time.monotonic() when EOF was read

    def fileno(self):
        return self.sock.fileno()

    def _take(self, data, flags):
        assert not flags & socket.MSG_TRUNC, \
            "client %s: record longer than 256 KiB" % self.name
        if not data:
            self.eof = True
            self.eof_time = time.monotonic()
            return
        assert len(data) <= self.MAX_RECORD, \
            "client %s: record of %d bytes (> %d)" % (
                self.name, len(data), self.MAX_RECORD)
        assert len(data) >= 2, \
            "client %s: record without payload %r" % (self.name, data)
        assert data[0] in (2, 3), \
            "client %s: record with stream byte %d" % (self.name, data[0])
        self.longest = max(self.longest, len(data))
        self.records.append((data[0], data[1:]))

    def read_some(self, timeout):
        """Read what is there (at least one record, or wait up to
        timeout); returns False at the deadline with nothing read."""
        if self.eof:
            return True
        p = select.poll()       # not select(): fds may pass FD_SETSIZE
        p.register(self.sock, select.POLLIN)
        if not p.poll(max(timeout, 0) * 1000):
            return False
        while not self.eof:
            try:
                data, _a, flags, _x = self.sock.recvmsg(
                    1 << 18, 0, socket.MSG_DONTWAIT)
            except BlockingIOError:
                break
            except ConnectionResetError:
                data, flags = b"", 0
            self._take(data, flags)
        return True

    def drain_nowait(self):
        """Read everything already queued; True if that ends in EOF."""
        self.read_some(0)
        return self.eof

    def output(self, stream=None):
        """Joined payloads (of one stream: 2 or 3)."""
        return b"".join(p for s, p in self.records
                        if stream is None or s == stream)

    def wait_until(self, pred, timeout=DEADLINE, what="condition"):
        end = time.monotonic() + timeout
        while not pred(self):
            left = end - time.monotonic()
            if left <= 0 or (self.eof and not pred(self)):
                raise AssertionError(
                    "client %s: %s %s; got %d records, last %r" % (
                        self.name, "at EOF without" if self.eof else
                        "timed out waiting for", what, len(self.records),
                        self.output()[-200:]))
            self.read_some(min(left, 0.5))
        return True

    def wait_output(self, needle, stream=None, timeout=DEADLINE):
        nb = needle.encode() if isinstance(needle, str) else needle
        return self.wait_until(lambda cl: nb in cl.output(stream), timeout,
                               "%r" % needle)

    def read_to_eof(self, timeout=DEADLINE):
        self.wait_until(lambda cl: cl.eof, timeout, "EOF")
        return self.output()

    def send(self, data):
        data = data.encode() if isinstance(data, str) else data
        self.sock.sendall(data)

    def shutdown_wr(self):
        self.sock.shutdown(socket.SHUT_WR)

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def kill_leftovers(needles, exclude=()):
    """SIGKILL every process mentioning one of needles; returns the list.
    Runs in rounds, since killing a parent can uncover new orphans."""
    killed = []
    for _ in range(5):
        pids = set()
        for n in needles:
            pids.update(procs_mentioning(n, exclude))
        if not pids:
            break
        for p in pids:
            kill_quietly(p)
        killed += sorted(pids)
        end = time.monotonic() + 2
        while time.monotonic() < end and any(alive(p) for p in pids):
            time.sleep(POLL)
    return killed
