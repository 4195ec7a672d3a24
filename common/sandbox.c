/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/sandbox.c: a child's way into its sandbox, right after fork and in
 * architecture.md's order. Never prints (helpers never print): each step
 * that fails is named in err and the child exits through its caller.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cap-ng.h>
#include <seccomp.h>

#include "common/chan.h"
#include "common/diag.h"
#include "common/io.h"
#include "common/profile.h"
#include "common/sandbox.h"

/* The channel's number in every child (step 1). */
#define SANDBOX_CHAN_FD 3

/* The command line's string area, overwritten by the ps title (step 2). */
static char *sandbox_title_area;
static size_t sandbox_title_len;

/* Where the SIGSYS handler reports a forbidden call (step 6). */
static volatile sig_atomic_t sandbox_trap_fd = -1;

/* The parsed allowlist: big, so not on the stack; used once per child. */
static struct profile sandbox_profile;

#ifdef VIGIL_SECCOMP_AUDIT
/*
 * SECCOMP_AUDIT=1 builds only (security.md "Seccomp policy", audit mode):
 * a call the profile does not allow raises a user notification, which the
 * reaper logs and answers with CONTINUE (monitor/audit.c).
 */
#define SANDBOX_DEFAULT_ACTION SCMP_ACT_NOTIFY
/* Measuring (make measure-seccomp): a filter without rules, every call. */
static bool sandbox_measuring;
#else
#define SANDBOX_DEFAULT_ACTION SCMP_ACT_TRAP
#endif

/* "<step>: <strerror>", errno kept; always -1. */
static int
sandbox_fail(char *err, size_t errlen, const char *step)
{
	int saved = errno;

	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "%s: %s", step, strerror(saved));
	errno = saved;
	return -1;
}

/* The copy of argv's strings that argv[] points at from then on. */
static char *sandbox_argv_copy;

/*
 * argv's strings are copied and argv[] repointed at the copy, as sshd's
 * compat_init_setproctitle() does: options parsed later keep pointing at
 * intact strings in a child after its title has overwritten the area.
 */
void
sandbox_title_init(int argc, char **argv)
{
	char *start, *end;
	size_t len;
	int i;

	if (argc < 1 || argv == NULL || argv[0] == NULL)
		return;
	start = argv[0];
	end = start + strlen(start) + 1;
	for (i = 1; i < argc && argv[i] == end; i++)
		end = argv[i] + strlen(argv[i]) + 1;
	len = (size_t)(end - start);
	if ((sandbox_argv_copy = malloc(len)) == NULL)
		return; /* no title then: the area stays in use */
	memcpy(sandbox_argv_copy, start, len);
	for (int j = 0; j < i; j++)
		argv[j] = sandbox_argv_copy + (argv[j] - start);
	sandbox_title_area = start;
	sandbox_title_len = len;
}

/* Step 2: the title, cut to the area and NUL-padded; comm stays "conmon". */
static void
sandbox_retitle(const char *title)
{
	size_t n;

	if (sandbox_title_area == NULL || sandbox_title_len == 0 ||
	    title == NULL)
		return;
	n = strnlen(title, sandbox_title_len - 1);
	memcpy(sandbox_title_area, title, n);
	memset(sandbox_title_area + n, 0, sandbox_title_len - n);
}

/* close_range's fallback for kernels before 5.9. */
static int
sandbox_close_from_proc(int lowfd)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	int self, fd;

	if (d == NULL)
		return -1;
	self = dirfd(d);
	while ((de = readdir(d)) != NULL) {
		char *end;
		long v = strtol(de->d_name, &end, 10);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end != '\0')
			continue;
		fd = (int)v;
		if (fd >= lowfd && fd != self)
			(void)close(fd); /* an fd we do not want either way */
	}
	return closedir(d);
}

/* Step 1: the channel at fd 3, 0-2 kept, everything else closed. */
static int
sandbox_fds(int chan_fd)
{
	if (chan_fd < 0) {
		errno = EBADF;
		return -1;
	}
	if (chan_fd == SANDBOX_CHAN_FD) {
		if (io_set_cloexec(chan_fd, true) < 0)
			return -1;
	} else if (dup3(chan_fd, SANDBOX_CHAN_FD, O_CLOEXEC) < 0) {
		return -1; /* the old number is closed below */
	}
	if (close_range(SANDBOX_CHAN_FD + 1, ~0U, 0) == 0)
		return 0;
	if (errno != ENOSYS && errno != EINVAL)
		return -1;
	return sandbox_close_from_proc(SANDBOX_CHAN_FD + 1);
}

