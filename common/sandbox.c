/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/sandbox.c: a child's way into its sandbox, right after fork and in
 * architecture.md's order. Never prints (helpers never print): each step
 * that fails is named in err and the child exits through its caller.
 */
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <linux/filter.h>
#include <linux/seccomp.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <malloc.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cap-ng.h>
#include <linux/landlock.h>
#include <seccomp.h>

#include "common/chan.h"
#include "common/diag.h"
#include "common/errtext.h"
#include "common/io.h"
#include "common/profile.h"
#include "common/sandbox.h"

/*
 * Landlock's rights by ABI version (step 5). Debian 12's linux/landlock.h
 * stops at ABI 2 while the running kernel may be far newer; the values are
 * a stable kernel ABI (include/uapi/linux/landlock.h), defined here where
 * the headers lack them so a child handles every right its kernel knows.
 */
#ifndef LANDLOCK_ACCESS_FS_TRUNCATE
#define LANDLOCK_ACCESS_FS_TRUNCATE (1ULL << 14) /* ABI 3 */
#endif
#ifndef LANDLOCK_ACCESS_FS_IOCTL_DEV
#define LANDLOCK_ACCESS_FS_IOCTL_DEV (1ULL << 15) /* ABI 5 */
#endif
#ifndef LANDLOCK_ACCESS_NET_BIND_TCP
#define LANDLOCK_ACCESS_NET_BIND_TCP	(1ULL << 0) /* ABI 4 */
#define LANDLOCK_ACCESS_NET_CONNECT_TCP (1ULL << 1)
#endif
#ifndef LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET
#define LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET (1ULL << 0) /* ABI 6 */
#define LANDLOCK_SCOPE_SIGNAL		    (1ULL << 1)
#endif
/* ABI 1: EXECUTE (bit 0) to MAKE_SYM (bit 12). */
#define SANDBOX_LL_FS_V1 ((LANDLOCK_ACCESS_FS_MAKE_SYM << 1) - 1)

/* struct landlock_ruleset_attr as of ABI 6; older kernels read a prefix. */
struct sandbox_ll_attr {
	uint64_t handled_access_fs;
	uint64_t handled_access_net; /* ABI 4 */
	uint64_t scoped;	     /* ABI 6 */
};

/* The channel's number in every child (step 1). */
#define SANDBOX_CHAN_FD 3

/* The command line's string area, overwritten by the ps title (step 2). */
static char *sandbox_title_area;
static size_t sandbox_title_len;

/* Where the SIGSYS handler reports a forbidden call (step 6). */
static volatile sig_atomic_t sandbox_trap_fd = -1;

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

/*
 * malloc_trim(0): free heap pages back to the kernel. glibc only: musl's
 * allocator, the shipped binary's, gives freed groups back itself and has
 * no such call. Not in SANITIZE=1 builds: ASan's allocator replaces
 * glibc's, and this call would be glibc malloc's first use there, whose
 * set-up asks getrandom() for its tcache key after the filter is loaded.
 */
static void
sandbox_malloc_trim(void)
{
#if defined(__GLIBC__) && !defined(VIGIL_SANITIZE)
	(void)malloc_trim(0); /* 1: memory was released, 0: none */
#endif
}

/* Every fd from lowfd up closed (close_range(2): musl has no wrapper). */
static int
sandbox_close_range(unsigned int lowfd)
{
	return (int)syscall(SYS_close_range, lowfd, ~0U, 0U);
}

/* "<step>: <strerror>", errno kept; always -1. */
static int
sandbox_fail(char *err, size_t errlen, const char *step)
{
	int saved = errno;

	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "%s: %s", step, errtext(saved));
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

#ifndef VIGIL_VALGRIND
/* /proc/self/stat's fields that PR_SET_MM_MAP takes (proc(5), 1-based). */
enum {
	SANDBOX_STAT_START_CODE = 26,
	SANDBOX_STAT_END_CODE = 27,
	SANDBOX_STAT_START_STACK = 28,
	SANDBOX_STAT_START_DATA = 45,
	SANDBOX_STAT_END_DATA = 46,
	SANDBOX_STAT_START_BRK = 47,
	SANDBOX_STAT_ENV_START = 50,
	SANDBOX_STAT_ENV_END = 51,
	SANDBOX_STAT_FIELDS = 52
};

