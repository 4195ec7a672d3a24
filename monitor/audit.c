/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/audit.c: audit mode, in SECCOMP_AUDIT=1 builds only (security.md
 * "Seccomp policy"; make install refuses them, and a release build has
 * none of this file). A child's filter raises a user notification for
 * every call its profile does not allow; the reaper takes the child's
 * listener with pidfd_getfd() (no fd travels upward), logs each distinct
 * call once per child and answers CONTINUE, so the call runs. With
 * VIGIL_SECCOMP_MEASURE=FILE the children load a filter without rules and
 * every call they make is appended to FILE (make measure-seccomp). A
 * notification is kernel data; no container byte is read here.
 */
#include <sys/ioctl.h>
#include <sys/syscall.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <linux/seccomp.h>
#include <seccomp.h>

#include "common/diag.h"
#include "common/errtext.h"
#include "common/sandbox.h"
#include "monitor/mon.h"

/* Syscall numbers below this are remembered one bit each, per child. */
#define MON_AUDIT_NR_MAX 1024
/* pidfd_getfd() is retried every MON_AUDIT_RETRY_US until the load. */
#define MON_AUDIT_RETRY_US 1000
#define MON_AUDIT_TRIES	   5000
/* Distinct measured calls remembered by one reaper (more are written). */
#define MON_AUDIT_KEYS_MAX 512

struct mon_audit {
	struct mon *m;
	struct mon_child *c;
	int pidfd;
	int want; /* the listener's fd number in the child */
	int fd;	  /* our copy of it, -1 until taken */
	unsigned tries;
	struct event *retry;
	struct event *ev;
	uint64_t seen[MON_AUDIT_NR_MAX / 64];
};

/* One measured call: the role, the number and its argument that matters. */
struct mon_audit_key {
	const char *role;
	int nr;
	int arg; /* -1: none */
	uint64_t val;
};

/* The argument whose value a profile line may depend on. */
struct mon_audit_argof {
	const char *name;
	int arg;
};

static const struct mon_audit_argof mon_audit_args[] = {
    {"fcntl", 1},      /* command */
    {"ioctl", 1},      /* request */
    {"prctl", 0},      /* option */
    {"mmap", 2},       /* prot */
    {"mprotect", 2},   /* prot */
    {"newfstatat", 3}, /* flags */
    {"epoll_pwait", 4}, /* sigmask */
    {"madvise", 2},    /* advice */
    {"futex", 1},      /* operation */
    {"socket", 0},     /* domain */
};

static int measure_fd = -1;
static struct mon_audit_key measure_keys[MON_AUDIT_KEYS_MAX];
static size_t measure_n;

static void audit_take(struct mon_audit *);

void
mon_audit_init(void)
{
	static const char warn[] =
	    "this is a SECCOMP_AUDIT build: forbidden "
	    "system calls of the children are logged and allowed";
	const char *path = getenv("VIGIL_SECCOMP_MEASURE");

	/* always said, whatever --log-level: this binary does not enforce */
	diag_emit(DIAG_WARN, warn, sizeof(warn) - 1);
	if (path == NULL || *path == '\0')
		return;
	measure_fd = open(
	    path, O_WRONLY | O_APPEND | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
	if (measure_fd < 0)
		fatal("VIGIL_SECCOMP_MEASURE: cannot open %s:", path);
	sandbox_audit_measure(true);
}

static void
audit_kill(struct mon_audit *a, const char *why)
{
	diag_warnx("%s: audit mode: %s; killing it", a->c->role, why);
	(void)kill(a->c->pid, SIGKILL); /* reaped by mon_reap() */
}

/* The argument of nr that a profile line may test, or -1. */
static int
audit_arg_of(int nr)
{
	for (size_t i = 0; i < VIGIL_NELEM(mon_audit_args); i++)
		if (seccomp_syscall_resolve_name(mon_audit_args[i].name) == nr)
			return mon_audit_args[i].arg;
	return -1;
}

/* Measuring: one line per call not written by this reaper before. */
static void
audit_measure(struct mon_audit *a, const struct seccomp_notif *req)
{
	struct mon_audit_key k = {.role = a->c->role, .nr = req->data.nr};
	char line[160], *name;
	int n;

	k.arg = audit_arg_of(k.nr);
	k.val = k.arg >= 0 ? req->data.args[k.arg] : 0;
	for (size_t i = 0; i < measure_n; i++)
		if (measure_keys[i].role == k.role &&
		    measure_keys[i].nr == k.nr &&
		    measure_keys[i].arg == k.arg &&
		    measure_keys[i].val == k.val)
			return;
	if (measure_n < MON_AUDIT_KEYS_MAX)
		measure_keys[measure_n++] = k;
	name = seccomp_syscall_resolve_num_arch(req->data.arch, k.nr);
	if (k.arg >= 0)
		n = snprintf(line, sizeof(line), "%s %s arg%d=0x%" PRIx64 "\n",
		    k.role, name != NULL ? name : "?", k.arg, k.val);
	else
		n = snprintf(line, sizeof(line), "%s %s\n", k.role,
		    name != NULL ? name : "?");
	if (name == NULL)
		n = snprintf(line, sizeof(line), "%s nr%d\n", k.role, k.nr);
	free(name);
	/* O_APPEND: one write per line, whole, among many reapers */
	if (n > 0 && (size_t)n < sizeof(line) &&
	    write(measure_fd, line, (size_t)n) != n)
		diag_warn("VIGIL_SECCOMP_MEASURE: write failed:");
}

/* Audit mode proper: each distinct call once per child. */
static void
audit_log(struct mon_audit *a, const struct seccomp_notif *req)
{
	int nr = req->data.nr;
	char *name;

	if (nr >= 0 && nr < MON_AUDIT_NR_MAX) {
		uint64_t bit = UINT64_C(1) << (nr % 64);
		if (a->seen[nr / 64] & bit)
			return;
		a->seen[nr / 64] |= bit;
	}
	name = seccomp_syscall_resolve_num_arch(req->data.arch, nr);
	if (name != NULL)
		diag_warnx("%s: forbidden system call %s (audit mode: "
			   "allowed)",
		    a->c->role, name);
	else
		diag_warnx("%s: forbidden system call number %d, arch 0x%x "
			   "(audit mode: allowed)",
		    a->c->role, nr, (unsigned)req->data.arch);
	free(name);
}

/* One notification per wake-up: received, noted, answered CONTINUE. */
static void
audit_notif_cb(evutil_socket_t fd, short what VIGIL_UNUSED, void *arg)
{
	struct mon_audit *a = arg;
	struct pollfd p = {.fd = fd, .events = POLLIN};
	struct seccomp_notif req;
	struct seccomp_notif_resp resp;

	/* the receive blocks when nothing is pending: look first */
	if (poll(&p, 1, 0) <= 0 || !(p.revents & POLLIN)) {
		if (p.revents & (POLLHUP | POLLERR))
			(void)event_del(a->ev); /* no task left in the filter */
		return;
	}
	memset(&req, 0, sizeof(req)); /* the kernel wants it zeroed */
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) {
		if (errno != ENOENT && errno != EINTR) /* ENOENT: withdrawn */
			diag_warn("%s: audit mode: receiving a notification "
				  "failed:",
			    a->c->role);
		return;
	}
	if (measure_fd >= 0)
		audit_measure(a, &req);
	else
		audit_log(a, &req);
	memset(&resp, 0, sizeof(resp));
	resp.id = req.id;
	resp.flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE;
	/* ENOENT: the child was killed while we looked */
	if (ioctl(fd, SECCOMP_IOCTL_NOTIF_SEND, &resp) < 0 && errno != ENOENT)
		diag_warn("%s: audit mode: answering a notification failed:",
		    a->c->role);
}

