/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/input.c: attach client input to the container's stdin (spec 6.4,
 * 7.3, 7.4), read from the client sockets the broker handed over (README
 * "How the processes fit"). Each record is peeked, written with
 * non-blocking writes and only then taken off the client's socket: a
 * record that does not fit waits there, unread (per-client flow control,
 * no loss, no buffer per client), and what is still in a socket when the
 * logger dies is read on by its successor. Never blocks; without stdin,
 * input is read and discarded.
 */
#include <sys/socket.h>

#include <errno.h>
#include <inttypes.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/diag.h"
#include "common/io.h"
#include "logger/logger.h"

enum log_step {
	LOG_STEP_NEXT,	  /* a record written (or discarded) */
	LOG_STEP_EMPTY,	  /* nothing more from that client now */
	LOG_STEP_DONE,	  /* the client is done writing */
	LOG_STEP_BLOCKED, /* stdin is full */
};

static void stdin_write_cb(evutil_socket_t, short, void *);

/* -t: the pty master; -i: the stdin pipe; neither, or closed: none. */
static bool
stdin_expected(const struct logger *l)
{
	return !l->stdin_closed && (l->conf->terminal || l->conf->stdin_pipe);
}

/* -t: the pty source is the master (spec 6.2 step 4), written to here. */
static int
stdin_target(const struct logger *l)
{
	if (!stdin_expected(l))
		return -1;
	if (l->conf->terminal)
		return l->src[0].pty ? l->src[0].fd : -1;
	return l->stdin_fd;
}

/*
 * One recvmsg. ECONNRESET only says the client left with output unread
 * (the error is cleared by reading it); what it sent before still follows.
 */
static ssize_t
client_recv(struct log_client *c, void *buf, size_t len, int flags,
    int *msg_flags)
{
	struct iovec iov = { .iov_base = buf, .iov_len = len };
	struct msghdr mh;
	ssize_t n = -1;

	for (int tries = 0; tries < 2; tries++) {
		memset(&mh, 0, sizeof(mh));
		mh.msg_iov = &iov;
		mh.msg_iovlen = 1;
		n = recvmsg(c->fd, &mh, flags | MSG_DONTWAIT);
		if (n >= 0 || errno != ECONNRESET)
			break;
	}
	if (msg_flags != NULL)
		*msg_flags = n >= 0 ? mh.msg_flags : 0;
	return n;
}

/*
 * spec 7.3 decision: a record past ConnSockBufSize is cut, never silently.
 * The input buffer holds one byte more, so a record of LOG_INPUT_MAX + 1
 * bytes or more shows as n > LOG_INPUT_MAX or MSG_TRUNC.
 */
size_t
log_input_len(size_t n, int msg_flags)
{
	if (n <= LOG_INPUT_MAX && (msg_flags & MSG_TRUNC) == 0)
		return n;
	return LOG_INPUT_MAX;
}

/* The head record of one client, or what is left of it. */
static enum log_step
input_step(struct log_client *c)
{
	struct logger *l = c->l;
	int target = stdin_target(l);
	unsigned more;
	int flags = 0;
	size_t len;
	ssize_t n, w;

	/* without stdin the record is simply read: spec 6.4, discarded */
	n = client_recv(c, l->inbuf, LOG_INPUT_BUF,
	    target >= 0 ? MSG_PEEK : 0, &flags);
	if (n < 0 && errno == EAGAIN)
		return LOG_STEP_EMPTY;
	if (n < 0) {
		/* not a client's EOF, but its input cannot be read on: done
		 * writing (spec 7.4), and said, with the reason */
		diag_warn("attach: cannot read client %" PRIu32 "'s input;"
		    " taken as its end:", c->id);
		return LOG_STEP_DONE;
	}
	if (n == 0)
		return LOG_STEP_DONE; /* spec 7.3: EOF, or a zero-length one */
	len = log_input_len((size_t)n, flags);
	if (len < (size_t)n && c->in_off == 0 &&
	    diag_rate_ok(&l->truncated, &more))
		diag_warnx("attach: client %" PRIu32 " sent a record over %d"
		    " bytes; only its first %d reach stdin (%u more since the"
		    " last warning)", c->id, LOG_INPUT_MAX, LOG_INPUT_MAX,
		    more);
	if (target < 0) {
		c->in_off = 0; /* stdin closed under a half-written record */
		return LOG_STEP_NEXT;
	}
	w = write(target, l->inbuf + c->in_off, len - c->in_off);
	if (w < 0 && errno == EAGAIN)
		return LOG_STEP_BLOCKED;
	if (w < 0) {
		/* EPIPE: the container closed stdin; EIO: no pty slave */
		if (!l->stdin_failing)
			diag_warn("Failed to write to container stdin:");
		l->stdin_failing = true;
		w = (ssize_t)(len - c->in_off); /* that record is lost */
	} else {
		l->stdin_failing = false;
	}
	c->in_off += (size_t)w;
	if (c->in_off < len)
		return LOG_STEP_BLOCKED;
	c->in_off = 0;
	/* written: now take it off the socket; only we read it, it is there */
	VIGIL_IGNORE(client_recv(c, l->inbuf, 0, 0, NULL));
	return LOG_STEP_NEXT;
}

