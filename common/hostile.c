/* SPDX-License-Identifier: Apache-2.0 */
/*
 * common/hostile.c: a child turned hostile on purpose (common/hostile.h),
 * FAULTS=1 builds only. Everything it sends goes through chan_send or
 * chan_send_raw; it opens nothing and signals nobody, so the sandbox
 * allows it: what it shows is what a compromised child could do.
 */
#ifndef VIGIL_FAULTS
#error "common/hostile.c belongs only to FAULTS=1 builds"
#endif

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/chan.h"
#include "common/diag.h"
#include "common/hostile.h"

/* A flood lasts this long, sending up to HOSTILE_BATCH per tick. */
#define HOSTILE_FLOOD_MS 3000
#define HOSTILE_TICK_MS	 1
#define HOSTILE_BATCH	 256
/* stop_reading gives up (reads again) after this: the reaper was meant
 * to kill it long before */
#define HOSTILE_STOP_MS 20000

enum hostile_flood { FLOOD_DIAG, FLOOD_REOPEN, FLOOD_STOP };

static struct {
	struct event_base *base;
	int chan;
	struct event *chan_ev;
	struct event *tick;
	unsigned role;
	enum hostile_flood flood;
	uint32_t generation;
	uint64_t start_ms;
	unsigned long sent, refused;
	bool over;
} h;

static uint64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts); /* cannot fail */
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * A header and payload as one raw datagram; hdr_len as the header says.
 * A NULL p is len zero bytes.
 */
static void
raw(unsigned type, uint32_t hdr_len, const void *p, size_t len, const int *fds,
    size_t nfds)
{
	static unsigned char buf[CHAN_MSG_MAX + 64];
	struct chan_hdr hdr = {.type = (uint16_t)type, .len = hdr_len};

	if (len > sizeof(buf) - sizeof(hdr))
		len = sizeof(buf) - sizeof(hdr);
	memcpy(buf, &hdr, sizeof(hdr));
	if (p != NULL)
		memcpy(buf + sizeof(hdr), p, len);
	else
		memset(buf + sizeof(hdr), 0, len);
	if (chan_send_raw(h.chan, buf, sizeof(hdr) + len, fds, nfds) < 0)
		fatal("hostile: send failed:");
}

static int
send_one(void)
{
	static const unsigned char diag[] = "\001hostile: diagnostic flood";
	struct chan_log_reopen r = {.sink = CHAN_SINK_K8S};
	struct chan_peer p = {.generation = h.generation};

	switch (h.flood) {
	case FLOOD_DIAG:
		return chan_send(h.chan, CHAN_DIAG, diag, sizeof(diag) - 1, -1);
	case FLOOD_REOPEN:
		return chan_send(h.chan, CHAN_LOG_REOPEN, &r, sizeof(r), -1);
	case FLOOD_STOP:
		if (h.role == CHAN_LOGGER)
			return chan_send(
			    h.chan, CHAN_LOG_REOPEN, &r, sizeof(r), -1);
		/* each one the reaper takes makes it send a new pair to
		 * both children: the next generation is one up */
		if (chan_send(h.chan, CHAN_PEER_LOST, &p, sizeof(p), -1) < 0)
			return -1;
		h.generation++;
		return 0;
	}
	return -1;
}

static void
tick_cb(evutil_socket_t fd VIGIL_UNUSED, short what VIGIL_UNUSED,
    void *arg VIGIL_UNUSED)
{
	struct timeval tv = {.tv_sec = 0, .tv_usec = HOSTILE_TICK_MS * 1000};
	uint64_t limit =
	    h.flood == FLOOD_STOP ? HOSTILE_STOP_MS : HOSTILE_FLOOD_MS;

	if (h.over) {
		/* after a pause, so the DIAG bucket has a token again */
		diag_warnx(
		    "hostile: flood over: %lu sent, %lu refused (EAGAIN)",
		    h.sent, h.refused);
		return;
	}
	if (now_ms() - h.start_ms >= limit) {
		h.over = true;
		if (h.flood == FLOOD_STOP && event_add(h.chan_ev, NULL) < 0)
			fatalx("hostile: cannot watch the channel again");
		tv.tv_sec = 1;
		tv.tv_usec = 0;
		if (evtimer_add(h.tick, &tv) < 0)
			fatalx("hostile: timer");
		return;
	}
	for (int i = 0; i < HOSTILE_BATCH; i++) {
		if (send_one() == 0) {
			h.sent++;
			continue;
		}
		if (errno != EAGAIN)
			fatal("hostile: send failed:");
		h.refused++;
		break;
	}
	if (evtimer_add(h.tick, &tv) < 0)
		fatalx("hostile: timer");
}

