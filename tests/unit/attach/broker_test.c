/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/unit/attach/broker_test.c: the attach broker end to end. Each test
 * forks att_main() (sandboxed, with the real seccomp-profiles/attach) and
 * plays the reaper and the logger over real channels, with a real
 * listening SEQPACKET socket, real clients and a pty. As the logger it
 * takes the client sockets the broker hands over and sends the output
 * records on them itself (the logger's input path is logger_test.c's).
 * A forbidden system call shows up as a CHAN_TRAP and fails the test.
 */
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include <criterion/criterion.h>

#include "attach/broker.h"
#include "common/chan.h"
#include "common/diag.h"
#include "common/io.h"
#include "common/role.h"

/* Every wait for the broker ends here: a hung broker fails the test. */
#define WAIT_MS 5000
/* A test blocked anyway (a send to a broker that stopped reading) dies. */
#define TEST_ALARM_S 60
#define DIAG_LOG_MAX 65536
#define NOBODY 65534

static struct {
	pid_t pid;
	int reaper;	/* our end of the broker's channel */
	int logger;	/* our end of the logger<->broker pair */
	int listener;
	struct sockaddr_un addr;
	socklen_t addrlen;
	/* the logger's copies of the clients, in order of hand-over */
	int copy[ATT_MAX_CLIENTS + 1];
	uint32_t id[ATT_MAX_CLIENTS + 1];
	size_t ncopies;
	unsigned dones;	/* ATT_HANDOVER_DONE seen on the current pair */
	char diags[DIAG_LOG_MAX];
	size_t ndiags;
} t = { .pid = -1, .reaper = -1, .logger = -1, .listener = -1 };

static void
broker_fini(void)
{
	int status;

	if (t.pid > 0) {
		(void)kill(t.pid, SIGKILL); /* test cleanup */
		(void)waitpid(t.pid, &status, 0);
	}
}

/*
 * No .timeout: criterion's runner leaks when two suites with one run in
 * parallel (seen under SANITIZE=1). start() arms an alarm instead, which
 * kills a test that blocks past every deadline below.
 */
TestSuite(broker, .fini = broker_fini);

static void
wait_readable(int fd, const char *what)
{
	struct pollfd p = { .fd = fd, .events = POLLIN };
	int rc;

	do {
		rc = poll(&p, 1, WAIT_MS);
	} while (rc < 0 && errno == EINTR);
	cr_assert_gt(rc, 0, "timed out waiting for %s", what);
}

/* One message from the broker; a DIAG is collected and false returned. */
static bool
reaper_recv_any(struct chan_msg *m)
{
	const char *why = NULL;

	wait_readable(t.reaper, "the broker's channel");
	cr_assert_eq(chan_recv(t.reaper, CHAN_BROKER, m, &why), 1,
	    "broker channel: %s", why != NULL ? why : strerror(errno));
	cr_assert_eq(chan_msg_check(m->type, m->u.raw, m->len, &why), 0, "%s",
	    why);
	cr_assert_neq(m->type, CHAN_TRAP,
	    "the broker made forbidden system call %d",
	    m->type == CHAN_TRAP ? m->u.trap.nr : 0);
	if (m->type != CHAN_DIAG)
		return true;
	if (t.ndiags + m->len + 1 < sizeof(t.diags)) {
		memcpy(t.diags + t.ndiags, m->u.raw + 1, m->len - 1);
		t.ndiags += m->len - 1;
		t.diags[t.ndiags++] = '\n';
		t.diags[t.ndiags] = '\0';
	}
	return false;
}

/* The next message from the broker but DIAGs, which are collected. */
static void
reaper_recv(struct chan_msg *m)
{
	while (!reaper_recv_any(m))
		continue;
}

static void
expect_reaper(unsigned type, struct chan_msg *m)
{
	reaper_recv(m);
	cr_assert_eq(m->type, type, "got %s, want %s",
	    chan_specs[m->type].name, chan_specs[type].name);
}

/* Waits until a DIAG containing `text` came (other messages: none). */
static void
expect_diag(const char *text)
{
	struct chan_msg m;

	while (strstr(t.diags, text) == NULL) {
		struct pollfd p = { .fd = t.reaper, .events = POLLIN };

		cr_assert_gt(poll(&p, 1, WAIT_MS), 0, "no diagnostic \"%s\"; "
		    "got:\n%s", text, t.diags);
		if (reaper_recv_any(&m))
			cr_assert_fail("unexpected %s",
			    chan_specs[m.type].name);
	}
}

