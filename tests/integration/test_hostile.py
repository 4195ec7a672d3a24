# SPDX-License-Identifier: Apache-2.0
"""
tests/integration/test_hostile.py: hostile children through the real
binary (issue 8, security.md inputs 30-35), with the FAULTS=1 build.

`logger.hostile=KIND` / `broker.hostile=KIND` (common/hostile.h) make the
first logger or broker turn hostile at the first `2 0 0` on ctl and send
KIND's sequence on its channel to the reaper. For each KIND the test
checks, through a real runc container:
  - the reaper survives and says what it saw (protocol violation with
    role and defect, a rejected field, a DIAG printed escaped, a flood
    summarised, a hung child);
  - the child is killed and a new one runs where security.md says so;
  - the reaper's open-fd count (/proc/<reaper>/fd) is the same afterwards;
  - the container's output, written after the act, is whole in the log,
    and the exit file says 3;
  - for floods: the reaper's CPU time (utime+stime of /proc/<pid>/stat)
    over the flood, and the number of syslog lines, are printed and
    bounded.
The reaper's own diagnostics go only to syslog after the detach: the
monitor runs in a private mount namespace whose /dev holds binds of a few
device nodes and the test's datagram socket as `log` (test_syslog.py).
"""

import os
import shutil
import socket
import threading
import time

import harness
from harness import Case, Skip, wait_for

LINES = 300
SCRIPT = ("while [ ! -e /shared/go ]; do sleep 0.02; done; "
          "i=1; while [ $i -le %d ]; do echo \"hostile-line-$i\"; "
          "i=$((i+1)); done; exit 3" % LINES)
DEVICES = ("null", "zero", "full", "random", "urandom", "tty")
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Syslog:
    """A private /dev for the monitor with our socket as /dev/log, and a
    thread collecting every datagram sent to it."""

    def __init__(self, c):
        if shutil.which("unshare") is None:
            raise Skip("no unshare(1) for a private mount namespace")
        self.dev = os.path.join(c.dir, "dev")
        os.mkdir(self.dev)
        for d in DEVICES:
            open(os.path.join(self.dev, d), "w").close()
        os.mkdir(os.path.join(self.dev, "pts"))
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(os.path.join(self.dev, "log"))
        self.sock.settimeout(0.2)
        self.msgs = []
        self.lock = threading.Lock()
        self.stop = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        c.on_cleanup(self.close)

    def _run(self):
        while not self.stop:
            try:
                m = self.sock.recv(65536)
            except socket.timeout:
                continue
            except OSError:
                return
            with self.lock:
                self.msgs.append(m.decode("utf-8", "replace"))

    def close(self):
        self.stop = True
        self.thread.join(2)
        self.sock.close()
        with open(os.path.join(os.path.dirname(self.dev), "syslog.txt"),
                  "w") as f:
            f.write("\n".join(self.lines()))

    def lines(self):
        with self.lock:
            return list(self.msgs)

    def wait(self, needle, timeout=harness.DEADLINE):
        wait_for(lambda: any(needle in m for m in self.lines()), timeout,
                 "syslog line containing %r (got %r)" % (
                     needle, self.lines()[-8:]))
        return [m for m in self.lines() if needle in m]

    def wrapper(self, c, conmon):
        """A script that runs conmon with our /dev (the runtime, a child
        of the monitor, sees it too)."""
        binds = " && ".join('mount --bind /dev/%s "$1/%s"' % (d, d)
                            for d in DEVICES)
        path = os.path.join(c.dir, "conmon-devlog")
        with open(path, "w") as f:
            f.write("#!/bin/sh\nexec unshare -m --propagation private sh -c "
                    "'%s && mount --rbind /dev/pts \"$1/pts\" && "
                    "mount --bind \"$1\" /dev && shift && exec \"$@\"' "
                    "sh %s %s \"$@\"\n" % (binds, self.dev, conmon))
        os.chmod(path, 0o755)
        return path


def cpu_ticks(pid):
    s = harness.read_file("/proc/%d/stat" % pid)
    f = s[s.rindex(")") + 2:].split()
    return int(f[11]) + int(f[12])       # utime + stime


def role_pids(c, reaper, title):
    return [p for p in harness.children(reaper)
            if harness.proc_cmdline_raw(p).startswith(title)]


