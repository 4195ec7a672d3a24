/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/common/chan_test.c: common/chan.c and common/chan_msg.c over
 * real socketpairs. Every rejection must also leave the fd count unchanged
 * (security 30-32); raw sendmsg here is how a hostile peer is played.
 */
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/uio.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/chan.h"
#include "common/diag.h"
#include "common/io.h"

/* sv[0] is the reaper's end, sv[1] the child's. */
static int sv[2] = {-1, -1};

static void
chan_test_setup(void)
{
	cr_assert_eq(chan_pair(sv), 0, "chan_pair: %s", strerror(errno));
}

static void
chan_test_teardown(void)
{
	if (sv[0] >= 0)
		(void)close(sv[0]); /* test cleanup */
	if (sv[1] >= 0)
		(void)close(sv[1]); /* test cleanup */
	sv[0] = sv[1] = -1;
}

/* A test that blocks (on an end of file that never comes) fails. */
TestSuite(
    chan, .init = chan_test_setup, .fini = chan_test_teardown, .timeout = 10);

/* Open fds of this process (the directory's own fd counts every time). */
static int
fd_count(void)
{
	struct dirent *de;
	DIR *d;
	int n = 0;

	d = opendir("/proc/self/fd");
	cr_assert_not_null(d, "opendir /proc/self/fd: %s", strerror(errno));
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	(void)closedir(d); /* read-only directory */
	return n;
}

static void
put_hdr(unsigned char *buf, unsigned type, unsigned flags, uint32_t len)
{
	struct chan_hdr h;

	h.type = (uint16_t)type;
	h.flags = (uint16_t)flags;
	h.len = len;
	memcpy(buf, &h, sizeof(h));
}

/* A hostile peer: any bytes, any number of fds, in one datagram. */
static void
raw_send(int sock, const void *buf, size_t n, const int *fds, size_t nfds)
{
	union {
		struct cmsghdr align;
		unsigned char buf[CMSG_SPACE(8 * sizeof(int))];
	} ctl;
	struct iovec iov;
	struct msghdr mh;
	struct cmsghdr *cm;
	ssize_t r;

	cr_assert_leq(nfds, 8);
	iov.iov_base = (void *)(uintptr_t)buf;
	iov.iov_len = n;
	memset(&mh, 0, sizeof(mh));
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	if (nfds > 0) {
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.buf;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	r = sendmsg(sock, &mh, MSG_NOSIGNAL);
	cr_assert_eq(r, (ssize_t)n, "sendmsg: %s", strerror(errno));
}

/* A header and `len` payload bytes of `type`, sent raw. */
static void
raw_msg(int sock, unsigned type, size_t len, const int *fds, size_t nfds)
{
	unsigned char buf[CHAN_MSG_MAX + 16];

	cr_assert_leq(len, sizeof(buf) - sizeof(struct chan_hdr));
	memset(buf, 0, sizeof(buf));
	put_hdr(buf, type, 0, (uint32_t)len);
	raw_send(sock, buf, sizeof(struct chan_hdr) + len, fds, nfds);
}

static void
expect_reject(int sock, unsigned peer, const char *want, int fds_before)
{
	struct chan_msg m;
	const char *why = NULL;

	errno = 0;
	cr_assert_eq(chan_recv(sock, peer, &m, &why), -1);
	cr_assert_eq(errno, EPROTO, "errno %d", errno);
	cr_assert_not_null(why);
	cr_assert_str_eq(why, want);
	cr_assert_eq(fd_count(), fds_before, "fd leaked after \"%s\"", want);
}

/*
 * After the test drops its own write end, the pipe reads end of file only
 * if no copy of that end survived anywhere in the process.
 */
static void
expect_no_writer(int rfd)
{
	char c;

	cr_assert_eq(io_set_nonblock(rfd, true), 0);
	cr_assert_eq(read(rfd, &c, 1), 0, "a passed write end is still open");
}

static void
make_pipe(int p[2])
{
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0, "pipe2: %s", strerror(errno));
}

/* Sends one fd-less message of `type` and expects it back intact. */
static void
round_trip(int from_sock, int to_sock, unsigned peer, unsigned type, size_t len)
{
	unsigned char payload[CHAN_PAYLOAD_MAX];
	struct chan_msg m;
	const char *why = NULL;

	for (size_t i = 0; i < len; i++)
		payload[i] = (unsigned char)(i * 7 + type);
	cr_assert_eq(chan_send(from_sock, type, payload, len, -1), 0,
	    "send %u: %s", type, strerror(errno));
	cr_assert_eq(chan_recv(to_sock, peer, &m, &why), 1, "recv %u: %s", type,
	    why != NULL ? why : strerror(errno));
	cr_assert_eq(m.type, type);
	cr_assert_eq(m.len, len);
	cr_assert_eq(m.fd, -1);
	cr_assert_arr_eq(m.u.raw, payload, len);
}

/* Sends `type` with a pipe's write end and checks the copy that arrives. */
static void
round_trip_fd(
    int from_sock, int to_sock, unsigned peer, unsigned type, size_t len)
{
	unsigned char payload[CHAN_PAYLOAD_MAX];
	struct chan_msg m;
	const char *why = NULL;
	int p[2];
	char c = 0;

	memset(payload, 0x5a, len);
	make_pipe(p);
	cr_assert_eq(chan_send(from_sock, type, payload, len, p[1]), 0,
	    "send %u: %s", type, strerror(errno));
	(void)close(p[1]); /* the sender keeps its copy: ours to drop */
	cr_assert_eq(chan_recv(to_sock, peer, &m, &why), 1, "recv %u: %s", type,
	    why != NULL ? why : strerror(errno));
	cr_assert_eq(m.type, type);
	cr_assert_eq(m.len, len);
	cr_assert_arr_eq(m.u.raw, payload, len);
	cr_assert_geq(m.fd, 0);
	cr_assert(fcntl(m.fd, F_GETFD) & FD_CLOEXEC, "passed fd not cloexec");
	cr_assert_eq(write(m.fd, "x", 1), 1, "passed fd unusable");
	cr_assert_eq(read(p[0], &c, 1), 1);
	cr_assert_eq(c, 'x');
	(void)close(m.fd); /* test cleanup */
	expect_no_writer(p[0]);
	(void)close(p[0]); /* test cleanup */
}

