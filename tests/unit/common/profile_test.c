/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/common/profile_test.c: the profile parser against tables of
 * good and bad lines, the embedded profiles, and the sandbox steps in
 * forked children (the filter, the trap report, ids and capabilities).
 */
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <seccomp.h>

#include "common/chan.h"
#include "common/profile.h"
#include "common/sandbox.h"
#include "tests/unit/forked.h"

/* What a forked child reports back through its pipe. */
#define REPORT_MAX 512
/* The unprivileged identity the root tests switch to (nobody). */
#define TEST_UID 65534
#define TEST_GID 65534

static struct profile prof;

/* ---- the parser ------------------------------------------------------ */

struct good_case {
	const char *text;
	const char *name;
	int err;
	unsigned ncond;
	struct profile_cond cond[PROFILE_MAX_CONDS];
};

static const struct good_case good_cases[] = {
    {"read # why", "read", 0, 0, {{0}}},
    {" \tread\t#why\r", "read", 0, 0, {{0}}},
    {"fcntl arg1 == F_GETFL # r", "fcntl", 0, 1, {{1, PROFILE_EQ, 0, F_GETFL}}},
    {"fcntl arg1 != 5 # r", "fcntl", 0, 1, {{1, PROFILE_NE, 0, 5}}},
    {"fcntl arg1 == 0x10 # r", "fcntl", 0, 1, {{1, PROFILE_EQ, 0, 16}}},
    {"mmap arg2 & PROT_EXEC == 0 # r", "mmap", 0, 1,
	{{2, PROFILE_MASKED_EQ, PROT_EXEC, 0}}},
    {"mmap arg2 & PROT_READ|PROT_WRITE == 0x3 # or'ed", "mmap", 0, 1,
	{{2, PROFILE_MASKED_EQ, PROT_READ | PROT_WRITE, 3}}},
    {"sendmsg arg2 == MSG_NOSIGNAL|MSG_DONTWAIT|1 # r", "sendmsg", 0, 1,
	{{2, PROFILE_EQ, 0, MSG_NOSIGNAL | MSG_DONTWAIT | 1}}},
    {"newfstatat arg3 == AT_EMPTY_PATH # fstat", "newfstatat", 0, 1,
	{{3, PROFILE_EQ, 0, AT_EMPTY_PATH}}},
    {"getrandom errno ENOSYS # libc copes", "getrandom", ENOSYS, 0, {{0}}},
    {"ioctl arg1 == TIOCSWINSZ errno EPERM # r", "ioctl", EPERM, 1,
	{{1, PROFILE_EQ, 0, TIOCSWINSZ}}},
    {"mmap arg0 == 0 arg2 != PROT_NONE arg3 & MAP_PRIVATE == "
     "MAP_PRIVATE # three",
	"mmap", 0, 3,
	{{0, PROFILE_EQ, 0, 0}, {2, PROFILE_NE, 0, PROT_NONE},
	    {3, PROFILE_MASKED_EQ, MAP_PRIVATE, MAP_PRIVATE}}},
};

static void
good_check(const struct good_case *c)
{
	char err[128] = "";
	const struct profile_rule *r = &prof.rules[0];

	cr_assert_eq(profile_parse(c->text, &prof, err, sizeof(err)), 0,
	    "\"%s\": %s", c->text, err);
	cr_assert_eq(prof.n, 1, "\"%s\"", c->text);
	cr_expect_str_eq(r->name, c->name);
	cr_expect_eq(r->nr, seccomp_syscall_resolve_name(c->name));
	cr_expect_eq(r->err, c->err, "\"%s\"", c->text);
	cr_expect_eq(r->line, 1);
	cr_assert_eq(r->ncond, c->ncond, "\"%s\"", c->text);
	for (unsigned i = 0; i < r->ncond; i++) {
		cr_expect_eq(r->cond[i].arg, c->cond[i].arg, "\"%s\"", c->text);
		cr_expect_eq(r->cond[i].op, c->cond[i].op, "\"%s\"", c->text);
		cr_expect_eq(
		    r->cond[i].value, c->cond[i].value, "\"%s\"", c->text);
		if (c->cond[i].op == PROFILE_MASKED_EQ)
			cr_expect_eq(r->cond[i].mask, c->cond[i].mask, "\"%s\"",
			    c->text);
	}
}

