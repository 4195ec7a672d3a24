/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/client.c: attach clients. Owns every accepted client socket: a
 * copy goes to the logger, which sends it the container's output (README
 * "How the processes fit"); here its input is read (input.c) once the
 * logger has it, and the connection is finished (spec 7.4, 7.6). Never
 * writes to a client and never blocks.
 */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/diag.h"
#include "attach/broker.h"

/* Done writing, and no longer reading output or gone: forget it. */
void
att_client_check_done(struct att_client *c)
{
	struct pollfd p = { .fd = c->fd, .events = 0 };

	if (!c->in_done)
		return;
	if (c->out_done || c->b->closing) {
		att_client_close(c);
		return;
	}
	/*
	 * spec 7.4: output goes on until the client closes. Its read side
	 * reads EOF for ever now, so only a hang-up tells a close apart.
	 */
	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)) != 0)
		att_client_close(c);
}

static void
att_client_read_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct att_client *c = arg;

	if (c->in_done)
		att_client_check_done(c);
	else
		att_input_readable(c);
}

/*
 * The logger has its copy (CHAN_ATT_CLIENT_ACK): every chunk it reads from
 * now on reaches the client, so its input may go to the container (spec
 * 7.3: the echo of that input is never missed).
 */
void
att_client_attached(struct att_client *c)
{
	if (c->attached)
		return;
	c->attached = true;
	/* edge-triggered: an add reports input that came meanwhile */
	if (event_add(c->rev, NULL) < 0)
		fatalx("attach: cannot watch a client");
}

/*
 * spec 7.4: a send to the client failed in the logger (or it refused the
 * client): no more output, for good; the connection ends once the client
 * is done writing too.
 */
void
att_client_gone(struct att_client *c)
{
	if (c->out_done)
		return;
	c->out_done = true;
	(void)shutdown(c->fd, SHUT_WR); /* the peer may be gone already */
	att_client_check_done(c);
}

/* The client of an id the logger names; NULL if it left meanwhile. */
struct att_client *
att_client_find(struct att_broker *b, uint32_t id)
{
	struct att_client *c;

	TAILQ_FOREACH(c, &b->clients, entry)
		if (c->id == id)
			return c;
	return NULL;
}

void
att_client_new(struct att_broker *b, int fd)
{
	struct att_client *c = calloc(1, sizeof(*c));

	if (c == NULL)
		goto fail;
	c->b = b;
	c->fd = fd;
	c->id = ++b->next_id;
	if (c->id == 0)
		c->id = ++b->next_id; /* 0 is never an id on the pair */
	/* edge-triggered: input is read on our turn, not on every wake;
	 * added once the logger has the client */
	c->rev = event_new(b->base, fd, EV_READ | EV_ET | EV_PERSIST,
	    att_client_read_cb, c);
	if (c->rev == NULL)
		goto fail;
	TAILQ_INSERT_TAIL(&b->clients, c, entry);
	b->nclients++;
	att_peer_hand(b, c);
	return;
fail:
	diag_warnx("attach: out of memory for a client; closing it");
	free(c);
	(void)close(fd); /* never served */
}

void
att_client_close(struct att_client *c)
{
	struct att_broker *b = c->b;

	att_input_forget(c);
	event_free(c->rev);
	/* the client reads EOF once the logger's copy is closed too */
	(void)close(c->fd);
	TAILQ_REMOVE(&b->clients, c, entry);
	b->nclients--;
	free(c);
	if (b->closing) {
		b->closed_clients++;
		att_close_check(b);
	}
}

/*
 * spec 10.2 step 5, after the logger's drain (the logger gave each client
 * its last output and closed its copy): no more input; unread input is
 * discarded first (a close with it unread would make the client read
 * ECONNRESET before its last records), then each client is closed and
 * reads EOF.
 */
void
att_clients_shutdown(struct att_broker *b)
{
	struct att_client *c;

	while ((c = TAILQ_FIRST(&b->clients)) != NULL) {
		att_input_forget(c);
		(void)event_del(c->rev); /* fails only on a bug */
		att_input_discard(c);
		c->in_done = true;
		att_client_close(c);
	}
}
