#!/usr/bin/env python3
# SPDX-License-Identifier: Apache-2.0
"""
bench/bench.py: vigil and Debian's conmon side by side (issue 9), driven
directly with runc and the busybox bundle of tests/integration/harness.py.

    python3 bench/bench.py BUILD/conmon        (make bench, through run.sh)

Environment: QUICK=1 for the short version (10 containers instead of 50,
64 MiB of log instead of 512 MiB, 5 runs of everything); BENCH_CONMON (the
reference, default /usr/bin/conmon); BENCH_RUNS (runs per figure, at least
5); BENCH_FIGURES (e.g. "1,3": only those figures); BENCH_TMP (directory
for bundles and logs, default /tmp: a disk file system, as on a node);
BENCH_SYNC_LOG=1 (figures 2 and 4 without --no-sync-log, see below).

Every figure runs the two monitors alternately, run by run (ABBA order),
and prints min and median; the ratio is of the medians. Results go to
build/bench/results.tsv (one row per metric) and build/bench/samples.tsv
(every sample). A missed target is a number, never a failure; the exit
status is 1 only if a log failed its byte-for-byte check.

How each figure is measured:
 1. Memory: each container runs `sleep`; once every monitor process is
    asleep, Pss/Rss from /proc/PID/smaps_rollup are summed over the
    monitor's processes: the daemon (its --conmon-pidfile) and its
    descendants except the container (the pid in the sync record) and the
    container's descendants. So vigil counts reaper, logger and broker;
    conmon its one process. fds: entries of /proc/PID/fd, summed likewise.
 2. Log throughput: the container runs bench/gen (static, bind-mounted),
    which writes deterministic 80-byte lines in 4096-byte writes (a stdio
    buffer), 1 MiB lines one write each, or both streams alternately.
    MiB/s = container bytes / (time from `runc start` to the exit file
    appearing, seen by inotify). Both monitors get --no-sync-log and the
    copy below does not fsync either: otherwise every run ends with an
    fsync of the whole log (800 MB for 512 MiB of 80-byte lines), which
    measures the disk, the same for both, and on this VM swings between
    0.2 and 2 s; BENCH_SYNC_LOG=1 puts it back.
    CPU: the launcher is put into a cpuacct cgroup of its own before it
    execs (bench/mlaunch -c), so every monitor process is charged there
    until it exits, even one that is gone before its /proc/PID/stat could
    be sampled; the runtime is bench/rtwrap, which moves `runc create` into
    another cgroup before it execs runc, and runc puts the container below
    that one (cpuacct only: with cpu and cpuacct mounted together, or the
    v2 cpu controller on, the groups would also be scheduled as groups).
    CPU per MiB = cpuacct.usage once every monitor process has
    exited minus cpuacct.usage just before `runc start`, divided by the MiB
    the container wrote. The log is then read back by bench/k8scat, which
    checks every record's format and rebuilds each stream (F: content+LF,
    P: content); the sha256 of each stream must equal bench/gen's.
 3. Latency, timed in C by bench/mlaunch from the child's clock just before
    its execv() (mlaunch's own fork and the files it opens for the
    monitor's stdio are not the monitor's): exec of the monitor -> launcher
    exit; exec -> the pid record on the sync pipe (runc create inside);
    exec -> exit file of a container running `true` (create, runc start,
    exit, exit file).
 4. Attach (skipped while vigil refuses --full-attach), podman's way:
    --full-attach, the client (bench/attach) connects to <bundle>/attach
    before `runc start`. Throughput: gen's 80-byte lines (as many as in
    figure 2: 512 MiB, 64 in QUICK), stdout payload bytes the client
    received / (runc start -> last record), and in a row without target
    the first 64 MiB (16 in QUICK) / (runc start -> the record that made
    them), the figure's old size, which mostly measures the scheduler's
    placement right after start; the share of the output it received;
    the monitor's CPU per
    MiB, taken as in figure 2 (runc through bench/rtwrap); the log must
    still be whole. Round trip: the container runs `cat` with --stdin;
    the client sends a 64-byte line and waits for it to come back, from
    `runc start` on; the target's figure is the median of the 2000 (500 in
    QUICK) taken once 250 ms have passed, a row without target the median
    of the first 200 (50), and another the median of 100 (30) isolated
    inputs, each sent 10 ms after the last echo came back (every process
    is asleep when one comes, as between typed keys).
 5. Machine limits in the same run: bench/pipecopy copies gen's output from
    pipes into the same directory's file system (read/write of 64 KiB, fsync
    only with BENCH_SYNC_LOG=1), with the same writes; Pss of bench/idle
    (static musl, only pause()s) and bench/idle0 (no libc), one copy and as
    many copies as containers; bench/spawn's fork+execve+waitpid of the
    static bench/true, and exec -> exit of bench/true on figure 3's clock
    (mlaunch), the launcher's floor.
"""

import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(REPO, "tests", "integration"))
import harness as H  # noqa: E402