Test(profile, parses_good_lines)
{
	for (size_t i = 0; i < VIGIL_NELEM(good_cases); i++)
		good_check(&good_cases[i]);
}

struct bad_case {
	const char *text;
	const char *want; /* the whole error text */
};

static const struct bad_case bad_cases[] = {
    {"read", "line 1: rule without a reason (# why)"},
    {"read #  \t", "line 1: rule without a reason (# why)"},
    {"frobnicate # r", "line 1: unknown system call frobnicate"},
    {"Read # r", "line 1: bad system call name 'Read'"},
    {"a_very_long_name_that_is_no_syscall_x # r",
	"line 1: system call name too long "
	"'a_very_long_name_that_is_no_syscall_x'"},
    {"fcntl arg6 == 1 # r", "line 1: bad argument index 'arg6' (arg0..arg5)"},
    {"fcntl argv == 1 # r", "line 1: bad argument index 'argv' (arg0..arg5)"},
    {"mmap arg0 == 0 arg1 == 1 arg2 == 2 arg3 == 3 # r",
	"line 1: too many conditions (at most 3)"},
    {"fcntl arg1 == F_NOPE # r", "line 1: unknown constant F_NOPE"},
    {"fcntl arg1 == F_GETFL|F_NOPE # r", "line 1: unknown constant F_NOPE"},
    {"fcntl arg1 == F_GETFL| # r", "line 1: bad value 'F_GETFL|'"},
    {"fcntl arg1 == 0x # r", "line 1: bad number '0x'"},
    {"fcntl arg1 == 12ab # r", "line 1: bad number '12ab'"},
    {"fcntl arg1 == 99999999999999999999 # r",
	"line 1: bad number '99999999999999999999'"},
    {"fcntl arg1 == # r", "line 1: incomplete condition on arg1"},
    {"fcntl arg1 # r", "line 1: incomplete condition on arg1"},
    {"fcntl arg1 < 3 # r", "line 1: expected ==, != or & after arg1"},
    {"mmap arg2 & PROT_EXEC 0 # r", "line 1: expected 'arg2 & MASK == VALUE'"},
    {"fcntl arg1 == 1 arg1 == 2 # r", "line 1: arg1 compared twice"},
    {"mmap arg2 & PROT_EXEC == PROT_READ # r",
	"line 1: arg2: value outside the mask never matches"},
    {"read errno # r",
	"line 1: errno needs a name (EPERM, EACCES, ENOSYS, EINVAL)"},
    {"read errno EFOO # r", "line 1: unknown errno EFOO"},
    {"read errno EPERM arg0 == 1 # r",
	"line 1: unexpected 'arg0' after errno EPERM"},
    {"read fd # r", "line 1: unexpected 'fd'"},
    {"read # a\nread errno EPERM # b",
	"line 2: read: the rule of line 1 with another action"},
    {"read arg0 == 1 # a\nread arg0 == 1 errno EPERM # b",
	"line 2: read: the rule of line 1 with another action"},
    {"# comment\n\n   \nfrob # r", "line 4: unknown system call frob"},
};

Test(profile, rejects_bad_lines)
{
	for (size_t i = 0; i < VIGIL_NELEM(bad_cases); i++) {
		char err[160] = "";

		cr_expect_eq(
		    profile_parse(bad_cases[i].text, &prof, err, sizeof(err)),
		    -1, "\"%s\" accepted", bad_cases[i].text);
		cr_expect_str_eq(
		    err, bad_cases[i].want, "\"%s\"", bad_cases[i].text);
	}
}

Test(profile, counts_lines_and_skips_comments)
{
	char err[128] = "";

	cr_assert_eq(profile_parse("# head\n\nread # a\n  # indented\r\n"
				   "write # b\n",
			 &prof, err, sizeof(err)),
	    0, "%s", err);
	cr_assert_eq(prof.n, 2);
	cr_expect_eq(prof.rules[0].line, 3);
	cr_expect_eq(prof.rules[1].line, 5);
}

