/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/client.c: attach clients. Owns every accepted client socket: a
 * copy goes to the logger, which sends it the container's output and
 * writes its input to the container's stdin (README "How the processes
 * fit"). Here a client is only kept, for a new logger to get again, until
 * the logger is done with it (CHAN_ATT_CLIENT_GONE) or the close (spec
 * 10.2). Never writes to a client and never blocks.
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/diag.h"
#include "attach/broker.h"

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

	if (c == NULL) {
		diag_warnx("attach: out of memory for a client; closing it");
		(void)close(fd); /* never served */
		return;
	}
	c->b = b;
	c->fd = fd;
	c->id = ++b->next_id;
	if (c->id == 0)
		c->id = ++b->next_id; /* 0 is never an id on the pair */
	TAILQ_INSERT_TAIL(&b->clients, c, entry);
	b->nclients++;
	att_peer_hand(b, c);
}

/*
 * Unread input is read and dropped first, a bounded amount (a close with
 * input unread would make the client read ECONNRESET before its last
 * records); the client reads EOF once the logger's copy is closed too.
 */
void
att_client_close(struct att_client *c)
{
	struct att_broker *b = c->b;
	unsigned char byte;
	struct iovec iov = { .iov_base = &byte, .iov_len = sizeof(byte) };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };

	(void)shutdown(c->fd, SHUT_RD); /* no more of it; may have left */
	/* SOCK_SEQPACKET: a read of one byte takes the whole record;
	 * ECONNRESET only says the client left with output unread */
	for (int i = 0; i < ATT_DISCARD_MAX; i++) {
		ssize_t n = recvmsg(c->fd, &mh, MSG_DONTWAIT);

		if (n == 0 || (n < 0 && errno != ECONNRESET))
			break;
	}
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
 * its last output and closed its copy): each client is closed and reads
 * EOF.
 */
void
att_clients_shutdown(struct att_broker *b)
{
	struct att_client *c;

	while ((c = TAILQ_FIRST(&b->clients)) != NULL)
		att_client_close(c);
}