static void
send_fd(unsigned kind, int fd)
{
	struct chan_att_fd f = { .kind = kind };

	cr_assert_eq(chan_send(t.reaper, CHAN_ATT_FD, &f, sizeof(f), fd), 0);
	(void)close(fd); /* the broker has its copy */
}

static void
send_peer(uint32_t generation, int *logger_end)
{
	struct chan_peer p = { .generation = generation };
	int lp[2];

	cr_assert_eq(chan_pair(lp), 0);
	cr_assert_eq(chan_send(t.reaper, CHAN_PEER, &p, sizeof(p), lp[1]), 0);
	(void)close(lp[1]); /* the broker's end */
	*logger_end = lp[0];
	t.dones = 0; /* one is owed on this pair */
}

/* The next message on the pair, checked; ATT_HANDOVER_DONE counted. */
static void
logger_next(struct chan_msg *m)
{
	const char *why = NULL;

	wait_readable(t.logger, "a message on the pair");
	cr_assert_eq(chan_recv(t.logger, CHAN_BROKER, m, &why), 1, "%s",
	    why != NULL ? why : strerror(errno));
	if (m->type == CHAN_ATT_HANDOVER_DONE) {
		cr_assert_eq(m->len, 0);
		t.dones++;
		cr_assert_eq(t.dones, 1, "a second ATT_HANDOVER_DONE");
	}
}

/* The next client handed over on the pair, as the logger takes it:
 * its copy is kept in t.copy[], and returned. The pair's
 * ATT_HANDOVER_DONE may come first (no client waited for the pair). */
static int
logger_take(void)
{
	struct chan_msg m;
	const char *why = NULL;

	do
		logger_next(&m);
	while (m.type == CHAN_ATT_HANDOVER_DONE);
	cr_assert_eq(m.type, CHAN_ATT_CLIENT, "got %s",
	    chan_specs[m.type].name);
	cr_assert_eq(chan_msg_check(m.type, m.u.raw, m.len, &why), 0, "%s",
	    why);
	cr_assert_geq(m.fd, 0);
	cr_assert_lt(t.ncopies, VIGIL_NELEM(t.copy));
	t.copy[t.ncopies] = m.fd;
	t.id[t.ncopies] = m.u.att_client.id;
	return (int)t.ncopies++;
}

static void
logger_send(unsigned type, uint32_t id)
{
	struct chan_att_client a = { .id = id };

	cr_assert_eq(chan_send(t.logger, type, &a, sizeof(a), -1), 0);
}

/* Nothing more on the pair for a while (no hand-over expected). */
static void
logger_quiet(void)
{
	struct pollfd p = { .fd = t.logger, .events = POLLIN };

	cr_assert_eq(poll(&p, 1, 100), 0, "unexpected message on the pair");
}

/* The logger's copies closed, as it does at its drain or on a new pair. */
static void
logger_drop_copies(void)
{
	for (size_t i = 0; i < t.ncopies; i++)
		if (t.copy[i] >= 0)
			(void)close(t.copy[i]); /* the logger's copy */
	t.ncopies = 0;
}

/* spec 7.3: what the logger sends every client it holds (one record). */
static void
logger_output(unsigned stream, const void *data, size_t len)
{
	unsigned char rec[1 + 8192];

	cr_assert_leq(len, 8192);
	rec[0] = (unsigned char)stream;
	memcpy(rec + 1, data, len);
	for (size_t i = 0; i < t.ncopies; i++)
		if (t.copy[i] >= 0)
			cr_assert_eq(send(t.copy[i], rec, len + 1,
			    MSG_NOSIGNAL), (ssize_t)(len + 1), "send: %s",
			    strerror(errno));
}