/*
 * The reaper's handlers mean nothing here: every signal to its default,
 * SIGPIPE ignored (a closed peer is an EPIPE), none blocked. A sanitizer
 * build keeps the sanitizer's crash handlers so a child's bug is reported.
 */
static int
sandbox_signals(void)
{
	struct sigaction sa;
	sigset_t none;

	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	for (int sig = 1; sig < NSIG; sig++) {
		if (sig == SIGKILL || sig == SIGSTOP)
			continue;
#ifdef VIGIL_SANITIZE
		if (sig == SIGSEGV || sig == SIGBUS || sig == SIGFPE)
			continue;
#endif
		sa.sa_handler = sig == SIGPIPE ? SIG_IGN : SIG_DFL;
		/* EINVAL: a number libc keeps for itself (32, 33) */
		if (sigaction(sig, &sa, NULL) < 0 && errno != EINVAL)
			return -1;
	}
	sigemptyset(&none);
	return sigprocmask(SIG_SETMASK, &none, NULL);
}

/* Fails unless no capability is left in the sets `set` selects. */
static int
sandbox_caps_gone(capng_select_t set, const char **step)
{
	*step = "capabilities: still held";
	if (capng_get_caps_process() < 0)
		return -1;
	if (capng_have_capabilities(set) != CAPNG_NONE) {
		errno = EPERM;
		return -1;
	}
	return 0;
}

/* Step 3 as root: another uid/gid, no groups, no capabilities, no bounds. */
static int
sandbox_change_id(const struct sandbox_conf *conf, const char **step)
{
	uid_t ruid, euid, suid;

	*step = "capabilities: capng_change_id";
	capng_clear(CAPNG_SELECT_BOTH);
	errno = 0;
	if (capng_change_id((int)conf->uid, (int)conf->gid,
		CAPNG_DROP_SUPP_GRP | CAPNG_CLEAR_BOUNDING) < 0) {
		if (errno == 0) /* failed before any system call */
			errno = EPERM;
		return -1;
	}
	/* fail closed: check what the library promised */
	*step = "capabilities: ids not changed";
	if (getresuid(&ruid, &euid, &suid) < 0)
		return -1;
	if (ruid != conf->uid || euid != conf->uid || suid != conf->uid ||
	    getgid() != conf->gid || getegid() != conf->gid ||
	    getgroups(0, NULL) != 0) {
		errno = EPERM;
		return -1;
	}
	return sandbox_caps_gone(CAPNG_SELECT_BOTH, step);
}

/*
 * Step 3 keeping the ids (journald logger, or not root): groups gone when
 * root, every capability gone, the bounding set too where CAP_SETPCAP
 * allows it (an unprivileged process has none to lose there).
 */
static int
sandbox_clear_caps(const char **step)
{
	bool bounds;

	*step = "capabilities: read";
	if (capng_get_caps_process() < 0)
		return -1;
	bounds = capng_have_capability(CAPNG_EFFECTIVE, CAP_SETPCAP);
	*step = "capabilities: setgroups";
	if (geteuid() == 0 && setgroups(0, NULL) < 0)
		return -1;
	capng_clear(CAPNG_SELECT_ALL);
	errno = 0;
	*step = "capabilities: bounding set";
	if (bounds && capng_apply(CAPNG_SELECT_BOUNDS) < 0)
		goto fail;
	*step = "capabilities: capng_apply";
	if (capng_apply(CAPNG_SELECT_CAPS) < 0)
		goto fail;
	return sandbox_caps_gone(
	    bounds ? CAPNG_SELECT_BOTH : CAPNG_SELECT_CAPS, step);
fail:
	if (errno == 0) /* failed before any system call */
		errno = EPERM;
	return -1;
}

/* Step 3; *step names the part that failed. */
static int
sandbox_caps(const struct sandbox_conf *conf, const char **step)
{
	*step = "capabilities: ambient";
	/* EINVAL: a kernel without ambient capabilities has none to clear */
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return -1;
	if (geteuid() == 0 && !conf->keep_ids)
		return sandbox_change_id(conf, step);
	return sandbox_clear_caps(step);
}