BIN = os.path.join(REPO, "build", "bench")
QUICK = os.environ.get("QUICK") == "1"
RUNS = max(5, int(os.environ.get("BENCH_RUNS") or 5))
LAT_RUNS = max(RUNS, 5 if QUICK else 30)
N_IDLE = 10 if QUICK else 50
LOG_BYTES = (64 if QUICK else 512) << 20
# figure 4's throughput: as much output as figure 2's runs; the old figure,
# the first ATTACH_FIRST after start, is a row without target (README,
# "Why attach throughput swings")
ATTACH_BYTES = LOG_BYTES
ATTACH_FIRST = (16 if QUICK else 64) << 20
# figure 4's round trips: RTT_FIRST right after `runc start`, then, once
# RTT_WARM_MS have passed, RTT_ROUNDS measured (the target's figure; see
# bench/attach.c and README, "Why the round trip swings")
RTT_FIRST = 50 if QUICK else 200
RTT_WARM_MS = 250
RTT_ROUNDS = 500 if QUICK else 2000
# then RTT_SPACED isolated inputs, each RTT_GAP_MS after the last echo
RTT_SPACED = 30 if QUICK else 100
RTT_GAP_MS = 10
RUNC = H.RUNC
SYNC_LOG = os.environ.get("BENCH_SYNC_LOG") == "1"
FIGURES = set((os.environ.get("BENCH_FIGURES") or "1,2,3,4,5").split(","))
MIB = float(1 << 20)

MODES = [
    # key, title, line bytes, bytes per write (0: one line), streams
    ("80", "80-byte lines", 80, 4096, 1),
    ("1m", "1 MiB lines", 1 << 20, 0, 1),
    ("mix", "stdout+stderr interleaved, 80-byte lines", 80, 4096, 2),
]


def log(msg):
    sys.stderr.write(msg + "\n")
    sys.stderr.flush()


class Monitor:
    def __init__(self, name, path, socket_dir):
        self.name = name
        self.path = path
        self.socket_dir = socket_dir

    def __repr__(self):
        return self.name


def refuses(path, option):
    """Whether the monitor answers "option --X is not supported yet"
    (probe as harness.accepts_socket_dir: the runtime is a directory, so
    a monitor that takes the option fails at once, touching only d)."""
    d = tempfile.mkdtemp(prefix="vigil-bench-probe.")
    try:
        os.mkdir(os.path.join(d, "rt"))
        os.mkdir(os.path.join(d, "sock"))
        args = [path, "-c", "bprobe", "-u", "bprobe",
                "-r", os.path.join(d, "rt"), "-b", d,
                "-p", os.path.join(d, "pid"), "-l", "none", "--sync"]
        args += {"--socket-dir-path": [option, os.path.join(d, "sock")]}.get(
            option, [option])
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("_OCI_")}
        p = subprocess.run(args, capture_output=True, text=True, env=env,
                           errors="replace", timeout=20, cwd=d,
                           stdin=subprocess.DEVNULL)
        return "not supported" in p.stderr
    except (OSError, subprocess.TimeoutExpired):
        return False
    finally:
        shutil.rmtree(d, ignore_errors=True)


# --------------------------------------------------------------------------
# Results

class Results:
    def __init__(self):
        self.samples = {}   # (metric, subject) -> [values]
        self.failures = []

    def add(self, metric, subject, value):
        if value is None:
            return
        self.samples.setdefault((metric, subject), []).append(value)

    def get(self, metric, subject):
        return self.samples.get((metric, subject), [])

    def fail(self, what):
        log("bench: FAILED: " + what)
        self.failures.append(what)


R = Results()


def stats(v):
    if not v:
        return None, None
    return min(v), statistics.median(v)


def ordered(mons, r):
    """ABBA: alternate which monitor goes first, run by run."""
    return list(mons) if r % 2 == 0 else list(reversed(mons))


# --------------------------------------------------------------------------
# /proc

def read_smaps(pid):
    out = {}
    try:
        with open("/proc/%d/smaps_rollup" % pid) as f:
            for line in f:
                k, _, v = line.partition(":")
                if k in ("Rss", "Pss", "Pss_Anon"):
                    out[k] = int(v.split()[0])
    except OSError:
        return None
    return out


def ppid_map():
    kids = {}
    for p in H.all_pids():
        st = H.proc_stat(p)
        if st and st[0] not in ("Z", "X"):
            kids.setdefault(st[1], []).append(p)
    return kids


def monitor_pids(daemon, container, kids):
    """The daemon and its descendants, without the container's subtree."""
    out, todo = [], [daemon]
    while todo:
        p = todo.pop()
        if p == container:
            continue
        out.append(p)
        todo += kids.get(p, [])
    return sorted(out)


# --------------------------------------------------------------------------
# Containers

