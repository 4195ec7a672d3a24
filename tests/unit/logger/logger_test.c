/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/logger/logger_test.c: the logger forked as the reaper forks
 * it (sandbox and seccomp included, so root only), driven over its
 * channel and a broker pair: frames from pipes and a pty, CHAN_ATT_CLIENTS
 * and its ACK, PEER_LOST on a bad message, every byte to a slow broker,
 * one bounded stall on a full pair, a pty hang-up without a busy loop
 * (spec 6.3, 7.3, 10.2, security 7, 9).
 */
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "common/chan.h"
#include "common/role.h"
#include "logger/logger.h"

/* The unprivileged identity the logger switches to (nobody). */
#define TEST_UID 65534
#define TEST_GID 65534
/* Deadline of any one wait: generous, a slow machine is not a failure. */
#define WAIT_MS 10000
/* DIAG texts kept per test for inspection. */
#define DIAGS_MAX 8192

static pid_t lpid = -1;
static int rchan = -1;	/* the reaper's end of the logger's channel */
static int broker = -1; /* the broker's end of the current pair */
static char diags[DIAGS_MAX];
static size_t diags_len;

static void
start(void)
{
	struct role_conf rc = {
		.reaper = getpid(),
		.uid = TEST_UID,
		.gid = TEST_GID,
		.short_id = "0123456789ab",
	};
	int sv[2];

	if (geteuid() != 0)
		cr_skip_test("needs root (sandbox_drop switches to nobody)");
	cr_assert_eq(chan_pair(sv), 0);
	lpid = fork();
	cr_assert_neq(lpid, -1);
	if (lpid == 0) {
		(void)close(sv[0]); /* child: its own end only */
		rc.chan_fd = sv[1];
		log_main(&rc);
	}
	(void)close(sv[1]); /* so the logger's death is an end of file */
	rchan = sv[0];
	diags_len = 0;
	diags[0] = '\0';
}

static void
stop(void)
{
	int status = 0;

	if (broker >= 0)
		(void)close(broker); /* test end */
	broker = -1;
	if (lpid <= 0)
		return;
	(void)close(rchan); /* the logger leaves at end of file */
	rchan = -1;
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if (waitpid(lpid, &status, WNOHANG) == lpid) {
			lpid = -1;
			cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 0,
			    "logger status %#x", status);
			return;
		}
		(void)poll(NULL, 0, 10);
	}
	(void)kill(lpid, SIGKILL); /* our own child, hung */
	(void)waitpid(lpid, &status, 0);
	lpid = -1;
	cr_expect_fail("logger did not leave at end of file");
}

TestSuite(logger, .fini = stop);

/* One message within WAIT_MS: 1, 0 at end of file, -1 on timeout. */
static int
recv_within(int fd, unsigned peer, struct chan_msg *m, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = POLLIN };
	const char *why = NULL;
	int rc;

	if (poll(&pfd, 1, ms) != 1)
		return -1;
	rc = chan_recv(fd, peer, m, &why);
	cr_assert_neq(rc, -1, "chan_recv: %s", why ? why : strerror(errno));
	return rc;
}

/* The reaper's next message that is not a DIAG (those are kept). */
static void
reaper_next(struct chan_msg *m)
{
	for (;;) {
		int rc = recv_within(rchan, CHAN_LOGGER, m, WAIT_MS);

		cr_assert_eq(rc, 1, "%s",
		    rc == 0 ? "logger died" : "no message");
		cr_assert_neq(m->type, CHAN_TRAP, "forbidden system call %d",
		    m->u.trap.nr);
		if (m->type != CHAN_DIAG)
			return;
		if (diags_len + m->len < sizeof(diags)) {
			memcpy(diags + diags_len, m->u.raw + 1, m->len - 1);
			diags_len += m->len - 1;
			diags[diags_len++] = '\n';
			diags[diags_len] = '\0';
		}
	}
}

static void
reaper_send(unsigned type, const void *p, size_t len, int fd)
{
	cr_assert_eq(chan_send(rchan, type, p, len, fd), 0, "send: %s",
	    strerror(errno));
}

