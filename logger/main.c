/* SPDX-License-Identifier: Apache-2.0 */
/*
 * logger/main.c: the logger's entry point and its channel to the reaper.
 * Sandboxed before it reads a byte (architecture.md "Sandbox"); it trusts
 * the reaper, but still accepts only the types the table gives a reaper,
 * with their fields checked.
 */
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
#include "common/hostile.h"
#include "common/io.h"
#include "common/sandbox.h"
#include "logger/logger.h"

void
log_send(struct logger *l, unsigned type, const void *p, size_t len)
{
	if (chan_send(l->chan, type, p, len, -1) < 0) {
		/* the reaper is gone or hung: nothing left to do for it */
		_exit(1);
	}
}

#ifdef VIGIL_FAULTS
/* issue 8: logger.hostile acts at the first reopen's sink (ctl 2 0 0). */
static void
log_hostile(struct logger *l)
{
	static unsigned sinks;
	char kind[FAULT_WORD_MAX + 1];

	if (sinks++ == 0 || !FAULT_ON(LOGGER_HOSTILE))
		return;
	(void)snprintf(kind, sizeof(kind), "%s", FAULT_WORD(LOGGER_HOSTILE));
	fault_disarm(FAULT_LOGGER_HOSTILE); /* once per process */
	hostile_act(l->base, l->chan, l->chan_ev, CHAN_LOGGER, kind,
	    l->peer.fd, l->peer.generation);
}
#endif

static void
on_msg(struct logger *l, struct chan_ctl_msg *msg)
{
	struct chan_peer peer;

	switch (msg->type) {
	case CHAN_LOG_SINK:
		if (msg->u.log_sink.sink == CHAN_SINK_JOURNALD)
			log_jd_set(l, msg->fd);
		else if (msg->u.log_sink.sink == CHAN_SINK_K8S)
			log_sink_set(l, msg->fd, msg->u.log_sink.counted);
#ifdef VIGIL_FAULTS
		if (msg->u.log_sink.sink == CHAN_SINK_K8S)
			log_hostile(l);
#endif
		else
			fatalx("bad sink id %u", msg->u.log_sink.sink);
		break;
	case CHAN_LOG_SOURCE:
		log_source_add(l, msg->u.log_source.stream,
		    msg->u.log_source.flags, msg->fd);
		break;
	case CHAN_LOG_DRAIN:
		if (FAULT_ON(LOGGER_IGNORE_DRAIN))
			break; /* logger.ignore_drain: never answered */
		l->draining = true;
		log_drain(l);
		break;
	case CHAN_PEER:
		memcpy(&peer, msg->u.raw, sizeof(peer));
		log_peer_set(l, peer.generation, msg->fd);
		break;
	case CHAN_ATT_FD:
		/* the attach listener, polled only (clients.c), or the stdin
		 * pipe's write end (input.c) */
		if (msg->u.att_fd.kind == CHAN_ATT_FD_LISTENER)
			log_listener_set(l, msg->fd);
		else if (msg->u.att_fd.kind == CHAN_ATT_FD_STDIN)
			log_stdin_set(l, msg->fd);
		else
			fatalx("unexpected attach fd kind %u from the reaper",
			    msg->u.att_fd.kind);
		break;
	default:
		fatalx("unexpected %s from the reaper",
		    chan_specs[msg->type].name);
	}
}

static void
chan_cb(evutil_socket_t fd, short what VIGIL_UNUSED, void *arg)
{
	struct logger *l = arg;
	static struct chan_ctl_msg msg; /* chan.h: small, among l's pages */
	const char *why = NULL;
	int rc = chan_recv_ctl(fd, CHAN_REAPER, &msg, &why);

	if (rc == 0)
		_exit(0); /* the reaper closed the channel: we are done */
	if (rc < 0) {
		if (errno == EAGAIN)
			return;
		fatalx("bad message from the reaper: %s",
		    why != NULL ? why : errtext(errno));
	}
	/* style.md: the fields too, even from the reaper (security 33) */
	if (chan_msg_check(msg.type, msg.u.raw, msg.len, &why) < 0)
		fatalx("bad %s from the reaper: %s", chan_specs[msg.type].name,
		    why);
	on_msg(l, &msg);
}

