/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/logger/logger_test.c: the logger forked as the reaper forks
 * it (sandbox and seccomp included, so root only), driven over its
 * channel and a broker pair: attach clients handed over, records from
 * pipes and a pty, PEER_LOST on a bad message, a client that does not
 * read (its queue, then drops, never a wait), ends reported to the
 * broker, the clients' last records and EOF at the drain, a pty hang-up
 * without a busy loop, the clients' input to the stdin pipe or the pty
 * with its flow control, EOF and truncation rules (spec 6.3, 6.4,
 * 7.3-7.6, 10.2, security 7-11).
 */
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <regex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
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

/* A logger with -i (stdin_pipe), -t (terminal), --leave-stdin-open. */
static void
start_conf(bool stdin_pipe, bool terminal, bool leave_stdin_open)
{
	struct role_conf rc = {
		.reaper = getpid(),
		.uid = TEST_UID,
		.gid = TEST_GID,
		.short_id = "0123456789ab",
		.stdin_pipe = stdin_pipe,
		.terminal = terminal,
		.leave_stdin_open = leave_stdin_open,
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
start(void)
{
	start_conf(false, false, false);
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

/* A new pair: the logger's end goes over the channel; the broker has
 * handed nobody over yet (ATT_HANDOVER_DONE not sent). */
static void
give_peer_open(uint32_t generation)
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

/* The broker at the pair's other end says its hand-over is done. */
static void
handover_done(void)
{
	cr_assert_eq(chan_send(broker, CHAN_ATT_HANDOVER_DONE, NULL, 0, -1),
	    0);
}

/* A new pair whose broker found no client waiting. */
static void
give_peer(uint32_t generation)
{
	give_peer_open(generation);
	handover_done();
}

static void
give_source(unsigned stream, unsigned flags, int fd)
{
	struct chan_log_source s = { .stream = stream, .flags = flags };

	reaper_send(CHAN_LOG_SOURCE, &s, sizeof(s), fd);
	(void)close(fd); /* the logger has its copy */
}

/* A pipe whose read end the logger gets; returns the write end. */
/* A pipe as the reaper makes them: LOG_READ_MAX, one read of the logger
 * (monitor/runtime.c). */
static void
make_pipe(int p[2])
{
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	cr_assert_eq(fcntl(p[0], F_SETPIPE_SZ, LOG_READ_MAX), LOG_READ_MAX,
	    "F_SETPIPE_SZ: %s", strerror(errno));
}

static int
give_pipe(unsigned stream)
{
	int p[2];

	make_pipe(p);
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

static void
expect_broker(unsigned type, uint32_t id)
{
	struct chan_msg m;
	const char *why = NULL;

	cr_assert(broker_next(&m, WAIT_MS), "no %s", chan_specs[type].name);
	cr_assert_eq(m.type, type, "got %s, want %s", chan_specs[m.type].name,
	    chan_specs[type].name);
	cr_assert_eq(chan_msg_check(m.type, m.u.raw, m.len, &why), 0, "%s",
	    why);
	cr_expect_eq(m.u.att_client.id, id);
}

/* Whether the logger holds the socket of inode `ino` (root reads a
 * non-dumpable child's /proc). */
static bool
logger_holds(ino_t ino)
{
	char path[64], link[64], want[64];
	struct dirent *de;
	bool found = false;
	DIR *d;

	(void)snprintf(path, sizeof(path), "/proc/%d/fd", (int)lpid);
	(void)snprintf(want, sizeof(want), "socket:[%llu]",
	    (unsigned long long)ino);
	d = opendir(path);
	cr_assert_not_null(d, "%s: %s", path, strerror(errno));
	while (!found && (de = readdir(d)) != NULL) {
		char fdpath[sizeof(path) + 256];
		ssize_t n;

		if (de->d_name[0] == '.')
			continue;
		(void)snprintf(fdpath, sizeof(fdpath), "%s/%s", path,
		    de->d_name);
		n = readlink(fdpath, link, sizeof(link) - 1);
		if (n <= 0)
			continue;
		link[n] = '\0';
		found = strcmp(link, want) == 0;
	}
	(void)closedir(d); /* read only */
	return found;
}

/* Until the logger took the socket it was sent. */
static void
wait_logger_holds(int fd)
{
	struct stat st;

	cr_assert_eq(fstat(fd, &st), 0);
	for (int i = 0; i < WAIT_MS / 5; i++) {
		if (logger_holds(st.st_ino))
			return;
		(void)usleep(5 * 1000); /* polling the logger's state */
	}
	cr_assert_fail("the logger never took the client");
}

/*
 * A client as the broker hands it over: one end of a SEQPACKET pair goes
 * to the logger (the broker's copy is closed here, so the logger's is the
 * last), the other is returned once the logger holds its copy (so every
 * chunk read from then on reaches it).
 */
static int
give_client(uint32_t id)
{
	struct chan_att_client a = { .id = id };
	int sv[2];

	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			 sv),
	    0);
	cr_assert_eq(chan_send(broker, CHAN_ATT_CLIENT, &a, sizeof(a), sv[0]),
	    0);
	wait_logger_holds(sv[0]);
	(void)close(sv[0]); /* the logger has its copy */
	return sv[1];
}

/* A started logger with its peer and two clients, ids 1 and 2, in cl. */
static void
start_with_two_clients(int cl[2])
{
	start();
	hello();
	give_peer(1);
	cl[0] = give_client(1);
	cl[1] = give_client(2);
}

/* One record within WAIT_MS: its length, 0 at EOF. */
static size_t
client_recv(int cl, unsigned char *rec, size_t len)
{
	struct pollfd pfd = { .fd = cl, .events = POLLIN };
	ssize_t n;

	cr_assert_eq(poll(&pfd, 1, WAIT_MS), 1, "no record");
	n = recv(cl, rec, len, MSG_DONTWAIT);
	cr_assert_geq(n, 0, "recv: %s", strerror(errno));
	return (size_t)n;
}

/* Records until `len` data bytes came, each checked; returns the count. */
static size_t
collect(int cl, unsigned stream, char *buf, size_t len)
{
	unsigned char rec[LOG_RECORD_MAX + 1];
	size_t off = 0, records = 0, n;

	while (off < len) {
		n = client_recv(cl, rec, sizeof(rec));
		cr_assert_gt(n, 0, "EOF at %zu of %zu bytes", off, len);
		/* spec 7.3: never past 8193 bytes, never empty */
		cr_assert_leq(n, LOG_RECORD_MAX);
		cr_assert_geq(n, 2);
		cr_assert_eq(rec[0], stream);
		cr_assert_leq(off + n - 1, len, "more than sent");
		memcpy(buf + off, rec + 1, n - 1);
		off += n - 1;
		records++;
	}
	return records;
}

static void
expect_output(int cl, unsigned stream, const char *want)
{
	char got[256];
	size_t len = strlen(want);

	cr_assert_lt(len, sizeof(got));
	(void)collect(cl, stream, got, len);
	cr_expect_eq(memcmp(got, want, len), 0, "got \"%.*s\"", (int)len, got);
}

static void
expect_eof(int cl)
{
	unsigned char rec[LOG_RECORD_MAX + 1];
	size_t n = client_recv(cl, rec, sizeof(rec));

	cr_expect_eq(n, 0, "a record of %zu bytes, not EOF", n);
}

/* The logger's read size with one client attached (sndbuf.c): its send
 * buffer raised as far as this host's net.core.wmem_max lets it. */
static size_t
read_size_one_client(void)
{
	FILE *f = fopen("/proc/sys/net/core/wmem_max", "r");
	int wmem_max = -1;

	cr_assert_not_null(f, "/proc/sys/net/core/wmem_max");
	cr_assert_eq(fscanf(f, "%d", &wmem_max), 1);
	(void)fclose(f);
	if (wmem_max > (int)LOG_CLIENT_SNDBUF)
		wmem_max = (int)LOG_CLIENT_SNDBUF;
	return log_chunk_max(2 * wmem_max); /* the kernel doubles it */
}

/* -l none: no sink, and the output still reaches a client, cut into
 * records of LOG_RECORD_DATA bytes (spec 7.3 allows up to 8192; logger.h
 * says why fewer), a shorter one ending each read: 35 records for 256 KiB
 * read at once (conmon's size would give 32), 36 for four reads of 64 KiB
 * (the kernel's default wmem_max). */
Test(logger, sends_pipe_chunk_in_records_without_sink)
{
	static char big[LOG_READ_MAX], got[LOG_READ_MAX];
	const size_t rd = read_size_one_client();
	struct chan_log_drained d;
	int p[2], err, cl;

	start();
	hello();
	give_peer(1);
	cl = give_client(1);
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i % 251);
	/* the whole chunk in the pipe before the logger sees it, so every
	 * read is rd bytes */
	make_pipe(p);
	put(p[1], big, sizeof(big));
	give_source(CHAN_STREAM_STDOUT, 0, p[0]);
	cr_expect_eq(collect(cl, CHAN_STREAM_STDOUT, got, sizeof(got)),
	    LOG_READ_MAX / rd * ((rd + LOG_RECORD_DATA - 1) / LOG_RECORD_DATA),
	    "256 KiB in reads of %zu", rd);
	cr_expect_eq(memcmp(got, big, sizeof(big)), 0);
	err = give_pipe(CHAN_STREAM_STDERR);
	put(err, "oops\n", 5);
	expect_output(cl, CHAN_STREAM_STDERR, "oops\n");
	d = drain();
	cr_expect_eq(d.bytes_read, sizeof(big) + 5);
	cr_expect_eq(d.bytes_lost, 0);
	/* spec 10.2: the drain closed the logger's copy: EOF */
	expect_eof(cl);
	(void)close(cl);
	(void)close(p[1]);
	(void)close(err);
}

/* k8s-file and records from the same chunk, unchanged; two clients. */
Test(logger, writes_log_and_records)
{
	struct chan_log_sink s = { .sink = CHAN_SINK_K8S };
	char path[] = "/tmp/vigil-logger-XXXXXX", buf[256];
	regex_t re;
	ssize_t n;
	int out, fd, cl[2];

	start();
	hello();
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	(void)unlink(path);
	reaper_send(CHAN_LOG_SINK, &s, sizeof(s), fd);
	give_peer(1);
	cl[0] = give_client(1);
	cl[1] = give_client(2);
	out = give_pipe(CHAN_STREAM_STDOUT);
	put(out, "hi\n", 3);
	expect_output(cl[0], CHAN_STREAM_STDOUT, "hi\n");
	expect_output(cl[1], CHAN_STREAM_STDOUT, "hi\n");
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
	(void)close(cl[0]);
	(void)close(cl[1]);
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

/* A bad message closes the pair (and its clients) and names it to the
 * reaper. */
Test(logger, bad_broker_message_sends_peer_lost)
{
	struct chan_att_client zero = { .id = 0 }, one = { .id = 1 };
	struct chan_att_closed closed = { 0 };
	int out, cl;

	start();
	hello();
	/* a type only the logger may send */
	give_peer(5);
	cl = give_client(9);
	cr_assert_eq(chan_send(broker, CHAN_ATT_CLIENT_GONE, &one,
			 sizeof(one), -1),
	    0);
	expect_peer_lost(5);
	expect_eof(cl); /* it went with the pair */
	(void)close(cl);
	/* the broker's, but for the reaper */
	give_peer(6);
	cr_assert_eq(chan_send(broker, CHAN_ATT_CLOSED, &closed,
			 sizeof(closed), -1),
	    0);
	expect_peer_lost(6);
	/* a field out of range, with its fd */
	give_peer(7);
	cr_assert_eq(chan_send(broker, CHAN_ATT_CLIENT, &zero, sizeof(zero),
			 0),
	    0);
	expect_peer_lost(7);
	cr_expect(strstr(diags, "unexpected ATT_CLOSED from the broker") !=
		NULL,
	    "diags: %s", diags);
	cr_expect(strstr(diags, "bad client id") != NULL, "diags: %s", diags);
	/* the next pair works */
	give_peer(8);
	cl = give_client(1);
	out = give_pipe(CHAN_STREAM_STDOUT);
	put(out, "ok\n", 3);
	expect_output(cl, CHAN_STREAM_STDOUT, "ok\n");
	(void)close(out);
	(void)close(cl);
}

/*
 * The broker died: the pair is closed quietly and every client with it
 * (they read EOF and reconnect, README "Respawn"); a new pair serves the
 * clients the new broker hands over.
 */
Test(logger, broker_eof_drops_its_clients)
{
	struct chan_msg m;
	int out, cl;

	start();
	hello();
	give_peer(1);
	cl = give_client(1);
	(void)close(broker); /* the broker dies */
	broker = -1;
	expect_eof(cl);
	(void)close(cl);
	out = give_pipe(CHAN_STREAM_STDOUT);
	give_peer(2);
	cl = give_client(1);
	put(out, "new\n", 4);
	expect_output(cl, CHAN_STREAM_STDOUT, "new\n");
	(void)drain(); /* no PEER_LOST came before it: reaper_next asserts */
	cr_expect(recv_within(rchan, CHAN_LOGGER, &m, 0) == -1,
	    "unexpected message %s", chan_specs[m.type].name);
	(void)close(out);
	(void)close(cl);
}

/* A new pair (either child respawned): the old pair's clients are
 * dropped, the broker hands over again whoever it still has. */
Test(logger, new_pair_drops_old_clients)
{
	int out, cl[2];

	start();
	hello();
	give_peer(1);
	cl[0] = give_client(1);
	give_peer(2);
	expect_eof(cl[0]);
	cl[1] = give_client(1);
	out = give_pipe(CHAN_STREAM_STDOUT);
	put(out, "x\n", 2);
	expect_output(cl[1], CHAN_STREAM_STDOUT, "x\n");
	(void)close(out);
	(void)close(cl[0]);
	(void)close(cl[1]);
}

/* The logger's total at the drain: "attach: N bytes of output were
 * dropped for slow clients", or 0 when it said none. */
static uint64_t
dropped_reported(void)
{
	const char *key = "bytes of output were dropped for slow clients";
	const char *p = strstr(diags, key);

	if (p == NULL)
		return 0;
	while (p > diags && p[-1] == ' ')
		p--;
	while (p > diags && p[-1] >= '0' && p[-1] <= '9')
		p--;
	return strtoull(p, NULL, 10);
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

/* The byte at `off` of a test stream: no period shorter than a record. */
static char
pattern(uint64_t off)
{
	return (char)(off * 7 + off / 251);
}

/*
 * security 7: a client that is behind gets a queue: output it has not
 * read yet, up to LOG_CLIENT_QUEUE beyond its socket, reaches it whole
 * and in order once it reads; nothing is dropped.
 */
Test(logger, client_behind_gets_its_queue)
{
	static char chunk[LOG_READ_MAX], got[LOG_CLIENT_QUEUE];
	int out, cl;

	start();
	hello();
	give_peer(1);
	cl = give_client(1);
	out = give_pipe(CHAN_STREAM_STDOUT);
	for (uint64_t sent = 0; sent < sizeof(got); sent += sizeof(chunk)) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = pattern(sent + i);
		put(out, chunk, sizeof(chunk)); /* blocks while the pipe is full */
	}
	(void)collect(cl, CHAN_STREAM_STDOUT, got, sizeof(got));
	for (size_t i = 0; i < sizeof(got); i++)
		cr_assert_eq(got[i], pattern(i), "byte %zu differs", i);
	cr_expect_eq(strstr(diags, "does not read"), NULL, "%s", diags);
	cr_expect_eq(dropped_reported(), 0, "%s", diags);
	(void)close(out);
	(void)close(cl);
}

/*
 * security 7, spec 7.5: a client that never reads: the log gets every
 * byte without the logger ever waiting or spinning; that client's
 * records beyond its queue are dropped, counted and said; another client
 * that reads gets everything; at the drain the stalled one's queue gets
 * LOG_CLOSE_GRACE_MS, then is dropped too, and it reads EOF after what it
 * has.
 */
Test(logger, client_that_never_reads_loses_only_its_own)
{
	static char chunk[LOG_READ_MAX], got[LOG_READ_MAX];
	/* past what its socket and its whole queue hold */
	const uint64_t total = LOG_CLIENT_QUEUE + 64 * (uint64_t)LOG_READ_MAX;
	struct chan_log_sink sink = { .sink = CHAN_SINK_K8S };
	char path[] = "/tmp/vigil-logger-XXXXXX", buf[65536];
	struct chan_log_drained d;
	uint64_t sent = 0, xs = 0, have = 0, full = 0;
	unsigned long long ticks;
	unsigned char rec[LOG_RECORD_MAX + 1];
	off_t pos = 0;
	ssize_t n;
	size_t r;
	int out, fd, slow, fast;

	start();
	hello();
	fd = mkstemp(path);
	cr_assert_geq(fd, 0);
	(void)unlink(path);
	reaper_send(CHAN_LOG_SINK, &sink, sizeof(sink), fd);
	give_peer(1);
	slow = give_client(1);
	fast = give_client(2);
	out = give_pipe(CHAN_STREAM_STDOUT);
	memset(chunk, 'x', sizeof(chunk));
	ticks = cpu_ticks();
	while (sent < total) {
		put(out, chunk, sizeof(chunk));
		sent += sizeof(chunk);
		(void)collect(fast, CHAN_STREAM_STDOUT, got, sizeof(got));
		cr_assert_eq(memcmp(got, chunk, sizeof(got)), 0);
	}
	/* a wait or a spin would show here */
	cr_expect_leq(cpu_ticks() - ticks, 50, "%llu ticks",
	    cpu_ticks() - ticks);
	d = drain(); /* after the grace for the slow client's queue */
	cr_expect_eq(d.bytes_read, total);
	cr_expect_eq(d.bytes_lost, 0);
	expect_eof(fast);
	/* every byte is in the log */
	while ((n = pread(fd, buf, sizeof(buf), pos)) > 0) {
		for (ssize_t i = 0; i < n; i++)
			xs += buf[i] == 'x';
		pos += n;
	}
	cr_expect_eq(xs, total, "the log has %" PRIu64 " bytes", xs);
	/* the slow client: what its socket held, whole records, then EOF;
	 * records of LOG_RECORD_DATA, but for the one that ends a read */
	while ((r = client_recv(slow, rec, sizeof(rec))) > 0) {
		cr_assert(r >= 2 && r <= 1 + LOG_RECORD_DATA, "%zu bytes", r);
		have += r - 1;
		full += r == 1 + LOG_RECORD_DATA ? r - 1 : 0;
	}
	cr_expect_lt(have, total);
	cr_expect_geq(2 * full, have, "%" PRIu64 " of %" PRIu64 " bytes in "
	    "whole records", full, have);
	cr_expect(strstr(diags, "client 1 does not read") != NULL, "%s",
	    diags);
	cr_expect(strstr(diags, "did not read their last") != NULL, "%s",
	    diags);
	/* every byte: received, or counted as dropped */
	cr_expect_eq(have + dropped_reported(), total, "%" PRIu64 " + %"
	    PRIu64 "; diags: %s", have, dropped_reported(), diags);
	cr_expect_eq(strstr(diags, "client 2"), NULL, "%s", diags);
	(void)close(fd);
	(void)close(out);
	(void)close(slow);
	(void)close(fast);
}

/* Record bytes a client can read now, until none comes for 300 ms. */
static uint64_t
read_all_now(int cl)
{
	unsigned char rec[LOG_RECORD_MAX + 1];
	struct pollfd pfd = { .fd = cl, .events = POLLIN };
	uint64_t have = 0;
	ssize_t n;

	while (poll(&pfd, 1, 300) == 1) {
		n = recv(cl, rec, sizeof(rec), MSG_DONTWAIT);
		cr_assert_gt(n, 1, "recv: %zd, %s", n, strerror(errno));
		have += (uint64_t)n - 1;
	}
	return have;
}

/*
 * security 7: all clients' queues together stay within
 * LOG_CLIENT_QUEUES_TOTAL. Five clients stop reading while 6 MiB go
 * out: four get a whole LOG_CLIENT_QUEUE, the fifth none, so when they
 * read again the fifth finds only what its socket held (its send buffer,
 * at most twice LOG_CLIENT_SNDBUF as the kernel counts it: about 1.9 MB
 * of records of LOG_RECORD_DATA; sndbuf.c) and the others
 * that and a full queue. Caught-up queues are given back: with three of
 * the four gone, the fifth falls behind again and now gets a full one.
 */
Test(logger, client_queues_share_one_total)
{
	enum { N = LOG_CLIENT_QUEUES_TOTAL / LOG_CLIENT_QUEUE + 1 };
	static char chunk[LOG_READ_MAX];
	const uint64_t total = LOG_CLIENT_QUEUE + 8 * (uint64_t)LOG_READ_MAX;
	uint64_t have[N], sent;
	int out, cl[N], pending;

	start();
	hello();
	give_peer(1);
	for (int i = 0; i < N; i++)
		cl[i] = give_client((uint32_t)i + 1);
	out = give_pipe(CHAN_STREAM_STDOUT);
	memset(chunk, 'q', sizeof(chunk));
	for (int round = 0; round < 2; round++) {
		if (round == 1) {
			for (int i = 0; i < N - 2; i++)
				(void)close(cl[i]);
			(void)usleep(200000); /* the logger saw them go */
		}
		for (sent = 0; sent < total; sent += sizeof(chunk))
			put(out, chunk, sizeof(chunk));
		do { /* the logger has read it all */
			cr_assert_eq(ioctl(out, FIONREAD, &pending), 0);
			(void)usleep(10000);
		} while (pending > 0);
		(void)usleep(200000); /* and sent or queued its last chunk */
		for (int i = N - 1; i >= (round == 0 ? 0 : N - 2); i--)
			have[i] = read_all_now(cl[i]);
		for (int i = round == 0 ? 0 : N - 2; i < N - 1; i++)
			cr_expect_gt(have[i], LOG_CLIENT_QUEUE - 2 * LOG_RECORD_MAX,
			    "round %d: client %d read %" PRIu64, round, i + 1,
			    have[i]);
		if (round == 0) /* what its socket holds: the send buffer
				 * as the kernel counts it, twice the asked */
			cr_expect_leq(have[N - 1], 2 * LOG_CLIENT_SNDBUF,
			    "client %d read %" PRIu64 " with no queue", N,
			    have[N - 1]);
		else
			cr_expect_gt(have[N - 1],
			    LOG_CLIENT_QUEUE - 2 * LOG_RECORD_MAX,
			    "client %d read %" PRIu64 " once queues were free",
			    N, have[N - 1]);
	}
	(void)close(out);
	(void)close(cl[N - 2]);
	(void)close(cl[N - 1]);
	(void)drain(); /* its diagnostics said before the test ends */
}

/* spec 7.4: a client that hangs up: the logger closes its copy and says
 * so (ATT_CLIENT_GONE); the others go on. */
Test(logger, client_gone_is_reported)
{
	int out, cl[2];

	start_with_two_clients(cl);
	(void)close(cl[0]); /* the client leaves */
	expect_broker(CHAN_ATT_CLIENT_GONE, 1);
	out = give_pipe(CHAN_STREAM_STDOUT);
	put(out, "on\n", 3);
	expect_output(cl[1], CHAN_STREAM_STDOUT, "on\n");
	(void)close(out);
	(void)close(cl[1]);
}

/* spec 10.2: a client handed over after the drain is closed at once and
 * reported gone. */
Test(logger, client_after_the_drain_is_refused)
{
	struct chan_att_client a = { .id = 4 };
	int sv[2];

	start();
	hello();
	give_peer(1);
	(void)drain();
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			 sv),
	    0);
	cr_assert_eq(chan_send(broker, CHAN_ATT_CLIENT, &a, sizeof(a), sv[0]),
	    0);
	(void)close(sv[0]); /* the logger has its copy */
	expect_broker(CHAN_ATT_CLIENT_GONE, 4);
	expect_eof(sv[1]);
	(void)close(sv[1]);
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
	int master, slave, cl;

	start();
	hello();
	give_peer(1);
	cl = give_client(1);
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	cr_assert_geq(master, 0);
	cr_assert_eq(grantpt(master), 0);
	cr_assert_eq(unlockpt(master), 0);
	cr_assert_eq(ptsname_r(master, name, sizeof(name)), 0);
	slave = open_slave(name);
	give_source(CHAN_STREAM_STDOUT, CHAN_SOURCE_PTY, master);
	put(slave, "hi\n", 3);
	expect_output(cl, CHAN_STREAM_STDOUT, "hi\r\n"); /* spec 6.2: ONLCR */
	(void)close(slave); /* no process holds the slave now */
	before = cpu_ticks();
	(void)nanosleep(&half, NULL); /* a measurement, not a wait */
	after = cpu_ticks();
	/* a busy loop would take most of 50 ticks */
	cr_expect_leq(after - before, 10, "%llu ticks in 0.5 s",
	    after - before);
	slave = open_slave(name);
	put(slave, "back\n", 5);
	expect_output(cl, CHAN_STREAM_STDOUT, "back\r\n");
	(void)close(slave);
	d = drain(); /* the hang-up ends the final drain */
	cr_expect_eq(d.bytes_read, 10);
	(void)close(cl);
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

/* No record on a client for a while. */
static void
expect_quiet(int cl)
{
	struct pollfd pfd = { .fd = cl, .events = POLLIN };

	cr_assert_eq(poll(&pfd, 1, 200), 0, "a record before the hand-over");
}

/*
 * README "The broker on demand": from a new pair's arrival until the
 * broker's ATT_HANDOVER_DONE the output read is kept; the clients handed
 * over meanwhile (those that connected before the broker ran) get it
 * first, then live output (spec 7.3).
 */
Test(logger, handover_backlog_reaches_waiting_clients)
{
	int out, cl;

	start();
	hello();
	out = give_pipe(CHAN_STREAM_STDOUT);
	give_peer_open(1);
	put(out, "early\n", 6);
	(void)usleep(100 * 1000); /* read before the client is handed */
	cl = give_client(1);
	put(out, "second\n", 7);
	expect_quiet(cl);
	handover_done();
	expect_output(cl, CHAN_STREAM_STDOUT, "early\nsecond\n");
	put(out, "live\n", 5);
	expect_output(cl, CHAN_STREAM_STDOUT, "live\n");
	(void)close(out);
	(void)close(cl);
}

/* The drain waits for a hand-over in progress: its clients get the
 * drained output, then EOF, before LOG_DRAINED (spec 10.2). */
Test(logger, drain_waits_for_the_handover)
{
	struct chan_msg m;
	int out, cl;

	start();
	hello();
	out = give_pipe(CHAN_STREAM_STDOUT);
	give_peer_open(1);
	cl = give_client(1);
	put(out, "last\n", 5);
	(void)close(out);
	reaper_send(CHAN_LOG_DRAIN, NULL, 0, -1);
	cr_assert_eq(recv_within(rchan, CHAN_LOGGER, &m, 200), -1,
	    "%s before the hand-over", chan_specs[m.type].name);
	handover_done();
	expect_output(cl, CHAN_STREAM_STDOUT, "last\n");
	reaper_next(&m);
	cr_assert_eq(m.type, CHAN_LOG_DRAINED, "got %s",
	    chan_specs[m.type].name);
	expect_eof(cl);
	(void)close(cl);
}

/* Past LOG_BACKLOG the oldest records go, counted and said; the client
 * gets the newest, in order. */
Test(logger, handover_backlog_drops_the_oldest)
{
	static char chunk[4096], got[LOG_BACKLOG];
	static unsigned char rec[LOG_RECORD_MAX + 1];
	const size_t total = LOG_BACKLOG + 64 * 1024;
	struct pollfd pfd;
	uint64_t off = 0;
	size_t n, len = 0;
	int out, cl;

	start();
	hello();
	out = give_pipe(CHAN_STREAM_STDOUT);
	give_peer_open(1);
	while (off < total) {
		for (size_t i = 0; i < sizeof(chunk); i++)
			chunk[i] = pattern(off + i);
		put(out, chunk, sizeof(chunk));
		off += sizeof(chunk);
		(void)usleep(2000);
	}
	(void)usleep(100 * 1000);
	cl = give_client(1);
	handover_done();
	/* what came: records until the client is quiet */
	pfd = (struct pollfd){ .fd = cl, .events = POLLIN };
	while (poll(&pfd, 1, 300) == 1) {
		n = client_recv(cl, rec, sizeof(rec));
		cr_assert_gt(n, 1);
		cr_assert_leq(len + n - 1, sizeof(got), "more than the bound");
		memcpy(got + len, rec + 1, n - 1);
		len += n - 1;
	}
	/* the newest, whole: at most two records short of the bound */
	cr_assert_geq(len, sizeof(got) - 2 * (LOG_RECORD_MAX + 2));
	for (size_t i = 0; i < len; i++)
		cr_assert_eq(got[i], pattern(total - len + i),
		    "byte %zu of the newest %zu", i, len);
	(void)close(out);
	(void)drain();
	cr_expect_not_null(strstr(diags, "dropped for its first clients"),
	    "%s", diags);
	(void)close(cl);
}

/* ATT_HANDOVER_DONE comes once a pair: a second one is a bad message. */
Test(logger, second_handover_done_sends_peer_lost)
{
	start();
	hello();
	give_peer(1);
	handover_done();
	expect_peer_lost(1);
}

/*
 * The attach listener, polled only: with no pair, a client waiting in it
 * makes the logger keep what it reads for the broker on its way; the
 * drain waits for that broker's hand-over (README "The broker on
 * demand").
 */
Test(logger, waiting_client_without_broker_gets_the_output)
{
	struct chan_att_fd f = { .kind = CHAN_ATT_FD_LISTENER };
	struct chan_msg m;
	int lsv, waiting, accepted, out, cl;

	start();
	hello();
	lsv = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	cr_assert_geq(lsv, 0);
	/* an autobound abstract address: connectable, no file */
	{
		struct sockaddr_un a = { .sun_family = AF_UNIX };
		socklen_t alen = sizeof(sa_family_t);

		cr_assert_eq(bind(lsv, (struct sockaddr *)&a, alen), 0);
		cr_assert_eq(listen(lsv, 4), 0);
		alen = sizeof(a);
		cr_assert_eq(getsockname(lsv, (struct sockaddr *)&a, &alen),
		    0);
		waiting = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
		reaper_send(CHAN_ATT_FD, &f, sizeof(f), lsv);
		out = give_pipe(CHAN_STREAM_STDOUT);
		put(out, "before\n", 7); /* nobody waits: not kept */
		(void)usleep(100 * 1000);
		cr_assert_eq(connect(waiting, (struct sockaddr *)&a, alen), 0);
	}
	put(out, "kept\n", 5);
	(void)close(out);
	reaper_send(CHAN_LOG_DRAIN, NULL, 0, -1);
	cr_assert_eq(recv_within(rchan, CHAN_LOGGER, &m, 200), -1,
	    "%s before a broker came", chan_specs[m.type].name);
	/* the broker comes, accepts the waiting client, hands it over */
	give_peer_open(1);
	accepted = accept4(lsv, NULL, NULL, SOCK_CLOEXEC);
	cr_assert_geq(accepted, 0);
	{
		struct chan_att_client a = { .id = 1 };

		cr_assert_eq(chan_send(broker, CHAN_ATT_CLIENT, &a, sizeof(a),
				 accepted),
		    0);
		(void)close(accepted); /* the logger's copy is the last */
	}
	handover_done();
	cl = waiting;
	expect_output(cl, CHAN_STREAM_STDOUT, "kept\n");
	reaper_next(&m);
	cr_assert_eq(m.type, CHAN_LOG_DRAINED, "got %s",
	    chan_specs[m.type].name);
	expect_eof(cl);
	(void)close(cl);
	(void)close(lsv);
}

/* A broker that dies (its pair's EOF): the output read until its
 * successor's hand-over is kept for the clients that one hands over
 * (README "Respawn"). */
Test(logger, output_kept_while_the_broker_respawns)
{
	int out, cl;

	start();
	hello();
	out = give_pipe(CHAN_STREAM_STDOUT);
	give_peer(1);
	(void)close(broker); /* the broker dies */
	broker = -1;
	(void)usleep(100 * 1000); /* its EOF is read */
	put(out, "gap\n", 4);
	(void)usleep(100 * 1000);
	give_peer_open(2);
	cl = give_client(1);
	handover_done();
	expect_output(cl, CHAN_STREAM_STDOUT, "gap\n");
	put(out, "live\n", 5);
	expect_output(cl, CHAN_STREAM_STDOUT, "live\n");
	(void)close(out);
	(void)close(cl);
}

/* ---- client input to the container's stdin (input.c) ---------------- */

/* -i: the stdin pipe's write end, as the reaper sends it; its read end. */
static int
give_stdin(void)
{
	struct chan_att_fd f = { .kind = CHAN_ATT_FD_STDIN };
	int p[2];

	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	reaper_send(CHAN_ATT_FD, &f, sizeof(f), p[1]);
	(void)close(p[1]); /* the logger has its copy */
	return p[0];
}

static void
client_send(int fd, const void *buf, size_t len)
{
	cr_assert_eq(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len,
	    "send: %s", strerror(errno));
}

/* Reads exactly len bytes from the container's side of stdin. */
static void
expect_stdin(int fd, const char *want, size_t len)
{
	static char buf[65536];
	size_t got = 0;

	cr_assert_leq(len, sizeof(buf));
	while (got < len) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "no stdin");
		n = read(fd, buf + got, len - got);
		cr_assert_gt(n, 0, "stdin: %s", n == 0 ? "EOF" :
		    strerror(errno));
		got += (size_t)n;
	}
	cr_assert_arr_eq(buf, want, len);
}