/* A test build's additions may repeat a role's line: harmless. */
Test(profile, accepts_the_same_rule_twice)
{
	char err[128] = "";
	scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);

	cr_assert_not_null(ctx);
	cr_assert_eq(profile_parse("read # a\nread # b\nread arg0 == 1 # c\n",
			 &prof, err, sizeof(err)),
	    0, "%s", err);
	cr_expect_eq(prof.n, 3);
	cr_expect_eq(profile_apply(&prof, ctx, err, sizeof(err)), 0, "%s", err);
	seccomp_release(ctx);
}

Test(profile, rejects_too_many_rules)
{
	static char text[PROFILE_MAX_RULES * 32 + 64];
	char err[128] = "";
	size_t off = 0;

	for (unsigned i = 0; i <= PROFILE_MAX_RULES; i++)
		off += (size_t)snprintf(
		    text + off, sizeof(text) - off, "read arg0 == %u # r\n", i);
	cr_assert_lt(off, sizeof(text));
	cr_expect_eq(profile_parse(text, &prof, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "line 161: too many rules (at most 160)");
}

Test(profile, cuts_error_text_to_buffer)
{
	char err[8];

	cr_expect_eq(
	    profile_parse("frobnicate # r", &prof, err, sizeof(err)), -1);
	cr_expect_str_eq(err, "line 1:");
	cr_expect_eq(profile_parse("frobnicate # r", &prof, NULL, 0), -1);
}

/* ---- the embedded profiles ------------------------------------------- */

Test(profile, finds_embedded_texts)
{
	cr_expect_not_null(profile_text_of("logger"));
	cr_expect_null(profile_text_of("nobody"));
	cr_expect_null(profile_text_of(NULL));
}

/* Every embedded profile parses and every rule goes into a filter. */
Test(profile, embedded_profiles_apply)
{
	for (const struct profile_text *t = profile_texts; t->role != NULL;
	     t++) {
		char err[160] = "";
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_TRAP);

		cr_assert_not_null(ctx);
		cr_assert_eq(profile_parse(t->text, &prof, err, sizeof(err)), 0,
		    "%s: %s", t->role, err);
		cr_expect_gt(prof.n, 0, "%s: no rules", t->role);
		cr_expect_eq(profile_apply(&prof, ctx, err, sizeof(err)), 0,
		    "%s: %s", t->role, err);
		seccomp_release(ctx);
	}
}

/* security.md "Seccomp policy": never allowed in either child. */
static const char *const never_allowed[] = {
    "open",
    "openat",
    "openat2",
    "creat",
    "socket",
    "socketpair",
    "connect",
    "bind",
    "listen",
    "execve",
    "execveat",
    "fork",
    "vfork",
    "clone",
    "clone3",
    "kill",
    "tkill",
    "tgkill",
    "pidfd_send_signal",
    "ptrace",
    "process_vm_readv",
    "process_vm_writev",
    "setuid",
    "setgid",
    "setresuid",
    "setreuid",
    "capset",
    "prctl",
    "seccomp",
    "mount",
    "unshare",
    "setns",
    "bpf",
    "perf_event_open",
    "keyctl",
    "personality",
    "userfaultfd",
    "io_uring_setup",
    "io_uring_enter",
    "readlink",
    "unlink",
    "rename",
    "mkdir",
};

Test(profile, embedded_profiles_never_allow_forbidden_calls)
{
	for (const struct profile_text *t = profile_texts; t->role != NULL;
	     t++) {
		char err[160] = "";

		cr_assert_eq(profile_parse(t->text, &prof, err, sizeof(err)), 0,
		    "%s: %s", t->role, err);
		for (size_t i = 0; i < prof.n; i++)
			for (size_t j = 0; j < VIGIL_NELEM(never_allowed); j++)
				cr_expect(prof.rules[i].err != 0 ||
					      strcmp(prof.rules[i].name,
						  never_allowed[j]) != 0,
				    "%s line %u allows %s", t->role,
				    prof.rules[i].line, never_allowed[j]);
	}
}

/* ---- the filter in a forked child ------------------------------------ */

