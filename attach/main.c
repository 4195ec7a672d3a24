/* SPDX-License-Identifier: Apache-2.0 */
/*
 * attach/main.c: the broker's entry point, its channel to the reaper and
 * the shutdown (spec 10.2). Sandboxed before it touches a client byte
 * (architecture.md "Sandbox"); it trusts the reaper, but accepts only the
 * types the table gives a reaper, and never blocks on its channel.
 */
#include <sys/resource.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/chan.h"
#include "common/diag.h"
#include "common/errtext.h"
#include "common/fault.h"
#include "common/io.h"
#include "common/sandbox.h"
#include "attach/broker.h"

/* One owed message; 0 sent, -1 with errno. */
static int
att_send_owed(struct att_broker *b, unsigned what)
{
	struct chan_log_reopen r = { .sink = CHAN_SINK_K8S };
	struct chan_peer p = { .generation = b->lost_generation };
	struct chan_att_closed c = { .clients = b->closed_clients };

	switch (what) {
	case ATT_POST_REOPEN:
		return chan_send(b->chan, CHAN_LOG_REOPEN, &r, sizeof(r), -1);
	case ATT_POST_PEER_LOST:
		return chan_send(b->chan, CHAN_PEER_LOST, &p, sizeof(p), -1);
	default:
		return chan_send(b->chan, CHAN_ATT_CLOSED, &c, sizeof(c), -1);
	}
}

/*
 * security 18: false while the last LOG_REOPEN went less than
 * ATT_REOPEN_GAP_MS ago; the timer then sends the coalesced one.
 */
static bool
att_reopen_due(struct att_broker *b)
{
	struct timespec now;
	struct timeval tv;
	long ms;

	if (evtimer_pending(b->reopen_timer, NULL))
		return false;
	(void)clock_gettime(CLOCK_MONOTONIC, &now); /* cannot fail */
	ms = (now.tv_sec - b->reopen_last.tv_sec) * 1000 +
	    (now.tv_nsec - b->reopen_last.tv_nsec) / 1000000;
	if (b->reopen_last.tv_sec == 0 || ms < 0 || ms >= ATT_REOPEN_GAP_MS) {
		b->reopen_last = now;
		return true;
	}
	tv.tv_sec = 0;
	tv.tv_usec = (ATT_REOPEN_GAP_MS - ms) * 1000;
	if (evtimer_add(b->reopen_timer, &tv) < 0)
		return true; /* no timer: no coalescing */
	return false;
}

/*
 * Sends what is owed, in a fixed order with ATT_CLOSED last. A full
 * channel (security 35: the reaper is busy) keeps the rest for its write
 * event, so a flood of reopens coalesces here too (security 18).
 */
static void
att_flush_owed(struct att_broker *b)
{
	static const unsigned order[] = { ATT_POST_REOPEN,
		ATT_POST_PEER_LOST, ATT_POST_CLOSED };

	for (size_t i = 0; i < VIGIL_NELEM(order); i++) {
		if ((b->owed & order[i]) == 0)
			continue;
		if (order[i] == ATT_POST_REOPEN && !att_reopen_due(b))
			continue;
		if (att_send_owed(b, order[i]) < 0) {
			if (errno != EAGAIN)
				_exit(1); /* the reaper is gone */
			if (event_add(b->chan_wev, NULL) < 0)
				fatalx("attach: cannot watch the channel");
			return;
		}
		b->owed &= ~order[i];
	}
	(void)event_del(b->chan_wev); /* fails only on a bug */
}

static void
att_reopen_timer_cb(evutil_socket_t fd VIGIL_UNUSED,
    short what VIGIL_UNUSED, void *arg)
{
	att_flush_owed(arg);
}

void
att_post(struct att_broker *b, unsigned what)
{
	b->owed |= what;
	att_flush_owed(b);
}

static void
att_chan_write_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg)
{
	att_flush_owed(arg);
}

/* spec 10.2 step 5: once every client is closed, say so, once. */
void
att_close_check(struct att_broker *b)
{
	if (!b->closing || b->closed_sent || b->nclients > 0)
		return;
	b->closed_sent = true;
	att_post(b, ATT_POST_CLOSED);
}