/* No more writes to stdin: its event goes (a pty's fd may be reused). */
static void
stdin_unwatch(struct logger *l)
{
	if (l->stdin_wev != NULL)
		event_free(l->stdin_wev);
	l->stdin_wev = NULL;
	l->stdin_blocked = false;
}

/* spec 7.4 with -i: the first client done writing closes stdin. */
static void
stdin_close(struct logger *l)
{
	stdin_unwatch(l);
	if (l->stdin_fd >= 0)
		(void)close(l->stdin_fd); /* a pipe: nothing of ours in it */
	l->stdin_fd = -1;
	l->stdin_closed = true;
	/* the reaper closes its copy too: then the container reads EOF */
	log_send(l, CHAN_ATT_STDIN_CLOSED, NULL, 0);
}

/* May end the client: the caller must not touch it afterwards. */
static void
input_done(struct log_client *c)
{
	struct logger *l = c->l;

	log_input_forget(c);
	c->in_done = true;
	/* spec 7.4: stop reading it, shut its read side; output goes on */
	(void)shutdown(c->fd, SHUT_RD); /* it may have left already */
	if (l->conf->stdin_pipe && !l->conf->leave_stdin_open &&
	    !l->stdin_closed)
		stdin_close(l);
	log_client_check_done(c);
}

/*
 * The rest after the next epoll_wait: a timer, not event_active(), which
 * would run again in this same pass, before any other fd's turn.
 */
static void
input_later(struct logger *l)
{
	static const struct timeval now = { 0, 0 };

	if (evtimer_add(l->input_ev, &now) < 0)
		fatalx("attach: cannot schedule input");
}

static void
stdin_wait(struct logger *l)
{
	l->stdin_blocked = true;
	if (event_add(l->stdin_wev, NULL) < 0)
		fatalx("attach: cannot watch stdin");
}

/*
 * Writes waiting input, client after client, a record each turn (so no
 * client starves another), until stdin is full or a batch is done.
 */
void
log_input_run(struct logger *l)
{
	struct log_client *c;
	int target = stdin_target(l);

	if (l->clients_closed || l->stdin_blocked)
		return;
	/* spec 6.2 step 5: input waits, unread, for the pty (or the pipe) */
	if (stdin_expected(l) && target < 0)
		return;
	if (target >= 0 && l->stdin_wev == NULL) {
		l->stdin_wev = event_new(l->base, target, EV_WRITE,
		    stdin_write_cb, l);
		if (l->stdin_wev == NULL)
			fatalx("attach: cannot watch stdin");
	}
	for (int i = 0; (c = TAILQ_FIRST(&l->inq)) != NULL; i++) {
		if (i == LOG_INPUT_BATCH) {
			input_later(l);
			return;
		}
		switch (input_step(c)) {
		case LOG_STEP_NEXT:
			TAILQ_REMOVE(&l->inq, c, in_entry);
			TAILQ_INSERT_TAIL(&l->inq, c, in_entry);
			break;
		case LOG_STEP_EMPTY:
			log_input_forget(c);
			break;
		case LOG_STEP_DONE:
			input_done(c);
			break;
		case LOG_STEP_BLOCKED:
			stdin_wait(l);
			return;
		}
	}
}

static void
stdin_write_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct logger *l = arg;

	l->stdin_blocked = false;
	log_input_run(l);
}

static void
input_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED, void *arg)
{
	log_input_run(arg);
}

/* The client's socket has input (edge-triggered): it takes its turn. */
void
log_input_readable(struct log_client *c)
{
	struct logger *l = c->l;

	if (!c->in_queued) {
		TAILQ_INSERT_TAIL(&l->inq, c, in_entry);
		c->in_queued = true;
	}
	log_input_run(l);
}

void
log_input_forget(struct log_client *c)
{
	if (!c->in_queued)
		return;
	TAILQ_REMOVE(&c->l->inq, c, in_entry);
	c->in_queued = false;
}

/* -i: the stdin pipe's write end, from the reaper. */
void
log_stdin_set(struct logger *l, int fd)
{
	if (l->stdin_fd >= 0 || l->stdin_closed || !l->conf->stdin_pipe)
		fatalx("unexpected stdin from the reaper");
	if (io_set_nonblock(fd, true) < 0) {
		diag_warn("attach: container stdin:");
		(void)close(fd); /* unusable: input stays held */
		return;
	}
	l->stdin_fd = fd;
	log_input_run(l);
}

/* -t: the pty master came (input waiting for it goes now), or went. */
void
log_stdin_pty(struct logger *l, bool open)
{
	if (open) {
		log_input_run(l);
		return;
	}
	/* spec 6.4: no stdin any more: input is discarded from now on */
	stdin_unwatch(l);
	l->stdin_closed = true;
	log_input_run(l);
}

int
log_input_init(struct logger *l)
{
	l->stdin_fd = -1;
	TAILQ_INIT(&l->inq);
	l->inbuf = io_buf_new(LOG_INPUT_BUF);
	l->input_ev = evtimer_new(l->base, input_cb, l);
	return l->inbuf != NULL && l->input_ev != NULL ? 0 : -1;
}
