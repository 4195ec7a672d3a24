/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/clients.c: the logger's end of the logger<->broker pair and the
 * attach clients the broker hands over on it (README "How the processes
 * fit"): each chunk goes to every client as records of LOG_RECORD_DATA
 * bytes (spec 7.3: at most 8192; logger.h says why fewer), one
 * non-blocking sendmmsg per client, before the chunk's log
 * write; each client's input goes to the container's stdin (input.c).
 * Never blocks and never waits: a client that is behind gets a bounded
 * queue, then loses its own records, counted and said once per episode
 * (spec 7.5, security 7). Never kills anyone: a bad message closes the
 * pair and the reaper is told.
 */
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/chan.h"
#include "common/diag.h"
#include "common/errtext.h"
#include "common/io.h"
#include "logger/logger.h"

static void peer_read_cb(evutil_socket_t, short, void *);
static void peer_write_cb(evutil_socket_t, short, void *);
static void client_read_cb(evutil_socket_t, short, void *);
static void client_write_cb(evutil_socket_t, short, void *);
static void close_timer_cb(evutil_socket_t, short, void *);
static void close_check(struct logger *);
static void client_drop_queue(struct log_client *);
static void client_chunk(struct log_client *, unsigned char *, const char *,
    size_t);

/*
 * Until the reaper sends a first pair (CHAN_PEER), and between a pair's
 * loss and the next, there is no broker and so no client: each chunk goes
 * to the log only (log_clients_chunk() finds the list empty).
 */
void
log_peer_init(struct logger *l)
{
	l->peer.fd = -1;
	l->listen_fd = -1;
	TAILQ_INIT(&l->clients);
}

/*
 * The attach listener (README "The broker on demand"): the logger never
 * accepts on it (its filter has no accept), it only asks whether a client
 * waits there. With no broker to accept it (none yet, or a dead one), the
 * output read from then on is kept for the hand-over: a client that
 * connected before `runc start` (podman) gets the container's first line
 * however late the broker comes.
 */
void
log_listener_set(struct logger *l, int fd)
{
	if (l->listen_fd >= 0)
		(void)close(l->listen_fd); /* a respawned reaper's resend */
	l->listen_fd = fd;
}

/* A client waits in the listener's backlog now. */
static bool
listener_waiting(const struct logger *l)
{
	struct pollfd p = { .fd = l->listen_fd, .events = POLLIN };

	return l->listen_fd >= 0 && poll(&p, 1, 0) > 0 &&
	    (p.revents & POLLIN) != 0;
}

/* Output bytes (stream bytes excluded) of `records` records of `bytes`. */
static uint64_t
output_bytes(size_t bytes, size_t records)
{
	return bytes > records ? (uint64_t)(bytes - records) : 0;
}

static void
client_wev(struct log_client *c, bool on)
{
	if (c->wev_on == on || c->wev == NULL)
		return;
	if (on && event_add(c->wev, NULL) < 0)
		fatalx("cannot watch an attach client");
	if (!on)
		(void)event_del(c->wev); /* fails only on a bug */
	c->wev_on = on;
}

/* A client's queue goes, and its size back to the total (security 7). */
static void
client_queue_free(struct log_client *c)
{
	c->l->queues_size -= c->q.size;
	log_queue_free(&c->q);
}

/* Its fd, events and queue go; the entry stays while a GONE is owed. */
static void
client_release(struct log_client *c)
{
	log_input_forget(c);
	log_client_sndbuf_release(c->l, c);
	if (c->rev != NULL)
		event_free(c->rev);
	if (c->wev != NULL)
		event_free(c->wev);
	c->rev = c->wev = NULL;
	c->wev_on = false;
	client_queue_free(c);
	if (c->fd >= 0) {
		(void)close(c->fd); /* our copy; the broker holds its own */
		c->l->nclients--;
	}
	c->fd = -1;
}

static void
client_free(struct log_client *c)
{
	client_release(c);
	TAILQ_REMOVE(&c->l->clients, c, entry);
	free(c);
}

/* The end of a drop episode: said once, with its count (spec 7.5). */
static void
client_settle(struct log_client *c, const char *how)
{
	if (c->episode_dropped > 0)
		diag_warnx("attach: client %" PRIu32 " %s; %" PRIu64 " bytes"
		    " of output were dropped for it", c->id, how,
		    c->episode_dropped);
	c->dropping = false;
	c->episode_dropped = 0;
}

/* What the logger owes the broker about a client. */
static int
client_owed(struct logger *l, struct log_client *c)
{
	struct chan_att_client a = { .id = c->id };

	if (c->gone_owed) {
		if (chan_send(l->peer.fd, CHAN_ATT_CLIENT_GONE, &a, sizeof(a),
		    -1) < 0)
			return -1;
		c->gone_owed = false;
	}
	return 0;
}

/*
 * Sends what is owed to the broker; a full pair (a broker that does not
 * read) keeps the rest for EV_WRITE, without ever waiting for it.
 */
static void
peer_flush(struct logger *l)
{
	struct log_client *c, *next;

	if (l->peer.fd < 0)
		return;
	for (c = TAILQ_FIRST(&l->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (client_owed(l, c) < 0) {
			if (errno == EAGAIN || errno == ENOBUFS) {
				if (event_add(l->peer.wev, NULL) < 0)
					fatalx("cannot watch the broker pair");
				return;
			}
			log_peer_close(l); /* the broker died: a new pair */
			return;
		}
		if (c->fd < 0)
			client_free(c); /* its GONE went out */
	}
	(void)event_del(l->peer.wev); /* fails only on a bug */
}

/*
 * Done with a client (spec 7.4: done writing, and its output ended; or
 * the close): our copy is closed and the broker told, which closes its
 * own: the connection ends.
 */
static void
client_finish(struct log_client *c)
{
	struct logger *l = c->l;

	client_release(c);
	c->gone_owed = true;
	/* sent from the pair's EV_WRITE: the caller may be walking the
	 * list, which peer_flush() prunes */
	if (l->peer.fd >= 0 && event_add(l->peer.wev, NULL) < 0)
		fatalx("cannot watch the broker pair");
	close_check(l);
}

/* It closed, or shut its read side: a hang-up (timeout 0). */
static bool
client_hung_up(const struct log_client *c)
{
	struct pollfd p = { .fd = c->fd, .events = 0 };

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLHUP | POLLERR)) != 0;
}