Test(chan, pair_is_seqpacket_and_cloexec)
{
	socklen_t sl;
	int type;

	for (size_t i = 0; i < 2; i++) {
		sl = sizeof(type);
		cr_assert_eq(
		    getsockopt(sv[i], SOL_SOCKET, SO_TYPE, &type, &sl), 0);
		cr_assert_eq(type, SOCK_SEQPACKET);
		cr_assert(fcntl(sv[i], F_GETFD) & FD_CLOEXEC);
	}
}

/* Every type, at both payload bounds, from every role allowed to send it. */
Test(chan, round_trips_every_type)
{
	static const unsigned roles[] = {CHAN_LOGGER, CHAN_BROKER};

	for (unsigned t = CHAN_NONE + 1; t < CHAN_TYPE_MAX; t++) {
		const struct chan_spec *s = chan_spec_of(t);
		size_t lens[2];

		cr_assert_not_null(s, "type %u has no table entry", t);
		lens[0] = s->min_len;
		lens[1] = s->max_len;
		for (size_t l = 0; l < 2; l++) {
			if (s->from & CHAN_REAPER) {
				if (s->fds == 1)
					round_trip_fd(sv[0], sv[1], CHAN_REAPER,
					    t, lens[l]);
				else
					round_trip(sv[0], sv[1], CHAN_REAPER, t,
					    lens[l]);
			}
			for (size_t r = 0; r < VIGIL_NELEM(roles); r++) {
				if ((s->from & roles[r]) == 0)
					continue;
				if (s->fds == 1)
					round_trip_fd(sv[1], sv[0], roles[r], t,
					    lens[l]);
				else
					round_trip(
					    sv[1], sv[0], roles[r], t, lens[l]);
			}
		}
	}
}

Test(chan, passes_log_sink_fd)
{
	round_trip_fd(sv[0], sv[1], CHAN_REAPER, CHAN_LOG_SINK,
	    sizeof(struct chan_log_sink));
}

Test(chan, passes_log_source_fd)
{
	round_trip_fd(sv[0], sv[1], CHAN_REAPER, CHAN_LOG_SOURCE,
	    sizeof(struct chan_log_source));
}

Test(chan, passes_peer_fd)
{
	round_trip_fd(
	    sv[0], sv[1], CHAN_REAPER, CHAN_PEER, sizeof(struct chan_peer));
}

Test(chan, passes_att_fd)
{
	round_trip_fd(sv[0], sv[1], CHAN_REAPER, CHAN_ATT_FD,
	    sizeof(struct chan_att_fd));
}

/* An attach client socket, broker -> logger, passes like any fd. */
Test(chan, passes_att_client)
{
	int lp[2];

	cr_assert_eq(chan_pair(lp), 0);
	round_trip_fd(lp[0], lp[1], CHAN_BROKER, CHAN_ATT_CLIENT,
	    sizeof(struct chan_att_client));
	(void)close(lp[0]); /* test cleanup */
	(void)close(lp[1]);
}

/* The broker's and the pair's payloads arrive field for field. */
Test(chan, round_trips_broker_fields)
{
	struct chan_att_client c = {.id = 0xfffffffeu};
	struct chan_att_closed d = {.clients = 1000}, dg;
	struct chan_peer p = {.generation = 77}, pg;
	struct chan_msg m;
	const char *why = NULL;

	cr_assert_eq(
	    chan_send(sv[1], CHAN_ATT_CLIENT_GONE, &c, sizeof(c), -1), 0);
	cr_assert_eq(chan_recv(sv[0], CHAN_LOGGER, &m, &why), 1, "%s", why);
	cr_assert_eq(m.type, CHAN_ATT_CLIENT_GONE);
	cr_assert_eq(m.u.att_client.id, 0xfffffffeu);
	cr_assert_eq(chan_send(sv[1], CHAN_ATT_CLOSED, &d, sizeof(d), -1), 0);
	cr_assert_eq(chan_recv(sv[0], CHAN_BROKER, &m, &why), 1, "%s", why);
	memcpy(&dg, m.u.raw, sizeof(dg));
	cr_assert_eq(dg.clients, 1000);
	cr_assert_eq(chan_send(sv[1], CHAN_PEER_LOST, &p, sizeof(p), -1), 0);
	cr_assert_eq(chan_recv(sv[0], CHAN_BROKER, &m, &why), 1, "%s", why);
	memcpy(&pg, m.u.raw, sizeof(pg));
	cr_assert_eq(pg.generation, 77);
	cr_assert_eq(chan_send(sv[1], CHAN_ATT_STDIN_CLOSED, NULL, 0, -1), 0);
	cr_assert_eq(chan_recv(sv[0], CHAN_LOGGER, &m, &why), 1, "%s", why);
	cr_assert_eq(m.type, CHAN_ATT_STDIN_CLOSED);
	cr_assert_eq(m.len, 0);
	cr_assert_eq(
	    chan_send(sv[1], CHAN_ATT_HANDOVER_DONE, NULL, 0, -1), 0);
	cr_assert_eq(chan_recv(sv[0], CHAN_BROKER, &m, &why), 1, "%s", why);
	cr_assert_eq(m.type, CHAN_ATT_HANDOVER_DONE);
	cr_assert_eq(m.len, 0);
	cr_assert_eq(chan_send(sv[0], CHAN_ATT_CLOSE, NULL, 0, -1), 0);
	cr_assert_eq(chan_recv(sv[1], CHAN_REAPER, &m, &why), 1, "%s", why);
	cr_assert_eq(m.type, CHAN_ATT_CLOSE);
}

Test(chan, round_trips_hello_fields)
{
	struct chan_hello h = {
	    .role = CHAN_LOGGER, .version = CHAN_VERSION, .pid = 4242};
	struct chan_msg m;
	const char *why = NULL;

	cr_assert_eq(chan_send(sv[1], CHAN_HELLO, &h, sizeof(h), -1), 0);
	cr_assert_eq(chan_recv(sv[0], CHAN_LOGGER, &m, &why), 1);
	cr_assert_eq(m.u.hello.role, CHAN_LOGGER);
	cr_assert_eq(m.u.hello.version, CHAN_VERSION);
	cr_assert_eq(m.u.hello.pid, 4242);
	cr_assert_eq(m.u.hello.pad, 0);
}

