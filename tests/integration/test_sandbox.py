# SPDX-License-Identifier: Apache-2.0
"""The sandbox as an auditor sees it (security.md "Auditing the profiles",
README "Auditing vigil's sandbox"): the children's /proc status and
identity, the inspection options, and the filters the running children
have loaded against seccomp_export_bpf of their profiles (the comparison
`make audit-seccomp` prints)."""

import ctypes
import ctypes.util
import grp
import os
import pwd
import re
import subprocess

import audit
import harness
from harness import (REPO, Case, Skip, proc_status, ref_differs, run_conmon,
                     timeout)

ROLES = audit.ROLES
# make integration passes the build's CHILD_USER/CHILD_GROUP (GNUmakefile)
CHILD_USER = os.environ.get("VIGIL_CHILD_USER") or "nobody"
CHILD_GROUP = os.environ.get("VIGIL_CHILD_GROUP") or "nogroup"


@ref_differs("conmon 2.1.6 is one unsandboxed process")
def test_sandbox_children_status_and_identity():
    """Both children: `Seccomp: 2`, `NoNewPrivs: 1`, every Cap* zero, no
    supplementary group, and the build's unprivileged uid and gid
    (CHILD_USER, CHILD_GROUP: nobody/nogroup by default), never 0."""
    uid = pwd.getpwnam(CHILD_USER).pw_uid
    gid = grp.getgrnam(CHILD_GROUP).gr_gid
    assert uid != 0 and gid != 0, "%s/%s is root" % (CHILD_USER, CHILD_GROUP)
    with Case() as c:
        kids = audit.running_children(c)
        for role, p in sorted(kids.items()):
            st = proc_status(p)
            assert st["Seccomp"] == "2", "%s: Seccomp %s" % (
                role, st["Seccomp"])
            assert st["NoNewPrivs"] == "1", "%s: NoNewPrivs %s" % (
                role, st["NoNewPrivs"])
            for k in ("CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb"):
                assert int(st[k], 16) == 0, "%s: %s %s" % (role, k, st[k])
            assert st["Uid"].split() == [str(uid)] * 4, \
                "%s: Uid %s, want %s (%s)" % (role, st["Uid"], uid,
                                              CHILD_USER)
            assert st["Gid"].split() == [str(gid)] * 4, \
                "%s: Gid %s, want %s (%s)" % (role, st["Gid"], gid,
                                              CHILD_GROUP)
            assert st["Groups"] == "", "%s: Groups %s" % (role, st["Groups"])


@ref_differs("conmon 2.1.6 has no sandboxed children")
def test_sandbox_children_run_at_normal_priority():
    """The seccomp helper and the logger set up at nice 19 while `runc
    create` runs, so the runtime gets the CPUs first (README
    "Performance", create -> pid); the reaper puts the logger back at
    nice 0 at its HELLO: once the container runs, no child logs or serves
    clients at a low priority."""
    with Case() as c:
        kids = audit.running_children(c)
        assert set(kids) == set(ROLES), "children: %r" % kids
        for role, p in sorted(kids.items()):
            with open("/proc/%d/stat" % p) as f:
                nice = int(f.read().rsplit(")", 1)[1].split()[16])
            assert nice == 0, "%s (pid %d) runs at nice %d" % (role, p, nice)


def _identity_build(name, user, group):
    """build/variant-identity-NAME/conmon: the monitor built with
    `make CHILD_USER=user CHILD_GROUP=group` (README), in a directory of
    its own; the test then runs it instead of $CONMON."""
    build = os.path.join("build", "variant-identity-" + name)
    # a plain build whatever the suite's switches: the directory holds
    # objects of one set of flags only
    env = {k: v for k, v in os.environ.items()
           if k not in ("MAKEFLAGS", "MFLAGS", "MAKELEVEL")}
    p = subprocess.run(["make", "-C", REPO, "BUILD=" + build,
                        "CHILD_USER=" + user, "CHILD_GROUP=" + group,
                        "STATIC=1", "SANITIZE=", "VALGRIND=", "FAULTS=",
                        "ANALYZE=", "SECCOMP_AUDIT=", build + "/conmon"],
                       capture_output=True, text=True, timeout=170, env=env)
    assert p.returncode == 0, "make CHILD_USER=%s: status %d: %s" % (
        user, p.returncode, (p.stdout + p.stderr)[-2000:])
    harness.CONMON = os.path.join(REPO, build, "conmon")