/* Just what the trap path and seccomp_release after the load need. */
static const char test_profile[] =
    "sendmsg # the SIGSYS report\n"
    "exit_group # _exit\n"
    "rt_sigreturn # signal return\n"
    "munmap # seccomp_release frees\n"
    "brk # seccomp_release frees\n"
    "madvise # free trimming\n"
    "getpid errno EPERM # refused, not trapped\n"
    "mmap arg2 & PROT_EXEC == 0 # never executable\n"
#ifdef VIGIL_SANITIZE
    "sigaltstack # ASan: __asan_handle_no_return before a noreturn call\n"
#endif
    ;

typedef void (*child_fn)(int chan);

/*
 * A filtered child leaves by exit_group itself: a sanitizer's _exit hook
 * makes calls the small test profile does not allow.
 */
static void
filtered_exit(int code)
{
	(void)syscall(SYS_exit_group, code);
	_exit(code); /* not reached */
}

/* Forks fn(chan) with a channel; returns the child's wait status. */
static int
run_filtered(child_fn fn, struct chan_msg *msg, int *got)
{
	const char *why = NULL;
	int sv[2], status;
	pid_t pid;

	cr_assert_eq(chan_pair(sv), 0);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		(void)close(sv[0]); /* child: its own end only */
		fn(sv[1]);
		filtered_exit(0);
	}
	(void)close(sv[1]); /* so the child's death is an end of file */
	*got = chan_recv(sv[0], CHAN_LOGGER, msg, &why);
	cr_assert_neq(*got, -1, "chan_recv: %s", why ? why : strerror(errno));
	cr_assert_eq(waitpid(pid, &status, 0), pid);
	(void)close(sv[0]); /* test end */
	return status;
}

static void
child_test_profile(int chan)
{
	char err[160];

	if (sandbox_seccomp_text(test_profile, chan, err, sizeof(err)) < 0)
		filtered_exit(3);
}

static void
child_getppid(int chan)
{
	child_test_profile(chan);
	(void)syscall(SYS_getppid); /* traps: never returns */
	filtered_exit(4);
}

Test(sandbox, trap_reports_forbidden_call)
{
	struct chan_msg msg;
	int got, status = run_filtered(child_getppid, &msg, &got);

	cr_assert_eq(got, 1, "no report");
	cr_expect_eq(msg.type, CHAN_TRAP);
	cr_expect_eq(msg.u.trap.nr, SYS_getppid);
	cr_expect_eq(msg.u.trap.arch, seccomp_arch_native());
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x",
	    status);
}

static void
child_errno_rule(int chan)
{
	long rc;

	child_test_profile(chan);
	rc = syscall(SYS_getpid);
	filtered_exit(rc == -1 && errno == EPERM ? 0 : 5);
}

Test(sandbox, errno_rule_refuses_without_trap)
{
	struct chan_msg msg;
	int got, status = run_filtered(child_errno_rule, &msg, &got);

	cr_expect_eq(got, 0, "unexpected message %u (nr %d)", msg.type,
	    msg.type == CHAN_TRAP ? msg.u.trap.nr : -1);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x",
	    status);
}

static void
child_mmap_exec(int chan)
{
	void *p;

	child_test_profile(chan);
	p = mmap(
	    NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANON, -1, 0);
	if (p == MAP_FAILED)
		filtered_exit(6);
	(void)mmap(NULL, 4096, PROT_READ | PROT_EXEC, MAP_PRIVATE | MAP_ANON,
	    -1, 0); /* traps */
	filtered_exit(7);
}

Test(sandbox, masked_condition_traps_prot_exec_only)
{
	struct chan_msg msg;
	int got, status = run_filtered(child_mmap_exec, &msg, &got);

	cr_assert_eq(got, 1, "no report, status %#x", status);
	cr_expect_eq(msg.u.trap.nr, SYS_mmap);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x",
	    status);
}

static void
child_logger_socket(int chan)
{
	char err[160];

	if (sandbox_seccomp("logger", chan, err, sizeof(err)) < 0)
		filtered_exit(3);
	(void)socket(AF_INET, SOCK_STREAM, 0); /* traps */
	filtered_exit(4);
}

