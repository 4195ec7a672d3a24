/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/logger/frames_test.c: output frames in-process, on a real
 * socketpair: split at 8192 data bytes in order (spec 7.3), the stream
 * byte, nothing while not forwarding; a full pair waits for room, for
 * LOG_PEER_STALL_MS at most, then frames without room are dropped and
 * counted, never blocking (architecture.md "Channels", security 9).
 */
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>
#include <event2/event.h>

#include "common/chan.h"
#include "logger/logger.h"

static struct logger l;
static int broker = -1;
static char data[LOG_READ_MAX + 100];

static void
setup(void)
{
	int sv[2];

	memset(&l, 0, sizeof(l));
	log_peer_init(&l);
	l.base = event_base_new();
	cr_assert_not_null(l.base);
	cr_assert_eq(chan_pair(sv), 0);
	log_peer_set(&l, 7, sv[0]);
	broker = sv[1];
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)(i * 7 + i / 251);
}

static void
teardown(void)
{
	log_peer_close(&l);
	event_base_free(l.base);
	if (broker >= 0)
		(void)close(broker); /* test end */
}

/* The next frame on the broker's end, or 0 when none is queued. */
static int
next_frame(struct chan_msg *m)
{
	const char *why = NULL;
	int rc = chan_recv(broker, CHAN_LOGGER, m, &why);

	if (rc < 0 && errno == EAGAIN)
		return 0;
	cr_assert_eq(rc, 1, "chan_recv: %s", why ? why : strerror(errno));
	cr_assert_eq(m->type, CHAN_OUTPUT);
	return 1;
}

/* A chunk as the reader gives it; true when all its frames are out. */
static bool
send_chunk(unsigned stream, const char *p, size_t len)
{
	log_frames_queue(&l, stream, p, len);
	return log_frames_flush(&l);
}

static double
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

TestSuite(frames, .init = setup, .fini = teardown);

Test(frames, splits_chunk_into_ordered_frames)
{
	struct chan_msg m;
	size_t off = 0, frames = 0;

	cr_assert_eq(fcntl(broker, F_SETFL, O_NONBLOCK), 0);
	(void)send_chunk(CHAN_STREAM_STDOUT, data, sizeof(data));
	while (next_frame(&m)) {
		cr_assert_leq(m.len, CHAN_OUTPUT_MAX);
		cr_assert_geq(m.len, 2);
		cr_expect_eq(m.u.raw[0], CHAN_STREAM_STDOUT);
		cr_assert_leq(off + m.len - 1, sizeof(data));
		cr_assert_eq(memcmp(m.u.raw + 1, data + off, m.len - 1), 0,
		    "frame %zu differs", frames);
		off += m.len - 1;
		frames++;
	}
	cr_expect_eq(off, sizeof(data));
	/* 8 full frames, then the 100 bytes over LOG_READ_MAX */
	cr_expect_eq(frames, LOG_READ_MAX / CHAN_OUTPUT_DATA_MAX + 1);
	cr_expect_eq(l.peer.dropped, 0);
}

Test(frames, carries_stderr_stream_byte)
{
	struct chan_msg m;

	cr_assert_eq(fcntl(broker, F_SETFL, O_NONBLOCK), 0);
	(void)send_chunk(CHAN_STREAM_STDERR, "oops\n", 5);
	cr_assert_eq(next_frame(&m), 1);
	cr_expect_eq(m.len, 6);
	cr_expect_eq(memcmp(m.u.raw, "\3oops\n", 6), 0);
	cr_expect_eq(next_frame(&m), 0);
}

Test(frames, sends_nothing_while_not_forwarding)
{
	struct chan_msg m;

	cr_assert_eq(fcntl(broker, F_SETFL, O_NONBLOCK), 0);
	l.peer.forwarding = false;
	(void)send_chunk(CHAN_STREAM_STDOUT, data, 100);
	cr_expect_eq(next_frame(&m), 0);
	cr_expect_eq(l.peer.dropped, 0, "not forwarding is no drop");
}

Test(frames, sends_nothing_without_a_pair)
{
	log_peer_close(&l);
	(void)send_chunk(CHAN_STREAM_STDOUT, data, 100);
	cr_expect_eq(l.peer.fd, -1);
	cr_expect_eq(l.peer.dropped, 0);
}

/* spec 7.3: a broker that reads slowly: the chunk waits, nothing lost. */
Test(frames, waits_for_room_and_continues)
{
	struct chan_msg m;
	uint64_t sent = 0, got = 0;

	cr_assert_eq(fcntl(broker, F_SETFL, O_NONBLOCK), 0);
	while (send_chunk(CHAN_STREAM_STDOUT, data, LOG_READ_MAX)) {
		sent += LOG_READ_MAX;
		cr_assert_lt(sent, 64 * LOG_READ_MAX, "the pair never filled");
	}
	sent += LOG_READ_MAX;
	cr_expect(l.peer.blocked);
	cr_expect_gt(l.peer.pend_len, 0);
	/* frames read one by one: once there is room, the write event sends
	 * on (a unix socket is writable again at a quarter full) */
	while (l.peer.blocked) {
		cr_assert_eq(next_frame(&m), 1, "waits with the pair empty");
		got += m.len - 1;
		cr_assert_neq(event_base_loop(l.base, EVLOOP_NONBLOCK), -1);
	}
	while (next_frame(&m))
		got += m.len - 1;
	cr_expect_eq(got, sent);
	cr_expect_eq(l.peer.dropped, 0);
	cr_expect_not(l.peer.stalled);
}