/* Forks the broker with a listener, and plays the reaper until HELLO. */
static void
start(bool terminal)
{
	static unsigned seq;
	struct role_conf rc = {
		.short_id = "0123456789ab",
		.terminal = terminal,
	};
	struct chan_msg m;
	int sv[2];

	(void)alarm(TEST_ALARM_S); /* SIGALRM's default: the test crashes */
	memset(&t.addr, 0, sizeof(t.addr));
	t.addr.sun_family = AF_UNIX;
	/* abstract: no file, unique per test process */
	(void)snprintf(t.addr.sun_path + 1, sizeof(t.addr.sun_path) - 1,
	    "vigil-broker-test-%d-%u", (int)getpid(), seq++);
	t.addrlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 +
	    strlen(t.addr.sun_path + 1));
	t.listener = socket(AF_UNIX,
	    SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	cr_assert_geq(t.listener, 0);
	cr_assert_eq(bind(t.listener, (struct sockaddr *)&t.addr, t.addrlen),
	    0, "bind: %s", strerror(errno));
	cr_assert_eq(listen(t.listener, 10), 0);
	cr_assert_eq(chan_pair(sv), 0);
	rc.chan_fd = sv[1];
	rc.reaper = getpid();
	rc.uid = geteuid() == 0 ? NOBODY : getuid();
	rc.gid = geteuid() == 0 ? NOBODY : getgid();
	t.pid = fork();
	cr_assert_geq(t.pid, 0);
	if (t.pid == 0)
		att_main(&rc); /* fork does not pass the alarm on */
	(void)close(sv[1]); /* the broker's end */
	t.reaper = sv[0];
	expect_reaper(CHAN_HELLO, &m);
	cr_assert_eq(m.u.hello.role, CHAN_BROKER);
	cr_assert_eq(m.u.hello.pid, t.pid);
	send_fd(CHAN_ATT_FD_LISTENER, t.listener);
}

static int
client_connect(void)
{
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	cr_assert_geq(fd, 0);
	cr_assert_eq(connect(fd, (struct sockaddr *)&t.addr, t.addrlen), 0,
	    "connect: %s", strerror(errno));
	return fd;
}

/* Connects a client; the logger takes it. */
static int
attach_one(void)
{
	int fd = client_connect();

	(void)logger_take();
	return fd;
}

/* Connects n clients to a broker with a first pair. */
static void
attach_clients(int *fds, size_t n)
{
	send_peer(1, &t.logger);
	for (size_t i = 0; i < n; i++)
		fds[i] = attach_one();
}

/* One record from a client; its length (0: EOF). */
static size_t
client_recv(int fd, void *buf, size_t len)
{
	ssize_t n;

	wait_readable(fd, "a record");
	n = recv(fd, buf, len, 0);
	cr_assert_geq(n, 0, "recv: %s", strerror(errno));
	return (size_t)n;
}

static void
expect_record(int fd, unsigned stream, const char *text)
{
	char buf[1 + 8192 + 1];
	size_t n = client_recv(fd, buf, sizeof(buf));

	cr_assert_eq(n, strlen(text) + 1, "record of %zu bytes", n);
	cr_assert_eq((unsigned char)buf[0], stream);
	cr_assert_arr_eq(buf + 1, text, n - 1);
}

static void
client_send(int fd, const void *buf, size_t len)
{
	cr_assert_eq(send(fd, buf, len, MSG_NOSIGNAL), (ssize_t)len,
	    "send: %s", strerror(errno));
}

/*
 * Reads exactly len bytes of a client's input from the logger's copy of
 * its socket: input the broker must leave unread (the logger writes it to
 * stdin, README "How the processes fit").
 */
static void
expect_waiting_input(int fd, const char *want, size_t len)
{
	char buf[65536];
	size_t got = 0;

	cr_assert_leq(len, sizeof(buf));
	while (got < len) {
		ssize_t n;

		wait_readable(fd, "client input");
		n = read(fd, buf + got, len - got);
		cr_assert_gt(n, 0, "client input: %s", n == 0 ? "EOF" :
		    strerror(errno));
		got += (size_t)n;
	}
	cr_assert_arr_eq(buf, want, len);
}

static void
expect_eof(int fd, const char *what)
{
	char c;

	wait_readable(fd, what);
	cr_assert_eq(read(fd, &c, 1), 0, "%s: no EOF", what);
}