/* The logger's own profile covers the trap path and the load's cleanup. */
Test(sandbox, logger_profile_traps_socket)
{
	struct chan_msg msg;
	int got, status = run_filtered(child_logger_socket, &msg, &got);

	cr_assert_eq(got, 1, "no report, status %#x", status);
	cr_expect_eq(msg.type, CHAN_TRAP);
	cr_expect_eq(msg.u.trap.nr, SYS_socket);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %#x",
	    status);
}

static void
child_bad_text(int chan)
{
	char err[160];

	if (sandbox_seccomp_text("read", chan, err, sizeof(err)) == 0 ||
	    strcmp(err, "seccomp: profile: line 1: rule without a reason "
			"(# why)") != 0)
		filtered_exit(8);
	if (sandbox_seccomp("no-such-role", chan, err, sizeof(err)) == 0 ||
	    strcmp(err, "seccomp: no profile for no-such-role") != 0)
		filtered_exit(9);
	filtered_exit(0);
}

Test(sandbox, seccomp_names_bad_profile)
{
	struct chan_msg msg;
	int got, status = run_filtered(child_bad_text, &msg, &got);

	cr_expect_eq(got, 0);
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x",
	    status);
}

/* ---- sandbox_drop in a forked child ---------------------------------- */

/*
 * The fields of /proc/self/status a test looks at, one line each, read
 * through fd 0: opened before the drop, since Landlock forbids it after.
 */
static void
report_status(int out)
{
	static const char *const keys[] = {"Uid:", "Gid:", "Groups:", "CapInh:",
	    "CapPrm:", "CapEff:", "CapBnd:", "CapAmb:", "NoNewPrivs:"};
	char buf[4096], rep[REPORT_MAX] = "";
	size_t off = 0;
	ssize_t n;

	if ((n = pread(0, buf, sizeof(buf) - 1, 0)) <= 0)
		_exit(10);
	buf[n] = '\0';
	for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
		size_t len = strlen(line);

		while (len > 0 && line[len - 1] == ' ') /* "Groups:\t " */
			line[--len] = '\0';
		for (size_t i = 0; i < VIGIL_NELEM(keys); i++)
			if (strncmp(line, keys[i], strlen(keys[i])) == 0)
				off += (size_t)snprintf(
				    rep + off, sizeof(rep) - off, "%s\n", line);
	}
	if (write(out, rep, strlen(rep)) < 0)
		_exit(11);
}


static char title_area[] = "conmon\0--cid\0"
			   "0123456789abcdef\0--log";

static void
child_drop(int fd, bool keep_ids)
{
	struct sandbox_conf conf = {
	    .role = "logger",
	    .title = "conmon: logger 0123456789ab",
	    .chan_fd = fd,
	    .reaper = getppid(),
	    .uid = TEST_UID,
	    .gid = TEST_GID,
	    .keep_ids = keep_ids,
	    .nofile = 64,
	};
	char err[160];
	int chan = -1, st = open("/proc/self/status", O_RDONLY);

	/* fd 0 survives the drop; the text is made at each read */
	if (st < 0 || dup2(st, 0) < 0)
		_exit(10);
	if (sandbox_drop(&conf, &chan, err, sizeof(err)) < 0) {
		if (write(fd, err, strlen(err)) < 0)
			_exit(12);
		_exit(13);
	}
	if (chan != 3)
		_exit(14);
	report_status(chan);
}

static void
child_drop_switch(int fd)
{
	child_drop(fd, false);
}

Test(sandbox, drop_as_root_switches_uid_and_clears_caps)
{
	char rep[REPORT_MAX];
	int status;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	status = unit_run_forked(child_drop_switch, rep, sizeof(rep));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %#x: %s", status, rep);
	cr_expect_str_eq(rep, "Uid:\t65534\t65534\t65534\t65534\n"
			      "Gid:\t65534\t65534\t65534\t65534\n"
			      "Groups:\t\n"
			      "CapInh:\t0000000000000000\n"
			      "CapPrm:\t0000000000000000\n"
			      "CapEff:\t0000000000000000\n"
			      "CapBnd:\t0000000000000000\n"
			      "CapAmb:\t0000000000000000\n"
			      "NoNewPrivs:\t1\n");
}

