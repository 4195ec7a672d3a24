/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/monitor/options_test.c: monitor/options.c against spec 1.1
 * (GLib syntax), 1.4 (--version, --help), 1.5 (checks 3-17, 19-23), 9.1
 * (--log-path values), 9.7 (labels), 14.3 and the not-yet-supported list.
 */
#include <sys/stat.h>

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <criterion/redirect.h>

#include "common/compiler.h"
#include "common/profile.h"
#include "monitor/options.h"

#include "version.h"

#ifndef VIGIL_VERSION
#define VIGIL_VERSION "0.0.0"
#endif
#ifndef VIGIL_COMMIT
#define VIGIL_COMMIT "unknown"
#endif

#define PFX "conmon: option parsing failed: "
#define ERR "[conmon:e]: "
#define LQ "\xe2\x80\x9c"
#define RQ "\xe2\x80\x9d"
/* Enough for the longest argument vector of a table row. */
#define ARGS_MAX 24
/* A valid create: cid long enough for journald, a directory as runtime. */
#define CID "0123456789abcdef"
#define BASE "-c", CID, "-u", "uuid", "-r", "/"

static struct mon_opts o;
static char msg[MON_OPTS_MSG_MAX];

static void
setup(void)
{
	mon_opts_init(&o);
	msg[0] = '\0';
}

static void
teardown(void)
{
	mon_opts_free(&o);
}

TestSuite(mon_options, .init = setup, .fini = teardown);

/* Parses "conmon" followed by the NULL-terminated args. */
static int
parse(char *const *args)
{
	static char *av[256] = { "conmon" };
	int ac = 1;

	while (args[ac - 1] != NULL) {
		cr_assert_lt(ac, (int)VIGIL_NELEM(av) - 1);
		av[ac] = args[ac - 1];
		ac++;
	}
	av[ac] = NULL;
	return mon_opts_parse(&o, ac, av, msg, sizeof(msg));
}

#define PARSE(...) parse((char *[]){ __VA_ARGS__, NULL })

/* Parses and runs every check that can fail before the fork. */
static int
check_all(char *const *args)
{
	if (parse(args) == -1 || mon_opts_check(&o, msg, sizeof(msg)) == -1 ||
	    mon_opts_check_late(&o, msg, sizeof(msg)) == -1)
		return -1;
	return 0;
}

/* Spec 1.1 and 17 rows 3/5: every parse error and its exact reason. */
static const struct {
	char *args[ARGS_MAX];
	const char *reason;
} parse_errors[] = {
	{ { "-cx" }, "Missing argument for -c" },
	{ { "-c" }, "Missing argument for -c" },
	{ { "-tc" }, "Missing argument for -c" },
	{ { "-ct", "x" }, "Missing argument for -c" },
	{ { "--cid" }, "Missing argument for --cid" },
	{ { "--pidfile" }, "Missing argument for --pidfile" },
	{ { "-T" }, "Missing argument for -T" },
	{ { "--bogus" }, "Unknown option --bogus" },
	{ { "--bogus=1" }, "Unknown option --bogus=1" },
	{ { "---" }, "Unknown option ---" },
	{ { "-x" }, "Unknown option -x" },
	{ { "-tx" }, "Unknown option -tx" },
	{ { "--CID", "x" }, "Unknown option --CID" },
	{ { "--version", "--bogus" }, "Unknown option --bogus" },
	{ { "--timeout", "abc" },
	    "Cannot parse integer value " LQ "abc" RQ " for --timeout" },
	{ { "--timeout=abc" },
	    "Cannot parse integer value " LQ "abc" RQ " for --timeout" },
	{ { "-T", "abc" },
	    "Cannot parse integer value " LQ "abc" RQ " for -T" },
	{ { "--timeout", "5 " },
	    "Cannot parse integer value " LQ "5 " RQ " for --timeout" },
	{ { "--timeout", "" },
	    "Cannot parse integer value " LQ RQ " for --timeout" },
	{ { "--timeout=" },
	    "Cannot parse integer value " LQ RQ " for --timeout" },
	{ { "--timeout", "08" },
	    "Cannot parse integer value " LQ "08" RQ " for --timeout" },
	{ { "--log-size-max", "0x" },
	    "Cannot parse integer value " LQ "0x" RQ " for --log-size-max" },
	{ { "--timeout", "99999999999" }, "Integer value " LQ "99999999999"
	    RQ " for --timeout out of range" },
	{ { "--log-max-files", "2147483648" }, "Integer value " LQ "2147483648"
	    RQ " for --log-max-files out of range" },
	{ { "--exit-delay", "-2147483649" }, "Integer value " LQ "-2147483649"
	    RQ " for --exit-delay out of range" },
	{ { "--log-size-max", "9223372036854775808" }, "Integer value "
	    LQ "9223372036854775808" RQ " for --log-size-max out of range" },
	{ { "--log-global-size-max", "-0x8000000000000001" }, "Integer value "
	    LQ "-0x8000000000000001" RQ " for --log-global-size-max out of "
	    "range" },
};

Test(mon_options, parse_errors)
{
	char want[MON_OPTS_MSG_MAX];

	for (size_t i = 0; i < VIGIL_NELEM(parse_errors); i++) {
		mon_opts_free(&o);
		setup();
		(void)snprintf(want, sizeof(want), PFX "%s",
		    parse_errors[i].reason);
		cr_assert_eq(parse(parse_errors[i].args), -1, "row %zu", i);
		cr_assert_str_eq(msg, want, "row %zu", i);
	}
}