/* Only lowers a limit: without capabilities a raise would fail anyway. */
static int
sandbox_rlimit(int resource, rlim_t want)
{
	struct rlimit rl;

	if (getrlimit(resource, &rl) < 0)
		return -1;
	if (rl.rlim_max != RLIM_INFINITY && want > rl.rlim_max)
		want = rl.rlim_max;
	rl.rlim_cur = want;
	rl.rlim_max = want;
	return setrlimit(resource, &rl);
}

/* Step 4's limits: no core, no new process, at most `nofile` fds. */
static int
sandbox_rlimits(unsigned nofile)
{
	if (nofile == 0) { /* could not even receive an fd */
		errno = EINVAL;
		return -1;
	}
	if (sandbox_rlimit(RLIMIT_CORE, 0) < 0 ||
	    sandbox_rlimit(RLIMIT_NPROC, 0) < 0)
		return -1;
#ifdef VIGIL_VALGRIND
	/* valgrind keeps fds of its own above the limit and refuses it */
	return 0;
#else
	return sandbox_rlimit(RLIMIT_NOFILE, nofile);
#endif
}

int
sandbox_drop(
    const struct sandbox_conf *conf, int *chan_out, char *err, size_t errlen)
{
	const char *step;

	if (sandbox_fds(conf->chan_fd) < 0)
		return sandbox_fail(err, errlen, "fds");
	*chan_out = SANDBOX_CHAN_FD;
	if (sandbox_signals() < 0)
		return sandbox_fail(err, errlen, "signals");
	sandbox_retitle(conf->title);
	if (sandbox_caps(conf, &step) < 0)
		return sandbox_fail(err, errlen, step);
	/* step 4: only now, since an id change resets both */
	if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0)
		return sandbox_fail(err, errlen, "dumpable");
	if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) < 0)
		return sandbox_fail(err, errlen, "pdeathsig");
	if (getppid() != conf->reaper) {
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen, "parent gone");
		errno = ESRCH;
		return -1;
	}
	if (sandbox_rlimits(conf->nofile) < 0)
		return sandbox_fail(err, errlen, "rlimits");
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return sandbox_fail(err, errlen, "no_new_privs");
	return 0;
}

/*
 * SIGSYS from the filter: the call did not run. Report it once and leave;
 * async-signal-safe only. If the report cannot be sent the reaper still
 * sees the exit. exit_group directly, not _exit(): a sanitizer's _exit
 * hook makes calls of its own, which would trap again with SIGSYS blocked.
 */
static void
sandbox_sigsys_cb(
    int sig VIGIL_UNUSED, siginfo_t *info, void *uctx VIGIL_UNUSED)
{
	struct chan_trap trap;
	int rc;

	memset(&trap, 0, sizeof(trap));
	trap.nr = info->si_syscall;
	trap.arch = info->si_arch;
	rc = chan_send(sandbox_trap_fd, CHAN_TRAP, &trap, sizeof(trap), -1);
	(void)rc; /* exiting either way */
	(void)syscall(SYS_exit_group, 1);
	_exit(1); /* not reached */
}

static int
sandbox_trap_install(int chan_fd)
{
	struct sigaction sa;
	sigset_t sys;

	sandbox_trap_fd = chan_fd;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = sandbox_sigsys_cb;
	sa.sa_flags = SA_SIGINFO;
	sigfillset(&sa.sa_mask); /* nothing interrupts the report */
	if (sigaction(SIGSYS, &sa, NULL) < 0)
		return -1;
	sigemptyset(&sys);
	sigaddset(&sys, SIGSYS);
	return sigprocmask(SIG_UNBLOCK, &sys, NULL);
}