/* Nothing readable on fd for ms. */
static void
expect_nothing(int fd, int ms, const char *what)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };

	cr_assert_eq(poll(&p, 1, ms), 0, "%s", what);
}

/* Waits until a DIAG containing text came (DIAGs only meanwhile). */
static void
expect_diag(const char *text)
{
	struct chan_msg m;

	while (strstr(diags, text) == NULL) {
		struct pollfd p = { .fd = rchan, .events = POLLIN };

		cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "no diagnostic \"%s\";"
		    " got:\n%s", text, diags);
		cr_assert_eq(recv_within(rchan, CHAN_LOGGER, &m, 0), 1);
		cr_assert_eq(m.type, CHAN_DIAG, "unexpected %s",
		    chan_specs[m.type].name);
		if (diags_len + m.len < sizeof(diags)) {
			memcpy(diags + diags_len, m.u.raw + 1, m.len - 1);
			diags_len += m.len - 1;
			diags[diags_len++] = '\n';
			diags[diags_len] = '\0';
		}
	}
}

/* spec 7.3 decision: records up to 32768 bytes whole; past it cut. */
Test(logger, input_len_cuts_at_conn_sock_buf_size)
{
	cr_assert_eq(log_input_len(1, 0), 1);
	cr_assert_eq(log_input_len(LOG_INPUT_MAX, 0), LOG_INPUT_MAX);
	cr_assert_eq(log_input_len(LOG_INPUT_MAX + 1, 0), LOG_INPUT_MAX);
	cr_assert_eq(log_input_len(LOG_INPUT_BUF, MSG_TRUNC), LOG_INPUT_MAX);
	cr_assert_eq(log_input_len(5, MSG_TRUNC), LOG_INPUT_MAX);
}

