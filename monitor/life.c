/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/life.c: the daemon's lifecycle (spec 3.1 steps 10-16, 4.3, 4.4,
 * 10): logger first, then the runtime, the pid report, monitoring, and the
 * shutdown in spec 10.2's order. After the runtime is forked nothing here
 * exits but the shutdown: every error is a warning and a fallback.
 */
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/diag.h"
#include "common/errtext.h"
#include "common/io.h"
#include "common/sandbox.h"
#include "monitor/mon.h"

#ifndef P_PIDFD
#define P_PIDFD 3
#endif

static void container_exited(struct mon *, int);

/* spec 10.1: the value written to the exit files. */
int
mon_exit_value(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return -1;
}

static void
finish(struct mon *m)
{
	if (m->phase == MON_PH_DONE)
		return;
	m->phase = MON_PH_DONE;
	(void)event_base_loopbreak(m->base);
}

/*
 * A failure before the pid was reported: spec 5.3, decision for vigil:
 * the manager gets {"<key>": -1, "message": ...} before we exit 1.
 */
void
mon_fail(struct mon *m, const char *fmt, ...)
{
	char msg[DIAG_TEXT_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(msg))
		n = sizeof(msg) - 1;
	mon_sync_report(m, -1, msg, (size_t)n);
	diag_errorx("%s", msg);
	m->exit_status = 1;
	finish(m);
}

static void
remember_early(struct mon *m, pid_t pid, int status)
{
	/* spec 4.3: a container may exit before its pid file is read */
	if (m->n_early < MON_EARLY_MAX) {
		m->early[m->n_early].pid = pid;
		m->early[m->n_early].status = status;
		m->n_early++;
	}
}

static void runtime_done(struct mon *);

/* spec 11 SIGCHLD: reap every child that has exited. */
void
mon_reap(struct mon *m)
{
	pid_t pid;
	int status;

	mon_child_peek(m); /* a dead logger's counters, before reaping */
	while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
		if (pid == m->runtime_pid && !m->runtime_reaped) {
			m->runtime_reaped = true;
			m->runtime_status = status;
			runtime_done(m);
		} else if (pid == m->logger.pid) {
			mon_child_reaped(m, &m->logger, status);
		} else if (pid == m->broker.pid) {
			mon_child_reaped(m, &m->broker, status);
		} else if (m->ctr_pid > 0 && pid == m->ctr_pid) {
			container_exited(m, status);
		} else if (m->ctr_pid <= 0) {
			remember_early(m, pid, status);
		}
	}
}

static void
timeout_cb(evutil_socket_t fd VIGIL_UNUSED, short w VIGIL_UNUSED, void *arg)
{
	struct mon *m = arg;
	pid_t pgid;

	if (m->ctr_exited)
		return; /* spec 10.6: the real status wins */
	m->timed_out = true;
	m->ctr_value = -1;
	diag_warnx("container timed out after %d seconds; killing it",
	    m->o->timeout);
	/* spec 10.6, security 44: never signal our own process group */
	pgid = getpgid(m->ctr_pid);
	if (pgid > 1 && pgid != getpgrp())
		(void)kill(-pgid, SIGKILL);
	else
		(void)kill(m->ctr_pid, SIGKILL);
	finish(m); /* spec 10.6: skip the drain, do not wait */
}

static void
drain_timeout_cb(evutil_socket_t fd VIGIL_UNUSED, short w VIGIL_UNUSED,
    void *arg)
{
	struct mon *m = arg;

	diag_warnx("the logger did not finish draining in %d s: the log may "
	    "be incomplete", MON_DRAIN_TIMEOUT_S);
	finish(m);
}

static void
close_timeout_cb(evutil_socket_t fd VIGIL_UNUSED, short w VIGIL_UNUSED,
    void *arg)
{
	struct mon *m = arg;

	diag_warnx("the attach broker did not close its clients in %d s",
	    MON_DRAIN_TIMEOUT_S);
	finish(m);
}

