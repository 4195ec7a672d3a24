# SPDX-License-Identifier: Apache-2.0
"""The exit command (spec 10.5)."""

import json
import os
import sys

from harness import (IN_CREATE, IN_MOVED_TO, Case, Inotify, alive,
                     read_file, ref_differs, wait_for)

# The exit command: records its arguments, the descriptors it inherited
# (probed with fstat, which opens nothing), its parent, environment and
# signal state; writes `done` last. Python rather than sh: dash keeps a
# descriptor of its own (fd 10) open.
PROBE = """#!%s
import json, os, sys
fds = []
for fd in range(1024):
    try:
        os.fstat(fd)
        fds.append(fd)
    except OSError:
        pass
st = dict(l.split(":", 1)
          for l in open("/proc/self/status").read().splitlines())
d = os.path.dirname(sys.argv[0])
with open(os.path.join(d, "args"), "w") as f:
    f.write("\\n".join(sys.argv[1:]) + "\\n")
rec = {"fds": fds, "ppid": os.getppid(), "env": dict(os.environ),
       "sigblk": st["SigBlk"].strip(),
       "oom": open("/proc/self/oom_score_adj").read().strip()}
with open(os.path.join(d, "rec.tmp"), "w") as f:
    json.dump(rec, f)
os.rename(os.path.join(d, "rec.tmp"), os.path.join(d, "done"))
"""


def _run(c, delay=None):
    out = os.path.join(c.dir, "ecmd")
    os.mkdir(out)
    probe = os.path.join(out, "probe")
    with open(probe, "w") as f:
        f.write(PROBE % sys.executable)
    os.chmod(probe, 0o755)
    extra = ["--exit-command", probe, "--exit-command-arg", "a1",
             "--exit-command-arg", "a 2", "--exit-command-arg", ""]
    if delay is not None:
        extra += ["--exit-delay", str(delay)]
    c.bundle(["/bin/sh", "-c", "exit 2"])
    c.start(extra=extra)
    d = c.daemon_pid()
    with Inotify(c.exit_dir, IN_CREATE | IN_MOVED_TO) as w:
        c.runc_start()
        w.wait(c.cid)
        args_at_exit = os.path.exists(os.path.join(out, "args"))
        daemon_alive = alive(d)
    done = os.path.join(out, "done")
    wait_for(lambda: os.path.exists(done), what="the exit command to run")
    return out, d, args_at_exit, daemon_alive, json.loads(read_file(done))


def test_exit_command_args_order_and_context():
    with Case() as c:
        out, d, ran_early, _, rec = _run(c)
        assert not ran_early, "exit command ran before the exit file existed"
        assert read_file(c.exit_file) == "2"
        args = read_file(os.path.join(out, "args")).split("\n")[:-1]
        assert args == ["a1", "a 2", ""], "exit command args %r" % args
        assert rec["ppid"] == d, "exit command's parent %d is not the " \
            "daemon %d" % (rec["ppid"], d)
        assert rec["fds"] == [0, 1, 2], \
            "exit command inherited fds %r" % rec["fds"]
        assert rec["env"].get("_OCI_SYNCPIPE") == "3", \
            "environment not passed unchanged (no _OCI_SYNCPIPE)"
        assert rec["oom"] == read_file("/proc/self/oom_score_adj").strip(), \
            "exit command's oom_score_adj %s not restored" % rec["oom"]
        assert os.stat(os.path.join(out, "args")).st_mtime_ns >= \
            os.stat(c.exit_file).st_mtime_ns, "ran before the exit file"
        c.wait_gone(d)


def test_exit_delay():
    """--exit-delay 1: the command runs about a second after the exit file
    appears, and the daemon waits for it (spec 10.5)."""
    with Case() as c:
        out, d, ran_early, daemon_alive, _ = _run(c, delay=1)
        assert not ran_early
        assert daemon_alive, "daemon gone before its delayed exit command"
        gap = (os.stat(os.path.join(out, "args")).st_mtime_ns -
               os.stat(c.exit_file).st_mtime_ns) / 1e9
        assert gap >= 0.9, "exit command ran %.2f s after the exit file" % gap
        c.wait_gone(d)


@ref_differs("2.1.6 passes on its blocked SIGCHLD/SIGUSR1 (spec 10.5: "
             "vigil should not)")
def test_exit_command_empty_signal_mask():
    # Only the mask: the probe is Python, which ignores SIGPIPE itself, so
    # it cannot tell an inherited ignored SIGPIPE from its own.
    with Case() as c:
        _out, _d, _e, _a, rec = _run(c)
        assert int(rec["sigblk"], 16) == 0, \
            "exit command starts with signals blocked: %s" % rec["sigblk"]