@timeout(180)
@ref_differs("conmon 2.1.6 has no sandboxed children")
def test_sandbox_identity_build_setting():
    """`make CHILD_USER=daemon CHILD_GROUP=daemon`: both children run as
    daemon's uid and gid, as /proc/<child>/status shows."""
    try:
        uid = pwd.getpwnam("daemon").pw_uid
        gid = grp.getgrnam("daemon").gr_gid
    except KeyError:
        raise Skip("no daemon user and group here")
    if uid == pwd.getpwnam(CHILD_USER).pw_uid:
        raise Skip("daemon is the default user here")
    _identity_build("daemon", "daemon", "daemon")
    with Case() as c:
        kids = audit.running_children(c)
        for role, p in sorted(kids.items()):
            st = proc_status(p)
            assert st["Uid"].split() == [str(uid)] * 4, \
                "%s: Uid %s, want daemon's %d" % (role, st["Uid"], uid)
            assert st["Gid"].split() == [str(gid)] * 4, \
                "%s: Gid %s, want daemon's %d" % (role, st["Gid"], gid)


@timeout(180)
@ref_differs("conmon 2.1.6 has no sandboxed children")
def test_sandbox_identity_unknown_user_fails_start():
    """A build whose CHILD_USER does not exist here: the start fails before
    any child or the runtime runs, with a record naming the user and the
    build setting."""
    _identity_build("unknown", "vigil-no-such-user", "nogroup")
    with Case() as c:
        c.bundle(["/bin/true"])
        m = c.start(expect_pid=False)
        rec = m.record()
        key = "data" if "--api-version" in m.proc.args else "pid"
        assert rec.get(key) == -1, "record %r" % rec
        assert rec.get("message") == (
            "Failed to find the sandbox user vigil-no-such-user (build "
            "setting CHILD_USER): no such user"), "record %r" % rec
        assert not os.path.exists(c.pidfile), "the runtime ran"


# Runs argv[1:] with landlock_create_ruleset refused with ENOSYS, as on a
# kernel without Landlock: a seccomp filter of the test's own, inherited by
# the monitor, its children and the runtime (harmless to them).
_NO_LANDLOCK = r'''
import ctypes, ctypes.util, errno, os, sys
lib = ctypes.CDLL(ctypes.util.find_library("seccomp"))
lib.seccomp_init.restype = ctypes.c_void_p
ctx = ctypes.c_void_p(lib.seccomp_init(ctypes.c_uint32(0x7fff0000)))  # ALLOW
nr = lib.seccomp_syscall_resolve_name(b"landlock_create_ruleset")
act = ctypes.c_uint32(0x00050000 | errno.ENOSYS)                     # ERRNO
if (not ctx or nr < 0 or lib.seccomp_rule_add(ctx, act, nr, 0) != 0 or
        lib.seccomp_load(ctx) != 0):
    sys.exit("no-landlock wrapper: cannot load its filter")
os.execv(sys.argv[1], sys.argv[1:])
'''


@ref_differs("conmon 2.1.6 has no sandboxed children")
def test_sandbox_step_failure_named_on_the_sync_pipe():
    """A child that cannot finish a sandbox step fails the start (fail
    closed, security.md), and the manager reads which step and why in the
    sync record: here Landlock's restrict_self refused with EPERM (a test
    filter around the monitor), not ENOSYS, which would mean no Landlock."""
    with Case() as c:
        _landlock_eperm_monitor(c)
        c.bundle(["/bin/true"])
        m = c.start(expect_pid=False)
        rec = m.record()
        key = "data" if "--api-version" in m.proc.args else "pid"
        assert rec.get(key) == -1, "record %r" % rec
        # the broker starts on demand, later (its setup failure is
        # logged and retried: test_lazy.py); the start waits for the
        # logger's alone
        assert re.fullmatch(
            r"Failed to start the logger: it died during setup: "
            r"logger sandbox: landlock: restrict_self: Operation not "
            r"permitted",
            rec.get("message", "")), "record %r" % rec
        # the runtime runs while the children sandbox themselves (README
        # "How the processes fit"): the reaper waits for it and kills the
        # container it created, which never ran
        pid = int(harness.read_file(c.pidfile).strip())
        harness.wait_for(lambda: not harness.alive(pid),
                         what="the created container killed")