class Run:
    """One container under one monitor: a harness Case (directories,
    bundle, cleanup) and bench/mlaunch, which holds the manager's ends of
    the pipes until finish()."""

    def __init__(self, mon, name):
        self.mon = mon
        os.environ["VIGIL_IT_SOCKET_DIR"] = "1" if mon.socket_dir else "0"
        self.c = H.Case(name)
        self.proc = None
        self.launch_ns = self.pid_ns = None
        self.cycle = None

    def launch(self, args, cgroup=None, cycle=False, env=None):
        c = self.c
        cmd = [os.path.join(BIN, "mlaunch"),
               "-o", os.path.join(c.dir, "mon.out"),
               "-e", os.path.join(c.dir, "mon.err")]
        if cgroup:
            cmd += ["-c", cgroup]
        if cycle:
            cmd += ["-r", RUNC, "-R", c.runc_root, "-i", c.cid,
                    "-x", c.exit_file]
        cmd += ["--", self.mon.path] + list(args)
        e = dict(os.environ)
        e.update(env or {})
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, env=e,
                                     cwd=c.dir)
        line = self.proc.stdout.readline().decode(errors="replace")
        parts = line.split(" ", 4)
        if len(parts) < 5 or parts[0] != "pid":
            raise RuntimeError("%s: mlaunch said %r; stderr %r" % (
                self.mon, line, self.stderr()))
        self.launch_ns, self.pid_ns = int(parts[1]), int(parts[2])
        status = int(parts[3])
        rec = parts[4].strip()
        try:
            pid = json.loads(rec).get("data", 0) if rec else 0
        except ValueError:
            pid = 0
        if status != 0 or not isinstance(pid, int) or pid <= 0:
            raise RuntimeError("%s: launcher status %d, record %r; "
                               "stderr %r" % (self.mon, status, rec,
                                              self.stderr()))
        c.container_pid = pid
        if cycle:
            line = self.proc.stdout.readline().decode().split()
            if len(line) != 3 or line[0] != "cycle" or line[2] == "0":
                raise RuntimeError("%s: cycle failed: %r; stderr %r" % (
                    self.mon, line, self.stderr()))
            self.cycle = int(line[2])
        return pid

    def stderr(self):
        try:
            return H.read_file(os.path.join(self.c.dir, "mon.err"))[-500:]
        except OSError:
            return ""

    def finish(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()
                self.proc.wait(10)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
            self.proc.stdout.close()
            self.proc = None
        self.c.cleanup()


# --------------------------------------------------------------------------
# cgroups (cgroup v1 cpuacct or the v2 unified hierarchy)

class Cgroups:
    def __init__(self):
        self.base = None
        for root, v2 in (("/sys/fs/cgroup/cpuacct", False),
                         ("/sys/fs/cgroup/unified", True),
                         ("/sys/fs/cgroup", True)):
            if v2 and not os.path.exists(os.path.join(root, "cpu.stat")) \
                    and not os.path.exists(os.path.join(root,
                                                        "cgroup.controllers")):
                continue
            if not v2 and not os.path.exists(os.path.join(root,
                                                          "cpuacct.usage")):
                continue
            base = os.path.join(root, "vigil-bench.%d" % os.getpid())
            try:
                os.makedirs(os.path.join(base, "mon"))
                os.makedirs(os.path.join(base, "rt"))
            except OSError:
                shutil.rmtree(base, ignore_errors=True)
                continue
            self.base, self.v2 = base, v2
            break

    def procs(self, name):
        return os.path.join(self.base, name, "cgroup.procs")

    def usage_ns(self, name):
        d = os.path.join(self.base, name)
        if not self.v2:
            return int(H.read_file(os.path.join(d, "cpuacct.usage")))
        for line in H.read_file(os.path.join(d, "cpu.stat")).splitlines():
            k, _, v = line.partition(" ")
            if k == "usage_usec":
                return int(v) * 1000
        raise RuntimeError("no usage_usec in %s/cpu.stat" % d)

    def members(self, name):
        try:
            return [int(x) for x in H.read_file(self.procs(name)).split()]
        except OSError:
            return []

    def remove(self):
        if not self.base:
            return
        for sub in ("mon", "rt", ""):
            d = os.path.join(self.base, sub)
            for dirpath, dirnames, _ in sorted(os.walk(d), reverse=True,
                                               key=lambda t: len(t[0])):
                try:
                    os.rmdir(dirpath)
                except OSError:
                    pass


# --------------------------------------------------------------------------
# Figure 1: memory of idle containers

def all_asleep(pids):
    for p in pids:
        st = H.proc_stat(p)
        if st is None or st[0] not in ("S", "D", "I"):
            return False
    return True


def idle_set(mon, n, r):
    """n idle containers under mon; returns per-container sums."""
    runs = []
    try:
        for i in range(n):
            run = Run(mon, "bench_idle_%s_%d_%d" % (mon.name, r, i))
            runs.append(run)
            run.c.bundle(["/bin/sleep", "1000000"])
            run.launch(run.c.args())
            run.c.runc_start()
        kids = ppid_map()
        groups = []
        for run in runs:
            groups.append(monitor_pids(run.c.daemon_pid(),
                                       run.c.container_pid, kids))
        allp = [p for g in groups for p in g]
        H.wait_for(lambda: all_asleep(allp), 10, "monitors to be idle")
        time.sleep(0.2)
        tot = {"Pss": 0, "Rss": 0, "Pss_Anon": 0, "fds": 0, "procs": 0}
        for g in groups:
            for p in g:
                sm = read_smaps(p)
                if sm is None:
                    raise RuntimeError("%s: pid %d vanished" % (mon, p))
                tot["Pss"] += sm["Pss"]
                tot["Rss"] += sm["Rss"]
                tot["Pss_Anon"] += sm.get("Pss_Anon", 0)
                tot["fds"] += len(H.proc_fds(p))
                tot["procs"] += 1
        return {k: v / float(n) for k, v in tot.items()}
    finally:
        for run in runs:
            run.finish()


def figure1(mons):
    log("figure 1: memory (1 and %d idle containers, %d runs)" %
        (N_IDLE, RUNS))
    for r in range(RUNS):
        for mon in ordered(mons, r):
            for n, tag in ((1, "1"), (N_IDLE, "n")):
                try:
                    t = idle_set(mon, n, r)
                except Exception as e:  # a number is never a failure
                    log("  %s: %s" % (mon, e))
                    continue
                R.add("pss_" + tag, mon.name, t["Pss"])
                R.add("rss_" + tag, mon.name, t["Rss"])
                if tag == "n":
                    R.add("pss_anon_n", mon.name, t["Pss_Anon"])
                    R.add("fds", mon.name, t["fds"])
                    R.add("procs", mon.name, t["procs"])
        log("  run %d: pss %s" % (r + 1, ", ".join(
            "%s %.0f/%.0f kB" % (m.name, R.get("pss_1", m.name)[-1]
                                 if R.get("pss_1", m.name) else 0,
                                 R.get("pss_n", m.name)[-1]
                                 if R.get("pss_n", m.name) else 0)
            for m in mons)))


def idle_static_pss(prog, n):
    """Pss/Rss per process of n copies of a static program that waits."""
    path = os.path.join(BIN, prog)
    procs = []
    try:
        for _ in range(n):
            procs.append(subprocess.Popen([path]))
        pids = [p.pid for p in procs]
        H.wait_for(lambda: all_asleep(pids) and all(
            H.proc_cmdline(p) == [path] for p in pids), 5,
            "%s to pause" % prog)
        time.sleep(0.05)
        tot = {"Pss": 0, "Rss": 0, "Pss_Anon": 0}
        for p in pids:
            sm = read_smaps(p) or {}
            for k in tot:
                tot[k] += sm.get(k, 0)
        return {k: v / float(n) for k, v in tot.items()}
    finally:
        for p in procs:
            p.kill()
            p.wait()


# --------------------------------------------------------------------------
# Figure 2: log throughput

_expected = {}


def expected_sha(mode, stream, total=LOG_BYTES):
    key = (mode[0], stream, total)
    if key not in _expected:
        _, _, line, wsize, streams = mode
        gen = [os.path.join(BIN, "gen"), str(line), str(total),
               str(wsize), str(streams)]
        fdsel = "2>/dev/null" if stream == "stdout" else "2>&1 >/dev/null"
        cmd = "%s %s | sha256sum" % (" ".join(gen), fdsel)
        out = subprocess.run(["sh", "-c", cmd], capture_output=True,
                             text=True, check=True).stdout
        _expected[key] = out.split()[0]
    return _expected[key]


def check_log(path, mode, total=LOG_BYTES):
    """Returns (ok, records) after checking each stream byte for byte."""
    streams = ["stdout", "stderr"] if mode[4] == 2 else ["stdout"]
    recs = 0
    for s in streams:
        p1 = subprocess.Popen([os.path.join(BIN, "k8scat"), path, s],
                              stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE)
        p2 = subprocess.run(["sha256sum"], stdin=p1.stdout,
                            capture_output=True, text=True)
        p1.stdout.close()
        err = p1.stderr.read().decode(errors="replace")
        p1.stderr.close()
        if p1.wait() != 0:
            return False, "k8scat %s: %s" % (s, err.strip())
        m = re.search(r"records (\d+) (\d+)", err)
        if m:
            recs += int(m.group(1)) + int(m.group(2))
        got = p2.stdout.split()[0]
        if got != expected_sha(mode, s, total):
            return False, "%s sha256 %s, expected %s" % (
                s, got, expected_sha(mode, s, total))
    return True, recs


def gen_argv(mode, prefix, total=LOG_BYTES):
    _, _, line, wsize, streams = mode
    return [prefix + "gen", str(line), str(total), str(wsize),
            str(streams)]


def mount_bench(cfg):
    # /tmp exists in the shared rootfs, so runc creates no mount point in it
    cfg["mounts"].append({"destination": "/tmp", "type": "bind",
                          "source": BIN, "options": ["rbind", "ro"]})


def launch_in_cgroups(run, cg, extra):
    """Launches run's monitor in cg's "mon" group with runc through
    bench/rtwrap (runc and the container in "rt", figure 2's way);
    returns the "mon" group's CPU time so far (ns)."""
    c = run.c
    run.launch(c.args(runtime=os.path.join(BIN, "rtwrap"),
                      extra=["--runtime-arg", "--root=" + c.runc_root] +
                      extra),
               cgroup=cg.procs("mon"),
               env={"BENCH_RT_CGROUP": cg.procs("rt"), "BENCH_RUNC": RUNC})
    return cg.usage_ns("mon")


def wait_monitor_gone(cg, mon):
    """Every process of the monitor has left cg's "mon" group."""
    H.wait_for(lambda: not cg.members("mon"), 60,
               "%s's processes to exit" % mon)


def log_run(mon, mode, r, cg):
    run = Run(mon, "bench_log_%s_%s_%d" % (mon.name, mode[0], r))
    c = run.c
    try:
        c.bundle(gen_argv(mode, "/tmp/"), edit=mount_bench)
        u0 = launch_in_cgroups(run, cg,
                               [] if SYNC_LOG else ["--no-sync-log"])
        with H.Inotify(c.exit_dir) as ino:
            t0 = time.monotonic()
            c.runc("start", c.cid)
            ino.wait(c.cid, timeout=600)
            t1 = time.monotonic()
        wait_monitor_gone(cg, mon)
        u1 = cg.usage_ns("mon")
        status = c.wait_exit(5).strip()
        if status != "0":
            raise RuntimeError("%s: container exit status %r" % (
                mon, status))
        size = os.path.getsize(c.log_path)
        ok, detail = check_log(c.log_path, mode)
        if not ok:
            R.fail("%s, %s, run %d: log check: %s" % (
                mon, mode[1], r + 1, detail))
            return None
        nbytes = LOG_BYTES // mode[4] // mode[2] * mode[2] * mode[4]
        return {"mibs": nbytes / MIB / (t1 - t0),
                "cpu": (u1 - u0) / 1e6 / (nbytes / MIB),
                "records": detail, "size": size}
    finally:
        run.finish()


def copy_run(mode, tmpdir):
    out = os.path.join(tmpdir, "copy.out")
    try:
        p = subprocess.run([os.path.join(BIN, "pipecopy"), out, "65536",
                            str(mode[4]), "1" if SYNC_LOG else "0"] +
                           gen_argv(mode, BIN + "/"),
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            raise RuntimeError("pipecopy: %s" % p.stderr.strip())
        nbytes, wall, cpu = (int(x) for x in p.stdout.split())
        return {"mibs": nbytes / MIB / (wall / 1e9),
                "cpu": cpu / 1e6 / (nbytes / MIB)}
    finally:
        try:
            os.unlink(out)
        except OSError:
            pass


def figure2(mons, cg, tmpdir):
    log("figure 2: log throughput, %d MiB per run, %d runs" %
        (LOG_BYTES >> 20, RUNS))
    for mode in MODES:
        for s in (["stdout", "stderr"] if mode[4] == 2 else ["stdout"]):
            expected_sha(mode, s)
        subjects = list(mons) + ["copy"]
        for r in range(RUNS):
            order = subjects[r % 3:] + subjects[:r % 3]
            if r % 2:
                order.reverse()
            line = []
            for subj in order:
                try:
                    if subj == "copy":
                        res = copy_run(mode, tmpdir)
                        name = "machine"
                    else:
                        res = log_run(subj, mode, r, cg)
                        name = subj.name
                except Exception as e:
                    log("  %s: %s" % (subj, e))
                    continue
                if res is None:
                    continue
                R.add("log_mibs_" + mode[0], name, res["mibs"])
                R.add("log_cpu_" + mode[0], name, res["cpu"])
                line.append("%s %.0f MiB/s %.2f ms/MiB%s" % (
                    name, res["mibs"], res["cpu"],
                    " (%d records)" % res["records"]
                    if "records" in res else ""))
            log("  %s, run %d: %s" % (mode[0], r + 1, "; ".join(line)))


# --------------------------------------------------------------------------
# Figure 3: latency

def latency_run(mon, r):
    run = Run(mon, "bench_lat_%s_%d" % (mon.name, r))
    try:
        run.c.bundle(["/bin/true"])
        run.launch(run.c.args(), cycle=True)
        st = run.c.wait_exit(20).strip()
        if st != "0":
            raise RuntimeError("%s: exit status %r" % (mon, st))
        return run.launch_ns, run.pid_ns, run.cycle
    finally:
        run.finish()


def figure3(mons):
    log("figure 3: latency, %d runs" % LAT_RUNS)
    for r in range(LAT_RUNS):
        for mon in ordered(mons, r):
            try:
                ln, pn, cy = latency_run(mon, r)
            except Exception as e:
                log("  %s: %s" % (mon, e))
                continue
            R.add("lat_launch", mon.name, ln / 1e6)
            R.add("lat_pid", mon.name, pn / 1e6)
            R.add("lat_cycle", mon.name, cy / 1e6)
    for mon in mons:
        log("  %s: launcher %s ms, pid %s ms, cycle %s ms" % (
            mon, *("%.2f" % stats(R.get(k, mon.name))[1]
                   if R.get(k, mon.name) else "-"
                   for k in ("lat_launch", "lat_pid", "lat_cycle"))))


# --------------------------------------------------------------------------
# Figure 4: attach (podman's way: --full-attach, <bundle>/attach)

def attach_read_run(mon, r, cg=None):
    """Throughput to one client connected before `runc start`: payload
    bytes of stdout records / (runc start -> last record), and with cg
    the monitor's CPU time per MiB of output, as in figure 2 (runc and the
    container in cg's "rt", the monitor's processes in "mon"). The client
    (bench/attach) checks every byte it receives against gen's stream at
    its place in the stream, in process; a stream with records missing
    (vigil may drop a client's records when it does not keep up, spec
    7.5) is recorded as the share delivered, and any received byte that is
    wrong or out of order fails the check."""
    mode = MODES[0]
    run = Run(mon, "bench_att_%s_%d" % (mon.name, r))
    c = run.c
    client = None
    try:
        c.bundle(gen_argv(mode, "/tmp/", ATTACH_BYTES), edit=mount_bench)
        extra = ["--full-attach"] + ([] if SYNC_LOG else ["--no-sync-log"])
        if cg is None:
            run.launch(c.args(extra=extra))
        else:
            u0 = launch_in_cgroups(run, cg, extra)
        client = subprocess.Popen(
            [os.path.join(BIN, "attach"), "read",
             os.path.join(c.bundle_dir, "attach"), str(mode[2]),
             str(ATTACH_FIRST)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        first = client.stderr.readline().decode().strip()
        if first != "connected":
            raise RuntimeError("%s: attach client: %r" % (mon, first))
        t0 = time.monotonic()
        c.runc("start", c.cid)
        rest = client.stderr.read().decode()
        client.wait(600)
        m = re.search(r"done (\d+) (\d+) (\d+) (\d+) (\d+) (\d+) (\d+)",
                      rest)
        if not m:
            raise RuntimeError("%s: attach client: %r" % (mon, rest))
        nbytes, last = int(m.group(1)), int(m.group(4)) / 1e9
        if int(m.group(7)):
            R.add("attach_mibs_start", mon.name, ATTACH_FIRST / MIB /
                  (int(m.group(7)) / 1e9 - t0))
        gaps, bad = int(m.group(5)), int(m.group(6))
        total = ATTACH_BYTES // mode[2] * mode[2]
        if bad:
            R.fail("%s, attach run %d: the client got %d bytes that are not "
                   "the container's output at their place" % (mon, r + 1, bad))
            return None
        if nbytes != total:
            log("  %s, attach run %d: the client got %d of %d bytes "
                "(%d gaps), every one checked" % (mon, r + 1, nbytes, total,
                                                  gaps))
        R.add("attach_delivered", mon.name, 100.0 * nbytes / total)
        c.wait_exit(60)
        if cg is not None:
            wait_monitor_gone(cg, mon)
            R.add("attach_cpu", mon.name,
                  (cg.usage_ns("mon") - u0) / 1e6 / (total / MIB))
        ok, detail = check_log(c.log_path, mode, ATTACH_BYTES)
        if not ok:  # the log must be whole, client or not
            R.fail("%s, attach run %d: log check: %s" % (mon, r + 1, detail))
        return nbytes / MIB / (last - t0)
    finally:
        if client is not None and client.poll() is None:
            client.kill()
            client.wait()
        if client is not None:
            client.stderr.close()
        run.finish()
        if cg is not None:  # a run cut short charges nothing to the next
            wait_monitor_gone(cg, mon)


def attach_rtt_run(mon, r):
    """Median stdin -> echo round trips (us) of a 64-byte line through
    `cat`: (after the warm-up, the first RTT_FIRST after start, isolated
    inputs RTT_GAP_MS apart)."""
    run = Run(mon, "bench_rtt_%s_%d" % (mon.name, r))
    c = run.c
    client = None
    try:
        c.bundle(["/bin/cat"])
        run.launch(c.args(extra=["--full-attach", "--stdin"]))
        client = subprocess.Popen(
            [os.path.join(BIN, "attach"), "rtt",
             os.path.join(c.bundle_dir, "attach"), str(RTT_ROUNDS), "64",
             str(RTT_WARM_MS), str(RTT_FIRST), str(RTT_SPACED),
             str(RTT_GAP_MS)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        first = client.stderr.readline().decode().strip()
        if first != "connected":
            raise RuntimeError("%s: attach client: %r" % (mon, first))
        c.runc_start()
        out, err = client.communicate(b"go\n", timeout=120)
        got = {"w": [], "": [], "s": []}
        for line in out.decode().splitlines():
            f = line.split()
            tag = f[0] if len(f) == 2 else ""
            if len(f) not in (1, 2) or tag not in got:
                raise RuntimeError("%s: attach client said %r" % (mon, line))
            got[tag].append(int(f[-1]) / 1e3)
        warm, vals, spaced = got["w"], got[""], got["s"]
        if (len(vals) != RTT_ROUNDS or len(warm) < RTT_FIRST or
                len(spaced) != RTT_SPACED):
            raise RuntimeError("%s: %d of %d round trips (%d before, %d of "
                               "%d isolated); %r" % (
                                   mon, len(vals), RTT_ROUNDS, len(warm),
                                   len(spaced), RTT_SPACED,
                                   err.decode()[-300:]))
        c.wait_exit(30)
        return (statistics.median(vals),
                statistics.median(warm[:RTT_FIRST]),
                statistics.median(spaced))
    finally:
        if client is not None and client.poll() is None:
            client.kill()
            client.communicate()
        run.finish()


def figure4(mons, cg):
    log("figure 4: attach, %d MiB per run; round trips per run: %d after "
        "start, then %d after %d ms, then %d isolated %d ms apart; %d runs"
        % (ATTACH_BYTES >> 20, RTT_FIRST, RTT_ROUNDS, RTT_WARM_MS,
           RTT_SPACED, RTT_GAP_MS, RUNS))
    for r in range(RUNS):
        line = []
        for mon in ordered(mons, r):
            try:
                v = attach_read_run(mon, r, cg if cg.base else None)
                R.add("attach_mibs", mon.name, v)
                if v is not None:
                    cpu = R.get("attach_cpu", mon.name) if cg.base else None
                    line.append("%s %.3g MiB/s%s" % (
                        mon, v, " %.2f ms/MiB" % cpu[-1] if cpu else ""))
            except Exception as e:
                log("  %s: %s" % (mon, e))
            try:
                v, v0, vs = attach_rtt_run(mon, r)
                R.add("attach_rtt", mon.name, v)
                R.add("attach_rtt_start", mon.name, v0)
                R.add("attach_rtt_spaced", mon.name, vs)
                line.append("%s %.3g us (%.3g us after start, %.3g us "
                            "isolated)" % (mon, v, v0, vs))
            except Exception as e:
                log("  %s: %s" % (mon, e))
        log("  run %d: %s" % (r + 1, "; ".join(line)))


# --------------------------------------------------------------------------
# Figure 5: machine limits (pipe->file copies are taken in figure 2)

def figure5():
    log("figure 5: machine limits")
    for r in range(RUNS):
        for prog, suffix in (("idle", ""), ("idle0", "_nolibc")):
            if not os.access(os.path.join(BIN, prog), os.X_OK):
                continue
            for n, tag in ((1, "1"), (N_IDLE, "n")):
                try:
                    sm = idle_static_pss(prog, n)
                except Exception as e:
                    log("  %s: %s" % (prog, e))
                    continue
                R.add("pss_" + tag + suffix, "machine", sm["Pss"])
                R.add("rss_" + tag + suffix, "machine", sm["Rss"])
                if tag == "n":
                    R.add("pss_anon_n" + suffix, "machine", sm["Pss_Anon"])
    p = subprocess.run([os.path.join(BIN, "spawn"), str(LAT_RUNS * 2),
                        os.path.join(BIN, "true")], capture_output=True,
                       text=True)
    for v in p.stdout.split():
        R.add("spawn", "machine", int(v) / 1e6)
    # the launcher figure's floor, on the launcher figure's clock: exec ->
    # exit of the static `true`, timed by mlaunch as the monitors are
    for _ in range(LAT_RUNS * 2):
        out = subprocess.run([os.path.join(BIN, "mlaunch"), "--",
                              os.path.join(BIN, "true")],
                             stdin=subprocess.DEVNULL, capture_output=True,
                             text=True).stdout.split()
        if len(out) >= 2 and out[0] == "pid":
            R.add("lat_launch", "machine", int(out[1]) / 1e6)


# --------------------------------------------------------------------------
# The table

# metric, figure, title, unit, better ("lo"/"hi"), target ratio or None
TABLE = [
    ("pss_1", "1", "PSS, monitor processes, 1 idle container", "kB", "lo",
     None),
    ("rss_1", "1", "RSS, monitor processes, 1 idle container", "kB", "lo",
     None),
    ("pss_n", "1", "PSS per container, %d idle containers" % N_IDLE, "kB",
     "lo", 0.5),
    ("pss_anon_n", "1", "  of which anonymous (Pss_Anon)", "kB", "lo", None),
    ("rss_n", "1", "RSS per container, %d idle containers" % N_IDLE, "kB",
     "lo", None),
    ("fds", "1", "fds per container (monitor processes)", "fds", "lo", None),
    ("procs", "1", "monitor processes per container", "procs", "lo", None),
]
for _m in MODES:
    TABLE += [
        ("log_mibs_" + _m[0], "2", "log throughput, " + _m[1], "MiB/s", "hi",
         {"80": 3.0, "1m": 1.5}.get(_m[0])),
        ("log_cpu_" + _m[0], "2", "monitor CPU per MiB, " + _m[1], "ms/MiB",
         "lo", {"80": 0.3}.get(_m[0])),
    ]
TABLE += [
    ("lat_launch", "3", "launcher start (exec -> launcher exit)", "ms", "lo",
     0.3),
    ("lat_pid", "3", "create -> pid reported (exec -> sync record)", "ms",
     "lo", 1.0),
    ("lat_cycle", "3", "create/start/exit cycle of `true` (exec -> exit "
     "file)", "ms", "lo", None),
    ("attach_mibs", "4", "attach throughput, one client", "MiB/s", "hi", 2.0),
    ("attach_mibs_start", "4", "  the first %d MiB after start" % (
        ATTACH_FIRST >> 20), "MiB/s", "hi", None),
    ("attach_delivered", "4", "attach: share of the output the client got",
     "%", "hi", None),
    ("attach_cpu", "4", "attach: monitor CPU per MiB to the client and "
     "the log", "ms/MiB", "lo", None),
    ("attach_rtt", "4", "attach stdin -> echo round trip (64 bytes, cat; "
     "after %d ms)" % RTT_WARM_MS, "us", "lo", 1.0),
    ("attach_rtt_start", "4", "  the first %d round trips after start"
     % RTT_FIRST, "us", "lo", None),
    ("attach_rtt_spaced", "4", "  isolated inputs, %d ms apart"
     % RTT_GAP_MS, "us", "lo", None),
    ("spawn", "5", "fork+exec+wait of a static `true` (musl)", "ms", "lo", None),
    ("pss_1_nolibc", "5", "PSS of a waiting process without libc, 1 copy",
     "kB", "lo", None),
    ("pss_n_nolibc", "5", "PSS of a waiting process without libc, "
     "%d copies" % N_IDLE, "kB", "lo", None),
]
# vigil against the machine's limit (pipe->file copy), figure 5
VS_MACHINE = [("log_mibs_80", 0.5), ("log_mibs_1m", None),
              ("log_mibs_mix", None)]


def fmt(v):
    if v is None:
        return "-"
    if abs(v) >= 100:
        return "%.0f" % v
    if abs(v) >= 10:
        return "%.1f" % v
    return "%.2f" % v


def verdict(ratio, target, better):
    if ratio is None or target is None:
        return ""
    ok = ratio >= target if better == "hi" else ratio <= target
    return "meets" if ok else "MISSES"


def table(mons, skipped):
    v, c = mons[0].name, mons[1].name
    rows = []
    for metric, fig, title, unit, better, target in TABLE:
        vm, vmed = stats(R.get(metric, v))
        cm, cmed = stats(R.get(metric, c))
        mm, mmed = stats(R.get(metric, "machine"))
        ratio = vmed / cmed if vmed is not None and cmed else None
        tstr = ""
        if target is not None:
            tstr = ("≥ %g×" if better == "hi" else "≤ %g×") % target
        note = skipped.get(fig, "")
        rows.append({"figure": fig, "metric": metric, "title": title,
                     "unit": unit, "vigil_min": vm, "vigil_median": vmed,
                     "conmon_min": cm, "conmon_median": cmed,
                     "machine_min": mm, "machine_median": mmed,
                     "ratio": ratio, "target": tstr,
                     "verdict": note or verdict(ratio, target, better),
                     "n": len(R.get(metric, v))})
    for metric, target in VS_MACHINE:
        vm, vmed = stats(R.get(metric, v))
        mm, mmed = stats(R.get(metric, "machine"))
        ratio = vmed / mmed if vmed is not None and mmed else None
        mode = [m for m in MODES if "log_mibs_" + m[0] == metric][0]
        rows.append({"figure": "5", "metric": metric + "_vs_copy",
                     "title": "vigil vs pipe->file copy, " + mode[1],
                     "unit": "MiB/s", "vigil_min": vm, "vigil_median": vmed,
                     "conmon_min": None, "conmon_median": None,
                     "machine_min": mm, "machine_median": mmed,
                     "ratio": ratio,
                     "target": "≥ %g× copy" % target if target else "",
                     "verdict": verdict(ratio, target, "hi"),
                     "n": len(R.get(metric, v))})
    return rows


def print_table(rows, mons):
    hdr = ["fig", "metric", "unit", "vigil min", "vigil med", "conmon min",
           "conmon med", "ratio", "target", "", "machine"]
    lines = [hdr]
    for r in rows:
        ratio = r["ratio"]
        if r["metric"].endswith("_vs_copy"):
            ratio_s = "%.2f×copy" % ratio if ratio is not None else "-"
        else:
            ratio_s = "%.2f" % ratio if ratio is not None else "-"
        mach = ""
        if r["machine_median"] is not None:
            mach = "%s/%s" % (fmt(r["machine_min"]),
                              fmt(r["machine_median"]))
        lines.append([r["figure"], r["title"], r["unit"],
                      fmt(r["vigil_min"]), fmt(r["vigil_median"]),
                      fmt(r["conmon_min"]), fmt(r["conmon_median"]),
                      ratio_s, r["target"], r["verdict"], mach])
    widths = [max(len(l[i]) for l in lines) for i in range(len(hdr))]
    out = []
    for i, l in enumerate(lines):
        out.append("  ".join(
            (s.ljust(widths[j]) if j in (0, 1, 2, 8, 9) else
             s.rjust(widths[j])) for j, s in enumerate(l)).rstrip())
        if i == 0:
            out.append("  ".join("-" * w for w in widths))
    print("\n".join(out))
    sys.stdout.flush()


def write_tsv(rows, mons):
    os.makedirs(BIN, exist_ok=True)
    cols = ["figure", "metric", "title", "unit", "vigil_min",
            "vigil_median", "conmon_min", "conmon_median", "machine_min",
            "machine_median", "ratio", "target", "verdict", "n"]
    with open(os.path.join(BIN, "results.tsv.tmp"), "w") as f:
        f.write("\t".join(cols) + "\n")
        for r in rows:
            f.write("\t".join(
                ("%.6g" % r[k]) if isinstance(r[k], float) else
                ("" if r[k] is None else str(r[k])) for k in cols) + "\n")
    os.rename(os.path.join(BIN, "results.tsv.tmp"),
              os.path.join(BIN, "results.tsv"))
    with open(os.path.join(BIN, "samples.tsv"), "w") as f:
        f.write("metric\tsubject\trun\tvalue\n")
        for (metric, subj), vals in sorted(R.samples.items()):
            for i, val in enumerate(vals):
                f.write("%s\t%s\t%d\t%.6g\n" % (metric, subj, i + 1, val))


# --------------------------------------------------------------------------

def main():
    if len(sys.argv) != 2:
        sys.exit("usage: bench.py VIGIL_BINARY")
    vigil_path = os.path.abspath(sys.argv[1])
    conmon_path = os.environ.get("BENCH_CONMON") or "/usr/bin/conmon"
    for p in (vigil_path, conmon_path, RUNC):
        if not os.access(p, os.X_OK):
            sys.exit("bench: %s is not executable" % p)
    tmpdir = tempfile.mkdtemp(prefix="vigil-bench.",
                              dir=os.environ.get("BENCH_TMP"))
    os.environ["VIGIL_IT_TMP"] = tmpdir
    os.environ.setdefault("VIGIL_IT_TOKEN", "b%d" % (os.getpid() % 100000))
    H.ensure_rootfs()
    vigil = Monitor("vigil", vigil_path,
                    not refuses(vigil_path, "--socket-dir-path"))
    conmon = Monitor("conmon", conmon_path, True)
    mons = [vigil, conmon]
    skipped = {}
    if refuses(vigil_path, "--full-attach"):
        skipped["4"] = "skipped: vigil has no attach socket yet"
    log("bench: %s vs %s (%s), runc %s; %s; tmp %s" % (
        vigil_path, conmon_path,
        subprocess.run([conmon_path, "--version"], capture_output=True,
                       text=True).stdout.split("\n")[0],
        subprocess.run([RUNC, "--version"], capture_output=True,
                       text=True).stdout.split("\n")[0],
        "QUICK" if QUICK else "full", tmpdir))
    cg = Cgroups()
    t_start = time.monotonic()
    try:
        if "1" in FIGURES:
            figure1(mons)
        if "2" in FIGURES:
            if cg.base is None:
                log("figure 2: no cgroup for CPU accounting; skipped")
                skipped["2"] = "skipped: no cgroup"
            else:
                figure2(mons, cg, tmpdir)
        if "3" in FIGURES:
            figure3(mons)
        if "4" in FIGURES:
            if "4" in skipped:
                log("figure 4: " + skipped["4"])
            else:
                figure4(mons, cg)
        if "5" in FIGURES:
            figure5()
    except KeyboardInterrupt:
        log("bench: interrupted; printing what was measured")
    finally:
        cg.remove()
        shutil.rmtree(tmpdir, ignore_errors=True)
    rows = table(mons, skipped)
    print("\nvigil %s vs conmon %s; %s; %s, %d runs per figure (latency "
          "%d); ratio = vigil median / conmon median; %.0f s" % (
              vigil_path, conmon_path,
              "QUICK" if QUICK else "full",
              "%d MiB of log per run" % (LOG_BYTES >> 20), RUNS, LAT_RUNS,
              time.monotonic() - t_start))
    print_table(rows, mons)
    print("min and median over the runs (for MiB/s and % the min is the "
          "worst run); machine = figure 5's limit for that row: the "
          "pipe->file copy (log rows), a static musl process that only "
          "waits (PSS/RSS rows, per process), exec -> exit of a static "
          "musl `true` on the launcher's clock (launcher row)")
    write_tsv(rows, mons)
    print("\nwritten: %s" % os.path.join(BIN, "results.tsv"))
    if R.failures:
        print("\nFAILED CHECKS:\n  " + "\n  ".join(R.failures))
        sys.exit(1)


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    main()