/* security 30: a datagram over the bound comes back MSG_TRUNC */
Test(chan, rejects_oversized_datagram)
{
	unsigned char buf[CHAN_MSG_MAX + 2];
	int p[2], before;

	make_pipe(p);
	before = fd_count();
	memset(buf, 'a', sizeof(buf));
	put_hdr(buf, CHAN_DIAG, 0, sizeof(buf) - sizeof(struct chan_hdr));
	raw_send(sv[1], buf, sizeof(buf), &p[1], 1);
	expect_reject(sv[0], CHAN_LOGGER, "truncated", before);
	(void)close(p[1]); /* test's own copy */
	expect_no_writer(p[0]);
	(void)close(p[0]); /* test cleanup */
}

/* security 32: more fds than the control buffer holds: MSG_CTRUNC */
Test(chan, rejects_too_many_fds)
{
	int p[2], fds[6], before;

	make_pipe(p);
	for (size_t i = 0; i < VIGIL_NELEM(fds); i++)
		fds[i] = p[1];
	before = fd_count();
	raw_msg(sv[1], CHAN_HELLO, sizeof(struct chan_hello), fds,
	    VIGIL_NELEM(fds));
	expect_reject(sv[0], CHAN_LOGGER, "truncated", before);
	(void)close(p[1]); /* test's own copy */
	expect_no_writer(p[0]);
	(void)close(p[0]); /* test cleanup */
}

Test(chan, rejects_short_header)
{
	unsigned char buf[sizeof(struct chan_hdr) - 1];
	int before = fd_count();

	memset(buf, 0, sizeof(buf));
	buf[0] = CHAN_HELLO;
	raw_send(sv[1], buf, sizeof(buf), NULL, 0);
	expect_reject(sv[0], CHAN_LOGGER, "short header", before);
}

/* An empty datagram is not end of file when it carries an fd. */
Test(chan, rejects_empty_datagram_with_fd)
{
	int p[2], before;

	make_pipe(p);
	before = fd_count();
	raw_send(sv[1], "", 0, &p[1], 1);
	expect_reject(sv[0], CHAN_LOGGER, "short header", before);
	(void)close(p[1]); /* test's own copy */
	expect_no_writer(p[0]);
	(void)close(p[0]); /* test cleanup */
}

Test(chan, rejects_length_over_datagram)
{
	unsigned char buf[sizeof(struct chan_hdr) + 8];
	int before = fd_count();

	memset(buf, 0, sizeof(buf));
	put_hdr(buf, CHAN_HELLO, 0, sizeof(struct chan_hello));
	raw_send(sv[1], buf, sizeof(buf), NULL, 0);
	expect_reject(sv[0], CHAN_LOGGER, "length mismatch", before);
}

Test(chan, rejects_length_under_datagram)
{
	unsigned char buf[sizeof(struct chan_hdr) + 24];
	int before = fd_count();

	memset(buf, 0, sizeof(buf));
	put_hdr(buf, CHAN_HELLO, 0, sizeof(struct chan_hello));
	raw_send(sv[1], buf, sizeof(buf), NULL, 0);
	expect_reject(sv[0], CHAN_LOGGER, "length mismatch", before);
}

Test(chan, rejects_bad_flags)
{
	unsigned char buf[sizeof(struct chan_hdr) + sizeof(struct chan_trap)];
	int before = fd_count();

	memset(buf, 0, sizeof(buf));
	put_hdr(buf, CHAN_TRAP, 1, sizeof(struct chan_trap));
	raw_send(sv[1], buf, sizeof(buf), NULL, 0);
	expect_reject(sv[0], CHAN_LOGGER, "bad flags", before);
}

/* security 31 */
Test(chan, rejects_unknown_type)
{
	static const unsigned types[] = {
	    CHAN_TYPE_MAX, CHAN_TYPE_MAX + 1, 0xffff};
	int before = fd_count();

	for (size_t i = 0; i < VIGIL_NELEM(types); i++) {
		raw_msg(sv[1], types[i], 8, NULL, 0);
		expect_reject(sv[0], CHAN_LOGGER, "unknown type", before);
	}
}

Test(chan, rejects_none_type)
{
	int before = fd_count();

	raw_msg(sv[1], CHAN_NONE, 0, NULL, 0);
	expect_reject(sv[0], CHAN_LOGGER, "unknown type", before);
}

/* security 31: a reaper-to-child type sent upward, with its fd */
Test(chan, rejects_log_sink_from_logger)
{
	struct chan_log_sink s = {.sink = CHAN_SINK_K8S};
	int p[2], before;

	make_pipe(p);
	before = fd_count();
	cr_assert_eq(chan_send(sv[1], CHAN_LOG_SINK, &s, sizeof(s), p[1]), 0);
	expect_reject(
	    sv[0], CHAN_LOGGER, "type not allowed from this peer", before);
	(void)close(p[1]); /* test's own copy */
	expect_no_writer(p[0]);
	(void)close(p[0]); /* test cleanup */
}

Test(chan, rejects_hello_from_reaper)
{
	struct chan_hello h = {
	    .role = CHAN_LOGGER, .version = CHAN_VERSION, .pid = 1};
	int before = fd_count();

	cr_assert_eq(chan_send(sv[0], CHAN_HELLO, &h, sizeof(h), -1), 0);
	expect_reject(
	    sv[1], CHAN_REAPER, "type not allowed from this peer", before);
}

/* Either child may ask for a reopen: the logger at --log-size-max, the
 * broker for a ctl type 2 line (spec 8.4). */
Test(chan, accepts_log_reopen_from_either_child)
{
	static const unsigned roles[] = {CHAN_LOGGER, CHAN_BROKER};
	struct chan_log_reopen r = {.sink = CHAN_SINK_K8S};
	struct chan_msg m;
	const char *why = NULL;

	for (size_t i = 0; i < VIGIL_NELEM(roles); i++) {
		cr_assert_eq(
		    chan_send(sv[1], CHAN_LOG_REOPEN, &r, sizeof(r), -1), 0);
		cr_assert_eq(chan_recv(sv[0], roles[i], &m, &why), 1,
		    "role %u: %s", roles[i], why);
		cr_assert_eq(m.type, CHAN_LOG_REOPEN);
		cr_assert_eq(m.u.log_reopen.sink, CHAN_SINK_K8S);
	}
}