/* Spec 1.1: strtol base 0 with a whole-string check, int and int64. */
static const struct {
	const char *opt;
	const char *val;
	size_t off;
	bool is64;
	int64_t want;
} int_rows[] = {
	{ "--timeout", "0x10", offsetof(struct mon_opts, timeout), false, 16 },
	{ "--timeout", "010", offsetof(struct mon_opts, timeout), false, 8 },
	{ "--timeout", " 5", offsetof(struct mon_opts, timeout), false, 5 },
	{ "--timeout", "\t\n7", offsetof(struct mon_opts, timeout), false, 7 },
	{ "--timeout", "-3", offsetof(struct mon_opts, timeout), false, -3 },
	{ "--timeout", "+7", offsetof(struct mon_opts, timeout), false, 7 },
	{ "-T", "0X1f", offsetof(struct mon_opts, timeout), false, 31 },
	{ "-T", "-0x10", offsetof(struct mon_opts, timeout), false, -16 },
	{ "--timeout", "2147483647", offsetof(struct mon_opts, timeout), false,
	    INT_MAX },
	{ "--exit-delay", "-2147483648", offsetof(struct mon_opts, exit_delay),
	    false, INT_MIN },
	{ "--exit-delay", "-1", offsetof(struct mon_opts, exit_delay), false,
	    -1 },
	{ "--log-max-files", "0", offsetof(struct mon_opts, log_max_files),
	    false, 0 },
	{ "--log-size-max", "99999999999",
	    offsetof(struct mon_opts, log_size_max), true, 99999999999LL },
	{ "--log-size-max", "0x7fffffffffffffff",
	    offsetof(struct mon_opts, log_size_max), true, INT64_MAX },
	{ "--log-size-max", "-9223372036854775808",
	    offsetof(struct mon_opts, log_size_max), true, INT64_MIN },
	{ "--log-global-size-max", "0777",
	    offsetof(struct mon_opts, log_global_size_max), true, 511 },
};

Test(mon_options, integers_like_strtol_base_0)
{
	int64_t got;

	for (size_t i = 0; i < VIGIL_NELEM(int_rows); i++) {
		mon_opts_free(&o);
		setup();
		cr_assert_eq(PARSE((char *)int_rows[i].opt,
		    (char *)int_rows[i].val), 0, "row %zu: %s", i, msg);
		if (int_rows[i].is64)
			memcpy(&got, (char *)&o + int_rows[i].off, sizeof(got));
		else {
			int v;

			memcpy(&v, (char *)&o + int_rows[i].off, sizeof(v));
			got = v;
		}
		cr_assert_eq(got, int_rows[i].want, "row %zu", i);
	}
}

Test(mon_options, integers_with_equals)
{
	cr_assert_eq(PARSE("--timeout=0x10", "--log-size-max=-1"), 0);
	cr_assert_eq(o.timeout, 16);
	cr_assert_eq(o.log_size_max, -1);
}

Test(mon_options, defaults)
{
	cr_assert_eq(o.log_size_max, -1);
	cr_assert_eq(o.log_global_size_max, -1);
	cr_assert_not(o.log_global_size_max_set);
	cr_assert_eq(o.log_max_files, 1);
	cr_assert_not(o.log_max_files_set);
	cr_assert_str_eq(o.socket_dir_path, "/var/run/crio");
	cr_assert_not(o.socket_dir_path_set);
	cr_assert_eq(o.timeout, 0);
	cr_assert_eq(o.exit_delay, 0);
	cr_assert_null(o.cid);
	cr_assert_eq(o.log_paths.n, 0);
	cr_assert_eq(o.level, DIAG_WARN);
}

Test(mon_options, no_arguments_parse)
{
	char *av[] = { "conmon", NULL };

	cr_assert_eq(mon_opts_parse(&o, 1, av, msg, sizeof(msg)), 0);
}

Test(mon_options, short_flag_cluster)
{
	cr_assert_eq(PARSE("-ti"), 0);
	cr_assert(o.terminal);
	cr_assert(o.stdin_);
}

Test(mon_options, cluster_ending_in_value_letter)
{
	cr_assert_eq(PARSE("-tsc", "x"), 0);
	cr_assert(o.terminal);
	cr_assert(o.systemd_cgroup);
	cr_assert_str_eq(o.cid, "x");
}

Test(mon_options, long_value_after_equals)
{
	cr_assert_eq(PARSE("--cid=x"), 0);
	cr_assert_str_eq(o.cid, "x");
}

Test(mon_options, long_value_with_equals_inside)
{
	cr_assert_eq(PARSE("--log-label=A=b", "--cid=", "--runtime-arg=--x=y"),
	    0);
	cr_assert_str_eq(o.log_labels.v[0], "A=b");
	cr_assert_str_eq(o.cid, "");
	cr_assert_str_eq(o.runtime_args.v[0], "--x=y");
}

Test(mon_options, short_value_next_argument)
{
	cr_assert_eq(PARSE("-c", "x"), 0);
	cr_assert_str_eq(o.cid, "x");
}

Test(mon_options, values_starting_with_dash_verbatim)
{
	cr_assert_eq(PARSE("--cid", "-x", "-r", "--bogus", "-l", "--"), 0);
	cr_assert_str_eq(o.cid, "-x");
	cr_assert_str_eq(o.runtime, "--bogus");
	cr_assert_str_eq(o.log_paths.v[0], "--");
}