static void
hello(void)
{
	struct chan_msg m;

	reaper_next(&m);
	cr_assert_eq(m.type, CHAN_HELLO);
	cr_expect_eq(m.u.hello.pid, lpid);
}

/* A new pair: the logger's end goes over the channel. */
static void
give_peer(uint32_t generation)
{
	struct chan_peer p = { .generation = generation };
	int sv[2];

	cr_assert_eq(chan_pair(sv), 0);
	reaper_send(CHAN_PEER, &p, sizeof(p), sv[0]);
	(void)close(sv[0]); /* the logger has its copy */
	if (broker >= 0)
		(void)close(broker); /* the old broker end */
	broker = sv[1];
}

static void
give_source(unsigned stream, unsigned flags, int fd)
{
	struct chan_log_source s = { .stream = stream, .flags = flags };

	reaper_send(CHAN_LOG_SOURCE, &s, sizeof(s), fd);
	(void)close(fd); /* the logger has its copy */
}

/* A pipe whose read end the logger gets; returns the write end. */
static int
give_pipe(unsigned stream)
{
	int p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	give_source(stream, 0, p[0]);
	return p[1];
}

/* LOG_DRAIN, then its DRAINED. */
static struct chan_log_drained
drain(void)
{
	struct chan_msg m;

	reaper_send(CHAN_LOG_DRAIN, NULL, 0, -1);
	reaper_next(&m);
	cr_assert_eq(m.type, CHAN_LOG_DRAINED, "got %s",
	    chan_specs[m.type].name);
	return m.u.log_drained;
}

static void
put(int fd, const void *p, size_t len)
{
	cr_assert_eq(write(fd, p, len), (ssize_t)len, "write: %s",
	    strerror(errno));
}

/* The next message on the broker's end, within `ms`; 0 if none. */
static int
broker_next(struct chan_msg *m, int ms)
{
	int rc = recv_within(broker, CHAN_LOGGER, m, ms);

	cr_assert_neq(rc, 0, "pair closed");
	return rc == 1;
}

/* Frames until `len` data bytes came, each checked; returns the count. */
static size_t
collect(unsigned stream, char *buf, size_t len)
{
	struct chan_msg m;
	size_t off = 0, frames = 0;

	while (off < len) {
		cr_assert(broker_next(&m, WAIT_MS), "%zu of %zu bytes", off,
		    len);
		cr_assert_eq(m.type, CHAN_OUTPUT, "got %s",
		    chan_specs[m.type].name);
		cr_assert_leq(m.len, CHAN_OUTPUT_MAX);
		cr_assert_eq(m.u.raw[0], stream);
		cr_assert_leq(off + m.len - 1, len, "more than sent");
		memcpy(buf + off, m.u.raw + 1, m.len - 1);
		off += m.len - 1;
		frames++;
	}
	return frames;
}

static void
expect_output(unsigned stream, const char *want)
{
	char got[256];
	size_t len = strlen(want);

	cr_assert_lt(len, sizeof(got));
	(void)collect(stream, got, len);
	cr_expect_eq(memcmp(got, want, len), 0, "got \"%.*s\"", (int)len, got);
}

static void
expect_no_frame(void)
{
	struct chan_msg m;

	cr_expect_not(broker_next(&m, 0), "unexpected %s",
	    chan_specs[m.type].name);
}

static void
broker_send_clients(uint32_t attached)
{
	struct chan_att_clients c = { .attached = attached };
	struct chan_msg m;

	cr_assert_eq(chan_send(broker, CHAN_ATT_CLIENTS, &c, sizeof(c), -1),
	    0);
	cr_assert(broker_next(&m, WAIT_MS), "no ACK");
	cr_assert_eq(m.type, CHAN_ATT_CLIENTS_ACK, "got %s",
	    chan_specs[m.type].name);
	memcpy(&c, m.u.raw, sizeof(c));
	cr_expect_eq(c.attached, attached);
}