/*
 * Done writing (or the close), and no longer reading output or gone:
 * finished. spec 7.4: output goes on until the client closes; once its
 * read side is shut here it reads EOF for ever, so only a hang-up tells.
 */
void
log_client_check_done(struct log_client *c)
{
	if (c->fd < 0 || (!c->in_done && !c->l->clients_closed))
		return;
	if (!c->out_done && !client_hung_up(c))
		return;
	client_finish(c);
}

/*
 * Output to a client ends (spec 7.4: a send failed, or it hung up): its
 * write side is shut, as conmon does; its input is read on until it is
 * done writing, then it is finished.
 */
static void
client_end(struct log_client *c, const char *why)
{
	struct logger *l = c->l;

	l->att_dropped += output_bytes(c->q.bytes, c->q.records);
	client_settle(c, why);
	client_wev(c, false);
	client_queue_free(c);
	c->out_done = true;
	/* no more sends: its share of the send-buffer budget, and of the
	 * read size, goes now, not when its input ends too */
	log_client_sndbuf_release(l, c);
	(void)shutdown(c->fd, SHUT_WR); /* it may have left already */
	log_client_check_done(c);
}

/* All of them, quietly: the pair is gone or replaced (its broker holds
 * none of them any more, or hands them over again). */
static void
clients_drop_all(struct logger *l)
{
	struct log_client *c;

	while ((c = TAILQ_FIRST(&l->clients)) != NULL) {
		client_settle(c, "was dropped with the broker pair");
		client_free(c);
	}
}

