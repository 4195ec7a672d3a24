#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
tests/integration/run.py: runs the integration tests against $CONMON (default
build/conmon) with real runc. Each test runs in its own process with a time
limit; whatever it leaves behind (containers in its private runc root,
processes mentioning its directory or container id) is removed afterwards.

usage: run.py [-j JOBS] [--list] [--timeout S] [NAME...]
       run.py --demo [CONMON]

NAME selects tests: a test function (with or without the test_ prefix), a
file (test_log or log), a shell pattern (*sec2*) or a substring (sec45).
TESTS="a b" in the environment does the same. VIGIL_IT_JOBS=N runs N tests
at once; VIGIL_IT_KEEP=1 keeps the test directories; VIGIL_IT_REFERENCE=0/1
overrides the detection of the reference conmon 2.1.6;
VIGIL_IT_ATTACH_REFUSED=opt,... (empty: none) that of the attach options
the monitor refuses, VIGIL_IT_EXEC_REFUSED=opt,... that of the exec and
restore options (harness.EXEC_OPTIONS).

Prints ok / FAIL / skip <reason> per test and ends with
`N passed, N failed[, N skipped]`; exits 1 on any failure.
"""

import fnmatch
import glob
import importlib
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.dont_write_bytecode = True      # no __pycache__ in the source tree

import harness  # noqa: E402

DEFAULT_TIMEOUT = float(os.environ.get("VIGIL_IT_TIMEOUT", "60"))


class TestTimeout(BaseException):
    """Raised in a test process on SIGTERM from the runner (time limit), so
    that the test's cleanup still runs."""


def discover():
    """[(module name, function name, function)] in file and source order."""
    tests = []
    for path in sorted(glob.glob(os.path.join(HERE, "test_*.py"))):
        mod_name = os.path.basename(path)[:-3]
        mod = importlib.import_module(mod_name)
        fns = [(getattr(mod, n).__code__.co_firstlineno, n, getattr(mod, n))
               for n in dir(mod)
               if n.startswith("test_") and callable(getattr(mod, n))
               and getattr(getattr(mod, n), "__module__", "") == mod_name]
        for _line, n, fn in sorted(fns):
            tests.append((mod_name, n, fn))
    return tests


def selected(tests, names):
    """Tests matching any of names: exactly (function or file, with or
    without test_), else as a shell pattern, else as a substring."""
    if not names:
        return tests

    def cands(t):
        return {t[0], t[0][5:], t[1], t[1][5:]}
    out = set()
    for n in names:
        hits = [t for t in tests if n in cands(t)]
        if not hits:
            pat = n if any(ch in n for ch in "*?[") else "*%s*" % n
            hits = [t for t in tests
                    if any(fnmatch.fnmatchcase(x, pat) for x in cands(t))]
        out.update(t[1] for t in hits)
    return [t for t in tests if t[1] in out]


# ---------------------------------------------------------------------------
# The test process

def run_one(spec, result_path):
    mod_name, fn_name = spec.split(":")

    def on_term(_sig, _frm):
        raise TestTimeout("time limit reached")
    signal.signal(signal.SIGTERM, on_term)
    res = {"status": "fail", "reason": ""}
    try:
        fn = getattr(importlib.import_module(mod_name), fn_name)
        fn()
        res = {"status": "ok"}
    except harness.Skip as e:
        res = {"status": "skip", "reason": str(e)}
    except TestTimeout:
        traceback.print_exc(file=sys.stdout)
        res = {"status": "fail", "reason": "time limit reached"}
    except AssertionError as e:
        traceback.print_exc(file=sys.stdout)
        res = {"status": "fail", "reason": str(e).splitlines()[0] if str(e)
               else "assertion failed"}
    except BaseException as e:
        traceback.print_exc(file=sys.stdout)
        res = {"status": "fail", "reason": "%s: %s" % (type(e).__name__, e)}
    sys.stdout.flush()
    with open(result_path, "w") as f:
        json.dump(res, f)
    return 0


# ---------------------------------------------------------------------------
# The runner