/*
 * spec 6.4, 7.4: input from every client reaches stdin in arrival order;
 * the first client done writing closes it (the reaper is told, the
 * container reads EOF); its output goes on; later input is discarded;
 * once it hangs up too the broker is told.
 */
Test(logger, input_reaches_stdin_and_eof_closes_it)
{
	struct chan_msg m;
	int in, out, cl[2];

	start_conf(true, false, false);
	hello();
	in = give_stdin();
	give_peer(1);
	cl[0] = give_client(1);
	cl[1] = give_client(2);
	client_send(cl[0], "abc", 3);
	expect_stdin(in, "abc", 3);
	client_send(cl[1], "def", 3);
	expect_stdin(in, "def", 3);
	cr_assert_eq(shutdown(cl[0], SHUT_WR), 0);
	reaper_next(&m);
	cr_assert_eq(m.type, CHAN_ATT_STDIN_CLOSED, "got %s",
	    chan_specs[m.type].name);
	{
		char c;

		cr_assert_eq(read(in, &c, 1), 0, "stdin not at EOF");
	}
	out = give_pipe(CHAN_STREAM_STDOUT);
	put(out, "more\n", 5);
	expect_output(cl[0], CHAN_STREAM_STDOUT, "more\n");
	expect_output(cl[1], CHAN_STREAM_STDOUT, "more\n");
	client_send(cl[1], "late", 4); /* discarded */
	(void)close(cl[0]); /* done both ways now */
	expect_broker(CHAN_ATT_CLIENT_GONE, 1);
	put(out, "on\n", 3);
	expect_output(cl[1], CHAN_STREAM_STDOUT, "on\n");
	(void)close(out);
	(void)close(in);
	(void)close(cl[1]);
	expect_broker(CHAN_ATT_CLIENT_GONE, 2);
}