/*
 * spec 10.2 step 5, after the logger's drain, in which it gave every
 * client its last output and closed its copies: no more input, no more
 * clients; each reads EOF.
 */
static int
att_on_close(struct att_broker *b, struct chan_ctl_msg *msg VIGIL_UNUSED)
{
	if (b->closing)
		return -1;
	b->closing = true;
	att_listener_close(b);
	att_clients_shutdown(b);
	att_close_check(b);
	return 0;
}

static int
att_on_peer(struct att_broker *b, struct chan_ctl_msg *msg)
{
	struct chan_peer p;

	memcpy(&p, msg->u.raw, sizeof(p));
	if (b->closing) {
		(void)close(msg->fd); /* nothing left to forward */
		return 0;
	}
	att_peer_set(b, msg->fd, p.generation);
	return 0;
}

#ifdef VIGIL_FAULTS
/*
 * broker.syscall: the forbidden call (security 39), once, at the first fd
 * from the reaper, which comes only once the reaper has taken its HELLO
 * (a broker dead before that fails the start).
 */
static void
att_fault_syscall(void)
{
	fault_syscall_once(FAULT_BROKER_SYSCALL);
}
#endif

static int
att_on_fd(struct att_broker *b, struct chan_ctl_msg *msg)
{
	struct chan_att_fd f;

#ifdef VIGIL_FAULTS
	att_fault_syscall();
#endif
	memcpy(&f, msg->u.raw, sizeof(f));
	if (b->closing) {
		(void)close(msg->fd); /* too late to be of use */
		return 0;
	}
	switch (f.kind) {
	case CHAN_ATT_FD_LISTENER:
		if (b->listen_fd >= 0)
			return -1;
		att_listener_set(b, msg->fd);
		return 0;
	case CHAN_ATT_FD_PTY:
		if (b->pty_fd >= 0)
			return -1;
		att_pty_set(b, msg->fd);
		return 0;
	case CHAN_ATT_FD_CTL:
		if (b->ctl.fd >= 0)
			return -1;
		att_fifo_set(&b->ctl, msg->fd);
		return 0;
	case CHAN_ATT_FD_WINSZ:
		if (b->winsz.fd >= 0)
			return -1;
		att_fifo_set(&b->winsz, msg->fd);
		return 0;
	case CHAN_ATT_FD_NOTIFY:
		return att_notify_set(b, msg->fd);
	default:
		return -1;
	}
}

typedef int (*att_handler)(struct att_broker *, struct chan_ctl_msg *);

/* What the broker accepts from the reaper (style.md: a handler table). */
static const att_handler att_reaper_handlers[CHAN_TYPE_MAX] = {
	[CHAN_ATT_FD] = att_on_fd,
	[CHAN_PEER] = att_on_peer,
	[CHAN_ATT_CLOSE] = att_on_close,
};

static void
att_chan_cb(evutil_socket_t fd, short what VIGIL_UNUSED, void *arg)
{
	struct att_broker *b = arg;
	static struct chan_ctl_msg msg; /* chan.h: small, among b's pages */
	const char *why = NULL;

	for (int i = 0; i < ATT_CHAN_BATCH; i++) {
		int rc = chan_recv_ctl(fd, CHAN_REAPER, &msg, &why);

		if (rc == 0)
			_exit(0); /* the reaper closed the channel: done */
		if (rc < 0) {
			if (errno == EAGAIN)
				return;
			fatalx("bad message from the reaper: %s",
			    why != NULL ? why : errtext(errno));
		}
		if (chan_msg_check(msg.type, msg.u.raw, msg.len, &why) < 0 ||
		    att_reaper_handlers[msg.type] == NULL ||
		    att_reaper_handlers[msg.type](b, &msg) < 0)
			fatalx("unexpected %s from the reaper",
			    chan_specs[msg.type].name);
	}
}

/* RLIMIT_FSIZE 0 (security.md "Seccomp policy"): the broker writes no
 * file; the clients it can serve follow the fd limit it got. */