Test(mon_options, stray_positional_ignored)
{
	cr_assert_eq(PARSE("--api-version", "1", "-c", "x", "extra", "-"), 0);
	cr_assert(o.api_version);
	cr_assert_str_eq(o.cid, "x");
}

Test(mon_options, double_dash_ends_options)
{
	cr_assert_eq(PARSE("--cid", "a", "--", "--cid", "b", "--bogus", "-x"),
	    0);
	cr_assert_str_eq(o.cid, "a");
}

Test(mon_options, flag_with_value_ignores_value)
{
	cr_assert_eq(PARSE("--api-version=0", "--version=1", "--sync="), 0);
	cr_assert(o.api_version);
	cr_assert(o.version);
	cr_assert(o.sync);
}

Test(mon_options, last_occurrence_wins)
{
	cr_assert_eq(PARSE("--cid", "a", "-c", "b", "-T", "1", "--timeout=2",
	    "--pidfile", "p1", "-p", "p2"), 0);
	cr_assert_str_eq(o.cid, "b");
	cr_assert_eq(o.timeout, 2);
	cr_assert_str_eq(o.container_pidfile, "p2");
}

Test(mon_options, pidfile_alias)
{
	cr_assert_eq(PARSE("-p", "p1", "--pidfile", "p2"), 0);
	cr_assert_str_eq(o.container_pidfile, "p2");
}

Test(mon_options, lists_accumulate_in_order)
{
	cr_assert_eq(PARSE("--runtime-opt", "a", "--restore-arg", "b",
	    "--runtime-opt=c", "-l", "l1", "--log-path=l2",
	    "--exit-command-arg", "e1", "--exit-command-arg", "e2"), 0);
	cr_assert_eq(o.runtime_opts.n, 3);
	cr_assert_str_eq(o.runtime_opts.v[0], "a");
	cr_assert_str_eq(o.runtime_opts.v[1], "b");
	cr_assert_str_eq(o.runtime_opts.v[2], "c");
	cr_assert_null(o.runtime_opts.v[3]);
	cr_assert_eq(o.log_paths.n, 2);
	cr_assert_str_eq(o.log_paths.v[1], "l2");
	cr_assert_eq(o.exit_command_args.n, 2);
	cr_assert_str_eq(o.exit_command_args.v[0], "e1");
	cr_assert_str_eq(o.exit_command_args.v[1], "e2");
}

Test(mon_options, help_spellings)
{
	static char *const spellings[][2] = {
		{ "-h", NULL }, { "-?", NULL }, { "--help", NULL },
		{ "--help-all", NULL },
	};

	for (size_t i = 0; i < VIGIL_NELEM(spellings); i++) {
		mon_opts_free(&o);
		setup();
		cr_assert_eq(parse(spellings[i]), 0, "%s", spellings[i][0]);
		cr_assert(o.help, "%s", spellings[i][0]);
	}
}

Test(mon_options, help_in_cluster)
{
	cr_assert_eq(PARSE("-th"), 0);
	cr_assert(o.terminal);
	cr_assert(o.help);
}

/* GLib prints the help when it meets the option: later ones are unseen. */
Test(mon_options, help_stops_parsing)
{
	cr_assert_eq(PARSE("--help", "--bogus"), 0);
	cr_assert(o.help);
	mon_opts_free(&o);
	setup();
	cr_assert_eq(PARSE("--bogus", "--help"), -1);
	cr_assert_str_eq(msg, PFX "Unknown option --bogus");
}