/* spec 10.2: logs complete; now attach clients are closed, then exit. */
void
mon_drained(struct mon *m)
{
	struct timeval tv = { .tv_sec = MON_DRAIN_TIMEOUT_S };

	/* a broker never needed is never started (lazy.c): no clients */
	if (m->broker.pid <= 0 && m->broker.respawn == NULL &&
	    !mon_broker_due(m)) {
		finish(m);
		return;
	}
	m->close_ev = evtimer_new(m->base, close_timeout_cb, m);
	if (m->close_ev == NULL || evtimer_add(m->close_ev, &tv) < 0)
		diag_warnx("cannot bound the attach close wait");
	mon_broker_close(m);
}

void
mon_att_closed(struct mon *m)
{
	finish(m);
}

/* spec 10.2 steps 1-3: drain and sync the logs before anything else. */
static void
container_exited(struct mon *m, int status)
{
	struct timeval tv = { .tv_sec = MON_DRAIN_TIMEOUT_S };

	if (m->ctr_exited)
		return;
	m->ctr_exited = true;
	m->ctr_value = mon_exit_value(status);
	diag_info("container %d exited with status %d", (int)m->ctr_pid,
	    m->ctr_value);
	if (m->ctr_ev != NULL)
		(void)event_del(m->ctr_ev);
	if (m->timeout_ev != NULL)
		(void)event_del(m->timeout_ev);
	if (m->phase != MON_PH_RUNNING)
		return;
	if (m->logger.pid <= 0 && m->logger.respawn == NULL) {
		finish(m); /* passthrough: nothing to drain */
		return;
	}
	m->phase = MON_PH_DRAINING;
	m->drain_ev = evtimer_new(m->base, drain_timeout_cb, m);
	if (m->drain_ev == NULL || evtimer_add(m->drain_ev, &tv) < 0)
		diag_warnx("cannot bound the drain wait");
	mon_logger_drain(m);
}

/*
 * The container's pidfd became readable: it has exited. Reap it if it is
 * our child; spec 10.1 (2.2.0+): a process that is not our child has an
 * unknowable status, reported as 0 with a warning.
 */
static void
ctr_cb(evutil_socket_t fd, short what VIGIL_UNUSED, void *arg)
{
	struct mon *m = arg;
	siginfo_t si;

	mon_reap(m);
	if (m->ctr_exited)
		return;
	memset(&si, 0, sizeof(si));
	if (waitid(P_PIDFD, (id_t)fd, &si, WEXITED | WNOHANG) == 0 &&
	    si.si_pid != 0) {
		int status = si.si_code == CLD_EXITED ?
		    (si.si_status & 0xff) << 8 : si.si_status & 0x7f;
		container_exited(m, status);
		return;
	}
	if (errno == ECHILD) {
		diag_warnx("container %d is not our child: its exit status is "
		    "unknown, reporting 0", (int)m->ctr_pid);
		container_exited(m, 0);
	}
}

static int
watch_container(struct mon *m)
{
	int fd = (int)syscall(SYS_pidfd_open, m->ctr_pid, 0);

	if (fd < 0)
		return -1;
	m->ctr_pidfd = fd;
	m->ctr_ev = event_new(m->base, fd, EV_READ | EV_PERSIST, ctr_cb, m);
	if (m->ctr_ev == NULL || event_add(m->ctr_ev, NULL) < 0)
		return -1;
	return 0;
}

static void
arm_timeout(struct mon *m)
{
	struct timeval tv = { .tv_sec = m->o->timeout };

	if (m->o->timeout <= 0)
		return;
	/* spec 10.6: the timer starts when the pid is known */
	m->timeout_ev = evtimer_new(m->base, timeout_cb, m);
	if (m->timeout_ev == NULL || evtimer_add(m->timeout_ev, &tv) < 0)
		diag_warnx("cannot arm the timeout");
}