/* security 31: each pair and broker type only from its one sender. */
Test(chan, rejects_types_from_the_wrong_child)
{
	static const struct {
		unsigned type, peer;
		size_t len;
	} bad[] = {
	    {CHAN_ATT_CLIENT_GONE, CHAN_BROKER,
		sizeof(struct chan_att_client)},
	    {CHAN_ATT_STDIN_CLOSED, CHAN_BROKER, 0},
	    {CHAN_ATT_HANDOVER_DONE, CHAN_LOGGER, 0},
	    {CHAN_ATT_CLOSED, CHAN_LOGGER, sizeof(struct chan_att_closed)},
	    {CHAN_LOG_DRAINED, CHAN_BROKER, sizeof(struct chan_log_drained)},
	    {CHAN_ATT_CLOSE, CHAN_BROKER, 0},
	    {CHAN_ATT_CLOSE, CHAN_LOGGER, 0},
	    {CHAN_LOG_DRAIN, CHAN_BROKER, 0},
	};
	int before = fd_count();

	for (size_t i = 0; i < VIGIL_NELEM(bad); i++) {
		raw_msg(sv[1], bad[i].type, bad[i].len, NULL, 0);
		expect_reject(sv[0], bad[i].peer,
		    "type not allowed from this peer", before);
	}
}

/* security 31-32: a reaper-to-child type with its fd, sent upward. */
Test(chan, rejects_fd_types_from_children)
{
	static const struct {
		unsigned type;
		size_t len;
	} down[] = {
	    {CHAN_PEER, sizeof(struct chan_peer)},
	    {CHAN_ATT_FD, sizeof(struct chan_att_fd)},
	    {CHAN_LOG_SOURCE, sizeof(struct chan_log_source)},
	};
	static const unsigned roles[] = {CHAN_LOGGER, CHAN_BROKER};
	int p[2], before;

	make_pipe(p);
	before = fd_count();
	for (size_t i = 0; i < VIGIL_NELEM(down); i++)
		for (size_t r = 0; r < VIGIL_NELEM(roles); r++) {
			raw_msg(sv[1], down[i].type, down[i].len, &p[1], 1);
			expect_reject(sv[0], roles[r],
			    "type not allowed from this peer", before);
		}
	(void)close(p[1]); /* test's own copy */
	expect_no_writer(p[0]);
	(void)close(p[0]); /* test cleanup */
}

/* No role, or a set of roles: only what every one of them may send. */
Test(chan, rejects_for_no_or_mixed_peer)
{
	int before = fd_count();

	raw_msg(sv[1], CHAN_TRAP, sizeof(struct chan_trap), NULL, 0);
	expect_reject(sv[0], 0, "type not allowed from this peer", before);
	raw_msg(sv[1], CHAN_LOG_DRAINED, sizeof(struct chan_log_drained), NULL,
	    0);
	expect_reject(
	    sv[0], CHAN_CHILD, "type not allowed from this peer", before);
	raw_msg(sv[1], CHAN_ATT_CLIENT_GONE, sizeof(struct chan_att_client),
	    NULL, 0);
	expect_reject(
	    sv[0], CHAN_CHILD, "type not allowed from this peer", before);
}

/* A set of roles that may all send a type: allowed. */
Test(chan, accepts_child_types_for_mixed_peer)
{
	struct chan_msg m;
	const char *why = NULL;

	raw_msg(
	    sv[1], CHAN_LOG_REOPEN, sizeof(struct chan_log_reopen), NULL, 0);
	cr_assert_eq(chan_recv(sv[0], CHAN_CHILD, &m, &why), 1, "%s", why);
	raw_msg(sv[1], CHAN_PEER_LOST, sizeof(struct chan_peer), NULL, 0);
	cr_assert_eq(chan_recv(sv[0], CHAN_CHILD, &m, &why), 1, "%s", why);
	cr_assert_eq(m.type, CHAN_PEER_LOST);
}

Test(chan, rejects_payload_too_long)
{
	int before = fd_count();

	raw_msg(sv[1], CHAN_HELLO, sizeof(struct chan_hello) + 1, NULL, 0);
	expect_reject(sv[0], CHAN_LOGGER, "bad payload length", before);
	raw_msg(sv[1], CHAN_DIAG, CHAN_DIAG_MAX + 1, NULL, 0);
	expect_reject(sv[0], CHAN_LOGGER, "bad payload length", before);
	raw_msg(sv[1], CHAN_DIAG, CHAN_PAYLOAD_MAX, NULL, 0);
	expect_reject(sv[0], CHAN_LOGGER, "bad payload length", before);
	raw_msg(sv[0], CHAN_LOG_DRAIN, 1, NULL, 0);
	expect_reject(sv[1], CHAN_REAPER, "bad payload length", before);
}

Test(chan, rejects_payload_too_short)
{
	int before = fd_count();

	raw_msg(sv[1], CHAN_HELLO, sizeof(struct chan_hello) - 1, NULL, 0);
	expect_reject(sv[0], CHAN_LOGGER, "bad payload length", before);
	raw_msg(sv[1], CHAN_DIAG, 1, NULL, 0);
	expect_reject(sv[0], CHAN_LOGGER, "bad payload length", before);
	raw_msg(sv[1], CHAN_LOG_DRAINED, 0, NULL, 0);
	expect_reject(sv[0], CHAN_LOGGER, "bad payload length", before);
}

Test(chan, rejects_missing_fd)
{
	int before = fd_count();

	raw_msg(sv[0], CHAN_LOG_SINK, sizeof(struct chan_log_sink), NULL, 0);
	expect_reject(sv[1], CHAN_REAPER, "wrong fd count", before);
}

/* security 32: any fd from a child */
Test(chan, rejects_extra_fd)
{
	int p[2], before;

	make_pipe(p);
	before = fd_count();
	raw_msg(sv[1], CHAN_HELLO, sizeof(struct chan_hello), &p[1], 1);
	expect_reject(sv[0], CHAN_LOGGER, "wrong fd count", before);
	(void)close(p[1]); /* test's own copy */
	expect_no_writer(p[0]);
	(void)close(p[0]); /* test cleanup */
}

/* security 32: two fds, both closed */
Test(chan, rejects_two_fds)
{
	int p[2], q[2], fds[2], before;

	make_pipe(p);
	make_pipe(q);
	fds[0] = p[1];
	fds[1] = q[1];
	before = fd_count();
	raw_msg(sv[0], CHAN_LOG_SINK, sizeof(struct chan_log_sink), fds, 2);
	expect_reject(sv[1], CHAN_REAPER, "wrong fd count", before);
	(void)close(p[1]); /* test's own copies */
	(void)close(q[1]);
	expect_no_writer(p[0]);
	expect_no_writer(q[0]);
	(void)close(p[0]); /* test cleanup */
	(void)close(q[0]);
}

