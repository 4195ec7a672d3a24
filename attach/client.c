/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/client.c: attach clients. Owns every accepted client socket and
 * its fixed output queue (security 7). Never blocks: a client that does
 * not read loses its own records, counted and said once per episode, and
 * never slows the logger or another client (spec 7.5).
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

/* Output bytes (stream bytes excluded) of `records` records of `bytes`. */
static uint64_t
att_output_bytes(size_t bytes, size_t records)
{
	return bytes > records ? (uint64_t)(bytes - records) : 0;
}

static void
att_client_wev(struct att_client *c, bool on)
{
	if (c->wev_on == on)
		return;
	if (on && event_add(c->wev, NULL) < 0)
		fatalx("attach: cannot watch a client");
	if (!on)
		(void)event_del(c->wev); /* fails only on a bug */
	c->wev_on = on;
}

/* spec 7.4: a failed send ends output to that client, for good. */
static void
att_client_out_fail(struct att_client *c)
{
	c->out_done = true;
	att_queue_clear(&c->q); /* undeliverable, not dropped for slowness */
	att_client_wev(c, false);
	(void)shutdown(c->fd, SHUT_WR); /* the peer may be gone already */
}

/* The queue is empty: a drop episode ends; a finished client may go. */
static void
att_client_idle(struct att_client *c)
{
	att_client_wev(c, false);
	if (c->dropping && !c->out_done)
		diag_warnx("attach: client %u reads again; %llu bytes of"
		    " output were dropped for it", c->id,
		    (unsigned long long)c->episode_dropped);
	c->dropping = false;
	c->episode_dropped = 0;
	/* a hang-up of a client that still reads shows on its read event */
	if (c->out_done || c->b->closing)
		att_client_check_done(c);
}

/*
 * Sends queued records, ATT_SEND_BATCH to a sendmmsg, until the socket is
 * full (then EV_WRITE, edge-triggered, says when it has room) or the
 * queue is empty. Never blocks. May close the client: the caller must not
 * touch it afterwards.
 */
static void
att_client_flush(struct att_client *c)
{
	struct iovec iov[ATT_SEND_BATCH][2];
	struct mmsghdr mm[ATT_SEND_BATCH];
	int niov[ATT_SEND_BATCH];
	size_t k;
	int sent;

	while ((k = att_queue_peek_many(&c->q, iov, niov, ATT_SEND_BATCH)) >
	    0) {
		memset(mm, 0, sizeof(mm[0]) * k);
		for (size_t i = 0; i < k; i++) {
			mm[i].msg_hdr.msg_iov = iov[i];
			mm[i].msg_hdr.msg_iovlen = (size_t)niov[i];
		}
		/* SOCK_SEQPACKET: each record goes whole, or not at all */
		sent = sendmmsg(c->fd, mm, (unsigned)k,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent > 0) {
			while (sent-- > 0)
				att_queue_pop(&c->q);
			continue;
		}
		if (errno == EAGAIN) {
			att_client_wev(c, true);
			return;
		}
		att_client_out_fail(c);
		break;
	}
	att_client_idle(c);
}

/* A frame's records (spec 7.3) to a client whose queue is empty. */
static size_t
att_client_send_now(struct att_client *c, unsigned char *stream,
    const unsigned char *data, size_t n)
{
	struct iovec iov[ATT_FRAME_RECORDS][2];
	struct mmsghdr mm[ATT_FRAME_RECORDS];
	size_t k, off, piece;
	int sent;

	memset(mm, 0, sizeof(mm));
	for (k = 0, off = 0; off < n && k < ATT_FRAME_RECORDS; k++) {
		piece = n - off < ATT_RECORD_DATA_MAX ? n - off :
							ATT_RECORD_DATA_MAX;
		iov[k][0] = (struct iovec){ .iov_base = stream, .iov_len = 1 };
		iov[k][1] = (struct iovec){
			.iov_base = (void *)(uintptr_t)(data + off),
			.iov_len = piece };
		mm[k].msg_hdr.msg_iov = iov[k];
		mm[k].msg_hdr.msg_iovlen = 2;
		off += piece;
	}
	/* SOCK_SEQPACKET: each record goes whole, or not at all */
	sent = sendmmsg(c->fd, mm, (unsigned)k, MSG_DONTWAIT | MSG_NOSIGNAL);
	if (sent < 0) {
		if (errno != EAGAIN)
			att_client_out_fail(c);
		return 0;
	}
	for (k = 0, off = 0; k < (size_t)sent; k++)
		off += iov[k][1].iov_len;
	return off;
}

/*
 * One output frame for one client, as records of at most
 * ATT_RECORD_DATA_MAX bytes: sent at once when nothing waits before them
 * (no copy into the ring), the rest queued whole or dropped whole
 * (security 7). May close the client: the caller must not touch it
 * afterwards.
 */