/* -l none: no sink, and the output still reaches the broker. */
Test(logger, forwards_pipe_chunk_in_frames_without_sink)
{
	static char big[LOG_READ_MAX], got[LOG_READ_MAX];
	struct chan_log_drained d;
	int p[2], err;

	start();
	hello();
	give_peer(1);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i % 251);
	/* the whole chunk in the pipe before the logger sees it: one read */
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	put(p[1], big, sizeof(big));
	give_source(CHAN_STREAM_STDOUT, 0, p[0]);
	cr_expect_eq(collect(CHAN_STREAM_STDOUT, got, sizeof(got)),
	    LOG_READ_MAX / CHAN_OUTPUT_DATA_MAX, "64 KiB: one frame");
	cr_expect_eq(memcmp(got, big, sizeof(big)), 0);
	err = give_pipe(CHAN_STREAM_STDERR);
	put(err, "oops\n", 5);
	expect_output(CHAN_STREAM_STDERR, "oops\n");
	d = drain();
	cr_expect_eq(d.bytes_read, sizeof(big) + 5);
	cr_expect_eq(d.bytes_lost, 0);
	(void)close(p[1]);
	(void)close(err);
}

/* k8s-file and frames from the same chunk, unchanged. */
Test(logger, writes_log_and_frames)
{
	struct chan_log_sink s = { .sink = CHAN_SINK_K8S };
	char path[] = "/tmp/vigil-logger-XXXXXX", buf[256];
	regex_t re;
	ssize_t n;
	int out, fd;

	start();
	hello();
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	(void)unlink(path);
	reaper_send(CHAN_LOG_SINK, &s, sizeof(s), fd);
	give_peer(1);
	out = give_pipe(CHAN_STREAM_STDOUT);
	put(out, "hi\n", 3);
	expect_output(CHAN_STREAM_STDOUT, "hi\n");
	(void)drain();
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	cr_assert_eq(regcomp(&re, "^[0-9T:.+-]{35} stdout F hi\n$",
			 REG_EXTENDED | REG_NOSUB),
	    0);
	cr_expect_eq(regexec(&re, buf, 0, NULL, 0), 0, "log: %s", buf);
	regfree(&re);
	(void)close(fd);
	(void)close(out);
}

/* Frames only while clients are attached; each ATT_CLIENTS acknowledged;
 * the drain's frames are queued before DRAINED (spec 10.2). */
Test(logger, att_clients_switches_frames_and_acks)
{
	struct chan_log_drained d;
	int out;

	start();
	hello();
	give_peer(1);
	out = give_pipe(CHAN_STREAM_STDOUT);
	broker_send_clients(0);
	put(out, "a\n", 2);
	d = drain();
	cr_expect_eq(d.bytes_read, 2);
	expect_no_frame();
	broker_send_clients(1);
	put(out, "b\n", 2);
	d = drain();
	cr_expect_eq(d.bytes_read, 4);
	expect_output(CHAN_STREAM_STDOUT, "b\n");
	(void)close(out);
}

static void
expect_peer_lost(uint32_t generation)
{
	struct chan_msg m;
	struct chan_peer p;

	reaper_next(&m);
	cr_assert_eq(m.type, CHAN_PEER_LOST, "got %s",
	    chan_specs[m.type].name);
	memcpy(&p, m.u.raw, sizeof(p));
	cr_expect_eq(p.generation, generation);
	cr_expect_eq(recv_within(broker, CHAN_LOGGER, &m, WAIT_MS), 0,
	    "pair not closed");
}