/* Four fds fit the receive buffer: seen, counted, closed, not truncated. */
Test(chan, rejects_four_fds)
{
	int p[2], fds[4], before;

	make_pipe(p);
	for (size_t i = 0; i < VIGIL_NELEM(fds); i++)
		fds[i] = p[1];
	before = fd_count();
	raw_msg(sv[0], CHAN_LOG_SINK, sizeof(struct chan_log_sink), fds,
	    VIGIL_NELEM(fds));
	expect_reject(sv[1], CHAN_REAPER, "wrong fd count", before);
	(void)close(p[1]); /* test's own copy */
	expect_no_writer(p[0]);
	(void)close(p[0]); /* test cleanup */
}

Test(chan, reads_end_of_file)
{
	struct chan_msg m;
	const char *why = NULL;

	(void)close(sv[1]); /* the child goes away */
	sv[1] = -1;
	cr_assert_eq(chan_recv(sv[0], CHAN_LOGGER, &m, &why), 0);
}

Test(chan, reads_empty_datagram_as_end_of_file)
{
	struct chan_msg m;
	const char *why = NULL;

	raw_send(sv[1], "", 0, NULL, 0);
	cr_assert_eq(chan_recv(sv[0], CHAN_LOGGER, &m, &why), 0);
}

Test(chan, passes_eagain_through)
{
	struct chan_msg m;
	const char *why = NULL;

	cr_assert_eq(io_set_nonblock(sv[0], true), 0);
	errno = 0;
	cr_assert_eq(chan_recv(sv[0], CHAN_LOGGER, &m, &why), -1);
	cr_assert_eq(errno, EAGAIN, "errno %d", errno);
}

/* security 35: a peer that stops reading never blocks the sender */
Test(chan, send_never_blocks)
{
	unsigned char text[CHAN_DIAG_MAX];
	int i, rc = 0;

	memset(text, 'a', sizeof(text));
	text[0] = DIAG_WARN;
	cr_assert_eq(io_set_nonblock(sv[1], true), 0);
	for (i = 0; i < 100000 && rc == 0; i++)
		rc = chan_send(sv[1], CHAN_DIAG, text, sizeof(text), -1);
	cr_assert_eq(rc, -1, "socket never filled");
	cr_assert_eq(errno, EAGAIN, "errno %d", errno);
}

Test(chan, send_to_closed_peer_fails_with_epipe)
{
	struct chan_trap t = {.nr = 1, .arch = 2};
	sigset_t set;

	/* default and unblocked: a SIGPIPE would kill this test */
	cr_assert_neq(signal(SIGPIPE, SIG_DFL), SIG_ERR);
	cr_assert_eq(sigemptyset(&set), 0);
	cr_assert_eq(sigaddset(&set, SIGPIPE), 0);
	cr_assert_eq(sigprocmask(SIG_UNBLOCK, &set, NULL), 0);
	(void)close(sv[0]); /* the reaper's end goes away */
	sv[0] = -1;
	errno = 0;
	cr_assert_eq(chan_send(sv[1], CHAN_TRAP, &t, sizeof(t), -1), -1);
	cr_assert_eq(errno, EPIPE, "errno %d", errno);
}

/* A sender's bug is refused with EINVAL and nothing reaches the wire. */
static void
expect_send_refused(int sock, unsigned type, const void *p, size_t len, int fd)
{
	struct chan_msg m;
	const char *why = NULL;
	int other = sock == sv[0] ? sv[1] : sv[0];

	errno = 0;
	cr_assert_eq(chan_send(sock, type, p, len, fd), -1, "type %u", type);
	cr_assert_eq(errno, EINVAL, "type %u: errno %d", type, errno);
	cr_assert_eq(io_set_nonblock(other, true), 0);
	cr_assert_eq(chan_recv(other, CHAN_REAPER, &m, &why), -1);
	cr_assert_eq(errno, EAGAIN, "type %u: something was sent", type);
}

Test(chan, send_refuses_what_the_table_does_not_allow)
{
	unsigned char buf[CHAN_PAYLOAD_MAX + 1];
	int p[2];

	memset(buf, 0, sizeof(buf));
	make_pipe(p);
	expect_send_refused(sv[1], CHAN_NONE, NULL, 0, -1);
	expect_send_refused(sv[1], CHAN_TYPE_MAX, buf, 8, -1);
	expect_send_refused(sv[1], CHAN_HELLO, buf, 15, -1);
	expect_send_refused(sv[1], CHAN_DIAG, buf, CHAN_DIAG_MAX + 1, -1);
	expect_send_refused(sv[1], CHAN_DIAG, buf, 1, -1);
	expect_send_refused(
	    sv[1], CHAN_TRAP, NULL, sizeof(struct chan_trap), -1);
	expect_send_refused(
	    sv[1], CHAN_HELLO, buf, sizeof(struct chan_hello), p[1]);
	expect_send_refused(
	    sv[0], CHAN_LOG_SINK, buf, sizeof(struct chan_log_sink), -1);
	(void)close(p[0]); /* test cleanup */
	(void)close(p[1]);
}

static int trap_sock = -1;
static volatile sig_atomic_t trap_rc = 1;

static void
chan_test_trap_cb(int sig)
{
	struct chan_trap t = {.nr = sig, .arch = 0xc000003e};
	int saved = errno;

	trap_rc = chan_send(trap_sock, CHAN_TRAP, &t, sizeof(t), -1);
	errno = saved;
}

/* The SIGSYS reporter's use: a send from inside a signal handler. */
Test(chan, sends_from_signal_handler)
{
	struct sigaction sa;
	struct chan_msg m;
	const char *why = NULL;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = chan_test_trap_cb;
	cr_assert_eq(sigaction(SIGUSR1, &sa, NULL), 0);
	trap_sock = sv[1];
	cr_assert_eq(raise(SIGUSR1), 0);
	cr_assert_eq(trap_rc, 0);
	cr_assert_eq(chan_recv(sv[0], CHAN_BROKER, &m, &why), 1);
	cr_assert_eq(m.type, CHAN_TRAP);
	cr_assert_eq(m.u.trap.nr, SIGUSR1);
	cr_assert_eq(m.u.trap.arch, 0xc000003e);
}

