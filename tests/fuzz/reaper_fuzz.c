/* SPDX-License-Identifier: Apache-2.0 */
/*
 * tests/fuzz/reaper_fuzz.c: the reaper's channel handling in-process
 * (security 30-35, issue 8). Arbitrary datagram sequences, with fds of
 * several kinds attached, go through a real SOCK_SEQPACKET pair into
 * mon_chan_read(): chan_recv, the field checks, the role's handler table
 * and the handlers' side effects on a struct mon whose files live in a
 * private temporary directory. The "children" are zombies this process
 * forked and never reaps, so kill_child() signals only a pid it owns and
 * that cannot be reused. After every input the fd count must be back to
 * where it was (security 32), no event may be left in the loop, no child
 * of ours may have been forked, and every line the reaper printed must be
 * free of control bytes (security 33).
 *
 * Input: byte 0 and byte 1 select the reaper's state (below), then
 * records: a control byte, a 16-bit little-endian length, the datagram.
 *   control bits 0-2  how many fds to attach (0-7; over 4 is MSG_CTRUNC)
 *   control bits 3-5  which kind: pipe read end, pipe write end, socket,
 *                     /dev/null, fd 0, fd 1, fd 2, the reaper's own
 *                     channel end
 *   control bit 6     put the child's pid into a HELLO's pid field
 *   control bit 7     pad the datagram past CHAN_MSG_MAX (MSG_TRUNC)
 */
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "common/chan.h"
#include "common/diag.h"
#include "monitor/mon.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                            \
	do {                                                                   \
		if (!(cond)) {                                                 \
			fprintf(stderr, "reaper_fuzz: %s failed at line %d\n", \
			    #cond, __LINE__);                                  \
			abort();                                               \
		}                                                              \
	} while (0)

/* byte 0 */
#define ST_BROKER     0x01 /* feed the broker's channel, else the logger's */
#define ST_PHASE      0x06 /* RUNTIME, RUNNING, DRAINING, DRAINING+sent */
#define ST_HELLO      0x08 /* the child already said HELLO */
#define ST_ROTATE     0x10 /* --log-rotate */
#define ST_NOTIFY     0x20 /* the sd-notify relay is set up */
#define ST_CLOSE_SENT 0x40 /* ATT_CLOSE already sent */
#define ST_STDIN      0x80 /* a stdin pipe */
/* byte 1 */
#define ST_OTHER	0x01 /* the other child runs and said HELLO */
#define ST_NO_LOG	0x02 /* -l none: no k8s-file log */
#define ST_STDIN_CLOSED 0x04
#define ST_TERMINAL	0x08 /* a pty (a /dev/null stand-in) */

#define REC_NFDS  0x07
#define REC_KIND  0x38
#define REC_PID	  0x40
#define REC_TRUNC 0x80

/* Respawns simulated per input: enough for a few violations in a row. */
#define MAX_RESPAWNS 4
#define DGRAM_MAX    (CHAN_MSG_MAX + 64)

static struct mon m;
static struct mon_opts o;
static pid_t zombie[2];
static int peer_end[2] = {-1, -1}; /* the fuzzer's ends: logger, broker */
static int kind_fd[8];
static int devnull_fd, out_pipe[2], err_pipe[2], sock_pair[2];
static int baseline; /* fds open before the input */
static char tmpdir[64];
static char log_path[128];

static bool verbose; /* REAPER_FUZZ_VERBOSE=1: print what the reaper says */

/* security 33: whatever the reaper prints has no control byte. */
static void
diag_check(enum diag_level l, const char *text, size_t len)
{
	if (verbose)
		fprintf(stderr, "reaper: %.*s\n", (int)len, text);
	CHECK(l < DIAG_LEVEL_MAX);
	CHECK(len < DIAG_TEXT_MAX + 64);
	for (size_t i = 0; i < len; i++)
		CHECK((unsigned char)text[i] >= 0x20 &&
		      (unsigned char)text[i] < 0x7f);
}

static int
count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *de;
	char path[300], target[256];
	int n = 0;

	CHECK(d != NULL);
	while ((de = readdir(d)) != NULL) {
		ssize_t k;

		if (de->d_name[0] == '.')
			continue;
		n++;
		if (!verbose)
			continue;
		(void)snprintf(
		    path, sizeof(path), "/proc/self/fd/%s", de->d_name);
		k = readlink(path, target, sizeof(target) - 1);
		target[k > 0 ? k : 0] = '\0';
		fprintf(stderr, "fd %s -> %s\n", de->d_name, target);
	}
	(void)closedir(d);
	return n;
}

/* Whether pid runs this very program (a fork of ours). */
static bool
runs_us(pid_t pid)
{
	char path[64], exe[PATH_MAX], self[PATH_MAX];
	ssize_t a, b;

	(void)snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	a = readlink(path, exe, sizeof(exe));
	b = readlink("/proc/self/exe", self, sizeof(self));
	return a > 0 && a == b && memcmp(exe, self, (size_t)a) == 0;
}