/* Spec 1.2: every option of conmon 2.2.1 lands in its field. */
Test(mon_options, every_option)
{
	cr_assert_eq(parse((char *[]){ "--api-version", "-b", "B", "-c", "C",
	    "-P", "PP", "-p", "CP", "-u", "U", "-e", "--exec-attach",
	    "--exec-process-spec", "EPS", "--exit-command", "EC",
	    "--exit-command-arg", "a1", "--exit-delay", "3", "--exit-dir", "ED",
	    "--full-attach", "--leave-stdin-open", "--log-level", "debug", "-l",
	    "L1", "--log-size-max", "100", "--log-global-size-max", "200",
	    "--log-tag", "TAG", "--log-label", "A=1",
	    "--no-container-partial-message", "--log-rotate", "--log-max-files",
	    "4", "--log-allowlist-dir", "/d", "-n", "N", "--no-new-keyring",
	    "--no-pivot", "--no-sync-log", "-0", "PD", "--replace-listen-pid",
	    "--restore", "R", "-r", "RT", "--runtime-arg", "ra",
	    "--runtime-opt", "ro", "--sdnotify-socket", "SD",
	    "--socket-dir-path", "SDP", "-i", "--sync", "--syslog", "-s", "-t",
	    "-T", "9", "--version", "--seccomp-notify-socket", "SNS",
	    "--seccomp-notify-plugins", "SNP", NULL }), 0, "%s", msg);
	cr_assert(o.api_version && o.exec && o.exec_attach && o.full_attach);
	cr_assert(o.leave_stdin_open && o.no_container_partial_message);
	cr_assert(o.log_rotate && o.no_new_keyring && o.no_pivot);
	cr_assert(o.no_sync_log && o.replace_listen_pid && o.stdin_);
	cr_assert(o.sync && o.syslog && o.systemd_cgroup && o.terminal);
	cr_assert(o.version && !o.help);
	cr_assert_str_eq(o.bundle, "B");
	cr_assert_str_eq(o.cid, "C");
	cr_assert_str_eq(o.conmon_pidfile, "PP");
	cr_assert_str_eq(o.container_pidfile, "CP");
	cr_assert_str_eq(o.cuuid, "U");
	cr_assert_str_eq(o.exec_process_spec, "EPS");
	cr_assert_str_eq(o.exit_command, "EC");
	cr_assert_str_eq(o.exit_command_args.v[0], "a1");
	cr_assert_eq(o.exit_delay, 3);
	cr_assert_str_eq(o.exit_dir, "ED");
	cr_assert_str_eq(o.log_level, "debug");
	cr_assert_str_eq(o.log_paths.v[0], "L1");
	cr_assert_eq(o.log_size_max, 100);
	cr_assert_eq(o.log_global_size_max, 200);
	cr_assert(o.log_global_size_max_set);
	cr_assert_str_eq(o.log_tag, "TAG");
	cr_assert_str_eq(o.log_labels.v[0], "A=1");
	cr_assert_eq(o.log_max_files, 4);
	cr_assert(o.log_max_files_set);
	cr_assert_str_eq(o.log_allowlist_dirs.v[0], "/d");
	cr_assert_str_eq(o.name, "N");
	cr_assert_str_eq(o.persist_dir, "PD");
	cr_assert_str_eq(o.restore, "R");
	cr_assert_str_eq(o.runtime, "RT");
	cr_assert_str_eq(o.runtime_args.v[0], "ra");
	cr_assert_str_eq(o.runtime_opts.v[0], "ro");
	cr_assert_str_eq(o.sdnotify_socket, "SD");
	cr_assert_str_eq(o.socket_dir_path, "SDP");
	cr_assert(o.socket_dir_path_set);
	cr_assert_eq(o.timeout, 9);
	cr_assert_str_eq(o.seccomp_notify_socket, "SNS");
	cr_assert_str_eq(o.seccomp_notify_plugins, "SNP");
}

/* Spec 1.5 checks 3-17 in order: each row also shows what it beats. */
static const struct {
	char *args[ARGS_MAX];
	const char *msg;
} check_rows[] = {
	{ { "--log-max-files", "-1" },
	    "conmon: log-max-files must be non-negative, got -1" },
	{ { "--log-rotate", "--log-max-files", "-5" },
	    "conmon: log-max-files must be non-negative, got -5" },
	{ { "--log-rotate", "--log-max-files", "0" }, "conmon: log-max-files "
	    "must be at least 1 when log-rotate is enabled, got 0" },
	{ { "--log-max-files", "0" },
	    "conmon: Container ID not provided. Use --cid" },
	{ { "-e", "--restore", "x" },
	    "conmon: Container ID not provided. Use --cid" },
	{ { "-c", "x", "--log-level", "bogus", "-e", "--restore", "r" },
	    ERR "No such log level bogus" },
	{ { "-c", "x", "--log-level", "", "-e" }, ERR "No such log level " },
	{ { "-c", "x", "-e", "--restore", "r", "--exec-attach" },
	    ERR "Cannot use 'exec' and 'restore' at the same time" },
	{ { "-c", "x", "--exec-attach" },
	    ERR "Attach can only be specified with exec" },
	{ { "-c", "x", "-e", "--exec-attach" },
	    ERR "Attach can only be specified for a non-legacy exec session" },
	{ { "-c", "x" }, ERR "Container UUID not provided. Use --cuuid" },
	{ { "-c", "x", "-e", "--api-version" },
	    ERR "Container UUID not provided. Use --cuuid" },
	{ { "-c", "x", "--restore", "r" },
	    ERR "Container UUID not provided. Use --cuuid" },
	{ { "-c", "x", "-e" }, ERR "Runtime path not provided. Use --runtime" },
	{ { "-c", "x", "-u", "u" },
	    ERR "Runtime path not provided. Use --runtime" },
	{ { "-c", "x", "-u", "u", "-r", "/nonexistent/vigil-runtime", "-e" },
	    ERR "Runtime path /nonexistent/vigil-runtime is not valid No such "
	    "file or directory" },
	{ { "-c", "x", "-r", "/", "-e", "--exit-delay", "-1" },
	    ERR "Exec process spec path not provided. "
	    "Use --exec-process-spec" },
	{ { "-c", "x", "-u", "u", "-r", "/", "--exit-delay", "-1" },
	    ERR "Delay before invoking exit command must be greater than or "
	    "equal to 0" },
	{ { "-c", "x", "-u", "u", "-r", "/" },
	    ERR "Log driver not provided. Use --log-path" },
	{ { "-c", "x", "-u", "u", "-r", "/", "-l", "bogus:x", "-l", "" },
	    ERR "No such log driver bogus" },
};

Test(mon_options, check_order_and_messages)
{
	for (size_t i = 0; i < VIGIL_NELEM(check_rows); i++) {
		mon_opts_free(&o);
		setup();
		cr_assert_eq(parse(check_rows[i].args), 0, "row %zu: %s", i,
		    msg);
		cr_assert_eq(mon_opts_check(&o, msg, sizeof(msg)), -1,
		    "row %zu", i);
		cr_assert_str_eq(msg, check_rows[i].msg, "row %zu", i);
	}
}