/* spec 10.2: ATT_CLOSE, ATT_CLOSED, then the broker leaves on our EOF. */
static struct chan_att_closed
stop(void)
{
	struct chan_att_closed c;
	struct chan_msg m;
	int status;

	logger_drop_copies(); /* the logger's drain closed them (spec 10.2) */
	cr_assert_eq(chan_send(t.reaper, CHAN_ATT_CLOSE, NULL, 0, -1), 0);
	expect_reaper(CHAN_ATT_CLOSED, &m);
	memcpy(&c, m.u.raw, sizeof(c));
	(void)close(t.reaper); /* the reaper is done with it */
	t.reaper = -1;
	cr_assert_eq(waitpid(t.pid, &status, 0), t.pid);
	t.pid = -1;
	cr_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0,
	    "broker status %#x", status);
	return c;
}

Test(broker, serves_two_clients_end_to_end)
{
	struct chan_att_closed c;
	int cl[2];

	start(false);
	attach_clients(cl, 2);
	/* spec 7.3: every client gets every record, as the logger sent it */
	logger_output(CHAN_STREAM_STDOUT, "hi\n", 3);
	logger_output(CHAN_STREAM_STDERR, "oops\n", 5);
	for (int i = 0; i < 2; i++) {
		expect_record(cl[i], CHAN_STREAM_STDOUT, "hi\n");
		expect_record(cl[i], CHAN_STREAM_STDERR, "oops\n");
	}
	/* the broker never reads a client's input: it waits for the
	 * logger, and is discarded at the close (spec 10.2: EOF, never
	 * ECONNRESET, for a client that sent input nobody read) */
	cr_assert_eq(shutdown(cl[0], SHUT_WR), 0);
	logger_output(CHAN_STREAM_STDOUT, "more", 4);
	expect_record(cl[0], CHAN_STREAM_STDOUT, "more");
	expect_record(cl[1], CHAN_STREAM_STDOUT, "more");
	client_send(cl[1], "late", 4);
	c = stop();
	cr_assert_eq(c.clients, 2);
	expect_eof(cl[0], "client 0");
	expect_eof(cl[1], "client 1");
}

/*
 * A client the logger is done with (GONE) is forgotten; the next one is
 * handed over under a new id (security 8: nothing kept).
 */
static int broker_fds(void);

Test(broker, forgets_a_client_the_logger_is_done_with)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int cl[1], base, now = -1;
	uint32_t first;

	start(false);
	attach_clients(cl, 1);
	first = t.id[0];
	cr_assert_eq(shutdown(cl[0], SHUT_WR), 0);
	logger_output(CHAN_STREAM_STDOUT, "x", 1);
	expect_record(cl[0], CHAN_STREAM_STDOUT, "x");
	if ((base = broker_fds()) < 0)
		cr_skip_test("cannot read the broker's /proc/<pid>/fd");
	(void)close(cl[0]); /* the client leaves */
	/* the logger saw EOF and the hang-up: done with it */
	logger_drop_copies();
	logger_send(CHAN_ATT_CLIENT_GONE, first);
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if ((now = broker_fds()) == base - 1)
			break;
		(void)nanosleep(&ts, NULL); /* polling the broker's state */
	}
	cr_assert_eq(now, base - 1, "broker fds %d, %d before", now, base);
	cl[0] = attach_one();
	cr_assert_neq(t.id[0], first, "ids are never reused");
	logger_output(CHAN_STREAM_STDERR, "y", 1);
	expect_record(cl[0], CHAN_STREAM_STDERR, "y");
	cr_assert_eq(stop().clients, 1);
}

/*
 * spec 7.4: the logger is done with a client (ATT_CLIENT_GONE): the
 * broker closes its copy too, and the client reads EOF.
 */
Test(broker, gone_ends_the_connection)
{
	char buf[16];
	int cl[1];

	start(false);
	attach_clients(cl, 1);
	(void)close(t.copy[0]); /* the logger closed its copy */
	t.copy[0] = -1;
	logger_send(CHAN_ATT_CLIENT_GONE, t.id[0]);
	cr_assert_eq(client_recv(cl[0], buf, sizeof(buf)), 0, "EOF");
	/* an id that left meanwhile, or never was, is no error */
	logger_send(CHAN_ATT_CLIENT_GONE, t.id[0]);
	logger_send(CHAN_ATT_CLIENT_GONE, 999);
	if (t.dones == 0) {
		struct chan_msg m;

		logger_next(&m); /* the pair's, after its one client */
		cr_assert_eq(m.type, CHAN_ATT_HANDOVER_DONE);
	}
	logger_quiet();
	/* forgotten before the shutdown */
	cr_assert_eq(stop().clients, 0);
}