/* spec 4.3: the runtime failed: report its stderr, no exit file. */
static void
runtime_failed(struct mon *m)
{
	char err[MON_RUNTIME_STDERR_MAX + 1];
	size_t n = mon_runtime_stderr(m, err, sizeof(err) - 1);
	int value = mon_exit_value(m->runtime_status);

	err[n] = '\0';
	if (n > 0)
		diag_warnx("runtime stderr: %s", err);
	mon_sync_report(m, -1, err, n);
	diag_errorx("Failed to create container: exit status %d", value);
	m->exit_status = 1;
	finish(m);
}

/*
 * spec 4.3: with a terminal the runtime must have sent the pty master by
 * the time it exits successfully; the connection may still be queued.
 */
static bool
terminal_arrived(struct mon *m)
{
	int rc = mon_console_accept(m);

	if (rc == 1) {
		mon_broker_pty(m);
		return true;
	}
	if (rc < 0)
		mon_fail(m, "Failed to receive console file descriptor: %s",
		    errtext(errno));
	else
		mon_fail(m, "Runtime did not set up terminal");
	return false;
}

/*
 * A start that failed after the runtime ran (a child died in its setup):
 * the container `runtime create` made never runs. Its init waits for
 * `runtime start` and is killed here; the manager reads the failure on the
 * sync pipe and removes the container as after any failed create.
 */
static void
kill_created(struct mon *m)
{
	char why[512];
	pid_t pid;

	if (!WIFEXITED(m->runtime_status) ||
	    WEXITSTATUS(m->runtime_status) != 0)
		return; /* it created nothing */
	if (mon_pidfile_read(m->o->pidfile_path, &pid, why, sizeof(why)) < 0)
		return; /* no container process to kill */
	if (kill(pid, SIGKILL) < 0 && errno != ESRCH)
		diag_warn("Failed to kill the created container %d", (int)pid);
}

/*
 * Start-up is over with the pid report: the stack below the loop and the
 * heap's free pages go back, trimmed at the loop's next turn from a
 * callback of the loop itself, whose frame is shallower than any
 * start-up path's (runtime_done's among them).
 */
static void
idle_trim_cb(evutil_socket_t fd VIGIL_UNUSED, short w VIGIL_UNUSED,
    void *arg VIGIL_UNUSED)
{
	sandbox_trim();
}

/* spec 4.4: read and report the pid; then the container is monitored. */
static void
runtime_done(struct mon *m)
{
	char why[512];
	pid_t pid;

	if (m->phase != MON_PH_RUNTIME || !m->runtime_reaped)
		return;
	if (m->start_err[0] != '\0') {
		/* a child died in setup while the runtime ran: fail closed */
		kill_created(m);
		mon_fail(m, "%s", m->start_err);
		return;
	}
	/* spec 4.3: for exec (2.2.0+) only a missing pid file is a failure */
	if (!m->o->exec && (!WIFEXITED(m->runtime_status) ||
	    WEXITSTATUS(m->runtime_status) != 0)) {
		runtime_failed(m);
		return;
	}
	if (!m->children_up)
		return; /* mon_children_up() comes back here */
	if (m->o->terminal && m->pty < 0 && !terminal_arrived(m))
		return;
	if (mon_pidfile_read(m->o->pidfile_path, &pid, why, sizeof(why)) < 0) {
		char err[MON_RUNTIME_STDERR_MAX + 1];
		size_t n = mon_runtime_stderr(m, err, sizeof(err) - 1);
		/* spec 4.4, decision for vigil: main's report */
		mon_sync_report(m, -1, n > 0 ? err : why,
		    n > 0 ? n : strlen(why));
		diag_errorx("Failed to read pidfile: %s", why);
		m->exit_status = 1;
		finish(m);
		return;
	}
	m->ctr_pid = pid;
	m->phase = MON_PH_RUNNING;
	/* spec 5.3: a legacy exec reports only its exit code */
	if (!m->o->exec || m->o->api_version)
		mon_sync_report(m, pid, NULL, 0);
	mon_oom_watch(m); /* spec 12: once the pid is known */
	mon_logger_sources(m);
	for (size_t i = 0; i < m->n_early; i++) {
		if (m->early[i].pid == pid) {
			container_exited(m, m->early[i].status);
			return;
		}
	}
	arm_timeout(m);
	if (watch_container(m) < 0) {
		diag_warn("Failed to watch container %d", (int)pid);
		/* SIGCHLD still reaps it: the reaper is its subreaper */
	}
	if (event_base_once(m->base, -1, EV_TIMEOUT, idle_trim_cb, NULL,
	    &(struct timeval){ .tv_sec = 0 }) < 0)
		sandbox_trim(); /* no timer (ENOMEM): from here, now */
}