static void
audit_retry_cb(
    evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED, void *arg)
{
	audit_take(arg);
}

/* True when fd is a seccomp listener: it knows the NOTIF_ID_VALID ioctl. */
static bool
audit_is_listener(int fd)
{
	uint64_t id = 0;

	return ioctl(fd, SECCOMP_IOCTL_NOTIF_ID_VALID, &id) == 0 ||
	       errno == ENOENT;
}

static void
audit_watch(struct mon_audit *a, int fd)
{
	a->fd = fd;
	a->ev =
	    event_new(a->m->base, fd, EV_READ | EV_PERSIST, audit_notif_cb, a);
	if (a->ev == NULL || event_add(a->ev, NULL) < 0)
		audit_kill(a, "cannot watch its seccomp listener");
}

/*
 * The child announced the number before loading its filter: until the
 * load the number is free (EBADF) or not yet a listener, so try again
 * shortly. The child waits meanwhile in its first notified call, if any.
 * The reaper is root: CAP_SYS_PTRACE lets pidfd_getfd() reach a child
 * that is not dumpable.
 */
static void
audit_take(struct mon_audit *a)
{
	struct timeval tv = {0, MON_AUDIT_RETRY_US};
	int fd = (int)syscall(SYS_pidfd_getfd, a->pidfd, a->want, 0);

	if (fd >= 0 && audit_is_listener(fd)) {
		audit_watch(a, fd);
		return;
	}
	if (fd >= 0)
		(void)close(fd); /* not yet the listener */
	else if (errno != EBADF) {
		char why[96];
		(void)snprintf(why, sizeof(why),
		    "pidfd_getfd of its seccomp "
		    "listener failed: %s",
		    errtext(errno));
		audit_kill(a, why);
		return;
	}
	if (++a->tries > MON_AUDIT_TRIES) {
		audit_kill(a, "no seccomp listener at the fd it announced");
		return;
	}
	if (a->retry == NULL)
		a->retry = evtimer_new(a->m->base, audit_retry_cb, a);
	if (a->retry == NULL || evtimer_add(a->retry, &tv) < 0)
		audit_kill(a, "cannot schedule the listener's pickup");
}

int
mon_audit_listener(
    struct mon *m, struct mon_child *c, const struct chan_msg *msg)
{
	struct mon_audit *a;

	/* once per child, before its HELLO (after the load) */
	if (c->hello || c->audit != NULL)
		return -1;
	if ((a = calloc(1, sizeof(*a))) == NULL) {
		diag_warnx("%s: audit mode: out of memory", c->role);
		return -1;
	}
	a->m = m;
	a->c = c;
	a->fd = -1;
	a->want = msg->u.listener.fd;
	c->audit = a;
	a->pidfd = (int)syscall(SYS_pidfd_open, c->pid, 0);
	if (a->pidfd < 0) {
		diag_warn("%s: audit mode: pidfd_open failed:", c->role);
		return -1;
	}
	audit_take(a);
	return 0;
}

bool
mon_audit_announced(const struct mon_child *c)
{
	return c->audit != NULL;
}

void
mon_audit_forget(struct mon_child *c)
{
	struct mon_audit *a = c->audit;

	if (a == NULL)
		return;
	if (a->ev != NULL)
		event_free(a->ev);
	if (a->retry != NULL)
		event_free(a->retry);
	if (a->fd >= 0)
		(void)close(a->fd); /* the child is gone: nothing pends */
	if (a->pidfd >= 0)
		(void)close(a->pidfd);
	free(a);
	c->audit = NULL;
}
