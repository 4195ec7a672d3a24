/* SPDX-License-Identifier: Apache-2.0 */
/*
 * bench/mlaunch.c: starts a monitor as a container manager does and times
 * it from C, so no Python fork is inside the figures (figure 3).
 *
 *     mlaunch [-c CGROUP_PROCS] [-o OUT] [-e ERR]
 *             [-r RUNC -R RUNC_ROOT -i CID -x EXIT_FILE] -- MONITOR ARGS...
 *
 * The sync pipe is fd 3 and the start pipe fd 4 (SEQPACKET socketpairs,
 * _OCI_SYNCPIPE/_OCI_STARTPIPE); the start byte is written before the
 * exec. -c moves the launcher into a cgroup before it execs (the monitor's
 * processes inherit it). Prints, one line each, flushed:
 *
 *     pid LAUNCH_NS PID_NS LAUNCHER_STATUS RECORD
 *         exec -> launcher exit; exec -> first sync record; the record
 *     cycle START_NS EXIT_NS        (with -r ... -x)
 *         exec -> `runc start` returned; exec -> the exit file appeared
 *
 * Then waits for end-of-file on stdin, holding the manager's ends of the
 * pipes as a manager does, and exits.
 *
 * "exec" is the child's clock reading just before its execv(), passed back
 * in a shared page: the fork, the cgroup move and the opening of OUT and
 * ERR (two file creations) happen before it and are not the monitor's.
 */
#include <sys/inotify.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define REC_MAX 65536
#define WAIT_MS 60000

static uint64_t
now_ns(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void
die(const char *what)
{
	(void)fprintf(stderr, "mlaunch: %s: %s\n", what, strerror(errno));
	exit(1);
}

/* The child's clock just before execv (a MAP_SHARED page). */
static volatile uint64_t *exec_ns;

static void
to_fd(const char *path, int target, int flags)
{
	int fd = open(path, flags | O_CLOEXEC, 0644);

	if (fd < 0 || dup2(fd, target) < 0)
		_exit(126);
	(void)close(fd);
}

/* Child: exact fds, cgroup, environment, exec. Never returns. */
static void
child(char **argv, int sync_end, int start_end, const char *cg,
    const char *out, const char *err)
{
	int hs, ht;
	char pid[32];

	if (cg != NULL) {
		int fd = open(cg, O_WRONLY | O_CLOEXEC);
		int n = snprintf(pid, sizeof(pid), "%d\n", (int)getpid());
		if (fd < 0 || write(fd, pid, (size_t)n) != n)
			_exit(125);
		(void)close(fd);
	}
	hs = fcntl(sync_end, F_DUPFD, 256);
	ht = fcntl(start_end, F_DUPFD, 256);
	if (hs < 0 || ht < 0 || dup2(hs, 3) < 0 || dup2(ht, 4) < 0)
		_exit(126);
	(void)close(hs);
	(void)close(ht);
	to_fd("/dev/null", 0, O_RDONLY);
	to_fd(out != NULL ? out : "/dev/null", 1, O_WRONLY | O_CREAT | O_TRUNC);
	to_fd(err != NULL ? err : "/dev/null", 2, O_WRONLY | O_CREAT | O_TRUNC);
	(void)setenv("_OCI_SYNCPIPE", "3", 1);
	(void)setenv("_OCI_STARTPIPE", "4", 1);
	(void)unsetenv("_OCI_ATTACHPIPE");
	(void)unsetenv("NOTIFY_SOCKET");
	(void)unsetenv("LISTEN_FDS");
	(void)unsetenv("LISTEN_PID");
	*exec_ns = now_ns();
	execv(argv[0], argv);
	_exit(127);
}

static uint64_t
run_start(const char *runc, const char *root, const char *cid)
{
	char rootarg[4096];
	int st;
	pid_t pid;

	(void)snprintf(rootarg, sizeof(rootarg), "--root=%s", root);
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		to_fd("/dev/null", 1, O_WRONLY);
		execl(runc, runc, rootarg, "start", cid, (char *)NULL);
		_exit(127);
	}
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	if (st != 0) {
		(void)fprintf(stderr, "mlaunch: runc start failed (%#x)\n", st);
		exit(1);
	}
	return now_ns();
}

