# SPDX-License-Identifier: Apache-2.0
"""Signals to the monitor while the container writes (spec 11; security.md
inputs 40-42; issue 8 "Signals to the reaper"). test_daemon.py has the
exit statuses alone; here every test also checks that the log holds the
container's output complete and in order, and that what vigil ignores is
logged (syslog through a private /dev/log, test_enospc).

The container counts lines (`L<i>`) until the test creates /shared/go,
then prints `last<n>` and exits: the log must be exactly L0..L<n-1> and
last<n>.
"""

import os
import re
import signal

from harness import (Case, alive, holds_for, kill_quietly, lines_of,
                     need_attach, proc_stat, read_k8s_settled,
                     read_k8s_so_far, ref_differs, wait_for)
from test_respawn import (LINE_BYTES, check_log, child_of_role, mount_helpers,
                          numlines, start_with_syslog)

COUNT = ("i=0; while [ ! -e /shared/go ]; do echo L$i; i=$((i+1)); "
         "[ $((i %% 200)) -eq 0 ] && sleep 0.01; done; echo last$i; "
         "exit %d")
IGNORED_RE = re.compile(r"received signal (\d+) \([^)]*\); ignored")


def _logged_now(c):
    """stdout lines in the log while the logger is writing it; a view
    inside a record's write counts as nothing yet (read_k8s_so_far)."""
    recs = read_k8s_so_far(c.log_path)
    return 0 if recs is None else len(lines_of(recs, "stdout"))


def check_counted(c):
    out = c.log_lines("stdout")
    assert out and out[-1].startswith("last"), \
        "log does not end with the closing line: %r" % out[-3:]
    n = int(out[-1][4:])
    assert out[:-1] == ["L%d" % i for i in range(n)], \
        "log lines not L0..L%d in order: %d lines, first wrong %r" % (
            n - 1, len(out) - 1,
            next((l for i, l in enumerate(out[:-1]) if l != "L%d" % i),
                 None))
    return n


@ref_differs("2.1.6 dies of SIGHUP, SIGUSR2 and SIGALRM (spec 11)")
def test_sec41_signals_ignored_logged_output_complete():
    """SIGHUP, SIGPIPE, SIGUSR1, SIGUSR2, SIGALRM to the daemon while the
    container writes: the daemon lives on; HUP, USR2 and ALRM are logged
    as ignored (SIGUSR1 is a child check and SIGPIPE is ignored without a
    word, spec 11: a write to a closed pipe raises it); exit file 3; the
    log is complete."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c", COUNT % 3], shared=True)
        sl = start_with_syslog(c)
        d = c.daemon_pid()
        c.runc_start()
        c.wait_log("L100\n")
        sigs = (signal.SIGHUP, signal.SIGPIPE, signal.SIGUSR1,
                signal.SIGUSR2, signal.SIGALRM)
        for sig in sigs:
            os.kill(d, sig)
            holds_for(lambda: alive(d), 0.2, "daemon alive after %s" %
                      sig.name)
        c.touch_shared("go")
        assert c.wait_exit() == "3", "exit file"
        c.wait_gone(d)
        msgs = sl.close()
        n = check_counted(c)
        logged = {int(m.group(1)) for m in map(IGNORED_RE.search, msgs) if m}
        want = {int(signal.SIGHUP), int(signal.SIGUSR2),
                int(signal.SIGALRM)}
        assert want <= logged, "ignored signals logged %r, want %r; " \
            "syslog %r" % (sorted(logged), sorted(want), msgs[:10])
        print("%d lines logged; ignored signals logged: %s" % (
            n, sorted(logged)))


@ref_differs("2.1.6 dies of the real-time signals and of 32-34")
def test_sec41_library_and_realtime_signals_ignored():
    """Signals 32, 33 and 34 (below SIGRTMIN: the C library's own, which
    its sigaction() refuses to change: musl keeps 32-34, glibc 32-33),
    SIGRTMIN+1 and 64 to the daemon while the container runs: the daemon
    lives on and the exit file comes; the container's runtime was not
    left any of them ignored (an ignored disposition survives execve):
    the container sees SIGPIPE's kind only below 32."""
    with Case() as c:
        c.bundle(["/bin/sh", "-c",
                  "grep SigIgn /proc/self/status; until [ -e /shared/go ];"
                  " do sleep 0.05; done; exit 3"], shared=True)
        c.start()
        d = c.daemon_pid()
        c.runc_start()
        c.wait_log("SigIgn")
        for sig in (32, 33, 34, 36, 64):
            os.kill(d, sig)
            holds_for(lambda: alive(d), 0.2, "daemon alive after signal %d"
                      % sig)
        c.touch_shared("go")
        assert c.wait_exit() == "3", "exit file"
        line = [l for l in c.log_lines() if "SigIgn" in l][0]
        mask = int(line.split()[-1], 16)
        assert mask >> 31 == 0, "the container starts with signals 32-64 " \
            "ignored: SigIgn %x" % mask


