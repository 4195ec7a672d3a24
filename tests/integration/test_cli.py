# SPDX-License-Identifier: Apache-2.0
"""The command line: --version, --help, option syntax, and the validation
rows of spec 1.5 (each a clear error, status 1, nothing left running)."""

import os
import re

from harness import (RUNC, Case, conmon_version, is_reference,
                     procs_mentioning, ref_differs, run_conmon, wait_for)


def test_version_exact():
    """Exactly two lines on stdout, nothing on stderr, status 0
    (spec 1.4, checklist 1)."""
    out, err, st = conmon_version()
    assert st == 0, "--version status %d" % st
    assert re.fullmatch(r"conmon version \d+\.\d+\.\d+\ncommit: .*\n", out), \
        "--version printed %r" % out
    assert err == "", "--version printed on stderr: %r" % err
    if not is_reference():
        assert out.startswith("conmon version 2.2.1\n"), \
            "vigil must claim 2.2.1: %r" % out
    # third whitespace field: what CRI-O parses as a semantic version
    field = out.split()[2]
    major, minor, patch = (int(x) for x in field.split("."))
    assert (major, minor, patch) >= (2, 1, 2), "version %s too old" % field
    # value-less option given a value is still that option (spec 1.1)
    p = run_conmon(["--version=1"])
    assert p.returncode == 0 and p.stdout == out, \
        "--version=1: %d %r" % (p.returncode, p.stdout)


def test_version_with_bad_option_is_parse_error():
    p = run_conmon(["--version", "--bogus"])
    assert p.returncode == 1, "status %d" % p.returncode
    assert "Unknown option --bogus" in p.stdout + p.stderr
    assert "conmon version" not in p.stdout


def test_help():
    for flag in ("--help", "-h", "-?"):
        p = run_conmon([flag])
        assert p.returncode == 0, "%s: status %d" % (flag, p.returncode)
        for want in ("--exec", "--log-global-size-max", "--exit-command",
                     "--log-path", "--sync"):
            assert want in p.stdout, "%s output lacks %s" % (flag, want)


@ref_differs("2.1.6's --help has no --no-container-partial-message line, "
             "so no `journald`")
def test_help_mentions_journald_and_every_option():
    p = run_conmon(["--help"])
    assert "journald" in p.stdout, "--help lacks `journald`"
    for opt in ("--api-version", "--bundle", "--cid", "--conmon-pidfile",
                "--container-pidfile", "--cuuid", "--exec", "--exec-attach",
                "--exec-process-spec", "--exit-command", "--exit-command-arg",
                "--exit-delay", "--exit-dir", "--full-attach",
                "--leave-stdin-open", "--log-level", "--log-path",
                "--log-size-max", "--log-global-size-max", "--log-tag",
                "--log-label", "--no-container-partial-message",
                "--log-rotate", "--log-max-files", "--log-allowlist-dir",
                "--name", "--no-new-keyring", "--no-pivot", "--no-sync-log",
                "--persist-dir", "--replace-listen-pid", "--restore",
                "--runtime", "--runtime-arg", "--runtime-opt",
                "--sdnotify-socket", "--socket-dir-path", "--stdin", "--sync",
                "--syslog", "--systemd-cgroup", "--terminal", "--timeout",
                "--version"):
        assert opt in p.stdout, "--help does not mention %s" % opt


# ---------------------------------------------------------------------------
# Validation (spec 1.5). Each row: arguments (CID, LOG and RUNC are filled
# in), the expected message after the [conmon:e] prefix, and optionally
# extra environment. Parse errors (row 1) go to stdout on 2.1.6.

# (--root keeps runc away from /run/runc should a row wrongly pass.)
BASE = ["-c", "CID", "-u", "CID", "-r", "RUNC", "-l", "k8s-file:LOG",
        "--runtime-arg", "--root=RUNCROOT"]