static void
stdio_to_devnull(struct mon *m)
{
	for (int fd = 0; fd <= 2; fd++)
		if (dup2(m->devnull, fd) < 0)
			diag_warn("Failed to redirect fd %d to /dev/null", fd);
}

static void
console_cb(evutil_socket_t fd VIGIL_UNUSED, short w VIGIL_UNUSED, void *arg)
{
	struct mon *m = arg;
	int rc = mon_console_accept(m);

	if (rc == 0)
		return;
	if (m->cons_ev != NULL) {
		event_free(m->cons_ev);
		m->cons_ev = NULL;
	}
	if (rc == 1)
		mon_broker_pty(m);
	else
		mon_fail(m, "Failed to receive console file descriptor: %s",
		    errtext(errno));
}

/*
 * spec 3.1 step 13: the runtime runs as soon as the daemon is set up; the
 * children are forked and sandboxed while it runs (README "How the
 * processes fit"), and runtime_done() reports the pid only after both
 * said HELLO.
 */
static void
start_runtime(struct mon *m)
{
	sigset_t fwd, old;

	m->phase = MON_PH_RUNTIME;
	(void)sigemptyset(&fwd);
	(void)sigaddset(&fwd, SIGTERM);
	(void)sigaddset(&fwd, SIGINT);
	(void)sigaddset(&fwd, SIGQUIT);
	(void)sigprocmask(SIG_BLOCK, &fwd, &old);
	if (mon_signals_forwarding(m) < 0)
		diag_warn("Failed to set up signal forwarding");
	if (mon_runtime_spawn(m) < 0) {
		(void)sigprocmask(SIG_SETMASK, &old, NULL);
		mon_fail(m, "Failed to fork the runtime: %s", errtext(errno));
		return;
	}
	(void)sigprocmask(SIG_SETMASK, &old, NULL);
	if (m->o->passthrough)
		stdio_to_devnull(m); /* spec 3.1 step 13 */
	if (m->cons_fd >= 0) {
		/* spec 4.3: the loop runs to accept the console connection */
		m->cons_ev = event_new(m->base, m->cons_fd, EV_READ | EV_PERSIST,
		    console_cb, m);
		if (m->cons_ev == NULL || event_add(m->cons_ev, NULL) < 0)
			diag_warnx("cannot watch the console socket");
	}
}

/*
 * Only `runtime create` leaves what it made waiting (for `runtime start`,
 * after the pid is reported): it may run while the children sandbox
 * themselves. `exec --detach` and `restore --detach` start the process at
 * once, so they run only once both children are sandboxed, as before.
 */
static bool
runtime_first(const struct mon *m)
{
	return !m->o->exec && m->o->restore == NULL;
}

/* The children are sandboxed and listening: the pid may be reported. */
void
mon_children_up(struct mon *m)
{
	m->children_up = true;
	if (m->phase == MON_PH_LOGGER) {
		start_runtime(m); /* exec, restore: not before */
		mon_reap(m);	  /* a SIGCHLD may have come while blocked */
		return;
	}
	runtime_done(m); /* if the runtime was faster */
}

/*
 * A child died before its HELLO (security.md: fail closed). A runtime
 * already running is waited for (runtime_done), so that what it created
 * is killed; the manager then reads msg on the sync pipe.
 */