/* A bad message closes the pair and names it to the reaper. */
Test(logger, bad_broker_message_sends_peer_lost)
{
	struct chan_att_clients two = { .attached = 2 };
	struct chan_att_closed closed = { 0 };
	int out;

	start();
	hello();
	/* a type only the logger may send */
	give_peer(5);
	cr_assert_eq(chan_send(broker, CHAN_OUTPUT, "\2x", 2, -1), 0);
	expect_peer_lost(5);
	/* the broker's, but for the reaper */
	give_peer(6);
	cr_assert_eq(chan_send(broker, CHAN_ATT_CLOSED, &closed,
			 sizeof(closed), -1),
	    0);
	expect_peer_lost(6);
	/* a field out of range */
	give_peer(7);
	cr_assert_eq(chan_send(broker, CHAN_ATT_CLIENTS, &two, sizeof(two),
			 -1),
	    0);
	expect_peer_lost(7);
	cr_expect(strstr(diags, "unexpected ATT_CLOSED from the broker") !=
		NULL,
	    "diags: %s", diags);
	/* the next pair works */
	give_peer(8);
	out = give_pipe(CHAN_STREAM_STDOUT);
	put(out, "ok\n", 3);
	expect_output(CHAN_STREAM_STDOUT, "ok\n");
	(void)close(out);
}

/* The broker died: the pair is closed quietly, a new one is used. */
Test(logger, broker_eof_closes_pair_quietly)
{
	struct chan_msg m;
	int out;

	start();
	hello();
	give_peer(1);
	(void)close(broker); /* the broker dies */
	broker = -1;
	out = give_pipe(CHAN_STREAM_STDOUT);
	put(out, "lost\n", 5);
	(void)drain(); /* the first pair is gone by now, or replaced below */
	give_peer(2);
	(void)drain(); /* the pair is the logger's before "new" is written */
	put(out, "new\n", 4);
	expect_output(CHAN_STREAM_STDOUT, "new\n");
	(void)drain(); /* no PEER_LOST came before it: reaper_next asserts */
	cr_expect(recv_within(rchan, CHAN_LOGGER, &m, 0) == -1,
	    "unexpected message %s", chan_specs[m.type].name);
	(void)close(out);
}

/* Sums the byte counts of the logger's drop reports. */
static uint64_t
dropped_reported(void)
{
	const char *key = "attach output: ";
	uint64_t sum = 0;

	for (const char *p = diags; (p = strstr(p, key)) != NULL;) {
		p += strlen(key);
		sum += strtoull(p, NULL, 10);
	}
	return sum;
}