/*
 * The handlers never fork (no runtime, no real respawn): our only
 * children are the two zombies, and libFuzzer's symbolizer, which runs
 * another program.
 */
static void
check_children(void)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	(void)snprintf(
	    path, sizeof(path), "/proc/self/task/%d/children", (int)getpid());
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return; /* kernel without CONFIG_PROC_CHILDREN */
	n = read(fd, buf, sizeof(buf) - 1);
	(void)close(fd);
	CHECK(n >= 0);
	buf[n] = '\0';
	for (char *t = strtok(buf, " \n"); t != NULL; t = strtok(NULL, " \n")) {
		pid_t p = (pid_t)strtol(t, NULL, 10);
		CHECK(p == zombie[0] || p == zombie[1] || !runs_us(p));
	}
}

static pid_t
make_zombie(void)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0)
		_exit(0);
	/* never reaped: the pid stays ours, kill() on it is harmless */
	return pid;
}

static void
setup_once(void)
{
	int p[2];

	verbose = getenv("REAPER_FUZZ_VERBOSE") != NULL;
	diag_set_child(diag_check);
	diag_set_level(DIAG_TRACE);
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/reaper_fuzz.XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	(void)snprintf(log_path, sizeof(log_path), "%s/ctr.log", tmpdir);
	zombie[0] = make_zombie();
	zombie[1] = make_zombie();
	CHECK((devnull_fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0);
	CHECK(pipe2(out_pipe, O_CLOEXEC) == 0);
	CHECK(pipe2(err_pipe, O_CLOEXEC) == 0);
	CHECK(
	    socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sock_pair) == 0);
	CHECK(pipe2(p, O_CLOEXEC) == 0);
	kind_fd[0] = p[0];
	kind_fd[1] = p[1];
	kind_fd[2] = sock_pair[0];
	kind_fd[3] = devnull_fd;
	kind_fd[4] = 0;
	kind_fd[5] = 1;
	kind_fd[6] = 2;
	kind_fd[7] = -1; /* the reaper's channel end, set per input */

	mon_opts_init(&o);
	o.cid = (char *)"0123456789abcdef0123456789abcdef";
	o.k8s_path = log_path;
	o.log_max_files = 2;
	o.sdnotify_socket = (char *)"/nonexistent/notify.sock";
	m.o = &o;
	m.base = event_base_new();
	CHECK(m.base != NULL);
	m.self = getpid();
	m.log_dirfd = open(tmpdir, O_DIRECTORY | O_RDONLY | O_CLOEXEC);
	CHECK(m.log_dirfd >= 0);
	m.log_base = (char *)"ctr.log";
	m.logger.role = "logger";
	m.logger.chan_role = CHAN_LOGGER;
	m.broker.role = "attach";
	m.broker.chan_role = CHAN_BROKER;
	m.logger.chan = m.broker.chan = -1;
	m.logger.backoff_ms = m.broker.backoff_ms = MON_RESPAWN_MIN_MS;
	m.peer_held = -1; /* no pair waits for a starting broker */
}

/* A fresh instance of c on a new pair; the fuzzer keeps the other end. */
static void
child_up(struct mon_child *c, int idx, bool hello)
{
	int sv[2];

	CHECK(chan_pair(sv) == 0);
	CHECK(mon_child_watch(&m, c, zombie[idx], sv[0]) == 0);
	c->hello = hello;
	if (peer_end[idx] >= 0)
		(void)close(peer_end[idx]);
	peer_end[idx] = sv[1];
	/* the fuzzer's end never blocks: a full queue is a lost datagram */
	CHECK(fcntl(sv[1], F_SETFL, O_NONBLOCK) == 0);
}

static void
state_setup(uint8_t s0, uint8_t s1)
{
	static const enum mon_phase phases[] = {
	    MON_PH_RUNTIME, MON_PH_RUNNING, MON_PH_DRAINING, MON_PH_DRAINING};
	int idx = s0 & ST_BROKER ? 1 : 0;
	int p[2];

	o.log_rotate = (s0 & ST_ROTATE) != 0;
	m.phase = phases[(s0 & ST_PHASE) >> 1];
	m.drained = false;
	m.peer_gen = 1;
	m.att_close_sent = (s0 & ST_CLOSE_SENT) != 0;
	m.stdin_closed = (s1 & ST_STDIN_CLOSED) != 0;
	m.jd_fd = -1;
	m.jd_tried = false;
	m.out_r = out_pipe[0];
	m.err_r = err_pipe[0];
	m.pty = s1 & ST_TERMINAL ? devnull_fd : -1;
	m.att_listener = m.ctl_r = m.winsz_r = devnull_fd;
	m.in_w = -1;
	if (s0 & ST_STDIN) {
		CHECK(pipe2(p, O_CLOEXEC) == 0);
		(void)close(p[0]);
		m.in_w = p[1];
	}
	m.notify_fd = m.notify_host = -1;
	if (s0 & ST_NOTIFY) {
		CHECK(
		    socketpair(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0, p) == 0);
		(void)close(p[1]); /* sends fail: the warning path */
		m.notify_host = p[0];
		m.notify_fd = devnull_fd;
	}
	m.log_fd = -1;
	m.log_counted = 0;
	if (!(s1 & ST_NO_LOG)) {
		m.log_fd = openat(m.log_dirfd, m.log_base,
		    O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
		    0640);
		CHECK(m.log_fd >= 0);
	}
	child_up(idx ? &m.broker : &m.logger, idx, (s0 & ST_HELLO) != 0);
	if (s1 & ST_OTHER)
		child_up(idx ? &m.logger : &m.broker, !idx, true);
	if ((s0 & ST_PHASE) == ST_PHASE)
		m.logger.drain_sent = true;
}