void
mon_start_failed(struct mon *m, const char *fmt, ...)
{
	va_list ap;

	if (m->start_err[0] == '\0') {
		va_start(ap, fmt);
		(void)vsnprintf(m->start_err, sizeof(m->start_err), fmt, ap);
		va_end(ap); /* cut at DIAG_TEXT_MAX, as mon_fail() does */
	}
	if (m->phase == MON_PH_RUNTIME && !m->runtime_reaped)
		return;
	if (m->phase == MON_PH_RUNTIME) {
		runtime_done(m);
		return;
	}
	mon_fail(m, "%s", m->start_err);
}

/* spec 3.1 step 10. */
static void
daemon_setup(struct mon *m)
{
	m->devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (m->devnull < 0)
		fatal("Failed to open /dev/null");
	if (!m->o->passthrough)
		stdio_to_devnull(m);
	if (setsid() < 0)
		diag_debug("setsid: %s", errtext(errno));
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
		mon_sync_report(m, -1, "Failed to set as subreaper", 26);
		fatal("Failed to set as subreaper");
	}
	m->base = event_base_new();
	if (m->base == NULL)
		fatal("Failed to create the event loop");
	if (mon_signals_init(m) < 0)
		fatal("Failed to set up signal handling");
	if (mon_stdio_create(m) < 0 || mon_stdin_create(m) < 0)
		fatal("Failed to create the container's stdio");
	if (mon_console_create(m) < 0)
		fatal("Failed to create the console socket");
}

/* spec 10.2 step 5 and rule 4 of 2.2: all but the sync pipe. */
static void
close_inherited(struct mon *m)
{
	for (size_t i = 0; i < m->n_inherited; i++)
		if (m->inherited[i] != m->sync_fd)
			(void)close(m->inherited[i]); /* spec: just closed */
	m->n_inherited = 0;
}

static void
release_loop(struct mon *m)
{
	for (size_t i = 0; i < m->n_sig_ev; i++)
		event_free(m->sig_ev[i]);
	m->n_sig_ev = 0;
	if (m->ctr_ev != NULL)
		event_free(m->ctr_ev);
	if (m->timeout_ev != NULL)
		event_free(m->timeout_ev);
	if (m->drain_ev != NULL)
		event_free(m->drain_ev);
	if (m->close_ev != NULL)
		event_free(m->close_ev);
	if (m->cons_ev != NULL)
		event_free(m->cons_ev);
	m->ctr_ev = m->timeout_ev = m->drain_ev = NULL;
	m->close_ev = m->cons_ev = NULL;
	event_base_free(m->base);
	m->base = NULL;
}

/*
 * spec 10.5: after the shutdown, in a child with default signal handling
 * and an empty mask, after --exit-delay; the daemon waits for it.
 */
static void
run_exit_command(struct mon *m)
{
	struct sigaction sa = { .sa_handler = SIG_DFL };
	sigset_t none;
	char **argv;
	pid_t pid, cmd;
	int status;

	(void)sigaction(SIGCHLD, &sa, NULL);
	/* spec 10.5 step 1: no fd >= 3 reaches the command */
	if (syscall(SYS_close_range, 3U, ~0U, 0U) < 0)
		for (int fd = 3; fd < 1024; fd++)
			(void)close(fd); /* most are not open */
	(void)prctl(PR_SET_CHILD_SUBREAPER, 0);
	argv = calloc(m->o->exit_command_args.n + 2, sizeof(*argv));
	if (argv == NULL) {
		diag_warnx("out of memory: exit command not run");
		return;
	}
	argv[0] = m->o->exit_command;
	for (size_t i = 0; i < m->o->exit_command_args.n; i++)
		argv[i + 1] = m->o->exit_command_args.v[i];
	cmd = fork();
	if (cmd == 0) {
		for (int s = 1; s < NSIG; s++)
			(void)sigaction(s, &sa, NULL); /* some are invalid */
		(void)sigemptyset(&none);
		(void)sigprocmask(SIG_SETMASK, &none, NULL);
		if (m->o->exit_delay > 0)
			(void)sleep((unsigned)m->o->exit_delay);
		mon_oom_restore(m);
		execv(argv[0], argv);
		_exit(1);
	}
	free(argv);
	if (cmd < 0) {
		diag_warn("Failed to fork the exit command");
		return;
	}
	/* spec 10.5 step 3: wait for every child, the command included */
	while ((pid = waitpid(-1, &status, 0)) > 0 || errno == EINTR)
		if (pid == cmd && WIFEXITED(status) &&
		    WEXITSTATUS(status) != 0)
			diag_warnx("exit command exited with status %d",
			    WEXITSTATUS(status));
}