static void
flood(enum hostile_flood f)
{
	h.flood = f;
	h.start_ms = now_ms();
	if (f == FLOOD_STOP && event_del(h.chan_ev) < 0)
		fatalx("hostile: cannot stop reading");
	h.tick = evtimer_new(h.base, tick_cb, NULL);
	if (h.tick == NULL)
		fatalx("hostile: out of memory");
	tick_cb(-1, 0, NULL);
}

/* security 33 on the logger<->broker pair: the peer renews it. */
static void
bad_client_id(int peer)
{
	struct chan_att_client a = {.id = 0};
	int fds[1] = {0}; /* /dev/null, since the sandbox (life.c) */

	if (peer < 0)
		fatalx("hostile: bad_client_id without a peer");
	h.chan = peer;
	if (h.role == CHAN_LOGGER)
		raw(CHAN_ATT_CLIENT_GONE, sizeof(a), &a, sizeof(a), NULL, 0);
	else
		raw(CHAN_ATT_CLIENT, sizeof(a), &a, sizeof(a), fds, 1);
}

void
hostile_act(struct event_base *base, int chan, struct event *chan_ev,
    unsigned role, const char *kind, int peer, uint32_t generation)
{
	static const unsigned char ctl_text[] =
	    "\001hostile: esc \033[2J bell \007 nul \000 del \177 hi \377 end";
	struct chan_hello hello = {
	    .role = role, .version = CHAN_VERSION, .pid = (int32_t)getpid()};
	struct chan_log_reopen bad_sink = {.sink = 9};
	unsigned char level[] = {9, 'x'};
	int fds[2] = {0, 1}; /* /dev/null, since the sandbox (life.c) */

	h.base = base;
	h.chan = chan;
	h.chan_ev = chan_ev;
	h.role = role;
	h.generation = generation;
	if (strcmp(kind, "short") == 0) {
		if (chan_send_raw(chan, "\001\000\000", 3, NULL, 0) < 0)
			fatal("hostile: send failed:");
	} else if (strcmp(kind, "length_mismatch") == 0) {
		raw(CHAN_DIAG, 40, "\001abc", 4, NULL, 0);
	} else if (strcmp(kind, "oversized") == 0) {
		raw(CHAN_DIAG, CHAN_MSG_MAX + 32, NULL, CHAN_MSG_MAX + 32, NULL,
		    0);
	} else if (strcmp(kind, "unknown_type") == 0) {
		raw(CHAN_TYPE_MAX + 40, 0, NULL, 0, NULL, 0);
	} else if (strcmp(kind, "downward_type") == 0) {
		raw(CHAN_LOG_DRAIN, 0, NULL, 0, NULL, 0);
	} else if (strcmp(kind, "stdin_closed") == 0) {
		raw(CHAN_ATT_STDIN_CLOSED, 0, NULL, 0, NULL, 0);
	} else if (strcmp(kind, "pair_type") == 0) {
		/* a pair-only type, to the reaper */
		raw(CHAN_ATT_HANDOVER_DONE, 0, NULL, 0, NULL, 0);
	} else if (strcmp(kind, "second_hello") == 0) {
		raw(CHAN_HELLO, sizeof(hello), &hello, sizeof(hello), NULL, 0);
	} else if (strcmp(kind, "drained_unasked") == 0) {
		struct chan_log_drained d = {.bytes_read = 1};
		raw(CHAN_LOG_DRAINED, sizeof(d), &d, sizeof(d), NULL, 0);
	} else if (strcmp(kind, "fd_attached") == 0) {
		raw(CHAN_DIAG, 4, "\001abc", 4, fds, 1);
	} else if (strcmp(kind, "two_fds") == 0) {
		raw(CHAN_DIAG, 4, "\001abc", 4, fds, 2);
	} else if (strcmp(kind, "bad_sink") == 0) {
		raw(CHAN_LOG_REOPEN, sizeof(bad_sink), &bad_sink,
		    sizeof(bad_sink), NULL, 0);
	} else if (strcmp(kind, "bad_level") == 0) {
		raw(CHAN_DIAG, sizeof(level), level, sizeof(level), NULL, 0);
	} else if (strcmp(kind, "diag_control") == 0) {
		raw(CHAN_DIAG, sizeof(ctl_text) - 1, ctl_text,
		    sizeof(ctl_text) - 1, NULL, 0);
	} else if (strcmp(kind, "bad_client_id") == 0) {
		bad_client_id(peer);
	} else if (strcmp(kind, "diag_flood") == 0) {
		flood(FLOOD_DIAG);
	} else if (strcmp(kind, "reopen_flood") == 0) {
		flood(FLOOD_REOPEN);
	} else if (strcmp(kind, "stop_reading") == 0) {
		flood(FLOOD_STOP);
	} else {
		fatalx("hostile: unknown kind '%s'", kind);
	}
}