/* spec 10.2: the drain is over once no client holds undelivered records. */
static void
close_check(struct logger *l)
{
	if (!l->clients_closing || l->nclients > 0)
		return;
	l->clients_closing = false;
	if (l->close_timer != NULL)
		(void)evtimer_del(l->close_timer); /* fails only on a bug */
	if (l->att_dropped > 0)
		diag_warnx("attach: %" PRIu64 " bytes of output were dropped"
		    " for slow clients", l->att_dropped);
	log_drain_done(l);
}

/*
 * Sends queued records, LOG_SEND_BATCH to a sendmmsg, until the socket is
 * full (EV_WRITE, edge-triggered, says when it has room again) or the
 * queue is empty; then the queue is freed. May end the client.
 */
static void
client_flush(struct log_client *c)
{
	struct logger *l = c->l;
	struct iovec iov[LOG_SEND_BATCH][2];
	struct mmsghdr mm[LOG_SEND_BATCH];
	int niov[LOG_SEND_BATCH];
	size_t k;
	int sent;

	while ((k = log_queue_peek_many(&c->q, iov, niov, LOG_SEND_BATCH)) >
	    0) {
		memset(mm, 0, sizeof(mm[0]) * k);
		for (size_t i = 0; i < k; i++) {
			mm[i].msg_hdr.msg_iov = iov[i];
			mm[i].msg_hdr.msg_iovlen = (size_t)niov[i];
		}
		/* SOCK_SEQPACKET: each record goes whole, or not at all */
		sent = io_sendmmsg(c->fd, mm, (unsigned)k,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent > 0) {
			while (sent-- > 0)
				log_queue_pop(&c->q);
			continue;
		}
		if (errno == EAGAIN) {
			client_wev(c, true); /* full: its reader makes room */
			return;
		}
		if (errno == ENOBUFS || errno == ENOMEM) {
			/* no memory for the records: no EV_WRITE would come */
			client_drop_queue(c);
			client_wev(c, false);
			return;
		}
		client_end(c, "could not be sent to");
		return;
	}
	client_wev(c, false);
	client_queue_free(c); /* caught up: no memory while keeping up */
	client_settle(c, "reads again");
	if (l->clients_closing) {
		client_free(c);
		close_check(l);
	}
}

static void
client_write_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct log_client *c = arg;

	if (c->fd >= 0 && !c->out_done)
		client_flush(c);
}

/*
 * Input (edge-triggered: it takes its turn, input.c), or EPOLLRDHUP: the
 * client shut its write side down (it may still read, spec 7.4) or is
 * gone. Only a hang-up ends its output: our copy must not keep a closed
 * connection open (security 8: connect/disconnect cycles); what it sent
 * before is still read.
 */
static void
client_read_cb(evutil_socket_t fd VIGIL_UNUSED, short what, void *arg)
{
	struct log_client *c = arg;

	if ((what & EV_CLOSED) != 0 && !c->out_done && client_hung_up(c))
		client_end(c, "hung up");
	if (c->fd < 0)
		return; /* finished */
	if (!c->in_done)
		log_input_readable(c);
	else
		log_client_check_done(c);
}

/* A record that will not go out: dropped, counted, said once (7.5). */
static void
client_dropped(struct log_client *c, size_t n)
{
	if (!c->dropping)
		diag_warnx("attach: client %" PRIu32 " does not read; its"
		    " output is dropped until it does", c->id);
	c->dropping = true;
	c->episode_dropped += n;
	c->l->att_dropped += n;
}

/* Its queued records, all of them (the kernel has no memory for them). */
static void
client_drop_queue(struct log_client *c)
{
	client_dropped(c, (size_t)output_bytes(c->q.bytes, c->q.records));
	log_queue_clear(&c->q);
}

/*
 * A queue for a client that fell behind: LOG_CLIENT_QUEUE, or what is left
 * of LOG_CLIENT_QUEUES_TOTAL, but never less than LOG_CLIENT_QUEUE_MIN.
 */
