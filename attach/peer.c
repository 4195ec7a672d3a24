/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/peer.c: the broker's end of the logger<->broker pair
 * (architecture.md "Channels"): says whether clients are attached, waits
 * for the logger's acknowledgement before a first accept, and fans OUTPUT
 * frames out to the clients. A bad message closes the pair and is
 * reported to the reaper; the broker never acts against the logger.
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
	b->peer_sent = -1;
	b->peer_unacked = 0;
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
 * A client may be accepted while one is attached (the logger forwards),
 * or once the logger acknowledged every ATT_CLIENTS{1} on this pair: from
 * then on it forwards each chunk it reads (spec 7.3: none is missed).
 */
bool
att_peer_accept_ok(const struct att_broker *b)
{
	if (b->nclients > 0)
		return true;
	return b->peer_fd >= 0 && b->peer_sent == 1 && b->peer_unacked == 0;
}

/* Sends what the logger should know, if it does not yet. */
static void
att_peer_flush(struct att_broker *b)
{
	struct chan_att_clients c = { .attached = (uint32_t)b->peer_want };

	if (b->peer_fd < 0 || b->peer_want == b->peer_sent)
		return;
	if (chan_send(b->peer_fd, CHAN_ATT_CLIENTS, &c, sizeof(c), -1) < 0) {
		if (errno != EAGAIN) {
			att_peer_close(b); /* the logger died: a pair comes */
			return;
		}
		/* a logger that does not read: retried when it does */
		if (event_add(b->peer_wev, NULL) < 0)
			att_peer_close(b);
		return;
	}
	(void)event_del(b->peer_wev); /* fails only on a bug */
	b->peer_sent = b->peer_want;
	if (b->peer_want == 1)
		b->peer_unacked++;
}

void
att_peer_clients(struct att_broker *b, bool attached)
{
	b->peer_want = attached ? 1 : 0;
	att_peer_flush(b);
}

static void
att_peer_write_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	att_peer_flush(arg);
}

static int
att_on_output(struct att_broker *b, const struct chan_msg *msg)
{
	/* chan_recv and chan_msg_check: a stream byte and 1..65536 bytes */
	att_clients_output(b, msg->u.raw, msg->len);
	return 0;
}

static int
att_on_ack(struct att_broker *b, const struct chan_msg *msg)
{
	struct chan_att_clients c;

	memcpy(&c, msg->u.raw, sizeof(c));
	/* an ACK{0}, or one nobody asked for, changes nothing */
	if (c.attached != 1 || b->peer_unacked == 0)
		return 0;
	if (--b->peer_unacked == 0 && att_peer_accept_ok(b))
		att_listener_resume(b);
	return 0;
}

typedef int (*att_peer_handler)(struct att_broker *, const struct chan_msg *);

/* What the broker accepts from the logger on the pair. */
static const att_peer_handler att_peer_handlers[CHAN_TYPE_MAX] = {
	[CHAN_OUTPUT] = att_on_output,
	[CHAN_ATT_CLIENTS_ACK] = att_on_ack,
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

/* At ATT_CLOSE: every frame sent before the logger's drain, queued. */
void
att_peer_drain(struct att_broker *b)
{
	for (int i = 0; i < ATT_DRAIN_MAX; i++)
		if (att_peer_read_one(b) == 0)
			return;
}

/* A new pair from the reaper replaces the old one, if any. */
void
att_peer_set(struct att_broker *b, int fd, uint32_t generation)
{
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
	/* architecture.md: first say whether clients are attached */
	att_peer_clients(b, b->nclients > 0);
	/* a connection that waited for a pair asks again */
	att_listener_resume(b);
}