/* spec 7.4: --leave-stdin-open: a client done writing keeps it open. */
Test(logger, leave_stdin_open_keeps_stdin)
{
	int in, cl[2];

	start_conf(true, false, true);
	hello();
	in = give_stdin();
	give_peer(1);
	cl[0] = give_client(1);
	client_send(cl[0], "one", 3);
	cr_assert_eq(shutdown(cl[0], SHUT_WR), 0);
	expect_stdin(in, "one", 3);
	cl[1] = give_client(2);
	client_send(cl[1], "two", 3);
	expect_stdin(in, "two", 3);
	(void)close(in);
	(void)close(cl[0]);
	(void)close(cl[1]);
}

/*
 * spec 6.4: without -i or -t input is read and dropped; a client that
 * sent input and hung up is finished (the broker told), its input read.
 */
Test(logger, discards_input_without_stdin)
{
	int out, cl[2];

	start_with_two_clients(cl);
	client_send(cl[0], "nowhere", 7);
	cr_assert_eq(shutdown(cl[0], SHUT_WR), 0);
	out = give_pipe(CHAN_STREAM_STDOUT);
	put(out, "still\n", 6);
	expect_output(cl[0], CHAN_STREAM_STDOUT, "still\n");
	client_send(cl[1], "gone", 4);
	(void)close(cl[1]); /* hangs up with its input unread */
	expect_broker(CHAN_ATT_CLIENT_GONE, 2);
	(void)close(out);
	(void)close(cl[0]);
}