/* spec 5.3, 10.6: an exec session's last record, after the exit files. */
static void
exec_report(struct mon *m)
{
	static const char timed_out[] = "command timed out"; /* spec 0.3 */

	if (!m->o->exec)
		return;
	if (m->timed_out)
		mon_sync_report(m, -1, timed_out, sizeof(timed_out) - 1);
	else
		mon_sync_report(m, m->ctr_value, NULL, 0);
}

/*
 * The runtime (create), then the logger (unless passthrough), which
 * sandboxes itself while it runs; the pid is reported once it is
 * sandboxed (security.md: fail closed). The broker starts when its
 * objects are first readable (lazy.c), before or after the pid.
 */
static void
start_children(struct mon *m)
{
	if (mon_attach_create(m) < 0)
		return; /* reported on the sync pipe */
	if (!m->o->passthrough)
		mon_attach_ready(m); /* spec 3.1 step 12, 5.4 */
	if (runtime_first(m)) {
		start_runtime(m);
		if (m->phase != MON_PH_RUNTIME)
			return; /* failed and reported */
	}
	/* the filters compile while the runtime runs, not before it */
	if (!m->o->passthrough || m->notify_fd >= 0)
		sandbox_prepare_start(m->runtime_pid > 0 ? MON_START_NICE : 0);
	if (m->o->passthrough) {
		/* spec 9.8: no logger; a broker only for the notify relay,
		 * when the first datagram comes (lazy.c) */
		if (m->notify_fd >= 0)
			mon_broker_watch(m);
	} else if (mon_child_spawn(m, &m->logger) < 0) {
		mon_start_failed(m, "Failed to start the logger: %s",
		    errtext(errno));
	} else if (m->att_listener >= 0) {
		mon_broker_watch(m); /* started on demand (lazy.c) */
	}
	if (m->logger.pid <= 0 && m->start_err[0] == '\0')
		mon_children_up(m); /* none to wait for */
	mon_reap(m); /* a SIGCHLD may have come while blocked */
}

VIGIL_NORETURN void
mon_daemon(struct mon *m)
{
	daemon_setup(m);
	start_children(m);
	if (m->phase != MON_PH_DONE && event_base_dispatch(m->base) < 0)
		diag_warnx("the event loop failed");
	m->phase = MON_PH_DONE;
	mon_oom_final(m); /* spec 10.2 step 1, before the exit files */
	mon_broker_unwatch(m);
	mon_child_stop(m, &m->logger);
	mon_child_stop(m, &m->broker);
	close_inherited(m);
	if (m->ctr_pid > 0) {
		mon_exit_files(m); /* spec 10.2 steps 6-7 */
		exec_report(m);	   /* step 8 */
	}
	mon_attach_remove(m); /* spec 10.2 step 9 */
	mon_console_remove(m);
	if (m->exit_status == 0)
		m->exit_status = m->ctr_value & 0xff; /* spec 10.8 */
	release_loop(m);
	if (m->o->exit_command != NULL && m->runtime_pid > 0)
		run_exit_command(m);
	else
		while (waitpid(-1, NULL, WNOHANG) > 0)
			; /* spec 10.2 step 10: reap leftover zombies */
	/* nothing is left allocated: the reaper runs clean under valgrind */
	free(m->inherited);
	free(m->log_base);
	mon_opts_free(m->o);
	exit(m->exit_status);
}