static void
client_queue_new(struct log_client *c)
{
	struct logger *l = c->l;
	size_t size = LOG_CLIENT_QUEUES_TOTAL - l->queues_size;

	if (size > LOG_CLIENT_QUEUE)
		size = LOG_CLIENT_QUEUE;
	if (size < LOG_CLIENT_QUEUE_MIN)
		return; /* the others hold the total: its records drop */
	if (log_queue_init(&c->q, size) < 0) {
		if (!c->dropping)
			diag_warn("attach: no queue for client %" PRIu32 ":",
			    c->id);
		return;
	}
	l->queues_size += size;
}

/* One record that did not go out now: queued whole, or dropped whole. */
static void
client_queue(struct log_client *c, unsigned char stream, const char *data,
    size_t n)
{
	static unsigned char rec[LOG_RECORD_MAX];

	rec[0] = stream;
	memcpy(rec + 1, data, n);
	if (c->q.buf == NULL)
		client_queue_new(c);
	if (c->q.buf != NULL && log_queue_push(&c->q, rec, n + 1))
		return;
	client_dropped(c, n);
}

/*
 * One chunk for one client (spec 7.3): sent at once from the read buffer
 * when nothing of it waits (no copy), the rest queued or dropped (spec
 * 7.5). Never blocks.
 */
static void
client_chunk(struct log_client *c, unsigned char *stream, const char *data,
    size_t len)
{
	struct iovec iov[LOG_CHUNK_RECORDS][2];
	struct mmsghdr mm[LOG_CHUNK_RECORDS];
	size_t k, off, piece;
	int sent = 0;

	for (k = 0, off = 0; off < len; k++, off += piece) {
		piece = len - off < LOG_RECORD_DATA ? len - off :
						      LOG_RECORD_DATA;
		iov[k][0] = (struct iovec){ .iov_base = stream, .iov_len = 1 };
		iov[k][1] = (struct iovec){
			.iov_base = (void *)(uintptr_t)(data + off),
			.iov_len = piece };
		memset(&mm[k], 0, sizeof(mm[k]));
		mm[k].msg_hdr.msg_iov = iov[k];
		mm[k].msg_hdr.msg_iovlen = 2;
	}
	if (c->q.records == 0 && !c->wev_on) {
		/* SOCK_SEQPACKET: each record goes whole, or not at all */
		sent = io_sendmmsg(c->fd, mm, (unsigned)k,
		    MSG_DONTWAIT | MSG_NOSIGNAL);
		if (sent < 0 && (errno == ENOBUFS || errno == ENOMEM)) {
			/* no memory for them: dropped, no EV_WRITE would come */
			client_dropped(c, len);
			return;
		}
		if (sent < 0 && errno != EAGAIN) {
			client_end(c, "could not be sent to");
			return;
		}
		if (sent < 0)
			sent = 0;
	}
	for (size_t i = (size_t)sent; i < k; i++)
		client_queue(c, *stream, iov[i][1].iov_base,
		    iov[i][1].iov_len);
	if (c->q.records > 0)
		client_wev(c, true); /* the socket is full: EV_WRITE */
}

/*
 * The hand-over backlog (README "The broker on demand"): from a new
 * pair's arrival (the reaper sends it before it forks a broker) or a
 * broker's death, until the broker says ATT_HANDOVER_DONE, every chunk
 * read is kept here instead of going to clients: the broker first accepts
 * every client that connected while it did not run and hands each over,
 * and those get the backlog, then live output (spec 7.3). Bounded like a
 * client's queue; allocated only for the hand-over.
 */
static void
backlog_start(struct logger *l)
{
	if (l->backlog_on || l->clients_closed)
		return;
	l->backlog_on = true;
	l->backlog_dropped = 0;
	if (log_queue_init(&l->backlog, LOG_BACKLOG) < 0)
		diag_warn("attach: no memory to keep the output read while"
		    " the broker starts:");
}