/*
 * spec 6.4, security 11: a container that does not read stdin: input
 * waits in the client's socket, output flows on, and once stdin is read
 * every byte arrives, in order.
 */
Test(logger, stdin_flow_control_without_loss)
{
	static char in[8 * 32768], got[sizeof(in)];
	size_t off = 0, have = 0;
	int fd, out, cl;

	start_conf(true, false, true);
	hello();
	fd = give_stdin();
	give_peer(1);
	cl = give_client(1);
	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i * 7 + i / 32768);
	cr_assert_eq(fcntl(cl, F_SETFL, O_NONBLOCK), 0);
	/* more than the pipe holds; the rest waits in the socket */
	while (off < sizeof(in)) {
		ssize_t n = send(cl, in + off, 32768, MSG_NOSIGNAL);

		if (n < 0 && errno == EAGAIN)
			break;
		cr_assert_eq(n, 32768, "send: %s", strerror(errno));
		off += 32768;
	}
	out = give_pipe(CHAN_STREAM_STDOUT);
	put(out, "alive\n", 6);
	expect_output(cl, CHAN_STREAM_STDOUT, "alive\n");
	while (have < sizeof(in)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		ssize_t n;

		if (off < sizeof(in)) {
			n = send(cl, in + off, 32768, MSG_NOSIGNAL);
			if (n == 32768)
				off += 32768;
		}
		cr_assert_eq(poll(&p, 1, WAIT_MS), 1, "no stdin");
		n = read(fd, got + have, sizeof(got) - have);
		cr_assert_gt(n, 0);
		have += (size_t)n;
	}
	cr_assert_arr_eq(got, in, sizeof(in), "stdin bytes differ");
	(void)close(out);
	(void)close(fd);
	(void)close(cl);
}

