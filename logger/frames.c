/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/frames.c: the logger's end of the logger<->broker pair
 * (architecture.md "Channels"): output frames out, CHAN_ATT_CLIENTS in.
 * Never blocks: a chunk whose frame does not fit waits for room, with the
 * sources not read (spec 7.3: a client that keeps up misses nothing), but
 * never longer than LOG_PEER_STALL_MS without progress; then the frames
 * without room are dropped and counted (security 9). Never kills anyone:
 * a bad message closes the pair and the reaper is told (CHAN_PEER_LOST),
 * which makes a new one.
 */
#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/chan.h"
#include "common/diag.h"
#include "common/io.h"
#include "logger/logger.h"

static void peer_read_cb(evutil_socket_t, short, void *);
static void peer_write_cb(evutil_socket_t, short, void *);
static void stall_cb(evutil_socket_t, short, void *);

static const struct timeval stall_tv = {
	.tv_sec = LOG_PEER_STALL_MS / 1000,
	.tv_usec = (LOG_PEER_STALL_MS % 1000) * 1000,
};

/* A send that found no room: the pair is full, or memory is short. */
static bool
no_room(int err)
{
	return err == EAGAIN || err == ENOBUFS || err == ENOMEM;
}

void
log_peer_init(struct logger *l)
{
	l->peer.fd = -1;
}

/* The chunk's frames not sent: lost (`counted`), or wanted by nobody. */
static void
pend_drop(struct logger *l, bool counted)
{
	struct log_peer *p = &l->peer;

	if (counted) {
		p->dropping += p->pend_len;
		p->dropped += p->pend_len;
	}
	p->pend_len = 0;
	if (p->stall != NULL)
		(void)evtimer_del(p->stall); /* fails only on a bug */
}

/*
 * The chunk's frames are out, dropped or moot: the sources are read again.
 * Called last by each event of the pair, never from within the reader.
 */
static void
unblock(struct logger *l)
{
	if (!l->peer.blocked || l->peer.pend_len > 0)
		return;
	l->peer.blocked = false;
	log_resume(l);
}

/*
 * A new pair from the reaper, at start or after either child was
 * respawned. Until the broker says whether clients are attached the
 * logger forwards (architecture.md "Channels"): a client the new broker
 * still holds misses nothing meanwhile.
 */
void
log_peer_set(struct logger *l, uint32_t generation, int fd)
{
	struct log_peer *p = &l->peer;

	log_peer_close(l);
	if (io_set_nonblock(fd, true) < 0)
		fatal("broker pair");
	p->rev = event_new(l->base, fd, EV_READ | EV_PERSIST, peer_read_cb, l);
	p->wev = event_new(l->base, fd, EV_WRITE, peer_write_cb, l);
	p->stall = evtimer_new(l->base, stall_cb, l);
	if (p->rev == NULL || p->wev == NULL || p->stall == NULL ||
	    event_add(p->rev, NULL) < 0)
		fatalx("cannot watch the broker pair");
	p->fd = fd;
	p->generation = generation;
	p->forwarding = true;
	p->ack_pending = false;
	p->stalled = false; /* a new broker is waited for again */
	unblock(l);
}

/* Quietly: the broker died (EOF, EPIPE), or the pair is replaced. */
void
log_peer_close(struct logger *l)
{
	struct log_peer *p = &l->peer;

	pend_drop(l, false); /* its clients went with it, as before */
	log_frames_settle(l);
	if (p->rev != NULL)
		event_free(p->rev);
	if (p->wev != NULL)
		event_free(p->wev);
	if (p->stall != NULL)
		event_free(p->stall);
	p->rev = p->wev = p->stall = NULL;
	if (p->fd >= 0)
		(void)close(p->fd); /* a socket: nothing to flush */
	p->fd = -1;
	p->forwarding = false;
	p->ack_pending = false;
}

/* style.md: a bad message from the peer closes the pair; the reaper acts. */
static void
peer_lost(struct logger *l)
{
	struct chan_peer lost = { .generation = l->peer.generation };

	log_peer_close(l);
	log_send(l, CHAN_PEER_LOST, &lost, sizeof(lost));
}

/* A send failed for a reason other than room. */
static void
peer_send_failed(struct logger *l)
{
	if (errno == EPIPE || errno == ECONNRESET) {
		log_peer_close(l); /* the broker died: a new pair will come */
		return;
	}
	diag_warn("cannot send to the broker:");
	peer_lost(l);
}

/*
 * Sends the pending ACK, or waits for room with the broker's next
 * message unread, so at most one ACK is ever owed (spec 7.3: the broker
 * accepts a first client only once the logger has acknowledged).
 */
static void
ack_send(struct logger *l)
{
	struct log_peer *p = &l->peer;
	struct chan_att_clients a = { .attached = p->ack_attached };

	if (chan_send(p->fd, CHAN_ATT_CLIENTS_ACK, &a, sizeof(a), -1) == 0) {
		if (p->ack_pending && event_add(p->rev, NULL) < 0)
			fatalx("cannot watch the broker pair");
		p->ack_pending = false;
		return;
	}
	if (!no_room(errno)) {
		peer_send_failed(l);
		return;
	}
	if (!p->ack_pending)
		(void)event_del(p->rev); /* fails only on a bug */
	p->ack_pending = true;
	if (event_add(p->wev, NULL) < 0)
		fatalx("cannot watch the broker pair");
}

static void
peer_write_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct logger *l = arg;

	if (l->peer.fd >= 0 && l->peer.ack_pending)
		ack_send(l);
	if (l->peer.pend_len > 0)
		(void)log_frames_flush(l);
	unblock(l);
}