/* The filter's attributes: trap by default, log, other arches killed. */
static scmp_filter_ctx
sandbox_filter_new(void)
{
	scmp_filter_ctx ctx = seccomp_init(SANDBOX_DEFAULT_ACTION);
	int rc;

	if (ctx == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	/* real errnos from seccomp_load, not -ECANCELED */
	if ((rc = seccomp_attr_set(ctx, SCMP_FLTATR_API_SYSRAWRC, 1)) < 0 ||
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1)) < 0 ||
	    (rc = seccomp_attr_set(
		 ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0) {
		seccomp_release(ctx);
		errno = -rc;
		return NULL;
	}
	return ctx;
}

#ifdef VIGIL_SECCOMP_AUDIT
void
sandbox_audit_measure(bool on)
{
	sandbox_measuring = on;
}

/*
 * Tells the reaper, before the filter exists, which fd number the kernel
 * will give the listener: the lowest free one, as seccomp() takes it.
 * After the load every call the filter does not allow waits for the
 * reaper, which takes the listener with pidfd_getfd() (no fd travels
 * upward), so the number has to be known before the first such call.
 */
static int
sandbox_audit_announce(int chan_fd, int *fd)
{
	struct chan_listener l;

	if ((*fd = fcntl(chan_fd, F_DUPFD_CLOEXEC, 0)) < 0)
		return -1;
	(void)close(*fd); /* only its number was wanted */
	memset(&l, 0, sizeof(l));
	l.fd = *fd;
	return chan_send(chan_fd, CHAN_LISTENER, &l, sizeof(l), -1);
}

/* The audit build's load: announce, load, check the number announced. */
static int
sandbox_filter_load_audit(scmp_filter_ctx ctx, int chan_fd, char *err,
    size_t errlen)
{
	int want, got, rc;

	if (sandbox_audit_announce(chan_fd, &want) < 0)
		return sandbox_fail(
		    err, errlen, "seccomp: announce the listener");
	if ((rc = seccomp_load(ctx)) < 0) {
		errno = -rc;
		return sandbox_fail(err, errlen, "seccomp: load");
	}
	if ((got = seccomp_notify_fd(ctx)) != want) {
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen, "seccomp: listener at fd "
			    "%d, announced %d", got, want);
		errno = EBADF;
		return -1;
	}
	return 0;
}
#endif

/* Parses `text`, builds the filter and loads it; err is set on failure. */
static int
sandbox_filter_load(const char *text, int chan_fd, char *err, size_t errlen)
{
	char why[160];
	scmp_filter_ctx ctx;
	int rc;

#ifndef VIGIL_SECCOMP_AUDIT
	(void)chan_fd; /* the SIGSYS reporter has it already */
#endif
	if (profile_parse(text, &sandbox_profile, why, sizeof(why)) < 0)
		goto bad_profile;
	if ((ctx = sandbox_filter_new()) == NULL)
		return sandbox_fail(err, errlen, "seccomp: init");
	if (profile_apply(&sandbox_profile, ctx, why, sizeof(why)) < 0) {
		seccomp_release(ctx);
		goto bad_profile;
	}
#ifdef VIGIL_SECCOMP_AUDIT
	if (sandbox_measuring) {
		/*
		 * No rule at all: every call is a notification. The role's
		 * filter is built all the same and released after the load,
		 * so the measured calls include what its release costs.
		 */
		scmp_filter_ctx bare = sandbox_filter_new();
		if (bare == NULL) {
			seccomp_release(ctx);
			return sandbox_fail(err, errlen, "seccomp: init");
		}
		rc = sandbox_filter_load_audit(bare, chan_fd, err, errlen);
		seccomp_release(bare);
	} else {
		rc = sandbox_filter_load_audit(ctx, chan_fd, err, errlen);
	}
	seccomp_release(ctx);
	return rc;
#else
	rc = seccomp_load(ctx);
	seccomp_release(ctx); /* allowed by the profile: munmap, brk */
	if (rc < 0) {
		errno = -rc;
		return sandbox_fail(err, errlen, "seccomp: load");
	}
	return 0;
#endif
bad_profile:
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "seccomp: profile: %s", why);
	errno = EINVAL;
	return -1;
}

int
sandbox_seccomp_text(const char *text, int chan_fd, char *err, size_t errlen)
{
	if (sandbox_trap_install(chan_fd) < 0)
		return sandbox_fail(err, errlen, "seccomp: SIGSYS handler");
	return sandbox_filter_load(text, chan_fd, err, errlen);
}

int
sandbox_seccomp(const char *role, int chan_fd, char *err, size_t errlen)
{
	const char *text = profile_text_of(role);

	if (text == NULL) {
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen,
			    "seccomp: no profile for %s",
			    role != NULL ? role : "(null)");
		errno = ENOENT;
		return -1;
	}
#ifdef VIGIL_VALGRIND
	/*
	 * VALGRIND=1 test builds only (make install refuses them): valgrind
	 * cannot run a seccomp filter, so the child skips step 6 and says so.
	 * The filter is tested by every other build.
	 */
	(void)chan_fd;
	diag_warnx("%s: VALGRIND=1 build: seccomp filter not loaded", role);
	return 0;
#else
	return sandbox_seccomp_text(text, chan_fd, err, errlen);
#endif
}
