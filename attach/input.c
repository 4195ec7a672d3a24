/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/input.c: client input to the container's stdin (spec 6.4, 7.3,
 * 7.4). Each record is peeked, written with non-blocking writes and only
 * then taken off the client's socket: a record that does not fit waits
 * there, unread (per-client flow control, no loss, no buffer per client).
 * Never blocks; without stdin, input is read and discarded.
 */
#include <sys/socket.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/diag.h"
#include "common/io.h"
#include "attach/broker.h"

enum att_step {
	ATT_STEP_NEXT,	  /* a record written (or discarded) */
	ATT_STEP_EMPTY,	  /* nothing more from that client now */
	ATT_STEP_DONE,	  /* the client is done writing */
	ATT_STEP_BLOCKED, /* stdin is full */
};

static void att_stdin_write_cb(evutil_socket_t, short, void *);

/* -t: the pty master; -i: the stdin pipe; neither, or closed: none. */
static bool
att_stdin_expected(const struct att_broker *b)
{
	return !b->stdin_closed && (b->conf->terminal || b->conf->stdin_pipe);
}

static int
att_stdin_target(const struct att_broker *b)
{
	if (!att_stdin_expected(b))
		return -1;
	return b->conf->terminal ? b->pty_fd : b->stdin_fd;
}

/*
 * One recvmsg. ECONNRESET only says the client left with output unread
 * (the error is cleared by reading it); what it sent before still follows.
 */
static ssize_t
att_client_recv(struct att_client *c, void *buf, size_t len, int flags,
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

/* spec 7.3 decision: a record past ConnSockBufSize is cut, never silently. */
static size_t
att_input_len(struct att_client *c, size_t n, int flags)
{
	unsigned more;

	if (n <= ATT_INPUT_MAX && (flags & MSG_TRUNC) == 0)
		return n;
	if (c->in_off == 0 && att_rate_ok(&c->b->truncated, &more))
		diag_warnx("attach: client %u sent a record over %d bytes;"
		    " only its first %d reach stdin (%u more since the last"
		    " warning)", c->id, ATT_INPUT_MAX, ATT_INPUT_MAX, more);
	return ATT_INPUT_MAX;
}

/* The head record of one client, or what is left of it. */
static enum att_step
att_input_step(struct att_client *c)
{
	struct att_broker *b = c->b;
	int target = att_stdin_target(b);
	int flags = 0;
	size_t len;
	ssize_t n, w;

	/* without stdin the record is simply read: spec 6.4, discarded */
	n = att_client_recv(c, b->inbuf, ATT_INPUT_BUF,
	    target >= 0 ? MSG_PEEK : 0, &flags);
	if (n < 0)
		return errno == EAGAIN ? ATT_STEP_EMPTY : ATT_STEP_DONE;
	if (n == 0)
		return ATT_STEP_DONE; /* spec 7.3: EOF, or a zero-length one */
	len = att_input_len(c, (size_t)n, flags);
	if (target < 0) {
		c->in_off = 0; /* stdin closed under a half-written record */
		return ATT_STEP_NEXT;
	}
	w = write(target, b->inbuf + c->in_off, len - c->in_off);
	if (w < 0 && errno == EAGAIN)
		return ATT_STEP_BLOCKED;
	if (w < 0) {
		/* EPIPE: the container closed stdin; EIO: no pty slave */
		if (!b->stdin_failing)
			diag_warn("Failed to write to container stdin:");
		b->stdin_failing = true;
		w = (ssize_t)(len - c->in_off); /* that record is lost */
	} else {
		b->stdin_failing = false;
	}
	c->in_off += (size_t)w;
	if (c->in_off < len)
		return ATT_STEP_BLOCKED;
	c->in_off = 0;
	/* written: now take it off the socket; only we read it, it is there */
	VIGIL_IGNORE(att_client_recv(c, b->inbuf, 0, 0, NULL));
	return ATT_STEP_NEXT;
}

/* spec 7.4 with -i: the first client done writing closes stdin. */
static void
att_stdin_close(struct att_broker *b)
{
	if (b->stdin_wev != NULL)
		event_free(b->stdin_wev);
	b->stdin_wev = NULL;
	if (b->stdin_fd >= 0)
		(void)close(b->stdin_fd); /* a pipe: nothing of ours in it */
	b->stdin_fd = -1;
	b->stdin_closed = true;
	b->stdin_blocked = false;
	/* the reaper closes its copy too: then the container reads EOF */
	att_post(b, ATT_POST_STDIN_CLOSED);
}

/* May close the client: the caller must not touch it afterwards. */
static void
att_input_done(struct att_client *c)
{
	struct att_broker *b = c->b;

	att_input_forget(c);
	c->in_done = true;
	/* spec 7.4: stop reading it, shut its read side; output goes on */
	(void)shutdown(c->fd, SHUT_RD); /* it may have left already */
	if (b->conf->stdin_pipe && !b->conf->leave_stdin_open &&
	    !b->stdin_closed)
		att_stdin_close(b);
	att_client_check_done(c);
}

/*
 * The rest after the next epoll_wait: a timer, not event_active(), which
 * would run again in this same pass, before any other fd's turn.
 */
static void
att_input_later(struct att_broker *b)
{
	static const struct timeval now = { 0, 0 };

	if (evtimer_add(b->input_ev, &now) < 0)
		fatalx("attach: cannot schedule input");
}

static void
att_stdin_wait(struct att_broker *b)
{
	b->stdin_blocked = true;
	if (event_add(b->stdin_wev, NULL) < 0)
		fatalx("attach: cannot watch stdin");
}

/*
 * Writes waiting input, client after client, a record each turn (so no
 * client starves another), until stdin is full or a batch is done.
 */
void
att_input_run(struct att_broker *b)
{
	struct att_client *c;
	int target = att_stdin_target(b);

	if (b->closing || b->stdin_blocked)
		return;
	/* spec 6.2 step 5: input waits, unread, for the pty (or the pipe) */
	if (att_stdin_expected(b) && target < 0)
		return;
	if (target >= 0 && b->stdin_wev == NULL) {
		b->stdin_wev = event_new(b->base, target, EV_WRITE,
		    att_stdin_write_cb, b);
		if (b->stdin_wev == NULL)
			fatalx("attach: cannot watch stdin");
	}
	for (int i = 0; (c = TAILQ_FIRST(&b->inq)) != NULL; i++) {
		if (i == ATT_INPUT_BATCH) {
			att_input_later(b);
			return;
		}
		switch (att_input_step(c)) {
		case ATT_STEP_NEXT:
			TAILQ_REMOVE(&b->inq, c, in_entry);
			TAILQ_INSERT_TAIL(&b->inq, c, in_entry);
			break;
		case ATT_STEP_EMPTY:
			att_input_forget(c);
			break;
		case ATT_STEP_DONE:
			att_input_done(c);
			break;
		case ATT_STEP_BLOCKED:
			att_stdin_wait(b);
			return;
		}
	}
}

static void
att_stdin_write_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct att_broker *b = arg;

	b->stdin_blocked = false;
	att_input_run(b);
}