/* spec 7.3 decision: a record past 32768 bytes is cut, and said. */
Test(logger, warns_about_truncated_input)
{
	static char big[40000];
	int in, cl;

	start_conf(true, false, true);
	hello();
	in = give_stdin();
	give_peer(1);
	cl = give_client(1);
	memset(big, 'z', sizeof(big));
	client_send(cl, big, sizeof(big));
	client_send(cl, "end", 3);
	expect_stdin(in, big, 32768);
	expect_stdin(in, "end", 3);
	expect_diag("client 1 sent a record over 32768 bytes");
	(void)close(in);
	(void)close(cl);
}

/*
 * -t, spec 6.2 steps 4-5: input sent before the pty master arrives waits
 * for it, then is written to it (the logger's pty source); a client done
 * writing never closes it (spec 7.4).
 */
Test(logger, terminal_input_waits_for_the_pty)
{
	struct termios tio;
	int master, slave, cl;

	start_conf(false, true, false);
	hello();
	give_peer(1);
	cl = give_client(1);
	client_send(cl, "early\n", 6);
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	cr_assert_geq(master, 0);
	cr_assert_eq(grantpt(master), 0);
	cr_assert_eq(unlockpt(master), 0);
	slave = open_slave(ptsname(master));
	cr_assert_eq(tcgetattr(slave, &tio), 0);
	cfmakeraw(&tio); /* the bytes as sent, no echo */
	cr_assert_eq(tcsetattr(slave, TCSANOW, &tio), 0);
	expect_nothing(slave, 200, "input before the pty came");
	give_source(CHAN_STREAM_STDOUT, CHAN_SOURCE_PTY, master);
	expect_stdin(slave, "early\n", 6);
	client_send(cl, "late\n", 5);
	cr_assert_eq(shutdown(cl, SHUT_WR), 0);
	expect_stdin(slave, "late\n", 5);
	put(slave, "out\n", 4);
	expect_output(cl, CHAN_STREAM_STDOUT, "out\n");
	(void)close(slave);
	(void)close(cl);
}