def hostile(role, kind, expect, killed=True, flood=False, check=None):
    """One hostile child of `role` ("logger"/"broker") sending `kind`;
    `expect` must appear in a syslog line of the reaper."""
    title = b"conmon: logger" if role == "logger" else b"conmon: attach"
    name = "logger" if role == "logger" else "attach"
    with Case() as c:
        conmon = harness.variant_conmon("FAULTS=1")
        log = Syslog(c)
        c.conmon = log.wrapper(c, conmon)
        c.bundle(["/bin/sh", "-c", SCRIPT], shared=True)
        c.start(env={"VIGIL_FAULTS": "%s.hostile=%s" % (role, kind)},
                extra=["--syslog", "--log-level", "info"])
        c.runc_start()
        # the broker starts on demand (README "How the processes fit"):
        # started here so that both children run before the fds and the
        # CPU are counted
        c.start_broker()
        reaper = c.daemon_pid()
        wait_for(lambda: role_pids(c, reaper, title), what="the " + name)
        first = role_pids(c, reaper, title)
        log.wait("%s.hostile=%s armed" % (role, kind))
        # a broker started on demand gets its pair end at its HELLO; until
        # then the reaper holds it, one fd more than afterwards
        counts = []

        def settled():
            counts.append(len(harness.proc_fds(reaper)))
            time.sleep(0.05)
            return len(counts) >= 4 and len(set(counts[-4:])) == 1
        wait_for(settled, what="the reaper's fd count to settle")
        fds_before = counts[-1]
        cpu0, t0, n0 = cpu_ticks(reaper), time.monotonic(), len(log.lines())

        c.fifo_write(b"2 0 0\n")          # the child turns hostile
        hits = log.wait(expect)
        if flood:
            log.wait("hostile: flood over", timeout=30)
        cpu = (cpu_ticks(reaper) - cpu0) / CLK_TCK
        wall = time.monotonic() - t0
        nlines = len(log.lines()) - n0

        if killed:
            log.wait("%s (pid %d) killed by signal 9" % (name, first[0]))
            wait_for(lambda: role_pids(c, reaper, title) and
                     role_pids(c, reaper, title) != first,
                     what="a new %s after the old one was killed" % name)
        else:
            assert role_pids(c, reaper, title) == first, \
                "%s killed for %s: %r" % (name, kind, log.lines()[-5:])
        assert harness.alive(reaper), "the reaper died"
        wait_for(lambda: len(harness.proc_fds(reaper)) == fds_before,
                 what="the reaper's fd count back at %d (now %d: %r)" % (
                     fds_before, len(harness.proc_fds(reaper)),
                     harness.proc_fds(reaper)))
        if check:
            check(hits, log.lines()[n0:])

        c.touch_shared("go")
        assert c.wait_exit().strip() == "3", "exit file %r" % c.wait_exit()
        want = ["hostile-line-%d" % i for i in range(1, LINES + 1)]
        got = [l for l in c.log_lines() if l.startswith("hostile-line-")]
        assert got == want, "log holds %d of %d lines (first missing: %r)" \
            % (len(got), LINES, next((w for w in want if w not in got),
                                     None))
        said = [m.split("hostile: ", 1)[1] for m in log.lines()
                if "hostile: flood over" in m]
        print("%s.hostile=%s: %r; reaper fds %d before and after; reaper "
              "cpu %.2f s over %.1f s; %d syslog lines; %s%s" % (
                  role, kind, hits[0].split(">: ", 1)[-1], fds_before, cpu,
                  wall, nlines, "child respawned" if killed else
                  "child kept", "; child: " + said[0] if said else ""))
        return cpu, wall, nlines


def violation(role, kind, defect):
    name = "logger" if role == "logger" else "attach"
    hostile(role, kind, "%s: protocol violation: %s; killing it" % (
        name, defect))


# security 30: less than a header; a header length unlike the datagram's;
# a payload over the bound (MSG_TRUNC)
def test_sec30_short_header():
    violation("logger", "short", "short header")


def test_sec30_length_mismatch():
    violation("logger", "length_mismatch", "length mismatch")


def test_sec30_oversized_truncated():
    violation("logger", "oversized", "truncated")


def test_sec30_broker_short_header():
    violation("broker", "short", "short header")


