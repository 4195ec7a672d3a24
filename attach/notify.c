/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/notify.c: the container's sd-notify socket (spec 13), bound by
 * the reaper and held by the broker (architecture.md "Channels"). Each
 * datagram is read whole, its ancillary data dropped, its lines filtered
 * to spec 13's list and the rest sent to the reaper as one CHAN_NOTIFY,
 * which checks every line again (security 6).
 */
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/chan.h"
#include "common/diag.h"
#include "common/io.h"
#include "common/notify.h"
#include "attach/broker.h"
#include "attach/notify.h"

/* Datagrams read per wake-up (style.md: one bounded unit of work). */
#define ATT_NOTIFY_BATCH 16
/* Fds seen per datagram; more are discarded by the kernel (MSG_CTRUNC). */
#define ATT_NOTIFY_FDS 16

size_t
att_notify_filter(const char *in, size_t len, char *out)
{
	size_t o = 0, i = 0, n;

	while (i < len) {
		/* spec 13: LF and CR both end a line */
		for (n = 0; i + n < len && in[i + n] != '\n' &&
		    in[i + n] != '\r'; n++)
			;
		if (notify_line_ok(in + i, n)) {
			if (o > 0)
				out[o++] = '\n';
			/* o <= i: in place the copy never runs ahead */
			memmove(out + o, in + i, n);
			o += n;
		}
		i += n + 1;
	}
	return o;
}

/*
 * One datagram. 1 when one was handled (relayed or dropped), 0 when none
 * is waiting.
 */
static int
att_notify_one(struct att_broker *b)
{
	union {
		struct cmsghdr align;
		unsigned char buf[CMSG_SPACE(ATT_NOTIFY_FDS * sizeof(int))];
	} ctl;
	struct iovec iov = { .iov_base = b->notify_buf,
		.iov_len = NOTIFY_MSG_MAX };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
		.msg_control = ctl.buf, .msg_controllen = sizeof(ctl.buf) };
	unsigned more;
	ssize_t n;
	size_t kept;

	do {
		n = recvmsg(b->notify_fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
	} while (n < 0 && errno == EINTR);
	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			return 0;
		if (diag_rate_ok(&b->notify_bad, &more))
			diag_warn("attach: cannot read the notify socket (%u "
			    "more since the last warning):", more);
		return 0;
	}
	/* security 6: fds the container attached are closed, never used */
	(void)io_take_fds(&mh, NULL, 0);
	/*
	 * spec 13: a datagram is at most 32768 bytes. vigil's decision: a
	 * longer one is dropped whole, never cut: a cut line could become
	 * one on the list (`READY=1` out of `READY=10...`).
	 */
	if ((mh.msg_flags & MSG_TRUNC) != 0) {
		if (diag_rate_ok(&b->notify_bad, &more))
			diag_warnx("attach: sd-notify message over %d bytes "
			    "dropped (%u more since the last warning)",
			    NOTIFY_MSG_MAX, more);
		return 1;
	}
	kept = att_notify_filter(b->notify_buf, (size_t)n, b->notify_buf);
	if (kept == 0)
		return 1; /* spec 13: nothing is sent */
	if (chan_send(b->chan, CHAN_NOTIFY, b->notify_buf, kept, -1) < 0) {
		if (errno != EAGAIN)
			_exit(1); /* the reaper is gone */
		/* spec 13: a message may be dropped; the reaper is busy */
		if (diag_rate_ok(&b->notify_bad, &more))
			diag_warnx("attach: channel full, sd-notify message "
			    "dropped (%u more since the last warning)", more);
	}
	return 1;
}

static void
att_notify_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct att_broker *b = arg;

	for (int i = 0; i < ATT_NOTIFY_BATCH; i++)
		if (att_notify_one(b) == 0)
			return;
}

/* spec 13: the socket the reaper bound; ours until the broker exits. */
int
att_notify_set(struct att_broker *b, int fd)
{
	if (b->notify_fd >= 0)
		return -1;
	if (b->notify_buf == NULL &&
	    (b->notify_buf = malloc(NOTIFY_MSG_MAX)) == NULL)
		fatalx("attach: out of memory");
	b->notify_fd = fd;
	b->notify_ev = event_new(b->base, fd, EV_READ | EV_PERSIST,
	    att_notify_cb, b);
	if (b->notify_ev == NULL || event_add(b->notify_ev, NULL) < 0)
		fatalx("attach: cannot watch the notify socket");
	return 0;
}