static void
chan_test_alarm_cb(int sig)
{
	struct chan_trap t = {.nr = sig};
	int saved = errno;

	trap_rc = chan_send(trap_sock, CHAN_TRAP, &t, sizeof(t), -1);
	errno = saved;
}

/* A signal during a blocking recvmsg is retried, not returned. */
Test(chan, recv_retries_after_signal)
{
	struct itimerval it = {.it_value = {.tv_usec = 100000}};
	struct sigaction sa;
	struct chan_msg m;
	const char *why = NULL;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = chan_test_alarm_cb; /* no SA_RESTART */
	cr_assert_eq(sigaction(SIGALRM, &sa, NULL), 0);
	trap_sock = sv[1];
	cr_assert_eq(setitimer(ITIMER_REAL, &it, NULL), 0);
	cr_assert_eq(
	    chan_recv(sv[0], CHAN_LOGGER, &m, &why), 1, "errno %d", errno);
	cr_assert_eq(trap_rc, 0);
	cr_assert_eq(m.u.trap.nr, SIGALRM);
}

/* chan_decode on bytes, as the fuzzer drives it */
Test(chan, decode_keeps_fds_when_asked)
{
	unsigned char buf[sizeof(struct chan_hdr)];
	struct chan_msg m;
	const char *why = NULL;
	int p[2], rc;

	make_pipe(p);
	put_hdr(buf, CHAN_LOG_DRAIN, 0, 0);
	rc = chan_decode(
	    buf, sizeof(buf), 0, p, 2, CHAN_REAPER, false, &m, &why);
	cr_assert_eq(rc, -1);
	cr_assert_str_eq(why, "wrong fd count");
	cr_assert_geq(fcntl(p[0], F_GETFD), 0, "fd closed although asked not");
	cr_assert_geq(fcntl(p[1], F_GETFD), 0, "fd closed although asked not");
	rc =
	    chan_decode(buf, sizeof(buf), 0, p, 2, CHAN_REAPER, true, &m, &why);
	cr_assert_eq(rc, -1);
	cr_assert_eq(fcntl(p[0], F_GETFD), -1, "fd left open");
	cr_assert_eq(fcntl(p[1], F_GETFD), -1, "fd left open");
}

Test(chan, decode_rejects_ctrunc)
{
	unsigned char buf[sizeof(struct chan_hdr)];
	struct chan_msg m;
	const char *why = NULL;
	int rc;

	put_hdr(buf, CHAN_LOG_DRAIN, 0, 0);
	rc = chan_decode(
	    buf, sizeof(buf), 0, NULL, 0, CHAN_REAPER, true, &m, &why);
	cr_assert_eq(rc, 0);
	errno = 0;
	rc = chan_decode(
	    buf, sizeof(buf), MSG_CTRUNC, NULL, 0, CHAN_REAPER, true, &m, &why);
	cr_assert_eq(rc, -1);
	cr_assert_eq(errno, EPROTO);
	cr_assert_str_eq(why, "truncated");
}

/* A length past every bound is refused even when the datagram matches it. */
Test(chan, decode_rejects_length_past_every_bound)
{
	static unsigned char
	    buf[sizeof(struct chan_hdr) + CHAN_PAYLOAD_MAX + 1];
	struct chan_msg m;
	const char *why = NULL;
	int rc;

	put_hdr(buf, CHAN_DIAG, 0, CHAN_PAYLOAD_MAX + 1);
	rc = chan_decode(
	    buf, sizeof(buf), 0, NULL, 0, CHAN_LOGGER, true, &m, &why);
	cr_assert_eq(rc, -1);
	cr_assert_str_eq(why, "bad payload length");
}

/* style.md: an enum value without a table entry is a gap */
Test(chan, table_has_no_gap)
{
	for (unsigned t = CHAN_NONE + 1; t < CHAN_TYPE_MAX; t++) {
		const struct chan_spec *s = chan_spec_of(t);

		cr_assert_not_null(s, "type %u has no table entry", t);
		cr_assert_not_null(s->name, "type %u has no name", t);
		cr_assert_neq(s->from, 0, "%s: nobody may send it", s->name);
		cr_assert_eq(s->from & ~(unsigned)(CHAN_REAPER | CHAN_CHILD), 0,
		    "%s: unknown role", s->name);
		cr_assert_leq(s->fds, 1, "%s: one fd per message", s->name);
		cr_assert_leq(s->min_len, s->max_len, "%s: bounds", s->name);
		cr_assert_leq(
		    s->max_len, CHAN_PAYLOAD_MAX, "%s: bound", s->name);
	}
}

Test(chan, table_says_what_chan_msg_h_says)
{
	static const struct chan_spec want[CHAN_TYPE_MAX] = {
	    [CHAN_HELLO] = {"HELLO", CHAN_CHILD, 0, 16, 16},
	    [CHAN_DIAG] = {"DIAG", CHAN_CHILD, 0, 2, 1025},
	    [CHAN_TRAP] = {"TRAP", CHAN_CHILD, 0, 8, 8},
	    [CHAN_LOG_SINK] = {"LOG_SINK", CHAN_REAPER, 1, 16, 16},
	    [CHAN_LOG_SOURCE] = {"LOG_SOURCE", CHAN_REAPER, 1, 8, 8},
	    [CHAN_LOG_REOPEN] = {"LOG_REOPEN", CHAN_CHILD, 0, 8, 8},
	    [CHAN_LOG_DRAIN] = {"LOG_DRAIN", CHAN_REAPER, 0, 0, 0},
	    [CHAN_LOG_DRAINED] = {"LOG_DRAINED", CHAN_LOGGER, 0, 24, 24},
	    [CHAN_PEER] = {"PEER", CHAN_REAPER, 1, 8, 8},
	    [CHAN_PEER_LOST] = {"PEER_LOST", CHAN_CHILD, 0, 8, 8},
	    [CHAN_ATT_CLIENT] = {"ATT_CLIENT", CHAN_BROKER, 1, 8, 8},
	    [CHAN_ATT_CLIENT_GONE] = {"ATT_CLIENT_GONE", CHAN_LOGGER, 0, 8,
		8},
	    [CHAN_ATT_FD] = {"ATT_FD", CHAN_REAPER, 1, 8, 8},
	    [CHAN_ATT_STDIN_CLOSED] = {"ATT_STDIN_CLOSED", CHAN_LOGGER, 0, 0,
		0},
	    [CHAN_ATT_CLOSE] = {"ATT_CLOSE", CHAN_REAPER, 0, 0, 0},
	    [CHAN_ATT_CLOSED] = {"ATT_CLOSED", CHAN_BROKER, 0, 8, 8},
	    [CHAN_NOTIFY] = {"NOTIFY", CHAN_BROKER, 0, 1, 32768},
	    [CHAN_LISTENER] = {"LISTENER", CHAN_CHILD, 0, 8, 8},
	    [CHAN_ATT_HANDOVER_DONE] = {"ATT_HANDOVER_DONE", CHAN_BROKER, 0,
		0, 0},
	};

	for (unsigned t = CHAN_NONE + 1; t < CHAN_TYPE_MAX; t++) {
		const struct chan_spec *s = chan_spec_of(t);

		cr_assert_not_null(s);
		cr_assert_not_null(
		    want[t].name, "type %u: update this test", t);
		cr_assert_str_eq(s->name, want[t].name);
		cr_assert_eq(s->from, want[t].from, "%s", s->name);
		cr_assert_eq(s->fds, want[t].fds, "%s", s->name);
		cr_assert_eq(s->min_len, want[t].min_len, "%s", s->name);
		cr_assert_eq(s->max_len, want[t].max_len, "%s", s->name);
	}
}