static void
att_input_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	att_input_run(arg);
}

/* The client's socket has input (edge-triggered): it takes its turn. */
void
att_input_readable(struct att_client *c)
{
	struct att_broker *b = c->b;

	if (!c->in_queued) {
		TAILQ_INSERT_TAIL(&b->inq, c, in_entry);
		c->in_queued = true;
	}
	att_input_run(b);
}

void
att_input_forget(struct att_client *c)
{
	if (!c->in_queued)
		return;
	TAILQ_REMOVE(&c->b->inq, c, in_entry);
	c->in_queued = false;
}

/* At shutdown: unread input is read and dropped, a bounded amount. */
void
att_input_discard(struct att_client *c)
{
	(void)shutdown(c->fd, SHUT_RD); /* no more of it; may have left */
	for (int i = 0; i < ATT_DISCARD_MAX; i++) {
		if (att_client_recv(c, c->b->inbuf, ATT_INPUT_BUF, 0,
		    NULL) <= 0)
			return;
	}
}

void
att_stdin_set(struct att_broker *b, int fd)
{
	if (io_set_nonblock(fd, true) < 0) {
		diag_warn("attach: container stdin:");
		(void)close(fd); /* unusable: input stays held */
		return;
	}
	b->stdin_fd = fd;
	att_input_run(b);
}

int
att_input_init(struct att_broker *b)
{
	b->input_ev = evtimer_new(b->base, att_input_cb, b);
	return b->input_ev != NULL ? 0 : -1;
}
