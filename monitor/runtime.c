/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/runtime.c: the runtime child (spec 4): the container's stdio,
 * the argv of `runtime create`, the child's setup before execv. Reads the
 * runtime's stderr only once, bounded, on failure (spec 4.3).
 */
#include <sys/prctl.h>
#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <linux/capability.h>
#include <sys/syscall.h>

#include "common/diag.h"
#include "common/fault.h"
#include "common/io.h"
#include "common/num.h"
#include "common/role.h"
#include "monitor/mon.h"

/* spec 4.2 step 4: the first bytes of a bad LISTEN_PID shown. */
#define MON_LISTEN_PID_SHOWN 10

/*
 * README "Performance": the logger reads up to ROLE_LOG_READ_MAX at once,
 * so the pipe holds that much (the kernel's default is 64 KiB), within
 * fs.pipe-max-size (1 MiB by default). Only for a monitor the kernel does
 * not charge for pipe pages: one with CAP_SYS_RESOURCE or CAP_SYS_ADMIN in
 * the initial user namespace (root, not rootless podman). Everyone else's
 * pipe pages count against fs.pipe-user-pages-soft, and past it every new
 * pipe of that user, vigil's or not, gets 2 pages: four times the pages
 * per container would bring that 4x sooner.
 */
static bool
pipes_uncharged(void)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct caps[2];
	unsigned long inside, outside, count;
	char map[128];
	ssize_t n = -1;
	int fd;

	/* capget(2) on the stack: libcap-ng's state would dirty pages the
	 * reaper otherwise shares with its children (bench figure 1) */
	if (syscall(SYS_capget, &hdr, caps) < 0 ||
	    (!(caps[0].effective & (1u << CAP_SYS_RESOURCE)) &&
	     !(caps[0].effective & (1u << CAP_SYS_ADMIN))))
		return false;
	/* the initial user namespace maps every uid to itself, one line */
	if ((fd = open("/proc/self/uid_map", O_RDONLY | O_CLOEXEC)) >= 0) {
		n = io_read(fd, map, sizeof(map) - 1);
		(void)close(fd); /* read-only */
	}
	if (n <= 0)
		return false;
	map[n] = '\0';
	return sscanf(map, "%lu %lu %lu", &inside, &outside, &count) == 3 &&
	    inside == 0 && outside == 0 && count == 4294967295UL;
}

#ifdef VIGIL_FAULTS
/* reaper.pipe_size_eperm: the kernel refuses, as it refuses a user over
 * fs.pipe-user-pages-soft. */
static int
fault_pipe_size(int fd)
{
	if (!FAULT_ON(REAPER_PIPE_SIZE_EPERM))
		return fcntl(fd, F_SETPIPE_SZ, ROLE_LOG_READ_MAX);
	errno = EPERM;
	return -1;
}
#else
#define fault_pipe_size(fd) fcntl((fd), F_SETPIPE_SZ, ROLE_LOG_READ_MAX)
#endif

static void
pipe_grow(int fd)
{
	static int uncharged = -1;
	static bool warned;

	if (uncharged < 0) {
		uncharged = pipes_uncharged();
		if (!uncharged)
			diag_debug("the container's output pipes keep the"
			    " kernel's size: this user's pipe pages count"
			    " against fs.pipe-user-pages-soft");
	}
	if (!uncharged || fault_pipe_size(fd) >= 0 || warned)
		return;
	warned = true;
	diag_warn("Failed to make the container's output pipes %d bytes"
	    " (fs.pipe-max-size, fs.pipe-user-pages-soft); they keep the"
	    " kernel's size:", ROLE_LOG_READ_MAX);
}

static int
pipe_pair(int *r, int *w)
{
	int p[2];

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	*r = p[0];
	*w = p[1];
	pipe_grow(*r);
	/* the reaper's copy: read by the logger with non-blocking reads */
	return io_set_nonblock(*r, true);
}

/* spec 6.1: stdout and stderr pipes; stdin is /dev/null for now. */
int
mon_stdio_create(struct mon *m)
{
	if (m->o->passthrough)
		return 0; /* spec 9.8: the runtime inherits fds 0-2 */
	if (pipe_pair(&m->out_r, &m->out_w) < 0)
		return -1;
	return pipe_pair(&m->err_r, &m->err_w);
}