/* One record: kept whole; past the bound the oldest go, counted. */
static void
backlog_push(struct logger *l, unsigned char stream, const char *data,
    size_t n)
{
	static unsigned char rec[LOG_RECORD_MAX];
	struct iovec iov[2];
	int niov;

	if (l->backlog.buf == NULL) {
		l->backlog_dropped += n; /* no memory for it (warned) */
		return;
	}
	rec[0] = stream;
	memcpy(rec + 1, data, n);
	while (!log_queue_push(&l->backlog, rec, n + 1)) {
		size_t old = log_queue_peek(&l->backlog, iov, &niov);

		if (old == 0) { /* an empty ring holds any record: a bug */
			l->backlog_dropped += n;
			return;
		}
		l->backlog_dropped += old - 1;
		log_queue_pop(&l->backlog);
	}
}

/*
 * The hand-over is over (or given up): each client handed over meanwhile
 * gets the backlog, in order, before anything read later; then it goes.
 */
static void
backlog_deliver(struct logger *l)
{
	static unsigned char rec[LOG_RECORD_MAX];
	struct log_client *c, *next;
	struct iovec iov[2];
	size_t len;
	int niov;

	if (!l->backlog_on)
		return;
	if (l->nclients > 0 && l->backlog_dropped > 0) {
		diag_warnx("attach: %" PRIu64 " bytes of output read while the"
		    " broker started were dropped for its first clients",
		    l->backlog_dropped);
		l->att_dropped += l->backlog_dropped;
	}
	while (l->nclients > 0 &&
	    (len = log_queue_peek(&l->backlog, iov, &niov)) > 0) {
		memcpy(rec, iov[0].iov_base, iov[0].iov_len);
		if (niov == 2)
			memcpy(rec + iov[0].iov_len, iov[1].iov_base,
			    iov[1].iov_len);
		for (c = TAILQ_FIRST(&l->clients); c != NULL; c = next) {
			unsigned char s = rec[0];

			next = TAILQ_NEXT(c, entry);
			if (c->fd >= 0 && !c->out_done)
				client_chunk(c, &s, (const char *)rec + 1,
				    len - 1);
		}
		log_queue_pop(&l->backlog);
	}
	log_queue_free(&l->backlog);
	l->backlog_on = false;
	l->backlog_dropped = 0;
}

/* spec 7.3: every client gets every chunk read while it is attached. */
void
log_clients_chunk(struct logger *l, unsigned stream, const char *data,
    size_t len)
{
	unsigned char s = (unsigned char)stream;
	struct log_client *c, *next;

	if (l->clients_closed)
		return; /* spec 10.2: the clients had the drain's output */
	/* no broker accepts now: one is on its way for a waiting client */
	if (!l->backlog_on && l->peer.fd < 0 && listener_waiting(l))
		backlog_start(l);
	if (l->backlog_on) {
		/* every client held came during the hand-over: it gets the
		 * backlog first, at ATT_HANDOVER_DONE */
		for (size_t off = 0, piece; off < len; off += piece) {
			piece = len - off < LOG_RECORD_DATA ?
			    len - off : LOG_RECORD_DATA;
			backlog_push(l, s, data + off, piece);
		}
		return;
	}
	for (c = TAILQ_FIRST(&l->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->fd >= 0 && !c->out_done)
			client_chunk(c, &s, data, len);
	}
}

/* A client the broker accepted: ours to serve from now on, output and
 * input. */