static void
state_teardown(void)
{
	mon_child_stop(&m, &m.logger);
	mon_child_stop(&m, &m.broker);
	m.logger.pid = m.broker.pid = 0;
	m.logger.hello = m.broker.hello = false;
	m.logger.backoff_ms = m.broker.backoff_ms = MON_RESPAWN_MIN_MS;
	for (int i = 0; i < 2; i++) {
		if (peer_end[i] >= 0)
			(void)close(peer_end[i]);
		peer_end[i] = -1;
	}
	if (m.close_ev != NULL)
		event_free(m.close_ev);
	m.close_ev = NULL;
	if (m.log_fd >= 0)
		(void)close(m.log_fd);
	if (m.jd_fd >= 0)
		(void)close(m.jd_fd);
	if (m.in_w >= 0)
		(void)close(m.in_w);
	if (m.notify_host >= 0)
		(void)close(m.notify_host);
	m.log_fd = m.jd_fd = m.in_w = m.notify_host = -1;
	/* every event a handler armed belongs to a state the teardown
	 * freed: one left over was lost by a handler (LOG_DRAINED twice
	 * once armed the close timer twice) */
	CHECK(event_base_get_num_events(m.base,
		  EVENT_BASE_COUNT_ADDED | EVENT_BASE_COUNT_ACTIVE) == 0);
	check_children();
	/* security 32: every fd a child sent was closed */
	if (count_fds() != baseline) {
		verbose = true;
		fprintf(stderr, "reaper_fuzz: %d fds, %d before\n", count_fds(),
		    baseline);
		abort();
	}
}

/* One datagram from the fuzzer's end of c's channel, fds attached. */
static void
send_dgram(int sock, const uint8_t *buf, size_t len, unsigned nfds, int fd)
{
	struct iovec iov = {.iov_base = (void *)(uintptr_t)buf, .iov_len = len};
	union {
		struct cmsghdr align;
		unsigned char b[CMSG_SPACE(8 * sizeof(int))];
	} ctl;
	struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
	struct cmsghdr *cm;
	int fds[8];

	if (nfds > 0 && fd >= 0) {
		for (unsigned i = 0; i < nfds; i++)
			fds[i] = fd;
		memset(&ctl, 0, sizeof(ctl));
		mh.msg_control = ctl.b;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(cm), fds, nfds * sizeof(int));
	}
	/* a full queue or a closed peer: the datagram is lost, as a
	 * child's would be */
	(void)sendmsg(sock, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t dgram[DGRAM_MAX];
	struct mon_child *c;
	int idx, respawns = 0;
	size_t pos = 2;

	if (m.base == NULL)
		setup_once();
	if (size < 2)
		return 0;
	/* per input: libFuzzer's symbolizer opens pipes between inputs */
	baseline = count_fds();
	idx = data[0] & ST_BROKER ? 1 : 0;
	c = idx ? &m.broker : &m.logger;
	state_setup(data[0], data[1]);
	while (pos + 3 <= size && m.phase != MON_PH_DONE) {
		uint8_t ctl = data[pos];
		size_t len = (size_t)data[pos + 1] | (size_t)data[pos + 2] << 8;

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		memcpy(dgram, data + pos, len);
		pos += len;
		/* a HELLO with the right pid gets past the handler's check */
		if ((ctl & REC_PID) && len >= sizeof(struct chan_hdr) +
						  sizeof(struct chan_hello)) {
			int32_t pid = (int32_t)c->pid;

			memcpy(dgram + sizeof(struct chan_hdr) +
				   offsetof(struct chan_hello, pid),
			    &pid, sizeof(pid));
		}
		if (ctl & REC_TRUNC) {
			memset(dgram + len, 0, DGRAM_MAX - len);
			len = DGRAM_MAX;
		}
		kind_fd[7] = c->chan;
		send_dgram(peer_end[idx], dgram, len, ctl & REC_NFDS,
		    kind_fd[(ctl & REC_KIND) >> 3]);
		mon_chan_read(&m, c);
		/* expired timers and the libevent path itself */
		(void)event_base_loop(m.base, EVLOOP_NONBLOCK);
		if (c->chan < 0 && m.phase != MON_PH_DONE) {
			/* killed (a zombie's pid) or closed: reap, respawn */
			mon_child_reaped(&m, c, SIGKILL);
			if (m.phase == MON_PH_DONE || ++respawns > MAX_RESPAWNS)
				break;
			child_up(c, idx, false);
		}
	}
	state_teardown();
	return 0;
}