static void
child_drop_keep(int fd)
{
	child_drop(fd, true);
}

/* The journald logger: same uid, nothing else (architecture.md). */
Test(sandbox, drop_keep_ids_clears_caps_and_groups)
{
	char rep[REPORT_MAX], want[REPORT_MAX];
	int status;

	if (geteuid() != 0)
		cr_skip_test("needs root");
	if (setgroups(1, (gid_t[]){TEST_GID}) < 0)
		cr_skip_test("setgroups: %s", strerror(errno));
	status = unit_run_forked(child_drop_keep, rep, sizeof(rep));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %#x: %s", status, rep);
	(void)snprintf(want, sizeof(want),
	    "Uid:\t%u\t%u\t%u\t%u\n"
	    "Gid:\t%u\t%u\t%u\t%u\n"
	    "Groups:\t\n"
	    "CapInh:\t0000000000000000\n"
	    "CapPrm:\t0000000000000000\n"
	    "CapEff:\t0000000000000000\n"
	    "CapBnd:\t0000000000000000\n"
	    "CapAmb:\t0000000000000000\n"
	    "NoNewPrivs:\t1\n",
	    getuid(), getuid(), getuid(), getuid(), getgid(), getgid(),
	    getgid(), getgid());
	cr_expect_str_eq(rep, want);
}

/* fds, signals, limits, dumpable, death signal and the title. */
static void
child_drop_rest(int fd)
{
	struct sandbox_conf conf = {
	    .title = "conmon: logger 0123456789ab",
	    .chan_fd = fd,
	    .reaper = getppid(),
	    .uid = getuid(),
	    .gid = getgid(),
	    .keep_ids = true,
	    .nofile = 64,
	};
	char err[160], rep[REPORT_MAX];
	struct sigaction usr1, sigpipe;
	struct rlimit nofile, core, nproc;
	sigset_t mask;
	int chan = -1, open_fds = 0, death = -1;

	if (sandbox_drop(&conf, &chan, err, sizeof(err)) < 0)
		_exit(13);
	for (int i = 3; i < 1024; i++)
		open_fds += fcntl(i, F_GETFD) >= 0 && i != chan;
	if (sigprocmask(SIG_SETMASK, NULL, &mask) < 0 ||
	    sigaction(SIGUSR1, NULL, &usr1) < 0 ||
	    sigaction(SIGPIPE, NULL, &sigpipe) < 0 ||
	    getrlimit(RLIMIT_NOFILE, &nofile) < 0 ||
	    getrlimit(RLIMIT_CORE, &core) < 0 ||
	    getrlimit(RLIMIT_NPROC, &nproc) < 0 ||
	    prctl(PR_GET_PDEATHSIG, &death) < 0)
		_exit(15);
	(void)snprintf(rep, sizeof(rep),
	    "cloexec=%d others=%d usr1=%s pipe=%s usr2blocked=%d nofile=%lu "
	    "core=%lu nproc=%lu dumpable=%d death=%d title=%s|%s",
	    fcntl(chan, F_GETFD) & FD_CLOEXEC, open_fds,
	    usr1.sa_handler == SIG_DFL ? "dfl" : "set",
	    sigpipe.sa_handler == SIG_IGN ? "ign" : "not-ign",
	    sigismember(&mask, SIGUSR2), (unsigned long)nofile.rlim_max,
	    (unsigned long)core.rlim_max, (unsigned long)nproc.rlim_max,
	    prctl(PR_GET_DUMPABLE), death, title_area,
	    title_area + strlen(title_area) + 1);
	if (write(chan, rep, strlen(rep)) < 0)
		_exit(11);
}

