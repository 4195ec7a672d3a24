/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/listener.c: the listening attach socket the reaper bound (spec
 * 7.1, 7.2). Accepts only (never binds, listens or connects), and never
 * more than max_clients at once: one past it is accepted and closed at
 * once (security 8). Each client is handed to the logger (peer.c).
 */
#include <sys/socket.h>

#include <errno.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/diag.h"
#include "common/fault.h"
#include "common/io.h"
#include "attach/broker.h"

static void
att_listener_pause(struct att_broker *b)
{
	if (!b->listen_on)
		return;
	(void)event_del(b->listen_ev); /* fails only on a bug */
	b->listen_on = false;
}

static void
att_listener_on(struct att_broker *b)
{
	if (b->listen_on || b->listen_fd < 0 || b->closing)
		return;
	if (event_add(b->listen_ev, NULL) < 0)
		fatalx("attach: cannot watch the attach socket");
	b->listen_on = true;
}

/* security 8: over the bound, the newcomer is told so by a close. */
static void
att_refuse(struct att_broker *b, int fd)
{
	unsigned more;

	(void)close(fd); /* never served: nothing to flush */
	if (diag_rate_ok(&b->too_many, &more))
		diag_warnx("attach: %u clients attached, closing a new one"
		    " (%u more since the last warning)", b->nclients, more);
}

/* Resources ran out: the listener rests rather than spin on them. */
static void
att_accept_rest(struct att_broker *b)
{
	struct timeval tv = { .tv_sec = 0,
		.tv_usec = ATT_ACCEPT_BACKOFF_MS * 1000 };
	unsigned more;

	if (diag_rate_ok(&b->accept_fail, &more))
		diag_warn("attach: cannot accept a client (%u more since the"
		    " last warning):", more);
	att_listener_pause(b);
	if (evtimer_add(b->accept_timer, &tv) < 0)
		fatalx("attach: cannot schedule the listener");
}

/* Accepts what waits, up to a batch. 1: the batch was full (more may
 * wait), 0: none waits now, -1: the listener broke. */
static int
att_accept_batch(struct att_broker *b)
{
	for (int i = 0; i < ATT_ACCEPT_BATCH; i++) {
		int fd = accept4(b->listen_fd, NULL, NULL,
		    SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			switch (errno) {
			case EAGAIN:
				return 0;
			case ECONNABORTED: /* that client gave up: next */
			case EPROTO:
			case EPERM:
			case EINTR:
				continue;
			case EMFILE:
			case ENFILE:
			case ENOBUFS:
			case ENOMEM:
				att_accept_rest(b);
				return 0;
			default:
				return -1;
			}
		}
#ifdef VIGIL_FAULTS
		if (FAULT_ON(BROKER_CRASH_ON_ACCEPT))
			fault_crash(); /* the client reads EOF */
#endif
		if (b->nclients >= b->max_clients)
			att_refuse(b, fd);
		else
			att_client_new(b, fd);
	}
	return 1;
}

static void
att_accept(struct att_broker *b)
{
	if (att_accept_batch(b) < 0) {
		diag_warn("attach: the attach socket failed:");
		att_listener_close(b);
	}
}

static void
att_listener_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	att_accept(arg);
}

static void
att_accept_timer_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	att_listener_on(arg);
}

void
att_listener_set(struct att_broker *b, int fd)
{
	if (io_set_nonblock(fd, true) < 0) {
		diag_warn("attach: attach socket:");
		(void)close(fd); /* unusable */
		return;
	}
	b->listen_ev = event_new(b->base, fd, EV_READ | EV_PERSIST,
	    att_listener_cb, b);
	b->accept_timer = evtimer_new(b->base, att_accept_timer_cb, b);
	if (b->listen_ev == NULL || b->accept_timer == NULL)
		fatalx("attach: cannot watch the attach socket");
	b->listen_fd = fd;
	att_listener_on(b);
}

/*
 * A new pair (peer.c): every client that waits in the listener's backlog
 * now is accepted before the pair's ATT_HANDOVER_DONE, so it is among
 * those that get the logger's hand-over backlog (README "The broker on
 * demand"). Bounded: past the clients' bound each newcomer is closed.
 */
void
att_listener_take_waiting(struct att_broker *b)
{
	int rc = 1;

	if (b->listen_fd < 0 || b->closing)
		return;
	for (unsigned i = 0;
	     rc > 0 && i <= b->max_clients / ATT_ACCEPT_BATCH + 1; i++)
		rc = att_accept_batch(b);
	if (rc < 0) {
		diag_warn("attach: the attach socket failed:");
		att_listener_close(b);
	}
}

/* spec 7.6: the listener closes with the clients (the reaper unlinks). */
void
att_listener_close(struct att_broker *b)
{
	if (b->listen_fd < 0)
		return;
	event_free(b->listen_ev);
	event_free(b->accept_timer);
	b->listen_ev = b->accept_timer = NULL;
	b->listen_on = false;
	(void)close(b->listen_fd); /* pending connections read ECONNRESET */
	b->listen_fd = -1;
}