/*
 * security 9: the broker took no frame for LOG_PEER_STALL_MS, so it is
 * stopped, dead or far behind: the rest of the chunk is dropped, and so is
 * every frame without room until one fits again, without waiting.
 */
static void
stall_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct logger *l = arg;

	pend_drop(l, true);
	l->peer.stalled = true;
	unblock(l);
}

/* Frames from here on while clients are attached; none while not. */
static void
on_att_clients(struct logger *l, const struct chan_msg *msg)
{
	struct log_peer *p = &l->peer;
	struct chan_att_clients c;

	memcpy(&c, msg->u.raw, sizeof(c));
	p->forwarding = c.attached != 0;
	if (!p->forwarding) {
		pend_drop(l, false); /* no client to miss them */
		p->stalled = false;
		log_frames_settle(l);
	}
	p->ack_attached = c.attached;
	ack_send(l);
}

static void
peer_read(struct logger *l, int fd)
{
	static struct chan_msg msg; /* chan.h: not on the stack */
	const char *why = NULL;
	int rc = chan_recv(fd, CHAN_BROKER, &msg, &why);

	if (rc == 0 || (rc < 0 && errno == ECONNRESET)) {
		log_peer_close(l); /* the broker died: a new pair will come */
		return;
	}
	if (rc < 0) {
		if (errno == EAGAIN)
			return;
		diag_warnx("bad message from the broker: %s",
		    why != NULL && errno == EPROTO ? why : strerror(errno));
		peer_lost(l);
		return;
	}
	if (msg.fd >= 0)
		(void)close(msg.fd); /* no type the broker sends has one */
	if (msg.type != CHAN_ATT_CLIENTS) {
		diag_warnx("unexpected %s from the broker",
		    chan_specs[msg.type].name);
		peer_lost(l);
		return;
	}
	if (chan_msg_check(msg.type, msg.u.raw, msg.len, &why) < 0) {
		diag_warnx("bad message from the broker: %s", why);
		peer_lost(l);
		return;
	}
	on_att_clients(l, &msg);
}

static void
peer_read_cb(evutil_socket_t fd, short what VIGIL_UNUSED, void *arg)
{
	struct logger *l = arg;

	peer_read(l, fd);
	unblock(l);
}

/* The end of a drop episode: said once, with its count (spec 7.5). */
void
log_frames_settle(struct logger *l)
{
	struct log_peer *p = &l->peer;

	if (p->dropping == 0)
		return;
	diag_warnx("attach output: %" PRIu64 " bytes dropped,"
	    " the broker did not keep up", p->dropping);
	p->dropping = 0;
}

/* The next n bytes of the chunk behind its stream byte, read in place. */
static int
frame_send(struct log_peer *p, size_t n)
{
	unsigned char stream = (unsigned char)p->pend_stream;

	return chan_send2(p->fd, CHAN_OUTPUT, &stream, 1, p->pend, n);
}

/*
 * Sends the queued chunk's frames of at most CHAN_OUTPUT_DATA_MAX bytes
 * (one per chunk: the broker cuts the attach records, spec 7.3), in
 * order. Returns false when a frame found no room: the rest
 * waits for EV_WRITE and log_resume() follows, and for LOG_PEER_STALL_MS from the last progress at
 * most (stall_cb); after a stall frames without room are dropped at once.
 */
bool
log_frames_flush(struct logger *l)
{
	struct log_peer *p = &l->peer;
	bool progress = false;
	size_t n;

	while (p->pend_len > 0 && p->fd >= 0 && p->forwarding) {
		n = p->pend_len < CHAN_OUTPUT_DATA_MAX ? p->pend_len :
							 CHAN_OUTPUT_DATA_MAX;
		if (frame_send(p, n) == 0) {
			progress = true;
			p->stalled = false;
			log_frames_settle(l);
		} else if (!no_room(errno)) {
			peer_send_failed(l); /* the pair is closed: no more */
			continue;
		} else if (p->stalled) {
			p->dropping += n;
			p->dropped += n;
		} else {
			/* the stall's clock restarts at each progress */
			if (event_add(p->wev, NULL) < 0 ||
			    ((progress || !evtimer_pending(p->stall, NULL)) &&
				evtimer_add(p->stall, &stall_tv) < 0))
				fatalx("cannot watch the broker pair");
			p->blocked = true;
			return false;
		}
		p->pend += n;
		p->pend_len -= n;
	}
	pend_drop(l, false); /* all sent; or no pair or client now */
	return true;
}

/*
 * Before the chunk's records are written: the frames that fit the pair
 * now, so an attached client sees the output one log write sooner (bench
 * figure 4, stdin -> echo). Never waits and never drops: a frame without
 * room, or any failure, is left to log_frames_flush() after the write
 * (security 9: the log is never delayed by frames).
 */
void
log_frames_try(struct logger *l)
{
	struct log_peer *p = &l->peer;
	size_t n;

	while (p->pend_len > 0 && p->fd >= 0 && p->forwarding) {
		n = p->pend_len < CHAN_OUTPUT_DATA_MAX ? p->pend_len :
							 CHAN_OUTPUT_DATA_MAX;
		if (frame_send(p, n) < 0)
			return;
		p->stalled = false;
		log_frames_settle(l);
		p->pend += n;
		p->pend_len -= n;
	}
}

/*
 * One chunk as it was read, to be sent by log_frames_flush() once its
 * records are written: the log first, never delayed by frames (security
 * 9). `data` stays valid and unchanged until the flush returns true or
 * log_resume() is called.
 */
void
log_frames_queue(struct logger *l, unsigned stream, const char *data,
    size_t len)
{
	struct log_peer *p = &l->peer;

	if (p->fd < 0 || !p->forwarding)
		return;
	p->pend = data;
	p->pend_len = len;
	p->pend_stream = stream;
}