def _landlock_eperm_monitor(c):
    """c's monitor behind a filter that refuses landlock_restrict_self
    with EPERM, so each child fails its sandbox set-up."""
    script = os.path.join(c.dir, "landlock-eperm.py")
    with open(script, "w") as f:
        f.write(_NO_LANDLOCK.replace('b"landlock_create_ruleset"',
                                     'b"landlock_restrict_self"')
                .replace("errno.ENOSYS", "errno.EPERM"))
    wrapper = os.path.join(c.dir, "conmon")
    with open(wrapper, "w") as f:
        f.write("#!/bin/sh\nexec python3 %s %s \"$@\"\n" % (
            script, c.conmon or harness.CONMON))
    os.chmod(wrapper, 0o755)
    c.conmon = wrapper


@ref_differs("conmon 2.1.6 has no sandboxed children")
def test_sandbox_step_failure_exec_runtime_never_runs():
    """`exec --detach` starts its process at once, so an exec session runs
    the runtime only once both children are sandboxed (unlike create,
    README "How the processes fit"): a child that fails its set-up fails
    the session on the sync pipe and the runtime never ran."""
    with Case() as c:
        rtdir = os.path.join(c.dir, "rt")
        os.mkdir(rtdir)
        c.bundle(["/bin/true"], config=False)
        _landlock_eperm_monitor(c)
        s = c.exec_session(["/bin/true"])
        m = s.launch(runtime=c.fake_runtime(), env={"FAKE_RT_DIR": rtdir})
        rec = m.record()
        assert rec.get("data") == -1, "record %r" % rec
        assert re.fullmatch(
            r"Failed to start the (logger|attach): it died during setup: "
            r"\1 sandbox: landlock: restrict_self: Operation not permitted",
            rec.get("message", "")), "record %r" % rec
        m.sync_eof()
        assert not os.listdir(rtdir), "the runtime ran"


@ref_differs("conmon 2.1.6 has no sandboxed children")
def test_sandbox_without_landlock_one_info_line():
    """A kernel without Landlock (ENOSYS): the reaper says so in exactly one
    info line and both children start with every other sandbox step."""
    with Case() as c:
        script = os.path.join(c.dir, "no-landlock.py")
        with open(script, "w") as f:
            f.write(_NO_LANDLOCK)
        wrapper = os.path.join(c.dir, "conmon")
        with open(wrapper, "w") as f:
            f.write("#!/bin/sh\nexec python3 %s %s \"$@\"\n" % (
                script, c.conmon or harness.CONMON))
        os.chmod(wrapper, 0o755)
        c.conmon = wrapper
        c.bundle(["/bin/sleep", "1000"])
        m = c.start(extra=["-i", "--log-level", "info"])
        c.runc_start()
        c.start_broker()    # on demand: the first client starts it
        kids = harness.wait_for(
            lambda: audit.sandboxed_children(c.daemon_pid()) if set(
                audit.sandboxed_children(c.daemon_pid())) == set(ROLES)
            else None, what="both children")
        for role, p in sorted(kids.items()):
            st = harness.wait_for(
                lambda: proc_status(p) if proc_status(p).get("Seccomp") ==
                "2" else None, what="%s filtered" % role)
            assert st["NoNewPrivs"] == "1", "%s: %r" % (role, st)
            assert int(st["CapEff"], 16) == 0, "%s: %r" % (role, st)
        err = m.stderr()
        line = ("[conmon:i]: Landlock is not available (Function not "
                "implemented): the children run without a filesystem "
                "restriction")
        assert err.count("Landlock") == 1 and line in err, \
            "stderr %r" % err