/* utime + stime of the logger, in clock ticks. */
static unsigned long long
cpu_ticks(void)
{
	char path[64], buf[1024];
	unsigned long long ut = 0, st = 0;
	const char *p;
	ssize_t n;
	int fd;

	(void)snprintf(path, sizeof(path), "/proc/%d/stat", (int)lpid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	cr_assert_geq(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	cr_assert_gt(n, 0);
	buf[n] = '\0';
	p = strrchr(buf, ')');
	cr_assert_not_null(p);
	/* after ") ": state, then fields 4..13, then utime and stime */
	cr_assert_eq(sscanf(p + 2,
			 "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu "
			 "%llu",
			 &ut, &st),
	    2);
	return ut + st;
}

static double
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* The byte at `off` of a test stream: no period shorter than a frame. */
static char
pattern(uint64_t off)
{
	return (char)(off * 7 + off / 251);
}

/*
 * spec 7.3, issue 4: a broker that reads slowly but steadily (much slower
 * than the logger) gets every byte, in order: the logger waits for it.
 */
Test(logger, slow_broker_gets_every_byte)
{
	static char chunk[LOG_READ_MAX];
	const uint64_t total = 8 << 20;
	const struct timespec pause = { .tv_nsec = 2000000L };
	struct pollfd pfd[2];
	struct chan_log_drained d;
	struct chan_msg m;
	uint64_t sent = 0, got = 0;
	unsigned frames = 0;
	ssize_t n;
	int out;

	start();
	hello();
	give_peer(1);
	out = give_pipe(CHAN_STREAM_STDOUT);
	cr_assert_eq(fcntl(out, F_SETFL, O_NONBLOCK), 0);
	while (got < total) {
		pfd[0] = (struct pollfd){ .fd = out,
			.events = sent < total ? POLLOUT : 0 };
		pfd[1] = (struct pollfd){ .fd = broker, .events = POLLIN };
		cr_assert_gt(poll(pfd, 2, WAIT_MS), 0, "stuck at %" PRIu64
		    " sent, %" PRIu64 " got", sent, got);
		if (pfd[0].revents & POLLOUT) {
			size_t len = total - sent < sizeof(chunk) ?
			    (size_t)(total - sent) : sizeof(chunk);
			for (size_t i = 0; i < len; i++)
				chunk[i] = pattern(sent + i);
			n = write(out, chunk, len);
			cr_assert(n > 0 || errno == EAGAIN, "write: %s",
			    strerror(errno));
			if (n > 0)
				sent += (uint64_t)n;
		}
		if (!(pfd[1].revents & POLLIN))
			continue;
		cr_assert(broker_next(&m, 0));
		cr_assert_eq(m.type, CHAN_OUTPUT);
		for (size_t i = 1; i < m.len; i++)
			cr_assert_eq(m.u.raw[i], (unsigned char)pattern(got++),
			    "byte %" PRIu64 " differs", got - 1);
		/* about 16 MiB/s: slower than the logger, never 500 ms */
		if (++frames % 4 == 0)
			(void)nanosleep(&pause, NULL);
	}
	d = drain();
	cr_expect_eq(d.bytes_read, total);
	expect_no_frame();
	cr_expect_eq(dropped_reported(), 0, "diags: %s", diags);
	(void)close(out);
}

/*
 * security 7, 9: a broker that never reads: the log gets everything, the
 * logger waits for it once, about LOG_PEER_STALL_MS, then drops (counted)
 * without waiting and without spinning; its ACKs still go out.
 */
Test(logger, stalls_once_on_a_full_pair)
{
	static char chunk[LOG_READ_MAX];
	const uint64_t total = 64 * (uint64_t)LOG_READ_MAX;
	struct chan_log_sink sink = { .sink = CHAN_SINK_K8S };
	struct chan_att_clients off = { .attached = 0 };
	char path[] = "/tmp/vigil-logger-XXXXXX", buf[65536];
	struct pollfd pfd;
	struct chan_log_drained d;
	struct chan_msg m;
	uint64_t sent = 0, got = 0, xs = 0;
	unsigned long long ticks;
	double t, wait, longest = 0;
	unsigned stalls = 0;
	off_t pos = 0;
	ssize_t n;
	int out, fd;

	start();
	hello();
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	(void)unlink(path);
	reaper_send(CHAN_LOG_SINK, &sink, sizeof(sink), fd);
	give_peer(1);
	out = give_pipe(CHAN_STREAM_STDOUT);
	cr_assert_eq(fcntl(out, F_SETFL, O_NONBLOCK), 0);
	memset(chunk, 'x', sizeof(chunk));
	(void)drain(); /* the sink and pair are the logger's now */
	ticks = cpu_ticks();
	pfd = (struct pollfd){ .fd = out, .events = POLLOUT };
	while (sent < total) {
		t = now_ms();
		cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1,
		    "the logger stopped reading at %" PRIu64, sent);
		wait = now_ms() - t;
		if (wait > LOG_PEER_STALL_MS / 2)
			stalls++;
		if (wait > longest)
			longest = wait;
		n = write(out, chunk, sizeof(chunk));
		cr_assert(n > 0 || errno == EAGAIN, "write: %s",
		    strerror(errno));
		if (n > 0)
			sent += (uint64_t)n;
	}
	t = now_ms();
	d = drain();
	wait = now_ms() - t;
	cr_expect_lt(wait, LOG_PEER_STALL_MS / 2, "the drain waited %.0f ms",
	    wait);
	cr_expect_eq(stalls, 1, "%u waits for the broker", stalls);
	cr_expect_geq(longest, LOG_PEER_STALL_MS * 0.8, "%.0f ms", longest);
	cr_expect_lt(longest, LOG_PEER_STALL_MS * 2, "%.0f ms", longest);
	/* a spinning wait would take most of the stall's 50 ticks */
	cr_expect_leq(cpu_ticks() - ticks, 20, "%llu ticks",
	    cpu_ticks() - ticks);
	cr_expect_eq(d.bytes_read, total);
	cr_expect_eq(d.bytes_lost, 0);
	/* every byte is in the log */
	while ((n = pread(fd, buf, sizeof(buf), pos)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			xs += buf[i] == 'x';
		pos += n;
	}
	cr_expect_eq(xs, total, "the log has %" PRIu64 " bytes", xs);
	/* the ACK waits behind the frames, and goes out */
	cr_assert_eq(chan_send(broker, CHAN_ATT_CLIENTS, &off, sizeof(off),
			 -1),
	    0);
	while (broker_next(&m, WAIT_MS) && m.type == CHAN_OUTPUT)
		got += m.len - 1;
	cr_assert_eq(m.type, CHAN_ATT_CLIENTS_ACK, "got %s",
	    chan_specs[m.type].name);
	cr_expect_lt(got, total, "the pair cannot hold it all");
	cr_expect_eq(got + dropped_reported(), total, "diags: %s", diags);
	(void)close(fd);
	(void)close(out);
}

/*
 * spec 10.2: the drain's frames go to a slow broker before DRAINED, all
 * of them; the drain waits for it (never past a stall, above).
 */
Test(logger, drain_frames_precede_drained)
{
	static char big[1 << 20];
	const struct timespec pause = { .tv_nsec = 1000000L };
	struct pollfd pfd[2];
	struct chan_msg m;
	uint64_t got = 0;
	bool drained = false;
	int p[2];

	start();
	hello();
	give_peer(1);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_geq(fcntl(p[1], F_SETPIPE_SZ, (int)sizeof(big)),
	    (int)sizeof(big));
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = pattern(i);
	put(p[1], big, sizeof(big));
	give_source(CHAN_STREAM_STDOUT, 0, p[0]);
	reaper_send(CHAN_LOG_DRAIN, NULL, 0, -1);
	while (!drained) {
		pfd[0] = (struct pollfd){ .fd = broker, .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = rchan, .events = POLLIN };
		cr_assert_gt(poll(pfd, 2, WAIT_MS), 0, "stuck at %" PRIu64,
		    got);
		if (pfd[1].revents & POLLIN) {
			reaper_next(&m);
			cr_assert_eq(m.type, CHAN_LOG_DRAINED, "got %s",
			    chan_specs[m.type].name);
			cr_expect_eq(m.u.log_drained.bytes_read, sizeof(big));
			drained = true;
		}
		/* after DRAINED, what is left must already be queued */
		while (broker_next(&m, 0)) {
			cr_assert_eq(m.type, CHAN_OUTPUT);
			for (size_t i = 1; i < m.len; i++)
				cr_assert_eq(m.u.raw[i],
				    (unsigned char)pattern(got++));
			if (!drained)
				(void)nanosleep(&pause, NULL);
		}
	}
	cr_expect_eq(got, sizeof(big));
	cr_expect_eq(dropped_reported(), 0, "diags: %s", diags);
	(void)close(p[1]);
}

/* Fills the pair with frames the broker does not read. */
static void
fill_pair(int out)
{
	static char chunk[LOG_READ_MAX];
	struct chan_log_drained d;

	memset(chunk, 'y', sizeof(chunk));
	for (int i = 0; i < 8; i++) {
		put(out, chunk, sizeof(chunk));
		d = drain(); /* the pipe read out: the next write fits */
		cr_assert_eq(d.bytes_read, (uint64_t)(i + 1) * sizeof(chunk));
	}
	cr_assert_gt(dropped_reported(), 0, "the pair never filled");
}

static uint32_t
ack_value(const struct chan_msg *m)
{
	struct chan_att_clients c;

	memcpy(&c, m->u.raw, sizeof(c));
	return c.attached;
}

/* An ACK without room waits, and the broker's next message with it. */
Test(logger, ack_waits_for_room_in_full_pair)
{
	struct chan_att_clients off = { .attached = 0 }, on = { .attached = 1 };
	struct chan_msg m;
	size_t frames = 0;
	int out;

	start();
	hello();
	give_peer(1);
	out = give_pipe(CHAN_STREAM_STDOUT);
	fill_pair(out);
	cr_assert_eq(chan_send(broker, CHAN_ATT_CLIENTS, &off, sizeof(off),
			 -1),
	    0);
	cr_assert_eq(chan_send(broker, CHAN_ATT_CLIENTS, &on, sizeof(on), -1),
	    0);
	(void)drain(); /* the logger goes on meanwhile */
	while (broker_next(&m, WAIT_MS) && m.type == CHAN_OUTPUT)
		frames++;
	cr_expect_gt(frames, 0);
	cr_assert_eq(m.type, CHAN_ATT_CLIENTS_ACK, "got %s",
	    chan_specs[m.type].name);
	cr_expect_eq(ack_value(&m), 0);
	cr_assert(broker_next(&m, WAIT_MS), "no second ACK");
	cr_assert_eq(m.type, CHAN_ATT_CLIENTS_ACK, "got %s",
	    chan_specs[m.type].name);
	cr_expect_eq(ack_value(&m), 1);
	put(out, "z\n", 2);
	expect_output(CHAN_STREAM_STDOUT, "z\n");
	(void)close(out);
}

static int
open_slave(const char *name)
{
	int fd = open(name, O_RDWR | O_NOCTTY | O_CLOEXEC);

	cr_assert_geq(fd, 0, "%s: %s", name, strerror(errno));
	return fd;
}

/* spec 6.3: a hang-up is not the end; no busy loop; data resumes. */
Test(logger, pty_hangup_waits_without_busy_loop)
{
	const struct timespec half = { .tv_nsec = 500000000L };
	struct chan_log_drained d;
	unsigned long long before, after;
	char name[128];
	int master, slave;

	start();
	hello();
	give_peer(1);
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	cr_assert_geq(master, 0);
	cr_assert_eq(grantpt(master), 0);
	cr_assert_eq(unlockpt(master), 0);
	cr_assert_eq(ptsname_r(master, name, sizeof(name)), 0);
	slave = open_slave(name);
	give_source(CHAN_STREAM_STDOUT, CHAN_SOURCE_PTY, master);
	put(slave, "hi\n", 3);
	expect_output(CHAN_STREAM_STDOUT, "hi\r\n"); /* spec 6.2: ONLCR */
	(void)close(slave); /* no process holds the slave now */
	before = cpu_ticks();
	(void)nanosleep(&half, NULL); /* a measurement, not a wait */
	after = cpu_ticks();
	/* a busy loop would take most of 50 ticks */
	cr_expect_leq(after - before, 10, "%llu ticks in 0.5 s",
	    after - before);
	slave = open_slave(name);
	put(slave, "back\n", 5);
	expect_output(CHAN_STREAM_STDOUT, "back\r\n");
	(void)close(slave);
	d = drain(); /* the hang-up ends the final drain */
	cr_expect_eq(d.bytes_read, 10);
}

/* spec 6.2: a pty source is stdout only; the logger refuses one on 3. */
Test(logger, pty_source_on_stderr_is_refused)
{
	struct chan_log_source s = {
		.stream = CHAN_STREAM_STDERR, .flags = CHAN_SOURCE_PTY
	};
	struct chan_msg m;
	int p[2], rc, status;

	start();
	hello();
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	reaper_send(CHAN_LOG_SOURCE, &s, sizeof(s), p[0]);
	while ((rc = recv_within(rchan, CHAN_LOGGER, &m, WAIT_MS)) == 1)
		cr_assert_eq(m.type, CHAN_DIAG, "got %s",
		    chan_specs[m.type].name);
	cr_assert_eq(rc, 0, "the logger went on");
	cr_assert_eq(waitpid(lpid, &status, 0), lpid);
	lpid = -1;
	cr_expect(WIFEXITED(status) && WEXITSTATUS(status) == 1,
	    "status %#x", status);
	(void)close(p[0]);
	(void)close(p[1]);
}