/* spec 8.2-8.4: ctl lines, each on its own; bad ones warned. */
Test(broker, ctl_reopen_and_bad_lines)
{
	static const char lines[] = "2 0 0\nfoo\n1 2\n999 2 2\n1 -1 -1\n"
				    "2 1 1\n";
	struct chan_msg m;
	int p[2];

	start(false);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	send_fd(CHAN_ATT_FD_CTL, p[0]);
	cr_assert_eq(write(p[1], lines, sizeof(lines) - 1),
	    (ssize_t)sizeof(lines) - 1);
	/* security 18: the two reopens of one read are one request */
	expect_reaper(CHAN_LOG_REOPEN, &m);
	cr_assert_eq(m.u.log_reopen.sink, CHAN_SINK_K8S);
	cr_assert(strstr(t.diags, "Invalid control message format") != NULL,
	    "%s", t.diags);
	cr_assert(strstr(t.diags, "Invalid control message type: 999") !=
	    NULL, "%s", t.diags);
	cr_assert(strstr(t.diags, "Invalid window size: -1x-1") != NULL, "%s",
	    t.diags);
	/* a later line is a later request; stop() sees nothing in between */
	cr_assert_eq(write(p[1], "2 0 0\n", 6), 6);
	expect_reaper(CHAN_LOG_REOPEN, &m);
	(void)close(p[1]); /* our writer */
	(void)stop();
}

/* security 13, 16: a long line discarded whole; 20000 resizes without a
 * terminal leave the broker answering. */
Test(broker, ctl_long_line_and_resize_flood)
{
	static char flood[20000 * 8];
	struct chan_msg m;
	size_t off = 0;
	int p[2];

	start(false);
	cr_assert_eq(pipe2(p, O_CLOEXEC), 0);
	send_fd(CHAN_ATT_FD_CTL, p[0]);
	for (int i = 0; i < 20000; i++)
		memcpy(flood + i * 8, "1 24 80\n", 8);
	memset(flood, '#', 70000);
	memcpy(flood, "2 0 0 ", 6); /* a valid start, never acted upon */
	flood[69999] = '\n';
	while (off < sizeof(flood)) {
		ssize_t n = write(p[1], flood + off, sizeof(flood) - off);

		cr_assert_gt(n, 0, "ctl write: %s", strerror(errno));
		off += (size_t)n;
	}
	cr_assert_eq(write(p[1], "2 0 0\n", 6), 6);
	expect_reaper(CHAN_LOG_REOPEN, &m); /* only the last line's */
	cr_assert(strstr(t.diags, "discarded") != NULL, "%s", t.diags);
	(void)close(p[1]); /* our writer */
	(void)stop();
}

static void
expect_winsize(int slave, unsigned rows, unsigned cols)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	struct winsize ws;

	for (int i = 0; i < WAIT_MS / 10; i++) {
		cr_assert_eq(ioctl(slave, TIOCGWINSZ, &ws), 0);
		if (ws.ws_row == rows && ws.ws_col == cols)
			return;
		(void)nanosleep(&ts, NULL); /* polling the pty's state */
	}
	cr_assert_fail("size %ux%u, want %ux%u", ws.ws_row, ws.ws_col, rows,
	    cols);
}

/*
 * spec 6.2 step 5, 8.3: a resize before the pty arrives is applied when
 * it does; later resizes at once; winsz's own grammar. The broker never
 * writes to the pty (the logger writes the clients' input).
 */