Test(chan, spec_of_refuses_none_and_out_of_range)
{
	cr_assert_null(chan_spec_of(CHAN_NONE));
	cr_assert_null(chan_spec_of(CHAN_TYPE_MAX));
	cr_assert_null(chan_spec_of(0xffff));
	cr_assert_null(chan_spec_of(~0u));
}

/* security 33: field checks */
static void
expect_fields(unsigned type, const void *p, size_t len, const char *want)
{
	const char *why = NULL;

	errno = 0;
	if (want == NULL) {
		cr_assert_eq(chan_msg_check(type, p, len, &why), 0,
		    "type %u: %s", type, why);
		return;
	}
	cr_assert_eq(chan_msg_check(type, p, len, &why), -1, "type %u", type);
	cr_assert_eq(errno, EPROTO);
	cr_assert_str_eq(why, want);
}

Test(chan, checks_hello_fields)
{
	struct chan_hello h = {
	    .role = CHAN_BROKER, .version = CHAN_VERSION, .pid = 7};

	expect_fields(CHAN_HELLO, &h, sizeof(h), NULL);
	h.role = CHAN_REAPER;
	expect_fields(CHAN_HELLO, &h, sizeof(h), "bad role");
	h.role = CHAN_CHILD;
	expect_fields(CHAN_HELLO, &h, sizeof(h), "bad role");
	h.role = CHAN_LOGGER;
	h.version = CHAN_VERSION + 1;
	expect_fields(CHAN_HELLO, &h, sizeof(h), "bad protocol version");
	h.version = CHAN_VERSION;
	h.pid = 0;
	expect_fields(CHAN_HELLO, &h, sizeof(h), "bad pid");
	h.pid = 7;
	h.pad = 1;
	expect_fields(CHAN_HELLO, &h, sizeof(h), "nonzero padding");
	expect_fields(CHAN_HELLO, &h, sizeof(h) - 1, "bad payload length");
}

Test(chan, checks_diag_level)
{
	unsigned char d[3] = {DIAG_TRACE, 'h', 'i'};

	expect_fields(CHAN_DIAG, d, sizeof(d), NULL);
	d[0] = DIAG_LEVEL_MAX;
	expect_fields(CHAN_DIAG, d, sizeof(d), "bad diagnostic level");
	d[0] = 0xff;
	expect_fields(CHAN_DIAG, d, sizeof(d), "bad diagnostic level");
}

Test(chan, checks_log_fields)
{
	struct chan_log_sink s = {.sink = CHAN_SINK_K8S, .counted = 10};
	struct chan_log_source src = {.stream = CHAN_STREAM_STDERR};
	struct chan_log_reopen r = {.sink = CHAN_SINK_K8S};
	struct chan_log_drained d = {.bytes_read = 1, .sync_errno = EIO};

	expect_fields(CHAN_LOG_SINK, &s, sizeof(s), NULL);
	expect_fields(CHAN_LOG_SOURCE, &src, sizeof(src), NULL);
	expect_fields(CHAN_LOG_REOPEN, &r, sizeof(r), NULL);
	expect_fields(CHAN_LOG_DRAINED, &d, sizeof(d), NULL);
	expect_fields(CHAN_LOG_DRAIN, NULL, 0, NULL);
	s.counted = -1;
	expect_fields(CHAN_LOG_SINK, &s, sizeof(s), "bad byte count");
	s.counted = 0;
	s.sink = CHAN_SINK_MAX;
	expect_fields(CHAN_LOG_SINK, &s, sizeof(s), "bad sink id");
	src.stream = 7;
	expect_fields(CHAN_LOG_SOURCE, &src, sizeof(src), "bad stream");
	r.sink = CHAN_SINK_MAX;
	expect_fields(CHAN_LOG_REOPEN, &r, sizeof(r), "bad sink id");
	d.sync_errno = -1;
	expect_fields(CHAN_LOG_DRAINED, &d, sizeof(d), "bad errno");
	expect_fields(CHAN_NONE, NULL, 0, "unknown type");
}

/* security 33: the pair's and the broker's fields */
Test(chan, checks_att_client_fields)
{
	static const unsigned types[] = {
	    CHAN_ATT_CLIENT, CHAN_ATT_CLIENT_GONE};

	for (size_t i = 0; i < VIGIL_NELEM(types); i++) {
		struct chan_att_client c = {.id = 1};

		expect_fields(types[i], &c, sizeof(c), NULL);
		c.id = 0xffffffffu;
		expect_fields(types[i], &c, sizeof(c), NULL);
		c.id = 0;
		expect_fields(types[i], &c, sizeof(c), "bad client id");
		c.id = 1;
		c.pad = 1;
		expect_fields(types[i], &c, sizeof(c), "nonzero padding");
		expect_fields(types[i], &c, 4, "bad payload length");
	}
}

Test(chan, checks_att_fd_kind)
{
	struct chan_att_fd f = {.kind = CHAN_ATT_FD_LISTENER};

	for (f.kind = CHAN_ATT_FD_LISTENER; f.kind < CHAN_ATT_FD_KIND_MAX;
	     f.kind++)
		expect_fields(CHAN_ATT_FD, &f, sizeof(f), NULL);
	f.kind = 0;
	expect_fields(CHAN_ATT_FD, &f, sizeof(f), "bad fd kind");
	f.kind = CHAN_ATT_FD_KIND_MAX;
	expect_fields(CHAN_ATT_FD, &f, sizeof(f), "bad fd kind");
	f.kind = CHAN_ATT_FD_PTY;
	f.pad = 3;
	expect_fields(CHAN_ATT_FD, &f, sizeof(f), "nonzero padding");
}