ROWS = [
    ("row01_unknown_option", BASE + ["--bogus"], "Unknown option --bogus"),
    ("row01_unknown_short", BASE + ["-x"], "Unknown option -x"),
    ("row01_missing_argument", ["--cid"], "Missing argument for --cid"),
    ("row01_attached_short_value", ["-cabc"], "Missing argument for -c"),
    ("row01_bad_integer", BASE + ["--timeout", "abc"],
     "Cannot parse integer value"),
    ("row01_integer_trailing_space", BASE + ["--timeout", "5 "],
     "Cannot parse integer value"),
    ("row01_integer_empty", BASE + ["--timeout", ""],
     "Cannot parse integer value"),
    ("row01_integer_out_of_range", BASE + ["--timeout", "99999999999"],
     "out of range"),
    ("row05_no_args", [], "Container ID not provided. Use --cid"),
    ("row05_no_cid", ["-u", "x", "-r", "RUNC", "-l", "k8s-file:LOG"],
     "Container ID not provided. Use --cid"),
    ("row06_bad_log_level", BASE + ["--log-level", "loud"],
     "No such log level loud"),
    ("row07_exec_and_restore", BASE + ["--exec", "--restore", "/x"],
     "Cannot use 'exec' and 'restore' at the same time"),
    ("row08_attach_without_exec", BASE + ["--exec-attach"],
     "Attach can only be specified with exec"),
    ("row09_attach_legacy_exec", BASE + ["--exec", "--exec-attach"],
     "Attach can only be specified for a non-legacy exec session"),
    ("row10_no_cuuid", ["-c", "CID", "-r", "RUNC", "-l", "k8s-file:LOG"],
     "Container UUID not provided. Use --cuuid"),
    ("row11_no_runtime", ["-c", "CID", "-u", "CID", "-l", "k8s-file:LOG"],
     "Runtime path not provided. Use --runtime"),
    ("row12_runtime_missing", ["-c", "CID", "-u", "CID", "-r", "/nope",
                               "-l", "k8s-file:LOG"],
     "Runtime path /nope is not valid No such file or directory"),
    ("row13_exec_without_spec", BASE + ["--exec", "--api-version"],
     "Exec process spec path not provided. Use --exec-process-spec"),
    ("row15_negative_exit_delay", BASE + ["--exit-delay", "-1"],
     "Delay before invoking exit command must be greater than or equal to 0"),
    ("row16_no_log_path", ["-c", "CID", "-u", "CID", "-r", "RUNC"],
     "Log driver not provided. Use --log-path"),
    ("row17_log_path_empty", ["-c", "CID", "-u", "CID", "-r", "RUNC",
                              "-l", ""], "log-path must not be empty"),
    ("row17_log_path_colon", ["-c", "CID", "-u", "CID", "-r", "RUNC",
                              "-l", ":"], "log-path must not be empty"),
    ("row17_k8s_file_without_name", ["-c", "CID", "-u", "CID", "-r", "RUNC",
                                     "-l", "k8s-file"],
     "k8s-file requires a filename"),
    ("row17_k8s_file_colon_without_name",
     ["-c", "CID", "-u", "CID", "-r", "RUNC", "-l", "k8s-file:"],
     "k8s-file requires a filename"),
    ("row17_invalid_driver", ["-c", "CID", "-u", "CID", "-r", "RUNC",
                              "-l", "invalid:/x"],
     "No such log driver invalid"),
    ("row17_path_with_colon", ["-c", "CID", "-u", "CID", "-r", "RUNC",
                               "-l", "/a:b"], "No such log driver /a"),
    ("row18_log_dir_missing", ["-c", "CID", "-u", "CID", "-r", "RUNC",
                               "-l", "k8s-file:DIR/no/such/dir/c.log"],
     "Failed to open log file No such file or directory"),
    ("row19_k8s_file_log_tag", BASE + ["--log-tag", "t"],
     "k8s-file doesn't support --log-tag"),
    ("row21_journald_short_cid", ["-c", "abcdefghijkl", "-u", "x", "-r",
                                  "RUNC", "-l", "journald:"],
     "Container ID must be longer than 12 characters"),
    ("row24_startpipe_not_a_number", BASE, "unable to parse _OCI_STARTPIPE",
     {"_OCI_STARTPIPE": "abc"}),
    ("row25_startpipe_not_open", BASE,
     "unable to make _OCI_STARTPIPE CLOEXEC", {"_OCI_STARTPIPE": "77"}),
]

# Rows only 2.2.0+ has (2.1.6 reports an unknown option instead).
ROWS_NEW = [
    ("row03_log_max_files_negative", BASE + ["--log-max-files", "-1"],
     "log-max-files must be non-negative, got -1"),
    ("row04_rotate_zero_files", BASE + ["--log-rotate", "--log-max-files",
                                        "0"],
     "log-max-files must be at least 1 when log-rotate is enabled, got 0"),
    ("row20_k8s_file_log_label", BASE + ["--log-label", "A=b"],
     "k8s-file doesn't support --log-label"),
    ("row01_out_of_range_log_max_files", BASE + ["--log-max-files",
                                                 "2147483648"],
     "out of range"),
]