static void
argv_add(char ***v, size_t *n, size_t *cap, char *s)
{
	if (*n + 2 > *cap) {
		size_t ncap = *cap ? *cap * 2 : 32;
		char **nv = reallocarray(*v, ncap, sizeof(**v));
		if (nv == NULL) {
			diag_errorx("out of memory building the runtime argv");
			_exit(1);
		}
		*v = nv;
		*cap = ncap;
	}
	(*v)[(*n)++] = s;
	(*v)[*n] = NULL;
}

static void
argv_addv(char ***v, size_t *n, size_t *cap, const struct mon_strv *sv)
{
	for (size_t i = 0; i < sv->n; i++)
		argv_add(v, n, cap, sv->v[i]);
}

/* spec 4.1: --bundle and --pid-file, then the create/restore options. */
static void
argv_bundle(char ***v, size_t *n, size_t *cap, const struct mon_opts *o)
{
	argv_add(v, n, cap, "--bundle");
	argv_add(v, n, cap, o->bundle_path);
	argv_add(v, n, cap, "--pid-file");
	argv_add(v, n, cap, o->pidfile_path);
	if (o->no_pivot)
		argv_add(v, n, cap, "--no-pivot");
	if (o->no_new_keyring)
		argv_add(v, n, cap, "--no-new-keyring");
}

/* spec 4.1: the create, restore and exec forms. */
static char **
runtime_argv(const struct mon *m)
{
	const struct mon_opts *o = m->o;
	char **v = NULL;
	size_t n = 0, cap = 0;

	argv_add(&v, &n, &cap, o->runtime);
	if (o->systemd_cgroup && !o->exec) /* never for exec */
		argv_add(&v, &n, &cap, "--systemd-cgroup");
	argv_addv(&v, &n, &cap, &o->runtime_args);
	if (o->exec) {
		argv_add(&v, &n, &cap, "exec");
		argv_add(&v, &n, &cap, "--pid-file");
		argv_add(&v, &n, &cap, o->pidfile_path);
		argv_add(&v, &n, &cap, "--process");
		argv_add(&v, &n, &cap, o->exec_process_spec);
		/* 2.1.11+: no --tty, the runtime reads it from the spec */
		argv_add(&v, &n, &cap, "--detach");
	} else if (o->restore != NULL) {
		argv_add(&v, &n, &cap, "restore");
		argv_bundle(&v, &n, &cap, o);
		argv_add(&v, &n, &cap, "--detach");
		argv_add(&v, &n, &cap, "--image-path");
		argv_add(&v, &n, &cap, o->restore);
		argv_add(&v, &n, &cap, "--work-path");
		argv_add(&v, &n, &cap, o->bundle_path);
	} else {
		argv_add(&v, &n, &cap, "create");
		argv_bundle(&v, &n, &cap, o);
	}
	argv_addv(&v, &n, &cap, &o->runtime_opts);
	if (m->cons_path != NULL) {
		argv_add(&v, &n, &cap, "--console-socket");
		argv_add(&v, &n, &cap, m->cons_path);
	}
	argv_add(&v, &n, &cap, o->cid);
	return v;
}

static void
trace_argv(char **v)
{
	char line[DIAG_TEXT_MAX];
	size_t off = 0;

	if (!diag_enabled(DIAG_TRACE))
		return;
	for (; *v != NULL && off < sizeof(line); v++) {
		int n = snprintf(line + off, sizeof(line) - off, "%s ", *v);
		if (n < 0)
			break;
		off += (size_t)n;
	}
	diag_trace("calling runtime args: %s", line);
}

/* Writes a message to the child's stderr (the stderr pipe) and exits. */
static VIGIL_NORETURN void
child_die(const char *what, const char *detail)
{
	char buf[256];
	int n = snprintf(buf, sizeof(buf), "%s%s\n", what, detail);

	if (n > 0)
		VIGIL_IGNORE(io_write_all(STDERR_FILENO, buf, (size_t)n));
	_exit(1);
}