/*
 * Respawn: input still in a client's socket when the logger dies is read
 * by its successor, which gets the client again: nothing lost, nothing
 * twice (the dead one was blocked on a full stdin between records).
 */
Test(logger, input_survives_a_new_logger)
{
	static char in[6 * 32768], got[sizeof(in)];
	struct chan_att_client a = { .id = 1 };
	size_t have = 0;
	int fd, keep, cl, sv[2], status;
	struct chan_att_fd f = { .kind = CHAN_ATT_FD_STDIN };
	int p[2];

	for (size_t i = 0; i < sizeof(in); i++)
		in[i] = (char)(i / 32768 + 'a');
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	fd = p[0];
	start_conf(true, false, true);
	hello();
	reaper_send(CHAN_ATT_FD, &f, sizeof(f), p[1]);
	give_peer(1);
	cr_assert_eq(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0,
			 sv),
	    0);
	cl = sv[1];
	keep = sv[0]; /* the broker's copy, for the next logger */
	cr_assert_eq(chan_send(broker, CHAN_ATT_CLIENT, &a, sizeof(a), keep),
	    0);
	for (size_t off = 0; off < sizeof(in); off += 32768)
		client_send(cl, in + off, 32768);
	/* the pipe (64 KiB) holds two records; the third waits */
	while (have < 2 * 32768) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		int avail = 0;

		cr_assert_eq(poll(&pf, 1, WAIT_MS), 1, "no stdin");
		cr_assert_eq(ioctl(fd, FIONREAD, &avail), 0);
		if (avail < 2 * 32768) {
			(void)usleep(10 * 1000);
			continue;
		}
		break;
	}
	cr_assert_eq(kill(lpid, SIGKILL), 0);
	cr_assert_eq(waitpid(lpid, &status, 0), lpid);
	lpid = -1;
	(void)close(rchan);
	rchan = -1;
	/* its successor, as the reaper and the broker renew it */
	start_conf(true, false, true);
	hello();
	reaper_send(CHAN_ATT_FD, &f, sizeof(f), p[1]);
	(void)close(p[1]); /* the logger has its copy */
	give_peer(2);
	cr_assert_eq(chan_send(broker, CHAN_ATT_CLIENT, &a, sizeof(a), keep),
	    0);
	(void)close(keep);
	while (have < sizeof(in)) {
		struct pollfd pf = { .fd = fd, .events = POLLIN };
		ssize_t n;

		cr_assert_eq(poll(&pf, 1, WAIT_MS), 1, "no stdin after %zu",
		    have);
		n = read(fd, got + have, sizeof(got) - have);
		cr_assert_gt(n, 0);
		have += (size_t)n;
	}
	cr_assert_arr_eq(got, in, sizeof(in), "stdin bytes differ");
	expect_nothing(fd, 100, "more than was sent");
	(void)close(fd);
	(void)close(cl);
}

/*
 * security 11: a client flooding input (here without stdin, so every
 * record is read and dropped) never starves another client's output or
 * the drain.
 */
Test(logger, input_flood_starves_nothing)
{
	int out, cl[2];
	pid_t flooder;

	start_with_two_clients(cl);
	out = give_pipe(CHAN_STREAM_STDOUT);
	flooder = fork();
	cr_assert_geq(flooder, 0);
	if (flooder == 0) {
		char junk[64];

		memset(junk, 'j', sizeof(junk));
		for (;;)
			if (send(cl[1], junk, sizeof(junk), MSG_NOSIGNAL) < 0)
				_exit(0);
	}
	for (int i = 0; i < 20; i++) {
		char n[8];

		(void)snprintf(n, sizeof(n), "%d\n", i);
		put(out, n, strlen(n));
		expect_output(cl[0], CHAN_STREAM_STDOUT, n);
	}
	(void)close(out);
	(void)drain();
	expect_eof(cl[0]);
	(void)kill(flooder, SIGKILL); /* test cleanup */
	(void)waitpid(flooder, NULL, 0);
	(void)close(cl[0]);
	(void)close(cl[1]);
}