static void
on_att_client(struct logger *l, uint32_t id, int fd)
{
	struct log_client *c = calloc(1, sizeof(*c));
	bool take = !l->clients_closed;

	if (c == NULL)
		fatalx("logger: out of memory for an attach client");
	if (take && l->nclients >= LOG_MAX_CLIENTS) {
		diag_warnx("attach: the broker handed over more than %d"
		    " clients; refusing client %" PRIu32, LOG_MAX_CLIENTS, id);
		take = false;
	} else if (take && io_set_nonblock(fd, true) < 0) {
		diag_warn("attach: cannot take client %" PRIu32 ":", id);
		take = false;
	}
	if (!take) {
		/* after the drain (spec 10.2), or refused: the broker
		 * finishes it as after a failed send */
		(void)close(fd); /* never served */
		c->fd = -1;
		c->gone_owed = true;
	} else {
		c->fd = fd;
		/* edge-triggered: its input is read on its turn (input.c);
		 * the add reports input that waits already */
		c->rev = event_new(l->base, fd,
		    EV_READ | EV_CLOSED | EV_ET | EV_PERSIST, client_read_cb, c);
		c->wev = event_new(l->base, fd, EV_WRITE | EV_ET | EV_PERSIST,
		    client_write_cb, c);
		if (c->rev == NULL || c->wev == NULL ||
		    event_add(c->rev, NULL) < 0)
			fatalx("cannot watch an attach client");
		l->nclients++;
	}
	c->l = l;
	c->id = id;
	if (c->fd >= 0)
		log_client_sndbuf(l, c);
	TAILQ_INSERT_TAIL(&l->clients, c, entry);
	if (c->gone_owed)
		peer_flush(l);
}

/*
 * A new pair from the reaper, at start or after either child was
 * respawned. Every client goes with the old pair: a new broker holds none
 * of them (they read EOF and reconnect), a broker that stays hands each
 * one over again. Until its ATT_HANDOVER_DONE the output read is kept
 * for the clients it hands over (the backlog; a new broker's pair comes
 * before its fork).
 */
void
log_peer_set(struct logger *l, uint32_t generation, int fd)
{
	struct log_peer *p = &l->peer;

	log_peer_close(l);
	if (io_set_nonblock(fd, true) < 0)
		fatal("broker pair");
	p->rev = event_new(l->base, fd, EV_READ | EV_PERSIST, peer_read_cb, l);
	p->wev = event_new(l->base, fd, EV_WRITE | EV_PERSIST, peer_write_cb,
	    l);
	/* a client handed over before a chunk is read gets that chunk */
	if (p->rev == NULL || p->wev == NULL ||
	    event_priority_set(p->rev, 0) < 0 || event_add(p->rev, NULL) < 0)
		fatalx("cannot watch the broker pair");
	p->fd = fd;
	p->generation = generation;
	p->handover = true;
	backlog_start(l);
}

/* Quietly: the broker died (EOF, EPIPE), or the pair is replaced. */
void
log_peer_close(struct logger *l)
{
	struct log_peer *p = &l->peer;

	clients_drop_all(l);
	if (p->rev != NULL)
		event_free(p->rev);
	if (p->wev != NULL)
		event_free(p->wev);
	p->rev = p->wev = NULL;
	if (p->fd >= 0)
		(void)close(p->fd); /* a socket: nothing to flush */
	p->fd = -1;
	p->handover = false; /* a drain waiting for it waits for the next
				pair's, bounded by close_timer */
	if (l->clients_closing)
		close_check(l);
}

/* style.md: a bad message from the peer closes the pair; the reaper acts. */
static void
peer_lost(struct logger *l)
{
	struct chan_peer lost = { .generation = l->peer.generation };

	log_peer_close(l);
	log_send(l, CHAN_PEER_LOST, &lost, sizeof(lost));
}

static void
peer_write_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	peer_flush(arg);
}

/*
 * The broker handed over every client it found waiting (once a pair): they
 * get the backlog now, live output from then on. A drain that waited for
 * this goes on.
 */
static void
handover_done(struct logger *l)
{
	l->peer.handover = false;
	backlog_deliver(l);
	if (l->close_deferred) {
		l->close_deferred = false;
		log_clients_close(l);
	}
}

