/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/fifo.c: the ctl and winsz FIFOs (spec 8) and the pty's window
 * size (spec 8.3). Reads what arrives, non-blocking and bounded per
 * wake-up, and hands every complete line to attach/ctl.c's grammar, each
 * on its own. Never blocks and never reopens a FIFO by path (security 16,
 * 19): a resize without a terminal is simply dropped.
 */
#include <sys/ioctl.h>

#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/diag.h"
#include "common/fault.h"
#include "common/hostile.h"
#include "common/io.h"
#include "attach/broker.h"

/* spec 8.3: ws_row = height, ws_col = width, pixels 0. */
static void
att_resize_apply(struct att_broker *b, const struct winsize *ws)
{
	if (ioctl(b->pty_fd, TIOCSWINSZ, ws) < 0)
		diag_warn("Failed to set process pty terminal size:");
}

static void
att_resize(struct att_broker *b, int height, int width)
{
	struct winsize ws = {
		.ws_row = (unsigned short)height,
		.ws_col = (unsigned short)width,
	};

	if (b->pty_fd >= 0) {
		att_resize_apply(b, &ws);
		return;
	}
	/* spec 8.3: before the pty arrives the last one wins; none without
	 * a terminal, where a resize has no effect */
	if (b->conf->terminal) {
		b->resize = ws;
		b->resize_pending = true;
	}
}

static void
att_fifo_line_cb(void *arg, const char *line, size_t len, bool overlong)
{
	struct att_fifo *f = arg;
	struct att_ctl_msg msg;
	char why[ATT_CTL_WHY_MAX];
	int rc;

	/* spec 8.2, vigil: an over-long line is discarded whole */
	if (overlong) {
		diag_warnx("%s: a line longer than %d bytes was discarded",
		    f->name, ATT_CTL_LINE_MAX - 1);
		return;
	}
	if (f->winsz)
		rc = att_winsz_parse(line, len, &msg, why, sizeof(why));
	else
		rc = att_ctl_parse(line, len, &msg, why, sizeof(why));
	if (rc < 0) {
		diag_warnx("%s", why); /* spec 8.2, 8.5 texts */
		return;
	}
	if (msg.type == ATT_CTL_RESIZE)
		att_resize(f->b, msg.height, msg.width);
	else if (msg.type == ATT_CTL_REOPEN && !f->winsz)
		f->reopen = true; /* spec 8.4: asked after this wake-up */
}

static void
att_fifo_close(struct att_fifo *f)
{
	event_free(f->ev);
	f->ev = NULL;
	(void)event_del(f->rearm); /* fails only on a bug */
	(void)close(f->fd); /* a read end */
	f->fd = -1;
}

#ifdef VIGIL_FAULTS
/* issue 8: broker.hostile acts at the first reopen line on ctl. */
static void
att_hostile(struct att_broker *b)
{
	char kind[FAULT_WORD_MAX + 1];

	if (!FAULT_ON(BROKER_HOSTILE))
		return;
	(void)snprintf(kind, sizeof(kind), "%s", FAULT_WORD(BROKER_HOSTILE));
	fault_disarm(FAULT_BROKER_HOSTILE); /* once per process */
	hostile_act(b->base, b->chan, b->chan_ev, CHAN_BROKER, kind,
	    b->peer_fd, b->generation);
}
#endif

static void
att_fifo_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct att_fifo *f = arg;
	struct timeval tv = { .tv_sec = 0,
		.tv_usec = ATT_FIFO_REARM_MS * 1000 };
	char buf[ATT_FIFO_READ_MAX];
	ssize_t n = 0;

	for (int i = 0; i < ATT_FIFO_READS; i++) {
		if ((n = io_read(f->fd, buf, sizeof(buf))) <= 0)
			break;
		att_ctl_feed(&f->line, buf, (size_t)n, att_fifo_line_cb, f);
	}
	/* security 18: the reopens of one wake-up are one request */
	if (f->reopen) {
		f->reopen = false;
#ifdef VIGIL_FAULTS
		att_hostile(f->b);
#endif
		att_post(f->b, ATT_POST_REOPEN);
	}
	if (n > 0 || (n < 0 && errno == EAGAIN))
		return;
	if (n < 0) {
		diag_warn("%s: read failed:", f->name);
		att_fifo_close(f);
		return;
	}
	/*
	 * No writer (the reaper keeps one, so rarely): the FIFO reads EOF
	 * for ever; look again later, never spin on it (security 19).
	 */
	if (event_del(f->ev) < 0 || evtimer_add(f->rearm, &tv) < 0)
		fatalx("attach: cannot watch %s", f->name);
}

static void
att_fifo_rearm_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	struct att_fifo *f = arg;

	if (f->ev != NULL && event_add(f->ev, NULL) < 0)
		fatalx("attach: cannot watch %s", f->name);
}

void
att_fifo_set(struct att_fifo *f, int fd)
{
	if (io_set_nonblock(fd, true) < 0) {
		diag_warn("%s:", f->name);
		(void)close(fd); /* unusable */
		return;
	}
	f->ev = event_new(f->b->base, fd, EV_READ | EV_PERSIST, att_fifo_cb,
	    f);
	if (f->ev == NULL || event_add(f->ev, NULL) < 0)
		fatalx("attach: cannot watch %s", f->name);
	f->fd = fd;
}

/* spec 6.2 step 5, 8.3: a pending resize goes to it now. */
void
att_pty_set(struct att_broker *b, int fd)
{
	if (io_set_nonblock(fd, true) < 0) {
		diag_warn("attach: pty master:");
		(void)close(fd); /* unusable */
		return;
	}
	b->pty_fd = fd;
	if (b->resize_pending) {
		b->resize_pending = false;
		att_resize_apply(b, &b->resize);
	}
}

static int
att_fifo_init_one(struct att_broker *b, struct att_fifo *f, const char *name,
    bool winsz)
{
	f->b = b;
	f->name = name;
	f->winsz = winsz;
	f->fd = -1;
	f->rearm = evtimer_new(b->base, att_fifo_rearm_cb, f);
	return f->rearm != NULL ? 0 : -1;
}

int
att_fifo_init(struct att_broker *b)
{
	if (att_fifo_init_one(b, &b->ctl, "ctl", false) < 0 ||
	    att_fifo_init_one(b, &b->winsz, "winsz", true) < 0)
		return -1;
	return 0;
}