Test(mon_options, no_arguments_wants_cid)
{
	char *av[] = { "conmon", NULL };

	cr_assert_eq(mon_opts_parse(&o, 1, av, msg, sizeof(msg)), 0);
	cr_assert_eq(mon_opts_check(&o, msg, sizeof(msg)), -1);
	cr_assert_str_eq(msg, "conmon: Container ID not provided. Use --cid");
}

/* Spec 1.3: access(X_OK) lets a directory through, as upstream's tests. */
Test(mon_options, create_defaults_from_cwd)
{
	char *cwd = getcwd(NULL, 0), want[PATH_MAX + 64];

	cr_assert_not_null(cwd);
	cr_assert_eq(PARSE(BASE, "-l", "/tmp/x.log", "--log-level", "DEBUG"),
	    0);
	cr_assert_eq(mon_opts_check(&o, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_str_eq(o.cwd, cwd);
	cr_assert_str_eq(o.bundle_path, cwd);
	(void)snprintf(want, sizeof(want), "%s/pidfile-%s", cwd, CID);
	cr_assert_str_eq(o.pidfile_path, want);
	cr_assert_eq(o.level, DIAG_DEBUG);
	cr_assert_str_eq(o.k8s_path, "/tmp/x.log");
	free(cwd);
}

Test(mon_options, explicit_bundle_and_pidfile)
{
	cr_assert_eq(PARSE(BASE, "-l", "x", "-b", "/b", "--pidfile", "/p"), 0);
	cr_assert_eq(mon_opts_check(&o, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_str_eq(o.bundle_path, "/b");
	cr_assert_str_eq(o.pidfile_path, "/p");
	cr_assert_eq(o.level, DIAG_WARN);
}

Test(mon_options, exec_has_no_default_bundle)
{
	cr_assert_eq(PARSE(BASE, "-l", "none", "-e", "--exec-process-spec",
	    "/s"), 0);
	cr_assert_eq(mon_opts_check(&o, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_null(o.bundle_path);
	cr_assert_not_null(o.pidfile_path);
}

Test(mon_options, restore_defaults_bundle_to_cwd)
{
	cr_assert_eq(PARSE(BASE, "-l", "none", "--restore", "/ck"), 0);
	cr_assert_eq(mon_opts_check(&o, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_str_eq(o.bundle_path, o.cwd);
}

Test(mon_options, legacy_exec_needs_no_cuuid)
{
	cr_assert_eq(PARSE("-c", "x", "-r", "/", "-e", "--exec-process-spec",
	    "/s", "-l", "none"), 0);
	cr_assert_eq(mon_opts_check(&o, msg, sizeof(msg)), 0, "%s", msg);
}

Test(mon_options, check_twice_does_not_leak)
{
	cr_assert_eq(PARSE(BASE, "-l", "/a"), 0);
	cr_assert_eq(mon_opts_check(&o, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_eq(mon_opts_check(&o, msg, sizeof(msg)), 0, "%s", msg);
	cr_assert_str_eq(o.k8s_path, "/a");
}

/* Spec 1.5 check 14: the working directory was removed under us. */
Test(mon_options, getcwd_failure)
{
	char dir[] = "/tmp/vigil-opts-XXXXXX";

	cr_assert_not_null(mkdtemp(dir));
	cr_assert_eq(chdir(dir), 0);
	cr_assert_eq(rmdir(dir), 0);
	cr_assert_eq(PARSE(BASE, "-l", "x", "--exit-delay", "-1"), 0);
	cr_assert_eq(mon_opts_check(&o, msg, sizeof(msg)), -1);
	cr_assert_str_eq(msg, ERR "Failed to get working directory");
}

/* Spec 9.1, row by row; NULL k8s means no k8s-file selected. */
static const struct {
	char *vals[4];
	const char *k8s;
	bool journald;
	bool passthrough;
	const char *err;
} log_rows[] = {
	{ { "k8s-file:/var/log/c.log" }, "/var/log/c.log", false, false, NULL },
	{ { "/var/log/c.log" }, "/var/log/c.log", false, false, NULL },
	{ { ":/var/log/c.log" }, "/var/log/c.log", false, false, NULL },
	{ { "::/x" }, "/x", false, false, NULL },
	{ { "relative.log" }, "relative.log", false, false, NULL },
	{ { ":journald" }, "journald", false, false, NULL },
	{ { ":none" }, "none", false, false, NULL },
	{ { "journald" }, NULL, true, false, NULL },
	{ { "journald:" }, NULL, true, false, NULL },
	{ { "journald:/x" }, NULL, true, false, NULL },
	{ { "passthrough" }, NULL, false, true, NULL },
	{ { "passthrough:" }, NULL, false, true, NULL },
	{ { "passthrough:x" }, NULL, false, true, NULL },
	{ { "none" }, NULL, false, false, NULL },
	{ { "off" }, NULL, false, false, NULL },
	{ { "null" }, NULL, false, false, NULL },
	{ { "none:" }, NULL, false, false, NULL },
	{ { "off:/x" }, NULL, false, false, NULL },
	{ { "null:" }, NULL, false, false, NULL },
	{ { "k8s-file" }, NULL, false, false, "k8s-file requires a filename" },
	{ { "k8s-file:" }, NULL, false, false, "k8s-file requires a filename" },
	{ { "k8s-file::" }, NULL, false, false,
	    "k8s-file requires a filename" },
	{ { "" }, NULL, false, false, "log-path must not be empty" },
	{ { ":" }, NULL, false, false, "log-path must not be empty" },
	{ { "::" }, NULL, false, false, "log-path must not be empty" },
	{ { "invalid:/x" }, NULL, false, false, "No such log driver invalid" },
	{ { "invalid:" }, NULL, false, false, "No such log driver invalid" },
	{ { "a:b:c" }, NULL, false, false, "No such log driver a" },
	{ { "/a:b" }, NULL, false, false, "No such log driver /a" },
	{ { "K8S-FILE:/x" }, NULL, false, false,
	    "No such log driver K8S-FILE" },
	{ { "k8s-file:/a:b" }, "/a", false, false, NULL },
	{ { "/a", "/b" }, "/b", false, false, NULL },
	{ { "k8s-file:/a", "journald", "none" }, "/a", true, false, NULL },
	{ { "journald", "none" }, NULL, true, false, NULL },
	{ { "passthrough", "/p" }, "/p", false, true, NULL },
	{ { "/a", "bogus:x", "" }, NULL, false, false,
	    "No such log driver bogus" },
	{ { "/a", "", "bogus:x" }, NULL, false, false,
	    "log-path must not be empty" },
};

static void
log_row(size_t i)
{
	char *args[ARGS_MAX] = { BASE };
	size_t n = 6;
	char want[MON_OPTS_MSG_MAX];
	int r;

	for (size_t j = 0; log_rows[i].vals[j] != NULL; j++) {
		args[n++] = "-l";
		args[n++] = log_rows[i].vals[j];
	}
	cr_assert_eq(parse(args), 0, "row %zu: %s", i, msg);
	r = mon_opts_check(&o, msg, sizeof(msg));
	if (log_rows[i].err != NULL) {
		(void)snprintf(want, sizeof(want), ERR "%s", log_rows[i].err);
		cr_assert_eq(r, -1, "row %zu", i);
		cr_assert_str_eq(msg, want, "row %zu", i);
		return;
	}
	cr_assert_eq(r, 0, "row %zu: %s", i, msg);
	if (log_rows[i].k8s == NULL)
		cr_assert_null(o.k8s_path, "row %zu", i);
	else
		cr_assert_str_eq(o.k8s_path, log_rows[i].k8s, "row %zu", i);
	cr_assert_eq(o.journald, log_rows[i].journald, "row %zu", i);
	cr_assert_eq(o.passthrough, log_rows[i].passthrough, "row %zu", i);
}

Test(mon_options, log_path_values)
{
	for (size_t i = 0; i < VIGIL_NELEM(log_rows); i++) {
		mon_opts_free(&o);
		setup();
		log_row(i);
	}
}

/* Spec 1.5 checks 19-22 and 9.7's labels; NULL msg means success. */
static const struct {
	char *args[ARGS_MAX];
	const char *msg;
} late_rows[] = {
	{ { BASE, "-l", "/x", "--log-tag", "t", "--log-label", "=" },
	    ERR "k8s-file doesn't support --log-tag" },
	{ { BASE, "-l", "/x", "--log-label", "A=b" },
	    ERR "k8s-file doesn't support --log-label" },
	{ { BASE, "-l", "/x", "-l", "passthrough", "--log-tag", "t" },
	    ERR "k8s-file doesn't support --log-tag" },
	{ { BASE, "-l", "/x", "-l", "journald", "--log-tag", "t",
	    "--log-label", "A=b" }, NULL },
	{ { BASE, "-l", "none", "--log-tag", "t", "--log-label", "=" }, NULL },
	{ { BASE, "-l", "passthrough", "--log-label", "bad" }, NULL },
	{ { "-c", "abcdefghijkl", "-u", "u", "-r", "/", "-l", "journald:",
	    "--log-label", "=" },
	    ERR "Container ID must be longer than 12 characters" },
	{ { "-c", "abcdefghijklm", "-u", "u", "-r", "/", "-l", "journald" },
	    NULL },
	{ { BASE, "-l", "journald", "--log-label", "=A" },
	    ERR "Container labels must be in format LABEL=VALUE (no LABEL "
	    "present in '=A')" },
	{ { BASE, "-l", "journald", "--log-label", "=A=b" },
	    ERR "Container labels must be in format LABEL=VALUE (no LABEL "
	    "present in '=A=b')" },
	{ { BASE, "-l", "journald", "--log-label", "A" },
	    ERR "Container labels must be in format LABEL=VALUE (none or more "
	    "than one '=' present in 'A')" },
	{ { BASE, "-l", "journald", "--log-label", "" },
	    ERR "Container labels must be in format LABEL=VALUE (none or more "
	    "than one '=' present in '')" },
	{ { BASE, "-l", "journald", "--log-label", "A=b=c" },
	    ERR "Container labels must be in format LABEL=VALUE (none or more "
	    "than one '=' present in 'A=b=c')" },
	{ { BASE, "-l", "journald", "--log-label", "a=b" },
	    ERR "Container label names must contain only uppercase letters, "
	    "numbers and underscore (in 'a=b')" },
	{ { BASE, "-l", "journald", "--log-label", "A-B=x" },
	    ERR "Container label names must contain only uppercase letters, "
	    "numbers and underscore (in 'A-B=x')" },
	{ { BASE, "-l", "journald", "--log-label", "_A=x" },
	    ERR "Container label names must contain only uppercase letters, "
	    "numbers and underscore (in '_A=x')" },
	{ { BASE, "-l", "journald", "--log-label", "A_1=x", "--log-label",
	    "B=", "--log-label", "C=x", "--log-label", "d=1" },
	    ERR "Container label names must contain only uppercase letters, "
	    "numbers and underscore (in 'd=1')" },
	{ { BASE, "-l", "journald", "--log-label", "A_1=x", "--log-label",
	    "Z9_=" }, NULL },
};

Test(mon_options, late_checks)
{
	for (size_t i = 0; i < VIGIL_NELEM(late_rows); i++) {
		mon_opts_free(&o);
		setup();
		cr_assert_eq(parse(late_rows[i].args), 0, "row %zu", i);
		cr_assert_eq(mon_opts_check(&o, msg, sizeof(msg)), 0,
		    "row %zu: %s", i, msg);
		if (late_rows[i].msg == NULL) {
			cr_assert_eq(mon_opts_check_late(&o, msg, sizeof(msg)),
			    0, "row %zu: %s", i, msg);
			continue;
		}
		cr_assert_eq(mon_opts_check_late(&o, msg, sizeof(msg)), -1,
		    "row %zu", i);
		cr_assert_str_eq(msg, late_rows[i].msg, "row %zu", i);
	}
}

/* Spec 1.5 check 23 and 17 row 8: a warning, never a failure. */
Test(mon_options, partial_message_warning_without_journald)
{
	cr_assert_eq(check_all((char *[]){ BASE, "-l", "/x",
	    "--no-container-partial-message", NULL }), 0, "%s", msg);
	cr_assert(o.partial_msg_warning);
}

Test(mon_options, partial_message_quiet_with_journald)
{
	cr_assert_eq(check_all((char *[]){ BASE, "-l", "journald",
	    "--no-container-partial-message", NULL }), 0, "%s", msg);
	cr_assert_not(o.partial_msg_warning);
}

Test(mon_options, partial_message_quiet_without_option)
{
	cr_assert_eq(check_all((char *[]){ BASE, "-l", "/x", NULL }), 0, "%s",
	    msg);
	cr_assert_not(o.partial_msg_warning);
}

/*
 * The not-supported-yet table is empty since issue 6 built its last row
 * (--sdnotify-socket, spec 13): every option that parses is supported,
 * every former row included.
 */
Test(mon_options, unsupported_table_empty)
{
	static char *const rows[][3] = {
		{ "--sdnotify-socket", "/s", NULL },
	};

	for (size_t i = 0; i < VIGIL_NELEM(rows); i++) {
		mon_opts_free(&o);
		setup();
		cr_assert_eq(parse(rows[i]), 0, "%s", msg);
		cr_assert_eq(mon_opts_check_supported(&o, msg, sizeof(msg)),
		    0, "%s: %s", rows[i][0], msg);
	}
}

Test(mon_options, supported_create_passes)
{
	cr_assert_eq(check_all((char *[]){ BASE, "-l", "/x", "-P", "/p",
	    "--exit-dir", "/e", "-0", "/pd", "--log-size-max", "10", "--sync",
	    "--api-version", "-s", "--runtime-arg", "--debug", NULL }), 0, "%s",
	    msg);
	cr_assert_eq(mon_opts_check_supported(&o, msg, sizeof(msg)), 0, "%s",
	    msg);
}

/* An explicit value, even the default, counts; the default alone not. */
Test(mon_options, socket_dir_default_is_supported)
{
	cr_assert_eq(check_all((char *[]){ BASE, "-l", "none", NULL }), 0);
	cr_assert_eq(mon_opts_check_supported(&o, msg, sizeof(msg)), 0, "%s",
	    msg);
}

/* spec 9.7: journald is supported (issue 6). */
Test(mon_options, journald_supported)
{
	cr_assert_eq(check_all((char *[]){ BASE, "-l", "journald:", NULL }), 0,
	    "%s", msg);
	cr_assert(o.journald);
	cr_assert_eq(mon_opts_check_supported(&o, msg, sizeof(msg)), 0, "%s",
	    msg);
}

/* Spec 14.3: accepted by the parser, refused after the table. */
Test(mon_options, seccomp_notify_refused)
{
	static char *const rows[][3] = {
		{ "--seccomp-notify-socket", "/s", NULL },
		{ "--seccomp-notify-plugins", "/p", NULL },
	};

	for (size_t i = 0; i < VIGIL_NELEM(rows); i++) {
		mon_opts_free(&o);
		setup();
		cr_assert_eq(parse(rows[i]), 0);
		cr_assert_eq(mon_opts_check_supported(&o, msg, sizeof(msg)),
		    -1);
		cr_assert_str_eq(msg, ERR "seccomp notify is not supported");
	}
}

/* With the table empty, a supported option beside it changes nothing. */
Test(mon_options, seccomp_notify_after_table)
{
	cr_assert_eq(PARSE("--seccomp-notify-socket", "/s",
	    "--sdnotify-socket", "/n"), 0);
	cr_assert_eq(mon_opts_check_supported(&o, msg, sizeof(msg)), -1);
	cr_assert_str_eq(msg, ERR "seccomp notify is not supported");
}

/* Spec 1.4 and 17 row 1: exactly two lines. */
Test(mon_options, version_output, .init = cr_redirect_stdout)
{
	mon_opts_print_version();
	(void)fflush(stdout);
	cr_assert_stdout_eq_str("conmon version 2.2.1\n"
				"commit: vigil-" VIGIL_VERSION "-" VIGIL_COMMIT
				"\n");
}

/* Runs fn with stdout sent to a temporary file; returns what it wrote. */
static char *
capture(void (*fn)(void))
{
	FILE *tmp = tmpfile();
	struct stat st;
	char *buf;
	int saved;

	cr_assert_not_null(tmp);
	cr_assert_eq(fflush(stdout), 0);
	saved = dup(STDOUT_FILENO);
	cr_assert_geq(saved, 0);
	cr_assert_geq(dup2(fileno(tmp), STDOUT_FILENO), 0);
	fn();
	cr_assert_eq(fflush(stdout), 0);
	cr_assert_geq(dup2(saved, STDOUT_FILENO), 0);
	cr_assert_eq(close(saved), 0);
	cr_assert_eq(fstat(fileno(tmp), &st), 0);
	buf = calloc(1, (size_t)st.st_size + 1);
	cr_assert_not_null(buf);
	rewind(tmp);
	cr_assert_eq(fread(buf, 1, (size_t)st.st_size, tmp),
	    (size_t)st.st_size);
	cr_assert_eq(fclose(tmp), 0);
	return buf;
}

/* Spec 1.4 and 17 row 2: every visible long option, one line each. */
static const char *const help_names[] = {
	"api-version", "bundle", "cid", "conmon-pidfile", "container-pidfile",
	"cuuid", "exec", "exec-attach", "exec-process-spec", "exit-command",
	"exit-command-arg", "exit-delay", "exit-dir", "full-attach",
	"leave-stdin-open", "log-level", "log-path", "log-size-max",
	"log-global-size-max", "log-tag", "log-label",
	"no-container-partial-message", "log-rotate", "log-max-files",
	"log-allowlist-dir", "name", "no-new-keyring", "no-pivot",
	"no-sync-log", "persist-dir", "replace-listen-pid", "restore",
	"runtime", "runtime-arg", "runtime-opt", "sdnotify-socket",
	"socket-dir-path", "stdin", "sync", "syslog", "systemd-cgroup",
	"terminal", "timeout", "version", "seccomp-notify-socket",
	"seccomp-notify-plugins", "help",
};

Test(mon_options, help_output)
{
	char *out = capture(mon_opts_print_help), needle[64];
	const char *line;

	cr_assert(strncmp(out, "Usage:\n  conmon [OPTION",
	    strlen("Usage:\n  conmon [OPTION")) == 0, "%s", out);
	cr_assert_not_null(strstr(out, "\nApplication Options:\n"));
	cr_assert_not_null(strstr(out, "  -h, --help "));
	cr_assert_not_null(strstr(out, "  -c, --cid "));
	cr_assert_not_null(strstr(out, "  -0, --persist-dir "));
	cr_assert_not_null(strstr(out, "--exec"));
	cr_assert_not_null(strstr(out, "--log-global-size-max"));
	cr_assert_not_null(strstr(out, "--pidfile"));
	cr_assert_not_null(strstr(out, "--restore-arg"));
	for (size_t i = 0; i < VIGIL_NELEM(help_names); i++) {
		(void)snprintf(needle, sizeof(needle), "--%s ", help_names[i]);
		cr_assert_not_null(strstr(out, needle), "%s", needle);
	}
	line = strstr(out, "--no-container-partial-message ");
	cr_assert_not_null(line);
	cr_assert_not_null(strstr(line, "journald"));
	cr_assert(strchr(line, '\n') > strstr(line, "journald"),
	    "journald must be on the option's own line");
	free(out);
}

/* README "Auditing vigil's sandbox": a role each, no other option. */
Test(mon_options, inspection_options_parse)
{
	cr_assert_eq(PARSE("--print-seccomp-profile", "logger",
	    "--export-seccomp-pfc=attach"), 0, "%s", msg);
	cr_expect_str_eq(o.print_seccomp_profile, "logger");
	cr_expect_str_eq(o.export_seccomp_pfc, "attach");
	cr_expect_null(o.cid);
	cr_assert_eq(PARSE("--export-seccomp-pfc"), -1);
	cr_expect_str_eq(msg, "conmon: option parsing failed: Missing "
	    "argument for --export-seccomp-pfc");
}

Test(mon_options, print_profile_is_the_embedded_text,
    .init = cr_redirect_stdout)
{
	cr_assert_eq(mon_opts_print_profile("attach", msg, sizeof(msg)), 0,
	    "%s", msg);
	(void)fflush(stdout);
	cr_assert_stdout_eq_str(profile_text_of("attach"));
}

Test(mon_options, inspection_unknown_role)
{
	cr_assert_eq(mon_opts_print_profile("bogus", msg, sizeof(msg)), -1);
	cr_expect_str_eq(msg, "[conmon:e]: unknown role 'bogus' for "
	    "--print-seccomp-profile (one of: attach, logger)");
	cr_assert_eq(mon_opts_export_pfc("", msg, sizeof(msg)), -1);
	cr_expect_str_eq(msg, "[conmon:e]: unknown role '' for "
	    "--export-seccomp-pfc (one of: attach, logger)");
}