static void
att_limits(struct att_broker *b)
{
	struct rlimit rl = { 0, 0 };

	if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
		fatal("attach sandbox: rlimits:");
	b->max_clients = ATT_MAX_CLIENTS;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		fatal("attach sandbox: rlimits:");
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)ATT_MAX_CLIENTS + ATT_FD_RESERVE) {
		b->max_clients = rl.rlim_cur > ATT_FD_RESERVE + 1 ?
		    (unsigned)(rl.rlim_cur - ATT_FD_RESERVE) : 1;
		diag_warnx("attach: RLIMIT_NOFILE %llu allows only %u clients",
		    (unsigned long long)rl.rlim_cur, b->max_clients);
	}
}

/* Events exist before seccomp: adding them later costs no allocation. */
static void
att_events(struct att_broker *b)
{
	struct event_config *cfg = event_config_new();

	if (cfg == NULL ||
	    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK) < 0 ||
	    event_config_require_features(cfg, EV_FEATURE_ET) < 0)
		fatalx("attach: out of memory");
	/* built before seccomp, so epoll_create1 is not in the profile */
	b->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	if (b->base == NULL)
		fatalx("attach: cannot create the event loop");
	if (io_set_nonblock(b->chan, true) < 0)
		fatal("attach: channel");
	b->chan_ev = event_new(b->base, b->chan, EV_READ | EV_PERSIST,
	    att_chan_cb, b);
	b->chan_wev = event_new(b->base, b->chan, EV_WRITE | EV_PERSIST,
	    att_chan_write_cb, b);
	b->reopen_timer = evtimer_new(b->base, att_reopen_timer_cb, b);
	if (b->chan_ev == NULL || b->chan_wev == NULL ||
	    b->reopen_timer == NULL ||
	    event_add(b->chan_ev, NULL) < 0 || att_fifo_init(b) < 0)
		fatalx("attach: cannot create its events");
}

static void
att_setup(struct att_broker *b, const struct role_conf *rc)
{
	char title[64], err[256];
	struct sandbox_conf sc = {
		.role = "attach",
		.title = title,
		.chan_fd = rc->chan_fd,
		.reaper = rc->reaper,
		.uid = rc->uid,
		.gid = rc->gid,
		.nofile = ATT_NOFILE,
	};

	diag_to_chan(rc->chan_fd);
	(void)snprintf(title, sizeof(title), "conmon: attach %s", rc->short_id);
	b->chan = -1;
	if (sandbox_drop(&sc, &b->chan, err, sizeof(err)) < 0) {
		if (b->chan >= 0)
			diag_to_chan(b->chan); /* moved before the failure */
		fatalx("attach sandbox: %s", err);
	}
	diag_to_chan(b->chan);
	att_limits(b);
	att_events(b);
	/* broker.setup_fail: a broker started on demand fails its setup
	 * (monitor/lazy.c): logged and retried, never the start's failure */
	if (FAULT_ON(BROKER_SETUP_FAIL))
		fatalx("attach sandbox: fault injection: broker.setup_fail");
	if (sandbox_seccomp("attach", b->chan, err, sizeof(err)) < 0)
		fatalx("attach sandbox: %s", err);
}

VIGIL_NORETURN void
att_main(const struct role_conf *rc)
{
	static struct att_broker b;
	struct chan_hello hello = {
		.role = CHAN_BROKER,
		.version = CHAN_VERSION,
	};

	b.conf = rc;
	b.listen_fd = b.peer_fd = b.pty_fd = b.notify_fd = -1;
	TAILQ_INIT(&b.clients);
	att_setup(&b, rc);
	hello.pid = (int32_t)getpid();
	if (chan_send(b.chan, CHAN_HELLO, &hello, sizeof(hello), -1) < 0)
		_exit(1); /* the reaper is gone */
#ifdef VIGIL_FAULTS
	/* chan.corrupt_next=broker: its next message to the reaper; after
	 * HELLO, since a broker dead before HELLO fails the start */
	if (strcmp(FAULT_WORD(CHAN_CORRUPT_NEXT), "broker") == 0)
		chan_fault_corrupt_next(b.chan);
#endif
	sandbox_trim(); /* the sandbox's pages; the loop needs few */
	(void)event_base_dispatch(b.base);
	_exit(0);
}