Test(broker, terminal_resize)
{
	struct termios tio;
	struct chan_msg m;
	int master, slave, ctl[2], wz[2], cl[1];

	start(true);
	cr_assert_eq(pipe2(ctl, O_CLOEXEC), 0);
	cr_assert_eq(pipe2(wz, O_CLOEXEC), 0);
	send_fd(CHAN_ATT_FD_CTL, ctl[0]);
	send_fd(CHAN_ATT_FD_WINSZ, wz[0]);
	attach_clients(cl, 1);
	client_send(cl[0], "early\n", 6);
	cr_assert_eq(write(ctl[1], "1 24 80\n", 8), 8);
	master = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);
	cr_assert_geq(master, 0);
	cr_assert_eq(grantpt(master), 0);
	cr_assert_eq(unlockpt(master), 0);
	slave = open(ptsname(master), O_RDWR | O_NOCTTY | O_CLOEXEC);
	cr_assert_geq(slave, 0);
	cr_assert_eq(tcgetattr(slave, &tio), 0);
	cfmakeraw(&tio); /* the bytes as sent, no echo */
	cr_assert_eq(tcsetattr(slave, TCSANOW, &tio), 0);
	/* the ctl line is read before the pty comes: sync on a reopen */
	cr_assert_eq(write(ctl[1], "2 0 0\n", 6), 6);
	expect_reaper(CHAN_LOG_REOPEN, &m);
	send_fd(CHAN_ATT_FD_PTY, dup(master));
	expect_winsize(slave, 24, 80);
	cr_assert_eq(write(ctl[1], "1 30 100\n", 9), 9);
	expect_winsize(slave, 30, 100);
	cr_assert_eq(write(wz[1], "0 0\n65535 65535\n", 16), 16);
	expect_winsize(slave, 0, 0);
	expect_diag("Invalid window size");
	{
		struct pollfd p = { .fd = slave, .events = POLLIN };

		cr_assert_eq(poll(&p, 1, 200), 0, "the broker wrote input");
	}
	/* the client's input still waits in its socket, for the logger */
	cr_assert_eq(io_set_nonblock(t.copy[0], true), 0);
	expect_waiting_input(t.copy[0], "early\n", 6);
	(void)stop();
	(void)close(master); /* test cleanup */
	(void)close(slave);
}

/*
 * A new pair (the logger respawned): every client is handed over again,
 * in order, and stays attached meanwhile (its input is still read).
 */
Test(broker, new_pair_hands_clients_over_again)
{
	int cl[2], lp, i;
	uint32_t ids[2];

	start(false);
	attach_clients(cl, 2);
	ids[0] = t.id[0];
	ids[1] = t.id[1];
	send_peer(2, &lp);
	(void)close(t.logger); /* the old pair */
	t.logger = lp;
	logger_drop_copies(); /* the old logger's, gone with it */
	/* input meanwhile waits in the socket for the new logger */
	client_send(cl[1], "meanwhile", 9);
	i = logger_take();
	cr_assert_eq(t.id[i], ids[0]);
	i = logger_take();
	cr_assert_eq(t.id[i], ids[1]);
	logger_output(CHAN_STREAM_STDOUT, "again", 5);
	expect_record(cl[0], CHAN_STREAM_STDOUT, "again");
	expect_record(cl[1], CHAN_STREAM_STDOUT, "again");
	cr_assert_eq(io_set_nonblock(t.copy[i], true), 0);
	expect_waiting_input(t.copy[i], "meanwhile", 9);
	(void)stop();
}

/* Without a pair, a client is accepted and waits, its input unread,
 * until one comes (a logger not started or respawning). */
Test(broker, client_waits_for_a_pair)
{
	int cl, i;

	start(false);
	cl = client_connect();
	client_send(cl, "wait", 4);
	send_peer(1, &t.logger);
	i = logger_take();
	cr_assert_eq(io_set_nonblock(t.copy[i], true), 0);
	expect_waiting_input(t.copy[i], "wait", 4);
	cr_assert_eq(stop().clients, 1);
}

/* security 8: ATT_MAX_CLIENTS served; one past it is closed at once. */
Test(broker, closes_a_client_past_the_bound)
{
	static int cl[ATT_MAX_CLIENTS + 1];
	struct rlimit rl;

	cr_assert_eq(getrlimit(RLIMIT_NOFILE, &rl), 0);
	if (rl.rlim_max != RLIM_INFINITY &&
	    rl.rlim_max < ATT_NOFILE + ATT_MAX_CLIENTS)
		cr_skip_test("RLIMIT_NOFILE %llu is too low",
		    (unsigned long long)rl.rlim_max);
	rl.rlim_cur = ATT_NOFILE + ATT_MAX_CLIENTS;
	cr_assert_eq(setrlimit(RLIMIT_NOFILE, &rl), 0);
	start(false);
	attach_clients(cl, 1);
	for (size_t i = 1; i < VIGIL_NELEM(cl); i++)
		cl[i] = client_connect();
	expect_eof(cl[ATT_MAX_CLIENTS], "the client past the bound");
	expect_diag("closing a new one");
	for (size_t i = 1; i < ATT_MAX_CLIENTS; i++)
		(void)logger_take();
	logger_output(CHAN_STREAM_STDOUT, "all", 3);
	expect_record(cl[0], CHAN_STREAM_STDOUT, "all");
	expect_record(cl[ATT_MAX_CLIENTS - 1], CHAN_STREAM_STDOUT, "all");
	cr_assert_eq(stop().clients, ATT_MAX_CLIENTS);
}

