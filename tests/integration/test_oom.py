# SPDX-License-Identifier: Apache-2.0
"""OOM detection (spec 10.4, 12; spec 17 rows 57-58): a container over its
memory limit leaves <bundle>/oom and <persist-dir>/oom, exit file 137."""

import os
import stat

from harness import Case, Skip, read_file, ref_differs

LIMIT = 16 * 1024 * 1024
# ash doubles a string until the cgroup's limit kills it.
HOG = ["/bin/sh", "-c", "x=a; while :; do x=$x$x; done"]


def _memory_controller():
    """Skips unless the kernel offers what spec 12 watches, for the
    layout spec 12 picks (statfs of /sys/fs/cgroup)."""
    fstype = None       # os.statvfs has no f_type: read the mount table
    with open("/proc/self/mounts") as f:
        for line in f:
            parts = line.split()
            if parts[1] == "/sys/fs/cgroup":
                fstype = parts[2]
    if fstype == "cgroup2":
        ctrls = read_file("/sys/fs/cgroup/cgroup.controllers").split()
        if "memory" not in ctrls:
            raise Skip("cgroup v2 without the memory controller")
        return 2
    if not os.path.exists("/sys/fs/cgroup/memory/memory.oom_control"):
        raise Skip("cgroup v1 without the memory controller "
                   "(/sys/fs/cgroup/memory/memory.oom_control missing)")
    return 1


def _limit(c):
    mem = {"limit": LIMIT}
    v1_swap = "/sys/fs/cgroup/memory/memory.memsw.limit_in_bytes"
    if _memory_controller() == 2 or os.path.exists(v1_swap):
        mem["swap"] = LIMIT     # no swap beyond the limit
    c["linux"].setdefault("resources", {})["memory"] = mem


def _oom_checks(c, persist=True):
    assert c.wait_exit() == "137", "exit file %r, want 137" % \
        read_file(c.exit_file)
    paths = [os.path.join(c.bundle_dir, "oom")]
    if persist:
        paths.append(os.path.join(c.persist_dir, "oom"))
    for p in paths:
        assert os.path.exists(p), "%s missing after an OOM kill" % p
        st = os.lstat(p)
        assert stat.S_ISREG(st.st_mode), "%s is not a regular file" % p
        assert st.st_size == 0, "%s is not empty" % p
        assert stat.S_IMODE(st.st_mode) == 0o644, \
            "%s mode %o, want 644" % (p, stat.S_IMODE(st.st_mode))


@ref_differs("spec 12: 2.1.6 writes ./oom relative to its cwd, not "
             "<bundle>/oom")
def test_oom_files_and_137():
    _memory_controller()
    with Case() as c:
        c.bundle(HOG, edit=_limit)
        c.start()
        c.runc_start(wait_exec=False)
        _oom_checks(c)


def test_oom_persist_file_and_137():
    """What podman 5 reads; 2.1.6 writes it too."""
    _memory_controller()
    with Case() as c:
        c.bundle(HOG, edit=_limit)
        c.start()
        c.runc_start(wait_exec=False)
        assert c.wait_exit() == "137"
        assert os.path.exists(os.path.join(c.persist_dir, "oom")), \
            "<persist-dir>/oom missing after an OOM kill"


def test_no_oom_no_files():
    """A container within its limit leaves no oom file."""
    _memory_controller()
    with Case() as c:
        c.bundle(["/bin/sh", "-c", "exit 0"], edit=_limit)
        c.start()
        c.runc_start(wait_exec=False)
        assert c.wait_exit() == "0"
        for d in (c.bundle_dir, c.persist_dir):
            assert not os.path.lexists(os.path.join(d, "oom")), \
                "oom file in %s without an OOM" % d


@ref_differs("security 29: 2.1.6 follows a symlink at the oom file")
def test_sec29_oom_symlink_not_followed():
    _memory_controller()
    with Case() as c:
        target = os.path.join(c.dir, "target")
        os.symlink(target, os.path.join(c.bundle_dir, "oom"))
        c.bundle(HOG, edit=_limit)
        c.start()
        c.runc_start(wait_exec=False)
        assert c.wait_exit() == "137"
        assert os.path.exists(os.path.join(c.persist_dir, "oom")), \
            "<persist-dir>/oom missing"
        assert os.path.islink(os.path.join(c.bundle_dir, "oom")), \
            "the planted link was replaced"
        assert not os.path.lexists(target), "the planted link was followed"