/* One message: 1 handled, 0 nothing more now (EAGAIN, or no pair). */
static int
peer_read(struct logger *l)
{
	static struct chan_msg msg; /* chan.h: not on the stack */
	const char *why = NULL;
	int rc;

	if (l->peer.fd < 0)
		return 0;
	rc = chan_recv(l->peer.fd, CHAN_BROKER, &msg, &why);
	if (rc == 0 || (rc < 0 && errno == ECONNRESET)) {
		log_peer_close(l); /* the broker died: a new pair will come */
		backlog_start(l); /* for who connects while it respawns */
		return 0;
	}
	if (rc < 0) {
		if (errno == EAGAIN)
			return 0;
		diag_warnx("bad message from the broker: %s",
		    why != NULL && errno == EPROTO ? why : errtext(errno));
		peer_lost(l);
		return 0;
	}
	if (msg.type == CHAN_ATT_HANDOVER_DONE && l->peer.handover) {
		handover_done(l);
		return 1;
	}
	if (msg.type != CHAN_ATT_CLIENT) {
		if (msg.fd >= 0)
			(void)close(msg.fd); /* no other type has one */
		diag_warnx("unexpected %s from the broker",
		    chan_specs[msg.type].name);
		peer_lost(l);
		return 0;
	}
	if (chan_msg_check(msg.type, msg.u.raw, msg.len, &why) < 0) {
		(void)close(msg.fd); /* refused with its message */
		diag_warnx("bad message from the broker: %s", why);
		peer_lost(l);
		return 0;
	}
	on_att_client(l, msg.u.att_client.id, msg.fd);
	return 1;
}

static void
peer_read_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	for (int i = 0; i < LOG_PEER_BATCH; i++)
		if (peer_read(arg) == 0)
			return;
}

/* The grace is over: what is still queued is dropped and counted. */
static void
close_timer_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct logger *l = arg;
	struct log_client *c, *next;
	uint64_t lost = 0;
	unsigned n = 0;

	if (l->close_deferred) {
		diag_warnx("attach: the broker did not finish handing its"
		    " clients over within %d ms of the drain",
		    LOG_CLOSE_GRACE_MS);
		handover_done(l); /* those it handed over get the backlog */
		return;
	}
	for (c = TAILQ_FIRST(&l->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->fd < 0)
			continue;
		lost += output_bytes(c->q.bytes, c->q.records);
		n++;
		client_free(c);
	}
	l->att_dropped += lost;
	if (n > 0)
		diag_warnx("attach: %u clients did not read their last %" PRIu64
		    " bytes of output", n, lost);
	close_check(l);
}

/*
 * spec 10.2 steps 2 and 5, after the final drain: each client takes what
 * is queued for it, the slow ones LOG_CLOSE_GRACE_MS in all, and our copy
 * of it is closed (it reads EOF once the broker closes its copy too).
 * log_drain_done() follows, once.
 */
void
log_clients_close(struct logger *l)
{
	struct timeval tv = { .tv_sec = LOG_CLOSE_GRACE_MS / 1000,
		.tv_usec = (LOG_CLOSE_GRACE_MS % 1000) * 1000 };
	struct log_client *c, *next;

	if (l->backlog_on && (l->peer.handover || l->peer.fd < 0)) {
		/* a broker is coming (a client waits in the listener, or it
		 * respawns) or handing over clients that connected before it
		 * ran: they get the drained output first (spec 7.3); bounded
		 * by the same grace */
		l->close_deferred = true;
		if (l->close_timer == NULL &&
		    (l->close_timer = evtimer_new(l->base, close_timer_cb,
			 l)) == NULL)
			fatalx("logger: cannot bound the hand-over's wait");
		if (evtimer_add(l->close_timer, &tv) < 0)
			fatalx("logger: cannot bound the hand-over's wait");
		return;
	}
	l->clients_closed = true;
	l->clients_closing = true;
	for (c = TAILQ_FIRST(&l->clients); c != NULL; c = next) {
		next = TAILQ_NEXT(c, entry);
		if (c->fd >= 0 && c->q.records == 0)
			client_free(c);
	}
	if (l->nclients > 0) {
		if (l->close_timer == NULL &&
		    (l->close_timer = evtimer_new(l->base, close_timer_cb,
			 l)) == NULL)
			fatalx("logger: cannot bound the clients' last output");
		if (evtimer_add(l->close_timer, &tv) < 0)
			fatalx("logger: cannot bound the clients' last output");
	}
	close_check(l);
}