/*
 * Points the kernel's command line at `title` (len bytes and a NUL, in
 * anonymous memory: /proc/PID/cmdline reads no file mapping) with
 * PR_SET_MM_MAP, which needs no capability: the rest of the map is given
 * back as /proc/self/stat shows it, and brk as sbrk(0). -1 if the map
 * cannot be read or the kernel refuses it (no CONFIG_CHECKPOINT_RESTORE).
 */
static int
sandbox_title_map(const char *title, size_t len)
{
	unsigned long long f[SANDBOX_STAT_FIELDS + 1];
	struct prctl_mm_map map;
	char buf[1024], *p, *end;
	ssize_t n;
	int fd, i;

	if ((fd = open("/proc/self/stat", O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd); /* read-only */
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* field 2 is "(comm)"; field 3, the state, is one letter */
	if ((p = strrchr(buf, ')')) == NULL || p[1] != ' ' || p[2] == '\0')
		return -1;
	p += 3; /* the space before field 4 */
	for (i = 4; i <= SANDBOX_STAT_FIELDS && *p == ' '; i++) {
		errno = 0;
		f[i] = strtoull(p + 1, &end, 10);
		if (errno != 0 || end == p + 1)
			return -1;
		p = end;
	}
	if (i <= SANDBOX_STAT_FIELDS)
		return -1;
	memset(&map, 0, sizeof(map));
	map.start_code = f[SANDBOX_STAT_START_CODE];
	map.end_code = f[SANDBOX_STAT_END_CODE];
	map.start_data = f[SANDBOX_STAT_START_DATA];
	map.end_data = f[SANDBOX_STAT_END_DATA];
	map.start_brk = f[SANDBOX_STAT_START_BRK];
	map.brk = (uintptr_t)sbrk(0);
	map.start_stack = f[SANDBOX_STAT_START_STACK];
	map.arg_start = (uintptr_t)title;
	map.arg_end = (uintptr_t)title + len + 1;
	map.env_start = f[SANDBOX_STAT_ENV_START];
	map.env_end = f[SANDBOX_STAT_ENV_END];
	map.exe_fd = (uint32_t)-1; /* unchanged */
	return prctl(PR_SET_MM, PR_SET_MM_MAP, (unsigned long)&map,
	    sizeof(map), 0);
}
#endif

/*
 * Step 2: the title, cut to argv's area; comm stays "conmon". The title
 * lives in the heap and the kernel is pointed at it (sandbox_title_map),
 * so the stack's top page, where argv's strings are, stays unwritten and
 * shared with the reaper and the other child: a page less in each
 * process of the container (bench figure 1). Where the kernel refuses,
 * and in VALGRIND=1 builds, the area itself is overwritten and
 * NUL-padded, as sshd does.
 */
static void
sandbox_retitle(const char *title)
{
	size_t n;
	char *copy;

	if (sandbox_title_area == NULL || sandbox_title_len == 0 ||
	    title == NULL)
		return;
	n = strnlen(title, sandbox_title_len - 1);
#ifndef VIGIL_VALGRIND
	/* (valgrind's guest brk and map are not the kernel's) */
	if ((copy = strndup(title, n)) != NULL &&
	    sandbox_title_map(copy, n) == 0)
		return; /* the copy is the title for the child's life */
	free(copy);
#else
	(void)copy;
#endif
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
	if (sandbox_close_range(SANDBOX_CHAN_FD + 1) == 0)
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
sandbox_landlock_abi(void)
{
	long abi = syscall(SYS_landlock_create_ruleset, NULL, 0,
	    LANDLOCK_CREATE_RULESET_VERSION);

	return abi < 0 ? -1 : (int)abi;
}

bool
sandbox_landlock_absent(int err)
{
	/* ENOSYS: not built in; EOPNOTSUPP: built in, disabled at boot */
	return err == ENOSYS || err == EOPNOTSUPP;
}

/*
 * Every right the kernel's ABI knows is handled and no rule grants one:
 * no path can be opened, created, removed, executed, truncated or
 * ioctl'ed, no TCP port bound or connected, no signal sent and no
 * abstract socket reached outside the child. fds it holds or receives
 * keep what they were opened with (Landlock checks at open time).
 * A kernel with a later ABI gets the rights this code knows of.
 */
static void
sandbox_ll_rights(int abi, struct sandbox_ll_attr *a, size_t *size)
{
	memset(a, 0, sizeof(*a));
	a->handled_access_fs = SANDBOX_LL_FS_V1;
	*size = offsetof(struct sandbox_ll_attr, handled_access_net);
	if (abi >= 2)
		a->handled_access_fs |= LANDLOCK_ACCESS_FS_REFER;
	if (abi >= 3)
		a->handled_access_fs |= LANDLOCK_ACCESS_FS_TRUNCATE;
	if (abi >= 4) {
		a->handled_access_net = LANDLOCK_ACCESS_NET_BIND_TCP |
					LANDLOCK_ACCESS_NET_CONNECT_TCP;
		*size = offsetof(struct sandbox_ll_attr, scoped);
	}
	if (abi >= 5)
		a->handled_access_fs |= LANDLOCK_ACCESS_FS_IOCTL_DEV;
	if (abi >= 6) {
		a->scoped =
		    LANDLOCK_SCOPE_ABSTRACT_UNIX_SOCKET | LANDLOCK_SCOPE_SIGNAL;
		*size = sizeof(*a);
	}
}

/*
 * Step 5's filesystem half: a Landlock domain that grants nothing. Only a
 * kernel without Landlock lets the child go on without it (the reaper says
 * so once); any other failure fails the child (security.md: fail closed).
 */
static int
sandbox_landlock(const char **step)
{
	struct sandbox_ll_attr attr;
	size_t size;
	int abi, fd, rc, saved;

	*step = "landlock: version";
	if ((abi = sandbox_landlock_abi()) < 0)
		return sandbox_landlock_absent(errno) ? 0 : -1;
	sandbox_ll_rights(abi, &attr, &size);
	*step = "landlock: create_ruleset";
	fd = (int)syscall(SYS_landlock_create_ruleset, &attr, size, 0);
	if (fd < 0)
		return -1;
	*step = "landlock: restrict_self";
	rc = (int)syscall(SYS_landlock_restrict_self, fd, 0);
	saved = errno;
	(void)close(fd); /* the domain holds the ruleset; the fd is done */
	errno = saved;
	return rc < 0 ? -1 : 0;
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
	if (sandbox_landlock(&step) < 0)
		return sandbox_fail(err, errlen, step);
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
#ifndef VIGIL_VALGRIND
	    (rc = seccomp_attr_set(ctx, SCMP_FLTATR_CTL_LOG, 1)) < 0 ||
	    (rc = seccomp_attr_set(
		 ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL_PROCESS)) < 0) {
#else
	    /*
	     * VALGRIND=1 test builds: valgrind does not know seccomp(2), so
	     * libseccomp loads through prctl(PR_SET_SECCOMP), which has no
	     * log flag, and refuses KILL_PROCESS at that API level; the
	     * child is one thread, so KILL (the thread) ends it all the same.
	     */
	    (rc = seccomp_attr_set(
		 ctx, SCMP_FLTATR_ACT_BADARCH, SCMP_ACT_KILL)) < 0) {
#endif
		seccomp_release(ctx);
		errno = -rc;
		return NULL;
	}
	return ctx;
}

/*
 * The data path's calls checked first: the filter runs on every call
 * (bench figures 2 and 4); the decisions are the same. -1 with errno.
 */
static int
sandbox_filter_hot(scmp_filter_ctx ctx)
{
	/*
	 * in both profiles (epoll_wait: glibc builds, epoll_pwait: musl's);
	 * most frequent last: libseccomp puts it first
	 */
	static const int hot[] = { SCMP_SYS(epoll_wait),
		SCMP_SYS(epoll_pwait), SCMP_SYS(recvmsg),
		SCMP_SYS(sendmsg), SCMP_SYS(write), SCMP_SYS(read) };
	int rc;

	for (size_t i = 0; i < sizeof(hot) / sizeof(*hot); i++)
		if ((rc = seccomp_syscall_priority(ctx, hot[i], 255)) < 0) {
			errno = -rc;
			return -1;
		}
	return 0;
}

/*
 * The filter of a profile text, built and not loaded: the one way to a
 * filter, for the child's load, the reaper's compile helper
 * (sandbox_prepare) and the exports (--export-seccomp-pfc, the audit's
 * seccomp_export_bpf), so what they show is what runs.
 */
static scmp_filter_ctx
sandbox_filter_build(const char *text, char *err, size_t errlen)
{
	struct profile *prof = malloc(sizeof(*prof)); /* big: not the stack */
	char why[160];
	scmp_filter_ctx ctx;

	if (prof == NULL) {
		(void)sandbox_fail(err, errlen, "seccomp: profile");
		return NULL;
	}
	if (profile_parse(text, prof, why, sizeof(why)) < 0)
		goto bad_profile;
	if ((ctx = sandbox_filter_new()) == NULL) {
		free(prof);
		(void)sandbox_fail(err, errlen, "seccomp: init");
		return NULL;
	}
	if (profile_apply(prof, ctx, why, sizeof(why)) < 0) {
		seccomp_release(ctx);
		goto bad_profile;
	}
	free(prof);
	if (sandbox_filter_hot(ctx) < 0) {
		seccomp_release(ctx);
		(void)sandbox_fail(err, errlen, "seccomp: priority");
		return NULL;
	}
	return ctx;
bad_profile:
	free(prof);
	if (err != NULL && errlen > 0)
		(void)snprintf(err, errlen, "seccomp: profile: %s", why);
	errno = EINVAL;
	return NULL;
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

/*
 * Builds the filter of `text` and loads it; err is set on failure. The
 * parsed allowlist and libseccomp's work are used once: afterwards their
 * heap pages go back to the kernel (brk, madvise: in both profiles), or
 * they would stay dirty in the child for its whole life (bench figure 1).
 * This path runs where no compiled program came from sandbox_prepare():
 * VALGRIND=1 and SECCOMP_AUDIT=1 builds, or a failed compile helper.
 */
static int
sandbox_filter_load(const char *text, int chan_fd, char *err, size_t errlen)
{
	scmp_filter_ctx ctx;
	int rc;

	if ((ctx = sandbox_filter_build(text, err, errlen)) == NULL)
		return -1;
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
	sandbox_malloc_trim();
	return rc;
#else
	(void)chan_fd; /* the SIGSYS reporter has it already */
	rc = seccomp_load(ctx);
	seccomp_release(ctx); /* allowed by the profile: munmap, brk */
	sandbox_malloc_trim();
	if (rc < 0) {
		errno = -rc;
		return sandbox_fail(err, errlen, "seccomp: load");
	}
	return 0;
#endif
}

/* A role's embedded text, or NULL with err naming the role. */
static const char *
sandbox_role_text(const char *role, char *err, size_t errlen)
{
	const char *text = profile_text_of(role);

	if (text == NULL) {
		if (err != NULL && errlen > 0)
			(void)snprintf(err, errlen,
			    "seccomp: no profile for %s",
			    role != NULL ? role : "(null)");
		errno = ENOENT;
	}
	return text;
}

int
sandbox_filter_export(const char *role, int fd, enum sandbox_export form,
    char *err, size_t errlen)
{
	const char *text = sandbox_role_text(role, err, errlen);
	scmp_filter_ctx ctx;
	int rc;

	if (text == NULL)
		return -1;
	if ((ctx = sandbox_filter_build(text, err, errlen)) == NULL)
		return -1;
	if (form == SANDBOX_EXPORT_PFC)
		rc = seccomp_export_pfc(ctx, fd);
	else
		rc = seccomp_export_bpf(ctx, fd);
	seccomp_release(ctx);
	if (rc < 0) {
		errno = -rc;
		return sandbox_fail(err, errlen,
		    form == SANDBOX_EXPORT_PFC ? "seccomp: export PFC"
					       : "seccomp: export BPF");
	}
	return 0;
}

/* Programs compiled by sandbox_prepare(), per role; len 0: none. */
static const char *const sandbox_roles[] = { "logger", "attach" };
static struct sock_fprog sandbox_progs[2];
_Static_assert(sizeof(sandbox_roles) / sizeof(*sandbox_roles) ==
	sizeof(sandbox_progs) / sizeof(*sandbox_progs), "one per role");

/* The helper's side: per role a 16-bit count, then the instructions. */
static VIGIL_NORETURN void
sandbox_compile_out(int fd)
{
	for (size_t i = 0; i < sizeof(sandbox_roles) / sizeof(*sandbox_roles);
	    i++) {
		const char *text = profile_text_of(sandbox_roles[i]);
		scmp_filter_ctx ctx = NULL;
		int mfd = -1;
		struct stat st;
		unsigned char *buf;
		uint16_t n;

		if (text == NULL ||
		    (ctx = sandbox_filter_build(text, NULL, 0)) == NULL ||
		    (mfd = memfd_create("vigil-bpf", MFD_CLOEXEC)) < 0 ||
		    seccomp_export_bpf(ctx, mfd) < 0 || fstat(mfd, &st) < 0 ||
		    st.st_size <= 0 ||
		    (size_t)st.st_size > BPF_MAXINSNS * sizeof(struct sock_filter) ||
		    st.st_size % (off_t)sizeof(struct sock_filter) != 0 ||
		    (buf = malloc((size_t)st.st_size)) == NULL ||
		    pread(mfd, buf, (size_t)st.st_size, 0) != st.st_size)
			_exit(1);
		n = (uint16_t)((size_t)st.st_size / sizeof(struct sock_filter));
		if (io_write_all(fd, &n, sizeof(n)) < 0 ||
		    io_write_all(fd, buf, (size_t)st.st_size) < 0)
			_exit(1);
	}
	_exit(0);
}

/* n bytes, or fewer at end of file or on an error. */
static ssize_t
sandbox_read_full(int fd, void *buf, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = read(fd, (unsigned char *)buf + got, n - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	return (ssize_t)got;
}

/* The reaper's side: every program whole, or none (then -1). */
static int
sandbox_compile_in(int fd)
{
	struct sock_fprog got[sizeof(sandbox_progs) / sizeof(*sandbox_progs)];
	size_t i, bytes;
	uint16_t n;

	memset(got, 0, sizeof(got));
	for (i = 0; i < sizeof(got) / sizeof(*got); i++) {
		if (sandbox_read_full(fd, &n, sizeof(n)) != (ssize_t)sizeof(n) ||
		    n == 0 || n > BPF_MAXINSNS)
			break;
		bytes = (size_t)n * sizeof(struct sock_filter);
		if ((got[i].filter = malloc(bytes)) == NULL ||
		    sandbox_read_full(fd, got[i].filter, bytes) != (ssize_t)bytes)
			break;
		got[i].len = n;
	}
	if (i < sizeof(got) / sizeof(*got)) {
		for (i = 0; i < sizeof(got) / sizeof(*got); i++)
			free(got[i].filter);
		return -1;
	}
	memcpy(sandbox_progs, got, sizeof(got));
	return 0;
}

/* The helper at work: its pid and the read end of its pipe. */
static bool sandbox_helper_started;
static pid_t sandbox_helper_pid = -1;
static int sandbox_helper_fd = -1;

/*
 * VALGRIND=1 and SECCOMP_AUDIT=1 builds compile in each child: valgrind
 * lacks seccomp(2), which loading a compiled program needs, and audit
 * mode's filter notifies instead of trapping.
 */
#if defined(VIGIL_VALGRIND) || defined(VIGIL_SECCOMP_AUDIT)
#define SANDBOX_HELPER 0
#else
#define SANDBOX_HELPER 1
#endif

void
sandbox_prepare_start(int nice)
{
	sigset_t all, old;
	int p[2];

	if (!SANDBOX_HELPER || sandbox_helper_started)
		return;
	sandbox_helper_started = true;
	if (pipe2(p, O_CLOEXEC) < 0)
		return;
	/* the helper never runs the reaper's signal handlers */
	(void)sigfillset(&all);
	(void)sigprocmask(SIG_BLOCK, &all, &old);
	if ((sandbox_helper_pid = fork()) == 0) {
		/* no copy of the manager's or the container's fds */
		if (p[1] != SANDBOX_CHAN_FD &&
		    dup3(p[1], SANDBOX_CHAN_FD, O_CLOEXEC) < 0)
			_exit(1);
		(void)sandbox_close_range(SANDBOX_CHAN_FD + 1); /* tidiness */
		sandbox_compile_out(SANDBOX_CHAN_FD);
	}
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	(void)close(p[1]); /* the helper's end */
	if (sandbox_helper_pid > 0 && nice != 0)
		(void)setpriority(PRIO_PROCESS, (id_t)sandbox_helper_pid, nice);
	if (sandbox_helper_pid < 0) {
		(void)close(p[0]); /* no helper: the children compile */
		return;
	}
	sandbox_helper_fd = p[0];
}

void
sandbox_prepare(void)
{
	int status;

	sandbox_prepare_start(0); /* if not started early */
	if (sandbox_helper_fd < 0)
		return;
	(void)sandbox_compile_in(sandbox_helper_fd); /* none kept on failure */
	(void)close(sandbox_helper_fd); /* read to the end, or given up */
	sandbox_helper_fd = -1;
	/* ECHILD: already reaped by a SIGCHLD handler, which is as good */
	while (waitpid(sandbox_helper_pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* How far below the caller sandbox_trim() reaches. */
#define SANDBOX_STACK_TRIM (256 * 1024)
/*
 * What stays below this frame while madvise() runs: the return address
 * of the call and the 128-byte red zone of the x86-64 ABI, with room to
 * spare. A signal handled meanwhile is no concern: a page released under
 * it comes back zero-filled at its first touch.
 */
#define SANDBOX_STACK_MARGIN 512

VIGIL_NOINLINE void
sandbox_trim(void)
{
	uintptr_t sp = (uintptr_t)__builtin_frame_address(0);
	uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
	/*
	 * Every whole page below the margin: the page under this frame too,
	 * unless the margin reaches into it (a page kept for nothing is a
	 * dirty page in every idle process, bench figure 1)
	 */
	uintptr_t hi = (sp - SANDBOX_STACK_MARGIN) & ~(page - 1);

	sandbox_malloc_trim();
	if (hi <= SANDBOX_STACK_TRIM)
		return;
	/* ENOMEM for the part below the stack's mapping: ignored, the
	 * mapped part is released all the same */
	(void)madvise((void *)(hi - SANDBOX_STACK_TRIM), SANDBOX_STACK_TRIM,
	    MADV_DONTNEED);
}

static const struct sock_fprog *
sandbox_prog_of(const char *role)
{
	for (size_t i = 0; i < sizeof(sandbox_roles) / sizeof(*sandbox_roles);
	    i++)
		if (strcmp(sandbox_roles[i], role) == 0 &&
		    sandbox_progs[i].len > 0)
			return &sandbox_progs[i];
	return NULL;
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
	const char *text = sandbox_role_text(role, err, errlen);

	if (text == NULL)
		return -1;
	const struct sock_fprog *prog = sandbox_prog_of(role);

	if (prog == NULL)
		return sandbox_seccomp_text(text, chan_fd, err, errlen);
	if (sandbox_trap_install(chan_fd) < 0)
		return sandbox_fail(err, errlen, "seccomp: SIGSYS handler");
	/* what seccomp_load() does with sandbox_filter_new()'s attributes;
	 * no_new_privs is set (sandbox_drop) */
	if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
	    SECCOMP_FILTER_FLAG_LOG, prog) < 0)
		return sandbox_fail(err, errlen, "seccomp: load");
	return 0;
}