# security 31: unknown type, a reaper-to-child type, a second HELLO,
# LOG_DRAINED with no drain pending
def test_sec31_unknown_type():
    violation("logger", "unknown_type", "unknown type")


def test_sec31_downward_type():
    violation("logger", "downward_type", "type not allowed from this peer")


def test_sec31_broker_pair_type_to_reaper():
    """ATT_HANDOVER_DONE is broker -> logger only: on the reaper's
    channel it is a violation like any type without a handler."""
    violation("broker", "pair_type", "ATT_HANDOVER_DONE")


def test_sec31_broker_stdin_closed():
    """ATT_STDIN_CLOSED is the logger's since it writes stdin: from the
    broker it is refused by the table."""
    violation("broker", "stdin_closed", "type not allowed from this peer")


def test_sec31_logger_stdin_closed_without_stdin():
    """A logger that says it closed a stdin pipe the container does not
    have (no -i) is killed."""
    violation("logger", "stdin_closed", "ATT_STDIN_CLOSED")


def test_sec31_second_hello():
    violation("logger", "second_hello", "HELLO")


def test_sec31_broker_second_hello():
    violation("broker", "second_hello", "HELLO")


def test_sec31_drained_unasked():
    violation("logger", "drained_unasked", "LOG_DRAINED")


# security 32: any fd from a child, two fds (the fd count is checked by
# hostile() for every kind)
def test_sec32_fd_attached():
    violation("logger", "fd_attached", "wrong fd count")


def test_sec32_two_fds():
    violation("logger", "two_fds", "wrong fd count")


def test_sec32_broker_two_fds():
    violation("broker", "two_fds", "wrong fd count")


# security 33: well-formed messages with bad values
def test_sec33_sink_out_of_range():
    violation("logger", "bad_sink", "bad sink id")


def test_sec33_diag_unknown_level():
    violation("logger", "bad_level", "bad diagnostic level")


def test_sec33_diag_control_bytes_escaped():
    def check(hits, lines):
        line = hits[0]
        for raw in ("\x1b", "\x07", "\x7f", "\x00"):
            assert raw not in line, "raw %r in %r" % (raw, line)
        assert ("esc \\x1b[2J bell \\x07 nul \\x00 del \\x7f hi \\xff "
                "end") in line, line
    hostile("logger", "diag_control", "logger: hostile: esc ",
            killed=False, check=check)


# security 33 on the logger<->broker pair: the receiving child refuses
# the message, and the reaper makes a new pair; nobody is killed
def test_sec33_logger_bad_client_id_renews_pair():
    hostile("logger", "bad_client_id",
            "attach: bad message from its peer; new pair", killed=False)


def test_sec33_broker_bad_value_renews_pair():
    hostile("broker", "bad_client_id",
            "logger: bad message from its peer; new pair", killed=False)


# security 34: floods are rate-limited and summarised; CPU and syslog
# bounded
FLOOD_CPU_SHARE = 0.25      # of one core over the flood
FLOOD_SYSLOG_MAX = 300      # lines, for floods of tens of thousands


def flood(role, kind, expect):
    cpu, wall, nlines = hostile(role, kind, expect, killed=False,
                                flood=True)
    assert cpu < FLOOD_CPU_SHARE * wall, \
        "reaper used %.2f s of CPU in %.1f s of flood" % (cpu, wall)
    assert nlines < FLOOD_SYSLOG_MAX, "%d syslog lines" % nlines


def test_sec34_diag_flood():
    flood("logger", "diag_flood", "logger: hostile: diagnostic flood")


def test_sec34_diag_flood_summarised():
    hostile("logger", "diag_flood", "diagnostics suppressed", killed=False,
            flood=True)


def test_sec34_broker_diag_flood():
    flood("broker", "diag_flood", "attach: hostile: diagnostic flood")


def test_sec34_reopen_flood():
    flood("logger", "reopen_flood", "log reopen requests coalesced")


# security 35: a child that stops reading its channel is hung: killed at
# the queue bound, never blocking the reaper
def test_sec35_logger_stops_reading():
    hostile("logger", "stop_reading",
            "logger: channel full, it stopped reading; killing it")


def test_sec35_broker_stops_reading():
    hostile("broker", "stop_reading",
            "attach: channel full, it stopped reading; killing it")
