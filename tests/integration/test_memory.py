# SPDX-License-Identifier: Apache-2.0
"""What an idle container's monitor processes keep (README "Performance",
bench figure 1): the dead stack released, and the children's titles kept
out of the stack page that holds argv, so that page stays shared."""

import os
import time

import audit
import harness
from harness import Case, Skip, ref_differs

# The reaper's idle trim runs at its loop's turn after the pid report
# (monitor/life.c); a moment is enough.
IDLE_S = 0.5


def _variant(*names):
    """True when CONMON is a build variant with one of these switches
    (build/variant-sanitize/conmon and the like)."""
    parent = os.path.basename(os.path.dirname(harness.CONMON))
    return parent.startswith("variant-") and any(
        n in parent[len("variant-"):].split("-") for n in names)


def _stat_field(pid, n):
    """Field n (1-based, proc(5)) of /proc/PID/stat."""
    with open("/proc/%d/stat" % pid) as f:
        s = f.read()
    return int(s[s.rindex(")") + 2:].split()[n - 3])


def _stack_private_kb(pid):
    """Private_Dirty kB of pid's [stack] mapping."""
    inside = False
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            if "-" in line.split()[0] and not line.split()[0].endswith(":"):
                inside = line.rstrip().endswith("[stack]")
            elif inside and line.startswith("Private_Dirty:"):
                return int(line.split()[1])
    raise AssertionError("pid %d: no [stack] in smaps" % pid)


@ref_differs("conmon 2.1.6 is one process that never trims its stack")
def test_memory_idle_stack_released():
    """Once idle, the reaper, the logger and the broker each keep at most
    two dirty private stack pages: the page of the loop's frames and one
    below (the margin when the frame is near a page's start). Everything
    start-up used below the loop (options, fork, the runtime, the
    sandbox) went back to the kernel."""
    if _variant("sanitize", "valgrind"):
        raise Skip("sanitizer and valgrind builds run deeper stacks")
    with Case() as c:
        kids = audit.running_children(c)
        time.sleep(IDLE_S)
        procs = dict(kids, reaper=c.daemon_pid())
        for role, p in sorted(procs.items()):
            kb = _stack_private_kb(p)
            assert kb <= 8, "%s: %d kB of private dirty stack, want <= 8" % (
                role, kb)


@ref_differs("conmon 2.1.6 has no sandboxed children to retitle")
def test_memory_child_title_leaves_argv_page():
    """Each child's title is `conmon: ROLE <short id>` in /proc/PID/cmdline,
    but the kernel reads it from the child's heap (PR_SET_MM_MAP), not from
    argv's strings on the stack, which the child leaves as the reaper has
    them: the page stays shared instead of copied into every child."""
    if _variant("valgrind"):
        raise Skip("a valgrind build writes the title into argv's area")
    with Case() as c:
        kids = audit.running_children(c)
        reaper = c.daemon_pid()
        argv_start = _stat_field(reaper, 48)  # arg_start
        for role, p in sorted(kids.items()):
            title = harness.proc_cmdline_raw(p)
            assert title.startswith(b"conmon: %s " % role.encode()) and \
                title.endswith(b"\0") and title.count(b"\0") == 1, \
                "%s: cmdline %r" % (role, title)
            start = _stat_field(p, 48)
            assert start != argv_start, \
                "%s: the title is still read from argv's area at %#x" % (
                    role, start)
            assert _stat_field(p, 50) == _stat_field(reaper, 50), \
                "%s: the environment moved" % role