def _check_row(args, want, env=None):
    with Case() as c:
        sub = {"CID": c.cid, "RUNC": RUNC}
        real = []
        for a in args:
            a = sub.get(a, a)
            a = a.replace("k8s-file:LOG", "k8s-file:" + c.log_path)
            a = a.replace("DIR/", c.dir + "/")
            a = a.replace("RUNCROOT", c.runc_root)
            real.append(a)
        e = dict(os.environ)
        e.update(env or {})
        p = run_conmon(real, env=e, cwd=c.dir)
        assert p.returncode == 1, "status %d, want 1 (stdout %r stderr %r)" \
            % (p.returncode, p.stdout, p.stderr)
        # spec 1.1: upstream prints parse errors on stderr, 2.1.6 on stdout
        where = p.stdout + p.stderr if is_reference() else p.stderr
        assert want in where, "want %r on stderr; got stderr %r stdout %r" % (
            want, p.stderr, p.stdout)
        lines = [l for l in p.stderr.splitlines() if l.strip()]
        assert len(lines) <= 1 or is_reference(), \
            "more than one line on stderr: %r" % p.stderr
        left = procs_mentioning(c.cid)
        assert left == [], "processes left behind: %r" % left
        if not any(w in want for w in ("Failed to open", "log-tag",
                                        "log-label", "STARTPIPE")):
            assert not os.path.exists(c.log_path), \
                "log file created although validation failed earlier"


def _make(name, args, want, env=None, differs=None):
    def t():
        _check_row(args, want, env)
    t.__name__ = t.__qualname__ = "test_cli_" + name
    t.__doc__ = "%s -> %s" % (" ".join(args) or "(no arguments)", want)
    if differs:
        t = ref_differs(differs)(t)
    globals()[t.__name__] = t


for _row in ROWS:
    _make(*_row)
for _row in ROWS_NEW:
    _make(*_row, differs="2.2.0+ option, unknown to 2.1.6")


# ---------------------------------------------------------------------------
# Accepted syntax (spec 1.1): each must get past validation. A directory as
# runtime (spec 1.3) makes the launcher exit 0 without any container.

ACCEPTED = [
    ["--cid=CID", "--cuuid=CID", "--runtime=RTDIR", "--log-path=k8s-file:LOG"],
    ["-c", "CID", "-u", "CID", "-r", "RTDIR", "-l", "LOG"],
    ["-c", "CID", "-u", "CID", "-r", "RTDIR", "-l", ":LOG"],
    ["-c", "CID", "-u", "CID", "-r", "RTDIR", "-l", "k8s-file:LOG",
     "--api-version", "1"],
    ["-c", "CID", "-u", "CID", "-r", "RTDIR", "-l", "k8s-file:LOG",
     "--api-version=0", "--timeout", "0x10", "--exit-delay", "010"],
    ["-c", "CID", "-u", "CID", "-r", "RTDIR", "-l", "k8s-file:LOG",
     "--timeout=5", "--log-size-max", "-1", "--log-level", "ERROR"],
    ["-c", "CID", "-u", "CID", "-r", "RTDIR", "-l", "k8s-file:LOG",
     "stray", "positional", "--", "--bogus"],
    ["-c", "OTHER", "-c", "CID", "-u", "CID", "-r", "RTDIR",
     "-l", "k8s-file:LOG", "-l", "none"],
]


def test_cli_accepted_syntax():
    for args in ACCEPTED:
        with Case() as c:
            rtdir = os.path.join(c.dir, "rtdir")
            os.mkdir(rtdir)
            real = [a.replace("CID", c.cid).replace("RTDIR", rtdir)
                    .replace("LOG", c.log_path) for a in args]
            p = run_conmon(real, cwd=c.dir)
            assert p.returncode == 0, "%r: status %d: %s%s" % (
                args, p.returncode, p.stdout, p.stderr)
            assert p.stdout == "" and p.stderr == "", \
                "%r printed %r %r" % (args, p.stdout, p.stderr)
            assert os.path.exists(c.log_path), "%r: no log file" % args
            # the daemon gives up on its own (exec of a directory fails)
            wait_for(lambda: procs_mentioning(c.cid) == [],
                     what="the daemon to give up")


@ref_differs("--no-container-partial-message is 2.2.0+")
def test_cli_row23_partial_message_warning_only():
    with Case() as c:
        rtdir = os.path.join(c.dir, "rtdir")
        os.mkdir(rtdir)
        p = run_conmon(["-c", c.cid, "-u", c.cid, "-r", rtdir, "-l",
                        c.log_path, "--no-container-partial-message"],
                       cwd=c.dir)
        assert p.returncode == 0, "status %d: %s" % (p.returncode, p.stderr)
        assert "no effect without journald log driver" in p.stderr, \
            "stderr %r" % p.stderr
        wait_for(lambda: procs_mentioning(c.cid) == [], what="daemon gone")


def test_cli_unwritable_conmon_pidfile():
    """-P in a missing directory: status 1 with the spec 3.2 message; the
    daemon must not be left running (vigil decision)."""
    with Case() as c:
        c.bundle(["/bin/true"])
        args = c.args(conmon_pidfile=False) + [
            "--conmon-pidfile", os.path.join(c.dir, "no", "such", "pid")]
        m = c.launch(args, sync_kind=None, start_pipe=False)
        m.expect(1)
        assert "Failed to write conmon pidfile" in m.stderr(), m.stderr()
        if not is_reference():
            wait_for(lambda: procs_mentioning(c.cid) == [],
                     what="no monitor left running")