@ref_differs("conmon 2.1.6 has no sandboxed children")
def test_sandbox_loaded_filters_match_profiles():
    """The program each running child has loaded (PTRACE_SECCOMP_GET_FILTER)
    is, instruction for instruction, seccomp_export_bpf of its profile:
    one filter, no other (security.md "Auditing the profiles" 3)."""
    with Case() as c:
        kids = audit.running_children(c)
        for role in ROLES:
            diff, want = audit.compare(role, kids[role])
            assert want.startswith("filter 0: "), "%s: %r" % (role, want)
            assert not diff, "%s: loaded filter differs:\n%s" % (
                role, "\n".join(diff))


def _profile_file(role):
    with open(os.path.join(REPO, "seccomp-profiles", role)) as f:
        return f.read()


@ref_differs("a vigil option")
def test_print_seccomp_profile():
    """--print-seccomp-profile ROLE: the embedded text, which is the file
    under seccomp-profiles/ (a SANITIZE=1 build appends its documented
    lines), with no other option; exit 0."""
    for role in ROLES:
        p = run_conmon(["--print-seccomp-profile", role])
        assert p.returncode == 0, "%s: status %d: %s" % (
            role, p.returncode, p.stderr)
        assert p.stdout.startswith(_profile_file(role)), \
            "%s: output is not seccomp-profiles/%s:\n%s" % (
                role, role, p.stdout[:300])
        assert p.stderr == "", "%s: stderr %r" % (role, p.stderr)


def _profile_syscalls(role):
    """The syscalls the binary's embedded text names (a SANITIZE=1 build's
    includes tests/sanitize.seccomp)."""
    p = run_conmon(["--print-seccomp-profile", role])
    assert p.returncode == 0, "%s: status %d" % (role, p.returncode)
    names = set()
    for line in p.stdout.splitlines():
        body = line.split("#", 1)[0].split()
        if body:
            names.add(body[0])
    return names


def _native(name):
    """True when libseccomp gives name a number on this architecture: a
    profile may name calls other architectures have (common/profile.c)."""
    lib = ctypes.CDLL(ctypes.util.find_library("seccomp"))
    return lib.seccomp_syscall_resolve_name(name.encode()) >= 0


@ref_differs("a vigil option")
def test_export_seccomp_pfc():
    """--export-seccomp-pfc ROLE: libseccomp's PFC of the role's filter:
    a block for exactly the profile's syscalls (those this architecture
    has), TRAP by default, another architecture killed; exit 0."""
    for role in ROLES:
        p = run_conmon(["--export-seccomp-pfc", role])
        assert p.returncode == 0, "%s: status %d: %s" % (
            role, p.returncode, p.stderr)
        assert "# pseudo filter code start" in p.stdout, p.stdout[:300]
        seen = set(re.findall(r'# filter for syscall "([a-z0-9_]+)"',
                              p.stdout))
        want = {n for n in _profile_syscalls(role) if _native(n)}
        assert seen == want, "%s: PFC lacks %s, has more: %s" % (
            role, sorted(want - seen), sorted(seen - want))
        assert "action TRAP;" in p.stdout, "%s: no TRAP default" % role
        assert "action KILL_PROCESS;" in p.stdout, \
            "%s: another architecture is not killed" % role


@ref_differs("vigil options")
def test_inspection_unknown_role():
    """An unknown role: a clear error naming it and the known roles,
    status 1, nothing on stdout."""
    for opt in ("--print-seccomp-profile", "--export-seccomp-pfc"):
        p = run_conmon([opt, "bogus"])
        assert p.returncode == 1, "%s: status %d" % (opt, p.returncode)
        assert p.stdout == "", "%s: stdout %r" % (opt, p.stdout)
        want = "[conmon:e]: unknown role 'bogus' for %s (one of: " % opt
        assert want in p.stderr, "%s: stderr %r" % (opt, p.stderr)
        for role in ROLES:
            assert role in p.stderr, "%s: %r lacks %s" % (opt, p.stderr,
                                                         role)


@ref_differs("vigil options")
def test_inspection_options_in_help():
    p = run_conmon(["--help"])
    for opt in ("--print-seccomp-profile", "--export-seccomp-pfc"):
        assert opt in p.stdout, "--help lacks %s" % opt