/* security 9: a broker that never reads: one stall, then drops, whole. */
Test(frames, stalls_once_then_drops_and_counts)
{
	struct chan_msg m;
	uint64_t sent = 0, got = 0;
	double t0, ms;

	cr_assert_eq(fcntl(broker, F_SETFL, O_NONBLOCK), 0);
	while (send_chunk(CHAN_STREAM_STDOUT, data, LOG_READ_MAX)) {
		sent += LOG_READ_MAX;
		cr_assert_lt(sent, 64 * LOG_READ_MAX, "the pair never filled");
	}
	sent += LOG_READ_MAX;
	cr_expect_eq(l.peer.dropped, 0, "dropped before the stall");
	t0 = now_ms();
	cr_assert_eq(event_base_loop(l.base, EVLOOP_ONCE), 0);
	ms = now_ms() - t0;
	cr_expect_geq(ms, LOG_PEER_STALL_MS - 10, "stalled %.0f ms", ms);
	cr_expect_lt(ms, 2 * LOG_PEER_STALL_MS, "stalled %.0f ms", ms);
	cr_expect_not(l.peer.blocked);
	cr_expect(l.peer.stalled);
	cr_assert_gt(l.peer.dropped, 0, "the chunk's rest not dropped");
	/* from now on no wait: frames without room are dropped at once */
	for (int i = 0; i < 8; i++) {
		cr_assert(send_chunk(CHAN_STREAM_STDOUT, data, LOG_READ_MAX));
		sent += LOG_READ_MAX;
	}
	cr_expect_eq(l.peer.dropping, l.peer.dropped);
	cr_expect_eq(l.peer.dropped % CHAN_OUTPUT_DATA_MAX, 0,
	    "only whole frames are dropped");
	while (next_frame(&m)) {
		cr_assert_eq(m.len, CHAN_OUTPUT_MAX);
		got += m.len - 1;
	}
	cr_expect_eq(got + l.peer.dropped, sent);
	/* room again: the next frame goes out and ends the episode */
	cr_assert(send_chunk(CHAN_STREAM_STDOUT, data, 10));
	cr_expect_eq(l.peer.dropping, 0);
	cr_expect_not(l.peer.stalled);
	cr_expect_eq(got + l.peer.dropped, sent);
	cr_assert_eq(next_frame(&m), 1);
	cr_expect_eq(m.len, 11);
}

/* The broker's last client left: the waiting frames are moot, no drop. */
Test(frames, no_clients_ends_the_wait)
{
	struct chan_att_clients c = { .attached = 0 };

	cr_assert_eq(fcntl(broker, F_SETFL, O_NONBLOCK), 0);
	for (int i = 0; i < 64 && send_chunk(CHAN_STREAM_STDOUT, data,
					 LOG_READ_MAX); i++)
		;
	cr_assert(l.peer.blocked, "the pair never filled");
	cr_assert_eq(chan_send(broker, CHAN_ATT_CLIENTS, &c, sizeof(c), -1),
	    0);
	cr_assert_eq(event_base_loop(l.base, EVLOOP_ONCE), 0);
	cr_expect_not(l.peer.blocked);
	cr_expect_eq(l.peer.pend_len, 0);
	cr_expect_eq(l.peer.dropped, 0);
}

Test(frames, new_pair_replaces_and_closes_old)
{
	struct chan_msg m;
	const char *why = NULL;
	int sv[2];

	cr_assert_eq(chan_pair(sv), 0);
	l.peer.forwarding = false;
	log_peer_set(&l, 8, sv[0]);
	cr_expect_eq(l.peer.generation, 8);
	cr_expect(l.peer.forwarding, "a new pair forwards until told");
	cr_expect_eq(chan_recv(broker, CHAN_LOGGER, &m, &why), 0,
	    "old pair not closed");
	(void)close(broker); /* the old broker end */
	broker = sv[1];
	cr_assert_eq(fcntl(broker, F_SETFL, O_NONBLOCK), 0);
	(void)send_chunk(CHAN_STREAM_STDOUT, "x", 1);
	cr_expect_eq(next_frame(&m), 1);
}

/* A broker gone (its end closed): the pair is closed, quietly. */
Test(frames, closes_pair_when_broker_is_gone)
{
	(void)close(broker); /* the broker dies */
	broker = -1;
	(void)send_chunk(CHAN_STREAM_STDOUT, data, 100);
	cr_expect_eq(l.peer.fd, -1);
	cr_expect_eq(l.peer.dropped, 0);
}
