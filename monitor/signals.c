/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/signals.c: the reaper's signals (spec 11, security 40-42), all
 * taken through libevent, never worked on inside a raw handler. Signals
 * that mean we have a bug ourselves (SEGV, BUS, ILL, FPE, ABRT, TRAP, SYS)
 * keep their default action.
 */
#include <sys/syscall.h>

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/diag.h"
#include "monitor/mon.h"

/* security 41: every catchable signal whose default is to die. */
static const int ignored_signals[] = {
	SIGHUP, SIGUSR2, SIGALRM, SIGVTALRM, SIGPROF, SIGIO, SIGPWR,
	SIGSTKFLT, SIGXCPU, SIGXFSZ,
};

static int
add_signal(struct mon *m, int sig, event_callback_fn cb)
{
	struct event *ev;

	if (m->n_sig_ev == VIGIL_NELEM(m->sig_ev)) {
		errno = ENOSPC;
		return -1;
	}
	ev = evsignal_new(m->base, sig, cb, m);
	if (ev == NULL || evsignal_add(ev, NULL) < 0)
		return -1;
	m->sig_ev[m->n_sig_ev++] = ev;
	return 0;
}

static void
reap_cb(evutil_socket_t sig VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	mon_reap(arg);
}

static void
ignore_cb(evutil_socket_t sig, short what VIGIL_UNUSED,
    void *arg VIGIL_UNUSED)
{
	/* spec 11 quirk: conmon dies of SIGHUP and loses the exit code */
	diag_warnx("received signal %d (%s); ignored", (int)sig,
	    strsignal((int)sig));
}

/* spec 3.1 step 3: before the runtime exists SIGTERM ends us at once. */
static void
term_early(int sig VIGIL_UNUSED)
{
	_exit(1);
}

/* spec 3.1 step 3, before the start pipe is read. */
void
mon_signals_early(void)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };

	(void)sigaction(SIGPIPE, &sa, NULL); /* valid: cannot fail */
	sa.sa_handler = term_early;
	(void)sigaction(SIGTERM, &sa, NULL);
}

int
mon_sig_disposition(int sig, bool ignore)
{
	/* the kernel's struct sigaction; no handler runs, so no restorer */
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} k = { ignore ? SIG_IGN : SIG_DFL, 0, NULL, 0 };

	return (int)syscall(SYS_rt_sigaction, sig, &k, NULL, sizeof(k.mask));
}

int
mon_signals_init(struct mon *m)
{
	if (add_signal(m, SIGCHLD, reap_cb) < 0 ||
	    add_signal(m, SIGUSR1, reap_cb) < 0)
		return -1;
	for (size_t i = 0; i < VIGIL_NELEM(ignored_signals); i++)
		if (add_signal(m, ignored_signals[i], ignore_cb) < 0)
			return -1;
	/*
	 * security 41: real-time signals also kill by default, and so do the
	 * numbers below SIGRTMIN the C library keeps (32-34 with musl):
	 * ignored quietly. vigil runs no threads, so none of the library's
	 * own uses of them (thread cancellation, timers, set*id across
	 * threads) can happen.
	 */
	for (int s = 32; s <= SIGRTMAX; s++)
		(void)mon_sig_disposition(s, true); /* EINVAL past the last */
	return 0;
}

/* spec 11: to the container once known, else the runtime child. */
static void
forward_cb(evutil_socket_t sig, short what VIGIL_UNUSED, void *arg)
{
	struct mon *m = arg;
	pid_t to;

	if (m->ctr_pid > 0 && !m->ctr_exited)
		to = m->ctr_pid;
	else if (m->runtime_pid > 0 && !m->runtime_reaped)
		to = m->runtime_pid;
	else
		to = m->ctr_pid;
	if (to <= 0)
		return;
	diag_info("forwarding signal %d to pid %d", (int)sig, (int)to);
	if (kill(to, (int)sig) < 0)
		mon_reap(m); /* spec 11: re-check our children */
}

/*
 * spec 3.1 step 13: TERM, INT and QUIT are blocked around the runtime
 * fork and forwarded from then on (the caller unblocks after the fork).
 */
int
mon_signals_forwarding(struct mon *m)
{
	static const int fwd[] = { SIGTERM, SIGINT, SIGQUIT };

	for (size_t i = 0; i < VIGIL_NELEM(fwd); i++)
		if (add_signal(m, fwd[i], forward_cb) < 0)
			return -1;
	return 0;
}