/* Waits until NAME is created or renamed into the watched directory. */
static int
wait_name(int in, const char *name)
{
	char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
	struct pollfd p = { .fd = in, .events = POLLIN };

	for (;;) {
		ssize_t n;
		if (poll(&p, 1, WAIT_MS) <= 0)
			return -1;
		n = read(in, buf, sizeof(buf));
		if (n <= 0)
			return -1;
		for (char *q = buf; q < buf + n;) {
			struct inotify_event *ev = (struct inotify_event *)q;
			if (ev->len > 0 && strcmp(ev->name, name) == 0)
				return 0;
			q += sizeof(*ev) + ev->len;
		}
	}
}

int
main(int argc, char **argv)
{
	const char *cg = NULL, *out = NULL, *err = NULL, *runc = NULL;
	const char *root = NULL, *cid = NULL, *exitf = NULL;
	static char rec[REC_MAX + 1];
	int sync[2], start[2], opt, st = -1, in = -1;
	uint64_t t0, t1, t2 = 0;
	struct pollfd p;
	ssize_t n = 0;
	pid_t pid;
	char c;

	while ((opt = getopt(argc, argv, "+c:o:e:r:R:i:x:")) != -1) {
		switch (opt) {
		case 'c': cg = optarg; break;
		case 'o': out = optarg; break;
		case 'e': err = optarg; break;
		case 'r': runc = optarg; break;
		case 'R': root = optarg; break;
		case 'i': cid = optarg; break;
		case 'x': exitf = optarg; break;
		default: return 2;
		}
	}
	if (optind >= argc)
		return 2;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) < 0 ||
	    socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, start) < 0)
		die("socketpair");
	if (send(start[0], "", 1, 0) != 1)
		die("start pipe");
	if (exitf != NULL) {
		char *dir = strdup(exitf);
		in = inotify_init1(IN_CLOEXEC);
		if (in < 0 || dir == NULL ||
		    inotify_add_watch(in, dirname(dir),
			IN_CREATE | IN_MOVED_TO) < 0)
			die("inotify");
		free(dir);
	}
	exec_ns = mmap(NULL, sizeof(*exec_ns), PROT_READ | PROT_WRITE,
	    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (exec_ns == MAP_FAILED)
		die("mmap");
	*exec_ns = 0;
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0)
		child(argv + optind, sync[1], start[1], cg, out, err);
	(void)close(sync[1]);
	(void)close(start[1]);
	if (waitpid(pid, &st, 0) < 0)
		die("waitpid");
	t1 = now_ns();
	t0 = *exec_ns;
	if (t0 == 0) {
		(void)fprintf(stderr, "mlaunch: the child never reached exec\n");
		return 1;
	}
	p = (struct pollfd){ .fd = sync[0], .events = POLLIN };
	if (poll(&p, 1, WAIT_MS) == 1) {
		n = recv(sync[0], rec, REC_MAX, 0);
		t2 = now_ns();
	}
	if (n < 0)
		n = 0;
	rec[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if (rec[i] == '\n')
			rec[i] = ' ';
	printf("pid %llu %llu %d %s\n", (unsigned long long)(t1 - t0),
	    (unsigned long long)(t2 ? t2 - t0 : 0), st, rec);
	(void)fflush(stdout);
	if (exitf != NULL && runc != NULL && root != NULL && cid != NULL &&
	    t2 != 0) {
		char *name = strdup(exitf);
		uint64_t ts = run_start(runc, root, cid), te;
		if (name == NULL || wait_name(in, basename(name)) < 0)
			te = 0;
		else
			te = now_ns();
		printf("cycle %llu %llu\n", (unsigned long long)(ts - t0),
		    (unsigned long long)(te ? te - t0 : 0));
		(void)fflush(stdout);
		free(name);
	}
	while (read(0, &c, 1) > 0)
		;
	return 0;
}