def sweep(tmpdir, token):
    """Remove what a test left: containers in runc roots below tmpdir, then
    every process mentioning tmpdir or the test's container-id prefix."""
    for root in glob.glob(os.path.join(tmpdir, "*", "runc")):
        for cid in os.listdir(root):
            subprocess.run([harness.RUNC, "--root", root, "delete", "-f", cid],
                           capture_output=True, timeout=30)
    return harness.kill_leftovers([tmpdir + "/", "vit-%s-" % token],
                                  exclude=(os.getpid(),))


class Running:
    def __init__(self, idx, test, base, runtoken, limit):
        self.idx = idx
        self.mod, self.name, fn = test
        self.limit = getattr(fn, "timeout", limit)
        self.tmp = os.path.join(base, "%03d" % idx)
        os.makedirs(self.tmp)
        self.token = "%s%03d" % (runtoken, idx)
        self.result = os.path.join(self.tmp, "result.json")
        self.out = os.path.join(self.tmp, "output.txt")
        env = dict(os.environ, VIGIL_IT_TMP=self.tmp, VIGIL_IT_TEST=self.name,
                   VIGIL_IT_TOKEN=self.token, PYTHONDONTWRITEBYTECODE="1")
        with open(self.out, "wb") as f:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__), "--one",
                 "%s:%s" % (self.mod, self.name), self.result],
                stdout=f, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                env=env, cwd=self.tmp, start_new_session=True)
        self.t0 = time.monotonic()
        self.termed = None

    def poll(self):
        """True when finished (enforcing the time limit)."""
        if self.proc.poll() is not None:
            return True
        now = time.monotonic()
        if self.termed is None and now - self.t0 > self.limit:
            self.termed = now
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        elif self.termed is not None and now - self.termed > 15:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        return False

    def finish(self):
        secs = time.monotonic() - self.t0
        try:
            with open(self.result) as f:
                res = json.load(f)
        except (OSError, ValueError):
            res = {"status": "fail", "reason": "test process died (status %s)"
                   % self.proc.returncode}
        if self.termed is not None:
            res = {"status": "fail", "reason": "time limit (%.0f s) reached"
                   % self.limit}
        leftovers = sweep(self.tmp, self.token)
        try:
            with open(self.out, errors="replace") as f:
                output = f.read()
        except OSError:
            output = ""
        if leftovers:
            res["note"] = "runner killed leftover processes %s" % leftovers
        return res, secs, output


def report(name, res, secs, output):
    st = res["status"]
    note = "  [%s]" % res["note"] if res.get("note") else ""
    if st == "ok":
        print("ok   %s (%.1f s)%s" % (name, secs, note), flush=True)
        # what a passing test measured (style.md: it prints it)
        for line in output.rstrip().splitlines()[-20:]:
            print("     > " + line)
        sys.stdout.flush()
    elif st == "skip":
        print("skip %s: %s" % (name, res.get("reason", "")), flush=True)
    else:
        print("FAIL %s (%.1f s): %s%s" % (name, secs, res.get("reason", ""),
                                          note), flush=True)
        lines = output.rstrip().splitlines()
        if len(lines) > 60:
            lines = ["..."] + lines[-60:]
        for line in lines:
            print("     | " + line)
        sys.stdout.flush()