Test(chan, checks_peer_and_closed_padding)
{
	struct chan_peer p = {.generation = 0xffffffffu};
	struct chan_att_closed c = {.clients = 2};

	expect_fields(CHAN_PEER, &p, sizeof(p), NULL);
	expect_fields(CHAN_PEER_LOST, &p, sizeof(p), NULL);
	expect_fields(CHAN_ATT_CLOSED, &c, sizeof(c), NULL);
	p.pad = 1;
	expect_fields(CHAN_PEER, &p, sizeof(p), "nonzero padding");
	expect_fields(CHAN_PEER_LOST, &p, sizeof(p), "nonzero padding");
	c.pad = 1;
	expect_fields(CHAN_ATT_CLOSED, &c, sizeof(c), "nonzero padding");
	expect_fields(CHAN_ATT_STDIN_CLOSED, NULL, 0, NULL);
	expect_fields(CHAN_ATT_CLOSE, NULL, 0, NULL);
	expect_fields(CHAN_ATT_CLOSE, &c, 1, "bad payload length");
	expect_fields(CHAN_ATT_HANDOVER_DONE, NULL, 0, NULL);
	expect_fields(CHAN_ATT_HANDOVER_DONE, &c, 1, "bad payload length");
}

/* audit mode: a listener number past the stdio and the channel */
Test(chan, checks_listener_fields)
{
	struct chan_listener l = {.fd = 4};

	expect_fields(CHAN_LISTENER, &l, sizeof(l), NULL);
	l.fd = 3;
	expect_fields(CHAN_LISTENER, &l, sizeof(l), "bad listener fd");
	l.fd = -1;
	expect_fields(CHAN_LISTENER, &l, sizeof(l), "bad listener fd");
	l.fd = 5;
	l.pad = 1;
	expect_fields(CHAN_LISTENER, &l, sizeof(l), "nonzero padding");
}

Test(chan, rejects_broker_fds_missing)
{
	int before = fd_count();

	raw_msg(sv[0], CHAN_ATT_FD, sizeof(struct chan_att_fd), NULL, 0);
	expect_reject(sv[1], CHAN_REAPER, "wrong fd count", before);
	raw_msg(sv[0], CHAN_PEER, sizeof(struct chan_peer), NULL, 0);
	expect_reject(sv[1], CHAN_REAPER, "wrong fd count", before);
}

/* An attach client without its socket, or a GONE with one. */
Test(chan, rejects_att_client_fd_count)
{
	int before = fd_count();
	int p[2];

	raw_msg(sv[1], CHAN_ATT_CLIENT, sizeof(struct chan_att_client), NULL,
	    0);
	expect_reject(sv[0], CHAN_BROKER, "wrong fd count", before);
	make_pipe(p);
	raw_msg(sv[1], CHAN_ATT_CLIENT_GONE, sizeof(struct chan_att_client),
	    &p[0], 1);
	(void)close(p[0]); /* the receiver closes its copy */
	(void)close(p[1]);
	expect_reject(sv[0], CHAN_LOGGER, "wrong fd count", before);
}

/* A child's reaper-channel buffer holds every type the reaper may send. */
Test(chan, ctl_buffer_holds_every_reaper_type)
{
	struct chan_ctl_msg m;

	for (unsigned t = 0; t < CHAN_TYPE_MAX; t++)
		if (chan_specs[t].name != NULL &&
		    (chan_specs[t].from & CHAN_REAPER) != 0)
			cr_expect_leq(chan_specs[t].max_len,
			    sizeof(m.u.raw), "%s: %zu bytes",
			    chan_specs[t].name, (size_t)chan_specs[t].max_len);
}

/* chan_recv_ctl: a reaper type with its fd, as chan_recv has it */
Test(chan, ctl_receives_a_reaper_message)
{
	struct chan_log_sink s = { .sink = CHAN_SINK_K8S };
	struct chan_ctl_msg m;
	const char *why = NULL;
	int p[2];

	make_pipe(p);
	cr_assert_eq(chan_send(sv[1], CHAN_LOG_SINK, &s, sizeof(s), p[1]), 0);
	cr_assert_eq(chan_recv_ctl(sv[0], CHAN_REAPER, &m, &why), 1, "%s",
	    why);
	cr_expect_eq(m.type, CHAN_LOG_SINK);
	cr_expect_eq(m.len, sizeof(s));
	cr_expect_eq(m.u.log_sink.sink, CHAN_SINK_K8S);
	cr_assert_geq(m.fd, 0);
	(void)close(m.fd); /* the received copy */
	(void)close(p[0]); /* test cleanup */
	(void)close(p[1]);
}

/*
 * Longer than the small buffer: refused and its fd closed, whether the
 * excess spills past the spare byte (MSG_TRUNC: "truncated") or fills it
 * exactly (then the table's bound for the type says no first).
 */
Test(chan, ctl_rejects_what_does_not_fit)
{
	struct chan_ctl_msg m;
	const char *why = NULL;
	int p[2], before;

	make_pipe(p);
	before = fd_count();
	for (size_t extra = 1; extra <= 2; extra++) {
		unsigned char buf[sizeof(struct chan_hdr) + CHAN_CTL_PAYLOAD_MAX
		    + 2];
		size_t len = CHAN_CTL_PAYLOAD_MAX + extra;

		memset(buf, 0, sizeof(buf));
		put_hdr(buf, CHAN_LOG_SINK, 0, (uint32_t)len);
		raw_send(sv[1], buf, sizeof(struct chan_hdr) + len, &p[1], 1);
		errno = 0;
		cr_assert_eq(chan_recv_ctl(sv[0], CHAN_REAPER, &m, &why), -1);
		cr_assert_eq(errno, EPROTO);
		cr_expect_str_eq(why,
		    extra == 1 ? "bad payload length" : "truncated");
		cr_expect_eq(fd_count(), before, "fd leaked");
	}
	(void)close(p[1]); /* test's own copy */
	expect_no_writer(p[0]);
	(void)close(p[0]); /* test cleanup */
}