/* The broker's open fds, or -1 when /proc does not show them to us. */
static int
broker_fds(void)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int n = 0;

	(void)snprintf(path, sizeof(path), "/proc/%d/fd", (int)t.pid);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((de = readdir(d)) != NULL)
		if (de->d_name[0] != '.')
			n++;
	(void)closedir(d); /* read only */
	return n;
}

/* security 8: clients that come and go leave no fd behind. */
Test(broker, forgets_clients_that_come_and_go)
{
	struct timespec ts = { 0, 10 * 1000 * 1000 };
	int cl[1], base, now = -1;

	start(false);
	attach_clients(cl, 1);
	logger_output(CHAN_STREAM_STDOUT, "x", 1);
	expect_record(cl[0], CHAN_STREAM_STDOUT, "x");
	if ((base = broker_fds()) < 0)
		cr_skip_test("cannot read the broker's /proc/<pid>/fd");
	for (int i = 0; i < 2000; i++) {
		int fd = client_connect(), k;

		if (i % 3 == 1)
			client_send(fd, "in", 2);
		if (i % 3 == 2)
			cr_assert_eq(shutdown(fd, SHUT_WR), 0);
		(void)close(fd); /* gone, maybe before it was accepted */
		/* as the logger: take it, and once done with it (its EOF and
		 * hang-up), close our copy and say so */
		k = logger_take();
		(void)close(t.copy[k]);
		t.copy[k] = -1;
		t.ncopies--;
		logger_send(CHAN_ATT_CLIENT_GONE, t.id[k]);
	}
	for (int i = 0; i < WAIT_MS / 10; i++) {
		if ((now = broker_fds()) == base)
			break;
		(void)nanosleep(&ts, NULL); /* polling the broker's state */
	}
	cr_assert_eq(now, base, "broker fds %d, %d before", now, base);
	logger_output(CHAN_STREAM_STDOUT, "y", 1);
	expect_record(cl[0], CHAN_STREAM_STDOUT, "y");
	cr_assert_eq(stop().clients, 1);
}

/*
 * README "The broker on demand": clients that connected before the pair
 * came (before this broker ran) are all handed over, in order, before the
 * pair's one ATT_HANDOVER_DONE; a later client after it.
 */
Test(broker, waiting_clients_precede_handover_done)
{
	struct chan_msg m;
	int cl[3], i;

	start(false);
	cl[0] = client_connect();
	cl[1] = client_connect();
	send_peer(1, &t.logger);
	logger_next(&m);
	cr_assert_eq(m.type, CHAN_ATT_CLIENT, "got %s", chan_specs[m.type].name);
	t.copy[t.ncopies] = m.fd;
	t.id[t.ncopies++] = m.u.att_client.id;
	logger_next(&m);
	cr_assert_eq(m.type, CHAN_ATT_CLIENT, "got %s", chan_specs[m.type].name);
	t.copy[t.ncopies] = m.fd;
	t.id[t.ncopies++] = m.u.att_client.id;
	logger_next(&m);
	cr_assert_eq(m.type, CHAN_ATT_HANDOVER_DONE, "got %s",
	    chan_specs[m.type].name);
	cl[2] = client_connect();
	i = logger_take();
	cr_assert_eq(i, 2);
	logger_quiet(); /* no second DONE */
	logger_output(CHAN_STREAM_STDOUT, "all", 3);
	for (i = 0; i < 3; i++)
		expect_record(cl[i], CHAN_STREAM_STDOUT, "all");
	cr_assert_eq(stop().clients, 3);
}
