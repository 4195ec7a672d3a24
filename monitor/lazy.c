/* SPDX-License-Identifier: Apache-2.0 */
/*
 * monitor/lazy.c: the attach broker on demand (README "How the processes
 * fit"; a deviation from architecture.md, which starts it with the
 * logger). Most containers never see an attach client, a ctl or winsz
 * line or an sd-notify datagram, so the broker is forked only when one of
 * the objects it reads first becomes readable: the attach listener, the
 * ctl and winsz FIFOs, the notify socket. The reaper only polls them: it
 * never accepts, reads or receives on them (the broker does, once
 * forked), so what is waiting stays for the broker. The stdin write end
 * and the pty master are not watched: nothing arrives on them for the
 * broker (the logger writes the clients' input to them and reads the
 * pty's output).
 * Once started the broker lives as before: respawned on death.
 */
#include <poll.h>

#include <event2/event.h>

#include "common/diag.h"
#include "monitor/mon.h"

static const char *const lazy_names[MON_LAZY_MAX] = {
	"attach socket", "ctl", "winsz", "notify socket",
};

static void
lazy_fds(const struct mon *m, int fds[MON_LAZY_MAX])
{
	fds[0] = m->att_listener;
	fds[1] = m->ctl_r;
	fds[2] = m->winsz_r;
	fds[3] = m->notify_fd;
}

/* The first sign of a broker's work: fork it, stop watching. */
static void
lazy_start(struct mon *m, int fd)
{
	int fds[MON_LAZY_MAX];
	const char *what = "attach object";

	lazy_fds(m, fds);
	for (size_t i = 0; i < MON_LAZY_MAX; i++)
		if (fds[i] == fd)
			what = lazy_names[i];
	mon_broker_unwatch(m);
	diag_debug("attach: %s readable: starting the attach broker", what);
	mon_child_start(m, &m->broker);
}

static void
lazy_cb(evutil_socket_t fd, short what VIGIL_UNUSED, void *arg)
{
	lazy_start(arg, fd);
}

/*
 * Watches the broker's objects for EV_READ (level-triggered: what is
 * waiting stays readable for the broker). A watch that cannot be added
 * starts the broker at once: the object would otherwise never be served.
 */
void
mon_broker_watch(struct mon *m)
{
	int fds[MON_LAZY_MAX];

	lazy_fds(m, fds);
	m->lazy_watching = true;
	for (size_t i = 0; i < MON_LAZY_MAX; i++) {
		struct event *ev;

		if (fds[i] < 0)
			continue;
		ev = event_new(m->base, fds[i], EV_READ | EV_PERSIST, lazy_cb,
		    m);
		if (ev == NULL || event_add(ev, NULL) < 0) {
			if (ev != NULL)
				event_free(ev);
			diag_warnx("cannot watch the %s: starting the attach "
			    "broker now", lazy_names[i]);
			lazy_start(m, fds[i]);
			return;
		}
		m->lazy_ev[i] = ev;
	}
}

/* The broker runs (or monitoring is over): nothing is watched again. */
void
mon_broker_unwatch(struct mon *m)
{
	for (size_t i = 0; i < MON_LAZY_MAX; i++) {
		if (m->lazy_ev[i] != NULL)
			event_free(m->lazy_ev[i]);
		m->lazy_ev[i] = NULL;
	}
	m->lazy_watching = false;
}

/*
 * At the end of the drain (spec 10.2 step 5): true when the broker has
 * work after all, i.e. an object became readable and the loop has not
 * dispatched it yet (a client that connected during the drain must read
 * EOF from a broker, never a reset from a listener closed under it).
 * Then it is started here. False: it was never needed.
 */
bool
mon_broker_due(struct mon *m)
{
	struct pollfd p[MON_LAZY_MAX];
	int fds[MON_LAZY_MAX];
	nfds_t n = 0;

	if (!m->lazy_watching)
		return false;
	lazy_fds(m, fds);
	for (size_t i = 0; i < MON_LAZY_MAX; i++)
		if (fds[i] >= 0)
			p[n++] = (struct pollfd){ .fd = fds[i],
				.events = POLLIN };
	/* no timeout: it does not wait, so no signal interrupts it */
	if (poll(p, n, 0) < 0) {
		diag_warn("Failed to poll the attach objects; a client that "
		    "connected during the drain may see a reset:");
		return false;
	}
	for (nfds_t i = 0; i < n; i++)
		if (p[i].revents != 0) {
			lazy_start(m, p[i].fd);
			return true;
		}
	return false;
}