def main(argv):
    jobs = int(os.environ.get("VIGIL_IT_JOBS", "1"))
    limit = DEFAULT_TIMEOUT
    names, listing = [], False
    i = 0
    while i < len(argv):
        a = argv[i]
        if a in ("-j", "--jobs"):
            jobs = int(argv[i + 1])
            i += 1
        elif a.startswith("-j") and a[2:].isdigit():
            jobs = int(a[2:])
        elif a == "--timeout":
            limit = float(argv[i + 1])
            i += 1
        elif a == "--list":
            listing = True
        elif a in ("-h", "--help"):
            print(__doc__.strip())
            return 0
        else:
            names.append(a)
        i += 1
    names += os.environ.get("TESTS", "").replace(",", " ").split()
    tests = selected(discover(), names)
    if listing:
        for mod, n, fn in tests:
            note = getattr(fn, "ref_differs", None)
            print("%s:%s%s" % (mod, n, "  [ref_differs: %s]" % note
                               if note else ""))
        return 0
    if names and not tests:
        print("no test matches %s" % " ".join(names))
        print("0 passed, 1 failed")
        return 1

    out, err, st = harness.conmon_version()
    ref = harness.is_reference()
    os.environ["VIGIL_IT_REFERENCE"] = "1" if ref else "0"  # for the tests
    sockdir = harness.accepts_socket_dir()   # exported the same way
    refused = harness.refused_options()      # and this (attach tests)
    exec_refused = harness.exec_refused()    # and this (exec, restore)
    print("# monitor: %s (%s)%s" % (harness.CONMON, out.splitlines()[0] if
          out.strip() else "--version: status %s %s" % (st, err.strip()),
          ", the reference: ref_differs tests skipped" if ref else ""))
    print("# runc: %s, %d test(s), %d job(s)" % (harness.RUNC, len(tests),
                                                   jobs))
    if not sockdir:
        print("# the monitor refuses --socket-dir-path: tests run without it")
    if refused:
        print("# the monitor refuses %s: the attach, terminal and ctl tests "
              "(issue 4) skip" % ", ".join(refused))
    need = [o for o in exec_refused if o != "--log-global-size-max"]
    if need:
        print("# the monitor refuses %s: the exec and restore tests "
              "(issue 5) that need them skip" % ", ".join(need))
    if "--log-global-size-max" in exec_refused:
        print("# the monitor refuses --log-global-size-max: CRI-O's "
              "exec-sync command line (test_exec) runs without it")
    sys.stdout.flush()
    if os.geteuid() != 0:
        print("# warning: not root; runc containers need root")
    try:
        harness.ensure_rootfs()
    except Exception as e:
        print("# cannot build the test rootfs: %s" % e)

    base = tempfile.mkdtemp(prefix="vit.")
    runtoken = os.urandom(2).hex()
    counts = {"ok": 0, "fail": 0, "skip": 0}
    queue = list(enumerate(tests))
    running = []
    try:
        while queue or running:
            while queue and len(running) < max(jobs, 1):
                idx, t = queue.pop(0)
                reason = getattr(t[2], "ref_differs", None)
                if ref and reason:
                    counts["skip"] += 1
                    report(t[1], {"status": "skip", "reason":
                                  "ref_differs: " + reason}, 0, "")
                    continue
                running.append(Running(idx, t, base, runtoken, limit))
            for r in list(running):
                if r.poll():
                    running.remove(r)
                    res, secs, output = r.finish()
                    counts[res["status"]] = counts.get(res["status"], 0) + 1
                    report(r.name, res, secs, output)
            time.sleep(0.02)
    finally:
        for r in running:
            try:
                os.killpg(r.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            sweep(r.tmp, r.token)
        if os.environ.get("VIGIL_IT_KEEP") != "1":
            subprocess.run(["rm", "-rf", base])
        else:
            print("# kept %s" % base)
    line = "%d passed, %d failed" % (counts["ok"], counts["fail"])
    if counts["skip"]:
        line += ", %d skipped" % counts["skip"]
    print(line, flush=True)
    return 1 if counts["fail"] else 0


# ---------------------------------------------------------------------------
# make demo

def demo(conmon):
    """One busybox container under the given monitor with runc: print the
    log lines and the exit code from the exit file."""
    if conmon:
        harness.CONMON = os.path.abspath(conmon)
    print("monitor: %s" % harness.CONMON)
    print("rootfs:  %s" % harness.ensure_rootfs())
    with harness.Case("test_demo") as c:
        c.bundle(["/bin/sh", "-c",
                  "echo hello from vigil; echo oops >&2; exit 3"])
        m = c.start()
        print("container pid %d, monitor daemon pid %s" % (
            m.container_pid, c.daemon_pid(required=False)))
        c.runc_start()
        code = c.wait_exit()
        print("log (%s):" % c.log_path)
        with open(c.log_path, "rb") as f:
            for line in f:
                print("  " + line.decode(errors="replace").rstrip("\n"))
        print("exit code (from %s): %s" % (c.exit_file, code))
    return 0


if __name__ == "__main__":
    if len(sys.argv) >= 2 and sys.argv[1] == "--one":
        sys.exit(run_one(sys.argv[2], sys.argv[3]))
    if len(sys.argv) >= 2 and sys.argv[1] == "--demo":
        sys.exit(demo(sys.argv[2] if len(sys.argv) > 2 else None))
    sys.exit(main(sys.argv[1:]))