def test_sec40_term_int_quit_forwarded_output_complete():
    """SIGTERM, SIGINT, SIGQUIT to the daemon while the container writes
    numbered lines as fast as it can (helpers/numlines.c): forwarded to
    the container (no pid namespace: the default action kills it), exit
    file 143, 130, 131; the log holds the output up to the death whole
    and in order, with no gap (test_respawn's checker)."""
    numlines()
    for sig, want in ((signal.SIGTERM, "143"), (signal.SIGINT, "130"),
                      (signal.SIGQUIT, "131")):
        with Case() as c:
            c.bundle(["/tmp/numlines", "gen", str(10 ** 9), str(LINE_BYTES),
                      "65536"], pid_ns=False, edit=mount_helpers)
            c.start()
            d = c.daemon_pid()
            c.runc_start()
            wait_for(lambda: os.path.getsize(c.log_path) > 1 << 20,
                     what="a MiB of output in the log")
            os.kill(d, sig)
            got = c.wait_exit()
            assert got == want, "%s: exit file %r, want %s" % (
                sig.name, got, want)
            c.wait_gone(d)
            summary, gaps = check_log(c.log_path, 10 ** 9)
            assert not gaps and summary["records"] > 10000, \
                "%s: %d records, gaps %r" % (sig.name, summary["records"],
                                             gaps[:5])


def _stop_cont(pid, what):
    os.kill(pid, signal.SIGSTOP)
    try:
        wait_for(lambda: (proc_stat(pid) or ("?",))[0] == "T",
                 what="%s (%d) to stop" % (what, pid))
        # the container fills the pipe meanwhile and waits
        holds_for(lambda: (proc_stat(pid) or ("?",))[0] == "T", 0.3,
                  "%s stays stopped" % what)
    finally:
        kill_quietly(pid, signal.SIGCONT)


@ref_differs("2.1.6 has no logger and broker processes")
def test_sec42_sigstop_sigcont_each_process_during_output():
    """SIGSTOP, 300 ms, SIGCONT to the logger, the broker (an attach
    client connected, so the logger forwards to it) and the daemon in
    turn, while the container writes as fast as it can: no process dies
    or is respawned, exit file 7, the log is complete and in order, the
    client gets EOF."""
    need_attach()
    with Case() as c:
        c.bundle(["/bin/sh", "-c", COUNT % 7], shared=True)
        c.start()
        d = c.daemon_pid()
        cl = c.attach()
        c.runc_start()
        c.wait_log("L100\n")
        procs = [(child_of_role(d, "logger"), "logger"),
                 (child_of_role(d, "attach"), "broker"), (d, "daemon")]
        for pid, what in procs:
            assert pid, "no %s process" % what
            before = len(lines_of(read_k8s_settled(c.log_path), "stdout"))
            _stop_cont(pid, what)
            wait_for(lambda: _logged_now(c) > before + 100,
                     what="output to go on after SIGCONT to the %s" % what)
        c.touch_shared("go")
        assert c.wait_exit() == "7", "exit file"
        cl.read_to_eof()
        for pid, what in procs[:2]:
            assert child_of_role(d, what.replace("broker", "attach")) in \
                (pid, None), "the %s was respawned" % what
        n = check_counted(c)
        print("%d lines logged" % n)