Test(sandbox, drop_closes_fds_resets_signals_and_retitles)
{
	/* static: the copies stay reachable, as from main()'s argv */
	static char *argv[] = {
	    title_area, title_area + 7, title_area + 13, title_area + 30, NULL};
	char rep[REPORT_MAX];
	sigset_t usr2;
	int status, extra = open("/dev/null", O_RDONLY);

	cr_assert_geq(extra, 0);
	sandbox_title_init(4, argv);
	cr_expect_str_eq(argv[2], "0123456789abcdef");
	cr_expect_neq(argv[2], title_area + 13, "argv not copied");
	cr_assert_neq(signal(SIGUSR1, SIG_IGN), SIG_ERR);
	sigemptyset(&usr2);
	sigaddset(&usr2, SIGUSR2);
	cr_assert_eq(sigprocmask(SIG_BLOCK, &usr2, NULL), 0);
	status = unit_run_forked(child_drop_rest, rep, sizeof(rep));
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "status %#x: %s", status, rep);
	/* the title is elsewhere (retitle_points_the_kernel_at_a_copy):
	 * argv's area is left as it was, except where valgrind runs */
	cr_expect_str_eq(rep,
	    "cloexec=1 others=0 usr1=dfl pipe=ign usr2blocked=0 nofile=64 "
	    "core=0 nproc=0 dumpable=0 death=9 "
#ifndef VIGIL_VALGRIND
	    "title=conmon|--cid");
#else
	    "title=conmon: logger 0123456789ab|");
#endif
	(void)close(extra); /* test end */
}

#ifndef VIGIL_VALGRIND
/*
 * The child's title as ps reads it, /proc/PID/cmdline, from a child held
 * after sandbox_drop() until the test has read it: the title and one NUL,
 * not argv's area padded with NULs (which the kernel would read if the
 * title had been written there).
 */
Test(sandbox, retitle_points_the_kernel_at_a_copy)
{
	static char area[] = "conmon\0--cid\0"
			     "0123456789abcdef\0--log";
	static char *argv[] = { area, area + 7, area + 13, area + 30, NULL };
	char path[64], got[256], c;
	int sv[2], fd;
	ssize_t n;
	pid_t pid;

	cr_assert_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv),
	    0);
	sandbox_title_init(4, argv);
	pid = fork();
	cr_assert_neq(pid, -1);
	if (pid == 0) {
		struct sandbox_conf conf = {
		    .title = "conmon: attach 0123456789ab",
		    .chan_fd = sv[1],
		    .reaper = getppid(),
		    .uid = getuid(),
		    .gid = getgid(),
		    .keep_ids = true,
		    .nofile = 64,
		};
		char err[160];
		int chan = -1;

		if (sandbox_drop(&conf, &chan, err, sizeof(err)) < 0)
			_exit(13);
		/* ready; then held until the test closes its end */
		if (write(chan, "r", 1) != 1 || read(chan, &c, 1) != 0)
			_exit(14);
		_exit(0);
	}
	(void)close(sv[1]); /* the child's */
	cr_assert_eq(read(sv[0], &c, 1), 1, "the child did not get ready");
	(void)snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	cr_assert_geq(fd = open(path, O_RDONLY | O_CLOEXEC), 0);
	n = read(fd, got, sizeof(got));
	(void)close(fd); /* read-only */
	(void)close(sv[0]); /* releases the child */
	cr_assert_eq(n, (ssize_t)sizeof("conmon: attach 0123456789ab"),
	    "cmdline of %zd bytes", n);
	cr_expect_eq(memcmp(got, "conmon: attach 0123456789ab", (size_t)n), 0);
	cr_expect_str_eq(area, "conmon", "argv's area was written");
	cr_assert_eq(waitpid(pid, NULL, 0), pid);
}
#endif

static void
child_drop_orphan(int fd)
{
	struct sandbox_conf conf = {
	    .chan_fd = fd,
	    .reaper = getppid() + 1, /* not our parent */
	    .keep_ids = true,
	    .nofile = 64,
	};
	char err[160];
	int chan = -1;

	if (sandbox_drop(&conf, &chan, err, sizeof(err)) == 0)
		_exit(16);
	if (write(chan, err, strlen(err)) < 0)
		_exit(11);
}

Test(sandbox, drop_fails_when_parent_is_not_the_reaper)
{
	char rep[REPORT_MAX];
	int status = unit_run_forked(child_drop_orphan, rep, sizeof(rep));

	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x",
	    status);
	cr_expect_str_eq(rep, "parent gone");
}