static void
setup(struct logger *l, const struct role_conf *rc)
{
	char title[64], err[256];
	struct sandbox_conf sc = {
		.role = "logger",
		.title = title,
		.chan_fd = rc->chan_fd,
		.reaper = rc->reaper,
		.uid = rc->uid,
		.gid = rc->gid,
		/* architecture.md "Sandbox" step 3: journald and podman know
		 * entries by _UID, so a journald logger keeps the reaper's
		 * ids; its capabilities go all the same */
		.keep_ids = rc->journald,
		.nofile = LOG_NOFILE,
	};
	struct event_config *cfg;

	diag_to_chan(rc->chan_fd);
	tzset(); /* spec 9.2: the time zone is read once, before the sandbox */
	(void)snprintf(title, sizeof(title), "conmon: logger %s", rc->short_id);
	l->chan = -1;
	if (sandbox_drop(&sc, &l->chan, err, sizeof(err)) < 0) {
		if (l->chan >= 0)
			diag_to_chan(l->chan); /* moved before the failure */
		fatalx("logger sandbox: %s", err);
	}
	diag_to_chan(l->chan);
	l->rbuf = io_buf_new(LOG_READ_MAX);
	l->read_max = LOG_READ_MAX; /* no attach client yet (sndbuf.c) */
	l->obuf = io_buf_new(LOG_OUT_MAX);
	log_jd_init(l);
	cfg = event_config_new();
	/* attach clients: edge-triggered writes and hang-ups (clients.c) */
	if (l->rbuf == NULL || l->obuf == NULL || cfg == NULL ||
	    event_config_set_flag(cfg, EVENT_BASE_FLAG_NOLOCK) < 0 ||
	    event_config_require_features(cfg,
		EV_FEATURE_ET | EV_FEATURE_EARLY_CLOSE) < 0)
		fatalx("logger: out of memory");
	/* built before seccomp, so epoll_create1 is not in the profile */
	l->base = event_base_new_with_config(cfg);
	event_config_free(cfg);
	/* two priorities: the broker pair first (a client handed over
	 * gets the chunk read in the same wake-up), then the rest */
	if (l->base == NULL || event_base_priority_init(l->base, 2) < 0)
		fatalx("logger: cannot create the event loop");
	if (io_set_nonblock(l->chan, true) < 0)
		fatal("logger: channel");
	l->chan_ev = event_new(l->base, l->chan, EV_READ | EV_PERSIST,
	    chan_cb, l);
	if (l->chan_ev == NULL || event_add(l->chan_ev, NULL) < 0)
		fatalx("logger: cannot watch the channel");
	if (log_input_init(l) < 0)
		fatalx("logger: cannot set up client input");
	if (sandbox_seccomp("logger", l->chan, err, sizeof(err)) < 0)
		fatalx("logger sandbox: %s", err);
}

VIGIL_NORETURN void
log_main(const struct role_conf *rc)
{
	static struct logger l;
	static struct role_progress own; /* a reaper without the page */
	struct chan_hello hello = {
		.role = CHAN_LOGGER,
		.version = CHAN_VERSION,
	};

	l.conf = rc;
	l.prog = rc->progress != NULL ? rc->progress : &own;
	l.sink_fd = -1;
	l.src[0].fd = l.src[1].fd = -1;
	log_peer_init(&l);
	l.lim.max = rc->log_size_max;
	l.lim.global_max = rc->log_global_size_max;
	setup(&l, rc);
	hello.pid = (int32_t)getpid();
	log_send(&l, CHAN_HELLO, &hello, sizeof(hello));
#ifdef VIGIL_FAULTS
	/* chan.corrupt_next=logger: the next message after HELLO, so the
	 * start itself succeeds (a logger dead before HELLO fails it) */
	if (strcmp(FAULT_WORD(CHAN_CORRUPT_NEXT), "logger") == 0)
		chan_fault_corrupt_next(l.chan);
#endif
	sandbox_trim(); /* the sandbox's pages; the loop needs few */
	(void)event_base_dispatch(l.base);
	_exit(0);
}