/* spec 4.2 step 4. */
static void
child_listen_pid(const struct mon *m)
{
	const char *s = getenv("LISTEN_PID");
	char shown[MON_LISTEN_PID_SHOWN + 1], buf[32];
	int64_t v;

	if (s == NULL)
		return;
	if (num_parse(s, 10, 1, INT32_MAX, &v) < 0) {
		(void)snprintf(shown, sizeof(shown), "%s", s);
		child_die("Invalid LISTEN_PID ", shown);
	}
	if (!m->o->replace_listen_pid && v != m->self)
		return;
	(void)snprintf(buf, sizeof(buf), "%d", (int)getpid());
	if (setenv("LISTEN_PID", buf, 1) < 0)
		child_die("Failed to set LISTEN_PID", "");
}

static void
child_stdio(const struct mon *m)
{
	if (m->o->passthrough)
		return;
	/* spec 4.2 step 3: the stdin pipe with -i and no terminal; the
	 * stdout pipe without a terminal; else /dev/null */
	if (dup2(m->in_r >= 0 ? m->in_r : m->devnull, STDIN_FILENO) < 0 ||
	    dup2(m->o->terminal ? m->devnull : m->out_w, STDOUT_FILENO) < 0 ||
	    dup2(m->err_w, STDERR_FILENO) < 0)
		_exit(127);
	/* spec 4.2 step 3: any container user may reopen /dev/stdout */
	if (m->in_r >= 0)
		(void)fchmod(STDIN_FILENO, 0777); /* EINVAL: ignored */
	if (!m->o->terminal)
		(void)fchmod(STDOUT_FILENO, 0777);
	(void)fchmod(STDERR_FILENO, 0777);
}

static VIGIL_NORETURN void
runtime_child(const struct mon *m, char **argv, const sigset_t *mask)
{
	(void)prctl(PR_SET_PDEATHSIG, SIGKILL); /* spec 4.2 step 1 */
	for (int s = 1; s < NSIG; s++) {
		if (s == SIGKILL || s == SIGSTOP)
			continue;
		/*
		 * spec 11: the runtime starts with SIGPIPE ignored; every
		 * other signal default, the C library's own numbers too (an
		 * ignored disposition survives execve)
		 */
		(void)mon_sig_disposition(s, s == SIGPIPE);
	}
	child_stdio(m);
	child_listen_pid(m);
	if (m->start_fd >= 0) {
		char buf[MON_START_READ_MAX];
		/* spec 4.2 step 5, 5.2: podman's second byte, once attached */
		VIGIL_IGNORE(io_read(m->start_fd, buf, sizeof(buf)));
		(void)close(m->start_fd); /* read side */
	}
	mon_oom_restore(m);
	(void)sigprocmask(SIG_SETMASK, mask, NULL);
	execv(argv[0], argv);
	_exit(127); /* spec 4.2 step 7 */
}

/*
 * spec 3.1 step 13, 4.2: fork with every signal blocked, so the child
 * runs no handler of ours; the child restores the original mask.
 */
int
mon_runtime_spawn(struct mon *m)
{
	char **argv = runtime_argv(m);
	sigset_t all, old;
	pid_t pid;

	trace_argv(argv);
	(void)sigfillset(&all);
	(void)sigprocmask(SIG_BLOCK, &all, &old);
	pid = fork();
	if (pid == 0)
		runtime_child(m, argv, &old);
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	free(argv);
	if (pid < 0)
		return -1;
	m->runtime_pid = pid;
	if (m->start_fd >= 0) {
		(void)close(m->start_fd); /* the runtime child reads it */
		m->start_fd = -1;
	}
	if (!m->o->passthrough) {
		/* the container holds the write ends; EOF when it is gone */
		(void)close(m->out_w);
		(void)close(m->err_w);
		m->out_w = m->err_w = -1;
		if (m->in_r >= 0)
			(void)close(m->in_r); /* the container's end */
		m->in_r = -1;
	}
	return 0;
}

/*
 * spec 4.3, architecture.md: one non-blocking read of at most 8191 bytes,
 * copied, never interpreted (the sync record escapes it).
 */
size_t
mon_runtime_stderr(struct mon *m, char *buf, size_t cap)
{
	ssize_t n;

	if (m->err_r < 0 || cap == 0)
		return 0;
	if (cap > MON_RUNTIME_STDERR_MAX)
		cap = MON_RUNTIME_STDERR_MAX;
	n = io_read(m->err_r, buf, cap);
	return n > 0 ? (size_t)n : 0;
}
