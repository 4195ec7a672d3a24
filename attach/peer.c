/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/peer.c: the broker's end of the logger<->broker pair (README "How
 * the processes fit"): hands the logger a copy of every client socket,
 * again on each new pair, and hears which clients it is done with. A bad message closes the pair and is reported to the
 * reaper; the broker never acts against the logger.
 */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/chan.h"
#include "common/diag.h"
#include "common/io.h"
#include "attach/broker.h"

static void
att_peer_close(struct att_broker *b)
{
	if (b->peer_fd < 0)
		return;
	event_free(b->peer_ev);
	event_free(b->peer_wev);
	b->peer_ev = b->peer_wev = NULL;
	(void)close(b->peer_fd); /* the logger sees EOF; the reaper renews */
	b->peer_fd = -1;
	b->done_owed = false; /* owed on the next pair again */
}

/* The logger sent something bad: drop the pair, ask for a new one. */
static void
att_peer_lost(struct att_broker *b, const char *why)
{
	diag_warnx("attach: bad message from the logger: %s", why);
	b->lost_generation = b->generation;
	att_peer_close(b);
	att_post(b, ATT_POST_PEER_LOST);
}

/*
 * One message to the logger: true once sent. A full pair waits for
 * EV_WRITE; any other failure means the logger died and closes the pair.
 */
static bool
att_peer_send(struct att_broker *b, unsigned type, const void *p,
    size_t len, int fd)
{
	if (chan_send(b->peer_fd, type, p, len, fd) == 0)
		return true;
	if (errno != EAGAIN && errno != ENOBUFS)
		att_peer_close(b); /* the logger died */
	else if (event_add(b->peer_wev, NULL) < 0)
		fatalx("attach: cannot watch the logger pair");
	return false;
}

/*
 * Hands over every client the logger does not have yet, in order of
 * accept. A logger that does not read keeps the rest for EV_WRITE: those
 * clients wait, their input unread (a stopped logger stops no one else).
 */
static void
att_peer_flush(struct att_broker *b)
{
	struct att_client *c;

	if (b->peer_fd < 0)
		return;
	TAILQ_FOREACH(c, &b->clients, entry) {
		struct chan_att_client a = { .id = c->id };

		if (!c->hand_owed)
			continue;
		if (!att_peer_send(b, CHAN_ATT_CLIENT, &a, sizeof(a), c->fd))
			return;
		c->hand_owed = false;
	}
	/* every client found waiting went first (att_peer_set) */
	if (b->done_owed) {
		if (!att_peer_send(b, CHAN_ATT_HANDOVER_DONE, NULL, 0, -1))
			return;
		b->done_owed = false;
	}
	(void)event_del(b->peer_wev); /* fails only on a bug */
}

/* A client just accepted: the logger gets its copy (spec 7.3). */
void
att_peer_hand(struct att_broker *b, struct att_client *c)
{
	c->hand_owed = true;
	att_peer_flush(b);
}

static void
att_peer_write_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	att_peer_flush(arg);
}

/*
 * spec 7.4: the logger is done with the client (done writing, and its
 * output ended), or refused it: the connection ends. A client not handed
 * over on this pair yet is not this logger's to end.
 */
static int
att_on_gone(struct att_broker *b, const struct chan_msg *msg)
{
	struct att_client *c = att_client_find(b, msg->u.att_client.id);

	/* a client closed meanwhile (by the close) is no error */
	if (c != NULL && !c->hand_owed)
		att_client_close(c);
	return 0;
}

typedef int (*att_peer_handler)(struct att_broker *, const struct chan_msg *);

/* What the broker accepts from the logger on the pair. */
static const att_peer_handler att_peer_handlers[CHAN_TYPE_MAX] = {
	[CHAN_ATT_CLIENT_GONE] = att_on_gone,
};

/* One message: 1 handled, 0 nothing more now (EAGAIN, or no pair). */
static int
att_peer_read_one(struct att_broker *b)
{
	static struct chan_msg msg; /* chan.h: not on the stack */
	const char *why = NULL;
	char what[64];
	int rc;

	if (b->peer_fd < 0)
		return 0;
	rc = chan_recv(b->peer_fd, CHAN_LOGGER, &msg, &why);
	if (rc == 0) {
		att_peer_close(b); /* the logger is gone: the reaper knows */
		return 0;
	}
	if (rc < 0) {
		if (errno == EAGAIN)
			return 0;
		/* it died with our messages unread; what it sent follows */
		if (errno == ECONNRESET)
			return 1;
		if (errno == EPROTO)
			att_peer_lost(b, why);
		else
			att_peer_close(b);
		return 0;
	}
	/* no type the logger may send carries an fd (chan_recv checked) */
	/* security 33: field values, before any handler sees them */
	if (chan_msg_check(msg.type, msg.u.raw, msg.len, &why) < 0) {
		att_peer_lost(b, why);
		return 0;
	}
	if (att_peer_handlers[msg.type] == NULL ||
	    att_peer_handlers[msg.type](b, &msg) < 0) {
		(void)snprintf(what, sizeof(what), "unexpected %s",
		    chan_specs[msg.type].name);
		att_peer_lost(b, what);
		return 0;
	}
	return 1;
}

static void
att_peer_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct att_broker *b = arg;

	for (int i = 0; i < ATT_PEER_BATCH; i++)
		if (att_peer_read_one(b) == 0)
			return;
}

/*
 * A new pair from the reaper replaces the old one, if any. The logger at
 * its other end holds no client (a new logger, or one that dropped them
 * with the old pair): each is handed over again, in order, and the new
 * logger reads on from what is left in its socket. Every client waiting in
 * the listener (one that connected before this broker existed, or while
 * it was starting) is accepted first; ATT_HANDOVER_DONE follows them, and
 * the logger gives them what it read since it got its end before live
 * output (spec 7.3, README "The broker on demand").
 */
void
att_peer_set(struct att_broker *b, int fd, uint32_t generation)
{
	struct att_client *c;

	att_peer_close(b);
	if (io_set_nonblock(fd, true) < 0) {
		diag_warn("attach: logger pair:");
		(void)close(fd); /* unusable; the logger sees EOF */
		return;
	}
	b->peer_ev = event_new(b->base, fd, EV_READ | EV_PERSIST, att_peer_cb,
	    b);
	b->peer_wev = event_new(b->base, fd, EV_WRITE | EV_PERSIST,
	    att_peer_write_cb, b);
	if (b->peer_ev == NULL || b->peer_wev == NULL ||
	    event_add(b->peer_ev, NULL) < 0)
		fatalx("attach: cannot watch the logger pair");
	b->peer_fd = fd;
	b->generation = generation;
	TAILQ_FOREACH(c, &b->clients, entry)
		c->hand_owed = true;
	att_listener_take_waiting(b); /* each one handed over as accepted */
	b->done_owed = true; /* after them all */
	att_peer_flush(b);
}