static void
att_client_frame(struct att_client *c, unsigned char stream,
    const unsigned char *data, size_t n)
{
	static unsigned char rec[ATT_RECORD_MAX];
	size_t off = 0, piece;

	if (c->out_done)
		return;
	if (c->q.records == 0 && !c->wev_on) {
		off = att_client_send_now(c, &stream, data, n);
		if (off == n || c->out_done) {
			att_client_idle(c);
			return;
		}
	}
	for (; off < n; off += piece) {
		piece = n - off < ATT_RECORD_DATA_MAX ? n - off :
							ATT_RECORD_DATA_MAX;
		rec[0] = stream;
		memcpy(rec + 1, data + off, piece);
		if (att_queue_push(&c->q, rec, piece + 1))
			continue;
		if (!c->dropping)
			diag_warnx("attach: client %u does not read; its"
			    " output is dropped until it does", c->id);
		c->dropping = true;
		c->episode_dropped += piece;
		c->b->dropped += piece;
	}
	if (c->q.records > 0)
		att_client_wev(c, true); /* the socket is full: EV_WRITE */
}

/* spec 7.3: every client gets every record, as it came from the logger. */
void
att_clients_output(struct att_broker *b, const void *frame, size_t len)
{
	const unsigned char *f = frame;
	struct att_client *c, *next;

	for (c = TAILQ_FIRST(&b->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		att_client_frame(c, f[0], f + 1, len - 1);
	}
}

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

static void
att_client_write_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	att_client_flush(arg);
}

void
att_client_new(struct att_broker *b, int fd)
{
	struct att_client *c = calloc(1, sizeof(*c));

	if (c == NULL || att_queue_init(&c->q, ATT_CLIENT_QUEUE) < 0)
		goto fail;
	c->b = b;
	c->fd = fd;
	c->id = ++b->next_id;
	/* edge-triggered: input is read on our turn, not on every wake */
	c->rev = event_new(b->base, fd, EV_READ | EV_ET | EV_PERSIST,
	    att_client_read_cb, c);
	c->wev = event_new(b->base, fd, EV_WRITE | EV_ET | EV_PERSIST,
	    att_client_write_cb, c);
	if (c->rev == NULL || c->wev == NULL || event_add(c->rev, NULL) < 0)
		goto fail;
	TAILQ_INSERT_TAIL(&b->clients, c, entry);
	b->nclients++;
	return;
fail:
	diag_warnx("attach: out of memory for a client; closing it");
	if (c != NULL) {
		if (c->rev != NULL)
			event_free(c->rev);
		if (c->wev != NULL)
			event_free(c->wev);
		att_queue_free(&c->q);
		free(c);
	}
	(void)close(fd); /* never served */
}

void
att_client_close(struct att_client *c)
{
	struct att_broker *b = c->b;

	att_input_forget(c);
	if (c->dropping)
		diag_warnx("attach: client %u left; %llu bytes of output"
		    " were dropped for it", c->id,
		    (unsigned long long)c->episode_dropped);
	event_free(c->rev);
	event_free(c->wev);
	(void)close(c->fd); /* the client reads EOF (spec 7.6) */
	att_queue_free(&c->q);
	TAILQ_REMOVE(&b->clients, c, entry);
	b->nclients--;
	free(c);
	if (b->closing) {
		b->closed_clients++;
		att_close_check(b);
	} else if (b->nclients == 0) {
		att_peer_clients(b, false); /* architecture.md: none left */
	}
}

/*
 * spec 10.2 step 5: no more input; unread input is discarded first (a
 * close with it unread would make the client read ECONNRESET before its
 * last records); then each client takes what it can of its queue now.
 */
void
att_clients_shutdown(struct att_broker *b)
{
	struct att_client *c, *next;

	for (c = TAILQ_FIRST(&b->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		att_input_forget(c);
		(void)event_del(c->rev); /* fails only on a bug */
		att_input_discard(c);
		c->in_done = true;
		if (c->out_done || c->q.records == 0)
			att_client_close(c);
		else
			att_client_flush(c);
	}
}

/* The grace is over: what is still queued is dropped and counted. */
void
att_clients_abandon(struct att_broker *b)
{
	struct att_client *c;
	uint64_t lost = 0;
	unsigned n = 0;

	/* counted and said before the last close reports the total */
	TAILQ_FOREACH(c, &b->clients, entry) {
		uint64_t left = att_output_bytes(c->q.bytes, c->q.records);

		b->dropped += left;
		lost += left;
		n++;
	}
	if (n > 0)
		diag_warnx("attach: %u clients did not read their last %llu"
		    " bytes of output", n, (unsigned long long)lost);
	while ((c = TAILQ_FIRST(&b->clients)) != NULL)
		att_client_close(c);
}
